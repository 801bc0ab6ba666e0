//! The `macsec-dataplane --config FILE` TOML: the links, each with its host and line DPDK ports,
//! its SecY policy and optional static SAs for lab use (manual keys before MKA, as Juniper's and
//! Arista's static-SAK modes do). Errors name the link and the field, never a key.

#![forbid(unsafe_code)]

use ipc::{ClearPolicy, KeyMsg, PolicyMsg, SecurityPolicy};
use macsec::crypto::Backend;
use macsec::secy::{CipherSuite, Salt, Sci, Ssci, ValidateFrames};
use macsec::wire::ethernet::{EtherType, MacAddr};
use serde::Deserialize;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0}")]
    Syntax(String),
    #[error("link {link}: {msg}")]
    Link { link: String, msg: String },
    #[error("{0}")]
    Other(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    backend: Option<String>,
    #[serde(default = "default_control_timeout")]
    control_timeout_secs: i64,
    #[serde(default)]
    link: Vec<RawLink>,
}

/// [`DataplaneConfig::control_timeout`]'s default (s).
pub const DEFAULT_CONTROL_TIMEOUT_SECS: i64 = 60;
/// Its largest value (s): one day.
pub const MAX_CONTROL_TIMEOUT_SECS: i64 = 86_400;

fn default_control_timeout() -> i64 {
    DEFAULT_CONTROL_TIMEOUT_SECS
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    interface: String,
    host_port: String,
    line_port: String,
    #[serde(default = "default_suite")]
    cipher_suite: String,
    #[serde(default)]
    conf_offset: u8,
    #[serde(default = "default_security")]
    security_policy: String,
    #[serde(default = "default_window")]
    replay_window: u32,
    #[serde(default = "yes")]
    replay_protect: bool,
    #[serde(default = "yes")]
    include_sci: bool,
    #[serde(default)]
    lacp_in_clear: bool,
    /// 0, 1 or 2 VLAN tags left in the clear in front of the SecTAG.
    #[serde(default)]
    vlan_tags_in_clear: u64,
    /// EtherTypes passed in the clear ("0x88cc"), at most 8.
    #[serde(default)]
    bypass_ethertypes: Vec<String>,
    /// Destination MACs passed in the clear ("01:80:c2:00:00:0e"), at most 8.
    #[serde(default)]
    bypass_macs: Vec<String>,
    #[serde(default)]
    integrity_only: bool,
    #[serde(default = "default_validate")]
    validate_frames: String,
    /// This side's SCI; defaults to the tx_sa's SCI, else the line port's MAC with port 1.
    #[serde(default)]
    sci: Option<String>,
    /// Worker lcores that share this link (both directions), 1..=16.
    #[serde(default)]
    workers: Option<u32>,
    /// The EAL lcores that serve this link (their number is its workers).
    #[serde(default)]
    lcores: Option<Vec<u32>>,
    /// The host side's MTU (octets after the Ethernet header); the line port's is set to it plus
    /// 32 where the port allows. Default: the host port's MTU as it is.
    #[serde(default)]
    mtu: Option<u32>,
    /// Rx queues of the host port, spread by RSS: 1, or as many as the link has workers (each
    /// reads its own).
    #[serde(default)]
    host_queues: Option<u32>,
    #[serde(default)]
    tx_sa: Vec<RawSa>,
    #[serde(default)]
    rx_sa: Vec<RawSa>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSa {
    sci: String,
    an: u8,
    sak: Zeroizing<String>,
    #[serde(default)]
    next_pn: Option<u64>,
    #[serde(default)]
    lowest_pn: Option<u64>,
    #[serde(default)]
    ssci: Option<String>,
    #[serde(default)]
    salt: Option<String>,
}

fn default_suite() -> String {
    "GCM-AES-XPN-256".into()
}
fn default_security() -> String {
    "must-secure".into()
}
fn default_window() -> u32 {
    64
}
fn default_validate() -> String {
    "strict".into()
}
fn yes() -> bool {
    true
}

/// A static SA from the file.
#[derive(Debug, Clone)]
pub struct StaticSa {
    pub sci: Sci,
    pub an: u8,
    pub key: KeyMsg,
    /// next_pn for a Tx SA, lowest_pn for an Rx SA.
    pub pn: u64,
}

#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub interface: String,
    pub host_port: String,
    pub line_port: String,
    /// How many workers share the link, and on which lcores if the file names them.
    pub workers: Workers,
    /// The host side's MTU, if the file sets it.
    pub mtu: Option<u16>,
    /// Rx queues of the host port (RSS); 1 unless the file sets more.
    pub host_queues: u16,
    pub policy: PolicyMsg,
    pub sci: Option<Sci>,
    pub tx_sa: Vec<StaticSa>,
    pub rx_sa: Vec<StaticSa>,
}

