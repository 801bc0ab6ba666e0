//! The packet path on in-memory ports: the policy rules frame by frame, and N workers on one
//! link counting, checking replay and forwarding exactly as one does.

use super::*;
use crate::worker::ports::{MemLink, MemPorts, MemWires};
use macsec::secy::{CipherSuite, SaKeys};
use std::sync::atomic::{AtomicBool, Ordering};

const A: Sci = Sci(0x001d_e5e9_aa39_001a);
const B: Sci = Sci(0x001d_e5e9_b1bf_0019);
const NAME: &str = "TenGigE0/0/0/1";

type TestLink = MemLink;

fn new_link(suite: CipherSuite, window: u32, security: SecurityPolicy, lacp: bool, sci: Sci) -> TestLink {
    new_link_on(Backend::Ring, suite, window, security, lacp, sci)
}

fn new_link_on(
    backend: Backend,
    suite: CipherSuite,
    window: u32,
    security: SecurityPolicy,
    lacp: bool,
    sci: Sci,
) -> TestLink {
    let mut policy = Policy::new(suite);
    policy.replay_window = window;
    let clear = ipc::ClearPolicy {
        lacp_in_clear: lacp,
        ..Default::default()
    };
    MemLink::with_backend(NAME, policy, sci, security, clear, backend)
}

fn link(security: SecurityPolicy, lacp: bool, sci: Sci) -> TestLink {
    new_link(CipherSuite::GcmAes256, 0, security, lacp, sci)
}

fn keys(suite: CipherSuite, b: u8) -> SaKeys {
    if suite.is_xpn() {
        SaKeys::xpn(
            &vec![b; suite.key_len()],
            macsec::secy::Ssci(7),
            macsec::secy::Salt([0x5a; 12]),
        )
    } else {
        SaKeys::new(&vec![b; suite.key_len()])
    }
}

/// A transmits with AN `an` from PN `pn` on key `b`; B receives it.
fn secure_an(a: &TestLink, b: &TestLink, suite: CipherSuite, an: u8, key: u8, pn: u64) {
    secure_an_on(Backend::Ring, a, b, suite, an, key, pn)
}

fn secure_an_on(backend: Backend, a: &TestLink, b: &TestLink, suite: CipherSuite, an: u8, key: u8, pn: u64) {
    let k = keys(suite, key);
    let sa = Arc::new(TxSa::new(backend, suite, A, an, &k, pn).unwrap());
    let rx = RxSecY::new(Policy::new(suite), backend)
        .build_sa(A, an, &k, pn)
        .unwrap();
    b.link.apply(Command::PutRxSa {
        sci: A,
        sa: Box::new(rx),
    });
    a.link.apply(Command::PutTxSa(sa));
    a.link.apply(Command::EnableTxSa(Some(an)));
}

fn secure(a: &TestLink, b: &TestLink) {
    secure_an(a, b, CipherSuite::GcmAes256, 0, 5, 1);
}

fn frame(ethertype: u16, len: usize, seq: u32) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&[0x00, 0x1d, 0xe5, 0xe9, 0xb1, 0xbf]);
    f[6..12].copy_from_slice(&[0x00, 0x1d, 0xe5, 0xe9, 0xaa, 0x39]);
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    for (i, b) in f[14..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_add(seq as u8);
    }
    if len >= 18 {
        f[14..18].copy_from_slice(&seq.to_be_bytes());
    }
    f
}

/// Polls `w` until a round receives nothing.
fn run_once(w: &mut WorkerLink<MemPorts>) {
    while w.poll() > 0 {}
}

/// Sends `frames` from the host side of `t` and returns what left its line port.
fn protect(t: &TestLink, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut w = WorkerLink::new(t.link.clone());
    for f in frames {
        t.wires.host_in.send(f.clone()).unwrap();
    }
    run_once(&mut w);
    t.wires.line_out.try_iter().collect()
}

/// Receives `frames` on the line side of `t` and returns what left its host port.
fn validate(t: &TestLink, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut w = WorkerLink::new(t.link.clone());
    for f in frames {
        t.wires.line_in.send(f.clone()).unwrap();
    }
    run_once(&mut w);
    t.wires.host_out.try_iter().collect()
}

