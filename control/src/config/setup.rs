//! What macsecd runs on one interface, resolved from the configuration ([`super::Config::port_setups`]).
//! It lives with the configuration (not the daemon) so the configuration depends on nothing above it.

use super::SksProfile;
use ipc::{PolicyMsg, SecurityPolicy};
use macsec::secy::{CipherSuite, ConfOffset, ValidateFrames};
use mka::keychain::{FallbackPsk, KeyChain};
use std::time::Duration;

/// What macsecd needs to run MKA on one interface (from the IOS XR configuration).
#[derive(Debug, Clone)]
pub struct PortSetup {
    pub interface: String,
    /// The `macsec-policy` in force (the default policy's name when none is given).
    pub policy_name: String,
    pub cipher_suite: CipherSuite,
    pub conf_offset: ConfOffset,
    pub key_server_priority: u8,
    pub security_policy: SecurityPolicy,
    pub replay_window: u32,
    pub delay_protection: bool,
    pub sak_rekey_interval: Option<Duration>,
    /// What passes in the clear beside the SecY.
    pub clear: ipc::ClearPolicy,
    pub include_icv_indicator: bool,
    /// `max-peers` (our extension): [`mka::kay::MkaConfig::max_peers`].
    pub max_peers: usize,
    pub keychain: KeyChain,
    pub fallback: Option<FallbackPsk>,
    /// The policy's `ppk sks-profile NAME`, resolved: PPK key distribution with PPKs from it.
    pub ppk: Option<SksProfile>,
    /// Test only, never from the configuration: macsecd's hidden `--test-initial-pn N` (the
    /// PN-exhaustion system test), carried to [`mka::kay::MkaConfig::test_initial_pn`].
    pub test_initial_pn: Option<u64>,
}

impl PortSetup {
    /// The dataplane policy for this port (the SAs carry the keys).
    pub fn policy(&self, conf_offset: Option<ConfOffset>) -> PolicyMsg {
        PolicyMsg {
            cipher_suite: self.cipher_suite,
            conf_offset: conf_offset.map(|o| o.octets() as u8).unwrap_or(0),
            confidentiality: conf_offset.is_some(),
            include_sci: true,
            use_es: false,
            use_scb: false,
            validate_frames: ValidateFrames::Strict,
            replay_protect: true,
            replay_window: self.replay_window,
            security_policy: self.security_policy,
            clear: self.clear,
        }
    }
}
