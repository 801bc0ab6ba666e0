//! Multi-buffer AES-GCM (AES-128 and AES-256, 96-bit IV, 128-bit tag) with `std::arch`
//! intrinsics, for bursts of frames protected or validated with one key.
//!
//! Three code paths, chosen at run time ([`Path`]): AES-NI + PCLMULQDQ on xmm (every x86_64 this
//! project runs on), VAES + VPCLMULQDQ on ymm (AVX2, e.g. AMD Zen 3) and on zmm (AVX-512F/BW/VL,
//! Intel Ice Lake and later, AMD Zen 4). Every path computes exactly the same function (NIST SP
//! 800-38D with a 96-bit IV); the tests compare each one with `ring`.
//!
//! # How a batch is processed
//!
//! * **Vaes512** ([`Path::Vaes512`]): frames of up to 16 blocks of text (256 octets) whose AAD,
//!   text and length block fit one GHASH window (`NPOW` = 33 blocks) are "small": they are
//!   gathered into groups of up to 8 frames and 8 zmm registers of counter blocks (each frame
//!   from a register boundary; only its J0 block is written as it arrives, with a byte per text
//!   register naming the frame and the register's place in it), and one AES call makes the
//!   group's counter blocks from the J0s as it loads them and runs its registers (up to 10 zmm =
//!   40 blocks) through the rounds together. The second half of the
//!   previous group (XOR of the keystream into each text with masked loads/stores; each frame's
//!   GHASH with one reduction; the tag) follows the AES call in program order and is independent
//!   of it, so the out-of-order core overlaps the two. The counter of a small frame never
//!   exceeds 17, so its counter blocks are J0 XOR (a constant in the last octet).
//!   A batch whose every frame is "tiny" (at most 64 octets of AAD and 64 or 128 of text: MACsec
//!   frames of up to 108 or 172 octets) skips the per-frame filling: every frame takes one text
//!   register (or two), so frames 8g..8g + 8 (or 4g..4g + 4) are group g (`batch_tiny_z`), with
//!   the same AES step and pipelining.
//!   Larger frames are streamed one by one (`frame_z`): 32 blocks per step, counters made in
//!   registers (for up to 254 blocks of text as blocks, advanced by an add to their last
//!   octet; beyond, as integers that a shuffle turns into blocks), AES, XOR, and GHASH of the
//!   step's ciphertext while it is in registers (when sealing one step late, so that it runs
//!   beside the next step's AES); the last 1 to 32 blocks in one step of up to 8 zmm, in the
//!   length block's window.
//! * **AesNi** and **Vaes256**: every frame is streamed by one fused kernel (`frame_kernel!`,
//!   expanded for xmm and for ymm): steps of 8 registers, the same GHASH windows, a zero-padded
//!   stack copy for the last partial step only. Frames are independent, so consecutive frames
//!   overlap in the out-of-order core. The Vaes256 path runs frames of up to
//!   [`MbGcmKey::XMM_TEXT_VAES256`] octets of text through the xmm kernel.
//!
//! # GHASH arithmetic
//!
//! GCM's field GF(2^128) = GF(2)\[x\] / (x^128 + x^7 + x^2 + x + 1) numbers the bits of a block
//! "backwards": the most significant bit of octet 0 is the coefficient of x^0. A block loaded
//! big-endian into a 128-bit integer (`u128::from_be_bytes`, or `pshufb` byte reversal of a
//! little-endian load) therefore has the coefficient of x^i at integer bit 127 - i.
//!
//! Carry-less multiplication of two such integers gives a 255-bit product P whose bit j is the
//! coefficient of x^(254 - j) of the polynomial product: read as a 256-bit "backwards" number
//! (bit j <-> x^(255 - j)) it is the product times x. Instead of shifting every product left by
//! one bit (Intel's white paper), the hash key is stored premultiplied by x^-1: H' = H * x^-1,
//! computed once as a 1-bit left shift of the integer with a conditional XOR of
//! 0xc2000000000000000000000000000001 (= x^-1 = x^127 + x^6 + x + 1 in backwards order). Then
//! clmul(A, H') is A * H exactly, with no per-product shift, and the powers (H^i)' = H^i * x^-1
//! follow from multiplying H' by itself with the same routine.
//!
//! The 256-bit product (HI:MI:LO from the four 64x64 partial products) is reduced in two folds of
//! 64 bits each (see `reduce_x`): the low 64 bits L of the product stand for the highest powers
//! of x; adding L * g' * (shift), where g' is the modulus in this bit order (bits 0, 121, 126, 127,
//! 128), clears them and adds L * 0xc200000000000000 one qword up and L itself two qwords up
//! (a qword swap). After the second fold the result is the high 128 bits.
//!
//! Aggregated reduction: GHASH of blocks B_1..B_m (AAD, zero-padded; ciphertext, zero-padded;
//! the length block) is sum B_i * H^(m - i + 1) (Horner's rule unrolled). The blocks are cut
//! into windows of at most `NPOW` = 33 blocks; the running value X is XORed into the first
//! block of a window, block q (0-based) of a window of w blocks is multiplied by H^(w - q), all
//! products are summed unreduced (four 64x64 products per block, in the ymm/zmm kernels for 2
//! or 4 blocks per instruction), and one reduction ends the window (for ymm/zmm each 128-bit lane
//! is reduced, then the lanes are added: reduction is linear). A frame whose m blocks fit one
//! window is reduced once; otherwise its AAD is hashed in windows of its own, then each step of
//! text is a window, the last one also holding the length block. The powers are stored
//! descending (`htab[j]` = (H^(NPOW - j))', then four zero entries), so the powers of any run of
//! consecutive blocks are consecutive entries and ymm/zmm kernels load 2 or 4 at once. A partial
//! last block is zero-padded (AVX-512: masked loads, which read nothing outside the slice;
//! xmm/ymm: put together in registers from overlapping 8- and 4-octet loads, `ld_partial`). In
//! the small-frame path the length block's product L * H is reduced on its own, once per run of
//! frames with equal lengths, and added after the reduction.
//!
//! Karatsuba (zmm path, large frames): the middle term (d.lo * h.hi + d.hi * h.lo) equals
//! (d.lo ^ d.hi) * (h.lo ^ h.hi) + LO + HI, so `frame_z` sums that one product instead of two
//! and adds the LO and HI sums once before the reduction. The key keeps each power's h.lo ^ h.hi
//! in a second half of its table (`Htab`).
//!
//! # Limits
//!
//! Any AAD and text length works (lengths are 64-bit in the length block; counters wrap mod
//! 2^32 as inc32 requires, which only matters past 64 GiB of text). Buffers need no alignment.
//! Batches may hold any number of jobs (processed 64 at a time by the Vaes512 path's groups).
//!
//! # Unsafe code
//!
//! Kernels are safe `#[target_feature]` functions; they are called (in `unsafe` blocks) only from
//! a key whose [`Path`] was checked with `is_x86_feature_detected!` when the key was made. The
//! only other unsafe operations are unaligned vector loads/stores through pointers derived from
//! slices or arrays whose lengths are checked right there (helpers `ld*`/`st*`), AVX-512
//! masked loads/stores, which touch only the octets whose mask bit is set (the ones inside the
//! slice; masked-off octets never fault), and `scrub`'s asm after every batch (zeroes a local
//! array over the stack the kernels used, and the vector registers).

// The AVX-512, VAES and VPCLMULQDQ intrinsics and target features are stable since Rust 1.89
// (the workspace's rust-version).

use core::arch::x86_64::*;
use core::fmt;
use zeroize::Zeroize;

pub mod floor;

/// Powers of H precomputed: GHASH reduces once per window of up to `NPOW` blocks. 33: `frame_z`
/// hashes windows of 32 blocks of text, and its tail of up to 32 blocks (8 zmm) with the length
/// block (a window of 33); the small-frame paths assume frames of 16 blocks of text fit one
/// window.
const NPOW: usize = 33;
const _: () = assert!(NPOW >= 33);
/// `htab` entries: the `NPOW` powers (descending) + 4 zero entries, so that a 4-block load of
/// powers that starts at any power stays inside the table.
const HTAB: usize = NPOW + 4;
/// The key's GHASH table: the `HTAB` entries of powers, then as many Karatsuba entries (for the
/// zmm path): entry `HTAB + j` is the XOR of entry j's two qwords, in both qwords, so that a
/// slice of the table from a power reaches that power's Karatsuba entry `HTAB` further on.
type Htab = [u128; 2 * HTAB];
/// Jobs per internal sub-batch (their E_K(J0) and GHASH values live on the stack).
const SUB: usize = 64;
/// x^-1 in GCM's backwards bit order as an integer (bits 127, 126, 121 and 0); its high qword
/// 0xc200000000000000 is the reduction constant.
const POLY: u128 = 0xc200_0000_0000_0000_0000_0000_0000_0001;

/// Which code path a key uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Path {
    /// AES-NI + PCLMULQDQ on xmm registers (SSSE3/SSE4.1).
    AesNi,
    /// VAES + VPCLMULQDQ on ymm registers (AVX2).
    Vaes256,
    /// VAES + VPCLMULQDQ on zmm registers (AVX-512F/BW/VL).
    Vaes512,
}

impl Path {
    /// Every path, from the one that needs the fewest CPU features.
    pub const ALL: [Path; 3] = [Path::AesNi, Path::Vaes256, Path::Vaes512];

    /// The best path this CPU supports (no better than [`Path::cap`]), `None` if not even
    /// AES-NI + PCLMULQDQ (+SSSE3/SSE4.1).
    pub fn best() -> Option<Path> {
        let cap = Self::cap();
        Self::ALL
            .into_iter()
            .rev()
            .filter(|&p| cap.is_none_or(|c| p <= c))
            .find(|p| p.is_supported())
    }

    /// The path whose [`Path::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Path> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The path named by the environment variable `MACSEC_MB_PATH` (`aesni`, `vaes256` or
    /// `vaes512`; read once), which [`Path::best`] does not go above: for measuring here what a
    /// CPU without the features of the paths above it would run (AMD Zen 2: `aesni`; Zen 3:
    /// `vaes256`). Below `vaes512` intel-ipsec-mb runs its AVX2 code too, which is what it picks
    /// on a CPU without AVX-512. `None` when unset or not one of those names.
    pub fn cap() -> Option<Path> {
        static CAP: std::sync::OnceLock<Option<Path>> = std::sync::OnceLock::new();
        *CAP.get_or_init(|| {
            let v = std::env::var("MACSEC_MB_PATH").ok()?;
            let p = Path::from_name(&v);
            if p.is_none() {
                eprintln!("MACSEC_MB_PATH={v:?} ignored: expected aesni, vaes256 or vaes512");
            }
            p
        })
    }

    /// Whether this CPU can run the path (runtime detection).
    pub fn is_supported(self) -> bool {
        let base = is_x86_feature_detected!("aes")
            && is_x86_feature_detected!("pclmulqdq")
            && is_x86_feature_detected!("ssse3")
            && is_x86_feature_detected!("sse4.1");
        base && match self {
            Path::AesNi => true,
            Path::Vaes256 => {
                is_x86_feature_detected!("avx")
                    && is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("vaes")
                    && is_x86_feature_detected!("vpclmulqdq")
            }
            Path::Vaes512 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("bmi2")
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("vaes")
                    && is_x86_feature_detected!("vpclmulqdq")
            }
        }
    }

    /// "aesni", "vaes256" or "vaes512".
    pub fn name(self) -> &'static str {
        match self {
            Path::AesNi => "aesni",
            Path::Vaes256 => "vaes256",
            Path::Vaes512 => "vaes512",
        }
    }
}

/// The cores whose best routes between our kernels and intel-ipsec-mb were measured apart
/// (`MbKey::routes`): the same path is not equally fast against intel-ipsec-mb on every core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Core {
    /// Intel's (an Ice Lake and a Sapphire Rapids-class Xeon measured) and every core not below.
    Other,
    /// AMD Zen 5 and later: CPUID family 0x1A and up (an EPYC of family 0x1A model 2, Turin,
    /// measured), whose AES and carry-less multiply units take whole zmm registers.
    Zen5,
}

impl Core {
    /// This machine's (CPUID, read once).
    pub fn here() -> Core {
        static CORE: std::sync::OnceLock<Core> = std::sync::OnceLock::new();
        *CORE.get_or_init(|| {
            let v = __cpuid(0);
            let amd = (v.ebx, v.edx, v.ecx) == (0x6874_7541, 0x6974_6e65, 0x444d_4163);
            Core::from_cpuid(amd, __cpuid(1).eax)
        })
    }

    /// The core of a CPU whose vendor is AMD (`amd`) or not, from CPUID leaf 1's EAX (the family:
    /// bits 8-11, plus bits 20-27 when those read 0xF).
    pub fn from_cpuid(amd: bool, eax1: u32) -> Core {
        let base = (eax1 >> 8) & 0xF;
        let family = if base == 0xF {
            base + ((eax1 >> 20) & 0xFF)
        } else {
            base
        };
        if amd && family >= 0x1A {
            Core::Zen5
        } else {
            Core::Other
        }
    }
}

pub use super::{OpenJob, SealJob};

/// What the CTR and GHASH passes need from a job of either kind.
trait Frame {
    fn iv(&self) -> &[u8; 12];
    fn aad(&self) -> &[u8];
    /// The AAD and the text, borrowed together.
    fn aad_text(&mut self) -> (&[u8], &mut [u8]);
    /// Open: the received tag, to be loaded before the text is written. In a frame the tag
    /// follows the text, so the masked store of a text's last, partial register spans it, and
    /// a load of it after that store waits until the store commits: on AMD Zen 5 that cost 5-6
    /// TSC ticks a frame of 52 or 88 octets of text (`measure_frames`, with the tags after the
    /// texts). Seal: zero, unused.
    fn received(&self) -> __m128i;
    /// Seal: stores the computed tag (an xmm value in block order), true. Open: whether it
    /// equals `received` (constant time: one compare of all 16 octets, one mask).
    fn finish(&mut self, tag: __m128i, received: __m128i) -> bool;
    fn text(&self) -> &[u8];
}

impl Frame for SealJob<'_> {
    #[inline(always)]
    fn received(&self) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_setzero_si128() }
    }
    #[inline(always)]
    fn finish(&mut self, tag: __m128i, _received: __m128i) -> bool {
        st128(self.tag, tag);
        true
    }
    fn iv(&self) -> &[u8; 12] {
        &self.iv
    }
    fn aad(&self) -> &[u8] {
        self.aad
    }
    fn aad_text(&mut self) -> (&[u8], &mut [u8]) {
        (self.aad, self.text)
    }
    fn text(&self) -> &[u8] {
        self.text
    }
}

impl Frame for OpenJob<'_> {
    #[inline(always)]
    fn received(&self) -> __m128i {
        ld128(self.tag)
    }
    #[inline(always)]
    fn finish(&mut self, tag: __m128i, received: __m128i) -> bool {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { tags_equal(tag, received) }
    }
    fn iv(&self) -> &[u8; 12] {
        &self.iv
    }
    fn aad(&self) -> &[u8] {
        self.aad
    }
    fn aad_text(&mut self) -> (&[u8], &mut [u8]) {
        (self.aad, self.text)
    }
    fn text(&self) -> &[u8] {
        self.text
    }
}

/// Constant time: octet-wise equality of all 16 lanes, one mask, no early exit.
#[inline]
#[target_feature(enable = "sse2")]
fn tags_equal(a: __m128i, b: __m128i) -> bool {
    _mm_movemask_epi8(_mm_cmpeq_epi8(a, b)) == 0xffff
}

/// An AES-GCM key for one path: AES round keys and the GHASH key powers. Zeroized on drop.
pub struct MbGcmKey {
    /// Round keys 0..=rounds (as loaded into xmm registers, little-endian u128).
    rk: [u128; 15],
    /// `htab[j]` = (H^(NPOW - j))' for j < NPOW (see the module docs), then 4 zero entries, then
    /// the Karatsuba entries ([`Htab`]).
    htab: Htab,
    /// 10 (AES-128) or 14 (AES-256).
    rounds: usize,
    path: Path,
    /// The core it runs on (`Core::here()` when the key was made): the small-frame group limit
    /// ([`MbGcmKey::group_zmm`]) and `MbKey`'s routes depend on it.
    core: Core,
}

impl fmt::Debug for MbGcmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MbGcmKey")
            .field("bits", &if self.rounds == 10 { 128 } else { 256 })
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Drop for MbGcmKey {
    fn drop(&mut self) {
        self.rk.zeroize();
        self.htab.zeroize();
    }
}

impl MbGcmKey {
    /// A 16 or 32 octet key on the best path; `None` when the length is wrong or the CPU has no
    /// supported path.
    pub fn new(key: &[u8]) -> Option<MbGcmKey> {
        MbGcmKey::with_path(key, Path::best()?)
    }

    /// The same with a given path; `None` if the CPU does not support it.
    pub fn with_path(key: &[u8], path: Path) -> Option<MbGcmKey> {
        if !(key.len() == 16 || key.len() == 32) || !path.is_supported() {
            return None;
        }
        let mut k = MbGcmKey {
            rk: [0; 15],
            htab: [0; 2 * HTAB],
            rounds: 0,
            path,
            core: Core::here(),
        };
        // SAFETY: every path requires AES-NI, PCLMULQDQ, SSSE3 and SSE4.1, and `path` was just
        // detected as supported.
        k.rounds = unsafe { key_setup(key, &mut k.rk, &mut k.htab) };
        Some(k)
    }

