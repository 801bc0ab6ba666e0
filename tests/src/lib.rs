//! Helpers of the cross-crate integration and system tests (`tests/tests/`): locating the
//! workspace binaries, pcap files, DPDK runs of `macsec-dataplane` on virtual devices, cleanup, and
//! the two-appliance topology of the system tests (`appliance`).

// Unsafe only in `sys` (signal(2), kill(2)), each with `// SAFETY:`.
#![deny(unsafe_code)]

pub mod appliance;
pub mod sys;

use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Path of a workspace binary, built (same profile as the tests) when missing.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/<test>-<hash>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .to_path_buf();
    let path = dir.join(name);
    if !path.exists() {
        let release = dir.file_name().is_some_and(|n| n == "release");
        let mut c = Command::new(env!("CARGO"));
        c.current_dir(root())
            .args(["build", "-q", "-p", "dataplane", "-p", "control", "--bins"]);
        if release {
            c.arg("--release");
        }
        let st = c.status().expect("cargo build");
        assert!(st.success(), "building {name} failed");
    }
    path
}

pub fn data(rel: &str) -> PathBuf {
    root().join("tests/data").join(rel)
}

pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).expect("create pcap")).expect("pcap header");
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(
            Duration::from_micros(i as u64),
            f.len() as u32,
            f,
        ))
        .expect("write pcap");
    }
}

pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let mut r =
        PcapReader::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .expect("pcap header");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.expect("pcap record").data.into_owned());
    }
    out
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique EAL file prefix; its runtime directory is removed on drop.
pub struct FilePrefix(pub String);

impl FilePrefix {
    pub fn new(tag: &str) -> Self {
        FilePrefix(format!(
            "mt{}{}{}",
            tag,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

impl Drop for FilePrefix {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.0));
    }
}

/// EAL arguments for a run on virtual devices without hugepages.
pub fn eal_args(prefix: &FilePrefix, vdevs: &[String]) -> Vec<String> {
    let mut a: Vec<String> = [
        "--no-huge",
        "-m",
        "512",
        "--no-pci",
        "-l",
        "0,1",
        "--log-level",
        "lib.eal:error",
        "--file-prefix",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(prefix.0.clone());
    for v in vdevs {
        a.push("--vdev".into());
        a.push(v.clone());
    }
    a
}

/// A client of a starting macsec-dataplane's control socket: retried until it answers (20 s).
pub fn connect_dataplane(sock: &Path) -> ipc::Client {
    let start = std::time::Instant::now();
    loop {
        match ipc::Client::connect(sock) {
            Ok(c) => return c,
            Err(_) if start.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("control socket {}: {e}", sock.display()),
        }
    }
}

/// Runs macsec-dataplane with the configuration file `cfg` on `vdevs` for `seconds` and returns
/// its exit report (panics with its stderr if it fails).
pub fn run_dataplane(
    prefix: &FilePrefix,
    cfg: &Path,
    sock: &Path,
    vdevs: &[String],
    seconds: f64,
) -> serde_json::Value {
    let out = Command::new(bin("macsec-dataplane"))
        .arg("--config")
        .arg(cfg)
        .args(["--duration", &seconds.to_string()])
        .arg("--socket")
        .arg(sock)
        .arg("--")
        .args(eal_args(prefix, vdevs))
        .output()
        .expect("spawn macsec-dataplane");
    assert!(
        out.status.success(),
        "macsec-dataplane: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the exit report")
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn")
}

/// A frame from the demo sample with a given EtherType, for tests that need specific kinds.
pub fn frame(ethertype: u16, len: usize, seed: u8) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x1d, 0xe5, 0xe9, 0xb1, 0xbf, 0x00, 0x1d, 0xe5, 0xe9, 0xaa, 0x39,
    ];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend((0..len - 14).map(|i| (i as u8).wrapping_add(seed)));
    f
}
