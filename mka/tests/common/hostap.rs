//! A model of wpa_supplicant 2.10's MKA (hostap `src/pae/ieee802_1x_kay.c` and
//! `ieee802_1x_cp.c`, PSK mode) as a sans-IO engine, to wire beside ours in virtual time. It
//! keeps the behaviours that decide interop, as read from that source:
//!
//! - a participant timer every MKA Hello Time (the first one after a random part of it) that
//!   expires peers, generates a SAK when it is key server and has `new_sak`, and sends the
//!   MKPDU; the CP's READY and TRANSMITTING states also send one at once;
//! - the Key Server bit: `is_elected ? is_key_server : can_be_key_server`;
//! - election only when the live peer list changes, among the live peers that announce the Key
//!   Server bit, by priority then **MAC address only**; itself when no peer announces it;
//! - a change of elected key server (`chgd_server`) takes the CP through CHANGE: every SA is
//!   deleted;
//! - a Distributed SAK is refused (the whole MKPDU discarded, so the sender's liveness is not
//!   refreshed) while it is key server, from a peer that is not live, or from a peer that is not
//!   the elected key server;
//! - a SAK Use with Delay Protect and a zero Lowest Acceptable PN is an error: the MKPDU is
//!   discarded and, without a Distributed SAK in it, the participant takes a new MI;
//! - a new MI from a known SCI is ignored until the old peer expires (its expiry cut to 1.5
//!   hellos);
//! - after RETIRE the key in use is reported in the Old Key slot with an empty Latest Key;
//! - as key server: GCM-AES-128 only, AN and KN counting from 0 and 1, and on the first key it
//!   transmits at once (the controlled port is not yet enabled).
//!
//! What it logs (`log`) uses hostap's own message texts, so tests can look for them.
#![allow(dead_code)]

use macsec::secy::{CipherSuite, Sci};
use macsec::wire::MacAddr;
use mka::kay::{HELLO_TIME, LIFE_TIME};
use mka::{
    verify_frame_icv, BasicParamSet, Cak, Ckn, ConfidentialityOffset, DistributedSak, Ick, Kek, Ki,
    MacsecCapability, Mi, MkaFrameRepr, MkpduRepr, ParamSet, Peer, PeerList, Sak, SakUse, SakUseKeys,
    WrappedSak,
};
use std::collections::VecDeque;
use std::time::Duration;

/// MKA Life Time as hostap counts it (whole seconds from `time(NULL)`; close enough here).
const SAK_RETIRE_TIME: Duration = Duration::from_secs(3);
const MAX_MISSING_SAK_USE: u32 = 10;

#[derive(Debug, Clone)]
struct HPeer {
    mi: Mi,
    mn: u32,
    sci: Sci,
    is_key_server: bool,
    priority: u8,
    expire: Duration,
    sak_used: bool,
    missing_sak_use: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cp {
    Secured,
    Receiving,
    Ready,
    Transmitting { retire_at: Duration },
    Retire,
}

/// A SAK hostap holds (its `sak_list`, newest first).
#[derive(Debug, Clone)]
pub struct HKey {
    pub ki: Ki,
    pub an: u8,
    pub sak: Vec<u8>,
    pub suite: CipherSuite,
}

/// An SA the model installed (what the stub driver's key file records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub at: Duration,
    pub tx: bool,
    /// Our SCI for a Tx SA, the peer's for an Rx SA.
    pub sci: Sci,
    pub an: u8,
    pub ki: Ki,
    pub sak: Vec<u8>,
}

pub struct HostapModel {
    pub sci: Sci,
    priority: u8,
    can_be_key_server: bool,
    ckn: Ckn,
    cak: Cak,
    ick: Ick,
    kek: Kek,
    mi: Mi,
    mn: u32,
    live: Vec<HPeer>,
    potential: Vec<HPeer>,
    is_key_server: bool,
    is_elected: bool,
    principal: bool,
    new_sak: bool,
    to_dist_sak: bool,
    key_server_sci: Option<Sci>,
    next_timer: Duration,
    dist_kn: u32,
    dist_an: u8,
    keys: Vec<HKey>,
    // CP
    cp: Cp,
    cp_new_sak: bool,
    controlled_port_enabled: bool,
    transmit_at: Option<Duration>,
    all_receiving: bool,
    server_transmitting: bool,
    lki: Option<Ki>,
    lan: u8,
    ltx: bool,
    lrx: bool,
    oki: Option<Ki>,
    oan: u8,
    otx: bool,
    orx: bool,
    pub tx_enabled: Option<(u8, Ki)>,
    rng: u64,
    out: VecDeque<Vec<u8>>,
    /// hostap's log lines, with the time.
    pub log: Vec<(Duration, String)>,
    /// Every SA installed, in order.
    pub installed: Vec<Installed>,
    /// How often a change of key server made the CP delete every SA.
    pub server_changes: u32,
}

