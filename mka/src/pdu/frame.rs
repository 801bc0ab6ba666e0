//! The Ethernet framing of an MKPDU (DA, SA, VLAN tags, EtherType 88-8E, EAPOL header) and the ICV.

use super::{
    EapolPacket, EmitError, MkpduError, MkpduRepr, EAPOL_HEADER_LEN, EAPOL_TYPE_MKA, EAPOL_VERSION,
    ETHERTYPE_EAPOL, ICV_LEN, MKPDU_MIN_LEN, PAE_GROUP_ADDR,
};
use crate::kdf::Ick;
use macsec::wire::{EtherType, MacAddr};

/// An 802.1Q (TPID 0x8100) or 802.1ad (0x88A8) tag in front of the EAPOL EtherType. Tags are not
/// covered by the ICV (they are added below the PAE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTagRepr {
    pub tpid: u16,
    pub tci: u16,
}

/// At most this many VLAN tags are skipped in front of the EAPOL EtherType.
pub const MAX_VLAN_TAGS: usize = 2;

/// Where the pieces of an EAPOL-MKA frame are.
struct Layout {
    dst: MacAddr,
    src: MacAddr,
    tags: Vec<VlanTagRepr>,
    /// Offset of the EAPOL header.
    eapol: usize,
    /// EAPOL header + body (Ethernet padding excluded).
    eapol_len: usize,
    version: u8,
}

fn locate(frame: &[u8]) -> Result<Layout, MkpduError> {
    let len = frame.len();
    if len < 14 {
        return Err(MkpduError::FrameTooShort { len });
    }
    let mut off = 12;
    let mut tags = Vec::new();
    let mut et = u16::from_be_bytes([frame[off], frame[off + 1]]);
    while (et == EtherType::VLAN.0 || et == EtherType::QINQ.0) && tags.len() < MAX_VLAN_TAGS {
        let t = frame
            .get(off + 2..off + 6)
            .ok_or(MkpduError::FrameTooShort { len })?;
        tags.push(VlanTagRepr {
            tpid: et,
            tci: u16::from_be_bytes([t[0], t[1]]),
        });
        et = u16::from_be_bytes([t[2], t[3]]);
        off += 4;
    }
    if et != ETHERTYPE_EAPOL {
        return Err(MkpduError::NotEapol { ethertype: et });
    }
    let eapol = off + 2;
    let p = EapolPacket::new_checked(&frame[eapol..]).map_err(|e| match e {
        MkpduError::FrameTooShort { .. } => MkpduError::FrameTooShort { len },
        e => e,
    })?;
    if p.packet_type() != EAPOL_TYPE_MKA {
        return Err(MkpduError::NotMka {
            packet_type: p.packet_type(),
        });
    }
    let dst = MacAddr::from_slice(&frame[0..6]);
    if dst.0[0] & 1 == 0 {
        return Err(MkpduError::IndividualDestination);
    }
    Ok(Layout {
        dst,
        src: MacAddr::from_slice(&frame[6..12]),
        tags,
        eapol,
        eapol_len: EAPOL_HEADER_LEN + p.body_len() as usize,
        version: p.version(),
    })
}

/// An Ethernet frame carrying an MKPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkaFrameRepr {
    pub dst: MacAddr,
    pub src: MacAddr,
    /// VLAN tags in front of the EAPOL EtherType (usually none).
    pub vlan_tags: Vec<VlanTagRepr>,
    /// EAPOL Protocol Version (any is accepted on receive; [`EAPOL_VERSION`] to send).
    pub eapol_version: u8,
    pub mkpdu: MkpduRepr,
}

impl MkaFrameRepr {
    /// A frame to the PAE group address with EAPOL version 3 and no tags.
    pub fn new(src: MacAddr, mkpdu: MkpduRepr) -> Self {
        MkaFrameRepr {
            dst: PAE_GROUP_ADDR,
            src,
            vlan_tags: Vec::new(),
            eapol_version: EAPOL_VERSION,
            mkpdu,
        }
    }

    /// Parses an Ethernet frame (no FCS; Ethernet padding after the EAPOL body is ignored).
    pub fn parse(frame: &[u8]) -> Result<MkaFrameRepr, MkpduError> {
        let l = locate(frame)?;
        let mkpdu = MkpduRepr::parse(&frame[l.eapol + EAPOL_HEADER_LEN..l.eapol + l.eapol_len])?;
        Ok(MkaFrameRepr {
            dst: l.dst,
            src: l.src,
            vlan_tags: l.tags,
            eapol_version: l.version,
            mkpdu,
        })
    }

