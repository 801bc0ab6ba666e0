//! The MKA key hierarchy (IEEE 802.1X-2020 6.2, 9.3, 9.8): the AES-CMAC KDF, CAK and CKN (also from
//! an EAP MSK), ICK and KEK, SAK derivation and generation. Every secret lives in a
//! [`Zeroizing`] buffer and prints as `***`.

use super::cmac::{AesCmac, TAG_LEN};
use super::keywrap::{self, KeyWrapError};
use super::rng::Rng;
use super::{Mi, MI_LEN};
use core::fmt;
use zeroize::Zeroizing;

/// KDF label of the ICK (802.1X-2020 9.3.3).
pub const LABEL_ICK: &[u8] = b"IEEE8021 ICK";
/// KDF label of the KEK (802.1X-2020 9.3.3).
pub const LABEL_KEK: &[u8] = b"IEEE8021 KEK";
/// KDF label of a derived SAK (802.1X-2020 9.8.1).
pub const LABEL_SAK: &[u8] = b"IEEE8021 SAK";
/// KDF label of the CAK from an EAP MSK (802.1X-2020 6.2.2).
pub const LABEL_EAP_CAK: &[u8] = b"IEEE8021 EAP CAK";
/// KDF label of the CKN from an EAP MSK (802.1X-2020 6.2.2).
pub const LABEL_EAP_CKN: &[u8] = b"IEEE8021 EAP CKN";

/// Octets of the CKN used as KDF context for the ICK and KEK: the CKN is truncated or zero-padded
/// to this length (802.1X-2020 9.3.3; hostap, MKAdaemon, Wireshark and the Rambus stack agree).
pub const CKN_CONTEXT_LEN: usize = 16;
/// The CKN is 1 to 32 octets.
pub const CKN_MAX_LEN: usize = 32;

/// Why key material was refused. Messages name the key, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{what} has {len} octets (expected {expected})")]
    Length {
        what: &'static str,
        len: usize,
        expected: &'static str,
    },
    #[error("{what} is not a hex string")]
    Hex { what: &'static str },
    #[error("KDF output length of {0} bits is not a non-zero multiple of 8 up to 32640")]
    KdfLength(u32),
    #[error("the operating system's random number generator failed")]
    Rng,
    #[error(transparent)]
    Wrap(#[from] KeyWrapError),
}

/// The 802.1X KDF (6.2.1; NIST SP 800-108 counter mode with AES-CMAC as the PRF):
/// `K(i) = AES-CMAC(key, [i]₁ ‖ label ‖ 0x00 ‖ context ‖ [L]₂)` for i = 1, 2, … and the output is
/// `K(1) ‖ K(2) ‖ …` truncated to `length_bits`. AES-128-CMAC for a 16-octet key, AES-256-CMAC
/// for a 32-octet key.
pub fn kdf(
    key: &[u8],
    label: &[u8],
    context: &[u8],
    length_bits: u32,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if length_bits == 0 || !length_bits.is_multiple_of(8) || length_bits > 255 * 128 {
        return Err(KeyError::KdfLength(length_bits));
    }
    let prf = AesCmac::new(key).map_err(|e| KeyError::Length {
        what: "KDF key",
        len: e.0,
        expected: "16 or 32",
    })?;
    let out_len = (length_bits / 8) as usize;
    let l = (length_bits as u16).to_be_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(out_len.next_multiple_of(TAG_LEN)));
    let mut i: u8 = 1;
    while out.len() < out_len {
        let mut m = prf.clone();
        m.update(&[i]);
        m.update(label);
        m.update(&[0]);
        m.update(context);
        m.update(&l);
        let block = Zeroizing::new(m.finalize());
        out.extend_from_slice(&block[..]);
        i = i.wrapping_add(1);
    }
    out.truncate(out_len);
    Ok(out)
}

fn check_len(what: &'static str, b: &[u8]) -> Result<(), KeyError> {
    match b.len() {
        16 | 32 => Ok(()),
        len => Err(KeyError::Length {
            what,
            len,
            expected: "16 or 32",
        }),
    }
}

