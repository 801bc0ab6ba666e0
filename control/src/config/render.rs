//! Running-config text, indented two spaces a level and closed with `!` as the guide's running
//! configurations are. A key-string is never shown: `<removed>` stands for it.

use super::time::format_time;
use super::{Host, InterfaceConfig, MacsecPolicy, ServerAddress, SksProfile, SksProfileType};
use super::{DEFAULT_CIPHER_SUITE, DEFAULT_KEY_SERVER_PRIORITY, DEFAULT_WINDOW_SIZE, MAX_PEERS_MAX};
use ipc::SecurityPolicy;
use macsec::secy::ConfOffset;
use mka::keychain::{Expiry, KeyChain};
use std::fmt::{self, Write as _};

pub(crate) fn conf_offset_keyword(o: ConfOffset) -> &'static str {
    match o {
        ConfOffset::Zero => "CONF-OFFSET-0",
        ConfOffset::Thirty => "CONF-OFFSET-30",
        ConfOffset::Fifty => "CONF-OFFSET-50",
    }
}

pub(crate) fn security_policy_keyword(p: SecurityPolicy) -> &'static str {
    match p {
        SecurityPolicy::MustSecure => "must-secure",
        SecurityPolicy::ShouldSecure => "should-secure",
    }
}

/// The commands in the order of the guide's two `show running-config macsec-policy` outputs
/// (conf-offset, policy-exception, security-policy, window-size, cipher-suite,
/// key-server-priority, include-icv-indicator, sak-rekey-interval), then delay-protection and ppk.
/// A command is shown when it was configured or differs from the default.
impl fmt::Display for MacsecPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.explicit;
        writeln!(f, "macsec-policy {}", self.name)?;
        if e.conf_offset || self.conf_offset != ConfOffset::Zero {
            writeln!(f, "  conf-offset {}", conf_offset_keyword(self.conf_offset))?;
        }
        if self.clear.lacp_in_clear {
            writeln!(f, "  policy-exception lacp-in-clear")?;
        }
        for et in self.clear.ethertype_list() {
            writeln!(f, "  policy-exception ethertype 0x{et:04x}")?;
        }
        for mac in self.clear.mac_list() {
            writeln!(
                f,
                "  policy-exception destination-mac {}",
                macsec::wire::ethernet::MacAddr(mac).cisco()
            )?;
        }
        if self.clear.vlan_tags_in_clear != 0 {
            writeln!(f, "  vlan-tags-in-clear {}", self.clear.vlan_tags_in_clear)?;
        }
        if e.security_policy || self.security_policy != SecurityPolicy::MustSecure {
            writeln!(
                f,
                "  security-policy {}",
                security_policy_keyword(self.security_policy)
            )?;
        }
        if e.window_size || self.window_size != DEFAULT_WINDOW_SIZE {
            writeln!(f, "  window-size {}", self.window_size)?;
        }
        if e.cipher_suite || self.cipher_suite != DEFAULT_CIPHER_SUITE {
            writeln!(f, "  cipher-suite {}", self.cipher_suite)?;
        }
        if e.key_server_priority || self.key_server_priority != DEFAULT_KEY_SERVER_PRIORITY {
            writeln!(f, "  key-server-priority {}", self.key_server_priority)?;
        }
        if self.include_icv_indicator {
            writeln!(f, "  include-icv-indicator")?;
        }
        if let Some(d) = self.sak_rekey_interval {
            writeln!(f, "  sak-rekey-interval seconds {}", d.as_secs())?;
        }
        if self.delay_protection {
            writeln!(f, "  delay-protection")?;
        }
        if self.max_peers != MAX_PEERS_MAX {
            writeln!(f, "  max-peers {}", self.max_peers)?;
        }
        if let Some(p) = &self.ppk_sks_profile {
            writeln!(f, "  ppk\n    sks-profile {p}\n  !")?;
        }
        writeln!(f, "!")
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ipv4(a) => write!(f, "ipv4 {a}")?,
            Host::Ipv6(a) => write!(f, "ipv6 {a}")?,
            Host::Name(n) => write!(f, "hostname {n}")?,
        }
        write!(f, " port {}", self.port)
    }
}

impl fmt::Display for SksProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sks profile {}", self.name)?;
        if self.profile_type == SksProfileType::Remote {
            write!(f, " type remote")?;
        }
        if let Some(id) = &self.device_identifier {
            write!(f, " device-identifier {id}")?;
        }
        writeln!(f)?;
        if let Some(k) = &self.kme_server {
            writeln!(f, "  kme server {k}")?;
        }
        if let Some(s) = &self.source_interface {
            writeln!(f, "  source interface {s}")?;
        }
        if let Some(p) = &self.http_proxy {
            writeln!(f, "  http proxy {p}")?;
        }
        if let Some(n) = self.live_keys {
            writeln!(f, "  live-keys {n}")?;
        }
        for p in &self.peers {
            writeln!(
                f,
                "  peer-identifier {}{}",
                p.name,
                if p.master { " master" } else { "" }
            )?;
        }
        writeln!(f, "!")
    }
}

impl fmt::Display for InterfaceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interface {}\n  macsec psk-keychain {}",
            self.name, self.psk_keychain
        )?;
        if let Some(fb) = &self.fallback_psk_keychain {
            write!(f, " fallback-psk-keychain {fb}")?;
        }
        if let Some(p) = &self.policy {
            write!(f, " policy {p}")?;
        }
        writeln!(f, "\n!")
    }
}

/// A MACsec key chain; every key-string is `<removed>`.
pub(crate) fn key_chain(kc: &KeyChain) -> String {
    let mut out = format!("key chain {}\n  macsec\n", kc.name());
    for k in kc.keys() {
        let lt = k.lifetime();
        let end = match lt.end {
            Expiry::Infinite => "infinite".to_string(),
            Expiry::Duration(d) => format!("duration {d}"),
            Expiry::At(t) => format_time(t),
        };
        let _ = write!(
            out,
            "    key {}\n      key-string <removed> cryptographic-algorithm {}\n      lifetime {} {}\n    !\n",
            k.ckn(),
            k.algorithm(),
            format_time(lt.start),
            end
        );
    }
    out.push_str("  !\n!\n");
    out
}
