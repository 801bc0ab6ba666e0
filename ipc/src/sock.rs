//! Hardening shared by the two control sockets (the dataplane's SEQPACKET socket and macsecd's
//! socket for macsecctl):
//!
//! - the socket's directory (default `/run/macsec`) is created with mode 0750 if missing; an
//!   existing one must not be writable by its group or others and must be owned by root or by us;
//! - the socket is bound inside a private (0700) directory, given its mode (0600, or 0660 with a
//!   socket group) and only then renamed into place, so it is never reachable with looser modes;
//! - each accepted connection passes a [`Gate`]: the peer's credentials (SO_PEERCRED) must be
//!   uid 0, our own euid, or a member of the optional socket group; at most
//!   [`MAX_CONNECTIONS`] connections are served at once. Refusals are counted.

use std::collections::BTreeSet;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use uds::ConnCredentials;

/// Connections served at once on one socket; further ones are closed at accept.
pub const MAX_CONNECTIONS: usize = 16;

/// Why a control socket cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SockError {
    #[error("socket directory {}: {error}", dir.display())]
    Dir { dir: PathBuf, error: io::Error },
    #[error("socket directory {} is not a directory", dir.display())]
    NotDir { dir: PathBuf },
    #[error(
        "socket directory {} is writable by its group or others (mode {mode:04o}); make it 0750 or stricter",
        dir.display()
    )]
    DirWritable { dir: PathBuf, mode: u32 },
    #[error("socket directory {} is owned by uid {uid}, neither root nor us (uid {euid})", dir.display())]
    DirOwner { dir: PathBuf, uid: u32, euid: u32 },
    #[error("socket {}: {error}", path.display())]
    Bind { path: PathBuf, error: io::Error },
    #[error("unknown group '{0}'")]
    UnknownGroup(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Who may connect besides root and our own euid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    /// Members of this group (the peer's egid or one of its supplementary groups) may connect;
    /// the socket is then mode 0660 with this group, else 0600.
    pub group: Option<u32>,
}

impl Access {
    /// The socket file's mode.
    pub fn socket_mode(&self) -> u32 {
        if self.group.is_some() {
            0o660
        } else {
            0o600
        }
    }
}

/// A group given as a number or a name (looked up in /etc/group).
pub fn resolve_group(group: &str) -> Result<u32, SockError> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let text = std::fs::read_to_string("/etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let gid = f.nth(1)?.parse::<u32>().ok()?;
            (name == group).then_some(gid)
        })
        .next()
        .ok_or_else(|| SockError::UnknownGroup(group.to_string()))
}

/// The credentials of a std Unix stream's peer (SO_PEERCRED).
pub fn stream_peer(conn: &std::os::unix::net::UnixStream) -> io::Result<ConnCredentials> {
    uds::UnixStreamExt::initial_peer_credentials(conn)
}

/// Our effective uid.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` (mode 0750, group `access.group`) if missing; checks that it is a directory
/// (not a symlink), not group/world-writable, and owned by root or us.
pub fn prepare_dir(dir: &Path, access: &Access) -> Result<(), SockError> {
    let derr = |error| SockError::Dir {
        dir: dir.to_path_buf(),
        error,
    };
    match std::fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(dir)
                .map_err(derr)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750)).map_err(derr)?;
            if let Some(g) = access.group {
                std::os::unix::fs::chown(dir, None, Some(g)).map_err(derr)?;
            }
        }
        Err(e) => return Err(derr(e)),
    }
    let m = std::fs::symlink_metadata(dir).map_err(derr)?;
    if !m.is_dir() {
        return Err(SockError::NotDir {
            dir: dir.to_path_buf(),
        });
    }
    let mode = m.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(SockError::DirWritable {
            dir: dir.to_path_buf(),
            mode,
        });
    }
    let me = euid();
    if m.uid() != 0 && m.uid() != me {
        return Err(SockError::DirOwner {
            dir: dir.to_path_buf(),
            uid: m.uid(),
            euid: me,
        });
    }
    Ok(())
}

