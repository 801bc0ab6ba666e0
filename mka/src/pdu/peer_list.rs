//! The Live Peer List and Potential Peer List (802.1X-2020 Figure 11-9).

use super::{be32, mi_at};
use crate::Mi;

/// Octets of one Live/Potential Peer List entry (MI ‖ MN).
pub const PEER_ENTRY_LEN: usize = 16;

/// One Live or Potential Peer List entry: a member's MI and the latest MN received from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub mi: Mi,
    pub mn: u32,
}

/// A Live Peer List or Potential Peer List (802.1X-2020 Figure 11-9).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerList {
    /// Octet 2. In an MKA version 3 Live Peer List that carries a Distributed SAK for an XPN suite,
    /// the key server's own SSCI (low 8 bits); reserved (0) otherwise. Kept as received.
    pub key_server_ssci: u8,
    pub peers: Vec<Peer>,
}

impl PeerList {
    /// Parses the body (`None` if it is not a whole number of entries).
    pub(super) fn parse(octet2: u8, body: &[u8]) -> Option<Self> {
        if !body.len().is_multiple_of(PEER_ENTRY_LEN) {
            return None;
        }
        Some(PeerList {
            key_server_ssci: octet2,
            peers: body
                .chunks_exact(PEER_ENTRY_LEN)
                .map(|e| Peer {
                    mi: mi_at(&e[..12]),
                    mn: be32(&e[12..16]),
                })
                .collect(),
        })
    }

    pub(super) fn body_len(&self) -> usize {
        self.peers.len() * PEER_ENTRY_LEN
    }

