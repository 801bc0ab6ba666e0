//! The IOS XR MACsec configuration syntax of the guide, parsed into a typed model.
//!
//! Stanzas understood (keywords in any case, indentation free, `!` closes the current block,
//! `exit` leaves one level, `end` all of them, `!text` and `#text` are comments, `commit` and
//! `configure` are accepted anywhere):
//!
//! ```text
//! key chain NAME
//!  macsec
//!   key CKN                                        (2 to 64 hex digits, an even number)
//!    key-string [clear|password|7] CAK cryptographic-algorithm AES-128-CMAC|AES-256-CMAC
//!    lifetime hh:mm:ss DAY MONTH YEAR (infinite | duration SECONDS | hh:mm:ss DAY MONTH YEAR)
//! macsec-policy NAME
//!  cipher-suite GCM-AES-128|GCM-AES-256|GCM-AES-XPN-128|GCM-AES-XPN-256
//!  conf-offset CONF-OFFSET-0|CONF-OFFSET-30|CONF-OFFSET-50
//!  key-server-priority 0-255
//!  security-policy must-secure|should-secure
//!  delay-protection
//!  window-size 0-1024
//!  include-icv-indicator
//!  sak-rekey-interval seconds 1-2592000         (IOS XR: 60-2592000; shorter ones get a note)
//!  max-peers 1-64                                (our extension, not IOS XR: the peer table's size)
//!  policy-exception lacp-in-clear
//!  ppk sks-profile NAME                            (or `ppk` / ` sks-profile NAME`)
//! sks profile NAME [type remote|local] [device-identifier ID]
//!  kme server ipv4|ipv6|hostname ADDRESS port PORT
//!  source interface INTERFACE
//!  http proxy ipv4|ipv6|hostname ADDRESS port PORT
//!  live-keys N
//!  peer-identifier NAME [master]
//! interface NAME
//!  macsec psk-keychain NAME [fallback-psk-keychain NAME] [policy NAME]
//! ```
//!
//! Dates are `day month year` as the guide writes them or `month day year` as a running-config
//! shows them, and are taken as UTC. `key-string password X` is the running-config's type 7 form of
//! the CAK. A command that is not one of its stanza's is looked for in the enclosing stanzas (so a
//! stanza need not end with `!`); if none has it, it is an error, except inside `interface`, where
//! other sub-commands are skipped with a [`Note`]. A running-config pasted from a router loads:
//! other top-level commands and stanzas (`hostname`, `router bgp ...`, `line console`, with every
//! line indented under them) and routing-protocol key chains are skipped with a note.
//!
//! Validation: CKN and CAK formats, CAK length against the algorithm, ranges, duplicate stanzas,
//! keys and commands, lifetime order, missing key-string or lifetime (the parser, `parser.rs`);
//! references from interfaces to key chains and policies and from policies to SKS profiles, the
//! fallback PSK rules (a different key chain, infinite lifetimes, no CKN in common) and
//! `live-keys` (after parsing, `validate.rs`). Errors name the line and never
//! quote a CAK; `Debug` of the model shows CAKs as `***`, and rendering never prints them.

mod error;
mod parser;
mod render;
mod setup;
pub mod time;
mod type7;
mod validate;

pub use error::{ConfigError, ErrorKind, Note, NoteKind};
pub use setup::PortSetup;

use ipc::SecurityPolicy;
use macsec::secy::{CipherSuite, ConfOffset};
use mka::keychain::{FallbackPsk, KeyChain};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Duration;

