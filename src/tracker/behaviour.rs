//! Misbehaviours a test switches on, one tracker at a time, and presets that act like real
//! trackers (REAL_TRACKERS.md: opentracker, webtorrent's bittorrent-tracker, aquatic, torrust).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use crate::http::RetryIn;
use crate::types::InfoHash;

/// opentracker's text for an info hash that is not on its whitelist (HTTP `failure reason`).
pub const NOT_WHITELISTED: &str = "Requested download is not authorized for use with this tracker.";

/// opentracker's text for a UDP connection id it did not issue, misspelling and NUL included.
pub const OPENTRACKER_BAD_ID: &[u8] = b"Connection ID missmatch.\0";

/// This crate's text for a UDP connection id that is unknown or older than its lifetime: it makes
/// a client reconnect at once (PROTOCOL.md section 10).
pub const EXPIRED_ID: &[u8] = b"Connection ID expired";

/// How a tracker issues UDP connection ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionIds {
    /// Stateless keyed ids (aquatic, opentracker): the issue time and a keyed hash of the time, the
    /// client's IP and the tracker's secret; accepted for
    /// [`TrackerConfig::connection_id_lifetime`](super::TrackerConfig::connection_id_lifetime).
    #[default]
    Keyed,
    /// Keyed ids, but the secret changes after every announce or scrape it accepts: each id is
    /// good for one request (a tracker whose key rotated under the client's cache).
    Rotating,
    /// Always the protocol id `0x41727101980`, and only that is accepted (webtorrent's tracker).
    ProtocolMagic,
}

/// What a tracker answers to an announce or scrape with a connection id it does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadConnectionId {
    /// An error reply (action 3) with this text.
    Error(Vec<u8>),
    /// An error reply with the action written in host byte order (`03 00 00 00`), as old
    /// opentracker did (PROTOCOL.md section 13, quirk 24).
    HostOrderError(Vec<u8>),
    /// Nothing (aquatic, webtorrent): the client's timeout has to notice.
    Silent,
}

impl Default for BadConnectionId {
    fn default() -> Self {
        BadConnectionId::Error(EXPIRED_ID.to_vec())
    }
}

/// An HTTP redirect a tracker answers announces and scrapes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// A relative redirect (302) to this path with the request's query, e.g. `/real/announce`;
    /// requests whose path already starts with it are answered normally.
    To(String),
    /// A relative redirect (302) to the same path and query under this prefix, so announces and
    /// scrapes each land on their own kind: with `/real`, `/announce?...` goes to
    /// `/real/announce?...` and `/scrape?...` to `/real/scrape?...`. Requests whose path already
    /// starts with the prefix are answered normally.
    Under(String),
    /// A 302 back to the request target itself, forever.
    Loop,
}

/// What one tracker does wrong (or peculiarly). [`Behaviour::default`] is an honest tracker; set
/// fields to switch misbehaviours on (several combine, e.g. a delay with a failure text), or start
/// from a preset: [`opentracker`](Self::opentracker), [`webtorrent`](Self::webtorrent),
/// [`aquatic`](Self::aquatic), [`torrust`](Self::torrust).
///
/// Where a misbehaviour concerns one transport only, its field says so.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Behaviour {
    /// Answer nothing at all, UDP or HTTP (the caller holds or drops the connection).
    pub silent: bool,
    /// Fail every announce and scrape with this text: an HTTP `failure reason` (with BEP 31
    /// `retry in` when set), a UDP error reply (which has no `retry in`). Connects still succeed.
    pub failure: Option<(Vec<u8>, Option<RetryIn>)>,
    /// UDP: refuse every announce with opentracker's bare 8-byte reply (action 1 and the
    /// transaction id, nothing else).
    pub refuse_announces: bool,
    /// Serve only these info hashes (opentracker's compiled-in whitelist): an announce for another
    /// one gets the 8-byte refusal over UDP and [`NOT_WHITELISTED`] over HTTP; a scrape lists it as
    /// zeros over UDP and leaves it out over HTTP.
    pub whitelist: Option<BTreeSet<InfoHash>>,
    /// How UDP connection ids are issued and checked.
    pub connection_ids: ConnectionIds,
    /// UDP: the answer to a connection id that is not accepted.
    pub bad_connection_id: BadConnectionId,
    /// Give up to [`TrackerConfig::max_numwant`](super::TrackerConfig::max_numwant) peers (or
    /// `max_numwant_v6`) whatever `numwant` asks for, as torrust does.
    pub ignore_numwant: bool,
    /// UDP: each reply is sent this many times (a flood; 1 is normal, 0 reads as 1, at most
    /// [`MAX_COPIES`](super::MAX_COPIES)).
    pub copies: u32,
    /// Every answer is due this long after the request came in (a slow tracker): the caller sends
    /// it at [`TrackerTransmit::send_at`](super::TrackerTransmit::send_at) or
    /// [`HttpAnswer::send_at`](super::HttpAnswer::send_at).
    pub delay: Duration,
    /// HTTP: answer every announce and scrape with this status and a short HTML body (410 Gone,
    /// 500, ...).
    pub http_status: Option<u16>,
    /// HTTP: send the normal bencoded reply (or failure) with this status instead of 200, as
    /// BitTornado-derived trackers sent failures with 400 or 401 (PROTOCOL.md section 5).
    pub reply_status: Option<u16>,
    /// HTTP: redirect announces and scrapes.
    pub redirect: Option<Redirect>,
    /// UDP over IPv6: write IPv4 peers as 6-byte entries and never list IPv6 peers (webtorrent).
    pub ipv4_entries_over_ipv6: bool,
    /// HTTP scrape: write each `files` key as its bytes read as Latin-1 and encoded as UTF-8, so a
    /// hash with bytes of 0x80 and above becomes a key of 21 to 40 bytes (webtorrent).
    pub mangle_scrape_keys: bool,
    /// HTTP scrape: add `flags` with this `min_request_interval` in seconds (webtorrent sends it).
    pub min_request_interval: Option<i64>,
    /// HTTP: end the body with `\r\n` after the bencoded dictionary, counted in `Content-Length`
    /// (aquatic).
    pub crlf_after_body: bool,
    /// Store announcers on loopback addresses under this address instead, as torrust does with its
    /// `core.net.external_ip` (default `0.0.0.0`, which clients then drop as unusable).
    pub rewrite_loopback: Option<IpAddr>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            silent: false,
            failure: None,
            refuse_announces: false,
            whitelist: None,
            connection_ids: ConnectionIds::Keyed,
            bad_connection_id: BadConnectionId::default(),
            ignore_numwant: false,
            copies: 1,
            delay: Duration::ZERO,
            http_status: None,
            reply_status: None,
            redirect: None,
            ipv4_entries_over_ipv6: false,
            mangle_scrape_keys: false,
            min_request_interval: None,
            crlf_after_body: false,
            rewrite_loopback: None,
        }
    }
}

