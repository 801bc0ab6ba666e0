//! macsecd's PPK worker threads: a port's PPK source runs on a thread of its own, and the port
//! hands the engine's PPK requests over and feeds the answers back.

use super::Port;
use crate::config::SksProfile;
use crate::log::{LogEvent, PortEvent};
use crate::ppk::{source_for, KeyId, Ppk, PpkError, PpkSource, SourceOptions};
use mka::kay::PpkRequest;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where the PPK sources keep their state, and the SKIP settings the configuration does not
/// carry (macsecd's `--state-dir`, `--trust-point`).
#[derive(Debug, Clone)]
pub struct PpkEnv {
    /// The SKS state directory (seeds, key pair, trust points, SKIP counters).
    pub state_dir: PathBuf,
    pub options: SourceOptions,
}

impl Default for PpkEnv {
    fn default() -> Self {
        PpkEnv {
            state_dir: PathBuf::from(crate::ppk::DEFAULT_STATE_DIR),
            options: SourceOptions::default(),
        }
    }
}

/// An answer of the PPK worker: the request it answers, and (key ID, PPK) or why not.
type PpkAnswer = (PpkRequest, Result<(KeyId, Ppk), PpkError>);

/// Why a PPK request could not even go to the PPK source (the engine shows and logs the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PpkUnavailable {
    #[error("the PPK worker thread stopped")]
    WorkerStopped,
    #[error("no ppk sks-profile is configured")]
    NotConfigured,
}

/// A port's PPK source on a thread of its own: the source calls may block (SKIP is HTTPS with
/// timeouts and retries), so the MKA loop only hands requests over and picks the answers up.
/// The source is built on the worker at the first request, and again at the next one as long
/// as it cannot be (a trust point or seed installed later is then used); while it cannot be,
/// every request fails with the reason.
pub(super) struct PpkWorker {
    requests: mpsc::Sender<(PpkRequest, Instant)>,
    answers: mpsc::Receiver<(PpkAnswer, Duration)>,
    /// Requests handed over and not answered yet.
    outstanding: usize,
}

impl PpkWorker {
    pub(super) fn spawn(
        interface: &str,
        profile: SksProfile,
        env: PpkEnv,
        span: tracing::Span,
    ) -> io::Result<PpkWorker> {
        let (req_tx, req_rx) = mpsc::channel::<(PpkRequest, Instant)>();
        let (ans_tx, ans_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("ppk {interface}"))
            .spawn(move || {
                let _in_port = span.entered();
                let mut source: Option<Box<dyn PpkSource>> = None;
                // Ends when the port is dropped (its sender goes) or stops listening.
                while let Ok((req, asked_at)) = req_rx.recv() {
                    let result = ppk_answer(&mut source, &profile, &env, &req);
                    if ans_tx.send(((req, result), asked_at.elapsed())).is_err() {
                        break;
                    }
                }
            })?;
        Ok(PpkWorker {
            requests: req_tx,
            answers: ans_rx,
            outstanding: 0,
        })
    }
}

/// One request, on the worker thread.
fn ppk_answer(
    source: &mut Option<Box<dyn PpkSource>>,
    profile: &SksProfile,
    env: &PpkEnv,
    req: &PpkRequest,
) -> Result<(KeyId, Ppk), PpkError> {
    let src = match source {
        Some(s) => s,
        None => source.insert(source_for(profile, &env.state_dir, &env.options)?),
    };
    match req {
        PpkRequest::New { .. } => src.new_key(),
        PpkRequest::ById { key_id, .. } => {
            let id = KeyId::new(key_id.as_bytes())?;
            src.key_by_id(&id).map(|ppk| (id, ppk))
        }
    }
}

impl Port {
    /// PPK mode: hands the engine's PPK requests to the worker.
    pub(super) fn send_ppk_requests(&mut self, now: Duration, lines: &mut Vec<LogEvent>) {
        while let Some(req) = self.mka.poll_ppk_request() {
            let sent = match self.ppk.as_mut() {
                Some(w) => match w.requests.send((req.clone(), Instant::now())) {
                    Ok(()) => {
                        w.outstanding += 1;
                        Ok(())
                    }
                    Err(_) => Err(PpkUnavailable::WorkerStopped),
                },
                None => Err(PpkUnavailable::NotConfigured),
            };
            match sent {
                Ok(()) => {
                    let profile = self
                        .setup
                        .ppk
                        .as_ref()
                        .map(|p| p.name.clone())
                        .unwrap_or_default();
                    let key_id = match &req {
                        PpkRequest::New { .. } => None,
                        PpkRequest::ById { key_id, .. } => Some(key_id.clone()),
                    };
                    lines.push(LogEvent::port(
                        &self.setup.interface,
                        PortEvent::PpkAsking {
                            ckn: req.ckn().clone(),
                            profile,
                            key_id,
                        },
                    ));
                }
                Err(reason) => self.mka.handle_ppk(now, &req, Err(&reason.to_string())),
            }
        }
    }

    /// PPK mode: feeds the worker's answers to the engine.
    pub(super) fn take_ppk_answers(&mut self, now: Duration, lines: &mut Vec<LogEvent>) {
        let Some(w) = self.ppk.as_mut() else { return };
        while let Ok(((req, result), took)) = w.answers.try_recv() {
            w.outstanding = w.outstanding.saturating_sub(1);
            let (ckn, ms) = (req.ckn().clone(), took.as_millis());
            match &result {
                Ok((id, ppk)) => {
                    lines.push(LogEvent::port(
                        &self.setup.interface,
                        PortEvent::PpkObtained {
                            ckn,
                            key_id: id.clone(),
                            ms,
                        },
                    ));
                    self.mka
                        .handle_ppk(now, &req, Ok((id.as_bytes(), ppk.as_bytes())));
                }
                // The engine reports the failure itself (PPK_FETCH_FAILURE, with the reason).
                Err(reason) => {
                    lines.push(LogEvent::port(
                        &self.setup.interface,
                        PortEvent::PpkRequestFailed { ckn, ms },
                    ));
                    self.mka.handle_ppk(now, &req, Err(&reason.to_string()));
                }
            }
        }
    }

