//! The MKA engine (`mka::kay::Mka`) fed arbitrary MKPDUs that pass its ICV check, with
//! time passing between them: it never panics, and what it asks of the dataplane is consistent
//! (a Tx SA is enabled only once installed, a lowest PN is set only on an installed Rx SA, ANs
//! are 0..3, keys have the suite's length).
//!
//! A well-behaved peer engine with the same CAK runs beside it (their MKPDUs are exchanged at
//! every step), so the session secures and rekeys and the fuzzed MKPDUs land in every state.
//!
//! Input: three octets (cipher suite, our key server priority, delay protection), then chunks
//! `[step][len hi][len lo][len octets]`. `step` advances the clock by `step & 0x3f` × 20 ms (bit
//! 0x80 also reports a PN threshold, bit 0x40 drops this step's exchange with the peer); the
//! octets are parsed as an MKPDU (EAPOL body). What parses is made to reach the engine's state
//! machine: its CKN is set to ours, an MI starting with 0xAA names our MI (with our latest MN
//! when its MN is 0), one starting with 0xBB the peer's (the basic set's too: a forged MKPDU of the
//! real peer), a Distributed SAK's wrapped key is replaced by a real wrap under our KEK of its
//! first 16 or 32 octets; then the frame is sealed with our ICK.
#![no_main]

use libfuzzer_sys::fuzz_target;
use macsec::secy::{CipherSuite, Sci};
use macsec::wire::MacAddr;
use mka::kay::{Mka, MkaConfig, SaCommand};
use mka::rng::RngSeed;
use mka::{Cak, Ckn, Kek, MkaFrameRepr, MkpduRepr, ParamSet, Sak};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const CKN: [u8; 4] = [1, 2, 3, 4];

/// The SAs the engine asked for, as a dataplane would hold them.
#[derive(Default)]
struct Model {
    tx: BTreeSet<u8>,
    rx: BTreeMap<(Sci, u8), ()>,
}

impl Model {
    fn apply(&mut self, c: SaCommand) {
        match c {
            SaCommand::InstallRx {
                sci, an, sak, suite, ..
            } => {
                assert!(an < 4);
                assert_eq!(sak.len(), suite.key_len());
                self.rx.insert((sci, an), ());
            }
            SaCommand::InstallTx { an, sak, suite, .. } => {
                assert!(an < 4);
                assert_eq!(sak.len(), suite.key_len());
                self.tx.insert(an);
            }
            SaCommand::EnableTx { an } => assert!(self.tx.contains(&an), "EnableTx {an} before its install"),
            SaCommand::DeleteRx { sci, an } => {
                self.rx.remove(&(sci, an));
            }
            SaCommand::DeleteTx { an } => {
                self.tx.remove(&an);
            }
            SaCommand::SetLowestPn { sci, an, .. } => {
                assert!(self.rx.contains_key(&(sci, an)), "SetLowestPn on a missing Rx SA")
            }
        }
    }
}

/// Carries out what the engine asks; returns its MKPDUs.
fn drain(mka: &mut Mka, model: &mut Model, last_mn: &mut u32) -> Vec<Vec<u8>> {
    while let Some(c) = mka.poll_sa_command() {
        model.apply(c);
    }
    let mut out = Vec::new();
    let mut f = Vec::new();
    while let Some(len) = mka.poll_transmit(&mut f) {
        assert_eq!(len, f.len());
        if let Ok(r) = MkaFrameRepr::parse(&f) {
            *last_mn = r.mkpdu.basic.mn;
        }
        out.push(core::mem::take(&mut f));
    }
    while mka.poll_event().is_some() {}
    while mka.poll_ppk_request().is_some() {}
    out
}

/// MI placeholders: 0xAA.. is ours, 0xBB.. the peer's.
fn resolve(mi: &mut mka::Mi, ours: mka::Mi, peer: mka::Mi) -> bool {
    match mi.0[0] {
        0xAA => *mi = ours,
        0xBB => *mi = peer,
        _ => return false,
    }
    true
}

