//! The receive half of the SecY: Rx SCs, Rx SAs with their replay windows, and validate.

use super::ValidateFrames;
use super::{
    build_key, iv_base, iv_for, Policy, ReplayWindow, RxSaCounters, SaError, SaKeys, SecyCounters, Span,
};
use crate::crypto::{AeadKey, Backend, ICV_LEN, IV_LEN};
use crate::secy::suite::{CipherSuite, Sci};
use crate::wire::ethernet::ADDRS_LEN;
use crate::wire::sectag::{SecTagError, SecTagRepr};

/// Why a received frame was discarded; each maps to the 802.1AE counter it increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RxDrop {
    #[error("untagged frame under validateFrames Strict (InPktsNoTag)")]
    NoTag,
    #[error("invalid SecTAG: {0} (InPktsBadTag)")]
    BadTag(SecTagError),
    #[error("no receive SC for the SCI (InPktsNoSCI)")]
    NoSci,
    #[error("no receive SA in use for the AN (InPktsNotUsingSA)")]
    NotUsingSa,
    #[error("PN below the lowest acceptable PN or already seen (InPktsLate)")]
    Late,
    #[error("ICV verification failed (InPktsNotValid)")]
    NotValid,
}

impl RxDrop {
    /// The 802.1AE name of the counter this drop increments.
    pub fn counter(self) -> &'static str {
        match self {
            RxDrop::NoTag => "InPktsNoTag",
            RxDrop::BadTag(_) => "InPktsBadTag",
            RxDrop::NoSci => "InPktsNoSCI",
            RxDrop::NotUsingSa => "InPktsNotUsingSA",
            RxDrop::Late => "InPktsLate",
            RxDrop::NotValid => "InPktsNotValid",
        }
    }
}

/// How a delivered frame was accounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxStatus {
    /// Verified (InPktsOK).
    Ok,
    /// Verified but below the lowest acceptable PN with replay protection off (InPktsDelayed).
    Delayed,
    /// Not verified: validateFrames Disabled and C=0 (InPktsUnchecked).
    Unchecked,
    /// Failed verification, delivered under validateFrames Check with C=0 (InPktsInvalid).
    Invalid,
    /// No SecTAG, delivered because validateFrames is not Strict (InPktsUntagged).
    Untagged,
    /// Unknown SCI, delivered unverified (validateFrames not Strict, C=0) (InPktsUnknownSCI).
    UnknownSci,
    /// No SA in use for the AN, delivered unverified (InPktsUnusedSA).
    UnusedSa,
}

/// A delivered frame: where it now is in the buffer and what the SecY learnt of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validated {
    pub span: Span,
    pub status: RxStatus,
    pub sci: Option<Sci>,
    pub an: u8,
    pub pn: u64,
}

/// A receive SA.
pub struct RxSa {
    pub an: u8,
    suite: CipherSuite,
    key: Box<dyn AeadKey>,
    iv_base: [u8; IV_LEN],
    pub replay: ReplayWindow,
    /// 802.1AE enableReceive / inUse.
    pub enabled: bool,
    pub counters: RxSaCounters,
}

impl core::fmt::Debug for RxSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RxSa")
            .field("an", &self.an)
            .field("suite", &self.suite)
            .field("replay", &self.replay)
            .field("enabled", &self.enabled)
            .field("key", &"***")
            .finish()
    }
}

impl RxSa {
    /// XPN: SSCI XOR salt, the IV's base (the guide's CtxSalt); None for the non-XPN suites,
    /// whose IV starts with the SCI. Not secret: both travel in or derive from MKPDUs.
    pub fn ctx_salt(&self) -> Option<[u8; IV_LEN]> {
        self.suite.is_xpn().then_some(self.iv_base)
    }

    pub fn new(
        backend: Backend,
        suite: CipherSuite,
        sci: Sci,
        an: u8,
        keys: &SaKeys,
        lowest_pn: u64,
        window: u32,
    ) -> Result<RxSa, SaError> {
        Ok(RxSa {
            an,
            suite,
            key: build_key(backend, suite, an, keys)?,
            iv_base: iv_base(suite, sci, keys),
            replay: ReplayWindow::new(lowest_pn, window),
            enabled: true,
            counters: RxSaCounters::default(),
        })
    }

    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The full PN of a frame whose SecTAG carries `wire_pn`.
    fn recover_pn(&self, wire_pn: u32) -> Option<u64> {
        if self.suite.is_xpn() {
            self.replay.recover_xpn(wire_pn)
        } else {
            Some(wire_pn as u64)
        }
    }
}

/// A receive SC: the SCI of one peer and its four SAs by AN.
#[derive(Debug)]
pub struct RxSc {
    pub sci: Sci,
    pub sas: [Option<RxSa>; 4],
}

