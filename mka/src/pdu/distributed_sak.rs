//! The Distributed SAK parameter set (802.1X-2020 Figures 11-11 and 11-12).

use super::{be32, be64, cipher_suite_from_id, set_type, ConfidentialityOffset, EmitError, MkpduError};
use crate::{Ki, Mi};
use macsec::secy::CipherSuite;

/// The AES-wrapped SAK of a Distributed SAK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WrappedSak {
    /// Key Number: with the sender's MI it forms the SAK's KI.
    pub kn: u32,
    /// The MACsec Cipher Suite identifier; `None` in the default form (GCM-AES-128, no identifier).
    pub cipher_suite_id: Option<u64>,
    /// RFC 3394 wrap of the SAK under the KEK: 24 octets (128-bit SAK) or 40 (256-bit SAK).
    pub wrapped: Vec<u8>,
}

/// The Distributed SAK parameter set (802.1X-2020 Figures 11-11 and 11-12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistributedSak {
    /// Distributed AN.
    pub an: u8,
    pub conf_offset: ConfidentialityOffset,
    /// `None`: an empty body (the key server says MACsec is not to be used).
    pub key: Option<WrappedSak>,
}

impl DistributedSak {
    pub(super) fn parse(octet2: u8, body: &[u8]) -> Result<Self, MkpduError> {
        let key = match body.len() {
            0 => None,
            28 => Some(WrappedSak {
                kn: be32(&body[0..4]),
                cipher_suite_id: None,
                wrapped: body[4..].to_vec(),
            }),
            36 | 52 => Some(WrappedSak {
                kn: be32(&body[0..4]),
                cipher_suite_id: Some(be64(&body[4..12])),
                wrapped: body[12..].to_vec(),
            }),
            len => {
                return Err(MkpduError::BadParamSetLength {
                    set_type: set_type::DISTRIBUTED_SAK,
                    len,
                })
            }
        };
        Ok(DistributedSak {
            an: octet2 >> 6,
            conf_offset: ConfidentialityOffset::from_bits(octet2 >> 4),
            key,
        })
    }

    pub(super) fn body_len(&self) -> usize {
        match &self.key {
            None => 0,
            Some(k) => 4 + if k.cipher_suite_id.is_some() { 8 } else { 0 } + k.wrapped.len(),
        }
    }

    pub(super) fn check(&self) -> Result<u8, EmitError> {
        if self.an > 3 {
            return Err(EmitError::Invalid("Distributed SAK AN above 3"));
        }
        if let Some(k) = &self.key {
            match (k.cipher_suite_id, k.wrapped.len()) {
                (None, 24) | (Some(_), 24 | 40) => {}
                _ => {
                    return Err(EmitError::Invalid(
                        "Distributed SAK wrap must be 24 octets, or 40 with a cipher suite",
                    ))
                }
            }
        }
        Ok((self.an << 6) | (self.conf_offset.bits() << 4))
    }

    pub(super) fn emit_body(&self, body: &mut [u8]) {
        if let Some(k) = &self.key {
            body[0..4].copy_from_slice(&k.kn.to_be_bytes());
            let mut off = 4;
            if let Some(id) = k.cipher_suite_id {
                body[4..12].copy_from_slice(&id.to_be_bytes());
                off = 12;
            }
            body[off..off + k.wrapped.len()].copy_from_slice(&k.wrapped);
        }
    }

