//! The SKIP client (draft-cisco-skip): `GET /capabilities`, `GET /key?remoteSystemID=&size=`,
//! `GET /key/{keyId}?remoteSystemID=`, `GET /entropy?minentropy=`, JSON with hex values, over
//! TLS 1.3 only (rustls, ring provider) with the KME's CA as the trust point. Each call is one
//! transaction of up to `1 + retries` attempts; connection, I/O and timeout failures and HTTP 5xx
//! are retried, certificate failures and HTTP 4xx are not.
//!
//! Counters and the last transaction are kept in `STATE_DIR/skip/PROFILE.stats.json` (read,
//! updated and written back after every transaction), so `macsecctl show crypto sks profile all
//! stats` shows the daemon's traffic too.

use super::http::{self, percent_encode};
use super::sks::{check_name, write_file};
use super::{default_trust_point, KeyId, Ppk, PpkError, PpkSource, SourceOptions, PPK_LEN};
use crate::config::{Host, ServerAddress, SksProfile};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroizing;

/// The kinds of SKIP transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxType {
    Capability,
    Key,
    KeyId,
    Entropy,
}

impl TxType {
    /// As the guide's "Transaction type" prints it.
    pub fn label(self) -> &'static str {
        match self {
            TxType::Capability => "Get capability",
            TxType::Key => "Get key",
            TxType::KeyId => "Get key by id",
            TxType::Entropy => "Get entropy",
        }
    }
}

/// The counters and the last transaction of one profile's SKIP client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SkipStats {
    /// "connected" after an answer from the KME, "disconnected" after a failed connection.
    pub status: String,
    pub capability_request: u64,
    pub key_request: u64,
    pub key_id_request: u64,
    pub entropy_request: u64,
    pub capability_response: u64,
    pub key_response: u64,
    pub key_id_response: u64,
    pub entropy_response: u64,
    /// Attempts made (every retry is a request).
    pub total_request: u64,
    /// Attempts that got no HTTP answer (connection, TLS, I/O, timeout).
    pub request_failed: u64,
    /// Attempts that got an HTTP answer.
    pub request_success: u64,
    pub total_response: u64,
    /// Answers that were not 2xx with a valid body.
    pub response_failed: u64,
    pub response_success: u64,
    pub retry_count: u64,
    pub response_ignored: u64,
    pub cancelled_count: u64,
    pub max_time_ms: u64,
    pub min_time_ms: u64,
    pub total_time_ms: u64,
    pub last_transaction_id: u64,
    pub last_transaction_type: String,
    pub last_transaction_status: String,
    /// e.g. "200 OK (200)"; empty when no HTTP answer.
    pub last_http_code: String,
    /// From the last `GET /capabilities`.
    pub local_system_id: String,
    pub remote_system_ids: Vec<String>,
    pub entropy: bool,
    pub key: bool,
}

impl SkipStats {
    pub fn avg_time_ms(&self) -> u64 {
        self.total_time_ms.checked_div(self.total_response).unwrap_or(0)
    }
    fn record_time(&mut self, ms: u64) {
        if self.total_response == 1 || ms < self.min_time_ms {
            self.min_time_ms = ms;
        }
        self.max_time_ms = self.max_time_ms.max(ms);
        self.total_time_ms += ms;
    }
}

/// Where a profile's SKIP counters are kept.
pub fn stats_path(state_dir: &Path, profile: &str) -> PathBuf {
    state_dir.join("skip").join(format!("{profile}.stats.json"))
}

/// A profile's counters (zero if none were written yet).
pub fn load_stats(state_dir: &Path, profile: &str) -> SkipStats {
    std::fs::read(stats_path(state_dir, profile))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| SkipStats {
            status: "not contacted".to_string(),
            ..SkipStats::default()
        })
}

/// `GET /capabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Capabilities {
    #[serde(default)]
    pub entity: String,
    #[serde(default)]
    pub version: String,
    #[serde(rename = "localSystemID")]
    pub local_system_id: String,
    #[serde(rename = "remoteSystemID", default)]
    pub remote_system_ids: Vec<String>,
}

#[derive(Deserialize)]
struct KeyAnswer {
    #[serde(rename = "keyId")]
    key_id: String,
    key: Zeroizing<String>,
}

#[derive(Deserialize)]
struct EntropyAnswer {
    #[serde(rename = "randomStr")]
    random_str: Zeroizing<String>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
}

/// A SKIP client for one KME.
pub struct SkipClient {
    profile: String,
    server: ServerAddress,
    proxy: Option<ServerAddress>,
    /// `source interface NAME`: the connections leave through this (Linux) interface.
    source_interface: Option<String>,
    tls: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
    opts: SourceOptions,
    state_dir: PathBuf,
}

