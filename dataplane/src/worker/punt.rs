//! The ways out of the packet path to the control thread: PN-threshold events on the control
//! queue (retried until queued: an SA raises its threshold once), and EAPOL punts on their own
//! queue, rate-limited per source MAC with a priority lane for the control plane's live peers.

use ipc::{Event, LinkCounters};

/// Room in the queue of control events (PN threshold) from all workers to the control thread.
/// EAPOL punts have a queue of their own, so a flood of them cannot crowd these out.
pub const CONTROL_QUEUE: usize = 256;
/// Room in the queue of EAPOL punts from all workers to the control thread.
pub const EAPOL_QUEUE: usize = 4096;
/// Of [`EAPOL_QUEUE`], the part only live peers' frames may use: the frames of other sources are
/// refused once the queue holds `EAPOL_QUEUE - LIVE_RESERVE`.
pub const LIVE_RESERVE: usize = 1024;
/// Most live peers a link keeps (more in a `SetLivePeers` are ignored): the peer limit per CA.
pub const MAX_LIVE_PEERS: usize = 64;
/// Sources other than live peers with a bucket of their own; a new one takes the place of the
/// one seen longest ago.
pub const PUNT_SOURCES: usize = 64;
/// Threshold events a link holds while the control queue is full (one per AN).
const MAX_PENDING: usize = 4;
const NANO: u64 = 1_000_000_000;

/// Token-bucket limits of the EAPOL punt path, in frames per second and frames of burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PuntLimits {
    /// Per source MAC other than a live peer's.
    pub source_rate: u64,
    pub source_burst: u64,
    /// All sources other than live peers together.
    pub total_rate: u64,
    pub total_burst: u64,
    /// Per live peer (its MKPDUs come every 2 s, or 0.5 s; more CAs at a rollover).
    pub live_rate: u64,
    pub live_burst: u64,
}

impl Default for PuntLimits {
    fn default() -> Self {
        PuntLimits {
            source_rate: 20,
            source_burst: 40,
            total_rate: 200,
            total_burst: 400,
            live_rate: 100,
            live_burst: 200,
        }
    }
}

/// A token bucket; tokens in nano-frames so that integer refills are exact.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u64,
    last: u64,
}

impl Bucket {
    fn full(burst: u64, now: u64) -> Bucket {
        Bucket {
            tokens: burst.saturating_mul(NANO),
            last: now,
        }
    }

    /// Takes one frame's token at `now` (ns) if there is one.
    fn take(&mut self, now: u64, rate: u64, burst: u64) -> bool {
        let elapsed = now.saturating_sub(self.last);
        self.last = self.last.max(now);
        self.tokens = self
            .tokens
            .saturating_add(elapsed.saturating_mul(rate))
            .min(burst.saturating_mul(NANO));
        if self.tokens >= NANO {
            self.tokens -= NANO;
            true
        } else {
            false
        }
    }
}

/// Why an EAPOL frame was not punted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PuntDrop {
    /// Its source was over its own rate.
    SourceRate,
    /// All sources but live peers together were over the total rate.
    TotalRate,
    /// The queue to the control plane was full (for a source not live: its shared part).
    QueueFull,
}

/// Per-source rate limits of one link's EAPOL punts, with a priority lane for live peers.
#[derive(Debug, Clone)]
pub struct PuntLimiter {
    limits: PuntLimits,
    live: Vec<([u8; 6], Bucket)>,
    sources: Vec<([u8; 6], Bucket)>,
    total: Bucket,
}

impl PuntLimiter {
    pub fn new(limits: PuntLimits) -> Self {
        PuntLimiter {
            limits,
            live: Vec::new(),
            sources: Vec::with_capacity(PUNT_SOURCES),
            total: Bucket::full(limits.total_burst, 0),
        }
    }

    /// Replaces the live peers (at most [`MAX_LIVE_PEERS`]); a peer already live keeps its bucket.
    pub fn set_live(&mut self, macs: &[[u8; 6]], now: u64) {
        let burst = self.limits.live_burst;
        let old = std::mem::take(&mut self.live);
        for m in macs.iter().take(MAX_LIVE_PEERS) {
            if self.live.iter().any(|(x, _)| x == m) {
                continue;
            }
            let b = old
                .iter()
                .find(|(x, _)| x == m)
                .map_or_else(|| Bucket::full(burst, now), |(_, b)| *b);
            self.live.push((*m, b));
        }
        self.sources.retain(|(x, _)| !macs.contains(x));
    }

    pub fn is_live(&self, src: &[u8; 6]) -> bool {
        self.live.iter().any(|(x, _)| x == src)
    }

