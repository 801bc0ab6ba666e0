//! macsecd's metrics endpoint (`--metrics ADDR`, off by default): the 802.1AE SecY and SA counters
//! and SA PNs the dataplane holds, and the MKA sessions and counters macsecd holds, in the
//! Prometheus text format (0.0.4) or OpenMetrics 1.0 when the scraper asks for it (`Accept:
//! application/openmetrics-text`). Names: `macsec_` prefix, snake case, counters end in `_total`;
//! the 802.1AE counters keep the standard's names (`InPktsOK` → `macsec_secy_in_pkts_ok_total`).
//! Nothing secret is ever part of it (no keys, no key check values); CKNs are, as in `show`.
//!
//! The HTTP side is one thread that serves one connection at a time: a scraper's request line and
//! headers must arrive within [`REQUEST_TIMEOUT`] and fit [`MAX_REQUEST`] octets; `GET /metrics`
//! (or `/`) is answered, anything else gets 404/405/400; the connection then closes.

use crate::show::{SessionRow, ShowData};
use ipc::{LinkCounters, SaState};
use macsec::secy::SecyCounters;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The request line and headers must arrive within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// The most octets of request line and headers read.
pub const MAX_REQUEST: usize = 8 * 1024;

/// What the dataplane said of one link (None: it did not answer).
#[derive(Debug, Clone, Default)]
pub struct LinkView {
    pub interface: String,
    pub counters: Option<(SecyCounters, LinkCounters)>,
    pub sa: Option<SaState>,
}

/// `InPktsUnknownSCI` → `in_pkts_unknown_sci`.
pub fn snake(name: &str) -> String {
    let c: Vec<char> = name.chars().collect();
    let mut s = String::with_capacity(name.len() + 4);
    for (i, &ch) in c.iter().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            let prev = c[i - 1];
            let next_lower = c.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower)
            {
                s.push('_');
            }
        }
        s.push(ch.to_ascii_lowercase());
    }
    s
}

/// Milliseconds shown as seconds with three decimals.
struct Seconds(u64);

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// One metric family being written: its `# HELP`/`# TYPE` once, then samples.
struct Out {
    text: String,
    openmetrics: bool,
    families: std::collections::BTreeSet<String>,
}