    /// The cipher suite: GCM-AES-128 in the default form, otherwise the carried identifier
    /// (hostap's legacy GCM-AES-128 identifier included). `None` for an unknown identifier or an
    /// empty body.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        match self.key.as_ref()?.cipher_suite_id {
            None => Some(CipherSuite::GcmAes128),
            Some(id) => cipher_suite_from_id(id),
        }
    }

    /// The KI of the distributed SAK: the MI of the MKPDU that carried it (the key server's) and KN.
    pub fn ki(&self, sender_mi: Mi) -> Option<Ki> {
        self.key.as_ref().map(|k| Ki::new(sender_mi, k.kn))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{captured_mkpdu, emit_set, parse_mkpdu_with, parse_set, zero_set};
    use super::super::{MkpduRepr, ParamSet};
    use super::*;

    fn xpn256() -> DistributedSak {
        DistributedSak {
            an: 2,
            conf_offset: ConfidentialityOffset::Offset30,
            key: Some(WrappedSak {
                kn: 3,
                cipher_suite_id: Some(CipherSuite::GcmAesXpn256.id()),
                wrapped: vec![0x55; 40],
            }),
        }
    }

    #[rustfmt::skip]
    const XPN256: [u8; 56] = [
        0x04,                                           // Parameter Set Type 4: Distributed SAK
        0xa0,                                           // AN 2 (10......), Conf. Offset 2 (..10....): 30
        0x00,                                           // reserved, length bits 11-8 = 0
        0x34,                                           // body length 52 = 4 + 8 + 40
        0x00, 0x00, 0x00, 0x03,                         // Key Number 3
        0x00, 0x80, 0xc2, 0x00, 0x01, 0x00, 0x00, 0x04, // MACsec Cipher Suite GCM-AES-XPN-256
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, // AES Key Wrap of the 256-bit SAK (40 octets)
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    ];

    fn xpn128() -> DistributedSak {
        DistributedSak {
            an: 1,
            conf_offset: ConfidentialityOffset::Offset50,
            key: Some(WrappedSak {
                kn: 0x0102_0304,
                cipher_suite_id: Some(CipherSuite::GcmAesXpn128.id()),
                wrapped: vec![0x66; 24],
            }),
        }
    }

    #[rustfmt::skip]
    const XPN128: [u8; 40] = [
        0x04,                                           // Distributed SAK
        0x70,                                           // AN 1 (01......), Conf. Offset 3 (..11....): 50
        0x00,
        0x24,                                           // body length 36 = 4 + 8 + 24
        0x01, 0x02, 0x03, 0x04,                         // Key Number
        0x00, 0x80, 0xc2, 0x00, 0x01, 0x00, 0x00, 0x03, // MACsec Cipher Suite GCM-AES-XPN-128
        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, // AES Key Wrap of the 128-bit SAK (24 octets)
        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    ];

    #[test]
    fn emits_and_parses_the_exact_octets() {
        for (d, bytes) in [(xpn256(), &XPN256[..]), (xpn128(), &XPN128[..])] {
            assert_eq!(emit_set(&ParamSet::DistributedSak(d.clone())), bytes);
            assert_eq!(parse_set(bytes), Ok(ParamSet::DistributedSak(d)));
        }
        // The empty form: the key server says MACsec is not to be used.
        let empty = DistributedSak {
            an: 0,
            conf_offset: ConfidentialityOffset::NotConfidential,
            key: None,
        };
        assert_eq!(
            emit_set(&ParamSet::DistributedSak(empty.clone())),
            [0x04, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            parse_set(&[0x04, 0x00, 0x00, 0x00]),
            Ok(ParamSet::DistributedSak(empty.clone()))
        );
        assert_eq!((empty.cipher_suite(), empty.ki(Mi([1; 12]))), (None, None));
    }

    #[test]
    fn malformed_and_reserved() {
        // 0, 28 (default form), 36 and 52 are the only body lengths.
        for len in [4, 24, 27, 29, 32, 40, 44, 48, 53, 56] {
            let bytes = zero_set(0x04, 0x10, len as usize);
            assert_eq!(
                parse_set(&bytes),
                Err(MkpduError::BadParamSetLength {
                    set_type: 4,
                    len: len as usize
                })
            );
        }
        // Through the MKPDU.
        assert_eq!(
            parse_mkpdu_with(&[4, 0, 0, 4, 0, 0, 0, 0]),
            Err(MkpduError::BadParamSetLength { set_type: 4, len: 4 })
        );
        // The low nibble of octet 2 and the 4 bits of octet 3 are reserved: ignored, sent as 0.
        let mut bytes = XPN256;
        bytes[1] = 0xaf;
        bytes[2] = 0xf0;
        assert_eq!(parse_set(&bytes), Ok(ParamSet::DistributedSak(xpn256())));
        // Fields the wire cannot carry.
        let bad = |d: DistributedSak| ParamSet::DistributedSak(d).emit(&mut [0; 64]);
        assert_eq!(
            bad(DistributedSak { an: 4, ..xpn256() }),
            Err(EmitError::Invalid("Distributed SAK AN above 3"))
        );
        let wrap = "Distributed SAK wrap must be 24 octets, or 40 with a cipher suite";
        for (cipher_suite_id, len) in [(None, 40), (None, 16), (Some(CipherSuite::GcmAes256.id()), 32)] {
            let d = DistributedSak {
                key: Some(WrappedSak {
                    kn: 1,
                    cipher_suite_id,
                    wrapped: vec![0; len],
                }),
                ..xpn256()
            };
            assert_eq!(bad(d), Err(EmitError::Invalid(wrap)));
        }
    }

    #[test]
    fn cipher_suite_and_ki() {
        let with_id = |id| DistributedSak {
            key: Some(WrappedSak {
                kn: 7,
                cipher_suite_id: id,
                wrapped: vec![0; 24],
            }),
            ..xpn256()
        };
        assert_eq!(with_id(None).cipher_suite(), Some(CipherSuite::GcmAes128));
        assert_eq!(
            with_id(Some(0x0080_0200_0100_0001)).cipher_suite(),
            Some(CipherSuite::GcmAes128)
        );
        assert_eq!(
            with_id(Some(0x0080_c200_0100_0002)).cipher_suite(),
            Some(CipherSuite::GcmAes256)
        );
        assert_eq!(with_id(Some(0x0080_c200_0100_0009)).cipher_suite(), None);
        assert_eq!(with_id(None).ki(Mi([4; 12])), Some(Ki::new(Mi([4; 12]), 7)));
    }

    /// Frame 3 of wpa_mka.pcap: the key server distributes the SAK of wpa_mka.keys.json in the
    /// default form (GCM-AES-128, no identifier): AN 0, confidentiality offset 0, KN 1.
    #[rustfmt::skip]
    const WPA_SUPPLICANT_FRAME_3: [u8; 32] = [
        0x04,                                           // Distributed SAK
        0x10,                                           // AN 0, Confidentiality Offset 1: offset 0
        0x00,
        0x1c,                                           // body length 28 = 4 + 24
        0x00, 0x00, 0x00, 0x01,                         // Key Number 1
        0x3e, 0x6a, 0x86, 0x3a, 0xc2, 0xc5, 0x35, 0xcc, // AES Key Wrap of the SAK under the KEK
        0xc6, 0xc5, 0xb3, 0xf7, 0xbd, 0xa8, 0x23, 0x30,
        0x3a, 0x46, 0xc9, 0x7d, 0xcb, 0x82, 0x74, 0x6a,
    ];

    #[test]
    fn matches_wpa_supplicant_capture() {
        let mkpdu = captured_mkpdu(3);
        // Basic Parameter Set (64), Live Peer List (20), then the Distributed SAK.
        assert_eq!(mkpdu[84..116], WPA_SUPPLICANT_FRAME_3);
        let want = DistributedSak {
            an: 0,
            conf_offset: ConfidentialityOffset::Offset0,
            key: Some(WrappedSak {
                kn: 1,
                cipher_suite_id: None,
                wrapped: WPA_SUPPLICANT_FRAME_3[8..].to_vec(),
            }),
        };
        assert_eq!(
            parse_set(&WPA_SUPPLICANT_FRAME_3),
            Ok(ParamSet::DistributedSak(want.clone()))
        );
        assert_eq!(
            emit_set(&ParamSet::DistributedSak(want.clone())),
            WPA_SUPPLICANT_FRAME_3
        );
        let repr = MkpduRepr::parse(&mkpdu).unwrap();
        assert_eq!(repr.distributed_sak(), Some(&want));
        let ks = Mi([
            0xe6, 0xbe, 0x99, 0xdf, 0xd1, 0x5f, 0xac, 0x91, 0x47, 0x85, 0x10, 0xac,
        ]);
        assert_eq!(want.ki(repr.basic.mi), Some(Ki::new(ks, 1)));
        assert_eq!(want.cipher_suite(), Some(CipherSuite::GcmAes128));
    }
}
