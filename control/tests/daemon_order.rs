//! macsecd (`control::daemon::Daemon`) against a dataplane control socket whose worker records
//! every command in order, with an MKA engine as the peer on the other end of the "line".
//!
//! The invariant: an MKPDU never announces what the dataplane has not been told yet. When macsecd
//! says "I receive with key K" (SAK Use rx), the Rx SA for K is already installed; when it says
//! "I transmit with K" (SAK Use tx), K's Tx SA already encodes. The peer acts on the MKPDU at
//! once (the key server starts transmitting when every peer receives), so an MKPDU that runs ahead
//! of the install loses the peer's first frames on the new key (InPktsNotUsingSA; seen once in a
//! `systest.sh sak_rekey` run before the fix).

use control::config::Config;
use control::daemon::{Daemon, PpkEnv};
use control::mka::{Cak, Ckn};
use control::mka::pdu::MkaFrameRepr;
use control::mka::kay::{Mka, MkaConfig, MkaEvent};
use dataplane::crypto::Backend;
use dataplane::ipc::{Event, LinkInfo, SecurityPolicy};
use dataplane::secy::{CipherSuite, Policy, Sci};
use dataplane::server::{LinkHandle, Server};
use dataplane::worker::{Command, LinkState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LINK: &str = "TenGigE0/0/0/1";
const OWN_SCI: u64 = 0x001d_e5e9_0001_0001;
const PEER_SCI: u64 = 0x001d_e5e9_0002_0001;
const CKN: &str = "1234abcd5678";
const CAK: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708";

fn config(priority: u8) -> String {
    format!(
        "key chain KC1\n macsec\n  key {CKN}\n   key-string {CAK} cryptographic-algorithm AES-128-CMAC\n   lifetime 00:00:00 01 January 2020 infinite\n!\n\
         macsec-policy P1\n cipher-suite GCM-AES-XPN-256\n key-server-priority {priority}\n sak-rekey-interval seconds 1\n!\n\
         interface {LINK}\n macsec psk-keychain KC1 policy P1\n!\n"
    )
}

/// What the fake dataplane saw, in order: every MKPDU macsecd injected, with the SA state in
/// force when it was handed to the line.
#[derive(Default)]
struct Line {
    /// (frame, Rx SAs installed as (SCI, AN), encoding AN)
    injected: Vec<(Vec<u8>, Vec<(u64, u8)>, Option<u8>)>,
}

/// What a run produced.
struct Outcome {
    /// Every MKPDU macsecd injected, with the Rx SAs (SCI, AN) installed and the encoding AN when
    /// it went out.
    injected: Vec<(Vec<u8>, Vec<(u64, u8)>, Option<u8>)>,
    /// SAK rekeys seen (either key server).
    rekeys: u32,
    /// macsecd's log lines.
    log: Vec<String>,
    /// `show macsec mka session detail` at the end.
    detail: String,
}

/// macsecd (policy GCM-AES-XPN-256, key-server-priority `own_priority`) against an MKA peer with
/// `peer_priority` distributing `peer_suite`, for up to `secs` seconds or 3 rekeys.
fn run(own_priority: u8, peer_priority: u8, peer_suite: CipherSuite, secs: u64) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("dp.sock");
    // The dataplane: its control server with one link whose worker applies and records commands.
    let (cmd_tx, cmd_rx) = crossbeam_channel::bounded::<Command>(64);
    let info = LinkInfo { interface: LINK.into(), host_port: "h".into(), line_port: "l".into(), tx_sci: OWN_SCI };
    let setups = Config::parse(&config(own_priority)).expect("config").port_setups().expect("setups");
    let handle = Arc::new(LinkHandle::new(info, setups[0].policy(None), cmd_tx));
    let stop = Arc::new(AtomicBool::new(false));
    let line = Arc::new(Mutex::new(Line::default()));
    let (to_peer_tx, to_peer_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let worker = {
        let (stop, line) = (stop.clone(), line.clone());
        std::thread::spawn(move || {
            let mut st = LinkState::new(LINK, Policy::new(CipherSuite::GcmAesXpn256), Sci(OWN_SCI), Backend::Ring, SecurityPolicy::MustSecure, false);
            while !stop.load(Ordering::Relaxed) {
                match cmd_rx.recv_timeout(Duration::from_millis(5)) {
                    Ok(Command::Inject(frame)) => {
                        let sa = st.snapshot().sa;
                        let rx = sa.rx.iter().filter(|r| r.enabled).map(|r| (r.sci, r.an)).collect();
                        line.lock().expect("line").injected.push((frame.clone(), rx, sa.encoding_an));
                        let _ = to_peer_tx.send(frame);
                    }
                    Ok(c) => st.apply(c),
                    Err(_) => {}
                }
            }
        })
    };
    let server = Server::new(vec![handle], Backend::Ring);
    let (ev_tx, ev_rx) = crossbeam_channel::unbounded::<Event>();
    server.serve(&sock, ev_rx, stop.clone()).expect("serve");

    let mut daemon = Daemon::connect(&sock, setups, &PpkEnv::default()).expect("macsecd connects");
    let mut cfg = MkaConfig::new(Sci(PEER_SCI), peer_suite);
    cfg.key_server_priority = peer_priority;
    cfg.sak_rekey_interval = Some(Duration::from_secs(1));
    let keys = vec![(Ckn::from_hex(CKN).expect("ckn"), Cak::from_hex(CAK).expect("cak"))];
    let start = Instant::now();
    let mut peer = Mka::new(cfg, keys, Duration::ZERO).expect("peer");
    // Until the daemon's key server has rekeyed a few times (or the peer's has).
    let (mut rekeys, mut log) = (0, Vec::new());
    while start.elapsed() < Duration::from_secs(secs) && rekeys < 3 {
        for line in daemon.turn(Duration::from_millis(2)).expect("turn") {
            if line.contains("%L2-MKA-6-SAK_REKEY") {
                rekeys += 1;
            }
            log.push(line);
        }
        let now = start.elapsed();
        while let Ok(f) = to_peer_rx.try_recv() {
            peer.handle_mkpdu(now, &f);
        }
        if peer.poll_timeout().is_some_and(|t| t <= now) {
            peer.handle_timeout(now);
        }
        while let Some(f) = peer.poll_transmit() {
            ev_tx.send(Event::EapolReceived { link: LINK.into(), frame: f }).expect("event");
        }
        while peer.poll_sa_command().is_some() {}
        while let Some(e) = peer.poll_event() {
            if matches!(e, MkaEvent::SakGenerated { rekey: true, .. }) {
                rekeys += 1;
            }
        }
    }
    let detail = control::show::render_mka_session_detail(&daemon.show_data().sessions);
    stop.store(true, Ordering::Relaxed);
    let _ = worker.join();
    let injected = std::mem::take(&mut line.lock().expect("line").injected);
    Outcome { injected, rekeys, log, detail }
}

/// Checks every injected MKPDU against the SA state in force when it left.
fn check(injected: &[(Vec<u8>, Vec<(u64, u8)>, Option<u8>)]) -> (usize, usize) {
    let (mut rx_claims, mut tx_claims) = (0, 0);
    for (n, (frame, rx, encoding)) in injected.iter().enumerate() {
        let repr = MkaFrameRepr::parse(frame).expect("our MKPDU parses");
        let Some(u) = repr.mkpdu.sak_use() else { continue };
        for k in [u.latest(), u.old()].into_iter().flatten().filter(|k| !k.ki.is_null()) {
            if k.rx {
                rx_claims += 1;
                assert!(rx.contains(&(PEER_SCI, k.an)), "MKPDU {n} says it receives on AN {} before the Rx SA is installed (installed: {rx:?})", k.an);
            }
            if k.tx && Some(k.ki) == u.latest().map(|l| l.ki) {
                tx_claims += 1;
                assert_eq!(*encoding, Some(k.an), "MKPDU {n} says it transmits on AN {} before that Tx SA encodes", k.an);
            }
        }
    }
    (rx_claims, tx_claims)
}

#[test]
fn an_mkpdu_announces_only_installed_sas_as_key_server() {
    let o = run(1, 20, CipherSuite::GcmAesXpn256, 5);
    assert!(o.rekeys >= 3, "the key server rekeyed {} times in 5 s", o.rekeys);
    let (rx, tx) = check(&o.injected);
    assert!(rx > 0 && tx > 0, "the MKPDUs claimed rx {rx} and tx {tx} times");
}

#[test]
fn an_mkpdu_announces_only_installed_sas_as_member() {
    let o = run(20, 1, CipherSuite::GcmAesXpn256, 5);
    assert!(o.rekeys >= 3, "the key server rekeyed {} times in 5 s", o.rekeys);
    let (rx, tx) = check(&o.injected);
    assert!(rx > 0 && tx > 0, "the MKPDUs claimed rx {rx} and tx {tx} times");
}

/// A key server distributing another cipher suite than the policy's: macsecd refuses its SAKs,
/// logs why once, installs nothing and shows why in the session detail. (Before, it handed the
/// dataplane a key of the wrong length, took the refusal for a lost dataplane and reconnected in
/// a loop.)
#[test]
fn a_key_server_with_another_cipher_suite_is_refused_and_said() {
    let o = run(20, 1, CipherSuite::GcmAes128, 3);
    let said: Vec<&String> = o.log.iter().filter(|l| l.contains("CIPHER_SUITE_MISMATCH")).collect();
    assert_eq!(
        said,
        [&format!("%L2-MKA-3-CIPHER_SUITE_MISMATCH : ({LINK}) the key server distributes GCM-AES-128 SAKs, the policy's cipher-suite is GCM-AES-XPN-256: SAK not used, CKN:{}", CKN.to_uppercase())]
    );
    assert!(o.detail.contains("Status                     : Pending\n"), "{}", o.detail);
    assert!(o.detail.contains("SAK Refused                : the key server distributes GCM-AES-128, the policy's cipher-suite is GCM-AES-XPN-256\n"), "{}", o.detail);
    assert!(o.injected.iter().all(|(_, rx, enc)| rx.is_empty() && enc.is_none()), "no SA was installed");
}
