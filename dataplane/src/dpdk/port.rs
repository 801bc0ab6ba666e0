//! Ports (ethdev): configure, start, stop, close, stats and link; the port table that keeps each
//! configured port's pools alive, and the per-queue gates that keep bursts out of a PMD queue that
//! is not started or is being reconfigured.

use super::{call_err, check, lock, DpdkError, Mempool, EAL_READY, MAX_PORTS, MAX_QUEUES};
use dpdk_sys as sys;
use serde::Serialize;
use std::ffi::{c_char, CStr, CString};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Serializes port control operations and teardown; holds what each port references.
pub(super) static CONTROL: Mutex<PortTable> = Mutex::new(PortTable::new());

#[derive(Default)]
pub(super) struct PortEntry {
    /// Every pool an Rx queue of this port was set up with since the last close.
    pools: Vec<Mempool>,
    rx_queues: u16,
    tx_queues: u16,
    pub(super) configured: bool,
    pub(super) started: bool,
}

pub(super) struct PortTable {
    pub(super) ports: [Option<Box<PortEntry>>; MAX_PORTS],
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
pub(super) fn control() -> Result<MutexGuard<'static, PortTable>, DpdkError> {
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
pub(super) struct Gate(AtomicU8);

impl Gate {
    const fn new() -> Self {
        Gate(AtomicU8::new(GATE_CLOSED))
    }

    /// Take the queue for one burst.
    #[inline]
    pub(super) fn enter(&self) -> bool {
        self.0
            .compare_exchange(GATE_OPEN, GATE_BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Release the queue after a burst.
    #[inline]
    pub(super) fn leave(&self) {
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

pub(super) static RX_GATES: [Gate; MAX_PORTS * MAX_QUEUES as usize] =
    [const { Gate::new() }; MAX_PORTS * MAX_QUEUES as usize];
pub(super) static TX_GATES: [Gate; MAX_PORTS * MAX_QUEUES as usize] =
    [const { Gate::new() }; MAX_PORTS * MAX_QUEUES as usize];

#[inline]
pub(super) fn gate(table: &'static [Gate], port: u16, queue: u16) -> Option<&'static Gate> {
    if usize::from(port) >= MAX_PORTS || queue >= MAX_QUEUES {
        return None;
    }
    table.get(usize::from(port) * usize::from(MAX_QUEUES) + usize::from(queue))
}

pub(super) fn close_gates(port: u16) {
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
    pub(super) id: u16,
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

    /// Configure `rx_queues` Rx queues (mbufs from `pool`; more than one: spread by RSS over the
    /// flow types the device hashes) and `tx_queues` Tx queues with the given ring sizes
    /// (adjusted to the device limits). The port must be stopped. Tx multi-segment offload is
    /// requested when the device has it; nothing else.
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
        if rx_queues > 1 {
            // Spread the Rx queues by RSS, over every flow type the device can hash.
            conf.rxmode.mq_mode = sys::rte_eth_rx_mq_mode_RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads;
        }
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
            if !entry.pools.iter().any(|p| p.ptr_eq(pool)) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
