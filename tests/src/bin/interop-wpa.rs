//! interop-wpa: the live MKA interop matrix. Each cell puts our whole appliance (macsec-dataplane
//! on net_af_packet + macsecd with an IOS XR configuration) in one network namespace and a real
//! wpa_supplicant 2.10 (its KaY and CP unmodified; SecY simulated by the macsec_sim driver of
//! `tests/interop/wpa`, which logs every SA it installs) in another, a veth between them, and
//! checks from both sides:
//!
//! - both secured, and quickly: within 0.1 s of the protocol's go-ahead (ours as key server:
//!   wpa_supplicant's first MKPDU that lists us; wpa_supplicant as key server: its first
//!   Distributed SAK), and within 2.1 s of the later side's first MKPDU. The 2 s are
//!   wpa_supplicant's: it lists a new peer, and generates a SAK, only in the MKPDU of its next
//!   2 s participant timer;
//! - the expected key server on both sides;
//! - exactly one SAK installed by each wpa_supplicant instance over the hold (no rekey flap);
//! - no refusal or decode failure in wpa_supplicant's debug log, none in ours;
//! - every MACsec frame our appliance put on the line after wpa_supplicant installed its receive
//!   SA opens with that SAK (captured on wpa_supplicant's side);
//! - the reverse direction as far as the simulated SecY allows: frames protected with the SAK
//!   wpa_supplicant installed for transmit (its SCI, AN) are injected on its side and our
//!   appliance validates every one.
//!
//! Negative cells (another CAK, a cipher suite wpa_supplicant cannot distribute) must not secure
//! and must say why. Prints the matrix as a table, writes one JSON object per cell (`--json`),
//! and exits 1 when any cell fails.
//!
//! `interop-wpa --wpa DIR [--hold SECS] [--cells NAME,...] [--json FILE] [--keep]` (root; DIR has
//! `bin/wpa_supplicant` and `bin/wpa_cli` from `tests/interop/wpa/build.sh`).

#![forbid(unsafe_code)]

use anyhow::{bail, Context};
use control::pcap::{KeyOptions, ProtectOptions, ValidateOptions};
use control::show::SessionRow;
use ipc::SaState;
use macsec::secy::{CipherSuite, ConfOffset, Sci, ValidateFrames};
use macsec_tests::sys::{self, Netns, Proc, VethEnd};
use mka::{Ki, MkaFrameRepr};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CAK128: &str = "000102030405060708090a0b0c0d0e0f";
const CAK256: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
const CKN32: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const CKN16: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const CKN1: &str = "5a";
const OTHER_CAK: &str = "ffeeddccbbaa99887766554433221100";
const IFACE: &str = "TenGigE0/0/0/0";
/// Frames injected on wpa_supplicant's side for the reverse direction.
const REVERSE_FRAMES: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Ours,
    Wpa,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Secured(Side),
    /// Another CAK: ICV failures, nothing installed.
    IcvMismatch,
    /// wpa_supplicant distributes GCM-AES-128 only; our policy wants another suite.
    SuiteRefused,
}

#[derive(Clone, Debug)]
struct Cell {
    name: &'static str,
    ours_prio: u8,
    wpa_prio: u8,
    /// Last octet of each side's MAC address (02:00:00:00:00:xx).
    ours_mac: u8,
    wpa_mac: u8,
    cak: &'static str,
    wpa_cak: &'static str,
    ckn: &'static str,
    suite: CipherSuite,
    icv_indicator: bool,
    restart_wpa: bool,
    expect: Expect,
}

