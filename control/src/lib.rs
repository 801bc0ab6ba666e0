//! The MACsec control plane: the MKA daemon's building blocks and the operator CLI's tools.

pub mod config;
pub mod daemon;
pub mod decode;
pub mod pcap;
pub mod ppk;
pub mod show;
