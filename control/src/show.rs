//! Renderers of the `show macsec ...` views, text as in the guide and JSON. The data comes from
//! macsecd's socket as [`ShowData`]; keys are never part of it.

use serde::{Deserialize, Serialize};

/// Cisco's SCI notation: `001d.e5e9.aa39/0005`.
pub fn cisco_sci(sci: u64) -> String {
    let b = sci.to_be_bytes();
    format!("{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}/{:02x}{:02x}", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7])
}

/// One row of `show macsec mka session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub interface: String,
    pub local_tx_sci: u64,
    pub peers: usize,
    /// "Secured", or "Pending" while no key is in use.
    pub status: String,
    pub key_server: bool,
    /// CA Authentication Mode: PRIMARY-PSK or FALLBACK-PSK.
    pub auth_mode: String,
    pub ckn: String,
    pub live_peers: Vec<u64>,
    pub icv_failures: u64,
    pub latest_kn: Option<u32>,
    pub latest_an: Option<u8>,
    /// Key Distribution Mode: "SAK", or "PPK" with `ppk sks-profile` (empty from an older macsecd: SAK).
    #[serde(default)]
    pub key_distribution_mode: String,
    /// PPK mode: the key ID (hex) of the PPK protecting the latest SAK.
    #[serde(default)]
    pub ppk_key_id: Option<String>,
    /// PPK mode: why PPK key distribution failed (the session is not secured with that SAK).
    #[serde(default)]
    pub ppk_failure: Option<String>,
}

/// One row of `show macsec mka summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub interface: String,
    pub status: String,
    pub cipher_suite: String,
    pub keychain: String,
}

/// One row of `show macsec policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRow {
    pub name: String,
    pub cipher_suite: String,
    pub key_server_priority: u8,
    pub window_size: u32,
    pub conf_offset: usize,
}

/// One key of `show key chain` (never its CAK).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRow {
    pub ckn: String,
    pub algorithm: String,
    /// Unix seconds.
    pub start: u64,
    pub end: Option<u64>,
    pub active: bool,
}

/// `show key chain` for one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChainView {
    pub name: String,
    pub keys: Vec<KeyRow>,
}

/// What macsecd answers to a show request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShowData {
    pub sessions: Vec<SessionRow>,
    #[serde(default)]
    pub summary: Vec<SummaryRow>,
    #[serde(default)]
    pub policies: Vec<PolicyRow>,
    /// `show running-config macsec-policy`, as the configuration renders it.
    #[serde(default)]
    pub running_policies: String,
    #[serde(default)]
    pub key_chains: Vec<KeyChainView>,
    /// `show macsec mka statistics` per interface.
    #[serde(default)]
    pub statistics: Vec<(String, crate::mka::kay::MkaStats)>,
}

impl ShowData {
    /// The configuration-derived views (policies, running-config, key chains) at `now` (Unix s).
    pub fn with_config(mut self, cfg: &crate::config::Config, now: u64) -> ShowData {
        self.policies = cfg
            .policies
            .values()
            .map(|p| PolicyRow {
                name: p.name.clone(),
                cipher_suite: p.cipher_suite.name().into(),
                key_server_priority: p.key_server_priority,
                window_size: p.window_size,
                conf_offset: p.conf_offset.octets(),
            })
            .collect();
        self.running_policies = cfg.policies.keys().filter_map(|n| cfg.render_policy(n)).collect::<Vec<_>>().join("");
        self.key_chains = cfg
            .key_chains
            .values()
            .map(|c| KeyChainView {
                name: c.name().to_string(),
                keys: c
                    .keys()
                    .iter()
                    .map(|k| KeyRow {
                        ckn: k.ckn().to_string(),
                        algorithm: k.algorithm().to_string(),
                        start: k.start(),
                        end: k.end_time(),
                        active: k.is_active(now),
                    })
                    .collect(),
            })
            .collect();
        self
    }
}

/// `show macsec mka summary`.
pub fn render_mka_summary(rows: &[SummaryRow]) -> String {
    let mut s = String::from("NODE: node0_0_CPU0\n=====\n");
    s.push_str(&format!("{:<20}{:<12}{:<18}{}\n=====\n", "Interface", "Status", "Cipher Suite", "KeyChain"));
    for r in rows {
        s.push_str(&format!("{:<20}{:<12}{:<18}{}\n", r.interface, r.status, r.cipher_suite, r.keychain));
    }
    let secured = rows.iter().filter(|r| r.status == "Secured").count();
    s.push_str(&format!(
        "\nTotal MACSec Sessions : {}\nSecured Sessions : {}\nPending Sessions : {}\n",
        rows.len(),
        secured,
        rows.len() - secured
    ));
    s
}

