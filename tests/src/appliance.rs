//! The two-appliance topology of the system tests (`tests/tests/system*.rs`), root only:
//!
//! ```text
//! [ns h1: 192.0.2.1 eth0] --veth-- [ns a: a-host | macsec-dataplane + macsecd | a-line]
//!     ==line veth (MACsec)== [ns b: b-line | macsec-dataplane + macsecd | b-host] --veth-- [ns h2: 192.0.2.2 eth0]
//! ```
//!
//! Each appliance is a `macsec-dataplane` on `net_af_packet` ports over veths in a namespace of
//! its own (two DPDK af_packet processes in one namespace collide on their PACKET_FANOUT id) with
//! its `macsecd`; A's worker runs on core 1, B's on core 0. [`Rig`] makes the namespaces, veths
//! and addresses, writes the IOS XR configurations ([`Xr`]), starts and stops the processes,
//! reads `macsecctl show ... --json` into the project's own types, runs the `udp-stream` stream
//! h1 -> h2 and captures the line with tshark (the pcap read back here). Dropping the rig stops
//! every process it started (streams, captures, daemons, then dataplanes) and removes the
//! namespaces, the DPDK runtime directories and the work directory, also on a panic; a test that
//! calls [`crate::sys::catch_signals`] and sleeps with [`nap`] unwinds the same way on SIGINT.
//!
//! The binaries come from the test's own target directory (`target/release` for
//! `cargo test --release`): build them first with `cargo build --release --bins`.

use crate::sys::{self, Netns, Proc, VethEnd};
use crate::FilePrefix;
use anyhow::Context;
use control::show::SessionRow;
use ipc::{LinkCounters, SaState};
use macsec::secy::SecyCounters;
use mka::kay::MkaStats;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The appliances' interface (the guide's name).
pub const IF: &str = "TenGigE0/0/0/1";
pub const H1_IP: &str = "192.0.2.1";
pub const H2_IP: &str = "192.0.2.2";
pub const UDP_PORT: u16 = 9000;
/// The hosts' MACs (permanent neighbour entries: no ARP needed before the link is secured).
const H1_MAC: &str = "02:00:00:00:01:01";
const H2_MAC: &str = "02:00:00:00:02:01";

/// Unix time in seconds (the clock of the stream's and the capture's timestamps).
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Sleeps `secs`; a SIGINT or SIGTERM (after [`sys::catch_signals`]) panics instead, so the test
/// unwinds through its guards.
pub fn nap(secs: f64) {
    if sys::sleep(Duration::from_secs_f64(secs)).is_err() {
        panic!("interrupted");
    }
}

/// Polls `f` every 0.1 s until it holds (true) or `secs` pass (false).
pub fn wait_for(secs: f64, f: impl FnMut() -> bool) -> bool {
    sys::wait_for(Duration::from_secs_f64(secs), Duration::from_millis(100), f)
}

/// IOS XR time of day for key lifetimes, `offset` seconds from now: `hh:mm:ss DD Month YYYY` (UTC).
pub fn xr_time(offset: i64) -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + offset;
    let (days, secs) = (t.div_euclid(86400), t.rem_euclid(86400));
    let (year, month, day) = control::config::time::civil_from_days(days);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!(
        "{:02}:{:02}:{:02} {:02} {} {}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        day,
        MONTHS[(month - 1) as usize],
        year
    )
}

/// Appliance A (the key server in the tests) or B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::A => "a",
            Side::B => "b",
        }
    }
    pub fn idx(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// The guide's security-policy (in the dataplane's TOML and the IOS XR policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityPolicy {
    MustSecure,
    ShouldSecure,
}

impl SecurityPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityPolicy::MustSecure => "must-secure",
            SecurityPolicy::ShouldSecure => "should-secure",
        }
    }
}

/// An IOS XR configuration: the guide's PSK key chain KC1 (AES-256-CMAC CAKs), user-defined
/// policy P1 with GCM-AES-XPN-256 on [`IF`]; a fallback PSK key chain FB1 when `fallback` is set.
#[derive(Debug, Clone)]
pub struct Xr {
    pub priority: u8,
    pub policy: SecurityPolicy,
    pub rekey_secs: u32,
    pub window: u32,
    /// (CKN, CAK, lifetime) of each key of KC1.
    pub keys: Vec<(String, String, String)>,
    /// (CKN, CAK) of FB1's key (infinite lifetime).
    pub fallback: Option<(String, String)>,
    pub delay_protection: bool,
    /// The policy's cipher-suite (GCM-AES-XPN-256 unless set).
    pub cipher_suite: String,
}