/// `host:port` (IPv6 in brackets).
pub fn authority(a: &ServerAddress) -> String {
    match &a.host {
        Host::Ipv4(ip) => format!("{ip}:{}", a.port),
        Host::Ipv6(ip) => format!("[{ip}]:{}", a.port),
        Host::Name(n) => format!("{n}:{}", a.port),
    }
}

/// A TLS 1.3-only client configuration trusting the CA certificates in the PEM file `ca`.
pub fn tls_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, PpkError> {
    let bad = |why: String| PpkError::TrustPoint {
        path: ca.to_path_buf(),
        why,
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))?;
    for c in certs {
        let c = c.map_err(|e| bad(e.to_string()))?;
        roots.add(c).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".to_string()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

enum AttemptError {
    /// Worth another attempt.
    Retry(String),
    /// Not worth another attempt (certificate refused, ...).
    Fatal(String),
}

impl SkipClient {
    /// A client for a `type remote` profile; reads the trust point.
    pub fn new(profile: &SksProfile, state_dir: &Path, opts: &SourceOptions) -> Result<SkipClient, PpkError> {
        check_name("sks profile name", &profile.name)?;
        let server = profile.kme_server.clone().ok_or_else(|| PpkError::Profile {
            profile: profile.name.clone(),
            why: "no kme server configured (kme server ipv4|ipv6|hostname ADDRESS port PORT)".to_string(),
        })?;
        let ca = opts
            .trust_point
            .clone()
            .unwrap_or_else(|| default_trust_point(state_dir, &profile.name));
        let tls = tls_config(&ca)?;
        let server_name = match &server.host {
            Host::Ipv4(ip) => ServerName::IpAddress(std::net::IpAddr::V4(*ip).into()),
            Host::Ipv6(ip) => ServerName::IpAddress(std::net::IpAddr::V6(*ip).into()),
            Host::Name(n) => ServerName::try_from(n.clone()).map_err(|_| PpkError::Profile {
                profile: profile.name.clone(),
                why: format!("'{n}' is not a valid host name"),
            })?,
        };
        Ok(SkipClient {
            profile: profile.name.clone(),
            server,
            proxy: profile.http_proxy.clone(),
            source_interface: profile.source_interface.clone(),
            tls,
            server_name,
            opts: opts.clone(),
            state_dir: state_dir.to_path_buf(),
        })
    }

    pub fn server(&self) -> String {
        authority(&self.server)
    }

    fn kme_err(&self, why: String) -> PpkError {
        PpkError::Kme {
            server: self.server(),
            why,
        }
    }

    fn connect(&self) -> Result<TcpStream, AttemptError> {
        let via = self.proxy.as_ref().unwrap_or(&self.server);
        let target = authority(via);
        let addrs: Vec<SocketAddr> = target
            .to_socket_addrs()
            .map_err(|e| AttemptError::Retry(format!("cannot resolve {target}: {e}")))?
            .collect();
        let mut last = format!("{target} has no address");
        let mut tcp = None;
        for a in addrs {
            match self.connect_to(a) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e @ AttemptError::Fatal(_)) => return Err(e),
                Err(AttemptError::Retry(e)) => last = e,
            }
        }
        let mut tcp = tcp.ok_or(AttemptError::Retry(last))?;
        let io = |e: std::io::Error| AttemptError::Retry(format!("{target}: {e}"));
        tcp.set_read_timeout(Some(self.opts.io_timeout)).map_err(io)?;
        tcp.set_write_timeout(Some(self.opts.io_timeout)).map_err(io)?;
        let _ = tcp.set_nodelay(true);
        if self.proxy.is_some() {
            let auth = self.server();
            tcp.write_all(format!("CONNECT {auth} HTTP/1.1\r\nHost: {auth}\r\n\r\n").as_bytes())
                .map_err(io)?;
            // The proxy's answer has no body worth reading for CONNECT.
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if head.len() > http::MAX_HEAD || tcp.read(&mut b).map_err(io)? == 0 {
                    return Err(AttemptError::Retry(format!(
                        "HTTP proxy {target} closed the connection"
                    )));
                }
                head.push(b[0]);
            }
            let line = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            if line.split(' ').nth(1) != Some("200") {
                return Err(AttemptError::Retry(format!(
                    "HTTP proxy {target} refused CONNECT: {line}"
                )));
            }
        }
        Ok(tcp)
    }

    /// One TCP connection to `a`, bound to the `source interface` when one is configured
    /// (SO_BINDTODEVICE: routes and source address of that interface).
    fn connect_to(&self, a: SocketAddr) -> Result<TcpStream, AttemptError> {
        let Some(dev) = &self.source_interface else {
            return TcpStream::connect_timeout(&a, self.opts.connect_timeout)
                .map_err(|e| AttemptError::Retry(format!("cannot connect to {a}: {e}")));
        };
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(a),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .map_err(|e| AttemptError::Retry(format!("cannot connect to {a}: {e}")))?;
        // A missing interface or a missing privilege will not go away by retrying.
        sock.bind_device(Some(dev.as_bytes()))
            .map_err(|e| AttemptError::Fatal(format!("source interface {dev}: {e}")))?;
        sock.connect_timeout(&a.into(), self.opts.connect_timeout)
            .map_err(|e| {
                AttemptError::Retry(format!("cannot connect to {a} from source interface {dev}: {e}"))
            })?;
        Ok(sock.into())
    }

    fn attempt(&self, target: &str) -> Result<http::Response, AttemptError> {
        let tcp = self.connect()?;
        let conn = rustls::ClientConnection::new(self.tls.clone(), self.server_name.clone())
            .map_err(|e| AttemptError::Fatal(format!("TLS: {e}")))?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let classify = |e: std::io::Error| -> AttemptError {
            match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(rustls::Error::InvalidCertificate(c)) => {
                    AttemptError::Fatal(format!("the KME's certificate was refused ({c:?}): it does not chain to the trust point or does not name the server"))
                }
                Some(t) => AttemptError::Fatal(format!("TLS: {t}")),
                None if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    AttemptError::Retry(format!("no answer within {} ms", self.opts.io_timeout.as_millis()))
                }
                None => AttemptError::Retry(e.to_string()),
            }
        };
        http::write_get(&mut tls, &self.server(), target).map_err(classify)?;
        let resp = http::read_response(&mut tls).map_err(classify)?;
        tls.conn.send_close_notify();
        let _ = tls.flush();
        Ok(resp)
    }

    fn save(&self, f: impl FnOnce(&mut SkipStats)) {
        let mut st = load_stats(&self.state_dir, &self.profile);
        f(&mut st);
        let dir = self.state_dir.join("skip");
        if std::fs::create_dir_all(&dir).is_ok() {
            if let Ok(text) = serde_json::to_vec_pretty(&st) {
                // Best effort: the counters must not stop key fetches.
                let _ = write_file(&stats_path(&self.state_dir, &self.profile), &text, 0o644);
            }
        }
    }

    /// One transaction: GET `target`, retried; the 2xx body parsed by `parse`.
    fn transaction<T>(
        &mut self,
        ty: TxType,
        target: &str,
        parse: impl Fn(&[u8]) -> Result<T, AnswerError>,
    ) -> Result<T, PpkError> {
        let attempts = 1 + self.opts.retries;
        let mut last_err = String::new();
        let mut tried = 0;
        self.save(|s| {
            s.last_transaction_id += 1;
            s.last_transaction_type = ty.label().to_string();
            s.last_transaction_status = "Request sent".to_string();
            s.last_http_code.clear();
        });
        for n in 0..attempts {
            if n > 0 {
                std::thread::sleep(self.opts.retry_delay);
            }
            let started = Instant::now();
            tried += 1;
            let r = self.attempt(target);
            let ms = started.elapsed().as_millis() as u64;
            let count_req = |s: &mut SkipStats| {
                s.total_request += 1;
                if n > 0 {
                    s.retry_count += 1;
                }
                match ty {
                    TxType::Capability => s.capability_request += 1,
                    TxType::Key => s.key_request += 1,
                    TxType::KeyId => s.key_id_request += 1,
                    TxType::Entropy => s.entropy_request += 1,
                }
            };
            match r {
                Err(e) => {
                    let (why, fatal) = match e {
                        AttemptError::Retry(w) => (w, false),
                        AttemptError::Fatal(w) => (w, true),
                    };
                    self.save(|s| {
                        count_req(s);
                        s.request_failed += 1;
                        s.status = "disconnected".to_string();
                        s.last_transaction_status = format!("Request failed: {why}");
                        s.last_http_code.clear();
                    });
                    last_err = why;
                    if fatal {
                        break;
                    }
                }
                Ok(resp) => {
                    let body = Zeroizing::new(resp.body);
                    let code = format!("{} {} ({})", resp.status, resp.reason, resp.status);
                    let parsed = if (200..300).contains(&resp.status) {
                        parse(&body).map_err(|why| (false, format!("bad answer: {why}")))
                    } else {
                        let why = serde_json::from_slice::<ErrorAnswer>(&body)
                            .ok()
                            .map(|e| if e.message.is_empty() { e.error } else { e.message })
                            .filter(|w| !w.is_empty())
                            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
                        Err((resp.status >= 500, why))
                    };
                    let ok = parsed.is_ok();
                    self.save(|s| {
                        count_req(s);
                        s.request_success += 1;
                        s.total_response += 1;
                        s.status = "connected".to_string();
                        s.record_time(ms);
                        s.last_http_code = code.clone();
                        if ok {
                            s.response_success += 1;
                            match ty {
                                TxType::Capability => s.capability_response += 1,
                                TxType::Key => s.key_response += 1,
                                TxType::KeyId => s.key_id_response += 1,
                                TxType::Entropy => s.entropy_response += 1,
                            }
                            s.last_transaction_status = "Response data received, successfully".to_string();
                        } else {
                            s.response_failed += 1;
                            s.last_transaction_status = "Response received, failed".to_string();
                        }
                    });
                    match parsed {
                        Ok(v) => return Ok(v),
                        Err((retry, why)) => {
                            if !retry && (200..300).contains(&resp.status) {
                                return Err(self.kme_err(why));
                            }
                            if !retry {
                                return Err(PpkError::KmeStatus {
                                    server: self.server(),
                                    code: resp.status,
                                    why,
                                });
                            }
                            last_err = format!("HTTP {}: {why}", resp.status);
                        }
                    }
                }
            }
        }
        // A fatal error (certificate refused, no such source interface) ends after one attempt.
        Err(self.kme_err(if tried > 1 {
            format!("{last_err} (gave up after {tried} attempts)")
        } else {
            last_err
        }))
    }

    /// `GET /capabilities`.
    pub fn capabilities(&mut self) -> Result<Capabilities, PpkError> {
        let caps = self.transaction(TxType::Capability, "/capabilities", |b| {
            serde_json::from_slice::<Capabilities>(b).map_err(AnswerError::from)
        })?;
        let c = caps.clone();
        self.save(move |s| {
            s.local_system_id = c.local_system_id;
            s.remote_system_ids = c.remote_system_ids;
            s.entropy = true;
            s.key = true;
        });
        Ok(caps)
    }

    /// `GET /key?remoteSystemID=R&size=BITS`: a new (key ID, key).
    pub fn get_key(
        &mut self,
        remote: &str,
        size_bits: u32,
    ) -> Result<(String, Zeroizing<Vec<u8>>), PpkError> {
        let target = format!("/key?remoteSystemID={}&size={size_bits}", percent_encode(remote));
        self.transaction(TxType::Key, &target, |b| parse_key(b, size_bits))
    }

    /// `GET /key/{keyId}?remoteSystemID=R`: the key the remote system's KME handed out.
    pub fn get_key_by_id(
        &mut self,
        key_id: &str,
        remote: &str,
    ) -> Result<(String, Zeroizing<Vec<u8>>), PpkError> {
        let target = format!(
            "/key/{}?remoteSystemID={}",
            percent_encode(key_id),
            percent_encode(remote)
        );
        self.transaction(TxType::KeyId, &target, |b| parse_key(b, 0))
    }

    /// `GET /entropy?minentropy=BITS`: random octets.
    pub fn entropy(&mut self, min_bits: u32) -> Result<Zeroizing<Vec<u8>>, PpkError> {
        let target = format!("/entropy?minentropy={min_bits}");
        self.transaction(TxType::Entropy, &target, |b| {
            let a: EntropyAnswer = serde_json::from_slice(b)?;
            let v = Zeroizing::new(
                hex::decode(a.random_str.as_str()).map_err(|_| AnswerError::NotHex("randomStr"))?,
            );
            if v.len() * 8 < min_bits as usize {
                return Err(AnswerError::Entropy {
                    bits: v.len() * 8,
                    asked: min_bits,
                });
            }
            Ok(v)
        })
    }
}

