//! Minimal DPDK forwarder, a smoke test of `dataplane::dpdk`:
//!
//! ```text
//! dpdk-fwd --from PORTNAME --to PORTNAME [--packets N] [--timeout-ms MS] -- EAL ARGS...
//! ```
//!
//! Initializes the EAL, configures both ports (one Rx and one Tx queue each) on one mempool,
//! forwards `--from` -> `--to` on the first worker lcore until N packets were forwarded or the
//! timeout (default 5000 ms) passed, stops and closes the ports (net_pcap writes its tx file on
//! close) and prints one JSON line:
//! `{"forwarded":N,"dropped":N,"elapsed_ms":N,"from":{...stats},"to":{...stats}}`.
//! Exit status: 0 done, 1 runtime failure, 2 usage error.

#![forbid(unsafe_code)]

use anyhow::Context;
use dataplane::dpdk::{self, Burst, Eal, Mempool, Port, PortStats};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: dpdk-fwd --from PORTNAME --to PORTNAME [--packets N] [--timeout-ms MS] -- EAL ARGS...";
const BURST: usize = 32;
/// Headroom (RTE_PKTMBUF_HEADROOM) plus a 9000-octet jumbo frame, SecTAG and ICV, rounded up.
const DATA_ROOM: u16 = 128 + 10240;

struct Args {
    from: String,
    to: String,
    packets: u64,
    timeout: Duration,
    eal: Vec<String>,
}

/// The arguments, or `None` for `-h`/`--help` (which prints only the usage).
fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut argv = std::env::args();
    let prog = argv.next().unwrap_or_else(|| "dpdk-fwd".to_owned());
    let (mut from, mut to, mut packets, mut timeout_ms) = (None, None, u64::MAX, 5000u64);
    let mut eal = vec![prog];
    while let Some(a) = argv.next() {
        let mut value = |name: &str| argv.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--from" => from = Some(value("--from")?),
            "--to" => to = Some(value("--to")?),
            "--packets" => packets = value("--packets")?.parse().context("--packets")?,
            "--timeout-ms" => timeout_ms = value("--timeout-ms")?.parse().context("--timeout-ms")?,
            "--" => {
                eal.extend(argv.by_ref());
                break;
            }
            "-h" | "--help" => return Ok(None),
            other => anyhow::bail!("unexpected argument {other:?}"),
        }
    }
    Ok(Some(Args {
        from: from.context("--from is required")?,
        to: to.context("--to is required")?,
        packets,
        timeout: Duration::from_millis(timeout_ms),
        eal,
    }))
}

fn stats_json(s: &PortStats) -> String {
    format!(
        "{{\"ipackets\":{},\"opackets\":{},\"ibytes\":{},\"obytes\":{},\"imissed\":{},\"ierrors\":{},\"oerrors\":{},\"rx_nombuf\":{}}}",
        s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf
    )
}

fn run(args: Args) -> anyhow::Result<()> {
    let eal = Eal::init(&args.eal).context("EAL init")?;
    let from = Port::by_name(&args.from).context("--from")?;
    let to = Port::by_name(&args.to).context("--to")?;
    if from == to {
        anyhow::bail!("--from and --to must be different ports");
    }
    let worker = *Eal::worker_lcores()
        .first()
        .context("no worker lcore (give EAL e.g. -l 0,1)")?;
    let socket = from.socket_id();
    let pool = Mempool::new("dpdk_fwd_pool", 4095, 128, DATA_ROOM, socket).context("mempool")?;
    for port in [from, to] {
        port.configure(1, 1, 512, 512, &pool).context("configure")?;
        port.start().context("start")?;
        if let Err(e) = port.promiscuous(true) {
            if !e.is_not_supported() {
                return Err(e).context("promiscuous");
            }
        }
    }

    let forwarded = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let (fwd, drp, target, timeout) = (forwarded.clone(), dropped.clone(), args.packets, args.timeout);
    let started = Instant::now();
    dpdk::launch(
        worker,
        Box::new(move || {
            let mut rx: Burst<BURST> = Burst::new();
            let mut tx: Burst<BURST> = Burst::new();
            let (mut sent, mut lost) = (0u64, 0u64);
            let deadline = Instant::now() + timeout;
            while sent < target && Instant::now() < deadline {
                if rx.rx(from, 0) == 0 {
                    continue;
                }
                for m in rx.drain() {
                    // The in-place stage would go here (e.g. SecY protect on m.buffer_mut()).
                    if !m.is_contiguous() || m.data().is_empty() {
                        lost += 1; // dropped (freed) here
                        continue;
                    }
                    if let Err(m) = tx.push(m) {
                        drop(m);
                        lost += 1;
                    }
                }
                let n = tx.len();
                let ok = tx.tx(to, 0);
                sent += ok as u64;
                lost += (n - ok) as u64;
            }
            fwd.store(sent, Ordering::Release);
            drp.store(lost, Ordering::Release);
            0
        }),
    )
    .context("launch")?;
    let rc = dpdk::wait_lcore(worker);
    let elapsed = started.elapsed();
    if rc != 0 {
        anyhow::bail!("worker lcore {worker} returned {rc}");
    }

    for port in [from, to] {
        port.stop().context("stop")?;
    }
    let (sf, st) = (from.stats().context("stats")?, to.stats().context("stats")?);
    for port in [from, to] {
        port.close().context("close")?;
    }
    let leaked = pool.in_use();
    drop(pool);
    eal.cleanup().context("EAL cleanup")?;
    println!(
        "{{\"forwarded\":{},\"dropped\":{},\"elapsed_ms\":{},\"mbufs_in_use_at_exit\":{},\"from\":{},\"to\":{}}}",
        forwarded.load(Ordering::Acquire),
        dropped.load(Ordering::Acquire),
        elapsed.as_millis(),
        leaked,
        stats_json(&sf),
        stats_json(&st)
    );
    Ok(())
}

fn main() -> ExitCode {
    // `{:#}`: the context, then the cause, as `CONTEXT: CAUSE`.
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("dpdk-fwd: {e:#}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dpdk-fwd: {e:#}");
            ExitCode::from(1)
        }
    }
}
