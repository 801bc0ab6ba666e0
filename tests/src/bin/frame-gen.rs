//! frame-gen: a paced Ethernet frame generator on a raw AF_PACKET socket, for
//! `scripts/bench-link.sh` (host h1 sending through the appliances to h2).
//!
//! `frame-gen --iface IF --size OCTETS [--rate PPS] [--seconds S] [--dst MAC] [--src MAC]`
//! `frame-gen --iface IF --pcap FILE`
//!
//! With `--pcap`, sends each frame of FILE once, as it is, a millisecond apart (the interop
//! tests inject frames made with `macsecctl pcap protect`).
//!
//! Sends frames of `size` octets (without FCS; EtherType 0x88B5, local experimental, a 64-bit
//! sequence number first in the payload) with `sendmmsg` in batches of up to 32, paced to `rate`
//! frames/s (0: as fast as the socket takes them; paced, it sleeps until the next frame is due)
//! for `seconds`, bypassing the qdisc. Prints one JSON object: frames sent, send errors (ENOBUFS and the like: frames not sent), seconds, pps.

use std::ffi::CString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const BATCH: usize = 32;
const ETHERTYPE: u16 = 0x88b5;

struct Args {
    iface: String,
    size: usize,
    rate: f64,
    seconds: f64,
    dst: [u8; 6],
    src: [u8; 6],
    pcap: Option<String>,
}

fn mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split(':').collect();
    let mut m = [0u8; 6];
    if parts.len() != 6 {
        return Err(format!("bad MAC {s}"));
    }
    for (o, p) in m.iter_mut().zip(parts) {
        *o = u8::from_str_radix(p, 16).map_err(|_| format!("bad MAC {s}"))?;
    }
    Ok(m)
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        iface: String::new(),
        size: 64,
        rate: 0.0,
        seconds: 3.0,
        dst: [0x02, 0, 0, 0, 0xb2, 0x02],
        src: [0x02, 0, 0, 0, 0xb1, 0x01],
        pcap: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--iface" => a.iface = v()?,
            "--size" => a.size = v()?.parse().map_err(|e| format!("--size: {e}"))?,
            "--rate" => a.rate = v()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--seconds" => a.seconds = v()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--dst" => a.dst = mac(&v()?)?,
            "--src" => a.src = mac(&v()?)?,
            "--pcap" => a.pcap = Some(v()?),
            _ => return Err(format!("unknown argument {k}\nusage: frame-gen --iface IF --size OCTETS [--rate PPS] [--seconds S] [--dst MAC] [--src MAC] | --iface IF --pcap FILE")),
        }
    }
    if a.iface.is_empty() {
        return Err("--iface is required".into());
    }
    if a.pcap.is_none() && !(60..=9000).contains(&a.size) {
        return Err("--size must be 60..9000".into());
    }
    Ok(a)
}

fn open(iface: &str) -> Result<i32, String> {
    let name = CString::new(iface).map_err(|_| "bad interface name".to_string())?;
    // SAFETY: name is a valid NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        return Err(format!("{iface}: no such interface"));
    }
    // Protocol 0: this socket sends only, it receives nothing.
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    if fd < 0 {
        return Err(format!("socket(AF_PACKET): {}", std::io::Error::last_os_error()));
    }
    // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    sll.sll_protocol = 0;
    // SAFETY: fd is our socket; sll is a sockaddr_ll of the size passed.
    let r = unsafe {
        libc::bind(
            fd,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if r != 0 {
        return Err(format!("bind {iface}: {}", std::io::Error::last_os_error()));
    }
    let one: libc::c_int = 1;
    // SAFETY: fd is our socket; the option value is a c_int of the size passed. Failure is fine
    // (older kernels): frames then go through the qdisc.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    Ok(fd)
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("frame-gen: {e}");
            return ExitCode::from(2);
        }
    };
    let fd = match open(&a.iface) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("frame-gen: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(path) = &a.pcap {
        return send_pcap(fd, path);
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
    let mut iov: Vec<libc::iovec> = frames
        .iter_mut()
        .map(|f| libc::iovec {
            iov_base: f.as_mut_ptr().cast(),
            iov_len: f.len(),
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iov
        .iter_mut()
        .map(|v| {
            // SAFETY: mmsghdr is plain data; zeroed is a valid value.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = v as *mut libc::iovec;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
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
        for f in frames.iter_mut().take(want) {
            f[14..22].copy_from_slice(&seq.to_be_bytes());
            seq += 1;
        }
        // SAFETY: msgs[..want] point at iovecs over frames, all alive and unaliased for the call.
        let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), want as u32, 0) };
        if r < 0 {
            errors += want as u64;
        } else {
            sent += r as u64;
            errors += (want - r as usize) as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    // SAFETY: fd is our socket, closed once.
    unsafe { libc::close(fd) };
    println!(
        "{{\"sent\":{sent},\"send_errors\":{errors},\"seconds\":{secs:.6},\"pps\":{:.1},\"size\":{},\"rate\":{}}}",
        sent as f64 / secs,
        a.size,
        a.rate
    );
    ExitCode::SUCCESS
}

/// Sends every frame of a pcap file once, a millisecond apart.
fn send_pcap(fd: i32, path: &str) -> ExitCode {
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
        // SAFETY: fd is our socket; the buffer is the packet's data, alive for the call.
        let n = unsafe { libc::send(fd, p.data.as_ptr().cast(), p.data.len(), 0) };
        if n == p.data.len() as isize {
            sent += 1;
        } else {
            errors += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: fd is our socket, closed once.
    unsafe { libc::close(fd) };
    println!("{{\"sent\":{sent},\"send_errors\":{errors}}}");
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
