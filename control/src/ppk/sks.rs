//! The Session Key Service (SKS) engine: this router's Classic McEliece (mceliece8192128) key
//! pair, the peers' public keys, and the seeds shared with them, in a state directory:
//!
//! ```text
//! STATE_DIR/                 (0700)
//!   mceliece.key             this router's private key, 14,120 octets (0600)
//!   mceliece.pub             this router's public key, 1,357,824 octets
//!   peers/PEER.pub           a peer's imported public key
//!   peers/PEER.seed          the 32-octet seed shared with PEER (0600)
//! ```
//!
//! The seed file that travels from the master to its peer (`crypto sks seed export mceliece`) is
//! the McEliece KEM ciphertext to the peer's public key plus the seed sealed with AES-256-GCM
//! under a key derived (HKDF-SHA256) from the KEM's shared secret; the sender's and recipient's
//! identifiers and the recipient public key's SHA-256 are in the header and authenticated as
//! associated data. Format in docs/ppk.md and [`SeedFile`].

use super::{derive_sks_ppk, random_bytes, KeyId, Ppk, PpkError, PpkSource};
use crate::config::{Config, SksPeer, SksProfile, SksProfileType};
use classic_mceliece_rust::{
    decapsulate_boxed, encapsulate_boxed, keypair_boxed, Ciphertext, PublicKey, SecretKey,
    CRYPTO_CIPHERTEXTBYTES, CRYPTO_PUBLICKEYBYTES, CRYPTO_SECRETKEYBYTES,
};
use ring::{aead, digest, hkdf};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The seed length: 32 octets (an AES-256-CMAC KDF key).
pub const SEED_LEN: usize = 32;
/// The public key length of mceliece8192128.
pub const PUBLIC_KEY_LEN: usize = CRYPTO_PUBLICKEYBYTES;
/// The private key length of mceliece8192128.
pub const SECRET_KEY_LEN: usize = CRYPTO_SECRETKEYBYTES;
/// The KEM ciphertext length of mceliece8192128.
pub const KEM_CT_LEN: usize = CRYPTO_CIPHERTEXTBYTES;
/// The length of an SKS key ID (random).
pub const SKS_KEY_ID_LEN: usize = 16;
/// The seed file's magic.
pub const SEED_MAGIC: &[u8; 8] = b"MSKSSEED";
/// The seed file's version.
pub const SEED_VERSION: u8 = 1;
/// Suite 1: mceliece8192128 KEM, HKDF-SHA256, AES-256-GCM.
pub const SEED_SUITE: u8 = 1;
const HKDF_SALT: &[u8] = b"macsec SKS seed v1";
const HKDF_INFO: &[u8] = b"macsec SKS seed v1 AES-256-GCM";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Stack for key generation (the McEliece code keeps big arrays on the stack).
const KEYGEN_STACK: usize = 64 * 1024 * 1024;

/// A name usable as a file name: 1..=64 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn check_name(what: &str, name: &str) -> Result<(), PpkError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(PpkError::Invalid(format!(
            "{what} '{name}' must be 1 to 64 of A-Z a-z 0-9 . _ - (not starting with .)"
        )))
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PpkError + '_ {
    move |error| PpkError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Writes `data` to `path` through a temporary file and a rename, with `mode`.
pub fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), PpkError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    f.write_all(data).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    drop(f);
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode)).map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// The SKS state directory.
#[derive(Debug, Clone)]
pub struct SksState {
    dir: PathBuf,
}

impl SksState {
    pub fn new(dir: impl Into<PathBuf>) -> SksState {
        SksState { dir: dir.into() }
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    fn secret_key_path(&self) -> PathBuf {
        self.dir.join("mceliece.key")
    }
    fn public_key_path(&self) -> PathBuf {
        self.dir.join("mceliece.pub")
    }
    fn peer_path(&self, peer: &str, ext: &str) -> Result<PathBuf, PpkError> {
        check_name("peer name", peer)?;
        Ok(self.dir.join("peers").join(format!("{peer}.{ext}")))
    }
    fn make_dirs(&self) -> Result<(), PpkError> {
        for d in [self.dir.clone(), self.dir.join("peers")] {
            fs::create_dir_all(&d).map_err(io_err(&d))?;
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).map_err(io_err(&d))?;
        }
        Ok(())
    }

    pub fn has_keypair(&self) -> bool {
        self.secret_key_path().is_file() && self.public_key_path().is_file()
    }

