//! MACsec PSK key chains as the IOS XR guide defines them: keys (CKN, CAK, cryptographic algorithm,
//! lifetime), the latest active key, hitless CAK rollover and the fallback PSK key chain.
//!
//! Pure logic: there is no clock inside. Every time is **seconds since the Unix epoch (UTC) as a
//! `u64`**, passed in as `now` ([`unix_seconds`] converts a `SystemTime`). A caller arms one timer at
//! [`KeyChain::next_change`] (or [`KeyPlan::next_change`]) and asks again when it fires or when the
//! configuration changes.
//!
//! The rules, from the guide ("Guidelines for Configuring MACsec Keychain", "Fallback PSK"):
//! - A key is active from its start time (inclusive) to its end (exclusive): `start <= now < end`.
//!   The end is `infinite`, an absolute time, or `start + duration`.
//! - MKA uses the *latest active key*: the active key with the latest start time. When two active keys
//!   start at the same second, the one **later in configuration order** wins (the order of
//!   [`KeyChain::keys`]).
//! - CAK rollover: when a newer key becomes the latest active key while the current one is still
//!   active, both participants run; the old one is kept at least [`ROLLOVER_OVERLAP`] (one minute, as
//!   the guide recommends) and then retired.
//! - Expiry (or deletion) of the current key brings the MKA session down, unless the fallback PSK
//!   key chain protects it. A fallback key must have an infinite lifetime.
//! - Start times only gate *starting* a key: the key in use stays in use until its lifetime ends,
//!   even when `now` falls before its start (the wall clock stepped back, or its start was moved
//!   later). A step forward is followed as IOS XR does: a key the new time has passed ends.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// The minimum time both the old and the new participant run during a CAK rollover, in seconds:
/// the guide's "overlap of at least one minute for hitless CAK rollover".
pub const ROLLOVER_OVERLAP: u64 = 60;

/// Longest CKN, in octets (802.1X-2020 11.11.1; the guide's 64 hex characters).
pub use crate::kdf::CKN_MAX_LEN;

/// Seconds since the Unix epoch of `t` (0 for times before the epoch). The only bridge from a clock.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Errors of key chain construction and validation. No message ever contains a CAK or part of one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyChainError {
    #[error("key chain name is empty")]
    EmptyName,
    #[error("key chain {chain} has no keys")]
    EmptyChain { chain: String },
    #[error("key chain {chain}: CKN {ckn} is configured more than once")]
    DuplicateCkn { chain: String, ckn: Ckn },
    #[error("CKN must be 1 to {max} octets (2 to {} hex digits), got {len} octets", 2 * max)]
    CknLength { len: usize, max: usize },
    #[error("CKN '{text}' is not valid hex (an even number of hex digits)")]
    CknHex { text: String },
    #[error("key {ckn}: the CAK is not valid hex (an even number of hex digits)")]
    CakHex { ckn: Ckn },
    #[error("key {ckn}: {algorithm} needs a {expected}-octet CAK, got {got} octets")]
    CakLength {
        ckn: Ckn,
        algorithm: CakAlgorithm,
        expected: usize,
        got: usize,
    },
    #[error("key {ckn}: lifetime ends at {end}, not after its start {start}")]
    LifetimeEndsBeforeStart { ckn: Ckn, start: u64, end: u64 },
    #[error("unknown cryptographic-algorithm '{0}' (AES-128-CMAC or AES-256-CMAC)")]
    UnknownAlgorithm(String),
    #[error("fallback PSK key chain {chain}: key {ckn} must have an infinite lifetime")]
    FallbackNotInfinite { chain: String, ckn: Ckn },
    #[error("fallback PSK key chain {chain} is the primary key chain; configure a different one")]
    FallbackSameChain { chain: String },
    #[error("CKN {ckn} is in both the primary key chain {primary} and the fallback key chain {fallback}")]
    FallbackSharesCkn {
        primary: String,
        fallback: String,
        ckn: Ckn,
    },
}

/// The CAK name: one type for the key chains and MKA ([`crate::Ckn`]); shown as upper-case
/// hex, as the guide does.
pub use crate::Ckn;

/// A CKN from the IOS XR key ID: an even number of hex digits (either case), 2 to 64 of them.
pub fn ckn_from_hex(text: &str) -> Result<Ckn, KeyChainError> {
    let octets = hex::decode(text).map_err(|_| KeyChainError::CknHex {
        text: text.to_string(),
    })?;
    Ckn::new(&octets).map_err(|_| KeyChainError::CknLength {
        len: octets.len(),
        max: CKN_MAX_LEN,
    })
}

