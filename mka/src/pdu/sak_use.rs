//! The MACsec SAK Use parameter set (802.1X-2020 Figure 11-10).

use super::{be32, mi_at, set_type, EmitError, MkpduError};
use crate::Ki;

/// Octets of a non-empty MACsec SAK Use body.
pub const SAK_USE_BODY_LEN: usize = 40;

/// One slot (Latest or Old key) of a MACsec SAK Use set, flattened for readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyUse {
    pub ki: Ki,
    pub an: u8,
    pub tx: bool,
    pub rx: bool,
    /// Lowest Acceptable PN (32 LSBs with XPN; see [`Xpn`](super::Xpn) for the MSBs).
    pub lowest_pn: u32,
}

/// The key-specific fields of a non-empty MACsec SAK Use body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SakUseKeys {
    pub latest_ki: Ki,
    pub latest_lowest_pn: u32,
    pub old_ki: Ki,
    pub old_lowest_pn: u32,
}

/// The MACsec SAK Use parameter set (802.1X-2020 Figure 11-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SakUse {
    pub latest_an: u8,
    pub latest_tx: bool,
    pub latest_rx: bool,
    pub old_an: u8,
    pub old_tx: bool,
    pub old_rx: bool,
    /// Plain Text transmit: not protectFrames.
    pub plain_tx: bool,
    /// Plain Text receive: validateFrames is not Strict.
    pub plain_rx: bool,
    pub delay_protect: bool,
    /// `None`: body length 0 (MACsec not in use). `Some`: the 40-octet body.
    pub keys: Option<SakUseKeys>,
}

impl SakUse {
    pub(super) fn parse(octet2: u8, flags: u8, body: &[u8]) -> Result<Self, MkpduError> {
        let keys = match body.len() {
            0 => None,
            SAK_USE_BODY_LEN => Some(SakUseKeys {
                latest_ki: Ki::new(mi_at(&body[0..12]), be32(&body[12..16])),
                latest_lowest_pn: be32(&body[16..20]),
                old_ki: Ki::new(mi_at(&body[20..32]), be32(&body[32..36])),
                old_lowest_pn: be32(&body[36..40]),
            }),
            len => {
                return Err(MkpduError::BadParamSetLength {
                    set_type: set_type::SAK_USE,
                    len,
                })
            }
        };
        Ok(SakUse {
            latest_an: octet2 >> 6,
            latest_tx: octet2 & 0x20 != 0,
            latest_rx: octet2 & 0x10 != 0,
            old_an: (octet2 >> 2) & 3,
            old_tx: octet2 & 0x02 != 0,
            old_rx: octet2 & 0x01 != 0,
            plain_tx: flags & 0x8 != 0,
            plain_rx: flags & 0x4 != 0,
            delay_protect: flags & 0x1 != 0,
            keys,
        })
    }

    pub(super) fn header(&self) -> Result<(u8, u8), EmitError> {
        if self.latest_an > 3 || self.old_an > 3 {
            return Err(EmitError::Invalid("SAK Use AN above 3"));
        }
        let octet2 = (self.latest_an << 6)
            | (u8::from(self.latest_tx) << 5)
            | (u8::from(self.latest_rx) << 4)
            | (self.old_an << 2)
            | (u8::from(self.old_tx) << 1)
            | u8::from(self.old_rx);
        let flags =
            (u8::from(self.plain_tx) << 3) | (u8::from(self.plain_rx) << 2) | u8::from(self.delay_protect);
        Ok((octet2, flags))
    }

    pub(super) fn body_len(&self) -> usize {
        if self.keys.is_some() {
            SAK_USE_BODY_LEN
        } else {
            0
        }
    }

    pub(super) fn emit_body(&self, body: &mut [u8]) {
        if let Some(k) = &self.keys {
            body[0..12].copy_from_slice(&k.latest_ki.mi.0);
            body[12..16].copy_from_slice(&k.latest_ki.kn.to_be_bytes());
            body[16..20].copy_from_slice(&k.latest_lowest_pn.to_be_bytes());
            body[20..32].copy_from_slice(&k.old_ki.mi.0);
            body[32..36].copy_from_slice(&k.old_ki.kn.to_be_bytes());
            body[36..40].copy_from_slice(&k.old_lowest_pn.to_be_bytes());
        }
    }

    /// The Latest Key slot (`None` for an empty body).
    pub fn latest(&self) -> Option<KeyUse> {
        self.keys.map(|k| KeyUse {
            ki: k.latest_ki,
            an: self.latest_an,
            tx: self.latest_tx,
            rx: self.latest_rx,
            lowest_pn: k.latest_lowest_pn,
        })
    }

    /// The Old Key slot (`None` for an empty body).
    pub fn old(&self) -> Option<KeyUse> {
        self.keys.map(|k| KeyUse {
            ki: k.old_ki,
            an: self.old_an,
            tx: self.old_tx,
            rx: self.old_rx,
            lowest_pn: k.old_lowest_pn,
        })
    }

    /// The sender's most recent key as receivers must read it: the Latest slot when its rx bit is
    /// set or its KI is not null, otherwise the Old slot (hostap and MKAdaemon report the key in use
    /// in the Old slot once the CP has retired the previous one; mka-facts §6.2). `None` when
    /// both slots are empty.
    pub fn most_recent(&self) -> Option<KeyUse> {
        let latest = self.latest()?;
        if latest.rx || !latest.ki.is_null() {
            return Some(latest);
        }
        self.old().filter(|o| !o.ki.is_null())
    }
}
