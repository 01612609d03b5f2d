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
//! | a tracker's text (`failure reason`, `warning message`, a UDP error reply's message, a refused redirect's reason, which quotes the `Location`) | [`MAX_TRACKER_TEXT_LEN`] bytes (1 KiB) | every [`Cause`](crate::announce::Cause), [`Announced::warning`](crate::announce::Announced::warning), [`TrackerStatus::message`](crate::announce::TrackerStatus::message) and the codecs' `*_text` methods | cut at the last UTF-8 character boundary at or below the cap (a character the cut splits is left out; a refused redirect's reason keeps its start and end around `" [...] "`); the raw bytes stay in the borrowed reply. So the events waiting for one tracker hold at most 3 such texts |
//! | input an error message repeats (a tracker URL, a parameter, a header value) | [`MAX_ECHO_CHARS`] characters (100) | every error's `Display` | cut there with `…`; the error's fields keep the whole text |
//! | redirects per HTTP request | 5 | [`Config::max_redirects`](crate::announce::Config::max_redirects) | `Cause::Redirect` |
//! | events waiting for `poll_event` | 3 per tracker id in use + 1 per torrent (an announce and a scrape outcome and a `TrackerDisabled` per id, one `Stopped`); a removed tracker's id stays in use until its events are drained (at most 65,536 ids per torrent), a removed torrent keeps its slot until its `Stopped` is drained | [`Client::poll_event`](crate::client::Client::poll_event) | never dropped: an outcome still waiting is replaced in place by a later outcome of the same tracker and kind, counted in `events_superseded` |
//! | UDP exchanges in flight with one tracker endpoint | a self-clocking window from 16 up to 92; `stopped`, `completed` and `announce_now` ahead of the backlog | [`Config::tracker_window`](crate::announce::Config::tracker_window) (see below) | later exchanges wait in order; a place that comes free is filled in the same drain; a cancelled waiting exchange just leaves the queue |
//! | HTTP requests in flight to one tracker host, and across all hosts | 16 per host, 50 in all | [`Config::http_per_host`](crate::announce::Config::http_per_host), [`Config::http_max_in_flight`](crate::announce::Config::http_max_in_flight) | as above |
//! | exchanges started per second with one endpoint | no ceiling (optional) | [`Config::tracker_rate`](crate::announce::Config::tracker_rate), [`Config::tracker_burst`](crate::announce::Config::tracker_burst) | with a ceiling, an admitted exchange's first send waits for its slot |
//! | info hashes per batched scrape | [`MAX_UDP_SCRAPE_BATCH`] (70) over UDP; 70 over HTTP (at most 100, so the URL stays under 8,000 bytes), halved on 414 | [`Config::max_scrape_batch`](crate::announce::Config::max_scrape_batch) | the rest go in the next batch |
//! | torrents in one `Client` | [`MAX_TORRENTS`] (2^24 - 1) | [`Client::add`](crate::client::Client::add) | `ConfigError::TooManyTorrents` |
//! | trackers per torrent (and so UDP connection ids cached: one per tracker address, at most 16 per tracker) | 256 | [`Config::max_trackers`](crate::announce::Config::max_trackers) | `ConfigError::TooManyTrackers` |
//! | BEP 12 tiers per torrent | at most the URLs listed (so at most [`Config::max_trackers`](crate::announce::Config::max_trackers), per family under dual-stack) | [`Announce::remove_tracker`](crate::announce::Announce::remove_tracker) | a tier a removal empties goes away and the later tiers move up |
//! | requests in flight per torrent | 2 per tracker (an announce and a scrape) | the machine | `scrape()` skips a tracker whose scrape is still in flight |
//! | a silent UDP tracker | 3 sends, waiting 15 s, 30 s, then 60 s (105 s in all) | [`Config::udp_max_attempts`](crate::announce::Config::udp_max_attempts), [`Config::udp_rto`](crate::announce::Config::udp_rto) | `Cause::Timeout` |
//! | a UDP datagram the window saw lost (a later one answered, or twice the round trip passed) | 6 early repeats per exchange, backed off 0, 1, 3, 7, 15 and 31 probe timeouts and paced; not BEP 15 attempts | the machine | BEP 15's timer alone |
//! | a silent or slow HTTP tracker | 30 s per request, redirects included | [`Config::http_timeout`](crate::announce::Config::http_timeout) | `Cause::Timeout`; a later answer is ignored |
//! | shutdown | 5 s after the last `stopped` was admitted by its endpoint's window (a UDP `stopped` spreads its 3 sends over it) | [`Config::stop_timeout`](crate::announce::Config::stop_timeout) | `Event::Stopped` comes anyway |
//! | a tracker's `interval` | clamped to [120 s, 2 h] | [`Config::interval_floor`](crate::announce::Config::interval_floor), [`Config::interval_ceiling`](crate::announce::Config::interval_ceiling) | |
//! | BEP 31 `retry in` | 7 days | [`Config::max_retry_in`](crate::announce::Config::max_retry_in) | |
//! | host names cached | 4,096 names, each at most [`MAX_DNS_ADDRESSES`] (16) addresses | [`DnsConfig::max_names`](crate::announce::DnsConfig::max_names) | the name whose entry expires first (and has no query in flight) is dropped; extra addresses of an answer are not kept |
//! | DNS queries | one per host name in flight, for every torrent; answers kept for their TTL clamped to [60 s, 1 day] (1 h without a TTL), failures for 150 s doubling to 30 min | [`DnsConfig`](crate::announce::DnsConfig) | requests for a cached failure fail at once, without a query |
//! | an unanswered DNS query | 30 s | [`DnsConfig::timeout`](crate::announce::DnsConfig::timeout) | `Cause::Dns(DnsFailure::NoAnswer)`; a later answer is ignored |
//!
//! # The window per tracker endpoint
//!
//! Requests to one tracker are paced by a window of exchanges in flight that clocks itself on
//! answers (TCP's control, with a tracker's answer as the acknowledgement; the reasoning, and what
//! libtorrent, Transmission and uTP do, is on the `window` module of the source). Every exchange
//! holds one place from its first datagram to its end, its connect, retransmissions and the
//! request after a connect reply included, so datagrams in flight never exceed the window.
//!
//! Why the cap is 92: a burst of replies must fit the caller's socket receive buffer, or the
//! kernel drops them. Linux gives a UDP socket `net.core.rmem_default` = 212,992 bytes and charges
//! each queued datagram its `truesize`, not its length: the payload rounded up to the kernel's
//! allocation size plus the `sk_buff` and `skb_shared_info` overhead. Measured on Linux 6.18 (send
//! N datagrams of one size to a socket that does not read, count what it queued): a datagram of up
//! to 98 bytes (a connect or announce reply with a few peers, a request) costs 832 bytes, so 256
//! fit; 200 to 500 bytes cost 1,280 (166 fit); 1,000 to 1,500 bytes, which includes the 1,220-byte
//! reply of 200 IPv4 peers (the default `numwant`), cost 2,304 (92 fit); up to 3,620 bytes (200
//! IPv6 peers) cost 4,437 (48 fit). So 92 in flight cannot overrun a default buffer with IPv4
//! replies of any size the client asks for; ask for 200 IPv6 peers, or share the socket among
//! busy trackers, and the buffer holds fewer (raise it with `SO_RCVBUF`). The same arithmetic explains the unpaced runs: 5,000 requests
//! sent at once meet a tracker socket and a client socket that each hold 256 small datagrams.
//!
//! A tracker that drops what exceeds its rate (an overloaded one, or one behind a rate limit)
//! is met with a pacing rate: a round of the window that loses more than an eighth sets it to the
//! rate answers came at. Where the rate alone paces (a round trip carries under half a datagram
//! at it: loopback, a LAN), a round that loses more than 1/32 brings it back to 1/32 above what
//! got through, and only clean rounds raise it. Measured in the simulation (tests/window.rs: a
//! loopback tracker answering 500 a second, 20,000 torrents started, then all stopped at once):
//! every `started` answered after 39.9 s and every `stopped` 40.0 s later (the tracker's rate
//! allows 40 s each), 5.4 % of the datagrams dropped by the tracker (5.8 % at 250 a second).
//! Before, the rate climbed until an eighth was lost (10 % dropped), and one request that lost
//! its four sends stalled the
//! endpoint: its BEP 15 timeout dropped the connection id every request shared, the connect that
//! replaced it was dropped too, and every request waited 30 s for it (69.8 s to start); two
//! `stopped` lost all six of their sends and were given up after `stop_timeout`. A request's
//! timeout now keeps the id when the tracker answered datagrams sent after it.
//!
//! HTTP has a fixed cap per host instead ([`Config::http_per_host`](crate::announce::Config::http_per_host),
//! 16 as Transmission): TCP already paces each connection, and a tracker is one web server that
//! gains nothing from more parallel connections than it has workers. Across all hosts at most
//! [`Config::http_max_in_flight`](crate::announce::Config::http_max_in_flight) (50, libtorrent's
//! `max_concurrent_http_announces`): each request is a connection the caller holds open.
//! libtorrent has no per-host cap below its 50; measured with `benches/startup/run.py` (one
//! loopback HTTP tracker, the mio example; two runs each, load 6-13 on 2 cores), 50 per host
//! finished no sooner than 16: every torrent answered at 1.39x-1.44x the floor (50 connections
//! at once) against 1.38x-1.40x at 5,000 torrents, 0.97x-1.38x against 1.02x-1.18x at 20,000.
//! The HTTP side had measured 2.8x-11x the floor before; the time went to the bench's tracker,
//! not to the cap: it slept 20 ms after every empty `accept`, so each wave of connections
//! waited up to 20 ms (16 at a time: 5,000 torrents in 4.9 s, now 0.5 s). So the cap stays at
//! Transmission's 16, the gentler one on a real tracker.
//!
//! URL safety has its own rules (redirects into loopback, private or link-local addresses, https
//! to http, tracker URLs that pre-fill announce parameters): see
//! [`is_internal_address`](crate::announce::is_internal_address),
//! [`HttpRequest::may_reach_internal`](crate::announce::HttpRequest::may_reach_internal) and
//! [`Config::allow_internal_redirects`](crate::announce::Config::allow_internal_redirects).

