//! The lines macsecd logs ([`control::log::LogEvent`]): the guide's mnemonics and syslog texts
//! for the engine's events, macsecd's own texts for the rest, byte for byte as the scripts grep
//! them, and each event's mnemonic, severity and fields.

use control::config::{Host, ServerAddress};
use control::log::{DaemonEvent, LogEvent, PortEvent, PpkSourceKind};
use control::ppk::KeyId;
use macsec::secy::{CipherSuite, Sci};
use mka::kay::{MkaEvent, PpkFailure, SakRefusal};
use mka::ppk::PpkKeyId;
use mka::{Ckn, Ki, Mi};
use std::path::PathBuf;

fn ckn() -> Ckn {
    Ckn::from_hex("a1b2c3d4e5f60718293a4b5c6d7e8f90").unwrap()
}

const CKN: &str = "A1B2C3D4E5F60718293A4B5C6D7E8F90";
const IF: &str = "Hu0/2/0/11";
const PEER: Sci = Sci(0x0011_2233_4455_0001);

fn ki() -> Ki {
    Ki::new(Mi(*b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"), 2)
}

fn mka(ev: MkaEvent) -> LogEvent {
    LogEvent::mka(IF, ev)
}

fn port(ev: PortEvent) -> LogEvent {
    LogEvent::port(IF, ev)
}

#[test]
fn ppk_failures_name_the_key_id_and_the_session() {
    let key_id = Some(PpkKeyId::new(b"key-1").unwrap());
    let fetch = PpkFailure::Fetch {
        key_id: key_id.clone(),
        reason: "KME 192.0.2.34:10001 did not answer (3 attempts)".into(),
    };
    assert_eq!(
        LogEvent::mka("Hu0/2/0/11", MkaEvent::PpkFailure { ckn: ckn(), failure: fetch }).to_string(),
        "%L2-MKA-3-PPK_FETCH_FAILURE : (Hu0/2/0/11) could not obtain the PPK with key ID 6b65792d31: KME 192.0.2.34:10001 did not answer (3 attempts); the session is not secured with it, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90"
    );
    let nc = PpkFailure::NotConfigured { key_id };
    assert_eq!(
        LogEvent::mka("Te0/0/0/24", MkaEvent::PpkFailure { ckn: ckn(), failure: nc }).to_string(),
        "%L2-MKA-3-PPK_NOT_CONFIGURED : (Te0/0/0/24) the key server distributed the SAK with PPK key ID 6b65792d31, but no ppk sks-profile is configured; the session is not secured with it, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90"
    );
}

/// Every event of the engine: its text, mnemonic and the peer SCI it names.
#[test]
fn every_mka_event_has_the_guides_text() {
    let cases: Vec<(MkaEvent, &str, Option<Sci>)> = vec![
        (
            MkaEvent::SessionSecured {
                ckn: ckn(),
                ki: ki(),
                fallback: false,
            },
            "%L2-MKA-5-SESSION_SECURED : (Hu0/2/0/11) MKA session secured, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::SessionSecured {
                ckn: ckn(),
                ki: ki(),
                fallback: true,
            },
            "%L2-MKA-5-SESSION_SECURED_WITH_FALLBACK_PSK : (Hu0/2/0/11) MKA session secured, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::IcvFailure {
                ckn: ckn(),
                fallback: false,
                source: [2, 0, 0, 0, 0, 1],
                peer: PEER,
            },
            "%L2-MKA-3-MKPDU_ICV_FAILURE: (Hu0/2/0/11), ICV verification failed for RxSCI(0011.2233.4455/0001), CKN(A1B2C3D4E5F60718293A4B5C6D7E8F90)",
            Some(PEER),
        ),
        (
            MkaEvent::IcvFailure {
                ckn: ckn(),
                fallback: true,
                source: [2, 0, 0, 0, 0, 1],
                peer: PEER,
            },
            "%L2-MKA-3-FALLBACK_PSK_MKPDU_ICV_FAILURE: (Hu0/2/0/11), ICV verification failed for RxSCI(0011.2233.4455/0001), CKN(A1B2C3D4E5F60718293A4B5C6D7E8F90)",
            Some(PEER),
        ),
        (
            MkaEvent::IcvSuccess {
                ckn: ckn(),
                peer: PEER,
                fallback: false,
            },
            "%L2-MKA-6-MKPDU_ICV_SUCCESS: (Hu0/2/0/11), ICV verification success for RxSCI(0011.2233.4455/0001), CKN(A1B2C3D4E5F60718293A4B5C6D7E8F90)",
            Some(PEER),
        ),
        (
            MkaEvent::IcvSuccess {
                ckn: ckn(),
                peer: PEER,
                fallback: true,
            },
            "%L2-MKA-6-FALLBACK_PSK_MKPDU_ICV_SUCCESS: (Hu0/2/0/11), ICV verification success for RxSCI(0011.2233.4455/0001), CKN(A1B2C3D4E5F60718293A4B5C6D7E8F90)",
            Some(PEER),
        ),
        (
            MkaEvent::SakGenerated {
                ckn: ckn(),
                ki: ki(),
                an: 1,
                rekey: false,
            },
            "%L2-MKA-6-SAK_GENERATED : (Hu0/2/0/11) generated SAK with KI 0102030405060708090a0b0c/2 AN 1, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::SakGenerated {
                ckn: ckn(),
                ki: ki(),
                an: 2,
                rekey: true,
            },
            "%L2-MKA-6-SAK_REKEY : (Hu0/2/0/11) rekeyed SAK with KI 0102030405060708090a0b0c/2 AN 2, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::SakReceived {
                ckn: ckn(),
                ki: ki(),
                an: 3,
            },
            "%L2-MKA-6-SAK_RECEIVED : (Hu0/2/0/11) received SAK KI 0102030405060708090a0b0c/2 AN 3, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::SessionStopped { ckn: ckn() },
            "%L2-MKA-4-SESSION_STOPPED : (Hu0/2/0/11) MKA session stopped, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::PeerLive {
                ckn: ckn(),
                peer: PEER,
            },
            "%L2-MKA-6-PEER_LIVE : (Hu0/2/0/11) peer 0011223344550001 live, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            Some(PEER),
        ),
        (
            MkaEvent::PeerLost {
                ckn: ckn(),
                peer: PEER,
            },
            "%L2-MKA-4-PEER_LOST : (Hu0/2/0/11) peer 0011223344550001 timed out, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            Some(PEER),
        ),
        (
            MkaEvent::PeerLimit { ckn: ckn(), limit: 64 },
            "%L2-MKA-4-PEER_LIMIT : (Hu0/2/0/11) 64 peers, the limit: MKPDUs of new members are dropped until one ages out, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::KeyServerElected {
                ckn: ckn(),
                key_server: PEER,
                local: false,
            },
            "%L2-MKA-6-KEY_SERVER_ELECTED : (Hu0/2/0/11) key server 0011223344550001, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            Some(PEER),
        ),
        (
            MkaEvent::KeyServerElected {
                ckn: ckn(),
                key_server: Sci(0x0011_2233_4466_0001),
                local: true,
            },
            "%L2-MKA-6-KEY_SERVER_ELECTED : (Hu0/2/0/11) key server 0011223344660001 (this node), CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::PpkFailure {
                ckn: ckn(),
                failure: PpkFailure::Missing,
            },
            "%L2-MKA-3-PPK_MODE_MISMATCH : (Hu0/2/0/11) ppk sks-profile is configured, but the key server distributed the SAK without a PPK; the session is not secured with it, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
        (
            MkaEvent::SakRefused {
                ckn: ckn(),
                from: PEER,
                reason: SakRefusal::NotLive,
            },
            "%L2-MKA-4-SAK_REFUSED : (Hu0/2/0/11) Distributed SAK from 0011223344550001 not used: the sender is not a live peer, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            Some(PEER),
        ),
        (
            MkaEvent::CipherSuiteMismatch {
                ckn: ckn(),
                distributed: CipherSuite::GcmAesXpn256,
                policy: CipherSuite::GcmAes256,
            },
            "%L2-MKA-3-CIPHER_SUITE_MISMATCH : (Hu0/2/0/11) the key server distributes GCM-AES-XPN-256 SAKs, the policy's cipher-suite is GCM-AES-256: SAK not used, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90",
            None,
        ),
    ];
    for (ev, text, peer) in cases {
        let ev = mka(ev);
        assert_eq!(ev.to_string(), text);
        // The mnemonic is the text's, without the `%` (and the `:` the guide's ICV lines put
        // right after it); the severity is its digit.
        let mnemonic = ev.mnemonic().to_string();
        assert_eq!(
            Some(mnemonic.as_str()),
            text[1..].split([' ', ':']).next(),
            "{text}"
        );
        assert_eq!(
            mnemonic.split('-').nth(2),
            Some(ev.severity().to_string().as_str())
        );
        assert_eq!(ev.mnemonic().facility, "L2-MKA");
        assert_eq!(ev.interface(), Some(IF));
        assert_eq!(ev.ckn().map(|c| c.to_string()).as_deref(), Some(CKN));
        assert_eq!(ev.peer_sci(), peer, "{text}");
    }
}