/// The guide's `cryptographic-algorithm` of a key: the MKA KDF/ICV algorithm, fixing the CAK length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CakAlgorithm {
    /// `AES-128-CMAC`: 16-octet CAK (32 hex digits).
    Aes128Cmac,
    /// `AES-256-CMAC`: 32-octet CAK (64 hex digits).
    Aes256Cmac,
}

impl CakAlgorithm {
    /// The CAK length in octets.
    pub fn key_len(self) -> usize {
        match self {
            CakAlgorithm::Aes128Cmac => 16,
            CakAlgorithm::Aes256Cmac => 32,
        }
    }

    /// The configuration keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CakAlgorithm::Aes128Cmac => "AES-128-CMAC",
            CakAlgorithm::Aes256Cmac => "AES-256-CMAC",
        }
    }
}

impl fmt::Display for CakAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CakAlgorithm {
    type Err = KeyChainError;
    /// `AES-128-CMAC` or `AES-256-CMAC`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("AES-128-CMAC") {
            Ok(CakAlgorithm::Aes128Cmac)
        } else if s.eq_ignore_ascii_case("AES-256-CMAC") {
            Ok(CakAlgorithm::Aes256Cmac)
        } else {
            Err(KeyChainError::UnknownAlgorithm(s.to_string()))
        }
    }
}

/// When a key's lifetime ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// `infinite`: never.
    Infinite,
    /// An absolute end time (Unix seconds), exclusive.
    At(u64),
    /// `duration <seconds>` after the start.
    Duration(u64),
}

/// A key's validity period: active while `start <= now < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Unix seconds, inclusive.
    pub start: u64,
    pub end: Expiry,
}

impl Lifetime {
    pub fn infinite(start: u64) -> Lifetime {
        Lifetime {
            start,
            end: Expiry::Infinite,
        }
    }

    pub fn until(start: u64, end: u64) -> Lifetime {
        Lifetime {
            start,
            end: Expiry::At(end),
        }
    }

    pub fn duration(start: u64, seconds: u64) -> Lifetime {
        Lifetime {
            start,
            end: Expiry::Duration(seconds),
        }
    }

    /// The end instant (exclusive), or `None` for an infinite lifetime. A duration that would pass
    /// the end of `u64` time saturates at `u64::MAX`.
    pub fn end_time(&self) -> Option<u64> {
        match self.end {
            Expiry::Infinite => None,
            Expiry::At(t) => Some(t),
            Expiry::Duration(d) => Some(self.start.saturating_add(d)),
        }
    }

    /// `start <= now < end`.
    pub fn is_active(&self, now: u64) -> bool {
        now >= self.start && self.end_time().is_none_or(|end| now < end)
    }

    /// Where `now` falls in this lifetime.
    pub fn state(&self, now: u64) -> KeyState {
        if now < self.start {
            KeyState::Pending
        } else if self.is_active(now) {
            KeyState::Active
        } else {
            KeyState::Expired
        }
    }

    /// The next instant after `now` at which this lifetime starts or ends, if any.
    pub fn next_change(&self, now: u64) -> Option<u64> {
        if now < self.start {
            Some(self.start)
        } else {
            self.end_time().filter(|&end| end > now)
        }
    }
}

/// Where an instant falls in a key's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Before the start time.
    Pending,
    Active,
    /// At or after the end time.
    Expired,
}

/// One key of a MACsec key chain: CKN, CAK, algorithm and lifetime, validated together.
/// `Debug` shows the CAK as `***`.
#[derive(Clone)]
pub struct Key {
    ckn: Ckn,
    cak: Zeroizing<Vec<u8>>,
    algorithm: CakAlgorithm,
    lifetime: Lifetime,
}

impl Key {
    /// Checks the CAK length against `algorithm` and that the lifetime ends after it starts.
    pub fn new(
        ckn: Ckn,
        cak: Zeroizing<Vec<u8>>,
        algorithm: CakAlgorithm,
        lifetime: Lifetime,
    ) -> Result<Key, KeyChainError> {
        if cak.len() != algorithm.key_len() {
            return Err(KeyChainError::CakLength {
                ckn,
                algorithm,
                expected: algorithm.key_len(),
                got: cak.len(),
            });
        }
        if let Some(end) = lifetime.end_time() {
            if end <= lifetime.start {
                return Err(KeyChainError::LifetimeEndsBeforeStart {
                    ckn,
                    start: lifetime.start,
                    end,
                });
            }
        }
        Ok(Key {
            ckn,
            cak,
            algorithm,
            lifetime,
        })
    }

