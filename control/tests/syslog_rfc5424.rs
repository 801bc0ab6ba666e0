//! macsecd's RFC 5424 messages ([`control::syslog`]) as a syslog daemon receives them: on a Unix
//! datagram socket the test binds itself, byte for byte (but the timestamp, host name and pid,
//! checked by their form); and from the macsecd binary with `--syslog SOCKET`.

use control::log::{DaemonEvent, LogEvent, PortEvent};
use control::syslog::Syslog;
use macsec::secy::Sci;
use mka::kay::MkaEvent;
use mka::{Ckn, Ki, Mi};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

const CKN: &str = "A1B2C3D4E5F60718293A4B5C6D7E8F90";

fn ckn() -> Ckn {
    Ckn::from_hex(CKN).unwrap()
}

fn ki() -> Ki {
    Ki::new(Mi(*b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"), 2)
}

/// A "syslog daemon": a datagram socket bound in a fresh directory.
fn daemon() -> (tempfile::TempDir, PathBuf, UnixDatagram) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (dir, path, sock)
}

fn recv(sock: &UnixDatagram) -> String {
    let mut buf = vec![0u8; 8192];
    let n = sock.recv(&mut buf).expect("a syslog message");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Splits a message into its header fields and MSG, checking the forms of the fields whose
/// values the test cannot know: `(PRI-VERSION, TIMESTAMP, HOSTNAME, APP, PROCID, MSGID, SD, MSG)`.
fn fields(msg: &str) -> Vec<&str> {
    let f: Vec<&str> = msg.splitn(8, ' ').collect();
    assert_eq!(f.len(), 8, "{msg}");
    // 2026-12-06T09:31:30.123456Z
    let ts = f[1].as_bytes();
    assert_eq!(ts.len(), 27, "timestamp {}", f[1]);
    for (i, c) in ts.iter().enumerate() {
        let want_digit = !matches!(i, 4 | 7 | 10 | 13 | 16 | 19 | 26);
        assert_eq!(c.is_ascii_digit(), want_digit, "timestamp {}", f[1]);
    }
    assert_eq!(
        (ts[4], ts[7], ts[10], ts[13], ts[16], ts[19], ts[26]),
        (b'-', b'-', b'T', b':', b':', b'.', b'Z')
    );
    assert!(
        !f[2].is_empty() && f[2].len() <= 255 && f[2].bytes().all(|b| b.is_ascii_graphic()),
        "hostname {}",
        f[2]
    );
    assert!(f[4].parse::<u32>().is_ok(), "procid {}", f[4]);
    f
}

#[test]
fn each_event_is_one_rfc5424_message_facility_local7_msgid_the_mnemonic() {
    let (_dir, path, sock) = daemon();
    let mut syslog = Syslog::new(&path).unwrap();
    let secured = LogEvent::mka(
        "TenGigE0/0/0/1",
        MkaEvent::SessionSecured {
            ckn: ckn(),
            ki: ki(),
            fallback: false,
        },
    );
    let lost = LogEvent::Daemon(DaemonEvent::DataplaneLost {
        path: PathBuf::from("/run/macsec/dataplane.sock"),
        error: "connection reset".into(),
    });
    let peer_lost = LogEvent::mka(
        "TenGigE0/0/0/1",
        MkaEvent::PeerLost {
            ckn: ckn(),
            peer: Sci(0x0011_2233_4455_0001),
        },
    );
    for ev in [&secured, &lost, &peer_lost] {
        syslog.send(ev).unwrap();
    }
    let pid = std::process::id().to_string();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let expect = [
        // local7 (23) * 8 + notice (5)
        (
            "<189>1",
            "L2-MKA-5-SESSION_SECURED",
            "%L2-MKA-5-SESSION_SECURED : (TenGigE0/0/0/1) MKA session secured, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
        ),
        // error (3)
        (
            "<187>1",
            "MACSECD-3-DATAPLANE_LOST",
            "macsecd: dataplane /run/macsec/dataplane.sock: connection reset; reconnecting",
        ),
        // warning (4)
        (
            "<188>1",
            "L2-MKA-4-PEER_LOST",
            "%L2-MKA-4-PEER_LOST : (TenGigE0/0/0/1) peer 0011223344550001 timed out, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
        ),
    ];
    for (pri, msgid, text) in expect {
        let msg = recv(&sock);
        let f = fields(&msg);
        assert_eq!(f[0], pri, "{msg}");
        assert_eq!(f[2], host.trim(), "{msg}");
        assert_eq!(
            (f[3], f[4], f[5], f[6], f[7]),
            ("macsecd", pid.as_str(), msgid, "-", text),
            "{msg}"
        );
    }
    assert_eq!(syslog.dropped(), 0);
}

#[test]
fn exact_bytes_at_a_given_time_and_identity() {
    let (_dir, path, _sock) = daemon();
    let syslog = Syslog::with_identity(&path, "ncs540-a", 4242).unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_621_344_001) + Duration::from_micros(369_000);
    let fallback = LogEvent::mka(
        "Hu0/1/0/0",
        MkaEvent::SessionSecured {
            ckn: Ckn::from_hex("ABCD").unwrap(),
            ki: ki(),
            fallback: true,
        },
    );
    // The mnemonic is 42 characters: MSGID keeps RFC 5424's 32, MSG has it whole.
    assert_eq!(
        syslog.message(&fallback, at),
        "<189>1 2021-05-18T13:20:01.369000Z ncs540-a macsecd 4242 L2-MKA-5-SESSION_SECURED_WITH_FA - \
         %L2-MKA-5-SESSION_SECURED_WITH_FALLBACK_PSK : (Hu0/1/0/0) MKA session secured, CKN:ABCD"
    );
    let note = LogEvent::port(
        "Hu0/1/0/0",
        PortEvent::Suppressed {
            mnemonic: LogEvent::mka(
                "Hu0/1/0/0",
                MkaEvent::IcvFailure {
                    ckn: Ckn::from_hex("ABCD").unwrap(),
                    fallback: false,
                    source: [2, 0, 0, 0, 0, 0xaa],
                    peer: Sci(0x0200_0000_00aa_0001),
                },
            )
            .mnemonic(),
            source: Some([2, 0, 0, 0, 0, 0xaa]),
            count: 7,
        },
    );
    assert_eq!(
        syslog.message(&note, at),
        "<188>1 2021-05-18T13:20:01.369000Z ncs540-a macsecd 4242 MACSECD-4-LOG_SUPPRESSED - \
         macsecd: (Hu0/1/0/0) %L2-MKA-3-MKPDU_ICV_FAILURE from 02:00:00:00:00:aa: 7 similar messages suppressed"
    );
    // A host name with spaces or non-ASCII is cut to what RFC 5424 allows.
    let odd = Syslog::with_identity(&path, "my host\u{e9}", 1).unwrap();
    assert!(odd
        .message(&note, at)
        .starts_with("<188>1 2021-05-18T13:20:01.369000Z myhost macsecd 1 "));
}

#[test]
fn no_daemon_drops_and_counts_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let mut syslog = Syslog::new(&dir.path().join("nobody")).unwrap();
    let ev = LogEvent::Daemon(DaemonEvent::ReloadDeferred);
    for _ in 0..3 {
        assert!(syslog.send(&ev).is_err());
    }
    assert_eq!(syslog.dropped(), 3);
    // A daemon that appears later gets the next message.
    let sock = UnixDatagram::bind(dir.path().join("nobody")).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    syslog.send(&ev).unwrap();
    let msg = recv(&sock);
    assert_eq!(fields(&msg)[5], "MACSECD-6-RELOAD_DEFERRED");
}