    /// Octets of the frame without Ethernet padding.
    pub fn buffer_len(&self) -> usize {
        14 + 4 * self.vlan_tags.len() + EAPOL_HEADER_LEN + self.mkpdu.buffer_len()
    }

    /// Writes the frame (with the ICV in [`MkpduRepr::icv`]) to the start of `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        let need = self.buffer_len();
        if out.len() < need {
            return Err(EmitError::BufferTooShort { len: out.len(), need });
        }
        if self.vlan_tags.len() > MAX_VLAN_TAGS {
            return Err(EmitError::Invalid("more than two VLAN tags"));
        }
        let body_len = self.mkpdu.buffer_len();
        let body_len16 = u16::try_from(body_len).map_err(|_| EmitError::MkpduTooLong(body_len))?;
        out[0..6].copy_from_slice(&self.dst.0);
        out[6..12].copy_from_slice(&self.src.0);
        let mut off = 12;
        for t in &self.vlan_tags {
            if t.tpid != EtherType::VLAN.0 && t.tpid != EtherType::QINQ.0 {
                return Err(EmitError::Invalid("VLAN tag TPID is not 0x8100 or 0x88a8"));
            }
            out[off..off + 2].copy_from_slice(&t.tpid.to_be_bytes());
            out[off + 2..off + 4].copy_from_slice(&t.tci.to_be_bytes());
            off += 4;
        }
        out[off..off + 2].copy_from_slice(&ETHERTYPE_EAPOL.to_be_bytes());
        off += 2;
        let mut p = EapolPacket::new_unchecked(&mut out[off..]);
        p.set_version(self.eapol_version);
        p.set_packet_type(EAPOL_TYPE_MKA);
        p.set_body_len(body_len16);
        off += EAPOL_HEADER_LEN;
        self.mkpdu.emit(&mut out[off..])?;
        Ok(need)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }

    /// Computes the ICV with `ick`, stores it in [`MkpduRepr::icv`], and returns the frame.
    pub fn seal(&mut self, ick: &Ick) -> Result<Vec<u8>, EmitError> {
        let mut v = Vec::new();
        self.seal_into(ick, &mut v)?;
        Ok(v)
    }

    /// [`Self::seal`] into `out` (resized to the frame; its allocation is reused).
    pub fn seal_into(&mut self, ick: &Ick, out: &mut Vec<u8>) -> Result<(), EmitError> {
        out.clear();
        out.resize(self.buffer_len(), 0);
        self.emit(out)?;
        let icv = match frame_icv(out, ick) {
            Ok(icv) => icv,
            Err(_) => return Err(EmitError::Invalid("emitted frame does not parse")),
        };
        let n = out.len();
        out[n - ICV_LEN..].copy_from_slice(&icv);
        self.mkpdu.icv = icv;
        Ok(())
    }
}

/// The ICV of 802.1X-2020 9.4.1 / 11.11.1: AES-CMAC under the ICK over
/// `DA ‖ SA ‖ EtherType 88-8E ‖ EAPOL header ‖ MKPDU up to (not including) the ICV`, where
/// `eapol_without_icv` is the EAPOL header and the MKPDU minus its last 16 octets. VLAN tags are
/// not covered; padding and an ICV Indicator header are.
pub fn compute_icv(ick: &Ick, dst: MacAddr, src: MacAddr, eapol_without_icv: &[u8]) -> [u8; ICV_LEN] {
    let mut m = ick.cmac();
    m.update(&dst.0);
    m.update(&src.0);
    m.update(&ETHERTYPE_EAPOL.to_be_bytes());
    m.update(eapol_without_icv);
    m.finalize()
}

fn icv_parts(frame: &[u8]) -> Result<(Layout, &[u8], [u8; ICV_LEN]), MkpduError> {
    let l = locate(frame)?;
    let body_len = l.eapol_len - EAPOL_HEADER_LEN;
    if body_len < MKPDU_MIN_LEN {
        return Err(MkpduError::TooShort { len: body_len });
    }
    let icv_at = l.eapol + l.eapol_len - ICV_LEN;
    let mut icv = [0u8; ICV_LEN];
    icv.copy_from_slice(&frame[icv_at..icv_at + ICV_LEN]);
    let covered = &frame[l.eapol..icv_at];
    Ok((l, covered, icv))
}

/// The ICV a frame should carry under `ick` (computed over the frame's own octets, so the MKPDU
/// need not parse beyond its EAPOL framing).
pub fn frame_icv(frame: &[u8], ick: &Ick) -> Result<[u8; ICV_LEN], MkpduError> {
    let (l, covered, _) = icv_parts(frame)?;
    Ok(compute_icv(ick, l.dst, l.src, covered))
}