    /// The most text registers (of 64 octets) a frame takes in `batch_z`'s small-frame groups on
    /// `core`. On AMD Zen 5 (`measure_frames`, 2026-12-08) `frame_z` was 13-17% faster than
    /// groups of three or four registers a frame from 160 to 256 octets of text (seal 58.7
    /// against 67.2 ticks at 188, 64.3 against 76.5 at 256; open alike); on the Intel Xeons
    /// the groups were kept for those (they were not measured against `frame_z` again, and
    /// with intel-ipsec-mb available the Intel routes leave 129-256 octets to it).
    const fn group_zmm(core: Core) -> usize {
        match core {
            Core::Zen5 => 2,
            Core::Other => 4,
        }
    }

    /// The core this key was made on (see [`Core`]).
    pub fn core(&self) -> Core {
        self.core
    }

    /// The code path this key uses.
    pub fn path(&self) -> Path {
        self.path
    }

    /// Seals one frame (a batch of one).
    pub fn seal(&self, iv: &[u8; 12], aad: &[u8], text: &mut [u8], tag: &mut [u8; 16]) {
        let mut job = SealJob {
            iv: *iv,
            aad,
            text,
            tag,
        };
        self.seal_batch(core::slice::from_mut(&mut job));
    }

    /// Opens one frame; true when the tag verified (constant-time comparison). On false the
    /// contents of `text` are unspecified.
    pub fn open(&self, iv: &[u8; 12], aad: &[u8], text: &mut [u8], tag: &[u8; 16]) -> bool {
        let mut job = OpenJob {
            iv: *iv,
            aad,
            text,
            tag,
        };
        let mut ok = [false];
        self.open_batch(core::slice::from_mut(&mut job), &mut ok);
        ok[0]
    }

    /// The most text (octets) the Vaes256 path runs through the xmm kernel (`frame_x`) rather
    /// than the ymm one. Measured on an Intel Xeon (Ice Lake; `MACSEC_MB_PATH=vaes256`), the
    /// ymm kernel was 5-25% slower than the xmm one up to 224 octets of text (52: 99 against 82
    /// TSC ticks to seal, 102 against 82 to open) and faster from 244 (18% at 256). Ice Lake
    /// runs a ymm `vaesenc` at half the rate of the CPUs that take this path (AMD Zen 3, Intel
    /// Alder Lake), so the ymm kernel may win there sooner; the xmm kernel is the same code on
    /// both.
    pub const XMM_TEXT_VAES256: usize = 240;

    /// Whether a frame of `text_len` octets of text goes through the ymm kernel.
    fn ymm(&self, text_len: usize) -> bool {
        self.path == Path::Vaes256 && text_len > Self::XMM_TEXT_VAES256
    }

    /// Seals every job; frames of any sizes mixed, any number of jobs.
    pub fn seal_batch(&self, jobs: &mut [SealJob<'_>]) {
        if self.path == Path::Vaes512 {
            let mut ok = [false; SUB];
            for sub in jobs.chunks_mut(SUB) {
                // SAFETY: the key's path (Vaes512) was detected as supported when the key was
                // made; batch_z and batch_tiny_z need no more than that path's features.
                unsafe {
                    match tiny_regs(sub) {
                        Some(1) => batch_tiny_z::<true, 1, _>(self, sub, &mut ok[..sub.len()]),
                        Some(2) => batch_tiny_z::<true, 2, _>(self, sub, &mut ok[..sub.len()]),
                        _ => batch_z::<true, _>(self, sub, &mut ok),
                    }
                };
            }
        } else {
            let mut i = 0;
            while i < jobs.len() {
                if let Some(group) = tiny_x_group(&mut jobs[i..]) {
                    // SAFETY: AES-NI, PCLMULQDQ, SSSE3, SSE4.1: part of every path.
                    unsafe { tiny_x::<true, _>(self, group, &mut [false; TINY_X]) };
                    i += TINY_X;
                    continue;
                }
                let job = &mut jobs[i];
                i += 1;
                let want = job.received();
                let tag = if self.ymm(job.text.len()) {
                    // SAFETY: the key's path (Vaes256) was detected as supported when the key
                    // was made; frame_y needs no more than that path's features.
                    unsafe { frame_y::<true>(self, &job.iv, job.aad, job.text) }
                } else {
                    // SAFETY: as above (AES-NI, PCLMULQDQ, SSSE3, SSE4.1: part of every path).
                    unsafe { frame_x::<true>(self, &job.iv, job.aad, job.text) }
                };
                job.finish(tag, want);
            }
        }
        scrub(self.path);
    }

    /// Opens every job; `ok[i]` says whether job i verified. Panics unless
    /// `ok.len() == jobs.len()`.
    pub fn open_batch(&self, jobs: &mut [OpenJob<'_>], ok: &mut [bool]) {
        assert_eq!(ok.len(), jobs.len(), "open_batch: ok.len() != jobs.len()");
        if self.path == Path::Vaes512 {
            for (sub, oks) in jobs.chunks_mut(SUB).zip(ok.chunks_mut(SUB)) {
                // SAFETY: as in seal_batch.
                unsafe {
                    match tiny_regs(sub) {
                        Some(1) => batch_tiny_z::<false, 1, _>(self, sub, oks),
                        Some(2) => batch_tiny_z::<false, 2, _>(self, sub, oks),
                        _ => batch_z::<false, _>(self, sub, oks),
                    }
                };
            }
        } else {
            let mut i = 0;
            while i < jobs.len() {
                if let Some(group) = tiny_x_group(&mut jobs[i..]) {
                    // SAFETY: as in seal_batch.
                    unsafe { tiny_x::<false, _>(self, group, &mut ok[i..i + TINY_X]) };
                    i += TINY_X;
                    continue;
                }
                let (job, ok) = (&mut jobs[i], &mut ok[i]);
                i += 1;
                let want = job.received();
                let tag = if self.ymm(job.text.len()) {
                    // SAFETY: as in seal_batch.
                    unsafe { frame_y::<false>(self, &job.iv, job.aad, job.text) }
                } else {
                    // SAFETY: as in seal_batch.
                    unsafe { frame_x::<false>(self, &job.iv, job.aad, job.text) }
                };
                *ok = job.finish(tag, want);
            }
        }
        scrub(self.path);
    }
}

/// Octets of stack under a batch's caller that [`scrub`] zeroes: the deepest the kernels reach
/// (in a release build on Ice Lake: AesNi 624, Vaes256 1656, Vaes512 2744 octets) with margin.
/// The test `batches_leave_no_key_material_on_the_stack` fails if they ever reach further.
const SCRUB: usize = 4096;

/// After a batch: zeroes the stack the kernels used and the vector registers they used. The
/// compiler spills vector registers to the stack as it sees fit, and it does spill round keys
/// (the first is the SAK itself with AES-128) and powers of H (which forge tags): left there,
/// they would outlive the SA in a core file until the next batch overwrote them. Costs a
/// 4 KiB `rep stosb` a batch (about 1% of a 64-frame batch of 64-octet frames).
#[inline(never)]
fn scrub(path: Path) {
    let mut area = core::mem::MaybeUninit::<[u8; SCRUB]>::uninit();
    // SAFETY: writes SCRUB octets at the start of `area`, a local of that size; `rep stosb`
    // goes upwards (the ABI keeps the direction flag clear) and touches nothing else.
    unsafe {
        core::arch::asm!(
            "rep stosb",
            inout("rdi") area.as_mut_ptr().cast::<u8>() => _,
            inout("rcx") SCRUB => _,
            in("al") 0u8,
            options(nostack, preserves_flags),
        );
    }
    // The kernels' registers: the path says which they had (it was detected when the key was
    // made). Every vector register is caller-saved, so the compiler holds nothing in them here.
    match path {
        // SAFETY: AVX-512F (vzeroall clears zmm0-15, the vpxord zmm16-31); registers only.
        Path::Vaes512 => unsafe {
            core::arch::asm!(
                "vzeroall",
                "vpxord zmm16, zmm16, zmm16",
                "vpxord zmm17, zmm17, zmm17",
                "vpxord zmm18, zmm18, zmm18",
                "vpxord zmm19, zmm19, zmm19",
                "vpxord zmm20, zmm20, zmm20",
                "vpxord zmm21, zmm21, zmm21",
                "vpxord zmm22, zmm22, zmm22",
                "vpxord zmm23, zmm23, zmm23",
                "vpxord zmm24, zmm24, zmm24",
                "vpxord zmm25, zmm25, zmm25",
                "vpxord zmm26, zmm26, zmm26",
                "vpxord zmm27, zmm27, zmm27",
                "vpxord zmm28, zmm28, zmm28",
                "vpxord zmm29, zmm29, zmm29",
                "vpxord zmm30, zmm30, zmm30",
                "vpxord zmm31, zmm31, zmm31",
                clobber_abi("C"),
                options(nomem, nostack, preserves_flags),
            )
        },
        // SAFETY: AVX (the Vaes256 path needs AVX2); registers only.
        Path::Vaes256 => unsafe {
            core::arch::asm!(
                "vzeroall",
                clobber_abi("C"),
                options(nomem, nostack, preserves_flags)
            )
        },
        // SAFETY: SSE2; registers only.
        Path::AesNi => unsafe {
            core::arch::asm!(
                "pxor xmm0, xmm0",
                "pxor xmm1, xmm1",
                "pxor xmm2, xmm2",
                "pxor xmm3, xmm3",
                "pxor xmm4, xmm4",
                "pxor xmm5, xmm5",
                "pxor xmm6, xmm6",
                "pxor xmm7, xmm7",
                "pxor xmm8, xmm8",
                "pxor xmm9, xmm9",
                "pxor xmm10, xmm10",
                "pxor xmm11, xmm11",
                "pxor xmm12, xmm12",
                "pxor xmm13, xmm13",
                "pxor xmm14, xmm14",
                "pxor xmm15, xmm15",
                clobber_abi("C"),
                options(nomem, nostack, preserves_flags),
            )
        },
    }
}

/// Overwrites `buf` with zeros that the compiler may not drop as dead stores, 8 octets at a
/// time: zeroize on a `[u8]` writes octet by octet, which in the zmm batch's group buffers
/// (1280 octets a batch) cost about 5 ns a frame at 64 octets (3% of validate's time).
fn wipe(buf: &mut [u8]) {
    // SAFETY: every bit pattern is a valid u64; align_to_mut only splits the slice.
    let (head, words, tail) = unsafe { buf.align_to_mut::<u64>() };
    head.zeroize();
    words.zeroize();
    tail.zeroize();
}

// ------------------------------------------------------------------------------------------
// Loads and stores (the only pointer operations outside the masked AVX-512 helpers).

/// `dst.copy_from_slice(src)` for short slices, without a call to `memcpy`: 16-octet moves,
/// then two overlapping moves of 8, 4 or single octets for the rest.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    let mut d = dst.chunks_exact_mut(16);
    let mut s = src.chunks_exact(16);
    for (d, s) in (&mut d).zip(&mut s) {
        d.copy_from_slice(s);
    }
    let (d, s) = (d.into_remainder(), s.remainder());
    let r = s.len();
    if r >= 8 {
        d[..8].copy_from_slice(&s[..8]);
        d[r - 8..].copy_from_slice(&s[r - 8..]);
    } else if r >= 4 {
        d[..4].copy_from_slice(&s[..4]);
        d[r - 4..].copy_from_slice(&s[r - 4..]);
    } else {
        for (d, s) in d.iter_mut().zip(s) {
            *d = *s;
        }
    }
}

/// The octets of `s` (fewer than 16) in the low octets of an xmm register, the rest zero, put
/// together in registers from overlapping 8-, 4- or 1-octet loads. A copy into a zeroed block on
/// the stack read back with one 16-octet load costs far more: a load that spans several earlier
/// stores is not forwarded from them and waits until they have left the core.
#[inline(always)]
fn ld_partial(s: &[u8]) -> __m128i {
    let r = s.len();
    debug_assert!(r < 16);
    let (lo, hi) = if r >= 8 {
        let lo = u64::from_le_bytes(s[..8].try_into().unwrap());
        // Octets r - 8..r, shifted down so that octet 8 comes first (none when r is 8).
        let hi = if r > 8 {
            u64::from_le_bytes(s[r - 8..].try_into().unwrap()) >> (8 * (16 - r))
        } else {
            0
        };
        (lo, hi)
    } else if r >= 4 {
        let a = u32::from_le_bytes(s[..4].try_into().unwrap());
        let b = u32::from_le_bytes(s[r - 4..].try_into().unwrap());
        // The octets both loads hold are equal, so OR puts each in place once.
        (u64::from(a) | (u64::from(b) << (8 * (r - 4))), 0)
    } else {
        let lo = s
            .iter()
            .enumerate()
            .fold(0u64, |x, (i, &o)| x | (u64::from(o) << (8 * i)));
        (lo, 0)
    };
    // SAFETY: SSE2 is part of the x86_64 baseline.
    unsafe { _mm_set_epi64x(hi as i64, lo as i64) }
}

/// Loads 16 octets.
#[inline(always)]
fn ld128(b: &[u8; 16]) -> __m128i {
    // SAFETY: `b` is 16 readable octets; loadu has no alignment requirement; SSE2 is part of the
    // x86_64 baseline.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

/// Loads a u128 as the xmm register with the same little-endian octets.
#[inline(always)]
fn ldq(x: &u128) -> __m128i {
    // SAFETY: a u128 is 16 readable octets; loadu has no alignment requirement; SSE2 is baseline.
    unsafe { _mm_loadu_si128((x as *const u128).cast()) }
}

/// Stores an xmm register as a u128 (inverse of `ldq`).
#[inline(always)]
fn stq(v: __m128i) -> u128 {
    let mut x = 0u128;
    // SAFETY: a u128 is 16 writable octets; storeu has no alignment requirement; SSE2 is baseline.
    unsafe { _mm_storeu_si128((&mut x as *mut u128).cast(), v) };
    x
}

/// Stores 16 octets.
#[inline(always)]
fn st128(b: &mut [u8; 16], v: __m128i) {
    // SAFETY: `b` is 16 writable octets; storeu has no alignment requirement; SSE2 is baseline.
    unsafe { _mm_storeu_si128(b.as_mut_ptr().cast(), v) }
}

/// Loads the first 32 octets of `b` (panics if shorter).
#[inline]
#[target_feature(enable = "avx")]
fn ld256(b: &[u8]) -> __m256i {
    let b = &b[..32];
    // SAFETY: `b` has exactly 32 readable octets (the slice above); AVX is enabled here.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

/// Stores 32 octets to the start of `b` (panics if shorter).
#[inline]
#[target_feature(enable = "avx")]
fn st256(b: &mut [u8], v: __m256i) {
    let b = &mut b[..32];
    // SAFETY: `b` has exactly 32 writable octets; AVX is enabled here.
    unsafe { _mm256_storeu_si256(b.as_mut_ptr().cast(), v) }
}

/// Loads two consecutive u128 entries (panics if fewer).
#[inline]
#[target_feature(enable = "avx")]
fn ld256q(h: &[u128]) -> __m256i {
    let h = &h[..2];
    // SAFETY: `h` is 2 u128 = 32 readable octets; AVX is enabled here.
    unsafe { _mm256_loadu_si256(h.as_ptr().cast()) }
}

/// Loads the first 64 octets of `b` (panics if shorter).
#[inline]
#[target_feature(enable = "avx512f")]
fn ld512(b: &[u8]) -> __m512i {
    let b = &b[..64];
    // SAFETY: `b` has exactly 64 readable octets; AVX-512F is enabled here.
    unsafe { _mm512_loadu_si512(b.as_ptr().cast()) }
}

/// Stores 64 octets to the start of `b` (panics if shorter).
#[inline]
#[target_feature(enable = "avx512f")]
fn st512(b: &mut [u8], v: __m512i) {
    let b = &mut b[..64];
    // SAFETY: `b` has exactly 64 writable octets; AVX-512F is enabled here.
    unsafe { _mm512_storeu_si512(b.as_mut_ptr().cast(), v) }
}

/// Loads four consecutive u128 entries (panics if fewer).
#[inline]
#[target_feature(enable = "avx512f")]
fn ld512q(h: &[u128]) -> __m512i {
    let h = &h[..4];
    // SAFETY: `h` is 4 u128 = 64 readable octets; AVX-512F is enabled here.
    unsafe { _mm512_loadu_si512(h.as_ptr().cast()) }
}

/// Mask of the first `n` octets of a zmm register, `n <= 64`.
#[inline]
#[target_feature(enable = "bmi2")]
fn mask64(n: usize) -> __mmask64 {
    _bzhi_u64(!0, n as u32)
}

/// Loads `b` (at most 64 octets) into the low octets of a zmm register, the rest zero.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,bmi2")]
fn ld512_part(b: &[u8]) -> __m512i {
    assert!(b.len() <= 64);
    // SAFETY: the mask selects exactly the first b.len() octets, all inside `b`; masked-off
    // octets are neither read nor able to fault (AVX-512 fault suppression); AVX-512BW enabled.
    unsafe { _mm512_maskz_loadu_epi8(mask64(b.len()), b.as_ptr().cast()) }
}

/// Stores the low `b.len()` (at most 64) octets of `v` into `b`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,bmi2")]
fn st512_part(b: &mut [u8], v: __m512i) {
    assert!(b.len() <= 64);
    // SAFETY: the mask selects exactly the first b.len() octets, all inside `b`; masked-off
    // octets are not written and cannot fault; AVX-512BW enabled.
    unsafe { _mm512_mask_storeu_epi8(b.as_mut_ptr().cast(), mask64(b.len()), v) }
}

// ------------------------------------------------------------------------------------------
// Key setup (AES-NI key expansion, H and its powers).

/// One AES key-expansion step: k ^= k << 32 ^ k << 64 ^ k << 96, then ^= the assist word `t`
/// (already broadcast to all four dwords).
#[inline]
#[target_feature(enable = "sse2")]
fn expand_step(mut k: __m128i, t: __m128i) -> __m128i {
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    _mm_xor_si128(k, t)
}

#[target_feature(enable = "aes,sse2")]
fn expand128(key: &[u8; 16], rk: &mut [u128; 15]) {
    let mut k = ld128(key);
    rk[0] = stq(k);
    macro_rules! round {
        ($i:expr, $rcon:expr) => {
            let t = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k, $rcon), 0xff);
            k = expand_step(k, t);
            rk[$i] = stq(k);
        };
    }
    round!(1, 0x01);
    round!(2, 0x02);
    round!(3, 0x04);
    round!(4, 0x08);
    round!(5, 0x10);
    round!(6, 0x20);
    round!(7, 0x40);
    round!(8, 0x80);
    round!(9, 0x1b);
    round!(10, 0x36);
}

#[target_feature(enable = "aes,sse2")]
fn expand256(key: &[u8; 32], rk: &mut [u128; 15]) {
    let (k0, k1) = key.split_at(16);
    let mut a = ld128(k0.try_into().unwrap());
    let mut b = ld128(k1.try_into().unwrap());
    rk[0] = stq(a);
    rk[1] = stq(b);
    // Even round keys: RotWord/SubWord of the previous odd key's last word, with rcon;
    // odd round keys: SubWord (no rotation, no rcon) of the previous even key's last word.
    macro_rules! even {
        ($i:expr, $rcon:expr) => {
            let t = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(b, $rcon), 0xff);
            a = expand_step(a, t);
            rk[$i] = stq(a);
        };
    }
    macro_rules! odd {
        ($i:expr) => {
            let t = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(a, 0), 0xaa);
            b = expand_step(b, t);
            rk[$i] = stq(b);
        };
    }
    even!(2, 0x01);
    odd!(3);
    even!(4, 0x02);
    odd!(5);
    even!(6, 0x04);
    odd!(7);
    even!(8, 0x08);
    odd!(9);
    even!(10, 0x10);
    odd!(11);
    even!(12, 0x20);
    odd!(13);
    even!(14, 0x40);
}