fn cells() -> Vec<Cell> {
    let base = Cell {
        name: "",
        ours_prio: 16,
        wpa_prio: 32,
        ours_mac: 0x0b,
        wpa_mac: 0x0a,
        cak: CAK128,
        wpa_cak: CAK128,
        ckn: CKN32,
        suite: CipherSuite::GcmAes128,
        icv_indicator: false,
        restart_wpa: false,
        expect: Expect::Secured(Side::Ours),
    };
    let c = |f: &dyn Fn(&mut Cell)| {
        let mut x = base.clone();
        f(&mut x);
        x
    };
    vec![
        c(&|x| (x.name, x.ours_prio, x.wpa_prio) = ("ks-ours", 0, 40)),
        c(&|x| (x.name, x.ours_prio, x.wpa_prio, x.expect) = ("ks-wpa", 40, 0, Expect::Secured(Side::Wpa))),
        c(&|x| {
            (x.name, x.ours_prio, x.wpa_prio, x.ours_mac, x.wpa_mac) =
                ("tie-ours-lower-mac", 16, 16, 0x0a, 0x0b)
        }),
        c(&|x| {
            (x.name, x.ours_prio, x.wpa_prio, x.ours_mac, x.wpa_mac, x.expect) = (
                "tie-wpa-lower-mac",
                16,
                16,
                0x0b,
                0x0a,
                Expect::Secured(Side::Wpa),
            )
        }),
        c(&|x| {
            (x.name, x.ours_prio, x.wpa_prio, x.expect) =
                ("prio-255-both", 255, 255, Expect::Secured(Side::Wpa))
        }),
        c(&|x| (x.name, x.cak, x.wpa_cak) = ("cak-256", CAK256, CAK256)),
        c(&|x| {
            (x.name, x.cak, x.wpa_cak, x.ours_prio, x.wpa_prio, x.expect) = (
                "cak-256-ks-wpa",
                CAK256,
                CAK256,
                40,
                0,
                Expect::Secured(Side::Wpa),
            )
        }),
        c(&|x| (x.name, x.ckn) = ("ckn-1", CKN1)),
        c(&|x| {
            (x.name, x.ckn, x.ours_prio, x.wpa_prio, x.expect) =
                ("ckn-16-ks-wpa", CKN16, 40, 0, Expect::Secured(Side::Wpa))
        }),
        c(&|x| (x.name, x.suite) = ("gcm-aes-256", CipherSuite::GcmAes256)),
        c(&|x| (x.name, x.icv_indicator) = ("icv-indicator", true)),
        c(&|x| {
            (x.name, x.icv_indicator, x.ours_prio, x.wpa_prio, x.expect) =
                ("icv-indicator-ks-wpa", true, 40, 0, Expect::Secured(Side::Wpa))
        }),
        c(&|x| (x.name, x.restart_wpa) = ("wpa-restart", true)),
        c(&|x| {
            (x.name, x.restart_wpa, x.ours_prio, x.wpa_prio, x.expect) =
                ("wpa-restart-ks-wpa", true, 40, 0, Expect::Secured(Side::Wpa))
        }),
        c(&|x| (x.name, x.wpa_cak, x.expect) = ("wrong-cak", OTHER_CAK, Expect::IcvMismatch)),
        c(&|x| {
            (x.name, x.suite, x.ours_prio, x.wpa_prio, x.expect) = (
                "gcm-aes-256-ks-wpa",
                CipherSuite::GcmAes256,
                40,
                0,
                Expect::SuiteRefused,
            )
        }),
    ]
}

/// What the macsec_sim driver logs (one JSON object per line).
#[derive(Debug, Clone, Deserialize)]
struct SimLine {
    op: String,
    sci: String,
    an: u8,
    #[serde(default)]
    pn: u64,
    #[serde(default)]
    key: String,
    #[serde(default)]
    ki_mi: String,
    #[serde(default)]
    ki_kn: u32,
    #[serde(default)]
    conf_offset: i32,
    t: f64,
}

impl SimLine {
    fn ki(&self) -> Option<Ki> {
        Some(Ki::new(self.ki_mi.parse().ok()?, self.ki_kn))
    }
    fn sci(&self) -> Option<Sci> {
        u64::from_str_radix(&self.sci, 16).ok().map(Sci)
    }
}

fn read_sim(path: &Path) -> Vec<SimLine> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// One wpa_supplicant run within a cell.
struct WpaRun {
    started: f64,
    sa_log: PathBuf,
    debug_log: PathBuf,
}

/// An MKPDU on the line.
struct LineMkpdu {
    t: f64,
    src_mac: [u8; 6],
    repr: mka::MkpduRepr,
}

/// A MACsec frame on the line. Our appliance keeps the host's source MAC address (a bump in the
/// wire), so a frame is ours when it is not from wpa_supplicant's address.
struct LineFrame {
    t: f64,
    src_mac: [u8; 6],
    an: u8,
    data: Vec<u8>,
}

struct Env {
    dp: PathBuf,
    md: PathBuf,
    ctl: PathBuf,
    frame_gen: PathBuf,
    wpa: PathBuf,
    wpa_cli: PathBuf,
    work: PathBuf,
    hold: Duration,
}

#[derive(Default, Debug)]
struct Outcome {
    checks: Vec<(String, bool)>,
    key_server: String,
    ours_secure: Option<f64>,
    wpa_secure: Option<f64>,
    saks: Vec<usize>,
    our_frames: (u64, u64),
    reverse: (usize, u64),
    notes: Vec<String>,
}

impl Outcome {
    fn check(&mut self, what: impl Into<String>, ok: bool) {
        self.checks.push((what.into(), ok));
    }
    fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|(_, ok)| *ok)
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn mac(last: u8) -> String {
    format!("02:00:00:00:00:{last:02x}")
}

fn mac_bytes(last: u8) -> [u8; 6] {
    [2, 0, 0, 0, 0, last]
}

