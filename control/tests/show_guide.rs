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
                    "*".into()
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
            lacp_in_clear: false,
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
