//! The transmit half of the SecY: Tx SC, Tx SAs with an atomically reserved PN, and protect.

use super::{build_key, iv_base, iv_for, Policy, SaError, SaKeys, SecyCounters, Span, TxSaCounters};
use crate::crypto::{AeadKey, Backend, ICV_LEN, IV_LEN};
use crate::secy::suite::{CipherSuite, Sci};
use crate::wire::ethernet::{ADDRS_LEN, HEADER_LEN};
use crate::wire::sectag::{SecTagRepr, Tci};
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Why a frame was not transmitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("no transmit SA is in use")]
    NoSa,
    #[error("the transmit SA has used its last PN")]
    PnExhausted,
    #[error("protected frame exceeds the port's maximum frame length (OutPktsTooLong)")]
    TooLong,
    #[error("frame shorter than an Ethernet header")]
    Runt,
    #[error("not enough headroom for the SecTAG or tailroom for the ICV")]
    NoRoom,
}

/// A block of PNs reserved for one burst: `next..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PnBlock {
    pub next: u64,
    pub end: u64,
}

impl PnBlock {
    pub fn len(&self) -> u64 {
        self.end - self.next
    }
    pub fn is_empty(&self) -> bool {
        self.next >= self.end
    }
    /// Takes the next PN of the block.
    pub fn take(&mut self) -> Option<u64> {
        if self.next < self.end {
            let pn = self.next;
            self.next += 1;
            Some(pn)
        } else {
            None
        }
    }
}

/// A transmit SA. Shared between lcores (`Arc`); the PN is the only mutable state, in cache lines
/// of its own (every burst writes it; every frame reads the key and IV base).
pub struct TxSa {
    pub an: u8,
    suite: CipherSuite,
    key: Box<dyn AeadKey>,
    iv_base: [u8; IV_LEN],
    pn: CachePadded<TxPn>,
    /// When the SA was made (Unix ms): its install, for the SA's age.
    created_unix_ms: u64,
}

/// The next PN and whether the threshold was reported.
struct TxPn {
    next: AtomicU64,
    threshold_reported: AtomicBool,
}

impl core::fmt::Debug for TxSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TxSa")
            .field("an", &self.an)
            .field("suite", &self.suite)
            .field("next_pn", &self.next_pn())
            .field("key", &"***")
            .finish()
    }
}

impl TxSa {
    /// XPN: SSCI XOR salt, the IV's base (the guide's CtxSalt); None for the non-XPN suites,
    /// whose IV starts with the SCI. Not secret: both travel in or derive from MKPDUs.
    pub fn ctx_salt(&self) -> Option<[u8; IV_LEN]> {
        self.suite.is_xpn().then_some(self.iv_base)
    }

    /// When the SA was made (Unix ms).
    pub fn created_unix_ms(&self) -> u64 {
        self.created_unix_ms
    }

    pub fn new(
        backend: Backend,
        suite: CipherSuite,
        sci: Sci,
        an: u8,
        keys: &SaKeys,
        next_pn: u64,
    ) -> Result<TxSa, SaError> {
        Ok(TxSa {
            created_unix_ms: super::unix_ms(),
            an,
            suite,
            key: build_key(backend, suite, an, keys)?,
            iv_base: iv_base(suite, sci, keys),
            // PN 0 is never valid on the wire (802.1AE-2018 10.5.2).
            pn: CachePadded::new(TxPn {
                next: AtomicU64::new(next_pn.max(1)),
                threshold_reported: AtomicBool::new(false),
            }),
        })
    }

    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The next PN this SA will use (802.1AE nextPN).
    pub fn next_pn(&self) -> u64 {
        self.pn.next.load(Ordering::Relaxed).min(self.pn_limit())
    }

    /// One past the last PN this SA may use: 2^32 for GCM-AES-128/256; for XPN 2^64 - 1 (the
    /// single PN 2^64 - 1 is given up so that the bound fits in a u64).
    fn pn_limit(&self) -> u64 {
        self.suite.max_pn().min(u64::MAX - 1) + 1
    }

