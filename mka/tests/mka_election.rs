//! Key server election and SAK acceptance by 802.1X-2020 9.5.1, in virtual time: our engines and
//! a model of wpa_supplicant 2.10's MKA (`common::hostap`: its Key Server bit rules, election on
//! live-list changes only, MAC-only tie break, refusal of Distributed SAKs while it serves) on one
//! simulated LAN. Each test asserts who serves, how many SAKs the hostap side installed, and that
//! its log has none of the refusals that made the real one flap.

mod common;

use common::hostap::HostapModel;
use common::Dataplane;
use macsec::secy::{CipherSuite, Sci};
use mka::kay::{Mka, MkaConfig, MkaEvent, SakRefusal, HELLO_TIME, NOT_KEY_SERVER_PRIORITY};
use mka::{Cak, Ckn, Ki, MkaFrameRepr, MkpduRepr, ParamSet};
use std::time::Duration;

const STEP: Duration = Duration::from_millis(10);
const LATENCY: Duration = Duration::from_millis(1);
const CKN: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const CAK: &str = "000102030405060708090a0b0c0d0e0f";

fn keys() -> (Ckn, Cak) {
    (Ckn::from_hex(CKN).unwrap(), Cak::from_hex(CAK).unwrap())
}

fn sci(last: u8) -> Sci {
    Sci::from_mac_port([0x02, 0, 0, 0, 0, last], 1)
}

#[allow(clippy::large_enum_variant)] // a handful of members in a test
enum Kind {
    Ours {
        mka: Mka,
        dp: Dataplane,
        events: Vec<(Duration, MkaEvent)>,
    },
    Hostap(Box<HostapModel>),
}

struct Member {
    sci: Sci,
    kind: Kind,
}

fn ours_at(sci: Sci, prio: u8, f: impl FnOnce(&mut MkaConfig)) -> Member {
    let mut cfg = MkaConfig::new(sci, CipherSuite::GcmAes128);
    cfg.key_server_priority = prio;
    f(&mut cfg);
    Member {
        sci,
        kind: Kind::Ours {
            mka: Mka::new(cfg, vec![keys()], Duration::ZERO).unwrap(),
            dp: Dataplane::default(),
            events: Vec::new(),
        },
    }
}

fn ours_with(last: u8, prio: u8, f: impl FnOnce(&mut MkaConfig)) -> Member {
    ours_at(sci(last), prio, f)
}

fn ours(last: u8, prio: u8) -> Member {
    ours_with(last, prio, |_| {})
}

fn hostap(last: u8, prio: u8, first_hello: Duration) -> Member {
    let (ckn, cak) = keys();
    Member {
        sci: sci(last),
        kind: Kind::Hostap(Box::new(HostapModel::new(
            sci(last),
            prio,
            ckn,
            cak,
            Duration::ZERO,
            first_hello,
            0x5eed ^ last as u64,
        ))),
    }
}