impl Behaviour {
    /// An honest tracker (the default).
    pub fn honest() -> Self {
        Behaviour::default()
    }

    /// A tracker that never answers.
    pub fn silent() -> Self {
        Behaviour {
            silent: true,
            ..Behaviour::default()
        }
    }

    /// A tracker that fails every announce and scrape with `reason` (any bytes; `retry_in` over
    /// HTTP only).
    pub fn failing(reason: impl Into<Vec<u8>>, retry_in: Option<RetryIn>) -> Self {
        Behaviour {
            failure: Some((reason.into(), retry_in)),
            ..Behaviour::default()
        }
    }

    /// opentracker as Debian builds it: a whitelist of `allowed` info hashes and opentracker's
    /// misspelt, NUL-terminated connection-id error. Pair it with
    /// [`TrackerConfig::include_announcer`](super::TrackerConfig::include_announcer) `= true`.
    pub fn opentracker(allowed: impl IntoIterator<Item = InfoHash>) -> Self {
        Behaviour {
            whitelist: Some(allowed.into_iter().collect()),
            bad_connection_id: BadConnectionId::Error(OPENTRACKER_BAD_ID.to_vec()),
            ..Behaviour::default()
        }
    }

    /// Old opentracker (2014): its connection-id error has the action in host byte order.
    pub fn old_opentracker() -> Self {
        Behaviour {
            bad_connection_id: BadConnectionId::HostOrderError(OPENTRACKER_BAD_ID.to_vec()),
            ..Behaviour::default()
        }
    }

    /// webtorrent's `bittorrent-tracker` 11: the protocol id as every connection id (others get
    /// silence), 6-byte IPv4 entries over UDP/IPv6, mangled HTTP scrape keys and
    /// `flags.min_request_interval`. Pair it with an interval of 600 s and no `min interval`.
    pub fn webtorrent() -> Self {
        Behaviour {
            connection_ids: ConnectionIds::ProtocolMagic,
            bad_connection_id: BadConnectionId::Silent,
            ipv4_entries_over_ipv6: true,
            mangle_scrape_keys: true,
            min_request_interval: Some(600),
            ..Behaviour::default()
        }
    }

    /// aquatic 0.9: silence for a bad or expired connection id, `\r\n` after every HTTP body.
    pub fn aquatic() -> Self {
        Behaviour {
            bad_connection_id: BadConnectionId::Silent,
            crlf_after_body: true,
            ..Behaviour::default()
        }
    }

    /// torrust-tracker 3: loopback announcers are listed as `external_ip` (torrust's default is
    /// `0.0.0.0`), and `numwant` is ignored. Pair it with `max_numwant` 74.
    pub fn torrust(external_ip: IpAddr) -> Self {
        Behaviour {
            rewrite_loopback: Some(external_ip),
            ignore_numwant: true,
            ..Behaviour::default()
        }
    }
}
