//! What the machine hands out: datagrams to send, HTTP requests to make, and events.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::dns::DnsFailure;
use crate::{AnnounceEvent, TrackerUrl};

/// A tracker of one [`Announce`](super::Announce): its index in the order the URLs were given (after
/// empty tiers and duplicates were dropped). Look its URL up with
/// [`Announce::tracker_url`](super::Announce::tracker_url).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackerId(pub u16);

impl fmt::Display for TrackerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tracker #{}", self.0)
    }
}

/// Names one torrent of a [`Client`](crate::client::Client): its slot and the generation of that
/// slot, so the id of a removed torrent never names a later one. An `Announce` is
/// [`TorrentId::ANNOUNCE`] (0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TorrentId(pub u64);

impl TorrentId {
    /// The one torrent of an [`Announce`](super::Announce).
    pub const ANNOUNCE: TorrentId = TorrentId(0);
}

impl fmt::Display for TorrentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "torrent #{}", self.0 & 0xffff_ffff)?;
        match self.0 >> 32 {
            0 => Ok(()),
            generation => write!(f, ".{generation}"),
        }
    }
}

/// Names one request the machine handed out (a UDP exchange or an HTTP request), so the caller can
/// report a transport failure for it. Never reused by one machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// What a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// An announce carrying this event.
    Announce(AnnounceEvent),
    /// A scrape of this torrent.
    Scrape,
}

/// Whose request a [`Transmit`] or an [`HttpRequest`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// One torrent's request to one of its trackers (an [`Announce`](super::Announce) is
    /// [`TorrentId::ANNOUNCE`]). Its URL is
    /// [`Client::tracker_url`](crate::client::Client::tracker_url)`(torrent, tracker)`.
    Tracker {
        /// The torrent.
        torrent: TorrentId,
        /// The torrent's tracker.
        tracker: TrackerId,
    },
    /// A [`Client`](crate::client::Client)'s batched scrape of several torrents on one tracker URL.
    /// [`Client::batch_members`](crate::client::Client::batch_members)`(request)` lists the
    /// torrents and their trackers while it is in flight, and each member gets its own
    /// [`Event::Scraped`] or [`Event::Failed`] naming its own tracker.
    ScrapeBatch {
        /// Torrents in the batch.
        members: u16,
    },
}

impl Origin {
    /// The tracker, for a torrent's own request (`None` for a batched scrape).
    pub fn tracker(&self) -> Option<TrackerId> {
        match *self {
            Origin::Tracker { tracker, .. } => Some(tracker),
            Origin::ScrapeBatch { .. } => None,
        }
    }

    /// The torrent, for a torrent's own request (`None` for a batched scrape).
    pub fn torrent(&self) -> Option<TorrentId> {
        match *self {
            Origin::Tracker { torrent, .. } => Some(torrent),
            Origin::ScrapeBatch { .. } => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Tracker { torrent, tracker } => write!(f, "{torrent}, {tracker}"),
            Origin::ScrapeBatch { members: 1 } => f.write_str("a scrape batch of 1 torrent"),
            Origin::ScrapeBatch { members } => write!(f, "a scrape batch of {members} torrents"),
        }
    }
}

/// A datagram written into the caller's buffer by
/// [`poll_transmit`](super::Announce::poll_transmit): send `buf[..len]` to the tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the datagram is in the buffer and must be sent"]
pub struct Transmit {
    /// The exchange it belongs to. A send that fails at once (network or host unreachable,
    /// refused) may be reported with it through `handle_transport_error`: the exchange then moves
    /// on to the tracker's next address without waiting for its retransmission timeout. Not
    /// reporting is fine too (the timeout covers it), as for any lost datagram.
    pub request: RequestId,
    /// Whose request it is: the torrent and tracker, or a batched scrape.
    pub origin: Origin,
    /// Where to send it: the tracker URL's IP literal, or one of the addresses its host name
    /// resolved to (the machine asks for names itself, see
    /// [`poll_dns_query`](super::Announce::poll_dns_query)), in canonical form. With several
    /// addresses, an exchange that gets no answer from one moves on to the next (each but the last
    /// gets one send, [`Config::udp_rto`](super::Config::udp_rto) long; the last gets the whole
    /// BEP 15 schedule), and a reply is accepted from any of them.
    pub destination: SocketAddr,
    /// Bytes written at the start of the buffer.
    pub len: usize,
}

