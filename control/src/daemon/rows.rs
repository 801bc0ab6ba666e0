//! The show rows of a port (`show macsec mka summary/interface/session`) and the engines' part
//! of the show views.

use super::{Daemon, Port};
use crate::show::{CaRow, InterfaceRow, SessionRow, ShowData, SummaryRow};
use mka::kay::ParticipantStatus;

/// A session's Status in the show views: Secured once a key is in use, else Pending.
fn session_status(secured: bool) -> &'static str {
    if secured {
        "Secured"
    } else {
        "Pending"
    }
}

/// The guide's CA Authentication Mode.
fn auth_mode(fallback: bool) -> &'static str {
    if fallback {
        "FALLBACK-PSK"
    } else {
        "PRIMARY-PSK"
    }
}

impl Port {
    pub fn participants(&self) -> Vec<ParticipantStatus> {
        self.mka.participants()
    }

    /// This port's row of `show macsec mka summary`.
    pub fn summary_row(&self) -> SummaryRow {
        SummaryRow {
            interface: self.setup.interface.clone(),
            status: session_status(self.mka.is_secured()).into(),
            cipher_suite: self.setup.cipher_suite.name().into(),
            keychain: self.setup.keychain.name().to_string(),
        }
    }

    /// This port's part of `show macsec mka interface detail`.
    pub fn interface_row(&self) -> InterfaceRow {
        let s = &self.setup;
        InterfaceRow {
            interface: s.interface.clone(),
            local_tx_sci: self.mka.config().sci.0,
            policy: s.policy_name.clone(),
            cipher_suite: s.cipher_suite.name().into(),
            key_server_priority: s.key_server_priority,
            keychain: s.keychain.name().to_string(),
            fallback_keychain: s.fallback.as_ref().map(|f| f.chain().name().to_string()),
            status: session_status(self.mka.is_secured()).into(),
            cas: self
                .mka
                .participants()
                .iter()
                .map(|p| CaRow {
                    ckn: p.ckn.to_string(),
                    auth_mode: auth_mode(p.fallback).into(),
                    mi: p.mi.to_string(),
                    mn: p.mn,
                    live_peers: p.live_peers.len(),
                    potential_peers: p.potential_peers.len(),
                    status: if p.secured && !p.transmitting {
                        "Secured (standby)".into()
                    } else {
                        session_status(p.transmitting).into()
                    },
                })
                .collect(),
        }
    }

    /// This port's row of `show macsec mka session`: the participant that carries the traffic,
    /// else the first one.
    pub fn session_row(&self) -> Option<SessionRow> {
        let st = self.mka.participants();
        let p = st.iter().find(|p| p.transmitting).or(st.first())?;
        Some(SessionRow {
            interface: self.setup.interface.clone(),
            local_tx_sci: self.mka.config().sci.0,
            peers: p.live_peers.len(),
            status: session_status(p.transmitting).into(),
            key_server: p.key_server == Some(self.mka.config().sci),
            auth_mode: auth_mode(p.fallback).into(),
            ckn: p.ckn.to_string(),
            live_peers: p.live_peers.iter().map(|s| s.0).collect(),
            icv_failures: p.icv_failures,
            latest_kn: p.latest_key.map(|(ki, _)| ki.kn),
            latest_an: p.latest_key.map(|(_, an)| an),
            key_distribution_mode: p.key_distribution_mode.as_str().to_string(),
            ppk_key_id: p.ppk_key_id.as_ref().map(|id| id.to_string()),
            ppk_failure: p.ppk_failure.as_ref().map(|f| f.to_string()),
            sak_refused: p
                .cipher_suite_refused
                .map(|s| {
                    format!(
                        "the key server distributes {}, the policy's cipher-suite is {}",
                        s.name(),
                        self.mka.config().cipher_suite.name()
                    )
                })
                .or_else(|| p.sak_refused.map(|(from, why)| format!("from {from}: {why}"))),
        })
    }
}

impl Daemon {
    /// The engines' part of the show views (the configuration's part comes from
    /// [`ShowData::with_config`]).
    pub fn show_data(&self) -> ShowData {
        ShowData {
            sessions: self.ports.iter().filter_map(|p| p.session_row()).collect(),
            interfaces: self.ports.iter().map(|p| p.interface_row()).collect(),
            summary: self.ports.iter().map(|p| p.summary_row()).collect(),
            statistics: self
                .ports
                .iter()
                .map(|p| (p.setup.interface.clone(), p.mka.stats))
                .collect(),
            ..ShowData::default()
        }
    }
}
