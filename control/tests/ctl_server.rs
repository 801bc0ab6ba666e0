//! macsecd's socket for macsecctl (`control::ctl_server`): request caps, timeouts, concurrent
//! clients, the connection cap and the peer-credential check (a macsecctl child as uid 65534).

use control::ctl_server::{self, Handler};
use ipc::sock::{Access, SockCounters};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Served {
    path: PathBuf,
    counters: Arc<SockCounters>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Serves a handler that answers `mka-session` with no sessions and anything else with its echo.
fn served(access: Access, dir_mode: u32) -> Served {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(dir_mode)).unwrap();
    let path = dir.path().join("macsecd.sock");
    let listener = ctl_server::bind(&path, &access).unwrap();
    let handler: Handler = Arc::new(|req: &serde_json::Value| {
        if req["show"] == "mka-session" {
            serde_json::to_value(control::show::ShowData::default()).unwrap()
        } else {
            serde_json::json!({ "echo": req })
        }
    });
    let counters = Arc::new(SockCounters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (c, s) = (counters.clone(), stop.clone());
    std::thread::spawn(move || ctl_server::serve(listener, access, c, handler, s));
    Served {
        path,
        counters,
        stop,
        _dir: dir,
    }
}

/// Sends `req` and returns the whole reply.
fn ask(path: &Path, req: &[u8]) -> String {
    let mut c = UnixStream::connect(path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = c.write_all(req);
    let mut reply = String::new();
    let _ = c.read_to_string(&mut reply);
    reply
}

#[test]
fn a_request_is_answered() {
    let s = served(Access::default(), 0o700);
    assert_eq!(ask(&s.path, b"{\"show\":1}\n"), r#"{"echo":{"show":1}}"#);
    assert_eq!(
        ask(&s.path, b"nope\n"),
        r#"{"error":"bad request: expected ident at line 1 column 2"}"#
    );
    assert_eq!(
        std::fs::metadata(&s.path).unwrap().permissions().mode() & 0o7777,
        0o600
    );
}

#[test]
fn an_oversized_request_gets_an_error() {
    let s = served(Access::default(), 0o700);
    let big = vec![b'a'; 100 * 1024];
    assert_eq!(
        ask(&s.path, &big),
        r#"{"error":"request longer than 65536 octets"}"#
    );
    // One of exactly the cap is read (and is not JSON).
    let mut at_cap = vec![b' '; 65536 - 2];
    at_cap.extend_from_slice(b"{}\n");
    assert_eq!(ask(&s.path, &at_cap[1..]), r#"{"echo":{}}"#);
}

#[test]
fn a_slow_client_does_not_block_another_and_times_out() {
    let s = served(Access::default(), 0o700);
    // A: an endless line, one octet every 100 ms.
    let mut slow = UnixStream::connect(&s.path).unwrap();
    let mut w = slow.try_clone().unwrap();
    std::thread::spawn(move || {
        for _ in 0..100 {
            if w.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    // B is answered at once.
    let t0 = Instant::now();
    assert_eq!(ask(&s.path, b"{\"show\":2}\n"), r#"{"echo":{"show":2}}"#);
    assert!(t0.elapsed() < Duration::from_secs(1), "took {:?}", t0.elapsed());
    // A gets its error when its time is up.
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reply = String::new();
    let _ = slow.read_to_string(&mut reply);
    assert_eq!(reply, r#"{"error":"no complete request within 5 s"}"#);
}

#[test]
fn connections_over_the_cap_are_closed() {
    let s = served(Access::default(), 0o700);
    // 16 clients that say nothing hold every place.
    let idle: Vec<UnixStream> = (0..16).map(|_| UnixStream::connect(&s.path).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ask(&s.path, b"{\"show\":3}\n"), "");
    assert_eq!(s.counters.snapshot().refused_over_cap, 1);
    drop(idle);
    let t0 = Instant::now();
    while ask(&s.path, b"{\"show\":3}\n") != r#"{"echo":{"show":3}}"# {
        assert!(t0.elapsed() < Duration::from_secs(3), "a place was freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `macsecctl show macsec mka session` as uid 65534 with group `gid`: whether it was served.
fn macsecctl_as_nobody(path: &Path, gid: u32) -> bool {
    use std::os::unix::process::CommandExt;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_macsecctl"))
        .args(["show", "macsec", "mka", "session", "--socket"])
        .arg(path)
        .uid(65534)
        .gid(gid)
        .output()
        .unwrap();
    out.status.success()
}

#[test]
fn peers_are_checked() {
    if ipc::sock::euid() != 0 {
        eprintln!("peers_are_checked: skipped (needs root to run a child as another uid)");
        return;
    }
    let s = served(Access::default(), 0o755);
    // Even with the socket file opened to everyone, a stranger is not served; we are.
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(!macsecctl_as_nobody(&s.path, 65534));
    assert!(!macsecctl_as_nobody(&s.path, 65534));
    assert_eq!(s.counters.snapshot().refused_peers, 2);
    assert!(ask(&s.path, b"{\"show\":\"mka-session\"}\n").starts_with('{'));
    assert!(!ask(&s.path, b"{\"show\":\"mka-session\"}\n").contains("error"));
    // With a socket group, its members are served.
    let g = served(Access { group: Some(4242) }, 0o755);
    assert_eq!(
        std::fs::metadata(&g.path).unwrap().permissions().mode() & 0o7777,
        0o660
    );
    assert!(macsecctl_as_nobody(&g.path, 4242));
    std::fs::set_permissions(&g.path, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(!macsecctl_as_nobody(&g.path, 4243));
    assert_eq!(g.counters.snapshot().refused_peers, 1);
}
