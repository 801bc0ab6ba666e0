//! What macsecd logs, as typed events: the engine's `%L2-MKA-...` events (the guide's syslog
//! mnemonics and texts) and the daemon's own (`macsecd: ...`). Each event knows its facility,
//! severity and mnemonic, carries its data (interface, CKN, peer SCI, KI, AN, reason...) and
//! renders its text in one place, [`LogEvent`]'s `Display`. macsecd emits them as `tracing`
//! events with those as fields; nothing parses the text back.
//!
//! No event carries a secret: keys are named by CKN, KI and PPK key ID only.

use crate::config::ServerAddress;
use crate::ppk::KeyId;
use crate::show::cisco_sci;
use macsec::secy::Sci;
use mka::kay::MkaEvent;
use mka::ppk::PpkKeyId;
use mka::{Ckn, Ki};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One log line of macsecd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    /// An event of one interface (its MKA session, its PPK source, its SAs, its configuration).
    Port { interface: String, event: PortEvent },
    /// An event of macsecd as a whole.
    Daemon(DaemonEvent),
}

/// An event of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortEvent {
    /// The MKA engine's event: `%L2-MKA-...`, the guide's mnemonics and texts.
    Mka(MkaEvent),
    /// The interface distributes SAKs in PPK mode with sks profile `profile`.
    PpkProfile { profile: String, source: PpkSourceKind },
    /// A PPK request went to the PPK source (`key_id` None: a fresh PPK, for the key server).
    PpkAsking {
        ckn: Ckn,
        profile: String,
        key_id: Option<PpkKeyId>,
    },
    /// The PPK source answered with the PPK of `key_id` after `ms` milliseconds.
    PpkObtained { ckn: Ckn, key_id: KeyId, ms: u128 },
    /// The PPK source could not answer (the engine logs the reason, `PPK_FETCH_FAILURE`).
    PpkRequestFailed { ckn: Ckn, ms: u128 },
    /// SAs of a previous session were in the dataplane when the engine started.
    SasInherited { tx: usize, rx: usize },
    /// The previous session's SAs were deleted.
    SasRetired { tx: usize, rx: usize },
    /// An Rx SA of the previous session already holds the SAK to install: adopted as it is.
    RxSaAdopted { sci: Sci, an: u8, ki: Ki },
    /// The Tx SA of the previous session already holds the SAK to install: adopted, with its PN.
    TxSaAdopted { an: u8, ki: Ki },
    /// The configured interface is not a link of the dataplane: not started (at reload when
    /// `reload`).
    NotALink { reload: bool },
    /// The dataplane refused a request of the interface (`message` names the request): its MKA
    /// session restarts (the other interfaces and the connection are not affected).
    DataplaneRefused { code: ipc::ErrorCode, message: String },
    /// The session of the interface restarted after a refusal.
    SessionRestarted,
    /// The dataplane refused an MKPDU inject, the `count`th time on this interface (said at the
    /// 1st, 2nd, 4th, 8th...); the session goes on.
    InjectRefused {
        count: u64,
        code: ipc::ErrorCode,
        message: String,
    },
    /// Reload: the interface was added; its session starts.
    Added,
    /// Reload: the interface was removed; its session stopped and its SAs deleted.
    Removed { tx: usize, rx: usize },
    /// Reload: the interface's policy changed; its session restarts.
    PolicyChanged,
    /// Reload: the interface's key chains were applied.
    KeychainsApplied,
    /// An orderly stop: the interface's SAs were deleted.
    Stopped { tx: usize, rx: usize },
    /// The wall clock (key lifetimes) stepped by `seconds` (negative: back) against the monotonic
    /// clock; logged once per step. Our own mnemonic, `%L2-MKA-4-CLOCK_STEP`.
    ClockStep { seconds: i64 },
    /// Why the session is not secured (`mka::kay::NotSecuredReason`, no secrets), said when the
    /// reason changes and has held for [`crate::daemon::REASON_HOLD`]. Our own mnemonic,
    /// `%L2-MKA-5-SESSION_NOT_SECURED`.
    NotSecured { reason: String },
    /// `count` lines of `mnemonic` from `source` (None: from the sources beyond the tracked
    /// ones) were not logged in the window that ended ([`LogLimiter`]).
    Suppressed {
        mnemonic: Mnemonic,
        source: Option<[u8; 6]>,
        count: u64,
    },
}

