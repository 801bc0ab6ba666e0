//! macsecd's per-interface key chain scheduling (`control::daemon::Port::apply_keychains`) on an
//! injected wall clock that steps by ±1 h (issue 15): each step is logged once
//! (`%L2-MKA-4-CLOCK_STEP`); a step back keeps the participant of the key in use (before, the key
//! "not started yet" ended the session); a step forward past the key's end ends it.

use control::config::Config;
use control::daemon::Port;
use control::log::{LogEvent, PortEvent};
use macsec::secy::Sci;
use std::time::Duration;

const HOUR: u64 = 3600;

/// Key 01 from 12:00:00 1 January 2027, for `lifetime` (IOS XR syntax after the start).
fn port(lifetime: &str) -> (Port, u64) {
    let text = format!(
        "key chain KC1\n macsec\n  key 01\n   key-string 4a7b2f3c5d6e7f8091a2b3c4d5e6f708 cryptographic-algorithm AES-128-CMAC\n   lifetime 12:00:00 01 January 2027 {lifetime}\n!\ninterface TenGigE0/0/0/1\n macsec psk-keychain KC1\n!\n"
    );
    let setup = Config::parse(&text)
        .expect("parses")
        .port_setups()
        .expect("resolves")
        .remove(0);
    let start = setup.keychain.keys()[0].start();
    let port = Port::new(
        setup,
        Sci(0x0011_2233_4455_0001),
        Duration::ZERO,
        &control::daemon::PpkEnv::default(),
    )
    .expect("port");
    (port, start)
}

fn steps(log: &[LogEvent]) -> Vec<i64> {
    log.iter()
        .filter_map(|e| match e {
            LogEvent::Port {
                event: PortEvent::ClockStep { seconds },
                ..
            } => Some(*seconds),
            _ => None,
        })
        .collect()
}

#[test]
fn a_backward_step_keeps_the_session_and_is_logged_once() {
    let (mut p, start) = port("infinite");
    let s = Duration::from_secs;
    p.apply_keychains(s(10), start + 60);
    let first = p.participants();
    assert_eq!(first.len(), 1);
    assert_eq!(steps(&p.take_log()), Vec::<i64>::new());

    p.apply_keychains(s(11), start + 61 - HOUR);
    assert_eq!(steps(&p.take_log()), vec![-3600]);
    p.apply_keychains(s(12), start + 62 - HOUR);
    assert_eq!(steps(&p.take_log()), Vec::<i64>::new(), "logged once");
    let after = p.participants();
    assert_eq!(after.len(), 1, "the participant of the key in use still runs");
    assert_eq!(
        after[0].mi, first[0].mi,
        "the same participant: the session did not restart"
    );
}

#[test]
fn a_forward_step_past_the_end_of_the_key_ends_its_session() {
    let (mut p, start) = port("duration 1800");
    let s = Duration::from_secs;
    p.apply_keychains(s(10), start + 60);
    assert_eq!(p.participants().len(), 1);
    p.apply_keychains(s(11), start + 61 + HOUR);
    assert_eq!(steps(&p.take_log()), vec![3600]);
    assert_eq!(
        p.participants().len(),
        0,
        "the key's lifetime is over at the new time"
    );
    // No session row (as the guide: nothing shown once the key expired); the interface view
    // says why.
    assert_eq!(p.session_row(s(11), 0), None);
    let row = p.interface_row(s(11));
    assert_eq!((row.status.as_str(), row.cas.len()), ("Init", 0));
    assert!(
        row.not_secured_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("no active key")),
        "{row:?}"
    );
}
