//! Lcores: the main and worker lcores, the calling thread's lcore and socket, and launching a
//! closure on a worker (`rte_eal_remote_launch`) and waiting for it.

use super::{call_err, lock, DpdkError, EAL_READY, LAUNCH};
use dpdk_sys as sys;
use std::ffi::{c_int, c_void};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;

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