    /// A key from its configuration text: `key <ckn_hex>` / `key-string <cak_hex>
    /// cryptographic-algorithm ...` / `lifetime ...`. The error for a bad CAK never quotes it.
    pub fn from_hex(
        ckn_hex: &str,
        cak_hex: &str,
        algorithm: CakAlgorithm,
        lifetime: Lifetime,
    ) -> Result<Key, KeyChainError> {
        let ckn = ckn_from_hex(ckn_hex)?;
        let cak = match hex::decode(cak_hex) {
            Ok(v) => Zeroizing::new(v),
            Err(_) => return Err(KeyChainError::CakHex { ckn }),
        };
        Key::new(ckn, cak, algorithm, lifetime)
    }

    pub fn ckn(&self) -> &Ckn {
        &self.ckn
    }

    /// The secret. Never log or show it.
    pub fn cak(&self) -> &[u8] {
        &self.cak
    }

    pub fn algorithm(&self) -> CakAlgorithm {
        self.algorithm
    }

    pub fn lifetime(&self) -> &Lifetime {
        &self.lifetime
    }

    pub fn start(&self) -> u64 {
        self.lifetime.start
    }

    /// The end instant (exclusive), `None` when infinite.
    pub fn end_time(&self) -> Option<u64> {
        self.lifetime.end_time()
    }

    /// `start <= now < end`.
    pub fn is_active(&self, now: u64) -> bool {
        self.lifetime.is_active(now)
    }

    pub fn state(&self, now: u64) -> KeyState {
        self.lifetime.state(now)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("ckn", &self.ckn)
            .field("cak", &format_args!("***"))
            .field("algorithm", &self.algorithm)
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// A named MACsec key chain: at least one key, CKNs unique, kept in configuration order.
#[derive(Debug, Clone)]
pub struct KeyChain {
    name: String,
    keys: Vec<Key>,
}

impl KeyChain {
    /// Checks: a non-empty name, at least one key, no CKN twice.
    pub fn new(name: impl Into<String>, keys: Vec<Key>) -> Result<KeyChain, KeyChainError> {
        let name = name.into();
        if name.is_empty() {
            return Err(KeyChainError::EmptyName);
        }
        if keys.is_empty() {
            return Err(KeyChainError::EmptyChain { chain: name });
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|prev| prev.ckn == k.ckn) {
                return Err(KeyChainError::DuplicateCkn {
                    chain: name,
                    ckn: k.ckn.clone(),
                });
            }
        }
        Ok(KeyChain { name, keys })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The keys in configuration order.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The key with this CKN.
    pub fn key(&self, ckn: &Ckn) -> Option<&Key> {
        self.keys.iter().find(|k| &k.ckn == ckn)
    }

    /// The keys active at `now`, in configuration order.
    pub fn active_keys(&self, now: u64) -> impl Iterator<Item = &Key> + '_ {
        self.keys.iter().filter(move |k| k.is_active(now))
    }

    /// The latest active key: the active key with the latest start time; among active keys with the
    /// same start time, the one later in configuration order.
    pub fn latest_active(&self, now: u64) -> Option<&Key> {
        // `max_by_key` returns the last of equal maxima: the later one in configuration order.
        self.active_keys(now).max_by_key(|k| k.start())
    }

    /// The next instant after `now` at which a key starts or ends (so the set of active keys, and
    /// possibly the latest active key, changes), or `None` if nothing changes any more.
    pub fn next_change(&self, now: u64) -> Option<u64> {
        self.keys.iter().filter_map(|k| k.lifetime.next_change(now)).min()
    }

    /// What the MKA actor of an interface using this chain as its primary PSK key chain should run at
    /// `now`; see [`KeyPlan`]. `current` is the key the primary participant runs on now (`None` when
    /// there is none), `fallback` the interface's `fallback-psk-keychain`.
    pub fn plan<'a>(
        &'a self,
        now: u64,
        current: Option<Current<'_>>,
        fallback: Option<&'a FallbackPsk>,
    ) -> KeyPlan<'a> {
        // The key in use stays usable until its lifetime ends, even when `now` is before its start
        // (the wall clock stepped back): start times only gate starting a key. During a rollover,
        // so does the key rolled over to (it started by the rollover's start).
        let in_use = current
            .and_then(|c| self.key(c.ckn))
            .filter(|k| k.state(now) != KeyState::Expired);
        let rolling_since = current.and_then(|c| c.rollover_since);
        let usable = |k: &Key| {
            k.is_active(now)
                || (k.state(now) == KeyState::Pending
                    && (in_use.is_some_and(|c| c.ckn == k.ckn)
                        || rolling_since.is_some_and(|s| k.start() <= s)))
        };
        let latest = self.keys.iter().filter(|k| usable(k)).max_by_key(|k| k.start());
        let primary = match current {
            None => match latest {
                None => PrimaryPlan::NoActiveKey,
                Some(k) => PrimaryPlan::Start(k),
            },
            Some(cur) => match (self.key(cur.ckn), latest) {
                (Some(k), Some(to)) if in_use.is_some() => {
                    if k.ckn == to.ckn {
                        PrimaryPlan::Keep(k)
                    } else {
                        let started = cur.rollover_since.unwrap_or(now).max(to.start());
                        let retire_at = started.saturating_add(ROLLOVER_OVERLAP);
                        if now >= retire_at {
                            PrimaryPlan::RetireOld { from: k, to }
                        } else {
                            PrimaryPlan::Rollover {
                                from: k,
                                to,
                                started,
                                retire_at,
                                short_overlap: k.end_time().is_some_and(|end| end < retire_at),
                            }
                        }
                    }
                }
                (found, replacement) => PrimaryPlan::CurrentGone {
                    ckn: cur.ckn.clone(),
                    reason: match found {
                        None => GoneReason::Removed,
                        Some(_) => GoneReason::Expired,
                    },
                    replacement,
                },
            },
        };
        let fallback_plan = match fallback {
            None => FallbackPlan::NotConfigured,
            Some(fb) => match fb.latest_active(now) {
                None => FallbackPlan::NoActiveKey,
                Some(k) if latest.is_some() => FallbackPlan::Standby(k),
                Some(k) => FallbackPlan::Protect(k),
            },
        };
        let retire_at = match primary {
            PrimaryPlan::Rollover { retire_at, .. } => Some(retire_at),
            _ => None,
        };
        let next_change = [
            self.next_change(now),
            fallback.and_then(|fb| fb.next_change(now)),
            retire_at,
        ]
        .into_iter()
        .flatten()
        .min();
        KeyPlan {
            primary,
            fallback: fallback_plan,
            next_change,
        }
    }
}

