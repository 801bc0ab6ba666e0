//! The receive half of the SecY: Rx SCs, Rx SAs with their replay windows, and validate.
//!
//! Validation runs in two steps so that several lcores can share one SecY and still count
//! exactly as one would: [`RxSecY::open`] parses the SecTAG, finds the SC and SA, recovers the PN
//! and verifies and decrypts the frame in place, reading the SecY only (any number of threads at
//! once); [`Commit::frame`] then applies the replay check and window update and counts, in wire
//! order. [`RxSecY::validate`] is the two in a row. An SA's replay window and counters are behind
//! a lock of their own (the committing thread takes it once per run of frames of that SA); the
//! SAs are shared (`Arc`), so a copy of the SecY (cheap: the SC table) sees the same windows.

use super::ValidateFrames;
use super::{
    build_key, iv_base, iv_for, Policy, ReplayWindow, RxSaCounters, SaError, SaKeys, SecyCounters, Span,
};
use crate::crypto::{AeadKey, Backend, ICV_LEN, IV_LEN};
use crate::secy::suite::{CipherSuite, Sci};
use crate::wire::ethernet::ADDRS_LEN;
use crate::wire::sectag::{SecTagError, SecTagRepr};
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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

/// What changes in an Rx SA as frames are accepted: its replay window and counters.
#[derive(Debug, Clone)]
pub struct RxSaState {
    pub replay: ReplayWindow,
    pub counters: RxSaCounters,
}

/// A receive SA. The key is fixed at install; the replay window and counters are behind a lock,
/// and the lowest acceptable PN is also published lock-free for [`RxSecY::open`] (XPN PN
/// recovery, and skipping the AEAD for frames already late).
pub struct RxSa {
    pub an: u8,
    suite: CipherSuite,
    key: Box<dyn AeadKey>,
    iv_base: [u8; IV_LEN],
    /// Written by the committing lcore (every burst): in cache lines of its own, apart from the
    /// key every opening lcore reads.
    state: CachePadded<Mutex<RxSaState>>,
    /// The replay window's lowest acceptable PN as of the last commit run (it only grows).
    lowest_hint: CachePadded<AtomicU64>,
    /// When the SA was made (Unix ms): its install, for the SA's age.
    created_unix_ms: u64,
}

impl core::fmt::Debug for RxSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RxSa")
            .field("an", &self.an)
            .field("suite", &self.suite)
            .field("state", &*self.state())
            .field("key", &"***")
            .finish()
    }
}

impl RxSa {
    /// When the SA was made (Unix ms).
    pub fn created_unix_ms(&self) -> u64 {
        self.created_unix_ms
    }

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
        let replay = ReplayWindow::new(lowest_pn, window);
        Ok(RxSa {
            created_unix_ms: super::unix_ms(),
            an,
            suite,
            key: build_key(backend, suite, an, keys)?,
            iv_base: iv_base(suite, sci, keys),
            lowest_hint: CachePadded::new(AtomicU64::new(replay.lowest_pn())),
            state: CachePadded::new(Mutex::new(RxSaState {
                replay,
                counters: RxSaCounters::default(),
            })),
        })
    }

    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The replay window and counters (a poisoned lock is taken over: the state is plain data
    /// that every update leaves consistent).
    pub fn state(&self) -> MutexGuard<'_, RxSaState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Raises the lowest acceptable PN (delay protection, or a restored state); never lowers it.
    pub fn set_lowest_pn(&self, pn: u64) {
        let mut st = self.state();
        st.replay.set_lowest_pn(pn);
        self.publish(&st.replay);
    }

    /// Sets the replay window's width (a policy change).
    pub fn set_window(&self, window: u32) {
        let mut st = self.state();
        st.replay.set_window(window);
        self.publish(&st.replay);
    }

    /// Publishes the window's lowest acceptable PN for [`RxSecY::open`].
    fn publish(&self, replay: &ReplayWindow) {
        self.lowest_hint.store(replay.lowest_pn(), Ordering::Relaxed);
    }

    /// The full PN of a frame whose SecTAG carries `wire_pn`, against the lowest acceptable PN
    /// `lowest`.
    fn recover_pn(&self, wire_pn: u32, lowest: u64) -> Option<u64> {
        if self.suite.is_xpn() {
            ReplayWindow::recover_xpn_from(lowest, wire_pn)
        } else {
            Some(wire_pn as u64)
        }
    }
}

