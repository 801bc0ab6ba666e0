//! The heart of `macsecd`: one MKA engine per interface, driven on the real clock, bridged to the
//! dataplane's control socket. MKPDUs arrive as EAPOL punts and leave as injects, SA commands
//! become `ipc` requests, PN-threshold reports trigger rekeys, and the interface's key
//! chains decide which participants run (CAK rollover, key expiry, fallback PSK).

use crate::config::{PortSetup, SksProfile, SksProfileType};
use crate::log::{LogEvent, PortEvent, PpkSourceKind};
use crate::ppk::{source_for, KeyId, Ppk, PpkError, PpkSource, SourceOptions};
use crate::show::{CaRow, InterfaceRow, SessionRow, ShowData, SummaryRow};
use ipc::Client;
use ipc::{ErrorCode, Event, KeyMsg, LinkInfo, Request, Response};
use macsec::secy::{ConfOffset, Sci};
use mka::kay::{Mka, MkaConfig, ParticipantStatus, PpkRequest, SaCommand, BOUNDED_HELLO_TIME};
use mka::keychain::{unix_seconds, Current, PrimaryPlan};
use mka::{Cak, Ckn};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// Where the PPK sources keep their state, and the SKIP settings the configuration does not
/// carry (macsecd's `--state-dir`, `--trust-point`).
#[derive(Debug, Clone)]
pub struct PpkEnv {
    /// The SKS state directory (seeds, key pair, trust points, SKIP counters).
    pub state_dir: PathBuf,
    pub options: SourceOptions,
}

impl Default for PpkEnv {
    fn default() -> Self {
        PpkEnv {
            state_dir: PathBuf::from(crate::ppk::DEFAULT_STATE_DIR),
            options: SourceOptions::default(),
        }
    }
}

/// Inherited SAs due for deletion: Tx (AN, key) and Rx (peer SCI, AN, key), as [`Inherited`] holds them.
type DueSas = (Vec<(u8, Option<[u8; 16]>)>, Vec<(u64, u8, Option<[u8; 16]>)>);

/// An answer of the PPK worker: the request it answers, and (key ID, PPK) or why not.
type PpkAnswer = (PpkRequest, Result<(KeyId, Ppk), PpkError>);

/// Why a PPK request could not even go to the PPK source (the engine shows and logs the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PpkUnavailable {
    #[error("the PPK worker thread stopped")]
    WorkerStopped,
    #[error("no ppk sks-profile is configured")]
    NotConfigured,
}

/// A port's PPK source on a thread of its own: the source calls may block (SKIP is HTTPS with
/// timeouts and retries), so the MKA loop only hands requests over and picks the answers up.
/// The source is built on the worker at the first request, and again at the next one as long
/// as it cannot be (a trust point or seed installed later is then used); while it cannot be,
/// every request fails with the reason.
struct PpkWorker {
    requests: mpsc::Sender<(PpkRequest, Instant)>,
    answers: mpsc::Receiver<(PpkAnswer, Duration)>,
    /// Requests handed over and not answered yet.
    outstanding: usize,
}

impl PpkWorker {
    fn spawn(
        interface: &str,
        profile: SksProfile,
        env: PpkEnv,
        span: tracing::Span,
    ) -> io::Result<PpkWorker> {
        let (req_tx, req_rx) = mpsc::channel::<(PpkRequest, Instant)>();
        let (ans_tx, ans_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("ppk {interface}"))
            .spawn(move || {
                let _in_port = span.entered();
                let mut source: Option<Box<dyn PpkSource>> = None;
                // Ends when the port is dropped (its sender goes) or stops listening.
                while let Ok((req, asked_at)) = req_rx.recv() {
                    let result = ppk_answer(&mut source, &profile, &env, &req);
                    if ans_tx.send(((req, result), asked_at.elapsed())).is_err() {
                        break;
                    }
                }
            })?;
        Ok(PpkWorker {
            requests: req_tx,
            answers: ans_rx,
            outstanding: 0,
        })
    }
}

/// One request, on the worker thread.
fn ppk_answer(
    source: &mut Option<Box<dyn PpkSource>>,
    profile: &SksProfile,
    env: &PpkEnv,
    req: &PpkRequest,
) -> Result<(KeyId, Ppk), PpkError> {
    let src = match source {
        Some(s) => s,
        None => source.insert(source_for(profile, &env.state_dir, &env.options)?),
    };
    match req {
        PpkRequest::New { .. } => src.new_key(),
        PpkRequest::ById { key_id, .. } => {
            let id = KeyId::new(key_id.as_bytes())?;
            src.key_by_id(&id).map(|ppk| (id, ppk))
        }
    }
}

/// A session's Status in the show views: Secured once a key is in use, else Pending.
fn session_status(secured: bool) -> &'static str {
    if secured {
        "Secured"
    } else {
        "Pending"
    }
}

/// The guide's CA Authentication Mode.
fn auth_mode(fallback: bool) -> &'static str {
    if fallback {
        "FALLBACK-PSK"
    } else {
        "PRIMARY-PSK"
    }
}

