//! `macsecctl pcap` end to end: the binary protects the published vectors' plaintext to the exact
//! published frames and validates them back; errors give the documented exit codes.

use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn vectors(name: &str) -> Vec<Value> {
    let path = format!("{}/../tests/data/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["vectors"].as_array().unwrap().clone()
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(
            Duration::from_millis(i as u64),
            f.len() as u32,
            f,
        ))
        .unwrap();
    }
}

fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let mut r = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.unwrap().data.into_owned());
    }
    out
}

fn macsecctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_macsecctl"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Dir(tempfile::TempDir);
impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// The key arguments of a vector, as strings.
fn key_args(v: &Value) -> Vec<String> {
    let i = &v["inputs"];
    let mut a = vec![
        "--cipher-suite".into(),
        v["cipher_suite"].as_str().unwrap().into(),
        "--sak".into(),
        i["sak"].as_str().unwrap().into(),
    ];
    if let Some(ssci) = i.get("ssci") {
        a.extend([
            "--ssci".into(),
            ssci.as_str().unwrap().into(),
            "--salt".into(),
            i["salt"].as_str().unwrap().into(),
        ]);
    }
    a.extend(["--conf-offset".into(), i["confidentiality_offset"].to_string()]);
    a
}

#[test]
fn protects_and_validates_every_vector() {
    let d = Dir::new();
    let mut all = vectors("macsec_frames.json");
    all.extend(vectors("conf_offset_frames.json"));
    let mut checked = 0;
    for v in all.iter().filter(|v| v["inputs"].get("clear_tags").is_none()) {
        let i = &v["inputs"];
        let tci = u8::from_str_radix(i["tci_an"].as_str().unwrap(), 16).unwrap();
        let plain = hex::decode(i["unprotected_frame"].as_str().unwrap()).unwrap();
        let expected = hex::decode(v["expected"]["protected_frame"].as_str().unwrap()).unwrap();
        let (pin, pout, vout) = (d.path("in.pcap"), d.path("prot.pcap"), d.path("plain.pcap"));
        write_pcap(&pin, std::slice::from_ref(&plain));
        for backend in ["ring", "rustcrypto"] {
            let pn = format!("0x{}", i["pn"].as_str().unwrap());
            let mut args: Vec<String> = vec!["pcap".into(), "protect".into()];
            args.extend(key_args(v));
            args.extend([
                "--backend".into(),
                backend.into(),
                "--sci".into(),
                i["sci"].as_str().unwrap().into(),
                "--an".into(),
                i["an"].to_string(),
                "--pn".into(),
                pn.clone(),
            ]);
            if tci & 0x08 == 0 {
                args.push("--integrity-only".into());
            }
            if tci & 0x20 == 0 {
                args.push("--no-sci".into());
                if tci & 0x40 != 0 {
                    args.push("--es".into());
                }
                if tci & 0x10 != 0 {
                    args.push("--scb".into());
                }
            }
            args.extend([s(&pin).into(), s(&pout).into()]);
            let o = macsecctl(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(
                o.status.success(),
                "{}: {}",
                v["name"],
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(read_pcap(&pout), vec![expected.clone()], "{}", v["name"]);

            let mut args: Vec<String> = vec!["pcap".into(), "validate".into()];
            args.extend(key_args(v));
            args.extend([
                "--backend".into(),
                backend.into(),
                "--sci".into(),
                i["sci"].as_str().unwrap().into(),
                "--lowest-pn".into(),
                pn,
                "--json".into(),
                s(&pout).into(),
                s(&vout).into(),
            ]);
            let o = macsecctl(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(
                o.status.success(),
                "{}: {}",
                v["name"],
                String::from_utf8_lossy(&o.stderr)
            );
            let report: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(report["counters"]["InPktsOK"], 1);
            assert_eq!(read_pcap(&vout), vec![plain.clone()]);
        }
        checked += 1;
    }
    assert_eq!(checked, 43 + 6);
}

/// A stream of 6 frames across the 2^32 PN boundary (XPN), with one tampered and one replayed:
/// exit 1, exact counters, and only the good frames in the output.
#[test]
fn xpn_stream_with_tamper_and_replay() {
    let d = Dir::new();
    let plain: Vec<Vec<u8>> = (0..6u8)
        .map(|i| {
            let mut f = vec![0x01, 0x80, 0xc2, 0, 0, 0x10, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];
            f.extend((0..100).map(|j| j as u8 ^ i));
            f
        })
        .collect();
    let key = [
        "--cipher-suite",
        "gcm-aes-xpn-256",
        "--sak",
        &"ab".repeat(32),
        "--ssci",
        "00000002",
        "--salt",
        "83c37bac7b6f6316098ff3d2",
    ];
    let (pin, pout, vin, vout) = (
        d.path("in.pcap"),
        d.path("prot.pcap"),
        d.path("mixed.pcap"),
        d.path("plain.pcap"),
    );
    write_pcap(&pin, &plain);
    let mut a = vec!["pcap", "protect"];
    a.extend(key);
    a.extend([
        "--sci",
        "001de5e9aa39001a",
        "--an",
        "2",
        "--pn",
        "0xfffffffd",
        s(&pin),
        s(&pout),
    ]);
    let o = macsecctl(&a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("OutPktsEncrypted     6"));
    let mut prot = read_pcap(&pout);
    assert_eq!(prot.len(), 6);
    // PNs on the wire: fffffffd fffffffe ffffffff 00000000 00000001 00000002
    assert_eq!(&prot[3][16..20], &[0, 0, 0, 0]);
    prot[4][40] ^= 0x01;
    let replay = prot[1].clone();
    prot.push(replay);
    write_pcap(&vin, &prot);
    let mut a = vec!["pcap", "validate"];
    a.extend(key);
    a.extend([
        "--lowest-pn",
        "0xfffffff0",
        "--replay-window",
        "16",
        "--json",
        s(&vin),
        s(&vout),
    ]);
    let o = macsecctl(&a);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            r["frames_in"].as_u64(),
            r["frames_out"].as_u64(),
            r["failures"].as_u64()
        ),
        (Some(7), Some(5), Some(2))
    );
    assert_eq!(r["counters"]["InPktsOK"], 5);
    assert_eq!(r["counters"]["InPktsNotValid"], 1);
    assert_eq!(r["counters"]["InPktsLate"], 1);
    let out = read_pcap(&vout);
    assert_eq!(
        out,
        vec![
            plain[0].clone(),
            plain[1].clone(),
            plain[2].clone(),
            plain[3].clone(),
            plain[5].clone()
        ]
    );
}

#[test]
fn reads_pcapng() {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::DataLink;
    let d = Dir::new();
    let v = &vectors("macsec_frames.json")[0];
    let prot = hex::decode(v["expected"]["protected_frame"].as_str().unwrap()).unwrap();
    let ng = d.path("in.pcapng");
    let mut w = PcapNgWriter::new(std::fs::File::create(&ng).unwrap()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0,
        options: vec![],
    })
    .unwrap();
    w.write_pcapng_block(EnhancedPacketBlock {
        interface_id: 0,
        timestamp: Duration::from_secs(1),
        original_len: prot.len() as u32,
        data: prot.clone().into(),
        options: vec![],
    })
    .unwrap();
    drop(w);
    let out = d.path("out.pcap");
    let mut a: Vec<String> = vec!["pcap".into(), "validate".into()];
    a.extend(key_args(v));
    a.extend(["--lowest-pn".into(), "1".into(), s(&ng).into(), s(&out).into()]);
    let o = macsecctl(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("InPktsOK             1"));
    assert_eq!(
        read_pcap(&out),
        vec![hex::decode(v["inputs"]["unprotected_frame"].as_str().unwrap()).unwrap()]
    );
}

