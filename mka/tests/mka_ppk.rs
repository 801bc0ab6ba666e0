//! PPK key distribution mode: the PPK Key ID TLV codec, KEK' test vectors, and MKA engines in PPK
//! mode wired together in virtual time with fake PPK sources (a key-ID → PPK derivation from a
//! per-node seed, as SKS does; a source that fails, as an unreachable KME does).

mod common;

use common::Dataplane;
use macsec::secy::{CipherSuite, Sci};
use mka::kay::{KeyDistributionMode, Mka, MkaConfig, MkaEvent, PpkFailure, PpkRequest, PPK_RETRY_TIME};
use mka::ppk::{ppk_kek, PpkKeyId, PpkKeyIdTlv, PpkSecret, PpkTlvError, PPK_OUI, TLV_ORG_SPECIFIC};
use mka::Mi;
use mka::{
    Announcement, AnnouncementTlv, BasicParamSet, Cak, CipherSuiteCap, Ckn, Kek, Ki, MacsecCapability,
    MkaFrameRepr, MkpduRepr, ParamSet,
};
use std::time::Duration;

// ------------------------------------------------------------------------------------------------
// Codec

fn tlv(kn: u32, key_id: &[u8]) -> PpkKeyIdTlv {
    PpkKeyIdTlv {
        kn,
        key_id: PpkKeyId::new(key_id).unwrap(),
    }
}

#[test]
fn ppk_key_id_tlv_layout_and_round_trip() {
    let t = tlv(0x0102_0304, b"key-1");
    let raw = t.to_tlv();
    assert_eq!(
        raw,
        AnnouncementTlv::Other {
            tlv_type: 127,
            value: vec![0x02, 0x50, 0x4b, 0x01, 0x01, 0x02, 0x03, 0x04, b'k', b'e', b'y', b'-', b'1']
        }
    );
    assert_eq!(PpkKeyIdTlv::from_tlv(&raw), Some(Ok(t.clone())));
    // In a whole MKPDU, next to the Cipher Suites TLV and another organization's TLV 127.
    let other_org = AnnouncementTlv::Other {
        tlv_type: TLV_ORG_SPECIFIC,
        value: vec![0x00, 0x00, 0x0c, 0x01, 0xaa],
    };
    let ann = Announcement {
        tlvs: vec![
            AnnouncementTlv::CipherSuites(vec![CipherSuiteCap {
                capability: MacsecCapability::ConfidentialityNoOffset,
                id: CipherSuite::GcmAesXpn256.id(),
            }]),
            other_org.clone(),
            tlv(7, &[0xab; 64]).to_tlv(),
        ],
    };
    let repr = MkpduRepr {
        basic: BasicParamSet::for_tests(
            Sci::from_mac_port([0, 0x1d, 0xe5, 0xe9, 0, 1], 1),
            Mi([5; 12]),
            9,
            Ckn::from_hex("a1b2").unwrap(),
        ),
        sets: vec![ParamSet::Announcement(ann.clone())],
        icv_indicator: false,
        icv: [0; 16],
    };
    let bytes = repr.to_bytes().unwrap();
    // Announcement body: 2+10 (cipher suites) + 2+5 (other org) + 2+72 (ours) = 93 octets.
    assert_eq!(bytes.len(), 4 + 32 + 4 + 96 + 16);
    let back = MkpduRepr::parse(&bytes).unwrap();
    assert_eq!(back, repr);
    let ParamSet::Announcement(a) = &back.sets[0] else {
        panic!("{:?}", back.sets)
    };
    assert_eq!(PpkKeyIdTlv::from_tlv(&a.tlvs[1]), None, "another OUI is not ours");
    assert_eq!(PpkKeyIdTlv::find(&a.tlvs), Some(Ok(tlv(7, &[0xab; 64]))));
    // The TLV header: type 127 in the 7 high bits, 9-bit length 72 (OUI, subtype, KN, 64 octets).
    let at = bytes
        .windows(5)
        .position(|w| w == [0xfe, 72, 0x02, 0x50, 0x4b])
        .unwrap();
    assert_eq!(bytes[at + 5], 1);
}

