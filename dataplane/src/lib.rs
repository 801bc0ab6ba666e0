//! The MACsec dataplane: frame views (`wire`), the IEEE 802.1AE-2018 SecY (`secy`) and its AEAD
//! backends (`crypto`), the control protocol (`ipc`) and its server, the link config, the per-link
//! packet path (`worker`) and, with the `dpdk` feature (default), the DPDK wrapper (`dpdk`).
//! Everything but `dpdk` builds and tests without DPDK.

pub mod config;
pub mod crypto;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod ipc;
pub mod secy;
pub mod server;
pub mod wire;
pub mod worker;
