//! `control::config`: the IOS XR MACsec configuration syntax of the guide
//! (`reference/ios-xr-macsec-guide.md`) to the typed model, with exact values.
//!
//! The guide's examples are CLI transcripts (`RP/0/RP0/CPU0:router(config-mac_policy)# ...`) as
//! extracted from a PDF; each is copied here as the configuration it enters: prompts dropped, lines
//! the PDF wrapped joined again, and the PDF's `mac chain` (a lost underscore) written `mac_chain`.

use control::config::*;
use ipc::SecurityPolicy;
use macsec::secy::{CipherSuite, ConfOffset};
use mka::keychain::{CakAlgorithm, Ckn, Expiry, KeyChain, Lifetime};
use std::time::Duration;

const CAK128: &str = "12345678123456781234567812345678";
const CAK256: &str = "1234567812345678123456781234567812345678123456781234567812345678";
/// CAK128 in the running-config's type 7 `password` form (offset 05).
const CAK128_TYPE7: &str = "055A545C7519185E415445415F59527D73757A60617745504E5253050D0D050356";
/// Another CAK, used in the fallback key chains.
const CAK_FB: &str = "0123456789abcdef0123456789abcdef";

/// 2015-01-01 05:00:00 UTC.
const JAN_01_2015_0500: u64 = 1_420_088_400;
/// 2015-02-20 05:00:00 UTC.
const FEB_20_2015_0500: u64 = 1_424_408_400;
/// 2015-09-30 12:00:00 UTC.
const SEP_30_2015_1200: u64 = 1_443_614_400;
/// 2024-01-01 00:00:00 UTC.
const JAN_01_2024: u64 = 1_704_067_200;
/// 2030-12-31 00:00:00 UTC.
const DEC_31_2030: u64 = 1_924_905_600;

fn lines(ls: &[&str]) -> String {
    ls.join("\n")
}

fn ckn(s: &str) -> Ckn {
    Ckn::from_hex(s).unwrap()
}

fn parse(text: &str) -> Config {
    match Config::parse(text) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n--- in ---\n{text}"),
    }
}

/// A valid MACsec key chain `name` with one AES-128 key `ckn_hex`, infinite from 2024.
fn chain(name: &str, ckn_hex: &str, cak: &str) -> String {
    format!(
        "key chain {name}\n macsec\n  key {ckn_hex}\n   key-string {cak} cryptographic-algorithm AES-128-CMAC\n   lifetime 00:00:00 january 01 2024 infinite\n  !\n !\n!\n"
    )
}

fn only_key(c: &Config, chain: &str) -> mka::keychain::Key {
    let kc = &c.key_chains[chain];
    assert_eq!(kc.keys().len(), 1);
    kc.keys()[0].clone()
}

// ---------------------------------------------------------------------------------------------
// The guide's examples.
// ---------------------------------------------------------------------------------------------

/// "Creating a MACsec Keychain", steps 1 to 5, AES 128-bit key-string, lifetime with a duration
/// ("lifetime 05:00:00 01 January 2015 duration 1800"), then commit (step 6).
const GUIDE_KEYCHAIN_AES128_DURATION: &str = "key chain mac_chain
macsec
key 1234abcd5678
key-string 12345678123456781234567812345678 cryptographic-algorithm AES-128-CMAC
lifetime 05:00:00 01 January 2015 duration 1800
commit";

#[test]
fn guide_keychain_aes128_duration() {
    let c = parse(GUIDE_KEYCHAIN_AES128_DURATION);
    assert_eq!(c.key_chains.len(), 1);
    let kc = &c.key_chains["mac_chain"];
    assert_eq!(kc.name(), "mac_chain");
    let k = only_key(&c, "mac_chain");
    assert_eq!(k.ckn(), &ckn("1234ABCD5678"));
    assert_eq!(k.ckn().to_string(), "1234ABCD5678");
    assert_eq!(k.cak(), hex::decode(CAK128).unwrap().as_slice());
    assert_eq!(k.algorithm(), CakAlgorithm::Aes128Cmac);
    assert_eq!(*k.lifetime(), Lifetime::duration(JAN_01_2015_0500, 1800));
    assert_eq!(k.end_time(), Some(JAN_01_2015_0500 + 1800));
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    assert!(c.interfaces.is_empty() && c.policies.is_empty() && c.sks_profiles.is_empty());
}

/// "Creating a MACsec Keychain", step 4 "For AES 256-bit encryption" (the PDF wraps
/// `cryptographic-algorithm` over two lines) and step 5 "configuring the lifetime for a defined
/// period" ("lifetime 05:00:00 20 february 2015 12:00:00 30 september 2015").
const GUIDE_KEYCHAIN_AES256_PERIOD: &str = "key chain mac_chain
 macsec
  key 1234abcd5678
   key-string 1234567812345678123456781234567812345678123456781234567812345678 cryptographic-algorithm AES-256-CMAC
   lifetime 05:00:00 20 february 2015 12:00:00 30 september 2015
   commit";

#[test]
fn guide_keychain_aes256_defined_period() {
    let c = parse(GUIDE_KEYCHAIN_AES256_PERIOD);
    let k = only_key(&c, "mac_chain");
    assert_eq!(k.cak(), hex::decode(CAK256).unwrap().as_slice());
    assert_eq!(k.cak().len(), 32);
    assert_eq!(k.algorithm(), CakAlgorithm::Aes256Cmac);
    assert_eq!(*k.lifetime(), Lifetime::until(FEB_20_2015_0500, SEP_30_2015_1200));
    assert!(k.is_active(FEB_20_2015_0500) && !k.is_active(SEP_30_2015_1200));
}

/// "Creating a MACsec Keychain", step 5 "configuring the lifetime as infinite"
/// ("lifetime 05:00:00 01 January 2015 infinite").
const GUIDE_KEYCHAIN_INFINITE: &str = "key chain mac_chain
 macsec
  key 1234abcd5678
   key-string 12345678123456781234567812345678 cryptographic-algorithm AES-128-CMAC
   lifetime 05:00:00 01 January 2015 infinite";

#[test]
fn guide_keychain_infinite() {
    let c = parse(GUIDE_KEYCHAIN_INFINITE);
    let k = only_key(&c, "mac_chain");
    assert_eq!(*k.lifetime(), Lifetime::infinite(JAN_01_2015_0500));
    assert_eq!(k.lifetime().end, Expiry::Infinite);
    assert!(k.is_active(u64::MAX - 1));
}

/// "Creating a User-Defined MACsec Policy", steps 1 to 5, 7, 8 and 9 (must-secure; step 2's
/// list of the four suites is the CLI help, not configuration).
const GUIDE_POLICY_STEPS: &str = "configure
macsec-policy mac_policy
cipher-suite GCM-AES-XPN-256
conf-offset CONF-OFFSET-30
key-server-priority 0
security-policy must-secure
window-size 64
include-icv-indicator
exit
commit
exit";