#[test]
fn malformed_ppk_key_id_tlvs_are_rejected_with_a_reason() {
    let ours = |rest: &[u8]| {
        let mut v = PPK_OUI.to_vec();
        v.push(1);
        v.extend_from_slice(rest);
        AnnouncementTlv::Other {
            tlv_type: 127,
            value: v,
        }
    };
    // KN but no key ID.
    let e = PpkKeyIdTlv::from_tlv(&ours(&[0, 0, 0, 1])).unwrap().unwrap_err();
    assert_eq!(e, PpkTlvError::ValueLength(8));
    assert_eq!(e.reason(), "bad_ppk_key_id_tlv_length");
    assert_eq!(
        e.to_string(),
        "PPK Key ID TLV value of 8 octets (expected 9 to 72)"
    );
    // KN cut short.
    assert_eq!(
        PpkKeyIdTlv::from_tlv(&ours(&[0, 1])),
        Some(Err(PpkTlvError::ValueLength(6)))
    );
    // A 65-octet key ID.
    let mut long = vec![0, 0, 0, 1];
    long.extend_from_slice(&[9; 65]);
    assert_eq!(
        PpkKeyIdTlv::from_tlv(&ours(&long)),
        Some(Err(PpkTlvError::ValueLength(73)))
    );
    // Not ours: another subtype, too short for OUI and subtype, another TLV type.
    let mut sub2 = PPK_OUI.to_vec();
    sub2.extend_from_slice(&[2, 0, 0, 0, 1, 7]);
    assert_eq!(
        PpkKeyIdTlv::from_tlv(&AnnouncementTlv::Other {
            tlv_type: 127,
            value: sub2
        }),
        None
    );
    assert_eq!(
        PpkKeyIdTlv::from_tlv(&AnnouncementTlv::Other {
            tlv_type: 127,
            value: vec![0x02, 0x50]
        }),
        None
    );
    assert_eq!(
        PpkKeyIdTlv::from_tlv(&AnnouncementTlv::Other {
            tlv_type: 126,
            value: ours(&[0, 0, 0, 1, 7]).value().to_vec()
        }),
        None
    );
    // Key IDs: 1 to 64 octets.
    assert_eq!(PpkKeyId::new(&[]), Err(PpkTlvError::KeyIdLength(0)));
    assert_eq!(PpkKeyId::new(&[1; 65]), Err(PpkTlvError::KeyIdLength(65)));
    assert_eq!(
        PpkKeyId::new(&[1; 65]).unwrap_err().reason(),
        "bad_ppk_key_id_length"
    );
    assert_eq!(PpkKeyId::new(&[0x0a, 0xff]).unwrap().to_string(), "0aff");
}

trait Value {
    fn value(&self) -> &[u8];
}
impl Value for AnnouncementTlv {
    fn value(&self) -> &[u8] {
        match self {
            AnnouncementTlv::Other { value, .. } => value,
            AnnouncementTlv::CipherSuites(_) => &[],
        }
    }
}

/// KEK' = KDF(PPK, "IEEE8021 PPK KEK", KEK, |KEK|): expected values computed independently
/// (Python `cryptography`: AES-CMAC counter-mode KDF, RFC 3394 key wrap).
#[test]
fn ppk_kek_vectors() {
    let ppk = PpkSecret::from_bytes(&(0x20..0x40).collect::<Vec<u8>>()).unwrap();
    let kek16 = Kek::from_bytes(&(0x10..0x20).collect::<Vec<u8>>()).unwrap();
    let kek32 = Kek::from_bytes(&(0x40..0x60).collect::<Vec<u8>>()).unwrap();
    let k16 = ppk_kek(&ppk, &kek16);
    assert_eq!(hex::encode(k16.as_bytes()), "6fcb695a399a08d9164dcecae8d2f9c2");
    assert_eq!(
        hex::encode(ppk_kek(&ppk, &kek32).as_bytes()),
        "557d512098e2d1045158d7c0ea7c5bf5da9391b9fedf0762d54dbdb601308e3d"
    );
    let sak = mka::Sak::from_bytes(&(0x60..0x70).collect::<Vec<u8>>()).unwrap();
    assert_eq!(
        hex::encode(k16.wrap_sak(&sak)),
        "59f57bbe56059dec9204b4d117d4674de4178fec4e8fc4b7"
    );
    assert!(kek16.unwrap_sak(&k16.wrap_sak(&sak)).is_err());
    assert_eq!(format!("{k16:?} {ppk:?}"), "Kek(***) PpkSecret(***)");
}

