//! The dataplane's control thread: serves the `ipc` protocol on a Unix SEQPACKET socket and turns
//! requests into per-link worker commands (crossbeam queues the workers drain between bursts).
//! SA key schedules are built here, off the packet path. EAPOL punts and PN-threshold events from
//! the workers are forwarded to subscribed connections.
//!
//! The socket is hardened by `ipc::sock`: its directory is checked (or created 0750), it is bound
//! privately and renamed into place at 0600 (0660 with a socket group), each peer's credentials
//! are checked on accept (root, our euid, the socket group), and at most
//! [`ipc::sock::MAX_CONNECTIONS`] connections are served at once. Each subscriber has its own
//! bounded event queue and writer thread: one that does not keep up is closed and counted, and the
//! others are not held up.

#![forbid(unsafe_code)]
#![allow(clippy::result_large_err)] // Err(Response) is the reply itself, built once per request.
use crate::worker::{Command, LinkControl, Snapshot};
use ipc::{self, ErrorCode, Event, LinkInfo, PolicyMsg, Request, Response};
use macsec::crypto::Backend;
use macsec::secy::{RxSa, Sci, TxSa};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use ipc::sock::{Access, Gate, SockCounters, SockError, SockStats, Verdict};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;
use uds::{UnixSeqpacketConn, UnixSeqpacketListener};

const POLL: Duration = Duration::from_millis(50);
/// Encoded events queued per subscriber; a subscriber whose queue is full is closed.
const SUBSCRIBER_QUEUE: usize = 1024;
/// How long one event may wait for room in a subscriber's socket before the subscriber is closed.
const SUBSCRIBER_SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// An SA the control thread knows is installed, with the Key Identifier the control plane gave
/// it (reported by ReadSaState).
#[derive(Debug, Clone, Copy)]
struct Installed {
    ki: Option<[u8; 16]>,
    /// `ipc::key_check` of its SAK (None for the static SAs of the config).
    key_check: Option<[u8; 16]>,
}

/// What the control thread knows of a link's SAs (so it can refuse bad requests at once).
struct Mirror {
    policy: PolicyMsg,
    /// By AN.
    tx: [Option<Installed>; 4],
    /// By (SCI, AN).
    rx: BTreeMap<(u64, u8), Installed>,
}

/// The control thread's handle on one link.
pub struct LinkHandle {
    pub info: LinkInfo,
    link: Arc<dyn LinkControl>,
    mirror: Mutex<Mirror>,
}

impl LinkHandle {
    pub fn new(info: LinkInfo, policy: PolicyMsg, link: Arc<dyn LinkControl>) -> Self {
        LinkHandle {
            info,
            link,
            mirror: Mutex::new(Mirror {
                policy,
                tx: [None; 4],
                rx: BTreeMap::new(),
            }),
        }
    }

    /// Records an SA installed before the control thread started (static SAs of the config).
    pub fn note_tx_sa(&self, an: u8) {
        if let Some(t) = self.mirror().tx.get_mut(an as usize) {
            *t = Some(Installed {
                ki: None,
                key_check: None,
            });
        }
    }

    pub fn note_rx_sa(&self, sci: u64, an: u8) {
        self.mirror().rx.insert(
            (sci, an),
            Installed {
                ki: None,
                key_check: None,
            },
        );
    }

    fn mirror(&self) -> MutexGuard<'_, Mirror> {
        self.mirror.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a command to the link (it holds from the next burst any worker receives).
    pub fn send(&self, cmd: Command) -> Result<(), Response> {
        self.link.apply(cmd).map_err(|e| err(ErrorCode::Busy, e.0))
    }

    /// The link's counters and SA state.
    pub fn snapshot(&self) -> Result<Snapshot, Response> {
        self.link.snapshot().map_err(|e| err(ErrorCode::Busy, e.0))
    }
}

fn err(code: ErrorCode, message: impl Into<String>) -> Response {
    Response::Error {
        code,
        message: message.into(),
    }
}

/// One encoded event, shared by the subscribers' queues (wiped when the last one drops it).
type Message = Arc<zeroize::Zeroizing<Vec<u8>>>;

pub struct Server {
    links: Vec<Arc<LinkHandle>>,
    backend: Backend,
    /// Each subscriber's queue, drained by its writer thread.
    subscribers: Mutex<Vec<Sender<Message>>>,
    counters: Arc<SockCounters>,
    /// Whether a control plane is connected, and since when none is.
    control: Mutex<Presence>,
}

/// The control plane's presence: the connections that subscribed to events (macsecd does) and
/// are still open, and when the last one closed.
#[derive(Default)]
struct Presence {
    connected: usize,
    gone_since: Option<std::time::Instant>,
    /// How long SAs outlive the control plane (None: forever).
    timeout: Option<Duration>,
}

/// Counts a subscribed connection as a control plane while it is open.
struct ControlGuard<'a>(&'a Server);

impl Drop for ControlGuard<'_> {
    fn drop(&mut self) {
        let mut p = self.0.presence();
        p.connected = p.connected.saturating_sub(1);
        if p.connected == 0 {
            p.gone_since = Some(std::time::Instant::now());
        }
    }
}

