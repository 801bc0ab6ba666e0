//! `mka::keychain`: lifetimes, latest active key, next change, rollover and fallback planning,
//! validation errors and CAK hiding, with exact values in virtual time (Unix seconds).

use mka::keychain::*;
use zeroize::Zeroizing;

/// 2023-11-14T22:13:20Z, an arbitrary base instant.
const T0: u64 = 1_700_000_000;

const CAK128: &str = "12345678123456781234567812345678";
const CAK256: &str = "1234567812345678123456781234567812345678123456781234567812345678";

fn key(ckn: &str, lifetime: Lifetime) -> Key {
    Key::from_hex(ckn, CAK128, CakAlgorithm::Aes128Cmac, lifetime).unwrap()
}

fn ckn(hex: &str) -> Ckn {
    Ckn::from_hex(hex).unwrap()
}

fn names<'a>(keys: impl IntoIterator<Item = &'a Key>) -> Vec<String> {
    keys.into_iter().map(|k| k.ckn().to_string()).collect()
}

/// Four keys with overlapping lifetimes, in this configuration order:
/// - 01: [T0, T0+1000)            (absolute end)
/// - 02: [T0+900, T0+1500)        (duration 600)
/// - 03: [T0+1400, infinite)
/// - 04: [T0+900, T0+1200)        (same start as 02, later in configuration order)
fn chain4() -> KeyChain {
    KeyChain::new(
        "mac_chain",
        vec![
            key("01", Lifetime::until(T0, T0 + 1000)),
            key("02", Lifetime::duration(T0 + 900, 600)),
            key("03", Lifetime::infinite(T0 + 1400)),
            key("04", Lifetime::until(T0 + 900, T0 + 1200)),
        ],
    )
    .unwrap()
}

#[test]
fn active_and_latest_active_at_many_instants() {
    let c = chain4();
    // (offset from T0, active keys in configuration order, latest active)
    let table: &[(i64, &[&str], Option<&str>)] = &[
        (-1_700_000_000, &[], None),
        (-1, &[], None),
        (0, &["01"], Some("01")),
        (899, &["01"], Some("01")),
        (900, &["01", "02", "04"], Some("04")), // 02 and 04 start together: 04 is later in the chain
        (999, &["01", "02", "04"], Some("04")),
        (1000, &["02", "04"], Some("04")), // 01's end is exclusive
        (1199, &["02", "04"], Some("04")),
        (1200, &["02"], Some("02")),
        (1399, &["02"], Some("02")),
        (1400, &["02", "03"], Some("03")),
        (1499, &["02", "03"], Some("03")),
        (1500, &["03"], Some("03")), // 900 + 600
        (1_000_000_000, &["03"], Some("03")),
    ];
    for &(off, active, latest) in table {
        let now = (T0 as i64 + off) as u64;
        assert_eq!(names(c.active_keys(now)), active, "active at T0{off:+}");
        assert_eq!(
            c.latest_active(now).map(|k| k.ckn().to_string()).as_deref(),
            latest,
            "latest at T0{off:+}"
        );
    }
    assert_eq!(names(c.active_keys(u64::MAX)), ["03"]);
}

#[test]
fn tie_on_start_goes_to_the_later_key_in_configuration_order() {
    let a = KeyChain::new(
        "a",
        vec![
            key("0A", Lifetime::infinite(T0)),
            key("0B", Lifetime::infinite(T0)),
            key("0C", Lifetime::infinite(T0 - 5)),
        ],
    )
    .unwrap();
    assert_eq!(a.latest_active(T0).unwrap().ckn(), &ckn("0B"));
    let b = KeyChain::new(
        "b",
        vec![
            key("0B", Lifetime::infinite(T0)),
            key("0A", Lifetime::infinite(T0)),
        ],
    )
    .unwrap();
    assert_eq!(b.latest_active(T0).unwrap().ckn(), &ckn("0A"));
    // The latest *start* wins over configuration order.
    assert_eq!(a.latest_active(T0 - 1).unwrap().ckn(), &ckn("0C"));
}