use std::borrow::Cow;

/// The longest text from a tracker the crate keeps or hands out, in bytes of UTF-8: a
/// `failure reason`, a `warning message`, the message of a UDP error reply, the text of a refused
/// redirect. A longer text is cut at the last character boundary at or below this length.
///
/// 1 KiB is a screenful for a tracker tab and about ten times the longest text real trackers send
/// (opentracker's and the npm `bittorrent-tracker`'s run to a few dozen bytes); libtorrent and
/// Transmission keep the whole text, bounded only by their reply buffers (libtorrent's HTTP
/// receive buffer is 4 MiB), which lets one tracker pin megabytes per torrent in their status.
/// Here every copy (the event, the failure cause, the tracker status) is at most this long, so a
/// tracker can make a torrent hold at most a few KiB of its text whatever it sends.
pub const MAX_TRACKER_TEXT_LEN: usize = 1024;

/// `bytes` from a tracker as text: lossy UTF-8, cut to at most [`MAX_TRACKER_TEXT_LEN`] bytes at a
/// character boundary. Borrowed when the bytes are valid UTF-8 up to the cut.
pub(crate) fn tracker_text(bytes: &[u8]) -> Cow<'_, str> {
    let cut = bytes.len() > MAX_TRACKER_TEXT_LEN;
    let head = &bytes[..bytes.len().min(MAX_TRACKER_TEXT_LEN)];
    if let Ok(text) = std::str::from_utf8(head) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(head.len());
    let mut chunks = head.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        out.push_str(chunk.valid());
        // Bytes the cut left at the very end are a split character, not the tracker's error.
        let split = cut && chunks.peek().is_none();
        if !chunk.invalid().is_empty() && !split {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    // Each replacement character is 3 bytes for 1 to 3 invalid ones: the text may have grown.
    Cow::Owned(cut_text(out))
}

