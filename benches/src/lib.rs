//! Shared fixtures of the benches: frames of a given size in a buffer with head- and tailroom.

#![forbid(unsafe_code)]

use macsec::secy::{CipherSuite, SaKeys, Salt, Span, Ssci};

/// Frame sizes (DA..end of User Data, no FCS) the benches and scripts report.
pub const SIZES: [usize; 4] = [64, 512, 1500, 9000];
pub const HEADROOM: usize = 32;
pub const TAILROOM: usize = 32;

/// An IPv4-looking frame of `len` octets in a buffer with room around it.
pub fn frame_buffer(len: usize) -> (Vec<u8>, Span) {
    let mut buf = vec![0u8; HEADROOM + len + TAILROOM];
    for (i, b) in buf[HEADROOM..HEADROOM + len].iter_mut().enumerate() {
        *b = i as u8;
    }
    buf[HEADROOM + 12] = 0x08;
    buf[HEADROOM + 13] = 0x00;
    (buf, Span::new(HEADROOM, len))
}

pub fn keys(suite: CipherSuite) -> SaKeys {
    let sak: Vec<u8> = (0..suite.key_len() as u8).collect();
    if suite.is_xpn() {
        SaKeys::xpn(&sak, Ssci(1), Salt([0x5a; 12]))
    } else {
        SaKeys::new(&sak)
    }
}
