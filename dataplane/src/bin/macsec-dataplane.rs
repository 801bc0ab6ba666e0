//! macsec-dataplane: the DPDK bump-in-the-wire MACsec appliance.
//!
//! `macsec-dataplane --config FILE [--duration SECS] [--socket PATH] [--socket-group GROUP] -- [EAL ARGS]`
//! Each link's worker protects what its host port receives onto its line port and validates what
//! the line port receives onto the host port. The control socket serves the `ipc` protocol. On
//! every exit (duration, SIGINT, SIGTERM) the ports are flushed and closed and one JSON object
//! with the counters is printed on stdout.

#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{CommandFactory, Parser};
use dataplane::config::{DataplaneConfig, Workers};
use dataplane::dpdk::{self, Eal, Mempool, Port};
use dataplane::server::{LinkHandle, Server};
use dataplane::worker::{
    self, Command, DpdkPorts, LinkParams, PuntLimits, SharedLink, WorkerLink, CONTROL_QUEUE, EAPOL_QUEUE,
};
use ipc::{Event, LinkInfo};
use macsec::secy::{RxSa, Sci, TxSa};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "macsec-dataplane",
    version,
    about = "DPDK MACsec bump-in-the-wire dataplane"
)]
struct Cli {
    /// The links (TOML).
    #[arg(long)]
    config: PathBuf,
    /// Stop after SECS seconds (default: run until SIGINT/SIGTERM).
    #[arg(long)]
    duration: Option<f64>,
    /// The control socket.
    #[arg(long, default_value = "/run/macsec/dataplane.sock")]
    socket: PathBuf,
    /// Members of GROUP (a name or gid) may use the control socket too (it is then mode 0660);
    /// otherwise only root and our own uid.
    #[arg(long, value_name = "GROUP")]
    socket_group: Option<String>,
    /// mbufs in the pool (per port pair: rx rings, tx rings and bursts in flight).
    #[arg(long, default_value_t = 8191)]
    mbufs: u32,
    /// Descriptors per rx/tx ring.
    #[arg(long, default_value_t = 1024)]
    ring_size: u16,
    /// Measure per-frame latency inside the dataplane (rx burst to tx, TSC) into a histogram per
    /// link and direction; the exit JSON gets `latency` with p50/p99/p99.9/max in ns per link.
    #[arg(long)]
    latency: bool,
    /// Sleep this many microseconds (0-10000) when a worker has found nothing to do for 256
    /// polls in a row (as Open vSwitch's pmd-sleep-max): frees the core on a machine whose cores
    /// the workers share with other processes, at the cost of up to that much added latency on
    /// the first frame after a quiet spell. 0 (the default) polls without pause, as an appliance
    /// with cores of its own does.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    idle_sleep_us: u32,
    /// Benchmarks only: receive at most N frames a second from each port (a fixed offered load
    /// on net_null, to measure latency at).
    #[arg(long, hide = true, value_name = "N")]
    bench_rx_pps: Option<u64>,
    /// EAL arguments, after `--`.
    #[arg(last = true)]
    eal: Vec<String>,
}

/// Data room of an mbuf: headroom (RTE_PKTMBUF_HEADROOM, 128) + a 9000-octet jumbo frame + SecTAG
/// and ICV + slack.
const DATA_ROOM: u16 = 128 + 10240;

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("macsec-dataplane: error: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // `--generate-man DIR` (scripts/package.sh): the manual pages, then exit.
    if let Some(code) = ipc::man::generate_if_asked(Cli::command()) {
        return code;
    }
    // Keys live in this process: keep its memory out of core files.
    if let Err(e) = ipc::secret::no_core_dumps() {
        eprintln!("macsec-dataplane: warning: core dumps stay enabled: {e}");
    }
    let cli = Cli::parse();
    // The TOML may hold static SAKs: read into memory wiped on drop.
    let text = match ipc::secret::read_text(&cli.config) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", cli.config.display())),
    };
    let config = match DataplaneConfig::parse(&text) {
        Ok(c) => c,
        Err(e) => return fail(format!("{}: {e}", cli.config.display())),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            return fail(format!("signal handler: {e}"));
        }
    }
    let mut argv = vec!["macsec-dataplane".to_string()];
    argv.extend(cli.eal.iter().cloned());
    let eal = match Eal::init(&argv) {
        Ok(e) => e,
        Err(e) => return fail(format!("EAL: {e}")),
    };
    match run(&cli, &config, stop) {
        Ok(report) => {
            println!("{report}");
            drop(eal);
            ExitCode::SUCCESS
        }
        Err(e) => {
            drop(eal);
            // `{:#}`: each context, then the cause, as `CONTEXT: CAUSE`.
            fail(format!("{e:#}"))
        }
    }
}

