//! Renderers of the `show macsec ...` views, text as in the guide and JSON. The data comes from
//! macsecd's socket as [`ShowData`]; keys are never part of it.

use serde::{Deserialize, Serialize};

/// Cisco's SCI notation: `001d.e5e9.aa39/0005`.
pub fn cisco_sci(sci: u64) -> String {
    let b = sci.to_be_bytes();
    format!(
        "{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}/{:02x}{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
    )
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
    /// Why the key server's SAK is not used (its cipher suite is not the policy's).
    #[serde(default)]
    pub sak_refused: Option<String>,
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

/// One MKA participant (CA) of an interface, for `show macsec mka interface detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaRow {
    pub ckn: String,
    /// PRIMARY-PSK or FALLBACK-PSK.
    pub auth_mode: String,
    pub mi: String,
    pub mn: u32,
    pub live_peers: usize,
    pub potential_peers: usize,
    pub status: String,
}

/// One interface of `show macsec mka interface [NAME] detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceRow {
    pub interface: String,
    pub local_tx_sci: u64,
    pub policy: String,
    pub cipher_suite: String,
    pub key_server_priority: u8,
    pub keychain: String,
    pub fallback_keychain: Option<String>,
    pub status: String,
    /// The CAs running now: none when every key of the chains has expired.
    pub cas: Vec<CaRow>,
}

/// `show macsec mka interface [NAME] detail`: per interface, its MKA setup and the PSK
/// information of every CA; `*** No Active Keys Present ***` when the key chains have no live key
/// (the guide's wording for an expired key).
pub fn render_mka_interface_detail(rows: &[InterfaceRow]) -> String {
    let mut s = format!("Number of interfaces on MACSec MKA: {}\n\n", rows.len());
    for r in rows {
        let b = r.local_tx_sci.to_be_bytes();
        s.push_str(&format!("Interface Name : {}\n", r.interface));
        s.push_str(&format!(
            "    Interface MAC               : {:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}\n",
            b[0], b[1], b[2], b[3], b[4], b[5]
        ));
        s.push_str("    MKA initialized             : TRUE\n");
        s.push_str(&format!(
            "    Local Tx-SCI                : {}\n",
            cisco_sci(r.local_tx_sci)
        ));
        s.push_str(&format!("    Policy                      : {}\n", r.policy));
        s.push_str(&format!("    Cipher Suite                : {}\n", r.cipher_suite));
        s.push_str(&format!(
            "    Key Server Priority         : {}\n",
            r.key_server_priority
        ));
        s.push_str(&format!("    Keychain                    : {}\n", r.keychain));
        s.push_str(&format!(
            "    Fallback-Keychain           : {}\n",
            r.fallback_keychain.as_deref().unwrap_or("NA")
        ));
        s.push_str(&format!("    Status                      : {}\n", r.status));
        s.push_str("    PSK Info:\n");
        if r.cas.is_empty() {
            s.push_str("        *** No Active Keys Present ***\n");
        }
        for c in &r.cas {
            s.push_str(&format!("        CKN                     : {}\n", c.ckn));
            s.push_str(&format!("        CA Authentication Mode  : {}\n", c.auth_mode));
            s.push_str(&format!("        MI                      : {}\n", c.mi));
            s.push_str(&format!("        MN                      : {}\n", c.mn));
            s.push_str(&format!("        Live Peers              : {}\n", c.live_peers));
            s.push_str(&format!(
                "        Potential Peers         : {}\n",
                c.potential_peers
            ));
            s.push_str(&format!("        Status                  : {}\n", c.status));
        }
        s.push('\n');
    }
    s
}

/// What macsecd answers to a show request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShowData {
    pub sessions: Vec<SessionRow>,
    #[serde(default)]
    pub interfaces: Vec<InterfaceRow>,
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
    pub statistics: Vec<(String, mka::kay::MkaStats)>,
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
        self.running_policies = cfg
            .policies
            .keys()
            .filter_map(|n| cfg.render_policy(n))
            .collect::<Vec<_>>()
            .join("");
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
    s.push_str(&format!(
        "{:<20}{:<12}{:<18}{}\n=====\n",
        "Interface", "Status", "Cipher Suite", "KeyChain"
    ));
    for r in rows {
        s.push_str(&format!(
            "{:<20}{:<12}{:<18}{}\n",
            r.interface, r.status, r.cipher_suite, r.keychain
        ));
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
    s.push_str(&format!(
        "{:<20}{:<18}{:<12}{:<10}{}\n",
        "Policy", "Cipher", "Key-Svr", "Window", "Conf"
    ));
    s.push_str(&format!(
        "{:<20}{:<18}{:<12}{:<10}{}\n=====\n",
        "name", "Suite", "Priority", "Size", "Offset"
    ));
    for r in rows {
        s.push_str(&format!(
            "{:<20}{:<18}{:<12}{:<10}{}\n",
            r.name, r.cipher_suite, r.key_server_priority, r.window_size, r.conf_offset
        ));
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
            s.push_str(&format!(
                "    Lifetime -- {} - {} [{}]\n",
                t(k.start),
                end,
                if k.active { "Valid now" } else { "Not valid now" }
            ));
        }
    }
    s
}

