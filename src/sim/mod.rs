//! A deterministic simulation kit (cargo feature `sim`, which brings in
//! [`tracker`](crate::tracker)): run an [`Announce`](crate::Announce) or a
//! [`Client`](crate::Client) against simulated trackers over a seeded, lossy in-memory network,
//! on virtual time, in an ordinary `#[test]`.
//!
//! The kit is sans-IO like the rest of the crate: it reads no clock (time is an `Instant` the
//! caller moves; start it at any origin), does no I/O, draws every random choice from the seed
//! given to [`World::new`], never panics, and holds a bounded number of datagrams
//! ([`MAX_IN_FLIGHT`]) and trackers ([`MAX_TRACKERS`]). A seed replays exactly: a failing run is
//! one number to paste back.
//!
//! - [`World`]: [`Tracker`](crate::tracker::Tracker)s on addresses (each serves UDP and HTTP,
//!   with whatever [`Behaviour`](crate::tracker::Behaviour) the test switched on), the network
//!   between them and the machine under test, and HTTP exchanges in flight. turmoil calls this a
//!   `Sim` with hosts; madsim a runtime with a `NetSim`.
//! - [`Link`]: one direction's loss, duplication, delay and jitter (jitter reorders).
//!   [`World::set_spoof`] adds forged replies from the wrong port, [`Net::inject`] replays.
//! - [`Net`]: the datagram queue alone, ordered by delivery time, for a driver of its own.
//!
//! The driver is a loop the test writes, so it sees (and can check) everything that crosses the
//! machine's boundary: drain the machine's outputs into the world, jump the clock to the earliest
//! of the machine's `poll_timeout` and [`World::next_time`], fire its timer when due, then hand
//! it what [`World::poll_delivery`] gives. The timer goes first, as `Announce`'s "timers before
//! late inputs" asks: when a reply and its request's deadline fall on the same instant, the reply
//! is late, on every seed. Nothing waits in real time, so a three-hour run takes microseconds.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use bt_tracker::announce::{Announce, Config, Event, Progress, Torrent};
//! use bt_tracker::sim::{Delivery, Link, World};
//! use bt_tracker::tracker::{Behaviour, Tracker, TrackerConfig};
//! use bt_tracker::{InfoHash, PeerId, TrackerUrl};
//! use rand_chacha::ChaCha8Rng;
//! use rand_core::SeedableRng;
//!
//! # #[allow(clippy::disallowed_methods)] // any origin will do: time is virtual
//! let start = Instant::now();
//! let seed = 7;
//! // 30 % loss each way, 50 ms one way with up to 100 ms of jitter.
//! let link = Link { loss: 0.3, duplicate: 0.05, delay: Duration::from_millis(50), jitter: Duration::from_millis(100) };
//! let mut world = World::new(seed, link);
//!
//! // A tracker that hands out one known peer, on 10.0.0.1:6969 (UDP and HTTP).
//! let tracker_addr: SocketAddr = "10.0.0.1:6969".parse()?;
//! let mut config = TrackerConfig::default();
//! config.extra_peers = vec!["11.0.0.1:6881".parse()?];
//! let tracker = Tracker::new(config, Behaviour::honest(), world.rng(), start);
//! world.add_tracker(tracker_addr, tracker);
//!
//! // The machine under test, seeded from the same seed.
//! let me: SocketAddr = "10.9.9.9:6881".parse()?;
//! let torrent = Torrent {
//!     info_hash: InfoHash([0xab; 20]),
//!     peer_id: PeerId(*b"-XX0001-simulation00"),
//!     port: 6881,
//!     progress: Progress { left: 1 << 20, ..Progress::default() },
//!     key: None,
//! };
//! let tiers = vec![vec![TrackerUrl::parse("udp://10.0.0.1:6969/announce")?]];
//! let mut announce = Announce::new(Config::default(), torrent, tiers, &mut ChaCha8Rng::seed_from_u64(seed), start)?;
//!
//! let stop_at = start + Duration::from_secs(600);
//! let (mut now, mut buf, mut peers, mut stopping) = (start, Vec::new(), Vec::new(), false);
//! for _ in 0..100_000 {
//!     // 1. Drain: datagrams and HTTP requests into the world, events into the test.
//!     while let Some(t) = announce.poll_transmit(&mut buf) {
//!         world.send_datagram(now, me, t.destination, &buf[..t.len]);
//!     }
//!     while let Some(request) = announce.poll_http_request() {
//!         world.send_http(now, me, &request);
//!     }
//!     while let Some(event) = announce.poll_event() {
//!         match event {
//!             Event::Announced(a) if peers.is_empty() => peers = a.peers,
//!             _ => {}
//!         }
//!     }
//!     if announce.is_stopped() && world.is_idle() {
//!         break;
//!     }
//!     // 2. Stop after ten virtual minutes.
//!     if now >= stop_at && !stopping {
//!         announce.stop(now);
//!         stopping = true;
//!         continue;
//!     }
//!     // 3. Jump to the next thing that happens, fire the timer if due, deliver what is due.
//!     let stop = (!stopping).then_some(stop_at);
//!     let Some(next) = [announce.poll_timeout(), world.next_time(), stop].into_iter().flatten().min()
//!     else { break };
//!     now = now.max(next);
//!     // Timers before late inputs: a deadline due now fires before what arrives now.
//!     if announce.poll_timeout().is_some_and(|t| t <= now) {
//!         announce.handle_timeout(now);
//!     }
//!     while let Some(delivery) = world.poll_delivery(now) {
//!         match delivery {
//!             Delivery::Datagram(d) => { announce.handle_datagram(now, d.from, &d.bytes); }
//!             Delivery::Http { request, answer: Ok(a) } => { announce.handle_http_response(now, request, &a.response()); }
//!             Delivery::Http { request, answer: Err(e) } => { announce.handle_transport_error(now, request, e); }
//!         }
//!     }
//! }
//! assert!(announce.is_stopped(), "seed {seed}: no shutdown");
//! assert_eq!(peers, vec!["11.0.0.1:6881".parse::<SocketAddr>()?], "seed {seed}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/simulate.rs` runs that loop over 1,000 seeds and prints the command that replays a
//! failing one. A [`Client`](crate::Client) is driven the same way, with its events tagged by
//! torrent and its DNS queries answered by the test (or avoided with IP-literal tracker URLs).
//!
//! # Tracker host names
//!
//! A tracker URL with a host name makes the machine ask for it with `poll_dns_query`; the test
//! answers with `handle_dns_response`. The simulated trackers live on private addresses such as
//! the `10.0.0.1` above, and the machine refuses a public host name that resolves only to
//! loopback, private or link-local addresses (a magnet link must not aim a client at its own
//! network): every request to it then fails with
//! [`DnsFailure::InternalOnly`](crate::announce::DnsFailure::InternalOnly). So a test that names
//! its simulated trackers sets [`DnsConfig::allow_internal`](crate::announce::DnsConfig::allow_internal):
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Instant;
//! use bt_tracker::announce::{Announce, Cause, Config, DnsAnswer, DnsFailure, Event, Progress, Torrent};
//! use bt_tracker::{InfoHash, PeerId, TrackerUrl};
//! use rand_chacha::ChaCha8Rng;
//! use rand_core::SeedableRng;
//!
//! # #[allow(clippy::disallowed_methods)] // any origin will do: time is virtual
//! let start = Instant::now();
//! let torrent = Torrent {
//!     info_hash: InfoHash([0xab; 20]),
//!     peer_id: PeerId(*b"-XX0001-simulation00"),
//!     port: 6881,
//!     progress: Progress { left: 1 << 20, ..Progress::default() },
//!     key: None,
//! };
//! // The simulated tracker's address, behind the name the test gives it.
//! let answer = || Ok(DnsAnswer { addresses: vec!["10.0.0.1".parse().unwrap()], ttl: None });
//! let mut sent_to = Vec::new();
//! for allow_internal in [false, true] {
//!     let mut config = Config::default();
//!     config.dns.allow_internal = allow_internal;
//!     let tiers = vec![vec![TrackerUrl::parse("udp://tracker.sim.test:6969/announce")?]];
//!     let mut rng = ChaCha8Rng::seed_from_u64(7);
//!     let mut announce = Announce::new(config, torrent.clone(), tiers, &mut rng, start)?;
//!     let query = announce.poll_dns_query().expect("the machine asks for the name");
//!     announce.handle_dns_response(start, query.id, answer());
//!     let mut buf = Vec::new();
//!     match announce.poll_transmit(&mut buf) {
//!         Some(t) => sent_to.push(t.destination),
//!         None => {
//!             // Without `allow_internal`: the announce fails, and says why.
//!             let Some(Event::Failed(f)) = announce.poll_event() else { panic!("no failure") };
//!             assert_eq!(f.cause, Cause::Dns(DnsFailure::InternalOnly));
//!         }
//!     }
//! }
//! assert_eq!(sent_to, ["10.0.0.1:6969".parse::<SocketAddr>()?]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod net;
mod world;

pub use net::{Datagram, Link, MAX_IN_FLIGHT, Net, chance, upto};
pub use world::{Delivery, MAX_TRACKERS, World};