/// Compares two octet strings in time that depends only on their lengths.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode_hex(what: &'static str, s: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    Ok(Zeroizing::new(
        hex::decode(s.trim()).map_err(|_| KeyError::Hex { what })?,
    ))
}

macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<Vec<u8>>);

        /// Constant-time comparison.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                ct_eq(&self.0, &other.0)
            }
        }
        impl Eq for $name {}

        impl $name {
            /// Takes a copy of `bytes` (16 or 32 octets).
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
                check_len($what, bytes)?;
                Ok($name(Zeroizing::new(bytes.to_vec())))
            }
            /// Parses hex digits (16 or 32 octets). The error never repeats the input.
            pub fn from_hex(s: &str) -> Result<Self, KeyError> {
                let b = decode_hex($what, s)?;
                check_len($what, &b)?;
                Ok($name(b))
            }
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }
            /// 16 or 32.
            pub fn len(&self) -> usize {
                self.0.len()
            }
            /// Always false (a key is 16 or 32 octets); for clippy's `len_without_is_empty`.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    };
}

secret_key!(
    /// Connectivity Association Key: 128 or 256 bits, the root of the MKA key hierarchy.
    Cak, "CAK"
);
secret_key!(
    /// ICV Key: keys the AES-CMAC ICV of every MKPDU; as long as the CAK.
    Ick, "ICK"
);
secret_key!(
    /// Key Encrypting Key: AES-wraps the distributed SAK (and CAK); as long as the CAK.
    Kek, "KEK"
);
secret_key!(
    /// Secure Association Key: the MACsec data key (16 octets for GCM-AES-128/XPN-128, 32 for the
    /// 256-bit suites).
    Sak, "SAK"
);

/// Connectivity Association Key Name: 1 to 32 octets, not secret. Configured as hex (the IOS XR
/// key ID, [`crate::keychain::ckn_from_hex`]); shown as upper-case hex, as the guide does.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ckn(Vec<u8>);

impl Ckn {
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.is_empty() || bytes.len() > CKN_MAX_LEN {
            return Err(KeyError::Length {
                what: "CKN",
                len: bytes.len(),
                expected: "1 to 32",
            });
        }
        Ok(Ckn(bytes.to_vec()))
    }
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        Ckn::new(&hex::decode(s.trim()).map_err(|_| KeyError::Hex { what: "CKN" })?)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Always false (a CKN has 1 to 32 octets).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The KDF context of the ICK and KEK: the first 16 octets of the CKN, zero-padded when it is
    /// shorter (802.1X-2020 9.3.3). A 32-octet CKN (wpa_supplicant allows up to 32) is truncated.
    pub fn kdf_context(&self) -> [u8; CKN_CONTEXT_LEN] {
        let mut c = [0u8; CKN_CONTEXT_LEN];
        let n = self.0.len().min(CKN_CONTEXT_LEN);
        c[..n].copy_from_slice(&self.0[..n]);
        c
    }
}

impl fmt::Display for Ckn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(&self.0))
    }
}

impl std::str::FromStr for Ckn {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ckn::from_hex(s)
    }
}

impl fmt::Debug for Ckn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ckn({self})")
    }
}

fn derive(cak: &Cak, label: &[u8], context: &[u8], octets: usize) -> Zeroizing<Vec<u8>> {
    // Key and output lengths are checked by construction, so the KDF cannot fail here.
    match kdf(cak.as_bytes(), label, context, (octets * 8) as u32) {
        Ok(k) => k,
        Err(e) => unreachable!("KDF with a checked CAK: {e}"),
    }
}