    /// Generates this router's key pair if there is none; `progress` is called about once a
    /// second with the time spent so far. True if a key pair was generated.
    pub fn ensure_keypair(&self, progress: &mut dyn FnMut(Duration)) -> Result<bool, PpkError> {
        if self.has_keypair() {
            return Ok(false);
        }
        self.make_dirs()?;
        let (pk, sk) = generate_keypair(progress)?;
        write_file(&self.secret_key_path(), &sk[..], 0o600)?;
        write_file(&self.public_key_path(), &pk[..], 0o644)?;
        Ok(true)
    }

    /// This router's public key (1,357,824 octets).
    pub fn public_key(&self) -> Result<Vec<u8>, PpkError> {
        let p = self.public_key_path();
        if !p.is_file() {
            return Err(PpkError::NoKeyPair(self.dir.clone()));
        }
        let pk = fs::read(&p).map_err(io_err(&p))?;
        if pk.len() != PUBLIC_KEY_LEN {
            return Err(PpkError::BadFile {
                path: p,
                why: format!("a public key has {PUBLIC_KEY_LEN} octets, this file {}", pk.len()),
            });
        }
        Ok(pk)
    }

    fn secret_key(&self) -> Result<SecretKey<'static>, PpkError> {
        let p = self.secret_key_path();
        if !p.is_file() {
            return Err(PpkError::NoKeyPair(self.dir.clone()));
        }
        let bytes = Zeroizing::new(fs::read(&p).map_err(io_err(&p))?);
        if bytes.len() != SECRET_KEY_LEN {
            return Err(PpkError::BadFile {
                path: p,
                why: format!(
                    "a private key has {SECRET_KEY_LEN} octets, this file {}",
                    bytes.len()
                ),
            });
        }
        let mut boxed: Box<[u8; SECRET_KEY_LEN]> = boxed_array()?;
        boxed.copy_from_slice(&bytes);
        Ok(SecretKey::from(boxed))
    }

    /// Writes this router's public key to `out` (generating the key pair first if needed).
    pub fn export_public_key(&self, out: &Path, progress: &mut dyn FnMut(Duration)) -> Result<(), PpkError> {
        self.ensure_keypair(progress)?;
        let pk = self.public_key()?;
        write_file(out, &pk, 0o644)
    }

    /// Imports `peer`'s public key from `path`.
    pub fn import_peer_key(&self, peer: &str, path: &Path) -> Result<(), PpkError> {
        let dst = self.peer_path(peer, "pub")?;
        let pk = fs::read(path).map_err(io_err(path))?;
        if pk.len() != PUBLIC_KEY_LEN {
            return Err(PpkError::BadFile {
                path: path.to_path_buf(),
                why: format!(
                    "not a mceliece8192128 public key: {} octets, expected {PUBLIC_KEY_LEN}",
                    pk.len()
                ),
            });
        }
        self.make_dirs()?;
        write_file(&dst, &pk, 0o644)
    }

    pub fn peer_key_imported(&self, peer: &str) -> bool {
        self.peer_path(peer, "pub").map(|p| p.is_file()).unwrap_or(false)
    }

    pub fn has_seed(&self, peer: &str) -> bool {
        self.peer_path(peer, "seed").map(|p| p.is_file()).unwrap_or(false)
    }

    /// The seed shared with `peer`, if there is one.
    pub fn seed(&self, peer: &str) -> Result<Option<Zeroizing<[u8; SEED_LEN]>>, PpkError> {
        let p = self.peer_path(peer, "seed")?;
        if !p.is_file() {
            return Ok(None);
        }
        let bytes = Zeroizing::new(fs::read(&p).map_err(io_err(&p))?);
        if bytes.len() != SEED_LEN {
            return Err(PpkError::BadFile {
                path: p,
                why: format!("a seed has {SEED_LEN} octets, this file {}", bytes.len()),
            });
        }
        let mut s = Zeroizing::new([0u8; SEED_LEN]);
        s.copy_from_slice(&bytes);
        Ok(Some(s))
    }

    /// Generates a fresh seed for `peer`, keeps it, and writes it encapsulated to the peer's
    /// imported public key to `out`. `me` is this router's device identifier.
    pub fn export_seed(&self, me: &str, peer: &str, out: &Path) -> Result<(), PpkError> {
        let pk_path = self.peer_path(peer, "pub")?;
        if !pk_path.is_file() {
            return Err(PpkError::NoPeerKey(peer.to_string()));
        }
        let pk_bytes = fs::read(&pk_path).map_err(io_err(&pk_path))?;
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        random_bytes(&mut seed[..])?;
        let file = seal_seed(me, peer, &pk_bytes, &seed).map_err(|error| PpkError::SeedFile {
            path: pk_path.clone(),
            error,
        })?;
        write_file(out, &file, 0o644)?;
        self.make_dirs()?;
        write_file(&self.peer_path(peer, "seed")?, &seed[..], 0o600)
    }

    /// Opens a seed file from `peer` (the master) addressed to `me` (this router's device
    /// identifier) and keeps the seed.
    pub fn import_seed(&self, me: &str, peer: &str, path: &Path) -> Result<(), PpkError> {
        let data = fs::read(path).map_err(io_err(path))?;
        let bad = |why: String| PpkError::BadFile {
            path: path.to_path_buf(),
            why,
        };
        let seed_err = |error: SeedError| PpkError::SeedFile {
            path: path.to_path_buf(),
            error,
        };
        let file = SeedFile::parse(&data).map_err(seed_err)?;
        if file.sender != peer.as_bytes() {
            return Err(bad(format!(
                "the seed is from '{}', not from peer {peer}",
                String::from_utf8_lossy(file.sender)
            )));
        }
        if file.recipient != me.as_bytes() {
            return Err(bad(format!(
                "the seed is for '{}', not for this router ({me})",
                String::from_utf8_lossy(file.recipient)
            )));
        }
        let pk = self.public_key()?;
        if digest::digest(&digest::SHA256, &pk).as_ref() != file.pk_sha256 {
            return Err(bad(
                "the seed was encrypted to another public key than this router's".to_string(),
            ));
        }
        let sk = self.secret_key()?;
        let seed = file.open(&sk).map_err(seed_err)?;
        self.make_dirs()?;
        write_file(&self.peer_path(peer, "seed")?, &seed[..], 0o600)
    }
}