/// `show macsec policy [NAME]`.
pub fn render_policies(rows: &[PolicyRow]) -> String {
    let mut s = String::from("=====\n");
    s.push_str(&format!("{:<20}{:<18}{:<12}{:<10}{}\n", "Policy", "Cipher", "Key-Svr", "Window", "Conf"));
    s.push_str(&format!("{:<20}{:<18}{:<12}{:<10}{}\n=====\n", "name", "Suite", "Priority", "Size", "Offset"));
    for r in rows {
        s.push_str(&format!("{:<20}{:<18}{:<12}{:<10}{}\n", r.name, r.cipher_suite, r.key_server_priority, r.window_size, r.conf_offset));
    }
    s
}

/// `show key chain [NAME]` (keys shown by CKN; the CAK never is).
pub fn render_key_chains(chains: &[KeyChainView]) -> String {
    let t = |u: u64| crate::config::time::format_time(u);
    let mut s = String::new();
    for c in chains {
        s.push_str(&format!("Key-chain: {} -\n", c.name));
        for k in &c.keys {
            s.push_str(&format!("  Key  {} -- text \"***\"\n", k.ckn));
            s.push_str(&format!("    Cryptographic-Algorithm -- {}\n", k.algorithm));
            let end = k.end.map(t).unwrap_or_else(|| "Infinite".into());
            s.push_str(&format!("    Lifetime -- {} - {} [{}]\n", t(k.start), end, if k.active { "Valid now" } else { "Not valid now" }));
        }
    }
    s
}

/// `show macsec mka statistics interface NAME`, with the guide's field names.
pub fn render_mka_statistics(interface: &str, st: &crate::mka::kay::MkaStats) -> String {
    format!(
        "MKA Statistics for Session on interface ({interface})\n=====\n\
SA Statistics\nSAKs Generated..... {}\nSAKs Rekeyed..... {}\nSAKs Received..... {}\n\n\
MKPDU Statistics\nMKPDUs Transmitted..... {}\n\"Distributed SAK\".. {}\nMKPDUs Validated & Rx.... {}\n\n\
MKA IDB Statistics\nMKPDUs Tx Success..... {}\nMKPDUs Rx CA Not found..... {}\nMKPDUs Rx Error..... {}\nMKPDUs Rx Success..... {}\n\n\
MKPDU Failures\nMKPDU Rx Validation (ICV) ..... {}\nMKPDU Rx Bad Peer MN..... {}\nMKPDU Rx Non-recent Peerlist MN..... {}\n\n\
SAK Failures\nSAK Decryption/Unwrap..... {}\nSAK from a non key server..... {}\n",
        st.sak_generated,
        st.sak_rekeyed,
        st.sak_received,
        st.mkpdus_tx,
        st.distributed_sak_tx,
        st.mkpdus_validated,
        st.mkpdus_tx,
        st.unknown_ckn,
        st.malformed,
        st.mkpdus_validated,
        st.icv_failures,
        st.bad_peer_mn,
        st.non_recent_peer_list_mn,
        st.sak_unwrap_failures,
        st.sak_from_non_key_server,
    )
}

/// `show macsec mka session` as the guide prints it.
pub fn render_mka_session(rows: &[SessionRow]) -> String {
    let mut s = String::from("\nNODE: node0 0 CPU0\n\n");
    s.push_str(&format!("{:<20}{:<22}{:<10}{:<10}{}\n", "Interface", "Local-TxSCI", "# Peers", "Status", "Key-Server"));
    for r in rows {
        s.push_str(&format!(
            "{:<20}{:<22}{:<10}{:<10}{}\n",
            r.interface,
            cisco_sci(r.local_tx_sci),
            r.peers,
            r.status,
            if r.key_server { "YES" } else { "NO" }
        ));
    }
    s
}

