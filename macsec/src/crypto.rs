//! AEAD backends for the SecY. One trait, [`AeadKey`], sealed and opened in place with the ICV
//! detached, one frame at a time or a burst at once; four implementations: `ring` (the default),
//! RustCrypto `aes-gcm` (pure Rust), with the `ipsec-mb` feature (default) intel-ipsec-mb's
//! direct AES-GCM API through `dpdk-sys`, and on x86_64 our multi-buffer AES-GCM (`mbgcm`:
//! several frames' AES and GHASH interleaved, VAES/VPCLMULQDQ on zmm or ymm, or AES-NI), which
//! [`Backend::best`] picks where it is the fastest (see there).
//!
//! A key object is built once per SA (when the SA is installed) and is used from the packet path
//! without allocation. Key bytes are never printed: the `Debug` impls show only the backend.

use core::fmt;
use core::str::FromStr;
use crossbeam_utils::CachePadded;

/// Octets of the GCM ICV for every MACsec cipher suite.
pub const ICV_LEN: usize = 16;
/// Octets of the GCM IV for every MACsec cipher suite.
pub const IV_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("key length {0} is not 16 or 32 octets")]
    KeyLength(usize),
    #[error("ICV verification failed")]
    Verify,
    #[error("AEAD input too long")]
    TooLong,
    #[error("crypto backend {0} is not available (not compiled in, or failed to initialise)")]
    Unavailable(Backend),
}

/// One frame of a batch to seal: `text` is encrypted in place and the ICV written to `tag`.
pub struct SealJob<'a> {
    pub iv: [u8; IV_LEN],
    pub aad: &'a [u8],
    pub text: &'a mut [u8],
    pub tag: &'a mut [u8; ICV_LEN],
}

/// One frame of a batch to open: `tag` is the received ICV; `text` is decrypted in place (its
/// contents unspecified when the ICV does not verify).
pub struct OpenJob<'a> {
    pub iv: [u8; IV_LEN],
    pub aad: &'a [u8],
    pub text: &'a mut [u8],
    pub tag: &'a [u8; ICV_LEN],
}

/// An AES-GCM key ready for the packet path.
pub trait AeadKey: Send + Sync {
    /// Encrypts `in_out` in place and writes the ICV over `aad` and the ciphertext to `icv`
    /// (straight into the frame: no copy of the tag through the stack).
    fn seal(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &mut [u8; ICV_LEN],
    ) -> Result<(), CryptoError>;
    /// Verifies `icv` over `aad` and `in_out`, then decrypts `in_out` in place. On failure the
    /// contents of `in_out` are unspecified and must not be delivered.
    fn open(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &[u8; ICV_LEN],
    ) -> Result<(), CryptoError>;
    /// The backend that made this key.
    fn backend(&self) -> Backend;
    /// Seals every job; `ok[i]` says whether job i was sealed (a job that was not must not be
    /// sent: its text may be clear). `ok.len() == jobs.len()`. By default one [`seal`](Self::seal)
    /// per job.
    fn seal_batch(&self, jobs: &mut [SealJob<'_>], ok: &mut [bool]) {
        for (j, ok) in jobs.iter_mut().zip(ok.iter_mut()) {
            *ok = self.seal(&j.iv, j.aad, j.text, j.tag).is_ok();
        }
    }
    /// Opens every job; `ok[i]` says whether job i verified. By default one
    /// [`open`](Self::open) per job.
    fn open_batch(&self, jobs: &mut [OpenJob<'_>], ok: &mut [bool]) {
        for (j, ok) in jobs.iter_mut().zip(ok.iter_mut()) {
            *ok = self.open(&j.iv, j.aad, j.text, j.tag).is_ok();
        }
    }
}

impl<K: AeadKey> AeadKey for CachePadded<K> {
    #[inline]
    fn seal(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &mut [u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        (**self).seal(iv, aad, in_out, icv)
    }
    #[inline]
    fn open(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &[u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        (**self).open(iv, aad, in_out, icv)
    }
    fn backend(&self) -> Backend {
        (**self).backend()
    }
    #[inline]
    fn seal_batch(&self, jobs: &mut [SealJob<'_>], ok: &mut [bool]) {
        (**self).seal_batch(jobs, ok)
    }
    #[inline]
    fn open_batch(&self, jobs: &mut [OpenJob<'_>], ok: &mut [bool]) {
        (**self).open_batch(jobs, ok)
    }
}

/// The available AEAD implementations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Backend {
    /// `ring` 0.17 (BoringSSL's assembly: AES-NI + PCLMULQDQ/AVX).
    #[default]
    Ring,
    /// RustCrypto `aes-gcm` 0.11 (pure Rust with runtime-detected AES-NI/CLMUL intrinsics).
    RustCrypto,
    /// intel-ipsec-mb's direct AES-GCM API (the VAES/AVX-512, AVX2, AVX or SSE code, chosen at
    /// runtime by `init_mb_mgr_auto`; its AVX2 code when `MACSEC_MB_PATH` caps our paths below
    /// vaes512, see `mbgcm::Path::cap`), through `dpdk-sys`. Feature `ipsec-mb`.
    #[cfg(feature = "ipsec-mb")]
    IpsecMb,
    /// Our multi-buffer AES-GCM (`mbgcm`, x86_64): a burst's frames interleaved, on the best of
    /// VAES + VPCLMULQDQ on zmm (AVX-512) or ymm (AVX2), or AES-NI + PCLMULQDQ, chosen at run
    /// time. Frames of the sizes where intel-ipsec-mb was measured faster (larger frames, and on
    /// the Vaes512 path some mid-sized ones) go to it one by one where it is available, per path
    /// and direction ([`MbKey::routes`]).
    Mb,
}

impl Backend {
    /// Every backend compiled in. With the `ipsec-mb` feature this includes
    /// [`Backend::IpsecMb`] whether or not it initialises on this machine
    /// ([`Backend::is_available`]).
    #[cfg(feature = "ipsec-mb")]
    pub const ALL: [Backend; 4] = [Backend::Ring, Backend::RustCrypto, Backend::IpsecMb, Backend::Mb];
    /// Every backend compiled in.
    #[cfg(not(feature = "ipsec-mb"))]
    pub const ALL: [Backend; 3] = [Backend::Ring, Backend::RustCrypto, Backend::Mb];

    /// [`Backend::ALL`] as a slice (its length depends on the features).
    pub fn all() -> &'static [Backend] {
        &Self::ALL
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Ring => "ring",
            Backend::RustCrypto => "rustcrypto",
            #[cfg(feature = "ipsec-mb")]
            Backend::IpsecMb => "ipsec-mb",
            Backend::Mb => "mb",
        }
    }

    /// Whether keys can be made with this backend on this machine (for ipsec-mb: its manager
    /// initialised; checked once, then cached).
    pub fn is_available(self) -> bool {
        match self {
            Backend::Ring | Backend::RustCrypto => true,
            #[cfg(feature = "ipsec-mb")]
            Backend::IpsecMb => ipsec_mb::manager().is_some(),
            Backend::Mb => mb_path().is_some(),
        }
    }

    /// The fastest backend available here, by measurement: [`Backend::Mb`] where the CPU has
    /// VAES and VPCLMULQDQ on zmm (Intel Ice Lake and later, AMD Zen 4 and later: its batches
    /// beat intel-ipsec-mb's single-buffer GCM at small frames, and it hands large ones to
    /// intel-ipsec-mb) or on ymm (AMD Zen 3, Intel Alder Lake: on an Ice Lake with the path
    /// capped at vaes256, `mb` beat intel-ipsec-mb 1.3's AVX2 code, which has no VAES, by
    /// 30-38% at 1500 octets end to end and was level at 64; it beats ring at every size); else
    /// [`Backend::IpsecMb`] when compiled in and its manager initialises (capped at aesni, as on
    /// AMD Zen 2, `mb` was level with it end to end), else [`Backend::Ring`].
    /// `Default` stays `Ring`: the configuration chooses.
    pub fn best() -> Backend {
        #[cfg(target_arch = "x86_64")]
        if matches!(mb_path(), Some(mbgcm::Path::Vaes512 | mbgcm::Path::Vaes256)) {
            return Backend::Mb;
        }
        #[cfg(feature = "ipsec-mb")]
        if Backend::IpsecMb.is_available() {
            return Backend::IpsecMb;
        }
        Backend::Ring
    }

    /// What the backend runs on here, for logs: e.g. "intel-ipsec-mb 1.3.0 (avx512)", "mb
    /// (vaes512)"; None when it is not available.
    pub fn implementation(self) -> Option<String> {
        match self {
            Backend::Ring => Some("ring".into()),
            Backend::RustCrypto => Some("rustcrypto aes-gcm".into()),
            #[cfg(feature = "ipsec-mb")]
            Backend::IpsecMb => IpsecMbKey::implementation(),
            Backend::Mb => mb_path().map(|p| {
                #[cfg(feature = "ipsec-mb")]
                let big = if !Backend::IpsecMb.is_available() {
                    ""
                } else if MbKey::routes(p, mbgcm::Core::here()) == (Ours::ALL, Ours::ALL) {
                    ", batches of one or two on intel-ipsec-mb"
                } else {
                    ", some sizes on intel-ipsec-mb"
                };
                #[cfg(not(feature = "ipsec-mb"))]
                let big = "";
                format!("mb ({}{big})", p.name())
            }),
        }
    }

    /// Builds a key for this backend: 16 octets for GCM-AES-(XPN-)128, 32 for -256.
    /// A key of this backend, in cache lines of its own: lcores read it for every frame, so no
    /// other data written by another lcore may share its lines.
    pub fn new_key(self, key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError> {
        match self {
            Backend::Ring => Ok(Box::new(CachePadded::new(RingKey::new(key)?))),
            Backend::RustCrypto => Ok(Box::new(CachePadded::new(RustCryptoKey::new(key)?))),
            #[cfg(feature = "ipsec-mb")]
            Backend::IpsecMb => Ok(Box::new(CachePadded::new(IpsecMbKey::new(key)?))),
            Backend::Mb => Ok(Box::new(CachePadded::new(MbKey::new(key)?))),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend name [`Backend`]'s `FromStr` refuses (the name as given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendParseError {
    #[error("crypto backend '{0}' is not compiled in (dataplane feature ipsec-mb)")]
    NotCompiledIn(String),
    #[error("unknown crypto backend '{0}' (expected ring, rustcrypto, ipsec-mb or mb)")]
    Unknown(String),
}

impl FromStr for Backend {
    type Err = BackendParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ring" => Ok(Backend::Ring),
            "rustcrypto" | "aes-gcm" => Ok(Backend::RustCrypto),
            #[cfg(feature = "ipsec-mb")]
            "ipsec-mb" | "ipsecmb" => Ok(Backend::IpsecMb),
            "mb" | "multi-buffer" => Ok(Backend::Mb),
            #[cfg(not(feature = "ipsec-mb"))]
            "ipsec-mb" | "ipsecmb" => Err(BackendParseError::NotCompiledIn(s.to_string())),
            _ => Err(BackendParseError::Unknown(s.to_string())),
        }
    }
}

/// `ring`'s AES-GCM. ring keeps its own key schedule; it is not zeroized by ring on drop
/// (ring offers no hook for it). The SAK bytes we hold are zeroized by the SA.
pub struct RingKey {
    key: ring::aead::LessSafeKey,
}

impl RingKey {
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let alg = match key.len() {
            16 => &ring::aead::AES_128_GCM,
            32 => &ring::aead::AES_256_GCM,
            n => return Err(CryptoError::KeyLength(n)),
        };
        let unbound = ring::aead::UnboundKey::new(alg, key).map_err(|_| CryptoError::KeyLength(key.len()))?;
        Ok(RingKey {
            key: ring::aead::LessSafeKey::new(unbound),
        })
    }
}

impl AeadKey for RingKey {
    #[inline]
    fn seal(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &mut [u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*iv);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), in_out)
            .map_err(|_| CryptoError::TooLong)?;
        icv.copy_from_slice(tag.as_ref());
        Ok(())
    }

    #[inline]
    fn open(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &[u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*iv);
        let tag = ring::aead::Tag::from(*icv);
        self.key
            .open_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), tag, in_out, 0..)
            .map(|_| ())
            .map_err(|_| CryptoError::Verify)
    }

    fn backend(&self) -> Backend {
        Backend::Ring
    }
}

