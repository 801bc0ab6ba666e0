//! One link shared by its workers: the protect (host → line) and validate (line → host)
//! pipelines, the control commands that change them, and the snapshot of counters and SAs.

use super::burst::BurstSize;
use super::latency::{ticks, Histogram, Latency, LatencyReport};
use super::order::{slots_for, Ordered};
use super::punt::{ControlOut, PuntLimits, Punts};
use super::{Command, Frames, LinkControl, LinkPorts, Refused, Side, Snapshot, BURST};
use arrayvec::ArrayVec;
use crossbeam_utils::CachePadded;
use ipc::{ClearPolicy, Event, LinkCounters, PolicyMsg, RxSaState, SaState, SecurityPolicy, TxSaState};
use macsec::crypto::{Backend, OpenJob, SealJob, ICV_LEN};
use macsec::secy::{
    count_sealed_run, prepare_seal, Commit, OpenAt, Opened, PnBlock, Policy, RxSecY, Sci, SealAt,
    SecyCounters, Span, TxError, TxSa, TxSaCounters, TxSecY,
};
use macsec::wire::ethernet::{leading_tags, lift_tags, put_tags, EtherType, HEADER_LEN};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a worker looks at to classify a frame: its EtherType, the EtherType after the VLAN tags
/// the link leaves in the clear (and how many there are), and whether a bypass list takes it.
/// None: shorter than its header (and tags).
///
/// The common case (no clear tags, no bypass lists) inline, so that its result stays in registers;
/// the rest in [`classify_tags`].
#[inline(always)]
fn classify(frame: &[u8], clear: &ClearPolicy, bypass: bool) -> Option<(EtherType, usize, EtherType, bool)> {
    if frame.len() < HEADER_LEN {
        return None;
    }
    let outer = EtherType(u16::from_be_bytes([frame[12], frame[13]]));
    if clear.vlan_tags_in_clear == 0 && !bypass {
        return Some((outer, 0, outer, false));
    }
    classify_tags(frame, clear, bypass, outer)
}

/// [`classify`] with clear tags or bypass lists, for a frame of at least `HEADER_LEN` octets
/// whose EtherType is `outer`.
#[inline(never)]
fn classify_tags(
    frame: &[u8],
    clear: &ClearPolicy,
    bypass: bool,
    outer: EtherType,
) -> Option<(EtherType, usize, EtherType, bool)> {
    let (tags, inner) = if clear.vlan_tags_in_clear == 0 {
        (0, outer)
    } else {
        leading_tags(frame, usize::from(clear.vlan_tags_in_clear))?
    };
    let bypassed = bypass && {
        let dst: &[u8; 6] = frame.first_chunk().expect("longer than a header");
        clear.bypasses(dst, outer.0, inner.0)
    };
    Some((outer, tags, inner, bypassed))
}

/// VLAN tags lifted out of a frame for its SecY (see [`leading_tags`]), to be put back after.
#[derive(Debug, Clone, Copy, Default)]
struct Lifted {
    n: u8,
    tags: [u8; 8],
}

impl Lifted {
    /// Lifts the `n` tags of the frame at `span` (none: nothing moves); the frame without them.
    #[inline]
    fn lift(buf: &mut [u8], span: Span, n: usize) -> (Lifted, Span) {
        if n == 0 {
            return (Lifted::default(), span);
        }
        let (tags, start) = lift_tags(buf, span.start, n);
        let lifted = Lifted { n: n as u8, tags };
        (lifted, Span::new(start, span.len - (start - span.start)))
    }

