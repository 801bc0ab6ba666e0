//! What the PPK code reads from outside: a KME's HTTP response and its `/key` JSON (network), and
//! an SKS seed file (a file an operator imports). Errors, never panics. The first octet picks
//! the parser.
#![no_main]

use control::ppk::{http, skip, sks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(r) = http::read_response(&mut &rest[..]) {
                let _ = skip::parse_key(&r.body, 256);
            }
        }
        1 => {
            let _ = skip::parse_key(rest, 0);
        }
        _ => {
            let _ = sks::SeedFile::parse(rest);
        }
    }
});