impl Xr {
    /// Priority `priority`, must-secure, rekey every 60 s, window 64, no keys yet.
    pub fn new(priority: u8) -> Xr {
        Xr {
            priority,
            policy: SecurityPolicy::MustSecure,
            rekey_secs: 60,
            window: 64,
            keys: Vec::new(),
            fallback: None,
            delay_protection: false,
            cipher_suite: "GCM-AES-XPN-256".into(),
        }
    }
    pub fn key(mut self, ckn: &str, cak: &str, lifetime: &str) -> Xr {
        self.keys.push((ckn.into(), cak.into(), lifetime.into()));
        self
    }
    pub fn policy(mut self, p: SecurityPolicy) -> Xr {
        self.policy = p;
        self
    }
    pub fn rekey(mut self, secs: u32) -> Xr {
        self.rekey_secs = secs;
        self
    }
    pub fn window(mut self, w: u32) -> Xr {
        self.window = w;
        self
    }
    pub fn fallback(mut self, ckn: &str, cak: &str) -> Xr {
        self.fallback = Some((ckn.into(), cak.into()));
        self
    }
    pub fn cipher_suite(mut self, suite: &str) -> Xr {
        self.cipher_suite = suite.into();
        self
    }
    pub fn delay_protection(mut self) -> Xr {
        self.delay_protection = true;
        self
    }

    /// The configuration text.
    pub fn render(&self) -> String {
        let mut s = String::from("key chain KC1\n macsec\n");
        for (ckn, cak, lt) in &self.keys {
            s += &format!(
                "  key {ckn}\n   key-string {cak} cryptographic-algorithm AES-256-CMAC\n   lifetime {lt}\n"
            );
        }
        s += "!\n";
        if let Some((ckn, cak)) = &self.fallback {
            s += &format!(
                "key chain FB1\n macsec\n  key {ckn}\n   key-string {cak} cryptographic-algorithm AES-256-CMAC\n   lifetime 05:00:00 01 January 2015 infinite\n!\n"
            );
        }
        s += &format!(
            "macsec-policy P1\n cipher-suite {}\n key-server-priority {}\n security-policy {}\n window-size {}\n sak-rekey-interval seconds {}\n",
            self.cipher_suite,
            self.priority,
            self.policy.as_str(),
            self.window,
            self.rekey_secs
        );
        if self.delay_protection {
            s += " delay-protection\n";
        }
        s += &format!(
            "!\ninterface {IF}\n macsec psk-keychain KC1{} policy P1\n!\n",
            if self.fallback.is_some() {
                " fallback-psk-keychain FB1"
            } else {
                ""
            }
        );
        s
    }
}

/// `macsecctl show macsec secy statistics interface IF --json`.
#[derive(Debug, Clone, Deserialize)]
pub struct SecyStats {
    pub secy: SecyCounters,
    pub link: LinkCounters,
}

/// `macsecctl show macsec ea idb interface IF --json`.
#[derive(Debug, Clone, Deserialize)]
struct EaIdb {
    sa: SaState,
}

/// What `udp-stream send` prints.
#[derive(Debug, Clone, Deserialize)]
pub struct SendReport {
    pub sent: u64,
    pub send_errors: u64,
    pub rate_pps: f64,
    pub seconds: f64,
    /// When the first datagram was sent (Unix s).
    #[serde(default)]
    pub first_tx: Option<f64>,
}

/// What `udp-stream recv` prints.
#[derive(Debug, Clone, Deserialize)]
pub struct RecvReport {
    pub received: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub missing_ranges: Vec<[u64; 2]>,
    pub first_rx: Option<f64>,
    pub last_rx: Option<f64>,
    pub max_gap_ms: f64,
    /// Datagrams the kernel dropped in the receiver's namespace for a full socket buffer.
    #[serde(default)]
    pub rcvbuf_errors: u64,
}

/// Both ends of a stream run.
#[derive(Debug, Clone)]
pub struct Stream {
    pub send: SendReport,
    pub recv: RecvReport,
}

impl Stream {
    /// Sent minus received (negative would be a counting error).
    pub fn lost(&self) -> i64 {
        self.send.sent as i64 - self.recv.received as i64
    }

    /// The summary lines of the run.
    pub fn summary(&self) -> String {
        let (s, r) = (&self.send, &self.recv);
        let mut out = format!(
            "UDP stream h1->h2 at {:.0} pps for {} s: sent {} (send errors {}), received {}, lost {} (dropped by the receiver's full socket buffer {}), duplicated {}, out of order {}, longest silence {} ms",
            s.rate_pps, s.seconds, s.sent, s.send_errors, r.received, self.lost(), r.rcvbuf_errors, r.duplicates, r.out_of_order, r.max_gap_ms
        );
        if !r.missing_ranges.is_empty() {
            let first: Vec<_> = r.missing_ranges.iter().take(10).collect();
            out += &format!("\n  missing sequence numbers: {first:?}");
        }
        out
    }
}

/// A line capture counted by EtherType: MACsec (0x88E5), EAPOL (0x888E) and anything else
/// (clear), with the counts at or after a split time.
#[derive(Debug, Clone, Default)]
pub struct Classified {
    pub total: u64,
    pub macsec: u64,
    pub eapol: u64,
    pub clear: u64,
    pub clear_types: BTreeMap<String, u64>,
    pub clear_after: u64,
    pub macsec_after: u64,
    pub first_macsec: Option<f64>,
    pub last_clear: Option<f64>,
}

