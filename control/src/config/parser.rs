//! The line parser: a stack of configuration modes, as the router's CLI keeps one.
//!
//! A line goes to the innermost mode that has its command (so `interface X` inside a policy ends
//! the policy, and a second `key` ends the first one); a bare `!` or `exit` leaves one mode, `end`
//! all of them. Lines nobody has are an error inside MACsec stanzas, and are skipped with a note at
//! the top level and inside `interface`, together with every line indented deeper than them (the
//! body of a `router bgp` block, say).

use super::error::shown;
use super::time::{format_time, parse_time};
use super::validate::References;
use super::{
    canonical_interface_name, type7, Config, ConfigError, ErrorKind, Host, InterfaceConfig, MacsecPolicy,
    Note, NoteKind, ServerAddress, SksPeer, SksProfile, SksProfileType, LIFETIME_DURATION_MAX, MAX_PEERS_MAX,
    SAK_REKEY_INTERVAL_MAX, SAK_REKEY_INTERVAL_MIN, WINDOW_SIZE_MAX,
};
use ipc::{ClearPolicy, SecurityPolicy};
use macsec::secy::{CipherSuite, ConfOffset};
use macsec::wire::ethernet::{AddrParseError, EtherType, MacAddr};
use mka::keychain::{CakAlgorithm, Ckn, Key, KeyChain, Lifetime, CKN_MAX_LEN};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;
use zeroize::Zeroizing;

const KEY_STRING_USAGE: &str =
    "key-string [clear|password] CAK cryptographic-algorithm AES-128-CMAC|AES-256-CMAC";
const LIFETIME_USAGE: &str =
    "lifetime hh:mm:ss DAY MONTH YEAR (infinite | duration SECONDS | hh:mm:ss DAY MONTH YEAR)";
const MACSEC_USAGE: &str = "macsec psk-keychain NAME [fallback-psk-keychain NAME] [policy NAME]";
const SKS_USAGE: &str = "sks profile NAME [type remote|local] [device-identifier ID]";
const SERVER_USAGE: &str = "ipv4 ADDRESS|ipv6 ADDRESS|hostname NAME port PORT";

/// macsec-policy commands of IOS XR that the guide does not document: named in their error.
const UNSUPPORTED_POLICY_COMMANDS: &[&str] = &[
    "enable-legacy-fallback",
    "allow",
    "use-eapol-pae-in-icv",
    "suspend-for",
    "suspend-on-request",
];

/// MACsec sub-commands, with the stanza they belong in, reported when found outside it.
const PLACES: &[(&str, &str)] = &[
    (
        "key-string",
        "a key chain's `macsec` key (`key chain NAME` / `macsec` / `key CKN`)",
    ),
    (
        "lifetime",
        "a key chain's `macsec` key (`key chain NAME` / `macsec` / `key CKN`)",
    ),
    ("cipher-suite", "a macsec-policy"),
    ("conf-offset", "a macsec-policy"),
    ("key-server-priority", "a macsec-policy"),
    ("security-policy", "a macsec-policy"),
    ("delay-protection", "a macsec-policy"),
    ("window-size", "a macsec-policy"),
    ("include-icv-indicator", "a macsec-policy"),
    ("sak-rekey-interval", "a macsec-policy"),
    ("max-peers", "a macsec-policy"),
    ("policy-exception", "a macsec-policy"),
    ("ppk", "a macsec-policy"),
    ("sks-profile", "a macsec-policy's `ppk`"),
    ("kme", "an sks profile"),
    ("live-keys", "an sks profile"),
    ("peer-identifier", "an sks profile"),
];

fn kw(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

fn word_is(words: &[&str], i: usize, keyword: &str) -> bool {
    words.get(i).is_some_and(|w| kw(w, keyword))
}

/// One configuration mode on the stack. `None` targets: the stanza's head was in error; its body
/// is still checked, and dropped.
enum Mode {
    KeyChain(Option<String>),
    Macsec(Option<String>),
    Key(Option<(String, usize)>),
    /// A routing-protocol key (`key 1` directly under `key chain`): its lines are ignored.
    RoutingKey,
    Policy(Option<String>),
    Ppk(Option<String>),
    Sks(Option<String>),
    Interface(Option<String>),
}

struct ChainB {
    line: usize,
    has_macsec: bool,
    routing_key_line: Option<usize>,
    keys: Vec<KeyB>,
    /// An error was reported inside: no "unknown key chain" errors for references to it.
    broken: bool,
}

struct KeyB {
    line: usize,
    ckn: Ckn,
    cak: Option<(Zeroizing<Vec<u8>>, CakAlgorithm, usize)>,
    lifetime: Option<(Lifetime, usize)>,
}

struct PolicyB {
    line: usize,
    policy: MacsecPolicy,
    seen: HashMap<&'static str, usize>,
}

struct SksB {
    line: usize,
    profile: SksProfile,
    seen: HashMap<&'static str, usize>,
    peer_lines: HashMap<String, usize>,
    broken: bool,
}

struct IfaceB {
    line: usize,
    macsec: Option<InterfaceConfig>,
}

/// Lines being skipped: those indented deeper than the head.
struct Skip {
    head_line: usize,
    indent: usize,
    /// Inside an interface: a deeper `macsec` line is not skipped.
    interface: Option<String>,
    word: String,
    last_line: usize,
}

#[derive(Default)]
struct Parser {
    stack: Vec<Mode>,
    chains: BTreeMap<String, ChainB>,
    policies: BTreeMap<String, PolicyB>,
    sks: BTreeMap<String, SksB>,
    ifaces: BTreeMap<String, IfaceB>,
    notes: Vec<Note>,
    errors: Vec<ConfigError>,
    skip: Option<Skip>,
}

/// Parses `text` into a [`Config`], the references for [`super::validate`], and the errors found
/// (in the order found).
pub(super) fn parse(text: &str) -> (Config, References, Vec<ConfigError>) {
    let mut p = Parser::default();
    for (i, raw) in text.lines().enumerate() {
        p.line(i + 1, raw);
    }
    p.end_skip();
    p.finish()
}

/// Records a command that may appear once per stanza.
fn once(
    seen: &mut HashMap<&'static str, usize>,
    key: &'static str,
    line: usize,
    what: String,
) -> Result<(), ErrorKind> {
    match seen.get(key) {
        Some(&first) => Err(ErrorKind::Duplicate { what, first }),
        None => {
            seen.insert(key, line);
            Ok(())
        }
    }
}

fn arity(words: &[&str], n: usize, command: &'static str, usage: &'static str) -> Result<(), ErrorKind> {
    if words.len() == n {
        Ok(())
    } else if words.len() < n {
        Err(ErrorKind::Syntax {
            command,
            problem: "missing argument".into(),
            usage,
        })
    } else {
        Err(ErrorKind::Syntax {
            command,
            problem: format!("unexpected `{}`", shown(words[n])),
            usage,
        })
    }
}

fn number(
    word: &str,
    command: &'static str,
    usage: &'static str,
    what: &'static str,
    min: u64,
    max: u64,
) -> Result<u64, ErrorKind> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ErrorKind::Syntax {
            command,
            problem: format!("`{}` is not a number", shown(word)),
            usage,
        });
    }
    match word.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(ErrorKind::OutOfRange {
            what,
            value: shown(word),
            min,
            max,
        }),
    }
}

