//! MKA, the MACsec Key Agreement protocol of IEEE 802.1X-2020 (clauses 9 and 11): the MKPDU wire
//! codec ([`pdu`]), the key hierarchy ([`kdf`]: KDF, CAK/CKN, ICK, KEK, SAK), AES-CMAC ([`cmac`]),
//! AES key wrap ([`keywrap`]), the PPK key distribution mode's wire encoding and KEK mixing
//! ([`ppk`]), the sans-IO engine ([`kay`]), the key chain plan ([`keychain`]) and the engine's
//! randomness ([`rng`]). This crate does no IO: no sockets, threads, files or clocks (time is
//! passed in as `now`), and its randomness comes from the caller's choice of [`rng::Rng`].
//!
//! The codec follows smoltcp's `wire` style: zero-copy views ([`EapolPacket`], [`ParamSetPacket`])
//! with `new_checked` and field accessors, and `Repr`s ([`MkaFrameRepr`], [`MkpduRepr`],
//! [`ParamSet`]) with `parse`, `buffer_len` and `emit`. Parsing never allocates more than the input
//! length; emitting a parsed MKPDU gives back the same octets.
//!
//! Interop notes (what wpa_supplicant 2.10 does differently): README, Interoperability.

#![forbid(unsafe_code)]

pub mod cmac;
pub mod kay;
pub mod kdf;
pub mod keychain;
pub mod keywrap;
pub mod pdu;
pub mod ppk;
pub mod rng;

pub use kdf::{Cak, Ckn, Ick, Kek, KeyError, Sak};
pub use pdu::*;

use core::fmt;
use core::str::FromStr;
use macsec::secy::Salt;

/// Octets of a Member Identifier.
pub const MI_LEN: usize = 12;

/// A Member Identifier: 96 random bits naming one MKA participant instance (802.1X-2020 9.4.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mi(pub [u8; MI_LEN]);

impl Mi {
    /// A fresh MI from the engine's random source.
    pub fn generate(rng: &mut rng::Rng) -> Result<Mi, KeyError> {
        let mut mi = [0u8; MI_LEN];
        rng.fill(&mut mi)?;
        Ok(Mi(mi))
    }
    pub fn from_slice(b: &[u8]) -> Option<Mi> {
        Some(Mi(b.try_into().ok()?))
    }
    pub fn is_zero(&self) -> bool {
        self.0 == [0; MI_LEN]
    }
}

impl fmt::Display for Mi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Mi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mi({self})")
    }
}

impl FromStr for Mi {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = hex::decode(s.trim()).map_err(|_| KeyError::Hex { what: "MI" })?;
        Mi::from_slice(&b).ok_or(KeyError::Length {
            what: "MI",
            len: b.len(),
            expected: "12",
        })
    }
}

/// A Key Identifier: the key server's MI and the Key Number it gave the SAK (802.1X-2020 9.8).
/// The all-zero KI means "no key" in a SAK Use slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ki {
    pub mi: Mi,
    pub kn: u32,
}

impl Ki {
    pub const NULL: Ki = Ki {
        mi: Mi([0; MI_LEN]),
        kn: 0,
    };

    pub fn new(mi: Mi, kn: u32) -> Ki {
        Ki { mi, kn }
    }
    pub fn is_null(&self) -> bool {
        self.mi.is_zero() && self.kn == 0
    }
    /// The 16 octets MI ‖ KN, as carried in SAK Use and used as the Linux/DPDK key ID.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..MI_LEN].copy_from_slice(&self.mi.0);
        b[MI_LEN..].copy_from_slice(&self.kn.to_be_bytes());
        b
    }
    /// The 96-bit salt of an XPN SA keyed by the SAK with this KI (802.1AE-2018 10.7.8): the key
    /// server's MI with its 32 most significant bits XORed with the KN's low half (octets 0-1) and
    /// high half (octets 2-3).
    pub fn xpn_salt(&self) -> Salt {
        let mut s = self.mi.0;
        let kn = self.kn.to_be_bytes();
        s[0] ^= kn[2];
        s[1] ^= kn[3];
        s[2] ^= kn[0];
        s[3] ^= kn[1];
        Salt(s)
    }
}

impl fmt::Display for Ki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.mi, self.kn)
    }
}

impl fmt::Debug for Ki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ki({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xpn_salt_octets() {
        // Salt = MI with octets 0..4 XORed by KN[15:8], KN[7:0], KN[31:24], KN[23:16].
        let ki = Ki::new(Mi([0; 12]), 0x1122_3344);
        assert_eq!(ki.xpn_salt().0[..5], [0x33, 0x44, 0x11, 0x22, 0]);
        let mi: Mi = "e6be99dfd15fac91478510ac".parse().unwrap();
        assert_eq!(Ki::new(mi, 1).xpn_salt().to_string(), "e6bf99dfd15fac91478510ac");
    }
}