fn xr_config(c: &Cell) -> String {
    let alg = if c.cak.len() == 64 {
        "AES-256-CMAC"
    } else {
        "AES-128-CMAC"
    };
    format!(
        "key chain KC1\n macsec\n  key {}\n   key-string {} cryptographic-algorithm {alg}\n   lifetime 00:00:00 01 January 2020 infinite\n!\n\
         macsec-policy WPA\n cipher-suite {}\n key-server-priority {}\n security-policy should-secure\n window-size 64\n{}!\n\
         interface {IFACE}\n macsec psk-keychain KC1 policy WPA\n!\n",
        c.ckn,
        c.cak,
        c.suite.name(),
        c.ours_prio,
        if c.icv_indicator { " include-icv-indicator\n" } else { "" }
    )
}

fn wpa_config(c: &Cell, ctrl: &Path) -> String {
    format!(
        "ctrl_interface={}\neapol_version=3\nap_scan=0\nnetwork={{\n\tkey_mgmt=NONE\n\teapol_flags=0\n\tmacsec_policy=1\n\tmka_cak={}\n\tmka_ckn={}\n\tmka_priority={}\n}}\n",
        ctrl.display(),
        c.wpa_cak,
        c.ckn,
        c.wpa_prio
    )
}

fn read_line(path: &Path) -> (Vec<LineMkpdu>, Vec<LineFrame>) {
    let (mut mkpdus, mut frames) = (Vec::new(), Vec::new());
    let Ok(file) = std::fs::File::open(path) else {
        return (mkpdus, frames);
    };
    let Ok(mut r) = pcap_file::pcap::PcapReader::new(file) else {
        return (mkpdus, frames);
    };
    while let Some(Ok(p)) = r.next_packet() {
        let d = p.data.into_owned();
        if d.len() < 16 {
            continue;
        }
        let t = p.timestamp.as_secs_f64();
        let mut src = [0u8; 6];
        src.copy_from_slice(&d[6..12]);
        match u16::from_be_bytes([d[12], d[13]]) {
            0x888e => {
                if let Ok(f) = MkaFrameRepr::parse(&d) {
                    mkpdus.push(LineMkpdu {
                        t,
                        src_mac: src,
                        repr: f.mkpdu,
                    });
                }
            }
            0x88e5 => frames.push(LineFrame {
                t,
                src_mac: src,
                an: d[14] & 3,
                data: d,
            }),
            _ => {}
        }
    }
    (mkpdus, frames)
}

fn lists(m: &mka::MkpduRepr, mi: mka::Mi) -> bool {
    [m.live_peers(), m.potential_peers()]
        .into_iter()
        .flatten()
        .any(|l| l.peers.iter().any(|p| p.mi == mi))
}

/// wpa_supplicant debug log lines that must not appear in a healthy session.
const WPA_REFUSALS: [&str; 10] = [
    "Reject distributed SAK",
    "The key server is not elected",
    "is not in my live peers list",
    "Discarding Rx MKPDU",
    "Lowest packet number should be greater than 0",
    "can't support the Cipher Suite",
    "AES unwrap failed",
    "Computed ICV is not equal",
    "duplicate MAC detected",
    "I can't accept the distributed SAK",
];