impl RxSc {
    pub fn new(sci: Sci) -> Self {
        RxSc {
            sci,
            sas: Default::default(),
        }
    }
}

/// The receive half of a SecY.
pub struct RxSecY {
    pub policy: Policy,
    backend: Backend,
    pub scs: Vec<RxSc>,
    pub counters: SecyCounters,
}

impl RxSecY {
    pub fn new(policy: Policy, backend: Backend) -> Self {
        RxSecY {
            policy,
            backend,
            scs: Vec::new(),
            counters: SecyCounters::default(),
        }
    }

    pub fn sc(&self, sci: Sci) -> Option<&RxSc> {
        self.scs.iter().find(|s| s.sci == sci)
    }

    pub fn sc_mut(&mut self, sci: Sci) -> Option<&mut RxSc> {
        self.scs.iter_mut().find(|s| s.sci == sci)
    }

    /// Creates the Rx SC for `sci` if it does not exist yet.
    pub fn add_sc(&mut self, sci: Sci) -> &mut RxSc {
        let i = match self.scs.iter().position(|s| s.sci == sci) {
            Some(i) => i,
            None => {
                self.scs.push(RxSc::new(sci));
                self.scs.len() - 1
            }
        };
        &mut self.scs[i]
    }

    pub fn delete_sc(&mut self, sci: Sci) {
        self.scs.retain(|s| s.sci != sci);
    }

    /// Builds an Rx SA for this SecY's policy (the key schedule is computed here, off the packet path).
    pub fn build_sa(&self, sci: Sci, an: u8, keys: &SaKeys, lowest_pn: u64) -> Result<RxSa, SaError> {
        RxSa::new(
            self.backend,
            self.policy.cipher_suite,
            sci,
            an,
            keys,
            lowest_pn,
            self.policy.replay_window,
        )
    }

    /// Installs (or replaces) the Rx SA `an` of the SC `sci`, creating the SC if needed.
    pub fn install_sa(&mut self, sci: Sci, an: u8, keys: &SaKeys, lowest_pn: u64) -> Result<(), SaError> {
        let sa = self.build_sa(sci, an, keys, lowest_pn)?;
        self.put_sa(sci, sa);
        Ok(())
    }

    /// Puts a ready SA in place.
    pub fn put_sa(&mut self, sci: Sci, sa: RxSa) {
        let an = (sa.an & 3) as usize;
        self.add_sc(sci).sas[an] = Some(sa);
    }

    pub fn delete_sa(&mut self, sci: Sci, an: u8) {
        if let Some(sc) = self.sc_mut(sci) {
            if let Some(s) = sc.sas.get_mut(an as usize) {
                *s = None;
            }
        }
    }

    pub fn sa_mut(&mut self, sci: Sci, an: u8) -> Option<&mut RxSa> {
        self.sc_mut(sci)
            .and_then(|sc| sc.sas.get_mut(an as usize))
            .and_then(|s| s.as_mut())
    }