#[test]
fn must_secure_drops_until_secured_then_protects() {
    let a = link(SecurityPolicy::MustSecure, false, A);
    let b = link(SecurityPolicy::MustSecure, false, B);
    assert!(protect(&a, &[frame(0x0800, 100, 0)]).is_empty());
    assert_eq!(a.link.snapshot().link.tx_drop_no_sa, 1);
    // An untagged frame arriving on the line is dropped and counted.
    assert!(validate(&b, &[frame(0x0800, 100, 0)]).is_empty());
    assert_eq!(b.link.snapshot().secy.in_pkts_no_tag, 1);
    secure(&a, &b);
    let out = protect(&a, &[frame(0x0800, 100, 1)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 100 + 32);
    assert_eq!(&out[0][12..14], &[0x88, 0xe5]);
    let back = validate(&b, &out);
    assert_eq!(back, vec![frame(0x0800, 100, 1)]);
    let snap = b.link.snapshot();
    assert_eq!(
        (snap.secy.in_pkts_ok, snap.sa.rx.len(), snap.sa.rx[0].next_pn),
        (1, 1, 2)
    );
    assert_eq!(a.link.snapshot().sa.tx[0].out_pkts_encrypted, 1);
}

#[test]
fn should_secure_passes_clear_only_until_secured() {
    let a = link(SecurityPolicy::ShouldSecure, false, A);
    let b = link(SecurityPolicy::ShouldSecure, false, B);
    assert_eq!(protect(&a, &[frame(0x0800, 100, 0)]), vec![frame(0x0800, 100, 0)]);
    assert_eq!(
        validate(&b, &[frame(0x0800, 100, 0)]),
        vec![frame(0x0800, 100, 0)]
    );
    let (sa, sb) = (a.link.snapshot(), b.link.snapshot());
    assert_eq!(
        (sa.link.tx_clear, sb.link.rx_clear, sb.secy.in_pkts_untagged),
        (1, 1, 1)
    );
    secure(&a, &b);
    // Receive SAs installed, but the peer has not sent a protected frame yet (MKA installs
    // receive before transmit): its last clear frames still pass.
    assert_eq!(validate(&b, &[frame(0x0800, 100, 1)]).len(), 1);
    assert_eq!(b.link.snapshot().link.rx_clear, 2);
    let p = protect(&a, &[frame(0x0800, 100, 2)]);
    assert_eq!(p[0].len(), 132);
    // In one burst: the first protected frame, then a clear one, which is refused from then on.
    let back = validate(&b, &[p[0].clone(), frame(0x0800, 100, 3)]);
    assert_eq!(back, vec![frame(0x0800, 100, 2)]);
    let s = b.link.snapshot();
    assert_eq!((s.secy.in_pkts_no_tag, s.link.rx_clear), (1, 2));
    // Until the receive SAs are gone again (the session went down).
    b.link.apply(Command::DeleteRxSa { sci: A, an: 0 });
    assert_eq!(validate(&b, &[frame(0x0800, 100, 4)]).len(), 1);
}

#[test]
fn lacp_in_clear_and_eapol_punt() {
    let a = link(SecurityPolicy::MustSecure, true, A);
    let b = link(SecurityPolicy::MustSecure, true, B);
    secure(&a, &b);
    assert_eq!(protect(&a, &[frame(0x8809, 100, 0)]), vec![frame(0x8809, 100, 0)]);
    assert_eq!(
        validate(&b, &[frame(0x8809, 100, 0)]),
        vec![frame(0x8809, 100, 0)]
    );
    assert!(validate(&b, &[frame(0x888e, 100, 0)]).is_empty());
    assert_eq!(b.link.snapshot().link.eapol_punted, 1);
    assert!(matches!(
        b.eapol.try_recv(),
        Ok(Event::EapolReceived { link, frame: f }) if link == NAME && f == frame(0x888e, 100, 0)
    ));
    // Without the exception LACP is protected like any frame, and refused in the clear.
    let c = link(SecurityPolicy::MustSecure, false, B);
    assert!(validate(&c, &[frame(0x8809, 100, 0)]).is_empty());
    let d = link(SecurityPolicy::MustSecure, false, A);
    secure(&d, &c);
    assert_eq!(protect(&d, &[frame(0x8809, 100, 0)])[0][12..14], [0x88, 0xe5]);
}

/// A burst of protected frames with clear ones between them: the release counts each run of
/// sealed frames at once, and every counter comes out as frame-by-frame counting gives.
#[test]
fn sealed_runs_count_as_their_frames() {
    let a = link(SecurityPolicy::MustSecure, true, A);
    let b = link(SecurityPolicy::MustSecure, true, B);
    secure(&a, &b);
    let kinds = [
        (0x0800, 64),
        (0x0800, 100),
        (0x8809, 100),
        (0x0800, 1500),
        (0x8809, 80),
        (0x0800, 64),
        (0x0800, 61),
    ];
    let frames: Vec<Vec<u8>> = kinds
        .iter()
        .enumerate()
        .map(|(i, &(t, l))| frame(t, l, i as u32))
        .collect();
    assert_eq!(protect(&a, &frames).len(), 7);
    let s = a.link.snapshot();
    // User Data: the frame less its addresses.
    let octets: u64 = [64, 100, 1500, 64, 61].iter().map(|l| l - 12).sum();
    assert_eq!(
        (
            s.secy.out_pkts_encrypted,
            s.secy.out_octets_encrypted,
            s.link.tx_clear
        ),
        (5, octets, 2)
    );
    assert_eq!(
        (s.sa.tx[0].out_pkts_encrypted, s.sa.tx[0].out_pkts_protected),
        (5, 0)
    );
    assert_eq!((s.secy.out_pkts_protected, s.secy.out_octets_protected), (0, 0));
}

/// An injected frame leaves the line port in order with the protected ones, with or without
/// traffic; live peers reach the punt path.
#[test]
fn inject_and_live_peers_ride_with_the_next_burst() {
    let a = link(SecurityPolicy::MustSecure, false, A);
    let b = link(SecurityPolicy::MustSecure, false, B);
    secure(&a, &b);
    a.link.apply(Command::Inject(frame(0x888e, 60, 9)));
    let out = protect(&a, &[frame(0x0800, 80, 1)]);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0], frame(0x888e, 60, 9));
    a.link.apply(Command::Inject(frame(0x888e, 60, 10)));
    assert_eq!(protect(&a, &[]), vec![frame(0x888e, 60, 10)]);
    assert_eq!(a.link.snapshot().link.eapol_injected, 2);
    b.link
        .apply(Command::SetLivePeers(vec![[0, 0x1d, 0xe5, 0xe9, 0xaa, 0x39]]));
    assert!(validate(&b, &[]).is_empty());
    let n = 300;
    let flood: Vec<Vec<u8>> = (0..n).map(|i| frame(0x888e, 60, i)).collect();
    validate(&b, &flood);
    // A live peer's burst (200, and 100/s more: a token or two while the test runs), not a
    // stranger's (40).
    let punted = b.eapol.try_iter().count();
    assert!((200..=205).contains(&punted), "{punted}");
}