// ------------------------------------------------------------------------------------------------
// Engines in virtual time

const STEP: Duration = Duration::from_millis(10);
const LATENCY: Duration = Duration::from_millis(1);
/// How long a PPK source takes to answer (an SKS derivation or a KME round trip).
const PPK_DELAY: Duration = Duration::from_millis(50);
const CAK: &str = "000102030405060708090a0b0c0d0e0f";
const CKN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// A fake PPK source: key IDs "key-N", PPK = a function of (seed, key ID), as SKS derives
/// PPK = KDF(seed, "SKS PPK", key ID); or one that fails with `fail`.
#[derive(Clone, Debug)]
struct FakePpk {
    seed: u8,
    next: u32,
    fail: Option<&'static str>,
    /// Answer every request with these (key ID, PPK) octets instead.
    garbage: Option<(Vec<u8>, Vec<u8>)>,
}

fn ppk_of(seed: u8, key_id: &[u8]) -> [u8; 32] {
    let mut p = [0u8; 32];
    for (i, b) in p.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(i as u8)
            ^ key_id.iter().fold(0u8, |a, x| a.wrapping_mul(7).wrapping_add(*x));
    }
    p
}

impl FakePpk {
    fn answer(&mut self, req: &PpkRequest) -> Result<(Vec<u8>, Vec<u8>), &'static str> {
        if let Some(r) = self.fail {
            return Err(r);
        }
        if let Some(g) = &self.garbage {
            return Ok(g.clone());
        }
        let id = match req {
            PpkRequest::New { .. } => {
                self.next += 1;
                format!("key-{}", self.next).into_bytes()
            }
            PpkRequest::ById { key_id, .. } => key_id.as_bytes().to_vec(),
        };
        let p = ppk_of(self.seed, &id).to_vec();
        Ok((id, p))
    }
}

struct Node {
    mka: Mka,
    sci: Sci,
    dp: Dataplane,
    events: Vec<(Duration, MkaEvent)>,
    /// None: no PPK source (a request would be a bug).
    ppk: Option<FakePpk>,
    requests: Vec<(Duration, PpkRequest)>,
    /// Requests being answered: (due, request).
    answering: Vec<(Duration, PpkRequest)>,
    /// Every MKPDU it sent.
    sent: Vec<Vec<u8>>,
    /// How long its PPK source takes to answer.
    ppk_delay: Duration,
}

fn sci(n: u8) -> Sci {
    Sci::from_mac_port([0x00, 0x1d, 0xe5, 0xe9, 0x00, n], 1)
}

fn node(n: u8, prio: u8, ppk: Option<FakePpk>, rekey: Option<Duration>) -> Node {
    let mut cfg = MkaConfig::new(sci(n), CipherSuite::GcmAesXpn256);
    cfg.key_server_priority = prio;
    cfg.ppk = ppk.is_some();
    cfg.sak_rekey_interval = rekey;
    cfg.rng_seed = Some(mka::rng::RngSeed::from_u64(n.into()));
    let keys = vec![(Ckn::from_hex(CKN).unwrap(), Cak::from_hex(CAK).unwrap())];
    Node {
        mka: Mka::new(cfg, keys, Duration::ZERO).unwrap(),
        sci: sci(n),
        dp: Dataplane::default(),
        events: Vec::new(),
        ppk,
        requests: Vec::new(),
        answering: Vec::new(),
        sent: Vec::new(),
        ppk_delay: PPK_DELAY,
    }
}

fn sks(seed: u8) -> Option<FakePpk> {
    Some(FakePpk {
        seed,
        next: 0,
        fail: None,
        garbage: None,
    })
}

struct Net {
    nodes: Vec<Node>,
    inflight: Vec<(Duration, usize, Vec<u8>)>,
    now: Duration,
}

impl Net {
    fn new(nodes: Vec<Node>) -> Net {
        Net {
            nodes,
            inflight: Vec::new(),
            now: Duration::ZERO,
        }
    }

