//! frame-gen: a paced Ethernet frame generator on a raw AF_PACKET socket, for
//! `scripts/bench-link.sh` (host h1 sending through the appliances to h2).
//!
//! `frame-gen --iface IF --size OCTETS [--rate PPS] [--seconds S] [--dst MAC] [--src MAC]`
//! `frame-gen --iface IF --pcap FILE`
//!
//! With `--pcap`, sends each frame of FILE once, as it is, a millisecond apart (the interop
//! tests inject frames made with `macsecctl pcap protect`). With `--pcap FILE --loop`, sends
//! FILE's frames over and over for `--seconds`, paced to `--rate` (0: as fast as the socket takes
//! them), in batches (the fault test's EAPOL flood), and prints the same JSON as a paced run.
//!
//! Sends frames of `size` octets (without FCS; EtherType 0x88B5, local experimental, a 64-bit
//! sequence number first in the payload) with `sendmmsg` in batches of up to 32, paced to `rate`
//! frames/s (0: as fast as the socket takes them; paced, it sleeps until the next frame is due)
//! for `seconds`, bypassing the qdisc. Prints one JSON object: frames sent, send errors (ENOBUFS and the like: frames not sent), seconds, pps.

use afpacket::PacketSocket;
use anyhow::{bail, Context};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Frames per sendmmsg call: as many as the helper takes at once.
const BATCH: usize = afpacket::BATCH_MAX;
const ETHERTYPE: u16 = 0x88b5;

struct Args {
    iface: String,
    size: usize,
    rate: f64,
    seconds: f64,
    dst: [u8; 6],
    src: [u8; 6],
    pcap: Option<String>,
    repeat: bool,
}

fn mac(s: &str) -> anyhow::Result<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    let mut m = [0u8; 6];
    if parts.len() != 6 {
        bail!("bad MAC {s}");
    }
    for (o, p) in m.iter_mut().zip(parts) {
        *o = u8::from_str_radix(p, 16)
            .ok()
            .with_context(|| format!("bad MAC {s}"))?;
    }
    Ok(m)
}

fn parse() -> anyhow::Result<Args> {
    let mut a = Args {
        iface: String::new(),
        size: 64,
        rate: 0.0,
        seconds: 3.0,
        dst: [0x02, 0, 0, 0, 0xb2, 0x02],
        src: [0x02, 0, 0, 0, 0xb1, 0x01],
        pcap: None,
        repeat: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--iface" => a.iface = v()?,
            "--size" => a.size = v()?.parse().context("--size")?,
            "--rate" => a.rate = v()?.parse().context("--rate")?,
            "--seconds" => a.seconds = v()?.parse().context("--seconds")?,
            "--dst" => a.dst = mac(&v()?)?,
            "--src" => a.src = mac(&v()?)?,
            "--pcap" => a.pcap = Some(v()?),
            "--loop" => a.repeat = true,
            _ => bail!("unknown argument {k}\nusage: frame-gen --iface IF --size OCTETS [--rate PPS] [--seconds S] [--dst MAC] [--src MAC] | --iface IF --pcap FILE [--loop [--rate PPS] [--seconds S]]"),
        }
    }
    if a.iface.is_empty() {
        bail!("--iface is required");
    }
    if a.pcap.is_none() && !(60..=9000).contains(&a.size) {
        bail!("--size must be 60..9000");
    }
    Ok(a)
}

