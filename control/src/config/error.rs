//! Configuration errors and notes. Every one names its line (1-based). No message ever contains a
//! CAK, an encrypted key-string or any other token of a `key-string` line: only keywords, names,
//! CKNs and numbers are quoted, and a quoted command word that looks like key material (16 or more
//! hex digits) is shown as `***`.

use mka::keychain::{CakAlgorithm, Ckn, KeyChainError};
use std::fmt;

/// A configuration error: the line it is on and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ConfigError {
    /// 1-based line number in the configuration text.
    pub line: usize,
    pub kind: ErrorKind,
}

impl ConfigError {
    pub fn new(line: usize, kind: ErrorKind) -> ConfigError {
        ConfigError { line, kind }
    }
}

/// What is wrong. The `Display` text is the message after `line N: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A command that no enclosing MACsec stanza knows.
    #[error("unknown command `{command}` in {stanza}")]
    UnknownCommand { stanza: String, command: String },
    /// An IOS XR macsec-policy command that the guide does not document.
    #[error("`{command}` in {stanza} is not supported: the macsec-policy commands are cipher-suite, conf-offset, key-server-priority, security-policy, delay-protection, window-size, include-icv-indicator, sak-rekey-interval, policy-exception, vlan-tags-in-clear, ppk and max-peers (ours)")]
    UnsupportedCommand { stanza: String, command: String },
    /// A MACsec sub-command outside its stanza (for example `key-string` after a stray `!`).
    #[error("`{command}` is only valid inside {expected}")]
    OutOfPlace { command: String, expected: &'static str },
    /// Malformed arguments; `usage` is the expected form.
    #[error("{command}: {problem}; expected `{usage}`")]
    Syntax {
        command: &'static str,
        problem: String,
        usage: &'static str,
    },
    #[error("{what} {value} is out of range {min}-{max}")]
    OutOfRange {
        what: &'static str,
        value: String,
        min: u64,
        max: u64,
    },
    /// The same stanza or the same command twice.
    #[error("{what} is already configured at line {first}")]
    Duplicate { what: String, first: usize },

    // Keys.
    #[error("key {text}: the CKN must be hexadecimal")]
    CknNotHex { text: String },
    #[error("key {text}: the CKN must have an even number of hex digits, got {digits}")]
    CknOdd { text: String, digits: usize },
    #[error("key: the CKN has {digits} hex digits, at most 64 are allowed")]
    CknTooLong { digits: usize },
    #[error("key {ckn}: the key-string (CAK) must be hexadecimal")]
    CakNotHex { ckn: Ckn },
    #[error("key {ckn}: cryptographic-algorithm {algorithm} needs a {expected}-hex-digit key-string (CAK), got {got} hex digits")]
    CakLength {
        ckn: Ckn,
        algorithm: CakAlgorithm,
        expected: usize,
        got: usize,
    },
    #[error("key {ckn}: the encrypted key-string (`password`, type 7) cannot be decoded; for a clear CAK write `key-string CAK cryptographic-algorithm ...`")]
    CakPassword { ckn: Ckn },
    #[error(
        "key {ckn}: the key-string is masked (<removed> or ***, as show prints it); configure the CAK itself"
    )]
    CakMasked { ckn: Ckn },
    #[error("key {ckn}: cryptographic-algorithm must be AES-128-CMAC or AES-256-CMAC")]
    UnknownAlgorithm { ckn: Ckn },
    #[error(
        "key {ckn}: key-string needs `cryptographic-algorithm AES-128-CMAC` or `cryptographic-algorithm AES-256-CMAC`"
    )]
    MissingAlgorithm { ckn: Ckn },
    #[error("key {ckn}: no key-string (CAK) is configured")]
    MissingKeyString { ckn: Ckn },
    #[error(
        "key {ckn}: no lifetime is configured (for example `lifetime 00:00:00 january 01 2024 infinite`)"
    )]
    MissingLifetime { ckn: Ckn },
    #[error("key {ckn}: the lifetime ends at {end}, not after its start {start}")]
    LifetimeEndsBeforeStart { ckn: Ckn, start: String, end: String },
    #[error("key chain {chain} has a macsec section but no keys")]
    EmptyKeyChain { chain: String },
    /// A check of `mka::keychain` not already covered above.
    #[error("key chain {chain}: {source}")]
    KeyChain { chain: String, source: KeyChainError },

    // References from interfaces and policies.
    #[error("interface {interface}: {role} {chain} is not configured")]
    UnknownKeyChain {
        interface: String,
        role: &'static str,
        chain: String,
    },
    #[error("interface {interface}: {role} {chain} is not a MACsec key chain (it has no `macsec` keys)")]
    NotMacsecKeyChain {
        interface: String,
        role: &'static str,
        chain: String,
    },
    #[error("interface {interface}: macsec-policy {policy} is not configured")]
    UnknownPolicy { interface: String, policy: String },
    #[error("macsec-policy {policy}: sks profile {profile} is not configured")]
    UnknownSksProfile { policy: String, profile: String },
    #[error("sks profile {profile} has live-keys {live_keys}, but {} interfaces use it ({}); raise live-keys or use another profile", interfaces.len(), interfaces.join(", "))]
    LiveKeysExceeded {
        profile: String,
        live_keys: u32,
        interfaces: Vec<String>,
    },
    #[error("interface {interface}: fallback-psk-keychain {chain} is the psk-keychain itself; configure different key chains for primary and fallback PSKs")]
    FallbackSameChain { interface: String, chain: String },
    #[error(
        "interface {interface}: fallback-psk-keychain {chain}: key {ckn} must have an infinite lifetime"
    )]
    FallbackNotInfinite {
        interface: String,
        chain: String,
        ckn: Ckn,
    },
    #[error("interface {interface}: CKN {ckn} is in both psk-keychain {primary} and fallback-psk-keychain {fallback}")]
    FallbackSharesCkn {
        interface: String,
        primary: String,
        fallback: String,
        ckn: Ckn,
    },

    // SKS profiles.
    #[error(
        "sks profile {profile} type remote has no `kme server` (for example `kme server ipv4 192.0.2.34 port 10001`)"
    )]
    MissingKmeServer { profile: String },
    #[error("sks profile {profile}: `{command}` needs a `type remote` profile")]
    NeedsRemoteProfile { profile: String, command: &'static str },
}