/// The fallback PSK key chain (`macsec psk-keychain P fallback-psk-keychain F`). Every key must have
/// an infinite lifetime, as the guide requires; its latest active key is used.
#[derive(Debug, Clone)]
pub struct FallbackPsk {
    chain: KeyChain,
}

impl FallbackPsk {
    /// Checks that every key of `chain` has an infinite lifetime.
    pub fn new(chain: KeyChain) -> Result<FallbackPsk, KeyChainError> {
        if let Some(k) = chain.keys.iter().find(|k| k.lifetime.end != Expiry::Infinite) {
            return Err(KeyChainError::FallbackNotInfinite {
                chain: chain.name.clone(),
                ckn: k.ckn.clone(),
            });
        }
        Ok(FallbackPsk { chain })
    }

    /// The guide's "configure different keychains for primary and fallback PSKs": a different chain
    /// name and no CKN in common (MKA tells the two participants apart by CKN).
    pub fn check_distinct(&self, primary: &KeyChain) -> Result<(), KeyChainError> {
        if self.chain.name == primary.name {
            return Err(KeyChainError::FallbackSameChain {
                chain: primary.name.clone(),
            });
        }
        if let Some(k) = self.chain.keys.iter().find(|k| primary.key(&k.ckn).is_some()) {
            return Err(KeyChainError::FallbackSharesCkn {
                primary: primary.name.clone(),
                fallback: self.chain.name.clone(),
                ckn: k.ckn.clone(),
            });
        }
        Ok(())
    }

    pub fn chain(&self) -> &KeyChain {
        &self.chain
    }

    /// The fallback key in use at `now`: the latest active key of the chain.
    pub fn latest_active(&self, now: u64) -> Option<&Key> {
        self.chain.latest_active(now)
    }

    /// The next instant after `now` at which a fallback key starts.
    pub fn next_change(&self, now: u64) -> Option<u64> {
        self.chain.next_change(now)
    }
}

