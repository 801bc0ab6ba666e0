//! System tests: two appliances (macsec-dataplane + macsecd each, `macsec_tests::appliance`)
//! between two hosts, under traffic and faults. Each test makes and removes its own namespaces
//! (msys-TEST-*), prints what it measured (`measured:` lines) and each check (`ok` / `FAIL`),
//! and fails when any check failed.
//!
//! They need root (network namespaces), tshark, and the release binaries; one at a time:
//!
//! ```text
//! cargo build --release --bins
//! cargo test --release -p macsec-tests --test system -- --ignored --test-threads=1 --nocapture [TEST]
//! ```
//!
//! Tests: must_secure should_secure sak_rekey cak_rollover fallback policy_change
//! macsecd_restart dataplane_restart key_expiry replay delay_protection two_workers metrics.

use macsec_tests::appliance::{
    classify, first_macsec_frame, nap, now, wait_for, xr_time, Checks, Rig, SecurityPolicy, SecyStats, Side,
    Xr, IF,
};
use macsec_tests::sys;
use regex::Regex;
use std::collections::BTreeMap;
use std::time::Instant;

const CKN1: &str = "1234ABCD5678";
const CAK1: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
const CKN2: &str = "5678ABCD1234";
const CAK2: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const CAKX: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
const CKNF: &str = "FA11BACC0001";
const CAKF: &str = "1122334455667788990011223344556677889900112233445566778899001122";
const LT_INF: &str = "05:00:00 01 January 2015 infinite";
const PPS: u32 = 2000;
const LINE: &str = "line.pcap";

use Side::{A, B};

/// Runs one test: its rig (removed when the test ends, passes or not) and its checks.
fn run(name: &str, t: fn(&mut Rig, &mut Checks)) {
    sys::catch_signals();
    // After a SIGINT/SIGTERM the remaining tests end at once instead of building their rigs.
    assert!(!sys::interrupted(), "{name}: not run, the run was interrupted");
    let t0 = Instant::now();
    let mut c = Checks::new(name);
    let mut rig = Rig::new(name);
    t(&mut rig, &mut c);
    println!("  {name}: {:.1} s", t0.elapsed().as_secs_f64());
    c.finish();
}

fn unix_secs() -> i64 {
    now() as i64
}

fn prio(s: Side) -> u8 {
    if s == A {
        16
    } else {
        32
    }
}

/// Starts both dataplanes (configurations already written), then both daemons.
fn up(rig: &mut Rig, policy: SecurityPolicy) {
    for s in [A, B] {
        if let Err(e) = rig.start_dp(s, policy) {
            panic!("{e:#}");
        }
    }
    rig.start_md(A);
    rig.start_md(B);
}

/// A (priority 16, the key server) and B (32) on CKN1 with an infinite lifetime and `opts`,
/// must-secure, both Secured; false (a failed check recorded) otherwise.
fn secured_pair(rig: &mut Rig, c: &mut Checks, opts: fn(Xr) -> Xr) -> bool {
    for s in [A, B] {
        rig.write_xr(s, &opts(Xr::new(prio(s))).key(CKN1, CAK1, LT_INF));
    }
    up(rig, SecurityPolicy::MustSecure);
    if !rig.wait_secured(15) {
        rig.mka_dump(15);
        c.check("MKA secures", false);
        return false;
    }
    c.measure(&format!("time to secure {} s", rig.secure_secs_text()));
    true
}

fn same(x: Xr) -> Xr {
    x
}

/// Prints the stream's numbers and the test's summary row (time to secure, sent, received,
/// lost, leaked: clear frames on the line, "-" when not captured); checks the line capture is
/// complete when there is one.
fn stream_report(rig: &Rig, c: &mut Checks, leaked: &str) {
    let st = rig.stream();
    for l in st.summary().lines() {
        println!("  {l}");
    }
    println!(
        "  row: secure {}s sent {} recv {} lost {} leaked {leaked}",
        rig.secure_secs.map_or("?".into(), |t| format!("{t:.2}")),
        st.send.sent,
        st.recv.received,
        st.lost()
    );
    if rig.path(LINE).exists() {
        let drops = rig.capture_drops(LINE);
        c.check(
            &format!("the line capture is complete (tshark dropped {drops} frames)"),
            drops == 0,
        );
    }
}

/// Stops the stream and the line capture, reports the stream; the clear frames on the line.
fn stream_end(rig: &mut Rig, c: &mut Checks) -> u64 {
    rig.stream_stop();
    rig.capture_stop();
    let leak = classify(&rig.path(LINE), 0.0).clear;
    stream_report(rig, c, &leak.to_string());
    leak
}

/// The side's Tx SAs in the dataplane (AN, KN of the Key Identifier, next PN, in use).
fn tx_sas(rig: &Rig, s: Side) -> String {
    let Some(sa) = rig.ea_idb(s) else {
        return "(no answer)".into();
    };
    let v: Vec<String> = sa
        .tx
        .iter()
        .map(|t| {
            let kn = t.ki.map_or("?".into(), |ki| {
                u32::from_be_bytes([ki[12], ki[13], ki[14], ki[15]]).to_string()
            });
            let use_ = if t.in_use { " (in use)" } else { "" };
            format!("AN {} KN {kn} next PN {}{use_}", t.an, t.next_pn)
        })
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join("; ")
    }
}