/// A text the crate composed around tracker bytes (a refused redirect's reason quotes the
/// `Location` header), at most [`MAX_TRACKER_TEXT_LEN`] bytes: a longer one keeps its start and its
/// end (which says what happened) around `" [...] "`.
pub(crate) fn elide_middle(text: String) -> String {
    const MARK: &str = " [...] ";
    if text.len() <= MAX_TRACKER_TEXT_LEN {
        return text;
    }
    let keep = (MAX_TRACKER_TEXT_LEN - MARK.len()) / 2;
    let mut head = keep;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - keep;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}{MARK}{}", &text[..head], &text[tail..])
}

/// The most characters of the caller's or a tracker's input (a URL, a parameter, a header
/// value) an error message repeats; a longer one is cut there with `…` (the error's fields keep
/// the whole text).
pub const MAX_ECHO_CHARS: usize = 100;

/// Input an error message repeats, cut to [`MAX_ECHO_CHARS`] characters with `…`: `{}` writes it
/// as it is, `{:?}` quoted and escaped.
pub(crate) struct Echo<'a>(pub(crate) &'a str);

impl Echo<'_> {
    /// The text kept, and whether some was cut.
    fn kept(&self) -> (&str, bool) {
        match self.0.char_indices().nth(MAX_ECHO_CHARS) {
            Some((end, _)) => (&self.0[..end], true),
            None => (self.0, false),
        }
    }
}

