//! Raw FFI bindings to the system DPDK (22.11, found with `pkg-config libdpdk`).
//!
//! Two parts:
//! - bindgen output over `src/shim.h` with an allowlist (EAL, ethdev, mempool/mbuf functions and
//!   the types they need);
//! - `shim_*`: out-of-line C wrappers (`src/shim.c`) over DPDK's `static inline` functions
//!   (`rte_eth_rx_burst`, `rte_eth_tx_burst`, `rte_pktmbuf_*`, `rte_lcore_id`, `rte_errno`) and
//!   the mbuf fields the safe wrapper uses.
//!
//! - with the `ipsec-mb` feature (default), `shim_imb_*`: intel-ipsec-mb's direct AES-GCM API
//!   (one shared, lazily initialised `IMB_MGR`, and one per code set on request
//!   (`shim_imb_mgr_for_arch`); key expansion, in-place seal, and in-place open
//!   with a constant-time tag check). [`HAVE_IPSEC_MB`] says whether the real library was built
//!   in; otherwise the functions are stubs and `shim_imb_mgr()` returns NULL.
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

/// Whether the `shim_imb_*` functions wrap intel-ipsec-mb (true) or are stubs: the `ipsec-mb`
/// feature is on and `intel-ipsec-mb.h` was found at build time.
#[cfg(feature = "ipsec-mb")]
pub const HAVE_IPSEC_MB: bool = cfg!(dpdk_sys_have_ipsec_mb);

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

    /// The intel-ipsec-mb GCM wrappers against the GCM spec's test cases (McGrew and Viega,
    /// "The Galois/Counter Mode of Operation", test cases 2, 4 and 16).
    #[cfg(all(feature = "ipsec-mb", dpdk_sys_have_ipsec_mb))]
    mod ipsec_mb {
        use super::super::*;
        use std::alloc::{alloc_zeroed, dealloc, Layout};
        use std::ffi::{c_void, CStr};

        fn hx(s: &str) -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        }

        struct KeyData(*mut u8, Layout);
        impl KeyData {
            fn new(mgr: *mut c_void, key: &[u8]) -> Self {
                // SAFETY: pure functions returning constants.
                let (size, align) = unsafe { (shim_imb_gcm_key_data_size(), shim_imb_gcm_key_data_align()) };
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero size.
                let p = unsafe { alloc_zeroed(layout) };
                assert!(!p.is_null());
                // SAFETY: p is `size` writable octets aligned as the shim asks; key is key.len() octets.
                assert_eq!(
                    unsafe { shim_imb_gcm_pre(mgr, key.as_ptr(), key.len(), p.cast()) },
                    0
                );
                KeyData(p, layout)
            }
        }
        impl Drop for KeyData {
            fn drop(&mut self) {
                // SAFETY: allocated in new with this layout.
                unsafe { dealloc(self.0, self.1) }
            }
        }

        fn seal(
            mgr: *mut c_void,
            k: &KeyData,
            klen: usize,
            iv: &[u8],
            aad: &[u8],
            data: &mut [u8],
        ) -> [u8; 16] {
            let mut tag = [0u8; 16];
            // SAFETY: every pointer covers the length passed with it.
            let rc = unsafe {
                shim_imb_gcm_seal(
                    mgr,
                    klen,
                    k.0.cast(),
                    iv.as_ptr(),
                    aad.as_ptr(),
                    aad.len(),
                    data.as_mut_ptr(),
                    data.len(),
                    tag.as_mut_ptr(),
                )
            };
            assert_eq!(rc, 0);
            tag
        }

        fn open(
            mgr: *mut c_void,
            k: &KeyData,
            klen: usize,
            iv: &[u8],
            aad: &[u8],
            data: &mut [u8],
            icv: &[u8; 16],
        ) -> i32 {
            // SAFETY: every pointer covers the length passed with it.
            unsafe {
                shim_imb_gcm_open(
                    mgr,
                    klen,
                    k.0.cast(),
                    iv.as_ptr(),
                    aad.as_ptr(),
                    aad.len(),
                    data.as_mut_ptr(),
                    data.len(),
                    icv.as_ptr(),
                )
            }
        }

        #[test]
        fn manager_and_layout() {
            // SAFETY: thread-safe one-time init; constants.
            let (mgr, arch, ver, size, align) = unsafe {
                (
                    shim_imb_mgr(),
                    shim_imb_arch(),
                    CStr::from_ptr(shim_imb_version()),
                    shim_imb_gcm_key_data_size(),
                    shim_imb_gcm_key_data_align(),
                )
            };
            assert!(!mgr.is_null());
            assert!((1..=5).contains(&arch), "arch {arch}");
            assert!(!ver.to_bytes().is_empty());
            assert!(align >= 64 && align.is_power_of_two());
            assert!(size >= 1008 && size % align == 0, "size {size}");
            // The same manager from every thread.
            let p = mgr as usize;
            let others: Vec<usize> = (0..4)
                .map(|_| std::thread::spawn(|| unsafe { shim_imb_mgr() } as usize))
                .map(|t| t.join().unwrap())
                .collect();
            assert!(others.iter().all(|&q| q == p));
            eprintln!("intel-ipsec-mb {ver:?} arch {arch}, gcm_key_data {size} octets / {align}");
        }

        #[test]
        fn gcm_spec_vectors() {
            // SAFETY: thread-safe one-time init.
            let mgr = unsafe { shim_imb_mgr() };
            assert!(!mgr.is_null());
            let cases = [
                // (key, iv, aad, plaintext, ciphertext, tag)
                ("00000000000000000000000000000000", "000000000000000000000000", "",
                 "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"),
                ("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
                 "5bc94fbc3221a5db94fae95ae7121a47"),
                ("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
                 "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                 "76fc6ece0f4e1768cddf8853bb2d551b"),
            ];
            for (key, iv, aad, pt, ct, tag) in cases {
                let (key, iv, aad, pt, ct, tag) = (hx(key), hx(iv), hx(aad), hx(pt), hx(ct), hx(tag));
                let k = KeyData::new(mgr, &key);
                let mut data = pt.clone();
                let t = seal(mgr, &k, key.len(), &iv, &aad, &mut data);
                assert_eq!((&data, &t[..]), (&ct, &tag[..]));
                assert_eq!(open(mgr, &k, key.len(), &iv, &aad, &mut data, &t), 0);
                assert_eq!(data, pt);
                // A flipped tag bit: refused and the output zeroed.
                let mut data = ct.clone();
                let mut bad = t;
                bad[15] ^= 1;
                assert_eq!(open(mgr, &k, key.len(), &iv, &aad, &mut data, &bad), -1);
                assert!(data.iter().all(|&b| b == 0));
            }
        }

        #[test]
        fn bad_arguments() {
            // SAFETY: thread-safe one-time init; the calls below fail on their arguments before
            // touching memory.
            unsafe {
                let mgr = shim_imb_mgr();
                let mut kd = [0u8; 8];
                assert_eq!(
                    shim_imb_gcm_pre(mgr, [0u8; 24].as_ptr(), 24, kd.as_mut_ptr().cast()),
                    -1
                );
                assert_eq!(
                    shim_imb_gcm_pre(
                        std::ptr::null_mut(),
                        [0u8; 16].as_ptr(),
                        16,
                        kd.as_mut_ptr().cast()
                    ),
                    -1
                );
                let mut tag = [0u8; 16];
                let rc = shim_imb_gcm_seal(
                    mgr,
                    16,
                    kd.as_ptr().cast(),
                    [0u8; 12].as_ptr(),
                    std::ptr::null(),
                    0,
                    std::ptr::null_mut(),
                    1 << 40,
                    tag.as_mut_ptr(),
                );
                assert_eq!(rc, -1);
                let rc = shim_imb_gcm_seal(
                    mgr,
                    16,
                    kd.as_ptr().cast(),
                    [0u8; 12].as_ptr(),
                    std::ptr::null(),
                    0,
                    [0u8; 1].as_mut_ptr(),
                    1 << 40,
                    tag.as_mut_ptr(),
                );
                assert_eq!(rc, -2);
            }
        }
    }
}
