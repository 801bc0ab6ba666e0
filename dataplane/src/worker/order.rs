//! The ordered release of one direction of a link: bursts are numbered (tickets) in the order
//! they were received, processed by any worker in parallel, and released (counted, transmitted)
//! one at a time in ticket order, whichever worker finished them.
//!
//! Each ticket owns one slot of a ring (see [`slots_for`]) for its whole life: the worker that took the
//! ticket holds the slot's lock while it receives into it and processes it, then marks it ready
//! and lets go. A worker then waits a little for its ticket's turn and releases its own burst
//! (so a burst's buffers are sent, and freed, by the core that received and processed them: no
//! buffer moves between cores' caches). If the turn does not come within [`TURN_WAIT`] (the
//! worker before it was preempted), it marks its slot abandoned and leaves it: releasing is then
//! a baton, whoever holds the release lock releases every ready slot from the next ticket on and
//! stops at the first that is not ready, and a worker that releases its own burst goes on with
//! the abandoned ones after it. No ready slot is left behind: whoever lets go of the baton looks
//! once more. A new ticket is given only while its slot is free (fewer tickets than slots between
//! the next to release and it).

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// Tickets in flight per direction of a link at most (received and not yet released), for a link
/// of `workers` workers: each holds one at a time and may leave one more behind while another
/// finishes, so twice the workers, and two more for slack. Fewer slots keep a link's working set
/// small (each slot is a burst of buffers and their outcomes).
pub fn slots_for(workers: usize) -> usize {
    2 * workers.max(1) + 2
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a worker waits for its ticket's turn to release its own burst before it leaves the
/// burst to whoever releases next (the worker before it was preempted, or has far more to do).
pub const TURN_WAIT: std::time::Duration = std::time::Duration::from_micros(50);

/// One ticket's place: its number, whether it is ready to release (and left by its worker to
/// whoever releases), and what the worker made of it.
#[derive(Default)]
pub struct Slot<T> {
    pub ticket: u64,
    pub ready: bool,
    pub abandoned: bool,
    pub data: T,
}

/// The slots of one direction and its release state `R`, each in cache lines of its own (they
/// are written by different workers at once).
pub struct Ordered<T, R> {
    slots: Box<[CachePadded<Mutex<Slot<T>>>]>,
    /// `slots.len()`.
    n: u64,
    /// The next ticket to release: read by every intake, written by the releaser.
    next: CachePadded<AtomicU64>,
    release: CachePadded<Mutex<R>>,
}

impl<T: Default, R> Ordered<T, R> {
    /// A direction with `slots` tickets in flight at most (see [`slots_for`]).
    pub fn new(slots: usize, release: R) -> Self {
        let slots = slots.max(1);
        Ordered {
            n: slots as u64,
            slots: (0..slots)
                .map(|_| CachePadded::new(Mutex::new(Slot::default())))
                .collect(),
            next: CachePadded::new(AtomicU64::new(0)),
            release: CachePadded::new(Mutex::new(release)),
        }
    }

    /// The next ticket to release (every ticket below it has been released).
    pub fn next(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// The slot of ticket `t`, locked, if the window has room for it (its previous ticket was
    /// released). Called by the intake, which hands out tickets in order.
    pub fn claim(&self, t: u64) -> Option<MutexGuard<'_, Slot<T>>> {
        if t >= self.next() + self.n {
            return None;
        }
        let mut g = self.slot(t).try_lock().ok()?;
        g.ticket = t;
        g.ready = false;
        g.abandoned = false;
        Some(g)
    }

    fn slot(&self, t: u64) -> &Mutex<Slot<T>> {
        &self.slots[(t % self.n) as usize]
    }

    /// Marks the claimed slot `g` ready, waits up to [`TURN_WAIT`] for its turn and releases it
    /// with `f` (then any abandoned ones after it); if the turn does not come, leaves it
    /// (abandoned) to whoever releases next.
    pub fn finish(&self, mut g: MutexGuard<'_, Slot<T>>, f: &mut impl FnMut(&mut R, &mut Slot<T>)) {
        g.ready = true;
        let t = g.ticket;
        drop(g);
        let mut since: Option<std::time::Instant> = None;
        for spin in 0u32.. {
            // The clock is read every 64 spins (a spin-loop hint takes 10 to 150 cycles).
            if spin % 64 == 63 && since.get_or_insert_with(std::time::Instant::now).elapsed() >= TURN_WAIT {
                break;
            }
            let n = self.next();
            if n > t {
                return; // released by another
            }
            if n == t {
                if let Ok(mut r) = self.release.try_lock() {
                    if self.next() == t {
                        // Only a thread looking whether it is ready may hold it, briefly.
                        let mut s = lock(self.slot(t));
                        f(&mut r, &mut s);
                        s.ready = false;
                        drop(s);
                        self.next.store(t + 1, Ordering::Release);
                    }
                    self.release_run(&mut r, f, true);
                    drop(r);
                    self.release_ready_if(f, true);
                    return;
                }
            }
            std::hint::spin_loop();
        }
        {
            let mut s = lock(self.slot(t));
            if s.ready && s.ticket == t {
                s.abandoned = true;
            }
        }
        self.release_ready(f);
    }

    /// Releases, with the baton `r` held, the ready slots from the next ticket on (only the
    /// abandoned ones when `abandoned_only`: a ready one that is not is its worker's to release).
    fn release_run(&self, r: &mut R, f: &mut impl FnMut(&mut R, &mut Slot<T>), abandoned_only: bool) {
        loop {
            let n = self.next.load(Ordering::Relaxed);
            let Ok(mut s) = self.slot(n).try_lock() else {
                break;
            };
            if !s.ready || s.ticket != n || (abandoned_only && !s.abandoned) {
                break;
            }
            f(r, &mut s);
            s.ready = false;
            drop(s);
            self.next.store(n + 1, Ordering::Release);
        }
    }

    /// Releases every ready slot from the next ticket on with `f`, unless another thread holds
    /// the baton (it then releases them).
    pub fn release_ready(&self, f: &mut impl FnMut(&mut R, &mut Slot<T>)) {
        self.release_ready_if(f, false)
    }

    fn release_ready_if(&self, f: &mut impl FnMut(&mut R, &mut Slot<T>), abandoned_only: bool) {
        loop {
            let mut r = match self.release.try_lock() {
                Ok(r) => r,
                Err(TryLockError::WouldBlock) => return,
                // A worker panicked while releasing: the process is going down.
                Err(TryLockError::Poisoned(_)) => return,
            };
            self.release_run(&mut r, f, abandoned_only);
            drop(r);
            // A slot left while we held the baton was left to us: look once more.
            let n = self.next();
            match self.slot(n).try_lock() {
                Ok(s) if s.ready && s.ticket == n && (s.abandoned || !abandoned_only) => continue,
                _ => return,
            }
        }
    }

    /// The release state, waiting for the baton (a reader of counters, off the packet path).
    pub fn state(&self) -> MutexGuard<'_, R> {
        lock(&self.release)
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
        let o: Arc<Ordered<u64, Vec<u64>>> = Arc::new(Ordered::new(slots_for(4), Vec::new()));
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
        const SLOTS: u64 = 6;
        let o: Ordered<u64, u64> = Ordered::new(SLOTS as usize, 0);
        let mut held: Vec<_> = (0..SLOTS).map(|t| o.claim(t).unwrap()).collect();
        assert!(o.claim(SLOTS).is_none());
        // Finishing ticket 1 releases nothing (0 is not ready).
        let one = held.remove(1);
        o.finish(one, &mut |r: &mut u64, _| *r += 1);
        assert_eq!((o.next(), *o.state()), (0, 0));
        let zero = held.remove(0);
        o.finish(zero, &mut |r: &mut u64, _| *r += 1);
        assert_eq!((o.next(), *o.state()), (2, 2));
        assert!(o.claim(SLOTS).is_some());
        assert!(o.claim(SLOTS + 2).is_none());
    }
}
