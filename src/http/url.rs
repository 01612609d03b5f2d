//! Announce and scrape URLs, built on the client side (PROTOCOL.md sections 3 and 6).

use super::percent::encode_into;
use crate::limits::Echo;
use crate::types::{AnnounceEvent, InfoHash, PeerId, Scheme, TrackerUrl};

/// Query parameters a tracker URL may not carry itself: they are ours to set. The list is
/// libtorrent's SSRF mitigation list (`has_tracker_query_string`), compared case-insensitively.
pub const RESERVED_PARAMETERS: [&str; 9] = [
    "info_hash",
    "peer_id",
    "port",
    "uploaded",
    "downloaded",
    "left",
    "event",
    "key",
    "corrupt",
];

/// Why an announce URL could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The tracker URL is `udp://`; HTTP URLs are only for `http://` and `https://` trackers.
    #[error(
        "{} is a UDP tracker; HTTP announce URLs are built only for http:// and https:// trackers",
        Echo(.0)
    )]
    NotHttp(String),
    /// The tracker URL already sets a parameter the client must set.
    #[error(
        "the tracker URL {} already sets the announce parameter {:?}; remove it (a URL that pre-fills announce parameters could make this client announce on someone else's behalf)",
        Echo(.url),
        Echo(.name)
    )]
    ReservedParameter {
        /// The URL.
        url: String,
        /// The parameter found.
        name: String,
    },
}