/// A CKN as the `key` command takes it: an even number of hex digits, 2 to 64.
fn parse_ckn(text: &str) -> Result<Ckn, ErrorKind> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ErrorKind::CknNotHex { text: shown(text) });
    }
    if text.len() > 2 * CKN_MAX_LEN {
        return Err(ErrorKind::CknTooLong { digits: text.len() });
    }
    if !text.len().is_multiple_of(2) {
        return Err(ErrorKind::CknOdd {
            text: text.to_string(),
            digits: text.len(),
        });
    }
    Ckn::from_hex(text).map_err(|_| ErrorKind::CknNotHex { text: shown(text) })
}

/// `key-string [clear|password|7] CAK cryptographic-algorithm ALG`. Nothing of the line is ever
/// quoted in an error.
fn parse_key_string(words: &[&str], ckn: &Ckn) -> Result<(Zeroizing<Vec<u8>>, CakAlgorithm), ErrorKind> {
    let malformed = || ErrorKind::Syntax {
        command: "key-string",
        problem: "malformed command".into(),
        usage: KEY_STRING_USAGE,
    };
    let (encrypted, i) = match words.get(1) {
        Some(w) if kw(w, "clear") || *w == "0" => (false, 2),
        Some(w) if kw(w, "password") || *w == "7" => (true, 2),
        Some(_) => (false, 1),
        None => return Err(malformed()),
    };
    let Some(value) = words.get(i) else {
        return Err(malformed());
    };
    match words.len() - i {
        1 => return Err(ErrorKind::MissingAlgorithm { ckn: ckn.clone() }),
        3 if kw(words[i + 1], "cryptographic-algorithm") => {}
        2 if kw(words[i + 1], "cryptographic-algorithm") => {
            return Err(ErrorKind::MissingAlgorithm { ckn: ckn.clone() })
        }
        _ => return Err(malformed()),
    }
    let algorithm =
        CakAlgorithm::from_str(words[i + 2]).map_err(|_| ErrorKind::UnknownAlgorithm { ckn: ckn.clone() })?;
    if value.bytes().all(|b| b == b'*') || *value == "<removed>" {
        return Err(ErrorKind::CakMasked { ckn: ckn.clone() });
    }
    let clear: Zeroizing<Vec<u8>> = if encrypted {
        let plain = type7::decode(value).ok_or_else(|| ErrorKind::CakPassword { ckn: ckn.clone() })?;
        if !plain.iter().all(u8::is_ascii_hexdigit) {
            return Err(ErrorKind::CakPassword { ckn: ckn.clone() });
        }
        plain
    } else {
        if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ErrorKind::CakNotHex { ckn: ckn.clone() });
        }
        Zeroizing::new(value.as_bytes().to_vec())
    };
    let expected = 2 * algorithm.key_len();
    if clear.len() != expected {
        return Err(ErrorKind::CakLength {
            ckn: ckn.clone(),
            algorithm,
            expected,
            got: clear.len(),
        });
    }
    let cak = Zeroizing::new(hex::decode(&*clear).map_err(|_| ErrorKind::CakNotHex { ckn: ckn.clone() })?);
    Ok((cak, algorithm))
}

/// `lifetime START (infinite | duration SECONDS | END)`.
fn parse_lifetime(words: &[&str], ckn: &Ckn) -> Result<Lifetime, ErrorKind> {
    let syntax = |problem: String| ErrorKind::Syntax {
        command: "lifetime",
        problem,
        usage: LIFETIME_USAGE,
    };
    if words.len() < 6 {
        return Err(syntax("missing argument".into()));
    }
    let start = parse_time(&words[1..5]).map_err(|e| syntax(e.to_string()))?;
    let rest = &words[5..];
    if kw(rest[0], "infinite") {
        arity(rest, 1, "lifetime", LIFETIME_USAGE)?;
        return Ok(Lifetime::infinite(start));
    }
    if kw(rest[0], "duration") {
        arity(rest, 2, "lifetime", LIFETIME_USAGE)?;
        let d = number(
            rest[1],
            "lifetime",
            LIFETIME_USAGE,
            "lifetime duration",
            1,
            LIFETIME_DURATION_MAX,
        )?;
        return Ok(Lifetime::duration(start, d));
    }
    if rest.len() != 4 {
        return Err(syntax(format!("unexpected `{}`", shown(rest[0]))));
    }
    let end = parse_time(rest).map_err(|e| syntax(e.to_string()))?;
    if end <= start {
        return Err(ErrorKind::LifetimeEndsBeforeStart {
            ckn: ckn.clone(),
            start: format_time(start),
            end: format_time(end),
        });
    }
    Ok(Lifetime::until(start, end))
}

