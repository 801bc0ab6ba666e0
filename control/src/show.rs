//! Renderers of the `show macsec ...` views, text as in the guide and JSON. The data comes from
//! macsecd's socket as [`ShowData`]; keys are never part of it.

use serde::{Deserialize, Serialize};

/// Cisco's SCI notation: `001d.e5e9.aa39/0005`.
pub fn cisco_sci(sci: u64) -> String {
    format!("{}/{:04x}", sci_mac(sci), sci as u16)
}

/// The MAC address of an SCI in Cisco's notation: `001d.e5e9.aa39`.
fn sci_mac(sci: u64) -> String {
    macsec::wire::ethernet::MacAddr::from_slice(&sci.to_be_bytes()).cisco()
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
    /// Why the session is not secured (None while it is), and its short code
    /// (`mka::kay::NotSecuredReason::code`).
    #[serde(default)]
    pub not_secured_reason: Option<String>,
    #[serde(default)]
    pub not_secured_code: Option<String>,
    /// Since when the session has been Secured without a break (Unix ms; None while it is not).
    #[serde(default)]
    pub secured_since_ms: Option<u64>,
    /// The detail view's blocks, one per CA (the one carrying the traffic first).
    #[serde(default)]
    pub detail: Vec<SessionDetail>,
}

/// One peer in the Live or Potential Peer List of `show macsec mka session detail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerRow {
    /// Its Member Identifier (24 hex digits, upper case as the guide prints it).
    pub mi: String,
    pub mn: u32,
    pub sci: u64,
    /// The SSCI it gets in this CA (802.1AE 10.7.13: by SCI, greatest first).
    pub ssci: u32,
    pub ks_priority: u8,
    /// When its last MKPDU arrived ("2021 May 18 13:23:29.847", UTC).
    pub latest_rx_mkpdu: String,
}

/// One block of `show macsec mka session detail`: one CA of an interface, every field of the
/// guide's example in its order (see [`render_mka_session_detail`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionDetail {
    /// The guide's status line after `Status: `, e.g. `Secured - Secured MKA Session with MACsec`.
    pub status: String,
    /// Why not secured (first block only; None while secured).
    pub not_secured_reason: Option<String>,
    pub local_tx_sci: u64,
    pub local_tx_ssci: u32,
    pub interface: String,
    pub ckn: String,
    /// PRIMARY-PSK or FALLBACK-PSK.
    pub auth_mode: String,
    pub keychain: String,
    pub mi: String,
    pub mn: u32,
    pub key_server: bool,
    /// The CAK's algorithm: AES-128-CMAC or AES-256-CMAC.
    pub mka_cipher_suite: String,
    /// The policy's cipher suite.
    pub cipher_suite: String,
    pub key_distribution_mode: String,
    pub ppk_key_id: Option<String>,
    pub ppk_failure: Option<String>,
    pub sak_refused: Option<String>,
    /// `Rx & Tx`, `Rx`, or `No Rx/Tx` (no SAK yet).
    pub latest_sak_status: String,
    pub latest_an: Option<u8>,
    /// KI as the guide prints it (MI and KN in hex, 32 digits) and the KN.
    pub latest_ki: Option<String>,
    pub latest_kn: Option<u32>,
    /// `FIRST-SAK` (the latest is the key server's first), `Rx & Tx`/`Rx` (kept through a
    /// rekey), or `No Rx/Tx` (retired).
    pub old_sak_status: String,
    pub old_an: Option<u8>,
    pub old_ki: Option<String>,
    pub old_kn: Option<u32>,
    pub sak_transmit_wait_time: String,
    pub sak_retire_time: String,
    pub time_to_sak_rekey: String,
    pub policy: String,
    pub key_server_priority: u8,
    pub delay_protection: bool,
    pub replay_window: u32,
    pub include_icv_indicator: bool,
    pub conf_offset: usize,
    /// The SAK's cipher suite (None: no SAK yet, `(NONE)`).
    pub sak_cipher_suite: Option<String>,
    /// 0..3 (802.1X Table 11-6).
    pub macsec_capability: u8,
    pub macsec_desired: bool,
    pub live_peers_responded: usize,
    pub live_peers: Vec<PeerRow>,
    pub potential_peers: Vec<PeerRow>,
    /// When our last MKPDU left (UTC, the guide's format), empty when none yet.
    pub last_tx_mkpdu: String,
    /// Some peer verified our ICV and lists us on this CA.
    pub peer_cak_match: bool,
    /// MKPDUs with this CKN failed their ICV recently (the guide's `Peer CAK : Mismatch`).
    pub icv_failures: u64,
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
    /// Why the session is not secured (None while it is): e.g. no active key once the keys
    /// expired, when `show macsec mka session` has no row for the interface.
    #[serde(default)]
    pub not_secured_reason: Option<String>,
}