    /// A PPK request is with the worker.
    pub(super) fn ppk_outstanding(&self) -> bool {
        self.ppk.as_ref().is_some_and(|w| w.outstanding > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SksProfileType;
    use mka::ppk::PpkKeyId;
    use mka::Ckn;

    const CONF: &str = "\
key chain KC1
 macsec
  key 1234abcd5678
   key-string 4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708 cryptographic-algorithm AES-256-CMAC
   lifetime 05:00:00 01 January 2015 infinite
!
sks profile prof-A device-identifier peer-1
 peer-identifier peer-2
!
macsec-policy P1
 ppk sks-profile prof-A
!
macsec-policy P2
!
interface TenGigE0/0/0/1
 macsec psk-keychain KC1 policy P1
!
interface TenGigE0/0/0/2
 macsec psk-keychain KC1 policy P2
!
";

    fn ask(w: &PpkWorker, req: PpkRequest) -> Result<(KeyId, Ppk), PpkError> {
        w.requests.send((req.clone(), Instant::now())).unwrap();
        let ((got, result), _) = w.answers.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(got, req);
        result
    }

    #[test]
    fn port_setup_carries_the_policys_sks_profile() {
        let c = crate::config::Config::parse(CONF).unwrap();
        let s = c.port_setups().unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].interface, "TenGigE0/0/0/1");
        assert_eq!(s[0].ppk.as_ref(), c.sks_profiles.get("prof-A"));
        assert_eq!(s[0].ppk.as_ref().unwrap().name, "prof-A");
        assert_eq!(s[1].interface, "TenGigE0/0/0/2");
        assert!(s[1].ppk.is_none());
    }

    #[test]
    fn ppk_worker_answers_from_the_sks_seed_and_says_why_it_cannot() {
        let c = crate::config::Config::parse(CONF).unwrap();
        let profile = c.sks_profiles["prof-A"].clone();
        let dir = tempfile::tempdir().unwrap();
        let env = PpkEnv {
            state_dir: dir.path().to_path_buf(),
            options: SourceOptions::default(),
        };
        let w = PpkWorker::spawn("TenGigE0/0/0/1", profile, env, tracing::Span::none()).unwrap();
        let ckn = Ckn::new(&[0x12, 0x34]).unwrap();
        let new = PpkRequest::New { ckn: ckn.clone() };
        // No seed yet: every request fails with the reason.
        assert_eq!(
            ask(&w, new.clone()).unwrap_err().to_string(),
            "no seed shared with peer peer-2 of sks profile prof-A (export it with `crypto sks seed export mceliece` on the master, import it with `crypto sks seed import mceliece` on the other side)"
        );
        // A seed installed while the daemon runs is used at the next request.
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
        std::fs::create_dir_all(dir.path().join("peers")).unwrap();
        std::fs::write(dir.path().join("peers/peer-2.seed"), seed).unwrap();
        let (id, ppk) = ask(&w, new).unwrap();
        assert_eq!(id.as_bytes().len(), 16);
        assert_eq!(ppk, crate::ppk::derive_sks_ppk(&seed, &id).unwrap());
        let by_id = PpkRequest::ById {
            ckn,
            key_id: PpkKeyId::new(id.as_bytes()).unwrap(),
        };
        let (id2, ppk2) = ask(&w, by_id).unwrap();
        assert_eq!((id2, ppk2), (id, ppk));
        // The known answer of docs/ppk.md: seed 00..1f, key ID a0..af.
        let kid: Vec<u8> = (0xa0..=0xaf).collect();
        let by_id = PpkRequest::ById {
            ckn: Ckn::new(&[0x12, 0x34]).unwrap(),
            key_id: PpkKeyId::new(&kid).unwrap(),
        };
        let (_, ppk) = ask(&w, by_id).unwrap();
        assert_eq!(
            hex::encode(ppk.as_bytes()),
            "0b0ebd0716a47add82d9c1c84c50f8247186d36fbe0953cca1b8cb6dc172123b"
        );
    }

    #[test]
    fn ppk_worker_reports_a_source_that_cannot_be_built() {
        let mut profile = SksProfile::new("prof-R", SksProfileType::Remote);
        profile.kme_server = Some(crate::config::ServerAddress {
            host: crate::config::Host::Ipv4([192, 0, 2, 34].into()),
            port: 10001,
        });
        let dir = tempfile::tempdir().unwrap();
        let env = PpkEnv {
            state_dir: dir.path().to_path_buf(),
            options: SourceOptions::default(),
        };
        let w = PpkWorker::spawn("TenGigE0/0/0/1", profile, env, tracing::Span::none()).unwrap();
        let req = PpkRequest::New {
            ckn: Ckn::new(&[0x12, 0x34]).unwrap(),
        };
        let e = ask(&w, req.clone()).unwrap_err().to_string();
        let tp = dir.path().join("trustpoint/prof-R.pem");
        assert_eq!(
            e,
            format!(
                "the trust point {} could not be used: I/O error: No such file or directory (os error 2)",
                tp.display()
            )
        );
        // Still the same reason at the next request (the source is tried again each time).
        assert_eq!(ask(&w, req).unwrap_err().to_string(), e);
    }
}
