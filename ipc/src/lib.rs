//! The control protocol between `macsecd` (and `macsecctl`) and the dataplane: versioned
//! request/response messages over a Unix SEQPACKET socket, one message per packet, encoded with
//! postcard. Keys cross only this socket; they are `Zeroizing` and print as `***`.
//!
//! A malformed, oversized, unknown or wrong-version message is answered with
//! [`Response::Error`] and changes nothing. [`Client`] is the blocking client both processes'
//! peers use.

#![forbid(unsafe_code)]

mod client;
pub mod man;
pub mod secret;
pub mod sock;
pub use client::Client;

use macsec::secy::{CipherSuite, ConfOffset, Policy, SaKeys, Salt, Sci, SecyCounters, Ssci, ValidateFrames};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Protocol version; a peer speaking another version gets `ErrorCode::Version`. 2: the SA states
/// carry a key check value ([`key_check`]); 3: the policy carries a [`ClearPolicy`].
pub const VERSION: u16 = 3;
/// Largest message either side sends or accepts (an EAPOL frame or a full SA state fits easily).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// SAK and XPN parameters of one SA.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyMsg {
    pub sak: Zeroizing<Vec<u8>>,
    /// Short SCI (XPN suites; 0 otherwise).
    pub ssci: u32,
    /// Salt (XPN suites; zeros otherwise).
    pub salt: [u8; 12],
    /// The control plane's name for the SAK (MKA's Key Identifier, key server MI ‖ KN). The
    /// dataplane only keeps and reports it, so that a restarted macsecd recognises an SA that
    /// already holds the SAK it is about to install (and keeps it, with its PNs).
    pub ki: Option<[u8; 16]>,
}

impl core::fmt::Debug for KeyMsg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "KeyMsg {{ sak: ***, ssci: {:08x}, salt: {} }}",
            self.ssci,
            Salt(self.salt)
        )
    }
}

impl KeyMsg {
    pub fn to_keys(&self) -> SaKeys {
        SaKeys::xpn(&self.sak, Ssci(self.ssci), Salt(self.salt))
    }
    pub fn from_keys(k: &SaKeys) -> Self {
        KeyMsg {
            sak: k.sak.clone(),
            ssci: k.ssci.0,
            salt: k.salt.0,
            ki: None,
        }
    }
}

/// The key check value of a SAK: the first 16 octets of HMAC-SHA-256(SAK, "MACsec SA key check").
/// It proves which key an SA holds without revealing the key or anything GCM derives from it (not
/// AES_K(0): that is GCM's hash subkey H), so that a restarted macsecd adopts an SA only when it
/// holds the very SAK to install, not merely one with the same Key Identifier.
pub fn key_check(sak: &[u8]) -> [u8; 16] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, sak);
    let tag = ring::hmac::sign(&key, b"MACsec SA key check");
    let mut out = [0u8; 16];
    out.copy_from_slice(&tag.as_ref()[..16]);
    out
}

/// must-secure / should-secure (the guide's security-policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SecurityPolicy {
    #[default]
    MustSecure,
    ShouldSecure,
}

/// A link's SecY policy as the control plane sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyMsg {
    pub cipher_suite: CipherSuite,
    /// 0, 30 or 50.
    pub conf_offset: u8,
    pub confidentiality: bool,
    pub include_sci: bool,
    pub use_es: bool,
    pub use_scb: bool,
    pub validate_frames: ValidateFrames,
    pub replay_protect: bool,
    pub replay_window: u32,
    pub security_policy: SecurityPolicy,
    /// What passes in the clear beside the SecY.
    pub clear: ClearPolicy,
}

/// The most EtherTypes and the most destination MACs a link passes in the clear.
pub const MAX_BYPASS: usize = 8;

