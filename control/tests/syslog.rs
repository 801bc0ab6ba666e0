//! The syslog lines macsecd writes for the engine's events: the guide's mnemonics and texts.

use control::daemon::syslog_line;
use mka::kay::{MkaEvent, PpkFailure};
use mka::ppk::PpkKeyId;
use mka::Ckn;

fn ckn() -> Ckn {
    Ckn::from_hex("a1b2c3d4e5f60718293a4b5c6d7e8f90").unwrap()
}

#[test]
fn ppk_failures_name_the_key_id_and_the_session() {
    let key_id = Some(PpkKeyId::new(b"key-1").unwrap());
    let fetch = PpkFailure::Fetch {
        key_id: key_id.clone(),
        reason: "KME 192.0.2.34:10001 did not answer (3 attempts)".into(),
    };
    assert_eq!(
        syslog_line("Hu0/2/0/11", &MkaEvent::PpkFailure { ckn: ckn(), failure: fetch }),
        "%L2-MKA-3-PPK_FETCH_FAILURE : (Hu0/2/0/11) could not obtain the PPK with key ID 6b65792d31: KME 192.0.2.34:10001 did not answer (3 attempts); the session is not secured with it, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90"
    );
    let nc = PpkFailure::NotConfigured { key_id };
    assert_eq!(
        syslog_line("Te0/0/0/24", &MkaEvent::PpkFailure { ckn: ckn(), failure: nc }),
        "%L2-MKA-3-PPK_NOT_CONFIGURED : (Te0/0/0/24) the key server distributed the SAK with PPK key ID 6b65792d31, but no ppk sks-profile is configured; the session is not secured with it, CKN:A1B2C3D4E5F60718293A4B5C6D7E8F90"
    );
}
