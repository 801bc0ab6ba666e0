//! The MKA key hierarchy against the published vectors copied into tests/data/vectors: every
//! vector of aes_cmac.json (RFC 4493 / SP 800-38B, AES-128 and AES-256), aes_keywrap.json
//! (RFC 3394 §4.1-4.6 and one 512-bit wrap, both directions, plus tamper rejection) and
//! mka_kdf.json (802.1X KDF Annex G.1, CAK/CKN from an EAP MSK, KEK G.4, ICK G.5, SAK G.6, the
//! AOSP SAK and KEK + wrapped-SAK vectors) must give the exact expected octets.

use mka::cmac::aes_cmac;
use mka::kdf::{cak_from_msk, ckn_from_msk, kdf};
use mka::keywrap::{self, KeyWrapError};
use mka::{Cak, Ckn, Ick, Kek, Mi, Sak};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../tests/data/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// The vectors of a file, checking the declared count and the hex convention.
fn vectors(name: &str) -> Vec<Value> {
    let v = load(name);
    assert!(
        v["conventions"].as_str().unwrap().contains("lowercase hex"),
        "{name}: conventions changed"
    );
    let list = v["vectors"].as_array().unwrap().clone();
    assert_eq!(list.len() as u64, v["count"].as_u64().unwrap(), "{name}: count");
    list
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))).unwrap()
}

fn mac(v: &Value) -> [u8; 6] {
    hx(v).try_into().unwrap()
}

#[test]
fn aes_cmac_vectors() {
    let list = vectors("aes_cmac.json");
    for v in &list {
        assert_eq!(v["type"], "aes_cmac");
        let i = &v["inputs"];
        let tag = aes_cmac(&hx(&i["key"]), &[&hx(&i["message"])]).unwrap();
        assert_eq!(
            hex::encode(tag),
            v["expected"]["tag"].as_str().unwrap(),
            "{}",
            v["name"]
        );
    }
    assert_eq!(list.len(), 10);
}

#[test]
fn aes_keywrap_vectors() {
    let list = vectors("aes_keywrap.json");
    for v in &list {
        assert_eq!(v["type"], "aes_keywrap");
        let (kek, data, expected) = (
            hx(&v["inputs"]["kek"]),
            hx(&v["inputs"]["key_data"]),
            hx(&v["expected"]["wrapped"]),
        );
        assert_eq!(keywrap::wrap(&kek, &data).unwrap(), expected, "{}", v["name"]);
        assert_eq!(
            &keywrap::unwrap(&kek, &expected).unwrap()[..],
            &data[..],
            "{}",
            v["name"]
        );
        for i in [0, expected.len() / 2, expected.len() - 1] {
            let mut bad = expected.clone();
            bad[i] ^= 0x80;
            assert_eq!(
                keywrap::unwrap(&kek, &bad).unwrap_err(),
                KeyWrapError::IntegrityCheckFailed,
                "{}",
                v["name"]
            );
        }
        let mut wrong_kek = kek.clone();
        wrong_kek[0] ^= 1;
        assert_eq!(
            keywrap::unwrap(&wrong_kek, &expected).unwrap_err(),
            KeyWrapError::IntegrityCheckFailed
        );
    }
    assert_eq!(list.len(), 7);
}