/// Where a PPK-mode interface's PPKs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PpkSourceKind {
    /// `type local`: the SKS engine, its seeds in `state_dir`.
    Sks { state_dir: PathBuf },
    /// `type remote`: the SKIP key manager at `kme_server`.
    Skip { kme_server: Option<ServerAddress> },
}

/// An event of macsecd as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonEvent {
    /// A note of the configuration file at `path` (a setting taken but not applied...).
    ConfigNote { path: PathBuf, note: String },
    /// A reload while the dataplane is away: applied when it is back.
    ReloadDeferred,
    /// A configuration with errors: refused, the running one kept.
    ReloadRefused { reason: String },
    /// The connection to the dataplane at `path` failed; macsecd reconnects.
    DataplaneLost { path: PathBuf, error: String },
    /// The dataplane at `path` is back; the sessions restart.
    DataplaneBack { path: PathBuf },
    /// An orderly stop could not delete the SAs.
    SaDeleteFailed { error: String },
}

/// An event's mnemonic: `FACILITY-SEVERITY-NAME`, e.g. `L2-MKA-5-SESSION_SECURED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mnemonic {
    pub facility: &'static str,
    pub severity: u8,
    pub name: &'static str,
}

impl fmt::Display for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.facility, self.severity, self.name)
    }
}

/// The facility of the engine's events (the guide's).
pub const FACILITY_MKA: &str = "L2-MKA";
/// The facility of macsecd's own events.
pub const FACILITY_MACSECD: &str = "MACSECD";

impl LogEvent {
    /// An event of `interface`.
    pub fn port(interface: &str, event: PortEvent) -> LogEvent {
        LogEvent::Port {
            interface: interface.to_string(),
            event,
        }
    }

    /// The engine's event `ev` on `interface`.
    pub fn mka(interface: &str, ev: MkaEvent) -> LogEvent {
        LogEvent::port(interface, PortEvent::Mka(ev))
    }

    /// The interface the event is about, if any.
    pub fn interface(&self) -> Option<&str> {
        match self {
            LogEvent::Port { interface, .. } => Some(interface),
            LogEvent::Daemon(_) => None,
        }
    }

    /// The CKN of the CA the event is about, if any.
    pub fn ckn(&self) -> Option<&Ckn> {
        match self {
            LogEvent::Port { event, .. } => match event {
                PortEvent::Mka(ev) => Some(mka_ckn(ev)),
                PortEvent::PpkAsking { ckn, .. }
                | PortEvent::PpkObtained { ckn, .. }
                | PortEvent::PpkRequestFailed { ckn, .. } => Some(ckn),
                _ => None,
            },
            LogEvent::Daemon(_) => None,
        }
    }

    /// The SCI of the peer the event is about, if any.
    pub fn peer_sci(&self) -> Option<Sci> {
        match self {
            LogEvent::Port { event, .. } => match event {
                PortEvent::Mka(ev) => match ev {
                    MkaEvent::IcvSuccess { peer, .. }
                    | MkaEvent::IcvFailure { peer, .. }
                    | MkaEvent::PeerLive { peer, .. }
                    | MkaEvent::PeerLost { peer, .. } => Some(*peer),
                    MkaEvent::KeyServerElected {
                        key_server,
                        local: false,
                        ..
                    } => Some(*key_server),
                    MkaEvent::SakRefused { from, .. } => Some(*from),
                    _ => None,
                },
                PortEvent::RxSaAdopted { sci, .. } => Some(*sci),
                _ => None,
            },
            LogEvent::Daemon(_) => None,
        }
    }