/// What a link leaves in the clear: LACP (`policy-exception lacp-in-clear`), the VLAN tags in front
/// of the SecTAG (`vlan-tags-in-clear`), and frames of listed EtherTypes or to listed destination
/// MACs (`policy-exception ethertype` / `destination-mac`, our extension). Fixed-size (a link
/// copies it into every view): an unused EtherType slot is 0, an unused MAC slot all zeros (never
/// a frame's EtherType or destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClearPolicy {
    pub lacp_in_clear: bool,
    /// 0, 1 or 2 802.1Q/802.1ad tags after the addresses stay in front of the SecTAG, outside
    /// the ICV (as Cisco's vlan-tags-in-clear and Nokia's clear-tag-mode); a frame with fewer
    /// tags keeps those it has.
    pub vlan_tags_in_clear: u8,
    pub ethertypes: [u16; MAX_BYPASS],
    pub destination_macs: [[u8; 6]; MAX_BYPASS],
}

/// Why a [`ClearPolicy`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClearPolicyError {
    #[error("vlan-tags-in-clear is {0}: at most 2 tags stay in the clear")]
    Tags(u64),
    #[error("at most {MAX_BYPASS} EtherTypes are passed in the clear")]
    TooManyEtherTypes,
    #[error("at most {MAX_BYPASS} destination MACs are passed in the clear")]
    TooManyMacs,
    #[error("EtherType 0x{0:04x} is listed twice")]
    EtherTypeTwice(u16),
    #[error("destination MAC {} is listed twice", macsec::wire::ethernet::MacAddr(*.0))]
    MacTwice([u8; 6]),
    #[error("EtherType 0x{0:04x} cannot pass in the clear: {1}")]
    Reserved(u16, &'static str),
    #[error("destination MAC {mac} cannot pass in the clear: {why}", mac = macsec::wire::ethernet::MacAddr(*.0), why = .1)]
    ReservedMac([u8; 6], &'static str),
}

impl ClearPolicy {
    /// A policy from its parts, checked: at most 2 tags, at most [`MAX_BYPASS`] of each list,
    /// nothing twice, and neither MACsec nor our MKA's EAPOL on the EtherType list (EAPOL of
    /// other PAEs passes by its destination MAC).
    pub fn new(
        lacp_in_clear: bool,
        vlan_tags_in_clear: u64,
        ethertypes: impl IntoIterator<Item = u16>,
        macs: impl IntoIterator<Item = [u8; 6]>,
    ) -> Result<ClearPolicy, ClearPolicyError> {
        let mut c = ClearPolicy {
            lacp_in_clear,
            vlan_tags_in_clear: u8::try_from(vlan_tags_in_clear)
                .ok()
                .filter(|&n| usize::from(n) <= macsec::wire::ethernet::MAX_CLEAR_TAGS)
                .ok_or(ClearPolicyError::Tags(vlan_tags_in_clear))?,
            ..Default::default()
        };
        for et in ethertypes {
            match et {
                0x88e5 => return Err(ClearPolicyError::Reserved(et, "it is MACsec")),
                0x888e => {
                    return Err(ClearPolicyError::Reserved(
                        et,
                        "MKA's EAPOL goes to macsecd; list another PAE's group address as a destination MAC",
                    ))
                }
                _ => {}
            }
            if c.ethertypes.contains(&et) {
                return Err(ClearPolicyError::EtherTypeTwice(et));
            }
            if !c.add_ethertype(et) {
                return Err(ClearPolicyError::TooManyEtherTypes);
            }
        }
        for m in macs {
            match m {
                [0, 0, 0, 0, 0, 0] => return Err(ClearPolicyError::ReservedMac(m, "it is no address")),
                [0x01, 0x80, 0xc2, 0, 0, 0x03] => {
                    return Err(ClearPolicyError::ReservedMac(
                        m,
                        "it is the PAE group address of our MKA",
                    ))
                }
                _ => {}
            }
            if c.destination_macs.contains(&m) {
                return Err(ClearPolicyError::MacTwice(m));
            }
            if !c.add_mac(m) {
                return Err(ClearPolicyError::TooManyMacs);
            }
        }
        Ok(c)
    }

    /// True if a frame to `dst` whose EtherType is `et` (after the clear tags: `inner`) passes in
    /// the clear by the bypass lists (not LACP: that is counted apart).
    #[inline]
    pub fn bypasses(&self, dst: &[u8; 6], et: u16, inner: u16) -> bool {
        let listed = |e: u16| e != 0 && self.ethertypes.contains(&e);
        listed(et) || listed(inner) || (*dst != [0; 6] && self.destination_macs.contains(dst))
    }

    /// Some EtherType or destination MAC is listed (the dataplane checks the lists only then).
    pub fn has_lists(&self) -> bool {
        self.ethertype_list().next().is_some() || self.mac_list().next().is_some()
    }

    /// The listed EtherTypes, in order.
    pub fn ethertype_list(&self) -> impl Iterator<Item = u16> + '_ {
        self.ethertypes.iter().copied().filter(|&e| e != 0)
    }

    /// The listed destination MACs, in order.
    pub fn mac_list(&self) -> impl Iterator<Item = [u8; 6]> + '_ {
        self.destination_macs.iter().copied().filter(|m| *m != [0; 6])
    }

    /// Adds an EtherType to the list (false: the list is full or it is there already).
    pub fn add_ethertype(&mut self, et: u16) -> bool {
        if et == 0 || self.ethertypes.contains(&et) {
            return false;
        }
        match self.ethertypes.iter_mut().find(|e| **e == 0) {
            Some(slot) => {
                *slot = et;
                true
            }
            None => false,
        }
    }

    /// Adds a destination MAC to the list (false: the list is full or it is there already).
    pub fn add_mac(&mut self, mac: [u8; 6]) -> bool {
        if mac == [0; 6] || self.destination_macs.contains(&mac) {
            return false;
        }
        match self.destination_macs.iter_mut().find(|m| **m == [0; 6]) {
            Some(slot) => {
                *slot = mac;
                true
            }
            None => false,
        }
    }
}

