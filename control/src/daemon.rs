//! The heart of `macsecd`: one MKA engine per interface, driven on the real clock, bridged to the
//! dataplane's control socket. MKPDUs arrive as EAPOL punts and leave as injects, SA commands
//! become `dataplane::ipc` requests, PN-threshold reports trigger rekeys, and the interface's key
//! chains decide which participants run (CAK rollover, key expiry, fallback PSK).

use crate::keychain::{unix_seconds, Current, FallbackPsk, KeyChain, PrimaryPlan};
use crate::mka::kay::{Mka, MkaConfig, MkaEvent, ParticipantStatus, SaCommand};
use crate::mka::{Cak, Ckn};
use crate::show::{CaRow, InterfaceRow, SessionRow};
use dataplane::ipc::{Event, KeyMsg, PolicyMsg, Request, Response, SecurityPolicy};
use dataplane::secy::{CipherSuite, ConfOffset, Sci, ValidateFrames};
use dataplane::server::Client;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// What macsecd needs to run MKA on one interface (from the IOS XR configuration).
#[derive(Debug, Clone)]
pub struct PortSetup {
    pub interface: String,
    /// The `macsec-policy` in force (the default policy's name when none is given).
    pub policy_name: String,
    pub cipher_suite: CipherSuite,
    pub conf_offset: ConfOffset,
    pub key_server_priority: u8,
    pub security_policy: SecurityPolicy,
    pub replay_window: u32,
    pub delay_protection: bool,
    pub sak_rekey_interval: Option<Duration>,
    pub lacp_in_clear: bool,
    pub include_icv_indicator: bool,
    pub keychain: KeyChain,
    pub fallback: Option<FallbackPsk>,
}

impl PortSetup {
    /// The dataplane policy for this port (the SAs carry the keys).
    pub fn policy(&self, conf_offset: Option<ConfOffset>) -> PolicyMsg {
        PolicyMsg {
            cipher_suite: self.cipher_suite,
            conf_offset: conf_offset.map(|o| o.octets() as u8).unwrap_or(0),
            confidentiality: conf_offset.is_some(),
            include_sci: true,
            use_es: false,
            use_scb: false,
            validate_frames: ValidateFrames::Strict,
            replay_protect: true,
            replay_window: self.replay_window,
            security_policy: self.security_policy,
            lacp_in_clear: self.lacp_in_clear,
        }
    }
}

/// Syslog-style line for an event, with the IOS XR mnemonic.
pub fn syslog_line(interface: &str, ev: &MkaEvent) -> String {
    match ev {
        MkaEvent::SessionSecured { ckn, fallback: false, .. } => {
            format!("%L2-MKA-5-SESSION_SECURED : ({interface}) MKA session secured, CKN:{ckn}")
        }
        MkaEvent::SessionSecured { ckn, fallback: true, .. } => {
            format!("%L2-MKA-5-SESSION_SECURED_WITH_FALLBACK_PSK : ({interface}) MKA session secured with fallback PSK, CKN:{ckn}")
        }
        MkaEvent::IcvFailure { ckn, fallback } => format!(
            "%L2-MKA-3-{}MKPDU_ICV_FAILURE : ({interface}) ICV validation of MKPDU failed for CKN:{ckn}",
            if *fallback { "FALLBACK_PSK_" } else { "" }
        ),
        MkaEvent::IcvSuccess { ckn, peer, fallback } => format!(
            "%L2-MKA-6-{}MKPDU_ICV_SUCCESS : ({interface}) ICV validation of MKPDU succeeded for CKN:{ckn}, peer SCI {peer}",
            if *fallback { "FALLBACK_PSK_" } else { "" }
        ),
        MkaEvent::SakGenerated { ckn, ki, an, rekey } => format!(
            "%L2-MKA-6-{} : ({interface}) {} SAK with KI {ki} AN {an}, CKN:{ckn}",
            if *rekey { "SAK_REKEY" } else { "SAK_GENERATED" },
            if *rekey { "rekeyed" } else { "generated" }
        ),
        MkaEvent::SakReceived { ckn, ki, an } => format!("%L2-MKA-6-SAK_RECEIVED : ({interface}) received SAK KI {ki} AN {an}, CKN:{ckn}"),
        MkaEvent::SessionStopped { ckn } => format!("%L2-MKA-4-SESSION_STOPPED : ({interface}) MKA session stopped, CKN:{ckn}"),
        MkaEvent::PeerLive { ckn, peer } => format!("%L2-MKA-6-PEER_LIVE : ({interface}) peer {peer} live, CKN:{ckn}"),
        MkaEvent::PeerLost { ckn, peer } => format!("%L2-MKA-4-PEER_LOST : ({interface}) peer {peer} timed out, CKN:{ckn}"),
        MkaEvent::KeyServerElected { ckn, key_server, local } => format!(
            "%L2-MKA-6-KEY_SERVER_ELECTED : ({interface}) key server {key_server}{}, CKN:{ckn}",
            if *local { " (this node)" } else { "" }
        ),
        MkaEvent::PpkFailure { ckn, failure } => {
            format!("%L2-MKA-3-{} : ({interface}) {failure}; the session is not secured with it, CKN:{ckn}", failure.mnemonic())
        }
    }
}

