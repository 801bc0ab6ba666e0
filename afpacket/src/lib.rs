//! Raw Ethernet frames on one Linux interface: an `AF_PACKET`/`SOCK_RAW` socket bound to the
//! interface, for the tools that speak on a link without the dataplane: `mka-peer` (EAPOL with
//! the PAE group address) and `frame-gen` (paced test traffic, pcap replay). Frames are whole
//! Ethernet frames without FCS, sent and received as they are.
//!
//! The socket is [`socket2`]'s. What socket2 has no call for is done here with `libc`, each in
//! one place with a `// SAFETY:` comment: building the `sockaddr_ll` the socket is bound with,
//! `if_nametoindex`, the two `SOL_PACKET` options (`PACKET_ADD_MEMBERSHIP`,
//! `PACKET_QDISC_BYPASS`), `sendmmsg` and `poll`.

// Unsafe only where an item says so (the FFI calls listed above).
#![deny(unsafe_code)]

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::ffi::CString;
use std::io::{self, Read};
use std::mem::size_of;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Every EtherType (`ETH_P_ALL`): a socket opened with it receives every frame of its interface.
pub const ETH_P_ALL: u16 = 0x0003;

/// The most frames one [`PacketSocket::send_batch`] call hands to the kernel.
pub const BATCH_MAX: usize = 32;

/// Why [`PacketSocket::open`] failed. The texts are what `frame-gen` prints after `frame-gen: `;
/// [`OpenError::into_io`] gives the operating system's error alone.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The name has a NUL octet.
    #[error("bad interface name")]
    BadName,
    #[error("{iface}: no such interface")]
    NoSuchInterface { iface: String, error: io::Error },
    #[error("socket(AF_PACKET): {0}")]
    Socket(io::Error),
    #[error("bind {iface}: {error}")]
    Bind { iface: String, error: io::Error },
}

impl OpenError {
    /// The operating system's error (for [`OpenError::BadName`], an `InvalidInput` error with
    /// the text `bad interface name`).
    pub fn into_io(self) -> io::Error {
        match self {
            OpenError::BadName => io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"),
            OpenError::NoSuchInterface { error, .. } | OpenError::Bind { error, .. } => error,
            OpenError::Socket(error) => error,
        }
    }
}

/// An `AF_PACKET` raw socket bound to one interface; closed on drop.
#[derive(Debug)]
pub struct PacketSocket {
    sock: Socket,
    ifindex: u32,
}

