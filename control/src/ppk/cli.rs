//! `macsecctl crypto sks ...` and `macsecctl show crypto sks ...`: they read the configuration
//! file and the SKS state directory directly (macsecd is not needed).

use super::skip::{self, SkipClient, SkipStats};
use super::sks::{self, SksState};
use super::{default_trust_point, PpkError, SourceOptions, DEFAULT_STATE_DIR};
use crate::config::{Config, Host, SksProfile, SksProfileType};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The configuration file's default.
pub const DEFAULT_CONFIG: &str = "/etc/macsec/macsec.conf";

#[derive(Subcommand, Debug)]
pub enum CryptoCmd {
    /// Session Key Service: quantum-safe PPKs (Classic McEliece seeds, SKIP key managers).
    #[command(subcommand)]
    Sks(SksCmd),
}

#[derive(Subcommand, Debug)]
pub enum SksCmd {
    /// This router's Classic McEliece public key: `key export mceliece`, `key import mceliece PEER PATH`.
    #[command(subcommand)]
    Key(KeyCmd),
    /// The seed shared with a peer: `seed export mceliece PEER`, `seed import mceliece PEER PATH`.
    #[command(subcommand)]
    Seed(SeedCmd),
    /// The KME's CA for a `type remote` profile: `trustpoint import PROFILE PATH`.
    #[command(subcommand)]
    Trustpoint(TrustpointCmd),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Classic McEliece mceliece8192128.
    Mceliece,
}

#[derive(Args, Debug, Clone)]
pub struct Paths {
    /// The SKS state directory (private key, peers' keys, seeds, SKIP counters).
    #[arg(long, default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// The IOS XR configuration (sks profile stanzas).
    #[arg(long, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Writes this router's public key (1,357,824 octets; generates the key pair the first time).
    Export {
        algorithm: Algorithm,
        /// Where to write it; default `MeCe_HOSTNAME_default_pub` in the current directory.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        paths: Paths,
    },
    /// Imports a peer's public key.
    Import {
        algorithm: Algorithm,
        peer: String,
        path: PathBuf,
        #[command(flatten)]
        paths: Paths,
    },
}

#[derive(Subcommand, Debug)]
pub enum SeedCmd {
    /// Generates a seed for PEER and writes it encrypted to PEER's public key.
    Export {
        algorithm: Algorithm,
        peer: String,
        /// Where to write it; default `enc_self_PEER` in the current directory.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        paths: Paths,
    },
    /// Decrypts and imports the seed that PEER (the master) exported for this router.
    Import {
        algorithm: Algorithm,
        peer: String,
        path: PathBuf,
        #[command(flatten)]
        paths: Paths,
    },
}

#[derive(Subcommand, Debug)]
pub enum TrustpointCmd {
    /// Installs PATH (PEM CA certificates) as the trust point of PROFILE's KME.
    Import {
        profile: String,
        path: PathBuf,
        #[command(flatten)]
        paths: Paths,
    },
}

fn load_config(path: &Path) -> Result<Config, PpkError> {
    // The text holds CAKs: read into memory wiped on drop.
    let text = ipc::secret::read_text(path).map_err(|error| PpkError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    Config::parse(&text).map_err(|e| PpkError::Invalid(format!("{}: {e}", path.display())))
}

/// This host's name (for the default public key file name).
#[allow(unsafe_code)] // the one FFI call of the control plane
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() octets into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "router".to_string()
    } else {
        clean
    }
}

