//! udp-stream: a paced, sequence-numbered UDP stream and its counter, for the system tests
//! (`tests/tests/system.rs`).
//!
//! ```text
//! udp-stream send --dst 192.0.2.2:9000 [--rate PPS] [--size OCTETS] [--duration SECS] [--stop-file PATH]
//! udp-stream recv --bind 0.0.0.0:9000 [--duration SECS] [--stop-file PATH] [--gap-ms MS] [--ranges N]
//! ```
//!
//! Both run until `--duration` has passed or `--stop-file` exists, then print one JSON object.
//! The sender paces to `--rate` packets per second (default 3000); each datagram carries a 64-bit
//! sequence number (from 0) and its send time. A send that fails does not use up its sequence
//! number, so `sent` is what left the socket. The receiver counts unique datagrams received,
//! duplicates, datagrams that arrived after a higher sequence number (out of order), the
//! missing sequence numbers below the highest seen (as ranges), first and last arrival (Unix
//! seconds) and every silence longer than `--gap-ms` (default 50) between two arrivals. It
//! reports the first `--ranges` (default 50) missing ranges, and how many datagrams the kernel
//! dropped in its network namespace because a UDP socket's receive buffer was full while it ran
//! (`rcvbuf_errors`, from /proc/net/snmp: a loss that happened after the appliance, in the host).
//! It asks for a receive buffer of [`RCVBUF`] octets (the kernel caps it at `net.core.rmem_max`)
//! so that the seconds it may lose the CPU to the polling dataplanes do not overflow it, and
//! reports what it got (`rcvbuf`).
//! The loss of a run is the sender's `sent` minus the receiver's `received`.

#![forbid(unsafe_code)]

use anyhow::{anyhow, bail, Context};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: udp-stream send --dst IP:PORT [--rate PPS] [--size OCTETS] [--duration SECS] [--stop-file PATH]\n       udp-stream recv --bind IP:PORT [--duration SECS] [--stop-file PATH] [--gap-ms MS] [--ranges N]";

/// The receive buffer the receiver asks for: 4 MiB holds about 14 000 datagrams of the default
/// size (the kernel counts some 300 octets a datagram), seconds of a stream at the tests' rates.
const RCVBUF: usize = 4 << 20;

