//! The MKPDU codec (IEEE 802.1X-2020 11.11): EAPOL-MKA framing, every parameter set, padding, and
//! the AES-CMAC ICV.
//!
//! Layers, outermost first:
//! - [`MkaFrameRepr`]: an Ethernet frame (DA, SA, up to two 802.1Q/802.1ad tags, EtherType 0x888E)
//!   carrying an EAPOL PDU of type 5 (EAPOL-MKA); [`EapolPacket`] is the EAPOL header view.
//! - [`MkpduRepr`]: the MKPDU (the EAPOL body): the Basic Parameter Set, the other parameter sets
//!   in wire order ([`ParamSet`]; [`ParamSetPacket`] is the generic 4-octet-header view), an
//!   optional ICV Indicator, and the 16-octet ICV (always the last 16 octets).
//!
//! Receive rules: any EAPOL protocol version and MKA version are accepted (and kept, so they
//! re-encode); the destination must be a group address (hostap's rule; the PAE group address
//! 01-80-C2-00-00-03 is what [`PAE_GROUP_ADDR`] senders use); Ethernet padding after the EAPOL body
//! is ignored; reserved bits and the content of padding are ignored; unknown parameter set types
//! (and unknown Announcement TLVs) are kept raw and skipped; duplicates are kept in order (the
//! accessors such as [`MkpduRepr::sak_use`] return the first, as hostap and the Rambus stack
//! process only the first). Anything malformed rejects the whole MKPDU with one [`MkpduError`]
//! variant ([`MkpduError::reason`] gives a stable counter name). Every allocation is bounded by the
//! input length. The ICV is not checked by `parse`: the CKN in the Basic Parameter Set selects the
//! CAK, so check it afterwards with [`verify_frame_icv`] (802.1X-2020 11.11.2 order).

use super::cmac::TAG_LEN;
use super::kdf::{Ckn, Ick};
use super::{Ki, Mi, MI_LEN};
use macsec::secy::{CipherSuite, ConfOffset, Sci};
use macsec::wire::{EtherType, MacAddr};

/// The PAE group address `01-80-C2-00-00-03` (Nearest non-TPMR Bridge group address).
pub const PAE_GROUP_ADDR: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);
/// EtherType of EAPOL (`88-8E`).
pub const ETHERTYPE_EAPOL: u16 = 0x888e;
/// The EAPOL protocol version senders use (802.1X-2010 onward).
pub const EAPOL_VERSION: u8 = 3;
/// EAPOL packet type EAPOL-MKA.
pub const EAPOL_TYPE_MKA: u8 = 5;
/// Octets of the EAPOL header (version, type, body length).
pub const EAPOL_HEADER_LEN: usize = 4;
/// The MKA version of 802.1X-2020 (1: 802.1X-2010, 2: 802.1Xbx-2014, 3: 802.1Xck-2018/802.1X-2020).
pub const MKA_VERSION: u8 = 3;
/// Algorithm Agility of 802.1X-2009 onward: AES-CMAC-128/256 ICV, AES key wrap, the CMAC KDF.
pub const ALGORITHM_AGILITY: u32 = 0x0080_C201;
/// Octets of the ICV.
pub const ICV_LEN: usize = TAG_LEN;
/// The smallest valid MKPDU (Basic Parameter Set with a 1-octet CKN, padded, plus the ICV).
pub const MKPDU_MIN_LEN: usize = 32;
/// Octets of a parameter set header.
pub const PARAM_SET_HEADER_LEN: usize = 4;
/// The largest parameter set body (12-bit length field).
pub const MAX_BODY_LEN: usize = 0x0fff;
/// Octets of the Basic Parameter Set body before the CKN.
pub const BASIC_FIXED_LEN: usize = 28;
/// Octets of one Live/Potential Peer List entry (MI ‖ MN).
pub const PEER_ENTRY_LEN: usize = 16;
/// Octets of a non-empty MACsec SAK Use body.
pub const SAK_USE_BODY_LEN: usize = 40;
/// Octets of the XPN parameter set body.
pub const XPN_BODY_LEN: usize = 8;
/// Octets of the AES-wrapped CAK in a Distributed CAK.
pub const WRAPPED_CAK_LEN: usize = 24;
/// The erroneous GCM-AES-128 identifier of the 2006/2010 texts, still used by hostap; accepted on
/// receive as GCM-AES-128.
pub const CS_ID_GCM_AES_128_LEGACY: u64 = 0x0080_0200_0100_0001;
/// Announcement TLV type of the MACsec Cipher Suites TLV.
pub const TLV_MACSEC_CIPHER_SUITES: u8 = 112;

/// Parameter Set Type codes (802.1X-2020 Table 11-7). The Basic Parameter Set has none: it is
/// always first, and its first octet is the MKA Version Identifier.
pub mod set_type {
    pub const LIVE_PEER_LIST: u8 = 1;
    pub const POTENTIAL_PEER_LIST: u8 = 2;
    pub const SAK_USE: u8 = 3;
    pub const DISTRIBUTED_SAK: u8 = 4;
    pub const DISTRIBUTED_CAK: u8 = 5;
    pub const KMD: u8 = 6;
    pub const ANNOUNCEMENT: u8 = 7;
    pub const XPN: u8 = 8;
    pub const ICV_INDICATOR: u8 = 255;

    /// Whether this codec has a typed representation of `t`.
    pub fn is_known(t: u8) -> bool {
        matches!(t, 1..=8 | 255)
    }

    /// The name Wireshark and the standard use.
    pub fn name(t: u8) -> &'static str {
        match t {
            LIVE_PEER_LIST => "Live Peer List",
            POTENTIAL_PEER_LIST => "Potential Peer List",
            SAK_USE => "MACsec SAK Use",
            DISTRIBUTED_SAK => "Distributed SAK",
            DISTRIBUTED_CAK => "Distributed CAK",
            KMD => "KMD",
            ANNOUNCEMENT => "Announcement",
            XPN => "XPN",
            ICV_INDICATOR => "ICV Indicator",
            _ => "unknown",
        }
    }
}

const fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

// ------------------------------------------------------------------------------------------------
// Errors

/// Why a received frame or MKPDU was rejected. One variant per reason so an engine can count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MkpduError {
    #[error("frame of {len} octets is too short for an EAPOL frame")]
    FrameTooShort { len: usize },
    #[error("EtherType {ethertype:#06x} is not EAPOL")]
    NotEapol { ethertype: u16 },
    #[error("EAPOL packet type {packet_type} is not EAPOL-MKA")]
    NotMka { packet_type: u8 },
    #[error("the destination address is an individual address")]
    IndividualDestination,
    #[error("EAPOL body length {body_len} exceeds the {available} octets present")]
    EapolBodyTruncated { body_len: usize, available: usize },
    #[error("MKPDU of {len} octets is shorter than 32")]
    TooShort { len: usize },
    #[error("MKPDU length {len} is not a multiple of 4")]
    NotMultipleOf4 { len: usize },
    #[error("Basic Parameter Set body length {len} is invalid (CKN of 1 to 32 octets, before the ICV)")]
    BadBasicLength { len: usize },
    #[error("parameter set type {set_type} at offset {offset} runs into the ICV")]
    ParamSetTruncated { set_type: u8, offset: usize },
    #[error("parameter set type {set_type} has an invalid body length {len}")]
    BadParamSetLength { set_type: u8, len: usize },
    #[error("ICV Indicator at offset {offset} is not immediately before the ICV")]
    MisplacedIcvIndicator { offset: usize },
    #[error("malformed Announcement TLV at body offset {offset}")]
    BadAnnouncementTlv { offset: usize },
}

