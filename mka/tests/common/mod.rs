//! What the MKA engine tests share: a model of a dataplane that applies the engine's SA commands
//! and checks they make sense (enable only an installed Tx SA, a lowest PN only on an installed
//! Rx SA).
#![allow(dead_code)] // each test crate uses its part

pub mod hostap;

use macsec::secy::{Salt, Sci, Ssci};
use mka::kay::SaCommand;
use mka::Ki;
use std::collections::BTreeMap;

/// What an installed SA holds: KI, SAK octets, SSCI, salt.
pub type SaKey = (Ki, Vec<u8>, Ssci, Salt);

#[derive(Default, Clone, Debug)]
pub struct Dataplane {
    /// (peer SCI, AN) → key
    pub rx: BTreeMap<(Sci, u8), SaKey>,
    /// AN → key
    pub tx: BTreeMap<u8, SaKey>,
    pub encoding_an: Option<u8>,
    /// (peer SCI, AN) → lowest acceptable PN set by delay protection
    pub lowest: BTreeMap<(Sci, u8), u64>,
    /// The confidentiality of the last Tx SA installed (None inside: integrity only).
    pub conf: Option<Option<macsec::secy::ConfOffset>>,
}

impl Dataplane {
    pub fn apply(&mut self, c: SaCommand) {
        match c {
            SaCommand::InstallRx {
                sci,
                an,
                ki,
                sak,
                ssci,
                salt,
                ..
            } => {
                self.rx
                    .insert((sci, an), (ki, sak.as_bytes().to_vec(), ssci, salt));
            }
            SaCommand::InstallTx {
                an,
                ki,
                sak,
                ssci,
                salt,
                conf_offset,
                ..
            } => {
                self.conf = Some(conf_offset);
                self.tx.insert(an, (ki, sak.as_bytes().to_vec(), ssci, salt));
            }
            SaCommand::EnableTx { an } => {
                assert!(self.tx.contains_key(&an), "enable before install");
                self.encoding_an = Some(an);
            }
            SaCommand::DeleteRx { sci, an } => {
                self.rx.remove(&(sci, an));
            }
            SaCommand::SetLowestPn { sci, an, pn } => {
                assert!(self.rx.contains_key(&(sci, an)), "lowest PN for a missing SA");
                self.lowest.insert((sci, an), pn);
            }
            SaCommand::DeleteTx { an } => {
                self.tx.remove(&an);
                if self.encoding_an == Some(an) {
                    self.encoding_an = None;
                }
            }
        }
    }

    pub fn transmitting(&self) -> Option<(u8, &SaKey)> {
        self.encoding_an.and_then(|an| self.tx.get(&an).map(|t| (an, t)))
    }
}