/// The name the guide's `show macsec mka session detail` gives the policy of an interface
/// configured without `policy NAME`.
pub const DEFAULT_POLICY_NAME: &str = "*DEFAULT POLICY*";
/// Default cipher suite: the `*DEFAULT POLICY*` session shows `SAK Cipher Suite :
/// 0080C20001000004 (GCM-AES-XPN-256)`.
pub const DEFAULT_CIPHER_SUITE: CipherSuite = CipherSuite::GcmAesXpn256;
/// "If no value is configured, the default value of 16 is taken to be the key server priority".
pub const DEFAULT_KEY_SERVER_PRIORITY: u8 = 16;
/// `*DEFAULT POLICY*`: `Replay Window Size : 64`.
pub const DEFAULT_WINDOW_SIZE: u32 = 64;
/// "You can configure a value between 0 and 1024."
pub const WINDOW_SIZE_MAX: u32 = 1024;
/// `sak-rekey-interval seconds` range (the guide shows 120 and gives no range; this is the IOS XR
/// command's 60 seconds to 30 days).
pub const SAK_REKEY_INTERVAL_MIN: u32 = 60;
pub const SAK_REKEY_INTERVAL_MAX: u32 = 2_592_000;

/// The largest `max-peers` (our extension), also the default: 64 peer-list entries keep our MKPDU
/// within a 1518-octet frame ([`mka::kay::DEFAULT_MAX_PEERS`]).
pub const MAX_PEERS_MAX: usize = mka::kay::DEFAULT_MAX_PEERS;
/// `lifetime ... duration SECONDS` range.
pub const LIFETIME_DURATION_MAX: u64 = 2_147_483_646;

/// The parsed configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// MACsec key chains (those with a `macsec` section), by name.
    pub key_chains: BTreeMap<String, KeyChain>,
    /// `macsec-policy` stanzas, by name.
    pub policies: BTreeMap<String, MacsecPolicy>,
    /// `sks profile` stanzas, by name.
    pub sks_profiles: BTreeMap<String, SksProfile>,
    /// Interfaces with `macsec psk-keychain`, by canonical name (see [`canonical_interface_name`]).
    pub interfaces: BTreeMap<String, InterfaceConfig>,
    /// What was skipped, in line order.
    pub notes: Vec<Note>,
}

/// A `macsec-policy`: every field holds the value in force, the guide's default when the command
/// is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacsecPolicy {
    pub name: String,
    /// `cipher-suite`; default GCM-AES-XPN-256.
    pub cipher_suite: CipherSuite,
    /// `conf-offset`; default CONF-OFFSET-0.
    pub conf_offset: ConfOffset,
    /// `key-server-priority` (lower is preferred); default 16.
    pub key_server_priority: u8,
    /// `security-policy`; default must-secure.
    pub security_policy: SecurityPolicy,
    /// `window-size`, the replay window; default 64.
    pub window_size: u32,
    /// `delay-protection`; default off.
    pub delay_protection: bool,
    /// `include-icv-indicator`; default off.
    pub include_icv_indicator: bool,
    /// `sak-rekey-interval seconds N`; default none (rekey on PN exhaustion and membership only).
    pub sak_rekey_interval: Option<Duration>,
    /// `policy-exception lacp-in-clear`, `vlan-tags-in-clear N`, and our extension's
    /// `policy-exception ethertype HEX` / `destination-mac MAC`; default: nothing in the clear.
    pub clear: ipc::ClearPolicy,
    /// `max-peers N` (our extension): the most members one CA keeps; default and most 64.
    pub max_peers: usize,
    /// `ppk sks-profile NAME`; default none.
    pub ppk_sks_profile: Option<String>,
    /// Which valued commands were written out, so that rendering shows an explicit default as the
    /// router does (`window-size 64`).
    explicit: Explicit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Explicit {
    cipher_suite: bool,
    conf_offset: bool,
    key_server_priority: bool,
    security_policy: bool,
    window_size: bool,
}

