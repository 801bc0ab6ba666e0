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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{captured_mkpdu, emit_set, parse_mkpdu_with, parse_set, zero_set};
    use super::super::{MkpduRepr, ParamSet};
    use super::*;
    use crate::Mi;

    fn example() -> SakUse {
        SakUse {
            latest_an: 1,
            latest_tx: true,
            latest_rx: true,
            old_an: 0,
            old_tx: false,
            old_rx: true,
            plain_tx: false,
            plain_rx: true,
            delay_protect: true,
            keys: Some(SakUseKeys {
                latest_ki: Ki::new(Mi([9; 12]), 3),
                latest_lowest_pn: 0x0102_0304,
                old_ki: Ki::new(Mi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 2),
                old_lowest_pn: 1,
            }),
        }
    }

    #[rustfmt::skip]
    const EXAMPLE: [u8; 44] = [
        0x03,                                           // Parameter Set Type 3: MACsec SAK Use
        0x71,                                           // Latest AN 1, tx 1, rx 1; Old AN 0, tx 0, rx 1
        0x50,                                           // Plain tx 0, Plain rx 1, Delay Protect 1; len 11-8
        0x28,                                           // body length 40
        0x09, 0x09, 0x09, 0x09, 0x09, 0x09,             // Latest Key: Key Server MI ...
        0x09, 0x09, 0x09, 0x09, 0x09, 0x09,
        0x00, 0x00, 0x00, 0x03,                         //   Key Number 3
        0x01, 0x02, 0x03, 0x04,                         //   Lowest Acceptable PN
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06,             // Old Key: Key Server MI ...
        0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
        0x00, 0x00, 0x00, 0x02,                         //   Key Number 2
        0x00, 0x00, 0x00, 0x01,                         //   Lowest Acceptable PN 1
    ];

    #[test]
    fn emits_and_parses_the_exact_octets() {
        assert_eq!(emit_set(&ParamSet::SakUse(example())), EXAMPLE);
        assert_eq!(parse_set(&EXAMPLE), Ok(ParamSet::SakUse(example())));
        // The empty form (MACsec not in use): a bare header with the Plain Text bits.
        let empty = SakUse {
            plain_tx: true,
            plain_rx: true,
            ..SakUse::default()
        };
        assert_eq!(emit_set(&ParamSet::SakUse(empty)), [0x03, 0x00, 0xc0, 0x00]);
        assert_eq!(parse_set(&[0x03, 0x00, 0xc0, 0x00]), Ok(ParamSet::SakUse(empty)));
    }

    #[test]
    fn each_header_bit() {
        // (repr change, octet 2, octet 3) with every other field 0 / false and an empty body.
        let d = SakUse::default();
        for (s, octet2, octet3) in [
            (SakUse { latest_an: 3, ..d }, 0xc0, 0x00),
            (SakUse { latest_an: 2, ..d }, 0x80, 0x00),
            (SakUse { latest_tx: true, ..d }, 0x20, 0x00),
            (SakUse { latest_rx: true, ..d }, 0x10, 0x00),
            (SakUse { old_an: 3, ..d }, 0x0c, 0x00),
            (SakUse { old_an: 1, ..d }, 0x04, 0x00),
            (SakUse { old_tx: true, ..d }, 0x02, 0x00),
            (SakUse { old_rx: true, ..d }, 0x01, 0x00),
            (SakUse { plain_tx: true, ..d }, 0x00, 0x80),
            (SakUse { plain_rx: true, ..d }, 0x00, 0x40),
            (
                SakUse {
                    delay_protect: true,
                    ..d
                },
                0x00,
                0x10,
            ),
        ] {
            let bytes = [0x03, octet2, octet3, 0x00];
            assert_eq!(emit_set(&ParamSet::SakUse(s)), bytes, "{s:?}");
            assert_eq!(parse_set(&bytes), Ok(ParamSet::SakUse(s)));
        }
    }

    #[test]
    fn malformed_and_reserved() {
        // Only 0 and 40 are body lengths.
        for len in [4, 36, 39, 41, 44] {
            let bytes = zero_set(0x03, 0x00, len as usize);
            assert_eq!(
                parse_set(&bytes),
                Err(MkpduError::BadParamSetLength {
                    set_type: 3,
                    len: len as usize
                })
            );
        }
        // Through the MKPDU.
        assert_eq!(
            parse_mkpdu_with(&[3, 0, 0, 4, 0, 0, 0, 0]),
            Err(MkpduError::BadParamSetLength { set_type: 3, len: 4 })
        );
        // The reserved bit of octet 3 (0x20) is ignored on receive and sent as 0.
        let mut bytes = EXAMPLE;
        bytes[2] = 0x70;
        assert_eq!(parse_set(&bytes), Ok(ParamSet::SakUse(example())));
        // An AN does not fit 2 bits.
        for s in [
            SakUse {
                latest_an: 4,
                ..example()
            },
            SakUse {
                old_an: 4,
                ..example()
            },
        ] {
            assert_eq!(
                ParamSet::SakUse(s).emit(&mut [0; 44]),
                Err(EmitError::Invalid("SAK Use AN above 3"))
            );
        }
    }

    #[test]
    fn slots() {
        let s = example();
        let latest = KeyUse {
            ki: Ki::new(Mi([9; 12]), 3),
            an: 1,
            tx: true,
            rx: true,
            lowest_pn: 0x0102_0304,
        };
        let old = KeyUse {
            ki: Ki::new(Mi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 2),
            an: 0,
            tx: false,
            rx: true,
            lowest_pn: 1,
        };
        assert_eq!(
            (s.latest(), s.old(), s.most_recent()),
            (Some(latest), Some(old), Some(latest))
        );
        // Latest slot empty (null KI, rx clear): the Old slot is the most recent key.
        let k = s.keys.unwrap();
        let retired = SakUse {
            latest_rx: false,
            keys: Some(SakUseKeys {
                latest_ki: Ki::NULL,
                ..k
            }),
            ..s
        };
        assert_eq!(retired.most_recent(), Some(old));
        assert_eq!(SakUse::default().most_recent(), None);
    }

    /// Frame 4 of wpa_mka.pcap: the peer's first SAK Use after the key server distributed the SAK
    /// (KI = the key server's MI and KN 1, wpa_mka.keys.json), receiving on AN 0, not yet
    /// transmitting; the Old Key slot is null with Lowest Acceptable PN 1.
    #[rustfmt::skip]
    const WPA_SUPPLICANT_FRAME_4: [u8; 44] = [
        0x03,                                           // MACsec SAK Use
        0x10,                                           // Latest AN 0, tx 0, rx 1; Old AN 0, tx 0, rx 0
        0x00,                                           // Plain tx 0, Plain rx 0, Delay Protect 0
        0x28,                                           // body length 40
        0xe6, 0xbe, 0x99, 0xdf, 0xd1, 0x5f,             // Latest Key: the key server's MI
        0xac, 0x91, 0x47, 0x85, 0x10, 0xac,
        0x00, 0x00, 0x00, 0x01,                         //   KN 1
        0x00, 0x00, 0x00, 0x01,                         //   Lowest Acceptable PN 1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             // Old Key: null MI
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,                         //   KN 0
        0x00, 0x00, 0x00, 0x01,                         //   Lowest Acceptable PN 1
    ];

    #[test]
    fn matches_wpa_supplicant_capture() {
        let mkpdu = captured_mkpdu(4);
        // Basic Parameter Set (64), Live Peer List (20), then the SAK Use.
        assert_eq!(mkpdu[84..128], WPA_SUPPLICANT_FRAME_4);
        let ks = Mi([
            0xe6, 0xbe, 0x99, 0xdf, 0xd1, 0x5f, 0xac, 0x91, 0x47, 0x85, 0x10, 0xac,
        ]);
        let want = SakUse {
            latest_rx: true,
            keys: Some(SakUseKeys {
                latest_ki: Ki::new(ks, 1),
                latest_lowest_pn: 1,
                old_ki: Ki::NULL,
                old_lowest_pn: 1,
            }),
            ..SakUse::default()
        };
        assert_eq!(parse_set(&WPA_SUPPLICANT_FRAME_4), Ok(ParamSet::SakUse(want)));
        assert_eq!(emit_set(&ParamSet::SakUse(want)), WPA_SUPPLICANT_FRAME_4);
        assert_eq!(MkpduRepr::parse(&mkpdu).unwrap().sak_use(), Some(&want));
        assert_eq!(
            want.most_recent().map(|k| (k.ki, k.an)),
            Some((Ki::new(ks, 1), 0))
        );
    }
}