/// Expands the key, computes H = E_K(0^128) and the table of its powers; returns the rounds.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3,sse4.1")]
fn key_setup(key: &[u8], rk: &mut [u128; 15], htab: &mut Htab) -> usize {
    let rounds = match key.len() {
        16 => {
            expand128(key.try_into().unwrap(), rk);
            10
        }
        _ => {
            expand256(key.try_into().unwrap(), rk);
            14
        }
    };
    let mut s = ldq(&rk[0]); // 0^128 XOR rk[0]
    for k in &rk[1..rounds] {
        s = _mm_aesenc_si128(s, ldq(k));
    }
    s = _mm_aesenclast_si128(s, ldq(&rk[rounds]));
    let mut hb = [0u8; 16];
    st128(&mut hb, s);
    let h = u128::from_be_bytes(hb);
    // H' = H * x^-1: a left shift of the backwards-ordered integer, x^-1 added for the carry.
    let mut hx = (h << 1) ^ if h >> 127 == 1 { POLY } else { 0 };
    let hv = ldq(&hx);
    let mut p = hv;
    htab.fill(0);
    for i in 1..=NPOW {
        htab[NPOW - i] = stq(p); // (H^i)'
        p = gf_mul_x(p, hv);
    }
    for j in 0..HTAB {
        let h = htab[j];
        let k = (h ^ (h >> 64)) as u64 as u128;
        htab[HTAB + j] = k | (k << 64);
    }
    hb.zeroize();
    hx.zeroize();
    rounds
}

// ------------------------------------------------------------------------------------------
// GHASH, xmm (AES-NI path; also used for the key setup).

/// The reduction constant in both qwords' high half: `POLY` as an xmm value.
#[inline]
#[target_feature(enable = "sse2")]
fn poly_x() -> __m128i {
    _mm_set_epi64x(0xc200_0000_0000_0000_u64 as i64, 1)
}

/// Byte-reversal shuffle of a 16-octet lane.
#[inline]
#[target_feature(enable = "sse2")]
fn bswap_mask_x() -> __m128i {
    _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
}

/// Reduces the 256-bit product HI * 2^128 + MI * 2^64 + LO to 128 bits (see the module docs):
/// fold the low qword of LO into MI (times 0xc2.. one qword up, itself two qwords up = a qword
/// swap), then the low qword of the new MI into HI the same way.
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
fn reduce_x(lo: __m128i, mi: __m128i, hi: __m128i) -> __m128i {
    let poly = poly_x();
    // imm 0x10: low qword of the first operand times high qword of the second.
    let t = _mm_clmulepi64_si128(lo, poly, 0x10);
    let mi = _mm_xor_si128(_mm_xor_si128(mi, _mm_shuffle_epi32(lo, 0x4e)), t);
    let t = _mm_clmulepi64_si128(mi, poly, 0x10);
    _mm_xor_si128(_mm_xor_si128(hi, _mm_shuffle_epi32(mi, 0x4e)), t)
}

/// a * b in the premultiplied representation ((a * b)' from a' and b').
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
fn gf_mul_x(a: __m128i, b: __m128i) -> __m128i {
    let lo = _mm_clmulepi64_si128(a, b, 0x00);
    let hi = _mm_clmulepi64_si128(a, b, 0x11);
    let mi = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10));
    reduce_x(lo, mi, hi)
}

/// Unreduced sums of one window, xmm; `xp` is the running GHASH value still to be XORed into the
/// window's first block (zero once done).
struct AccX {
    lo: __m128i,
    mi: __m128i,
    hi: __m128i,
    xp: __m128i,
}

#[inline]
#[target_feature(enable = "sse2")]
fn acc_new_x(x: __m128i) -> AccX {
    let z = _mm_setzero_si128();
    AccX {
        lo: z,
        mi: z,
        hi: z,
        xp: x,
    }
}

/// acc += (d ^ pending X) * h, d already in integer (byte-reversed) order.
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
fn mul_acc_x(acc: &mut AccX, d: __m128i, h: __m128i) {
    let d = _mm_xor_si128(d, acc.xp);
    acc.xp = _mm_setzero_si128();
    acc.lo = _mm_xor_si128(acc.lo, _mm_clmulepi64_si128(d, h, 0x00));
    acc.hi = _mm_xor_si128(acc.hi, _mm_clmulepi64_si128(d, h, 0x11));
    acc.mi = _mm_xor_si128(acc.mi, _mm_clmulepi64_si128(d, h, 0x01));
    acc.mi = _mm_xor_si128(acc.mi, _mm_clmulepi64_si128(d, h, 0x10));
}

/// Accumulates the blocks of `data` (last one zero-padded) times h[0], h[1], ...
#[inline]
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
fn seg_x(acc: &mut AccX, data: &[u8], h: &[u128]) {
    let bs = bswap_mask_x();
    let mut blocks = data.chunks_exact(16);
    let mut i = 0;
    for b in &mut blocks {
        let d = _mm_shuffle_epi8(ld128(b.try_into().unwrap()), bs);
        mul_acc_x(acc, d, ldq(&h[i]));
        i += 1;
    }
    let rem = blocks.remainder();
    if !rem.is_empty() {
        mul_acc_x(acc, _mm_shuffle_epi8(ld_partial(rem), bs), ldq(&h[i]));
    }
}

/// Accumulates the length block times H.
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
fn last_x(acc: &mut AccX, lens: u128, h1: &u128) {
    mul_acc_x(acc, ldq(&lens), ldq(h1));
}

#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
fn finish_x(acc: AccX) -> __m128i {
    reduce_x(acc.lo, acc.mi, acc.hi)
}

// ------------------------------------------------------------------------------------------
// GHASH, ymm (two blocks per register, two lanes reduced in parallel, then folded).

struct AccY {
    lo: __m256i,
    mi: __m256i,
    hi: __m256i,
    xp: __m256i,
}

#[inline]
#[target_feature(enable = "avx2")]
fn acc_new_y(x: __m128i) -> AccY {
    let z = _mm256_setzero_si256();
    AccY {
        lo: z,
        mi: z,
        hi: z,
        xp: _mm256_zextsi128_si256(x),
    }
}

#[inline]
#[target_feature(enable = "avx2,vpclmulqdq")]
fn mul_acc_y(acc: &mut AccY, d: __m256i, h: __m256i) {
    let d = _mm256_xor_si256(d, acc.xp);
    acc.xp = _mm256_setzero_si256();
    acc.lo = _mm256_xor_si256(acc.lo, _mm256_clmulepi64_epi128(d, h, 0x00));
    acc.hi = _mm256_xor_si256(acc.hi, _mm256_clmulepi64_epi128(d, h, 0x11));
    acc.mi = _mm256_xor_si256(acc.mi, _mm256_clmulepi64_epi128(d, h, 0x01));
    acc.mi = _mm256_xor_si256(acc.mi, _mm256_clmulepi64_epi128(d, h, 0x10));
}

#[inline]
#[target_feature(enable = "avx2,vpclmulqdq")]
fn seg_y(acc: &mut AccY, data: &[u8], h: &[u128]) {
    let bs = _mm256_broadcastsi128_si256(bswap_mask_x());
    let mut off = 0;
    let mut i = 0;
    while off < data.len() {
        let rem = &data[off..];
        let d = if rem.len() >= 32 {
            ld256(rem)
        } else {
            ld_partial_y(rem)
        };
        mul_acc_y(acc, _mm256_shuffle_epi8(d, bs), ld256q(&h[i..]));
        off += 32;
        i += 2;
    }
}

/// The octets of `s` (fewer than 32) in the low octets of a ymm register, the rest zero,
/// without a round trip through memory (see `ld_partial`).
#[inline]
#[target_feature(enable = "avx")]
fn ld_partial_y(s: &[u8]) -> __m256i {
    if s.len() >= 16 {
        _mm256_set_m128i(ld_partial(&s[16..]), ld128(s[..16].try_into().unwrap()))
    } else {
        _mm256_zextsi128_si256(ld_partial(s))
    }
}

#[inline]
#[target_feature(enable = "avx2,vpclmulqdq,pclmulqdq")]
fn last_y(acc: &mut AccY, lens: u128, h1: &u128) {
    let d = _mm_xor_si128(ldq(&lens), _mm256_castsi256_si128(acc.xp));
    acc.xp = _mm256_setzero_si256();
    let h = ldq(h1);
    let lo = _mm_clmulepi64_si128(d, h, 0x00);
    let hi = _mm_clmulepi64_si128(d, h, 0x11);
    let mi = _mm_xor_si128(_mm_clmulepi64_si128(d, h, 0x01), _mm_clmulepi64_si128(d, h, 0x10));
    acc.lo = _mm256_xor_si256(acc.lo, _mm256_zextsi128_si256(lo));
    acc.mi = _mm256_xor_si256(acc.mi, _mm256_zextsi128_si256(mi));
    acc.hi = _mm256_xor_si256(acc.hi, _mm256_zextsi128_si256(hi));
}

/// Reduces both lanes (reduction is linear, so reducing lanes then adding them is the same as
/// adding then reducing) and folds them.
#[inline]
#[target_feature(enable = "avx2,vpclmulqdq")]
fn finish_y(acc: AccY) -> __m128i {
    let poly = _mm256_broadcastsi128_si256(poly_x());
    let t = _mm256_clmulepi64_epi128(acc.lo, poly, 0x10);
    let mi = _mm256_xor_si256(_mm256_xor_si256(acc.mi, _mm256_shuffle_epi32(acc.lo, 0x4e)), t);
    let t = _mm256_clmulepi64_epi128(mi, poly, 0x10);
    let r = _mm256_xor_si256(_mm256_xor_si256(acc.hi, _mm256_shuffle_epi32(mi, 0x4e)), t);
    _mm_xor_si128(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1))
}

// ------------------------------------------------------------------------------------------
// GHASH, zmm (four blocks per register; partial blocks by masked loads).

struct AccZ {
    lo: __m512i,
    mi: __m512i,
    hi: __m512i,
    xp: __m512i,
}

#[inline]
#[target_feature(enable = "avx512f")]
fn acc_new_z(x: __m128i) -> AccZ {
    let z = _mm512_setzero_si512();
    AccZ {
        lo: z,
        mi: z,
        hi: z,
        xp: _mm512_zextsi128_si512(x),
    }
}

// The zmm accumulator comes in two forms, chosen by a const parameter `K` of the functions that
// use it. K = false (schoolbook): four carry-less multiplies a block, the middle sum as is.
// K = true (Karatsuba): the middle sum gets (d.lo ^ d.hi) * (h.lo ^ h.hi), one multiply instead
// of two, and `finish_z` adds LO and HI to it. The multiplier is the busiest unit on large frames
// (`frame_z`: 4-5% fewer cycles at 512 to 9000 octets); small frames (`finish_group`) are bound
// by instructions, and Karatsuba's extra load, shuffle and XOR cost them 3%.

/// Four consecutive powers from `h` (a slice of an [`Htab`] from a power) and, for the
/// Karatsuba form, their Karatsuba entries (else zero).
#[inline]
#[target_feature(enable = "avx512f")]
fn ldh_z<const K: bool>(h: &[u128]) -> (__m512i, __m512i) {
    if K {
        (ld512q(h), ld512q(&h[HTAB..]))
    } else {
        (ld512q(h), _mm512_setzero_si512())
    }
}

#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq")]
fn mul_acc_z<const K: bool>(acc: &mut AccZ, d: __m512i, h: (__m512i, __m512i)) {
    let d = _mm512_xor_si512(d, acc.xp);
    acc.xp = _mm512_setzero_si512();
    mul_add_z::<K>(acc, d, h);
}

