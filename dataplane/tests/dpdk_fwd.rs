//! End-to-end smoke test of `dataplane::dpdk` on virtual devices: runs the `dpdk-fwd` binary
//! (the EAL initializes once per process, so every run is its own process with its own
//! `--file-prefix`) between net_pcap and between net_null vdevs.
#![cfg(feature = "dpdk")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const FWD: &str = env!("CARGO_BIN_EXE_dpdk-fwd");
const TIMEOUT: Duration = Duration::from_secs(60);

/// A run's EAL file prefix and scratch directory; both are removed on drop, pass or fail.
struct Run {
    prefix: String,
    dir: PathBuf,
}

impl Run {
    fn new(name: &str) -> Run {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let prefix = format!("dpdkfwd-{name}-{}-{nanos}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Run { prefix, dir }
    }

    /// `dpdk-fwd --from FROM --to TO --packets N -- <EAL args> <vdevs>`, killed after TIMEOUT.
    fn fwd(&self, from: &str, to: &str, packets: u64, vdevs: &[String]) -> Output {
        let mut cmd = Command::new(FWD);
        cmd.args([
            "--from",
            from,
            "--to",
            to,
            "--packets",
            &packets.to_string(),
            "--",
        ]);
        cmd.args([
            "--no-huge",
            "-m",
            "512",
            "--no-pci",
            "-l",
            "0,1",
            "--file-prefix",
            &self.prefix,
        ]);
        for v in vdevs {
            cmd.args(["--vdev", v]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dpdk-fwd");
        let start = Instant::now();
        loop {
            match child.try_wait().expect("wait for dpdk-fwd") {
                Some(_) => break,
                None if start.elapsed() > TIMEOUT => {
                    let _ = child.kill();
                    let out = child.wait_with_output().expect("collect dpdk-fwd output");
                    panic!(
                        "dpdk-fwd timed out after {TIMEOUT:?}\nstdout:\n{}\nstderr:\n{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let out = child.wait_with_output().expect("collect dpdk-fwd output");
        assert!(
            out.status.success(),
            "dpdk-fwd failed ({})\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        // EAL's runtime directory: /var/run/dpdk for root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk.
        let mut runtime = vec![PathBuf::from("/var/run/dpdk"), PathBuf::from("/tmp/dpdk")];
        if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR") {
            runtime.push(PathBuf::from(x).join("dpdk"));
        }
        for r in runtime {
            let _ = std::fs::remove_dir_all(r.join(&self.prefix));
        }
    }
}

/// The JSON line dpdk-fwd prints last.
fn report(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {stdout:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"))
}

/// The frames of a classic pcap file (micro- or nanosecond, either byte order).
fn pcap_frames(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(data.len() >= 24, "{}: no pcap header", path.display());
    let magic = [data[0], data[1], data[2], data[3]];
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{}: not a classic pcap (magic {magic:02x?})", path.display()),
    };
    let u32_at = |o: usize| {
        let b = [data[o], data[o + 1], data[o + 2], data[o + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    assert_eq!(u32_at(20), 1, "{}: link type is not Ethernet", path.display());
    let mut frames = Vec::new();
    let mut off = 24;
    while off < data.len() {
        assert!(
            off + 16 <= data.len(),
            "{}: truncated record header",
            path.display()
        );
        let incl = u32_at(off + 8) as usize;
        let orig = u32_at(off + 12) as usize;
        assert_eq!(
            incl,
            orig,
            "{}: frame {} was snapped",
            path.display(),
            frames.len()
        );
        let start = off + 16;
        assert!(start + incl <= data.len(), "{}: truncated frame", path.display());
        frames.push(data[start..start + incl].to_vec());
        off = start + incl;
    }
    frames
}

fn sample_pcap() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/sample-plain.pcap")
}

#[test]
fn pcap_to_pcap_forwards_every_frame_byte_for_byte() {
    let input = sample_pcap();
    let expected = pcap_frames(&input);
    assert_eq!(expected.len(), 16);

    let run = Run::new("pcap");
    let out_pcap = run.dir.join("out.pcap");
    let out = run.fwd(
        "net_pcap0",
        "net_pcap1",
        expected.len() as u64,
        &[
            format!("net_pcap0,rx_pcap={}", input.display()),
            format!("net_pcap1,tx_pcap={}", out_pcap.display()),
        ],
    );
    let r = report(&out);
    assert_eq!(r["forwarded"], 16, "{r}");
    assert_eq!(r["dropped"], 0, "{r}");
    assert_eq!(r["mbufs_in_use_at_exit"], 0, "{r}");
    assert_eq!(r["from"]["ipackets"], 16, "{r}");
    assert_eq!(r["to"]["opackets"], 16, "{r}");
    let bytes: usize = expected.iter().map(Vec::len).sum();
    assert_eq!(r["to"]["obytes"], bytes as u64, "{r}");

    let got = pcap_frames(&out_pcap);
    assert_eq!(got.len(), expected.len(), "frame count");
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "frame {i} differs");
    }
}

#[test]
fn null_to_null_forwards_100000_packets() {
    const N: u64 = 100_000;
    let run = Run::new("null");
    let out = run.fwd(
        "net_null0",
        "net_null1",
        N,
        &["net_null0".into(), "net_null1".into()],
    );
    let r = report(&out);
    let fwd = r["forwarded"].as_u64().unwrap_or(0);
    let sent = r["to"]["opackets"].as_u64().unwrap_or(0);
    assert!(fwd >= N, "forwarded {fwd} < {N}: {r}");
    assert!(sent >= N, "sink opackets {sent} < {N}: {r}");
    assert_eq!(r["mbufs_in_use_at_exit"], 0, "{r}");
}

/// The wrapper API in this process (a single test, since the EAL initializes once per process):
/// EAL once, lcores, mempool accounting, mbuf windows, burst ownership, ports, launch.
#[test]
fn api_in_process() {
    use dataplane::dpdk::{self, Burst, DpdkError, Eal, Mbuf, Mempool, Port};

    let run = Run::new("api");
    #[rustfmt::skip]
    let args: Vec<String> = [
        "dpdk-api-test", "--no-huge", "-m", "256", "--no-pci", "-l", "0,1", "--no-telemetry",
        "--log-level", "lib.eal:error", "--log-level", "lib.ethdev:critical",
        "--file-prefix", &run.prefix, "--vdev", "net_null0", "--vdev", "net_null1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let eal = Eal::init(&args).expect("EAL init");
    assert!(matches!(Eal::init(&args), Err(DpdkError::AlreadyInitialized)));
    assert_eq!(Eal::main_lcore(), 0);
    assert_eq!(Eal::worker_lcores(), vec![1]);
    assert_eq!(Eal::lcore_id(), 0, "the initializing thread is the main lcore");

    // Mempool and mbuf windows.
    let pool = Mempool::new("api_pool", 1023, 32, 128 + 10240, Eal::socket_id()).expect("mempool");
    assert!(
        matches!(
            Mempool::new("api_pool", 1023, 32, 2176, -1),
            Err(DpdkError::Call { .. })
        ),
        "duplicate name"
    );
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.avail(), 1023);
    let mut m = Mbuf::alloc(&pool).expect("alloc");
    assert_eq!(pool.in_use(), 1);
    assert_eq!(
        (m.headroom(), m.tailroom(), m.data_len(), m.buf_len()),
        (128, 10240, 0, 128 + 10240)
    );
    assert!(m.is_contiguous());
    let frame: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
    assert!(m.append_from(&frame));
    assert_eq!(m.data(), &frame[..]);
    assert_eq!(m.pkt_len(), 1500);
    assert!(!m.append_from(&vec![0; 10240 - 1500 + 1]), "beyond the tailroom");
    {
        // Grow in place: 16 octets of headroom in front, 16 of tailroom behind.
        let (buf, off, len) = m.buffer_mut();
        assert_eq!((off, len, buf.len()), (128, 1500, 128 + 10240));
        buf[off - 16..off].fill(0xAA);
        buf[off + len..off + len + 16].fill(0xBB);
    }
    m.set_window(128 - 16, 1500 + 32).expect("window");
    assert_eq!(
        (m.data_off(), m.data_len(), m.pkt_len(), m.headroom()),
        (112, 1532, 1532, 112)
    );
    assert_eq!(&m.data()[..16], &[0xAA; 16]);
    assert_eq!(&m.data()[16..1516], &frame[..]);
    assert_eq!(&m.data()[1516..], &[0xBB; 16]);
    assert!(matches!(m.set_window(10000, 369), Err(DpdkError::Window { .. })));
    assert!(matches!(
        m.set_window(usize::MAX, 2),
        Err(DpdkError::Window { .. })
    ));
    assert_eq!(m.data_len(), 1532, "a refused window changes nothing");
    m.data_mut()[0] = 0x55;
    assert_eq!(m.data()[0], 0x55);
    drop(m);
    assert_eq!(pool.in_use(), 0);

    // Burst ownership: every path gives every mbuf back exactly once.
    let mut b: Burst<4> = Burst::new();
    for i in 0..4u8 {
        let mut m = Mbuf::alloc(&pool).expect("alloc");
        assert!(m.append_from(&[i; 60]));
        b.push(m).expect("room");
    }
    let extra = Mbuf::alloc(&pool).expect("alloc");
    let extra = b.push(extra).expect_err("full");
    assert_eq!(pool.in_use(), 5);
    drop(extra);
    assert_eq!(b.pop_front().map(|m| m.data()[0]), Some(0));
    assert_eq!(b.len(), 3);
    let refill = Mbuf::alloc(&pool).expect("alloc");
    b.push(refill).expect("room after pop_front");
    assert_eq!(
        b.iter().map(|m| m.data().first().copied()).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3), None]
    );
    b.retain_mut(|m| m.data().first().is_some_and(|x| x % 2 == 1));
    assert_eq!(b.iter().map(|m| m.data()[0]).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(pool.in_use(), 2);
    {
        let mut d = b.drain();
        assert_eq!(d.next().map(|m| m.data()[0]), Some(1));
    } // the undrained one is freed here
    assert!(b.is_empty());
    assert_eq!(pool.in_use(), 0);
    for _ in 0..3 {
        b.push(Mbuf::alloc(&pool).expect("alloc")).expect("room");
    }
    assert!(b.pop().is_some());
    b.clear();
    assert_eq!(pool.in_use(), 0);
    for _ in 0..2 {
        b.push(Mbuf::alloc(&pool).expect("alloc")).expect("room");
    }
    drop(b);
    assert_eq!(pool.in_use(), 0);

    // Ports.
    assert_eq!(Port::count(), 2);
    assert!(matches!(
        Port::by_name("net_nope0"),
        Err(DpdkError::NoSuchPort(_))
    ));
    let p0 = Port::by_name("net_null0").expect("net_null0");
    let p1 = Port::by_name("net_null1").expect("net_null1");
    assert_eq!(p0.name().expect("name"), "net_null0");
    assert_ne!(p0.id(), p1.id());
    let mut rx: Burst<32> = Burst::new();
    assert_eq!(rx.rx(p0, 0), 0, "not configured: no burst");
    assert!(matches!(p0.start(), Err(DpdkError::InvalidArgument(_))));
    assert!(matches!(
        p0.configure(0, 1, 256, 256, &pool),
        Err(DpdkError::InvalidArgument(_))
    ));
    for p in [p0, p1] {
        p.configure(1, 1, 256, 256, &pool).expect("configure");
        assert_eq!(rx.rx(p, 0), 0, "configured but stopped: no burst");
        p.start().expect("start");
        assert!(
            matches!(
                p.configure(1, 1, 256, 256, &pool),
                Err(DpdkError::InvalidArgument(_))
            ),
            "started"
        );
        let _ = p.promiscuous(true);
        let _ = p.mac_addr().expect("mac");
        let _ = p.link().expect("link");
        p.reset_stats().expect("reset stats");
    }
    assert_eq!(rx.rx(p0, 1), 0, "queue 1 does not exist");
    assert_eq!(rx.rx(p0, 0), 32);
    assert_eq!(pool.in_use(), 32);
    assert!(rx.iter().all(|m| m.is_contiguous() && m.port() == p0.id()));
    assert_eq!(rx.tx(p1, 0), 32);
    assert!(rx.is_empty());
    assert_eq!(p1.stats().expect("stats").opackets, 32);
    assert_eq!(p0.stats().expect("stats").ipackets, 32);

    // Launch: a worker forwards; a panicking job returns -1; the main lcore cannot be launched on.
    assert!(matches!(
        dpdk::launch(0, Box::new(|| 0)),
        Err(DpdkError::InvalidLcore(0))
    ));
    assert!(matches!(
        dpdk::launch(7, Box::new(|| 0)),
        Err(DpdkError::InvalidLcore(7))
    ));
    dpdk::launch(
        1,
        Box::new(move || {
            let mut b: Burst<32> = Burst::new();
            let mut sent = 0;
            while sent < 1000 {
                b.rx(p0, 0);
                sent += b.tx(p1, 0);
            }
            assert_eq!(dpdk::lcore_id(), 1);
            sent as i32
        }),
    )
    .expect("launch");
    assert!(dpdk::wait_lcore(1) >= 1000);
    // Keep the expected panic's message out of the output (other panics still print).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info
            .payload()
            .downcast_ref::<&str>()
            .is_some_and(|m| m.contains("expected by the test"))
        {
            return;
        }
        default_hook(info)
    }));
    dpdk::launch(1, Box::new(|| panic!("worker panics (expected by the test)"))).expect("launch");
    assert_eq!(dpdk::wait_lcore(1), -1);
    dpdk::wait_all();

    p0.stop().expect("stop");
    assert_eq!(rx.rx(p0, 0), 0, "stopped: no burst");
    for p in [p0, p1] {
        p.close().expect("close");
    }
    assert!(p0.stats().is_err(), "closed port");
    assert_eq!(pool.in_use(), 0, "every mbuf came back");
    drop(pool);
    eal.cleanup().expect("EAL cleanup");
    assert!(matches!(
        Port::by_name("net_null0"),
        Err(DpdkError::NotInitialized)
    ));
    assert!(matches!(Eal::init(&args), Err(DpdkError::AlreadyInitialized)));
    drop(run);
}
