//! The per-link packet path, run to completion by a worker lcore: classify, protect or validate
//! in place, forward. The logic here is pure Rust over byte buffers (testable without DPDK); the
//! DPDK loop that feeds it bursts of mbufs is `run_dpdk` (feature `dpdk`).
//!
//! Host → line: LACP passes in the clear under lacp-in-clear; otherwise every frame is protected
//! with the encoding SA. With no SA in use, must-secure drops and should-secure sends in the clear.
//! Line → host: EAPOL goes to the control plane; LACP passes in the clear under lacp-in-clear;
//! MACsec frames are validated; other untagged frames pass only under should-secure while the
//! link has no receive SA, and are otherwise dropped (InPktsNoTag).

use ipc::{Event, LinkCounters, PolicyMsg, RxSaState, SaState, SecurityPolicy, TxSaState};
use macsec::crypto::Backend;
use macsec::secy::{PnBlock, Policy, RxSa, Sci, SecY, SecyCounters, Span, TxError, TxSa};
use macsec::wire::ethernet::{EtherType, HEADER_LEN};
use std::sync::Arc;

/// What the control thread asks a worker to do between bursts.
pub enum Command {
    SetPolicy {
        policy: Policy,
        security: SecurityPolicy,
        lacp_in_clear: bool,
    },
    PutTxSa(Arc<TxSa>),
    PutRxSa {
        sci: Sci,
        sa: Box<RxSa>,
    },
    EnableTxSa(Option<u8>),
    EnableRxSa {
        sci: Sci,
        an: u8,
        enable: bool,
    },
    DeleteTxSa(u8),
    DeleteRxSa {
        sci: Sci,
        an: u8,
    },
    SetLowestPn {
        sci: Sci,
        an: u8,
        pn: u64,
    },
    /// A frame to send out of the line port (handled by the I/O loop).
    Inject(Vec<u8>),
    /// Reply with a snapshot of counters and SA state.
    Snapshot(crossbeam_channel::Sender<Snapshot>),
    /// The source MACs of the control plane's live peers: their EAPOL frames take the priority
    /// lane of the punt path (handled by the I/O loop, see [`EventOut`]).
    SetLivePeers(Vec<[u8; 6]>),
}

/// Counters and SA state of a link at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub secy: SecyCounters,
    pub link: LinkCounters,
    pub sa: SaState,
}

/// What to do with a frame from the host port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostVerdict {
    /// Send `Span` of the buffer out of the line port.
    Forward(Span),
    Drop,
}

/// What to do with a frame from the line port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineVerdict {
    Forward(Span),
    /// An EAPOL frame for the control plane (the caller copies it out).
    Punt,
    Drop,
}

/// One link's SecY and policy, owned by its worker.
pub struct LinkState {
    pub name: String,
    pub secy: SecY,
    pub security: SecurityPolicy,
    pub lacp_in_clear: bool,
    pub counters: LinkCounters,
    /// A frame validated on an enabled receive SA since the receive SAs were last all gone: the
    /// peer transmits protected, so under should-secure clear frames stop passing. (An SA that is
    /// merely installed is not enough: MKA installs receive SAs before the peer switches its
    /// transmit over, and the peer's last clear frames must still pass.)
    rx_protected_seen: bool,
}

fn ethertype(frame: &[u8]) -> Option<EtherType> {
    (frame.len() >= HEADER_LEN).then(|| EtherType(u16::from_be_bytes([frame[12], frame[13]])))
}

impl LinkState {
    pub fn new(
        name: &str,
        policy: Policy,
        sci: Sci,
        backend: Backend,
        security: SecurityPolicy,
        lacp_in_clear: bool,
    ) -> Self {
        LinkState {
            name: name.to_string(),
            secy: SecY::new(policy, sci, backend),
            security,
            lacp_in_clear,
            counters: LinkCounters::default(),
            rx_protected_seen: false,
        }
    }

    fn rx_sa_enabled(&self) -> bool {
        self.secy
            .rx
            .scs
            .iter()
            .any(|sc| sc.sas.iter().flatten().any(|sa| sa.enabled))
    }

    /// True when the peer transmits protected frames that we receive: under should-secure,
    /// clear frames stop passing then.
    fn rx_secured(&self) -> bool {
        self.rx_protected_seen && self.rx_sa_enabled()
    }

    /// Reserves PNs for a burst of `n` host frames. Returns the block (empty when there is no SA
    /// in use) and, the first time the threshold is crossed, the event for the control plane.
    pub fn reserve(&self, n: usize) -> (Option<Arc<TxSa>>, PnBlock, Option<Event>) {
        match self.secy.tx.encoding_sa() {
            Some(sa) => {
                let (block, crossed) = sa.reserve(n as u64);
                let ev = crossed.then(|| Event::PnThreshold {
                    link: self.name.clone(),
                    an: sa.an,
                    next_pn: block.end,
                });
                (Some(sa.clone()), block, ev)
            }
            None => (None, PnBlock { next: 0, end: 0 }, None),
        }
    }