fn boxed_array<const N: usize>() -> Result<Box<[u8; N]>, PpkError> {
    vec![0u8; N]
        .into_boxed_slice()
        .try_into()
        .map_err(|_| PpkError::KeyGen("allocation".to_string()))
}

/// Generates a mceliece8192128 key pair on a thread with a large stack; `progress` is called
/// about once a second with the time spent so far. Returns (public key, private key).
pub fn generate_keypair(
    progress: &mut dyn FnMut(Duration),
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), PpkError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("sks-keygen".to_string())
        .stack_size(KEYGEN_STACK)
        .spawn(move || {
            let mut rng = rand_core::OsRng;
            let (pk, sk) = keypair_boxed(&mut rng);
            let out = (pk.as_array().to_vec(), Zeroizing::new(sk.as_array().to_vec()));
            let _ = tx.send(out);
        })
        .map_err(|e| PpkError::KeyGen(format!("cannot start the key generation thread: {e}")))?;
    let start = Instant::now();
    let r = loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(r) => break r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => progress(start.elapsed()),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PpkError::KeyGen("the key generation thread failed".to_string()));
            }
        }
    };
    let _ = handle.join();
    Ok(r)
}

/// Why a seed file could not be sealed, parsed or opened (the text after the file's path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("not a mceliece8192128 public key: {0} octets")]
    PublicKeyLength(usize),
    #[error("identifiers have 1 to 255 octets")]
    IdentifierLength,
    /// The same text as [`PpkError::KeyGen`] of a failed allocation.
    #[error("key generation failed: allocation")]
    Alloc,
    /// The same text as [`PpkError::Rng`].
    #[error("the operating system's random number generator failed")]
    Rng,
    #[error("key derivation failed")]
    Kdf,
    #[error("sealing the seed failed")]
    Seal,
    #[error("not a seed file (bad magic)")]
    BadMagic,
    #[error("unsupported seed file version {version} suite {suite}")]
    Version { version: u8, suite: u8 },
    #[error("not a seed file (truncated)")]
    Truncated,
    #[error("not a seed file ({0} octets of trailing data)")]
    TrailingData(usize),
    #[error("the seed file failed its integrity check (changed, or not encrypted to this router's key)")]
    Integrity,
}

