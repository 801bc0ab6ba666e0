//! PPK (post-quantum preshared key) key distribution mode of MKA: the wire encoding of the PPK
//! key ID and the PPK-mixed KEK. Cisco's encoding is not public; this one is ours (DESIGN.md
//! "PPK (quantum-safe) extension", `docs/ppk-mka.md`).
//!
//! # Wire: the PPK Key ID TLV
//!
//! The key server announces the key ID of the PPK it mixed into the KEK in an
//! organization-specific TLV (type [`TLV_ORG_SPECIFIC`] = 127) of the Announcement parameter set
//! (type 7), in every MKPDU that carries the Distributed SAK it protects. As for any Announcement
//! TLV, the TLV header is a 7-bit type and a 9-bit length (the length counts the value only); the
//! value follows the LLDP convention for organization-specific TLVs (OUI/CID, subtype, data):
//!
//! ```text
//! octets 1-2   TLV header: type 127 (7 bits) | length of the value (9 bits) = 9..=72
//! octets 3-5   OUI/CID 02-50-4B
//! octet  6     subtype 1 (PPK key ID)
//! octets 7-10  KN of the Distributed SAK (big-endian)
//! octets 11..  key ID, 1 to 64 octets
//! ```
//!
//! - OUI/CID [`PPK_OUI`] `02-50-4B` is project-private: the U/L (locally administered) bit of the
//!   first octet is set, so it cannot collide with an IEEE-assigned OUI. A deployment that must
//!   interoperate with another vendor's PPK encoding replaces it with a registered one.
//! - subtype [`PPK_SUBTYPE_KEY_ID`] = 1: "PPK key ID".
//! - KN: the Key Number of the Distributed SAK this key ID protects (4 octets, big-endian), so the
//!   binding does not depend on the two sets travelling in the same MKPDU.
//! - key ID: 1 to 64 octets ([`PPK_KEY_ID_MAX_LEN`]), opaque (SKS: the derivation input; SKIP: the
//!   KME's keyId). Only the key ID crosses the network, never the PPK.
//!
//! Value length is therefore 9 to 72 octets. A TLV 127 with another OUI or subtype is not ours and
//! stays an opaque [`AnnouncementTlv::Other`]; one with our OUI and subtype but a bad length is
//! rejected by [`PpkKeyIdTlv::from_tlv`] with a [`PpkTlvError`] (the engine then refuses the SAK it
//! came with; the MKPDU itself, which passed its ICV, still counts for liveness). Peers that do not
//! implement PPK skip the TLV like any unknown Announcement TLV.
//!
//! # Key mixing: KEK'
//!
//! `KEK' = KDF(PPK, "IEEE8021 PPK KEK", KEK, 8·|KEK|)` with the 802.1X KDF of [`kdf`]
//! (AES-CMAC in counter mode; the PPK of 32 octets makes the PRF AES-256-CMAC): key = the PPK,
//! label = the 16 ASCII octets `IEEE8021 PPK KEK`, context = the KEK's octets (16 for a 128-bit
//! CAK, 32 for a 256-bit one), output length = the KEK's length. The SAK is then wrapped with
//! KEK' (RFC 3394) exactly as it would be with KEK. An attacker must break both the CAK and the PPK
//! to recover the SAK; a peer without the PPK (or with another PPK for that key ID) fails the
//! RFC 3394 integrity check on unwrap.

use super::kdf::{kdf, Kek, KeyError};
use super::pdu::AnnouncementTlv;
use core::fmt;
use zeroize::Zeroizing;

/// Announcement TLV type of the organization-specific TLV (802.1X-2020 Table 11-8).
pub const TLV_ORG_SPECIFIC: u8 = 127;
/// The project-private OUI/CID of the PPK Key ID TLV (locally administered; see the module doc).
pub const PPK_OUI: [u8; 3] = [0x02, 0x50, 0x4b];
/// Subtype of the PPK Key ID TLV under [`PPK_OUI`].
pub const PPK_SUBTYPE_KEY_ID: u8 = 1;
/// Octets of the TLV value before the key ID (OUI, subtype, KN).
pub const PPK_TLV_FIXED_LEN: usize = 8;
/// The longest key ID.
pub const PPK_KEY_ID_MAX_LEN: usize = 64;
/// KDF label of KEK'.
pub const LABEL_PPK_KEK: &[u8] = b"IEEE8021 PPK KEK";
/// Octets of a PPK.
pub const PPK_LEN: usize = 32;

/// Why a PPK key ID or TLV was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PpkTlvError {
    #[error("PPK key ID of {0} octets (expected 1 to 64)")]
    KeyIdLength(usize),
    #[error("PPK Key ID TLV value of {0} octets (expected 9 to 72)")]
    ValueLength(usize),
}