impl Member {
    fn mka(&self) -> &Mka {
        match &self.kind {
            Kind::Ours { mka, .. } => mka,
            Kind::Hostap(_) => panic!("not ours"),
        }
    }
    fn events(&self) -> &[(Duration, MkaEvent)] {
        match &self.kind {
            Kind::Ours { events, .. } => events,
            Kind::Hostap(_) => panic!("not ours"),
        }
    }
    fn hostap(&self) -> &HostapModel {
        match &self.kind {
            Kind::Hostap(h) => h,
            Kind::Ours { .. } => panic!("not hostap"),
        }
    }
    fn secured(&self) -> bool {
        match &self.kind {
            Kind::Ours { mka, .. } => mka.is_secured(),
            Kind::Hostap(h) => h.secured(),
        }
    }
    /// (AN, KI) of the key it transmits with.
    fn tx(&self) -> Option<(u8, Ki)> {
        match &self.kind {
            Kind::Ours { dp, .. } => dp.transmitting().map(|(an, k)| (an, k.0)),
            Kind::Hostap(h) => h.tx_enabled,
        }
    }
    /// The key server it elected.
    fn key_server(&self) -> Option<Sci> {
        match &self.kind {
            Kind::Ours { mka, .. } => mka.key_server(),
            Kind::Hostap(h) => h.key_server_sci(),
        }
    }
    fn live_peers(&self) -> Vec<Sci> {
        match &self.kind {
            Kind::Ours { mka, .. } => mka.live_peers(),
            Kind::Hostap(h) => h.live_peers(),
        }
    }
    /// Can it receive `from`'s frames on (AN, KI)?
    fn receives(&self, from: Sci, an: u8, ki: Ki) -> bool {
        match &self.kind {
            Kind::Ours { dp, .. } => dp.rx.get(&(from, an)).is_some_and(|r| r.0 == ki),
            Kind::Hostap(h) => h
                .installed
                .iter()
                .any(|i| !i.tx && i.sci == from && i.an == an && i.ki == ki),
        }
    }
    fn handle_mkpdu(&mut self, now: Duration, f: &[u8]) {
        match &mut self.kind {
            Kind::Ours { mka, .. } => mka.handle_mkpdu(now, f),
            Kind::Hostap(h) => h.handle_mkpdu(now, f),
        }
    }
    fn handle_timeout(&mut self, now: Duration) {
        match &mut self.kind {
            Kind::Ours { mka, .. } => {
                if mka.poll_timeout().is_some_and(|t| t <= now) {
                    mka.handle_timeout(now)
                }
            }
            Kind::Hostap(h) => {
                if h.poll_timeout().is_some_and(|t| t <= now) {
                    h.handle_timeout(now)
                }
            }
        }
    }
    /// Carries out SA commands (ours: before the MKPDUs go, as macsecd does) and returns the MKPDUs.
    fn drain(&mut self, now: Duration) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        match &mut self.kind {
            Kind::Ours { mka, dp, events } => {
                while let Some(c) = mka.poll_sa_command() {
                    dp.apply(c);
                }
                let mut f = Vec::new();
                while mka.poll_transmit(&mut f).is_some() {
                    out.push(core::mem::take(&mut f));
                }
                while let Some(e) = mka.poll_event() {
                    events.push((now, e));
                }
            }
            Kind::Hostap(h) => {
                while let Some(f) = h.poll_transmit() {
                    out.push(f);
                }
            }
        }
        out
    }
}

/// A frame rewriter: (from, to, frame) → the frame to deliver.
type Tamper = Box<dyn FnMut(usize, usize, Vec<u8>) -> Vec<u8>>;

struct Lan {
    members: Vec<Option<Member>>,
    inflight: Vec<(Duration, usize, usize, Vec<u8>)>,
    now: Duration,
    tamper: Option<Tamper>,
    secured_at: Vec<Option<Duration>>,
    /// (transmitter, receiver) pairs that shared a key once (see `check_hitless`).
    shared: std::collections::BTreeSet<(usize, usize)>,
    /// The keys each member transmitted with, in order.
    tx_history: Vec<Vec<Ki>>,
}

