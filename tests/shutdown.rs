//! Shutdown sends `stopped` to every tracker that was sent `started`, answered or not (rtorrent#1477:
//! a `stop()` while `started` was in flight left a phantom peer at the tracker), and to no other;
//! for `Announce::stop`, `Client::remove` and `Client::stop`, over UDP and HTTP. Also: one torrent's
//! announce and scrape share one UDP connect.

mod common;

use common::start;
use std::net::SocketAddr;
use std::time::Instant;

use bt_tracker::announce::{
    Announce, Cause, Config, Event, HttpRequest, Origin, Progress, RequestKind, Torrent, TorrentId,
};
use bt_tracker::client::Client;
use bt_tracker::udp::Request;
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use common::udp::{connect_reply, datagrams};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const UDP: &str = "udp://127.0.0.1:6969/announce";
const HTTP: &str = "http://127.0.0.1:8080/announce";

fn torrent(n: u8) -> Torrent {
    Torrent {
        info_hash: InfoHash([n; 20]),
        peer_id: PeerId(*b"-BT0001-shutdown0001"),
        port: 6881,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: Some(1),
    }
}

fn announce(url: &str, now: Instant) -> Announce {
    let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    Announce::new(Config::default(), torrent(1), tiers, &mut rng, now).unwrap()
}

/// The announce event a datagram carries (`None` for a connect or a scrape).
fn event_of(bytes: &[u8]) -> Option<(AnnounceEvent, i32)> {
    match Request::parse(bytes) {
        Ok(Request::Announce(a)) => Some((a.event, a.num_want)),
        _ => None,
    }
}

fn tracker() -> SocketAddr {
    "127.0.0.1:6969".parse().unwrap()
}

#[test]
fn announce_stop_sends_stopped_over_udp_when_started_is_unanswered() {
    let now = start();
    let mut a = announce(UDP, now);
    let sent = datagrams(|b| a.poll_transmit(b));
    assert_eq!(sent.len(), 1, "the connect");
    assert!(a.handle_datagram(now, tracker(), &connect_reply(&sent[0].1)));
    let sent = datagrams(|b| a.poll_transmit(b));
    assert_eq!(event_of(&sent[0].1), Some((AnnounceEvent::Started, 200)));

    a.stop(now);
    let sent = datagrams(|b| a.poll_transmit(b));
    assert_eq!(sent.len(), 1);
    assert_eq!(event_of(&sent[0].1), Some((AnnounceEvent::Stopped, 0)));
    let events: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert!(
        matches!(&events[..], [Event::Failed(f)] if f.cause == Cause::Cancelled
            && f.request == RequestKind::Announce(AnnounceEvent::Started)),
        "{events:?}"
    );
    // Unanswered, it is sent again within stop_timeout, then Stopped comes at the deadline.
    let deadline = now + Config::default().stop_timeout;
    let mut sends = 1;
    while let Some(t) = a.poll_timeout() {
        assert!(t <= deadline);
        a.handle_timeout(t);
        sends += datagrams(|b| a.poll_transmit(b)).len();
    }
    assert_eq!(sends, Config::default().udp_max_attempts as usize);
    let events: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(events.last(), Some(&Event::Stopped));
}

#[test]
fn announce_stop_sends_stopped_over_http_when_the_started_get_is_unanswered() {
    let now = start();
    let mut a = announce(HTTP, now);
    let started = a.poll_http_request().unwrap();
    assert!(started.url.as_str().contains("event=started"));
    a.stop(now);
    let stopped: Vec<HttpRequest> = std::iter::from_fn(|| a.poll_http_request()).collect();
    assert_eq!(stopped.len(), 1);
    assert_eq!(
        stopped[0].kind,
        RequestKind::Announce(AnnounceEvent::Stopped)
    );
    assert!(
        stopped[0].url.as_str().contains("event=stopped")
            && stopped[0].url.as_str().contains("numwant=0")
    );
    assert_eq!(stopped[0].deadline, now + Config::default().stop_timeout);
}