/// `ipv4 A port N` / `ipv6 A port N` / `hostname H port N`.
fn parse_server(words: &[&str], command: &'static str) -> Result<ServerAddress, ErrorKind> {
    let syntax = |problem: String| ErrorKind::Syntax {
        command,
        problem,
        usage: SERVER_USAGE,
    };
    if words.len() != 4 || !kw(words[2], "port") {
        return Err(syntax("malformed address".into()));
    }
    let host = if kw(words[0], "ipv4") {
        Host::Ipv4(
            words[1]
                .parse()
                .map_err(|_| syntax(format!("`{}` is not an IPv4 address", shown(words[1]))))?,
        )
    } else if kw(words[0], "ipv6") {
        Host::Ipv6(
            words[1]
                .parse()
                .map_err(|_| syntax(format!("`{}` is not an IPv6 address", shown(words[1]))))?,
        )
    } else if kw(words[0], "hostname") {
        Host::Name(words[1].to_string())
    } else {
        return Err(syntax(format!("unknown address type `{}`", shown(words[0]))));
    };
    let port = number(words[3], command, SERVER_USAGE, "port", 1, 65535)? as u16;
    Ok(ServerAddress { host, port })
}

fn policy_command(b: &mut PolicyB, words: &[&str], line: usize) -> Result<Option<Mode>, ErrorKind> {
    let name = b.policy.name.clone();
    let p = &mut b.policy;
    let seen = &mut b.seen;
    let w0 = words[0].to_ascii_lowercase();
    match w0.as_str() {
        "cipher-suite" => {
            const U: &str = "cipher-suite GCM-AES-128|GCM-AES-256|GCM-AES-XPN-128|GCM-AES-XPN-256";
            arity(words, 2, "cipher-suite", U)?;
            let suite = CipherSuite::from_str(words[1]).map_err(|_| ErrorKind::Syntax {
                command: "cipher-suite",
                problem: format!("unknown cipher suite `{}`", shown(words[1])),
                usage: U,
            })?;
            once(seen, "cipher-suite", line, "cipher-suite".into())?;
            p.cipher_suite = suite;
            p.explicit.cipher_suite = true;
        }
        "conf-offset" => {
            const U: &str = "conf-offset CONF-OFFSET-0|CONF-OFFSET-30|CONF-OFFSET-50";
            arity(words, 2, "conf-offset", U)?;
            let o = match words[1].to_ascii_uppercase().as_str() {
                "CONF-OFFSET-0" => ConfOffset::Zero,
                "CONF-OFFSET-30" => ConfOffset::Thirty,
                "CONF-OFFSET-50" => ConfOffset::Fifty,
                _ => {
                    return Err(ErrorKind::Syntax {
                        command: "conf-offset",
                        problem: format!("unknown offset `{}`", shown(words[1])),
                        usage: U,
                    })
                }
            };
            once(seen, "conf-offset", line, "conf-offset".into())?;
            p.conf_offset = o;
            p.explicit.conf_offset = true;
        }
        "key-server-priority" => {
            const U: &str = "key-server-priority 0-255";
            arity(words, 2, "key-server-priority", U)?;
            let v = number(words[1], "key-server-priority", U, "key-server-priority", 0, 255)?;
            once(seen, "key-server-priority", line, "key-server-priority".into())?;
            p.key_server_priority = v as u8;
            p.explicit.key_server_priority = true;
        }
        "security-policy" => {
            const U: &str = "security-policy must-secure|should-secure";
            arity(words, 2, "security-policy", U)?;
            let v = if kw(words[1], "must-secure") {
                SecurityPolicy::MustSecure
            } else if kw(words[1], "should-secure") {
                SecurityPolicy::ShouldSecure
            } else {
                return Err(ErrorKind::Syntax {
                    command: "security-policy",
                    problem: format!("unknown policy `{}`", shown(words[1])),
                    usage: U,
                });
            };
            once(seen, "security-policy", line, "security-policy".into())?;
            p.security_policy = v;
            p.explicit.security_policy = true;
        }
        "delay-protection" => {
            arity(words, 1, "delay-protection", "delay-protection")?;
            once(seen, "delay-protection", line, "delay-protection".into())?;
            p.delay_protection = true;
        }
        "window-size" => {
            const U: &str = "window-size 0-1024";
            arity(words, 2, "window-size", U)?;
            let v = number(
                words[1],
                "window-size",
                U,
                "window-size",
                0,
                u64::from(WINDOW_SIZE_MAX),
            )?;
            once(seen, "window-size", line, "window-size".into())?;
            p.window_size = v as u32;
            p.explicit.window_size = true;
        }
        "include-icv-indicator" => {
            arity(words, 1, "include-icv-indicator", "include-icv-indicator")?;
            once(
                seen,
                "include-icv-indicator",
                line,
                "include-icv-indicator".into(),
            )?;
            p.include_icv_indicator = true;
        }
        "sak-rekey-interval" => {
            const U: &str = "sak-rekey-interval seconds 1-2592000";
            if !word_is(words, 1, "seconds") {
                return Err(ErrorKind::Syntax {
                    command: "sak-rekey-interval",
                    problem: "the unit must be `seconds`".into(),
                    usage: U,
                });
            }
            arity(words, 3, "sak-rekey-interval", U)?;
            let v = number(
                words[2],
                "sak-rekey-interval",
                U,
                "sak-rekey-interval seconds",
                1,
                u64::from(SAK_REKEY_INTERVAL_MAX),
            )?;
            once(seen, "sak-rekey-interval", line, "sak-rekey-interval".into())?;
            p.sak_rekey_interval = Some(Duration::from_secs(v));
        }
        "max-peers" => {
            // Our extension (IOS XR has no such command): the peer table's size per CA.
            const U: &str = "max-peers 1-64";
            arity(words, 2, "max-peers", U)?;
            let v = number(words[1], "max-peers", U, "max-peers", 1, MAX_PEERS_MAX as u64)?;
            once(seen, "max-peers", line, "max-peers".into())?;
            p.max_peers = v as usize;
        }
        "policy-exception" => {
            // `lacp-in-clear` is IOS XR's; `ethertype` and `destination-mac` are our extension
            // (frames passed in the clear, e.g. LLDP, or another PAE's EAPOL by its group address).
            const U: &str = "policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC";
            let syntax = |problem: String| ErrorKind::Syntax {
                command: "policy-exception",
                problem,
                usage: U,
            };
            let exception = words.get(1).copied().unwrap_or("");
            if kw(exception, "lacp-in-clear") {
                arity(words, 2, "policy-exception", U)?;
                once(
                    seen,
                    "policy-exception",
                    line,
                    "policy-exception lacp-in-clear".into(),
                )?;
                p.clear.lacp_in_clear = true;
            } else if kw(exception, "ethertype") || kw(exception, "destination-mac") {
                arity(words, 3, "policy-exception", U)?;
                let c = p.clear;
                let (mut ets, mut macs): (Vec<u16>, Vec<[u8; 6]>) =
                    (c.ethertype_list().collect(), c.mac_list().collect());
                if kw(exception, "ethertype") {
                    let et: EtherType = words[2]
                        .parse()
                        .map_err(|e: AddrParseError| syntax(e.to_string()))?;
                    ets.push(et.0);
                } else {
                    let mac: MacAddr = words[2]
                        .parse()
                        .map_err(|e: AddrParseError| syntax(e.to_string()))?;
                    macs.push(mac.0);
                }
                p.clear = ClearPolicy::new(c.lacp_in_clear, c.vlan_tags_in_clear.into(), ets, macs)
                    .map_err(|e| syntax(e.to_string()))?;
            } else if words.len() < 2 {
                arity(words, 2, "policy-exception", U)?;
            } else {
                return Err(syntax(format!("unknown exception `{}`", shown(words[1]))));
            }
        }
        "vlan-tags-in-clear" => {
            const U: &str = "vlan-tags-in-clear 1-2";
            arity(words, 2, "vlan-tags-in-clear", U)?;
            let v = number(words[1], "vlan-tags-in-clear", U, "vlan-tags-in-clear", 1, 2)?;
            once(seen, "vlan-tags-in-clear", line, "vlan-tags-in-clear".into())?;
            p.clear.vlan_tags_in_clear = v as u8;
        }
        "ppk" => {
            const U: &str = "ppk sks-profile NAME";
            if words.len() == 1 {
                return Ok(Some(Mode::Ppk(Some(name))));
            }
            if !kw(words[1], "sks-profile") {
                return Err(ErrorKind::Syntax {
                    command: "ppk",
                    problem: format!("unknown `{}`", shown(words[1])),
                    usage: U,
                });
            }
            arity(words, 3, "ppk", U)?;
            once(seen, "sks-profile", line, "ppk sks-profile".into())?;
            p.ppk_sks_profile = Some(words[2].to_string());
        }
        _ => {
            return Err(ErrorKind::UnsupportedCommand {
                stanza: format!("macsec-policy {name}"),
                command: w0,
            });
        }
    }
    Ok(None)
}