/// Why a KME's 2xx answer is not usable (the text after `bad answer: `). Never quotes a key.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// Not the JSON object the call answers with.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A field that must be hex (`key`, `randomStr`) is not.
    #[error("{0} is not hex")]
    NotHex(&'static str),
    #[error("a {bits}-bit key, asked for {asked}")]
    KeySize { bits: usize, asked: u32 },
    #[error("{bits} bits of entropy, asked for {asked}")]
    Entropy { bits: usize, asked: u32 },
}

/// Parses a KME's `/key` answer (public for the fuzz target: it is network input).
pub fn parse_key(b: &[u8], size_bits: u32) -> Result<(String, Zeroizing<Vec<u8>>), AnswerError> {
    let a: KeyAnswer = serde_json::from_slice(b)?;
    let key = Zeroizing::new(hex::decode(a.key.as_str()).map_err(|_| AnswerError::NotHex("key"))?);
    if size_bits != 0 && key.len() * 8 != size_bits as usize {
        return Err(AnswerError::KeySize {
            bits: key.len() * 8,
            asked: size_bits,
        });
    }
    Ok((a.key_id, key))
}

/// A key ID that [`check_key_id`] refuses (its first 80 characters).
#[derive(Debug, thiserror::Error)]
#[error("key ID '{0}' is not 1 to 64 of A-Z a-z 0-9 -")]
struct BadKeyId(String);

