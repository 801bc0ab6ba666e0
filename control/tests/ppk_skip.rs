//! `control::ppk` SKIP client against the `kme-sim` binary on 127.0.0.1 (two KMEs sharing a
//! simulated QKD link): both routers get the same PPK for a key ID, 400 for an unknown key ID,
//! a KME that is down (retries, then a clear error and the counters show it), a server
//! certificate that does not chain to the trust point (refused, not retried), `GET /entropy`,
//! HTTP 503 and timeouts retried, the HTTP proxy tunnel, `source interface`, the `show crypto sks profile` views,
//! and a clean stop on SIGTERM.

use control::config::{Config, Host, ServerAddress, SksProfile, SksProfileType};
use control::ppk::cli;
use control::ppk::skip::{self, SkipClient, SkipStats};
use control::ppk::{source_for, KeyId, PpkError, SourceOptions};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Sim {
    child: Child,
    a: SocketAddr,
    b: SocketAddr,
    ca: PathBuf,
    stderr: Option<std::process::ChildStderr>,
}

impl Sim {
    fn start(dir: &Path) -> Sim {
        Sim::start_with(dir, &[])
    }

    fn start_with(dir: &Path, extra: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kme-sim"))
            .arg("--dir")
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr = |prefix: &str| -> SocketAddr {
            let l = lines.next().unwrap().unwrap();
            l.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{l}"))
                .parse()
                .unwrap()
        };
        let a = addr("kme-a Alice listening on ");
        let b = addr("kme-b Bob listening on ");
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
        let stderr = child.stderr.take();
        Sim {
            child,
            a,
            b,
            ca: dir.join("ca.pem"),
            stderr,
        }
    }

    /// SIGTERM, and the exit status and stderr.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) }, 0);
        let t = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "kme-sim did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        if let Some(mut e) = self.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut err).unwrap();
        }
        (status, err)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn profile(name: &str, me: &str, kme: SocketAddr) -> SksProfile {
    let mut p = SksProfile::new(name, SksProfileType::Remote);
    p.device_identifier = Some(me.to_string());
    let host = match kme.ip() {
        std::net::IpAddr::V4(a) => Host::Ipv4(a),
        std::net::IpAddr::V6(a) => Host::Ipv6(a),
    };
    p.kme_server = Some(ServerAddress {
        host,
        port: kme.port(),
    });
    p
}

fn opts(ca: &Path) -> SourceOptions {
    SourceOptions {
        trust_point: Some(ca.to_path_buf()),
        connect_timeout: Duration::from_secs(2),
        io_timeout: Duration::from_secs(3),
        retries: 2,
        retry_delay: Duration::from_millis(50),
    }
}

/// The counters with the (machine-dependent) response times zeroed.
fn counters(state: &Path, profile: &str) -> SkipStats {
    let mut s = skip::load_stats(state, profile);
    (s.max_time_ms, s.min_time_ms, s.total_time_ms) = (0, 0, 0);
    s
}

#[test]
fn both_routers_get_the_same_ppk_and_unknown_key_ids_get_400() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&dir.path().join("kme"));
    let (sa, sb) = (dir.path().join("r1"), dir.path().join("r2"));
    let p1 = profile("R1toR2", "Router1", sim.a);
    let p2 = profile("R2toR1", "Router2", sim.b);
    let mut ks = source_for(&p1, &sa, &opts(&sim.ca)).unwrap();
    let mut peer = source_for(&p2, &sb, &opts(&sim.ca)).unwrap();

    let (id, ppk) = ks.new_key().unwrap();
    let text = id.as_text().unwrap().to_string();
    assert_eq!(text.len(), 36, "{text}");
    assert_eq!(text.as_bytes()[14], b'4', "a UUID v4: {text}");
    assert_eq!(peer.key_by_id(&id).unwrap(), ppk);
    let (id2, ppk2) = ks.new_key().unwrap();
    assert_ne!(id2, id);
    assert_ne!(ppk2, ppk);
    assert_eq!(peer.key_by_id(&id2).unwrap(), ppk2);

    // An unknown key ID: 400, not retried.
    let unknown = KeyId::new(b"00000000-0000-4000-8000-000000000000").unwrap();
    let e = peer.key_by_id(&unknown).unwrap_err();
    assert!(matches!(e, PpkError::KmeStatus { code: 400, .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "KME {}: HTTP 400: unknown keyId '00000000-0000-4000-8000-000000000000'",
            sim.b
        )
    );
    // Router 1's own KME does not hand out the key it issued for Router 2.
    let e = ks.key_by_id(&id).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("KME {}: HTTP 400: unknown keyId '{text}'", sim.a)
    );

    let r1 = counters(&sa, "R1toR2");
    assert_eq!(
        r1,
        SkipStats {
            status: "connected".into(),
            capability_request: 1,
            key_request: 2,
            key_id_request: 1,
            capability_response: 1,
            key_response: 2,
            total_request: 4,
            request_success: 4,
            total_response: 4,
            response_failed: 1,
            response_success: 3,
            last_transaction_id: 4,
            last_transaction_type: "Get key by id".into(),
            last_transaction_status: "Response received, failed".into(),
            last_http_code: "400 Bad Request (400)".into(),
            local_system_id: "Alice".into(),
            remote_system_ids: vec!["Bob".into()],
            entropy: true,
            key: true,
            ..SkipStats::default()
        }
    );
    let r2 = counters(&sb, "R2toR1");
    assert_eq!(
        (
            r2.capability_request,
            r2.key_id_request,
            r2.key_id_response,
            r2.response_failed,
            r2.retry_count
        ),
        (1, 3, 2, 1, 0)
    );
    assert_eq!(r2.local_system_id, "Bob");
    drop(ks);

    let (status, err) = sim.stop();
    assert!(status.success(), "{status:?} {err}");
    assert!(err.ends_with("kme-sim: stopped\n"), "{err}");
    // The simulator's log has no key material.
    assert!(!err.contains("\"key\""), "{err}");
}

