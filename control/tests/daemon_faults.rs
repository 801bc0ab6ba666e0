//! macsecd (`control::daemon::Daemon`) when the dataplane misbehaves: the dataplane's control
//! server runs in process with one fake link per link (`dataplane::worker::ports::TapLink`: the
//! real link on in-memory ports, handing over what it injects), each link has an MKA engine as its
//! peer on the other end of the "line".
//!
//! - An SA a previous macsecd left with the right Key Identifier but another key is replaced,
//!   not adopted (the key check value the dataplane reports proves the key).
//! - An error reply to one request (a link that stopped refuses everything) affects only
//!   that port: it is logged and that port's session restarts; the other port stays secured and
//!   the connection is kept.

use control::config::Config;
use control::daemon::{Daemon, PpkEnv};
use dataplane::server::{LinkHandle, Server};
use dataplane::worker::ports::{Tap, TapLink};
use ipc::{Client, Event, KeyMsg, LinkInfo, Request, Response, SaState};
use macsec::crypto::Backend;
use macsec::secy::{CipherSuite, Policy, Sci};
use mka::kay::{Mka, MkaConfig, SaCommand};
use mka::{Cak, Ckn, Ki};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LINKS: [&str; 2] = ["TenGigE0/0/0/1", "TenGigE0/0/0/2"];
const OWN_SCI: [u64; 2] = [0x001d_e5e9_0001_0001, 0x001d_e5e9_0001_0002];
const PEER_SCI: [u64; 2] = [0x001d_e5e9_0002_0001, 0x001d_e5e9_0002_0002];
const CKN: &str = "1234abcd5678";
const CAK: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708";

/// macsecd as a member (priority 20) on `n` interfaces, GCM-AES-XPN-256.
fn config(n: usize) -> String {
    let mut c = format!(
        "key chain KC1\n macsec\n  key {CKN}\n   key-string {CAK} cryptographic-algorithm AES-128-CMAC\n   lifetime 00:00:00 01 January 2020 infinite\n!\n\
         macsec-policy P1\n cipher-suite GCM-AES-XPN-256\n key-server-priority 20\n!\n"
    );
    for l in &LINKS[..n] {
        c.push_str(&format!("interface {l}\n macsec psk-keychain KC1 policy P1\n!\n"));
    }
    c
}

fn setups(text: &str) -> Vec<control::config::PortSetup> {
    Config::parse(text)
        .expect("config")
        .port_setups()
        .expect("setups")
}

/// The SAKs the peer engine distributed, with their KIs.
type PeerSaks = Arc<Mutex<Vec<(Ki, Vec<u8>)>>>;

/// One link of the fake dataplane and its peer.
struct Link {
    /// Stopping it makes the server refuse every request of the link.
    link: Arc<TapLink>,
    taps: crossbeam_channel::Receiver<Tap>,
    peer: Mka,
    /// The SAKs the peer distributed (as key server it installs them itself too), by KI.
    peer_saks: PeerSaks,
}

struct Bench {
    _dir: tempfile::TempDir,
    sock: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    links: Vec<Link>,
    events: crossbeam_channel::Sender<Event>,
    daemon: Option<Daemon>,
    start: Instant,
    log: Vec<String>,
}

impl Bench {
    /// The dataplane with `n` links, their peers (key server, priority 1, rekeying every
    /// `rekey`); macsecd is connected by [`Bench::connect`].
    fn new(n: usize, rekey: Option<Duration>) -> Bench {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("dp.sock");
        let stop = Arc::new(AtomicBool::new(false));
        let policy = setups(&config(1))[0].policy(None);
        let mut handles = Vec::new();
        let mut links = Vec::new();
        for i in 0..n {
            let info = LinkInfo {
                interface: LINKS[i].into(),
                host_port: format!("h{i}"),
                line_port: format!("l{i}"),
                tx_sci: OWN_SCI[i],
            };
            let (link, taps) =
                TapLink::new(LINKS[i], Policy::new(CipherSuite::GcmAesXpn256), Sci(OWN_SCI[i]));
            handles.push(Arc::new(LinkHandle::new(info, policy, link.clone())));
            let mut cfg = MkaConfig::new(Sci(PEER_SCI[i]), CipherSuite::GcmAesXpn256);
            cfg.key_server_priority = 1;
            cfg.sak_rekey_interval = rekey;
            let keys = vec![(Ckn::from_hex(CKN).expect("ckn"), Cak::from_hex(CAK).expect("cak"))];
            links.push(Link {
                link,
                taps,
                peer: Mka::new(cfg, keys, Duration::ZERO).expect("peer"),
                peer_saks: Arc::default(),
            });
        }
        let server = Server::new(handles, Backend::Ring);
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
        Bench {
            _dir: dir,
            sock,
            stop,
            links,
            events,
            daemon: None,
            start: Instant::now(),
            log: Vec::new(),
        }
    }

