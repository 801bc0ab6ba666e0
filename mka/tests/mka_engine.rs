//! MKA engines wired together in virtual time: MKPDUs cross a simulated LAN (1 ms latency,
//! deterministic loss), SA commands are applied to a model of each dataplane, and the invariants
//! are checked at every step.

mod common;

use common::Dataplane;
use macsec::secy::{CipherSuite, Sci, Ssci};
use mka::kay::{Mka, MkaConfig, MkaEvent, HELLO_TIME};
use mka::rng::RngSeed;
use mka::{Cak, Ckn, Ki, Mi};
use std::time::Duration;

const STEP: Duration = Duration::from_millis(10);
const LATENCY: Duration = Duration::from_millis(1);

struct Node {
    mka: Mka,
    sci: Sci,
    dp: Dataplane,
    events: Vec<(Duration, MkaEvent)>,
}

impl Node {
    fn stopped(&self) -> bool {
        self.events
            .iter()
            .any(|(_, e)| matches!(e, MkaEvent::SessionStopped { .. }))
    }
}

struct Net {
    nodes: Vec<Node>,
    inflight: Vec<(Duration, usize, Vec<u8>)>,
    now: Duration,
    loss_percent: u64,
    rng: u64,
    delivered: u64,
    lost: u64,
    /// Every MKPDU sent, in order (what a replay must reproduce).
    wire: Vec<Vec<u8>>,
}

fn sci(n: u8) -> Sci {
    Sci::from_mac_port([0x00, 0x1d, 0xe5, 0xe9, 0x00, n], 1)
}

fn key(hex32: &str) -> (Ckn, Cak) {
    (
        Ckn::from_hex("a1b2c3d4e5f60718293a4b5c6d7e8f90").unwrap(),
        Cak::from_hex(hex32).unwrap(),
    )
}

const CAK: &str = "000102030405060708090a0b0c0d0e0f";

fn node(n: u8, prio: u8, suite: CipherSuite, cak: &str, now: Duration) -> Node {
    node_configured(n, prio, suite, cak, now, |_| {})
}

/// [`node`] with more of its configuration set by `f`.
fn node_configured(
    n: u8,
    prio: u8,
    suite: CipherSuite,
    cak: &str,
    now: Duration,
    f: impl FnOnce(&mut MkaConfig),
) -> Node {
    let mut cfg = MkaConfig::new(sci(n), suite);
    cfg.key_server_priority = prio;
    // Each node (and each restart of it) its own seed: a run replays octet for octet.
    cfg.rng_seed = Some(RngSeed::from_u64((u64::from(n) << 32) ^ now.as_millis() as u64));
    f(&mut cfg);
    Node {
        mka: Mka::new(cfg, vec![key(cak)], now).unwrap(),
        sci: sci(n),
        dp: Dataplane::default(),
        events: Vec::new(),
    }
}

impl Net {
    fn new(nodes: Vec<Node>, loss_percent: u64) -> Net {
        Net {
            nodes,
            inflight: Vec::new(),
            now: Duration::ZERO,
            loss_percent,
            rng: 0x9e37_79b9_7f4a_7c15,
            delivered: 0,
            lost: 0,
            wire: Vec::new(),
        }
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn drain(&mut self, i: usize) {
        let now = self.now;
        let mut f = Vec::new();
        while self.nodes[i].mka.poll_transmit(&mut f).is_some() {
            for dst in 0..self.nodes.len() {
                if dst == i {
                    continue;
                }
                if self.random() % 100 < self.loss_percent {
                    self.lost += 1;
                } else {
                    self.inflight.push((now + LATENCY, dst, f.clone()));
                }
            }
            self.wire.push(f.clone());
        }
        let n = &mut self.nodes[i];
        while let Some(c) = n.mka.poll_sa_command() {
            n.dp.apply(c);
        }
        while let Some(e) = n.mka.poll_event() {
            n.events.push((now, e));
        }
    }

    /// One step of virtual time.
    fn step(&mut self) {
        self.now += STEP;
        let now = self.now;
        let due: Vec<(Duration, usize, Vec<u8>)> = {
            let (due, rest) = std::mem::take(&mut self.inflight)
                .into_iter()
                .partition(|(t, _, _)| *t <= now);
            self.inflight = rest;
            due
        };
        for (_, dst, f) in due {
            self.delivered += 1;
            self.nodes[dst].mka.handle_mkpdu(now, &f);
            self.drain(dst);
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].mka.poll_timeout().is_some_and(|t| t <= now) {
                self.nodes[i].mka.handle_timeout(now);
            }
            self.drain(i);
        }
    }

    /// Runs until `until`, checking the hitless invariant at every step.
    fn run(&mut self, until: Duration) {
        while self.now < until {
            self.step();
            self.check_hitless();
        }
    }

    /// Once a node transmits with a key, every secured live peer of it can receive that key with
    /// the same SAK, SSCI and salt: no window in which its frames would be dropped.
    fn check_hitless(&self) {
        for a in &self.nodes {
            let Some((an, (ki, sak, ssci, salt))) = a.dp.transmitting() else {
                continue;
            };
            for b in &self.nodes {
                // Between two secured, mutually live peers whose session never went down (a peer
                // that lost the session deleted its keys; frames are dropped until it re-secures,
                // as on a router).
                if b.sci == a.sci
                    || a.stopped()
                    || b.stopped()
                    || !b.mka.is_secured()
                    || !b.mka.live_peers().contains(&a.sci)
                    || !a.mka.live_peers().contains(&b.sci)
                {
                    continue;
                }
                let rx = b.dp.rx.get(&(a.sci, an));
                let Some((rki, rsak, rssci, rsalt)) = rx else {
                    panic!(
                        "t={:?}: {} transmits KI {:?} AN {an} but {} has no Rx SA for it",
                        self.now, a.sci, ki, b.sci
                    );
                };
                assert_eq!(
                    (rki, rsak, rssci, rsalt),
                    (ki, sak, ssci, salt),
                    "t={:?}: keys differ",
                    self.now
                );
            }
        }
    }