impl Lan {
    fn new(members: Vec<Member>) -> Lan {
        let n = members.len();
        Lan {
            members: members.into_iter().map(Some).collect(),
            inflight: Vec::new(),
            now: Duration::ZERO,
            tamper: None,
            secured_at: vec![None; n],
            shared: Default::default(),
            tx_history: vec![Vec::new(); n],
        }
    }
    fn m(&self, i: usize) -> &Member {
        self.members[i].as_ref().expect("present")
    }
    fn send_out(&mut self, i: usize) {
        let now = self.now;
        let Some(m) = self.members[i].as_mut() else { return };
        for f in m.drain(now) {
            for dst in 0..self.members.len() {
                if dst != i && self.members[dst].is_some() {
                    let f = match self.tamper.as_mut() {
                        Some(t) => t(i, dst, f.clone()),
                        None => f.clone(),
                    };
                    self.inflight.push((now + LATENCY, i, dst, f));
                }
            }
        }
    }
    fn step(&mut self) {
        self.now += STEP;
        let now = self.now;
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.inflight)
            .into_iter()
            .partition(|(t, ..)| *t <= now);
        self.inflight = rest;
        for (_, _, dst, f) in due {
            if let Some(m) = self.members[dst].as_mut() {
                m.handle_mkpdu(now, &f);
                self.send_out(dst);
            }
        }
        for i in 0..self.members.len() {
            if let Some(m) = self.members[i].as_mut() {
                m.handle_timeout(now);
                self.send_out(i);
            }
            if self.secured_at[i].is_none() && self.members[i].as_ref().is_some_and(Member::secured) {
                self.secured_at[i] = Some(now);
            }
            if let Some((_, ki)) = self.members[i].as_ref().and_then(Member::tx) {
                if self.tx_history[i].last() != Some(&ki) {
                    self.tx_history[i].push(ki);
                }
            }
        }
        self.check_hitless();
    }
    fn run(&mut self, until: Duration) {
        while self.now < until {
            self.step();
        }
    }
    /// Hitless: once a member could receive a peer's traffic, it can receive whatever key that
    /// peer transmits with, as long as both are secured and live to each other. (A member that
    /// joins later cannot receive the key in use before it joined; the check starts for a pair at
    /// the first key they share.)
    fn check_hitless(&mut self) {
        for (ai, a) in self.members.iter().enumerate() {
            let Some(a) = a else { continue };
            let Some((an, ki)) = a.tx() else { continue };
            for (bi, b) in self.members.iter().enumerate() {
                let Some(b) = b else { continue };
                if ai == bi
                    || !b.secured()
                    || !b.live_peers().contains(&a.sci)
                    || !a.live_peers().contains(&b.sci)
                {
                    continue;
                }
                let ok = b.receives(a.sci, an, ki);
                if ok {
                    self.shared.insert((ai, bi));
                }
                assert!(
                    ok || !self.shared.contains(&(ai, bi)),
                    "t={:?}: {} transmits AN {an} KI {ki} that {} cannot receive",
                    self.now,
                    a.sci,
                    b.sci
                );
            }
        }
    }
    /// Member `i` restarts as `m` (same SCI, a new MI, nothing remembered).
    fn restart(&mut self, i: usize, m: Member) {
        self.members[i] = Some(m);
        self.secured_at[i] = None;
        self.tx_history[i].clear();
        self.shared.retain(|(a, b)| *a != i && *b != i);
        self.inflight.retain(|(_, from, to, _)| *from != i && *to != i);
    }
    /// Every member transmits with one key and elected one key server; returns them.
    fn agreed(&self) -> (Ki, Sci) {
        let tx: Vec<Ki> = self
            .members
            .iter()
            .flatten()
            .map(|m| m.tx().expect("transmitting").1)
            .collect();
        assert!(tx.iter().all(|k| *k == tx[0]), "keys {tx:?}");
        let ks: Vec<Option<Sci>> = self.members.iter().flatten().map(Member::key_server).collect();
        assert!(
            ks.iter().all(|k| *k == ks[0] && k.is_some()),
            "key servers {ks:?}"
        );
        (tx[0], ks[0].unwrap())
    }
}

/// What a hostap peer must never log in a healthy session.
const HOSTAP_REFUSALS: [&str; 6] = [
    "Reject distributed SAK since I'm a key server",
    "The key server is not elected",
    "The key server is not in my live peers list",
    "Discarding Rx MKPDU",
    "Lowest packet number should be greater than 0",
    "duplicate MAC detected",
];

fn assert_clean_hostap(h: &HostapModel) {
    for r in HOSTAP_REFUSALS {
        assert_eq!(h.logged(r), 0, "hostap logged {r:?}: {:?}", h.log);
    }
    assert_eq!(h.server_changes, 0, "the elected key server never changed");
}