/// The key the primary participant runs on, as the caller tells [`KeyChain::plan`].
#[derive(Debug, Clone, Copy)]
pub struct Current<'c> {
    pub ckn: &'c Ckn,
    /// When the rollover away from this key started: the `started` of the first
    /// [`PrimaryPlan::Rollover`] the caller acted on. `None` when no rollover is in progress (a
    /// rollover seen for the first time starts at `now`, or at the new key's start if later).
    pub rollover_since: Option<u64>,
}

impl<'c> Current<'c> {
    /// Running on `ckn`, no rollover in progress.
    pub fn new(ckn: &'c Ckn) -> Current<'c> {
        Current {
            ckn,
            rollover_since: None,
        }
    }

    /// Running on `ckn`, rolling over to a newer key since `started`.
    pub fn rolling_over(ckn: &'c Ckn, started: u64) -> Current<'c> {
        Current {
            ckn,
            rollover_since: Some(started),
        }
    }
}

/// The decision of [`KeyChain::plan`]: which MKA participants to run and which key protects the
/// session. The participant set is declarative: run exactly [`KeyPlan::primary_keys`] (plus the
/// fallback key, if any) and stop any other.
#[derive(Debug, Clone)]
pub struct KeyPlan<'a> {
    pub primary: PrimaryPlan<'a>,
    pub fallback: FallbackPlan<'a>,
    /// The next instant after `now` at which the plan can change (a key start or end in either chain,
    /// or the end of a rollover overlap): arm a timer for it. `None`: nothing changes unless the
    /// configuration does.
    pub next_change: Option<u64>,
}

/// What to do with the primary key chain's participant(s).
#[derive(Debug, Clone)]
pub enum PrimaryPlan<'a> {
    /// No participant runs and no primary key is active: nothing to run (`*** No Active Keys
    /// Present ***`).
    NoActiveKey,
    /// No participant runs yet: start one on the latest active key.
    Start(&'a Key),
    /// The current key is the latest active key: keep it.
    Keep(&'a Key),
    /// Hitless CAK rollover: `to` became the latest active key while `from` (current) is still
    /// active. Run both participants; secure with `to` as soon as it can; keep `from` until
    /// `retire_at` (= `started` + [`ROLLOVER_OVERLAP`]). Remember `started` and pass it back in
    /// [`Current::rollover_since`]. `short_overlap`: `from` expires before `retire_at`, so the
    /// configured lifetimes overlap less than the guide's minute and the rollover may not be hitless.
    Rollover {
        from: &'a Key,
        to: &'a Key,
        started: u64,
        retire_at: u64,
        short_overlap: bool,
    },
    /// The overlap is over: retire the participant on `from`; `to` carries on (call it current).
    /// If `to`'s participant is not secured by now (the peer lacks the new key), the fallback PSK
    /// participant carries the session, as the guide describes for mismatched latest active keys.
    RetireOld { from: &'a Key, to: &'a Key },
    /// The current key is no longer active: its participant and its SAs must come down (a traffic
    /// hit unless the fallback protects). `replacement`, the latest active key if any, is the one
    /// primary participant to run (start it if it does not run yet); unless it was already secured in
    /// a rollover, the change is not hitless.
    CurrentGone {
        ckn: Ckn,
        reason: GoneReason,
        replacement: Option<&'a Key>,
    },
}

/// Why the current key is no longer usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoneReason {
    /// Its lifetime ended.
    Expired,
    /// It is no longer in the key chain (configuration change).
    Removed,
}

/// What to do with the fallback PSK participant.
#[derive(Debug, Clone)]
pub enum FallbackPlan<'a> {
    /// No `fallback-psk-keychain` on the interface.
    NotConfigured,
    /// Configured, but none of its keys has started yet.
    NoActiveKey,
    /// The primary chain has an active key; run the fallback participant on this key alongside it
    /// so it can take over on a primary CAK mismatch or expiry.
    Standby(&'a Key),
    /// The primary chain has no active key: the session relies on the fallback participant on this
    /// key (`SESSION_SECURED_WITH_FALLBACK_PSK`).
    Protect(&'a Key),
}

/// Which chain a key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Primary,
    Fallback,
}

impl<'a> KeyPlan<'a> {
    /// The keys the primary participants must run on (zero, one, or two during a rollover), oldest
    /// first.
    pub fn primary_keys(&self) -> Vec<&'a Key> {
        match self.primary {
            PrimaryPlan::NoActiveKey => vec![],
            PrimaryPlan::Start(k) | PrimaryPlan::Keep(k) => vec![k],
            PrimaryPlan::Rollover { from, to, .. } => vec![from, to],
            PrimaryPlan::RetireOld { to, .. } => vec![to],
            PrimaryPlan::CurrentGone { replacement, .. } => replacement.into_iter().collect(),
        }
    }

