//! The client side of BEP 15: any datagram, read as an IPv4 or an IPv6 reply, parses or is refused
//! without panicking, and every peer and row it yields lies inside the datagram.
#![no_main]

use bt_tracker::AddressFamily;
use bt_tracker::udp::{Reply, peek_transaction_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = peek_transaction_id(data);
    for family in [AddressFamily::V4, AddressFamily::V6] {
        match Reply::parse(data, family) {
            Ok(Reply::Announce(a)) => {
                let peers = a.peers.iter().count();
                assert_eq!(peers, a.peers.len());
                assert!(20 + peers * 6 <= data.len());
            }
            Ok(Reply::Scrape(s)) => {
                assert_eq!(s.rows.iter().count(), s.rows.len());
                assert!(8 + s.rows.len() * 12 <= data.len());
            }
            Ok(Reply::Error(e)) => {
                let _ = e.message_text();
            }
            Ok(other) => {
                let _ = other.transaction_id();
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