    fn connect(&mut self, n: usize) {
        let d =
            Daemon::connect(&self.sock, setups(&config(n)), &PpkEnv::default()).expect("macsecd connects");
        self.daemon = Some(d);
    }

    fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("daemon")
    }

    /// Runs macsecd and the peers until `done` or `limit`; every turn must succeed (an error is
    /// the connection given up).
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Bench) -> bool) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if done(self) {
                return true;
            }
            let lines = self
                .daemon
                .as_mut()
                .expect("daemon")
                .turn(Duration::from_millis(2))
                .expect("turn: the connection to the dataplane is kept");
            self.log.extend(lines.iter().map(ToString::to_string));
            let now = self.start.elapsed();
            for (i, l) in self.links.iter_mut().enumerate() {
                while let Ok(t) = l.taps.try_recv() {
                    if let Tap::Injected { frame, .. } = t {
                        l.peer.handle_mkpdu(now, &frame);
                    }
                }
                if l.peer.poll_timeout().is_some_and(|t| t <= now) {
                    l.peer.handle_timeout(now);
                }
                let mut f = Vec::new();
                while l.peer.poll_transmit(&mut f).is_some() {
                    self.events
                        .send(Event::EapolReceived {
                            link: LINKS[i].into(),
                            frame: core::mem::take(&mut f),
                        })
                        .expect("event");
                }
                while let Some(c) = l.peer.poll_sa_command() {
                    if let SaCommand::InstallTx { ki, sak, .. } = c {
                        l.peer_saks
                            .lock()
                            .expect("saks")
                            .push((ki, sak.as_bytes().to_vec()));
                    }
                }
                while l.peer.poll_event().is_some() {}
            }
        }
        done(self)
    }

    fn secured(&self, i: usize) -> bool {
        self.daemon()
            .show_data()
            .sessions
            .iter()
            .any(|s| s.interface == LINKS[i] && s.status == "Secured" && s.peers > 0)
    }

    fn sa(&self, i: usize) -> SaState {
        let mut c = Client::connect(&self.sock).expect("dataplane");
        match c
            .request(&Request::ReadSaState {
                link: LINKS[i].into(),
            })
            .expect("read")
        {
            Response::SaState(sa) => sa,
            other => panic!("{other:?}"),
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn ok(r: std::io::Result<Response>) {
    assert!(matches!(r, Ok(Response::Ok)), "{r:?}");
}

/// A previous macsecd's SAs carry the KI of the SAK the peer (key server) distributes first, but
/// another key: a KI alone proves nothing, so the new macsecd installs the SAK (replacing them)
/// instead of adopting them. Before the key check, both were adopted ("already holds SAK ...:
/// kept") and the link ran on a key the peer does not have.
#[test]
fn an_inherited_sa_with_the_right_ki_but_another_key_is_replaced() {
    let mut b = Bench::new(1, None);
    // The peer's first SAK: its MI, KN 1, on AN 0.
    let ki = Ki::new(b.links[0].peer.mi(0).expect("peer MI"), 1);
    let wrong = [0x42u8; 32];
    let key = || KeyMsg {
        sak: wrong.to_vec().into(),
        ssci: 1,
        salt: [7; 12],
        ki: Some(ki.to_bytes()),
    };
    let mut c = Client::connect(&b.sock).expect("dataplane");
    let policy = setups(&config(1))[0].policy(None);
    ok(c.request(&Request::SetPolicy {
        link: LINKS[0].into(),
        policy,
    }));
    ok(c.request(&Request::InstallRxSa {
        link: LINKS[0].into(),
        sci: PEER_SCI[0],
        an: 0,
        key: key(),
        lowest_pn: 1,
    }));
    ok(c.request(&Request::InstallTxSa {
        link: LINKS[0].into(),
        an: 0,
        key: key(),
        next_pn: 1,
    }));
    ok(c.request(&Request::EnableTxSa {
        link: LINKS[0].into(),
        an: Some(0),
    }));
    let before = b.sa(0);
    let forged = Some(ipc::key_check(&wrong));
    assert_eq!(
        (before.tx[0].key_check, before.rx[0].key_check),
        (forged, forged),
        "the dataplane reports the key check of the key it holds"
    );

    b.connect(1);
    // Until this session secures, the link transmits on the old session's SA: the guide's
    // "Secured" with 0 peers (locally secured, Tx).
    // (A session row once its CA runs: the first turn applies the key chain.)
    b.run_until(Duration::from_secs(1), |b| {
        !b.daemon().show_data().sessions.is_empty()
    });
    let row = b
        .daemon()
        .show_data()
        .sessions
        .into_iter()
        .find(|s| s.interface == LINKS[0])
        .expect("row");
    assert_eq!((row.status.as_str(), row.peers), ("Secured", 0), "{row:?}");
    assert!(
        row.detail[0].status.contains("0 live peers"),
        "{:?}",
        row.detail[0].status
    );
    assert!(b.run_until(Duration::from_secs(5), |b| b.secured(0)), "secured");
    assert!(
        b.log
            .contains(&format!("macsecd: ({}) 1 Tx and 1 Rx SAs already in the dataplane keep traffic flowing until this session secures", LINKS[0])),
        "{:#?}",
        b.log
    );
    assert!(
        !b.log.iter().any(|l| l.contains("already holds SAK")),
        "nothing adopted: {:#?}",
        b.log
    );
    let saks = b.links[0].peer_saks.lock().expect("saks").clone();
    assert_eq!(saks[0].0, ki, "the peer distributed the KI the old SAs carry");
    let right = Some(ipc::key_check(&saks[0].1));
    assert_ne!(right, forged);
    let after = b.sa(0);
    assert_eq!(
        (
            after.encoding_an,
            after.tx[0].an,
            after.tx[0].ki,
            after.tx[0].key_check,
            after.rx[0].an,
            after.rx[0].key_check
        ),
        (Some(0), 0, Some(ki.to_bytes()), right, 0, right),
        "both SAs now hold the peer's SAK"
    );
}

/// Link 2's worker dies after both ports secured: the dataplane refuses every request of link 2
/// (Busy). Its refused MKPDUs are counted and said, its refused SA install is said and restarts
/// its session (refused again: it waits and retries); link 1 stays secured all along and the
/// connection is kept (every turn succeeds). Before, the first error reply ended the turn with an
/// error, and macsecd dropped the connection and restarted every session.
#[test]
fn an_error_reply_restarts_only_that_port() {
    let mut b = Bench::new(2, Some(Duration::from_secs(1)));
    b.connect(2);
    assert!(
        b.run_until(Duration::from_secs(6), |b| b.secured(0) && b.secured(1)),
        "both secured"
    );
    b.links[1].link.stop();
    let lost = Arc::new(AtomicBool::new(false));
    let l2 = lost.clone();
    b.run_until(Duration::from_secs(4), move |b| {
        if !b.secured(0) {
            l2.store(true, Ordering::Relaxed);
        }
        false
    });
    assert!(
        !lost.load(Ordering::Relaxed),
        "link 1 stayed secured: {:#?}",
        b.log
    );
    let refused = format!(
        "macsecd: ({}) the dataplane refused InstallRxSa: the link's worker has stopped (Busy): the MKA session of the interface restarts",
        LINKS[1]
    );
    assert_eq!(
        b.log.iter().filter(|l| **l == refused).count(),
        1,
        "said once: {:#?}",
        b.log
    );
    assert_eq!(b.daemon().injects_refused(LINKS[0]), 0);
    assert!(!b.secured(1), "link 2's session restarted and waits");
    assert!(b.secured(0));
    // Link 1 still rekeys on the same connection.
    let n = b.links[0].peer_saks.lock().expect("saks").len();
    assert!(
        b.run_until(Duration::from_secs(3), |b| b.links[0]
            .peer_saks
            .lock()
            .expect("saks")
            .len()
            > n
            && b.secured(0)),
        "link 1 rekeys"
    );
}

/// Without rekeys, link 2's dead worker refuses only its MKPDU injects: each is counted (said at
/// the 1st, 2nd, 4th...) and the session goes on, no restart; link 1 is untouched.
#[test]
fn a_refused_mkpdu_is_counted_and_the_session_goes_on() {
    let mut b = Bench::new(2, None);
    b.connect(2);
    assert!(
        b.run_until(Duration::from_secs(6), |b| b.secured(0) && b.secured(1)),
        "both secured"
    );
    b.links[1].link.stop();
    assert!(
        b.run_until(Duration::from_secs(6), |b| b.daemon().injects_refused(LINKS[1])
            >= 2),
        "MKPDUs refused: {:#?}",
        b.log
    );
    let said: Vec<&String> = b.log.iter().filter(|l| l.contains("refused an MKPDU")).collect();
    assert_eq!(
        said[..2],
        [
            &format!(
                "macsecd: ({}) the dataplane refused an MKPDU (Busy: the link's worker has stopped), 1 so far",
                LINKS[1]
            ),
            &format!(
                "macsecd: ({}) the dataplane refused an MKPDU (Busy: the link's worker has stopped), 2 so far",
                LINKS[1]
            )
        ]
    );
    assert!(!b.log.iter().any(|l| l.contains("restarts")), "{:#?}", b.log);
    assert_eq!(b.daemon().injects_refused(LINKS[0]), 0);
    assert!(b.secured(0) && b.secured(1));
}