/// The case: our priority better (0 against 40). Before, our Basic Parameter Set carried
/// the Key Server bit only once we had elected ourselves, so hostap (which elects when a peer
/// becomes live, among the peers that announce the bit) found no willing peer, served itself, and
/// refused our SAKs. Whatever hostap's random first hello, it now elects us at once.
#[test]
fn ours_better_priority_serves_a_hostap_peer() {
    for first in [0, 300, 1000, 1990] {
        let mut lan = Lan::new(vec![
            ours(0x0a, 0),
            hostap(0x0b, 40, Duration::from_millis(first)),
        ]);
        lan.run(Duration::from_secs(32));
        let (ki, ks) = lan.agreed();
        assert_eq!(ks, sci(0x0a), "first hostap hello at {first} ms");
        assert_eq!(ki.mi, lan.m(0).mka().mi(0).unwrap());
        let h = lan.m(1).hostap();
        assert_eq!(h.saks_installed(), vec![ki], "one SAK over the hold");
        assert_clean_hostap(h);
        // hostap lists us (and so becomes live) only in its next timed MKPDU: its first one when
        // it heard us before, else the one a Hello Time later.
        let secured = lan.secured_at[0].max(lan.secured_at[1]).unwrap();
        assert!(
            secured <= Duration::from_millis(first) + HELLO_TIME + STEP * 10,
            "secured at {secured:?} (first hello {first} ms)"
        );
        assert!(!h.is_key_server());
        // Our MKPDUs stopped announcing nothing: we serve and say so.
        assert!(lan.m(0).mka().participants()[0].announces_key_server);
    }
}

#[test]
fn hostap_better_priority_serves_us() {
    for first in [0, 700, 1990] {
        let mut lan = Lan::new(vec![
            ours(0x0a, 40),
            hostap(0x0b, 0, Duration::from_millis(first)),
        ]);
        lan.run(Duration::from_secs(32));
        let (ki, ks) = lan.agreed();
        assert_eq!(ks, sci(0x0b));
        let h = lan.m(1).hostap();
        assert_eq!(ki.mi, h.mi());
        assert_eq!(h.saks_installed(), vec![ki]);
        assert_clean_hostap(h);
        let us = lan.m(0).mka();
        assert_eq!(us.stats.sak_received, 1);
        assert_eq!(us.stats.sak_generated, 0);
        // Having elected hostap, we no longer announce the Key Server bit.
        assert!(!us.participants()[0].announces_key_server);
        let secured = lan.secured_at[0].max(lan.secured_at[1]).unwrap();
        // hostap generates its SAK at its next participant timer after electing itself.
        assert!(
            secured <= Duration::from_millis(first) + Duration::from_secs(4),
            "secured at {secured:?}"
        );
    }
}

/// Equal priority: the lower SCI serves by the standard, the lower MAC address by hostap: the
/// same answer whenever the MACs differ (as on any link), whichever side has the lower MAC.
#[test]
fn equal_priority_the_lower_mac_serves_on_both_sides() {
    for (ours_mac, hostap_mac) in [(0x0a, 0x0b), (0x0b, 0x0a)] {
        let mut lan = Lan::new(vec![
            ours(ours_mac, 16),
            hostap(hostap_mac, 16, Duration::from_millis(500)),
        ]);
        lan.run(Duration::from_secs(32));
        let (ki, ks) = lan.agreed();
        assert_eq!(ks, sci(ours_mac.min(hostap_mac)));
        let h = lan.m(1).hostap();
        assert_eq!(h.saks_installed(), vec![ki]);
        assert_clean_hostap(h);
    }
    // Between two of ours, the lower SCI also wins when only the port differs.
    let mut lan = Lan::new(vec![
        ours_at(Sci::from_mac_port([2, 0, 0, 0, 0, 9], 2), 16, |_| {}),
        ours(9, 16),
    ]);
    lan.run(Duration::from_secs(8));
    assert_eq!(lan.agreed().1, sci(9), "port 1 < port 2");
}

