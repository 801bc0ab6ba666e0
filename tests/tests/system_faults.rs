//! The fault-injection system test (issue 15): two appliances (`macsec_tests::appliance`),
//! must-secure, a SAK rekey every 3 s, a paced sequence-numbered UDP stream both ways, and 20
//! faults in a seeded random order (`FAULT_SEED`, default 15): SIGKILL and restart of A's
//! dataplane, of A's macsecd and of B's macsecd; a +-1 h step of B's macsecd's wall clock
//! (libfaketime with a control file, `FAKETIME_NO_CACHE=1`, the monotonic clock not faked; never
//! the machine's clock); an EAPOL flood at 150 kpps (`FLOOD_PPS`), of A's own MKPDUs (the
//! right CKN) with forged MIs, SCIs and source MACs and bad ICVs, into B. Both directions of the
//! line are captured (EAPOL filtered out, so the flood does not swamp the capture). Checks: no
//! plaintext frame on the line, no PN used twice with one SAK, no panic or crash in any
//! process, every restart re-secured within 3 s, frames lost only while a process is down.
//! Prints the table: fault, count, time to re-secure p50/max, frames lost, plaintext seen.
//!
//! Root, tshark, libfaketime (Debian's `faketime`) and the release binaries:
//!
//! ```text
//! cargo build --release --bins
//! cargo test --release -p macsec-tests --test system_faults -- --ignored --test-threads=1 --nocapture
//! ```

use macsec_tests::appliance::{
    classify, nap, now, xr_time, Checks, RevStream, Rig, SecurityPolicy, Side, Xr,
};
use macsec_tests::sys;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use Side::{A, B};

const CKN1: &str = "1234ABCD5678";
const CAK1: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
/// Packets per second of each direction's stream.
const PPS: u32 = 4000;
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
/// A's output (captured on b-line) and B's output (captured on a-line), EAPOL filtered out.
const CAP_A: &str = "line-from-a.pcap";
const CAP_B: &str = "line-from-b.pcap";
const NOT_EAPOL: &str = "not ether proto 0x888e";
/// Every restart must be secured again within this (s).
const RESECURE_LIMIT: f64 = 3.0;
/// How long a killed process stays down (s).
const DOWN_SECS: f64 = 1.0;
/// The EAPOL flood's rate (frames/s; `FLOOD_PPS` overrides, 0: as fast as the socket takes
/// them, about 265 kpps here). The line is a veth read by `net_af_packet`, which loses frames
/// in the kernel above about 200 kpps on this kind of machine, so the flood runs below that: loss
/// of the stream during the flood is then the appliance's, not the veth's.
const FLOOD_PPS: u32 = 150_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    KillDataplaneA,
    KillMacsecdA,
    KillMacsecdB,
    ClockStepB,
    EapolFlood,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::KillDataplaneA => "SIGKILL dataplane A",
            Fault::KillMacsecdA => "SIGKILL macsecd A",
            Fault::KillMacsecdB => "SIGKILL macsecd B",
            Fault::ClockStepB => "wall clock B +-1 h",
            Fault::EapolFlood => "EAPOL flood into B",
        }
    }
    /// A process is down during the fault (frames may be lost then).
    fn downs_a_process(self) -> bool {
        matches!(
            self,
            Fault::KillDataplaneA | Fault::KillMacsecdA | Fault::KillMacsecdB
        )
    }
}

/// One fault as it happened: when it began, when it ended (the process restarted, the clock
/// stepped, the flood stopped), when both sides were secured again (None: not within 10 s).
struct Event {
    fault: Fault,
    began: f64,
    ended: f64,
    secured: Option<f64>,
}

/// xorshift64*: the fault order, replayable from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Both sessions Secured and both dataplanes hold an in-use Tx SA.
fn secured_now(rig: &Rig) -> bool {
    rig.both_secured()
        && [A, B]
            .iter()
            .all(|&s| rig.ea_idb(s).is_some_and(|sa| sa.tx.iter().any(|t| t.in_use)))
}