/// An HTTP GET the caller makes, from [`poll_http_request`](super::Announce::poll_http_request).
///
/// Callers with an HTTP client use [`url.as_str()`](TrackerUrl::as_str) as it is (it is fully
/// encoded ASCII) and pin the host to [`addresses`](Self::addresses) with the client's resolver
/// hook (the machine already resolved it). Callers with a raw TCP stream connect to
/// `addresses[0]` (never a lookup of their own), write the request with
/// [`http::write_get_request`](crate::http::write_get_request)`(&request.url, ..)` and read the
/// reply with [`http::ResponseReader`](crate::http::ResponseReader): nothing is parsed again. Do
/// not follow redirects: hand the 3xx response in and the machine decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the request must be made or reported as failed"]
pub struct HttpRequest {
    /// Pass it back with the response or the failure.
    pub id: RequestId,
    /// Whose request it is: the torrent and tracker, or a batched scrape.
    pub origin: Origin,
    /// The full URL (the announce or scrape URL with its query), parsed: its scheme (`http` or
    /// `https`), host and port are at hand, and its text is [`as_str`](TrackerUrl::as_str).
    pub url: TrackerUrl,
    /// The addresses to connect to, in order, with the URL's port: its IP literal, or what its
    /// host name resolved to (never empty). Connect to the first; when it refuses, report
    /// [`TransportError::ConnectionRefused`] and the machine hands out the same request (with a
    /// new id) for the next address. A client that tries several itself may use them all.
    pub addresses: Vec<SocketAddr>,
    /// What it is for.
    pub kind: RequestKind,
    /// The machine gives up at this time and ignores a later answer; the caller may cancel then.
    pub deadline: Instant,
    /// Whether this request may connect to a loopback, private or link-local address. It is
    /// `false` for a redirect from a tracker that is not on such an address itself (unless
    /// [`Config::allow_internal_redirects`](super::Config::allow_internal_redirects)). The machine
    /// already applied it to [`addresses`](Self::addresses); a caller whose HTTP client resolves
    /// again (ignoring `addresses`) should check what it got with
    /// [`is_internal_address`](super::is_internal_address) and, when this is `false`, report
    /// [`TransportError::InternalAddress`] instead of connecting.
    pub may_reach_internal: bool,
}

/// A transport failure the caller reports with
/// [`handle_transport_error`](super::Announce::handle_transport_error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportError {
    /// The host name did not resolve.
    Dns,
    /// The connection was refused (or ICMP port unreachable for UDP).
    ConnectionRefused,
    /// The connection was reset or closed before a complete response.
    ConnectionReset,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The HTTP response could not be read (malformed framing, body over the cap).
    BadResponse,
    /// The host name resolved only to loopback, private or link-local addresses, which this
    /// request may not reach ([`HttpRequest::may_reach_internal`] is `false`).
    InternalAddress,
    /// Any other I/O failure.
    Other,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportError::Dns => "the tracker's host name did not resolve",
            TransportError::ConnectionRefused => "the tracker refused the connection",
            TransportError::ConnectionReset => "the connection to the tracker was reset",
            TransportError::Tls => "the TLS handshake with the tracker failed",
            TransportError::BadResponse => "the tracker's HTTP response could not be read",
            TransportError::InternalAddress => {
                "the redirect's host name resolves to a loopback, private or link-local address, which a public tracker may not send this client to"
            }
            TransportError::Other => "an I/O error occurred talking to the tracker",
        })
    }
}

/// A successful announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// The request this ends: the id of its datagrams, or of the HTTP request in flight (after a
    /// redirect, the last hop's, which is the one the caller holds).
    pub id: RequestId,
    /// The tracker that answered.
    pub tracker: TrackerId,
    /// The event the announce carried.
    pub event: AnnounceEvent,
    /// Peers, deduplicated and sorted; entries with port 0, port 1 (the placeholder of clients that
    /// cannot accept connections) or an unspecified, broadcast or multicast address are dropped,
    /// addresses are in canonical form ([`canonical_addr`](crate::canonical_addr)), and at most
    /// [`Config::max_peers_per_reply`](super::Config::max_peers_per_reply) are kept. This client
    /// itself is left out where it can be recognised: its announced port at the tracker's BEP 24
    /// `external ip`, or at a loopback address when the tracker is on loopback.
    pub peers: Vec<SocketAddr>,
    /// The re-announce period in force (the tracker's `interval`, defaulted and clamped).
    pub interval: Duration,
    /// The `min interval` in force (defaulted and clamped).
    pub min_interval: Duration,
    /// Seeders (`complete`), when sent.
    pub seeders: Option<u32>,
    /// Leechers (`incomplete`), when sent.
    pub leechers: Option<u32>,
    /// The tracker's `warning message`: lossy UTF-8, cut to at most
    /// [`MAX_TRACKER_TEXT_LEN`](crate::limits::MAX_TRACKER_TEXT_LEN) bytes at a character boundary.
    pub warning: Option<String>,
    /// BEP 24 `external ip`: this client's address as the tracker saw it, in canonical form
    /// ([`canonical_ip`](crate::canonical_ip)).
    pub external_ip: Option<IpAddr>,
}

/// A successful scrape of this torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scraped {
    /// The request this ends: the id of its datagrams, or of the HTTP request in flight (after a
    /// redirect, the last hop's, which is the one the caller holds).
    pub id: RequestId,
    /// The tracker that answered.
    pub tracker: TrackerId,
    /// Seeders; `None` when the tracker does not know the torrent.
    pub seeders: Option<u32>,
    /// Completed downloads ever.
    pub completed: Option<u32>,
    /// Leechers.
    pub leechers: Option<u32>,
}

/// A request that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The request this ends: the id of its datagrams, or of the HTTP request in flight (after a
    /// redirect, the last hop's, which is the one the caller holds).
    pub id: RequestId,
    /// The tracker.
    pub tracker: TrackerId,
    /// What the request was for.
    pub request: RequestKind,
    /// Why it failed.
    pub cause: Cause,
}

