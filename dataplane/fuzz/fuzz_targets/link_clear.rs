//! The packet path with clear VLAN tags and bypass lists (the worker's lift/put of tags around the
//! SecY, the bypass classification) on arbitrary frames. The first octet chooses the policy
//! (tags in the clear 0..2 on each side, an EtherType and a MAC bypass, must- or should-secure);
//! the rest is a list of frames (a length octet, then the frame). Site A protects what its host
//! sends, site B validates what A put on the line. Must never panic, and:
//! - A's line carries every host frame in order: passed as it is only when listed (EtherType
//!   before or after the clear tags, destination MAC, LACP under lacp-in-clear), else protected
//!   (the clear tags, then a SecTAG), or dropped only when it is a runt or ends inside its tags;
//! - with the same clear tags on both sides, every frame A protected reaches B's host exactly as
//!   A's host sent it, and in order.
#![no_main]

use dataplane::worker::ports::MemLink;
use dataplane::worker::{Command, WorkerLink};
use ipc::{ClearPolicy, SecurityPolicy};
use libfuzzer_sys::fuzz_target;
use macsec::crypto::Backend;
use macsec::secy::{CipherSuite, Policy, RxSecY, SaKeys, Sci, TxSa};
use std::sync::Arc;

const A: Sci = Sci(0x001d_e5e9_aa39_001a);
const LLDP: [u8; 6] = [0x01, 0x80, 0xc2, 0, 0, 0x0e];

fn run(l: &MemLink) {
    let mut w = WorkerLink::new(l.link.clone());
    while w.poll() > 0 {}
}

/// The VLAN tags (at most `most`) after the addresses and the EtherType after them; None when the
/// frame is shorter than its header or ends inside a tag (as the dataplane reads it).
fn tags_of(f: &[u8], most: u8) -> Option<(usize, u16)> {
    if f.len() < 14 {
        return None;
    }
    let mut n = 0;
    loop {
        let at = 12 + 4 * n;
        let et = u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]);
        if n == usize::from(most) || (et != 0x8100 && et != 0x88a8) {
            return Some((n, et));
        }
        f.get(at + 5)?;
        n += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let tags_a = sel % 3;
    let tags_b = if sel & 0x04 == 0 { tags_a } else { (sel >> 3) % 3 };
    let bypass = sel & 0x20 != 0;
    let security = if sel & 0x40 == 0 {
        SecurityPolicy::MustSecure
    } else {
        SecurityPolicy::ShouldSecure
    };
    let clear = |tags: u8| {
        let (ets, macs): (&[u16], &[[u8; 6]]) = if bypass { (&[0x88cc], &[LLDP]) } else { (&[], &[]) };
        ClearPolicy::new(
            sel & 0x80 != 0,
            tags.into(),
            ets.iter().copied(),
            macs.iter().copied(),
        )
        .unwrap()
    };
    let suite = CipherSuite::GcmAesXpn128;
    let mut policy = Policy::new(suite);
    policy.replay_window = 0;
    policy.max_frame_len = Some(1514 + 32);
    let a = MemLink::with_backend("a", policy, A, security, clear(tags_a), Backend::Ring);
    let b = MemLink::with_backend("b", policy, Sci(0x22), security, clear(tags_b), Backend::Ring);
    let k = SaKeys::xpn(&[7u8; 16], macsec::secy::Ssci(1), macsec::secy::Salt([3; 12]));
    let sa = Arc::new(TxSa::new(Backend::Ring, suite, A, 0, &k, 1).unwrap());
    let rx = RxSecY::new(policy, Backend::Ring).build_sa(A, 0, &k, 1).unwrap();
    b.link.apply(Command::PutRxSa {
        sci: A,
        sa: Box::new(rx),
    });
    a.link.apply(Command::PutTxSa(sa));
    a.link.apply(Command::EnableTxSa(Some(0)));

    let mut sent = Vec::new();
    while let Some((&len, r)) = rest.split_first() {
        let n = usize::from(len).min(r.len());
        sent.push(r[..n].to_vec());
        rest = &r[n..];
        if sent.len() == 64 {
            break;
        }
    }
    for f in &sent {
        a.wires.host_in.send(f.clone()).unwrap();
    }
    run(&a);
    let line: Vec<Vec<u8>> = a.wires.line_out.try_iter().collect();
    let listed = |f: &[u8]| {
        let Some((_, inner)) = tags_of(f, tags_a) else {
            return false;
        };
        let outer = u16::from_be_bytes([f[12], f[13]]);
        bypass && (outer == 0x88cc || inner == 0x88cc || f[..6] == LLDP)
    };
    let lacp = |f: &[u8]| sel & 0x80 != 0 && f[12..14] == [0x88, 0x09];
    // The line is what A's host sent, in order: each frame passed as it is (only if listed), or
    // protected (its clear tags, then a SecTAG, 32 octets more), or dropped (only a runt or a
    // frame that ends inside its tags). So nothing leaves in the clear but what is listed, under
    // should-secure too (the SA is in use).
    let mut i = 0;
    for f in &sent {
        let Some((n, _)) = tags_of(f, tags_a) else {
            continue;
        };
        let l = line.get(i).unwrap_or_else(|| panic!("a frame lost: {f:02x?}"));
        if listed(f) || lacp(f) {
            assert_eq!(l, f, "a listed frame passes as it is");
        } else {
            let t = 12 + 4 * n;
            assert!(
                l.len() == f.len() + 32 && l[..t] == f[..t] && l[t..t + 2] == [0x88, 0xe5],
                "protected: its clear tags, then a SecTAG: {f:02x?} became {l:02x?}"
            );
        }
        i += 1;
    }
    assert_eq!(i, line.len(), "every line frame accounted for");
    for f in &line {
        b.wires.line_in.send(f.clone()).unwrap();
    }
    run(&b);
    let host: Vec<Vec<u8>> = b.wires.host_out.try_iter().collect();
    if tags_a == tags_b {
        // B delivers what reached the line, each frame as A's host sent it, in order: a
        // subsequence of what was sent, as long as the line.
        assert_eq!(host.len(), line.len(), "every line frame delivered");
        let mut it = sent.iter();
        for h in &host {
            assert!(it.any(|f| f == h), "delivered as sent and in order: {h:02x?}");
        }
    }
});