impl PpkTlvError {
    /// A stable snake_case name for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            PpkTlvError::KeyIdLength(_) => "bad_ppk_key_id_length",
            PpkTlvError::ValueLength(_) => "bad_ppk_key_id_tlv_length",
        }
    }
}

/// A PPK key ID: 1 to 64 opaque octets, not secret (it travels in the clear). Prints as hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PpkKeyId(Vec<u8>);

impl PpkKeyId {
    pub fn new(bytes: &[u8]) -> Result<Self, PpkTlvError> {
        if bytes.is_empty() || bytes.len() > PPK_KEY_ID_MAX_LEN {
            return Err(PpkTlvError::KeyIdLength(bytes.len()));
        }
        Ok(PpkKeyId(bytes.to_vec()))
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for PpkKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl fmt::Debug for PpkKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PpkKeyId({self})")
    }
}

/// The PPK Key ID TLV (module doc): the key ID of the PPK mixed into the KEK that wraps the SAK
/// with Key Number `kn`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PpkKeyIdTlv {
    pub kn: u32,
    pub key_id: PpkKeyId,
}

impl PpkKeyIdTlv {
    /// `None` when `tlv` is not a PPK Key ID TLV (another type, OUI or subtype, or too short to
    /// carry an OUI and subtype); `Some(Err)` when it is ours but its length is wrong.
    pub fn from_tlv(tlv: &AnnouncementTlv) -> Option<Result<Self, PpkTlvError>> {
        let AnnouncementTlv::Other {
            tlv_type: TLV_ORG_SPECIFIC,
            value,
        } = tlv
        else {
            return None;
        };
        if value.get(..3)? != PPK_OUI || *value.get(3)? != PPK_SUBTYPE_KEY_ID {
            return None;
        }
        Some(Self::parse_value(value))
    }

    fn parse_value(value: &[u8]) -> Result<Self, PpkTlvError> {
        if value.len() <= PPK_TLV_FIXED_LEN || value.len() > PPK_TLV_FIXED_LEN + PPK_KEY_ID_MAX_LEN {
            return Err(PpkTlvError::ValueLength(value.len()));
        }
        let kn = u32::from_be_bytes([value[4], value[5], value[6], value[7]]);
        Ok(PpkKeyIdTlv {
            kn,
            key_id: PpkKeyId::new(&value[PPK_TLV_FIXED_LEN..])?,
        })
    }

    /// The first PPK Key ID TLV among `tlvs`, if any.
    pub fn find<'a>(
        tlvs: impl IntoIterator<Item = &'a AnnouncementTlv>,
    ) -> Option<Result<Self, PpkTlvError>> {
        tlvs.into_iter().find_map(Self::from_tlv)
    }

    /// As an Announcement TLV.
    pub fn to_tlv(&self) -> AnnouncementTlv {
        let mut value = Vec::with_capacity(PPK_TLV_FIXED_LEN + self.key_id.0.len());
        value.extend_from_slice(&PPK_OUI);
        value.push(PPK_SUBTYPE_KEY_ID);
        value.extend_from_slice(&self.kn.to_be_bytes());
        value.extend_from_slice(&self.key_id.0);
        AnnouncementTlv::Other {
            tlv_type: TLV_ORG_SPECIFIC,
            value,
        }
    }
}

/// A PPK: 32 secret octets, zeroized on drop, printed as `***`.
#[derive(Clone)]
pub struct PpkSecret(Zeroizing<[u8; PPK_LEN]>);

impl PpkSecret {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut k = Zeroizing::new([0u8; PPK_LEN]);
        if bytes.len() != PPK_LEN {
            return Err(KeyError::Length {
                what: "PPK",
                len: bytes.len(),
                expected: "32",
            });
        }
        k.copy_from_slice(bytes);
        Ok(PpkSecret(k))
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..]
    }
}

impl fmt::Debug for PpkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PpkSecret(***)")
    }
}

/// KEK' = KDF(PPK, "IEEE8021 PPK KEK", KEK, 8·|KEK|) (module doc).
pub fn ppk_kek(ppk: &PpkSecret, kek: &Kek) -> Kek {
    let out = match kdf(
        ppk.as_bytes(),
        LABEL_PPK_KEK,
        kek.as_bytes(),
        (kek.len() * 8) as u32,
    ) {
        Ok(k) => k,
        Err(e) => unreachable!("KDF with a 32-octet PPK and a checked KEK: {e}"),
    };
    match Kek::from_bytes(&out) {
        Ok(k) => k,
        Err(e) => unreachable!("KEK' has the KEK's length: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_as_stars() {
        let p = PpkSecret::from_bytes(&[7; 32]).unwrap();
        assert_eq!(format!("{p:?}"), "PpkSecret(***)");
        assert!(PpkSecret::from_bytes(&[7; 16]).is_err());
        assert_eq!(
            format!("{:?}", PpkKeyId::new(&[0xab, 1]).unwrap()),
            "PpkKeyId(ab01)"
        );
    }
}
