//! macsecctl: the operator CLI.

#![forbid(unsafe_code)]

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use control::pcap::{self, KeyOptions, ProtectOptions, Report, ValidateOptions};
use macsec::crypto::{Backend, BackendParseError};
use macsec::secy::{CipherSuite, ConfOffset, ParseError, Salt, Sci, Ssci, ValidateFrames};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "macsecctl",
    version,
    about = "MACsec appliance operator CLI",
    infer_subcommands = true
)]
struct Cli {
    /// Without a command: the interactive shell (`show ...`, `commit`, `help`, `exit`; line
    /// editing, history in ~/.macsecctl_history, Tab completes keywords, `?` lists them).
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// The shell's macsecd socket.
    #[arg(long, default_value = "/run/macsec/macsecd.sock")]
    socket: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// Protect or validate captures offline with the appliance's SecY.
    #[command(subcommand)]
    Pcap(PcapCmd),
    /// MKA (IEEE 802.1X-2020) tools.
    #[command(subcommand)]
    Mka(MkaCmd),
    /// Operational views from macsecd, as IOS XR prints them (`sh mac mka sess det`, `show run`):
    /// macsec mka session [interface X] [detail] | macsec mka interface [X] [detail] |
    /// macsec mka summary | macsec mka statistics [interface X] | macsec secy statistics
    /// [interface X] | macsec ea idb interface X | macsec platform hardware [idb|sa [ID]|flow|
    /// stats|msc] [interface X] | macsec policy [NAME] | key chain [NAME] | running-config
    /// [macsec-policy [NAME] | key chain [NAME] | interface [X]] | crypto sks ...
    Show(ShowArgs),
    /// Makes macsecd reload its configuration file and apply what changed (as SIGHUP does);
    /// prints what it applied. Exit 1 when the file has errors (the running configuration stays).
    Commit(CommitArgs),
    /// Quantum-safe PPK: `crypto sks key|seed export|import mceliece ...`, `crypto sks trustpoint import`.
    #[command(subcommand)]
    Crypto(control::ppk::cli::CryptoCmd),
}

#[derive(Args)]
struct CommitArgs {
    /// macsecd's socket.
    #[arg(long, default_value = "/run/macsec/macsecd.sock")]
    socket: PathBuf,
}

/// One request to macsecd: a JSON line out, a JSON document back (`{"error": ...}` on failure).
fn ask_macsecd(
    socket: &std::path::Path,
    req: serde_json::Value,
) -> Result<serde_json::Value, pcap::PcapToolError> {
    use std::io::{Read, Write};
    let usage = |m: &str| pcap::PcapToolError::Usage(m.to_string());
    let io = |error| pcap::PcapToolError::Io {
        path: socket.to_path_buf(),
        error,
    };
    let mut conn = std::os::unix::net::UnixStream::connect(socket).map_err(io)?;
    // A commit waits up to 10 s for the reload; a macsecd that says nothing for 30 s is stuck.
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .map_err(io)?;
    conn.write_all(format!("{req}\n").as_bytes()).map_err(io)?;
    let mut text = String::new();
    conn.read_to_string(&mut text).map_err(io)?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(&format!("macsecd answered something unexpected: {e}")))?;
    if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
        return Err(usage(&format!("macsecd: {e}")));
    }
    Ok(v)
}

/// `macsecctl commit`.
fn commit(a: &CommitArgs) -> Result<ExitCode, pcap::PcapToolError> {
    let v = ask_macsecd(&a.socket, serde_json::json!({ "commit": true }))?;
    for l in v["lines"].as_array().into_iter().flatten() {
        println!("{}", l.as_str().unwrap_or_default());
    }
    Ok(if v["commit"].as_bool() == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Args)]