    fn secured_at(&self, i: usize) -> Option<Duration> {
        self.nodes[i]
            .events
            .iter()
            .find(|(_, e)| matches!(e, MkaEvent::SessionSecured { .. }))
            .map(|(t, _)| *t)
    }

    fn live_at(&self, i: usize) -> Option<Duration> {
        self.nodes[i]
            .events
            .iter()
            .find(|(_, e)| matches!(e, MkaEvent::PeerLive { .. }))
            .map(|(t, _)| *t)
    }

    fn all_secured_same_key(&self) -> Ki {
        let keys: Vec<Ki> = self
            .nodes
            .iter()
            .map(|n| n.mka.tx_key().expect("secured").0)
            .collect();
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        for a in &self.nodes {
            let (an, _) = a.dp.transmitting().expect("transmitting");
            for b in &self.nodes {
                if b.sci != a.sci {
                    assert_eq!(
                        b.dp.rx.get(&(a.sci, an)).map(|r| r.0),
                        Some(keys[0]),
                        "{} receives {}",
                        b.sci,
                        a.sci
                    );
                }
            }
        }
        keys[0]
    }
}

#[test]
fn two_peers_secure_within_one_hello_of_being_live() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(10));
    let live = net.live_at(0).unwrap().max(net.live_at(1).unwrap());
    let secured = net.secured_at(0).unwrap().max(net.secured_at(1).unwrap());
    assert!(
        secured >= live && secured - live <= HELLO_TIME,
        "live {live:?} secured {secured:?}"
    );
    assert_eq!(net.nodes[0].mka.key_server(), Some(sci(1)));
    assert_eq!(net.nodes[1].mka.key_server(), Some(sci(1)));
    let ki = net.all_secured_same_key();
    assert_eq!(ki.kn, 1);
    assert_eq!(ki.mi, net.nodes[0].mka.mi(0).unwrap());
    // Each side receives the other's SCI with the one key, AN 0.
    for (a, b) in [(0, 1), (1, 0)] {
        let rx = &net.nodes[a].dp.rx;
        assert_eq!(
            rx.keys().copied().collect::<Vec<_>>(),
            vec![(sci(b as u8 + 1), 0)]
        );
        assert_eq!(rx[&(sci(b as u8 + 1), 0)].0, ki);
    }
    assert_eq!(net.nodes[0].mka.stats.icv_failures, 0);
    assert!(net.nodes[1].mka.stats.sak_received == 1 && net.nodes[0].mka.stats.sak_generated == 1);
}

/// Seeded engines replay a run octet for octet (every MKPDU, every SAK, under loss and a rekey);
/// another seed gives other MIs and another SAK.
#[test]
fn a_seeded_run_replays_exactly() {
    let run = |seed_base: u64| {
        let mut nodes = vec![
            node(1, 16, CipherSuite::GcmAes256, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAes256, CAK, Duration::ZERO),
        ];
        for (i, n) in nodes.iter_mut().enumerate() {
            let mut cfg = n.mka.config().clone();
            cfg.rng_seed = Some(RngSeed::from_u64(seed_base + i as u64));
            n.mka = Mka::new(cfg, vec![key(CAK)], Duration::ZERO).unwrap();
        }
        let mut net = Net::new(nodes, 10);
        net.run(Duration::from_secs(8));
        let mut sak = net.nodes[1]
            .dp
            .rx
            .values()
            .map(|k| k.1.clone())
            .collect::<Vec<_>>();
        let now = net.now;
        net.nodes[0].mka.handle_pn_threshold(now);
        net.run(Duration::from_secs(16));
        sak.extend(net.nodes[1].dp.rx.values().map(|k| k.1.clone()));
        (net.wire, sak, net.nodes[0].mka.mi(0).unwrap())
    };
    let (a, b, c) = (run(10), run(10), run(20));
    assert!(a.0.len() > 20, "{}", a.0.len());
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert_eq!(a.1.len(), 2, "the SAK before and after the rekey");
    assert_ne!(a.2, c.2);
    assert!(a.1.iter().all(|k| !c.1.contains(k)));
    // The seed's first 12 octets are the MI: AES-256(seed, counter 0) is what the engine draws first.
    assert_eq!(
        a.2,
        Mi::generate(&mut mka::rng::Rng::seeded(&RngSeed::from_u64(10))).unwrap()
    );
}

