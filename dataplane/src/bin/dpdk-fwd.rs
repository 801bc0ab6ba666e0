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

use dataplane::dpdk::{self, Burst, DpdkError, Eal, Mempool, Port, PortStats};
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

fn parse_args() -> Result<Args, String> {
    let mut argv = std::env::args();
    let prog = argv.next().unwrap_or_else(|| "dpdk-fwd".to_owned());
    let (mut from, mut to, mut packets, mut timeout_ms) = (None, None, u64::MAX, 5000u64);
    let mut eal = vec![prog];
    while let Some(a) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--from" => from = Some(value("--from")?),
            "--to" => to = Some(value("--to")?),
            "--packets" => {
                packets = value("--packets")?
                    .parse()
                    .map_err(|e| format!("--packets: {e}"))?
            }
            "--timeout-ms" => {
                timeout_ms = value("--timeout-ms")?
                    .parse()
                    .map_err(|e| format!("--timeout-ms: {e}"))?
            }
            "--" => {
                eal.extend(argv.by_ref());
                break;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Args {
        from: from.ok_or("--from is required")?,
        to: to.ok_or("--to is required")?,
        packets,
        timeout: Duration::from_millis(timeout_ms),
        eal,
    })
}

fn stats_json(s: &PortStats) -> String {
    format!(
        "{{\"ipackets\":{},\"opackets\":{},\"ibytes\":{},\"obytes\":{},\"imissed\":{},\"ierrors\":{},\"oerrors\":{},\"rx_nombuf\":{}}}",
        s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf
    )
}

fn run(args: Args) -> Result<(), String> {
    let ctx = |what: &'static str| move |e: DpdkError| format!("{what}: {e}");
    let eal = Eal::init(&args.eal).map_err(ctx("EAL init"))?;
    let from = Port::by_name(&args.from).map_err(ctx("--from"))?;
    let to = Port::by_name(&args.to).map_err(ctx("--to"))?;
    if from == to {
        return Err("--from and --to must be different ports".into());
    }
    let worker = *Eal::worker_lcores()
        .first()
        .ok_or("no worker lcore (give EAL e.g. -l 0,1)")?;
    let socket = from.socket_id();
    let pool = Mempool::new("dpdk_fwd_pool", 4095, 128, DATA_ROOM, socket).map_err(ctx("mempool"))?;
    for port in [from, to] {
        port.configure(1, 1, 512, 512, &pool).map_err(ctx("configure"))?;
        port.start().map_err(ctx("start"))?;
        if let Err(e) = port.promiscuous(true) {
            if !e.is_not_supported() {
                return Err(format!("promiscuous: {e}"));
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
    .map_err(ctx("launch"))?;
    let rc = dpdk::wait_lcore(worker);
    let elapsed = started.elapsed();
    if rc != 0 {
        return Err(format!("worker lcore {worker} returned {rc}"));
    }

    for port in [from, to] {
        port.stop().map_err(ctx("stop"))?;
    }
    let (sf, st) = (
        from.stats().map_err(ctx("stats"))?,
        to.stats().map_err(ctx("stats"))?,
    );
    for port in [from, to] {
        port.close().map_err(ctx("close"))?;
    }
    let leaked = pool.in_use();
    drop(pool);
    eal.cleanup().map_err(ctx("EAL cleanup"))?;
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
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("dpdk-fwd: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dpdk-fwd: {e}");
            ExitCode::from(1)
        }
    }
}