    /// Reserves up to `n` consecutive PNs with one atomic operation. Returns the block (shorter
    /// than `n`, or empty, when the SA runs out of PNs) and whether this reservation is the first
    /// to reach the PN exhaustion threshold, so the caller tells the control plane exactly once.
    /// The counter saturates at the limit: a PN is never handed out twice.
    pub fn reserve(&self, n: u64) -> (PnBlock, bool) {
        let limit = self.pn_limit();
        let start = match self
            .pn
            .next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_add(n).min(limit).max(v))
            }) {
            Ok(v) | Err(v) => v,
        };
        let end = start.saturating_add(n).min(limit).max(start);
        let crossed = end > self.suite.pn_threshold();
        let first = crossed && !self.pn.threshold_reported.swap(true, Ordering::Relaxed);
        (PnBlock { next: start, end }, first)
    }

    /// The SA's AEAD key (for sealing a burst at once, [`prepare_seal`]).
    pub fn key(&self) -> &dyn AeadKey {
        &*self.key
    }
}

/// The transmit half of a SecY: its SCI, its policy, the Tx SC's four SAs and the counters.
pub struct TxSecY {
    pub policy: Policy,
    pub sci: Sci,
    backend: Backend,
    sas: [Option<Arc<TxSa>>; 4],
    encoding_an: Option<u8>,
    pub counters: SecyCounters,
    pub sa_counters: [TxSaCounters; 4],
}

