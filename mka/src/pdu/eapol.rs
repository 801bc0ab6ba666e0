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