/// One interface: its engine and key chain state.
pub struct Port {
    pub setup: PortSetup,
    pub mka: Mka,
    /// The primary key the engine runs on, and since when a rollover is under way.
    current: Option<(Ckn, Option<u64>)>,
    /// The participants running, by CKN: fallback or not, and a digest of the CAK they run with
    /// (a CAK changed under the same CKN restarts the participant).
    running: BTreeMap<Vec<u8>, (bool, [u8; 32])>,
    conf_offset: Option<Option<ConfOffset>>,
    /// Events to log on the next turn.
    pending_log: Vec<LogEvent>,
    /// SAs found in the dataplane when this engine started (see [`Inherited`]).
    inherited: Inherited,
    /// PPK mode: the worker that runs the policy's PPK source.
    ppk: Option<PpkWorker>,
    /// When the Tx SAs' next PNs are read from the dataplane next (for the engine's Lowest
    /// Acceptable PN, [`Mka::handle_tx_pn`]).
    next_pn_read: Duration,
    /// The `interface` span the port's work runs in (its PPK worker's too).
    span: tracing::Span,
}

/// SAs found in the dataplane when a port's engine started (macsecd restarted, or the policy
/// changed): an earlier engine installed them and traffic still flows on them. When the engine is
/// about to install a SAK an SA already holds (same Key Identifier on the same AN: the peer, as
/// key server, still distributes it), the SA is adopted as it is, with its PNs and replay state
/// (reinstalling would restart the PN at 1: the same SAK must never send a PN twice). The others
/// are left alone while this engine secures with fresh SAKs (Rx before Tx keeps traffic flowing;
/// a new AN never overwrites one in use) and deleted once this engine has transmitted on its own
/// key for [`Inherited::GRACE`], or when it has not secured within [`Inherited::DEADLINE`] of its
/// start (the peer is gone: the old keys serve no one).
#[derive(Debug, Default)]
struct Inherited {
    /// AN and the Key Identifier the SA was installed with.
    tx: Vec<(u8, Option<[u8; 16]>)>,
    /// SCI, AN, Key Identifier.
    rx: Vec<(u64, u8, Option<[u8; 16]>)>,
    /// When the engine first enabled transmit on a key of its own.
    own_tx_since: Option<Duration>,
    /// When the engine started (the [`Inherited::DEADLINE`] runs from here).
    since: Duration,
}

impl Inherited {
    /// How long the old SAs stay after this engine transmits on its own key: the peer moves its
    /// transmit to the new key within a hello or two.
    const GRACE: Duration = Duration::from_secs(6);
    /// How long the old SAs stay at most when no session comes up.
    const DEADLINE: Duration = Duration::from_secs(12);

    fn is_empty(&self) -> bool {
        self.tx.is_empty() && self.rx.is_empty()
    }

    /// The SAs to delete now, if their time has come.
    fn due(&mut self, now: Duration) -> Option<DueSas> {
        let due = match self.own_tx_since {
            Some(t) => now >= t + Self::GRACE,
            None => now >= self.since + Self::DEADLINE,
        };
        (due && !self.is_empty()).then(|| (std::mem::take(&mut self.tx), std::mem::take(&mut self.rx)))
    }
}

fn mka_keys(k: &mka::keychain::Key) -> Option<(Ckn, Cak)> {
    Some((k.ckn().clone(), Cak::from_bytes(k.cak()).ok()?))
}