/// `MACSEC_DATAPLANE_TEST_PANIC_AFTER_MS=N` (tests only, not an operator setting): the first
/// worker stops polling after N ms and panics, as a bug in the packet path would.
fn test_panic_after() -> Option<Duration> {
    std::env::var("MACSEC_DATAPLANE_TEST_PANIC_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

/// The Ethernet header and one 802.1Q tag: a frame may be this much longer than the MTU.
const FRAME_OVER_MTU: u16 = 18;
/// What protection adds at most: the SecTAG with an SCI and the ICV (the guide's 1514 + 32).
const MACSEC_OVERHEAD: u16 = 32;

/// Sets the ports' MTUs: the host port's to the configured one (if any), the line port's to the
/// host's plus the MACsec overhead where it is lower and the port allows (a port that has no MTU
/// operation, as net_pcap, net_ring and net_null, is taken to carry it). Returns the largest frame
/// (without FCS) the line carries, for OutPktsTooLong, and what was done, for the log. A line port
/// that refuses the MTU (net_af_packet reports 1500 whatever its interface's MTU is) leaves the
/// limit to the port: None, and the log says so.
fn set_mtus(l: &dataplane::config::LinkConfig, host: Port, line: Port) -> (Option<usize>, String) {
    let mut said = Vec::new();
    let mut host_mtu = host.mtu().unwrap_or(1500);
    if let Some(m) = l.mtu {
        match host.set_mtu(m) {
            Ok(()) => host_mtu = host.mtu().unwrap_or(m),
            // A port with no MTU of its own carries what it is given.
            Err(e) if e.is_not_supported() => host_mtu = m,
            Err(e) => said.push(format!("host port MTU {m} refused ({e}), stays {host_mtu}")),
        }
    }
    let want = host_mtu.saturating_add(MACSEC_OVERHEAD);
    let mut line_mtu = Some(line.mtu().unwrap_or(1500));
    if line_mtu.is_some_and(|m| m < want) {
        match line.set_mtu(want) {
            Ok(()) => line_mtu = Some(line.mtu().unwrap_or(want)),
            Err(e) if e.is_not_supported() => line_mtu = Some(want),
            Err(e) => {
                said.push(format!(
                    "warning: line port MTU {want} refused ({e}): frames longer than the port carries are its to drop"
                ));
                line_mtu = None;
            }
        }
    }
    let max = line_mtu.map(|m| usize::from(m) + usize::from(FRAME_OVER_MTU));
    said.push(match (line_mtu, max) {
        (Some(m), Some(x)) => format!("host MTU {host_mtu}, line MTU {m} (frames up to {x} octets)"),
        _ => format!("host MTU {host_mtu}"),
    });
    (max, said.join("; "))
}

/// One link as the main thread keeps it: for the result and the final drain.
struct Running {
    interface: String,
    host: Port,
    line: Port,
    link: Arc<SharedLink<DpdkPorts>>,
    lcores: Vec<u32>,
}

/// Which lcores serve which links: each link's listed lcores, or the next `workers` of the
/// worker lcores (then the main lcore) in turn.
fn plan(config: &DataplaneConfig) -> anyhow::Result<Vec<Vec<u32>>> {
    let main = dpdk::main_lcore();
    let mut pool = dpdk::worker_lcores();
    pool.push(main);
    let mut next = 0;
    config
        .links
        .iter()
        .map(|l| match &l.workers {
            Workers::Lcores(lc) => {
                if let Some(bad) = lc.iter().find(|c| !pool.contains(c)) {
                    anyhow::bail!(
                        "link {}: lcore {bad} is not one of the EAL's lcores {pool:?}",
                        l.interface
                    );
                }
                Ok(lc.clone())
            }
            Workers::Count(n) => {
                if *n > pool.len() {
                    anyhow::bail!(
                        "link {}: workers = {n}, but the EAL has {} lcores ({pool:?}): give it more (-l)",
                        l.interface,
                        pool.len()
                    );
                }
                let v = (0..*n).map(|k| pool[(next + k) % pool.len()]).collect();
                next += n;
                Ok(v)
            }
        })
        .collect()
}

fn run(cli: &Cli, config: &DataplaneConfig, stop: Arc<AtomicBool>) -> anyhow::Result<String> {
    let access = ipc::sock::Access {
        group: cli
            .socket_group
            .as_deref()
            .map(ipc::sock::resolve_group)
            .transpose()
            .context("--socket-group")?,
    };
    let plan = plan(config)?;
    let pool = Arc::new(
        Mempool::new(
            "macsec_pool",
            cli.mbufs.max(2047) * config.links.len() as u32,
            256,
            DATA_ROOM,
            dpdk::socket_id(),
        )
        .context("mempool")?,
    );
    // Control events (PN threshold) and EAPOL punts each have their own queue: a flood of punts
    // cannot take a threshold event's room.
    let (control_tx, control_rx) = crossbeam_channel::bounded::<Event>(CONTROL_QUEUE);
    let (events_tx, events_rx) = crossbeam_channel::bounded::<Event>(EAPOL_QUEUE);
    let mut handles = Vec::new();
    let mut running: Vec<Running> = Vec::new();
    let mut opened: Vec<Port> = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        for (l, lcores) in config.links.iter().zip(&plan) {
            let host = Port::by_name(&l.host_port)
                .with_context(|| format!("link {}: host port {}", l.interface, l.host_port))?;
            let line = Port::by_name(&l.line_port)
                .with_context(|| format!("link {}: line port {}", l.interface, l.line_port))?;
            for (p, rxq) in [(host, l.host_queues), (line, 1)] {
                let pname = p.name().unwrap_or_else(|_| format!("port {}", p.id()));
                p.configure(rxq, 1, cli.ring_size, cli.ring_size, &pool)
                    .with_context(|| format!("port {pname}"))?;
                opened.push(p);
            }
            let (max_frame, mtus) = set_mtus(l, host, line);
            for p in [host, line] {
                let pname = p.name().unwrap_or_else(|_| format!("port {}", p.id()));
                p.start().with_context(|| format!("port {pname}"))?;
                let _ = p.promiscuous(true);
            }
            let sci = match l.sci {
                Some(s) => s,
                None => Sci::from_mac_port(
                    line.mac_addr()
                        .with_context(|| format!("link {}: line port MAC", l.interface))?,
                    1,
                ),
            };
            let mut policy = l
                .policy
                .to_policy()
                .with_context(|| format!("link {}", l.interface))?;
            policy.max_frame_len = max_frame;
            let params = LinkParams {
                name: l.interface.clone(),
                policy,
                sci,
                backend: config.backend,
                security: l.policy.security_policy,
                clear: l.policy.clear,
                control: control_tx.clone(),
                eapol: events_tx.clone(),
                punt_limits: PuntLimits::default(),
                latency: cli.latency,
                workers: lcores.len(),
            };
            let ports = DpdkPorts {
                host,
                line,
                pool: pool.clone(),
                host_queues: l.host_queues,
                pace: cli
                    .bench_rx_pps
                    .map(|n| Arc::new([worker::Pacer::new(n), worker::Pacer::new(n)])),
            };
            let link = Arc::new(SharedLink::new(params, ports)?);
            for sa in &l.tx_sa {
                let tx = TxSa::new(
                    config.backend,
                    policy.cipher_suite,
                    sci,
                    sa.an,
                    &sa.key.to_keys(),
                    sa.pn,
                )
                .with_context(|| format!("link {}: tx_sa {}", l.interface, sa.an))?;
                link.apply(Command::PutTxSa(Arc::new(tx)));
            }
            if let Some(first) = l.tx_sa.first() {
                link.apply(Command::EnableTxSa(Some(first.an)));
            }
            for sa in &l.rx_sa {
                let rx = RxSa::new(
                    config.backend,
                    policy.cipher_suite,
                    sa.sci,
                    sa.an,
                    &sa.key.to_keys(),
                    sa.pn,
                    policy.replay_window,
                )
                .with_context(|| format!("link {}: rx_sa {}", l.interface, sa.an))?;
                link.apply(Command::PutRxSa {
                    sci: sa.sci,
                    sa: Box::new(rx),
                });
            }
            let info = LinkInfo {
                interface: l.interface.clone(),
                host_port: l.host_port.clone(),
                line_port: l.line_port.clone(),
                tx_sci: sci.0,
            };
            let handle = Arc::new(LinkHandle::new(info, l.policy, link.clone()));
            // The static SAs are known to the control thread too.
            for sa in &l.tx_sa {
                handle.note_tx_sa(sa.an);
            }
            for sa in &l.rx_sa {
                handle.note_rx_sa(sa.sci.0, sa.an);
            }
            handles.push(handle);
            eprintln!(
                "macsec-dataplane: link {}: {} worker(s) on lcore(s) {lcores:?}; {mtus}",
                l.interface,
                lcores.len()
            );
            running.push(Running {
                interface: l.interface.clone(),
                host,
                line,
                link,
                lcores: lcores.clone(),
            });
        }
        Ok(())
    })();
    if let Err(e) = result {
        for p in &opened {
            let _ = p.stop();
            let _ = p.close();
        }
        return Err(e);
    }

    let server = Server::new(handles, config.backend);
    server.set_control_timeout(config.control_timeout);
    let ctl_stop = Arc::new(AtomicBool::new(false));
    let ctl_threads = server
        .serve(&cli.socket, access, control_rx, events_rx, ctl_stop.clone())
        .with_context(|| format!("control socket {}", cli.socket.display()))?;

    // Each lcore's links, as the lcore's worker polls them.
    let mut per_lcore: BTreeMap<u32, Vec<WorkerLink<DpdkPorts>>> = BTreeMap::new();
    for r in &running {
        for (k, &c) in r.lcores.iter().enumerate() {
            // The link's k-th worker: with several host queues it reads queue k.
            per_lcore
                .entry(c)
                .or_default()
                .push(WorkerLink::with_index(r.link.clone(), k));
        }
    }
    let wstop = Arc::new(AtomicBool::new(false));
    // A worker that panics stops polling its links: the process must not go on as if they ran
    // (the control socket would still answer for them). The first panic is kept here, the
    // supervisor sees it and the process exits with status 2 for its supervisor to restart it.
    let died: Arc<Mutex<Option<String>>> = Arc::default();
    let panic_after = test_panic_after();
    let idle = Duration::from_micros(u64::from(cli.idle_sleep_us));
    let main_lcore = dpdk::main_lcore();
    let job = |lcore: u32, mut links: Vec<WorkerLink<DpdkPorts>>, inject: Option<Duration>| {
        let (s, died) = (wstop.clone(), died.clone());
        move || {
            let names: Vec<String> = links.iter().map(|l| l.link().name().to_string()).collect();
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                worker::run(&mut links, &s, idle, inject);
                if inject.is_some() && !s.load(Ordering::Relaxed) {
                    panic!("test-only panic (MACSEC_DATAPLANE_TEST_PANIC_AFTER_MS)");
                }
            }));
            if let Err(p) = ran {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|m| m.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                let mut d = died.lock().unwrap_or_else(|p| p.into_inner());
                d.get_or_insert(format!(
                    "worker lcore {lcore} (link {}) panicked: {what}; its links stopped, exiting",
                    names.join(", ")
                ));
                return -1;
            }
            0
        }
    };
    let mut launched = Vec::new();
    let mut on_main = None;
    for (i, (lcore, links)) in per_lcore.into_iter().enumerate() {
        let inject = if i == 0 { panic_after } else { None };
        if lcore == main_lcore {
            on_main = Some(job(lcore, links, inject));
            continue;
        }
        dpdk::launch(lcore, Box::new(job(lcore, links, inject))).with_context(|| format!("lcore {lcore}"))?;
        launched.push(lcore);
    }
    eprintln!(
        "macsec-dataplane: {} link(s) running on lcore(s) {:?}{}; control socket {}",
        running.len(),
        launched,
        if on_main.is_some() {
            format!(" and the main lcore {main_lcore}")
        } else {
            String::new()
        },
        cli.socket.display()
    );

    // The supervisor: ends the workers on a signal, at the duration, or when one died.
    let started = Instant::now();
    let limit = cli.duration.map(Duration::from_secs_f64);
    let supervisor = {
        let (wstop, died) = (wstop.clone(), died.clone());
        std::thread::spawn(move || {
            let worker_died = || died.lock().unwrap_or_else(|p| p.into_inner()).is_some();
            while !stop.load(Ordering::Relaxed)
                && limit.is_none_or(|d| started.elapsed() < d)
                && !worker_died()
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            wstop.store(true, Ordering::Relaxed);
        })
    };
    if let Some(mut job) = on_main {
        job();
    }
    let _ = supervisor.join();
    for lcore in launched {
        dpdk::wait_lcore(lcore);
    }
    ctl_stop.store(true, Ordering::Relaxed);
    for t in ctl_threads {
        let _ = t.join();
    }

    if let Some(why) = died.lock().unwrap_or_else(|p| p.into_inner()).take() {
        for r in &running {
            for p in [r.host, r.line] {
                let _ = p.stop();
                let _ = p.close();
            }
        }
        anyhow::bail!(why);
    }

    let mut links_json = Vec::new();
    let mut ports_json = serde_json::Map::new();
    for r in &running {
        // Deliver what the line still holds (frames in flight on a looped or slow line) and
        // apply the last commands (e.g. a final inject); bounded, as a line that never goes
        // quiet must not hold the stop.
        WorkerLink::new(r.link.clone()).drain(DRAIN_IDLE_POLLS, DRAIN_MAX);
        let snap = r.link.snapshot();
        let mut link = serde_json::json!({
            "interface": r.interface,
            "workers": r.lcores.len(),
            "lcores": r.lcores,
            "counters": snap.secy,
            "link_counters": snap.link,
            "sa": snap.sa,
        });
        if let Some(report) = r.link.latency_report() {
            link["latency"] = serde_json::json!(report);
        }
        links_json.push(link);
        for p in [r.host, r.line] {
            let st = p.stats().unwrap_or_default();
            ports_json.insert(
                p.name().unwrap_or_else(|_| format!("port{}", p.id())),
                serde_json::json!({
                    "rx": st.ipackets, "tx": st.opackets,
                    "drop": st.imissed + st.ierrors + st.oerrors + st.rx_nombuf,
                    "rx_bytes": st.ibytes, "tx_bytes": st.obytes,
                }),
            );
        }
    }
    for r in &running {
        for p in [r.host, r.line] {
            let _ = p.stop();
            let _ = p.close();
        }
    }
    Ok(serde_json::json!({ "links": links_json, "ports": ports_json, "seconds": started.elapsed().as_secs_f64() }).to_string())
}

/// Empty polls of the line port that end the drain at stop.
const DRAIN_IDLE_POLLS: u32 = 1000;
/// Longest the drain at stop may take.
const DRAIN_MAX: Duration = Duration::from_millis(200);
