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
                if len % 10 != 0 {
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
