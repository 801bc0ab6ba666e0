//! `control::ppk` SKS engine: the McEliece public key export, the seed export/import round trip
//! (both sides derive the same PPK for a key ID), tampered seed files and seeds encrypted to
//! another peer's key rejected, the master rules, and known-answer values of the PPK derivation
//! and the PPK-mixed KEK (computed independently with Python `cryptography`'s AES-CMAC).
//!
//! Key pairs take seconds to generate, so two are made once per test binary and copied into
//! each test's state directories.

use control::config::Config;
use control::ppk::cli::{self, CryptoCmd};
use control::ppk::sks::{self, SksState, SEED_LEN};
use control::ppk::{derive_sks_ppk, ppk_kek, source_for, KeyId, Ppk, PpkError, SourceOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const A_CONF: &str = "\
sks profile prof-A device-identifier peer-1
 live-keys 5
 peer-identifier peer-2
!
macsec-policy p1
 ppk sks-profile prof-A
!
";
const B_CONF: &str = "\
sks profile prof-B device-identifier peer-2
 live-keys 5
 peer-identifier peer-1 master
!
";

/// Two key pairs ("B" and "C"), generated once: their state directories.
fn keypairs() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static K: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    K.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let (b, c) = (d.path().join("b"), d.path().join("c"));
        let hb = std::thread::spawn({
            let b = b.clone();
            move || SksState::new(&b).ensure_keypair(&mut |_| {}).unwrap()
        });
        assert!(SksState::new(&c).ensure_keypair(&mut |_| {}).unwrap());
        assert!(hb.join().unwrap());
        (d, b, c)
    })
}

/// A state directory holding a copy of key pair `which` ("b" or "c").
fn state_with_key(root: &Path, name: &str, which: &str) -> SksState {
    let k = keypairs();
    let src = if which == "b" { &k.1 } else { &k.2 };
    let dst = root.join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["mceliece.key", "mceliece.pub"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    SksState::new(dst)
}

struct Setup {
    dir: tempfile::TempDir,
    a: SksState,
    b: SksState,
    a_conf: Config,
    b_conf: Config,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let a = SksState::new(dir.path().join("a"));
    let b = state_with_key(dir.path(), "b", "b");
    Setup {
        a,
        b,
        a_conf: Config::parse(A_CONF).unwrap(),
        b_conf: Config::parse(B_CONF).unwrap(),
        dir,
    }
}

impl Setup {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// B exports its public key, A imports it as peer-2 and exports a seed file for it.
    fn export_seed(&self) -> PathBuf {
        let pubf = self.path("MeCe_b_pub");
        self.b.export_public_key(&pubf, &mut |_| {}).unwrap();
        self.a.import_peer_key("peer-2", &pubf).unwrap();
        let seedf = self.path("enc_self_peer-2");
        assert_eq!(
            sks::seed_export(&self.a_conf, &self.a, "peer-2", &seedf).unwrap(),
            "prof-A"
        );
        seedf
    }
}

#[test]
fn public_key_export_is_1357824_octets_and_private_key_is_0600() {
    let s = setup();
    let out = s.path("MeCe_the_MC_default_pub");
    s.b.export_public_key(&out, &mut |_| panic!("no key generation expected"))
        .unwrap();
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 1_357_824);
    let key = s.b.dir().join("mceliece.key");
    assert_eq!(std::fs::metadata(&key).unwrap().len(), 14_120);
    // ensure_keypair set the modes on the originals; the copies here get them via the import path
    let orig = keypairs().1.join("mceliece.key");
    assert_eq!(
        std::fs::metadata(orig).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(keypairs().1.clone())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    // Importing something that is not a public key fails.
    let junk = s.path("junk");
    std::fs::write(&junk, [0u8; 100]).unwrap();
    let e = s.a.import_peer_key("peer-2", &junk).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: not a mceliece8192128 public key: 100 octets, expected 1357824",
            junk.display()
        )
    );
}