#[test]
fn rekey_and_threshold_event() {
    let a = link(SecurityPolicy::MustSecure, false, A);
    let b = link(SecurityPolicy::MustSecure, false, B);
    secure_an(&a, &b, CipherSuite::GcmAes256, 1, 5, 0xbfff_fff0);
    let frames: Vec<Vec<u8>> = (0..32).map(|i| frame(0x0800, 64, i)).collect();
    assert_eq!(protect(&a, &frames).len(), 32);
    // The event comes with the burst whose PNs cross the threshold (the first: a link that
    // keeps up asks for a capped burst), and gives the next PN after that burst.
    let first = crate::worker::burst::BurstSize::default().next() as u64;
    assert!(first > 16);
    assert_eq!(
        a.control.try_iter().collect::<Vec<_>>(),
        vec![Event::PnThreshold {
            link: NAME.into(),
            an: 1,
            next_pn: 0xbfff_fff0 + first
        }]
    );
    assert_eq!(protect(&a, &frames).len(), 32);
    assert!(a.control.try_recv().is_err());
    a.link.apply(Command::DeleteTxSa(1));
    assert!(protect(&a, &frames[..1]).is_empty());
    // A cipher-suite change drops every SA.
    secure(&a, &b);
    b.link.apply(Command::SetPolicy {
        policy: Policy::new(CipherSuite::GcmAes128),
        security: SecurityPolicy::ShouldSecure,
        clear: ipc::ClearPolicy {
            lacp_in_clear: true,
            ..Default::default()
        },
    });
    let s = b.link.snapshot();
    assert!(s.sa.rx.is_empty());
    assert_eq!(
        s.sa.policy
            .map(|p| (p.cipher_suite, p.security_policy, p.clear.lacp_in_clear)),
        Some((CipherSuite::GcmAes128, SecurityPolicy::ShouldSecure, true))
    );
}