/// Runs a `crypto sks ...` command; prints what it did, or the error, and says how it went.
pub fn main_crypto(cmd: CryptoCmd) -> ExitCode {
    match run_crypto(cmd, &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("macsecctl: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs a `crypto sks ...` command, writing its messages to `out` (key generation progress goes
/// to stderr).
pub fn run_crypto(cmd: CryptoCmd, out: &mut dyn Write) -> Result<(), PpkError> {
    let w = |out: &mut dyn Write, s: String| {
        let _ = writeln!(out, "{s}");
    };
    let CryptoCmd::Sks(cmd) = cmd;
    match cmd {
        SksCmd::Key(KeyCmd::Export {
            algorithm: Algorithm::Mceliece,
            out: path,
            paths,
        }) => {
            let state = SksState::new(&paths.state_dir);
            let path = path.unwrap_or_else(|| PathBuf::from(format!("MeCe_{}_default_pub", hostname())));
            let mut announced = false;
            let mut progress = |t: Duration| {
                if !announced {
                    eprintln!(
                        "Generating the Classic McEliece mceliece8192128 key pair (this takes a while)..."
                    );
                    announced = true;
                }
                eprint!("\r  {} s", t.as_secs());
                let _ = std::io::stderr().flush();
            };
            let generated = state.ensure_keypair(&mut progress)?;
            if announced {
                eprintln!();
            }
            if generated {
                w(
                    out,
                    format!(
                        "Generated the mceliece8192128 key pair in {}",
                        state.dir().display()
                    ),
                );
            }
            state.export_public_key(&path, &mut |_| {})?;
            w(out, format!("Pubkey exported file: {}", path.display()));
        }
        SksCmd::Key(KeyCmd::Import {
            algorithm: Algorithm::Mceliece,
            peer,
            path,
            paths,
        }) => {
            let config = load_config(&paths.config)?;
            let (profile, _) = sks::find_peer(&config, &peer)?;
            SksState::new(&paths.state_dir).import_peer_key(&peer, &path)?;
            w(
                out,
                format!(
                    "Pubkey of peer {peer} (sks profile {}) imported from {}",
                    profile.name,
                    path.display()
                ),
            );
        }
        SksCmd::Seed(SeedCmd::Export {
            algorithm: Algorithm::Mceliece,
            peer,
            out: path,
            paths,
        }) => {
            let config = load_config(&paths.config)?;
            let path = path.unwrap_or_else(|| PathBuf::from(format!("enc_self_{peer}")));
            sks::check_name("peer name", &peer)?;
            let profile = sks::seed_export(&config, &SksState::new(&paths.state_dir), &peer, &path)?;
            w(
                out,
                format!(
                    "Seed for peer {peer} (sks profile {profile}) exported file: {}",
                    path.display()
                ),
            );
        }
        SksCmd::Seed(SeedCmd::Import {
            algorithm: Algorithm::Mceliece,
            peer,
            path,
            paths,
        }) => {
            let config = load_config(&paths.config)?;
            let profile = sks::seed_import(&config, &SksState::new(&paths.state_dir), &peer, &path)?;
            w(
                out,
                format!(
                    "Seed from peer {peer} (sks profile {profile}) imported from {}",
                    path.display()
                ),
            );
        }
        SksCmd::Trustpoint(TrustpointCmd::Import { profile, path, paths }) => {
            sks::check_name("sks profile name", &profile)?;
            skip::tls_config(&path)?;
            let pem = std::fs::read(&path).map_err(|error| PpkError::Io {
                path: path.clone(),
                error,
            })?;
            let dst = default_trust_point(&paths.state_dir, &profile);
            if let Some(d) = dst.parent() {
                std::fs::create_dir_all(d).map_err(|error| PpkError::Io {
                    path: d.to_path_buf(),
                    error,
                })?;
            }
            sks::write_file(&dst, &pem, 0o644)?;
            w(
                out,
                format!(
                    "Trust point of sks profile {profile} installed: {}",
                    dst.display()
                ),
            );
        }
    }
    Ok(())
}

/// A `show crypto sks peer` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeerRow {
    pub peer_name: String,
    pub profile_name: String,
    pub seed_done: bool,
    pub pubkey_import_done: bool,
    pub master: bool,
}

fn tf(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// The rows of `show crypto sks peer all`: every peer of every local profile.
pub fn peer_rows(config: &Config, state: &SksState) -> Vec<PeerRow> {
    config
        .sks_profiles
        .values()
        .filter(|p| p.profile_type == SksProfileType::Local)
        .flat_map(|p| {
            p.peers.iter().map(|x| PeerRow {
                peer_name: x.name.clone(),
                profile_name: p.name.clone(),
                seed_done: state.has_seed(&x.name),
                pubkey_import_done: state.peer_key_imported(&x.name),
                master: x.master,
            })
        })
        .collect()
}

/// `show crypto sks peer all`, as the guide prints it.
pub fn render_peers(rows: &[PeerRow]) -> String {
    let mut s = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s += &format!("Peer Name          : {}\n", r.peer_name);
        s += &format!("Profile Name       : {}\n", r.profile_name);
        s += &format!("Seed Done          : {}\n", tf(r.seed_done));
        s += &format!("Pubkey Import Done : {}\n", tf(r.pubkey_import_done));
        s += &format!("Master             : {}\n", tf(r.master));
    }
    s
}

fn line(s: &mut String, label: &str, value: impl std::fmt::Display) {
    *s += &format!("{label:<24}:{value}\n");
}

fn host_label(h: &Host) -> (&'static str, String) {
    match h {
        Host::Ipv4(a) => ("IP", a.to_string()),
        Host::Ipv6(a) => ("IP", a.to_string()),
        Host::Name(n) => ("Hostname", n.clone()),
    }
}

fn reg_clients(config: &Config, profile: &str) -> usize {
    config
        .policies
        .values()
        .filter(|p| p.ppk_sks_profile.as_deref() == Some(profile))
        .count()
}

/// What a live `GET /capabilities` found, for `show crypto sks profile`.
#[derive(Debug, Clone)]
pub enum Probe {
    NotProbed,
    Reached(skip::Capabilities),
    Failed(String),
}

/// `show crypto sks profile all` for one profile. `probe` is the result of a `GET /capabilities`
/// for remote profiles.
pub fn render_profile(config: &Config, state: &SksState, p: &SksProfile, probe: &Probe) -> String {
    let mut s = String::new();
    let me = p.device_identifier.clone().unwrap_or_else(hostname);
    line(&mut s, "Profile Name", &p.name);
    line(&mut s, "My identifier", &me);
    match p.profile_type {
        SksProfileType::Local => {
            line(&mut s, "Type", "Local");
            line(&mut s, "Reg Client Count", reg_clients(config, &p.name));
            line(
                &mut s,
                "Live keys",
                p.live_keys
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "Notconfigured".to_string()),
            );
            line(&mut s, "Algorithm", "McEliece (mceliece8192128)");
            line(
                &mut s,
                "Key pair",
                if state.has_keypair() {
                    "Generated"
                } else {
                    "Not generated"
                },
            );
            for x in &p.peers {
                s.push('\n');
                s += "Peerlist\n";
                line(&mut s, "Peer Name", &x.name);
                line(&mut s, "Master", tf(x.master));
                line(&mut s, "Pubkey Import Done", tf(state.peer_key_imported(&x.name)));
                line(&mut s, "Seed Done", tf(state.has_seed(&x.name)));
            }
        }
        SksProfileType::Remote => {
            line(&mut s, "Type", "Remote");
            line(&mut s, "Reg Client Count", reg_clients(config, &p.name));
            s += "\nServer\n";
            match &p.kme_server {
                Some(a) => {
                    let (l, v) = host_label(&a.host);
                    line(&mut s, l, v);
                    line(&mut s, "Port", a.port);
                }
                None => line(&mut s, "IP", "Notconfigured"),
            }
            line(&mut s, "Vrf", "Notconfigured");
            line(
                &mut s,
                "Source Interface",
                p.source_interface.as_deref().unwrap_or("Notconfigured"),
            );
            if let Some(px) = &p.http_proxy {
                line(&mut s, "Http Proxy", skip::authority(px));
            }
            match probe {
                Probe::Reached(c) => {
                    line(&mut s, "Status", "Connected");
                    line(&mut s, "Entropy", "true");
                    line(&mut s, "Key", "true");
                    line(&mut s, "Algorithm", "QKD");
                    line(&mut s, "Local identifier", &c.local_system_id);
                    line(&mut s, "Remote identifier", c.remote_system_ids.join(","));
                    for r in &c.remote_system_ids {
                        s += "\nPeerlist\n";
                        line(&mut s, "QKD ID", r);
                        line(&mut s, "State", "Connected");
                    }
                }
                Probe::Failed(why) => {
                    line(&mut s, "Status", "Disconnected");
                    line(&mut s, "Reason", why);
                }
                Probe::NotProbed => line(&mut s, "Status", "Not contacted"),
            }
        }
    }
    s
}

/// `show crypto sks profile all stats` for one profile, as the guide prints it.
pub fn render_stats(p: &SksProfile, st: &SkipStats) -> String {
    let mut s = String::new();
    let l = |s: &mut String, label: &str, v: &dyn std::fmt::Display| *s += &format!("{label:<23}: {v}\n");
    let l2 = |s: &mut String, label: &str, v: &dyn std::fmt::Display| *s += &format!("  {label:<21}: {v}\n");
    l(&mut s, "Profile Name", &p.name);
    l(
        &mut s,
        "My identifier",
        &p.device_identifier.clone().unwrap_or_else(hostname),
    );
    s += "Server\n";
    if let Some(a) = &p.kme_server {
        let (lab, v) = host_label(&a.host);
        l(&mut s, lab, &v);
        l(&mut s, "Port", &a.port);
    }
    l(&mut s, "Status", &st.status);
    s += "Counters\n";
    for (label, v) in [
        ("Capability request", st.capability_request),
        ("Key request", st.key_request),
        ("Key-id request", st.key_id_request),
        ("Entropy request", st.entropy_request),
        ("Capability response", st.capability_response),
        ("Key response", st.key_response),
        ("Key-id response", st.key_id_response),
        ("Entropy response", st.entropy_response),
        ("Total request", st.total_request),
        ("Request failed", st.request_failed),
        ("Request success", st.request_success),
        ("Total response", st.total_response),
        ("Response failed", st.response_failed),
        ("Response success", st.response_success),
        ("Retry count", st.retry_count),
        ("Response Ignored", st.response_ignored),
        ("Cancelled count", st.cancelled_count),
    ] {
        l(&mut s, label, &v);
    }
    s += "Response time\n";
    l2(&mut s, "Max Time", &format!("{} ms", st.max_time_ms));
    l2(&mut s, "Avg Time", &format!("{} ms", st.avg_time_ms()));
    l2(&mut s, "Min Time", &format!("{} ms", st.min_time_ms));
    s += "Last transaction\n";
    l2(&mut s, "Transaction Id", &st.last_transaction_id);
    l2(&mut s, "Transaction type", &st.last_transaction_type);
    l2(&mut s, "Transaction status", &st.last_transaction_status);
    l2(&mut s, "Http code", &st.last_http_code);
    s
}

/// Shows `crypto sks ...` views: `words` start with "crypto". A remote profile's
/// `show crypto sks profile` does a live `GET /capabilities` (one attempt, short timeouts).
pub fn show(
    words: &[&str],
    json: bool,
    config: Option<&Path>,
    state_dir: Option<&Path>,
    opts: &SourceOptions,
) -> Result<String, PpkError> {
    let config = load_config(config.unwrap_or(Path::new(DEFAULT_CONFIG)))?;
    let state_dir = state_dir.unwrap_or(Path::new(DEFAULT_STATE_DIR));
    let state = SksState::new(state_dir);
    let pick = |name: &str| -> Result<Vec<&SksProfile>, PpkError> {
        if name == "all" {
            Ok(config.sks_profiles.values().collect())
        } else {
            config
                .sks_profiles
                .get(name)
                .map(|p| vec![p])
                .ok_or_else(|| PpkError::NoProfile(name.to_string()))
        }
    };
    match words {
        ["crypto", "sks", "peer", which] => {
            let mut rows = peer_rows(&config, &state);
            if *which != "all" {
                rows.retain(|r| r.peer_name == *which);
            }
            Ok(if json { serde_json::to_string(&rows).unwrap_or_default() + "\n" } else { render_peers(&rows) })
        }
        ["crypto", "sks", "profile", which, "stats"] => {
            let profiles = pick(which)?;
            let remote: Vec<&SksProfile> = profiles.into_iter().filter(|p| p.profile_type == SksProfileType::Remote).collect();
            if json {
                let m: serde_json::Map<String, serde_json::Value> = remote
                    .iter()
                    .map(|p| (p.name.clone(), serde_json::to_value(skip::load_stats(state_dir, &p.name)).unwrap_or_default()))
                    .collect();
                return Ok(serde_json::Value::Object(m).to_string() + "\n");
            }
            Ok(remote.iter().map(|p| render_stats(p, &skip::load_stats(state_dir, &p.name))).collect::<Vec<_>>().join("\n"))
        }
        ["crypto", "sks", "profile", which] => {
            let profiles = pick(which)?;
            let mut out = Vec::new();
            for p in profiles {
                let probe = if p.profile_type == SksProfileType::Remote {
                    let mut o = opts.clone();
                    o.retries = 0;
                    match SkipClient::new(p, state_dir, &o).and_then(|mut c| c.capabilities()) {
                        Ok(c) => Probe::Reached(c),
                        Err(e) => Probe::Failed(e.to_string()),
                    }
                } else {
                    Probe::NotProbed
                };
                out.push(render_profile(&config, &state, p, &probe));
            }
            Ok(out.join("\n"))
        }
        _ => Err(PpkError::Invalid(format!(
            "unknown view 'show {}' (supported: crypto sks peer all|PEER, crypto sks profile all|NAME [stats])",
            words.join(" ")
        ))),
    }
}

/// `show crypto sks ...` for macsecctl: prints the view or the error.
pub fn main_show(words: &[&str], json: bool, config: Option<&Path>, state_dir: Option<&Path>) -> ExitCode {
    match show(words, json, config, state_dir, &SourceOptions::default()) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("macsecctl: error: {e}");
            ExitCode::from(2)
        }
    }
}