/// A receive SC: the SCI of one peer and its four SAs by AN, each enabled for receive or not
/// (802.1AE enableReceive / inUse).
#[derive(Debug, Clone)]
pub struct RxSc {
    pub sci: Sci,
    pub sas: [Option<Arc<RxSa>>; 4],
    pub enabled: [bool; 4],
}

impl RxSc {
    pub fn new(sci: Sci) -> Self {
        RxSc {
            sci,
            sas: Default::default(),
            enabled: [false; 4],
        }
    }

    /// The SAs present, with whether each is enabled.
    pub fn sas(&self) -> impl Iterator<Item = (&Arc<RxSa>, bool)> {
        self.sas
            .iter()
            .zip(self.enabled)
            .filter_map(|(s, e)| s.as_ref().map(|s| (s, e)))
    }
}

/// The crypto step's outcome for a frame on an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crypto {
    /// The ICV verified (and the frame was decrypted if E=1).
    Verified,
    /// The ICV did not verify; the frame's contents are unspecified.
    Failed,
    /// validateFrames Disabled and C=0: not verified.
    Unchecked,
    /// Not attempted: the PN was already below the lowest acceptable PN (replay protection on).
    SkippedLate,
}

/// What [`RxSecY::open`] found, for [`Commit::frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// No SecTAG.
    NotMacsec,
    BadTag(SecTagError),
    /// No Rx SC for the frame's SCI (`None`: an implicit SCI with several SCs).
    NoSc {
        sci: Option<Sci>,
        c_bit: bool,
    },
    /// The SC at `sc` has no SA in use for the AN.
    NoSa {
        sc: u16,
        c_bit: bool,
    },
    /// The XPN PN could not be recovered (past 2^64 - 1).
    Unrecoverable {
        sc: u16,
    },
    /// The SA `an` of the SC at `sc`, with the PN recovered as `pn`.
    Sa {
        sc: u16,
        pn: u64,
        wire_pn: u32,
        secure_len: u32,
        e_bit: bool,
        c_bit: bool,
        crypto: Crypto,
    },
}

/// A frame after [`RxSecY::open`]: where it would be delivered and what was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The frame as delivered (SecTAG and ICV stripped where there was one to strip).
    span: Span,
    an: u8,
    found: Found,
}

impl Opened {
    /// A placeholder (e.g. for a preallocated array); commits as an untagged frame.
    pub const EMPTY: Opened = Opened {
        span: Span { start: 0, len: 0 },
        an: 0,
        found: Found::NotMacsec,
    };
}

impl Opened {
    /// Where the frame is if it is delivered (SecTAG and ICV stripped).
    pub fn span(&self) -> Span {
        self.span
    }

    /// The frame was moved in its buffer after it was opened (e.g. VLAN tags put back in front
    /// of it): it is delivered from `span`.
    pub fn moved_to(&mut self, span: Span) {
        self.span = span;
    }
}

impl Default for Opened {
    fn default() -> Self {
        Opened::EMPTY
    }
}

