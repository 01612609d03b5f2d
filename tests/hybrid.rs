//! BEP 52 hybrid torrents (PROTOCOL.md section 12.3): one torrent, two info hashes, two swarms.
//! A `HybridAnnounce` and a `Client` with `add_hybrid` against the sans-IO tracker on an
//! in-memory link with a virtual clock, over UDP and HTTP: each swarm's peers, the merged view,
//! `stopped` for both swarms, and scrapes of both hashes.

mod machine;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Config, DnsAnswer, Event, HttpRequest, HybridAnnounce, HybridPeers, Progress, RequestId, Swarm,
    Swarms, Torrent, TrackerState, Transmit, TransportError,
};
use bt_tracker::client::{Client, HybridIds};
use bt_tracker::http::{HttpResponse, percent_encode};
use bt_tracker::tracker::{Behaviour, Tracker, TrackerConfig};
use bt_tracker::udp::Request;
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use machine::{Delivery, OtherPeer, addr, epoch, http_target};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

const V1: InfoHash = InfoHash([0x11; 20]);
const TRACKER: &str = "203.0.113.5:6969";
const ME: &str = "198.51.100.9:40001";
const PEER_ID: PeerId = PeerId(*b"-BT0100-hybrid-00001");

fn v2() -> InfoHash {
    InfoHash::from_v2(&[0x22; 32])
}

fn torrent() -> Torrent {
    Torrent {
        info_hash: V1,
        peer_id: PEER_ID,
        port: addr(ME).port(),
        progress: Progress {
            left: 1000,
            ..Progress::default()
        },
        key: None,
    }
}

fn tiers(scheme: &str) -> Vec<Vec<TrackerUrl>> {
    let url = format!("{scheme}://{TRACKER}/announce");
    vec![vec![TrackerUrl::parse(&url).unwrap()]]
}

/// What the tests need of a hybrid torrent's machine: a `HybridAnnounce`, or a `Client` holding
/// one hybrid torrent.
trait Machine {
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit>;
    fn poll_http_request(&mut self) -> Option<HttpRequest>;
    fn poll_event(&mut self) -> Option<(Swarm, Event)>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> bool;
    fn handle_http_response(&mut self, now: Instant, id: RequestId, r: &HttpResponse<'_>) -> bool;
    fn handle_timeout(&mut self, now: Instant);
    fn stop(&mut self, now: Instant);
    fn scrape(&mut self, now: Instant);
}

impl Machine for HybridAnnounce {
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        HybridAnnounce::poll_transmit(self, buf)
    }
    fn poll_http_request(&mut self) -> Option<HttpRequest> {
        HybridAnnounce::poll_http_request(self)
    }
    fn poll_event(&mut self) -> Option<(Swarm, Event)> {
        HybridAnnounce::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        HybridAnnounce::poll_timeout(self)
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> bool {
        HybridAnnounce::handle_datagram(self, now, from, bytes)
    }
    fn handle_http_response(&mut self, now: Instant, id: RequestId, r: &HttpResponse<'_>) -> bool {
        HybridAnnounce::handle_http_response(self, now, id, r)
    }
    fn handle_timeout(&mut self, now: Instant) {
        HybridAnnounce::handle_timeout(self, now)
    }
    fn stop(&mut self, now: Instant) {
        HybridAnnounce::stop(self, now)
    }
    fn scrape(&mut self, now: Instant) {
        HybridAnnounce::scrape(self, now)
    }
}

/// A `Client` with one hybrid torrent; its events are tagged with their swarm, and the merged
/// view is the caller's `HybridPeers`, as the `add_hybrid` docs say.
struct InClient {
    client: Client,
    ids: HybridIds,
    peers: HybridPeers,
}

impl Machine for InClient {
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.client.poll_transmit(buf)
    }
    fn poll_http_request(&mut self) -> Option<HttpRequest> {
        self.client.poll_http_request()
    }
    fn poll_event(&mut self) -> Option<(Swarm, Event)> {
        let (torrent, event) = self.client.poll_event()?;
        let swarm = self.ids.swarm_of(torrent).expect("one of the two swarms");
        if let Event::Announced(a) = &event
            && a.event != AnnounceEvent::Stopped
        {
            self.peers.record(swarm, &a.peers);
        }
        Some((swarm, event))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.client.poll_timeout()
    }
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> bool {
        self.client.handle_datagram(now, from, bytes)
    }
    fn handle_http_response(&mut self, now: Instant, id: RequestId, r: &HttpResponse<'_>) -> bool {
        self.client.handle_http_response(now, id, r)
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.client.handle_timeout(now)
    }
    fn stop(&mut self, now: Instant) {
        self.client.stop(now)
    }
    fn scrape(&mut self, now: Instant) {
        for id in [self.ids.v1, self.ids.v2] {
            assert!(self.client.scrape(now, id));
        }
    }
}

