//! Quantum-safe post-quantum preshared keys (PPK) for MKA: the `sks profile` sources.
//!
//! - [`sks`]: the Session Key Service engine. Two routers share a random seed, exported by one
//!   (the master) encapsulated to the other's Classic McEliece (mceliece8192128) public key;
//!   both derive `PPK = KDF(seed, "SKS PPK", keyID)` (the 802.1X KDF, AES-256-CMAC).
//! - [`skip`]: the SKIP client (draft-cisco-skip): the PPK is a key fetched from a QKD key
//!   manager (KME) over TLS 1.3, `GET /key` on the key server's side and `GET /key/{keyId}` on
//!   the peer's.
//!
//! Only key IDs ever cross the network between the routers. The daemon mixes the PPK into key
//! distribution with [`ppk_kek`]. See docs/ppk.md.

pub mod cli;
pub mod http;
pub mod skip;
pub mod sks;

use crate::config::{SksProfile, SksProfileType};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// The PPK length: 256 bits.
pub const PPK_LEN: usize = 32;
/// The longest key ID: 64 octets.
pub const KEY_ID_MAX_LEN: usize = 64;
/// The KDF label of the SKS PPK derivation.
pub const LABEL_SKS_PPK: &[u8] = b"SKS PPK";
/// The KDF label of the PPK-mixed KEK.
pub const LABEL_PPK_KEK: &[u8] = b"IEEE8021 PPK KEK";
/// The state directory's default.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/macsec/sks";

/// A PPK key ID: 1..=64 octets. SKS key IDs are 16 random octets; SKIP key IDs are the octets of
/// the KME's key ID text (a UUID).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyId(Vec<u8>);

impl KeyId {
    pub fn new(bytes: &[u8]) -> Result<KeyId, PpkError> {
        if bytes.is_empty() || bytes.len() > KEY_ID_MAX_LEN {
            return Err(PpkError::KeyIdLength(bytes.len()));
        }
        Ok(KeyId(bytes.to_vec()))
    }
    /// A fresh random key ID of `len` octets.
    pub fn random(len: usize) -> Result<KeyId, PpkError> {
        let mut b = vec![0u8; len];
        random_bytes(&mut b)?;
        KeyId::new(&b)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The key ID as text when it is a SKIP key ID (printable ASCII), else `None`.
    pub fn as_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0)
            .ok()
            .filter(|s| s.bytes().all(|b| b.is_ascii_graphic()))
    }
}

impl fmt::Display for KeyId {
    /// The text of a SKIP key ID, else hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_text() {
            Some(t) => f.write_str(t),
            None => f.write_str(&hex::encode(&self.0)),
        }
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A 256-bit PPK. Never printed: Debug and Display show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Ppk(Zeroizing<[u8; PPK_LEN]>);

impl Ppk {
    pub fn from_bytes(bytes: &[u8]) -> Result<Ppk, PpkError> {
        let mut k = Zeroizing::new([0u8; PPK_LEN]);
        if bytes.len() != PPK_LEN {
            return Err(PpkError::PpkLength(bytes.len()));
        }
        k.copy_from_slice(bytes);
        Ok(Ppk(k))
    }
    pub fn as_bytes(&self) -> &[u8; PPK_LEN] {
        &self.0
    }
}

impl fmt::Debug for Ppk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Ppk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a PPK, a key file or a KME request failed, in the operator's words.
#[derive(Debug, thiserror::Error)]
pub enum PpkError {
    #[error("a PPK key ID has 1 to 64 octets, not {0}")]
    KeyIdLength(usize),
    #[error("a PPK has 32 octets, not {0}")]
    PpkLength(usize),
    #[error("the operating system's random number generator failed")]
    Rng,
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error("sks profile {0} is not configured")]
    NoProfile(String),
    #[error("sks profile {profile}: {why}")]
    Profile { profile: String, why: String },
    #[error("peer {0} is not a peer-identifier of any sks profile")]
    NoPeer(String),
    #[error("no Classic McEliece key pair in {0} (run `crypto sks key export mceliece` first)")]
    NoKeyPair(PathBuf),
    #[error("no public key imported for peer {0} (run `crypto sks key import mceliece {0} PATH`)")]
    NoPeerKey(String),
    #[error("no seed shared with peer {peer} of sks profile {profile} (export it with `crypto sks seed export mceliece` on the master, import it with `crypto sks seed import mceliece` on the other side)")]
    NoSeed { profile: String, peer: String },
    #[error("{path}: {why}")]
    BadFile { path: PathBuf, why: String },
    #[error("{path}: {error}")]
    SeedFile { path: PathBuf, error: sks::SeedError },
    #[error("key generation failed: {0}")]
    KeyGen(String),
    #[error("the trust point {path} could not be used: {why}")]
    TrustPoint { path: PathBuf, why: String },
    #[error("KME {server}: {why}")]
    Kme { server: String, why: String },
    #[error("KME {server}: HTTP {code}: {why}")]
    KmeStatus { server: String, code: u16, why: String },
}

