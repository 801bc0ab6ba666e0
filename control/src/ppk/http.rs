//! The little HTTP/1.1 that SKIP needs (GET with a JSON answer, `Connection: close`), for the
//! client ([`super::skip`]) and the KME simulator (`kme-sim`). Bodies are sized by
//! `Content-Length`; chunked transfer coding is not supported.

use std::io::{self, Read, Write};

/// The largest header block read.
pub const MAX_HEAD: usize = 16 * 1024;
/// The largest body read.
pub const MAX_BODY: usize = 256 * 1024;

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub body: Vec<u8>,
}

/// An HTTP request line (the server side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    /// The query's `name=value` pairs, percent-decoded.
    pub query: Vec<(String, String)>,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// Reads up to and including the blank line that ends the header block.
fn read_head<R: Read>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(bad("HTTP header block too long"));
        }
        match r.read(&mut b)? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    if head.is_empty() {
                        "connection closed without an answer"
                    } else {
                        "connection closed in the HTTP header"
                    },
                ))
            }
            _ => head.push(b[0]),
        }
    }
    Ok(head)
}

/// Writes `GET target HTTP/1.1` with `Host`, `Accept: application/json`, `Connection: close`.
pub fn write_get<W: Write>(w: &mut W, host: &str, target: &str) -> io::Result<()> {
    let req = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nUser-Agent: macsec-skip/1\r\nConnection: close\r\n\r\n");
    w.write_all(req.as_bytes())?;
    w.flush()
}

/// Reads a response: status line, headers, `Content-Length` body.
pub fn read_response<R: Read>(r: &mut R) -> io::Result<Response> {
    let head = read_head(r)?;
    let text = String::from_utf8(head).map_err(|_| bad("HTTP header is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad(format!("not an HTTP/1.x answer: '{status_line}'")));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad HTTP status line '{status_line}'")))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let mut length = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            if k == "content-length" {
                length = Some(
                    v.parse::<usize>()
                        .map_err(|_| bad(format!("bad Content-Length '{v}'")))?,
                );
            } else if k == "transfer-encoding" && !v.eq_ignore_ascii_case("identity") {
                return Err(bad(format!("unsupported Transfer-Encoding '{v}'")));
            }
        }
    }
    let body = match length {
        Some(n) if n > MAX_BODY => return Err(bad(format!("HTTP body of {n} octets is too long"))),
        Some(n) => {
            let mut body = vec![0u8; n];
            r.read_exact(&mut body)?;
            body
        }
        None => {
            let mut body = Vec::new();
            r.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
            if body.len() > MAX_BODY {
                return Err(bad("HTTP body too long"));
            }
            body
        }
    };
    Ok(Response { status, reason, body })
}

/// Reads a request's head (GET requests have no body).
pub fn read_request<R: Read>(r: &mut R) -> io::Result<Request> {
    let head = read_head(r)?;
    let text = String::from_utf8(head).map_err(|_| bad("HTTP header is not UTF-8"))?;
    let line = text.split("\r\n").next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) if v.starts_with("HTTP/1.") => (m, t, v),
        _ => return Err(bad(format!("bad request line '{line}'"))),
    };
    let _ = version;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    Ok(Request {
        method: method.to_string(),
        path: percent_decode(path),
        query,
    })
}

/// Writes a response with a JSON body and `Connection: close`.
pub fn write_response<W: Write>(w: &mut W, status: u16, reason: &str, json_body: &str) -> io::Result<()> {
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json_body}",
        json_body.len()
    );
    w.write_all(resp.as_bytes())?;
    w.flush()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (an invalid escape is kept as it is).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_round_trip() {
        let mut buf = Vec::new();
        write_response(&mut buf, 400, "Bad Request", "{\"error\":\"x\"}").unwrap();
        let r = read_response(&mut &buf[..]).unwrap();
        assert_eq!(
            r,
            Response {
                status: 400,
                reason: "Bad Request".to_string(),
                body: b"{\"error\":\"x\"}".to_vec()
            }
        );
    }

    #[test]
    fn request_query() {
        let mut buf = Vec::new();
        write_get(&mut buf, "kme", "/key/ab%2Dc?remoteSystemID=Bob%20B&size=256").unwrap();
        let r = read_request(&mut &buf[..]).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/key/ab-c");
        assert_eq!(r.param("remoteSystemID"), Some("Bob B"));
        assert_eq!(r.param("size"), Some("256"));
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
