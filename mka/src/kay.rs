//! The KaY and CP state machines (IEEE 802.1X-2020 clauses 9 and 12) as a sans-IO engine, in the
//! style of quinn-proto: no sockets, clocks or threads inside. The caller feeds received EAPOL
//! frames ([`Mka::handle_mkpdu`]), the passing of time ([`Mka::handle_timeout`]) and dataplane
//! reports ([`Mka::handle_pn_threshold`]), and drains what the engine wants done: frames to send
//! ([`Mka::poll_transmit`]), SA installs for the dataplane ([`Mka::poll_sa_command`]) and events
//! for logs and `show` ([`Mka::poll_event`]). [`Mka::poll_timeout`] says when to call back.
//!
//! One participant per CA (CKN). Liveness follows 9.4: a peer is live once it lists our MI with a
//! recent MN; it expires after MKA Life Time without an MKPDU. Key server election follows 9.5.1:
//! a participant announces the Key Server bit while it has not decided that another participant
//! is or will be the key server; the candidates are the live participants that announce it (and
//! this one, unless its priority is [`NOT_KEY_SERVER_PRIORITY`]); the lowest priority wins, then
//! the lowest SCI. A Distributed SAK is taken only from the elected key server; any other is
//! refused and said why ([`MkaEvent::SakRefused`]). The key server
//! generates each SAK from the CSPRNG, distributes it wrapped with the KEK, and the SAK Use
//! handshake installs it hitlessly: every participant installs receive for the new key first and
//! says so (Latest Key rx); the key server starts transmitting with it once every live peer
//! receives it (Latest Key tx), the others follow when they see the key server's tx; the old key
//! is retired only when every live peer transmits with the new one.
//!
//! PPK key distribution mode ([`MkaConfig::ppk`], macsec-policy `ppk sks-profile NAME`; wire and
//! key mixing in [`super::ppk`], `docs/ppk-mka.md`): before it distributes a SAK, the key server
//! asks the driver for a fresh PPK ([`Mka::poll_ppk_request`] → [`PpkRequest::New`]); once the
//! driver answers ([`Mka::handle_ppk`]) it wraps the SAK with KEK' = KDF(PPK, "IEEE8021 PPK KEK",
//! KEK) and announces the PPK's key ID next to the Distributed SAK. A member that sees the key ID
//! asks for that PPK ([`PpkRequest::ById`]) and unwraps with KEK' once it has it. Every SAK gets a
//! fresh PPK (first key, rekeys, peer-set changes): a PPK protects exactly one SAK. Until the PPK
//! arrives the current key stays in use. A participant that cannot use the distribution (PPK
//! source failure, PPK mismatch, PPK mode on one side only, malformed key ID TLV) does not take
//! the SAK, reports [`MkaEvent::PpkFailure`] and shows the reason in [`ParticipantStatus`].

use super::kdf::{Cak, Ckn, Ick, Kek, KeyError, Sak};
use super::pdu::{
    Announcement, BasicParamSet, ConfidentialityOffset, DistributedSak, KeyUse, MacsecCapability,
    MkaFrameRepr, MkpduRepr, ParamSet, Peer, PeerList, SakUse, SakUseKeys, WrappedSak, Xpn,
    ALGORITHM_AGILITY, MKA_VERSION,
};
use super::ppk::{ppk_kek, PpkKeyId, PpkKeyIdTlv, PpkSecret, PpkTlvError};
use super::rng::{Rng, RngSeed};
use super::{Ki, Mi};
use macsec::secy::{CipherSuite, ConfOffset, Salt, Sci, Ssci};
use macsec::wire::MacAddr;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// MKA Hello Time (802.1X-2020 Table 9-3).
pub const HELLO_TIME: Duration = Duration::from_secs(2);
/// MKA Bounded Hello Time: the prompt transmission after a change.
pub const BOUNDED_HELLO_TIME: Duration = Duration::from_millis(500);
/// MKA Life Time.
pub const LIFE_TIME: Duration = Duration::from_secs(6);
/// The Lowest Acceptable PN we report for a key is a transmit PN sampled at least this long ago:
/// every frame sent within the last two seconds has a PN at or above it (the guide's data delay
/// protection: frames delayed by more than about two seconds are refused).
pub const DELAY_PROTECTION_AGE: Duration = Duration::from_secs(2);
/// key-server-priority 0xFF: this participant never becomes key server (802.1X-2020 Table 9-2,
/// "not key server"). It never announces the Key Server bit, and secures with any peer that does
/// (whatever that peer's priority, 0xFF included: wpa_supplicant's default is 255).
pub const NOT_KEY_SERVER_PRIORITY: u8 = 0xFF;
/// PPK mode: after a PPK request failed (or a PPK did not unwrap the SAK), no new request for the
/// participant before this long.
pub const PPK_RETRY_TIME: Duration = Duration::from_secs(10);

/// Members per CA that a participant keeps (live and potential) unless told otherwise: 64 peer
/// list entries of 16 octets keep our MKPDU, with every other parameter set and two VLAN tags,
/// within a 1518-octet frame.
pub const DEFAULT_MAX_PEERS: usize = 64;

/// The local port's MKA configuration (the guide's macsec-policy, per interface).
#[derive(Debug, Clone)]
pub struct MkaConfig {
    pub sci: Sci,
    pub mac: MacAddr,
    /// key-server-priority: lower wins; [`NOT_KEY_SERVER_PRIORITY`] never serves.
    pub key_server_priority: u8,
    /// The cipher suite the key server distributes.
    pub cipher_suite: CipherSuite,
    pub conf_offset: ConfOffset,
    pub macsec_desired: bool,
    pub capability: MacsecCapability,
    /// sak-rekey-interval.
    pub sak_rekey_interval: Option<Duration>,
    /// delay-protection: set Delay Protect in our SAK Use, and raise each receive SA's lowest
    /// acceptable PN to the one its peer reports, so a frame delayed by more than about two
    /// seconds is refused. (The Lowest Acceptable PN we report, from [`Mka::handle_tx_pn`], is
    /// in every SAK Use either way.)
    pub delay_protection: bool,
    /// include-icv-indicator: our MKPDUs carry the ICV in an ICV Indicator parameter set.
    pub include_icv_indicator: bool,
    /// PPK key distribution mode (macsec-policy `ppk sks-profile NAME`): every SAK this node
    /// distributes or accepts is wrapped with the PPK-mixed KEK (module doc).
    pub ppk: bool,
    /// Where MIs and SAKs come from: `None` (macsecd) the OS CSPRNG; a seed (tests, fuzzing)
    /// makes the engine deterministic, so a run can be replayed ([`crate::rng`]).
    pub rng_seed: Option<RngSeed>,
    /// The most members a participant keeps ([`DEFAULT_MAX_PEERS`]): MKPDUs of further new MIs
    /// are dropped (counted in [`MkaStats::peer_limit_drops`], [`MkaEvent::PeerLimit`] once per
    /// episode), except a new MI of an SCI already in the table (a peer's restart).
    pub max_peers: usize,
    /// Test only (macsecd's hidden `--test-initial-pn`, the PN-exhaustion system test): every
    /// SA this engine installs starts at this PN instead of 1 (the Tx SA's next PN, the Rx SA's
    /// lowest acceptable PN, so that an XPN receiver recovers the high half), so that PN
    /// exhaustion comes in seconds. `None` (always, outside tests): 1.
    pub test_initial_pn: Option<u64>,
}

impl MkaConfig {
    pub fn new(sci: Sci, cipher_suite: CipherSuite) -> Self {
        MkaConfig {
            sci,
            mac: MacAddr(sci.mac()),
            key_server_priority: 16,
            cipher_suite,
            conf_offset: ConfOffset::Zero,
            macsec_desired: true,
            capability: MacsecCapability::ConfidentialityWithOffset,
            sak_rekey_interval: None,
            delay_protection: false,
            include_icv_indicator: false,
            ppk: false,
            rng_seed: None,
            max_peers: DEFAULT_MAX_PEERS,
            test_initial_pn: None,
        }
    }
}

/// What the dataplane must do (ipc requests, 1:1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaCommand {
    InstallRx {
        sci: Sci,
        an: u8,
        ki: Ki,
        sak: Sak,
        suite: CipherSuite,
        ssci: Ssci,
        salt: Salt,
        lowest_pn: u64,
    },
    /// `conf_offset` None: integrity only (E=C=0), as the key server chose from the capabilities.
    InstallTx {
        an: u8,
        ki: Ki,
        sak: Sak,
        suite: CipherSuite,
        conf_offset: Option<ConfOffset>,
        ssci: Ssci,
        salt: Salt,
        next_pn: u64,
    },
    EnableTx {
        an: u8,
    },
    DeleteRx {
        sci: Sci,
        an: u8,
    },
    DeleteTx {
        an: u8,
    },
    /// Delay protection: raise the lowest acceptable PN of a receive SA.
    SetLowestPn {
        sci: Sci,
        an: u8,
        pn: u64,
    },
}

/// Events, named after the IOS XR syslog mnemonics where one exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MkaEvent {
    /// %L2-MKA-6-MKPDU_ICV_SUCCESS (FALLBACK_PSK_MKPDU_ICV_SUCCESS when `fallback`): the first
    /// MKPDU from a peer verified.
    IcvSuccess {
        ckn: Ckn,
        peer: Sci,
        fallback: bool,
    },
    /// %L2-MKA-3-MKPDU_ICV_FAILURE (FALLBACK_PSK_MKPDU_ICV_FAILURE when `fallback`).
    IcvFailure {
        ckn: Ckn,
        fallback: bool,
        /// The frame's source MAC (what macsecd rate-limits the line by).
        source: [u8; 6],
        /// The SCI the MKPDU claims (its Basic Parameter Set; not authenticated, as the ICV
        /// failed): the guide's `RxSCI`.
        peer: Sci,
    },
    PeerLive {
        ckn: Ckn,
        peer: Sci,
    },
    PeerLost {
        ckn: Ckn,
        peer: Sci,
    },
    /// %L2-MKA-4-PEER_LIMIT (ours): the CA holds [`MkaConfig::max_peers`] members; MKPDUs of new
    /// members are dropped until one ages out (said once per episode).
    PeerLimit {
        ckn: Ckn,
        limit: usize,
    },
    KeyServerElected {
        ckn: Ckn,
        key_server: Sci,
        local: bool,
    },
    /// %L2-MKA-6-SAK_GENERATED / SAK_REKEY.
    SakGenerated {
        ckn: Ckn,
        ki: Ki,
        an: u8,
        rekey: bool,
    },
    /// SAK received from the key server.
    SakReceived {
        ckn: Ckn,
        ki: Ki,
        an: u8,
    },
    /// %L2-MKA-5-SESSION_SECURED, or SESSION_SECURED_WITH_FALLBACK_PSK when `fallback`:
    /// transmitting with a distributed SAK of this CA.
    SessionSecured {
        ckn: Ckn,
        ki: Ki,
        fallback: bool,
    },
    /// The session lost every peer or its key.
    SessionStopped {
        ckn: Ckn,
    },
    /// %L2-MKA-3-PPK_... ([`PpkFailure::mnemonic`]): PPK key distribution failed on this CA; the
    /// SAK concerned is not used.
    PpkFailure {
        ckn: Ckn,
        failure: PpkFailure,
    },
    /// %L2-MKA-3-CIPHER_SUITE_MISMATCH (ours): the key server distributes SAKs of another cipher
    /// suite than our policy's; they are not used (logged when the distributed suite changes).
    CipherSuiteMismatch {
        ckn: Ckn,
        distributed: CipherSuite,
        policy: CipherSuite,
    },
    /// %L2-MKA-4-SAK_REFUSED (ours; the guide has none): a Distributed SAK from `from` was not
    /// taken, for `reason` (logged when the reason or the sender changes).
    SakRefused {
        ckn: Ckn,
        from: Sci,
        reason: SakRefusal,
    },
}