    fn drain(&mut self, i: usize) {
        let now = self.now;
        let mut f = Vec::new();
        while self.nodes[i].mka.poll_transmit(&mut f).is_some() {
            for dst in 0..self.nodes.len() {
                if dst != i {
                    self.inflight.push((now + LATENCY, dst, f.clone()));
                }
            }
            self.nodes[i].sent.push(core::mem::take(&mut f));
        }
        let n = &mut self.nodes[i];
        while let Some(c) = n.mka.poll_sa_command() {
            n.dp.apply(c);
        }
        while let Some(e) = n.mka.poll_event() {
            n.events.push((now, e));
        }
        // The driver hands PPK requests to a worker; the answer comes back PPK_DELAY later.
        while let Some(r) = n.mka.poll_ppk_request() {
            assert!(n.ppk.is_some(), "PPK request from a node without PPK mode: {r:?}");
            n.requests.push((now, r.clone()));
            n.answering.push((now + n.ppk_delay, r));
        }
    }

    fn step(&mut self) {
        self.now += STEP;
        let now = self.now;
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.inflight)
            .into_iter()
            .partition(|(t, _, _)| *t <= now);
        self.inflight = rest;
        for (_, dst, f) in due {
            self.nodes[dst].mka.handle_mkpdu(now, &f);
            self.drain(dst);
        }
        for i in 0..self.nodes.len() {
            let n = &mut self.nodes[i];
            let (ready, later): (Vec<_>, Vec<_>) = std::mem::take(&mut n.answering)
                .into_iter()
                .partition(|(t, _)| *t <= now);
            n.answering = later;
            for (_, r) in ready {
                let Some(src) = n.ppk.as_mut() else { continue };
                match src.answer(&r) {
                    Ok((id, ppk)) => n.mka.handle_ppk(now, &r, Ok((id.as_slice(), &ppk[..]))),
                    Err(reason) => n.mka.handle_ppk(now, &r, Err(reason)),
                }
            }
            if n.mka.poll_timeout().is_some_and(|t| t <= now) {
                n.mka.handle_timeout(now);
            }
            self.drain(i);
        }
    }

    /// Runs until `until`; whenever a node transmits, every secured peer receives that key.
    fn run(&mut self, until: Duration) {
        while self.now < until {
            self.step();
            for a in &self.nodes {
                let Some((an, (ki, sak, _, _))) = a.dp.transmitting() else {
                    continue;
                };
                for b in &self.nodes {
                    if b.sci != a.sci && b.mka.is_secured() {
                        assert_eq!(
                            b.dp.rx.get(&(a.sci, an)).map(|r| (r.0, &r.1)),
                            Some((*ki, sak)),
                            "t={:?}",
                            self.now
                        );
                    }
                }
            }
        }
    }

    fn secured(&self, i: usize) -> bool {
        self.nodes[i]
            .events
            .iter()
            .any(|(_, e)| matches!(e, MkaEvent::SessionSecured { .. }))
    }

    fn ppk_failures(&self, i: usize) -> Vec<(Duration, PpkFailure)> {
        self.nodes[i]
            .events
            .iter()
            .filter_map(|(t, e)| match e {
                MkaEvent::PpkFailure { failure, .. } => Some((*t, failure.clone())),
                _ => None,
            })
            .collect()
    }
}

fn ckn() -> Ckn {
    Ckn::from_hex(CKN).unwrap()
}

fn id(s: &str) -> PpkKeyId {
    PpkKeyId::new(s.as_bytes()).unwrap()
}

fn new_req() -> PpkRequest {
    PpkRequest::New { ckn: ckn() }
}

fn by_id(s: &str) -> PpkRequest {
    PpkRequest::ById {
        ckn: ckn(),
        key_id: id(s),
    }
}

fn requests(n: &Node) -> Vec<PpkRequest> {
    n.requests.iter().map(|(_, r)| r.clone()).collect()
}

/// The last Distributed SAK a node sent, with the PPK Key ID TLV next to it.
fn last_distribution(n: &Node) -> (Vec<u8>, Option<PpkKeyIdTlv>) {
    for f in n.sent.iter().rev() {
        let m = MkaFrameRepr::parse(f).unwrap().mkpdu;
        if let Some(ds) = m.distributed_sak() {
            let tlvs = m.sets.iter().filter_map(|s| match s {
                ParamSet::Announcement(a) => Some(a.tlvs.iter()),
                _ => None,
            });
            let t = PpkKeyIdTlv::find(tlvs.flatten()).map(|r| r.unwrap());
            return (ds.key.as_ref().unwrap().wrapped.clone(), t);
        }
    }
    panic!("no Distributed SAK sent");
}