/// Why a [`PolicyMsg`] is not an acceptable SecY policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The confidentiality offset is not 0, 30 or 50.
    #[error(transparent)]
    ConfOffset(#[from] macsec::secy::ParseError),
    #[error("ES and SCB are exclusive")]
    EsAndScb,
}

impl PolicyMsg {
    /// The SecY policy, or why the message is not acceptable.
    pub fn to_policy(&self) -> Result<Policy, PolicyError> {
        let mut p = Policy::new(self.cipher_suite);
        p.conf_offset = ConfOffset::from_octets(self.conf_offset as u64)?;
        if self.use_es && self.use_scb {
            return Err(PolicyError::EsAndScb);
        }
        p.confidentiality = self.confidentiality;
        p.include_sci = self.include_sci;
        p.use_es = self.use_es;
        p.use_scb = self.use_scb;
        p.validate_frames = self.validate_frames;
        p.replay_protect = self.replay_protect;
        p.replay_window = self.replay_window;
        Ok(p)
    }
}

/// What a client asks of the dataplane.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Version and link names.
    Hello,
    /// Replaces a link's policy. A change of cipher suite deletes every SA of the link.
    SetPolicy {
        link: String,
        policy: PolicyMsg,
    },
    /// Installs (or replaces) the Tx SA `an`; it transmits only after `EnableTxSa`.
    InstallTxSa {
        link: String,
        an: u8,
        key: KeyMsg,
        next_pn: u64,
    },
    /// Installs (or replaces) an Rx SA, creating the Rx SC; it receives at once.
    InstallRxSa {
        link: String,
        sci: u64,
        an: u8,
        key: KeyMsg,
        lowest_pn: u64,
    },
    /// Makes `an` the encoding SA (None: stop protecting; must-secure then drops).
    EnableTxSa {
        link: String,
        an: Option<u8>,
    },
    /// Turns receive on or off for an installed Rx SA.
    EnableRxSa {
        link: String,
        sci: u64,
        an: u8,
        enable: bool,
    },
    DeleteTxSa {
        link: String,
        an: u8,
    },
    DeleteRxSa {
        link: String,
        sci: u64,
        an: u8,
    },
    /// Raises an Rx SA's lowest acceptable PN (delay protection).
    SetLowestPn {
        link: String,
        sci: u64,
        an: u8,
        pn: u64,
    },
    /// Sends an EAPOL frame (an MKPDU) out of the link's line port.
    InjectEapol {
        link: String,
        frame: Vec<u8>,
    },
    /// From now on this connection also receives `Response::Event`s (EAPOL punts, PN threshold).
    Subscribe,
    ReadCounters {
        link: String,
    },
    ReadSaState {
        link: String,
    },
    /// The source MACs of the link's live MKA peers (at most 64; the first 6 octets of their
    /// SCIs): their EAPOL frames are punted first, ahead of a flood from other sources. Each
    /// request replaces the set.
    SetLivePeers {
        link: String,
        macs: Vec<[u8; 6]>,
    },
}