/// The SA state without the SAs' install times (which differ between two runs).
fn ageless(s: &ipc::SaState) -> ipc::SaState {
    let mut s = s.clone();
    s.tx.iter_mut().for_each(|t| t.installed_unix_ms = 0);
    s.rx.iter_mut().for_each(|r| r.installed_unix_ms = 0);
    s
}

/// A Tx SA runs out of PNs: every PN up to 2^32 - 1 is used once, in wire order, and the
/// frames past it are dropped, never sent twice with a PN or in the clear.
#[test]
fn pn_exhaustion_uses_each_pn_once_and_then_drops() {
    let a = link(SecurityPolicy::MustSecure, false, A);
    let b = link(SecurityPolicy::MustSecure, false, B);
    secure_an(&a, &b, CipherSuite::GcmAes256, 2, 5, 0xffff_ff00);
    let frames: Vec<Vec<u8>> = (0..300).map(|i| frame(0x0800, 64, i)).collect();
    let out = protect(&a, &frames);
    let pns: Vec<u32> = out
        .iter()
        .map(|f| u32::from_be_bytes([f[16], f[17], f[18], f[19]]))
        .collect();
    assert_eq!(pns, (0xffff_ff00..=0xffff_ffff).collect::<Vec<u32>>());
    let s = a.link.snapshot();
    assert_eq!((s.secy.out_pkts_encrypted, s.link.tx_drop_other), (256, 44));
    assert_eq!(validate(&b, &out), frames[..256].to_vec());
}

/// Runs `workers` threads over `links` until every input queue is empty and nothing is in flight.
fn run_workers(links: &[Arc<SharedLink<MemPorts>>], wires: &[&MemWires], workers: usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let mut ws: Vec<WorkerLink<MemPorts>> =
                links.iter().map(|l| WorkerLink::new(l.clone())).collect();
            let stop = stop.clone();
            std::thread::spawn(move || crate::worker::run(&mut ws, &stop, Duration::ZERO, None))
        })
        .collect();
    loop {
        let queued: usize = wires.iter().map(|w| w.host_in.len() + w.line_in.len()).sum();
        let flying: u64 = links
            .iter()
            .map(|l| {
                let (t, r) = l.in_flight();
                t + r
            })
            .sum();
        if queued == 0 && flying == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
}

/// Sizes that make bursts take very different times, so that a worker finishes a later burst
/// before an earlier one.
fn mixed(n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = match i % 97 {
                0..=59 => 64,
                60..=89 => 64 + (i as usize * 37) % 1400,
                _ => 9000,
            };
            frame(0x0800, len, i)
        })
        .collect()
}

