//! Wall-clock steps against `mka::keychain` (issue 15): a driver keeps the key in use between
//! turns as macsecd's `apply_keychains` does, on an injected wall clock that steps by ±1 h.
//! A step back never ends the session on the key in use; a step forward is followed (a key the new
//! time has passed ends; a rollover the new time enters is hitless). [`ClockWatch`] sees each step
//! once.

use mka::keychain::*;
use std::time::Duration;

/// 2023-11-14T22:13:20Z, an arbitrary base instant.
const T0: u64 = 1_700_000_000;
const HOUR: u64 = 3600;
const CAK128: &str = "12345678123456781234567812345678";

fn key(ckn: &str, lifetime: Lifetime) -> Key {
    Key::from_hex(ckn, CAK128, CakAlgorithm::Aes128Cmac, lifetime).unwrap()
}

/// What macsecd keeps between turns: the key in use and since when a rollover runs.
struct Driver {
    chain: KeyChain,
    current: Option<(Ckn, Option<u64>)>,
}

impl Driver {
    fn new(keys: Vec<Key>) -> Driver {
        Driver {
            chain: KeyChain::new("p", keys).unwrap(),
            current: None,
        }
    }

    /// One turn at wall-clock `wall`: the plan, as text, and the keys whose participants run.
    fn turn(&mut self, wall: u64) -> (String, Vec<String>) {
        let cur = self.current.as_ref().map(|(ckn, since)| match since {
            Some(s) => Current::rolling_over(ckn, *s),
            None => Current::new(ckn),
        });
        let plan = self.chain.plan(wall, cur, None);
        let text = match &plan.primary {
            PrimaryPlan::NoActiveKey => "NoActiveKey".to_string(),
            PrimaryPlan::Start(k) => format!("Start({})", k.ckn()),
            PrimaryPlan::Keep(k) => format!("Keep({})", k.ckn()),
            PrimaryPlan::Rollover {
                from,
                to,
                started,
                retire_at,
                ..
            } => format!(
                "Rollover({}->{}, T0{:+}, T0{:+})",
                from.ckn(),
                to.ckn(),
                *started as i64 - T0 as i64,
                *retire_at as i64 - T0 as i64
            ),
            PrimaryPlan::RetireOld { from, to } => format!("RetireOld({}->{})", from.ckn(), to.ckn()),
            PrimaryPlan::CurrentGone {
                ckn,
                reason,
                replacement,
            } => format!(
                "CurrentGone({ckn}, {reason:?}, {})",
                replacement.map_or("-".to_string(), |k| k.ckn().to_string())
            ),
        };
        let running = plan.primary_keys().iter().map(|k| k.ckn().to_string()).collect();
        self.current = plan.next_current();
        (text, running)
    }
}

/// 01 since yesterday, 02 from T0 (a rollover at T0), both without end.
fn yesterday_then_t0() -> Driver {
    Driver::new(vec![
        key("01", Lifetime::infinite(T0 - 24 * HOUR)),
        key("02", Lifetime::infinite(T0)),
    ])
}

fn run(d: &mut Driver, walls: &[u64]) -> Vec<(String, Vec<String>)> {
    walls.iter().map(|&w| d.turn(w)).collect()
}

fn row(plan: &str, running: &[&str]) -> (String, Vec<String>) {
    (plan.to_string(), running.iter().map(|s| s.to_string()).collect())
}

#[test]
fn a_backward_step_keeps_the_only_key_in_use() {
    // One key, started at T0; the clock steps back 1 h to before its start. Before: the session
    // ended (CurrentGone NotStarted, no replacement) and stayed down for the hour.
    let mut d = Driver::new(vec![key("0A", Lifetime::until(T0, T0 + 24 * HOUR))]);
    assert_eq!(
        run(
            &mut d,
            &[T0 + 60, T0 + 61, T0 + 62 - HOUR, T0 + 63 - HOUR, T0 + 64]
        ),
        vec![
            row("Start(0A)", &["0A"]),
            row("Keep(0A)", &["0A"]),
            row("Keep(0A)", &["0A"]),
            row("Keep(0A)", &["0A"]),
            row("Keep(0A)", &["0A"]),
        ]
    );
    // Start times still gate starting a key: a fresh start before the start time has no key.
    let mut fresh = Driver::new(vec![key("0A", Lifetime::until(T0, T0 + 24 * HOUR))]);
    assert_eq!(fresh.turn(T0 + 62 - HOUR), row("NoActiveKey", &[]));
}