/// A socket on `iface` that only sends (protocol 0: it receives nothing), past the qdisc where
/// the kernel allows it (older kernels refuse: frames then go through the qdisc).
fn open(iface: &str) -> Result<PacketSocket, afpacket::OpenError> {
    let sock = PacketSocket::open(iface, 0)?;
    let _ = sock.set_qdisc_bypass();
    Ok(sock)
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            // `{:#}`: the context, then the cause, as `CONTEXT: CAUSE`.
            eprintln!("frame-gen: {e:#}");
            return ExitCode::from(2);
        }
    };
    let sock = match open(&a.iface) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("frame-gen: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(path) = &a.pcap {
        if !a.repeat {
            return send_pcap(&sock, path);
        }
    }
    let slack_ns: libc::c_ulong = 1;
    // SAFETY: prctl(PR_SET_TIMERSLACK) takes an integer and changes only this thread's timers.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, slack_ns) };
    let mut frames = vec![vec![0u8; a.size]; BATCH];
    for (i, f) in frames.iter_mut().enumerate() {
        f[0..6].copy_from_slice(&a.dst);
        f[6..12].copy_from_slice(&a.src);
        f[12..14].copy_from_slice(&ETHERTYPE.to_be_bytes());
        for (j, b) in f[22..].iter_mut().enumerate() {
            *b = (i + j) as u8;
        }
    }
    // --loop: the pcap's frames, as they are (no sequence number written).
    let looped: Vec<Vec<u8>> = match &a.pcap {
        Some(path) => match read_frames(path) {
            Ok(v) if !v.is_empty() => v,
            Ok(_) => {
                eprintln!("frame-gen: {path}: no frames");
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("frame-gen: {path}: {e:#}");
                return ExitCode::from(1);
            }
        },
        None => Vec::new(),
    };
    let mut next_looped = 0usize;
    let (mut sent, mut errors, mut seq) = (0u64, 0u64, 0u64);
    let limit = Duration::from_secs_f64(a.seconds);
    let start = Instant::now();
    loop {
        let elapsed = start.elapsed();
        if elapsed >= limit {
            break;
        }
        let want = if a.rate > 0.0 {
            let due = (a.rate * elapsed.as_secs_f64()) as u64;
            let n = due.saturating_sub(sent + errors).min(BATCH as u64) as usize;
            if n == 0 {
                // Sleep until the next frame is due (precise: timer slack set to 1 ns below), so
                // that a paced frame-gen leaves the CPU to the appliances' polling workers.
                let next = (sent + errors + 1) as f64 / a.rate;
                let wait = next - elapsed.as_secs_f64();
                if wait > 0.0 {
                    std::thread::sleep(Duration::from_secs_f64(wait.min(0.001)));
                }
                continue;
            }
            n
        } else {
            BATCH
        };
        let mut batch: [&[u8]; BATCH] = [&[]; BATCH];
        if looped.is_empty() {
            for f in frames.iter_mut().take(want) {
                f[14..22].copy_from_slice(&seq.to_be_bytes());
                seq += 1;
            }
            for (b, f) in batch.iter_mut().zip(&frames) {
                *b = f;
            }
        } else {
            for b in batch.iter_mut().take(want) {
                *b = &looped[next_looped];
                next_looped = (next_looped + 1) % looped.len();
            }
        }
        match sock.send_batch(&batch[..want]) {
            Ok(r) => {
                sent += r as u64;
                errors += (want - r) as u64;
            }
            Err(_) => errors += want as u64,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(sock);
    println!(
        "{{\"sent\":{sent},\"send_errors\":{errors},\"seconds\":{secs:.6},\"pps\":{:.1},\"size\":{},\"rate\":{}}}",
        sent as f64 / secs,
        a.size,
        a.rate
    );
    ExitCode::SUCCESS
}

/// Every frame of a pcap file.
fn read_frames(path: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut r = pcap_file::pcap::PcapReader::new(file)?;
    let mut v = Vec::new();
    while let Some(p) = r.next_packet() {
        v.push(p.context("a truncated record")?.data.into_owned());
    }
    Ok(v)
}

/// Sends every frame of a pcap file once, a millisecond apart.
fn send_pcap(sock: &PacketSocket, path: &str) -> ExitCode {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("frame-gen: {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let mut r = match pcap_file::pcap::PcapReader::new(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("frame-gen: {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let (mut sent, mut errors) = (0u64, 0u64);
    while let Some(p) = r.next_packet() {
        let Ok(p) = p else {
            eprintln!("frame-gen: {path}: a truncated record");
            return ExitCode::from(1);
        };
        if sock.send(&p.data).is_ok_and(|n| n == p.data.len()) {
            sent += 1;
        } else {
            errors += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("{{\"sent\":{sent},\"send_errors\":{errors}}}");
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