/// The receive half of a SecY. Cloning it is cheap and shares the SAs (and so their windows).
#[derive(Clone)]
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

    pub fn backend(&self) -> Backend {
        self.backend
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

    /// Puts a ready SA in place, enabled for receive.
    pub fn put_sa(&mut self, sci: Sci, sa: RxSa) {
        let an = (sa.an & 3) as usize;
        let sc = self.add_sc(sci);
        sc.sas[an] = Some(Arc::new(sa));
        sc.enabled[an] = true;
    }

    pub fn delete_sa(&mut self, sci: Sci, an: u8) {
        if let Some(sc) = self.sc_mut(sci) {
            if let Some(s) = sc.sas.get_mut(an as usize) {
                *s = None;
                sc.enabled[an as usize] = false;
            }
        }
    }

    pub fn sa(&self, sci: Sci, an: u8) -> Option<&Arc<RxSa>> {
        self.sc(sci)
            .and_then(|sc| sc.sas.get(an as usize))
            .and_then(|s| s.as_ref())
    }

    /// Enables or disables the SA for receive; false when there is no such SA.
    pub fn set_enabled(&mut self, sci: Sci, an: u8, enable: bool) -> bool {
        match self.sc_mut(sci) {
            Some(sc) if sc.sas.get(an as usize).is_some_and(|s| s.is_some()) => {
                sc.enabled[an as usize] = enable;
                true
            }
            _ => false,
        }
    }

    /// True when some SA is enabled for receive.
    pub fn any_enabled(&self) -> bool {
        self.scs.iter().any(|sc| sc.sas().any(|(_, e)| e))
    }

    /// Replaces the policy; a new replay window width reaches every SA.
    pub fn set_policy(&mut self, policy: Policy) {
        let window = policy.replay_window;
        self.policy = policy;
        for sc in &self.scs {
            for (sa, _) in sc.sas() {
                sa.set_window(window);
            }
        }
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
    #[inline]
    fn strip(buf: &mut [u8], span: Span, tag_len: usize) -> Span {
        crate::wire::ethernet::move_addrs(buf, span.start, span.start + tag_len);
        Span::new(span.start + tag_len, span.len - tag_len - ICV_LEN)
    }

    /// Validates the frame at `buf[span]` in place (802.1AE-2018 10.6): on delivery the frame is
    /// DA‖SA‖User Data at the returned span; on discard the matching counter has been counted.
    pub fn validate(&mut self, buf: &mut [u8], span: Span) -> Result<Validated, RxDrop> {
        let opened = self.open(buf, span);
        Commit::new(&self.scs, &self.policy, &mut self.counters).frame(&opened)
    }

    /// The first step of validate (802.1AE-2018 10.6 up to the replay check): parses the
    /// SecTAG, finds the SC and SA, recovers the PN, and verifies and decrypts the frame in
    /// place, stripping SecTAG and ICV where the frame could be delivered. Changes nothing in the
    /// SecY: several threads may open frames at once; [`Commit::frame`] decides and counts.
    pub fn open(&self, buf: &mut [u8], span: Span) -> Opened {
        let mut opened = Opened::EMPTY;
        let mut at = OpenAt::default();
        if self.open_prepare(buf, span, &mut opened, &mut at) {
            let ok = {
                let (aad, text, icv) = at.split(buf);
                self.open_key(&at)
                    .is_some_and(|k| k.open(&at.iv, aad, text, icv).is_ok())
            };
            Self::open_finish(&mut opened, &at, ok, buf);
        }
        opened
    }

    /// The first half of [`RxSecY::open`], for opening a burst's frames with one AEAD call per
    /// SA ([`crate::crypto::AeadKey::open_batch`]): everything but the AEAD and the strip that
    /// follows it, the frame's state written to `out` (both written in place: a returned
    /// struct was copied out of the stack in pieces whose loads waited for the stores that had
    /// filled it). True: the frame waits for its AEAD (the key: [`Self::open_key`]; its parts,
    /// written to `at`: [`OpenAt::split`]) and then [`Self::open_finish`]; false: it is opened
    /// already.
    #[inline]
    pub fn open_prepare(&self, buf: &mut [u8], span: Span, out: &mut Opened, at: &mut OpenAt) -> bool {
        let mut done = |o| {
            *out = o;
            false
        };
        if span.end() > buf.len() {
            return done(Opened {
                span,
                an: 0,
                found: Found::BadTag(SecTagError::Truncated),
            });
        }
        let frame = &buf[span.start..span.end()];
        let (tag, secure_len) = match SecTagRepr::parse_mpdu(frame, ICV_LEN) {
            Ok(t) => t,
            Err(SecTagError::NotMacsec) => {
                return done(Opened {
                    span,
                    an: 0,
                    found: Found::NotMacsec,
                })
            }
            Err(e) => {
                return done(Opened {
                    span,
                    an: 0,
                    found: Found::BadTag(e),
                })
            }
        };
        let tag_len = tag.buffer_len();
        let an = tag.tci.an();
        let c_bit = tag.tci.c();
        let sci = self.frame_sci(frame, &tag);
        let sc_idx = sci.and_then(|s| self.scs.iter().position(|sc| sc.sci == s));
        let Some(sc_idx) = sc_idx else {
            return done(Opened {
                span: Self::strip(buf, span, tag_len),
                an,
                found: Found::NoSc { sci, c_bit },
            });
        };
        let sc = sc_idx as u16;
        let entry = &self.scs[sc_idx];
        let Some(sa) = entry.sas[an as usize]
            .as_ref()
            .filter(|_| entry.enabled[an as usize])
        else {
            return done(Opened {
                span: Self::strip(buf, span, tag_len),
                an,
                found: Found::NoSa { sc, c_bit },
            });
        };
        let lowest = sa.lowest_hint.load(Ordering::Relaxed);
        let Some(pn) = sa.recover_pn(tag.pn, lowest) else {
            return done(Opened {
                span,
                an,
                found: Found::Unrecoverable { sc },
            });
        };
        let found = |crypto| Found::Sa {
            sc,
            pn,
            wire_pn: tag.pn,
            secure_len: secure_len as u32,
            e_bit: tag.tci.e(),
            c_bit,
            crypto,
        };
        // The lowest acceptable PN only grows: a PN below it now is late at commit too.
        if self.policy.replay_protect && pn < lowest {
            return done(Opened {
                span,
                an,
                found: found(Crypto::SkippedLate),
            });
        }
        if self.policy.validate_frames == ValidateFrames::Disabled && !c_bit {
            return done(Opened {
                span: Self::strip(buf, span, tag_len),
                an,
                found: found(Crypto::Unchecked),
            });
        }
        let Some(body) = span.len.checked_sub(ICV_LEN) else {
            return done(Opened {
                span,
                an: 0,
                found: Found::BadTag(SecTagError::Truncated),
            });
        };
        let clear = if tag.tci.e() {
            (ADDRS_LEN + tag_len + self.policy.conf_offset.octets()).min(body)
        } else {
            body
        };
        *out = Opened {
            span,
            an,
            // Until open_finish says otherwise.
            found: found(Crypto::Failed),
        };
        *at = OpenAt {
            iv: iv_for(&sa.iv_base, pn),
            start: span.start,
            clear,
            text: body - clear,
            tag_len,
            sc,
            an,
        };
        true
    }

    /// The AEAD key of the SA a prepared frame belongs to.
    #[inline]
    pub fn open_key(&self, at: &OpenAt) -> Option<&dyn AeadKey> {
        let sa = self.scs.get(at.sc as usize)?.sas.get(at.an as usize)?.as_ref()?;
        Some(&*sa.key)
    }

    /// The second half of [`RxSecY::open`]: records whether the AEAD verified the prepared frame
    /// and removes its SecTAG and ICV (the addresses move forward over the SecTAG).
    #[inline]
    pub fn open_finish(opened: &mut Opened, at: &OpenAt, verified: bool, buf: &mut [u8]) {
        if let Found::Sa { crypto, .. } = &mut opened.found {
            *crypto = if verified {
                Crypto::Verified
            } else {
                Crypto::Failed
            };
        }
        opened.span = Self::strip(buf, opened.span, at.tag_len);
    }
}

/// Where the parts of a frame [`RxSecY::open_prepare`] made ready are in its buffer, its IV and
/// its SA (the SC's index and the AN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenAt {
    pub iv: [u8; IV_LEN],
    start: usize,
    clear: usize,
    text: usize,
    tag_len: usize,
    pub sc: u16,
    pub an: u8,
}

