//! The MKPDU (the EAPOL-MKA body): the Basic Parameter Set, the other parameter sets in wire order,
//! an optional ICV Indicator, and the ICV.

use super::{
    pad4, set_type, Announcement, BasicParamSet, DistributedCak, DistributedSak, EmitError, MkpduError,
    ParamSet, ParamSetPacket, PeerList, SakUse, Xpn, ICV_LEN, MKPDU_MIN_LEN, PARAM_SET_HEADER_LEN,
};

/// An MKPDU: the body of an EAPOL-MKA PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkpduRepr {
    pub basic: BasicParamSet,
    /// The other parameter sets, in wire order.
    pub sets: Vec<ParamSet>,
    /// The ICV is carried as the body of an ICV Indicator (type 255) rather than bare.
    pub icv_indicator: bool,
    /// The ICV as received (or as set by [`MkaFrameRepr::seal`](super::MkaFrameRepr::seal)).
    pub icv: [u8; ICV_LEN],
}

impl MkpduRepr {
    /// Parses an MKPDU: exactly the EAPOL body (the EAPOL Packet Body Length octets).
    pub fn parse(mkpdu: &[u8]) -> Result<MkpduRepr, MkpduError> {
        let len = mkpdu.len();
        if len < MKPDU_MIN_LEN {
            return Err(MkpduError::TooShort { len });
        }
        if !len.is_multiple_of(4) {
            return Err(MkpduError::NotMultipleOf4 { len });
        }
        let end = len - ICV_LEN;
        let (basic, mut off) = BasicParamSet::parse(&mkpdu[..end])?;
        let mut sets = Vec::new();
        let mut icv_indicator = false;
        while off < end {
            // `end - off` is a non-zero multiple of 4, so the 4-octet header is always present.
            let p = ParamSetPacket::new_unchecked(&mkpdu[off..end]);
            if p.set_type() == set_type::ICV_INDICATOR {
                if p.body_len() != ICV_LEN {
                    return Err(MkpduError::BadParamSetLength {
                        set_type: set_type::ICV_INDICATOR,
                        len: p.body_len(),
                    });
                }
                if off + PARAM_SET_HEADER_LEN != end {
                    return Err(MkpduError::MisplacedIcvIndicator { offset: off });
                }
                icv_indicator = true;
                break;
            }
            if off + p.padded_len() > end {
                return Err(MkpduError::ParamSetTruncated {
                    set_type: p.set_type(),
                    offset: off,
                });
            }
            sets.push(ParamSet::parse(&p)?);
            off += p.padded_len();
        }
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&mkpdu[end..]);
        Ok(MkpduRepr {
            basic,
            sets,
            icv_indicator,
            icv,
        })
    }

    /// Octets [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        PARAM_SET_HEADER_LEN
            + pad4(self.basic.body_len())
            + self.sets.iter().map(ParamSet::buffer_len).sum::<usize>()
            + if self.icv_indicator {
                PARAM_SET_HEADER_LEN
            } else {
                0
            }
            + ICV_LEN
    }

    /// Writes the MKPDU (with [`icv`](Self::icv) as its ICV) to the start of `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        let need = self.buffer_len();
        if out.len() < need {
            return Err(EmitError::BufferTooShort { len: out.len(), need });
        }
        let out = &mut out[..need];
        out.fill(0);
        self.basic.emit(out);
        let mut off = PARAM_SET_HEADER_LEN + pad4(self.basic.body_len());
        for s in &self.sets {
            off += s.emit(&mut out[off..])?;
        }
        if self.icv_indicator {
            ParamSetPacket::new_unchecked(&mut out[off..]).set_header(set_type::ICV_INDICATOR, 0, 0, ICV_LEN);
            off += PARAM_SET_HEADER_LEN;
        }
        out[off..].copy_from_slice(&self.icv);
        Ok(need)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }

    fn first<'a, R>(&'a self, f: impl Fn(&'a ParamSet) -> Option<R>) -> Option<R> {
        self.sets.iter().find_map(f)
    }

    /// The first Live Peer List.
    pub fn live_peers(&self) -> Option<&PeerList> {
        self.first(|s| match s {
            ParamSet::LivePeerList(l) => Some(l),
            _ => None,
        })
    }
    /// The first Potential Peer List.
    pub fn potential_peers(&self) -> Option<&PeerList> {
        self.first(|s| match s {
            ParamSet::PotentialPeerList(l) => Some(l),
            _ => None,
        })
    }
    /// The first MACsec SAK Use.
    pub fn sak_use(&self) -> Option<&SakUse> {
        self.first(|s| match s {
            ParamSet::SakUse(u) => Some(u),
            _ => None,
        })
    }
    /// The first Distributed SAK.
    pub fn distributed_sak(&self) -> Option<&DistributedSak> {
        self.first(|s| match s {
            ParamSet::DistributedSak(d) => Some(d),
            _ => None,
        })
    }
    /// The first Distributed CAK.
    pub fn distributed_cak(&self) -> Option<&DistributedCak> {
        self.first(|s| match s {
            ParamSet::DistributedCak(d) => Some(d),
            _ => None,
        })
    }
    /// The first Announcement.
    pub fn announcement(&self) -> Option<&Announcement> {
        self.first(|s| match s {
            ParamSet::Announcement(a) => Some(a),
            _ => None,
        })
    }
    /// The first XPN parameter set.
    pub fn xpn(&self) -> Option<&Xpn> {
        self.first(|s| match s {
            ParamSet::Xpn(x) => Some(x),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{basic, every_set};
    use super::super::*;

    #[test]
    fn every_set_round_trips_with_and_without_icv_indicator() {
        for icv_indicator in [false, true] {
            let repr = MkpduRepr {
                basic: basic(),
                sets: every_set(),
                icv_indicator,
                icv: [0xee; 16],
            };
            let bytes = repr.to_bytes().unwrap();
            assert_eq!(bytes.len() % 4, 0);
            let back = MkpduRepr::parse(&bytes).unwrap();
            assert_eq!(back, repr);
            assert_eq!(back.to_bytes().unwrap(), bytes);
            assert_eq!(&bytes[bytes.len() - 16..], &[0xee; 16]);
        }
    }

    /// The MKPDU-level checks. Each parameter set's own malformed cases (bad body lengths, bad
    /// Announcement TLVs, a bad Basic Parameter Set length) are tested in that set's file.
    #[test]
    fn malformed_mkpdus_give_specific_errors() {
        let good = MkpduRepr {
            basic: basic(),
            sets: vec![],
            icv_indicator: false,
            icv: [0; 16],
        }
        .to_bytes()
        .unwrap();
        assert_eq!(
            MkpduRepr::parse(&good[..28]),
            Err(MkpduError::TooShort { len: 28 })
        );
        let mut odd = good.clone();
        odd.push(0);
        assert_eq!(
            MkpduRepr::parse(&odd),
            Err(MkpduError::NotMultipleOf4 { len: odd.len() })
        );
        let with = |set: &[u8]| {
            let mut v = good[..good.len() - 16].to_vec();
            v.extend_from_slice(set);
            v.extend_from_slice(&[0; 16]);
            MkpduRepr::parse(&v)
        };
        assert_eq!(
            with(&[1, 0, 0, 16, 0, 0, 0, 0]),
            Err(MkpduError::ParamSetTruncated {
                set_type: 1,
                offset: 40
            })
        );
        assert_eq!(
            with(&[255, 0, 0, 16, 6, 0, 0, 0]),
            Err(MkpduError::MisplacedIcvIndicator { offset: 40 })
        );
        assert_eq!(
            with(&[255, 0, 0, 8]),
            Err(MkpduError::BadParamSetLength {
                set_type: 255,
                len: 8
            })
        );
        // Unknown types are kept and skipped.
        let r = with(&[200, 1, 0x20, 3, 9, 9, 9, 0]).unwrap();
        assert_eq!(
            r.sets,
            vec![ParamSet::Unknown(UnknownParamSet {
                set_type: 200,
                octet2: 1,
                flags: 2,
                body: vec![9, 9, 9]
            })]
        );
    }
}
