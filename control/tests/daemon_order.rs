//! macsecd (`control::daemon::Daemon`) against a dataplane control socket whose link records
//! every command in order, with an MKA engine as the peer on the other end of the "line".
//!
//! The invariant: an MKPDU never announces what the dataplane has not been told yet. When macsecd
//! says "I receive with key K" (SAK Use rx), the Rx SA for K is already installed; when it says
//! "I transmit with K" (SAK Use tx), K's Tx SA already encodes. The peer acts on the MKPDU at
//! once (the key server starts transmitting when every peer receives), so an MKPDU that runs ahead
//! of the install loses the peer's first frames on the new key (InPktsNotUsingSA; seen once in a
//! system-test `sak_rekey` run before the fix).
//!
//! Also here: a key server of another cipher suite, and reloads that change a policy, add or
//! remove an interface.

use control::config::Config;
use control::daemon::{Daemon, PpkEnv};
use dataplane::server::{LinkHandle, Server};
use dataplane::worker::ports::{Tap, TapLink};
use ipc::Client;
use ipc::{Event, LinkInfo, Request, Response, SaState};
use macsec::crypto::Backend;
use macsec::secy::{CipherSuite, Policy, Sci};
use mka::kay::{Mka, MkaConfig, MkaEvent};
use mka::pdu::MkaFrameRepr;
use mka::{Cak, Ckn};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LINK: &str = "TenGigE0/0/0/1";

/// The text of each log event, as macsecd prints it.
fn texts(events: &[control::log::LogEvent]) -> Vec<String> {
    events.iter().map(ToString::to_string).collect()
}
const OWN_SCI: u64 = 0x001d_e5e9_0001_0001;
const PEER_SCI: u64 = 0x001d_e5e9_0002_0001;
const CKN: &str = "1234abcd5678";
const CAK: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708";

/// Our configuration: policy P1 with GCM-AES-XPN-256, key-server-priority `priority`, `extra`
/// policy lines; the interface only when `interface`.
fn config(priority: u8, extra: &str, interface: bool) -> String {
    let mut c = format!(
        "key chain KC1\n macsec\n  key {CKN}\n   key-string {CAK} cryptographic-algorithm AES-128-CMAC\n   lifetime 00:00:00 01 January 2020 infinite\n!\n\
         macsec-policy P1\n cipher-suite GCM-AES-XPN-256\n key-server-priority {priority}\n{extra}!\n"
    );
    if interface {
        c.push_str(&format!(
            "interface {LINK}\n macsec psk-keychain KC1 policy P1\n!\n"
        ));
    }
    c
}

fn setups(text: &str) -> Vec<control::config::PortSetup> {
    Config::parse(text)
        .expect("config")
        .port_setups()
        .expect("setups")
}

/// What the fake dataplane saw: every MKPDU macsecd injected with the Rx SAs (SCI, AN) and the
/// encoding AN in force when it was handed to the line.
type Injected = (Vec<u8>, Vec<(u64, u8)>, Option<u8>);

#[derive(Default)]
struct Line {
    injected: Vec<Injected>,
    /// Every live peer set macsecd gave (`SetLivePeers`), in order.
    live: Vec<Vec<[u8; 6]>>,
}

/// macsecd on the fake dataplane, and the peer engine.
struct Bench {
    _dir: tempfile::TempDir,
    /// The dataplane's control socket.
    sock: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    line: Arc<Mutex<Line>>,
    /// What the fake link was given to send and the live peers it was told.
    taps: crossbeam_channel::Receiver<Tap>,
    events: crossbeam_channel::Sender<Event>,
    daemon: Daemon,
    peer: Mka,
    start: Instant,
    /// macsecd's log lines.
    log: Vec<String>,
    /// SAK rekeys the peer made (as key server).
    peer_rekeys: u32,
}