/// key-server-priority 255: never serves, never announces the bit, and still secures with a
/// peer that can serve, even one at 255 itself (wpa_supplicant's default).
#[test]
fn priority_255_never_serves_but_secures_with_a_willing_peer() {
    let mut lan = Lan::new(vec![
        ours(0x0a, NOT_KEY_SERVER_PRIORITY),
        hostap(0x0b, 255, Duration::from_millis(800)),
    ]);
    lan.run(Duration::from_secs(32));
    let (ki, ks) = lan.agreed();
    assert_eq!(ks, sci(0x0b));
    let h = lan.m(1).hostap();
    assert_eq!(h.saks_installed(), vec![ki]);
    assert_clean_hostap(h);
    assert!(!lan.m(0).mka().participants()[0].announces_key_server);
    // Two at 255: nobody is willing, nobody serves, nothing is installed.
    let mut lan = Lan::new(vec![ours(1, 255), ours(2, 255)]);
    lan.run(Duration::from_secs(20));
    for i in 0..2 {
        let m = lan.m(i).mka();
        assert_eq!(m.live_peers().len(), 1);
        assert_eq!(
            (m.key_server(), m.is_secured(), m.stats.sak_generated),
            (None, false, 0)
        );
    }
}

/// A key server that learns of a better willing peer yields to it: A (32) serves B (48); C (16)
/// joins. A stops distributing at once (no SAK of its own for the new peer set), C's SAK is the
/// one change of the key in use, and no member ever transmits with a key a live peer that
/// shared its traffic before cannot receive.
#[test]
fn a_key_server_yields_to_a_better_willing_peer_with_one_sak_change() {
    for joiner_is_hostap in [false, true] {
        let mut lan = Lan::new(vec![ours(1, 32), ours(2, 48)]);
        lan.run(Duration::from_secs(10));
        let (first, ks) = lan.agreed();
        assert_eq!(ks, sci(1));
        lan.members.push(Some(if joiner_is_hostap {
            hostap(3, 16, Duration::from_millis(900))
        } else {
            ours(3, 16)
        }));
        lan.secured_at.push(None);
        lan.tx_history.push(Vec::new());
        lan.run(Duration::from_secs(40));
        let (second, ks) = lan.agreed();
        assert_eq!(ks, sci(3), "joiner hostap: {joiner_is_hostap}");
        assert_ne!(second, first);
        let a = lan.m(0).mka();
        assert_eq!(a.stats.sak_generated, 1, "A generated only its first SAK");
        assert_eq!(lan.m(1).mka().stats.sak_received, 2, "B took A's SAK and C's");
        if joiner_is_hostap {
            let h = lan.m(2).hostap();
            assert_eq!(h.saks_installed(), vec![second]);
            assert_eq!(h.server_changes, 0);
            // The old key server's MKPDUs carry no Distributed SAK once its members receive with
            // its key, so the joiner never sees a SAK to refuse.
            assert_eq!(h.logged("Reject distributed SAK"), 0, "{:?}", h.log);
            assert_clean_hostap(h);
        }
        // The key each member transmits with changed once: from A's to C's.
        for i in 0..2 {
            assert_eq!(lan.tx_history[i], vec![first, second], "member {i}");
        }
        assert_eq!(lan.tx_history[2], vec![second]);
    }
}

