//! The PN-exhaustion system test (issue 15): two appliances (`macsec_tests::appliance`) whose
//! macsecds start every SA 20000 PNs before the suite's PN-exhaustion threshold (0xC0000000;
//! XPN 0xC000000000000000) through macsecd's hidden test-only `--test-initial-pn`, under a
//! 5 kpps UDP stream h1 -> h2 (A transmits) and 1 kpps h2 -> h1: A's Tx SA crosses the
//! threshold every 4 s. With A as key server its dataplane's threshold event drives the rekey,
//! with B as key server A's SAK Use (its Lowest PN) does; both for GCM-AES-128 and
//! GCM-AES-XPN-256. Checks: rekeys for PN exhaustion, each within 6 s (three hellos) of the
//! crossing (no SA carries more than 6 s of frames past the threshold), zero
//! frames lost either way, both still Secured.
//!
//! (Starting each SA past the threshold, e.g. at 2^32 - 150000, makes every new SAK due for a
//! rekey at once: the key server rekeys about every 5 ms and frames are lost in the churn.)
//!
//! ```text
//! cargo build --release --bins
//! cargo test --release -p macsec-tests --test system_pn -- --ignored --test-threads=1 --nocapture
//! ```

use macsec_tests::appliance::{nap, Checks, RevStream, Rig, SecurityPolicy, Side, Xr};
use macsec_tests::sys;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::time::Instant;

use Side::{A, B};

const CKN1: &str = "1234ABCD5678";
const CAK1: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
const LT_INF: &str = "05:00:00 01 January 2015 infinite";
/// The stream h1 -> h2 (A's Tx SA) and h2 -> h1.
const PPS: u32 = 5_000;
const PPS_REV: u32 = 1_000;
/// PNs before the threshold at the start of each SA.
const HEADROOM: u64 = 20_000;
/// A rekey is due within this many seconds of traffic past the threshold.
const REKEY_SECS: u64 = 6;
const STREAM_SECS: f64 = 10.0;
const CAP_A: &str = "line-from-a.pcap";
const CAP_B: &str = "line-from-b.pcap";

/// Per (SCI, AN): the highest 32-bit PN on the line (the low half with XPN), and the frames.
fn max_pns(pcap: &std::path::Path) -> BTreeMap<(String, u8), (u32, u64)> {
    let mut m: BTreeMap<(String, u8), (u32, u64)> = BTreeMap::new();
    for d in macsec_tests::read_pcap(pcap) {
        if d.len() < 28 || d[12..14] != [0x88, 0xe5] {
            continue;
        }
        let tci = d[14];
        let sci = if tci & 0x20 != 0 {
            hex::encode(&d[20..28])
        } else {
            hex::encode(&d[6..12])
        };
        let pn = u32::from_be_bytes([d[16], d[17], d[18], d[19]]);
        let e = m.entry((sci, tci & 3)).or_default();
        e.0 = e.0.max(pn);
        e.1 += 1;
    }
    m
}