/// acc += d * h (no pending value).
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq")]
fn mul_add_z<const K: bool>(acc: &mut AccZ, d: __m512i, (h, hk): (__m512i, __m512i)) {
    acc.lo = _mm512_xor_si512(acc.lo, _mm512_clmulepi64_epi128(d, h, 0x00));
    acc.hi = _mm512_xor_si512(acc.hi, _mm512_clmulepi64_epi128(d, h, 0x11));
    if K {
        let dk = _mm512_xor_si512(d, _mm512_shuffle_epi32(d, 0x4e));
        acc.mi = _mm512_xor_si512(acc.mi, _mm512_clmulepi64_epi128(dk, hk, 0x00));
    } else {
        let m1 = _mm512_clmulepi64_epi128(d, h, 0x01);
        let m2 = _mm512_clmulepi64_epi128(d, h, 0x10);
        acc.mi = _mm512_ternarylogic_epi64(acc.mi, m1, m2, 0x96); // three-way XOR
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,vpclmulqdq,bmi2")]
fn seg_z<const K: bool>(acc: &mut AccZ, data: &[u8], h: &[u128]) {
    let bs = _mm512_broadcast_i32x4(bswap_mask_x());
    let mut off = 0;
    let mut i = 0;
    while off < data.len() {
        let rem = &data[off..];
        let d = if rem.len() >= 64 {
            ld512(rem)
        } else {
            ld512_part(rem)
        };
        mul_acc_z::<K>(acc, _mm512_shuffle_epi8(d, bs), ldh_z::<K>(&h[i..]));
        off += 64;
        i += 4;
    }
}

#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq")]
fn last_z(acc: &mut AccZ, lens: u128, h1: &u128) {
    let d = _mm_xor_si128(ldq(&lens), _mm512_castsi512_si128(acc.xp));
    acc.xp = _mm512_setzero_si512();
    let h = ldq(h1);
    let lo = _mm_clmulepi64_si128(d, h, 0x00);
    let hi = _mm_clmulepi64_si128(d, h, 0x11);
    let mi = _mm_xor_si128(_mm_clmulepi64_si128(d, h, 0x01), _mm_clmulepi64_si128(d, h, 0x10));
    // In the Karatsuba form (frame_z's): finish_z adds LO and HI to the middle sum.
    let mi = _mm_xor_si128(mi, _mm_xor_si128(lo, hi));
    acc.lo = _mm512_xor_si512(acc.lo, _mm512_zextsi128_si512(lo));
    acc.mi = _mm512_xor_si512(acc.mi, _mm512_zextsi128_si512(mi));
    acc.hi = _mm512_xor_si512(acc.hi, _mm512_zextsi128_si512(hi));
}

/// Reduces the four lanes in parallel, then folds them (see `finish_y`). In the Karatsuba form
/// (K) LO and HI are added to the middle sum first.
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq")]
fn finish_z<const K: bool>(acc: AccZ) -> __m128i {
    let poly = _mm512_broadcast_i32x4(poly_x());
    let mi = if K {
        _mm512_ternarylogic_epi64(acc.mi, acc.lo, acc.hi, 0x96)
    } else {
        acc.mi
    };
    let t = _mm512_clmulepi64_epi128(acc.lo, poly, 0x10);
    let mi = _mm512_ternarylogic_epi64(mi, _mm512_shuffle_epi32(acc.lo, 0x4e), t, 0x96);
    let t = _mm512_clmulepi64_epi128(mi, poly, 0x10);
    let r = _mm512_ternarylogic_epi64(acc.hi, _mm512_shuffle_epi32(mi, 0x4e), t, 0x96);
    let r = _mm256_xor_si256(_mm512_castsi512_si256(r), _mm512_extracti64x4_epi64(r, 1));
    _mm_xor_si128(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1))
}

// ------------------------------------------------------------------------------------------
// The Vaes512 path: `batch_z` (small frames in groups, see the module docs) and `frame_z`
// (larger frames streamed one by one: steps of 32 blocks, then the rest, 1 to 32 blocks, in one
// step, `text_step_z`). GHASH windows as in the module docs: one window for the whole frame
// when it fits; otherwise the AAD in windows of its own, then one window per text step, the
// last one including the length block.

/// The Vaes512 batch: seals (SEAL) or opens every frame of `frames`; for open, `ok[i]` says
/// whether frame i verified (for seal it is only written).
///
/// * "Small" frames (at most `group_zmm` zmm of text: 4 = 16 blocks, or 2 on AMD Zen 5; and one
///   GHASH window for the whole frame, which covers MACsec frames up to about 250 octets of
///   text) are gathered into groups
///   of at most 8 frames and 8 zmm of counter blocks. As a frame arrives its J0 is written to
///   the group's J0 area and `Group::src` gets a byte per text register (each frame from a zmm
///   boundary); `aes_group_n` makes the counter blocks from those as it loads them, so that no
///   counter block goes through memory. A full group's registers (up to 10 zmm) then go through
///   the AES rounds together,
///   followed in program order by the second half of the previous group's work, which does not
///   depend on them, so that the out-of-order core keeps the AES unit and the carry-less
///   multiplier busy at the same time (software pipelining by one group): each frame of that
///   group XORs its keystream and computes its GHASH with a single reduction. The length block's
///   product L*H is the same for frames of equal lengths and is computed once per run of them.
/// * Larger frames are streamed one at a time by `frame_z`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,pclmulqdq,ssse3,bmi2")]
fn batch_z<const SEAL: bool, F: Frame>(key: &MbGcmKey, frames: &mut [F], ok: &mut [bool]) {
    let (rk, rounds, htab) = (&key.rk, key.rounds, &key.htab);
    // Two groups: `cur` is being filled, the other one has its keystream ready (or is empty).
    let mut gs = [Group::EMPTY, Group::EMPTY];
    let mut gbs = [GroupBuf([[0; 64]; GZ + 2]), GroupBuf([[0; 64]; GZ + 2])];
    let mut cur = 0;
    // The filling group's `len` and `zmm`, kept here (in registers) and written to it when it
    // is handed on (full, or at the drain), not stored and reloaded every frame.
    let (mut len, mut zmm) = (0usize, 0usize);
    let mut lh = LenCache {
        lens: u128::MAX,
        lh: 0,
    };
    for j in 0..frames.len() {
        let f = &frames[j];
        let (al, tl) = (f.aad().len(), f.text().len());
        let ivx = ld_iv(f.iv());
        // J0 = IV || 0^31 || 1.
        let j0 = _mm_or_si128(ivx, _mm_set_epi32(0x0100_0000, 0, 0, 0));
        let c = tl.div_ceil(16);
        let nz = c.div_ceil(4);
        if nz <= MbGcmKey::group_zmm(key.core) && al.div_ceil(16) + c < NPOW {
            if zmm + nz > GZ || len == 8 {
                // AES of the full group together with the previous group's XOR and GHASH.
                (gs[cur].len, gs[cur].zmm) = (len, zmm);
                let (fill, ready) = pair(&mut gs, cur);
                let (fill_b, ready_b) = pair(&mut gbs, cur);
                // Program order: the AES first, so its long chains start while the previous
                // group's XOR and GHASH (independent of it) run on the other ports.
                aes_group(rk, rounds, fill, fill_b);
                finish_group::<SEAL, F>(key, frames, ok, ready, ready_b, &mut lh);
                cur ^= 1;
                (len, zmm) = (0, 0);
            }
            let (g, gb) = (&mut gs[cur], &mut gbs[cur]);
            let q = 16 * (len % 4);
            st128((&mut gb.0[GZ + len / 4][q..q + 16]).try_into().unwrap(), j0);
            // Its text registers' counter blocks are made from that J0 by `aes_group_n`.
            for k in 0..nz {
                g.src[zmm + k] = (len | (k << 3)) as u8;
            }
            g.members[len] = j as u8;
            len += 1;
            zmm += nz;
        } else {
            let ek = aes_block_x(rk, rounds, j0);
            let iv = *f.iv();
            let want = f.received();
            let (aad, text) = frames[j].aad_text();
            let x = if text.len().div_ceil(16) <= BLOCK_CTR_MAX {
                frame_z::<SEAL, true>(rk, rounds, htab, &iv, aad, text)
            } else {
                frame_z::<SEAL, false>(rk, rounds, htab, &iv, aad, text)
            };
            // x is GHASH as an integer: byte-reverse it into block order.
            let tag = _mm_xor_si128(_mm_shuffle_epi8(ldq(&x), bswap_mask_x()), ek);
            ok[j] = frames[j].finish(tag, want);
        }
    }
    // Drain: AES of the group being filled (with the ready group's second half), then its own.
    (gs[cur].len, gs[cur].zmm) = (len, zmm);
    let (fill, ready) = pair(&mut gs, cur);
    let (fill_b, ready_b) = pair(&mut gbs, cur);
    aes_group(rk, rounds, fill, fill_b);
    finish_group::<SEAL, F>(key, frames, ok, ready, ready_b, &mut lh);
    finish_group::<SEAL, F>(key, frames, ok, fill, fill_b, &mut lh);
    // The group buffers end up holding keystream and the frames' E_K(J0) (a tag XOR its GHASH
    // value: with known frames, equations in H): not left on the stack.
    for gb in &mut gbs {
        wipe(gb.0.as_flattened_mut());
    }
}

#[cfg(test)]
thread_local! {
    /// Batches (of at most `SUB` frames) that went through [`batch_tiny_z`] on this thread, with
    /// one text register a frame and with two; then the groups of [`tiny_x`].
    static TINY_BATCHES: core::cell::Cell<[u64; 3]> = const { core::cell::Cell::new([0; 3]) };
}

/// The text registers a frame takes in the tiny-frame kernel when every frame of the batch has at
/// most one zmm (64 octets) of AAD and at most REGS zmm of text, REGS = 1 or 2 (MACsec frames of up to
/// 108 or 172 octets on the wire with an SCI): [`batch_tiny_z`]. None: not every frame fits.
#[inline]
fn tiny_regs<F: Frame>(frames: &[F]) -> Option<usize> {
    let fits = |r: usize| {
        frames
            .iter()
            .all(|f| f.aad().len() <= 64 && f.text().len() <= 64 * r)
    };
    if fits(1) {
        Some(1)
    } else if fits(2) {
        Some(2)
    } else {
        None
    }
}

/// `batch_z` for a batch of tiny frames only ([`tiny_regs`]): each frame REGS text registers, so
/// frames (8/REGS)g..(8/REGS)(g + 1) are group g and the groups need no filling frame by frame beyond
/// the J0s, and the second half of a frame is straight-line (`finish_tiny`). The same AES step
/// (`aes_group`) and software pipelining by one group as `batch_z`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,pclmulqdq,ssse3,bmi2")]
fn batch_tiny_z<const SEAL: bool, const REGS: usize, F: Frame>(
    key: &MbGcmKey,
    frames: &mut [F],
    ok: &mut [bool],
) {
    #[cfg(test)]
    TINY_BATCHES.with(|n| {
        let mut c = n.get();
        c[REGS - 1] += 1;
        n.set(c)
    });
    let (rk, rounds) = (&key.rk, key.rounds);
    // Frames a group; text register i of a group is frame i / REGS's register i % REGS.
    let per = GZ / REGS;
    // One group description serves every group: only `len` and `zmm` change, and the AES step
    // reads it only while it runs.
    let mut g = Group::EMPTY;
    for (i, src) in g.src.iter_mut().enumerate() {
        *src = ((i / REGS) | ((i % REGS) << 3)) as u8;
    }
    let mut gbs = [GroupBuf([[0; 64]; GZ + 2]), GroupBuf([[0; 64]; GZ + 2])];
    let mut lh = LenCache {
        lens: u128::MAX,
        lh: 0,
    };
    let n = frames.len();
    let ok = &mut ok[..n];
    let mut cur = 0;
    let mut base = 0;
    while base < n {
        let m = (n - base).min(per);
        let (fill_b, ready_b) = pair(&mut gbs, cur);
        for (i, f) in frames[base..base + m].iter().enumerate() {
            // J0 = IV || 0^31 || 1; its text registers' counter blocks are made from it by
            // `aes_group_n` (`Group::src`).
            let j0 = _mm_or_si128(ld_iv(f.iv()), _mm_set_epi32(0x0100_0000, 0, 0, 0));
            let q = 16 * (i % 4);
            st128((&mut fill_b.0[GZ + i / 4][q..q + 16]).try_into().unwrap(), j0);
        }
        (g.len, g.zmm) = (m, m * REGS);
        aes_group(rk, rounds, &g, fill_b);
        if base > 0 {
            let r = base - per..base;
            finish_tiny::<SEAL, REGS, F>(key, &mut frames[r.clone()], &mut ok[r], ready_b, &mut lh);
        }
        cur ^= 1;
        base += m;
    }
    if n > 0 {
        // The last group (the one filled last, now `cur ^ 1`).
        let r = (n - 1) / per * per..n;
        finish_tiny::<SEAL, REGS, F>(key, &mut frames[r.clone()], &mut ok[r], &gbs[cur ^ 1], &mut lh);
    }
    // As in batch_z: keystream and E_K(J0)s are not left on the stack.
    for gb in &mut gbs {
        wipe(gb.0.as_flattened_mut());
    }
}

/// The second half of a group of tiny frames (see [`batch_tiny_z`]): frame i's keystream is
/// registers REGS i.. REGS i + REGS of `gb`, its E_K(J0) block i of the J0 area.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,pclmulqdq,ssse3,bmi2")]
fn finish_tiny<const SEAL: bool, const REGS: usize, F: Frame>(
    key: &MbGcmKey,
    frames: &mut [F],
    ok: &mut [bool],
    gb: &GroupBuf,
    lc: &mut LenCache,
) {
    let htab = &key.htab;
    let bs = _mm512_broadcast_i32x4(bswap_mask_x());
    // The powers for the AAD and the text, and the length block's product, kept while the
    // frames' lengths stay the same (a burst of equal frames computes them once a group).
    let mut shape = (usize::MAX, usize::MAX);
    let z = _mm512_setzero_si512();
    let (mut ha, mut ht, mut lh) = ((z, z), [(z, z); REGS], _mm_setzero_si128());
    for (i, (f, ok)) in frames.iter_mut().zip(ok.iter_mut()).enumerate().take(GZ / REGS) {
        let want = f.received();
        let (aad, text) = f.aad_text();
        let (al, tl) = (aad.len(), text.len());
        if (al, tl) != shape {
            shape = (al, tl);
            let a = al.div_ceil(16);
            // Block v of the frame (m = a + c + 1 blocks) is multiplied by H^(m - v) = h[v].
            let h = &htab[NPOW - 1 - a - tl.div_ceil(16)..];
            ha = ldh_z::<false>(h);
            for (k, ht) in ht.iter_mut().enumerate() {
                *ht = ldh_z::<false>(&h[a + 4 * k..]);
            }
            // The length block, as in finish_group.
            lh = lc.get(al, tl, htab);
        }
        let mut acc = acc_new_z(_mm_setzero_si128());
        let d = _mm512_shuffle_epi8(ld512_part(aad), bs);
        mul_add_z::<false>(&mut acc, d, ha);
        if REGS == 1 {
            // Straight-line (a loop over one chunk costs the 64-octet frames 1%).
            let (input, out) = xor_part_z(text, ld512(&gb.0[i]));
            let c = if SEAL { out } else { input };
            mul_add_z::<false>(&mut acc, _mm512_shuffle_epi8(c, bs), ht[0]);
        } else {
            for (k, part) in text.chunks_mut(64).enumerate().take(REGS) {
                let (input, out) = xor_part_z(part, ld512(&gb.0[REGS * i + k]));
                let c = if SEAL { out } else { input };
                mul_add_z::<false>(&mut acc, _mm512_shuffle_epi8(c, bs), ht[k]);
            }
        }
        let x = _mm_xor_si128(finish_z::<false>(acc), lh);
        let q = 16 * (i % 4);
        let ek = ld128((&gb.0[GZ + i / 4][q..q + 16]).try_into().unwrap());
        *ok = f.finish(_mm_xor_si128(_mm_shuffle_epi8(x, bswap_mask_x()), ek), want);
    }
}

/// (`a[cur]`, `a[cur ^ 1]`) borrowed together.
#[inline(always)]
fn pair<T>(a: &mut [T; 2], cur: usize) -> (&mut T, &mut T) {
    let [x, y] = a;
    if cur == 0 {
        (x, y)
    } else {
        (y, x)
    }
}

/// zmm registers of text counter blocks in a group.
const GZ: usize = 8;

/// A group's buffer: `GZ` zmm for its text registers' keystream, then 2 zmm (8 blocks) of J0s,
/// which the AES step turns into the E_K(J0)s.
#[repr(C, align(64))]
struct GroupBuf([[u8; 64]; GZ + 2]);

/// `CTR_LOW[k]`, lane l: (4k + l + 2) XOR 1 in the last octet: XORed into J0 (whose last octet
/// is 1) it gives the counter block of text block 4k + l, counter 4k + l + 2.
static CTR_LOW: [[u8; 64]; 4] = {
    let mut t = [[0u8; 64]; 4];
    let mut k = 0;
    while k < 4 {
        let mut l = 0;
        while l < 4 {
            t[k][16 * l + 15] = (4 * k + l + 2) as u8 ^ 1;
            l += 1;
        }
        k += 1;
    }
    t
};

/// Small frames of one group (see `batch_z`).
struct Group {
    /// Indices of the frames in the batch.
    members: [u8; 8],
    len: usize,
    /// zmm registers of text counter blocks its members use (at most `GZ`).
    zmm: usize,
    /// Per text register i < `zmm`: the member it belongs to (`members` index, the low 3 bits)
    /// and which of that member's registers it is (the bits above).
    src: [u8; GZ],
}

impl Group {
    const EMPTY: Group = Group {
        members: [0; 8],
        len: 0,
        zmm: 0,
        src: [0; GZ],
    };
}

/// The last length block seen and its product with H (reduced); lens = u128::MAX: none yet.
struct LenCache {
    lens: u128,
    lh: u128,
}

impl LenCache {
    /// The product with H of the length block of `al` octets of AAD and `tl` of text (reduced),
    /// computed only when the lengths differ from the last ones.
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn get(&mut self, al: usize, tl: usize, htab: &Htab) -> __m128i {
        let lens = ((al as u128 * 8) << 64) | (tl as u128 * 8);
        if lens != self.lens {
            self.lens = lens;
            self.lh = stq(gf_mul_x(ldq(&lens), ldq(&htab[NPOW - 1])));
        }
        ldq(&self.lh)
    }
}

/// Buffer register of AES state i: the text registers' keystream 0..zmm, then the J0 registers.
#[inline(always)]
fn group_slot(zmm: usize, i: usize) -> usize {
    if i < zmm {
        i
    } else {
        GZ + i - zmm
    }
}

/// AES of a group's N registers, all in flight together: the text registers' counter blocks made
/// from their frames' J0s (`Group::src`), then the J0 registers; the keystream and E_K(J0)s are
/// stored in the group's buffer (text registers from 0, the J0 registers after `GZ`).
#[inline]
#[target_feature(enable = "avx512f,vaes")]
fn aes_group_n<const N: usize>(rk: &[u128; 15], rounds: usize, gb: &mut GroupBuf, g: &Group) {
    let zmm = g.zmm;
    let k0 = _mm512_broadcast_i32x4(ldq(&rk[0]));
    let mut s = [_mm512_setzero_si512(); N];
    for (i, s) in s.iter_mut().enumerate() {
        *s = if i < zmm {
            let src = g.src[i] as usize;
            let (m, k) = (src & 7, src >> 3);
            let q = 16 * (m % 4);
            let j0 = _mm512_broadcast_i32x4(ld128((&gb.0[GZ + m / 4][q..q + 16]).try_into().unwrap()));
            _mm512_ternarylogic_epi64(j0, ld512(&CTR_LOW[k]), k0, 0x96)
        } else {
            _mm512_xor_si512(ld512(&gb.0[group_slot(zmm, i)]), k0)
        };
    }
    for k in &rk[1..rounds] {
        let k = _mm512_broadcast_i32x4(ldq(k));
        for s in s.iter_mut() {
            *s = _mm512_aesenc_epi128(*s, k);
        }
    }
    let kl = _mm512_broadcast_i32x4(ldq(&rk[rounds]));
    for (i, s) in s.iter().enumerate() {
        st512(&mut gb.0[group_slot(zmm, i)], _mm512_aesenclast_epi128(*s, kl));
    }
}

/// AES of a group's registers (counter blocks to keystream).
#[inline]
#[target_feature(enable = "avx512f,vaes")]
fn aes_group(rk: &[u128; 15], rounds: usize, g: &Group, gb: &mut GroupBuf) {
    let z = g.zmm;
    match z + g.len.div_ceil(4) {
        0 => {}
        1 => aes_group_n::<1>(rk, rounds, gb, g),
        2 => aes_group_n::<2>(rk, rounds, gb, g),
        3 => aes_group_n::<3>(rk, rounds, gb, g),
        4 => aes_group_n::<4>(rk, rounds, gb, g),
        5 => aes_group_n::<5>(rk, rounds, gb, g),
        6 => aes_group_n::<6>(rk, rounds, gb, g),
        7 => aes_group_n::<7>(rk, rounds, gb, g),
        8 => aes_group_n::<8>(rk, rounds, gb, g),
        9 => aes_group_n::<9>(rk, rounds, gb, g),
        _ => aes_group_n::<10>(rk, rounds, gb, g),
    }
}

/// The IV in the first 12 octets of an xmm register, the rest zero.
#[inline]
#[target_feature(enable = "sse4.1")]
fn ld_iv(iv: &[u8; 12]) -> __m128i {
    // Two scalar loads, not one masked load: the caller has just written the IV (a 12-octet
    // copy, in scalar stores), and a masked load is never forwarded from stores still in flight.
    let (lo, hi) = iv.split_at(8);
    let lo = u64::from_le_bytes(lo.try_into().unwrap());
    let hi = u32::from_le_bytes(hi.try_into().unwrap());
    _mm_insert_epi32::<2>(_mm_cvtsi64_si128(lo as i64), hi as i32)
}

/// Frames that [`tiny_x`] seals or opens together on the AES-NI and VAES-256 paths.
const TINY_X: usize = 2;

/// The first [`TINY_X`] frames of `frames` when there are that many and each has at most 64
/// octets of AAD and of text (MACsec frames of up to 108 octets on the wire with an SCI).
#[inline]
fn tiny_x_group<F: Frame>(frames: &mut [F]) -> Option<&mut [F]> {
    let group = frames.get_mut(..TINY_X)?;
    group
        .iter()
        .all(|f| f.aad().len() <= 64 && f.text().len() <= 64)
        .then_some(group)
}

/// Seals (SEAL) or opens [`TINY_X`] tiny frames ([`tiny_x_group`]) with their AES interleaved:
/// each frame's J0 and four counter blocks, all frames' blocks through the rounds together (one
/// frame alone keeps the AES unit busy for only five blocks a round, and waits on each round's
/// latency), then each frame's keystream and GHASH (one reduction a frame) straight-line, the
/// text in registers (whole blocks, the last one partial). For open, `ok[i]` says whether frame i
/// verified; for seal it is only written.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3,sse4.1")]
fn tiny_x<const SEAL: bool, F: Frame>(key: &MbGcmKey, frames: &mut [F], ok: &mut [bool]) {
    #[cfg(test)]
    TINY_BATCHES.with(|n| {
        let mut c = n.get();
        c[2] += 1;
        n.set(c)
    });
    let (rk, rounds, htab) = (&key.rk, key.rounds, &key.htab);
    let bs = bswap_mask_x();
    let k0 = ldq(&rk[0]);
    // Block 5i of frame i: its J0; block 5i + 1 + k: the counter block of its text block k
    // (J0 + 1 + k). One flat array, so that it stays in registers (an array of arrays, walked
    // with `flatten`, was kept in memory: 16% slower than `frame_x`).
    let mut s = [_mm_setzero_si128(); 5 * TINY_X];
    for (i, f) in frames.iter().enumerate().take(TINY_X) {
        let j0 = _mm_insert_epi32(ld_partial(&f.iv()[..]), 1 << 24, 3);
        let ctr = _mm_shuffle_epi8(j0, bs);
        s[5 * i] = _mm_xor_si128(j0, k0);
        for k in 0..4 {
            let c = _mm_add_epi32(ctr, _mm_set_epi32(0, 0, 0, k + 1));
            s[5 * i + 1 + k as usize] = _mm_xor_si128(_mm_shuffle_epi8(c, bs), k0);
        }
    }
    for k in &rk[1..rounds] {
        let k = ldq(k);
        for s in s.iter_mut() {
            *s = _mm_aesenc_si128(*s, k);
        }
    }
    let kl = ldq(&rk[rounds]);
    for s in s.iter_mut() {
        *s = _mm_aesenclast_si128(*s, kl);
    }
    for ((f, ok), ks) in frames.iter_mut().zip(ok.iter_mut()).zip(s.chunks_exact(5)) {
        let want = f.received();
        let (aad, text) = f.aad_text();
        let (al, tl) = (aad.len(), text.len());
        let (a, c) = (al.div_ceil(16), tl.div_ceil(16));
        // Block v of the frame (m = a + c + 1 blocks) is multiplied by H^(m - v) = h[v].
        let h = &htab[NPOW - (a + c + 1)..];
        let mut acc = acc_new_x(_mm_setzero_si128());
        seg_x(&mut acc, aad, h);
        for (k, part) in text.chunks_mut(16).enumerate() {
            let (input, out) = if let Ok(block) = <&mut [u8; 16]>::try_from(&mut *part) {
                let input = ld128(block);
                let out = _mm_xor_si128(input, ks[1 + k]);
                st128(block, out);
                (input, out)
            } else {
                // The last, partial block: zero past its end in both, written through a copy.
                let r = part.len();
                let input = ld_partial(part);
                let out = _mm_and_si128(_mm_xor_si128(input, ks[1 + k]), ld_partial(&[0xff; 16][..r]));
                let mut tmp = [0u8; 16];
                st128(&mut tmp, out);
                copy_short(part, &tmp[..r]);
                // Opening leaves plaintext in the copy: not left on the stack.
                wipe(&mut tmp);
                (input, out)
            };
            let c = if SEAL { out } else { input };
            mul_acc_x(&mut acc, _mm_shuffle_epi8(c, bs), ldq(&h[a + k]));
        }
        let lens = ((al as u128 * 8) << 64) | (tl as u128 * 8);
        last_x(&mut acc, lens, &htab[NPOW - 1]);
        let x = finish_x(acc);
        *ok = f.finish(_mm_xor_si128(_mm_shuffle_epi8(x, bs), ks[0]), want);
    }
}

/// E_K(block), one xmm block.
#[inline]
#[target_feature(enable = "aes,sse2")]
fn aes_block_x(rk: &[u128; 15], rounds: usize, b: __m128i) -> __m128i {
    let mut s = _mm_xor_si128(b, ldq(&rk[0]));
    for k in &rk[1..rounds] {
        s = _mm_aesenc_si128(s, ldq(k));
    }
    _mm_aesenclast_si128(s, ldq(&rk[rounds]))
}

/// The second half of a group whose keystream is ready: per frame, XOR the keystream, GHASH in
/// one window, the tag. (`batch_z` sets the group's `len` and `zmm` each time it hands it on.)
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,pclmulqdq,ssse3,bmi2")]
fn finish_group<const SEAL: bool, F: Frame>(
    key: &MbGcmKey,
    frames: &mut [F],
    ok: &mut [bool],
    g: &Group,
    gb: &GroupBuf,
    lc: &mut LenCache,
) {
    let htab = &key.htab;
    let bs = _mm512_broadcast_i32x4(bswap_mask_x());
    // The keystream registers, frame after frame.
    let mut ks = gb.0[..g.zmm].iter();
    for i in 0..g.len {
        let j = g.members[i] as usize;
        let want = frames[j].received();
        let (aad, text) = frames[j].aad_text();
        let (al, tl) = (aad.len(), text.len());
        let a = al.div_ceil(16);
        // Block v of the frame (m = a + c + 1 blocks) is multiplied by H^(m - v) = h[v].
        let h = &htab[NPOW - 1 - a - tl.div_ceil(16)..];
        let mut acc = acc_new_z(_mm_setzero_si128());
        if al <= 64 {
            let d = _mm512_shuffle_epi8(ld512_part(aad), bs);
            mul_add_z::<false>(&mut acc, d, ldh_z::<false>(h));
        } else {
            seg_z::<false>(&mut acc, aad, h);
        }
        let h = &h[a..];
        if tl <= 64 {
            // At most one register of text (frames of up to about 80 octets): straight-line.
            if tl != 0 {
                let (input, out) = xor_part_z(text, ld512(ks.next().unwrap()));
                let c = if SEAL { out } else { input };
                mul_add_z::<false>(&mut acc, _mm512_shuffle_epi8(c, bs), ldh_z::<false>(h));
            }
        } else {
            finish_text_z::<SEAL>(&mut acc, text, h, &mut ks, bs);
        }
        // The length block (the last block: times H), reduced on its own and added after the
        // reduction (reduction is linear, and a reduced value passes through it unchanged).
        let x = _mm_xor_si128(finish_z::<false>(acc), lc.get(al, tl, htab));
        let q = 16 * (i % 4);
        let ek = ld128((&gb.0[GZ + i / 4][q..q + 16]).try_into().unwrap());
        ok[j] = frames[j].finish(_mm_xor_si128(_mm_shuffle_epi8(x, bswap_mask_x()), ek), want);
    }
}

/// XORs the keystream register `ks` into `part` (at most 64 octets) in place; returns the input
/// and the output registers. Octets past the part's end are zero in both (a masked load), so
/// they add nothing to a GHASH of either.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,bmi2")]
fn xor_part_z(part: &mut [u8], ks: __m512i) -> (__m512i, __m512i) {
    if part.len() == 64 {
        let input = ld512(part);
        let out = _mm512_xor_si512(input, ks);
        st512(part, out);
        (input, out)
    } else {
        let input = ld512_part(part);
        let out = _mm512_maskz_mov_epi8(mask64(part.len()), _mm512_xor_si512(input, ks));
        st512_part(part, out);
        (input, out)
    }
}

/// `finish_group`'s text of more than one register: XOR of the keystream registers `ks`, and
/// the GHASH of the ciphertext times `h[0]`, `h[1]`, ... into `acc`. (Written inline in
/// `finish_group`, the loop made its one-register frames 1-3% slower.)
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,bmi2")]
fn finish_text_z<'g, const SEAL: bool>(
    acc: &mut AccZ,
    text: &mut [u8],
    h: &[u128],
    ks: &mut impl Iterator<Item = &'g [u8; 64]>,
    bs: __m512i,
) {
    for (k, part) in text.chunks_mut(64).enumerate() {
        let ks = ld512(ks.next().unwrap());
        let (input, ct) = xor_part_z(part, ks);
        let c = if SEAL { ct } else { input };
        mul_add_z::<false>(acc, _mm512_shuffle_epi8(c, bs), ldh_z::<false>(&h[4 * k..]));
    }
}