/// `show macsec mka statistics interface NAME`, in the guide's layout and field names. Always 0
/// here: the CAK lines and Reauthentication Attempts (CAKs are pre-shared: no EAP, no pairwise or
/// group CAK distribution), Hash Key Generation and SAK Encryption/Wrap (ICK/KEK derivation and
/// AES key wrap with valid keys cannot fail) and
/// MKPDUs Tx Fail (a refused MKPDU means the dataplane is gone: macsecd reconnects). Ours, after
/// the guide's lines: "SAK from a non key server", "SAK Cipher Suite Mismatch" and the PPK section.
pub fn render_mka_statistics(interface: &str, st: &mka::kay::MkaStats) -> String {
    let d = &st.sakuse_drops;
    format!(
        "MKA Statistics for Session on interface ({interface})\n=====\n\
Reauthentication Attempts.. 0\n\n\
CA Statistics\nPairwise CAKs Derived... 0\nPairwise CAK Rekeys..... 0\nGroup CAKs Generated.... 0\nGroup CAKs Received..... 0\n\n\
SA Statistics\nSAKs Generated..... {}\nSAKs Rekeyed..... {}\nSAKs Received..... {}\nSAK Responses Received.. {}\n\n\
MKPDU Statistics\nMKPDUs Transmitted..... {}\n\"Distributed SAK\".. {}\n\"Distributed CAK\".. 0\nMKPDUs Validated & Rx.... {}\n\"Distributed SAK\".. {}\n\"Distributed CAK\".. 0\n\n\
MKA IDB Statistics\nMKPDUs Tx Success..... {}\nMKPDUs Tx Fail..... 0\nMKPDUs Tx Pkt build fail... {}\nMKPDUs Rx CA Not found..... {}\nMKPDUs Rx Error..... {}\nMKPDUs Rx Success..... {}\n\n\
MKPDU Failures\nMKPDU Rx Validation (ICV) ..... {}\nMKPDU Rx Bad Peer MN..... {}\nMKPDU Rx Non-recent Peerlist MN..... {}\n\
MKPDU Rx Drop SAKUSE, KN mismatch..... {}\nMKPDU Rx Drop SAKUSE, Rx Not Set..... {}\nMKPDU Rx Drop SAKUSE, Key MI mismatch.. {}\n\
MKPDU Rx Drop SAKUSE, AN Not in Use.... {}\nMKPDU Rx Drop SAKUSE, KS Rx/Tx Not Set. {}\n\n\
SAK Failures\nSAK Generation..... {}\nHash Key Generation..... 0\nSAK Encryption/Wrap..... 0\nSAK Decryption/Unwrap..... {}\nSAK from a non key server..... {}\nSAK Cipher Suite Mismatch..... {}\n\n\
PPK Statistics\nPPK Requests..... {}\nPPK Failures..... {}\n",
        st.sak_generated,
        st.sak_rekeyed,
        st.sak_received,
        st.sak_responses_received,
        st.mkpdus_tx,
        st.distributed_sak_tx,
        st.mkpdus_validated,
        st.distributed_sak_rx,
        st.mkpdus_tx,
        st.mkpdu_build_failures,
        st.unknown_ckn,
        st.malformed,
        st.mkpdus_validated,
        st.icv_failures,
        st.bad_peer_mn,
        st.non_recent_peer_list_mn,
        d.kn_mismatch,
        d.rx_not_set,
        d.key_mi_mismatch,
        d.an_not_in_use,
        d.ks_rx_tx_not_set,
        st.sak_generation_failures,
        st.sak_unwrap_failures,
        st.sak_from_non_key_server,
        st.sak_cipher_suite_mismatch,
        st.ppk_requests,
        st.ppk_failures,
    )
}

