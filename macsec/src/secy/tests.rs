//! Property and behaviour tests of the SecY beyond the published vectors.

use super::*;
use crate::wire::sectag::SECTAG_LEN_SCI;
use proptest::prelude::*;
use std::sync::Arc;

const HEAD: usize = 32;
const TAIL: usize = 16;

fn buffer(frame: &[u8]) -> (Vec<u8>, Span) {
    let mut buf = vec![0u8; HEAD + frame.len() + TAIL];
    buf[HEAD..HEAD + frame.len()].copy_from_slice(frame);
    (buf, Span::new(HEAD, frame.len()))
}

/// An SA's keys for `suite`, made from `seed` (also used by `rx`'s tests).
pub(super) fn keys(suite: CipherSuite, seed: u8) -> SaKeys {
    let sak: Vec<u8> = (0..suite.key_len() as u8)
        .map(|i| i.wrapping_mul(31).wrapping_add(seed))
        .collect();
    if suite.is_xpn() {
        SaKeys::xpn(&sak, Ssci(0x0000_0002), Salt([seed; 12]))
    } else {
        SaKeys::new(&sak)
    }
}

// Port 1, so that ES=1 frames (SCI = MAC SA ‖ 00-01) resolve to it too.
const SCI: Sci = Sci(0x001d_e5e9_aa39_0001);

fn pair(policy: Policy, backend: Backend, pn: u64) -> (TxSecY, RxSecY) {
    let k = keys(policy.cipher_suite, 9);
    let mut tx = TxSecY::new(policy, SCI, backend);
    tx.install_sa(1, &k, pn).unwrap();
    tx.set_encoding_an(Some(1)).unwrap();
    let mut rx = RxSecY::new(policy, backend);
    rx.install_sa(SCI, 1, &k, pn.min(1).max(pn.saturating_sub(1000)))
        .unwrap();
    (tx, rx)
}

fn sample_frame(len: usize, seed: u8) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect();
    // SA = the SCI's MAC, so that ES=1 frames resolve to SCI.
    f[6..12].copy_from_slice(&SCI.mac());
    f
}

fn packets(c: &SecyCounters) -> u64 {
    c.iter().filter(|(n, _)| n.contains("Pkts")).map(|(_, v)| v).sum()
}

fn arb_policy() -> impl Strategy<Value = Policy> {
    (
        prop::sample::select(CipherSuite::ALL.to_vec()),
        prop::sample::select(vec![ConfOffset::Zero, ConfOffset::Thirty, ConfOffset::Fifty]),
        any::<bool>(),
        0u8..3,
        prop::sample::select(vec![0u32, 1, 32, 64, 1024, 5000, u32::MAX]),
    )
        .prop_map(|(suite, off, conf, sci_mode, window)| {
            let mut p = Policy::new(suite);
            p.conf_offset = off;
            p.confidentiality = conf;
            p.include_sci = sci_mode == 0;
            p.use_es = sci_mode == 1;
            p.replay_window = window;
            p
        })
}