#[test]
fn expiry_kinds() {
    let inf = Lifetime::infinite(T0);
    assert_eq!(inf.end_time(), None);
    assert!(!inf.is_active(T0 - 1));
    assert!(inf.is_active(T0));
    assert!(inf.is_active(u64::MAX));
    assert_eq!(inf.state(T0 - 1), KeyState::Pending);
    assert_eq!(inf.state(u64::MAX), KeyState::Active);

    // "lifetime 05:00:00 01 January 2015 duration 1800"
    let jan1_2015_5am = 1_420_088_400;
    let dur = Lifetime::duration(jan1_2015_5am, 1800);
    assert_eq!(dur.end_time(), Some(1_420_090_200));
    assert!(dur.is_active(1_420_090_199));
    assert!(!dur.is_active(1_420_090_200));
    assert_eq!(dur.state(1_420_090_200), KeyState::Expired);

    // "lifetime 05:00:00 20 february 2015 12:00:00 30 september 2015"
    let (feb20, sep30) = (1_424_408_400, 1_443_614_400);
    let at = Lifetime::until(feb20, sep30);
    assert_eq!(at.end_time(), Some(sep30));
    assert!(!at.is_active(feb20 - 1));
    assert!(at.is_active(feb20));
    assert!(at.is_active(sep30 - 1));
    assert!(!at.is_active(sep30));
    assert_eq!(
        [at.state(feb20 - 1), at.state(feb20), at.state(sep30)],
        [KeyState::Pending, KeyState::Active, KeyState::Expired]
    );

    // A duration past the end of time saturates and stays valid.
    let far = Lifetime::duration(u64::MAX - 10, 100);
    assert_eq!(far.end_time(), Some(u64::MAX));
    assert!(far.is_active(u64::MAX - 1));
    assert!(!far.is_active(u64::MAX));
    assert!(Key::from_hex("01", CAK128, CakAlgorithm::Aes128Cmac, far).is_ok());
}

#[test]
fn next_change_sequence() {
    let c = chain4();
    let mut seq = Vec::new();
    let mut now = 0;
    while let Some(t) = c.next_change(now) {
        assert!(t > now);
        seq.push(t - T0);
        now = t;
    }
    // Starts 0, 900 (02 and 04 together), 1400; ends 1000, 1200, 1500. 03 never ends.
    assert_eq!(seq, [0, 900, 1000, 1200, 1400, 1500]);
    assert_eq!(c.next_change(T0 + 899), Some(T0 + 900));
    assert_eq!(c.next_change(T0 + 900), Some(T0 + 1000));
    assert_eq!(c.next_change(T0 + 1500), None);
    // Every change time really changes the active set; nothing changes between them.
    let points = [T0, T0 + 900, T0 + 1000, T0 + 1200, T0 + 1400, T0 + 1500];
    for t in points {
        assert_ne!(names(c.active_keys(t - 1)), names(c.active_keys(t)), "at {t}");
    }
}

#[test]
fn plan_start_keep_and_no_key() {
    let c = KeyChain::new("p", vec![key("AA", Lifetime::infinite(T0))]).unwrap();
    let p = c.plan(T0 - 1, None, None);
    assert!(matches!(p.primary, PrimaryPlan::NoActiveKey));
    assert!(matches!(p.fallback, FallbackPlan::NotConfigured));
    assert!(p.session_down());
    assert_eq!(p.next_change, Some(T0));

    let p = c.plan(T0, None, None);
    assert!(matches!(p.primary, PrimaryPlan::Start(k) if k.ckn() == &ckn("AA")));
    assert_eq!(
        p.secure_with().map(|(s, k)| (s, k.ckn().to_string())),
        Some((KeySource::Primary, "AA".into()))
    );
    assert_eq!(p.next_change, None);

    let aa = ckn("aa"); // hex in either case names the same CKN
    let p = c.plan(T0 + 5, Some(Current::new(&aa)), None);
    assert!(matches!(p.primary, PrimaryPlan::Keep(k) if k.ckn() == &aa));
    assert_eq!(names(p.primary_keys()), ["AA"]);
    assert!(!p.rollover_due() && !p.current_gone() && !p.session_down());
}

