//! The XPN parameter set (802.1Xbx-2014 onward, 802.1X-2020 Figure 11-16).

use super::be32;

/// Octets of the XPN parameter set body.
pub const XPN_BODY_LEN: usize = 8;

/// The XPN parameter set (802.1Xbx-2014 onward, 802.1X-2020 Figure 11-16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Xpn {
    /// MKA Suspension Time in seconds (octet 2): the key server's suspendedWhile, or a member's
    /// requested suspendFor.
    pub suspension_time: u8,
    /// Latest Key Lowest Acceptable PN, 32 most significant bits (0 for non-XPN suites).
    pub latest_lowest_pn_msb: u32,
    /// Old Key Lowest Acceptable PN, 32 most significant bits.
    pub old_lowest_pn_msb: u32,
}

impl Xpn {
    /// Parses the body (`None` if it is not [`XPN_BODY_LEN`] octets).
    pub(super) fn parse(octet2: u8, body: &[u8]) -> Option<Self> {
        if body.len() != XPN_BODY_LEN {
            return None;
        }
        Some(Xpn {
            suspension_time: octet2,
            latest_lowest_pn_msb: be32(&body[0..4]),
            old_lowest_pn_msb: be32(&body[4..8]),
        })
    }

    pub(super) fn emit_body(&self, body: &mut [u8]) {
        body[0..4].copy_from_slice(&self.latest_lowest_pn_msb.to_be_bytes());
        body[4..8].copy_from_slice(&self.old_lowest_pn_msb.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{emit_set, parse_mkpdu_with, parse_set, zero_set};
    use super::super::{MkpduError, ParamSet};
    use super::*;

    /// No captured MKPDU carries an XPN parameter set (wpa_supplicant 2.10 at MKA version 1 sends none), so
    /// these octets were cross-checked once by hand: put after a Basic Parameter Set in an EAPOL-MKA frame,
    /// Wireshark 4.0.17's MKA dissector (`tshark -V`) decodes every field as the repr below has it.
    #[rustfmt::skip]
    const EXAMPLE: [u8; 12] = [
        0x08,                                           // Parameter Set Type 8: XPN
        0x1e,                                           // MKA Suspension Time 30 s
        0x00,                                           // reserved, length bits 11-8 = 0
        0x08,                                           // body length 8
        0x01, 0x02, 0x03, 0x04,                         // Latest Key Lowest Acceptable PN, 32 MSBs
        0xff, 0xff, 0xff, 0xfe,                         // Old Key Lowest Acceptable PN, 32 MSBs
    ];

    fn example() -> Xpn {
        Xpn {
            suspension_time: 30,
            latest_lowest_pn_msb: 0x0102_0304,
            old_lowest_pn_msb: 0xffff_fffe,
        }
    }

    #[test]
    fn emits_and_parses_the_exact_octets() {
        assert_eq!(emit_set(&ParamSet::Xpn(example())), EXAMPLE);
        assert_eq!(parse_set(&EXAMPLE), Ok(ParamSet::Xpn(example())));
        let zero = [0x08, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(emit_set(&ParamSet::Xpn(Xpn::default())), zero);
        // The 4 bits of octet 3 are reserved: ignored, sent as 0.
        let mut bytes = EXAMPLE;
        bytes[2] = 0xf0;
        assert_eq!(parse_set(&bytes), Ok(ParamSet::Xpn(example())));
    }

    #[test]
    fn only_8_octets_is_a_body() {
        for len in [0, 4, 7, 9, 12, 16] {
            let bytes = zero_set(0x08, 0x00, len as usize);
            assert_eq!(
                parse_set(&bytes),
                Err(MkpduError::BadParamSetLength {
                    set_type: 8,
                    len: len as usize
                })
            );
        }
        // Through the MKPDU.
        assert_eq!(
            parse_mkpdu_with(&[8, 0, 0, 4, 0, 0, 0, 0]),
            Err(MkpduError::BadParamSetLength { set_type: 8, len: 4 })
        );
    }
}