fn sks_command(b: &mut SksB, words: &[&str], line: usize) -> Result<(), ErrorKind> {
    let prof = &mut b.profile;
    let seen = &mut b.seen;
    let remote_only = |command: &'static str, prof: &SksProfile| {
        if prof.profile_type == SksProfileType::Remote {
            Ok(())
        } else {
            Err(ErrorKind::NeedsRemoteProfile {
                profile: prof.name.clone(),
                command,
            })
        }
    };
    let w0 = words[0].to_ascii_lowercase();
    match w0.as_str() {
        "kme" => {
            if !word_is(words, 1, "server") {
                return Err(ErrorKind::Syntax {
                    command: "kme server",
                    problem: "expected `server`".into(),
                    usage: "kme server ipv4 ADDRESS port PORT",
                });
            }
            remote_only("kme server", prof)?;
            let s = parse_server(&words[2..], "kme server")?;
            once(seen, "kme server", line, "kme server".into())?;
            prof.kme_server = Some(s);
        }
        "source" => {
            if !word_is(words, 1, "interface") || words.len() < 3 {
                return Err(ErrorKind::Syntax {
                    command: "source interface",
                    problem: "missing interface".into(),
                    usage: "source interface NAME",
                });
            }
            remote_only("source interface", prof)?;
            once(seen, "source interface", line, "source interface".into())?;
            prof.source_interface = Some(canonical_interface_name(&words[2..].join(" ")));
        }
        "http" => {
            if !word_is(words, 1, "proxy") {
                return Err(ErrorKind::Syntax {
                    command: "http proxy",
                    problem: "expected `proxy`".into(),
                    usage: "http proxy ipv4 ADDRESS port PORT",
                });
            }
            remote_only("http proxy", prof)?;
            let s = parse_server(&words[2..], "http proxy")?;
            once(seen, "http proxy", line, "http proxy".into())?;
            prof.http_proxy = Some(s);
        }
        "live-keys" => {
            const U: &str = "live-keys 1-65535";
            arity(words, 2, "live-keys", U)?;
            let n = number(words[1], "live-keys", U, "live-keys", 1, 65535)?;
            once(seen, "live-keys", line, "live-keys".into())?;
            prof.live_keys = Some(n as u32);
        }
        _ => {
            // peer-identifier
            const U: &str = "peer-identifier NAME [master]";
            let master = match words.len() {
                2 => false,
                3 if kw(words[2], "master") => true,
                _ => {
                    return Err(ErrorKind::Syntax {
                        command: "peer-identifier",
                        problem: "malformed command".into(),
                        usage: U,
                    })
                }
            };
            if let Some(&first) = b.peer_lines.get(words[1]) {
                return Err(ErrorKind::Duplicate {
                    what: format!("peer-identifier {}", words[1]),
                    first,
                });
            }
            b.peer_lines.insert(words[1].to_string(), line);
            prof.peers.push(SksPeer {
                name: words[1].to_string(),
                master,
            });
        }
    }
    Ok(())
}

