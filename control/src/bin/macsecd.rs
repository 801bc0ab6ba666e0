//! macsecd: the MKA daemon. Reads the IOS XR MACsec configuration, runs one MKA engine per
//! configured interface on the dataplane's control socket, logs the guide's `%L2-MKA-...` events,
//! and answers `macsecctl show ...` on its own socket.
//!
//! `macsecd --config FILE --dataplane SOCKET [--socket SOCKET] [--duration SECS]`

use clap::Parser;
use control::daemon::{Daemon, PortSetup};
use control::show::ShowData;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "macsecd", version, about = "MACsec Key Agreement daemon")]
struct Cli {
    /// IOS XR MACsec configuration (key chain, macsec-policy, interface stanzas).
    #[arg(long)]
    config: PathBuf,
    /// The dataplane's control socket.
    #[arg(long, default_value = "/run/macsec/dataplane.sock")]
    dataplane: PathBuf,
    /// macsecd's own socket, for macsecctl.
    #[arg(long, default_value = "/run/macsec/macsecd.sock")]
    socket: PathBuf,
    /// Stop after SECS seconds (default: until SIGINT/SIGTERM).
    #[arg(long)]
    duration: Option<f64>,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("macsecd: error: {msg}");
    ExitCode::from(2)
}

/// Answers one show request. MKA views come from the engines' last state; SecY views are read
/// from the dataplane at once.
fn answer(req: &serde_json::Value, data: &Mutex<ShowData>, dataplane: &std::path::Path) -> serde_json::Value {
    use dataplane::ipc::{Request, Response};
    let view = req["show"].as_str().unwrap_or("");
    let link = req["interface"].as_str().unwrap_or("").to_string();
    let ask = |r: Request| -> serde_json::Value {
        let reply = dataplane::server::Client::connect(dataplane).and_then(|mut c| c.request(&r));
        match reply {
            Ok(Response::Counters { secy, link }) => serde_json::json!({ "secy": secy, "link": link }),
            Ok(Response::SaState(sa)) => serde_json::json!({ "sa": sa }),
            Ok(Response::Error { message, .. }) => serde_json::json!({ "error": message }),
            Ok(other) => serde_json::json!({ "error": format!("unexpected dataplane reply {other:?}") }),
            Err(e) => serde_json::json!({ "error": format!("dataplane: {e}") }),
        }
    };
    match view {
        "mka-session" => serde_json::to_value(&*data.lock().unwrap_or_else(|p| p.into_inner())).unwrap_or_default(),
        "secy-statistics" => ask(Request::ReadCounters { link }),
        "ea-idb" => ask(Request::ReadSaState { link }),
        other => serde_json::json!({ "error": format!("unknown view '{other}'") }),
    }
}

/// Serves show requests: one JSON line in (`{"show":"mka-session"}`), one JSON document out.
fn serve(listener: UnixListener, data: Arc<Mutex<ShowData>>, dataplane: PathBuf, stop: Arc<AtomicBool>) {
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut conn, _)) => {
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                if BufReader::new(&conn).read_line(&mut line).is_err() {
                    continue;
                }
                let reply = match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(req) => answer(&req, &data, &dataplane).to_string(),
                    Err(e) => serde_json::json!({ "error": format!("bad request: {e}") }).to_string(),
                };
                let _ = conn.write_all(reply.as_bytes());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let text = match std::fs::read_to_string(&cli.config) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", cli.config.display())),
    };
    let mut config = match control::config::Config::parse(&text) {
        Ok(c) => c,
        Err(e) => return fail(format!("{}: {e}", cli.config.display())),
    };
    for n in &config.notes {
        eprintln!("macsecd: {}: note: {n}", cli.config.display());
    }
    let setups: Vec<PortSetup> = match config.port_setups() {
        Ok(s) => s,
        Err(e) => return fail(format!("{}: {e}", cli.config.display())),
    };
    if setups.is_empty() {
        return fail("no interface has `macsec psk-keychain` configured");
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            return fail(format!("signal handler: {e}"));
        }
    }
    let reload = Arc::new(AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, reload.clone()) {
        return fail(format!("signal handler: {e}"));
    }
    let mut daemon = match Daemon::connect(&cli.dataplane, setups) {
        Ok(d) => d,
        Err(e) => return fail(format!("dataplane {}: {e}", cli.dataplane.display())),
    };
    let _ = std::fs::remove_file(&cli.socket);
    let listener = match UnixListener::bind(&cli.socket) {
        Ok(l) => l,
        Err(e) => return fail(format!("{}: {e}", cli.socket.display())),
    };
    let _ = std::fs::set_permissions(&cli.socket, std::fs::Permissions::from_mode(0o600));
    let data = Arc::new(Mutex::new(ShowData::default()));
    let server = {
        let (data, stop, dp) = (data.clone(), stop.clone(), cli.dataplane.clone());
        std::thread::spawn(move || serve(listener, data, dp, stop))
    };
    let started = Instant::now();
    let limit = cli.duration.map(Duration::from_secs_f64);
    let mut code = ExitCode::SUCCESS;
    while !stop.load(Ordering::Relaxed) && limit.is_none_or(|d| started.elapsed() < d) {
        if reload.swap(false, Ordering::Relaxed) {
            // SIGHUP: read the configuration again and apply what changes hitlessly.
            let parsed = std::fs::read_to_string(&cli.config).map_err(|e| e.to_string()).and_then(|t| {
                let c = control::config::Config::parse(&t).map_err(|e| e.to_string())?;
                let s = c.port_setups().map_err(|e| e.to_string())?;
                Ok((c, s))
            });
            match parsed {
                Ok((c, setups)) => {
                    config = c;
                    for line in daemon.reload(setups) {
                        eprintln!("{line}");
                    }
                }
                Err(e) => eprintln!("macsecd: reload of {} refused, running configuration kept: {e}", cli.config.display()),
            }
        }
        match daemon.turn(Duration::from_millis(100)) {
            Ok(lines) => {
                for l in lines {
                    eprintln!("{l}");
                }
            }
            Err(e) => {
                eprintln!("macsecd: error: dataplane: {e}");
                code = ExitCode::from(1);
                break;
            }
        }
        let sessions = daemon.ports.iter().filter_map(|p| p.session_row()).collect();
        let summary = daemon
            .ports
            .iter()
            .map(|p| control::show::SummaryRow {
                interface: p.setup.interface.clone(),
                status: if p.mka.is_secured() { "Secured".into() } else { "Pending".into() },
                cipher_suite: p.setup.cipher_suite.name().into(),
                keychain: p.setup.keychain.name().to_string(),
            })
            .collect();
        let statistics = daemon.ports.iter().map(|p| (p.setup.interface.clone(), p.mka.stats)).collect();
        let wall = control::keychain::unix_seconds(std::time::SystemTime::now());
        *data.lock().unwrap_or_else(|p| p.into_inner()) =
            ShowData { sessions, summary, statistics, ..ShowData::default() }.with_config(&config, wall);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    let _ = std::fs::remove_file(&cli.socket);
    let sessions = data.lock().unwrap_or_else(|p| p.into_inner()).clone();
    println!("{}", serde_json::to_string(&sessions).unwrap_or_default());
    code
}
