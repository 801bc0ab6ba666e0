//! macsecd: the MKA daemon. Reads the IOS XR MACsec configuration, runs one MKA engine per
//! configured interface on the dataplane's control socket, logs the guide's `%L2-MKA-...` events,
//! and answers `macsecctl show ...` on its own socket.
//!
//! `macsecd --config FILE --dataplane SOCKET [--socket SOCKET] [--socket-group GROUP] [--state-dir DIR] [--trust-point PEM] [--metrics ADDR] [--syslog [SOCKET]] [--duration SECS]`
//!
//! Interfaces whose macsec-policy has `ppk sks-profile NAME` distribute SAKs in PPK mode: the
//! PPKs come from the profile's SKS engine (seeds in `--state-dir`) or SKIP key manager (its CA
//! from `--trust-point`, default `STATE_DIR/trustpoint/PROFILE.pem`), on a worker thread per
//! interface (docs/ppk.md, docs/ppk-mka.md).

#![forbid(unsafe_code)]

use anyhow::{anyhow, Context};
use clap::{CommandFactory, Parser};
use control::config::PortSetup;
use control::daemon::{Daemon, PpkEnv};
use control::log::{DaemonEvent, LogEvent};
use control::show::ShowData;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    /// Members of GROUP (a name or gid) may use macsecd's socket too (it is then mode 0660);
    /// otherwise only root and our own uid.
    #[arg(long, value_name = "GROUP")]
    socket_group: Option<String>,
    /// The SKS state directory (Classic McEliece key pair, peers' keys and seeds, trust points,
    /// SKIP counters), as `macsecctl crypto sks --state-dir`.
    #[arg(long, default_value = control::ppk::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// The KMEs' CA (PEM) for `type remote` sks profiles (default: each profile's
    /// `STATE_DIR/trustpoint/PROFILE.pem`, installed with `macsecctl crypto sks trustpoint import`).
    #[arg(long)]
    trust_point: Option<PathBuf>,
    /// Serve Prometheus/OpenMetrics metrics on ADDR (e.g. 127.0.0.1:9977 or [::1]:9977), at
    /// /metrics; off by default. The counters and PNs are not secret, but ADDR should be a
    /// management address only.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    /// Also send each event to syslog as an RFC 5424 message (facility local7, MSGID the
    /// mnemonic) over the Unix datagram socket SOCKET (default /dev/log).
    #[arg(long, value_name = "SOCKET", num_args = 0..=1, default_missing_value = control::syslog::DEFAULT_SOCKET)]
    syslog: Option<PathBuf>,
    /// Stop after SECS seconds (default: until SIGINT/SIGTERM).
    #[arg(long)]
    duration: Option<f64>,
    /// Test only (the PN-exhaustion system test): every SA the engines install starts at PN N
    /// instead of 1, so that PN exhaustion comes in seconds.
    #[arg(long, hide = true, value_name = "N")]
    test_initial_pn: Option<u64>,
}

/// Says why macsecd cannot run (the error and its causes) and exits with status 2.
fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("macsecd: error: {e:#}");
    ExitCode::from(2)
}

/// Answers one show request. MKA views come from the engines' last state; SecY views are read
/// from the dataplane at once.
fn answer(req: &serde_json::Value, data: &Mutex<ShowData>, dataplane: &std::path::Path) -> serde_json::Value {
    use ipc::{Request, Response};
    let view = req["show"].as_str().unwrap_or("");
    let link = req["interface"].as_str().unwrap_or("").to_string();
    let ask = |r: Request| -> serde_json::Value {
        let reply = ipc::Client::connect(dataplane).and_then(|mut c| c.request(&r));
        match reply {
            Ok(Response::Counters { secy, link }) => serde_json::json!({ "secy": secy, "link": link }),
            Ok(Response::SaState(sa)) => serde_json::json!({ "sa": sa }),
            Ok(Response::Error { message, .. }) => serde_json::json!({ "error": message }),
            Ok(other) => serde_json::json!({ "error": format!("unexpected dataplane reply {other:?}") }),
            Err(e) => serde_json::json!({ "error": format!("dataplane: {e}") }),
        }
    };
    match view {
        "mka-session" => {
            serde_json::to_value(&*data.lock().unwrap_or_else(|p| p.into_inner())).unwrap_or_default()
        }
        "secy-statistics" => ask(Request::ReadCounters { link }),
        "openconfig" => {
            let data = lock(data).clone();
            control::openconfig::state_tree(&data, &link_views(&data, dataplane))
        }
        "ea-idb" => ask(Request::ReadSaState { link }),
        other => serde_json::json!({ "error": format!("unknown view '{other}'") }),
    }
}

