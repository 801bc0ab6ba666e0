//! System-test plumbing (root only): network namespaces and veth pairs that remove themselves,
//! child processes that are stopped when dropped (SIGINT, then SIGKILL), commands run inside a
//! namespace, and a SIGINT/SIGTERM flag so a run can end through its destructors.

use std::io;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM only set [`interrupted`]: the caller unwinds through its
/// guards, which remove what it made.
#[allow(unsafe_code)]
pub fn catch_signals() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Sleeps `d`, or less when interrupted; `Err` then.
pub fn sleep(d: Duration) -> io::Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if interrupted() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    Ok(())
}

/// Polls `f` every `every` until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end || interrupted() {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Runs a command to completion; a non-zero exit is an error naming the command.
pub fn run(cmd: &mut Command) -> io::Result<String> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip(args: &[&str]) -> io::Result<()> {
    run(Command::new("ip").args(args)).map(|_| ())
}

/// A network namespace, deleted on drop (with the veth ends inside it).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> io::Result<Netns> {
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", name])?;
        let ns = Netns {
            name: name.to_string(),
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// `ip -n NS ARGS...`
    pub fn ip(&self, args: &[&str]) -> io::Result<()> {
        let mut a = vec!["-n", self.name.as_str()];
        a.extend_from_slice(args);
        ip(&a)
    }

    /// A command run inside the namespace (`ip netns exec NS PROGRAM`, which execs PROGRAM: the
    /// child's pid is the program's).
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Turns IPv6 off on `ifname` (no router solicitations or DAD frames on test links).
    pub fn no_ipv6(&self, ifname: &str) -> io::Result<()> {
        run(self
            .cmd("sysctl")
            .args(["-qw", &format!("net.ipv6.conf.{ifname}.disable_ipv6=1")]))
        .map(|_| ())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// One end of a veth pair: its namespace, name and MAC address.
pub struct VethEnd<'a> {
    pub ns: &'a Netns,
    pub name: &'a str,
    pub mac: &'a str,
}

/// Makes a veth pair between two namespaces (or within one), with the names and MACs given,
/// IPv6 off, both ends up.
pub fn veth(a: VethEnd, b: VethEnd) -> io::Result<()> {
    let tmp_a = format!("t{}a{}", std::process::id() % 100000, a.name);
    let tmp_b = format!("t{}b{}", std::process::id() % 100000, b.name);
    let (tmp_a, tmp_b) = (&tmp_a[..tmp_a.len().min(15)], &tmp_b[..tmp_b.len().min(15)]);
    ip(&["link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b])?;
    for (end, tmp) in [(&a, tmp_a), (&b, tmp_b)] {
        ip(&["link", "set", tmp, "netns", &end.ns.name])?;
        end.ns.ip(&["link", "set", tmp, "name", end.name])?;
        end.ns.ip(&["link", "set", end.name, "address", end.mac])?;
        end.ns.no_ipv6(end.name)?;
        end.ns.ip(&["link", "set", end.name, "up"])?;
    }
    Ok(())
}

/// A child process, stopped when dropped: SIGINT, then SIGKILL after 5 s.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr to `log` (stdout to `stdout` when given).
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path, stdout: Option<&Path>) -> io::Result<Proc> {
        let err = std::fs::File::create(log)?;
        let out = match stdout {
            Some(p) => std::fs::File::create(p)?,
            None => err.try_clone()?,
        };
        let child = cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn()?;
        Ok(Proc {
            name: name.to_string(),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Sends `sig` to the child (nothing when it was never started or was stopped).
    #[allow(unsafe_code)]
    pub fn signal(&self, sig: libc::c_int) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe {
                libc::kill(pid as libc::pid_t, sig);
            }
        }
    }

    /// Still running?
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops it (SIGINT, SIGKILL after `grace`) and returns how it ended.
    pub fn stop_within(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut c = self.child.take()?;
        if let Ok(Some(st)) = c.try_wait() {
            return Some(st);
        }
        self.child = Some(c);
        self.signal(libc::SIGINT);
        let mut c = self.child.take()?;
        let end = Instant::now() + grace;
        while Instant::now() < end {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.stop_within(Duration::from_secs(5))
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}
