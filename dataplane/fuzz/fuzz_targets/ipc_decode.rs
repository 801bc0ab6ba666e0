//! The control protocol decoder and the dataplane config parser on arbitrary bytes: errors,
//! never panics; whatever decodes re-encodes.
#![no_main]

use dataplane::config::DataplaneConfig;
use ipc::{self, Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = ipc::decode::<Request>(data) {
        let again = ipc::encode(env.id, &env.body).expect("a decoded request re-encodes");
        let back = ipc::decode::<Request>(&again).expect("and decodes again");
        assert_eq!(format!("{:?}", back.body), format!("{:?}", env.body));
    }
    let _ = ipc::decode::<Response>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = DataplaneConfig::parse(text);
    }
});