impl MacsecPolicy {
    /// A policy of this name with every default.
    pub fn new(name: impl Into<String>) -> MacsecPolicy {
        MacsecPolicy {
            name: name.into(),
            cipher_suite: DEFAULT_CIPHER_SUITE,
            conf_offset: ConfOffset::Zero,
            key_server_priority: DEFAULT_KEY_SERVER_PRIORITY,
            security_policy: SecurityPolicy::MustSecure,
            window_size: DEFAULT_WINDOW_SIZE,
            delay_protection: false,
            include_icv_indicator: false,
            sak_rekey_interval: None,
            clear: ipc::ClearPolicy::default(),
            max_peers: MAX_PEERS_MAX,
            ppk_sks_profile: None,
            explicit: Explicit::default(),
        }
    }

    /// The pre-configured policy of an interface without `policy NAME`: [`DEFAULT_POLICY_NAME`]
    /// with every default.
    pub fn default_policy() -> MacsecPolicy {
        MacsecPolicy::new(DEFAULT_POLICY_NAME)
    }

    /// The same, shared.
    pub fn default_policy_ref() -> &'static MacsecPolicy {
        static DEFAULT: OnceLock<MacsecPolicy> = OnceLock::new();
        DEFAULT.get_or_init(MacsecPolicy::default_policy)
    }

    /// The running-config text of this policy (as `show running-config macsec-policy` prints it).
    pub fn render(&self) -> String {
        self.to_string()
    }
}

/// `sks profile NAME type remote|local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SksProfileType {
    /// The router's own Session Key Service engine (McEliece-protected seed): the guide's
    /// `sks profile prof-A device-identifier peer-1`. The default when `type` is absent.
    Local,
    /// A remote key manager reached with SKIP: `sks profile NAME type remote` + `kme server ...`.
    Remote,
}

/// A server address: `ipv4 A`, `ipv6 A` or `hostname H`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    Name(String),
}

/// A host and TCP port (`kme server ...`, `http proxy ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    pub host: Host,
    pub port: u16,
}

/// `peer-identifier NAME [master]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SksPeer {
    pub name: String,
    /// This peer is the master (the side that generates and exports the seed).
    pub master: bool,
}

/// An `sks profile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SksProfile {
    pub name: String,
    pub profile_type: SksProfileType,
    /// `device-identifier ID` on the `sks profile` line: this router's name towards its peers.
    pub device_identifier: Option<String>,
    /// `kme server ...` (remote profiles; required there).
    pub kme_server: Option<ServerAddress>,
    /// `source interface NAME` (remote profiles).
    pub source_interface: Option<String>,
    /// `http proxy ...` (remote profiles).
    pub http_proxy: Option<ServerAddress>,
    /// `live-keys N`: the number of MACsec sessions keys are kept for.
    pub live_keys: Option<u32>,
    /// `peer-identifier NAME [master]`, in configuration order.
    pub peers: Vec<SksPeer>,
}

impl SksProfile {
    pub fn new(name: impl Into<String>, profile_type: SksProfileType) -> SksProfile {
        SksProfile {
            name: name.into(),
            profile_type,
            device_identifier: None,
            kme_server: None,
            source_interface: None,
            http_proxy: None,
            live_keys: None,
            peers: Vec::new(),
        }
    }
}

/// An interface with `macsec psk-keychain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// Canonical name ([`canonical_interface_name`]).
    pub name: String,
    pub psk_keychain: String,
    pub fallback_psk_keychain: Option<String>,
    /// `policy NAME`; `None` means [`MacsecPolicy::default_policy`].
    pub policy: Option<String>,
    /// The line of the `macsec psk-keychain` command.
    pub line: usize,
}