#[test]
fn mka_kdf_vectors() {
    let list = vectors("mka_kdf.json");
    let mut checked = 0;
    for v in &list {
        let (i, e, name) = (&v["inputs"], &v["expected"], v["name"].as_str().unwrap());
        let got: Vec<(String, String)> = match v["type"].as_str().unwrap() {
            "ieee8021x_kdf" => {
                let out = kdf(
                    &hx(&i["key"]),
                    &hx(&i["label"]),
                    &hx(&i["context"]),
                    i["length_bits"].as_u64().unwrap() as u32,
                )
                .unwrap();
                assert_eq!(hx(&i["label"]), i["label_ascii"].as_str().unwrap().as_bytes());
                vec![(hex::encode(&out[..]), e["output"].as_str().unwrap().into())]
            }
            "mka_cak_from_msk" => {
                let bits = i["cak_length_bits"].as_u64().unwrap() as usize;
                // Either MAC order gives the same CAK (the KDF context is MAC_lo ‖ MAC_hi).
                let a = cak_from_msk(
                    &hx(&i["msk_first_octets"]),
                    mac(&i["mac1"]),
                    mac(&i["mac2"]),
                    bits / 8,
                )
                .unwrap();
                let b = cak_from_msk(
                    &hx(&i["msk_first_octets"]),
                    mac(&i["mac2"]),
                    mac(&i["mac1"]),
                    bits / 8,
                )
                .unwrap();
                assert_eq!(a, b);
                vec![(hex::encode(a.as_bytes()), e["cak"].as_str().unwrap().into())]
            }
            "mka_ckn_from_msk" => {
                assert_eq!(i["ckn_length_bits"], 128);
                let ckn = ckn_from_msk(
                    &hx(&i["msk_first_octets"]),
                    &hx(&i["eap_session_id"]),
                    mac(&i["mac1"]),
                    mac(&i["mac2"]),
                )
                .unwrap();
                vec![(hex::encode(ckn.as_bytes()), e["ckn"].as_str().unwrap().into())]
            }
            "mka_kek" => {
                let kek = Kek::derive(
                    &Cak::from_hex(i["cak"].as_str().unwrap()).unwrap(),
                    &Ckn::from_hex(i["ckn"].as_str().unwrap()).unwrap(),
                );
                vec![(hex::encode(kek.as_bytes()), e["kek"].as_str().unwrap().into())]
            }
            "mka_ick" => {
                let ick = Ick::derive(
                    &Cak::from_hex(i["cak"].as_str().unwrap()).unwrap(),
                    &Ckn::from_hex(i["ckn"].as_str().unwrap()).unwrap(),
                );
                vec![(hex::encode(ick.as_bytes()), e["ick"].as_str().unwrap().into())]
            }
            "mka_sak_kdf" => {
                let cak = Cak::from_hex(i["cak"].as_str().unwrap()).unwrap();
                let list = hx(&i["mi_value_list"]);
                assert_eq!(list.len() % 12, 0);
                let mis: Vec<Mi> = list.chunks(12).map(|c| Mi::from_slice(c).unwrap()).collect();
                let bits = i["sak_length_bits"].as_u64().unwrap() as usize;
                let kn = i["kn"].as_u64().unwrap() as u32;
                let sak = Sak::derive(&cak, &hx(&i["ks_nonce"]), &mis, kn, bits / 8).unwrap();
                vec![(hex::encode(sak.as_bytes()), e["sak"].as_str().unwrap().into())]
            }
            "mka_sak_kdf_context" => {
                let cak = Cak::from_hex(i["cak"].as_str().unwrap()).unwrap();
                let bits = i["sak_length_bits"].as_u64().unwrap() as usize;
                let sak = Sak::derive_with_context(&cak, &hx(&i["context"]), bits / 8).unwrap();
                vec![(hex::encode(sak.as_bytes()), e["sak"].as_str().unwrap().into())]
            }
            "mka_kek_wrap_sak" => {
                // The 4-octet CKN is zero-padded to 16 octets as KDF context (802.1X 9.3.3).
                let kek = Kek::derive(
                    &Cak::from_hex(i["cak"].as_str().unwrap()).unwrap(),
                    &Ckn::from_hex(i["ckn"].as_str().unwrap()).unwrap(),
                );
                let sak = Sak::from_hex(i["sak"].as_str().unwrap()).unwrap();
                let wrapped = kek.wrap_sak(&sak);
                assert_eq!(kek.unwrap_sak(&wrapped).unwrap(), sak);
                vec![
                    (
                        hex::encode(kek.as_bytes()),
                        v["intermediate"]["kek"].as_str().unwrap().into(),
                    ),
                    (hex::encode(&wrapped), e["wrapped_sak"].as_str().unwrap().into()),
                ]
            }
            t => panic!("{name}: unhandled vector type {t}"),
        };
        for (g, want) in got {
            assert_eq!(g, want, "{name}");
        }
        checked += 1;
    }
    assert_eq!(checked, 14);
}