/// macsecd's state and, per configured interface, what the dataplane holds now (its counters
/// and SAs; none where it does not answer): the metrics and the openconfig tree.
fn link_views(data: &ShowData, dataplane: &std::path::Path) -> Vec<control::metrics::LinkView> {
    use ipc::{Request, Response};
    let mut names: Vec<String> = data.interfaces.iter().map(|r| r.interface.clone()).collect();
    for r in &data.sessions {
        if !names.contains(&r.interface) {
            names.push(r.interface.clone());
        }
    }
    names
        .into_iter()
        .map(|link| {
            let mut v = control::metrics::LinkView {
                interface: link.clone(),
                ..Default::default()
            };
            if let Ok(mut c) = ipc::Client::connect(dataplane) {
                if let Ok(Response::Counters { secy, link: l }) =
                    c.request(&Request::ReadCounters { link: link.clone() })
                {
                    v.counters = Some((secy, l));
                }
                if let Ok(Response::SaState(sa)) = c.request(&Request::ReadSaState { link }) {
                    v.sa = Some(sa);
                }
            }
            v
        })
        .collect()
}

/// The metrics exposition (`--metrics`).
fn metrics(data: &Mutex<ShowData>, dataplane: &std::path::Path, openmetrics: bool) -> String {
    let data = lock(data).clone();
    control::metrics::render(
        &data,
        &link_views(&data, dataplane),
        openmetrics,
        macsec::secy::unix_ms(),
    )
}

/// The outcome of the last configuration reload, for `macsecctl commit`.
#[derive(Default)]
struct Reloads {
    /// How many reloads ran; a commit waits for it to move.
    done: u64,
    ok: bool,
    lines: Vec<String>,
}

