//! Owned packet mbufs and fixed-size bursts of them (Rx/Tx through the queue gates).

use super::port::{gate, RX_GATES, TX_GATES};
use super::{DpdkError, Mempool, Port};
use dpdk_sys as sys;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

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

    // The fields below are read and written in place (the struct as bindgen lays it out, with
    // its size and offset assertions): a call into the C shim per field cost about 3 ns, eight
    // of them per frame.

    #[inline]
    pub fn buf_len(&self) -> usize {
        // SAFETY: valid owned mbuf (type invariant); a plain field read.
        usize::from(unsafe { (*self.raw()).buf_len })
    }

    #[inline]
    pub fn data_off(&self) -> usize {
        // SAFETY: valid owned mbuf; a plain field read.
        usize::from(unsafe { (*self.raw()).data_off })
    }

    /// Length of the first segment's data.
    #[inline]
    pub fn data_len(&self) -> usize {
        // SAFETY: valid owned mbuf; a plain field read.
        usize::from(unsafe { (*self.raw()).data_len })
    }

    /// Length of the whole packet (all segments).
    #[inline]
    pub fn pkt_len(&self) -> usize {
        // SAFETY: valid owned mbuf; a plain field read.
        unsafe { (*self.raw()).pkt_len as usize }
    }

    #[inline]
    pub fn nb_segs(&self) -> u16 {
        // SAFETY: valid owned mbuf; a plain field read.
        unsafe { (*self.raw()).nb_segs }
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
        let base = unsafe { (*self.raw()).buf_addr }.cast::<u8>();
        let buf_len = self.buf_len();
        let off = self.data_off().min(buf_len);
        let len = self.data_len().min(buf_len - off);
        (base, buf_len, off, len)
    }

    /// A hint: bring the mbuf's first cache line (buffer address, offsets, lengths) into the
    /// cache.
    #[inline]
    pub fn prefetch_meta(&self) {
        prefetch(self.raw().cast());
    }

    /// A hint: bring the first `octets` of the data into the cache (reads the mbuf's fields).
    #[inline]
    pub fn prefetch_data(&self, octets: usize) {
        let (base, _, off, len) = self.layout();
        let mut at = 0;
        while at < octets.min(len) {
            // In bounds: off + at < off + len <= buf_len.
            prefetch(base.wrapping_add(off + at).cast_const());
            at += 64;
        }
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
            (*p).data_off = off16;
            (*p).data_len = len16;
            (*p).pkt_len = u32::from(len16);
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

/// A prefetch of the cache line at `p` into every level (no fault: a hint, any address).
#[inline]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 never faults and changes nothing but the cache.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
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

    /// A hint: brings every mbuf's descriptor, then the first `octets` of its data, into the
    /// cache (the descriptors first: they are independent of each other, and each data address
    /// is read from its descriptor).
    #[inline]
    pub fn prefetch(&self, octets: usize) {
        for m in self.iter() {
            m.prefetch_meta();
        }
        for m in self.iter() {
            m.prefetch_data(octets);
        }
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
        self.rx_max(port, queue, N)
    }

    /// [`Burst::rx`], receiving at most `max` mbufs.
    #[inline]
    pub fn rx_max(&mut self, port: Port, queue: u16, max: usize) -> usize {
        if self.tail == N || self.head == self.tail {
            self.compact();
        }
        let room = (N - self.tail).min(max).min(usize::from(u16::MAX));
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
    use super::*;

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
}
