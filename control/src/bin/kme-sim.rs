//! kme-sim: two SKIP key managers (KMEs) sharing a simulated QKD link, for tests and the demo.
//!
//! `kme-sim --dir DIR [--a-listen ADDR:PORT] [--b-listen ADDR:PORT] [--a-id Alice] [--b-id Bob] [--san NAME]...`
//!
//! Makes a CA and a server certificate (rcgen) and writes the CA to `DIR/ca.pem` (the routers'
//! trust point), then serves SKIP over TLS 1.3 on two listeners: KME A (system ID `--a-id`) for
//! one router and KME B (`--b-id`) for the other. A key that `GET /key?remoteSystemID=Bob` on
//! KME A hands out is what `GET /key/{keyId}?remoteSystemID=Alice` on KME B returns (and the
//! other way round); unknown key IDs and systems get 400; `--fail-first N` answers the first N
//! requests with 503. Prints `kme-a ID listening on ADDR`
//! and `kme-b ...` (also in `DIR/kme-a.addr`, `DIR/kme-b.addr`), then `ready`. Stops cleanly on
//! SIGTERM or SIGINT.

#![forbid(unsafe_code)]

use anyhow::Context;
use clap::Parser;
use control::ppk::http;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(name = "kme-sim", about = "Two SKIP KMEs sharing a simulated QKD link")]
struct Args {
    /// Where the CA certificate (ca.pem) and the listen addresses are written.
    #[arg(long)]
    dir: PathBuf,
    /// KME A's TLS listener (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    a_listen: SocketAddr,
    /// KME B's TLS listener.
    #[arg(long, default_value = "127.0.0.1:0")]
    b_listen: SocketAddr,
    /// KME A's system ID.
    #[arg(long, default_value = "Alice")]
    a_id: String,
    /// KME B's system ID.
    #[arg(long, default_value = "Bob")]
    b_id: String,
    /// More subject alternative names for the server certificate (host names or IP addresses),
    /// besides localhost, 127.0.0.1, ::1 and the listen addresses.
    #[arg(long)]
    san: Vec<String>,
    /// Answer the first N requests (of both KMEs) with 503 Service Unavailable, as a KME whose
    /// QKD link is not up yet (to exercise the clients' retries).
    #[arg(long, default_value_t = 0)]
    fail_first: u32,
}

struct Entry {
    key: Zeroizing<Vec<u8>>,
    /// The system whose KME handed the key out.
    from: String,
    /// The system it is for.
    to: String,
}

type Store = Arc<Mutex<HashMap<String, Entry>>>;

struct Kme {
    name: &'static str,
    local: String,
    remote: String,
    store: Store,
    /// Requests still to be answered with 503.
    fail: Arc<std::sync::atomic::AtomicU32>,
}

fn random(buf: &mut [u8]) -> bool {
    control::ppk::random_bytes(buf).is_ok()
}

