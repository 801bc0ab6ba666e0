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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{emit_set, parse_mkpdu_with, parse_set, zero_set};
    use super::super::{MkpduError, ParamSet};
    use super::*;

    fn example() -> DistributedCak {
        DistributedCak {
            wrapped_cak: (0x10..0x28).collect(),
            ckn: Ckn::new(b"abc").unwrap(),
        }
    }

    /// No captured MKPDU carries a Distributed CAK parameter set (wpa_supplicant 2.10 at MKA version 1 sends
    /// none), so these octets were cross-checked once by hand: put after a Basic Parameter Set in an EAPOL-
    /// MKA frame, Wireshark 4.0.17's MKA dissector (`tshark -V`) decodes every field as the repr below has
    /// it.
    #[rustfmt::skip]
    const EXAMPLE: [u8; 32] = [
        0x05,                                           // Parameter Set Type 5: Distributed CAK
        0x00,                                           // reserved
        0x00,                                           // reserved, length bits 11-8 = 0
        0x1b,                                           // body length 27 = 24 + 3
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, // AES Key Wrap of the CAK (24 octets)
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
        0x61, 0x62, 0x63,                               // CAK Key Name "abc"
        0x00,                                           // padding
    ];

    #[test]
    fn emits_and_parses_the_exact_octets() {
        assert_eq!(emit_set(&ParamSet::DistributedCak(example())), EXAMPLE);
        assert_eq!(parse_set(&EXAMPLE), Ok(ParamSet::DistributedCak(example())));
        // Reserved octet 2 and octet 3 bits are ignored.
        let mut bytes = EXAMPLE;
        bytes[1] = 0xff;
        bytes[2] = 0xf0;
        assert_eq!(parse_set(&bytes), Ok(ParamSet::DistributedCak(example())));
        // The longest CKN: 32 octets (body 56).
        let long = DistributedCak {
            wrapped_cak: vec![0; 24],
            ckn: Ckn::new(&[0x5a; 32]).unwrap(),
        };
        let bytes = emit_set(&ParamSet::DistributedCak(long.clone()));
        assert_eq!(bytes[..4], [0x05, 0x00, 0x00, 0x38]);
        assert_eq!(parse_set(&bytes), Ok(ParamSet::DistributedCak(long)));
    }

    #[test]
    fn malformed() {
        // No CKN (a bare wrap, or less), or a CKN above 32 octets.
        for len in [0, 8, 23, 24, 57, 60] {
            let bytes = zero_set(0x05, 0x00, len as usize);
            assert_eq!(
                parse_set(&bytes),
                Err(MkpduError::BadParamSetLength {
                    set_type: 5,
                    len: len as usize
                })
            );
        }
        let mut bare = vec![5, 0, 0, 24];
        bare.extend_from_slice(&[0; 24]);
        assert_eq!(
            parse_mkpdu_with(&bare),
            Err(MkpduError::BadParamSetLength { set_type: 5, len: 24 })
        );
        // Only a 128-bit CAK (a 24-octet wrap) can be distributed.
        for len in [16, 40] {
            let d = DistributedCak {
                wrapped_cak: vec![0; len],
                ..example()
            };
            assert_eq!(
                ParamSet::DistributedCak(d).emit(&mut [0; 64]),
                Err(EmitError::Invalid("Distributed CAK wrap must be 24 octets"))
            );
        }
    }
}