impl Port {
    pub fn new(setup: PortSetup, tx_sci: Sci, now: Duration, env: &PpkEnv) -> io::Result<Port> {
        let mut cfg = MkaConfig::new(tx_sci, setup.cipher_suite);
        cfg.ppk = setup.ppk.is_some();
        let mut pending_log = Vec::new();
        let span = tracing::info_span!("interface", name = %setup.interface);
        let ppk = match &setup.ppk {
            None => None,
            Some(profile) => {
                let source = match profile.profile_type {
                    SksProfileType::Local => PpkSourceKind::Sks {
                        state_dir: env.state_dir.clone(),
                    },
                    SksProfileType::Remote => PpkSourceKind::Skip {
                        kme_server: profile.kme_server.clone(),
                    },
                };
                pending_log.push(LogEvent::port(
                    &setup.interface,
                    PortEvent::PpkProfile {
                        profile: profile.name.clone(),
                        source,
                    },
                ));
                Some(PpkWorker::spawn(
                    &setup.interface,
                    profile.clone(),
                    env.clone(),
                    span.clone(),
                )?)
            }
        };
        cfg.key_server_priority = setup.key_server_priority;
        cfg.conf_offset = setup.conf_offset;
        cfg.sak_rekey_interval = setup.sak_rekey_interval;
        cfg.delay_protection = setup.delay_protection;
        cfg.include_icv_indicator = setup.include_icv_indicator;
        let mka = Mka::new(cfg, Vec::new(), now).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Port {
            setup,
            mka,
            current: None,
            running: BTreeMap::new(),
            conf_offset: None,
            pending_log,
            inherited: Inherited::default(),
            ppk,
            next_pn_read: now,
            span,
        })
    }

    /// The `interface` span (`name` = the interface) the port's work runs in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// PPK mode: hands the engine's PPK requests to the worker.
    fn send_ppk_requests(&mut self, now: Duration, lines: &mut Vec<LogEvent>) {
        while let Some(req) = self.mka.poll_ppk_request() {
            let sent = match self.ppk.as_mut() {
                Some(w) => match w.requests.send((req.clone(), Instant::now())) {
                    Ok(()) => {
                        w.outstanding += 1;
                        Ok(())
                    }
                    Err(_) => Err(PpkUnavailable::WorkerStopped),
                },
                None => Err(PpkUnavailable::NotConfigured),
            };
            match sent {
                Ok(()) => {
                    let profile = self
                        .setup
                        .ppk
                        .as_ref()
                        .map(|p| p.name.clone())
                        .unwrap_or_default();
                    let key_id = match &req {
                        PpkRequest::New { .. } => None,
                        PpkRequest::ById { key_id, .. } => Some(key_id.clone()),
                    };
                    lines.push(LogEvent::port(
                        &self.setup.interface,
                        PortEvent::PpkAsking {
                            ckn: req.ckn().clone(),
                            profile,
                            key_id,
                        },
                    ));
                }
                Err(reason) => self.mka.handle_ppk(now, &req, Err(&reason.to_string())),
            }
        }
    }

    /// PPK mode: feeds the worker's answers to the engine.
    fn take_ppk_answers(&mut self, now: Duration, lines: &mut Vec<LogEvent>) {
        let Some(w) = self.ppk.as_mut() else { return };
        while let Ok(((req, result), took)) = w.answers.try_recv() {
            w.outstanding = w.outstanding.saturating_sub(1);
            let (ckn, ms) = (req.ckn().clone(), took.as_millis());
            match &result {
                Ok((id, ppk)) => {
                    lines.push(LogEvent::port(
                        &self.setup.interface,
                        PortEvent::PpkObtained {
                            ckn,
                            key_id: id.clone(),
                            ms,
                        },
                    ));
                    self.mka
                        .handle_ppk(now, &req, Ok((id.as_bytes(), ppk.as_bytes())));
                }
                // The engine reports the failure itself (PPK_FETCH_FAILURE, with the reason).
                Err(reason) => {
                    lines.push(LogEvent::port(
                        &self.setup.interface,
                        PortEvent::PpkRequestFailed { ckn, ms },
                    ));
                    self.mka.handle_ppk(now, &req, Err(&reason.to_string()));
                }
            }
        }
    }

    /// A PPK request is with the worker.
    fn ppk_outstanding(&self) -> bool {
        self.ppk.as_ref().is_some_and(|w| w.outstanding > 0)
    }

    /// Applies the key chains' plan at wall-clock `wall`: starts and stops participants.
    pub fn apply_keychains(&mut self, now: Duration, wall: u64) {
        let chain = &self.setup.keychain;
        let cur = self.current.as_ref().map(|(ckn, since)| match since {
            Some(s) => Current::rolling_over(ckn, *s),
            None => Current::new(ckn),
        });
        let plan = chain.plan(wall, cur, self.setup.fallback.as_ref());
        let mut want: Vec<(&mka::keychain::Key, bool)> =
            plan.primary_keys().into_iter().map(|k| (k, false)).collect();
        if let Some(k) = plan.fallback_key() {
            want.push((k, true));
        }
        self.current = match &plan.primary {
            PrimaryPlan::Start(k) | PrimaryPlan::Keep(k) => Some((k.ckn().clone(), None)),
            PrimaryPlan::Rollover { from, started, .. } => Some((from.ckn().clone(), Some(*started))),
            PrimaryPlan::RetireOld { to, .. } => Some((to.ckn().clone(), None)),
            PrimaryPlan::CurrentGone {
                replacement: Some(k), ..
            } => Some((k.ckn().clone(), None)),
            _ => None,
        };
        let wanted: BTreeMap<Vec<u8>, bool> = want
            .iter()
            .map(|(k, fb)| (k.ckn().as_bytes().to_vec(), *fb))
            .collect();
        let stale: Vec<Vec<u8>> = self
            .running
            .keys()
            .filter(|c| !wanted.contains_key(*c))
            .cloned()
            .collect();
        for c in stale {
            if let Ok(ckn) = Ckn::new(&c) {
                self.mka.remove_participant(now, &ckn);
            }
            self.running.remove(&c);
        }
        for (k, fb) in want {
            let id = k.ckn().as_bytes().to_vec();
            let mut digest = [0u8; 32];
            digest.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, k.cak()).as_ref());
            match self.running.get(&id) {
                Some(r) if *r == (fb, digest) => continue,
                Some(_) => {
                    // Same CKN, another CAK or role: the participant starts over with it.
                    if let Ok(ckn) = Ckn::new(&id) {
                        self.mka.remove_participant(now, &ckn);
                    }
                    self.running.remove(&id);
                }
                None => {}
            }
            if let Some((ckn, cak)) = mka_keys(k) {
                if self.mka.add_participant(now, ckn, cak, fb).is_ok() {
                    self.running.insert(id, (fb, digest));
                }
            }
        }
    }

    pub fn participants(&self) -> Vec<ParticipantStatus> {
        self.mka.participants()
    }

    /// This port's row of `show macsec mka summary`.
    pub fn summary_row(&self) -> SummaryRow {
        SummaryRow {
            interface: self.setup.interface.clone(),
            status: session_status(self.mka.is_secured()).into(),
            cipher_suite: self.setup.cipher_suite.name().into(),
            keychain: self.setup.keychain.name().to_string(),
        }
    }

    /// This port's part of `show macsec mka interface detail`.
    pub fn interface_row(&self) -> InterfaceRow {
        let s = &self.setup;
        InterfaceRow {
            interface: s.interface.clone(),
            local_tx_sci: self.mka.config().sci.0,
            policy: s.policy_name.clone(),
            cipher_suite: s.cipher_suite.name().into(),
            key_server_priority: s.key_server_priority,
            keychain: s.keychain.name().to_string(),
            fallback_keychain: s.fallback.as_ref().map(|f| f.chain().name().to_string()),
            status: session_status(self.mka.is_secured()).into(),
            cas: self
                .mka
                .participants()
                .iter()
                .map(|p| CaRow {
                    ckn: p.ckn.to_string(),
                    auth_mode: auth_mode(p.fallback).into(),
                    mi: p.mi.to_string(),
                    mn: p.mn,
                    live_peers: p.live_peers.len(),
                    potential_peers: p.potential_peers.len(),
                    status: if p.secured && !p.transmitting {
                        "Secured (standby)".into()
                    } else {
                        session_status(p.transmitting).into()
                    },
                })
                .collect(),
        }
    }

    /// This port's row of `show macsec mka session`: the participant that carries the traffic,
    /// else the first one.
    pub fn session_row(&self) -> Option<SessionRow> {
        let st = self.mka.participants();
        let p = st.iter().find(|p| p.transmitting).or(st.first())?;
        Some(SessionRow {
            interface: self.setup.interface.clone(),
            local_tx_sci: self.mka.config().sci.0,
            peers: p.live_peers.len(),
            status: session_status(p.transmitting).into(),
            key_server: p.key_server == Some(self.mka.config().sci),
            auth_mode: auth_mode(p.fallback).into(),
            ckn: p.ckn.to_string(),
            live_peers: p.live_peers.iter().map(|s| s.0).collect(),
            icv_failures: p.icv_failures,
            latest_kn: p.latest_key.map(|(ki, _)| ki.kn),
            latest_an: p.latest_key.map(|(_, an)| an),
            key_distribution_mode: p.key_distribution_mode.as_str().to_string(),
            ppk_key_id: p.ppk_key_id.as_ref().map(|id| id.to_string()),
            ppk_failure: p.ppk_failure.as_ref().map(|f| f.to_string()),
            sak_refused: p
                .cipher_suite_refused
                .map(|s| {
                    format!(
                        "the key server distributes {}, the policy's cipher-suite is {}",
                        s.name(),
                        self.mka.config().cipher_suite.name()
                    )
                })
                .or_else(|| p.sak_refused.map(|(from, why)| format!("from {from}: {why}"))),
        })
    }
}

