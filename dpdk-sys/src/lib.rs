//! Raw FFI bindings to the system DPDK (22.11, found with `pkg-config libdpdk`).
//!
//! Two parts:
//! - bindgen output over `src/shim.h` with an allowlist (EAL, ethdev, mempool/mbuf functions and
//!   the types they need);
//! - `shim_*`: out-of-line C wrappers (`src/shim.c`) over DPDK's `static inline` functions
//!   (`rte_eth_rx_burst`, `rte_eth_tx_burst`, `rte_pktmbuf_*`, `rte_lcore_id`, `rte_errno`) and
//!   the mbuf fields the safe wrapper uses.
//!
//! Only FFI lives here; the safe wrapper is `dataplane::dpdk`. Constants DPDK defines with
//! `RTE_BIT64()` (offload flags) are not expanded by bindgen and are redefined below.

#![allow(non_upper_case_globals)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]
#![allow(dead_code)]
#![allow(clippy::all, clippy::pedantic, clippy::undocumented_unsafe_blocks)]
#![allow(rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// `RTE_BIT64(n)`.
pub const fn rte_bit64(n: u32) -> u64 {
    1u64 << n
}

// Rx offloads (rte_ethdev.h, `RTE_BIT64`-based).
pub const RTE_ETH_RX_OFFLOAD_VLAN_STRIP: u64 = rte_bit64(0);
pub const RTE_ETH_RX_OFFLOAD_IPV4_CKSUM: u64 = rte_bit64(1);
pub const RTE_ETH_RX_OFFLOAD_UDP_CKSUM: u64 = rte_bit64(2);
pub const RTE_ETH_RX_OFFLOAD_TCP_CKSUM: u64 = rte_bit64(3);
pub const RTE_ETH_RX_OFFLOAD_MACSEC_STRIP: u64 = rte_bit64(7);
pub const RTE_ETH_RX_OFFLOAD_VLAN_FILTER: u64 = rte_bit64(9);
pub const RTE_ETH_RX_OFFLOAD_SCATTER: u64 = rte_bit64(13);
pub const RTE_ETH_RX_OFFLOAD_KEEP_CRC: u64 = rte_bit64(16);
pub const RTE_ETH_RX_OFFLOAD_RSS_HASH: u64 = rte_bit64(19);

// Tx offloads.
pub const RTE_ETH_TX_OFFLOAD_VLAN_INSERT: u64 = rte_bit64(0);
pub const RTE_ETH_TX_OFFLOAD_IPV4_CKSUM: u64 = rte_bit64(1);
pub const RTE_ETH_TX_OFFLOAD_UDP_CKSUM: u64 = rte_bit64(2);
pub const RTE_ETH_TX_OFFLOAD_TCP_CKSUM: u64 = rte_bit64(3);
pub const RTE_ETH_TX_OFFLOAD_MACSEC_INSERT: u64 = rte_bit64(13);
pub const RTE_ETH_TX_OFFLOAD_MULTI_SEGS: u64 = rte_bit64(15);
pub const RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE: u64 = rte_bit64(16);

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written `RTE_BIT64` constants match the C macros (read through the shim).
    #[test]
    fn offload_constants_match_headers() {
        // SAFETY: pure functions returning compile-time constants; no DPDK state involved.
        let (rx, tx) = unsafe { (shim_rx_offload_mask(), shim_tx_offload_mask()) };
        let rx_rust = RTE_ETH_RX_OFFLOAD_VLAN_STRIP
            | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM
            | RTE_ETH_RX_OFFLOAD_UDP_CKSUM
            | RTE_ETH_RX_OFFLOAD_TCP_CKSUM
            | RTE_ETH_RX_OFFLOAD_MACSEC_STRIP
            | RTE_ETH_RX_OFFLOAD_VLAN_FILTER
            | RTE_ETH_RX_OFFLOAD_SCATTER
            | RTE_ETH_RX_OFFLOAD_KEEP_CRC
            | RTE_ETH_RX_OFFLOAD_RSS_HASH;
        let tx_rust = RTE_ETH_TX_OFFLOAD_VLAN_INSERT
            | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM
            | RTE_ETH_TX_OFFLOAD_UDP_CKSUM
            | RTE_ETH_TX_OFFLOAD_TCP_CKSUM
            | RTE_ETH_TX_OFFLOAD_MACSEC_INSERT
            | RTE_ETH_TX_OFFLOAD_MULTI_SEGS
            | RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
        assert_eq!(rx, rx_rust);
        assert_eq!(tx, tx_rust);
    }

    #[test]
    fn headroom_default() {
        assert_eq!(RTE_PKTMBUF_HEADROOM, 128);
    }
}