/// Shared between the loop and the socket thread.
struct Shared {
    data: Mutex<ShowData>,
    reload: Arc<AtomicBool>,
    reloads: Mutex<Reloads>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `macsecctl commit`: asks the loop to reload the configuration file and waits for the result.
fn commit(shared: &Shared, stop: &AtomicBool) -> serde_json::Value {
    let before = lock(&shared.reloads).done;
    shared.reload.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) && !stop.load(Ordering::Relaxed) {
        {
            let r = lock(&shared.reloads);
            if r.done != before {
                return serde_json::json!({ "commit": r.ok, "lines": r.lines });
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    serde_json::json!({ "error": "the reload did not finish within 10 s" })
}

/// `--syslog`: where events go besides stderr.
static SYSLOG: OnceLock<Mutex<control::syslog::Syslog>> = OnceLock::new();

/// Emits one event as a `tracing` event: its text is the message (the guide's syslog line, which
/// the scripts grep), its mnemonic, severity, interface, CKN and peer SCI are fields; and to
/// syslog with `--syslog` (a failure is said once on stderr by the sender, and counted).
fn emit(ev: &LogEvent) {
    if let Some(s) = SYSLOG.get() {
        let _ = lock(s).send(ev);
    }
    macro_rules! at {
        ($level:expr) => {
            tracing::event!(
                $level,
                mnemonic = %ev.mnemonic(),
                severity = ev.severity(),
                interface = ev.interface().map(tracing::field::display),
                ckn = ev.ckn().map(tracing::field::display),
                peer_sci = ev.peer_sci().map(tracing::field::display),
                "{ev}"
            )
        };
    }
    match ev.level() {
        tracing::Level::ERROR => at!(tracing::Level::ERROR),
        tracing::Level::WARN => at!(tracing::Level::WARN),
        _ => at!(tracing::Level::INFO),
    }
}

/// Emits events in order, each of an interface in that interface's span (the one its port's
/// work runs in while the port runs).
fn log_events<'a>(events: impl IntoIterator<Item = &'a LogEvent>, daemon: Option<&Daemon>) {
    for ev in events {
        match ev.interface() {
            Some(name) => {
                let span = daemon
                    .and_then(|d| d.span(name))
                    .cloned()
                    .unwrap_or_else(|| tracing::info_span!("interface", name = %name));
                span.in_scope(|| emit(ev));
            }
            None => emit(ev),
        }
    }
}

/// Emits one event of macsecd as a whole.
fn log_daemon(ev: DaemonEvent) {
    emit(&LogEvent::Daemon(ev));
}

/// Reads and checks the configuration file.
fn load(
    path: &std::path::Path,
    test_initial_pn: Option<u64>,
) -> anyhow::Result<(control::config::Config, Vec<PortSetup>)> {
    let at = || path.display().to_string();
    // The text holds CAKs: read into memory wiped on drop (the parser only borrows from it).
    let text = ipc::secret::read_text(path).with_context(at)?;
    let config = control::config::Config::parse(&text).with_context(at)?;
    let mut setups = config.port_setups().with_context(at)?;
    for s in &mut setups {
        s.test_initial_pn = test_initial_pn;
    }
    Ok((config, setups))
}

/// Connects to the dataplane, retrying for `patience` (it may be starting or restarting).
fn connect(
    path: &std::path::Path,
    setups: &[PortSetup],
    env: &PpkEnv,
    patience: Duration,
    stop: &AtomicBool,
) -> anyhow::Result<Daemon> {
    let t0 = Instant::now();
    loop {
        match Daemon::connect(path, setups.to_vec(), env) {
            Ok(d) => return Ok(d),
            Err(e) if t0.elapsed() >= patience || stop.load(Ordering::Relaxed) => {
                return Err(e).with_context(|| format!("dataplane {}", path.display()))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

fn main() -> ExitCode {
    // `--generate-man DIR` (scripts/package.sh): the manual pages, then exit.
    if let Some(code) = ipc::man::generate_if_asked(Cli::command()) {
        return code;
    }
    // Keys live in this process: keep its memory out of core files.
    if let Err(e) = ipc::secret::no_core_dumps() {
        eprintln!("macsecd: warning: core dumps stay enabled: {e}");
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .init();
    if let Some(path) = &cli.syslog {
        match control::syslog::Syslog::new(path) {
            Ok(s) => {
                let _ = SYSLOG.set(Mutex::new(s));
            }
            Err(e) => return fail(anyhow::Error::new(e).context(format!("--syslog {}", path.display()))),
        }
    }
    let (mut config, mut setups) = match load(&cli.config, cli.test_initial_pn) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    for n in &config.notes {
        log_daemon(DaemonEvent::ConfigNote {
            path: cli.config.clone(),
            note: n.to_string(),
        });
    }
    if setups.is_empty() {
        return fail(anyhow!("no interface has `macsec psk-keychain` configured"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            return fail(anyhow::Error::new(e).context("signal handler"));
        }
    }
    let reload = Arc::new(AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, reload.clone()) {
        return fail(anyhow::Error::new(e).context("signal handler"));
    }
    let env = PpkEnv {
        state_dir: cli.state_dir.clone(),
        options: control::ppk::SourceOptions {
            trust_point: cli.trust_point.clone(),
            ..Default::default()
        },
    };
    let mut daemon = match connect(&cli.dataplane, &setups, &env, Duration::from_secs(10), &stop) {
        Ok(d) => Some(d),
        Err(e) => return fail(e),
    };
    let access = match cli
        .socket_group
        .as_deref()
        .map(ipc::sock::resolve_group)
        .transpose()
    {
        Ok(group) => ipc::sock::Access { group },
        Err(e) => return fail(anyhow::Error::new(e).context("--socket-group")),
    };
    let listener = match control::ctl_server::bind(&cli.socket, &access) {
        Ok(l) => l,
        Err(e) => return fail(anyhow::Error::new(e).context("macsecd socket")),
    };
    let shared = Arc::new(Shared {
        data: Mutex::new(ShowData::default()),
        reload: reload.clone(),
        reloads: Mutex::default(),
    });
    let server = {
        let (shared, stop2, dp) = (shared.clone(), stop.clone(), cli.dataplane.clone());
        // Show and commit requests, each client on a thread of its own (control::ctl_server).
        let handler: control::ctl_server::Handler = Arc::new(move |req: &serde_json::Value| {
            if req.get("commit").is_some() {
                commit(&shared, &stop2)
            } else {
                answer(req, &shared.data, &dp)
            }
        });
        let (stop, counters) = (stop.clone(), Arc::default());
        std::thread::spawn(move || control::ctl_server::serve(listener, access, counters, handler, stop))
    };
    let metrics_server = match cli.metrics {
        None => None,
        Some(addr) => {
            let listener = match std::net::TcpListener::bind(addr) {
                Ok(l) => l,
                Err(e) => return fail(anyhow::Error::new(e).context(format!("--metrics {addr}"))),
            };
            tracing::info!("metrics on http://{addr}/metrics");
            let (shared, stop, dp) = (shared.clone(), stop.clone(), cli.dataplane.clone());
            Some(std::thread::spawn(move || {
                control::metrics::serve(listener, stop, |om| metrics(&shared.data, &dp, om))
            }))
        }
    };
    let started = Instant::now();
    let limit = cli.duration.map(Duration::from_secs_f64);
    let mut last_attempt = Instant::now();
    // Lines any frame on the line can cause (bad-ICV MKPDUs): once per 10 s per source.
    let mut limiter = control::log::LogLimiter::default();
    while !stop.load(Ordering::Relaxed) && limit.is_none_or(|d| started.elapsed() < d) {
        if reload.swap(false, Ordering::Relaxed) {
            // SIGHUP or `macsecctl commit`: read the configuration again and apply what changes
            // hitlessly; a configuration with errors is refused and the running one kept.
            let (ok, events) = match load(&cli.config, cli.test_initial_pn) {
                Ok((c, s)) => {
                    config = c;
                    setups = s.clone();
                    let applied = match daemon.as_mut().map(|d| d.reload(s)) {
                        Some(Ok(events)) => events,
                        Some(Err(e)) => {
                            // The new configuration is kept: the reconnection starts with it.
                            log_daemon(DaemonEvent::DataplaneLost {
                                path: cli.dataplane.clone(),
                                error: e.to_string(),
                            });
                            daemon = None;
                            vec![LogEvent::Daemon(DaemonEvent::ReloadDeferred)]
                        }
                        None => vec![LogEvent::Daemon(DaemonEvent::ReloadDeferred)],
                    };
                    (true, applied)
                }
                Err(e) => (
                    false,
                    vec![LogEvent::Daemon(DaemonEvent::ReloadRefused {
                        reason: format!("{e:#}"),
                    })],
                ),
            };
            log_events(&events, daemon.as_ref());
            let mut r = lock(&shared.reloads);
            r.done += 1;
            r.ok = ok;
            r.lines = events.iter().map(LogEvent::to_string).collect();
        }
        let Some(d) = daemon.as_mut() else {
            // The dataplane went away: reconnect when it is back; the sessions start afresh
            // (fresh SAKs: the PNs the old SAs reached died with the dataplane).
            if last_attempt.elapsed() >= Duration::from_millis(500) {
                last_attempt = Instant::now();
                if let Ok(d) = Daemon::connect(&cli.dataplane, setups.clone(), &env) {
                    log_daemon(DaemonEvent::DataplaneBack {
                        path: cli.dataplane.clone(),
                    });
                    daemon = Some(d);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        match d.turn(Duration::from_millis(100)) {
            Ok(events) => log_events(&limiter.limit(started.elapsed(), events), Some(d)),
            Err(e) => {
                log_daemon(DaemonEvent::DataplaneLost {
                    path: cli.dataplane.clone(),
                    error: e.to_string(),
                });
                daemon = None;
                *lock(&shared.data) = ShowData::default()
                    .with_config(&config, mka::keychain::unix_seconds(std::time::SystemTime::now()));
                continue;
            }
        }
        let wall = mka::keychain::unix_seconds(std::time::SystemTime::now());
        *lock(&shared.data) = d.show_data().with_config(&config, wall);
    }
    stop.store(true, Ordering::Relaxed);
    // An orderly stop takes the SAs down with the sessions (a crash leaves them forwarding).
    if let Some(d) = daemon.as_mut() {
        match d.shutdown() {
            Ok(events) => log_events(&events, Some(d)),
            Err(e) => log_daemon(DaemonEvent::SaDeleteFailed { error: e.to_string() }),
        }
    }
    let _ = server.join();
    if let Some(m) = metrics_server {
        let _ = m.join();
    }
    let _ = std::fs::remove_file(&cli.socket);
    let sessions = lock(&shared.data).clone();
    println!("{}", serde_json::to_string(&sessions).unwrap_or_default());
    ExitCode::SUCCESS
}