/// Why a Distributed SAK was not taken (besides a cipher suite mismatch and PPK failures, which
/// have events of their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SakRefusal {
    /// The sender is not (yet) a live peer.
    NotLive,
    /// This participant is the elected key server.
    SelfIsKeyServer,
    /// Another participant (`elected`) is the elected key server.
    NotKeyServer { elected: Sci },
    /// No key server is elected (no live participant announces the Key Server bit).
    NoKeyServer,
    /// The SAK did not unwrap with our KEK, or had the wrong length for its cipher suite.
    Unwrap,
}

impl core::fmt::Display for SakRefusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SakRefusal::NotLive => f.write_str("the sender is not a live peer"),
            SakRefusal::SelfIsKeyServer => f.write_str("this node is the elected key server"),
            SakRefusal::NotKeyServer { elected } => {
                write!(f, "the sender is not the elected key server ({elected} is)")
            }
            SakRefusal::NoKeyServer => f.write_str("no key server is elected"),
            SakRefusal::Unwrap => f.write_str("the SAK does not unwrap with the KEK of this CA"),
        }
    }
}

/// A session's Status as the guide's `show macsec mka session` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// No CA runs (no active key), or no peer has been heard on any CA yet.
    Init,
    /// A peer is heard (potential or live) but no key is in use yet.
    Pending,
    /// A key carries the port's transmit.
    Secured,
}

impl SessionState {
    /// As the guide prints it: `Init`, `Pending`, `Secured`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionState::Init => "Init",
            SessionState::Pending => "Pending",
            SessionState::Secured => "Secured",
        }
    }
}

/// How recent an ICV failure or an MKPDU with an unknown CKN must be to explain why a session is
/// not secured: one MKA Life Time (an older one may come from a peer long gone).
pub const REASON_WINDOW: Duration = LIFE_TIME;

/// A live key server that has not distributed a SAK this long after it became live is said not to
/// distribute (it normally does within a hello or two).
pub const KEY_SERVER_SILENCE: Duration = LIFE_TIME;

/// Why a session is not secured ("why not secured" of `show macsec mka session detail` and the
/// log), derived by [`Mka::not_secured_reason`] from what the engine saw. No secrets inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSecuredReason {
    /// No CA runs: the key chains have no key valid now (expired, or not yet started).
    NoActiveKey,
    /// No MKPDU heard within [`REASON_WINDOW`] (no peer, or the link is down).
    NoPeer,
    /// MKPDUs heard, but with a CKN that none of our CAs runs.
    CknMismatch { ckn: Ckn },
    /// MKPDUs with our CKN fail their ICV: the peers' CAKs differ.
    IcvFailures { ckn: Ckn, count: u64 },
    /// A peer is heard but does not list us (it does not hear our MKPDUs: a one-way link).
    PeerNotLive { peer: Sci },
    /// A live peer does not want MACsec or cannot do it.
    CapabilityMismatch {
        peer: Sci,
        desired: bool,
        capability: MacsecCapability,
    },
    /// The key server distributes SAKs of another cipher suite than our policy's.
    CipherSuiteMismatch {
        distributed: CipherSuite,
        policy: CipherSuite,
    },
    /// No live participant is willing to be key server (every key-server-priority is 255).
    NoKeyServer,
    /// The elected key server (a peer) has distributed no SAK [`KEY_SERVER_SILENCE`] after it
    /// became live.
    KeyServerNotDistributing { key_server: Sci },
    /// The last Distributed SAK was refused.
    SakRefused { from: Sci, reason: SakRefusal },
    /// PPK mode: the PPK could not be obtained or did not match.
    PpkNotObtained(PpkFailure),
    /// PPK mode: waiting for the PPK source's answer.
    PpkPending,
    /// Live peers and a key server: the SAK is being distributed and installed (a transient).
    Negotiating,
}

impl NotSecuredReason {
    /// A short name for JSON and tests.
    pub fn code(&self) -> &'static str {
        match self {
            NotSecuredReason::NoActiveKey => "no-active-key",
            NotSecuredReason::NoPeer => "no-peer",
            NotSecuredReason::CknMismatch { .. } => "ckn-mismatch",
            NotSecuredReason::IcvFailures { .. } => "icv-failures",
            NotSecuredReason::PeerNotLive { .. } => "peer-not-live",
            NotSecuredReason::CapabilityMismatch { .. } => "capability-mismatch",
            NotSecuredReason::CipherSuiteMismatch { .. } => "cipher-suite-mismatch",
            NotSecuredReason::NoKeyServer => "no-key-server",
            NotSecuredReason::KeyServerNotDistributing { .. } => "key-server-not-distributing",
            NotSecuredReason::SakRefused { .. } => "sak-refused",
            NotSecuredReason::PpkNotObtained(_) => "ppk-not-obtained",
            NotSecuredReason::PpkPending => "ppk-pending",
            NotSecuredReason::Negotiating => "negotiating",
        }
    }
}

impl core::fmt::Display for NotSecuredReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NotSecuredReason::NoActiveKey => f.write_str(
                "no active key: no key of the key chain is valid now (expired or not yet started)",
            ),
            NotSecuredReason::NoPeer => f.write_str("no peer heard: no MKPDU received on this interface"),
            NotSecuredReason::CknMismatch { ckn } => write!(
                f,
                "CKN mismatch: MKPDUs heard with CKN {ckn}, which no active key of the key chain has"
            ),
            NotSecuredReason::IcvFailures { ckn, count } => write!(
                f,
                "ICV failures: {count} MKPDUs with CKN {ckn} failed ICV validation (likely CAK mismatch)"
            ),
            NotSecuredReason::PeerNotLive { peer } => write!(
                f,
                "peer {peer} heard but it does not list us (it does not hear our MKPDUs)"
            ),
            NotSecuredReason::CapabilityMismatch {
                peer,
                desired,
                capability,
            } => write!(
                f,
                "capability mismatch: peer {peer} announces MACsec Desired {}, MACsec Capability {}",
                if *desired { "YES" } else { "NO" },
                capability.bits()
            ),
            NotSecuredReason::CipherSuiteMismatch { distributed, policy } => write!(
                f,
                "cipher suite mismatch: the key server distributes {}, the policy's cipher-suite is {}",
                distributed.name(),
                policy.name()
            ),
            NotSecuredReason::NoKeyServer => {
                f.write_str("no key server: no live participant is willing (key-server-priority 255)")
            }
            NotSecuredReason::KeyServerNotDistributing { key_server } => write!(
                f,
                "key server not distributing: {key_server} is live but has distributed no SAK"
            ),
            NotSecuredReason::SakRefused { from, reason } => write!(f, "SAK refused from {from}: {reason}"),
            NotSecuredReason::PpkNotObtained(why) => write!(f, "PPK not obtained: {why}"),
            NotSecuredReason::PpkPending => f.write_str("waiting for the PPK from the sks-profile"),
            NotSecuredReason::Negotiating => {
                f.write_str("negotiating: peers live, the SAK is being distributed and installed")
            }
        }
    }
}

/// Key Distribution Mode of `show macsec mka session detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDistributionMode {
    /// The SAK is wrapped with the KEK (802.1X).
    Sak,
    /// The SAK is wrapped with the PPK-mixed KEK'.
    Ppk,
}

impl KeyDistributionMode {
    /// As the guide prints it: `SAK` or `PPK`.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyDistributionMode::Sak => "SAK",
            KeyDistributionMode::Ppk => "PPK",
        }
    }
}

/// What the engine needs from the PPK source (the policy's `sks-profile`). Answer each with
/// [`Mka::handle_ppk`], passing the request back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PpkRequest {
    /// Key server of CA `ckn`: a fresh (key ID, PPK) for the next SAK (`PpkSource::new_key`).
    New { ckn: Ckn },
    /// Member of CA `ckn`: the PPK the key server announced by `key_id` (`PpkSource::key_by_id`).
    ById { ckn: Ckn, key_id: PpkKeyId },
}

impl PpkRequest {
    pub fn ckn(&self) -> &Ckn {
        match self {
            PpkRequest::New { ckn } | PpkRequest::ById { ckn, .. } => ckn,
        }
    }
}

/// Why a participant could not use PPK key distribution (shown and logged; no secrets inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PpkFailure {
    /// The PPK source could not provide the PPK (`key_id` None: a fresh one for the key server).
    Fetch {
        key_id: Option<PpkKeyId>,
        reason: String,
    },
    /// The SAK did not unwrap with the KEK mixed with our PPK for `key_id`: the two ends hold
    /// different PPKs for that key ID.
    Mismatch { key_id: PpkKeyId },
    /// The key server distributed the SAK in PPK mode, but this node has no `ppk sks-profile`.
    NotConfigured { key_id: Option<PpkKeyId> },
    /// This node is in PPK mode, but the key server distributed the SAK without a PPK key ID.
    Missing,
    /// The PPK Key ID TLV was malformed, or named another KN than the Distributed SAK.
    BadTlv { reason: &'static str },
}

impl PpkFailure {
    /// The syslog mnemonic.
    pub fn mnemonic(&self) -> &'static str {
        match self {
            PpkFailure::Fetch { .. } => "PPK_FETCH_FAILURE",
            PpkFailure::Mismatch { .. } => "PPK_KEY_MISMATCH",
            PpkFailure::NotConfigured { .. } => "PPK_NOT_CONFIGURED",
            PpkFailure::Missing => "PPK_MODE_MISMATCH",
            PpkFailure::BadTlv { .. } => "PPK_BAD_KEY_ID",
        }
    }
}

impl core::fmt::Display for PpkFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PpkFailure::Fetch { key_id: None, reason } => write!(f, "could not obtain a fresh PPK: {reason}"),
            PpkFailure::Fetch {
                key_id: Some(id),
                reason,
            } => write!(f, "could not obtain the PPK with key ID {id}: {reason}"),
            PpkFailure::Mismatch { key_id } => {
                write!(
                    f,
                    "the SAK does not unwrap with the PPK of key ID {key_id} (the peers hold different PPKs)"
                )
            }
            PpkFailure::NotConfigured { key_id: Some(id) } => {
                write!(f, "the key server distributed the SAK with PPK key ID {id}, but no ppk sks-profile is configured")
            }
            PpkFailure::NotConfigured { key_id: None } => {
                write!(
                    f,
                    "the key server distributed the SAK in PPK mode, but no ppk sks-profile is configured"
                )
            }
            PpkFailure::Missing => write!(
                f,
                "ppk sks-profile is configured, but the key server distributed the SAK without a PPK"
            ),
            PpkFailure::BadTlv { reason } => write!(f, "malformed PPK key ID from the key server ({reason})"),
        }
    }
}

/// One participant (CA) as `show macsec mka session` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantStatus {
    pub ckn: Ckn,
    /// CA Authentication Mode FALLBACK-PSK.
    pub fallback: bool,
    pub mi: Mi,
    pub mn: u32,
    pub live_peers: Vec<Sci>,
    pub potential_peers: Vec<Sci>,
    pub key_server: Option<Sci>,
    pub latest_key: Option<(Ki, u8)>,
    /// This CA's key is the one the port transmits with.
    pub transmitting: bool,
    pub secured: bool,
    pub icv_failures: u64,
    /// Peer CAK match: some peer verified and listed us on this CA.
    pub cak_match: bool,
    /// Key Distribution Mode: PPK when the policy has `ppk sks-profile`.
    pub key_distribution_mode: KeyDistributionMode,
    /// The key ID of the PPK protecting the latest SAK (PPK mode).
    pub ppk_key_id: Option<PpkKeyId>,
    /// Why PPK key distribution last failed; cleared once a SAK is generated or received.
    pub ppk_failure: Option<PpkFailure>,
    /// PPK mode: waiting for the PPK source's answer.
    pub ppk_pending: bool,
    /// The cipher suite of the key server's SAK when it is not our policy's (the SAK is refused).
    pub cipher_suite_refused: Option<CipherSuite>,
    /// The last Distributed SAK refused (sender and why); cleared by a SAK taken.
    pub sak_refused: Option<(Sci, SakRefusal)>,
    /// The Key Server bit of our MKPDUs: willing, and no other participant elected.
    pub announces_key_server: bool,
    /// The latest key's Rx SAs are installed (for every live peer) / its Tx SA is in use.
    pub latest_rx: bool,
    pub latest_tx: bool,
    /// The old key (a rekey's previous SAK) while it is kept: KI, AN, and whether it transmits.
    pub old_key: Option<(Ki, u8, bool)>,
    /// Engine time the latest key was installed (Time to SAK Rekey counts from it).
    pub latest_installed_at: Option<Duration>,
    /// Live peers whose SAK Use shows our latest key ("Live Peers Responded").
    pub live_peers_responded: usize,
    /// The peers' detail for the Live and Potential Peer Lists (live ones first).
    pub peers: Vec<PeerStatus>,
    /// Engine time our last MKPDU on this CA was sent.
    pub last_tx: Option<Duration>,
}

