//! # bt-tracker
//!
//! Find BitTorrent peers by talking to trackers over UDP (BEP 15) and HTTP(S) (BEP 3, 23, 7, 48),
//! without owning a socket, a clock or a thread.
//!
//! This crate is **sans-IO**: the caller moves bytes and time in, the library moves requests, events
//! and deadlines out. It never reads a clock (every state change takes `now`), never does I/O, never
//! prints, never draws hidden randomness, never panics on any input, and keeps every buffer bounded.
//! That makes it fit any event loop (mio, a game loop, an embedded poll loop, tokio) and makes
//! deterministic simulation testing trivial.
//!
//! ## The loop
//!
//! One [`Announce`] for a torrent, or one [`Client`] for many (same verbs, events tagged with the
//! torrent). Feed it time and bytes, drain what it wants sent, sleep until its timeout; when
//! that deadline has passed by the time an input is handed in, fire it first ("timers before late
//! inputs"). A blocking UDP-only driver, the README's loop with `std::net`, fits in thirty lines:
//!
//! ```no_run
//! # #![allow(clippy::disallowed_methods)]
//! use std::net::{ToSocketAddrs, UdpSocket};
//! use std::time::{Duration, Instant};
//! use bt_tracker::announce::{Announce, DnsAnswer, DnsError, Event};
//!
//! /// The time to hand an input in at; a deadline that passed meanwhile fires first.
//! fn timers_first(announce: &mut Announce) -> Instant {
//!     let now = Instant::now();
//!     if announce.poll_timeout().is_some_and(|t| t <= now) {
//!         announce.handle_timeout(now);
//!     }
//!     now
//! }
//!
//! fn drive(mut announce: Announce, socket: UdpSocket) -> std::io::Result<()> {
//!     let (mut out, mut inb) = (Vec::new(), [0u8; 65_536]);
//!     loop {
//!         // Names are asked for once and cached; a real loop resolves on a thread.
//!         while let Some(q) = announce.poll_dns_query() {
//!             let found = (q.host.as_str(), 0).to_socket_addrs().map_err(|_| DnsError::Failed);
//!             let addresses = found.map(|a| a.map(|a| a.ip()).collect());
//!             let answer = addresses.map(|addresses| DnsAnswer { addresses, ttl: None });
//!             let now = timers_first(&mut announce);
//!             announce.handle_dns_response(now, q.id, answer);
//!         }
//!         while let Some(t) = announce.poll_transmit(&mut out) {
//!             // A failed send (say an IPv6 tracker on an IPv4 socket) is a lost datagram:
//!             // BEP 15's retransmission and the deadline cover it, no report needed.
//!             let _ = socket.send_to(&out, t.destination);
//!         }
//!         while let Some(event) = announce.poll_event() {
//!             match event {
//!                 Event::Announced(a) => println!("{} peers from {}", a.peers.len(), a.tracker),
//!                 Event::Stopped => return Ok(()),
//!                 other => eprintln!("{other:?}"),
//!             }
//!         }
//!         let Some(deadline) = announce.poll_timeout() else { return Ok(()) };
//!         let wait = deadline.saturating_duration_since(Instant::now());
//!         socket.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
//!         let received = socket.recv_from(&mut inb); // a datagram, or the wait ran out
//!         let now = timers_first(&mut announce);
//!         if let Ok((n, from)) = received {
//!             announce.handle_datagram(now, from, &inb[..n]);
//!         }
//!     }
//! }
//! ```
//!
//! It returns at [`Event::Stopped`](announce::Event::Stopped), which follows
//! [`Announce::stop`]: a real loop calls `stop` on its quit signal, so that the trackers hear
//! `stopped` (the README's loop shows where).
//!
//! HTTP trackers come out of [`Announce::poll_http_request`] as full URLs; make the request with
//! any client (or [`http::write_get_request`] and [`http::ResponseReader`] on a raw TCP stream,
//! connecting to the request's `addresses`) and hand the response back with
//! [`Announce::handle_http_response`]. Report connection and TLS failures with
//! [`Announce::handle_transport_error`] so the machine fails over (a refused address makes it try
//! the tracker's next one).
//!
//! Host names are the machine's business: it asks for them with [`Announce::poll_dns_query`]
//! (one query per name for every torrent, answers and failures cached with bounded lifetimes, the
//! last good answer kept while a refresh fails) and takes the answer with
//! [`Announce::handle_dns_response`]. Answer with any resolver, off the loop thread. So every
//! datagram comes with its address and every HTTP request with its addresses, replies are accepted
//! from any address the tracker's name resolved to and never from a stranger, and a public name
//! that resolves to a loopback, private or link-local address is refused.
//!
//! ## What is here
//!
//! - [`announce`]: the [`Announce`] state machine: BEP 12 tiers, BEP 15 retransmission and
//!   connection ids, HTTP redirects and deadlines, `started`/`completed`/`stopped`, interval
//!   clamping, backoff with jitter, BEP 31 `retry in`, and a bounded `stop`.
//! - [`client`]: the [`Client`]: many torrents behind one UDP socket, datagrams routed by
//!   transaction id, one connection id per tracker endpoint (a connect in flight is joined by the
//!   torrents that need one), batched scrapes (70 hashes per UDP packet, HTTP multi-scrape), requests
//!   paced per tracker by a self-clocking window, and deadlines in a heap (O(log n), never a scan).
//! - [`udp`]: the BEP 15 wire format with BEP 41 URL data, both directions (client and tracker),
//!   zero-copy reply views and encoders that write into caller buffers.
//! - [`http`]: announce and scrape URLs (client) and query parsing (tracker), lenient in-place
//!   decoding and canonical encoding of bencoded replies, and HTTP/1.1 framing for raw TCP streams.
//! - [`InfoHash`], [`PeerId`], [`AnnounceEvent`], [`AddressFamily`] and the validated [`TrackerUrl`].
//! - [`canonical_ip`] and [`canonical_addr`]: the one form of every address the crate reports or
//!   compares (IPv4-mapped IPv6 written as IPv4).
//! - [`CompactPeers`]: compact peer lists read in place.
//! - [`limits`]: every cap on what a tracker can make the crate hold, with its default.
//! - `tracker` (cargo feature `tracker`, off by default): a sans-IO UDP and HTTP tracker with
//!   switchable misbehaviours and real-tracker quirks, for tests and simulations.
//! - `sim` (cargo feature `sim`, off by default, brings in `tracker`): a deterministic simulation
//!   kit, a seeded lossy in-memory network and simulated trackers on virtual time, to run an
//!   `Announce` or a `Client` against in a test.
//!
//! ## Examples
//!
//! The repository's `examples/announce.rs` drives one `Announce` with blocking `std::net` sockets
//! (and `https://` through ureq); `examples/mio.rs` runs many torrents through one `Client` on one
//! non-blocking UDP socket (`https://` through rustls's sans-IO connection); `examples/tokio.rs`
//! does the same on a tokio runtime (HTTP through reqwest), and `examples/game_loop.rs` inside a
//! fixed 16 ms frame. Each answers the machine's DNS queries off its loop and starts an embedded
//! loopback tracker when run without arguments. `examples/simulate.rs` runs an `Announce` against
//! simulated trackers over 1,000 seeds with the `sim` kit and prints the command that replays a
//! failing seed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod addr;
pub mod announce;
mod bencode;
pub mod client;
mod compact;
pub mod http;
pub mod limits;
#[cfg(feature = "sim")]
pub mod sim;
// The unit tests' origin of time: the one clock read they need lives with the other test
// support, outside src/, which reads no clock (DESIGN.md section 1).
#[cfg(test)]
#[path = "../tests/common/origin.rs"]
mod test_origin;
#[cfg(feature = "tracker")]
pub mod tracker;
mod types;
pub mod udp;

pub use addr::{canonical_addr, canonical_ip};
pub use announce::Announce;
pub use client::Client;
pub use compact::{CompactPeers, PeerFamilyError};
/// The `rand_core` version (0.10) the machine's RNG parameter is written against. Seed from the
/// operating system with `rand_core::UnwrapErr(getrandom::SysRng)` (`getrandom` 0.4, feature
/// `sys_rng`).
pub use rand_core;
pub use types::{
    AddressFamily, AnnounceEvent, HexError, InfoHash, PeerId, Scheme, TrackerUrl, TrackerUrlError,
};

/// The README's Rust code, compiled by `cargo test --doc` so that what it shows keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