#[test]
fn guide_policy_steps() {
    let c = parse(GUIDE_POLICY_STEPS);
    let p = &c.policies["mac_policy"];
    assert_eq!(p.name, "mac_policy");
    assert_eq!(p.cipher_suite, CipherSuite::GcmAesXpn256);
    assert_eq!(p.conf_offset, ConfOffset::Thirty);
    assert_eq!(p.key_server_priority, 0);
    assert_eq!(p.security_policy, SecurityPolicy::MustSecure);
    assert_eq!(p.window_size, 64);
    assert!(p.include_icv_indicator);
    assert!(!p.delay_protection && !p.clear.lacp_in_clear);
    assert_eq!(p.sak_rekey_interval, None);
    assert_eq!(p.ppk_sks_profile, None);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

/// "Creating a User-Defined MACsec Policy", step 5, the Should-Secure example.
#[test]
fn guide_policy_should_secure() {
    let c = parse("macsec-policy mac_policy\nsecurity-policy should-secure");
    assert_eq!(
        c.policies["mac_policy"].security_policy,
        SecurityPolicy::ShouldSecure
    );
}

/// "Creating a User-Defined MACsec Policy", step 6: data delay protection.
const GUIDE_DELAY_PROTECTION: &str = "configure terminal
macsec-policy mp1
delay-protection
commit";

#[test]
fn guide_delay_protection() {
    let c = parse(GUIDE_DELAY_PROTECTION);
    let p = &c.policies["mp1"];
    assert!(p.delay_protection);
    // Everything else at the defaults the step-6 verification output shows: Key Server Priority
    // 16, Replay Window Size 64, Confidentiality Offset 0.
    assert_eq!(
        (p.key_server_priority, p.window_size, p.conf_offset),
        (16, 64, ConfOffset::Zero)
    );
    assert_eq!(
        c.render_policy("mp1").unwrap(),
        "macsec-policy mp1\n  delay-protection\n!\n"
    );
}

/// "Creating a User-Defined MACsec Policy", step 10: `show running-config macsec-policy` (as the
/// PDF prints it, without indentation).
const GUIDE_SHOW_RUN_POLICY: &str = "macsec-policy mac_policy
conf-offset CONF-OFFSET-30
security-policy must-secure
window-size 64
cipher-suite GCM-AES-XPN-256
key-server-priority 0
include-icv-indicator";

#[test]
fn guide_show_running_config_policy_round_trip() {
    let c = parse(GUIDE_SHOW_RUN_POLICY);
    // The same policy as the steps entered.
    assert_eq!(
        c.policies["mac_policy"],
        parse(GUIDE_POLICY_STEPS).policies["mac_policy"]
    );
    // Rendered in the same order, explicit defaults (must-secure, window-size 64) included.
    let expected = "macsec-policy mac_policy
  conf-offset CONF-OFFSET-30
  security-policy must-secure
  window-size 64
  cipher-suite GCM-AES-XPN-256
  key-server-priority 0
  include-icv-indicator
!
";
    assert_eq!(c.render_policy("mac_policy").unwrap(), expected);
    assert_eq!(c.policies["mac_policy"].to_string(), expected);
    assert_eq!(c.render_policy("nope"), None);
    // The rendering parses back to the same policy.
    assert_eq!(parse(expected).policies["mac_policy"], c.policies["mac_policy"]);
}

/// "Applying MACsec Configuration on an Interface", steps 2 and 3: MACsec PSK configuration
/// with a policy.
const GUIDE_INTERFACE_WITH_POLICY: &str = "interface Te0/3/0/1/4
macsec psk-keychain mac_chain policy mac_policy
exit
commit";

#[test]
fn guide_interface_with_policy() {
    let text = format!(
        "{}{}\n{GUIDE_INTERFACE_WITH_POLICY}",
        chain("mac_chain", "01", CAK128),
        GUIDE_SHOW_RUN_POLICY
    );
    let c = parse(&text);
    assert_eq!(c.interfaces.len(), 1);
    let i = &c.interfaces["TenGigE0/3/0/1/4"];
    assert_eq!(
        *i,
        InterfaceConfig {
            name: "TenGigE0/3/0/1/4".into(),
            psk_keychain: "mac_chain".into(),
            fallback_psk_keychain: None,
            policy: Some("mac_policy".into()),
            line: 17,
        }
    );
    assert_eq!(c.interface_policy(i).unwrap().name, "mac_policy");
    assert_eq!(c.interface_keychain(i).unwrap().name(), "mac_chain");
    assert!(c.interface_fallback(i).is_none());
    assert_eq!(
        c.render_interface("Te0/3/0/1/4").unwrap(),
        "interface TenGigE0/3/0/1/4\n  macsec psk-keychain mac_chain policy mac_policy\n!\n"
    );
}

/// "Applying MACsec Configuration on an Interface", step 3: "on a physical interface without the
/// MACsec policy" — the default policy applies.
const GUIDE_INTERFACE_NO_POLICY: &str = "interface Te0/3/0/1/4
macsec psk-keychain script_key_chain2
exit";

#[test]
fn guide_interface_without_policy_uses_default_policy() {
    let text = format!(
        "{}{GUIDE_INTERFACE_NO_POLICY}",
        chain("script_key_chain2", "02", CAK128)
    );
    let c = parse(&text);
    let i = &c.interfaces["TenGigE0/3/0/1/4"];
    assert_eq!(i.policy, None);
    let p = c.interface_policy(i).unwrap();
    assert_eq!(*p, MacsecPolicy::default_policy());
    assert_eq!(p.name, "*DEFAULT POLICY*");
    let setups = c.port_setups().unwrap();
    assert_eq!(setups.len(), 1);
    let s = &setups[0];
    assert_eq!(s.interface, "TenGigE0/3/0/1/4");
    assert_eq!(s.cipher_suite, CipherSuite::GcmAesXpn256);
    assert_eq!((s.key_server_priority, s.replay_window), (16, 64));
    assert_eq!(s.conf_offset, ConfOffset::Zero);
    assert_eq!(s.security_policy, SecurityPolicy::MustSecure);
    assert!(!s.delay_protection && !s.clear.lacp_in_clear && !s.include_icv_indicator);
    assert_eq!(s.sak_rekey_interval, None);
    assert_eq!(s.keychain.name(), "script_key_chain2");
    assert!(s.fallback.is_none());
}

/// "Applying MACsec Configuration on an Interface", step 3, "MACsec Fallback PSK Configuration"
/// (the PDF wraps the command after `fallback-psk-keychain`).
const GUIDE_INTERFACE_FALLBACK: &str = "interface Te0/3/0/1/4
macsec psk-keychain mac_chain fallback-psk-keychain fallback_mac_chain policy mac_policy
exit";

#[test]
fn guide_interface_with_fallback() {
    let text = format!(
        "{}{}{GUIDE_SHOW_RUN_POLICY}\n!\n{GUIDE_INTERFACE_FALLBACK}",
        chain("mac_chain", "1000", CAK128),
        chain("fallback_mac_chain", "FFFF", CAK_FB)
    );
    let c = parse(&text);
    let i = &c.interfaces["TenGigE0/3/0/1/4"];
    assert_eq!(i.fallback_psk_keychain.as_deref(), Some("fallback_mac_chain"));
    assert_eq!(i.policy.as_deref(), Some("mac_policy"));
    let fb = c.interface_fallback(i).unwrap();
    assert_eq!(fb.chain().keys()[0].ckn(), &ckn("FFFF"));
    let s = &c.port_setups().unwrap()[0];
    assert_eq!(s.fallback.as_ref().unwrap().chain().name(), "fallback_mac_chain");
    assert_eq!(
        (s.cipher_suite, s.conf_offset, s.key_server_priority),
        (CipherSuite::GcmAesXpn256, ConfOffset::Thirty, 0)
    );
    assert!(s.include_icv_indicator);
    assert_eq!(
        c.render_interface("TenGigE0/3/0/1/4").unwrap(),
        "interface TenGigE0/3/0/1/4\n  macsec psk-keychain mac_chain fallback-psk-keychain fallback_mac_chain policy mac_policy\n!\n"
    );
}

/// "MACsec Policy Exceptions", "Configuration Example".
const GUIDE_POLICY_EXCEPTION: &str = "configure
macsec-policy test-macsec-policy
policy-exception lacp-in-clear
commit";

/// "MACsec Policy Exceptions", "Running Configuration".
const GUIDE_POLICY_EXCEPTION_RUNNING: &str = "macsec-policy test-macsec-policy
  policy-exception lacp-in-clear
  security-policy should-secure
  include-icv-indicator
  sak-rekey-interval seconds 120
!
";

#[test]
fn guide_policy_exception() {
    let p = parse(GUIDE_POLICY_EXCEPTION).policies["test-macsec-policy"].clone();
    assert!(p.clear.lacp_in_clear);
    assert_eq!(p.security_policy, SecurityPolicy::MustSecure);

    let c = parse(GUIDE_POLICY_EXCEPTION_RUNNING);
    let p = &c.policies["test-macsec-policy"];
    assert!(p.clear.lacp_in_clear && p.include_icv_indicator);
    assert_eq!(p.security_policy, SecurityPolicy::ShouldSecure);
    assert_eq!(p.sak_rekey_interval, Some(Duration::from_secs(120)));
    assert_eq!(p.cipher_suite, CipherSuite::GcmAesXpn256);
    // `show run macsec-policy test-macsec-policy` gives back the guide's text exactly.
    assert_eq!(
        c.render_policy("test-macsec-policy").unwrap(),
        GUIDE_POLICY_EXCEPTION_RUNNING
    );
}

/// "Session key service", "Create the SKS profile on the server and client", steps 1 to 3.
const GUIDE_SKS_SERVER: &str = "sks profile prof-A device-identifier peer-1
live-keys 5
peer-identifier peer-2";
const GUIDE_SKS_CLIENT: &str = "sks profile prof-B device-identifier peer-2
live-keys 5
peer-identifier peer-1 master";

/// "Attach the SKS profile to the MACsec policy", step 1 (server, then client).
const GUIDE_PPK_SERVER: &str = "macsec-policy p1
ppk
sks-profile prof-A";
const GUIDE_PPK_CLIENT: &str = "macsec-policy p2
ppk
sks-profile prof-B";

/// `live-keys N` keeps keys for N MACsec sessions: a profile named by more interfaces than that is
/// refused at the interface that exceeds it.
#[test]
fn live_keys_bounds_the_interfaces_on_an_sks_profile() {
    let head = format!(
        "{}sks profile prof-A device-identifier peer-1\n  live-keys 1\n  peer-identifier peer-2\n!\nmacsec-policy p1\n  ppk\n    sks-profile prof-A\n  !\n!\n",
        chain("kc", "01", CAK128)
    );
    let one = format!("{head}interface TenGigE0/0/0/1\n  macsec psk-keychain kc policy p1\n!\ninterface TenGigE0/0/0/2\n  macsec psk-keychain kc\n!\n");
    assert_eq!(parse(&one).port_setups().unwrap().len(), 2);
    let two = format!("{head}interface TenGigE0/0/0/1\n  macsec psk-keychain kc policy p1\n!\ninterface TenGigE0/0/0/2\n  macsec psk-keychain kc policy p1\n!\n");
    let line = head.lines().count() + 5; // the second interface's `macsec psk-keychain` line
    assert_eq!(
        Config::parse(&two).unwrap_err().to_string(),
        format!("line {line}: sks profile prof-A has live-keys 1, but 2 interfaces use it (TenGigE0/0/0/1, TenGigE0/0/0/2); raise live-keys or use another profile")
    );
}

#[test]
fn guide_sks_profiles_and_ppk() {
    let a = parse(&format!("{GUIDE_SKS_SERVER}\n{GUIDE_PPK_SERVER}"));
    let pa = &a.sks_profiles["prof-A"];
    assert_eq!(pa.profile_type, SksProfileType::Local);
    assert_eq!(pa.device_identifier.as_deref(), Some("peer-1"));
    assert_eq!(pa.live_keys, Some(5));
    assert_eq!(
        pa.peers,
        vec![SksPeer {
            name: "peer-2".into(),
            master: false
        }]
    );
    assert_eq!(pa.kme_server, None);
    assert_eq!(a.policies["p1"].ppk_sks_profile.as_deref(), Some("prof-A"));
    assert_eq!(
        a.render_sks_profile("prof-A").unwrap(),
        "sks profile prof-A device-identifier peer-1\n  live-keys 5\n  peer-identifier peer-2\n!\n"
    );

    let b = parse(&format!("{GUIDE_SKS_CLIENT}\n{GUIDE_PPK_CLIENT}"));
    let pb = &b.sks_profiles["prof-B"];
    assert_eq!(
        pb.peers,
        vec![SksPeer {
            name: "peer-1".into(),
            master: true
        }]
    );
    assert_eq!(b.policies["p2"].ppk_sks_profile.as_deref(), Some("prof-B"));
    assert_eq!(
        b.render_policy("p2").unwrap(),
        "macsec-policy p2\n  ppk\n    sks-profile prof-B\n  !\n!\n"
    );
}

/// "Secure Key Integration Protocol", "Feature Highlights": a source interface, and an HTTP proxy.
const GUIDE_SKIP_SOURCE_INTERFACE: &str = "config
sks profile ProfileR1toR2 type remote
kme server ipv4 192.0.2.34 port 10001
source interface hundredGigE 0/1/0/17
commit";
const GUIDE_SKIP_HTTP_PROXY: &str = "config
sks profile ProfileR1toR2 type remote
kme server ipv4 192.0.2.34 port 10001
http proxy ipv4 192.0.2.68 port 804
commit";

#[test]
fn guide_skip_feature_highlights() {
    let c = parse(GUIDE_SKIP_SOURCE_INTERFACE);
    let p = &c.sks_profiles["ProfileR1toR2"];
    assert_eq!(p.profile_type, SksProfileType::Remote);
    assert_eq!(
        p.kme_server,
        Some(ServerAddress {
            host: Host::Ipv4("192.0.2.34".parse().unwrap()),
            port: 10001
        })
    );
    assert_eq!(p.source_interface.as_deref(), Some("HundredGigE0/1/0/17"));
    assert_eq!(p.http_proxy, None);
    // The guide's interface is a router's, not one of this appliance's Linux interfaces: kept, said.
    let notes: Vec<(usize, NoteKind, &str)> = c
        .notes
        .iter()
        .map(|n| (n.line, n.kind, n.message.as_str()))
        .collect();
    assert_eq!(
        notes,
        [(4, NoteKind::NotLocalInterface, "sks profile ProfileR1toR2: source interface HundredGigE0/1/0/17 is not a Linux interface name on this appliance; kept, but the KME connections fail until it names one (e.g. eth0)")]
    );
    let c = parse(
        "sks profile P type remote\n kme server ipv4 192.0.2.34 port 10001\n source interface eth1\n!\n",
    );
    assert_eq!(
        (c.sks_profiles["P"].source_interface.as_deref(), c.notes.len()),
        (Some("eth1"), 0)
    );

    let c = parse(GUIDE_SKIP_HTTP_PROXY);
    let p = &c.sks_profiles["ProfileR1toR2"];
    assert_eq!(
        p.http_proxy,
        Some(ServerAddress {
            host: Host::Ipv4("192.0.2.68".parse().unwrap()),
            port: 804
        })
    );
    assert_eq!(
        c.render_sks_profile("ProfileR1toR2").unwrap(),
        "sks profile ProfileR1toR2 type remote\n  kme server ipv4 192.0.2.34 port 10001\n  http proxy ipv4 192.0.2.68 port 804\n!\n"
    );
}

/// "Configuring Point to Point MACsec Link Encryption using SKIP", "Configuration", Router 1,
/// steps 1 to 3 as entered.
const GUIDE_SKIP_ROUTER1_STEPS: &str = "config
sks profile ProfileR1toR2 type remote
kme server ipv4 192.0.2.34 port 10001
commit
config
macsec-policy R1toR2
ppk sks-profile ProfileR1toR2
commit
config
interface hundredGigE 0/1/0/10
ipv4 address 192.0.2.1 255.255.255.0
macsec psk-keychain mac_chain policy R1toR2
commit
interface hundredGigE 0/1/0/11
ipv4 address 192.0.3.1 255.255.255.0
macsec psk-keychain mac_chain policy R1toR2
commit
interface hundredGigE 0/1/0/12
ipv4 address 192.0.4.1 255.255.255.0
macsec psk-keychain mac_chain policy R1toR2
commit
interface hundredGigE 0/1/0/9
ipv4 address 192.0.5.1 255.255.255.0
macsec psk-keychain mac_chain policy R1toR2
commit";

/// Same section, Router 2, steps 1 to 3.
const GUIDE_SKIP_ROUTER2_STEPS: &str = "config
sks profile ProfileR2toR1 type remote
kme server ipv4 192.0.2.35 port 10001
commit
config
macsec-policy R2toR1
ppk sks-profile ProfileR2toR1
commit
config
interface hundredGigE 0/1/0/10
ipv4 address 192.0.2.2 255.255.255.0
macsec psk-keychain mac_chain policy R2toR1
commit
interface hundredGigE 0/1/0/11
ipv4 address 192.0.3.2 255.255.255.0
macsec psk-keychain mac_chain policy R2toR1
commit
interface hundredGigE 0/1/0/12
ipv4 address 192.0.4.2 255.255.255.0
macsec psk-keychain mac_chain policy R2toR1
commit
interface hundredGigE 0/1/0/9
ipv4 address 192.0.5.2 255.255.255.0
macsec psk-keychain mac_chain policy R2toR1
commit";

/// Same section, "Running Configuration", Router 1.
const GUIDE_SKIP_ROUTER1_RUNNING: &str = "sks profile ProfileR1toR2 type remote
  kme server ipv4 192.0.2.34 port 10001
!
macsec-policy R1toR2
  ppk
    sks-profile ProfileR1toR2
  !
!
interface hundredGigE 0/1/0/10
  ipv4 address 192.0.2.1 255.255.255.0
  macsec psk-keychain mac_chain policy R1toR2
!
interface hundredGigE 0/1/0/11
  ipv4 address 192.0.3.1 255.255.255.0
  macsec psk-keychain mac_chain policy R1toR2
!
interface hundredGigE 0/1/0/12
  ipv4 address 192.0.4.1 255.255.255.0
  macsec psk-keychain mac_chain policy R1toR2
!
interface hundredGigE 0/1/0/9
  ipv4 address 192.0.5.1 255.255.255.0
  macsec psk-keychain mac_chain policy R1toR2
!
";

/// Same section, "Running Configuration", Router 2 (with the guide's stray `!t`).
const GUIDE_SKIP_ROUTER2_RUNNING: &str = "sks profile ProfileR2toR1 type remote
  kme server ipv4 192.0.2.35 port 10001
!
macsec-policy R2toR1
  ppk
    sks-profile ProfileR2toR1
  !
!
interface hundredGigE 0/1/0/10
  ipv4 address 192.0.2.2 255.255.255.0
  macsec psk-keychain mac_chain policy R2toR1
!t
interface hundredGigE 0/1/0/11
  ipv4 address 192.0.3.2 255.255.255.0
  macsec psk-keychain mac_chain policy R2toR1
!
interface hundredGigE 0/1/0/12
  ipv4 address 192.0.4.2 255.255.255.0
  macsec psk-keychain mac_chain policy R2toR1
!
interface hundredGigE 0/1/0/9
  ipv4 address 192.0.5.2 255.255.255.0
  macsec psk-keychain mac_chain policy R2toR1
!
";

fn check_skip_router(text: &str, profile: &str, kme: &str, policy: &str, ipv4_lines: [usize; 4]) {
    // The guide's SKIP examples use a mac_chain configured elsewhere: alone, they fail on it.
    let err = Config::parse(text).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "line {}: interface HundredGigE0/1/0/10: psk-keychain mac_chain is not configured",
            ipv4_lines[0] + 1
        )
    );
    let all = Config::parse_all(text).unwrap_err();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all.iter().map(|e| e.line).collect::<Vec<_>>(),
        ipv4_lines.map(|l| l + 1).to_vec()
    );

    let mc = chain("mac_chain", "4000", CAK128);
    let offset = mc.lines().count();
    let c = parse(&format!("{mc}{text}"));
    assert_eq!(
        c.sks_profiles[profile].kme_server.as_ref().unwrap().to_string(),
        format!("ipv4 {kme} port 10001")
    );
    assert_eq!(c.policies[policy].ppk_sks_profile.as_deref(), Some(profile));
    let names: Vec<&str> = c.interfaces.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "HundredGigE0/1/0/10",
            "HundredGigE0/1/0/11",
            "HundredGigE0/1/0/12",
            "HundredGigE0/1/0/9"
        ]
    );
    for (i, l) in c.interfaces.values().zip(ipv4_lines) {
        assert_eq!(
            (i.psk_keychain.as_str(), i.policy.as_deref(), i.line),
            ("mac_chain", Some(policy), offset + l + 1)
        );
    }
    // The `ipv4 address` lines are skipped with a note each.
    let notes: Vec<(usize, NoteKind)> = c.notes.iter().map(|n| (n.line, n.kind)).collect();
    assert_eq!(
        notes,
        ipv4_lines
            .map(|l| (offset + l, NoteKind::IgnoredCommand))
            .to_vec()
    );
    assert_eq!(
        c.notes[0].message, "interface HundredGigE0/1/0/10: `ipv4` ignored",
        "{}",
        c.notes[0]
    );
    // The policy renders as the guide's running configuration shows it.
    assert_eq!(
        c.render_policy(policy).unwrap(),
        format!("macsec-policy {policy}\n  ppk\n    sks-profile {profile}\n  !\n!\n")
    );
    assert_eq!(
        c.render_sks_profile(profile).unwrap(),
        format!("sks profile {profile} type remote\n  kme server ipv4 {kme} port 10001\n!\n")
    );
}

