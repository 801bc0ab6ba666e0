//! macsec-dataplane with two workers on one link, on net_pcap virtual devices (issue 16): a
//! sequence-numbered stream of mixed sizes protected, then validated with replay window 0, comes
//! out complete and in order (a replayed frame is counted once); jumbo frames cross end to end and
//! a frame too long for the line is dropped and counted, never truncated or sent in the clear; PN
//! exhaustion at a low threshold uses each PN once and raises the threshold event once. (A rekey
//! in the middle with two workers: tests/dataplane_rekey.rs.)

use ipc::{Event, Request, Response};
use macsec_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const SCI: &str = "001de5e9aa39001a";
const SAK: &str = "000102030405060708090a0b0c0d0e0f";
const SAK256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A link of `suite` on net_pcap0 (host) and net_pcap1 (line) whose Tx SA and Rx SA are the same
/// SA, so that what it protects it also validates.
fn config(suite: &str, workers: u32, mtu: u32, next_pn: u64) -> String {
    let sak = if suite.ends_with("256") { SAK256 } else { SAK };
    let xpn = if suite.contains("XPN") {
        "ssci = \"00000001\"\nsalt = \"83c37bac7b6f6316098ff3d2\"\n"
    } else {
        ""
    };
    format!(
        r#"[[link]]
interface = "TenGigE0/0/0/1"
host_port = "net_pcap0"
line_port = "net_pcap1"
cipher_suite = "{suite}"
security_policy = "must-secure"
replay_window = 0
workers = {workers}
mtu = {mtu}
[[link.tx_sa]]
sci = "{SCI}"
an = 0
sak = "{sak}"
next_pn = {next_pn}
{xpn}[[link.rx_sa]]
sci = "{SCI}"
an = 0
sak = "{sak}"
{xpn}"#
    )
}

struct Run {
    report: serde_json::Value,
    host_out: Vec<Vec<u8>>,
    line_out: Vec<Vec<u8>>,
}

/// Runs the dataplane for `seconds` with `host_in` and `line_in` as the ports' input; `during`
/// runs with the control socket while it runs.
fn run(
    tag: &str,
    cfg: &str,
    host_in: &[Vec<u8>],
    line_in: &[Vec<u8>],
    seconds: f64,
    during: impl FnOnce(&Path),
) -> Run {
    run_with(tag, cfg, host_in, false, line_in, seconds, during)
}

/// [`run`], with the host input read once or (`host_loop`) over and over.
fn run_with(
    tag: &str,
    cfg: &str,
    host_in: &[Vec<u8>],
    host_loop: bool,
    line_in: &[Vec<u8>],
    seconds: f64,
    during: impl FnOnce(&Path),
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let prefix = FilePrefix::new(tag);
    let p = |n: &str| -> PathBuf { dir.path().join(n) };
    std::fs::write(p("dp.toml"), cfg).unwrap();
    write_pcap(&p("host_in.pcap"), host_in);
    write_pcap(&p("line_in.pcap"), line_in);
    let s = |n: &str| p(n).display().to_string();
    let vdevs = vec![
        format!(
            "net_pcap0,rx_pcap={},tx_pcap={}{}",
            s("host_in.pcap"),
            s("host_out.pcap"),
            if host_loop { ",infinite_rx=1" } else { "" }
        ),
        format!(
            "net_pcap1,rx_pcap={},tx_pcap={}",
            s("line_in.pcap"),
            s("line_out.pcap")
        ),
    ];
    let child = Command::new(bin("macsec-dataplane"))
        .args([
            "--config",
            &s("dp.toml"),
            "--duration",
            &seconds.to_string(),
            "--socket",
            &s("ctl.sock"),
            "--",
        ])
        .args(eal_args(&prefix, &vdevs))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    during(&p("ctl.sock"));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Run {
        report: serde_json::from_slice(&out.stdout).unwrap(),
        host_out: read_pcap(&p("host_out.pcap")),
        line_out: read_pcap(&p("line_out.pcap")),
    }
}

fn counter(r: &Run, name: &str) -> u64 {
    r.report["links"][0]["counters"][name].as_u64().unwrap()
}

/// Frame `seq` of the stream: 64 octets mostly, some up to 1500, some jumbo (9000), so that the
/// two workers' bursts take very different times.
fn stream(n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = match i % 101 {
                0..=69 => 64,
                70..=99 => 64 + (i as usize * 53) % 1437,
                _ => 9000,
            };
            let mut f = frame(0x0800, len, i as u8);
            f[14..18].copy_from_slice(&i.to_be_bytes());
            f
        })
        .collect()
}

/// The PN of a line frame (SecTAG octets 16..20).
fn pn(f: &[u8]) -> u32 {
    u32::from_be_bytes([f[16], f[17], f[18], f[19]])
}