#[test]
fn two_ppk_engines_secure_with_the_same_sak() {
    let mut net = Net::new(vec![node(1, 16, sks(1), None), node(2, 32, sks(1), None)]);
    net.run(Duration::from_secs(10));
    assert!(net.secured(0) && net.secured(1));
    let (k0, k1) = (
        net.nodes[0].mka.tx_key().unwrap(),
        net.nodes[1].mka.tx_key().unwrap(),
    );
    assert_eq!(k0, k1);
    assert_eq!(k0.0, Ki::new(net.nodes[0].mka.mi(0).unwrap(), 1));
    let sak = net.nodes[0].dp.tx[&k0.1].1.clone();
    assert_eq!(sak.len(), 32);
    let ki_sak = |k: &common::SaKey| (k.0, k.1.clone());
    assert_eq!(ki_sak(&net.nodes[1].dp.tx[&k0.1]), (k0.0, sak.clone()));
    assert_eq!(ki_sak(&net.nodes[0].dp.rx[&(sci(2), k0.1)]), (k0.0, sak.clone()));
    assert_eq!(ki_sak(&net.nodes[1].dp.rx[&(sci(1), k0.1)]), (k0.0, sak));
    // One fresh PPK for the key server, one look-up by ID for the member.
    assert_eq!(requests(&net.nodes[0]), vec![new_req()]);
    assert_eq!(requests(&net.nodes[1]), vec![by_id("key-1")]);
    for n in &net.nodes {
        let st = &n.mka.participants()[0];
        assert_eq!(st.key_distribution_mode, KeyDistributionMode::Ppk);
        assert_eq!(st.key_distribution_mode.as_str(), "PPK");
        assert_eq!(st.ppk_key_id, Some(id("key-1")));
        assert_eq!(
            (st.ppk_failure.clone(), st.ppk_pending, st.secured),
            (None, false, true)
        );
        assert_eq!(n.mka.stats.ppk_requests, 1);
        assert_eq!(n.mka.stats.ppk_failures, 0);
        assert!(n
            .events
            .iter()
            .all(|(_, e)| !matches!(e, MkaEvent::PpkFailure { .. })));
        // Status and events never carry the PPK.
        let dump = format!("{:?} {:?}", n.mka.participants(), n.events);
        assert!(!dump.contains(&hex::encode(ppk_of(1, b"key-1"))));
    }
    assert_eq!(net.nodes[1].mka.stats.sak_unwrap_failures, 0);
}

#[test]
fn the_wrapped_sak_needs_the_ppk_not_just_the_kek() {
    let mut net = Net::new(vec![node(1, 16, sks(1), None), node(2, 32, sks(1), None)]);
    net.run(Duration::from_secs(6));
    let (wrapped, t) = last_distribution(&net.nodes[0]);
    assert_eq!(t, Some(tlv(1, b"key-1")));
    assert_eq!(wrapped.len(), 40);
    let kek = Kek::derive(&Cak::from_hex(CAK).unwrap(), &ckn());
    assert!(
        kek.unwrap_sak(&wrapped).is_err(),
        "the plain KEK must not unwrap a PPK-mode SAK"
    );
    let kek2 = ppk_kek(&PpkSecret::from_bytes(&ppk_of(1, b"key-1")).unwrap(), &kek);
    let sak = kek2.unwrap_sak(&wrapped).unwrap();
    let (an, (_, installed, _, _)) = net.nodes[1].dp.transmitting().unwrap();
    assert_eq!(an, 0);
    assert_eq!(sak.as_bytes(), &installed[..]);
    // Another PPK (another seed) does not unwrap it either.
    let other = ppk_kek(&PpkSecret::from_bytes(&ppk_of(2, b"key-1")).unwrap(), &kek);
    assert!(other.unwrap_sak(&wrapped).is_err());
}