#[test]
fn guide_skip_router1() {
    check_skip_router(
        GUIDE_SKIP_ROUTER1_STEPS,
        "ProfileR1toR2",
        "192.0.2.34",
        "R1toR2",
        [11, 15, 19, 23],
    );
    check_skip_router(
        GUIDE_SKIP_ROUTER1_RUNNING,
        "ProfileR1toR2",
        "192.0.2.34",
        "R1toR2",
        [10, 14, 18, 22],
    );
    let steps = parse(&format!(
        "{}{GUIDE_SKIP_ROUTER1_STEPS}",
        chain("mac_chain", "01", CAK128)
    ));
    let running = parse(&format!(
        "{}{GUIDE_SKIP_ROUTER1_RUNNING}",
        chain("mac_chain", "01", CAK128)
    ));
    assert_eq!(steps.policies, running.policies);
    assert_eq!(steps.sks_profiles, running.sks_profiles);
}

#[test]
fn guide_skip_router2() {
    check_skip_router(
        GUIDE_SKIP_ROUTER2_STEPS,
        "ProfileR2toR1",
        "192.0.2.35",
        "R2toR1",
        [11, 15, 19, 23],
    );
    check_skip_router(
        GUIDE_SKIP_ROUTER2_RUNNING,
        "ProfileR2toR1",
        "192.0.2.35",
        "R2toR1",
        [10, 14, 18, 22],
    );
}