impl std::fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kept() {
            (text, true) => write!(f, "{text}…"),
            (text, false) => f.write_str(text),
        }
    }
}

impl std::fmt::Debug for Echo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kept() {
            (text, true) => write!(f, "{:?}", format!("{text}…")),
            (text, false) => write!(f, "{text:?}"),
        }
    }
}

/// `text` cut to at most [`MAX_TRACKER_TEXT_LEN`] bytes at a character boundary.
fn cut_text(mut text: String) -> String {
    let mut end = text.len().min(MAX_TRACKER_TEXT_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

pub use crate::announce::{MAX_DNS_ADDRESSES, MAX_NUM_WANT, MAX_TRACKER_ID_LEN};
pub use crate::bencode::MAX_DEPTH;
pub use crate::client::{MAX_TORRENTS, MAX_UDP_SCRAPE_BATCH};
pub use crate::http::{DEFAULT_MAX_BODY_LEN, MAX_HEAD_LEN, MAX_HEADERS};
pub use crate::udp::{MAX_REQUEST_LEN, MAX_SCRAPE_HASHES, MAX_URL_DATA_LEN};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_elided_text_fits_the_cap_keeps_both_ends_and_cuts_only_between_characters() {
        let text = format!("start {} end", "€".repeat(2_000));
        let short = elide_middle(text.clone());
        assert!(short.len() <= MAX_TRACKER_TEXT_LEN, "{}", short.len());
        assert!(
            short.starts_with("start €") && short.ends_with("€ end"),
            "{short}"
        );
        assert!(short.contains(" [...] "));
        assert_eq!(elide_middle("short".into()), "short");
    }

    #[test]
    fn an_echo_keeps_a_hundred_characters_whole_and_cuts_one_more_with_an_ellipsis() {
        let at = "é".repeat(MAX_ECHO_CHARS);
        assert_eq!(Echo(&at).to_string(), at);
        assert_eq!(format!("{:?}", Echo(&at)), format!("{at:?}"));
        let over = format!("{at}\n");
        assert_eq!(Echo(&over).to_string(), format!("{at}…"));
        assert_eq!(format!("{:?}", Echo(&over)), format!("\"{at}…\""));
        let quoted = format!("\"{}", "a".repeat(200));
        let shown = format!("{:?}", Echo(&quoted));
        assert!(
            shown.starts_with("\"\\\"a") && shown.ends_with("a…\""),
            "{shown}"
        );
    }

    #[test]
    fn a_text_at_the_cap_is_kept_whole_and_one_byte_more_is_cut() {
        let at = "a".repeat(MAX_TRACKER_TEXT_LEN);
        assert!(matches!(tracker_text(at.as_bytes()), Cow::Borrowed(t) if t == at));
        let over = format!("{at}b");
        assert_eq!(tracker_text(over.as_bytes()), at);
        // A character the cut splits is left out, not replaced.
        let split = format!("{}é", "a".repeat(MAX_TRACKER_TEXT_LEN - 1));
        assert_eq!(
            tracker_text(split.as_bytes()),
            "a".repeat(MAX_TRACKER_TEXT_LEN - 1)
        );
        // An invalid byte before the cut is replaced, and the split one after it left out.
        let mixed = [b"\xFF".as_slice(), split.as_bytes()].concat();
        let text = tracker_text(&mixed);
        assert!(text.starts_with('\u{FFFD}') && text.len() <= MAX_TRACKER_TEXT_LEN);
    }
}