#[test]
fn election_by_priority_then_sci() {
    // Equal priority: the lower SCI serves, whichever starts first.
    let mut net = Net::new(
        vec![
            node(9, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(3, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(8));
    assert_eq!(net.nodes[0].mka.key_server(), Some(sci(3)));
    assert_eq!(net.nodes[1].mka.key_server(), Some(sci(3)));
    assert_eq!(net.all_secured_same_key().mi, net.nodes[1].mka.mi(0).unwrap());
    // Priority beats SCI; 255 never serves.
    let mut net = Net::new(
        vec![
            node(1, 255, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 200, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(8));
    assert_eq!(net.nodes[0].mka.key_server(), Some(sci(2)));
    net.all_secured_same_key();
}

/// With MKPDU loss the session still secures, and stays secured most of the time. (At 50 % loss
/// three hellos in a row are lost one Life Time in eight, so a peer may expire and the session
/// re-secure, as on any MKA implementation with the standard timers.)
#[test]
fn secures_under_10_and_50_percent_loss() {
    for (loss, min_fraction) in [(10u64, 0.95), (50, 0.60)] {
        let mut net = Net::new(
            vec![
                node(1, 16, CipherSuite::GcmAes256, CAK, Duration::ZERO),
                node(2, 32, CipherSuite::GcmAes256, CAK, Duration::ZERO),
            ],
            loss,
        );
        let mut secured_steps = [0u32; 2];
        let mut steps = 0u32;
        while net.now < Duration::from_secs(300) {
            net.step();
            net.check_hitless();
            if net.secured_at(0).is_some() && net.secured_at(1).is_some() {
                steps += 1;
                for (i, s) in secured_steps.iter_mut().enumerate() {
                    *s += net.nodes[i].mka.is_secured() as u32;
                }
            }
        }
        assert!(net.lost > 0 && steps > 0);
        let fractions: Vec<f64> = secured_steps.iter().map(|s| *s as f64 / steps as f64).collect();
        eprintln!(
            "loss {loss}%: first secured at {:?}/{:?}; secured fraction since {fractions:?}; {} lost of {}",
            net.secured_at(0),
            net.secured_at(1),
            net.lost,
            net.lost + net.delivered
        );
        assert!(
            fractions.iter().all(|f| *f >= min_fraction),
            "loss {loss}%: {fractions:?}"
        );
    }
}

#[test]
fn cak_mismatch_never_secures_and_counts_icv_failures() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(
                2,
                32,
                CipherSuite::GcmAes128,
                "ffeeddccbbaa99887766554433221100",
                Duration::ZERO,
            ),
        ],
        0,
    );
    net.run(Duration::from_secs(20));
    for n in &net.nodes {
        assert!(!n.mka.is_secured());
        assert!(n.dp.rx.is_empty() && n.dp.tx.is_empty());
        assert!(n.mka.stats.icv_failures >= 9, "{:?}", n.mka.stats);
        assert!(n
            .events
            .iter()
            .any(|(_, e)| matches!(e, MkaEvent::IcvFailure { .. })));
    }
}

#[test]
fn pn_exhaustion_rekeys_hitlessly_with_new_kn_and_an() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAesXpn128, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAesXpn128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(6));
    let first = net.all_secured_same_key();
    // A member's threshold event alone changes nothing (it cannot rekey; its Lowest PN tells the
    // key server: `a_member_near_pn_exhaustion_gets_a_new_sak`); the key server's starts a rekey.
    net.nodes[1].mka.handle_pn_threshold(net.now);
    net.drain(1);
    net.run(Duration::from_secs(8));
    assert_eq!(net.all_secured_same_key(), first);
    net.nodes[0].mka.handle_pn_threshold(net.now);
    net.drain(0);
    net.run(Duration::from_secs(14));
    let second = net.all_secured_same_key();
    assert_eq!((second.mi, second.kn), (first.mi, 2));
    for n in &net.nodes {
        assert_eq!(n.dp.encoding_an, Some(1));
        assert_eq!(
            n.dp.tx.keys().copied().collect::<Vec<_>>(),
            vec![1],
            "old Tx SA retired"
        );
        assert_eq!(n.dp.rx.len(), 1, "old Rx SA retired");
    }
}

/// 802.1X-2020 9.8: the key server distributes a new SAK when a *member's* PN nears exhaustion,
/// learnt from the Lowest PN of the member's SAK Use (XPN: its high half in the XPN set). The
/// member transmits from just below the suite's threshold; one rekey follows, within two seconds
/// (the Lowest PN is the PN of two seconds ago) and a few hellos of crossing, and no second one.
#[test]
fn a_member_near_pn_exhaustion_gets_a_new_sak() {
    use mka::kay::BOUNDED_HELLO_TIME;
    for suite in [CipherSuite::GcmAes128, CipherSuite::GcmAesXpn256] {
        let mut net = Net::new(
            vec![
                node(1, 16, suite, CAK, Duration::ZERO),
                node(2, 32, suite, CAK, Duration::ZERO),
            ],
            0,
        );
        net.run(Duration::from_secs(6));
        let first = net.all_secured_same_key();
        let an = net.nodes[1].dp.encoding_an.unwrap();
        // The member (node 2) sends 10 frames a millisecond from 1,000 frames below the threshold;
        // macsecd reads its PN every bounded hello.
        let t0 = net.now;
        let start = suite.pn_threshold() - 1_000;
        let pn_at = |t: Duration| start + (t - t0).as_millis() as u64 * 10;
        let crossed = t0 + Duration::from_millis(100);
        let mut next_read = t0;
        let mut rekeyed_at = None;
        while net.now < t0 + Duration::from_secs(15) {
            if net.now >= next_read && net.nodes[1].dp.encoding_an == Some(an) {
                let now = net.now;
                net.nodes[1].mka.handle_tx_pn(now, an, pn_at(now));
                next_read = now + BOUNDED_HELLO_TIME;
            }
            net.step();
            net.check_hitless();
            if rekeyed_at.is_none() && net.nodes[0].mka.stats.sak_rekeyed == 1 {
                rekeyed_at = Some(net.now);
            }
        }
        let rekeyed_at = rekeyed_at.unwrap_or_else(|| panic!("{suite:?}: the key server never rekeyed"));
        assert!(
            rekeyed_at > crossed && rekeyed_at - crossed <= Duration::from_secs(4),
            "{suite:?}: rekeyed {:?} after the member crossed the threshold",
            rekeyed_at - crossed
        );
        let second = net.all_secured_same_key();
        assert_eq!((second.mi, second.kn), (first.mi, 2), "{suite:?}");
        let ks = &net.nodes[0].mka.stats;
        assert_eq!((ks.sak_rekeyed, ks.pn_exhaustion_rekeys), (1, 1), "{suite:?}");
        assert_eq!((ks.interval_rekeys, ks.membership_rekeys), (0, 0), "{suite:?}");
        assert_eq!(
            net.nodes[1].mka.stats.pn_exhaustion_rekeys, 0,
            "a member starts no rekey"
        );
    }
}

/// A CA keeps at most `max_peers` members: MKPDUs of further new MIs are dropped and counted, the
/// limit is said once, the members it holds stay secured, and a member that restarts (a new MI of
/// an SCI in the table) is still taken.
#[test]
fn the_peer_table_is_bounded() {
    let a = node_configured(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO, |c| {
        c.max_peers = 2
    });
    let others = (2..=5).map(|n| node(n, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO));
    let mut net = Net::new(std::iter::once(a).chain(others).collect(), 0);
    // (No hitless check: the members outside node 1's table derive other SSCIs from their views
    // of a CA that node 1 holds only in part; that is what a limit below the CA's size means.)
    let run = |net: &mut Net, until: Duration| {
        while net.now < until {
            net.step();
        }
    };
    run(&mut net, Duration::from_secs(10));
    let a = &net.nodes[0].mka;
    let p = &a.participants()[0];
    assert_eq!(p.live_peers.len() + p.potential_peers.len(), 2);
    assert!(a.is_secured());
    assert!(
        a.stats.peer_limit_drops >= 2,
        "drops {}",
        a.stats.peer_limit_drops
    );
    let limits: Vec<_> = net.nodes[0]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, MkaEvent::PeerLimit { limit: 2, .. }))
        .collect();
    assert_eq!(limits.len(), 1, "said once");
    // One of the two members restarts: its new MI replaces the old one, over the limit.
    let held = p.live_peers[0];
    let i = net.nodes.iter().position(|n| n.sci == held).unwrap();
    net.nodes[i] = node(i as u8 + 1, 32, CipherSuite::GcmAes128, CAK, net.now);
    let until = net.now + Duration::from_secs(10);
    run(&mut net, until);
    let p = &net.nodes[0].mka.participants()[0];
    assert!(p.live_peers.contains(&held), "the restarted member is live again");
    assert_eq!(p.live_peers.len(), 2);
}