fn hybrid_announce(scheme: &str) -> HybridAnnounce {
    let mut rng = ChaCha12Rng::seed_from_u64(52);
    HybridAnnounce::new(
        Config::default(),
        torrent(),
        v2(),
        tiers(scheme),
        &mut rng,
        epoch(),
    )
    .expect("a valid hybrid torrent")
}

fn in_client(scheme: &str) -> InClient {
    let mut rng = ChaCha12Rng::seed_from_u64(52);
    let mut client = Client::new(Config::default(), &mut rng, epoch()).unwrap();
    let ids = client
        .add_hybrid(epoch(), torrent(), v2(), tiers(scheme))
        .expect("a valid hybrid torrent");
    InClient {
        client,
        ids,
        peers: HybridPeers::new(Config::default().max_peers_per_reply),
    }
}

/// What the tracker received: (info hash, event, peer id, key) per announce, and the UDP connects.
#[derive(Default)]
struct Seen {
    announces: Vec<(InfoHash, AnnounceEvent, String)>,
    connects: usize,
    scraped_hashes: Vec<InfoHash>,
}

/// The machine and the tracker on an in-memory link; time jumps to the next due thing.
struct Link<M> {
    now: Instant,
    machine: M,
    tracker: Tracker,
    pending: Vec<(Instant, Delivery)>,
    seen: Seen,
}

impl<M: Machine> Link<M> {
    fn new(machine: M) -> Self {
        let mut rng = ChaCha12Rng::seed_from_u64(7);
        let tracker = Tracker::new(
            TrackerConfig::default(),
            Behaviour::honest(),
            &mut rng,
            epoch(),
        );
        Link {
            now: epoch(),
            machine,
            tracker,
            pending: Vec::new(),
            seen: Seen::default(),
        }
    }

    /// Another peer announces `hash` straight to the tracker over HTTP.
    fn other_peer(&mut self, hash: InfoHash, from: &str, n: u8, left: u64) {
        let peer = OtherPeer { from, n, left };
        let status = peer.announce(&mut self.tracker, self.now, hash, "started");
        assert_eq!(status, 200);
    }

    fn exchange(&mut self, events: &mut Vec<(Swarm, Event)>) {
        let (mut buf, mut out) = (Vec::new(), Vec::new());
        loop {
            let mut moved = false;
            while let Some(t) = self.machine.poll_transmit(&mut buf) {
                moved = true;
                assert_eq!(t.destination, addr(TRACKER));
                match Request::parse(&buf[..t.len]) {
                    Ok(Request::Connect(_)) => self.seen.connects += 1,
                    Ok(Request::Announce(a)) => self.seen.announces.push((
                        a.info_hash,
                        a.event,
                        format!("{:?} {:08X}", a.peer_id, a.key),
                    )),
                    Ok(Request::Scrape(s)) => self.seen.scraped_hashes.extend(s.info_hashes.iter()),
                    Err(e) => panic!("an unreadable request: {e}"),
                }
                self.tracker
                    .handle_datagram(self.now, addr(ME), &buf[..t.len]);
                while let Some(reply) = self.tracker.poll_transmit(&mut out) {
                    let bytes = out[..reply.len].to_vec();
                    self.pending
                        .push((reply.send_at, Delivery::Datagram(bytes)));
                }
            }
            while let Some(request) = self.machine.poll_http_request() {
                moved = true;
                let url = request.url.as_str();
                self.note_http(url);
                let answer = self
                    .tracker
                    .handle_http(self.now, addr(ME), http_target(url).as_bytes())
                    .expect("the honest tracker answers");
                self.pending
                    .push((answer.send_at, Delivery::Http(request.id, answer)));
            }
            while let Some(event) = self.machine.poll_event() {
                moved = true;
                events.push(event);
            }
            if !moved {
                return;
            }
        }
    }