    /// Handles one host frame at `buf[span]`, with PNs from `block` of `sa`.
    #[inline]
    pub fn host_to_line(
        &mut self,
        sa: Option<&TxSa>,
        block: &mut PnBlock,
        buf: &mut [u8],
        span: Span,
    ) -> HostVerdict {
        let frame = &buf[span.start..span.end()];
        if self.lacp_in_clear && ethertype(frame) == Some(EtherType::SLOW) {
            self.counters.tx_clear += 1;
            return HostVerdict::Forward(span);
        }
        let Some(sa) = sa else {
            if self.security == SecurityPolicy::ShouldSecure {
                self.counters.tx_clear += 1;
                self.secy.tx.counters.out_pkts_untagged += 1;
                return HostVerdict::Forward(span);
            }
            self.counters.tx_drop_no_sa += 1;
            return HostVerdict::Drop;
        };
        let Some(pn) = block.take() else {
            self.counters.tx_drop_other += 1;
            return HostVerdict::Drop;
        };
        match self.secy.tx.protect_with(sa, pn, buf, span) {
            Ok(out) => HostVerdict::Forward(out),
            Err(TxError::TooLong) => HostVerdict::Drop,
            Err(_) => {
                self.counters.tx_drop_other += 1;
                HostVerdict::Drop
            }
        }
    }

    /// Handles one line frame at `buf[span]`.
    #[inline]
    pub fn line_to_host(&mut self, buf: &mut [u8], span: Span) -> LineVerdict {
        let frame = &buf[span.start..span.end()];
        match ethertype(frame) {
            // Every delivered status (OK, and under Check/Disabled the unverified ones) forwards;
            // the SecY has counted it.
            Some(EtherType::MACSEC) => match self.secy.rx.validate(buf, span) {
                Ok(v) => {
                    self.rx_protected_seen = true;
                    LineVerdict::Forward(v.span)
                }
                Err(_) => LineVerdict::Drop,
            },
            Some(EtherType::EAPOL) => {
                self.counters.eapol_punted += 1;
                LineVerdict::Punt
            }
            Some(EtherType::SLOW) if self.lacp_in_clear => {
                self.counters.rx_clear += 1;
                LineVerdict::Forward(span)
            }
            _ => {
                if self.security == SecurityPolicy::ShouldSecure && !self.rx_secured() {
                    self.counters.rx_clear += 1;
                    self.secy.rx.counters.in_pkts_untagged += 1;
                    LineVerdict::Forward(span)
                } else {
                    self.secy.rx.counters.in_pkts_no_tag += 1;
                    LineVerdict::Drop
                }
            }
        }
    }

    /// Applies a control command (all but `Inject` and `SetLivePeers`, which the I/O loop handles).
    pub fn apply(&mut self, cmd: Command) {
        self.apply_command(cmd);
        if !self.rx_sa_enabled() {
            self.rx_protected_seen = false;
        }
    }

    fn apply_command(&mut self, cmd: Command) {
        match cmd {
            Command::SetPolicy {
                policy,
                security,
                lacp_in_clear,
            } => {
                if policy.cipher_suite != self.secy.tx.policy.cipher_suite {
                    // Keys of another suite are useless: start from no SAs.
                    let sci = self.secy.tx.sci;
                    let backend = self.backend();
                    self.secy = SecY::new(policy, sci, backend);
                } else {
                    self.secy.tx.policy = policy;
                    self.secy.rx.policy = policy;
                    for sc in &mut self.secy.rx.scs {
                        for sa in sc.sas.iter_mut().flatten() {
                            sa.replay.set_window(policy.replay_window);
                        }
                    }
                }
                self.security = security;
                self.lacp_in_clear = lacp_in_clear;
            }
            Command::PutTxSa(sa) => {
                let _ = self.secy.tx.put_sa(sa);
            }
            Command::PutRxSa { sci, sa } => self.secy.rx.put_sa(sci, *sa),
            Command::EnableTxSa(an) => {
                let _ = self.secy.tx.set_encoding_an(an);
            }
            Command::EnableRxSa { sci, an, enable } => {
                if let Some(sa) = self.secy.rx.sa_mut(sci, an) {
                    sa.enabled = enable;
                }
            }
            Command::DeleteTxSa(an) => self.secy.tx.delete_sa(an),
            Command::DeleteRxSa { sci, an } => self.secy.rx.delete_sa(sci, an),
            Command::SetLowestPn { sci, an, pn } => {
                if let Some(sa) = self.secy.rx.sa_mut(sci, an) {
                    sa.replay.set_lowest_pn(pn);
                }
            }
            Command::Inject(_) | Command::SetLivePeers(_) => {}
            Command::Snapshot(reply) => {
                let _ = reply.try_send(self.snapshot());
            }
        }
    }