/// Why a request failed. Its `Display` says what happened; [`Event::Failed`] says what happens
/// next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The tracker refused with this text (`failure reason` over HTTP, an error reply over UDP),
    /// as lossy UTF-8 cut to at most [`MAX_TRACKER_TEXT_LEN`](crate::limits::MAX_TRACKER_TEXT_LEN)
    /// bytes at a character boundary.
    Tracker {
        /// The tracker's text.
        reason: String,
        /// BEP 31 `retry in`, capped; `None` when not sent.
        retry_in: Option<Duration>,
    },
    /// A UDP tracker refused the announce: a reply to it with action 1 (announce) and its
    /// transaction id, but shorter than the 20-byte announce header (8 to 19 bytes, so no
    /// interval and no peers). opentracker sends the bare 8-byte header for an info hash it does
    /// not track (PROTOCOL.md section 10).
    Refused,
    /// No answer before the deadline (UDP: after every retransmission).
    Timeout,
    /// The caller reported a transport failure.
    Transport(TransportError),
    /// An HTTP status other than 2xx whose body is not a bencoded failure.
    HttpStatus(u16),
    /// HTTP 410 Gone: the tracker is disabled for this torrent.
    Gone,
    /// BEP 31 `retry in: never`: the tracker is disabled for this torrent.
    RetryNever {
        /// The tracker's text, cut as [`Cause::Tracker`]'s.
        reason: String,
    },
    /// A reply that could not be understood: the text says what is wrong with it, as a whole
    /// sentence (it is the `Display` of the decoder's error).
    BadReply(String),
    /// A redirect that was not followed, and why. The reason may quote the `Location` header: a
    /// reason longer than [`MAX_TRACKER_TEXT_LEN`](crate::limits::MAX_TRACKER_TEXT_LEN) bytes
    /// keeps its start and end around `" [...] "`.
    Redirect(String),
    /// The tracker URL has no scrape URL: its last path segment does not start with `announce`
    /// (BEP 48) and its path does not end in `/announce/<key>`; see
    /// [`scrape_url`](crate::http::scrape_url).
    ScrapeUnsupported,
    /// The caller ended the request while it was in flight: [`stop`](super::Announce::stop),
    /// [`pause`](super::Announce::pause), [`remove_tracker`](super::Announce::remove_tracker) or
    /// [`replace_trackers`](super::Announce::replace_trackers), or a `Client`'s `remove`.
    Cancelled,
    /// The tracker's host name gave no address this request may use (the caller's resolver
    /// failed or did not answer, or a public name resolved only to internal addresses).
    Dns(DnsFailure),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Tracker { reason, retry_in } => {
                write!(f, "the tracker refused: {reason:?}")?;
                if let Some(after) = retry_in {
                    write!(f, " (it asks to retry in {} s)", after.as_secs())?;
                }
                Ok(())
            }
            Cause::Refused => f.write_str(
                "the tracker refused the announce with a short reply (no interval, no peers); it probably does not track this torrent",
            ),
            Cause::Timeout => f.write_str("no answer from the tracker before the deadline"),
            Cause::Transport(e) => write!(f, "{e}"),
            Cause::HttpStatus(status) => write!(
                f,
                "the tracker answered HTTP {status} without a bencoded reply"
            ),
            Cause::Gone => f.write_str(
                "the tracker answered HTTP 410 Gone; it is disabled for this torrent",
            ),
            Cause::RetryNever { reason } => write!(
                f,
                "the tracker refused ({reason:?}) and asked never to retry; it is disabled for this torrent"
            ),
            Cause::BadReply(why) => f.write_str(why),
            Cause::Redirect(why) => write!(f, "redirect not followed: {why}"),
            Cause::ScrapeUnsupported => f.write_str(
                "this tracker has no scrape URL (its path ends neither in a segment starting with \"announce\" nor in \"/announce/<passkey>\")",
            ),
            Cause::Cancelled => {
                f.write_str("cancelled by the caller (stop, pause, remove or a tracker-list edit)")
            }
            Cause::Dns(why) => write!(f, "{why}"),
        }
    }
}

/// What happened, from [`poll_event`](super::Announce::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Event {
    /// An announce succeeded.
    Announced(Announced),
    /// A scrape succeeded.
    Scraped(Scraped),
    /// A request failed. Every request ends in exactly one `Announced`, `Scraped` or `Failed`
    /// (one still waiting to be drained may be superseded by a later outcome of the same
    /// tracker and kind: see [`Announce::poll_event`](super::Announce::poll_event)). A failed
    /// announce is retried on the tier's backoff; a failed scrape or `stopped` is not.
    Failed(Failed),
    /// The tracker will not be contacted again (HTTP 410, `retry in: never`). Follows the `Failed`
    /// that caused it.
    TrackerDisabled {
        /// The tracker.
        tracker: TrackerId,
    },
    /// Shutdown finished: the last event. Nothing is sent after it and `poll_timeout` is `None`.
    Stopped,
}