/// wpa_supplicant restarted while secured (a new MI, its Tx PN back at 1): whoever serves, the
/// restarted peer installs exactly one SAK, a fresh one, never the key in use (it would transmit
/// from PN 1 again under it). Its one "decode of parameter set type (3)" discard is hostap's own:
/// our MKPDU sent before we heard the new MI carries a SAK Use, which hostap rejects from a peer
/// that is not live to it yet.
#[test]
fn a_restarted_hostap_peer_installs_one_fresh_sak() {
    for (ours_prio, hostap_prio) in [(16, 32), (40, 0)] {
        let mut lan = Lan::new(vec![
            ours(0x0a, ours_prio),
            hostap(0x0b, hostap_prio, Duration::from_millis(700)),
        ]);
        lan.run(Duration::from_secs(20));
        let (first, ks) = lan.agreed();
        let restarted_at = lan.now;
        lan.restart(1, hostap(0x0b, hostap_prio, Duration::from_millis(300)));
        lan.run(restarted_at + Duration::from_secs(30));
        let (second, ks2) = lan.agreed();
        assert_eq!(ks, ks2, "ours {ours_prio} hostap {hostap_prio}");
        assert_ne!(second, first);
        let h = lan.m(1).hostap();
        assert_eq!(h.saks_installed(), vec![second], "one SAK for the restarted peer");
        for r in HOSTAP_REFUSALS.iter().filter(|r| !r.starts_with("Discarding")) {
            assert_eq!(h.logged(r), 0, "hostap logged {r:?}: {:?}", h.log);
        }
        assert!(h.logged("Discarding Rx MKPDU") <= 1, "{:?}", h.log);
        assert_eq!(
            lan.tx_history[0],
            vec![first, second],
            "ours moved to the fresh key once"
        );
        let secured = lan.secured_at[1].expect("the restarted peer secured") - restarted_at;
        assert!(
            secured <= HELLO_TIME * 2 + STEP * 20,
            "restarted peer secured after {secured:?}"
        );
    }
}

/// Re-seals an MKPDU after `f` changed it (the test knows the CAK).
fn reseal(frame: &[u8], f: impl FnOnce(&mut MkpduRepr)) -> Vec<u8> {
    let (ckn, cak) = keys();
    let mut r = MkaFrameRepr::parse(frame).unwrap();
    f(&mut r.mkpdu);
    r.seal(&mka::Ick::derive(&cak, &ckn)).unwrap()
}

/// A Distributed SAK from anyone but the elected key server is refused, said once per sender and
/// reason, shown in the status, and changes nothing.
#[test]
fn a_sak_from_a_participant_that_is_not_the_key_server_is_refused_and_said_why() {
    let mut lan = Lan::new(vec![ours(1, 16), ours(2, 32), ours(3, 48)]);
    lan.run(Duration::from_secs(10));
    let (ki, ks) = lan.agreed();
    assert_eq!(ks, sci(1));
    // B's (node 2's) MKPDUs now also carry a copy of the key server's Distributed SAK, as if B
    // believed it served: the key server and the other member must refuse it.
    let dist = std::rc::Rc::new(std::cell::RefCell::new(None));
    let d2 = dist.clone();
    lan.tamper = Some(Box::new(move |from, _to, f| {
        let r = MkaFrameRepr::parse(&f).unwrap();
        if from == 0 {
            if let Some(ds) = r.mkpdu.distributed_sak() {
                *d2.borrow_mut() = Some(ds.clone());
            }
            return f;
        }
        match (from, d2.borrow().clone()) {
            (1, Some(ds)) => reseal(&f, |m| {
                m.basic.key_server = true;
                m.sets.retain(|s| !matches!(s, ParamSet::DistributedSak(_)));
                m.sets.push(ParamSet::DistributedSak(ds));
            }),
            _ => f,
        }
    }));
    // A rekey makes the key server distribute again, so the copy exists.
    let now = lan.now;
    if let Some(Kind::Ours { mka, .. }) = lan.members[0].as_mut().map(|m| &mut m.kind) {
        mka.handle_pn_threshold(now);
    }
    lan.send_out(0);
    lan.run(Duration::from_secs(20));
    assert!(dist.borrow().is_some());
    let refusals = |i: usize| -> Vec<(Sci, SakRefusal)> {
        lan.m(i)
            .events()
            .iter()
            .filter_map(|(_, e)| {
                if let MkaEvent::SakRefused { from, reason, .. } = e {
                    Some((*from, *reason))
                } else {
                    None
                }
            })
            .collect()
    };
    assert_eq!(
        refusals(0),
        vec![(sci(2), SakRefusal::SelfIsKeyServer)],
        "said once"
    );
    assert_eq!(
        refusals(2),
        vec![(sci(2), SakRefusal::NotKeyServer { elected: sci(1) })]
    );
    assert_eq!(
        lan.m(2).mka().participants()[0].sak_refused,
        Some((sci(2), SakRefusal::NotKeyServer { elected: sci(1) }))
    );
    assert!(lan.m(0).mka().stats.sak_from_non_key_server > 2);
    // The session carried on with the key server's keys.
    let (now_ki, ks) = lan.agreed();
    assert_eq!(ks, sci(1));
    assert_eq!((now_ki.mi, now_ki.kn), (ki.mi, ki.kn + 1), "the rekey's SAK");
}