    fn backend(&self) -> Backend {
        self.secy.tx.backend()
    }

    pub fn snapshot(&self) -> Snapshot {
        let tx = &self.secy.tx;
        let sa = SaState {
            policy: Some(PolicyMsg {
                cipher_suite: tx.policy.cipher_suite,
                conf_offset: tx.policy.conf_offset.octets() as u8,
                confidentiality: tx.policy.confidentiality,
                include_sci: tx.policy.include_sci,
                use_es: tx.policy.use_es,
                use_scb: tx.policy.use_scb,
                validate_frames: self.secy.rx.policy.validate_frames,
                replay_protect: self.secy.rx.policy.replay_protect,
                replay_window: self.secy.rx.policy.replay_window,
                security_policy: self.security,
                lacp_in_clear: self.lacp_in_clear,
            }),
            tx_sci: tx.sci.0,
            encoding_an: tx.encoding_an(),
            tx: (0..4u8)
                .filter_map(|an| {
                    tx.sa(an).map(|sa| TxSaState {
                        an,
                        next_pn: sa.next_pn(),
                        in_use: tx.encoding_an() == Some(an),
                        ctx_salt: sa.ctx_salt(),
                        ki: None,
                        key_check: None,
                        out_pkts_protected: tx.sa_counters[an as usize].out_pkts_protected,
                        out_pkts_encrypted: tx.sa_counters[an as usize].out_pkts_encrypted,
                    })
                })
                .collect(),
            rx: self
                .secy
                .rx
                .scs
                .iter()
                .flat_map(|sc| {
                    sc.sas.iter().flatten().map(move |sa| RxSaState {
                        sci: sc.sci.0,
                        an: sa.an,
                        next_pn: sa.replay.next_pn(),
                        lowest_pn: sa.replay.lowest_pn(),
                        enabled: sa.enabled,
                        ctx_salt: sa.ctx_salt(),
                        ki: None,
                        key_check: None,
                        in_pkts_ok: sa.counters.in_pkts_ok,
                        in_pkts_invalid: sa.counters.in_pkts_invalid,
                        in_pkts_not_valid: sa.counters.in_pkts_not_valid,
                        in_pkts_not_using_sa: sa.counters.in_pkts_not_using_sa,
                        in_pkts_unused_sa: sa.counters.in_pkts_unused_sa,
                    })
                })
                .collect(),
        };
        Snapshot {
            secy: self.secy.counters(),
            link: self.counters,
            sa,
        }
    }
}

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

/// A worker link's way out to the control thread: PN-threshold events on the control queue
/// (retried every burst until queued: the SA raises its threshold only once), EAPOL punts on the
/// EAPOL queue, rate-limited per source with live peers first.
pub struct EventOut {
    control: crossbeam_channel::Sender<Event>,
    eapol: crossbeam_channel::Sender<Event>,
    /// Threshold events the control queue had no room for, oldest first.
    pending: Vec<Event>,
    pub limiter: PuntLimiter,
}

impl EventOut {
    pub fn new(
        control: crossbeam_channel::Sender<Event>,
        eapol: crossbeam_channel::Sender<Event>,
        limits: PuntLimits,
    ) -> Self {
        EventOut {
            control,
            eapol,
            pending: Vec::new(),
            limiter: PuntLimiter::new(limits),
        }
    }

    /// Queues `ev` after the events still pending; what finds no room stays pending (the
    /// oldest is given up when more than one per AN waits). Called every burst, with or
    /// without a new event.
    pub fn control(&mut self, ev: Option<Event>) {
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

/// Per-frame latency inside the dataplane (`macsec-dataplane --latency`): one histogram per
/// direction of a link, owned by the link's worker lcore (so per lcore), allocated up front and
/// recorded into without allocating. A frame's latency is the time from the return of the rx
/// burst that brought it to the return of the tx burst that sent it, in TSC ticks; frames
/// dropped (by policy, validation or a full tx ring) are not recorded, so each histogram's count
/// is the number of frames forwarded in that direction.
pub struct Latency {
    /// host → line (protect).
    pub protect: hdrhistogram::Histogram<u64>,
    /// line → host (validate).
    pub validate: hdrhistogram::Histogram<u64>,
    /// TSC and clock at the start, to convert ticks to ns over the whole run.
    start: (u64, std::time::Instant),
    /// Written by the worker when it stops.
    pub result: std::sync::Arc<std::sync::Mutex<Option<LatencyReport>>>,
}

/// Percentiles of one direction, in ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p99_9_ns: u64,
    pub max_ns: u64,
    pub mean_ns: u64,
}

/// What `--latency` adds to a link in the exit JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LatencyReport {
    /// TSC ticks per second, measured over the run.
    pub tsc_hz: u64,
    pub protect: LatencySummary,
    pub validate: LatencySummary,
}

