//! The ordered release of one direction of a link: bursts are numbered (tickets) in the order
//! they were received, processed by any worker in parallel, and released (counted, transmitted)
//! one at a time in ticket order, whichever worker finished them.
//!
//! Each ticket owns one slot of a ring of [`SLOTS`] for its whole life: the worker that took the
//! ticket holds the slot's lock while it receives into it and processes it, then marks it ready
//! and lets go. Releasing is a baton: whoever gets the release lock releases every ready slot
//! from the next ticket on, and stops at the first that is not ready (still being processed: that
//! worker releases it when done). No worker ever waits for another: a worker that finds the baton
//! taken leaves its slot to the holder, who looks once more after letting go of the baton, so no
//! ready slot is left behind. A new ticket is given only while its slot is free (fewer than
//! [`SLOTS`] tickets between the next to release and it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// Tickets in flight per direction of a link at most (received and not yet released). Each worker
/// holds at most one at a time and may leave one more behind while another finishes, so twice the
/// largest number of workers per link is enough.
pub const SLOTS: usize = 32;

/// One ticket's place: its number, whether it is ready to release, and what the worker made of it.
#[derive(Default)]
pub struct Slot<T> {
    pub ticket: u64,
    pub ready: bool,
    pub data: T,
}

/// A cache line of its own: the release counter is read by every intake and written by the
/// releaser, apart from the slots' locks.
#[repr(align(64))]
struct Padded(AtomicU64);

/// The slots of one direction and its release state `R`.
pub struct Ordered<T, R> {
    slots: Box<[Mutex<Slot<T>>]>,
    /// The next ticket to release.
    next: Padded,
    release: Mutex<R>,
}

impl<T: Default, R> Ordered<T, R> {
    pub fn new(release: R) -> Self {
        Ordered {
            slots: (0..SLOTS).map(|_| Mutex::new(Slot::default())).collect(),
            next: Padded(AtomicU64::new(0)),
            release: Mutex::new(release),
        }
    }

    /// The next ticket to release (every ticket below it has been released).
    pub fn next(&self) -> u64 {
        self.next.0.load(Ordering::Acquire)
    }

    /// The slot of ticket `t`, locked, if the window has room for it (its previous ticket was
    /// released). Called by the intake, which hands out tickets in order.
    pub fn claim(&self, t: u64) -> Option<MutexGuard<'_, Slot<T>>> {
        if t >= self.next() + SLOTS as u64 {
            return None;
        }
        let mut g = self.slots[(t % SLOTS as u64) as usize].try_lock().ok()?;
        g.ticket = t;
        g.ready = false;
        Some(g)
    }

    /// Marks the claimed slot `g` ready and releases what is ready, in ticket order, with `f`.
    pub fn finish(&self, mut g: MutexGuard<'_, Slot<T>>, f: &mut impl FnMut(&mut R, &mut Slot<T>)) {
        g.ready = true;
        drop(g);
        self.release_ready(f);
    }

    /// Releases every ready slot from the next ticket on with `f`, unless another thread holds
    /// the baton (it then releases them).
    pub fn release_ready(&self, f: &mut impl FnMut(&mut R, &mut Slot<T>)) {
        loop {
            let mut r = match self.release.try_lock() {
                Ok(r) => r,
                Err(TryLockError::WouldBlock) => return,
                // A worker panicked while releasing: the process is going down.
                Err(TryLockError::Poisoned(_)) => return,
            };
            loop {
                let n = self.next.0.load(Ordering::Relaxed);
                let Ok(mut s) = self.slots[(n % SLOTS as u64) as usize].try_lock() else {
                    break;
                };
                if !s.ready || s.ticket != n {
                    break;
                }
                f(&mut r, &mut s);
                s.ready = false;
                drop(s);
                self.next.0.store(n + 1, Ordering::Release);
            }
            drop(r);
            // A slot made ready while we held the baton was left to us: look once more.
            let n = self.next();
            match self.slots[(n % SLOTS as u64) as usize].try_lock() {
                Ok(s) if s.ready && s.ticket == n => continue,
                _ => return,
            }
        }
    }

    /// The release state, waiting for the baton (a reader of counters, off the packet path).
    pub fn state(&self) -> MutexGuard<'_, R> {
        self.release.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tickets received and not yet released.
    pub fn in_flight(&self, next_ticket: u64) -> u64 {
        next_ticket.saturating_sub(self.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Four threads take tickets under an intake lock, work for a random while and finish in
    /// any order: the release sees every ticket once, in order, and no slot is left behind.
    #[test]
    fn releases_every_ticket_once_in_order_whoever_finishes_first() {
        const PER_THREAD: u64 = 20_000;
        let o: Arc<Ordered<u64, Vec<u64>>> = Arc::new(Ordered::new(Vec::new()));
        let intake = Arc::new(Mutex::new(0u64));
        let threads: Vec<_> = (0..4u64)
            .map(|k| {
                let (o, intake) = (o.clone(), intake.clone());
                std::thread::spawn(move || {
                    let mut seed = k + 1;
                    let mut done = 0;
                    while done < PER_THREAD {
                        let mut i = intake.lock().unwrap();
                        let Some(mut slot) = o.claim(*i) else {
                            drop(i);
                            o.release_ready(&mut |r: &mut Vec<u64>, s: &mut Slot<u64>| r.push(s.data));
                            continue;
                        };
                        slot.data = *i;
                        *i += 1;
                        drop(i);
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        for _ in 0..seed % 200 {
                            std::hint::spin_loop();
                        }
                        if seed % 97 == 0 {
                            std::thread::yield_now();
                        }
                        o.finish(slot, &mut |r: &mut Vec<u64>, s: &mut Slot<u64>| r.push(s.data));
                        done += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let got = o.state().clone();
        assert_eq!(got.len() as u64, 4 * PER_THREAD);
        assert!(got.iter().enumerate().all(|(i, &t)| t == i as u64));
        assert_eq!(o.next(), 4 * PER_THREAD);
    }

    /// The window: no more than SLOTS tickets are handed out past the next to release.
    #[test]
    fn a_full_window_gives_no_ticket_until_the_oldest_is_released() {
        let o: Ordered<u64, u64> = Ordered::new(0);
        let mut held: Vec<_> = (0..SLOTS as u64).map(|t| o.claim(t).unwrap()).collect();
        assert!(o.claim(SLOTS as u64).is_none());
        // Finishing ticket 1 releases nothing (0 is not ready).
        let one = held.remove(1);
        o.finish(one, &mut |r: &mut u64, _| *r += 1);
        assert_eq!((o.next(), *o.state()), (0, 0));
        let zero = held.remove(0);
        o.finish(zero, &mut |r: &mut u64, _| *r += 1);
        assert_eq!((o.next(), *o.state()), (2, 2));
        assert!(o.claim(SLOTS as u64).is_some());
        assert!(o.claim(SLOTS as u64 + 2).is_none());
    }
}