// ---------------------------------------------------------------------------------------------
// A running-config pasted from a router.
// ---------------------------------------------------------------------------------------------

const RUNNING_CONFIG: &str = include_str!("data/config/running-config.txt");

#[test]
fn pasted_running_config_loads() {
    let c = parse(RUNNING_CONFIG);

    // Key chains: the routing-protocol one is skipped.
    assert_eq!(
        c.key_chains.keys().collect::<Vec<_>>(),
        ["fallback_mac_chain", "mac_chain"]
    );
    let kc = &c.key_chains["mac_chain"];
    assert_eq!(kc.keys().len(), 2);
    let k1 = &kc.keys()[0];
    assert_eq!(k1.ckn(), &ckn("1234ABCD5678"));
    // `key-string password ...` (type 7) is the same CAK as the clear one.
    assert_eq!(k1.cak(), hex::decode(CAK128).unwrap().as_slice());
    assert_eq!(k1.algorithm(), CakAlgorithm::Aes128Cmac);
    assert_eq!(*k1.lifetime(), Lifetime::infinite(JAN_01_2015_0500));
    let k2 = &kc.keys()[1];
    assert_eq!(k2.ckn(), &ckn("2000"));
    assert_eq!(k2.cak(), hex::decode(CAK256).unwrap().as_slice());
    assert_eq!(*k2.lifetime(), Lifetime::until(JAN_01_2024, DEC_31_2030));
    // The latest active key in 2025 is 2000; in 2031 it has expired.
    assert_eq!(
        kc.latest_active(JAN_01_2024 + 365 * 86_400).unwrap().ckn(),
        &ckn("2000")
    );
    assert_eq!(kc.latest_active(DEC_31_2030).unwrap().ckn(), &ckn("1234ABCD5678"));

    let p = &c.policies["mac_policy"];
    assert_eq!(
        (p.cipher_suite, p.conf_offset, p.key_server_priority),
        (CipherSuite::GcmAesXpn256, ConfOffset::Thirty, 0)
    );
    assert_eq!(p.ppk_sks_profile.as_deref(), Some("ProfileR1toR2"));
    assert_eq!(
        c.sks_profiles["ProfileR1toR2"].kme_server.as_ref().unwrap().port,
        10001
    );

    assert_eq!(
        c.interfaces.keys().collect::<Vec<_>>(),
        ["HundredGigE0/0/0/0", "TenGigE0/0/0/1"]
    );
    assert_eq!(
        c.interfaces["HundredGigE0/0/0/0"],
        InterfaceConfig {
            name: "HundredGigE0/0/0/0".into(),
            psk_keychain: "mac_chain".into(),
            fallback_psk_keychain: Some("fallback_mac_chain".into()),
            policy: Some("mac_policy".into()),
            line: 67,
        }
    );
    assert_eq!(c.interfaces["TenGigE0/0/0/1"].policy, None);

    let notes: Vec<String> = c.notes.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        notes,
        [
            "line 1: `Building` is not MACsec configuration: skipped",
            "line 5: `hostname` is not MACsec configuration: skipped",
            "line 6: `logging` is not MACsec configuration: skipped",
            "line 7: `username` is not MACsec configuration: skipped (lines 7-11)",
            "line 12: `line` is not MACsec configuration: skipped (lines 12-14)",
            "line 15: key chain isis-auth has no `macsec` section: not a MACsec key chain, skipped",
            "line 57: interface MgmtEth0/RP0/CPU0/0 has no `macsec psk-keychain`: skipped",
            "line 58: interface MgmtEth0/RP0/CPU0/0: `ipv4` ignored",
            "line 61: interface HundredGigE0/0/0/0: `description` ignored",
            "line 62: interface HundredGigE0/0/0/0: `mtu` ignored",
            "line 63: interface HundredGigE0/0/0/0: `ipv4` ignored",
            "line 64: interface HundredGigE0/0/0/0: `lldp` ignored (lines 64-66)",
            "line 71: interface TenGigE0/0/0/1: `shutdown` ignored",
            "line 73: `router` is not MACsec configuration: skipped (lines 73-82)",
            "line 83: `router` is not MACsec configuration: skipped (lines 83-88)",
            "line 89: `ssh` is not MACsec configuration: skipped",
        ]
    );
    let kinds: Vec<NoteKind> = c.notes.iter().map(|n| n.kind).collect();
    use NoteKind::*;
    assert_eq!(
        kinds,
        [
            IgnoredStanza,
            IgnoredStanza,
            IgnoredStanza,
            IgnoredStanza,
            IgnoredStanza,
            NotMacsecKeyChain,
            NoMacsec,
            IgnoredCommand,
            IgnoredCommand,
            IgnoredCommand,
            IgnoredCommand,
            IgnoredCommand,
            IgnoredCommand,
            IgnoredStanza,
            IgnoredStanza,
            IgnoredStanza,
        ]
    );

    // macsecd's view: both interfaces, the first with its fallback.
    let setups = c.port_setups().unwrap();
    assert_eq!(setups.len(), 2);
    assert_eq!(setups[0].interface, "HundredGigE0/0/0/0");
    assert_eq!(
        setups[0].fallback.as_ref().unwrap().chain().name(),
        "fallback_mac_chain"
    );
    assert!(setups[0].include_icv_indicator);
    assert_eq!(setups[1].interface, "TenGigE0/0/0/1");
    assert_eq!(setups[1].key_server_priority, 16);

    // Nothing secret anywhere: not the CAKs, not the routing key's type 7 string, not the user's
    // password hash.
    let everything = format!("{c:?}\n{}\n{}", notes.join("\n"), c.render());
    for secret in [
        CAK128,
        CAK256,
        CAK128_TYPE7,
        CAK_FB,
        "0822455D0A16",
        "Zm9vYmFyYmF6",
    ] {
        assert!(
            !everything
                .to_ascii_lowercase()
                .contains(&secret.to_ascii_lowercase()),
            "{secret} leaked"
        );
    }
}

#[test]
fn render_whole_config_masks_keys() {
    let c = parse(RUNNING_CONFIG);
    assert_eq!(
        c.render_key_chain("mac_chain").unwrap(),
        "key chain mac_chain
  macsec
    key 1234ABCD5678
      key-string <removed> cryptographic-algorithm AES-128-CMAC
      lifetime 05:00:00 january 01 2015 infinite
    !
    key 2000
      key-string <removed> cryptographic-algorithm AES-256-CMAC
      lifetime 00:00:00 january 01 2024 00:00:00 december 31 2030
    !
  !
!
"
    );
    let all = c.render();
    assert!(all.starts_with("key chain fallback_mac_chain\n"));
    assert!(all.contains("sks profile ProfileR1toR2 type remote\n"));
    assert!(all.ends_with("interface TenGigE0/0/0/1\n  macsec psk-keychain mac_chain\n!\n"));
    // Feeding the masked rendering back is refused with a clear message.
    let e = Config::parse(&all).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 4: key FFFF: the key-string is masked (<removed> or ***, as show prints it); configure the CAK itself"
    );
}

#[test]
fn rendering_of_policies_and_profiles_parses_back() {
    let c = parse(RUNNING_CONFIG);
    let text: String = c
        .sks_profiles
        .values()
        .map(|p| p.to_string())
        .chain(c.policies.values().map(|p| p.to_string()))
        .collect();
    let again = parse(&text);
    assert_eq!(again.policies, c.policies);
    assert_eq!(again.sks_profiles, c.sks_profiles);
}

// ---------------------------------------------------------------------------------------------
// Defaults.
// ---------------------------------------------------------------------------------------------

#[test]
fn default_policy_values() {
    let d = MacsecPolicy::default_policy();
    assert_eq!(d.name, "*DEFAULT POLICY*");
    assert_eq!(d.name, DEFAULT_POLICY_NAME);
    assert_eq!(d.cipher_suite, CipherSuite::GcmAesXpn256);
    assert_eq!(d.conf_offset, ConfOffset::Zero);
    assert_eq!(d.key_server_priority, 16);
    assert_eq!(d.security_policy, SecurityPolicy::MustSecure);
    assert_eq!(d.window_size, 64);
    assert!(!d.delay_protection);
    assert!(!d.include_icv_indicator);
    assert_eq!(d.sak_rekey_interval, None);
    assert!(!d.clear.lacp_in_clear);
    assert_eq!(d.ppk_sks_profile, None);
    assert_eq!(*MacsecPolicy::default_policy_ref(), d);

    // An empty policy has the defaults and renders as just its name.
    let c = parse("macsec-policy P\n!");
    let mut expected = MacsecPolicy::new("P");
    assert_eq!(c.policies["P"], expected);
    assert_eq!(c.render_policy("P").unwrap(), "macsec-policy P\n!\n");
    // Programmatic changes render too.
    expected.window_size = 128;
    expected.security_policy = SecurityPolicy::ShouldSecure;
    assert_eq!(
        expected.to_string(),
        "macsec-policy P\n  security-policy should-secure\n  window-size 128\n!\n"
    );
}