/// Builds a seed file: see [`SeedFile`].
pub fn seal_seed(
    sender: &str,
    recipient: &str,
    recipient_pk: &[u8],
    seed: &[u8; SEED_LEN],
) -> Result<Vec<u8>, SeedError> {
    if recipient_pk.len() != PUBLIC_KEY_LEN {
        return Err(SeedError::PublicKeyLength(recipient_pk.len()));
    }
    if sender.is_empty() || sender.len() > 255 || recipient.is_empty() || recipient.len() > 255 {
        return Err(SeedError::IdentifierLength);
    }
    let mut pk_box: Box<[u8; PUBLIC_KEY_LEN]> = boxed_array().map_err(|_| SeedError::Alloc)?;
    pk_box.copy_from_slice(recipient_pk);
    let pk = PublicKey::from(pk_box);
    let (ct, ss) = encapsulate_boxed(&pk, &mut rand_core::OsRng);
    let mut out = Vec::with_capacity(400);
    out.extend_from_slice(SEED_MAGIC);
    out.push(SEED_VERSION);
    out.push(SEED_SUITE);
    out.push(sender.len() as u8);
    out.extend_from_slice(sender.as_bytes());
    out.push(recipient.len() as u8);
    out.extend_from_slice(recipient.as_bytes());
    out.extend_from_slice(digest::digest(&digest::SHA256, recipient_pk).as_ref());
    out.extend_from_slice(ct.as_array());
    let aad_len = out.len();
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut nonce).map_err(|_| SeedError::Rng)?;
    let key = aead_key(ss.as_array())?;
    let mut sealed = seed.to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(&out[..aad_len]),
        &mut sealed,
    )
    .map_err(|_| SeedError::Seal)?;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn aead_key(shared_secret: &[u8]) -> Result<aead::LessSafeKey, SeedError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(shared_secret);
    let info = [HKDF_INFO];
    let okm = prk
        .expand(&info, &aead::AES_256_GCM)
        .map_err(|_| SeedError::Kdf)?;
    Ok(aead::LessSafeKey::new(aead::UnboundKey::from(okm)))
}

/// A parsed seed file (all integers are single octets):
///
/// ```text
/// "MSKSSEED" | version=1 | suite=1 | len | sender ID | len | recipient ID
/// | SHA-256(recipient public key) (32) | McEliece ciphertext (208)
/// | nonce (12) | AES-256-GCM(seed) (32) | tag (16)
/// ```
///
/// The AEAD key is HKDF-SHA256(salt "macsec SKS seed v1", KEM shared secret, info "macsec SKS
/// seed v1 AES-256-GCM"); the associated data is everything before the nonce.
pub struct SeedFile<'a> {
    pub sender: &'a [u8],
    pub recipient: &'a [u8],
    pub pk_sha256: &'a [u8],
    aad: &'a [u8],
    ct: &'a [u8],
    nonce: &'a [u8],
    sealed: &'a [u8],
}

impl<'a> SeedFile<'a> {
    pub fn parse(data: &'a [u8]) -> Result<SeedFile<'a>, SeedError> {
        if data.len() < 10 || &data[..8] != SEED_MAGIC {
            return Err(SeedError::BadMagic);
        }
        if data[8] != SEED_VERSION || data[9] != SEED_SUITE {
            return Err(SeedError::Version {
                version: data[8],
                suite: data[9],
            });
        }
        let mut at = 10;
        let mut take = |n: usize| -> Result<&'a [u8], SeedError> {
            let s = data.get(at..at + n).ok_or(SeedError::Truncated)?;
            at += n;
            Ok(s)
        };
        let sl = take(1)?[0] as usize;
        let sender = take(sl)?;
        let rl = take(1)?[0] as usize;
        let recipient = take(rl)?;
        let pk_sha256 = take(32)?;
        let ct = take(KEM_CT_LEN)?;
        let aad_end = 10 + 1 + sl + 1 + rl + 32 + KEM_CT_LEN;
        let nonce = take(NONCE_LEN)?;
        let sealed = take(SEED_LEN + TAG_LEN)?;
        if at != data.len() {
            return Err(SeedError::TrailingData(data.len() - at));
        }
        Ok(SeedFile {
            sender,
            recipient,
            pk_sha256,
            aad: &data[..aad_end],
            ct,
            nonce,
            sealed,
        })
    }