/// Checks that an HTTP tracker URL's query sets none of [`RESERVED_PARAMETERS`].
pub fn check_tracker_query(url: &TrackerUrl) -> Result<(), UrlError> {
    if url.scheme() == Scheme::Udp {
        return Err(UrlError::NotHttp(url.to_string()));
    }
    let query = url.as_str().split_once('?').map_or("", |(_, q)| q);
    for pair in query.split('&') {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        if RESERVED_PARAMETERS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
        {
            return Err(UrlError::ReservedParameter {
                url: url.to_string(),
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// What a client tells an HTTP tracker in one announce. Counts are unsigned, so a negative value
/// cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceParams<'a> {
    /// The torrent.
    pub info_hash: InfoHash,
    /// This client.
    pub peer_id: PeerId,
    /// The TCP port peers connect to.
    pub port: u16,
    /// Bytes uploaded this session.
    pub uploaded: u64,
    /// Bytes downloaded this session.
    pub downloaded: u64,
    /// Bytes still needed. For an unknown size (magnet link without metadata) send a non-zero
    /// placeholder such as 16384 (libtorrent) or `i64::MAX as u64` (Transmission): 0 means seeder.
    pub left: u64,
    /// Bytes that failed the hash check; `None` leaves the parameter out.
    pub corrupt: Option<u64>,
    /// The per-torrent random key, sent as `%08X`.
    pub key: u32,
    /// The event; [`AnnounceEvent::Regular`] leaves the parameter out.
    pub event: AnnounceEvent,
    /// Peers wanted (0 with `stopped`).
    pub numwant: u32,
    /// Send `no_peer_id=1` (smaller list-form replies).
    pub no_peer_id: bool,
    /// Send `supportcrypto=1`: only if this client speaks MSE/PE.
    pub supportcrypto: bool,
    /// The `tracker id` the tracker gave in an earlier reply, echoed as `trackerid`.
    pub tracker_id: Option<&'a [u8]>,
    /// Send `requirecrypto=1`: this client only accepts MSE/PE-encrypted peers (Transmission's
    /// "encryption required" mode).
    pub requirecrypto: bool,
    /// Bytes downloaded more than once (libtorrent's `redundant`); `None` leaves it out.
    pub redundant: Option<u64>,
    /// The `ip` parameter: the address this client asks to be listed under (mostly ignored;
    /// opentracker honours it only when built to). `None` leaves it out.
    pub ip: Option<std::net::IpAddr>,
}

/// Builds the announce URL: the tracker URL in its ASCII form ([`TrackerUrl::as_str`]: IDNA host,
/// its own query first and otherwise as given, fragment dropped), then the parameters in
/// libtorrent's order, binary values percent-encoded with only unreserved bytes raw. The result is
/// ASCII whatever the tracker URL held.
///
/// Fails when the tracker URL is not HTTP(S) or pre-fills a reserved parameter.
///
/// Like [`TrackerUrl::as_str`], the result keeps a `user:password@` of the tracker URL, for the
/// HTTP client to send as basic authentication: do not log it.
pub fn announce_url(tracker: &TrackerUrl, p: &AnnounceParams<'_>) -> Result<String, UrlError> {
    check_tracker_query(tracker)?;
    let mut url = String::with_capacity(tracker.as_str().len() + 256);
    url.push_str(tracker.as_str());
    push_announce_params(&mut url, p);
    Ok(url)
}

/// [`announce_url`] as a [`TrackerUrl`], built without parsing: what an `HttpRequest` carries.
pub(crate) fn announce_request(
    tracker: &TrackerUrl,
    p: &AnnounceParams<'_>,
) -> Result<TrackerUrl, UrlError> {
    check_tracker_query(tracker)?;
    let mut path_and_query = String::with_capacity(tracker.path_and_query().len() + 256);
    path_and_query.push_str(tracker.path_and_query());
    push_announce_params(&mut path_and_query, p);
    Ok(tracker.with_path_and_query(&path_and_query))
}

/// Appends the announce parameters to a URL (or its path and query), after `?` or `&`.
fn push_announce_params(url: &mut String, p: &AnnounceParams<'_>) {
    let sep = separator(url);
    url.push_str(sep);
    url.push_str("info_hash=");
    encode_into(&p.info_hash.0, url);
    url.push_str("&peer_id=");
    encode_into(&p.peer_id.0, url);
    url.push_str(&format!(
        "&port={}&uploaded={}&downloaded={}&left={}",
        p.port, p.uploaded, p.downloaded, p.left
    ));
    if let Some(corrupt) = p.corrupt {
        url.push_str(&format!("&corrupt={corrupt}"));
    }
    url.push_str(&format!("&key={:08X}", p.key));
    if let Some(event) = p.event.http_value() {
        url.push_str("&event=");
        url.push_str(event);
    }
    url.push_str(&format!("&numwant={}&compact=1", p.numwant));
    if p.no_peer_id {
        url.push_str("&no_peer_id=1");
    }
    if p.supportcrypto {
        url.push_str("&supportcrypto=1");
    }
    if p.requirecrypto {
        url.push_str("&requirecrypto=1");
    }
    if let Some(redundant) = p.redundant {
        url.push_str(&format!("&redundant={redundant}"));
    }
    if let Some(id) = p.tracker_id {
        url.push_str("&trackerid=");
        encode_into(id, url);
    }
    if let Some(ip) = p.ip {
        url.push_str("&ip=");
        encode_into(ip.to_string().as_bytes(), url);
    }
}

/// What joins a URL and the parameters appended to it: `?` without a query, `&` with one, nothing
/// when the URL already ends in `?` or `&`.
fn separator(url: &str) -> &'static str {
    if url.ends_with('?') || url.ends_with('&') {
        ""
    } else if url.contains('?') {
        "&"
    } else {
        "?"
    }
}

/// The scrape URL of an HTTP(S) tracker, by PROTOCOL.md section 6.1 plus the passkey form:
///
/// 1. BEP 48: when the last path segment starts with `announce`, those 8 characters become
///    `scrape` (`/x/announce.php?k=1` gives `/x/scrape.php?k=1`).
/// 2. Otherwise, the passkey form of torrust-tracker's private mode and UNIT3D-style trackers: when
///    the last segment is not empty and the segment directly before it is exactly `announce`,
///    that segment becomes `scrape` (`/announce/<key>` gives `/scrape/<key>`). Only that segment
///    counts: `/announce/<key>/`, `/announce/a/b` and `/announce.php/<key>` have no scrape URL.
///
/// Rule 1 wins, so every URL BEP 48 gives a scrape URL keeps it (`/announce/announce` gives
/// `/announce/scrape`). The query is kept, nothing is unescaped, matching is case-sensitive, and the
/// host is never rewritten (libtorrent replaces the first `announce` anywhere, even in the host
/// name). Built from the tracker URL's ASCII form, so it is ASCII too. `None` means the tracker
/// does not support scraping (and for `udp://` trackers, which scrape over UDP at the announce
/// endpoint). A `user:password@` of the tracker URL is kept, as in [`announce_url`].
pub fn scrape_url(tracker: &TrackerUrl) -> Option<String> {
    let path_and_query = scrape_path_and_query(tracker)?;
    Some(format!("{}{path_and_query}", tracker.origin()))
}

/// [`scrape_url`] as a [`TrackerUrl`], built without parsing.
pub(crate) fn scrape_tracker_url(tracker: &TrackerUrl) -> Option<TrackerUrl> {
    let path_and_query = scrape_path_and_query(tracker)?;
    Some(tracker.with_path_and_query(&path_and_query))
}

/// The path and query of [`scrape_url`].
fn scrape_path_and_query(tracker: &TrackerUrl) -> Option<String> {
    if tracker.scheme() == Scheme::Udp {
        return None;
    }
    let path_and_query = tracker.path_and_query();
    let path = path_and_query.split('?').next().unwrap_or("");
    let last = path.rfind('/')? + 1;
    let at = if path[last..].starts_with("announce") {
        last
    } else {
        let before = path[..last - 1].rfind('/')? + 1;
        if path[last..].is_empty() || &path[before..last - 1] != "announce" {
            return None;
        }
        before
    };
    Some(format!(
        "{}scrape{}",
        &path_and_query[..at],
        &path_and_query[at + "announce".len()..]
    ))
}

/// [`scrape_request_url`] on a scrape URL from [`scrape_tracker_url`], as a [`TrackerUrl`].
pub(crate) fn scrape_request(scrape: &TrackerUrl, hashes: &[InfoHash]) -> TrackerUrl {
    scrape.with_path_and_query(&scrape_request_url(scrape.path_and_query(), hashes))
}

/// A scrape request URL for `hashes` (one `info_hash` parameter each, joined with the `?`/`&` rule).
/// No hash at all asks for a full scrape, which most trackers refuse.
pub fn scrape_request_url(scrape_url: &str, hashes: &[InfoHash]) -> String {
    let mut url = String::with_capacity(scrape_url.len() + hashes.len() * 72);
    url.push_str(scrape_url);
    let mut sep = separator(scrape_url);
    for hash in hashes {
        url.push_str(sep);
        url.push_str("info_hash=");
        encode_into(&hash.0, &mut url);
        sep = "&";
    }
    url
}