impl MkpduError {
    /// A stable snake_case name for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            MkpduError::FrameTooShort { .. } => "frame_too_short",
            MkpduError::NotEapol { .. } => "not_eapol",
            MkpduError::NotMka { .. } => "not_mka",
            MkpduError::IndividualDestination => "individual_destination",
            MkpduError::EapolBodyTruncated { .. } => "eapol_body_truncated",
            MkpduError::TooShort { .. } => "mkpdu_too_short",
            MkpduError::NotMultipleOf4 { .. } => "mkpdu_not_multiple_of_4",
            MkpduError::BadBasicLength { .. } => "bad_basic_parameter_set_length",
            MkpduError::ParamSetTruncated { .. } => "parameter_set_truncated",
            MkpduError::BadParamSetLength { .. } => "bad_parameter_set_length",
            MkpduError::MisplacedIcvIndicator { .. } => "misplaced_icv_indicator",
            MkpduError::BadAnnouncementTlv { .. } => "bad_announcement_tlv",
        }
    }
}

/// Why a `Repr` could not be emitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("buffer of {len} octets is too short ({need} needed)")]
    BufferTooShort { len: usize, need: usize },
    #[error("parameter set type {set_type}: body of {len} octets does not fit the 12-bit length")]
    BodyTooLong { set_type: u8, len: usize },
    #[error("MKPDU of {0} octets does not fit the EAPOL body length")]
    MkpduTooLong(usize),
    #[error("invalid field: {0}")]
    Invalid(&'static str),
}

// ------------------------------------------------------------------------------------------------
// Views

mod eapol_field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const PACKET_TYPE: usize = 1;
    pub const BODY_LEN: Range<usize> = 2..4;
    pub const BODY: usize = 4;
}

/// A read/write view of an EAPOL PDU (header and body; octets past the body are Ethernet padding).
#[derive(Debug, Clone)]
pub struct EapolPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EapolPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        EapolPacket { buffer }
    }

    /// Checks that the header and the whole body (per its length field) are present.
    pub fn new_checked(buffer: T) -> Result<Self, MkpduError> {
        let p = EapolPacket { buffer };
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), MkpduError> {
        let len = self.buffer.as_ref().len();
        if len < EAPOL_HEADER_LEN {
            return Err(MkpduError::FrameTooShort { len });
        }
        let body_len = self.body_len() as usize;
        if len - EAPOL_HEADER_LEN < body_len {
            return Err(MkpduError::EapolBodyTruncated {
                body_len,
                available: len - EAPOL_HEADER_LEN,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[eapol_field::VERSION]
    }
    pub fn packet_type(&self) -> u8 {
        self.buffer.as_ref()[eapol_field::PACKET_TYPE]
    }
    pub fn body_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[eapol_field::BODY_LEN.start], b[eapol_field::BODY_LEN.start + 1]])
    }
    /// The body: exactly `body_len` octets (Ethernet padding excluded).
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[eapol_field::BODY..eapol_field::BODY + self.body_len() as usize]
    }
    /// Header and body, without Ethernet padding.
    pub fn pdu(&self) -> &[u8] {
        &self.buffer.as_ref()[..eapol_field::BODY + self.body_len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EapolPacket<T> {
    pub fn set_version(&mut self, v: u8) {
        self.buffer.as_mut()[eapol_field::VERSION] = v;
    }
    pub fn set_packet_type(&mut self, t: u8) {
        self.buffer.as_mut()[eapol_field::PACKET_TYPE] = t;
    }
    pub fn set_body_len(&mut self, n: u16) {
        self.buffer.as_mut()[eapol_field::BODY_LEN].copy_from_slice(&n.to_be_bytes());
    }
    pub fn body_mut(&mut self) -> &mut [u8] {
        let n = self.body_len() as usize;
        &mut self.buffer.as_mut()[eapol_field::BODY..eapol_field::BODY + n]
    }
}

mod set_field {
    pub const TYPE: usize = 0;
    pub const OCTET2: usize = 1;
    pub const FLAGS_LEN_HI: usize = 2;
    pub const LEN_LO: usize = 3;
    pub const BODY: usize = 4;
}

/// A read/write view of one parameter set: the generic 4-octet header (type; a type-specific
/// octet; 4 type-specific flag bits and the 12-bit body length) and its body.
#[derive(Debug, Clone)]
pub struct ParamSetPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ParamSetPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        ParamSetPacket { buffer }
    }

    /// Checks that the header and the body (padding not included) are present.
    pub fn new_checked(buffer: T) -> Result<Self, MkpduError> {
        let len = buffer.as_ref().len();
        if len < PARAM_SET_HEADER_LEN {
            let set_type = buffer.as_ref().first().copied().unwrap_or(0);
            return Err(MkpduError::ParamSetTruncated { set_type, offset: 0 });
        }
        let p = ParamSetPacket { buffer };
        if len < PARAM_SET_HEADER_LEN + p.body_len() {
            return Err(MkpduError::ParamSetTruncated {
                set_type: p.set_type(),
                offset: 0,
            });
        }
        Ok(p)
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Octet 1: the Parameter Set Type (the MKA Version in the Basic Parameter Set).
    pub fn set_type(&self) -> u8 {
        self.buffer.as_ref()[set_field::TYPE]
    }
    /// Octet 2: type-specific (Key Server Priority, AN bits, Key Server SSCI, suspension time...).
    pub fn octet2(&self) -> u8 {
        self.buffer.as_ref()[set_field::OCTET2]
    }
    /// The 4 type-specific bits of octet 3 (its high nibble), as 0..=15.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[set_field::FLAGS_LEN_HI] >> 4
    }
    /// The 12-bit Parameter Set Body Length (header and padding excluded).
    pub fn body_len(&self) -> usize {
        let b = self.buffer.as_ref();
        (((b[set_field::FLAGS_LEN_HI] & 0x0f) as usize) << 8) | b[set_field::LEN_LO] as usize
    }
    /// Header, body and padding to a 4-octet boundary.
    pub fn padded_len(&self) -> usize {
        PARAM_SET_HEADER_LEN + pad4(self.body_len())
    }
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[set_field::BODY..set_field::BODY + self.body_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ParamSetPacket<T> {
    /// Writes the whole header. `flags` is 4 bits, `body_len` 12 bits (both masked).
    pub fn set_header(&mut self, set_type: u8, octet2: u8, flags: u8, body_len: usize) {
        let b = self.buffer.as_mut();
        b[set_field::TYPE] = set_type;
        b[set_field::OCTET2] = octet2;
        b[set_field::FLAGS_LEN_HI] = (flags << 4) | ((body_len >> 8) as u8 & 0x0f);
        b[set_field::LEN_LO] = body_len as u8;
    }
    pub fn body_mut(&mut self) -> &mut [u8] {
        let n = self.body_len();
        &mut self.buffer.as_mut()[set_field::BODY..set_field::BODY + n]
    }
}

// ------------------------------------------------------------------------------------------------
// Field types

/// MACsec Capability (2 bits; Basic Parameter Set and the Cipher Suites TLV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacsecCapability {
    /// 0: MACsec not implemented.
    NotImplemented,
    /// 1: integrity without confidentiality.
    IntegrityOnly,
    /// 2: integrity with or without confidentiality, offset 0 only.
    ConfidentialityNoOffset,
    /// 3: integrity with or without confidentiality, offsets 0, 30 and 50.
    ConfidentialityWithOffset,
}

impl MacsecCapability {
    pub fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => MacsecCapability::NotImplemented,
            1 => MacsecCapability::IntegrityOnly,
            2 => MacsecCapability::ConfidentialityNoOffset,
            _ => MacsecCapability::ConfidentialityWithOffset,
        }
    }
    pub fn bits(self) -> u8 {
        self as u8
    }
}

