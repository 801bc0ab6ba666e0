//! Key chain scheduling: the interface's key chains decide which participants run (CAK
//! rollover, key expiry, fallback PSK).

use super::Port;
use crate::log::{LogEvent, PortEvent};
use mka::keychain::Current;
use mka::{Cak, Ckn};
use std::collections::BTreeMap;
use std::time::Duration;

fn mka_keys(k: &mka::keychain::Key) -> Option<(Ckn, Cak)> {
    Some((k.ckn().clone(), Cak::from_bytes(k.cak()).ok()?))
}

impl Port {
    /// Applies the key chains' plan at wall-clock `wall`: starts and stops participants. A step of
    /// the wall clock is logged once (`CLOCK_STEP`); a step back never ends the session on the key
    /// in use (start times only gate starting a key), a step forward is followed as IOS XR does.
    pub fn apply_keychains(&mut self, now: Duration, wall: u64) {
        if let Some(seconds) = self.clock.observe(now, wall) {
            let ev = LogEvent::port(&self.setup.interface, PortEvent::ClockStep { seconds });
            self.pending_log.push(ev);
        }
        let chain = &self.setup.keychain;
        let cur = self.current.as_ref().map(|(ckn, since)| match since {
            Some(s) => Current::rolling_over(ckn, *s),
            None => Current::new(ckn),
        });
        let plan = chain.plan(wall, cur, self.setup.fallback.as_ref());
        let mut want: Vec<(&mka::keychain::Key, bool)> =
            plan.primary_keys().into_iter().map(|k| (k, false)).collect();
        if let Some(k) = plan.fallback_key() {
            want.push((k, true));
        }
        self.current = plan.next_current();
        let wanted: BTreeMap<Vec<u8>, bool> = want
            .iter()
            .map(|(k, fb)| (k.ckn().as_bytes().to_vec(), *fb))
            .collect();
        let stale: Vec<Vec<u8>> = self
            .running
            .keys()
            .filter(|c| !wanted.contains_key(*c))
            .cloned()
            .collect();
        for c in stale {
            if let Ok(ckn) = Ckn::new(&c) {
                self.mka.remove_participant(now, &ckn);
            }
            self.running.remove(&c);
        }
        for (k, fb) in want {
            let id = k.ckn().as_bytes().to_vec();
            let mut digest = [0u8; 32];
            digest.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, k.cak()).as_ref());
            match self.running.get(&id) {
                Some(r) if *r == (fb, digest) => continue,
                Some(_) => {
                    // Same CKN, another CAK or role: the participant starts over with it.
                    if let Ok(ckn) = Ckn::new(&id) {
                        self.mka.remove_participant(now, &ckn);
                    }
                    self.running.remove(&id);
                }
                None => {}
            }
            if let Some((ckn, cak)) = mka_keys(k) {
                if self.mka.add_participant(now, ckn, cak, fb).is_ok() {
                    self.running.insert(id, (fb, digest));
                }
            }
        }
    }
}
