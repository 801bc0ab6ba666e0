//! The MKPDU codec and key hierarchy against a real capture: 28 MKPDUs between two wpa_supplicant
//! 2.10 peers (tests/data/captures/wpa_mka.pcap, keys in wpa_mka.keys.json), and
//! `macsecctl mka decode` end to end.

use macsec::crypto::Backend;
use macsec::secy::{CipherSuite, Policy, RxSecY, RxStatus, SaKeys, Sci, Span};
use mka::kdf::{kdf, LABEL_ICK};
use mka::{
    frame_icv, verify_frame_icv, Cak, Ckn, ConfidentialityOffset, Ick, Kek, Ki, MkaFrameRepr, MkpduError,
    MkpduRepr, ParamSet, EAPOL_HEADER_LEN, PAE_GROUP_ADDR,
};
use pcap_file::pcap::{PcapPacket, PcapWriter};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn data(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/../tests/data/captures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn keys() -> Value {
    serde_json::from_str(&std::fs::read_to_string(data("wpa_mka.keys.json")).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing"))
}

fn frames(name: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    control::pcap::for_each_frame(&data(name), |f| {
        out.push(f.data);
        Ok(())
    })
    .unwrap();
    out
}

fn is_eapol(f: &[u8]) -> bool {
    f.len() >= 14 && f[12..14] == [0x88, 0x8e]
}

struct Keys {
    ick: Ick,
    kek: Kek,
    cak: Cak,
    ckn: Ckn,
}

fn capture_keys() -> Keys {
    let k = keys();
    let cak = Cak::from_hex(s(&k, "cak")).unwrap();
    let ckn = Ckn::from_hex(s(&k, "ckn")).unwrap();
    Keys {
        ick: Ick::derive(&cak, &ckn),
        kek: Kek::derive(&cak, &ckn),
        cak,
        ckn,
    }
}

/// Every MKPDU of the capture parses, re-encodes to exactly its octets, verifies its ICV with the
/// ICK of the CAK/CKN, and re-seals to the same ICV; the Basic Parameter Sets match the peers in
/// the key file.
#[test]
fn all_28_mkpdus_parse_reencode_and_verify() {
    let k = capture_keys();
    let json = keys();
    let mut n = 0;
    let mut last_mn = std::collections::HashMap::new();
    for f in frames("wpa_mka.pcap") {
        assert!(is_eapol(&f));
        let repr = MkaFrameRepr::parse(&f).unwrap_or_else(|e| panic!("MKPDU {n}: {e}"));
        assert_eq!(
            repr.to_bytes().unwrap(),
            f,
            "MKPDU {n} does not re-encode byte for byte"
        );
        assert!(verify_frame_icv(&f, &k.ick).unwrap(), "MKPDU {n}: ICV");
        assert_eq!(frame_icv(&f, &k.ick).unwrap(), repr.mkpdu.icv);
        // The EAPOL-level codec alone round-trips too.
        let body = &f[14 + EAPOL_HEADER_LEN..];
        assert_eq!(MkpduRepr::parse(body).unwrap().to_bytes().unwrap(), body);
        // Sealing recomputes the same ICV.
        let mut resealed = repr.clone();
        resealed.mkpdu.icv = [0; 16];
        assert_eq!(resealed.seal(&k.ick).unwrap(), f);

        assert_eq!(repr.dst, PAE_GROUP_ADDR);
        assert_eq!(repr.eapol_version, 3);
        let b = &repr.mkpdu.basic;
        assert_eq!(b.ckn, k.ckn);
        assert_eq!(b.algorithm_agility, 0x0080_C201);
        let last = last_mn.insert(b.mi, b.mn).unwrap_or(0);
        assert_eq!(
            b.mn,
            last + 1,
            "each participant's MN starts at 1 and counts up by 1"
        );
        let peer = &json["peers"][b.sci.to_string()];
        assert_eq!(s(peer, "mi"), b.mi.to_string());
        assert_eq!(
            peer["mka_priority"].as_u64().unwrap(),
            b.key_server_priority as u64
        );
        assert_eq!(b.sci.mac(), repr.src.0);
        n += 1;
    }
    assert_eq!(n, 28);
}

/// The ICK/KEK context is the CKN's first 16 octets: wpa_supplicant truncates its 32-octet CKN.
/// An ICK over the whole CKN does not verify.
#[test]
fn wpa_supplicant_truncates_the_ckn_to_16_octets() {
    let k = capture_keys();
    assert_eq!(k.ckn.len(), 32);
    let whole = kdf(k.cak.as_bytes(), LABEL_ICK, k.ckn.as_bytes(), 128).unwrap();
    let wrong = Ick::from_bytes(&whole).unwrap();
    let f = &frames("wpa_mka.pcap")[0];
    assert!(verify_frame_icv(f, &k.ick).unwrap());
    assert!(!verify_frame_icv(f, &wrong).unwrap());
}

/// The Distributed SAK unwraps with the KEK to the SAK of the key file, with the KI, AN and wrap
/// the file gives; the peer then reports it in SAK Use (first in the Latest slot, then, once the
/// CP retired, in the Old slot with the Latest slot empty), and `most_recent` reads both.
#[test]
fn distributed_sak_unwraps_and_sak_use_follows() {
    let k = capture_keys();
    let json = keys();
    let sak_json = &json["sak"];
    let want_ki = Ki::new(
        s(sak_json, "ki_mi").parse().unwrap(),
        sak_json["ki_kn"].as_u64().unwrap() as u32,
    );
    let mut dist = 0;
    let mut latest_slot = 0;
    let mut old_slot = 0;
    for f in frames("wpa_mka.pcap") {
        let repr = MkaFrameRepr::parse(&f).unwrap();
        let m = &repr.mkpdu;
        if let Some(d) = m.distributed_sak() {
            let w = d.key.as_ref().unwrap();
            assert_eq!(hex::encode(&w.wrapped), s(sak_json, "wrapped"));
            assert_eq!(w.wrapped.len(), 24, "GCM-AES-128 default form: 24-octet wrap");
            assert_eq!(
                w.cipher_suite_id, None,
                "GCM-AES-128 default form: no cipher suite id"
            );
            assert_eq!(d.cipher_suite(), Some(CipherSuite::GcmAes128));
            assert_eq!(d.an as u64, sak_json["an"].as_u64().unwrap());
            assert_eq!(d.conf_offset, ConfidentialityOffset::Offset0);
            assert_eq!(
                d.conf_offset.conf_offset().unwrap().octets() as u64,
                sak_json["conf_offset"].as_u64().unwrap()
            );
            assert_eq!(d.ki(m.basic.mi), Some(want_ki));
            let sak = k.kek.unwrap_sak(&w.wrapped).unwrap();
            assert_eq!(hex::encode(sak.as_bytes()), s(sak_json, "key"));
            assert_eq!(k.kek.wrap_sak(&sak), w.wrapped);
            assert!(m.basic.key_server);
            dist += 1;
        }
        if let Some(u) = m.sak_use() {
            assert_eq!(u.most_recent().unwrap().ki, want_ki);
            let (latest, old) = (u.latest().unwrap(), u.old().unwrap());
            if latest.ki == want_ki {
                latest_slot += 1;
                assert!(old.ki.is_null());
            } else {
                assert!(latest.ki.is_null() && !latest.tx && !latest.rx);
                assert_eq!(
                    latest.lowest_pn, 1,
                    "wpa_supplicant reports LPN 1 in an empty slot"
                );
                assert_eq!(old.ki, want_ki);
                assert!(old.tx && old.rx);
                old_slot += 1;
            }
        }
        // wpa_supplicant 2.10: MKA version 1, peer lists, SAK Use, Distributed SAK; no ICV
        // Indicator, no XPN, no Announcement.
        assert_eq!(m.basic.version, 1);
        assert!(!m.icv_indicator);
        assert!(m.sets.iter().all(|p| matches!(
            p,
            ParamSet::LivePeerList(_)
                | ParamSet::PotentialPeerList(_)
                | ParamSet::SakUse(_)
                | ParamSet::DistributedSak(_)
        )));
    }
    assert_eq!(dist, 2, "the key server sends the Distributed SAK twice");
    assert!(
        latest_slot >= 3 && old_slot >= 15,
        "latest {latest_slot}, old {old_slot}"
    );
}

/// The real MKPDUs also carry their ICV inside an ICV Indicator: re-sealed that way they parse,
/// verify, and any flipped octet fails the ICV.
#[test]
fn icv_indicator_form_and_tampering() {
    let k = capture_keys();
    for f in frames("wpa_mka.pcap") {
        let mut repr = MkaFrameRepr::parse(&f).unwrap();
        repr.mkpdu.icv_indicator = true;
        let g = repr.seal(&k.ick).unwrap();
        assert_eq!(g.len(), f.len() + 4);
        assert_eq!(&g[g.len() - 20..g.len() - 16], &[255, 0, 0, 16]);
        assert!(verify_frame_icv(&g, &k.ick).unwrap());
        let back = MkaFrameRepr::parse(&g).unwrap();
        assert!(back.mkpdu.icv_indicator);
        assert_eq!(back, repr);
        let mut t = f.clone();
        let i = t.len() / 2;
        t[i] ^= 1;
        assert!(!verify_frame_icv(&t, &k.ick).unwrap_or(false));
    }
}

/// mka_plus_macsec.pcap: the MKPDUs followed by 4 MACsec frames (2 encrypted, 2 integrity-only)
/// protected with the SAK. The SAK unwrapped from the MKPDUs validates all 4 in the dataplane's
/// SecY, under the SCIs the MKPDUs announce and the distributed AN.
#[test]
fn unwrapped_sak_validates_the_macsec_frames() {
    let k = capture_keys();
    let all = frames("mka_plus_macsec.pcap");
    let mut sak = None;
    let mut an = None;
    let mut scis: Vec<Sci> = Vec::new();
    for f in all.iter().filter(|f| is_eapol(f)) {
        let repr = MkaFrameRepr::parse(f).unwrap();
        assert!(verify_frame_icv(f, &k.ick).unwrap());
        if !scis.contains(&repr.mkpdu.basic.sci) {
            scis.push(repr.mkpdu.basic.sci);
        }
        if let Some(d) = repr.mkpdu.distributed_sak() {
            sak = Some(k.kek.unwrap_sak(&d.key.as_ref().unwrap().wrapped).unwrap());
            an = Some(d.an);
        }
    }
    let (sak, an) = (sak.unwrap(), an.unwrap());
    let mut rx = RxSecY::new(Policy::new(CipherSuite::GcmAes128), Backend::Ring);
    for sci in &scis {
        rx.install_sa(*sci, an, &SaKeys::new(sak.as_bytes()), 1).unwrap();
    }
    let macsec: Vec<_> = all
        .iter()
        .filter(|f| f.len() >= 14 && f[12..14] == [0x88, 0xe5])
        .collect();
    assert_eq!(macsec.len(), 4);
    for f in macsec {
        let mut buf = vec![0u8; 32 + f.len() + 32];
        buf[32..32 + f.len()].copy_from_slice(f);
        let v = rx.validate(&mut buf, Span::new(32, f.len())).unwrap();
        assert_eq!(v.status, RxStatus::Ok);
        assert!(scis.contains(&v.sci.unwrap()));
    }
}

// ------------------------------------------------------------------------------------------------
// macsecctl mka decode

fn macsecctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_macsecctl"))
        .args(args)
        .output()
        .unwrap()
}

fn decode(extra: &[&str], file: &Path) -> Output {
    let k = keys();
    let mut a = vec!["mka", "decode", "--cak", s(&k, "cak"), "--ckn", s(&k, "ckn")];
    a.extend_from_slice(extra);
    a.push(file.to_str().unwrap());
    macsecctl(&a)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn is_hex(v: &Value, digits: usize) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == digits && s.bytes().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn cli_json_with_keys() {
    let k = keys();
    let o = decode(&["--json", "--show-keys"], &data("wpa_mka.pcap"));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 28);
    let mut saks = 0;
    for j in &lines {
        assert_eq!(j["icv_valid"], true);
        assert!(is_hex(&j["sci"], 16) && is_hex(&j["mi"], 24), "{j}");
        assert!(j["mn"].is_u64() && j["key_server"].is_boolean() && j["key_server_priority"].is_u64());
        assert!(j["parameter_sets"].is_array());
        assert_eq!(s(&k["peers"][s(j, "sci")], "mi"), s(j, "mi"));
        if let Some(sak) = j.get("sak") {
            assert_eq!(sak, &k["sak"]["key"]);
            let d = j["parameter_sets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["type"] == 4)
                .unwrap();
            assert_eq!(d["unwrap"], "ok");
            assert_eq!(d["wrapped_sak"], k["sak"]["wrapped"]);
            assert_eq!(d["cipher_suite"], "GCM-AES-128");
            saks += 1;
        }
    }
    assert_eq!(saks, 2);
}

#[test]
fn cli_hides_keys_by_default() {
    let k = keys();
    for extra in [&["--json"][..], &[][..]] {
        let o = decode(extra, &data("mka_plus_macsec.pcap"));
        assert_eq!(o.status.code(), Some(0));
        let out = stdout(&o);
        assert!(
            !out.contains(s(&k["sak"], "key")),
            "SAK printed without --show-keys"
        );
        assert!(!out.contains(s(&k, "cak")), "CAK printed");
        assert!(out.contains("***"));
    }
    let o = decode(&[], &data("mka_plus_macsec.pcap"));
    let out = stdout(&o);
    assert!(out.contains("SAK *** (unwrapped with the KEK)"), "{out}");
    assert!(out.contains("frames: 32, MKPDUs: 28, failed: 0"), "{out}");
    assert_eq!(out.matches("ICV valid").count(), 28);
    let o = decode(&["--json"], &data("wpa_mka.pcap"));
    let with_sak: Vec<_> = json_lines(&o)
        .into_iter()
        .filter(|j| j.get("sak").is_some())
        .collect();
    assert!(with_sak.is_empty(), "top-level sak only with --show-keys");
}

#[test]
fn cli_wrong_cak_fails_the_icv() {
    let k = keys();
    let o = macsecctl(&[
        "mka",
        "decode",
        "--json",
        "--cak",
        "000102030405060708090a0b0c0d0e0e",
        "--ckn",
        s(&k, "ckn"),
        data("wpa_mka.pcap").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 28);
    assert!(lines.iter().all(|j| j["icv_valid"] == false && j["ok"] == false));
    // A 256-bit CAK of the right form but the wrong value also just fails the ICVs.
    let o = macsecctl(&[
        "mka",
        "decode",
        "--cak",
        &"ab".repeat(32),
        "--ckn",
        s(&k, "ckn"),
        data("wpa_mka.pcap").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("failed: 28"));
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(
            Duration::from_millis(i as u64),
            f.len() as u32,
            f,
        ))
        .unwrap();
    }
}

/// A malformed MKPDU counts as a failure with its reason; other EAPOL types and non-EAPOL frames
/// are skipped; pcapng is read too.
#[test]
fn cli_malformed_and_skipped_frames() {
    let d = tempfile::tempdir().unwrap();
    let mut fs = frames("wpa_mka.pcap");
    let mut bad = fs[3].clone();
    bad[14 + 4 + 32 + 32 + 3] = 0x0f; // Live Peer List body length 15: not a multiple of 16
    let mut start = fs[0][..18].to_vec(); // EAPOL-Start (type 1, no body)
    start[15] = 1;
    start[16] = 0;
    start[17] = 0;
    let mut ipv4 = fs[0].clone();
    ipv4[12] = 0x08;
    ipv4[13] = 0x00;
    fs.truncate(3);
    fs.extend([bad, start, ipv4]);
    let p = d.path().join("mixed.pcap");
    write_pcap(&p, &fs);
    let o = decode(&["--json"], &p);
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[3]["reason"],
        MkpduError::BadParamSetLength { set_type: 1, len: 15 }.reason()
    );
    assert_eq!(lines[3]["icv_valid"], false);
    let o = decode(&[], &p);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("frames: 6, MKPDUs: 4, failed: 1, other EAPOL (skipped): 1"),
        "{}",
        stdout(&o)
    );

    // pcapng
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::DataLink;
    let ng = d.path().join("mka.pcapng");
    let mut w = PcapNgWriter::new(std::fs::File::create(&ng).unwrap()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0,
        options: vec![],
    })
    .unwrap();
    for f in frames("wpa_mka.pcap") {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_secs(1),
            original_len: f.len() as u32,
            data: f.into(),
            options: vec![],
        })
        .unwrap();
    }
    drop(w);
    let o = decode(&["--json"], &ng);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_lines(&o).len(), 28);
}

