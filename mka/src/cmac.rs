//! AES-CMAC (NIST SP 800-38B, RFC 4493) with a 128- or 256-bit key: the MKPDU ICV primitive and the
//! PRF of the 802.1X KDF. Wraps RustCrypto `cmac` over `aes` (key schedules wiped on drop).

use aes::{Aes128, Aes256};
use cmac::{Cmac, KeyInit, Mac};

/// Octets of an AES-CMAC tag (and of the MKPDU ICV).
pub const TAG_LEN: usize = 16;

/// The key is neither 16 nor 32 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("AES-CMAC key of {0} octets (expected 16 or 32)")]
pub struct CmacKeyLenError(pub usize);

/// An AES-CMAC computation in progress (AES-128 or AES-256 by the key length).
#[derive(Clone)]
pub enum AesCmac {
    Aes128(Cmac<Aes128>),
    Aes256(Cmac<Aes256>),
}

impl core::fmt::Debug for AesCmac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AesCmac::Aes128(_) => "AesCmac::Aes128(***)",
            AesCmac::Aes256(_) => "AesCmac::Aes256(***)",
        })
    }
}

impl AesCmac {
    /// Starts a CMAC under `key` (16 octets: AES-128-CMAC, 32 octets: AES-256-CMAC).
    pub fn new(key: &[u8]) -> Result<Self, CmacKeyLenError> {
        match key.len() {
            16 => Ok(AesCmac::Aes128(
                Cmac::new_from_slice(key).map_err(|_| CmacKeyLenError(16))?,
            )),
            32 => Ok(AesCmac::Aes256(
                Cmac::new_from_slice(key).map_err(|_| CmacKeyLenError(32))?,
            )),
            n => Err(CmacKeyLenError(n)),
        }
    }

    /// Feeds more of the message.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            AesCmac::Aes128(m) => m.update(data),
            AesCmac::Aes256(m) => m.update(data),
        }
    }

    /// The 16-octet tag.
    pub fn finalize(self) -> [u8; TAG_LEN] {
        match self {
            AesCmac::Aes128(m) => m.finalize().into_bytes().into(),
            AesCmac::Aes256(m) => m.finalize().into_bytes().into(),
        }
    }

    /// Checks `tag` in constant time.
    pub fn verify(self, tag: &[u8; TAG_LEN]) -> bool {
        match self {
            AesCmac::Aes128(m) => m.verify_slice(tag).is_ok(),
            AesCmac::Aes256(m) => m.verify_slice(tag).is_ok(),
        }
    }
}

/// AES-CMAC of the concatenation of `parts` under `key`.
pub fn aes_cmac(key: &[u8], parts: &[&[u8]]) -> Result<[u8; TAG_LEN], CmacKeyLenError> {
    let mut m = AesCmac::new(key)?;
    for p in parts {
        m.update(p);
    }
    Ok(m.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4493_example_2() {
        let key = hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap();
        let msg = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        assert_eq!(
            hex::encode(aes_cmac(&key, &[&msg]).unwrap()),
            "070a16b46b4d4144f79bdd9dd04a287c"
        );
        // Split input gives the same tag.
        assert_eq!(
            hex::encode(aes_cmac(&key, &[&msg[..3], &msg[3..]]).unwrap()),
            "070a16b46b4d4144f79bdd9dd04a287c"
        );
        assert_eq!(AesCmac::new(&[0; 24]).unwrap_err(), CmacKeyLenError(24));
    }
}