impl fmt::Debug for RingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RingKey(***)")
    }
}

enum RcKey {
    Aes128(aes_gcm::Aes128Gcm),
    Aes256(aes_gcm::Aes256Gcm),
}

/// RustCrypto's `aes-gcm` 0.11 (built with its `zeroize` feature: the key schedule is wiped on drop).
pub struct RustCryptoKey {
    key: RcKey,
}

impl RustCryptoKey {
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        use aes_gcm::KeyInit;
        let key = match key.len() {
            16 => RcKey::Aes128(
                aes_gcm::Aes128Gcm::new_from_slice(key).map_err(|_| CryptoError::KeyLength(16))?,
            ),
            32 => RcKey::Aes256(
                aes_gcm::Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::KeyLength(32))?,
            ),
            n => return Err(CryptoError::KeyLength(n)),
        };
        Ok(RustCryptoKey { key })
    }
}

impl AeadKey for RustCryptoKey {
    #[inline]
    fn seal(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &mut [u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        use aes_gcm::AeadInOut;
        let nonce = aes_gcm::Nonce::from(*iv);
        let tag = match &self.key {
            RcKey::Aes128(k) => k.encrypt_inout_detached(&nonce, aad, in_out.into()),
            RcKey::Aes256(k) => k.encrypt_inout_detached(&nonce, aad, in_out.into()),
        }
        .map_err(|_| CryptoError::TooLong)?;
        icv.copy_from_slice(tag.as_slice());
        Ok(())
    }

    #[inline]
    fn open(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &[u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        use aes_gcm::AeadInOut;
        let nonce = aes_gcm::Nonce::from(*iv);
        let tag = aes_gcm::Tag::from(*icv);
        match &self.key {
            RcKey::Aes128(k) => k.decrypt_inout_detached(&nonce, aad, in_out.into(), &tag),
            RcKey::Aes256(k) => k.decrypt_inout_detached(&nonce, aad, in_out.into(), &tag),
        }
        .map_err(|_| CryptoError::Verify)
    }

    fn backend(&self) -> Backend {
        Backend::RustCrypto
    }
}

impl fmt::Debug for RustCryptoKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RustCryptoKey(***)")
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub mod mbgcm;

/// The multi-buffer AES-GCM's code path here (None: not x86_64, or no AES-NI + PCLMULQDQ).
#[cfg(target_arch = "x86_64")]
fn mb_path() -> Option<mbgcm::Path> {
    mbgcm::Path::best()
}

#[cfg(not(target_arch = "x86_64"))]
fn mb_path() -> Option<()> {
    None
}

/// The texts (by length in octets) that [`MbKey`] gives our kernels in one direction on one
/// path: every length up to `max` except `skip.0 ..= skip.1`; intel-ipsec-mb takes the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ours {
    pub max: usize,
    /// First and last length of a range left to intel-ipsec-mb (first > last: none).
    pub skip: (usize, usize),
}

impl Ours {
    /// Every text.
    pub const ALL: Ours = Ours::upto(usize::MAX);