fn uuid_v4() -> Option<String> {
    let mut b = [0u8; 16];
    if !random(&mut b) {
        return None;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn err_json(why: &str) -> String {
    serde_json::json!({ "error": why }).to_string()
}

impl Kme {
    /// Answers one request: (status, reason, JSON body).
    fn answer(&self, req: &http::Request) -> (u16, &'static str, String) {
        if req.method != "GET" {
            return (405, "Method Not Allowed", err_json("only GET"));
        }
        let bad = |why: &str| (400, "Bad Request", err_json(why));
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return (503, "Service Unavailable", err_json("the QKD link is not up"));
        }
        let path = req.path.as_str();
        if path == "/capabilities" {
            let body = serde_json::json!({
                "entity": "KME", "version": "1.0", "localSystemID": self.local, "remoteSystemID": [self.remote],
            });
            return (200, "OK", body.to_string());
        }
        if path == "/entropy" {
            let bits: usize = match req.param("minentropy").unwrap_or("256").parse() {
                Ok(n) if (8..=8192).contains(&n) => n,
                _ => return bad("minentropy must be 8 to 8192"),
            };
            let mut r = Zeroizing::new(vec![0u8; bits.div_ceil(8)]);
            if !random(&mut r) {
                return (500, "Internal Server Error", err_json("no randomness"));
            }
            let body = serde_json::json!({ "randomStr": hex::encode(&r[..]), "minentropy": bits });
            return (200, "OK", body.to_string());
        }
        let Some(remote) = req.param("remoteSystemID") else {
            return bad("remoteSystemID is missing");
        };
        if remote != self.remote {
            return bad(&format!("unknown remoteSystemID '{remote}'"));
        }
        if path == "/key" {
            let bits: usize = match req.param("size").unwrap_or("256").parse() {
                Ok(n) if n % 8 == 0 && (8..=4096).contains(&n) => n,
                _ => return bad("size must be a multiple of 8 from 8 to 4096"),
            };
            let mut key = Zeroizing::new(vec![0u8; bits / 8]);
            let Some(id) = uuid_v4().filter(|_| random(&mut key)) else {
                return (500, "Internal Server Error", err_json("no randomness"));
            };
            let body = serde_json::json!({ "keyId": id, "key": hex::encode(&key[..]) }).to_string();
            if let Ok(mut s) = self.store.lock() {
                s.insert(
                    id,
                    Entry {
                        key,
                        from: self.local.clone(),
                        to: self.remote.clone(),
                    },
                );
            }
            return (200, "OK", body);
        }
        if let Some(id) = path.strip_prefix("/key/") {
            let Ok(s) = self.store.lock() else {
                return (500, "Internal Server Error", err_json("key store"));
            };
            return match s.get(id) {
                Some(e) if e.from == remote && e.to == self.local => (
                    200,
                    "OK",
                    serde_json::json!({ "keyId": id, "key": hex::encode(&e.key[..]) }).to_string(),
                ),
                _ => bad(&format!("unknown keyId '{id}'")),
            };
        }
        (404, "Not Found", err_json("no such resource"))
    }

    fn serve(&self, tcp: TcpStream, cfg: Arc<rustls::ServerConfig>) {
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
        let Ok(conn) = rustls::ServerConnection::new(cfg) else {
            return;
        };
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let req = match http::read_request(&mut tls) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: no request: {e}", self.name);
                return;
            }
        };
        let (code, reason, body) = self.answer(&req);
        eprintln!(
            "{} ({}): {} {} -> {code}",
            self.name, self.local, req.method, req.path
        );
        let _ = http::write_response(&mut tls, code, reason, &body);
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| args.dir.display().to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("signal handler")?;
    }
    let la = TcpListener::bind(args.a_listen).with_context(|| args.a_listen.to_string())?;
    let lb = TcpListener::bind(args.b_listen).with_context(|| args.b_listen.to_string())?;
    let (aa, ab) = (la.local_addr()?, lb.local_addr()?);

    // The CA (the routers' trust point) and the server certificate both KMEs present.
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    // A name of its own per run, so that another run's CA is not even a candidate issuer.
    let mut tag = [0u8; 4];
    if !random(&mut tag) {
        anyhow::bail!("no randomness");
    }
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("kme-sim CA {}", hex::encode(tag)),
    );
    let ca = ca_params.self_signed(&ca_key)?;
    let mut sans: Vec<String> = vec![
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
        aa.ip().to_string(),
        ab.ip().to_string(),
    ];
    sans.extend(args.san.iter().cloned());
    sans.sort();
    sans.dedup();
    let srv_key = rcgen::KeyPair::generate()?;
    let mut srv_params = rcgen::CertificateParams::new(sans)?;
    srv_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kme-sim");
    srv_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let srv = srv_params.signed_by(&srv_key, &ca, &ca_key)?;
    let ca_path = args.dir.join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).with_context(|| ca_path.display().to_string())?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = vec![srv.der().clone(), ca.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(srv_key.serialize_der()));
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    let cfg = Arc::new(cfg);

    let store: Store = Arc::new(Mutex::new(HashMap::new()));
    let fail = Arc::new(std::sync::atomic::AtomicU32::new(args.fail_first));
    let kmes = [
        (
            Arc::new(Kme {
                name: "kme-a",
                local: args.a_id.clone(),
                remote: args.b_id.clone(),
                store: store.clone(),
                fail: fail.clone(),
            }),
            la,
            aa,
        ),
        (
            Arc::new(Kme {
                name: "kme-b",
                local: args.b_id.clone(),
                remote: args.a_id.clone(),
                store,
                fail,
            }),
            lb,
            ab,
        ),
    ];
    let mut threads = Vec::new();
    let mut out = std::io::stdout();
    for (kme, listener, addr) in kmes {
        listener.set_nonblocking(true)?;
        let file = args.dir.join(format!("{}.addr", kme.name));
        std::fs::write(&file, format!("{addr}\n")).with_context(|| file.display().to_string())?;
        let _ = writeln!(out, "{} {} listening on {addr}", kme.name, kme.local);
        let (stop, cfg) = (stop.clone(), cfg.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let _ = tcp.set_nonblocking(false);
                        let (kme, cfg) = (kme.clone(), cfg.clone());
                        std::thread::spawn(move || kme.serve(tcp, cfg));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Err(e) => {
                        eprintln!("{}: accept: {e}", kme.name);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        }));
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    for t in threads {
        let _ = t.join();
    }
    eprintln!("kme-sim: stopped");
    Ok(())
}

fn main() -> ExitCode {
    // Keys live in this process: keep its memory out of core files.
    if let Err(e) = ipc::secret::no_core_dumps() {
        eprintln!("kme-sim: warning: core dumps stay enabled: {e}");
    }
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}`: the context, then the cause, as `CONTEXT: CAUSE`.
            eprintln!("kme-sim: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
