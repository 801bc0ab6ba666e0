//! The heart of `macsecd`: one MKA engine per interface, driven on the real clock, bridged to the
//! dataplane's control socket. MKPDUs arrive as EAPOL punts and leave as injects, SA commands
//! become `ipc` requests, PN-threshold reports trigger rekeys, and the interface's key
//! chains decide which participants run (CAK rollover, key expiry, fallback PSK).
//!
//! One file per concern: the loop is here ([`Daemon`]: connect, turn, drain, reload, shutdown);
//! `port` is one interface's state ([`Port`]), `ppk_worker` its PPK source on a thread,
//! `dataplane` the IPC calls, `rows` the show rows, `keychain` the key chain scheduling and
//! `retire` the SAs an engine inherits from an earlier one.

mod dataplane;
mod keychain;
mod port;
mod ppk_worker;
mod retire;
mod rows;

pub use port::Port;
pub use ppk_worker::{PpkEnv, PpkUnavailable};

use crate::config::PortSetup;
use crate::log::{LogEvent, PortEvent};
use dataplane::{call, expect_ok, key_msg, links, refused, start_port};
use ipc::Client;
use ipc::{Event, LinkInfo, Request, Response};
use macsec::secy::Sci;
use mka::kay::SaCommand;
use mka::keychain::unix_seconds;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

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
    /// The peer MACs each link's dataplane punts first, as last told (`SetLivePeers`).
    live_told: Vec<(String, Vec<[u8; 6]>)>,
    /// Ports whose restart the dataplane refused, by interface: when it is tried next and the
    /// delay after that (doubling up to [`RESTART_MAX`]). Their engines wait meanwhile.
    restarts: BTreeMap<String, (Duration, Duration)>,
    /// MKPDU injects the dataplane refused, by interface.
    injects_refused: BTreeMap<String, u64>,
}

/// The first delay before a refused port restart is tried again, and the longest.
const RESTART_FIRST: Duration = Duration::from_secs(1);
/// A reason why a session is not secured is logged once it has held this long.
pub const REASON_HOLD: Duration = Duration::from_secs(3);
const RESTART_MAX: Duration = Duration::from_secs(30);