/// include-icv-indicator: our MKPDUs carry the ICV inside an ICV Indicator; peers of either form
/// secure with each other, hostap included.
#[test]
fn icv_indicator_is_sent_when_configured_and_accepted_either_way() {
    let (ckn, cak) = keys();
    let ick = mka::Ick::derive(&cak, &ckn);
    for indicator in [true, false] {
        let mut cfg = MkaConfig::new(sci(1), CipherSuite::GcmAes128);
        cfg.include_icv_indicator = indicator;
        let mut mka = Mka::new(cfg, vec![keys()], Duration::ZERO).unwrap();
        mka.handle_timeout(Duration::ZERO);
        let mut f = Vec::new();
        let len = mka.poll_transmit(&mut f).expect("first MKPDU");
        assert_eq!(len, f.len());
        let r = MkaFrameRepr::parse(&f).unwrap();
        assert_eq!(r.mkpdu.icv_indicator, indicator);
        // The ICV Indicator header (type 255, length 16) right before the ICV, inside the ICV's cover.
        let n = f.len();
        assert_eq!(f[n - 20..n - 16] == [0xff, 0, 0, 16], indicator);
        assert_eq!(mka::verify_frame_icv(&f, &ick), Ok(true));
    }
    // Against hostap (which accepts both forms and never sends the indicator), either side serving.
    for (p_ours, p_hostap) in [(16, 32), (32, 16)] {
        let mut lan = Lan::new(vec![
            ours_with(1, p_ours, |c| c.include_icv_indicator = true),
            hostap(2, p_hostap, Duration::from_millis(100)),
        ]);
        lan.run(Duration::from_secs(30));
        let (ki, _) = lan.agreed();
        assert_eq!(lan.m(1).hostap().saks_installed(), vec![ki]);
        assert_clean_hostap(lan.m(1).hostap());
        assert_eq!(lan.m(0).mka().stats.icv_failures, 0);
    }
    // Between ours, one with the indicator and one without.
    let mut lan = Lan::new(vec![
        ours_with(1, 16, |c| c.include_icv_indicator = true),
        ours(2, 32),
    ]);
    lan.run(Duration::from_secs(10));
    lan.agreed();
    for i in 0..2 {
        assert_eq!(
            (lan.m(i).mka().stats.icv_failures, lan.m(i).mka().stats.malformed),
            (0, 0)
        );
    }
}

/// Delay protection against hostap: our SAK Use never carries a zero Lowest Acceptable PN (hostap
/// would discard the MKPDU and take a new MI).
#[test]
fn delay_protection_never_sends_a_zero_lowest_pn() {
    for ours_serves in [true, false] {
        let (p_ours, p_hostap) = if ours_serves { (16, 32) } else { (32, 16) };
        let mut lan = Lan::new(vec![
            ours_with(1, p_ours, |c| c.delay_protection = true),
            hostap(2, p_hostap, Duration::from_millis(400)),
        ]);
        lan.run(Duration::from_secs(30));
        let (ki, _) = lan.agreed();
        let h = lan.m(1).hostap();
        assert_eq!(h.saks_installed(), vec![ki]);
        assert_clean_hostap(h);
    }
}