    /// Texts of at most `max` octets.
    pub const fn upto(max: usize) -> Ours {
        Ours { max, skip: (1, 0) }
    }

    /// These, but not texts of `first ..= last` octets.
    pub const fn except(self, first: usize, last: usize) -> Ours {
        Ours {
            skip: (first, last),
            ..self
        }
    }

    /// Whether a text of `len` octets goes to our kernels.
    pub const fn takes(self, len: usize) -> bool {
        len <= self.max && !(self.skip.0 <= len && len <= self.skip.1)
    }
}

/// [`Backend::Mb`]'s key: our multi-buffer AES-GCM for batches of at least
/// [`MbKey::MIN_BATCH`] frames whose text [`MbKey::routes`] gives it (per path and
/// direction), and intel-ipsec-mb's single-buffer GCM (where available) for the others and for
/// one or two frames alone, where its code is faster. The routes come from
/// `mbgcm::measure_frames` (TSC ticks a frame in batches of 64, in the dataplane's memory layout,
/// every tag verifying, ours against intel-ipsec-mb in the same process) on two Intel Xeons (Ice
/// Lake, and a Sapphire Rapids-class core for the Vaes512 routes of 2026-12-07), each path
/// against the intel-ipsec-mb code a CPU with that path's features gets ([`ImbArch`]), and from
/// end-to-end runs of the dataplane (`scripts/ab-dataplane.py`); the README's Performance section
/// has the tables. With 52 octets of text, one frame alone took 60
/// ns through intel-ipsec-mb against 77 through ours, two were level, and from three on ours is
/// faster (42 against 44 ns a frame at three).
pub struct MbKey {
    #[cfg(target_arch = "x86_64")]
    mb: mbgcm::MbGcmKey,
    #[cfg(feature = "ipsec-mb")]
    big: Option<IpsecMbKey>,
}

impl MbKey {
    /// The texts our kernels seal, and open, on `path` when intel-ipsec-mb is available; it
    /// takes the others. Ours against it in `measure_frames` (AES-128, our time over its time):
    /// * Vaes512 (against its AVX-512 code). Bursts whose frames all have at most 64 octets of
    ///   AAD and 128 of text (`batch_tiny_z`, later on 2026-12-07, the AMX Xeon): seal 0.57 and
    ///   open 0.54 at 52 octets, 0.66-0.69 and 0.63-0.66 at 88 and 128. Before it, on a Xeon
    ///   with AMX (Sapphire Rapids class, 2026-12-07): seal 0.78-0.99 up to 128 octets of text, 1.03-1.08 from 144 to 256 (the
    ///   small-frame groups with three or four zmm a frame), 1.08-1.14 from 512; open 0.77-0.94
    ///   up to 128, 1.06-1.14 from 144 to 256, 0.93 at 288, 0.87 at 512, 1.01-1.06 at 1024 and
    ///   1488. On the Ice Lake Xeon: seal 0.81-0.95 up to 128, level at 256, 1.10-1.26 from
    ///   512; open 0.80-0.92 up to 128, 1.03-1.09 at 256, 1024 and 1488. End to end
    ///   (`scripts/ab-dataplane.py`, five rounds, the AMX Xeon): the seal limit of 128 (was 256)
    ///   made protect 8-11% faster at 200 and 256 octets (GCM-AES-128; 5% GCM-AES-XPN-256),
    ///   leaving 129-256 octets of text to intel-ipsec-mb when opening made validate 11-12%
    ///   faster at 200 and 256 octets; IMIX and 512 octets did not move. On the Ice Lake Xeon
    ///   the seal limit of 256 (was 512) had made protect 8-13% faster at 400 and 512 octets;
    ///   an open limit of 1024 made validate 4% faster at 1500 octets but 4-5% slower for IMIX
    ///   (bursts of mixed sizes), so it stays 2048.
    /// * AesNi (against its AVX2 code, what a CPU without AVX-512 gets): seal 0.94-1.08, open
    ///   0.87-1.02 from 52 to 2048 octets: level; the seal is slower beyond 256.
    /// * Vaes256 (against its AVX2 code): 0.61-0.83 from 256 octets of text, level below (where
    ///   this path runs the xmm kernel), so every frame.
    /// * Vaes512 on AMD Zen 5 ([`mbgcm::Core::Zen5`], an EPYC 9005, 2026-12-08, the minimum of
    ///   three sweeps): ours is faster at every length, seal and open: 0.39-0.40 at 52 octets
    ///   of text, 0.50-0.52 at 128, 0.86-0.90 from 160 to 256, 0.68-0.82 at 288 and 528,
    ///   0.73-0.81 at 1024, 0.85-0.89 at 1488, 0.84-0.90 at 2048, 0.88-0.93 at 3988 and
    ///   0.95-0.99 at 8988: so every frame.
    #[cfg(target_arch = "x86_64")]
    pub const fn routes(path: mbgcm::Path, core: mbgcm::Core) -> (Ours, Ours) {
        match (path, core) {
            (mbgcm::Path::AesNi, _) => (Ours::upto(256), Ours::upto(2048)),
            (mbgcm::Path::Vaes256, _) | (mbgcm::Path::Vaes512, mbgcm::Core::Zen5) => (Ours::ALL, Ours::ALL),
            (mbgcm::Path::Vaes512, mbgcm::Core::Other) => {
                (Ours::upto(128), Ours::upto(2048).except(129, 256))
            }
        }
    }
    /// Fewer small frames than this in a batch go to intel-ipsec-mb too, when it is available:
    /// the multi-buffer kernel's setup (counters, group buffers and their wipe) is spread over
    /// the frames of a batch, and one or two do not pay for it.
    pub const MIN_BATCH: usize = 3;

    #[cfg(target_arch = "x86_64")]
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        if !matches!(key.len(), 16 | 32) {
            return Err(CryptoError::KeyLength(key.len()));
        }
        let mb = mbgcm::MbGcmKey::new(key).ok_or(CryptoError::Unavailable(Backend::Mb))?;
        Ok(MbKey {
            mb,
            #[cfg(feature = "ipsec-mb")]
            big: IpsecMbKey::new(key).ok(),
        })
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn new(_key: &[u8]) -> Result<Self, CryptoError> {
        Err(CryptoError::Unavailable(Backend::Mb))
    }

    /// The texts our kernels take in this direction ([`Self::routes`]); intel-ipsec-mb takes
    /// the others.
    #[cfg(feature = "ipsec-mb")]
    fn route(&self, seal: bool) -> Ours {
        let (s, o) = Self::routes(self.mb.path(), self.mb.core());
        if seal {
            s
        } else {
            o
        }
    }

