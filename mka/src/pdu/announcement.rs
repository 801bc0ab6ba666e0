//! The Announcement parameter set (802.1X-2020 11.12) and its TLVs.

use super::{be64, EmitError, MacsecCapability, MkpduError};

/// Announcement TLV type of the MACsec Cipher Suites TLV.
pub const TLV_MACSEC_CIPHER_SUITES: u8 = 112;

/// One entry of the MACsec Cipher Suites TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CipherSuiteCap {
    /// Cipher Suite Implementation Capability.
    pub capability: MacsecCapability,
    pub id: u64,
}

/// One TLV of an Announcement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnnouncementTlv {
    /// TLV 112, MACsec Cipher Suites: 10-octet entries.
    CipherSuites(Vec<CipherSuiteCap>),
    /// Any other TLV (Access Information 111, KMD 113, NID 114, organisation-specific 126/127, ...),
    /// kept raw.
    Other { tlv_type: u8, value: Vec<u8> },
}

impl AnnouncementTlv {
    pub fn tlv_type(&self) -> u8 {
        match self {
            AnnouncementTlv::CipherSuites(_) => TLV_MACSEC_CIPHER_SUITES,
            AnnouncementTlv::Other { tlv_type, .. } => *tlv_type,
        }
    }
    fn value_len(&self) -> usize {
        match self {
            AnnouncementTlv::CipherSuites(v) => v.len() * 10,
            AnnouncementTlv::Other { value, .. } => value.len(),
        }
    }
}

/// The Announcement parameter set (802.1X-2020 11.12): a sequence of TLVs with a 7-bit type and a
/// 9-bit length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Announcement {
    pub tlvs: Vec<AnnouncementTlv>,
}

impl Announcement {
    pub(super) fn parse(body: &[u8]) -> Result<Self, MkpduError> {
        let mut tlvs = Vec::new();
        let mut off = 0;
        while off < body.len() {
            let bad = MkpduError::BadAnnouncementTlv { offset: off };
            let h = body.get(off..off + 2).ok_or(bad)?;
            let tlv_type = h[0] >> 1;
            let len = (((h[0] & 1) as usize) << 8) | h[1] as usize;
            let value = body.get(off + 2..off + 2 + len).ok_or(bad)?;
            tlvs.push(if tlv_type == TLV_MACSEC_CIPHER_SUITES {
                if !len.is_multiple_of(10) {
                    return Err(bad);
                }
                AnnouncementTlv::CipherSuites(
                    value
                        .chunks_exact(10)
                        .map(|e| CipherSuiteCap {
                            capability: MacsecCapability::from_bits(e[1]),
                            id: be64(&e[2..10]),
                        })
                        .collect(),
                )
            } else {
                AnnouncementTlv::Other {
                    tlv_type,
                    value: value.to_vec(),
                }
            });
            off += 2 + len;
        }
        Ok(Announcement { tlvs })
    }

    pub(super) fn body_len(&self) -> usize {
        self.tlvs.iter().map(|t| 2 + t.value_len()).sum()
    }

    pub(super) fn check(&self) -> Result<(), EmitError> {
        for t in &self.tlvs {
            if t.tlv_type() > 0x7f {
                return Err(EmitError::Invalid("Announcement TLV type above 127"));
            }
            if t.value_len() > 0x1ff {
                return Err(EmitError::Invalid("Announcement TLV longer than 511 octets"));
            }
            if matches!(
                t,
                AnnouncementTlv::Other {
                    tlv_type: TLV_MACSEC_CIPHER_SUITES,
                    ..
                }
            ) {
                return Err(EmitError::Invalid(
                    "TLV 112 must be AnnouncementTlv::CipherSuites",
                ));
            }
        }
        Ok(())
    }

    pub(super) fn emit_body(&self, body: &mut [u8]) {
        let mut off = 0;
        for t in &self.tlvs {
            let len = t.value_len();
            body[off] = (t.tlv_type() << 1) | ((len >> 8) as u8 & 1);
            body[off + 1] = len as u8;
            off += 2;
            match t {
                AnnouncementTlv::CipherSuites(v) => {
                    for e in v {
                        body[off] = 0;
                        body[off + 1] = e.capability.bits();
                        body[off + 2..off + 10].copy_from_slice(&e.id.to_be_bytes());
                        off += 10;
                    }
                }
                AnnouncementTlv::Other { value, .. } => {
                    body[off..off + len].copy_from_slice(value);
                    off += len;
                }
            }
        }
    }