    /// The SCI a frame belongs to (802.1AE-2018 9.9): the explicit SCI; with ES=1 the MAC SA and
    /// port 00-01; otherwise (point-to-point, or SCB) the one receive SC this SecY has.
    pub fn frame_sci(&self, frame: &[u8], tag: &SecTagRepr) -> Option<Sci> {
        if let Some(s) = tag.sci {
            return Some(Sci(s));
        }
        if tag.tci.es() {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&frame[6..12]);
            return Some(Sci::from_mac_port(mac, 1));
        }
        match self.scs.as_slice() {
            [only] => Some(only.sci),
            _ => None,
        }
    }

    /// Removes SecTAG and ICV: the addresses move forward over the SecTAG.
    fn strip(buf: &mut [u8], span: Span, tag_len: usize) -> Span {
        buf.copy_within(span.start..span.start + ADDRS_LEN, span.start + tag_len);
        Span::new(span.start + tag_len, span.len - tag_len - ICV_LEN)
    }

    /// Validates the frame at `buf[span]` in place (802.1AE-2018 10.6): on delivery the frame is
    /// DA‖SA‖User Data at the returned span; on discard the matching counter has been counted.
    pub fn validate(&mut self, buf: &mut [u8], span: Span) -> Result<Validated, RxDrop> {
        let strict = self.policy.validate_frames == ValidateFrames::Strict;
        if span.end() > buf.len() {
            self.counters.in_pkts_bad_tag += 1;
            return Err(RxDrop::BadTag(SecTagError::Truncated));
        }
        let frame = &buf[span.start..span.end()];
        let (tag, secure_len) = match SecTagRepr::parse_mpdu(frame, ICV_LEN) {
            Ok(t) => t,
            Err(SecTagError::NotMacsec) => {
                if strict {
                    self.counters.in_pkts_no_tag += 1;
                    return Err(RxDrop::NoTag);
                }
                self.counters.in_pkts_untagged += 1;
                return Ok(Validated {
                    span,
                    status: RxStatus::Untagged,
                    sci: None,
                    an: 0,
                    pn: 0,
                });
            }
            Err(e) => {
                self.counters.in_pkts_bad_tag += 1;
                return Err(RxDrop::BadTag(e));
            }
        };
        let tag_len = tag.buffer_len();
        let an = tag.tci.an();
        let c_bit = tag.tci.c();
        let unverified = |status| Validated {
            span: Span::new(0, 0),
            status,
            sci: None,
            an,
            pn: tag.pn as u64,
        };

        let sci = self.frame_sci(frame, &tag);
        let sc_idx = sci.and_then(|s| self.scs.iter().position(|sc| sc.sci == s));
        let Some(sc_idx) = sc_idx else {
            if strict || c_bit {
                self.counters.in_pkts_no_sci += 1;
                return Err(RxDrop::NoSci);
            }
            self.counters.in_pkts_unknown_sci += 1;
            let span = Self::strip(buf, span, tag_len);
            return Ok(Validated {
                span,
                sci,
                ..unverified(RxStatus::UnknownSci)
            });
        };
        let validate = self.policy.validate_frames;
        let replay_protect = self.policy.replay_protect;
        let conf_offset = self.policy.conf_offset.octets();
        let counters = &mut self.counters;
        let sc = &mut self.scs[sc_idx];
        let sci = Some(sc.sci);
        let sa = match sc.sas[an as usize].as_mut() {
            Some(sa) if sa.enabled => sa,
            other => {
                let sa_counters = other.map(|sa| &mut sa.counters);
                if strict || c_bit {
                    counters.in_pkts_not_using_sa += 1;
                    if let Some(c) = sa_counters {
                        c.in_pkts_not_using_sa += 1;
                    }
                    return Err(RxDrop::NotUsingSa);
                }
                counters.in_pkts_unused_sa += 1;
                if let Some(c) = sa_counters {
                    c.in_pkts_unused_sa += 1;
                }
                let span = Self::strip(buf, span, tag_len);
                return Ok(Validated {
                    span,
                    sci,
                    ..unverified(RxStatus::UnusedSa)
                });
            }
        };

        let Some(pn) = sa.recover_pn(tag.pn) else {
            counters.in_pkts_late += 1;
            return Err(RxDrop::Late);
        };
        if replay_protect && (sa.replay.is_late(pn) || sa.replay.is_duplicate(pn)) {
            counters.in_pkts_late += 1;
            return Err(RxDrop::Late);
        }

        let status = if validate == ValidateFrames::Disabled && !c_bit {
            counters.in_pkts_unchecked += 1;
            RxStatus::Unchecked
        } else {
            let frame = &mut buf[span.start..span.end()];
            let Some((body, icv)) = frame.split_last_chunk_mut::<ICV_LEN>() else {
                counters.in_pkts_bad_tag += 1;
                return Err(RxDrop::BadTag(SecTagError::Truncated));
            };
            let clear = if tag.tci.e() {
                (ADDRS_LEN + tag_len + conf_offset).min(body.len())
            } else {
                body.len()
            };
            let (aad, text) = body.split_at_mut(clear);
            let iv = iv_for(&sa.iv_base, pn);
            if sa.key.open(&iv, aad, text, icv).is_err() {
                if strict || c_bit {
                    counters.in_pkts_not_valid += 1;
                    sa.counters.in_pkts_not_valid += 1;
                    return Err(RxDrop::NotValid);
                }
                counters.in_pkts_invalid += 1;
                sa.counters.in_pkts_invalid += 1;
                let span = Self::strip(buf, span, tag_len);
                return Ok(Validated {
                    span,
                    sci,
                    an,
                    pn,
                    status: RxStatus::Invalid,
                });
            }
            if tag.tci.e() {
                counters.in_octets_decrypted += secure_len as u64;
            } else {
                counters.in_octets_validated += secure_len as u64;
            }
            if sa.replay.is_late(pn) {
                // Only reachable with replay protection off.
                counters.in_pkts_delayed += 1;
                RxStatus::Delayed
            } else {
                counters.in_pkts_ok += 1;
                sa.counters.in_pkts_ok += 1;
                RxStatus::Ok
            }
        };
        sa.replay.accept(pn);
        let span = Self::strip(buf, span, tag_len);
        Ok(Validated {
            span,
            sci,
            an,
            pn,
            status,
        })
    }
}