#[test]
fn two_workers_keep_a_stream_complete_and_in_order_both_ways() {
    for suite in ["GCM-AES-128", "GCM-AES-XPN-256"] {
        let input = stream(20_000);
        let cfg = config(suite, 2, 9170, 1);
        let a = run("wk", &cfg, &input, &[], 3.0, |_| {});
        assert_eq!(a.report["links"][0]["workers"], 2);
        assert_eq!(
            a.line_out.len(),
            input.len(),
            "{suite}: every frame protected: {}",
            a.report
        );
        let pns: Vec<u32> = a.line_out.iter().map(|f| pn(f)).collect();
        assert!(
            pns.iter().enumerate().all(|(i, &p)| p == i as u32 + 1),
            "{suite}: PNs in wire order"
        );
        assert_eq!(counter(&a, "OutPktsEncrypted"), input.len() as u64);
        // The line as the validating side sees it: frame 5000 again after frame 12000.
        let mut line = a.line_out.clone();
        line.insert(12_001, a.line_out[5000].clone());
        let b = run("wk", &cfg, &[], &line, 3.0, |_| {});
        assert!(
            b.host_out == input,
            "{suite}: the host side gets the stream complete and in order"
        );
        assert_eq!(
            (
                counter(&b, "InPktsOK"),
                counter(&b, "InPktsLate"),
                counter(&b, "InPktsNotValid")
            ),
            (input.len() as u64, 1, 0),
            "{suite}"
        );
    }
}

/// Two host queues (RSS), one per worker, each worker reading its own (two pcap files here): every
/// frame of both is protected, the PNs are in wire order, and each queue's frames keep their order.
#[test]
fn two_host_queues_one_per_worker_keep_each_queue_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = FilePrefix::new("rq");
    let p = |n: &str| dir.path().join(n).display().to_string();
    // Queue q's frames carry q in octet 18 and their sequence number in octets 14..18.
    let queue = |q: u8| -> Vec<Vec<u8>> {
        stream(5000)
            .into_iter()
            .map(|mut f| {
                f[18] = q;
                f
            })
            .collect()
    };
    write_pcap(Path::new(&p("q0.pcap")), &queue(0));
    write_pcap(Path::new(&p("q1.pcap")), &queue(1));
    write_pcap(Path::new(&p("empty.pcap")), &[]);
    let cfg = config("GCM-AES-XPN-256", 2, 9170, 1).replace("mtu = 9170", "mtu = 9170\nhost_queues = 2");
    std::fs::write(p("dp.toml"), cfg).unwrap();
    let vdevs = vec![
        format!(
            "net_pcap0,rx_pcap={},rx_pcap={},tx_pcap={}",
            p("q0.pcap"),
            p("q1.pcap"),
            p("host_out.pcap")
        ),
        format!(
            "net_pcap1,rx_pcap={},tx_pcap={}",
            p("empty.pcap"),
            p("line_out.pcap")
        ),
    ];
    let report = run_dataplane(
        &prefix,
        Path::new(&p("dp.toml")),
        Path::new(&p("ctl.sock")),
        &vdevs,
        3.0,
    );
    let line = read_pcap(Path::new(&p("line_out.pcap")));
    assert_eq!(line.len(), 10_000, "{report}");
    assert!(
        line.iter().enumerate().all(|(i, f)| pn(f) == i as u32 + 1),
        "PNs in wire order"
    );
    // Decrypt them back with a one-worker link and check each queue's order.
    let back = run(
        "rq",
        &config("GCM-AES-XPN-256", 1, 9170, 1),
        &[],
        &line,
        2.0,
        |_| {},
    );
    assert_eq!(back.host_out.len(), 10_000);
    for q in 0..2u8 {
        let seqs: Vec<u32> = back
            .host_out
            .iter()
            .filter(|f| f[18] == q)
            .map(|f| u32::from_be_bytes([f[14], f[15], f[16], f[17]]))
            .collect();
        assert_eq!(seqs, (0..5000).collect::<Vec<u32>>(), "queue {q} in order");
    }
}

/// More links than cores: three links on the EAL's two lcores (1, the main lcore 0, then 1
/// again), each protecting its own stream completely and in PN order.
#[test]
fn three_links_on_two_cores() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = FilePrefix::new("3l");
    let p = |n: &str| dir.path().join(n).display().to_string();
    write_pcap(Path::new(&p("empty.pcap")), &[]);
    let mut cfg = String::new();
    let mut vdevs = Vec::new();
    for k in 0..3u32 {
        write_pcap(Path::new(&p(&format!("in{k}.pcap"))), &stream(3000));
        let link = config("GCM-AES-128", 1, 9170, 1)
            .replace("TenGigE0/0/0/1", &format!("TenGigE0/0/0/{k}"))
            .replace("net_pcap0", &format!("net_pcap{}", 2 * k))
            .replace("net_pcap1", &format!("net_pcap{}", 2 * k + 1))
            .replace("001de5e9aa39001a", &format!("001de5e9aa3900{:02x}", 0x10 + k));
        cfg += &link;
        vdevs.push(format!(
            "net_pcap{},rx_pcap={},tx_pcap={}",
            2 * k,
            p(&format!("in{k}.pcap")),
            p(&format!("h{k}.pcap"))
        ));
        vdevs.push(format!(
            "net_pcap{},rx_pcap={},tx_pcap={}",
            2 * k + 1,
            p("empty.pcap"),
            p(&format!("l{k}.pcap"))
        ));
    }
    std::fs::write(p("dp.toml"), cfg).unwrap();
    let report = run_dataplane(
        &prefix,
        Path::new(&p("dp.toml")),
        Path::new(&p("ctl.sock")),
        &vdevs,
        3.0,
    );
    let lcores: Vec<&serde_json::Value> = (0..3).map(|k| &report["links"][k]["lcores"]).collect();
    assert_eq!(
        lcores,
        [
            &serde_json::json!([1]),
            &serde_json::json!([0]),
            &serde_json::json!([1])
        ]
    );
    for k in 0..3 {
        let line = read_pcap(Path::new(&p(&format!("l{k}.pcap"))));
        assert_eq!(line.len(), 3000, "link {k}: {report}");
        assert!(
            line.iter().enumerate().all(|(i, f)| pn(f) == i as u32 + 1),
            "link {k}: PNs in order"
        );
    }
}

