//! Every bound the crate puts on what a tracker (or a caller) can make it hold or do, in one place.
//!
//! Trackers are untrusted: anyone can put any URL in a magnet link. Each input the crate reads is
//! capped, and each cap has a default that a real tracker never comes near. The caps that are
//! settings live on [`Config`](crate::announce::Config); the fixed ones are re-exported here.
//!
//! | what | cap (default) | where | at the cap |
//! |---|---|---|---|
//! | a UDP reply | any length is read; the caller's receive buffer decides (65,536 bytes holds any datagram) | [`udp::announce_reply_len`](crate::udp::announce_reply_len) sizes it for `num_want` | nothing is allocated per datagram; peers beyond the peer cap are not kept |
//! | peers asked for (`numwant`) | 200, at most [`MAX_NUM_WANT`] (3,639: what one UDP reply holds over IPv6) | [`Config::num_want`](crate::announce::Config::num_want) | `ConfigError::Invalid` at construction |
//! | peers kept per reply | 1,000 | [`Config::max_peers_per_reply`](crate::announce::Config::max_peers_per_reply) | the first usable ones in the tracker's order are kept (ports 0 and 1, unspecified, broadcast and multicast addresses are dropped and not counted) |
//! | a UDP request written | [`MAX_REQUEST_LEN`] bytes (98 + BEP 41 URL data of at most [`MAX_URL_DATA_LEN`]) | [`udp`](crate::udp) | a longer tracker URL is refused when the machine is built |
//! | info hashes per UDP scrape | [`MAX_SCRAPE_HASHES`] | [`udp::ScrapeRequest`](crate::udp::ScrapeRequest) | encoding more is an error |
//! | HTTP status line and headers | [`MAX_HEAD_LEN`] bytes, [`MAX_HEADERS`] headers | [`http::ResponseReader`](crate::http::ResponseReader) | `FramingError::HeadTooLarge` |
//! | HTTP body, raw and after gzip/deflate | [`DEFAULT_MAX_BODY_LEN`] (1 MiB), per reader | [`http::ResponseReader::new`](crate::http::ResponseReader::new), [`http::decode_content`](crate::http::decode_content) | `FramingError::BodyTooLarge`, checked on `Content-Length`, on bytes received and while inflating |
//! | bencode nesting | [`MAX_DEPTH`] (100) | every reply decoder | a decode error; the decoder is iterative, so no stack is at risk |
//! | `tracker id` kept to echo | [`MAX_TRACKER_ID_LEN`] bytes | the machine | a longer one is ignored |
//! | redirects per HTTP request | 5 | [`Config::max_redirects`](crate::announce::Config::max_redirects) | `Cause::Redirect` |
//! | events waiting for `poll_event` | 3 per tracker + 1 per torrent (an announce and a scrape outcome and a `TrackerDisabled` per tracker, one `Stopped`); a removed torrent keeps its slot until its `Stopped` is drained | [`Client::poll_event`](crate::client::Client::poll_event) | never dropped: an outcome still waiting is replaced in place by a later outcome of the same tracker and kind, counted in `events_superseded` |
//! | exchanges started with one tracker endpoint | a burst of 50, then 200 per second; `stopped` and `completed` ahead of the backlog | [`Config::tracker_burst`](crate::announce::Config::tracker_burst), [`Config::tracker_rate`](crate::announce::Config::tracker_rate) | later exchanges wait for their slot; a cancelled one gives its slot back |
//! | info hashes per batched scrape | [`MAX_UDP_SCRAPE_BATCH`] (70) over UDP; 70 over HTTP (at most 100, so the URL stays under 8,000 bytes), halved on 414 | [`Config::max_scrape_batch`](crate::announce::Config::max_scrape_batch) | the rest go in the next batch |
//! | torrents in one `Client` | [`MAX_TORRENTS`] (2^24 - 1) | [`Client::add`](crate::client::Client::add) | `ConfigError::TooManyTorrents` |
//! | trackers per torrent (and so UDP connection ids cached: one per tracker address, at most 16 per tracker) | 256 | [`Config::max_trackers`](crate::announce::Config::max_trackers) | `ConfigError::TooManyTrackers` |
//! | requests in flight per torrent | 2 per tracker (an announce and a scrape) | the machine | `scrape()` skips a tracker whose scrape is still in flight |
//! | a silent UDP tracker | 3 sends, waiting 15 s, 30 s, then 60 s (105 s in all) | [`Config::udp_max_attempts`](crate::announce::Config::udp_max_attempts), [`Config::udp_rto`](crate::announce::Config::udp_rto) | `Cause::Timeout` |
//! | a silent or slow HTTP tracker | 30 s per request, redirects included | [`Config::http_timeout`](crate::announce::Config::http_timeout) | `Cause::Timeout`; a later answer is ignored |
//! | shutdown | 5 s after the last `stopped` got its pacer slot (a UDP `stopped` spreads its 3 sends over it) | [`Config::stop_timeout`](crate::announce::Config::stop_timeout) | `Event::Stopped` comes anyway |
//! | a tracker's `interval` | clamped to [120 s, 2 h] | [`Config::interval_floor`](crate::announce::Config::interval_floor), [`Config::interval_ceiling`](crate::announce::Config::interval_ceiling) | |
//! | BEP 31 `retry in` | 7 days | [`Config::max_retry_in`](crate::announce::Config::max_retry_in) | |
//! | host names cached | 4,096 names, each at most [`MAX_DNS_ADDRESSES`] (16) addresses | [`DnsConfig::max_names`](crate::announce::DnsConfig::max_names) | the name whose entry expires first (and has no query in flight) is dropped; extra addresses of an answer are not kept |
//! | DNS queries | one per host name in flight, for every torrent; answers kept for their TTL clamped to [60 s, 1 day] (1 h without a TTL), failures for 150 s doubling to 30 min | [`DnsConfig`](crate::announce::DnsConfig) | requests for a cached failure fail at once, without a query |
//! | an unanswered DNS query | 30 s | [`DnsConfig::timeout`](crate::announce::DnsConfig::timeout) | `Cause::Dns(DnsFailure::NoAnswer)`; a later answer is ignored |
//!
//! URL safety has its own rules (redirects into loopback, private or link-local addresses, https
//! to http, tracker URLs that pre-fill announce parameters): see
//! [`is_internal_address`](crate::announce::is_internal_address),
//! [`HttpRequest::may_reach_internal`](crate::announce::HttpRequest::may_reach_internal) and
//! [`Config::allow_internal_redirects`](crate::announce::Config::allow_internal_redirects).

pub use crate::announce::{MAX_DNS_ADDRESSES, MAX_NUM_WANT, MAX_TRACKER_ID_LEN};
pub use crate::bencode::MAX_DEPTH;
pub use crate::client::{MAX_TORRENTS, MAX_UDP_SCRAPE_BATCH};
pub use crate::http::{DEFAULT_MAX_BODY_LEN, MAX_HEAD_LEN, MAX_HEADERS};
pub use crate::udp::{MAX_REQUEST_LEN, MAX_SCRAPE_HASHES, MAX_URL_DATA_LEN};
