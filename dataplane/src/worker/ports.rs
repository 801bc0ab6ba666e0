//! In-memory ports: the packet path without DPDK, for tests (here and in other crates) and
//! fakes of the dataplane. Each side of a link is a pair of unbounded queues: frames the test
//! puts in are received, frames the link sends come out.

use super::{Frames, LinkPorts, Side, BURST};
use crossbeam_channel::{Receiver, Sender};
use macsec::secy::Span;

/// Room before and after each frame (as an mbuf's headroom and tailroom).
pub const ROOM: usize = 64;

/// Frames received from [`MemPorts`], each in its own buffer with [`ROOM`] on both sides.
#[derive(Default)]
pub struct MemFrames {
    frames: Vec<(Vec<u8>, Span)>,
}

impl MemFrames {
    /// Frames as a receive would hand them over (headroom and tailroom around each).
    pub fn from_frames(frames: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let mut m = MemFrames::default();
        for f in frames {
            m.push(&f);
        }
        m
    }

    fn push(&mut self, f: &[u8]) {
        let mut buf = vec![0u8; ROOM + f.len() + ROOM];
        buf[ROOM..ROOM + f.len()].copy_from_slice(f);
        self.frames.push((buf, Span::new(ROOM, f.len())));
    }
}

impl Frames for MemFrames {
    fn len(&self) -> usize {
        self.frames.len()
    }

    fn is_contiguous(&self, _i: usize) -> bool {
        true
    }

    fn buffer_mut(&mut self, i: usize) -> (&mut [u8], Span) {
        let (buf, span) = &mut self.frames[i];
        (buf, *span)
    }

    fn data(&self, i: usize) -> &[u8] {
        let (buf, span) = &self.frames[i];
        &buf[span.start..span.end()]
    }

    fn buffers_mut(&mut self) -> impl Iterator<Item = (&mut [u8], Span)> {
        self.frames.iter_mut().map(|(b, s)| (b.as_mut_slice(), *s))
    }

    fn set_span(&mut self, i: usize, span: Span) -> bool {
        let (buf, s) = &mut self.frames[i];
        if span.end() > buf.len() {
            return false;
        }
        *s = span;
        true
    }
}

/// The test's ends of [`MemPorts`]: put frames in to be received, take sent frames out.
pub struct MemWires {
    pub host_in: Sender<Vec<u8>>,
    pub host_out: Receiver<Vec<u8>>,
    pub line_in: Sender<Vec<u8>>,
    pub line_out: Receiver<Vec<u8>>,
}

/// A link's two ports as in-memory queues.
pub struct MemPorts {
    host_in: Receiver<Vec<u8>>,
    host_out: Sender<Vec<u8>>,
    line_in: Receiver<Vec<u8>>,
    line_out: Sender<Vec<u8>>,
}

impl MemPorts {
    pub fn new() -> (MemPorts, MemWires) {
        let (host_in_tx, host_in) = crossbeam_channel::unbounded();
        let (host_out, host_out_rx) = crossbeam_channel::unbounded();
        let (line_in_tx, line_in) = crossbeam_channel::unbounded();
        let (line_out, line_out_rx) = crossbeam_channel::unbounded();
        (
            MemPorts {
                host_in,
                host_out,
                line_in,
                line_out,
            },
            MemWires {
                host_in: host_in_tx,
                host_out: host_out_rx,
                line_in: line_in_tx,
                line_out: line_out_rx,
            },
        )
    }

    fn wires(&self, side: Side) -> (&Receiver<Vec<u8>>, &Sender<Vec<u8>>) {
        match side {
            Side::Host => (&self.host_in, &self.host_out),
            Side::Line => (&self.line_in, &self.line_out),
        }
    }
}

impl LinkPorts for MemPorts {
    type Frames = MemFrames;

    fn rx(&self, side: Side, _queue: u16, max: usize, into: &mut MemFrames) -> usize {
        let (input, _) = self.wires(side);
        into.frames.clear();
        while into.frames.len() < max.min(BURST) {
            let Ok(f) = input.try_recv() else { break };
            into.push(&f);
        }
        into.frames.len()
    }

    fn tx(&self, side: Side, frames: &mut MemFrames, keep: &[bool]) -> usize {
        let (_, output) = self.wires(side);
        let mut sent = 0;
        for (i, (buf, span)) in frames.frames.drain(..).enumerate() {
            if keep.get(i).copied().unwrap_or(false)
                && output.send(buf[span.start..span.end()].to_vec()).is_ok()
            {
                sent += 1;
            }
        }
        sent
    }

