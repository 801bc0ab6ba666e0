//! AES Key Wrap (RFC 3394, default IV `A6A6A6A6A6A6A6A6`) as MKA uses it to carry the SAK in the
//! Distributed SAK parameter set and the group CAK in the Distributed CAK set (802.1X-2020 9.8.3,
//! 11.11.3). KEKs of 128, 192 or 256 bits; key data a non-zero multiple of 8 octets.

use aes_kw::{KeyInit, KwAes128, KwAes192, KwAes256};
use zeroize::Zeroizing;

/// Octets the wrap adds to the key data (the integrity check register).
pub const WRAP_OVERHEAD: usize = 8;

/// Why a wrap or unwrap failed. None of them repeats key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyWrapError {
    #[error("KEK of {0} octets (expected 16, 24 or 32)")]
    KekLength(usize),
    #[error("key data of {0} octets (expected a non-zero multiple of 8)")]
    DataLength(usize),
    #[error("wrapped key of {0} octets (expected a multiple of 8, at least 24)")]
    WrappedLength(usize),
    /// The unwrapped integrity check register is not the default IV: wrong KEK or a damaged wrap.
    #[error("AES key unwrap integrity check failed")]
    IntegrityCheckFailed,
}

enum Kw {
    A128(KwAes128),
    A192(KwAes192),
    A256(KwAes256),
}

fn kw(kek: &[u8]) -> Result<Kw, KeyWrapError> {
    let e = |_| KeyWrapError::KekLength(kek.len());
    Ok(match kek.len() {
        16 => Kw::A128(KwAes128::new_from_slice(kek).map_err(e)?),
        24 => Kw::A192(KwAes192::new_from_slice(kek).map_err(e)?),
        32 => Kw::A256(KwAes256::new_from_slice(kek).map_err(e)?),
        n => return Err(KeyWrapError::KekLength(n)),
    })
}

/// Wraps `key_data` under `kek`; the result is 8 octets longer.
pub fn wrap(kek: &[u8], key_data: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
    if key_data.is_empty() || !key_data.len().is_multiple_of(8) {
        return Err(KeyWrapError::DataLength(key_data.len()));
    }
    let mut out = vec![0u8; key_data.len() + WRAP_OVERHEAD];
    let r = match kw(kek)? {
        Kw::A128(k) => k.wrap_key(key_data, &mut out).map(|_| ()),
        Kw::A192(k) => k.wrap_key(key_data, &mut out).map(|_| ()),
        Kw::A256(k) => k.wrap_key(key_data, &mut out).map(|_| ()),
    };
    r.map_err(|_| KeyWrapError::DataLength(key_data.len()))?;
    Ok(out)
}

/// Unwraps `wrapped` under `kek` and checks its integrity; the result is 8 octets shorter.
pub fn unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
    // RFC 3394 needs n >= 2 blocks of key data (so at least 24 octets of wrap).
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
        return Err(KeyWrapError::WrappedLength(wrapped.len()));
    }
    let mut out = Zeroizing::new(vec![0u8; wrapped.len() - WRAP_OVERHEAD]);
    let r = match kw(kek)? {
        Kw::A128(k) => k.unwrap_key(wrapped, &mut out).map(|_| ()),
        Kw::A192(k) => k.unwrap_key(wrapped, &mut out).map(|_| ()),
        Kw::A256(k) => k.unwrap_key(wrapped, &mut out).map(|_| ()),
    };
    match r {
        Ok(()) => Ok(out),
        Err(aes_kw::Error::IntegrityCheckFailed) => Err(KeyWrapError::IntegrityCheckFailed),
        Err(_) => Err(KeyWrapError::WrappedLength(wrapped.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3394_4_1_and_tamper() {
        let kek = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let data = hex::decode("00112233445566778899aabbccddeeff").unwrap();
        let w = wrap(&kek, &data).unwrap();
        assert_eq!(
            hex::encode(&w),
            "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"
        );
        assert_eq!(&unwrap(&kek, &w).unwrap()[..], &data[..]);
        let mut bad = w.clone();
        bad[5] ^= 1;
        assert_eq!(
            unwrap(&kek, &bad).unwrap_err(),
            KeyWrapError::IntegrityCheckFailed
        );
        assert_eq!(
            unwrap(&kek, &w[..16]).unwrap_err(),
            KeyWrapError::WrappedLength(16)
        );
        assert_eq!(wrap(&kek[..15], &data).unwrap_err(), KeyWrapError::KekLength(15));
        assert_eq!(wrap(&kek, &data[..5]).unwrap_err(), KeyWrapError::DataLength(5));
    }
}