/// Protect with N workers, then validate with N workers and replay window 0: the stream comes
/// out complete and in order, and every counter equals what one worker counts on the same input,
/// with a replayed frame, a forged one and an untagged one among the protected frames.
#[test]
fn n_workers_keep_order_and_count_as_one() {
    let input = mixed(6000);
    // One worker's run of GCM-AES-128: (line frames, host frames, A's and B's snapshots).
    type Run = (Vec<Vec<u8>>, Vec<Vec<u8>>, Snapshot, Snapshot);
    let mut reference: Option<Run> = None;
    // Ring seals and opens frame by frame; the multi-buffer backend a burst at a time.
    let backends: Vec<Backend> = [Backend::Ring, Backend::Mb]
        .into_iter()
        .filter(|b| b.is_available())
        .collect();
    for (workers, backend) in [1, 2, 4]
        .into_iter()
        .flat_map(|w| backends.iter().map(move |&b| (w, b)))
    {
        for suite in [CipherSuite::GcmAes128, CipherSuite::GcmAesXpn256] {
            let a = new_link_on(backend, suite, 0, SecurityPolicy::MustSecure, false, A);
            let b = new_link_on(backend, suite, 0, SecurityPolicy::MustSecure, false, B);
            // XPN from just below 2^32: PN recovery crosses the epoch in flight.
            let pn = if suite.is_xpn() { 0xffff_f000 } else { 1 };
            secure_an_on(backend, &a, &b, suite, 0, 5, pn);
            for f in &input {
                a.wires.host_in.send(f.clone()).unwrap();
            }
            run_workers(std::slice::from_ref(&a.link), &[&a.wires], workers);
            let line: Vec<Vec<u8>> = a.wires.line_out.try_iter().collect();
            assert_eq!(line.len(), input.len(), "{workers} workers, {suite}");
            let pns: Vec<u32> = line
                .iter()
                .map(|f| u32::from_be_bytes([f[16], f[17], f[18], f[19]]))
                .collect();
            let want: Vec<u32> = (0..input.len() as u64).map(|i| (pn + i) as u32).collect();
            let first_off = pns.iter().zip(&want).position(|(a, b)| a != b);
            assert_eq!(
                first_off, None,
                "PNs out of wire order, {workers} workers, {suite}"
            );
            // The line as B sees it: frame 100 again after frame 2000 (a replay), frame 3000
            // with a flipped bit, an untagged frame.
            let mut to_b = line.clone();
            to_b.insert(2001, line[100].clone());
            to_b[3001][40] ^= 1;
            to_b.insert(4000, frame(0x0800, 64, 0));
            for f in &to_b {
                b.wires.line_in.send(f.clone()).unwrap();
            }
            run_workers(std::slice::from_ref(&b.link), &[&b.wires], workers);
            let host: Vec<Vec<u8>> = b.wires.host_out.try_iter().collect();
            let mut expect = input.clone();
            expect.remove(3000);
            assert!(host == expect, "{workers} workers, {suite}: host side differs");
            let (sa, sb) = (a.link.snapshot(), b.link.snapshot());
            assert_eq!(
                (
                    sb.secy.in_pkts_ok,
                    sb.secy.in_pkts_late,
                    sb.secy.in_pkts_not_valid,
                    sb.secy.in_pkts_no_tag
                ),
                (input.len() as u64 - 1, 1, 1, 1),
                "{workers} workers, {suite}"
            );
            assert_eq!(sa.secy.out_pkts_encrypted, input.len() as u64);
            if suite == CipherSuite::GcmAes128 {
                match &reference {
                    None => reference = Some((line, host, sa, sb)),
                    Some((l, h, ra, rb)) => {
                        assert!(l == &line && h == &host);
                        assert_eq!((ra.secy, ra.link), (sa.secy, sa.link));
                        assert_eq!((rb.secy, rb.link), (sb.secy, sb.link));
                        assert_eq!(ageless(&ra.sa), ageless(&sa.sa));
                        assert_eq!(ageless(&rb.sa), ageless(&sb.sa));
                    }
                }
            }
        }
    }
}