#[test]
fn jumbo_frames_cross_and_a_frame_too_long_is_dropped_and_counted() {
    // Host MTU 9170: a 9184-octet host frame is a 9216-octet line frame.
    let jumbo: Vec<Vec<u8>> = (0..64u32).map(|i| frame(0x0800, 9184, i as u8)).collect();
    let cfg = config("GCM-AES-XPN-256", 2, 9170, 1);
    let a = run("jb", &cfg, &jumbo, &[], 2.0, |_| {});
    assert_eq!(a.line_out.len(), 64);
    assert!(a.line_out.iter().all(|f| f.len() == 9216));
    let b = run("jb", &cfg, &[], &a.line_out, 2.0, |_| {});
    assert!(b.host_out == jumbo);
    // Host MTU 1500 (line 1532, frames up to 1550 octets): a 1519-octet host frame would be 1551
    // on the line. It is dropped and counted; its neighbours pass.
    let mut mixed = vec![
        frame(0x0800, 1518, 1),
        frame(0x0800, 1519, 2),
        frame(0x0800, 64, 3),
    ];
    mixed.push(frame(0x0800, 9184, 4));
    let cfg = config("GCM-AES-XPN-256", 2, 1500, 1);
    let c = run("jb", &cfg, &mixed, &[], 2.0, |_| {});
    let lens: Vec<usize> = c.line_out.iter().map(|f| f.len()).collect();
    assert_eq!(lens, vec![1518 + 32, 64 + 32]);
    assert!(
        c.line_out.iter().all(|f| f[12..14] == [0x88, 0xe5]),
        "nothing in the clear"
    );
    assert_eq!(counter(&c, "OutPktsTooLong"), 2);
    assert_eq!(counter(&c, "OutPktsEncrypted"), 2);
}

#[test]
fn pn_exhaustion_with_two_workers_uses_each_pn_once_and_says_it_once() {
    // The host port replays 3 frames endlessly; the Tx SA comes (over the control socket, once
    // subscribed to events) with 4096 PNs left: exactly 4096 frames leave, with PNs 2^32 - 4096 ..
    // 2^32 - 1 in order, and the threshold event (0xC0000000 is behind) comes once.
    let input: Vec<Vec<u8>> = (0..3u32)
        .map(|i| frame(0x0800, 64 + i as usize * 700, i as u8))
        .collect();
    let first = 0x1_0000_0000u64 - 4096;
    let cfg = config("GCM-AES-128", 2, 9170, 1).replace(
        &format!("[[link.tx_sa]]\nsci = \"{SCI}\"\nan = 0\nsak = \"{SAK}\"\nnext_pn = 1\n"),
        "",
    );
    assert!(!cfg.contains("tx_sa"));
    let mut events = Vec::new();
    let a = run_with("pn", &cfg, &input, true, &[], 3.0, |sock| {
        let mut c = connect_dataplane(sock);
        assert!(matches!(c.request(&Request::Subscribe).unwrap(), Response::Ok));
        let link = "TenGigE0/0/0/1".to_string();
        let key = ipc::KeyMsg {
            sak: hex::decode(SAK).unwrap().into(),
            ssci: 0,
            salt: [0; 12],
            ki: None,
        };
        for r in [
            Request::InstallTxSa {
                link: link.clone(),
                an: 1,
                key,
                next_pn: first,
            },
            Request::EnableTxSa { link, an: Some(1) },
        ] {
            assert!(matches!(c.request(&r).unwrap(), Response::Ok), "{r:?}");
        }
        while let Ok(Some(ev)) = c.next_event(Duration::from_millis(1500)) {
            events.push(ev);
        }
    });
    let pns: Vec<u64> = a.line_out.iter().map(|f| u64::from(pn(f))).collect();
    assert_eq!(pns, (first..0x1_0000_0000).collect::<Vec<u64>>());
    assert!(a
        .line_out
        .iter()
        .all(|f| f[12..14] == [0x88, 0xe5] && f[14] & 3 == 1));
    assert_eq!(counter(&a, "OutPktsEncrypted"), 4096);
    let thresholds: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::PnThreshold { .. }))
        .collect();
    assert_eq!(thresholds.len(), 1, "{events:?}");
    assert!(matches!(thresholds[0], Event::PnThreshold { an: 1, .. }));
}