/// Lane l holds l + 1 in its low dword: added to J0 (as an integer) it gives the counters of
/// text blocks 0..3 (J0 + 1 .. J0 + 4, i.e. counter values 2..5).
#[inline]
#[target_feature(enable = "avx512f")]
fn lane_inc_z() -> __m512i {
    _mm512_set_epi32(0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1)
}

/// +4 in the low dword of every lane (32-bit adds: inc32 wraps without touching the IV).
#[inline]
#[target_feature(enable = "avx512f")]
fn four_z() -> __m512i {
    _mm512_set_epi32(0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4)
}

/// +4 in the last octet of every lane's block (counters kept as blocks, see `next_ctr_z`).
#[inline]
#[target_feature(enable = "avx512f")]
fn four_block_z() -> __m512i {
    let f = 4 << 24;
    _mm512_set_epi32(f, 0, 0, 0, f, 0, 0, 0, f, 0, 0, 0, f, 0, 0, 0)
}

/// The next four counter blocks of `frame_z`, `ctr` advanced by 4. `BLOCK`: `ctr` holds the blocks
/// themselves and a 32-bit add of 4 to the last octet advances them, right while no counter the
/// frame uses exceeds 255 (a text of at most `BLOCK_CTR_MAX` blocks: 4064 octets); otherwise
/// `ctr` holds them as integers (byte-reversed blocks, inc32 by a 32-bit add) and a shuffle makes
/// the blocks. The shuffle runs on the port the carry-less multiplies need (a zmm shuffle has
/// no other), so frames that can do without it do.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn next_ctr_z<const BLOCK: bool>(ctr: &mut __m512i, bs: __m512i) -> __m512i {
    if BLOCK {
        let b = *ctr;
        *ctr = _mm512_add_epi32(b, four_block_z());
        b
    } else {
        let b = _mm512_shuffle_epi8(*ctr, bs);
        *ctr = _mm512_add_epi32(*ctr, four_z());
        b
    }
}

/// Texts of up to this many blocks use block-form counters in `frame_z`: the counters they use
/// run from 2 (J0 + 1) to at most 255, so the last octet never carries. (The last step's lanes
/// past the text may wrap within their own dword; they are masked off and never used.)
const BLOCK_CTR_MAX: usize = 254;

/// One step of N zmm (4N blocks; `text` is 64(N-1)+1 ..= 64N octets, the last block possibly
/// partial): encrypts/decrypts `text` in place with the counters in `ctr` (advanced by 4N; in
/// the form `BLOCK` says, see `next_ctr_z`) and accumulates the ciphertext blocks times h[0],
/// h[1], ... into `acc`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,bmi2")]
fn text_step_z<const N: usize, const SEAL: bool, const BLOCK: bool>(
    rk: &[u128; 15],
    rounds: usize,
    ctr: &mut __m512i,
    text: &mut [u8],
    h: &[u128],
    acc: &mut AccZ,
) {
    let bs = _mm512_broadcast_i32x4(bswap_mask_x());
    let k0 = _mm512_broadcast_i32x4(ldq(&rk[0]));
    let mut s = [_mm512_setzero_si512(); N];
    for s in s.iter_mut() {
        *s = _mm512_xor_si512(next_ctr_z::<BLOCK>(ctr, bs), k0);
    }
    for k in &rk[1..rounds] {
        let k = _mm512_broadcast_i32x4(ldq(k));
        for s in s.iter_mut() {
            *s = _mm512_aesenc_epi128(*s, k);
        }
    }
    let kl = _mm512_broadcast_i32x4(ldq(&rk[rounds]));
    let len = text.len();
    for (i, s) in s.iter().enumerate() {
        let ks = _mm512_aesenclast_epi128(*s, kl);
        let part = &mut text[64 * i..len.min(64 * i + 64)];
        let (input, ct) = xor_part_z(part, ks);
        let c = if SEAL { ct } else { input };
        mul_acc_z::<true>(acc, _mm512_shuffle_epi8(c, bs), ldh_z::<true>(&h[4 * i..]));
    }
}

/// GHASH of `data` alone (zero-padded), starting from 0, in windows of `NPOW` blocks.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vpclmulqdq,bmi2")]
fn ghash_seq_z(htab: &Htab, data: &[u8]) -> __m128i {
    let mut x = _mm_setzero_si128();
    for win in data.chunks(16 * NPOW) {
        let mut acc = acc_new_z(x);
        seg_z::<true>(&mut acc, win, &htab[NPOW - win.len().div_ceil(16)..]);
        x = finish_z::<true>(acc);
    }
    x
}

/// GHASH update with one window of 32 blocks (byte-reversed, in `d`): (x ^ d[0]) * H^32 ^ ...
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq")]
fn ghash32_z(htab: &Htab, x: __m128i, d: &[__m512i; 8]) -> __m128i {
    // Block q of the window is multiplied by H^(32 - q) = htab[NPOW - 32 + q]. The products
    // are summed two registers at a time (three-way XORs: half the XORs of one at a time).
    let h = &htab[NPOW - 32..];
    let mut acc = acc_new_z(_mm_setzero_si128());
    for i in (0..8).step_by(2) {
        let d0 = if i == 0 {
            _mm512_xor_si512(d[0], _mm512_zextsi128_si512(x))
        } else {
            d[i]
        };
        let d1 = d[i + 1];
        let (h0, k0) = ldh_z::<true>(&h[4 * i..]);
        let (h1, k1) = ldh_z::<true>(&h[4 * i + 4..]);
        let lo0 = _mm512_clmulepi64_epi128(d0, h0, 0x00);
        let lo1 = _mm512_clmulepi64_epi128(d1, h1, 0x00);
        acc.lo = _mm512_ternarylogic_epi64(acc.lo, lo0, lo1, 0x96);
        let hi0 = _mm512_clmulepi64_epi128(d0, h0, 0x11);
        let hi1 = _mm512_clmulepi64_epi128(d1, h1, 0x11);
        acc.hi = _mm512_ternarylogic_epi64(acc.hi, hi0, hi1, 0x96);
        let dk0 = _mm512_xor_si512(d0, _mm512_shuffle_epi32(d0, 0x4e));
        let dk1 = _mm512_xor_si512(d1, _mm512_shuffle_epi32(d1, 0x4e));
        let mi0 = _mm512_clmulepi64_epi128(dk0, k0, 0x00);
        let mi1 = _mm512_clmulepi64_epi128(dk1, k1, 0x00);
        acc.mi = _mm512_ternarylogic_epi64(acc.mi, mi0, mi1, 0x96);
    }
    finish_z::<true>(acc)
}