/// A SKIP key ID usable in a URL path and as a [`KeyId`]: 1..=64 of `A-Z a-z 0-9 -`.
fn check_key_id(id: &str) -> Result<(), BadKeyId> {
    if !id.is_empty()
        && id.len() <= super::KEY_ID_MAX_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(BadKeyId(id.chars().take(80).collect()))
    }
}

/// The PPK source of a `type remote` profile.
pub struct SkipSource {
    client: SkipClient,
    /// The `remoteSystemID`: the profile's first `peer-identifier`, else the KME's first remote
    /// system from `GET /capabilities`.
    remote: Option<String>,
}

impl SkipSource {
    pub fn new(profile: &SksProfile, state_dir: &Path, opts: &SourceOptions) -> Result<SkipSource, PpkError> {
        Ok(SkipSource {
            client: SkipClient::new(profile, state_dir, opts)?,
            remote: profile.peers.first().map(|p| p.name.clone()),
        })
    }

    pub fn client(&mut self) -> &mut SkipClient {
        &mut self.client
    }

    fn remote(&mut self) -> Result<String, PpkError> {
        if let Some(r) = &self.remote {
            return Ok(r.clone());
        }
        let caps = self.client.capabilities()?;
        let r = caps.remote_system_ids.first().cloned().ok_or_else(|| {
            self.client
                .kme_err("GET /capabilities names no remote system".to_string())
        })?;
        self.remote = Some(r.clone());
        Ok(r)
    }
}