/// Binds a socket at `path` with `bind` so that it is never reachable with a looser mode than
/// [`Access::socket_mode`]: checks the directory ([`prepare_dir`]), binds inside a private 0700
/// directory beside it, sets the mode (and group), then renames the socket into place (over a
/// stale one).
pub fn bind_private<L>(
    path: &Path,
    access: &Access,
    bind: impl FnOnce(&Path) -> io::Result<L>,
) -> Result<L, SockError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = dir_of(path);
    prepare_dir(dir, access)?;
    let private = dir.join(format!(
        ".tmp{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&private);
    let tmp = private.join("s");
    let result = (|| {
        std::fs::DirBuilder::new().mode(0o700).create(&private)?;
        let listener = bind(&tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(access.socket_mode()))?;
        if let Some(g) = access.group {
            std::os::unix::fs::chown(&tmp, None, Some(g))?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&private);
    result.map_err(|error| SockError::Bind {
        path: path.to_path_buf(),
        error,
    })
}

/// Counters of one socket's refusals.
#[derive(Debug, Default)]
pub struct SockCounters {
    /// Peers whose credentials the policy does not admit.
    pub refused_peers: AtomicU64,
    /// Connections closed at accept because [`MAX_CONNECTIONS`] were open.
    pub refused_over_cap: AtomicU64,
    /// Event subscribers closed because they did not keep up (the dataplane's socket).
    pub dropped_subscribers: AtomicU64,
}

/// A snapshot of [`SockCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SockStats {
    pub refused_peers: u64,
    pub refused_over_cap: u64,
    pub dropped_subscribers: u64,
}

impl SockCounters {
    pub fn snapshot(&self) -> SockStats {
        SockStats {
            refused_peers: self.refused_peers.load(Ordering::Relaxed),
            refused_over_cap: self.refused_over_cap.load(Ordering::Relaxed),
            dropped_subscribers: self.dropped_subscribers.load(Ordering::Relaxed),
        }
    }
}

/// What [`Gate::check`] says of a new connection.
#[derive(Debug)]
pub enum Verdict {
    /// Serve it; the slot is held until dropped.
    Admit(Slot),
    /// [`MAX_CONNECTIONS`] are open: close it.
    OverCap,
    /// The peer is not admitted: close it. `first` is set the first time this uid is refused
    /// (log it then only); `uid` is None when the credentials could not be read.
    Refused { uid: Option<u32>, first: bool },
}

/// One open connection's place under the cap.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The admission policy of one socket: peer credentials, then the connection cap.
#[derive(Debug)]
pub struct Gate {
    access: Access,
    euid: u32,
    max: usize,
    open: Arc<AtomicUsize>,
    counters: Arc<SockCounters>,
    logged: Mutex<BTreeSet<Option<u32>>>,
}

impl Gate {
    pub fn new(access: Access, max: usize, counters: Arc<SockCounters>) -> Gate {
        Gate {
            access,
            euid: euid(),
            max,
            open: Arc::new(AtomicUsize::new(0)),
            counters,
            logged: Mutex::new(BTreeSet::new()),
        }
    }

    /// Whether a peer with these credentials may connect.
    pub fn admits(&self, cred: &ConnCredentials) -> bool {
        let uid = cred.euid();
        if uid == 0 || uid == self.euid {
            return true;
        }
        let Some(g) = self.access.group else { return false };
        cred.egid() == Some(g)
            || cred.groups().contains(&g)
            || cred
                .pid()
                .is_some_and(|pid| supplementary_groups(pid.get(), uid).contains(&g))
    }

    /// Decides on a just-accepted connection given its peer's credentials.
    pub fn check(&self, cred: io::Result<ConnCredentials>) -> Verdict {
        let refused = match &cred {
            Ok(c) if self.admits(c) => None,
            Ok(c) => Some(Some(c.euid())),
            Err(_) => Some(None),
        };
        if let Some(uid) = refused {
            self.counters.refused_peers.fetch_add(1, Ordering::Relaxed);
            let first = self.logged.lock().unwrap_or_else(|p| p.into_inner()).insert(uid);
            return Verdict::Refused { uid, first };
        }
        let n = self.open.fetch_add(1, Ordering::AcqRel);
        if n >= self.max {
            self.open.fetch_sub(1, Ordering::AcqRel);
            self.counters.refused_over_cap.fetch_add(1, Ordering::Relaxed);
            return Verdict::OverCap;
        }
        Verdict::Admit(Slot(self.open.clone()))
    }
}

/// The supplementary groups of process `pid` (from /proc), if its effective uid is still `euid`
/// (a guard against the pid having been reused); empty otherwise.
fn supplementary_groups(pid: u32, euid: u32) -> Vec<u32> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse::<u32>().ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    if field("Uid:").get(1) != Some(&euid) {
        return Vec::new();
    }
    field("Groups:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_created_0750_and_the_socket_is_0600() {
        let base = tempfile::tempdir().unwrap();
        let path = base.path().join("run/macsec/x.sock");
        let l = bind_private(&path, &Access::default(), |p| {
            std::os::unix::net::UnixListener::bind(p)
        })
        .unwrap();
        let dir = std::fs::metadata(base.path().join("run/macsec")).unwrap();
        assert_eq!(dir.mode() & 0o7777, 0o750);
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
        // The private directory is gone; only the socket is left.
        let names: Vec<_> = std::fs::read_dir(base.path().join("run/macsec"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["x.sock"]);
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        drop(l);
        let with_group = Access { group: Some(0) };
        let path2 = base.path().join("run/macsec/y.sock");
        let _l = bind_private(&path2, &with_group, |p| std::os::unix::net::UnixListener::bind(p)).unwrap();
        assert_eq!(std::fs::metadata(&path2).unwrap().mode() & 0o7777, 0o660);
    }

    #[test]
    fn a_writable_directory_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = bind_private(&dir.join("s"), &Access::default(), |p| {
            std::os::unix::net::UnixListener::bind(p)
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "socket directory {} is writable by its group or others (mode 0777); make it 0750 or stricter",
                dir.display()
            )
        );
        assert!(!dir.join("s").exists());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        bind_private(&dir.join("s"), &Access::default(), |p| {
            std::os::unix::net::UnixListener::bind(p)
        })
        .unwrap();
    }

    #[test]
    fn the_gate_caps_connections_and_counts() {
        let counters = Arc::new(SockCounters::default());
        let gate = Gate::new(Access::default(), 2, counters.clone());
        let me = || {
            Ok(ConnCredentials::LinuxLike {
                pid: std::num::NonZeroU32::new(1).unwrap(),
                euid: euid(),
                egid: 0,
            })
        };
        let a = gate.check(me());
        let b = gate.check(me());
        assert!(matches!((&a, &b), (Verdict::Admit(_), Verdict::Admit(_))));
        assert!(matches!(gate.check(me()), Verdict::OverCap));
        drop(a);
        assert!(matches!(gate.check(me()), Verdict::Admit(_)));
        assert_eq!(counters.snapshot().refused_over_cap, 1);
    }

    #[test]
    fn groups_resolve_by_number_and_name() {
        assert_eq!(resolve_group("4242").unwrap(), 4242);
        assert_eq!(resolve_group("root").unwrap(), 0);
        assert_eq!(
            resolve_group("no-such-group-x").unwrap_err().to_string(),
            "unknown group 'no-such-group-x'"
        );
    }
}