#[test]
fn seed_round_trip_gives_the_same_ppk_on_both_sides() {
    let s = setup();
    let seedf = s.export_seed();
    // 8 magic + 2 + (1+6) + (1+6) identifiers + 32 key hash + 208 KEM + 12 nonce + 32 seed + 16 tag
    assert_eq!(std::fs::metadata(&seedf).unwrap().len(), 324);
    assert_eq!(
        sks::seed_import(&s.b_conf, &s.b, "peer-1", &seedf).unwrap(),
        "prof-B"
    );
    let (sa, sb) = (
        s.a.seed("peer-2").unwrap().unwrap(),
        s.b.seed("peer-1").unwrap().unwrap(),
    );
    assert_eq!(*sa, *sb);
    for st in [&s.a, &s.b] {
        let p = st.dir().join("peers").join(if std::ptr::eq(st, &s.a) {
            "peer-2.seed"
        } else {
            "peer-1.seed"
        });
        assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let mut ks = source_for(
        &s.a_conf.sks_profiles["prof-A"],
        s.a.dir(),
        &SourceOptions::default(),
    )
    .unwrap();
    let mut peer = source_for(
        &s.b_conf.sks_profiles["prof-B"],
        s.b.dir(),
        &SourceOptions::default(),
    )
    .unwrap();
    let (id1, ppk1) = ks.new_key().unwrap();
    let (id2, ppk2) = ks.new_key().unwrap();
    assert_eq!(id1.as_bytes().len(), 16);
    assert_ne!(id1, id2);
    assert_ne!(ppk1, ppk2);
    assert_eq!(peer.key_by_id(&id1).unwrap(), ppk1);
    assert_eq!(peer.key_by_id(&id2).unwrap(), ppk2);
    assert_eq!(ppk1, derive_sks_ppk(&sa, &id1).unwrap());

    // show crypto sks peer all, both sides, as the guide prints it.
    assert_eq!(
        cli::render_peers(&cli::peer_rows(&s.a_conf, &s.a)),
        "Peer Name          : peer-2\nProfile Name       : prof-A\nSeed Done          : TRUE\nPubkey Import Done : TRUE\nMaster             : FALSE\n"
    );
    assert_eq!(
        cli::render_peers(&cli::peer_rows(&s.b_conf, &s.b)),
        "Peer Name          : peer-1\nProfile Name       : prof-B\nSeed Done          : TRUE\nPubkey Import Done : FALSE\nMaster             : TRUE\n"
    );
}

#[test]
fn tampered_seed_file_is_rejected() {
    let s = setup();
    let seedf = s.export_seed();
    let good = std::fs::read(&seedf).unwrap();
    let bad_path = s.path("tampered");
    let integrity = format!(
        "{}: the seed file failed its integrity check (changed, or not encrypted to this router's key)",
        bad_path.display()
    );
    // Offsets: 10 sender length, 11.. "peer-1", 17 recipient length, 18.. "peer-2", 24.. key hash,
    // 56.. KEM ciphertext, 264.. nonce, 276.. sealed seed, 308.. tag.
    for (at, expect) in [
        (
            12usize,
            format!(
                "{}: the seed is from 'pxer-1', not from peer peer-1",
                bad_path.display()
            ),
        ),
        (
            19,
            format!(
                "{}: the seed is for 'pxer-2', not for this router (peer-2)",
                bad_path.display()
            ),
        ),
        (
            30,
            format!(
                "{}: the seed was encrypted to another public key than this router's",
                bad_path.display()
            ),
        ),
        (100, integrity.clone()),
        (265, integrity.clone()),
        (280, integrity.clone()),
        (320, integrity.clone()),
    ] {
        let mut t = good.clone();
        t[at] ^= if at == 12 || at == 19 { b'e' ^ b'x' } else { 0x01 };
        std::fs::write(&bad_path, &t).unwrap();
        let e = sks::seed_import(&s.b_conf, &s.b, "peer-1", &bad_path).unwrap_err();
        assert_eq!(e.to_string(), expect, "byte {at}");
        assert!(!s.b.has_seed("peer-1"), "byte {at}");
    }
    std::fs::write(&bad_path, &good[..good.len() - 1]).unwrap();
    let e = sks::seed_import(&s.b_conf, &s.b, "peer-1", &bad_path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: not a seed file (truncated)", bad_path.display())
    );
    // The untouched file still imports.
    sks::seed_import(&s.b_conf, &s.b, "peer-1", &seedf).unwrap();
    assert!(s.b.has_seed("peer-1"));
}

#[test]
fn seed_for_another_peers_key_is_rejected() {
    let s = setup();
    // A imported C's public key as peer-2 (the wrong file): B cannot use the seed.
    let c = state_with_key(s.dir.path(), "c", "c");
    let cpub = s.path("MeCe_c_pub");
    c.export_public_key(&cpub, &mut |_| {}).unwrap();
    s.a.import_peer_key("peer-2", &cpub).unwrap();
    let seedf = s.path("enc_self_peer-2");
    sks::seed_export(&s.a_conf, &s.a, "peer-2", &seedf).unwrap();
    let e = sks::seed_import(&s.b_conf, &s.b, "peer-1", &seedf).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: the seed was encrypted to another public key than this router's",
            seedf.display()
        )
    );

    // Even with the key hash forged to B's, decapsulation with B's key gives another secret.
    let mut forged = std::fs::read(&seedf).unwrap();
    let bpub = std::fs::read(s.b.dir().join("mceliece.pub")).unwrap();
    forged[24..56].copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &bpub).as_ref());
    std::fs::write(&seedf, &forged).unwrap();
    let e = sks::seed_import(&s.b_conf, &s.b, "peer-1", &seedf).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: the seed file failed its integrity check (changed, or not encrypted to this router's key)",
            seedf.display()
        )
    );
    assert!(!s.b.has_seed("peer-1"));
}

