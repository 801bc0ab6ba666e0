//! Ethernet II header and IEEE 802.1Q / 802.1ad tags.

use super::WireError;
use core::fmt;

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub fn from_slice(b: &[u8]) -> Self {
        let mut a = [0u8; 6];
        a.copy_from_slice(&b[..6]);
        MacAddr(a)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The EtherTypes the appliance classifies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EtherType(pub u16);

impl EtherType {
    pub const IPV4: EtherType = EtherType(0x0800);
    pub const VLAN: EtherType = EtherType(0x8100);
    pub const QINQ: EtherType = EtherType(0x88a8);
    /// IEEE 802.1AE MACsec.
    pub const MACSEC: EtherType = EtherType(0x88e5);
    /// IEEE 802.1X EAPOL (carries MKPDUs).
    pub const EAPOL: EtherType = EtherType(0x888e);
    /// IEEE 802.3 Slow Protocols (LACP).
    pub const SLOW: EtherType = EtherType(0x8809);
}

mod field {
    use core::ops::Range;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// Octets of MAC DA + MAC SA: the part of the frame the SecTAG is inserted after.
pub const ADDRS_LEN: usize = 12;
/// Octets of an Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// Moves the 12 address octets at `buf[from..]` to `buf[to..]` (protect moves them into the
/// headroom, validate back over the SecTAG): through an 8- and a 4-octet register, loaded before
/// either store, so overlapping ranges work. (Copied through a 12-octet array on the stack, its
/// loads waited for the stores that filled it; with a variable range, a call to memmove.)
/// Panics if either range is outside `buf` (the callers checked).
#[inline]
pub fn move_addrs(buf: &mut [u8], from: usize, to: usize) {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 4];
    lo.copy_from_slice(&buf[from..from + 8]);
    hi.copy_from_slice(&buf[from + 8..from + ADDRS_LEN]);
    let (lo, hi) = (u64::from_ne_bytes(lo), u32::from_ne_bytes(hi));
    buf[to..to + 8].copy_from_slice(&lo.to_ne_bytes());
    buf[to + 8..to + ADDRS_LEN].copy_from_slice(&hi.to_ne_bytes());
}

/// A read/write view of an Ethernet II frame (no FCS).
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated {
                len,
                need: HEADER_LEN,
            });
        }
        Ok(EthernetFrame { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn dst_addr(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::DESTINATION])
    }

    pub fn src_addr(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::SOURCE])
    }

    pub fn ethertype(&self) -> EtherType {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }

    /// The EtherType after any 802.1Q/802.1ad tags (at most two are looked through).
    pub fn inner_ethertype(&self) -> EtherType {
        let mut et = self.ethertype();
        let mut off = field::PAYLOAD;
        let b = self.buffer.as_ref();
        for _ in 0..2 {
            if et != EtherType::VLAN && et != EtherType::QINQ {
                break;
            }
            match VlanTag::new_checked(&b[off..]) {
                Ok(tag) => {
                    et = tag.ethertype();
                    off += VlanTag::<&[u8]>::LEN;
                }
                Err(_) => break,
            }
        }
        et
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    pub fn set_dst_addr(&mut self, a: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a.0);
    }
    pub fn set_src_addr(&mut self, a: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a.0);
    }
    pub fn set_ethertype(&mut self, et: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&et.0.to_be_bytes());
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// A view of the 4 octets that follow a 0x8100/0x88a8 EtherType: TCI and the next EtherType.
#[derive(Debug, Clone)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    pub const LEN: usize = 4;

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let len = buffer.as_ref().len();
        if len < Self::LEN {
            return Err(WireError::Truncated { len, need: Self::LEN });
        }
        Ok(VlanTag { buffer })
    }

    pub fn pcp(&self) -> u8 {
        self.buffer.as_ref()[0] >> 5
    }
    pub fn dei(&self) -> bool {
        self.buffer.as_ref()[0] & 0x10 != 0
    }
    pub fn vid(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[0] & 0x0f, b[1]])
    }
    pub fn ethertype(&self) -> EtherType {
        let b = self.buffer.as_ref();
        EtherType(u16::from_be_bytes([b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_and_vlan() {
        let f = hex::decode("cacbcd414243cacbcd21222381000002080045").unwrap();
        let e = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(e.dst_addr().to_string(), "ca:cb:cd:41:42:43");
        assert_eq!(e.src_addr(), MacAddr([0xca, 0xcb, 0xcd, 0x21, 0x22, 0x23]));
        assert_eq!(e.ethertype(), EtherType::VLAN);
        assert_eq!(e.inner_ethertype(), EtherType::IPV4);
        let t = VlanTag::new_checked(e.payload()).unwrap();
        assert_eq!((t.pcp(), t.dei(), t.vid()), (0, false, 2));
        assert_eq!(
            EthernetFrame::new_checked(&f[..13]).unwrap_err(),
            WireError::Truncated { len: 13, need: 14 }
        );
    }
}