/// Confidentiality Offset of a Distributed SAK (2 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfidentialityOffset {
    /// 0: no confidentiality (integrity only).
    NotConfidential,
    /// 1: confidentiality, offset 0.
    Offset0,
    /// 2: confidentiality, offset 30.
    Offset30,
    /// 3: confidentiality, offset 50.
    Offset50,
}

impl ConfidentialityOffset {
    pub fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => ConfidentialityOffset::NotConfidential,
            1 => ConfidentialityOffset::Offset0,
            2 => ConfidentialityOffset::Offset30,
            _ => ConfidentialityOffset::Offset50,
        }
    }
    pub fn bits(self) -> u8 {
        self as u8
    }
    /// The SecY's offset, or `None` for integrity only.
    pub fn conf_offset(self) -> Option<ConfOffset> {
        match self {
            ConfidentialityOffset::NotConfidential => None,
            ConfidentialityOffset::Offset0 => Some(ConfOffset::Zero),
            ConfidentialityOffset::Offset30 => Some(ConfOffset::Thirty),
            ConfidentialityOffset::Offset50 => Some(ConfOffset::Fifty),
        }
    }
    pub fn from_conf_offset(o: Option<ConfOffset>) -> Self {
        match o {
            None => ConfidentialityOffset::NotConfidential,
            Some(ConfOffset::Zero) => ConfidentialityOffset::Offset0,
            Some(ConfOffset::Thirty) => ConfidentialityOffset::Offset30,
            Some(ConfOffset::Fifty) => ConfidentialityOffset::Offset50,
        }
    }
}

/// Resolves a MACsec Cipher Suite identifier, accepting hostap's legacy GCM-AES-128 identifier.
pub fn cipher_suite_from_id(id: u64) -> Option<CipherSuite> {
    if id == CS_ID_GCM_AES_128_LEGACY {
        return Some(CipherSuite::GcmAes128);
    }
    CipherSuite::from_id(id)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
fn be64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}
fn mi_at(b: &[u8]) -> Mi {
    let mut a = [0u8; MI_LEN];
    a.copy_from_slice(&b[..MI_LEN]);
    Mi(a)
}

// ------------------------------------------------------------------------------------------------
// Parameter set Reprs

/// The Basic Parameter Set (802.1X-2020 Figure 11-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicParamSet {
    /// MKA Version Identifier (octet 1).
    pub version: u8,
    pub key_server_priority: u8,
    pub key_server: bool,
    pub macsec_desired: bool,
    pub macsec_capability: MacsecCapability,
    pub sci: Sci,
    /// Actor's Member Identifier.
    pub mi: Mi,
    /// Actor's Message Number.
    pub mn: u32,
    /// [`ALGORITHM_AGILITY`] from every implementation; receivers discard others after the ICV check.
    pub algorithm_agility: u32,
    pub ckn: Ckn,
}

impl BasicParamSet {
    fn body_len(&self) -> usize {
        BASIC_FIXED_LEN + self.ckn.len()
    }

    fn parse(b: &[u8]) -> Result<(Self, usize), MkpduError> {
        // The caller guarantees at least MKPDU_MIN_LEN - ICV_LEN octets.
        let p = ParamSetPacket::new_unchecked(b);
        let len = p.body_len();
        if !(BASIC_FIXED_LEN + 1..=BASIC_FIXED_LEN + super::kdf::CKN_MAX_LEN).contains(&len)
            || p.padded_len() > b.len()
        {
            return Err(MkpduError::BadBasicLength { len });
        }
        let body = p.body();
        let flags = p.flags();
        let ckn = Ckn::new(&body[BASIC_FIXED_LEN..]).map_err(|_| MkpduError::BadBasicLength { len })?;
        Ok((
            BasicParamSet {
                version: p.set_type(),
                key_server_priority: p.octet2(),
                key_server: flags & 0x8 != 0,
                macsec_desired: flags & 0x4 != 0,
                macsec_capability: MacsecCapability::from_bits(flags),
                sci: Sci(be64(&body[0..8])),
                mi: mi_at(&body[8..20]),
                mn: be32(&body[20..24]),
                algorithm_agility: be32(&body[24..28]),
                ckn,
            },
            p.padded_len(),
        ))
    }

    fn emit(&self, out: &mut [u8]) {
        let flags = (u8::from(self.key_server) << 3)
            | (u8::from(self.macsec_desired) << 2)
            | self.macsec_capability.bits();
        let mut p = ParamSetPacket::new_unchecked(out);
        p.set_header(self.version, self.key_server_priority, flags, self.body_len());
        let body = p.body_mut();
        body[0..8].copy_from_slice(&self.sci.to_bytes());
        body[8..20].copy_from_slice(&self.mi.0);
        body[20..24].copy_from_slice(&self.mn.to_be_bytes());
        body[24..28].copy_from_slice(&self.algorithm_agility.to_be_bytes());
        body[28..].copy_from_slice(self.ckn.as_bytes());
    }
}

/// One Live or Potential Peer List entry: a member's MI and the latest MN received from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub mi: Mi,
    pub mn: u32,
}

/// A Live Peer List or Potential Peer List (802.1X-2020 Figure 11-9).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerList {
    /// Octet 2. In an MKA version 3 Live Peer List that carries a Distributed SAK for an XPN suite,
    /// the key server's own SSCI (low 8 bits); reserved (0) otherwise. Kept as received.
    pub key_server_ssci: u8,
    pub peers: Vec<Peer>,
}

/// One slot (Latest or Old key) of a MACsec SAK Use set, flattened for readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyUse {
    pub ki: Ki,
    pub an: u8,
    pub tx: bool,
    pub rx: bool,
    /// Lowest Acceptable PN (32 LSBs with XPN; see [`Xpn`] for the MSBs).
    pub lowest_pn: u32,
}

/// The key-specific fields of a non-empty MACsec SAK Use body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SakUseKeys {
    pub latest_ki: Ki,
    pub latest_lowest_pn: u32,
    pub old_ki: Ki,
    pub old_lowest_pn: u32,
}

/// The MACsec SAK Use parameter set (802.1X-2020 Figure 11-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SakUse {
    pub latest_an: u8,
    pub latest_tx: bool,
    pub latest_rx: bool,
    pub old_an: u8,
    pub old_tx: bool,
    pub old_rx: bool,
    /// Plain Text transmit: not protectFrames.
    pub plain_tx: bool,
    /// Plain Text receive: validateFrames is not Strict.
    pub plain_rx: bool,
    pub delay_protect: bool,
    /// `None`: body length 0 (MACsec not in use). `Some`: the 40-octet body.
    pub keys: Option<SakUseKeys>,
}

