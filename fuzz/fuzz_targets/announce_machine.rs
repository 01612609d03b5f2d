//! The whole `Announce` machine driven by fuzz bytes (str0m's approach): the bytes choose among
//! time steps (forwards and backwards), datagrams (well-formed replies to what was just sent, or
//! garbage, from the tracker or elsewhere), HTTP responses and transport errors, answers to DNS
//! queries (addresses of both families, internal ones among them, failures, TTLs, unknown ids; a
//! query may also never be answered), and commands, with any `Config::families` (dual-stack too).
//! After every step the machine is drained, and the sans-IO contract is checked: no panic, every
//! datagram fits the buffer, the deadline is never in the past after a drain, the event queue stays
//! within its cap, nothing comes out after `Event::Stopped`, one query per name at a time, and
//! nothing goes to an internal address a public name resolved to.
#![no_main]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Config, Event, Families, Progress, RequestId, TierMode, Torrent, TorrentId,
    TrackerId, TransportError,
};
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
    "udp://[2001:db8::1]:6969/announce?passkey=x",
    "http://10.0.1.1/announce",
    "https://tracker.example/announce",
    "udp://tracker.example:6969/announce",
    "udp://dual.example:6969",
];

const FAMILIES: [Families; 4] = [Families::Any, Families::V4, Families::V6, Families::Both];

#[derive(Default)]
struct Seen {
    /// Destination and transaction id of the latest datagram.
    udp: Option<(SocketAddr, [u8; 4])>,
    http: Option<RequestId>,
    stopped: bool,
    dns: Queries,
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mut config = Config::default();
    let mode = b.u8();
    config.tier_mode = match mode % 3 {
        0 => TierMode::OneTracker,
        1 => TierMode::AllTiers,
        _ => TierMode::AllTrackers,
    };
    config.families = FAMILIES[usize::from(mode / 3) % FAMILIES.len()];
    let url = |i: usize| TrackerUrl::parse(TRACKERS[i]).unwrap();
    let tiers: Vec<Vec<TrackerUrl>> = match b.u8() % 4 {
        0 => vec![vec![TrackerUrl::parse(TRACKERS[0]).unwrap()]],
        1 => vec![
            TRACKERS[..2]
                .iter()
                .map(|u| TrackerUrl::parse(u).unwrap())
                .collect(),
        ],
        2 => TRACKERS[..4]
            .iter()
            .map(|u| vec![TrackerUrl::parse(u).unwrap()])
            .collect(),
        // Host names: a tier of a named and a literal tracker, then one named tracker per tier.
        _ => vec![vec![url(4), url(0)], vec![url(5)], vec![url(3)]],
    };
    let torrent = Torrent {
        info_hash: InfoHash([1; 20]),
        peer_id: PeerId(*b"-BT0100-fuzzfuzzfuzz"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    };
    let t0 = Instant::now();
    let mut rng = ChaCha12Rng::seed_from_u64(u64::from(b.u16()));
    let Ok(mut announce) = Announce::new(config, torrent, tiers, &mut rng, t0) else {
        return;
    };
    let mut now = t0;
    let mut seen = Seen::default();
    drain(&mut announce, now, &mut seen);
    for _ in 0..512 {
        if b.is_empty() {
            break;
        }
        match b.u8() % 9 {
            0 => {
                now += Duration::from_millis(u64::from(b.u16()) * 10);
                announce.handle_timeout(now);
            }
            1 => {
                if let Some(t) = announce.poll_timeout() {
                    now = now.max(t);
                    announce.handle_timeout(now);
                }
            }
            2 => {
                let Some((to, txid)) = seen.udp else { continue };
                let datagram = reply(&mut b, txid);
                let from = source(&mut b, to);
                announce.handle_datagram(now, from, &datagram);
            }
            3 => {
                let Some(id) = seen.http else { continue };
                let status = [200, 200, 301, 302, 307, 400, 404, 410, 500][usize::from(b.u8() % 9)];
                let location = match b.u8() % 4 {
                    0 => None,
                    1 => Some("http://10.0.1.2/announce".to_owned()),
                    2 => Some("http://169.254.169.254/".to_owned()),
                    _ => Some(String::from_utf8_lossy(b.take(24)).into_owned()),
                };
                let len = usize::from(b.u8());
                let body = b.take(len);
                let response = HttpResponse::new(status, location.as_deref(), body);
                announce.handle_http_response(now, id, &response);
            }
            4 => {
                let Some(id) = seen.http.or(Some(RequestId(u64::from(b.u8())))) else {
                    continue;
                };
                let error = [
                    TransportError::Dns,
                    TransportError::ConnectionRefused,
                    TransportError::ConnectionReset,
                    TransportError::Tls,
                    TransportError::BadResponse,
                    TransportError::InternalAddress,
                    TransportError::Other,
                ][usize::from(b.u8() % 7)];
                announce.handle_transport_error(now, id, error);
            }
            5 => match b.u8() % 14 {
                0 => {
                    let _ = announce.announce_now(now);
                }
                1 => announce.scrape(now),
                2 => announce.completed(now),
                3 => announce.set_progress(Progress {
                    uploaded: u64::from(b.u16()),
                    downloaded: 0,
                    left: 0,
                    ..Progress::default()
                }),
                4 => {
                    let _ = announce.announce_tracker(now, TrackerId(u16::from(b.u8() % 10)));
                }
                5 => {
                    announce.scrape_tracker(now, TrackerId(u16::from(b.u8() % 10)));
                }
                6 => {
                    announce.pause(now);
                }
                7 => {
                    announce.resume(now);
                }
                8 => {
                    announce.remove_tracker(now, TrackerId(u16::from(b.u8() % 10)));
                }
                9 => {
                    let url = TrackerUrl::parse(TRACKERS[usize::from(b.u8()) % TRACKERS.len()]);
                    let _ = announce.add_tracker(now, url.unwrap(), usize::from(b.u8() % 4));
                }
                10 => {
                    let tiers = TRACKERS
                        .iter()
                        .filter(|_| b.u8() % 2 == 0)
                        .map(|u| vec![TrackerUrl::parse(u).unwrap()])
                        .collect();
                    let _ = announce.replace_trackers(now, tiers);
                }
                11 => {
                    let _ = announce.set_port(now, b.u16());
                }
                12 => announce.set_partial_seed(b.u8() % 2 == 0),
                _ => announce.stop(now),
            },
            6 => {
                let len = usize::from(b.u8());
                let raw = b.take(len).to_vec();
                let from: SocketAddr = "10.0.0.1:6969".parse().unwrap();
                announce.handle_datagram(now, from, &raw);
            }
            8 => {
                let (id, handed_out) = seen.dns.pick(&mut b);
                let used = announce.handle_dns_response(now, id, dns_result(&mut b));
                assert!(
                    handed_out || !used,
                    "an answer to {id:?}, never asked or already answered, was used"
                );
            }
            _ => {
                // Time that goes backwards must be harmless.
                let back = Duration::from_millis(u64::from(b.u16()));
                announce.handle_timeout(now.checked_sub(back).unwrap_or(now));
            }
        }
        drain(&mut announce, now, &mut seen);
    }
});