#[test]
fn kme_down_is_retried_then_reported() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&dir.path().join("kme"));
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let state = dir.path().join("r1");
    let p = profile("R1toR2", "Router1", port);
    let mut src = source_for(&p, &state, &opts(&sim.ca)).unwrap();
    let t = Instant::now();
    let e = src.new_key().unwrap_err();
    assert!(
        t.elapsed() >= Duration::from_millis(100),
        "two pauses between three attempts"
    );
    assert_eq!(
        e.to_string(),
        format!("KME {port}: cannot connect to {port}: Connection refused (os error 111) (gave up after 3 attempts)")
    );
    let st = counters(&state, "R1toR2");
    assert_eq!(
        st,
        SkipStats {
            status: "disconnected".into(),
            capability_request: 3,
            total_request: 3,
            request_failed: 3,
            retry_count: 2,
            last_transaction_id: 1,
            last_transaction_type: "Get capability".into(),
            last_transaction_status: format!(
                "Request failed: cannot connect to {port}: Connection refused (os error 111)"
            ),
            ..SkipStats::default()
        }
    );
    let text = cli::render_stats(&p, &skip::load_stats(&state, "R1toR2"));
    let expect = format!(
        "Profile Name           : R1toR2
My identifier          : Router1
Server
IP                     : 127.0.0.1
Port                   : {}
Status                 : disconnected
Counters
Capability request     : 3
Key request            : 0
Key-id request         : 0
Entropy request        : 0
Capability response    : 0
Key response           : 0
Key-id response        : 0
Entropy response       : 0
Total request          : 3
Request failed         : 3
Request success        : 0
Total response         : 0
Response failed        : 0
Response success       : 0
Retry count            : 2
Response Ignored       : 0
Cancelled count        : 0
Response time
  Max Time             : 0 ms
  Avg Time             : 0 ms
  Min Time             : 0 ms
Last transaction
  Transaction Id       : 1
  Transaction type     : Get capability
  Transaction status   : Request failed: cannot connect to {port}: Connection refused (os error 111)
  Http code            : 
",
        port.port()
    );
    assert_eq!(text, expect);
}