/// Polls [`secured_now`] for up to `secs`: when it first held.
fn wait_secured_at(rig: &Rig, secs: f64) -> Option<f64> {
    let end = now() + secs;
    while now() < end {
        if secured_now(rig) {
            return Some(now());
        }
        nap(0.05);
    }
    None
}

/// A's MKPDUs on the line (a short capture of b-line): the flood's templates.
fn a_mkpdus(rig: &mut Rig) -> Vec<Vec<u8>> {
    rig.capture_start("mkpdu.pcap", B);
    nap(2.5);
    rig.capture_stop();
    macsec_tests::read_pcap(&rig.path("mkpdu.pcap"))
        .into_iter()
        .filter(|f| f.len() > 60 && f[12..14] == [0x88, 0x8e] && f[15] == 5)
        .collect()
}

/// `n` forgeries of MKPDU `t`: a random locally administered source MAC (and SCI with it), a
/// random Actor MI, a random ICV; the CKN and everything else as A sent it.
fn forge(t: &[u8], rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    // Ethernet 14, EAPOL header 4 (version, type, body length); the Basic Parameter Set: 4
    // octets, SCI 8 (MAC first), Actor MI 12.
    let body = u16::from_be_bytes([t[16], t[17]]) as usize;
    let end = (18 + body).min(t.len());
    (0..n)
        .map(|_| {
            let mut f = t.to_vec();
            let mut mac = rng.next().to_be_bytes();
            mac[0] = (mac[0] & 0xfc) | 0x02;
            f[6..12].copy_from_slice(&mac[..6]);
            f[22..28].copy_from_slice(&mac[..6]);
            for i in (30..42).step_by(8) {
                let r = rng.next().to_be_bytes();
                let k = (42 - i).min(8);
                f[i..i + k].copy_from_slice(&r[..k]);
            }
            for i in (end - 16..end).step_by(8) {
                f[i..i + 8].copy_from_slice(&rng.next().to_be_bytes());
            }
            f
        })
        .collect()
}

/// The MACsec frames of a capture: (time, SCI, AN, PN) in capture order.
fn sectags(pcap: &Path) -> Vec<(f64, [u8; 8], u8, u32)> {
    let f = std::fs::File::open(pcap).unwrap_or_else(|e| panic!("capture {}: {e}", pcap.display()));
    let mut r =
        pcap_file::pcap::PcapReader::new(f).unwrap_or_else(|e| panic!("capture {}: {e}", pcap.display()));
    let mut v = Vec::new();
    while let Some(Ok(p)) = r.next_packet() {
        let d = &p.data;
        if d.len() < 20 || d[12..14] != [0x88, 0xe5] {
            continue;
        }
        let tci = d[14];
        let mut sci = [0u8; 8];
        if tci & 0x20 != 0 && d.len() >= 28 {
            sci.copy_from_slice(&d[20..28]);
        } else {
            sci[..6].copy_from_slice(&d[6..12]);
            sci[7] = 1;
        }
        let pn = u32::from_be_bytes([d[16], d[17], d[18], d[19]]);
        v.push((p.timestamp.as_secs_f64(), sci, tci & 3, pn));
    }
    v
}

/// Per (SCI, AN): how often the PN did not grow (a new SAK on the AN, or a PN used twice).
fn pn_resets(frames: &[(f64, [u8; 8], u8, u32)]) -> BTreeMap<([u8; 8], u8), usize> {
    let mut last: BTreeMap<([u8; 8], u8), u32> = BTreeMap::new();
    let mut resets: BTreeMap<([u8; 8], u8), usize> = BTreeMap::new();
    for &(_, sci, an, pn) in frames {
        let k = (sci, an);
        if let Some(&l) = last.get(&k) {
            if pn <= l {
                *resets.entry(k).or_default() += 1;
            }
        }
        last.insert(k, pn);
    }
    resets
}