impl PpkSource for SkipSource {
    fn new_key(&mut self) -> Result<(KeyId, Ppk), PpkError> {
        let remote = self.remote()?;
        let (id, key) = self.client.get_key(&remote, (PPK_LEN * 8) as u32)?;
        check_key_id(&id).map_err(|w| self.client.kme_err(w.to_string()))?;
        Ok((KeyId::new(id.as_bytes())?, Ppk::from_bytes(&key)?))
    }

    fn key_by_id(&mut self, id: &KeyId) -> Result<Ppk, PpkError> {
        let text = id
            .as_text()
            .ok_or_else(|| PpkError::Invalid(format!("key ID {id} is not a SKIP key ID")))?
            .to_string();
        check_key_id(&text).map_err(|e| PpkError::Invalid(e.to_string()))?;
        let remote = self.remote()?;
        let (got, key) = self.client.get_key_by_id(&text, &remote)?;
        if got != text {
            return Err(self
                .client
                .kme_err(format!("asked for key {text}, got key {got}")));
        }
        Ppk::from_bytes(&key).map_err(|e| self.client.kme_err(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts after `bad answer: ` (they were `String`s before `AnswerError`).
    #[test]
    fn answer_error_texts() {
        let text = |b: &[u8], bits| parse_key(b, bits).unwrap_err().to_string();
        assert_eq!(text(br#"{"keyId":"k1","key":"zz"}"#, 0), "key is not hex");
        assert_eq!(
            text(br#"{"keyId":"k1","key":"0011"}"#, 256),
            "a 16-bit key, asked for 256"
        );
        let json = serde_json::from_slice::<KeyAnswer>(b"[")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert_eq!(text(b"[", 0), json);
        let (id, key) = parse_key(br#"{"keyId":"k1","key":"0011"}"#, 16).unwrap();
        assert_eq!((id.as_str(), &key[..]), ("k1", &[0u8, 0x11][..]));
        assert_eq!(
            AnswerError::Entropy { bits: 8, asked: 256 }.to_string(),
            "8 bits of entropy, asked for 256"
        );
        assert_eq!(
            AnswerError::NotHex("randomStr").to_string(),
            "randomStr is not hex"
        );
        assert_eq!(
            check_key_id("a b").unwrap_err().to_string(),
            "key ID 'a b' is not 1 to 64 of A-Z a-z 0-9 -"
        );
        assert!(check_key_id("abc-DEF-123").is_ok());
    }
}
