//! The published vectors (in tests/data/vectors): every IEEE
//! 802.1AE-2018 Annex C frame and the DPDK frames protect to the exact bytes and validate back in
//! every backend (ring, RustCrypto, and intel-ipsec-mb with the `ipsec-mb` feature); the negative
//! frames are discarded with the right counter; the anti-replay vectors give DPDK's verdicts; the
//! confidentiality-offset frames round-trip.

use macsec::crypto::Backend;
use macsec::secy::{
    CipherSuite, ConfOffset, Policy, RxDrop, RxSecY, RxStatus, SaKeys, Salt, Sci, Span, Ssci, TxSecY,
};
use macsec::wire::sectag::Tci;
use serde_json::Value;

const HEAD: usize = 64;
const TAIL: usize = 32;

/// Every backend compiled in ([`Backend::ALL`], with ipsec-mb by default) that can make keys
/// here: all of them unless dpdk-sys was built without intel-ipsec-mb.h (crypto.rs's
/// `best_backend` test ties ipsec-mb's availability to that).
fn backends() -> impl Iterator<Item = Backend> {
    Backend::ALL.into_iter().filter(|b| b.is_available())
}

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/../tests/data/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    v["vectors"].as_array().unwrap().clone()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

struct Frame {
    name: String,
    suite: CipherSuite,
    keys: SaKeys,
    sci: Sci,
    an: u8,
    pn: u64,
    tci: Tci,
    offset: ConfOffset,
    clear_tags: Vec<u8>,
    plain: Vec<u8>,
    protected: Vec<u8>,
}

fn frame(v: &Value) -> Frame {
    let i = &v["inputs"];
    let suite: CipherSuite = v["cipher_suite"].as_str().unwrap().parse().unwrap();
    let sak = hx(&i["sak"]);
    let keys = if suite.is_xpn() {
        SaKeys::xpn(
            &sak,
            i["ssci"].as_str().unwrap().parse::<Ssci>().unwrap(),
            i["salt"].as_str().unwrap().parse::<Salt>().unwrap(),
        )
    } else {
        SaKeys::new(&sak)
    };
    Frame {
        name: v["name"].as_str().unwrap().to_string(),
        suite,
        keys,
        sci: i["sci"].as_str().unwrap().parse().unwrap(),
        an: i["an"].as_u64().unwrap() as u8,
        pn: u64::from_str_radix(i["pn"].as_str().unwrap(), 16).unwrap(),
        tci: Tci(hx(&i["tci_an"])[0]),
        offset: ConfOffset::from_octets(i["confidentiality_offset"].as_u64().unwrap()).unwrap(),
        clear_tags: i.get("clear_tags").map(hx).unwrap_or_default(),
        plain: hx(&i["unprotected_frame"]),
        protected: hx(&v["expected"]["protected_frame"]),
    }
}

fn policy(f: &Frame) -> Policy {
    let mut p = Policy::new(f.suite);
    p.include_sci = f.tci.sc();
    p.use_es = f.tci.es();
    p.use_scb = f.tci.scb();
    p.confidentiality = f.tci.e();
    p.conf_offset = f.offset;
    p
}

/// The frame the SecY sees: vendor "VLAN in clear" tags are outside the SecY.
fn without(tags: &[u8], frame: &[u8]) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    out.extend_from_slice(&frame[12 + tags.len()..]);
    out
}

fn with(tags: &[u8], frame: &[u8]) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    out.extend_from_slice(tags);
    out.extend_from_slice(&frame[12..]);
    out
}

fn in_buffer(frame: &[u8]) -> (Vec<u8>, Span) {
    let mut buf = vec![0u8; HEAD + frame.len() + TAIL];
    buf[HEAD..HEAD + frame.len()].copy_from_slice(frame);
    (buf, Span::new(HEAD, frame.len()))
}

fn protect(f: &Frame, backend: Backend) -> Vec<u8> {
    let mut tx = TxSecY::new(policy(f), f.sci, backend);
    tx.install_sa(f.an, &f.keys, f.pn).unwrap();
    tx.set_encoding_an(Some(f.an)).unwrap();
    let (mut buf, span) = in_buffer(&without(&f.clear_tags, &f.plain));
    let out = tx.protect(&mut buf, span).unwrap();
    let c = tx.counters;
    let user = (f.plain.len() - 12 - f.clear_tags.len()) as u64;
    if f.tci.e() {
        assert_eq!(
            (c.out_pkts_encrypted, c.out_octets_encrypted, c.out_pkts_protected),
            (1, user, 0)
        );
    } else {
        assert_eq!(
            (c.out_pkts_protected, c.out_octets_protected, c.out_pkts_encrypted),
            (1, user, 0)
        );
    }
    assert_eq!(tx.sa(f.an).unwrap().next_pn(), f.pn + 1);
    with(&f.clear_tags, &buf[out.start..out.end()])
}

fn rx_for(f: &Frame, backend: Backend, lowest_pn: u64, window: u32) -> RxSecY {
    let mut p = policy(f);
    p.replay_window = window;
    let mut rx = RxSecY::new(p, backend);
    rx.install_sa(f.sci, f.an, &f.keys, lowest_pn).unwrap();
    rx
}

fn validate(rx: &mut RxSecY, f: &Frame, protected: &[u8]) -> Result<Vec<u8>, RxDrop> {
    let (mut buf, span) = in_buffer(&without(&f.clear_tags, protected));
    let v = rx.validate(&mut buf, span)?;
    assert_eq!(v.sci, Some(f.sci), "{}", f.name);
    Ok(with(&f.clear_tags, &buf[v.span.start..v.span.end()]))
}