fn arb_pn() -> impl Strategy<Value = u64> {
    prop_oneof![
        1u64..100,
        0xffff_ff00u64..0xffff_ffff,
        0xc000_0000u64..0xc000_0010
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// protect → validate gives the frame back, for every suite, offset, SCI mode, window and
    /// backend; XPN PNs run across the 2^32 boundary.
    #[test]
    fn round_trip(policy in arb_policy(), len in 14usize..1600, pn in arb_pn(), n in 1usize..6, rc in any::<bool>()) {
        let backend = if rc { Backend::RustCrypto } else { Backend::Ring };
        let xpn = policy.cipher_suite.is_xpn();
        let pn = if !xpn && pn + n as u64 > u32::MAX as u64 { 10 } else { pn };
        let (mut tx, mut rx) = pair(policy, backend, pn);
        for i in 0..n {
            let f = sample_frame(len, i as u8);
            let (mut buf, span) = buffer(&f);
            let out = tx.protect(&mut buf, span).unwrap();
            prop_assert_eq!(out.len, len + tx.overhead());
            let wire_pn = u32::from_be_bytes(buf[out.start + 16..out.start + 20].try_into().unwrap());
            prop_assert_eq!(wire_pn, (pn + i as u64) as u32);
            let v = rx.validate(&mut buf, out).unwrap();
            prop_assert_eq!(v.status, RxStatus::Ok);
            prop_assert_eq!(v.pn, pn + i as u64);
            prop_assert_eq!(&buf[v.span.start..v.span.end()], &f[..]);
        }
        prop_assert_eq!(rx.counters.in_pkts_ok, n as u64);
        prop_assert_eq!(tx.counters.out_pkts_encrypted + tx.counters.out_pkts_protected, n as u64);
        if xpn && pn < 0x1_0000_0000 && pn + n as u64 > 0x1_0000_0000 {
            prop_assert!(rx.sa(SCI, 1).unwrap().state().replay.next_pn() > 0x1_0000_0000);
        }
    }

    /// Any single flipped bit of a protected frame is rejected, and exactly one packet counter moves.
    #[test]
    fn any_flipped_bit_is_rejected(policy in arb_policy(), len in 14usize..200, bit in any::<prop::sample::Index>(), rc in any::<bool>()) {
        let backend = if rc { Backend::RustCrypto } else { Backend::Ring };
        let (mut tx, mut rx) = pair(policy, backend, 5);
        let (mut buf, span) = buffer(&sample_frame(len, 3));
        let out = tx.protect(&mut buf, span).unwrap();
        let b = bit.index(out.len * 8);
        buf[out.start + b / 8] ^= 1 << (b % 8);
        let r = rx.validate(&mut buf, out);
        prop_assert!(r.is_err(), "bit {} accepted: {:?}", b, r);
        prop_assert_eq!(packets(&rx.counters), 1);
        let name = r.unwrap_err().counter();
        prop_assert_eq!(rx.counters.iter().find(|(n, _)| *n == name).unwrap().1, 1);
    }

    /// Neither validate nor the SecTAG parser panics on arbitrary input.
    #[test]
    fn validate_never_panics(frame in prop::collection::vec(any::<u8>(), 0..120), tci in any::<u8>(), sl in any::<u8>()) {
        let mut f = frame;
        if f.len() > 16 { f[12] = 0x88; f[13] = 0xe5; f[14] = tci; f[15] = sl; }
        let (_, mut rx) = pair(Policy::new(CipherSuite::GcmAes128), Backend::Ring, 1);
        let (mut buf, span) = buffer(&f);
        let _ = rx.validate(&mut buf, span);
        prop_assert_eq!(packets(&rx.counters), 1);
    }
}

#[test]
fn pn_reservation_is_unique_across_threads() {
    let sa = Arc::new(
        TxSa::new(
            Backend::Ring,
            CipherSuite::GcmAes128,
            SCI,
            0,
            &keys(CipherSuite::GcmAes128, 1),
            1,
        )
        .unwrap(),
    );
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let sa = sa.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..1000 {
                    let (mut b, _) = sa.reserve(32);
                    while let Some(pn) = b.take() {
                        got.push(pn);
                    }
                }
                got
            })
        })
        .collect();
    let mut all: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all.len(), 4 * 1000 * 32);
    assert!(all.iter().enumerate().all(|(i, pn)| *pn == i as u64 + 1));
    assert_eq!(sa.next_pn(), 128_001);
}