impl Request {
    /// The request's name (its variant), for logs and error messages; never its contents.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello => "Hello",
            Request::SetPolicy { .. } => "SetPolicy",
            Request::InstallTxSa { .. } => "InstallTxSa",
            Request::InstallRxSa { .. } => "InstallRxSa",
            Request::EnableTxSa { .. } => "EnableTxSa",
            Request::EnableRxSa { .. } => "EnableRxSa",
            Request::DeleteTxSa { .. } => "DeleteTxSa",
            Request::DeleteRxSa { .. } => "DeleteRxSa",
            Request::SetLowestPn { .. } => "SetLowestPn",
            Request::InjectEapol { .. } => "InjectEapol",
            Request::Subscribe => "Subscribe",
            Request::ReadCounters { .. } => "ReadCounters",
            Request::ReadSaState { .. } => "ReadSaState",
            Request::SetLivePeers { .. } => "SetLivePeers",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    Malformed,
    Version,
    TooLarge,
    UnknownLink,
    BadArgument,
    NoSuchSa,
    Busy,
}

/// The state of one Tx SA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxSaState {
    pub an: u8,
    pub next_pn: u64,
    pub in_use: bool,
    /// XPN: the IV's 12-octet base, SSCI XOR salt (the guide's CtxSalt); not secret.
    pub ctx_salt: Option<[u8; 12]>,
    /// The Key Identifier the control plane installed the SA with.
    pub ki: Option<[u8; 16]>,
    /// [`key_check`] of the SA's SAK (None for an SA the control plane did not install).
    pub key_check: Option<[u8; 16]>,
    pub out_pkts_protected: u64,
    pub out_pkts_encrypted: u64,
    /// When the SA was installed in the dataplane, Unix time in ms (0: not known).
    #[serde(default)]
    pub installed_unix_ms: u64,
}

/// The state of one Rx SA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RxSaState {
    pub sci: u64,
    pub an: u8,
    pub next_pn: u64,
    pub lowest_pn: u64,
    pub enabled: bool,
    /// XPN: SSCI XOR salt (the guide's CtxSalt).
    pub ctx_salt: Option<[u8; 12]>,
    /// The Key Identifier the control plane installed the SA with.
    pub ki: Option<[u8; 16]>,
    /// [`key_check`] of the SA's SAK (None for an SA the control plane did not install).
    pub key_check: Option<[u8; 16]>,
    pub in_pkts_ok: u64,
    pub in_pkts_invalid: u64,
    pub in_pkts_not_valid: u64,
    pub in_pkts_not_using_sa: u64,
    pub in_pkts_unused_sa: u64,
    /// When the SA was installed in the dataplane, Unix time in ms (0: not known).
    #[serde(default)]
    pub installed_unix_ms: u64,
}

/// A link's SAs as the dataplane holds them (keys never leave the dataplane this way).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaState {
    /// The SecY policy in force (None before the control plane set one).
    pub policy: Option<PolicyMsg>,
    pub tx_sci: u64,
    pub encoding_an: Option<u8>,
    pub tx: Vec<TxSaState>,
    pub rx: Vec<RxSaState>,
}

