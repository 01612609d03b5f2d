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
//! ## What is here
//!
//! - [`udp`]: the BEP 15 wire format with BEP 41 URL data, both directions (client and tracker),
//!   zero-copy reply views and encoders that write into caller buffers.
//! - [`http`]: announce and scrape URLs (client) and query parsing (tracker), lenient in-place
//!   decoding and canonical encoding of bencoded replies, and HTTP/1.1 framing for raw TCP streams.
//! - [`InfoHash`], [`PeerId`], [`AnnounceEvent`], [`AddressFamily`] and the validated [`TrackerUrl`].
//! - [`CompactPeers`]: compact peer lists read in place.
//!
//! ## Where it is going
//!
//! An `Announce` state machine per torrent (BEP 12 tiers, BEP 15 retransmission,
//! scheduling, shutdown), then a `Client` that runs many torrents behind one UDP socket. The
//! design is in the repository's `DESIGN` notes and the issues.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod announce;
mod bencode;
mod compact;
pub mod http;
mod types;
pub mod udp;

pub use announce::Announce;
pub use compact::{CompactPeers, PeerFamilyError};
/// The `rand_core` version the machine's RNG parameter is written against.
pub use rand_core;
pub use types::{
    AddressFamily, AnnounceEvent, HexError, InfoHash, PeerId, Scheme, TrackerUrl, TrackerUrlError,
};