/// The time-stamp counter (x86_64), else ns since the first call.
#[inline]
#[allow(unsafe_code)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions and is available on every x86_64 CPU.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        EPOCH.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
    }
}

/// The latency histograms could not be allocated.
#[derive(Debug, thiserror::Error)]
#[error("latency histogram: {0:?}")]
pub struct LatencyError(hdrhistogram::CreationError);

impl Latency {
    /// Highest latency tracked: 60 s at 6 GHz (longer ones are clamped, which max_ns shows).
    const HIGHEST_TICKS: u64 = 360_000_000_000;

    pub fn new() -> Result<Self, LatencyError> {
        let h = || {
            hdrhistogram::Histogram::<u64>::new_with_bounds(1, Self::HIGHEST_TICKS, 3).map_err(LatencyError)
        };
        Ok(Latency {
            protect: h()?,
            validate: h()?,
            start: (ticks(), std::time::Instant::now()),
            result: Default::default(),
        })
    }

    /// Restarts the clock calibration (the worker calls it when it starts).
    pub fn start(&mut self) {
        self.start = (ticks(), std::time::Instant::now());
    }

    /// Records `n` frames of one burst that was received at TSC `t0` and sent now.
    #[inline]
    pub fn record(h: &mut hdrhistogram::Histogram<u64>, t0: u64, n: usize) {
        if n > 0 {
            h.saturating_record_n(ticks().saturating_sub(t0), n as u64);
        }
    }

