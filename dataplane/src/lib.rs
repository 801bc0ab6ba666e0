//! The MACsec dataplane: frame views (`wire`), the IEEE 802.1AE-2018 SecY (`secy`) and its AEAD
//! backends (`crypto`). Everything here builds and tests without DPDK.

pub mod crypto;
pub mod secy;
pub mod wire;
