//! Helpers shared by the integration tests.
#![allow(dead_code)]

use bt_tracker::{InfoHash, PeerId};

pub mod origin;
pub mod udp;

/// An arbitrary origin for a test's virtual times (the one clock read the tests share).
#[allow(unused_imports)] // a test file that needs no virtual time still includes this module
pub(crate) use origin::test_origin as start;

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

/// The address the tests' fake resolver gives every host name: in TEST-NET-3, a public address.
pub const RESOLVED: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 10));

/// A machine that asks for host names: an `Announce` or a `Client`.
pub trait AsksNames {
    /// The next DNS query.
    fn next_query(&mut self) -> Option<bt_tracker::announce::DnsQuery>;
    /// Hands an answer in.
    fn answer(
        &mut self,
        now: std::time::Instant,
        id: bt_tracker::announce::DnsQueryId,
        result: Result<bt_tracker::announce::DnsAnswer, bt_tracker::announce::DnsError>,
    ) -> bool;
}

/// Both machines answer the same two calls.
macro_rules! asks_names {
    ($($machine:ty),*) => {$(
        impl AsksNames for $machine {
            fn next_query(&mut self) -> Option<bt_tracker::announce::DnsQuery> {
                self.poll_dns_query()
            }
            fn answer(
                &mut self,
                now: std::time::Instant,
                id: bt_tracker::announce::DnsQueryId,
                result: Result<bt_tracker::announce::DnsAnswer, bt_tracker::announce::DnsError>,
            ) -> bool {
                self.handle_dns_response(now, id, result)
            }
        }
    )*};
}

asks_names!(bt_tracker::Announce, bt_tracker::Client);

/// Answers every DNS query the machine has asked with `ips` (no TTL); returns the host names.
pub fn answer_dns_with(
    m: &mut impl AsksNames,
    now: std::time::Instant,
    ips: &[std::net::IpAddr],
) -> Vec<String> {
    let mut hosts = Vec::new();
    while let Some(query) = m.next_query() {
        let answer = bt_tracker::announce::DnsAnswer {
            addresses: ips.to_vec(),
            ttl: None,
        };
        assert!(
            m.answer(now, query.id, Ok(answer)),
            "query {query:?} in flight"
        );
        hosts.push(query.host);
    }
    hosts
}

/// Answers every DNS query the machine has asked with [`RESOLVED`].
pub fn answer_dns(m: &mut impl AsksNames, now: std::time::Instant) -> Vec<String> {
    answer_dns_with(m, now, &[RESOLVED])
}
