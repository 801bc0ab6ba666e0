//! MkaConfig::test_initial_pn (the PN-exhaustion system test's knob): every SA the engine
//! installs starts at that PN; without it, at 1.

use macsec::secy::{CipherSuite, Sci};
use mka::kay::{Mka, MkaConfig, SaCommand};
use mka::rng::RngSeed;
use mka::{Cak, Ckn};
use std::time::Duration;

/// Two engines (key server 1, member 2) on a lossless LAN for 5 s: the first PN of each
/// side's Tx SA installs and the lowest PN of its Rx SA installs.
fn first_pns(suite: CipherSuite, initial: Option<u64>) -> [(Vec<u64>, Vec<u64>); 2] {
    let ckn = Ckn::from_hex("a1b2c3d4e5f60718293a4b5c6d7e8f90").unwrap();
    let cak = Cak::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
    let mut m: Vec<Mka> = (1..=2u8)
        .map(|n| {
            let mut cfg = MkaConfig::new(Sci::from_mac_port([0, 0x1d, 0xe5, 0xe9, 0, n], 1), suite);
            cfg.key_server_priority = 16 * n;
            cfg.rng_seed = Some(RngSeed::from_u64(u64::from(n)));
            cfg.test_initial_pn = initial;
            Mka::new(cfg, vec![(ckn.clone(), cak.clone())], Duration::ZERO).unwrap()
        })
        .collect();
    let mut out = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
    let mut now = Duration::ZERO;
    let mut f = Vec::new();
    while now < Duration::from_secs(5) {
        now += Duration::from_millis(10);
        for i in 0..2 {
            if m[i].poll_timeout().is_some_and(|t| t <= now) {
                m[i].handle_timeout(now);
            }
            while m[i].poll_transmit(&mut f).is_some() {
                let frame = f.clone();
                m[1 - i].handle_mkpdu(now, &frame);
            }
            while let Some(c) = m[i].poll_sa_command() {
                match c {
                    SaCommand::InstallTx { next_pn, .. } => out[i].0.push(next_pn),
                    SaCommand::InstallRx { lowest_pn, .. } => out[i].1.push(lowest_pn),
                    _ => {}
                }
            }
        }
    }
    out
}

#[test]
fn every_sa_starts_at_the_test_initial_pn() {
    for (suite, n) in [
        (CipherSuite::GcmAes128, (1u64 << 32) - 150_000),
        (CipherSuite::GcmAesXpn256, u64::MAX - 149_999),
    ] {
        let got = first_pns(suite, Some(n));
        for (tx, rx) in &got {
            assert_eq!(tx, &vec![n], "{suite:?}: Tx SA installs");
            assert_eq!(rx, &vec![n], "{suite:?}: Rx SA installs");
        }
    }
}

#[test]
fn without_the_knob_every_sa_starts_at_1() {
    let got = first_pns(CipherSuite::GcmAes128, None);
    for (tx, rx) in &got {
        assert_eq!((tx.as_slice(), rx.as_slice()), (&[1u64][..], &[1u64][..]));
    }
}
