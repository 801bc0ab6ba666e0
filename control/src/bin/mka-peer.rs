//! mka-peer: one MKA port (the `mka::kay` engine) on a Linux interface, with no
//! dataplane: it exchanges MKPDUs over an AF_PACKET socket and prints the engine's events and SA
//! commands as JSON lines. Used to interoperate live with other MKA implementations
//! (scripts/interop-wpa.sh runs it against wpa_supplicant 2.10 on a veth).
//!
//! `mka-peer --iface IF --cak HEX --ckn HEX [--priority N] [--cipher-suite CS] [--duration SECS]
//!  [--show-keys]`
//! Exit status: 0 when the session was secured, 1 when not, 2 on a usage or socket error.

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
struct Cli {
    #[arg(long)]
    iface: String,
    #[arg(long)]
    cak: String,
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

/// An AF_PACKET socket bound to one interface for EAPOL frames.
struct PacketSocket {
    fd: i32,
}

impl PacketSocket {
    fn open(iface: &str) -> io::Result<PacketSocket> {
        let name = std::ffi::CString::new(iface)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"))?;
        // SAFETY: if_nametoindex reads a NUL-terminated string we own.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: plain socket(2) call; the fd is owned by PacketSocket and closed on drop.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK,
                (ETH_P_PAE.to_be()) as i32,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let sock = PacketSocket { fd };
        // SAFETY: sockaddr_ll is plain old data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_PAE.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: bind with a valid sockaddr_ll of the size we pass.
        let r = unsafe {
            libc::bind(
                fd,
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // Receive the PAE group address.
        // SAFETY: packet_mreq is plain old data; zeroed is valid.
        let mut mreq: libc::packet_mreq = unsafe { std::mem::zeroed() };
        mreq.mr_ifindex = ifindex as i32;
        mreq.mr_type = libc::PACKET_MR_MULTICAST as u16;
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);
        // SAFETY: setsockopt with a valid packet_mreq of the size we pass.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                &mreq as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::packet_mreq>() as u32,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sock)
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: recv into a buffer we own, with its length.
        let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::WouldBlock {
                Ok(None)
            } else {
                Err(e)
            };
        }
        Ok(Some(n as usize))
    }

    fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: send from a buffer we own, with its length.
        let n = unsafe { libc::send(self.fd, frame.as_ptr() as *const libc::c_void, frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn wait(&self, timeout: Duration) {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, timeout.as_millis().min(1000) as i32) };
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.fd) };
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
    let cli = Cli::parse();
    let (ckn, cak) = match (Ckn::from_hex(&cli.ckn), Cak::from_hex(&cli.cak)) {
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
