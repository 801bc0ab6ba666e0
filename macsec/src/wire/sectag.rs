//! The MACsec Security TAG (IEEE 802.1AE-2018 clause 9) and the 9.12 validity rules.
//!
//! ```text
//!  0      2        3    4          8                  16
//!  +------+--------+----+----------+------------------+
//!  |88-E5 | TCI/AN | SL |    PN    |  SCI (optional)  |
//!  +------+--------+----+----------+------------------+
//! ```
//! The view starts at the MACsec EtherType, i.e. at octet 12 of the frame.

use super::ethernet::{EtherType, ADDRS_LEN};
use core::fmt;

mod field {
    use core::ops::Range;
    pub const ETHERTYPE: Range<usize> = 0..2;
    pub const TCI_AN: usize = 2;
    pub const SL: usize = 3;
    pub const PN: Range<usize> = 4..8;
    pub const SCI: Range<usize> = 8..16;
}

/// SecTAG length without SCI (EtherType included).
pub const SECTAG_LEN_NO_SCI: usize = 8;
/// SecTAG length with an explicit SCI.
pub const SECTAG_LEN_SCI: usize = 16;
/// Largest Short Length value: secure data shorter than 48 octets is encoded, 0 otherwise.
pub const SL_MAX: usize = 47;

/// The TCI bits (802.1AE-2018 9.5) and the 2-bit AN that share the octet.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Tci(pub u8);

impl Tci {
    pub const V: u8 = 0x80;
    pub const ES: u8 = 0x40;
    pub const SC: u8 = 0x20;
    pub const SCB: u8 = 0x10;
    pub const E: u8 = 0x08;
    pub const C: u8 = 0x04;
    pub const AN_MASK: u8 = 0x03;

    pub fn version(self) -> bool {
        self.0 & Self::V != 0
    }
    pub fn es(self) -> bool {
        self.0 & Self::ES != 0
    }
    pub fn sc(self) -> bool {
        self.0 & Self::SC != 0
    }
    pub fn scb(self) -> bool {
        self.0 & Self::SCB != 0
    }
    pub fn e(self) -> bool {
        self.0 & Self::E != 0
    }
    pub fn c(self) -> bool {
        self.0 & Self::C != 0
    }
    pub fn an(self) -> u8 {
        self.0 & Self::AN_MASK
    }
}

impl fmt::Debug for Tci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tci(V={} ES={} SC={} SCB={} E={} C={} AN={})",
            self.version() as u8,
            self.es() as u8,
            self.sc() as u8,
            self.scb() as u8,
            self.e() as u8,
            self.c() as u8,
            self.an()
        )
    }
}

/// Why a frame is not a valid MACsec frame. `NotMacsec` is an untagged frame (InPktsUntagged /
/// InPktsNoTag); every other variant is a 802.1AE-2018 9.12 violation counted as InPktsBadTag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecTagError {
    #[error("not a MACsec frame (EtherType is not 88-E5)")]
    NotMacsec,
    #[error("MPDU too short for its SecTAG and ICV (9.12 a/b)")]
    Truncated,
    #[error("SecTAG version bit V is set (9.12 c)")]
    VersionSet,
    #[error("ES and SC both set (9.12 d)")]
    EsWithSc,
    #[error("SCB and SC both set (9.12 d)")]
    ScbWithSc,
    #[error("reserved bits of the SL octet are set (9.12 e)")]
    SlReserved,
    #[error("SL does not match the secure data length (9.12 f)")]
    SlMismatch,
    #[error("C bit set without E (reserved encoding)")]
    CWithoutE,
}

impl SecTagError {
    /// True for the frames that are counted as InPktsBadTag (every error but `NotMacsec`).
    pub fn is_bad_tag(self) -> bool {
        self != SecTagError::NotMacsec
    }
}