#[test]
fn cli_usage_and_file_errors() {
    let k = keys();
    let file = data("wpa_mka.pcap");
    let file = file.to_str().unwrap();
    let secret = "00112233445566778899aabbccddeeff0011";
    for args in [
        vec!["mka", "decode", "--cak", secret, "--ckn", s(&k, "ckn"), file],
        vec![
            "mka",
            "decode",
            "--cak",
            "00112233445566778899aabbccddeefg",
            "--ckn",
            s(&k, "ckn"),
            file,
        ],
        vec!["mka", "decode", "--cak", s(&k, "cak"), "--ckn", "", file],
        vec![
            "mka",
            "decode",
            "--cak",
            s(&k, "cak"),
            "--ckn",
            s(&k, "ckn"),
            "/nonexistent/x.pcap",
        ],
    ] {
        // The CAK from a file (on the command line it would add its warning line).
        let kd = tempfile::tempdir().unwrap();
        let cakf = kd.path().join("cak");
        std::fs::write(&cakf, args[3]).unwrap();
        let mut run = args.clone();
        run[2] = "--cak-file";
        run[3] = cakf.to_str().unwrap();
        let o = macsecctl(&run);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("macsecctl: error: "), "{err}");
        assert!(
            !err.contains(args[3]) || args[3].is_empty(),
            "stderr repeats the CAK: {err}"
        );
        assert!(!err.contains("00112233"), "{err}");
    }
    // Not a capture at all.
    let d = tempfile::tempdir().unwrap();
    let junk = d.path().join("junk.pcap");
    std::fs::write(&junk, b"not a capture").unwrap();
    let o = decode(&[], &junk);
    assert_eq!(o.status.code(), Some(2));
    // Missing arguments: clap's usage error, exit 2.
    assert_eq!(macsecctl(&["mka", "decode", file]).status.code(), Some(2));
}