/// `show macsec mka session` as the guide prints it.
pub fn render_mka_session(rows: &[SessionRow]) -> String {
    let mut s = String::from("\nNODE: node0 0 CPU0\n\n");
    s.push_str(&format!(
        "{:<20}{:<22}{:<10}{:<10}{}\n",
        "Interface", "Local-TxSCI", "# Peers", "Status", "Key-Server"
    ));
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
        s.push_str(&format!(
            "Local Tx-SCI               : {}\n",
            cisco_sci(r.local_tx_sci)
        ));
        s.push_str(&format!("CA Authentication Mode     : {}\n", r.auth_mode));
        s.push_str(&format!("CKN                        : {}\n", r.ckn));
        s.push_str(&format!(
            "Key Server                 : {}\n",
            if r.key_server { "YES" } else { "NO" }
        ));
        let mode = if r.key_distribution_mode.is_empty() {
            "SAK"
        } else {
            r.key_distribution_mode.as_str()
        };
        s.push_str(&format!("Key Distribution Mode      : {mode}\n"));
        if let Some(id) = &r.ppk_key_id {
            s.push_str(&format!("PPK Key ID                 : {id}\n"));
        }
        if let Some(f) = &r.ppk_failure {
            s.push_str(&format!("PPK Failure                : {f}\n"));
        }
        if let Some(f) = &r.sak_refused {
            s.push_str(&format!("SAK Refused                : {f}\n"));
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

fn mac_of(sci: u64) -> String {
    let b = sci.to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5]
    )
}

/// The SAK Data block of one SA, as the guide prints it (keys as `***`).
fn sak_data(s: &mut String, an: u8, policy: Option<&ipc::PolicyMsg>, ctx_salt: Option<[u8; 12]>) {
    s.push_str(&format!("SAK Data\nSAK[{an}] : ***\n"));
    if let Some(p) = policy {
        s.push_str(&format!("SAK Len : {}\n", p.cipher_suite.key_len()));
    }
    s.push_str(&format!("HashKey[{an}] : ***\nHashKey Len : 16\n"));
    if let Some(p) = policy {
        s.push_str(&format!(
            "Conf offset : {}\nCipher Suite : {}\n",
            p.conf_offset,
            p.cipher_suite.name()
        ));
    }
    if let Some(salt) = ctx_salt {
        let hex: Vec<String> = salt.iter().map(|b| format!("{b:02x}")).collect();
        s.push_str(&format!("CtxSalt[{an}] : {}\n", hex.join(" ")));
    }
}