impl Daemon {
    /// Connects to the dataplane and sets up one engine per configured interface it has.
    /// `env` is where the PPK sources of `ppk sks-profile` policies keep their state.
    pub fn connect(dataplane: &Path, setups: Vec<PortSetup>, env: &PpkEnv) -> io::Result<Daemon> {
        let mut client = Client::connect(dataplane)?;
        let mut events = Client::connect(dataplane)?;
        let links = links(&mut client)?;
        let start = Instant::now();
        let (mut ports, mut notes, mut restarts) = (Vec::new(), Vec::new(), BTreeMap::new());
        for s in setups {
            // Said, not fatal: the other interfaces run, and a reconnection does not fail on it forever.
            let Some(link) = links.iter().find(|l| l.interface == s.interface) else {
                notes.push(LogEvent::port(
                    &s.interface,
                    PortEvent::NotALink { reload: false },
                ));
                continue;
            };
            let tx_sci = link.tx_sci;
            match start_port(&mut client, s.clone(), tx_sci, Duration::ZERO, env) {
                Ok(p) => ports.push(p),
                // Refused for this link only: the others start; this one is tried again.
                Err(e) => {
                    let Some(r) = refused(&e) else { return Err(e) };
                    notes.push(LogEvent::port(&s.interface, r.event()));
                    restarts.insert(s.interface.clone(), (RESTART_FIRST, RESTART_FIRST));
                    ports.push(Port::new(s, Sci(tx_sci), Duration::ZERO, env)?);
                }
            }
        }
        expect_ok(events.request(&Request::Subscribe))?;
        Ok(Daemon {
            ports,
            client,
            events,
            start,
            env: env.clone(),
            notes,
            live_told: Vec::new(),
            restarts,
            injects_refused: BTreeMap::new(),
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
                o.clear,
                o.max_peers,
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
                s.clear,
                s.max_peers,
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
            let interface = self.ports[i].setup.interface.clone();
            if let Some(&(due, _)) = self.restarts.get(&interface) {
                if now >= due {
                    self.restart_port(i, now, &mut lines)?;
                }
                continue;
            }
            if let Err(e) = self.port_turn(i, now, &mut lines) {
                // An error reply to one request concerns this port only: said, and its session
                // restarts. Anything else (the connection failed) ends the turn and the connection.
                let Some(r) = refused(&e) else { return Err(e) };
                lines.push(LogEvent::port(&interface, r.event()));
                self.restart_port(i, now, &mut lines)?;
                continue;
            }
            self.ports[i].say_reason(now, &mut lines);
        }
        Ok(lines)
    }

    /// Tells the dataplane the source MACs of port `i`'s peers (live and potential: their
    /// MKPDUs passed the ICV check; the first 6 octets of their SCIs) when they changed, so that
    /// their MKPDUs are punted ahead of a flood from other sources. A refusal is retried at the
    /// next turn.
    fn tell_live_peers(&mut self, i: usize) -> io::Result<()> {
        let p = &self.ports[i];
        let mut macs: Vec<[u8; 6]> = p
            .mka
            .participants()
            .iter()
            .flat_map(|s| s.live_peers.iter().chain(&s.potential_peers))
            .map(|sci| sci.mac())
            .collect();
        macs.sort_unstable();
        macs.dedup();
        macs.truncate(64);
        let link = &p.setup.interface;
        if self.live_told.iter().any(|(l, m)| l == link && *m == macs) {
            return Ok(());
        }
        let req = Request::SetLivePeers {
            link: link.clone(),
            macs: macs.clone(),
        };
        if let Response::Ok = self.client.request(&req)? {
            self.live_told.retain(|(l, _)| l != link);
            self.live_told.push((link.clone(), macs));
        }
        Ok(())
    }

    fn port_turn(&mut self, i: usize, now: Duration, lines: &mut Vec<LogEvent>) -> io::Result<()> {
        self.ports[i].take_ppk_answers(now, lines);
        self.read_tx_pns(i, now)?;
        if self.ports[i].mka.poll_timeout().is_some_and(|t| t <= now) {
            self.ports[i].mka.handle_timeout(now);
        }
        lines.append(&mut self.ports[i].pending_log);
        self.drain(i, lines)?;
        self.retire_inherited(i, now, lines)?;
        self.tell_live_peers(i)
    }

    /// Restarts port `i`'s MKA session (a fresh engine that inherits the SAs the link holds, as
    /// on a macsecd restart). Refused again: the port gets a fresh engine that waits, and the
    /// restart is tried again later.
    fn restart_port(&mut self, i: usize, now: Duration, lines: &mut Vec<LogEvent>) -> io::Result<()> {
        let setup = self.ports[i].setup.clone();
        let tx_sci = self.ports[i].mka.config().sci;
        let interface = setup.interface.clone();
        match start_port(&mut self.client, setup.clone(), tx_sci.0, now, &self.env) {
            Ok(p) => {
                self.ports[i] = p;
                self.restarts.remove(&interface);
                lines.push(LogEvent::port(&interface, PortEvent::SessionRestarted));
            }
            Err(e) => {
                // The refusal that caused the restart was said; a link that goes on refusing is
                // not said again at each try.
                if refused(&e).is_none() {
                    return Err(e);
                }
                let delay = self.restarts.get(&interface).map_or(RESTART_FIRST, |&(_, d)| d);
                self.restarts
                    .insert(interface, (now + delay, (delay * 2).min(RESTART_MAX)));
                self.ports[i] = Port::new(setup, tx_sci, now, &self.env)?;
            }
        }
        Ok(())
    }

    /// MKPDU injects the dataplane refused on `interface` (each counted; the session goes on).
    pub fn injects_refused(&self, interface: &str) -> u64 {
        self.injects_refused.get(interface).copied().unwrap_or(0)
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
                    call(
                        &mut self.client,
                        &Request::SetPolicy {
                            link: link.clone(),
                            policy,
                        },
                    )?;
                    self.ports[i].conf_offset = Some(*conf_offset);
                }
            }
            // An install on a slot the previous session used replaces that SA, or adopts it when
            // it already holds this SAK (its KI and its key check value match).
            let inh = &mut self.ports[i].inherited;
            match &c {
                SaCommand::InstallRx { sci, an, ki, sak, .. } => {
                    let held = inh
                        .rx
                        .iter()
                        .any(|x| (x.0, x.1) == (sci.0, *an) && x.2.holds(ki.to_bytes(), sak.as_bytes()));
                    inh.rx.retain(|x| (x.0, x.1) != (sci.0, *an));
                    if held {
                        let (sci, an, ki) = (*sci, *an, *ki);
                        lines.push(LogEvent::port(&link, PortEvent::RxSaAdopted { sci, an, ki }));
                        continue;
                    }
                }
                SaCommand::InstallTx { an, ki, sak, .. } => {
                    let held = inh
                        .tx
                        .iter()
                        .any(|x| x.0 == *an && x.1.holds(ki.to_bytes(), sak.as_bytes()));
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
                    key: key_msg(&sak, ssci, salt, ki),
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
                    key: key_msg(&sak, ssci, salt, ki),
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
            call(&mut self.client, &req)?;
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
            match self.client.request(&inject)? {
                Response::Ok => {}
                // One MKPDU the dataplane would not send (e.g. longer than the line allows):
                // counted and said (at the 1st, 2nd, 4th, 8th... refusal); the session goes on.
                Response::Error { code, message } => {
                    let n = self.injects_refused.entry(link.clone()).or_default();
                    *n += 1;
                    if n.is_power_of_two() {
                        let count = *n;
                        lines.push(LogEvent::port(
                            &link,
                            PortEvent::InjectRefused { count, code, message },
                        ));
                    }
                }
                other => return Err(io::Error::other(format!("dataplane: unexpected reply {other:?}"))),
            }
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