#[test]
fn certificate_not_chaining_to_the_trust_point_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sim1 = Sim::start(&dir.path().join("kme1"));
    let sim2 = Sim::start(&dir.path().join("kme2"));
    let state = dir.path().join("r1");
    // Trusting simulator 1's CA, talking to simulator 2.
    let p = profile("R1toR2", "Router1", sim2.a);
    let mut src = source_for(&p, &state, &opts(&sim1.ca)).unwrap();
    let e = src.new_key().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "KME {}: the KME's certificate was refused (UnknownIssuer): it does not chain to the trust point or does not name the server",
            sim2.a
        )
    );
    let st = counters(&state, "R1toR2");
    assert_eq!(
        (
            st.total_request,
            st.request_failed,
            st.retry_count,
            st.total_response
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(st.status, "disconnected");

    // A trust point that is not a certificate file is an error when the source is built.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let e = source_for(&p, &state, &opts(&junk)).err().unwrap();
    assert_eq!(
        e.to_string(),
        format!(
            "the trust point {} could not be used: no certificate in the file",
            junk.display()
        )
    );
    drop(sim1);
}

#[test]
fn entropy_and_show_views() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&dir.path().join("kme"));
    let state = dir.path().join("r1");
    let p = profile("R1toR2", "Router1", sim.a);
    let mut c = SkipClient::new(&p, &state, &opts(&sim.ca)).unwrap();
    assert_eq!(c.entropy(256).unwrap().len(), 32);
    assert_eq!(c.entropy(12).unwrap().len(), 2);
    let caps = c.capabilities().unwrap();
    assert_eq!(
        (
            caps.entity.as_str(),
            caps.version.as_str(),
            caps.local_system_id.as_str()
        ),
        ("KME", "1.0", "Alice")
    );
    assert_eq!(caps.remote_system_ids, vec!["Bob".to_string()]);

    // show crypto sks profile all: the configuration plus a live GET /capabilities, the trust
    // point at its default place (installed as `crypto sks trustpoint import` does).
    let conf = dir.path().join("macsec.conf");
    std::fs::write(
        &conf,
        format!(
            "sks profile R1toR2 type remote\n kme server ipv4 127.0.0.1 port {}\n!\nmacsec-policy p1\n ppk sks-profile R1toR2\n!\n",
            sim.a.port()
        ),
    )
    .unwrap();
    assert!(Config::parse(&std::fs::read_to_string(&conf).unwrap()).is_ok());
    let tp = control::ppk::default_trust_point(&state, "R1toR2");
    std::fs::create_dir_all(tp.parent().unwrap()).unwrap();
    std::fs::copy(&sim.ca, &tp).unwrap();
    let text = cli::show(
        &["crypto", "sks", "profile", "all"],
        false,
        Some(&conf),
        Some(&state),
        &SourceOptions::default(),
    )
    .unwrap();
    let me = cli::hostname();
    assert_eq!(
        text,
        format!(
            "Profile Name            :R1toR2\nMy identifier           :{me}\nType                    :Remote\nReg Client Count        :1\n\n\
             Server\nIP                      :127.0.0.1\nPort                    :{}\nVrf                     :Notconfigured\n\
             Source Interface        :Notconfigured\nStatus                  :Connected\nEntropy                 :true\n\
             Key                     :true\nAlgorithm               :QKD\nLocal identifier        :Alice\n\
             Remote identifier       :Bob\n\nPeerlist\nQKD ID                  :Bob\nState                   :Connected\n",
            sim.a.port()
        )
    );
    let st = counters(&state, "R1toR2");
    assert_eq!(
        (
            st.capability_request,
            st.entropy_request,
            st.entropy_response,
            st.total_response
        ),
        (2, 2, 2, 4)
    );
    let json = cli::show(
        &["crypto", "sks", "profile", "R1toR2", "stats"],
        true,
        Some(&conf),
        Some(&state),
        &SourceOptions::default(),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["R1toR2"]["capability_response"], 2);
    assert_eq!(v["R1toR2"]["last_http_code"], "200 OK (200)");
}

#[test]
fn http_503_is_retried_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start_with(&dir.path().join("kme"), &["--fail-first", "2"]);
    let (sa, sb) = (dir.path().join("r1"), dir.path().join("r2"));
    let mut ks = source_for(&profile("R1toR2", "Router1", sim.a), &sa, &opts(&sim.ca)).unwrap();
    let mut peer = source_for(&profile("R2toR1", "Router2", sim.b), &sb, &opts(&sim.ca)).unwrap();
    let (id, ppk) = ks.new_key().unwrap();
    assert_eq!(peer.key_by_id(&id).unwrap(), ppk);
    let st = counters(&sa, "R1toR2");
    assert_eq!(
        st,
        SkipStats {
            status: "connected".into(),
            capability_request: 3,
            key_request: 1,
            capability_response: 1,
            key_response: 1,
            total_request: 4,
            request_success: 4,
            total_response: 4,
            response_failed: 2,
            response_success: 2,
            retry_count: 2,
            last_transaction_id: 2,
            last_transaction_type: "Get key".into(),
            last_transaction_status: "Response data received, successfully".into(),
            last_http_code: "200 OK (200)".into(),
            local_system_id: "Alice".into(),
            remote_system_ids: vec!["Bob".into()],
            entropy: true,
            key: true,
            ..SkipStats::default()
        }
    );
    // Three 503s in a row exhaust three attempts.
    let sim2 = Sim::start_with(&dir.path().join("kme2"), &["--fail-first", "3"]);
    let s3 = dir.path().join("r3");
    let mut src = source_for(&profile("R1toR2", "Router1", sim2.a), &s3, &opts(&sim2.ca)).unwrap();
    let e = src.new_key().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "KME {}: HTTP 503: the QKD link is not up (gave up after 3 attempts)",
            sim2.a
        )
    );
    let st = counters(&s3, "R1toR2");
    assert_eq!(
        (
            st.total_request,
            st.response_failed,
            st.retry_count,
            st.last_http_code.as_str()
        ),
        (3, 3, 2, "503 Service Unavailable (503)")
    );
}