/// Under traffic both ways through two links with two workers each, the SA moves to a new key
/// (receive first, then transmit, then the old one goes): nothing lost, nothing reordered,
/// nothing in the clear, and the threshold of the new SA raised exactly once.
#[test]
fn a_rekey_under_two_workers_loses_and_reorders_nothing() {
    let suite = CipherSuite::GcmAesXpn128;
    // 0x1000 PNs below XPN's threshold.
    const NEAR_THRESHOLD: u64 = 0xbfff_ffff_ffff_f000;
    let a = new_link(suite, 0, SecurityPolicy::MustSecure, false, A);
    let b = new_link(suite, 0, SecurityPolicy::MustSecure, false, B);
    secure_an(&a, &b, suite, 0, 1, 1);
    let stop = Arc::new(AtomicBool::new(false));
    let links = [a.link.clone(), b.link.clone()];
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let mut ws: Vec<WorkerLink<MemPorts>> =
                links.iter().map(|l| WorkerLink::new(l.clone())).collect();
            let stop = stop.clone();
            std::thread::spawn(move || crate::worker::run(&mut ws, &stop, Duration::ZERO, None))
        })
        .collect();
    // The line: A's output into B, by a thread of its own.
    let shuttle = {
        let (from, to, stop) = (a.wires.line_out.clone(), b.wires.line_in.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) || !from.is_empty() {
                while let Ok(f) = from.try_recv() {
                    assert_eq!(&f[12..14], &[0x88, 0xe5], "a clear frame on the line");
                    to.send(f).unwrap();
                    n += 1;
                }
                std::thread::yield_now();
            }
            n
        })
    };
    let input = mixed(30_000);
    for (i, f) in input.iter().enumerate() {
        a.wires.host_in.send(f.clone()).unwrap();
        match i {
            10_000 => {
                // The new key, receive first.
                let k = keys(suite, 2);
                let rx = RxSecY::new(Policy::new(suite), Backend::Ring)
                    .build_sa(A, 1, &k, NEAR_THRESHOLD)
                    .unwrap();
                b.link.apply(Command::PutRxSa {
                    sci: A,
                    sa: Box::new(rx),
                });
                let tx = TxSa::new(Backend::Ring, suite, A, 1, &k, NEAR_THRESHOLD).unwrap();
                a.link.apply(Command::PutTxSa(Arc::new(tx)));
            }
            15_000 => a.link.apply(Command::EnableTxSa(Some(1))),
            25_000 => {
                a.link.apply(Command::DeleteTxSa(0));
                b.link.apply(Command::DeleteRxSa { sci: A, an: 0 });
            }
            _ => {}
        }
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while b.wires.host_out.len() < input.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let carried = shuttle.join().unwrap();
    let host: Vec<Vec<u8>> = b.wires.host_out.try_iter().collect();
    assert_eq!((carried, host.len()), (input.len() as u64, input.len()));
    assert!(host == input, "frames reordered or changed");
    let sb = b.link.snapshot();
    assert_eq!(
        (
            sb.secy.in_pkts_ok,
            sb.secy.in_pkts_late,
            sb.secy.in_pkts_not_using_sa
        ),
        (input.len() as u64, 0, 0)
    );
    // The new SA started 0x1000 below the threshold and sent 15000 frames: crossed once,
    // reported once.
    let events: Vec<Event> = a.control.try_iter().collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(events[0], Event::PnThreshold { an: 1, .. }));
}

fn link_with(security: SecurityPolicy, clear: ipc::ClearPolicy, sci: Sci) -> TestLink {
    let mut policy = Policy::new(CipherSuite::GcmAes256);
    policy.replay_window = 0;
    MemLink::with_backend(NAME, policy, sci, security, clear, Backend::Ring)
}

/// `frame` with `tags` (TPID, VID) inserted after its addresses.
fn tagged(f: &[u8], tags: &[(u16, u16)]) -> Vec<u8> {
    let mut out = f[..12].to_vec();
    for &(tpid, vid) in tags {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&vid.to_be_bytes());
    }
    out.extend_from_slice(&f[12..]);
    out
}

