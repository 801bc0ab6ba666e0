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

/// Why a MAC address or EtherType did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrParseError {
    #[error("`{0}` is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff)")]
    Mac(String),
    #[error("`{0}` is not an EtherType (hex, 0x0600..0xffff, e.g. 0x88cc)")]
    EtherType(String),
}

impl core::str::FromStr for MacAddr {
    type Err = AddrParseError;

    /// `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`, or IOS XR's `aabb.ccdd.eeff`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AddrParseError::Mac(s.chars().take(40).collect());
        let digits: String = if s.contains('.') {
            let groups: Vec<&str> = s.split('.').collect();
            if groups.len() != 3 || groups.iter().any(|g| g.len() != 4) {
                return Err(bad());
            }
            groups.concat()
        } else {
            let groups: Vec<&str> = s.split([':', '-']).collect();
            if groups.len() != 6 || groups.iter().any(|g| g.len() != 2) {
                return Err(bad());
            }
            groups.concat()
        };
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut a = [0u8; 6];
        for (i, o) in a.iter_mut().enumerate() {
            let pair = digits.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *o = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(MacAddr(a))
    }
}

impl core::str::FromStr for EtherType {
    type Err = AddrParseError;

    /// Hex, with or without `0x`: `0x88cc`, `88CC`. At least 0x0600 (below is a length).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
        match u16::from_str_radix(hex, 16) {
            Ok(v) if v >= 0x0600 && hex.bytes().all(|c| c.is_ascii_hexdigit()) => Ok(EtherType(v)),
            _ => Err(AddrParseError::EtherType(s.chars().take(40).collect())),
        }
    }
}

impl MacAddr {
    /// IOS XR's notation, `0180.c200.000e` (what `from_str` also takes).
    pub fn cisco(&self) -> String {
        let b = self.0;
        format!(
            "{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
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
#[inline(always)]
pub fn move_addrs(buf: &mut [u8], from: usize, to: usize) {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 4];
    lo.copy_from_slice(&buf[from..from + 8]);
    hi.copy_from_slice(&buf[from + 8..from + ADDRS_LEN]);
    let (lo, hi) = (u64::from_ne_bytes(lo), u32::from_ne_bytes(hi));
    buf[to..to + 8].copy_from_slice(&lo.to_ne_bytes());
    buf[to + 8..to + ADDRS_LEN].copy_from_slice(&hi.to_ne_bytes());
}

/// The most VLAN tags a link leaves in the clear in front of the SecTAG (`vlan-tags-in-clear`).
pub const MAX_CLEAR_TAGS: usize = 2;

/// How many 802.1Q/802.1ad tags (TPID 0x8100 or 0x88a8) follow the addresses of `frame`, counting
/// at most `max` (and at most [`MAX_CLEAR_TAGS`]), and the EtherType after them. None: the frame is
/// shorter than its header and those tags.
#[inline]
pub fn leading_tags(frame: &[u8], max: usize) -> Option<(usize, EtherType)> {
    let mut n = 0;
    loop {
        let at = ADDRS_LEN + n * VlanTag::<&[u8]>::LEN;
        let et = EtherType(u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]));
        if n == max.min(MAX_CLEAR_TAGS) || (et != EtherType::VLAN && et != EtherType::QINQ) {
            return Some((n, et));
        }
        // A tag must be whole, with the EtherType after it.
        frame.get(at + VlanTag::<&[u8]>::LEN + 1)?;
        n += 1;
    }
}

/// Lifts the `n` (at most [`MAX_CLEAR_TAGS`]) tags after the addresses of the frame at
/// `buf[start..]` out of it: the addresses move forward over them, so that the frame at the
/// returned start has no tags. Returns the tags (`4 * n` octets in a register) for
/// [`put_tags`]. Panics if the frame's header and tags are outside `buf` (the caller checked
/// with [`leading_tags`]).
#[inline]
pub fn lift_tags(buf: &mut [u8], start: usize, n: usize) -> ([u8; 8], usize) {
    let len = n.min(MAX_CLEAR_TAGS) * VlanTag::<&[u8]>::LEN;
    let mut tags = [0u8; 8];
    tags[..len].copy_from_slice(&buf[start + ADDRS_LEN..start + ADDRS_LEN + len]);
    move_addrs(buf, start, start + len);
    (tags, start + len)
}