    /// Decapsulates and opens the seed; fails if anything in the file was changed.
    pub fn open(&self, sk: &SecretKey<'_>) -> Result<Zeroizing<[u8; SEED_LEN]>, SeedError> {
        let mut ct = [0u8; KEM_CT_LEN];
        ct.copy_from_slice(self.ct);
        let ss = decapsulate_boxed(&Ciphertext::from(ct), sk);
        let key = aead_key(ss.as_array())?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(self.nonce);
        let mut buf = Zeroizing::new(self.sealed.to_vec());
        let plain = key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(self.aad),
                &mut buf,
            )
            .map_err(|_| SeedError::Integrity)?;
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        seed.copy_from_slice(plain);
        Ok(seed)
    }
}

/// The local `sks profile` and peer that name `peer` as a `peer-identifier`.
pub fn find_peer<'c>(config: &'c Config, peer: &str) -> Result<(&'c SksProfile, &'c SksPeer), PpkError> {
    config
        .sks_profiles
        .values()
        .filter(|p| p.profile_type == SksProfileType::Local)
        .find_map(|p| p.peers.iter().find(|x| x.name == peer).map(|x| (p, x)))
        .ok_or_else(|| PpkError::NoPeer(peer.to_string()))
}

fn device_id(profile: &SksProfile) -> Result<&str, PpkError> {
    profile
        .device_identifier
        .as_deref()
        .ok_or_else(|| PpkError::Profile {
            profile: profile.name.clone(),
            why: "no device-identifier (sks profile NAME device-identifier ID)".to_string(),
        })
}

/// `crypto sks seed export mceliece PEER`: this router must be the master towards PEER (PEER is
/// configured without `master`). Returns the profile name.
pub fn seed_export(config: &Config, state: &SksState, peer: &str, out: &Path) -> Result<String, PpkError> {
    let (profile, p) = find_peer(config, peer)?;
    if p.master {
        return Err(PpkError::Profile {
            profile: profile.name.clone(),
            why: format!("peer {peer} is the master: it exports the seed, import it here with `crypto sks seed import mceliece {peer} PATH`"),
        });
    }
    state.export_seed(device_id(profile)?, peer, out)?;
    Ok(profile.name.clone())
}

/// `crypto sks seed import mceliece PEER PATH`: PEER must be configured as `master`.
pub fn seed_import(config: &Config, state: &SksState, peer: &str, path: &Path) -> Result<String, PpkError> {
    let (profile, p) = find_peer(config, peer)?;
    if !p.master {
        return Err(PpkError::Profile {
            profile: profile.name.clone(),
            why: format!("peer {peer} is not the master (peer-identifier {peer} master): this router exports the seed to it"),
        });
    }
    state.import_seed(device_id(profile)?, peer, path)?;
    Ok(profile.name.clone())
}

/// The PPK source of a local `sks profile`: the seed shared with its (first seeded) peer.
pub struct SksSource {
    profile: String,
    peers: Vec<String>,
    state: SksState,
}

impl SksSource {
    pub fn new(profile: &SksProfile, state_dir: &Path) -> Result<SksSource, PpkError> {
        if profile.peers.is_empty() {
            return Err(PpkError::Profile {
                profile: profile.name.clone(),
                why: "no peer-identifier configured".to_string(),
            });
        }
        for p in &profile.peers {
            check_name("peer name", &p.name)?;
        }
        Ok(SksSource {
            profile: profile.name.clone(),
            peers: profile.peers.iter().map(|p| p.name.clone()).collect(),
            state: SksState::new(state_dir),
        })
    }

    fn seed(&self) -> Result<Zeroizing<[u8; SEED_LEN]>, PpkError> {
        for p in &self.peers {
            if let Some(s) = self.state.seed(p)? {
                return Ok(s);
            }
        }
        Err(PpkError::NoSeed {
            profile: self.profile.clone(),
            peer: self.peers.join(", "),
        })
    }
}

impl PpkSource for SksSource {
    fn new_key(&mut self) -> Result<(KeyId, Ppk), PpkError> {
        let seed = self.seed()?;
        let id = KeyId::random(SKS_KEY_ID_LEN)?;
        let ppk = derive_sks_ppk(&seed, &id)?;
        Ok((id, ppk))
    }
    fn key_by_id(&mut self, id: &KeyId) -> Result<Ppk, PpkError> {
        let seed = self.seed()?;
        derive_sks_ppk(&seed, id)
    }
}