fn t_pn(rig: &mut Rig, c: &mut Checks, suite: &str, ks: Side) {
    let threshold: u64 = if suite.contains("XPN") {
        0xC000_0000_0000_0000
    } else {
        0xC000_0000
    };
    let initial = threshold - HEADROOM;
    let member = if ks == A { B } else { A };
    rig.cipher_suite = suite.into();
    rig.write_xr(ks, &Xr::new(16).cipher_suite(suite).key(CKN1, CAK1, LT_INF));
    rig.write_xr(member, &Xr::new(32).cipher_suite(suite).key(CKN1, CAK1, LT_INF));
    for s in [A, B] {
        if let Err(e) = rig.start_dp(s, SecurityPolicy::MustSecure) {
            panic!("{e:#}");
        }
    }
    let n = initial.to_string();
    for s in [A, B] {
        rig.start_md_args(s, &[OsStr::new("--test-initial-pn"), OsStr::new(&n)]);
    }
    if !rig.wait_secured(15) {
        rig.mka_dump(20);
        return c.check("MKA secures", false);
    }
    c.measure(&format!(
        "{suite}, key server {}: every SA starts at PN {initial} ({HEADROOM} before the threshold); secured in {} s",
        ks.name().to_uppercase(),
        rig.secure_secs_text()
    ));
    let rekeys0 = rig.mka_stats(ks).map_or(0, |s| s.pn_exhaustion_rekeys);
    rig.capture_start(CAP_A, B);
    rig.capture_start(CAP_B, A);
    rig.stream_start(PPS);
    let mut rev = RevStream::start(rig, PPS_REV, &[]);
    nap(STREAM_SECS);
    rig.stream_stop();
    let rst = rev.stop(rig);
    rig.capture_stop();
    let fwd = rig.stream();
    let rekeys = rig.mka_stats(ks).map_or(0, |s| s.pn_exhaustion_rekeys) - rekeys0;
    let sak_rekeys = rig.count_log(ks, "SAK_REKEY");
    // Every frame takes the SA's next PN, so an SA's last PN is its first plus its frames
    // (the capture is complete); XPN's low half wraps past 2^32 here, so count, not read.
    let limit = HEADROOM + u64::from(PPS) * REKEY_SECS;
    let mut late = Vec::new();
    let mut sas = 0;
    for (cap, who) in [(CAP_A, "A"), (CAP_B, "B")] {
        let m = max_pns(&rig.path(cap));
        if who == "A" {
            sas = m.len();
        }
        let v: Vec<String> = m
            .iter()
            .map(|((_, an), (pn, n))| format!("AN {an}: {n} frames, highest 32-bit PN {pn}"))
            .collect();
        c.measure(&format!("from {who}: {}", v.join("; ")));
        for ((_, an), (_, n)) in &m {
            if *n > limit {
                late.push(format!(
                    "{who} AN {an}: {} frames past the threshold",
                    n - HEADROOM
                ));
            }
        }
        let drops = rig.capture_drops(cap);
        c.check(
            &format!("the capture of {who}'s output is complete (tshark dropped {drops})"),
            drops == 0,
        );
    }
    let exhausted: Vec<u64> = [A, B]
        .iter()
        .map(|&s| rig.secy(s).map_or(u64::MAX, |x| x.link.tx_drop_other))
        .collect();
    c.measure(&format!(
        "h1->h2 sent {} received {}; h2->h1 sent {} received {}; PN-exhaustion rekeys on the key server {rekeys}, SAK_REKEY lines {sak_rekeys}; Tx drops (PN exhausted and other) A {} B {}",
        fwd.send.sent, fwd.recv.received, rst.send.sent, rst.recv.received, exhausted[0], exhausted[1]
    ));
    for s in [A, B] {
        if let Some(st) = rig.secy(s) {
            let nz: Vec<String> = st
                .secy
                .iter()
                .filter(|(k, n)| *n != 0 && k.starts_with("InPkts"))
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            c.measure(&format!("{}: {}; {:?}", s.name(), nz.join(", "), st.link));
        }
    }
    c.check(
        &format!("the key server rekeyed for PN exhaustion 1 to 3 times in {STREAM_SECS} s ({rekeys})"),
        (1..=3).contains(&rekeys),
    );
    c.check(
        &format!("every SA carried at most {REKEY_SECS} s of traffic past the threshold ({late:?})"),
        late.is_empty(),
    );
    c.check(
        &format!("A's stream went through 2 or more SAs ({sas})"),
        sas >= 2,
    );
    c.check("no Tx drop on either side", exhausted == [0, 0]);
    for (dir, s) in [("h1->h2", &fwd), ("h2->h1", &rst)] {
        c.check(
            &format!(
                "zero frames lost {dir} ({}; of them dropped by the receiver's full socket buffer: {})",
                s.lost(),
                s.recv.rcvbuf_errors
            ),
            s.lost() == 0,
        );
    }
    c.check("both sides still Secured", rig.both_secured());
}

fn run(name: &str, suite: &str, ks: Side) {
    sys::catch_signals();
    assert!(!sys::interrupted(), "{name}: not run, the run was interrupted");
    let t0 = Instant::now();
    let mut c = Checks::new(name);
    let mut rig = Rig::new(name);
    t_pn(&mut rig, &mut c, suite, ks);
    println!("  {name}: {:.1} s", t0.elapsed().as_secs_f64());
    c.finish();
}

#[test]
#[ignore = "root: network namespaces; run by scripts/test.sh"]
fn pn_gcm_aes_128_a_serves() {
    run("pn_gcm_aes_128_a_serves", "GCM-AES-128", A);
}

#[test]
#[ignore = "root: network namespaces; run by scripts/test.sh"]
fn pn_gcm_aes_128_b_serves() {
    run("pn_gcm_aes_128_b_serves", "GCM-AES-128", B);
}

#[test]
#[ignore = "root: network namespaces; run by scripts/test.sh"]
fn pn_xpn_256_a_serves() {
    run("pn_xpn_256_a_serves", "GCM-AES-XPN-256", A);
}

#[test]
#[ignore = "root: network namespaces; run by scripts/test.sh"]
fn pn_xpn_256_b_serves() {
    run("pn_xpn_256_b_serves", "GCM-AES-XPN-256", B);
}