fn interface_macsec(iface: &str, words: &[&str], line: usize) -> Result<InterfaceConfig, ErrorKind> {
    let syntax = |problem: String| ErrorKind::Syntax {
        command: "macsec",
        problem,
        usage: MACSEC_USAGE,
    };
    if !word_is(words, 1, "psk-keychain") {
        return Err(syntax(match words.get(1) {
            None => "missing `psk-keychain`".into(),
            Some(w) => format!(
                "`macsec {}` is not supported (only `macsec psk-keychain`)",
                shown(w)
            ),
        }));
    }
    let Some(primary) = words.get(2) else {
        return Err(syntax("missing key chain name".into()));
    };
    let mut cfg = InterfaceConfig {
        name: iface.to_string(),
        psk_keychain: primary.to_string(),
        fallback_psk_keychain: None,
        policy: None,
        line,
    };
    let mut rest = &words[3..];
    while let [opt, tail @ ..] = rest {
        let Some(value) = tail.first() else {
            return Err(syntax(format!("`{}` needs a name", shown(opt))));
        };
        let slot = if kw(opt, "fallback-psk-keychain") {
            &mut cfg.fallback_psk_keychain
        } else if kw(opt, "policy") {
            &mut cfg.policy
        } else {
            return Err(syntax(format!("unexpected `{}`", shown(opt))));
        };
        if slot.is_some() {
            return Err(syntax(format!("`{}` given twice", opt.to_ascii_lowercase())));
        }
        *slot = Some(value.to_string());
        rest = &tail[1..];
    }
    Ok(cfg)
}

impl Parser {
    /// Records an error. An error inside a key chain or SKS profile marks it broken, so that the
    /// checks at its end (missing key-string, lifetime, keys, kme server) do not pile on.
    fn error(&mut self, line: usize, kind: ErrorKind) {
        for mode in &self.stack {
            match mode {
                Mode::KeyChain(Some(c)) | Mode::Macsec(Some(c)) | Mode::Key(Some((c, _))) => {
                    if let Some(b) = self.chains.get_mut(c) {
                        b.broken = true;
                    }
                }
                Mode::Sks(Some(n)) => {
                    if let Some(b) = self.sks.get_mut(n) {
                        b.broken = true;
                    }
                }
                _ => {}
            }
        }
        self.errors.push(ConfigError::new(line, kind));
    }

    fn note(&mut self, line: usize, kind: NoteKind, message: String) {
        self.notes.push(Note { line, kind, message });
    }

    fn end_skip(&mut self) {
        let Some(s) = self.skip.take() else { return };
        let lines = if s.last_line > s.head_line {
            format!(" (lines {}-{})", s.head_line, s.last_line)
        } else {
            String::new()
        };
        match s.interface {
            None => self.note(
                s.head_line,
                NoteKind::IgnoredStanza,
                format!("`{}` is not MACsec configuration: skipped{lines}", s.word),
            ),
            Some(i) => self.note(
                s.head_line,
                NoteKind::IgnoredCommand,
                format!("interface {i}: `{}` ignored{lines}", s.word),
            ),
        }
    }

    fn line(&mut self, no: usize, raw: &str) {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return;
        }
        let indent = raw.len() - raw.trim_start().len();
        let separator = trimmed == "!";
        if !separator && (trimmed.starts_with('!') || trimmed.starts_with('#')) {
            return; // comment
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if let Some(s) = &mut self.skip {
            let deeper = indent > s.indent && !(s.interface.is_some() && kw(words[0], "macsec"));
            // A `!` at the head's own indentation closes the skipped block, if it had a body.
            let closes = separator && indent == s.indent && s.last_line > s.head_line;
            if deeper || closes {
                s.last_line = no;
                if closes {
                    self.end_skip();
                }
                return;
            }
            self.end_skip();
        }
        if separator || (kw(words[0], "exit") && words.len() == 1) {
            self.stack.pop();
            return;
        }
        if kw(words[0], "end") && words.len() == 1 {
            self.stack.clear();
            return;
        }
        if kw(words[0], "commit") || kw(words[0], "configure") || kw(words[0], "config") {
            return;
        }
        for depth in (0..=self.stack.len()).rev() {
            let mode = if depth == 0 {
                None
            } else {
                Some(&self.stack[depth - 1])
            };
            if claims(mode, &words) {
                self.stack.truncate(depth);
                self.exec(no, &words);
                return;
            }
        }
        self.unclaimed(no, indent, &words);
    }

    /// A line no mode on the stack has.
    fn unclaimed(&mut self, no: usize, indent: usize, words: &[&str]) {
        let w0 = words[0].to_ascii_lowercase();
        let place = PLACES
            .iter()
            .find(|(k, _)| *k == w0)
            .map(|(_, p)| *p)
            .or_else(|| {
                (w0 == "macsec" && word_is(words, 1, "psk-keychain"))
                    .then_some("an interface (`interface NAME`)")
            });
        if let Some(expected) = place {
            let command = if w0 == "macsec" {
                "macsec psk-keychain".to_string()
            } else {
                w0
            };
            return self.error(no, ErrorKind::OutOfPlace { command, expected });
        }
        match self.stack.last() {
            None => {
                self.skip = Some(Skip {
                    head_line: no,
                    indent,
                    interface: None,
                    word: shown(words[0]),
                    last_line: no,
                });
            }
            Some(Mode::Interface(name)) => {
                let name = name.clone().unwrap_or_else(|| "?".into());
                self.skip = Some(Skip {
                    head_line: no,
                    indent,
                    interface: Some(name),
                    word: shown(words[0]),
                    last_line: no,
                });
            }
            Some(Mode::RoutingKey) => {}
            Some(mode) => {
                let stanza = self.describe(mode);
                self.error(
                    no,
                    ErrorKind::UnknownCommand {
                        stanza,
                        command: shown(words[0]),
                    },
                );
            }
        }
    }