    /// The source MAC of the frame that caused the event, for the events any frame on the line
    /// can cause (an MKPDU with a bad ICV: the CKN is on the wire, no key is needed), which
    /// [`LogLimiter`] rate-limits.
    pub fn source(&self) -> Option<[u8; 6]> {
        match self {
            LogEvent::Port {
                event: PortEvent::Mka(MkaEvent::IcvFailure { source, .. }),
                ..
            } => Some(*source),
            _ => None,
        }
    }

    /// Syslog severity (0 emergency .. 7 debug).
    pub fn severity(&self) -> u8 {
        self.mnemonic().severity
    }

    /// The `tracing` level of the severity: error up to 3, warn at 4, info from 5.
    pub fn level(&self) -> tracing::Level {
        match self.severity() {
            0..=3 => tracing::Level::ERROR,
            4 => tracing::Level::WARN,
            _ => tracing::Level::INFO,
        }
    }

    /// The event's mnemonic, e.g. `L2-MKA-5-SESSION_SECURED` or `MACSECD-3-DATAPLANE_LOST`.
    pub fn mnemonic(&self) -> Mnemonic {
        let own = |severity, name| Mnemonic {
            facility: FACILITY_MACSECD,
            severity,
            name,
        };
        match self {
            // Names without `PPK_`: the system tests count `PPK_` lines as PPK failures.
            LogEvent::Port { event, .. } => match event {
                PortEvent::Mka(ev) => {
                    let (severity, name) = mka_mnemonic(ev);
                    Mnemonic {
                        facility: FACILITY_MKA,
                        severity,
                        name,
                    }
                }
                PortEvent::PpkProfile { .. } => own(6, "SKS_PROFILE"),
                PortEvent::PpkAsking { .. } => own(6, "SKS_REQUEST"),
                PortEvent::PpkObtained { .. } => own(6, "SKS_KEY_OBTAINED"),
                PortEvent::PpkRequestFailed { .. } => own(6, "SKS_REQUEST_FAILED"),
                PortEvent::SasInherited { .. } => own(6, "SAS_INHERITED"),
                PortEvent::SasRetired { .. } => own(6, "SAS_RETIRED"),
                PortEvent::RxSaAdopted { .. } => own(6, "RX_SA_ADOPTED"),
                PortEvent::TxSaAdopted { .. } => own(6, "TX_SA_ADOPTED"),
                PortEvent::NotALink { .. } => own(6, "NOT_A_LINK"),
                PortEvent::DataplaneRefused { .. } => own(3, "DATAPLANE_REFUSED"),
                PortEvent::SessionRestarted => own(5, "PORT_RESTARTED"),
                PortEvent::InjectRefused { .. } => own(4, "MKPDU_REFUSED"),
                PortEvent::Added => own(6, "INTERFACE_ADDED"),
                PortEvent::Removed { .. } => own(6, "INTERFACE_REMOVED"),
                PortEvent::PolicyChanged => own(6, "POLICY_CHANGED"),
                PortEvent::KeychainsApplied => own(6, "KEYCHAINS_APPLIED"),
                PortEvent::Stopped { .. } => own(6, "INTERFACE_STOPPED"),
                PortEvent::ClockStep { .. } => Mnemonic {
                    facility: FACILITY_MKA,
                    severity: 4,
                    name: "CLOCK_STEP",
                },
                PortEvent::NotSecured { .. } => Mnemonic {
                    facility: FACILITY_MKA,
                    severity: 5,
                    name: "SESSION_NOT_SECURED",
                },
                PortEvent::Suppressed { .. } => own(4, "LOG_SUPPRESSED"),
            },
            LogEvent::Daemon(ev) => match ev {
                DaemonEvent::ConfigNote { .. } => own(4, "CONFIG_NOTE"),
                DaemonEvent::ReloadDeferred => own(6, "RELOAD_DEFERRED"),
                DaemonEvent::ReloadRefused { .. } => own(6, "RELOAD_REFUSED"),
                DaemonEvent::DataplaneLost { .. } => own(3, "DATAPLANE_LOST"),
                DaemonEvent::DataplaneBack { .. } => own(6, "DATAPLANE_BACK"),
                DaemonEvent::SaDeleteFailed { .. } => own(3, "SA_DELETE_FAILED"),
            },
        }
    }
}