#[test]
fn rekey_interval_produces_a_new_sak() {
    let a = node_configured(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO, |c| {
        c.sak_rekey_interval = Some(Duration::from_secs(60))
    });
    let mut net = Net::new(
        vec![a, node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO)],
        0,
    );
    net.run(Duration::from_secs(59));
    assert_eq!(net.all_secured_same_key().kn, 1);
    net.run(Duration::from_secs(70));
    assert_eq!(net.all_secured_same_key().kn, 2);
    net.run(Duration::from_secs(190));
    assert_eq!(net.all_secured_same_key().kn, 4);
    // The key server heard each of its 4 SAKs answered once by its one peer; no SAK Use was off.
    let (ks, member) = (&net.nodes[0].mka.stats, &net.nodes[1].mka.stats);
    assert_eq!(
        (
            ks.sak_generated,
            ks.sak_rekeyed,
            ks.sak_responses_received,
            ks.distributed_sak_rx
        ),
        (4, 3, 4, 0)
    );
    assert_eq!(
        (ks.interval_rekeys, ks.membership_rekeys, ks.pn_exhaustion_rekeys),
        (3, 0, 0),
        "every rekey for the interval"
    );
    assert_eq!((member.sak_received, member.sak_responses_received), (4, 0));
    assert!(member.distributed_sak_rx > 0 && member.distributed_sak_rx <= member.mkpdus_validated);
    for st in [ks, member] {
        assert_eq!(st.sakuse_drops, mka::kay::SakUseDrops::default());
        assert_eq!((st.mkpdu_build_failures, st.sak_generation_failures), (0, 0));
    }
}

/// A session stays Secured through each SAK rekey: while the new key is installed but not yet
/// transmitting, the dataplane still transmits with the old one (show must not flip to Pending
/// for that window, nor the session-stopped logic miss it).
#[test]
fn a_session_stays_secured_through_every_rekey() {
    let a = node_configured(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO, |c| {
        c.sak_rekey_interval = Some(Duration::from_secs(30))
    });
    let mut net = Net::new(
        vec![a, node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO)],
        0,
    );
    net.run(Duration::from_secs(10));
    assert_eq!(net.all_secured_same_key().kn, 1);
    let mut not_secured = [0u32; 2];
    while net.now < Duration::from_secs(130) {
        net.step();
        net.check_hitless();
        for (i, n) in not_secured.iter_mut().enumerate() {
            *n += !net.nodes[i].mka.is_secured() as u32;
        }
    }
    assert_eq!(net.all_secured_same_key().kn, 5);
    assert_eq!(
        not_secured,
        [0, 0],
        "steps in which a side was not secured during 4 rekeys"
    );
}

/// A member takes only SAKs of its policy's cipher suite: a key server distributing another
/// suite is refused (said once, counted per Distributed SAK) and nothing is installed.
#[test]
fn a_sak_of_another_cipher_suite_is_refused() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAesXpn256, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(10));
    assert!(net.live_at(1).is_some(), "the peers are live");
    assert_eq!((net.secured_at(0), net.secured_at(1)), (None, None));
    let member = &net.nodes[1];
    let refusals: Vec<&MkaEvent> = member
        .events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, MkaEvent::CipherSuiteMismatch { .. }))
        .collect();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(matches!(
        refusals[0],
        MkaEvent::CipherSuiteMismatch {
            distributed: CipherSuite::GcmAes128,
            policy: CipherSuite::GcmAesXpn256,
            ..
        }
    ));
    let st = member.mka.stats;
    assert_eq!((st.sak_received, st.sak_unwrap_failures), (0, 0));
    assert!(
        st.sak_cipher_suite_mismatch > 1 && st.sak_cipher_suite_mismatch == st.distributed_sak_rx,
        "{st:?}"
    );
    assert_eq!(
        member.mka.participants()[0].cipher_suite_refused,
        Some(CipherSuite::GcmAes128)
    );
    assert!(member.dp.rx.is_empty() && member.dp.tx.is_empty());
}

#[test]
fn xpn_peers_agree_on_ssci_and_salt() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAesXpn256, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAesXpn256, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(8));
    let ki = net.all_secured_same_key();
    let (_, (_, _, ssci_a, salt_a)) = net.nodes[0].dp.transmitting().unwrap();
    let (_, (_, _, ssci_b, salt_b)) = net.nodes[1].dp.transmitting().unwrap();
    // sci(2) > sci(1): the greater SCI gets SSCI 1.
    assert_eq!((*ssci_a, *ssci_b), (Ssci(2), Ssci(1)));
    assert_eq!(salt_a, salt_b);
    assert_eq!(*salt_a, ki.xpn_salt());
    net.check_hitless();
}