/// The daemon: ports and their dataplane connections.
pub struct Daemon {
    pub ports: Vec<Port>,
    client: Client,
    events: Client,
    start: Instant,
    /// Where the PPK sources keep their state (for ports started on a reload).
    env: PpkEnv,
    /// Events to log on the next turn.
    notes: Vec<LogEvent>,
}

/// The dataplane's links.
fn links(client: &mut Client) -> io::Result<Vec<LinkInfo>> {
    match client.request(&Request::Hello)? {
        Response::Hello { links, .. } => Ok(links),
        other => Err(io::Error::other(format!("dataplane: unexpected reply {other:?}"))),
    }
}

/// Starts the engine of interface `s` on its dataplane link (transmit SCI `tx_sci`) at `now`. The
/// SAs the link already holds (a previous macsecd's, or this one's before a policy change) keep
/// carrying traffic while the new session secures ([`Inherited`]), with the confidentiality
/// offset they run with (the key server's choice, which can be less than the policy's) until the
/// new session's first Tx SA sets its own. With another cipher suite the dataplane drops them.
fn start_port(
    client: &mut Client,
    s: PortSetup,
    tx_sci: u64,
    now: Duration,
    env: &PpkEnv,
) -> io::Result<Port> {
    let held = match client.request(&Request::ReadSaState {
        link: s.interface.clone(),
    })? {
        Response::SaState(sa)
            if sa.policy.is_some_and(|p| p.cipher_suite == s.cipher_suite)
                && !(sa.tx.is_empty() && sa.rx.is_empty()) =>
        {
            Some(sa)
        }
        _ => None,
    };
    let offset = match held.as_ref().and_then(|sa| sa.policy) {
        Some(p) if !p.confidentiality => None,
        Some(p) => ConfOffset::from_octets(u64::from(p.conf_offset))
            .ok()
            .or(Some(s.conf_offset)),
        None => Some(s.conf_offset),
    };
    expect_ok(client.request(&Request::SetPolicy {
        link: s.interface.clone(),
        policy: s.policy(offset),
    }))?;
    let inherited = match held {
        Some(sa) => Inherited {
            tx: sa.tx.iter().map(|t| (t.an, t.ki)).collect(),
            rx: sa.rx.iter().map(|r| (r.sci, r.an, r.ki)).collect(),
            own_tx_since: None,
            since: now,
        },
        None => Inherited {
            since: now,
            ..Inherited::default()
        },
    };
    let mut port = Port::new(s, Sci(tx_sci), now, env)?;
    port.conf_offset = Some(offset);
    if !inherited.is_empty() {
        let (tx, rx) = (inherited.tx.len(), inherited.rx.len());
        port.pending_log.push(LogEvent::port(
            &port.setup.interface,
            PortEvent::SasInherited { tx, rx },
        ));
    }
    port.inherited = inherited;
    Ok(port)
}

