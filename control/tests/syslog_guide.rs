//! Our log lines against the guide's: every syslog example of the Cisco IOS XR MACsec guide
//! (copied into `data/ios-xr-syslog.txt`) is read for its mnemonic, interface, CKN and RxSCI, the
//! same event is made, and macsecd's line for it must be the guide's line, byte for byte.

use control::log::LogEvent;
use macsec::secy::Sci;
use mka::kay::MkaEvent;
use mka::{Ckn, Ki, Mi};

const GUIDE: &str = include_str!("data/ios-xr-syslog.txt");

/// The text between `open` and the next `close` after it.
fn between<'a>(line: &'a str, open: &str, close: char) -> Option<&'a str> {
    let start = line.find(open)? + open.len();
    let len = line[start..].find(close)?;
    Some(&line[start..start + len])
}

/// Cisco's `008a.9600.6090/0001`.
fn parse_cisco_sci(s: &str) -> Sci {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    assert_eq!(hex.len(), 16, "RxSCI {s}");
    Sci(u64::from_str_radix(&hex, 16).unwrap())
}

/// The event the guide's `line` reports.
fn event_of(line: &str) -> (String, LogEvent) {
    let mnemonic = line[1..line.find(':').unwrap()].trim_end().to_string();
    let name = mnemonic.splitn(4, '-').nth(3).unwrap();
    let interface = between(line, "(", ')').unwrap();
    let ckn = between(line, "CKN(", ')')
        .or_else(|| line.split_once("CKN:").map(|(_, c)| c))
        .unwrap();
    let ckn = Ckn::from_hex(ckn).unwrap();
    let peer = || parse_cisco_sci(between(line, "RxSCI(", ')').unwrap());
    let ki = Ki::new(Mi([7; 12]), 1);
    let ev = match name {
        "SESSION_SECURED" | "SESSION_SECURED_WITH_FALLBACK_PSK" => MkaEvent::SessionSecured {
            ckn,
            ki,
            fallback: name.ends_with("FALLBACK_PSK"),
        },
        "MKPDU_ICV_SUCCESS" | "FALLBACK_PSK_MKPDU_ICV_SUCCESS" => MkaEvent::IcvSuccess {
            ckn,
            peer: peer(),
            fallback: name.starts_with("FALLBACK_PSK"),
        },
        "MKPDU_ICV_FAILURE" | "FALLBACK_PSK_MKPDU_ICV_FAILURE" => MkaEvent::IcvFailure {
            ckn,
            fallback: name.starts_with("FALLBACK_PSK"),
            source: [0x00, 0x8a, 0x96, 0x00, 0x60, 0x90],
            peer: peer(),
        },
        other => panic!("the guide logs {other}, for which we have no event: {line}"),
    };
    (mnemonic, LogEvent::mka(interface, ev))
}

#[test]
fn every_syslog_example_of_the_guide_is_our_line_for_that_event() {
    let lines: Vec<&str> = GUIDE.lines().filter(|l| l.starts_with('%')).collect();
    assert_eq!(lines.len(), 5, "the guide's examples");
    for line in lines {
        let (mnemonic, ev) = event_of(line);
        assert_eq!(ev.mnemonic().to_string(), mnemonic, "{line}");
        assert_eq!(ev.to_string(), line);
    }
}

#[test]
fn the_guide_has_no_pkt_infra_line_and_every_mnemonic_is_of_l2_mka() {
    for line in GUIDE.lines().filter(|l| l.starts_with('%')) {
        assert!(line.starts_with("%L2-MKA-"), "{line}");
    }
    assert!(!GUIDE.lines().any(|l| l.starts_with("%PKT_INFRA")));
}
