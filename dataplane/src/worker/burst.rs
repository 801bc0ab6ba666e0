//! How many frames an intake asks its port for: a burst's worth of work kept under a latency
//! budget while the link keeps up, every frame the port has (a full [`BURST`]) once it falls
//! behind.
//!
//! A frame's added latency is the time from the rx burst that brought it to the tx burst that
//! sends it: the work on its whole burst. 64 frames of 1500 octets take some 10-20 us to seal on
//! one core, 64 of 64 octets 5-10 us, so a backlog (the core was interrupted, a peak) received in
//! one burst would cost its frames that much. While the port hands over fewer frames than asked
//! (the link keeps up), a burst is capped at about 2-3 us of work: [`BUDGET_OCTETS`] over the
//! frames' mean length plus [`FRAME_COST_OCTETS`] each (at least [`MIN_FRAMES`]); after
//! [`FULL_AFTER`] capped bursts in a row that came back full (the link is saturated: bigger
//! bursts spread the per-burst cost over more frames) it asks for [`BURST`] again, until a burst
//! comes back short.

use super::{Frames, BURST};

/// A capped burst's work, in octets of cipher work: about 2-3 us on one core.
pub const BUDGET_OCTETS: usize = 12 * 1024;
/// A frame's fixed cost (parse, SA, counters, mbuf, ports) in octets of cipher work: some 80 ns.
pub const FRAME_COST_OCTETS: usize = 384;
/// Fewest frames a capped burst asks for (jumbo frames).
pub const MIN_FRAMES: usize = 4;
/// Full capped bursts in a row after which the intake asks for whole bursts.
pub const FULL_AFTER: u8 = 8;

#[derive(Debug, Clone, Copy)]
pub struct BurstSize {
    /// Mean frame length of the last non-empty burst.
    avg_len: usize,
    /// Capped bursts in a row that came back full (saturates at FULL_AFTER).
    full: u8,
}

impl Default for BurstSize {
    fn default() -> Self {
        BurstSize { avg_len: 64, full: 0 }
    }
}

impl BurstSize {
    /// Frames to ask the port for now.
    #[inline]
    pub fn next(&self) -> usize {
        if self.full >= FULL_AFTER {
            BURST
        } else {
            (BUDGET_OCTETS / (self.avg_len + FRAME_COST_OCTETS)).clamp(MIN_FRAMES, BURST)
        }
    }

    /// Records what a receive of `asked` frames brought.
    #[inline]
    pub fn record<F: Frames>(&mut self, asked: usize, frames: &F) {
        let got = frames.len();
        if got == 0 {
            self.full = 0;
            return;
        }
        let octets: usize = (0..got).map(|k| frames.data(k).len()).sum();
        self.avg_len = octets / got;
        if got < asked {
            self.full = 0;
        } else if asked < BURST {
            self.full = self.full.saturating_add(1).min(FULL_AFTER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::ports::MemFrames;

    fn burst(n: usize, len: usize) -> MemFrames {
        MemFrames::from_frames((0..n).map(|_| vec![0u8; len]))
    }

    #[test]
    fn capped_while_keeping_up_full_when_saturated() {
        let mut b = BurstSize::default();
        assert_eq!(b.next(), 27, "64-octet frames");
        b.record(27, &burst(3, 1500));
        assert_eq!(b.next(), 6);
        b.record(6, &burst(2, 9000));
        assert_eq!(b.next(), MIN_FRAMES);
        b.record(4, &burst(3, 576));
        assert_eq!(b.next(), 12);
        // Saturated: FULL_AFTER full capped bursts, then whole ones, kept while they come full.
        for _ in 0..FULL_AFTER - 1 {
            b.record(12, &burst(12, 576));
            assert_eq!(b.next(), 12);
        }
        b.record(12, &burst(12, 576));
        assert_eq!(b.next(), BURST);
        b.record(BURST, &burst(BURST, 576));
        assert_eq!(b.next(), BURST);
        // A short burst: keeping up again, capped.
        b.record(BURST, &burst(10, 576));
        assert_eq!(b.next(), 12);
        b.record(12, &burst(0, 576));
        assert_eq!(b.next(), 12, "an empty burst keeps the last sizes");
    }
}