    /// Runs `small` over the jobs whose text length `ours` takes and `large`
    /// (one job at a time) over the others, in chunks of 64: each chunk is partitioned in place
    /// (ours first), run, and put back in its order, `ok` with it, so `ok[i]` is job i's
    /// as passed. A chunk with fewer than [`Self::MIN_BATCH`] jobs for us goes to `large` whole.
    #[cfg(feature = "ipsec-mb")]
    fn split_run<J>(
        jobs: &mut [J],
        ok: &mut [bool],
        ours: Ours,
        text_len: impl Fn(&J) -> usize,
        mut small: impl FnMut(&mut [J], &mut [bool]),
        mut large: impl FnMut(&mut J) -> bool,
    ) {
        for (jobs, ok) in jobs.chunks_mut(64).zip(ok.chunks_mut(64)) {
            let mut swaps = [(0u8, 0u8); 64];
            let mut n_swaps = 0;
            let mut k = 0;
            for i in 0..jobs.len() {
                if ours.takes(text_len(&jobs[i])) {
                    if i != k {
                        jobs.swap(i, k);
                        swaps[n_swaps] = (i as u8, k as u8);
                        n_swaps += 1;
                    }
                    k += 1;
                }
            }
            // Too few small jobs to pay for the multi-buffer setup: all of them go to `large`.
            let k = if k < Self::MIN_BATCH { 0 } else { k };
            let (s, l) = jobs.split_at_mut(k);
            let (so, lo) = ok.split_at_mut(k);
            if !s.is_empty() {
                small(s, so);
            }
            for (j, ok) in l.iter_mut().zip(lo.iter_mut()) {
                *ok = large(j);
            }
            for &(i, k) in swaps[..n_swaps].iter().rev() {
                jobs.swap(usize::from(i), usize::from(k));
                ok.swap(usize::from(i), usize::from(k));
            }
        }
    }
}

impl fmt::Debug for MbKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MbKey(***)")
    }
}

#[cfg(target_arch = "x86_64")]
impl AeadKey for MbKey {
    fn seal(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &mut [u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        // One frame alone: intel-ipsec-mb's, at any size (see MIN_BATCH).
        #[cfg(feature = "ipsec-mb")]
        if let Some(big) = &self.big {
            return big.seal(iv, aad, in_out, icv);
        }
        self.mb.seal(iv, aad, in_out, icv);
        Ok(())
    }

    fn open(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &[u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        #[cfg(feature = "ipsec-mb")]
        if let Some(big) = &self.big {
            return big.open(iv, aad, in_out, icv);
        }
        if self.mb.open(iv, aad, in_out, icv) {
            Ok(())
        } else {
            Err(CryptoError::Verify)
        }
    }

    fn backend(&self) -> Backend {
        Backend::Mb
    }

    fn seal_batch(&self, jobs: &mut [SealJob<'_>], ok: &mut [bool]) {
        #[cfg(feature = "ipsec-mb")]
        if let Some(big) = &self.big {
            return Self::split_run(
                jobs,
                ok,
                self.route(true),
                |j| j.text.len(),
                |s, ok| {
                    self.mb.seal_batch(s);
                    ok.fill(true);
                },
                |j| big.seal(&j.iv, j.aad, j.text, j.tag).is_ok(),
            );
        }
        self.mb.seal_batch(jobs);
        ok.fill(true);
    }

    fn open_batch(&self, jobs: &mut [OpenJob<'_>], ok: &mut [bool]) {
        #[cfg(feature = "ipsec-mb")]
        if let Some(big) = &self.big {
            return Self::split_run(
                jobs,
                ok,
                self.route(false),
                |j| j.text.len(),
                |s, ok| self.mb.open_batch(s, ok),
                |j| big.open(&j.iv, j.aad, j.text, j.tag).is_ok(),
            );
        }
        self.mb.open_batch(jobs, ok);
    }
}

#[cfg(not(target_arch = "x86_64"))]
impl AeadKey for MbKey {
    fn seal(
        &self,
        _: &[u8; IV_LEN],
        _: &[u8],
        _: &mut [u8],
        _: &mut [u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        Err(CryptoError::Unavailable(Backend::Mb))
    }
    fn open(&self, _: &[u8; IV_LEN], _: &[u8], _: &mut [u8], _: &[u8; ICV_LEN]) -> Result<(), CryptoError> {
        Err(CryptoError::Unavailable(Backend::Mb))
    }
    fn backend(&self) -> Backend {
        Backend::Mb
    }
}

#[cfg(feature = "ipsec-mb")]
pub use ipsec_mb::{ImbArch, IpsecMbKey};

#[cfg(feature = "ipsec-mb")]
#[allow(unsafe_code)]
mod ipsec_mb {
    use super::{AeadKey, Backend, CryptoError, ICV_LEN, IV_LEN};
    use core::ffi::{c_void, CStr};
    use core::fmt;
    use core::ptr::NonNull;
    use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
    use std::sync::OnceLock;
    use zeroize::Zeroize;

    /// An `IMB_MGR`: the process-wide one (dpdk-sys `shim_imb_mgr`) or one arch's
    /// (`shim_imb_mgr_for_arch`), each kept for the life of the process.
    #[derive(Clone, Copy)]
    pub(super) struct Mgr(NonNull<c_void>);

    // SAFETY: the manager is initialised once (pthread_once in the shim) and from then on only
    // read: the direct GCM functions it points to keep their state in the caller's key data and a
    // context on the caller's stack, so it may be shared by every thread.
    unsafe impl Send for Mgr {}
    // SAFETY: as above.
    unsafe impl Sync for Mgr {}

    impl Mgr {
        /// The `IMB_ARCH` whose code this manager runs (its `used_arch`).
        fn arch(self) -> i32 {
            // SAFETY: a live IMB_MGR (kept for the process); the shim only reads it.
            unsafe { dpdk_sys::shim_imb_mgr_used_arch(self.0.as_ptr()) }
        }
    }

    /// The manager keys use, or `None` if intel-ipsec-mb is a stub or failed to initialise: the
    /// shared one (`init_mb_mgr_auto`'s choice), or the AVX2 code's when `MACSEC_MB_PATH` caps
    /// our paths below `vaes512` ([`super::mbgcm::Path::cap`]: a CPU without AVX-512, where
    /// intel-ipsec-mb picks AVX2).
    pub(super) fn manager() -> Option<Mgr> {
        static MGR: OnceLock<Option<Mgr>> = OnceLock::new();
        *MGR.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            if super::mbgcm::Path::cap().is_some_and(|c| c < super::mbgcm::Path::Vaes512) {
                if let Some(m) = ImbArch::Avx2.manager() {
                    return Some(m);
                }
            }
            // SAFETY: thread-safe one-time initialisation in the shim; returns NULL on failure.
            NonNull::new(unsafe { dpdk_sys::shim_imb_mgr() }).map(Mgr)
        })
    }

    /// One of intel-ipsec-mb's code sets (its `IMB_ARCH`), for [`IpsecMbKey::with_arch`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum ImbArch {
        /// AES-NI + PCLMULQDQ on xmm, SSE encoding.
        Sse = 2,
        /// The same with AVX encoding.
        Avx = 3,
        /// AES-NI + PCLMULQDQ on xmm with AVX2 (its "gen4" GCM): what intel-ipsec-mb 1.3 runs
        /// on a CPU without AVX-512, such as AMD Zen 2 and Zen 3.
        Avx2 = 4,
        /// AVX-512, with VAES + VPCLMULQDQ on zmm where the CPU has them.
        Avx512 = 5,
    }

    impl ImbArch {
        pub const ALL: [ImbArch; 4] = [ImbArch::Sse, ImbArch::Avx, ImbArch::Avx2, ImbArch::Avx512];

        pub fn name(self) -> &'static str {
            match self {
                ImbArch::Sse => "sse",
                ImbArch::Avx => "avx",
                ImbArch::Avx2 => "avx2",
                ImbArch::Avx512 => "avx512",
            }
        }

        /// A manager for this arch, or `None` if this CPU lacks it.
        fn manager(self) -> Option<Mgr> {
            // SAFETY: the shim makes each arch's manager once, under a lock, and keeps it; it
            // returns NULL for an arch this CPU lacks.
            NonNull::new(unsafe { dpdk_sys::shim_imb_mgr_for_arch(self as i32) }).map(Mgr)
        }
    }

    /// intel-ipsec-mb's AES-GCM with its precomputed key data (round keys and GHASH key powers)
    /// in a 64-aligned heap block of its own, zeroized on drop. Sealing and opening go through
    /// the C shim straight to the library's direct API (no job queue): synchronous, in place.
    pub struct IpsecMbKey {
        mgr: Mgr,
        data: NonNull<u8>,
        layout: Layout,
        key_len: usize,
    }

    // SAFETY: `data` is written only by `new` (before the key is shared) and `drop`; seal and open
    // read it. The manager is shareable (see `Mgr`).
    unsafe impl Send for IpsecMbKey {}
    // SAFETY: as above: `&self` methods never write the key data.
    unsafe impl Sync for IpsecMbKey {}

    impl IpsecMbKey {
        /// The key on the code set `init_mb_mgr_auto` chose for this CPU (the shared manager).
        pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
            Self::with_mgr(key, manager())
        }

        /// The key on one code set, for measuring and testing what intel-ipsec-mb runs on CPUs
        /// with fewer features than this one. `Unavailable` if this CPU lacks the arch.
        pub fn with_arch(key: &[u8], arch: ImbArch) -> Result<Self, CryptoError> {
            Self::with_mgr(key, arch.manager())
        }

        fn with_mgr(key: &[u8], mgr: Option<Mgr>) -> Result<Self, CryptoError> {
            if !matches!(key.len(), 16 | 32) {
                return Err(CryptoError::KeyLength(key.len()));
            }
            let mgr = mgr.ok_or(CryptoError::Unavailable(Backend::IpsecMb))?;
            // SAFETY: pure functions returning constants.
            let (size, align) = unsafe {
                (
                    dpdk_sys::shim_imb_gcm_key_data_size(),
                    dpdk_sys::shim_imb_gcm_key_data_align(),
                )
            };
            let layout = Layout::from_size_align(size, align)
                .map_err(|_| CryptoError::Unavailable(Backend::IpsecMb))?;
            // SAFETY: the layout has a non-zero size (struct gcm_key_data, >= 1008 octets).
            let data =
                NonNull::new(unsafe { alloc_zeroed(layout) }).unwrap_or_else(|| handle_alloc_error(layout));
            // Owned from here: dropped (zeroized, freed) on the error path too.
            let k = IpsecMbKey {
                mgr,
                data,
                layout,
                key_len: key.len(),
            };
            // SAFETY: `data` is `size` writable octets aligned as the shim asks; `key` is
            // `key.len()` readable octets.
            let rc = unsafe {
                dpdk_sys::shim_imb_gcm_pre(mgr.0.as_ptr(), key.as_ptr(), key.len(), data.as_ptr().cast())
            };
            if rc != 0 {
                return Err(CryptoError::Unavailable(Backend::IpsecMb));
            }
            Ok(k)
        }

        /// "intel-ipsec-mb VERSION (ARCH)" for logs, or `None` if it is not available.
        pub fn implementation() -> Option<String> {
            let arch = manager()?.arch();
            // SAFETY: a static NUL-terminated string.
            let version = unsafe { CStr::from_ptr(dpdk_sys::shim_imb_version()) };
            let arch = match arch {
                1 => "no-aesni",
                a => ImbArch::ALL
                    .iter()
                    .find(|x| **x as i32 == a)
                    .map_or("unknown", |x| x.name()),
            };
            Some(format!("intel-ipsec-mb {} ({arch})", version.to_string_lossy()))
        }
    }

