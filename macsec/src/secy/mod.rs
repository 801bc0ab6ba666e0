//! The IEEE 802.1AE-2018 MAC Security Entity: cipher suites, SCIs, Tx/Rx SCs and SAs, the replay
//! window, and the protect (10.5) and validate (10.6) functions, in place on a byte buffer.
//!
//! The buffer model matches an mbuf: a frame occupies `buf[span.start..span.start + span.len]`
//! with headroom before it (for the SecTAG) and tailroom after it (for the ICV). Protect and
//! validate move the 12 address octets instead of the payload, so a frame is never copied.

#![forbid(unsafe_code)]

mod counters;
mod replay;
mod rx;
mod suite;
mod tx;

pub use counters::{RxSaCounters, SecyCounters, TxSaCounters};
pub use replay::ReplayWindow;
pub use rx::{Commit, OpenAt, Opened, RxDrop, RxSa, RxSaState, RxSc, RxSecY, RxStatus, Validated};
pub use suite::{CipherSuite, ConfOffset, ParseError, Salt, Sci, Ssci};
pub use tx::{
    count_sealed, count_sealed_run, prepare_seal, seal_frame, PnBlock, SealAt, Sealed, TxError, TxSa, TxSecY,
};

use crate::crypto::{Backend, CryptoError, IV_LEN};
use zeroize::Zeroizing;

/// The location of a frame inside a larger buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub len: usize,
}

impl Span {
    pub fn new(start: usize, len: usize) -> Self {
        Span { start, len }
    }
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

/// 802.1AE validateFrames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ValidateFrames {
    Disabled,
    Check,
    #[default]
    Strict,
}

/// The SecY's protection and validation policy (802.1AE-2018 10.7.17 and 10.7.8 managed objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub cipher_suite: CipherSuite,
    /// confidentialityOffset: 0, 30 or 50 octets of User Data sent in the clear.
    pub conf_offset: ConfOffset,
    /// E=C=1 when true, integrity only (E=C=0) when false.
    pub confidentiality: bool,
    /// protectFrames: when false the SecY transmits frames untagged (OutPktsUntagged).
    pub protect_frames: bool,
    /// alwaysIncludeSCI: an explicit SCI in every SecTAG.
    pub include_sci: bool,
    /// useES: ES=1 when no SCI is included (the SCI is then MAC SA ‖ 00-01).
    pub use_es: bool,
    /// useSCB: SCB=1 when no SCI is included (EPON single copy broadcast).
    pub use_scb: bool,
    pub validate_frames: ValidateFrames,
    pub replay_protect: bool,
    pub replay_window: u32,
    /// Largest protected frame (DA..ICV, no FCS) the port carries; larger ones count OutPktsTooLong.
    pub max_frame_len: Option<usize>,
}

impl Policy {
    /// Octets of the SecTAG this policy puts in a frame (with or without the SCI).
    pub fn sectag_len(&self) -> usize {
        if self.include_sci {
            crate::wire::sectag::SECTAG_LEN_SCI
        } else {
            crate::wire::sectag::SECTAG_LEN_NO_SCI
        }
    }

    /// The defaults of a secured point-to-point link: encrypt, include the SCI, strict, replay
    /// protection with window 0.
    pub fn new(cipher_suite: CipherSuite) -> Self {
        Policy {
            cipher_suite,
            conf_offset: ConfOffset::Zero,
            confidentiality: true,
            protect_frames: true,
            include_sci: true,
            use_es: false,
            use_scb: false,
            validate_frames: ValidateFrames::Strict,
            replay_protect: true,
            replay_window: 0,
            max_frame_len: None,
        }
    }
}

/// Key material of one SA as the control plane hands it over. The SAK is zeroized on drop and
/// never printed.
#[derive(Clone)]
pub struct SaKeys {
    pub sak: Zeroizing<Vec<u8>>,
    /// Short SCI (XPN suites only).
    pub ssci: Ssci,
    /// 96-bit salt (XPN suites only).
    pub salt: Salt,
}