#[test]
fn peer_restart_is_secured_again_with_a_new_key() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(6));
    let first = net.all_secured_same_key();
    // Node 2 restarts: a new engine, new MI, empty dataplane.
    net.nodes[1] = node(2, 32, CipherSuite::GcmAes128, CAK, net.now);
    // Secured again within a hello or so: the restarted peer's new MI replaces its old one at
    // once, instead of waiting a Life Time (6 s) for the old MI to age out.
    let restart = net.now;
    let on_new_key = |net: &Net| {
        net.nodes
            .iter()
            .all(|n| n.mka.tx_key().is_some_and(|(k, _)| k != first))
    };
    while !on_new_key(&net) && net.now < restart + Duration::from_secs(20) {
        net.step();
    }
    assert!(
        net.now - restart <= Duration::from_millis(2500),
        "new key after {:?}",
        net.now - restart
    );
    let second = net.all_secured_same_key();
    assert_eq!(second.mi, first.mi, "same key server");
    assert!(net.nodes[0].mka.live_peers() == vec![sci(2)]);
    // The new key was for the changed live peer set (the old MI gone, the new one live).
    let ks = &net.nodes[0].mka.stats;
    assert!(ks.sak_rekeyed >= 1);
    assert_eq!(
        (ks.membership_rekeys, ks.interval_rekeys, ks.pn_exhaustion_rekeys),
        (ks.sak_rekeyed, 0, 0),
        "every rekey for the membership"
    );
}