/// Old key A: [T0, T0+3600); new key B: [T0+3000, infinite). The guide's one-minute overlap.
fn rollover_chain(a_end: u64) -> KeyChain {
    KeyChain::new(
        "roll",
        vec![
            key("0A", Lifetime::until(T0, a_end)),
            key("0B", Lifetime::infinite(T0 + 3000)),
        ],
    )
    .unwrap()
}

#[test]
fn hitless_rollover_keeps_the_old_key_one_minute() {
    assert_eq!(ROLLOVER_OVERLAP, 60);
    let c = rollover_chain(T0 + 3600);
    let (a, b) = (ckn("0A"), ckn("0B"));

    let p = c.plan(T0 + 2999, Some(Current::new(&a)), None);
    assert!(matches!(p.primary, PrimaryPlan::Keep(k) if k.ckn() == &a));
    assert_eq!(p.next_change, Some(T0 + 3000));

    // B becomes the latest active key while A is still active: run both.
    let p = c.plan(T0 + 3000, Some(Current::new(&a)), None);
    match p.primary {
        PrimaryPlan::Rollover {
            from,
            to,
            started,
            retire_at,
            short_overlap,
        } => {
            assert_eq!((from.ckn(), to.ckn()), (&a, &b));
            assert_eq!((started, retire_at, short_overlap), (T0 + 3000, T0 + 3060, false));
        }
        ref other => panic!("{other:?}"),
    }
    assert!(p.rollover_due());
    assert_eq!(names(p.primary_keys()), ["0A", "0B"]);
    assert_eq!(p.secure_with().unwrap().1.ckn(), &b);
    assert_eq!(p.next_change, Some(T0 + 3060)); // the overlap's end comes before A's expiry

    // Still overlapping one second before the minute is up.
    let p = c.plan(T0 + 3059, Some(Current::rolling_over(&a, T0 + 3000)), None);
    assert!(matches!(p.primary, PrimaryPlan::Rollover { retire_at, .. } if retire_at == T0 + 3060));
    assert_eq!(p.next_change, Some(T0 + 3060));

    // After exactly 60 s: retire A.
    let p = c.plan(T0 + 3060, Some(Current::rolling_over(&a, T0 + 3000)), None);
    assert!(matches!(p.primary, PrimaryPlan::RetireOld { from, to } if from.ckn() == &a && to.ckn() == &b));
    assert_eq!(names(p.primary_keys()), ["0B"]);
    assert_eq!(p.next_change, Some(T0 + 3600));

    // B is now current.
    let p = c.plan(T0 + 3060, Some(Current::new(&b)), None);
    assert!(matches!(p.primary, PrimaryPlan::Keep(k) if k.ckn() == &b));
}

#[test]
fn rollover_seen_late_still_gets_a_full_minute() {
    // A rollover first noticed at T0+3500 (e.g. a key added with a start time in the past).
    let c = rollover_chain(T0 + 3600);
    let a = ckn("0A");
    let p = c.plan(T0 + 3500, Some(Current::new(&a)), None);
    assert!(matches!(
        p.primary,
        PrimaryPlan::Rollover { started, retire_at, short_overlap: false, .. }
            if started == T0 + 3500 && retire_at == T0 + 3560
    ));
    let p = c.plan(T0 + 3559, Some(Current::rolling_over(&a, T0 + 3500)), None);
    assert!(p.rollover_due());
    let p = c.plan(T0 + 3560, Some(Current::rolling_over(&a, T0 + 3500)), None);
    assert!(matches!(p.primary, PrimaryPlan::RetireOld { .. }));
}