/// What kind of input a [`Note`] reports as skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// A top-level command or stanza that is not MACsec configuration (`hostname`, `router bgp`,
    /// `line console`, ...), with the lines indented under it.
    IgnoredStanza,
    /// An interface sub-command other than `macsec` (`ipv4 address`, `shutdown`, `description`...),
    /// with the lines indented under it; or an extra word on the `interface` line.
    IgnoredCommand,
    /// A `key chain` without a `macsec` section (a routing-protocol key chain).
    NotMacsecKeyChain,
    /// An interface without `macsec psk-keychain`.
    NoMacsec,
    /// A value this appliance accepts below what IOS XR accepts (`sak-rekey-interval seconds`
    /// under 60, for rekey tests); kept.
    BelowRouterRange,
    /// `source interface NAME` where NAME cannot be a Linux interface (an IOS XR name pasted
    /// from a router): kept, and the KME connections fail until it names one.
    NotLocalInterface,
}

/// Something the parser skipped on purpose; not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// 1-based line number of the skipped command (the first line of a skipped stanza).
    pub line: usize,
    pub kind: NoteKind,
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A word of the input as it may be quoted in a message: anything that looks like key material
/// (16 or more hex digits) is `***`.
pub(crate) fn shown(word: &str) -> String {
    if word.len() >= 16 && word.bytes().all(|b| b.is_ascii_hexdigit()) {
        "***".to_string()
    } else {
        word.to_string()
    }
}
