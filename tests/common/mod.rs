//! Helpers shared by the integration tests.
#![allow(dead_code)]

use bt_tracker::{InfoHash, PeerId};

/// Bytes from a hex dump: `0000  00 11 22 ...  |ascii|` lines or plain hex pairs separated by spaces.
pub fn hex(dump: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in dump.lines() {
        let line = line.split('|').next().unwrap_or("");
        let mut words = line.split_whitespace().peekable();
        // A leading 4-digit offset column.
        if words.peek().is_some_and(|w| w.len() == 4) {
            words.next();
        }
        for w in words {
            out.push(u8::from_str_radix(w, 16).expect("hex byte"));
        }
    }
    out
}

/// SHA1("") = da39a3ee5e6b4b0d3255bfef95601890afd80709, the info hash of PROTOCOL.md's examples.
pub fn sha1_empty() -> InfoHash {
    InfoHash::from_hex("da39a3ee5e6b4b0d3255bfef95601890afd80709").unwrap()
}

/// The peer id of PROTOCOL.md's examples.
pub fn example_peer_id() -> PeerId {
    PeerId(*b"-RS0001-abcdefghijkl")
}