impl Server {
    pub fn new(links: Vec<Arc<LinkHandle>>, backend: Backend) -> Arc<Self> {
        Arc::new(Server {
            links,
            backend,
            subscribers: Mutex::new(Vec::new()),
            counters: Arc::default(),
            control: Mutex::default(),
        })
    }

    /// Sets how long the SAs outlive the control plane (`control_timeout_secs`; None: forever):
    /// once the last subscribed connection has been closed this long, every SA of every link is
    /// deleted. Nothing is deleted before a control plane has connected once (static SAs).
    pub fn set_control_timeout(&self, timeout: Option<Duration>) {
        self.presence().timeout = timeout;
    }

    fn presence(&self) -> MutexGuard<'_, Presence> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Deletes every SA of every link when the control plane has been gone for its timeout;
    /// returns the Tx and Rx SAs deleted (once per absence).
    fn expire_orphaned_sas(&self) -> Option<(usize, usize)> {
        {
            let mut p = self.presence();
            let (Some(since), Some(limit)) = (p.gone_since, p.timeout) else {
                return None;
            };
            if p.connected > 0 || since.elapsed() < limit {
                return None;
            }
            p.gone_since = None;
        }
        let (mut tx, mut rx) = (0, 0);
        for l in &self.links {
            let (ans, rxs): (Vec<u8>, Vec<(u64, u8)>) = {
                let m = l.mirror();
                (
                    (0..4u8).filter(|&an| m.tx[an as usize].is_some()).collect(),
                    m.rx.keys().copied().collect(),
                )
            };
            let link = l.info.interface.clone();
            for an in ans {
                let req = Request::DeleteTxSa {
                    link: link.clone(),
                    an,
                };
                tx += usize::from(matches!(self.handle(req, &mut false), Response::Ok));
            }
            for (sci, an) in rxs {
                let req = Request::DeleteRxSa {
                    link: link.clone(),
                    sci,
                    an,
                };
                rx += usize::from(matches!(self.handle(req, &mut false), Response::Ok));
            }
        }
        Some((tx, rx))
    }

    /// The socket's refusal counters.
    pub fn stats(&self) -> SockStats {
        self.counters.snapshot()
    }