    fn send(&self, side: Side, bytes: &[u8]) -> bool {
        self.wires(side).1.send(bytes.to_vec()).is_ok()
    }
}

/// A link on in-memory ports, for tests and fakes of the dataplane: the link, the test's ends of
/// its ports, and the queues of its control events and EAPOL punts.
pub struct MemLink {
    pub link: std::sync::Arc<super::SharedLink<MemPorts>>,
    pub wires: MemWires,
    pub control: Receiver<ipc::Event>,
    pub eapol: Receiver<ipc::Event>,
}

impl MemLink {
    /// A link named `name` with `policy` (ring backend, default punt limits, no latency).
    pub fn new(
        name: &str,
        policy: macsec::secy::Policy,
        sci: macsec::secy::Sci,
        security: ipc::SecurityPolicy,
        clear: ipc::ClearPolicy,
    ) -> MemLink {
        Self::with_backend(name, policy, sci, security, clear, macsec::crypto::Backend::Ring)
    }

    /// [`MemLink::new`] with another AEAD backend.
    pub fn with_backend(
        name: &str,
        policy: macsec::secy::Policy,
        sci: macsec::secy::Sci,
        security: ipc::SecurityPolicy,
        clear: ipc::ClearPolicy,
        backend: macsec::crypto::Backend,
    ) -> MemLink {
        let (ports, wires) = MemPorts::new();
        let (ctx, control) = crossbeam_channel::bounded(super::CONTROL_QUEUE);
        let (etx, eapol) = crossbeam_channel::bounded(super::EAPOL_QUEUE);
        let params = super::LinkParams {
            name: name.into(),
            policy,
            sci,
            backend,
            security,
            clear,
            control: ctx,
            eapol: etx,
            punt_limits: super::PuntLimits::default(),
            latency: false,
            workers: super::MAX_WORKERS_PER_LINK,
        };
        let link = match super::SharedLink::new(params, ports) {
            Ok(l) => l,
            // Without latency histograms there is nothing to allocate that can fail.
            Err(e) => unreachable!("{e}"),
        };
        MemLink {
            link: std::sync::Arc::new(link),
            wires,
            control,
            eapol,
        }
    }
}

/// What a [`TapLink`] hands the test.
#[derive(Debug, Clone)]
pub enum Tap {
    /// A frame the control plane injected, with the SA state in force when it was applied (it
    /// leaves with the next burst, after every change applied before it).
    Injected { frame: Vec<u8>, sa: ipc::SaState },
    /// The live peers the control plane named.
    LivePeers(Vec<[u8; 6]>),
}

/// A fake dataplane link for control-plane tests: a [`MemLink`] whose injected frames and live
/// peers are handed to the test as they are applied, and that refuses every request once
/// [`TapLink::stop`] was called (as a link that stopped running would).
pub struct TapLink {
    pub mem: MemLink,
    taps: Sender<Tap>,
    alive: std::sync::atomic::AtomicBool,
}

impl TapLink {
    /// A must-secure link named `name` with `policy`, and the test's end of its taps.
    pub fn new(
        name: &str,
        policy: macsec::secy::Policy,
        sci: macsec::secy::Sci,
    ) -> (std::sync::Arc<TapLink>, Receiver<Tap>) {
        let (taps, rx) = crossbeam_channel::unbounded();
        let link = TapLink {
            mem: MemLink::new(
                name,
                policy,
                sci,
                ipc::SecurityPolicy::MustSecure,
                Default::default(),
            ),
            taps,
            alive: std::sync::atomic::AtomicBool::new(true),
        };
        (std::sync::Arc::new(link), rx)
    }

    /// From now on every request is refused.
    pub fn stop(&self) {
        self.alive.store(false, std::sync::atomic::Ordering::Relaxed);
    }

    fn running(&self) -> Result<(), super::Refused> {
        if self.alive.load(std::sync::atomic::Ordering::Relaxed) {
            Ok(())
        } else {
            Err(super::Refused("the link's worker has stopped".into()))
        }
    }
}

impl super::LinkControl for TapLink {
    fn apply(&self, cmd: super::Command) -> Result<(), super::Refused> {
        self.running()?;
        match cmd {
            super::Command::Inject(frame) => {
                let sa = self.mem.link.snapshot().sa;
                let _ = self.taps.send(Tap::Injected { frame, sa });
            }
            super::Command::SetLivePeers(macs) => {
                let _ = self.taps.send(Tap::LivePeers(macs));
            }
            other => self.mem.link.apply(other),
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<super::Snapshot, super::Refused> {
        self.running()?;
        Ok(self.mem.link.snapshot())
    }
}