/// The drain rule, with the contract checked on everything that comes out.
fn drain(announce: &mut Announce, now: Instant, seen: &mut Seen) {
    while let Some(query) = announce.poll_dns_query() {
        assert!(!seen.stopped, "a DNS query after Event::Stopped");
        seen.dns.asked(query, now);
    }
    let mut buf = Vec::new();
    while let Some(t) = announce.poll_transmit(&mut buf) {
        assert!(!seen.stopped, "a datagram after Event::Stopped");
        assert!(
            (16..=MAX_REQUEST_LEN).contains(&t.len),
            "datagram of {} bytes",
            t.len
        );
        let to = t.destination;
        assert!(
            !from_dns_only(to.ip()),
            "a datagram to {to}, an internal address a public name resolved to"
        );
        seen.udp = Some((to, [buf[12], buf[13], buf[14], buf[15]]));
    }
    while let Some(request) = announce.poll_http_request() {
        assert!(!seen.stopped, "an HTTP request after Event::Stopped");
        check_http_addresses(&request);
        seen.http = Some(request.id);
    }
    if let Some(deadline) = announce.poll_timeout() {
        assert!(!seen.stopped, "a timer after Event::Stopped");
        assert!(deadline > now, "a deadline in the past after a full drain");
    }
    // Trackers removed while their `stopped` is in flight keep their ids, so the bound is per id.
    let mut keys = DrainKeys::default();
    while let Some(event) = announce.poll_event() {
        keys.check(TorrentId(0), &event);
        if event == Event::Stopped {
            seen.stopped = true;
        }
    }
}
