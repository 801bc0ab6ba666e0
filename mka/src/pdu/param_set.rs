//! The generic parameter set view (802.1X-2020 11.11.1): the 4-octet header and the body.

use super::{pad4, MkpduError};

/// Octets of a parameter set header.
pub const PARAM_SET_HEADER_LEN: usize = 4;
/// The largest parameter set body (12-bit length field).
pub const MAX_BODY_LEN: usize = 0x0fff;

mod set_field {
    pub const TYPE: usize = 0;
    pub const OCTET2: usize = 1;
    pub const FLAGS_LEN_HI: usize = 2;
    pub const LEN_LO: usize = 3;
    pub const BODY: usize = 4;
}

/// A read/write view of one parameter set: the generic 4-octet header (type; a type-specific
/// octet; 4 type-specific flag bits and the 12-bit body length) and its body.
#[derive(Debug, Clone)]
pub struct ParamSetPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ParamSetPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        ParamSetPacket { buffer }
    }

    /// Checks that the header and the body (padding not included) are present.
    pub fn new_checked(buffer: T) -> Result<Self, MkpduError> {
        let len = buffer.as_ref().len();
        if len < PARAM_SET_HEADER_LEN {
            let set_type = buffer.as_ref().first().copied().unwrap_or(0);
            return Err(MkpduError::ParamSetTruncated { set_type, offset: 0 });
        }
        let p = ParamSetPacket { buffer };
        if len < PARAM_SET_HEADER_LEN + p.body_len() {
            return Err(MkpduError::ParamSetTruncated {
                set_type: p.set_type(),
                offset: 0,
            });
        }
        Ok(p)
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Octet 1: the Parameter Set Type (the MKA Version in the Basic Parameter Set).
    pub fn set_type(&self) -> u8 {
        self.buffer.as_ref()[set_field::TYPE]
    }
    /// Octet 2: type-specific (Key Server Priority, AN bits, Key Server SSCI, suspension time...).
    pub fn octet2(&self) -> u8 {
        self.buffer.as_ref()[set_field::OCTET2]
    }
    /// The 4 type-specific bits of octet 3 (its high nibble), as 0..=15.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[set_field::FLAGS_LEN_HI] >> 4
    }
    /// The 12-bit Parameter Set Body Length (header and padding excluded).
    pub fn body_len(&self) -> usize {
        let b = self.buffer.as_ref();
        (((b[set_field::FLAGS_LEN_HI] & 0x0f) as usize) << 8) | b[set_field::LEN_LO] as usize
    }
    /// Header, body and padding to a 4-octet boundary.
    pub fn padded_len(&self) -> usize {
        PARAM_SET_HEADER_LEN + pad4(self.body_len())
    }
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[set_field::BODY..set_field::BODY + self.body_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ParamSetPacket<T> {
    /// Writes the whole header. `flags` is 4 bits, `body_len` 12 bits (both masked).
    pub fn set_header(&mut self, set_type: u8, octet2: u8, flags: u8, body_len: usize) {
        let b = self.buffer.as_mut();
        b[set_field::TYPE] = set_type;
        b[set_field::OCTET2] = octet2;
        b[set_field::FLAGS_LEN_HI] = (flags << 4) | ((body_len >> 8) as u8 & 0x0f);
        b[set_field::LEN_LO] = body_len as u8;
    }
    pub fn body_mut(&mut self) -> &mut [u8] {
        let n = self.body_len();
        &mut self.buffer.as_mut()[set_field::BODY..set_field::BODY + n]
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{captured_mkpdu, emit_set, parse_set};
    use super::super::{set_type, EmitError, ParamSet, UnknownParamSet, ICV_LEN};
    use super::*;

    #[test]
    fn header_octets() {
        let mut buf = [0xffu8; 8];
        let mut p = ParamSetPacket::new_unchecked(&mut buf[..]);
        // type 42, octet 2 0x5a, flags 0xa, body length 0x123.
        p.set_header(42, 0x5a, 0xa, 0x123);
        assert_eq!(p.into_inner()[..4], [0x2a, 0x5a, 0xa1, 0x23]);
        // Flags and length are masked to 4 and 12 bits.
        let mut p = ParamSetPacket::new_unchecked(&mut buf[..]);
        p.set_header(1, 0, 0, 0x1234);
        assert_eq!(p.into_inner()[..4], [0x01, 0x00, 0x02, 0x34]);
        let mut p = ParamSetPacket::new_unchecked(&mut buf[..]);
        p.set_header(1, 0, 0x1f, 0x0234);
        assert_eq!(p.into_inner()[..4], [0x01, 0x00, 0xf2, 0x34]);

        let bytes = [0x2a, 0x5a, 0xa0, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
        let p = ParamSetPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            (p.set_type(), p.octet2(), p.flags(), p.body_len(), p.padded_len()),
            (42, 0x5a, 0xa, 5, 12)
        );
        assert_eq!(p.body(), [1, 2, 3, 4, 5]);
        // The padding need not be present for the view.
        assert!(ParamSetPacket::new_checked(&bytes[..9]).is_ok());
        let mut bytes = bytes;
        let mut p = ParamSetPacket::new_unchecked(&mut bytes[..]);
        p.body_mut().copy_from_slice(&[9; 5]);
        assert_eq!(bytes, [0x2a, 0x5a, 0xa0, 0x05, 9, 9, 9, 9, 9, 0, 0, 0]);
    }

    #[test]
    fn truncated_sets() {
        let t = |set_type| Some(MkpduError::ParamSetTruncated { set_type, offset: 0 });
        assert_eq!(ParamSetPacket::new_checked(&[][..]).err(), t(0));
        assert_eq!(ParamSetPacket::new_checked(&[7u8, 0, 0][..]).err(), t(7));
        assert_eq!(
            ParamSetPacket::new_checked(&[1u8, 0, 0, 16, 0, 0, 0, 0][..]).err(),
            t(1)
        );
        assert_eq!(ParamSetPacket::new_checked(&[3u8, 0, 0x01, 0x00][..]).err(), t(3));
    }

    #[test]
    fn unknown_and_kmd_sets() {
        // An unknown type keeps octet 2, the flags and the body, and re-emits them exactly.
        let bytes = [0x2a, 0x5a, 0xa0, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
        let unknown = ParamSet::Unknown(UnknownParamSet {
            set_type: 42,
            octet2: 0x5a,
            flags: 0xa,
            body: vec![1, 2, 3, 4, 5],
        });
        assert_eq!(parse_set(&bytes), Ok(unknown.clone()));
        assert_eq!(emit_set(&unknown), bytes);
        #[rustfmt::skip]
        let kmd_bytes = [
            0x06, 0x00, 0x00, 0x0b,                 // KMD, body length 11
            b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'n', b'e', b't',
            0x00,                                   // padding
        ];
        let kmd = ParamSet::Kmd(b"example.net".to_vec());
        assert_eq!(parse_set(&kmd_bytes), Ok(kmd.clone()));
        assert_eq!(emit_set(&kmd), kmd_bytes);
        // An ICV Indicator is never a parameter set of the list.
        assert_eq!(
            parse_set(&[255, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(MkpduError::MisplacedIcvIndicator { offset: 0 })
        );
    }

    #[test]
    fn emit_errors() {
        let unknown = |set_type, flags| {
            ParamSet::Unknown(UnknownParamSet {
                set_type,
                octet2: 0,
                flags,
                body: vec![],
            })
            .emit(&mut [0; 4])
        };
        assert_eq!(
            unknown(set_type::XPN, 0),
            Err(EmitError::Invalid(
                "UnknownParamSet with a known parameter set type"
            ))
        );
        assert_eq!(
            unknown(42, 0x10),
            Err(EmitError::Invalid("UnknownParamSet flags above 4 bits"))
        );
        assert_eq!(unknown(42, 0xf), Ok(4));
        assert_eq!(
            ParamSet::Kmd(vec![0; MAX_BODY_LEN + 1]).emit(&mut [0; 8192]),
            Err(EmitError::BodyTooLong {
                set_type: set_type::KMD,
                len: 4096
            })
        );
        assert_eq!(
            ParamSet::Kmd(vec![0; MAX_BODY_LEN]).emit(&mut [0; 8192]),
            Ok(4 + 4096)
        );
        assert_eq!(
            ParamSet::Kmd(vec![0; 5]).emit(&mut [0; 11]),
            Err(EmitError::BufferTooShort { len: 11, need: 12 })
        );
    }

    #[test]
    fn matches_wpa_supplicant_capture() {
        // Frame 4 of wpa_mka.pcap, walked set by set: (type, octet 2, flags, body length, padded).
        let mkpdu = captured_mkpdu(4);
        let mut headers = Vec::new();
        let mut off = 0;
        while off < mkpdu.len() - ICV_LEN {
            let p = ParamSetPacket::new_checked(&mkpdu[off..mkpdu.len() - ICV_LEN]).unwrap();
            headers.push((p.set_type(), p.octet2(), p.flags(), p.body_len(), p.padded_len()));
            off += p.padded_len();
        }
        assert_eq!(off, mkpdu.len() - ICV_LEN);
        assert_eq!(
            headers,
            [
                (1, 0x20, 0x6, 60, 64), // Basic: version 1, priority 32, MACsec Desired, capability 2
                (1, 0x00, 0x0, 16, 20), // Live Peer List, one entry
                (3, 0x10, 0x0, 40, 44), // MACsec SAK Use, Latest Key rx
            ]
        );
        assert_eq!(mkpdu[..4], [0x01, 0x20, 0x60, 0x3c]);
        assert_eq!(mkpdu[64..68], [0x01, 0x00, 0x00, 0x10]);
        assert_eq!(mkpdu[84..88], [0x03, 0x10, 0x00, 0x28]);
    }
}
