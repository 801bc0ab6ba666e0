//! A link's DPDK ports: queue 0 of its host and line ports, bursts of mbufs.

use super::{Frames, LinkPorts, Side, BURST};
use crate::dpdk::{Burst, Mbuf, Mempool, Port};
use macsec::secy::Span;
use std::sync::Arc;

impl Frames for Burst<BURST> {
    #[inline]
    fn len(&self) -> usize {
        Burst::len(self)
    }

    #[inline]
    fn is_contiguous(&self, i: usize) -> bool {
        self[i].is_contiguous()
    }

    #[inline]
    fn buffer_mut(&mut self, i: usize) -> (&mut [u8], Span) {
        let (buf, off, len) = self[i].buffer_mut();
        (buf, Span::new(off, len))
    }

    #[inline]
    fn data(&self, i: usize) -> &[u8] {
        self[i].data()
    }

    #[inline]
    fn buffers_mut(&mut self) -> impl Iterator<Item = (&mut [u8], Span)> {
        self.iter_mut().map(|m| {
            let (buf, off, len) = m.buffer_mut();
            (buf, Span::new(off, len))
        })
    }

    #[inline]
    fn set_span(&mut self, i: usize, span: Span) -> bool {
        self[i].set_window(span.start, span.len).is_ok()
    }
}

/// The host and line ports of a link (queue 0 of each) and the pool injected frames come from.
#[derive(Clone)]
pub struct DpdkPorts {
    pub host: Port,
    pub line: Port,
    pub pool: Arc<Mempool>,
    /// Rx queues of the host port (RSS over them; each worker of the link reads its own).
    pub host_queues: u16,
    /// Benchmarks only: receive at most this many frames a second from each port (a net_null
    /// port otherwise gives as many as are asked for: no fixed offered load to measure latency at).
    pub pace: Option<Arc<[Pacer; 2]>>,
}

/// A token bucket of frames for one port (benchmarks: `macsec-dataplane --bench-rx-pps`), read
/// by the port's intake only (one thread at a time).
pub struct Pacer {
    pps: u64,
    /// (frames allowed so far, as of ns since `epoch`) in nano-frames: credit accrues at `pps`.
    credit: std::sync::atomic::AtomicU64,
    last: std::sync::atomic::AtomicU64,
    epoch: std::time::Instant,
}

impl Pacer {
    pub fn new(pps: u64) -> Self {
        Pacer {
            pps,
            credit: std::sync::atomic::AtomicU64::new(0),
            last: std::sync::atomic::AtomicU64::new(0),
            epoch: std::time::Instant::now(),
        }
    }

    /// Frames allowed now (at most `want`, and at most a burst of credit).
    fn allow(&self, want: usize) -> usize {
        use std::sync::atomic::Ordering::Relaxed;
        const NANO: u64 = 1_000_000_000;
        let now = self.epoch.elapsed().as_nanos() as u64;
        let elapsed = now.saturating_sub(self.last.swap(now, Relaxed));
        let cap = (BURST as u64) * NANO;
        let credit = (self.credit.load(Relaxed) + elapsed.saturating_mul(self.pps)).min(cap);
        let n = ((credit / NANO) as usize).min(want);
        self.credit.store(credit - n as u64 * NANO, Relaxed);
        n
    }
}

impl DpdkPorts {
    fn port(&self, side: Side) -> Port {
        match side {
            Side::Host => self.host,
            Side::Line => self.line,
        }
    }
}

impl LinkPorts for DpdkPorts {
    type Frames = Burst<BURST>;

    #[inline]
    fn rx(&self, side: Side, queue: u16, max: usize, into: &mut Burst<BURST>) -> usize {
        let max = match &self.pace {
            None => max,
            Some(p) => p[side as usize].allow(max),
        };
        if max == 0 {
            return 0;
        }
        let n = into.rx_max(self.port(side), queue, max);
        // The frames come from a NIC's DMA (or another core): each one's descriptor and first
        // two lines (addresses, SecTAG or EtherType: what classify reads), fetched all at once
        // rather than one miss at a time as the work step reaches them.
        into.prefetch(128);
        n
    }

    fn rx_queues(&self, side: Side) -> u16 {
        match side {
            Side::Host => self.host_queues,
            Side::Line => 1,
        }
    }

    #[inline]
    fn tx(&self, side: Side, frames: &mut Burst<BURST>, keep: &[bool]) -> usize {
        if keep.iter().any(|k| !k) {
            let mut i = 0;
            frames.retain_mut(|_| {
                let k = keep.get(i).copied().unwrap_or(false);
                i += 1;
                k
            });
        }
        frames.tx(self.port(side), 0)
    }

    fn send(&self, side: Side, bytes: &[u8]) -> bool {
        let Some(mut m) = Mbuf::alloc(&self.pool) else {
            return false;
        };
        if !m.append_from(bytes) {
            return false;
        }
        let mut b: Burst<1> = Burst::new();
        b.push(m).is_ok() && b.tx(self.port(side), 0) == 1
    }
}