    /// Decides on a frame from `src` at `now` (ns): `Ok(live)` to punt it.
    pub fn admit(&mut self, src: [u8; 6], now: u64) -> Result<bool, PuntDrop> {
        let l = self.limits;
        if let Some((_, b)) = self.live.iter_mut().find(|(x, _)| *x == src) {
            return if b.take(now, l.live_rate, l.live_burst) {
                Ok(true)
            } else {
                Err(PuntDrop::SourceRate)
            };
        }
        let i = match self.sources.iter().position(|(x, _)| *x == src) {
            Some(i) => i,
            None if self.sources.len() < PUNT_SOURCES => {
                self.sources.push((src, Bucket::full(l.source_burst, now)));
                self.sources.len() - 1
            }
            None => {
                let (i, _) = self
                    .sources
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, (_, b))| b.last)
                    .unwrap_or((0, &self.sources[0]));
                self.sources[i] = (src, Bucket::full(l.source_burst, now));
                i
            }
        };
        if !self.sources[i].1.take(now, l.source_rate, l.source_burst) {
            return Err(PuntDrop::SourceRate);
        }
        if !self.total.take(now, l.total_rate, l.total_burst) {
            return Err(PuntDrop::TotalRate);
        }
        Ok(false)
    }
}

/// A link's queue of control events (PN threshold) to the control thread. An event that finds
/// the queue full waits here and is retried every burst until queued.
pub struct ControlOut {
    control: crossbeam_channel::Sender<Event>,
    /// Threshold events the control queue had no room for, oldest first.
    pending: Vec<Event>,
}

impl ControlOut {
    pub fn new(control: crossbeam_channel::Sender<Event>) -> Self {
        ControlOut {
            control,
            pending: Vec::new(),
        }
    }

    /// Queues `ev` after the events still pending; what finds no room stays pending (the
    /// oldest is given up when more than one per AN waits). Called every burst, with or
    /// without a new event.
    pub fn send(&mut self, ev: Option<Event>) {
        if let Some(ev) = ev {
            if self.pending.len() >= MAX_PENDING {
                self.pending.remove(0);
            }
            self.pending.push(ev);
        }
        while !self.pending.is_empty() {
            let ev = self.pending.remove(0);
            match self.control.try_send(ev) {
                Ok(()) => {}
                Err(crossbeam_channel::TrySendError::Full(ev)) => {
                    self.pending.insert(0, ev);
                    break;
                }
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                    self.pending.clear();
                    break;
                }
            }
        }
    }

    /// Threshold events waiting for room in the control queue.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// A link's EAPOL punts to the control thread, rate-limited per source with live peers first.
pub struct Punts {
    eapol: crossbeam_channel::Sender<Event>,
    pub limiter: PuntLimiter,
}

impl Punts {
    pub fn new(eapol: crossbeam_channel::Sender<Event>, limits: PuntLimits) -> Self {
        Punts {
            eapol,
            limiter: PuntLimiter::new(limits),
        }
    }

