//! The tracker side of HTTP: announce and scrape query strings, percent-decoding, and tracker URLs
//! (with the scrape URL and pre-filled-parameter check) never panic.
#![no_main]

use bt_tracker::TrackerUrl;
use bt_tracker::http::{self, AnnounceQuery, ScrapeQuery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = AnnounceQuery::parse(data) {
        assert_eq!(q.info_hash.0.len(), 20);
    }
    if let Ok(q) = ScrapeQuery::parse(data) {
        assert!(q.info_hashes.len() * 10 <= data.len());
    }
    if let Ok(bytes) = http::percent_decode(data) {
        assert!(bytes.len() <= data.len());
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(url) = TrackerUrl::parse(text)
    {
        let _ = (url.host(), url.port(), url.path_and_query(), url.origin());
        let _ = http::scrape_url(&url);
        let _ = http::check_tracker_query(&url);
    }
});