#[test]
fn every_policy_command_and_ranges() {
    let c = parse(&lines(&[
        "macsec-policy ALL",
        " cipher-suite gcm-aes-128",
        " conf-offset conf-offset-50",
        " key-server-priority 255",
        " security-policy SHOULD-SECURE",
        " delay-protection",
        " window-size 1024",
        " include-icv-indicator",
        " sak-rekey-interval seconds 2592000",
        " policy-exception lacp-in-clear",
        " ppk",
        "  sks-profile S",
        " !",
        "!",
        "macsec-policy MIN",
        " cipher-suite GCM-AES-256",
        " key-server-priority 0",
        " window-size 0",
        " sak-rekey-interval seconds 60",
        "!",
        "sks profile S",
        "!",
    ]));
    let p = &c.policies["ALL"];
    assert_eq!(p.cipher_suite, CipherSuite::GcmAes128);
    assert_eq!(p.conf_offset, ConfOffset::Fifty);
    assert_eq!(p.key_server_priority, 255);
    assert_eq!(p.security_policy, SecurityPolicy::ShouldSecure);
    assert!(p.delay_protection && p.include_icv_indicator && p.clear.lacp_in_clear);
    assert_eq!(p.window_size, 1024);
    assert_eq!(p.sak_rekey_interval, Some(Duration::from_secs(2_592_000)));
    assert_eq!(p.ppk_sks_profile.as_deref(), Some("S"));
    assert_eq!(
        p.to_string(),
        "macsec-policy ALL
  conf-offset CONF-OFFSET-50
  policy-exception lacp-in-clear
  security-policy should-secure
  window-size 1024
  cipher-suite GCM-AES-128
  key-server-priority 255
  include-icv-indicator
  sak-rekey-interval seconds 2592000
  delay-protection
  ppk
    sks-profile S
  !
!
"
    );
    let m = &c.policies["MIN"];
    assert_eq!(
        (m.cipher_suite, m.key_server_priority, m.window_size),
        (CipherSuite::GcmAes256, 0, 0)
    );
    assert_eq!(m.sak_rekey_interval, Some(Duration::from_secs(60)));
}

/// `max-peers` (our extension to the IOS XR policy): parsed, rendered when not the default, and
/// carried to the interface's setup and its MKA engine (`MkaConfig::max_peers`); default 64.
/// `vlan-tags-in-clear` (IOS XR's) and the bypass lists (our `policy-exception ethertype` /
/// `destination-mac`) reach the dataplane policy and render back as written.
#[test]
fn clear_tags_and_bypass_exceptions() {
    let text = format!(
        "{}macsec-policy P\n policy-exception lacp-in-clear\n policy-exception ethertype 88CC\n policy-exception destination-mac 01:80:c2:00:00:00\n vlan-tags-in-clear 2\n!\ninterface Hu0/0/0/0\n macsec psk-keychain KC policy P\n!\n",
        chain("KC", "01", CAK128)
    );
    let c = parse(&text);
    let p = &c.policies["P"];
    assert_eq!(
        p.clear,
        ipc::ClearPolicy::new(true, 2, [0x88cc], [[0x01, 0x80, 0xc2, 0, 0, 0]]).unwrap()
    );
    assert_eq!(
        p.to_string(),
        "macsec-policy P\n  policy-exception lacp-in-clear\n  policy-exception ethertype 0x88cc\n  policy-exception destination-mac 0180.c200.0000\n  vlan-tags-in-clear 2\n!\n"
    );
    assert_eq!(parse(&p.to_string()).policies["P"], *p);
    let setups = c.port_setups().unwrap();
    assert_eq!(setups[0].policy(None).clear, p.clear);
}

#[test]
fn max_peers_is_our_policy_extension() {
    let text = format!(
        "{}macsec-policy P\n max-peers 8\n!\ninterface Hu0/0/0/0\n macsec psk-keychain KC policy P\n!\ninterface Hu0/0/0/1\n macsec psk-keychain KC\n!\n",
        chain("KC", "01", CAK128)
    );
    let c = parse(&text);
    assert_eq!(c.policies["P"].max_peers, 8);
    assert_eq!(c.policies["P"].to_string(), "macsec-policy P\n  max-peers 8\n!\n");
    let setups = c.port_setups().unwrap();
    assert_eq!(
        setups
            .iter()
            .map(|s| (s.interface.as_str(), s.max_peers))
            .collect::<Vec<_>>(),
        vec![("HundredGigE0/0/0/0", 8), ("HundredGigE0/0/0/1", 64)]
    );
    let engines: Vec<usize> = setups
        .into_iter()
        .map(|s| {
            let port = control::daemon::Port::new(
                s,
                macsec::secy::Sci(0x0011_2233_4455_0001),
                Duration::ZERO,
                &control::daemon::PpkEnv::default(),
            )
            .unwrap();
            port.mka.config().max_peers
        })
        .collect();
    assert_eq!(engines, vec![8, 64]);
    let full = parse(&lines(&["macsec-policy F", " max-peers 64", "!"]));
    assert_eq!(full.policies["F"].max_peers, 64);
    assert_eq!(full.policies["F"].to_string(), "macsec-policy F\n!\n");
}

// ---------------------------------------------------------------------------------------------
// Syntax variants.
// ---------------------------------------------------------------------------------------------