    /// Punts the EAPOL frame `frame` of `link` at `now` (ns), or counts why not.
    pub fn punt(&mut self, link: &str, frame: &[u8], now: u64, counters: &mut LinkCounters) {
        let mut src = [0u8; 6];
        if let Some(s) = frame.get(6..12) {
            src.copy_from_slice(s);
        }
        let verdict = self.limiter.admit(src, now).and_then(|live| {
            if !live && self.eapol.len() >= EAPOL_QUEUE.saturating_sub(LIVE_RESERVE) {
                return Err(PuntDrop::QueueFull);
            }
            let ev = Event::EapolReceived {
                link: link.to_string(),
                frame: frame.to_vec(),
            };
            self.eapol.try_send(ev).map_err(|_| PuntDrop::QueueFull)
        });
        match verdict {
            Ok(()) => {}
            Err(PuntDrop::SourceRate) => counters.eapol_drop_source_rate += 1,
            Err(PuntDrop::TotalRate) => counters.eapol_drop_total_rate += 1,
            Err(PuntDrop::QueueFull) => counters.eapol_punt_dropped += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn punts() -> (Punts, crossbeam_channel::Receiver<Event>) {
        let (etx, erx) = crossbeam_channel::bounded(EAPOL_QUEUE);
        (Punts::new(etx, PuntLimits::default()), erx)
    }

    fn eapol_from(src: [u8; 6]) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0, 0, 3]);
        f[6..12].copy_from_slice(&src);
        f[12..14].copy_from_slice(&[0x88, 0x8e]);
        f
    }

    fn threshold(an: u8, next_pn: u64) -> Event {
        Event::PnThreshold {
            link: "TenGigE0/0/0/1".into(),
            an,
            next_pn,
        }
    }

    /// A threshold event that finds the control queue full waits and goes out at the first
    /// burst that finds room, once; a flood of punts cannot take its room (a queue of its own).
    #[test]
    fn a_threshold_event_is_queued_exactly_once_whatever_the_queues_hold() {
        let (mut p, eapol) = punts();
        let mut c = LinkCounters::default();
        p.limiter.set_live(&[[2; 6]], 0);
        let mut n = 0;
        while eapol.len() < EAPOL_QUEUE {
            p.punt("TenGigE0/0/0/1", &eapol_from([2; 6]), n * 10_000_000, &mut c);
            n += 1;
        }
        let (ctx, crx) = crossbeam_channel::bounded(CONTROL_QUEUE);
        let mut out = ControlOut::new(ctx.clone());
        out.send(Some(threshold(1, 0xc000_0010)));
        assert_eq!(
            crx.try_iter().collect::<Vec<_>>(),
            vec![threshold(1, 0xc000_0010)]
        );
        assert_eq!((eapol.len(), c.eapol_punt_dropped), (EAPOL_QUEUE, 0));
        // The control queue itself full (the control thread stalled).
        let filler = threshold(0, 1);
        while ctx.try_send(filler.clone()).is_ok() {}
        out.send(Some(threshold(2, 0xc000_0010)));
        for _ in 0..10 {
            out.send(None);
        }
        assert_eq!(out.pending(), 1);
        assert_eq!(crx.try_iter().take(CONTROL_QUEUE).count(), CONTROL_QUEUE);
        for _ in 0..3 {
            out.send(None);
        }
        assert_eq!(out.pending(), 0);
        assert_eq!(
            crx.try_iter().collect::<Vec<_>>(),
            vec![threshold(2, 0xc000_0010)]
        );
    }

    /// A small LCG: forged source MACs.
    fn forged(seed: &mut u64) -> [u8; 6] {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let b = (*seed >> 16).to_be_bytes();
        [b[2] & 0xfe, b[3], b[4], b[5], b[6], b[7]]
    }

    #[test]
    fn a_flood_from_forged_sources_does_not_starve_a_live_peer() {
        let (mut out, eapol) = punts();
        let mut c = LinkCounters::default();
        let peer = [0x00, 0x1d, 0xe5, 0xe9, 0xb1, 0xbf];
        out.limiter.set_live(&[peer], 0);
        // 20 s of 5000 forged frames a second, nothing drained (macsecd stalled), and the live
        // peer's MKPDU every 0.5 s among them.
        let mut seed = 7;
        let (mut live_sent, n) = (0, 100_000u64);
        for i in 0..n {
            let now = i * 200_000;
            out.punt("TenGigE0/0/0/1", &eapol_from(forged(&mut seed)), now, &mut c);
            if i % 2500 == 0 {
                out.punt("TenGigE0/0/0/1", &eapol_from(peer), now, &mut c);
                live_sent += 1;
            }
        }
        let got: Vec<Event> = eapol.try_iter().collect();
        let from_peer = got
            .iter()
            .filter(|e| matches!(e, Event::EapolReceived { frame, .. } if frame[6..12] == peer))
            .count();
        assert_eq!((live_sent, from_peer), (40, 40));
        // The others: 400 of burst plus 200/s over the total rate; what found the queue's shared
        // part full (3072 places, some taken by the peer's) is counted too.
        assert_eq!(got.len() - from_peer, 3072 - 27);
        assert_eq!(
            (
                c.eapol_drop_source_rate,
                c.eapol_drop_total_rate,
                c.eapol_punt_dropped
            ),
            (0, 95_601, 1354)
        );
        assert_eq!(got.len() as u64 - 40 + 95_601 + 1354, n);
    }

    #[test]
    fn punts_are_rate_limited_per_source() {
        let (mut out, eapol) = punts();
        let mut c = LinkCounters::default();
        // One source at 1000 frames a second for 1 s: its burst of 40, then 20 a second.
        for i in 0..1000u64 {
            out.punt("l", &eapol_from([4; 6]), i * 1_000_000, &mut c);
        }
        assert_eq!((eapol.len(), c.eapol_drop_source_rate), (59, 941));
        // Another source is not held back by it.
        out.punt("l", &eapol_from([6; 6]), 1_000_000_000, &mut c);
        assert_eq!(eapol.len(), 60);
        // A live peer has a larger bucket (200, 100/s), also when a flood forges its MAC, and
        // keeps it across a new live set that still holds it.
        out.limiter.set_live(&[[8; 6]], 0);
        for i in 0..300u64 {
            out.punt("l", &eapol_from([8; 6]), 1_000_000_000 + i * 1_000_000, &mut c);
        }
        assert_eq!((eapol.len(), c.eapol_drop_source_rate), (60 + 200 + 29, 941 + 71));
        out.limiter.set_live(&[[9; 6], [8; 6]], 1_300_000_000);
        out.punt("l", &eapol_from([8; 6]), 1_300_000_000, &mut c);
        out.punt("l", &eapol_from([8; 6]), 1_300_000_000, &mut c);
        assert_eq!(c.eapol_drop_source_rate, 941 + 72);
        assert!(out.limiter.is_live(&[9; 6]) && !out.limiter.is_live(&[4; 6]));
        // At most 64 live peers.
        let many: Vec<[u8; 6]> = (0..100u8).map(|i| [0x02, 0, 0, 0, 0, i]).collect();
        out.limiter.set_live(&many, 0);
        assert!(
            out.limiter.is_live(&[0x02, 0, 0, 0, 0, 63]) && !out.limiter.is_live(&[0x02, 0, 0, 0, 0, 64])
        );
    }
}