/// Named 802.1AE counters of a side's statistics.
fn counters(s: &SecyStats, keys: &[&str]) -> Vec<(&'static str, u64)> {
    s.secy.iter().filter(|(k, _)| keys.contains(k)).collect()
}

/// The side's validation counters of interest.
fn secy_line(rig: &Rig, s: Side) -> String {
    const KEYS: [&str; 9] = [
        "InPktsOK",
        "InPktsLate",
        "InPktsNotValid",
        "InPktsInvalid",
        "InPktsNotUsingSA",
        "InPktsUnusedSA",
        "InPktsNoTag",
        "InPktsUntagged",
        "OutPktsEncrypted",
    ];
    let Some(st) = rig.secy(s) else {
        return String::new();
    };
    let mut v: Vec<(&str, u64)> = counters(&st, &KEYS);
    v.sort_by_key(|(k, _)| KEYS.iter().position(|x| x == k));
    v.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The validation counters that changed between two answers (after - before).
fn secy_delta(before: &SecyStats, after: &SecyStats) -> BTreeMap<&'static str, i64> {
    const KEYS: [&str; 10] = [
        "InPktsLate",
        "InPktsOK",
        "InPktsNotValid",
        "InPktsInvalid",
        "InPktsUnchecked",
        "InPktsDelayed",
        "InPktsNoSCI",
        "InPktsUnknownSCI",
        "InPktsNotUsingSA",
        "InPktsUnusedSA",
    ];
    let b: BTreeMap<_, _> = counters(before, &KEYS).into_iter().collect();
    counters(after, &KEYS)
        .into_iter()
        .map(|(k, a)| (k, a as i64 - b.get(k).copied().unwrap_or(0) as i64))
        .collect()
}

fn delta_text(d: &BTreeMap<&str, i64>) -> String {
    let v: Vec<String> = d.iter().map(|(k, n)| format!("\"{k}\": {n}")).collect();
    format!("{{{}}}", v.join(", "))
}

