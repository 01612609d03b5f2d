//! Test peers on real loopback sockets: one `Announce` each, driven through the examples' blocking
//! glue (`examples/common/`), as a program using the crate would drive it.
#![allow(dead_code)] // each test file uses part of it

#[path = "../../examples/common/mod.rs"]
pub mod glue;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Announced, Cause, Config, DnsAnswer, Event, Failed, Families, Progress, RequestKind,
    Scraped, TierMode, Torrent,
};
use bt_tracker::{AddressFamily, AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

use glue::driver::{Driver, Ended, Flow, Sockets};
use glue::now;

/// How long any one step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(20);

/// A distinct info hash per test, so that swarms of different tests never mix.
pub fn info_hash(tag: &str) -> InfoHash {
    let mut hash = [b'.'; 20];
    for (slot, byte) in hash.iter_mut().zip(tag.bytes()) {
        *slot = byte;
    }
    InfoHash(hash)
}

/// One peer of the tests: a machine for one tracker URL, on loopback sockets.
pub struct Peer {
    pub port: u16,
    pub driver: Driver,
}

impl Peer {
    /// A peer with this number (peer id and port derive from it); `left == 0` makes a seeder.
    pub fn new(url: &str, hash: InfoHash, n: u16, left: u64) -> Self {
        let mut config = Config::default();
        config.num_want = 50;
        Self::with_config(url, hash, n, left, config)
    }

    /// [`new`](Self::new) with a configuration of the test's (all trackers announce in parallel).
    pub fn with_config(url: &str, hash: InfoHash, n: u16, left: u64, mut config: Config) -> Self {
        config.tier_mode = TierMode::AllTrackers;
        let mut peer_id = *b"-BT0100-interop-0000";
        peer_id[16..].copy_from_slice(format!("{n:04}").as_bytes());
        let port = 40_000 + n;
        let torrent = Torrent {
            info_hash: hash,
            peer_id: PeerId(peer_id),
            port,
            progress: Progress {
                left,
                ..Progress::default()
            },
            key: None,
        };
        let url = TrackerUrl::parse(url).expect("a valid tracker URL");
        // A seeded generator: the runs are reproducible (production code uses an OS-seeded one).
        let mut rng = ChaCha12Rng::seed_from_u64(u64::from(n));
        let announce = Announce::new(config, torrent, vec![vec![url]], &mut rng, now())
            .expect("a valid announce");
        let driver = Driver::new(announce, Sockets::loopback().expect("loopback sockets"))
            .expect("start the driver");
        Peer { port, driver }
    }

    /// A dual-stack peer (`Families::Both`, BEP 7) for a `localhost` URL. The machine's one query
    /// for the name is answered here with 127.0.0.1 and ::1, so the test does not depend on what
    /// /etc/hosts says.
    pub fn dual_stack(url: &str, hash: InfoHash, n: u16, left: u64, mut config: Config) -> Self {
        config.families = Families::Both;
        let mut peer = Self::with_config(url, hash, n, left, config);
        let announce = &mut peer.driver.announce;
        let query = announce
            .poll_dns_query()
            .expect("the machine asks for localhost");
        assert_eq!(query.host, "localhost");
        assert!(
            announce.poll_dns_query().is_none(),
            "one query for the name, shared by both families"
        );
        let answer = DnsAnswer {
            addresses: vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()],
            ttl: None,
        };
        assert!(announce.handle_dns_response(now(), query.id, Ok(answer)));
        peer
    }

    /// The peer as other peers see it.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The peer as other peers see it over IPv6.
    pub fn addr6(&self) -> SocketAddr {
        SocketAddr::from((Ipv6Addr::LOCALHOST, self.port))
    }

    /// Drives a dual-stack peer until each family has ended its first announce (at most
    /// [`STEP`]); returns the IPv4 and the IPv6 outcome, and when the second came. Panics on a
    /// second outcome of one family first.
    pub fn both_families(&mut self) -> (FamilyOutcome, FamilyOutcome, Instant) {
        let (mut v4, mut v6) = (None, None);
        let ended = self.driver.run(now() + STEP, |driver, event| {
            let (tracker, outcome) = match event {
                Event::Announced(a) => (a.tracker, Ok(a)),
                Event::Failed(f) if f.request != RequestKind::Scrape => (f.tracker, Err(f)),
                _ => return Flow::Continue,
            };
            let family = driver
                .announce
                .trackers()
                .find(|s| s.id == tracker)
                .and_then(|s| s.family);
            let slot = match family {
                Some(AddressFamily::V4) => &mut v4,
                Some(AddressFamily::V6) => &mut v6,
                None => panic!("a dual-stack outcome without a family: {outcome:?}"),
            };
            assert!(
                slot.is_none(),
                "a second {family:?} outcome first: {outcome:?}"
            );
            *slot = Some(outcome);
            if v4.is_some() && v6.is_some() {
                Flow::Break
            } else {
                Flow::Continue
            }
        });
        match (v4, v6) {
            (Some(v4), Some(v6)) => (v4, v6, now()),
            outcomes => {
                panic!("no outcome of both families within {STEP:?} ({ended:?}): {outcomes:?}")
            }
        }
    }

    /// Drives until `pick` takes an event (at most [`STEP`]), and returns what it took.
    fn run_until<T>(&mut self, what: &str, mut pick: impl FnMut(Event) -> Option<T>) -> T {
        let mut outcome = None;
        let ended = self.driver.run(now() + STEP, |_, event| {
            outcome = pick(event);
            if outcome.is_some() {
                Flow::Break
            } else {
                Flow::Continue
            }
        });
        outcome.unwrap_or_else(|| panic!("no {what} outcome within {STEP:?} ({ended:?})"))
    }

    /// Drives until the next announce ends, and returns how.
    pub fn next_announce(&mut self) -> Result<Announced, Failed> {
        self.run_until("announce", |event| match event {
            Event::Announced(a) => Some(Ok(a)),
            Event::Failed(f) if f.request != RequestKind::Scrape => Some(Err(f)),
            _ => None,
        })
    }

    /// Drives until the first announce succeeds; panics with the cause otherwise.
    pub fn announced(&mut self) -> Announced {
        self.next_announce()
            .unwrap_or_else(|f| panic!("the announce failed: {}", f.cause))
    }

    /// Scrapes and drives until the scrape ends.
    pub fn scrape(&mut self) -> Result<Scraped, Cause> {
        self.driver.announce.scrape(now());
        self.run_until("scrape", |event| match event {
            Event::Scraped(s) => Some(Ok(s)),
            Event::Failed(f) if f.request == RequestKind::Scrape => Some(Err(f.cause)),
            _ => None,
        })
    }

    /// Sends `stopped` and drives until the machine is done; true when the tracker acknowledged.
    pub fn stop(&mut self) -> bool {
        self.stop_acknowledgements() > 0
    }

    /// Sends `stopped` and drives until the machine is done; returns how many trackers (a
    /// dual-stack tracker counts once per family) acknowledged it.
    pub fn stop_acknowledgements(&mut self) -> usize {
        let mut acknowledged = 0;
        let ended = self.driver.stop(now() + STEP, |_, event| {
            if let Event::Announced(a) = &event {
                acknowledged += usize::from(a.event == AnnounceEvent::Stopped);
            }
            Flow::Continue
        });
        assert_eq!(ended, Ended::Stopped, "stop() must end with Event::Stopped");
        acknowledged
    }
}

/// How one family's announce ended.
pub type FamilyOutcome = Result<Announced, Failed>;

/// Sorted addresses.
pub fn sorted(mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addrs.sort();
    addrs
}
