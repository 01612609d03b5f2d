//! The many-torrent `Client` driven by fuzz bytes: torrents added and removed at any time on a few
//! shared trackers, replies to recent datagrams (well-formed headers, fuzz bodies, from the tracker
//! or a spoofed port), HTTP responses and transport errors for recent requests, per-torrent
//! commands, answers to DNS queries (addresses of both families, internal ones among them,
//! failures, TTLs, unknown ids; a query may also never be answered), time forwards and backwards,
//! with any `Config::families` (dual-stack too). After every step the client is drained and the
//! contract checked: no panic, every datagram fits the buffer, two requests never share a
//! transaction id in one drain, nothing arrives for a torrent after its `Stopped`, a stopped
//! removed torrent is gone, after `handle_timeout(now)` the next deadline is later than `now`, one
//! query per name at a time, and nothing goes to an internal address a public name resolved to.
#![no_main]

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Config, Event, Families, Progress, RequestId, Torrent, TorrentId, TransportError,
};
use bt_tracker::client::Client;
use bt_tracker::http::HttpResponse;
use bt_tracker::udp::MAX_REQUEST_LEN;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use common::{
    Bytes, DrainKeys, Queries, check_http_addresses, dns_result, from_dns_only, reply, source,
};
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const TRACKERS: [&str; 6] = [
    "udp://10.0.0.1:6969/announce",
    "udp://10.0.0.1:6969/announce?passkey=x",
    "udp://[2001:db8::1]:6969",
    "http://10.0.1.1/announce",
    "udp://tracker.example:6969/announce",
    "http://tracker.example/announce",
];

/// The trackers of `TRACKERS` named by a host name: with `Families::Both` each is a tracker per
/// family.
const NAMED: usize = 2;

const FAMILIES: [Families; 4] = [Families::Any, Families::V4, Families::V6, Families::Both];

#[derive(Default)]
struct Seen {
    /// Recent datagrams: destination and transaction id.
    udp: Vec<(SocketAddr, [u8; 4])>,
    http: Vec<RequestId>,
    ids: Vec<TorrentId>,
    removed: HashSet<TorrentId>,
    stopped: HashSet<TorrentId>,
    dns: Queries,
    /// The most trackers one torrent can have (named ones twice in dual-stack mode).
    max_trackers: usize,
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mut config = Config::default();
    let knobs = b.u8();
    config.tracker_burst = 1 + u32::from(knobs % 4);
    config.families = FAMILIES[usize::from(knobs / 4) % FAMILIES.len()];
    let both = config.families == Families::Both;
    let t0 = Instant::now();
    let mut rng = ChaCha12Rng::seed_from_u64(u64::from(b.u16()));
    let Ok(mut client) = Client::new(config, &mut rng, t0) else {
        return;
    };
    let mut now = t0;
    let mut seen = Seen {
        max_trackers: TRACKERS.len() + if both { NAMED } else { 0 },
        ..Seen::default()
    };
    let mut next_hash = 0u8;
    for _ in 0..512 {
        if b.is_empty() {
            break;
        }
        let pick = |b: &mut Bytes<'_>, seen: &Seen| {
            let k = usize::from(b.u8());
            seen.ids.get(k % seen.ids.len().max(1)).copied()
        };
        let mut timed_out = false;
        match b.u8() % 10 {
            0 => {
                let mask = b.u8();
                let tiers: Vec<Vec<TrackerUrl>> = (0..TRACKERS.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| vec![TrackerUrl::parse(TRACKERS[i]).unwrap()])
                    .collect();
                next_hash = next_hash.wrapping_add(1);
                let torrent = Torrent {
                    info_hash: InfoHash([next_hash; 20]),
                    peer_id: PeerId(*b"-BT0100-fuzzfuzzfuzz"),
                    port: 6881,
                    progress: Progress {
                        left: 1,
                        ..Progress::default()
                    },
                    key: None,
                };
                if let Ok(id) = client.add(now, torrent, tiers) {
                    assert!(!seen.ids.contains(&id), "a torrent id given out twice");
                    seen.ids.push(id);
                }
            }
            1 => {
                now += Duration::from_millis(u64::from(b.u16()) * 10);
                client.handle_timeout(now);
                timed_out = true;
            }
            2 => {
                if let Some(t) = client.poll_timeout() {
                    now = now.max(t);
                }
                client.handle_timeout(now);
                timed_out = true;
            }
            3 => {
                let k = usize::from(b.u8());
                let Some(&(to, txid)) = seen.udp.get(k % seen.udp.len().max(1)) else {
                    continue;
                };
                let datagram = reply(&mut b, txid);
                let from = source(&mut b, to);
                client.handle_datagram(now, from, &datagram);
            }
            4 => {
                let k = usize::from(b.u8());
                let Some(&id) = seen.http.get(k % seen.http.len().max(1)) else {
                    continue;
                };
                let status = [200, 200, 302, 400, 410, 414, 500][usize::from(b.u8() % 7)];
                let len = usize::from(b.u8());
                let body = b.take(len);
                let response = HttpResponse::new(status, Some("/elsewhere"), body);
                client.handle_http_response(now, id, &response);
            }
            5 => {
                let id = match b.u8() % 3 {
                    0 => RequestId(u64::from(b.u16()) << 24),
                    1 => RequestId(u64::from(b.u8())),
                    _ => *seen.http.last().unwrap_or(&RequestId(1)),
                };
                client.handle_transport_error(now, id, TransportError::ConnectionRefused);
            }
            6 => {
                let Some(id) = pick(&mut b, &seen) else {
                    continue;
                };
                match b.u8() % 5 {
                    0 => {
                        let _ = client.announce_now(now, id);
                    }
                    1 => {
                        client.scrape(now, id);
                    }
                    2 => {
                        client.completed(now, id);
                    }
                    3 => {
                        if client.remove(now, id) {
                            seen.removed.insert(id);
                        }
                    }
                    _ => {
                        client.set_progress(id, Progress::default());
                    }
                }
            }
            7 => {
                let len = usize::from(b.u8());
                let raw = b.take(len).to_vec();
                let from: SocketAddr = "10.0.0.1:6969".parse().unwrap();
                client.handle_datagram(now, from, &raw);
            }
            8 => {
                let (id, handed_out) = seen.dns.pick(&mut b);
                let used = client.handle_dns_response(now, id, dns_result(&mut b));
                assert!(
                    handed_out || !used,
                    "an answer to {id:?}, never asked or already answered, was used"
                );
            }
            _ => {
                if b.u8() % 16 == 0 {
                    client.stop(now);
                    seen.removed.extend(seen.ids.iter().copied());
                } else {
                    let back = Duration::from_millis(u64::from(b.u16()));
                    client.handle_timeout(now.checked_sub(back).unwrap_or(now));
                }
            }
        }
        drain(&mut client, now, &mut seen, timed_out);
    }
});