/// Checks a received frame's ICV under `ick` in constant time.
pub fn verify_frame_icv(frame: &[u8], ick: &Ick) -> Result<bool, MkpduError> {
    let (l, covered, icv) = icv_parts(frame)?;
    let mut m = ick.cmac();
    m.update(&l.dst.0);
    m.update(&l.src.0);
    m.update(&ETHERTYPE_EAPOL.to_be_bytes());
    m.update(covered);
    Ok(m.verify(&icv))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{basic, every_set};
    use super::super::*;
    use crate::{Cak, Ckn, Ick, Kek, Sak};
    use macsec::secy::CipherSuite;

    #[test]
    fn sealed_frame_verifies_and_tampering_fails() {
        let cak = Cak::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap();
        let ckn = Ckn::new(b"ckn").unwrap();
        let ick = Ick::derive(&cak, &ckn);
        let kek = Kek::derive(&cak, &ckn);
        let sak = Sak::generate(&mut crate::rng::Rng::os(), 32).unwrap();
        let mut sets = every_set();
        sets.push(ParamSet::DistributedSak(DistributedSak {
            an: 3,
            conf_offset: ConfidentialityOffset::Offset0,
            key: Some(WrappedSak {
                kn: 9,
                cipher_suite_id: Some(CipherSuite::GcmAes256.id()),
                wrapped: kek.wrap_sak(&sak),
            }),
        }));
        for icv_indicator in [false, true] {
            let mut f = MkaFrameRepr::new(
                MacAddr([2, 0, 0, 0, 0, 1]),
                MkpduRepr {
                    basic: basic(),
                    sets: sets.clone(),
                    icv_indicator,
                    icv: [0; 16],
                },
            );
            f.vlan_tags.push(VlanTagRepr {
                tpid: 0x8100,
                tci: 100,
            });
            let bytes = f.seal(&ick).unwrap();
            assert!(verify_frame_icv(&bytes, &ick).unwrap());
            let back = MkaFrameRepr::parse(&bytes).unwrap();
            assert_eq!(back, f);
            let d = back.mkpdu.sets.iter().rev().find_map(|s| match s {
                ParamSet::DistributedSak(d) => Some(d),
                _ => None,
            });
            let got = kek.unwrap_sak(&d.unwrap().key.as_ref().unwrap().wrapped).unwrap();
            assert_eq!(got.as_bytes(), sak.as_bytes());
            // A VLAN tag is not covered by the ICV; every other octet is.
            let mut untagged = bytes.clone();
            untagged.drain(12..16);
            assert!(verify_frame_icv(&untagged, &ick).unwrap());
            for i in (0..12).chain(16..bytes.len()) {
                let mut t = bytes.clone();
                t[i] ^= 0x04;
                assert!(!verify_frame_icv(&t, &ick).unwrap_or(false), "octet {i}");
            }
        }
    }

    #[test]
    fn frame_level_errors() {
        let repr = MkaFrameRepr::new(
            MacAddr([2, 0, 0, 0, 0, 1]),
            MkpduRepr {
                basic: basic(),
                sets: vec![],
                icv_indicator: false,
                icv: [0; 16],
            },
        );
        let f = repr.to_bytes().unwrap();
        assert_eq!(
            MkaFrameRepr::parse(&f[..10]),
            Err(MkpduError::FrameTooShort { len: 10 })
        );
        let mut t = f.clone();
        t[12] = 0x08;
        t[13] = 0x00;
        assert_eq!(
            MkaFrameRepr::parse(&t),
            Err(MkpduError::NotEapol { ethertype: 0x0800 })
        );
        let mut t = f.clone();
        t[15] = 0;
        assert_eq!(
            MkaFrameRepr::parse(&t),
            Err(MkpduError::NotMka { packet_type: 0 })
        );
        let mut t = f.clone();
        t[0] = 0x02;
        assert_eq!(MkaFrameRepr::parse(&t), Err(MkpduError::IndividualDestination));
        assert_eq!(
            MkaFrameRepr::parse(&f[..f.len() - 1]),
            Err(MkpduError::EapolBodyTruncated {
                body_len: f.len() - 18,
                available: f.len() - 19
            })
        );
        // Ethernet padding is ignored.
        let mut padded = f.clone();
        padded.extend_from_slice(&[0xff; 8]);
        assert_eq!(MkaFrameRepr::parse(&padded).unwrap(), repr);
    }
}
