//! The state tree shaped as openconfig-macsec (1.3.0) in RFC 7951 JSON, for `macsecctl show ...
//! --json --openconfig`: `openconfig-macsec:macsec` with `mka/policies`, `mka/state/counters`
//! and per interface its state and counters, `scsa-tx`, `scsa-rx` and `mka/state`. counter64
//! leaves are strings, as RFC 7951 encodes 64-bit integers. Only state (`config false` data and
//! the `state` containers); our own names where the model has none are left out, not invented.

use crate::metrics::LinkView;
use crate::show::ShowData;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A counter64 as RFC 7951 writes it.
fn c64(v: u64) -> Value {
    Value::String(v.to_string())
}

/// `GCM-AES-XPN-256` → the openconfig-macsec-types identity `GCM_AES_XPN_256`.
fn suite(name: &str) -> String {
    name.replace('-', "_")
}

/// The openconfig `confidentiality-offset` enum of an offset in octets.
fn offset(octets: usize) -> String {
    format!("{octets}_BYTES")
}

/// The tree of `data` and the dataplane's `links`.
pub fn state_tree(data: &ShowData, links: &[LinkView]) -> Value {
    let policies: Vec<Value> = data
        .policies
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "state": {
                    "name": p.name,
                    "key-server-priority": p.key_server_priority,
                    "macsec-cipher-suite": [suite(&p.cipher_suite)],
                    "confidentiality-offset": offset(p.conf_offset),
                }
            })
        })
        .collect();
    // The global MKA counters: the interfaces' sums.
    let mut global: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, st) in &data.statistics {
        for (k, v) in [
            ("out-mkpdu-errors", st.mkpdu_build_failures),
            ("in-mkpdu-icv-verification-errors", st.icv_failures),
            ("in-mkpdu-validation-errors", st.malformed),
            ("in-mkpdu-bad-peer-errors", st.bad_peer_mn),
            ("in-mkpdu-peer-list-errors", st.non_recent_peer_list_mn),
            ("sak-generation-errors", st.sak_generation_failures),
            ("sak-decryption-errors", st.sak_unwrap_failures),
            ("sak-cipher-mismatch-errors", st.sak_cipher_suite_mismatch),
        ] {
            *global.entry(k).or_default() += v;
        }
    }
    let global: Map<String, Value> = global.into_iter().map(|(k, v)| (k.to_string(), c64(v))).collect();
    let interfaces: Vec<Value> = links.iter().map(|l| interface(data, l)).collect();
    json!({
        "openconfig-macsec:macsec": {
            "mka": {
                "policies": { "policy": policies },
                "state": { "counters": global },
            },
            "interfaces": { "interface": interfaces },
        }
    })
}