impl PacketSocket {
    /// A socket on `iface` that receives the frames of EtherType `protocol` (host order; 0:
    /// none, the socket only sends; [`ETH_P_ALL`]: all). Needs CAP_NET_RAW.
    pub fn open(iface: &str, protocol: u16) -> Result<PacketSocket, OpenError> {
        let ifindex = if_index(iface)?;
        // The protocol in network order, as socket(2) and sockaddr_ll take it.
        let proto = protocol.to_be();
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(i32::from(proto))))
            .map_err(OpenError::Socket)?;
        sock.bind(&link_addr(ifindex, proto))
            .map_err(|error| OpenError::Bind {
                iface: iface.to_string(),
                error,
            })?;
        Ok(PacketSocket { sock, ifindex })
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Non-blocking: [`PacketSocket::recv`] then fails with `WouldBlock` when no frame waits.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_nonblocking(nonblocking)
    }

    /// Receives the frames sent to the link-layer multicast address `mac` too
    /// (`PACKET_ADD_MEMBERSHIP`, `PACKET_MR_MULTICAST`).
    pub fn add_multicast(&self, mac: [u8; 6]) -> io::Result<()> {
        let mut mreq = libc::packet_mreq {
            mr_ifindex: self.ifindex as libc::c_int,
            mr_type: libc::PACKET_MR_MULTICAST as libc::c_ushort,
            mr_alen: 6,
            mr_address: [0; 8],
        };
        mreq.mr_address[..6].copy_from_slice(&mac);
        self.set_packet_option(libc::PACKET_ADD_MEMBERSHIP, &mreq)
    }

    /// Sends past the interface's qdisc (`PACKET_QDISC_BYPASS`; kernels before 3.14 refuse it).
    pub fn set_qdisc_bypass(&self) -> io::Result<()> {
        let one: libc::c_int = 1;
        self.set_packet_option(libc::PACKET_QDISC_BYPASS, &one)
    }

    /// Sends one frame; the octets the kernel took.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        self.sock.send(frame)
    }

    /// Sends up to [`BATCH_MAX`] frames with one `sendmmsg` call; how many the kernel took (the
    /// first ones; a frame it did not take was not sent).
    #[allow(unsafe_code)]
    pub fn send_batch(&self, frames: &[&[u8]]) -> io::Result<usize> {
        let n = frames.len().min(BATCH_MAX);
        if n == 0 {
            return Ok(0);
        }
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; BATCH_MAX];
        for (v, f) in iov.iter_mut().zip(frames) {
            // sendmmsg only reads the frames; the pointer is mut because iovec is shared with recv.
            v.iov_base = f.as_ptr().cast_mut().cast();
            v.iov_len = f.len();
        }
        // SAFETY: mmsghdr is plain data (pointers and integers), for which all zeroes is a valid
        // value: no name, no control data, no flags.
        let mut msgs: [libc::mmsghdr; BATCH_MAX] = unsafe { std::mem::zeroed() };
        for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: the first n headers each point at one iovec over a frame of `frames`; the
        // frames, iovecs and headers all outlive the call, and the kernel only reads the frames.
        let r = unsafe { libc::sendmmsg(self.sock.as_raw_fd(), msgs.as_mut_ptr(), n as libc::c_uint, 0) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r as usize)
    }

    /// Receives one frame into `buf`; its length (a longer frame is cut to `buf`).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.sock).read(buf)
    }

    /// Waits until a frame can be received or `timeout` (at most `i32::MAX` ms) has passed;
    /// whether one can.
    #[allow(unsafe_code)]
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd, alive for the call.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r > 0)
    }

    /// setsockopt(SOL_PACKET, `name`, `value`) for the options socket2 has no call for.
    #[allow(unsafe_code)]
    fn set_packet_option<T: Copy>(&self, name: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: `value` is a valid T (a plain C struct or integer, as `name` expects) of the
        // size passed, alive for the call; the kernel only reads it.
        let r = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_PACKET,
                name,
                (value as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The index of interface `iface` in this thread's network namespace.
#[allow(unsafe_code)]
fn if_index(iface: &str) -> Result<u32, OpenError> {
    let name = CString::new(iface).map_err(|_| OpenError::BadName)?;
    // SAFETY: `name` is a NUL-terminated string we own, alive for the call.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        return Err(OpenError::NoSuchInterface {
            iface: iface.to_string(),
            error: io::Error::last_os_error(),
        });
    }
    Ok(ifindex)
}

/// The `sockaddr_ll` that binds a packet socket to interface `ifindex` for EtherType `proto`
/// (network order).
#[allow(unsafe_code)]
fn link_addr(ifindex: u32, proto: u16) -> SockAddr {
    let sll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as libc::c_ushort,
        sll_protocol: proto,
        sll_ifindex: ifindex as libc::c_int,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    // SAFETY: sockaddr_storage is plain data, for which all zeroes is a valid value; it is
    // larger than sockaddr_ll and aligned for any sockaddr, so the sockaddr_ll written at its
    // start fits and is aligned; the length given to SockAddr is exactly that of the sockaddr_ll,
    // whose family field says it is one.
    unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        std::ptr::write(
            (&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_ll>(),
            sll,
        );
        SockAddr::new(storage, size_of::<libc::sockaddr_ll>() as libc::socklen_t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_errors_name_the_interface() {
        let e = PacketSocket::open("no-such-if0", ETH_P_ALL).unwrap_err();
        assert!(matches!(e, OpenError::NoSuchInterface { .. }), "{e:?}");
        assert_eq!(e.to_string(), "no-such-if0: no such interface");
        assert_eq!(e.into_io().raw_os_error(), Some(libc::ENODEV));
        let e = PacketSocket::open("a\0b", 0).unwrap_err();
        assert_eq!(e.to_string(), "bad interface name");
        assert_eq!(e.into_io().to_string(), "bad interface name");
    }

    #[test]
    fn link_addr_is_a_sockaddr_ll() {
        let a = link_addr(7, 0x888eu16.to_be());
        assert_eq!(a.family(), libc::AF_PACKET as libc::sa_family_t);
        assert_eq!(a.len() as usize, size_of::<libc::sockaddr_ll>());
    }
}