    /// The MACsec Cipher Suites TLV's entries, if the announcement has one (the first).
    pub fn cipher_suites(&self) -> Option<&[CipherSuiteCap]> {
        self.tlvs.iter().find_map(|t| match t {
            AnnouncementTlv::CipherSuites(v) => Some(&v[..]),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{announcement as example, emit_set, parse_mkpdu_with, parse_set};
    use super::super::ParamSet;
    use super::*;

    /// No captured MKPDU carries an Announcement parameter set (wpa_supplicant 2.10 at MKA version 1 sends
    /// none), so these octets were cross-checked once by hand: put after a Basic Parameter Set in an EAPOL-
    /// MKA frame, Wireshark 4.0.17's MKA dissector (`tshark -V`) decodes every field as the repr below has
    /// it.
    #[rustfmt::skip]
    const EXAMPLE: [u8; 32] = [
        0x07,                                           // Parameter Set Type 7: Announcement
        0x00,                                           // reserved
        0x00,                                           // reserved, length bits 11-8 = 0
        0x1b,                                           // body length 27 = (2 + 20) + (2 + 3)
        0xe0,                                           // TLV type 112 (1110000.), length bit 8 = 0
        0x14,                                           // TLV length 20: two entries
        0x00, 0x03,                                     //   Implementation Capability 3
        0x00, 0x80, 0xc2, 0x00, 0x01, 0x00, 0x00, 0x01, //   GCM-AES-128
        0x00, 0x02,                                     //   Implementation Capability 2
        0x00, 0x80, 0xc2, 0x00, 0x01, 0x00, 0x00, 0x04, //   GCM-AES-XPN-256
        0xfc,                                           // TLV type 126 (1111110.), length bit 8 = 0
        0x03,                                           // TLV length 3
        0x01, 0x02, 0x03,                               //   value, kept raw
        0x00,                                           // padding
    ];

    #[test]
    fn emits_and_parses_the_exact_octets() {
        assert_eq!(emit_set(&ParamSet::Announcement(example())), EXAMPLE);
        assert_eq!(parse_set(&EXAMPLE), Ok(ParamSet::Announcement(example())));
        assert_eq!(example().cipher_suites().map(<[_]>::len), Some(2));
        // An empty Announcement is a bare header.
        let empty = ParamSet::Announcement(Announcement::default());
        assert_eq!(emit_set(&empty), [0x07, 0x00, 0x00, 0x00]);
        assert_eq!(parse_set(&[0x07, 0x00, 0x00, 0x00]), Ok(empty));
        // The capability octets' reserved high bits are ignored.
        let mut bytes = EXAMPLE;
        bytes[6] = 0xff;
        bytes[7] = 0xff;
        assert_eq!(parse_set(&bytes), Ok(ParamSet::Announcement(example())));
    }

    #[test]
    fn tlv_length_has_9_bits() {
        // Access Information (111) with 300 octets: 111 << 1 | 1 = 0xdf, 300 - 256 = 0x2c (Wireshark
        // 4.0.17 reads it as TLV type 111, length 300, then 2 octets of padding).
        let a = Announcement {
            tlvs: vec![AnnouncementTlv::Other {
                tlv_type: 111,
                value: vec![0xaa; 300],
            }],
        };
        let bytes = emit_set(&ParamSet::Announcement(a.clone()));
        assert_eq!(bytes.len(), 4 + 304);
        assert_eq!(bytes[..6], [0x07, 0x00, 0x01, 0x2e, 0xdf, 0x2c]); // body 302 = 0x12e
        assert_eq!(bytes[306..], [0x00, 0x00]);
        assert_eq!(parse_set(&bytes), Ok(ParamSet::Announcement(a)));
    }

    #[test]
    fn malformed_tlvs_give_their_offset() {
        let bad = |offset| Err(MkpduError::BadAnnouncementTlv { offset });
        // One octet left for a TLV header (after a 2-octet empty TLV 126).
        assert_eq!(parse_set(&[0x07, 0, 0, 3, 0xfc, 0x00, 0xe0, 0]), bad(2));
        // The value runs past the body.
        assert_eq!(parse_set(&[0x07, 0, 0, 4, 0xe0, 5, 0, 0]), bad(0));
        // A TLV length of 256 (the 9th bit set) in a 4-octet body.
        assert_eq!(parse_set(&[0x07, 0, 0, 4, 0xfd, 0x00, 0, 0]), bad(0));
        // A Cipher Suites TLV not of whole 10-octet entries, after a good first TLV.
        let mut v = vec![0x07, 0, 0, 16, 0xfc, 1, 9, 0xe0, 9];
        v.resize(4 + 16, 0);
        assert_eq!(parse_set(&v), bad(3));
        // Through the MKPDU.
        assert_eq!(
            parse_mkpdu_with(&[7, 0, 0, 4, 0xe0, 5, 0, 0]),
            Err(MkpduError::BadAnnouncementTlv { offset: 0 })
        );
    }

    #[test]
    fn unrepresentable_tlvs_are_refused() {
        let emit = |tlv| ParamSet::Announcement(Announcement { tlvs: vec![tlv] }).emit(&mut [0; 600]);
        let other = |tlv_type, len| AnnouncementTlv::Other {
            tlv_type,
            value: vec![0; len],
        };
        assert_eq!(
            emit(other(128, 0)),
            Err(EmitError::Invalid("Announcement TLV type above 127"))
        );
        assert_eq!(
            emit(other(126, 512)),
            Err(EmitError::Invalid("Announcement TLV longer than 511 octets"))
        );
        assert_eq!(
            emit(other(TLV_MACSEC_CIPHER_SUITES, 10)),
            Err(EmitError::Invalid(
                "TLV 112 must be AnnouncementTlv::CipherSuites"
            ))
        );
        assert_eq!(emit(other(126, 511)), Ok(4 + 2 + 511 + 3));
    }
}
