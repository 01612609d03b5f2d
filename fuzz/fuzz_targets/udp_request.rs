//! The tracker side of BEP 15: any datagram parses or is refused, never panics, and what parses
//! re-encodes within the request size limit.
#![no_main]

use bt_tracker::udp::{MAX_REQUEST_LEN, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = Request::parse(data) else {
        return;
    };
    let mut buf = [0u8; MAX_REQUEST_LEN];
    match request {
        Request::Connect(c) => assert_eq!(c.encode(&mut buf), Ok(16)),
        Request::Announce(a) => {
            // URL data over the encoder's limit is refused when encoding, never truncated.
            if let Ok(n) = a.encode(&mut buf) {
                assert_eq!(n, a.encoded_len());
            }
        }
        Request::Scrape(s) => {
            assert!(s.info_hashes.len() * 20 + 16 <= data.len());
            let _ = s.info_hashes.iter().count();
        }
    }
});