/// Puts the `n` tags [`lift_tags`] took back after the addresses of the frame at `buf[start..]`:
/// the addresses move `4 * n` octets toward the front and the tags go between them and the rest.
/// Returns the frame's new start. Panics if `start < 4 * n` (the caller's frame was lifted, so
/// there is room).
#[inline]
pub fn put_tags(buf: &mut [u8], start: usize, n: usize, tags: &[u8; 8]) -> usize {
    let len = n.min(MAX_CLEAR_TAGS) * VlanTag::<&[u8]>::LEN;
    let to = start - len;
    move_addrs(buf, start, to);
    buf[to + ADDRS_LEN..to + ADDRS_LEN + len].copy_from_slice(&tags[..len]);
    to
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

    #[test]
    fn macs_and_ethertypes_parse() {
        let lldp = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e]);
        for s in ["01:80:c2:00:00:0e", "01-80-C2-00-00-0E", "0180.c200.000e"] {
            assert_eq!(s.parse::<MacAddr>(), Ok(lldp), "{s}");
        }
        for s in [
            "",
            "0180.c200.00e",
            "01:80:c2:00:00",
            "01:80:c2:00:00:0g",
            "0180c200000e",
            "01:80:c2:00:00:0e:00",
            "+1:80:c2:00:00:0e",
        ] {
            assert!(s.parse::<MacAddr>().is_err(), "{s}");
        }
        assert_eq!("0x88cc".parse::<EtherType>(), Ok(EtherType(0x88cc)));
        assert_eq!("8809".parse::<EtherType>(), Ok(EtherType::SLOW));
        assert_eq!("0x0600".parse::<EtherType>(), Ok(EtherType(0x0600)));
        for s in ["0x05ff", "0x10000", "lldp", "", "0x", "+88cc"] {
            assert!(s.parse::<EtherType>().is_err(), "{s}");
        }
        assert_eq!(
            "x".parse::<EtherType>().unwrap_err().to_string(),
            "`x` is not an EtherType (hex, 0x0600..0xffff, e.g. 0x88cc)"
        );
    }

    #[test]
    fn clear_tags_lift_and_put_back() {
        // DA SA, an 802.1ad tag (VID 100), an 802.1Q tag (VID 2), IPv4.
        let f = hex::decode("cacbcd414243cacbcd21222388a80064810000020800450000").unwrap();
        assert_eq!(leading_tags(&f, 2), Some((2, EtherType::IPV4)));
        assert_eq!(leading_tags(&f, 1), Some((1, EtherType::VLAN)));
        assert_eq!(leading_tags(&f, 0), Some((0, EtherType::QINQ)));
        assert_eq!(leading_tags(&f, 9), Some((2, EtherType::IPV4)));
        assert_eq!(leading_tags(&f[..13], 2), None);
        // The second tag is cut short: no EtherType after it.
        assert_eq!(leading_tags(&f[..21], 2), None);
        let untagged = hex::decode("cacbcd414243cacbcd2122230800").unwrap();
        assert_eq!(leading_tags(&untagged, 2), Some((0, EtherType::IPV4)));

        let mut buf = vec![0u8; 8];
        buf.extend_from_slice(&f);
        let (tags, start) = lift_tags(&mut buf, 8, 2);
        assert_eq!(start, 16);
        assert_eq!(hex::encode(tags), "88a8006481000002");
        assert_eq!(hex::encode(&buf[start..]), "cacbcd414243cacbcd2122230800450000");
        // Back in front of the same rest, 8 octets earlier.
        assert_eq!(put_tags(&mut buf, start, 2, &tags), 8);
        assert_eq!(&buf[8..], &f[..]);
        // One tag, put back in front of a frame that moved (as the SecTAG's insertion moves it).
        let mut buf = f.clone();
        let (tags, start) = lift_tags(&mut buf, 0, 1);
        assert_eq!((start, hex::encode(&tags[..4])), (4, "88a80064".to_string()));
        assert_eq!(put_tags(&mut buf, 4, 1, &tags), 0);
        assert_eq!(buf, f);
    }
}
