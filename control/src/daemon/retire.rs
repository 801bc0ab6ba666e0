//! SA retirement: the SAs a port's engine found in the dataplane when it started ([`Inherited`]),
//! and deleting a link's SAs.

use super::dataplane::delete_sas;
use super::Daemon;
use crate::log::{LogEvent, PortEvent};
use ipc::{Request, Response};
use std::io;
use std::time::Duration;

/// Inherited SAs due for deletion: Tx (AN, key) and Rx (peer SCI, AN, key), as [`Inherited`] holds them.
type DueSas = (Vec<(u8, SaKey)>, Vec<(u64, u8, SaKey)>);

/// The key an SA holds, as the dataplane reports it: its Key Identifier and its key check value
/// (`ipc::key_check`); either is None for an SA another control plane installed without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct SaKey {
    pub(super) ki: Option<[u8; 16]>,
    pub(super) check: Option<[u8; 16]>,
}

impl SaKey {
    /// Whether the SA holds the SAK `sak` named `ki`: the Key Identifier AND the key check match.
    /// A matching KI alone proves nothing (another SAK under a reused KI, a forged state).
    pub(super) fn holds(&self, ki: [u8; 16], sak: &[u8]) -> bool {
        self.ki == Some(ki) && self.check == Some(ipc::key_check(sak))
    }
}

/// SAs found in the dataplane when a port's engine started (macsecd restarted, or the policy
/// changed): an earlier engine installed them and traffic still flows on them. When the engine is
/// about to install a SAK an SA already holds (same Key Identifier on the same AN: the peer, as
/// key server, still distributes it) and the same key (its key check value), the SA is adopted as it is, with its PNs and replay state
/// (reinstalling would restart the PN at 1: the same SAK must never send a PN twice). The others
/// are left alone while this engine secures with fresh SAKs (Rx before Tx keeps traffic flowing;
/// a new AN never overwrites one in use) and deleted once this engine has transmitted on its own
/// key for [`Inherited::GRACE`], or when it has not secured within [`Inherited::DEADLINE`] of its
/// start (the peer is gone: the old keys serve no one).
#[derive(Debug, Default)]
pub(super) struct Inherited {
    /// AN and the key the SA holds.
    pub(super) tx: Vec<(u8, SaKey)>,
    /// SCI, AN, key.
    pub(super) rx: Vec<(u64, u8, SaKey)>,
    /// When the engine first enabled transmit on a key of its own.
    pub(super) own_tx_since: Option<Duration>,
    /// When the engine started (the [`Inherited::DEADLINE`] runs from here).
    pub(super) since: Duration,
}

impl Inherited {
    /// How long the old SAs stay after this engine transmits on its own key: the peer moves its
    /// transmit to the new key within a hello or two.
    const GRACE: Duration = Duration::from_secs(6);
    /// How long the old SAs stay at most when no session comes up.
    const DEADLINE: Duration = Duration::from_secs(12);

    pub(super) fn is_empty(&self) -> bool {
        self.tx.is_empty() && self.rx.is_empty()
    }

    /// The SAs to delete now, if their time has come.
    pub(super) fn due(&mut self, now: Duration) -> Option<DueSas> {
        let due = match self.own_tx_since {
            Some(t) => now >= t + Self::GRACE,
            None => now >= self.since + Self::DEADLINE,
        };
        (due && !self.is_empty()).then(|| (std::mem::take(&mut self.tx), std::mem::take(&mut self.rx)))
    }
}

impl Daemon {
    /// Deletes every SA of `link`; returns how many Tx and Rx SAs.
    pub(super) fn delete_link_sas(&mut self, link: &str) -> io::Result<(usize, usize)> {
        let sa = match self.client.request(&Request::ReadSaState {
            link: link.to_string(),
        })? {
            Response::SaState(sa) => sa,
            _ => return Ok((0, 0)),
        };
        let tx: Vec<u8> = sa.tx.iter().map(|t| t.an).collect();
        let rx: Vec<(u64, u8)> = sa.rx.iter().map(|r| (r.sci, r.an)).collect();
        delete_sas(&mut self.client, link, &tx, &rx)?;
        Ok((tx.len(), rx.len()))
    }

    pub(super) fn retire_inherited(
        &mut self,
        i: usize,
        now: Duration,
        lines: &mut Vec<LogEvent>,
    ) -> io::Result<()> {
        let Some((tx, rx)) = self.ports[i].inherited.due(now) else {
            return Ok(());
        };
        let link = self.ports[i].setup.interface.clone();
        let tx_ans: Vec<u8> = tx.iter().map(|(an, _)| *an).collect();
        let rx_sas: Vec<(u64, u8)> = rx.iter().map(|(sci, an, _)| (*sci, *an)).collect();
        delete_sas(&mut self.client, &link, &tx_ans, &rx_sas)?;
        lines.push(LogEvent::port(
            &link,
            PortEvent::SasRetired {
                tx: tx.len(),
                rx: rx.len(),
            },
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::SaKey;

    /// Adopted only with the Key Identifier and the key check of the very SAK.
    #[test]
    fn an_sa_holds_a_sak_only_with_its_ki_and_key_check() {
        let (ki, sak) = ([7u8; 16], [1u8; 16]);
        let held = SaKey {
            ki: Some(ki),
            check: Some(ipc::key_check(&sak)),
        };
        assert!(held.holds(ki, &sak));
        assert!(!held.holds(ki, &[2u8; 16]), "same KI, another key");
        assert!(!held.holds([8u8; 16], &sak), "same key, another KI");
        assert!(
            !SaKey { check: None, ..held }.holds(ki, &sak),
            "no key check reported"
        );
    }
}