/// The macsecd binary with `--syslog SOCKET`: a configuration whose notes it logs before it
/// refuses to run (no interface has MACsec): the notes arrive as RFC 5424 messages, and stderr
/// has them too.
#[test]
fn macsecd_sends_its_events_with_syslog_socket() {
    let (dir, path, sock) = daemon();
    let conf = dir.path().join("router.cfg");
    std::fs::write(&conf, "hostname ncs540-a\n!\nkey chain KC1\n macsec\n  key 01\n   key-string 00112233445566778899aabbccddeeff cryptographic-algorithm aes-128-cmac\n   lifetime 00:00:00 january 01 2020 infinite\n!\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_macsecd"))
        .args([
            "--config",
            conf.to_str().unwrap(),
            "--syslog",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let msg = recv(&sock);
    let f = fields(&msg);
    assert_eq!(
        (f[0], f[3], f[5], f[6]),
        ("<188>1", "macsecd", "MACSECD-4-CONFIG_NOTE", "-"),
        "{msg}"
    );
    assert!(
        f[7].starts_with(&format!("macsecd: {}: note: ", conf.display())),
        "{msg}"
    );
    assert!(stderr.contains(f[7]), "stderr has the same text: {stderr}");
    // The CAK is in neither.
    assert!(!msg.contains("00112233445566778899") && !stderr.contains("00112233445566778899"));
}