/// `show macsec mka session detail` (the fields the engine knows).
pub fn render_mka_session_detail(rows: &[SessionRow]) -> String {
    let mut s = String::from("MKA Detailed Status for MKA Session\n===================================\n");
    for r in rows {
        s.push_str(&format!("Interface Name             : {}\n", r.interface));
        s.push_str(&format!("Status                     : {}\n", r.status));
        s.push_str(&format!("Local Tx-SCI               : {}\n", cisco_sci(r.local_tx_sci)));
        s.push_str(&format!("CA Authentication Mode     : {}\n", r.auth_mode));
        s.push_str(&format!("CKN                        : {}\n", r.ckn));
        s.push_str(&format!("Key Server                 : {}\n", if r.key_server { "YES" } else { "NO" }));
        let mode = if r.key_distribution_mode.is_empty() { "SAK" } else { r.key_distribution_mode.as_str() };
        s.push_str(&format!("Key Distribution Mode      : {mode}\n"));
        if let Some(id) = &r.ppk_key_id {
            s.push_str(&format!("PPK Key ID                 : {id}\n"));
        }
        if let Some(f) = &r.ppk_failure {
            s.push_str(&format!("PPK Failure                : {f}\n"));
        }
        match (r.latest_kn, r.latest_an) {
            (Some(kn), Some(an)) => s.push_str(&format!("Latest SAK Status          : Rx & Tx\nLatest SAK AN              : {an}\nLatest SAK KN              : {kn}\n")),
            _ => s.push_str("Latest SAK Status          : None\n"),
        }
        s.push_str(&format!("# of MACsec Capable Live Peers : {}\n", r.peers));
        for p in &r.live_peers {
            s.push_str(&format!("  Peer SCI                 : {}\n", cisco_sci(*p)));
        }
        s.push_str(&format!("ICV Validation Failures    : {}\n\n", r.icv_failures));
    }
    s
}

/// `show macsec secy statistics interface NAME`: the 802.1AE counters under their standard names
/// (`v` is macsecd's `{"secy": {...}, "link": {...}}`).
pub fn render_secy_statistics(interface: &str, v: &serde_json::Value) -> String {
    let mut s = format!("Interface : {interface}\nSecY statistics (IEEE 802.1AE-2018 10.7)\n");
    if let Some(m) = v["secy"].as_object() {
        for (k, n) in m {
            s.push_str(&format!("  {k:<22}: {n}\n"));
        }
    }
    if let Some(m) = v["link"].as_object() {
        s.push_str("Dataplane\n");
        for (k, n) in m {
            s.push_str(&format!("  {k:<22}: {n}\n"));
        }
    }
    s
}

/// `show macsec ea idb interface NAME`: the dataplane's SC/SA state (keys are never shown).
pub fn render_ea_idb(interface: &str, v: &serde_json::Value) -> String {
    let sa = &v["sa"];
    let mut s = format!("IDB Details:\nif_sname : {interface}\n");
    for (i, rx) in sa["rx"].as_array().into_iter().flatten().enumerate() {
        s.push_str(&format!(
            "Rx SC {}\n Rx SCI : {:016x}\n AN : {}\n Next PN : {}\n Lowest PN : {}\n Enabled : {}\n SAK[{}] : ***\n",
            i + 1,
            rx["sci"].as_u64().unwrap_or(0),
            rx["an"],
            rx["next_pn"],
            rx["lowest_pn"],
            if rx["enabled"].as_bool() == Some(true) { "YES" } else { "NO" },
            rx["an"],
        ));
    }
    s.push_str(&format!("Tx SC\n Tx SCI : {:016x}\n Active AN : {}\n", sa["tx_sci"].as_u64().unwrap_or(0), sa["encoding_an"].as_u64().map(|a| a.to_string()).unwrap_or_else(|| "255".into())));
    for tx in sa["tx"].as_array().into_iter().flatten() {
        s.push_str(&format!(" AN {} Next PN : {} SAK[{}] : ***\n", tx["an"], tx["next_pn"], tx["an"]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_table_as_in_the_guide() {
        let r = SessionRow {
            interface: "Fo0/0/0/1/0".into(),
            local_tx_sci: 0x001d_e5e9_aa39_0005,
            peers: 1,
            status: "Secured".into(),
            key_server: true,
            auth_mode: "PRIMARY-PSK".into(),
            ckn: "1111".into(),
            live_peers: vec![0x001d_e5e9_b1bf_0001],
            icv_failures: 0,
            latest_kn: Some(1),
            latest_an: Some(0),
            key_distribution_mode: "PPK".into(),
            ppk_key_id: Some("6b65792d31".into()),
            ppk_failure: None,
        };
        let t = render_mka_session(std::slice::from_ref(&r));
        assert!(t.contains("Interface           Local-TxSCI           # Peers   Status    Key-Server"), "{t}");
        assert!(t.contains("Fo0/0/0/1/0         001d.e5e9.aa39/0005   1         Secured   YES"), "{t}");
        let d = render_mka_session_detail(&[r]);
        assert!(d.contains("CA Authentication Mode     : PRIMARY-PSK") && d.contains("Peer SCI                 : 001d.e5e9.b1bf/0001"));
        assert!(d.contains("Key Server                 : YES\nKey Distribution Mode      : PPK\nPPK Key ID                 : 6b65792d31\n"), "{d}");
    }
}