#[test]
fn master_rules_and_missing_seed() {
    let s = setup();
    // B's peer-1 is the master: B does not export to it, A (peer-2 is no master) does not import.
    let e = sks::seed_export(&s.b_conf, &s.b, "peer-1", &s.path("x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sks profile prof-B: peer peer-1 is the master: it exports the seed, import it here with `crypto sks seed import mceliece peer-1 PATH`"
    );
    let e = sks::seed_import(&s.a_conf, &s.a, "peer-2", &s.path("x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sks profile prof-A: peer peer-2 is not the master (peer-identifier peer-2 master): this router exports the seed to it"
    );
    let e = sks::seed_export(&s.a_conf, &s.a, "peer-9", &s.path("x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "peer peer-9 is not a peer-identifier of any sks profile"
    );
    let e = sks::seed_export(&s.a_conf, &s.a, "peer-2", &s.path("x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no public key imported for peer peer-2 (run `crypto sks key import mceliece peer-2 PATH`)"
    );
    // No seed yet: the PPK source says why.
    let mut src = source_for(
        &s.a_conf.sks_profiles["prof-A"],
        s.a.dir(),
        &SourceOptions::default(),
    )
    .unwrap();
    let e = src.new_key().unwrap_err();
    assert!(matches!(e, PpkError::NoSeed { .. }));
    assert_eq!(
        e.to_string(),
        "no seed shared with peer peer-2 of sks profile prof-A (export it with `crypto sks seed export mceliece` on the master, import it with `crypto sks seed import mceliece` on the other side)"
    );
}

#[test]
fn cli_commands_round_trip() {
    use clap::Parser;
    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        c: CryptoCmd,
    }
    let s = setup();
    let (ac, bc) = (s.path("a.conf"), s.path("b.conf"));
    std::fs::write(&ac, A_CONF).unwrap();
    std::fs::write(&bc, B_CONF).unwrap();
    let run = |args: &[&str]| -> Result<String, PpkError> {
        let t = T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap();
        let mut out = Vec::new();
        cli::run_crypto(t.c, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    };
    let (ad, bd) = (
        s.a.dir().to_str().unwrap().to_string(),
        s.b.dir().to_str().unwrap().to_string(),
    );
    let pubf = s.path("MeCe_b_pub");
    let seedf = s.path("enc_self_peer-2");
    let (pubs, seeds) = (pubf.to_str().unwrap(), seedf.to_str().unwrap());
    assert_eq!(
        run(&[
            "sks",
            "key",
            "export",
            "mceliece",
            "--state-dir",
            &bd,
            "--out",
            pubs
        ])
        .unwrap(),
        format!("Pubkey exported file: {pubs}\n")
    );
    assert_eq!(
        run(&[
            "sks",
            "key",
            "import",
            "mceliece",
            "peer-2",
            pubs,
            "--state-dir",
            &ad,
            "--config",
            ac.to_str().unwrap()
        ])
        .unwrap(),
        format!("Pubkey of peer peer-2 (sks profile prof-A) imported from {pubs}\n")
    );
    assert_eq!(
        run(&[
            "sks",
            "seed",
            "export",
            "mceliece",
            "peer-2",
            "--out",
            seeds,
            "--state-dir",
            &ad,
            "--config",
            ac.to_str().unwrap()
        ])
        .unwrap(),
        format!("Seed for peer peer-2 (sks profile prof-A) exported file: {seeds}\n")
    );
    assert_eq!(
        run(&[
            "sks",
            "seed",
            "import",
            "mceliece",
            "peer-1",
            seeds,
            "--state-dir",
            &bd,
            "--config",
            bc.to_str().unwrap()
        ])
        .unwrap(),
        format!("Seed from peer peer-1 (sks profile prof-B) imported from {seeds}\n")
    );
    let shown = cli::show(
        &["crypto", "sks", "profile", "all"],
        false,
        Some(&ac),
        Some(s.a.dir()),
        &SourceOptions::default(),
    )
    .unwrap();
    assert_eq!(
        shown,
        "Profile Name            :prof-A\nMy identifier           :peer-1\nType                    :Local\nReg Client Count        :1\n\
         Live keys               :5\nAlgorithm               :McEliece (mceliece8192128)\nKey pair                :Not generated\n\n\
         Peerlist\nPeer Name               :peer-2\nMaster                  :FALSE\nPubkey Import Done      :TRUE\nSeed Done               :TRUE\n"
    );
    let json = cli::show(
        &["crypto", "sks", "peer", "all"],
        true,
        Some(&bc),
        Some(s.b.dir()),
        &SourceOptions::default(),
    )
    .unwrap();
    assert_eq!(
        json,
        "[{\"peer_name\":\"peer-1\",\"profile_name\":\"prof-B\",\"seed_done\":true,\"pubkey_import_done\":false,\"master\":true}]\n"
    );
}

#[test]
fn ppk_derivation_known_answers() {
    let seed: [u8; SEED_LEN] = core::array::from_fn(|i| i as u8);
    let id = KeyId::new(&(0xa0..0xb0).collect::<Vec<u8>>()).unwrap();
    assert_eq!(
        hex::encode(derive_sks_ppk(&seed, &id).unwrap().as_bytes()),
        "0b0ebd0716a47add82d9c1c84c50f8247186d36fbe0953cca1b8cb6dc172123b"
    );
    let uuid = KeyId::new(b"3f2504e0-4f89-41d3-9a0c-0305e82c3301").unwrap();
    assert_eq!(
        hex::encode(derive_sks_ppk(&seed, &uuid).unwrap().as_bytes()),
        "e0cfc7b4de6fa683f8a79453824cdaf744e21d0752122a0080bc34775be1bd06"
    );
    let ppk = Ppk::from_bytes(&(0x40..0x60).collect::<Vec<u8>>()).unwrap();
    let kek16: Vec<u8> = (0..16).collect();
    let kek32: Vec<u8> = (0..32).collect();
    assert_eq!(
        hex::encode(&ppk_kek(&ppk, &kek16).unwrap()[..]),
        "2d904e50fc14e4f40f94d0f025002251"
    );
    assert_eq!(
        hex::encode(&ppk_kek(&ppk, &kek32).unwrap()[..]),
        "fadbc7970ea5ff31b3d29f29ebc227b98793093a1e1c624e936c7720df143b85"
    );
    // The MKA engine's KEK' (mka::ppk) is the same function.
    for kek in [&kek16, &kek32] {
        let mka = mka::ppk::ppk_kek(
            &mka::ppk::PpkSecret::from_bytes(ppk.as_bytes()).unwrap(),
            &mka::Kek::from_bytes(kek).unwrap(),
        );
        assert_eq!(mka.as_bytes(), &ppk_kek(&ppk, kek).unwrap()[..]);
    }
    // Secrets never print; key IDs do.
    assert_eq!(format!("{ppk} {ppk:?}"), "*** ***");
    assert_eq!(uuid.to_string(), "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    assert_eq!(id.to_string(), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    assert_eq!(
        KeyId::new(&[]).unwrap_err().to_string(),
        "a PPK key ID has 1 to 64 octets, not 0"
    );
    assert_eq!(
        KeyId::new(&[0; 65]).unwrap_err().to_string(),
        "a PPK key ID has 1 to 64 octets, not 65"
    );
}

#[test]
fn macsecctl_dispatches_crypto_sks_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("b.conf");
    std::fs::write(&conf, B_CONF).unwrap();
    let state = dir.path().join("state");
    let ctl = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_macsecctl"))
            .args(args)
            .output()
            .unwrap()
    };
    let (c, s) = (conf.to_str().unwrap(), state.to_str().unwrap());
    let out = ctl(&[
        "show",
        "crypto",
        "sks",
        "peer",
        "all",
        "--config",
        c,
        "--state-dir",
        s,
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Peer Name          : peer-1\nProfile Name       : prof-B\nSeed Done          : FALSE\nPubkey Import Done : FALSE\nMaster             : TRUE\n"
    );
    let missing = dir.path().join("enc_self_peer-2");
    let out = ctl(&[
        "crypto",
        "sks",
        "seed",
        "import",
        "mceliece",
        "peer-1",
        missing.to_str().unwrap(),
        "--config",
        c,
        "--state-dir",
        s,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "macsecctl: error: {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
}
