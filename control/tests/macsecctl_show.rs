//! `macsecctl show ...` end to end against a stand-in macsecd (control::ctl_server with fixed
//! answers): abbreviated words, interface names in any form, every view in text and JSON, and
//! clear errors.

use control::ctl_server::{self, Handler};
use control::show::*;
use ipc::sock::{Access, SockCounters};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const LINK: &str = "TenGigE0/0/0/1";

fn data() -> ShowData {
    let cfg = "key chain kc1\n macsec\n  key 01\n   key-string 135bd758b0ee5c11c55ff6ab19fdb199 cryptographic-algorithm aes-128-cmac\n   lifetime 00:00:00 january 01 2020 infinite\n  !\n !\n!\nmacsec-policy mp1\n window-size 64\n!\ninterface Te0/0/0/1\n macsec psk-keychain kc1 policy mp1\n!\n";
    let config = control::config::Config::parse(cfg).expect("config");
    let d = ShowData {
        sessions: vec![SessionRow {
            interface: LINK.into(),
            local_tx_sci: 0x001d_e5e9_aa39_0001,
            peers: 0,
            status: "Init".into(),
            key_server: false,
            auth_mode: "PRIMARY-PSK".into(),
            ckn: "01".into(),
            live_peers: vec![],
            icv_failures: 4,
            latest_kn: None,
            latest_an: None,
            key_distribution_mode: "SAK".into(),
            ppk_key_id: None,
            ppk_failure: None,
            sak_refused: None,
            not_secured_reason: Some(
                "ICV failures: 4 MKPDUs with CKN 01 failed ICV validation (likely CAK mismatch)".into(),
            ),
            not_secured_code: Some("icv-failures".into()),
            secured_since_ms: None,
            detail: vec![SessionDetail {
                status: "Init - MKA Session initialized, no peer heard".into(),
                not_secured_reason: Some(
                    "ICV failures: 4 MKPDUs with CKN 01 failed ICV validation (likely CAK mismatch)".into(),
                ),
                interface: LINK.into(),
                ckn: "01".into(),
                icv_failures: 4,
                ..SessionDetail::default()
            }],
        }],
        interfaces: vec![InterfaceRow {
            interface: LINK.into(),
            local_tx_sci: 0x001d_e5e9_aa39_0001,
            policy: "mp1".into(),
            cipher_suite: "GCM-AES-XPN-256".into(),
            key_server_priority: 16,
            keychain: "kc1".into(),
            fallback_keychain: None,
            status: "Init".into(),
            cas: vec![],
            not_secured_reason: Some(
                "no active key: no key of the key chain is valid now (expired or not yet started)".into(),
            ),
        }],
        summary: vec![SummaryRow {
            interface: LINK.into(),
            status: "Init".into(),
            cipher_suite: "GCM-AES-XPN-256".into(),
            keychain: "kc1".into(),
        }],
        statistics: vec![(
            LINK.into(),
            mka::kay::MkaStats {
                icv_failures: 4,
                ..Default::default()
            },
        )],
        ..ShowData::default()
    };
    d.with_config(&config, 1_700_000_000)
}