    impl AeadKey for IpsecMbKey {
        #[inline]
        fn seal(
            &self,
            iv: &[u8; IV_LEN],
            aad: &[u8],
            in_out: &mut [u8],
            icv: &mut [u8; ICV_LEN],
        ) -> Result<(), CryptoError> {
            // SAFETY: the key data was expanded for `key_len` by `new`; every pointer covers the
            // length passed with it (the IV 12 octets, the ICV 16).
            let rc = unsafe {
                dpdk_sys::shim_imb_gcm_seal(
                    self.mgr.0.as_ptr(),
                    self.key_len,
                    self.data.as_ptr().cast(),
                    iv.as_ptr(),
                    aad.as_ptr(),
                    aad.len(),
                    in_out.as_mut_ptr(),
                    in_out.len(),
                    icv.as_mut_ptr(),
                )
            };
            if rc == 0 {
                Ok(())
            } else {
                Err(CryptoError::TooLong)
            }
        }

        /// Decrypts in place and compares the computed tag with `icv` in constant time (in the
        /// shim); on a mismatch `in_out` is zeroed.
        #[inline]
        fn open(
            &self,
            iv: &[u8; IV_LEN],
            aad: &[u8],
            in_out: &mut [u8],
            icv: &[u8; ICV_LEN],
        ) -> Result<(), CryptoError> {
            // SAFETY: as in `seal`.
            let rc = unsafe {
                dpdk_sys::shim_imb_gcm_open(
                    self.mgr.0.as_ptr(),
                    self.key_len,
                    self.data.as_ptr().cast(),
                    iv.as_ptr(),
                    aad.as_ptr(),
                    aad.len(),
                    in_out.as_mut_ptr(),
                    in_out.len(),
                    icv.as_ptr(),
                )
            };
            match rc {
                0 => Ok(()),
                -2 => Err(CryptoError::TooLong),
                _ => Err(CryptoError::Verify),
            }
        }

        fn backend(&self) -> Backend {
            Backend::IpsecMb
        }
    }

    impl Drop for IpsecMbKey {
        fn drop(&mut self) {
            // SAFETY: `data` is the live allocation of `layout` made in `new`, not aliased (we
            // have `&mut self`); it is freed right after and never used again.
            unsafe {
                core::slice::from_raw_parts_mut(self.data.as_ptr(), self.layout.size()).zeroize();
                dealloc(self.data.as_ptr(), self.layout);
            }
        }
    }

    impl fmt::Debug for IpsecMbKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("IpsecMbKey(***)")
        }
    }

    #[cfg(test)]
    pub(super) fn key_data_addr(k: &IpsecMbKey) -> (usize, usize) {
        (k.data.as_ptr() as usize, k.layout.size())
    }

    /// The `IMB_ARCH` whose code the key's manager runs.
    #[cfg(test)]
    pub(super) fn key_arch(k: &IpsecMbKey) -> i32 {
        k.mgr.arch()
    }
}

/// Tests: the jobs sealing `texts[i]` with `aad(i)` and `iv(i)`, the tag into `tags[i]`.
#[cfg(test)]
pub(crate) fn seal_jobs<'a>(
    texts: &'a mut [Vec<u8>],
    tags: &'a mut [[u8; ICV_LEN]],
    aad: impl Fn(usize) -> &'a [u8],
    iv: impl Fn(usize) -> [u8; IV_LEN],
) -> Vec<SealJob<'a>> {
    (texts.iter_mut().zip(tags).enumerate())
        .map(|(i, (text, tag))| SealJob {
            iv: iv(i),
            aad: aad(i),
            text,
            tag,
        })
        .collect()
}