impl Classified {
    /// The clear frames' EtherTypes, `{0x0800: 3, ...}`.
    pub fn types(&self) -> String {
        let v: Vec<String> = self
            .clear_types
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        format!("{{{}}}", v.join(", "))
    }
}

/// Counts the frames of a pcap by EtherType; `split` in Unix seconds.
pub fn classify(pcap: &Path, split: f64) -> Classified {
    let mut c = Classified::default();
    // A capture that cannot be read fails the test: counting nothing would pass every leak check.
    let f = std::fs::File::open(pcap).unwrap_or_else(|e| panic!("capture {}: {e}", pcap.display()));
    let mut r =
        pcap_file::pcap::PcapReader::new(f).unwrap_or_else(|e| panic!("capture {}: {e}", pcap.display()));
    while let Some(Ok(p)) = r.next_packet() {
        if p.data.len() < 14 {
            continue;
        }
        let t = p.timestamp.as_secs_f64();
        let ty = u16::from_be_bytes([p.data[12], p.data[13]]);
        c.total += 1;
        match ty {
            0x88e5 => {
                c.macsec += 1;
                c.first_macsec.get_or_insert(t);
                if t >= split {
                    c.macsec_after += 1;
                }
            }
            0x888e => c.eapol += 1,
            _ => {
                c.clear += 1;
                *c.clear_types.entry(format!("0x{ty:04x}")).or_default() += 1;
                c.last_clear = Some(t);
                if t >= split {
                    c.clear_after += 1;
                }
            }
        }
    }
    c
}

/// The first MACsec frame of a pcap and its PN (the SecTAG's 32-bit PN field).
pub fn first_macsec_frame(pcap: &Path) -> Option<(Vec<u8>, u32)> {
    let mut r = pcap_file::pcap::PcapReader::new(std::fs::File::open(pcap).ok()?).ok()?;
    while let Some(Ok(p)) = r.next_packet() {
        if p.data.len() >= 20 && p.data[12..14] == [0x88, 0xe5] {
            let pn = u32::from_be_bytes([p.data[16], p.data[17], p.data[18], p.data[19]]);
            return Some((p.data.into_owned(), pn));
        }
    }
    None
}