/// An SA already gone (the dataplane dropped it with a cipher suite change) is what was wanted.
fn delete_sas(client: &mut Client, link: &str, tx: &[u8], rx: &[(u64, u8)]) -> io::Result<()> {
    let gone_is_ok = |r: io::Result<Response>| match r? {
        Response::Error {
            code: ErrorCode::NoSuchSa,
            ..
        } => Ok(()),
        other => expect_ok(Ok(other)),
    };
    for &an in tx {
        gone_is_ok(client.request(&Request::DeleteTxSa {
            link: link.to_string(),
            an,
        }))?;
    }
    for &(sci, an) in rx {
        gone_is_ok(client.request(&Request::DeleteRxSa {
            link: link.to_string(),
            sci,
            an,
        }))?;
    }
    Ok(())
}

fn expect_ok(r: io::Result<Response>) -> io::Result<()> {
    match r? {
        Response::Ok => Ok(()),
        Response::Error { code, message } => Err(io::Error::other(format!("dataplane: {code:?}: {message}"))),
        other => Err(io::Error::other(format!("dataplane: unexpected reply {other:?}"))),
    }
}

impl Daemon {
    /// Connects to the dataplane and sets up one engine per configured interface it has.
    /// `env` is where the PPK sources of `ppk sks-profile` policies keep their state.
    pub fn connect(dataplane: &Path, setups: Vec<PortSetup>, env: &PpkEnv) -> io::Result<Daemon> {
        let mut client = Client::connect(dataplane)?;
        let mut events = Client::connect(dataplane)?;
        let links = links(&mut client)?;
        let start = Instant::now();
        let (mut ports, mut notes) = (Vec::new(), Vec::new());
        for s in setups {
            // Said, not fatal: the other interfaces run, and a reconnection does not fail on it forever.
            let Some(link) = links.iter().find(|l| l.interface == s.interface) else {
                notes.push(LogEvent::port(
                    &s.interface,
                    PortEvent::NotALink { reload: false },
                ));
                continue;
            };
            ports.push(start_port(&mut client, s, link.tx_sci, Duration::ZERO, env)?);
        }
        expect_ok(events.request(&Request::Subscribe))?;
        Ok(Daemon {
            ports,
            client,
            events,
            start,
            env: env.clone(),
            notes,
        })
    }

    /// An orderly stop (SIGTERM, SIGINT): deletes every SA of our links, so that under
    /// must-secure nothing leaves in the clear and no key outlives its session. (A crash leaves
    /// them: the dataplane keeps forwarding on them until a new macsecd takes over.)
    pub fn shutdown(&mut self) -> io::Result<Vec<LogEvent>> {
        let mut lines = Vec::new();
        let links: Vec<String> = self.ports.iter().map(|p| p.setup.interface.clone()).collect();
        for link in links {
            let (tx, rx) = self.delete_link_sas(&link)?;
            lines.push(LogEvent::port(&link, PortEvent::Stopped { tx, rx }));
        }
        Ok(lines)
    }

