//! The Basic Parameter Set (802.1X-2020 Figure 11-8) and its field types: MACsec Capability,
//! Confidentiality Offset, and the cipher suite identifiers.

use super::{be32, be64, mi_at, MkpduError, ParamSetPacket};
use crate::kdf::Ckn;
use crate::Mi;
use macsec::secy::{CipherSuite, ConfOffset, Sci};

/// The MKA version of 802.1X-2020 (1: 802.1X-2010, 2: 802.1Xbx-2014, 3: 802.1Xck-2018/802.1X-2020).
pub const MKA_VERSION: u8 = 3;
/// Algorithm Agility of 802.1X-2009 onward: AES-CMAC-128/256 ICV, AES key wrap, the CMAC KDF.
pub const ALGORITHM_AGILITY: u32 = 0x0080_C201;
/// Octets of the Basic Parameter Set body before the CKN.
pub const BASIC_FIXED_LEN: usize = 28;
/// The erroneous GCM-AES-128 identifier of the 2006/2010 texts, still used by hostap; accepted on
/// receive as GCM-AES-128.
pub const CS_ID_GCM_AES_128_LEGACY: u64 = 0x0080_0200_0100_0001;

/// MACsec Capability (2 bits; Basic Parameter Set and the Cipher Suites TLV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacsecCapability {
    /// 0: MACsec not implemented.
    NotImplemented,
    /// 1: integrity without confidentiality.
    IntegrityOnly,
    /// 2: integrity with or without confidentiality, offset 0 only.
    ConfidentialityNoOffset,
    /// 3: integrity with or without confidentiality, offsets 0, 30 and 50.
    ConfidentialityWithOffset,
}

impl MacsecCapability {
    pub fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => MacsecCapability::NotImplemented,
            1 => MacsecCapability::IntegrityOnly,
            2 => MacsecCapability::ConfidentialityNoOffset,
            _ => MacsecCapability::ConfidentialityWithOffset,
        }
    }
    pub fn bits(self) -> u8 {
        self as u8
    }
}

/// Confidentiality Offset of a Distributed SAK (2 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfidentialityOffset {
    /// 0: no confidentiality (integrity only).
    NotConfidential,
    /// 1: confidentiality, offset 0.
    Offset0,
    /// 2: confidentiality, offset 30.
    Offset30,
    /// 3: confidentiality, offset 50.
    Offset50,
}

impl ConfidentialityOffset {
    pub fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => ConfidentialityOffset::NotConfidential,
            1 => ConfidentialityOffset::Offset0,
            2 => ConfidentialityOffset::Offset30,
            _ => ConfidentialityOffset::Offset50,
        }
    }
    pub fn bits(self) -> u8 {
        self as u8
    }
    /// The SecY's offset, or `None` for integrity only.
    pub fn conf_offset(self) -> Option<ConfOffset> {
        match self {
            ConfidentialityOffset::NotConfidential => None,
            ConfidentialityOffset::Offset0 => Some(ConfOffset::Zero),
            ConfidentialityOffset::Offset30 => Some(ConfOffset::Thirty),
            ConfidentialityOffset::Offset50 => Some(ConfOffset::Fifty),
        }
    }
    pub fn from_conf_offset(o: Option<ConfOffset>) -> Self {
        match o {
            None => ConfidentialityOffset::NotConfidential,
            Some(ConfOffset::Zero) => ConfidentialityOffset::Offset0,
            Some(ConfOffset::Thirty) => ConfidentialityOffset::Offset30,
            Some(ConfOffset::Fifty) => ConfidentialityOffset::Offset50,
        }
    }
}

/// Resolves a MACsec Cipher Suite identifier, accepting hostap's legacy GCM-AES-128 identifier.
pub fn cipher_suite_from_id(id: u64) -> Option<CipherSuite> {
    if id == CS_ID_GCM_AES_128_LEGACY {
        return Some(CipherSuite::GcmAes128);
    }
    CipherSuite::from_id(id)
}

/// The Basic Parameter Set (802.1X-2020 Figure 11-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicParamSet {
    /// MKA Version Identifier (octet 1).
    pub version: u8,
    pub key_server_priority: u8,
    pub key_server: bool,
    pub macsec_desired: bool,
    pub macsec_capability: MacsecCapability,
    pub sci: Sci,
    /// Actor's Member Identifier.
    pub mi: Mi,
    /// Actor's Message Number.
    pub mn: u32,
    /// [`ALGORITHM_AGILITY`] from every implementation; receivers discard others after the ICV check.
    pub algorithm_agility: u32,
    pub ckn: Ckn,
}

impl BasicParamSet {
    /// The one shared builder of a Basic Parameter Set for tests, test peers and tools: MKA
    /// version [`MKA_VERSION`], [`ALGORITHM_AGILITY`], key server priority 16 (0x10), the key
    /// server bit and MACsec Desired set, and capability 3 (confidentiality with offsets). Change
    /// any other field with struct update syntax: `BasicParamSet { version: 1, ..for_tests(..) }`.
    /// The engine ([`crate::kay`]) fills every field from its configuration instead.
    pub fn for_tests(sci: Sci, mi: Mi, mn: u32, ckn: Ckn) -> Self {
        BasicParamSet {
            version: MKA_VERSION,
            key_server_priority: 0x10,
            key_server: true,
            macsec_desired: true,
            macsec_capability: MacsecCapability::ConfidentialityWithOffset,
            sci,
            mi,
            mn,
            algorithm_agility: ALGORITHM_AGILITY,
            ckn,
        }
    }

    pub(super) fn body_len(&self) -> usize {
        BASIC_FIXED_LEN + self.ckn.len()
    }

    pub(super) fn parse(b: &[u8]) -> Result<(Self, usize), MkpduError> {
        // The caller guarantees at least MKPDU_MIN_LEN - ICV_LEN octets.
        let p = ParamSetPacket::new_unchecked(b);
        let len = p.body_len();
        if !(BASIC_FIXED_LEN + 1..=BASIC_FIXED_LEN + crate::kdf::CKN_MAX_LEN).contains(&len)
            || p.padded_len() > b.len()
        {
            return Err(MkpduError::BadBasicLength { len });
        }
        let body = p.body();
        let flags = p.flags();
        let ckn = Ckn::new(&body[BASIC_FIXED_LEN..]).map_err(|_| MkpduError::BadBasicLength { len })?;
        Ok((
            BasicParamSet {
                version: p.set_type(),
                key_server_priority: p.octet2(),
                key_server: flags & 0x8 != 0,
                macsec_desired: flags & 0x4 != 0,
                macsec_capability: MacsecCapability::from_bits(flags),
                sci: Sci(be64(&body[0..8])),
                mi: mi_at(&body[8..20]),
                mn: be32(&body[20..24]),
                algorithm_agility: be32(&body[24..28]),
                ckn,
            },
            p.padded_len(),
        ))
    }

    pub(super) fn emit(&self, out: &mut [u8]) {
        let flags = (u8::from(self.key_server) << 3)
            | (u8::from(self.macsec_desired) << 2)
            | self.macsec_capability.bits();
        let mut p = ParamSetPacket::new_unchecked(out);
        p.set_header(self.version, self.key_server_priority, flags, self.body_len());
        let body = p.body_mut();
        body[0..8].copy_from_slice(&self.sci.to_bytes());
        body[8..20].copy_from_slice(&self.mi.0);
        body[20..24].copy_from_slice(&self.mn.to_be_bytes());
        body[24..28].copy_from_slice(&self.algorithm_agility.to_be_bytes());
        body[28..].copy_from_slice(self.ckn.as_bytes());
    }
}