    /// The fallback key to run a participant on, if any.
    pub fn fallback_key(&self) -> Option<&'a Key> {
        match self.fallback {
            FallbackPlan::Standby(k) | FallbackPlan::Protect(k) => Some(k),
            FallbackPlan::NotConfigured | FallbackPlan::NoActiveKey => None,
        }
    }

    /// The key to secure the session with: the primary chain's latest active key, else the fallback
    /// key when it protects.
    pub fn secure_with(&self) -> Option<(KeySource, &'a Key)> {
        let primary = match self.primary {
            PrimaryPlan::NoActiveKey => None,
            PrimaryPlan::Start(k) | PrimaryPlan::Keep(k) => Some(k),
            PrimaryPlan::Rollover { to, .. } | PrimaryPlan::RetireOld { to, .. } => Some(to),
            PrimaryPlan::CurrentGone { replacement, .. } => replacement,
        };
        match (primary, &self.fallback) {
            (Some(k), _) => Some((KeySource::Primary, k)),
            (None, FallbackPlan::Protect(k)) => Some((KeySource::Fallback, *k)),
            (None, _) => None,
        }
    }

    /// What the caller keeps as its current key after acting on this plan, to hand back as
    /// [`Current`] next time: the CKN and, during a rollover, when it started. `None`: no key.
    pub fn next_current(&self) -> Option<(Ckn, Option<u64>)> {
        match &self.primary {
            PrimaryPlan::Start(k) | PrimaryPlan::Keep(k) => Some((k.ckn().clone(), None)),
            PrimaryPlan::Rollover { from, started, .. } => Some((from.ckn().clone(), Some(*started))),
            PrimaryPlan::RetireOld { to, .. } => Some((to.ckn().clone(), None)),
            PrimaryPlan::CurrentGone {
                replacement: Some(k), ..
            } => Some((k.ckn().clone(), None)),
            PrimaryPlan::CurrentGone {
                replacement: None, ..
            }
            | PrimaryPlan::NoActiveKey => None,
        }
    }

    /// A rollover is in progress (both participants run).
    pub fn rollover_due(&self) -> bool {
        matches!(self.primary, PrimaryPlan::Rollover { .. })
    }

    /// The current key expired (or was removed): its session comes down.
    pub fn current_gone(&self) -> bool {
        matches!(self.primary, PrimaryPlan::CurrentGone { .. })
    }

    /// No key at all, primary or fallback: the MKA session must be down.
    pub fn session_down(&self) -> bool {
        self.secure_with().is_none()
    }
}

/// How far the wall clock may move against the monotonic clock between two observations before
/// [`ClockWatch`] calls it a step, in seconds (the wall clock has a resolution of one second here).
pub const CLOCK_STEP_THRESHOLD: i64 = 2;

/// Detects steps of the wall clock (key lifetimes are wall-clock times): between two observations
/// the wall clock should advance as the monotonic clock does; a difference of more than
/// [`CLOCK_STEP_THRESHOLD`] seconds is a step. Each step is reported once, by the observation
/// that first sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClockWatch {
    /// Wall-clock seconds minus monotonic seconds at the last observation.
    offset: Option<i64>,
}

impl ClockWatch {
    pub fn new() -> ClockWatch {
        ClockWatch::default()
    }

    /// Observes monotonic time `mono` and wall-clock time `wall` (Unix seconds) together. Returns
    /// the size of the step in seconds (negative: backwards) when the wall clock stepped since the
    /// previous observation.
    pub fn observe(&mut self, mono: std::time::Duration, wall: u64) -> Option<i64> {
        let offset = (wall as i128 - mono.as_secs() as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        let step = match self.offset {
            Some(prev) => offset.saturating_sub(prev),
            None => 0,
        };
        // Compared turn to turn, so that a slewing clock (NTP) never adds up to a step.
        self.offset = Some(offset);
        (step.abs() > CLOCK_STEP_THRESHOLD).then_some(step)
    }
}