/// Encrypts (SEAL) or decrypts one frame in place and returns GHASH(aad, ciphertext) as a
/// big-endian integer; the tag is that XOR E_K(J0).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,pclmulqdq,ssse3,bmi2")]
fn frame_z<const SEAL: bool, const BLOCK: bool>(
    rk: &[u128; 15],
    rounds: usize,
    htab: &Htab,
    iv: &[u8; 12],
    aad: &[u8],
    text: &mut [u8],
) -> u128 {
    let (alen, tlen) = (aad.len(), text.len());
    let a = alen.div_ceil(16);
    let c = tlen.div_ceil(16);
    let m = a + c + 1;
    let lens = ((alen as u128 * 8) << 64) | (tlen as u128 * 8);
    let mut j0 = [0u8; 16];
    j0[..12].copy_from_slice(iv);
    j0[15] = 1;
    let j0 = u128::from_be_bytes(j0);
    let mut ctr = _mm512_add_epi32(_mm512_broadcast_i32x4(ldq(&j0)), lane_inc_z());
    if BLOCK {
        debug_assert!(c <= BLOCK_CTR_MAX);
        ctr = _mm512_shuffle_epi8(ctr, _mm512_broadcast_i32x4(bswap_mask_x()));
    }
    let single = m <= NPOW;
    let mut b = 0; // next text block
    let mut acc = if single {
        let mut acc = acc_new_z(_mm_setzero_si128());
        // Block v of the frame is multiplied by H^(m - v) = htab[NPOW - m + v].
        seg_z::<true>(&mut acc, aad, &htab[NPOW - m..]);
        acc
    } else {
        let mut x = ghash_seq_z(htab, aad);
        // Bulk: 32 blocks (8 zmm, one GHASH window) per step while more than 32 remain, so
        // that the tail (1..=32 blocks) and the length block fit one window.
        let bs = _mm512_broadcast_i32x4(bswap_mask_x());
        let mut pend = [_mm512_setzero_si512(); 8];
        let mut pending = false;
        while c - b > 32 {
            let t = &mut text[16 * b..16 * b + 512];
            let k0 = _mm512_broadcast_i32x4(ldq(&rk[0]));
            let mut s = [_mm512_setzero_si512(); 8];
            for s in s.iter_mut() {
                *s = _mm512_xor_si512(next_ctr_z::<BLOCK>(&mut ctr, bs), k0);
            }
            for k in &rk[1..rounds] {
                let k = _mm512_broadcast_i32x4(ldq(k));
                for s in s.iter_mut() {
                    *s = _mm512_aesenc_epi128(*s, k);
                }
            }
            // Sealing hashes the ciphertext of the previous step here, independent of this
            // step's AES, so both run at once.
            if SEAL && pending {
                x = ghash32_z(htab, x, &pend);
            }
            let kl = _mm512_broadcast_i32x4(ldq(&rk[rounds]));
            let mut cts = [_mm512_setzero_si512(); 8];
            for (i, (s, ct)) in s.iter().zip(cts.iter_mut()).enumerate() {
                let input = ld512(&t[64 * i..]);
                let out = _mm512_xor_si512(input, _mm512_aesenclast_epi128(*s, kl));
                st512(&mut t[64 * i..], out);
                *ct = _mm512_shuffle_epi8(if SEAL { out } else { input }, bs);
            }
            if SEAL {
                pend = cts;
                pending = true;
            } else {
                x = ghash32_z(htab, x, &cts);
            }
            b += 32;
        }
        if SEAL && pending {
            x = ghash32_z(htab, x, &pend);
        }
        acc_new_z(x)
    };
    // The tail: the rest of the text (1..=32 blocks; none for an empty text) in one step of up
    // to 8 zmm, in the length block's window: one reduction, and all its AES in flight at once.
    let n = c - b;
    if n > 0 {
        // Power index of the tail's first block.
        let hidx = if single { NPOW - m + a + b } else { NPOW - n - 1 };
        let t = &mut text[16 * b..];
        let h = &htab[hidx..];
        match n.div_ceil(4) {
            1 => text_step_z::<1, SEAL, BLOCK>(rk, rounds, &mut ctr, t, h, &mut acc),
            2 => text_step_z::<2, SEAL, BLOCK>(rk, rounds, &mut ctr, t, h, &mut acc),
            3 => text_step_z::<3, SEAL, BLOCK>(rk, rounds, &mut ctr, t, h, &mut acc),
            4 => text_step_z::<4, SEAL, BLOCK>(rk, rounds, &mut ctr, t, h, &mut acc),
            5 => text_step_z::<5, SEAL, BLOCK>(rk, rounds, &mut ctr, t, h, &mut acc),
            6 => text_step_z::<6, SEAL, BLOCK>(rk, rounds, &mut ctr, t, h, &mut acc),
            7 => text_step_z::<7, SEAL, BLOCK>(rk, rounds, &mut ctr, t, h, &mut acc),
            _ => text_step_z::<8, SEAL, BLOCK>(rk, rounds, &mut ctr, t, h, &mut acc),
        }
    }
    last_z(&mut acc, lens, &htab[NPOW - 1]);
    stq(finish_z::<true>(acc))
}

// ------------------------------------------------------------------------------------------
// Fused CTR + GHASH per frame for the AesNi (xmm, one block per register) and Vaes256 (ymm, two
// blocks per register) paths. One macro, `frame_kernel!`, expands the same kernel over the two
// width modules `wx` and `wy`, which give the same small operations at their width.
//
// A frame's text is processed in steps of 8 registers (8 or 16 blocks): counters made in
// registers (kept as integers, i.e. byte-reversed blocks, so that a 32-bit add is inc32; one
// shuffle turns them into blocks), AES with all 8 in flight, XOR with the text. GHASH windows
// (as in the zmm kernel, at this step size): the whole frame in one window when it fits in
// `NPOW` blocks; otherwise the AAD in windows of its own, then one window per full step (hashed
// one step late when sealing, so that it runs beside the next step's AES), and a last window
// with the rest of the text and the length block. The last, partial step goes through a
// zero-padded copy on the stack. Consecutive frames are independent, so the out-of-order core
// overlaps them.

/// xmm operations (AES-NI + PCLMULQDQ path).
mod wx {
    use super::*;
    pub type V = __m128i;
    pub type Acc = AccX;
    /// Blocks per register.
    pub const W: usize = 1;
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn zero() -> V {
        _mm_setzero_si128()
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn bcast(x: __m128i) -> V {
        x
    }
    /// The first 16 octets of `b`.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn ld(b: &[u8]) -> V {
        ld128(b[..16].try_into().unwrap())
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn st(b: &mut [u8], v: V) {
        st128((&mut b[..16]).try_into().unwrap(), v)
    }
    /// The octets of `b` (fewer than 16) in a register, zero-padded.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn ld_partial(b: &[u8]) -> V {
        super::ld_partial(b)
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn xor(a: V, b: V) -> V {
        _mm_xor_si128(a, b)
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn add32(a: V, b: V) -> V {
        _mm_add_epi32(a, b)
    }
    #[inline]
    #[target_feature(enable = "ssse3")]
    pub fn bswap(a: V) -> V {
        _mm_shuffle_epi8(a, bswap_mask_x())
    }
    /// Lane l: l + 1 in its low dword.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn lane_inc() -> V {
        _mm_set_epi32(0, 0, 0, 1)
    }
    /// W in the low dword of every lane.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn step() -> V {
        _mm_set_epi32(0, 0, 0, 1)
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn rk(k: &u128) -> V {
        ldq(k)
    }
    #[inline]
    #[target_feature(enable = "aes")]
    pub fn enc(a: V, k: V) -> V {
        _mm_aesenc_si128(a, k)
    }
    #[inline]
    #[target_feature(enable = "aes")]
    pub fn enc_last(a: V, k: V) -> V {
        _mm_aesenclast_si128(a, k)
    }
    /// W powers from `h`.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn ldh(h: &[u128]) -> V {
        ldq(&h[0])
    }
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn acc_new(x: __m128i) -> Acc {
        acc_new_x(x)
    }
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub fn mul_acc(acc: &mut Acc, d: V, h: V) {
        mul_acc_x(acc, d, h)
    }
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub fn finish(acc: Acc) -> __m128i {
        finish_x(acc)
    }
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2,ssse3")]
    pub fn seg(acc: &mut Acc, data: &[u8], h: &[u128]) {
        seg_x(acc, data, h)
    }
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub fn last(acc: &mut Acc, lens: u128, h1: &u128) {
        last_x(acc, lens, h1)
    }
}