impl SakUse {
    fn parse(octet2: u8, flags: u8, body: &[u8]) -> Result<Self, MkpduError> {
        let keys = match body.len() {
            0 => None,
            SAK_USE_BODY_LEN => Some(SakUseKeys {
                latest_ki: Ki::new(mi_at(&body[0..12]), be32(&body[12..16])),
                latest_lowest_pn: be32(&body[16..20]),
                old_ki: Ki::new(mi_at(&body[20..32]), be32(&body[32..36])),
                old_lowest_pn: be32(&body[36..40]),
            }),
            len => {
                return Err(MkpduError::BadParamSetLength {
                    set_type: set_type::SAK_USE,
                    len,
                })
            }
        };
        Ok(SakUse {
            latest_an: octet2 >> 6,
            latest_tx: octet2 & 0x20 != 0,
            latest_rx: octet2 & 0x10 != 0,
            old_an: (octet2 >> 2) & 3,
            old_tx: octet2 & 0x02 != 0,
            old_rx: octet2 & 0x01 != 0,
            plain_tx: flags & 0x8 != 0,
            plain_rx: flags & 0x4 != 0,
            delay_protect: flags & 0x1 != 0,
            keys,
        })
    }

    fn header(&self) -> Result<(u8, u8), EmitError> {
        if self.latest_an > 3 || self.old_an > 3 {
            return Err(EmitError::Invalid("SAK Use AN above 3"));
        }
        let octet2 = (self.latest_an << 6)
            | (u8::from(self.latest_tx) << 5)
            | (u8::from(self.latest_rx) << 4)
            | (self.old_an << 2)
            | (u8::from(self.old_tx) << 1)
            | u8::from(self.old_rx);
        let flags =
            (u8::from(self.plain_tx) << 3) | (u8::from(self.plain_rx) << 2) | u8::from(self.delay_protect);
        Ok((octet2, flags))
    }

    fn emit_body(&self, body: &mut [u8]) {
        if let Some(k) = &self.keys {
            body[0..12].copy_from_slice(&k.latest_ki.mi.0);
            body[12..16].copy_from_slice(&k.latest_ki.kn.to_be_bytes());
            body[16..20].copy_from_slice(&k.latest_lowest_pn.to_be_bytes());
            body[20..32].copy_from_slice(&k.old_ki.mi.0);
            body[32..36].copy_from_slice(&k.old_ki.kn.to_be_bytes());
            body[36..40].copy_from_slice(&k.old_lowest_pn.to_be_bytes());
        }
    }

    /// The Latest Key slot (`None` for an empty body).
    pub fn latest(&self) -> Option<KeyUse> {
        self.keys.map(|k| KeyUse {
            ki: k.latest_ki,
            an: self.latest_an,
            tx: self.latest_tx,
            rx: self.latest_rx,
            lowest_pn: k.latest_lowest_pn,
        })
    }

    /// The Old Key slot (`None` for an empty body).
    pub fn old(&self) -> Option<KeyUse> {
        self.keys.map(|k| KeyUse {
            ki: k.old_ki,
            an: self.old_an,
            tx: self.old_tx,
            rx: self.old_rx,
            lowest_pn: k.old_lowest_pn,
        })
    }