/// `--cak-file` decodes as `--cak` does, without the command-line warning.
#[test]
fn cak_from_a_file() {
    let k = keys();
    let file = data("wpa_mka.pcap");
    let by_value = decode(&["--json"], &file);
    assert_eq!(
        String::from_utf8_lossy(&by_value.stderr),
        "warning: --cak on the command line is readable by other local users (/proc/PID/cmdline); use --cak-file\n"
    );
    let d = tempfile::tempdir().unwrap();
    let cakf = d.path().join("cak");
    std::fs::write(&cakf, format!("{}\n", s(&k, "cak"))).unwrap();
    let by_file = macsecctl(&[
        "mka",
        "decode",
        "--cak-file",
        cakf.to_str().unwrap(),
        "--ckn",
        s(&k, "ckn"),
        "--json",
        file.to_str().unwrap(),
    ]);
    assert_eq!(by_file.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&by_file.stderr), "");
    assert_eq!(json_lines(&by_file).len(), 28);
    assert_eq!(by_file.stdout, by_value.stdout);
}

/// A synthetic MKPDU with every parameter set (MKA v3, ICV Indicator, XPN-256 SAK in the 52-octet
/// Distributed SAK form, a Distributed CAK, KMD, Announcement with cipher suites and an unknown
/// TLV, XPN, an unknown parameter set), sealed with the capture's ICK: the tool decodes every set,
/// verifies the ICV and unwraps both keys.
#[test]
fn cli_decodes_every_parameter_set() {
    use macsec::wire::MacAddr;
    use mka::*;
    let k = capture_keys();
    let sak = Sak::generate(&mut mka::rng::Rng::os(), 32).unwrap();
    let group_cak = Cak::from_bytes(&[0x5a; 16]).unwrap();
    let mi: Mi = "00112233445566778899aabb".parse().unwrap();
    let peer: Mi = "ffeeddccbbaa998877665544".parse().unwrap();
    let basic = BasicParamSet {
        key_server_priority: 0,
        macsec_capability: MacsecCapability::ConfidentialityNoOffset,
        ..BasicParamSet::for_tests("02000000000c0001".parse().unwrap(), mi, 7, k.ckn.clone())
    };
    let sets = vec![
        ParamSet::LivePeerList(PeerList {
            key_server_ssci: 2,
            peers: vec![Peer { mi: peer, mn: 6 }],
        }),
        ParamSet::SakUse(SakUse {
            latest_an: 1,
            latest_tx: true,
            latest_rx: true,
            delay_protect: true,
            keys: Some(SakUseKeys {
                latest_ki: Ki::new(mi, 2),
                latest_lowest_pn: 1,
                old_ki: Ki::NULL,
                old_lowest_pn: 1,
            }),
            ..SakUse::default()
        }),
        ParamSet::DistributedSak(DistributedSak {
            an: 1,
            conf_offset: ConfidentialityOffset::Offset0,
            key: Some(WrappedSak {
                kn: 2,
                cipher_suite_id: Some(CipherSuite::GcmAesXpn256.id()),
                wrapped: k.kek.wrap_sak(&sak),
            }),
        }),
        ParamSet::DistributedCak(DistributedCak {
            wrapped_cak: k.kek.wrap_cak(&group_cak),
            ckn: Ckn::new(b"group").unwrap(),
        }),
        ParamSet::Kmd(b"lab.example".to_vec()),
        ParamSet::Announcement(Announcement {
            tlvs: vec![
                AnnouncementTlv::CipherSuites(vec![CipherSuiteCap {
                    capability: MacsecCapability::ConfidentialityNoOffset,
                    id: CipherSuite::GcmAesXpn256.id(),
                }]),
                AnnouncementTlv::Other {
                    tlv_type: 126,
                    value: vec![0, 0x80, 0xc2, 1],
                },
            ],
        }),
        ParamSet::Xpn(Xpn {
            suspension_time: 0,
            latest_lowest_pn_msb: 1,
            old_lowest_pn_msb: 0,
        }),
        ParamSet::Unknown(UnknownParamSet {
            set_type: 100,
            octet2: 0,
            flags: 0,
            body: vec![1, 2, 3],
        }),
    ];
    let mut f = MkaFrameRepr::new(
        MacAddr([2, 0, 0, 0, 0, 0x0c]),
        MkpduRepr {
            basic,
            sets,
            icv_indicator: true,
            icv: [0; 16],
        },
    );
    let bytes = f.seal(&k.ick).unwrap();
    assert_eq!(MkaFrameRepr::parse(&bytes).unwrap(), f);
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("every.pcap");
    write_pcap(&p, &[bytes]);
    let o = decode(&["--json", "--show-keys"], &p);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let j = &json_lines(&o)[0];
    assert_eq!(j["icv_valid"], true);
    assert_eq!(j["icv_indicator"], true);
    assert_eq!(j["mka_version"], 3);
    assert_eq!(j["sak"], hex::encode(sak.as_bytes()));
    let sets = j["parameter_sets"].as_array().unwrap();
    let types: Vec<u64> = sets.iter().map(|s| s["type"].as_u64().unwrap()).collect();
    assert_eq!(types, [1, 3, 4, 5, 6, 7, 8, 100]);
    assert_eq!(sets[0]["key_server_ssci"], 2);
    assert_eq!(sets[1]["latest"]["kn"], 2);
    assert_eq!(sets[1]["delay_protect"], true);
    assert_eq!(sets[2]["cipher_suite"], "GCM-AES-XPN-256");
    assert_eq!(sets[2]["wrapped_sak"].as_str().unwrap().len(), 80);
    assert_eq!(sets[3]["cak"], hex::encode(group_cak.as_bytes()));
    assert_eq!(sets[4]["kmd"], "lab.example");
    assert_eq!(sets[5]["tlvs"][0]["cipher_suites"][0]["name"], "GCM-AES-XPN-256");
    assert_eq!(sets[5]["tlvs"][1]["type"], 126);
    assert_eq!(sets[6]["latest_lowest_pn_msb"], 1);
    assert_eq!(sets[7]["body"], "010203");
    // The readable dump names every set too, and hides keys without --show-keys.
    let o = decode(&[], &p);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for name in [
        "Live Peer List",
        "MACsec SAK Use",
        "Distributed SAK",
        "Distributed CAK",
        "KMD",
        "Announcement",
        "XPN",
        "unknown (type 100)",
        "ICV Indicator",
        "GCM-AES-XPN-256",
    ] {
        assert!(out.contains(name), "{name} missing:\n{out}");
    }
    assert!(!out.contains(&hex::encode(sak.as_bytes())) && !out.contains(&hex::encode(group_cak.as_bytes())));
}