/// vlan-tags-in-clear: up to N tags stay in front of the SecTAG, outside the ICV (a carrier may
/// rewrite them on the way), and are put back in front of the decrypted frame; tags past N are
/// encrypted with the rest.
#[test]
fn vlan_tags_stay_in_the_clear_outside_the_icv() {
    let two = ipc::ClearPolicy::new(false, 2, [], []).unwrap();
    let a = link_with(SecurityPolicy::MustSecure, two, A);
    let b = link_with(SecurityPolicy::MustSecure, two, B);
    secure(&a, &b);
    let plain = frame(0x0800, 100, 1);
    let qinq = tagged(&plain, &[(0x88a8, 100), (0x8100, 2)]);
    let dot1q = tagged(&plain, &[(0x8100, 2)]);
    let three = tagged(&plain, &[(0x88a8, 100), (0x8100, 2), (0x8100, 3)]);
    let sent = vec![qinq.clone(), dot1q.clone(), plain.clone(), three.clone()];
    let line = protect(&a, &sent);
    assert_eq!(line.len(), 4);
    for (l, (f, tags)) in line
        .iter()
        .zip([(&qinq, 2), (&dot1q, 1), (&plain, 0), (&three, 2)])
    {
        let t = 12 + 4 * tags;
        // Addresses and tags as sent, then the SecTAG (with SCI: 16 octets) and the ICV.
        assert_eq!(l[..t], f[..t]);
        assert_eq!(l[t..t + 2], [0x88, 0xe5]);
        assert_eq!(l.len(), f.len() + 16 + 16);
    }
    // The SecTAG's SL and the counters see the secured data only (not the clear tags).
    let s = a.link.snapshot();
    assert_eq!(s.secy.out_pkts_too_long + s.link.tx_drop_other, 0);
    assert_eq!(validate(&b, &line), sent);
    // A carrier rewrote the VLAN IDs: still valid, delivered with the new tags.
    let mut rewritten = protect(&a, std::slice::from_ref(&qinq)).remove(0);
    rewritten[14..16].copy_from_slice(&200u16.to_be_bytes());
    rewritten[18..20].copy_from_slice(&7u16.to_be_bytes());
    assert_eq!(
        validate(&b, &[rewritten]),
        vec![tagged(&plain, &[(0x88a8, 200), (0x8100, 7)])]
    );
    // The addresses are under the ICV.
    let mut forged = protect(&a, std::slice::from_ref(&dot1q)).remove(0);
    forged[11] ^= 1;
    assert!(validate(&b, &[forged]).is_empty());
    let s = b.link.snapshot();
    assert_eq!((s.secy.in_pkts_ok, s.secy.in_pkts_not_valid), (5, 1));

    // With one tag in the clear, a second tag is secured with the payload.
    let one = ipc::ClearPolicy::new(false, 1, [], []).unwrap();
    let c = link_with(SecurityPolicy::MustSecure, one, A);
    let d = link_with(SecurityPolicy::MustSecure, one, B);
    secure(&c, &d);
    let line = protect(&c, std::slice::from_ref(&qinq));
    assert_eq!(line[0][..16], qinq[..16]);
    assert_eq!(line[0][16..18], [0x88, 0xe5]);
    assert_eq!(validate(&d, &line), vec![qinq.clone()]);
    // A receiver without clear tags does not take the tagged MACsec frame (InPktsNoTag), nor
    // does one with fewer than the frame carries.
    let e = link_with(SecurityPolicy::MustSecure, Default::default(), B);
    secure(&c, &e);
    let line = protect(&c, std::slice::from_ref(&qinq));
    assert!(validate(&e, &line).is_empty());
    assert_eq!(e.link.snapshot().secy.in_pkts_no_tag, 1);
    let line2 = protect(&a, std::slice::from_ref(&qinq));
    assert!(validate(&d, &line2).is_empty());
    // A frame cut inside its tags is not taken for MACsec.
    assert!(validate(&b, &[line2[0][..19].to_vec()]).is_empty());
}

/// The frame with its tags in the clear must fit the line MTU too.
#[test]
fn clear_tags_count_toward_the_frame_length_limit() {
    let two = ipc::ClearPolicy::new(false, 2, [], []).unwrap();
    let mut policy = Policy::new(CipherSuite::GcmAes256);
    policy.max_frame_len = Some(1514 + 32);
    let a = MemLink::with_backend(NAME, policy, A, SecurityPolicy::MustSecure, two, Backend::Ring);
    let b = link_with(SecurityPolicy::MustSecure, two, B);
    secure(&a, &b);
    let fits = tagged(&frame(0x0800, 1514 - 8, 1), &[(0x88a8, 1), (0x8100, 2)]);
    let too_long = tagged(&frame(0x0800, 1514 - 7, 2), &[(0x88a8, 1), (0x8100, 2)]);
    let line = protect(&a, &[fits.clone(), too_long]);
    assert_eq!(line.len(), 1);
    assert_eq!(line[0].len(), 1514 + 32);
    assert_eq!(a.link.snapshot().secy.out_pkts_too_long, 1);
    assert_eq!(validate(&b, &line), vec![fits]);
}