/// One peer of a CA as the guide's peer lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub mi: Mi,
    pub mn: u32,
    pub sci: Sci,
    pub key_server_priority: u8,
    pub live: bool,
    /// Engine time its last MKPDU arrived.
    pub last_heard: Duration,
}

/// The counters of `show macsec mka statistics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MkaStats {
    pub mkpdus_tx: u64,
    pub mkpdus_rx: u64,
    pub mkpdus_validated: u64,
    pub icv_failures: u64,
    pub malformed: u64,
    pub unknown_ckn: u64,
    pub bad_peer_mn: u64,
    pub non_recent_peer_list_mn: u64,
    pub sak_generated: u64,
    pub sak_rekeyed: u64,
    pub sak_received: u64,
    pub sak_unwrap_failures: u64,
    pub sak_from_non_key_server: u64,
    pub distributed_sak_tx: u64,
    /// PPK requests made of the driver.
    #[serde(default)]
    pub ppk_requests: u64,
    /// PPK key distribution failures (each [`MkaEvent::PpkFailure`], and every refused SAK).
    #[serde(default)]
    pub ppk_failures: u64,
    /// Key server: live peers' first SAK Use saying they receive with the SAK we distributed
    /// (one per peer and key).
    #[serde(default)]
    pub sak_responses_received: u64,
    /// Validated MKPDUs that carried a Distributed SAK.
    #[serde(default)]
    pub distributed_sak_rx: u64,
    /// MKPDUs that could not be built (sealing failed).
    #[serde(default)]
    pub mkpdu_build_failures: u64,
    /// SAK Use of a live peer not taken as an answer for our keys, by reason (the guide's
    /// "MKPDU Rx Drop SAKUSE" lines; [`SakUseDrop`]).
    #[serde(default)]
    pub sakuse_drops: SakUseDrops,
    /// A SAK could not be generated (no randomness).
    #[serde(default)]
    pub sak_generation_failures: u64,
    /// Distributed SAKs refused because their cipher suite is not our policy's.
    #[serde(default)]
    pub sak_cipher_suite_mismatch: u64,
    /// Key server: rekeys started because a PN neared exhaustion (our Tx SA's threshold event or
    /// a live member's Lowest PN at the suite's threshold).
    #[serde(default)]
    pub pn_exhaustion_rekeys: u64,
    /// Key server: rekeys because `sak-rekey-interval` passed.
    #[serde(default)]
    pub interval_rekeys: u64,
    /// Key server: rekeys because the live peer set changed (a peer joined or left; 9.8).
    #[serde(default)]
    pub membership_rekeys: u64,
    /// MKPDUs of a new member dropped because the CA already held `max_peers` members.
    #[serde(default)]
    pub peer_limit_drops: u64,
}

/// Why a peer's SAK Use does not answer for our latest or old key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SakUseDrop {
    /// It names a key of our key server (same MI) with another Key Number.
    KnMismatch,
    /// It says it transmits with our key without receiving with it.
    RxNotSet,
    /// It names a key of another key server (another MI).
    KeyMiMismatch,
    /// It names our key with another AN.
    AnNotInUse,
    /// The key server's own SAK Use of the key it distributes has neither Rx nor Tx set.
    KsRxTxNotSet,
}

/// Counts per [`SakUseDrop`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SakUseDrops {
    pub kn_mismatch: u64,
    pub rx_not_set: u64,
    pub key_mi_mismatch: u64,
    pub an_not_in_use: u64,
    pub ks_rx_tx_not_set: u64,
}

impl SakUseDrops {
    fn count(&mut self, why: SakUseDrop) {
        *match why {
            SakUseDrop::KnMismatch => &mut self.kn_mismatch,
            SakUseDrop::RxNotSet => &mut self.rx_not_set,
            SakUseDrop::KeyMiMismatch => &mut self.key_mi_mismatch,
            SakUseDrop::AnNotInUse => &mut self.an_not_in_use,
            SakUseDrop::KsRxTxNotSet => &mut self.ks_rx_tx_not_set,
        } += 1;
    }
}

/// Checks a live peer's Latest Key use against our keys, (KI, AN) of `latest` and `old`;
/// `from_key_server`: the peer is the key server that distributed `latest`.
fn sak_use_drop(
    lu: &KeyUse,
    latest: (Ki, u8),
    old: Option<(Ki, u8)>,
    from_key_server: bool,
) -> Option<SakUseDrop> {
    let keys = [Some(latest), old];
    match keys.into_iter().flatten().find(|(ki, _)| *ki == lu.ki) {
        None if keys.into_iter().flatten().any(|(ki, _)| ki.mi == lu.ki.mi) => Some(SakUseDrop::KnMismatch),
        None => Some(SakUseDrop::KeyMiMismatch),
        Some((_, an)) if an != lu.an => Some(SakUseDrop::AnNotInUse),
        Some(_) if lu.tx && !lu.rx => Some(SakUseDrop::RxNotSet),
        Some((ki, _)) if from_key_server && ki == latest.0 && !lu.tx && !lu.rx => {
            Some(SakUseDrop::KsRxTxNotSet)
        }
        Some(_) => None,
    }
}

#[derive(Debug, Clone)]
struct PeerState {
    sci: Sci,
    mn: u32,
    live: bool,
    last_heard: Duration,
    /// When its first MKPDU arrived (a key server lets a new potential peer become live before
    /// it distributes a SAK, see [`Participant::settling_until`]).
    first_heard: Duration,
    priority: u8,
    key_server: bool,
    capability: MacsecCapability,
    /// The peer's MACsec Desired bit.
    macsec_desired: bool,
    /// Since when it is live (for "why not secured": how long the key server has been silent).
    live_since: Option<Duration>,
    latest_use: Option<KeyUse>,
    old_use: Option<KeyUse>,
    /// The last of our keys this peer was counted as answering for (SAK Responses Received).
    answered: Option<Ki>,
}

#[derive(Debug, Clone)]
struct KeyState {
    ki: Ki,
    an: u8,
    sak: Sak,
    suite: CipherSuite,
    /// None: integrity only.
    conf_offset: Option<ConfOffset>,
    /// Peers whose receive SA is installed for this key.
    rx_for: Vec<Sci>,
    tx_installed: bool,
    tx_enabled: bool,
    installed_at: Duration,
    /// Our transmit PN for this key, as the dataplane reported it over time.
    tx_pn: TxPnSamples,
    /// The lowest acceptable PN last applied to each peer's receive SA (delay protection).
    rx_lowest: Vec<(Sci, u64)>,
    /// PPK mode: the key ID of the PPK that protects this SAK.
    ppk_key_id: Option<PpkKeyId>,
    /// PPK mode, key server: KEK', the PPK-mixed KEK this SAK is distributed under.
    ppk_kek: Option<Kek>,
}

/// The dataplane's reports of a key's next transmit PN ([`Mka::handle_tx_pn`]), kept just long
/// enough to say which PN was in use [`DELAY_PROTECTION_AGE`] ago.
#[derive(Debug, Clone, Default)]
struct TxPnSamples(VecDeque<(Duration, u64)>);

impl TxPnSamples {
    fn record(&mut self, now: Duration, next_pn: u64) {
        let pn = self.0.back().map_or(next_pn, |(_, last)| next_pn.max(*last));
        self.0.push_back((now, pn));
        // The front is the newest sample old enough; older ones say less.
        while self
            .0
            .get(1)
            .is_some_and(|(t, _)| now.saturating_sub(*t) >= DELAY_PROTECTION_AGE)
        {
            self.0.pop_front();
        }
    }

    /// The Lowest Acceptable PN to report at `now`: the next PN of at least
    /// [`DELAY_PROTECTION_AGE`] ago, so every frame sent since has a PN at or above it; 1 (the
    /// first PN of any SA) before there is such a sample. Never 0: wpa_supplicant refuses a SAK
    /// Use with Delay Protect and a zero Lowest Acceptable PN.
    fn lowest_acceptable(&self, now: Duration) -> u64 {
        self.0
            .iter()
            .rev()
            .find(|(t, _)| now.saturating_sub(*t) >= DELAY_PROTECTION_AGE)
            .map_or(1, |(_, pn)| *pn)
            .max(1)
    }
}

/// A Distributed SAK waiting for its PPK.
#[derive(Debug, Clone)]
struct WaitingSak {
    sender: Mi,
    ki: Ki,
    ds: DistributedSak,
    key_id: PpkKeyId,
}

/// A participant's PPK state.
#[derive(Debug, Default)]
struct PpkState {
    /// Key server: a `New` request is outstanding.
    new_pending: bool,
    /// Key server: the PPK obtained for the next SAK.
    fresh: Option<(PpkKeyId, PpkSecret)>,
    /// Member: the key ID of the outstanding `ById` request.
    by_id_pending: Option<PpkKeyId>,
    /// Member: the latest Distributed SAK that needs a PPK.
    waiting: Option<WaitingSak>,
    /// No new request before this instant (after a failure).
    retry_at: Option<Duration>,
    /// The last failure, until a SAK is generated or received.
    failure: Option<PpkFailure>,
}

/// One MKA participant (one CA).
struct Participant {
    ckn: Ckn,
    /// A fallback PSK participant: it secures the session only while no primary CA has a live
    /// peer, and hands back to the primary once the primary's key carries the traffic.
    fallback: bool,
    /// Order of creation: a newer primary participant (CAK rollover) is preferred for transmit.
    seq: u64,
    icv_failures: u64,
    /// When the last MKPDU with this CKN failed its ICV check.
    last_icv_failure: Option<Duration>,
    ick: Ick,
    kek: Kek,
    mi: Mi,
    mn: u32,
    /// (time sent, MN) of our recent MKPDUs, for the "recent MN" test of liveness.
    sent: VecDeque<(Duration, u32)>,
    peers: BTreeMap<Mi, PeerState>,
    key_server: Option<Mi>,
    latest: Option<KeyState>,
    old: Option<KeyState>,
    next_kn: u32,
    /// The live peer set the latest SAK was generated for.
    sak_peers: Vec<Mi>,
    rekey_requested: bool,
    /// [`MkaEvent::PeerLimit`] was said for the current episode of a full peer table.
    peer_limit_said: bool,
    next_tx: Duration,
    secured: bool,
    ppk: PpkState,
    /// The cipher suite of the last SAK refused for not being our policy's; cleared by a SAK taken.
    suite_refused: Option<CipherSuite>,
    /// The last Distributed SAK refused for another reason (sender, why); cleared by a SAK taken.
    sak_refused: Option<(Sci, SakRefusal)>,
    /// Key server: a SAK waits until then for new potential peers to become live.
    settle_at: Option<Duration>,
}

/// At most this many emptied MKPDU buffers are kept for reuse.
const MAX_SPARE_BUFFERS: usize = 4;

