//! One `Announce` against one `bt_tracker::tracker::Tracker` on an in-memory link with a virtual
//! clock, for the tracker machine's tests; its clock origin, deliveries and other peers' announces
//! serve the hybrid torrent's link (tests/hybrid.rs) too.
#![allow(dead_code)] // each test file uses part of it

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Announced, Cause, Config, Event, Failed, Progress, Scraped, Torrent,
};
use bt_tracker::http::percent_encode;
use bt_tracker::tracker::{Behaviour, Tracker, TrackerConfig};
use bt_tracker::udp::Request;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

/// One instant for every test (the virtual clock starts here).
pub fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    #[allow(clippy::disallowed_methods)] // the one clock read: an arbitrary origin
    *EPOCH.get_or_init(Instant::now)
}

/// The client's torrent; its bytes of 0x80 and above are what webtorrent's scrape keys mangle.
pub const HASH: InfoHash = InfoHash([0xE9; 20]);
pub const V4_TRACKER: &str = "203.0.113.5:6969";
pub const V4_CLIENT: &str = "198.51.100.9:40001";
pub const V6_TRACKER: &str = "[2001:db8::5]:6969";
pub const V6_CLIENT: &str = "[2001:db8::9]:40001";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Something on its way to the client, due at a time.
pub enum Delivery {
    Datagram(Vec<u8>),
    Http(
        bt_tracker::announce::RequestId,
        bt_tracker::tracker::HttpAnswer,
    ),
}

/// One `Announce` and one tracker on an in-memory link; time jumps to the next due thing.
pub struct Link {
    pub now: Instant,
    pub announce: Announce,
    pub tracker: Tracker,
    pub tracker_addr: SocketAddr,
    pub client: SocketAddr,
    pub pending: Vec<(Instant, Delivery)>,
    /// Every UDP request the tracker received, parsed as (action, connection id).
    pub requests: Vec<(u32, u64)>,
}

impl Link {
    /// `url` is `udp://` or `http://` at `tracker_addr`; the client announces from `client`.
    pub fn new(
        scheme: &str,
        tracker_addr: &str,
        client: &str,
        config: TrackerConfig,
        behaviour: Behaviour,
        client_config: Config,
    ) -> Self {
        let now = epoch();
        let tracker_addr = addr(tracker_addr);
        let client = addr(client);
        let url = TrackerUrl::parse(&format!("{scheme}://{tracker_addr}/announce")).unwrap();
        let torrent = Torrent {
            info_hash: HASH,
            peer_id: PeerId(*b"-BT0100-machine-0001"),
            port: client.port(),
            progress: Progress {
                left: 1000,
                ..Progress::default()
            },
            key: None,
        };
        let mut rng = ChaCha12Rng::seed_from_u64(1);
        let announce = Announce::new(client_config, torrent, vec![vec![url]], &mut rng, now)
            .expect("a valid announce");
        let tracker = Tracker::new(config, behaviour, &mut rng, now);
        Link {
            now,
            announce,
            tracker,
            tracker_addr,
            client,
            pending: Vec::new(),
            requests: Vec::new(),
        }
    }

    pub fn udp(behaviour: Behaviour) -> Self {
        let config = TrackerConfig::default();
        Self::new(
            "udp",
            V4_TRACKER,
            V4_CLIENT,
            config,
            behaviour,
            client_config(),
        )
    }

    pub fn http(behaviour: Behaviour) -> Self {
        let config = TrackerConfig::default();
        Self::new(
            "http",
            V4_TRACKER,
            V4_CLIENT,
            config,
            behaviour,
            client_config(),
        )
    }

    /// Where a datagram goes: the machine resolves names itself, and the tests' tracker URLs are
    /// IP literals, which need no DNS query.
    pub fn destination(&self, transmit: &bt_tracker::announce::Transmit) -> SocketAddr {
        transmit.destination
    }

    /// Hands the client's outputs to the tracker and collects the client's events.
    pub fn exchange(&mut self, events: &mut Vec<Event>) {
        let (mut buf, mut out) = (Vec::new(), Vec::new());
        loop {
            let mut moved = false;
            while let Some(t) = self.announce.poll_transmit(&mut buf) {
                moved = true;
                assert_eq!(self.destination(&t), self.tracker_addr);
                if let Ok(r) = Request::parse(&buf[..t.len]) {
                    self.requests.push(match r {
                        Request::Connect(_) => (0, 0),
                        Request::Announce(a) => (1, a.connection_id),
                        Request::Scrape(s) => (2, s.connection_id),
                    });
                }
                self.tracker
                    .handle_datagram(self.now, self.client, &buf[..t.len]);
                while let Some(reply) = self.tracker.poll_transmit(&mut out) {
                    assert_eq!(reply.to, self.client);
                    let bytes = out[..reply.len].to_vec();
                    self.pending
                        .push((reply.send_at, Delivery::Datagram(bytes)));
                }
            }
            while let Some(request) = self.announce.poll_http_request() {
                moved = true;
                let target = http_target(request.url.as_str());
                if let Some(answer) =
                    self.tracker
                        .handle_http(self.now, self.client, target.as_bytes())
                {
                    self.pending
                        .push((answer.send_at, Delivery::Http(request.id, answer)));
                }
            }
            while let Some(event) = self.announce.poll_event() {
                moved = true;
                events.push(event);
            }
            if !moved {
                return;
            }
        }
    }

