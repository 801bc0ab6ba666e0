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
