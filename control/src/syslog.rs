//! macsecd's events to a syslog daemon as RFC 5424 messages over a Unix datagram socket
//! (`macsecd --syslog [SOCKET]`, default `/dev/log`), one datagram per [`LogEvent`], in addition to
//! stderr:
//!
//! ```text
//! <189>1 2026-12-06T09:31:30.123456Z ncs540-a macsecd 4242 L2-MKA-5-SESSION_SECURED - %L2-MKA-5-SESSION_SECURED : (TenGigE0/0/0/1) MKA session secured, CKN:...
//! ```
//!
//! - PRI: facility local7 (23), IOS XR's default logging facility, so a collector files the
//!   appliance's lines with the routers'; severity: the event's (the mnemonic's digit).
//! - TIMESTAMP: UTC, microseconds. HOSTNAME: the kernel's host name. APP-NAME `macsecd`, PROCID
//!   its pid.
//! - MSGID: the mnemonic (`L2-MKA-5-SESSION_SECURED`, `MACSECD-3-DATAPLANE_LOST`), cut to the 32
//!   characters RFC 5424 allows (two of the guide's are longer:
//!   `L2-MKA-5-SESSION_SECURED_WITH_FALLBACK_PSK`; the message text carries the whole mnemonic).
//! - No structured data (`-`); MSG: the event's text, as on stderr.
//!
//! The socket is non-blocking: a syslog daemon that is away or behind loses messages (counted)
//! rather than stalling MKA. The events are those macsecd logs after its rate limiting
//! ([`crate::log::LogLimiter`]). No event carries a secret ([`crate::log`]).

use crate::log::LogEvent;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The default socket: the local syslog daemon's (journald's or rsyslog's).
pub const DEFAULT_SOCKET: &str = "/dev/log";
/// local7.
pub const FACILITY: u8 = 23;
/// APP-NAME.
pub const APP_NAME: &str = "macsecd";
/// RFC 5424's longest MSGID.
pub const MSGID_MAX: usize = 32;

/// A sender of RFC 5424 messages to one Unix datagram socket.
#[derive(Debug)]
pub struct Syslog {
    socket: UnixDatagram,
    path: PathBuf,
    hostname: String,
    procid: u32,
    /// Messages not delivered (no daemon, its queue full...).
    dropped: u64,
    /// The last send failed (a warning is printed once per run of failures).
    failing: bool,
}

impl Syslog {
    /// A sender to `path` as this host and process. Nothing is sent yet; the daemon need not be
    /// there (each message is addressed on its own, so a restarted daemon gets the next one).
    pub fn new(path: &Path) -> io::Result<Syslog> {
        Syslog::with_identity(path, &host_name(), std::process::id())
    }

    /// A sender with the given HOSTNAME and PROCID (tests).
    pub fn with_identity(path: &Path, hostname: &str, procid: u32) -> io::Result<Syslog> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        Ok(Syslog {
            socket,
            path: path.to_path_buf(),
            hostname: header_field(hostname, 255),
            procid,
            dropped: 0,
            failing: false,
        })
    }

    /// The message of `ev` at `now`.
    pub fn message(&self, ev: &LogEvent, now: SystemTime) -> String {
        let pri = u16::from(FACILITY) * 8 + u16::from(ev.severity().min(7));
        format!(
            "<{pri}>1 {} {} {APP_NAME} {} {} - {ev}",
            timestamp(now),
            self.hostname,
            self.procid,
            header_field(&ev.mnemonic().to_string(), MSGID_MAX),
        )
    }

    /// Sends `ev` now. A failure is counted (and said once on stderr until a send succeeds
    /// again); it never blocks.
    pub fn send(&mut self, ev: &LogEvent) -> io::Result<()> {
        let msg = self.message(ev, SystemTime::now());
        match self.socket.send_to(msg.as_bytes(), &self.path) {
            Ok(_) => {
                self.failing = false;
                Ok(())
            }
            Err(e) => {
                self.dropped += 1;
                if !self.failing {
                    self.failing = true;
                    eprintln!(
                        "macsecd: warning: syslog {}: {e}; messages are dropped until it answers",
                        self.path.display()
                    );
                }
                Err(e)
            }
        }
    }

    /// Messages not delivered so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// A header field: printable US-ASCII without spaces, at most `max` characters, `-` if empty.
fn header_field(s: &str, max: usize) -> String {
    let f: String = s.chars().filter(|c| c.is_ascii_graphic()).take(max).collect();
    if f.is_empty() {
        "-".to_string()
    } else {
        f
    }
}

/// The kernel's host name (no FFI: procfs).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// RFC 5424 TIMESTAMP in UTC with microseconds: `2026-12-06T09:31:30.123456Z` (a time before
/// 1970 is written as 1970-01-01T00:00:00.000000Z).
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = crate::config::time::civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_in_utc_with_microseconds() {
        let at = |s: u64, us: u64| timestamp(UNIX_EPOCH + Duration::from_secs(s) + Duration::from_micros(us));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        // 2021-05-18 13:20:01 UTC (the guide's running-config), 2000-02-29 (a leap day),
        // 2100-03-01 (2100 is no leap year).
        assert_eq!(at(1_621_344_001, 7), "2021-05-18T13:20:01.000007Z");
        assert_eq!(at(951_782_400, 999_999), "2000-02-29T00:00:00.999999Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
        assert_eq!(at(1_798_761_599, 0), "2026-12-31T23:59:59.000000Z");
    }

    #[test]
    fn header_fields_are_printable_ascii_without_spaces() {
        assert_eq!(header_field("ncs540-a.example.net", 255), "ncs540-a.example.net");
        assert_eq!(header_field("a b\tc\u{e9}", 255), "abc");
        assert_eq!(header_field("", 255), "-");
        assert_eq!(header_field(&"x".repeat(40), MSGID_MAX).len(), 32);
    }
}
