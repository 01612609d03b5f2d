//! Test peers on real loopback sockets: one `Announce` each, driven through the examples' blocking
//! glue (`examples/common/`), as a program using the crate would drive it.
#![allow(dead_code)] // each test file uses part of it

#[path = "../../examples/common/mod.rs"]
pub mod glue;

use std::net::SocketAddr;
use std::time::Duration;

use bt_tracker::announce::{
    Announce, Announced, Cause, Config, Event, Failed, Progress, RequestKind, Scraped, TierMode,
    Torrent,
};
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};
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

    /// The peer as other peers see it.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
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
        let mut acknowledged = false;
        let ended = self.driver.stop(now() + STEP, |_, event| {
            if let Event::Announced(a) = &event {
                acknowledged |= a.event == AnnounceEvent::Stopped;
            }
            Flow::Continue
        });
        assert_eq!(ended, Ended::Stopped, "stop() must end with Event::Stopped");
        acknowledged
    }
}

/// Sorted addresses.
pub fn sorted(mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addrs.sort();
    addrs
}