/// A view of a SecTAG (starting at its EtherType).
#[derive(Debug, Clone)]
pub struct SecTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SecTag<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        SecTag { buffer }
    }

    /// Checks the EtherType, the length of the tag itself and the TCI/SL encoding rules
    /// (9.12 c, d, e). The SL-versus-length rule needs the ICV length: see [`SecTagRepr::parse_mpdu`].
    pub fn new_checked(buffer: T) -> Result<Self, SecTagError> {
        let b = buffer.as_ref();
        if b.len() < 2 {
            return Err(SecTagError::NotMacsec);
        }
        if u16::from_be_bytes([b[0], b[1]]) != EtherType::MACSEC.0 {
            return Err(SecTagError::NotMacsec);
        }
        if b.len() < SECTAG_LEN_NO_SCI {
            return Err(SecTagError::Truncated);
        }
        let tag = SecTag { buffer };
        let tci = tag.tci();
        if tci.version() {
            return Err(SecTagError::VersionSet);
        }
        if tci.es() && tci.sc() {
            return Err(SecTagError::EsWithSc);
        }
        if tci.scb() && tci.sc() {
            return Err(SecTagError::ScbWithSc);
        }
        if tag.buffer.as_ref()[field::SL] & 0xc0 != 0 {
            return Err(SecTagError::SlReserved);
        }
        if tci.c() && !tci.e() {
            return Err(SecTagError::CWithoutE);
        }
        if tag.buffer.as_ref().len() < tag.header_len() {
            return Err(SecTagError::Truncated);
        }
        Ok(tag)
    }

    pub fn tci(&self) -> Tci {
        Tci(self.buffer.as_ref()[field::TCI_AN])
    }
    pub fn short_len(&self) -> u8 {
        self.buffer.as_ref()[field::SL] & 0x3f
    }
    pub fn pn(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::PN];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// The explicit SCI, when the SC bit is set.
    pub fn sci(&self) -> Option<u64> {
        if !self.tci().sc() {
            return None;
        }
        let b = &self.buffer.as_ref()[field::SCI];
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_be_bytes(a))
    }
    /// Octets of the SecTAG: 16 with an SCI, 8 without.
    pub fn header_len(&self) -> usize {
        if self.tci().sc() {
            SECTAG_LEN_SCI
        } else {
            SECTAG_LEN_NO_SCI
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SecTag<T> {
    pub fn set_tci(&mut self, tci: Tci) {
        self.buffer.as_mut()[field::TCI_AN] = tci.0;
    }
    pub fn set_short_len(&mut self, sl: u8) {
        self.buffer.as_mut()[field::SL] = sl & 0x3f;
    }
    pub fn set_pn(&mut self, pn: u32) {
        self.buffer.as_mut()[field::PN].copy_from_slice(&pn.to_be_bytes());
    }
    pub fn set_sci(&mut self, sci: u64) {
        self.buffer.as_mut()[field::SCI].copy_from_slice(&sci.to_be_bytes());
    }
}

/// A high-level representation of a SecTAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecTagRepr {
    /// TCI bits and AN, exactly as on the wire.
    pub tci: Tci,
    /// Short Length (0 when the secure data is 48 octets or more).
    pub short_len: u8,
    /// The 32 PN bits on the wire (the low half of an XPN).
    pub pn: u32,
    /// The explicit SCI, present iff `tci.sc()`.
    pub sci: Option<u64>,
}

impl SecTagRepr {
    /// Parses the SecTAG that starts at `buf[0]`.
    pub fn parse<T: AsRef<[u8]>>(tag: &SecTag<T>) -> SecTagRepr {
        SecTagRepr {
            tci: tag.tci(),
            short_len: tag.short_len(),
            pn: tag.pn(),
            sci: tag.sci(),
        }
    }

    /// Parses and checks a whole MPDU as the receive path sees it: `frame` is DA‖SA‖SecTAG‖Secure
    /// Data‖ICV (no FCS). Applies every 802.1AE-2018 9.12 rule, including the SL rule, and returns
    /// the tag and the length of the Secure Data.
    pub fn parse_mpdu(frame: &[u8], icv_len: usize) -> Result<(SecTagRepr, usize), SecTagError> {
        if frame.len() < ADDRS_LEN + 2 {
            return Err(SecTagError::NotMacsec);
        }
        let tag = SecTag::new_checked(&frame[ADDRS_LEN..])?;
        let hdr = tag.header_len();
        let repr = SecTagRepr::parse(&tag);
        let overhead = ADDRS_LEN + hdr + icv_len;
        // 9.12 a/b: at least the tag, the ICV and 1 octet of secure data (an empty secure data
        // cannot be encoded: SL would be 0, which means "48 or more").
        if frame.len() <= overhead {
            return Err(SecTagError::Truncated);
        }
        let secure_len = frame.len() - overhead;
        let sl = repr.short_len as usize;
        let consistent = if secure_len <= SL_MAX {
            sl == secure_len
        } else {
            sl == 0
        };
        if !consistent {
            return Err(SecTagError::SlMismatch);
        }
        Ok((repr, secure_len))
    }

    /// Octets this tag takes on the wire.
    pub fn buffer_len(&self) -> usize {
        if self.sci.is_some() {
            SECTAG_LEN_SCI
        } else {
            SECTAG_LEN_NO_SCI
        }
    }

    /// The SL value for `secure_len` octets of Secure Data.
    pub fn short_len_for(secure_len: usize) -> u8 {
        if secure_len <= SL_MAX {
            secure_len as u8
        } else {
            0
        }
    }

    /// The tag's octets: `bytes[..len]` is the tag. The SC bit follows `self.sci`. Built in
    /// registers so the packet path stores it with one copy.
    #[inline]
    pub fn to_bytes(&self) -> ([u8; SECTAG_LEN_SCI], usize) {
        let mut b = [0u8; SECTAG_LEN_SCI];
        b[field::ETHERTYPE].copy_from_slice(&EtherType::MACSEC.0.to_be_bytes());
        let mut tci = self.tci.0 & !Tci::SC;
        if self.sci.is_some() {
            tci |= Tci::SC;
        }
        b[field::TCI_AN] = tci;
        b[field::SL] = self.short_len & 0x3f;
        b[field::PN].copy_from_slice(&self.pn.to_be_bytes());
        if let Some(sci) = self.sci {
            b[field::SCI].copy_from_slice(&sci.to_be_bytes());
        }
        (b, self.buffer_len())
    }

    /// Writes the tag into `buf[..self.buffer_len()]`: built in two 64-bit registers (EtherType,
    /// TCI/AN, SL and PN; the SCI) and stored with one 8-octet store each. (Built octet by octet
    /// in an array and copied, the copy's loads waited for the octet stores to retire, and the
    /// compiler merged the 16- and 8-octet copies into a call to memmove: 9% of protect at 64
    /// octets.)
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) {
        let mut tci = self.tci.0 & !Tci::SC;
        if self.sci.is_some() {
            tci |= Tci::SC;
        }
        let word = (u64::from(EtherType::MACSEC.0) << 48)
            | (u64::from(tci) << 40)
            | (u64::from(self.short_len & 0x3f) << 32)
            | u64::from(self.pn);
        buf[..SECTAG_LEN_NO_SCI].copy_from_slice(&word.to_be_bytes());
        if let Some(sci) = self.sci {
            buf[SECTAG_LEN_NO_SCI..SECTAG_LEN_SCI].copy_from_slice(&sci.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tci: u8, sl: u8, secure: usize, with_sci: bool) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        let repr = SecTagRepr {
            tci: Tci(tci),
            short_len: sl,
            pn: 0x0102_0304,
            sci: with_sci.then_some(0x1122_3344_5566_0001),
        };
        let mut t = vec![0u8; repr.buffer_len()];
        repr.emit(&mut t);
        f.extend_from_slice(&t);
        f.extend(std::iter::repeat_n(0xaa, secure + 16));
        f
    }

    #[test]
    fn emit_parse_round_trip() {
        let f = frame(0x2c, 0, 60, true);
        let (r, len) = SecTagRepr::parse_mpdu(&f, 16).unwrap();
        assert_eq!(len, 60);
        assert_eq!(r.tci.an(), 0);
        assert!(r.tci.e() && r.tci.c() && r.tci.sc());
        assert_eq!(r.pn, 0x0102_0304);
        assert_eq!(r.sci, Some(0x1122_3344_5566_0001));
        assert_eq!(&f[12..20], &[0x88, 0xe5, 0x2c, 0x00, 0x01, 0x02, 0x03, 0x04]);
        let f = frame(0x4d, 20, 20, false);
        let (r, len) = SecTagRepr::parse_mpdu(&f, 16).unwrap();
        assert_eq!((len, r.tci.an(), r.sci, r.short_len), (20, 1, None, 20));
    }

    #[test]
    fn rule_violations() {
        let cases: &[(Vec<u8>, SecTagError)] = &[
            (frame(0xac, 0, 60, true), SecTagError::VersionSet),
            (frame(0x6c, 0, 60, true), SecTagError::EsWithSc),
            (frame(0x3c, 0, 60, true), SecTagError::ScbWithSc),
            (frame(0x24, 0, 60, true), SecTagError::CWithoutE),
            (frame(0x2c, 10, 60, true), SecTagError::SlMismatch),
            (frame(0x2c, 0, 47, true), SecTagError::SlMismatch),
            (frame(0x2c, 48, 48, true), SecTagError::SlMismatch),
            (frame(0x2c, 0, 0, true), SecTagError::Truncated),
        ];
        for (f, e) in cases {
            assert_eq!(SecTagRepr::parse_mpdu(f, 16).unwrap_err(), *e, "{f:02x?}");
            assert!(e.is_bad_tag());
        }
        let mut f = frame(0x2c, 0, 60, true);
        f[15] = 0x80;
        assert_eq!(
            SecTagRepr::parse_mpdu(&f, 16).unwrap_err(),
            SecTagError::SlReserved
        );
        f[12] = 0x08;
        assert_eq!(
            SecTagRepr::parse_mpdu(&f, 16).unwrap_err(),
            SecTagError::NotMacsec
        );
        assert!(!SecTagError::NotMacsec.is_bad_tag());
        // a SecTAG cut inside the SCI
        let f = frame(0x2c, 0, 60, true);
        assert_eq!(
            SecTagRepr::parse_mpdu(&f[..24], 16).unwrap_err(),
            SecTagError::Truncated
        );
        assert_eq!(
            SecTagRepr::parse_mpdu(&f[..15], 16).unwrap_err(),
            SecTagError::Truncated
        );
        assert_eq!(
            SecTagRepr::parse_mpdu(&f[..13], 16).unwrap_err(),
            SecTagError::NotMacsec
        );
    }
}
