//! macsec-dataplane: the DPDK bump-in-the-wire MACsec appliance.
//!
//! `macsec-dataplane --config FILE [--duration SECS] [--socket PATH] [--socket-group GROUP] -- [EAL ARGS]`
//! Each link's worker protects what its host port receives onto its line port and validates what
//! the line port receives onto the host port. The control socket serves the `ipc` protocol. On
//! every exit (duration, SIGINT, SIGTERM) the ports are flushed and closed and one JSON object
//! with the counters is printed on stdout.

#![forbid(unsafe_code)]

use anyhow::Context;
use clap::Parser;
use dataplane::config::DataplaneConfig;
use dataplane::dpdk::{self, Eal, Mempool, Port};
use dataplane::server::{LinkHandle, Server};
use dataplane::worker::{
    run_dpdk, Command, DpdkLink, EventOut, Latency, LatencyReport, LinkState, PuntLimits, Snapshot,
    CONTROL_QUEUE, EAPOL_QUEUE,
};
use ipc::{Event, LinkInfo};
use macsec::secy::Sci;
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

struct Running {
    interface: String,
    host: Port,
    line: Port,
    result: Arc<Mutex<Option<Snapshot>>>,
    latency: Option<Arc<Mutex<Option<LatencyReport>>>>,
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
    let workers = dpdk::worker_lcores();
    if workers.is_empty() {
        anyhow::bail!("no worker lcore: give the EAL at least two lcores (e.g. -l 0,1)");
    }
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
    let mut per_lcore: Vec<Vec<DpdkLink>> = workers.iter().map(|_| Vec::new()).collect();
    let mut running = Vec::new();
    let mut opened: Vec<Port> = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        for (i, l) in config.links.iter().enumerate() {
            let host = Port::by_name(&l.host_port)
                .with_context(|| format!("link {}: host port {}", l.interface, l.host_port))?;
            let line = Port::by_name(&l.line_port)
                .with_context(|| format!("link {}: line port {}", l.interface, l.line_port))?;
            for p in [host, line] {
                let pname = p.name().unwrap_or_else(|_| format!("port {}", p.id()));
                p.configure(1, 1, cli.ring_size, cli.ring_size, &pool)
                    .with_context(|| format!("port {pname}"))?;
                p.start().with_context(|| format!("port {pname}"))?;
                opened.push(p);
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
            let policy = l
                .policy
                .to_policy()
                .with_context(|| format!("link {}", l.interface))?;
            let mut state = LinkState::new(
                &l.interface,
                policy,
                sci,
                config.backend,
                l.policy.security_policy,
                l.policy.lacp_in_clear,
            );
            for sa in &l.tx_sa {
                state
                    .secy
                    .tx
                    .install_sa(sa.an, &sa.key.to_keys(), sa.pn)
                    .with_context(|| format!("link {}: tx_sa {}", l.interface, sa.an))?;
            }
            if let Some(first) = l.tx_sa.first() {
                state.apply(Command::EnableTxSa(Some(first.an)));
            }
            for sa in &l.rx_sa {
                state
                    .secy
                    .rx
                    .install_sa(sa.sci, sa.an, &sa.key.to_keys(), sa.pn)
                    .with_context(|| format!("link {}: rx_sa {}", l.interface, sa.an))?;
            }
            let (cmd_tx, cmd_rx) = crossbeam_channel::bounded(1024);
            let info = LinkInfo {
                interface: l.interface.clone(),
                host_port: l.host_port.clone(),
                line_port: l.line_port.clone(),
                tx_sci: sci.0,
            };
            let handle = Arc::new(LinkHandle::new(info, l.policy, cmd_tx));
            // The static SAs are known to the control thread too.
            for sa in &l.tx_sa {
                handle.note_tx_sa(sa.an);
            }
            for sa in &l.rx_sa {
                handle.note_rx_sa(sa.sci.0, sa.an);
            }
            handles.push(handle);
            let result = Arc::new(Mutex::new(None));
            // The histograms are allocated here, before the workers start.
            let latency = if cli.latency {
                Some(Box::new(Latency::new()?))
            } else {
                None
            };
            let latency_result = latency.as_ref().map(|l| l.result.clone());
            running.push(Running {
                interface: l.interface.clone(),
                host,
                line,
                result: result.clone(),
                latency: latency_result,
            });
            per_lcore[i % workers.len()].push(DpdkLink {
                state,
                host,
                line,
                commands: cmd_rx,
                events: EventOut::new(control_tx.clone(), events_tx.clone(), PuntLimits::default()),
                epoch: Instant::now(),
                pool: pool.clone(),
                result,
                latency,
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

    let wstop = Arc::new(AtomicBool::new(false));
    // A worker that panics stops its links: the process must not go on as if they ran (the
    // control socket would still answer for them). The first panic is kept here, the main loop
    // sees it and the process exits with status 2 for its supervisor to restart it.
    let died: Arc<Mutex<Option<String>>> = Arc::default();
    let panic_after = test_panic_after();
    let mut launched = Vec::new();
    for (i, (lcore, links)) in workers.iter().zip(per_lcore).enumerate() {
        if links.is_empty() {
            continue;
        }
        let names: Vec<String> = running
            .iter()
            .enumerate()
            .filter(|(k, _)| k % workers.len() == i)
            .map(|(_, r)| r.interface.clone())
            .collect();
        let (s, died, lcore_id) = (wstop.clone(), died.clone(), *lcore);
        let idle = Duration::from_micros(u64::from(cli.idle_sleep_us));
        let inject = if i == 0 { panic_after } else { None };
        let job = move || {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let rc = run_dpdk(links, s.clone(), idle, inject);
                if inject.is_some() && !s.load(Ordering::Relaxed) {
                    panic!("test-only panic (MACSEC_DATAPLANE_TEST_PANIC_AFTER_MS)");
                }
                rc
            }));
            ran.unwrap_or_else(|p| {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|m| m.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                let mut d = died.lock().unwrap_or_else(|p| p.into_inner());
                d.get_or_insert(format!(
                    "worker lcore {lcore_id} (link {}) panicked: {what}; its links stopped, exiting",
                    names.join(", ")
                ));
                -1
            })
        };
        dpdk::launch(*lcore, Box::new(job)).with_context(|| format!("lcore {lcore}"))?;
        launched.push(*lcore);
    }
    eprintln!(
        "macsec-dataplane: {} link(s) running on lcore(s) {:?}; control socket {}",
        running.len(),
        launched,
        cli.socket.display()
    );

    let started = Instant::now();
    let limit = cli.duration.map(Duration::from_secs_f64);
    let worker_died = || died.lock().unwrap_or_else(|p| p.into_inner()).is_some();
    while !stop.load(Ordering::Relaxed) && limit.is_none_or(|d| started.elapsed() < d) && !worker_died() {
        std::thread::sleep(Duration::from_millis(20));
    }
    wstop.store(true, Ordering::Relaxed);
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
        let snap = r
            .result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        let mut link = serde_json::json!({
            "interface": r.interface,
            "counters": snap.secy,
            "link_counters": snap.link,
            "sa": snap.sa,
        });
        if let Some(lat) = &r.latency {
            let report = lat
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_default();
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