#[test]
fn a_peer_whose_ppk_lookup_fails_stays_unsecured_and_says_why() {
    let kme_down = "KME 192.0.2.34:10001 did not answer (3 attempts)";
    let mut member = node(2, 32, sks(1), None);
    member.ppk.as_mut().unwrap().fail = Some(kme_down);
    let mut net = Net::new(vec![node(1, 16, sks(1), None), member]);
    net.run(Duration::from_secs(30));
    assert!(!net.secured(0) && !net.secured(1));
    for n in &net.nodes {
        assert!(n.dp.tx.is_empty() && n.dp.encoding_an.is_none());
    }
    assert!(net.nodes[1].dp.rx.is_empty());
    let failure = PpkFailure::Fetch {
        key_id: Some(id("key-1")),
        reason: kme_down.to_string(),
    };
    let st = &net.nodes[1].mka.participants()[0];
    assert_eq!(st.ppk_failure, Some(failure.clone()));
    assert!(!st.secured);
    // It asks again every PPK_RETRY_TIME, and says so each time.
    let asked: Vec<Duration> = net.nodes[1].requests.iter().map(|(t, _)| *t).collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(
        asked
            .windows(2)
            .all(|w| w[1] - w[0] >= PPK_RETRY_TIME
                && w[1] - w[0] <= PPK_RETRY_TIME + Duration::from_millis(600)),
        "{asked:?}"
    );
    let fails = net.ppk_failures(1);
    assert_eq!(
        fails.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>(),
        vec![failure.clone(); 3]
    );
    assert_eq!(net.nodes[1].mka.stats.ppk_failures, 3);
    // What macsecd logs from it (the whole line: control/tests/syslog.rs).
    assert_eq!(failure.mnemonic(), "PPK_FETCH_FAILURE");
    assert_eq!(
        failure.to_string(),
        "could not obtain the PPK with key ID 6b65792d31: KME 192.0.2.34:10001 did not answer (3 attempts)"
    );
    // The key server has nothing to complain about.
    assert!(net.ppk_failures(0).is_empty());
    // Once the KME is back, the next retry secures.
    net.nodes[1].ppk.as_mut().unwrap().fail = None;
    net.run(Duration::from_secs(42));
    assert!(net.secured(0) && net.secured(1));
    assert_eq!(net.nodes[0].mka.tx_key(), net.nodes[1].mka.tx_key());
    assert_eq!(net.nodes[1].mka.participants()[0].ppk_failure, None);
    assert_eq!(requests(&net.nodes[1]), vec![by_id("key-1"); 4]);
}

#[test]
fn mismatched_ppks_never_secure() {
    let mut net = Net::new(vec![node(1, 16, sks(1), None), node(2, 32, sks(9), None)]);
    net.run(Duration::from_secs(40));
    assert!(!net.secured(0) && !net.secured(1));
    assert!(net.nodes[1].dp.rx.is_empty() && net.nodes[1].dp.tx.is_empty());
    assert!(net.nodes[0].dp.tx.is_empty());
    let mismatch = PpkFailure::Mismatch { key_id: id("key-1") };
    assert_eq!(
        net.nodes[1].mka.participants()[0].ppk_failure,
        Some(mismatch.clone())
    );
    // Logged once; looked up again every PPK_RETRY_TIME (the PPK might have been re-seeded).
    assert_eq!(
        net.ppk_failures(1)
            .into_iter()
            .map(|(_, f)| f)
            .collect::<Vec<_>>(),
        vec![mismatch.clone()]
    );
    assert_eq!(requests(&net.nodes[1]), vec![by_id("key-1"); 4]);
    assert_eq!(net.nodes[1].mka.stats.sak_unwrap_failures, 4);
    assert_eq!(mismatch.mnemonic(), "PPK_KEY_MISMATCH");
}