/// Every event of macsecd's own: its text (as the scripts grep it), mnemonic and fields.
#[test]
fn every_daemon_event_has_its_text() {
    let kid = PpkKeyId::new(b"5c6b1e20-2f7c-4a4e-9d1e-3f1f5b0c7a11").unwrap();
    let cases: Vec<(LogEvent, &str, &str)> = vec![
        (
            port(PortEvent::PpkProfile {
                profile: "prof-A".into(),
                source: PpkSourceKind::Sks {
                    state_dir: PathBuf::from("/var/lib/macsec/sks"),
                },
            }),
            "macsecd: (Hu0/2/0/11) PPK key distribution with sks profile prof-A (SKS, /var/lib/macsec/sks)",
            "MACSECD-6-SKS_PROFILE",
        ),
        (
            port(PortEvent::PpkProfile {
                profile: "R1toR2".into(),
                source: PpkSourceKind::Skip {
                    kme_server: Some(ServerAddress {
                        host: Host::Ipv4([192, 0, 2, 34].into()),
                        port: 10001,
                    }),
                },
            }),
            "macsecd: (Hu0/2/0/11) PPK key distribution with sks profile R1toR2 (SKIP, kme server ipv4 192.0.2.34 port 10001)",
            "MACSECD-6-SKS_PROFILE",
        ),
        (
            port(PortEvent::PpkProfile {
                profile: "R1toR2".into(),
                source: PpkSourceKind::Skip { kme_server: None },
            }),
            "macsecd: (Hu0/2/0/11) PPK key distribution with sks profile R1toR2 (SKIP, no KME)",
            "MACSECD-6-SKS_PROFILE",
        ),
        (
            port(PortEvent::PpkAsking {
                ckn: ckn(),
                profile: "R1toR2".into(),
                key_id: None,
            }),
            "macsecd: (Hu0/2/0/11) asking sks profile R1toR2 for a fresh PPK",
            "MACSECD-6-SKS_REQUEST",
        ),
        (
            port(PortEvent::PpkAsking {
                ckn: ckn(),
                profile: "R1toR2".into(),
                key_id: Some(kid.clone()),
            }),
            "macsecd: (Hu0/2/0/11) asking sks profile R1toR2 for the PPK with key ID 5c6b1e20-2f7c-4a4e-9d1e-3f1f5b0c7a11",
            "MACSECD-6-SKS_REQUEST",
        ),
        (
            port(PortEvent::PpkAsking {
                ckn: ckn(),
                profile: "prof-A".into(),
                key_id: Some(PpkKeyId::new(&[0xa0, 0xa1, 0x00, 0xff]).unwrap()),
            }),
            "macsecd: (Hu0/2/0/11) asking sks profile prof-A for the PPK with key ID a0a100ff",
            "MACSECD-6-SKS_REQUEST",
        ),
        (
            port(PortEvent::PpkObtained {
                ckn: ckn(),
                key_id: KeyId::new(kid.as_bytes()).unwrap(),
                ms: 42,
            }),
            "macsecd: (Hu0/2/0/11) PPK key ID 5c6b1e20-2f7c-4a4e-9d1e-3f1f5b0c7a11 obtained in 42 ms",
            "MACSECD-6-SKS_KEY_OBTAINED",
        ),
        (
            port(PortEvent::PpkRequestFailed { ckn: ckn(), ms: 3005 }),
            "macsecd: (Hu0/2/0/11) PPK request failed after 3005 ms",
            "MACSECD-6-SKS_REQUEST_FAILED",
        ),
        (
            port(PortEvent::SasInherited { tx: 1, rx: 2 }),
            "macsecd: (Hu0/2/0/11) 1 Tx and 2 Rx SAs already in the dataplane keep traffic flowing until this session secures",
            "MACSECD-6-SAS_INHERITED",
        ),
        (
            port(PortEvent::SasRetired { tx: 1, rx: 1 }),
            "macsecd: (Hu0/2/0/11) 1 Tx and 1 Rx SAs of the previous session deleted",
            "MACSECD-6-SAS_RETIRED",
        ),
        (
            port(PortEvent::RxSaAdopted {
                sci: PEER,
                an: 1,
                ki: ki(),
            }),
            "macsecd: (Hu0/2/0/11) Rx SA 0011223344550001 AN 1 already holds SAK KI 0102030405060708090a0b0c/2: kept",
            "MACSECD-6-RX_SA_ADOPTED",
        ),
        (
            port(PortEvent::TxSaAdopted { an: 1, ki: ki() }),
            "macsecd: (Hu0/2/0/11) Tx SA AN 1 already holds SAK KI 0102030405060708090a0b0c/2: kept, with its PN",
            "MACSECD-6-TX_SA_ADOPTED",
        ),
        (
            port(PortEvent::DataplaneRefused {
                code: ipc::ErrorCode::Busy,
                message: "InstallRxSa: the link's worker has stopped".into(),
            }),
            "macsecd: (Hu0/2/0/11) the dataplane refused InstallRxSa: the link's worker has stopped (Busy): the MKA session of the interface restarts",
            "MACSECD-3-DATAPLANE_REFUSED",
        ),
        (
            port(PortEvent::SessionRestarted),
            "macsecd: (Hu0/2/0/11) MKA session restarted after the dataplane's refusal",
            "MACSECD-5-PORT_RESTARTED",
        ),
        (
            port(PortEvent::InjectRefused {
                count: 4,
                code: ipc::ErrorCode::BadArgument,
                message: "too long".into(),
            }),
            "macsecd: (Hu0/2/0/11) the dataplane refused an MKPDU (BadArgument: too long), 4 so far",
            "MACSECD-4-MKPDU_REFUSED",
        ),
        (
            port(PortEvent::NotALink { reload: false }),
            "macsecd: interface Hu0/2/0/11 is not a link of the dataplane: not started",
            "MACSECD-6-NOT_A_LINK",
        ),
        (
            port(PortEvent::NotALink { reload: true }),
            "macsecd: reload: interface Hu0/2/0/11 is not a link of the dataplane: not started",
            "MACSECD-6-NOT_A_LINK",
        ),
        (
            port(PortEvent::Added),
            "macsecd: reload: interface Hu0/2/0/11 added: its MKA session starts",
            "MACSECD-6-INTERFACE_ADDED",
        ),
        (
            port(PortEvent::Removed { tx: 1, rx: 1 }),
            "macsecd: reload: interface Hu0/2/0/11 removed: its MKA session stopped, 1 Tx and 1 Rx SAs deleted",
            "MACSECD-6-INTERFACE_REMOVED",
        ),
        (
            port(PortEvent::PolicyChanged),
            "macsecd: reload: the policy of Hu0/2/0/11 changed: its MKA session restarts with it",
            "MACSECD-6-POLICY_CHANGED",
        ),
        (
            port(PortEvent::KeychainsApplied),
            "macsecd: reload: key chains of Hu0/2/0/11 applied",
            "MACSECD-6-KEYCHAINS_APPLIED",
        ),
        (
            port(PortEvent::Stopped { tx: 2, rx: 2 }),
            "macsecd: (Hu0/2/0/11) stopped: 2 Tx and 2 Rx SAs deleted",
            "MACSECD-6-INTERFACE_STOPPED",
        ),
        (
            port(PortEvent::ClockStep { seconds: -3600 }),
            "%L2-MKA-4-CLOCK_STEP : (Hu0/2/0/11) the wall clock stepped back by 3600 s: the key in use stays until its lifetime ends",
            "L2-MKA-4-CLOCK_STEP",
        ),
        (
            port(PortEvent::ClockStep { seconds: 3600 }),
            "%L2-MKA-4-CLOCK_STEP : (Hu0/2/0/11) the wall clock stepped forward by 3600 s: keys whose lifetime the new time has passed end",
            "L2-MKA-4-CLOCK_STEP",
        ),
        (
            LogEvent::Daemon(DaemonEvent::ConfigNote {
                path: PathBuf::from("/etc/macsec/a.xr"),
                note: "line 3: `hostname R1` is not MACsec configuration: ignored".into(),
            }),
            "macsecd: /etc/macsec/a.xr: note: line 3: `hostname R1` is not MACsec configuration: ignored",
            "MACSECD-4-CONFIG_NOTE",
        ),
        (
            LogEvent::Daemon(DaemonEvent::ReloadDeferred),
            "macsecd: reload: applied when the dataplane is back",
            "MACSECD-6-RELOAD_DEFERRED",
        ),
        (
            LogEvent::Daemon(DaemonEvent::ReloadRefused {
                reason: "/etc/macsec/a.xr: line 7: unknown command `cipher-sweet` in macsec-policy P1".into(),
            }),
            "macsecd: reload refused, running configuration kept: /etc/macsec/a.xr: line 7: unknown command `cipher-sweet` in macsec-policy P1",
            "MACSECD-6-RELOAD_REFUSED",
        ),
        (
            LogEvent::Daemon(DaemonEvent::DataplaneLost {
                path: PathBuf::from("/run/macsec/dataplane.sock"),
                error: "the dataplane closed the connection".into(),
            }),
            "macsecd: dataplane /run/macsec/dataplane.sock: the dataplane closed the connection; reconnecting",
            "MACSECD-3-DATAPLANE_LOST",
        ),
        (
            LogEvent::Daemon(DaemonEvent::DataplaneBack {
                path: PathBuf::from("/run/macsec/dataplane.sock"),
            }),
            "macsecd: dataplane /run/macsec/dataplane.sock is back; MKA sessions restart",
            "MACSECD-6-DATAPLANE_BACK",
        ),
        (
            LogEvent::Daemon(DaemonEvent::SaDeleteFailed {
                error: "Broken pipe (os error 32)".into(),
            }),
            "macsecd: could not delete the SAs: Broken pipe (os error 32)",
            "MACSECD-3-SA_DELETE_FAILED",
        ),
    ];
    for (ev, text, mnemonic) in cases {
        assert_eq!(ev.to_string(), text);
        assert_eq!(ev.mnemonic().to_string(), mnemonic, "{text}");
        // The system tests count lines with `PPK_` as PPK failures, and the interop test
        // lines with the failure mnemonics: macsecd's own events name none of them.
        for m in [
            "PPK_",
            "ICV_FAILURE",
            "SAK_REFUSED",
            "CIPHER_SUITE_MISMATCH",
            "SESSION_",
        ] {
            assert!(!mnemonic.contains(m), "{mnemonic}");
        }
        let (interface, ckn, peer) = (ev.interface(), ev.ckn(), ev.peer_sci());
        match &ev {
            LogEvent::Port { event, .. } => {
                assert_eq!(interface, Some(IF));
                let has_ckn = matches!(
                    event,
                    PortEvent::PpkAsking { .. }
                        | PortEvent::PpkObtained { .. }
                        | PortEvent::PpkRequestFailed { .. }
                );
                assert_eq!(ckn.is_some(), has_ckn, "{text}");
                assert_eq!(
                    peer,
                    matches!(event, PortEvent::RxSaAdopted { .. }).then_some(PEER)
                );
            }
            LogEvent::Daemon(_) => assert_eq!((interface, ckn, peer), (None, None, None)),
        }
    }
}