    /// Records an HTTP announce's hash, event, peer id and key, or a scrape's hashes.
    fn note_http(&mut self, url: &str) {
        let hashes = [V1, v2()];
        let has = |h: &InfoHash| url.contains(&format!("info_hash={}", percent_encode(&h.0)));
        if url.contains("/scrape") {
            self.seen
                .scraped_hashes
                .extend(hashes.iter().filter(|h| has(h)));
            return;
        }
        let hash = *hashes.iter().find(|h| has(h)).expect("a known hash");
        let event = [
            ("event=started", AnnounceEvent::Started),
            ("event=stopped", AnnounceEvent::Stopped),
            ("event=completed", AnnounceEvent::Completed),
        ]
        .into_iter()
        .find(|(text, _)| url.contains(text))
        .map_or(AnnounceEvent::Regular, |(_, e)| e);
        let key = &url[url.find("&key=").unwrap() + 5..][..8];
        let peer_id = format!("{:?} {key}", PEER_ID);
        assert!(url.contains(&format!("peer_id={}", percent_encode(&PEER_ID.0))));
        self.seen.announces.push((hash, event, peer_id));
    }

    /// Runs until `done` holds for the events so far, for at most ten virtual minutes.
    fn run_until(&mut self, done: impl Fn(&[(Swarm, Event)]) -> bool) -> Vec<(Swarm, Event)> {
        let end = self.now + Duration::from_secs(600);
        let mut events = Vec::new();
        loop {
            self.exchange(&mut events);
            if done(&events) {
                return events;
            }
            let next = self
                .pending
                .iter()
                .map(|(at, _)| *at)
                .chain(self.machine.poll_timeout())
                .min()
                .expect("something is due");
            assert!(next <= end, "not done within 600 s: {events:?}");
            self.now = self.now.max(next);
            let (due, later) = self.pending.drain(..).partition(|(at, _)| *at <= self.now);
            self.pending = later;
            self.machine.handle_timeout(self.now);
            for (_, delivery) in due {
                let used = match delivery {
                    Delivery::Datagram(bytes) => {
                        self.machine
                            .handle_datagram(self.now, addr(TRACKER), &bytes)
                    }
                    Delivery::Http(id, answer) => {
                        self.machine
                            .handle_http_response(self.now, id, &answer.response())
                    }
                };
                assert!(used, "every answer of the honest tracker is used");
            }
        }
    }
}

/// Both swarms' outcomes of kind `pick` are in.
fn both_swarms(pick: impl Fn(&Event) -> bool) -> impl Fn(&[(Swarm, Event)]) -> bool {
    move |events| {
        [Swarm::V1, Swarm::V2]
            .iter()
            .all(|s| events.iter().any(|(w, e)| w == s && pick(e)))
    }
}

fn announced(e: &Event) -> bool {
    matches!(e, Event::Announced(_))
}

/// Peer A (a seeder) is in the v1 swarm only, B (a leecher) in the v2 swarm only, C (a leecher)
/// in both.
const A: &str = "192.0.2.1:6881";
const B: &str = "192.0.2.2:6882";
const C: &str = "192.0.2.3:6883";

fn populate<M: Machine>(link: &mut Link<M>) {
    link.other_peer(V1, A, 1, 0);
    link.other_peer(v2(), B, 2, 100);
    link.other_peer(V1, C, 3, 500);
    link.other_peer(v2(), C, 3, 500);
}