/// Counters the dataplane keeps beyond the 802.1AE ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCounters {
    /// Host frames dropped under must-secure because no Tx SA is in use.
    pub tx_drop_no_sa: u64,
    /// Host frames dropped for other transmit errors (PN exhausted, no room, runt).
    pub tx_drop_other: u64,
    /// Frames sent in the clear: LACP under lacp-in-clear, or any frame under should-secure
    /// while the link is not secured.
    pub tx_clear: u64,
    pub rx_clear: u64,
    /// EAPOL frames received on the line port and handed to the control plane.
    pub eapol_punted: u64,
    /// EAPOL frames the control plane could not take (its queue was full).
    pub eapol_punt_dropped: u64,
    /// EAPOL frames injected by the control plane.
    pub eapol_injected: u64,
    /// Frames a port would not take (tx ring full).
    pub tx_ring_full: u64,
    /// Frames dropped because they were not in one contiguous buffer.
    pub rx_non_contiguous: u64,
    /// EAPOL frames not punted: their source MAC was over its rate (20/s, burst 40; a live
    /// peer's: 100/s, burst 200).
    pub eapol_drop_source_rate: u64,
    /// EAPOL frames not punted: the sources other than live peers were together over their
    /// rate (200/s, burst 400).
    pub eapol_drop_total_rate: u64,
    /// Frames passed in the clear from the host by the bypass lists (EtherType or destination
    /// MAC; not LACP, which is in `tx_clear`).
    #[serde(default)]
    pub tx_bypass: u64,
    /// Frames passed in the clear to the host by the bypass lists.
    #[serde(default)]
    pub rx_bypass: u64,
}

impl LinkCounters {
    /// Adds every counter of `other` to `self` (the two directions of a link).
    pub fn add(&mut self, other: &Self) {
        let LinkCounters {
            tx_drop_no_sa,
            tx_drop_other,
            tx_clear,
            rx_clear,
            eapol_punted,
            eapol_punt_dropped,
            eapol_injected,
            tx_ring_full,
            rx_non_contiguous,
            eapol_drop_source_rate,
            eapol_drop_total_rate,
            tx_bypass,
            rx_bypass,
        } = *other;
        self.tx_drop_no_sa += tx_drop_no_sa;
        self.tx_drop_other += tx_drop_other;
        self.tx_clear += tx_clear;
        self.rx_clear += rx_clear;
        self.eapol_punted += eapol_punted;
        self.eapol_punt_dropped += eapol_punt_dropped;
        self.eapol_injected += eapol_injected;
        self.tx_ring_full += tx_ring_full;
        self.rx_non_contiguous += rx_non_contiguous;
        self.eapol_drop_source_rate += eapol_drop_source_rate;
        self.eapol_drop_total_rate += eapol_drop_total_rate;
        self.tx_bypass += tx_bypass;
        self.rx_bypass += rx_bypass;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub interface: String,
    pub host_port: String,
    pub line_port: String,
    pub tx_sci: u64,
}

/// Unsolicited messages to subscribed connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    EapolReceived {
        link: String,
        frame: Vec<u8>,
    },
    /// The Tx SA's PN passed the exhaustion threshold: rekey now.
    PnThreshold {
        link: String,
        an: u8,
        next_pn: u64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    Ok,
    Hello { version: u16, links: Vec<LinkInfo> },
    Counters { secy: SecyCounters, link: LinkCounters },
    SaState(SaState),
    Error { code: ErrorCode, message: String },
    Event(Event),
}

/// A request or response with its protocol version and the request id it answers (0 for events).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub version: u16,
    pub id: u32,
    pub body: T,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpcError {
    #[error("message of {0} octets exceeds {MAX_MESSAGE}")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("protocol version {0}, expected {VERSION}")]
    Version(u16),
}

impl IpcError {
    pub fn code(&self) -> ErrorCode {
        match self {
            IpcError::TooLarge(_) => ErrorCode::TooLarge,
            IpcError::Malformed(_) => ErrorCode::Malformed,
            IpcError::Version(_) => ErrorCode::Version,
        }
    }
}

/// Encodes one message. The bytes may hold a SAK ([`KeyMsg`]): they are `Zeroizing`, wiped when
/// dropped, and written once into a buffer of their exact size (a growing vector would leave
/// copies behind in freed memory).
pub fn encode<T: Serialize>(id: u32, body: &T) -> Result<Zeroizing<Vec<u8>>, IpcError> {
    let env = Envelope {
        version: VERSION,
        id,
        body,
    };
    let len =
        postcard::experimental::serialized_size(&env).map_err(|e| IpcError::Malformed(e.to_string()))?;
    if len > MAX_MESSAGE {
        return Err(IpcError::TooLarge(len));
    }
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    let n = postcard::to_slice(&env, &mut bytes)
        .map_err(|e| IpcError::Malformed(e.to_string()))?
        .len();
    debug_assert_eq!(n, len);
    Ok(bytes)
}

