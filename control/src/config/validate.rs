//! Cross-reference validation: what one stanza says about another, checked once the parser has
//! built every stanza. A policy's `ppk sks-profile` must name an `sks profile`; an interface's
//! `psk-keychain` and `fallback-psk-keychain` must name MACsec key chains, and the fallback must be
//! a different chain, with infinite lifetimes, sharing no CKN with the primary; its `policy` must
//! name a `macsec-policy`; and an sks profile's `live-keys` bounds the interfaces using it.
//!
//! Each stanza's own checks (formats, ranges, duplicates, missing key-string or lifetime, an empty
//! key chain, a remote profile without `kme server`) are the parser's. The errors carry the line
//! of the referring command; the caller sorts them in with the parser's.

use super::{Config, ConfigError, ErrorKind, InterfaceConfig};
use mka::keychain::{FallbackPsk, KeyChain, KeyChainError};
use std::collections::{BTreeMap, BTreeSet};

/// What the parser knows about the references beyond the [`Config`] it built.
#[derive(Debug, Default)]
pub(super) struct References {
    /// Key chains without a `macsec` section (skipped): naming one is a distinct error.
    pub(super) not_macsec: BTreeSet<String>,
    /// Key chains with an error already reported: naming one raises no second error.
    pub(super) broken: BTreeSet<String>,
    /// Per policy with `ppk sks-profile`, the line of that command (its stanza's if unknown).
    pub(super) sks_profile_lines: BTreeMap<String, usize>,
}

/// Every cross-reference error of `cfg`, in the order the checks run (policies, interfaces by
/// name, then `live-keys`).
pub(super) fn validate(cfg: &Config, refs: &References) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let mut error = |line: usize, kind: ErrorKind| errors.push(ConfigError::new(line, kind));

    for (name, policy) in &cfg.policies {
        if let Some(profile) = &policy.ppk_sks_profile {
            if !cfg.sks_profiles.contains_key(profile) {
                let line = refs.sks_profile_lines.get(name).copied().unwrap_or(0);
                error(
                    line,
                    ErrorKind::UnknownSksProfile {
                        policy: name.clone(),
                        profile: profile.clone(),
                    },
                );
            }
        }
    }

    for (name, i) in &cfg.interfaces {
        let chain = |role: &'static str, chain: &str, error: &mut dyn FnMut(usize, ErrorKind)| {
            if let Some(kc) = cfg.key_chains.get(chain) {
                return Some(kc.clone());
            }
            let (interface, chain_s) = (i.name.clone(), chain.to_string());
            if refs.not_macsec.contains(chain) {
                error(
                    i.line,
                    ErrorKind::NotMacsecKeyChain {
                        interface,
                        role,
                        chain: chain_s,
                    },
                );
            } else if !refs.broken.contains(chain) {
                error(
                    i.line,
                    ErrorKind::UnknownKeyChain {
                        interface,
                        role,
                        chain: chain_s,
                    },
                );
            }
            None::<KeyChain>
        };
        let primary = chain("psk-keychain", &i.psk_keychain, &mut error);
        if let Some(fb_name) = &i.fallback_psk_keychain {
            if *fb_name == i.psk_keychain {
                error(
                    i.line,
                    ErrorKind::FallbackSameChain {
                        interface: name.clone(),
                        chain: fb_name.clone(),
                    },
                );
            } else if let Some(fb) = chain("fallback-psk-keychain", fb_name, &mut error) {
                match FallbackPsk::new(fb) {
                    Err(KeyChainError::FallbackNotInfinite { chain, ckn }) => error(
                        i.line,
                        ErrorKind::FallbackNotInfinite {
                            interface: name.clone(),
                            chain,
                            ckn,
                        },
                    ),
                    Err(source) => error(
                        i.line,
                        ErrorKind::KeyChain {
                            chain: fb_name.clone(),
                            source,
                        },
                    ),
                    Ok(fb) => match primary.as_ref().map(|p| fb.check_distinct(p)) {
                        Some(Err(KeyChainError::FallbackSharesCkn {
                            primary,
                            fallback,
                            ckn,
                        })) => error(
                            i.line,
                            ErrorKind::FallbackSharesCkn {
                                interface: name.clone(),
                                primary,
                                fallback,
                                ckn,
                            },
                        ),
                        Some(Err(source)) => error(
                            i.line,
                            ErrorKind::KeyChain {
                                chain: fb_name.clone(),
                                source,
                            },
                        ),
                        _ => {}
                    },
                }
            }
        }
        if let Some(p) = &i.policy {
            if !cfg.policies.contains_key(p) {
                error(
                    i.line,
                    ErrorKind::UnknownPolicy {
                        interface: name.clone(),
                        policy: p.clone(),
                    },
                );
            }
        }
    }

    // `live-keys N`: an sks profile keeps keys for N MACsec sessions; each interface whose
    // policy names the profile runs one session on it.
    for (name, prof) in &cfg.sks_profiles {
        let Some(n) = prof.live_keys else { continue };
        let mut users: Vec<&InterfaceConfig> = cfg
            .interfaces
            .values()
            .filter(|i| {
                cfg.interface_policy(i)
                    .is_some_and(|p| p.ppk_sks_profile.as_ref() == Some(name))
            })
            .collect();
        users.sort_by_key(|i| i.line);
        if users.len() > n as usize {
            let interfaces = users.iter().map(|i| i.name.clone()).collect();
            error(
                users[n as usize].line,
                ErrorKind::LiveKeysExceeded {
                    profile: name.clone(),
                    live_keys: n,
                    interfaces,
                },
            );
        }
    }
    errors
}
