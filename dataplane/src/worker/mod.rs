//! The per-link packet path: classify, protect or validate in place, forward; on one or several
//! worker lcores per link, with frames leaving in the order they arrived.
//!
//! Host → line: frames of a listed EtherType or to a listed destination MAC pass in the clear
//! (counted as bypass), LACP under lacp-in-clear; otherwise every frame is protected with the
//! encoding SA, its first 0, 1 or 2 VLAN tags left in front of the SecTAG under
//! vlan-tags-in-clear (outside the ICV). With no SA in use, must-secure drops and should-secure
//! sends in the clear.
//! Line → host: the bypass lists first; EAPOL goes to the control plane; LACP passes in the clear
//! under lacp-in-clear; MACsec frames (behind up to vlan-tags-in-clear tags, put back in front
//! of the decrypted frame) are validated; other frames pass only under should-secure while the
//! link has no receive SA, and are otherwise dropped (InPktsNoTag).
//!
//! Each direction of a link is a three-step pipeline that any number of workers share
//! ([`SharedLink`]):
//! 1. **intake** (one worker at a time, `try_lock`): receive a burst, number it (a ticket), and
//!    for protect reserve its PNs, in arrival order: the PN order is the wire order;
//! 2. **work** (every worker at once): protect or open (verify and decrypt) each frame of its own
//!    burst, reading only an immutable view of the SecY;
//! 3. **release** (one worker at a time, in ticket order, `order::Ordered`): the replay check and
//!    window update, every counter, the EAPOL punts, and the transmit burst.
//!
//! So with N workers a link counts, checks replay and transmits exactly as one worker would, and
//! no worker ever waits for another (a worker that finds a step taken does other work). Control
//! commands ([`Command`]) are applied by the control thread to the intake state under its lock:
//! a change takes effect from the next burst received, for every worker. What the release step
//! must see in order (a new Rx SA table, a frame to inject) rides with that burst.
//!
//! The steps are generic over the ports ([`LinkPorts`]): DPDK ports in the dataplane
//! (`DpdkPorts`), in-memory queues in tests ([`ports::MemPorts`]).

mod burst;
mod latency;
mod link;
mod order;
pub mod ports;
mod punt;

#[cfg(feature = "dpdk")]
mod dpdk_ports;

pub use latency::{ticks, Histogram, Latency, LatencyError, LatencyReport, LatencySummary};
pub use link::{LinkParams, SharedLink, WorkerLink};
pub use punt::{
    ControlOut, PuntDrop, PuntLimiter, PuntLimits, Punts, CONTROL_QUEUE, EAPOL_QUEUE, LIVE_RESERVE,
    MAX_LIVE_PEERS, PUNT_SOURCES,
};

#[cfg(feature = "dpdk")]
pub use dpdk_ports::{DpdkPorts, Pacer};

use ipc::{LinkCounters, SaState, SecurityPolicy};
use macsec::secy::{Policy, RxSa, Sci, SecyCounters, Span, TxSa};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Frames one intake receives at most (one rx burst). 64 rather than DPDK's customary 32: the
/// intake's and the release's lock handovers are per burst (measured with 2 workers at 64 octets:
/// +6%, and +5% with one).
pub const BURST: usize = 64;

/// Most workers one link may have.
pub const MAX_WORKERS_PER_LINK: usize = 16;

/// What the control thread asks of a link. Applied at once to the link's intake state (so a
/// change holds from the next burst any worker receives); what the release step must do in order
/// with the frames (inject a frame, new live peers, the new Rx SA table) goes with the next burst.
pub enum Command {
    SetPolicy {
        policy: Policy,
        security: SecurityPolicy,
        clear: ipc::ClearPolicy,
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
    /// A frame to send out of the line port, in order with the protected frames.
    Inject(Vec<u8>),
    /// The source MACs of the control plane's live peers: their EAPOL frames take the priority
    /// lane of the punt path.
    SetLivePeers(Vec<[u8; 6]>),
}

/// Counters and SA state of a link at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub secy: SecyCounters,
    pub link: LinkCounters,
    pub sa: SaState,
}

/// A link refused a request (it is not running); the text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The control thread's view of a link: apply a command, read counters and SA state.
pub trait LinkControl: Send + Sync {
    fn apply(&self, cmd: Command) -> Result<(), Refused>;
    fn snapshot(&self) -> Result<Snapshot, Refused>;
}

/// Which port of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Host,
    Line,
}

/// One rx burst's frames, in arrival order, each in a buffer with head- and tailroom.
pub trait Frames: Default + Send {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether frame `i` is in one contiguous buffer (a frame that is not is dropped).
    fn is_contiguous(&self, i: usize) -> bool;
    /// Frame `i`'s whole buffer and where the frame is in it.
    fn buffer_mut(&mut self, i: usize) -> (&mut [u8], Span);
    /// Frame `i`'s octets.
    fn data(&self, i: usize) -> &[u8];
    /// Every frame's whole buffer and where the frame is in it, all at once (disjoint borrows:
    /// a burst's AEAD jobs point into all of them).
    fn buffers_mut(&mut self) -> impl Iterator<Item = (&mut [u8], Span)>;
    /// Frame `i` is now at `span` of its buffer (protect and validate move its start); false when
    /// the span does not fit the buffer.
    fn set_span(&mut self, i: usize, span: Span) -> bool;
}

/// A link's host and line ports as the pipeline uses them. Receiving on a queue is done by one
/// thread at a time (the intake's holder, or with several host queues the queue's worker), and
/// transmitting by one (the release's holder).
pub trait LinkPorts: Send + Sync {
    type Frames: Frames;
    /// Receives up to `max` (at most [`BURST`]) frames from `queue` of `side` into the empty
    /// `into`; returns how many.
    fn rx(&self, side: Side, queue: u16, max: usize, into: &mut Self::Frames) -> usize;
    /// Rx queues of `side` (more than one: spread by RSS, each read by its own worker).
    fn rx_queues(&self, side: Side) -> u16 {
        let _ = side;
        1
    }
    /// Sends the frames of `frames` whose `keep` is set, in order, and frees the others; returns
    /// how many of the kept frames the port took (the rest were dropped). `frames` is empty after.
    fn tx(&self, side: Side, frames: &mut Self::Frames, keep: &[bool]) -> usize;
    /// Sends one frame built from `bytes` out of `side`; false when it could not be sent.
    fn send(&self, side: Side, bytes: &[u8]) -> bool;
}

/// Empty polls in a row after which an idle sleep ([`run`]'s `idle_sleep`) starts.
const IDLE_POLLS: u32 = 256;

/// A worker's loop: polls its links (each direction's intake, work and release) until `stop`.
/// With a non-zero `idle_sleep`, it sleeps that long each time [`IDLE_POLLS`] rounds in a row
/// found no frame on any port. `until` (tests only) ends the loop after that long as `stop` would.
pub fn run<P: LinkPorts>(
    links: &mut [WorkerLink<P>],
    stop: &AtomicBool,
    idle_sleep: Duration,
    until: Option<Duration>,
) {
    let began = std::time::Instant::now();
    let mut empty_rounds = 0u32;
    while !stop.load(Ordering::Relaxed) && until.is_none_or(|u| began.elapsed() < u) {
        let mut frames = 0;
        for l in links.iter_mut() {
            frames += l.poll();
        }
        if frames > 0 || idle_sleep.is_zero() {
            empty_rounds = 0;
        } else if empty_rounds < IDLE_POLLS {
            empty_rounds += 1;
        } else {
            std::thread::sleep(idle_sleep);
        }
    }
}
