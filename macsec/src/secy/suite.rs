//! Cipher suites (802.1AE-2018 Table 14-1), SCI, SSCI, salt and confidentiality offset.

use core::fmt;
use core::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// The four GCM-AES cipher suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CipherSuite {
    #[serde(rename = "GCM-AES-128")]
    GcmAes128,
    #[serde(rename = "GCM-AES-256")]
    GcmAes256,
    #[serde(rename = "GCM-AES-XPN-128")]
    GcmAesXpn128,
    #[serde(rename = "GCM-AES-XPN-256")]
    GcmAesXpn256,
}

impl CipherSuite {
    pub const ALL: [CipherSuite; 4] = [
        CipherSuite::GcmAes128,
        CipherSuite::GcmAes256,
        CipherSuite::GcmAesXpn128,
        CipherSuite::GcmAesXpn256,
    ];

    /// The 64-bit Cipher Suite Identifier of 802.1AE-2018 Table 14-1.
    pub fn id(self) -> u64 {
        match self {
            CipherSuite::GcmAes128 => 0x0080_C200_0100_0001,
            CipherSuite::GcmAes256 => 0x0080_C200_0100_0002,
            CipherSuite::GcmAesXpn128 => 0x0080_C200_0100_0003,
            CipherSuite::GcmAesXpn256 => 0x0080_C200_0100_0004,
        }
    }

    pub fn from_id(id: u64) -> Option<CipherSuite> {
        CipherSuite::ALL.into_iter().find(|c| c.id() == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            CipherSuite::GcmAes128 => "GCM-AES-128",
            CipherSuite::GcmAes256 => "GCM-AES-256",
            CipherSuite::GcmAesXpn128 => "GCM-AES-XPN-128",
            CipherSuite::GcmAesXpn256 => "GCM-AES-XPN-256",
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            CipherSuite::GcmAes128 | CipherSuite::GcmAesXpn128 => 16,
            CipherSuite::GcmAes256 | CipherSuite::GcmAesXpn256 => 32,
        }
    }

    pub fn is_xpn(self) -> bool {
        matches!(self, CipherSuite::GcmAesXpn128 | CipherSuite::GcmAesXpn256)
    }

    /// The largest PN an SA of this suite may use.
    pub fn max_pn(self) -> u64 {
        if self.is_xpn() {
            u64::MAX
        } else {
            u32::MAX as u64
        }
    }

    /// The PN past which the control plane is told to rekey (0xC0000000; XPN 0xC000000000000000).
    pub fn pn_threshold(self) -> u64 {
        if self.is_xpn() {
            0xC000_0000_0000_0000
        } else {
            0xC000_0000
        }
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CipherSuite {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase().replace('_', "-");
        CipherSuite::ALL
            .into_iter()
            .find(|c| c.name() == up)
            .ok_or_else(|| {
                ParseError(format!(
                    "unknown cipher suite '{s}' (expected GCM-AES-128, GCM-AES-256, GCM-AES-XPN-128 or GCM-AES-XPN-256)"
                ))
            })
    }
}

fn parse_hex<const N: usize>(what: &str, s: &str) -> Result<[u8; N], ParseError> {
    let clean: String = s
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    let mut out = [0u8; N];
    if !clean.is_ascii() || clean.len() != 2 * N {
        return Err(ParseError(format!("{what} '{s}' must be {} hex digits", 2 * N)));
    }
    for i in 0..N {
        out[i] = u8::from_str_radix(&clean[2 * i..2 * i + 2], 16)
            .map_err(|_| ParseError(format!("{what} '{s}' is not hexadecimal")))?;
    }
    Ok(out)
}

/// A Secure Channel Identifier: MAC address ‖ 16-bit port identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Sci(pub u64);

impl Sci {
    pub fn from_mac_port(mac: [u8; 6], port: u16) -> Sci {
        let mut b = [0u8; 8];
        b[..6].copy_from_slice(&mac);
        b[6..].copy_from_slice(&port.to_be_bytes());
        Sci(u64::from_be_bytes(b))
    }
    pub fn mac(self) -> [u8; 6] {
        let b = self.0.to_be_bytes();
        [b[0], b[1], b[2], b[3], b[4], b[5]]
    }
    pub fn port(self) -> u16 {
        self.0 as u16
    }
    pub fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for Sci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for Sci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sci({:016x})", self.0)
    }
}

impl FromStr for Sci {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Sci(u64::from_be_bytes(parse_hex::<8>("SCI", s)?)))
    }
}

/// The 32-bit Short SCI of the XPN suites.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ssci(pub u32);

impl fmt::Display for Ssci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for Ssci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssci({:08x})", self.0)
    }
}

impl FromStr for Ssci {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Ssci(u32::from_be_bytes(parse_hex::<4>("SSCI", s)?)))
    }
}

/// The 96-bit salt of the XPN suites.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Salt(pub [u8; 12]);

impl fmt::Display for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({self})")
    }
}

impl FromStr for Salt {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Salt(parse_hex::<12>("salt", s)?))
    }
}

/// The confidentiality offset: octets of User Data after the SecTAG left in the clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConfOffset {
    #[default]
    Zero,
    Thirty,
    Fifty,
}

impl ConfOffset {
    pub fn octets(self) -> usize {
        match self {
            ConfOffset::Zero => 0,
            ConfOffset::Thirty => 30,
            ConfOffset::Fifty => 50,
        }
    }
    pub fn from_octets(n: u64) -> Result<ConfOffset, ParseError> {
        match n {
            0 => Ok(ConfOffset::Zero),
            30 => Ok(ConfOffset::Thirty),
            50 => Ok(ConfOffset::Fifty),
            _ => Err(ParseError(format!(
                "confidentiality offset {n} is not 0, 30 or 50"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites() {
        assert_eq!(CipherSuite::GcmAesXpn256.id(), 0x0080C20001000004);
        assert_eq!(
            CipherSuite::from_id(0x0080C20001000001),
            Some(CipherSuite::GcmAes128)
        );
        assert_eq!(CipherSuite::from_id(0x0080C20001000005), None);
        assert_eq!(
            "gcm-aes-xpn-128".parse::<CipherSuite>().unwrap(),
            CipherSuite::GcmAesXpn128
        );
        assert!("gcm-aes-192".parse::<CipherSuite>().is_err());
        assert_eq!(CipherSuite::GcmAes256.pn_threshold(), 0xC000_0000);
        assert_eq!(CipherSuite::GcmAesXpn128.max_pn(), u64::MAX);
    }

    #[test]
    fn identifiers() {
        let sci: Sci = "001de5e9aa39001a".parse().unwrap();
        assert_eq!(sci.mac(), [0x00, 0x1d, 0xe5, 0xe9, 0xaa, 0x39]);
        assert_eq!(sci.port(), 0x1a);
        assert_eq!(Sci::from_mac_port(sci.mac(), 0x1a), sci);
        assert_eq!(sci.to_string(), "001de5e9aa39001a");
        assert!("001de5e9aa39".parse::<Sci>().is_err());
        assert!("001de5e9aa39zz1a".parse::<Sci>().is_err());
        assert_eq!("00:00:00:02".parse::<Ssci>().unwrap(), Ssci(2));
        assert_eq!(
            "83c37bac7b6f6316098ff3d2".parse::<Salt>().unwrap().to_string(),
            "83c37bac7b6f6316098ff3d2"
        );
        assert_eq!(ConfOffset::from_octets(30).unwrap().octets(), 30);
        assert!(ConfOffset::from_octets(20).is_err());
    }
}