    fn describe(&self, mode: &Mode) -> String {
        let n = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
        match mode {
            Mode::KeyChain(c) => format!("key chain {}", n(c)),
            Mode::Macsec(c) => format!("key chain {} macsec", n(c)),
            Mode::Key(Some((c, i))) => format!("key chain {c} key {}", self.chains[c].keys[*i].ckn),
            Mode::Key(None) => "key".into(),
            Mode::RoutingKey => "key".into(),
            Mode::Policy(p) => format!("macsec-policy {}", n(p)),
            Mode::Ppk(p) => format!("macsec-policy {} ppk", n(p)),
            Mode::Sks(s) => format!("sks profile {}", n(s)),
            Mode::Interface(i) => format!("interface {}", n(i)),
        }
    }

    /// Runs a line in the innermost mode of the stack (the top level if empty).
    fn exec(&mut self, no: usize, words: &[&str]) {
        let w0 = words[0].to_ascii_lowercase();
        let pushed = match self.stack.last() {
            None => self.top(no, words),
            Some(Mode::KeyChain(chain)) => {
                let chain = chain.clone();
                if w0 == "macsec" {
                    if let Some(b) = chain.as_ref().and_then(|c| self.chains.get_mut(c)) {
                        b.has_macsec = true;
                    }
                    Some(Mode::Macsec(chain))
                } else if w0 == "key" {
                    if let Some(b) = chain.as_ref().and_then(|c| self.chains.get_mut(c)) {
                        b.routing_key_line.get_or_insert(no);
                    }
                    Some(Mode::RoutingKey)
                } else {
                    None // accept-tolerance: a routing key chain setting
                }
            }
            Some(Mode::Macsec(chain)) => {
                let chain = chain.clone();
                Some(Mode::Key(self.macsec_key(no, chain, words)))
            }
            Some(Mode::Key(target)) => {
                if let Some((c, i)) = target.clone() {
                    self.key_command(no, &c, i, words);
                }
                None
            }
            Some(Mode::RoutingKey) => None,
            Some(Mode::Policy(name)) | Some(Mode::Ppk(name)) => {
                let in_ppk = matches!(self.stack.last(), Some(Mode::Ppk(_)));
                let name = name.clone();
                let mut scratch;
                let b = match name.as_ref().and_then(|n| self.policies.get_mut(n)) {
                    Some(b) => b,
                    None => {
                        scratch = PolicyB {
                            line: no,
                            policy: MacsecPolicy::new("?"),
                            seen: HashMap::new(),
                        };
                        &mut scratch
                    }
                };
                let r = if in_ppk {
                    // sks-profile NAME
                    arity(words, 2, "sks-profile", "sks-profile NAME").and_then(|()| {
                        once(&mut b.seen, "sks-profile", no, "ppk sks-profile".into())?;
                        b.policy.ppk_sks_profile = Some(words[1].to_string());
                        Ok(None)
                    })
                } else {
                    policy_command(b, words, no)
                };
                let short_rekey = b
                    .policy
                    .sak_rekey_interval
                    .filter(|d| d.as_secs() < u64::from(SAK_REKEY_INTERVAL_MIN));
                if r.is_ok() && kw(words[0], "sak-rekey-interval") {
                    if let Some(d) = short_rekey {
                        self.note(
                            no,
                            NoteKind::BelowRouterRange,
                            format!(
                                "sak-rekey-interval seconds {} is below the {SAK_REKEY_INTERVAL_MIN} s a router accepts; kept (meant for tests)",
                                d.as_secs()
                            ),
                        );
                    }
                }
                match r {
                    Ok(m) => m,
                    Err(e) => {
                        self.error(no, e);
                        None
                    }
                }
            }
            Some(Mode::Sks(name)) => {
                let name = name.clone();
                let mut scratch;
                let b = match name.as_ref().and_then(|n| self.sks.get_mut(n)) {
                    Some(b) => b,
                    None => {
                        scratch = SksB {
                            line: no,
                            profile: SksProfile::new("?", SksProfileType::Remote),
                            seen: HashMap::new(),
                            peer_lines: HashMap::new(),
                            broken: false,
                        };
                        &mut scratch
                    }
                };
                if let Err(e) = sks_command(b, words, no) {
                    self.error(no, e);
                }
                None
            }
            Some(Mode::Interface(name)) => {
                let name = name.clone();
                match interface_macsec(name.as_deref().unwrap_or("?"), words, no) {
                    Err(e) => self.error(no, e),
                    Ok(cfg) => {
                        if let Some(b) = name.as_ref().and_then(|n| self.ifaces.get_mut(n)) {
                            match &b.macsec {
                                Some(first) => {
                                    let (what, first) =
                                        (format!("macsec on interface {}", cfg.name), first.line);
                                    self.error(no, ErrorKind::Duplicate { what, first })
                                }
                                None => b.macsec = Some(cfg),
                            }
                        }
                    }
                }
                None
            }
        };
        if let Some(m) = pushed {
            self.stack.push(m);
        }
    }