    /// Runs until `stop` picks an event or `limit` of virtual time passed; returns every event.
    pub fn run(&mut self, limit: Duration, mut stop: impl FnMut(&Event) -> bool) -> Vec<Event> {
        let end = self.now + limit;
        let mut events = Vec::new();
        loop {
            let seen = events.len();
            self.exchange(&mut events);
            if events[seen..].iter().any(&mut stop) {
                return events;
            }
            let next_delivery = self.pending.iter().map(|(at, _)| *at).min();
            let next = match (next_delivery, self.announce.poll_timeout()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => return events,
                },
            };
            if next > end {
                return events;
            }
            self.now = self.now.max(next);
            let (due, later): (Vec<_>, Vec<_>) =
                self.pending.drain(..).partition(|(at, _)| *at <= self.now);
            self.pending = later;
            for (_, delivery) in due {
                match delivery {
                    Delivery::Datagram(bytes) => {
                        self.announce
                            .handle_datagram(self.now, self.tracker_addr, &bytes);
                    }
                    Delivery::Http(id, answer) => {
                        self.announce
                            .handle_http_response(self.now, id, &answer.response());
                    }
                }
            }
            self.announce.handle_timeout(self.now);
        }
    }

    /// The outcome of the next announce (or scrape): what the client reports.
    pub fn outcome(&mut self) -> Result<Announced, Failed> {
        let events = self.run(Duration::from_secs(600), |e| {
            matches!(e, Event::Announced(_) | Event::Failed(_))
        });
        match events.into_iter().last() {
            Some(Event::Announced(a)) => Ok(a),
            Some(Event::Failed(f)) => Err(f),
            other => panic!("no outcome within 600 s: {other:?}"),
        }
    }

    pub fn announced(&mut self) -> Announced {
        self.outcome()
            .unwrap_or_else(|f| panic!("the announce failed: {}", f.cause))
    }

    pub fn failed(&mut self) -> Failed {
        self.outcome().expect_err("the announce must fail")
    }

    pub fn scraped(&mut self) -> Result<Scraped, Failed> {
        self.announce.scrape(self.now);
        let events = self.run(Duration::from_secs(600), |e| {
            matches!(e, Event::Scraped(_) | Event::Failed(_))
        });
        match events.into_iter().last() {
            Some(Event::Scraped(s)) => Ok(s),
            Some(Event::Failed(f)) => Err(f),
            other => panic!("no scrape outcome within 600 s: {other:?}"),
        }
    }

    /// Lets `d` of virtual time pass (the client may announce meanwhile; its events are dropped).
    pub fn wait(&mut self, d: Duration) {
        let end = self.now + d;
        let _ = self.run(d, |_| false);
        self.now = self.now.max(end);
    }

    /// Another peer announces `hash` straight to the tracker over HTTP.
    pub fn other_peer(&mut self, from: &str, n: u8, left: u64, event: &str) {
        assert_eq!(self.try_other_peer(from, n, left, event), 200);
    }

    /// [`other_peer`](Self::other_peer), returning the status of the tracker's answer.
    pub fn try_other_peer(&mut self, from: &str, n: u8, left: u64, event: &str) -> u16 {
        let peer = OtherPeer { from, n, left };
        peer.announce(&mut self.tracker, self.now, HASH, event)
    }
}

/// The request target of an HTTP tracker URL: its path and query, `/announce?...`.
pub fn http_target(url: &str) -> &str {
    let target = &url[url.find("://").unwrap() + 3..];
    &target[target.find('/').unwrap_or(target.len())..]
}

/// Another peer, announcing straight to the tracker over HTTP: at `from`, with the peer id
/// `-XX0001-other-00000` and then byte `n`, with `left` bytes left.
pub struct OtherPeer<'a> {
    pub from: &'a str,
    pub n: u8,
    pub left: u64,
}

impl OtherPeer<'_> {
    /// Announces `hash` with `event` (`started`, `completed`, `stopped`) to `tracker`; returns
    /// the status of its answer.
    pub fn announce(
        &self,
        tracker: &mut Tracker,
        now: Instant,
        hash: InfoHash,
        event: &str,
    ) -> u16 {
        let mut peer_id = *b"-XX0001-other-000000";
        peer_id[19] = self.n;
        let target = format!(
            "/announce?info_hash={}&peer_id={}&port={}&uploaded=0&downloaded=0&left={}&event={event}&compact=1",
            percent_encode(&hash.0),
            percent_encode(&peer_id),
            addr(self.from).port(),
            self.left,
        );
        let answer = tracker
            .handle_http(now, addr(self.from), target.as_bytes())
            .expect("the tracker answers");
        answer.status
    }
}

pub fn client_config() -> Config {
    let mut config = Config::default();
    config.num_want = 50;
    config
}

pub fn sorted(mut peers: Vec<SocketAddr>) -> Vec<SocketAddr> {
    peers.sort();
    peers
}

pub fn tracker_text(cause: &Cause) -> (&str, Option<Duration>) {
    match cause {
        Cause::Tracker { reason, retry_in } => (reason, *retry_in),
        other => panic!("not a tracker failure: {other:?}"),
    }
}
