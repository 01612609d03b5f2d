//! What the machine fuzz targets share: the fuzz bytes read as a stream of small decisions, a
//! reply to a recent transaction with a well-formed header and a fuzz-chosen body, from the tracker
//! or a spoofed port, and answers to the machine's DNS queries (addresses of both families,
//! internal ones among them, failures, TTLs; a query the bytes never pick is never answered).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    DnsAnswer, DnsError, DnsQuery, DnsQueryId, Event, RequestKind, TorrentId, TrackerId,
};

/// The fuzz bytes as a stream of small decisions; exhausted means zeros.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn u8(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    pub fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A UDP reply to transaction `txid`: action connect, announce (twice as likely), scrape or error,
/// then up to 255 fuzz bytes.
pub fn reply(b: &mut Bytes<'_>, txid: [u8; 4]) -> Vec<u8> {
    let action: u32 = match b.u8() % 5 {
        0 => 0,
        1 | 2 => 1,
        3 => 2,
        _ => 3,
    };
    let mut out = action.to_be_bytes().to_vec();
    out.extend_from_slice(&txid);
    let len = usize::from(b.u8());
    out.extend_from_slice(b.take(len));
    out
}

/// Where a reply to a datagram sent to `to` comes from: the tracker, or one time in eight a spoofed
/// port on its host.
pub fn source(b: &mut Bytes<'_>, to: SocketAddr) -> SocketAddr {
    if b.u8() % 8 == 0 {
        SocketAddr::new(to.ip(), to.port() ^ 1)
    } else {
        to
    }
}

/// Addresses a DNS answer draws from: public ones of both families (IPv4-mapped too), and
/// internal ones no IP-literal tracker of the targets uses, so a datagram sent to one of these
/// went to what a public name resolved to.
const PUBLIC: [&str; 4] = [
    "203.0.113.5",
    "198.51.100.7",
    "2001:db8::5",
    "::ffff:203.0.113.9",
];
pub const INTERNAL: [&str; 8] = [
    "127.0.0.1",
    "::1",
    "192.168.1.1",
    "169.254.1.1",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    "0.0.0.0",
];

/// Whether `ip` is one of the internal addresses only DNS answers hand in.
pub fn from_dns_only(ip: IpAddr) -> bool {
    INTERNAL.iter().any(|s| s.parse::<IpAddr>().unwrap() == ip)
}

/// A resolver's result chosen by the fuzz bytes: a failure of either kind, or up to 24 addresses
/// (more than the machine keeps; none counts as not found) drawn from public and internal ones of
/// both families, with repeats, with no TTL, a TTL of 0, of up to 18 hours, or the largest one.
/// Checks an HTTP request the machine handed out: it carries the addresses to connect to, and an
/// internal one only when it may reach internal addresses.
pub fn check_http_addresses(request: &bt_tracker::announce::HttpRequest) {
    assert!(request.url.as_str().starts_with("http"), "{}", request.url);
    assert!(
        !request.addresses.is_empty(),
        "an HTTP request without addresses"
    );
    assert!(
        request.may_reach_internal
            || !request
                .addresses
                .iter()
                .any(|a| bt_tracker::announce::is_internal_address(a.ip())),
        "{} may not reach internal addresses but carries {:?}",
        request.url,
        request.addresses
    );
}

pub fn dns_result(b: &mut Bytes<'_>) -> Result<DnsAnswer, DnsError> {
    match b.u8() % 8 {
        0 => return Err(DnsError::NotFound),
        1 => return Err(DnsError::Failed),
        _ => {}
    }
    let count = usize::from(b.u8() % 25);
    let addresses = (0..count)
        .map(|_| {
            let k = usize::from(b.u8());
            let s = if k % 2 == 0 {
                PUBLIC[k / 2 % PUBLIC.len()]
            } else {
                INTERNAL[k / 2 % INTERNAL.len()]
            };
            s.parse().unwrap()
        })
        .collect();
    let ttl = match b.u8() % 4 {
        0 => None,
        1 => Some(Duration::ZERO),
        2 => Some(Duration::from_secs(u64::from(b.u16()))),
        _ => Some(Duration::MAX),
    };
    Ok(DnsAnswer { addresses, ttl })
}

/// DNS queries handed out and not yet answered: their ids, names and deadlines.
#[derive(Default)]
pub struct Queries(pub Vec<DnsQuery>);

impl Queries {
    /// Checks a query from `poll_dns_query` and keeps it: a name, never an IP literal, lowercase,
    /// with a deadline after `now`, and no other query for the same name still in flight.
    pub fn asked(&mut self, query: DnsQuery, now: Instant) {
        assert!(!query.host.is_empty(), "a query without a name");
        assert!(
            query.host.parse::<IpAddr>().is_err() && !query.host.starts_with('['),
            "a query for an IP literal: {}",
            query.host
        );
        assert_eq!(
            query.host,
            query.host.to_ascii_lowercase(),
            "a name not lowercase"
        );
        assert!(query.deadline > now, "a query whose deadline has passed");
        assert!(
            !self
                .0
                .iter()
                .any(|q| q.host == query.host && q.deadline > now),
            "two queries in flight for {}",
            query.host
        );
        assert!(self.0.iter().all(|q| q.id != query.id), "a query id reused");
        self.0.push(query);
    }

    /// A query to answer, chosen by the fuzz bytes: one handed out (in flight or past its
    /// deadline), or any small id (never handed out, already answered, or by chance one in
    /// flight). Returns the id and whether it was handed out and not yet answered; either way it
    /// is answered now, so it leaves the list.
    pub fn pick(&mut self, b: &mut Bytes<'_>) -> (DnsQueryId, bool) {
        let k = usize::from(b.u8());
        let id = if k % 8 == 7 || self.0.is_empty() {
            DnsQueryId(u64::from(b.u8()))
        } else {
            self.0[k % self.0.len()].id
        };
        let before = self.0.len();
        self.0.retain(|q| q.id != id);
        (id, self.0.len() < before)
    }
}

/// The event queue's documented bound, checked on one drain: at most one announce outcome, one
/// scrape outcome and one `TrackerDisabled` per torrent and tracker id, and one `Stopped` per
/// torrent (a later outcome of the same tracker and kind takes a waiting one's place). Holds
/// however many trackers were added and removed between drains.
#[derive(Default)]
pub struct DrainKeys(HashSet<(TorrentId, Option<TrackerId>, u8)>);

impl DrainKeys {
    pub fn check(&mut self, torrent: TorrentId, event: &Event) {
        let key = match event {
            Event::Announced(a) => (Some(a.tracker), 0),
            Event::Failed(f) if f.request == RequestKind::Scrape => (Some(f.tracker), 1),
            Event::Failed(f) => (Some(f.tracker), 0),
            Event::Scraped(s) => (Some(s.tracker), 1),
            Event::TrackerDisabled { tracker } => (Some(*tracker), 2),
            _ => (None, 3),
        };
        assert!(
            self.0.insert((torrent, key.0, key.1)),
            "two events of one kind for one tracker waited in one drain: {event:?}"
        );
    }
}