impl Out {
    /// A sample of family `name` (without `_total`) with `labels`.
    fn sample(
        &mut self,
        name: &str,
        counter: bool,
        help: &str,
        labels: &[(&str, &str)],
        value: impl std::fmt::Display,
    ) {
        if self.families.insert(name.to_string()) {
            let typed = if counter && !self.openmetrics {
                format!("{name}_total")
            } else {
                name.to_string()
            };
            let _ = writeln!(self.text, "# HELP {typed} {help}");
            let _ = writeln!(
                self.text,
                "# TYPE {typed} {}",
                if counter { "counter" } else { "gauge" }
            );
        }
        self.text.push_str(name);
        if counter {
            self.text.push_str("_total");
        }
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// The exposition of `data` and the dataplane's `links`. Families appear in a fixed order and
/// samples in the order of the interfaces, so two scrapes of an idle appliance are identical.
/// `now_ms` (Unix ms) is when the scrape is made: the SAs' ages count to it.
pub fn render(data: &ShowData, links: &[LinkView], openmetrics: bool, now_ms: u64) -> String {
    let mut o = Out {
        text: String::new(),
        openmetrics,
        families: Default::default(),
    };
    for r in &data.sessions {
        session(&mut o, r, now_ms);
    }
    for (interface, st) in &data.statistics {
        let i = interface.as_str();
        // Every numeric field of the engine's counters, by its own name (a new counter appears
        // without a change here); nested groups (SAK Use drops) as a `reason` label.
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(st) {
            for (k, v) in &m {
                match v {
                    serde_json::Value::Number(n) => {
                        if let Some(n) = n.as_u64() {
                            let name = format!("macsec_mka_{}", snake(k));
                            o.sample(
                                &name,
                                true,
                                "MKA counter of the interface's session (show macsec mka statistics).",
                                &[("interface", i)],
                                n,
                            );
                        }
                    }
                    serde_json::Value::Object(group) => {
                        for (reason, v) in group {
                            if let Some(n) = v.as_u64() {
                                let name = format!("macsec_mka_{}", snake(k));
                                o.sample(
                                    &name,
                                    true,
                                    "MKA counter of the interface's session, by reason.",
                                    &[("interface", i), ("reason", reason)],
                                    n,
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for l in links {
        link(&mut o, l, now_ms);
    }
    if openmetrics {
        o.text.push_str("# EOF\n");
    }
    o.text
}

fn session(o: &mut Out, r: &SessionRow, now_ms: u64) {
    let i = r.interface.as_str();
    let secured = r.status.starts_with("Secured");
    o.sample(
        "macsec_mka_session_info",
        false,
        "The interface's MKA session: its status, why not secured (code), CKN and modes (always 1).",
        &[
            ("interface", i),
            ("status", &r.status),
            ("ckn", &r.ckn),
            ("auth_mode", &r.auth_mode),
            (
                "key_distribution_mode",
                if r.key_distribution_mode.is_empty() {
                    "SAK"
                } else {
                    &r.key_distribution_mode
                },
            ),
            ("not_secured", r.not_secured_code.as_deref().unwrap_or("")),
        ],
        1,
    );
    o.sample(
        "macsec_mka_session_secured",
        false,
        "1 when the session is Secured.",
        &[("interface", i)],
        u128::from(secured),
    );
    if let Some(t) = r.secured_since_ms {
        o.sample(
            "macsec_mka_session_age_seconds",
            false,
            "Seconds since the session was secured (without a break).",
            &[("interface", i)],
            Seconds(now_ms.saturating_sub(t)),
        );
    }
    o.sample(
        "macsec_mka_live_peers",
        false,
        "Live peers of the session.",
        &[("interface", i)],
        r.live_peers.len() as u128,
    );
    o.sample(
        "macsec_mka_key_server",
        false,
        "1 when this side is the key server.",
        &[("interface", i)],
        u128::from(r.key_server),
    );
    if let Some(kn) = r.latest_kn {
        o.sample(
            "macsec_mka_latest_key_number",
            false,
            "Key Number of the latest SAK.",
            &[("interface", i)],
            kn,
        );
    }
    if let Some(an) = r.latest_an {
        o.sample(
            "macsec_mka_latest_association_number",
            false,
            "AN of the latest SAK.",
            &[("interface", i)],
            an,
        );
    }
}

fn link(o: &mut Out, l: &LinkView, now_ms: u64) {
    let i = l.interface.as_str();
    o.sample(
        "macsec_dataplane_up",
        false,
        "1 when the dataplane answered for the link in this scrape.",
        &[("interface", i)],
        u128::from(l.counters.is_some()),
    );
    if let Some((secy, link)) = &l.counters {
        for (std, v) in secy.iter() {
            let name = format!("macsec_secy_{}", snake(std));
            o.sample(
                &name,
                true,
                &format!("802.1AE-2018 10.7 SecY counter {std}."),
                &[("interface", i)],
                v,
            );
        }
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(link) {
            for (k, v) in &m {
                if let Some(n) = v.as_u64() {
                    let name = format!("macsec_dataplane_{k}");
                    o.sample(
                        &name,
                        true,
                        "Dataplane counter of the link beyond 802.1AE.",
                        &[("interface", i)],
                        n,
                    );
                }
            }
        }
    }
    let Some(sa) = &l.sa else {
        return;
    };
    let xpn = sa.policy.is_some_and(|p| p.cipher_suite.is_xpn());
    // The first PN that cannot be used: 2^32, or 2^64 with XPN.
    let limit: u128 = if xpn { 1 << 64 } else { 1 << 32 };
    for t in &sa.tx {
        let an = t.an.to_string();
        let lab = [("interface", i), ("an", an.as_str())];
        o.sample(
            "macsec_tx_sa_next_pn",
            false,
            "Next PN the transmit SA uses.",
            &lab,
            t.next_pn,
        );
        o.sample(
            "macsec_tx_sa_pn_remaining",
            false,
            "PNs the transmit SA has left before exhaustion.",
            &lab,
            limit.saturating_sub(t.next_pn.into()),
        );
        o.sample(
            "macsec_tx_sa_in_use",
            false,
            "1 for the SA that transmits (encoding SA).",
            &lab,
            u128::from(t.in_use),
        );
        if t.installed_unix_ms != 0 {
            o.sample(
                "macsec_tx_sa_age_seconds",
                false,
                "Seconds since the SA was installed in the dataplane.",
                &lab,
                Seconds(now_ms.saturating_sub(t.installed_unix_ms)),
            );
        }
        o.sample(
            "macsec_tx_sa_out_pkts_protected",
            true,
            "802.1AE OutPktsProtected of the SA.",
            &lab,
            t.out_pkts_protected,
        );
        o.sample(
            "macsec_tx_sa_out_pkts_encrypted",
            true,
            "802.1AE OutPktsEncrypted of the SA.",
            &lab,
            t.out_pkts_encrypted,
        );
    }
    for r in &sa.rx {
        let (sci, an) = (format!("{:016x}", r.sci), r.an.to_string());
        let lab = [("interface", i), ("sci", sci.as_str()), ("an", an.as_str())];
        o.sample(
            "macsec_rx_sa_next_pn",
            false,
            "Next PN the receive SA expects.",
            &lab,
            r.next_pn,
        );
        o.sample(
            "macsec_rx_sa_lowest_pn",
            false,
            "Lowest PN the receive SA accepts.",
            &lab,
            r.lowest_pn,
        );
        o.sample(
            "macsec_rx_sa_enabled",
            false,
            "1 when the receive SA is enabled.",
            &lab,
            u128::from(r.enabled),
        );
        if r.installed_unix_ms != 0 {
            o.sample(
                "macsec_rx_sa_age_seconds",
                false,
                "Seconds since the SA was installed in the dataplane.",
                &lab,
                Seconds(now_ms.saturating_sub(r.installed_unix_ms)),
            );
        }
        for (name, v) in [
            ("in_pkts_ok", r.in_pkts_ok),
            ("in_pkts_invalid", r.in_pkts_invalid),
            ("in_pkts_not_valid", r.in_pkts_not_valid),
            ("in_pkts_not_using_sa", r.in_pkts_not_using_sa),
            ("in_pkts_unused_sa", r.in_pkts_unused_sa),
        ] {
            o.sample(
                &format!("macsec_rx_sa_{name}"),
                true,
                "802.1AE-2018 10.7.11 receive SA counter.",
                &lab,
                v,
            );
        }
    }
}

/// What a request asked for.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    Metrics { openmetrics: bool },
    NotFound,
    NotGet,
    Bad,
}

fn parse_request(head: &str) -> Asked {
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Asked::Bad;
    };
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return Asked::Bad;
    }
    if method != "GET" {
        return Asked::NotGet;
    }
    let path = target.split('?').next().unwrap_or("");
    if path != "/metrics" && path != "/" {
        return Asked::NotFound;
    }
    let openmetrics = lines.any(|h| {
        h.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("accept") && v.contains("application/openmetrics-text")
        })
    });
    Asked::Metrics { openmetrics }
}

/// Reads a request's head (up to the blank line), within the time and size limits.
fn read_head(conn: &mut TcpStream) -> Option<String> {
    let t0 = Instant::now();
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = REQUEST_TIMEOUT.checked_sub(t0.elapsed())?;
        conn.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(buf).ok()
}

fn respond(conn: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let _ = conn.set_write_timeout(Some(REQUEST_TIMEOUT));
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
}

/// Serves `listener` until `stop` is set; `body(openmetrics)` makes each exposition.
pub fn serve(listener: TcpListener, stop: Arc<AtomicBool>, body: impl Fn(bool) -> String) {
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::Relaxed) {
        let mut conn = match listener.accept() {
            Ok((c, _)) => c,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = conn.set_nonblocking(false);
        let Some(head) = read_head(&mut conn) else {
            respond(
                &mut conn,
                "400 Bad Request",
                "text/plain",
                "bad or slow request\n",
            );
            continue;
        };
        match parse_request(&head) {
            Asked::Metrics { openmetrics } => {
                let ct = if openmetrics {
                    "application/openmetrics-text; version=1.0.0; charset=utf-8"
                } else {
                    "text/plain; version=0.0.4; charset=utf-8"
                };
                respond(&mut conn, "200 OK", ct, &body(openmetrics));
            }
            Asked::NotFound => respond(&mut conn, "404 Not Found", "text/plain", "only /metrics\n"),
            Asked::NotGet => respond(&mut conn, "405 Method Not Allowed", "text/plain", "only GET\n"),
            Asked::Bad => respond(&mut conn, "400 Bad Request", "text/plain", "bad request\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_names_in_snake_case() {
        for (std, want) in [
            ("InPktsOK", "in_pkts_ok"),
            ("InPktsUnknownSCI", "in_pkts_unknown_sci"),
            ("InPktsNotUsingSA", "in_pkts_not_using_sa"),
            ("OutOctetsEncrypted", "out_octets_encrypted"),
            ("mkpdus_tx", "mkpdus_tx"),
        ] {
            assert_eq!(snake(std), want);
        }
    }

    #[test]
    fn requests() {
        assert_eq!(
            parse_request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Asked::Metrics { openmetrics: false }
        );
        assert_eq!(
            parse_request("GET /metrics?x=1 HTTP/1.1\r\naccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n"),
            Asked::Metrics { openmetrics: true }
        );
        assert_eq!(parse_request("GET /other HTTP/1.1\r\n\r\n"), Asked::NotFound);
        assert_eq!(parse_request("POST /metrics HTTP/1.1\r\n\r\n"), Asked::NotGet);
        for bad in [
            "",
            "GET",
            "GET /metrics",
            "GET /metrics FTP/1.0\r\n\r\n",
            "GET / HTTP/1.1 x\r\n\r\n",
        ] {
            assert_eq!(parse_request(bad), Asked::Bad, "{bad:?}");
        }
    }

    fn fixture() -> (ShowData, Vec<LinkView>) {
        let data = ShowData {
            sessions: vec![SessionRow {
                interface: "TenGigE0/0/0/1".into(),
                local_tx_sci: 0x001d_e5e9_aa39_0001,
                peers: 1,
                status: "Secured".into(),
                key_server: true,
                auth_mode: "PRIMARY-PSK".into(),
                ckn: "01".into(),
                live_peers: vec![0x001d_e5e9_b1bf_0001],
                icv_failures: 0,
                latest_kn: Some(3),
                latest_an: Some(2),
                key_distribution_mode: String::new(),
                ppk_key_id: None,
                ppk_failure: None,
                sak_refused: None,
                not_secured_reason: None,
                not_secured_code: None,
                secured_since_ms: Some(1_000_000),
                detail: vec![],
            }],
            statistics: vec![(
                "TenGigE0/0/0/1".into(),
                mka::kay::MkaStats {
                    mkpdus_tx: 10,
                    sak_generated: 3,
                    ..Default::default()
                },
            )],
            ..Default::default()
        };
        let secy = SecyCounters {
            in_pkts_ok: 5,
            out_pkts_encrypted: 7,
            ..Default::default()
        };
        let sa = SaState {
            policy: None,
            tx_sci: 0x001d_e5e9_aa39_0001,
            encoding_an: Some(2),
            tx: vec![ipc::TxSaState {
                an: 2,
                next_pn: 8,
                in_use: true,
                ctx_salt: None,
                ki: None,
                key_check: Some([9; 16]),
                out_pkts_protected: 0,
                out_pkts_encrypted: 7,
                installed_unix_ms: 1_000_000,
            }],
            rx: vec![],
        };
        let links = vec![LinkView {
            interface: "TenGigE0/0/0/1".into(),
            counters: Some((secy, LinkCounters::default())),
            sa: Some(sa),
        }];
        (data, links)
    }

    #[test]
    fn exposition_of_a_secured_link() {
        let (data, links) = fixture();
        let text = render(&data, &links, false, 1_061_005);
        for line in [
            "# TYPE macsec_secy_in_pkts_ok_total counter",
            "macsec_secy_in_pkts_ok_total{interface=\"TenGigE0/0/0/1\"} 5",
            "macsec_secy_out_pkts_encrypted_total{interface=\"TenGigE0/0/0/1\"} 7",
            "macsec_mka_session_secured{interface=\"TenGigE0/0/0/1\"} 1",
            "macsec_mka_session_info{interface=\"TenGigE0/0/0/1\",status=\"Secured\",ckn=\"01\",auth_mode=\"PRIMARY-PSK\",key_distribution_mode=\"SAK\",not_secured=\"\"} 1",
            "macsec_mka_live_peers{interface=\"TenGigE0/0/0/1\"} 1",
            "macsec_mka_latest_key_number{interface=\"TenGigE0/0/0/1\"} 3",
            "macsec_mka_mkpdus_tx_total{interface=\"TenGigE0/0/0/1\"} 10",
            "macsec_mka_sak_generated_total{interface=\"TenGigE0/0/0/1\"} 3",
            "macsec_tx_sa_next_pn{interface=\"TenGigE0/0/0/1\",an=\"2\"} 8",
            "macsec_tx_sa_pn_remaining{interface=\"TenGigE0/0/0/1\",an=\"2\"} 4294967288",
            "macsec_tx_sa_in_use{interface=\"TenGigE0/0/0/1\",an=\"2\"} 1",
            "macsec_tx_sa_age_seconds{interface=\"TenGigE0/0/0/1\",an=\"2\"} 61.005",
            "macsec_mka_session_age_seconds{interface=\"TenGigE0/0/0/1\"} 61.005",
            "macsec_dataplane_up{interface=\"TenGigE0/0/0/1\"} 1",
            "macsec_dataplane_tx_bypass_total{interface=\"TenGigE0/0/0/1\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        // Each family's HELP and TYPE once; every sample line is `name{labels} value`.
        let types = text
            .lines()
            .filter(|l| l.starts_with("# TYPE macsec_secy_in_pkts_ok_total"))
            .count();
        assert_eq!(types, 1);
        assert!(!text.contains("0909090909"), "no key check value");
        assert!(!text.contains("# EOF"));
        let om = render(&data, &links, true, 1_061_005);
        assert!(om.ends_with("# EOF\n"));
        assert!(om.lines().any(|l| l == "# TYPE macsec_secy_in_pkts_ok counter"));
        assert!(om
            .lines()
            .any(|l| l == "macsec_secy_in_pkts_ok_total{interface=\"TenGigE0/0/0/1\"} 5"));
        // A dataplane that did not answer: up 0 and no counters.
        let down = [LinkView {
            interface: "TenGigE0/0/0/1".into(),
            ..Default::default()
        }];
        let text = render(&data, &down, false, 1_061_005);
        assert!(text
            .lines()
            .any(|l| l == "macsec_dataplane_up{interface=\"TenGigE0/0/0/1\"} 0"));
        assert!(!text.contains("macsec_secy_"));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn serves_over_tcp() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let t = std::thread::spawn(move || serve(l, s2, |om| format!("x {}\n", u8::from(om))));
        let ask = |req: &str| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(req.as_bytes()).unwrap();
            let mut s = String::new();
            c.read_to_string(&mut s).unwrap();
            s
        };
        let r = ask("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(
            r.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4"),
            "{r}"
        );
        assert!(r.ends_with("\r\n\r\nx 0\n"), "{r}");
        let r = ask("GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text\r\n\r\n");
        assert!(
            r.contains("Content-Type: application/openmetrics-text; version=1.0.0") && r.ends_with("x 1\n"),
            "{r}"
        );
        assert!(ask("GET /x HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(ask("DELETE / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        // Too long a head: 400, and the server goes on.
        let long = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_REQUEST));
        let mut c = TcpStream::connect(addr).unwrap();
        let _ = c.write_all(long.as_bytes());
        let mut s = String::new();
        let _ = c.read_to_string(&mut s);
        assert!(s.starts_with("HTTP/1.1 400"), "{s}");
        assert!(ask("GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    }
}