    /// The percentiles in ns, with the TSC rate measured since `start`.
    pub fn report(&self) -> LatencyReport {
        let dt = self.start.1.elapsed().as_secs_f64();
        let dticks = ticks().saturating_sub(self.start.0) as f64;
        let hz = if dt > 0.001 && dticks > 0.0 {
            dticks / dt
        } else {
            1e9
        };
        let ns = |t: u64| (t as f64 * 1e9 / hz).round() as u64;
        let sum = |h: &hdrhistogram::Histogram<u64>| {
            if h.is_empty() {
                return LatencySummary::default();
            }
            LatencySummary {
                count: h.len(),
                p50_ns: ns(h.value_at_quantile(0.5)),
                p99_ns: ns(h.value_at_quantile(0.99)),
                p99_9_ns: ns(h.value_at_quantile(0.999)),
                max_ns: ns(h.max()),
                mean_ns: (h.mean() * 1e9 / hz).round() as u64,
            }
        };
        LatencyReport {
            tsc_hz: hz.round() as u64,
            protect: sum(&self.protect),
            validate: sum(&self.validate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use macsec::secy::{CipherSuite, SaKeys};

    const A: Sci = Sci(0x001d_e5e9_aa39_001a);
    const B: Sci = Sci(0x001d_e5e9_b1bf_0019);

    fn queues() -> (
        EventOut,
        crossbeam_channel::Receiver<Event>,
        crossbeam_channel::Receiver<Event>,
    ) {
        let (ctx, crx) = crossbeam_channel::bounded(CONTROL_QUEUE);
        let (etx, erx) = crossbeam_channel::bounded(EAPOL_QUEUE);
        (EventOut::new(ctx, etx, PuntLimits::default()), crx, erx)
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

    #[test]
    fn a_threshold_event_is_queued_exactly_once_whatever_the_queues_hold() {
        let (mut out, control, eapol) = queues();
        let mut a = link(SecurityPolicy::MustSecure, false, A);
        // A flood filled the EAPOL queue (macsecd is slow): 4096 punts wait.
        let mut c = LinkCounters::default();
        out.limiter.set_live(&[[2; 6]], 0);
        let mut n = 0;
        while eapol.len() < EAPOL_QUEUE {
            out.punt("TenGigE0/0/0/1", &eapol_from([2; 6]), n * 10_000_000, &mut c);
            n += 1;
        }
        let k = SaKeys::new(&[5u8; 32]);
        let sa = Arc::new(TxSa::new(Backend::Ring, CipherSuite::GcmAes256, A, 1, &k, 0xbfff_fff0).unwrap());
        a.apply(Command::PutTxSa(sa));
        a.apply(Command::EnableTxSa(Some(1)));
        let (_, _, ev) = a.reserve(32);
        out.control(ev);
        for _ in 0..3 {
            let (_, _, ev) = a.reserve(32);
            out.control(ev);
        }
        assert_eq!(
            control.try_iter().collect::<Vec<_>>(),
            vec![threshold(1, 0xc000_0010)]
        );
        assert_eq!((eapol.len(), c.eapol_punt_dropped), (EAPOL_QUEUE, 0));
        // The control queue itself full (the control thread stalled): the event waits in the
        // link and goes out at the first burst that finds room, once.
        let filler = threshold(0, 1);
        let (ctx, crx) = crossbeam_channel::bounded(CONTROL_QUEUE);
        let mut out = EventOut::new(
            ctx.clone(),
            crossbeam_channel::bounded(1).0,
            PuntLimits::default(),
        );
        while ctx.try_send(filler.clone()).is_ok() {}
        let sa = Arc::new(TxSa::new(Backend::Ring, CipherSuite::GcmAes256, A, 2, &k, 0xbfff_fff0).unwrap());
        a.apply(Command::PutTxSa(sa));
        a.apply(Command::EnableTxSa(Some(2)));
        let (_, _, ev) = a.reserve(32);
        out.control(ev);
        for _ in 0..10 {
            out.control(None);
        }
        assert_eq!(out.pending(), 1);
        assert_eq!(crx.try_iter().take(CONTROL_QUEUE).count(), CONTROL_QUEUE);
        for _ in 0..3 {
            let (_, _, ev) = a.reserve(32);
            out.control(ev);
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
        let (mut out, _control, eapol) = queues();
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
        let (mut out, _control, eapol) = queues();
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

    fn frame(ethertype: u16, len: usize) -> (Vec<u8>, Span) {
        let mut buf = vec![0u8; 32 + len + 32];
        buf[32..38].copy_from_slice(&[0x00, 0x1d, 0xe5, 0xe9, 0xb1, 0xbf]);
        buf[38..44].copy_from_slice(&[0x00, 0x1d, 0xe5, 0xe9, 0xaa, 0x39]);
        buf[44..46].copy_from_slice(&ethertype.to_be_bytes());
        for (i, b) in buf[46..32 + len].iter_mut().enumerate() {
            *b = i as u8;
        }
        (buf, Span::new(32, len))
    }

    fn link(security: SecurityPolicy, lacp: bool, sci: Sci) -> LinkState {
        LinkState::new(
            "TenGigE0/0/0/1",
            Policy::new(CipherSuite::GcmAes256),
            sci,
            Backend::Ring,
            security,
            lacp,
        )
    }

    fn secure(a: &mut LinkState, b: &mut LinkState) {
        let k = SaKeys::new(&[5u8; 32]);
        let sa = Arc::new(TxSa::new(Backend::Ring, CipherSuite::GcmAes256, A, 0, &k, 1).unwrap());
        a.apply(Command::PutTxSa(sa));
        a.apply(Command::EnableTxSa(Some(0)));
        let rx = b.secy.rx.build_sa(A, 0, &k, 1).unwrap();
        b.apply(Command::PutRxSa {
            sci: A,
            sa: Box::new(rx),
        });
    }

    fn send(a: &mut LinkState, ethertype: u16) -> (Vec<u8>, HostVerdict) {
        let (mut buf, span) = frame(ethertype, 100);
        let (sa, mut block, _) = a.reserve(1);
        let v = a.host_to_line(sa.as_deref(), &mut block, &mut buf, span);
        (buf, v)
    }

    #[test]
    fn must_secure_drops_until_secured_then_protects() {
        let mut a = link(SecurityPolicy::MustSecure, false, A);
        let mut b = link(SecurityPolicy::MustSecure, false, B);
        assert_eq!(send(&mut a, 0x0800).1, HostVerdict::Drop);
        assert_eq!(a.counters.tx_drop_no_sa, 1);
        // An untagged frame arriving on the line is dropped and counted.
        let (mut buf, span) = frame(0x0800, 100);
        assert_eq!(b.line_to_host(&mut buf, span), LineVerdict::Drop);
        assert_eq!(b.secy.rx.counters.in_pkts_no_tag, 1);
        secure(&mut a, &mut b);
        let (mut buf, v) = send(&mut a, 0x0800);
        let HostVerdict::Forward(out) = v else {
            panic!("{v:?}")
        };
        assert_eq!(out.len, 100 + 32);
        assert_eq!(&buf[out.start + 12..out.start + 14], &[0x88, 0xe5]);
        let LineVerdict::Forward(back) = b.line_to_host(&mut buf, out) else {
            panic!()
        };
        assert_eq!(&buf[back.start..back.end()], &frame(0x0800, 100).0[32..132]);
        let snap = b.snapshot();
        assert_eq!(
            (snap.secy.in_pkts_ok, snap.sa.rx.len(), snap.sa.rx[0].next_pn),
            (1, 1, 2)
        );
        assert_eq!(a.snapshot().sa.tx[0].out_pkts_encrypted, 1);
    }

    #[test]
    fn should_secure_passes_clear_only_until_secured() {
        let mut a = link(SecurityPolicy::ShouldSecure, false, A);
        let mut b = link(SecurityPolicy::ShouldSecure, false, B);
        let (buf, v) = send(&mut a, 0x0800);
        assert_eq!(v, HostVerdict::Forward(Span::new(32, 100)));
        assert_eq!(&buf[44..46], &[0x08, 0x00]);
        let (mut buf, span) = frame(0x0800, 100);
        assert_eq!(b.line_to_host(&mut buf, span), LineVerdict::Forward(span));
        assert_eq!(
            (
                a.counters.tx_clear,
                b.counters.rx_clear,
                b.secy.rx.counters.in_pkts_untagged
            ),
            (1, 1, 1)
        );
        secure(&mut a, &mut b);
        // Receive SAs installed, but the peer has not sent a protected frame yet (MKA installs
        // receive before transmit): its last clear frames still pass.
        let (mut buf, span) = frame(0x0800, 100);
        assert_eq!(b.line_to_host(&mut buf, span), LineVerdict::Forward(span));
        assert_eq!(b.counters.rx_clear, 2);
        let (mut pbuf, v) = send(&mut a, 0x0800);
        let HostVerdict::Forward(ps) = v else {
            panic!("{v:?}")
        };
        assert_eq!(ps.len, 132);
        assert!(matches!(b.line_to_host(&mut pbuf, ps), LineVerdict::Forward(_)));
        // From the first protected frame on, clear frames are refused.
        let (mut buf, span) = frame(0x0800, 100);
        assert_eq!(b.line_to_host(&mut buf, span), LineVerdict::Drop);
        assert_eq!((b.secy.rx.counters.in_pkts_no_tag, b.counters.rx_clear), (1, 2));
        // Until the receive SAs are gone again (the session went down).
        let scis: Vec<(Sci, u8)> = b
            .secy
            .rx
            .scs
            .iter()
            .flat_map(|sc| sc.sas.iter().flatten().map(move |sa| (sc.sci, sa.an)))
            .collect();
        for (sci, an) in scis {
            b.apply(Command::DeleteRxSa { sci, an });
        }
        let (mut buf, span) = frame(0x0800, 100);
        assert_eq!(b.line_to_host(&mut buf, span), LineVerdict::Forward(span));
    }

    #[test]
    fn lacp_in_clear_and_eapol_punt() {
        let mut a = link(SecurityPolicy::MustSecure, true, A);
        let mut b = link(SecurityPolicy::MustSecure, true, B);
        secure(&mut a, &mut b);
        let (_, v) = send(&mut a, 0x8809);
        assert_eq!(v, HostVerdict::Forward(Span::new(32, 100)));
        let (mut buf, span) = frame(0x8809, 100);
        assert_eq!(b.line_to_host(&mut buf, span), LineVerdict::Forward(span));
        let (mut buf, span) = frame(0x888e, 100);
        assert_eq!(b.line_to_host(&mut buf, span), LineVerdict::Punt);
        assert_eq!(b.counters.eapol_punted, 1);
        // Without the exception LACP is protected like any frame, and refused in the clear.
        let mut c = link(SecurityPolicy::MustSecure, false, B);
        let (mut buf, span) = frame(0x8809, 100);
        assert_eq!(c.line_to_host(&mut buf, span), LineVerdict::Drop);
    }

    #[test]
    fn latency_records_bursts_and_reports_ns() {
        let mut l = Latency::new().unwrap();
        let t0 = ticks();
        std::thread::sleep(std::time::Duration::from_millis(2));
        Latency::record(&mut l.protect, t0, 32);
        Latency::record(&mut l.protect, ticks(), 0);
        Latency::record(&mut l.validate, ticks(), 3);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let r = l.report();
        assert_eq!((r.protect.count, r.validate.count), (32, 3));
        assert!(
            r.protect.p50_ns >= 1_500_000 && r.protect.p50_ns < 1_000_000_000,
            "{r:?}"
        );
        assert!(r.validate.max_ns < r.protect.p50_ns, "{r:?}");
        assert!(r.protect.p50_ns <= r.protect.p99_ns && r.protect.p99_9_ns <= r.protect.max_ns);
        assert_eq!(
            Latency::new().unwrap().report().protect,
            LatencySummary::default()
        );
    }

    #[test]
    fn rekey_and_threshold_event() {
        let mut a = link(SecurityPolicy::MustSecure, false, A);
        let k = SaKeys::new(&[5u8; 32]);
        let sa = Arc::new(TxSa::new(Backend::Ring, CipherSuite::GcmAes256, A, 1, &k, 0xbfff_fff0).unwrap());
        a.apply(Command::PutTxSa(sa));
        a.apply(Command::EnableTxSa(Some(1)));
        let (_, block, ev) = a.reserve(32);
        assert_eq!(block.len(), 32);
        assert_eq!(
            ev,
            Some(Event::PnThreshold {
                link: "TenGigE0/0/0/1".into(),
                an: 1,
                next_pn: 0xc000_0010
            })
        );
        assert_eq!(a.reserve(32).2, None);
        a.apply(Command::DeleteTxSa(1));
        assert!(a.reserve(1).0.is_none());
        // A cipher-suite change drops every SA.
        let mut b = link(SecurityPolicy::MustSecure, false, B);
        secure(&mut a, &mut b);
        b.apply(Command::SetPolicy {
            policy: Policy::new(CipherSuite::GcmAes128),
            security: SecurityPolicy::ShouldSecure,
            lacp_in_clear: true,
        });
        assert!(b.snapshot().sa.rx.is_empty());
        let (tx, rx) = crossbeam_channel::bounded(1);
        b.apply(Command::Snapshot(tx));
        assert!(rx.try_recv().is_ok());
    }
}

#[cfg(feature = "dpdk")]
pub use self::dpdk_loop::{run_dpdk, DpdkLink};

#[cfg(feature = "dpdk")]
mod dpdk_loop {
    use super::{ticks, Command, EventOut, HostVerdict, Latency, LineVerdict, LinkState, Snapshot};
    use crate::dpdk::{Burst, Mbuf, Mempool, Port};
    use crossbeam_channel::Receiver;
    use macsec::secy::Span;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    pub const BURST: usize = 32;
    /// Empty polls of the line port that end the drain at stop.
    const DRAIN_IDLE_POLLS: u32 = 1000;
    /// Longest the drain at stop may take.
    const DRAIN_MAX: std::time::Duration = std::time::Duration::from_millis(200);
    /// Commands applied per link between two bursts (bounds the pause a flood of commands causes).
    const COMMANDS_PER_POLL: usize = 64;

    /// One link as its worker lcore runs it.
    pub struct DpdkLink {
        pub state: LinkState,
        pub host: Port,
        pub line: Port,
        pub commands: Receiver<Command>,
        /// The queues to the control thread (PN threshold, EAPOL punts).
        pub events: EventOut,
        /// The punt path's clock (its rate limits).
        pub epoch: std::time::Instant,
        pub pool: Arc<Mempool>,
        /// The final counters and SA state, written when the worker stops.
        pub result: Arc<Mutex<Option<Snapshot>>>,
        /// Per-frame latency histograms (`--latency`); `None` costs one branch per burst.
        pub latency: Option<Box<Latency>>,
    }

    impl DpdkLink {
        fn drain_commands(&mut self, line_tx: &mut Burst<BURST>) {
            for _ in 0..COMMANDS_PER_POLL {
                let Ok(cmd) = self.commands.try_recv() else { break };
                match cmd {
                    Command::Inject(frame) => {
                        let Some(mut m) = Mbuf::alloc(&self.pool) else {
                            self.state.counters.tx_drop_other += 1;
                            continue;
                        };
                        if m.append_from(&frame) && line_tx.push(m).is_ok() {
                            self.state.counters.eapol_injected += 1;
                        } else {
                            self.state.counters.tx_drop_other += 1;
                        }
                    }
                    Command::SetLivePeers(macs) => {
                        let now = self.epoch.elapsed().as_nanos() as u64;
                        self.events.limiter.set_live(&macs, now);
                    }
                    other => self.state.apply(other),
                }
            }
        }

        /// Sends what `tx` holds; returns how many frames the port took.
        fn flush(&mut self, tx: &mut Burst<BURST>, port: Port) -> usize {
            if tx.is_empty() {
                return 0;
            }
            let n = tx.len();
            let sent = tx.tx(port, 0);
            self.state.counters.tx_ring_full += (n - sent) as u64;
            sent
        }

        /// One burst host → line, with one PN reservation for the whole burst.
        fn poll_host(&mut self, rx: &mut Burst<BURST>, tx: &mut Burst<BURST>) -> usize {
            let n = rx.rx(self.host, 0);
            if n == 0 {
                if self.events.pending() > 0 {
                    self.events.control(None);
                }
                return 0;
            }
            let t0 = if self.latency.is_some() { ticks() } else { 0 };
            let (sa, mut block, ev) = self.state.reserve(n);
            if ev.is_some() || self.events.pending() > 0 {
                self.events.control(ev);
            }
            for mut m in rx.drain() {
                if !m.is_contiguous() {
                    self.state.counters.rx_non_contiguous += 1;
                    continue;
                }
                let (buf, off, len) = m.buffer_mut();
                if let HostVerdict::Forward(s) =
                    self.state
                        .host_to_line(sa.as_deref(), &mut block, buf, Span::new(off, len))
                {
                    if m.set_window(s.start, s.len).is_ok() {
                        let _ = tx.push(m);
                    }
                }
            }
            let sent = self.flush(tx, self.line);
            if let Some(l) = self.latency.as_deref_mut() {
                Latency::record(&mut l.protect, t0, sent);
            }
            n
        }

        /// One burst line → host; EAPOL frames go to the control plane.
        fn poll_line(&mut self, rx: &mut Burst<BURST>, tx: &mut Burst<BURST>) -> usize {
            let n = rx.rx(self.line, 0);
            if n == 0 {
                return 0;
            }
            let t0 = if self.latency.is_some() { ticks() } else { 0 };
            let mut now = None;
            for mut m in rx.drain() {
                if !m.is_contiguous() {
                    self.state.counters.rx_non_contiguous += 1;
                    continue;
                }
                let (buf, off, len) = m.buffer_mut();
                match self.state.line_to_host(buf, Span::new(off, len)) {
                    LineVerdict::Forward(s) => {
                        if m.set_window(s.start, s.len).is_ok() {
                            let _ = tx.push(m);
                        }
                    }
                    LineVerdict::Punt => {
                        // One clock read per burst, at its first punt.
                        let now = *now.get_or_insert_with(|| self.epoch.elapsed().as_nanos() as u64);
                        let s = &mut self.state;
                        self.events.punt(&s.name, m.data(), now, &mut s.counters);
                    }
                    LineVerdict::Drop => {}
                }
            }
            let sent = self.flush(tx, self.host);
            if let Some(l) = self.latency.as_deref_mut() {
                Latency::record(&mut l.validate, t0, sent);
            }
            n
        }
    }

    /// Empty polls in a row after which an idle sleep (`run_dpdk`'s `idle_sleep`) starts.
    const IDLE_POLLS: u32 = 256;

    /// The worker lcore's loop: polls its links until `stop`, then publishes their final state.
    /// With a non-zero `idle_sleep`, it sleeps that long each time [`IDLE_POLLS`] rounds in a row
    /// found no frame on any port (commands still arrive: they are drained every round).
    /// `until` (tests only) ends the loop after that long as `stop` would, for a test-injected
    /// worker panic.
    pub fn run_dpdk(
        mut links: Vec<DpdkLink>,
        stop: Arc<AtomicBool>,
        idle_sleep: std::time::Duration,
        until: Option<std::time::Duration>,
    ) -> i32 {
        let began = std::time::Instant::now();
        let mut rx: Burst<BURST> = Burst::new();
        let mut tx: Burst<BURST> = Burst::new();
        for l in links.iter_mut() {
            if let Some(lat) = l.latency.as_deref_mut() {
                lat.start();
            }
        }
        let mut empty_rounds = 0u32;
        while !stop.load(Ordering::Relaxed) && until.is_none_or(|u| began.elapsed() < u) {
            let mut frames = 0;
            for l in links.iter_mut() {
                l.drain_commands(&mut tx);
                l.flush(&mut tx, l.line);
                frames += l.poll_host(&mut rx, &mut tx);
                frames += l.poll_line(&mut rx, &mut tx);
            }
            if frames > 0 || idle_sleep.is_zero() {
                empty_rounds = 0;
            } else if empty_rounds < IDLE_POLLS {
                empty_rounds += 1;
            } else {
                std::thread::sleep(idle_sleep);
            }
        }
        // Stopping: take no more host frames, but deliver what the line still holds (frames in
        // flight on a looped or slow line) and apply the last commands (e.g. a final inject).
        for l in links.iter_mut() {
            l.drain_commands(&mut tx);
            l.flush(&mut tx, l.line);
            // Bounded: a line that never goes quiet (an endless source) must not hold the stop.
            let deadline = std::time::Instant::now() + DRAIN_MAX;
            let mut idle = 0;
            while idle < DRAIN_IDLE_POLLS && std::time::Instant::now() < deadline {
                if l.poll_line(&mut rx, &mut tx) == 0 {
                    idle += 1;
                } else {
                    idle = 0;
                }
            }
            let snap = l.state.snapshot();
            *l.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(snap);
            if let Some(lat) = l.latency.as_deref() {
                *lat.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(lat.report());
            }
        }
        0
    }
}
