//! The Distributed CAK parameter set (802.1X-2020 Figure 11-13).

use super::EmitError;
use crate::kdf::Ckn;

/// Octets of the AES-wrapped CAK in a Distributed CAK.
pub const WRAPPED_CAK_LEN: usize = 24;

/// The Distributed CAK parameter set (802.1X-2020 Figure 11-13): a wrapped 128-bit group CAK and
/// its CKN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistributedCak {
    /// RFC 3394 wrap of the CAK under the KEK ([`WRAPPED_CAK_LEN`] octets).
    pub wrapped_cak: Vec<u8>,
    pub ckn: Ckn,
}

impl DistributedCak {
    /// Parses the body (`None` if it has no CKN or the CKN is too long).
    pub(super) fn parse(body: &[u8]) -> Option<Self> {
        if body.len() <= WRAPPED_CAK_LEN {
            return None;
        }
        let ckn = Ckn::new(&body[WRAPPED_CAK_LEN..]).ok()?;
        Some(DistributedCak {
            wrapped_cak: body[..WRAPPED_CAK_LEN].to_vec(),
            ckn,
        })
    }

    pub(super) fn body_len(&self) -> usize {
        self.wrapped_cak.len() + self.ckn.len()
    }

    pub(super) fn check(&self) -> Result<(), EmitError> {
        if self.wrapped_cak.len() != WRAPPED_CAK_LEN {
            return Err(EmitError::Invalid("Distributed CAK wrap must be 24 octets"));
        }
        Ok(())
    }

    pub(super) fn emit_body(&self, body: &mut [u8]) {
        body[..WRAPPED_CAK_LEN].copy_from_slice(&self.wrapped_cak);
        body[WRAPPED_CAK_LEN..].copy_from_slice(self.ckn.as_bytes());
    }
}