/// One interface: its engine and key chain state.
pub struct Port {
    pub setup: PortSetup,
    pub mka: Mka,
    /// The primary key the engine runs on, and since when a rollover is under way.
    current: Option<(crate::keychain::Ckn, Option<u64>)>,
    /// The participants running, by CKN: fallback or not, and a digest of the CAK they run with
    /// (a CAK changed under the same CKN restarts the participant).
    running: BTreeMap<Vec<u8>, (bool, [u8; 32])>,
    conf_offset: Option<Option<ConfOffset>>,
    /// Lines to log on the next turn.
    pending_log: Vec<String>,
    /// SAs a previous macsecd left in the dataplane (see [`Inherited`]).
    inherited: Inherited,
}

/// SAs found in the dataplane when macsecd (re)started: a previous macsecd installed them and
/// traffic still flows on them. When the engine is about to install a SAK an SA already holds
/// (same Key Identifier on the same AN: the peer, as key server, still distributes it), the SA is
/// adopted as it is, with its PNs and replay state (reinstalling would restart the PN at 1: the
/// same SAK must never send a PN twice). The others are left alone while this engine secures
/// with fresh SAKs (Rx before Tx keeps traffic flowing; a new AN never overwrites one in use) and
/// deleted once this engine has transmitted on its own key for [`Inherited::GRACE`], or when it
/// has not secured within [`Inherited::DEADLINE`] (the peer is gone: the old keys serve no one).
#[derive(Debug, Default)]
struct Inherited {
    /// AN and the Key Identifier the SA was installed with.
    tx: Vec<(u8, Option<[u8; 16]>)>,
    /// SCI, AN, Key Identifier.
    rx: Vec<(u64, u8, Option<[u8; 16]>)>,
    /// When the engine first enabled transmit on a key of its own.
    own_tx_since: Option<Duration>,
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
    fn due(&mut self, now: Duration) -> Option<(Vec<(u8, Option<[u8; 16]>)>, Vec<(u64, u8, Option<[u8; 16]>)>)> {
        let due = match self.own_tx_since {
            Some(t) => now >= t + Self::GRACE,
            None => now >= Self::DEADLINE,
        };
        (due && !self.is_empty()).then(|| (std::mem::take(&mut self.tx), std::mem::take(&mut self.rx)))
    }
}

fn mka_keys(k: &crate::keychain::Key) -> Option<(Ckn, Cak)> {
    Some((Ckn::new(k.ckn().as_bytes()).ok()?, Cak::from_bytes(k.cak()).ok()?))
}

