//! Zero-copy views over frames, in the style of smoltcp's `wire` module: a `Packet<T>` view with
//! `new_checked`, field ranges in a `field` module, accessors, and a `Repr` with `parse`/`emit`.
//! No allocation, no `unsafe`.

#![forbid(unsafe_code)]

pub mod ethernet;
pub mod sectag;

pub use ethernet::{EtherType, EthernetFrame, MacAddr, VlanTag};
pub use sectag::{SecTag, SecTagError, SecTagRepr, Tci};

/// Errors of the plain (non-SecTAG) views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame too short: {len} octets, at least {need} needed")]
    Truncated { len: usize, need: usize },
}