impl core::fmt::Debug for SaKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SaKeys {{ sak: ***, ssci: {}, salt: {} }}",
            self.ssci, self.salt
        )
    }
}

impl SaKeys {
    pub fn new(sak: &[u8]) -> Self {
        SaKeys {
            sak: Zeroizing::new(sak.to_vec()),
            ssci: Ssci(0),
            salt: Salt([0; 12]),
        }
    }
    pub fn xpn(sak: &[u8], ssci: Ssci, salt: Salt) -> Self {
        SaKeys {
            sak: Zeroizing::new(sak.to_vec()),
            ssci,
            salt,
        }
    }
}

/// Errors installing an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SaError {
    #[error("AN {0} is out of range 0..=3")]
    BadAn(u8),
    #[error("SAK of {got} octets does not fit {suite} ({want} octets)")]
    KeyLength {
        suite: CipherSuite,
        got: usize,
        want: usize,
    },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// The per-SA IV precomputation: IV = base XOR (0^32 ‖ PN64).
/// GCM-AES-128/256: base = SCI ‖ 0^32 (PN < 2^32, so the XOR writes the PN into the low 4 octets);
/// XPN: base = (SSCI ‖ 0^64) XOR Salt (802.1AE-2018 14.7).
pub(crate) fn iv_base(suite: CipherSuite, sci: Sci, keys: &SaKeys) -> [u8; IV_LEN] {
    let mut base = [0u8; IV_LEN];
    if suite.is_xpn() {
        base[..4].copy_from_slice(&keys.ssci.0.to_be_bytes());
        for (b, s) in base.iter_mut().zip(keys.salt.0.iter()) {
            *b ^= s;
        }
    } else {
        base[..8].copy_from_slice(&sci.0.to_be_bytes());
    }
    base
}

#[inline(always)]
pub(crate) fn iv_for(base: &[u8; IV_LEN], pn: u64) -> [u8; IV_LEN] {
    // XOR in a register and store each half once: a byte-wise XOR in memory right after the
    // stores of `base` costs a store-forwarding stall per frame.
    let (head, tail) = base.split_at(4);
    let mut low = [0u8; 8];
    low.copy_from_slice(tail);
    let low = (u64::from_be_bytes(low) ^ pn).to_be_bytes();
    let mut iv = [0u8; IV_LEN];
    iv[..4].copy_from_slice(head);
    iv[4..].copy_from_slice(&low);
    iv
}

pub(crate) fn build_key(
    backend: Backend,
    suite: CipherSuite,
    an: u8,
    keys: &SaKeys,
) -> Result<Box<dyn crate::crypto::AeadKey>, SaError> {
    if an > 3 {
        return Err(SaError::BadAn(an));
    }
    if keys.sak.len() != suite.key_len() {
        return Err(SaError::KeyLength {
            suite,
            got: keys.sak.len(),
            want: suite.key_len(),
        });
    }
    Ok(backend.new_key(&keys.sak)?)
}

/// A SecY: its transmit half and its receive half. The two halves are independent so that the
/// dataplane can run them on different lcores.
pub struct SecY {
    pub tx: TxSecY,
    pub rx: RxSecY,
}

impl SecY {
    pub fn new(policy: Policy, sci: Sci, backend: Backend) -> Self {
        SecY {
            tx: TxSecY::new(policy, sci, backend),
            rx: RxSecY::new(policy, backend),
        }
    }

    /// The 802.1AE counters of both halves, summed over SCs and SAs.
    pub fn counters(&self) -> SecyCounters {
        let mut c = self.tx.counters;
        c.add(&self.rx.counters);
        c
    }
}

#[cfg(test)]
mod tests;

/// Now as Unix time in milliseconds (0 before 1970): when an SA is made, and the wall clock of
/// the views that show SA and session ages against it.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