#[test]
fn ppk_rekeys_take_a_fresh_key_id_each_time() {
    let rekey = Some(Duration::from_secs(5));
    let mut net = Net::new(vec![node(1, 16, sks(3), rekey), node(2, 32, sks(3), rekey)]);
    net.run(Duration::from_secs(18));
    let (ki, _) = net.nodes[0].mka.tx_key().unwrap();
    assert_eq!(net.nodes[1].mka.tx_key().unwrap().0, ki);
    let kn = ki.kn;
    // First SAK at ~1 s, then one every 5 s: KN 4 at 18 s.
    assert_eq!(kn, 4);
    let ids: Vec<String> = (1..=kn).map(|i| format!("key-{i}")).collect();
    // One New per SAK on the key server, the member looks each key ID up once.
    let ks_reqs = requests(&net.nodes[0]);
    assert_eq!(ks_reqs.len(), 4);
    assert!(ks_reqs.iter().all(|r| *r == new_req()));
    assert_eq!(
        requests(&net.nodes[1]),
        ids.iter().map(|s| by_id(s)).collect::<Vec<_>>()
    );
    for n in &net.nodes {
        assert_eq!(n.mka.participants()[0].ppk_key_id, Some(id(&format!("key-{kn}"))));
        assert_eq!(n.mka.stats.ppk_failures, 0);
    }
    let (_, t) = last_distribution(&net.nodes[0]);
    assert_eq!(t, Some(tlv(kn, format!("key-{kn}").as_bytes())));
    // Each SAK was reported once as generated / received; the session never stopped.
    for n in &net.nodes {
        assert!(!n
            .events
            .iter()
            .any(|(_, e)| matches!(e, MkaEvent::SessionStopped { .. })));
    }
    let received = net.nodes[1]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, MkaEvent::SakReceived { .. }))
        .count();
    assert_eq!(received, kn as usize);
}

#[test]
fn ppk_on_one_side_only_never_secures() {
    // The key server is in PPK mode, the member is not: it cannot unwrap and says why.
    let mut net = Net::new(vec![node(1, 16, sks(1), None), node(2, 32, None, None)]);
    net.run(Duration::from_secs(20));
    assert!(!net.secured(0) && !net.secured(1));
    assert!(net.nodes[1].dp.rx.is_empty());
    let nc = PpkFailure::NotConfigured {
        key_id: Some(id("key-1")),
    };
    assert_eq!(
        net.ppk_failures(1)
            .into_iter()
            .map(|(_, f)| f)
            .collect::<Vec<_>>(),
        vec![nc.clone()]
    );
    let st = &net.nodes[1].mka.participants()[0];
    assert_eq!(
        (st.key_distribution_mode, st.ppk_failure.clone()),
        (KeyDistributionMode::Sak, Some(nc.clone()))
    );
    assert_eq!(nc.mnemonic(), "PPK_NOT_CONFIGURED");
    assert_eq!(
        nc.to_string(),
        "the key server distributed the SAK with PPK key ID 6b65792d31, but no ppk sks-profile is configured"
    );
    assert!(net.nodes[1].requests.is_empty());

    // The key server is not in PPK mode, the member is: it refuses a SAK under the plain KEK.
    let mut net = Net::new(vec![node(1, 16, None, None), node(2, 32, sks(1), None)]);
    net.run(Duration::from_secs(20));
    assert!(!net.secured(0) && !net.secured(1));
    assert!(net.nodes[1].dp.rx.is_empty());
    assert_eq!(
        net.ppk_failures(1)
            .into_iter()
            .map(|(_, f)| f)
            .collect::<Vec<_>>(),
        vec![PpkFailure::Missing]
    );
    assert_eq!(
        net.nodes[1].mka.participants()[0].ppk_failure,
        Some(PpkFailure::Missing)
    );
    assert_eq!(PpkFailure::Missing.mnemonic(), "PPK_MODE_MISMATCH");
    assert!(net.nodes[1].requests.is_empty());
    let (_, t) = last_distribution(&net.nodes[0]);
    assert_eq!(t, None);
}