    /// The sender's most recent key as receivers must read it: the Latest slot when its rx bit is
    /// set or its KI is not null, otherwise the Old slot (hostap and MKAdaemon report the key in use
    /// in the Old slot once the CP has retired the previous one; mka-facts §6.2). `None` when
    /// both slots are empty.
    pub fn most_recent(&self) -> Option<KeyUse> {
        let latest = self.latest()?;
        if latest.rx || !latest.ki.is_null() {
            return Some(latest);
        }
        self.old().filter(|o| !o.ki.is_null())
    }
}

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
    fn parse(octet2: u8, body: &[u8]) -> Result<Self, MkpduError> {
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

    fn body_len(&self) -> usize {
        match &self.key {
            None => 0,
            Some(k) => 4 + if k.cipher_suite_id.is_some() { 8 } else { 0 } + k.wrapped.len(),
        }
    }

    fn check(&self) -> Result<u8, EmitError> {
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

    fn emit_body(&self, body: &mut [u8]) {
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

/// The Distributed CAK parameter set (802.1X-2020 Figure 11-13): a wrapped 128-bit group CAK and
/// its CKN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistributedCak {
    /// RFC 3394 wrap of the CAK under the KEK ([`WRAPPED_CAK_LEN`] octets).
    pub wrapped_cak: Vec<u8>,
    pub ckn: Ckn,
}

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
    fn parse(body: &[u8]) -> Result<Self, MkpduError> {
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

    fn body_len(&self) -> usize {
        self.tlvs.iter().map(|t| 2 + t.value_len()).sum()
    }

    fn check(&self) -> Result<(), EmitError> {
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

    fn emit_body(&self, body: &mut [u8]) {
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

/// A parameter set of a type this codec does not know, kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownParamSet {
    pub set_type: u8,
    pub octet2: u8,
    /// The 4 high bits of octet 3.
    pub flags: u8,
    pub body: Vec<u8>,
}

/// Every parameter set that may follow the Basic Parameter Set (the ICV Indicator is
/// [`MkpduRepr::icv_indicator`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSet {
    LivePeerList(PeerList),
    PotentialPeerList(PeerList),
    SakUse(SakUse),
    DistributedSak(DistributedSak),
    DistributedCak(DistributedCak),
    /// Key Management Domain: a UTF-8 string without NUL (kept as octets).
    Kmd(Vec<u8>),
    Announcement(Announcement),
    Xpn(Xpn),
    Unknown(UnknownParamSet),
}

impl ParamSet {
    pub fn set_type(&self) -> u8 {
        match self {
            ParamSet::LivePeerList(_) => set_type::LIVE_PEER_LIST,
            ParamSet::PotentialPeerList(_) => set_type::POTENTIAL_PEER_LIST,
            ParamSet::SakUse(_) => set_type::SAK_USE,
            ParamSet::DistributedSak(_) => set_type::DISTRIBUTED_SAK,
            ParamSet::DistributedCak(_) => set_type::DISTRIBUTED_CAK,
            ParamSet::Kmd(_) => set_type::KMD,
            ParamSet::Announcement(_) => set_type::ANNOUNCEMENT,
            ParamSet::Xpn(_) => set_type::XPN,
            ParamSet::Unknown(u) => u.set_type,
        }
    }

    pub fn name(&self) -> &'static str {
        set_type::name(self.set_type())
    }

    /// Parses one parameter set (not the Basic one, not the ICV Indicator) from its view.
    pub fn parse<T: AsRef<[u8]>>(p: &ParamSetPacket<T>) -> Result<ParamSet, MkpduError> {
        let t = p.set_type();
        let body = p.body();
        let bad_len = MkpduError::BadParamSetLength {
            set_type: t,
            len: body.len(),
        };
        Ok(match t {
            set_type::LIVE_PEER_LIST | set_type::POTENTIAL_PEER_LIST => {
                if body.len() % PEER_ENTRY_LEN != 0 {
                    return Err(bad_len);
                }
                let list = PeerList {
                    key_server_ssci: p.octet2(),
                    peers: body
                        .chunks_exact(PEER_ENTRY_LEN)
                        .map(|e| Peer {
                            mi: mi_at(&e[..12]),
                            mn: be32(&e[12..16]),
                        })
                        .collect(),
                };
                if t == set_type::LIVE_PEER_LIST {
                    ParamSet::LivePeerList(list)
                } else {
                    ParamSet::PotentialPeerList(list)
                }
            }
            set_type::SAK_USE => ParamSet::SakUse(SakUse::parse(p.octet2(), p.flags(), body)?),
            set_type::DISTRIBUTED_SAK => ParamSet::DistributedSak(DistributedSak::parse(p.octet2(), body)?),
            set_type::DISTRIBUTED_CAK => {
                if body.len() <= WRAPPED_CAK_LEN {
                    return Err(bad_len);
                }
                let ckn = Ckn::new(&body[WRAPPED_CAK_LEN..]).map_err(|_| bad_len)?;
                ParamSet::DistributedCak(DistributedCak {
                    wrapped_cak: body[..WRAPPED_CAK_LEN].to_vec(),
                    ckn,
                })
            }
            set_type::KMD => ParamSet::Kmd(body.to_vec()),
            set_type::ANNOUNCEMENT => ParamSet::Announcement(Announcement::parse(body)?),
            set_type::XPN => {
                if body.len() != XPN_BODY_LEN {
                    return Err(bad_len);
                }
                ParamSet::Xpn(Xpn {
                    suspension_time: p.octet2(),
                    latest_lowest_pn_msb: be32(&body[0..4]),
                    old_lowest_pn_msb: be32(&body[4..8]),
                })
            }
            set_type::ICV_INDICATOR => return Err(MkpduError::MisplacedIcvIndicator { offset: 0 }),
            _ => ParamSet::Unknown(UnknownParamSet {
                set_type: t,
                octet2: p.octet2(),
                flags: p.flags(),
                body: body.to_vec(),
            }),
        })
    }

    /// The body length (header and padding excluded).
    pub fn body_len(&self) -> usize {
        match self {
            ParamSet::LivePeerList(l) | ParamSet::PotentialPeerList(l) => l.peers.len() * PEER_ENTRY_LEN,
            ParamSet::SakUse(s) => {
                if s.keys.is_some() {
                    SAK_USE_BODY_LEN
                } else {
                    0
                }
            }
            ParamSet::DistributedSak(d) => d.body_len(),
            ParamSet::DistributedCak(c) => c.wrapped_cak.len() + c.ckn.len(),
            ParamSet::Kmd(k) => k.len(),
            ParamSet::Announcement(a) => a.body_len(),
            ParamSet::Xpn(_) => XPN_BODY_LEN,
            ParamSet::Unknown(u) => u.body.len(),
        }
    }

    /// Header, body and padding.
    pub fn buffer_len(&self) -> usize {
        PARAM_SET_HEADER_LEN + pad4(self.body_len())
    }

    /// Header octet 2 and the 4 flag bits, after checking the fields.
    fn header(&self) -> Result<(u8, u8), EmitError> {
        Ok(match self {
            ParamSet::LivePeerList(l) => (l.key_server_ssci, 0),
            ParamSet::PotentialPeerList(l) => (l.key_server_ssci, 0),
            ParamSet::SakUse(s) => s.header()?,
            ParamSet::DistributedSak(d) => (d.check()?, 0),
            ParamSet::DistributedCak(c) => {
                if c.wrapped_cak.len() != WRAPPED_CAK_LEN {
                    return Err(EmitError::Invalid("Distributed CAK wrap must be 24 octets"));
                }
                (0, 0)
            }
            ParamSet::Kmd(_) => (0, 0),
            ParamSet::Announcement(a) => {
                a.check()?;
                (0, 0)
            }
            ParamSet::Xpn(x) => (x.suspension_time, 0),
            ParamSet::Unknown(u) => {
                if set_type::is_known(u.set_type) {
                    return Err(EmitError::Invalid(
                        "UnknownParamSet with a known parameter set type",
                    ));
                }
                if u.flags > 0x0f {
                    return Err(EmitError::Invalid("UnknownParamSet flags above 4 bits"));
                }
                (u.octet2, u.flags)
            }
        })
    }

    /// Writes header, body and zero padding to the start of `out`; returns the octets written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        let body_len = self.body_len();
        if body_len > MAX_BODY_LEN {
            return Err(EmitError::BodyTooLong {
                set_type: self.set_type(),
                len: body_len,
            });
        }
        let need = self.buffer_len();
        if out.len() < need {
            return Err(EmitError::BufferTooShort { len: out.len(), need });
        }
        let (octet2, flags) = self.header()?;
        let out = &mut out[..need];
        out.fill(0);
        let mut p = ParamSetPacket::new_unchecked(&mut *out);
        p.set_header(self.set_type(), octet2, flags, body_len);
        let body = p.body_mut();
        match self {
            ParamSet::LivePeerList(l) | ParamSet::PotentialPeerList(l) => {
                for (e, peer) in body.chunks_exact_mut(PEER_ENTRY_LEN).zip(&l.peers) {
                    e[..12].copy_from_slice(&peer.mi.0);
                    e[12..].copy_from_slice(&peer.mn.to_be_bytes());
                }
            }
            ParamSet::SakUse(s) => s.emit_body(body),
            ParamSet::DistributedSak(d) => d.emit_body(body),
            ParamSet::DistributedCak(c) => {
                body[..WRAPPED_CAK_LEN].copy_from_slice(&c.wrapped_cak);
                body[WRAPPED_CAK_LEN..].copy_from_slice(c.ckn.as_bytes());
            }
            ParamSet::Kmd(k) => body.copy_from_slice(k),
            ParamSet::Announcement(a) => a.emit_body(body),
            ParamSet::Xpn(x) => {
                body[0..4].copy_from_slice(&x.latest_lowest_pn_msb.to_be_bytes());
                body[4..8].copy_from_slice(&x.old_lowest_pn_msb.to_be_bytes());
            }
            ParamSet::Unknown(u) => body.copy_from_slice(&u.body),
        }
        Ok(need)
    }
}

// ------------------------------------------------------------------------------------------------
// MKPDU

/// An MKPDU: the body of an EAPOL-MKA PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkpduRepr {
    pub basic: BasicParamSet,
    /// The other parameter sets, in wire order.
    pub sets: Vec<ParamSet>,
    /// The ICV is carried as the body of an ICV Indicator (type 255) rather than bare.
    pub icv_indicator: bool,
    /// The ICV as received (or as set by [`MkaFrameRepr::seal`]).
    pub icv: [u8; ICV_LEN],
}