#[test]
fn a_tracker_sent_only_a_connect_gets_nothing_at_stop() {
    let now = start();
    let mut a = announce(UDP, now);
    assert_eq!(datagrams(|b| a.poll_transmit(b)).len(), 1, "the connect");
    a.stop(now);
    assert!(datagrams(|b| a.poll_transmit(b)).is_empty());
    let events: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(events.last(), Some(&Event::Stopped));
    assert!(a.is_stopped());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn an_http_tracker_whose_started_was_never_handed_out_gets_nothing_at_stop() {
    let now = start();
    let mut a = announce(HTTP, now);
    // The started GET is queued but not drained: nothing went out.
    a.stop(now);
    let requests: Vec<HttpRequest> = std::iter::from_fn(|| a.poll_http_request()).collect();
    assert!(requests.is_empty(), "{requests:?}");
    assert!(a.is_stopped());
}

fn client_with(n: u8, url: &str, now: Instant) -> (Client, Vec<TorrentId>) {
    let mut rng = ChaCha12Rng::seed_from_u64(2);
    let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
    let ids = (0..n)
        .map(|k| {
            let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
            client.add(now, torrent(k), tiers).unwrap()
        })
        .collect();
    (client, ids)
}

#[test]
fn client_remove_and_stop_send_stopped_over_udp_when_started_is_unanswered() {
    let now = start();
    let (mut client, ids) = client_with(3, UDP, now);
    let sent = datagrams(|b| client.poll_transmit(b));
    assert_eq!(sent.len(), 1, "one connect shared by the three torrents");
    assert!(client.handle_datagram(now, tracker(), &connect_reply(&sent[0].1)));
    let sent = datagrams(|b| client.poll_transmit(b));
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter()
            .all(|(_, b)| event_of(b) == Some((AnnounceEvent::Started, 200)))
    );

    assert!(client.remove(now, ids[0]));
    let sent = datagrams(|b| client.poll_transmit(b));
    assert_eq!(sent.len(), 1);
    assert_eq!(event_of(&sent[0].1), Some((AnnounceEvent::Stopped, 0)));
    assert!(matches!(sent[0].0.origin, Origin::Tracker { torrent, .. } if torrent == ids[0]));

    client.stop(now);
    let sent = datagrams(|b| client.poll_transmit(b));
    let mut owners: Vec<TorrentId> = sent
        .iter()
        .filter(|(_, b)| event_of(b) == Some((AnnounceEvent::Stopped, 0)))
        .filter_map(|(t, _)| t.origin.torrent())
        .collect();
    owners.sort_unstable();
    assert_eq!(owners, ids[1..].to_vec());
}

#[test]
fn client_stop_sends_stopped_over_http_when_the_started_get_is_unanswered() {
    let now = start();
    let (mut client, ids) = client_with(2, HTTP, now);
    let started: Vec<HttpRequest> = std::iter::from_fn(|| client.poll_http_request()).collect();
    assert_eq!(started.len(), 2);
    client.stop(now);
    let stopped: Vec<HttpRequest> = std::iter::from_fn(|| client.poll_http_request()).collect();
    let mut owners: Vec<TorrentId> = stopped
        .iter()
        .filter(|r| r.kind == RequestKind::Announce(AnnounceEvent::Stopped))
        .filter_map(|r| r.origin.torrent())
        .collect();
    owners.sort_unstable();
    assert_eq!(owners, ids);
}

#[test]
fn one_torrents_announce_and_scrape_share_one_udp_connect() {
    let now = start();
    let mut a = announce(UDP, now);
    a.scrape(now);
    let sent = datagrams(|b| a.poll_transmit(b));
    assert_eq!(sent.len(), 1, "one connect for the announce and the scrape");
    assert!(matches!(
        Request::parse(&sent[0].1),
        Ok(Request::Connect(_))
    ));
    assert!(a.handle_datagram(now, tracker(), &connect_reply(&sent[0].1)));
    let sent = datagrams(|b| a.poll_transmit(b));
    let kinds: Vec<&str> = sent
        .iter()
        .map(|(_, b)| match Request::parse(b) {
            Ok(Request::Announce(_)) => "announce",
            Ok(Request::Scrape(_)) => "scrape",
            _ => "connect",
        })
        .collect();
    assert_eq!(kinds, ["announce", "scrape"]);
}

#[test]
fn a_request_waiting_for_its_torrents_connect_sends_its_own_when_that_one_is_not_answered() {
    let now = start();
    let mut a = announce(UDP, now);
    a.scrape(now);
    assert_eq!(datagrams(|b| a.poll_transmit(b)).len(), 1);
    // The connect's first wait (15 s) passes unanswered: the announce resends its connect, and the
    // scrape, which sent nothing yet, waits on for that one.
    let t = a.poll_timeout().unwrap();
    assert_eq!(t, now + Config::default().udp_rto);
    a.handle_timeout(t);
    assert_eq!(
        datagrams(|b| a.poll_transmit(b)).len(),
        1,
        "one connect, not two"
    );
}

#[test]
fn removing_one_torrent_during_a_start_up_backlog_sends_its_stopped_ahead_of_the_backlog() {
    let now = start();
    let (mut client, ids) = client_with(200, UDP, now);
    let sent = datagrams(|b| client.poll_transmit(b));
    assert!(client.handle_datagram(now, tracker(), &connect_reply(&sent[0].1)));
    let first = datagrams(|b| client.poll_transmit(b));
    // The window's first 16 (joined to one connect) went out, and one more as the connect's
    // answer grew the window to 17; the other 183 wait for places.
    assert_eq!(first.len(), 17);
    let sent_started = first[10].0.origin.torrent().unwrap();
    assert!(client.remove(now, sent_started));
    let sent = datagrams(|b| client.poll_transmit(b));
    assert_eq!(
        sent.len(),
        1,
        "the stopped goes now, not after the 183 waiting announces"
    );
    assert_eq!(event_of(&sent[0].1), Some((AnnounceEvent::Stopped, 0)));
    assert_eq!(sent[0].0.origin.torrent(), Some(sent_started));
    // A torrent still waiting for a place owes nothing: removing it sends nothing and it just
    // leaves the queue.
    let waiting = *ids.last().unwrap();
    assert!(client.remove(now, waiting));
    assert!(datagrams(|b| client.poll_transmit(b)).is_empty());
}