/// Points the MKPDU at our participant and makes its keyed parts verifiable.
fn aim(m: &mut MkpduRepr, ckn: &Ckn, our_mi: mka::Mi, peer_mi: mka::Mi, our_mn: u32, kek: &Kek) {
    m.basic.ckn = ckn.clone();
    resolve(&mut m.basic.mi, our_mi, peer_mi);
    for s in &mut m.sets {
        match s {
            ParamSet::LivePeerList(l) | ParamSet::PotentialPeerList(l) => {
                for p in &mut l.peers {
                    if resolve(&mut p.mi, our_mi, peer_mi) && p.mi == our_mi && p.mn == 0 {
                        p.mn = our_mn;
                    }
                }
            }
            ParamSet::DistributedSak(d) => {
                if let Some(k) = &mut d.key {
                    let n = if k.wrapped.len() >= 32 && k.cipher_suite_id.is_some() {
                        32
                    } else {
                        16
                    };
                    if k.wrapped.len() >= n {
                        if let Ok(sak) = Sak::from_bytes(&k.wrapped[..n]) {
                            k.wrapped = kek.wrap_sak(&sak);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let ckn = Ckn::new(&CKN).expect("CKN");
    let cak = Cak::from_bytes(&[0x42; 16]).expect("CAK");
    let (ick, kek) = (mka::Ick::derive(&cak, &ckn), Kek::derive(&cak, &ckn));
    let suite = if data.first().is_some_and(|b| b & 1 == 1) {
        CipherSuite::GcmAesXpn256
    } else {
        CipherSuite::GcmAes128
    };
    let mut cfg = MkaConfig::new(Sci(0x0011_2233_4455_0001), suite);
    cfg.key_server_priority = data.get(1).copied().unwrap_or(16);
    cfg.sak_rekey_interval = Some(Duration::from_secs(3));
    cfg.delay_protection = data.get(2).is_some_and(|b| b & 1 == 1);
    let mut peer_cfg = MkaConfig::new(Sci(0x0011_2233_4455_0002), suite);
    peer_cfg.key_server_priority = 16;
    peer_cfg.sak_rekey_interval = cfg.sak_rekey_interval;
    peer_cfg.delay_protection = cfg.delay_protection;
    // Seeded: a crash found by the fuzzer replays with the same MIs and SAKs.
    cfg.rng_seed = Some(RngSeed::from_u64(1));
    peer_cfg.rng_seed = Some(RngSeed::from_u64(2));
    let Ok(mut mka) = Mka::new(cfg, vec![(ckn.clone(), cak.clone())], Duration::ZERO) else {
        return;
    };
    let Ok(mut peer) = Mka::new(peer_cfg, vec![(ckn.clone(), cak)], Duration::ZERO) else {
        return;
    };
    let (mut model, mut peer_model) = (Model::default(), Model::default());
    let mut now = Duration::ZERO;
    let (mut last_mn, mut peer_mn) = (0, 0);
    mka.handle_timeout(now);
    peer.handle_timeout(now);
    let mut rest = data.get(3..).unwrap_or_default();
    while rest.len() >= 3 {
        let (step, len) = (rest[0], usize::from(u16::from_be_bytes([rest[1], rest[2]])));
        let body = &rest[3..rest.len().min(3 + len)];
        rest = &rest[(3 + len).min(rest.len())..];
        now += Duration::from_millis(20 * u64::from(step & 0x3f));
        if step & 0x80 != 0 {
            mka.handle_pn_threshold(now);
        }
        for e in [&mut mka, &mut peer] {
            if e.poll_timeout().is_some_and(|t| t <= now) {
                e.handle_timeout(now);
            }
        }
        // The exchange with the peer (lost when bit 0x40 is set).
        let ours = drain(&mut mka, &mut model, &mut last_mn);
        let theirs = drain(&mut peer, &mut peer_model, &mut peer_mn);
        if step & 0x40 == 0 {
            ours.iter().for_each(|f| peer.handle_mkpdu(now, f));
            theirs.iter().for_each(|f| mka.handle_mkpdu(now, f));
            drain(&mut mka, &mut model, &mut last_mn);
        }
        let Ok(mut m) = MkpduRepr::parse(body) else {
            continue;
        };
        let (Some(our_mi), Some(peer_mi)) = (mka.mi(0), peer.mi(0)) else {
            continue;
        };
        aim(&mut m, &ckn, our_mi, peer_mi, last_mn, &kek);
        let Ok(frame) = MkaFrameRepr::new(MacAddr([0, 0x1d, 0xe5, 0, 0, 2]), m).seal(&ick) else {
            continue;
        };
        mka.handle_mkpdu(now, &frame);
        drain(&mut mka, &mut model, &mut last_mn);
        let _ = mka.participants();
    }
});