impl MkpduRepr {
    /// Parses an MKPDU: exactly the EAPOL body (the EAPOL Packet Body Length octets).
    pub fn parse(mkpdu: &[u8]) -> Result<MkpduRepr, MkpduError> {
        let len = mkpdu.len();
        if len < MKPDU_MIN_LEN {
            return Err(MkpduError::TooShort { len });
        }
        if len % 4 != 0 {
            return Err(MkpduError::NotMultipleOf4 { len });
        }
        let end = len - ICV_LEN;
        let (basic, mut off) = BasicParamSet::parse(&mkpdu[..end])?;
        let mut sets = Vec::new();
        let mut icv_indicator = false;
        while off < end {
            // `end - off` is a non-zero multiple of 4, so the 4-octet header is always present.
            let p = ParamSetPacket::new_unchecked(&mkpdu[off..end]);
            if p.set_type() == set_type::ICV_INDICATOR {
                if p.body_len() != ICV_LEN {
                    return Err(MkpduError::BadParamSetLength {
                        set_type: set_type::ICV_INDICATOR,
                        len: p.body_len(),
                    });
                }
                if off + PARAM_SET_HEADER_LEN != end {
                    return Err(MkpduError::MisplacedIcvIndicator { offset: off });
                }
                icv_indicator = true;
                break;
            }
            if off + p.padded_len() > end {
                return Err(MkpduError::ParamSetTruncated {
                    set_type: p.set_type(),
                    offset: off,
                });
            }
            sets.push(ParamSet::parse(&p)?);
            off += p.padded_len();
        }
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&mkpdu[end..]);
        Ok(MkpduRepr {
            basic,
            sets,
            icv_indicator,
            icv,
        })
    }

    /// Octets [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        PARAM_SET_HEADER_LEN
            + pad4(self.basic.body_len())
            + self.sets.iter().map(ParamSet::buffer_len).sum::<usize>()
            + if self.icv_indicator {
                PARAM_SET_HEADER_LEN
            } else {
                0
            }
            + ICV_LEN
    }

    /// Writes the MKPDU (with [`icv`](Self::icv) as its ICV) to the start of `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        let need = self.buffer_len();
        if out.len() < need {
            return Err(EmitError::BufferTooShort { len: out.len(), need });
        }
        let out = &mut out[..need];
        out.fill(0);
        self.basic.emit(out);
        let mut off = PARAM_SET_HEADER_LEN + pad4(self.basic.body_len());
        for s in &self.sets {
            off += s.emit(&mut out[off..])?;
        }
        if self.icv_indicator {
            ParamSetPacket::new_unchecked(&mut out[off..]).set_header(set_type::ICV_INDICATOR, 0, 0, ICV_LEN);
            off += PARAM_SET_HEADER_LEN;
        }
        out[off..].copy_from_slice(&self.icv);
        Ok(need)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }

    fn first<'a, R>(&'a self, f: impl Fn(&'a ParamSet) -> Option<R>) -> Option<R> {
        self.sets.iter().find_map(f)
    }

    /// The first Live Peer List.
    pub fn live_peers(&self) -> Option<&PeerList> {
        self.first(|s| match s {
            ParamSet::LivePeerList(l) => Some(l),
            _ => None,
        })
    }
    /// The first Potential Peer List.
    pub fn potential_peers(&self) -> Option<&PeerList> {
        self.first(|s| match s {
            ParamSet::PotentialPeerList(l) => Some(l),
            _ => None,
        })
    }
    /// The first MACsec SAK Use.
    pub fn sak_use(&self) -> Option<&SakUse> {
        self.first(|s| match s {
            ParamSet::SakUse(u) => Some(u),
            _ => None,
        })
    }
    /// The first Distributed SAK.
    pub fn distributed_sak(&self) -> Option<&DistributedSak> {
        self.first(|s| match s {
            ParamSet::DistributedSak(d) => Some(d),
            _ => None,
        })
    }
    /// The first Distributed CAK.
    pub fn distributed_cak(&self) -> Option<&DistributedCak> {
        self.first(|s| match s {
            ParamSet::DistributedCak(d) => Some(d),
            _ => None,
        })
    }
    /// The first Announcement.
    pub fn announcement(&self) -> Option<&Announcement> {
        self.first(|s| match s {
            ParamSet::Announcement(a) => Some(a),
            _ => None,
        })
    }
    /// The first XPN parameter set.
    pub fn xpn(&self) -> Option<&Xpn> {
        self.first(|s| match s {
            ParamSet::Xpn(x) => Some(x),
            _ => None,
        })
    }
}

// ------------------------------------------------------------------------------------------------
// Ethernet framing and the ICV

/// An 802.1Q (TPID 0x8100) or 802.1ad (0x88A8) tag in front of the EAPOL EtherType. Tags are not
/// covered by the ICV (they are added below the PAE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTagRepr {
    pub tpid: u16,
    pub tci: u16,
}

/// At most this many VLAN tags are skipped in front of the EAPOL EtherType.
pub const MAX_VLAN_TAGS: usize = 2;

/// Where the pieces of an EAPOL-MKA frame are.
struct Layout {
    dst: MacAddr,
    src: MacAddr,
    tags: Vec<VlanTagRepr>,
    /// Offset of the EAPOL header.
    eapol: usize,
    /// EAPOL header + body (Ethernet padding excluded).
    eapol_len: usize,
    version: u8,
}

fn locate(frame: &[u8]) -> Result<Layout, MkpduError> {
    let len = frame.len();
    if len < 14 {
        return Err(MkpduError::FrameTooShort { len });
    }
    let mut off = 12;
    let mut tags = Vec::new();
    let mut et = u16::from_be_bytes([frame[off], frame[off + 1]]);
    while (et == EtherType::VLAN.0 || et == EtherType::QINQ.0) && tags.len() < MAX_VLAN_TAGS {
        let t = frame
            .get(off + 2..off + 6)
            .ok_or(MkpduError::FrameTooShort { len })?;
        tags.push(VlanTagRepr {
            tpid: et,
            tci: u16::from_be_bytes([t[0], t[1]]),
        });
        et = u16::from_be_bytes([t[2], t[3]]);
        off += 4;
    }
    if et != ETHERTYPE_EAPOL {
        return Err(MkpduError::NotEapol { ethertype: et });
    }
    let eapol = off + 2;
    let p = EapolPacket::new_checked(&frame[eapol..]).map_err(|e| match e {
        MkpduError::FrameTooShort { .. } => MkpduError::FrameTooShort { len },
        e => e,
    })?;
    if p.packet_type() != EAPOL_TYPE_MKA {
        return Err(MkpduError::NotMka {
            packet_type: p.packet_type(),
        });
    }
    let dst = MacAddr::from_slice(&frame[0..6]);
    if dst.0[0] & 1 == 0 {
        return Err(MkpduError::IndividualDestination);
    }
    Ok(Layout {
        dst,
        src: MacAddr::from_slice(&frame[6..12]),
        tags,
        eapol,
        eapol_len: EAPOL_HEADER_LEN + p.body_len() as usize,
        version: p.version(),
    })
}

/// An Ethernet frame carrying an MKPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkaFrameRepr {
    pub dst: MacAddr,
    pub src: MacAddr,
    /// VLAN tags in front of the EAPOL EtherType (usually none).
    pub vlan_tags: Vec<VlanTagRepr>,
    /// EAPOL Protocol Version (any is accepted on receive; [`EAPOL_VERSION`] to send).
    pub eapol_version: u8,
    pub mkpdu: MkpduRepr,
}

impl MkaFrameRepr {
    /// A frame to the PAE group address with EAPOL version 3 and no tags.
    pub fn new(src: MacAddr, mkpdu: MkpduRepr) -> Self {
        MkaFrameRepr {
            dst: PAE_GROUP_ADDR,
            src,
            vlan_tags: Vec::new(),
            eapol_version: EAPOL_VERSION,
            mkpdu,
        }
    }

    /// Parses an Ethernet frame (no FCS; Ethernet padding after the EAPOL body is ignored).
    pub fn parse(frame: &[u8]) -> Result<MkaFrameRepr, MkpduError> {
        let l = locate(frame)?;
        let mkpdu = MkpduRepr::parse(&frame[l.eapol + EAPOL_HEADER_LEN..l.eapol + l.eapol_len])?;
        Ok(MkaFrameRepr {
            dst: l.dst,
            src: l.src,
            vlan_tags: l.tags,
            eapol_version: l.version,
            mkpdu,
        })
    }

    /// Octets of the frame without Ethernet padding.
    pub fn buffer_len(&self) -> usize {
        14 + 4 * self.vlan_tags.len() + EAPOL_HEADER_LEN + self.mkpdu.buffer_len()
    }