/// Waits up to `d` for the process to exit by itself.
fn wait_exit(p: &mut Proc, d: Duration) -> bool {
    let end = Instant::now() + d;
    while p.running() {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn signame(sig: libc::c_int) -> &'static str {
    match sig {
        libc::SIGTERM => "TERM",
        libc::SIGINT => "INT",
        libc::SIGKILL => "KILL",
        libc::SIGHUP => "HUP",
        _ => "?",
    }
}

/// The two appliances between two hosts, and everything the tests run on them.
pub struct Rig {
    send: Option<Proc>,
    recv: Option<Proc>,
    caps: Vec<Proc>,
    md: [Option<Proc>; 2],
    dp: [Option<Proc>; 2],
    /// macsecd starts per side: each start logs to a file of its own, [`Rig::log`] joins them.
    md_starts: [usize; 2],
    /// Dataplane starts per side: each start logs to a file of its own, [`Rig::dp_log`] joins them.
    dp_starts: [usize; 2],
    /// Environment variables of each side's macsecd starts (e.g. libfaketime's `LD_PRELOAD`).
    pub md_env: [Vec<(String, String)>; 2],
    /// The dataplanes' cipher_suite (GCM-AES-XPN-256 unless set; match [`Xr::cipher_suite`]).
    pub cipher_suite: String,
    /// Workers per dataplane link (1 unless set; at most 2: the EAL gets lcores 0 and 1).
    pub workers: u32,
    /// When the last macsecd was started (Unix s).
    pub md_started: f64,
    /// Set by [`Rig::wait_secured`]: seconds from the last macsecd start to both Secured.
    pub secure_secs: Option<f64>,
    /// Set by [`Rig::wait_secured`]: when both were Secured (Unix s).
    pub secured_at: f64,
    fp: [FilePrefix; 2],
    pub ns_h1: Netns,
    pub ns_h2: Netns,
    pub ns_a: Netns,
    pub ns_b: Netns,
    dir: tempfile::TempDir,
    dp_bin: PathBuf,
    md_bin: PathBuf,
    ctl_bin: PathBuf,
    stream_bin: PathBuf,
    framegen_bin: PathBuf,
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

impl Rig {
    /// The topology for test `tag` (namespaces msys-TAG-{h1,h2,a,b}): veths, IPv6 off everywhere
    /// (exact frame counts), MTU 1600 on the appliances' veths, hosts with their addresses,
    /// transmit checksums computed by the kernel and permanent neighbour entries.
    pub fn new(tag: &str) -> Rig {
        Rig::with_prefix("msys", tag)
    }

    /// [`Rig::new`] with namespaces PREFIX-TAG-{h1,h2,a,b}.
    pub fn with_prefix(prefix: &str, tag: &str) -> Rig {
        let tag = tag.replace('_', "");
        let ns = |role: &str| must(Netns::new(&format!("{prefix}-{tag}-{role}")), "netns");
        let (ns_h1, ns_h2, ns_a, ns_b) = (ns("h1"), ns("h2"), ns("a"), ns("b"));
        let bin = |n: &str| crate::bin(n);
        let rig = Rig {
            send: None,
            recv: None,
            caps: Vec::new(),
            md: [None, None],
            dp: [None, None],
            md_starts: [0, 0],
            dp_starts: [0, 0],
            md_env: [Vec::new(), Vec::new()],
            cipher_suite: "GCM-AES-XPN-256".into(),
            workers: 1,
            md_started: now(),
            secure_secs: None,
            secured_at: 0.0,
            fp: [FilePrefix::new("sa"), FilePrefix::new("sb")],
            dir: must(
                tempfile::Builder::new().prefix("msys").tempdir(),
                "work directory",
            ),
            dp_bin: bin("macsec-dataplane"),
            md_bin: bin("macsecd"),
            ctl_bin: bin("macsecctl"),
            stream_bin: bin("udp-stream"),
            framegen_bin: bin("frame-gen"),
            ns_h1,
            ns_h2,
            ns_a,
            ns_b,
        };
        rig.topology();
        rig
    }

    fn topology(&self) {
        let end = |ns, name, mac| VethEnd { ns, name, mac };
        must(
            sys::veth(
                end(&self.ns_a, "a-host", "02:00:00:00:0a:01"),
                end(&self.ns_h1, "eth0", H1_MAC),
            ),
            "veth h1-a",
        );
        must(
            sys::veth(
                end(&self.ns_b, "b-host", "02:00:00:00:0b:01"),
                end(&self.ns_h2, "eth0", H2_MAC),
            ),
            "veth h2-b",
        );
        must(
            sys::veth(
                end(&self.ns_a, "a-line", "02:00:00:00:0a:02"),
                end(&self.ns_b, "b-line", "02:00:00:00:0b:02"),
            ),
            "veth a-b",
        );
        for (ns, l) in [
            (&self.ns_a, "a-host"),
            (&self.ns_a, "a-line"),
            (&self.ns_b, "b-host"),
            (&self.ns_b, "b-line"),
        ] {
            must(ns.ip(&["link", "set", l, "mtu", "1600"]), "mtu");
        }
        // The hosts compute their checksums: a veth leaves TCP/UDP checksums to "hardware" (the
        // frame carries a partial checksum), and net_af_packet forwards the frame as it gets it,
        // so h2's kernel would drop every UDP datagram as a checksum error.
        for (ns, ip, peer, peer_mac) in [
            (&self.ns_h1, H1_IP, H2_IP, H2_MAC),
            (&self.ns_h2, H2_IP, H1_IP, H1_MAC),
        ] {
            let _ = ns
                .cmd("ethtool")
                .args(["-K", "eth0", "tx", "off"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            must(
                ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]),
                "address",
            );
            must(
                ns.ip(&[
                    "neigh",
                    "replace",
                    peer,
                    "lladdr",
                    peer_mac,
                    "dev",
                    "eth0",
                    "nud",
                    "permanent",
                ]),
                "neighbour",
            );
        }
    }

    /// The work directory (configurations, logs, stream results, captures).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ns(&self, s: Side) -> &Netns {
        match s {
            Side::A => &self.ns_a,
            Side::B => &self.ns_b,
        }
    }

    /// Writes the side's IOS XR configuration (`<side>.xr`).
    pub fn write_xr(&self, s: Side, xr: &Xr) {
        must(
            std::fs::write(self.path(&format!("{}.xr", s.name())), xr.render()),
            "write xr",
        );
    }

    /// Starts the side's macsec-dataplane and waits (15 s) for its control socket.
    pub fn start_dp(&mut self, s: Side, policy: SecurityPolicy) -> anyhow::Result<()> {
        let n = s.name();
        let toml = format!(
            "[[link]]\ninterface = \"{IF}\"\nhost_port = \"net_af_packet0\"\nline_port = \"net_af_packet1\"\ncipher_suite = \"{}\"\nsecurity_policy = \"{}\"\nworkers = {}\n",
            self.cipher_suite,
            policy.as_str(),
            self.workers
        );
        let cfg = self.path(&format!("{n}.toml"));
        let sock = self.path(&format!("{n}.sock"));
        std::fs::write(&cfg, toml).with_context(|| format!("write {}", cfg.display()))?;
        let _ = std::fs::remove_file(&sock);
        let main = if s == Side::A { "0" } else { "1" };
        let mut cmd = self.ns(s).cmd(&self.dp_bin);
        // Both dataplanes' workers share this machine's two cores with everything else the
        // test runs (daemons, streams, captures, the test itself): they sleep 50 us when idle.
        cmd.arg("--config")
            .arg(&cfg)
            .arg("--socket")
            .arg(&sock)
            .args(["--idle-sleep-us", "50"])
            .args([
                "--",
                "--no-huge",
                "-m",
                "512",
                "--no-pci",
                "--log-level",
                "lib.eal:error",
            ])
            .args([
                "-l",
                "0,1",
                "--main-lcore",
                main,
                "--file-prefix",
                &self.fp[s.idx()].0,
            ])
            // Larger rings than the PMD's 512 frames: the two dataplanes poll on the same two
            // cores as everything else here, so a worker can lose the core for tens of ms. The
            // line port takes the EAPOL flood's 150 kpps: 4096 frames lasted 27 ms, and once (a
            // CI run) B's ring overflowed and lost 24 data frames in a flood while the kernel
            // dropped none (softnet_stat); 16384 frames last 106 ms. The host port carries the
            // 4 kpps streams only.
            .args(["--vdev", &format!("net_af_packet0,iface={n}-host,framecnt=4096")])
            .args(["--vdev", &format!("net_af_packet1,iface={n}-line,framecnt=16384")]);
        self.dp_starts[s.idx()] += 1;
        let k = self.dp_starts[s.idx()];
        let log = self.path(&format!("{n}.{k}.log"));
        let p = Proc::spawn(
            &format!("dataplane {n}"),
            &mut cmd,
            &log,
            Some(&self.path(&format!("{n}.{k}.json"))),
        )
        .with_context(|| format!("start the dataplane of {n}"))?;
        self.dp[s.idx()] = Some(p);
        if wait_for(15.0, || sock.exists()) {
            return Ok(());
        }
        let l = std::fs::read_to_string(&log).unwrap_or_default();
        Err(anyhow::anyhow!("appliance {n}: the dataplane did not start\n{l}"))
    }

    /// Stops the side's dataplane (SIGINT, SIGKILL after 5 s).
    pub fn stop_dp(&mut self, s: Side) {
        if let Some(mut p) = self.dp[s.idx()].take() {
            p.stop();
        }
    }

    /// Kills the side's dataplane with SIGKILL (a crash).
    pub fn kill_dp(&mut self, s: Side) {
        if let Some(mut p) = self.dp[s.idx()].take() {
            p.kill();
        }
    }

    /// The side's dataplane is running (started and not exited).
    pub fn dp_running(&mut self, s: Side) -> bool {
        self.dp[s.idx()].as_mut().is_some_and(|p| p.running())
    }

    /// The side's macsecd is running (started and not exited).
    pub fn md_running(&mut self, s: Side) -> bool {
        self.md[s.idx()].as_mut().is_some_and(|p| p.running())
    }

    /// The side's dataplane log and stdout (every start's, in order).
    pub fn dp_log(&self, s: Side) -> String {
        let n = s.name();
        (1..=self.dp_starts[s.idx()])
            .flat_map(|k| [format!("{n}.{k}.log"), format!("{n}.{k}.json")])
            .map(|f| std::fs::read_to_string(self.path(&f)).unwrap_or_default())
            .collect()
    }

    /// Starts the side's macsecd on `<side>.xr`.
    pub fn start_md(&mut self, s: Side) {
        self.start_md_args(s, &[]);
    }

    /// [`Rig::start_md`] with more arguments.
    pub fn start_md_args(&mut self, s: Side, extra: &[&std::ffi::OsStr]) {
        let n = s.name();
        self.md_started = now();
        self.md_starts[s.idx()] += 1;
        let k = self.md_starts[s.idx()];
        let mut cmd = self.ns(s).cmd(&self.md_bin);
        cmd.arg("--config")
            .arg(self.path(&format!("{n}.xr")))
            .arg("--dataplane")
            .arg(self.path(&format!("{n}.sock")))
            .arg("--socket")
            .arg(self.path(&format!("{n}-mka.sock")))
            .args(extra);
        for (k, v) in &self.md_env[s.idx()] {
            cmd.env(k, v);
        }
        let p = must(
            Proc::spawn(
                &format!("macsecd {n}"),
                &mut cmd,
                &self.path(&format!("{n}-mka.{k}.log")),
                Some(&self.path(&format!("{n}-mka.{k}.json"))),
            ),
            "start macsecd",
        );
        self.md[s.idx()] = Some(p);
    }

    /// Stops the side's macsecd with `sig` (TERM/INT: orderly; KILL: a crash) and waits 5 s
    /// for it (then SIGKILL).
    pub fn stop_md(&mut self, s: Side, sig: libc::c_int) {
        let Some(mut p) = self.md[s.idx()].take() else {
            return;
        };
        if sig == libc::SIGKILL {
            p.kill();
            return;
        }
        p.signal(sig);
        if !wait_exit(&mut p, Duration::from_secs(5)) {
            eprintln!(
                "appliance {}: macsecd did not stop on SIG{} in 5 s",
                s.name(),
                signame(sig)
            );
        }
        p.kill();
    }

    /// Sends SIGHUP to the side's macsecd (reload its configuration).
    pub fn hup_md(&self, s: Side) {
        if let Some(p) = &self.md[s.idx()] {
            p.signal(libc::SIGHUP);
        }
    }

    /// Stops both daemons, then both dataplanes.
    pub fn stop_all(&mut self) {
        self.stop_md(Side::A, libc::SIGINT);
        self.stop_md(Side::B, libc::SIGINT);
        self.stop_dp(Side::A);
        self.stop_dp(Side::B);
    }

    /// The side's macsecd log (every start's, in order).
    pub fn log(&self, s: Side) -> String {
        (1..=self.md_starts[s.idx()])
            .map(|k| {
                std::fs::read_to_string(self.path(&format!("{}-mka.{k}.log", s.name()))).unwrap_or_default()
            })
            .collect()
    }

    /// Lines of the side's macsecd log that contain `pat`.
    pub fn count_log(&self, s: Side, pat: &str) -> usize {
        self.log(s).lines().filter(|l| l.contains(pat)).count()
    }

    /// The last `n` lines of both macsecd logs, for a failure report.
    pub fn mka_dump(&self, n: usize) {
        for s in [Side::A, Side::B] {
            println!("  --- macsecd {} log (tail)", s.name().to_uppercase());
            let log = self.log(s);
            let lines: Vec<&str> = log.lines().collect();
            for l in &lines[lines.len().saturating_sub(n)..] {
                println!("    {l}");
            }
        }
    }

    /// `macsecctl ARGS --socket <side>-mka.sock`: its output, or `Err` with its error.
    pub fn ctl(&self, s: Side, args: &[&str]) -> anyhow::Result<String> {
        let mut a: Vec<std::ffi::OsString> = args.iter().map(|x| x.into()).collect();
        a.push("--socket".into());
        a.push(self.path(&format!("{}-mka.sock", s.name())).into());
        self.ctl_raw(&a)
    }

    /// `macsecctl ARGS`: its output, or `Err` with its error.
    pub fn ctl_raw(&self, args: &[std::ffi::OsString]) -> anyhow::Result<String> {
        let out = Command::new(&self.ctl_bin)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("run {}", self.ctl_bin.display()))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            anyhow::bail!("{text}{}", String::from_utf8_lossy(&out.stderr))
        }
    }

    /// `macsecctl show WORDS --json`, read into `T`.
    pub fn show<T: DeserializeOwned>(&self, s: Side, words: &[&str]) -> Option<T> {
        let mut a = vec!["show"];
        a.extend_from_slice(words);
        a.push("--json");
        serde_json::from_str(&self.ctl(s, &a).ok()?).ok()
    }

    /// `show macsec mka session`: every row.
    pub fn sessions(&self, s: Side) -> Vec<SessionRow> {
        self.show(s, &["macsec", "mka", "session"]).unwrap_or_default()
    }

    /// The first row of `show macsec mka session` (None: no session, or macsecd not answering).
    pub fn session(&self, s: Side) -> Option<SessionRow> {
        self.sessions(s).into_iter().next()
    }

    /// A session of the side is Secured with its peer (Secured with 0 peers is the link still
    /// transmitting on an earlier session's SAs: not this session secured).
    pub fn secured(&self, s: Side) -> bool {
        self.sessions(s)
            .iter()
            .any(|r| r.status == "Secured" && r.peers > 0)
    }

    pub fn both_secured(&self) -> bool {
        self.secured(Side::A) && self.secured(Side::B)
    }

    /// Both sides Secured within `limit` polls of 0.1 s (plus the time the queries take); sets
    /// `secure_secs` (from the last macsecd start) and `secured_at`.
    pub fn wait_secured(&mut self, limit: u32) -> bool {
        for _ in 0..limit * 10 {
            if self.both_secured() {
                let t = now();
                self.secure_secs = Some(t - self.md_started);
                self.secured_at = t;
                return true;
            }
            nap(0.1);
        }
        self.secure_secs = None;
        false
    }

    /// "1.23" or "timeout", for the measured lines.
    pub fn secure_secs_text(&self) -> String {
        self.secure_secs.map_or("timeout".into(), |t| format!("{t:.2}"))
    }

    /// The side's 802.1AE and link counters (from the dataplane through macsecd).
    pub fn secy(&self, s: Side) -> Option<SecyStats> {
        self.show(s, &["macsec", "secy", "statistics", "interface", IF])
    }

    /// The side's SAs in the dataplane.
    pub fn ea_idb(&self, s: Side) -> Option<SaState> {
        self.show::<EaIdb>(s, &["macsec", "ea", "idb", "interface", IF])
            .map(|v| v.sa)
    }

    /// `show macsec mka statistics interface IF`.
    pub fn mka_stats(&self, s: Side) -> Option<MkaStats> {
        self.show(s, &["macsec", "mka", "statistics", "interface", IF])
    }

    /// `curl URL` in the side's namespace (e.g. macsecd's `--metrics` endpoint): the body, or
    /// `Err` with curl's error.
    pub fn http_get(&self, s: Side, url: &str, headers: &[&str]) -> anyhow::Result<String> {
        let mut cmd = self.ns(s).cmd(std::path::Path::new("curl"));
        cmd.args(["-sS", "--fail", "--max-time", "5", url]);
        for h in headers {
            cmd.args(["-H", h]);
        }
        let out = cmd.stdin(Stdio::null()).output().context("run curl")?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            anyhow::bail!("curl {url}: {}", String::from_utf8_lossy(&out.stderr))
        }
    }

    /// `macsecctl commit` on the side: (succeeded, its output).
    pub fn commit(&self, s: Side) -> (bool, String) {
        match self.ctl(s, &["commit"]) {
            Ok(o) => (true, o),
            Err(o) => (false, o.to_string()),
        }
    }

    /// Starts the paced UDP stream h1 -> h2 at `pps` (receiver first).
    pub fn stream_start(&mut self, pps: u32) {
        self.stream_start_with(pps, &[]);
    }

    /// [`Rig::stream_start`] with more arguments for the receiver (e.g. `--ranges N`).
    pub fn stream_start_with(&mut self, pps: u32, recv_args: &[&str]) {
        let (stop_send, stop_recv) = (self.path("stop-send"), self.path("stop-recv"));
        let _ = std::fs::remove_file(&stop_send);
        let _ = std::fs::remove_file(&stop_recv);
        let mut cmd = self.ns_h2.cmd(&self.stream_bin);
        cmd.args(["recv", "--bind", &format!("0.0.0.0:{UDP_PORT}"), "--stop-file"])
            .arg(&stop_recv)
            .args(recv_args);
        self.recv = Some(must(
            Proc::spawn(
                "udp-stream recv",
                &mut cmd,
                &self.path("recv.log"),
                Some(&self.path("recv.json")),
            ),
            "udp-stream recv",
        ));
        nap(0.2);
        let mut cmd = self.ns_h1.cmd(&self.stream_bin);
        cmd.args([
            "send",
            "--dst",
            &format!("{H2_IP}:{UDP_PORT}"),
            "--rate",
            &pps.to_string(),
            "--stop-file",
        ])
        .arg(&stop_send);
        self.send = Some(must(
            Proc::spawn(
                "udp-stream send",
                &mut cmd,
                &self.path("send.log"),
                Some(&self.path("send.json")),
            ),
            "udp-stream send",
        ));
    }

    fn finish(p: Option<Proc>, stop_file: &Path) {
        let _ = std::fs::write(stop_file, "");
        if let Some(mut p) = p {
            wait_exit(&mut p, Duration::from_secs(10));
            p.stop();
        }
    }

    /// Stops the sender (it prints its report).
    pub fn stream_stop_send(&mut self) {
        Self::finish(self.send.take(), &self.path("stop-send"));
    }

    /// Stops the receiver (it prints its report).
    pub fn stream_stop_recv(&mut self) {
        Self::finish(self.recv.take(), &self.path("stop-recv"));
    }

    /// Stops the sender, waits 0.5 s for frames in flight through both appliances, stops the
    /// receiver.
    pub fn stream_stop(&mut self) {
        self.stream_stop_send();
        nap(0.5);
        self.stream_stop_recv();
    }

    /// Both reports of the last stream (after it stopped).
    pub fn stream(&self) -> Stream {
        fn read<T: DeserializeOwned>(p: &Path) -> T {
            let t = std::fs::read_to_string(p).unwrap_or_default();
            serde_json::from_str(t.trim()).unwrap_or_else(|e| panic!("{}: {e}: {t:?}", p.display()))
        }
        Stream {
            send: read(&self.path("send.json")),
            recv: read(&self.path("recv.json")),
        }
    }

    /// tshark on the line veth of appliance `s` into `file` (pcap). On b-line it records what A
    /// puts on the line (B's own EAPOL-MKA is not seen: net_af_packet transmits with qdisc
    /// bypass, which capture taps do not see). Returns once tshark captures.
    pub fn capture_start(&mut self, file: &str, s: Side) {
        self.capture_start_filtered(file, s, None);
    }

    /// [`Rig::capture_start`] with a capture filter (`-f FILTER`, pcap syntax).
    pub fn capture_start_filtered(&mut self, file: &str, s: Side, filter: Option<&str>) {
        let f = self.path(file);
        let log = self.path(&format!("{file}.log"));
        let _ = std::fs::remove_file(&f);
        let mut cmd = self.ns(s).cmd("tshark");
        cmd.args(["-q", "-i", &format!("{}-line", s.name()), "-F", "pcap"]);
        if let Some(flt) = filter {
            cmd.args(["-f", flt]);
        }
        cmd.arg("-w").arg(&f);
        self.caps
            .push(must(Proc::spawn("tshark", &mut cmd, &log, None), "tshark"));
        let started = wait_for(15.0, || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Capturing on"))
        });
        if !started {
            panic!(
                "tshark did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        nap(0.2);
    }

    /// Stops every capture (after 0.3 s for frames in flight).
    pub fn capture_stop(&mut self) {
        nap(0.3);
        for mut p in self.caps.drain(..) {
            p.stop();
        }
    }

    /// Frames tshark reported dropped for `file` (0 when it reported none).
    pub fn capture_drops(&self, file: &str) -> u64 {
        let log = std::fs::read_to_string(self.path(&format!("{file}.log"))).unwrap_or_default();
        let w: Vec<&str> = log.split_whitespace().collect();
        w.windows(3)
            .filter(|x| (x[1] == "packet" || x[1] == "packets") && x[2].starts_with("dropped"))
            .filter_map(|x| {
                x[0].trim_start_matches(|c: char| !c.is_ascii_digit())
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }

    /// Sends `frame` from A's end of the line (a raw socket on a-line, frame-gen) to B.
    pub fn inject_on_a_line(&self, frame: &[u8]) -> anyhow::Result<()> {
        let f = self.path("inject.pcap");
        crate::write_pcap(&f, &[frame.to_vec()]);
        let mut cmd = self.ns_a.cmd(&self.framegen_bin);
        cmd.args(["--iface", "a-line", "--pcap"]).arg(&f);
        sys::run(&mut cmd).map(|_| ()).context("frame-gen")
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // Streams and captures first, then the daemons, then the dataplanes; the namespaces, DPDK
        // runtime directories and the work directory go with the fields.
        for p in [self.send.take(), self.recv.take()].into_iter().flatten() {
            let mut p = p;
            p.stop();
        }
        for mut p in self.caps.drain(..) {
            p.stop();
        }
        for p in self.md.iter_mut().chain(self.dp.iter_mut()) {
            if let Some(mut p) = p.take() {
                p.stop();
            }
        }
    }
}

/// The checks of one test: each prints `ok` or `FAIL` and the test goes on; [`Checks::finish`]
/// fails the test when any failed. `measured:` lines are what the test measured.
pub struct Checks {
    test: String,
    failed: Vec<String>,
}

impl Checks {
    pub fn new(test: &str) -> Checks {
        println!("== {test}");
        Checks {
            test: test.to_string(),
            failed: Vec::new(),
        }
    }

    pub fn check(&mut self, desc: &str, ok: bool) {
        if ok {
            println!("  ok    {desc}");
        } else {
            println!("  FAIL  {desc}");
            self.failed.push(desc.to_string());
        }
    }

    pub fn measure(&self, line: &str) {
        println!("  measured: {line}");
    }

    /// Did a check fail?
    pub fn failed(&self) -> bool {
        !self.failed.is_empty()
    }

    /// Passes, or panics naming the failed checks.
    pub fn finish(self) {
        if !self.failed.is_empty() {
            println!("  FAIL {} ({} checks failed)", self.test, self.failed.len());
        }
        assert!(
            self.failed.is_empty(),
            "{} checks failed: {}",
            self.failed.len(),
            self.failed.join("; ")
        );
        println!("  PASS {}", self.test);
    }
}

/// The stream h2 -> h1 (UDP port 9001), beside the rig's own h1 -> h2.
pub struct RevStream {
    recv: Option<Proc>,
    send: Option<Proc>,
    /// When the sender was started (Unix s).
    pub started: f64,
}

const REV_PORT: u16 = 9001;

impl RevStream {
    /// Starts the receiver on h1 (with `recv_args`), then the sender on h2 at `pps`.
    pub fn start(rig: &Rig, pps: u32, recv_args: &[&str]) -> RevStream {
        for f in ["rev-stop-recv", "rev-stop-send"] {
            let _ = std::fs::remove_file(rig.path(f));
        }
        let mut cmd = rig.ns_h1.cmd(&rig.stream_bin);
        cmd.args(["recv", "--bind", &format!("0.0.0.0:{REV_PORT}"), "--stop-file"])
            .arg(rig.path("rev-stop-recv"))
            .args(recv_args);
        let recv = must(
            Proc::spawn(
                "udp-stream recv (h2->h1)",
                &mut cmd,
                &rig.path("rev-recv.log"),
                Some(&rig.path("rev-recv.json")),
            ),
            "udp-stream recv",
        );
        nap(0.2);
        let mut cmd = rig.ns_h2.cmd(&rig.stream_bin);
        cmd.args([
            "send",
            "--dst",
            &format!("{H1_IP}:{REV_PORT}"),
            "--rate",
            &pps.to_string(),
            "--stop-file",
        ])
        .arg(rig.path("rev-stop-send"));
        let started = now();
        let send = must(
            Proc::spawn(
                "udp-stream send (h2->h1)",
                &mut cmd,
                &rig.path("rev-send.log"),
                Some(&rig.path("rev-send.json")),
            ),
            "udp-stream send",
        );
        RevStream {
            recv: Some(recv),
            send: Some(send),
            started,
        }
    }

    /// Stops the sender, waits 0.5 s for frames in flight, stops the receiver; both reports.
    pub fn stop(&mut self, rig: &Rig) -> Stream {
        Rig::finish(self.send.take(), &rig.path("rev-stop-send"));
        nap(0.5);
        Rig::finish(self.recv.take(), &rig.path("rev-stop-recv"));
        fn read<T: DeserializeOwned>(p: &Path) -> T {
            let t = std::fs::read_to_string(p).unwrap_or_default();
            serde_json::from_str(t.trim()).unwrap_or_else(|e| panic!("{}: {e}: {t:?}", p.display()))
        }
        Stream {
            send: read(&rig.path("rev-send.json")),
            recv: read(&rig.path("rev-recv.json")),
        }
    }
}