#[test]
fn three_peers_secure_with_one_key() {
    let mut net = Net::new(
        vec![
            node(1, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(3, 48, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(12));
    let ki = net.all_secured_same_key();
    assert_eq!(ki.mi, net.nodes[1].mka.mi(0).unwrap());
    for n in &net.nodes {
        assert_eq!(n.dp.rx.len(), 2, "{} receives both peers", n.sci);
        assert_eq!(n.mka.key_server(), Some(sci(2)));
    }
}

#[test]
fn lost_peer_brings_the_session_down() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(6));
    net.all_secured_same_key();
    net.loss_percent = 100;
    net.run(Duration::from_secs(14));
    for n in &net.nodes {
        assert!(!n.mka.is_secured());
        assert!(n.dp.rx.is_empty() && n.dp.tx.is_empty() && n.dp.encoding_an.is_none());
        assert!(n
            .events
            .iter()
            .any(|(_, e)| matches!(e, MkaEvent::SessionStopped { .. })));
    }
}

/// The 28 MKPDUs two real wpa_supplicant 2.10 peers exchanged, fed in order to our engine as a
/// third member with the same CAK: every one verifies and is accepted (no ICV failure, no MN or
/// format complaint); the two of them appear as its potential peers (they never list its MI).
#[test]
fn accepts_wpa_supplicant_mkpdus_as_a_third_observer() {
    let dir = format!("{}/../tests/data/captures", env!("CARGO_MANIFEST_DIR"));
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/wpa_mka.keys.json")).unwrap()).unwrap();
    let ckn = Ckn::from_hex(keys["ckn"].as_str().unwrap()).unwrap();
    let cak = Cak::from_hex(keys["cak"].as_str().unwrap()).unwrap();
    let observer = Sci::from_mac_port([0x02, 0, 0, 0, 0, 0x0c], 1);
    let mut mka = Mka::new(
        MkaConfig::new(observer, CipherSuite::GcmAes128),
        vec![(ckn, cak)],
        Duration::ZERO,
    )
    .unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(std::fs::File::open(format!("{dir}/wpa_mka.pcap")).unwrap())
        .unwrap();
    let mut first = None;
    let mut n = 0;
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        let t0 = *first.get_or_insert(p.timestamp);
        let now = p.timestamp - t0;
        mka.handle_timeout(now);
        mka.handle_mkpdu(now, &p.data);
        n += 1;
    }
    assert_eq!(n, 28);
    let s = mka.stats;
    assert_eq!(
        (
            s.mkpdus_rx,
            s.mkpdus_validated,
            s.icv_failures,
            s.malformed,
            s.unknown_ckn,
            s.bad_peer_mn
        ),
        (28, 28, 0, 0, 0, 0)
    );
    let mut seen = Vec::new();
    while let Some(e) = mka.poll_event() {
        if let MkaEvent::IcvSuccess { peer, .. } = e {
            seen.push(peer.to_string());
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["02000000000a0001", "02000000000b0001"]);
    assert!(mka.live_peers().is_empty(), "they never list the observer");
    assert!(!mka.is_secured());
}

fn ca(ckn: &str, cak: &str) -> (Ckn, Cak) {
    (Ckn::from_hex(ckn).unwrap(), Cak::from_hex(cak).unwrap())
}

fn node_with(n: u8, prio: u8, primary: Vec<(Ckn, Cak)>, fallback: Option<(Ckn, Cak)>) -> Node {
    let mut cfg = MkaConfig::new(sci(n), CipherSuite::GcmAes128);
    cfg.key_server_priority = prio;
    let mut mka = Mka::new(cfg, primary, Duration::ZERO).unwrap();
    if let Some((ckn, cak)) = fallback {
        mka.add_participant(Duration::ZERO, ckn, cak, true).unwrap();
    }
    Node {
        mka,
        sci: sci(n),
        dp: Dataplane::default(),
        events: Vec::new(),
    }
}

const CKN1: &str = "11111111111111111111111111111111";
const CKN2: &str = "22222222222222222222222222222222";
const CKNF: &str = "ffffffffffffffffffffffffffffffff";
const CAK1: &str = "101112131415161718191a1b1c1d1e1f";
const CAK2: &str = "202122232425262728292a2b2c2d2e2f";
const CAKF: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

impl Net {
    fn add(&mut self, i: usize, (ckn, cak): (Ckn, Cak), fallback: bool) {
        let now = self.now;
        self.nodes[i]
            .mka
            .add_participant(now, ckn, cak, fallback)
            .unwrap();
        self.drain(i);
    }
    fn remove(&mut self, i: usize, ckn: &str) {
        let now = self.now;
        self.nodes[i]
            .mka
            .remove_participant(now, &Ckn::from_hex(ckn).unwrap());
        self.drain(i);
    }
    fn tx_ckn(&self, i: usize) -> Option<Ckn> {
        self.nodes[i]
            .mka
            .participants()
            .into_iter()
            .find(|p| p.transmitting)
            .map(|p| p.ckn)
    }
}

/// Hitless CAK rollover: a newer key becomes active on both sides (a second apart), both run a
/// participant for it beside the old one, the traffic moves to the new CA's SAK, and after the
/// guide's minute of overlap the old CA is retired. At no step does a node transmit with a key
/// its peer cannot receive, and the session never stops.
#[test]
fn cak_rollover_is_hitless() {
    let mut net = Net::new(
        vec![
            node_with(1, 16, vec![ca(CKN1, CAK1)], None),
            node_with(2, 32, vec![ca(CKN1, CAK1)], None),
        ],
        0,
    );
    net.run(Duration::from_secs(20));
    assert_eq!(net.tx_ckn(0).map(|c| c.to_string()), Some(CKN1.to_uppercase()));
    let k1 = net.all_secured_same_key();
    assert_eq!(net.nodes[0].dp.encoding_an, Some(0));
    net.add(0, ca(CKN2, CAK2), false);
    net.run(Duration::from_secs(21));
    net.add(1, ca(CKN2, CAK2), false);
    net.run(Duration::from_secs(40));
    for i in 0..2 {
        assert_eq!(
            net.tx_ckn(i).map(|c| c.to_string()),
            Some(CKN2.to_uppercase()),
            "node {i} moved to the new CA"
        );
    }
    let k2 = net.all_secured_same_key();
    assert_ne!(k2, k1);
    assert_eq!(
        net.nodes[0].dp.encoding_an,
        Some(1),
        "the new CA's SAK takes the next AN"
    );
    assert_eq!(
        net.nodes[1].dp.rx.len(),
        2,
        "both CAs' receive SAs during the overlap"
    );
    net.run(Duration::from_secs(80));
    net.remove(0, CKN1);
    net.run(Duration::from_secs(81));
    net.remove(1, CKN1);
    net.run(Duration::from_secs(100));
    assert_eq!(net.all_secured_same_key(), k2);
    for n in &net.nodes {
        assert!(!n.stopped(), "the session never stopped");
        assert_eq!(n.mka.participants().len(), 1);
        assert_eq!(n.dp.rx.len(), 1, "only the new CA's SA is left");
        assert_eq!(n.dp.tx.len(), 1);
    }
}

/// Fallback PSK: the primary CAKs mismatch, so the fallback CA secures the session (reported as
/// FALLBACK-PSK); when the primary matches again the session moves back to it hitlessly and the
/// fallback's keys are retired.
#[test]
fn fallback_takes_over_on_mismatch_and_hands_back() {
    let bad = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
    let mut net = Net::new(
        vec![
            node_with(1, 16, vec![ca(CKN1, CAK1)], Some(ca(CKNF, CAKF))),
            node_with(2, 32, vec![ca(CKN1, bad)], Some(ca(CKNF, CAKF))),
        ],
        0,
    );
    net.run(Duration::from_secs(20));
    for n in &net.nodes {
        assert!(
            n.mka.secured_with_fallback(),
            "{} secured with the fallback PSK",
            n.sci
        );
        assert!(n
            .events
            .iter()
            .any(|(_, e)| matches!(e, MkaEvent::SessionSecured { fallback: true, .. })));
        let st = n.mka.participants();
        let primary = st.iter().find(|p| !p.fallback).unwrap();
        assert!(!primary.cak_match && primary.icv_failures >= 5, "{primary:?}");
        assert!(st.iter().find(|p| p.fallback).unwrap().cak_match);
    }
    let kf = net.all_secured_same_key();
    // The operator fixes node 2's primary key.
    net.add(1, ca(CKN1, CAK1), false);
    net.run(Duration::from_secs(40));
    for (i, n) in net.nodes.iter().enumerate() {
        assert!(
            n.mka.is_secured() && !n.mka.secured_with_fallback(),
            "node {i} back on the primary"
        );
        assert_eq!(net.tx_ckn(i).map(|c| c.to_string()), Some(CKN1.to_uppercase()));
        assert_eq!(n.dp.rx.len(), 1, "the fallback's receive SA is retired");
        assert!(!n.stopped());
    }
    let kp = net.all_secured_same_key();
    assert_ne!(
        kp.mi, kf.mi,
        "a key of the primary CA (another participant, another MI)"
    );
}

/// The only key expires on one side with no fallback: that side stops at once, the other when
/// its peer's Life Time runs out; both dataplanes end with no SA (must-secure then drops).
#[test]
fn key_expiry_without_fallback_brings_the_session_down() {
    let mut net = Net::new(
        vec![
            node_with(1, 16, vec![ca(CKN1, CAK1)], None),
            node_with(2, 32, vec![ca(CKN1, CAK1)], None),
        ],
        0,
    );
    net.run(Duration::from_secs(10));
    net.all_secured_same_key();
    net.remove(0, CKN1);
    assert!(net.nodes[0].stopped() && !net.nodes[0].mka.is_secured());
    net.run(Duration::from_secs(20));
    for n in &net.nodes {
        assert!(n.stopped() && !n.mka.is_secured());
        assert!(n.dp.rx.is_empty() && n.dp.tx.is_empty() && n.dp.encoding_an.is_none());
    }
}

/// Delay protection: the Lowest Acceptable PN a transmitter reports is the PN it was at two
/// seconds earlier (XPN, above 2^32: the high half travels in the XPN set), and it becomes the
/// peer's receive floor: every frame sent in the last two seconds is still accepted, frames
/// delayed longer are not. Without delay-protection on the receiver the floor is left alone.
#[test]
fn delay_protection_moves_the_lowest_acceptable_pn_to_the_pn_of_two_seconds_ago() {
    use mka::kay::{BOUNDED_HELLO_TIME, DELAY_PROTECTION_AGE};
    for receiver_protects in [true, false] {
        let mk = |n: u8, prio: u8, dp: bool| {
            let mut cfg = MkaConfig::new(sci(n), CipherSuite::GcmAesXpn128);
            cfg.key_server_priority = prio;
            cfg.delay_protection = dp;
            Node {
                mka: Mka::new(cfg, vec![key(CAK)], Duration::ZERO).unwrap(),
                sci: sci(n),
                dp: Dataplane::default(),
                events: Vec::new(),
            }
        };
        let mut net = Net::new(vec![mk(1, 16, true), mk(2, 32, receiver_protects)], 0);
        net.run(Duration::from_secs(6));
        net.all_secured_same_key();
        let an = net.nodes[0].dp.encoding_an.unwrap();
        // Node 1 sends 10 frames a millisecond; macsecd reads its PN every bounded hello.
        let t0 = net.now;
        let pn_at = |t: Duration| 0xffff_f000u64 + (t - t0).as_millis() as u64 * 10;
        let mut next_read = t0;
        while net.now < t0 + Duration::from_secs(20) {
            if net.now >= next_read {
                let now = net.now;
                net.nodes[0].mka.handle_tx_pn(now, an, pn_at(now));
                next_read = now + BOUNDED_HELLO_TIME;
            }
            net.step();
            let floor = net.nodes[1].dp.lowest.get(&(sci(1), an)).copied();
            if !receiver_protects {
                assert_eq!(floor, None);
                continue;
            }
            let now = net.now;
            if let Some(f) = floor {
                // Never above a PN sent within the last two seconds...
                assert!(
                    f <= pn_at(now - DELAY_PROTECTION_AGE),
                    "t={:?}: floor {f:#x}",
                    now - t0
                );
                // ...and, once running, at most a bounded hello (with delay protection the
                // sender transmits every one) and a read period behind that.
                if now > t0 + Duration::from_secs(5) {
                    let lag = DELAY_PROTECTION_AGE + BOUNDED_HELLO_TIME * 2 + Duration::from_millis(20);
                    assert!(f >= pn_at(now - lag), "t={:?}: floor {f:#x} behind", now - t0);
                }
            } else {
                assert!(
                    now < t0 + DELAY_PROTECTION_AGE + HELLO_TIME + Duration::from_millis(20),
                    "no floor by {:?}",
                    now - t0
                );
            }
        }
        if receiver_protects {
            assert!(
                net.nodes[1].dp.lowest[&(sci(1), an)] > 1 << 32,
                "the XPN high half arrived"
            );
        }
    }
}

/// The key server distributes the policy's confidentiality offset only as far as every live
/// participant's MACsec capability allows.
#[test]
fn offset_follows_the_peers_capability() {
    use macsec::secy::ConfOffset;
    use mka::MacsecCapability;
    for (cap, want) in [
        (
            MacsecCapability::ConfidentialityWithOffset,
            Some(ConfOffset::Thirty),
        ),
        (MacsecCapability::ConfidentialityNoOffset, Some(ConfOffset::Zero)),
        (MacsecCapability::IntegrityOnly, None),
    ] {
        let a = node_configured(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO, |c| {
            c.conf_offset = ConfOffset::Thirty
        });
        let b = node_configured(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO, |c| {
            c.capability = cap
        });
        let mut net = Net::new(vec![a, b], 0);
        let mut offsets = Vec::new();
        net.run(Duration::from_secs(6));
        net.all_secured_same_key();
        for n in &net.nodes {
            offsets.push(n.dp.conf);
        }
        assert_eq!(offsets, vec![Some(want), Some(want)], "{cap:?}");
    }
}

/// macsecd restarts on one side while its dataplane keeps the SAs it holds: the peer keeps the
/// session (the old MI ages out instead of being dropped), a new SAK is agreed receive-first,
/// and at every step each dataplane transmits with a key the other dataplane can receive.
#[test]
fn control_plane_restart_keeps_traffic_flowing() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(6));
    let first = net.all_secured_same_key();
    // A new engine (new MI) on node 2; its dataplane is untouched.
    let now = net.now;
    net.nodes[1].mka = Mka::new(
        MkaConfig::new(sci(2), CipherSuite::GcmAes128),
        vec![key(CAK)],
        now,
    )
    .unwrap();
    let mut cfg = net.nodes[1].mka.config().clone();
    cfg.key_server_priority = 32;
    net.nodes[1].mka = Mka::new(cfg, vec![key(CAK)], now).unwrap();
    while net.now < Duration::from_secs(40) {
        net.step();
        for (a, b) in [(0, 1), (1, 0)] {
            let (ta, tb) = (&net.nodes[a], &net.nodes[b]);
            let Some((an, (ki, sak, _, _))) = ta.dp.transmitting() else {
                panic!("t={:?}: {} stopped transmitting", net.now, ta.sci)
            };
            let rx = tb.dp.rx.get(&(ta.sci, an));
            assert!(
                rx.is_some_and(|r| &r.0 == ki && &r.1 == sak),
                "t={:?}: {} sends KI {ki:?} AN {an} that {} cannot receive",
                net.now,
                ta.sci,
                tb.sci
            );
        }
    }
    assert!(!net.nodes[0].stopped(), "the peer kept its session");
    let k = net.all_secured_same_key();
    assert_eq!(k.mi, first.mi);
    assert!(k.kn > first.kn, "a new SAK for the restarted member");
}