fn mka_ckn(ev: &MkaEvent) -> &Ckn {
    match ev {
        MkaEvent::IcvSuccess { ckn, .. }
        | MkaEvent::IcvFailure { ckn, .. }
        | MkaEvent::PeerLive { ckn, .. }
        | MkaEvent::PeerLost { ckn, .. }
        | MkaEvent::PeerLimit { ckn, .. }
        | MkaEvent::KeyServerElected { ckn, .. }
        | MkaEvent::SakGenerated { ckn, .. }
        | MkaEvent::SakReceived { ckn, .. }
        | MkaEvent::SessionSecured { ckn, .. }
        | MkaEvent::SessionStopped { ckn }
        | MkaEvent::PpkFailure { ckn, .. }
        | MkaEvent::CipherSuiteMismatch { ckn, .. }
        | MkaEvent::SakRefused { ckn, .. } => ckn,
    }
}

/// Severity and name of the engine's events, as the guide has them.
fn mka_mnemonic(ev: &MkaEvent) -> (u8, &'static str) {
    match ev {
        MkaEvent::SessionSecured { fallback: false, .. } => (5, "SESSION_SECURED"),
        MkaEvent::SessionSecured { fallback: true, .. } => (5, "SESSION_SECURED_WITH_FALLBACK_PSK"),
        MkaEvent::IcvFailure { fallback: false, .. } => (3, "MKPDU_ICV_FAILURE"),
        MkaEvent::IcvFailure { fallback: true, .. } => (3, "FALLBACK_PSK_MKPDU_ICV_FAILURE"),
        MkaEvent::IcvSuccess { fallback: false, .. } => (6, "MKPDU_ICV_SUCCESS"),
        MkaEvent::IcvSuccess { fallback: true, .. } => (6, "FALLBACK_PSK_MKPDU_ICV_SUCCESS"),
        MkaEvent::SakGenerated { rekey: false, .. } => (6, "SAK_GENERATED"),
        MkaEvent::SakGenerated { rekey: true, .. } => (6, "SAK_REKEY"),
        MkaEvent::SakReceived { .. } => (6, "SAK_RECEIVED"),
        MkaEvent::SessionStopped { .. } => (4, "SESSION_STOPPED"),
        MkaEvent::PeerLive { .. } => (6, "PEER_LIVE"),
        MkaEvent::PeerLost { .. } => (4, "PEER_LOST"),
        MkaEvent::PeerLimit { .. } => (4, "PEER_LIMIT"),
        MkaEvent::KeyServerElected { .. } => (6, "KEY_SERVER_ELECTED"),
        MkaEvent::PpkFailure { failure, .. } => (3, failure.mnemonic()),
        MkaEvent::SakRefused { .. } => (4, "SAK_REFUSED"),
        MkaEvent::CipherSuiteMismatch { .. } => (3, "CIPHER_SUITE_MISMATCH"),
    }
}