impl Ick {
    /// ICK = KDF(CAK, "IEEE8021 ICK", CKN[0..16], |CAK|) (802.1X-2020 9.3.3).
    pub fn derive(cak: &Cak, ckn: &Ckn) -> Ick {
        Ick(derive(cak, LABEL_ICK, &ckn.kdf_context(), cak.len()))
    }
    /// An AES-CMAC under this ICK (AES-256-CMAC for a 256-bit ICK; the ICV is 16 octets either way).
    pub fn cmac(&self) -> AesCmac {
        match AesCmac::new(self.as_bytes()) {
            Ok(m) => m,
            Err(e) => unreachable!("ICK length is checked: {e}"),
        }
    }
}

impl Kek {
    /// KEK = KDF(CAK, "IEEE8021 KEK", CKN[0..16], |CAK|) (802.1X-2020 9.3.3).
    pub fn derive(cak: &Cak, ckn: &Ckn) -> Kek {
        Kek(derive(cak, LABEL_KEK, &ckn.kdf_context(), cak.len()))
    }
    /// AES Key Wrap of the SAK: 24 octets for a 128-bit SAK, 40 for a 256-bit one.
    pub fn wrap_sak(&self, sak: &Sak) -> Vec<u8> {
        match keywrap::wrap(self.as_bytes(), sak.as_bytes()) {
            Ok(w) => w,
            Err(e) => unreachable!("KEK and SAK lengths are checked: {e}"),
        }
    }
    /// Unwraps a Distributed SAK's key (24 or 40 octets) and checks its integrity.
    pub fn unwrap_sak(&self, wrapped: &[u8]) -> Result<Sak, KeyError> {
        let k = keywrap::unwrap(self.as_bytes(), wrapped)?;
        check_len("unwrapped SAK", &k)?;
        Ok(Sak(k))
    }
    /// AES Key Wrap of a (128-bit) CAK, for the Distributed CAK parameter set.
    pub fn wrap_cak(&self, cak: &Cak) -> Vec<u8> {
        match keywrap::wrap(self.as_bytes(), cak.as_bytes()) {
            Ok(w) => w,
            Err(e) => unreachable!("KEK and CAK lengths are checked: {e}"),
        }
    }
    /// Unwraps a Distributed CAK's key.
    pub fn unwrap_cak(&self, wrapped: &[u8]) -> Result<Cak, KeyError> {
        let k = keywrap::unwrap(self.as_bytes(), wrapped)?;
        check_len("unwrapped CAK", &k)?;
        Ok(Cak(k))
    }
}

impl Sak {
    /// SAK = KDF(CAK, "IEEE8021 SAK", KS-nonce ‖ MI-value list ‖ KN, SAK length) (802.1X-2020
    /// 9.8.1), KN as 4 octets big-endian. The nonce should be as long as the SAK and fresh from a
    /// CSPRNG (see [`Rng`]). Receivers never re-derive a SAK (it is distributed wrapped),
    /// so the MI list's content and order are the key server's choice.
    pub fn derive(
        cak: &Cak,
        ks_nonce: &[u8],
        mi_list: &[Mi],
        kn: u32,
        sak_len: usize,
    ) -> Result<Sak, KeyError> {
        let mut context = Zeroizing::new(Vec::with_capacity(ks_nonce.len() + mi_list.len() * MI_LEN + 4));
        context.extend_from_slice(ks_nonce);
        for mi in mi_list {
            context.extend_from_slice(&mi.0);
        }
        context.extend_from_slice(&kn.to_be_bytes());
        Sak::derive_with_context(cak, &context, sak_len)
    }
    /// SAK = KDF(CAK, "IEEE8021 SAK", context, SAK length) with an opaque context.
    pub fn derive_with_context(cak: &Cak, context: &[u8], sak_len: usize) -> Result<Sak, KeyError> {
        check_len_usize("SAK", sak_len)?;
        Ok(Sak(derive(cak, LABEL_SAK, context, sak_len)))
    }
    /// A random SAK (802.1X allows one; it is distributed wrapped) from the engine's source.
    pub fn generate(rng: &mut Rng, sak_len: usize) -> Result<Sak, KeyError> {
        check_len_usize("SAK", sak_len)?;
        let mut k = Zeroizing::new(vec![0u8; sak_len]);
        rng.fill(&mut k)?;
        Ok(Sak(k))
    }
}