impl TxSecY {
    pub fn new(policy: Policy, sci: Sci, backend: Backend) -> Self {
        TxSecY {
            policy,
            sci,
            backend,
            sas: Default::default(),
            encoding_an: None,
            counters: SecyCounters::default(),
            sa_counters: Default::default(),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Installs (or replaces) the Tx SA for `an`; it is not used until [`Self::set_encoding_an`].
    pub fn install_sa(&mut self, an: u8, keys: &SaKeys, next_pn: u64) -> Result<Arc<TxSa>, SaError> {
        let sa = Arc::new(TxSa::new(
            self.backend,
            self.policy.cipher_suite,
            self.sci,
            an,
            keys,
            next_pn,
        )?);
        self.sas[an as usize] = Some(sa.clone());
        self.sa_counters[an as usize] = TxSaCounters::default();
        Ok(sa)
    }

    /// Puts an SA built elsewhere (e.g. by the control thread) in place.
    pub fn put_sa(&mut self, sa: Arc<TxSa>) -> Result<(), SaError> {
        let an = sa.an;
        if an > 3 {
            return Err(SaError::BadAn(an));
        }
        self.sas[an as usize] = Some(sa);
        self.sa_counters[an as usize] = TxSaCounters::default();
        Ok(())
    }

    pub fn delete_sa(&mut self, an: u8) {
        if let Some(slot) = self.sas.get_mut(an as usize) {
            *slot = None;
        }
        if self.encoding_an == Some(an) {
            self.encoding_an = None;
        }
    }

    pub fn sa(&self, an: u8) -> Option<&Arc<TxSa>> {
        self.sas.get(an as usize).and_then(|s| s.as_ref())
    }

    /// Selects the SA used for transmission (802.1AE encodingSA / enableTransmit).
    pub fn set_encoding_an(&mut self, an: Option<u8>) -> Result<(), SaError> {
        if let Some(a) = an {
            if self.sa(a).is_none() {
                return Err(SaError::BadAn(a));
            }
        }
        self.encoding_an = an;
        Ok(())
    }

    pub fn encoding_an(&self) -> Option<u8> {
        self.encoding_an
    }

    /// The SA frames are protected with now, if any.
    pub fn encoding_sa(&self) -> Option<&Arc<TxSa>> {
        self.encoding_an.and_then(|a| self.sa(a))
    }

    /// Octets a protected frame grows by under this policy (SecTAG + ICV).
    pub fn overhead(&self) -> usize {
        self.policy.sectag_len() + ICV_LEN
    }

    /// Protects one frame with a fresh PN of the encoding SA. For bursts, reserve a [`PnBlock`]
    /// with [`TxSa::reserve`] and call [`Self::protect_with`].
    pub fn protect(&mut self, buf: &mut [u8], span: Span) -> Result<Span, TxError> {
        if !self.policy.protect_frames {
            self.counters.out_pkts_untagged += 1;
            return Ok(span);
        }
        let an = self.encoding_an.ok_or(TxError::NoSa)? as usize;
        // Move the Arc out and back instead of cloning it: no reference-count traffic per frame.
        let sa = self.sas[an].take().ok_or(TxError::NoSa)?;
        let (mut block, _) = sa.reserve(1);
        let result = match block.take() {
            Some(pn) => self.protect_with(&sa, pn, buf, span),
            None => Err(TxError::PnExhausted),
        };
        self.sas[an] = Some(sa);
        result
    }

    /// Protects the frame at `buf[span]` in place with `sa` and `pn` and counts it: see
    /// [`seal_frame`].
    pub fn protect_with(&mut self, sa: &TxSa, pn: u64, buf: &mut [u8], span: Span) -> Result<Span, TxError> {
        let r = seal_frame(&self.policy, self.sci, sa, pn, buf, span);
        count_sealed(&mut self.counters, &mut self.sa_counters, &r);
        r.map(|s| s.span)
    }
}

/// A frame [`seal_frame`] protected: where it now is, and what the counters need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub span: Span,
    /// Octets of User Data protected (the frame less its addresses).
    pub secure_len: usize,
    /// E=1 (encrypted) rather than integrity only.
    pub encrypted: bool,
    pub an: u8,
}

/// Counts what [`seal_frame`] did to one frame: OutPktsEncrypted/Protected and their octets
/// (SecY and SA), or OutPktsTooLong.
#[inline]
pub fn count_sealed(
    counters: &mut SecyCounters,
    sa_counters: &mut [TxSaCounters; 4],
    r: &Result<Sealed, TxError>,
) {
    match r {
        Ok(s) => count_sealed_run(counters, sa_counters, s.an, s.encrypted, 1, s.secure_len as u64),
        Err(TxError::TooLong) => counters.out_pkts_too_long += 1,
        Err(_) => {}
    }
}

/// Counts `frames` frames sealed on the SA `an`, all encrypted or all integrity only, of
/// `octets` secure data in all (what [`count_sealed`] counts for each of them).
#[inline]
pub fn count_sealed_run(
    counters: &mut SecyCounters,
    sa_counters: &mut [TxSaCounters; 4],
    an: u8,
    encrypted: bool,
    frames: u64,
    octets: u64,
) {
    let sac = &mut sa_counters[(an & 3) as usize];
    if encrypted {
        counters.out_pkts_encrypted += frames;
        counters.out_octets_encrypted += octets;
        sac.out_pkts_encrypted += frames;
    } else {
        counters.out_pkts_protected += frames;
        counters.out_octets_protected += octets;
        sac.out_pkts_protected += frames;
    }
}

/// Where the parts of a frame [`prepare_seal`] made ready are in its buffer, and its IV: the
/// AEAD seals `text` in place with `aad` and writes the ICV after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealAt {
    pub iv: [u8; IV_LEN],
    /// The protected frame's first octet (its DA).
    start: usize,
    /// Octets of AAD from `start`: DA‖SA‖SecTAG and the confidentiality offset, or the whole
    /// frame with integrity only.
    clear: usize,
    /// Octets of text after the AAD (0 with integrity only).
    text: usize,
}