/// The workers of a link: a number (placed on lcores by the dataplane) or a list of lcores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workers {
    Count(usize),
    Lcores(Vec<u32>),
}

impl Workers {
    pub fn count(&self) -> usize {
        match self {
            Workers::Count(n) => *n,
            Workers::Lcores(l) => l.len(),
        }
    }
}

/// The largest host MTU (a 9216-octet frame on the line: 9216 - 14 - 32).
pub const MAX_MTU: u32 = 9170;
/// The smallest host MTU (IPv4's minimum datagram).
pub const MIN_MTU: u32 = 68;

#[derive(Debug, Clone)]
pub struct DataplaneConfig {
    pub backend: Backend,
    /// `control_timeout_secs` (default 60, 0 = never): how long the SAs a control plane installed
    /// outlive it. When the last connection that subscribed to events (macsecd) has been gone
    /// this long, every SA of every link is deleted (must-secure links then drop, nothing leaves
    /// in clear). A control plane that comes back within it adopts the SAs hitlessly. Static SAs
    /// of the configuration are kept while no control plane has ever connected.
    pub control_timeout: Option<std::time::Duration>,
    pub links: Vec<LinkConfig>,
}

/// The line and column of a byte offset, for messages that must not quote the file.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map(|i| before.len() - i)
        .unwrap_or(before.len() + 1);
    (line, col)
}