/// Counts of the matches of `re` in `text`, as `sort | uniq -c` prints them (on one line).
fn tag_counts(text: &str, re: &str) -> String {
    let re = Regex::new(re).expect("regex");
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for x in re.find_iter(text) {
        *m.entry(x.as_str()).or_default() += 1;
    }
    m.iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text from line `from` (0-based) on.
fn lines_from(text: &str, from: usize) -> String {
    text.lines().skip(from).map(|l| format!("{l}\n")).collect()
}

fn status(rig: &Rig, s: Side) -> String {
    rig.session(s).map_or("no session".into(), |r| r.status)
}

fn ckn(rig: &Rig, s: Side) -> String {
    rig.session(s).map_or(String::new(), |r| r.ckn)
}

fn auth_mode(rig: &Rig, s: Side) -> String {
    rig.session(s).map_or(String::new(), |r| r.auth_mode)
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("-".into(), |x| x.to_string())
}

// --- the tests ----------------------------------------------------------------------------------

/// must-secure: no plaintext leaves on the line before MKA secures, nor after macsecd on A is
/// stopped (SIGTERM: it deletes the SAs it installed) while h1 keeps sending.
fn t_must_secure(rig: &mut Rig, c: &mut Checks) {
    for s in [A, B] {
        rig.write_xr(s, &Xr::new(prio(s)).key(CKN1, CAK1, LT_INF));
    }
    for s in [A, B] {
        rig.start_dp(s, SecurityPolicy::MustSecure).expect("dataplane");
    }
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    nap(2.0); // h1 sends, no macsecd yet: A has no Tx SA
    rig.start_md(A);
    rig.start_md(B);
    if !rig.wait_secured(15) {
        rig.mka_dump(15);
        return c.check("MKA secures", false);
    }
    c.measure(&format!("time to secure {} s", rig.secure_secs_text()));
    nap(2.0);
    let stop_at = now();
    rig.stop_md(A, libc::SIGTERM);
    let stopped_at = now();
    let stopped_in = stopped_at - stop_at;
    let limit = stopped_at + 0.2;
    nap(3.0);
    rig.stream_stop();
    rig.capture_stop();
    let cap = classify(&rig.path(LINE), limit);
    let st = rig.stream();
    let (sent, recv, lost, last_rx) = (st.send.sent, st.recv.received, st.lost(), st.recv.last_rx);
    stream_report(rig, c, &cap.clear.to_string());
    c.measure(&format!(
        "line: {} frames, MACsec {}, EAPOL {}, leaked (clear) {} {}",
        cap.total,
        cap.macsec,
        cap.eapol,
        cap.clear,
        cap.types()
    ));
    c.measure(&format!(
        "sent {sent} received {recv} lost {lost} (h1 sends 2 s before MKA and 3 s after macsecd A stops: those must be dropped)"
    ));
    c.measure(&format!(
        "macsecd A exited {stopped_in:.2} s after SIGTERM; MACsec frames on the line from 0.2 s after its exit: {}; last datagram at h2 {} s from its exit",
        cap.macsec_after,
        opt(last_rx.map(|t| format!("{:+.3}", t - stopped_at)))
    ));
    c.check(
        "MKA secured and the stream crossed while secured (received > 0)",
        recv >= 1,
    );
    c.check("zero plaintext frames on the line (leaked = 0)", cap.clear == 0);
    c.check(
        "no MACsec data on the line once macsecd A has deleted its SAs and exited (+0.2 s)",
        cap.macsec_after == 0,
    );
    c.check(
        "h2 receives nothing from 0.2 s after macsecd A exited",
        last_rx.is_some_and(|t| t < limit),
    );
    c.check(
        "frames were dropped, not leaked, while not secured (lost > 0)",
        lost >= 1,
    );
}

/// should-secure: clear traffic passes before MKA secures; once secured only MACsec; nothing lost.
fn t_should_secure(rig: &mut Rig, c: &mut Checks) {
    for s in [A, B] {
        rig.write_xr(
            s,
            &Xr::new(prio(s))
                .policy(SecurityPolicy::ShouldSecure)
                .key(CKN1, CAK1, LT_INF),
        );
    }
    for s in [A, B] {
        rig.start_dp(s, SecurityPolicy::ShouldSecure).expect("dataplane");
    }
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    nap(2.0);
    rig.start_md(A);
    rig.start_md(B);
    if !rig.wait_secured(15) {
        rig.mka_dump(15);
        return c.check("MKA secures", false);
    }
    c.measure(&format!("time to secure {} s", rig.secure_secs_text()));
    nap(2.0);
    rig.stream_stop();
    rig.capture_stop();
    let cap = classify(&rig.path(LINE), rig.secured_at);
    let st = rig.stream();
    stream_report(rig, c, &format!("{}(after)", cap.clear_after));
    c.measure(&format!(
        "line: {} frames, clear {} {}, MACsec {}, EAPOL {}",
        cap.total,
        cap.clear,
        cap.types(),
        cap.macsec,
        cap.eapol
    ));
    c.measure(&format!(
        "after both sides reported Secured: clear {}, MACsec {}; sent {} received {} lost {}",
        cap.clear_after,
        cap.macsec_after,
        st.send.sent,
        st.recv.received,
        st.lost()
    ));
    c.measure(&format!("B: {}", secy_line(rig, B)));
    c.check("clear frames passed before securing", cap.clear >= 1);
    c.check("no clear frame once secured", cap.clear_after == 0);
    c.check("protected frames once secured", cap.macsec_after >= 1);
    c.check("zero lost across the switch to MACsec", st.lost() == 0);
}

/// SAK rekey every 2 s under a continuous stream: >= 20 rekeys, zero lost.
fn t_sak_rekey(rig: &mut Rig, c: &mut Checks) {
    if !secured_pair(rig, c, |x| x.rekey(2)) {
        return;
    }
    let r0 = rig.count_log(A, "SAK_REKEY");
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    let t0 = now();
    let mut r = 0;
    wait_for(70.0, || {
        r = rig.count_log(A, "SAK_REKEY").saturating_sub(r0);
        r >= 21
    });
    nap(1.0);
    let secs = now() - t0;
    let leak = stream_end(rig, c);
    let st = rig.stream();
    c.measure(&format!(
        "SAK rekeys under the stream: {r} in {secs:.2} s (%L2-MKA-6-SAK_REKEY on the key server A); A: SAKs Rekeyed {}",
        opt(rig.mka_stats(A).map(|s| s.sak_rekeyed))
    ));
    let (a, b) = (rig.session(A), rig.session(B));
    c.measure(&format!(
        "latest AN/KN A {}/{}, B {}/{}; B: {}",
        opt(a.as_ref().and_then(|r| r.latest_an)),
        opt(a.as_ref().and_then(|r| r.latest_kn)),
        opt(b.as_ref().and_then(|r| r.latest_an)),
        opt(b.as_ref().and_then(|r| r.latest_kn)),
        secy_line(rig, B)
    ));
    c.check(">= 20 SAK rekeys under traffic", r >= 20);
    c.check("zero frames lost", st.lost() == 0);
    c.check("zero duplicated", st.recv.duplicates == 0);
    c.check("both sides still Secured", rig.both_secured());
    c.check("zero plaintext frames on the line (leaked = 0)", leak == 0);
}

/// CAK rollover by key chain lifetimes that overlap (no reload): K1 until now+16 s, K2 from now+7 s.
fn t_cak_rollover(rig: &mut Rig, c: &mut Checks) {
    let (k1_end, k2_start) = (16, 7);
    let base = unix_secs();
    let lt1 = format!("05:00:00 01 January 2015 {}", xr_time(k1_end));
    let lt2 = format!("{} infinite", xr_time(k2_start));
    for s in [A, B] {
        rig.write_xr(s, &Xr::new(prio(s)).key(CKN1, CAK1, &lt1).key(CKN2, CAK2, &lt2));
    }
    up(rig, SecurityPolicy::MustSecure);
    if !rig.wait_secured(15) {
        rig.mka_dump(15);
        return c.check("MKA secures", false);
    }
    c.measure(&format!(
        "time to secure {} s on CKN {}",
        rig.secure_secs_text(),
        ckn(rig, A)
    ));
    c.check("secured on the first key", ckn(rig, A) == CKN1);
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    let on_ckn2 = |rig: &Rig| ckn(rig, A) == CKN2 && ckn(rig, B) == CKN2 && rig.both_secured();
    let rolled = wait_for((k1_end + 2) as f64, || on_ckn2(rig)).then(now);
    // Run past the end of K1's lifetime too.
    while unix_secs() <= base + k1_end + 2 {
        nap(0.2);
    }
    let leak = stream_end(rig, c);
    let lost = rig.stream().lost();
    c.measure(&format!(
        "both sides on CKN {CKN2} at +{} s (K2 active from +{k2_start} s, K1 ends +{k1_end} s); now A {} {}, B {} {}",
        rolled.map_or("never".into(), |t| format!("{:.1}", t - base as f64)),
        ckn(rig, A),
        status(rig, A),
        ckn(rig, B),
        status(rig, B)
    ));
    c.check("rolled over to the second CAK on both sides", rolled.is_some());
    c.check(
        &format!("still on {CKN2} and Secured after K1 expired"),
        on_ckn2(rig),
    );
    c.check("zero frames lost", lost == 0);
    c.check("zero plaintext frames on the line (leaked = 0)", leak == 0);
}

/// Fallback PSK: B's primary CAK is wrong, the session secures with the fallback PSK
/// (FALLBACK-PSK); B's primary is fixed and macsecd B reloads (SIGHUP): back to the primary, no loss.
fn t_fallback(rig: &mut Rig, c: &mut Checks) {
    rig.write_xr(A, &Xr::new(16).key(CKN1, CAK1, LT_INF).fallback(CKNF, CAKF));
    rig.write_xr(B, &Xr::new(32).key(CKN1, CAKX, LT_INF).fallback(CKNF, CAKF));
    up(rig, SecurityPolicy::MustSecure);
    if !rig.wait_secured(20) {
        rig.mka_dump(15);
        return c.check("MKA secures (fallback)", false);
    }
    c.measure(&format!(
        "time to secure {} s; A: {} CKN {}; B: {} CKN {}",
        rig.secure_secs_text(),
        auth_mode(rig, A),
        ckn(rig, A),
        auth_mode(rig, B),
        ckn(rig, B)
    ));
    for l in rig
        .ctl(A, &["show", "macsec", "mka", "session"])
        .unwrap_or_default()
        .lines()
    {
        println!("    {l}");
    }
    c.check("A reports FALLBACK-PSK", auth_mode(rig, A) == "FALLBACK-PSK");
    c.check("B reports FALLBACK-PSK", auth_mode(rig, B) == "FALLBACK-PSK");
    c.check(
        "the fallback logged %L2-MKA-5-SESSION_SECURED_WITH_FALLBACK_PSK",
        rig.count_log(A, "SESSION_SECURED_WITH_FALLBACK_PSK") >= 1,
    );
    c.measure(&format!(
        "primary ICV failures logged: A {}, B {}",
        rig.count_log(A, "%L2-MKA-3-MKPDU_ICV_FAILURE"),
        rig.count_log(B, "%L2-MKA-3-MKPDU_ICV_FAILURE")
    ));
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    nap(1.0);
    rig.write_xr(B, &Xr::new(32).key(CKN1, CAK1, LT_INF).fallback(CKNF, CAKF));
    let t0 = now();
    rig.hup_md(B);
    let on_primary = |rig: &Rig| {
        auth_mode(rig, A) == "PRIMARY-PSK" && auth_mode(rig, B) == "PRIMARY-PSK" && rig.both_secured()
    };
    let back = wait_for(15.0, || on_primary(rig)).then(now);
    nap(2.0);
    let leak = stream_end(rig, c);
    let lost = rig.stream().lost();
    c.measure(&format!(
        "after fixing B's primary CAK and SIGHUP: A {} CKN {}, B {} CKN {}, back on the primary {}",
        auth_mode(rig, A),
        ckn(rig, A),
        auth_mode(rig, B),
        ckn(rig, B),
        back.map_or("never (15 s)".into(), |t| format!("in {:.2} s", t - t0))
    ));
    c.check("back on the primary PSK on both sides", back.is_some());
    c.check("zero frames lost", lost == 0);
    c.check("zero plaintext frames on the line (leaked = 0)", leak == 0);
}

/// A policy change committed under traffic (window-size 64 -> 128), first on A (the key server),
/// then on B: each restarts its MKA session with the new policy while the SAs in use carry the
/// traffic (A distributes a new SAK and its old SAs go 6 s after; B adopts the SAK A still
/// distributes). Nothing is lost, nothing leaks.
fn t_policy_change(rig: &mut Rig, c: &mut Checks) {
    if !secured_pair(rig, c, same) {
        return;
    }
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    nap(1.0);
    for s in [A, B] {
        let n = s.name();
        rig.write_xr(s, &Xr::new(prio(s)).key(CKN1, CAK1, LT_INF).window(128));
        let n0 = rig.count_log(s, "SESSION_SECURED");
        let t0 = now();
        let (_, out) = rig.commit(s);
        c.measure(&format!("{n}: macsecctl commit: {}", out.replace('\n', " ")));
        c.check(
            &format!("{n}: the commit restarts the session with the new policy"),
            out.contains(&format!("policy of {IF} changed")),
        );
        let back = wait_for(10.0, || {
            rig.count_log(s, "SESSION_SECURED") > n0 && rig.both_secured()
        })
        .then(now);
        let window = rig.ea_idb(s).and_then(|sa| sa.policy).map(|p| p.replay_window);
        c.measure(&format!(
            "{n}: the new session Secured {}; dataplane: Replay window size : {}",
            back.map_or("never (10 s)".into(), |t| format!(
                "{:.2} s after the commit",
                t - t0
            )),
            opt(window)
        ));
        c.check(
            &format!("{n}: a new session secured on both sides"),
            back.is_some(),
        );
        c.check(
            &format!("{n}: the dataplane has the new replay window"),
            window == Some(128),
        );
        nap(8.0); // past the 6 s in which the previous session's SAs are kept
    }
    let leak = stream_end(rig, c);
    let lost = rig.stream().lost();
    c.measure(&format!(
        "A: {} retirements of the previous session's SAs, B: {} SAs adopted",
        rig.count_log(A, "SAs of the previous session deleted"),
        rig.count_log(B, "already holds SAK")
    ));
    c.check("both Secured at the end", rig.both_secured());
    c.check("zero frames lost", lost == 0);
    c.check("zero plaintext frames on the line (leaked = 0)", leak == 0);
}

/// macsecd on A (the key server) is SIGKILLed under traffic and restarted 3 s later: the
/// dataplane keeps forwarding on the installed SAs, the session resumes, nothing is lost.
fn t_macsecd_restart(rig: &mut Rig, c: &mut Checks) {
    if !secured_pair(rig, c, same) {
        return;
    }
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    nap(1.0);
    let tx_before = tx_sas(rig, A);
    let (kill_at, b_lines) = (now(), rig.log(B).lines().count());
    rig.stop_md(A, libc::SIGKILL);
    nap(1.5);
    let b_during = status(rig, B);
    nap(1.5);
    rig.start_md(A);
    let resumed = wait_for(15.0, || rig.secured(A)).then(now);
    nap(3.0);
    let leak = stream_end(rig, c);
    let st = rig.stream();
    let gap = st.recv.max_gap_ms;
    c.measure(&format!(
        "macsecd A killed (SIGKILL) at 0 s, restarted at +3.0 s; B during the outage: {b_during}; A Secured again at {} s",
        resumed.map_or("never".into(), |t| format!("+{:.2}", t - kill_at))
    ));
    let b = rig.session(B);
    c.measure(&format!(
        "B after: {}, peers {}; B logged since the kill: {}",
        status(rig, B),
        opt(b.map(|r| r.peers)),
        tag_counts(&lines_from(&rig.log(B), b_lines), r"%L2-MKA-[0-9]-[A-Z_]+")
    ));
    c.measure(&format!(
        "A's Tx SAs before the kill: {tx_before}; at the end: {}",
        tx_sas(rig, A)
    ));
    c.measure(&format!("B: {}", secy_line(rig, B)));
    c.check(
        "traffic kept flowing (longest silence at h2 < 250 ms)",
        gap < 250.0,
    );
    c.check("zero frames lost", st.lost() == 0);
    c.check("the session resumed on A", resumed.is_some());
    c.check("B Secured after the restart", rig.secured(B));
    c.check("zero plaintext frames on the line (leaked = 0)", leak == 0);
}

/// The dataplane of A is stopped under traffic and started again 1 s later: its macsecd
/// reconnects and the session restarts with fresh SAKs; traffic flows again, nothing leaks
/// meanwhile.
fn t_dataplane_restart(rig: &mut Rig, c: &mut Checks) {
    if !secured_pair(rig, c, same) {
        return;
    }
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    nap(1.0);
    let (stop_at, a_lines) = (now(), rig.log(A).lines().count());
    rig.stop_dp(A);
    nap(1.0);
    if let Err(e) = rig.start_dp(A, SecurityPolicy::MustSecure) {
        println!("  {e:#}");
        return c.check("dataplane A restarts", false);
    }
    let resumed = wait_for(15.0, || rig.both_secured()).then(now);
    nap(3.0);
    let leak = stream_end(rig, c);
    let st = rig.stream();
    let (gap, last) = (st.recv.max_gap_ms, st.recv.last_rx);
    let after = match (resumed, last) {
        (Some(r), Some(l)) => l - r,
        _ => -1.0,
    };
    c.measure(&format!(
        "dataplane A stopped at 0 s, started again at +1 s; both sides Secured again at {} s; longest silence at h2 {gap} ms; frames reached h2 until {after:.2} s after that",
        resumed.map_or("never".into(), |t| format!("{:.2}", t - stop_at))
    ));
    let since = lines_from(&rig.log(A), a_lines);
    c.measure(&format!(
        "A logged since the stop: {}",
        tag_counts(
            &since,
            r"DATAPLANE_LOST|is back; MKA sessions restart|%L2-MKA-[0-9]-[A-Z_]+"
        )
    ));
    c.check(
        "macsecd A reconnected and both sides are Secured again",
        resumed.is_some(),
    );
    c.check(
        "macsecd A logged the loss and the reconnection",
        since.contains("is back; MKA sessions restart"),
    );
    c.check(
        "traffic flows again after the restart (h2 receives until the stream stops, >= 2.5 s later)",
        after >= 2.5,
    );
    c.check("zero plaintext frames on the line (leaked = 0)", leak == 0);
}

/// Key expiry without fallback: the only key ends 8 s after start; the session goes down and,
/// under must-secure, traffic stops without a plaintext frame on the line.
fn t_key_expiry(rig: &mut Rig, c: &mut Checks) {
    let end_in = 8;
    let base = unix_secs();
    let lt = format!("05:00:00 01 January 2015 {}", xr_time(end_in));
    let end = base + end_in;
    for s in [A, B] {
        rig.write_xr(s, &Xr::new(prio(s)).key(CKN1, CAK1, &lt));
    }
    for s in [A, B] {
        rig.start_dp(s, SecurityPolicy::MustSecure).expect("dataplane");
    }
    rig.capture_start(LINE, B);
    rig.start_md(A);
    rig.start_md(B);
    if !rig.wait_secured(15) {
        rig.mka_dump(15);
        return c.check("MKA secures", false);
    }
    c.measure(&format!(
        "time to secure {} s; key ends at +{end_in} s",
        rig.secure_secs_text()
    ));
    rig.stream_start(PPS);
    while unix_secs() < end + 4 {
        nap(0.2);
    }
    let (st_a, st_b) = (status(rig, A), status(rig, B));
    rig.stream_stop();
    rig.capture_stop();
    let cap = classify(&rig.path(LINE), (end + 2) as f64);
    let st = rig.stream();
    let (recv, last_rx) = (st.recv.received, st.recv.last_rx);
    stream_report(rig, c, &cap.clear.to_string());
    c.measure(&format!(
        "4 s after the key ended: A {st_a}, B {st_b}; last datagram at h2 {} s from the key's end",
        opt(last_rx.map(|t| format!("{:+.2}", t - end as f64)))
    ));
    c.measure(&format!(
        "line: {} frames, MACsec {} ({} from 2 s after the end), EAPOL {}, leaked (clear) {} {}",
        cap.total,
        cap.macsec,
        cap.macsec_after,
        cap.eapol,
        cap.clear,
        cap.types()
    ));
    let re = Regex::new(r"%L2-MKA-[0-9]-(SESSION_STOPPED|KEY)[^=\n]*CKN:[0-9A-F]+").expect("regex");
    let log = rig.log(A);
    let tags: Vec<&str> = re.find_iter(&log).map(|m| m.as_str()).collect();
    c.measure(&format!(
        "MKA log A: {}",
        tags[tags.len().saturating_sub(2)..].join(" ")
    ));
    c.check("traffic crossed while the key was valid", recv >= 1);
    c.check("the session is down on A", status(rig, A) != "Secured");
    c.check("the session is down on B", status(rig, B) != "Secured");
    c.check(
        "traffic stopped within 2 s of the key's end",
        last_rx.is_some_and(|t| t < (end + 2) as f64),
    );
    c.check("zero plaintext frames on the line", cap.clear == 0);
    c.check(
        "no MACsec data on the line 2 s after the end (SAs deleted)",
        cap.macsec_after == 0,
    );
}

/// Replay: one MACsec frame captured on the line is re-injected (raw socket on A's line veth)
/// after more than window-size (64) newer frames: B drops it and InPktsLate goes up by exactly 1.
fn t_replay(rig: &mut Rig, c: &mut Checks) {
    if !secured_pair(rig, c, same) {
        return;
    }
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    nap(1.0);
    rig.stream_stop_send();
    nap(0.5);
    rig.capture_stop();
    let before = rig.secy(B).expect("B's counters");
    let Some((frame, pn)) = first_macsec_frame(&rig.path(LINE)) else {
        return c.check("a MACsec frame captured", false);
    };
    c.measure(&format!("captured MACsec frame PN {pn}"));
    rig.inject_on_a_line(&frame).expect("inject");
    nap(1.0);
    let after = rig.secy(B).expect("B's counters");
    rig.stream_stop_recv();
    let d = secy_delta(&before, &after);
    let dups = rig.stream().recv.duplicates;
    let leaked = classify(&rig.path(LINE), 0.0).clear;
    stream_report(rig, c, &leaked.to_string());
    c.measure(&format!(
        "B's counters over the re-injection (deltas): {}; duplicates at h2: {dups}",
        delta_text(&d)
    ));
    c.check(
        "InPktsLate on B went up by exactly 1",
        d.get("InPktsLate") == Some(&1),
    );
    c.check("InPktsOK on B did not change", d.get("InPktsOK") == Some(&0));
    c.check("the replayed frame did not reach h2", dups == 0);
}

/// Delay protection (the guide's delay-protection, 802.1X-2020 9.10): with a replay window wide
/// enough to accept it (window-size 1024, 100 frames a second), a frame held back for 4 s is still
/// dropped, because A reports the PN it sent two seconds ago as its Lowest Acceptable PN (read
/// from its dataplane every Hello) and B raises its Rx SA's lowest PN to it.
fn t_delay_protection(rig: &mut Rig, c: &mut Checks) {
    if !secured_pair(rig, c, |x| x.window(1024).delay_protection()) {
        return;
    }
    rig.capture_start(LINE, B);
    rig.stream_start(100);
    nap(1.0);
    rig.capture_stop();
    let Some((frame, pn)) = first_macsec_frame(&rig.path(LINE)) else {
        return c.check("a MACsec frame captured", false);
    };
    nap(4.0);
    let before = rig.secy(B).expect("B's counters");
    // B's Rx SA in use for A's traffic: the one with the highest next PN.
    let (next, lowest) = rig
        .ea_idb(B)
        .and_then(|sa| {
            sa.rx
                .iter()
                .max_by_key(|r| r.next_pn)
                .map(|r| (r.next_pn, r.lowest_pn))
        })
        .unwrap_or((0, 0));
    rig.inject_on_a_line(&frame).expect("inject");
    nap(1.0);
    let after = rig.secy(B).expect("B's counters");
    rig.stream_stop();
    let d = secy_delta(&before, &after);
    let st = rig.stream();
    let dups = st.recv.duplicates;
    stream_report(rig, c, "-");
    let (next, lowest, pn) = (next as i64, lowest as i64, pn as i64);
    c.measure(&format!(
        "held frame PN {pn}; B's Rx SA before the re-injection: next PN {next}, lowest PN {lowest} (window 1024 alone would accept down to {}); deltas {}; duplicates at h2 {dups}",
        next - 1024,
        delta_text(&d)
    ));
    c.check(
        "A's frame is within the replay window (next PN - PN < 1024)",
        next - pn < 1024,
    );
    c.check(
        "B's lowest acceptable PN moved above the held frame's PN",
        pn < lowest,
    );
    c.check(
        "B's lowest PN trails by at most 3.3 s of traffic (2 s + two bounded hellos)",
        next - lowest < 330,
    );
    c.check(
        "InPktsLate on B went up by exactly 1",
        d.get("InPktsLate") == Some(&1),
    );
    c.check("the held frame did not reach h2", dups == 0);
    c.check("no frame of the stream lost", st.lost() == 0);
}

/// Two workers on each appliance's link (issue 16), under SAK rekeys every 2 s: the stream
/// arrives complete, without a duplicate and in order, nothing in the clear on the line.
fn t_two_workers(rig: &mut Rig, c: &mut Checks) {
    rig.workers = 2;
    if !secured_pair(rig, c, |x| x.rekey(2)) {
        return;
    }
    let workers: Vec<String> = [A, B]
        .iter()
        .map(|&s| {
            let l = rig.dp_log(s);
            l.lines()
                .find(|l| l.contains("worker(s) on lcore(s)"))
                .unwrap_or("")
                .to_string()
        })
        .collect();
    c.measure(&format!("dataplanes: {}", workers.join(" | ")));
    c.check(
        "both dataplanes run the link on 2 workers",
        workers.iter().all(|l| l.contains("2 worker(s)")),
    );
    let r0 = rig.count_log(A, "SAK_REKEY");
    rig.capture_start(LINE, B);
    rig.stream_start(PPS);
    let t0 = now();
    let mut r = 0;
    wait_for(30.0, || {
        r = rig.count_log(A, "SAK_REKEY").saturating_sub(r0);
        r >= 6
    });
    nap(1.0);
    let secs = now() - t0;
    let leak = stream_end(rig, c);
    let st = rig.stream();
    c.measure(&format!(
        "SAK rekeys under the stream: {r} in {secs:.2} s; B: {}",
        secy_line(rig, B)
    ));
    c.check(">= 5 SAK rekeys under traffic", r >= 5);
    c.check("zero frames lost", st.lost() == 0);
    c.check("zero duplicated", st.recv.duplicates == 0);
    c.check("zero out of order", st.recv.out_of_order == 0);
    c.check("both sides still Secured", rig.both_secured());
    c.check("zero plaintext frames on the line (leaked = 0)", leak == 0);
}

/// The samples of a Prometheus text exposition: `name{labels}` → value (comments skipped).
fn samples(text: &str) -> BTreeMap<String, u128> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// macsecd's metrics endpoint (`--metrics`) on a running pair: every 802.1AE counter, the SAs'
/// PNs and the session as `show` gives them, read before and after the scrape (equal when the
/// link is idle, and the scrape between them).
fn t_metrics(rig: &mut Rig, c: &mut Checks) {
    const ADDR: &str = "127.0.0.1:9977";
    for s in [A, B] {
        rig.write_xr(s, &Xr::new(prio(s)).key(CKN1, CAK1, LT_INF));
        if let Err(e) = rig.start_dp(s, SecurityPolicy::MustSecure) {
            panic!("{e:#}");
        }
    }
    rig.start_md_args(A, &["--metrics".as_ref(), ADDR.as_ref()]);
    rig.start_md(B);
    if !rig.wait_secured(15) {
        rig.mka_dump(15);
        c.check("MKA secures", false);
        return;
    }
    rig.stream_start(PPS);
    nap(2.0);
    rig.stream_stop();
    let url = format!("http://{ADDR}/metrics");
    let before = (rig.secy(A), rig.ea_idb(A), rig.session(A));
    let text = rig.http_get(A, &url, &[]);
    let after = (rig.secy(A), rig.ea_idb(A), rig.session(A));
    let (Ok(text), (Some(s0), Some(sa0), Some(r0)), (Some(s1), Some(sa1), Some(r1))) = (text, before, after)
    else {
        c.check("scrape and show answer", false);
        return;
    };
    let m = samples(&text);
    println!("  measured: {} samples in {} octets", m.len(), text.len());
    let i = format!("interface=\"{IF}\"");
    let get = |k: &str| m.get(k).copied();
    let between = |k: &str, a: u64, b: u64| get(k).is_some_and(|v| u128::from(a) <= v && v <= u128::from(b));
    let mut bad = Vec::new();
    for ((name, a), (_, b)) in s0.secy.iter().zip(s1.secy.iter()) {
        let k = format!("macsec_secy_{}_total{{{i}}}", control::metrics::snake(name));
        if !between(&k, a, b) {
            bad.push(format!("{k} = {:?}, show {a}..{b}", get(&k)));
        }
    }
    c.check(
        &format!("the 22 SecY counters as show gives them ({})", bad.join("; ")),
        bad.is_empty(),
    );
    // The stream runs h1 -> h2: A protects it.
    let enc = s0.secy.out_pkts_encrypted;
    c.check(
        &format!("OutPktsEncrypted counted the stream ({enc})"),
        enc >= u64::from(PPS),
    );
    let mut bad = Vec::new();
    for (t0, t1) in sa0.tx.iter().zip(sa1.tx.iter()) {
        let k = format!("macsec_tx_sa_next_pn{{{i},an=\"{}\"}}", t0.an);
        if !between(&k, t0.next_pn, t1.next_pn) {
            bad.push(format!(
                "{k} = {:?}, show {}..{}",
                get(&k),
                t0.next_pn,
                t1.next_pn
            ));
        }
        let k = format!("macsec_tx_sa_pn_remaining{{{i},an=\"{}\"}}", t0.an);
        // XPN-256 (the rig's suite): 2^64 PNs.
        let rem = |pn: u64| (1u128 << 64) - u128::from(pn);
        if !get(&k).is_some_and(|v| rem(t1.next_pn) <= v && v <= rem(t0.next_pn)) {
            bad.push(format!("{k} = {:?}", get(&k)));
        }
    }
    c.check(
        &format!(
            "the Tx SAs' PNs as show gives them ({} SAs; {})",
            sa0.tx.len(),
            bad.join("; ")
        ),
        bad.is_empty() && !sa0.tx.is_empty(),
    );
    // The rows before and after the scrape agree, but for their detail blocks: those carry the
    // message numbers and countdowns (time to the next rekey, the last MKPDU's age), which move
    // every MKPDU and every second and are not in the exposition.
    let summary = |r: &control::show::SessionRow| control::show::SessionRow {
        detail: Vec::new(),
        ..r.clone()
    };
    let stable = summary(&r0) == summary(&r1);
    let session_ok = stable
        && get(&format!("macsec_mka_session_secured{{{i}}}")) == Some(1)
        && get(&format!("macsec_mka_key_server{{{i}}}")) == Some(u128::from(r0.key_server))
        && get(&format!("macsec_mka_live_peers{{{i}}}")) == Some(r0.live_peers.len() as u128)
        && get(&format!("macsec_mka_latest_key_number{{{i}}}")) == r0.latest_kn.map(u128::from)
        && get(&format!("macsec_dataplane_up{{{i}}}")) == Some(1)
        && m.keys()
            .any(|k| k.starts_with("macsec_mka_session_info{") && k.contains("status=\"Secured\""));
    c.check(
        &format!(
            "the session as show gives it (Secured, key server, live peers, latest KN; {})",
            if stable {
                "show unchanged across the scrape".to_string()
            } else {
                format!("show before {:?}, after {:?}", summary(&r0), summary(&r1))
            }
        ),
        session_ok,
    );
    let age = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("macsec_mka_session_age_seconds{{{i}}} ")))
        .and_then(|v| v.parse::<f64>().ok());
    c.check(
        &format!("the session's age since secured ({age:?} s)"),
        age.is_some_and(|a| a > 1.0 && a < 60.0),
    );
    let tx = get(&format!("macsec_mka_mkpdus_tx_total{{{i}}}"));
    c.check(
        &format!("MKA counters ({tx:?} MKPDUs sent)"),
        tx.is_some_and(|n| n > 0),
    );
    let om = rig.http_get(A, &url, &["Accept: application/openmetrics-text; version=1.0.0"]);
    c.check(
        "OpenMetrics when asked (ends with # EOF)",
        om.is_ok_and(|t| t.ends_with("# EOF\n")),
    );
    // The openconfig-shaped tree (macsecctl show ... --json --openconfig) agrees too.
    let oc: Option<serde_json::Value> = rig
        .ctl(A, &["show", "macsec", "mka", "session", "--json", "--openconfig"])
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let f = oc
        .as_ref()
        .map(|t| t["openconfig-macsec:macsec"]["interfaces"]["interface"][0].clone());
    let n = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
    let oc_ok = f.as_ref().is_some_and(|f| {
        f["name"] == IF
            && f["state"]["status"] == "ACTIVE"
            && n(&f["scsa-tx"]["scsa-tx"][0]["state"]["counters"]["sc-encrypted"])
                .is_some_and(|v| s0.secy.out_pkts_encrypted <= v && v <= s1.secy.out_pkts_encrypted)
            && n(&f["state"]["counters"]["rx-late-pkts"])
                .is_some_and(|v| s0.secy.in_pkts_late <= v && v <= s1.secy.in_pkts_late)
            && f["mka"]["state"]["key-chain"] == "KC1"
    });
    c.check(
        "the openconfig tree as show gives it (status, sc-encrypted, rx-late-pkts, key-chain)",
        oc_ok,
    );
    if !oc_ok {
        println!("  openconfig: {f:?}");
    }
    c.check(
        "no key material in the exposition",
        !text.contains(CAK1) && !text.to_ascii_lowercase().contains(&CAK1[..16]),
    );
}

macro_rules! system_tests {
    ($($name:ident => $f:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = "root: network namespaces; run by scripts/test.sh"]
            fn $name() {
                run(stringify!($name), $f);
            }
        )*
    };
}

system_tests! {
    must_secure => t_must_secure,
    should_secure => t_should_secure,
    sak_rekey => t_sak_rekey,
    cak_rollover => t_cak_rollover,
    fallback => t_fallback,
    policy_change => t_policy_change,
    macsecd_restart => t_macsecd_restart,
    dataplane_restart => t_dataplane_restart,
    key_expiry => t_key_expiry,
    replay => t_replay,
    delay_protection => t_delay_protection,
    two_workers => t_two_workers,
    metrics => t_metrics,
}