#[test]
fn pn_threshold_and_exhaustion() {
    let k = keys(CipherSuite::GcmAes256, 1);
    let sa = TxSa::new(Backend::Ring, CipherSuite::GcmAes256, SCI, 0, &k, 0xbfff_fffe).unwrap();
    let (b, first) = sa.reserve(1);
    assert_eq!((b.next, b.end, first), (0xbfff_fffe, 0xbfff_ffff, false));
    let (b, first) = sa.reserve(4);
    assert_eq!((b.next, b.end, first), (0xbfff_ffff, 0xc000_0003, true));
    let (_, first) = sa.reserve(4);
    assert!(!first, "the threshold is reported once");

    let sa = TxSa::new(Backend::Ring, CipherSuite::GcmAes256, SCI, 0, &k, 0xffff_fffe).unwrap();
    let (b, _) = sa.reserve(4);
    assert_eq!((b.next, b.end, b.len()), (0xffff_fffe, 0x1_0000_0000, 2));
    let (b, _) = sa.reserve(4);
    assert!(b.is_empty());
    assert_eq!(sa.next_pn(), 0x1_0000_0000);

    let mut p = Policy::new(CipherSuite::GcmAes256);
    p.include_sci = true;
    let mut tx = TxSecY::new(p, SCI, Backend::Ring);
    tx.install_sa(2, &k, 0xffff_ffff).unwrap();
    tx.set_encoding_an(Some(2)).unwrap();
    let (mut buf, span) = buffer(&sample_frame(60, 1));
    assert!(tx.protect(&mut buf, span).is_ok());
    let (mut buf, span) = buffer(&sample_frame(60, 1));
    assert_eq!(tx.protect(&mut buf, span), Err(TxError::PnExhausted));

    let xk = keys(CipherSuite::GcmAesXpn128, 1);
    let sa = TxSa::new(
        Backend::Ring,
        CipherSuite::GcmAesXpn128,
        SCI,
        0,
        &xk,
        0xbfff_ffff_ffff_ffff,
    )
    .unwrap();
    let (b, first) = sa.reserve(2);
    assert_eq!((b.len(), first), (2, true));
    let sa = TxSa::new(
        Backend::Ring,
        CipherSuite::GcmAesXpn128,
        SCI,
        0,
        &xk,
        u64::MAX - 3,
    )
    .unwrap();
    assert_eq!(sa.reserve(10).0.len(), 3);
    assert!(
        sa.reserve(10).0.is_empty(),
        "the counter saturates, no PN is handed out twice"
    );
    let sa = TxSa::new(Backend::Ring, CipherSuite::GcmAesXpn128, SCI, 0, &xk, 0).unwrap();
    assert_eq!(sa.next_pn(), 1, "PN 0 is never used");
}

#[test]
fn transmit_policy_outcomes() {
    let k = keys(CipherSuite::GcmAes128, 4);
    let mut p = Policy::new(CipherSuite::GcmAes128);
    let mut tx = TxSecY::new(p, SCI, Backend::Ring);
    let (mut buf, span) = buffer(&sample_frame(100, 1));
    assert_eq!(tx.protect(&mut buf, span), Err(TxError::NoSa));
    assert_eq!(tx.set_encoding_an(Some(0)), Err(SaError::BadAn(0)));
    tx.install_sa(0, &k, 1).unwrap();
    tx.set_encoding_an(Some(0)).unwrap();
    assert_eq!(tx.protect(&mut buf, Span::new(4, 100)), Err(TxError::NoRoom));
    assert_eq!(tx.protect(&mut buf, Span::new(HEAD, 10)), Err(TxError::Runt));
    let mut tight = vec![0u8; HEAD + 100 + 8];
    assert_eq!(tx.protect(&mut tight, Span::new(HEAD, 100)), Err(TxError::NoRoom));
    tx.policy.max_frame_len = Some(100 + 32 - 1);
    assert_eq!(tx.protect(&mut buf, span), Err(TxError::TooLong));
    assert_eq!(tx.counters.out_pkts_too_long, 1);
    tx.policy.max_frame_len = Some(100 + 32);
    assert_eq!(
        tx.protect(&mut buf, span).unwrap(),
        Span::new(HEAD - SECTAG_LEN_SCI, 132)
    );
    tx.delete_sa(0);
    assert_eq!(tx.encoding_an(), None);
    p.protect_frames = false;
    let mut tx = TxSecY::new(p, SCI, Backend::Ring);
    let (mut buf, span) = buffer(&sample_frame(100, 1));
    assert_eq!(tx.protect(&mut buf, span), Ok(span));
    assert_eq!(tx.counters.out_pkts_untagged, 1);
    assert_eq!(
        SaError::KeyLength {
            suite: CipherSuite::GcmAes128,
            got: 32,
            want: 16
        },
        tx.install_sa(0, &keys(CipherSuite::GcmAes256, 1), 1).unwrap_err()
    );
    assert_eq!(tx.install_sa(4, &k, 1).unwrap_err(), SaError::BadAn(4));
}

