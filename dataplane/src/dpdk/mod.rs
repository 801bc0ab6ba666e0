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

#![allow(unsafe_code)]

mod eal;
mod lcore;
mod mbuf;
mod mempool;
mod port;

pub use eal::Eal;
pub use lcore::{launch, lcore_id, main_lcore, socket_id, wait_all, wait_lcore, worker_lcores};
pub use mbuf::{Burst, Drain, Mbuf};
pub use mempool::Mempool;
pub use port::{Link, Port, PortStats};

use dpdk_sys as sys;
use std::ffi::{c_int, CStr};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Mutex, MutexGuard};

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
// Global state (the port table and the queue gates are in `port`)
// ---------------------------------------------------------------------------------------------

/// `Eal::init` was called once (successfully or not).
static EAL_ATTEMPTED: AtomicBool = AtomicBool::new(false);
/// The EAL is initialized and not cleaned up. Changed only with `CONTROL` held.
static EAL_READY: AtomicBool = AtomicBool::new(false);
/// Mempools created and not yet freed (leaked ones included).
static LIVE_POOLS: AtomicUsize = AtomicUsize::new(0);
/// Serializes `rte_eal_remote_launch` (it is not thread-safe) and teardown.
static LAUNCH: Mutex<()> = Mutex::new(());

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