/// `show macsec mka interface [NAME] detail`: per interface, its MKA setup and the PSK
/// information of every CA; `*** No Active Keys Present ***` when the key chains have no live key
/// (the guide's wording for an expired key).
pub fn render_mka_interface_detail(rows: &[InterfaceRow]) -> String {
    let mut s = format!("Number of interfaces on MACSec MKA: {}\n\n", rows.len());
    for r in rows {
        s.push_str(&format!("Interface Name : {}\n", r.interface));
        s.push_str(&format!(
            "    Interface MAC               : {}\n",
            sci_mac(r.local_tx_sci)
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
        if let Some(w) = &r.not_secured_reason {
            s.push_str(&format!("    Why Not Secured             : {w}\n"));
        }
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
    /// `show running-config`: the MACsec sections of the loaded configuration (key chains with
    /// every key-string as `<removed>`, SKS profiles, policies, interfaces).
    #[serde(default)]
    pub running_config: String,
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
        self.running_config = cfg.render();
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
            crate::config::short_interface_name(&r.interface),
            r.status,
            r.cipher_suite,
            r.keychain
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
    let interface = crate::config::short_interface_name(interface);
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

/// `show macsec mka session` as the guide prints it (Status Init, Pending or Secured; Secured
/// with 0 peers while the link transmits on an earlier session's SAs, the guide's "locally
/// secured (Tx)").
pub fn render_mka_session(rows: &[SessionRow]) -> String {
    let mut s = String::from("\nNODE: node0 0 CPU0\n\n");
    session_table(&mut s, rows, false);
    s
}

/// `show macsec mka session interface NAME`: the guide's layout for one interface (the table
/// between `=====` lines).
pub fn render_mka_session_interface(rows: &[SessionRow]) -> String {
    let mut s = String::new();
    session_table(&mut s, rows, true);
    s
}

fn session_table(s: &mut String, rows: &[SessionRow], rules: bool) {
    if rules {
        s.push_str("=====\n");
    }
    s.push_str(&format!(
        "{:<20}{:<22}{:<10}{:<10}{}\n",
        "Interface", "Local-TxSCI", "# Peers", "Status", "Key-Server"
    ));
    if rules {
        s.push_str("=====\n");
    }
    for r in rows {
        s.push_str(&format!(
            "{:<20}{:<22}{:<10}{:<10}{}\n",
            crate::config::short_interface_name(&r.interface),
            cisco_sci(r.local_tx_sci),
            r.peers,
            r.status,
            if r.key_server { "YES" } else { "NO" }
        ));
    }
}

/// One `Label : value` line of the detail views, the value in the guide's column.
fn field(s: &mut String, label: &str, value: impl std::fmt::Display) {
    s.push_str(&format!("{label:<31}: {value}\n"));
}

/// The guide's MACsec Capability text (802.1X-2020 Table 11-6).
pub fn capability_text(c: u8) -> String {
    let what = match c {
        0 => "MACsec not implemented",
        1 => "MACsec Integrity without confidentiality",
        2 => "MACsec Integrity, Confidentiality, no Offset",
        _ => "MACsec Integrity, Confidentiality, & Offset",
    };
    format!("{} ({what})", c.min(3))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "YES"
    } else {
        "NO"
    }
}

fn true_false(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// The Live / Potential Peer List table.
fn peer_list(s: &mut String, title: &str, peers: &[PeerRow]) {
    s.push_str(&format!("{title}:\n-----\n"));
    s.push_str(&format!(
        "{:<28}{:<10}{:<22}{:<6}{}\n-----\n",
        "      MI", "MN", "Rx-SCI", "SSCI", "KS-Priority"
    ));
    for p in peers {
        s.push_str(&format!(
            "{:<28}{:<10}{:<22}{:<6}{}\n",
            p.mi,
            p.mn,
            cisco_sci(p.sci),
            p.ssci,
            p.ks_priority
        ));
    }
    s.push('\n');
}

/// `show macsec mka session [interface NAME] detail`: per CA, the guide's block (IOS XR 7.x
/// layout, "Status: ..." to "Peers Status"), every field in its order. Ours, not in the guide:
/// `Why Not Secured` (after the status line, while not secured), and after Key Distribution Mode
/// `PPK Key ID`, `PPK Failure` and `SAK Refused` when they apply. Fields without meaning here, with
/// the closest honest value: Authenticator NO (pre-shared keys: no EAP authenticator), Time to
/// exit suspension NA and no Suspended Peers (no MKA suspension, 802.1X 9.18, here).
pub fn render_mka_session_detail(rows: &[SessionRow]) -> String {
    let mut s = String::new();
    for r in rows {
        for d in &r.detail {
            render_detail_block(&mut s, d);
        }
    }
    s
}

fn render_detail_block(s: &mut String, d: &SessionDetail) {
    s.push_str("MKA Detailed Status for MKA Session\n=====\n");
    s.push_str(&format!("Status: {}\n", d.status));
    if let Some(w) = &d.not_secured_reason {
        field(s, "Why Not Secured", w);
    }
    s.push('\n');
    let b = d.local_tx_sci.to_be_bytes();
    field(s, "Local Tx-SCI", cisco_sci(d.local_tx_sci));
    field(s, "Local Tx-SSCI", d.local_tx_ssci);
    field(s, "Interface MAC Address", sci_mac(d.local_tx_sci));
    field(s, "MKA Port Identifier", u16::from_be_bytes([b[6], b[7]]));
    field(
        s,
        "Interface Name",
        crate::config::short_interface_name(&d.interface),
    );
    field(s, "CAK Name (CKN)", &d.ckn);
    field(s, "CA Authentication Mode", &d.auth_mode);
    field(s, "Keychain", &d.keychain);
    field(s, "Member Identifier (MI)", &d.mi);
    field(s, "Message Number (MN)", d.mn);
    field(s, "Authenticator", "NO");
    field(s, "Key Server", yes_no(d.key_server));
    field(s, "MKA Cipher Suite", &d.mka_cipher_suite);
    field(s, "Configured MACSec Cipher Suite", &d.cipher_suite);
    let mode = if d.key_distribution_mode.is_empty() {
        "SAK"
    } else {
        d.key_distribution_mode.as_str()
    };
    field(s, "Key Distribution Mode", mode);
    if let Some(id) = &d.ppk_key_id {
        field(s, "PPK Key ID", id);
    }
    if let Some(f) = &d.ppk_failure {
        field(s, "PPK Failure", f);
    }
    if let Some(f) = &d.sak_refused {
        field(s, "SAK Refused", f);
    }
    s.push('\n');
    let ki = |ki: &Option<String>, kn: Option<u32>, none: &str| match ki {
        Some(k) => format!("{k} ({})", kn.unwrap_or(0)),
        None => format!("{none} (0)"),
    };
    field(s, "Latest SAK Status", &d.latest_sak_status);
    field(s, "Latest SAK AN", d.latest_an.unwrap_or(0));
    field(s, "Latest SAK KI (KN)", ki(&d.latest_ki, d.latest_kn, "NA"));
    field(s, "Old SAK Status", &d.old_sak_status);
    field(s, "Old SAK AN", d.old_an.unwrap_or(0));
    let old_none = if d.old_sak_status == "FIRST-SAK" {
        "FIRST-SAK"
    } else {
        "NA"
    };
    field(s, "Old SAK KI (KN)", ki(&d.old_ki, d.old_kn, old_none));
    s.push('\n');
    field(s, "SAK Transmit Wait Time", &d.sak_transmit_wait_time);
    field(s, "SAK Retire Time", &d.sak_retire_time);
    field(s, "Time to SAK Rekey", &d.time_to_sak_rekey);
    field(s, "Time to exit suspension", "NA");
    s.push('\n');
    field(s, "MKA Policy Name", &d.policy);
    field(s, "Key Server Priority", d.key_server_priority);
    field(s, "Delay Protection", true_false(d.delay_protection));
    field(s, "Replay Window Size", d.replay_window);
    field(s, "Include ICV Indicator", true_false(d.include_icv_indicator));
    field(s, "Confidentiality Offset", d.conf_offset);
    field(s, "Algorithm Agility", "80C201");
    field(
        s,
        "SAK Cipher Suite",
        d.sak_cipher_suite.as_deref().unwrap_or("(NONE)"),
    );
    field(s, "MACsec Capability", capability_text(d.macsec_capability));
    field(s, "MACsec Desired", yes_no(d.macsec_desired));
    s.push('\n');
    s.push_str(&format!(
        "# of MACsec Capable Live Peers      : {}\n",
        d.live_peers.len()
    ));
    s.push_str(&format!(
        "# of MACsec Capable Live Peers Responded : {}\n",
        d.live_peers_responded
    ));
    s.push_str("# of MACSec Suspended Peers : 0\n\n");
    peer_list(s, "Live Peer List", &d.live_peers);
    peer_list(s, "Potential Peer List", &d.potential_peers);
    s.push_str("Suspended Peer List:\n-----\n      Rx-SCI      SSCI\n-----\n\n");
    s.push_str("Peers Status:\n");
    let pf = |s: &mut String, l: &str, v: &dyn std::fmt::Display| s.push_str(&format!("  {l:<17}: {v}\n"));
    pf(s, "Last Tx MKPDU", &d.last_tx_mkpdu);
    pf(s, "Peer Count", &d.live_peers.len());
    for p in &d.live_peers {
        pf(s, "RxSCI", &format!("{:016X}", p.sci));
        pf(s, "MI", &p.mi);
        pf(s, "Peer CAK", &"Match");
        pf(s, "Latest Rx MKPDU", &p.latest_rx_mkpdu);
    }
    if d.live_peers.is_empty() && d.icv_failures > 0 {
        pf(s, "Peer CAK", &"Mismatch");
    }
    s.push('\n');
}

/// Unix time in milliseconds as the guide's detail view prints it: `2021 May 18 13:23:29.588` (UTC).
pub fn guide_time_ms(ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = crate::config::time::civil_from_days(days);
    format!(
        "{year} {} {day:02} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
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
    // if_handle: IOS XR's IDB handle has no counterpart here (macsecctl finds a link by name).
    let mut s = format!(
        "IDB Details:\nif_sname : {}\nif_handle : NA\n",
        crate::config::short_interface_name(interface)
    );
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
        // The SecTAG follows the two MAC addresses (our links carry no tag before it).
        s.push_str("Sectag offset : 12\n");
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
            // The programming times are not recorded: the install is one control-socket request.
            s.push_str(&format!(
                "Rx SA Program Req[{an}]: NA\nRx SA Program Rsp[{an}]: NA\n",
                an = r.an
            ));
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
        s.push_str(&format!(
            "Tx SA Program Req[{an}]: NA\nTx SA Program Rsp[{an}]: NA\n",
            an = t.an
        ));
    }
    s
}

/// The stanzas of a running-config text whose first line starts with `head` (`macsec-policy P`,
/// `key chain K`, `interface I`; `head` ending in a space: every stanza of that kind). A stanza
/// ends at its `!` at column 0.
pub fn config_section(text: &str, head: &str) -> String {
    let mut out = String::new();
    let mut on = false;
    for l in text.lines() {
        if !l.starts_with(' ') && !l.starts_with('!') {
            on = if head.ends_with(' ') {
                l.starts_with(head)
            } else {
                l == head || l.starts_with(&format!("{head} "))
            };
        }
        if on {
            out.push_str(l);
            out.push('\n');
            if l == "!" {
                on = false;
            }
        }
    }
    out
}

/// Our SA handle in the `show macsec platform hardware` views (IOS XR prints the hardware's):
/// bit 31 the direction (1: Tx), bits 16-23 the SC (1 for the Tx SC, 1.. for the Rx SCs in the
/// order the dataplane reports them), bits 0-1 the AN. `0xffffffff`: none.
pub fn sa_handle(tx: bool, sc: usize, an: u8) -> u32 {
    (u32::from(tx) << 31) | ((sc as u32 & 0xff) << 16) | u32::from(an & 3)
}

/// The Rx SCs of a link in the order the dataplane reports them.
fn rx_scis(sa: &ipc::SaState) -> Vec<u64> {
    let mut v: Vec<u64> = Vec::new();
    for r in &sa.rx {
        if !v.contains(&r.sci) {
            v.push(r.sci);
        }
    }
    v
}

/// `show macsec platform hardware idb interface X`: the guide's layout for our dataplane. The NPU
/// port numbers have no counterpart (a DPDK port pair per link): NA. There are no match-all or
/// bypass SAs and no flow table (frames are classified by EtherType and SCI): 0xffffffff, NA.
pub fn render_hw_idb(interface: &str, sa: &ipc::SaState) -> String {
    let mut s = String::new();
    s.push_str(
        "if_handle : NA\nNPPort : NA\nLdaPort : NA SerdesPort : NA\nNetSoftPort : NA SysSoftPort : NA\n\n",
    );
    let idle = sa
        .tx
        .iter()
        .map(|t| t.an)
        .find(|an| Some(*an) != sa.encoding_an)
        .map_or(0xff, u32::from);
    s.push_str(&format!(
        "Active AN : 0x{:08x} Idle AN : 0x{idle:08x}\n",
        sa.encoding_an.map_or(0xff, u32::from)
    ));
    s.push_str("Match-All Tx SA : 0xffffffff Match-All Rx SA : 0xffffffff\n");
    s.push_str("Match-All Tx Flow : NA Match-All Rx Flow : NA\n");
    s.push_str("Bypass Tx SA : 0xffffffff Bypass Rx SA : 0xffffffff\n");
    let h = |x: Option<u32>| x.map_or("0xffffffff".to_string(), |h| format!("0x{h:08x}"));
    for an in 0..4u8 {
        let t = sa.tx.iter().find(|t| t.an == an).map(|_| sa_handle(true, 1, an));
        s.push_str(&format!("Tx SA[{an}] : {} Tx Flow[{an}] : NA\n", h(t)));
    }
    let scis = rx_scis(sa);
    for (i, sci) in scis.iter().enumerate().take(255) {
        for an in 0..4u8 {
            let r = sa
                .rx
                .iter()
                .find(|r| r.sci == *sci && r.an == an)
                .map(|_| sa_handle(false, i + 1, an));
            let label = if i == 0 {
                format!("Rx SA[{an}]")
            } else {
                format!("Rx SC{} SA[{an}]", i + 1)
            };
            let flow = if i == 0 {
                format!("Rx Flow[{an}]")
            } else {
                format!("Rx SC{} Flow[{an}]", i + 1)
            };
            s.push_str(&format!("{label} : {} {flow} : NA\n", h(r)));
        }
    }
    if scis.is_empty() {
        for an in 0..4u8 {
            s.push_str(&format!("Rx SA[{an}] : 0xffffffff Rx Flow[{an}] : NA\n"));
        }
    }
    let _ = interface;
    s
}

/// `show macsec platform hardware sa [HANDLE] interface X`: the guide's `MACsec HW SA Details`
/// for one SA (every SA of the link without a handle). Hardware-only fields (Action Type, Dest
/// Port, Drop Type, Drop NonResvd) are NA; MacsecCryptoAlgo is the cipher suite's name; X-Packet
/// Number is the SA's next PN (Tx) or next expected PN (Rx). Keys are never shown.
pub fn render_hw_sa(interface: &str, sa: &ipc::SaState, handle: Option<u32>) -> Result<String, String> {
    let scis = rx_scis(sa);
    let mut out = String::new();
    let mut found = false;
    let p = sa.policy.as_ref();
    let yn = |b: bool| if b { "YES" } else { "NO" };
    let one = |out: &mut String,
               tx: bool,
               sci: u64,
               an: u8,
               in_use: bool,
               pn: u64,
               salt: Option<[u8; 12]>| {
        out.push_str("MACsec HW SA Details:\n");
        out.push_str(&format!(
            "Action Type : NA\nDirection : {dir}\nDest Port : NA\nConf Offset : {:08}\nDrop Type : NA\nDrop NonResvd : NA\n",
            p.map_or(0, |p| p.conf_offset),
            dir = if tx { "Egress" } else { "Ingress" }
        ));
        out.push_str(&format!(
            "SA In Use : {}\nConfProtect : {}\nIncludeSCI : {}\nProtectFrame : {}\nUseEs : {}\nUseSCB : {}\n",
            yn(in_use),
            yn(p.is_some_and(|p| p.confidentiality)),
            yn(p.is_some_and(|p| p.include_sci)),
            yn(tx || p.is_some_and(|p| p.validate_frames != macsec::secy::ValidateFrames::Disabled)),
            yn(p.is_some_and(|p| p.use_es)),
            yn(p.is_some_and(|p| p.use_scb)),
        ));
        let b = sci.to_be_bytes();
        let spaced = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ");
        out.push_str(&format!("SCI : {}\n", spaced(&b)));
        out.push_str(&format!(
            "Replay Window : {} MacsecCryptoAlgo : {}\n",
            p.map_or(0, |p| p.replay_window),
            p.map_or("NA", |p| p.cipher_suite.name())
        ));
        out.push_str(&format!(
            "Direction : {} AN : {an}\nAES Key Len : {} X-Packet Number : 0x{pn:016x}\n",
            if tx { "Egress" } else { "Ingress" },
            p.map_or(0, |p| p.cipher_suite.key_len() * 8)
        ));
        match salt {
            Some(x) => out.push_str(&format!(
                "CtxSalt : {}\n",
                x.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )),
            None => out.push_str("CtxSalt : NA\n"),
        }
        out.push('\n');
    };
    for t in &sa.tx {
        let h = sa_handle(true, 1, t.an);
        if handle.is_none_or(|x| x == h) {
            found = true;
            one(&mut out, true, sa.tx_sci, t.an, t.in_use, t.next_pn, t.ctx_salt);
        }
    }
    for r in &sa.rx {
        let sc = scis.iter().position(|s| *s == r.sci).map_or(0, |i| i + 1);
        let h = sa_handle(false, sc, r.an);
        if handle.is_none_or(|x| x == h) {
            found = true;
            one(&mut out, false, r.sci, r.an, r.enabled, r.next_pn, r.ctx_salt);
        }
    }
    match (found, handle) {
        (false, Some(h)) => Err(format!(
            "no SA 0x{h:08x} on {interface} (see show macsec platform hardware idb interface {interface})"
        )),
        (false, None) => Ok(format!("No SA programmed on {interface}\n")),
        _ => Ok(out),
    }
}

/// `show macsec platform hardware flow interface X`: our dataplane has no flow table; the rules
/// it classifies line and host frames by, with the SAs they lead to.
pub fn render_hw_flow(interface: &str, sa: &ipc::SaState) -> String {
    let p = sa.policy.as_ref();
    let should = p.is_some_and(|p| p.security_policy == ipc::SecurityPolicy::ShouldSecure);
    let lacp = p.is_some_and(|p| p.clear.lacp_in_clear);
    let mut s = format!("MACsec classification on {interface} (no flow table: rules in order)\n");
    s.push_str("Line Rx:\n  EtherType 0x888E (EAPOL)      : punt to macsecd\n");
    s.push_str(&format!(
        "  EtherType 0x8809 (LACP)       : {}\n",
        if lacp {
            "pass in clear (policy-exception lacp-in-clear)"
        } else {
            "drop (InPktsNoTag)"
        }
    ));
    let scis = rx_scis(sa);
    for (i, sci) in scis.iter().enumerate() {
        for r in sa.rx.iter().filter(|r| r.sci == *sci) {
            s.push_str(&format!(
                "  EtherType 0x88E5 SCI {} AN {} : Rx SA 0x{:08x}{}\n",
                cisco_sci(*sci),
                r.an,
                sa_handle(false, i + 1, r.an),
                if r.enabled { "" } else { " (disabled)" }
            ));
        }
    }
    s.push_str("  EtherType 0x88E5, other SCI   : drop (InPktsUnknownSCI / NoSCI)\n");
    s.push_str(&format!(
        "  other untagged                : {}\n",
        if should && sa.encoding_an.is_none() {
            "pass in clear (should-secure, not secured)"
        } else {
            "drop (InPktsNoTag)"
        }
    ));
    s.push_str("Host Rx:\n");
    match sa.encoding_an {
        Some(an) => s.push_str(&format!(
            "  any frame                     : protect with Tx SA 0x{:08x} (AN {an})\n",
            sa_handle(true, 1, an)
        )),
        None if should => {
            s.push_str("  any frame                     : pass in clear (should-secure, not secured)\n")
        }
        None => s.push_str("  any frame                     : drop (must-secure, no Tx SA)\n"),
    }
    s
}

/// `show macsec platform hardware msc interface X`: the SecY configuration the dataplane runs
/// (the guide's `MACsec HW Cfg Details` names where one applies; hardware-only ones left out).
pub fn render_hw_msc(interface: &str, sa: &ipc::SaState) -> String {
    let mut s = format!("MACsec HW Cfg Details: {interface}\n");
    match &sa.policy {
        None => s.push_str("No SecY policy set yet\n"),
        Some(p) => {
            let xpn = p.cipher_suite.is_xpn();
            s.push_str(&format!(
                "Should secure : 0x{}\nGlobal Frame Validation : 0x{} ({:?})\nCtrl Pkt CC Bypass : 0x1\nSequence Number Threshold : {}\nReplay Protect : {}\nReplay Window : {}\nCipher Suite : {}\nConf Offset : {}\nLACP in clear : {}\n",
                u8::from(p.security_policy == ipc::SecurityPolicy::ShouldSecure),
                match p.validate_frames {
                    macsec::secy::ValidateFrames::Disabled => 0,
                    macsec::secy::ValidateFrames::Check => 1,
                    macsec::secy::ValidateFrames::Strict => 2,
                },
                p.validate_frames,
                if xpn { "0xc000000000000000" } else { "0xc0000000" },
                if p.replay_protect { "YES" } else { "NO" },
                p.replay_window,
                p.cipher_suite.name(),
                p.conf_offset,
                if p.clear.lacp_in_clear { "YES" } else { "NO" }
            ));
        }
    }
    s
}

/// `show macsec platform hardware stats interface X`: each SA's counters by handle, then the
/// SecY's and the link's (`counters` is macsecd's `{"secy": {...}, "link": {...}}`).
pub fn render_hw_stats(interface: &str, sa: &ipc::SaState, counters: &serde_json::Value) -> String {
    let mut s = format!("MACsec HW Stats: {interface}\n");
    for t in &sa.tx {
        s.push_str(&format!(
            "Tx SA 0x{:08x} AN {} : OutPktsProtected {}, OutPktsEncrypted {}, Next PN {}\n",
            sa_handle(true, 1, t.an),
            t.an,
            t.out_pkts_protected,
            t.out_pkts_encrypted,
            t.next_pn
        ));
    }
    let scis = rx_scis(sa);
    for r in &sa.rx {
        let sc = scis.iter().position(|x| *x == r.sci).map_or(0, |i| i + 1);
        s.push_str(&format!(
            "Rx SA 0x{:08x} SCI {} AN {} : InPktsOK {}, InPktsInvalid {}, InPktsNotValid {}, InPktsNotUsingSA {}, InPktsUnusedSA {}, Next PN {}, Lowest PN {}\n",
            sa_handle(false, sc, r.an),
            cisco_sci(r.sci),
            r.an,
            r.in_pkts_ok,
            r.in_pkts_invalid,
            r.in_pkts_not_valid,
            r.in_pkts_not_using_sa,
            r.in_pkts_unused_sa,
            r.next_pn,
            r.lowest_pn
        ));
    }
    s.push_str(&render_secy_statistics(interface, counters));
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
            not_secured_reason: None,
            not_secured_code: None,
            secured_since_ms: None,
            detail: vec![SessionDetail {
                status: "Secured - Secured MKA Session with MACsec".into(),
                interface: "Fo0/0/0/1/0".into(),
                auth_mode: "PRIMARY-PSK".into(),
                key_server: true,
                key_distribution_mode: "PPK".into(),
                ppk_key_id: Some("6b65792d31".into()),
                live_peers: vec![PeerRow {
                    sci: 0x001d_e5e9_b1bf_0001,
                    ..PeerRow::default()
                }],
                ..SessionDetail::default()
            }],
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
            d.contains("CA Authentication Mode         : PRIMARY-PSK\n")
                && d.contains("  RxSCI            : 001DE5E9B1BF0001\n"),
            "{d}"
        );
        // The scripts read these lines with `^Key Distribution Mode *: ` and `^PPK Key ID *: `.
        assert!(
            d.contains(
                "\nKey Distribution Mode          : PPK\nPPK Key ID                     : 6b65792d31\n"
            ),
            "{d}"
        );
    }
}
