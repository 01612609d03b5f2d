//! Announce and scrape query strings, parsed on the tracker side (PROTOCOL.md section 3.3).

use super::percent::{PercentError, decode};
use crate::limits::Echo;
use crate::types::{AnnounceEvent, InfoHash, PeerId};

/// Why a query string is not a valid announce or scrape. Each variant names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A required parameter is absent.
    #[error("the required parameter {0:?} is missing")]
    Missing(&'static str),
    /// A value that could not be percent-decoded.
    #[error("parameter {:?}: {source}", Echo(.param))]
    Percent {
        /// The parameter.
        param: String,
        /// Where the encoding is broken.
        source: PercentError,
    },
    /// `info_hash` or `peer_id` not exactly 20 bytes once decoded.
    #[error("parameter {param:?} must decode to exactly 20 bytes, it decodes to {len}")]
    Length {
        /// The parameter.
        param: &'static str,
        /// Bytes found.
        len: usize,
    },
    /// A number or an event that cannot be read.
    #[error("parameter {param:?} has the invalid value {:?} ({expected})", Echo(.value))]
    Invalid {
        /// The parameter.
        param: &'static str,
        /// The value as sent (lossy text).
        value: String,
        /// What was expected.
        expected: &'static str,
    },
}

/// An announce as a tracker receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceQuery {
    /// The torrent.
    pub info_hash: InfoHash,
    /// The client.
    pub peer_id: PeerId,
    /// Its TCP port (0 is returned as sent; a tracker may refuse it).
    pub port: u16,
    /// Bytes uploaded.
    pub uploaded: u64,
    /// Bytes downloaded.
    pub downloaded: u64,
    /// Bytes left.
    pub left: u64,
    /// The event (absent, empty or `empty` is [`AnnounceEvent::Regular`]).
    pub event: AnnounceEvent,
    /// `compact` as sent: `Some(true)` for `1`, `Some(false)` for any other value.
    pub compact: Option<bool>,
    /// Peers wanted, if given.
    pub numwant: Option<u32>,
    /// The client's key, raw.
    pub key: Option<Vec<u8>>,
    /// The echoed tracker id, raw.
    pub tracker_id: Option<Vec<u8>>,
    /// `no_peer_id=1` was sent.
    pub no_peer_id: bool,
}

/// A scrape as a tracker receives it: every `info_hash` in order. None means a full scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeQuery {
    /// The torrents asked for.
    pub info_hashes: Vec<InfoHash>,
}

/// `name=value` pairs of a query (the part after `?`, or a whole URL/request target).
fn pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let query = match query.iter().position(|&b| b == b'?') {
        Some(i) => &query[i + 1..],
        None => query,
    };
    let query = query.split(|&b| b == b'#').next().unwrap_or(&[]);
    query
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        })
}

fn decoded(param: &[u8], value: &[u8]) -> Result<Vec<u8>, QueryError> {
    decode(value).map_err(|source| QueryError::Percent {
        param: String::from_utf8_lossy(param).into_owned(),
        source,
    })
}

fn bytes20(param: &'static str, value: &[u8]) -> Result<[u8; 20], QueryError> {
    let v = decoded(param.as_bytes(), value)?;
    v.as_slice().try_into().map_err(|_| QueryError::Length {
        param,
        len: v.len(),
    })
}

fn number<T: std::str::FromStr>(param: &'static str, value: &[u8]) -> Result<T, QueryError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| QueryError::Invalid {
            param,
            value: String::from_utf8_lossy(value).into_owned(),
            expected: "a non-negative decimal number in range",
        })
}

impl AnnounceQuery {
    /// Parses an announce query string (or a request target containing one). The first occurrence
    /// of a parameter counts; unknown parameters are ignored.
    pub fn parse(query: &[u8]) -> Result<Self, QueryError> {
        let (mut info_hash, mut peer_id, mut port) = (None, None, None);
        let (mut uploaded, mut downloaded, mut left) = (None, None, None);
        let mut q = AnnounceQuery {
            info_hash: InfoHash([0; 20]),
            peer_id: PeerId([0; 20]),
            port: 0,
            uploaded: 0,
            downloaded: 0,
            left: 0,
            event: AnnounceEvent::Regular,
            compact: None,
            numwant: None,
            key: None,
            tracker_id: None,
            no_peer_id: false,
        };
        let mut event_seen = false;
        for (name, value) in pairs(query) {
            match name {
                b"info_hash" if info_hash.is_none() => {
                    info_hash = Some(InfoHash(bytes20("info_hash", value)?))
                }
                b"peer_id" if peer_id.is_none() => {
                    peer_id = Some(PeerId(bytes20("peer_id", value)?))
                }
                b"port" if port.is_none() => port = Some(number("port", value)?),
                b"uploaded" if uploaded.is_none() => uploaded = Some(number("uploaded", value)?),
                b"downloaded" if downloaded.is_none() => {
                    downloaded = Some(number("downloaded", value)?)
                }
                b"left" if left.is_none() => left = Some(number("left", value)?),
                b"event" if !event_seen => {
                    event_seen = true;
                    q.event = AnnounceEvent::from_http_value(value).ok_or_else(|| {
                        QueryError::Invalid {
                            param: "event",
                            value: String::from_utf8_lossy(value).into_owned(),
                            expected: "started, completed, stopped, paused or empty",
                        }
                    })?;
                }
                b"compact" if q.compact.is_none() => q.compact = Some(value == b"1"),
                b"numwant" if q.numwant.is_none() => q.numwant = Some(number("numwant", value)?),
                b"key" if q.key.is_none() => q.key = Some(decoded(name, value)?),
                b"trackerid" if q.tracker_id.is_none() => {
                    q.tracker_id = Some(decoded(name, value)?)
                }
                b"no_peer_id" => q.no_peer_id = value == b"1",
                _ => {}
            }
        }
        q.info_hash = info_hash.ok_or(QueryError::Missing("info_hash"))?;
        q.peer_id = peer_id.ok_or(QueryError::Missing("peer_id"))?;
        q.port = port.ok_or(QueryError::Missing("port"))?;
        q.uploaded = uploaded.ok_or(QueryError::Missing("uploaded"))?;
        q.downloaded = downloaded.ok_or(QueryError::Missing("downloaded"))?;
        q.left = left.ok_or(QueryError::Missing("left"))?;
        Ok(q)
    }
}

impl ScrapeQuery {
    /// Parses a scrape query string (or a request target containing one); `info_hash` may repeat.
    pub fn parse(query: &[u8]) -> Result<Self, QueryError> {
        let info_hashes = pairs(query)
            .filter(|(name, _)| *name == b"info_hash")
            .map(|(_, value)| bytes20("info_hash", value).map(InfoHash))
            .collect::<Result<_, _>>()?;
        Ok(ScrapeQuery { info_hashes })
    }
}
