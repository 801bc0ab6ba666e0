//! Keeping keys out of reach: reading text that may hold keys (a configuration with CAKs or
//! static SAKs, a key file) into memory that is wiped when dropped (the buffer is sized from the
//! file before reading, so no regrown copy of the text is left behind in freed memory), and
//! keeping the process out of core files.

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

/// Keeps this process's memory out of core files and other users' reach: the core size limit
/// set to 0 and the process made not dumpable (`PR_SET_DUMPABLE` 0: no core file, and no
/// ptrace attach or /proc/PID/mem read by processes of the same uid that are not root). Every
/// binary that holds keys calls it first.
pub fn no_core_dumps() -> io::Result<()> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
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

    /// In a child process (the test runner must stay dumpable): after the call, the core limit
    /// is 0 and the process is not dumpable.
    #[test]
    fn no_core_dumps_in_a_child() {
        if std::env::var_os("IPC_NO_CORE_CHILD").is_some() {
            no_core_dumps().unwrap();
            let lim = rustix::process::getrlimit(rustix::process::Resource::Core);
            assert_eq!((lim.current, lim.maximum), (Some(0), Some(0)));
            assert_eq!(
                rustix::process::dumpable_behavior().unwrap(),
                rustix::process::DumpableBehavior::NotDumpable
            );
            return;
        }
        let me = std::env::current_exe().unwrap();
        let st = std::process::Command::new(me)
            .args([
                "--exact",
                "secret::tests::no_core_dumps_in_a_child",
                "--test-threads=1",
            ])
            .env("IPC_NO_CORE_CHILD", "1")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&st.stdout);
        assert!(st.status.success(), "{out}");
        assert!(out.contains("1 passed"), "{out}");
    }
}