/// Tests: the jobs opening `texts[i]` with `aad(i)`, `iv(i)` and the received tag `tags[i]`.
#[cfg(test)]
pub(crate) fn open_jobs<'a>(
    texts: &'a mut [Vec<u8>],
    tags: &'a [[u8; ICV_LEN]],
    aad: impl Fn(usize) -> &'a [u8],
    iv: impl Fn(usize) -> [u8; IV_LEN],
) -> Vec<OpenJob<'a>> {
    (texts.iter_mut().zip(tags).enumerate())
        .map(|(i, (text, tag))| OpenJob {
            iv: iv(i),
            aad: aad(i),
            text,
            tag,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_bad_key_length() {
        for b in Backend::ALL {
            assert_eq!(b.new_key(&[0u8; 24]).err(), Some(CryptoError::KeyLength(24)));
        }
    }

    #[test]
    fn debug_hides_key() {
        let k = Backend::Ring.new_key(&[7u8; 16]).unwrap();
        assert_eq!(k.backend(), Backend::Ring);
        assert_eq!(format!("{:?}", RingKey::new(&[7u8; 16]).unwrap()), "RingKey(***)");
        assert_eq!(
            format!("{:?}", RustCryptoKey::new(&[7u8; 32]).unwrap()),
            "RustCryptoKey(***)"
        );
        #[cfg(feature = "ipsec-mb")]
        if Backend::IpsecMb.is_available() {
            assert_eq!(
                format!("{:?}", IpsecMbKey::new(&[7u8; 16]).unwrap()),
                "IpsecMbKey(***)"
            );
            assert_eq!(
                Backend::IpsecMb.new_key(&[7u8; 32]).unwrap().backend(),
                Backend::IpsecMb
            );
        }
    }

    #[test]
    fn names_parse_back() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>(), Ok(b));
        }
        assert_eq!(Backend::all(), &Backend::ALL[..]);
        assert_eq!(Backend::default(), Backend::Ring);
        #[cfg(feature = "ipsec-mb")]
        {
            assert_eq!(Backend::IpsecMb.name(), "ipsec-mb");
            assert_eq!("ipsecmb".parse::<Backend>(), Ok(Backend::IpsecMb));
            assert_eq!("IPSEC-MB".parse::<Backend>(), Ok(Backend::IpsecMb));
            assert_eq!(Backend::ALL.len(), 4);
        }
        assert_eq!("multi-buffer".parse::<Backend>(), Ok(Backend::Mb));
        #[cfg(not(feature = "ipsec-mb"))]
        assert!("ipsec-mb"
            .parse::<Backend>()
            .unwrap_err()
            .to_string()
            .contains("not compiled in"));
    }

    /// The refusals' texts (macsecctl --backend and the dataplane TOML print them).
    #[test]
    fn backend_parse_errors() {
        assert_eq!(
            "foo".parse::<Backend>().unwrap_err().to_string(),
            "unknown crypto backend 'foo' (expected ring, rustcrypto, ipsec-mb or mb)"
        );
        assert_eq!(
            BackendParseError::NotCompiledIn("IPSEC-MB".into()).to_string(),
            "crypto backend 'IPSEC-MB' is not compiled in (dataplane feature ipsec-mb)"
        );
    }

    /// `best()` is the multi-buffer GCM where the CPU has VAES (on zmm or ymm), else ipsec-mb
    /// exactly when it is available (always, when dpdk-sys was built against the real library),
    /// else ring.
    #[test]
    fn best_backend() {
        let vaes = matches!(mb_path(), Some(mbgcm::Path::Vaes512 | mbgcm::Path::Vaes256));
        #[cfg(feature = "ipsec-mb")]
        {
            assert_eq!(Backend::IpsecMb.is_available(), dpdk_sys::HAVE_IPSEC_MB);
            let want = if vaes {
                Backend::Mb
            } else if Backend::IpsecMb.is_available() {
                Backend::IpsecMb
            } else {
                Backend::Ring
            };
            assert_eq!(Backend::best(), want);
            if !Backend::IpsecMb.is_available() {
                let e = Backend::IpsecMb.new_key(&[0u8; 16]).err();
                assert_eq!(e, Some(CryptoError::Unavailable(Backend::IpsecMb)));
            }
        }
        #[cfg(not(feature = "ipsec-mb"))]
        assert_eq!(Backend::best(), if vaes { Backend::Mb } else { Backend::Ring });
        for b in Backend::ALL {
            assert_eq!(b.implementation().is_some(), b.is_available(), "{b}");
            eprintln!("{b}: {:?}", b.implementation());
        }
    }

    /// Seals `plain` (frame i with `aads[i]` and the IV `[iv0 + i; 12]`) through backend `b` in
    /// one batch and checks every frame against ring's seal; then lets `tamper` change the
    /// sealed frames, opens them in one batch, and checks that the frames in `refused` (and no
    /// others) fail and that every other one comes back as `plain`.
    fn batch_round_trip(
        b: Backend,
        key: &[u8],
        aads: &[Vec<u8>],
        plain: &[Vec<u8>],
        iv0: u8,
        tamper: impl FnOnce(&mut [Vec<u8>], &mut [[u8; ICV_LEN]]),
        refused: &[usize],
    ) {
        let ring = RingKey::new(key).unwrap();
        let k = b.new_key(key).unwrap();
        let n = plain.len();
        let iv = |i: usize| [iv0.wrapping_add(i as u8); IV_LEN];
        let mut texts = plain.to_vec();
        let mut tags = vec![[0u8; ICV_LEN]; n];
        let mut jobs = seal_jobs(&mut texts, &mut tags, |i| &aads[i], iv);
        let mut ok = vec![false; n];
        k.seal_batch(&mut jobs, &mut ok);
        drop(jobs);
        assert!(ok.iter().all(|&o| o), "{b}, {n} frames");
        for i in 0..n {
            let mut want = plain[i].clone();
            let mut wtag = [0u8; ICV_LEN];
            ring.seal(&iv(i), &aads[i], &mut want, &mut wtag).unwrap();
            assert_eq!(
                (&texts[i], &tags[i]),
                (&want, &wtag),
                "{b}, {n} frames: frame {i} of {} octets",
                plain[i].len()
            );
        }
        tamper(&mut texts, &mut tags);
        let mut jobs = open_jobs(&mut texts, &tags, |i| &aads[i], iv);
        k.open_batch(&mut jobs, &mut ok);
        drop(jobs);
        let got: Vec<usize> = (0..n).filter(|&i| !ok[i]).collect();
        assert_eq!(got, refused, "{b}, {n} frames");
        for i in (0..n).filter(|i| !refused.contains(i)) {
            assert_eq!(texts[i], plain[i], "{b}, {n} frames: frame {i}");
        }
    }

    /// Batches of one and two small frames (which the multi-buffer backend hands to ipsec-mb,
    /// below `MbKey::MIN_BATCH`) and of three give what ring gives, alone or behind a large
    /// frame (which moves them in the batch's partition), and a tampered one is refused alone.
    #[test]
    fn short_batches_agree_with_ring() {
        for key in [vec![3u8; 16], vec![9u8; 32]] {
            for &b in Backend::ALL.iter().filter(|b| b.is_available()) {
                for large in [0usize, 1] {
                    for small in [1usize, 2, 3] {
                        let n = large + small;
                        let aads = vec![vec![0x5au8; 28]; n];
                        let plain: Vec<Vec<u8>> = (0..n)
                            .map(|i| vec![i as u8 + 1; if i < large { 300 } else { 52 }])
                            .collect();
                        let tamper = |_: &mut [Vec<u8>], tags: &mut [[u8; ICV_LEN]]| tags[n - 1][15] ^= 0x80;
                        batch_round_trip(b, &key, &aads, &plain, 7, tamper, &[n - 1]);
                    }
                }
            }
        }
    }

    #[test]
    fn ours_takes_its_lengths() {
        // The Vaes512 routes: the values measured, and what they take at every edge.
        // CPUID leaf 1's EAX of an EPYC 9005 (Turin: family 0x1A), an EPYC 9004 (Genoa: 0x19)
        // and a Sapphire Rapids Xeon (family 6).
        use mbgcm::Core;
        assert_eq!(Core::from_cpuid(true, 0x00B0_0F21), Core::Zen5);
        assert_eq!(Core::from_cpuid(true, 0x00A1_0F11), Core::Other);
        assert_eq!(Core::from_cpuid(false, 0x0008_06F8), Core::Other);
        assert_eq!(Core::from_cpuid(false, 0x00B0_0F21), Core::Other);
        let zen5 = MbKey::routes(mbgcm::Path::Vaes512, mbgcm::Core::Zen5);
        assert_eq!(zen5, (Ours::ALL, Ours::ALL));
        let (seal, o) = MbKey::routes(mbgcm::Path::Vaes512, mbgcm::Core::Other);
        assert_eq!((seal, o), (Ours::upto(128), Ours::upto(2048).except(129, 256)));
        let taken = [0, 128, 129, 200, 256, 257, 2048, 2049].map(|n| o.takes(n));
        assert_eq!(taken, [true, true, false, false, false, true, true, false]);
        assert!(seal.takes(128) && !seal.takes(129));
        assert!(Ours::ALL.takes(0) && Ours::ALL.takes(usize::MAX));
    }

    /// Batches of mixed sizes (small frames for the multi-buffer kernel, large ones for
    /// ipsec-mb, on either side of the limits; the routing itself changes only speed) give what
    /// ring gives frame by frame, and `ok[i]` is job i's: a tampered frame
    /// among them, small or large, is the only one refused.
    #[test]
    fn batches_agree_with_ring_frame_by_frame() {
        let sizes = [
            0usize, 1, 16, 52, 255, 256, 257, 300, 1488, 17, 64, 9000, 100, 4, 2000, 33,
            // Both sides of every limit of MbKey::routes and of MbGcmKey::XMM_TEXT_VAES256.
            2048, 2049, 240, 241, 128, 129,
        ];
        let aads: Vec<Vec<u8>> = (0..sizes.len()).map(|i| vec![i as u8; 20 + i % 9]).collect();
        let plain: Vec<Vec<u8>> = sizes.iter().map(|&n| (0..n).map(|x| x as u8).collect()).collect();
        for key in [vec![3u8; 16], vec![9u8; 32]] {
            for &b in Backend::ALL.iter().filter(|b| b.is_available()) {
                // Tamper with a small and a large frame.
                let tamper = |texts: &mut [Vec<u8>], tags: &mut [[u8; ICV_LEN]]| {
                    tags[3][0] ^= 1;
                    texts[11][5000] ^= 1;
                };
                batch_round_trip(b, &key, &aads, &plain, 0, tamper, &[3, 11]);
            }
        }
    }

    #[cfg(feature = "ipsec-mb")]
    fn ipsec_mb_key(key: &[u8]) -> Option<IpsecMbKey> {
        if !Backend::IpsecMb.is_available() {
            // Only with a stub dpdk-sys: `best_backend` checks that.
            return None;
        }
        Some(IpsecMbKey::new(key).unwrap())
    }

    /// The key data is 64-aligned (what intel-ipsec-mb's own build declares for gcm_key_data).
    #[cfg(feature = "ipsec-mb")]
    #[test]
    fn ipsec_mb_key_data_is_aligned() {
        for len in [16, 32] {
            let Some(k) = ipsec_mb_key(&vec![1u8; len]) else {
                return;
            };
            let (addr, size) = ipsec_mb::key_data_addr(&k);
            assert_eq!(addr % 64, 0);
            assert!(size >= 1008 && size % 64 == 0);
        }
    }

    /// A wrong ICV (any bit), a changed AAD octet or a changed ciphertext octet is refused, and
    /// the refused text is not left decrypted.
    #[cfg(feature = "ipsec-mb")]
    #[test]
    fn ipsec_mb_refuses_wrong_icv() {
        for len in [16, 32] {
            let Some(k) = ipsec_mb_key(&vec![0x5au8; len]) else {
                return;
            };
            let iv = [9u8; IV_LEN];
            let aad = [0xaau8; 28];
            let pt: Vec<u8> = (0..100u8).collect();
            let mut ct = pt.clone();
            let mut icv = [0u8; ICV_LEN];
            k.seal(&iv, &aad, &mut ct, &mut icv).unwrap();
            for bit in 0..128 {
                let mut bad = icv;
                bad[bit / 8] ^= 1 << (bit % 8);
                let mut t = ct.clone();
                assert_eq!(k.open(&iv, &aad, &mut t, &bad), Err(CryptoError::Verify));
                assert_ne!(t, pt);
            }
            let mut bad_aad = aad;
            bad_aad[27] ^= 0x80;
            assert_eq!(
                k.open(&iv, &bad_aad, &mut ct.clone(), &icv),
                Err(CryptoError::Verify)
            );
            let mut bad_ct = ct.clone();
            bad_ct[50] ^= 1;
            assert_eq!(k.open(&iv, &aad, &mut bad_ct, &icv), Err(CryptoError::Verify));
            let mut bad_iv = iv;
            bad_iv[11] ^= 1;
            assert_eq!(
                k.open(&bad_iv, &aad, &mut ct.clone(), &icv),
                Err(CryptoError::Verify)
            );
            let mut t = ct.clone();
            k.open(&iv, &aad, &mut t, &icv).unwrap();
            assert_eq!(t, pt);
        }
    }

    /// Integrity only (the whole frame is AAD, the text is empty), including no AAD at all:
    /// the same ICV as ring, verified, and a wrong one refused.
    #[cfg(feature = "ipsec-mb")]
    #[test]
    fn ipsec_mb_integrity_only() {
        for len in [16, 32] {
            let key = vec![0x33u8; len];
            let Some(k) = ipsec_mb_key(&key) else { return };
            let ring = RingKey::new(&key).unwrap();
            let iv = [1u8; IV_LEN];
            for aad_len in [0usize, 1, 15, 16, 17, 28, 60, 64, 100, 1500] {
                let aad: Vec<u8> = (0..aad_len).map(|i| i as u8).collect();
                let (mut a, mut b) = ([0u8; ICV_LEN], [0u8; ICV_LEN]);
                k.seal(&iv, &aad, &mut [], &mut a).unwrap();
                ring.seal(&iv, &aad, &mut [], &mut b).unwrap();
                assert_eq!(a, b, "aad {aad_len}");
                k.open(&iv, &aad, &mut [], &a).unwrap();
                let mut bad = a;
                bad[0] ^= 1;
                assert_eq!(k.open(&iv, &aad, &mut [], &bad), Err(CryptoError::Verify));
            }
        }
    }

    /// Every code set of intel-ipsec-mb this CPU has (what it runs on CPUs with fewer features,
    /// e.g. AVX2 on AMD Zen 2) gives ring's ciphertext and ICV, at every text length from 0 to
    /// 600 octets and some up to 9216, both key sizes; it opens them and refuses a changed ICV
    /// with the text zeroed. The arch `init_mb_mgr_auto` picked is among them.
    #[cfg(feature = "ipsec-mb")]
    #[test]
    fn ipsec_mb_every_arch_as_ring() {
        if ipsec_mb_key(&[0u8; 16]).is_none() {
            return;
        }
        let mut seen = Vec::new();
        for arch in ImbArch::ALL {
            for len in [16, 32] {
                let key: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37) ^ arch as u8).collect();
                let k = match IpsecMbKey::with_arch(&key, arch) {
                    Ok(k) => k,
                    Err(e) => {
                        assert_eq!(e, CryptoError::Unavailable(Backend::IpsecMb));
                        continue;
                    }
                };
                seen.push(arch);
                assert_eq!(
                    ipsec_mb::key_arch(&k),
                    arch as i32,
                    "{} key on another code set",
                    arch.name()
                );
                let ring = RingKey::new(&key).unwrap();
                let sizes = (0..=600usize).chain([1000, 1488, 4096, 8988, 9216]);
                for (n, size) in sizes.enumerate() {
                    let mut iv = [0x24u8; IV_LEN];
                    iv[..8].copy_from_slice(&(n as u64).to_be_bytes());
                    let aad: Vec<u8> = (0..(n % 33) as u8).map(|i| i ^ 0x6c).collect();
                    let pt: Vec<u8> = (0..size).map(|i| (i * 7 + n) as u8).collect();
                    let (mut a, mut b) = (pt.clone(), pt.clone());
                    let (mut ta, mut tb) = ([0u8; ICV_LEN], [0u8; ICV_LEN]);
                    k.seal(&iv, &aad, &mut a, &mut ta).unwrap();
                    ring.seal(&iv, &aad, &mut b, &mut tb).unwrap();
                    assert_eq!((&a, ta), (&b, tb), "{} AES-{} size {size}", arch.name(), len * 8);
                    let mut bad = ta;
                    bad[n % ICV_LEN] ^= 1 << (n % 8);
                    let mut t = a.clone();
                    assert_eq!(k.open(&iv, &aad, &mut t, &bad), Err(CryptoError::Verify));
                    assert!(t.iter().all(|&x| x == 0));
                    k.open(&iv, &aad, &mut a, &ta).unwrap();
                    assert_eq!(a, pt);
                }
            }
        }
        // Every code set up to the one this CPU's keys use is there (each needs less than the
        // next), the SSE one on every x86_64 with AES-NI.
        let used = ipsec_mb::key_arch(&IpsecMbKey::new(&[0u8; 16]).unwrap());
        for arch in ImbArch::ALL.into_iter().filter(|a| *a as i32 <= used) {
            assert!(
                seen.contains(&arch),
                "{} missing; keys use arch {used}",
                arch.name()
            );
        }
        assert!(seen.contains(&ImbArch::Sse));
    }

    /// With `MACSEC_MB_PATH` set (the test command runs the crypto tests with `vaes256` and
    /// `aesni`), our path is the best one this CPU has at or below it, and below `vaes512`
    /// intel-ipsec-mb's keys run its AVX2 code. Says so on stdout, which the test command
    /// checks, so that a cap that no longer works cannot pass as an uncapped run.
    #[cfg(all(target_arch = "x86_64", feature = "ipsec-mb"))]
    #[test]
    fn mb_path_cap_is_honoured() {
        let Ok(v) = std::env::var("MACSEC_MB_PATH") else {
            return;
        };
        let cap = mbgcm::Path::cap().expect("MACSEC_MB_PATH names a path");
        assert_eq!(cap.name(), v);
        let want = mbgcm::Path::ALL
            .into_iter()
            .rev()
            .find(|p| *p <= cap && p.is_supported());
        assert_eq!(mb_path(), want);
        if let (Some(k), true) = (ipsec_mb_key(&[1u8; 16]), cap < mbgcm::Path::Vaes512) {
            assert_eq!(ipsec_mb::key_arch(&k), ImbArch::Avx2 as i32);
            assert!(IpsecMbKey::implementation().unwrap().ends_with("(avx2)"));
        }
        println!(
            "MACSEC_MB_PATH={v} honoured: path {:?}",
            mb_path().map(|p| p.name())
        );
    }

    /// One key used from several threads at once (the shared manager, per-call contexts).
    #[cfg(feature = "ipsec-mb")]
    #[test]
    fn ipsec_mb_key_shared_across_threads() {
        let Some(k) = ipsec_mb_key(&[0x42u8; 32]) else {
            return;
        };
        let ring = RingKey::new(&[0x42u8; 32]).unwrap();
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let (k, ring) = (&k, &ring);
                s.spawn(move || {
                    for n in 0..2000u32 {
                        let mut iv = [t; IV_LEN];
                        iv[..4].copy_from_slice(&n.to_be_bytes());
                        let pt = vec![t ^ n as u8; (n % 200) as usize];
                        let (mut a, mut b) = (pt.clone(), pt.clone());
                        let (mut ta, mut tb) = ([0u8; ICV_LEN], [0u8; ICV_LEN]);
                        k.seal(&iv, &[t; 20], &mut a, &mut ta).unwrap();
                        ring.seal(&iv, &[t; 20], &mut b, &mut tb).unwrap();
                        assert_eq!((&a, ta), (&b, tb));
                        k.open(&iv, &[t; 20], &mut a, &ta).unwrap();
                        assert_eq!(a, pt);
                    }
                });
            }
        });
    }

    proptest! {
        /// All backends (every available one in [`Backend::ALL`]) give identical ciphertext and
        /// ICV, pairwise, and each opens what every other sealed.
        #[test]
        fn backends_agree(
            key in prop::collection::vec(any::<u8>(), 16..=16).prop_union(prop::collection::vec(any::<u8>(), 32..=32)),
            iv in any::<[u8; 12]>(),
            frame in prop::collection::vec(any::<u8>(), 0..600),
            split in any::<prop::sample::Index>(),
        ) {
            let cut = if frame.is_empty() { 0 } else { split.index(frame.len() + 1) };
            let (aad, pt) = frame.split_at(cut);
            let keys: Vec<Box<dyn AeadKey>> =
                Backend::ALL.iter().filter(|b| b.is_available()).map(|b| b.new_key(&key).unwrap()).collect();
            prop_assert!(keys.len() >= 2);
            let sealed: Vec<(Vec<u8>, [u8; ICV_LEN])> = keys
                .iter()
                .map(|k| {
                    let mut ct = pt.to_vec();
                    let mut icv = [0u8; ICV_LEN];
                    k.seal(&iv, aad, &mut ct, &mut icv).unwrap();
                    (ct, icv)
                })
                .collect();
            for (i, s) in sealed.iter().enumerate().skip(1) {
                prop_assert_eq!(s, &sealed[0], "{} vs {}", keys[i].backend(), keys[0].backend());
            }
            for opener in &keys {
                for (sealer, (ct, icv)) in keys.iter().zip(&sealed) {
                    let mut t = ct.clone();
                    prop_assert!(opener.open(&iv, aad, &mut t, icv).is_ok(), "{} opens {}", opener.backend(), sealer.backend());
                    prop_assert_eq!(&t[..], pt);
                }
            }
        }
    }
}
