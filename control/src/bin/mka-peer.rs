//! mka-peer: one MKA port (the `mka::kay` engine) on a Linux interface, with no
//! dataplane: it exchanges MKPDUs over an AF_PACKET socket and prints the engine's events and SA
//! commands as JSON lines. Used to try MKA live against another implementation without a
//! dataplane (tests/tests/afpacket.rs secures a session between two of them on a veth pair).
//!
//! `mka-peer --iface IF --cak-file PATH|--cak HEX --ckn HEX [--priority N] [--cipher-suite CS] [--duration SECS]
//!  [--show-keys]`
//! Exit status: 0 when the session was secured, 1 when not, 2 on a usage or socket error.

#![forbid(unsafe_code)]

use clap::Parser;
use macsec::secy::{CipherSuite, Sci};
use mka::kay::{Mka, MkaConfig, MkaEvent, SaCommand};
use mka::{Cak, Ckn};
use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "mka-peer",
    about = "Run one MKA port on an interface (no dataplane); JSON lines out"
)]
#[command(group(clap::ArgGroup::new("cak_source").required(true).multiple(false)))]
struct Cli {
    #[arg(long)]
    iface: String,
    /// The CAK in hex. Readable by other local users on the command line: prefer --cak-file.
    #[arg(long, group = "cak_source")]
    cak: Option<String>,
    /// A file holding the CAK in hex (`-`: standard input).
    #[arg(long, value_name = "PATH", group = "cak_source")]
    cak_file: Option<std::path::PathBuf>,
    #[arg(long)]
    ckn: String,
    #[arg(long, default_value_t = 16)]
    priority: u8,
    #[arg(long, default_value = "GCM-AES-128")]
    cipher_suite: String,
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Print SAKs in hex (for interop checks on lab keys only).
    #[arg(long)]
    show_keys: bool,
}

const ETH_P_PAE: u16 = 0x888e;

/// The PAE group address (802.1X-2020 11.1.1), which MKPDUs are sent to.
const PAE_GROUP: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x03];

/// An AF_PACKET socket bound to one interface for EAPOL frames (non-blocking, PAE group joined).
struct PacketSocket(afpacket::PacketSocket);

impl PacketSocket {
    fn open(iface: &str) -> io::Result<PacketSocket> {
        let sock = afpacket::PacketSocket::open(iface, ETH_P_PAE).map_err(afpacket::OpenError::into_io)?;
        sock.set_nonblocking(true)?;
        // Receive the PAE group address.
        sock.add_multicast(PAE_GROUP)?;
        Ok(PacketSocket(sock))
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.0.recv(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn send(&self, frame: &[u8]) -> io::Result<()> {
        self.0.send(frame).map(|_| ())
    }

    fn wait(&self, timeout: Duration) {
        let _ = self.0.wait_readable(timeout.min(Duration::from_secs(1)));
    }
}

fn mac_of(iface: &str) -> io::Result<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/address"))?;
    let b: Vec<u8> = text
        .trim()
        .split(':')
        .filter_map(|x| u8::from_str_radix(x, 16).ok())
        .collect();
    b.try_into()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad MAC address"))
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("mka-peer: error: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // Keys live in this process: keep its memory out of core files.
    if let Err(e) = ipc::secret::no_core_dumps() {
        eprintln!("mka-peer: warning: core dumps stay enabled: {e}");
    }
    let cli = Cli::parse();
    let cak = match control::keyarg::key_text("--cak", cli.cak.as_deref(), cli.cak_file.as_deref()) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let (ckn, cak) = match (Ckn::from_hex(&cli.ckn), Cak::from_hex(&cak)) {
        (Ok(n), Ok(k)) => (n, k),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let suite: CipherSuite = match cli.cipher_suite.parse() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mac = match mac_of(&cli.iface) {
        Ok(m) => m,
        Err(e) => return fail(format!("{}: {e}", cli.iface)),
    };
    let sock = match PacketSocket::open(&cli.iface) {
        Ok(s) => s,
        Err(e) => return fail(format!("AF_PACKET socket on {}: {e}", cli.iface)),
    };
    let mut cfg = MkaConfig::new(Sci::from_mac_port(mac, 1), suite);
    cfg.key_server_priority = cli.priority;
    let start = Instant::now();
    let mut mka = match Mka::new(cfg, vec![(ckn, cak)], Duration::ZERO) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let mut buf = vec![0u8; 2048];
    let limit = Duration::from_secs_f64(cli.duration);
    let mut secured = false;
    while start.elapsed() < limit {
        let now = start.elapsed();
        loop {
            match sock.recv(&mut buf) {
                Ok(Some(n)) => mka.handle_mkpdu(start.elapsed(), &buf[..n]),
                Ok(None) => break,
                Err(e) => return fail(format!("recv: {e}")),
            }
        }
        if mka.poll_timeout().is_some_and(|t| t <= now) {
            mka.handle_timeout(now);
        }
        while let Some(c) = mka.poll_sa_command() {
            let j = match &c {
                SaCommand::InstallRx {
                    sci,
                    an,
                    ki,
                    sak,
                    ssci,
                    salt,
                    lowest_pn,
                    suite,
                } => serde_json::json!({
                    "sa": "install_rx", "sci": sci.to_string(), "an": an, "ki": ki.to_string(), "suite": suite.name(),
                    "ssci": ssci.0, "salt": salt.to_string(), "lowest_pn": lowest_pn,
                    "sak": if cli.show_keys { hex::encode(sak.as_bytes()) } else { "***".into() },
                }),
                SaCommand::InstallTx {
                    an,
                    ki,
                    sak,
                    suite,
                    ssci,
                    next_pn,
                    conf_offset,
                    ..
                } => serde_json::json!({
                    "conf_offset": conf_offset.map(|o| o.octets()),
                    "sa": "install_tx", "an": an, "ki": ki.to_string(), "suite": suite.name(), "ssci": ssci.0, "next_pn": next_pn,
                    "sak": if cli.show_keys { hex::encode(sak.as_bytes()) } else { "***".into() },
                }),
                other => serde_json::json!({ "sa": format!("{other:?}") }),
            };
            println!("{j}");
        }
        let mut f = Vec::new();
        while mka.poll_transmit(&mut f).is_some() {
            if let Err(e) = sock.send(&f) {
                return fail(format!("send: {e}"));
            }
        }
        while let Some(e) = mka.poll_event() {
            if matches!(e, MkaEvent::SessionSecured { .. }) {
                secured = true;
            }
            println!(
                "{}",
                serde_json::json!({ "t": now.as_secs_f64(), "event": format!("{e:?}") })
            );
        }
        let wait = mka
            .poll_timeout()
            .map(|t| t.saturating_sub(start.elapsed()))
            .unwrap_or(Duration::from_millis(100));
        sock.wait(wait.clamp(Duration::from_millis(1), Duration::from_millis(100)));
    }
    let st = mka.participants();
    println!(
        "{}",
        serde_json::json!({
            "final": true,
            "secured": mka.is_secured(),
            "key_server": mka.key_server().map(|s| s.to_string()),
            "live_peers": st.first().map(|p| p.live_peers.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            "tx_key": mka.tx_key().map(|(ki, an)| format!("{ki} AN {an}")),
            "stats": mka.stats,
        })
    );
    if secured && mka.is_secured() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
