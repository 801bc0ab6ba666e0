//! Reading text that may hold keys (a configuration with CAKs or static SAKs, a key file) into
//! memory that is wiped when dropped: the buffer is sized from the file before reading, so no
//! regrown copy of the text is left behind in freed memory.

use std::io::{self, Read};
use std::path::Path;
use zeroize::Zeroizing;

/// Reads the file at `path` (`-`: standard input) as UTF-8 text into a [`Zeroizing`] string.
pub fn read_text(path: &Path) -> io::Result<Zeroizing<String>> {
    if path.as_os_str() == "-" {
        return read_all(io::stdin().lock(), 4096);
    }
    let f = std::fs::File::open(path)?;
    let len = f.metadata().map(|m| m.len() as usize).unwrap_or(0);
    read_all(f, len + 1)
}

fn read_all(mut r: impl Read, capacity: usize) -> io::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    r.read_to_end(&mut bytes)?;
    match std::str::from_utf8(&bytes) {
        Ok(s) => {
            let mut text = Zeroizing::new(String::with_capacity(s.len()));
            text.push_str(s);
            Ok(text)
        }
        Err(_) => Err(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_file_and_refuses_binary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, "00112233\n").unwrap();
        assert_eq!(read_text(&p).unwrap().as_str(), "00112233\n");
        std::fs::write(&p, [0xffu8, 0xfe]).unwrap();
        assert_eq!(read_text(&p).unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            read_text(&dir.path().join("missing")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