impl HostapModel {
    /// A PSK participant with `mka_priority = priority`, first timer after `first_hello` (hostap
    /// draws it from 0..Hello Time). `seed` drives its MI and SAKs.
    pub fn new(
        sci: Sci,
        priority: u8,
        ckn: Ckn,
        cak: Cak,
        now: Duration,
        first_hello: Duration,
        seed: u64,
    ) -> Self {
        let ick = Ick::derive(&cak, &ckn);
        let kek = Kek::derive(&cak, &ckn);
        let mut m = HostapModel {
            sci,
            priority,
            can_be_key_server: true,
            ckn,
            cak,
            ick,
            kek,
            mi: Mi([0; 12]),
            mn: 0,
            live: Vec::new(),
            potential: Vec::new(),
            is_key_server: true,
            is_elected: false,
            principal: false,
            new_sak: false,
            to_dist_sak: false,
            key_server_sci: None,
            next_timer: now + first_hello,
            dist_kn: 1,
            dist_an: 0,
            keys: Vec::new(),
            cp: Cp::Secured,
            cp_new_sak: false,
            controlled_port_enabled: false,
            transmit_at: None,
            all_receiving: false,
            server_transmitting: false,
            lki: None,
            lan: 0,
            ltx: false,
            lrx: false,
            oki: None,
            oan: 0,
            otx: false,
            orx: false,
            tx_enabled: None,
            rng: seed | 1,
            out: VecDeque::new(),
            log: Vec::new(),
            installed: Vec::new(),
            server_changes: 0,
        };
        m.mi = m.random_mi();
        m
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn random_mi(&mut self) -> Mi {
        let mut mi = [0u8; 12];
        for c in mi.chunks_mut(4) {
            c.copy_from_slice(&(self.random() as u32).to_be_bytes());
        }
        Mi(mi)
    }

    fn say(&mut self, now: Duration, s: impl Into<String>) {
        self.log.push((now, s.into()));
    }

    pub fn mi(&self) -> Mi {
        self.mi
    }
    pub fn is_key_server(&self) -> bool {
        self.is_key_server && self.is_elected
    }
    pub fn key_server_sci(&self) -> Option<Sci> {
        self.key_server_sci
    }
    pub fn live_peers(&self) -> Vec<Sci> {
        self.live.iter().map(|p| p.sci).collect()
    }
    /// The distinct SAKs it installed an SA for.
    pub fn saks_installed(&self) -> Vec<Ki> {
        let mut v: Vec<Ki> = Vec::new();
        for i in &self.installed {
            if !v.contains(&i.ki) {
                v.push(i.ki);
            }
        }
        v
    }
    pub fn logged(&self, text: &str) -> usize {
        self.log.iter().filter(|(_, l)| l.contains(text)).count()
    }
    /// Transmitting with a distributed SAK (wpa_cli's `Secured=Yes` once the CP took a key into use).
    pub fn secured(&self) -> bool {
        self.tx_enabled.is_some()
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Duration> {
        let retire = match self.cp {
            Cp::Transmitting { retire_at } => Some(retire_at),
            _ => None,
        };
        [Some(self.next_timer), self.transmit_at, retire]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn handle_timeout(&mut self, now: Duration) {
        if self.transmit_at.is_some_and(|t| now >= t) {
            self.transmit_at = None;
            self.cp_step(now);
        }
        if matches!(self.cp, Cp::Transmitting { retire_at } if now >= retire_at) {
            self.cp_step(now);
        }
        if now >= self.next_timer {
            self.participant_timer(now);
            self.next_timer = now + HELLO_TIME;
        }
    }

    /// `ieee802_1x_participant_timer`.
    fn participant_timer(&mut self, now: Duration) {
        let before = self.live.len();
        let expired: Vec<HPeer> = self.live.iter().filter(|p| now > p.expire).cloned().collect();
        self.live.retain(|p| now <= p.expire);
        for p in &expired {
            self.say(now, format!("KaY: Live peer removed {}", p.mi));
        }
        if self.live.len() != before {
            if self.live.is_empty() {
                self.is_key_server = false;
                self.is_elected = false;
                self.principal = false;
                self.tx_enabled = None;
                self.cp_change(now);
            } else {
                self.elect(now);
            }
        }
        self.potential.retain(|p| now <= p.expire);
        if self.new_sak && self.is_key_server {
            self.generate_sak(now);
            self.new_sak = false;
        }
        self.send(now);
    }

    fn generate_sak(&mut self, now: Duration) {
        let mut sak = vec![0u8; 16];
        for c in sak.chunks_mut(8) {
            c.copy_from_slice(&self.random().to_be_bytes());
        }
        let ki = Ki::new(self.mi, self.dist_kn);
        let an = self.dist_an;
        self.dist_kn += 1;
        self.dist_an = (self.dist_an + 1) % 4;
        self.keys.insert(
            0,
            HKey {
                ki,
                an,
                sak,
                suite: CipherSuite::GcmAes128,
            },
        );
        for p in &mut self.live {
            p.sak_used = false;
        }
        self.to_dist_sak = true;
        self.say(now, format!("KaY: generated new SAK KN {}", ki.kn));
        self.cp_new_sak = true;
        self.all_receiving = false;
        self.cp_step(now);
    }

    /// `compare_priorities`: priority, then the MAC address only.
    fn better(a: (u8, Sci), b: (u8, Sci)) -> std::cmp::Ordering {
        a.0.cmp(&b.0).then(a.1.mac().cmp(&b.1.mac()))
    }

    /// `ieee802_1x_kay_elect_key_server`.
    fn elect(&mut self, now: Duration) {
        let mut best: Option<&HPeer> = None;
        for p in self.live.iter().filter(|p| p.is_key_server) {
            if best.is_none_or(|b| Self::better((p.priority, p.sci), (b.priority, b.sci)).is_lt()) {
                best = Some(p);
            }
        }
        let mut key_server = best.map(|p| (p.sci, p.priority));
        let mut i_am = false;
        if let (Some((sci, prio)), true) = (key_server, self.can_be_key_server) {
            match Self::better((self.priority, self.sci), (prio, sci)) {
                std::cmp::Ordering::Less => i_am = true,
                std::cmp::Ordering::Equal => {
                    self.say(
                        now,
                        "KaY: Cannot elect key server between me and peer, duplicate MAC detected",
                    );
                    key_server = None;
                }
                std::cmp::Ordering::Greater => {}
            }
        } else if self.can_be_key_server {
            i_am = true;
        }
        let elected = if i_am {
            Some(self.sci)
        } else {
            key_server.map(|k| k.0)
        };
        if i_am {
            self.is_key_server = true;
            self.principal = true;
            self.new_sak = true;
            self.to_dist_sak = false;
            self.is_elected = true;
            self.say(now, "KaY: I am elected as key server");
        } else if key_server.is_some() {
            self.is_key_server = false;
            self.principal = true;
            self.is_elected = true;
            self.say(now, "KaY: Peer was elected as the key server");
        } else {
            self.principal = false;
            self.is_key_server = false;
            self.is_elected = false;
        }
        if elected.is_some() && elected != self.key_server_sci {
            if self.key_server_sci.is_some() {
                // chgd_server: the CP goes through CHANGE, deleting every SA.
                self.server_changes += 1;
                self.cp_change(now);
            }
            self.key_server_sci = elected;
        }
    }

    /// CP CHANGE: every SA deleted, latest and old cleared.
    fn cp_change(&mut self, now: Duration) {
        if self.lki.is_some() || self.oki.is_some() {
            self.say(now, "CP: CHANGE: delete SAs");
        }
        self.lki = None;
        self.oki = None;
        (self.ltx, self.lrx, self.otx, self.orx) = (false, false, false, false);
        self.tx_enabled = None;
        self.controlled_port_enabled = false;
        self.cp = Cp::Secured;
        self.transmit_at = None;
    }

    fn cp_step(&mut self, now: Duration) {
        loop {
            let before = self.cp;
            match self.cp {
                Cp::Secured | Cp::Retire if self.cp_new_sak => {
                    // RECEIVE: create the SAs of the newest key, enable receive; RECEIVING.
                    let k = self.keys[0].clone();
                    self.cp_new_sak = false;
                    self.lki = Some(k.ki);
                    self.lan = k.an;
                    self.ltx = false;
                    for p in self.live.clone() {
                        self.installed.push(Installed {
                            at: now,
                            tx: false,
                            sci: p.sci,
                            an: k.an,
                            ki: k.ki,
                            sak: k.sak.clone(),
                        });
                    }
                    self.installed.push(Installed {
                        at: now,
                        tx: true,
                        sci: self.sci,
                        an: k.an,
                        ki: k.ki,
                        sak: k.sak.clone(),
                    });
                    self.lrx = true;
                    self.transmit_at = Some(now + LIFE_TIME);
                    self.server_transmitting = false;
                    self.cp = Cp::Receiving;
                }
                Cp::Receiving if !self.is_key_server => {
                    self.cp = Cp::Ready;
                    self.send(now);
                }
                Cp::Receiving
                    if self.all_receiving || !self.controlled_port_enabled || self.transmit_at.is_none() =>
                {
                    self.transmit(now)
                }
                Cp::Ready if self.server_transmitting || !self.controlled_port_enabled => self.transmit(now),
                Cp::Transmitting { retire_at } if now >= retire_at => {
                    // RETIRE: old <- latest, latest empty.
                    self.oki = self.lki.take();
                    self.oan = self.lan;
                    self.otx = self.ltx;
                    self.orx = self.lrx;
                    (self.lan, self.ltx, self.lrx) = (0, false, false);
                    self.cp = Cp::Retire;
                }
                _ => {}
            }
            if self.cp == before {
                break;
            }
        }
    }

    /// TRANSMIT then TRANSMITTING.
    fn transmit(&mut self, now: Duration) {
        self.controlled_port_enabled = true;
        self.ltx = true;
        self.tx_enabled = self.lki.map(|ki| (self.lan, ki));
        self.transmit_at = None;
        let retire = if self.orx { SAK_RETIRE_TIME } else { Duration::ZERO };
        self.otx = false;
        self.cp = Cp::Transmitting {
            retire_at: now + retire,
        };
        self.send(now);
    }

    pub fn handle_mkpdu(&mut self, now: Duration, frame: &[u8]) {
        let Ok(f) = MkaFrameRepr::parse(frame) else { return };
        let m = f.mkpdu;
        let b = &m.basic;
        if b.ckn != self.ckn {
            return;
        }
        if verify_frame_icv(frame, &self.ick) != Ok(true) {
            self.say(now, "KaY: Computed ICV is not equal to Received ICV");
            return;
        }
        if b.mi == self.mi {
            self.mi = self.random_mi();
            self.mn = 0;
        }
        // ieee802_1x_mka_decode_basic_body
        let known = self.live.iter().chain(&self.potential).any(|p| p.mi == b.mi);
        if !known {
            if let Some(p) = self
                .live
                .iter_mut()
                .chain(self.potential.iter_mut())
                .find(|p| p.sci == b.sci)
            {
                p.expire = p.expire.min(now + HELLO_TIME * 3 / 2);
                self.say(now, "KaY: duplicated SCI detected - maybe active attacker or peer selected new MI - ignore MKPDU");
                return;
            }
            self.potential.push(HPeer {
                mi: b.mi,
                mn: b.mn,
                sci: b.sci,
                is_key_server: b.key_server,
                priority: b.key_server_priority,
                expire: now + LIFE_TIME,
                sak_used: false,
                missing_sak_use: 0,
            });
        } else {
            let p = self
                .live
                .iter_mut()
                .chain(self.potential.iter_mut())
                .find(|p| p.mi == b.mi)
                .expect("known");
            if p.mn >= b.mn {
                self.say(now, "KaY: The peer MN did not increase - ignore MKPDU");
                return;
            }
            p.mn = b.mn;
            p.is_key_server = b.key_server;
            p.priority = b.key_server_priority;
        }
        // i_in_peerlist: my MI with my last MN or the one before.
        let mine = [m.live_peers(), m.potential_peers()]
            .into_iter()
            .flatten()
            .flat_map(|l| l.peers.iter())
            .find(|e| e.mi == self.mi);
        let i_in = mine.is_some_and(|e| e.mn == self.mn || (self.mn > 1 && e.mn == self.mn - 1));
        if i_in && !self.live.iter().any(|p| p.mi == b.mi) {
            if let Some(i) = self.potential.iter().position(|p| p.mi == b.mi) {
                let mut p = self.potential.remove(i);
                p.expire = now + LIFE_TIME;
                self.live.push(p);
            }
            self.elect(now);
        }
        // Parameter sets in the order they came; a failure of any but SAK Use discards the MKPDU.
        let mut bad_sak_use = false;
        let mut had_sak_use = false;
        let has_dist = m.distributed_sak().is_some();
        for set in &m.sets {
            match set {
                ParamSet::SakUse(u) => {
                    had_sak_use = true;
                    if self.decode_sak_use(now, b.mi, u).is_err() {
                        bad_sak_use = true;
                    }
                }
                ParamSet::DistributedSak(ds) if self.decode_dist_sak(now, b.mi, b.sci, ds).is_err() => {
                    self.say(
                        now,
                        "KaY: Discarding Rx MKPDU: decode of parameter set type (4) failed",
                    );
                    return;
                }
                _ => {}
            }
        }
        if bad_sak_use && !has_dist {
            self.say(
                now,
                "KaY: Discarding Rx MKPDU: decode of parameter set type (3) failed",
            );
            self.mi = self.random_mi();
            self.mn = 0;
            self.say(now, "KaY: Selected a new random MI");
            return;
        }
        if let Some(p) = self.live.iter_mut().find(|p| p.mi == b.mi) {
            if had_sak_use {
                p.missing_sak_use = 0;
                p.expire = now + LIFE_TIME;
            } else if p.sak_used {
                self.log.push((
                    now,
                    "KaY: Discarding Rx MKPDU: Live Peer stopped sending SAK-USE".into(),
                ));
            } else {
                p.missing_sak_use += 1;
                if p.missing_sak_use <= MAX_MISSING_SAK_USE {
                    // Not refreshed here either: hostap refreshes only with a SAK Use.
                }
            }
        }
    }

    fn decode_sak_use(&mut self, now: Duration, from: Mi, u: &SakUse) -> Result<(), ()> {
        if !self.principal {
            return Err(());
        }
        let Some(peer_i) = self.live.iter().position(|p| p.mi == from) else {
            return Err(());
        };
        let Some(k) = u.keys else { return Ok(()) };
        if u.delay_protect && (k.latest_lowest_pn == 0 || k.old_lowest_pn == 0) {
            self.say(
                now,
                "KaY: Lowest packet number should be greater than 0 when delay_protect is TRUE",
            );
            return Err(());
        }
        let Some(newest) = self.keys.first().map(|k| k.ki) else {
            return Ok(());
        };
        let ki = if u.latest_rx { k.latest_ki } else { k.old_ki };
        if ki != newest {
            return Ok(());
        }
        if self.is_key_server {
            self.live[peer_i].sak_used = true;
            if self.live.iter().all(|p| p.sak_used) {
                self.to_dist_sak = false;
                self.all_receiving = true;
                self.cp_step(now);
            }
        } else if self.live[peer_i].is_key_server && u.latest_tx {
            self.server_transmitting = true;
            self.cp_step(now);
        }
        Ok(())
    }

    fn decode_dist_sak(
        &mut self,
        now: Duration,
        from: Mi,
        from_sci: Sci,
        ds: &DistributedSak,
    ) -> Result<(), ()> {
        if !self.principal {
            self.say(
                now,
                "KaY: I can't accept the distributed SAK as I am not principal",
            );
            return Err(());
        }
        if self.is_key_server {
            self.say(now, "KaY: Reject distributed SAK since I'm a key server");
            return Err(());
        }
        if !self.live.iter().any(|p| p.mi == from) {
            self.say(now, "KaY: The key server is not in my live peers list");
            return Err(());
        }
        if self.key_server_sci != Some(from_sci) {
            self.say(now, "KaY: The key server is not elected");
            return Err(());
        }
        let Some(w) = &ds.key else { return Ok(()) };
        let ki = Ki::new(from, w.kn);
        if self.keys.iter().any(|k| k.ki == ki) {
            return Ok(()); // "SAK has already been installed - do not set it again"
        }
        let suite = match w.cipher_suite_id {
            None => CipherSuite::GcmAes128,
            Some(0x0080_C200_0100_0002) => CipherSuite::GcmAes256,
            Some(0x0080_0200_0100_0001) => CipherSuite::GcmAes128,
            Some(_) => {
                self.say(now, "KaY: I can't support the Cipher Suite advised by key server");
                return Err(());
            }
        };
        let Ok(sak) = self.kek.unwrap_sak(&w.wrapped) else {
            self.say(now, "KaY: AES unwrap failed");
            return Err(());
        };
        self.keys.insert(
            0,
            HKey {
                ki,
                an: ds.an,
                sak: sak.as_bytes().to_vec(),
                suite,
            },
        );
        self.say(now, format!("KaY: received SAK KN {}", ki.kn));
        self.cp_new_sak = true;
        self.cp_step(now);
        Ok(())
    }

    /// One MKPDU: Basic, Live, Potential, SAK Use, Distributed SAK (hostap's ascending order).
    fn send(&mut self, now: Duration) {
        let _ = now;
        self.mn += 1;
        let basic = BasicParamSet {
            version: 1,
            key_server_priority: self.priority,
            key_server: if self.is_elected {
                self.is_key_server
            } else {
                self.can_be_key_server
            },
            macsec_capability: MacsecCapability::ConfidentialityNoOffset,
            ..BasicParamSet::for_tests(self.sci, self.mi, self.mn, self.ckn.clone())
        };
        let mut sets = Vec::new();
        let entry = |p: &HPeer| Peer { mi: p.mi, mn: p.mn };
        if !self.live.is_empty() {
            sets.push(ParamSet::LivePeerList(PeerList {
                key_server_ssci: 0,
                peers: self.live.iter().map(entry).collect(),
            }));
        }
        if !self.potential.is_empty() {
            sets.push(ParamSet::PotentialPeerList(PeerList {
                key_server_ssci: 0,
                peers: self.potential.iter().map(entry).collect(),
            }));
        }
        if self.lki.is_some() || self.oki.is_some() {
            let lki = self.lki.unwrap_or(Ki::NULL);
            let oki = self.oki.unwrap_or(Ki::NULL);
            // hostap forces otx = orx = 1 for an old key of another KN.
            let old_in_use = oki.kn != 0 && oki.kn != lki.kn;
            sets.push(ParamSet::SakUse(SakUse {
                latest_an: self.lan,
                latest_tx: self.ltx,
                latest_rx: self.lrx,
                old_an: self.oan,
                old_tx: old_in_use,
                old_rx: old_in_use,
                plain_tx: false,
                plain_rx: false,
                delay_protect: false,
                keys: Some(SakUseKeys {
                    latest_ki: lki,
                    latest_lowest_pn: 1,
                    old_ki: oki,
                    old_lowest_pn: 1,
                }),
            }));
        }
        if self.is_key_server && self.to_dist_sak {
            if let Some(k) = self.keys.first() {
                let sak = Sak::from_bytes(&k.sak).expect("16 octets");
                sets.push(ParamSet::DistributedSak(DistributedSak {
                    an: k.an,
                    conf_offset: ConfidentialityOffset::Offset0,
                    key: Some(WrappedSak {
                        kn: k.ki.kn,
                        cipher_suite_id: None,
                        wrapped: self.kek.wrap_sak(&sak),
                    }),
                }));
            }
        }
        let repr = MkpduRepr {
            basic,
            sets,
            icv_indicator: false,
            icv: [0; 16],
        };
        if let Ok(frame) = MkaFrameRepr::new(MacAddr(self.sci.mac()), repr).seal(&self.ick) {
            self.out.push_back(frame);
        }
    }
}