#[test]
fn errors_exit_2_with_one_line() {
    let d = Dir::new();
    let pin = d.path("in.pcap");
    write_pcap(&pin, &[vec![0u8; 60]]);
    let out = d.path("out.pcap");
    let sak = "00".repeat(16);
    // Keys from files: a key on the command line adds its warning line.
    let (sakf, short) = (d.path("sak"), d.path("short"));
    std::fs::write(&sakf, &sak).unwrap();
    std::fs::write(&short, "00\n").unwrap();
    let garbage = d.path("garbage");
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "pcap",
            "validate",
            "--cipher-suite",
            "gcm-aes-128",
            "--sak-file",
            s(&short),
            s(&pin),
            s(&out),
        ],
        vec![
            "pcap",
            "validate",
            "--cipher-suite",
            "gcm-aes-xpn-128",
            "--sak-file",
            s(&sakf),
            s(&pin),
            s(&out),
        ],
        vec![
            "pcap",
            "validate",
            "--cipher-suite",
            "gcm-aes-128",
            "--sak-file",
            s(&sakf),
            "/nonexistent/x.pcap",
            s(&out),
        ],
        vec![
            "pcap",
            "validate",
            "--cipher-suite",
            "gcm-aes-128",
            "--sak-file",
            s(&sakf),
            "--conf-offset",
            "20",
            s(&pin),
            s(&out),
        ],
        vec![
            "pcap",
            "validate",
            "--cipher-suite",
            "gcm-aes-512",
            "--sak-file",
            s(&sakf),
            s(&pin),
            s(&out),
        ],
        vec![
            "pcap",
            "protect",
            "--cipher-suite",
            "gcm-aes-128",
            "--sak-file",
            s(&sakf),
            "--sci",
            "0011",
            "--an",
            "0",
            "--pn",
            "1",
            s(&pin),
            s(&out),
        ],
        vec![
            "pcap",
            "protect",
            "--cipher-suite",
            "gcm-aes-128",
            "--sak-file",
            s(&sakf),
            "--sci",
            "0011223344550001",
            "--an",
            "0",
            "--pn",
            "0x100000000",
            s(&pin),
            s(&out),
        ],
        vec![
            "pcap",
            "validate",
            "--cipher-suite",
            "gcm-aes-128",
            "--sak-file",
            s(&sakf),
            s(&garbage),
            s(&out),
        ],
    ];
    std::fs::write(&garbage, b"this is not a capture file").unwrap();
    for c in cases {
        let o = macsecctl(&c);
        assert_eq!(o.status.code(), Some(2), "{c:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains(&sak), "{err}");
        if !c
            .iter()
            .any(|a| a.starts_with("gcm-aes-512") || *a == "0011" || *a == "20")
        {
            assert_eq!(err.trim_end().lines().count(), 1, "{c:?}: {err}");
        }
    }
    // An untagged frame under Strict validation: not an error of usage, just not valid (exit 1).
    let o = macsecctl(&[
        "pcap",
        "validate",
        "--cipher-suite",
        "gcm-aes-128",
        "--sak-file",
        s(&sakf),
        s(&pin),
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("InPktsNoTag          1"));
}

/// `--sak-file PATH` and `--sak-file -` (standard input) protect to the same octets as `--sak HEX`;
/// only the command-line form warns; both at once, or a missing file, are usage errors (exit 2)
/// that name the option and never print the key.
#[test]
fn sak_from_a_file_or_stdin() {
    let d = Dir::new();
    // The first vector with confidentiality and an explicit SCI (no more options needed).
    let all = vectors("macsec_frames.json");
    let v = all
        .iter()
        .find(|v| {
            let tci = u8::from_str_radix(v["inputs"]["tci_an"].as_str().unwrap(), 16).unwrap();
            tci & 0x28 == 0x28 && v["inputs"].get("clear_tags").is_none()
        })
        .unwrap();
    let i = &v["inputs"];
    let sak = i["sak"].as_str().unwrap().to_string();
    let plain = hex::decode(i["unprotected_frame"].as_str().unwrap()).unwrap();
    let expected = hex::decode(v["expected"]["protected_frame"].as_str().unwrap()).unwrap();
    let pin = d.path("in.pcap");
    write_pcap(&pin, std::slice::from_ref(&plain));
    let sakf = d.path("sak.hex");
    std::fs::write(&sakf, format!("{sak}\n")).unwrap();
    let pn = format!("0x{}", i["pn"].as_str().unwrap());
    // The vector's arguments with the key as `key` (e.g. ["--sak", HEX]).
    let args = |key: &[&str], out: &Path| -> Vec<String> {
        let mut a: Vec<String> = vec!["pcap".into(), "protect".into()];
        let mut ka = key_args(v);
        let at = ka.iter().position(|x| x == "--sak").unwrap();
        ka.splice(at..at + 2, key.iter().map(|k| k.to_string()));
        a.extend(ka);
        a.extend(["--sci".into(), i["sci"].as_str().unwrap().into()]);
        a.extend(["--an".into(), i["an"].to_string(), "--pn".into(), pn.clone()]);
        a.extend([s(&pin).into(), s(out).into()]);
        a
    };
    let run = |a: &[String], stdin: Option<&str>| -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_macsecctl"));
        c.args(a)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        });
        let mut child = c.spawn().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let warning = "warning: --sak on the command line is readable by other local users (/proc/PID/cmdline); use --sak-file\n";

    let (o1, o2, o3) = (d.path("1.pcap"), d.path("2.pcap"), d.path("3.pcap"));
    let r = run(&args(&["--sak", &sak], &o1), None);
    assert_eq!(r.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&r.stderr), warning);
    let r = run(&args(&["--sak-file", s(&sakf)], &o2), None);
    assert_eq!(r.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&r.stderr), "");
    let r = run(&args(&["--sak-file", "-"], &o3), Some(&format!("  {sak}\n")));
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(String::from_utf8_lossy(&r.stderr), "");
    for o in [&o1, &o2, &o3] {
        assert_eq!(read_pcap(o), vec![expected.clone()]);
    }

    let both = run(&args(&["--sak", &sak, "--sak-file", s(&sakf)], &o1), None);
    assert_eq!(both.status.code(), Some(2));
    let err = String::from_utf8_lossy(&both.stderr);
    assert!(
        err.contains("'--sak <SAK>' cannot be used with '--sak-file <PATH>'"),
        "{err}"
    );
    let neither = run(&args(&[], &o1), None);
    assert_eq!(neither.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&neither.stderr).contains("<--sak <SAK>|--sak-file <PATH>>"));
    let missing = run(&args(&["--sak-file", "/nonexistent/sak"], &o1), None);
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(
        err.trim_end(),
        "macsecctl: error: --sak-file /nonexistent/sak: No such file or directory (os error 2)"
    );
    std::fs::write(&sakf, "zz\n").unwrap();
    let bad = run(&args(&["--sak-file", s(&sakf)], &o1), None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&bad.stderr).contains(&sak));
}