    /// Writes the frame (with the ICV in [`MkpduRepr::icv`]) to the start of `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        let need = self.buffer_len();
        if out.len() < need {
            return Err(EmitError::BufferTooShort { len: out.len(), need });
        }
        if self.vlan_tags.len() > MAX_VLAN_TAGS {
            return Err(EmitError::Invalid("more than two VLAN tags"));
        }
        let body_len = self.mkpdu.buffer_len();
        let body_len16 = u16::try_from(body_len).map_err(|_| EmitError::MkpduTooLong(body_len))?;
        out[0..6].copy_from_slice(&self.dst.0);
        out[6..12].copy_from_slice(&self.src.0);
        let mut off = 12;
        for t in &self.vlan_tags {
            if t.tpid != EtherType::VLAN.0 && t.tpid != EtherType::QINQ.0 {
                return Err(EmitError::Invalid("VLAN tag TPID is not 0x8100 or 0x88a8"));
            }
            out[off..off + 2].copy_from_slice(&t.tpid.to_be_bytes());
            out[off + 2..off + 4].copy_from_slice(&t.tci.to_be_bytes());
            off += 4;
        }
        out[off..off + 2].copy_from_slice(&ETHERTYPE_EAPOL.to_be_bytes());
        off += 2;
        let mut p = EapolPacket::new_unchecked(&mut out[off..]);
        p.set_version(self.eapol_version);
        p.set_packet_type(EAPOL_TYPE_MKA);
        p.set_body_len(body_len16);
        off += EAPOL_HEADER_LEN;
        self.mkpdu.emit(&mut out[off..])?;
        Ok(need)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }

    /// Computes the ICV with `ick`, stores it in [`MkpduRepr::icv`], and returns the frame.
    pub fn seal(&mut self, ick: &Ick) -> Result<Vec<u8>, EmitError> {
        let mut v = Vec::new();
        self.seal_into(ick, &mut v)?;
        Ok(v)
    }

    /// [`Self::seal`] into `out` (resized to the frame; its allocation is reused).
    pub fn seal_into(&mut self, ick: &Ick, out: &mut Vec<u8>) -> Result<(), EmitError> {
        out.clear();
        out.resize(self.buffer_len(), 0);
        self.emit(out)?;
        let icv = match frame_icv(out, ick) {
            Ok(icv) => icv,
            Err(_) => return Err(EmitError::Invalid("emitted frame does not parse")),
        };
        let n = out.len();
        out[n - ICV_LEN..].copy_from_slice(&icv);
        self.mkpdu.icv = icv;
        Ok(())
    }
}

/// The ICV of 802.1X-2020 9.4.1 / 11.11.1: AES-CMAC under the ICK over
/// `DA ‖ SA ‖ EtherType 88-8E ‖ EAPOL header ‖ MKPDU up to (not including) the ICV`, where
/// `eapol_without_icv` is the EAPOL header and the MKPDU minus its last 16 octets. VLAN tags are
/// not covered; padding and an ICV Indicator header are.
pub fn compute_icv(ick: &Ick, dst: MacAddr, src: MacAddr, eapol_without_icv: &[u8]) -> [u8; ICV_LEN] {
    let mut m = ick.cmac();
    m.update(&dst.0);
    m.update(&src.0);
    m.update(&ETHERTYPE_EAPOL.to_be_bytes());
    m.update(eapol_without_icv);
    m.finalize()
}

fn icv_parts(frame: &[u8]) -> Result<(Layout, &[u8], [u8; ICV_LEN]), MkpduError> {
    let l = locate(frame)?;
    let body_len = l.eapol_len - EAPOL_HEADER_LEN;
    if body_len < MKPDU_MIN_LEN {
        return Err(MkpduError::TooShort { len: body_len });
    }
    let icv_at = l.eapol + l.eapol_len - ICV_LEN;
    let mut icv = [0u8; ICV_LEN];
    icv.copy_from_slice(&frame[icv_at..icv_at + ICV_LEN]);
    let covered = &frame[l.eapol..icv_at];
    Ok((l, covered, icv))
}

/// The ICV a frame should carry under `ick` (computed over the frame's own octets, so the MKPDU
/// need not parse beyond its EAPOL framing).
pub fn frame_icv(frame: &[u8], ick: &Ick) -> Result<[u8; ICV_LEN], MkpduError> {
    let (l, covered, _) = icv_parts(frame)?;
    Ok(compute_icv(ick, l.dst, l.src, covered))
}

