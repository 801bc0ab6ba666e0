//! The IOS XR configuration parser on arbitrary text (an operator's file, a pasted running-config):
//! errors name a line and never panic; whatever parses resolves to port setups (or a clear error)
//! and renders every stanza.
#![no_main]

use control::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Config::parse_all(&text) {
        Ok(c) => {
            let _ = c.port_setups();
            let _ = c.render();
            for n in c.policies.keys() {
                let _ = c.render_policy(n);
            }
            for n in c.key_chains.keys() {
                let _ = c.render_key_chain(n);
            }
        }
        Err(errors) => {
            for e in errors {
                let _ = e.to_string();
            }
        }
    }
});