    fn subscribers(&self) -> MutexGuard<'_, Vec<Sender<Message>>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn link(&self, name: &str) -> Result<&Arc<LinkHandle>, Response> {
        self.links
            .iter()
            .find(|l| l.info.interface == name)
            .ok_or_else(|| err(ErrorCode::UnknownLink, format!("no link named '{name}'")))
    }

    /// Answers one request. `subscribe` is set when the connection asks for events.
    pub fn handle(&self, req: Request, subscribe: &mut bool) -> Response {
        match self.handle_inner(req, subscribe) {
            Ok(r) => r,
            Err(e) => e,
        }
    }

    fn handle_inner(&self, req: Request, subscribe: &mut bool) -> Result<Response, Response> {
        let bad = |m: String| err(ErrorCode::BadArgument, m);
        let check_an = |an: u8| {
            if an > 3 {
                Err(bad(format!("AN {an} is not 0..3")))
            } else {
                Ok(())
            }
        };
        Ok(match req {
            Request::Hello => Response::Hello {
                version: ipc::VERSION,
                links: self.links.iter().map(|l| l.info.clone()).collect(),
            },
            Request::Subscribe => {
                *subscribe = true;
                Response::Ok
            }
            Request::SetPolicy { link, policy } => {
                let l = self.link(&link)?;
                let p = policy.to_policy().map_err(|e| bad(e.to_string()))?;
                let mut m = l.mirror();
                l.send(Command::SetPolicy {
                    policy: p,
                    security: policy.security_policy,
                    clear: policy.clear,
                })?;
                if m.policy.cipher_suite != policy.cipher_suite {
                    m.tx = [None; 4];
                    m.rx.clear();
                }
                m.policy = policy;
                Response::Ok
            }
            Request::InstallTxSa {
                link,
                an,
                key,
                next_pn,
            } => {
                check_an(an)?;
                let l = self.link(&link)?;
                let mut m = l.mirror();
                let suite = m.policy.cipher_suite;
                if next_pn == 0 || next_pn > suite.max_pn() {
                    return Err(bad(format!("next PN {next_pn} out of range for {suite}")));
                }
                let sa = TxSa::new(
                    self.backend,
                    suite,
                    Sci(l.info.tx_sci),
                    an,
                    &key.to_keys(),
                    next_pn,
                )
                .map_err(|e| bad(e.to_string()))?;
                l.send(Command::PutTxSa(Arc::new(sa)))?;
                m.tx[an as usize] = Some(Installed {
                    ki: key.ki,
                    key_check: Some(ipc::key_check(&key.sak)),
                });
                Response::Ok
            }
            Request::InstallRxSa {
                link,
                sci,
                an,
                key,
                lowest_pn,
            } => {
                check_an(an)?;
                let l = self.link(&link)?;
                let mut m = l.mirror();
                let p = m.policy;
                let sa = RxSa::new(
                    self.backend,
                    p.cipher_suite,
                    Sci(sci),
                    an,
                    &key.to_keys(),
                    lowest_pn,
                    p.replay_window,
                )
                .map_err(|e| bad(e.to_string()))?;
                l.send(Command::PutRxSa {
                    sci: Sci(sci),
                    sa: Box::new(sa),
                })?;
                m.rx.insert(
                    (sci, an),
                    Installed {
                        ki: key.ki,
                        key_check: Some(ipc::key_check(&key.sak)),
                    },
                );
                Response::Ok
            }
            Request::EnableTxSa { link, an } => {
                let l = self.link(&link)?;
                let m = l.mirror();
                if let Some(a) = an {
                    check_an(a)?;
                    if m.tx[a as usize].is_none() {
                        return Err(err(ErrorCode::NoSuchSa, format!("no Tx SA with AN {a}")));
                    }
                }
                l.send(Command::EnableTxSa(an))?;
                Response::Ok
            }
            Request::EnableRxSa {
                link,
                sci,
                an,
                enable,
            } => {
                let l = self.link(&link)?;
                if !l.mirror().rx.contains_key(&(sci, an)) {
                    return Err(err(ErrorCode::NoSuchSa, format!("no Rx SA {sci:016x} AN {an}")));
                }
                l.send(Command::EnableRxSa {
                    sci: Sci(sci),
                    an,
                    enable,
                })?;
                Response::Ok
            }
            Request::DeleteTxSa { link, an } => {
                check_an(an)?;
                let l = self.link(&link)?;
                let mut m = l.mirror();
                if m.tx[an as usize].is_none() {
                    return Err(err(ErrorCode::NoSuchSa, format!("no Tx SA with AN {an}")));
                }
                l.send(Command::DeleteTxSa(an))?;
                m.tx[an as usize] = None;
                Response::Ok
            }
            Request::DeleteRxSa { link, sci, an } => {
                let l = self.link(&link)?;
                let mut m = l.mirror();
                if !m.rx.contains_key(&(sci, an)) {
                    return Err(err(ErrorCode::NoSuchSa, format!("no Rx SA {sci:016x} AN {an}")));
                }
                l.send(Command::DeleteRxSa { sci: Sci(sci), an })?;
                m.rx.remove(&(sci, an));
                Response::Ok
            }
            Request::SetLowestPn { link, sci, an, pn } => {
                let l = self.link(&link)?;
                if !l.mirror().rx.contains_key(&(sci, an)) {
                    return Err(err(ErrorCode::NoSuchSa, format!("no Rx SA {sci:016x} AN {an}")));
                }
                l.send(Command::SetLowestPn {
                    sci: Sci(sci),
                    an,
                    pn,
                })?;
                Response::Ok
            }
            Request::InjectEapol { link, frame } => {
                let l = self.link(&link)?;
                if frame.len() < 14 || frame.len() > 1518 || frame[12..14] != [0x88, 0x8e] {
                    return Err(bad(
                        "only EAPOL frames (EtherType 88-8E, 14..1518 octets) are injected".into(),
                    ));
                }
                l.send(Command::Inject(frame))?;
                Response::Ok
            }
            Request::ReadCounters { link } => {
                let s = self.link(&link)?.snapshot()?;
                Response::Counters {
                    secy: s.secy,
                    link: s.link,
                }
            }
            Request::ReadSaState { link } => {
                let l = self.link(&link)?;
                let mut sa = l.snapshot()?.sa;
                let m = l.mirror();
                for t in &mut sa.tx {
                    let i = m.tx.get(t.an as usize).copied().flatten();
                    (t.ki, t.key_check) = (i.and_then(|i| i.ki), i.and_then(|i| i.key_check));
                }
                for r in &mut sa.rx {
                    let i = m.rx.get(&(r.sci, r.an));
                    (r.ki, r.key_check) = (i.and_then(|i| i.ki), i.and_then(|i| i.key_check));
                }
                Response::SaState(sa)
            }
            Request::SetLivePeers { link, macs } => {
                let l = self.link(&link)?;
                if macs.len() > crate::worker::MAX_LIVE_PEERS {
                    return Err(bad(format!(
                        "{} live peers: at most {}",
                        macs.len(),
                        crate::worker::MAX_LIVE_PEERS
                    )));
                }
                l.send(Command::SetLivePeers(macs))?;
                Response::Ok
            }
        })
    }

    /// Queues an event for every subscriber, without waiting: a subscriber whose queue is full is
    /// closed (and counted), one whose writer has stopped is forgotten.
    pub fn publish(&self, ev: Event) {
        let Ok(bytes) = ipc::encode(0, &Response::Event(ev)) else {
            return;
        };
        let bytes = Arc::new(bytes);
        self.subscribers().retain(|q| match q.try_send(bytes.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.counters.dropped_subscribers.fetch_add(1, Ordering::Relaxed);
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
    }

    /// Binds `path` (in a checked directory; mode 0600, 0660 with the access policy's socket
    /// group) and serves it until `stop` is set. Only root, our own euid and the socket group may
    /// connect. Forwards the workers' two queues to the subscribers: `control` (PN threshold)
    /// always before `events` (EAPOL punts), so that a flood of punts cannot delay a control
    /// event (tests without workers pass `crossbeam_channel::never()`).
    pub fn serve(
        self: &Arc<Self>,
        path: &Path,
        access: Access,
        control: Receiver<Event>,
        events: Receiver<Event>,
        stop: Arc<AtomicBool>,
    ) -> Result<Vec<JoinHandle<()>>, SockError> {
        let listener = ipc::sock::bind_private(path, &access, |p| UnixSeqpacketListener::bind(p))?;
        listener.set_nonblocking(true)?;
        let gate = Gate::new(access, ipc::sock::MAX_CONNECTIONS, self.counters.clone());
        let mut threads = Vec::new();
        let me = self.clone();
        let stop2 = stop.clone();
        let path: PathBuf = path.to_path_buf();
        threads.push(
            std::thread::Builder::new()
                .name("ctl-accept".into())
                .spawn(move || {
                    while !stop2.load(Ordering::Relaxed) {
                        match listener.accept_unix_addr() {
                            Ok((conn, _)) => {
                                let slot = match gate.check(conn.initial_peer_credentials()) {
                                    Verdict::Admit(slot) => slot,
                                    Verdict::OverCap => continue,
                                    Verdict::Refused { uid, first } => {
                                        if first {
                                            eprintln!(
                                                "macsec-dataplane: control socket: refused a peer (uid {}): \
                                                 only root, uid {} and the socket group may connect; \
                                                 further refusals of this uid are only counted",
                                                uid.map_or("unknown".to_string(), |u| u.to_string()),
                                                ipc::sock::euid()
                                            );
                                        }
                                        continue;
                                    }
                                };
                                let me = me.clone();
                                let stop = stop2.clone();
                                let _ =
                                    std::thread::Builder::new()
                                        .name("ctl-conn".into())
                                        .spawn(move || {
                                            me.serve_conn(conn, stop);
                                            drop(slot);
                                        });
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
                            Err(_) => std::thread::sleep(POLL),
                        }
                    }
                    let _ = std::fs::remove_file(&path);
                })?,
        );
        let me = self.clone();
        threads.push(
            std::thread::Builder::new()
                .name("ctl-events".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some((tx, rx)) = me.expire_orphaned_sas() {
                            let secs = me.presence().timeout.map_or(0, |t| t.as_secs());
                            eprintln!(
                                "macsec-dataplane: no control plane for {secs} s (control_timeout_secs): \
                                 deleted {tx} Tx and {rx} Rx SAs; must-secure links drop until keys are \
                                 installed again"
                            );
                        }
                        // Until a client subscribes, events wait in the queue (up to its bound): MKPDUs
                        // that arrive before macsecd connects are not lost.
                        if me.subscribers().is_empty() {
                            std::thread::sleep(POLL);
                            continue;
                        }
                        let got = crossbeam_channel::select_biased! {
                            recv(control) -> e => e,
                            recv(events) -> e => e,
                            default(POLL) => continue,
                        };
                        match got {
                            Ok(ev) => me.publish(ev),
                            // A queue whose senders are gone (the workers stopped).
                            Err(_) => std::thread::sleep(POLL),
                        }
                    }
                    // The writers see their queues close and end.
                    me.subscribers().clear();
                })?,
        );
        Ok(threads)
    }

    /// Makes `conn` a subscriber: a bounded queue drained by a writer thread whose sends time out.
    fn subscribe(&self, conn: &UnixSeqpacketConn) {
        let Ok(c) = conn.try_clone() else { return };
        if c.set_write_timeout(Some(SUBSCRIBER_SEND_TIMEOUT)).is_err() {
            return;
        }
        let (tx, rx) = crossbeam_channel::bounded::<Message>(SUBSCRIBER_QUEUE);
        let counters = self.counters.clone();
        let spawned = std::thread::Builder::new().name("ctl-sub".into()).spawn(move || {
            while let Ok(bytes) = rx.recv() {
                match c.send(&bytes) {
                    Ok(_) => {}
                    Err(e) => {
                        if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
                            counters.dropped_subscribers.fetch_add(1, Ordering::Relaxed);
                        }
                        break;
                    }
                }
            }
            // Closed (it did not keep up, or the server stopped): its connection ends too.
            let _ = c.shutdown(std::net::Shutdown::Both);
        });
        if spawned.is_ok() {
            self.subscribers().push(tx);
        }
    }

    fn serve_conn(&self, conn: UnixSeqpacketConn, stop: Arc<AtomicBool>) {
        let _ = conn.set_read_timeout(Some(POLL * 4));
        let mut buf = ipc::MessageBuf::new(); // Zeroizing, wiped as each request is decoded (SAKs)
        let mut subscribed = false;
        let mut control: Option<ControlGuard<'_>> = None;
        while !stop.load(Ordering::Relaxed) {
            let n = match conn.recv(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
                Err(_) => return,
            };
            let (id, resp) = match buf.decode::<Request>(n) {
                Ok(env) => (env.id, self.handle(env.body, &mut subscribed)),
                Err((id, e)) => (id, err(e.code(), e.to_string())),
            };
            let Ok(bytes) = ipc::encode(id, &resp) else { return };
            if conn.send(&bytes).is_err() {
                return;
            }
            if subscribed {
                subscribed = false;
                self.subscribe(&conn);
                if control.is_none() {
                    let mut p = self.presence();
                    p.connected += 1;
                    p.gone_since = None;
                    control = Some(ControlGuard(self));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::ports::MemLink;
    use crate::worker::Refused;
    use ipc::{Client, KeyMsg, SecurityPolicy};
    use macsec::secy::{CipherSuite, Policy, ValidateFrames};
    use std::os::unix::fs::PermissionsExt;
    use zeroize::Zeroizing;

    /// A link that records the commands it is given.
    struct Recorder(Sender<Command>);

    impl LinkControl for Recorder {
        fn apply(&self, cmd: Command) -> Result<(), Refused> {
            let _ = self.0.try_send(cmd);
            Ok(())
        }
        fn snapshot(&self) -> Result<Snapshot, Refused> {
            Ok(Snapshot::default())
        }
    }

    fn policy() -> PolicyMsg {
        PolicyMsg {
            cipher_suite: CipherSuite::GcmAes128,
            conf_offset: 0,
            confidentiality: true,
            include_sci: true,
            use_es: false,
            use_scb: false,
            validate_frames: ValidateFrames::Strict,
            replay_protect: true,
            replay_window: 0,
            security_policy: SecurityPolicy::MustSecure,
            clear: Default::default(),
        }
    }

    /// A server with one link on in-memory ports, served by a worker thread.
    fn setup(dir: &Path) -> (Arc<Server>, Arc<AtomicBool>, PathBuf, Sender<Event>) {
        setup_with(dir, 16)
    }

    fn setup_with(dir: &Path, events: usize) -> (Arc<Server>, Arc<AtomicBool>, PathBuf, Sender<Event>) {
        setup_access(dir, events, Access::default())
    }

    fn setup_access(
        dir: &Path,
        events: usize,
        access: Access,
    ) -> (Arc<Server>, Arc<AtomicBool>, PathBuf, Sender<Event>) {
        let info = LinkInfo {
            interface: "Te0/0/0/1".into(),
            host_port: "h".into(),
            line_port: "l".into(),
            tx_sci: 0x11,
        };
        let m = MemLink::new(
            "Te0/0/0/1",
            Policy::new(CipherSuite::GcmAes128),
            Sci(0x11),
            SecurityPolicy::MustSecure,
            Default::default(),
        );
        let handle = Arc::new(LinkHandle::new(info, policy(), m.link.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        // A worker: what rides with bursts (injects, live peers) is applied.
        let s2 = stop.clone();
        std::thread::spawn(move || {
            let mut w = [crate::worker::WorkerLink::new(m.link.clone())];
            crate::worker::run(&mut w, &s2, POLL, None);
            drop(m);
        });
        let server = Server::new(vec![handle], Backend::Ring);
        let path = dir.join("ctl.sock");
        let (etx, erx) = crossbeam_channel::bounded(events);
        server
            .serve(&path, access, crossbeam_channel::never(), erx, stop.clone())
            .unwrap();
        (server, stop, path, etx)
    }

    fn key() -> KeyMsg {
        KeyMsg {
            sak: Zeroizing::new(vec![1; 16]),
            ssci: 0,
            salt: [0; 12],
            ki: Some([5; 16]),
        }
    }

    /// Installs a Tx SA (AN 1) and an Rx SA (SCI 0x22, AN 2) on the test link.
    fn install_two_sas(c: &mut Client) {
        let link = "Te0/0/0/1".to_string();
        let tx = Request::InstallTxSa {
            link: link.clone(),
            an: 1,
            key: key(),
            next_pn: 1,
        };
        let rx = Request::InstallRxSa {
            link,
            sci: 0x22,
            an: 2,
            key: key(),
            lowest_pn: 1,
        };
        for r in [tx, rx] {
            assert!(matches!(c.request(&r).unwrap(), Response::Ok));
        }
    }

    /// (Tx ANs, Rx (SCI, AN)) the dataplane reports.
    fn sas(path: &Path) -> (Vec<u8>, Vec<(u64, u8)>) {
        let mut c = Client::connect(path).unwrap();
        let Response::SaState(st) = c
            .request(&Request::ReadSaState {
                link: "Te0/0/0/1".into(),
            })
            .unwrap()
        else {
            panic!("no SA state")
        };
        (
            st.tx.iter().map(|t| t.an).collect(),
            st.rx.iter().map(|r| (r.sci, r.an)).collect(),
        )
    }

    /// control_timeout: the SAs a control plane installed are deleted once it has been gone
    /// that long; a control plane back in time keeps them; a client that never subscribed
    /// (a lab tool) arms nothing.
    #[test]
    fn sas_outlive_a_gone_control_plane_only_for_the_timeout() {
        let both = (vec![1u8], vec![(0x22u64, 2u8)]);
        let none = (vec![], vec![]);
        let dir = tempfile::tempdir().unwrap();
        let (server, stop, path, _events) = setup(dir.path());
        server.set_control_timeout(Some(Duration::from_millis(1000)));

        // A client that never subscribes: nothing is armed.
        let mut lab = Client::connect(&path).unwrap();
        install_two_sas(&mut lab);
        drop(lab);
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(sas(&path), both);

        // The control plane subscribes, goes, comes back after 100 ms: kept.
        let mut md = Client::connect(&path).unwrap();
        assert!(matches!(md.request(&Request::Subscribe).unwrap(), Response::Ok));
        drop(md);
        std::thread::sleep(Duration::from_millis(100));
        let mut md = Client::connect(&path).unwrap();
        assert!(matches!(md.request(&Request::Subscribe).unwrap(), Response::Ok));
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(sas(&path), both, "a connected control plane keeps its SAs");

        // Gone for longer than the timeout: every SA deleted.
        drop(md);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(sas(&path), both, "within the timeout");
        std::thread::sleep(Duration::from_millis(1200));
        assert_eq!(sas(&path), none, "after the timeout");
        stop.store(true, Ordering::Relaxed);
    }

    /// control_timeout None (0 in the configuration): SAs stay however long the control plane
    /// is gone.
    #[test]
    fn without_a_control_timeout_sas_stay() {
        let dir = tempfile::tempdir().unwrap();
        let (_server, stop, path, _events) = setup(dir.path());
        let mut md = Client::connect(&path).unwrap();
        install_two_sas(&mut md);
        assert!(matches!(md.request(&Request::Subscribe).unwrap(), Response::Ok));
        drop(md);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(sas(&path), (vec![1u8], vec![(0x22u64, 2u8)]));
        stop.store(true, Ordering::Relaxed);
    }

    #[test]
    fn protocol_over_the_socket() {
        let dir = std::env::temp_dir().join(format!("macsec-srv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (_server, stop, path, events) = setup(&dir);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let mut c = Client::connect(&path).unwrap();
        let link = "Te0/0/0/1".to_string();
        assert!(
            matches!(c.request(&Request::Hello).unwrap(), Response::Hello { version: ipc::VERSION, links } if links.len() == 1)
        );
        assert!(matches!(
            c.request(&Request::EnableTxSa {
                link: link.clone(),
                an: Some(1)
            })
            .unwrap(),
            Response::Error {
                code: ErrorCode::NoSuchSa,
                ..
            }
        ));
        assert!(matches!(
            c.request(&Request::ReadCounters { link: "nope".into() }).unwrap(),
            Response::Error {
                code: ErrorCode::UnknownLink,
                ..
            }
        ));
        let badkey = KeyMsg {
            sak: Zeroizing::new(vec![1; 32]),
            ssci: 0,
            salt: [0; 12],
            ki: None,
        };
        assert!(matches!(
            c.request(&Request::InstallTxSa {
                link: link.clone(),
                an: 1,
                key: badkey,
                next_pn: 1
            })
            .unwrap(),
            Response::Error {
                code: ErrorCode::BadArgument,
                ..
            }
        ));
        assert!(matches!(
            c.request(&Request::InstallTxSa {
                link: link.clone(),
                an: 4,
                key: key(),
                next_pn: 1
            })
            .unwrap(),
            Response::Error {
                code: ErrorCode::BadArgument,
                ..
            }
        ));
        assert!(matches!(
            c.request(&Request::InstallTxSa {
                link: link.clone(),
                an: 1,
                key: key(),
                next_pn: 7
            })
            .unwrap(),
            Response::Ok
        ));
        assert!(matches!(
            c.request(&Request::EnableTxSa {
                link: link.clone(),
                an: Some(1)
            })
            .unwrap(),
            Response::Ok
        ));
        assert!(matches!(
            c.request(&Request::InstallRxSa {
                link: link.clone(),
                sci: 0x22,
                an: 2,
                key: key(),
                lowest_pn: 3
            })
            .unwrap(),
            Response::Ok
        ));
        assert!(matches!(
            c.request(&Request::SetLowestPn {
                link: link.clone(),
                sci: 0x22,
                an: 2,
                pn: 9
            })
            .unwrap(),
            Response::Ok
        ));
        let Response::SaState(st) = c.request(&Request::ReadSaState { link: link.clone() }).unwrap() else {
            panic!()
        };
        assert_eq!(
            (st.encoding_an, st.tx[0].an, st.tx[0].next_pn, st.tx[0].in_use),
            (Some(1), 1, 7, true)
        );
        assert_eq!((st.rx[0].sci, st.rx[0].an, st.rx[0].lowest_pn), (0x22, 2, 9));
        // The Key Identifiers the SAs were installed with come back (a restarted macsecd's clue).
        assert_eq!((st.tx[0].ki, st.rx[0].ki), (Some([5; 16]), Some([5; 16])));
        // And the key check of the SAK they hold (HMAC-SHA-256(SAK, "MACsec SA key check")[..16]).
        let check = ipc::key_check(&[1; 16]);
        assert_eq!(
            (st.tx[0].key_check, st.rx[0].key_check),
            (Some(check), Some(check))
        );
        assert!(matches!(
            c.request(&Request::InjectEapol {
                link: link.clone(),
                frame: vec![0; 60]
            })
            .unwrap(),
            Response::Error {
                code: ErrorCode::BadArgument,
                ..
            }
        ));
        // Malformed and wrong-version messages get an error and change nothing.
        let reply = c.raw(&[0xff, 0xff, 0xff]).unwrap();
        assert!(matches!(
            ipc::decode::<Response>(&reply).unwrap().body,
            Response::Error {
                code: ErrorCode::Malformed | ErrorCode::Version,
                ..
            }
        ));
        let mut bytes = ipc::encode(
            9,
            &Request::DeleteTxSa {
                link: link.clone(),
                an: 1,
            },
        )
        .unwrap();
        bytes[0] = (ipc::VERSION + 1) as u8; // another version
        let reply = ipc::decode::<Response>(&c.raw(&bytes).unwrap()).unwrap();
        assert_eq!(reply.id, 9);
        assert!(matches!(
            reply.body,
            Response::Error {
                code: ErrorCode::Version,
                ..
            }
        ));
        let Response::SaState(st2) = c.request(&Request::ReadSaState { link: link.clone() }).unwrap() else {
            panic!()
        };
        assert_eq!(st2, st);
        // Events reach subscribers.
        assert!(matches!(c.request(&Request::Subscribe).unwrap(), Response::Ok));
        events
            .send(Event::PnThreshold {
                link: link.clone(),
                an: 1,
                next_pn: 5,
            })
            .unwrap();
        assert_eq!(
            c.next_event(Duration::from_secs(2)).unwrap(),
            Some(Event::PnThreshold {
                link,
                an: 1,
                next_pn: 5
            })
        );
        stop.store(true, Ordering::Relaxed);
        std::thread::sleep(POLL * 3);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn event(i: u64) -> Event {
        Event::PnThreshold {
            link: "Te0/0/0/1".into(),
            an: 1,
            next_pn: i,
        }
    }

    #[test]
    fn a_stalled_subscriber_is_dropped_and_the_others_get_every_event() {
        const N: u64 = 800;
        // Deadlines, not durations: each wait ends as soon as its condition holds (about 2 s
        // in all, the send timeout). They are long because on a loaded 2-core machine one run
        // saw the whole test take over 10 s.
        const DEADLINE: Duration = Duration::from_secs(60);
        let dir = tempfile::tempdir().unwrap();
        let (server, stop, path, events) = setup_with(dir.path(), 4096);
        let mut good = Client::connect(&path).unwrap();
        let mut stalled = Client::connect(&path).unwrap();
        assert!(matches!(good.request(&Request::Subscribe).unwrap(), Response::Ok));
        assert!(matches!(
            stalled.request(&Request::Subscribe).unwrap(),
            Response::Ok
        ));
        let t0 = std::time::Instant::now();
        let feeder = std::thread::spawn(move || {
            for i in 1..=N {
                if events.send_timeout(event(i), DEADLINE).is_err() {
                    return false;
                }
            }
            true
        });
        let mut got = Vec::new();
        while got.len() < N as usize && t0.elapsed() < DEADLINE {
            if let Some(Event::PnThreshold { next_pn, .. }) =
                good.next_event(Duration::from_millis(200)).unwrap()
            {
                got.push(next_pn);
            }
        }
        assert_eq!(got.len(), N as usize, "the live subscriber gets every event");
        assert_eq!(got, (1..=N).collect::<Vec<_>>(), "in order");
        assert!(feeder.join().unwrap());
        // The stalled subscriber is closed (and counted) once an event has waited its send timeout:
        // after what its socket held, EOF.
        while server.stats().dropped_subscribers == 0 && t0.elapsed() < DEADLINE {
            std::thread::sleep(POLL);
        }
        assert_eq!(server.stats().dropped_subscribers, 1);
        let mut closed = false;
        while t0.elapsed() < DEADLINE {
            match stalled.next_event(Duration::from_millis(200)) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    closed = true;
                    break;
                }
                Err(e) => panic!("{e}"),
                Ok(_) => {}
            }
        }
        assert!(closed, "the stalled subscriber is closed");
        stop.store(true, Ordering::Relaxed);
    }

    #[test]
    fn connections_over_the_cap_are_closed() {
        let dir = tempfile::tempdir().unwrap();
        let (server, stop, path, _events) = setup(dir.path());
        let mut open: Vec<Client> = (0..16).map(|_| Client::connect(&path).unwrap()).collect();
        for c in &mut open {
            assert!(matches!(
                c.request(&Request::Hello).unwrap(),
                Response::Hello { .. }
            ));
        }
        let mut over = Client::connect(&path).unwrap();
        assert!(
            over.request(&Request::Hello).is_err(),
            "the 17th connection is closed"
        );
        // A closed connection frees its place.
        drop(open.pop());
        let t0 = std::time::Instant::now();
        // Until the server has seen the close, a new connection is over the cap too (and counted).
        let mut refused_before = 0;
        loop {
            let ok = Client::connect(&path)
                .and_then(|mut c| c.request(&Request::Hello))
                .is_ok();
            if ok {
                break;
            }
            refused_before += 1;
            assert!(t0.elapsed() < Duration::from_secs(3), "a place was freed");
            std::thread::sleep(POLL);
        }
        assert_eq!(server.stats().refused_over_cap, 1 + refused_before);
        stop.store(true, Ordering::Relaxed);
    }

    #[test]
    fn the_socket_directory_is_created_and_a_writable_one_refused() {
        let base = tempfile::tempdir().unwrap();
        let (_server, stop, path, _events) = setup(&base.path().join("run/macsec"));
        assert_eq!(
            std::fs::metadata(base.path().join("run/macsec"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o750
        );
        assert!(path.exists());
        stop.store(true, Ordering::Relaxed);
        let loose = base.path().join("loose");
        std::fs::create_dir(&loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o777)).unwrap();
        let server = Server::new(Vec::new(), Backend::Ring);
        let (_etx, erx) = crossbeam_channel::bounded(1);
        let e = server
            .serve(
                &loose.join("ctl.sock"),
                Access::default(),
                crossbeam_channel::never(),
                erx,
                Arc::new(AtomicBool::new(false)),
            )
            .expect_err("a world-writable socket directory is refused");
        assert_eq!(
            e.to_string(),
            format!(
                "socket directory {} is writable by its group or others (mode 0777); make it 0750 or stricter",
                loose.display()
            )
        );
    }

    /// Run as a child process by `peers_are_checked`: connects to the socket in
    /// MACSEC_PEER_HELPER and says whether it was served.
    #[test]
    fn peer_helper() {
        let Some(path) = std::env::var_os("MACSEC_PEER_HELPER") else {
            return;
        };
        let verdict = match Client::connect(Path::new(&path)) {
            Err(e) => format!("connect failed: {e}"),
            Ok(mut c) => match c.request(&Request::Hello) {
                Ok(Response::Hello { .. }) => "admitted".to_string(),
                Ok(other) => format!("answered {other:?}"),
                Err(_) => "refused".to_string(),
            },
        };
        println!("PEER: {verdict}");
    }

    /// Runs `peer_helper` as uid 65534 with group `gid` against `path`.
    fn peer(path: &Path, gid: u32) -> String {
        use std::os::unix::process::CommandExt;
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "server::tests::peer_helper",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MACSEC_PEER_HELPER", path)
            .uid(65534)
            .gid(gid)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.split("PEER: ").nth(1))
            .unwrap_or("no verdict")
            .to_string()
    }

    #[test]
    fn peers_are_checked() {
        if ipc::sock::euid() != 0 {
            eprintln!("peers_are_checked: skipped (needs root to run a child as another uid)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (server, stop, path, _events) = setup(dir.path());
        // Even with the socket file opened to everyone, a stranger is not served.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(peer(&path, 65534), "refused");
        assert_eq!(peer(&path, 65534), "refused");
        let mut c = Client::connect(&path).unwrap();
        assert!(matches!(
            c.request(&Request::Hello).unwrap(),
            Response::Hello { .. }
        ));
        assert_eq!(server.stats().refused_peers, 2);
        stop.store(true, Ordering::Relaxed);
        // With a socket group, its members are served (the socket is then 0660 with that group).
        let dir2 = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir2.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (server, stop, path, _events) = setup_access(dir2.path(), 16, Access { group: Some(4242) });
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o660
        );
        assert_eq!(
            std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(&path).unwrap()),
            4242
        );
        assert_eq!(peer(&path, 4242), "admitted");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(peer(&path, 4243), "refused");
        assert_eq!(server.stats().refused_peers, 1);
        stop.store(true, Ordering::Relaxed);
    }

    #[test]
    fn control_events_go_before_punts_and_live_peers_reach_the_worker() {
        let dir = std::env::temp_dir().join(format!("macsec-srv-q-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ctl.sock");
        let (tx, worker) = crossbeam_channel::bounded::<Command>(16);
        let info = LinkInfo {
            interface: "Te0/0/0/1".into(),
            host_port: "h".into(),
            line_port: "l".into(),
            tx_sci: 0x11,
        };
        let server = Server::new(
            vec![Arc::new(LinkHandle::new(info, policy(), Arc::new(Recorder(tx))))],
            Backend::Ring,
        );
        let (ctx, crx) = crossbeam_channel::bounded(4);
        let (etx, erx) = crossbeam_channel::bounded(64);
        let punt = |i: u8| Event::EapolReceived {
            link: "Te0/0/0/1".into(),
            frame: vec![i; 20],
        };
        let threshold = Event::PnThreshold {
            link: "Te0/0/0/1".into(),
            an: 1,
            next_pn: 5,
        };
        for i in 0..32 {
            etx.send(punt(i)).unwrap();
        }
        ctx.send(threshold.clone()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        server
            .serve(&path, Access::default(), crx, erx, stop.clone())
            .unwrap();
        let mut c = Client::connect(&path).unwrap();
        let link = "Te0/0/0/1".to_string();
        let many = vec![[2u8; 6]; 65];
        assert!(matches!(
            c.request(&Request::SetLivePeers {
                link: link.clone(),
                macs: many
            })
            .unwrap(),
            Response::Error {
                code: ErrorCode::BadArgument,
                ..
            }
        ));
        assert!(matches!(
            c.request(&Request::SetLivePeers {
                link,
                macs: vec![[2; 6]]
            })
            .unwrap(),
            Response::Ok
        ));
        assert!(matches!(worker.try_recv(), Ok(Command::SetLivePeers(m)) if m == vec![[2; 6]]));
        assert!(matches!(c.request(&Request::Subscribe).unwrap(), Response::Ok));
        let mut got = Vec::new();
        while let Some(ev) = c.next_event(Duration::from_secs(2)).unwrap() {
            got.push(ev);
            if got.len() == 33 {
                break;
            }
        }
        let mut want = vec![threshold];
        want.extend((0..32).map(punt));
        assert_eq!(got, want);
        stop.store(true, Ordering::Relaxed);
        std::thread::sleep(POLL * 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