impl Bench {
    /// macsecd with configuration `text` against a peer of `peer_priority` distributing
    /// `peer_suite`, rekeying every `peer_rekey` as key server.
    fn new(text: &str, peer_priority: u8, peer_suite: CipherSuite, peer_rekey: Option<Duration>) -> Bench {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("dp.sock");
        // The dataplane: its control server with one link that hands over what it injects.
        let info = LinkInfo {
            interface: LINK.into(),
            host_port: "h".into(),
            line_port: "l".into(),
            tx_sci: OWN_SCI,
        };
        let policy = setups(&config(1, "", true))[0].policy(None);
        let (link, taps) = TapLink::new(LINK, Policy::new(CipherSuite::GcmAesXpn256), Sci(OWN_SCI));
        let handle = Arc::new(LinkHandle::new(info, policy, link));
        let stop = Arc::new(AtomicBool::new(false));
        let line = Arc::new(Mutex::new(Line::default()));
        let server = Server::new(vec![handle], Backend::Ring);
        let (events, ev_rx) = crossbeam_channel::unbounded::<Event>();
        server
            .serve(
                &sock,
                Default::default(),
                crossbeam_channel::never(),
                ev_rx,
                stop.clone(),
            )
            .expect("serve");

        let daemon = Daemon::connect(&sock, setups(text), &PpkEnv::default()).expect("macsecd connects");
        let mut cfg = MkaConfig::new(Sci(PEER_SCI), peer_suite);
        cfg.key_server_priority = peer_priority;
        cfg.sak_rekey_interval = peer_rekey;
        let keys = vec![(Ckn::from_hex(CKN).expect("ckn"), Cak::from_hex(CAK).expect("cak"))];
        let peer = Mka::new(cfg, keys, Duration::ZERO).expect("peer");
        Bench {
            _dir: dir,
            sock,
            stop,
            line,
            taps,
            events,
            daemon,
            peer,
            start: Instant::now(),
            log: Vec::new(),
            peer_rekeys: 0,
        }
    }