impl DataplaneConfig {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            // toml's Display quotes the offending line, which may hold a key: report only the
            // message and position.
            let pos = e.span().map(|s| line_col(text, s.start));
            match pos {
                Some((l, c)) => ConfigError::Syntax(format!("line {l}, column {c}: {}", e.message())),
                None => ConfigError::Syntax(e.message().to_string()),
            }
        })?;
        let backend = match &raw.backend {
            Some(b) => b
                .parse()
                .map_err(|e: macsec::crypto::BackendParseError| ConfigError::Other(e.to_string()))?,
            None => Backend::best(),
        };
        if raw.link.is_empty() {
            return Err(ConfigError::Other("no [[link]] in the configuration".into()));
        }
        let control_timeout = match raw.control_timeout_secs {
            0 => None,
            n @ 1..=MAX_CONTROL_TIMEOUT_SECS => Some(std::time::Duration::from_secs(n as u64)),
            n => {
                return Err(ConfigError::Other(format!(
                    "control_timeout_secs {n} is not 0 (never) .. {MAX_CONTROL_TIMEOUT_SECS}"
                )))
            }
        };
        let mut links: Vec<LinkConfig> = Vec::new();
        for l in raw.link {
            let err = |msg: String| ConfigError::Link {
                link: l.interface.clone(),
                msg,
            };
            if links.iter().any(|x| x.interface == l.interface) {
                return Err(err("interface defined twice".into()));
            }
            for p in [&l.host_port, &l.line_port] {
                if links.iter().any(|x| &x.host_port == p || &x.line_port == p) || l.host_port == l.line_port
                {
                    return Err(err(format!("port {p} is used twice")));
                }
            }
            let cipher_suite: CipherSuite = l
                .cipher_suite
                .parse()
                .map_err(|e: macsec::secy::ParseError| err(e.0))?;
            if ![0, 30, 50].contains(&l.conf_offset) {
                return Err(err(format!("conf_offset {} is not 0, 30 or 50", l.conf_offset)));
            }
            let security_policy = match l.security_policy.as_str() {
                "must-secure" => SecurityPolicy::MustSecure,
                "should-secure" => SecurityPolicy::ShouldSecure,
                s => {
                    return Err(err(format!(
                        "security_policy '{s}' is not must-secure or should-secure"
                    )))
                }
            };
            let validate_frames = match l.validate_frames.as_str() {
                "strict" => ValidateFrames::Strict,
                "check" => ValidateFrames::Check,
                "disabled" => ValidateFrames::Disabled,
                s => {
                    return Err(err(format!(
                        "validate_frames '{s}' is not strict, check or disabled"
                    )))
                }
            };
            let policy = PolicyMsg {
                cipher_suite,
                conf_offset: l.conf_offset,
                confidentiality: !l.integrity_only,
                include_sci: l.include_sci,
                use_es: false,
                use_scb: false,
                validate_frames,
                replay_protect: l.replay_protect,
                replay_window: l.replay_window,
                security_policy,
                clear: {
                    let ets = l
                        .bypass_ethertypes
                        .iter()
                        .map(|e| e.parse::<EtherType>().map(|e| e.0))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| err(format!("bypass_ethertypes: {e}")))?;
                    let macs = l
                        .bypass_macs
                        .iter()
                        .map(|m| m.parse::<MacAddr>().map(|m| m.0))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| err(format!("bypass_macs: {e}")))?;
                    ClearPolicy::new(l.lacp_in_clear, l.vlan_tags_in_clear, ets, macs)
                        .map_err(|e| err(e.to_string()))?
                },
            };
            let sa = |kind: &str, s: &RawSa, tx: bool| -> Result<StaticSa, ConfigError> {
                let e = |msg: String| err(format!("{kind} an {}: {msg}", s.an));
                if s.an > 3 {
                    return Err(e("an must be 0..3".into()));
                }
                let sci: Sci = s.sci.parse().map_err(|x: macsec::secy::ParseError| e(x.0))?;
                let sak = Zeroizing::new(hex::decode_len(&s.sak).ok_or_else(|| e("sak is not hex".into()))?);
                if sak.len() != cipher_suite.key_len() {
                    return Err(e(format!(
                        "sak has {} octets, {} needs {}",
                        sak.len(),
                        cipher_suite,
                        cipher_suite.key_len()
                    )));
                }
                let (ssci, salt) = if cipher_suite.is_xpn() {
                    let ssci: Ssci = s
                        .ssci
                        .as_deref()
                        .ok_or_else(|| e(format!("{cipher_suite} needs ssci")))?
                        .parse()
                        .map_err(|x: macsec::secy::ParseError| e(x.0))?;
                    let salt: Salt = s
                        .salt
                        .as_deref()
                        .ok_or_else(|| e(format!("{cipher_suite} needs salt")))?
                        .parse()
                        .map_err(|x: macsec::secy::ParseError| e(x.0))?;
                    (ssci, salt)
                } else {
                    (Ssci(0), Salt([0; 12]))
                };
                let pn = if tx {
                    if s.lowest_pn.is_some() {
                        return Err(e("a tx_sa takes next_pn, not lowest_pn".into()));
                    }
                    s.next_pn.unwrap_or(1)
                } else {
                    if s.next_pn.is_some() {
                        return Err(e("an rx_sa takes lowest_pn, not next_pn".into()));
                    }
                    s.lowest_pn.unwrap_or(1)
                };
                if pn == 0 || pn > cipher_suite.max_pn() {
                    return Err(e(format!("PN {pn} out of range for {cipher_suite}")));
                }
                Ok(StaticSa {
                    sci,
                    an: s.an,
                    key: KeyMsg {
                        sak,
                        ssci: ssci.0,
                        salt: salt.0,
                        ki: None,
                    },
                    pn,
                })
            };
            let tx_sa = l
                .tx_sa
                .iter()
                .map(|s| sa("tx_sa", s, true))
                .collect::<Result<Vec<_>, _>>()?;
            let rx_sa = l
                .rx_sa
                .iter()
                .map(|s| sa("rx_sa", s, false))
                .collect::<Result<Vec<_>, _>>()?;
            let mut sci = match &l.sci {
                Some(s) => Some(s.parse::<Sci>().map_err(|x| err(x.0))?),
                None => None,
            };
            if let Some(first) = tx_sa.first() {
                if tx_sa.iter().any(|s| s.sci != first.sci) || sci.is_some_and(|s| s != first.sci) {
                    return Err(err("every tx_sa must carry this link's SCI".into()));
                }
                sci = Some(first.sci);
            }
            let mut ans: Vec<u8> = tx_sa.iter().map(|s| s.an).collect();
            ans.sort_unstable();
            ans.dedup();
            if ans.len() != tx_sa.len() {
                return Err(err("two tx_sa with the same an".into()));
            }
            let max = crate::worker::MAX_WORKERS_PER_LINK;
            let workers = match (&l.workers, &l.lcores) {
                (_, Some(lc)) if lc.is_empty() || lc.len() > max => {
                    return Err(err(format!("lcores must list 1 to {max} lcores")));
                }
                (Some(n), Some(lc)) if *n as usize != lc.len() => {
                    return Err(err(format!("workers = {n} but lcores lists {}", lc.len())));
                }
                (_, Some(lc)) => {
                    let mut sorted = lc.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    if sorted.len() != lc.len() {
                        return Err(err("lcores lists an lcore twice".into()));
                    }
                    Workers::Lcores(lc.clone())
                }
                (Some(n), None) if *n == 0 || *n as usize > max => {
                    return Err(err(format!("workers {n} is not 1..{max}")));
                }
                (Some(n), None) => Workers::Count(*n as usize),
                (None, None) => Workers::Count(1),
            };
            // One worker per queue: two workers reading one queue could ticket its bursts out of
            // order.
            let host_queues = match l.host_queues {
                None | Some(1) => 1,
                Some(q) if q as usize == workers.count() => q as u16,
                Some(q) => {
                    return Err(err(format!(
                        "host_queues {q} is neither 1 nor the link's workers ({})",
                        workers.count()
                    )))
                }
            };
            let mtu = match l.mtu {
                None => None,
                Some(m) if (MIN_MTU..=MAX_MTU).contains(&m) => Some(m as u16),
                Some(m) => return Err(err(format!("mtu {m} is not {MIN_MTU}..{MAX_MTU}"))),
            };
            links.push(LinkConfig {
                interface: l.interface.clone(),
                host_port: l.host_port.clone(),
                line_port: l.line_port.clone(),
                workers,
                mtu,
                host_queues,
                policy,
                sci,
                tx_sa,
                rx_sa,
            });
        }
        Ok(DataplaneConfig {
            backend,
            control_timeout,
            links,
        })
    }
}

