//! The EAL: initialization once per process, and teardown (ports closed, workers waited for,
//! `rte_eal_cleanup` only when no mempool is alive).

use super::port::{close_gates, CONTROL};
use super::{check, lock, rte_errno_err, DpdkError, EAL_ATTEMPTED, EAL_READY, LAUNCH, LIVE_POOLS, MAX_PORTS};
use super::{lcore_id, main_lcore, socket_id, wait_all, worker_lcores};
use dpdk_sys as sys;
use std::ffi::{c_char, c_int, CString};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::atomic::Ordering;

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