fn round_trip_all(file: &str, expect: usize) {
    let vectors = load(file);
    assert_eq!(vectors.len(), expect);
    for v in &vectors {
        let f = frame(v);
        for backend in backends() {
            assert_eq!(
                hex::encode(protect(&f, backend)),
                hex::encode(&f.protected),
                "protect {} ({backend})",
                f.name
            );
            let mut rx = rx_for(&f, backend, f.pn, 0);
            let plain =
                validate(&mut rx, &f, &f.protected).unwrap_or_else(|e| panic!("validate {}: {e}", f.name));
            assert_eq!(
                hex::encode(plain),
                hex::encode(&f.plain),
                "validate {} ({backend})",
                f.name
            );
            let c = rx.counters;
            let user = (f.plain.len() - 12 - f.clear_tags.len()) as u64;
            assert_eq!(c.in_pkts_ok, 1);
            assert_eq!(c.in_octets_decrypted + c.in_octets_validated, user);
            assert_eq!(
                if f.tci.e() {
                    c.in_octets_decrypted
                } else {
                    c.in_octets_validated
                },
                user
            );
            assert_eq!(rx.sa(f.sci, f.an).unwrap().state().counters.in_pkts_ok, 1);
            // The same frame again is a replay.
            assert_eq!(validate(&mut rx, &f, &f.protected), Err(RxDrop::Late));
            assert_eq!(rx.counters.in_pkts_late, 1);
        }
    }
}

#[test]
fn annex_c_and_dpdk_frames() {
    let vectors = load("macsec_frames.json");
    let annex_c = vectors
        .iter()
        .filter(|v| v["name"].as_str().unwrap().contains("802.1AE-2018 C."))
        .count();
    assert_eq!(annex_c, 32);
    round_trip_all("macsec_frames.json", 45);
}

#[test]
fn confidentiality_offset_frames() {
    round_trip_all("conf_offset_frames.json", 6);
}

#[test]
fn negative_frames_are_discarded_with_their_counter() {
    let vectors = load("macsec_negative.json");
    assert_eq!(vectors.len(), 6);
    for v in &vectors {
        let i = &v["inputs"];
        let suite: CipherSuite = v["cipher_suite"].as_str().unwrap().parse().unwrap();
        let sci: Sci = i["sci"].as_str().unwrap().parse().unwrap();
        for backend in backends() {
            let mut rx = RxSecY::new(Policy::new(suite), backend);
            rx.install_sa(sci, 0, &SaKeys::new(&hx(&i["sak"])), 1).unwrap();
            // The reference frame is accepted: the mutation alone causes the discard.
            let (mut buf, span) = in_buffer(&hx(&i["reference_frame"]));
            assert_eq!(rx.validate(&mut buf, span).unwrap().status, RxStatus::Ok);
            let mut rx = RxSecY::new(Policy::new(suite), backend);
            rx.install_sa(sci, 0, &SaKeys::new(&hx(&i["sak"])), 1).unwrap();
            let (mut buf, span) = in_buffer(&hx(&i["protected_frame"]));
            let drop = rx.validate(&mut buf, span).unwrap_err();
            let want = match v["expected"]["reason"].as_str().unwrap() {
                "icv_mismatch" => "InPktsNotValid",
                "not_macsec" => "InPktsNoTag",
                "sectag_invalid" => "InPktsBadTag",
                r => panic!("unknown reason {r}"),
            };
            assert_eq!(drop.counter(), want, "{}", v["name"]);
            let total: u64 = rx.counters.iter().map(|(_, n)| n).sum();
            let named = rx.counters.iter().find(|(n, _)| *n == want).unwrap().1;
            assert_eq!((named, total), (1, 1), "{}: exactly one counter moved", v["name"]);
        }
    }
}

/// DPDK's anti-replay test (app/test/test_security_inline_macsec.c): the first frame of a group,
/// then three more, with replay windows 32 and 0.
#[test]
fn anti_replay_verdicts() {
    let vectors = load("macsec_frames.json");
    let by_name = |needle: &str| {
        frame(
            vectors
                .iter()
                .find(|v| v["name"].as_str().unwrap().contains(needle))
                .unwrap(),
        )
    };
    let groups = [
        (
            [
                "gcm_128_64B_cipher",
                "anti-replay vector #1",
                "anti-replay vector #2",
                "anti-replay vector #3",
            ],
            1u64,
        ),
        (
            [
                "anti-replay vector #4",
                "anti-replay vector #5",
                "anti-replay vector #6",
                "anti-replay vector #7",
            ],
            0xffff_ffe0,
        ),
    ];
    for (names, lowest) in groups {
        let frames: Vec<Frame> = names.iter().map(|n| by_name(n)).collect();
        for (window, verdicts) in [
            (32u32, [true, true, true, false]),
            (0, [true, true, false, false]),
        ] {
            for backend in backends() {
                let mut rx = rx_for(&frames[0], backend, lowest, window);
                let got: Vec<bool> = frames
                    .iter()
                    .map(|f| validate(&mut rx, f, &f.protected).is_ok())
                    .collect();
                assert_eq!(got, verdicts, "{names:?} window {window} {backend}");
                let c = rx.counters;
                assert_eq!(c.in_pkts_ok, verdicts.iter().filter(|v| **v).count() as u64);
                assert_eq!(c.in_pkts_late, verdicts.iter().filter(|v| !**v).count() as u64);
                assert_eq!(c.in_pkts_not_valid, 0);
            }
        }
    }
}
