//! Replay protection: the lowest acceptable PN of 802.1AE-2018 10.6.2 plus a sliding bitmap that
//! also refuses a PN seen before within the last `BITMAP_BITS` PNs. The standard itself accepts a
//! repeated PN inside the window; refusing it is stricter and never hurts a conformant sender,
//! which never reuses a PN. For windows wider than the bitmap, PNs older than the bitmap but inside
//! the window are checked against the lowest acceptable PN only, as the standard does.

/// Bits of duplicate-detection history: the largest replay window IOS XR allows.
pub const BITMAP_BITS: u64 = 1024;
const WORDS: usize = (BITMAP_BITS / 64) as usize;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Highest PN accepted so far plus one (802.1AE nextPN).
    next_pn: u64,
    /// 802.1AE lowestPN: max(nextPN - replayWindow, the value the control plane set).
    lowest_pn: u64,
    window: u32,
    seen: [u64; WORDS],
    /// The last PN of all (2^64 - 1, XPN) was accepted. `next_pn` cannot go past it, so without
    /// this the PN would never be behind `next_pn` and would pass again.
    last_accepted: bool,
}

impl ReplayWindow {
    /// A window for an SA whose first acceptable PN is `lowest_pn`.
    pub fn new(lowest_pn: u64, window: u32) -> Self {
        ReplayWindow {
            next_pn: lowest_pn,
            lowest_pn,
            window,
            seen: [0; WORDS],
            last_accepted: false,
        }
    }

    pub fn next_pn(&self) -> u64 {
        self.next_pn
    }

    pub fn lowest_pn(&self) -> u64 {
        self.lowest_pn
    }

    pub fn window(&self) -> u32 {
        self.window
    }

    /// Raises the lowest acceptable PN (delay protection, or a restored state). Never lowers it.
    pub fn set_lowest_pn(&mut self, pn: u64) {
        if pn > self.lowest_pn {
            self.lowest_pn = pn;
        }
        if self.next_pn < self.lowest_pn {
            // Nothing at or above the old next PN has been accepted yet below the new floor.
            self.next_pn = self.lowest_pn;
        }
    }

    pub fn set_window(&mut self, window: u32) {
        self.window = window;
        self.lowest_pn = self.lowest_pn.max(self.next_pn.saturating_sub(window as u64));
    }

    /// Recovers the full 64-bit PN of an XPN frame from its 32 low bits (802.1AE-2018 10.6.2, as
    /// Wireshark reads it): the high half of the lowest acceptable PN, plus one when that PN is in
    /// the upper 2^31 of its 32-bit epoch and the received bits are in the lower half. A frame a
    /// little older than the floor therefore recovers below it (late), not 2^32 ahead.
    /// `None` past 2^64 - 1.
    pub fn recover_xpn(&self, low: u32) -> Option<u64> {
        Self::recover_xpn_from(self.lowest_pn, low)
    }

    /// [`Self::recover_xpn`] against a given lowest acceptable PN.
    pub fn recover_xpn_from(lowest_pn: u64, low: u32) -> Option<u64> {
        let mut hi = lowest_pn >> 32;
        if (lowest_pn as u32) & 0x8000_0000 != 0 && low & 0x8000_0000 == 0 {
            hi += 1;
        }
        if hi > u32::MAX as u64 {
            return None;
        }
        Some((hi << 32) | low as u64)
    }

    /// True when `pn` is below the lowest acceptable PN (a late frame).
    pub fn is_late(&self, pn: u64) -> bool {
        pn < self.lowest_pn
    }

    /// True when `pn` is above every PN accepted so far and not below the lowest acceptable PN:
    /// neither late nor a duplicate, whatever the window. (Never for the last PN of all, 2^64 - 1,
    /// which `is_duplicate` decides.)
    pub fn is_ahead(&self, pn: u64) -> bool {
        pn >= self.next_pn && pn >= self.lowest_pn && pn != u64::MAX
    }

    /// True when `pn` was already accepted (within the bitmap's reach).
    pub fn is_duplicate(&self, pn: u64) -> bool {
        if pn >= self.next_pn {
            return pn == u64::MAX && self.last_accepted;
        }
        if self.next_pn - pn > BITMAP_BITS {
            return false;
        }
        let bit = pn % BITMAP_BITS;
        self.seen[(bit / 64) as usize] & (1u64 << (bit % 64)) != 0
    }

