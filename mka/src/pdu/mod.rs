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

mod announcement;
mod basic;
mod distributed_cak;
mod distributed_sak;
mod eapol;
mod frame;
mod mkpdu;
mod param_set;
mod peer_list;
mod sak_use;
mod xpn;

pub use announcement::*;
pub use basic::*;
pub use distributed_cak::*;
pub use distributed_sak::*;
pub use eapol::*;
pub use frame::*;
pub use mkpdu::*;
pub use param_set::*;
pub use peer_list::*;
pub use sak_use::*;
pub use xpn::*;

use super::cmac::TAG_LEN;
use super::{Mi, MI_LEN};
use macsec::wire::MacAddr;

/// The PAE group address `01-80-C2-00-00-03` (Nearest non-TPMR Bridge group address).
pub const PAE_GROUP_ADDR: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);
/// EtherType of EAPOL (`88-8E`).
pub const ETHERTYPE_EAPOL: u16 = 0x888e;
/// Octets of the ICV.
pub const ICV_LEN: usize = TAG_LEN;
/// The smallest valid MKPDU (Basic Parameter Set with a 1-octet CKN, padded, plus the ICV).
pub const MKPDU_MIN_LEN: usize = 32;

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
// The parameter set dispatch

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
                let list = PeerList::parse(p.octet2(), body).ok_or(bad_len)?;
                if t == set_type::LIVE_PEER_LIST {
                    ParamSet::LivePeerList(list)
                } else {
                    ParamSet::PotentialPeerList(list)
                }
            }
            set_type::SAK_USE => ParamSet::SakUse(SakUse::parse(p.octet2(), p.flags(), body)?),
            set_type::DISTRIBUTED_SAK => ParamSet::DistributedSak(DistributedSak::parse(p.octet2(), body)?),
            set_type::DISTRIBUTED_CAK => {
                ParamSet::DistributedCak(DistributedCak::parse(body).ok_or(bad_len)?)
            }
            set_type::KMD => ParamSet::Kmd(body.to_vec()),
            set_type::ANNOUNCEMENT => ParamSet::Announcement(Announcement::parse(body)?),
            set_type::XPN => ParamSet::Xpn(Xpn::parse(p.octet2(), body).ok_or(bad_len)?),
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
            ParamSet::LivePeerList(l) | ParamSet::PotentialPeerList(l) => l.body_len(),
            ParamSet::SakUse(s) => s.body_len(),
            ParamSet::DistributedSak(d) => d.body_len(),
            ParamSet::DistributedCak(c) => c.body_len(),
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
                c.check()?;
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
            ParamSet::LivePeerList(l) | ParamSet::PotentialPeerList(l) => l.emit_body(body),
            ParamSet::SakUse(s) => s.emit_body(body),
            ParamSet::DistributedSak(d) => d.emit_body(body),
            ParamSet::DistributedCak(c) => c.emit_body(body),
            ParamSet::Kmd(k) => body.copy_from_slice(k),
            ParamSet::Announcement(a) => a.emit_body(body),
            ParamSet::Xpn(x) => x.emit_body(body),
            ParamSet::Unknown(u) => body.copy_from_slice(&u.body),
        }
        Ok(need)
    }
}

/// Fixtures shared by the unit tests of the MKPDU and the frame.
#[cfg(test)]
mod fixtures {
    use super::*;
    use crate::{Ckn, Ki, Mi};
    use macsec::secy::{CipherSuite, Sci};

    /// Parses one parameter set from its wire octets (header, body, padding) the way
    /// [`MkpduRepr::parse`] does for each set after the Basic Parameter Set.
    pub fn parse_set(bytes: &[u8]) -> Result<ParamSet, MkpduError> {
        ParamSet::parse(&ParamSetPacket::new_checked(bytes)?)
    }

    /// A parameter set of type `set_type` with octet 2 `octet2` and a body of `len` zero octets,
    /// padded (octet 3 holds only the length's high bits).
    pub fn zero_set(set_type: u8, octet2: u8, len: usize) -> Vec<u8> {
        let mut v = vec![set_type, octet2, (len >> 8) as u8, len as u8];
        v.resize(PARAM_SET_HEADER_LEN + pad4(len), 0);
        v
    }

    /// [`ParamSet::emit`] into a buffer of exactly [`ParamSet::buffer_len`] octets.
    pub fn emit_set(set: &ParamSet) -> Vec<u8> {
        let mut v = vec![0xff; set.buffer_len()];
        assert_eq!(set.emit(&mut v), Ok(v.len()));
        v
    }

    /// Parses an MKPDU made of [`basic`] (40 octets), the octets `set`, and a zero ICV.
    pub fn parse_mkpdu_with(set: &[u8]) -> Result<MkpduRepr, MkpduError> {
        let mut v = MkpduRepr {
            basic: basic(),
            sets: vec![],
            icv_indicator: false,
            icv: [0; 16],
        }
        .to_bytes()
        .unwrap();
        v.truncate(v.len() - ICV_LEN);
        assert_eq!(v.len(), 40);
        v.extend_from_slice(set);
        v.extend_from_slice(&[0; ICV_LEN]);
        MkpduRepr::parse(&v)
    }

    /// The EAPOL PDU (header and body, no Ethernet header or padding) of frame `n` (1-based, as
    /// Wireshark numbers them) of tests/data/captures/wpa_mka.pcap: 28 MKPDUs two unmodified
    /// wpa_supplicant 2.10 peers exchanged (keys in wpa_mka.keys.json).
    pub fn captured_eapol(n: usize) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/captures/wpa_mka.pcap");
        let mut r = pcap_file::pcap::PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut i = 0;
        while let Some(p) = r.next_packet() {
            i += 1;
            if i == n {
                let f = p.unwrap().data.into_owned();
                // Untagged: DA, SA, EtherType 0x888E, then the EAPOL PDU.
                assert_eq!(f[12..14], [0x88, 0x8e]);
                return EapolPacket::new_checked(&f[14..]).unwrap().pdu().to_vec();
            }
        }
        panic!("wpa_mka.pcap has no frame {n}");
    }

    /// The MKPDU (the EAPOL body) of frame `n` of wpa_mka.pcap.
    pub fn captured_mkpdu(n: usize) -> Vec<u8> {
        captured_eapol(n)[EAPOL_HEADER_LEN..].to_vec()
    }

    pub fn basic() -> BasicParamSet {
        BasicParamSet::for_tests(
            Sci(0x0200_0000_000a_0001),
            Mi([7; 12]),
            42,
            Ckn::new(&[0xab; 5]).unwrap(),
        )
    }

    /// An Announcement with a cipher suite TLV (two suites) and one other TLV.
    pub fn announcement() -> Announcement {
        Announcement {
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
        }
    }

    pub fn every_set() -> Vec<ParamSet> {
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
            ParamSet::Announcement(announcement()),
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
}
