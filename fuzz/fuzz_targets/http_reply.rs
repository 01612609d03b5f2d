//! Bencoded announce and scrape replies decode or fail cleanly, whatever the bytes (deep nesting
//! included), and everything a decoded reply yields is readable.
#![no_main]

use bt_tracker::http::{AnnounceResponse, ScrapeResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match AnnounceResponse::decode(data) {
        Ok(AnnounceResponse::Success(s)) => {
            let _ = s.peer_addrs().count();
            let _ = s.warning_text();
            let mut out = Vec::new();
            let _ = s.encode(&mut out);
        }
        Ok(AnnounceResponse::Failure(f)) => {
            let _ = f.reason_text();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(ScrapeResponse::Success(s)) = ScrapeResponse::decode(data) {
        for (hash, _) in s.files.iter() {
            assert!(s.files.get(&hash).is_some());
        }
    }
});
