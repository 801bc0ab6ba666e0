//! The Live Peer List and Potential Peer List (802.1X-2020 Figure 11-9).

use super::{be32, mi_at};
use crate::Mi;

/// Octets of one Live/Potential Peer List entry (MI ‖ MN).
pub const PEER_ENTRY_LEN: usize = 16;

/// One Live or Potential Peer List entry: a member's MI and the latest MN received from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub mi: Mi,
    pub mn: u32,
}

/// A Live Peer List or Potential Peer List (802.1X-2020 Figure 11-9).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerList {
    /// Octet 2. In an MKA version 3 Live Peer List that carries a Distributed SAK for an XPN suite,
    /// the key server's own SSCI (low 8 bits); reserved (0) otherwise. Kept as received.
    pub key_server_ssci: u8,
    pub peers: Vec<Peer>,
}

impl PeerList {
    /// Parses the body (`None` if it is not a whole number of entries).
    pub(super) fn parse(octet2: u8, body: &[u8]) -> Option<Self> {
        if body.len() % PEER_ENTRY_LEN != 0 {
            return None;
        }
        Some(PeerList {
            key_server_ssci: octet2,
            peers: body
                .chunks_exact(PEER_ENTRY_LEN)
                .map(|e| Peer {
                    mi: mi_at(&e[..12]),
                    mn: be32(&e[12..16]),
                })
                .collect(),
        })
    }

    pub(super) fn body_len(&self) -> usize {
        self.peers.len() * PEER_ENTRY_LEN
    }

    pub(super) fn emit_body(&self, body: &mut [u8]) {
        for (e, peer) in body.chunks_exact_mut(PEER_ENTRY_LEN).zip(&self.peers) {
            e[..12].copy_from_slice(&peer.mi.0);
            e[12..].copy_from_slice(&peer.mn.to_be_bytes());
        }
    }
}