/// The engine for one port.
pub struct Mka {
    cfg: MkaConfig,
    rng: Rng,
    parts: Vec<Participant>,
    next_seq: u64,
    out: VecDeque<Vec<u8>>,
    /// Emptied buffers handed back by [`Mka::poll_transmit`], reused for the next MKPDUs.
    spare: Vec<Vec<u8>>,
    sa: VecDeque<SaCommand>,
    ev: VecDeque<MkaEvent>,
    ppk_req: VecDeque<PpkRequest>,
    pub stats: MkaStats,
    /// The last MKPDU whose CKN no participant runs: when, and that CKN.
    last_unknown_ckn: Option<(Duration, Ckn)>,
}

fn ssci_for(sci: Sci, mut all: Vec<Sci>) -> Ssci {
    // 802.1AE-2018 10.7.13 / mka-facts 4.2: the numerically greatest SCI gets SSCI 1.
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.dedup();
    Ssci(
        all.iter()
            .position(|s| *s == sci)
            .map(|i| i as u32 + 1)
            .unwrap_or(0),
    )
}

impl Participant {
    fn new(
        rng: &mut Rng,
        ckn: Ckn,
        cak: &Cak,
        now: Duration,
        fallback: bool,
        seq: u64,
    ) -> Result<Self, KeyError> {
        Ok(Participant {
            fallback,
            seq,
            icv_failures: 0,
            last_icv_failure: None,
            ick: Ick::derive(cak, &ckn),
            kek: Kek::derive(cak, &ckn),
            ckn,
            mi: Mi::generate(rng)?,
            mn: 0,
            sent: VecDeque::new(),
            peers: BTreeMap::new(),
            key_server: None,
            latest: None,
            old: None,
            next_kn: 1,
            sak_peers: Vec::new(),
            rekey_requested: false,
            peer_limit_said: false,
            next_tx: now,
            secured: false,
            ppk: PpkState::default(),
            suite_refused: None,
            sak_refused: None,
            settle_at: None,
        })
    }

    /// Transmit preference: primary before fallback, newer before older (lower is better).
    fn preference(&self) -> (bool, std::cmp::Reverse<u64>) {
        (self.fallback, std::cmp::Reverse(self.seq))
    }

    /// Transmits with its latest key.
    fn transmitting(&self) -> bool {
        self.latest.as_ref().is_some_and(|k| k.tx_enabled)
    }

    /// Still transmits with its old key while a rekey's new key is installed but not yet in use.
    fn transmitting_old(&self) -> bool {
        self.secured && !self.transmitting() && self.old.as_ref().is_some_and(|k| k.tx_enabled)
    }

    /// Every live peer transmits with our latest key.
    fn everyone_transmits_latest(&self) -> bool {
        let Some(k) = &self.latest else { return false };
        let mut live = self.live_peers().peekable();
        live.peek().is_some() && live.all(|(_, x)| x.latest_use.is_some_and(|u| u.ki == k.ki && u.tx))
    }

    fn live_peers(&self) -> impl Iterator<Item = (&Mi, &PeerState)> {
        self.peers.iter().filter(|(_, p)| p.live)
    }

    fn live_scis(&self, own: Sci) -> Vec<Sci> {
        let mut v: Vec<Sci> = self.live_peers().map(|(_, p)| p.sci).collect();
        v.push(own);
        v
    }

    /// While a peer heard for the first time less than [`BOUNDED_HELLO_TIME`] ago is not yet
    /// live, the key server waits (until the instant returned) before it distributes a SAK: peers
    /// that start together become live within a round trip or two of each other, and one SAK for
    /// all of them is one SAK change instead of one per peer.
    fn settling_until(&self) -> Option<Duration> {
        self.peers
            .values()
            .filter(|x| !x.live)
            .map(|x| x.first_heard + BOUNDED_HELLO_TIME)
            .max()
    }

    /// The MN we sent within the last Life Time: a peer listing us with an older MN is stale.
    fn recent_mn_floor(&self, now: Duration) -> u32 {
        self.sent
            .iter()
            .find(|(t, _)| now.saturating_sub(*t) <= LIFE_TIME)
            .map(|(_, mn)| *mn)
            .unwrap_or(self.mn)
    }
}

impl Mka {
    /// An engine with one participant per `(CKN, CAK)`.
    pub fn new(cfg: MkaConfig, keys: Vec<(Ckn, Cak)>, now: Duration) -> Result<Mka, KeyError> {
        let mut mka = Mka {
            rng: Rng::from_seed(cfg.rng_seed.as_ref()),
            cfg,
            parts: Vec::new(),
            next_seq: 0,
            out: VecDeque::new(),
            spare: Vec::new(),
            sa: VecDeque::new(),
            ev: VecDeque::new(),
            ppk_req: VecDeque::new(),
            stats: MkaStats::default(),
            last_unknown_ckn: None,
        };
        for (ckn, cak) in keys {
            mka.add_participant(now, ckn, cak, false)?;
        }
        Ok(mka)
    }

    /// Starts a participant for a CA (a newly active key of the key chain, or the fallback PSK).
    /// A participant for the same CKN is replaced.
    pub fn add_participant(
        &mut self,
        now: Duration,
        ckn: Ckn,
        cak: Cak,
        fallback: bool,
    ) -> Result<(), KeyError> {
        self.remove_participant(now, &ckn);
        let p = Participant::new(&mut self.rng, ckn, &cak, now, fallback, self.next_seq)?;
        self.next_seq += 1;
        self.parts.push(p);
        Ok(())
    }

    /// Stops a participant (its key expired, or the rollover overlap ended): its SAs are deleted,
    /// and if it carried the traffic, the best remaining secured participant takes over.
    pub fn remove_participant(&mut self, now: Duration, ckn: &Ckn) {
        let Some(i) = self.parts.iter().position(|p| &p.ckn == ckn) else {
            return;
        };
        let p = self.parts.remove(i);
        for k in [p.latest.as_ref(), p.old.as_ref()].into_iter().flatten() {
            Self::retire(&mut self.sa, k, None);
        }
        if (p.transmitting() || p.transmitting_old())
            && !self
                .parts
                .iter()
                .any(|q| q.latest.as_ref().is_some_and(|k| k.tx_installed))
        {
            self.ev.push_back(MkaEvent::SessionStopped { ckn: p.ckn.clone() });
        }
        self.step(now);
    }

    /// Per-CA status for `show macsec mka session`.
    pub fn participants(&self) -> Vec<ParticipantStatus> {
        let own = self.cfg.sci;
        let carrier = self.carrier();
        self.parts
            .iter()
            .map(|p| ParticipantStatus {
                ckn: p.ckn.clone(),
                fallback: p.fallback,
                mi: p.mi,
                mn: p.mn,
                live_peers: p.live_peers().map(|(_, x)| x.sci).collect(),
                potential_peers: p.peers.values().filter(|x| !x.live).map(|x| x.sci).collect(),
                key_server: p.key_server.and_then(|mi| {
                    if mi == p.mi {
                        Some(own)
                    } else {
                        p.peers.get(&mi).map(|x| x.sci)
                    }
                }),
                latest_key: p.latest.as_ref().map(|k| (k.ki, k.an)),
                transmitting: carrier.is_some_and(|c| std::ptr::eq(c, p)),
                secured: p.secured,
                icv_failures: p.icv_failures,
                cak_match: p.live_peers().next().is_some(),
                key_distribution_mode: if self.cfg.ppk {
                    KeyDistributionMode::Ppk
                } else {
                    KeyDistributionMode::Sak
                },
                ppk_key_id: p.latest.as_ref().and_then(|k| k.ppk_key_id.clone()),
                ppk_failure: p.ppk.failure.clone(),
                ppk_pending: p.ppk.new_pending || p.ppk.by_id_pending.is_some(),
                cipher_suite_refused: p.suite_refused,
                sak_refused: p.sak_refused,
                announces_key_server: Self::announces_key_server(&self.cfg, p),
                latest_rx: p.latest.as_ref().is_some_and(|k| {
                    p.live_peers().next().is_some() && p.live_peers().all(|(_, x)| k.rx_for.contains(&x.sci))
                }),
                latest_tx: p.latest.as_ref().is_some_and(|k| k.tx_enabled),
                old_key: p.old.as_ref().map(|k| (k.ki, k.an, k.tx_enabled)),
                latest_installed_at: p.latest.as_ref().map(|k| k.installed_at),
                live_peers_responded: p
                    .latest
                    .as_ref()
                    .map(|k| {
                        p.live_peers()
                            .filter(|(_, x)| x.latest_use.is_some_and(|u| u.ki == k.ki))
                            .count()
                    })
                    .unwrap_or(0),
                peers: {
                    let mut v: Vec<PeerStatus> = p
                        .peers
                        .iter()
                        .map(|(mi, x)| PeerStatus {
                            mi: *mi,
                            mn: x.mn,
                            sci: x.sci,
                            key_server_priority: x.priority,
                            live: x.live,
                            last_heard: x.last_heard,
                        })
                        .collect();
                    v.sort_by_key(|x| !x.live);
                    v
                },
                last_tx: p.sent.back().map(|(t, _)| *t),
            })
            .collect()
    }

    pub fn config(&self) -> &MkaConfig {
        &self.cfg
    }

    /// The Key Server bit of participant `p`'s MKPDUs (802.1X-2020 9.5.1): set while it is
    /// willing and has not decided that another participant is or will be the key server.
    fn announces_key_server(cfg: &MkaConfig, p: &Participant) -> bool {
        cfg.key_server_priority != NOT_KEY_SERVER_PRIORITY && p.key_server.is_none_or(|ks| ks == p.mi)
    }

