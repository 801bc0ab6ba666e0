//! SecTAG parsing and the whole validate path on arbitrary frames. The first two octets choose
//! the SecY's policy; the rest is the frame. Must never panic, and every frame moves exactly one
//! packet counter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use macsec::crypto::Backend;
use macsec::secy::{CipherSuite, ConfOffset, Policy, RxSecY, SaKeys, Salt, Sci, Span, Ssci, ValidateFrames};
use macsec::wire::sectag::{SecTag, SecTagRepr};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (sel, frame) = (data[0], &data[2..]);
    let suite = CipherSuite::ALL[(sel & 3) as usize];
    let mut p = Policy::new(suite);
    p.conf_offset = [
        ConfOffset::Zero,
        ConfOffset::Thirty,
        ConfOffset::Fifty,
        ConfOffset::Zero,
    ][((sel >> 2) & 3) as usize];
    p.validate_frames = [
        ValidateFrames::Strict,
        ValidateFrames::Check,
        ValidateFrames::Disabled,
        ValidateFrames::Strict,
    ][((sel >> 4) & 3) as usize];
    p.replay_protect = sel & 0x40 == 0;
    p.replay_window = data[1] as u32;
    let mut rx = RxSecY::new(p, Backend::Ring);
    let sak = vec![0x11u8; suite.key_len()];
    let keys = SaKeys::xpn(&sak, Ssci(1), Salt([2; 12]));
    for (i, sci) in [Sci(0x1122_3344_5566_0001), Sci(0)].into_iter().enumerate() {
        if sel & 0x80 == 0 || i == 0 {
            for an in 0..4 {
                let _ = rx.install_sa(sci, an, &keys, 0xffff_fff0);
            }
        }
    }

    // The views alone.
    if let Ok(tag) = SecTag::new_checked(frame.get(12..).unwrap_or(&[])) {
        let r = SecTagRepr::parse(&tag);
        let mut out = [0u8; 16];
        r.emit(&mut out);
    }
    let _ = SecTagRepr::parse_mpdu(frame, 16);

    // The validate path, in a buffer with room as the dataplane gives it.
    let mut buf = vec![0u8; 32 + frame.len() + 32];
    buf[32..32 + frame.len()].copy_from_slice(frame);
    let res = rx.validate(&mut buf, Span::new(32, frame.len()));
    if let Ok(v) = res {
        assert!(v.span.end() <= buf.len());
    }
    let moved: u64 = rx
        .counters
        .iter()
        .filter(|(n, _)| n.contains("Pkts"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(moved, 1);
});
