//! A blocking client of the dataplane's control socket (macsecd, macsecctl and tests).

use crate::{decode, encode, Event, Request, Response, MAX_MESSAGE};
use std::io;
use std::path::Path;
use std::time::Duration;
use uds::UnixSeqpacketConn;

/// A blocking client of the control socket (for macsecd, macsecctl and tests).
pub struct Client {
    conn: UnixSeqpacketConn,
    next_id: u32,
    buf: Vec<u8>,
    /// Events that arrived while waiting for a response.
    pub pending_events: Vec<Event>,
}

impl Client {
    pub fn connect(path: &Path) -> io::Result<Client> {
        Ok(Client {
            conn: UnixSeqpacketConn::connect(path)?,
            next_id: 1,
            buf: vec![0u8; MAX_MESSAGE + 1],
            pending_events: Vec::new(),
        })
    }

    /// Sends raw bytes (tests of malformed input) and returns the raw reply.
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<Vec<u8>> {
        self.conn.send(bytes)?;
        let n = self.conn.recv(&mut self.buf)?;
        Ok(self.buf[..n].to_vec())
    }

    pub fn request(&mut self, req: &Request) -> io::Result<Response> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let bytes = encode(id, req).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.conn.send(&bytes)?;
        loop {
            let n = self.conn.recv(&mut self.buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the dataplane closed the connection",
                ));
            }
            let env = decode::<Response>(&self.buf[..n])
                .map_err(|(_, e)| io::Error::new(io::ErrorKind::InvalidData, e))?;
            match env.body {
                Response::Event(ev) if env.id == 0 => self.pending_events.push(ev),
                body if env.id == id => return Ok(body),
                _ => {}
            }
        }
    }

    /// Waits up to `timeout` for the next event.
    pub fn next_event(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        if !self.pending_events.is_empty() {
            return Ok(Some(self.pending_events.remove(0)));
        }
        self.conn.set_read_timeout(Some(timeout))?;
        let r = self.conn.recv(&mut self.buf);
        self.conn.set_read_timeout(None)?;
        match r {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the dataplane closed the connection",
            )),
            Ok(n) => match decode::<Response>(&self.buf[..n]) {
                Ok(env) => Ok(match env.body {
                    Response::Event(ev) => Some(ev),
                    _ => None,
                }),
                Err((_, e)) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            },
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