fn protected(policy: Policy, seed: u8) -> (Vec<u8>, Span) {
    let (mut tx, _) = pair(policy, Backend::Ring, 10);
    let (mut buf, span) = buffer(&sample_frame(80, seed));
    let out = tx.protect(&mut buf, span).unwrap();
    (buf, out)
}

#[test]
fn validate_frames_check_and_disabled() {
    let mut p = Policy::new(CipherSuite::GcmAes128);
    p.confidentiality = false;
    p.validate_frames = ValidateFrames::Check;
    // Integrity-only frame with a bad ICV: delivered and counted Invalid under Check.
    let (_, mut rx) = pair(p, Backend::Ring, 10);
    let (mut buf, out) = protected(p, 1);
    buf[out.end() - 1] ^= 1;
    let v = rx.validate(&mut buf, out).unwrap();
    assert_eq!(v.status, RxStatus::Invalid);
    assert_eq!(&buf[v.span.start + 12..v.span.end()], &sample_frame(80, 1)[12..]);
    assert_eq!(
        (
            rx.counters.in_pkts_invalid,
            rx.sa(SCI, 1).unwrap().state().counters.in_pkts_invalid
        ),
        (1, 1)
    );
    // Encrypted frame with a bad ICV: discarded whatever validateFrames says (C=1).
    let mut pe = p;
    pe.confidentiality = true;
    let (_, mut rx) = pair(pe, Backend::Ring, 10);
    let (mut buf, out) = protected(pe, 1);
    buf[out.end() - 1] ^= 1;
    assert_eq!(rx.validate(&mut buf, out), Err(RxDrop::NotValid));
    // Untagged under Check is delivered and counted InPktsUntagged; under Strict, InPktsNoTag.
    let (mut buf, span) = buffer(&sample_frame(60, 2));
    buf[HEAD + 12] = 0x08;
    assert_eq!(rx.validate(&mut buf, span).unwrap().status, RxStatus::Untagged);
    assert_eq!(rx.counters.in_pkts_untagged, 1);
    rx.policy.validate_frames = ValidateFrames::Strict;
    assert_eq!(rx.validate(&mut buf, span), Err(RxDrop::NoTag));
    assert_eq!(rx.counters.in_pkts_no_tag, 1);
    // Disabled, integrity only: delivered unchecked even with a bad ICV.
    let mut pd = p;
    pd.validate_frames = ValidateFrames::Disabled;
    let (_, mut rx) = pair(pd, Backend::Ring, 10);
    let (mut buf, out) = protected(pd, 1);
    buf[out.end() - 1] ^= 1;
    assert_eq!(rx.validate(&mut buf, out).unwrap().status, RxStatus::Unchecked);
    assert_eq!(rx.counters.in_pkts_unchecked, 1);
}