    /// A top-level stanza head; returns the mode it enters.
    fn top(&mut self, no: usize, words: &[&str]) -> Option<Mode> {
        let w0 = words[0].to_ascii_lowercase();
        match w0.as_str() {
            "key" => {
                if words.len() != 3 {
                    self.error(
                        no,
                        ErrorKind::Syntax {
                            command: "key chain",
                            problem: "takes exactly one name".into(),
                            usage: "key chain NAME",
                        },
                    );
                    return Some(Mode::KeyChain(None));
                }
                let name = words[2].to_string();
                if let Some(b) = self.chains.get(&name) {
                    let first = b.line;
                    self.error(
                        no,
                        ErrorKind::Duplicate {
                            what: format!("key chain {name}"),
                            first,
                        },
                    );
                    return Some(Mode::KeyChain(None));
                }
                self.chains.insert(
                    name.clone(),
                    ChainB {
                        line: no,
                        has_macsec: false,
                        routing_key_line: None,
                        keys: Vec::new(),
                        broken: false,
                    },
                );
                Some(Mode::KeyChain(Some(name)))
            }
            "macsec-policy" => {
                if words.len() != 2 {
                    self.error(
                        no,
                        ErrorKind::Syntax {
                            command: "macsec-policy",
                            problem: "takes exactly one name".into(),
                            usage: "macsec-policy NAME",
                        },
                    );
                    return Some(Mode::Policy(None));
                }
                let name = words[1].to_string();
                if let Some(b) = self.policies.get(&name) {
                    let first = b.line;
                    self.error(
                        no,
                        ErrorKind::Duplicate {
                            what: format!("macsec-policy {name}"),
                            first,
                        },
                    );
                    return Some(Mode::Policy(None));
                }
                self.policies.insert(
                    name.clone(),
                    PolicyB {
                        line: no,
                        policy: MacsecPolicy::new(name.clone()),
                        seen: HashMap::new(),
                    },
                );
                Some(Mode::Policy(Some(name)))
            }
            "sks" => {
                let Some(name) = words.get(2) else {
                    self.error(
                        no,
                        ErrorKind::Syntax {
                            command: "sks profile",
                            problem: "missing name".into(),
                            usage: SKS_USAGE,
                        },
                    );
                    return Some(Mode::Sks(None));
                };
                let mut prof = SksProfile::new(*name, SksProfileType::Local);
                let mut rest = &words[3..];
                while let [opt, value, tail @ ..] = rest {
                    if kw(opt, "type") && kw(value, "remote") {
                        prof.profile_type = SksProfileType::Remote;
                    } else if kw(opt, "type") && kw(value, "local") {
                        prof.profile_type = SksProfileType::Local;
                    } else if kw(opt, "device-identifier") {
                        prof.device_identifier = Some(value.to_string());
                    } else {
                        break;
                    }
                    rest = tail;
                }
                if let Some(w) = rest.first() {
                    self.error(
                        no,
                        ErrorKind::Syntax {
                            command: "sks profile",
                            problem: format!("unexpected `{}`", shown(w)),
                            usage: SKS_USAGE,
                        },
                    );
                    return Some(Mode::Sks(None));
                }
                if let Some(b) = self.sks.get(*name) {
                    let first = b.line;
                    self.error(
                        no,
                        ErrorKind::Duplicate {
                            what: format!("sks profile {name}"),
                            first,
                        },
                    );
                    return Some(Mode::Sks(None));
                }
                self.sks.insert(
                    name.to_string(),
                    SksB {
                        line: no,
                        profile: prof,
                        seen: HashMap::new(),
                        peer_lines: HashMap::new(),
                        broken: false,
                    },
                );
                Some(Mode::Sks(Some(name.to_string())))
            }
            _ => {
                // interface [preconfigure] TYPE NUMBER | TYPENUMBER [extra words]
                let mut rest = &words[1..];
                if rest.first().is_some_and(|w| kw(w, "preconfigure")) {
                    rest = &rest[1..];
                }
                if rest.is_empty() {
                    self.error(
                        no,
                        ErrorKind::Syntax {
                            command: "interface",
                            problem: "missing name".into(),
                            usage: "interface NAME",
                        },
                    );
                    return Some(Mode::Interface(None));
                }
                let take = if rest
                    .get(1)
                    .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                {
                    2
                } else {
                    1
                };
                let name = canonical_interface_name(&rest[..take].join(" "));
                for w in &rest[take..] {
                    self.note(
                        no,
                        NoteKind::IgnoredCommand,
                        format!("interface {name}: `{}` ignored", shown(w)),
                    );
                }
                if let Some(b) = self.ifaces.get(&name) {
                    let first = b.line;
                    self.error(
                        no,
                        ErrorKind::Duplicate {
                            what: format!("interface {name}"),
                            first,
                        },
                    );
                    return Some(Mode::Interface(None));
                }
                self.ifaces.insert(
                    name.clone(),
                    IfaceB {
                        line: no,
                        macsec: None,
                    },
                );
                Some(Mode::Interface(Some(name)))
            }
        }
    }

    /// `key CKN` in a key chain's macsec mode; the key to enter.
    fn macsec_key(&mut self, no: usize, chain: Option<String>, words: &[&str]) -> Option<(String, usize)> {
        let ckn = match arity(words, 2, "key", "key CKN").and_then(|()| parse_ckn(words[1])) {
            Ok(c) => c,
            Err(e) => {
                self.error(no, e);
                return None;
            }
        };
        let c = chain?;
        let b = self.chains.get_mut(&c)?;
        if let Some(k) = b.keys.iter().find(|k| k.ckn == ckn) {
            let first = k.line;
            self.error(
                no,
                ErrorKind::Duplicate {
                    what: format!("key {ckn} in key chain {c}"),
                    first,
                },
            );
            return None;
        }
        b.keys.push(KeyB {
            line: no,
            ckn,
            cak: None,
            lifetime: None,
        });
        Some((c, b.keys.len() - 1))
    }

    fn key_command(&mut self, no: usize, chain: &str, i: usize, words: &[&str]) {
        let Some(b) = self.chains.get_mut(chain) else {
            return;
        };
        let k = &mut b.keys[i];
        let r = if kw(words[0], "key-string") {
            parse_key_string(words, &k.ckn).and_then(|(cak, alg)| match &k.cak {
                Some((_, _, first)) => Err(ErrorKind::Duplicate {
                    what: format!("key-string of key {}", k.ckn),
                    first: *first,
                }),
                None => {
                    k.cak = Some((cak, alg, no));
                    Ok(())
                }
            })
        } else {
            parse_lifetime(words, &k.ckn).and_then(|lt| match &k.lifetime {
                Some((_, first)) => Err(ErrorKind::Duplicate {
                    what: format!("lifetime of key {}", k.ckn),
                    first: *first,
                }),
                None => {
                    k.lifetime = Some((lt, no));
                    Ok(())
                }
            })
        };
        if let Err(e) = r {
            self.error(no, e);
        }
    }