    pub(super) fn emit_body(&self, body: &mut [u8]) {
        for (e, peer) in body.chunks_exact_mut(PEER_ENTRY_LEN).zip(&self.peers) {
            e[..12].copy_from_slice(&peer.mi.0);
            e[12..].copy_from_slice(&peer.mn.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{captured_mkpdu, emit_set, parse_mkpdu_with, parse_set, zero_set};
    use super::super::{MkpduError, MkpduRepr, ParamSet};
    use super::*;

    fn example() -> PeerList {
        PeerList {
            key_server_ssci: 0,
            peers: vec![
                Peer {
                    mi: Mi([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
                    mn: 5,
                },
                Peer {
                    mi: Mi([0xa0; 12]),
                    mn: 0x0102_0304,
                },
            ],
        }
    }

    #[rustfmt::skip]
    const LIVE: [u8; 36] = [
        0x01,                                                       // Parameter Set Type 1: Live Peer List
        0x00,                                                       // Key Server SSCI (reserved here)
        0x00,                                                       // 4 reserved bits, length bits 11-8 = 0
        0x20,                                                       // body length 32: two entries
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, // entry 1: MI ...
        0x0b, 0x0c,
        0x00, 0x00, 0x00, 0x05,                                     //          MN 5
        0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, // entry 2: MI ...
        0xa0, 0xa0,
        0x01, 0x02, 0x03, 0x04,                                     //          MN 0x01020304
    ];

    #[test]
    fn emits_and_parses_the_exact_octets() {
        let live = ParamSet::LivePeerList(example());
        assert_eq!(emit_set(&live), LIVE);
        assert_eq!(parse_set(&LIVE), Ok(live));
        // The Potential Peer List differs in its type only.
        let mut potential = LIVE;
        potential[0] = 0x02;
        assert_eq!(emit_set(&ParamSet::PotentialPeerList(example())), potential);
        assert_eq!(parse_set(&potential), Ok(ParamSet::PotentialPeerList(example())));
        // Octet 2 carries the key server's SSCI in an MKA version 3 Live Peer List.
        let with_ssci = PeerList {
            key_server_ssci: 1,
            ..example()
        };
        let mut bytes = LIVE;
        bytes[1] = 0x01;
        assert_eq!(emit_set(&ParamSet::LivePeerList(with_ssci.clone())), bytes);
        assert_eq!(parse_set(&bytes), Ok(ParamSet::LivePeerList(with_ssci)));
        // An empty list is a bare header.
        let empty = ParamSet::PotentialPeerList(PeerList::default());
        assert_eq!(emit_set(&empty), [0x02, 0x00, 0x00, 0x00]);
        assert_eq!(parse_set(&[0x02, 0x00, 0x00, 0x00]), Ok(empty));
    }

    #[test]
    fn reserved_bits_are_ignored_and_sent_as_zero() {
        let mut bytes = LIVE;
        bytes[2] = 0xf0;
        assert_eq!(parse_set(&bytes), Ok(ParamSet::LivePeerList(example())));
        assert_eq!(emit_set(&ParamSet::LivePeerList(example()))[2], 0x00);
    }

    #[test]
    fn partial_entries_give_bad_param_set_length() {
        for (t, len) in [(1, 15), (2, 17), (1, 1), (2, 31)] {
            let bytes = zero_set(t, 0, len as usize);
            assert_eq!(
                parse_set(&bytes),
                Err(MkpduError::BadParamSetLength {
                    set_type: t,
                    len: len as usize
                })
            );
        }
        // Through the MKPDU.
        assert_eq!(
            parse_mkpdu_with(&[1, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(MkpduError::BadParamSetLength { set_type: 1, len: 15 })
        );
    }

    /// From wpa_mka.pcap: frame 2's Potential Peer List (the peer lists the key server, MN 1) and
    /// frame 3's Live Peer List (the key server lists the peer, MN 1). MIs from wpa_mka.keys.json.
    #[rustfmt::skip]
    const WPA_SUPPLICANT_FRAME_2: [u8; 20] = [
        0x02, 0x00, 0x00, 0x10,                         // Potential Peer List, body length 16
        0xe6, 0xbe, 0x99, 0xdf, 0xd1, 0x5f,             // MI of the key server
        0xac, 0x91, 0x47, 0x85, 0x10, 0xac,
        0x00, 0x00, 0x00, 0x01,                         // MN 1
    ];
    #[rustfmt::skip]
    const WPA_SUPPLICANT_FRAME_3: [u8; 20] = [
        0x01, 0x00, 0x00, 0x10,                         // Live Peer List, body length 16
        0xf8, 0xab, 0x02, 0x73, 0xb7, 0xf7,             // MI of the peer
        0x31, 0x7b, 0xe2, 0x04, 0x2a, 0xdc,
        0x00, 0x00, 0x00, 0x01,                         // MN 1
    ];

    #[test]
    fn matches_wpa_supplicant_capture() {
        let key_server = Mi([
            0xe6, 0xbe, 0x99, 0xdf, 0xd1, 0x5f, 0xac, 0x91, 0x47, 0x85, 0x10, 0xac,
        ]);
        let peer = Mi([
            0xf8, 0xab, 0x02, 0x73, 0xb7, 0xf7, 0x31, 0x7b, 0xe2, 0x04, 0x2a, 0xdc,
        ]);
        for (frame, bytes, set) in [
            (
                2,
                WPA_SUPPLICANT_FRAME_2,
                ParamSet::PotentialPeerList(PeerList {
                    key_server_ssci: 0,
                    peers: vec![Peer {
                        mi: key_server,
                        mn: 1,
                    }],
                }),
            ),
            (
                3,
                WPA_SUPPLICANT_FRAME_3,
                ParamSet::LivePeerList(PeerList {
                    key_server_ssci: 0,
                    peers: vec![Peer { mi: peer, mn: 1 }],
                }),
            ),
        ] {
            // The set follows the 64-octet Basic Parameter Set.
            let mkpdu = captured_mkpdu(frame);
            assert_eq!(mkpdu[64..84], bytes, "frame {frame}");
            assert_eq!(parse_set(&bytes).as_ref(), Ok(&set));
            assert_eq!(emit_set(&set), bytes);
            assert_eq!(MkpduRepr::parse(&mkpdu).unwrap().sets[0], set);
        }
    }
}