/// ymm operations (VAES + VPCLMULQDQ on AVX2).
mod wy {
    use super::*;
    pub type V = __m256i;
    pub type Acc = AccY;
    pub const W: usize = 2;
    #[inline]
    #[target_feature(enable = "avx")]
    pub fn zero() -> V {
        _mm256_setzero_si256()
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn bcast(x: __m128i) -> V {
        _mm256_broadcastsi128_si256(x)
    }
    #[inline]
    #[target_feature(enable = "avx")]
    pub fn ld(b: &[u8]) -> V {
        ld256(b)
    }
    #[inline]
    #[target_feature(enable = "avx")]
    pub fn st(b: &mut [u8], v: V) {
        st256(b, v)
    }
    /// The octets of `b` (fewer than 32) in a register, zero-padded.
    #[inline]
    #[target_feature(enable = "avx")]
    pub fn ld_partial(b: &[u8]) -> V {
        ld_partial_y(b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn xor(a: V, b: V) -> V {
        _mm256_xor_si256(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn add32(a: V, b: V) -> V {
        _mm256_add_epi32(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn bswap(a: V) -> V {
        _mm256_shuffle_epi8(a, _mm256_broadcastsi128_si256(bswap_mask_x()))
    }
    #[inline]
    #[target_feature(enable = "avx")]
    pub fn lane_inc() -> V {
        _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 1)
    }
    #[inline]
    #[target_feature(enable = "avx")]
    pub fn step() -> V {
        _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 2)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn rk(k: &u128) -> V {
        _mm256_broadcastsi128_si256(ldq(k))
    }
    #[inline]
    #[target_feature(enable = "avx,vaes")]
    pub fn enc(a: V, k: V) -> V {
        _mm256_aesenc_epi128(a, k)
    }
    #[inline]
    #[target_feature(enable = "avx,vaes")]
    pub fn enc_last(a: V, k: V) -> V {
        _mm256_aesenclast_epi128(a, k)
    }
    #[inline]
    #[target_feature(enable = "avx")]
    pub fn ldh(h: &[u128]) -> V {
        ld256q(h)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn acc_new(x: __m128i) -> Acc {
        acc_new_y(x)
    }
    #[inline]
    #[target_feature(enable = "avx2,vpclmulqdq")]
    pub fn mul_acc(acc: &mut Acc, d: V, h: V) {
        mul_acc_y(acc, d, h)
    }
    #[inline]
    #[target_feature(enable = "avx2,vpclmulqdq")]
    pub fn finish(acc: Acc) -> __m128i {
        finish_y(acc)
    }
    #[inline]
    #[target_feature(enable = "avx2,vpclmulqdq")]
    pub fn seg(acc: &mut Acc, data: &[u8], h: &[u128]) {
        seg_y(acc, data, h)
    }
    #[inline]
    #[target_feature(enable = "avx2,vpclmulqdq,pclmulqdq")]
    pub fn last(acc: &mut Acc, lens: u128, h1: &u128) {
        last_y(acc, lens, h1)
    }
}

/// Registers per step of the xmm/ymm frame kernels.
const R: usize = 8;

macro_rules! frame_kernel {
    ($name:ident, $tail:ident, $feat:literal, $w:ident) => {
        /// Encrypts (SEAL) or decrypts one frame in place; returns the tag it computes (block
        /// order): GHASH(aad, ciphertext) XOR E_K(J0).
        #[target_feature(enable = $feat)]
        fn $name<const SEAL: bool>(key: &MbGcmKey, iv: &[u8; 12], aad: &[u8], text: &mut [u8]) -> __m128i {
            use $w as w;
            const S: usize = R * w::W; // blocks per step
            let (rk, rounds, htab) = (&key.rk, key.rounds, &key.htab);
            let (alen, tlen) = (aad.len(), text.len());
            let a = alen.div_ceil(16);
            let c = tlen.div_ceil(16);
            let m = a + c + 1;
            let lens = ((alen as u128 * 8) << 64) | (tlen as u128 * 8);
            // IV || 00000001, put together in registers (see `ld_partial`).
            let j0 = _mm_insert_epi32(ld_partial(&iv[..]), 1 << 24, 3);
            let ekj0 = aes_block_x(rk, rounds, j0);
            // Counters as integers; lane l of the first register: text block l.
            let mut ctr = w::add32(
                w::bcast(_mm_shuffle_epi8(j0, bswap_mask_x())),
                w::lane_inc(),
            );
            let single = m <= NPOW;
            let mut b = 0; // next text block
            let mut acc = if single {
                let mut acc = w::acc_new(_mm_setzero_si128());
                w::seg(&mut acc, aad, &htab[NPOW - m..]);
                acc
            } else {
                let mut x = _mm_setzero_si128();
                for win in aad.chunks(16 * NPOW) {
                    let mut acc = w::acc_new(x);
                    w::seg(&mut acc, win, &htab[NPOW - win.len().div_ceil(16)..]);
                    x = w::finish(acc);
                }
                // Full steps while more than one step remains; one window each.
                let mut pend = [w::zero(); R];
                let mut pending = false;
                while c - b > S {
                    let t = &mut text[16 * b..16 * (b + S)];
                    let k0 = w::rk(&rk[0]);
                    let mut s = [w::zero(); R];
                    for s in s.iter_mut() {
                        *s = w::xor(w::bswap(ctr), k0);
                        ctr = w::add32(ctr, w::step());
                    }
                    for k in &rk[1..rounds] {
                        let k = w::rk(k);
                        for s in s.iter_mut() {
                            *s = w::enc(*s, k);
                        }
                    }
                    if SEAL && pending {
                        x = ghash_step(htab, x, &pend);
                    }
                    let kl = w::rk(&rk[rounds]);
                    let mut cts = [w::zero(); R];
                    for (i, (s, ct)) in s.iter().zip(cts.iter_mut()).enumerate() {
                        let o = 16 * w::W * i;
                        let input = w::ld(&t[o..]);
                        let out = w::xor(input, w::enc_last(*s, kl));
                        w::st(&mut t[o..], out);
                        *ct = w::bswap(if SEAL { out } else { input });
                    }
                    if SEAL {
                        pend = cts;
                        pending = true;
                    } else {
                        x = ghash_step(htab, x, &cts);
                    }
                    b += S;
                }
                if SEAL && pending {
                    x = ghash_step(htab, x, &pend);
                }
                w::acc_new(x)
            };
            // The rest (all of a single-window frame, or the last 1..=S blocks): whole steps in
            // place, the last partial one through a zero-padded copy; text block b' is multiplied
            // by htab[hix(b')]: NPOW - m + a + b' in a single window, else NPOW - 1 - (c - b')
            // (written so that no intermediate value goes below zero: NPOW - 1 - c alone would
            // for c >= NPOW).
            let hix = |b: usize| {
                if single {
                    NPOW - m + a + b
                } else {
                    NPOW - 1 - (c - b)
                }
            };
            while b < c {
                let n = (c - b).min(S);
                let t = &mut text[16 * b..tlen.min(16 * (b + n))];
                let tl = t.len();
                if tl == 16 * S {
                    // A whole step (a single-window frame's, or the last of a frame whose text
                    // ends on a whole step): no copy. Sealing
                    // hashes the ciphertext just stored a register at a time, so each load is
                    // forwarded from one store.
                    if !SEAL {
                        w::seg(&mut acc, t, &htab[hix(b)..]);
                    }
                    $tail::<R>(rk, rounds, &mut ctr, t);
                    if SEAL {
                        w::seg(&mut acc, t, &htab[hix(b)..]);
                    }
                    b += n;
                    continue;
                }
                let mut buf = [0u8; 16 * S];
                // Whole registers only: the tail reads `buf` a register at a time, and a load
                // is forwarded only from one store that holds all of it.
                let mut regs = t.chunks_exact(16 * w::W);
                for (i, r) in (&mut regs).enumerate() {
                    w::st(&mut buf[16 * w::W * i..], w::ld(r));
                }
                let rem = regs.remainder();
                if !rem.is_empty() {
                    w::st(&mut buf[tl - rem.len()..], w::ld_partial(rem));
                }
                if !SEAL {
                    w::seg(&mut acc, &buf[..tl], &htab[hix(b)..]);
                }
                // As many registers as the blocks need: no AES on counters whose keystream
                // would be thrown away.
                match n.div_ceil(w::W) {
                    1 => $tail::<1>(rk, rounds, &mut ctr, &mut buf),
                    2 => $tail::<2>(rk, rounds, &mut ctr, &mut buf),
                    3 => $tail::<3>(rk, rounds, &mut ctr, &mut buf),
                    4 => $tail::<4>(rk, rounds, &mut ctr, &mut buf),
                    5 => $tail::<5>(rk, rounds, &mut ctr, &mut buf),
                    6 => $tail::<6>(rk, rounds, &mut ctr, &mut buf),
                    7 => $tail::<7>(rk, rounds, &mut ctr, &mut buf),
                    _ => $tail::<8>(rk, rounds, &mut ctr, &mut buf),
                }
                copy_short(t, &buf[..tl]);
                if SEAL {
                    w::seg(&mut acc, &buf[..tl], &htab[hix(b)..]);
                }
                // Opening leaves plaintext in the copy: not left on the stack.
                wipe(&mut buf);
                b += n;
            }
            w::last(&mut acc, lens, &htab[NPOW - 1]);
            let x = w::finish(acc);
            return _mm_xor_si128(_mm_shuffle_epi8(x, bswap_mask_x()), ekj0);

            /// One full-step window: (x ^ d[0]) * H^S ^ d[1] * H^(S-W) ^ ...
            #[inline]
            #[target_feature(enable = $feat)]
            fn ghash_step(htab: &Htab, x: __m128i, d: &[w::V; R]) -> __m128i {
                let mut acc = w::acc_new(x);
                for (i, d) in d.iter().enumerate() {
                    w::mul_acc(&mut acc, *d, w::ldh(&htab[NPOW - S + w::W * i..]));
                }
                w::finish(acc)
            }
        }

        /// XORs the keystream of Q registers of counters (advancing `ctr`) into the first Q
        /// registers of `buf` (panics if shorter).
        #[inline]
        #[target_feature(enable = $feat)]
        fn $tail<const Q: usize>(rk: &[u128; 15], rounds: usize, ctr: &mut $w::V, buf: &mut [u8]) {
            use $w as w;
            let k0 = w::rk(&rk[0]);
            let mut s = [w::zero(); Q];
            for s in s.iter_mut() {
                *s = w::xor(w::bswap(*ctr), k0);
                *ctr = w::add32(*ctr, w::step());
            }
            for k in &rk[1..rounds] {
                let k = w::rk(k);
                for s in s.iter_mut() {
                    *s = w::enc(*s, k);
                }
            }
            let kl = w::rk(&rk[rounds]);
            for (i, s) in s.iter().enumerate() {
                let o = 16 * w::W * i;
                let v = w::xor(w::ld(&buf[o..]), w::enc_last(*s, kl));
                w::st(&mut buf[o..], v);
            }
        }
    };
}

frame_kernel!(frame_x, tail_x, "aes,pclmulqdq,sse2,ssse3,sse4.1", wx);
frame_kernel!(
    frame_y,
    tail_y,
    "aes,pclmulqdq,avx,avx2,vaes,vpclmulqdq,ssse3,sse4.1",
    wy
);

// ------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{open_jobs, seal_jobs};
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};

    fn paths() -> Vec<Path> {
        let p: Vec<Path> = Path::ALL.into_iter().filter(|p| p.is_supported()).collect();
        assert!(!p.is_empty(), "no supported path on this CPU");
        p
    }

    /// `ld_partial` and `ld_partial_y` give the octets zero-padded, for every length they take.
    #[test]
    fn partial_loads_pad_with_zeros() {
        let src: Vec<u8> = (1..=40u8).collect();
        for start in 0..8 {
            for len in 0..32 {
                let s = &src[start..start + len];
                let mut want = [0u8; 32];
                want[..len].copy_from_slice(s);
                if len < 16 {
                    assert_eq!(
                        stq(ld_partial(s)),
                        u128::from_le_bytes(want[..16].try_into().unwrap())
                    );
                }
                if Path::Vaes256.is_supported() {
                    let mut got = [0u8; 32];
                    // SAFETY: AVX is there (the Vaes256 path needs it).
                    unsafe { st256(&mut got, ld_partial_y(s)) };
                    assert_eq!(got, want, "{start}+{len}");
                }
            }
        }
    }

    /// `wipe` zeroes every octet, around the 8-octet words too, whatever the alignment.
    #[test]
    fn wipe_zeroes_all() {
        let mut a = [0xa5u8; 80];
        for start in 0..9 {
            for len in [0, 1, 7, 8, 9, 23, 64, 71] {
                a.fill(0xa5);
                wipe(&mut a[start..start + len]);
                assert!(a[start..start + len].iter().all(|&b| b == 0), "{start}+{len}");
                assert!(a[..start].iter().chain(&a[start + len..]).all(|&b| b == 0xa5));
            }
        }
    }

    /// xorshift64*.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn fill(&mut self, b: &mut [u8]) {
            for c in b.chunks_mut(8) {
                let r = self.next().to_le_bytes();
                c.copy_from_slice(&r[..c.len()]);
            }
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            let mut v = vec![0; n];
            self.fill(&mut v);
            v
        }
    }

    fn ring_key(key: &[u8]) -> LessSafeKey {
        let alg = if key.len() == 16 {
            &AES_128_GCM
        } else {
            &AES_256_GCM
        };
        LessSafeKey::new(UnboundKey::new(alg, key).unwrap())
    }

    fn ring_seal(k: &LessSafeKey, iv: &[u8; 12], aad: &[u8], text: &mut [u8]) -> [u8; 16] {
        let tag = k
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), text)
            .unwrap();
        tag.as_ref().try_into().unwrap()
    }

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 1-4 and 13-16.
    #[test]
    fn known_answers() {
        let p3 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                  1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
        let p4 = &p3[..120];
        let k3 = "feffe9928665731c6d6a8f9467308308";
        let k15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
        let iv3 = "cafebabefacedbaddecaf888";
        let a4 = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
        let z16 = "00000000000000000000000000000000";
        let z32 = "0000000000000000000000000000000000000000000000000000000000000000";
        let z12 = "000000000000000000000000";
        // (key, iv, aad, plaintext, ciphertext, tag)
        let cases: [(&str, &str, &str, &str, &str, &str); 8] = [
            (z16, z12, "", "", "", "58e2fccefa7e3061367f1d57a4e7455a"),
            (
                z16,
                z12,
                "",
                z16,
                "0388dace60b6a392f328c2b971b2fe78",
                "ab6e47d42cec13bdf53a67b21257bddf",
            ),
            (
                k3,
                iv3,
                "",
                p3,
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                 21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
                "4d5c2af327cd64a62cf35abd2ba6fab4",
            ),
            (
                k3,
                iv3,
                a4,
                p4,
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                 21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
                "5bc94fbc3221a5db94fae95ae7121a47",
            ),
            (z32, z12, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"),
            (
                z32,
                z12,
                "",
                z16,
                "cea7403d4d606b6e074ec5d3baf39d18",
                "d0d1c8a799996bf0265b98b5d48ab919",
            ),
            (
                k15,
                iv3,
                "",
                p3,
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                 8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
                "b094dac5d93471bdec1a502270e3cc6c",
            ),
            (
                k15,
                iv3,
                a4,
                p4,
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                 8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                "76fc6ece0f4e1768cddf8853bb2d551b",
            ),
        ];
        for path in paths() {
            for (n, (k, iv, a, p, c, t)) in cases.iter().enumerate() {
                let (k, iv, a, p, c, t) = (h(k), h(iv), h(a), h(p), h(c), h(t));
                let iv: [u8; 12] = iv.try_into().unwrap();
                let key = MbGcmKey::with_path(&k, path).unwrap();
                assert_eq!(key.path(), path);
                let mut text = p.clone();
                let mut tag = [0u8; 16];
                key.seal(&iv, &a, &mut text, &mut tag);
                assert_eq!(text, c, "{} case {n} ciphertext", path.name());
                assert_eq!(tag.to_vec(), t, "{} case {n} tag", path.name());
                // ring agrees (checks the transcription of the vectors too).
                let mut rt = p.clone();
                assert_eq!(ring_seal(&ring_key(&k), &iv, &a, &mut rt).to_vec(), t);
                assert!(
                    key.open(&iv, &a, &mut text, &tag),
                    "{} case {n} open",
                    path.name()
                );
                assert_eq!(text, p);
            }
        }
    }

    #[test]
    fn construction() {
        assert!(MbGcmKey::new(&[0; 15]).is_none());
        assert!(MbGcmKey::new(&[0; 24]).is_none());
        assert!(MbGcmKey::new(&[0; 0]).is_none());
        let k = MbGcmKey::new(&[7; 32]).unwrap();
        assert_eq!(Some(k.path()), Path::best());
        let d = format!("{k:?}");
        assert!(
            d.contains("MbGcmKey") && !d.contains("rk") && !d.contains("htab"),
            "{d}"
        );
        fn send_sync<T: Send + Sync>() {}
        send_sync::<MbGcmKey>();
        for p in paths() {
            assert!(!p.name().is_empty());
        }
    }

    /// A text length: weighted towards short frames and block boundaries.
    fn text_len(r: &mut Rng) -> usize {
        match r.below(10) {
            0..=3 => r.below(1601),
            4..=6 => (16 * r.below(101) + r.below(3)).saturating_sub(1),
            7..=8 => r.below(129),
            _ => r.below(9217),
        }
    }

    struct Case {
        key: Vec<u8>,
        iv: [u8; 12],
        aad: Vec<u8>,
        pt: Vec<u8>,
        ct: Vec<u8>,
        tag: [u8; 16],
    }

    /// Runs random batches on `path` until `cases` frames were checked; returns the count.
    fn random_batches(path: Path, cases: usize, seed: u64) -> usize {
        let mut r = Rng(seed | 1);
        let mut done = 0;
        while done < cases {
            let klen = if r.below(2) == 0 { 16 } else { 32 };
            let key = r.bytes(klen);
            let mut ours = MbGcmKey::with_path(&key, path).unwrap();
            // Small-frame groups of up to two text registers a frame (Zen 5's) or four (others').
            ours.core = [Core::Zen5, Core::Other][r.below(2)];
            let theirs = ring_key(&key);
            // Mostly 1..=64 jobs, sometimes more (several sub-batches), sometimes none.
            let n = match r.below(20) {
                0 => 65 + r.below(80),
                1 => 0,
                _ => 1 + r.below(64),
            };
            // Either all frames of one size (the common burst) or mixed; one batch in five of
            // tiny frames only (at most 64 octets of AAD and 64 or 128 of text: `batch_tiny_z`).
            let same = r.below(3) == 0;
            let tiny = r.below(5) == 0;
            // Texts of up to one zmm, or two (`tiny_regs`).
            let tiny_text = if r.below(2) == 0 { 65 } else { 129 };
            let lens = |r: &mut Rng| {
                if tiny {
                    (r.below(tiny_text), r.below(65))
                } else {
                    (text_len(r), r.below(97))
                }
            };
            let (l0, a0) = lens(&mut r);
            let mut cs: Vec<Case> = (0..n)
                .map(|_| {
                    let (tl, al) = if same { (l0, a0) } else { lens(&mut r) };
                    let mut iv = [0u8; 12];
                    r.fill(&mut iv);
                    if r.below(8) == 0 {
                        iv[8..].fill(0xff); // IV bytes next to the counter all ones
                    }
                    let aad = r.bytes(al);
                    let pt = r.bytes(tl);
                    let mut ct = pt.clone();
                    let tag = ring_seal(&theirs, &iv, &aad, &mut ct);
                    Case {
                        key: key.clone(),
                        iv,
                        aad,
                        pt,
                        ct,
                        tag,
                    }
                })
                .collect();
            // Seal, as a batch (or one by one).
            let mut texts: Vec<Vec<u8>> = cs.iter().map(|c| c.pt.clone()).collect();
            let mut tags = vec![[0u8; 16]; n];
            if r.below(10) == 0 {
                for (i, c) in cs.iter().enumerate() {
                    ours.seal(&c.iv, &c.aad, &mut texts[i], &mut tags[i]);
                }
            } else {
                let mut jobs = seal_jobs(&mut texts, &mut tags, |i| &cs[i].aad, |i| cs[i].iv);
                ours.seal_batch(&mut jobs);
            }
            for (i, c) in cs.iter().enumerate() {
                assert!(
                    texts[i] == c.ct && tags[i] == c.tag,
                    "{}: seal mismatch, job {i}/{n}, key {}, aad {}, text {}",
                    path.name(),
                    c.key.len(),
                    c.aad.len(),
                    c.pt.len()
                );
            }
            // Open ring's output, some of it tampered with.
            let mut expect = vec![true; n];
            let mut rtags: Vec<[u8; 16]> = cs.iter().map(|c| c.tag).collect();
            for (i, c) in cs.iter_mut().enumerate() {
                if r.below(4) == 0 {
                    match r.below(3) {
                        0 if !c.ct.is_empty() => {
                            let b = r.below(c.ct.len() * 8);
                            c.ct[b / 8] ^= 1 << (b % 8);
                        }
                        1 if !c.aad.is_empty() => {
                            let b = r.below(c.aad.len() * 8);
                            c.aad[b / 8] ^= 1 << (b % 8);
                        }
                        _ => {
                            let b = r.below(128);
                            rtags[i][b / 8] ^= 1 << (b % 8);
                        }
                    }
                    expect[i] = false;
                }
            }
            let mut texts: Vec<Vec<u8>> = cs.iter().map(|c| c.ct.clone()).collect();
            let mut ok = vec![false; n];
            if r.below(10) == 0 {
                for (i, c) in cs.iter().enumerate() {
                    ok[i] = ours.open(&c.iv, &c.aad, &mut texts[i], &rtags[i]);
                }
            } else {
                let mut jobs = open_jobs(&mut texts, &rtags, |i| &cs[i].aad, |i| cs[i].iv);
                ours.open_batch(&mut jobs, &mut ok);
            }
            for (i, c) in cs.iter().enumerate() {
                assert_eq!(
                    ok[i],
                    expect[i],
                    "{}: open verdict, job {i}/{n}, key {}, aad {}, text {}",
                    path.name(),
                    c.key.len(),
                    c.aad.len(),
                    c.pt.len()
                );
                if expect[i] {
                    assert!(texts[i] == c.pt, "{}: open plaintext, job {i}", path.name());
                }
            }
            done += n;
        }
        done
    }

    #[test]
    fn differential_vs_ring() {
        for (i, path) in paths().into_iter().enumerate() {
            let before = TINY_BATCHES.with(|n| n.get());
            random_batches(path, 20_000, 0x9e37_79b9_7f4a_7c15 + i as u64);
            let after = TINY_BATCHES.with(|n| n.get());
            let tiny: [u64; 3] = core::array::from_fn(|k| after[k] - before[k]);
            // The tiny-frame kernels: the Vaes512 path's for batches of tiny frames only, the
            // others' for every two tiny frames in a row.
            if path == Path::Vaes512 {
                assert!(
                    tiny[0] > 30 && tiny[1] > 30 && tiny[2] == 0,
                    "batch_tiny_z ran {tiny:?} times (one, two registers; tiny_x)"
                );
            } else {
                assert!(
                    tiny[..2] == [0, 0] && tiny[2] > 300,
                    "tiny_x ran {} times",
                    tiny[2]
                );
            }
        }
    }

    /// 10,000,000 frames across the paths (run with `--ignored`).
    #[test]
    #[ignore]
    fn differential_vs_ring_10m() {
        let ps = paths();
        let per = 10_000_000usize.div_ceil(ps.len());
        let mut total = 0;
        for (i, path) in ps.into_iter().enumerate() {
            let n = random_batches(path, per, 0x1234_5678_9abc_def1 ^ (i as u64) << 40);
            println!("{}: {n} frames", path.name());
            total += n;
        }
        println!("total: {total} frames checked against ring");
        assert!(total >= 10_000_000);
    }

    /// Octets of dead stack the stack tests paint and read: far past `SCRUB`.
    const STACK_SCAN: usize = 64 * 1024;

    /// Fills the `STACK_SCAN` octets of dead stack under the caller's frame with 0x5a.
    #[inline(never)]
    fn paint_stack() {
        // SAFETY: the stack under the stack pointer is free (no `nostack`: the compiler keeps
        // nothing in a red zone around this block); the test thread's stack is 2 MiB.
        unsafe {
            core::arch::asm!(
                "mov rdi, rsp", "sub rdi, rcx", "rep stosb",
                inout("rcx") STACK_SCAN => _, out("rdi") _, in("al") 0x5au8,
            )
        };
    }

    /// The `STACK_SCAN` octets of dead stack under the caller's frame, as they are (copied by
    /// `rep movsb`: Rust code reading dead stack would be undefined behaviour, an asm block is not).
    #[inline(never)]
    fn read_stack(out: &mut [u8]) {
        assert_eq!(out.len(), STACK_SCAN);
        // SAFETY: reads the dead stack under the stack pointer, writes the STACK_SCAN octets of `out`.
        unsafe {
            core::arch::asm!(
                "mov rsi, rsp", "sub rsi, rcx", "rep movsb",
                inout("rcx") STACK_SCAN => _, inout("rdi") out.as_mut_ptr() => _, out("rsi") _,
            )
        };
    }

    /// Puts `secrets` on the stack under the caller's frame, as a spill would.
    #[inline(never)]
    fn spill(secrets: &[u128]) {
        let mut copy = [0u128; 2 * HTAB + 15];
        copy[..secrets.len()].copy_from_slice(secrets);
        core::hint::black_box(&mut copy);
    }

    /// Which of `secrets` (16 octets each) are on the dead stack after `run`, which runs on
    /// painted stack: (index, depth in octets under this function's frame).
    fn left_on_stack(secrets: &[u128], run: impl FnOnce()) -> Vec<(usize, usize)> {
        let mut stack = vec![0u8; STACK_SCAN];
        paint_stack();
        run();
        read_stack(&mut stack);
        secrets
            .iter()
            .enumerate()
            .filter_map(|(i, x)| {
                let x = x.to_le_bytes();
                let at = stack.windows(16).position(|w| w == x)?;
                Some((i, STACK_SCAN - at))
            })
            .collect()
    }

    /// After a batch (sealing or opening, every path, small and large frames) neither a round key
    /// nor a power of H is left on the stack (the compiler spills both; `scrub` zeroes them).
    /// The scan is checked first on a planted copy. Release builds only: a debug build's kernels
    /// use several times the stack `SCRUB` covers.
    #[test]
    #[cfg_attr(debug_assertions, ignore = "release builds only (scripts/test.sh)")]
    fn batches_leave_no_key_material_on_the_stack() {
        for path in paths() {
            for key in [vec![0x11u8; 16], vec![0x22u8; 32]] {
                let k = MbGcmKey::with_path(&key, path).unwrap();
                let secrets: Vec<u128> = k.rk[..=k.rounds]
                    .iter()
                    .chain(&k.htab[..NPOW])
                    .chain(&k.htab[HTAB..HTAB + NPOW])
                    .copied()
                    .collect();
                let planted = left_on_stack(&secrets, || spill(&secrets));
                assert_eq!(planted.len(), secrets.len(), "the scan finds a planted copy");
                // 40 and 100: the tiny-frame kernel with one and two text registers.
                for size in [40, 100, 200, 1500] {
                    let mut texts: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; size]).collect();
                    let mut tags = vec![[0u8; 16]; 64];
                    let aad = [0x33u8; 28];
                    let iv = |i: usize| [i as u8; 12];
                    let mut jobs = seal_jobs(&mut texts, &mut tags, |_| &aad, iv);
                    let left = left_on_stack(&secrets, || k.seal_batch(&mut jobs));
                    assert_eq!(left, [], "{path:?} {} seal {size}: (secret, depth)", key.len());
                    drop(jobs);
                    let mut jobs = open_jobs(&mut texts, &tags, |_| &aad, iv);
                    let mut ok = [false; 64];
                    let left = left_on_stack(&secrets, || k.open_batch(&mut jobs, &mut ok));
                    assert_eq!(ok, [true; 64]);
                    assert_eq!(left, [], "{path:?} {} open {size}: (secret, depth)", key.len());
                }
            }
        }
    }

