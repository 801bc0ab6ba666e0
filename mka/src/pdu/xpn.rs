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
