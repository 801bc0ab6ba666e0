//! The AF_PACKET helper (`afpacket`) and the two tools built on it, on a veth pair in a fresh
//! network namespace (the guards of `macsec_tests::sys` remove both). Root only:
//!
//! ```text
//! cargo test --release -p macsec-tests --test afpacket -- --ignored
//! ```

use afpacket::PacketSocket;
use macsec_tests::sys::{self, Netns, VethEnd};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0xaf, 0x01];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0xaf, 0x02];
/// Local experimental EtherType 1: what the receiving sockets bind to, so that nothing else the
/// kernel may send on the link reaches them.
const ETHERTYPE: u16 = 0x88b5;

fn mac_text(m: [u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// A namespace with the veth pair `{tag}A` (MAC_A) - `{tag}B` (MAC_B) in it (the tests run in
/// parallel in one process: sys::veth's temporary names differ by the end names only).
fn veth_pair(tag: &str) -> (Netns, String, String) {
    let ns = Netns::new(&format!("afpk{tag}{}", std::process::id() % 100000)).expect("netns");
    let (a, b) = (format!("{tag}A"), format!("{tag}B"));
    sys::veth(
        VethEnd {
            ns: &ns,
            name: &a,
            mac: &mac_text(MAC_A),
        },
        VethEnd {
            ns: &ns,
            name: &b,
            mac: &mac_text(MAC_B),
        },
    )
    .expect("veth");
    (ns, a, b)
}

/// Runs `f` on a thread that has entered `ns` (a socket belongs to the namespace of the thread
/// that made it; setns(CLONE_NEWNET) changes only the calling thread's).
fn in_netns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open the netns");
        // SAFETY: setns with a namespace fd we own, alive for the call.
        let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("the netns thread")
}

fn frame(dst: [u8; 6], src: [u8; 6], ethertype: u16, fill: u8, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend((0..len - 14).map(|i| fill.wrapping_add(i as u8)));
    f
}

/// The next frame on `rx` within 2 s.
fn next(rx: &PacketSocket) -> Vec<u8> {
    assert!(
        rx.wait_readable(Duration::from_secs(2)).unwrap(),
        "no frame within 2 s"
    );
    let mut buf = vec![0u8; 2048];
    let n = rx.recv(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
#[ignore = "root: netns"]
fn a_frame_crosses_a_veth_pair() {
    let (ns, a, b) = veth_pair("afh");
    in_netns(&ns, move || {
        let rx = PacketSocket::open(&b, ETHERTYPE).unwrap();
        assert_ne!(rx.ifindex(), 0);
        // mka-peer's set-up: non-blocking, a link-layer multicast group joined.
        rx.set_nonblocking(true).unwrap();
        rx.add_multicast([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]).unwrap();
        let mut buf = [0u8; 64];
        let e = rx.recv(&mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");

        // frame-gen's set-up: protocol 0 (sends only), past the qdisc.
        let tx = PacketSocket::open(&a, 0).unwrap();
        tx.set_qdisc_bypass().unwrap();
        let one = frame(MAC_B, MAC_A, ETHERTYPE, 1, 60);
        assert_eq!(tx.send(&one).unwrap(), 60);
        assert_eq!(next(&rx), one);

        // A batch (sendmmsg), received whole and in order; a frame of another EtherType is not.
        let other = frame(MAC_B, MAC_A, 0x88b6, 9, 60);
        assert_eq!(tx.send(&other).unwrap(), 60);
        let batch: Vec<Vec<u8>> = (0..5)
            .map(|i| frame(MAC_B, MAC_A, ETHERTYPE, 10 * i, 100 + i as usize))
            .collect();
        let refs: Vec<&[u8]> = batch.iter().map(|f| f.as_slice()).collect();
        assert_eq!(tx.send_batch(&refs).unwrap(), 5);
        for f in &batch {
            assert_eq!(&next(&rx), f);
        }
        assert!(!rx.wait_readable(Duration::from_millis(200)).unwrap());
        assert_eq!(tx.send_batch(&[]).unwrap(), 0);
    });
}

/// frame-gen on the helper: `--pcap` replays each frame as it is; a paced run sends its count.
#[test]
#[ignore = "root: netns"]
fn frame_gen_sends_through_the_helper() {
    let (ns, a, b) = veth_pair("aff");
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    let frames: Vec<Vec<u8>> = (0..3).map(|i| frame(MAC_B, MAC_A, ETHERTYPE, i, 64)).collect();
    macsec_tests::write_pcap(&pcap, &frames);
    let rx = in_netns(&ns, move || PacketSocket::open(&b, ETHERTYPE).unwrap());
    let out = sys::run(
        ns.cmd(env!("CARGO_BIN_EXE_frame-gen"))
            .args(["--iface", &a, "--pcap"])
            .arg(&pcap),
    )
    .unwrap();
    assert_eq!(out.trim(), r#"{"sent":3,"send_errors":0}"#);
    for f in &frames {
        assert_eq!(&next(&rx), f);
    }

    let out = sys::run(ns.cmd(env!("CARGO_BIN_EXE_frame-gen")).args([
        "--iface",
        &a,
        "--size",
        "128",
        "--rate",
        "200",
        "--seconds",
        "0.5",
        "--dst",
        &mac_text(MAC_B),
        "--src",
        &mac_text(MAC_A),
    ]))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let sent = v["sent"].as_u64().unwrap();
    assert!(sent > 0 && v["send_errors"] == 0, "{v}");
    let mut got = 0u64;
    while rx.wait_readable(Duration::from_millis(500)).unwrap() {
        let mut buf = vec![0u8; 2048];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(n, 128);
        assert_eq!(&buf[..14], &frame(MAC_B, MAC_A, ETHERTYPE, 0, 14)[..]);
        // The sequence number first in the payload.
        assert_eq!(u64::from_be_bytes(buf[14..22].try_into().unwrap()), got);
        got += 1;
    }
    assert_eq!(got, sent);

    // Its errors, as before: no such interface is exit 1, a bad argument exit 2.
    let o = ns
        .cmd(env!("CARGO_BIN_EXE_frame-gen"))
        .args(["--iface", "nope0", "--size", "64"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "frame-gen: nope0: no such interface\n"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_frame-gen"))
        .args(["--iface", &a, "--size", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "frame-gen: --size: invalid digit found in string\n"
    );
}

/// Two mka-peers on the helper, one on each end, secure an MKA session.
#[test]
#[ignore = "root: netns"]
fn two_mka_peers_secure_a_session() {
    let (ns, a, b) = veth_pair("afm");
    let peer = macsec_tests::bin("mka-peer");
    let cak = "00112233445566778899aabbccddeeff";
    let ckn = "abcdef0123456789";
    let dir = tempfile::tempdir().unwrap();
    let cak_file = dir.path().join("cak");
    std::fs::write(&cak_file, format!("{cak}\n")).unwrap();
    let cak_file = cak_file.to_str().unwrap();
    let spawn = |iface: &str, priority: &str| {
        ns.cmd(&peer)
            .args([
                "--iface",
                iface,
                "--cak-file",
                cak_file,
                "--ckn",
                ckn,
                "--priority",
                priority,
            ])
            .args(["--duration", "8"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&a, "1"), spawn(&b, "2"));
    for (name, child) in [(&a, pa), (&b, pb)] {
        let o = child.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap_or("{}")).unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(last["final"], true, "{name}: {last}");
        assert_eq!(last["secured"], true, "{name}: {last}");
    }

    // Its errors, as before: no such interface is exit 2.
    let o = ns
        .cmd(&peer)
        .args(["--iface", "nope0", "--cak-file", cak_file, "--ckn", ckn])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "mka-peer: error: nope0: No such file or directory (os error 2)\n"
    );
    // The CAK on the command line still works, with its warning first.
    let o = ns
        .cmd(&peer)
        .args(["--iface", "nope0", "--cak", cak, "--ckn", ckn])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "warning: --cak on the command line is readable by other local users (/proc/PID/cmdline); use --cak-file\n\
         mka-peer: error: nope0: No such file or directory (os error 2)\n"
    );
}