    /// Records `pn` as accepted (call only after the frame verified).
    pub fn accept(&mut self, pn: u64) {
        self.last_accepted |= pn == u64::MAX;
        if pn >= self.next_pn {
            let new_next = pn.saturating_add(1);
            if new_next - self.next_pn >= BITMAP_BITS {
                self.seen = [0; WORDS];
            } else {
                for p in self.next_pn..new_next {
                    let bit = p % BITMAP_BITS;
                    self.seen[(bit / 64) as usize] &= !(1u64 << (bit % 64));
                }
            }
            self.next_pn = new_next;
            self.lowest_pn = self.lowest_pn.max(new_next.saturating_sub(self.window as u64));
        } else if self.next_pn - pn > BITMAP_BITS {
            return;
        }
        let bit = pn % BITMAP_BITS;
        self.seen[(bit / 64) as usize] |= 1u64 << (bit % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_zero_only_increasing() {
        let mut w = ReplayWindow::new(1, 0);
        assert!(!w.is_late(1));
        w.accept(1);
        assert!(w.is_late(1));
        w.accept(10);
        assert_eq!((w.next_pn(), w.lowest_pn()), (11, 11));
        assert!(w.is_late(9));
        assert!(!w.is_late(11));
    }

    #[test]
    fn window_and_duplicates() {
        let mut w = ReplayWindow::new(1, 32);
        w.accept(75);
        assert_eq!(w.lowest_pn(), 44);
        assert!(!w.is_late(50) && !w.is_duplicate(50));
        w.accept(50);
        assert!(w.is_duplicate(50));
        assert!(w.is_duplicate(75));
        assert!(!w.is_duplicate(51));
        assert!(w.is_late(3));
        // A big jump forgets history but keeps the floor.
        w.accept(75 + 5000);
        assert!(!w.is_duplicate(75 + 4999));
        assert_eq!(w.lowest_pn(), 75 + 5001 - 32);
    }

    #[test]
    fn wide_window_beyond_bitmap() {
        let mut w = ReplayWindow::new(1, 100_000);
        w.accept(50_000);
        assert!(!w.is_late(2) && !w.is_duplicate(2));
        w.accept(2);
        assert!(
            !w.is_duplicate(2),
            "older than the bitmap: only the floor applies"
        );
        w.accept(49_990);
        assert!(w.is_duplicate(49_990));
    }

    #[test]
    fn xpn_recovery() {
        let mut w = ReplayWindow::new(1, 32);
        w.set_lowest_pn(0xffff_ffdf);
        assert_eq!(w.recover_xpn(0xffff_fffe), Some(0xffff_fffe));
        assert_eq!(w.recover_xpn(0x62), Some(0x1_0000_0062));
        w.accept(0x1_0000_0062);
        assert_eq!(w.lowest_pn(), 0x1_0000_0043);
        assert_eq!(w.recover_xpn(0x58), Some(0x1_0000_0058));
        assert_eq!(w.recover_xpn(0x02), Some(0x1_0000_0002));
        assert!(w.is_late(0x1_0000_0002));
        let w = ReplayWindow::new(u64::MAX - 5, 0);
        assert_eq!(w.recover_xpn(0), None);
        assert_eq!(w.recover_xpn(u32::MAX), Some(u64::MAX));
        let w = ReplayWindow::new(0x5_0000_0010, 0);
        assert_eq!(w.recover_xpn(0xffff_fff0), Some(0x5_ffff_fff0));
    }

    /// The last PN of all (2^64 - 1) passes once: `next_pn` saturates at it, so it is never
    /// behind `next_pn`, and the window remembers that it was accepted.
    #[test]
    fn last_pn_passes_once() {
        for window in [0, 32] {
            let mut w = ReplayWindow::new(u64::MAX - 3, window);
            w.accept(u64::MAX - 1);
            // Never on the fast path of a commit, whatever the window says.
            assert!(!w.is_ahead(u64::MAX));
            assert!(!w.is_duplicate(u64::MAX));
            assert!(!w.is_late(u64::MAX));
            w.accept(u64::MAX);
            assert_eq!(w.next_pn(), u64::MAX);
            assert!(!w.is_ahead(u64::MAX));
            assert!(w.is_duplicate(u64::MAX), "window {window}");
            assert!(w.is_duplicate(u64::MAX - 1));
            assert_eq!(w.is_late(u64::MAX - 2), window == 0);
        }
    }
}
