//! System tests of PPK key distribution (issue 7): two appliances (`macsec_tests::appliance`)
//! whose macsec-policy has `ppk sks-profile NAME`. Each test makes and removes its own namespaces
//! (mppk-TEST-*), state directories and KME simulator, prints what it measured and each check,
//! and fails when any check failed.
//!
//! Root, tshark and the release binaries; one at a time:
//!
//! ```text
//! cargo build --release --bins
//! cargo test --release -p macsec-tests --test system_ppk -- --ignored --test-threads=1 --nocapture [TEST]
//! ```
//!
//! - `sks`: PPK from the SKS engine: B exports its Classic McEliece public key, A imports it and
//!   exports a seed, B imports the seed (macsecctl, between the two state directories); MKA
//!   secures in PPK mode, the same PPK key ID on both, traffic passes, only 0x88E5/0x888E on the line.
//! - `skip`: PPK from SKIP: kme-sim (two KMEs sharing a simulated QKD link) in a namespace of its
//!   own, each appliance's profile points to its own KME, trust point imported.
//! - `skip_rekey`: SAK rekeys every 2 s under a UDP stream, each with a fresh SKIP PPK: none lost.
//! - `sks_no_seed`: B has not imported the seed: not secured, B shows and logs why, no plaintext on
//!   the line and nothing reaches h2; then B imports it (macsecd running) and the session secures
//!   without a restart.
//! - `skip_kme_down`: B's KME does not answer (connection refused): not secured, B shows and logs
//!   why, no plaintext on the line and nothing reaches h2.
//! - `skip_no_trustpoint`: B's trust point is missing (its SKIP source cannot be built): the same,
//!   with that reason.

use control::show::SessionRow;
use macsec_tests::appliance::{classify, nap, now, wait_for, Checks, Rig, SecurityPolicy, Side, Xr};
use macsec_tests::sys::{self, Netns, Proc, VethEnd};
use regex::Regex;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Instant;

use Side::{A, B};

const CKN1: &str = "1234abcd5678";
const CAK1: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
const LT_INF: &str = "05:00:00 01 January 2015 infinite";
const PPS: u32 = 2000;
const LINE: &str = "line.pcap";
const KME_A_IP: &str = "198.51.100.1";
const KME_B_IP: &str = "198.51.100.5";
// The sks profile stanzas (SKS: A is the master, the side that exports the seed).
const PPK_SKS_A: &str = "sks profile prof-A device-identifier peer-1\n peer-identifier peer-2";
const PPK_SKS_B: &str = "sks profile prof-B device-identifier peer-2\n peer-identifier peer-1 master";

/// One PPK test: the appliances, and the KME simulator with its namespace (SKIP). Dropped in
/// order: kme-sim, then the appliances, then the KME namespace.
struct Ppk {
    kme: Option<Proc>,
    rig: Rig,
    ns_k: Option<Netns>,
    rekey: u32,
}

impl Drop for Ppk {
    fn drop(&mut self) {
        if let Some(mut p) = self.kme.take() {
            p.stop();
        }
    }
}

fn run(name: &str, t: fn(&mut Ppk, &mut Checks)) {
    sys::catch_signals();
    // After a SIGINT/SIGTERM the remaining tests end at once instead of building their rigs.
    assert!(!sys::interrupted(), "{name}: not run, the run was interrupted");
    let t0 = Instant::now();
    let mut c = Checks::new(name);
    let mut p = Ppk {
        kme: None,
        rig: Rig::with_prefix("mppk", name),
        ns_k: None,
        rekey: 60,
    };
    t(&mut p, &mut c);
    if c.failed() {
        p.rig.mka_dump(25);
    }
    println!("  {name}: {:.1} s", t0.elapsed().as_secs_f64());
    c.finish();
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_default()
}

/// Lines of `text` that match `re`.
fn count_re(text: &str, re: &str) -> usize {
    let re = Regex::new(re).expect("regex");
    text.lines().filter(|l| re.is_match(l)).count()
}