impl Config {
    /// Parses a configuration; the first error (in line order) if there is any.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_all(text).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Parses a configuration; every error, in line order, if there is any.
    pub fn parse_all(text: &str) -> Result<Config, Vec<ConfigError>> {
        let (cfg, refs, mut errors) = parser::parse(text);
        errors.extend(validate::validate(&cfg, &refs));
        if errors.is_empty() {
            Ok(cfg)
        } else {
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
    }

    /// The policy in force on an interface: its `policy NAME`, or the default policy.
    pub fn interface_policy(&self, interface: &InterfaceConfig) -> Option<&MacsecPolicy> {
        match &interface.policy {
            None => Some(MacsecPolicy::default_policy_ref()),
            Some(name) => self.policies.get(name),
        }
    }

    /// The primary PSK key chain of an interface.
    pub fn interface_keychain(&self, interface: &InterfaceConfig) -> Option<&KeyChain> {
        self.key_chains.get(&interface.psk_keychain)
    }

    /// The fallback PSK of an interface, if it has one (and it is valid).
    pub fn interface_fallback(&self, interface: &InterfaceConfig) -> Option<FallbackPsk> {
        let name = interface.fallback_psk_keychain.as_ref()?;
        FallbackPsk::new(self.key_chains.get(name)?.clone()).ok()
    }

    /// `show running-config macsec-policy NAME`: the policy's running-config text.
    pub fn render_policy(&self, name: &str) -> Option<String> {
        self.policies.get(name).map(|p| p.to_string())
    }

    /// `show running-config key chain NAME`, each key-string `<removed>`.
    pub fn render_key_chain(&self, name: &str) -> Option<String> {
        self.key_chains.get(name).map(render::key_chain)
    }

    /// `show running-config sks profile NAME`.
    pub fn render_sks_profile(&self, name: &str) -> Option<String> {
        self.sks_profiles.get(name).map(|p| p.to_string())
    }

    /// `show running-config interface NAME` (its MACsec line only); `name` in any accepted form.
    pub fn render_interface(&self, name: &str) -> Option<String> {
        self.interfaces
            .get(&canonical_interface_name(name))
            .map(|i| i.to_string())
    }

    /// The whole MACsec running-config (key chains with each key-string `<removed>`, SKS profiles, policies,
    /// interfaces).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for kc in self.key_chains.values() {
            out.push_str(&render::key_chain(kc));
        }
        for p in self.sks_profiles.values() {
            out.push_str(&p.to_string());
        }
        for p in self.policies.values() {
            out.push_str(&p.to_string());
        }
        for i in self.interfaces.values() {
            out.push_str(&i.to_string());
        }
        out
    }

    /// What macsecd runs: one [`PortSetup`] per interface with `macsec psk-keychain`, in name order.
    pub fn port_setups(&self) -> Result<Vec<PortSetup>, ConfigError> {
        self.interfaces.values().map(|i| self.port_setup(i)).collect()
    }

    fn port_setup(&self, i: &InterfaceConfig) -> Result<PortSetup, ConfigError> {
        let err = |kind| ConfigError::new(i.line, kind);
        let policy = self.interface_policy(i).ok_or_else(|| {
            err(ErrorKind::UnknownPolicy {
                interface: i.name.clone(),
                policy: i.policy.clone().unwrap_or_default(),
            })
        })?;
        let keychain = self.interface_keychain(i).cloned().ok_or_else(|| {
            err(ErrorKind::UnknownKeyChain {
                interface: i.name.clone(),
                role: "psk-keychain",
                chain: i.psk_keychain.clone(),
            })
        })?;
        let fallback = match &i.fallback_psk_keychain {
            None => None,
            Some(name) => {
                let chain = self.key_chains.get(name).cloned().ok_or_else(|| {
                    err(ErrorKind::UnknownKeyChain {
                        interface: i.name.clone(),
                        role: "fallback-psk-keychain",
                        chain: name.clone(),
                    })
                })?;
                let fb = FallbackPsk::new(chain)
                    .and_then(|fb| fb.check_distinct(&keychain).map(|()| fb))
                    .map_err(|source| {
                        err(ErrorKind::KeyChain {
                            chain: name.clone(),
                            source,
                        })
                    })?;
                Some(fb)
            }
        };
        // `ppk sks-profile NAME`: the profile the PPKs come from (the parser checked the
        // reference; a model built by hand may still lack it).
        let ppk = match &policy.ppk_sks_profile {
            None => None,
            Some(name) => Some(self.sks_profiles.get(name).cloned().ok_or_else(|| {
                err(ErrorKind::UnknownSksProfile {
                    policy: policy.name.clone(),
                    profile: name.clone(),
                })
            })?),
        };
        Ok(PortSetup {
            interface: i.name.clone(),
            policy_name: policy.name.clone(),
            cipher_suite: policy.cipher_suite,
            conf_offset: policy.conf_offset,
            key_server_priority: policy.key_server_priority,
            security_policy: policy.security_policy,
            replay_window: policy.window_size,
            delay_protection: policy.delay_protection,
            sak_rekey_interval: policy.sak_rekey_interval,
            clear: policy.clear,
            include_icv_indicator: policy.include_icv_indicator,
            max_peers: policy.max_peers,
            keychain,
            fallback,
            ppk,
            test_initial_pn: None,
        })
    }
}

