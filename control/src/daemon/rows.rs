//! The show rows of a port (`show macsec mka summary/interface/session`) and the engines' part
//! of the show views.

use super::{Daemon, Port};
use crate::show::{
    guide_time_ms, CaRow, InterfaceRow, PeerRow, SessionDetail, SessionRow, ShowData, SummaryRow,
};
use mka::kay::{ParticipantStatus, SessionState};
use std::time::Duration;

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
            status: self.status().into(),
            cipher_suite: self.setup.cipher_suite.name().into(),
            keychain: self.setup.keychain.name().to_string(),
        }
    }

    /// This port's part of `show macsec mka interface detail`.
    pub fn interface_row(&self, now: Duration) -> InterfaceRow {
        let s = &self.setup;
        InterfaceRow {
            interface: s.interface.clone(),
            local_tx_sci: self.mka.config().sci.0,
            policy: s.policy_name.clone(),
            cipher_suite: s.cipher_suite.name().into(),
            key_server_priority: s.key_server_priority,
            keychain: s.keychain.name().to_string(),
            fallback_keychain: s.fallback.as_ref().map(|f| f.chain().name().to_string()),
            status: self.status().into(),
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
            not_secured_reason: match self.status() {
                "Secured" => None,
                _ => self.mka.not_secured_reason(now).map(|r| r.to_string()),
            },
        }
    }

    /// The session's Status: the engine's, or Secured with 0 peers while the engine has no key
    /// in use but the link still transmits on SAs an earlier session installed (macsecd restarted
    /// or the policy changed): the guide's "locally secured (Tx)".
    fn status(&self) -> &'static str {
        match self.mka.session_state() {
            SessionState::Secured => "Secured",
            _ if !self.inherited.tx.is_empty() => "Secured",
            s => s.as_str(),
        }
    }

    /// This port's row of `show macsec mka session`: the participant that carries the traffic,
    /// else the first one; its detail blocks, one per CA. `now` is engine time, `wall_ms` the
    /// wall clock at `now` (Unix ms) for the detail view's timestamps.
    pub fn session_row(&self, now: Duration, wall_ms: u64) -> Option<SessionRow> {
        let st = self.mka.participants();
        let p = st.iter().find(|p| p.transmitting).or(st.first())?;
        let reason = match self.status() {
            "Secured" => None,
            _ => self.mka.not_secured_reason(now),
        };
        let sak_refused = |p: &ParticipantStatus| {
            p.cipher_suite_refused
                .map(|s| {
                    format!(
                        "the key server distributes {}, the policy's cipher-suite is {}",
                        s.name(),
                        self.mka.config().cipher_suite.name()
                    )
                })
                .or_else(|| p.sak_refused.map(|(from, why)| format!("from {from}: {why}")))
        };
        let mut order: Vec<&ParticipantStatus> = st.iter().collect();
        order.sort_by_key(|x| (!x.transmitting, x.fallback));
        let detail = order
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let mut d = self.detail(x, now, wall_ms);
                d.sak_refused = sak_refused(x);
                if i == 0 {
                    d.not_secured_reason = reason.as_ref().map(|r| r.to_string());
                    if self.status() == "Secured" && !x.transmitting {
                        d.status = "Secured - Secured MKA Session with MACsec (Tx on the SAs of the previous session, 0 live peers)".into();
                    }
                }
                d
            })
            .collect();
        Some(SessionRow {
            interface: self.setup.interface.clone(),
            local_tx_sci: self.mka.config().sci.0,
            // Secured on an earlier session's SAs: none of this session's peers holds them.
            peers: if self.mka.is_secured() || self.status() != "Secured" {
                p.live_peers.len()
            } else {
                0
            },
            status: self.status().into(),
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
            sak_refused: sak_refused(p),
            not_secured_code: reason.as_ref().map(|r| r.code().to_string()),
            not_secured_reason: reason.map(|r| r.to_string()),
            secured_since_ms: self.secured_since,
            detail,
        })
    }

    /// One CA's block of `show macsec mka session detail`.
    fn detail(&self, p: &ParticipantStatus, now: Duration, wall_ms: u64) -> SessionDetail {
        let cfg = self.mka.config();
        let s = &self.setup;
        let own = cfg.sci;
        let at =
            |t: Duration| guide_time_ms(wall_ms.saturating_sub(now.saturating_sub(t).as_millis() as u64));
        // SSCIs as the key server assigns them: by SCI among the live members, greatest first.
        let mut members: Vec<u64> = p.live_peers.iter().map(|x| x.0).chain([own.0]).collect();
        members.sort_unstable_by(|a, b| b.cmp(a));
        members.dedup();
        let ssci = |sci: u64| members.iter().position(|m| *m == sci).map_or(0, |i| i as u32 + 1);
        let peer = |x: &mka::kay::PeerStatus| PeerRow {
            mi: x.mi.to_string().to_uppercase(),
            mn: x.mn,
            sci: x.sci.0,
            ssci: if x.live { ssci(x.sci.0) } else { 0 },
            ks_priority: x.key_server_priority,
            latest_rx_mkpdu: at(x.last_heard),
        };
        let ki_text = |ki: mka::Ki| format!("{}{:08X}", ki.mi.to_string().to_uppercase(), ki.kn);
        let chain = if p.fallback {
            s.fallback.as_ref().map(|f| f.chain())
        } else {
            Some(&s.keychain)
        };
        let algorithm = chain
            .and_then(|c| c.key(&p.ckn))
            .map_or("AES-128-CMAC", |k| k.algorithm().as_str());
        let rx_tx = |rx: bool, tx: bool| match (rx, tx) {
            (_, true) => "Rx & Tx",
            (true, false) => "Rx",
            (false, false) => "No Rx/Tx",
        };
        let i_serve = p.key_server == Some(own);
        let (old_status, old_an, old_ki, old_kn) = match (p.old_key, p.latest_key) {
            (Some((ki, an, tx)), _) => (
                rx_tx(true, tx).to_string(),
                Some(an),
                Some(ki_text(ki)),
                Some(ki.kn),
            ),
            (None, Some((ki, _))) if ki.kn == 1 => ("FIRST-SAK".to_string(), None, None, None),
            _ => ("No Rx/Tx".to_string(), None, None, None),
        };
        SessionDetail {
            status: match (
                p.transmitting,
                p.secured,
                p.live_peers.is_empty(),
                p.potential_peers.is_empty(),
            ) {
                (true, ..) => "Secured - Secured MKA Session with MACsec".into(),
                (false, true, ..) => {
                    "Secured - Secured MKA Session with MACsec (standby: another CA carries the traffic)"
                        .into()
                }
                (false, false, false, _) => {
                    "Active - Marked Peer as Live (Waiting for SAK generation/distribution)".into()
                }
                (false, false, true, false) => "Pending - Peer heard, waiting for it to list us".into(),
                (false, false, true, true) => "Init - MKA Session initialized, no peer heard".into(),
            },
            not_secured_reason: None,
            local_tx_sci: own.0,
            local_tx_ssci: ssci(own.0),
            interface: s.interface.clone(),
            ckn: p.ckn.to_string(),
            auth_mode: auth_mode(p.fallback).into(),
            keychain: chain.map(|c| c.name().to_string()).unwrap_or_default(),
            mi: p.mi.to_string().to_uppercase(),
            mn: p.mn,
            key_server: i_serve,
            mka_cipher_suite: algorithm.into(),
            cipher_suite: s.cipher_suite.name().into(),
            key_distribution_mode: p.key_distribution_mode.as_str().into(),
            ppk_key_id: p.ppk_key_id.as_ref().map(|id| id.to_string()),
            ppk_failure: p.ppk_failure.as_ref().map(|f| f.to_string()),
            sak_refused: None,
            latest_sak_status: rx_tx(p.latest_rx, p.latest_tx).into(),
            latest_an: p.latest_key.map(|(_, an)| an),
            latest_ki: p.latest_key.map(|(ki, _)| ki_text(ki)),
            latest_kn: p.latest_key.map(|(ki, _)| ki.kn),
            old_sak_status: old_status,
            old_an,
            old_ki,
            old_kn,
            sak_transmit_wait_time: if p.latest_key.is_none() || p.latest_tx {
                "0s (Not waiting for any peers to respond)".into()
            } else {
                "NA (waiting for the live peers to install the SAK)".into()
            },
            sak_retire_time: if p.old_key.is_some() {
                "NA (the old SAK is retired once every live peer uses the latest)".into()
            } else {
                "0s (No Old SAK to retire)".into()
            },
            time_to_sak_rekey: match (s.sak_rekey_interval, p.latest_installed_at, i_serve) {
                (Some(i), Some(t), true) => format!("{}s", (t + i).saturating_sub(now).as_secs()),
                _ => "NA".into(),
            },
            policy: s.policy_name.clone(),
            key_server_priority: s.key_server_priority,
            delay_protection: s.delay_protection,
            replay_window: s.replay_window,
            include_icv_indicator: s.include_icv_indicator,
            conf_offset: s.conf_offset.octets(),
            sak_cipher_suite: p
                .latest_key
                .map(|_| format!("{:016X} ({})", s.cipher_suite.id(), s.cipher_suite.name())),
            macsec_capability: cfg.capability.bits(),
            macsec_desired: cfg.macsec_desired,
            live_peers_responded: p.live_peers_responded,
            live_peers: p.peers.iter().filter(|x| x.live).map(peer).collect(),
            potential_peers: p.peers.iter().filter(|x| !x.live).map(peer).collect(),
            last_tx_mkpdu: p.last_tx.map(at).unwrap_or_default(),
            peer_cak_match: p.cak_match,
            icv_failures: p.icv_failures,
        }
    }
}

impl Daemon {
    /// The engines' part of the show views (the configuration's part comes from
    /// [`ShowData::with_config`]).
    pub fn show_data(&self) -> ShowData {
        let now = self.now();
        let wall_ms = macsec::secy::unix_ms();
        ShowData {
            sessions: self
                .ports
                .iter()
                .filter_map(|p| p.session_row(now, wall_ms))
                .collect(),
            interfaces: self.ports.iter().map(|p| p.interface_row(now)).collect(),
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