impl Ppk {
    /// Both configurations: policy P1 on the interface, must-secure, key chain KC1, A the key
    /// server (priority 16, B 32), sak-rekey-interval `self.rekey`.
    fn base_xr(&self) {
        for (s, prio) in [(A, 16), (B, 32)] {
            self.rig
                .write_xr(s, &Xr::new(prio).rekey(self.rekey).key(CKN1, CAK1, LT_INF));
        }
    }

    /// The side's configuration with `ppk sks-profile PROFILE` in policy P1 and the sks profile
    /// STANZA in front.
    fn xr_add(&self, s: Side, profile: &str, stanza: &str) {
        let f = self.rig.path(&format!("{}.xr", s.name()));
        let text = read(f.clone()).replace(
            "\nmacsec-policy P1\n",
            &format!("\nmacsec-policy P1\n ppk sks-profile {profile}\n"),
        );
        std::fs::write(&f, format!("{stanza}\n!\n{text}")).expect("write xr");
    }

    fn state(&self, s: Side) -> PathBuf {
        self.rig.path(&format!("{}-state", s.name()))
    }

    fn mkstate(&self) {
        use std::os::unix::fs::DirBuilderExt;
        for s in [A, B] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(self.state(s))
                .expect("state dir");
        }
    }

    /// macsecd with `--state-dir <side>-state`.
    fn start_md(&mut self, s: Side) {
        let st = self.state(s);
        self.rig
            .start_md_args(s, &[OsStr::new("--state-dir"), st.as_os_str()]);
    }

    /// macsecctl ARGS on the side's configuration and state directory.
    fn sks_ctl(&self, s: Side, args: &[&str]) -> anyhow::Result<String> {
        let mut a: Vec<OsString> = args.iter().map(OsString::from).collect();
        a.push("--config".into());
        a.push(self.rig.path(&format!("{}.xr", s.name())).into());
        a.push("--state-dir".into());
        a.push(self.state(s).into());
        self.rig.ctl_raw(&a)
    }

    fn sks_ctl_ok(&self, s: Side, args: &[&str]) -> String {
        self.sks_ctl(s, args)
            .unwrap_or_else(|e| panic!("macsecctl {}: {e:#}", args.join(" ")))
    }

    /// SKS: the key and seed exchange with macsecctl (B imports the seed when `seed`), checked.
    fn sks_setup(&mut self, c: &mut Checks, seed: bool) {
        self.base_xr();
        self.xr_add(A, "prof-A", PPK_SKS_A);
        self.xr_add(B, "prof-B", PPK_SKS_B);
        self.mkstate();
        let (pubkey, seedf) = (self.rig.path("MeCe_b_pub"), self.rig.path("enc_self_peer-2"));
        let (pk, sf) = (pubkey.to_string_lossy(), seedf.to_string_lossy());
        let t0 = now();
        self.sks_ctl_ok(B, &["crypto", "sks", "key", "export", "mceliece", "--out", &pk]);
        let keygen = now() - t0;
        self.sks_ctl_ok(A, &["crypto", "sks", "key", "import", "mceliece", "peer-2", &pk]);
        self.sks_ctl_ok(
            A,
            &[
                "crypto", "sks", "seed", "export", "mceliece", "peer-2", "--out", &sf,
            ],
        );
        if seed {
            self.sks_ctl_ok(B, &["crypto", "sks", "seed", "import", "mceliece", "peer-1", &sf]);
        }
        let size = |p: &PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
        c.measure(&format!(
            "B: Classic McEliece key pair generated and public key exported in {keygen:.2} s ({} octets)",
            size(&pubkey)
        ));
        c.check("B's public key file has 1357824 octets", size(&pubkey) == 1357824);
        c.check("A's seed file for peer-2 has 324 octets", size(&seedf) == 324);
        let peers = |s| {
            self.sks_ctl(s, &["show", "crypto", "sks", "peer", "all"])
                .unwrap_or_default()
        };
        let (pa, pb) = (peers(A), peers(B));
        let (pa, pb) = (pa.trim_end_matches('\n'), pb.trim_end_matches('\n'));
        for l in pa.lines() {
            println!("  A# {l}");
        }
        for l in pb.lines() {
            println!("  B# {l}");
        }
        c.check(
            "A: peer-2 Seed Done TRUE, Pubkey Import Done TRUE, Master FALSE",
            pa == "Peer Name          : peer-2\nProfile Name       : prof-A\nSeed Done          : TRUE\nPubkey Import Done : TRUE\nMaster             : FALSE",
        );
        let done = if seed { "TRUE" } else { "FALSE" };
        c.check(
            &format!("B: peer-1 Seed Done {done}, Master TRUE"),
            pb == format!("Peer Name          : peer-1\nProfile Name       : prof-B\nSeed Done          : {done}\nPubkey Import Done : FALSE\nMaster             : TRUE"),
        );
    }

    /// SKIP: namespace mppk-TEST-k with kme-sim (KME A 198.51.100.1 for A, KME B 198.51.100.5
    /// for B over veths), profiles R1toR2/R2toR1 (B's KME port `b_port` when given), the KME CA
    /// imported as trust point.
    fn skip_setup(&mut self, b_port: Option<u16>) {
        self.base_xr();
        let name = self.rig.ns_a.name.trim_end_matches("-a").to_string() + "-k";
        let k = Netns::new(&name).expect("KME namespace");
        let end = |ns, name, mac| VethEnd { ns, name, mac };
        sys::veth(
            end(&self.rig.ns_a, "a-kme", "02:00:00:00:0a:03"),
            end(&k, "ka", "02:00:00:00:0c:01"),
        )
        .expect("veth a-kme");
        sys::veth(
            end(&self.rig.ns_b, "b-kme", "02:00:00:00:0b:03"),
            end(&k, "kb", "02:00:00:00:0c:02"),
        )
        .expect("veth b-kme");
        for (ns, addr, dev) in [
            (&k, format!("{KME_A_IP}/30"), "ka"),
            (&k, format!("{KME_B_IP}/30"), "kb"),
            (&self.rig.ns_a, "198.51.100.2/30".to_string(), "a-kme"),
            (&self.rig.ns_b, "198.51.100.6/30".to_string(), "b-kme"),
        ] {
            ns.ip(&["addr", "add", &addr, "dev", dev]).expect("address");
        }
        let dir = self.rig.path("kme");
        std::fs::create_dir_all(&dir).expect("kme dir");
        let mut cmd = k.cmd(macsec_tests::bin("kme-sim"));
        cmd.arg("--dir").arg(&dir).args([
            "--a-listen",
            &format!("{KME_A_IP}:0"),
            "--b-listen",
            &format!("{KME_B_IP}:0"),
        ]);
        self.kme = Some(
            Proc::spawn(
                "kme-sim",
                &mut cmd,
                &self.rig.path("kme.log"),
                Some(&self.rig.path("kme.out")),
            )
            .expect("kme-sim"),
        );
        self.ns_k = Some(k);
        let ready = wait_for(10.0, || {
            read(self.rig.path("kme.out")).lines().any(|l| l == "ready")
        });
        if !ready {
            panic!("kme-sim did not start: {}", read(self.rig.path("kme.log")));
        }
        let port = |f: &str| {
            let a = read(dir.join(f));
            a.trim().rsplit(':').next().unwrap_or_default().to_string()
        };
        let pa = port("kme-a.addr");
        let pb = b_port.map_or_else(|| port("kme-b.addr"), |p| p.to_string());
        self.xr_add(
            A,
            "R1toR2",
            &format!("sks profile R1toR2 type remote device-identifier Router1\n kme server ipv4 {KME_A_IP} port {pa}"),
        );
        self.xr_add(
            B,
            "R2toR1",
            &format!("sks profile R2toR1 type remote device-identifier Router2\n kme server ipv4 {KME_B_IP} port {pb}"),
        );
        self.mkstate();
        let ca = dir.join("ca.pem");
        let ca = ca.to_string_lossy();
        self.sks_ctl_ok(A, &["crypto", "sks", "trustpoint", "import", "R1toR2", &ca]);
        self.sks_ctl_ok(B, &["crypto", "sks", "trustpoint", "import", "R2toR1", &ca]);
        for l in read(self.rig.path("kme.out")).lines() {
            println!("  kme-sim: {l}");
        }
    }

    /// Seconds from macsecd's first log line to its first SESSION_SECURED, by its own timestamps.
    fn log_secured(&self, s: Side) -> String {
        let mut t0 = None;
        for l in self.rig.log(s).lines() {
            let Some(t) = l.split_whitespace().next().and_then(iso_secs) else {
                continue;
            };
            let t0 = *t0.get_or_insert(t);
            if l.contains("SESSION_SECURED") {
                return format!("{:.3}", t - t0);
            }
        }
        "-".into()
    }

    /// The PPK fetch times macsecd logged ("obtained in N ms"), comma-separated.
    fn ppk_ms(&self, s: Side) -> String {
        let re = Regex::new(r"obtained in ([0-9]*) ms").expect("regex");
        let log = self.rig.log(s);
        let v: Vec<&str> = log
            .lines()
            .filter_map(|l| re.captures(l).map(|c| c.get(1).map_or("", |m| m.as_str())))
            .collect();
        v.join(",")
    }

    fn detail_print(&self, s: Side, prefix: &str) {
        let t = self
            .rig
            .ctl(s, &["show", "macsec", "mka", "session", "detail"])
            .unwrap_or_default();
        for l in t.lines() {
            println!("  {prefix}# {l}");
        }
    }

    /// Status, key distribution mode (as the detail view shows it), PPK key ID, PPK failure of
    /// the side's first session.
    fn detail(&self, s: Side) -> Detail {
        let r = self.rig.session(s);
        Detail {
            status: r.as_ref().map_or(String::new(), |r| r.status.clone()),
            key_server: r.as_ref().is_some_and(|r| r.key_server),
            mode: r.as_ref().map_or(String::new(), |r| {
                if r.key_distribution_mode.is_empty() {
                    "SAK".into()
                } else {
                    r.key_distribution_mode.clone()
                }
            }),
            key_id: r.as_ref().and_then(|r| r.ppk_key_id.clone()),
            failure: r.as_ref().and_then(|r| r.ppk_failure.clone()),
            failures: self
                .rig
                .sessions(s)
                .iter()
                .filter(|r| r.ppk_failure.is_some())
                .count(),
        }
    }

    /// The positive run: dataplanes, capture on the line, macsecds, secured, a UDP stream for 3 s.
    fn secure_and_stream(&mut self, c: &mut Checks, key_id_len: usize) -> bool {
        for s in [A, B] {
            self.rig
                .start_dp(s, SecurityPolicy::MustSecure)
                .expect("dataplane");
        }
        self.rig.capture_start(LINE, B);
        self.start_md(A);
        self.start_md(B);
        if !self.rig.wait_secured(20) {
            c.check("MKA secures", false);
            return false;
        }
        c.measure(&format!(
            "time to secure {} s (from starting macsecd, polling show); by macsecd's logs: A {} s, B {} s; PPK fetch A {} ms, B {} ms",
            self.rig.secure_secs_text(),
            self.log_secured(A),
            self.log_secured(B),
            self.ppk_ms(A),
            self.ppk_ms(B)
        ));
        let (da, db) = (self.detail(A), self.detail(B));
        self.detail_print(B, "B");
        let (ida, idb) = (
            da.key_id.clone().unwrap_or_default(),
            db.key_id.clone().unwrap_or_default(),
        );
        c.measure(&format!("PPK key ID A {ida}, B {idb}"));
        c.check(
            "A: Key Distribution Mode PPK, key server",
            da.key_server && da.mode == "PPK" && da.key_id.is_some(),
        );
        c.check(
            "B: Key Distribution Mode PPK, not key server",
            !db.key_server && db.mode == "PPK" && db.key_id.is_some(),
        );
        c.check("the same PPK key ID on both sides", ida == idb);
        c.check(
            &format!("the key ID has {key_id_len} hex digits"),
            ida.len() == key_id_len,
        );
        c.check("no PPK Failure shown on A or B", da.failures + db.failures == 0);
        self.rig.stream_start(PPS);
        nap(3.0);
        self.rig.stream_stop();
        self.rig.capture_stop();
        let cap = classify(&self.rig.path(LINE), 0.0);
        let st = self.rig.stream();
        let (sent, recv) = (st.send.sent, st.recv.received);
        for l in st.summary().lines() {
            println!("  {l}");
        }
        c.measure(&format!(
            "line (A to B): {} frames, MACsec {}, EAPOL {}, clear {} {}",
            cap.total,
            cap.macsec,
            cap.eapol,
            cap.clear,
            cap.types()
        ));
        println!(
            "  row: secure {}s sent {sent} recv {recv} lost {} leaked {}",
            self.rig.secure_secs_text(),
            st.lost(),
            cap.clear
        );
        c.check("traffic passes: received = sent > 0", recv == sent);
        c.check("received > 0", recv >= 1);
        c.check("MACsec frames on the line >= received", cap.macsec >= recv);
        c.check("only 0x88E5/0x888E on the line (clear = 0)", cap.clear == 0);
        c.check(
            "A logged SESSION_SECURED",
            self.rig.count_log(A, "SESSION_SECURED") >= 1,
        );
        let logs = self.rig.log(A) + &self.rig.log(B);
        c.check(
            "no PPK failure logged on A or B",
            logs.lines().filter(|l| l.contains("PPK_")).count() == 0,
        );
        c.check(
            "no 64-hex-digit string (a PPK or key) in either log",
            count_re(&logs, r"(^|[^0-9a-fA-F])[0-9a-fA-F]{64}([^0-9a-fA-F]|$)") == 0,
        );
        true
    }

    /// The negative run: not secured within 8 s; B shows and logs exactly "could not obtain the
    /// PPK with key ID <A's key ID>: WHY"; nothing in the clear, nothing at h2.
    fn not_secured(&mut self, c: &mut Checks, why: &str) {
        for s in [A, B] {
            self.rig
                .start_dp(s, SecurityPolicy::MustSecure)
                .expect("dataplane");
        }
        self.rig.capture_start(LINE, B);
        self.rig.stream_start(PPS);
        self.start_md(A);
        self.start_md(B);
        nap(8.0);
        let (da, db) = (self.detail(A), self.detail(B));
        self.detail_print(B, "B");
        let fb = db.failure.clone().unwrap_or_default();
        let ida = da.key_id.clone().unwrap_or_default();
        self.rig.stream_stop();
        self.rig.capture_stop();
        let cap = classify(&self.rig.path(LINE), 0.0);
        let st = self.rig.stream();
        let (sent, recv) = (st.send.sent, st.recv.received);
        let (a_now, b_now) = (self.detail(A), self.detail(B));
        c.measure(&format!(
            "after 8 s: A {}, B {}; sent {sent} received {recv}",
            a_now.status, b_now.status
        ));
        c.measure(&format!(
            "line (A to B): {} frames, MACsec {}, EAPOL {}, clear {} {}",
            cap.total,
            cap.macsec,
            cap.eapol,
            cap.clear,
            cap.types()
        ));
        let blog = self.rig.log(B);
        for l in blog
            .lines()
            .filter(|l| l.contains("PPK_") || l.contains("PPK request"))
            .take(3)
        {
            println!("  B log: {l}");
        }
        println!(
            "  row: secure - sent {sent} recv {recv} lost {} leaked {}",
            st.lost(),
            cap.clear
        );
        c.check("A not secured", a_now.status == "Pending");
        c.check("B not secured", b_now.status == "Pending");
        c.check("A and B in PPK mode", a_now.mode == "PPK" && b_now.mode == "PPK");
        let re = Regex::new(r"PPK request failed after ([0-9]*) ms").expect("regex");
        let times: Vec<String> = blog
            .lines()
            .filter_map(|l| {
                re.captures(l)
                    .map(|c| format!("{} ms", c.get(1).map_or("", |m| m.as_str())))
            })
            .collect();
        c.measure(&format!(
            "A's PPK key ID: {ida}; B's PPK requests: {} failed ({})",
            blog.lines().filter(|l| l.contains("PPK request failed")).count(),
            times.join(",")
        ));
        c.check("A announced a key ID (A: PPK Key ID shown)", ida.len() >= 2);
        c.check(
            &format!("B shows PPK Failure: could not obtain the PPK with key ID <A's>: {why}"),
            fb == format!("could not obtain the PPK with key ID {ida}: {why}"),
        );
        c.check(
            "B logged %L2-MKA-3-PPK_FETCH_FAILURE with the same reason",
            blog.lines()
                .filter(|l| l.contains("%L2-MKA-3-PPK_FETCH_FAILURE") && l.contains(&fb))
                .count()
                >= 1,
        );
        c.check("nothing reached h2 (received = 0)", recv == 0);
        c.check("no plaintext on the line (clear = 0)", cap.clear == 0);
        c.check("the line carried MKPDUs (EAPOL >= 1)", cap.eapol >= 1);
    }

    fn kme_log(&self) -> String {
        read(self.rig.path("kme.log"))
    }
}