/// The source of PPKs for one `sks profile`.
pub trait PpkSource: Send {
    /// Key server: a fresh (key ID, PPK) to announce.
    fn new_key(&mut self) -> Result<(KeyId, Ppk), PpkError>;
    /// Peer: the PPK for a key ID the key server announced.
    fn key_by_id(&mut self, id: &KeyId) -> Result<Ppk, PpkError>;
}

/// Settings of the PPK sources that the configuration does not carry.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// The KME's CA certificate(s) (PEM): the profile's trust point. Default
    /// `STATE_DIR/trustpoint/PROFILE.pem` ([`default_trust_point`]).
    pub trust_point: Option<PathBuf>,
    /// TCP connect timeout towards the KME.
    pub connect_timeout: Duration,
    /// Read/write timeout of one request (TLS handshake and response).
    pub io_timeout: Duration,
    /// Retries after a failed attempt (connection or I/O error, HTTP 5xx); 0 means one attempt.
    pub retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            trust_point: None,
            connect_timeout: Duration::from_secs(3),
            io_timeout: Duration::from_secs(5),
            retries: 2,
            retry_delay: Duration::from_millis(500),
        }
    }
}

/// Where a remote profile's trust point is read from when [`SourceOptions::trust_point`] is unset.
pub fn default_trust_point(state_dir: &Path, profile: &str) -> PathBuf {
    state_dir.join("trustpoint").join(format!("{profile}.pem"))
}

/// The source an `sks profile` names: local SKS (seed shared with the profile's peer) or SKIP
/// (its KME). Building it does no I/O beyond reading the trust point; the calls may block.
pub fn source_for(
    profile: &SksProfile,
    state_dir: &Path,
    opts: &SourceOptions,
) -> Result<Box<dyn PpkSource>, PpkError> {
    match profile.profile_type {
        SksProfileType::Local => Ok(Box::new(sks::SksSource::new(profile, state_dir)?)),
        SksProfileType::Remote => Ok(Box::new(skip::SkipSource::new(profile, state_dir, opts)?)),
    }
}

/// PPK = KDF(seed, "SKS PPK", keyID), 256 bits (802.1X KDF, AES-256-CMAC with a 32-octet seed).
pub fn derive_sks_ppk(seed: &[u8; sks::SEED_LEN], id: &KeyId) -> Result<Ppk, PpkError> {
    let out = mka::kdf::kdf(seed, LABEL_SKS_PPK, id.as_bytes(), (PPK_LEN * 8) as u32)
        .map_err(|e| PpkError::KeyGen(e.to_string()))?;
    Ppk::from_bytes(&out)
}

/// The PPK-mixed KEK: KEK' = KDF(PPK, "IEEE8021 PPK KEK", KEK), as long as the KEK (16 or 32
/// octets). A SAK wrapped with KEK' is protected by both the CAK and the PPK.
pub fn ppk_kek(ppk: &Ppk, kek: &[u8]) -> Result<Zeroizing<Vec<u8>>, PpkError> {
    if kek.len() != 16 && kek.len() != 32 {
        return Err(PpkError::KeyGen(format!(
            "a KEK has 16 or 32 octets, not {}",
            kek.len()
        )));
    }
    mka::kdf::kdf(ppk.as_bytes(), LABEL_PPK_KEK, kek, (kek.len() * 8) as u32)
        .map_err(|e| PpkError::KeyGen(e.to_string()))
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), PpkError> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new()
        .fill(buf)
        .map_err(|_| PpkError::Rng)
}