mod hex {
    /// Decodes hex (no separators) or returns None.
    pub fn decode_len(s: &str) -> Option<Vec<u8>> {
        let s = s.trim();
        if !s.len().is_multiple_of(2) || !s.is_ascii() {
            return None;
        }
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[[link]]
interface = "TenGigE0/0/0/1"
host_port = "net_pcap0"
line_port = "net_pcap1"
cipher_suite = "GCM-AES-XPN-256"
conf_offset = 0
security_policy = "must-secure"   # or "should-secure"
replay_window = 64
include_sci = true
lacp_in_clear = false
[[link.tx_sa]]
sci = "001de5e9aa39001a"
an = 0
sak = "0000000000000000000000000000000000000000000000000000000000000001"
next_pn = 1
ssci = "00000002"                  # XPN only
salt = "83c37bac7b6f6316098ff3d2"  # XPN only
[[link.rx_sa]]
sci = "001de5e9b1bf0019"
an = 0
sak = "0000000000000000000000000000000000000000000000000000000000000002"
lowest_pn = 1
ssci = "00000001"
salt = "83c37bac7b6f6316098ff3d2"
"#;

    #[test]
    fn parses_the_documented_example() {
        let c = DataplaneConfig::parse(EXAMPLE).unwrap();
        assert_eq!(c.backend, Backend::best());
        let l = &c.links[0];
        assert_eq!(
            (l.interface.as_str(), l.host_port.as_str(), l.line_port.as_str()),
            ("TenGigE0/0/0/1", "net_pcap0", "net_pcap1")
        );
        assert_eq!(l.policy.cipher_suite, CipherSuite::GcmAesXpn256);
        assert_eq!(l.policy.replay_window, 64);
        assert_eq!(l.sci, Some(Sci(0x001de5e9aa39001a)));
        assert_eq!(
            (l.tx_sa[0].pn, l.tx_sa[0].key.ssci, l.rx_sa[0].key.ssci),
            (1, 2, 1)
        );
        assert_eq!(l.rx_sa[0].sci, Sci(0x001de5e9b1bf0019));
        assert_eq!(l.rx_sa[0].key.sak[31], 2);
        assert_eq!(c.control_timeout, Some(std::time::Duration::from_secs(60)));
        assert_eq!((&l.workers, l.mtu), (&Workers::Count(1), None));
    }

    /// `control_timeout_secs`: 0 is never, 1..=86400 seconds, anything else an error.
    #[test]
    fn control_timeout_secs() {
        let with = |v: &str| DataplaneConfig::parse(&format!("control_timeout_secs = {v}\n{EXAMPLE}"));
        assert_eq!(with("0").unwrap().control_timeout, None);
        assert_eq!(
            with("5").unwrap().control_timeout,
            Some(std::time::Duration::from_secs(5))
        );
        assert_eq!(
            with("86400").unwrap().control_timeout,
            Some(std::time::Duration::from_secs(86_400))
        );
        for bad in ["-1", "86401"] {
            assert_eq!(
                with(bad).unwrap_err().to_string(),
                format!("control_timeout_secs {bad} is not 0 (never) .. 86400")
            );
        }
        assert!(with("\"60\"")
            .unwrap_err()
            .to_string()
            .starts_with("line 1, column 24"));
    }

    #[test]
    fn workers_lcores_and_mtu() {
        let with = |extra: &str| {
            EXAMPLE.replace(
                "lacp_in_clear = false",
                &format!("lacp_in_clear = false\n{extra}"),
            )
        };
        let l = |extra: &str| DataplaneConfig::parse(&with(extra)).unwrap().links.remove(0);
        assert_eq!(l("workers = 2").workers, Workers::Count(2));
        assert_eq!(l("lcores = [2, 0]").workers, Workers::Lcores(vec![2, 0]));
        assert_eq!(l("workers = 2\nlcores = [1, 0]").workers.count(), 2);
        assert_eq!(l("mtu = 9170").mtu, Some(9170));
        assert_eq!(l("workers = 2\nhost_queues = 2").host_queues, 2);
        assert_eq!(l("workers = 2").host_queues, 1);
    }

    #[test]
    fn clear_tags_and_bypass_lists() {
        let with = |extra: &str| {
            EXAMPLE.replace(
                "lacp_in_clear = false",
                &format!("lacp_in_clear = false\n{extra}"),
            )
        };
        let l = DataplaneConfig::parse(&with(
            "vlan_tags_in_clear = 2\nbypass_ethertypes = [\"0x88cc\", \"88B5\"]\nbypass_macs = [\"0180.c200.000e\"]",
        ))
        .unwrap()
        .links
        .remove(0);
        let c = l.policy.clear;
        assert_eq!(c.vlan_tags_in_clear, 2);
        assert_eq!(c.ethertype_list().collect::<Vec<_>>(), vec![0x88cc, 0x88b5]);
        assert_eq!(
            c.mac_list().collect::<Vec<_>>(),
            vec![[1, 0x80, 0xc2, 0, 0, 0x0e]]
        );
        assert!(!c.lacp_in_clear);
        let e = |extra: &str| DataplaneConfig::parse(&with(extra)).unwrap_err().to_string();
        assert!(e("vlan_tags_in_clear = 3")
            .ends_with("vlan-tags-in-clear is 3: at most 2 tags stay in the clear"));
        assert!(
            e("bypass_ethertypes = [\"lldp\"]").ends_with(
                "bypass_ethertypes: `lldp` is not an EtherType (hex, 0x0600..0xffff, e.g. 0x88cc)"
            ),
            "{}",
            e("bypass_ethertypes = [\"lldp\"]")
        );
        assert!(e("bypass_macs = [\"01:80:c2\"]").contains("bypass_macs: `01:80:c2` is not a MAC address"));
        assert!(e("bypass_ethertypes = [\"0x88e5\"]")
            .ends_with("EtherType 0x88e5 cannot pass in the clear: it is MACsec"));
    }

    #[test]
    fn errors_name_the_field_and_never_the_key() {
        let secret = "0000000000000000000000000000000000000000000000000000000000000001";
        let cases = [
            (
                EXAMPLE.replace("GCM-AES-XPN-256", "GCM-AES-999"),
                "unknown cipher suite",
            ),
            (
                EXAMPLE.replace("conf_offset = 0", "conf_offset = 20"),
                "conf_offset 20",
            ),
            (
                EXAMPLE.replace("\"must-secure\"", "\"maybe\""),
                "security_policy 'maybe'",
            ),
            (EXAMPLE.replace("ssci = \"00000002\"", ""), "needs ssci"),
            (EXAMPLE.replace(secret, &secret[2..]), "sak has 31 octets"),
            (
                EXAMPLE.replace(secret, &format!("{}zz", &secret[2..])),
                "sak is not hex",
            ),
            (
                EXAMPLE.replace("an = 0\nsak = \"0000", "an = 7\nsak = \"0000"),
                "an must be 0..3",
            ),
            (EXAMPLE.replace("next_pn = 1", "next_pn = 0"), "PN 0 out of range"),
            (
                EXAMPLE.replace("lacp_in_clear = false", "lacp_in_clear = false\nbogus = 1"),
                "unknown field `bogus`",
            ),
            (
                EXAMPLE.replace(&format!("sak = \"{secret}\""), &format!("sak = {}", 1)),
                "line 15",
            ),
            ("".to_string(), "no [[link]]"),
        ];
        let with = |extra: &str| {
            EXAMPLE.replace(
                "lacp_in_clear = false",
                &format!("lacp_in_clear = false\n{extra}"),
            )
        };
        let more = [
            (with("workers = 0"), "workers 0 is not 1..16"),
            (with("workers = 17"), "workers 17 is not 1..16"),
            (with("lcores = []"), "lcores must list 1 to 16 lcores"),
            (with("lcores = [1, 1]"), "lcores lists an lcore twice"),
            (
                with("workers = 3\nlcores = [1, 2]"),
                "workers = 3 but lcores lists 2",
            ),
            (with("mtu = 9171"), "mtu 9171 is not 68..9170"),
            (with("mtu = 67"), "mtu 67 is not 68..9170"),
            (
                with("host_queues = 2"),
                "host_queues 2 is neither 1 nor the link's workers (1)",
            ),
            (
                with("workers = 2\nhost_queues = 0"),
                "host_queues 0 is neither 1 nor the link's workers (2)",
            ),
            (
                with("workers = 3\nhost_queues = 2"),
                "host_queues 2 is neither 1 nor the link's workers (3)",
            ),
        ];
        for (text, want) in cases.into_iter().chain(more) {
            let e = DataplaneConfig::parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{e} (wanted {want})");
            assert!(!e.contains(secret) && !e.contains(&secret[2..]), "{e}");
        }
        let twice = format!(
            "{EXAMPLE}\n{}",
            EXAMPLE
                .replace("net_pcap0", "net_pcap2")
                .replace("net_pcap1", "net_pcap3")
        );
        assert!(DataplaneConfig::parse(&twice)
            .unwrap_err()
            .to_string()
            .contains("interface defined twice"));
    }
}