    /// Builds the [`Config`] from the stanzas, with each stanza's own end-of-stanza checks; the
    /// references between stanzas are left to [`super::validate`]. The errors are in the order
    /// they were found (the caller sorts them by line).
    fn finish(mut self) -> (Config, References, Vec<ConfigError>) {
        self.stack.clear();
        let mut cfg = Config::default();
        let mut refs = References::default();
        for (name, b) in std::mem::take(&mut self.chains) {
            if !b.has_macsec {
                self.note(
                    b.line,
                    NoteKind::NotMacsecKeyChain,
                    format!("key chain {name} has no `macsec` section: not a MACsec key chain, skipped"),
                );
                refs.not_macsec.insert(name);
                continue;
            }
            if let Some(l) = b.routing_key_line {
                self.note(
                    l,
                    NoteKind::IgnoredCommand,
                    format!("key chain {name}: keys outside `macsec` are not MACsec keys: ignored"),
                );
            }
            if b.keys.is_empty() {
                if !b.broken {
                    self.error(b.line, ErrorKind::EmptyKeyChain { chain: name.clone() });
                }
                refs.broken.insert(name);
                continue;
            }
            let mut keys = Vec::new();
            let mut ok = !b.broken;
            for k in b.keys {
                match (k.cak, k.lifetime) {
                    (Some((cak, alg, _)), Some((lt, _))) => match Key::new(k.ckn, cak, alg, lt) {
                        Ok(key) => keys.push(key),
                        Err(source) => {
                            ok = false;
                            self.error(
                                k.line,
                                ErrorKind::KeyChain {
                                    chain: name.clone(),
                                    source,
                                },
                            );
                        }
                    },
                    (cak, lt) => {
                        ok = false;
                        // A key-string or lifetime line in error was reported already.
                        if !b.broken {
                            if cak.is_none() {
                                self.error(k.line, ErrorKind::MissingKeyString { ckn: k.ckn.clone() });
                            }
                            if lt.is_none() {
                                self.error(k.line, ErrorKind::MissingLifetime { ckn: k.ckn.clone() });
                            }
                        }
                    }
                }
            }
            if !ok {
                refs.broken.insert(name);
                continue;
            }
            match KeyChain::new(name.clone(), keys) {
                Ok(kc) => {
                    cfg.key_chains.insert(name, kc);
                }
                Err(source) => {
                    self.error(
                        b.line,
                        ErrorKind::KeyChain {
                            chain: name.clone(),
                            source,
                        },
                    );
                    refs.broken.insert(name);
                }
            }
        }

        for (name, b) in std::mem::take(&mut self.sks) {
            if b.profile.profile_type == SksProfileType::Remote && b.profile.kme_server.is_none() && !b.broken
            {
                self.error(
                    b.line,
                    ErrorKind::MissingKmeServer {
                        profile: name.clone(),
                    },
                );
            }
            // The KME connections are bound to a Linux interface: at most 15 octets, no '/' or space.
            if let Some(dev) = b
                .profile
                .source_interface
                .as_deref()
                .filter(|d| d.len() > 15 || d.contains(['/', ' ']))
            {
                let line = b.seen.get("source interface").copied().unwrap_or(b.line);
                self.note(
                    line,
                    NoteKind::NotLocalInterface,
                    format!("sks profile {name}: source interface {dev} is not a Linux interface name on this appliance; kept, but the KME connections fail until it names one (e.g. eth0)"),
                );
            }
            cfg.sks_profiles.insert(name, b.profile);
        }

        for (name, b) in std::mem::take(&mut self.policies) {
            if b.policy.ppk_sks_profile.is_some() {
                let line = b.seen.get("sks-profile").copied().unwrap_or(b.line);
                refs.sks_profile_lines.insert(name.clone(), line);
            }
            cfg.policies.insert(name, b.policy);
        }

        for (name, b) in std::mem::take(&mut self.ifaces) {
            let Some(i) = b.macsec else {
                self.note(
                    b.line,
                    NoteKind::NoMacsec,
                    format!("interface {name} has no `macsec psk-keychain`: skipped"),
                );
                continue;
            };
            cfg.interfaces.insert(name, i);
        }

        self.notes.sort_by_key(|n| n.line);
        cfg.notes = self.notes;
        (cfg, refs, self.errors)
    }
}

/// Whether `mode` (the top level when `None`) has the command of `words`.
fn claims(mode: Option<&Mode>, words: &[&str]) -> bool {
    let w0 = words[0];
    let is = |k: &str| kw(w0, k);
    match mode {
        None => {
            (is("key") && word_is(words, 1, "chain"))
                || is("macsec-policy")
                || (is("sks") && word_is(words, 1, "profile"))
                || is("interface")
        }
        Some(Mode::KeyChain(_)) => {
            (is("macsec") && words.len() == 1)
                || (is("key") && !word_is(words, 1, "chain"))
                || is("accept-tolerance")
        }
        Some(Mode::Macsec(_)) => is("key") && !word_is(words, 1, "chain"),
        Some(Mode::Key(_)) => is("key-string") || is("lifetime"),
        Some(Mode::RoutingKey) => {
            is("key-string") || is("accept-lifetime") || is("send-lifetime") || is("cryptographic-algorithm")
        }
        Some(Mode::Policy(_)) => {
            [
                "cipher-suite",
                "conf-offset",
                "key-server-priority",
                "security-policy",
                "delay-protection",
                "window-size",
                "include-icv-indicator",
                "sak-rekey-interval",
                "policy-exception",
                "vlan-tags-in-clear",
                "ppk",
                "max-peers",
            ]
            .iter()
            .any(|k| is(k))
                || UNSUPPORTED_POLICY_COMMANDS.iter().any(|k| is(k))
        }
        Some(Mode::Ppk(_)) => is("sks-profile"),
        Some(Mode::Sks(_)) => ["kme", "source", "http", "live-keys", "peer-identifier"]
            .iter()
            .any(|k| is(k)),
        Some(Mode::Interface(_)) => is("macsec"),
    }
}