/// The engine's event as the guide's syslog line: `%MNEMONIC : (interface) text`, and for the
/// ICV events, as the guide prints them, `%MNEMONIC: (interface), ICV verification ... for
/// RxSCI(008a.9600.6090/0001), CKN(1000)` (`control/tests/syslog_guide.rs` compares each with
/// the guide's examples).
fn fmt_mka(f: &mut fmt::Formatter<'_>, interface: &str, ev: &MkaEvent) -> fmt::Result {
    let (severity, name) = mka_mnemonic(ev);
    let mnemonic = format!("%{FACILITY_MKA}-{severity}-{name}");
    match ev {
        MkaEvent::IcvFailure { ckn, peer, .. } => {
            return write!(
                f,
                "{mnemonic}: ({interface}), ICV verification failed for RxSCI({}), CKN({ckn})",
                cisco_sci(peer.0)
            )
        }
        MkaEvent::IcvSuccess { ckn, peer, .. } => {
            return write!(
                f,
                "{mnemonic}: ({interface}), ICV verification success for RxSCI({}), CKN({ckn})",
                cisco_sci(peer.0)
            )
        }
        _ => {}
    }
    write!(f, "{mnemonic} : ({interface}) ")?;
    match ev {
        // The mnemonic says whether it is the fallback PSK's session (the guide's text is the same).
        MkaEvent::SessionSecured { ckn, .. } => write!(f, "MKA session secured, CKN:{ckn}"),
        MkaEvent::IcvFailure { .. } | MkaEvent::IcvSuccess { .. } => Ok(()),
        MkaEvent::SakGenerated { ckn, ki, an, rekey } => {
            let what = if *rekey { "rekeyed" } else { "generated" };
            write!(f, "{what} SAK with KI {ki} AN {an}, CKN:{ckn}")
        }
        MkaEvent::SakReceived { ckn, ki, an } => write!(f, "received SAK KI {ki} AN {an}, CKN:{ckn}"),
        MkaEvent::SessionStopped { ckn } => write!(f, "MKA session stopped, CKN:{ckn}"),
        MkaEvent::PeerLive { ckn, peer } => write!(f, "peer {peer} live, CKN:{ckn}"),
        MkaEvent::PeerLost { ckn, peer } => write!(f, "peer {peer} timed out, CKN:{ckn}"),
        MkaEvent::PeerLimit { ckn, limit } => write!(
            f,
            "{limit} peers, the limit: MKPDUs of new members are dropped until one ages out, CKN:{ckn}"
        ),
        MkaEvent::KeyServerElected {
            ckn,
            key_server,
            local,
        } => {
            let this = if *local { " (this node)" } else { "" };
            write!(f, "key server {key_server}{this}, CKN:{ckn}")
        }
        MkaEvent::PpkFailure { ckn, failure } => {
            write!(f, "{failure}; the session is not secured with it, CKN:{ckn}")
        }
        MkaEvent::SakRefused { ckn, from, reason } => {
            write!(f, "Distributed SAK from {from} not used: {reason}, CKN:{ckn}")
        }
        MkaEvent::CipherSuiteMismatch {
            ckn,
            distributed,
            policy,
        } => write!(
            f,
            "the key server distributes {} SAKs, the policy's cipher-suite is {}: SAK not used, CKN:{ckn}",
            distributed.name(),
            policy.name()
        ),
    }
}