struct Served {
    path: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("macsecd.sock");
    let access = Access::default();
    let listener = ctl_server::bind(&path, &access).unwrap();
    let handler: Handler = Arc::new(|req: &serde_json::Value| {
        let link = req["interface"].as_str().unwrap_or("");
        match req["show"].as_str() {
            Some("mka-session") => serde_json::to_value(data()).unwrap(),
            Some(_) if link != LINK => serde_json::json!({ "error": format!("no link {link}") }),
            Some("ea-idb") => {
                serde_json::json!({ "sa": ipc::SaState { tx_sci: 0x001d_e5e9_aa39_0001, ..Default::default() } })
            }
            Some("secy-statistics") => {
                serde_json::json!({ "secy": { "InPktsOK": 1 }, "link": { "eapol_punted": 2 } })
            }
            _ => serde_json::json!({ "error": "unknown view" }),
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    std::thread::spawn(move || {
        ctl_server::serve(listener, access, Arc::new(SockCounters::default()), handler, s)
    });
    Served {
        path,
        stop,
        _dir: dir,
    }
}

/// `macsecctl ARGS --socket S`: (exit code, stdout, stderr).
fn ctl(s: &Served, args: &str) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_macsecctl"))
        .args(args.split_whitespace())
        .arg("--socket")
        .arg(&s.path)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_view_abbreviated_and_in_full() {
    let s = serve();
    let (rc, out, err) = ctl(&s, "sh mac mka sess det");
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("Status: Init - MKA Session initialized, no peer heard\nWhy Not Secured                : ICV failures: 4"), "{out}");
    assert!(
        out.contains("Interface Name                 : Te0/0/0/1\n"),
        "{out}"
    );
    for words in [
        "show macsec mka session interface Te0/0/0/1",
        "sh mac mka sess int TenGigE 0/0/0/1",
        "show macsec mka session interface tengige0/0/0/1",
    ] {
        let (rc, out, err) = ctl(&s, words);
        assert_eq!(rc, 0, "{words}: {err}");
        assert!(out.starts_with("=====\nInterface"), "{words}: {out}");
        assert!(
            out.contains("Te0/0/0/1           001d.e5e9.aa39/0001   0         Init      NO\n"),
            "{words}: {out}"
        );
    }
    let (_, out, _) = ctl(&s, "sh mac mka summ");
    assert!(
        out.contains("Te0/0/0/1           Init") && out.contains("Pending Sessions : 1"),
        "{out}"
    );
    let (_, out, _) = ctl(&s, "sh mac mka stat");
    assert!(
        out.contains("MKA Statistics for Session on interface (Te0/0/0/1)")
            && out.contains("MKPDU Rx Validation (ICV) ..... 4"),
        "{out}"
    );
    let (_, out, _) = ctl(&s, "sh mac secy stat int Te0/0/0/1");
    assert!(out.contains("InPktsOK") && out.contains("eapol_punted"), "{out}");
    let (_, out, _) = ctl(&s, "sh mac secy stat");
    assert!(out.contains("Interface : TenGigE0/0/0/1"), "{out}");
    let (rc, out, err) = ctl(&s, "sh mac ea idb int Te0/0/0/1");
    assert_eq!(rc, 0, "{err}");
    assert!(out.starts_with("IDB Details:\nif_sname : Te0/0/0/1\n"), "{out}");
    for words in [
        "sh mac pl h",
        "sh mac plat hard sa",
        "sh mac plat hard flow",
        "sh mac plat hard stats",
        "sh mac plat hard msc loc 0/0/CPU0",
    ] {
        let (rc, out, err) = ctl(&s, words);
        assert_eq!(rc, 0, "{words}: {err}");
        assert!(!out.is_empty(), "{words}");
    }
    let (rc, _, err) = ctl(&s, "sh mac plat hard sa 0x80010000");
    assert_eq!(rc, 2, "no such SA");
    assert!(err.contains("no SA 0x80010000"), "{err}");
    let (_, out, _) = ctl(&s, "show run");
    assert!(
        out.contains("key-string <removed>") && !out.contains("135bd758"),
        "{out}"
    );
    assert!(
        out.contains("interface TenGigE0/0/0/1\n  macsec psk-keychain kc1 policy mp1\n!\n"),
        "{out}"
    );
    let (_, out, _) = ctl(&s, "show run int Te0/0/0/1");
    assert_eq!(
        out,
        "interface TenGigE0/0/0/1\n  macsec psk-keychain kc1 policy mp1\n!\n"
    );
    let (_, out, _) = ctl(&s, "show run macsec-policy mp1");
    assert_eq!(out, "macsec-policy mp1\n  window-size 64\n!\n");
    let (_, out, _) = ctl(&s, "show run key chain kc1");
    assert!(out.starts_with("key chain kc1\n"), "{out}");
    let (_, out, _) = ctl(&s, "sh mac mka int Te0/0/0/1 det");
    assert!(out.contains("    Status                      : Init\n    Why Not Secured             : no active key: no key of the key chain is valid now (expired or not yet started)\n    PSK Info:\n        *** No Active Keys Present ***\n"), "{out}");
    let (_, out, _) = ctl(&s, "sh mac pol");
    assert!(out.contains("mp1"), "{out}");
}

#[test]
fn json_views_keep_their_shape() {
    let s = serve();
    let (_, out, _) = ctl(&s, "show macsec mka session --json");
    let rows: Vec<SessionRow> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0].not_secured_code.as_deref(), Some("icv-failures"));
    let (_, out, _) = ctl(&s, &format!("show macsec mka statistics interface {LINK} --json"));
    let st: mka::kay::MkaStats = serde_json::from_str(&out).unwrap();
    assert_eq!(st.icv_failures, 4);
    let (_, out, _) = ctl(
        &s,
        &format!("show macsec secy statistics interface {LINK} --json"),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["secy"]["InPktsOK"], 1);
    let (_, out, _) = ctl(&s, &format!("show macsec ea idb interface {LINK} --json"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["sa"].is_object(), "{v}");
    for words in [
        "show macsec mka summary --json",
        "show macsec mka interface --json",
        "show run --json",
        "show mac pl h sa --json",
    ] {
        let (rc, out, err) = ctl(&s, words);
        assert_eq!(rc, 0, "{words}: {err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{words}: {e}: {out}"));
    }
}

#[test]
fn errors_name_the_choices() {
    let s = serve();
    let (rc, _, err) = ctl(&s, "show macsec mka s");
    assert_eq!(rc, 2);
    assert!(
        err.contains("Ambiguous command 's'") && err.contains("session, summary, statistics"),
        "{err}"
    );
    let (rc, _, err) = ctl(&s, "show macsec mka session interface Hu0/0/0/9");
    assert_eq!(rc, 2);
    assert!(
        err.contains("interface HundredGigE0/0/0/9 does not run MACsec (configured: TenGigE0/0/0/1)"),
        "{err}"
    );
    let (rc, _, err) = ctl(&s, "show bogus");
    assert_eq!(rc, 2);
    assert!(
        err.contains("expected one of: macsec, running-config, key, crypto"),
        "{err}"
    );
}

/// `macsecctl` with no command: the shell, here fed on standard input.
#[test]
fn the_shell_runs_commands_until_exit() {
    use std::io::Write;
    let s = serve();
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_macsecctl"))
        .arg("--socket")
        .arg(&s.path)
        .env("HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"sh mac mka summ\nsh mac foo\nsh mac mka ?\nsh mac mka sess --json\nbogus\nexit\nsh mac mka summ\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert_eq!(
        out.matches("Total MACSec Sessions : 1").count(),
        1,
        "nothing after exit: {out}"
    );
    assert!(
        out.contains("  session\n  interface\n  summary\n  statistics\n"),
        "{out}"
    );
    assert!(out.contains("\"not_secured_code\":\"icv-failures\""), "{out}");
    assert!(err.contains("% Invalid input 'foo' after 'show macsec'"), "{err}");
    assert!(err.contains("% Invalid input 'bogus' at the start"), "{err}");
}