fn peers_of(events: &[(Swarm, Event)], swarm: Swarm) -> Vec<SocketAddr> {
    let mut peers: Vec<SocketAddr> = events
        .iter()
        .filter(|(s, _)| *s == swarm)
        .find_map(|(_, e)| match e {
            Event::Announced(a) => Some(a.peers.clone()),
            _ => None,
        })
        .expect("the swarm announced");
    peers.sort();
    peers
}

fn want_merged() -> Vec<(SocketAddr, Swarms)> {
    vec![
        (addr(A), Swarms::V1),
        (addr(B), Swarms::V2),
        (addr(C), Swarms::BOTH),
    ]
}

/// Both swarms announced with `started`, the same peer id and the same key, and each got its
/// own swarm's peers.
fn check_started<M: Machine>(link: &Link<M>, events: &[(Swarm, Event)], scheme: &str) {
    assert_eq!(
        peers_of(events, Swarm::V1),
        vec![addr(A), addr(C)],
        "{scheme}"
    );
    assert_eq!(
        peers_of(events, Swarm::V2),
        vec![addr(B), addr(C)],
        "{scheme}"
    );
    let started: Vec<_> = link
        .seen
        .announces
        .iter()
        .filter(|(_, e, _)| *e == AnnounceEvent::Started)
        .collect();
    assert_eq!(started.len(), 2, "{scheme}: {started:?}");
    assert_eq!(started[0].0, V1, "{scheme}");
    assert_eq!(started[1].0, v2(), "{scheme}");
    assert_eq!(started[0].2, started[1].2, "{scheme}: one peer id and key");
}

#[test]
fn a_hybrid_announce_gets_each_swarms_peers_and_merges_them_over_udp_and_http() {
    for scheme in ["udp", "http"] {
        let mut link = Link::new(hybrid_announce(scheme));
        populate(&mut link);
        let events = link.run_until(both_swarms(announced));
        check_started(&link, &events, scheme);
        let m = &link.machine;
        assert_eq!(m.peers(Swarm::V1), &[addr(A), addr(C)], "{scheme}");
        assert_eq!(m.peers(Swarm::V2), &[addr(B), addr(C)], "{scheme}");
        assert_eq!(
            m.merged_peers().collect::<Vec<_>>(),
            want_merged(),
            "{scheme}"
        );
        if scheme == "udp" {
            assert_eq!(link.seen.connects, 1, "one connect serves both swarms");
        }
        // Each swarm has its own status row for the tracker, both working.
        for swarm in [Swarm::V1, Swarm::V2] {
            let status: Vec<_> = m.trackers(swarm).collect();
            assert_eq!(status.len(), 1);
            assert_eq!(status[0].state, TrackerState::Working, "{scheme} {swarm:?}");
            assert_eq!(status[0].peers, Some(2), "{scheme} {swarm:?}");
        }
    }
}

#[test]
fn a_hybrid_torrent_in_a_client_gets_each_swarms_peers_and_the_caller_merges_them() {
    for scheme in ["udp", "http"] {
        let mut link = Link::new(in_client(scheme));
        populate(&mut link);
        let events = link.run_until(both_swarms(announced));
        check_started(&link, &events, scheme);
        let merged: Vec<_> = link.machine.peers.merged().collect();
        assert_eq!(merged, want_merged(), "{scheme}");
        if scheme == "udp" {
            assert_eq!(link.seen.connects, 1, "one connect serves both swarms");
        }
    }
}

