//! The EAPOL header view (802.1X-2020 11.3): version, packet type, body length.

use super::MkpduError;

/// The EAPOL protocol version senders use (802.1X-2010 onward).
pub const EAPOL_VERSION: u8 = 3;
/// EAPOL packet type EAPOL-MKA.
pub const EAPOL_TYPE_MKA: u8 = 5;
/// Octets of the EAPOL header (version, type, body length).
pub const EAPOL_HEADER_LEN: usize = 4;

mod eapol_field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const PACKET_TYPE: usize = 1;
    pub const BODY_LEN: Range<usize> = 2..4;
    pub const BODY: usize = 4;
}

/// A read/write view of an EAPOL PDU (header and body; octets past the body are Ethernet padding).
#[derive(Debug, Clone)]
pub struct EapolPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EapolPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        EapolPacket { buffer }
    }

    /// Checks that the header and the whole body (per its length field) are present.
    pub fn new_checked(buffer: T) -> Result<Self, MkpduError> {
        let p = EapolPacket { buffer };
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), MkpduError> {
        let len = self.buffer.as_ref().len();
        if len < EAPOL_HEADER_LEN {
            return Err(MkpduError::FrameTooShort { len });
        }
        let body_len = self.body_len() as usize;
        if len - EAPOL_HEADER_LEN < body_len {
            return Err(MkpduError::EapolBodyTruncated {
                body_len,
                available: len - EAPOL_HEADER_LEN,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[eapol_field::VERSION]
    }
    pub fn packet_type(&self) -> u8 {
        self.buffer.as_ref()[eapol_field::PACKET_TYPE]
    }
    pub fn body_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[eapol_field::BODY_LEN.start], b[eapol_field::BODY_LEN.start + 1]])
    }
    /// The body: exactly `body_len` octets (Ethernet padding excluded).
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[eapol_field::BODY..eapol_field::BODY + self.body_len() as usize]
    }
    /// Header and body, without Ethernet padding.
    pub fn pdu(&self) -> &[u8] {
        &self.buffer.as_ref()[..eapol_field::BODY + self.body_len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EapolPacket<T> {
    pub fn set_version(&mut self, v: u8) {
        self.buffer.as_mut()[eapol_field::VERSION] = v;
    }
    pub fn set_packet_type(&mut self, t: u8) {
        self.buffer.as_mut()[eapol_field::PACKET_TYPE] = t;
    }
    pub fn set_body_len(&mut self, n: u16) {
        self.buffer.as_mut()[eapol_field::BODY_LEN].copy_from_slice(&n.to_be_bytes());
    }
    pub fn body_mut(&mut self) -> &mut [u8] {
        let n = self.body_len() as usize;
        &mut self.buffer.as_mut()[eapol_field::BODY..eapol_field::BODY + n]
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::captured_eapol;
    use super::*;

    #[test]
    fn writes_and_reads_the_exact_octets() {
        let mut buf = [0xffu8; 10];
        let mut p = EapolPacket::new_unchecked(&mut buf[..]);
        p.set_version(EAPOL_VERSION);
        p.set_packet_type(EAPOL_TYPE_MKA);
        p.set_body_len(0x0104);
        assert_eq!(p.into_inner()[..4], [0x03, 0x05, 0x01, 0x04]);
        #[rustfmt::skip]
        let bytes = [
            0x03,       // Protocol Version 3 (802.1X-2010 onward)
            0x05,       // Packet Type 5: EAPOL-MKA
            0x00, 0x04, // Packet Body Length 4
            0xa1, 0xa2, 0xa3, 0xa4, // body
            0x00, 0x00, // Ethernet padding
        ];
        let mut p = EapolPacket::new_checked(bytes).unwrap();
        assert_eq!((p.version(), p.packet_type(), p.body_len()), (3, 5, 4));
        assert_eq!(p.body(), [0xa1, 0xa2, 0xa3, 0xa4]);
        assert_eq!(p.pdu(), &bytes[..8]);
        p.body_mut()[0] = 0xb1;
        assert_eq!(p.into_inner()[4..], [0xb1, 0xa2, 0xa3, 0xa4, 0x00, 0x00]);
    }

    #[test]
    fn short_and_truncated() {
        for len in 0..4 {
            assert_eq!(
                EapolPacket::new_checked(&[3u8, 5, 0][..len.min(3)]).err(),
                Some(MkpduError::FrameTooShort { len: len.min(3) })
            );
        }
        assert_eq!(
            EapolPacket::new_checked(&[3u8, 5, 0, 5, 1, 2, 3, 4][..]).err(),
            Some(MkpduError::EapolBodyTruncated {
                body_len: 5,
                available: 4
            })
        );
        assert_eq!(
            EapolPacket::new_checked(&[3u8, 5, 0x01, 0x00][..]).err(),
            Some(MkpduError::EapolBodyTruncated {
                body_len: 256,
                available: 0
            })
        );
        // Any version and type pass the view; MkaFrameRepr decides about them.
        assert!(EapolPacket::new_checked(&[1u8, 0, 0, 0][..]).is_ok());
    }

    #[test]
    fn matches_wpa_supplicant_capture() {
        // Frame 1 of wpa_mka.pcap: version 3, EAPOL-MKA, an 80-octet MKPDU (64 + 16).
        let pdu = captured_eapol(1);
        assert_eq!(pdu[..4], [0x03, 0x05, 0x00, 0x50]);
        let p = EapolPacket::new_checked(&pdu[..]).unwrap();
        assert_eq!(
            (p.version(), p.packet_type(), p.body_len(), p.body().len()),
            (3, 5, 80, 80)
        );
    }
}