/// The drain rule, with the contract checked on everything that comes out.
fn drain(client: &mut Client, now: Instant, seen: &mut Seen, timed_out: bool) {
    while let Some(query) = client.poll_dns_query() {
        seen.dns.asked(query, now);
    }
    let mut buf = Vec::new();
    let mut txids: HashMap<[u8; 4], RequestId> = HashMap::new();
    while let Some(t) = client.poll_transmit(&mut buf) {
        assert!(
            (16..=MAX_REQUEST_LEN).contains(&t.len),
            "datagram of {} bytes",
            t.len
        );
        let txid = [buf[12], buf[13], buf[14], buf[15]];
        if let Some(other) = txids.insert(txid, t.request) {
            assert_eq!(
                other, t.request,
                "two requests sent with one transaction id"
            );
        }
        let to = t.destination;
        assert!(
            !from_dns_only(to.ip()),
            "a datagram to {to}, an internal address a public name resolved to"
        );
        seen.udp.push((to, txid));
    }
    while let Some(request) = client.poll_http_request() {
        check_http_addresses(&request);
        seen.http.push(request.id);
    }
    if timed_out && let Some(deadline) = client.poll_timeout() {
        assert!(
            deadline > now,
            "a deadline in the past after handle_timeout and a drain"
        );
    }
    let mut events = 0;
    let mut keys = DrainKeys::default();
    while let Some((id, event)) = client.poll_event() {
        events += 1;
        keys.check(id, &event);
        // At most 3 per tracker and one Stopped per torrent ever added: the documented bound.
        assert!(
            events <= (3 * seen.max_trackers + 1) * seen.ids.len(),
            "more events queued than the bound"
        );
        assert!(
            !seen.stopped.contains(&id),
            "an event after Stopped: {event:?}"
        );
        if event == Event::Stopped {
            assert!(
                seen.removed.contains(&id),
                "Stopped for a torrent never removed"
            );
            seen.stopped.insert(id);
            assert!(
                !client.contains(id),
                "a stopped removed torrent is still held"
            );
        }
    }
    // Recent activity is enough to aim replies at.
    keep_recent(&mut seen.udp);
    keep_recent(&mut seen.http);
}

fn keep_recent<T>(v: &mut Vec<T>) {
    let excess = v.len().saturating_sub(16);
    v.drain(..excess);
}