fn fmt_port(f: &mut fmt::Formatter<'_>, interface: &str, ev: &PortEvent) -> fmt::Result {
    match ev {
        PortEvent::Mka(ev) => fmt_mka(f, interface, ev),
        PortEvent::PpkProfile { profile, source } => {
            write!(f, "macsecd: ({interface}) PPK key distribution with sks profile {profile} (")?;
            match source {
                PpkSourceKind::Sks { state_dir } => write!(f, "SKS, {})", state_dir.display()),
                PpkSourceKind::Skip { kme_server: Some(k) } => write!(f, "SKIP, kme server {k})"),
                PpkSourceKind::Skip { kme_server: None } => write!(f, "SKIP, no KME)"),
            }
        }
        PortEvent::PpkAsking { profile, key_id, .. } => {
            write!(f, "macsecd: ({interface}) asking sks profile {profile} for ")?;
            match key_id {
                None => write!(f, "a fresh PPK"),
                // As the PPK source names it (a SKIP key ID as its text).
                Some(id) => match KeyId::new(id.as_bytes()) {
                    Ok(id) => write!(f, "the PPK with key ID {id}"),
                    Err(_) => write!(f, "the PPK with key ID {id}"),
                },
            }
        }
        PortEvent::PpkObtained { key_id, ms, .. } => {
            write!(f, "macsecd: ({interface}) PPK key ID {key_id} obtained in {ms} ms")
        }
        PortEvent::PpkRequestFailed { ms, .. } => {
            write!(f, "macsecd: ({interface}) PPK request failed after {ms} ms")
        }
        PortEvent::SasInherited { tx, rx } => write!(
            f,
            "macsecd: ({interface}) {tx} Tx and {rx} Rx SAs already in the dataplane keep traffic flowing until this session secures"
        ),
        PortEvent::SasRetired { tx, rx } => write!(
            f,
            "macsecd: ({interface}) {tx} Tx and {rx} Rx SAs of the previous session deleted"
        ),
        PortEvent::RxSaAdopted { sci, an, ki } => write!(
            f,
            "macsecd: ({interface}) Rx SA {:016x} AN {an} already holds SAK KI {ki}: kept",
            sci.0
        ),
        PortEvent::TxSaAdopted { an, ki } => write!(
            f,
            "macsecd: ({interface}) Tx SA AN {an} already holds SAK KI {ki}: kept, with its PN"
        ),
        PortEvent::DataplaneRefused { code, message } => write!(
            f,
            "macsecd: ({interface}) the dataplane refused {message} ({code:?}): the MKA session of the interface restarts"
        ),
        PortEvent::SessionRestarted => write!(
            f,
            "macsecd: ({interface}) MKA session restarted after the dataplane's refusal"
        ),
        PortEvent::InjectRefused { count, code, message } => write!(
            f,
            "macsecd: ({interface}) the dataplane refused an MKPDU ({code:?}: {message}), {count} so far"
        ),
        PortEvent::NotALink { reload } => {
            let at = if *reload { "reload: " } else { "" };
            write!(
                f,
                "macsecd: {at}interface {interface} is not a link of the dataplane: not started"
            )
        }
        PortEvent::Added => write!(f, "macsecd: reload: interface {interface} added: its MKA session starts"),
        PortEvent::Removed { tx, rx } => write!(
            f,
            "macsecd: reload: interface {interface} removed: its MKA session stopped, {tx} Tx and {rx} Rx SAs deleted"
        ),
        PortEvent::PolicyChanged => write!(
            f,
            "macsecd: reload: the policy of {interface} changed: its MKA session restarts with it"
        ),
        PortEvent::KeychainsApplied => write!(f, "macsecd: reload: key chains of {interface} applied"),
        PortEvent::Stopped { tx, rx } => {
            write!(f, "macsecd: ({interface}) stopped: {tx} Tx and {rx} Rx SAs deleted")
        }
        PortEvent::ClockStep { seconds } => {
            let (dir, then) = if *seconds < 0 {
                ("back", "the key in use stays until its lifetime ends")
            } else {
                ("forward", "keys whose lifetime the new time has passed end")
            };
            write!(
                f,
                "%L2-MKA-4-CLOCK_STEP : ({interface}) the wall clock stepped {dir} by {} s: {then}",
                seconds.unsigned_abs()
            )
        }
        PortEvent::NotSecured { reason } => write!(
            f,
            "%L2-MKA-5-SESSION_NOT_SECURED : ({interface}) MKA session not secured: {reason}"
        ),
        PortEvent::Suppressed {
            mnemonic,
            source,
            count,
        } => {
            write!(f, "macsecd: ({interface}) %{mnemonic} ")?;
            match source {
                Some(m) => write!(
                    f,
                    "from {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    m[0], m[1], m[2], m[3], m[4], m[5]
                )?,
                None => write!(f, "from other sources")?,
            }
            write!(f, ": {count} similar messages suppressed")
        }
    }
}

/// How often a line of one (interface, mnemonic, source) is logged: once per window.
pub const LOG_WINDOW: Duration = Duration::from_secs(10);
/// Sources tracked one by one; the lines of further sources share one window per (interface,
/// mnemonic).
pub const LOG_SOURCES: usize = 64;

/// One (interface, mnemonic, source) in its window.
#[derive(Debug)]
struct Tracked {
    interface: String,
    mnemonic: Mnemonic,
    source: Option<[u8; 6]>,
    until: Duration,
    suppressed: u64,
}