struct Opts {
    addr: String,
    rate: f64,
    size: usize,
    duration: Option<f64>,
    stop_file: Option<PathBuf>,
    gap_ms: f64,
    ranges: usize,
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn parse(args: &[String]) -> anyhow::Result<(String, Opts)> {
    let mode = args.first().context("missing mode (send or recv)")?.clone();
    let mut o = Opts {
        addr: String::new(),
        rate: 3000.0,
        size: 200,
        duration: None,
        stop_file: None,
        gap_ms: 50.0,
        ranges: 50,
    };
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().with_context(|| format!("{a} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|_| anyhow!("{a}: not a number: {v}"));
        match a.as_str() {
            "--dst" | "--bind" => o.addr = val()?,
            "--rate" => o.rate = num(val()?)?,
            "--size" => o.size = num(val()?)? as usize,
            "--duration" => o.duration = Some(num(val()?)?),
            "--stop-file" => o.stop_file = Some(PathBuf::from(val()?)),
            "--gap-ms" => o.gap_ms = num(val()?)?,
            "--ranges" => o.ranges = num(val()?)? as usize,
            other => bail!("unknown option {other}"),
        }
    }
    if o.addr.is_empty() {
        bail!("--dst (send) or --bind (recv) is required");
    }
    if o.rate.is_nan() || o.rate <= 0.0 {
        bail!("--rate must be positive");
    }
    o.size = o.size.clamp(16, 1472);
    Ok((mode, o))
}

fn should_stop(o: &Opts, start: Instant) -> bool {
    o.duration.is_some_and(|d| start.elapsed().as_secs_f64() >= d)
        || o.stop_file.as_ref().is_some_and(|p| p.exists())
}

fn send(o: &Opts) -> anyhow::Result<serde_json::Value> {
    let sock = UdpSocket::bind("0.0.0.0:0").context("bind")?;
    sock.connect(&o.addr)
        .with_context(|| format!("connect {}", o.addr))?;
    let mut buf = vec![0u8; o.size];
    let start = Instant::now();
    let first_tx = unix_now();
    let (mut seq, mut errors, mut checks) = (0u64, 0u64, 0u32);
    let mut last_error = String::new();
    loop {
        // Check the stop file about every 10 ms, not per datagram.
        checks += 1;
        if checks % 20 == 0 && should_stop(o, start) {
            break;
        }
        let due = (start.elapsed().as_secs_f64() * o.rate) as u64;
        let mut attempts = 0;
        while seq < due && attempts < 64 {
            attempts += 1;
            buf[..8].copy_from_slice(&seq.to_be_bytes());
            buf[8..16].copy_from_slice(&(unix_now() * 1e9).to_bits().to_be_bytes());
            match sock.send(&buf) {
                Ok(_) => seq += 1,
                Err(e) => {
                    errors += 1;
                    last_error = e.to_string();
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "role": "send", "dst": o.addr, "sent": seq, "send_errors": errors, "last_error": last_error,
        "rate_pps": o.rate, "seconds": (secs * 1000.0).round() / 1000.0, "first_tx": first_tx, "last_tx": unix_now(),
    }))
}

/// `Udp: RcvbufErrors` of this network namespace (/proc/net/snmp), 0 when it cannot be read.
fn udp_rcvbuf_errors() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    (names.split_whitespace().zip(values.split_whitespace()))
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

fn recv(o: &Opts) -> anyhow::Result<serde_json::Value> {
    let rcvbuf_errors = udp_rcvbuf_errors();
    let sock = UdpSocket::bind(&o.addr).with_context(|| format!("bind {}", o.addr))?;
    sock.set_read_timeout(Some(Duration::from_millis(10)))?;
    let sref = socket2::SockRef::from(&sock);
    sref.set_recv_buffer_size(RCVBUF).context("SO_RCVBUF")?;
    let rcvbuf = sref.recv_buffer_size().context("SO_RCVBUF")?;
    let start = Instant::now();
    let mut seen: Vec<u64> = Vec::new(); // bitmap of sequence numbers
    let (mut received, mut dups, mut ooo) = (0u64, 0u64, 0u64);
    let mut max_seq: Option<u64> = None;
    let (mut first_rx, mut last_rx) = (None::<f64>, None::<f64>);
    let mut gaps: Vec<serde_json::Value> = Vec::new();
    let mut max_gap = 0.0f64;
    let mut buf = [0u8; 2048];
    while !should_stop(o, start) {
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => return Err(e).context("recv"),
        };
        if n < 8 {
            continue;
        }
        let now = unix_now();
        let seq = u64::from_be_bytes(buf[..8].try_into().unwrap_or([0; 8]));
        if seq > 1 << 40 {
            continue; // not ours
        }
        let (w, b) = ((seq / 64) as usize, seq % 64);
        if seen.len() <= w {
            seen.resize(w + 1, 0);
        }
        if seen[w] & (1 << b) != 0 {
            dups += 1;
            continue;
        }
        seen[w] |= 1 << b;
        received += 1;
        if max_seq.is_some_and(|m| seq < m) {
            ooo += 1;
        }
        max_seq = Some(max_seq.map_or(seq, |m| m.max(seq)));
        if let Some(prev) = last_rx {
            let gap_ms = (now - prev) * 1000.0;
            max_gap = max_gap.max(gap_ms);
            if gap_ms > o.gap_ms && gaps.len() < 50 {
                gaps.push(serde_json::json!({ "after": prev, "ms": (gap_ms * 10.0).round() / 10.0, "next_seq": seq }));
            }
        }
        first_rx.get_or_insert(now);
        last_rx = Some(now);
    }
    // Missing sequence numbers below the highest one seen, as ranges [first, last].
    let mut missing = 0u64;
    let mut ranges: Vec<[u64; 2]> = Vec::new();
    if let Some(m) = max_seq {
        let mut s = 0;
        while s <= m {
            let present = seen[(s / 64) as usize] & (1 << (s % 64)) != 0;
            if !present {
                missing += 1;
                match ranges.last_mut() {
                    Some(r) if r[1] + 1 == s => r[1] = s,
                    _ => ranges.push([s, s]),
                }
            }
            s += 1;
        }
    }
    ranges.truncate(o.ranges);
    Ok(serde_json::json!({
        "role": "recv", "bind": o.addr, "received": received, "duplicates": dups, "out_of_order": ooo,
        "max_seq": max_seq, "missing_below_max": missing, "missing_ranges": ranges,
        "first_rx": first_rx, "last_rx": last_rx, "max_gap_ms": (max_gap * 10.0).round() / 10.0, "gaps": gaps,
        "rcvbuf_errors": udp_rcvbuf_errors().saturating_sub(rcvbuf_errors), "rcvbuf": rcvbuf,
    }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, opts) = match parse(&args) {
        Ok(x) => x,
        Err(e) => {
            // `{:#}`: the context, then the cause, as `CONTEXT: CAUSE`.
            eprintln!("udp-stream: {e:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let r = match mode.as_str() {
        "send" => send(&opts),
        "recv" => recv(&opts),
        other => Err(anyhow!("unknown mode {other}\n{USAGE}")),
    };
    match r {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("udp-stream: {e:#}");
            ExitCode::from(1)
        }
    }
}