#[test]
fn rollover_with_short_overlap_then_expiry() {
    // A ends 30 s after B starts: less than the recommended minute.
    let c = rollover_chain(T0 + 3030);
    let (a, b) = (ckn("0A"), ckn("0B"));
    let p = c.plan(T0 + 3000, Some(Current::new(&a)), None);
    assert!(matches!(
        p.primary,
        PrimaryPlan::Rollover { retire_at, short_overlap: true, .. } if retire_at == T0 + 3060
    ));
    assert_eq!(p.next_change, Some(T0 + 3030)); // A's expiry comes first
    let p = c.plan(T0 + 3030, Some(Current::rolling_over(&a, T0 + 3000)), None);
    match p.primary {
        PrimaryPlan::CurrentGone {
            ref ckn,
            reason,
            replacement,
        } => {
            assert_eq!((ckn, reason), (&a, GoneReason::Expired));
            assert_eq!(replacement.unwrap().ckn(), &b);
        }
        ref other => panic!("{other:?}"),
    }
    assert_eq!(names(p.primary_keys()), ["0B"]);
    assert!(!p.session_down());
}

#[test]
fn no_overlap_is_not_a_rollover() {
    // A ends exactly when B starts: the current key is gone, B starts a new session.
    let c = rollover_chain(T0 + 3000);
    let a = ckn("0A");
    let p = c.plan(T0 + 3000, Some(Current::new(&a)), None);
    assert!(matches!(
        p.primary,
        PrimaryPlan::CurrentGone { reason: GoneReason::Expired, replacement: Some(k), .. } if k.ckn() == &ckn("0B")
    ));
    assert!(p.current_gone() && !p.rollover_due());
}

fn fallback(start: u64) -> FallbackPsk {
    FallbackPsk::new(
        KeyChain::new("fallback_mac_chain", vec![key("ABCD", Lifetime::infinite(start))]).unwrap(),
    )
    .unwrap()
}

#[test]
fn expiry_without_fallback_brings_the_session_down() {
    let c = KeyChain::new("p", vec![key("1000", Lifetime::duration(T0, 100))]).unwrap();
    let cur = ckn("1000");
    let p = c.plan(T0 + 99, Some(Current::new(&cur)), None);
    assert!(matches!(p.primary, PrimaryPlan::Keep(_)));
    assert_eq!(p.next_change, Some(T0 + 100));
    let p = c.plan(T0 + 100, Some(Current::new(&cur)), None);
    assert!(matches!(
        p.primary,
        PrimaryPlan::CurrentGone {
            reason: GoneReason::Expired,
            replacement: None,
            ..
        }
    ));
    assert!(matches!(p.fallback, FallbackPlan::NotConfigured));
    assert!(p.current_gone() && p.session_down());
    assert_eq!(p.secure_with().map(|(s, _)| s), None);
    assert!(p.primary_keys().is_empty());
    assert_eq!(p.next_change, None);
    // And with nothing running any more:
    assert!(matches!(
        c.plan(T0 + 100, None, None).primary,
        PrimaryPlan::NoActiveKey
    ));
}

#[test]
fn expiry_with_fallback_is_protected_by_the_fallback_key() {
    let c = KeyChain::new("p", vec![key("1000", Lifetime::duration(T0, 100))]).unwrap();
    let fb = fallback(T0 - 1000);
    fb.check_distinct(&c).unwrap();
    let cur = ckn("1000");

    let p = c.plan(T0 + 99, Some(Current::new(&cur)), Some(&fb));
    assert!(matches!(p.fallback, FallbackPlan::Standby(k) if k.ckn() == &ckn("ABCD")));
    assert_eq!(
        p.secure_with().map(|(s, k)| (s, k.ckn().to_string())),
        Some((KeySource::Primary, "1000".into()))
    );
    assert_eq!(p.fallback_key().unwrap().ckn(), &ckn("ABCD"));

    let p = c.plan(T0 + 100, Some(Current::new(&cur)), Some(&fb));
    assert!(p.current_gone());
    assert!(matches!(p.fallback, FallbackPlan::Protect(k) if k.ckn() == &ckn("ABCD")));
    assert_eq!(
        p.secure_with().map(|(s, k)| (s, k.ckn().to_string())),
        Some((KeySource::Fallback, "ABCD".into()))
    );
    assert!(!p.session_down());
    assert_eq!(p.next_change, None);

    // A primary key that never started: fallback protects from the outset.
    let later = KeyChain::new("p2", vec![key("2000", Lifetime::infinite(T0 + 500))]).unwrap();
    let p = later.plan(T0, None, Some(&fb));
    assert!(matches!(p.primary, PrimaryPlan::NoActiveKey));
    assert!(matches!(p.fallback, FallbackPlan::Protect(_)));
    assert_eq!(p.next_change, Some(T0 + 500));
    let p = later.plan(T0 + 500, None, Some(&fb));
    assert!(matches!(p.primary, PrimaryPlan::Start(_)));
    assert!(matches!(p.fallback, FallbackPlan::Standby(_)));
}