/// Rate limits of the log lines any frame on the line can cause ([`LogEvent::source`]): one
/// line per (interface, mnemonic, source) per window, then, when the window ends, one summary
/// line ([`PortEvent::Suppressed`]) of those not logged. At most `max_sources` sources are
/// tracked; the others share one window per (interface, mnemonic). Time is `now`, passed in.
#[derive(Debug)]
pub struct LogLimiter {
    window: Duration,
    max_sources: usize,
    tracked: Vec<Tracked>,
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new(LOG_WINDOW, LOG_SOURCES)
    }
}

impl LogLimiter {
    pub fn new(window: Duration, max_sources: usize) -> Self {
        LogLimiter {
            window,
            max_sources,
            tracked: Vec::new(),
        }
    }

    /// The lines to log of `events` at `now`, after the summaries of the windows ended by then.
    pub fn limit(&mut self, now: Duration, events: Vec<LogEvent>) -> Vec<LogEvent> {
        let mut out = self.expire(now);
        for ev in events {
            let (Some(source), Some(interface)) = (ev.source(), ev.interface()) else {
                out.push(ev);
                continue;
            };
            let mnemonic = ev.mnemonic();
            let find = |tracked: &mut Vec<Tracked>, source: Option<[u8; 6]>| {
                tracked
                    .iter_mut()
                    .position(|t| t.interface == interface && t.mnemonic == mnemonic && t.source == source)
            };
            let mut key = Some(source);
            if find(&mut self.tracked, key).is_none()
                && self.tracked.iter().filter(|t| t.source.is_some()).count() >= self.max_sources
            {
                key = None;
            }
            if let Some(i) = find(&mut self.tracked, key) {
                self.tracked[i].suppressed += 1;
                continue;
            }
            self.tracked.push(Tracked {
                interface: interface.to_string(),
                mnemonic,
                source: key,
                until: now + self.window,
                suppressed: 0,
            });
            out.push(ev);
        }
        out
    }

    /// The summary lines of the windows ended by `now` (a window with nothing suppressed ends
    /// silently).
    pub fn expire(&mut self, now: Duration) -> Vec<LogEvent> {
        let mut out = Vec::new();
        self.tracked.retain(|t| {
            if t.until > now {
                return true;
            }
            if t.suppressed > 0 {
                out.push(LogEvent::port(
                    &t.interface,
                    PortEvent::Suppressed {
                        mnemonic: t.mnemonic,
                        source: t.source,
                        count: t.suppressed,
                    },
                ));
            }
            false
        });
        out
    }
}

fn fmt_daemon(f: &mut fmt::Formatter<'_>, ev: &DaemonEvent) -> fmt::Result {
    match ev {
        DaemonEvent::ConfigNote { path, note } => write!(f, "macsecd: {}: note: {note}", path.display()),
        DaemonEvent::ReloadDeferred => write!(f, "macsecd: reload: applied when the dataplane is back"),
        DaemonEvent::ReloadRefused { reason } => {
            write!(f, "macsecd: reload refused, running configuration kept: {reason}")
        }
        DaemonEvent::DataplaneLost { path, error } => {
            write!(f, "macsecd: dataplane {}: {error}; reconnecting", path.display())
        }
        DaemonEvent::DataplaneBack { path } => {
            write!(
                f,
                "macsecd: dataplane {} is back; MKA sessions restart",
                path.display()
            )
        }
        DaemonEvent::SaDeleteFailed { error } => write!(f, "macsecd: could not delete the SAs: {error}"),
    }
}

impl fmt::Display for LogEvent {
    /// The log line's text: the guide's syslog line for the engine's events
    /// (`%L2-MKA-5-SESSION_SECURED : (Hu0/0/0/1) MKA session secured, CKN:...`), `macsecd: ...`
    /// for the daemon's own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogEvent::Port { interface, event } => fmt_port(f, interface, event),
            LogEvent::Daemon(ev) => fmt_daemon(f, ev),
        }
    }
}