impl OpenAt {
    /// The frame's AAD, text and received ICV, borrowed from its buffer.
    #[inline]
    pub fn split<'b>(&self, buf: &'b mut [u8]) -> (&'b [u8], &'b mut [u8], &'b [u8; ICV_LEN]) {
        let (aad, rest) = buf[self.start..].split_at_mut(self.clear);
        let (text, rest) = rest.split_at_mut(self.text);
        let icv = rest
            .first_chunk::<ICV_LEN>()
            .expect("open_prepare checked the frame's length");
        (aad, text, icv)
    }
}

/// The second step of validate: the replay check and window update (802.1AE-2018 10.6.2 and
/// 10.6.5) and every counter, for frames opened by [`RxSecY::open`] on the same SC table, in wire
/// order. Holds the lock of the last SA it used until the next frame needs another SA or it is
/// dropped, so a burst of one SA takes the lock once.
pub struct Commit<'a> {
    scs: &'a [RxSc],
    policy: &'a Policy,
    counters: &'a mut SecyCounters,
    held: Option<Held<'a>>,
}

/// The SA whose lock a [`Commit`] holds (the SC's index and the AN), and the lock. Its lowest
/// acceptable PN is published when the lock is let go.
struct Held<'a> {
    sc: u16,
    an: u8,
    sa: &'a RxSa,
    state: MutexGuard<'a, RxSaState>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.sa.publish(&self.state.replay);
    }
}