// ---- Session states and "why not secured" (issue 18) ----

use mka::kay::{NotSecuredReason, SessionState};

fn reason(n: &Node, now: Duration) -> Option<NotSecuredReason> {
    n.mka.not_secured_reason(now)
}

/// A node whose only CA has another CKN than [`key`]'s (same CAK).
fn node_other_ckn(n: u8, now: Duration) -> Node {
    let mut cfg = MkaConfig::new(sci(n), CipherSuite::GcmAes128);
    cfg.rng_seed = Some(RngSeed::from_u64(u64::from(n) << 40));
    Node {
        mka: Mka::new(cfg, vec![ca("0badc0de", CAK)], now).unwrap(),
        sci: sci(n),
        dp: Dataplane::default(),
        events: Vec::new(),
    }
}

#[test]
fn alone_the_session_is_init_with_no_peer_heard() {
    let mut net = Net::new(vec![node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO)], 0);
    net.run(Duration::from_secs(5));
    let n = &net.nodes[0];
    assert_eq!(n.mka.session_state(), SessionState::Init);
    assert_eq!(reason(n, net.now), Some(NotSecuredReason::NoPeer));
}

#[test]
fn secured_has_no_reason_and_a_lost_peer_says_no_peer() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(6));
    for n in &net.nodes {
        assert_eq!(n.mka.session_state(), SessionState::Secured);
        assert_eq!(reason(n, net.now), None);
    }
    net.loss_percent = 100;
    net.run(Duration::from_secs(14));
    for n in &net.nodes {
        assert_eq!(n.mka.session_state(), SessionState::Init);
        assert_eq!(reason(n, net.now), Some(NotSecuredReason::NoPeer));
    }
}

