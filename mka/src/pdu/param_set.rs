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
