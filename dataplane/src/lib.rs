//! The MACsec dataplane: the DPDK wrapper (`dpdk`, with the `dpdk` feature, default), the link
//! config (`config`), the per-link packet path (`worker`) and the control-socket server (`server`).
//! The 802.1AE SecY and its AEAD backends are the `macsec` crate; the protocol spoken on the
//! control socket is the `ipc` crate.

// Unsafe only in `dpdk` (the DPDK FFI) and one `rdtsc` in `worker`, each with `// SAFETY:`.
#![deny(unsafe_code)]

pub mod config;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod server;
pub mod worker;