/// The tracing level follows the severity, as syslog's: error up to 3, warn at 4, info after.
#[test]
fn the_level_follows_the_severity() {
    use tracing::Level;
    let lost = LogEvent::Daemon(DaemonEvent::DataplaneLost {
        path: PathBuf::from("/x"),
        error: "e".into(),
    });
    assert_eq!((lost.severity(), lost.level()), (3, Level::ERROR));
    let stopped = mka(MkaEvent::SessionStopped { ckn: ckn() });
    assert_eq!((stopped.severity(), stopped.level()), (4, Level::WARN));
    let secured = mka(MkaEvent::SessionSecured {
        ckn: ckn(),
        ki: ki(),
        fallback: false,
    });
    assert_eq!((secured.severity(), secured.level()), (5, Level::INFO));
    let added = port(PortEvent::Added);
    assert_eq!((added.severity(), added.level()), (6, Level::INFO));
}

fn bad_icv(source: [u8; 6]) -> LogEvent {
    mka(MkaEvent::IcvFailure {
        ckn: ckn(),
        fallback: false,
        source,
        peer: PEER,
    })
}

/// Bad-ICV MKPDUs need no key (the CKN is on the wire): their lines are logged once per 10 s
/// per (interface, mnemonic, source), with a summary when the window ends, and at most 64
/// sources are tracked one by one.
#[test]
fn bad_icv_lines_are_rate_limited_per_source() {
    use control::log::LogLimiter;
    use std::time::Duration;
    let ms = Duration::from_millis;
    let mut l = LogLimiter::default();
    let one = [0x02, 0, 0, 0, 0, 0xaa];
    let mut lines = Vec::new();
    for i in 0..1000 {
        lines.extend(l.limit(ms(i * 9), vec![bad_icv(one)]));
    }
    // Other lines pass as they are, also of the same interface.
    let secured = mka(MkaEvent::SessionSecured {
        ckn: ckn(),
        ki: ki(),
        fallback: false,
    });
    assert_eq!(
        l.limit(ms(9_000), vec![secured.clone(); 3]),
        vec![secured.clone(); 3]
    );
    assert_eq!(lines, vec![bad_icv(one)]);
    assert!(l.expire(ms(9_999)).is_empty());
    let summary = l.expire(ms(10_000));
    assert_eq!(
        summary.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["macsecd: (Hu0/2/0/11) %L2-MKA-3-MKPDU_ICV_FAILURE from 02:00:00:00:00:aa: 999 similar messages suppressed"]
    );
    assert_eq!(summary[0].mnemonic().to_string(), "MACSECD-4-LOG_SUPPRESSED");
    // A new window: logged again; a window with nothing suppressed ends silently.
    assert_eq!(l.limit(ms(10_000), vec![bad_icv(one)]), vec![bad_icv(one)]);
    assert!(l.expire(ms(30_000)).is_empty());

    // 100 sources, 10 MKPDUs each, round robin within one window: the first 64 sources get a
    // line each, the 36 others one line together; then 65 summaries.
    let mut l = LogLimiter::default();
    let src = |i: u8| [0x02, 0, 0, 0, 1, i];
    let mut lines = Vec::new();
    for round in 0..10u64 {
        for i in 0..100u8 {
            lines.extend(l.limit(ms(round * 900 + u64::from(i)), vec![bad_icv(src(i))]));
        }
    }
    assert_eq!(lines, (0..65).map(|i| bad_icv(src(i))).collect::<Vec<_>>());
    let summary: Vec<String> = l
        .limit(ms(10_064), Vec::new())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(summary.len(), 65);
    assert_eq!(
        summary[0],
        "macsecd: (Hu0/2/0/11) %L2-MKA-3-MKPDU_ICV_FAILURE from 02:00:00:00:01:00: 9 similar messages suppressed"
    );
    assert_eq!(
        summary[64],
        "macsecd: (Hu0/2/0/11) %L2-MKA-3-MKPDU_ICV_FAILURE from other sources: 359 similar messages suppressed"
    );
    assert!(summary[1..64]
        .iter()
        .all(|s| s.ends_with(": 9 similar messages suppressed")));
    assert_eq!(lines.len() + summary.len(), 130);
}