#[test]
fn unknown_sci_and_unused_sa() {
    let mut p = Policy::new(CipherSuite::GcmAes128);
    p.confidentiality = false;
    let (mut buf, out) = protected(p, 1);
    let mut rx = RxSecY::new(p, Backend::Ring);
    rx.add_sc(Sci(1));
    rx.add_sc(Sci(2));
    assert_eq!(rx.validate(&mut buf.clone(), out), Err(RxDrop::NoSci));
    assert_eq!(rx.counters.in_pkts_no_sci, 1);
    rx.policy.validate_frames = ValidateFrames::Check;
    let v = rx.validate(&mut buf.clone(), out).unwrap();
    assert_eq!((v.status, v.sci), (RxStatus::UnknownSci, Some(SCI)));
    assert_eq!(rx.counters.in_pkts_unknown_sci, 1);
    // SC known, SA for AN 1 missing.
    rx.add_sc(SCI);
    let v = rx.validate(&mut buf.clone(), out).unwrap();
    assert_eq!(v.status, RxStatus::UnusedSa);
    rx.policy.validate_frames = ValidateFrames::Strict;
    assert_eq!(rx.validate(&mut buf.clone(), out), Err(RxDrop::NotUsingSa));
    // SA present but not enabled for receive.
    rx.install_sa(SCI, 1, &keys(CipherSuite::GcmAes128, 9), 1)
        .unwrap();
    rx.set_enabled(SCI, 1, false);
    assert_eq!(rx.validate(&mut buf.clone(), out), Err(RxDrop::NotUsingSa));
    assert_eq!(rx.counters.in_pkts_not_using_sa, 2);
    assert_eq!(rx.sa(SCI, 1).unwrap().state().counters.in_pkts_not_using_sa, 1);
    rx.set_enabled(SCI, 1, true);
    assert_eq!(rx.validate(&mut buf, out).unwrap().status, RxStatus::Ok);
    rx.delete_sa(SCI, 1);
    rx.delete_sc(SCI);
    assert!(rx.sc(SCI).is_none());
}

#[test]
fn implicit_sci_point_to_point_and_es() {
    for (es, scb) in [(false, false), (true, false), (false, true)] {
        let mut p = Policy::new(CipherSuite::GcmAesXpn256);
        p.include_sci = false;
        p.use_es = es;
        p.use_scb = scb;
        let (mut tx, mut rx) = pair(p, Backend::Ring, 3);
        let (mut buf, span) = buffer(&sample_frame(70, 5));
        let out = tx.protect(&mut buf, span).unwrap();
        let tci = buf[out.start + 14];
        assert_eq!((tci & 0x40 != 0, tci & 0x10 != 0, tci & 0x20), (es, scb, 0));
        assert_eq!(out.len, 70 + 8 + 16);
        let v = rx.validate(&mut buf, out).unwrap();
        assert_eq!((v.status, v.sci), (RxStatus::Ok, Some(SCI)));
    }
}

#[test]
fn delay_protection_and_replay_off() {
    let p = Policy::new(CipherSuite::GcmAes128);
    let (mut tx, mut rx) = pair(p, Backend::Ring, 10);
    let frames: Vec<(Vec<u8>, Span)> = (0..3)
        .map(|i| {
            let (mut buf, span) = buffer(&sample_frame(64, i));
            let out = tx.protect(&mut buf, span).unwrap();
            (buf, out)
        })
        .collect();
    // The control plane raises the lowest acceptable PN past frame 0 (PN 10).
    rx.sa(SCI, 1).unwrap().set_lowest_pn(11);
    let (mut b0, s0) = frames[0].clone();
    assert_eq!(rx.validate(&mut b0, s0), Err(RxDrop::Late));
    let (mut b2, s2) = frames[2].clone();
    assert_eq!(rx.validate(&mut b2, s2).unwrap().status, RxStatus::Ok);
    // With replay protection off, the late frame is delivered and counted InPktsDelayed.
    rx.policy.replay_protect = false;
    let (mut b1, s1) = frames[1].clone();
    assert_eq!(rx.validate(&mut b1, s1).unwrap().status, RxStatus::Delayed);
    assert_eq!(
        (
            rx.counters.in_pkts_late,
            rx.counters.in_pkts_delayed,
            rx.counters.in_pkts_ok
        ),
        (1, 1, 1)
    );
}

