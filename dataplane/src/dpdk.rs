//! The only safe wrapper over `dpdk-sys`: the EAL, lcore launch, mempools, ports (ethdev) and
//! bursts of owned mbufs.
//!
//! # Ownership and safety model
//!
//! - [`Eal`] is initialized once per process ([`Eal::init`]); a second call returns
//!   [`DpdkError::AlreadyInitialized`], even after the first one failed or was cleaned up (DPDK
//!   cannot re-initialize its EAL). Every other object needs an initialized EAL and returns
//!   [`DpdkError::NotInitialized`] otherwise.
//! - Teardown ([`Eal::cleanup`] or dropping the [`Eal`]) waits for every worker lcore, stops and
//!   closes every port this module configured and then calls `rte_eal_cleanup` — but only if no
//!   [`Mempool`] is alive any more (an [`Mbuf`] keeps its pool's memory in use). Otherwise it skips
//!   `rte_eal_cleanup` and leaves the EAL up, so that live handles never point into freed memory.
//! - A [`Mempool`] is reference counted; a configured port holds a reference to its Rx pool until
//!   [`Port::close`]. The last reference frees the pool with `rte_mempool_free` only when none of
//!   its mbufs is out (`rte_mempool_in_use_count() == 0`); otherwise the pool is leaked (a bounded,
//!   one-off leak) rather than freed under live mbufs.
//! - An [`Mbuf`] owns exactly one packet (refcount 1, the whole segment chain) and frees it on drop.
//!   A [`Burst`] owns the mbufs in `head..tail` of a fixed array; every operation that hands an
//!   mbuf on (to the PMD in [`Burst::tx`], to the caller in [`Burst::pop_front`] / [`Burst::pop`]
//!   / [`Burst::drain`], or frees it) first removes it from `head..tail`, so no mbuf can be freed
//!   twice: at worst (a panic
//!   inside [`Burst::retain_mut`], a leaked [`Drain`]) mbufs are leaked.
//! - Rx and Tx queues are guarded by a per-queue gate (one atomic compare-exchange per burst on a
//!   cache line owned by the polling core): a burst on a queue that is not configured and started,
//!   or that another thread is polling at that moment, returns 0 instead of entering the PMD, and
//!   [`Port::stop`] / [`Port::close`] / [`Port::configure`] wait for the burst in progress. So the
//!   safe API cannot race a PMD queue; the intended use is still one polling lcore per queue.
//! - Port control operations (configure/start/stop/close/stats...) are serialized by one mutex;
//!   they are control-path only.
//!
//! Threads: [`launch`] runs a closure on a worker lcore (`rte_eal_remote_launch`); a panic in it
//! is caught and turns into the return value -1. Mbufs and mempools are `Send`; allocation and free
//! are thread-safe (per-lcore caches on EAL lcores, the shared ring elsewhere).

use dpdk_sys as sys;
use serde::Serialize;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut};
use std::panic::AssertUnwindSafe;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// `ENOTSUP` on Linux (what ethdev returns for an operation a PMD does not implement).
const ENOTSUP: i32 = 95;
/// Port ids this module can address (`RTE_MAX_ETHPORTS`).
const MAX_PORTS: usize = sys::RTE_MAX_ETHPORTS as usize;
/// Queues per direction per port this module supports (bounds the static gate table).
pub const MAX_QUEUES: u16 = 64;
/// The mbuf headroom DPDK reserves in front of received data (`RTE_PKTMBUF_HEADROOM`).
pub const PKTMBUF_HEADROOM: u16 = sys::RTE_PKTMBUF_HEADROOM as u16;

/// Errors of the DPDK wrapper. Failed DPDK calls carry the function name, the (positive) errno and
/// its `rte_strerror` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpdkError {
    #[error("the EAL is already initialized (it initializes once per process)")]
    AlreadyInitialized,
    #[error("the EAL is not initialized")]
    NotInitialized,
    #[error("{func} failed: {msg} (errno {errno})")]
    Call {
        func: &'static str,
        errno: i32,
        msg: String,
    },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("no such port: {0}")]
    NoSuchPort(String),
    #[error("lcore {0} is not an enabled worker lcore")]
    InvalidLcore(u32),
    #[error("mbuf window {off}+{len} does not fit its {buf_len}-octet buffer")]
    Window { off: usize, len: usize, buf_len: usize },
    #[error("mbuf is segmented ({0} segments)")]
    Segmented(u16),
    #[error("EAL cleanup skipped: {0} mempool(s) still alive")]
    Busy(usize),
}

