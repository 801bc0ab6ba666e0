//! One interface: its engine and key chain state.

use super::ppk_worker::PpkWorker;
use super::retire::Inherited;
use super::PpkEnv;
use crate::config::{PortSetup, SksProfileType};
use crate::log::{LogEvent, PortEvent, PpkSourceKind};
use macsec::secy::{ConfOffset, Sci};
use mka::kay::{Mka, MkaConfig, NotSecuredReason};
use mka::keychain::ClockWatch;
use mka::Ckn;
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

/// One interface: its engine and key chain state.
pub struct Port {
    pub setup: PortSetup,
    pub mka: Mka,
    /// The primary key the engine runs on, and since when a rollover is under way.
    pub(super) current: Option<(Ckn, Option<u64>)>,
    /// The participants running, by CKN: fallback or not, and a digest of the CAK they run with
    /// (a CAK changed under the same CKN restarts the participant).
    pub(super) running: BTreeMap<Vec<u8>, (bool, [u8; 32])>,
    pub(super) conf_offset: Option<Option<ConfOffset>>,
    /// Events to log on the next turn.
    pub(super) pending_log: Vec<LogEvent>,
    /// SAs found in the dataplane when this engine started (see [`Inherited`]).
    pub(super) inherited: Inherited,
    /// PPK mode: the worker that runs the policy's PPK source.
    pub(super) ppk: Option<PpkWorker>,
    /// When the Tx SAs' next PNs are read from the dataplane next (for the engine's Lowest
    /// Acceptable PN, [`Mka::handle_tx_pn`]).
    pub(super) next_pn_read: Duration,
    /// The `interface` span the port's work runs in (its PPK worker's too).
    pub(super) span: tracing::Span,
    /// Sees wall-clock steps (key lifetimes are wall-clock times), to log each once.
    pub(super) clock: ClockWatch,
    /// Why not secured: the reason seen (its code) and since when, and the last one said.
    pub(super) reason_seen: Option<(&'static str, Duration)>,
    pub(super) reason_said: Option<&'static str>,
    /// Since when (wall clock, ms since the Unix epoch, read when it became Secured) the session
    /// has been Secured without a break (None: it is not). Kept as read, so every `show` gives
    /// the same instant (one derived from engine time on each read moved by a millisecond).
    pub(super) secured_since: Option<u64>,
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
        cfg.max_peers = setup.max_peers;
        cfg.test_initial_pn = setup.test_initial_pn;
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
            clock: ClockWatch::new(),
            reason_seen: None,
            reason_said: None,
            secured_since: None,
        })
    }

    /// Takes the events to log that the port collected (the daemon's turn logs them).
    pub fn take_log(&mut self) -> Vec<LogEvent> {
        std::mem::take(&mut self.pending_log)
    }

    /// Says why the session is not secured, once per reason, when the reason has held for
    /// [`super::REASON_HOLD`] (a normal start passes through "no peer heard" and "negotiating" in
    /// a second or two: not said). Transient reasons (negotiating, waiting for the PPK) are never
    /// said; once secured, a later reason is said again.
    pub(super) fn say_reason(&mut self, now: Duration, lines: &mut Vec<LogEvent>) {
        match (self.mka.is_secured(), self.secured_since) {
            (true, None) => self.secured_since = Some(macsec::secy::unix_ms()),
            (false, Some(_)) => self.secured_since = None,
            _ => {}
        }
        let reason = self
            .mka
            .not_secured_reason(now)
            .filter(|r| !matches!(r, NotSecuredReason::Negotiating | NotSecuredReason::PpkPending));
        let Some(r) = reason else {
            self.reason_seen = None;
            if self.mka.is_secured() {
                self.reason_said = None;
            }
            return;
        };
        let code = r.code();
        match self.reason_seen {
            Some((seen, since)) if seen == code => {
                if self.reason_said != Some(code) && now >= since + super::REASON_HOLD {
                    self.reason_said = Some(code);
                    lines.push(LogEvent::port(
                        &self.setup.interface,
                        PortEvent::NotSecured {
                            reason: r.to_string(),
                        },
                    ));
                }
            }
            _ => self.reason_seen = Some((code, now)),
        }
    }

    /// The `interface` span (`name` = the interface) the port's work runs in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }
}
