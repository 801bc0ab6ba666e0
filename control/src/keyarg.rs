//! Keys given to the command-line tools (`macsecctl pcap --sak`, `macsecctl mka decode --cak`,
//! `mka-peer --cak`). A key on the command line is readable by every local user in
//! `/proc/PID/cmdline`, so each key option has a `-file` twin (`--sak-file PATH`, `-` for
//! standard input) read into wiped memory; the value form still works, with a warning.

use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Why a key could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum KeyArgError {
    #[error("{opt}-file {}: {error}", path.display())]
    Read {
        opt: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{opt}-file {}: the file holds no key", path.display())]
    Empty { opt: &'static str, path: PathBuf },
    #[error("give {opt} or {opt}-file")]
    Missing { opt: &'static str },
}

/// The warning printed when a key comes on the command line.
pub fn command_line_warning(opt: &str) -> String {
    format!(
        "warning: {opt} on the command line is readable by other local users (/proc/PID/cmdline); use {opt}-file"
    )
}

/// The key text of option `opt` (e.g. `--sak`): from `file` (surrounding whitespace removed),
/// or from `value` with [`command_line_warning`] on standard error. Never both (clap refuses
/// that before).
pub fn key_text(
    opt: &'static str,
    value: Option<&str>,
    file: Option<&Path>,
) -> Result<Zeroizing<String>, KeyArgError> {
    match (value, file) {
        (_, Some(path)) => {
            let text = ipc::secret::read_text(path).map_err(|error| KeyArgError::Read {
                opt,
                path: path.to_path_buf(),
                error,
            })?;
            let key = text.trim();
            if key.is_empty() {
                return Err(KeyArgError::Empty {
                    opt,
                    path: path.to_path_buf(),
                });
            }
            let mut out = Zeroizing::new(String::with_capacity(key.len()));
            out.push_str(key);
            Ok(out)
        }
        (Some(v), None) => {
            eprintln!("{}", command_line_warning(opt));
            Ok(Zeroizing::new(v.to_string()))
        }
        (None, None) => Err(KeyArgError::Missing { opt }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_trimmed_and_errors_name_the_option_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sak");
        std::fs::write(&p, "  00112233\n").unwrap();
        assert_eq!(key_text("--sak", None, Some(&p)).unwrap().as_str(), "00112233");
        std::fs::write(&p, "\n").unwrap();
        assert_eq!(
            key_text("--sak", None, Some(&p)).unwrap_err().to_string(),
            format!("--sak-file {}: the file holds no key", p.display())
        );
        let missing = dir.path().join("none");
        assert_eq!(
            key_text("--cak", None, Some(&missing)).unwrap_err().to_string(),
            format!(
                "--cak-file {}: No such file or directory (os error 2)",
                missing.display()
            )
        );
        assert_eq!(key_text("--cak", Some("ab"), None).unwrap().as_str(), "ab");
        assert_eq!(
            key_text("--cak", None, None).unwrap_err().to_string(),
            "give --cak or --cak-file"
        );
    }
}