    /// The `interface` span of `interface`'s port, if it runs.
    pub fn span(&self, interface: &str) -> Option<&tracing::Span> {
        self.ports
            .iter()
            .find(|p| p.setup.interface == interface)
            .map(Port::span)
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The engines' part of the show views (the configuration's part comes from
    /// [`ShowData::with_config`]).
    pub fn show_data(&self) -> ShowData {
        ShowData {
            sessions: self.ports.iter().filter_map(|p| p.session_row()).collect(),
            interfaces: self.ports.iter().map(|p| p.interface_row()).collect(),
            summary: self.ports.iter().map(|p| p.summary_row()).collect(),
            statistics: self
                .ports
                .iter()
                .map(|p| (p.setup.interface.clone(), p.mka.stats))
                .collect(),
            ..ShowData::default()
        }
    }

    /// Applies a reloaded configuration. Key chains (new keys, lifetimes, fallback) take effect
    /// hitlessly through the key chain plan (a newer key rolls over). A changed policy (cipher
    /// suite, conf-offset, priority, window, ppk profile...) restarts that interface's MKA session
    /// with it: the SAs in use keep carrying traffic until the new session secures, as on a
    /// macsecd restart (a new cipher suite cannot: the dataplane drops the old suite's SAs).
    /// An interface added is started; one removed is stopped and its SAs deleted.
    pub fn reload(&mut self, setups: Vec<PortSetup>) -> io::Result<Vec<LogEvent>> {
        let mut log = Vec::new();
        let now = self.now();
        let mut dp_links: Option<Vec<LinkInfo>> = None;
        let gone: Vec<String> = self
            .ports
            .iter()
            .map(|p| p.setup.interface.clone())
            .filter(|i| !setups.iter().any(|s| &s.interface == i))
            .collect();
        for link in gone {
            self.ports.retain(|p| p.setup.interface != link);
            let (tx, rx) = self.delete_link_sas(&link)?;
            log.push(LogEvent::port(&link, PortEvent::Removed { tx, rx }));
        }
        for s in setups {
            let Some(i) = self.ports.iter().position(|p| p.setup.interface == s.interface) else {
                let known = match &mut dp_links {
                    Some(l) => l,
                    None => dp_links.insert(links(&mut self.client)?),
                };
                match known.iter().find(|l| l.interface == s.interface) {
                    Some(l) => {
                        let name = s.interface.clone();
                        self.ports
                            .push(start_port(&mut self.client, s, l.tx_sci, now, &self.env)?);
                        log.push(LogEvent::port(&name, PortEvent::Added));
                    }
                    None => log.push(LogEvent::port(&s.interface, PortEvent::NotALink { reload: true })),
                }
                continue;
            };
            let o = &self.ports[i].setup;
            let policy_changed = (
                o.cipher_suite,
                o.conf_offset,
                o.key_server_priority,
                o.security_policy,
                o.replay_window,
                o.delay_protection,
                o.include_icv_indicator,
                o.sak_rekey_interval,
                o.lacp_in_clear,
                &o.ppk,
            ) != (
                s.cipher_suite,
                s.conf_offset,
                s.key_server_priority,
                s.security_policy,
                s.replay_window,
                s.delay_protection,
                s.include_icv_indicator,
                s.sak_rekey_interval,
                s.lacp_in_clear,
                &s.ppk,
            );
            if policy_changed {
                let (name, tx_sci) = (s.interface.clone(), self.ports[i].mka.config().sci.0);
                self.ports[i] = start_port(&mut self.client, s, tx_sci, now, &self.env)?;
                log.push(LogEvent::port(&name, PortEvent::PolicyChanged));
                continue;
            }
            let p = &mut self.ports[i];
            p.setup.keychain = s.keychain;
            p.setup.fallback = s.fallback;
            log.push(LogEvent::port(&s.interface, PortEvent::KeychainsApplied));
        }
        Ok(log)
    }

    /// Deletes every SA of `link`; returns how many Tx and Rx SAs.
    fn delete_link_sas(&mut self, link: &str) -> io::Result<(usize, usize)> {
        let sa = match self.client.request(&Request::ReadSaState {
            link: link.to_string(),
        })? {
            Response::SaState(sa) => sa,
            _ => return Ok((0, 0)),
        };
        let tx: Vec<u8> = sa.tx.iter().map(|t| t.an).collect();
        let rx: Vec<(u64, u8)> = sa.rx.iter().map(|r| (r.sci, r.an)).collect();
        delete_sas(&mut self.client, link, &tx, &rx)?;
        Ok((tx.len(), rx.len()))
    }

    /// One turn of the loop: waits up to `max_wait` for dataplane events, then runs the engines
    /// and carries out what they ask. Returns the events to log, in order.
    pub fn turn(&mut self, max_wait: Duration) -> io::Result<Vec<LogEvent>> {
        let wall = unix_seconds(SystemTime::now());
        let now = self.now();
        for p in &mut self.ports {
            let _in_port = p.span.clone().entered();
            p.apply_keychains(now, wall);
        }
        // While a PPK source works, look for its answer often.
        let max_wait = if self.ports.iter().any(Port::ppk_outstanding) {
            max_wait.min(Duration::from_millis(5))
        } else {
            max_wait
        };
        let deadline = self
            .ports
            .iter()
            .filter_map(|p| p.mka.poll_timeout())
            .min()
            .unwrap_or(now + max_wait);
        let wait = deadline
            .saturating_sub(now)
            .clamp(Duration::from_millis(1), max_wait);
        if let Some(ev) = self.events.next_event(wait)? {
            let now = self.now();
            match ev {
                Event::EapolReceived { link, frame } => {
                    if let Some(p) = self.ports.iter_mut().find(|p| p.setup.interface == link) {
                        p.mka.handle_mkpdu(now, &frame);
                    }
                }
                Event::PnThreshold { link, .. } => {
                    if let Some(p) = self.ports.iter_mut().find(|p| p.setup.interface == link) {
                        p.mka.handle_pn_threshold(now);
                    }
                }
            }
        }
        let now = self.now();
        let mut lines = std::mem::take(&mut self.notes);
        for i in 0..self.ports.len() {
            let _in_port = self.ports[i].span.clone().entered();
            self.ports[i].take_ppk_answers(now, &mut lines);
            self.read_tx_pns(i, now)?;
            if self.ports[i].mka.poll_timeout().is_some_and(|t| t <= now) {
                self.ports[i].mka.handle_timeout(now);
            }
            lines.append(&mut self.ports[i].pending_log);
            self.drain(i, &mut lines)?;
            self.retire_inherited(i, now, &mut lines)?;
        }
        Ok(lines)
    }

    /// Every [`BOUNDED_HELLO_TIME`] while the engine has Tx SAs: their next PNs, read from the
    /// dataplane, go to the engine, which reports the PN in use two seconds ago as each key's
    /// Lowest Acceptable PN (delay protection on the peer).
    fn read_tx_pns(&mut self, i: usize, now: Duration) -> io::Result<()> {
        let port = &mut self.ports[i];
        let ans = port.mka.tx_ans();
        if now < port.next_pn_read || ans.is_empty() {
            return Ok(());
        }
        port.next_pn_read = now + BOUNDED_HELLO_TIME;
        if let Response::SaState(sa) = self.client.request(&Request::ReadSaState {
            link: port.setup.interface.clone(),
        })? {
            for t in sa.tx.iter().filter(|t| ans.contains(&t.an)) {
                port.mka.handle_tx_pn(now, t.an, t.next_pn);
            }
        }
        Ok(())
    }

    fn retire_inherited(&mut self, i: usize, now: Duration, lines: &mut Vec<LogEvent>) -> io::Result<()> {
        let Some((tx, rx)) = self.ports[i].inherited.due(now) else {
            return Ok(());
        };
        let link = self.ports[i].setup.interface.clone();
        let tx_ans: Vec<u8> = tx.iter().map(|(an, _)| *an).collect();
        let rx_sas: Vec<(u64, u8)> = rx.iter().map(|(sci, an, _)| (*sci, *an)).collect();
        delete_sas(&mut self.client, &link, &tx_ans, &rx_sas)?;
        lines.push(LogEvent::port(
            &link,
            PortEvent::SasRetired {
                tx: tx.len(),
                rx: rx.len(),
            },
        ));
        Ok(())
    }

    fn drain(&mut self, i: usize, lines: &mut Vec<LogEvent>) -> io::Result<()> {
        let link = self.ports[i].setup.interface.clone();
        // SA changes first, MKPDUs after: an MKPDU announces what the dataplane already does. The
        // peer acts on "receives with the new key" at once (the key server starts transmitting),
        // so an MKPDU sent before its Rx SA install loses the peer's first frames on that key.
        // Requests are carried out in order, so the line sees the MKPDU after the install.
        while let Some(c) = self.ports[i].mka.poll_sa_command() {
            // The key server may have chosen less confidentiality than the policy (also for a Tx SA
            // adopted below: the link may still run with another session's offset).
            if let SaCommand::InstallTx { conf_offset, .. } = &c {
                if self.ports[i].conf_offset != Some(*conf_offset) {
                    let policy = self.ports[i].setup.policy(*conf_offset);
                    expect_ok(self.client.request(&Request::SetPolicy {
                        link: link.clone(),
                        policy,
                    }))?;
                    self.ports[i].conf_offset = Some(*conf_offset);
                }
            }
            // An install on a slot the previous session used replaces that SA, or adopts it when
            // it already holds this SAK.
            let inh = &mut self.ports[i].inherited;
            match &c {
                SaCommand::InstallRx { sci, an, ki, .. } => {
                    let held = inh.rx.iter().any(|x| *x == (sci.0, *an, Some(ki.to_bytes())));
                    inh.rx.retain(|x| (x.0, x.1) != (sci.0, *an));
                    if held {
                        let (sci, an, ki) = (*sci, *an, *ki);
                        lines.push(LogEvent::port(&link, PortEvent::RxSaAdopted { sci, an, ki }));
                        continue;
                    }
                }
                SaCommand::InstallTx { an, ki, .. } => {
                    let held = inh.tx.iter().any(|x| *x == (*an, Some(ki.to_bytes())));
                    inh.tx.retain(|x| x.0 != *an);
                    if held {
                        let (an, ki) = (*an, *ki);
                        lines.push(LogEvent::port(&link, PortEvent::TxSaAdopted { an, ki }));
                        continue;
                    }
                }
                SaCommand::EnableTx { .. } => {
                    inh.own_tx_since.get_or_insert(self.start.elapsed());
                }
                _ => {}
            }
            let req = match c {
                SaCommand::InstallRx {
                    sci,
                    an,
                    ki,
                    sak,
                    ssci,
                    salt,
                    lowest_pn,
                    ..
                } => Request::InstallRxSa {
                    link: link.clone(),
                    sci: sci.0,
                    an,
                    key: KeyMsg {
                        sak: sak.as_bytes().to_vec().into(),
                        ssci: ssci.0,
                        salt: salt.0,
                        ki: Some(ki.to_bytes()),
                    },
                    lowest_pn,
                },
                SaCommand::InstallTx {
                    an,
                    ki,
                    sak,
                    ssci,
                    salt,
                    next_pn,
                    ..
                } => Request::InstallTxSa {
                    link: link.clone(),
                    an,
                    key: KeyMsg {
                        sak: sak.as_bytes().to_vec().into(),
                        ssci: ssci.0,
                        salt: salt.0,
                        ki: Some(ki.to_bytes()),
                    },
                    next_pn,
                },
                SaCommand::EnableTx { an } => Request::EnableTxSa {
                    link: link.clone(),
                    an: Some(an),
                },
                SaCommand::DeleteRx { sci, an } => Request::DeleteRxSa {
                    link: link.clone(),
                    sci: sci.0,
                    an,
                },
                SaCommand::DeleteTx { an } => Request::DeleteTxSa {
                    link: link.clone(),
                    an,
                },
                SaCommand::SetLowestPn { sci, an, pn } => Request::SetLowestPn {
                    link: link.clone(),
                    sci: sci.0,
                    an,
                    pn,
                },
            };
            expect_ok(self.client.request(&req))?;
        }
        // One request for every MKPDU: the client sends it by reference, so its frame buffer
        // stays here and goes back to the engine at the next poll_transmit (which recycles it
        // for the MKPDU after).
        let mut inject = Request::InjectEapol {
            link: link.clone(),
            frame: Vec::new(),
        };
        while let Request::InjectEapol { frame, .. } = &mut inject {
            if self.ports[i].mka.poll_transmit(frame).is_none() {
                break;
            }
            expect_ok(self.client.request(&inject))?;
        }
        while let Some(e) = self.ports[i].mka.poll_event() {
            lines.push(LogEvent::mka(&link, e));
        }
        // Last: a request refused at once (no worker) is answered here and its effects are
        // drained at the next turn.
        let now = self.now();
        self.ports[i].send_ppk_requests(now, lines);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mka::ppk::PpkKeyId;

    const CONF: &str = "\
key chain KC1
 macsec
  key 1234abcd5678
   key-string 4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708 cryptographic-algorithm AES-256-CMAC
   lifetime 05:00:00 01 January 2015 infinite
!
sks profile prof-A device-identifier peer-1
 peer-identifier peer-2
!
macsec-policy P1
 ppk sks-profile prof-A
!
macsec-policy P2
!
interface TenGigE0/0/0/1
 macsec psk-keychain KC1 policy P1
!
interface TenGigE0/0/0/2
 macsec psk-keychain KC1 policy P2
!
";

    fn ask(w: &PpkWorker, req: PpkRequest) -> Result<(KeyId, Ppk), PpkError> {
        w.requests.send((req.clone(), Instant::now())).unwrap();
        let ((got, result), _) = w.answers.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(got, req);
        result
    }

    #[test]
    fn port_setup_carries_the_policys_sks_profile() {
        let c = crate::config::Config::parse(CONF).unwrap();
        let s = c.port_setups().unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].interface, "TenGigE0/0/0/1");
        assert_eq!(s[0].ppk.as_ref(), c.sks_profiles.get("prof-A"));
        assert_eq!(s[0].ppk.as_ref().unwrap().name, "prof-A");
        assert_eq!(s[1].interface, "TenGigE0/0/0/2");
        assert!(s[1].ppk.is_none());
    }

