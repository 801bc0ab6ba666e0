//! `macsec-dataplane --latency` on net_pcap: the per-frame latency histograms count exactly the
//! frames forwarded in each direction (protect host → line, validate line → host), report ordered
//! percentiles in ns, and are absent from the exit JSON without the flag.

use macsec_tests::*;
use std::process::Command;

const SCI_A: &str = "001de5e9aa39001a";
const KEY_A: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const SALT: &str = "83c37bac7b6f6316098ff3d2";

fn config() -> String {
    format!(
        r#"[[link]]
interface = "TenGigE0/0/0/1"
host_port = "net_pcap0"
line_port = "net_pcap1"
cipher_suite = "GCM-AES-XPN-256"
security_policy = "must-secure"
[[link.tx_sa]]
sci = "{SCI_A}"
an = 0
sak = "{KEY_A}"
ssci = "00000002"
salt = "{SALT}"
[[link.rx_sa]]
sci = "{SCI_A}"
an = 0
sak = "{KEY_A}"
ssci = "00000002"
salt = "{SALT}"
"#
    )
}

/// Runs the appliance on net_pcap ports; returns the report and the host and line tx captures.
fn run_appliance(
    tag: &str,
    latency: bool,
    host_in: &[Vec<u8>],
    line_in: &[Vec<u8>],
) -> (serde_json::Value, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = FilePrefix::new(tag);
    let p = |n: &str| dir.path().join(n).display().to_string();
    std::fs::write(p("dp.toml"), config()).unwrap();
    write_pcap(&dir.path().join("host_in.pcap"), host_in);
    write_pcap(&dir.path().join("line_in.pcap"), line_in);
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
    let mut cmd = Command::new(bin("macsec-dataplane"));
    cmd.args([
        "--config",
        &p("dp.toml"),
        "--duration",
        "1",
        "--socket",
        &p("ctl.sock"),
    ]);
    if latency {
        cmd.arg("--latency");
    }
    let out = cmd.arg("--").args(eal_args(&prefix, &vdevs)).output().unwrap();
    assert!(
        out.status.success(),
        "macsec-dataplane failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (
        report,
        read_pcap(&dir.path().join("host_out.pcap")),
        read_pcap(&dir.path().join("line_out.pcap")),
    )
}

fn check_summary(s: &serde_json::Value, count: u64) {
    assert_eq!(s["count"], count, "{s}");
    let v = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("no {k} in {s}"));
    assert!(
        v("p50_ns") > 0
            && v("p50_ns") <= v("p99_ns")
            && v("p99_ns") <= v("p99_9_ns")
            && v("p99_9_ns") <= v("max_ns"),
        "{s}"
    );
    // Frames from a pcap file cross the dataplane in well under a second.
    assert!(v("max_ns") < 1_000_000_000, "{s}");
}

#[test]
fn latency_histograms_count_the_frames_forwarded_each_way() {
    let plain = read_pcap(&data("sample-plain.pcap"));
    let n = plain.len() as u64;
    assert!(n > 0);

    // Host → line: every frame protected, and counted once in the protect histogram.
    let (report, host_out, line_out) = run_appliance("lat", true, &plain, &[]);
    let link = &report["links"][0];
    assert!(host_out.is_empty());
    assert_eq!(line_out.len() as u64, n);
    assert_eq!(link["counters"]["OutPktsEncrypted"], n);
    check_summary(&link["latency"]["protect"], n);
    assert_eq!(link["latency"]["validate"]["count"], 0);
    assert!(link["latency"]["tsc_hz"].as_u64().is_some_and(|hz| hz > 0));

    // Line → host: the protected frames validated back, counted in the validate histogram; the
    // last one tampered with, dropped and so not counted.
    let mut line_in = line_out.clone();
    let bad = line_in.last_mut().unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let (report, host_out, line_out2) = run_appliance("lat", true, &[], &line_in);
    let link = &report["links"][0];
    assert_eq!(host_out, plain[..plain.len() - 1]);
    assert!(line_out2.is_empty());
    assert_eq!(link["counters"]["InPktsOK"], n - 1);
    assert_eq!(link["counters"]["InPktsNotValid"], 1);
    check_summary(&link["latency"]["validate"], n - 1);
    assert_eq!(link["latency"]["protect"]["count"], 0);

    // Off by default: no histogram, no `latency` in the report.
    let (report, _, line_out3) = run_appliance("lat", false, &plain, &[]);
    assert_eq!(line_out3.len() as u64, n);
    assert!(report["links"][0].get("latency").is_none(), "{report}");
}
