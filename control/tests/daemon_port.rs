//! macsecd's per-interface state (`control::daemon::Port`) against key chain changes, without a
//! dataplane: which MKA participants run after a reload.

use control::config::Config;
use control::daemon::Port;
use macsec::secy::Sci;
use std::time::Duration;

const CAK_A: &str = "4a7b2f3c5d6e7f8091a2b3c4d5e6f708";
const CAK_B: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn setup(cak: &str) -> control::config::PortSetup {
    let text = format!(
        "key chain KC1\n macsec\n  key 01\n   key-string {cak} cryptographic-algorithm AES-128-CMAC\n   lifetime 00:00:00 01 January 2020 infinite\n!\ninterface TenGigE0/0/0/1\n macsec psk-keychain KC1\n!\n"
    );
    Config::parse(&text)
        .expect("parses")
        .port_setups()
        .expect("resolves")
        .remove(0)
}

/// A reload that changes only the CAK under the same CKN (fixing a mistyped key) restarts that
/// participant with the new CAK; a reload with nothing changed keeps it.
#[test]
fn a_new_cak_under_the_same_ckn_restarts_the_participant() {
    let wall = 1_800_000_000;
    let mut port = Port::new(
        setup(CAK_A),
        Sci(0x0011_2233_4455_0001),
        Duration::ZERO,
        &control::daemon::PpkEnv::default(),
    )
    .expect("port");
    port.apply_keychains(Duration::ZERO, wall);
    let first = port.participants();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].ckn.to_string(), "01");

    port.setup.keychain = setup(CAK_A).keychain;
    port.apply_keychains(Duration::from_secs(1), wall + 1);
    assert_eq!(
        port.participants()[0].mi,
        first[0].mi,
        "nothing changed: same participant"
    );

    port.setup.keychain = setup(CAK_B).keychain;
    port.apply_keychains(Duration::from_secs(2), wall + 2);
    let after = port.participants();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].ckn.to_string(), "01");
    assert_ne!(
        after[0].mi, first[0].mi,
        "the participant restarted with the new CAK"
    );
}