#[test]
fn the_key_server_waits_for_its_ppk_and_retries_a_failed_source() {
    let mut ks = node(1, 16, sks(1), None);
    ks.ppk.as_mut().unwrap().fail = Some("no live keys left in profile prof-A");
    let mut net = Net::new(vec![ks, node(2, 32, sks(1), None)]);
    net.run(Duration::from_secs(15));
    assert!(!net.secured(0) && !net.secured(1));
    // No SAK goes out without a PPK.
    assert!(net.nodes[0].sent.iter().all(|f| MkaFrameRepr::parse(f)
        .unwrap()
        .mkpdu
        .distributed_sak()
        .is_none()));
    assert_eq!(net.nodes[0].mka.stats.sak_generated, 0);
    let f = PpkFailure::Fetch {
        key_id: None,
        reason: "no live keys left in profile prof-A".into(),
    };
    assert_eq!(net.nodes[0].mka.participants()[0].ppk_failure, Some(f.clone()));
    assert_eq!(
        f.to_string(),
        "could not obtain a fresh PPK: no live keys left in profile prof-A"
    );
    assert_eq!(requests(&net.nodes[0]), vec![new_req(); 2]);
    // The peers stay live meanwhile.
    assert_eq!(net.nodes[0].mka.live_peers(), vec![sci(2)]);
    net.nodes[0].ppk.as_mut().unwrap().fail = None;
    net.run(Duration::from_secs(25));
    assert!(net.secured(0) && net.secured(1));
    assert_eq!(net.nodes[0].mka.participants()[0].ppk_key_id, Some(id("key-1")));
    assert_eq!(net.nodes[0].mka.participants()[0].ppk_failure, None);
}

/// A slow PPK source (1.5 s) on the member while the key server rekeys (PN exhaustion): the answer
/// for the superseded key ID is dropped, the member asks for the new one and secures with it.
#[test]
fn a_member_follows_a_rekey_that_happens_during_its_ppk_fetch() {
    let mut member = node(2, 32, sks(4), None);
    member.ppk_delay = Duration::from_millis(1500);
    let mut net = Net::new(vec![node(1, 16, sks(4), None), member]);
    while net.nodes[1].requests.is_empty() {
        net.step();
    }
    assert_eq!(requests(&net.nodes[1]), vec![by_id("key-1")]);
    assert!(net.nodes[1].mka.participants()[0].ppk_pending);
    let now = net.now;
    net.nodes[0].mka.handle_pn_threshold(now);
    net.run(now + Duration::from_secs(8));
    assert_eq!(requests(&net.nodes[0]), vec![new_req(); 2]);
    assert_eq!(requests(&net.nodes[1]), vec![by_id("key-1"), by_id("key-2")]);
    let (ki, _) = net.nodes[1].mka.tx_key().unwrap();
    assert_eq!(ki.kn, 2);
    assert_eq!(net.nodes[0].mka.tx_key().unwrap().0, ki);
    assert_eq!(net.nodes[1].mka.stats.sak_received, 1);
    assert!(net.ppk_failures(1).is_empty());
    let st = &net.nodes[1].mka.participants()[0];
    assert_eq!(
        (st.ppk_key_id.clone(), st.ppk_pending),
        (Some(id("key-2")), false)
    );
}

/// A source answering with a bad key ID or PPK length is a fetch failure; answers nobody waits
/// for are ignored.
#[test]
fn bad_and_unexpected_ppk_answers() {
    let mut ks = node(1, 16, sks(1), None);
    ks.ppk.as_mut().unwrap().garbage = Some((vec![0; 65], vec![1; 32]));
    let mut net = Net::new(vec![ks, node(2, 32, sks(1), None)]);
    // An answer without a request changes nothing.
    net.nodes[0]
        .mka
        .handle_ppk(Duration::ZERO, &new_req(), Ok((b"key-9", &[1; 32])));
    assert!(!net.nodes[0].mka.participants()[0].ppk_pending);
    assert_eq!(net.nodes[0].mka.stats.ppk_failures, 0);
    net.run(Duration::from_secs(5));
    assert_eq!(
        net.nodes[0].mka.participants()[0].ppk_failure,
        Some(PpkFailure::Fetch {
            key_id: None,
            reason: "the PPK source returned an invalid key ID: PPK key ID of 65 octets (expected 1 to 64)"
                .into()
        })
    );
    net.nodes[0].ppk.as_mut().unwrap().garbage = Some((b"key-1".to_vec(), vec![1; 16]));
    net.run(Duration::from_secs(15));
    assert_eq!(
        net.nodes[0].mka.participants()[0].ppk_failure,
        Some(PpkFailure::Fetch {
            key_id: None,
            reason: "the PPK source returned an invalid PPK: PPK has 16 octets (expected 32)".into()
        })
    );
    assert_eq!(net.nodes[0].mka.stats.sak_generated, 0);
    assert_eq!(net.nodes[0].mka.stats.ppk_requests, 2);
    assert!(!net.secured(0) && !net.secured(1));
}
