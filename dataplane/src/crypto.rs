//! AEAD backends for the SecY. One trait, [`AeadKey`], sealed and opened in place with the ICV
//! detached; two implementations: `ring` (the default) and RustCrypto `aes-gcm` (pure Rust).
//!
//! A key object is built once per SA (when the SA is installed) and is used from the packet path
//! without allocation. Key bytes are never printed: the `Debug` impls show only the backend.

use core::fmt;
use core::str::FromStr;

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
}

/// An AES-GCM key ready for the packet path.
pub trait AeadKey: Send + Sync {
    /// Encrypts `in_out` in place and writes the ICV over `aad` and the ciphertext to `icv`
    /// (straight into the frame: no copy of the tag through the stack).
    fn seal(&self, iv: &[u8; IV_LEN], aad: &[u8], in_out: &mut [u8], icv: &mut [u8; ICV_LEN]) -> Result<(), CryptoError>;
    /// Verifies `icv` over `aad` and `in_out`, then decrypts `in_out` in place. On failure the
    /// contents of `in_out` are unspecified and must not be delivered.
    fn open(&self, iv: &[u8; IV_LEN], aad: &[u8], in_out: &mut [u8], icv: &[u8; ICV_LEN]) -> Result<(), CryptoError>;
    /// The backend that made this key.
    fn backend(&self) -> Backend;
}

/// The available AEAD implementations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Backend {
    /// `ring` 0.17 (BoringSSL's assembly: AES-NI + PCLMULQDQ/AVX).
    #[default]
    Ring,
    /// RustCrypto `aes-gcm` 0.11 (pure Rust with runtime-detected AES-NI/CLMUL intrinsics).
    RustCrypto,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Ring, Backend::RustCrypto];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Ring => "ring",
            Backend::RustCrypto => "rustcrypto",
        }
    }

    /// Builds a key for this backend: 16 octets for GCM-AES-(XPN-)128, 32 for -256.
    pub fn new_key(self, key: &[u8]) -> Result<Box<dyn AeadKey>, CryptoError> {
        match self {
            Backend::Ring => Ok(Box::new(RingKey::new(key)?)),
            Backend::RustCrypto => Ok(Box::new(RustCryptoKey::new(key)?)),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ring" => Ok(Backend::Ring),
            "rustcrypto" | "aes-gcm" => Ok(Backend::RustCrypto),
            _ => Err(format!("unknown crypto backend '{s}' (expected ring or rustcrypto)")),
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
        Ok(RingKey { key: ring::aead::LessSafeKey::new(unbound) })
    }
}

impl AeadKey for RingKey {
    #[inline]
    fn seal(&self, iv: &[u8; IV_LEN], aad: &[u8], in_out: &mut [u8], icv: &mut [u8; ICV_LEN]) -> Result<(), CryptoError> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*iv);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), in_out)
            .map_err(|_| CryptoError::TooLong)?;
        icv.copy_from_slice(tag.as_ref());
        Ok(())
    }

    #[inline]
    fn open(&self, iv: &[u8; IV_LEN], aad: &[u8], in_out: &mut [u8], icv: &[u8; ICV_LEN]) -> Result<(), CryptoError> {
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
            16 => RcKey::Aes128(aes_gcm::Aes128Gcm::new_from_slice(key).map_err(|_| CryptoError::KeyLength(16))?),
            32 => RcKey::Aes256(aes_gcm::Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::KeyLength(32))?),
            n => return Err(CryptoError::KeyLength(n)),
        };
        Ok(RustCryptoKey { key })
    }
}

impl AeadKey for RustCryptoKey {
    #[inline]
    fn seal(&self, iv: &[u8; IV_LEN], aad: &[u8], in_out: &mut [u8], icv: &mut [u8; ICV_LEN]) -> Result<(), CryptoError> {
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
    fn open(&self, iv: &[u8; IV_LEN], aad: &[u8], in_out: &mut [u8], icv: &[u8; ICV_LEN]) -> Result<(), CryptoError> {
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
        assert_eq!(format!("{:?}", RustCryptoKey::new(&[7u8; 32]).unwrap()), "RustCryptoKey(***)");
    }

    proptest! {
        /// Both backends give identical ciphertext and ICV, and each opens what the other sealed.
        #[test]
        fn backends_agree(
            key in prop::collection::vec(any::<u8>(), 16..=16).prop_union(prop::collection::vec(any::<u8>(), 32..=32)),
            iv in any::<[u8; 12]>(),
            frame in prop::collection::vec(any::<u8>(), 0..600),
            split in any::<prop::sample::Index>(),
        ) {
            let cut = if frame.is_empty() { 0 } else { split.index(frame.len() + 1) };
            let (aad, pt) = frame.split_at(cut);
            let ring = Backend::Ring.new_key(&key).unwrap();
            let rc = Backend::RustCrypto.new_key(&key).unwrap();
            let mut a = pt.to_vec();
            let mut b = pt.to_vec();
            let (mut ta, mut tb) = ([0u8; ICV_LEN], [0u8; ICV_LEN]);
            ring.seal(&iv, aad, &mut a, &mut ta).unwrap();
            rc.seal(&iv, aad, &mut b, &mut tb).unwrap();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(ta, tb);
            rc.open(&iv, aad, &mut a, &ta).unwrap();
            ring.open(&iv, aad, &mut b, &tb).unwrap();
            prop_assert_eq!(&a[..], pt);
            prop_assert_eq!(&b[..], pt);
        }
    }
}
