//! The largest MKPDU this implementation sends fits in a 1518-octet Ethernet frame (1514 octets and
//! the FCS): 64 peers (`mka::kay::DEFAULT_MAX_PEERS`, the most `max-peers` allows) split over a
//! Live and a Potential Peer List, with every other parameter set the engine can send at its
//! largest: Basic (a 32-octet CKN), SAK Use (latest and old key), Distributed SAK (XPN-256: cipher
//! suite ID and a 40-octet wrapped SAK), Announcement (PPK mode: the PPK Key ID TLV with a 64-octet
//! key ID), XPN, and the ICV Indicator.

use macsec::secy::{CipherSuite, Sci};
use macsec::wire::MacAddr;
use mka::kay::DEFAULT_MAX_PEERS;
use mka::ppk::{PpkKeyId, PpkKeyIdTlv, PPK_KEY_ID_MAX_LEN};
use mka::*;

#[test]
fn the_largest_mkpdu_we_send_fits_in_a_1518_octet_frame() {
    let peers = |n: usize, base: u8| -> Vec<Peer> {
        (0..n)
            .map(|i| Peer {
                mi: Mi([base.wrapping_add(i as u8); 12]),
                mn: i as u32 + 1,
            })
            .collect()
    };
    let ki = |kn| Ki {
        mi: Mi([0xee; 12]),
        kn,
    };
    let repr = MkpduRepr {
        basic: BasicParamSet::for_tests(
            Sci::from_mac_port([0, 0x1d, 0xe5, 0xe9, 0, 1], 1),
            Mi([0xee; 12]),
            7,
            Ckn::new(&[0xc1; 32]).unwrap(),
        ),
        sets: vec![
            ParamSet::LivePeerList(PeerList {
                key_server_ssci: 1,
                peers: peers(DEFAULT_MAX_PEERS - 1, 0),
            }),
            ParamSet::PotentialPeerList(PeerList {
                key_server_ssci: 0,
                peers: peers(1, 0x80),
            }),
            ParamSet::SakUse(SakUse {
                latest_an: 1,
                latest_tx: true,
                latest_rx: true,
                old_an: 0,
                old_tx: false,
                old_rx: true,
                plain_tx: false,
                plain_rx: false,
                delay_protect: true,
                keys: Some(SakUseKeys {
                    latest_ki: ki(2),
                    latest_lowest_pn: 1,
                    old_ki: ki(1),
                    old_lowest_pn: 0xffff_0000,
                }),
            }),
            ParamSet::DistributedSak(DistributedSak {
                an: 1,
                conf_offset: ConfidentialityOffset::Offset0,
                key: Some(WrappedSak {
                    kn: 2,
                    cipher_suite_id: Some(CipherSuite::GcmAesXpn256.id()),
                    wrapped: vec![0x5a; 40],
                }),
            }),
            ParamSet::Announcement(Announcement {
                tlvs: vec![PpkKeyIdTlv {
                    kn: 2,
                    key_id: PpkKeyId::new(&[0x4b; PPK_KEY_ID_MAX_LEN]).unwrap(),
                }
                .to_tlv()],
            }),
            ParamSet::Xpn(Xpn {
                suspension_time: 0,
                latest_lowest_pn_msb: 0,
                old_lowest_pn_msb: 1,
            }),
        ],
        icv_indicator: true,
        icv: [0; 16],
    };
    let mkpdu = repr.to_bytes().unwrap();
    // Basic 4+28+32, Live 4+63*16, Potential 4+16, SAK Use 4+40, Distributed SAK 4+4+8+40,
    // Announcement 4+76 (TLV 2+72, padded), XPN 4+8, ICV Indicator 4+16.
    assert_eq!(mkpdu.len(), 64 + 1012 + 20 + 44 + 56 + 80 + 12 + 20);
    let frame = MkaFrameRepr::new(MacAddr([0, 0x1d, 0xe5, 0xe9, 0, 1]), repr.clone())
        .to_bytes()
        .unwrap();
    // Ethernet header 14, EAPOL header 4, the MKPDU: 1326 octets, 188 under 1514 (+ FCS = 1518).
    assert_eq!(frame.len(), 14 + 4 + 1308);
    assert_eq!(frame.len(), 1326);
    assert!(frame.len() <= 1514);
    assert_eq!(MkaFrameRepr::parse(&frame).unwrap().mkpdu, repr);
}