impl SealAt {
    /// The frame's AAD, text and ICV, borrowed from its buffer.
    #[inline]
    pub fn split<'b>(&self, buf: &'b mut [u8]) -> (&'b [u8], &'b mut [u8], &'b mut [u8; ICV_LEN]) {
        let (aad, rest) = buf[self.start..].split_at_mut(self.clear);
        let (text, rest) = rest.split_at_mut(self.text);
        let icv = rest
            .first_chunk_mut::<ICV_LEN>()
            .expect("prepare_seal checked the tailroom");
        (aad, text, icv)
    }
}

/// The first half of [`seal_frame`]: checks the frame and the PN, moves the addresses into the
/// headroom and writes the SecTAG between them and the User Data; the AEAD (one frame, or a
/// burst with [`crate::crypto::AeadKey::seal_batch`]) then seals it as [`SealAt`] says. Changes
/// nothing but the buffer.
#[inline]
pub fn prepare_seal(
    policy: &Policy,
    sci: Sci,
    sa: &TxSa,
    pn: u64,
    buf: &mut [u8],
    span: Span,
) -> Result<(Sealed, SealAt), TxError> {
    if span.len < HEADER_LEN || span.end() > buf.len() {
        return Err(TxError::Runt);
    }
    let p = policy;
    let tag_len = p.sectag_len();
    let out_len = span.len + tag_len + ICV_LEN;
    if let Some(max) = p.max_frame_len {
        if out_len > max {
            return Err(TxError::TooLong);
        }
    }
    if span.start < tag_len || buf.len() - span.end() < ICV_LEN {
        return Err(TxError::NoRoom);
    }
    if pn >= sa.pn_limit() {
        return Err(TxError::PnExhausted);
    }
    let start = span.start - tag_len;
    let secure_len = span.len - ADDRS_LEN;
    let mut tci = sa.an & Tci::AN_MASK;
    if p.confidentiality {
        tci |= Tci::E | Tci::C;
    }
    if !p.include_sci {
        if p.use_es {
            tci |= Tci::ES;
        } else if p.use_scb {
            tci |= Tci::SCB;
        }
    }
    let repr = SecTagRepr {
        tci: Tci(tci),
        short_len: SecTagRepr::short_len_for(secure_len),
        pn: pn as u32,
        sci: p.include_sci.then_some(sci.0),
    };
    // The addresses move forward by the SecTAG's length (the User Data stays where it is), then
    // the SecTAG goes after them.
    crate::wire::ethernet::move_addrs(buf, span.start, start);
    repr.emit(&mut buf[start + ADDRS_LEN..start + ADDRS_LEN + tag_len]);
    let hdr_len = ADDRS_LEN + tag_len;
    let body = out_len - ICV_LEN;
    let clear = if p.confidentiality {
        (hdr_len + p.conf_offset.octets()).min(body)
    } else {
        body
    };
    Ok((
        Sealed {
            span: Span::new(start, out_len),
            secure_len,
            encrypted: p.confidentiality,
            an: sa.an,
        },
        SealAt {
            iv: iv_for(&sa.iv_base, pn),
            start,
            clear,
            text: body - clear,
        },
    ))
}

/// Protects the frame at `buf[span]` in place with `sa` and `pn` under `policy` for the SecY
/// `sci` (802.1AE-2018 10.5): the addresses move into the headroom, the SecTAG goes between them
/// and the User Data, the User Data (after the confidentiality offset) is encrypted, the ICV goes
/// into the tailroom. Returns where the protected frame now is. Changes nothing but the buffer,
/// so any number of threads may seal with one SA at once (each with its own PNs); the caller
/// counts with [`count_sealed`]. [`prepare_seal`] and the AEAD in a row.
pub fn seal_frame(
    policy: &Policy,
    sci: Sci,
    sa: &TxSa,
    pn: u64,
    buf: &mut [u8],
    span: Span,
) -> Result<Sealed, TxError> {
    let (sealed, at) = prepare_seal(policy, sci, sa, pn, buf, span)?;
    let (aad, text, icv) = at.split(buf);
    sa.key()
        .seal(&at.iv, aad, text, icv)
        .map_err(|_| TxError::TooLong)?;
    Ok(sealed)
}