#[test]
fn fallback_not_yet_active_and_next_change() {
    let c = KeyChain::new("p", vec![key("1000", Lifetime::duration(T0, 100))]).unwrap();
    let fb = fallback(T0 + 50);
    let p = c.plan(T0, None, Some(&fb));
    assert!(matches!(p.fallback, FallbackPlan::NoActiveKey));
    assert_eq!(p.fallback_key().map(|k| k.ckn().clone()), None);
    assert_eq!(p.next_change, Some(T0 + 50)); // the fallback key's start, before the primary's end
    let p = c.plan(T0 + 50, Some(Current::new(&ckn("1000"))), Some(&fb));
    assert!(matches!(p.fallback, FallbackPlan::Standby(_)));
    assert_eq!(p.next_change, Some(T0 + 100));
    // The latest started fallback key is used.
    let fb2 = FallbackPsk::new(
        KeyChain::new(
            "fb",
            vec![
                key("F1", Lifetime::infinite(T0)),
                key("F2", Lifetime::infinite(T0 + 10)),
            ],
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(fb2.latest_active(T0 + 9).unwrap().ckn(), &ckn("F1"));
    assert_eq!(fb2.latest_active(T0 + 10).unwrap().ckn(), &ckn("F2"));
}

#[test]
fn current_removed_or_not_yet_started() {
    let c = KeyChain::new(
        "p",
        vec![
            key("01", Lifetime::infinite(T0)),
            key("02", Lifetime::infinite(T0 + 100)),
        ],
    )
    .unwrap();
    let gone = ckn("99");
    let p = c.plan(T0 + 1, Some(Current::new(&gone)), None);
    assert!(matches!(
        p.primary,
        PrimaryPlan::CurrentGone { reason: GoneReason::Removed, replacement: Some(k), .. } if k.ckn() == &ckn("01")
    ));
    // A key in use whose start is in the future (its start moved later, or the clock stepped
    // back) stays in use: start times only gate starting a key.
    let future = ckn("02");
    let p = c.plan(T0 + 1, Some(Current::new(&future)), None);
    assert!(matches!(p.primary, PrimaryPlan::Keep(k) if k.ckn() == &future));
}

#[test]
fn rollover_target_changes_mid_rollover() {
    // A current; B starts at +100; C starts at +130 while the A->B rollover is still overlapping.
    let c = KeyChain::new(
        "p",
        vec![
            key("0A", Lifetime::infinite(T0)),
            key("0B", Lifetime::infinite(T0 + 100)),
            key("0C", Lifetime::infinite(T0 + 130)),
        ],
    )
    .unwrap();
    let a = ckn("0A");
    let p = c.plan(T0 + 130, Some(Current::rolling_over(&a, T0 + 100)), None);
    match p.primary {
        PrimaryPlan::Rollover {
            to,
            started,
            retire_at,
            ..
        } => {
            assert_eq!(to.ckn(), &ckn("0C"));
            assert_eq!((started, retire_at), (T0 + 130, T0 + 190));
        }
        ref other => panic!("{other:?}"),
    }
    assert_eq!(names(p.primary_keys()), ["0A", "0C"]); // B's participant is stopped
}

#[test]
fn ckn_and_algorithm_parsing() {
    let k = ckn("1234abcd5678");
    assert_eq!(k.to_string(), "1234ABCD5678");
    assert_eq!(k.as_bytes(), [0x12, 0x34, 0xab, 0xcd, 0x56, 0x78]);
    assert_eq!(k.len(), 6);
    assert_eq!("1234ABCD5678".parse::<Ckn>().unwrap(), k);
    assert_eq!(format!("{k:?}"), "Ckn(1234ABCD5678)");
    assert_eq!(Ckn::from_hex(&"ab".repeat(32)).unwrap().len(), 32);

    assert_eq!(
        "AES-128-CMAC".parse::<CakAlgorithm>().unwrap(),
        CakAlgorithm::Aes128Cmac
    );
    assert_eq!(
        "aes-256-cmac".parse::<CakAlgorithm>().unwrap(),
        CakAlgorithm::Aes256Cmac
    );
    assert_eq!(CakAlgorithm::Aes128Cmac.key_len(), 16);
    assert_eq!(CakAlgorithm::Aes256Cmac.key_len(), 32);
    assert_eq!(CakAlgorithm::Aes256Cmac.to_string(), "AES-256-CMAC");
    assert_eq!(
        "AES-128-GCM".parse::<CakAlgorithm>().unwrap_err(),
        KeyChainError::UnknownAlgorithm("AES-128-GCM".into())
    );

    let k256 = Key::from_hex("01", CAK256, CakAlgorithm::Aes256Cmac, Lifetime::infinite(0)).unwrap();
    assert_eq!(k256.cak().len(), 32);
    assert_eq!(&k256.cak()[..4], [0x12, 0x34, 0x56, 0x78]);

    assert_eq!(
        unix_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(T0 * 1000 + 999)),
        T0
    );
    assert_eq!(
        unix_seconds(std::time::UNIX_EPOCH - std::time::Duration::from_secs(1)),
        0
    );
}

#[test]
fn validation_errors() {
    use CakAlgorithm::*;
    let inf = Lifetime::infinite(T0);

    // CKN length and hex, as the key chain reads the IOS XR key ID.
    assert_eq!(
        ckn_from_hex("").unwrap_err(),
        KeyChainError::CknLength { len: 0, max: 32 }
    );
    assert_eq!(
        ckn_from_hex(&"a".repeat(66)).unwrap_err(),
        KeyChainError::CknLength { len: 33, max: 32 }
    );
    assert_eq!(
        ckn_from_hex("abc").unwrap_err(),
        KeyChainError::CknHex { text: "abc".into() }
    );
    assert_eq!(
        ckn_from_hex("zz").unwrap_err(),
        KeyChainError::CknHex { text: "zz".into() }
    );
    assert!(Ckn::new(&[]).is_err() && Ckn::new(&[0; 33]).is_err());
    assert_eq!(
        ckn_from_hex(&"00".repeat(33)).unwrap_err().to_string(),
        "CKN must be 1 to 32 octets (2 to 64 hex digits), got 33 octets"
    );

    // CAK length against the algorithm.
    assert_eq!(
        Key::from_hex("01", CAK128, Aes256Cmac, inf).unwrap_err(),
        KeyChainError::CakLength {
            ckn: ckn("01"),
            algorithm: Aes256Cmac,
            expected: 32,
            got: 16
        }
    );
    assert_eq!(
        Key::from_hex("01", CAK256, Aes128Cmac, inf)
            .unwrap_err()
            .to_string(),
        "key 01: AES-128-CMAC needs a 16-octet CAK, got 32 octets"
    );
    assert!(matches!(
        Key::new(ckn("01"), Zeroizing::new(vec![7; 24]), Aes128Cmac, inf),
        Err(KeyChainError::CakLength { got: 24, .. })
    ));

    // Lifetime end before, or at, the start.
    assert_eq!(
        Key::from_hex("01", CAK128, Aes128Cmac, Lifetime::until(T0, T0 - 1)).unwrap_err(),
        KeyChainError::LifetimeEndsBeforeStart {
            ckn: ckn("01"),
            start: T0,
            end: T0 - 1
        }
    );
    assert!(matches!(
        Key::from_hex("01", CAK128, Aes128Cmac, Lifetime::until(T0, T0)),
        Err(KeyChainError::LifetimeEndsBeforeStart { .. })
    ));
    assert_eq!(
        Key::from_hex("01", CAK128, Aes128Cmac, Lifetime::duration(T0, 0))
            .unwrap_err()
            .to_string(),
        format!("key 01: lifetime ends at {T0}, not after its start {T0}")
    );

    // Chains.
    assert_eq!(
        KeyChain::new("x", vec![]).unwrap_err(),
        KeyChainError::EmptyChain { chain: "x".into() }
    );
    assert_eq!(
        KeyChain::new("", vec![key("01", inf)]).unwrap_err(),
        KeyChainError::EmptyName
    );
    assert_eq!(
        KeyChain::new("x", vec![key("ab01", inf), key("02", inf), key("AB01", inf)]).unwrap_err(),
        KeyChainError::DuplicateCkn {
            chain: "x".into(),
            ckn: ckn("AB01")
        }
    );
    assert_eq!(
        KeyChain::new("x", vec![key("01", inf), key("01", inf)])
            .unwrap_err()
            .to_string(),
        "key chain x: CKN 01 is configured more than once"
    );

    // Fallback: infinite lifetimes only, and a chain distinct from the primary.
    let finite = KeyChain::new("fb", vec![key("F1", inf), key("F2", Lifetime::duration(T0, 10))]).unwrap();
    assert_eq!(
        FallbackPsk::new(finite).unwrap_err(),
        KeyChainError::FallbackNotInfinite {
            chain: "fb".into(),
            ckn: ckn("F2")
        }
    );
    let primary = KeyChain::new("p", vec![key("01", inf), key("F1", inf)]).unwrap();
    let fb = FallbackPsk::new(KeyChain::new("fb", vec![key("F1", inf)]).unwrap()).unwrap();
    assert_eq!(
        fb.check_distinct(&primary).unwrap_err(),
        KeyChainError::FallbackSharesCkn {
            primary: "p".into(),
            fallback: "fb".into(),
            ckn: ckn("F1")
        }
    );
    let same = FallbackPsk::new(KeyChain::new("p", vec![key("F9", inf)]).unwrap()).unwrap();
    assert_eq!(
        same.check_distinct(&primary).unwrap_err(),
        KeyChainError::FallbackSameChain { chain: "p".into() }
    );
}

#[test]
fn debug_and_errors_never_show_the_cak() {
    let secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let k = Key::from_hex(
        "1234abcd5678",
        secret,
        CakAlgorithm::Aes128Cmac,
        Lifetime::infinite(T0),
    )
    .unwrap();
    let dbg = format!("{k:?}");
    assert_eq!(
        dbg,
        "Key { ckn: Ckn(1234ABCD5678), cak: ***, algorithm: Aes128Cmac, \
         lifetime: Lifetime { start: 1700000000, end: Infinite } }"
    );
    let chain = KeyChain::new("mac_chain", vec![k]).unwrap();
    let all = format!("{chain:?} {chain:#?} {:?}", chain.plan(T0, None, None));
    assert!(all.contains("***"));
    for leak in [secret, &secret.to_uppercase(), "15, 30, 45", "0xf", "[15"] {
        assert!(!all.contains(leak), "{leak} in {all}");
    }
    // A malformed CAK is not quoted back, not even the bad digit.
    let err = Key::from_hex(
        "01",
        "0f1e2d3c4b5a69788796a5b4c3d2e1fQ",
        CakAlgorithm::Aes128Cmac,
        Lifetime::infinite(0),
    )
    .unwrap_err();
    assert_eq!(err, KeyChainError::CakHex { ckn: ckn("01") });
    assert_eq!(
        err.to_string(),
        "key 01: the CAK is not valid hex (an even number of hex digits)"
    );
}