    /// Long AAD and text (lengths past 65535) and the counter's 32-bit wrap-around region.
    #[test]
    fn long_inputs() {
        let mut r = Rng(77);
        for path in paths() {
            for (al, tl) in [
                // Found by the gcm_batch fuzz target: more than one GHASH window (3 blocks of
                // AAD, 50 of text) computed an htab index through a negative intermediate (a
                // panic with overflow checks, right by wrap-around without).
                (45, 798),
                // The window boundaries of NPOW = 33: AAD + text = 32 blocks (the small-frame
                // path); text of 32 blocks (frame_z's largest tail) in a single window and, with
                // an AAD, in windows; 33 blocks (a bulk step and a tail of one block).
                (256, 256),
                (0, 512),
                (28, 512),
                (28, 513),
                // frame_z's counter forms (BLOCK_CTR_MAX = 254 blocks): 254 blocks (the last
                // counter 255) in block form, its unused tail lanes wrapping; then in integer
                // form 254 blocks and one octet (block 254, counter 256, is the first whose last
                // octet carries), 255 blocks, and 256 blocks without an AAD.
                (28, 16 * 254),
                (28, 16 * 254 + 1),
                (28, 16 * 255),
                (0, 16 * 256),
                (65535, 65535),
                (65536 + 17, 70001),
                (0, 65536 + 31),
                (70000, 0),
                (100, 300_000),
            ] {
                let key = r.bytes(32);
                let mut iv = [0u8; 12];
                r.fill(&mut iv);
                let aad = r.bytes(al);
                let pt = r.bytes(tl);
                let mut ct = pt.clone();
                let tag = ring_seal(&ring_key(&key), &iv, &aad, &mut ct);
                let k = MbGcmKey::with_path(&key, path).unwrap();
                let mut t = pt.clone();
                let mut g = [0u8; 16];
                k.seal(&iv, &aad, &mut t, &mut g);
                assert!(t == ct && g == tag, "{} {al} {tl}", path.name());
                assert!(k.open(&iv, &aad, &mut t, &tag));
                assert!(t == pt);
            }
        }
    }

    /// Cycles (TSC) per frame of a seal (and open) of 64 frames, each path; the other backends'
    /// single-frame seal and open; ring's single-frame seal: the minimum over many short trials
    /// (the machine is shared).
    /// `cargo test --release -p macsec mbgcm::tests::measure -- --ignored --nocapture`
    /// (`MBGCM_SIZE=n` / `MBGCM_PATH=name` restrict the run, e.g. for profiling; `MBGCM_BITS=256`
    /// for AES-256).
    #[test]
    #[ignore]
    fn measure() {
        fn tsc() -> u64 {
            // SAFETY: RDTSC is available on every x86_64 CPU and has no memory effects.
            unsafe { _rdtsc() }
        }
        /// Minimum TSC ticks of `reps` calls of `f`, over `trials` trials.
        fn best(trials: usize, reps: usize, mut f: impl FnMut()) -> u64 {
            (0..trials)
                .map(|_| {
                    let t0 = tsc();
                    for _ in 0..reps {
                        f();
                    }
                    tsc() - t0
                })
                .min()
                .unwrap()
        }
        const FRAMES: usize = 64;
        const TRIALS: usize = 300;
        let bits: usize = match std::env::var("MBGCM_BITS").as_deref() {
            Ok("256") => 256,
            _ => 128,
        };
        let key = vec![0x42u8; bits / 8];
        let aad = [0x5au8; 28];
        let iv = [0x11u8; 12];
        let only_size: Option<usize> = std::env::var("MBGCM_SIZE").ok().and_then(|s| s.parse().ok());
        let only_path = std::env::var("MBGCM_PATH").ok();
        let only_imb = std::env::var("MBGCM_IMB").ok();
        println!("TSC cycles per frame, batches of {FRAMES} frames, AAD 28, text = size - 12, AES-{bits}");
        println!(
            "{:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8}",
            "size", "path", "seal", "open", "c/B", "ring seal", "c/B", "ring/our", "TSC/clk"
        );
        // MBGCM_SIZE: that size alone (at least 12), else these.
        let sizes = match only_size {
            Some(s) => vec![s.max(12)],
            None => vec![64usize, 76, 512, 1500, 9000],
        };
        for size in sizes {
            let tl = size - 12;
            // About 150 KB per trial.
            let reps = (150_000 / (FRAMES * size)).max(1);
            let mut texts = vec![vec![0u8; tl]; FRAMES];
            let mut tags = [[0u8; 16]; FRAMES];
            let rk = ring_key(&key);
            let ring = best(TRIALS, reps, || {
                for t in texts.iter_mut() {
                    core::hint::black_box(ring_seal(&rk, &iv, &aad, t));
                }
            });
            let ring_pf = ring as f64 / (reps * FRAMES) as f64;
            // A key of another backend, a frame at a time.
            let mut single = |name: &str, bk: &dyn crate::crypto::AeadKey| {
                let t = best(TRIALS, reps, || {
                    for (t, g) in texts.iter_mut().zip(tags.iter_mut()) {
                        bk.seal(&iv, &aad, t, g).unwrap();
                    }
                });
                // Opens the frames just sealed; from the second trial on their tags fail. Ours
                // does the same work either way, intel-ipsec-mb also zeroes a failed frame's text,
                // so its open figures here are high (`measure_frames` opens verified frames).
                let t_open = best(TRIALS, reps, || {
                    for (t, g) in texts.iter_mut().zip(tags.iter()) {
                        let _ = core::hint::black_box(bk.open(&iv, &aad, t, g));
                    }
                });
                let pf = t as f64 / (reps * FRAMES) as f64;
                let open_pf = t_open as f64 / (reps * FRAMES) as f64;
                println!(
                    "{size:>6} {name:>8} {pf:>8.1} {open_pf:>8.1} {:>8.3}",
                    pf / size as f64
                );
            };
            // The project's other backends, e.g. intel-ipsec-mb.
            for b in crate::crypto::Backend::all() {
                if *b == crate::crypto::Backend::Ring || !b.is_available() || only_path.is_some() {
                    continue;
                }
                single(b.name(), &*b.new_key(&key).unwrap());
            }
            // intel-ipsec-mb's code sets this CPU has, each alone (MBGCM_IMB=avx2,sse: those):
            // what it runs on CPUs with fewer features (AVX2 on AMD Zen 2 and Zen 3).
            #[cfg(feature = "ipsec-mb")]
            for arch in crate::crypto::ImbArch::ALL {
                let wanted = match &only_imb {
                    Some(list) => list.split(',').any(|a| a == arch.name()),
                    None => only_path.is_none(),
                };
                if let (true, Ok(k)) = (wanted, crate::crypto::IpsecMbKey::with_arch(&key, arch)) {
                    single(&format!("imb-{}", arch.name()), &k);
                }
            }
            for path in paths() {
                if only_path.as_deref().is_some_and(|p| p != path.name()) {
                    continue;
                }
                let k = MbGcmKey::with_path(&key, path).unwrap();
                let (seal, ratio) = {
                    let mut jobs = seal_jobs(&mut texts, &mut tags, |_| &aad, |_| iv);
                    let seal = best(TRIALS, reps, || k.seal_batch(core::hint::black_box(&mut jobs)));
                    // TSC ticks per core cycle right after this path's code (AVX-512 may lower
                    // the clock): a dependent dec/jnz loop runs one iteration per core cycle.
                    let ratio = (0..50)
                        .map(|_| {
                            k.seal_batch(core::hint::black_box(&mut jobs));
                            let n = 10_000u64;
                            let t0 = tsc();
                            // SAFETY: a register-only countdown loop: no memory, no stack.
                            unsafe {
                                core::arch::asm!("2:", "dec {0}", "jnz 2b", inout(reg) n => _, options(nomem, nostack))
                            };
                            (tsc() - t0) as f64 / n as f64
                        })
                        .fold(f64::MAX, f64::min);
                    (seal, ratio)
                };
                let mut ok = [false; FRAMES];
                let open = {
                    let mut jobs = open_jobs(&mut texts, &tags, |_| &aad, |_| iv);
                    best(TRIALS, reps, || {
                        k.open_batch(core::hint::black_box(&mut jobs), &mut ok)
                    })
                };
                let seal_pf = seal as f64 / (reps * FRAMES) as f64;
                let open_pf = open as f64 / (reps * FRAMES) as f64;
                println!(
                    "{size:>6} {:>8} {seal_pf:>8.1} {open_pf:>8.1} {:>8.3} {ring_pf:>9.1} {:>8.3} {:>8.2} {ratio:>8.2}",
                    path.name(),
                    seal_pf / size as f64,
                    ring_pf / size as f64,
                    ring_pf / seal_pf
                );
            }
        }
    }
}

/// Timing in the dataplane's memory layout (run with `--ignored --nocapture`).
#[cfg(all(test, feature = "ipsec-mb"))]
mod measure_frames {
    use super::*;
    use crate::crypto::{AeadKey, ImbArch, IpsecMbKey, OpenJob, SealJob};

    fn tsc() -> u64 {
        // SAFETY: RDTSC is available on every x86_64 CPU and has no memory effects.
        unsafe { _rdtsc() }
    }

    /// TSC ticks per nanosecond, from 200 ms of wall clock.
    fn tsc_ghz() -> f64 {
        let t = std::time::Instant::now();
        let a = tsc();
        std::thread::sleep(std::time::Duration::from_millis(200));
        (tsc() - a) as f64 / t.elapsed().as_nanos() as f64
    }

    /// Like `tests::measure`, but every frame in a buffer of its own with its 28-octet AAD just
    /// before its text and its ICV just after it (as in a frame: see `Frame::received`), the text `MBGCM_OFF` octets in (default 140: where protect leaves it
    /// in an mbuf, whose 128 octets of headroom the addresses and the SecTAG moved 16 octets
    /// into); and intel-ipsec-mb called directly, without a trait object. Ours on the path
    /// `MBGCM_PATH` (default: the best here) against intel-ipsec-mb's code set `MBGCM_IMB`
    /// (default avx2: what it runs on a CPU without AVX-512), frames of `MBGCM_SIZE` octets
    /// (default 64; text = size - 12), AES-128 (`MBGCM_KEY_BITS=256`: AES-256; the floors
    /// printed stay AES-128's), batches of 64, each opened right after it was
    /// sealed so that every tag verifies: TSC ticks a frame, the minimum of 300 trials of 10
    /// batches. `MBGCM_MOD=m` puts every text at an address of m modulo 64; `MBGCM_BUFS=n`
    /// spreads the batches over n buffers (to time frames out of the caches). It also prints the
    /// two floors of `floor` for the frame on the path, and each time over them.
    #[test]
    #[ignore]
    fn measure_frames() {
        let env = |k: &str| std::env::var(k).ok();
        let off: usize = env("MBGCM_OFF")
            .and_then(|s| s.parse().ok())
            .unwrap_or(140)
            .max(28);
        let size: usize = env("MBGCM_SIZE")
            .and_then(|s| s.parse().ok())
            .unwrap_or(64)
            .max(12);
        let tl = size - 12;
        let path = env("MBGCM_PATH")
            .and_then(|n| Path::from_name(&n))
            .or_else(Path::best)
            .unwrap();
        let arch = ImbArch::ALL
            .into_iter()
            .find(|a| env("MBGCM_IMB").as_deref() == Some(a.name()))
            .unwrap_or(ImbArch::Avx2);
        // MBGCM_KEY_BITS=256: AES-256 (default AES-128).
        let key = vec![
            0x42u8;
            if env("MBGCM_KEY_BITS").as_deref() == Some("256") {
                32
            } else {
                16
            }
        ];
        let (Some(k), Ok(imb)) = (MbGcmKey::with_path(&key, path), IpsecMbKey::with_arch(&key, arch)) else {
            println!(
                "{} or intel-ipsec-mb's {} code is not available here",
                path.name(),
                arch.name()
            );
            return;
        };
        // MBGCM_MOD: the text's address modulo 64 (default: wherever the allocation puts it).
        let modulo: Option<usize> = env("MBGCM_MOD")
            .and_then(|s| s.parse().ok())
            .map(|m: usize| m % 64);
        // MBGCM_BUFS=n: n buffers (a multiple of 64, default 64), each batch the next 64 of
        // them, so that a batch's frames are as far out of the caches as n frames make them.
        let nbufs = env("MBGCM_BUFS")
            .and_then(|s| s.parse().ok())
            .unwrap_or(64usize)
            .max(64)
            / 64
            * 64;
        let mut store: Vec<Vec<u8>> = (0..nbufs).map(|_| vec![0u8; off + tl + 128]).collect();
        let mut bufs: Vec<&mut [u8]> = store
            .iter_mut()
            .map(|v| {
                let skip = modulo.map_or(0, |m| (m + 64 - (v.as_ptr() as usize + off) % 64) % 64);
                &mut v[skip..]
            })
            .collect();
        let mut next = 0;
        // best[0..2]: ours seal, open; best[2..4]: intel-ipsec-mb's. Each batch is opened right
        // after it was sealed, so every tag verifies (asserted): intel-ipsec-mb wipes the text of
        // a frame that fails, which would charge it work that a verified frame does not cost.
        let mut best = [u64::MAX; 4];
        let iv = [3u8; 12];
        for _ in 0..300 {
            for theirs in [false, true] {
                let (mut t_seal, mut t_open) = (0, 0);
                for _ in 0..10 {
                    let at = next;
                    next = (next + 64) % nbufs;
                    // The ICV right after the text, as in a frame.
                    let mut parts: Vec<(&[u8], &mut [u8], &mut [u8; 16])> = bufs[at..at + 64]
                        .iter_mut()
                        .map(|b| {
                            let (aad, rest) = b[off - 28..off + tl + 16].split_at_mut(28);
                            let (text, tag) = rest.split_at_mut(tl);
                            (&*aad, text, tag.try_into().unwrap())
                        })
                        .collect();
                    let t0 = tsc();
                    if theirs {
                        for (aad, text, tag) in parts.iter_mut() {
                            imb.seal(&iv, aad, text, tag).unwrap();
                        }
                    } else {
                        let mut jobs: Vec<SealJob> = parts
                            .iter_mut()
                            .map(|(aad, text, tag)| SealJob { iv, aad, text, tag })
                            .collect();
                        k.seal_batch(&mut jobs);
                    }
                    let t1 = tsc();
                    let mut ok = [false; 64];
                    if theirs {
                        for ((aad, text, tag), ok) in parts.iter_mut().zip(ok.iter_mut()) {
                            *ok = imb.open(&iv, aad, text, tag).is_ok();
                        }
                    } else {
                        let mut jobs: Vec<OpenJob> = parts
                            .iter_mut()
                            .map(|(aad, text, tag)| OpenJob { iv, aad, text, tag })
                            .collect();
                        k.open_batch(&mut jobs, &mut ok);
                    }
                    let t2 = tsc();
                    assert!(ok.iter().all(|&o| o), "a tag failed to verify");
                    t_seal += t1 - t0;
                    t_open += t2 - t1;
                }
                let b = if theirs { 2 } else { 0 };
                best[b] = best[b].min(t_seal);
                best[b + 1] = best[b + 1].min(t_open);
            }
        }
        let f = |t: u64| t as f64 / 640.0;
        println!(
            "size {size} offset {off}{}{}{}: {} seal {:.1} open {:.1}; intel-ipsec-mb {} seal {:.1} open {:.1}",
            if key.len() == 32 { " AES-256" } else { "" },
            modulo.map_or(String::new(), |m| format!(" mod {m}")),
            if nbufs > 64 {
                format!(" buffers {nbufs}")
            } else {
                String::new()
            },
            path.name(),
            f(best[0]),
            f(best[1]),
            arch.name(),
            f(best[2]),
            f(best[3])
        );
        // The floors under any AES-128-GCM of this frame on this core (see `floor`).
        let blocks = tl.div_ceil(16) + 1;
        let ghz = tsc_ghz();
        for ghash in [false, true] {
            let fl = floor::ns_per_block(path, 10, ghash).unwrap() * blocks as f64 * ghz;
            println!(
                "  floor, {blocks} blocks of AES{}: {fl:.1} ticks (TSC {ghz:.2} GHz); \
                 seal / floor: ours {:.2}, intel-ipsec-mb {:.2}; open / floor: ours {:.2}, intel-ipsec-mb {:.2}",
                if ghash { " and GHASH's multiplies" } else { " rounds alone" },
                f(best[0]) / fl,
                f(best[2]) / fl,
                f(best[1]) / fl,
                f(best[3]) / fl
            );
        }
    }
}
