//! IEEE 802.1AE-2018 without I/O: zero-copy frame views (`wire`), the SecY with its Tx/Rx SCs and
//! SAs, cipher suites, replay window and clause 10 counters (`secy`), and the AEAD backends behind
//! one trait (`crypto`). No DPDK, sockets or threads; the dataplane, the MKA engine, the offline
//! pcap tool and the benches all build on it.

// Unsafe only in `crypto`, the intel-ipsec-mb calls (feature `ipsec-mb`), each with `// SAFETY:`.
#![deny(unsafe_code)]

pub mod crypto;
pub mod secy;
pub mod wire;
