//! The reversible "type 7" obfuscation of a running-config's `key-string password ...`: two decimal
//! digits (the start offset in a fixed table), then the octets as hex, each XORed with the table.
//! It hides a key from a glance, not from anyone: treat its text as the secret itself.

use zeroize::Zeroizing;

const XLAT: &[u8] = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87";

/// The clear text of a type 7 string, or `None` if it is not one.
pub(crate) fn decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let b = text.as_bytes();
    if b.len() < 4 || !b.len().is_multiple_of(2) || !b[..2].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let seed = usize::from((b[0] - b'0') * 10 + (b[1] - b'0'));
    if seed >= XLAT.len() {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(b.len() / 2 - 1));
    for (i, pair) in b[2..].chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out.push(((hi << 4 | lo) as u8) ^ XLAT[(seed + i) % XLAT.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_vector() {
        // The classic example: "0822455D0A16" is "cisco".
        assert_eq!(
            super::decode("0822455D0A16").as_deref().map(|v| v.as_slice()),
            Some(&b"cisco"[..])
        );
        assert!(super::decode("9922455D0A16").is_none());
        assert!(super::decode("08ZZ").is_none());
        assert!(super::decode("082").is_none());
    }
}