/// `macsecctl mka decode` names the PPK Key ID TLV, and reports a PPK-mode Distributed SAK (wrapped
/// with KEK' mixed with a PPK, as the engine sends it in PPK mode) as needing the PPK rather than
/// as a failure.
#[test]
fn cli_names_the_ppk_key_id() {
    use macsec::wire::MacAddr;
    use mka::ppk::{ppk_kek, PpkKeyId, PpkKeyIdTlv, PpkSecret};
    use mka::*;
    let k = capture_keys();
    let sak = Sak::generate(&mut mka::rng::Rng::seeded(&mka::rng::RngSeed::from_u64(1)), 16).unwrap();
    let kek_ppk = ppk_kek(&PpkSecret::from_bytes(&[7; 32]).unwrap(), &k.kek);
    let mi: Mi = "00112233445566778899aabb".parse().unwrap();
    let basic = BasicParamSet::for_tests("02000000000c0001".parse().unwrap(), mi, 3, k.ckn.clone());
    let tlv = PpkKeyIdTlv {
        kn: 1,
        key_id: PpkKeyId::new(b"key-1").unwrap(),
    };
    let sets = vec![
        ParamSet::DistributedSak(DistributedSak {
            an: 0,
            conf_offset: ConfidentialityOffset::Offset0,
            key: Some(WrappedSak {
                kn: 1,
                cipher_suite_id: None,
                wrapped: kek_ppk.wrap_sak(&sak),
            }),
        }),
        ParamSet::Announcement(Announcement {
            tlvs: vec![tlv.to_tlv()],
        }),
    ];
    let mut f = MkaFrameRepr::new(
        MacAddr([2, 0, 0, 0, 0, 0x0c]),
        MkpduRepr {
            basic,
            sets,
            icv_indicator: false,
            icv: [0; 16],
        },
    );
    let bytes = f.seal(&k.ick).unwrap();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ppk.pcap");
    write_pcap(&p, &[bytes]);
    let o = decode(&["--show-keys"], &p);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains("    TLV 127 PPK Key ID: KN 1, key ID 6b65792d31\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "    SAK not unwrapped: wrapped with KEK' mixed with the PPK of key ID 6b65792d31 (PPK mode)\n"
        ),
        "{text}"
    );
    assert!(!text.contains(&hex::encode(sak.as_bytes())), "{text}");
}
