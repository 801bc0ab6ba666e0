//! The floor under any AES-GCM on this core: how fast its AES unit runs the rounds at all. The
//! kernels' and intel-ipsec-mb's times are read against it (`measure_frames`, and
//! `scripts/bench-dataplane.sh` through the `aes-floor` binary of `macsec-benches`).
//!
//! [`ns_per_block`] runs AES rounds on eight independent registers of blocks, so that no round
//! waits for the one before it, at one [`Path`]'s register width, and gives the time per 16-octet
//! block. Every AES-GCM spends at least that on each block it encrypts (a frame's text and
//! E_K(J0)): that is the floor. With `ghash`, four carry-less multiplies per register (GHASH's
//! schoolbook product: low, high and two middle halves; a Karatsuba product needs three), each
//! XORed into an accumulator of its own, run beside the rounds: a reference for what GHASH's
//! multiplies add when they share the core with the rounds, not a bound. A real GCM also does
//! loads, stores, shuffles, the reductions and its set-up per frame.

use super::Path;
use core::arch::x86_64::*;
use std::time::Instant;

/// Nanoseconds per 16-octet block of `rounds` AES rounds (10 for AES-128, 14 for AES-256) on
/// `path`'s registers at the AES unit's throughput, with (`ghash`) or without four carry-less
/// multiplies per register beside them (as many as `rounds` if it is under four): the best of 50
/// trials of about 0.1 ms. `None` when this CPU does not have the path, or `rounds` is not 1..=14.
pub fn ns_per_block(path: Path, rounds: usize, ghash: bool) -> Option<f64> {
    const ITERS: usize = 4096;
    if !path.is_supported() || !(1..=14).contains(&rounds) {
        return None;
    }
    let lanes = match path {
        Path::AesNi => 1,
        Path::Vaes256 => 2,
        Path::Vaes512 => 4,
    };
    let muls = if ghash { 4.min(rounds) } else { 0 };
    let mut best = f64::MAX;
    for _ in 0..50 {
        let t = Instant::now();
        // SAFETY: this CPU has the path's features (checked above with `is_supported`, which
        // covers each loop's target features).
        let x = unsafe {
            match path {
                Path::AesNi => rounds_x(rounds, muls, ITERS),
                Path::Vaes256 => rounds_y(rounds, muls, ITERS),
                Path::Vaes512 => rounds_z(rounds, muls, ITERS),
            }
        };
        std::hint::black_box(x);
        best = best.min(t.elapsed().as_nanos() as f64);
    }
    Some(best / (ITERS * 8 * lanes) as f64)
}

/// The loop of [`ns_per_block`] at one register width: `iters` times `rounds` AES rounds on
/// eight registers, and in the first `muls` rounds a carry-less multiply of each register,
/// XORed into an accumulator of its own. Returns a fold of every register (for `black_box`).
macro_rules! rounds_fn {
    ($name:ident, $feat:literal, $zero:ident, $set:ident, $xor:ident, $aes:ident, $mul:ident,
     $low:expr) => {
        #[target_feature(enable = $feat)]
        fn $name(rounds: usize, muls: usize, iters: usize) -> i64 {
            let k = std::hint::black_box($set(0x0123_4567_89ab_cdef));
            let mut s = [$zero(); 8];
            let mut m = [$zero(); 8];
            for (i, x) in s.iter_mut().enumerate() {
                *x = $set(i as i64);
            }
            for _ in 0..iters {
                for r in 0..rounds {
                    for (x, y) in s.iter_mut().zip(m.iter_mut()) {
                        *x = $aes(*x, k);
                        if r < muls {
                            *y = $xor(*y, $mul(*x, k, 0x01));
                        }
                    }
                }
            }
            let a = s.iter().chain(&m).fold($zero(), |a, x| $xor(a, *x));
            _mm_cvtsi128_si64($low(a))
        }
    };
}

rounds_fn!(
    rounds_x,
    "sse2,aes,pclmulqdq",
    _mm_setzero_si128,
    _mm_set1_epi64x,
    _mm_xor_si128,
    _mm_aesenc_si128,
    _mm_clmulepi64_si128,
    |a| a
);
rounds_fn!(
    rounds_y,
    "avx2,vaes,vpclmulqdq",
    _mm256_setzero_si256,
    _mm256_set1_epi64x,
    _mm256_xor_si256,
    _mm256_aesenc_epi128,
    _mm256_clmulepi64_epi128,
    _mm256_castsi256_si128
);
rounds_fn!(
    rounds_z,
    "avx512f,vaes,vpclmulqdq",
    _mm512_setzero_si512,
    _mm512_set1_epi64,
    _mm512_xor_si512,
    _mm512_aesenc_epi128,
    _mm512_clmulepi64_epi128,
    _mm512_castsi512_si128
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_here_measures_and_bad_rounds_are_refused() {
        for path in Path::ALL.into_iter().filter(|p| p.is_supported()) {
            for ghash in [false, true] {
                let ns = ns_per_block(path, 10, ghash).unwrap();
                assert!(ns.is_finite() && ns > 0.0, "{} {ghash}: {ns}", path.name());
            }
            assert_eq!(ns_per_block(path, 0, false), None);
            assert_eq!(ns_per_block(path, 15, true), None);
        }
    }
}