#[test]
fn secy_sums_both_halves_and_hides_keys() {
    let p = Policy::new(CipherSuite::GcmAes128);
    let mut secy = SecY::new(p, SCI, Backend::RustCrypto);
    let k = keys(CipherSuite::GcmAes128, 2);
    secy.tx.install_sa(0, &k, 1).unwrap();
    secy.tx.set_encoding_an(Some(0)).unwrap();
    secy.rx.install_sa(SCI, 0, &k, 1).unwrap();
    let (mut buf, span) = buffer(&sample_frame(64, 0));
    let out = secy.tx.protect(&mut buf, span).unwrap();
    secy.rx.validate(&mut buf, out).unwrap();
    let c = secy.counters();
    assert_eq!((c.out_pkts_encrypted, c.in_pkts_ok), (1, 1));
    let dbg = format!(
        "{:?} {:?} {:?}",
        k,
        secy.tx.sa(0).unwrap(),
        secy.rx.sa(SCI, 0).unwrap()
    );
    assert!(dbg.contains("***"));
    let sak_hex: String = k.sak.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!dbg.contains(&sak_hex) && !dbg.contains(&format!("{:?}", &k.sak[..])));
}

/// CtxSalt (the guide's `show macsec ea idb` field) is SSCI XOR salt for XPN, as in the guide's
/// example (salt 83c37bac..., SSCI 1 on the Rx SA and 2 on the Tx SA); none for the other suites.
#[test]
fn ctx_salt_is_ssci_xor_salt_for_xpn() {
    let salt = Salt([
        0x83, 0xc3, 0x7b, 0xac, 0x7b, 0x6f, 0x63, 0x16, 0x09, 0x8f, 0xf3, 0xd2,
    ]);
    let k = |ssci| SaKeys {
        sak: zeroize::Zeroizing::new(vec![7u8; 32]),
        ssci: Ssci(ssci),
        salt,
    };
    let tx = TxSa::new(Backend::Ring, CipherSuite::GcmAesXpn256, SCI, 0, &k(2), 1).unwrap();
    let rx = RxSa::new(Backend::Ring, CipherSuite::GcmAesXpn256, SCI, 0, &k(1), 1, 64).unwrap();
    assert_eq!(
        tx.ctx_salt(),
        Some([0x83, 0xc3, 0x7b, 0xae, 0x7b, 0x6f, 0x63, 0x16, 0x09, 0x8f, 0xf3, 0xd2])
    );
    assert_eq!(
        rx.ctx_salt(),
        Some([0x83, 0xc3, 0x7b, 0xad, 0x7b, 0x6f, 0x63, 0x16, 0x09, 0x8f, 0xf3, 0xd2])
    );
    let plain = TxSa::new(Backend::Ring, CipherSuite::GcmAes256, SCI, 0, &k(2), 1).unwrap();
    assert_eq!(plain.ctx_salt(), None);
}

/// A run counted at once (`count_sealed_run`) counts what its frames counted one by one do, for
/// runs on every AN, encrypted and integrity only, mixed.
#[test]
fn a_sealed_run_counts_as_its_frames() {
    let (mut one, mut one_sa) = (SecyCounters::default(), [TxSaCounters::default(); 4]);
    let (mut run, mut run_sa) = (SecyCounters::default(), [TxSaCounters::default(); 4]);
    let runs = [
        (0u8, true, 3u64),
        (1, true, 1),
        (1, false, 5),
        (3, false, 2),
        (0, true, 4),
        (2, false, 1),
    ];
    for (k, &(an, encrypted, frames)) in runs.iter().enumerate() {
        let mut octets = 0;
        for f in 0..frames {
            let secure_len = 46 + 100 * k + f as usize;
            let s = Sealed {
                span: Span::new(0, 0),
                secure_len,
                encrypted,
                an,
            };
            count_sealed(&mut one, &mut one_sa, &Ok(s));
            octets += secure_len as u64;
        }
        count_sealed_run(&mut run, &mut run_sa, an, encrypted, frames, octets);
    }
    assert_eq!((run, run_sa), (one, one_sa));
    assert_eq!((run.out_pkts_encrypted, run.out_pkts_protected), (8, 8));
    assert_eq!(run_sa[1].out_pkts_encrypted + run_sa[1].out_pkts_protected, 6);
}