#[test]
fn indentation_and_separators_do_not_matter() {
    let indented = format!(
        "{}{GUIDE_POLICY_EXCEPTION_RUNNING}interface Hu0/0/0/0\n macsec psk-keychain KC policy test-macsec-policy\n!\n",
        chain("KC", "01", CAK128)
    );
    let flat: String = indented
        .lines()
        .map(|l| l.trim())
        .filter(|l| *l != "!")
        .map(|l| format!("{l}\n"))
        .collect();
    let odd: String = indented
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{}{}\n", " ".repeat(i % 5), l.trim()))
        .collect();
    let a = parse(&indented);
    for text in [flat, odd] {
        let b = parse(&text);
        assert_eq!(a.policies, b.policies);
        assert_eq!(
            a.interfaces.keys().collect::<Vec<_>>(),
            b.interfaces.keys().collect::<Vec<_>>()
        );
        assert_eq!(format!("{:?}", a.key_chains), format!("{:?}", b.key_chains));
    }
    // Without `!`, a second key, policy command or stanza ends the one before; `exit` and `end`
    // leave explicitly; comments are ignored.
    let c = parse(&lines(&[
        "! MACsec for the uplink",
        "key chain KC",
        "macsec",
        "key 01",
        "key-string 12345678123456781234567812345678 cryptographic-algorithm AES-128-CMAC",
        "! For AES 128-bit encryption",
        "lifetime 00:00:00 january 01 2024 infinite",
        "key 02",
        "lifetime 00:00:00 february 01 2024 infinite",
        "key-string 1234567812345678123456781234567812345678123456781234567812345678 cryptographic-algorithm AES-256-CMAC",
        "macsec-policy P",
        "# a comment",
        "ppk",
        "sks-profile S",
        "window-size 10",
        "sks profile S",
        "exit",
        "interface Hu0/0/0/1",
        "macsec psk-keychain KC policy P",
        "end",
        "interface Hu0/0/0/2",
        "macsec psk-keychain KC",
    ]));
    assert_eq!(c.key_chains["KC"].keys().len(), 2);
    assert_eq!(c.key_chains["KC"].keys()[1].algorithm(), CakAlgorithm::Aes256Cmac);
    assert_eq!(c.policies["P"].window_size, 10);
    assert_eq!(c.policies["P"].ppk_sks_profile.as_deref(), Some("S"));
    assert_eq!(c.interfaces.len(), 2);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn key_string_forms_and_dates() {
    let forms = [
        format!("key-string {CAK128} cryptographic-algorithm AES-128-CMAC"),
        format!("key-string clear {CAK128} cryptographic-algorithm aes-128-cmac"),
        format!("key-string password {CAK128_TYPE7} cryptographic-algorithm aes-128-cmac"),
        format!("key-string 7 {CAK128_TYPE7} cryptographic-algorithm Aes-128-Cmac"),
        format!(
            "KEY-STRING {} CRYPTOGRAPHIC-ALGORITHM AES-128-CMAC",
            CAK128.to_uppercase()
        ),
    ];
    let dates = [
        "05:00:00 01 January 2015",
        "05:00:00 january 01 2015",
        "05:00:00 1 jan 2015",
        "05:00:00 JAN 1 2015",
    ];
    for f in &forms {
        for d in dates {
            let c = parse(&lines(&[
                "key chain K",
                "macsec",
                "key AbCd",
                f,
                &format!("lifetime {d} duration 60"),
            ]));
            let k = only_key(&c, "K");
            assert_eq!(k.ckn().to_string(), "ABCD");
            assert_eq!(k.cak(), hex::decode(CAK128).unwrap().as_slice(), "{f}");
            assert_eq!(*k.lifetime(), Lifetime::duration(JAN_01_2015_0500, 60), "{d}");
        }
    }
    // Leap day, end of day, and the longest CKN (64 hex digits).
    let long_ckn = "ab".repeat(32);
    let c = parse(&lines(&[
        "key chain K",
        "macsec",
        &format!("key {long_ckn}"),
        &format!("key-string {CAK128} cryptographic-algorithm AES-128-CMAC"),
        "lifetime 23:59:59 29 february 2024 00:00:00 march 01 2024",
    ]));
    let k = only_key(&c, "K");
    assert_eq!(k.ckn().len(), 32);
    assert_eq!(*k.lifetime(), Lifetime::until(1_709_251_199, 1_709_251_200));
    assert_eq!(time::format_time(1_709_251_199), "23:59:59 february 29 2024");
    assert_eq!(
        time::parse_time(&["05:00:00", "01", "January", "2015"]),
        Ok(JAN_01_2015_0500)
    );
}

#[test]
fn interface_names() {
    for (input, canonical) in [
        ("hundredGigE 0/1/0/10", "HundredGigE0/1/0/10"),
        ("HundredGigE0/1/0/10", "HundredGigE0/1/0/10"),
        ("Hu0/5/0/1", "HundredGigE0/5/0/1"),
        ("Te0/3/0/1/4", "TenGigE0/3/0/1/4"),
        ("tengige0/0/0/1", "TenGigE0/0/0/1"),
        ("Fo0/0/0/1/0", "FortyGigE0/0/0/1/0"),
        ("FH0/0/0/0", "FourHundredGigE0/0/0/0"),
        ("GigabitEthernet 0/1/0/1", "GigabitEthernet0/1/0/1"),
        ("Bundle-Ether1", "Bundle-Ether1"),
        ("MgmtEth0/RP0/CPU0/0", "MgmtEth0/RP0/CPU0/0"),
        ("dpdk0", "dpdk0"),
        ("Hu", "Hu"),
    ] {
        assert_eq!(canonical_interface_name(input), canonical, "{input}");
    }
    // `preconfigure` and words after the name.
    let c = parse(&format!(
        "{}interface preconfigure Hu0/0/0/3 l2transport\n macsec psk-keychain KC\n!",
        chain("KC", "01", CAK128)
    ));
    assert!(c.interfaces.contains_key("HundredGigE0/0/0/3"));
    assert_eq!(
        c.notes[0].to_string(),
        "line 9: interface HundredGigE0/0/0/3: `l2transport` ignored"
    );
    assert!(c.render_interface("hundredGigE 0/0/0/3").is_some());
}

#[test]
fn keychain_with_routing_keys_and_macsec_keys() {
    let c = parse(&lines(&[
        "key chain mixed",
        " key 1",
        "  key-string password 0822455D0A16",
        "  cryptographic-algorithm HMAC-MD5",
        " !",
        " macsec",
        "  key 01",
        &format!("   key-string {CAK128} cryptographic-algorithm AES-128-CMAC"),
        "   lifetime 00:00:00 january 01 2024 infinite",
        "  !",
        " !",
        "!",
    ]));
    assert_eq!(c.key_chains["mixed"].keys().len(), 1);
    assert_eq!(c.notes.len(), 1);
    assert_eq!(
        c.notes[0].to_string(),
        "line 2: key chain mixed: keys outside `macsec` are not MACsec keys: ignored"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed input: message and line.
// ---------------------------------------------------------------------------------------------

/// A valid key chain KC (lines 1-8) and FB (lines 9-16) and policy P (17-19), for cases to append
/// to from line 20.
fn prelude() -> String {
    format!(
        "{}{}macsec-policy P\n window-size 64\n!\n",
        chain("KC", "01", CAK128),
        chain("FB", "FF", CAK_FB)
    )
}

fn key_case(key_lines: &[&str]) -> String {
    let mut v = vec!["key chain K", " macsec", "  key 01"];
    v.extend_from_slice(key_lines);
    lines(&v)
}

const LT: &str = "   lifetime 00:00:00 january 01 2024 infinite";

fn error_cases() -> Vec<(String, usize, String)> {
    let ks = |cak: &str, alg: &str| format!("   key-string {cak} cryptographic-algorithm {alg}");
    let p = prelude();
    let iface = |cmd: &str| format!("{p}interface Hu0/0/0/0\n {cmd}\n!\n");
    let pol = |cmd: &str| format!("macsec-policy P\n {cmd}\n!\n");
    let usage_lt =
        "expected `lifetime hh:mm:ss DAY MONTH YEAR (infinite | duration SECONDS | hh:mm:ss DAY MONTH YEAR)`";
    let usage_ks =
        "expected `key-string [clear|password] CAK cryptographic-algorithm AES-128-CMAC|AES-256-CMAC`";
    let mut v: Vec<(String, usize, String)> = vec![
        // CKN.
        (lines(&["key chain K", " macsec", "  key 123"]), 3, "key 123: the CKN must have an even number of hex digits, got 3".into()),
        (lines(&["key chain K", " macsec", "  key 12zz"]), 3, "key 12zz: the CKN must be hexadecimal".into()),
        (lines(&["key chain K", " macsec", &format!("  key {}", "a".repeat(66))]), 3, "key: the CKN has 66 hex digits, at most 64 are allowed".into()),
        (lines(&["key chain K", " macsec", "  key"]), 3, "key: missing argument; expected `key CKN`".into()),
        // CAK.
        (key_case(&[&ks(&CAK128[..30], "AES-128-CMAC"), LT]), 4, "key 01: cryptographic-algorithm AES-128-CMAC needs a 32-hex-digit key-string (CAK), got 30 hex digits".into()),
        (key_case(&[&ks(CAK256, "AES-128-CMAC"), LT]), 4, "key 01: cryptographic-algorithm AES-128-CMAC needs a 32-hex-digit key-string (CAK), got 64 hex digits".into()),
        (key_case(&[&ks(CAK128, "AES-256-CMAC"), LT]), 4, "key 01: cryptographic-algorithm AES-256-CMAC needs a 64-hex-digit key-string (CAK), got 32 hex digits".into()),
        (key_case(&[&ks("1234567812345678123456781234567g", "AES-128-CMAC"), LT]), 4, "key 01: the key-string (CAK) must be hexadecimal".into()),
        (key_case(&[&ks(CAK128, "AES-192-CMAC"), LT]), 4, "key 01: cryptographic-algorithm must be AES-128-CMAC or AES-256-CMAC".into()),
        (key_case(&[&ks(CAK128, CAK128), LT]), 4, "key 01: cryptographic-algorithm must be AES-128-CMAC or AES-256-CMAC".into()),
        (key_case(&[&format!("   key-string {CAK128}"), LT]), 4, "key 01: key-string needs `cryptographic-algorithm AES-128-CMAC` or `cryptographic-algorithm AES-256-CMAC`".into()),
        (key_case(&[&format!("   key-string {CAK128} cryptographic-algorithm"), LT]), 4, "key 01: key-string needs `cryptographic-algorithm AES-128-CMAC` or `cryptographic-algorithm AES-256-CMAC`".into()),
        (key_case(&[&format!("   key-string {CAK128} AES-128-CMAC extra"), LT]), 4, format!("key-string: malformed command; {usage_ks}")),
        (key_case(&["   key-string", LT]), 4, format!("key-string: malformed command; {usage_ks}")),
        (key_case(&[&format!("   key-string password {CAK128} cryptographic-algorithm AES-128-CMAC"), LT]), 4, "key 01: the encrypted key-string (`password`, type 7) cannot be decoded; for a clear CAK write `key-string CAK cryptographic-algorithm ...`".into()),
        (key_case(&["   key-string *** cryptographic-algorithm AES-128-CMAC", LT]), 4, "key 01: the key-string is masked (<removed> or ***, as show prints it); configure the CAK itself".into()),
        (key_case(&["   key-string <removed> cryptographic-algorithm AES-128-CMAC", LT]), 4, "key 01: the key-string is masked (<removed> or ***, as show prints it); configure the CAK itself".into()),
        // Lifetime.
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 12:00:00 30 september 2015 05:00:00 20 february 2015"]), 5, "key 01: the lifetime ends at 05:00:00 february 20 2015, not after its start 12:00:00 september 30 2015".into()),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 05:00:00 20 february 2015 05:00:00 february 20 2015"]), 5, "key 01: the lifetime ends at 05:00:00 february 20 2015, not after its start 05:00:00 february 20 2015".into()),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 00:00:00 30 february 2015 infinite"]), 5, format!("lifetime: day `30` is not 1 to 28 for february 2015; {usage_lt}")),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 25:00:00 01 january 2015 infinite"]), 5, format!("lifetime: time `25:00:00` is not a valid hh:mm:ss (00:00:00 to 23:59:59); {usage_lt}")),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 05:00:00 01 smarch 2015 infinite"]), 5, format!("lifetime: no month name in `01 smarch`; {usage_lt}")),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 05:00:00 01 january 1969 infinite"]), 5, format!("lifetime: year `1969` is not 1970 to 2099; {usage_lt}")),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 05:00:00 01 january 2015 duration 0"]), 5, "lifetime duration 0 is out of range 1-2147483646".into()),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 05:00:00 01 january 2015 duration"]), 5, format!("lifetime: missing argument; {usage_lt}")),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 05:00:00 01 january 2015"]), 5, format!("lifetime: missing argument; {usage_lt}")),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 05:00:00 01 january 2015 forever"]), 5, format!("lifetime: unexpected `forever`; {usage_lt}")),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), "   lifetime 05:00:00 01 january 2015 infinite now"]), 5, format!("lifetime: unexpected `now`; {usage_lt}")),
        // Missing parts, duplicates.
        (key_case(&[&ks(CAK128, "AES-128-CMAC")]), 3, "key 01: no lifetime is configured (for example `lifetime 00:00:00 january 01 2024 infinite`)".into()),
        (key_case(&[LT]), 3, "key 01: no key-string (CAK) is configured".into()),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), LT, "  key 01"]), 6, "key 01 in key chain K is already configured at line 3".into()),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), LT, "  key 0a", "  key 0A"]), 7, "key 0A in key chain K is already configured at line 6".into()),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), &ks(CAK128, "AES-128-CMAC"), LT]), 5, "key-string of key 01 is already configured at line 4".into()),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), LT, LT]), 6, "lifetime of key 01 is already configured at line 5".into()),
        (lines(&["key chain K", " macsec", " !", "!"]), 1, "key chain K has a macsec section but no keys".into()),
        (format!("{}{}", chain("K", "01", CAK128), chain("K", "02", CAK128)), 9, "key chain K is already configured at line 1".into()),
        ("key chain mac chain".into(), 1, "key chain: takes exactly one name; expected `key chain NAME`".into()),
        // Unknown and misplaced commands.
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), LT, "   send-lifetime 00:00:00 january 01 2024 infinite"]), 6, "unknown command `send-lifetime` in key chain K key 01".into()),
        (key_case(&[CAK128, LT]), 4, "unknown command `***` in key chain K key 01".into()),
        (lines(&["key chain K", " macsec", "  keys 01"]), 3, "unknown command `keys` in key chain K macsec".into()),
        (lines(&["key chain K", " macsec foo"]), 2, "unknown command `macsec` in key chain K".into()),
        (key_case(&[&ks(CAK128, "AES-128-CMAC"), LT, "  !", " !", "!", LT]), 9, "`lifetime` is only valid inside a key chain's `macsec` key (`key chain NAME` / `macsec` / `key CKN`)".into()),
        (format!("!\n{}", ks(CAK128, "AES-128-CMAC")), 2, "`key-string` is only valid inside a key chain's `macsec` key (`key chain NAME` / `macsec` / `key CKN`)".into()),
        ("cipher-suite GCM-AES-128".into(), 1, "`cipher-suite` is only valid inside a macsec-policy".into()),
        ("sks-profile S".into(), 1, "`sks-profile` is only valid inside a macsec-policy's `ppk`".into()),
        ("kme server ipv4 192.0.2.1 port 1".into(), 1, "`kme` is only valid inside an sks profile".into()),
        ("macsec psk-keychain KC".into(), 1, "`macsec psk-keychain` is only valid inside an interface (`interface NAME`)".into()),
        // Policy values.
        (pol("key-server-priority 256"), 2, "key-server-priority 256 is out of range 0-255".into()),
        (pol("key-server-priority -1"), 2, "key-server-priority: `-1` is not a number; expected `key-server-priority 0-255`".into()),
        (pol("key-server-priority"), 2, "key-server-priority: missing argument; expected `key-server-priority 0-255`".into()),
        // A long digit string might be key material: quoted as ***.
        (pol("key-server-priority 99999999999999999999999"), 2, "key-server-priority *** is out of range 0-255".into()),
        (pol("window-size 1025"), 2, "window-size 1025 is out of range 0-1024".into()),
        (pol("window-size 64 64"), 2, "window-size: unexpected `64`; expected `window-size 0-1024`".into()),
        (pol("cipher-suite GCM-AES-192"), 2, "cipher-suite: unknown cipher suite `GCM-AES-192`; expected `cipher-suite GCM-AES-128|GCM-AES-256|GCM-AES-XPN-128|GCM-AES-XPN-256`".into()),
        (pol("conf-offset CONF-OFFSET-40"), 2, "conf-offset: unknown offset `CONF-OFFSET-40`; expected `conf-offset CONF-OFFSET-0|CONF-OFFSET-30|CONF-OFFSET-50`".into()),
        (pol("conf-offset 30"), 2, "conf-offset: unknown offset `30`; expected `conf-offset CONF-OFFSET-0|CONF-OFFSET-30|CONF-OFFSET-50`".into()),
        (pol("security-policy may-secure"), 2, "security-policy: unknown policy `may-secure`; expected `security-policy must-secure|should-secure`".into()),
        (pol("sak-rekey-interval seconds 0"), 2, "sak-rekey-interval seconds 0 is out of range 1-2592000".into()),
        (pol("sak-rekey-interval seconds 2592001"), 2, "sak-rekey-interval seconds 2592001 is out of range 1-2592000".into()),
        (pol("sak-rekey-interval 120"), 2, "sak-rekey-interval: the unit must be `seconds`; expected `sak-rekey-interval seconds 1-2592000`".into()),
        (pol("max-peers 0"), 2, "max-peers 0 is out of range 1-64".into()),
        (pol("max-peers 65"), 2, "max-peers 65 is out of range 1-64".into()),
        (pol("max-peers many"), 2, "max-peers: `many` is not a number; expected `max-peers 1-64`".into()),
        (pol("max-peers"), 2, "max-peers: missing argument; expected `max-peers 1-64`".into()),
        (lines(&["macsec-policy P", " max-peers 8", " max-peers 9"]), 3, "max-peers is already configured at line 2".into()),
        ("max-peers 8".into(), 1, "`max-peers` is only valid inside a macsec-policy".into()),
        (pol("policy-exception eapol-in-clear"), 2, "policy-exception: unknown exception `eapol-in-clear`; expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (pol("policy-exception"), 2, "policy-exception: missing argument; expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (pol("policy-exception ethertype"), 2, "policy-exception: missing argument; expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (pol("policy-exception ethertype lldp"), 2, "policy-exception: `lldp` is not an EtherType (hex, 0x0600..0xffff, e.g. 0x88cc); expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (pol("policy-exception ethertype 0x88e5"), 2, "policy-exception: EtherType 0x88e5 cannot pass in the clear: it is MACsec; expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (lines(&["macsec-policy P", " policy-exception ethertype 0x88cc", " policy-exception ethertype 88CC"]), 3, "policy-exception: EtherType 0x88cc is listed twice; expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (pol("policy-exception destination-mac 0180.c200.0003"), 2, "policy-exception: destination MAC 01:80:c2:00:00:03 cannot pass in the clear: it is the PAE group address of our MKA; expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (pol("policy-exception destination-mac 0180.c200"), 2, "policy-exception: `0180.c200` is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff); expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (pol("policy-exception lacp-in-clear now"), 2, "policy-exception: unexpected `now`; expected `policy-exception lacp-in-clear|ethertype HEX|destination-mac MAC`".into()),
        (pol("vlan-tags-in-clear 3"), 2, "vlan-tags-in-clear 3 is out of range 1-2".into()),
        (pol("vlan-tags-in-clear"), 2, "vlan-tags-in-clear: missing argument; expected `vlan-tags-in-clear 1-2`".into()),
        (lines(&["macsec-policy P", " vlan-tags-in-clear 1", " vlan-tags-in-clear 2"]), 3, "vlan-tags-in-clear is already configured at line 2".into()),
        (pol("delay-protection enable"), 2, "delay-protection: unexpected `enable`; expected `delay-protection`".into()),
        (pol("include-icv-indicator yes"), 2, "include-icv-indicator: unexpected `yes`; expected `include-icv-indicator`".into()),
        (pol("ppk sks"), 2, "ppk: unknown `sks`; expected `ppk sks-profile NAME`".into()),
        (pol("cipher-suit GCM-AES-128"), 2, "unknown command `cipher-suit` in macsec-policy P".into()),
        (pol("hostname R1"), 2, "unknown command `hostname` in macsec-policy P".into()),
        (lines(&["macsec-policy P", " ppk", "  sks-profile"]), 3, "sks-profile: missing argument; expected `sks-profile NAME`".into()),
        (lines(&["macsec-policy P", " ppk", "  profile S"]), 3, "unknown command `profile` in macsec-policy P ppk".into()),
        (pol("suspend-for 10"), 2, "`suspend-for` in macsec-policy P is not supported: the macsec-policy commands are cipher-suite, conf-offset, key-server-priority, security-policy, delay-protection, window-size, include-icv-indicator, sak-rekey-interval, policy-exception, vlan-tags-in-clear, ppk and max-peers (ours)".into()),
        (pol("enable-legacy-fallback"), 2, "`enable-legacy-fallback` in macsec-policy P is not supported: the macsec-policy commands are cipher-suite, conf-offset, key-server-priority, security-policy, delay-protection, window-size, include-icv-indicator, sak-rekey-interval, policy-exception, vlan-tags-in-clear, ppk and max-peers (ours)".into()),
        (lines(&["macsec-policy P", " cipher-suite GCM-AES-128", " window-size 32", " cipher-suite GCM-AES-256"]), 4, "cipher-suite is already configured at line 2".into()),
        (lines(&["macsec-policy P", " ppk sks-profile S", " ppk", "  sks-profile S", "!", "sks profile S"]), 4, "ppk sks-profile is already configured at line 2".into()),
        (lines(&["macsec-policy P", "!", "macsec-policy P"]), 3, "macsec-policy P is already configured at line 1".into()),
        ("macsec-policy".into(), 1, "macsec-policy: takes exactly one name; expected `macsec-policy NAME`".into()),
        (lines(&["macsec-policy P", " ppk sks-profile NOPE"]), 2, "macsec-policy P: sks profile NOPE is not configured".into()),
        // SKS profiles.
        (lines(&["sks profile S type remote", "!"]), 1, "sks profile S type remote has no `kme server` (for example `kme server ipv4 192.0.2.34 port 10001`)".into()),
        (lines(&["sks profile S", " kme server ipv4 192.0.2.1 port 1"]), 2, "sks profile S: `kme server` needs a `type remote` profile".into()),
        (lines(&["sks profile S type remote", " kme server ipv4 300.1.1.1 port 1"]), 2, "kme server: `300.1.1.1` is not an IPv4 address; expected `ipv4 ADDRESS|ipv6 ADDRESS|hostname NAME port PORT`".into()),
        (lines(&["sks profile S type remote", " kme server ipv4 192.0.2.1 port 70000"]), 2, "port 70000 is out of range 1-65535".into()),
        (lines(&["sks profile S type remote", " kme server ipv4 192.0.2.1"]), 2, "kme server: malformed address; expected `ipv4 ADDRESS|ipv6 ADDRESS|hostname NAME port PORT`".into()),
        (lines(&["sks profile S type remote", " kme server fqdn kme.example port 443"]), 2, "kme server: unknown address type `fqdn`; expected `ipv4 ADDRESS|ipv6 ADDRESS|hostname NAME port PORT`".into()),
        (lines(&["sks profile S type remote", " kme server ipv4 192.0.2.1 port 1", " kme server ipv4 192.0.2.2 port 1"]), 3, "kme server is already configured at line 2".into()),
        (lines(&["sks profile S", " peer-identifier A", " peer-identifier A master"]), 3, "peer-identifier A is already configured at line 2".into()),
        (lines(&["sks profile S", " live-keys 0"]), 2, "live-keys 0 is out of range 1-65535".into()),
        (lines(&["sks profile S", " vrf mgmt"]), 2, "unknown command `vrf` in sks profile S".into()),
        ("sks profile S type quantum".into(), 1, "sks profile: unexpected `type`; expected `sks profile NAME [type remote|local] [device-identifier ID]`".into()),
        // Interfaces.
        (iface("macsec psk-keychain NOPE"), 21, "interface HundredGigE0/0/0/0: psk-keychain NOPE is not configured".into()),
        (iface("macsec psk-keychain KC policy NOPE"), 21, "interface HundredGigE0/0/0/0: macsec-policy NOPE is not configured".into()),
        (iface("macsec psk-keychain KC fallback-psk-keychain NOPE policy P"), 21, "interface HundredGigE0/0/0/0: fallback-psk-keychain NOPE is not configured".into()),
        (iface("macsec psk-keychain KC fallback-psk-keychain KC"), 21, "interface HundredGigE0/0/0/0: fallback-psk-keychain KC is the psk-keychain itself; configure different key chains for primary and fallback PSKs".into()),
        (iface("macsec psk-keychain KC policy"), 21, "macsec: `policy` needs a name; expected `macsec psk-keychain NAME [fallback-psk-keychain NAME] [policy NAME]`".into()),
        (iface("macsec psk-keychain KC policy P policy P"), 21, "macsec: `policy` given twice; expected `macsec psk-keychain NAME [fallback-psk-keychain NAME] [policy NAME]`".into()),
        (iface("macsec psk-keychain KC fallback FB"), 21, "macsec: unexpected `fallback`; expected `macsec psk-keychain NAME [fallback-psk-keychain NAME] [policy NAME]`".into()),
        (iface("macsec psk-keychain"), 21, "macsec: missing key chain name; expected `macsec psk-keychain NAME [fallback-psk-keychain NAME] [policy NAME]`".into()),
        (iface("macsec eap profile X"), 21, "macsec: `macsec eap` is not supported (only `macsec psk-keychain`); expected `macsec psk-keychain NAME [fallback-psk-keychain NAME] [policy NAME]`".into()),
        (format!("{p}interface Hu0/0/0/0\n macsec psk-keychain KC\n macsec psk-keychain FB\n"), 22, "macsec on interface HundredGigE0/0/0/0 is already configured at line 21".into()),
        (format!("{p}interface Hu0/0/0/0\n!\ninterface HundredGigE 0/0/0/0\n"), 22, "interface HundredGigE0/0/0/0 is already configured at line 20".into()),
        ("interface".into(), 1, "interface: missing name; expected `interface NAME`".into()),
        (format!("{p}key chain isis\n key 1\n  key-string password 0822455D0A16\n!\ninterface Hu0/0/0/0\n macsec psk-keychain isis\n"), 25, "interface HundredGigE0/0/0/0: psk-keychain isis is not a MACsec key chain (it has no `macsec` keys)".into()),
        // Fallback PSK rules.
        (
            format!("{}{}interface Hu0/0/0/0\n macsec psk-keychain KC fallback-psk-keychain FB\n", chain("KC", "01", CAK128), key_case(&[&ks(CAK_FB, "AES-128-CMAC"), "   lifetime 00:00:00 january 01 2024 duration 3600"]).replace("key chain K\n", "key chain FB\n") + "\n"),
            15,
            "interface HundredGigE0/0/0/0: fallback-psk-keychain FB: key 01 must have an infinite lifetime".into(),
        ),
        (
            format!("{}{}interface Hu0/0/0/0\n macsec psk-keychain KC fallback-psk-keychain FB\n", chain("KC", "01", CAK128), chain("FB", "01", CAK_FB)),
            18,
            "interface HundredGigE0/0/0/0: CKN 01 is in both psk-keychain KC and fallback-psk-keychain FB".into(),
        ),
    ];
    // Errors found after a valid prelude keep their line.
    v.push((
        format!("{p}macsec-policy Q\n window-size 2000\n"),
        21,
        "window-size 2000 is out of range 0-1024".into(),
    ));
    v
}

#[test]
fn malformed_inputs_name_their_line() {
    for (text, line, message) in error_cases() {
        let e = match Config::parse(&text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        };
        assert_eq!(
            (e.line, e.kind.to_string()),
            (line, message.clone()),
            "\n--- input ---\n{text}"
        );
        assert_eq!(e.to_string(), format!("line {line}: {message}"));
    }
}

#[test]
fn no_error_or_debug_output_contains_a_cak() {
    let secrets = [
        CAK128,
        CAK256,
        CAK128_TYPE7,
        CAK_FB,
        &CAK128[..30],
        "1234567812345678123456781234567g",
    ];
    let leaks = |s: &str| {
        secrets
            .iter()
            .find(|k| s.to_ascii_lowercase().contains(&k.to_ascii_lowercase()))
            .copied()
    };
    for (text, _, _) in error_cases() {
        for e in Config::parse_all(&text).unwrap_err() {
            for out in [e.to_string(), format!("{e:?}"), format!("{:?}", e.kind)] {
                assert_eq!(leaks(&out), None, "{out}");
            }
        }
    }
    // A parsed configuration: Debug, notes and rendering.
    for text in [
        RUNNING_CONFIG.to_string(),
        GUIDE_KEYCHAIN_AES256_PERIOD.to_string(),
        prelude(),
    ] {
        let c = parse(&text);
        for out in [
            format!("{c:?}"),
            format!("{:?}", c.key_chains),
            c.render(),
            format!("{:?}", c.port_setups().unwrap()),
        ] {
            assert_eq!(leaks(&out), None, "{out}");
            assert!(!out.is_empty());
        }
        for kc in c.key_chains.values() {
            assert!(format!("{kc:?}").contains("cak: ***"));
        }
    }
    // Key material in an unexpected place is masked in notes too.
    let c = parse(&format!(
        "{}interface Hu0/0/0/0\n {CAK128}\n macsec psk-keychain KC\n!\n{CAK256} x\n",
        chain("KC", "01", CAK128)
    ));
    let notes: Vec<String> = c.notes.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        notes,
        [
            "line 10: interface HundredGigE0/0/0/0: `***` ignored",
            "line 13: `***` is not MACsec configuration: skipped"
        ]
    );
}

