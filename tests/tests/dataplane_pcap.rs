//! macsec-dataplane on net_pcap virtual devices: the appliance protects what its host port
//! receives and validates what its line port receives, with the counters, policies and control
//! socket of DESIGN.md. Each test runs the binary as a child process (EAL once per process).

use ipc::Client;
use ipc::{Event, Request, Response};
use macsec_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SCI_A: &str = "001de5e9aa39001a";
const SCI_B: &str = "001de5e9b1bf0019";
const KEY_A: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const KEY_B: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const SALT: &str = "83c37bac7b6f6316098ff3d2";

struct Site {
    dir: tempfile::TempDir,
    prefix: FilePrefix,
}

impl Site {
    fn new(tag: &str) -> Self {
        Site {
            dir: tempfile::tempdir().unwrap(),
            prefix: FilePrefix::new(tag),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The appliance's config: site A, XPN-256, Tx SA from SCI A, Rx SA for peer B.
fn config(security: &str, lacp: bool, tx_sa: bool, rx_sa: bool) -> String {
    let mut c = format!(
        r#"[[link]]
interface = "TenGigE0/0/0/1"
host_port = "net_pcap0"
line_port = "net_pcap1"
cipher_suite = "GCM-AES-XPN-256"
security_policy = "{security}"
replay_window = 0
lacp_in_clear = {lacp}
sci = "{SCI_A}"
"#
    );
    if tx_sa {
        c += &format!("[[link.tx_sa]]\nsci = \"{SCI_A}\"\nan = 0\nsak = \"{KEY_A}\"\nnext_pn = 1\nssci = \"00000002\"\nsalt = \"{SALT}\"\n");
    }
    if rx_sa {
        c += &format!("[[link.rx_sa]]\nsci = \"{SCI_B}\"\nan = 1\nsak = \"{KEY_B}\"\nlowest_pn = 1\nssci = \"00000001\"\nsalt = \"{SALT}\"\n");
    }
    c
}

/// Runs the appliance with host port net_pcap0 (rx host_in) and line port net_pcap1 (rx line_in);
/// returns the JSON report and the two tx captures.
fn run_appliance(
    site: &Site,
    config: &str,
    host_in: &[Vec<u8>],
    line_in: &[Vec<u8>],
    seconds: f64,
) -> (serde_json::Value, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let child = spawn_appliance(site, config, host_in, line_in, seconds);
    finish_appliance(site, child)
}

fn spawn_appliance(
    site: &Site,
    config: &str,
    host_in: &[Vec<u8>],
    line_in: &[Vec<u8>],
    seconds: f64,
) -> std::process::Child {
    spawn_appliance_with(site, config, host_in, line_in, seconds, &[], &[])
}

/// [`spawn_appliance`] with more macsec-dataplane options (before the EAL's `--`) and
/// environment variables.
fn spawn_appliance_with(
    site: &Site,
    config: &str,
    host_in: &[Vec<u8>],
    line_in: &[Vec<u8>],
    seconds: f64,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Child {
    let cfg = site.path("dp.toml");
    std::fs::write(&cfg, config).unwrap();
    write_pcap(&site.path("host_in.pcap"), host_in);
    write_pcap(&site.path("line_in.pcap"), line_in);
    let p = |n: &str| site.path(n).display().to_string();
    let vdevs = vec![
        format!(
            "net_pcap0,rx_pcap={},tx_pcap={}",
            p("host_in.pcap"),
            p("host_out.pcap")
        ),
        format!(
            "net_pcap1,rx_pcap={},tx_pcap={}",
            p("line_in.pcap"),
            p("line_out.pcap")
        ),
    ];
    Command::new(bin("macsec-dataplane"))
        .arg("--config")
        .arg(&cfg)
        .arg("--duration")
        .arg(seconds.to_string())
        .arg("--socket")
        .arg(site.path("ctl.sock"))
        .args(extra)
        .envs(env.iter().copied())
        .arg("--")
        .args(eal_args(&site.prefix, &vdevs))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish_appliance(
    site: &Site,
    child: std::process::Child,
) -> (serde_json::Value, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "macsec-dataplane failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (
        report,
        read_pcap(&site.path("host_out.pcap")),
        read_pcap(&site.path("line_out.pcap")),
    )
}

fn macsecctl(args: &[&str]) -> std::process::Output {
    Command::new(bin("macsecctl")).args(args).output().unwrap()
}

fn protect_as(
    sci: &str,
    key: &str,
    ssci: &str,
    an: &str,
    pn: &str,
    frames: &[Vec<u8>],
    dir: &Path,
) -> Vec<Vec<u8>> {
    let (i, o) = (dir.join("p_in.pcap"), dir.join("p_out.pcap"));
    write_pcap(&i, frames);
    let r = macsecctl(&[
        "pcap",
        "protect",
        "--cipher-suite",
        "GCM-AES-XPN-256",
        "--sak",
        key,
        "--ssci",
        ssci,
        "--salt",
        SALT,
        "--sci",
        sci,
        "--an",
        an,
        "--pn",
        pn,
        i.to_str().unwrap(),
        o.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    read_pcap(&o)
}

fn sample() -> Vec<Vec<u8>> {
    read_pcap(&data("sample-plain.pcap"))
}

fn counter(report: &serde_json::Value, name: &str) -> u64 {
    report["links"][0]["counters"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name} in {report}"))
}

fn link_counter(report: &serde_json::Value, name: &str) -> u64 {
    report["links"][0]["link_counters"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name} in {report}"))
}

#[test]
fn host_plaintext_leaves_the_line_port_protected() {
    let site = Site::new("prot");
    let plain = sample();
    let (report, host_out, line_out) =
        run_appliance(&site, &config("must-secure", false, true, true), &plain, &[], 1.5);
    assert!(host_out.is_empty());
    assert_eq!(line_out.len(), plain.len());
    assert!(
        line_out.iter().all(|f| f[12..14] == [0x88, 0xe5]),
        "every frame is MACsec"
    );
    assert_eq!(counter(&report, "OutPktsEncrypted"), plain.len() as u64);
    assert_eq!(
        report["links"][0]["sa"]["tx"][0]["next_pn"],
        plain.len() as u64 + 1
    );
    assert_eq!(report["ports"]["net_pcap0"]["rx"], plain.len() as u64);
    assert_eq!(report["ports"]["net_pcap1"]["tx"], plain.len() as u64);

    // macsecctl validates it with the same keys, back to the exact plaintext.
    let recovered = site.path("recovered.pcap");
    let r = macsecctl(&[
        "pcap",
        "validate",
        "--cipher-suite",
        "GCM-AES-XPN-256",
        "--sak",
        KEY_A,
        "--ssci",
        "00000002",
        "--salt",
        SALT,
        "--sci",
        SCI_A,
        site.path("line_out.pcap").to_str().unwrap(),
        recovered.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stdout));
    assert_eq!(read_pcap(&recovered), plain);

    // tshark dissects every frame as MACsec, with no malformed-packet warning.
    if let Ok(o) = Command::new("tshark")
        .args([
            "-r",
            site.path("line_out.pcap").to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "macsec.PN",
            "-e",
            "_ws.malformed",
        ])
        .output()
    {
        let text = String::from_utf8_lossy(&o.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), plain.len());
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(l.trim_end(), (i + 1).to_string(), "tshark: {l}");
        }
    }
}

#[test]
fn line_macsec_arrives_plaintext_and_bad_frames_are_counted() {
    let site = Site::new("val");
    let plain: Vec<Vec<u8>> = (0..6u8)
        .map(|i| frame(0x0800, 100 + i as usize * 50, i))
        .collect();
    let prot = protect_as(SCI_B, KEY_B, "00000001", "1", "1", &plain, site.dir.path());
    let mut tampered = prot[3].clone();
    tampered[40] ^= 0x80;
    let unknown = protect_as(
        "001de5e9cccc0001",
        KEY_B,
        "00000001",
        "1",
        "1",
        &plain[..1],
        site.dir.path(),
    )
    .remove(0);
    let eapol = frame(0x888e, 60, 9);
    let line_in = vec![
        prot[0].clone(),
        prot[1].clone(),
        prot[2].clone(),
        tampered,
        prot[1].clone(),
        unknown,
        frame(0x0800, 80, 1),
        prot[4].clone(),
        prot[5].clone(),
        eapol,
    ];
    let (report, host_out, line_out) = run_appliance(
        &site,
        &config("must-secure", false, true, true),
        &[],
        &line_in,
        1.5,
    );
    assert!(line_out.is_empty());
    assert_eq!(
        host_out,
        vec![
            plain[0].clone(),
            plain[1].clone(),
            plain[2].clone(),
            plain[4].clone(),
            plain[5].clone()
        ]
    );
    assert_eq!(counter(&report, "InPktsOK"), 5);
    assert_eq!(counter(&report, "InPktsNotValid"), 1);
    assert_eq!(counter(&report, "InPktsLate"), 1);
    assert_eq!(counter(&report, "InPktsNoSCI"), 1);
    assert_eq!(counter(&report, "InPktsNoTag"), 1);
    assert_eq!(counter(&report, "InPktsBadTag"), 0);
    assert_eq!(link_counter(&report, "eapol_punted"), 1);
    let rx = &report["links"][0]["sa"]["rx"][0];
    assert_eq!(
        (
            rx["an"].as_u64(),
            rx["next_pn"].as_u64(),
            rx["in_pkts_ok"].as_u64()
        ),
        (Some(1), Some(7), Some(5))
    );
}

#[test]
fn should_secure_passes_clear_only_while_not_secured() {
    let site = Site::new("ss");
    let plain = sample();
    let clear_in: Vec<Vec<u8>> = (0..3u8).map(|i| frame(0x0800, 200, i)).collect();
    let (report, host_out, line_out) = run_appliance(
        &site,
        &config("should-secure", false, false, false),
        &plain,
        &clear_in,
        1.5,
    );
    assert_eq!(line_out, plain, "no SA: host frames leave in the clear");
    assert_eq!(host_out, clear_in, "no SA: clear line frames are delivered");
    assert_eq!(
        (
            counter(&report, "OutPktsUntagged"),
            counter(&report, "InPktsUntagged")
        ),
        (plain.len() as u64, 3)
    );

    // With SAs installed, host frames leave protected only. On the line, clear frames still pass
    // until the peer's first protected frame validates (MKA installs receive SAs before the peer
    // switches its transmit over), and not after it.
    let site = Site::new("ss2");
    let first = frame(0x0800, 120, 7);
    let prot = protect_as(
        SCI_B,
        KEY_B,
        "00000001",
        "1",
        "1",
        std::slice::from_ref(&first),
        site.dir.path(),
    );
    let line_in = vec![
        clear_in[0].clone(),
        prot[0].clone(),
        clear_in[1].clone(),
        clear_in[2].clone(),
    ];
    let (report, host_out, line_out) = run_appliance(
        &site,
        &config("should-secure", false, true, true),
        &plain,
        &line_in,
        1.5,
    );
    assert_eq!(host_out, vec![clear_in[0].clone(), first]);
    assert!(line_out.iter().all(|f| f[12..14] == [0x88, 0xe5]));
    assert_eq!(
        (
            counter(&report, "InPktsUntagged"),
            counter(&report, "InPktsOK"),
            counter(&report, "InPktsNoTag")
        ),
        (1, 1, 2)
    );

    // must-secure without SAs: nothing passes, and the drops are counted.
    let site = Site::new("ms");
    let (report, host_out, line_out) = run_appliance(
        &site,
        &config("must-secure", false, false, false),
        &plain,
        &clear_in,
        1.5,
    );
    assert!(host_out.is_empty() && line_out.is_empty());
    assert_eq!(link_counter(&report, "tx_drop_no_sa"), plain.len() as u64);
    assert_eq!(counter(&report, "InPktsNoTag"), 3);
}

#[test]
fn lacp_in_clear_passes_lacp() {
    let site = Site::new("lacp");
    let plain = sample();
    let lacp = plain.last().unwrap().clone();
    assert_eq!(lacp[12..14], [0x88, 0x09]);
    let (report, host_out, line_out) = run_appliance(
        &site,
        &config("must-secure", true, true, true),
        &plain,
        std::slice::from_ref(&lacp),
        1.5,
    );
    assert_eq!(line_out.len(), plain.len());
    assert_eq!(line_out.last().unwrap(), &lacp, "LACP leaves in the clear");
    assert!(line_out[..plain.len() - 1]
        .iter()
        .all(|f| f[12..14] == [0x88, 0xe5]));
    assert_eq!(host_out, vec![lacp], "LACP from the line is delivered");
    assert_eq!(
        (
            link_counter(&report, "tx_clear"),
            link_counter(&report, "rx_clear")
        ),
        (1, 1)
    );
}

/// vlan-tags-in-clear 2 and an LLDP bypass against captures made independently (Python's
/// `cryptography`, tests/data/clear-tags/make.py): what the host sends leaves the line byte for
/// byte as the capture has it (tags in front of the SecTAG, outside the ICV; LLDP in the clear),
/// and the peer's frames made the same way reach the host as they were sent.
#[test]
fn clear_tags_and_bypass_against_a_capture() {
    let site = Site::new("cleartag");
    let plain = read_pcap(&data("clear-tags/plain.pcap"));
    let from_a = read_pcap(&data("clear-tags/from-a.pcap"));
    let from_b = read_pcap(&data("clear-tags/from-b.pcap"));
    assert_eq!((plain.len(), from_a.len(), from_b.len()), (5, 5, 5));
    let cfg = config("must-secure", false, true, true).replace(
        "lacp_in_clear = false",
        "lacp_in_clear = false\nvlan_tags_in_clear = 2\nbypass_ethertypes = [\"0x88cc\"]",
    );
    let (report, host_out, line_out) = run_appliance(&site, &cfg, &plain, &from_b, 1.5);
    assert_eq!(line_out, from_a, "protected as the capture");
    assert_eq!(host_out, plain, "validated back to the plain frames");
    assert_eq!(
        (
            link_counter(&report, "tx_bypass"),
            link_counter(&report, "rx_bypass"),
            link_counter(&report, "tx_clear"),
            link_counter(&report, "rx_clear")
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(
        (counter(&report, "OutPktsEncrypted"), counter(&report, "InPktsOK")),
        (4, 4)
    );
    // Without the clear tags the same line frames are not MACsec to us: dropped, and the LLDP
    // frame too (must-secure, not listed).
    let site = Site::new("cleartag0");
    let (report, host_out, _) = run_appliance(
        &site,
        &config("must-secure", false, true, true),
        &[],
        &from_b,
        1.5,
    );
    assert_eq!(
        host_out,
        vec![plain[2].clone()],
        "only the untagged frame validates"
    );
    assert_eq!(counter(&report, "InPktsNoTag"), 4);
}

#[test]
fn eapol_reaches_the_control_socket_and_injected_frames_leave_the_line() {
    let site = Site::new("eapol");
    let mkpdus: Vec<Vec<u8>> = (0..2u8).map(|i| frame(0x888e, 90, i)).collect();
    let child = spawn_appliance(
        &site,
        &config("must-secure", false, false, false),
        &[],
        &mkpdus,
        3.0,
    );
    let sock = site.path("ctl.sock");
    let start = Instant::now();
    let mut client = connect_dataplane(&sock);
    assert!(matches!(
        client.request(&Request::Subscribe).unwrap(),
        Response::Ok
    ));
    let mut got = Vec::new();
    while got.len() < 2 && start.elapsed() < Duration::from_secs(20) {
        if let Some(Event::EapolReceived { link, frame }) =
            client.next_event(Duration::from_millis(200)).unwrap()
        {
            assert_eq!(link, "TenGigE0/0/0/1");
            got.push(frame);
        }
    }
    assert_eq!(got, mkpdus);
    let inject = frame(0x888e, 70, 42);
    assert!(matches!(
        client
            .request(&Request::InjectEapol {
                link: "TenGigE0/0/0/1".into(),
                frame: inject.clone()
            })
            .unwrap(),
        Response::Ok
    ));
    let Response::Counters { link, .. } = client
        .request(&Request::ReadCounters {
            link: "TenGigE0/0/0/1".into(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(link.eapol_punted, 2);
    drop(client);
    let (report, _, line_out) = finish_appliance(&site, child);
    assert_eq!(line_out, vec![inject]);
    assert_eq!(link_counter(&report, "eapol_injected"), 1);
}

/// `--idle-sleep-us`: a worker that sleeps when idle protects the same frames into the same
/// octets as one that polls without pause; out of its range the option is a usage error.
#[test]
fn idle_sleep_changes_no_frame() {
    let plain = sample();
    let cfg = config("must-secure", false, true, true);
    let busy = Site::new("busy");
    let (_, _, busy_out) = run_appliance(&busy, &cfg, &plain, &[], 1.5);
    let idle = Site::new("idle");
    let child = spawn_appliance_with(&idle, &cfg, &plain, &[], 1.5, &["--idle-sleep-us", "1000"], &[]);
    let (report, host_out, idle_out) = finish_appliance(&idle, child);
    assert!(host_out.is_empty());
    assert_eq!(idle_out.len(), plain.len());
    assert_eq!(idle_out, busy_out);
    assert_eq!(counter(&report, "OutPktsEncrypted"), plain.len() as u64);

    let o = Command::new(bin("macsec-dataplane"))
        .args(["--config", "x.toml", "--idle-sleep-us", "10001", "--"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("10001 is not in 0..=10000"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A worker lcore that panics is fatal: the process says which lcore and link and why, and
/// exits with status 2 (for its supervisor to restart it) instead of running on with that
/// link stopped and its control socket still answering.
#[test]
fn a_worker_panic_ends_the_process_with_status_2() {
    let site = Site::new("panic");
    let mut child = spawn_appliance_with(
        &site,
        &config("must-secure", false, true, true),
        &sample(),
        &[],
        60.0,
        &[],
        &[("MACSEC_DATAPLANE_TEST_PANIC_AFTER_MS", "300")],
    );
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("the dataplane still runs 15 s after its worker panicked");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("macsec-dataplane: error: worker lcore 1 (link TenGigE0/0/0/1) panicked: test-only panic (MACSEC_DATAPLANE_TEST_PANIC_AFTER_MS); its links stopped, exiting"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no final report after a worker died");
    assert!(!site.path("ctl.sock").exists(), "the control socket is removed");
}

#[test]
fn bad_config_exits_2_without_printing_keys() {
    let site = Site::new("cfg");
    let cfg = site.path("bad.toml");
    std::fs::write(
        &cfg,
        config("must-secure", false, true, true).replace("00000002", "0002"),
    )
    .unwrap();
    let o = Command::new(bin("macsec-dataplane"))
        .arg("--config")
        .arg(&cfg)
        .arg("--")
        .args(eal_args(&site.prefix, &[]))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("SSCI") && !err.contains(KEY_A), "{err}");
}

#[test]
fn sigterm_flushes_closes_and_reports() {
    let site = Site::new("term");
    let plain = sample();
    let child = spawn_appliance(
        &site,
        &config("must-secure", false, true, true),
        &plain,
        &[],
        600.0,
    );
    // Wait until the control socket is up (the workers are running then), then SIGTERM.
    let start = Instant::now();
    while Client::connect(&site.path("ctl.sock")).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "no control socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let (report, _, line_out) = finish_appliance(&site, child);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(
        line_out.len(),
        plain.len(),
        "the line capture is complete: the port was closed"
    );
    assert_eq!(counter(&report, "OutPktsEncrypted"), plain.len() as u64);
    assert!(!site.path("ctl.sock").exists(), "the control socket is removed");
}
