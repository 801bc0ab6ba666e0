//! The engine's randomness (MIs, SAKs), injected as quinn-proto's `rng_seed` does: by default the
//! operating system's CSPRNG; with a seed ([`MkaConfig::rng_seed`](crate::kay::MkaConfig)), a
//! deterministic AES-256-CTR keystream, so a test or a fuzz run can be replayed octet for octet.
//! The engine never reads the OS RNG itself when it is given a seed.

use crate::kdf::KeyError;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes256;
use core::fmt;
use zeroize::Zeroizing;

/// A 256-bit seed for a deterministic engine (tests, fuzzing, replaying a run). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RngSeed(Zeroizing<[u8; 32]>);

impl RngSeed {
    pub fn new(seed: [u8; 32]) -> RngSeed {
        RngSeed(Zeroizing::new(seed))
    }
    /// A seed from a small number (tests: `RngSeed::from_u64(1)`).
    pub fn from_u64(n: u64) -> RngSeed {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&n.to_be_bytes());
        RngSeed::new(s)
    }
}

impl fmt::Debug for RngSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RngSeed(..)")
    }
}

/// Where the engine's random octets come from.
pub enum Rng {
    /// The operating system's CSPRNG (ring's `SystemRandom`).
    Os(ring::rand::SystemRandom),
    /// AES-256 in counter mode keyed with the seed: deterministic, still unpredictable without it.
    Seeded { aes: Box<Aes256>, counter: u128 },
}

impl Rng {
    pub fn os() -> Rng {
        Rng::Os(ring::rand::SystemRandom::new())
    }

    pub fn seeded(seed: &RngSeed) -> Rng {
        Rng::Seeded {
            aes: Box::new(Aes256::new(&(*seed.0).into())),
            counter: 0,
        }
    }

    /// The engine's source: seeded when a seed is given, else the OS.
    pub fn from_seed(seed: Option<&RngSeed>) -> Rng {
        seed.map_or_else(Rng::os, Rng::seeded)
    }

    /// Fills `buf` with random octets.
    pub fn fill(&mut self, buf: &mut [u8]) -> Result<(), KeyError> {
        match self {
            Rng::Os(r) => ring::rand::SecureRandom::fill(r, buf).map_err(|_| KeyError::Rng),
            Rng::Seeded { aes, counter } => {
                for chunk in buf.chunks_mut(16) {
                    let mut block = Zeroizing::new(counter.to_be_bytes().into());
                    aes.encrypt_block(&mut block);
                    chunk.copy_from_slice(&block[..chunk.len()]);
                    *counter = counter.wrapping_add(1);
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Rng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rng::Os(_) => "Rng::Os",
            Rng::Seeded { .. } => "Rng::Seeded",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_octets_and_another_seed_others() {
        let (mut a, mut b, mut c) = (
            Rng::seeded(&RngSeed::from_u64(7)),
            Rng::seeded(&RngSeed::from_u64(7)),
            Rng::seeded(&RngSeed::from_u64(8)),
        );
        let (mut x, mut y, mut z) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        // AES-256(key = seed, block = counter 0) is the first block: a known answer.
        let key = RngSeed::from_u64(7);
        let mut block = [0u8; 16].into();
        Aes256::new(&(*key.0).into()).encrypt_block(&mut block);
        assert_eq!(&x[..16], &block[..]);
        // The stream goes on: the next call does not repeat the first octets.
        let mut w = [0u8; 40];
        a.fill(&mut w).unwrap();
        assert_ne!(w, x);
    }

    #[test]
    fn the_os_source_is_not_constant() {
        let mut r = Rng::os();
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        r.fill(&mut x).unwrap();
        r.fill(&mut y).unwrap();
        assert_ne!(x, y);
    }

    #[test]
    fn a_seed_is_never_printed() {
        assert_eq!(format!("{:?}", RngSeed::from_u64(7)), "RngSeed(..)");
    }
}
