//! A blocking client of the dataplane's control socket (macsecd, macsecctl and tests).

use crate::{encode, Event, MessageBuf, Request, Response};
use std::io;
use std::path::Path;
use std::time::Duration;
use uds::UnixSeqpacketConn;

/// A blocking client of the control socket (for macsecd, macsecctl and tests).
pub struct Client {
    conn: UnixSeqpacketConn,
    next_id: u32,
    /// Wiped once each message is decoded ([`MessageBuf`]).
    buf: MessageBuf,
    /// Events that arrived while waiting for a response.
    pub pending_events: Vec<Event>,
}

impl Client {
    pub fn connect(path: &Path) -> io::Result<Client> {
        Ok(Client::on(UnixSeqpacketConn::connect(path)?))
    }

    fn on(conn: UnixSeqpacketConn) -> Client {
        Client {
            conn,
            next_id: 1,
            buf: MessageBuf::new(),
            pending_events: Vec::new(),
        }
    }

    /// Sends raw bytes (tests of malformed input) and returns the raw reply.
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<Vec<u8>> {
        self.conn.send(bytes)?;
        let n = self.conn.recv(&mut self.buf)?;
        let reply = self.buf[..n].to_vec();
        zeroize::Zeroize::zeroize(&mut self.buf[..n]);
        Ok(reply)
    }

    pub fn request(&mut self, req: &Request) -> io::Result<Response> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        // Zeroizing: a request may carry a SAK.
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
            let env = self
                .buf
                .decode::<Response>(n)
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
            Ok(n) => match self.buf.decode::<Response>(n) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;

    /// A request with a SAK to a peer that answers: the peer receives the SAK, and the client's
    /// receive buffer holds nothing of the exchange afterwards.
    #[test]
    fn the_client_keeps_no_message_in_its_buffer() {
        let (a, b) = UnixSeqpacketConn::pair().unwrap();
        let peer = std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            let n = b.recv(&mut buf).unwrap();
            let env = decode::<Request>(&buf[..n]).unwrap();
            let Request::InstallTxSa { key, .. } = env.body else {
                panic!("{:?}", env.body)
            };
            b.send(
                &encode(
                    0,
                    &Response::Event(Event::PnThreshold {
                        link: "l".into(),
                        an: 1,
                        next_pn: 9,
                    }),
                )
                .unwrap(),
            )
            .unwrap();
            b.send(&encode(env.id, &Response::Ok).unwrap()).unwrap();
            key.sak.to_vec()
        });
        let mut c = Client::on(a);
        let req = crate::tests::install_with_sak_ab();
        assert!(matches!(c.request(&req).unwrap(), Response::Ok));
        assert_eq!(peer.join().unwrap(), vec![0xab; 32]);
        assert_eq!(c.pending_events.len(), 1);
        assert!(c.buf.iter().all(|&b| b == 0), "the buffer was wiped");
    }
}