/// The bypass lists: listed EtherTypes and destination MACs pass in the clear both ways, counted
/// apart, even under must-secure with no SA; nothing else does; EAPOL to our PAE group address
/// still goes to macsecd.
#[test]
fn bypass_lists_pass_listed_frames_in_the_clear() {
    let other_pae = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
    let clear = ipc::ClearPolicy::new(false, 1, [0x88cc], [other_pae]).unwrap();
    let a = link_with(SecurityPolicy::MustSecure, clear, A);
    let lldp = frame(0x88cc, 60, 1);
    let tagged_lldp = tagged(&lldp, &[(0x8100, 5)]);
    let mut eapol_other = frame(0x888e, 60, 2);
    eapol_other[..6].copy_from_slice(&other_pae);
    let mut eapol_ours = frame(0x888e, 60, 3);
    eapol_ours[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);
    let ip = frame(0x0800, 60, 4);
    let out = protect(
        &a,
        &[lldp.clone(), ip.clone(), eapol_other.clone(), tagged_lldp.clone()],
    );
    assert_eq!(out, vec![lldp.clone(), eapol_other.clone(), tagged_lldp.clone()]);
    let s = a.link.snapshot().link;
    assert_eq!((s.tx_bypass, s.tx_clear, s.tx_drop_no_sa), (3, 0, 1));
    let back = validate(
        &a,
        &[
            lldp.clone(),
            ip,
            eapol_other.clone(),
            eapol_ours.clone(),
            tagged_lldp.clone(),
        ],
    );
    assert_eq!(back, vec![lldp.clone(), eapol_other, tagged_lldp]);
    let s = a.link.snapshot();
    assert_eq!(
        (s.link.rx_bypass, s.link.rx_clear, s.link.eapol_punted),
        (3, 0, 1)
    );
    assert_eq!(s.secy.in_pkts_no_tag, 1);
    // Secured: the listed frames still pass in the clear, the rest is protected.
    let b = link_with(SecurityPolicy::MustSecure, clear, B);
    secure(&a, &b);
    let out = protect(&a, &[lldp.clone(), frame(0x0800, 60, 5)]);
    assert_eq!(out[0], lldp);
    assert_eq!(out[1][12..14], [0x88, 0xe5]);
    // Off by default: LLDP is protected like any frame.
    let c = link(SecurityPolicy::MustSecure, false, A);
    assert!(protect(&c, &[lldp]).is_empty());
}

/// The snapshot gives each SA's install time: a reinstall renews it, a delete drops it.
#[test]
fn sa_install_times() {
    let now = macsec::secy::unix_ms;
    let t0 = now();
    let a = link(SecurityPolicy::MustSecure, false, A);
    let b = link(SecurityPolicy::MustSecure, false, B);
    secure(&a, &b);
    let t1 = now();
    let (ta, rb) = (a.link.snapshot().sa, b.link.snapshot().sa);
    assert!((t0..=t1).contains(&ta.tx[0].installed_unix_ms));
    assert!((t0..=t1).contains(&rb.rx[0].installed_unix_ms));
    std::thread::sleep(Duration::from_millis(20));
    let t2 = now();
    secure_an(&a, &b, CipherSuite::GcmAes256, 0, 6, 1);
    let (ta2, rb2) = (a.link.snapshot().sa, b.link.snapshot().sa);
    assert!(ta2.tx[0].installed_unix_ms >= t2 && rb2.rx[0].installed_unix_ms >= t2);
    // Unchanged while nothing is installed.
    assert_eq!(a.link.snapshot().sa, ta2);
    a.link.apply(Command::DeleteTxSa(0));
    assert!(a.link.snapshot().sa.tx.is_empty());
}
