//! The MKPDU codec on arbitrary bytes, read as a whole Ethernet frame, as an EAPOL PDU and as an
//! MKPDU (EAPOL body): errors, never panics; whatever parses re-emits and re-parses to the same
//! Repr, and the emitted octets are a fixed point. The ICV check and the key unwraps run on
//! whatever parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mka::{
    verify_frame_icv, Cak, Ckn, EapolPacket, Ick, Kek, MkaFrameRepr, MkpduRepr, ParamSet, EAPOL_TYPE_MKA,
};
use std::sync::OnceLock;

fn keys() -> &'static (Ick, Kek) {
    static K: OnceLock<(Ick, Kek)> = OnceLock::new();
    K.get_or_init(|| {
        let cak = Cak::from_bytes(&[0x42; 16]).expect("16-octet CAK");
        let ckn = Ckn::new(&[1, 2, 3, 4]).expect("4-octet CKN");
        (Ick::derive(&cak, &ckn), Kek::derive(&cak, &ckn))
    })
}

fn exercise(m: &MkpduRepr) {
    let (_, kek) = keys();
    for s in &m.sets {
        match s {
            ParamSet::DistributedSak(d) => {
                let _ = d.cipher_suite();
                let _ = d.ki(m.basic.mi);
                if let Some(k) = &d.key {
                    let _ = kek.unwrap_sak(&k.wrapped);
                }
            }
            ParamSet::DistributedCak(c) => {
                let _ = kek.unwrap_cak(&c.wrapped_cak);
            }
            ParamSet::SakUse(u) => {
                let _ = u.most_recent();
            }
            ParamSet::Announcement(a) => {
                let _ = a.cipher_suites();
            }
            _ => {}
        }
    }
}

fn mkpdu_round_trip(m: &MkpduRepr) {
    let bytes = m.to_bytes().expect("a parsed MKPDU emits");
    assert_eq!(bytes.len(), m.buffer_len());
    let back = MkpduRepr::parse(&bytes).expect("an emitted MKPDU parses");
    assert_eq!(&back, m);
    assert_eq!(back.to_bytes().expect("re-emits"), bytes);
}

fuzz_target!(|data: &[u8]| {
    let (ick, _) = keys();

    // A whole Ethernet frame.
    if let Ok(f) = MkaFrameRepr::parse(data) {
        let bytes = f.to_bytes().expect("a parsed frame emits");
        let back = MkaFrameRepr::parse(&bytes).expect("an emitted frame parses");
        assert_eq!(back, f);
        assert_eq!(back.to_bytes().expect("re-emits"), bytes);
        assert!(verify_frame_icv(&bytes, ick).is_ok());
        let mut sealed = f.clone();
        let s = sealed.seal(ick).expect("seals");
        assert_eq!(verify_frame_icv(&s, ick), Ok(true));
        exercise(&f.mkpdu);
    }
    let _ = verify_frame_icv(data, ick);

    // An EAPOL PDU (header and body).
    if let Ok(p) = EapolPacket::new_checked(data) {
        if p.packet_type() == EAPOL_TYPE_MKA {
            if let Ok(m) = MkpduRepr::parse(p.body()) {
                mkpdu_round_trip(&m);
            }
        }
    }

    // An MKPDU (EAPOL body).
    if let Ok(m) = MkpduRepr::parse(data) {
        mkpdu_round_trip(&m);
        exercise(&m);
    }
});