/// Checks a received frame's ICV under `ick` in constant time.
pub fn verify_frame_icv(frame: &[u8], ick: &Ick) -> Result<bool, MkpduError> {
    let (l, covered, icv) = icv_parts(frame)?;
    let mut m = ick.cmac();
    m.update(&l.dst.0);
    m.update(&l.src.0);
    m.update(&ETHERTYPE_EAPOL.to_be_bytes());
    m.update(covered);
    Ok(m.verify(&icv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cak, Kek, Sak};

    fn basic() -> BasicParamSet {
        BasicParamSet {
            version: MKA_VERSION,
            key_server_priority: 0x10,
            key_server: true,
            macsec_desired: true,
            macsec_capability: MacsecCapability::ConfidentialityWithOffset,
            sci: Sci(0x0200_0000_000a_0001),
            mi: Mi([7; 12]),
            mn: 42,
            algorithm_agility: ALGORITHM_AGILITY,
            ckn: Ckn::new(&[0xab; 5]).unwrap(),
        }
    }

    fn every_set() -> Vec<ParamSet> {
        let ki = Ki::new(Mi([9; 12]), 3);
        vec![
            ParamSet::LivePeerList(PeerList {
                key_server_ssci: 1,
                peers: vec![Peer {
                    mi: Mi([1; 12]),
                    mn: 5,
                }],
            }),
            ParamSet::PotentialPeerList(PeerList {
                key_server_ssci: 0,
                peers: vec![],
            }),
            ParamSet::SakUse(SakUse {
                latest_an: 1,
                latest_tx: true,
                latest_rx: true,
                old_an: 0,
                old_tx: false,
                old_rx: true,
                plain_tx: false,
                plain_rx: true,
                delay_protect: true,
                keys: Some(SakUseKeys {
                    latest_ki: ki,
                    latest_lowest_pn: 1,
                    old_ki: Ki::NULL,
                    old_lowest_pn: 1,
                }),
            }),
            ParamSet::SakUse(SakUse {
                plain_tx: true,
                plain_rx: true,
                ..SakUse::default()
            }),
            ParamSet::DistributedSak(DistributedSak {
                an: 2,
                conf_offset: ConfidentialityOffset::Offset30,
                key: Some(WrappedSak {
                    kn: 3,
                    cipher_suite_id: Some(CipherSuite::GcmAesXpn256.id()),
                    wrapped: vec![0x55; 40],
                }),
            }),
            ParamSet::DistributedSak(DistributedSak {
                an: 1,
                conf_offset: ConfidentialityOffset::Offset0,
                key: Some(WrappedSak {
                    kn: 4,
                    cipher_suite_id: Some(CipherSuite::GcmAesXpn128.id()),
                    wrapped: vec![0x66; 24],
                }),
            }),
            ParamSet::DistributedSak(DistributedSak {
                an: 0,
                conf_offset: ConfidentialityOffset::NotConfidential,
                key: None,
            }),
            ParamSet::DistributedCak(DistributedCak {
                wrapped_cak: vec![0x77; 24],
                ckn: Ckn::new(b"abc").unwrap(),
            }),
            ParamSet::Kmd(b"example.net".to_vec()),
            ParamSet::Announcement(Announcement {
                tlvs: vec![
                    AnnouncementTlv::CipherSuites(vec![
                        CipherSuiteCap {
                            capability: MacsecCapability::ConfidentialityWithOffset,
                            id: CipherSuite::GcmAes128.id(),
                        },
                        CipherSuiteCap {
                            capability: MacsecCapability::ConfidentialityNoOffset,
                            id: CipherSuite::GcmAesXpn256.id(),
                        },
                    ]),
                    AnnouncementTlv::Other {
                        tlv_type: 126,
                        value: vec![1, 2, 3],
                    },
                ],
            }),
            ParamSet::Xpn(Xpn {
                suspension_time: 30,
                latest_lowest_pn_msb: 1,
                old_lowest_pn_msb: 0,
            }),
            ParamSet::Unknown(UnknownParamSet {
                set_type: 42,
                octet2: 0x5a,
                flags: 0xa,
                body: vec![1, 2, 3, 4, 5],
            }),
        ]
    }

    #[test]
    fn every_set_round_trips_with_and_without_icv_indicator() {
        for icv_indicator in [false, true] {
            let repr = MkpduRepr {
                basic: basic(),
                sets: every_set(),
                icv_indicator,
                icv: [0xee; 16],
            };
            let bytes = repr.to_bytes().unwrap();
            assert_eq!(bytes.len() % 4, 0);
            let back = MkpduRepr::parse(&bytes).unwrap();
            assert_eq!(back, repr);
            assert_eq!(back.to_bytes().unwrap(), bytes);
            assert_eq!(&bytes[bytes.len() - 16..], &[0xee; 16]);
        }
    }

    #[test]
    fn sealed_frame_verifies_and_tampering_fails() {
        let cak = Cak::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap();
        let ckn = Ckn::new(b"ckn").unwrap();
        let ick = Ick::derive(&cak, &ckn);
        let kek = Kek::derive(&cak, &ckn);
        let sak = Sak::generate(&mut crate::rng::Rng::os(), 32).unwrap();
        let mut sets = every_set();
        sets.push(ParamSet::DistributedSak(DistributedSak {
            an: 3,
            conf_offset: ConfidentialityOffset::Offset0,
            key: Some(WrappedSak {
                kn: 9,
                cipher_suite_id: Some(CipherSuite::GcmAes256.id()),
                wrapped: kek.wrap_sak(&sak),
            }),
        }));
        for icv_indicator in [false, true] {
            let mut f = MkaFrameRepr::new(
                MacAddr([2, 0, 0, 0, 0, 1]),
                MkpduRepr {
                    basic: basic(),
                    sets: sets.clone(),
                    icv_indicator,
                    icv: [0; 16],
                },
            );
            f.vlan_tags.push(VlanTagRepr {
                tpid: 0x8100,
                tci: 100,
            });
            let bytes = f.seal(&ick).unwrap();
            assert!(verify_frame_icv(&bytes, &ick).unwrap());
            let back = MkaFrameRepr::parse(&bytes).unwrap();
            assert_eq!(back, f);
            let d = back.mkpdu.sets.iter().rev().find_map(|s| match s {
                ParamSet::DistributedSak(d) => Some(d),
                _ => None,
            });
            let got = kek.unwrap_sak(&d.unwrap().key.as_ref().unwrap().wrapped).unwrap();
            assert_eq!(got.as_bytes(), sak.as_bytes());
            // A VLAN tag is not covered by the ICV; every other octet is.
            let mut untagged = bytes.clone();
            untagged.drain(12..16);
            assert!(verify_frame_icv(&untagged, &ick).unwrap());
            for i in (0..12).chain(16..bytes.len()) {
                let mut t = bytes.clone();
                t[i] ^= 0x04;
                assert!(!verify_frame_icv(&t, &ick).unwrap_or(false), "octet {i}");
            }
        }
    }

    #[test]
    fn malformed_mkpdus_give_specific_errors() {
        let good = MkpduRepr {
            basic: basic(),
            sets: vec![],
            icv_indicator: false,
            icv: [0; 16],
        }
        .to_bytes()
        .unwrap();
        assert_eq!(
            MkpduRepr::parse(&good[..28]),
            Err(MkpduError::TooShort { len: 28 })
        );
        let mut odd = good.clone();
        odd.push(0);
        assert_eq!(
            MkpduRepr::parse(&odd),
            Err(MkpduError::NotMultipleOf4 { len: odd.len() })
        );
        let mut b = good.clone();
        b[3] = 28; // CKN of 0 octets
        assert_eq!(MkpduRepr::parse(&b), Err(MkpduError::BadBasicLength { len: 28 }));
        let with = |set: &[u8]| {
            let mut v = good[..good.len() - 16].to_vec();
            v.extend_from_slice(set);
            v.extend_from_slice(&[0; 16]);
            MkpduRepr::parse(&v)
        };
        assert_eq!(
            with(&[1, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(MkpduError::BadParamSetLength { set_type: 1, len: 15 })
        );
        assert_eq!(
            with(&[1, 0, 0, 16, 0, 0, 0, 0]),
            Err(MkpduError::ParamSetTruncated {
                set_type: 1,
                offset: 40
            })
        );
        assert_eq!(
            with(&[3, 0, 0, 4, 0, 0, 0, 0]),
            Err(MkpduError::BadParamSetLength { set_type: 3, len: 4 })
        );
        assert_eq!(
            with(&[4, 0, 0, 4, 0, 0, 0, 0]),
            Err(MkpduError::BadParamSetLength { set_type: 4, len: 4 })
        );
        assert_eq!(
            with(&[8, 0, 0, 4, 0, 0, 0, 0]),
            Err(MkpduError::BadParamSetLength { set_type: 8, len: 4 })
        );
        assert_eq!(
            with(&[7, 0, 0, 4, 0xe0, 5, 0, 0]),
            Err(MkpduError::BadAnnouncementTlv { offset: 0 })
        );
        assert_eq!(
            with(&[255, 0, 0, 16, 6, 0, 0, 0]),
            Err(MkpduError::MisplacedIcvIndicator { offset: 40 })
        );
        assert_eq!(
            with(&[255, 0, 0, 8]),
            Err(MkpduError::BadParamSetLength {
                set_type: 255,
                len: 8
            })
        );
        // Unknown types are kept and skipped.
        let r = with(&[200, 1, 0x20, 3, 9, 9, 9, 0]).unwrap();
        assert_eq!(
            r.sets,
            vec![ParamSet::Unknown(UnknownParamSet {
                set_type: 200,
                octet2: 1,
                flags: 2,
                body: vec![9, 9, 9]
            })]
        );
    }

    #[test]
    fn frame_level_errors() {
        let repr = MkaFrameRepr::new(
            MacAddr([2, 0, 0, 0, 0, 1]),
            MkpduRepr {
                basic: basic(),
                sets: vec![],
                icv_indicator: false,
                icv: [0; 16],
            },
        );
        let f = repr.to_bytes().unwrap();
        assert_eq!(
            MkaFrameRepr::parse(&f[..10]),
            Err(MkpduError::FrameTooShort { len: 10 })
        );
        let mut t = f.clone();
        t[12] = 0x08;
        t[13] = 0x00;
        assert_eq!(
            MkaFrameRepr::parse(&t),
            Err(MkpduError::NotEapol { ethertype: 0x0800 })
        );
        let mut t = f.clone();
        t[15] = 0;
        assert_eq!(
            MkaFrameRepr::parse(&t),
            Err(MkpduError::NotMka { packet_type: 0 })
        );
        let mut t = f.clone();
        t[0] = 0x02;
        assert_eq!(MkaFrameRepr::parse(&t), Err(MkpduError::IndividualDestination));
        assert_eq!(
            MkaFrameRepr::parse(&f[..f.len() - 1]),
            Err(MkpduError::EapolBodyTruncated {
                body_len: f.len() - 18,
                available: f.len() - 19
            })
        );
        // Ethernet padding is ignored.
        let mut padded = f.clone();
        padded.extend_from_slice(&[0xff; 8]);
        assert_eq!(MkaFrameRepr::parse(&padded).unwrap(), repr);
    }
}