impl Port {
    pub fn new(setup: PortSetup, tx_sci: Sci, now: Duration) -> io::Result<Port> {
        let mut cfg = MkaConfig::new(tx_sci, setup.cipher_suite);
        cfg.key_server_priority = setup.key_server_priority;
        cfg.conf_offset = setup.conf_offset;
        cfg.sak_rekey_interval = setup.sak_rekey_interval;
        cfg.delay_protection = setup.delay_protection;
        cfg.replay_window = setup.replay_window;
        let mka = Mka::new(cfg, Vec::new(), now).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Port { setup, mka, current: None, running: BTreeMap::new(), conf_offset: None, pending_log: Vec::new(), inherited: Inherited::default() })
    }

    /// Applies the key chains' plan at wall-clock `wall`: starts and stops participants.
    pub fn apply_keychains(&mut self, now: Duration, wall: u64) {
        let chain = &self.setup.keychain;
        let cur = self.current.as_ref().map(|(ckn, since)| match since {
            Some(s) => Current::rolling_over(ckn, *s),
            None => Current::new(ckn),
        });
        let plan = chain.plan(wall, cur, self.setup.fallback.as_ref());
        let mut want: Vec<(&crate::keychain::Key, bool)> = plan.primary_keys().into_iter().map(|k| (k, false)).collect();
        if let Some(k) = plan.fallback_key() {
            want.push((k, true));
        }
        self.current = match &plan.primary {
            PrimaryPlan::Start(k) | PrimaryPlan::Keep(k) => Some((k.ckn().clone(), None)),
            PrimaryPlan::Rollover { from, started, .. } => Some((from.ckn().clone(), Some(*started))),
            PrimaryPlan::RetireOld { to, .. } => Some((to.ckn().clone(), None)),
            PrimaryPlan::CurrentGone { replacement: Some(k), .. } => Some((k.ckn().clone(), None)),
            _ => None,
        };
        let wanted: BTreeMap<Vec<u8>, bool> = want.iter().map(|(k, fb)| (k.ckn().as_bytes().to_vec(), *fb)).collect();
        let stale: Vec<Vec<u8>> = self.running.keys().filter(|c| !wanted.contains_key(*c)).cloned().collect();
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
            status: if self.mka.is_secured() { "Secured".into() } else { "Pending".into() },
            cas: self
                .mka
                .participants()
                .iter()
                .map(|p| CaRow {
                    ckn: p.ckn.to_string(),
                    auth_mode: if p.fallback { "FALLBACK-PSK".into() } else { "PRIMARY-PSK".into() },
                    mi: p.mi.to_string(),
                    mn: p.mn,
                    live_peers: p.live_peers.len(),
                    potential_peers: p.potential_peers.len(),
                    status: if p.transmitting {
                        "Secured".into()
                    } else if p.secured {
                        "Secured (standby)".into()
                    } else {
                        "Pending".into()
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
            status: if p.transmitting { "Secured".into() } else { "Pending".into() },
            key_server: p.key_server == Some(self.mka.config().sci),
            auth_mode: if p.fallback { "FALLBACK-PSK".into() } else { "PRIMARY-PSK".into() },
            ckn: p.ckn.to_string(),
            live_peers: p.live_peers.iter().map(|s| s.0).collect(),
            icv_failures: p.icv_failures,
            latest_kn: p.latest_key.map(|(ki, _)| ki.kn),
            latest_an: p.latest_key.map(|(_, an)| an),
            key_distribution_mode: p.key_distribution_mode.as_str().to_string(),
            ppk_key_id: p.ppk_key_id.as_ref().map(|id| id.to_string()),
            ppk_failure: p.ppk_failure.as_ref().map(|f| f.to_string()),
        })
    }
}

/// The daemon: ports and their dataplane connections.
pub struct Daemon {
    pub ports: Vec<Port>,
    client: Client,
    events: Client,
    start: Instant,
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
    pub fn connect(dataplane: &Path, setups: Vec<PortSetup>) -> io::Result<Daemon> {
        let mut client = Client::connect(dataplane)?;
        let mut events = Client::connect(dataplane)?;
        let links = match client.request(&Request::Hello)? {
            Response::Hello { links, .. } => links,
            other => return Err(io::Error::other(format!("dataplane: unexpected reply {other:?}"))),
        };
        let start = Instant::now();
        let mut ports = Vec::new();
        for s in setups {
            let Some(link) = links.iter().find(|l| l.interface == s.interface) else {
                return Err(io::Error::other(format!("interface {} is not a link of the dataplane", s.interface)));
            };
            // The SAs a previous macsecd left keep carrying traffic while this one secures.
            let inherited = match client.request(&Request::ReadSaState { link: s.interface.clone() })? {
                Response::SaState(sa) => Inherited {
                    tx: sa.tx.iter().map(|t| (t.an, t.ki)).collect(),
                    rx: sa.rx.iter().map(|r| (r.sci, r.an, r.ki)).collect(),
                    own_tx_since: None,
                },
                _ => Inherited::default(),
            };
            // Same cipher suite: the dataplane keeps its SAs (a new suite starts from none).
            expect_ok(client.request(&Request::SetPolicy { link: s.interface.clone(), policy: s.policy(Some(s.conf_offset)) }))?;
            let mut port = Port::new(s, Sci(link.tx_sci), Duration::ZERO)?;
            port.conf_offset = Some(Some(port.setup.conf_offset));
            if !inherited.is_empty() {
                port.pending_log.push(format!(
                    "macsecd: ({}) resuming: {} Tx and {} Rx SAs of a previous macsecd keep traffic flowing until this session secures",
                    port.setup.interface,
                    inherited.tx.len(),
                    inherited.rx.len()
                ));
            }
            port.inherited = inherited;
            ports.push(port);
        }
        expect_ok(events.request(&Request::Subscribe))?;
        Ok(Daemon { ports, client, events, start })
    }

