//! The MACsec control plane: the MKA daemon's building blocks and the operator CLI's tools.

// One FFI call (gethostname, ppk::cli) is allowed where it is made; nothing else is unsafe.
#![deny(unsafe_code)]

pub mod config;
pub mod ctl_server;
pub mod daemon;
pub mod decode;
pub mod keyarg;
pub mod log;
pub mod metrics;
pub mod openconfig;
pub mod pcap;
pub mod ppk;
pub mod show;
pub mod showcmd;
pub mod syslog;