    #[test]
    fn ppk_worker_answers_from_the_sks_seed_and_says_why_it_cannot() {
        let c = crate::config::Config::parse(CONF).unwrap();
        let profile = c.sks_profiles["prof-A"].clone();
        let dir = tempfile::tempdir().unwrap();
        let env = PpkEnv {
            state_dir: dir.path().to_path_buf(),
            options: SourceOptions::default(),
        };
        let w = PpkWorker::spawn("TenGigE0/0/0/1", profile, env, tracing::Span::none()).unwrap();
        let ckn = Ckn::new(&[0x12, 0x34]).unwrap();
        let new = PpkRequest::New { ckn: ckn.clone() };
        // No seed yet: every request fails with the reason.
        assert_eq!(
            ask(&w, new.clone()).unwrap_err().to_string(),
            "no seed shared with peer peer-2 of sks profile prof-A (export it with `crypto sks seed export mceliece` on the master, import it with `crypto sks seed import mceliece` on the other side)"
        );
        // A seed installed while the daemon runs is used at the next request.
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
        std::fs::create_dir_all(dir.path().join("peers")).unwrap();
        std::fs::write(dir.path().join("peers/peer-2.seed"), seed).unwrap();
        let (id, ppk) = ask(&w, new).unwrap();
        assert_eq!(id.as_bytes().len(), 16);
        assert_eq!(ppk, crate::ppk::derive_sks_ppk(&seed, &id).unwrap());
        let by_id = PpkRequest::ById {
            ckn,
            key_id: PpkKeyId::new(id.as_bytes()).unwrap(),
        };
        let (id2, ppk2) = ask(&w, by_id).unwrap();
        assert_eq!((id2, ppk2), (id, ppk));
        // The known answer of docs/ppk.md: seed 00..1f, key ID a0..af.
        let kid: Vec<u8> = (0xa0..=0xaf).collect();
        let by_id = PpkRequest::ById {
            ckn: Ckn::new(&[0x12, 0x34]).unwrap(),
            key_id: PpkKeyId::new(&kid).unwrap(),
        };
        let (_, ppk) = ask(&w, by_id).unwrap();
        assert_eq!(
            hex::encode(ppk.as_bytes()),
            "0b0ebd0716a47add82d9c1c84c50f8247186d36fbe0953cca1b8cb6dc172123b"
        );
    }

    #[test]
    fn ppk_worker_reports_a_source_that_cannot_be_built() {
        let mut profile = SksProfile::new("prof-R", SksProfileType::Remote);
        profile.kme_server = Some(crate::config::ServerAddress {
            host: crate::config::Host::Ipv4([192, 0, 2, 34].into()),
            port: 10001,
        });
        let dir = tempfile::tempdir().unwrap();
        let env = PpkEnv {
            state_dir: dir.path().to_path_buf(),
            options: SourceOptions::default(),
        };
        let w = PpkWorker::spawn("TenGigE0/0/0/1", profile, env, tracing::Span::none()).unwrap();
        let req = PpkRequest::New {
            ckn: Ckn::new(&[0x12, 0x34]).unwrap(),
        };
        let e = ask(&w, req.clone()).unwrap_err().to_string();
        let tp = dir.path().join("trustpoint/prof-R.pem");
        assert_eq!(
            e,
            format!(
                "the trust point {} could not be used: I/O error: No such file or directory (os error 2)",
                tp.display()
            )
        );
        // Still the same reason at the next request (the source is tried again each time).
        assert_eq!(ask(&w, req).unwrap_err().to_string(), e);
    }
}