/// Decodes one message. On error, also returns the request id when it could be read, so the
/// error reply can name it. `bytes` may hold a SAK: the caller wipes its receive buffer after
/// (the keys decoded are `Zeroizing`).
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<Envelope<T>, (u32, IpcError)> {
    if bytes.len() > MAX_MESSAGE {
        return Err((0, IpcError::TooLarge(bytes.len())));
    }
    // The version and id come first, so they can be read even when the body cannot.
    let head: Result<(u16, u32), _> = postcard::take_from_bytes::<(u16, u32)>(bytes).map(|(h, _)| h);
    let id = head.as_ref().map(|h| h.1).unwrap_or(0);
    match head {
        Ok((v, _)) if v != VERSION => return Err((id, IpcError::Version(v))),
        Err(e) => return Err((0, IpcError::Malformed(e.to_string()))),
        _ => {}
    }
    match postcard::from_bytes::<Envelope<T>>(bytes) {
        Ok(env) => Ok(env),
        Err(e) => Err((id, IpcError::Malformed(e.to_string()))),
    }
}

/// A receive buffer for one message at a time, for messages that may hold a SAK ([`KeyMsg`]):
/// `Zeroizing` (wiped when dropped), and [`MessageBuf::decode`] wipes the message's octets once
/// decoded, so that a long-lived connection's buffer does not keep the last key it carried.
pub struct MessageBuf(Zeroizing<Vec<u8>>);

impl MessageBuf {
    /// Room for [`MAX_MESSAGE`] + 1 octets (one more, to see a message that is too large).
    pub fn new() -> MessageBuf {
        MessageBuf(Zeroizing::new(vec![0u8; MAX_MESSAGE + 1]))
    }

    /// Decodes the message in the first `n` octets (as [`decode`]), then wipes them.
    pub fn decode<T: for<'de> Deserialize<'de>>(&mut self, n: usize) -> Result<Envelope<T>, (u32, IpcError)> {
        let n = n.min(self.0.len());
        let r = decode(&self.0[..n]);
        zeroize::Zeroize::zeroize(&mut self.0[..n]);
        r
    }
}

impl Default for MessageBuf {
    fn default() -> Self {
        MessageBuf::new()
    }
}

impl core::ops::Deref for MessageBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl core::ops::DerefMut for MessageBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