#[test]
fn another_ckn_is_a_ckn_mismatch() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node_other_ckn(2, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(5));
    assert_eq!(net.nodes[0].mka.session_state(), SessionState::Init);
    assert_eq!(
        reason(&net.nodes[0], net.now),
        Some(NotSecuredReason::CknMismatch {
            ckn: Ckn::from_hex("0badc0de").unwrap()
        })
    );
    assert_eq!(
        reason(&net.nodes[1], net.now),
        Some(NotSecuredReason::CknMismatch {
            ckn: Ckn::from_hex("a1b2c3d4e5f60718293a4b5c6d7e8f90").unwrap()
        })
    );
    // The other side goes quiet: after one Life Time the mismatch is old news.
    net.nodes.truncate(1);
    net.inflight.clear();
    net.run(Duration::from_secs(12));
    assert_eq!(reason(&net.nodes[0], net.now), Some(NotSecuredReason::NoPeer));
}

#[test]
fn icv_failures_say_likely_cak_mismatch() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(
                2,
                32,
                CipherSuite::GcmAes128,
                "ffeeddccbbaa99887766554433221100",
                Duration::ZERO,
            ),
        ],
        0,
    );
    net.run(Duration::from_secs(5));
    for n in &net.nodes {
        assert_eq!(n.mka.session_state(), SessionState::Init);
        match reason(n, net.now) {
            Some(NotSecuredReason::IcvFailures { ckn, count }) => {
                assert_eq!(ckn, key(CAK).0);
                assert!(count >= 2, "{count}");
            }
            other => panic!("{other:?}"),
        }
        let text = reason(n, net.now).unwrap().to_string();
        assert!(text.contains("likely CAK mismatch"), "{text}");
        assert!(
            !text.contains("ffeedd") && !text.contains("00010203"),
            "no CAK in {text}"
        );
    }
}

#[test]
fn a_cipher_suite_mismatch_is_said_on_the_member() {
    let mut net = Net::new(
        vec![
            node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 32, CipherSuite::GcmAesXpn256, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(5));
    let member = &net.nodes[1];
    assert_eq!(member.mka.session_state(), SessionState::Pending);
    assert_eq!(
        reason(member, net.now),
        Some(NotSecuredReason::CipherSuiteMismatch {
            distributed: CipherSuite::GcmAes128,
            policy: CipherSuite::GcmAesXpn256,
        })
    );
    // The key server distributed its SAK and waits for the member to use it.
    assert_eq!(
        reason(&net.nodes[0], net.now),
        Some(NotSecuredReason::Negotiating)
    );
}

#[test]
fn no_willing_key_server() {
    let mut net = Net::new(
        vec![
            node(1, 255, CipherSuite::GcmAes128, CAK, Duration::ZERO),
            node(2, 255, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(5));
    for n in &net.nodes {
        assert_eq!(n.mka.session_state(), SessionState::Pending);
        assert_eq!(reason(n, net.now), Some(NotSecuredReason::NoKeyServer));
    }
}

/// A key server in PPK mode whose PPK source never answers: it waits for the PPK, and its member
/// (not in PPK mode) sees a live key server that distributes nothing; once the source fails, the
/// key server says the PPK was not obtained.
#[test]
fn a_silent_key_server_and_a_ppk_not_obtained() {
    let mut net = Net::new(
        vec![
            node_configured(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO, |c| {
                c.ppk = true
            }),
            node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO),
        ],
        0,
    );
    net.run(Duration::from_secs(3));
    assert_eq!(reason(&net.nodes[0], net.now), Some(NotSecuredReason::PpkPending));
    assert_eq!(
        reason(&net.nodes[1], net.now),
        Some(NotSecuredReason::Negotiating)
    );
    net.run(Duration::from_secs(10));
    assert_eq!(net.nodes[1].mka.session_state(), SessionState::Pending);
    assert_eq!(
        reason(&net.nodes[1], net.now),
        Some(NotSecuredReason::KeyServerNotDistributing { key_server: sci(1) })
    );
    let req = net.nodes[0].mka.poll_ppk_request().expect("a PPK request");
    let now = net.now;
    net.nodes[0].mka.handle_ppk(now, &req, Err("KME unreachable"));
    match reason(&net.nodes[0], net.now) {
        Some(NotSecuredReason::PpkNotObtained(f)) => {
            assert!(f.to_string().contains("KME unreachable"), "{f}")
        }
        other => panic!("{other:?}"),
    }
}

/// One-way link: A hears B, B never hears A. A has B as a potential peer that never lists it.
#[test]
fn a_peer_that_does_not_hear_us_is_not_live() {
    let mut a = node(1, 16, CipherSuite::GcmAes128, CAK, Duration::ZERO);
    let mut b = node(2, 32, CipherSuite::GcmAes128, CAK, Duration::ZERO);
    let mut now = Duration::ZERO;
    let mut f = Vec::new();
    while now < Duration::from_secs(5) {
        now += STEP;
        for n in [&mut a, &mut b] {
            if n.mka.poll_timeout().is_some_and(|t| t <= now) {
                n.mka.handle_timeout(now);
            }
        }
        while a.mka.poll_transmit(&mut f).is_some() {} // lost
        while b.mka.poll_transmit(&mut f).is_some() {
            a.mka.handle_mkpdu(now, &f);
        }
    }
    assert_eq!(a.mka.session_state(), SessionState::Pending);
    assert_eq!(
        a.mka.not_secured_reason(now),
        Some(NotSecuredReason::PeerNotLive { peer: sci(2) })
    );
    assert_eq!(b.mka.session_state(), SessionState::Init);
    assert_eq!(b.mka.not_secured_reason(now), Some(NotSecuredReason::NoPeer));
}

#[test]
fn no_active_key_when_no_ca_runs() {
    let cfg = MkaConfig::new(sci(1), CipherSuite::GcmAes128);
    let m = Mka::new(cfg, Vec::new(), Duration::ZERO).unwrap();
    assert_eq!(m.session_state(), SessionState::Init);
    assert_eq!(
        m.not_secured_reason(Duration::ZERO),
        Some(NotSecuredReason::NoActiveKey)
    );
}