    /// Puts the tags back in front of the frame at `span` (which has room before it: it was
    /// lifted); the frame with them.
    #[inline]
    fn put_back(&self, buf: &mut [u8], span: Span) -> Span {
        if self.n == 0 {
            return span;
        }
        let start = put_tags(buf, span.start, usize::from(self.n), &self.tags);
        Span::new(start, span.len + (span.start - start))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a link starts with.
pub struct LinkParams {
    pub name: String,
    /// The SecY policy; its `max_frame_len` (from the line port's MTU) holds across every policy
    /// the control plane sets later.
    pub policy: Policy,
    pub sci: Sci,
    pub backend: Backend,
    pub security: SecurityPolicy,
    pub clear: ClearPolicy,
    /// The queue of control events (PN threshold) to the control thread.
    pub control: crossbeam_channel::Sender<Event>,
    /// The queue of EAPOL punts to the control thread.
    pub eapol: crossbeam_channel::Sender<Event>,
    pub punt_limits: PuntLimits,
    /// Keep per-frame latency histograms (`--latency`).
    pub latency: bool,
    /// How many workers will share the link (sizes its tickets in flight).
    pub workers: usize,
}

/// What protect's work step reads: fixed for every burst received under it.
struct TxView {
    policy: Policy,
    sci: Sci,
    security: SecurityPolicy,
    clear: ClearPolicy,
    /// Some EtherType or MAC is listed in `clear`.
    bypass: bool,
    encoding: Option<Arc<TxSa>>,
}

/// What validate's work and release steps read: fixed for every burst received under it.
struct RxView {
    secy: RxSecY,
    security: SecurityPolicy,
    clear: ClearPolicy,
    /// Some EtherType or MAC is listed in `clear`.
    bypass: bool,
    /// Some Rx SA is enabled.
    any_enabled: bool,
}

/// What the release step applies before the burst it rides with.
enum ReleaseCmd {
    /// Validate: the SC table and policy from this burst on.
    RxView(Arc<RxView>),
    /// Protect: a frame to send out of the line port before this burst's frames.
    Inject(Vec<u8>),
    /// Protect: a new SA on this AN starts its counters from zero.
    ResetTxSa(u8),
    /// Both: a new cipher suite starts the SecY counters from zero.
    ResetCounters,
    SetLivePeers(Vec<[u8; 6]>),
}

/// An intake: the next ticket, the state commands change, the view the workers copy (numbered,
/// so a worker copies it only when it changed) and what rides with the next burst.
struct Intake<S, V> {
    next_ticket: u64,
    /// Frames the next receive asks for.
    burst: BurstSize,
    gen: u64,
    view: Arc<V>,
    attached: Vec<ReleaseCmd>,
    s: S,
}

struct TxState {
    secy: TxSecY,
    security: SecurityPolicy,
    clear: ClearPolicy,
    max_frame_len: Option<usize>,
    control: ControlOut,
}

struct RxState {
    secy: RxSecY,
    security: SecurityPolicy,
    clear: ClearPolicy,
}

impl Intake<TxState, TxView> {
    fn rebuild(&mut self) {
        let s = &self.s;
        self.view = Arc::new(TxView {
            policy: s.secy.policy,
            sci: s.secy.sci,
            security: s.security,
            clear: s.clear,
            bypass: s.clear.has_lists(),
            encoding: s.secy.encoding_sa().cloned(),
        });
        self.gen += 1;
    }
}

impl Intake<RxState, RxView> {
    fn rebuild(&mut self) {
        let s = &self.s;
        self.view = Arc::new(RxView {
            secy: s.secy.clone(),
            security: s.security,
            clear: s.clear,
            bypass: s.clear.has_lists(),
            any_enabled: s.secy.any_enabled(),
        });
        self.gen += 1;
        self.attached.push(ReleaseCmd::RxView(self.view.clone()));
    }
}

/// What protect's work step made of a frame, for the release step to count and send. Eight
/// octets: the work step writes one per frame.
#[derive(Debug, Clone, Copy, Default)]
enum TxOut {
    /// Protected on the SA `an`: `secure_len` octets (a frame is at most 9216) encrypted or
    /// integrity only.
    Sealed {
        an: u8,
        encrypted: bool,
        secure_len: u16,
    },
    /// LACP under lacp-in-clear.
    Clear,
    /// A listed EtherType or destination MAC.
    Bypass,
    /// No SA in use under should-secure.
    ClearUntagged,
    DropNoSa,
    TooLong,
    #[default]
    DropOther,
    NonContiguous,
}

/// What validate's work step made of a frame.
#[derive(Debug, Clone, Copy, Default)]
enum RxOut {
    Opened(Opened),
    Punt,
    /// LACP under lacp-in-clear.
    Lacp,
    /// A listed EtherType or destination MAC.
    Bypass,
    /// Untagged, not EAPOL: passes only under should-secure while not secured.
    #[default]
    Clear,
    NonContiguous,
}

/// One burst of protect as a slot holds it.
struct TxWork<F> {
    frames: F,
    out: [TxOut; BURST],
    cmds: Vec<ReleaseCmd>,
    t0: u64,
}

impl<F: Default> Default for TxWork<F> {
    fn default() -> Self {
        TxWork {
            frames: F::default(),
            out: [TxOut::default(); BURST],
            cmds: Vec::new(),
            t0: 0,
        }
    }
}

/// One burst of validate as a slot holds it.
struct RxWork<F> {
    frames: F,
    out: [RxOut; BURST],
    cmds: Vec<ReleaseCmd>,
    t0: u64,
}

impl<F: Default> Default for RxWork<F> {
    fn default() -> Self {
        RxWork {
            frames: F::default(),
            out: [RxOut::default(); BURST],
            cmds: Vec::new(),
            t0: 0,
        }
    }
}

/// Protect's release state: the transmit counters.
struct TxRelease {
    secy: SecyCounters,
    sa: [TxSaCounters; 4],
    link: LinkCounters,
    hist: Option<Histogram>,
}

/// Validate's release state: the SC table in force, the receive counters, the punt path.
struct RxRelease {
    view: Arc<RxView>,
    secy: SecyCounters,
    link: LinkCounters,
    /// A frame validated on an enabled receive SA since the receive SAs were last all gone: the
    /// peer transmits protected, so under should-secure clear frames stop passing. (An SA that is
    /// merely installed is not enough: MKA installs receive SAs before the peer switches its
    /// transmit over, and the peer's last clear frames must still pass.)
    rx_protected_seen: bool,
    punts: Punts,
    /// The punt path's clock (its rate limits).
    epoch: Instant,
    hist: Option<Histogram>,
}

/// One link, shared by the workers that serve it and the control thread.
pub struct SharedLink<P: LinkPorts> {
    name: String,
    ports: P,
    backend: Backend,
    latency: Option<Latency>,
    tx_intake: CachePadded<Mutex<Intake<TxState, TxView>>>,
    tx_order: Ordered<TxWork<P::Frames>, TxRelease>,
    rx_intake: CachePadded<Mutex<Intake<RxState, RxView>>>,
    rx_order: Ordered<RxWork<P::Frames>, RxRelease>,
}

impl<P: LinkPorts> SharedLink<P> {
    pub fn new(p: LinkParams, ports: P) -> Result<Self, super::LatencyError> {
        let hist = || p.latency.then(Latency::histogram).transpose();
        let tx = TxState {
            secy: TxSecY::new(p.policy, p.sci, p.backend),
            security: p.security,
            clear: p.clear,
            max_frame_len: p.policy.max_frame_len,
            control: ControlOut::new(p.control),
        };
        let mut tx_intake = Intake {
            next_ticket: 0,
            burst: BurstSize::default(),
            gen: 0,
            view: Arc::new(TxView {
                policy: p.policy,
                sci: p.sci,
                security: p.security,
                clear: p.clear,
                bypass: p.clear.has_lists(),
                encoding: None,
            }),
            attached: Vec::new(),
            s: tx,
        };
        tx_intake.rebuild();
        let mut rx_intake = Intake {
            next_ticket: 0,
            burst: BurstSize::default(),
            gen: 0,
            view: Arc::new(RxView {
                secy: RxSecY::new(p.policy, p.backend),
                security: p.security,
                clear: p.clear,
                bypass: p.clear.has_lists(),
                any_enabled: false,
            }),
            attached: Vec::new(),
            s: RxState {
                secy: RxSecY::new(p.policy, p.backend),
                security: p.security,
                clear: p.clear,
            },
        };
        rx_intake.rebuild();
        rx_intake.attached.clear();
        let rx_release = RxRelease {
            view: rx_intake.view.clone(),
            secy: SecyCounters::default(),
            link: LinkCounters::default(),
            rx_protected_seen: false,
            punts: Punts::new(p.eapol, p.punt_limits),
            epoch: Instant::now(),
            hist: hist()?,
        };
        let tx_release = TxRelease {
            secy: SecyCounters::default(),
            sa: Default::default(),
            link: LinkCounters::default(),
            hist: hist()?,
        };
        Ok(SharedLink {
            name: p.name,
            ports,
            backend: p.backend,
            latency: p.latency.then(Latency::start),
            tx_intake: CachePadded::new(Mutex::new(tx_intake)),
            tx_order: Ordered::new(slots_for(p.workers), tx_release),
            rx_intake: CachePadded::new(Mutex::new(rx_intake)),
            rx_order: Ordered::new(slots_for(p.workers), rx_release),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ports(&self) -> &P {
        &self.ports
    }

    /// The latency percentiles of both directions (with `latency` set at creation).
    pub fn latency_report(&self) -> Option<LatencyReport> {
        let l = self.latency?;
        let tx = self.tx_order.state();
        let rx = self.rx_order.state();
        Some(l.report(tx.hist.as_ref()?, rx.hist.as_ref()?))
    }

    /// Bursts received and not yet released, per direction (protect, validate).
    pub fn in_flight(&self) -> (u64, u64) {
        (
            self.tx_order.in_flight(lock(&self.tx_intake).next_ticket),
            self.rx_order.in_flight(lock(&self.rx_intake).next_ticket),
        )
    }

    /// Protect's release step for one burst: what rides with it, then count and send.
    fn release_tx(&self, r: &mut TxRelease, w: &mut TxWork<P::Frames>) {
        for c in w.cmds.drain(..) {
            match c {
                ReleaseCmd::Inject(f) => {
                    if self.ports.send(Side::Line, &f) {
                        r.link.eapol_injected += 1;
                    } else {
                        r.link.tx_drop_other += 1;
                    }
                }
                ReleaseCmd::ResetTxSa(an) => r.sa[(an & 3) as usize] = TxSaCounters::default(),
                ReleaseCmd::ResetCounters => {
                    r.secy = SecyCounters::default();
                    r.sa = Default::default();
                }
                _ => {}
            }
        }
        let n = w.frames.len();
        let mut keep = [false; BURST];
        let mut forward = 0;
        let mut k = 0;
        while k < n {
            if let TxOut::Sealed {
                an,
                encrypted,
                secure_len,
            } = w.out[k]
            {
                // A run of frames sealed alike (a burst is mostly one) is counted at once.
                let (mut frames, mut octets) = (1, u64::from(secure_len));
                let mut j = k + 1;
                while let Some(TxOut::Sealed {
                    an: a,
                    encrypted: e,
                    secure_len: l,
                }) = w.out[..n].get(j)
                {
                    if (*a, *e) != (an, encrypted) {
                        break;
                    }
                    frames += 1;
                    octets += u64::from(*l);
                    j += 1;
                }
                count_sealed_run(&mut r.secy, &mut r.sa, an, encrypted, frames, octets);
                keep[k..j].fill(true);
                forward += j - k;
                k = j;
                continue;
            }
            keep[k] = match w.out[k] {
                // Not reached: taken with its run above.
                TxOut::Sealed { .. } => true,
                TxOut::Clear => {
                    r.link.tx_clear += 1;
                    true
                }
                TxOut::Bypass => {
                    r.link.tx_bypass += 1;
                    true
                }
                TxOut::ClearUntagged => {
                    r.link.tx_clear += 1;
                    r.secy.out_pkts_untagged += 1;
                    true
                }
                TxOut::DropNoSa => {
                    r.link.tx_drop_no_sa += 1;
                    false
                }
                TxOut::TooLong => {
                    r.secy.out_pkts_too_long += 1;
                    false
                }
                TxOut::DropOther => {
                    r.link.tx_drop_other += 1;
                    false
                }
                TxOut::NonContiguous => {
                    r.link.rx_non_contiguous += 1;
                    false
                }
            };
            forward += usize::from(keep[k]);
            k += 1;
        }
        let sent = self.ports.tx(Side::Line, &mut w.frames, &keep[..n]);
        r.link.tx_ring_full += forward.saturating_sub(sent) as u64;
        if let Some(h) = r.hist.as_mut() {
            Latency::record(h, w.t0, sent);
        }
    }

    /// Validate's release step for one burst: what rides with it, then the replay check and
    /// window update, the counters, the punts, and the send to the host.
    fn release_rx(&self, r: &mut RxRelease, w: &mut RxWork<P::Frames>) {
        for c in w.cmds.drain(..) {
            match c {
                ReleaseCmd::RxView(v) => r.view = v,
                ReleaseCmd::SetLivePeers(macs) => {
                    let now = r.epoch.elapsed().as_nanos() as u64;
                    r.punts.limiter.set_live(&macs, now);
                }
                ReleaseCmd::ResetCounters => r.secy = SecyCounters::default(),
                _ => {}
            }
        }
        if !r.view.any_enabled {
            r.rx_protected_seen = false;
        }
        let RxRelease {
            view,
            secy,
            link,
            rx_protected_seen,
            punts,
            epoch,
            hist,
        } = r;
        let view: &RxView = view;
        let should_secure = view.security == SecurityPolicy::ShouldSecure;
        let mut commit = Commit::new(&view.secy.scs, &view.secy.policy, secy);
        let n = w.frames.len();
        let mut keep = [false; BURST];
        let mut forward = 0;
        let mut now = None;
        for (k, (out, keep)) in w.out[..n].iter().zip(keep.iter_mut()).enumerate() {
            *keep = match out {
                // Every delivered status (OK, and under Check/Disabled the unverified ones)
                // forwards; the SecY has counted it.
                RxOut::Opened(o) => match commit.frame(o) {
                    Ok(_) => {
                        *rx_protected_seen = true;
                        true
                    }
                    Err(_) => false,
                },
                RxOut::Punt => {
                    link.eapol_punted += 1;
                    // One clock read per burst, at its first punt.
                    let t = *now.get_or_insert_with(|| epoch.elapsed().as_nanos() as u64);
                    punts.punt(&self.name, w.frames.data(k), t, link);
                    false
                }
                RxOut::Lacp => {
                    link.rx_clear += 1;
                    true
                }
                RxOut::Bypass => {
                    link.rx_bypass += 1;
                    true
                }
                RxOut::Clear => {
                    if should_secure && !(*rx_protected_seen && view.any_enabled) {
                        link.rx_clear += 1;
                        commit.counters().in_pkts_untagged += 1;
                        true
                    } else {
                        commit.counters().in_pkts_no_tag += 1;
                        false
                    }
                }
                RxOut::NonContiguous => {
                    link.rx_non_contiguous += 1;
                    false
                }
            };
            forward += usize::from(*keep);
        }
        drop(commit);
        let sent = self.ports.tx(Side::Host, &mut w.frames, &keep[..n]);
        link.tx_ring_full += forward.saturating_sub(sent) as u64;
        if let Some(h) = hist.as_mut() {
            Latency::record(h, w.t0, sent);
        }
    }

    /// Receives from `queue` of `side` as many frames as `burst` asks for, and tells it what came.
    fn rx(&self, side: Side, queue: u16, burst: &mut BurstSize, into: &mut P::Frames) -> usize {
        let max = burst.next();
        let n = self.ports.rx(side, queue, max, into);
        burst.record(max, into);
        n
    }

    /// Counters and SAs as they stand: the intakes' SA tables, the releases' counters.
    pub fn snapshot(&self) -> Snapshot {
        let (tx_sci, encoding_an, tx_policy, tx_sas, security, clear) = {
            let i = lock(&self.tx_intake);
            let t = &i.s.secy;
            let sas: Vec<Arc<TxSa>> = (0..4u8).filter_map(|an| t.sa(an).cloned()).collect();
            (t.sci, t.encoding_an(), t.policy, sas, i.s.security, i.s.clear)
        };
        let (tx_secy, tx_sa_counters, tx_link) = {
            let r = self.tx_order.state();
            (r.secy, r.sa, r.link)
        };
        let rx = lock(&self.rx_intake).s.secy.clone();
        let (rx_secy, rx_link) = {
            let r = self.rx_order.state();
            (r.secy, r.link)
        };
        let sa = SaState {
            policy: Some(PolicyMsg {
                cipher_suite: tx_policy.cipher_suite,
                conf_offset: tx_policy.conf_offset.octets() as u8,
                confidentiality: tx_policy.confidentiality,
                include_sci: tx_policy.include_sci,
                use_es: tx_policy.use_es,
                use_scb: tx_policy.use_scb,
                validate_frames: rx.policy.validate_frames,
                replay_protect: rx.policy.replay_protect,
                replay_window: rx.policy.replay_window,
                security_policy: security,
                clear,
            }),
            tx_sci: tx_sci.0,
            encoding_an,
            tx: tx_sas
                .iter()
                .map(|sa| {
                    let c = tx_sa_counters[(sa.an & 3) as usize];
                    TxSaState {
                        an: sa.an,
                        next_pn: sa.next_pn(),
                        in_use: encoding_an == Some(sa.an),
                        ctx_salt: sa.ctx_salt(),
                        ki: None,
                        key_check: None,
                        out_pkts_protected: c.out_pkts_protected,
                        out_pkts_encrypted: c.out_pkts_encrypted,
                        installed_unix_ms: sa.created_unix_ms(),
                    }
                })
                .collect(),
            rx: rx
                .scs
                .iter()
                .flat_map(|sc| {
                    sc.sas().map(move |(sa, enabled)| {
                        let st = sa.state();
                        RxSaState {
                            sci: sc.sci.0,
                            an: sa.an,
                            next_pn: st.replay.next_pn(),
                            lowest_pn: st.replay.lowest_pn(),
                            enabled,
                            ctx_salt: sa.ctx_salt(),
                            ki: None,
                            key_check: None,
                            in_pkts_ok: st.counters.in_pkts_ok,
                            in_pkts_invalid: st.counters.in_pkts_invalid,
                            in_pkts_not_valid: st.counters.in_pkts_not_valid,
                            in_pkts_not_using_sa: st.counters.in_pkts_not_using_sa,
                            in_pkts_unused_sa: st.counters.in_pkts_unused_sa,
                            installed_unix_ms: sa.created_unix_ms(),
                        }
                    })
                })
                .collect(),
        };
        let mut secy = tx_secy;
        secy.add(&rx_secy);
        let mut link = tx_link;
        link.add(&rx_link);
        Snapshot { secy, link, sa }
    }

    /// Applies a control command to the intakes (see [`Command`]).
    pub fn apply(&self, cmd: Command) {
        match cmd {
            Command::SetPolicy {
                policy,
                security,
                clear,
            } => {
                let suite_changed = {
                    let mut i = lock(&self.tx_intake);
                    let mut policy = policy;
                    policy.max_frame_len = i.s.max_frame_len;
                    let changed = policy.cipher_suite != i.s.secy.policy.cipher_suite;
                    if changed {
                        // Keys of another suite are useless: start from no SAs.
                        i.s.secy = TxSecY::new(policy, i.s.secy.sci, self.backend);
                        i.attached.push(ReleaseCmd::ResetCounters);
                    } else {
                        i.s.secy.policy = policy;
                    }
                    i.s.security = security;
                    i.s.clear = clear;
                    i.rebuild();
                    changed
                };
                let mut i = lock(&self.rx_intake);
                if suite_changed {
                    i.s.secy = RxSecY::new(policy, self.backend);
                    i.attached.push(ReleaseCmd::ResetCounters);
                } else {
                    i.s.secy.set_policy(policy);
                }
                i.s.security = security;
                i.s.clear = clear;
                i.rebuild();
            }
            Command::PutTxSa(sa) => {
                let mut i = lock(&self.tx_intake);
                let an = sa.an;
                if i.s.secy.put_sa(sa).is_ok() {
                    i.attached.push(ReleaseCmd::ResetTxSa(an));
                    i.rebuild();
                }
            }
            Command::EnableTxSa(an) => {
                let mut i = lock(&self.tx_intake);
                if i.s.secy.set_encoding_an(an).is_ok() {
                    i.rebuild();
                }
            }
            Command::DeleteTxSa(an) => {
                let mut i = lock(&self.tx_intake);
                i.s.secy.delete_sa(an);
                i.rebuild();
            }
            Command::PutRxSa { sci, sa } => {
                let mut i = lock(&self.rx_intake);
                i.s.secy.put_sa(sci, *sa);
                i.rebuild();
            }
            Command::EnableRxSa { sci, an, enable } => {
                let mut i = lock(&self.rx_intake);
                if i.s.secy.set_enabled(sci, an, enable) {
                    i.rebuild();
                }
            }
            Command::DeleteRxSa { sci, an } => {
                let mut i = lock(&self.rx_intake);
                i.s.secy.delete_sa(sci, an);
                i.rebuild();
            }
            // At once, on the SA every view shares: a floor that only rises may hold for frames
            // already received as well (as if it had come a burst earlier).
            Command::SetLowestPn { sci, an, pn } => {
                if let Some(sa) = lock(&self.rx_intake).s.secy.sa(sci, an) {
                    sa.set_lowest_pn(pn);
                }
            }
            Command::Inject(frame) => lock(&self.tx_intake).attached.push(ReleaseCmd::Inject(frame)),
            Command::SetLivePeers(macs) => lock(&self.rx_intake)
                .attached
                .push(ReleaseCmd::SetLivePeers(macs)),
        }
    }
}

impl<P: LinkPorts> LinkControl for SharedLink<P> {
    fn apply(&self, cmd: Command) -> Result<(), Refused> {
        SharedLink::apply(self, cmd);
        Ok(())
    }

    fn snapshot(&self) -> Result<Snapshot, Refused> {
        Ok(SharedLink::snapshot(self))
    }
}

/// The PNs of a burst of `n` frames from the view's encoding SA, and the threshold event when
/// this reservation is the first to cross it.
fn reserve(v: &TxView, n: usize, link: &str) -> (PnBlock, Option<Event>) {
    match &v.encoding {
        Some(sa) => {
            let (block, crossed) = sa.reserve(n as u64);
            let ev = crossed.then(|| Event::PnThreshold {
                link: link.to_string(),
                an: sa.an,
                next_pn: block.end,
            });
            (block, ev)
        }
        None => (PnBlock { next: 0, end: 0 }, None),
    }
}

/// Protect's work step for a burst: each frame classified and, to be protected, prepared (PN
/// taken, addresses moved, SecTAG written); then every prepared frame sealed with one AEAD call
/// (the SA's multi-buffer key interleaves them) and its new span set. A frame the AEAD did not
/// seal is dropped: its text may be clear.
fn protect_burst<F: Frames>(v: &TxView, block: &mut PnBlock, frames: &mut F, out: &mut [TxOut]) {
    let n = frames.len().min(out.len());
    let mut at: [Option<(SealAt, Span)>; BURST] = [None; BURST];
    let mut lifted = [Lifted::default(); BURST];
    for k in 0..n {
        out[k] = prepare_one(v, block, frames, k, &mut at[k], &mut lifted[k]);
    }
    let Some(sa) = v.encoding.as_deref() else {
        return;
    };
    let mut idx: ArrayVec<usize, BURST> = ArrayVec::new();
    let mut ok = [false; BURST];
    {
        let mut jobs: ArrayVec<SealJob<'_>, BURST> = ArrayVec::new();
        for (k, (buf, _)) in frames.buffers_mut().enumerate().take(n) {
            if let Some((a, _)) = &at[k] {
                let (aad, text, tag) = a.split(buf);
                jobs.push(SealJob {
                    iv: a.iv,
                    aad,
                    text,
                    tag,
                });
                idx.push(k);
            }
        }
        if !jobs.is_empty() {
            let m = jobs.len();
            sa.key().seal_batch(&mut jobs, &mut ok[..m]);
        }
    }
    for (j, &k) in idx.iter().enumerate() {
        let sealed = at[k].is_some_and(|(_, span)| {
            let span = if lifted[k].n == 0 {
                span
            } else {
                lifted[k].put_back(frames.buffer_mut(k).0, span)
            };
            ok[j] && frames.set_span(k, span)
        });
        if !sealed {
            out[k] = TxOut::DropOther;
        }
    }
}

/// Protect's classification and preparation of frame `k` (see [`protect_burst`]); `at` gets
/// where its parts are when it is to be sealed.
#[inline]
fn prepare_one<F: Frames>(
    v: &TxView,
    block: &mut PnBlock,
    frames: &mut F,
    k: usize,
    at: &mut Option<(SealAt, Span)>,
    lifted: &mut Lifted,
) -> TxOut {
    if !frames.is_contiguous(k) {
        return TxOut::NonContiguous;
    }
    let (buf, span) = frames.buffer_mut(k);
    let Some((outer, tags, _, bypassed)) = classify(&buf[span.start..span.end()], &v.clear, v.bypass) else {
        return TxOut::DropOther;
    };
    if bypassed {
        return TxOut::Bypass;
    }
    if v.clear.lacp_in_clear && outer == EtherType::SLOW {
        return TxOut::Clear;
    }
    let Some(sa) = v.encoding.as_deref() else {
        return if v.security == SecurityPolicy::ShouldSecure {
            TxOut::ClearUntagged
        } else {
            TxOut::DropNoSa
        };
    };
    let Some(pn) = block.take() else {
        return TxOut::DropOther;
    };
    let span = if tags == 0 {
        span
    } else {
        // The tags stay in front of the SecTAG: the frame as sent must fit too.
        if let Some(max) = v.policy.max_frame_len {
            if span.len + v.policy.sectag_len() + ICV_LEN > max {
                return TxOut::TooLong;
            }
        }
        let (l, span) = Lifted::lift(buf, span, tags);
        *lifted = l;
        span
    };
    match prepare_seal(&v.policy, v.sci, sa, pn, buf, span) {
        Ok((s, a)) if s.secure_len <= usize::from(u16::MAX) => {
            *at = Some((a, s.span));
            TxOut::Sealed {
                an: s.an,
                encrypted: s.encrypted,
                secure_len: s.secure_len as u16,
            }
        }
        Ok(_) => TxOut::DropOther,
        Err(TxError::TooLong) => TxOut::TooLong,
        Err(_) => TxOut::DropOther,
    }
}

/// Validate's work step for a burst: each frame classified and, if MACsec, prepared (SecTAG,
/// SC and SA, PN); then the prepared frames opened with one AEAD call per run of frames of one
/// SA, and finished (SecTAG and ICV stripped).
fn validate_burst<F: Frames>(v: &RxView, frames: &mut F, out: &mut [RxOut]) {
    let n = frames.len().min(out.len());
    let mut at = [OpenAt::default(); BURST];
    let mut pending = [false; BURST];
    let mut lifted = [Lifted::default(); BURST];
    for k in 0..n {
        pending[k] = classify_rx(v, frames, k, &mut out[k], &mut at[k], &mut lifted[k]);
    }
    let mut idx: ArrayVec<usize, BURST> = ArrayVec::new();
    let mut ok = [false; BURST];
    {
        let mut jobs: ArrayVec<OpenJob<'_>, BURST> = ArrayVec::new();
        for (k, (buf, _)) in frames.buffers_mut().enumerate().take(n) {
            if pending[k] {
                let a = &at[k];
                let (aad, text, tag) = a.split(buf);
                jobs.push(OpenJob {
                    iv: a.iv,
                    aad,
                    text,
                    tag,
                });
                idx.push(k);
            }
        }
        // One AEAD call per run of consecutive frames of one SA (a burst is mostly one run; two
        // around a rekey).
        let mut i = 0;
        while i < jobs.len() {
            let first = (at[idx[i]].sc, at[idx[i]].an);
            let mut j = i + 1;
            while j < jobs.len() && (at[idx[j]].sc, at[idx[j]].an) == first {
                j += 1;
            }
            if let Some(key) = v.secy.open_key(&at[idx[i]]) {
                key.open_batch(&mut jobs[i..j], &mut ok[i..j]);
            }
            i = j;
        }
    }
    for (j, &k) in idx.iter().enumerate() {
        let RxOut::Opened(o) = &mut out[k] else {
            continue;
        };
        let (buf, _) = frames.buffer_mut(k);
        RxSecY::open_finish(o, &at[k], ok[j], buf);
        if lifted[k].n != 0 {
            o.moved_to(lifted[k].put_back(buf, o.span()));
        }
        // A frame that will not be delivered may keep any span.
        let _ = frames.set_span(k, o.span());
    }
}

/// Validate's classification of frame `k`, and the preparation of a MACsec frame (see
/// [`validate_burst`]), written to `out` in place; `at` gets where its parts are when it waits
/// for its AEAD.
#[inline]
fn classify_rx<F: Frames>(
    v: &RxView,
    frames: &mut F,
    k: usize,
    out: &mut RxOut,
    at: &mut OpenAt,
    lifted: &mut Lifted,
) -> bool {
    if !frames.is_contiguous(k) {
        *out = RxOut::NonContiguous;
        return false;
    }
    let (buf, span) = frames.buffer_mut(k);
    let Some((outer, tags, inner, bypassed)) = classify(&buf[span.start..span.end()], &v.clear, v.bypass)
    else {
        *out = RxOut::Clear;
        return false;
    };
    if bypassed {
        *out = RxOut::Bypass;
        return false;
    }
    match (inner, tags) {
        (EtherType::MACSEC, _) => {
            *out = RxOut::Opened(Opened::EMPTY);
            let RxOut::Opened(o) = out else {
                return false;
            };
            let (l, span) = Lifted::lift(buf, span, tags);
            *lifted = l;
            let pending = v.secy.open_prepare(buf, span, o, at);
            if !pending {
                if tags != 0 {
                    o.moved_to(l.put_back(buf, o.span()));
                }
                let _ = frames.set_span(k, o.span());
            }
            pending
        }
        // Our MKA's EAPOL and LACP are never behind a tag.
        (EtherType::EAPOL, 0) => {
            *out = RxOut::Punt;
            false
        }
        (EtherType::SLOW, 0) if v.clear.lacp_in_clear && outer == EtherType::SLOW => {
            *out = RxOut::Lacp;
            false
        }
        _ => {
            *out = RxOut::Clear;
            false
        }
    }
}

/// A worker's handle on a link: the link and the worker's copies of its views.
pub struct WorkerLink<P: LinkPorts> {
    link: Arc<SharedLink<P>>,
    tx: (u64, Arc<TxView>),
    rx: (u64, Arc<RxView>),
    /// With several host Rx queues: the one this worker reads, outside the intake, and the
    /// frames it read that wait for a ticket.
    host_queue: Option<u16>,
    held: P::Frames,
    /// Frames the next receive of `host_queue` asks for.
    held_burst: BurstSize,
}

impl<P: LinkPorts> WorkerLink<P> {
    pub fn new(link: Arc<SharedLink<P>>) -> Self {
        Self::with_index(link, 0)
    }

    /// The link's `index`-th worker: with several host Rx queues (RSS) it reads queue
    /// `index % queues` itself and takes the intake only for a ticket and the PNs.
    pub fn with_index(link: Arc<SharedLink<P>>, index: usize) -> Self {
        let tx = {
            let i = lock(&link.tx_intake);
            (i.gen, i.view.clone())
        };
        let rx = {
            let i = lock(&link.rx_intake);
            (i.gen, i.view.clone())
        };
        let queues = link.ports.rx_queues(Side::Host);
        WorkerLink {
            host_queue: (queues > 1).then(|| (index % usize::from(queues)) as u16),
            held: P::Frames::default(),
            held_burst: BurstSize::default(),
            link,
            tx,
            rx,
        }
    }

    pub fn link(&self) -> &Arc<SharedLink<P>> {
        &self.link
    }

    /// One round: a burst each way if this worker gets the intake; returns the frames received.
    pub fn poll(&mut self) -> usize {
        self.protect() + self.validate()
    }

    /// One burst host → line: intake (receive, ticket, PNs), work (seal), release. With several
    /// host queues the worker receives from its own queue first, then takes the intake for the
    /// ticket and PNs only (the frames wait in `held` while another worker has it).
    fn protect(&mut self) -> usize {
        let WorkerLink {
            link,
            tx,
            host_queue,
            held,
            held_burst,
            ..
        } = self;
        let link: &SharedLink<P> = link;
        if let Some(q) = *host_queue {
            if held.is_empty() {
                link.rx(Side::Host, q, held_burst, held);
            }
        }
        let Ok(mut i) = link.tx_intake.try_lock() else {
            return 0;
        };
        if i.s.control.pending() > 0 {
            i.s.control.send(None);
        }
        let t = i.next_ticket;
        let Some(mut slot) = link.tx_order.claim(t) else {
            return 0;
        };
        let n = match *host_queue {
            // The slot's frames are empty (its last burst was sent): it takes the held ones.
            Some(_) => {
                std::mem::swap(&mut slot.data.frames, held);
                slot.data.frames.len()
            }
            None => link.rx(Side::Host, 0, &mut i.burst, &mut slot.data.frames),
        };
        if n == 0 && i.attached.is_empty() {
            return 0;
        }
        if tx.0 != i.gen {
            *tx = (i.gen, i.view.clone());
        }
        let (mut block, ev) = reserve(&tx.1, n, &link.name);
        if ev.is_some() {
            i.s.control.send(ev);
        }
        let w = &mut slot.data;
        w.cmds = std::mem::take(&mut i.attached);
        w.t0 = if link.latency.is_some() { ticks() } else { 0 };
        i.next_ticket += 1;
        drop(i);
        let view: &TxView = &tx.1;
        protect_burst(view, &mut block, &mut w.frames, &mut w.out);
        link.tx_order
            .finish(slot, &mut |r, s| link.release_tx(r, &mut s.data));
        n
    }

    /// One burst line → host: intake (receive, ticket), work (open), release (replay, counters,
    /// punts, send).
    fn validate(&mut self) -> usize {
        let WorkerLink { link, rx, .. } = self;
        let link: &SharedLink<P> = link;
        let Ok(mut i) = link.rx_intake.try_lock() else {
            return 0;
        };
        let t = i.next_ticket;
        let Some(mut slot) = link.rx_order.claim(t) else {
            return 0;
        };
        let n = link.rx(Side::Line, 0, &mut i.burst, &mut slot.data.frames);
        if n == 0 && i.attached.is_empty() {
            return 0;
        }
        if rx.0 != i.gen {
            *rx = (i.gen, i.view.clone());
        }
        let w = &mut slot.data;
        w.cmds = std::mem::take(&mut i.attached);
        w.t0 = if link.latency.is_some() { ticks() } else { 0 };
        i.next_ticket += 1;
        drop(i);
        let view: &RxView = &rx.1;
        validate_burst(view, &mut w.frames, &mut w.out);
        link.rx_order
            .finish(slot, &mut |r, s| link.release_rx(r, &mut s.data));
        n
    }

    /// At stop: takes no more host frames, delivers what the line still holds (frames in flight
    /// on a looped or slow line) and applies the last commands (e.g. a final inject), until the
    /// line has been quiet for `quiet` polls in a row or `max` has passed.
    pub fn drain(&mut self, quiet: u32, max: Duration) {
        let deadline = Instant::now() + max;
        // Commands waiting for a burst (an inject) go with an empty one.
        self.protect();
        let mut idle = 0;
        while idle < quiet && Instant::now() < deadline {
            if self.validate() == 0 {
                idle += 1;
            } else {
                idle = 0;
            }
        }
        let link: &SharedLink<P> = &self.link;
        link.tx_order
            .release_ready(&mut |r, s| link.release_tx(r, &mut s.data));
        link.rx_order
            .release_ready(&mut |r, s| link.release_rx(r, &mut s.data));
    }
}

#[cfg(test)]
mod tests;
