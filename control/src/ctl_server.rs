//! macsecd's own socket, for macsecctl: one JSON request line in (`{"show":"mka-session"}`,
//! `{"commit":true}`), one JSON document out, then the connection closes.
//!
//! Hardened with `ipc::sock`: a checked socket directory, a private bind, SO_PEERCRED on accept
//! (root, our euid, the `--socket-group`), at most [`ipc::sock::MAX_CONNECTIONS`] clients at once
//! (a thread each), a request line of at most [`MAX_REQUEST`] octets that must arrive within
//! [`REQUEST_TIMEOUT`] (else an error reply and close), and replies that must be taken within
//! [`REPLY_TIMEOUT`].

use ipc::sock::{Access, Gate, SockCounters, SockError, Verdict};
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest request line, in octets (without its newline).
pub const MAX_REQUEST: usize = 64 * 1024;
/// A client's whole request line must arrive within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Each write of the reply must complete within this.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Answers one parsed request.
pub type Handler = Arc<dyn Fn(&serde_json::Value) -> serde_json::Value + Send + Sync>;

/// Binds macsecd's socket at `path` (see [`ipc::sock::bind_private`]).
pub fn bind(path: &Path, access: &Access) -> Result<UnixListener, SockError> {
    ipc::sock::bind_private(path, access, |p| UnixListener::bind(p))
}

/// Serves `listener` until `stop` is set, a thread per admitted connection.
pub fn serve(
    listener: UnixListener,
    access: Access,
    counters: Arc<SockCounters>,
    handler: Handler,
    stop: Arc<AtomicBool>,
) {
    let gate = Gate::new(access, ipc::sock::MAX_CONNECTIONS, counters);
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::Relaxed) {
        let conn = match listener.accept() {
            Ok((conn, _)) => conn,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let slot = match gate.check(ipc::sock::stream_peer(&conn)) {
            Verdict::Admit(slot) => slot,
            Verdict::OverCap => continue,
            Verdict::Refused { uid, first } => {
                if first {
                    tracing::warn!(
                        "control socket: refused a peer (uid {}): only root, uid {} and the socket \
                         group may connect; further refusals of this uid are only counted",
                        uid.map_or("unknown".to_string(), |u| u.to_string()),
                        ipc::sock::euid()
                    );
                }
                continue;
            }
        };
        let handler = handler.clone();
        let _ = std::thread::Builder::new()
            .name("ctl-client".into())
            .spawn(move || {
                serve_one(conn, &handler);
                drop(slot);
            });
    }
}

/// Why a request line was not read.
enum BadRequest {
    TooLong,
    Timeout,
    Io,
}

/// Reads one request line (up to a newline or EOF) within [`REQUEST_TIMEOUT`] and [`MAX_REQUEST`].
fn read_request(conn: &mut UnixStream) -> Result<Vec<u8>, BadRequest> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.set_read_timeout(Some(left)).is_err() {
            return Err(BadRequest::Timeout);
        }
        let n = match conn.read(&mut chunk) {
            Ok(0) => return Ok(line),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(BadRequest::Timeout)
            }
            Err(_) => return Err(BadRequest::Io),
        };
        let end = chunk[..n].iter().position(|&b| b == b'\n');
        line.extend_from_slice(&chunk[..end.unwrap_or(n)]);
        if line.len() > MAX_REQUEST {
            return Err(BadRequest::TooLong);
        }
        if end.is_some() {
            return Ok(line);
        }
    }
}

fn serve_one(mut conn: UnixStream, handler: &Handler) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_write_timeout(Some(REPLY_TIMEOUT));
    let reply = match read_request(&mut conn) {
        Ok(line) => match serde_json::from_slice::<serde_json::Value>(&line) {
            Ok(req) => handler(&req),
            Err(e) => serde_json::json!({ "error": format!("bad request: {e}") }),
        },
        Err(BadRequest::TooLong) => {
            serde_json::json!({ "error": format!("request longer than {MAX_REQUEST} octets") })
        }
        Err(BadRequest::Timeout) => serde_json::json!({
            "error": format!("no complete request within {} s", REQUEST_TIMEOUT.as_secs())
        }),
        Err(BadRequest::Io) => return,
    };
    let _ = conn.write_all(reply.to_string().as_bytes());
    let _ = conn.shutdown(std::net::Shutdown::Both);
}