    /// Runs macsecd and the peer until `done` or `limit`; returns whether `done` came true.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Bench) -> bool) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if done(self) {
                return true;
            }
            let lines = self.daemon.turn(Duration::from_millis(2)).expect("turn");
            self.log.extend(lines.iter().map(ToString::to_string));
            let now = self.start.elapsed();
            while let Ok(t) = self.taps.try_recv() {
                match t {
                    Tap::Injected { frame, sa } => {
                        let rx = sa
                            .rx
                            .iter()
                            .filter(|r| r.enabled)
                            .map(|r| (r.sci, r.an))
                            .collect();
                        self.peer.handle_mkpdu(now, &frame);
                        self.line
                            .lock()
                            .expect("line")
                            .injected
                            .push((frame, rx, sa.encoding_an));
                    }
                    Tap::LivePeers(macs) => self.line.lock().expect("line").live.push(macs),
                }
            }
            if self.peer.poll_timeout().is_some_and(|t| t <= now) {
                self.peer.handle_timeout(now);
            }
            let mut f = Vec::new();
            while self.peer.poll_transmit(&mut f).is_some() {
                self.events
                    .send(Event::EapolReceived {
                        link: LINK.into(),
                        frame: core::mem::take(&mut f),
                    })
                    .expect("event");
            }
            while self.peer.poll_sa_command().is_some() {}
            while let Some(e) = self.peer.poll_event() {
                if matches!(e, MkaEvent::SakGenerated { rekey: true, .. }) {
                    self.peer_rekeys += 1;
                }
            }
        }
        done(self)
    }

    fn rekeys(&self) -> u32 {
        self.log
            .iter()
            .filter(|l| l.contains("%L2-MKA-6-SAK_REKEY"))
            .count() as u32
            + self.peer_rekeys
    }

    fn secured(&self) -> bool {
        self.daemon
            .show_data()
            .sessions
            .iter()
            .any(|s| s.status == "Secured" && s.peers > 0)
    }

    fn detail(&self) -> String {
        control::show::render_mka_session_detail(&self.daemon.show_data().sessions)
    }

    /// The link's SA state, asked of the dataplane (after every command macsecd gave it).
    fn sa(&self) -> SaState {
        let mut c = Client::connect(&self.sock).expect("dataplane");
        match c
            .request(&Request::ReadSaState { link: LINK.into() })
            .expect("read")
        {
            Response::SaState(sa) => sa,
            other => panic!("{other:?}"),
        }
    }

    fn injected(&self) -> Vec<Injected> {
        self.line.lock().expect("line").injected.clone()
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Checks every injected MKPDU against the SA state in force when it left.
fn check(injected: &[Injected]) -> (usize, usize) {
    let (mut rx_claims, mut tx_claims) = (0, 0);
    for (n, (frame, rx, encoding)) in injected.iter().enumerate() {
        let repr = MkaFrameRepr::parse(frame).expect("our MKPDU parses");
        let Some(u) = repr.mkpdu.sak_use() else { continue };
        for k in [u.latest(), u.old()]
            .into_iter()
            .flatten()
            .filter(|k| !k.ki.is_null())
        {
            if k.rx {
                rx_claims += 1;
                assert!(
                    rx.contains(&(PEER_SCI, k.an)),
                    "MKPDU {n} says it receives on AN {} before the Rx SA is installed (installed: {rx:?})",
                    k.an
                );
            }
            if k.tx && Some(k.ki) == u.latest().map(|l| l.ki) {
                tx_claims += 1;
                assert_eq!(
                    *encoding,
                    Some(k.an),
                    "MKPDU {n} says it transmits on AN {} before that Tx SA encodes",
                    k.an
                );
            }
        }
    }
    (rx_claims, tx_claims)
}

fn announces_only_installed_sas(own_priority: u8, peer_priority: u8) {
    let mut b = Bench::new(
        &config(own_priority, " sak-rekey-interval seconds 1\n", true),
        peer_priority,
        CipherSuite::GcmAesXpn256,
        Some(Duration::from_secs(1)),
    );
    assert!(
        b.run_until(Duration::from_secs(6), |b| b.rekeys() >= 3),
        "the key server rekeyed {} times in 6 s",
        b.rekeys()
    );
    let (rx, tx) = check(&b.injected());
    assert!(rx > 0 && tx > 0, "the MKPDUs claimed rx {rx} and tx {tx} times");
}

#[test]
fn macsecd_tells_the_dataplane_its_peers_once_per_change() {
    let mut b = Bench::new(&config(1, "", true), 20, CipherSuite::GcmAesXpn256, None);
    assert!(
        b.run_until(Duration::from_secs(6), Bench::secured),
        "{}",
        b.detail()
    );
    b.run_until(Duration::from_millis(300), |_| false);
    // At start none (a previous macsecd's set is cleared), then the peer, once.
    let peer = Sci(PEER_SCI).mac();
    assert_eq!(b.line.lock().expect("line").live, vec![vec![], vec![peer]]);
    // The detail view of a secured session as key server, from the running daemon.
    let d = b.detail();
    for line in [
        "Status: Secured - Secured MKA Session with MACsec\n\n",
        "Local Tx-SSCI                  : 2\n",
        "Key Server                     : YES\n",
        "MKA Cipher Suite               : AES-128-CMAC\n",
        "Configured MACSec Cipher Suite : GCM-AES-XPN-256\n",
        "Latest SAK Status              : Rx & Tx\n",
        "Old SAK Status                 : FIRST-SAK\n",
        "Old SAK KI (KN)                : FIRST-SAK (0)\n",
        "MKA Policy Name                : P1\n",
        "Key Server Priority            : 1\n",
        "SAK Cipher Suite               : 0080C20001000004 (GCM-AES-XPN-256)\n",
        "# of MACsec Capable Live Peers      : 1\n",
        "# of MACsec Capable Live Peers Responded : 1\n",
        "  Peer Count       : 1\n",
        "  Peer CAK         : Match\n",
    ] {
        assert!(d.contains(line), "{line:?} in\n{d}");
    }
    assert!(!d.contains("Why Not Secured"), "{d}");
    if std::env::var_os("SHOW_DETAIL").is_some() {
        println!("{d}");
    }
    assert!(!d.contains(CAK), "no CAK in\n{d}");
}

#[test]
fn an_mkpdu_announces_only_installed_sas_as_key_server() {
    announces_only_installed_sas(1, 20);
}

#[test]
fn an_mkpdu_announces_only_installed_sas_as_member() {
    announces_only_installed_sas(20, 1);
}

/// A key server distributing another cipher suite than the policy's: macsecd refuses its SAKs,
/// logs why once, installs nothing and shows why in the session detail. (Before, it handed the
/// dataplane a key of the wrong length, took the refusal for a lost dataplane and reconnected in
/// a loop.)
#[test]
fn a_key_server_with_another_cipher_suite_is_refused_and_said() {
    let mut b = Bench::new(&config(20, "", true), 1, CipherSuite::GcmAes128, None);
    b.run_until(Duration::from_secs(3), |_| false);
    let said: Vec<&String> = b
        .log
        .iter()
        .filter(|l| l.contains("CIPHER_SUITE_MISMATCH"))
        .collect();
    assert_eq!(
        said,
        [&format!("%L2-MKA-3-CIPHER_SUITE_MISMATCH : ({LINK}) the key server distributes GCM-AES-128 SAKs, the policy's cipher-suite is GCM-AES-XPN-256: SAK not used, CKN:{}", CKN.to_uppercase())]
    );
    let detail = b.detail();
    assert!(
        detail.contains("Status: Active - Marked Peer as Live (Waiting for SAK generation/distribution)\nWhy Not Secured                : cipher suite mismatch: the key server distributes GCM-AES-128, the policy's cipher-suite is GCM-AES-XPN-256\n"),
        "{detail}"
    );
    assert!(detail.contains("SAK Refused                    : the key server distributes GCM-AES-128, the policy's cipher-suite is GCM-AES-XPN-256\n"), "{detail}");
    let row = &b.daemon.show_data().sessions[0];
    assert_eq!(
        (row.status.as_str(), row.not_secured_code.as_deref()),
        ("Pending", Some("cipher-suite-mismatch"))
    );
    // The reason is logged once it has held for REASON_HOLD, and only once.
    b.run_until(Duration::from_secs(3), |_| false);
    let why: Vec<&String> = b
        .log
        .iter()
        .filter(|l| l.contains("SESSION_NOT_SECURED"))
        .collect();
    assert_eq!(
        why,
        [&format!("%L2-MKA-5-SESSION_NOT_SECURED : ({LINK}) MKA session not secured: cipher suite mismatch: the key server distributes GCM-AES-128, the policy's cipher-suite is GCM-AES-XPN-256")],
        "{:#?}",
        b.log
    );
    assert!(
        b.injected()
            .iter()
            .all(|(_, rx, enc)| rx.is_empty() && enc.is_none()),
        "no SA was installed"
    );
}

/// A reload that changes the policy restarts the interface's MKA session with it (a new MI), the
/// dataplane takes the new policy at once, and the SAs in use keep carrying traffic until the new
/// session secures. As a member, the new session receives a fresh SAK once it is live; as key
/// server, it distributes a new SAK; either way the old SAs are deleted a grace period after the
/// new key carries the traffic.
fn policy_change_restarts_the_session(own_priority: u8, peer_priority: u8) -> Bench {
    // No rekeys: the old session's SAs are not overwritten by the key server's next SAKs.
    let mut b = Bench::new(
        &config(own_priority, "", true),
        peer_priority,
        CipherSuite::GcmAesXpn256,
        None,
    );
    assert!(b.run_until(Duration::from_secs(5), Bench::secured), "secured");
    let mi = b.daemon.ports[0].participants()[0].mi;
    let before = b.sa();
    assert_eq!(
        (
            before.tx.len(),
            before.rx.len(),
            before.policy.map(|p| p.replay_window)
        ),
        (1, 1, Some(64))
    );

    let lines = b
        .daemon
        .reload(setups(&config(own_priority, " window-size 128\n", true)))
        .expect("reload");
    assert_eq!(
        texts(&lines),
        [format!(
            "macsecd: reload: the policy of {LINK} changed: its MKA session restarts with it"
        )]
    );
    let after = b.sa();
    assert_eq!(
        after.policy.map(|p| p.replay_window),
        Some(128),
        "the dataplane has the new policy"
    );
    assert_eq!(
        (after.tx, after.rx, after.encoding_an),
        (before.tx, before.rx, before.encoding_an),
        "the SAs in use stay"
    );

    assert!(
        b.run_until(Duration::from_secs(5), Bench::secured),
        "secured again"
    );
    assert_ne!(
        b.daemon.ports[0].participants()[0].mi,
        mi,
        "a new session (new MI)"
    );
    b
}

#[test]
fn a_policy_change_restarts_the_session_as_member_with_a_fresh_sak() {
    let mut b = policy_change_restarts_the_session(20, 1);
    // The key server gives the new member (a new MI) a fresh SAK once it is live, never the SAK
    // in use (a restarted peer that forgot its Tx PN would reuse PNs under it); the SAs in use
    // carry the traffic until then.
    let received: Vec<&String> = b
        .log
        .iter()
        .filter(|l| l.starts_with("%L2-MKA-6-SAK_RECEIVED"))
        .collect();
    assert_eq!(received.len(), 2, "{received:#?}");
    assert!(
        received[0].contains("/1 AN 0,") && received[1].contains("/2 AN 1,"),
        "{received:#?}"
    );
    assert!(b.log.iter().any(|l| l == &format!("macsecd: ({LINK}) 1 Tx and 1 Rx SAs already in the dataplane keep traffic flowing until this session secures")), "{:#?}", b.log);
    assert!(
        !b.log.iter().any(|l| l.contains("already holds SAK")),
        "{:#?}",
        b.log
    );
    // The previous session's SAs go a grace period (6 s) after the new key carries the traffic.
    assert!(
        b.run_until(Duration::from_secs(10), |b| b.sa().rx.iter().all(|r| r.an == 1)
            && b.sa().encoding_an == Some(1)),
        "{:?}",
        b.sa()
    );
    assert!(
        b.log
            .iter()
            .any(|l| l == &format!("macsecd: ({LINK}) 1 Tx and 1 Rx SAs of the previous session deleted")),
        "{:#?}",
        b.log
    );
    check(&b.injected());
}

#[test]
fn a_policy_change_restarts_the_session_as_key_server_retiring_the_old_sas() {
    let mut b = policy_change_restarts_the_session(1, 20);
    let retired = format!("macsecd: ({LINK}) 1 Tx and 1 Rx SAs of the previous session deleted");
    assert!(
        !b.log.contains(&retired),
        "the old SAs stay while the new session starts transmitting"
    );
    assert!(
        b.run_until(Duration::from_secs(8), |b| b.log.contains(&retired)),
        "the old SAs go after the grace period: {:#?}",
        b.log
    );
    let sa = b.sa();
    assert_eq!(
        (sa.tx.len(), sa.rx.len()),
        (1, 1),
        "only the new session's SAs: {sa:?}"
    );
    assert_eq!(
        (sa.encoding_an, sa.rx[0].an),
        (Some(1), 1),
        "the new key is on the next AN"
    );
    assert!(b.secured());
    // A start and a restart pass through "no peer heard" and "negotiating" too briefly to be said.
    assert!(
        !b.log.iter().any(|l| l.contains("SESSION_NOT_SECURED")),
        "{:#?}",
        b.log
    );
    check(&b.injected());
}

/// An interface added by a reload starts its session; one removed stops it and its SAs go.
#[test]
fn a_reload_adds_and_removes_interfaces() {
    let mut b = Bench::new(&config(20, "", false), 1, CipherSuite::GcmAesXpn256, None);
    assert!(b.daemon.ports.is_empty());
    let lines = b.daemon.reload(setups(&config(20, "", true))).expect("reload");
    assert_eq!(
        texts(&lines),
        [format!(
            "macsecd: reload: interface {LINK} added: its MKA session starts"
        )]
    );
    assert!(b.run_until(Duration::from_secs(5), Bench::secured), "secured");
    let sa = b.sa();
    assert_eq!((sa.tx.len(), sa.rx.len()), (1, 1));

    let lines = b.daemon.reload(setups(&config(20, "", false))).expect("reload");
    assert_eq!(
        texts(&lines),
        [format!(
            "macsecd: reload: interface {LINK} removed: its MKA session stopped, 1 Tx and 1 Rx SAs deleted"
        )]
    );
    assert!(b.daemon.ports.is_empty());
    let sa = b.sa();
    assert_eq!((sa.tx.len(), sa.rx.len(), sa.encoding_an), (0, 0, None));
}

/// A new cipher suite at reload: the dataplane drops the old suite's SAs with the policy (they
/// cannot carry the new suite), the new session runs on the new suite, and macsecd does not trip
/// over the SAs that are gone. Here the peer keeps distributing the old suite: refused and said.
#[test]
fn a_cipher_suite_change_at_reload_starts_from_no_sas() {
    let mut b = Bench::new(&config(20, "", true), 1, CipherSuite::GcmAesXpn256, None);
    assert!(b.run_until(Duration::from_secs(5), Bench::secured), "secured");
    let text = config(20, "", true).replace("cipher-suite GCM-AES-XPN-256", "cipher-suite GCM-AES-256");
    let lines = b.daemon.reload(setups(&text)).expect("reload");
    assert_eq!(
        texts(&lines),
        [format!(
            "macsecd: reload: the policy of {LINK} changed: its MKA session restarts with it"
        )]
    );
    let sa = b.sa();
    assert_eq!(
        (sa.tx.len(), sa.rx.len(), sa.policy.map(|p| p.cipher_suite)),
        (0, 0, Some(CipherSuite::GcmAes256))
    );
    let mark = b.log.len();
    b.run_until(Duration::from_secs(3), |_| false);
    assert!(!b.secured());
    assert!(
        !b.log[mark..]
            .iter()
            .any(|l| l.contains("already in the dataplane")),
        "nothing inherited: {:#?}",
        &b.log[mark..]
    );
    assert!(b.log.iter().any(|l| l.starts_with("%L2-MKA-3-CIPHER_SUITE_MISMATCH") && l.contains("the key server distributes GCM-AES-XPN-256 SAKs, the policy's cipher-suite is GCM-AES-256")), "{:#?}", b.log);
}

/// The key server chose less confidentiality than our policy (offset 0 against our 30): a policy
/// reload keeps the link on the offset its SAs run with, so the SAs in use keep validating, and
/// the adopted Tx SA keeps it too.
#[test]
fn a_reload_keeps_the_confidentiality_offset_the_sas_run_with() {
    let text = |extra: &str| config(20, &format!(" conf-offset CONF-OFFSET-30\n{extra}"), true);
    let mut b = Bench::new(&text(""), 1, CipherSuite::GcmAesXpn256, None);
    assert!(b.run_until(Duration::from_secs(5), Bench::secured), "secured");
    let offset = |b: &Bench| b.sa().policy.map(|p| (p.confidentiality, p.conf_offset));
    assert_eq!(offset(&b), Some((true, 0)), "the key server's offset");
    b.daemon
        .reload(setups(&text(" window-size 128\n")))
        .expect("reload");
    assert_eq!(
        offset(&b),
        Some((true, 0)),
        "kept while the SAs in use carry the traffic"
    );
    assert!(
        b.run_until(Duration::from_secs(5), Bench::secured),
        "secured again"
    );
    assert!(
        b.log
            .iter()
            .any(|l| l.starts_with("%L2-MKA-6-SAK_RECEIVED") && l.contains("/2 AN 1,")),
        "a fresh SAK: {:#?}",
        b.log
    );
    assert_eq!(
        offset(&b),
        Some((true, 0)),
        "the fresh SAK's offset, as the key server chose it"
    );
    assert_eq!(b.sa().policy.map(|p| p.replay_window), Some(128));
}

/// An interface the dataplane does not have is logged and skipped; the others run.
#[test]
fn an_interface_the_dataplane_lacks_is_skipped() {
    let text = format!(
        "{}interface TenGigE0/0/0/9\n macsec psk-keychain KC1 policy P1\n!\n",
        config(20, "", true)
    );
    let mut b = Bench::new(&text, 1, CipherSuite::GcmAesXpn256, None);
    assert!(b.run_until(Duration::from_secs(5), Bench::secured), "secured");
    assert_eq!(
        b.log[0],
        "macsecd: interface TenGigE0/0/0/9 is not a link of the dataplane: not started"
    );
    assert_eq!(b.daemon.ports.len(), 1);
}