fn ctl_json<T: for<'de> Deserialize<'de>>(env: &Env, sock: &Path, args: &[&str]) -> Option<T> {
    let out = Command::new(&env.ctl)
        .args(args)
        .arg("--json")
        .arg("--socket")
        .arg(sock)
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

fn ea_idb(env: &Env, sock: &Path) -> Option<SaState> {
    let v: serde_json::Value = ctl_json(env, sock, &["show", "macsec", "ea", "idb", "interface", IFACE])?;
    serde_json::from_value(v["sa"].clone()).ok()
}

fn start_wpa(env: &Env, ns: &Netns, dir: &Path, n: usize) -> std::io::Result<(Proc, WpaRun)> {
    let run = WpaRun {
        started: now_secs(),
        sa_log: dir.join(format!("wpa{n}-sa.jsonl")),
        debug_log: dir.join(format!("wpa{n}.log")),
    };
    let mut cmd = ns.cmd(&env.wpa);
    cmd.env("MACSEC_SIM_SA_LOG", &run.sa_log)
        .args(["-dd", "-t", "-K", "-Dmacsec_sim", "-ivA", "-c"])
        .arg(dir.join("wpa.conf"))
        .arg("-f")
        .arg(&run.debug_log);
    let p = Proc::spawn("wpa_supplicant", &mut cmd, &dir.join(format!("wpa{n}.out")), None)?;
    Ok((p, run))
}

fn run_cell(env: &Env, i: usize, c: &Cell) -> anyhow::Result<Outcome> {
    let dir = env.work.join(c.name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).context("work dir")?;
    let tag = format!("{}{}", std::process::id() % 10000, i);
    let na = Netns::new(&format!("miwA{tag}")).context("netns")?;
    let nb = Netns::new(&format!("miwB{tag}")).context("netns")?;
    sys::veth(
        VethEnd {
            ns: &na,
            name: "vA",
            mac: &mac(c.wpa_mac),
        },
        VethEnd {
            ns: &nb,
            name: "vB",
            mac: &mac(c.ours_mac),
        },
    )
    .context("line veth")?;
    sys::veth(
        VethEnd {
            ns: &nb,
            name: "hB",
            mac: "02:00:00:00:01:01",
        },
        VethEnd {
            ns: &nb,
            name: "hostB",
            mac: "02:00:00:00:01:02",
        },
    )
    .context("host veth")?;
    nb.ip(&["addr", "add", "198.51.100.2/24", "dev", "hostB"])
        .context("address")?;
    nb.ip(&[
        "neigh",
        "add",
        "198.51.100.9",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "hostB",
    ])
    .context("neighbour")?;
    let w = |name: &str, text: String| std::fs::write(dir.join(name), text).context(name.to_string());
    w("xr.conf", xr_config(c))?;
    w("wpa.conf", wpa_config(c, &dir.join("ctrl")))?;
    w("dp.toml", format!("[[link]]\ninterface = \"{IFACE}\"\nhost_port = \"net_af_packet0\"\nline_port = \"net_af_packet1\"\ncipher_suite = \"{}\"\nsecurity_policy = \"should-secure\"\n", c.suite.name()))?;
    let (dp_sock, md_sock) = (dir.join("dp.sock"), dir.join("md.sock"));

    // The line, captured on wpa_supplicant's side for the whole cell.
    let mut tshark = Proc::spawn(
        "tshark",
        na.cmd("tshark")
            .args(["-q", "-i", "vA", "-F", "pcap", "-w"])
            .arg(dir.join("line.pcap")),
        &dir.join("tshark.log"),
        None,
    )
    .context("tshark")?;
    if !sys::wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        std::fs::metadata(dir.join("line.pcap")).is_ok_and(|m| m.len() >= 24)
    }) {
        bail!("tshark did not start");
    }
    // Our appliance first, then wpa_supplicant.
    let mut dpp = Proc::spawn(
        "macsec-dataplane",
        nb.cmd(&env.dp)
            .arg("--config")
            .arg(dir.join("dp.toml"))
            .arg("--socket")
            .arg(&dp_sock)
            .args([
                "--",
                "--no-huge",
                "-m",
                "512",
                "--no-pci",
                "--log-level",
                "lib.eal:error",
                "-l",
                "0,1",
                "--main-lcore",
                "0",
                "--file-prefix",
                &format!("interop{tag}"),
                "--vdev",
                "net_af_packet0,iface=hB",
                "--vdev",
                "net_af_packet1,iface=vB",
            ]),
        &dir.join("dp.log"),
        Some(&dir.join("dp.json")),
    )
    .context("dataplane")?;
    if !sys::wait_for(Duration::from_secs(20), Duration::from_millis(50), || {
        dp_sock.exists()
    }) {
        bail!("the dataplane did not start (dp.log)");
    }
    let mut md = Proc::spawn(
        "macsecd",
        Command::new(&env.md)
            .arg("--config")
            .arg(dir.join("xr.conf"))
            .arg("--dataplane")
            .arg(&dp_sock)
            .arg("--socket")
            .arg(&md_sock),
        &dir.join("md.log"),
        Some(&dir.join("md.json")),
    )
    .context("macsecd")?;
    if !sys::wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        md_sock.exists()
    }) {
        bail!("macsecd did not start (md.log)");
    }
    let _ping = Proc::spawn(
        "ping",
        nb.cmd("ping")
            .args(["-q", "-i", "0.2", "-W", "1", "198.51.100.9"]),
        &dir.join("ping.log"),
        None,
    )
    .context("ping")?;
    sys::sleep(Duration::from_millis(500)).context("wait")?;

    let mut runs = Vec::new();
    let (mut wpa, run) = start_wpa(env, &na, &dir, 1).context("wpa_supplicant")?;
    runs.push(run);
    if c.restart_wpa {
        sys::sleep(env.hold / 2).context("hold")?;
        wpa.stop();
        let (p, run) = start_wpa(env, &na, &dir, 2).context("wpa_supplicant")?;
        wpa = p;
        runs.push(run);
    }
    sys::sleep(env.hold).context("hold")?;

    // State at the end of the hold, from both sides.
    let status_text = sys::run(
        na.cmd(&env.wpa_cli)
            .arg("-p")
            .arg(dir.join("ctrl"))
            .args(["-i", "vA", "status"]),
    )
    .unwrap_or_default();
    std::fs::write(dir.join("wpa-status.txt"), &status_text).context("status")?;
    let status: std::collections::BTreeMap<&str, &str> =
        status_text.lines().filter_map(|l| l.split_once('=')).collect();
    let sessions: Vec<SessionRow> =
        ctl_json(env, &md_sock, &["show", "macsec", "mka", "session"]).unwrap_or_default();
    let ours = sessions.first().cloned();
    let detail = Command::new(&env.ctl)
        .args(["show", "macsec", "mka", "session", "detail", "--socket"])
        .arg(&md_sock)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    std::fs::write(dir.join("ours-detail.txt"), &detail).context("detail")?;
    let sims: Vec<Vec<SimLine>> = runs.iter().map(|r| read_sim(&r.sa_log)).collect();
    let our_sci = ours.as_ref().map(|s| Sci(s.local_tx_sci));
    let wpa_sci = Sci::from_mac_port(mac_bytes(c.wpa_mac), 1);

    let mut o = Outcome::default();
    // Reverse direction: frames protected with wpa_supplicant's transmit SAK, injected on its side.
    if let (Expect::Secured(_), Some(tx)) = (
        c.expect,
        sims.last()
            .and_then(|s| s.iter().rfind(|l| l.op == "tx_sa"))
            .cloned(),
    ) {
        o.reverse = reverse(env, &na, &dir, &md_sock, c, &tx, wpa_sci).unwrap_or_else(|err| {
            o.notes.push(format!("reverse: {err}"));
            (0, 0)
        });
    }
    wpa.stop();
    md.stop();
    dpp.stop();
    sys::sleep(Duration::from_millis(300)).context("wait")?;
    tshark.stop();
    let (mkpdus, frames) = read_line(&dir.join("line.pcap"));
    let wpa_log: String = runs
        .iter()
        .map(|r| std::fs::read_to_string(&r.debug_log).unwrap_or_default())
        .collect();
    let md_log = std::fs::read_to_string(dir.join("md.log")).unwrap_or_default();
    let our_mac = mac_bytes(c.ours_mac);
    let their_mac = mac_bytes(c.wpa_mac);
    let our_mi = mkpdus
        .iter()
        .rfind(|m| m.src_mac == our_mac)
        .map(|m| m.repr.basic.mi);
    o.saks = sims
        .iter()
        .map(|s| {
            s.iter()
                .filter(|l| l.op.ends_with("_sa"))
                .filter_map(SimLine::ki)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        })
        .collect();
    o.key_server = match (
        ours.as_ref().is_some_and(|s| s.key_server),
        status.get("is_key_server") == Some(&"Yes"),
    ) {
        (true, false) => "ours",
        (false, true) => "wpa",
        (true, true) => "both",
        (false, false) => "-",
    }
    .into();

    match c.expect {
        Expect::Secured(ks) => {
            o.check(
                "ours Secured",
                ours.as_ref()
                    .is_some_and(|s| s.status == "Secured" && s.peers > 0),
            );
            o.check(
                "wpa_supplicant Secured=Yes",
                status.get("Secured") == Some(&"Yes"),
            );
            o.check(
                format!("key server {ks:?} on both sides"),
                o.key_server == if ks == Side::Ours { "ours" } else { "wpa" },
            );
            o.check("one SAK per wpa_supplicant run", o.saks.iter().all(|n| *n == 1));
            // A restarted wpa_supplicant (a new MI) discards, once, our MKPDU sent before we
            // heard it: it carries a SAK Use, which wpa_supplicant rejects from a peer that is not
            // live to it yet (its own rule; it sends the same).
            let restart_discard = "Discarding Rx MKPDU: decode of parameter set type (3) failed";
            let allowed = runs.len().saturating_sub(1);
            for r in WPA_REFUSALS {
                let n = wpa_log.matches(r).count();
                let excused = if r == "Discarding Rx MKPDU" {
                    wpa_log.matches(restart_discard).count().min(allowed)
                } else {
                    0
                };
                if n > 0 {
                    o.notes.push(format!(
                        "wpa_supplicant logged {n}x {r:?}{}",
                        if excused > 0 {
                            format!(" ({excused} after its restart)")
                        } else {
                            String::new()
                        }
                    ));
                }
                o.check(format!("wpa_supplicant never logs {r:?}"), n == excused);
            }
            for m in ["SAK_REFUSED", "ICV_FAILURE", "CIPHER_SUITE_MISMATCH"] {
                o.check(format!("macsecd never logs {m}"), !md_log.contains(m));
            }
            // Time to secure, per wpa_supplicant run (the last one is reported).
            for (n, run) in runs.iter().enumerate() {
                let end = runs.get(n + 1).map_or(f64::MAX, |r| r.started);
                let span = |t: f64| t >= run.started && t < end;
                let theirs: Vec<&LineMkpdu> = mkpdus
                    .iter()
                    .filter(|m| m.src_mac == their_mac && span(m.t))
                    .collect();
                let first_theirs = theirs.first().map(|m| m.t);
                let first_ours = mkpdus
                    .iter()
                    .filter(|m| m.src_mac == our_mac && span(m.t))
                    .map(|m| m.t)
                    .next();
                let both = first_theirs.zip(first_ours).map(|(a, b)| a.max(b));
                let wpa_tx = sims[n].iter().find(|l| l.op == "tx_enable").map(|l| l.t);
                let wpa_ki = sims[n].iter().find(|l| l.op == "rx_sa").and_then(SimLine::ki);
                // Ours transmits with the key: our first MKPDU saying so (sent as we enable it).
                let ours_tx = mkpdus
                    .iter()
                    .filter(|m| m.src_mac == our_mac && span(m.t))
                    .find(|m| {
                        m.repr
                            .sak_use()
                            .and_then(|u| u.latest())
                            .is_some_and(|l| l.tx && Some(l.ki) == wpa_ki)
                    })
                    .map(|m| m.t);
                let reference = match ks {
                    Side::Ours => our_mi
                        .and_then(|mi| theirs.iter().find(|m| lists(&m.repr, mi)))
                        .map(|m| m.t),
                    Side::Wpa => theirs
                        .iter()
                        .find(|m| m.repr.distributed_sak().is_some())
                        .map(|m| m.t),
                };
                let secured = ours_tx.zip(wpa_tx).map(|(a, b)| a.max(b));
                let label = if runs.len() > 1 {
                    format!(" (wpa_supplicant run {})", n + 1)
                } else {
                    String::new()
                };
                o.check(format!("both secured{label}"), secured.is_some());
                if let (Some(s), Some(r), Some(b)) = (secured, reference, both) {
                    o.check(
                        format!(
                            "secured within 0.1 s of the protocol's go-ahead{label} ({:.3} s)",
                            s - r
                        ),
                        s - r <= 0.1,
                    );
                    o.check(format!("secured within wpa_supplicant's Hello Time + 0.1 s of both starting{label} ({:.3} s)", s - b), s - b <= 2.1);
                }
                o.ours_secure = ours_tx.zip(both).map(|(t, b)| t - b);
                o.wpa_secure = wpa_tx.zip(both).map(|(t, b)| t - b);
            }
            // Our frames on the line open with the SAK wpa_supplicant installed for our SCI.
            let mut ok_total = (0u64, 0u64);
            #[allow(clippy::needless_range_loop)] // n indexes runs and sims together
            for n in 0..runs.len() {
                let end = runs.get(n + 1).map_or(f64::MAX, |r| r.started);
                for rx in sims[n].iter().filter(|l| l.op == "rx_sa" && l.sci() == our_sci) {
                    let next_same_an = sims[n]
                        .iter()
                        .filter(|l| l.op == "rx_sa" && l.an == rx.an && l.t > rx.t)
                        .map(|l| l.t)
                        .fold(end, f64::min);
                    let mine: Vec<&LineFrame> = frames
                        .iter()
                        .filter(|f| {
                            f.src_mac != their_mac && f.an == rx.an && f.t >= rx.t && f.t < next_same_an
                        })
                        .collect();
                    let (ok, total) = validate(&dir, c.suite, rx, our_sci, &mine).context("validate")?;
                    ok_total.0 += ok;
                    ok_total.1 += total;
                }
            }
            o.our_frames = ok_total;
            o.check(
                format!(
                    "our frames open with wpa_supplicant's SAK ({}/{})",
                    ok_total.0, ok_total.1
                ),
                ok_total.1 > 0 && ok_total.0 == ok_total.1,
            );
            o.check(
                format!(
                    "wpa_supplicant's frames open on our side ({}/{REVERSE_FRAMES})",
                    o.reverse.1
                ),
                o.reverse == (REVERSE_FRAMES, REVERSE_FRAMES as u64),
            );
        }
        Expect::IcvMismatch => {
            o.check(
                "ours not secured",
                ours.as_ref().is_none_or(|s| s.status != "Secured"),
            );
            o.check(
                "wpa_supplicant not secured",
                status.get("Secured") != Some(&"Yes"),
            );
            o.check(
                "ours counts ICV failures",
                ours.as_ref().is_some_and(|s| s.icv_failures > 0),
            );
            o.check("wpa_supplicant installed no SA", o.saks.iter().all(|n| *n == 0));
            o.check(
                "no MACsec frame from us",
                !frames.iter().any(|f| f.src_mac != their_mac),
            );
        }
        Expect::SuiteRefused => {
            o.check(
                "ours not secured",
                ours.as_ref().is_none_or(|s| s.status != "Secured"),
            );
            o.check(
                "ours says SAK Refused (GCM-AES-128)",
                ours.as_ref()
                    .and_then(|s| s.sak_refused.as_deref())
                    .is_some_and(|r| r.contains("GCM-AES-128")),
            );
            o.check(
                "macsecd logs CIPHER_SUITE_MISMATCH once",
                md_log
                    .lines()
                    .filter(|l| l.contains("CIPHER_SUITE_MISMATCH"))
                    .count()
                    == 1,
            );
            o.check(
                "no MACsec frame from us",
                !frames.iter().any(|f| f.src_mac != their_mac),
            );
        }
    }
    if !env.work.join(".keep").exists() && o.passed() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(o)
}