fn interface(data: &ShowData, l: &LinkView) -> Value {
    let name = l.interface.as_str();
    let session = data.sessions.iter().find(|r| r.interface == name);
    let row = data.interfaces.iter().find(|r| r.interface == name);
    let window = l.sa.as_ref().and_then(|s| s.policy).map(|p| p.replay_window);
    let status = match session {
        Some(r) if r.status.starts_with("Secured") => "ACTIVE",
        _ => "PENDING",
    };
    let mut state = json!({
        "name": name,
        "enable": true,
        "status": status,
    });
    if let Some(w) = window {
        // The model's leaf is a uint16; a wider window shows as its largest value.
        state["replay-protection"] = json!(w.min(u32::from(u16::MAX)));
    }
    let mut out = json!({ "name": name });
    if let Some((secy, _)) = &l.counters {
        state["counters"] = json!({
            "tx-untagged-pkts": c64(secy.out_pkts_untagged),
            "rx-untagged-pkts": c64(secy.in_pkts_untagged),
            "rx-badtag-pkts": c64(secy.in_pkts_bad_tag),
            "rx-unknownsci-pkts": c64(secy.in_pkts_unknown_sci),
            "rx-nosci-pkts": c64(secy.in_pkts_no_sci),
            "rx-late-pkts": c64(secy.in_pkts_late),
        });
    }
    out["state"] = state;
    if let Some(sa) = &l.sa {
        let sci = format!("{:016x}", sa.tx_sci);
        // The SC's counters are its SAs' sums; the SA's are the one in use.
        let (mut sc_auth, mut sc_enc) = (0, 0);
        for t in &sa.tx {
            sc_auth += t.out_pkts_protected;
            sc_enc += t.out_pkts_encrypted;
        }
        let in_use = sa.tx.iter().find(|t| t.in_use);
        out["scsa-tx"] = json!({ "scsa-tx": [{
            "sci-tx": sci,
            "state": {
                "sci-tx": sci,
                "counters": {
                    "sc-auth-only": c64(sc_auth),
                    "sc-encrypted": c64(sc_enc),
                    "sa-auth-only": c64(in_use.map_or(0, |t| t.out_pkts_protected)),
                    "sa-encrypted": c64(in_use.map_or(0, |t| t.out_pkts_encrypted)),
                }
            }
        }]});
        // Per receive SC: sums over its SAs; the SA counters are those of its SA that has
        // received the most recent PN (the one in use by the peer).
        let mut scs: BTreeMap<u64, Vec<&ipc::RxSaState>> = BTreeMap::new();
        for r in &sa.rx {
            scs.entry(r.sci).or_default().push(r);
        }
        let rx: Vec<Value> = scs
            .iter()
            .map(|(sci, sas)| {
                let sci = format!("{sci:016x}");
                let invalid = |r: &ipc::RxSaState| r.in_pkts_invalid + r.in_pkts_not_valid;
                let latest = sas.iter().max_by_key(|r| r.next_pn);
                json!({
                    "sci-rx": sci,
                    "state": {
                        "sci-rx": sci,
                        "counters": {
                            "sc-invalid": c64(sas.iter().map(|r| invalid(r)).sum()),
                            "sc-valid": c64(sas.iter().map(|r| r.in_pkts_ok).sum()),
                            "sa-invalid": c64(latest.map_or(0, |r| invalid(r))),
                            "sa-valid": c64(latest.map_or(0, |r| r.in_pkts_ok)),
                        }
                    }
                })
            })
            .collect();
        out["scsa-rx"] = json!({ "scsa-rx": rx });
    }
    let mut mka = json!({});
    if let Some(r) = row {
        mka["mka-policy"] = json!(r.policy);
        mka["key-chain"] = json!(r.keychain);
    }
    if let Some((_, st)) = data.statistics.iter().find(|(i, _)| i == name) {
        mka["counters"] = json!({
            "in-mkpdu": c64(st.mkpdus_validated),
            "in-sak-mkpdu": c64(st.distributed_sak_rx),
            "in-cak-mkpdu": c64(0),
            "out-mkpdu": c64(st.mkpdus_tx),
            "out-sak-mkpdu": c64(st.distributed_sak_tx),
            "out-cak-mkpdu": c64(0),
        });
    }
    out["mka"] = json!({ "state": mka });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::{InterfaceRow, PolicyRow, SessionRow};
    use ipc::{LinkCounters, RxSaState, SaState, TxSaState};
    use macsec::secy::SecyCounters;

    #[test]
    fn tree_of_a_secured_link() {
        let i = "TenGigE0/0/0/1";
        let data = ShowData {
            sessions: vec![SessionRow {
                interface: i.into(),
                local_tx_sci: 0x001d_e5e9_aa39_0001,
                peers: 1,
                status: "Secured".into(),
                key_server: true,
                auth_mode: "PRIMARY-PSK".into(),
                ckn: "01".into(),
                live_peers: vec![2],
                icv_failures: 1,
                latest_kn: Some(1),
                latest_an: Some(0),
                key_distribution_mode: String::new(),
                ppk_key_id: None,
                ppk_failure: None,
                sak_refused: None,
                not_secured_reason: None,
                not_secured_code: None,
                secured_since_ms: None,
                detail: vec![],
            }],
            interfaces: vec![InterfaceRow {
                interface: i.into(),
                local_tx_sci: 0x001d_e5e9_aa39_0001,
                policy: "P1".into(),
                cipher_suite: "GCM-AES-XPN-256".into(),
                key_server_priority: 16,
                keychain: "KC1".into(),
                fallback_keychain: None,
                status: "Active".into(),
                cas: vec![],
                not_secured_reason: None,
            }],
            policies: vec![PolicyRow {
                name: "P1".into(),
                cipher_suite: "GCM-AES-XPN-256".into(),
                key_server_priority: 16,
                window_size: 64,
                conf_offset: 30,
            }],
            statistics: vec![(
                i.into(),
                mka::kay::MkaStats {
                    mkpdus_tx: 12,
                    mkpdus_validated: 11,
                    icv_failures: 1,
                    distributed_sak_tx: 1,
                    ..Default::default()
                },
            )],
            ..Default::default()
        };
        let secy = SecyCounters {
            in_pkts_late: 3,
            in_pkts_unknown_sci: 2,
            ..Default::default()
        };
        let sa = SaState {
            policy: None,
            tx_sci: 0x001d_e5e9_aa39_0001,
            encoding_an: Some(1),
            tx: vec![
                TxSaState {
                    an: 0,
                    next_pn: 100,
                    in_use: false,
                    ctx_salt: None,
                    ki: None,
                    key_check: None,
                    out_pkts_protected: 0,
                    out_pkts_encrypted: 99,
                    installed_unix_ms: 0,
                },
                TxSaState {
                    an: 1,
                    next_pn: 6,
                    in_use: true,
                    ctx_salt: None,
                    ki: None,
                    key_check: None,
                    out_pkts_protected: 0,
                    out_pkts_encrypted: 5,
                    installed_unix_ms: 0,
                },
            ],
            rx: vec![RxSaState {
                sci: 0x001d_e5e9_b1bf_0001,
                an: 1,
                next_pn: 8,
                lowest_pn: 1,
                enabled: true,
                ctx_salt: None,
                ki: None,
                key_check: None,
                in_pkts_ok: 7,
                in_pkts_invalid: 0,
                in_pkts_not_valid: 1,
                in_pkts_not_using_sa: 0,
                in_pkts_unused_sa: 0,
                installed_unix_ms: 0,
            }],
        };
        let links = [LinkView {
            interface: i.into(),
            counters: Some((secy, LinkCounters::default())),
            sa: Some(sa),
        }];
        let t = state_tree(&data, &links);
        let m = &t["openconfig-macsec:macsec"];
        assert_eq!(
            m["mka"]["policies"]["policy"][0],
            json!({"name": "P1", "state": {"name": "P1", "key-server-priority": 16,
                "macsec-cipher-suite": ["GCM_AES_XPN_256"], "confidentiality-offset": "30_BYTES"}})
        );
        assert_eq!(
            m["mka"]["state"]["counters"]["in-mkpdu-icv-verification-errors"],
            "1"
        );
        let f = &m["interfaces"]["interface"][0];
        assert_eq!(f["name"], i);
        assert_eq!(f["state"]["status"], "ACTIVE");
        assert_eq!(f["state"]["counters"]["rx-late-pkts"], "3");
        assert_eq!(f["state"]["counters"]["rx-unknownsci-pkts"], "2");
        assert_eq!(
            f["scsa-tx"]["scsa-tx"][0],
            json!({"sci-tx": "001de5e9aa390001", "state": {"sci-tx": "001de5e9aa390001", "counters": {
                "sc-auth-only": "0", "sc-encrypted": "104", "sa-auth-only": "0", "sa-encrypted": "5"}}})
        );
        assert_eq!(
            f["scsa-rx"]["scsa-rx"][0]["state"]["counters"],
            json!({"sc-invalid": "1", "sc-valid": "7", "sa-invalid": "1", "sa-valid": "7"})
        );
        assert_eq!(
            f["mka"]["state"],
            json!({"mka-policy": "P1", "key-chain": "KC1", "counters": {"in-mkpdu": "11",
                "in-sak-mkpdu": "0", "in-cak-mkpdu": "0", "out-mkpdu": "12", "out-sak-mkpdu": "1",
                "out-cak-mkpdu": "0"}})
        );
        // Without an answer from the dataplane: the interface and its MKA state, no counters.
        let down = [LinkView {
            interface: i.into(),
            ..Default::default()
        }];
        let t = state_tree(&data, &down);
        let f = &t["openconfig-macsec:macsec"]["interfaces"]["interface"][0];
        assert!(f["state"].get("counters").is_none() && f.get("scsa-tx").is_none());
        assert_eq!(f["mka"]["state"]["key-chain"], "KC1");
    }
}