#[test]
fn a_backward_step_after_a_rollover_keeps_the_new_key() {
    // 01 since yesterday, 02 from T0: after the rollover to 02, the clock steps back 1 h, when
    // only 01 was active. Before: 02 was gone (NotStarted) and the session restarted on 01, then
    // rolled over to 02 again an hour later.
    let mut d = yesterday_then_t0();
    assert_eq!(
        run(
            &mut d,
            &[
                T0 - 10,
                T0,
                T0 + 60,
                T0 + 120,
                T0 + 121 - HOUR,
                T0 + 122 - HOUR,
                T0 + 123
            ]
        ),
        vec![
            row("Start(01)", &["01"]),
            row("Rollover(01->02, T0+0, T0+60)", &["01", "02"]),
            row("RetireOld(01->02)", &["02"]),
            row("Keep(02)", &["02"]),
            row("Keep(02)", &["02"]),
            row("Keep(02)", &["02"]),
            row("Keep(02)", &["02"]),
        ]
    );
}

#[test]
fn a_backward_step_during_a_rollover_keeps_both_keys_until_the_overlap_ends() {
    let mut d = yesterday_then_t0();
    assert_eq!(
        run(
            &mut d,
            &[T0 - 10, T0 + 10, T0 + 11 - HOUR, T0 + 70 - HOUR, T0 + 70]
        ),
        vec![
            row("Start(01)", &["01"]),
            row("Rollover(01->02, T0+10, T0+70)", &["01", "02"]),
            // 02 has not started at this time, but runs already: it stays (latest by start).
            row("Rollover(01->02, T0+10, T0+70)", &["01", "02"]),
            row("Rollover(01->02, T0+10, T0+70)", &["01", "02"]),
            row("RetireOld(01->02)", &["02"]),
        ]
    );
}

#[test]
fn a_forward_step_past_the_end_of_the_key_in_use_ends_it() {
    // Followed as IOS XR follows the system clock: 0A's lifetime is over at the new time.
    let mut d = Driver::new(vec![
        key("0A", Lifetime::until(T0, T0 + 1800)),
        key("0B", Lifetime::infinite(T0 + 1700)),
    ]);
    assert_eq!(
        run(&mut d, &[T0 + 60, T0 + 61 + HOUR, T0 + 62 + HOUR]),
        vec![
            row("Start(0A)", &["0A"]),
            row("CurrentGone(0A, Expired, 0B)", &["0B"]),
            row("Keep(0B)", &["0B"]),
        ]
    );
}

#[test]
fn a_forward_step_into_an_overlap_rolls_over_hitlessly() {
    let mut d = Driver::new(vec![
        key("0A", Lifetime::until(T0, T0 + 2 * HOUR)),
        key("0B", Lifetime::infinite(T0 + HOUR)),
    ]);
    assert_eq!(
        run(
            &mut d,
            &[T0 + 60, T0 + 60 + HOUR, T0 + 119 + HOUR, T0 + 120 + HOUR]
        ),
        vec![
            row("Start(0A)", &["0A"]),
            row("Rollover(0A->0B, T0+3660, T0+3720)", &["0A", "0B"]),
            row("Rollover(0A->0B, T0+3660, T0+3720)", &["0A", "0B"]),
            row("RetireOld(0A->0B)", &["0B"]),
        ]
    );
}

#[test]
fn clock_watch_reports_each_step_once() {
    let mut w = ClockWatch::new();
    let s = Duration::from_secs;
    let seen: Vec<Option<i64>> = [
        (s(100), T0),
        (s(110), T0 + 10),
        (Duration::from_millis(110_900), T0 + 10), // the wall clock's second has not ticked yet
        (s(111), T0 + 11 - HOUR),
        (s(112), T0 + 12 - HOUR),
        (s(113), T0 + 13),
        (s(114), T0 + 14 + HOUR),
        (s(120), T0 + 20 + HOUR + 2), // 2 s: within the threshold
        (s(121), T0 + 21 + HOUR + 5), // 3 s more
    ]
    .into_iter()
    .map(|(mono, wall)| w.observe(mono, wall))
    .collect();
    assert_eq!(
        seen,
        vec![
            None,
            None,
            None,
            Some(-3600),
            None,
            Some(3600),
            Some(3600),
            None,
            Some(3)
        ]
    );
    // A slewing clock (1 s per 10 s, far beyond NTP's 500 ppm) never adds up to a step.
    let mut slew = ClockWatch::new();
    let steps: Vec<i64> = (0..1000u64)
        .filter_map(|i| slew.observe(s(i * 10), T0 + i * 11))
        .collect();
    assert_eq!(steps, Vec::<i64>::new());
}
