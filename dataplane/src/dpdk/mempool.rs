//! Packet mbuf pools (`rte_pktmbuf_pool_create`), reference counted; freed only when no mbuf of
//! theirs is out.

use super::port::control;
use super::{rte_errno_err, DpdkError, LIVE_POOLS};
use dpdk_sys as sys;
use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::Arc;

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

    /// The same pool (a clone of this handle).
    pub(super) fn ptr_eq(&self, other: &Mempool) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The raw pool, for FFI. Valid while `self` (or a clone) is alive.
    pub fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.inner.ptr.as_ptr()
    }
}