    /// An orderly stop (SIGTERM, SIGINT): deletes every SA of our links, so that under
    /// must-secure nothing leaves in the clear and no key outlives its session. (A crash leaves
    /// them: the dataplane keeps forwarding on them until a new macsecd takes over.)
    pub fn shutdown(&mut self) -> io::Result<Vec<String>> {
        let mut lines = Vec::new();
        for p in &self.ports {
            let link = p.setup.interface.clone();
            let sa = match self.client.request(&Request::ReadSaState { link: link.clone() })? {
                Response::SaState(sa) => sa,
                _ => continue,
            };
            for t in &sa.tx {
                expect_ok(self.client.request(&Request::DeleteTxSa { link: link.clone(), an: t.an }))?;
            }
            for r in &sa.rx {
                expect_ok(self.client.request(&Request::DeleteRxSa { link: link.clone(), sci: r.sci, an: r.an }))?;
            }
            lines.push(format!("macsecd: ({link}) stopped: {} Tx and {} Rx SAs deleted", sa.tx.len(), sa.rx.len()));
        }
        Ok(lines)
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Applies a reloaded configuration: key chains (new keys, lifetimes, fallback) take effect
    /// hitlessly through the key chain plan (a newer key rolls over); policy changes that the
    /// guide does not make hitless (cipher suite, conf-offset, priority...) are reported and need
    /// the interface's session to restart. Interfaces added or removed need a restart too.
    pub fn reload(&mut self, setups: Vec<PortSetup>) -> Vec<String> {
        let mut log = Vec::new();
        for s in setups {
            let Some(p) = self.ports.iter_mut().find(|p| p.setup.interface == s.interface) else {
                log.push(format!("macsecd: reload: interface {} is new; restart macsecd to run it", s.interface));
                continue;
            };
            let o = &p.setup;
            let policy_changed = (o.cipher_suite, o.conf_offset, o.key_server_priority, o.security_policy, o.replay_window, o.delay_protection, o.sak_rekey_interval, o.lacp_in_clear)
                != (s.cipher_suite, s.conf_offset, s.key_server_priority, s.security_policy, s.replay_window, s.delay_protection, s.sak_rekey_interval, s.lacp_in_clear);
            if policy_changed {
                log.push(format!("macsecd: reload: the policy of {} changed; it takes effect when its session restarts", s.interface));
            }
            p.setup.keychain = s.keychain;
            p.setup.fallback = s.fallback;
            log.push(format!("macsecd: reload: key chains of {} applied", s.interface));
        }
        log
    }

    /// One turn of the loop: waits up to `max_wait` for dataplane events, then runs the engines
    /// and carries out what they ask. Returns the events logged this turn.
    pub fn turn(&mut self, max_wait: Duration) -> io::Result<Vec<String>> {
        let wall = unix_seconds(SystemTime::now());
        let now = self.now();
        for p in &mut self.ports {
            p.apply_keychains(now, wall);
        }
        let deadline = self.ports.iter().filter_map(|p| p.mka.poll_timeout()).min().unwrap_or(now + max_wait);
        let wait = deadline.saturating_sub(now).clamp(Duration::from_millis(1), max_wait);
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
        let mut lines = Vec::new();
        for i in 0..self.ports.len() {
            if self.ports[i].mka.poll_timeout().is_some_and(|t| t <= now) {
                self.ports[i].mka.handle_timeout(now);
            }
            lines.append(&mut self.ports[i].pending_log);
            self.drain(i, &mut lines)?;
            self.retire_inherited(i, now, &mut lines)?;
        }
        Ok(lines)
    }

    fn retire_inherited(&mut self, i: usize, now: Duration, lines: &mut Vec<String>) -> io::Result<()> {
        let Some((tx, rx)) = self.ports[i].inherited.due(now) else { return Ok(()) };
        let link = self.ports[i].setup.interface.clone();
        for (an, _) in &tx {
            expect_ok(self.client.request(&Request::DeleteTxSa { link: link.clone(), an: *an }))?;
        }
        for (sci, an, _) in &rx {
            expect_ok(self.client.request(&Request::DeleteRxSa { link: link.clone(), sci: *sci, an: *an }))?;
        }
        lines.push(format!("macsecd: ({link}) {} Tx and {} Rx SAs of the previous macsecd deleted", tx.len(), rx.len()));
        Ok(())
    }

    fn drain(&mut self, i: usize, lines: &mut Vec<String>) -> io::Result<()> {
        let link = self.ports[i].setup.interface.clone();
        while let Some(frame) = self.ports[i].mka.poll_transmit() {
            expect_ok(self.client.request(&Request::InjectEapol { link: link.clone(), frame }))?;
        }
        while let Some(c) = self.ports[i].mka.poll_sa_command() {
            // An install on a slot the previous macsecd used replaces that SA, or adopts it when
            // it already holds this SAK.
            let inh = &mut self.ports[i].inherited;
            match &c {
                SaCommand::InstallRx { sci, an, ki, .. } => {
                    let held = inh.rx.iter().any(|x| *x == (sci.0, *an, Some(ki.to_bytes())));
                    inh.rx.retain(|x| (x.0, x.1) != (sci.0, *an));
                    if held {
                        lines.push(format!("macsecd: ({link}) Rx SA {:016x} AN {an} already holds SAK KI {ki}: kept", sci.0));
                        continue;
                    }
                }
                SaCommand::InstallTx { an, ki, .. } => {
                    let held = inh.tx.iter().any(|x| *x == (*an, Some(ki.to_bytes())));
                    inh.tx.retain(|x| x.0 != *an);
                    if held {
                        lines.push(format!("macsecd: ({link}) Tx SA AN {an} already holds SAK KI {ki}: kept, with its PN"));
                        continue;
                    }
                }
                SaCommand::EnableTx { .. } => {
                    inh.own_tx_since.get_or_insert(self.start.elapsed());
                }
                _ => {}
            }
            let req = match c {
                SaCommand::InstallRx { sci, an, ki, sak, ssci, salt, lowest_pn, .. } => Request::InstallRxSa {
                    link: link.clone(),
                    sci: sci.0,
                    an,
                    key: KeyMsg { sak: sak.as_bytes().to_vec().into(), ssci: ssci.0, salt: salt.0, ki: Some(ki.to_bytes()) },
                    lowest_pn,
                },
                SaCommand::InstallTx { an, ki, sak, ssci, salt, next_pn, conf_offset, .. } => {
                    // The key server may have chosen less confidentiality than the policy.
                    if self.ports[i].conf_offset != Some(conf_offset) {
                        let policy = self.ports[i].setup.policy(conf_offset);
                        expect_ok(self.client.request(&Request::SetPolicy { link: link.clone(), policy }))?;
                        self.ports[i].conf_offset = Some(conf_offset);
                    }
                    Request::InstallTxSa { link: link.clone(), an, key: KeyMsg { sak: sak.as_bytes().to_vec().into(), ssci: ssci.0, salt: salt.0, ki: Some(ki.to_bytes()) }, next_pn }
                }
                SaCommand::EnableTx { an } => Request::EnableTxSa { link: link.clone(), an: Some(an) },
                SaCommand::DeleteRx { sci, an } => Request::DeleteRxSa { link: link.clone(), sci: sci.0, an },
                SaCommand::DeleteTx { an } => Request::DeleteTxSa { link: link.clone(), an },
                SaCommand::SetLowestPn { sci, an, pn } => Request::SetLowestPn { link: link.clone(), sci: sci.0, an, pn },
            };
            expect_ok(self.client.request(&req))?;
        }
        while let Some(e) = self.ports[i].mka.poll_event() {
            lines.push(syslog_line(&link, &e));
        }
        Ok(())
    }
}