/// After the `started` announces, `stop` sends `stopped` for each hash and each swarm ends.
fn check_stop<M: Machine>(mut link: Link<M>, scheme: &str, is_stopped: impl Fn(&M) -> bool) {
    link.run_until(both_swarms(announced));
    let now = link.now;
    link.machine.stop(now);
    let events = link.run_until(both_swarms(|e| *e == Event::Stopped));
    let stopped: Vec<InfoHash> = link
        .seen
        .announces
        .iter()
        .filter(|(_, e, _)| *e == AnnounceEvent::Stopped)
        .map(|(h, _, _)| *h)
        .collect();
    assert_eq!(stopped, vec![V1, v2()], "{scheme}");
    let acknowledged = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Announced(a) if a.event == AnnounceEvent::Stopped))
        .count();
    assert_eq!(acknowledged, 2, "{scheme}: {events:?}");
    assert!(is_stopped(&link.machine), "{scheme}");
    assert_eq!(link.machine.poll_timeout(), None, "{scheme}");
}

#[test]
fn stopping_a_hybrid_torrent_sends_stopped_for_both_swarms() {
    for scheme in ["udp", "http"] {
        check_stop(Link::new(hybrid_announce(scheme)), scheme, |m| {
            m.is_stopped()
        });
        check_stop(Link::new(in_client(scheme)), scheme, |m| {
            m.client.is_empty()
        });
    }
}

/// A scrape covers both hashes, and each swarm gets its own swarm's counts.
fn check_scrape<M: Machine>(mut link: Link<M>, scheme: &str) {
    populate(&mut link);
    link.run_until(both_swarms(announced));
    link.seen.scraped_hashes.clear();
    let now = link.now;
    link.machine.scrape(now);
    let events = link.run_until(both_swarms(|e| matches!(e, Event::Scraped(_))));
    let mut hashes = link.seen.scraped_hashes.clone();
    hashes.sort();
    assert_eq!(hashes, vec![V1, v2()], "{scheme}");
    // This client and C leech in both swarms; A seeds v1, B leeches v2.
    for (swarm, want) in [(Swarm::V1, (1, 2)), (Swarm::V2, (0, 3))] {
        let counts = events
            .iter()
            .find_map(|(s, e)| match e {
                Event::Scraped(sc) if *s == swarm => Some((sc.seeders, sc.leechers)),
                _ => None,
            })
            .unwrap();
        assert_eq!(counts, (Some(want.0), Some(want.1)), "{scheme} {swarm:?}");
    }
}

#[test]
fn a_hybrid_scrape_covers_both_hashes() {
    for scheme in ["udp", "http"] {
        check_scrape(Link::new(hybrid_announce(scheme)), scheme);
        check_scrape(Link::new(in_client(scheme)), scheme);
    }
}

