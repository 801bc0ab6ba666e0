//! The dataplane IPC calls of macsecd: its links, starting a port's engine on one, deleting SAs,
//! reading the Tx SAs' next PNs.

use super::retire::{Inherited, SaKey};
use super::{Daemon, Port, PpkEnv};
use crate::config::PortSetup;
use crate::log::{LogEvent, PortEvent};
use ipc::Client;
use ipc::{ErrorCode, KeyMsg, LinkInfo, Request, Response};
use macsec::secy::{ConfOffset, Salt, Sci, Ssci};
use mka::kay::BOUNDED_HELLO_TIME;
use mka::{Ki, Sak};
use std::io;
use std::time::Duration;

/// An SA's key as an install request carries it.
pub(super) fn key_msg(sak: &Sak, ssci: Ssci, salt: Salt, ki: Ki) -> KeyMsg {
    KeyMsg {
        sak: sak.as_bytes().to_vec().into(),
        ssci: ssci.0,
        salt: salt.0,
        ki: Some(ki.to_bytes()),
    }
}

/// The dataplane's links.
pub(super) fn links(client: &mut Client) -> io::Result<Vec<LinkInfo>> {
    match client.request(&Request::Hello)? {
        Response::Hello { links, .. } => Ok(links),
        other => Err(io::Error::other(format!("dataplane: unexpected reply {other:?}"))),
    }
}

/// Starts the engine of interface `s` on its dataplane link (transmit SCI `tx_sci`) at `now`. The
/// SAs the link already holds (a previous macsecd's, or this one's before a policy change) keep
/// carrying traffic while the new session secures ([`Inherited`]), with the confidentiality
/// offset they run with (the key server's choice, which can be less than the policy's) until the
/// new session's first Tx SA sets its own. With another cipher suite the dataplane drops them.
pub(super) fn start_port(
    client: &mut Client,
    s: PortSetup,
    tx_sci: u64,
    now: Duration,
    env: &PpkEnv,
) -> io::Result<Port> {
    let held = match client.request(&Request::ReadSaState {
        link: s.interface.clone(),
    })? {
        Response::SaState(sa)
            if sa.policy.is_some_and(|p| p.cipher_suite == s.cipher_suite)
                && !(sa.tx.is_empty() && sa.rx.is_empty()) =>
        {
            Some(sa)
        }
        _ => None,
    };
    let offset = match held.as_ref().and_then(|sa| sa.policy) {
        Some(p) if !p.confidentiality => None,
        Some(p) => ConfOffset::from_octets(u64::from(p.conf_offset))
            .ok()
            .or(Some(s.conf_offset)),
        None => Some(s.conf_offset),
    };
    call(
        client,
        &Request::SetPolicy {
            link: s.interface.clone(),
            policy: s.policy(offset),
        },
    )?;
    let inherited = match held {
        Some(sa) => Inherited {
            tx: sa
                .tx
                .iter()
                .map(|t| {
                    (
                        t.an,
                        SaKey {
                            ki: t.ki,
                            check: t.key_check,
                        },
                    )
                })
                .collect(),
            rx: sa
                .rx
                .iter()
                .map(|r| {
                    (
                        r.sci,
                        r.an,
                        SaKey {
                            ki: r.ki,
                            check: r.key_check,
                        },
                    )
                })
                .collect(),
            own_tx_since: None,
            since: now,
        },
        None => Inherited {
            since: now,
            ..Inherited::default()
        },
    };
    let mut port = Port::new(s, Sci(tx_sci), now, env)?;
    port.conf_offset = Some(offset);
    if !inherited.is_empty() {
        let (tx, rx) = (inherited.tx.len(), inherited.rx.len());
        port.pending_log.push(LogEvent::port(
            &port.setup.interface,
            PortEvent::SasInherited { tx, rx },
        ));
    }
    port.inherited = inherited;
    Ok(port)
}

/// An SA already gone (the dataplane dropped it with a cipher suite change) is what was wanted.
pub(super) fn delete_sas(client: &mut Client, link: &str, tx: &[u8], rx: &[(u64, u8)]) -> io::Result<()> {
    let gone_is_ok = |r: io::Result<Response>| match r? {
        Response::Error {
            code: ErrorCode::NoSuchSa,
            ..
        } => Ok(()),
        other => expect_ok(Ok(other)),
    };
    let named = |r: io::Result<()>, what: &str| {
        r.map_err(|e| match refused(&e) {
            Some(x) => io::Error::other(Refused {
                code: x.code,
                message: format!("{what}: {}", x.message),
            }),
            None => e,
        })
    };
    for &an in tx {
        let r = gone_is_ok(client.request(&Request::DeleteTxSa {
            link: link.to_string(),
            an,
        }));
        named(r, "DeleteTxSa")?;
    }
    for &(sci, an) in rx {
        let r = gone_is_ok(client.request(&Request::DeleteRxSa {
            link: link.to_string(),
            sci,
            an,
        }));
        named(r, "DeleteRxSa")?;
    }
    Ok(())
}

/// The dataplane answered one request with an error reply: that request failed, the connection
/// is fine. Carried inside an `io::Error` ([`refused`] finds it) so that the calls keep their
/// `io::Result`; every other `io::Error` of theirs is a transport failure (socket closed, timeout,
/// undecodable reply), which ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dataplane: {code:?}: {message}")]
pub(super) struct Refused {
    pub(super) code: ErrorCode,
    pub(super) message: String,
}

impl Refused {
    /// The log event of the refusal.
    pub(super) fn event(&self) -> PortEvent {
        PortEvent::DataplaneRefused {
            code: self.code,
            message: self.message.clone(),
        }
    }
}

/// The refusal inside `e`, if `e` is one (and not a transport failure).
pub(super) fn refused(e: &io::Error) -> Option<&Refused> {
    e.get_ref()?.downcast_ref::<Refused>()
}

pub(super) fn expect_ok(r: io::Result<Response>) -> io::Result<()> {
    match r? {
        Response::Ok => Ok(()),
        Response::Error { code, message } => Err(io::Error::other(Refused { code, message })),
        other => Err(io::Error::other(format!("dataplane: unexpected reply {other:?}"))),
    }
}

/// `client.request(req)`, expecting Ok; a refusal names the request.
pub(super) fn call(client: &mut Client, req: &Request) -> io::Result<()> {
    expect_ok(client.request(req)).map_err(|e| match refused(&e) {
        Some(r) => io::Error::other(Refused {
            code: r.code,
            message: format!("{}: {}", req.name(), r.message),
        }),
        None => e,
    })
}

impl Daemon {
    /// Every [`BOUNDED_HELLO_TIME`] while the engine has Tx SAs: their next PNs, read from the
    /// dataplane, go to the engine, which reports the PN in use two seconds ago as each key's
    /// Lowest Acceptable PN (delay protection on the peer).
    pub(super) fn read_tx_pns(&mut self, i: usize, now: Duration) -> io::Result<()> {
        let port = &mut self.ports[i];
        let ans = port.mka.tx_ans();
        if now < port.next_pn_read || ans.is_empty() {
            return Ok(());
        }
        port.next_pn_read = now + BOUNDED_HELLO_TIME;
        if let Response::SaState(sa) = self.client.request(&Request::ReadSaState {
            link: port.setup.interface.clone(),
        })? {
            for t in sa.tx.iter().filter(|t| ans.contains(&t.an)) {
                port.mka.handle_tx_pn(now, t.an, t.next_pn);
            }
        }
        Ok(())
    }
}
