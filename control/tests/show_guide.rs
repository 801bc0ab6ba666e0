//! Each `show` view rendered from fixed data and compared with the guide's example
//! (tests/data/guide, copied from the IOS XR MACsec guide): line structure, field names and order
//! exactly, values too (the fixed data are the example's), except fields whose value has no
//! meaning here (listed per test, with why) and our own lines (listed per test).

use control::show::*;

fn guide(name: &str) -> String {
    let p = format!("{}/tests/data/guide/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[derive(Debug, PartialEq)]
enum Line {
    /// `Label : value` (white space normalized; value `*` when not compared).
    Field(String, String),
    /// A `=====` or `-----` rule.
    Rule,
    /// Anything else (table headers and rows, titles): its words.
    Words(Vec<String>),
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text's layout: blank lines dropped, lines starting with one of `ours` (our additions)
/// dropped, values of fields in `unvalued` replaced by `*`.
fn layout(text: &str, ours: &[&str], unvalued: &[&str]) -> Vec<Line> {
    text.lines()
        .map(str::trim)
        .filter(|t| !t.is_empty() && !ours.iter().any(|o| t.starts_with(o)))
        .map(|t| {
            if t.chars().all(|c| c == '=' || c == '-') {
                Line::Rule
            } else if let Some(i) = t.find(':') {
                let label = norm(&t[..i]);
                let value = if unvalued.contains(&label.as_str()) {
                    inner_labels(&t[i + 1..])
                } else {
                    norm(&t[i + 1..])
                };
                Line::Field(label, value)
            } else {
                Line::Words(t.split_whitespace().map(String::from).collect())
            }
        })
        .collect()
}

/// An unvalued field's value: `*`, keeping the labels of the fields that share its line
/// (`016 [0x010] SerdesPort : 000 [0x000]` → `* SerdesPort : *`).
fn inner_labels(value: &str) -> String {
    let words: Vec<&str> = value.split_whitespace().collect();
    let mut out = vec!["*".to_string()];
    for (i, w) in words.iter().enumerate() {
        if *w == ":" {
            let mut j = i;
            while j > 0
                && words[j - 1].starts_with(|c: char| c.is_ascii_alphabetic())
                && !words[j - 1].starts_with("0x")
            {
                j -= 1;
            }
            // The first word after the previous `:` is a value (NA, YES, a name...).
            let start = if j == 0 { 1 } else { j }.min(i);
            out.push(words[start..i].join(" "));
            out.push(": *".into());
        }
    }
    out.join(" ")
}

fn same_layout(ours: &str, guide_file: &str, extra: &[&str], unvalued: &[&str]) {
    let g = layout(&guide(guide_file), &[], unvalued);
    let o = layout(ours, extra, unvalued);
    for (i, (a, b)) in o.iter().zip(g.iter()).enumerate() {
        assert_eq!(
            a, b,
            "line {i} of the layout differs from {guide_file}; ours:\n{ours}"
        );
    }
    assert_eq!(o.len(), g.len(), "{guide_file}: line count; ours:\n{ours}");
}

/// The guide's example: Hu0/2/0/11, PRIMARY-PSK, key server, one live peer.
fn guide_detail() -> SessionDetail {
    SessionDetail {
        status: "Secured - Secured MKA Session with MACsec".into(),
        not_secured_reason: None,
        local_tx_sci: 0x008a_96d6_194c_0001,
        local_tx_ssci: 2,
        interface: "HundredGigE0/2/0/11".into(),
        ckn: "2111".into(),
        auth_mode: "PRIMARY-PSK".into(),
        keychain: "test1".into(),
        mi: "69B39E87B3CBA673401E9891".into(),
        mn: 352,
        key_server: true,
        mka_cipher_suite: "AES-128-CMAC".into(),
        cipher_suite: "GCM-AES-XPN-128".into(),
        key_distribution_mode: "SAK".into(),
        latest_sak_status: "Rx & Tx".into(),
        latest_an: Some(0),
        latest_ki: Some("69B39E87B3CBA673401E989100000001".into()),
        latest_kn: Some(1),
        old_sak_status: "FIRST-SAK".into(),
        sak_transmit_wait_time: "0s (Not waiting for any peers to respond)".into(),
        sak_retire_time: "0s (No Old SAK to retire)".into(),
        time_to_sak_rekey: "456s".into(),
        policy: "P12".into(),
        key_server_priority: 20,
        delay_protection: true,
        replay_window: 100,
        include_icv_indicator: true,
        conf_offset: 0,
        sak_cipher_suite: Some("0080C20001000003 (GCM-AES-XPN-128)".into()),
        macsec_capability: 3,
        macsec_desired: true,
        live_peers_responded: 1,
        live_peers: vec![PeerRow {
            mi: "42A78BD6243539E917B8C6B2".into(),
            mn: 290,
            sci: 0x7061_7bea_1df4_0001,
            ssci: 1,
            ks_priority: 20,
            latest_rx_mkpdu: guide_time_ms(1_621_344_209_847),
        }],
        last_tx_mkpdu: guide_time_ms(1_621_344_209_588),
        peer_cak_match: true,
        ..SessionDetail::default()
    }
}

fn row(status: &str, detail: Vec<SessionDetail>) -> SessionRow {
    SessionRow {
        interface: "FortyGigE0/0/0/1/0".into(),
        local_tx_sci: 0x001d_e5e9_aa39_0005,
        peers: 1,
        status: status.into(),
        key_server: true,
        auth_mode: "PRIMARY-PSK".into(),
        ckn: "2111".into(),
        live_peers: vec![0x7061_7bea_1df4_0001],
        icv_failures: 0,
        latest_kn: Some(1),
        latest_an: Some(0),
        key_distribution_mode: "SAK".into(),
        ppk_key_id: None,
        ppk_failure: None,
        sak_refused: None,
        not_secured_reason: None,
        not_secured_code: None,
        secured_since_ms: None,
        detail,
    }
}

#[test]
fn session_detail_as_in_the_guide() {
    let text = render_mka_session_detail(&[row("Secured", vec![guide_detail()])]);
    same_layout(&text, "mka-session-detail.txt", &[], &[]);
}

#[test]
fn session_detail_not_secured_says_why_and_keeps_the_layout() {
    let mut d = guide_detail();
    d.status = "Init - MKA Session initialized, no peer heard".into();
    d.not_secured_reason =
        Some("ICV failures: 7 MKPDUs with CKN 2111 failed ICV validation (likely CAK mismatch)".into());
    d.live_peers.clear();
    d.icv_failures = 7;
    let text = render_mka_session_detail(&[row("Init", vec![d])]);
    assert!(text.contains("Status: Init - MKA Session initialized, no peer heard\nWhy Not Secured                : ICV failures: 7 MKPDUs with CKN 2111 failed ICV validation (likely CAK mismatch)\n"), "{text}");
    assert!(
        text.contains("  Peer Count       : 0\n  Peer CAK         : Mismatch\n"),
        "{text}"
    );
    // Same fields in the same order: the peer list rows and the per-peer status lines aside.
    let names = |t: &str| -> Vec<String> {
        layout(
            t,
            &[
                "Why Not Secured",
                "42A78BD6",
                "RxSCI",
                "MI :",
                "MI\t",
                "Peer CAK",
                "Latest Rx",
            ],
            &[],
        )
        .into_iter()
        .filter_map(|l| match l {
            Line::Field(n, _) => Some(n),
            _ => None,
        })
        .filter(|n| n != "MI" && n != "RxSCI")
        .collect()
    };
    assert_eq!(names(&text), names(&guide("mka-session-detail.txt")));
}

#[test]
fn guide_times() {
    assert_eq!(guide_time_ms(1_621_344_209_588), "2021 May 18 13:23:29.588");
    assert_eq!(guide_time_ms(0), "1970 Jan 01 00:00:00.000");
    assert_eq!(guide_time_ms(951_782_400_000), "2000 Feb 29 00:00:00.000");
}

#[test]
fn session_tables_as_in_the_guide() {
    let mut r = row("Secured", vec![]);
    r.local_tx_sci = 0xd46d_5023_3709_0001;
    same_layout(
        &render_mka_session_interface(&[r]),
        "mka-session-interface.txt",
        &[],
        &[],
    );
    let r = row("Secured", vec![]);
    same_layout(&render_mka_session(&[r]), "mka-session.txt", &[], &[]);
}

#[test]
fn secured_with_zero_peers_in_the_table() {
    let mut r = row("Secured", vec![]);
    r.peers = 0;
    let t = render_mka_session(&[r]);
    assert!(
        t.contains("Fo0/0/0/1/0         001d.e5e9.aa39/0005   0         Secured   YES"),
        "{t}"
    );
}

#[test]
fn summary_as_in_the_guide() {
    let t = render_mka_summary(&[SummaryRow {
        interface: "FortyGigE0/0/0/1/0".into(),
        status: "Secured".into(),
        cipher_suite: "GCM-AES-XPN-256".into(),
        keychain: "mac_chain".into(),
    }]);
    same_layout(&t, "mka-summary.txt", &[], &[]);
}

#[test]
fn statistics_as_in_the_guide() {
    let st = mka::kay::MkaStats {
        sak_generated: 3,
        sak_rekeyed: 2,
        sak_responses_received: 3,
        mkpdus_tx: 5425,
        distributed_sak_tx: 8,
        mkpdus_validated: 4932,
        ..Default::default()
    };
    let t = render_mka_statistics("Fo0/0/0/1/0", &st);
    // Ours after the guide's last line: two SAK failure counters and the PPK section.
    same_layout(
        &t,
        "mka-statistics.txt",
        &["SAK from a non key server", "SAK Cipher Suite Mismatch", "PPK "],
        &[],
    );
}

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
    // Unvalued: if_handle (no IDB handle here), Sectag offset (ours is 12: no tag before the
    // SecTAG), the SA programming times (not recorded). Ours: the Rx SA's PN line.
    same_layout(
        &render_ea_idb("FortyGigE0/0/0/1/0", &sa),
        "ea-idb.txt",
        &["Rx SA[0] :"],
        &[
            "if_handle",
            "Sectag offset",
            "Rx SA Program Req[0]",
            "Rx SA Program Rsp[0]",
            "Tx SA Program Req[0]",
            "Tx SA Program Rsp[0]",
        ],
    );
}

fn guide_sa_state() -> ipc::SaState {
    use ipc::{PolicyMsg, RxSaState, SaState, SecurityPolicy, TxSaState};
    use macsec::secy::{CipherSuite, ValidateFrames};
    SaState {
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
        tx_sci: 0x001d_e5e9_aa39_0005,
        encoding_an: Some(0),
        tx: vec![TxSaState {
            an: 0,
            next_pn: 0,
            in_use: true,
            ctx_salt: Some([
                0xf8, 0xd8, 0x8d, 0xc3, 0xe1, 0xc5, 0xe6, 0xa9, 0x4c, 0xa2, 0x29, 0x90,
            ]),
            ki: None,
            key_check: None,
            out_pkts_protected: 5,
            out_pkts_encrypted: 5,
            installed_unix_ms: 0,
        }],
        rx: vec![RxSaState {
            sci: 0x001d_e5e9_b1bf_0019,
            an: 0,
            next_pn: 7,
            lowest_pn: 1,
            enabled: true,
            ctx_salt: None,
            ki: None,
            key_check: None,
            in_pkts_ok: 6,
            in_pkts_invalid: 0,
            in_pkts_not_valid: 0,
            in_pkts_not_using_sa: 0,
            in_pkts_unused_sa: 0,
            installed_unix_ms: 0,
        }],
    }
}

/// Hardware-only fields (NPU ports, match-all/bypass SAs, flows) and our SA handles are not the
/// guide's values; Active/Idle AN are.
#[test]
fn platform_hardware_idb_as_in_the_guide() {
    let t = render_hw_idb("FortyGigE0/0/0/1/0", &guide_sa_state());
    same_layout(
        &t,
        "platform-hardware-idb.txt",
        &[],
        &[
            "if_handle",
            "NPPort",
            "LdaPort",
            "NetSoftPort",
            "Match-All Tx SA",
            "Match-All Tx Flow",
            "Bypass Tx SA",
            "Tx SA[0]",
            "Tx SA[1]",
            "Tx SA[2]",
            "Tx SA[3]",
            "Rx SA[0]",
            "Rx SA[1]",
            "Rx SA[2]",
            "Rx SA[3]",
        ],
    );
    assert!(
        t.contains("Tx SA[0] : 0x80010000 Tx Flow[0] : NA\nTx SA[1] : 0xffffffff"),
        "{t}"
    );
    assert!(t.contains("Rx SA[0] : 0x00010000 Rx Flow[0] : NA\n"), "{t}");
}

#[test]
fn platform_hardware_sa_as_in_the_guide() {
    let sa = guide_sa_state();
    let t = render_hw_sa("FortyGigE0/0/0/1/0", &sa, Some(sa_handle(true, 1, 0))).unwrap();
    // Hardware codes (action, port, drop type, the crypto algorithm's number) are NA or the
    // suite's name; the guide's CtxSalt lost a digit in print.
    same_layout(
        &t,
        "platform-hardware-sa.txt",
        &[],
        &[
            "Action Type",
            "Dest Port",
            "Drop Type",
            "Drop NonResvd",
            "Replay Window",
            "CtxSalt",
        ],
    );
    assert!(
        t.contains("Replay Window : 64 MacsecCryptoAlgo : GCM-AES-XPN-256\n"),
        "{t}"
    );
    assert!(t.contains("CtxSalt : f8d88dc3e1c5e6a94ca22990\n"), "{t}");
    let rx = render_hw_sa("FortyGigE0/0/0/1/0", &sa, Some(sa_handle(false, 1, 0))).unwrap();
    assert!(
        rx.contains("Direction : Ingress AN : 0\nAES Key Len : 256 X-Packet Number : 0x0000000000000007\n"),
        "{rx}"
    );
    let e = render_hw_sa("FortyGigE0/0/0/1/0", &sa, Some(0x8001_0003)).unwrap_err();
    assert!(e.contains("no SA 0x80010003"), "{e}");
    assert_eq!(
        render_hw_sa("X", &sa, None)
            .unwrap()
            .matches("MACsec HW SA Details:")
            .count(),
        2
    );
}

#[test]
fn platform_hardware_stats_flow_msc() {
    let sa = guide_sa_state();
    let counters = serde_json::json!({ "secy": { "InPktsOK": 6 }, "link": { "eapol_punted": 3 } });
    let t = render_hw_stats("Fo0/0/0/1/0", &sa, &counters);
    assert!(
        t.contains("Tx SA 0x80010000 AN 0 : OutPktsProtected 5, OutPktsEncrypted 5, Next PN 0\n"),
        "{t}"
    );
    assert!(
        t.contains("Rx SA 0x00010000 SCI 001d.e5e9.b1bf/0019 AN 0 : InPktsOK 6,"),
        "{t}"
    );
    assert!(t.contains("InPktsOK") && t.contains("eapol_punted"), "{t}");
    let f = render_hw_flow("Fo0/0/0/1/0", &sa);
    assert!(
        f.contains("SCI 001d.e5e9.b1bf/0019 AN 0 : Rx SA 0x00010000\n"),
        "{f}"
    );
    assert!(f.contains("protect with Tx SA 0x80010000 (AN 0)"), "{f}");
    let m = render_hw_msc("Fo0/0/0/1/0", &sa);
    assert!(
        m.contains("Sequence Number Threshold : 0xc000000000000000\n"),
        "{m}"
    );
}

/// `show running-config macsec-policy`: the guide's policy, parsed and rendered back (ours adds
/// the two-space indent and the closing `!` of IOS XR's running-config).
#[test]
fn running_config_macsec_policy_as_in_the_guide() {
    let text = "macsec-policy mac_policy\n conf-offset CONF-OFFSET-30\n security-policy must-secure\n window-size 64\n cipher-suite GCM-AES-XPN-256\n key-server-priority 0\n include-icv-indicator\n!\n";
    let c = control::config::Config::parse(text).expect("config");
    let t = c.render_policy("mac_policy").unwrap();
    same_layout(&t, "running-config-macsec-policy.txt", &["!"], &[]);
}

#[test]
fn running_config_sections_never_show_a_key_string() {
    let cak = "135bd758b0ee5c11c55ff6ab19fdb199";
    let text = format!(
        "key chain kc1\n macsec\n  key 01\n   key-string {cak} cryptographic-algorithm aes-128-cmac\n   lifetime 00:00:00 january 01 2020 infinite\n  !\n !\n!\nmacsec-policy mp1\n window-size 64\n!\ninterface Te0/0/0/1\n macsec psk-keychain kc1 policy mp1\n!\n"
    );
    let c = control::config::Config::parse(&text).expect("config");
    let all = c.render();
    assert!(!all.contains(cak) && !all.to_lowercase().contains(cak), "{all}");
    assert!(
        all.contains("key-string <removed> cryptographic-algorithm AES-128-CMAC"),
        "{all}"
    );
    assert_eq!(
        config_section(&all, "interface TenGigE0/0/0/1"),
        "interface TenGigE0/0/0/1\n  macsec psk-keychain kc1 policy mp1\n!\n"
    );
    assert!(config_section(&all, "key chain kc1").starts_with("key chain kc1\n  macsec\n    key 01\n"));
    assert!(config_section(&all, "key chain ").starts_with("key chain kc1\n"));
    assert_eq!(
        config_section(&all, "macsec-policy mp1"),
        "macsec-policy mp1\n  window-size 64\n!\n"
    );
    assert_eq!(config_section(&all, "interface HundredGigE0/0/0/9"), "");
    // Pasted back, the masked key-string is refused with a clear error (never taken as a CAK).
    let e = control::config::Config::parse(&all).unwrap_err().to_string();
    assert!(e.contains("masked"), "{e}");
}

#[test]
fn the_comparison_keeps_the_labels_sharing_a_line() {
    assert_eq!(
        inner_labels("016 [0x010] SerdesPort : 000 [0x000]"),
        "* SerdesPort : *"
    );
    assert_eq!(inner_labels("NA SerdesPort : NA"), "* SerdesPort : *");
    assert_eq!(
        inner_labels("0x80010001 Match-All Rx SA : 0x00010001"),
        "* Match-All Rx SA : *"
    );
    assert_eq!(inner_labels("0x3480"), "*");
}