fn check_len_usize(what: &'static str, len: usize) -> Result<(), KeyError> {
    match len {
        16 | 32 => Ok(()),
        len => Err(KeyError::Length {
            what,
            len,
            expected: "16 or 32",
        }),
    }
}

fn ordered_macs(a: [u8; 6], b: [u8; 6]) -> [u8; 12] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut m = [0u8; 12];
    m[..6].copy_from_slice(&lo);
    m[6..].copy_from_slice(&hi);
    m
}

fn msk_key(msk: &[u8]) -> Result<&[u8], KeyError> {
    msk.get(..16).ok_or(KeyError::Length {
        what: "MSK",
        len: msk.len(),
        expected: "at least 16",
    })
}

/// CAK = KDF(MSK[0..16], "IEEE8021 EAP CAK", MAC_lo ‖ MAC_hi, |CAK|) (802.1X-2020 6.2.2), MAC_lo
/// being the numerically lesser of the two EAP endpoints' MAC addresses (either order may be given).
pub fn cak_from_msk(msk: &[u8], mac_a: [u8; 6], mac_b: [u8; 6], cak_len: usize) -> Result<Cak, KeyError> {
    check_len_usize("CAK", cak_len)?;
    let k = kdf(
        msk_key(msk)?,
        LABEL_EAP_CAK,
        &ordered_macs(mac_a, mac_b),
        (cak_len * 8) as u32,
    )?;
    Ok(Cak(k))
}

/// CKN = KDF(MSK[0..16], "IEEE8021 EAP CKN", EAP-Session-Id ‖ MAC_lo ‖ MAC_hi, 128) (802.1X-2020 6.2.2).
pub fn ckn_from_msk(
    msk: &[u8],
    eap_session_id: &[u8],
    mac_a: [u8; 6],
    mac_b: [u8; 6],
) -> Result<Ckn, KeyError> {
    let mut context = eap_session_id.to_vec();
    context.extend_from_slice(&ordered_macs(mac_a, mac_b));
    let k = kdf(msk_key(msk)?, LABEL_EAP_CKN, &context, 128)?;
    Ckn::new(&k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_print_as_stars() {
        let cak = Cak::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(format!("{cak:?}"), "Cak(***)");
        let ckn = Ckn::from_hex("0102").unwrap();
        assert_eq!(format!("{:?}", Ick::derive(&cak, &ckn)), "Ick(***)");
        assert_eq!(format!("{:?}", Kek::derive(&cak, &ckn)), "Kek(***)");
        assert_eq!(
            format!("{:?}", Sak::generate(&mut crate::rng::Rng::os(), 32).unwrap()),
            "Sak(***)"
        );
        let e = Cak::from_hex("00112233445566778899aabbccddeeffzz")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("0011"), "{e}");
    }

    #[test]
    fn ckn_context_pads_and_truncates() {
        assert_eq!(
            Ckn::from_hex("31323334").unwrap().kdf_context()[..6],
            [0x31, 0x32, 0x33, 0x34, 0, 0]
        );
        let long: Vec<u8> = (1..=32).collect();
        assert_eq!(
            Ckn::new(&long).unwrap().kdf_context().to_vec(),
            long[..16].to_vec()
        );
        assert!(Ckn::new(&[]).is_err());
        assert!(Ckn::new(&[0; 33]).is_err());
    }

    #[test]
    fn generated_saks_differ() {
        let mut rng = Rng::os();
        let a = Sak::generate(&mut rng, 16).unwrap();
        let b = Sak::generate(&mut rng, 16).unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert!(Sak::generate(&mut rng, 24).is_err());
        // Seeded: the same seed gives the same SAK.
        let seed = crate::rng::RngSeed::from_u64(3);
        let c = Sak::generate(&mut Rng::seeded(&seed), 32).unwrap();
        let d = Sak::generate(&mut Rng::seeded(&seed), 32).unwrap();
        assert_eq!(c.as_bytes(), d.as_bytes());
    }
}