#[test]
fn parse_all_reports_every_error_in_line_order() {
    let text = lines(&[
        "key chain K",                                // 1
        " macsec",                                    // 2
        "  key 123",                                  // 3: odd CKN
        "  key 02",                                   // 4: no key-string / lifetime
        "macsec-policy P",                            // 5
        " window-size 2048",                          // 6
        " key-server-priority 300",                   // 7
        " frobnicate",                                // 8
        "interface Hu0/0/0/0",                        // 9
        " macsec psk-keychain NOPE policy ALSO-NOPE", // 10
    ]);
    let errors = Config::parse_all(&text).unwrap_err();
    let got: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        got,
        [
            "line 3: key 123: the CKN must have an even number of hex digits, got 3",
            "line 6: window-size 2048 is out of range 0-1024",
            "line 7: key-server-priority 300 is out of range 0-255",
            "line 8: unknown command `frobnicate` in macsec-policy P",
            "line 10: interface HundredGigE0/0/0/0: psk-keychain NOPE is not configured",
            "line 10: interface HundredGigE0/0/0/0: macsec-policy ALSO-NOPE is not configured",
        ]
    );
    // The first one is what `parse` returns.
    assert_eq!(Config::parse(&text).unwrap_err(), errors[0]);
    // The error kind is matchable.
    assert!(matches!(
        &errors[1].kind,
        ErrorKind::OutOfRange {
            what: "window-size",
            min: 0,
            max: 1024,
            ..
        }
    ));
}