#[test]
fn kme_that_does_not_answer_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&dir.path().join("kme"));
    // Accepts connections and says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming() {
            held.push(c);
        }
    });
    let state = dir.path().join("r1");
    let mut o = opts(&sim.ca);
    o.io_timeout = Duration::from_millis(200);
    o.retries = 1;
    let mut src = source_for(&profile("R1toR2", "Router1", addr), &state, &o).unwrap();
    let t = Instant::now();
    let e = src.new_key().unwrap_err();
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("KME {addr}: no answer within 200 ms (gave up after 2 attempts)")
    );
    let st = counters(&state, "R1toR2");
    assert_eq!(
        (
            st.total_request,
            st.request_failed,
            st.retry_count,
            st.status.as_str()
        ),
        (2, 2, 1, "disconnected")
    );
}

/// A one-connection-at-a-time HTTP CONNECT proxy; records the request lines it saw.
fn connect_proxy() -> (SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && c.read(&mut b).unwrap_or(0) == 1 {
                head.push(b[0]);
            }
            let line = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            seen2.lock().unwrap().push(line.clone());
            let target = line.split(' ').nth(1).unwrap_or_default().to_string();
            let Ok(up) = std::net::TcpStream::connect(&target) else {
                continue;
            };
            c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let (mut c2, mut up2) = (c.try_clone().unwrap(), up.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut c2, &mut up2));
            std::thread::spawn(move || {
                let mut up = up;
                let _ = std::io::copy(&mut up, &mut c);
                let _ = c.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (addr, seen)
}

#[test]
fn key_fetch_through_an_http_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&dir.path().join("kme"));
    let (proxy, seen) = connect_proxy();
    let mut p1 = profile("R1toR2", "Router1", sim.a);
    p1.http_proxy = Some(ServerAddress {
        host: Host::Ipv4(std::net::Ipv4Addr::LOCALHOST),
        port: proxy.port(),
    });
    let mut ks = source_for(&p1, &dir.path().join("r1"), &opts(&sim.ca)).unwrap();
    let mut peer = source_for(
        &profile("R2toR1", "Router2", sim.b),
        &dir.path().join("r2"),
        &opts(&sim.ca),
    )
    .unwrap();
    let (id, ppk) = ks.new_key().unwrap();
    assert_eq!(peer.key_by_id(&id).unwrap(), ppk);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![format!("CONNECT {} HTTP/1.1", sim.a); 2]
    );
}

/// `source interface NAME`: the KME connections are bound to that interface (SO_BINDTODEVICE).
/// Through `lo` the KME on 127.0.0.1 answers; an interface that does not exist fails the request
/// at once (no retries: it will not appear by retrying) and says which interface.
#[test]
fn source_interface_binds_the_kme_connection() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&dir.path().join("kme"));
    let mut p1 = profile("R1toR2", "Router1", sim.a);
    p1.source_interface = Some("lo".into());
    let mut ks = source_for(&p1, &dir.path().join("r1"), &opts(&sim.ca)).unwrap();
    let mut peer = source_for(
        &profile("R2toR1", "Router2", sim.b),
        &dir.path().join("r2"),
        &opts(&sim.ca),
    )
    .unwrap();
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let (id, ppk) = ks.new_key().unwrap();
        assert_eq!(peer.key_by_id(&id).unwrap(), ppk);
    } else {
        // Binding to a device takes CAP_NET_RAW.
        let e = ks.new_key().unwrap_err().to_string();
        assert!(e.contains("source interface lo: Operation not permitted"), "{e}");
    }

    let mut p2 = profile("R1toR2", "Router1", sim.a);
    p2.source_interface = Some("nosuchif0".into());
    let state = dir.path().join("r3");
    let mut bad = source_for(&p2, &state, &opts(&sim.ca)).unwrap();
    let e = bad.new_key().unwrap_err().to_string();
    let why = if unsafe { libc::geteuid() } == 0 {
        "No such device"
    } else {
        "Operation not permitted"
    };
    assert_eq!(
        e,
        format!(
            "KME {}: source interface nosuchif0: {why} (os error {})",
            sim.a,
            if why == "No such device" { 19 } else { 1 }
        )
    );
    let st = counters(&state, "R1toR2");
    assert_eq!((st.request_failed, st.retry_count), (1, 0), "{st:?}");
}