struct ShowArgs {
    /// The view, in IOS XR words (e.g. `macsec mka session interface TenGigE0/0/0/1 detail`).
    #[arg(required = true, num_args = 1..)]
    words: Vec<String>,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
    /// With --json: the state tree shaped as openconfig-macsec (1.3.0, RFC 7951 JSON) instead of
    /// the view's own JSON (every interface, its counters, SCs and MKA state; the MKA policies).
    #[arg(long, requires = "json")]
    openconfig: bool,
    /// macsecd's socket.
    #[arg(long, default_value = "/run/macsec/macsecd.sock")]
    socket: PathBuf,
    /// `show crypto sks ...`: the configuration file (default /etc/macsec/macsec.conf).
    #[arg(long)]
    config: Option<PathBuf>,
    /// `show crypto sks ...`: the SKS state directory (default /var/lib/macsec/sks).
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

/// Asks macsecd for its state and renders the view the words name (keywords may be shortened to
/// a unique prefix, interfaces named in any IOS XR form: `control::showcmd`).
fn show(a: &ShowArgs) -> Result<ExitCode, pcap::PcapToolError> {
    use control::show;
    use control::showcmd::{self, RunSection, View};
    let usage = |m: &str| pcap::PcapToolError::Usage(m.to_string());
    let w: Vec<&str> = a.words.iter().map(String::as_str).collect();
    let view = showcmd::parse(&w).map_err(|e| usage(&e.0))?;
    if let View::Crypto(words) = &view {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        return Ok(control::ppk::cli::main_show(
            &words,
            a.json,
            a.config.as_deref(),
            a.state_dir.as_deref(),
        ));
    }
    let ask = |req: serde_json::Value| ask_macsecd(&a.socket, req);
    if a.openconfig {
        let tree = ask(serde_json::json!({ "show": "openconfig" }))?;
        print!("{}", json(&tree));
        return Ok(ExitCode::SUCCESS);
    }
    let unexpected = |e: serde_json::Error| usage(&format!("macsecd answered something unexpected: {e}"));
    let data: show::ShowData =
        serde_json::from_value(ask(serde_json::json!({ "show": "mka-session" }))?).map_err(unexpected)?;
    // The configured interfaces, by the name macsecd runs them under.
    let links: Vec<String> = data.interfaces.iter().map(|r| r.interface.clone()).collect();
    let link = |name: &Option<String>| -> Result<Vec<String>, pcap::PcapToolError> {
        match name {
            None => Ok(links.clone()),
            Some(n) => links
                .iter()
                .find(|l| control::config::same_interface(l, n))
                .map(|l| vec![l.clone()])
                .ok_or_else(|| {
                    usage(&format!(
                        "interface {n} does not run MACsec (configured: {})",
                        links.join(", ")
                    ))
                }),
        }
    };
    let one = |name: &Option<String>| -> Result<String, pcap::PcapToolError> {
        let l = link(name)?;
        match l.as_slice() {
            [x] => Ok(x.clone()),
            _ => Err(usage(&format!(
                "name the interface: interface {}",
                links.join(" | ")
            ))),
        }
    };
    let keep = |rows: &mut Vec<show::SessionRow>, name: &Option<String>| -> Result<(), pcap::PcapToolError> {
        if name.is_some() {
            let l = link(name)?;
            rows.retain(|r| l.contains(&r.interface));
        }
        Ok(())
    };
    let sa_state = |l: &str| -> Result<(serde_json::Value, ipc::SaState), pcap::PcapToolError> {
        let v = ask(serde_json::json!({ "show": "ea-idb", "interface": l }))?;
        let sa = serde_json::from_value(v["sa"].clone()).map_err(unexpected)?;
        Ok((v, sa))
    };
    let counters = |l: &str| ask(serde_json::json!({ "show": "secy-statistics", "interface": l }));
    let out = match &view {
        View::MkaSession { interface, detail } => {
            let mut rows = data.sessions.clone();
            keep(&mut rows, interface)?;
            if a.json {
                json(&rows)
            } else if *detail {
                show::render_mka_session_detail(&rows)
            } else if interface.is_some() {
                show::render_mka_session_interface(&rows)
            } else {
                show::render_mka_session(&rows)
            }
        }
        View::MkaInterface { interface } => {
            let l = link(interface)?;
            let rows: Vec<show::InterfaceRow> = data
                .interfaces
                .iter()
                .filter(|r| l.contains(&r.interface))
                .cloned()
                .collect();
            if a.json {
                json(&rows)
            } else {
                show::render_mka_interface_detail(&rows)
            }
        }
        View::MkaSummary => {
            if a.json {
                json(&data.summary)
            } else {
                show::render_mka_summary(&data.summary)
            }
        }
        View::MkaStatistics { interface } => {
            let l = link(interface)?;
            let st: Vec<&(String, mka::kay::MkaStats)> =
                data.statistics.iter().filter(|(i, _)| l.contains(i)).collect();
            match (a.json, interface.is_some(), st.as_slice()) {
                // One interface named: its counters as before (scripts read them).
                (true, true, [(_, s)]) => json(s),
                (true, _, _) => json(&st),
                (false, _, _) => st
                    .iter()
                    .map(|(i, s)| show::render_mka_statistics(i, s))
                    .collect::<Vec<_>>()
                    .join("\n"),
            }
        }
        View::SecyStatistics { interface } => {
            let l = link(interface)?;
            let mut text = String::new();
            let mut all = serde_json::Map::new();
            for x in &l {
                let v = counters(x)?;
                text.push_str(&show::render_secy_statistics(x, &v));
                all.insert(x.clone(), v);
            }
            match (a.json, interface.is_some()) {
                (true, true) => format!("{}\n", all.values().next().cloned().unwrap_or_default()),
                (true, false) => format!("{}\n", serde_json::Value::Object(all)),
                _ => text,
            }
        }
        View::EaIdb { interface } => {
            let l = one(interface)?;
            let (v, sa) = sa_state(&l)?;
            if a.json {
                format!("{v}\n")
            } else {
                show::render_ea_idb(&l, &sa)
            }
        }
        View::PlatformHardware { what, interface } => {
            let l = one(interface)?;
            let (_, sa) = sa_state(&l)?;
            let text = match what {
                showcmd::Hardware::Idb => show::render_hw_idb(&l, &sa),
                showcmd::Hardware::Sa(handle) => {
                    show::render_hw_sa(&l, &sa, *handle).map_err(|e| usage(&e))?
                }
                showcmd::Hardware::Flow => show::render_hw_flow(&l, &sa),
                showcmd::Hardware::Msc => show::render_hw_msc(&l, &sa),
                showcmd::Hardware::Stats => show::render_hw_stats(&l, &sa, &counters(&l)?),
            };
            if a.json {
                json(&sa)
            } else {
                text
            }
        }
        View::Policy { name } => {
            let mut rows = data.policies.clone();
            if let Some(n) = name {
                rows.retain(|r| &r.name == n);
            }
            if a.json {
                json(&rows)
            } else {
                show::render_policies(&rows)
            }
        }
        View::KeyChain { name } => {
            let mut chains = data.key_chains.clone();
            if let Some(n) = name {
                chains.retain(|c| &c.name == n);
            }
            if a.json {
                json(&chains)
            } else {
                show::render_key_chains(&chains)
            }
        }
        View::RunningConfig(section) => {
            let text = match section {
                RunSection::All => data.running_config.clone(),
                RunSection::MacsecPolicy(None) => data.running_policies.clone(),
                RunSection::MacsecPolicy(Some(n)) => {
                    show::config_section(&data.running_policies, &format!("macsec-policy {n}"))
                }
                RunSection::KeyChain(n) => show::config_section(
                    &data.running_config,
                    &format!("key chain {}", n.as_deref().unwrap_or("")),
                ),
                RunSection::Interface(n) => {
                    let name = n
                        .as_deref()
                        .map(control::config::canonical_interface_name)
                        .unwrap_or_default();
                    show::config_section(&data.running_config, &format!("interface {name}"))
                }
            };
            if a.json {
                json(&text)
            } else {
                text
            }
        }
        View::Crypto(_) => String::new(),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The shell's helper: completes the keywords of [`control::showcmd::complete`].
struct ShellHelper;

impl rustyline::completion::Completer for ShellHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = line.get(..pos).unwrap_or(line);
        let (start, words) = control::showcmd::complete(before);
        Ok((start, words.into_iter().map(|w| w + " ").collect()))
    }
}
impl rustyline::hint::Hinter for ShellHelper {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for ShellHelper {}
impl rustyline::validate::Validator for ShellHelper {}
impl rustyline::Helper for ShellHelper {}

/// `macsecctl` without a command: reads commands until `exit` or end of input.
fn shell(socket: &std::path::Path) -> ExitCode {
    use rustyline::error::ReadlineError;
    let mut rl = match rustyline::Editor::<ShellHelper, rustyline::history::DefaultHistory>::new() {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("macsecctl: error: {e}");
            return ExitCode::from(2);
        }
    };
    rl.set_helper(Some(ShellHelper));
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".macsecctl_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    loop {
        match rl.readline("macsecctl# ") {
            Ok(line) => {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(line);
                if !shell_line(line, socket) {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("macsecctl: error: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    ExitCode::SUCCESS
}

/// Runs one shell line; false to leave the shell. `?` at the end lists what may come next.
fn shell_line(line: &str, socket: &std::path::Path) -> bool {
    if let Some(before) = line.strip_suffix('?') {
        let (_, next) = control::showcmd::complete(before);
        if next.is_empty() {
            println!("  <value> or <cr>");
        }
        for w in next {
            println!("  {w}");
        }
        return true;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else { return true };
    match control::showcmd::shell_command(first) {
        Err(e) => eprintln!("{e}"),
        Ok("exit" | "quit") => return false,
        Ok("help") => println!(
            "show macsec mka session|interface|summary|statistics ... | show macsec secy statistics ...\n\
show macsec ea idb ... | show macsec platform hardware ... | show macsec policy ...\n\
show running-config ... | show key chain ... | show crypto sks ... | commit | exit\n\
Words may be shortened (sh mac mka sess det); Tab completes, `?` lists the choices; --json for JSON."
        ),
        Ok("commit") => {
            if let Err(e) = commit(&CommitArgs {
                socket: socket.to_path_buf(),
            }) {
                eprintln!("% {e}");
            }
        }
        Ok(_) => {
            let a = ShowArgs {
                words: words[1..]
                    .iter()
                    .filter(|w| **w != "--json" && **w != "--openconfig")
                    .map(|w| w.to_string())
                    .collect(),
                json: words.contains(&"--json") || words.contains(&"--openconfig"),
                openconfig: words.contains(&"--openconfig"),
                socket: socket.to_path_buf(),
                config: None,
                state_dir: None,
            };
            if let Err(e) = show(&a) {
                eprintln!("{e}");
            }
        }
    }
    true
}

/// One JSON document and a newline.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default() + "\n"
}

#[derive(Subcommand)]
enum MkaCmd {
    /// Decode every EAPOL-MKA frame of IN.pcap (pcap or pcapng): every parameter set, the ICV
    /// checked with the ICK of --cak/--ckn, distributed SAKs unwrapped with the KEK.
    /// Exits 0 when every MKPDU parsed and verified, 1 when any did not, 2 on a usage or file error.
    Decode(MkaDecodeArgs),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("cak_source").required(true).multiple(false)))]
struct MkaDecodeArgs {
    /// The CAK in hex (16 or 32 octets). Readable by other local users on the command line:
    /// prefer --cak-file.
    #[arg(long, group = "cak_source")]
    cak: Option<String>,
    /// A file holding the CAK in hex (`-`: standard input).
    #[arg(long, value_name = "PATH", group = "cak_source")]
    cak_file: Option<PathBuf>,
    /// The CKN in hex (1 to 32 octets).
    #[arg(long)]
    ckn: String,
    /// Print unwrapped SAKs (and CAKs) in hex instead of ***.
    #[arg(long)]
    show_keys: bool,
    /// One JSON object per MKPDU per line.
    #[arg(long)]
    json: bool,
    input: PathBuf,
}

#[derive(Subcommand)]
enum PcapCmd {
    /// Protect every frame of IN.pcap into OUT.pcap, PN counting up from --pn.
    Protect(ProtectArgs),
    /// Validate every frame of IN.pcap and write the recovered plaintext frames to OUT.pcap.
    /// Exits 0 when every frame validated, 1 when any did not, 2 on a usage or file error.
    Validate(ValidateArgs),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("sak_source").required(true).multiple(false)))]
struct KeyArgs {
    /// GCM-AES-128, GCM-AES-256, GCM-AES-XPN-128 or GCM-AES-XPN-256.
    #[arg(long, value_parser = parse_suite)]
    cipher_suite: CipherSuite,
    /// The SAK in hex (16 or 32 octets). Readable by other local users on the command line:
    /// prefer --sak-file.
    #[arg(long, group = "sak_source")]
    sak: Option<String>,
    /// A file holding the SAK in hex (`-`: standard input).
    #[arg(long, value_name = "PATH", group = "sak_source")]
    sak_file: Option<PathBuf>,
    /// Short SCI in hex (XPN suites).
    #[arg(long, value_parser = parse_ssci)]
    ssci: Option<Ssci>,
    /// 96-bit salt in hex (XPN suites).
    #[arg(long, value_parser = parse_salt)]
    salt: Option<Salt>,
    /// AEAD implementation.
    #[arg(long, default_value = "ring", value_parser = parse_backend)]
    backend: Backend,
    /// Print the counters as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ProtectArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The transmitting SC's SCI in hex (16 digits).
    #[arg(long, value_parser = parse_sci)]
    sci: Sci,
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    an: u8,
    /// First PN (decimal or 0x-hex; the full 64-bit PN for XPN).
    #[arg(long, value_parser = pcap::parse_u64)]
    pn: u64,
    #[arg(long, default_value = "0", value_parser = parse_offset)]
    conf_offset: ConfOffset,
    /// E=C=0: authenticate without encrypting.
    #[arg(long)]
    integrity_only: bool,
    /// Leave the SCI out of the SecTAG.
    #[arg(long)]
    no_sci: bool,
    /// Set ES (end station: SCI = MAC SA ‖ 00-01) when the SCI is left out.
    #[arg(long)]
    es: bool,
    /// Set SCB (single copy broadcast) when the SCI is left out.
    #[arg(long)]
    scb: bool,
    input: PathBuf,
    output: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum ValidateMode {
    Strict,
    Check,
    Disabled,
}

#[derive(Args)]
struct ValidateArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The peer's SCI; without it, each explicit (or ES-derived) SCI in the capture is accepted.
    #[arg(long, value_parser = parse_sci)]
    sci: Option<Sci>,
    #[arg(long, default_value = "0", value_parser = parse_offset)]
    conf_offset: ConfOffset,
    /// Lowest acceptable PN (decimal or 0x-hex; for XPN it also anchors PN recovery).
    #[arg(long, default_value = "1", value_parser = pcap::parse_u64)]
    lowest_pn: u64,
    #[arg(long, default_value_t = 0)]
    replay_window: u32,
    #[arg(long, value_enum, default_value = "strict")]
    validate_frames: ValidateMode,
    input: PathBuf,
    output: PathBuf,
}

// clap value parsers: clap prints `invalid value 'X' for '--ARG <ARG>': ` and the error's text.
fn parse_suite(s: &str) -> Result<CipherSuite, ParseError> {
    s.parse()
}
fn parse_sci(s: &str) -> Result<Sci, ParseError> {
    s.parse()
}
fn parse_ssci(s: &str) -> Result<Ssci, ParseError> {
    s.parse()
}
fn parse_salt(s: &str) -> Result<Salt, ParseError> {
    s.parse()
}
fn parse_backend(s: &str) -> Result<Backend, BackendParseError> {
    s.parse()
}
fn parse_offset(s: &str) -> Result<ConfOffset, OffsetError> {
    Ok(ConfOffset::from_octets(pcap::parse_u64(s)?)?)
}

/// Why a `--conf-offset` is refused.
#[derive(Debug, thiserror::Error)]
enum OffsetError {
    #[error(transparent)]
    NotANumber(#[from] pcap::NotANumber),
    #[error(transparent)]
    Offset(#[from] ParseError),
}

/// [`control::keyarg::key_text`], its errors as usage errors (exit 2).
fn key_text(
    opt: &'static str,
    value: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<zeroize::Zeroizing<String>, pcap::PcapToolError> {
    control::keyarg::key_text(opt, value, file).map_err(|e| pcap::PcapToolError::Usage(e.to_string()))
}

fn key_options(k: &KeyArgs) -> Result<KeyOptions, pcap::PcapToolError> {
    Ok(KeyOptions {
        cipher_suite: k.cipher_suite,
        sak: pcap::parse_sak(
            &key_text("--sak", k.sak.as_deref(), k.sak_file.as_deref())?,
            k.cipher_suite,
        )?,
        ssci: k.ssci,
        salt: k.salt,
        backend: k.backend,
    })
}

fn print_report(r: &Report, json: bool, only: &[&str]) {
    if json {
        let v = serde_json::json!({
            "frames_in": r.frames_in,
            "frames_out": r.frames_out,
            "failures": r.failures,
            "counters": r.counters,
        });
        println!("{v}");
    } else {
        println!("frames in: {}, frames out: {}", r.frames_in, r.frames_out);
        print!("{}", pcap::render_counters(&r.counters, only));
    }
}

fn run(cli: Cli) -> Result<ExitCode, pcap::PcapToolError> {
    let Some(cmd) = cli.cmd else {
        return Ok(shell(&cli.socket));
    };
    match cmd {
        Cmd::Show(a) => show(&a),
        Cmd::Commit(a) => commit(&a),
        Cmd::Crypto(c) => Ok(control::ppk::cli::main_crypto(c)),
        Cmd::Mka(MkaCmd::Decode(a)) => {
            let cak = key_text("--cak", a.cak.as_deref(), a.cak_file.as_deref())?;
            let opts = control::decode::DecodeOptions::from_hex(&cak, &a.ckn, a.show_keys, a.json)?;
            let stdout = std::io::stdout();
            let r = control::decode::decode_capture(&opts, &a.input, &mut stdout.lock())?;
            if !a.json {
                println!(
                    "frames: {}, MKPDUs: {}, failed: {}, other EAPOL (skipped): {}",
                    r.frames, r.mkpdus, r.failures, r.other_eapol
                );
            }
            Ok(if r.failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Pcap(PcapCmd::Protect(a)) => {
            let opts = ProtectOptions {
                key: key_options(&a.key)?,
                sci: a.sci,
                an: a.an,
                pn: a.pn,
                conf_offset: a.conf_offset,
                integrity_only: a.integrity_only,
                no_sci: a.no_sci,
                es: a.es,
                scb: a.scb,
            };
            let r = pcap::protect(&opts, &a.input, &a.output)?;
            print_report(&r, a.key.json, &["Out"]);
            Ok(if r.failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Pcap(PcapCmd::Validate(a)) => {
            let opts = ValidateOptions {
                key: key_options(&a.key)?,
                sci: a.sci,
                conf_offset: a.conf_offset,
                lowest_pn: a.lowest_pn,
                replay_window: a.replay_window,
                validate_frames: match a.validate_frames {
                    ValidateMode::Strict => ValidateFrames::Strict,
                    ValidateMode::Check => ValidateFrames::Check,
                    ValidateMode::Disabled => ValidateFrames::Disabled,
                },
            };
            let r = pcap::validate(&opts, &a.input, &a.output)?;
            print_report(&r, a.key.json, &["In"]);
            Ok(if r.failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
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
        eprintln!("macsecctl: warning: core dumps stay enabled: {e}");
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("macsecctl: error: {e}");
            ExitCode::from(2)
        }
    }
}