#[test]
fn missing_parts_of_a_valid_key_chain_are_errors_unless_already_reported() {
    // Key 02 has neither key-string nor lifetime: two errors on its line.
    let text = lines(&["key chain K", " macsec", "  key 02"]);
    let got: Vec<String> = Config::parse_all(&text)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        got,
        [
            "line 3: key 02: no key-string (CAK) is configured",
            "line 3: key 02: no lifetime is configured (for example `lifetime 00:00:00 january 01 2024 infinite`)"
        ]
    );
}

#[test]
fn keychain_model_is_the_shared_one() {
    // The parsed chains are `mka::keychain::KeyChain`s, usable with its planning directly.
    let c = parse(&chain("KC", "01", CAK128));
    let kc: &KeyChain = &c.key_chains["KC"];
    assert_eq!(kc.latest_active(JAN_01_2024).unwrap().ckn(), &ckn("01"));
    assert!(kc.latest_active(JAN_01_2024 - 1).is_none());
    assert_eq!(kc.next_change(JAN_01_2024 - 10), Some(JAN_01_2024));
}

/// The shape scripts/demo.sh writes: one `!` after the key (closing only the key), then the next
/// stanza, which ends the key chain.
#[test]
fn demo_configuration_shape() {
    let c = parse(
        "key chain KC1
 macsec
  key 1234abcd5678
   key-string 4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708 cryptographic-algorithm AES-256-CMAC
   lifetime 05:00:00 01 January 2015 infinite
!
macsec-policy P1
 cipher-suite GCM-AES-XPN-256
 key-server-priority 10
 security-policy must-secure
 window-size 64
 sak-rekey-interval seconds 60
!
interface TenGigE0/0/0/1
 macsec psk-keychain KC1 policy P1
!
",
    );
    let s = &c.port_setups().unwrap()[0];
    assert_eq!(s.interface, "TenGigE0/0/0/1");
    assert_eq!(s.keychain.keys()[0].algorithm(), CakAlgorithm::Aes256Cmac);
    assert_eq!((s.key_server_priority, s.replay_window), (10, 64));
    assert_eq!(s.sak_rekey_interval, Some(Duration::from_secs(60)));
    assert!(c.notes.is_empty());
}

/// Shorter SAK rekey intervals than a router takes are kept for tests, with a note on the line.
#[test]
fn short_sak_rekey_interval_is_kept_with_a_note() {
    let c = Config::parse("macsec-policy FAST\n sak-rekey-interval seconds 3\n!\n").expect("parses");
    assert_eq!(
        c.policies["FAST"].sak_rekey_interval,
        Some(Duration::from_secs(3))
    );
    let notes: Vec<String> = c.notes.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        notes,
        ["line 2: sak-rekey-interval seconds 3 is below the 60 s a router accepts; kept (meant for tests)"]
    );
    assert_eq!(c.notes[0].kind, NoteKind::BelowRouterRange);
}