/// The distinct Key Identifiers each AN carried, from the SAK lines of both macsecd logs
/// (`... SAK with KI <ki> AN <an>`, `received SAK KI <ki> AN <an>`).
fn kis_per_an(logs: &str) -> BTreeMap<u8, BTreeSet<String>> {
    let re = regex::Regex::new(r"SAK (?:with )?KI ([0-9A-Fa-f]+/[0-9]+) AN ([0-3])").expect("regex");
    let mut m: BTreeMap<u8, BTreeSet<String>> = BTreeMap::new();
    for c in re.captures_iter(logs) {
        let an: u8 = c[2].parse().unwrap_or(0);
        m.entry(an).or_default().insert(c[1].to_string());
    }
    m
}

/// HH:MM:SS.mmm (UTC) of a [`now`] time, to find a fault in the processes' logs.
fn utc(t: f64) -> String {
    let ms = (t * 1000.0) as u64;
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
}

fn p50(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn t_faults(rig: &mut Rig, c: &mut Checks) {
    let seed: u64 = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    println!("  fault seed {seed} (FAULT_SEED)");
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    assert!(
        Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} missing: apt-get install faketime"
    );
    // The key's lifetime: from 2 h ago to 3 h from now, valid at every clock the steps reach
    // (+-1 h): a session that goes down on a step misuses the wall clock.
    let lt = format!("{} {}", xr_time(-7200), xr_time(10800));
    for (s, prio) in [(A, 16), (B, 32)] {
        rig.write_xr(s, &Xr::new(prio).key(CKN1, CAK1, &lt).rekey(3));
    }
    let clock = rig.path("faketime.rc");
    std::fs::write(&clock, "+0\n").expect("faketime control file");
    rig.md_env[B.idx()] = vec![
        ("LD_PRELOAD".into(), LIBFAKETIME.into()),
        ("FAKETIME_TIMESTAMP_FILE".into(), clock.display().to_string()),
        ("FAKETIME_NO_CACHE".into(), "1".into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
    ];
    for s in [A, B] {
        if let Err(e) = rig.start_dp(s, SecurityPolicy::MustSecure) {
            panic!("{e:#}");
        }
    }
    rig.start_md(A);
    rig.start_md(B);
    if wait_secured_at(rig, 15.0).is_none() {
        rig.mka_dump(20);
        return c.check("MKA secures", false);
    }
    let templates = a_mkpdus(rig);
    c.check(
        &format!(
            "A's MKPDUs captured as the flood's templates ({})",
            templates.len()
        ),
        !templates.is_empty(),
    );
    if templates.is_empty() {
        return;
    }
    let flood_pps: u32 = std::env::var("FLOOD_PPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(FLOOD_PPS);
    println!("  EAPOL flood at {flood_pps} frames/s (FLOOD_PPS; 0: unpaced)");
    let flood = rig.path("flood.pcap");
    macsec_tests::write_pcap(&flood, &forge(&templates[0], &mut rng, 512));

    // 20 faults: 4 of each kind, shuffled.
    let mut plan: Vec<Fault> = [
        Fault::KillDataplaneA,
        Fault::KillMacsecdA,
        Fault::KillMacsecdB,
        Fault::ClockStepB,
        Fault::EapolFlood,
    ]
    .iter()
    .flat_map(|&f| [f; 4])
    .collect();
    for i in (1..plan.len()).rev() {
        let j = rng.below(i + 1);
        plan.swap(i, j);
    }
    let order: Vec<&str> = plan.iter().map(|f| f.name()).collect();
    println!("  fault order: {}", order.join(", "));

    rig.capture_start_filtered(CAP_A, B, Some(NOT_EAPOL));
    rig.capture_start_filtered(CAP_B, A, Some(NOT_EAPOL));
    let fwd_started = now();
    rig.stream_start_with(PPS, &["--ranges", "1000000"]);
    let mut rev = RevStream::start(rig, PPS, &["--ranges", "1000000"]);
    nap(3.0);

    let mut events: Vec<Event> = Vec::new();
    let mut offset_h: i32 = 0;
    let mut dp_a_logs = String::new();
    for (i, &f) in plan.iter().enumerate() {
        let began = now();
        let ended = match f {
            Fault::KillDataplaneA => {
                dp_a_logs += &rig.dp_log(A);
                rig.kill_dp(A);
                nap(DOWN_SECS);
                if let Err(e) = rig.start_dp(A, SecurityPolicy::MustSecure) {
                    println!("  {e:#}");
                }
                now()
            }
            Fault::KillMacsecdA | Fault::KillMacsecdB => {
                let s = if f == Fault::KillMacsecdA { A } else { B };
                rig.stop_md(s, libc::SIGKILL);
                nap(DOWN_SECS);
                rig.start_md(s);
                now()
            }
            Fault::ClockStepB => {
                offset_h = if offset_h != 0 {
                    0
                } else if rng.below(2) == 0 {
                    1
                } else {
                    -1
                };
                std::fs::write(&clock, format!("{offset_h:+}h\n")).expect("faketime control file");
                now()
            }
            Fault::EapolFlood => {
                let mut cmd = rig.ns_a.cmd(macsec_tests::bin("frame-gen"));
                cmd.args(["--iface", "a-line", "--pcap"]).arg(&flood).args([
                    "--loop",
                    "--rate",
                    &flood_pps.to_string(),
                    "--seconds",
                    "3",
                ]);
                match sys::run(&mut cmd) {
                    Ok(out) => println!("  flood: {}", out.trim()),
                    Err(e) => println!("  flood: frame-gen: {e}"),
                }
                now()
            }
        };
        // After a fault without a restart the sessions must stay up: watch them for 2 s.
        let secured = if f.downs_a_process() {
            wait_secured_at(rig, 10.0)
        } else {
            let mut lost_at: Option<f64> = None;
            let end = now() + 2.0;
            while now() < end {
                if !secured_now(rig) {
                    lost_at.get_or_insert(now());
                }
                nap(0.1);
            }
            match lost_at {
                None => Some(ended),
                Some(_) => wait_secured_at(rig, 10.0),
            }
        };
        println!(
            "  fault {:2}: {:22} {}-{} UTC, re-secured {}",
            i + 1,
            f.name(),
            utc(began),
            utc(ended),
            secured.map_or("never (10 s)".into(), |t| format!("after {:.2} s", t - ended))
        );
        events.push(Event {
            fault: f,
            began,
            ended,
            secured,
        });
        nap(1.5);
    }
    nap(2.0);
    let stopped_at = now();
    rig.stream_stop();
    let rst = rev.stop(rig);
    let (rsend, rrecv) = (rst.send, rst.recv);
    rig.capture_stop();
    let fwd = rig.stream();

    // Frames lost: each missing sequence number belongs to the fault whose down time (from its
    // start to 0.5 s after both sides were secured again) holds its send time; loss at any
    // other time, or in the window of a fault that downs no process, is a failure.
    let window = |e: &Event| (e.began - 0.2, e.secured.unwrap_or(e.ended + 10.0) + 0.5);
    let mut lost_per: BTreeMap<Fault, u64> = BTreeMap::new();
    let mut lost_outside = 0u64;
    let mut outside: BTreeMap<String, u64> = BTreeMap::new();
    let fwd_t0 = fwd.send.first_tx.unwrap_or(fwd_started);
    let rev_t0 = rsend.first_tx.unwrap_or(rev.started);
    for (recv, started, dir) in [(&fwd.recv, fwd_t0, "h1->h2"), (&rrecv, rev_t0, "h2->h1")] {
        for &[a, b] in &recv.missing_ranges {
            for seq in a..=b {
                let t = started + seq as f64 / f64::from(PPS);
                let e = events.iter().find(|e| {
                    let (lo, hi) = window(e);
                    t >= lo && t <= hi
                });
                if let Some(e) = e {
                    *lost_per.entry(e.fault).or_default() += 1;
                }
                match e {
                    Some(e) if e.fault.downs_a_process() => {}
                    _ => {
                        lost_outside += 1;
                        let at = e.map_or("no fault".to_string(), |e| e.fault.name().to_string());
                        *outside
                            .entry(format!("+{:.0} s {dir} ({at})", t - fwd_started))
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    let outside_at: Vec<String> = outside.iter().map(|(k, n)| format!("{n} at {k}")).collect();
    let tail_loss = (fwd.lost().max(0) as u64 + (rsend.sent.saturating_sub(rrecv.received))).saturating_sub(
        fwd.recv
            .missing_ranges
            .iter()
            .chain(&rrecv.missing_ranges)
            .map(|[a, b]| b - a + 1)
            .sum(),
    );

    // Plaintext and PN reuse, per direction.
    let mut plaintext = 0u64;
    let mut reuse: Vec<String> = Vec::new();
    let logs = rig.log(A) + &rig.log(B);
    let kis = kis_per_an(&logs);
    for (cap, who) in [(CAP_A, "A"), (CAP_B, "B")] {
        let cl = classify(&rig.path(cap), 0.0);
        plaintext += cl.clear;
        c.measure(&format!(
            "from {who}: {} frames, {} MACsec, {} clear {}",
            cl.total,
            cl.macsec,
            cl.clear,
            cl.types()
        ));
        let drops = rig.capture_drops(cap);
        c.check(
            &format!("the capture of {who}'s output is complete (tshark dropped {drops})"),
            drops == 0,
        );
        for ((sci, an), n) in pn_resets(&sectags(&rig.path(cap))) {
            let keys = kis.get(&an).map_or(0, |k| k.len());
            if n + 1 > keys {
                reuse.push(format!(
                    "SCI {} AN {an}: the PN fell back {n} times, {keys} SAKs on AN {an}",
                    hex::encode(sci)
                ));
            }
        }
    }

    // The table.
    println!(
        "  {:22} | {:5} | {:>12} | {:>12} | {:>11} | plaintext",
        "fault", "count", "re-secure p50", "re-secure max", "frames lost"
    );
    let mut all_ok = true;
    for f in [
        Fault::KillDataplaneA,
        Fault::KillMacsecdA,
        Fault::KillMacsecdB,
        Fault::ClockStepB,
        Fault::EapolFlood,
    ] {
        let ev: Vec<&Event> = events.iter().filter(|e| e.fault == f).collect();
        let never = ev.iter().filter(|e| e.secured.is_none()).count();
        let mut t: Vec<f64> = ev.iter().filter_map(|e| e.secured.map(|s| s - e.ended)).collect();
        let max = t.iter().copied().fold(0.0, f64::max);
        let p = p50(&mut t);
        let maxs = if never > 0 {
            format!("never x{never}")
        } else {
            format!("{max:.2} s")
        };
        println!(
            "  {:22} | {:5} | {:>11.2} s | {:>12} | {:>11} | {}",
            f.name(),
            ev.len(),
            p,
            maxs,
            lost_per.get(&f).copied().unwrap_or(0),
            if f == Fault::KillDataplaneA {
                plaintext.to_string()
            } else {
                "-".into()
            }
        );
        all_ok &= never == 0 && max <= RESECURE_LIMIT;
    }
    println!("  plaintext frames on the line (both directions): {plaintext}");
    c.measure(&format!(
        "h1->h2: sent {} received {} lost {}; h2->h1: sent {} received {} lost {}; lost outside a process's down time: {lost_outside} {outside_at:?}; tail loss {tail_loss}",
        fwd.send.sent,
        fwd.recv.received,
        fwd.lost(),
        rsend.sent,
        rrecv.received,
        rsend.sent as i64 - rrecv.received as i64
    ));

    // Crashes and panics.
    let mut crashed: Vec<String> = Vec::new();
    for s in [A, B] {
        if !rig.md_running(s) {
            crashed.push(format!("macsecd {} exited", s.name()));
        }
        if !rig.dp_running(s) {
            crashed.push(format!("dataplane {} exited", s.name()));
        }
    }
    let all_logs = logs + &dp_a_logs + &rig.dp_log(A) + &rig.dp_log(B);
    let panics: Vec<&str> = all_logs
        .lines()
        .filter(|l| l.contains("panicked") || l.contains("RUST_BACKTRACE"))
        .collect();
    for p in panics.iter().take(5) {
        println!("  panic: {p}");
    }
    // What each side's dataplane holds and counted at the end, and when each direction's last
    // frame was seen (for a failure's evidence).
    for s in [A, B] {
        let sa = rig.ea_idb(s);
        c.measure(&format!(
            "{}: Tx SAs {:?}, Rx SAs {:?}",
            s.name(),
            sa.as_ref().map(|x| x
                .tx
                .iter()
                .map(|t| (t.an, t.next_pn, t.in_use))
                .collect::<Vec<_>>()),
            sa.as_ref().map(|x| x
                .rx
                .iter()
                .map(|r| (r.an, r.next_pn, r.enabled))
                .collect::<Vec<_>>())
        ));
        if let Some(st) = rig.secy(s) {
            let nz: Vec<String> = st
                .secy
                .iter()
                .filter(|(_, n)| *n != 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            c.measure(&format!("{}: {}; {:?}", s.name(), nz.join(", "), st.link));
        }
    }
    for (cap, who) in [(CAP_A, "A"), (CAP_B, "B")] {
        let f = sectags(&rig.path(cap));
        if let Some(&(t, _, an, pn)) = f.last() {
            c.measure(&format!(
                "last frame from {who} at +{:.2} s: AN {an} PN {pn}",
                t - fwd_started
            ));
        }
    }
    c.measure(&format!(
        "last arrival h1->h2 at +{:.2} s, h2->h1 at +{:.2} s; the streams stopped at +{:.2} s",
        fwd.recv.last_rx.unwrap_or(0.0) - fwd_started,
        rrecv.last_rx.unwrap_or(0.0) - fwd_started,
        stopped_at - fwd_started
    ));
    if c.failed() || !all_ok {
        rig.mka_dump(30);
    }
    if std::env::var_os("FAULT_KEEP").is_some() {
        let keep = format!("/tmp/faults-keep-{}", std::process::id());
        let _ = std::process::Command::new("cp")
            .arg("-a")
            .arg(rig.dir())
            .arg(&keep)
            .status();
        println!("  work directory kept in {keep} (FAULT_KEEP)");
    }

    c.check(
        &format!("20 faults injected ({})", events.len()),
        events.len() == 20,
    );
    c.check(
        &format!("zero plaintext frames on the line ({plaintext})"),
        plaintext == 0,
    );
    c.check(
        &format!("no PN used twice with one SAK ({})", reuse.join("; ")),
        reuse.is_empty(),
    );
    c.check(
        &format!("no process crashed ({})", crashed.join("; ")),
        crashed.is_empty(),
    );
    c.check(
        &format!("no panic in any log ({} lines)", panics.len()),
        panics.is_empty(),
    );
    c.check(
        &format!("every fault re-secured within {RESECURE_LIMIT} s"),
        all_ok,
    );
    c.check(
        &format!("frames lost only while a process is down (outside: {lost_outside} {outside_at:?}, tail {tail_loss})"),
        lost_outside == 0 && tail_loss == 0,
    );
}

#[test]
#[ignore = "root: network namespaces, libfaketime; run by scripts/test.sh"]
fn faults() {
    sys::catch_signals();
    assert!(!sys::interrupted(), "faults: not run, the run was interrupted");
    let t0 = Instant::now();
    let mut c = Checks::new("faults");
    let mut rig = Rig::new("faults");
    t_faults(&mut rig, &mut c);
    println!("  faults: {:.1} s", t0.elapsed().as_secs_f64());
    c.finish();
}