/// Validates `frames` with the SAK of wpa_supplicant's receive SA `rx`: (InPktsOK, frames).
fn validate(
    dir: &Path,
    suite: CipherSuite,
    rx: &SimLine,
    sci: Option<Sci>,
    frames: &[&LineFrame],
) -> anyhow::Result<(u64, u64)> {
    if frames.is_empty() {
        return Ok((0, 0));
    }
    let input = dir.join(format!("ours-an{}-kn{}.pcap", rx.an, rx.ki_kn));
    let all: Vec<Vec<u8>> = frames.iter().map(|f| f.data.clone()).collect();
    macsec_tests::write_pcap(&input, &all);
    let sak = control::pcap::parse_sak(&rx.key, suite)?;
    let opts = ValidateOptions {
        key: KeyOptions {
            cipher_suite: suite,
            sak,
            ssci: None,
            salt: None,
            backend: Default::default(),
        },
        sci,
        conf_offset: ConfOffset::Zero,
        lowest_pn: 1,
        replay_window: u32::MAX,
        validate_frames: ValidateFrames::Strict,
    };
    let r = control::pcap::validate(&opts, &input, &dir.join("ours-plain.pcap"))?;
    Ok((r.counters.in_pkts_ok, frames.len() as u64))
}

/// Protects `REVERSE_FRAMES` frames with wpa_supplicant's transmit SA `tx`, sends them on its side
/// of the line, and returns (sent, how many more our Rx SA for it counted InPktsOK).
fn reverse(
    env: &Env,
    na: &Netns,
    dir: &Path,
    md_sock: &Path,
    c: &Cell,
    tx: &SimLine,
    wpa_sci: Sci,
) -> anyhow::Result<(usize, u64)> {
    let rx_ok = |s: &SaState| {
        s.rx.iter()
            .filter(|r| r.sci == wpa_sci.0 && r.an == tx.an)
            .map(|r| r.in_pkts_ok)
            .sum::<u64>()
    };
    let before = ea_idb(env, md_sock).map(|s| rx_ok(&s)).context("no ea idb")?;
    let plain: Vec<Vec<u8>> = (0..REVERSE_FRAMES)
        .map(|i| {
            let mut f = vec![0x02, 0, 0, 0, 1, 2];
            f.extend_from_slice(&mac_bytes(c.wpa_mac));
            f.extend_from_slice(&0x88b5u16.to_be_bytes());
            f.extend((0..64).map(|j| (i + j) as u8));
            f
        })
        .collect();
    let (plain_p, line_p) = (dir.join("reverse-plain.pcap"), dir.join("reverse-line.pcap"));
    macsec_tests::write_pcap(&plain_p, &plain);
    let opts = ProtectOptions {
        key: KeyOptions {
            cipher_suite: c.suite,
            sak: control::pcap::parse_sak(&tx.key, c.suite)?,
            ssci: None,
            salt: None,
            backend: Default::default(),
        },
        sci: tx.sci().context("tx SCI")?,
        an: tx.an,
        pn: tx.pn.max(1) + 1000,
        // macsec_sim reports 802.1X's Confidentiality Offset (1 = offset 0, 0 = integrity only).
        conf_offset: ConfOffset::Zero,
        integrity_only: tx.conf_offset == 0,
        no_sci: false,
        es: false,
        scb: false,
    };
    control::pcap::protect(&opts, &plain_p, &line_p)?;
    sys::run(
        na.cmd(&env.frame_gen)
            .args(["--iface", "vA", "--pcap"])
            .arg(&line_p),
    )?;
    let mut after = before;
    sys::wait_for(Duration::from_secs(3), Duration::from_millis(100), || {
        after = ea_idb(env, md_sock).map(|s| rx_ok(&s)).unwrap_or(before);
        after - before >= REVERSE_FRAMES as u64
    });
    Ok((REVERSE_FRAMES, after - before))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut wpa_dir, mut hold, mut only, mut json, mut keep) =
        (None, 30.0, None::<Vec<String>>, None::<PathBuf>, false);
    while let Some(a) = args.next() {
        let mut v = || args.next().unwrap_or_default();
        match a.as_str() {
            "--wpa" => wpa_dir = Some(PathBuf::from(v())),
            "--hold" => hold = v().parse().unwrap_or(30.0),
            "--cells" => only = Some(v().split(',').map(str::to_string).collect()),
            "--json" => json = Some(PathBuf::from(v())),
            "--keep" => keep = true,
            "--list" => {
                for c in cells() {
                    println!("{}", c.name);
                }
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("usage: interop-wpa --wpa DIR [--hold SECS] [--cells NAME,...] [--json FILE] [--keep] | --list");
                return ExitCode::from(2);
            }
        }
    }
    let Some(wpa_dir) = wpa_dir else {
        eprintln!("interop-wpa: --wpa DIR is required (tests/interop/wpa/build.sh DIR builds it)");
        return ExitCode::from(2);
    };
    sys::catch_signals();
    let bins = macsec_tests::root().join("target/release");
    let work = std::env::temp_dir().join(format!("interop-wpa-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&work);
    if keep {
        let _ = std::fs::write(work.join(".keep"), "");
    }
    let env = Env {
        dp: bins.join("macsec-dataplane"),
        md: bins.join("macsecd"),
        ctl: bins.join("macsecctl"),
        frame_gen: bins.join("frame-gen"),
        wpa: wpa_dir.join("bin/wpa_supplicant"),
        wpa_cli: wpa_dir.join("bin/wpa_cli"),
        work: work.clone(),
        hold: Duration::from_secs_f64(hold),
    };
    for p in [&env.dp, &env.md, &env.ctl, &env.frame_gen, &env.wpa, &env.wpa_cli] {
        if !p.exists() {
            eprintln!(
                "interop-wpa: {} not found (cargo build --release; tests/interop/wpa/build.sh)",
                p.display()
            );
            return ExitCode::from(2);
        }
    }
    let mut out_json = json.as_ref().and_then(|p| std::fs::File::create(p).ok());
    let cells: Vec<Cell> = cells()
        .into_iter()
        .filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|n| n == c.name)))
        .collect();
    println!(
        "{:<22} {:>4} {:>4} {:<5} {:>9} {:>9} {:>5} {:>9} {:>7}  verdict",
        "cell", "ours", "wpa", "ks", "ours s", "wpa s", "SAKs", "ours->wpa", "wpa->us"
    );
    let mut failed = 0;
    for (i, c) in cells.iter().enumerate() {
        if sys::interrupted() {
            break;
        }
        let r = run_cell(&env, i, c);
        let (verdict, o) = match r {
            Ok(o) if o.passed() => ("PASS".to_string(), o),
            Ok(o) => (
                format!(
                    "FAIL: {}",
                    o.checks
                        .iter()
                        .filter(|(_, ok)| !ok)
                        .map(|(w, _)| w.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                o,
            ),
            // `{:#}`: the context, then the cause, as `CONTEXT: CAUSE`.
            Err(err) => (format!("FAIL: {err:#}"), Outcome::default()),
        };
        if !verdict.starts_with("PASS") {
            failed += 1;
        }
        let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
        println!(
            "{:<22} {:>4} {:>4} {:<5} {:>9} {:>9} {:>5} {:>9} {:>7}  {verdict}",
            c.name,
            c.ours_prio,
            c.wpa_prio,
            o.key_server,
            f(o.ours_secure),
            f(o.wpa_secure),
            o.saks.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("+"),
            format!("{}/{}", o.our_frames.0, o.our_frames.1),
            format!("{}/{}", o.reverse.1, o.reverse.0),
        );
        for n in &o.notes {
            println!("    note: {n}");
        }
        if let Some(fh) = out_json.as_mut() {
            use std::io::Write;
            let j = serde_json::json!({
                "cell": c.name, "ours_priority": c.ours_prio, "wpa_priority": c.wpa_prio, "cipher_suite": c.suite.name(),
                "cak_bits": c.cak.len() * 4, "ckn_octets": c.ckn.len() / 2, "icv_indicator": c.icv_indicator, "wpa_restart": c.restart_wpa,
                "key_server": o.key_server, "ours_secure_s": o.ours_secure, "wpa_secure_s": o.wpa_secure, "wpa_saks": o.saks,
                "our_frames_ok": o.our_frames.0, "our_frames": o.our_frames.1, "reverse_ok": o.reverse.1, "reverse_sent": o.reverse.0,
                "checks": o.checks.iter().map(|(w, ok)| serde_json::json!({"check": w, "ok": ok})).collect::<Vec<_>>(),
                "pass": verdict.starts_with("PASS"),
            });
            let _ = writeln!(fh, "{j}");
        }
    }
    let ran = cells.len();
    if !keep && failed == 0 {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        println!("work files: {}", work.display());
    }
    println!("interop matrix: {} of {ran} cells passed", ran - failed);
    if failed == 0 && !sys::interrupted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