/// Convenience for SCIs in messages.
pub fn sci(v: u64) -> Sci {
    Sci(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PolicyMsg {
        PolicyMsg {
            cipher_suite: CipherSuite::GcmAesXpn256,
            conf_offset: 30,
            confidentiality: true,
            include_sci: true,
            use_es: false,
            use_scb: false,
            validate_frames: ValidateFrames::Strict,
            replay_protect: true,
            replay_window: 64,
            security_policy: SecurityPolicy::ShouldSecure,
            clear: {
                let mut c = ClearPolicy {
                    lacp_in_clear: true,
                    vlan_tags_in_clear: 2,
                    ..Default::default()
                };
                c.add_ethertype(0x88cc);
                c.add_mac([1, 0x80, 0xc2, 0, 0, 0x0e]);
                c
            },
        }
    }

    #[test]
    fn clear_policy_is_checked() {
        let lldp = [1, 0x80, 0xc2, 0, 0, 0x0e];
        let c = ClearPolicy::new(true, 2, [0x88cc, 0x8809], [lldp]).unwrap();
        assert_eq!(c.ethertype_list().collect::<Vec<_>>(), vec![0x88cc, 0x8809]);
        let e = |r: Result<ClearPolicy, ClearPolicyError>| r.unwrap_err().to_string();
        assert_eq!(
            e(ClearPolicy::new(false, 3, [], [])),
            "vlan-tags-in-clear is 3: at most 2 tags stay in the clear"
        );
        assert_eq!(
            e(ClearPolicy::new(false, 0, [0x88cc, 0x88cc], [])),
            "EtherType 0x88cc is listed twice"
        );
        assert_eq!(
            e(ClearPolicy::new(false, 0, 0x9000..0x9009, [])),
            "at most 8 EtherTypes are passed in the clear"
        );
        assert_eq!(
            e(ClearPolicy::new(false, 0, [0x88e5], [])),
            "EtherType 0x88e5 cannot pass in the clear: it is MACsec"
        );
        assert!(e(ClearPolicy::new(false, 0, [0x888e], []))
            .starts_with("EtherType 0x888e cannot pass in the clear: MKA's EAPOL"));
        assert_eq!(
            e(ClearPolicy::new(false, 0, [], [[1, 0x80, 0xc2, 0, 0, 3]])),
            "destination MAC 01:80:c2:00:00:03 cannot pass in the clear: it is the PAE group address of our MKA"
        );
        assert_eq!(
            e(ClearPolicy::new(false, 0, [], [lldp, lldp])),
            "destination MAC 01:80:c2:00:00:0e is listed twice"
        );
        assert_eq!(
            e(ClearPolicy::new(
                false,
                0,
                [],
                (1..=9u8).map(|i| [2, 0, 0, 0, 0, i])
            )),
            "at most 8 destination MACs are passed in the clear"
        );
    }

    #[test]
    fn clear_policy_lists() {
        let mut c = ClearPolicy::default();
        let lldp = [1, 0x80, 0xc2, 0, 0, 0x0e];
        // Nothing listed: nothing bypasses, not even EtherType 0 or the all-zeros MAC.
        assert!(!c.bypasses(&[0; 6], 0, 0));
        assert!(!c.bypasses(&lldp, 0x88cc, 0x88cc));
        assert!(c.add_ethertype(0x88cc));
        assert!(!c.add_ethertype(0x88cc), "listed twice");
        assert!(!c.add_ethertype(0));
        assert!(c.bypasses(&[2; 6], 0x88cc, 0x88cc));
        // Behind a clear VLAN tag.
        assert!(c.bypasses(&[2; 6], 0x8100, 0x88cc));
        assert!(!c.bypasses(&[2; 6], 0x0800, 0));
        assert!(c.add_mac(lldp));
        assert!(!c.add_mac([0; 6]));
        assert!(c.bypasses(&lldp, 0x0800, 0x0800));
        for e in 1..MAX_BYPASS as u16 {
            assert!(c.add_ethertype(0x9000 + e));
        }
        assert!(!c.add_ethertype(0x9999), "the list is full");
        assert_eq!(c.ethertype_list().count(), MAX_BYPASS);
        assert_eq!(c.mac_list().collect::<Vec<_>>(), vec![lldp]);
    }

    #[test]
    fn round_trip_every_request() {
        let key = KeyMsg {
            sak: Zeroizing::new(vec![7; 32]),
            ssci: 2,
            salt: [9; 12],
            ki: Some([3; 16]),
        };
        let reqs = vec![
            Request::Hello,
            Request::SetPolicy {
                link: "TenGigE0/0/0/1".into(),
                policy: policy(),
            },
            Request::InstallTxSa {
                link: "l".into(),
                an: 1,
                key: key.clone(),
                next_pn: 1 << 40,
            },
            Request::InstallRxSa {
                link: "l".into(),
                sci: 0x0011_2233_4455_0001,
                an: 3,
                key,
                lowest_pn: 5,
            },
            Request::EnableTxSa {
                link: "l".into(),
                an: None,
            },
            Request::EnableRxSa {
                link: "l".into(),
                sci: 1,
                an: 0,
                enable: false,
            },
            Request::DeleteTxSa {
                link: "l".into(),
                an: 2,
            },
            Request::DeleteRxSa {
                link: "l".into(),
                sci: 1,
                an: 2,
            },
            Request::SetLowestPn {
                link: "l".into(),
                sci: 1,
                an: 2,
                pn: u64::MAX,
            },
            Request::InjectEapol {
                link: "l".into(),
                frame: vec![1, 2, 3],
            },
            Request::Subscribe,
            Request::ReadCounters { link: "l".into() },
            Request::ReadSaState { link: "l".into() },
        ];
        for (i, r) in reqs.into_iter().enumerate() {
            let bytes = encode(i as u32, &r).unwrap();
            let env: Envelope<Request> = decode(&bytes).unwrap();
            assert_eq!(env.id, i as u32);
            assert_eq!(format!("{:?}", env.body), format!("{r:?}"));
        }
        assert_eq!(policy().to_policy().unwrap().conf_offset, ConfOffset::Thirty);
    }

    #[test]
    fn bad_messages_are_errors_not_panics() {
        assert!(matches!(decode::<Request>(&[]), Err((0, IpcError::Malformed(_)))));
        let mut bytes = encode(77, &Request::Hello).unwrap();
        bytes[0] = 9; // version 9
        assert_eq!(decode::<Request>(&bytes).unwrap_err(), (77, IpcError::Version(9)));
        let mut bytes = encode(5, &Request::ReadCounters { link: "x".into() }).unwrap();
        let last = bytes.len() - 1;
        bytes[2] = 200; // unknown request variant
        let _ = last;
        assert!(matches!(
            decode::<Request>(&bytes),
            Err((5, IpcError::Malformed(_)))
        ));
        assert!(matches!(
            decode::<Request>(&vec![0u8; MAX_MESSAGE + 1]),
            Err((0, IpcError::TooLarge(_)))
        ));
        let mut p = policy();
        p.conf_offset = 20;
        assert!(p.to_policy().is_err());
        assert_eq!(
            p.to_policy().unwrap_err().to_string(),
            "confidentiality offset 20 is not 0, 30 or 50"
        );
        let mut p = policy();
        (p.use_es, p.use_scb) = (true, true);
        assert_eq!(p.to_policy().unwrap_err(), PolicyError::EsAndScb);
        assert_eq!(PolicyError::EsAndScb.to_string(), "ES and SCB are exclusive");
    }

    /// The bytes of a message with a SAK: encoded into a `Zeroizing` buffer of their exact size;
    /// a [`MessageBuf`] holds them only until decoded.
    /// A Tx SA install (link "l", AN 1) whose SAK is 32 octets of 0xab, for the wipe tests.
    pub(crate) fn install_with_sak_ab() -> Request {
        Request::InstallTxSa {
            link: "l".into(),
            an: 1,
            next_pn: 1,
            key: KeyMsg {
                sak: Zeroizing::new(vec![0xab; 32]),
                ssci: 0,
                salt: [0; 12],
                ki: None,
            },
        }
    }

    #[test]
    fn message_bytes_with_a_sak_are_wiped() {
        let req = install_with_sak_ab();
        let bytes: Zeroizing<Vec<u8>> = encode(3, &req).unwrap();
        assert_eq!(bytes.len(), bytes.capacity(), "written once, never regrown");
        assert!(bytes.windows(32).any(|w| w == [0xab; 32]));
        let mut buf = MessageBuf::new();
        buf[..bytes.len()].copy_from_slice(&bytes);
        let env = buf.decode::<Request>(bytes.len()).unwrap();
        let Request::InstallTxSa { key, .. } = env.body else {
            panic!("{:?}", env.body)
        };
        assert_eq!(&key.sak[..], &[0xab; 32]);
        assert!(
            buf.iter().all(|&b| b == 0),
            "the received octets are wiped once decoded"
        );
        // An error is wiped too, and an `n` beyond the buffer is no panic.
        buf[..4].copy_from_slice(&[1, 2, 3, 4]);
        assert!(buf.decode::<Request>(4).is_err());
        assert!(buf.iter().all(|&b| b == 0));
        assert!(buf.decode::<Request>(MAX_MESSAGE + 10).is_err());
    }

    #[test]
    fn keys_are_not_printed() {
        let key = KeyMsg {
            sak: Zeroizing::new(vec![0xab; 16]),
            ssci: 1,
            salt: [0; 12],
            ki: None,
        };
        let s = format!(
            "{:?}",
            Request::InstallTxSa {
                link: "l".into(),
                an: 0,
                key,
                next_pn: 1
            }
        );
        assert!(s.contains("***") && !s.contains("171") && !s.contains("ab, ab"));
    }
}