impl DpdkError {
    /// The errno of a failed DPDK call.
    pub fn errno(&self) -> Option<i32> {
        match self {
            DpdkError::Call { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The PMD does not implement the operation (`-ENOTSUP`), e.g. promiscuous mode on a vdev.
    pub fn is_not_supported(&self) -> bool {
        self.errno() == Some(ENOTSUP)
    }
}

/// `rte_strerror` text of a positive errno.
fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror accepts any value and returns a NUL-terminated string, static or in a
    // per-thread buffer that stays valid until this thread's next call; it is copied out at once.
    let msg = unsafe { CStr::from_ptr(sys::rte_strerror(errno)) };
    msg.to_string_lossy().into_owned()
}

fn call_err(func: &'static str, errno: i32) -> DpdkError {
    DpdkError::Call {
        func,
        errno,
        msg: strerror(errno),
    }
}

/// ethdev/EAL convention: a negative return is `-errno`.
fn check(func: &'static str, ret: c_int) -> Result<c_int, DpdkError> {
    if ret < 0 {
        Err(call_err(func, -ret))
    } else {
        Ok(ret)
    }
}

/// For calls that report through `rte_errno` (`rte_eal_init`, `rte_pktmbuf_pool_create`).
fn rte_errno_err(func: &'static str) -> DpdkError {
    // SAFETY: reads this thread's rte_errno (a per-lcore TLS variable); no other effect.
    let errno = unsafe { sys::shim_rte_errno() };
    call_err(func, errno)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Global state
// ---------------------------------------------------------------------------------------------

/// `Eal::init` was called once (successfully or not).
static EAL_ATTEMPTED: AtomicBool = AtomicBool::new(false);
/// The EAL is initialized and not cleaned up. Changed only with `CONTROL` held.
static EAL_READY: AtomicBool = AtomicBool::new(false);
/// Mempools created and not yet freed (leaked ones included).
static LIVE_POOLS: AtomicUsize = AtomicUsize::new(0);
/// Serializes `rte_eal_remote_launch` (it is not thread-safe) and teardown.
static LAUNCH: Mutex<()> = Mutex::new(());
/// Serializes port control operations and teardown; holds what each port references.
static CONTROL: Mutex<PortTable> = Mutex::new(PortTable::new());

#[derive(Default)]
struct PortEntry {
    /// Every pool an Rx queue of this port was set up with since the last close.
    pools: Vec<Mempool>,
    rx_queues: u16,
    tx_queues: u16,
    configured: bool,
    started: bool,
}

struct PortTable {
    ports: [Option<Box<PortEntry>>; MAX_PORTS],
}

impl PortTable {
    const fn new() -> Self {
        PortTable {
            ports: [const { None }; MAX_PORTS],
        }
    }

    fn entry(&mut self, port: u16) -> &mut PortEntry {
        self.ports[usize::from(port)].get_or_insert_with(Box::default)
    }
}

/// The port table, if the EAL is up.
fn control() -> Result<MutexGuard<'static, PortTable>, DpdkError> {
    let guard = lock(&CONTROL);
    if EAL_READY.load(Ordering::Acquire) {
        Ok(guard)
    } else {
        Err(DpdkError::NotInitialized)
    }
}

const GATE_CLOSED: u8 = 0;
const GATE_OPEN: u8 = 1;
const GATE_BUSY: u8 = 2;
const GATE_CLOSING: u8 = 3;

/// Per-queue guard: CLOSED (not usable) -> OPEN (started) -> BUSY (a burst is in the PMD).
/// Only the thread that moved a gate to BUSY moves it out of BUSY/CLOSING.
#[repr(align(64))]
struct Gate(AtomicU8);

impl Gate {
    const fn new() -> Self {
        Gate(AtomicU8::new(GATE_CLOSED))
    }

    /// Take the queue for one burst.
    #[inline]
    fn enter(&self) -> bool {
        self.0
            .compare_exchange(GATE_OPEN, GATE_BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Release the queue after a burst.
    #[inline]
    fn leave(&self) {
        if self
            .0
            .compare_exchange(GATE_BUSY, GATE_OPEN, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // A closer is waiting (CLOSING): hand it the closed gate.
            self.0.store(GATE_CLOSED, Ordering::Release);
        }
    }

    /// Control path (with `CONTROL` held): allow bursts.
    fn open(&self) {
        self.0.store(GATE_OPEN, Ordering::Release);
    }

    /// Control path (with `CONTROL` held): forbid bursts, waiting for the one in progress.
    fn close(&self) {
        loop {
            match self.0.load(Ordering::Acquire) {
                GATE_CLOSED => return,
                GATE_OPEN => {
                    if self
                        .0
                        .compare_exchange(GATE_OPEN, GATE_CLOSED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return;
                    }
                }
                GATE_BUSY => {
                    let _ =
                        self.0
                            .compare_exchange(GATE_BUSY, GATE_CLOSING, Ordering::AcqRel, Ordering::Acquire);
                }
                _ => std::hint::spin_loop(), // CLOSING: the burst is finishing
            }
        }
    }
}

static RX_GATES: [Gate; MAX_PORTS * MAX_QUEUES as usize] =
    [const { Gate::new() }; MAX_PORTS * MAX_QUEUES as usize];
static TX_GATES: [Gate; MAX_PORTS * MAX_QUEUES as usize] =
    [const { Gate::new() }; MAX_PORTS * MAX_QUEUES as usize];

#[inline]
fn gate(table: &'static [Gate], port: u16, queue: u16) -> Option<&'static Gate> {
    if usize::from(port) >= MAX_PORTS || queue >= MAX_QUEUES {
        return None;
    }
    table.get(usize::from(port) * usize::from(MAX_QUEUES) + usize::from(queue))
}

fn close_gates(port: u16) {
    for q in 0..MAX_QUEUES {
        if let Some(g) = gate(&RX_GATES, port, q) {
            g.close();
        }
        if let Some(g) = gate(&TX_GATES, port, q) {
            g.close();
        }
    }
}

fn open_gates(port: u16, rx_queues: u16, tx_queues: u16) {
    for q in 0..rx_queues {
        if let Some(g) = gate(&RX_GATES, port, q) {
            g.open();
        }
    }
    for q in 0..tx_queues {
        if let Some(g) = gate(&TX_GATES, port, q) {
            g.open();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// EAL and lcores
// ---------------------------------------------------------------------------------------------

/// The initialized DPDK Environment Abstraction Layer. Dropping it tears the EAL down (see the
/// module documentation); it is not `Send` since teardown waits for the workers from the main lcore.
pub struct Eal {
    parsed_args: usize,
    _main_thread: PhantomData<*mut ()>,
}

impl Eal {
    /// `rte_eal_init` with `args` as the full argv (`args[0]` is the program name). Once per
    /// process. The argument strings are leaked on purpose: EAL may keep pointers into argv.
    /// Note that EAL itself exits the process on `--help`.
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        if args.is_empty() {
            return Err(DpdkError::InvalidArgument(
                "EAL argv needs a program name at [0]".into(),
            ));
        }
        let cargs = args
            .iter()
            .map(|a| CString::new(a.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| DpdkError::InvalidArgument("EAL argument contains a NUL octet".into()))?;
        let argc = c_int::try_from(cargs.len())
            .map_err(|_| DpdkError::InvalidArgument("too many EAL arguments".into()))?;
        if EAL_ATTEMPTED.swap(true, Ordering::AcqRel) {
            return Err(DpdkError::AlreadyInitialized);
        }
        let mut argv: Vec<*mut c_char> = cargs.into_iter().map(CString::into_raw).collect();
        argv.push(std::ptr::null_mut());
        let argv: &'static mut [*mut c_char] = Box::leak(argv.into_boxed_slice());
        let _control = lock(&CONTROL);
        // SAFETY: argv holds argc valid NUL-terminated strings plus a NULL terminator, all leaked
        // ('static), so EAL may permute the array and keep pointers into it; EAL_ATTEMPTED
        // guarantees a single call per process.
        let ret = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(rte_errno_err("rte_eal_init"));
        }
        EAL_READY.store(true, Ordering::Release);
        Ok(Eal {
            parsed_args: ret as usize,
            _main_thread: PhantomData,
        })
    }

    /// How many arguments (after the program name) EAL consumed.
    pub fn parsed_args(&self) -> usize {
        self.parsed_args
    }

    pub fn main_lcore() -> u32 {
        main_lcore()
    }

    pub fn worker_lcores() -> Vec<u32> {
        worker_lcores()
    }

    pub fn lcore_id() -> u32 {
        lcore_id()
    }

    pub fn socket_id() -> i32 {
        socket_id()
    }

    /// Tear down explicitly and see the outcome ([`DpdkError::Busy`] if mempools are alive, in
    /// which case the EAL stays up).
    pub fn cleanup(self) -> Result<(), DpdkError> {
        let me = ManuallyDrop::new(self);
        me.teardown()
    }

    fn teardown(&self) -> Result<(), DpdkError> {
        // No new launches from here on; wait for the running ones without holding CONTROL
        // (workers may be using port control operations).
        let _launch = lock(&LAUNCH);
        wait_all();
        let mut table = lock(&CONTROL);
        if !EAL_READY.load(Ordering::Acquire) {
            return Ok(());
        }
        for id in 0..MAX_PORTS {
            if let Some(entry) = table.ports[id].take() {
                if entry.configured {
                    let port = id as u16;
                    close_gates(port);
                    // SAFETY: a port this module configured; every queue gate is closed, so no
                    // burst is inside the PMD; CONTROL is held. Errors are irrelevant at teardown.
                    unsafe {
                        if entry.started {
                            sys::rte_eth_dev_stop(port);
                        }
                        sys::rte_eth_dev_close(port);
                    }
                }
                drop(entry); // releases the port's pools
            }
        }
        let live = LIVE_POOLS.load(Ordering::Acquire);
        if live > 0 {
            return Err(DpdkError::Busy(live));
        }
        EAL_READY.store(false, Ordering::Release);
        // SAFETY: the EAL was initialized, every worker is idle (waited above, LAUNCH held), all
        // ports this module touched are closed, no mempool (hence no mbuf) is alive, and
        // EAL_READY is now false (under CONTROL), so no wrapper call can enter DPDK afterwards.
        check("rte_eal_cleanup", unsafe { sys::rte_eal_cleanup() })?;
        Ok(())
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// The main lcore (`rte_get_main_lcore`).
pub fn main_lcore() -> u32 {
    // SAFETY: reads the EAL configuration (static storage; 0 before init).
    unsafe { sys::rte_get_main_lcore() }
}

/// Every enabled lcore except the main one, in order (none before EAL init).
pub fn worker_lcores() -> Vec<u32> {
    let mut out = Vec::new();
    if !EAL_READY.load(Ordering::Acquire) {
        return out;
    }
    let mut i = u32::MAX; // RTE_LCORE_FOREACH_WORKER starts from -1
    loop {
        // SAFETY: rte_get_next_lcore only reads the static lcore role table and returns
        // RTE_MAX_LCORE when there is no next lcore.
        i = unsafe { sys::rte_get_next_lcore(i, 1, 0) };
        if i >= sys::RTE_MAX_LCORE {
            return out;
        }
        out.push(i);
    }
}

/// The lcore id of the calling thread (`u32::MAX`, `LCORE_ID_ANY`, on a non-EAL thread).
pub fn lcore_id() -> u32 {
    // SAFETY: reads a per-thread variable.
    unsafe { sys::shim_rte_lcore_id() }
}

/// The NUMA socket of the calling thread (-1, `SOCKET_ID_ANY`, if unknown).
pub fn socket_id() -> i32 {
    // SAFETY: reads a per-thread variable.
    unsafe { sys::rte_socket_id() as i32 }
}

type Job = Box<dyn FnOnce() -> i32 + Send + 'static>;

unsafe extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Box<Job>` that `launch` leaked for this one run; EAL passes it to
    // exactly one call of this function, which takes ownership back.
    let job = unsafe { Box::from_raw(arg.cast::<Job>()) };
    // A panic must not unwind into C: it becomes the return value -1.
    std::panic::catch_unwind(AssertUnwindSafe(move || (*job)())).unwrap_or(-1)
}

/// Run `f` on worker lcore `lcore` (`rte_eal_remote_launch`); its return value is what
/// [`wait_lcore`] returns (-1 if it panicked). Fails with `-EBUSY` if the lcore is still running a
/// job. Jobs must not launch jobs themselves (EAL teardown waits for the workers while holding
/// the launch lock).
pub fn launch(lcore: u32, f: Box<dyn FnOnce() -> i32 + Send + 'static>) -> Result<(), DpdkError> {
    let _launch = lock(&LAUNCH);
    if !EAL_READY.load(Ordering::Acquire) {
        return Err(DpdkError::NotInitialized);
    }
    // SAFETY: rte_lcore_is_enabled bounds-checks its argument and reads static configuration.
    let enabled = lcore < sys::RTE_MAX_LCORE && unsafe { sys::rte_lcore_is_enabled(lcore) } != 0;
    if !enabled || lcore == main_lcore() {
        return Err(DpdkError::InvalidLcore(lcore));
    }
    let arg = Box::into_raw(Box::new(f)).cast::<c_void>();
    // SAFETY: the EAL is up, `lcore` is an enabled worker, LAUNCH serializes launches, and the
    // trampoline takes ownership of `arg` if (and only if) the launch succeeds.
    let rc = unsafe { sys::rte_eal_remote_launch(Some(trampoline), arg, lcore) };
    if rc < 0 {
        // SAFETY: the launch failed, so the trampoline will never see `arg`: reclaim it.
        drop(unsafe { Box::from_raw(arg.cast::<Job>()) });
        return Err(call_err("rte_eal_remote_launch", -rc));
    }
    Ok(())
}

/// Wait for the job on `lcore` to finish and return its value (0 if nothing was launched there
/// or `lcore` is not an enabled worker).
pub fn wait_lcore(lcore: u32) -> i32 {
    if lcore >= sys::RTE_MAX_LCORE || lcore == main_lcore() {
        return 0;
    }
    // SAFETY: `lcore` is in bounds; rte_eal_wait_lcore spins on an atomic state and reads the
    // result (0 for an lcore that never ran anything).
    unsafe { sys::rte_eal_wait_lcore(lcore) }
}

/// Wait for every worker lcore (`rte_eal_mp_wait_lcore`).
pub fn wait_all() {
    // SAFETY: waits on each enabled worker's state; no-op before init (no workers).
    unsafe { sys::rte_eal_mp_wait_lcore() }
}

// ---------------------------------------------------------------------------------------------
// Mempool
// ---------------------------------------------------------------------------------------------

struct PoolInner {
    ptr: NonNull<sys::rte_mempool>,
    name: String,
}

// SAFETY: rte_mempool get/put are thread-safe (multi-producer/consumer ring; per-lcore caches are
// indexed by the caller's unique lcore id, non-EAL threads bypass them); the handle is immutable.
unsafe impl Send for PoolInner {}
// SAFETY: as above; `&PoolInner` only allows thread-safe operations.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // SAFETY: the pool is alive (LIVE_POOLS > 0 keeps the EAL up); this is its last handle.
        let in_use = unsafe { sys::rte_mempool_in_use_count(self.ptr.as_ptr()) };
        if in_use == 0 {
            // SAFETY: no handle, no port and no mbuf references the pool any more: no Mempool
            // exists to allocate from, ports drop their reference only after close, and in_use 0
            // means every mbuf is back in the pool (ring or per-lcore cache).
            unsafe { sys::rte_mempool_free(self.ptr.as_ptr()) };
            LIVE_POOLS.fetch_sub(1, Ordering::AcqRel);
        }
        // else: mbufs are still out; leak the pool (and keep the EAL up) rather than free it
        // under them.
    }
}

/// A packet mbuf pool (`rte_pktmbuf_pool_create`). Cheap to clone (reference counted).
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mempool")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Mempool {
    /// `n_mbufs` mbufs of `data_room` octets (including the `PKTMBUF_HEADROOM` of 128) with
    /// per-lcore caches of `cache`, on NUMA `socket` (-1 for any). For jumbo frames plus a
    /// SecTAG and ICV use e.g. `data_room = 128 + 10240`.
    pub fn new(
        name: &str,
        n_mbufs: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::InvalidArgument("mempool name contains a NUL octet".into()))?;
        if n_mbufs == 0 {
            return Err(DpdkError::InvalidArgument(
                "a mempool needs at least one mbuf".into(),
            ));
        }
        let _control = control()?;
        // SAFETY: the EAL is up (checked under CONTROL, so it stays up during the call); `cname`
        // is a valid C string; DPDK validates the sizes and reports through rte_errno.
        let ptr =
            unsafe { sys::rte_pktmbuf_pool_create(cname.as_ptr(), n_mbufs, cache, 0, data_room, socket) };
        let ptr = NonNull::new(ptr).ok_or_else(|| rte_errno_err("rte_pktmbuf_pool_create"))?;
        LIVE_POOLS.fetch_add(1, Ordering::AcqRel);
        Ok(Mempool {
            inner: Arc::new(PoolInner {
                ptr,
                name: name.to_owned(),
            }),
        })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Mbufs available (in the ring and the per-lcore caches).
    pub fn avail(&self) -> u32 {
        // SAFETY: the pool is alive while `self` is.
        unsafe { sys::rte_mempool_avail_count(self.as_ptr()) }
    }

    /// Mbufs allocated and not yet returned.
    pub fn in_use(&self) -> u32 {
        // SAFETY: the pool is alive while `self` is.
        unsafe { sys::rte_mempool_in_use_count(self.as_ptr()) }
    }

    /// The raw pool, for FFI. Valid while `self` (or a clone) is alive.
    pub fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.inner.ptr.as_ptr()
    }
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/// Per-port counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// Link status (`rte_eth_link`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Link {
    pub up: bool,
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// An ethdev port, by id. Copyable; operations on a closed port return errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Port {
    id: u16,
}

impl Port {
    /// The port of a device name, e.g. `net_pcap0`, `net_null0` or a PCI address.
    pub fn by_name(name: &str) -> Result<Port, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::InvalidArgument("port name contains a NUL octet".into()))?;
        let _control = control()?;
        let mut id = 0u16;
        // SAFETY: EAL up (held under CONTROL); valid C string and out pointer.
        let ret = unsafe { sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if ret < 0 || usize::from(id) >= MAX_PORTS {
            return Err(DpdkError::NoSuchPort(name.to_owned()));
        }
        Ok(Port { id })
    }

    /// The port with id `id`, if it exists.
    pub fn from_id(id: u16) -> Result<Port, DpdkError> {
        let _control = control()?;
        // SAFETY: EAL up; rte_eth_dev_is_valid_port bounds-checks the id.
        if usize::from(id) >= MAX_PORTS || unsafe { sys::rte_eth_dev_is_valid_port(id) } == 0 {
            return Err(DpdkError::NoSuchPort(format!("port id {id}")));
        }
        Ok(Port { id })
    }

    /// Ports available (`rte_eth_dev_count_avail`); 0 before EAL init.
    pub fn count() -> u16 {
        match control() {
            // SAFETY: EAL up; reads the device table.
            Ok(_control) => unsafe { sys::rte_eth_dev_count_avail() },
            Err(_) => 0,
        }
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    /// The device name (`rte_eth_dev_get_name_by_port`).
    pub fn name(&self) -> Result<String, DpdkError> {
        let _control = control()?;
        let mut buf = [0 as c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
        // SAFETY: EAL up; the buffer has the RTE_ETH_NAME_MAX_LEN octets the API requires.
        check("rte_eth_dev_get_name_by_port", unsafe {
            sys::rte_eth_dev_get_name_by_port(self.id, buf.as_mut_ptr())
        })?;
        // SAFETY: on success DPDK wrote a NUL-terminated string into `buf`.
        let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
        Ok(name.to_string_lossy().into_owned())
    }

    /// The port's NUMA socket (-1 if unknown).
    pub fn socket_id(&self) -> i32 {
        match control() {
            // SAFETY: EAL up; returns -1 for an invalid port.
            Ok(_control) => unsafe { sys::rte_eth_dev_socket_id(self.id) },
            Err(_) => -1,
        }
    }

    /// Configure `rx_queues` Rx queues (mbufs from `pool`) and `tx_queues` Tx queues with the
    /// given ring sizes (adjusted to the device limits). The port must be stopped. Tx multi-segment
    /// offload is requested when the device has it; nothing else.
    pub fn configure(
        &self,
        rx_queues: u16,
        tx_queues: u16,
        rx_desc: u16,
        tx_desc: u16,
        pool: &Mempool,
    ) -> Result<(), DpdkError> {
        if !(1..=MAX_QUEUES).contains(&rx_queues) || !(1..=MAX_QUEUES).contains(&tx_queues) {
            return Err(DpdkError::InvalidArgument(format!(
                "queues per direction must be 1..={MAX_QUEUES} (got rx {rx_queues}, tx {tx_queues})"
            )));
        }
        let mut table = control()?;
        if table.entry(self.id).started {
            return Err(DpdkError::InvalidArgument(format!(
                "port {} is started; stop it first",
                self.id
            )));
        }
        close_gates(self.id);

        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: EAL up, CONTROL held; `info` is a valid out pointer.
        check("rte_eth_dev_info_get", unsafe {
            sys::rte_eth_dev_info_get(self.id, &mut info)
        })?;
        if rx_queues > info.max_rx_queues || tx_queues > info.max_tx_queues {
            return Err(DpdkError::InvalidArgument(format!(
                "port {} supports at most {} rx / {} tx queues",
                self.id, info.max_rx_queues, info.max_tx_queues
            )));
        }
        let mut conf = sys::rte_eth_conf::default();
        conf.txmode.offloads = info.tx_offload_capa & sys::RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        // SAFETY: EAL up, CONTROL held, port stopped; `conf` is a valid, zero-initialized config.
        check("rte_eth_dev_configure", unsafe {
            sys::rte_eth_dev_configure(self.id, rx_queues, tx_queues, &conf)
        })?;
        {
            // From here on the port's queues may reference `pool`: keep it alive until close.
            let entry = table.entry(self.id);
            entry.configured = true;
            entry.rx_queues = 0;
            entry.tx_queues = 0;
            if !entry.pools.iter().any(|p| Arc::ptr_eq(&p.inner, &pool.inner)) {
                entry.pools.push(pool.clone());
            }
        }
        let (mut nb_rx, mut nb_tx) = (rx_desc, tx_desc);
        // SAFETY: EAL up, CONTROL held; valid in/out pointers.
        check("rte_eth_dev_adjust_nb_rx_tx_desc", unsafe {
            sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.id, &mut nb_rx, &mut nb_tx)
        })?;
        // SAFETY: EAL up; -1 (SOCKET_ID_ANY) for an unknown socket, passed on as is.
        let socket = unsafe { sys::rte_eth_dev_socket_id(self.id) } as u32;

        let mut rxconf = info.default_rxconf;
        rxconf.offloads = conf.rxmode.offloads;
        for q in 0..rx_queues {
            // SAFETY: EAL up, CONTROL held, queue index < configured count, `rxconf` valid;
            // `pool` stays alive in the port table until close.
            check("rte_eth_rx_queue_setup", unsafe {
                sys::rte_eth_rx_queue_setup(self.id, q, nb_rx, socket, &rxconf, pool.as_ptr())
            })?;
        }
        let mut txconf = info.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        for q in 0..tx_queues {
            // SAFETY: EAL up, CONTROL held, queue index < configured count, `txconf` valid.
            check("rte_eth_tx_queue_setup", unsafe {
                sys::rte_eth_tx_queue_setup(self.id, q, nb_tx, socket, &txconf)
            })?;
        }
        let entry = table.entry(self.id);
        entry.rx_queues = rx_queues;
        entry.tx_queues = tx_queues;
        Ok(())
    }

    /// Set the MTU (after `configure`; many PMDs need the port stopped).
    pub fn set_mtu(&self, mtu: u16) -> Result<(), DpdkError> {
        let _control = control()?;
        // SAFETY: EAL up, CONTROL held.
        check("rte_eth_dev_set_mtu", unsafe {
            sys::rte_eth_dev_set_mtu(self.id, mtu)
        })?;
        Ok(())
    }

    pub fn mtu(&self) -> Result<u16, DpdkError> {
        let _control = control()?;
        let mut mtu = 0u16;
        // SAFETY: EAL up, CONTROL held, valid out pointer.
        check("rte_eth_dev_get_mtu", unsafe {
            sys::rte_eth_dev_get_mtu(self.id, &mut mtu)
        })?;
        Ok(mtu)
    }

    /// Start the port (`rte_eth_dev_start`); its queues accept bursts afterwards.
    pub fn start(&self) -> Result<(), DpdkError> {
        let mut table = control()?;
        let entry = table.entry(self.id);
        if !entry.configured || entry.rx_queues == 0 {
            return Err(DpdkError::InvalidArgument(format!(
                "port {} is not configured",
                self.id
            )));
        }
        // SAFETY: EAL up, CONTROL held, port configured with all queues set up.
        check("rte_eth_dev_start", unsafe { sys::rte_eth_dev_start(self.id) })?;
        entry.started = true;
        open_gates(self.id, entry.rx_queues, entry.tx_queues);
        Ok(())
    }

    /// Stop the port (waits for a burst in progress on its queues).
    pub fn stop(&self) -> Result<(), DpdkError> {
        let mut table = control()?;
        close_gates(self.id);
        // SAFETY: EAL up, CONTROL held, no burst in the PMD (gates closed).
        let ret = unsafe { sys::rte_eth_dev_stop(self.id) };
        let entry = table.entry(self.id);
        if ret < 0 {
            if entry.started {
                open_gates(self.id, entry.rx_queues, entry.tx_queues);
            }
            return Err(call_err("rte_eth_dev_stop", -ret));
        }
        entry.started = false;
        Ok(())
    }

    /// Stop (if started) and close the port, releasing its queues and its pool references. The
    /// port id is invalid afterwards. net_pcap writes its `tx_pcap` file only here.
    pub fn close(&self) -> Result<(), DpdkError> {
        let mut table = control()?;
        close_gates(self.id);
        let started = table.entry(self.id).started;
        if started {
            // SAFETY: EAL up, CONTROL held, gates closed.
            check("rte_eth_dev_stop", unsafe { sys::rte_eth_dev_stop(self.id) })?;
            table.entry(self.id).started = false;
        }
        // SAFETY: EAL up, CONTROL held, port stopped, gates closed.
        check("rte_eth_dev_close", unsafe { sys::rte_eth_dev_close(self.id) })?;
        // The queues are gone: release the pools.
        table.ports[usize::from(self.id)] = None;
        Ok(())
    }

    /// Enable or disable promiscuous mode. Many vdevs answer `-ENOTSUP`
    /// ([`DpdkError::is_not_supported`]).
    pub fn promiscuous(&self, on: bool) -> Result<(), DpdkError> {
        let _control = control()?;
        // SAFETY: EAL up, CONTROL held.
        let ret = unsafe {
            if on {
                sys::rte_eth_promiscuous_enable(self.id)
            } else {
                sys::rte_eth_promiscuous_disable(self.id)
            }
        };
        check(
            if on {
                "rte_eth_promiscuous_enable"
            } else {
                "rte_eth_promiscuous_disable"
            },
            ret,
        )?;
        Ok(())
    }

    pub fn mac_addr(&self) -> Result<[u8; 6], DpdkError> {
        let _control = control()?;
        let mut addr = sys::rte_ether_addr::default();
        // SAFETY: EAL up, CONTROL held, valid out pointer.
        check("rte_eth_macaddr_get", unsafe {
            sys::rte_eth_macaddr_get(self.id, &mut addr)
        })?;
        Ok(addr.addr_bytes)
    }

    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        let _control = control()?;
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: EAL up, CONTROL held, valid out pointer.
        check("rte_eth_stats_get", unsafe {
            sys::rte_eth_stats_get(self.id, &mut s)
        })?;
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    pub fn reset_stats(&self) -> Result<(), DpdkError> {
        let _control = control()?;
        // SAFETY: EAL up, CONTROL held.
        check("rte_eth_stats_reset", unsafe {
            sys::rte_eth_stats_reset(self.id)
        })?;
        Ok(())
    }

    pub fn link(&self) -> Result<Link, DpdkError> {
        let _control = control()?;
        let mut l = sys::rte_eth_link::default();
        // SAFETY: EAL up, CONTROL held, valid out pointer; does not wait.
        check("rte_eth_link_get_nowait", unsafe {
            sys::rte_eth_link_get_nowait(self.id, &mut l)
        })?;
        Ok(Link {
            up: u32::from(l.link_status()) == sys::RTE_ETH_LINK_UP,
            speed_mbps: l.link_speed,
            full_duplex: u32::from(l.link_duplex()) == sys::RTE_ETH_LINK_FULL_DUPLEX,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Mbufs
// ---------------------------------------------------------------------------------------------

/// One owned packet mbuf (refcount 1, with its segment chain); freed on drop.
///
/// `repr(transparent)` over a non-null `rte_mbuf` pointer, so a `[Mbuf]` is a
/// `struct rte_mbuf *[]` for the burst functions.
#[repr(transparent)]
pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an Mbuf is the only owner of its packet; freeing it from any thread is allowed
// (mempool put is thread-safe).
unsafe impl Send for Mbuf {}
// SAFETY: `&Mbuf` only reads the packet; mutation needs `&mut Mbuf`.
unsafe impl Sync for Mbuf {}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (and its chain); it is freed exactly once, here.
        unsafe { sys::shim_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mbuf")
            .field("ptr", &self.0)
            .field("data_off", &self.data_off())
            .field("data_len", &self.data_len())
            .field("pkt_len", &self.pkt_len())
            .field("nb_segs", &self.nb_segs())
            .finish()
    }
}

impl Mbuf {
    /// A fresh, empty mbuf (data window at the default headroom, length 0).
    pub fn alloc(pool: &Mempool) -> Option<Mbuf> {
        // SAFETY: the pool is alive; returns NULL when empty.
        NonNull::new(unsafe { sys::shim_rte_pktmbuf_alloc(pool.as_ptr()) }).map(Mbuf)
    }

    /// Take ownership of a raw mbuf (`None` for NULL).
    ///
    /// # Safety
    /// `ptr` must be a valid packet mbuf with refcount 1 that nobody else uses or frees
    /// afterwards, whose data windows lie within their buffers.
    pub unsafe fn from_raw(ptr: *mut sys::rte_mbuf) -> Option<Mbuf> {
        NonNull::new(ptr).map(Mbuf)
    }

    /// Give up ownership; the caller must free or transmit the mbuf.
    pub fn into_raw(self) -> NonNull<sys::rte_mbuf> {
        let m = ManuallyDrop::new(self);
        m.0
    }

    /// The raw pointer (ownership stays with `self`).
    pub fn as_ptr(&self) -> *mut sys::rte_mbuf {
        self.0.as_ptr()
    }

    #[inline]
    fn raw(&self) -> *const sys::rte_mbuf {
        self.0.as_ptr()
    }

    #[inline]
    pub fn buf_len(&self) -> usize {
        // SAFETY: valid owned mbuf (type invariant).
        usize::from(unsafe { sys::shim_mbuf_buf_len(self.raw()) })
    }

    #[inline]
    pub fn data_off(&self) -> usize {
        // SAFETY: valid owned mbuf.
        usize::from(unsafe { sys::shim_mbuf_data_off(self.raw()) })
    }

    /// Length of the first segment's data.
    #[inline]
    pub fn data_len(&self) -> usize {
        // SAFETY: valid owned mbuf.
        usize::from(unsafe { sys::shim_mbuf_data_len(self.raw()) })
    }

    /// Length of the whole packet (all segments).
    #[inline]
    pub fn pkt_len(&self) -> usize {
        // SAFETY: valid owned mbuf.
        unsafe { sys::shim_mbuf_pkt_len(self.raw()) as usize }
    }

    #[inline]
    pub fn nb_segs(&self) -> u16 {
        // SAFETY: valid owned mbuf.
        unsafe { sys::shim_mbuf_nb_segs(self.raw()) }
    }

    /// A single segment: `data()` is the whole packet.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.nb_segs() == 1
    }

    /// The input port the PMD recorded.
    #[inline]
    pub fn port(&self) -> u16 {
        // SAFETY: valid owned mbuf.
        unsafe { sys::shim_mbuf_port(self.raw()) }
    }

    /// Octets in front of the data.
    #[inline]
    pub fn headroom(&self) -> usize {
        // SAFETY: valid owned mbuf.
        usize::from(unsafe { sys::shim_rte_pktmbuf_headroom(self.raw()) })
    }

    /// Octets after the data of this (the last, for a single segment) segment.
    #[inline]
    pub fn tailroom(&self) -> usize {
        // SAFETY: valid owned mbuf.
        usize::from(unsafe { sys::shim_rte_pktmbuf_tailroom(self.raw()) })
    }

    /// (buffer start, buffer length, window start, window length) with the window clamped into
    /// the buffer, so the slices below stay in bounds even for a malformed mbuf.
    #[inline]
    fn layout(&self) -> (*mut u8, usize, usize, usize) {
        // SAFETY: valid owned mbuf; buf_addr points at buf_len octets owned by the mbuf.
        let base = unsafe { sys::shim_mbuf_buf_addr(self.raw()) }.cast::<u8>();
        let buf_len = self.buf_len();
        let off = self.data_off().min(buf_len);
        let len = self.data_len().min(buf_len - off);
        (base, buf_len, off, len)
    }

    /// The data of the first segment (the whole frame when [`is_contiguous`](Self::is_contiguous)).
    #[inline]
    pub fn data(&self) -> &[u8] {
        let (base, _, off, len) = self.layout();
        // SAFETY: off+len <= buf_len octets at `base` belong to this mbuf, which we own; the
        // slice borrows `self`, so it cannot outlive the mbuf or alias a mutable borrow.
        unsafe { std::slice::from_raw_parts(base.add(off), len) }
    }

    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let (base, _, off, len) = self.layout();
        // SAFETY: as in `data`, and `&mut self` makes the borrow exclusive (refcount 1).
        unsafe { std::slice::from_raw_parts_mut(base.add(off), len) }
    }

    /// The whole data buffer of the first segment (headroom, data and tailroom) with the data
    /// window's offset and length, for in-place processing that grows the frame into its
    /// head- or tailroom; commit the new window with [`set_window`](Self::set_window).
    #[inline]
    pub fn buffer_mut(&mut self) -> (&mut [u8], usize, usize) {
        let (base, buf_len, off, len) = self.layout();
        // SAFETY: the buf_len octets at `base` are this mbuf's buffer; exclusive via `&mut self`.
        let buf = unsafe { std::slice::from_raw_parts_mut(base, buf_len) };
        (buf, off, len)
    }

    /// Set the data window to `off..off+len` of the buffer (data_off, data_len, pkt_len). Only
    /// for single-segment mbufs.
    pub fn set_window(&mut self, off: usize, len: usize) -> Result<(), DpdkError> {
        let nb_segs = self.nb_segs();
        if nb_segs != 1 {
            return Err(DpdkError::Segmented(nb_segs));
        }
        let buf_len = self.buf_len();
        let fits = off.checked_add(len).is_some_and(|end| end <= buf_len);
        let (Ok(off16), Ok(len16), true) = (u16::try_from(off), u16::try_from(len), fits) else {
            return Err(DpdkError::Window { off, len, buf_len });
        };
        let p = self.0.as_ptr();
        // SAFETY: owned single-segment mbuf, exclusive via `&mut self`; the new window lies
        // within the buffer (checked above) and pkt_len equals data_len for one segment.
        unsafe {
            sys::shim_mbuf_set_data_off(p, off16);
            sys::shim_mbuf_set_data_len(p, len16);
            sys::shim_mbuf_set_pkt_len(p, u32::from(len16));
        }
        Ok(())
    }

    /// Append `bytes` after the data (e.g. copy a frame into a fresh mbuf). `false`, with the
    /// mbuf unchanged, if it is segmented or the tailroom is too small.
    pub fn append_from(&mut self, bytes: &[u8]) -> bool {
        if !self.is_contiguous() || bytes.len() > self.tailroom() {
            return false;
        }
        let (buf, off, len) = self.buffer_mut();
        let end = off + len;
        let Some(dst) = buf.get_mut(end..end + bytes.len()) else {
            return false;
        };
        dst.copy_from_slice(bytes);
        self.set_window(off, len + bytes.len()).is_ok()
    }
}

// ---------------------------------------------------------------------------------------------
// Bursts
// ---------------------------------------------------------------------------------------------

/// Up to `N` owned mbufs in a fixed array (no allocation), in arrival order.
///
/// Invariant: slots `head..tail` hold owned, initialized mbufs; every other slot is logically
/// empty (possibly a stale bit pattern of an mbuf already handed on, never read again). Every
/// operation that hands an mbuf on shrinks `head..tail` before (or instead of) freeing or
/// transmitting it. Dropping the burst frees `head..tail`.
pub struct Burst<const N: usize> {
    head: usize,
    tail: usize,
    mbufs: [MaybeUninit<Mbuf>; N],
}

// Burst<N> is Send because Mbuf is; it is not Clone.

impl<const N: usize> Default for Burst<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> std::fmt::Debug for Burst<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Burst")
            .field("len", &self.len())
            .field("capacity", &N)
            .finish()
    }
}

impl<const N: usize> Burst<N> {
    pub const fn new() -> Self {
        Burst {
            head: 0,
            tail: 0,
            mbufs: [const { MaybeUninit::uninit() }; N],
        }
    }

    pub const fn capacity(&self) -> usize {
        N
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.tail - self.head
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.len() == N
    }

    /// The slot array as `struct rte_mbuf **`.
    #[inline]
    fn slots(&mut self) -> *mut *mut sys::rte_mbuf {
        // MaybeUninit<Mbuf> has the layout of Mbuf, which is a transparent non-null pointer.
        self.mbufs.as_mut_ptr().cast::<*mut sys::rte_mbuf>()
    }

    /// Move the owned mbufs to the front of the array (`head` becomes 0).
    #[inline]
    fn compact(&mut self) {
        let len = self.len();
        if self.head > 0 && len > 0 {
            let base = self.mbufs.as_mut_ptr();
            // SAFETY: head..tail and 0..len are within the array; ptr::copy handles the overlap;
            // this is a move: slots len..tail keep stale copies outside the new head..tail.
            unsafe { std::ptr::copy(base.add(self.head), base, len) };
        }
        self.head = 0;
        self.tail = len;
    }

    /// Receive up to the free capacity from `port`'s Rx `queue`; returns how many arrived (0
    /// also when the queue is not started or is being polled by another thread).
    #[inline]
    pub fn rx(&mut self, port: Port, queue: u16) -> usize {
        if self.tail == N || self.head == self.tail {
            self.compact();
        }
        let room = (N - self.tail).min(usize::from(u16::MAX));
        if room == 0 {
            return 0;
        }
        let Some(gate) = gate(&RX_GATES, port.id, queue) else {
            return 0;
        };
        if !gate.enter() {
            return 0;
        }
        // SAFETY: the gate proves the port is started with this queue set up and gives this
        // thread the queue exclusively; slots tail..tail+room are free and writable; the PMD
        // writes at most `room` valid mbuf pointers, which this burst now owns.
        let n =
            unsafe { sys::shim_rte_eth_rx_burst(port.id, queue, self.slots().add(self.tail), room as u16) };
        gate.leave();
        let n = usize::from(n).min(room);
        self.tail += n;
        n
    }

    /// Transmit every mbuf on `port`'s Tx `queue`, free the ones the PMD did not take, and
    /// return how many were sent (the burst is empty afterwards; drops = previous len - sent).
    #[inline]
    pub fn tx(&mut self, port: Port, queue: u16) -> usize {
        let (head, len) = (self.head, self.len());
        // The mbufs leave the burst now: the PMD takes the first `sent`, the rest is freed below.
        self.head = 0;
        self.tail = 0;
        if len == 0 {
            return 0;
        }
        let want = len.min(usize::from(u16::MAX));
        let mut sent = 0;
        if let Some(gate) = gate(&TX_GATES, port.id, queue) {
            if gate.enter() {
                // SAFETY: the gate proves the port is started with this queue set up and gives
                // this thread the queue exclusively; slots head..head+want are owned mbufs; the
                // PMD takes ownership of the first `sent` of them.
                let n = unsafe {
                    sys::shim_rte_eth_tx_burst(port.id, queue, self.slots().add(head), want as u16)
                };
                gate.leave();
                sent = usize::from(n).min(want);
            }
        }
        if sent < len {
            // SAFETY: slots head+sent..head+len are owned mbufs no longer in head..tail; freed
            // exactly once.
            unsafe { sys::rte_pktmbuf_free_bulk(self.slots().add(head + sent), (len - sent) as u32) };
        }
        sent
    }

    /// Append an mbuf; gives it back if the burst is full.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.tail == N {
            if self.head == 0 {
                return Err(m);
            }
            self.compact();
        }
        self.mbufs[self.tail].write(m);
        self.tail += 1;
        Ok(())
    }

    /// Remove and return the first (oldest) mbuf.
    #[inline]
    pub fn pop_front(&mut self) -> Option<Mbuf> {
        if self.head == self.tail {
            return None;
        }
        let i = self.head;
        self.head += 1;
        // SAFETY: slot i was owned and has just left head..tail, so it is read out once.
        let m = unsafe { self.mbufs[i].assume_init_read() };
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
        Some(m)
    }

    /// Remove and return the last mbuf.
    #[inline]
    pub fn pop(&mut self) -> Option<Mbuf> {
        if self.head == self.tail {
            return None;
        }
        self.tail -= 1;
        // SAFETY: slot `tail` was owned and has just left head..tail, so it is read out once.
        let m = unsafe { self.mbufs[self.tail].assume_init_read() };
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
        Some(m)
    }

    /// Move every mbuf out, in order. Mbufs the iterator does not yield are freed when it is
    /// dropped (leaking the iterator leaks them; it never double-frees).
    pub fn drain(&mut self) -> Drain<'_, N> {
        let (next, end) = (self.head, self.tail);
        self.head = 0;
        self.tail = 0;
        Drain {
            burst: self,
            next,
            end,
        }
    }

    /// Keep the mbufs for which `f` returns true (in order) and free the others. If `f` panics
    /// the remaining mbufs are leaked, never double-freed.
    pub fn retain_mut(&mut self, mut f: impl FnMut(&mut Mbuf) -> bool) {
        self.compact();
        let len = self.tail;
        self.tail = 0;
        let mut kept = 0;
        for i in 0..len {
            // SAFETY: slots i..len hold owned mbufs not yet visited (kept <= i).
            let keep = f(unsafe { self.mbufs[i].assume_init_mut() });
            // SAFETY: slot i is owned and read out exactly once here.
            let m = unsafe { self.mbufs[i].assume_init_read() };
            if keep {
                self.mbufs[kept].write(m);
                kept += 1;
            } else {
                drop(m);
            }
        }
        self.tail = kept;
    }

    /// Free every mbuf.
    pub fn clear(&mut self) {
        let (head, len) = (self.head, self.len());
        self.head = 0;
        self.tail = 0;
        if len > 0 {
            // SAFETY: slots head..head+len were owned and are no longer in head..tail; freed once.
            unsafe { sys::rte_pktmbuf_free_bulk(self.slots().add(head), len as u32) };
        }
    }
}

impl<const N: usize> Deref for Burst<N> {
    type Target = [Mbuf];

    fn deref(&self) -> &[Mbuf] {
        // SAFETY: slots head..tail are initialized Mbufs; MaybeUninit<Mbuf> has Mbuf's layout.
        unsafe { std::slice::from_raw_parts(self.mbufs.as_ptr().add(self.head).cast::<Mbuf>(), self.len()) }
    }
}

impl<const N: usize> DerefMut for Burst<N> {
    fn deref_mut(&mut self) -> &mut [Mbuf] {
        let len = self.len();
        // SAFETY: as in `deref`; a `&mut [Mbuf]` allows swapping or mutating elements but not
        // moving one out without a replacement, so ownership of head..tail is preserved.
        unsafe { std::slice::from_raw_parts_mut(self.mbufs.as_mut_ptr().add(self.head).cast::<Mbuf>(), len) }
    }
}

impl<const N: usize> Drop for Burst<N> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Iterator of [`Burst::drain`].
pub struct Drain<'a, const N: usize> {
    burst: &'a mut Burst<N>,
    next: usize,
    end: usize,
}

impl<const N: usize> Iterator for Drain<'_, N> {
    type Item = Mbuf;

    #[inline]
    fn next(&mut self) -> Option<Mbuf> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        self.next += 1;
        // SAFETY: slots next..end are owned by the drain (the burst is empty); slot i is read
        // out exactly once.
        Some(unsafe { self.burst.mbufs[i].assume_init_read() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl<const N: usize> ExactSizeIterator for Drain<'_, N> {}

impl<const N: usize> Drop for Drain<'_, N> {
    fn drop(&mut self) {
        let rest = self.end - self.next;
        if rest > 0 {
            // SAFETY: slots next..end are owned mbufs not yielded; freed once, then forgotten.
            unsafe { sys::rte_pktmbuf_free_bulk(self.burst.slots().add(self.next), rest as u32) };
            self.next = self.end;
        }
    }
}

#[cfg(test)]
mod tests {
    //! What can be tested without an EAL (the EAL needs its own process: see tests/dpdk_fwd.rs).
    use super::*;

    #[test]
    fn without_eal_everything_refuses() {
        assert_eq!(Port::by_name("net_null0").unwrap_err(), DpdkError::NotInitialized);
        assert_eq!(Port::count(), 0);
        assert_eq!(
            Mempool::new("p", 63, 0, 2176, -1).unwrap_err(),
            DpdkError::NotInitialized
        );
        assert_eq!(launch(1, Box::new(|| 0)).unwrap_err(), DpdkError::NotInitialized);
        assert!(worker_lcores().is_empty());
        assert_eq!(wait_lcore(1), 0);
        assert_eq!(wait_lcore(u32::MAX), 0);
    }

    #[test]
    fn bursts_on_closed_queues_do_nothing() {
        let mut b: Burst<32> = Burst::new();
        let p = Port { id: 0 };
        assert_eq!(b.rx(p, 0), 0);
        assert_eq!(b.rx(Port { id: u16::MAX }, u16::MAX), 0);
        assert_eq!(b.tx(p, 0), 0);
        assert!(b.is_empty() && b.pop().is_none() && b.pop_front().is_none());
        assert!(b.drain().next().is_none());
        b.retain_mut(|_| true);
        b.clear();
        assert_eq!(b.capacity(), 32);
    }

    #[test]
    fn gate_protocol() {
        let g = Gate::new();
        assert!(!g.enter());
        g.open();
        assert!(g.enter());
        assert!(!g.enter(), "a busy queue is not entered twice");
        g.leave();
        assert!(g.enter());
        g.leave();
        g.close();
        assert!(!g.enter());
        g.close();
        // A close while busy waits for the burst to leave.
        g.open();
        assert!(g.enter());
        std::thread::scope(|s| {
            s.spawn(|| g.close());
            while g.0.load(Ordering::Acquire) != GATE_CLOSING {
                std::hint::spin_loop();
            }
            g.leave();
        });
        assert_eq!(g.0.load(Ordering::Acquire), GATE_CLOSED);
        assert!(!g.enter());
    }

    #[test]
    fn errors_read_well() {
        let e = call_err("rte_eth_dev_start", ENOTSUP);
        assert!(e.is_not_supported());
        assert_eq!(e.errno(), Some(ENOTSUP));
        let text = e.to_string();
        assert!(text.starts_with("rte_eth_dev_start failed: "), "{text}");
        assert!(text.ends_with("(errno 95)"), "{text}");
        assert!(!DpdkError::NotInitialized.is_not_supported());
    }
}