#[test]
fn a_hybrid_announce_refuses_equal_hashes() {
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let err = HybridAnnounce::new(
        Config::default(),
        torrent(),
        V1,
        tiers("udp"),
        &mut rng,
        epoch(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("v2 hash"), "{err}");
}

#[test]
fn both_swarms_share_one_dns_query_and_one_connect() {
    let mut rng = ChaCha12Rng::seed_from_u64(3);
    let url = TrackerUrl::parse("udp://tracker.example:6969/announce").unwrap();
    let now = epoch();
    let mut m = HybridAnnounce::new(
        Config::default(),
        torrent(),
        v2(),
        vec![vec![url]],
        &mut rng,
        now,
    )
    .unwrap();
    let query = m.poll_dns_query().expect("the name is asked for");
    assert_eq!(query.host, "tracker.example");
    assert!(m.poll_dns_query().is_none(), "one query for both swarms");
    let mut buf = Vec::new();
    assert!(
        m.poll_transmit(&mut buf).is_none(),
        "both wait for the name"
    );
    let answer = DnsAnswer {
        addresses: vec![addr(TRACKER).ip()],
        ttl: None,
    };
    assert!(m.handle_dns_response(now, query.id, Ok(answer)));
    let connect = m.poll_transmit(&mut buf).expect("the connect");
    assert_eq!((connect.len, connect.destination), (16, addr(TRACKER)));
    assert!(
        m.poll_transmit(&mut buf).is_none(),
        "one connect for both swarms"
    );
    assert_eq!(m.dns_queries_made(), 1);
}

#[test]
fn reading_the_merged_peers_and_recording_a_reply_again_allocate_nothing() {
    let mut link = Link::new(hybrid_announce("udp"));
    populate(&mut link);
    link.run_until(both_swarms(announced));
    let m = &link.machine;
    let mut seen = 0;
    let info = allocation_counter::measure(|| {
        seen += m.merged_peers().count();
        seen += m.peers(Swarm::V1).len() + m.peers(Swarm::V2).len();
        seen += m.trackers(Swarm::V2).count();
    });
    assert_eq!(seen, 3 + 4 + 1);
    assert_eq!(info.count_total, 0, "{info:?}");
    // A caller's own view: once its lists have grown, a new reply is recorded in place.
    let mut peers = HybridPeers::new(10);
    let reply = [addr(C), addr(A)];
    let first = allocation_counter::measure(|| peers.record(Swarm::V1, &reply));
    assert!(
        first.count_total > 0,
        "the counter sees the first list grow"
    );
    let info = allocation_counter::measure(|| peers.record(Swarm::V1, &reply[..1]));
    assert_eq!(info.count_total, 0, "{info:?}");
    assert_eq!(
        peers.merged().collect::<Vec<_>>(),
        vec![(addr(C), Swarms::V1)]
    );
}

#[test]
fn a_removed_swarm_is_no_longer_named_as_the_partner() {
    let mut link = Link::new(in_client("http"));
    link.run_until(both_swarms(announced));
    let (v1, v2) = (link.machine.ids.v1, link.machine.ids.v2);
    let now = link.now;
    assert!(link.machine.client.remove(now, v1));
    // Until its `Stopped` is drained the swarm is still held, and still the partner.
    assert_eq!(link.machine.client.hybrid_partner(v2), Some(v1));
    link.run_until(|events| {
        events
            .iter()
            .any(|(s, e)| *s == Swarm::V1 && *e == Event::Stopped)
    });
    assert!(!link.machine.client.contains(v1));
    assert_eq!(link.machine.client.hybrid_partner(v2), None);
    assert_eq!(link.machine.client.hybrid_partner(v1), None);
}

#[test]
fn hostile_input_to_a_hybrid_announce_never_panics_or_leaves_a_timer_in_the_past() {
    use rand_core::Rng;
    let mut rng = ChaCha12Rng::seed_from_u64(99);
    for scheme in ["udp", "http"] {
        let mut m = hybrid_announce(scheme);
        let now = epoch();
        let mut buf = Vec::new();
        // The requests in flight: their transaction ids and request ids are what hostile input
        // would aim at.
        let mut txids = Vec::new();
        while m.poll_transmit(&mut buf).is_some() {
            txids.push(buf[12..16].to_vec());
        }
        let ids: Vec<RequestId> = std::iter::from_fn(|| m.poll_http_request())
            .map(|r| r.id)
            .collect();
        for round in 0..2_000u64 {
            let at = now + Duration::from_millis(round);
            let mut bytes = vec![0u8; (rng.next_u32() % 120) as usize];
            rng.fill_bytes(&mut bytes);
            if bytes.len() >= 8 && !txids.is_empty() {
                // Half the time, a real transaction id with garbage around it.
                let k = rng.next_u32() as usize % (2 * txids.len());
                if let Some(txid) = txids.get(k) {
                    bytes[4..8].copy_from_slice(txid);
                }
            }
            let _ = m.handle_datagram(at, addr(TRACKER), &bytes);
            let id = ids
                .get(rng.next_u32() as usize % (ids.len() + 1))
                .copied()
                .unwrap_or(RequestId(rng.next_u64()));
            let _ = m.handle_http_response(at, id, &HttpResponse::new(200, None, &bytes));
            let _ = m.handle_transport_error(at, RequestId(rng.next_u64()), TransportError::Other);
            m.handle_timeout(at);
            while m.poll_transmit(&mut buf).is_some() {}
            while m.poll_http_request().is_some() {}
            while m.poll_event().is_some() {}
            assert!(
                m.poll_timeout().is_none_or(|t| t > at),
                "{scheme}: a timer in the past"
            );
        }
    }
}