/// `show macsec ea idb interface NAME`: the dataplane's SecY, SC and SA state in the guide's
/// layout (keys are never shown; CtxSalt, SSCI XOR salt, is not secret). Next PN lists the four
/// ANs' Tx SAs; each Rx SA adds its next and lowest acceptable PN.
pub fn render_ea_idb(interface: &str, sa: &ipc::SaState) -> String {
    use ipc::SecurityPolicy;
    let policy = sa.policy.as_ref();
    let mut s = format!("IDB Details:\nif_sname : {interface}\n");
    if let Some(p) = policy {
        let mut rx_opts = vec![match p.validate_frames {
            macsec::secy::ValidateFrames::Strict => "Validate-Frames",
            macsec::secy::ValidateFrames::Check => "Check-Frames",
            macsec::secy::ValidateFrames::Disabled => "No-Validation",
        }];
        if p.replay_protect {
            rx_opts.push("Replay-Protect");
        }
        let mut tx_opts = vec!["Protect-Frames"];
        if p.include_sci {
            tx_opts.push("Always-Include-SCI");
        }
        s.push_str(&format!(
            "Replay window size : {}\nLocal MAC : {}\nRx SC Option(s) : {}\nTx SC Option(s) : {}\nSecurity Policy : {}\n",
            p.replay_window,
            mac_of(sa.tx_sci),
            rx_opts.join(" "),
            tx_opts.join(" "),
            match p.security_policy {
                SecurityPolicy::MustSecure => "MUST SECURE",
                SecurityPolicy::ShouldSecure => "SHOULD SECURE",
            }
        ));
    }
    let mut scis: Vec<u64> = sa.rx.iter().map(|r| r.sci).collect();
    scis.dedup();
    for (i, sci) in scis.iter().enumerate() {
        s.push_str(&format!(
            "Rx SC {}\nRx SCI : {sci:016x}\nPeer MAC : {}\nStale : NO\n",
            i + 1,
            mac_of(*sci)
        ));
        for r in sa.rx.iter().filter(|r| r.sci == *sci) {
            sak_data(&mut s, r.an, policy, r.ctx_salt);
            s.push_str(&format!(
                "Rx SA[{}] : Next PN {}, Lowest PN {}, {}\n",
                r.an,
                r.next_pn,
                r.lowest_pn,
                if r.enabled { "enabled" } else { "disabled" }
            ));
        }
        s.push('\n');
    }
    let active = sa.encoding_an;
    let old = sa.tx.iter().map(|t| t.an).find(|an| Some(*an) != active);
    let next_pn: Vec<String> = (0..4u8)
        .map(|an| {
            sa.tx
                .iter()
                .find(|t| t.an == an)
                .map(|t| t.next_pn)
                .unwrap_or(0)
                .to_string()
        })
        .collect();
    s.push_str(&format!(
        "Tx SC\nTx SCI : {:016x}\nActive AN : {}\nOld AN : {}\nNext PN : {}\n",
        sa.tx_sci,
        active.map(u32::from).unwrap_or(255),
        old.map(u32::from).unwrap_or(255),
        next_pn.join(", ")
    ));
    for t in &sa.tx {
        sak_data(&mut s, t.an, policy, t.ctx_salt);
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
            sak_refused: None,
        };
        let t = render_mka_session(std::slice::from_ref(&r));
        assert!(
            t.contains("Interface           Local-TxSCI           # Peers   Status    Key-Server"),
            "{t}"
        );
        assert!(
            t.contains("Fo0/0/0/1/0         001d.e5e9.aa39/0005   1         Secured   YES"),
            "{t}"
        );
        let d = render_mka_session_detail(&[r]);
        assert!(
            d.contains("CA Authentication Mode     : PRIMARY-PSK")
                && d.contains("Peer SCI                 : 001d.e5e9.b1bf/0001")
        );
        assert!(d.contains("Key Server                 : YES\nKey Distribution Mode      : PPK\nPPK Key ID                 : 6b65792d31\n"), "{d}");
    }

    /// The guide's `show macsec ea idb` example, from the dataplane's state.
    #[test]
    fn ea_idb_as_in_the_guide() {
        use ipc::{PolicyMsg, RxSaState, SaState, SecurityPolicy, TxSaState};
        use macsec::secy::{CipherSuite, ValidateFrames};
        let salt = |b3| {
            Some([
                0x83, 0xc3, 0x7b, b3, 0x7b, 0x6f, 0x63, 0x16, 0x09, 0x8f, 0xf3, 0xd2,
            ])
        };
        let sa = SaState {
            policy: Some(PolicyMsg {
                cipher_suite: CipherSuite::GcmAesXpn256,
                conf_offset: 30,
                confidentiality: true,
                include_sci: true,
                use_es: false,
                use_scb: false,
                validate_frames: ValidateFrames::Strict,
                replay_protect: true,
                replay_window: 64,
                security_policy: SecurityPolicy::MustSecure,
                clear: Default::default(),
            }),
            tx_sci: 0x001d_e5e9_aa39_001a,
            encoding_an: Some(0),
            tx: vec![TxSaState {
                an: 0,
                next_pn: 1,
                in_use: true,
                ctx_salt: salt(0xae),
                ki: None,
                key_check: None,
                out_pkts_protected: 0,
                out_pkts_encrypted: 0,
                installed_unix_ms: 0,
            }],
            rx: vec![RxSaState {
                sci: 0x001d_e5e9_b1bf_0019,
                an: 0,
                next_pn: 1,
                lowest_pn: 1,
                enabled: true,
                ctx_salt: salt(0xad),
                ki: None,
                key_check: None,
                in_pkts_ok: 0,
                in_pkts_invalid: 0,
                in_pkts_not_valid: 0,
                in_pkts_not_using_sa: 0,
                in_pkts_unused_sa: 0,
                installed_unix_ms: 0,
            }],
        };
        assert_eq!(
            render_ea_idb("Fo0/0/0/1/0", &sa),
            "IDB Details:
if_sname : Fo0/0/0/1/0
Replay window size : 64
Local MAC : 00:1d:e5:e9:aa:39
Rx SC Option(s) : Validate-Frames Replay-Protect
Tx SC Option(s) : Protect-Frames Always-Include-SCI
Security Policy : MUST SECURE
Rx SC 1
Rx SCI : 001de5e9b1bf0019
Peer MAC : 00:1d:e5:e9:b1:bf
Stale : NO
SAK Data
SAK[0] : ***
SAK Len : 32
HashKey[0] : ***
HashKey Len : 16
Conf offset : 30
Cipher Suite : GCM-AES-XPN-256
CtxSalt[0] : 83 c3 7b ad 7b 6f 63 16 09 8f f3 d2
Rx SA[0] : Next PN 1, Lowest PN 1, enabled

Tx SC
Tx SCI : 001de5e9aa39001a
Active AN : 0
Old AN : 255
Next PN : 1, 0, 0, 0
SAK Data
SAK[0] : ***
SAK Len : 32
HashKey[0] : ***
HashKey Len : 16
Conf offset : 30
Cipher Suite : GCM-AES-XPN-256
CtxSalt[0] : 83 c3 7b ae 7b 6f 63 16 09 8f f3 d2
"
        );
    }
}