    /// The next MKPDU to send. Send it only after carrying out every pending
    /// [`Mka::poll_sa_command`]: it announces those SAs as installed, and the peers act on that at once.
    ///
    /// The frame is written into `buf` (its old contents replaced) and its length returned, as
    /// quinn-proto's `poll_transmit` does. The buffer the caller handed in is kept and the next
    /// MKPDU is emitted into it, so a caller that keeps one buffer reuses its allocation.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        let mut frame = self.out.pop_front()?;
        core::mem::swap(buf, &mut frame);
        frame.clear();
        if self.spare.len() < MAX_SPARE_BUFFERS {
            self.spare.push(frame);
        }
        Some(buf.len())
    }

    /// The next SA change for the dataplane (before the MKPDUs that announce it, see [`Mka::poll_transmit`]).
    pub fn poll_sa_command(&mut self) -> Option<SaCommand> {
        self.sa.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<MkaEvent> {
        self.ev.pop_front()
    }

    /// PPK mode: the next PPK the engine needs from the PPK source. Answer with
    /// [`Self::handle_ppk`]; until then the engine keeps running (and asks for nothing more for
    /// that CA).
    pub fn poll_ppk_request(&mut self) -> Option<PpkRequest> {
        self.ppk_req.pop_front()
    }

    /// The next instant [`Self::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.parts
            .iter()
            .flat_map(|p| {
                let expiry = p.peers.values().map(|x| x.last_heard + LIFE_TIME).min();
                let rekey = match (&p.latest, self.cfg.sak_rekey_interval, p.key_server == Some(p.mi)) {
                    (Some(k), Some(i), true) => Some(k.installed_at + i),
                    _ => None,
                };
                [Some(p.next_tx), expiry, rekey, p.ppk.retry_at, p.settle_at]
            })
            .flatten()
            .min()
    }

    /// The participant whose key the port transmits with: the one transmitting with its latest
    /// key, else one in the middle of a rekey that still transmits with its old key.
    fn carrier(&self) -> Option<&Participant> {
        (self.parts.iter().find(|p| p.transmitting()))
            .or_else(|| self.parts.iter().find(|p| p.transmitting_old()))
    }

    /// True while some participant's key is the one the port transmits with (through a rekey too).
    pub fn is_secured(&self) -> bool {
        self.carrier().is_some()
    }

    /// The session's Status: Secured while a key carries the transmit, Pending while a peer is
    /// heard on some CA, Init otherwise (no CA, or no peer heard).
    pub fn session_state(&self) -> SessionState {
        if self.is_secured() {
            SessionState::Secured
        } else if self.parts.iter().any(|p| !p.peers.is_empty()) {
            SessionState::Pending
        } else {
            SessionState::Init
        }
    }

    /// Why the session is not secured at `now` (None while it is): what the engine saw, most
    /// advanced CA first (one with a live peer; primary before fallback), then what it heard.
    pub fn not_secured_reason(&self, now: Duration) -> Option<NotSecuredReason> {
        if self.is_secured() {
            return None;
        }
        if self.parts.is_empty() {
            return Some(NotSecuredReason::NoActiveKey);
        }
        let mut order: Vec<&Participant> = self.parts.iter().collect();
        order.sort_by_key(|p| p.preference());
        let recent = |t: Option<Duration>| t.is_some_and(|t| now.saturating_sub(t) <= REASON_WINDOW);
        if let Some(p) = order.iter().find(|p| p.live_peers().next().is_some()) {
            if let Some(distributed) = p.suite_refused {
                return Some(NotSecuredReason::CipherSuiteMismatch {
                    distributed,
                    policy: self.cfg.cipher_suite,
                });
            }
            if let Some(f) = &p.ppk.failure {
                return Some(NotSecuredReason::PpkNotObtained(f.clone()));
            }
            if let Some((from, reason)) = p.sak_refused {
                return Some(NotSecuredReason::SakRefused { from, reason });
            }
            if let Some((_, x)) = p
                .live_peers()
                .find(|(_, x)| !x.macsec_desired || x.capability == MacsecCapability::NotImplemented)
            {
                return Some(NotSecuredReason::CapabilityMismatch {
                    peer: x.sci,
                    desired: x.macsec_desired,
                    capability: x.capability,
                });
            }
            if p.ppk.new_pending || p.ppk.by_id_pending.is_some() {
                return Some(NotSecuredReason::PpkPending);
            }
            return Some(match p.key_server {
                None => NotSecuredReason::NoKeyServer,
                Some(mi) if mi == p.mi => NotSecuredReason::Negotiating,
                Some(mi) => match p.peers.get(&mi) {
                    Some(x)
                        if p.latest.is_none()
                            && x.live_since
                                .is_some_and(|t| now.saturating_sub(t) >= KEY_SERVER_SILENCE) =>
                    {
                        NotSecuredReason::KeyServerNotDistributing { key_server: x.sci }
                    }
                    _ => NotSecuredReason::Negotiating,
                },
            });
        }
        if let Some(x) = order.iter().find_map(|p| p.peers.values().next()) {
            return Some(NotSecuredReason::PeerNotLive { peer: x.sci });
        }
        if let Some(p) = order
            .iter()
            .filter(|p| recent(p.last_icv_failure))
            .max_by_key(|p| p.last_icv_failure)
        {
            return Some(NotSecuredReason::IcvFailures {
                ckn: p.ckn.clone(),
                count: p.icv_failures,
            });
        }
        if let Some((t, ckn)) = &self.last_unknown_ckn {
            if recent(Some(*t)) {
                return Some(NotSecuredReason::CknMismatch { ckn: ckn.clone() });
            }
        }
        Some(NotSecuredReason::NoPeer)
    }

    /// True when the port transmits with the fallback PSK's key.
    pub fn secured_with_fallback(&self) -> bool {
        self.carrier().is_some_and(|p| p.fallback)
    }

    /// The KI and AN the port transmits with, if secured.
    pub fn tx_key(&self) -> Option<(Ki, u8)> {
        self.parts
            .iter()
            .find_map(|p| p.latest.as_ref().filter(|k| k.tx_enabled).map(|k| (k.ki, k.an)))
    }

    /// The elected key server's SCI of the first participant (ours when we serve).
    pub fn key_server(&self) -> Option<Sci> {
        let p = self.parts.first()?;
        let ks = p.key_server?;
        if ks == p.mi {
            Some(self.cfg.sci)
        } else {
            p.peers.get(&ks).map(|x| x.sci)
        }
    }

    /// The live peers' SCIs of the first participant.
    pub fn live_peers(&self) -> Vec<Sci> {
        self.parts
            .first()
            .map(|p| p.live_peers().map(|(_, x)| x.sci).collect())
            .unwrap_or_default()
    }

    /// The member identifier of participant `i`.
    pub fn mi(&self, i: usize) -> Option<Mi> {
        self.parts.get(i).map(|p| p.mi)
    }

    /// The dataplane reports that the Tx SA passed the PN exhaustion threshold: the key server
    /// rekeys at once. A member cannot; the key server learns it from the Lowest PN in the
    /// member's SAK Use (fed by [`Self::handle_tx_pn`]), at most two seconds and a hello later.
    pub fn handle_pn_threshold(&mut self, now: Duration) {
        for p in &mut self.parts {
            if p.key_server == Some(p.mi) && !p.rekey_requested {
                p.rekey_requested = true;
                self.stats.pn_exhaustion_rekeys += 1;
            }
        }
        self.handle_timeout(now);
    }

    /// The dataplane's report of the next transmit PN of the Tx SA with `an`. Call it at least
    /// every [`BOUNDED_HELLO_TIME`] while an SA transmits: the Lowest Acceptable PN of our SAK Use
    /// comes from these reports (delay protection). Does not transmit; the next
    /// [`Self::handle_timeout`] does.
    pub fn handle_tx_pn(&mut self, now: Duration, an: u8, next_pn: u64) {
        for p in &mut self.parts {
            for k in [p.latest.as_mut(), p.old.as_mut()].into_iter().flatten() {
                if k.an == an && k.tx_installed {
                    k.tx_pn.record(now, next_pn);
                }
            }
        }
    }

    /// The ANs of the Tx SAs installed (whose PN [`Self::handle_tx_pn`] wants to hear).
    pub fn tx_ans(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self
            .parts
            .iter()
            .flat_map(|p| [p.latest.as_ref(), p.old.as_ref()])
            .flatten()
            .filter(|k| k.tx_installed)
            .map(|k| k.an)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// A received EAPOL frame.
    pub fn handle_mkpdu(&mut self, now: Duration, frame: &[u8]) {
        self.stats.mkpdus_rx += 1;
        let Ok(f) = MkaFrameRepr::parse(frame) else {
            self.stats.malformed += 1;
            return;
        };
        let Some(pi) = self.parts.iter().position(|p| p.ckn == f.mkpdu.basic.ckn) else {
            self.stats.unknown_ckn += 1;
            self.last_unknown_ckn = Some((now, f.mkpdu.basic.ckn.clone()));
            return;
        };
        let own_sci = self.cfg.sci;
        let p = &mut self.parts[pi];
        match super::pdu::verify_frame_icv(frame, &p.ick) {
            Ok(true) => {}
            _ => {
                self.stats.icv_failures += 1;
                p.icv_failures += 1;
                p.last_icv_failure = Some(now);
                self.ev.push_back(MkaEvent::IcvFailure {
                    ckn: p.ckn.clone(),
                    fallback: p.fallback,
                    source: f.src.0,
                    peer: f.mkpdu.basic.sci,
                });
                return;
            }
        }
        let m = &f.mkpdu;
        let b = &m.basic;
        let distributed = m.distributed_sak();
        if b.mi == p.mi || b.sci == own_sci {
            return; // our own MKPDU looped back
        }
        self.stats.mkpdus_validated += 1;
        // A peer that restarted comes back with a new MI and the same SCI: it is a new member; the
        // old MI ages out after MKA Life Time (9.4.3), so the keys in use keep working meanwhile
        // and the restart costs no traffic.
        let is_new = !p.peers.contains_key(&b.mi);
        if let Some(x) = p.peers.get(&b.mi) {
            if b.mn <= x.mn {
                self.stats.bad_peer_mn += 1;
                return;
            }
        }
        if is_new && p.peers.len() >= self.cfg.max_peers && !p.peers.values().any(|x| x.sci == b.sci) {
            self.stats.peer_limit_drops += 1;
            if !p.peer_limit_said {
                p.peer_limit_said = true;
                self.ev.push_back(MkaEvent::PeerLimit {
                    ckn: p.ckn.clone(),
                    limit: self.cfg.max_peers,
                });
            }
            return;
        }
        if is_new {
            self.ev.push_back(MkaEvent::IcvSuccess {
                ckn: p.ckn.clone(),
                peer: b.sci,
                fallback: p.fallback,
            });
            // Answer at once so the new peer sees us in our Potential Peer List: a peer that
            // transmits only every Hello Time (wpa_supplicant) then lists us in its next MKPDU.
            p.next_tx = now;
        }
        let floor = p.recent_mn_floor(now);
        let lists_us = [m.live_peers(), m.potential_peers()]
            .into_iter()
            .flatten()
            .flat_map(|l| l.peers.iter())
            .find(|e| e.mi == p.mi)
            .map(|e| e.mn);
        let peer = p.peers.entry(b.mi).or_insert(PeerState {
            sci: b.sci,
            mn: 0,
            live: false,
            last_heard: now,
            first_heard: now,
            priority: b.key_server_priority,
            key_server: false,
            capability: b.macsec_capability,
            macsec_desired: b.macsec_desired,
            live_since: None,
            latest_use: None,
            old_use: None,
            answered: None,
        });
        peer.mn = b.mn;
        peer.last_heard = now;
        peer.sci = b.sci;
        peer.priority = b.key_server_priority;
        peer.key_server = b.key_server;
        peer.capability = b.macsec_capability;
        peer.macsec_desired = b.macsec_desired;
        if let Some(u) = m.sak_use() {
            // The peer's current key: hostap and MKAdaemon report it in the Old slot (with a null
            // Latest Key) once their CP has retired the previous one (mka-facts 6.2).
            peer.latest_use = u.most_recent();
            peer.old_use = u.old().filter(|o| Some(*o) != peer.latest_use);
            // The key server's Latest Key is the SAK it distributes in this MKPDU: not ours yet.
            let distributing = distributed.and_then(|ds| ds.ki(b.mi));
            let checked = u
                .latest()
                .filter(|l| !l.ki.is_null() && Some(l.ki) != distributing);
            if let (true, Some(lu), Some(k)) = (peer.live, checked, p.latest.as_ref()) {
                let from_key_server = p.key_server == Some(b.mi);
                if let Some(why) = sak_use_drop(
                    &lu,
                    (k.ki, k.an),
                    p.old.as_ref().map(|o| (o.ki, o.an)),
                    from_key_server,
                ) {
                    self.stats.sakuse_drops.count(why);
                }
            }
            // Key server: the peer's first report of receiving with our latest SAK (its current key,
            // in whichever slot it reports it).
            if let (true, Some(lu), Some(k)) = (
                peer.live && p.key_server == Some(p.mi),
                peer.latest_use,
                p.latest.as_ref(),
            ) {
                if lu.ki == k.ki && lu.rx && peer.answered != Some(k.ki) {
                    peer.answered = Some(k.ki);
                    self.stats.sak_responses_received += 1;
                }
            }
            // The peer's Lowest PN for our latest key, when it transmits with it (XPN: the 32 most
            // significant bits travel in the XPN set).
            let peer_lowest_pn = match (u.latest(), p.latest.as_ref()) {
                (Some(lu), Some(k)) if lu.ki == k.ki && lu.tx => {
                    let msb = if k.suite.is_xpn() {
                        m.xpn().map_or(0, |x| x.latest_lowest_pn_msb)
                    } else {
                        0
                    };
                    Some(((msb as u64) << 32) | lu.lowest_pn as u64)
                }
                _ => None,
            };
            // PN exhaustion (802.1X-2020 9.8): the key server distributes a new SAK when any
            // participant's PN nears exhaustion, a member's too.
            if let (true, Some(pn), Some(k)) = (
                peer.live && p.key_server == Some(p.mi) && !p.rekey_requested,
                peer_lowest_pn,
                p.latest.as_ref(),
            ) {
                if pn >= k.suite.pn_threshold() {
                    p.rekey_requested = true;
                    self.stats.pn_exhaustion_rekeys += 1;
                }
            }
            // Delay protection: the peer's lowest acceptable PN for its latest key raises our
            // receive SA's floor.
            if u.delay_protect && self.cfg.delay_protection {
                if let (Some(pn), Some(k)) = (peer_lowest_pn, p.latest.as_mut()) {
                    let applied = k
                        .rx_lowest
                        .iter()
                        .find(|(s, _)| *s == b.sci)
                        .map(|(_, v)| *v)
                        .unwrap_or(0);
                    if pn > applied.max(1) && k.rx_for.contains(&b.sci) {
                        self.sa.push_back(SaCommand::SetLowestPn {
                            sci: b.sci,
                            an: k.an,
                            pn,
                        });
                        k.rx_lowest.retain(|(s, _)| *s != b.sci);
                        k.rx_lowest.push((b.sci, pn));
                    }
                }
            }
        }
        let mut became_live = false;
        match lists_us {
            Some(mn) if mn >= floor && mn <= p.mn && !peer.live => {
                peer.live = true;
                peer.live_since = Some(now);
                self.ev.push_back(MkaEvent::PeerLive {
                    ckn: p.ckn.clone(),
                    peer: b.sci,
                });
                p.next_tx = now;
                became_live = true;
            }
            Some(mn) if mn >= floor && mn <= p.mn => {}
            Some(_) => self.stats.non_recent_peer_list_mn += 1,
            None => {}
        }
        let sender_live = peer.live;
        if became_live {
            // A port runs one participant per CA: once a restarted peer's new MI is live, its old
            // MI is gone for good. Waiting for it to age out would keep it in the key server's
            // "every live peer receives" check and in the election for a Life Time.
            p.peers.retain(|mi, x| *mi == b.mi || x.sci != b.sci);
        }
        if let Some(ds) = distributed {
            self.stats.distributed_sak_rx += 1;
            let announced = m.sets.iter().filter_map(|s| match s {
                ParamSet::Announcement(a) => Some(a.tlvs.iter()),
                _ => None,
            });
            let ppk_tlv = PpkKeyIdTlv::find(announced.flatten());
            self.receive_sak(pi, now, b.mi, b.sci, sender_live, ds, ppk_tlv);
        }
        self.step(now);
    }

    #[allow(clippy::too_many_arguments)]
    fn receive_sak(
        &mut self,
        pi: usize,
        now: Duration,
        sender: Mi,
        sender_sci: Sci,
        sender_live: bool,
        ds: &DistributedSak,
        ppk_tlv: Option<Result<PpkKeyIdTlv, PpkTlvError>>,
    ) {
        self.elect(pi);
        let primary_live = self.primary_live();
        let ppk_mode = self.cfg.ppk;
        let p = &mut self.parts[pi];
        if p.fallback && primary_live {
            return; // the fallback CA stands by while the primary CA has a live peer
        }
        let refusal = if !sender_live {
            Some(SakRefusal::NotLive)
        } else if p.key_server == Some(p.mi) {
            Some(SakRefusal::SelfIsKeyServer)
        } else if p.key_server == Some(sender) {
            None
        } else if let Some(elected) = p.key_server.and_then(|mi| p.peers.get(&mi)) {
            Some(SakRefusal::NotKeyServer { elected: elected.sci })
        } else {
            Some(SakRefusal::NoKeyServer)
        };
        if let Some(reason) = refusal {
            self.stats.sak_from_non_key_server += 1;
            Self::refuse_sak(&mut self.ev, p, sender_sci, reason);
            return;
        }
        let Some(ki) = ds.ki(sender) else { return };
        if p.latest.as_ref().is_some_and(|k| k.ki == ki) || p.old.as_ref().is_some_and(|k| k.ki == ki) {
            return; // already have it (the key server repeats it until everyone receives)
        }
        // Our policy's cipher suite or nothing: taking the key server's would change the
        // protection the operator configured (and the dataplane's SAs are of the policy's suite).
        if let Some(suite) = ds.cipher_suite().filter(|s| *s != self.cfg.cipher_suite) {
            self.stats.sak_cipher_suite_mismatch += 1;
            if p.suite_refused != Some(suite) {
                self.ev.push_back(MkaEvent::CipherSuiteMismatch {
                    ckn: p.ckn.clone(),
                    distributed: suite,
                    policy: self.cfg.cipher_suite,
                });
            }
            p.suite_refused = Some(suite);
            return;
        }
        let Some(w) = ds.key.as_ref() else {
            self.stats.sak_unwrap_failures += 1;
            return;
        };
        if !ppk_mode {
            if let Some(t) = ppk_tlv {
                // Wrapped with KEK': it cannot unwrap with our KEK, and must not be used.
                self.stats.sak_unwrap_failures += 1;
                let key_id = t.ok().map(|t| t.key_id);
                Self::ppk_fail(
                    &mut self.ev,
                    &mut self.stats,
                    &mut self.parts[pi],
                    PpkFailure::NotConfigured { key_id },
                );
                return;
            }
            let Ok(sak) = p.kek.unwrap_sak(&w.wrapped) else {
                self.stats.sak_unwrap_failures += 1;
                Self::refuse_sak(&mut self.ev, p, sender_sci, SakRefusal::Unwrap);
                return;
            };
            self.accept_sak(pi, now, ki, ds, sak, None);
            return;
        }
        let tlv = match ppk_tlv {
            None => Err(PpkFailure::Missing),
            Some(Err(e)) => Err(PpkFailure::BadTlv { reason: e.reason() }),
            Some(Ok(t)) if t.kn != w.kn => Err(PpkFailure::BadTlv {
                reason: "ppk_key_id_kn_mismatch",
            }),
            Some(Ok(t)) => Ok(t),
        };
        let t = match tlv {
            Ok(t) => t,
            Err(f) => {
                self.stats.sak_unwrap_failures += 1;
                Self::ppk_fail(&mut self.ev, &mut self.stats, p, f);
                return;
            }
        };
        let ckn = p.ckn.clone();
        let key_id = t.key_id;
        p.ppk.waiting = Some(WaitingSak {
            sender,
            ki,
            ds: ds.clone(),
            key_id: key_id.clone(),
        });
        // One request at a time; after a failure, wait PPK_RETRY_TIME.
        if p.ppk.by_id_pending.is_none() && p.ppk.retry_at.is_none() {
            p.ppk.by_id_pending = Some(key_id.clone());
            self.stats.ppk_requests += 1;
            self.ppk_req.push_back(PpkRequest::ById { ckn, key_id });
        }
    }

    /// Records a refused Distributed SAK: shown until a SAK is taken, logged when the sender or
    /// the reason changes (the key server repeats its SAK in every MKPDU).
    fn refuse_sak(ev: &mut VecDeque<MkaEvent>, p: &mut Participant, from: Sci, reason: SakRefusal) {
        if p.sak_refused != Some((from, reason)) {
            ev.push_back(MkaEvent::SakRefused {
                ckn: p.ckn.clone(),
                from,
                reason,
            });
        }
        p.sak_refused = Some((from, reason));
    }

    /// Takes a distributed SAK into use: the latest key, receive SAs installed.
    fn accept_sak(
        &mut self,
        pi: usize,
        now: Duration,
        ki: Ki,
        ds: &DistributedSak,
        sak: Sak,
        ppk_key_id: Option<PpkKeyId>,
    ) {
        let own = self.cfg.sci;
        let p = &mut self.parts[pi];
        let Some(suite) = ds.cipher_suite() else {
            self.stats.sak_unwrap_failures += 1;
            return;
        };
        if sak.len() != suite.key_len() {
            self.stats.sak_unwrap_failures += 1;
            let from = p
                .key_server
                .and_then(|mi| p.peers.get(&mi))
                .map_or(Sci(0), |x| x.sci);
            Self::refuse_sak(&mut self.ev, p, from, SakRefusal::Unwrap);
            return;
        }
        self.stats.sak_received += 1;
        p.ppk.failure = None;
        p.suite_refused = None;
        p.sak_refused = None;
        let conf_offset = ds.conf_offset.conf_offset();
        let key = KeyState {
            ki,
            an: ds.an,
            sak,
            suite,
            conf_offset,
            rx_for: Vec::new(),
            tx_installed: false,
            tx_enabled: false,
            installed_at: now,
            tx_pn: TxPnSamples::default(),
            rx_lowest: Vec::new(),
            ppk_key_id,
            ppk_kek: None,
        };
        self.ev.push_back(MkaEvent::SakReceived {
            ckn: p.ckn.clone(),
            ki,
            an: ds.an,
        });
        Self::shift_keys(&mut self.sa, p, key.an);
        p.latest = Some(key);
        let first_pn = self.cfg.test_initial_pn.unwrap_or(1);
        Self::install_rx(&mut self.sa, p, own, first_pn);
        p.next_tx = p.next_tx.min(now);
    }

    /// Records a PPK failure: shown until a SAK is taken into use; logged when it changes (every
    /// failed fetch is logged), and the participant waits PPK_RETRY_TIME before asking again.
    fn ppk_fail(ev: &mut VecDeque<MkaEvent>, stats: &mut MkaStats, p: &mut Participant, f: PpkFailure) {
        let is_fetch = matches!(f, PpkFailure::Fetch { .. });
        if is_fetch || p.ppk.failure.as_ref() != Some(&f) {
            stats.ppk_failures += 1;
            ev.push_back(MkaEvent::PpkFailure {
                ckn: p.ckn.clone(),
                failure: f.clone(),
            });
        }
        p.ppk.failure = Some(f);
    }

    /// The PPK source's answer to `request` (from [`Self::poll_ppk_request`]): `Ok((key ID, PPK))`
    /// — for [`PpkRequest::ById`] the key ID asked for — or `Err(reason)`, a text without
    /// secrets that `show` and the log repeat. The key ID must have 1 to 64 octets and the PPK 32.
    /// Answers to requests the engine no longer waits for (a removed CA, a superseded key ID) are
    /// dropped.
    pub fn handle_ppk(&mut self, now: Duration, request: &PpkRequest, result: Result<(&[u8], &[u8]), &str>) {
        let Some(pi) = self.parts.iter().position(|p| &p.ckn == request.ckn()) else {
            return;
        };
        let p = &mut self.parts[pi];
        let asked = match request {
            PpkRequest::New { .. } if p.ppk.new_pending => {
                p.ppk.new_pending = false;
                None
            }
            PpkRequest::ById { key_id, .. } if p.ppk.by_id_pending.as_ref() == Some(key_id) => {
                p.ppk.by_id_pending = None;
                Some(key_id.clone())
            }
            _ => return,
        };
        let got = result.map_err(str::to_string).and_then(|(id, ppk)| {
            let id =
                PpkKeyId::new(id).map_err(|e| format!("the PPK source returned an invalid key ID: {e}"))?;
            if asked.as_ref().is_some_and(|a| *a != id) {
                return Err(format!("the PPK source returned key ID {id}"));
            }
            let ppk = PpkSecret::from_bytes(ppk)
                .map_err(|e| format!("the PPK source returned an invalid PPK: {e}"))?;
            Ok((id, ppk))
        });
        let (id, ppk) = match got {
            Ok(x) => x,
            Err(reason) => {
                p.ppk.retry_at = Some(now + PPK_RETRY_TIME);
                Self::ppk_fail(
                    &mut self.ev,
                    &mut self.stats,
                    p,
                    PpkFailure::Fetch {
                        key_id: asked,
                        reason,
                    },
                );
                self.step(now);
                return;
            }
        };
        if asked.is_none() {
            // Key server: the SAK is generated with it at the next step.
            p.ppk.fresh = Some((id, ppk));
            self.step(now);
            return;
        }
        match p.ppk.waiting.take() {
            Some(w) if w.key_id == id => {
                // Still the key server's key, from a live key server?
                let ks_ok = p.key_server == Some(w.sender) && p.peers.get(&w.sender).is_some_and(|x| x.live);
                let have = p.latest.as_ref().is_some_and(|k| k.ki == w.ki)
                    || p.old.as_ref().is_some_and(|k| k.ki == w.ki);
                if ks_ok && !have {
                    let sak =
                        w.ds.key
                            .as_ref()
                            .and_then(|k| ppk_kek(&ppk, &p.kek).unwrap_sak(&k.wrapped).ok());
                    match sak {
                        Some(sak) => self.accept_sak(pi, now, w.ki, &w.ds, sak, Some(id)),
                        None => {
                            self.stats.sak_unwrap_failures += 1;
                            p.ppk.retry_at = Some(now + PPK_RETRY_TIME);
                            Self::ppk_fail(
                                &mut self.ev,
                                &mut self.stats,
                                p,
                                PpkFailure::Mismatch { key_id: id },
                            );
                        }
                    }
                }
            }
            Some(w) => {
                // The key server moved on to another key ID meanwhile: ask for that one.
                let ckn = p.ckn.clone();
                p.ppk.by_id_pending = Some(w.key_id.clone());
                self.stats.ppk_requests += 1;
                self.ppk_req.push_back(PpkRequest::ById {
                    ckn,
                    key_id: w.key_id.clone(),
                });
                p.ppk.waiting = Some(w);
            }
            None => {}
        }
        self.step(now);
    }

    /// Installs receive SAs for the latest key for every live peer that lacks one.
    fn install_rx(sa: &mut VecDeque<SaCommand>, p: &mut Participant, own: Sci, first_pn: u64) {
        let scis = p.live_scis(own);
        let peers: Vec<Sci> = p.live_peers().map(|(_, x)| x.sci).collect();
        let Some(k) = p.latest.as_mut() else { return };
        for sci in peers {
            if !k.rx_for.contains(&sci) {
                sa.push_back(SaCommand::InstallRx {
                    sci,
                    an: k.an,
                    ki: k.ki,
                    sak: k.sak.clone(),
                    suite: k.suite,
                    ssci: ssci_for(sci, scis.clone()),
                    salt: k.ki.xpn_salt(),
                    lowest_pn: first_pn,
                });
                k.rx_for.push(sci);
            }
        }
    }

    fn install_tx(sa: &mut VecDeque<SaCommand>, k: &mut KeyState, own: Sci, scis: Vec<Sci>, first_pn: u64) {
        if !k.tx_installed {
            sa.push_back(SaCommand::InstallTx {
                an: k.an,
                ki: k.ki,
                sak: k.sak.clone(),
                suite: k.suite,
                conf_offset: k.conf_offset,
                ssci: ssci_for(own, scis),
                salt: k.ki.xpn_salt(),
                next_pn: first_pn,
            });
            k.tx_installed = true;
        }
        if !k.tx_enabled {
            sa.push_back(SaCommand::EnableTx { an: k.an });
            k.tx_enabled = true;
        }
    }

    /// Deletes a key's SAs, except where `keep_an` (the AN of the key that replaces it) already
    /// overwrote them: an install for the same AN replaces the SA in the dataplane.
    fn retire(sa: &mut VecDeque<SaCommand>, k: &KeyState, keep_an: Option<u8>) {
        if keep_an == Some(k.an) {
            return;
        }
        for sci in &k.rx_for {
            sa.push_back(SaCommand::DeleteRx { sci: *sci, an: k.an });
        }
        if k.tx_installed {
            sa.push_back(SaCommand::DeleteTx { an: k.an });
        }
    }

    /// Makes room for a new latest key with AN `new_an`: the current latest becomes the old key if
    /// it carries (or carried) traffic; a latest key that never went into use is dropped instead,
    /// so the old key that does carry traffic is kept until the new one replaces it.
    fn shift_keys(sa: &mut VecDeque<SaCommand>, p: &mut Participant, new_an: u8) {
        match p.latest.take() {
            Some(l) if l.tx_enabled || l.tx_installed || p.old.is_none() => {
                if let Some(older) = p.old.replace(l) {
                    Self::retire(sa, &older, Some(new_an));
                }
            }
            Some(unused) => Self::retire(sa, &unused, Some(new_an)),
            None => {}
        }
        if p.old.as_ref().is_some_and(|o| o.an == new_an) {
            p.old = None; // overwritten by the new key's installs
        }
    }

    /// The AN for a new key: the next one after the latest that neither we nor any live peer
    /// still use (a key server that lost its state learns the ANs in use from the peers' SAK Use).
    fn next_an(parts: &[Participant], pi: usize) -> u8 {
        let p = &parts[pi];
        let mut used: Vec<u8> = Vec::new();
        // Every CA of this port shares the SecY's four ANs.
        for q in parts {
            used.extend([&q.latest, &q.old].into_iter().flatten().map(|k| k.an));
            for (_, x) in q.live_peers() {
                for u in [x.latest_use, x.old_use].into_iter().flatten() {
                    if !u.ki.is_null() {
                        used.push(u.an);
                    }
                }
            }
        }
        let base = p
            .latest
            .as_ref()
            .map(|k| k.an)
            .or_else(|| used.iter().copied().max())
            .map(|a| a + 1)
            .unwrap_or(0);
        (0..4)
            .map(|i| (base + i) % 4)
            .find(|a| !used.contains(a))
            .unwrap_or(base % 4)
    }

    /// Key server election (802.1X-2020 9.5.1): among the live peers that announce the Key Server
    /// bit, and this participant unless its priority is [`NOT_KEY_SERVER_PRIORITY`], the lowest
    /// priority, then the lowest SCI. Run at every step, so a key server that learns of a better
    /// willing peer yields to it at once (it stops distributing; its keys carry the traffic until
    /// the new key server's SAK is in use).
    fn elect(&mut self, pi: usize) {
        let own = (self.cfg.key_server_priority, self.cfg.sci);
        let p = &mut self.parts[pi];
        let mut best: Option<((u8, Sci), Mi)> = (own.0 != NOT_KEY_SERVER_PRIORITY).then_some((own, p.mi));
        for (mi, x) in p.live_peers() {
            if !x.key_server {
                continue;
            }
            let cand = ((x.priority, x.sci), *mi);
            if best.is_none_or(|b| cand.0 < b.0) {
                best = Some(cand);
            }
        }
        let ks = best.map(|b| b.1);
        // Only with a live peer is there a CA to serve.
        let ks = if p.live_peers().next().is_some() { ks } else { None };
        if ks != p.key_server {
            p.key_server = ks;
            if let Some(mi) = ks {
                let (sci, local) = if mi == p.mi {
                    (self.cfg.sci, true)
                } else {
                    (p.peers[&mi].sci, false)
                };
                self.ev.push_back(MkaEvent::KeyServerElected {
                    ckn: p.ckn.clone(),
                    key_server: sci,
                    local,
                });
            }
        }
    }

    /// Timers: peer expiry, transmission, rekey.
    pub fn handle_timeout(&mut self, now: Duration) {
        for pi in 0..self.parts.len() {
            let p = &mut self.parts[pi];
            let expired: Vec<Mi> = p
                .peers
                .iter()
                .filter(|(_, x)| now >= x.last_heard + LIFE_TIME)
                .map(|(mi, _)| *mi)
                .collect();
            for mi in expired {
                if let Some(x) = p.peers.remove(&mi) {
                    p.peer_limit_said = false;
                    if x.live {
                        self.ev.push_back(MkaEvent::PeerLost {
                            ckn: p.ckn.clone(),
                            peer: x.sci,
                        });
                    }
                }
            }
        }
        self.step(now);
    }

    /// The confidentiality the key server distributes (802.1X-2020 9.7.1, 12.7): the policy's offset
    /// when every live participant can do it; offset 0 when one can only encrypt without offset;
    /// integrity only when one cannot encrypt.
    fn choose_offset(policy: ConfOffset, own: MacsecCapability, p: &Participant) -> Option<ConfOffset> {
        let caps = std::iter::once(own).chain(p.live_peers().map(|(_, x)| x.capability));
        let mut best = Some(policy);
        for c in caps {
            best = match c {
                MacsecCapability::ConfidentialityWithOffset => best,
                MacsecCapability::ConfidentialityNoOffset => best.map(|_| ConfOffset::Zero),
                MacsecCapability::IntegrityOnly | MacsecCapability::NotImplemented => None,
            };
        }
        best
    }

    /// True when a primary (non-fallback) participant has a live peer.
    fn primary_live(&self) -> bool {
        self.parts
            .iter()
            .any(|p| !p.fallback && p.live_peers().next().is_some())
    }

    /// The CP: election, SAK generation and the SAK Use handshake, then transmission when due.
    fn step(&mut self, now: Duration) {
        let first_pn = self.cfg.test_initial_pn.unwrap_or(1);
        let own = self.cfg.sci;
        let interval = self.cfg.sak_rekey_interval;
        let suite = self.cfg.cipher_suite;
        let policy_offset = self.cfg.conf_offset;
        let own_capability = self.cfg.capability;
        let ppk_mode = self.cfg.ppk;
        for pi in 0..self.parts.len() {
            self.elect(pi);
            let primary_live = self.primary_live();
            let p = &mut self.parts[pi];
            if p.ppk.retry_at.is_some_and(|t| now >= t) {
                p.ppk.retry_at = None;
            }
            let live: Vec<Mi> = p.live_peers().map(|(mi, _)| *mi).collect();
            if live.is_empty() {
                if p.latest.is_some() || p.old.is_some() {
                    let was_transmitting = p.transmitting() || p.transmitting_old();
                    for k in [p.latest.take(), p.old.take()].into_iter().flatten() {
                        Self::retire(&mut self.sa, &k, None);
                    }
                    p.secured = false;
                    if was_transmitting {
                        self.ev.push_back(MkaEvent::SessionStopped { ckn: p.ckn.clone() });
                    }
                }
                p.key_server = None;
                p.suite_refused = None;
                p.sak_refused = None;
            }
            // A fallback CA stands by while a primary CA has a live peer.
            let standby = p.fallback && primary_live;
            let i_serve = p.key_server == Some(p.mi) && !standby;
            p.settle_at = None;
            if i_serve {
                let due =
                    interval.is_some_and(|i| p.latest.as_ref().is_some_and(|k| now >= k.installed_at + i));
                p.settle_at = p.settling_until().filter(|t| now < *t);
                let need = (p.latest.is_none() || p.rekey_requested || due || p.sak_peers != live)
                    && p.settle_at.is_none();
                // PPK mode: a fresh PPK for every SAK; ask for it and generate once it is here.
                let ppk_ready = !ppk_mode || p.ppk.fresh.is_some();
                if need && !ppk_ready && !p.ppk.new_pending && p.ppk.retry_at.is_none() {
                    p.ppk.new_pending = true;
                    self.stats.ppk_requests += 1;
                    self.ppk_req.push_back(PpkRequest::New { ckn: p.ckn.clone() });
                }
                if need && ppk_ready {
                    // A new SAK: for a first key, a rekey (interval or PN exhaustion) or a change in
                    // the live peer set (9.8: a peer that joins or leaves gets a fresh SAK).
                    let Ok(sak) = Sak::generate(&mut self.rng, suite.key_len()) else {
                        self.stats.sak_generation_failures += 1;
                        continue;
                    };
                    let an = Self::next_an(&self.parts, pi);
                    let p = &mut self.parts[pi];
                    let (ppk_key_id, ppk_kek) = match p.ppk.fresh.take() {
                        Some((id, ppk)) => (Some(id), Some(ppk_kek(&ppk, &p.kek))),
                        None => (None, None),
                    };
                    p.ppk.failure = None;
                    p.suite_refused = None;
                    p.sak_refused = None;
                    let offset = Self::choose_offset(policy_offset, own_capability, p);
                    let kn = p.next_kn;
                    p.next_kn = p.next_kn.wrapping_add(1).max(1);
                    let ki = Ki::new(p.mi, kn);
                    let rekey = p.latest.is_some();
                    self.stats.sak_generated += 1;
                    self.stats.sak_rekeyed += rekey as u64;
                    // Why, when not for PN exhaustion (counted where it was requested).
                    if rekey && !p.rekey_requested {
                        if due {
                            self.stats.interval_rekeys += 1;
                        } else if p.sak_peers != live {
                            self.stats.membership_rekeys += 1;
                        }
                    }
                    self.ev.push_back(MkaEvent::SakGenerated {
                        ckn: p.ckn.clone(),
                        ki,
                        an,
                        rekey,
                    });
                    Self::shift_keys(&mut self.sa, p, an);
                    p.latest = Some(KeyState {
                        ki,
                        an,
                        sak,
                        suite,
                        conf_offset: offset,
                        rx_for: Vec::new(),
                        tx_installed: false,
                        tx_enabled: false,
                        installed_at: now,
                        tx_pn: TxPnSamples::default(),
                        rx_lowest: Vec::new(),
                        ppk_key_id,
                        ppk_kek,
                    });
                    p.sak_peers = live.clone();
                    p.rekey_requested = false;
                    p.next_tx = now;
                }
            }
            // Transmit goes to the most preferred participant whose key is ready.
            let pref = self.parts[pi].preference();
            let better_transmits = self
                .parts
                .iter()
                .any(|q| q.preference() < pref && q.transmitting());
            let p = &mut self.parts[pi];
            // Receive first, for every live peer (also peers that became live after the key).
            Self::install_rx(&mut self.sa, p, own, first_pn);
            let scis = p.live_scis(own);
            let ks_mi = p.key_server;
            let mut took_tx = false;
            if let Some(k) = p.latest.as_mut() {
                let everyone_receives = !live.is_empty()
                    && live
                        .iter()
                        .all(|mi| p.peers[mi].latest_use.is_some_and(|u| u.ki == k.ki && u.rx));
                let ks_transmits = ks_mi
                    .and_then(|mi| p.peers.get(&mi))
                    .is_some_and(|x| x.latest_use.is_some_and(|u| u.ki == k.ki && u.tx));
                let ready = (i_serve && everyone_receives) || (!i_serve && ks_transmits);
                if !k.tx_enabled && ready && !better_transmits && !standby {
                    Self::install_tx(&mut self.sa, k, own, scis, first_pn);
                    took_tx = true;
                    if !p.secured {
                        // Logged once per session; later keys of the same CA are SAK rekeys.
                        p.secured = true;
                        self.ev.push_back(MkaEvent::SessionSecured {
                            ckn: p.ckn.clone(),
                            ki: k.ki,
                            fallback: p.fallback,
                        });
                    }
                    p.next_tx = now;
                }
            }
            if p.everyone_transmits_latest() {
                if let Some(old) = p.old.take() {
                    let keep = p.latest.as_ref().map(|k| k.an);
                    Self::retire(&mut self.sa, &old, keep);
                }
            }
            if took_tx {
                // The others stop transmitting (their receive SAs stay until they retire).
                for (j, q) in self.parts.iter_mut().enumerate() {
                    if j != pi {
                        if let Some(k) = q.latest.as_mut() {
                            k.tx_enabled = false;
                        }
                    }
                }
            }
            // Hand back: once a primary key carries everyone's traffic, the fallback's keys go.
            let primary_carries = self
                .parts
                .iter()
                .any(|q| !q.fallback && q.transmitting() && q.everyone_transmits_latest());
            let p = &mut self.parts[pi];
            if p.fallback && primary_carries && (p.latest.is_some() || p.old.is_some()) {
                for k in [p.latest.take(), p.old.take()].into_iter().flatten() {
                    Self::retire(&mut self.sa, &k, None);
                }
                p.secured = false;
            }
            if now >= p.next_tx {
                let key_server_bit = Self::announces_key_server(&self.cfg, p);
                let buf = self.spare.pop().unwrap_or_default();
                if let Some((frame, distributed)) = Self::build(&self.cfg, p, key_server_bit, now, buf) {
                    self.stats.mkpdus_tx += 1;
                    self.stats.distributed_sak_tx += distributed as u64;
                    self.out.push_back(frame);
                } else {
                    self.stats.mkpdu_build_failures += 1;
                }
                // Bounded hello while a key is being distributed or taken into use, and always with
                // delay protection (802.1X-2020 Table 9-3): the peers' lowest acceptable PN then
                // trails our transmit PN by at most 2 s plus a bounded hello.
                let busy = p.latest.as_ref().is_some_and(|k| !k.tx_installed) || p.old.is_some();
                p.next_tx = now
                    + if busy || self.cfg.delay_protection {
                        BOUNDED_HELLO_TIME
                    } else {
                        HELLO_TIME
                    };
            }
        }
    }

    fn key_use(k: &KeyState) -> (Ki, u8, bool, bool) {
        (k.ki, k.an, k.tx_enabled, !k.rx_for.is_empty())
    }

    /// One MKPDU of participant `p`; `key_server_bit` as [`Self::announces_key_server`] says.
    /// Also says whether it carries a Distributed SAK.
    fn build(
        cfg: &MkaConfig,
        p: &mut Participant,
        key_server_bit: bool,
        now: Duration,
        buf: Vec<u8>,
    ) -> Option<(Vec<u8>, bool)> {
        p.mn = p.mn.wrapping_add(1);
        p.sent.push_back((now, p.mn));
        while p
            .sent
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) > LIFE_TIME)
        {
            p.sent.pop_front();
        }
        let i_serve = p.key_server == Some(p.mi);
        let basic = BasicParamSet {
            version: MKA_VERSION,
            key_server_priority: cfg.key_server_priority,
            key_server: key_server_bit,
            macsec_desired: cfg.macsec_desired,
            macsec_capability: cfg.capability,
            sci: cfg.sci,
            mi: p.mi,
            mn: p.mn,
            algorithm_agility: ALGORITHM_AGILITY,
            ckn: p.ckn.clone(),
        };
        let mut sets = Vec::new();
        let mut distributed = false;
        let live: Vec<Peer> = p.live_peers().map(|(mi, x)| Peer { mi: *mi, mn: x.mn }).collect();
        let potential: Vec<Peer> = p
            .peers
            .iter()
            .filter(|(_, x)| !x.live)
            .map(|(mi, x)| Peer { mi: *mi, mn: x.mn })
            .collect();
        if !live.is_empty() {
            sets.push(ParamSet::LivePeerList(PeerList {
                key_server_ssci: 0,
                peers: live,
            }));
        }
        if !potential.is_empty() {
            sets.push(ParamSet::PotentialPeerList(PeerList {
                key_server_ssci: 0,
                peers: potential,
            }));
        }
        if let Some(k) = &p.latest {
            let (lki, lan, ltx, lrx) = Self::key_use(k);
            // The lowest PN we transmitted with each key within the last two seconds (1 in a slot
            // we do not transmit with: never 0, see TxPnSamples::lowest_acceptable).
            let lowest = k.tx_pn.lowest_acceptable(now);
            let (oki, oan, otx, orx) =
                p.old
                    .as_ref()
                    .map(Self::key_use)
                    .unwrap_or((Ki::NULL, 0, false, false));
            let old_lowest = p.old.as_ref().map_or(1, |o| o.tx_pn.lowest_acceptable(now));
            sets.push(ParamSet::SakUse(SakUse {
                latest_an: lan,
                latest_tx: ltx,
                latest_rx: lrx,
                old_an: oan,
                old_tx: otx,
                old_rx: orx,
                plain_tx: false,
                plain_rx: false,
                delay_protect: cfg.delay_protection,
                keys: Some(SakUseKeys {
                    latest_ki: lki,
                    latest_lowest_pn: lowest as u32,
                    old_ki: oki,
                    old_lowest_pn: old_lowest as u32,
                }),
            }));
            // PPK mode: only a SAK with a PPK is ever distributed (never one under the plain KEK).
            let kek = if cfg.ppk { k.ppk_kek.as_ref() } else { Some(&p.kek) };
            // The Distributed SAK goes out until every live peer reports receiving with it, and
            // not after: a peer that is only potential would take a key that is about to be
            // replaced (it joins, so 9.8 gives it a fresh SAK once it is live), and a restarted
            // peer would install two SAKs in a row.
            let someone_lacks = p
                .live_peers()
                .any(|(_, x)| !x.latest_use.is_some_and(|u| u.ki == k.ki && u.rx));
            if let (true, true, Some(kek)) = (i_serve, someone_lacks, kek) {
                let cipher_suite_id = (k.suite != CipherSuite::GcmAes128).then(|| k.suite.id());
                distributed = true;
                sets.push(ParamSet::DistributedSak(DistributedSak {
                    an: k.an,
                    conf_offset: ConfidentialityOffset::from_conf_offset(k.conf_offset),
                    key: Some(WrappedSak {
                        kn: k.ki.kn,
                        cipher_suite_id,
                        wrapped: kek.wrap_sak(&k.sak),
                    }),
                }));
                if let (true, Some(key_id)) = (cfg.ppk, k.ppk_key_id.clone()) {
                    let tlv = PpkKeyIdTlv { kn: k.ki.kn, key_id };
                    sets.push(ParamSet::Announcement(Announcement {
                        tlvs: vec![tlv.to_tlv()],
                    }));
                }
            }
            if k.suite.is_xpn() {
                sets.push(ParamSet::Xpn(Xpn {
                    suspension_time: 0,
                    latest_lowest_pn_msb: (lowest >> 32) as u32,
                    old_lowest_pn_msb: (old_lowest >> 32) as u32,
                }));
            }
        }
        let repr = MkpduRepr {
            basic,
            sets,
            icv_indicator: cfg.include_icv_indicator,
            icv: [0; 16],
        };
        let mut frame = buf;
        MkaFrameRepr::new(cfg.mac, repr)
            .seal_into(&p.ick, &mut frame)
            .ok()
            .map(|()| (frame, distributed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sak_use_drop_reasons() {
        let (ks, other) = (Mi([1; 12]), Mi([2; 12]));
        let latest = (Ki::new(ks, 2), 1);
        let old = Some((Ki::new(ks, 1), 0));
        let u = |ki: Ki, an: u8, tx: bool, rx: bool| KeyUse {
            ki,
            an,
            tx,
            rx,
            lowest_pn: 1,
        };
        let cases = [
            (u(Ki::new(ks, 2), 1, true, true), false, None),
            (u(Ki::new(ks, 1), 0, true, true), false, None),
            (u(Ki::new(ks, 2), 1, false, true), false, None),
            (
                u(Ki::new(ks, 3), 2, false, true),
                false,
                Some(SakUseDrop::KnMismatch),
            ),
            (
                u(Ki::new(other, 2), 1, true, true),
                false,
                Some(SakUseDrop::KeyMiMismatch),
            ),
            (
                u(Ki::new(ks, 2), 3, true, true),
                false,
                Some(SakUseDrop::AnNotInUse),
            ),
            (
                u(Ki::new(ks, 1), 1, true, true),
                false,
                Some(SakUseDrop::AnNotInUse),
            ),
            (
                u(Ki::new(ks, 2), 1, true, false),
                false,
                Some(SakUseDrop::RxNotSet),
            ),
            (
                u(Ki::new(ks, 2), 1, false, false),
                true,
                Some(SakUseDrop::KsRxTxNotSet),
            ),
            (u(Ki::new(ks, 2), 1, false, false), false, None),
            (u(Ki::new(ks, 1), 0, false, false), true, None),
        ];
        for (n, (lu, from_ks, want)) in cases.into_iter().enumerate() {
            assert_eq!(sak_use_drop(&lu, latest, old, from_ks), want, "case {n}");
        }
    }
}