struct Detail {
    status: String,
    key_server: bool,
    mode: String,
    key_id: Option<String>,
    failure: Option<String>,
    /// Rows that show a PPK Failure.
    failures: usize,
}

/// `YYYY-MM-DDTHH:MM:SS[.frac]Z` (tracing's timestamps) to Unix seconds.
fn iso_secs(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let d: Vec<i64> = date.split('-').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || t.len() != 3 {
        return None;
    }
    let (y, m, day) = (d[0], d[1], d[2]);
    let (h, mi, sec): (i64, i64, f64) = (t[0].parse().ok()?, t[1].parse().ok()?, t[2].parse().ok()?);
    // Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86400 + h * 3600 + mi * 60) as f64 + sec)
}

// --- the tests ----------------------------------------------------------------------------------

fn t_sks(p: &mut Ppk, c: &mut Checks) {
    p.sks_setup(c, true);
    p.secure_and_stream(c, 32);
}

fn t_skip(p: &mut Ppk, c: &mut Checks) {
    p.skip_setup(None);
    if !p.secure_and_stream(c, 72) {
        return;
    }
    let kme = p.kme_log();
    let ka = kme
        .lines()
        .filter(|l| *l == "kme-a (Alice): GET /key -> 200")
        .count();
    let id = p.detail(A).key_id.unwrap_or_default();
    let id = String::from_utf8_lossy(&hex::decode(&id).unwrap_or_default()).into_owned();
    let kb = kme
        .lines()
        .filter(|l| *l == format!("kme-b (Bob): GET /key/{id} -> 200"))
        .count();
    c.measure(&format!(
        "KME requests: A GET /key {ka}, B GET /key/{{keyId}} {kb}"
    ));
    c.check(
        "KME A issued exactly 1 key, KME B returned it exactly once",
        (ka, kb) == (1, 1),
    );
    let stats = p
        .sks_ctl(A, &["show", "crypto", "sks", "profile", "all", "stats"])
        .unwrap_or_default();
    let sa: Vec<String> = stats
        .lines()
        .filter(|l| l.contains("Status") || l.contains("Total request") || l.contains("Response success"))
        .map(|l| {
            l.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    c.measure(&format!("A show crypto sks profile all stats: {}", sa.join(";")));
}

/// SAK rekeys every 2 s under a stream: every SAK gets a fresh PPK from KME A (GET /key), which
/// B fetches by its key ID from KME B (GET /key/{keyId}); hitless.
fn t_skip_rekey(p: &mut Ppk, c: &mut Checks) {
    p.rekey = 2;
    p.skip_setup(None);
    for s in [A, B] {
        p.rig.start_dp(s, SecurityPolicy::MustSecure).expect("dataplane");
    }
    p.start_md(A);
    p.start_md(B);
    if !p.rig.wait_secured(20) {
        return c.check("MKA secures", false);
    }
    c.measure(&format!(
        "time to secure {} s (polling show); by macsecd's logs: A {} s, B {} s",
        p.rig.secure_secs_text(),
        p.log_secured(A),
        p.log_secured(B)
    ));
    p.rig.capture_start(LINE, B);
    p.rig.stream_start(PPS);
    nap(10.0);
    p.rig.stream_stop();
    p.rig.capture_stop();
    let cap = classify(&p.rig.path(LINE), 0.0);
    let st = p.rig.stream();
    // The two sides are read one after the other while A rekeys every 2 s: a pair read across a
    // rekey (A's latest KN differs from B's) is read again, up to 2 s.
    let snapshot = || {
        let (a, b) = (p.rig.session(A), p.rig.session(B));
        let kn_id = |r: Option<SessionRow>| r.map_or((None, None), |r| (r.latest_kn, r.ppk_key_id));
        (kn_id(a), kn_id(b))
    };
    let mut pair = snapshot();
    for _ in 0..10 {
        if pair.0 .0.is_some() && pair.0 .0 == pair.1 .0 {
            break;
        }
        nap(0.2);
        pair = snapshot();
    }
    let ((_, ida), (_, idb)) = pair;
    let (ida, idb) = (ida.unwrap_or_default(), idb.unwrap_or_default());
    c.check("both sides still Secured", p.rig.both_secured());
    let kn = |s| {
        p.rig
            .session(s)
            .and_then(|r| r.latest_kn)
            .map_or(String::new(), |k| k.to_string())
    };
    c.measure(&format!(
        "latest KN A {}, B {}; PPK key ID A {}..., B {}...",
        kn(A),
        kn(B),
        &ida[..ida.len().min(16)],
        &idb[..idb.len().min(16)]
    ));
    // Counts from quiet daemons: A stops first, B gets 1 s to finish a fetch for A's last SAK.
    p.rig.stop_md(A, libc::SIGINT);
    nap(1.0);
    p.rig.stop_md(B, libc::SIGINT);
    let (alog, blog, kme) = (p.rig.log(A), p.rig.log(B), p.kme_log());
    let count = |t: &str, pat: &str| t.lines().filter(|l| l.contains(pat)).count();
    let saks = count(&alog, "SAK_GENERATED") + count(&alog, "SAK_REKEY");
    let re = Regex::new(r".*PPK key ID ([^ ]*) obtained").expect("regex");
    let mut ids: Vec<&str> = alog
        .lines()
        .filter_map(|l| re.captures(l).and_then(|c| c.get(1)).map(|m| m.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let ids = ids.len();
    let asks = count(&alog, "asking sks profile R1toR2 for a fresh PPK");
    let bgot = count_re(&blog, "PPK key ID .* obtained");
    let brx = count(&blog, "SAK_RECEIVED");
    let ka = kme
        .lines()
        .filter(|l| *l == "kme-a (Alice): GET /key -> 200")
        .count();
    let kb = count_re(&kme, r"^kme-b \(Bob\): GET /key/.* -> 200$");
    for l in st.summary().lines() {
        println!("  {l}");
    }
    println!(
        "  row: secure {}s sent {} recv {} lost {} leaked {}",
        p.rig.secure_secs_text(),
        st.send.sent,
        st.recv.received,
        st.lost(),
        cap.clear
    );
    c.measure(&format!(
        "A: SAKs distributed {saks}, fresh PPKs asked {asks}, distinct PPK key IDs obtained {ids}; KME A GET /key {ka}"
    ));
    c.measure(&format!(
        "B: SAKs received {brx}, PPKs obtained by key ID {bgot}; KME B GET /key/{{keyId}} {kb}"
    ));
    c.measure(&format!(
        "PPK fetch times (ms): A {}; B {}",
        p.ppk_ms(A),
        p.ppk_ms(B)
    ));
    c.measure(&format!(
        "line (A to B): {} frames, MACsec {}, EAPOL {}, clear {}",
        cap.total, cap.macsec, cap.eapol, cap.clear
    ));
    c.check(
        ">= 3 SAKs (rekeys every 2 s for 10 s; a slow KME on a loaded machine delays some)",
        saks >= 3,
    );
    c.check("A: one fresh PPK per SAK (distinct key IDs = SAKs)", ids == saks);
    // A rekeys every 2 s until it is stopped: its last request may still be on its way to the
    // KME (asked, not issued) or its answer on the way back (issued, not obtained).
    c.check(
        "KME A issued one key per request of A (the last one may be in flight at the stop)",
        ids <= ka && ka <= asks && asks <= ka + 1,
    );
    c.check(
        "B: one PPK fetched per SAK received; KME B answered each",
        (bgot, kb) == (brx, brx),
    );
    c.check("zero frames lost", st.lost() == 0);
    c.check("received > 0", st.recv.received >= 1);
    c.check("the same PPK key ID on both sides", ida == idb);
    c.check("only 0x88E5/0x888E on the line (clear = 0)", cap.clear == 0);
    c.check(
        "no PPK failure logged on A or B",
        count(&alog, "PPK_") + count(&blog, "PPK_") == 0,
    );
}

fn t_sks_no_seed(p: &mut Ppk, c: &mut Checks) {
    p.sks_setup(c, false);
    p.not_secured(
        c,
        "no seed shared with peer peer-1 of sks profile prof-B (export it with `crypto sks seed export mceliece` on the master, import it with `crypto sks seed import mceliece` on the other side)",
    );
    // The seed imported now, with macsecd running: B uses it at its next fetch (the engine
    // retries 10 s after a failure) and the session secures without a restart.
    let t0 = now();
    let seedf = p.rig.path("enc_self_peer-2");
    p.sks_ctl_ok(
        B,
        &[
            "crypto",
            "sks",
            "seed",
            "import",
            "mceliece",
            "peer-1",
            &seedf.to_string_lossy(),
        ],
    );
    p.rig.md_started = t0;
    if p.rig.wait_secured(20) {
        let (da, db) = (p.detail(A), p.detail(B));
        c.measure(&format!(
            "seed imported on B while running: secured {} s later; B: {}, PPK Failure shown: {}",
            p.rig.secure_secs_text(),
            db.status,
            db.failures
        ));
        c.check(
            "secured after the seed import, without a restart",
            da.status == "Secured" && db.status == "Secured",
        );
        c.check("B's PPK Failure cleared", db.failures == 0);
        c.check("the same PPK key ID on both sides", da.key_id == db.key_id);
    } else {
        c.check("secured within 20 s of the seed import", false);
    }
}

fn t_skip_kme_down(p: &mut Ppk, c: &mut Checks) {
    // B's profile names a port on KME B's address where nothing listens.
    p.skip_setup(Some(9));
    p.not_secured(
        c,
        &format!(
            "KME {KME_B_IP}:9: cannot connect to {KME_B_IP}:9: Connection refused (os error 111) (gave up after 3 attempts)"
        ),
    );
}

fn t_skip_no_trustpoint(p: &mut Ppk, c: &mut Checks) {
    p.skip_setup(None);
    // B's trust point was never installed: its SKIP source cannot be built.
    let tp = p.state(B).join("trustpoint/R2toR1.pem");
    std::fs::remove_file(&tp).expect("remove the trust point");
    p.not_secured(
        c,
        &format!(
            "the trust point {} could not be used: I/O error: No such file or directory (os error 2)",
            tp.display()
        ),
    );
}

macro_rules! ppk_tests {
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

ppk_tests! {
    sks => t_sks,
    skip => t_skip,
    skip_rekey => t_skip_rekey,
    sks_no_seed => t_sks_no_seed,
    skip_kme_down => t_skip_kme_down,
    skip_no_trustpoint => t_skip_no_trustpoint,
}
