//! The HTTP tracker protocol (BEP 3, 23, 7, 24, 31, 48), both directions, without I/O.
//!
//! | concern | client side | tracker side |
//! |---|---|---|
//! | announce URL | [`announce_url`] from [`AnnounceParams`] | [`AnnounceQuery::parse`] |
//! | scrape URL | [`scrape_url`], [`scrape_request_url`] | [`ScrapeQuery::parse`] |
//! | announce reply | [`AnnounceResponse::decode`] | [`AnnounceSuccess::encode`], [`Failure::encode`] |
//! | scrape reply | [`ScrapeResponse::decode`] | [`encode_scrape`] |
//! | HTTP/1.1 framing | [`write_get_request`], [`ResponseReader`] | |
//!
//! Replies are decoded leniently (unsorted or duplicate keys, leading zeros and trailing bytes are
//! accepted; `failure reason` wins over every other key) and in place: a compact peer list is a
//! [`CompactPeers`](crate::CompactPeers) view over the body, so decoding allocates nothing.
//! Encoders write canonical bencode (sorted keys, minimal integers).
//!
//! ```
//! use bt_tracker::http::{AnnounceResponse, Peers};
//!
//! let body = b"d8:intervali1800e5:peers6:\xc0\x00\x02\x01\x1a\xe1e";
//! let AnnounceResponse::Success(reply) = AnnounceResponse::decode(body)? else { unreachable!() };
//! assert_eq!(reply.interval, Some(1800));
//! let peers: Vec<_> = reply.peer_addrs().collect();
//! assert_eq!(peers, ["192.0.2.1:6881".parse()?]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod framing;
mod percent;
mod query;
mod reply;
mod scrape;
mod url;

pub use crate::bencode::{DecodeError, DecodeErrorKind, MAX_DEPTH};
pub use framing::{
    DEFAULT_MAX_BODY_LEN, FramingError, HttpResponse, MAX_HEAD_LEN, MAX_HEADERS, ResponseReader,
    decode_content, write_get_request,
};
pub use percent::{PercentError, decode as percent_decode, encode as percent_encode};
pub use query::{AnnounceQuery, QueryError, ScrapeQuery};
pub use reply::{
    AnnounceResponse, AnnounceSuccess, BodyError, DictPeer, DictPeers, Failure, PeerAddr, Peers,
    RetryIn,
};
pub use scrape::{ScrapeFile, ScrapeFiles, ScrapeResponse, ScrapeSuccess, encode_scrape};
pub use url::{
    AnnounceParams, RESERVED_PARAMETERS, UrlError, announce_url, check_tracker_query,
    scrape_request_url, scrape_url,
};
pub(crate) use url::{announce_request, scrape_request, scrape_tracker_url};