/// IOS XR interface types, full name and short form (as `show` output abbreviates them).
const INTERFACE_TYPES: &[(&str, &str)] = &[
    ("GigabitEthernet", "Gi"),
    ("TenGigE", "Te"),
    ("TwentyFiveGigE", "TF"),
    ("FortyGigE", "Fo"),
    ("FiftyGigE", "Fi"),
    ("HundredGigE", "Hu"),
    ("TwoHundredGigE", "TH"),
    ("FourHundredGigE", "FH"),
    ("EightHundredGigE", "EH"),
    ("Bundle-Ether", "BE"),
    ("MgmtEth", "Mg"),
    ("Loopback", "Lo"),
];

/// The short form IOS XR prints in `show` tables: `HundredGigE0/2/0/11` → `Hu0/2/0/11`,
/// `TenGigE0/0/0/1` → `Te0/0/0/1` (any accepted spelling in; other names are kept, without spaces).
pub fn short_interface_name(name: &str) -> String {
    let full = canonical_interface_name(name);
    let split = full.find(|c: char| c.is_ascii_digit()).unwrap_or(full.len());
    let (ty, number) = full.split_at(split);
    match INTERFACE_TYPES.iter().find(|(f, _)| *f == ty) {
        Some((_, short)) if !number.is_empty() => format!("{short}{number}"),
        _ => full,
    }
}

/// Whether two interface names (each in any accepted form: `Hu0/0/0/1`, `HundredGigE 0/0/0/1`,
/// `hundredgige0/0/0/1`) name the same interface.
pub fn same_interface(a: &str, b: &str) -> bool {
    canonical_interface_name(a) == canonical_interface_name(b)
}

/// The canonical form of an interface name, as a running-config writes it: the type and the
/// number joined (`hundredGigE 0/1/0/10` → `HundredGigE0/1/0/10`), a known IOS XR type in its
/// full spelling whatever its case or short form (`Te0/3/0/1/4` → `TenGigE0/3/0/1/4`,
/// `Hu0/5/0/1` → `HundredGigE0/5/0/1`). Other names are kept as written, without spaces.
pub fn canonical_interface_name(name: &str) -> String {
    let joined: String = name.split_whitespace().collect();
    let split = joined.find(|c: char| c.is_ascii_digit()).unwrap_or(joined.len());
    let (ty, number) = joined.split_at(split);
    let exact = INTERFACE_TYPES
        .iter()
        .find(|(full, short)| ty.eq_ignore_ascii_case(full) || ty.eq_ignore_ascii_case(short));
    // As IOS XR's parser: a type may be abbreviated to any unique prefix (`Ten`, `hundredg`).
    let prefix = || {
        let lower = ty.to_ascii_lowercase();
        let mut m = INTERFACE_TYPES
            .iter()
            .filter(|(full, _)| lower.len() >= 2 && full.to_ascii_lowercase().starts_with(&lower));
        match (m.next(), m.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    };
    match exact.or_else(prefix) {
        Some((full, _)) if !number.is_empty() => format!("{full}{number}"),
        _ => joined,
    }
}