/// The SA `an` of the SC at `sc` and its state, locked: the lock `held` already holds when it
/// is that SA's, else taken (and kept in `held` for the next frame).
#[inline]
fn lock_sa<'a, 'h>(
    scs: &'a [RxSc],
    held: &'h mut Option<Held<'a>>,
    sc: u16,
    an: u8,
) -> Option<(&'a RxSa, &'h mut RxSaState)> {
    let sa: &'a RxSa = scs.get(sc as usize)?.sas.get(an as usize)?.as_deref()?;
    if !matches!(held, Some(h) if h.sc == sc && h.an == an) {
        *held = None;
        *held = Some(Held {
            sc,
            an,
            sa,
            state: sa.state(),
        });
    }
    held.as_mut().map(|h| (h.sa, &mut *h.state))
}

#[cfg(test)]
thread_local! {
    /// Frames [`Commit::frame`] committed on its fast path (this thread), for the tests.
    static FAST_COMMITS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// The octets of a verified frame: decrypted (E bit) or validated only.
#[inline]
fn count_verified(c: &mut SecyCounters, e_bit: bool, secure_len: u32) {
    if e_bit {
        c.in_octets_decrypted += u64::from(secure_len);
    } else {
        c.in_octets_validated += u64::from(secure_len);
    }
}

impl<'a> Commit<'a> {
    pub fn new(scs: &'a [RxSc], policy: &'a Policy, counters: &'a mut SecyCounters) -> Self {
        Commit {
            scs,
            policy,
            counters,
            held: None,
        }
    }

    /// The SecY counters it counts into (for frames the caller decides on itself).
    pub fn counters(&mut self) -> &mut SecyCounters {
        self.counters
    }

    /// Decides on and counts one opened frame: the verdict [`RxSecY::validate`] gives. Inlined
    /// into the release loop: the verdict is then never built in memory where only its kind is
    /// read.
    #[inline]
    pub fn frame(&mut self, o: &Opened) -> Result<Validated, RxDrop> {
        let Commit {
            scs,
            counters: c,
            held,
            ..
        } = self;
        let an = o.an;
        // In-order traffic first: a verified frame on the SA whose lock is held, ahead of every
        // PN accepted so far (neither late nor a duplicate, whatever the window) and recovered to
        // the PN it was opened with. It commits as the general path below would (the test
        // `commit_fast_path_as_general` holds them to that), without its lookups and checks.
        if let (
            Found::Sa {
                sc,
                pn,
                wire_pn,
                secure_len,
                e_bit,
                crypto: Crypto::Verified,
                ..
            },
            Some(h),
        ) = (o.found, held.as_mut())
        {
            let st = &mut *h.state;
            if h.sc == sc
                && h.an == an
                && st.replay.is_ahead(pn)
                && h.sa.recover_pn(wire_pn, st.replay.lowest_pn()) == Some(pn)
            {
                count_verified(c, e_bit, secure_len);
                c.in_pkts_ok += 1;
                st.counters.in_pkts_ok += 1;
                st.replay.accept(pn);
                #[cfg(test)]
                FAST_COMMITS.with(|n| n.set(n.get() + 1));
                return Ok(Validated {
                    span: o.span,
                    status: RxStatus::Ok,
                    sci: scs.get(sc as usize).map(|s| s.sci),
                    an,
                    pn,
                });
            }
        }
        self.frame_general(o)
    }

    /// [`Self::frame`] for every frame (the fast path's frames included).
    #[inline(always)]
    fn frame_general(&mut self, o: &Opened) -> Result<Validated, RxDrop> {
        let Commit {
            scs,
            policy,
            counters: c,
            held,
        } = self;
        let scs: &'a [RxSc] = scs;
        let strict = policy.validate_frames == ValidateFrames::Strict;
        let an = o.an;
        let deliver = |status, sci, pn| Validated {
            span: o.span,
            status,
            sci,
            an,
            pn,
        };
        match o.found {
            Found::NotMacsec => {
                if strict {
                    c.in_pkts_no_tag += 1;
                    return Err(RxDrop::NoTag);
                }
                c.in_pkts_untagged += 1;
                Ok(Validated {
                    status: RxStatus::Untagged,
                    sci: None,
                    an: 0,
                    pn: 0,
                    span: o.span,
                })
            }
            Found::BadTag(e) => {
                c.in_pkts_bad_tag += 1;
                Err(RxDrop::BadTag(e))
            }
            Found::NoSc { sci, c_bit } => {
                if strict || c_bit {
                    c.in_pkts_no_sci += 1;
                    return Err(RxDrop::NoSci);
                }
                c.in_pkts_unknown_sci += 1;
                Ok(deliver(RxStatus::UnknownSci, sci, 0))
            }
            Found::NoSa { sc, c_bit } => {
                let sci = scs.get(sc as usize).map(|s| s.sci);
                let not_using = strict || c_bit;
                if not_using {
                    c.in_pkts_not_using_sa += 1;
                } else {
                    c.in_pkts_unused_sa += 1;
                }
                // An SA that is present but not enabled counts on the SA too.
                if let Some((_, st)) = lock_sa(scs, held, sc, an) {
                    if not_using {
                        st.counters.in_pkts_not_using_sa += 1;
                    } else {
                        st.counters.in_pkts_unused_sa += 1;
                    }
                }
                if not_using {
                    return Err(RxDrop::NotUsingSa);
                }
                Ok(deliver(RxStatus::UnusedSa, sci, 0))
            }
            Found::Unrecoverable { .. } => {
                c.in_pkts_late += 1;
                Err(RxDrop::Late)
            }
            Found::Sa {
                sc,
                pn,
                wire_pn,
                secure_len,
                e_bit,
                c_bit,
                crypto,
            } => {
                let sci = scs.get(sc as usize).map(|s| s.sci);
                let Some((sa, st)) = lock_sa(scs, held, sc, an) else {
                    // Not reachable: the SC table is the one the frame was opened with.
                    c.in_pkts_not_using_sa += 1;
                    return Err(RxDrop::NotUsingSa);
                };
                // The PN as the window stands now. It differs from the one the frame was opened
                // with only when the window crossed an XPN epoch half while the frame was in
                // flight (a frame some 2^31 PNs away from the window): it is then late, or its ICV
                // cannot verify under this PN, as validate on one thread would find.
                let Some(now_pn) = sa.recover_pn(wire_pn, st.replay.lowest_pn()) else {
                    c.in_pkts_late += 1;
                    return Err(RxDrop::Late);
                };
                if policy.replay_protect && (st.replay.is_late(now_pn) || st.replay.is_duplicate(now_pn)) {
                    c.in_pkts_late += 1;
                    return Err(RxDrop::Late);
                }
                let crypto = match crypto {
                    Crypto::Unchecked => Crypto::Unchecked,
                    Crypto::SkippedLate => {
                        // Late when opened, so late now (the floor only grows).
                        c.in_pkts_late += 1;
                        return Err(RxDrop::Late);
                    }
                    _ if now_pn != pn => Crypto::Failed,
                    other => other,
                };
                let pn = now_pn;
                let status = match crypto {
                    Crypto::Unchecked => {
                        c.in_pkts_unchecked += 1;
                        RxStatus::Unchecked
                    }
                    Crypto::Failed | Crypto::SkippedLate => {
                        if strict || c_bit {
                            c.in_pkts_not_valid += 1;
                            st.counters.in_pkts_not_valid += 1;
                            return Err(RxDrop::NotValid);
                        }
                        c.in_pkts_invalid += 1;
                        st.counters.in_pkts_invalid += 1;
                        return Ok(deliver(RxStatus::Invalid, sci, pn));
                    }
                    Crypto::Verified => {
                        count_verified(c, e_bit, secure_len);
                        if st.replay.is_late(pn) {
                            // Only reachable with replay protection off.
                            c.in_pkts_delayed += 1;
                            RxStatus::Delayed
                        } else {
                            c.in_pkts_ok += 1;
                            st.counters.in_pkts_ok += 1;
                            RxStatus::Ok
                        }
                    }
                };
                st.replay.accept(pn);
                Ok(deliver(status, sci, pn))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secy::tests::keys;

    /// A SecY with two SCs, each with SAs on AN 0 and 1 (AN 1 of the second SC installed but
    /// not enabled).
    fn secy(suite: CipherSuite, policy: Policy) -> RxSecY {
        let mut rx = RxSecY::new(policy, Backend::Ring);
        let keys = keys(suite, 0x5a);
        for sci in [Sci(0x10), Sci(0x20)] {
            for an in 0..2 {
                rx.install_sa(sci, an, &keys, 1).unwrap();
            }
        }
        rx.set_enabled(Sci(0x20), 1, false);
        rx
    }

    /// Every SA's replay window (its bitmap included) and counters.
    fn sa_states(rx: &RxSecY) -> Vec<(ReplayWindow, RxSaCounters)> {
        rx.scs
            .iter()
            .flat_map(|sc| sc.sas.iter().flatten())
            .map(|sa| {
                let st = sa.state();
                (st.replay.clone(), st.counters)
            })
            .collect()
    }

    /// `Commit::frame` (its in-order fast path, then the general path) against the general path
    /// alone, on two SecYs built alike: the same verdict and the same lock held after every
    /// frame, the same SecY and SA counters and replay windows (bitmaps included) after every
    /// burst. Frames mostly in order, with jumps, repeats, old PNs, failed, unchecked and skipped
    /// frames, XPN frames opened under another PN than the window now recovers, SA changes
    /// inside a burst, frames on a disabled SA and without an SC, the lowest PN raised between
    /// bursts; both suite kinds, streams that start at 1, below 2^32, below an XPN epoch half
    /// and below 2^64 - 1 (the last PN of all), replay protection on and off, several windows
    /// and validateFrames settings.
    #[test]
    fn commit_fast_path_as_general() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let fast_before = FAST_COMMITS.with(|c| c.get());
        let mut frames = 0u64;
        for suite in [CipherSuite::GcmAes128, CipherSuite::GcmAesXpn256] {
            let (starts, max_pn): (&[u64], u64) = if suite.is_xpn() {
                (&[(1 << 32) - 300, 0x1_8000_0000 - 300, u64::MAX - 3000], u64::MAX)
            } else {
                (&[1, (1 << 32) - 3000], u64::from(u32::MAX))
            };
            for &start in starts {
                for (replay_protect, window, validate) in [
                    (true, 0, ValidateFrames::Strict),
                    (true, 32, ValidateFrames::Check),
                    (false, 0, ValidateFrames::Strict),
                    (false, 32, ValidateFrames::Check),
                    (true, 2000, ValidateFrames::Disabled),
                ] {
                    let mut policy = Policy::new(suite);
                    policy.replay_protect = replay_protect;
                    policy.replay_window = window;
                    policy.validate_frames = validate;
                    let (mut a, mut b) = (secy(suite, policy), secy(suite, policy));
                    for rx in [&a, &b] {
                        for sc in &rx.scs {
                            for sa in sc.sas.iter().flatten() {
                                sa.set_lowest_pn(start);
                            }
                        }
                    }
                    // The next PN each (SC, AN) sends.
                    let mut next = [[start; 2]; 2];
                    for _ in 0..400 {
                        if rnd(20) == 0 {
                            // The control plane raises an SA's lowest PN (delay protection).
                            let (sc, an) = (rnd(2) as usize, rnd(2) as usize);
                            let to = next[sc][an].saturating_add(rnd(50)).min(max_pn);
                            for rx in [&a, &b] {
                                rx.scs[sc].sas[an].as_ref().unwrap().set_lowest_pn(to);
                            }
                        }
                        let mut ca = Commit::new(&a.scs, &a.policy, &mut a.counters);
                        let mut cb = Commit::new(&b.scs, &b.policy, &mut b.counters);
                        for _ in 0..1 + rnd(40) {
                            let (sc, an) = if rnd(8) == 0 {
                                (rnd(2) as u16, rnd(2) as u8)
                            } else {
                                (0, 0)
                            };
                            let n = &mut next[sc as usize][an as usize];
                            let pn = match rnd(16) {
                                0 => n.saturating_sub(rnd(40)),
                                1 => n.saturating_sub(rnd(3000)),
                                2 => n.saturating_add(rnd(100)),
                                _ => *n,
                            }
                            .clamp(1, max_pn);
                            *n = (*n).max(pn.saturating_add(1)).min(max_pn);
                            // Opened under a PN that the window now recovers otherwise.
                            let opened_pn = if suite.is_xpn() && rnd(32) == 0 {
                                pn ^ (1 << 32)
                            } else {
                                pn
                            };
                            let found = match rnd(64) {
                                0 => Found::NotMacsec,
                                1 => Found::NoSc {
                                    sci: Some(Sci(0x30)),
                                    c_bit: rnd(2) == 0,
                                },
                                2 => Found::NoSa { sc, c_bit: true },
                                _ => Found::Sa {
                                    sc,
                                    pn: opened_pn,
                                    wire_pn: pn as u32,
                                    secure_len: 46 + rnd(1500) as u32,
                                    e_bit: rnd(4) != 0,
                                    c_bit: rnd(4) != 0,
                                    crypto: match rnd(20) {
                                        0 => Crypto::Failed,
                                        1 => Crypto::Unchecked,
                                        2 => Crypto::SkippedLate,
                                        _ => Crypto::Verified,
                                    },
                                },
                            };
                            let o = Opened {
                                span: Span::new(rnd(64) as usize, 60),
                                an,
                                found,
                            };
                            let (ra, rb) = (ca.frame(&o), cb.frame_general(&o));
                            assert_eq!(ra, rb, "{o:?}");
                            let held = |c: &Commit| c.held.as_ref().map(|h| (h.sc, h.an));
                            assert_eq!(held(&ca), held(&cb));
                            frames += 1;
                        }
                        drop((ca, cb));
                        assert_eq!(a.counters, b.counters);
                        assert_eq!(sa_states(&a), sa_states(&b));
                    }
                }
            }
        }
        // Many frames were verified in order: the fast path took a good share of them (22%).
        let fast = FAST_COMMITS.with(|c| c.get()) - fast_before;
        assert!(fast > frames / 8, "{fast} of {frames} frames on the fast path");
    }
}
