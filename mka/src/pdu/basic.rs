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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{captured_mkpdu, parse_mkpdu_with};
    use super::super::{MkpduError, MkpduRepr};
    use super::*;

    /// Emits into a zeroed buffer of the padded length, as [`MkpduRepr::emit`] does.
    fn emit(b: &BasicParamSet) -> Vec<u8> {
        let mut v = vec![0; 4 + b.body_len().next_multiple_of(4)];
        b.emit(&mut v);
        v
    }

    fn example() -> BasicParamSet {
        BasicParamSet {
            version: 3,
            key_server_priority: 0x10,
            key_server: true,
            macsec_desired: true,
            macsec_capability: MacsecCapability::ConfidentialityWithOffset,
            sci: Sci(0x0200_0000_000a_0001),
            mi: Mi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
            mn: 0x0102_0304,
            algorithm_agility: ALGORITHM_AGILITY,
            ckn: Ckn::new(&[0xab; 5]).unwrap(),
        }
    }

    #[rustfmt::skip]
    const EXAMPLE: [u8; 40] = [
        0x03,                                           // MKA Version Identifier 3
        0x10,                                           // Key Server Priority 16
        0xf0,                                           // Key Server, MACsec Desired, Capability 3; len 11-8
        0x21,                                           // body length 33 = 28 + 5-octet CKN
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, // SCI: MAC 02-00-00-00-00-0a, port 1
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06,             // Actor's Member Identifier ...
        0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,             // ... (12 octets)
        0x01, 0x02, 0x03, 0x04,                         // Actor's Message Number
        0x00, 0x80, 0xc2, 0x01,                         // Algorithm Agility 00-80-C2-01
        0xab, 0xab, 0xab, 0xab, 0xab,                   // CAK Name (5 octets)
        0x00, 0x00, 0x00,                               // padding to a multiple of 4
    ];

    #[test]
    fn emits_and_parses_the_exact_octets() {
        assert_eq!(emit(&example()), EXAMPLE);
        assert_eq!(BasicParamSet::parse(&EXAMPLE), Ok((example(), 40)));
        // With trailing octets (the next set, the ICV), parse stops at the padded length.
        let mut longer = EXAMPLE.to_vec();
        longer.extend_from_slice(&[0x55; 20]);
        assert_eq!(BasicParamSet::parse(&longer), Ok((example(), 40)));
    }

    #[test]
    fn octet3_flag_bits() {
        // Key Server 0x80, MACsec Desired 0x40, Capability in 0x30; the body length high nibble is
        // 0 for every valid Basic Parameter Set (at most 60 octets).
        for (key_server, macsec_desired, cap, octet3) in [
            (false, false, MacsecCapability::NotImplemented, 0x00),
            (true, false, MacsecCapability::NotImplemented, 0x80),
            (false, true, MacsecCapability::NotImplemented, 0x40),
            (false, false, MacsecCapability::IntegrityOnly, 0x10),
            (false, false, MacsecCapability::ConfidentialityNoOffset, 0x20),
            (false, true, MacsecCapability::ConfidentialityWithOffset, 0x70),
        ] {
            let b = BasicParamSet {
                key_server,
                macsec_desired,
                macsec_capability: cap,
                ..example()
            };
            let mut bytes = EXAMPLE;
            bytes[2] = octet3;
            assert_eq!(emit(&b), bytes, "{b:?}");
            assert_eq!(BasicParamSet::parse(&bytes), Ok((b, 40)));
        }
    }

    #[test]
    fn any_version_and_algorithm_agility_are_kept() {
        // Version 1 (802.1X-2010, what wpa_supplicant sends) and an unknown agility parse as
        // received; the receiver decides what to do with them after the ICV check.
        let mut bytes = EXAMPLE;
        bytes[0] = 0x01;
        bytes[28..32].copy_from_slice(&[0x00, 0x80, 0xc2, 0x02]);
        let b = BasicParamSet {
            version: 1,
            algorithm_agility: 0x0080_c202,
            ..example()
        };
        assert_eq!(emit(&b), bytes);
        assert_eq!(BasicParamSet::parse(&bytes), Ok((b, 40)));
    }

    #[test]
    fn bad_lengths_give_bad_basic_length() {
        // CKN of 0 octets.
        let mut b = EXAMPLE;
        b[3] = 28;
        assert_eq!(
            BasicParamSet::parse(&b),
            Err(MkpduError::BadBasicLength { len: 28 })
        );
        // CKN of 33 octets (body 61), with enough octets present.
        let mut long = vec![0x03, 0x10, 0xf0, 61];
        long.resize(4 + 64, 0);
        assert_eq!(
            BasicParamSet::parse(&long),
            Err(MkpduError::BadBasicLength { len: 61 })
        );
        // The length's high nibble counts: 0x121 = 289.
        let mut b = EXAMPLE;
        b[2] = 0xf1;
        assert_eq!(
            BasicParamSet::parse(&b),
            Err(MkpduError::BadBasicLength { len: 0x121 })
        );
        // A valid length whose padded set runs past the octets before the ICV.
        assert_eq!(
            BasicParamSet::parse(&EXAMPLE[..36]),
            Err(MkpduError::BadBasicLength { len: 33 })
        );
        // The same through the MKPDU: body length 28 in the fixture MKPDU.
        let mut m = parse_mkpdu_with(&[]).unwrap().to_bytes().unwrap();
        m[3] = 28;
        assert_eq!(MkpduRepr::parse(&m), Err(MkpduError::BadBasicLength { len: 28 }));
        // 32 octets of CKN is the most.
        let mut max = vec![0x03, 0x10, 0xf0, 60];
        max.resize(4 + 60, 0x5a);
        assert_eq!(
            BasicParamSet::parse(&max).map(|(b, n)| (b.ckn.len(), n)),
            Ok((32, 64))
        );
    }

    /// Frame 1 of wpa_mka.pcap: the key server's first MKPDU (02:00:00:00:00:0a, MI and CKN from
    /// wpa_mka.keys.json), a Basic Parameter Set alone.
    #[rustfmt::skip]
    const WPA_SUPPLICANT_FRAME_1: [u8; 64] = [
        0x01,                                           // MKA Version Identifier 1 (802.1X-2010)
        0x10,                                           // Key Server Priority 16 (mka_priority)
        0xe0,                                           // Key Server 1, MACsec Desired 1, Capability 2
        0x3c,                                           // body length 60 = 28 + 32-octet CKN
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, // SCI 02000000000a0001
        0xe6, 0xbe, 0x99, 0xdf, 0xd1, 0x5f,             // MI e6be99dfd15fac91478510ac
        0xac, 0x91, 0x47, 0x85, 0x10, 0xac,
        0x00, 0x00, 0x00, 0x01,                         // MN 1
        0x00, 0x80, 0xc2, 0x01,                         // Algorithm Agility
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // CKN 0102...1f20
        0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
        0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, // (no padding: 60 is a multiple of 4)
    ];

    #[test]
    fn matches_wpa_supplicant_capture() {
        let mkpdu = captured_mkpdu(1);
        assert_eq!(mkpdu.len(), 64 + 16, "Basic Parameter Set and ICV only");
        assert_eq!(mkpdu[..64], WPA_SUPPLICANT_FRAME_1);
        let ckn: Vec<u8> = (1..=32).collect();
        let want = BasicParamSet {
            version: 1,
            key_server_priority: 16,
            key_server: true,
            macsec_desired: true,
            macsec_capability: MacsecCapability::ConfidentialityNoOffset,
            sci: Sci(0x0200_0000_000a_0001),
            mi: Mi([
                0xe6, 0xbe, 0x99, 0xdf, 0xd1, 0x5f, 0xac, 0x91, 0x47, 0x85, 0x10, 0xac,
            ]),
            mn: 1,
            algorithm_agility: ALGORITHM_AGILITY,
            ckn: Ckn::new(&ckn).unwrap(),
        };
        assert_eq!(
            BasicParamSet::parse(&WPA_SUPPLICANT_FRAME_1),
            Ok((want.clone(), 64))
        );
        assert_eq!(emit(&want), WPA_SUPPLICANT_FRAME_1);
        assert_eq!(MkpduRepr::parse(&mkpdu).unwrap().basic, want);
    }

    #[test]
    fn field_codes() {
        for (bits, cap) in [
            (0, MacsecCapability::NotImplemented),
            (1, MacsecCapability::IntegrityOnly),
            (2, MacsecCapability::ConfidentialityNoOffset),
            (3, MacsecCapability::ConfidentialityWithOffset),
        ] {
            assert_eq!((MacsecCapability::from_bits(bits), cap.bits()), (cap, bits));
            assert_eq!(
                MacsecCapability::from_bits(bits | 0xfc),
                cap,
                "only the 2 low bits count"
            );
        }
        for (bits, off, secy) in [
            (0, ConfidentialityOffset::NotConfidential, None),
            (1, ConfidentialityOffset::Offset0, Some(ConfOffset::Zero)),
            (2, ConfidentialityOffset::Offset30, Some(ConfOffset::Thirty)),
            (3, ConfidentialityOffset::Offset50, Some(ConfOffset::Fifty)),
        ] {
            assert_eq!((ConfidentialityOffset::from_bits(bits), off.bits()), (off, bits));
            assert_eq!(ConfidentialityOffset::from_bits(bits | 0xfc), off);
            assert_eq!(off.conf_offset(), secy);
            assert_eq!(ConfidentialityOffset::from_conf_offset(secy), off);
        }
        assert_eq!(
            cipher_suite_from_id(0x0080_0200_0100_0001),
            Some(CipherSuite::GcmAes128)
        );
        assert_eq!(
            cipher_suite_from_id(0x0080_c200_0100_0001),
            Some(CipherSuite::GcmAes128)
        );
        assert_eq!(
            cipher_suite_from_id(0x0080_c200_0100_0004),
            Some(CipherSuite::GcmAesXpn256)
        );
        assert_eq!(cipher_suite_from_id(0x0080_c200_0100_0005), None);
    }
}
