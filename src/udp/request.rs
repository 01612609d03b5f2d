//! UDP requests: encoded by clients, parsed by trackers.

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv4Addr;

use byteorder::{BigEndian, ByteOrder};

use super::options::{parse_url_data, write_url_data};
use super::{
    ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_SCRAPE, ANNOUNCE_REQUEST_LEN, CONNECT_LEN, EncodeError,
    MAX_SCRAPE_HASHES, MAX_URL_DATA_LEN, PROTOCOL_ID, SCRAPE_REQUEST_HEADER_LEN,
    encoded_url_data_len, output,
};
use crate::types::{AnnounceEvent, InfoHash, PeerId};

/// A connect request (16 bytes): the protocol id, action 0 and a transaction id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Echoed by the tracker.
    pub transaction_id: u32,
}

impl ConnectRequest {
    /// Writes the 16-byte request into `buf`.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let out = output(buf, CONNECT_LEN)?;
        BigEndian::write_u64(&mut out[0..8], PROTOCOL_ID);
        BigEndian::write_u32(&mut out[8..12], ACTION_CONNECT);
        BigEndian::write_u32(&mut out[12..16], self.transaction_id);
        Ok(CONNECT_LEN)
    }
}

/// An announce request: 98 bytes plus optional BEP 41 URL data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest<'a> {
    /// From the connect response.
    pub connection_id: u64,
    /// Echoed by the tracker.
    pub transaction_id: u32,
    /// The torrent.
    pub info_hash: InfoHash,
    /// This client.
    pub peer_id: PeerId,
    /// Bytes downloaded this session.
    pub downloaded: i64,
    /// Bytes still needed; never negative (use a placeholder such as `i64::MAX` when unknown).
    pub left: i64,
    /// Bytes uploaded this session.
    pub uploaded: i64,
    /// The event. [`AnnounceEvent::Paused`] is written as 0 (see [`AnnounceEvent::udp_code`]).
    pub event: AnnounceEvent,
    /// The `IP address` field: `None` writes 0, "use the packet's source". Clients should send `None`.
    pub ip: Option<Ipv4Addr>,
    /// The per-torrent random key, the same over IPv4 and IPv6.
    pub key: u32,
    /// Peers wanted; -1 means the tracker's default.
    pub num_want: i32,
    /// The TCP port peers connect to (not the UDP source port).
    pub port: u16,
    /// BEP 41 URL data: the tracker URL's path and query. `None` sends no options. Borrowed when
    /// encoding; when parsing, borrowed if the client sent one chunk and joined if it sent several.
    pub url_data: Option<Cow<'a, [u8]>>,
}

impl AnnounceRequest<'_> {
    /// Bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        ANNOUNCE_REQUEST_LEN
            + self
                .url_data
                .as_ref()
                .map_or(0, |d| encoded_url_data_len(d.len()))
    }

    /// Writes the request into `buf` and returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        if let Some(data) = &self.url_data
            && data.len() > MAX_URL_DATA_LEN
        {
            return Err(EncodeError::UrlDataTooLong {
                len: data.len(),
                max: MAX_URL_DATA_LEN,
            });
        }
        let len = self.encoded_len();
        let available = buf.len();
        // The fixed part as an array: its field offsets are checked at compile time.
        let (out, url_data) = output(buf, len)?
            .split_first_chunk_mut::<ANNOUNCE_REQUEST_LEN>()
            .ok_or(EncodeError::BufferTooSmall {
                needed: len,
                available,
            })?;
        out[0..8].copy_from_slice(&self.connection_id.to_be_bytes());
        out[8..12].copy_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
        out[12..16].copy_from_slice(&self.transaction_id.to_be_bytes());
        out[16..36].copy_from_slice(&self.info_hash.0);
        out[36..56].copy_from_slice(&self.peer_id.0);
        out[56..64].copy_from_slice(&self.downloaded.to_be_bytes());
        out[64..72].copy_from_slice(&self.left.to_be_bytes());
        out[72..80].copy_from_slice(&self.uploaded.to_be_bytes());
        out[80..84].copy_from_slice(&self.event.udp_code().to_be_bytes());
        out[84..88].copy_from_slice(&self.ip.map_or([0; 4], |ip| ip.octets()));
        out[88..92].copy_from_slice(&self.key.to_be_bytes());
        out[92..96].copy_from_slice(&self.num_want.to_be_bytes());
        out[96..98].copy_from_slice(&self.port.to_be_bytes());
        if let Some(data) = &self.url_data {
            write_url_data(data, url_data);
        }
        Ok(len)
    }
}

/// The info hashes of a scrape request: the caller's slice when encoding, the datagram's bytes when
/// parsing. Either way nothing is copied.
#[derive(Clone, Copy)]
pub struct InfoHashes<'a>(HashesRepr<'a>);

#[derive(Clone, Copy)]
enum HashesRepr<'a> {
    List(&'a [InfoHash]),
    Wire(&'a [u8]),
}

impl<'a> InfoHashes<'a> {
    /// Number of hashes.
    pub fn len(&self) -> usize {
        match self.0 {
            HashesRepr::List(l) => l.len(),
            HashesRepr::Wire(w) => w.len() / 20,
        }
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hashes in request order.
    pub fn iter(&self) -> impl Iterator<Item = InfoHash> + use<'a> {
        let (list, wire): (&'a [InfoHash], &'a [u8]) = match self.0 {
            HashesRepr::List(l) => (l, &[]),
            HashesRepr::Wire(w) => (&[], w),
        };
        let wire = wire.chunks_exact(20).map(|c| {
            let mut h = [0u8; 20];
            h.copy_from_slice(c);
            InfoHash(h)
        });
        // At most one of the two is non-empty.
        list.iter().copied().chain(wire)
    }
}

impl<'a> From<&'a [InfoHash]> for InfoHashes<'a> {
    fn from(list: &'a [InfoHash]) -> Self {
        InfoHashes(HashesRepr::List(list))
    }
}

impl PartialEq for InfoHashes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for InfoHashes<'_> {}

impl fmt::Debug for InfoHashes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A scrape request: up to [`MAX_SCRAPE_HASHES`] info hashes. Rows come back in the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeRequest<'a> {
    /// From the connect response.
    pub connection_id: u64,
    /// Echoed by the tracker.
    pub transaction_id: u32,
    /// The torrents.
    pub info_hashes: InfoHashes<'a>,
}

impl ScrapeRequest<'_> {
    /// Bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        SCRAPE_REQUEST_HEADER_LEN + 20 * self.info_hashes.len()
    }

    /// Writes the request into `buf` and returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let count = self.info_hashes.len();
        if count == 0 {
            return Err(EncodeError::NoInfoHashes);
        }
        if count > MAX_SCRAPE_HASHES {
            return Err(EncodeError::TooManyInfoHashes {
                count,
                max: MAX_SCRAPE_HASHES,
            });
        }
        let len = self.encoded_len();
        let out = output(buf, len)?;
        BigEndian::write_u64(&mut out[0..8], self.connection_id);
        BigEndian::write_u32(&mut out[8..12], ACTION_SCRAPE);
        BigEndian::write_u32(&mut out[12..16], self.transaction_id);
        for (hash, slot) in self.info_hashes.iter().zip(out[16..].chunks_exact_mut(20)) {
            slot.copy_from_slice(&hash.0);
        }
        Ok(len)
    }
}

/// A request as a tracker receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// Action 0.
    Connect(ConnectRequest),
    /// Action 1.
    Announce(AnnounceRequest<'a>),
    /// Action 2.
    Scrape(ScrapeRequest<'a>),
}

/// Why a tracker should drop a datagram instead of answering it (PROTOCOL.md section 10).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Shorter than the message it claims to be.
    #[error("a UDP {what} request needs at least {min} bytes, this one has {len}; drop it")]
    TooShort {
        /// Which message.
        what: &'static str,
        /// Bytes received.
        len: usize,
        /// Bytes required.
        min: usize,
    },
    /// A connect request without the protocol id.
    #[error(
        "a connect request must start with the protocol id 0x41727101980, this one starts with {0:#x}; drop it"
    )]
    BadProtocolId(u64),
    /// An action other than connect, announce and scrape.
    #[error("action {0} is not a request (0 connect, 1 announce, 2 scrape); drop it")]
    UnknownAction(u32),
    /// A scrape without any whole info hash.
    #[error(
        "a scrape request must name at least one info hash; full scrapes do not exist over UDP"
    )]
    NoInfoHashes,
}

impl<'a> Request<'a> {
    /// Parses a request as a tracker receives it, following PROTOCOL.md section 10.
    ///
    /// Longer-than-needed datagrams are accepted. An announce's event 4 reads as
    /// [`AnnounceEvent::Paused`] and other unknown events as [`AnnounceEvent::Regular`]; BEP 41
    /// options are parsed tolerantly. A scrape's partial trailing hash is ignored. Truncating a scrape to
    /// [`MAX_SCRAPE_HASHES`] is the tracker's policy, not the parser's: all whole hashes are returned.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, RequestError> {
        let len = datagram.len();
        if len < 16 {
            return Err(RequestError::TooShort {
                what: "tracker",
                len,
                min: 16,
            });
        }
        let connection_id = BigEndian::read_u64(&datagram[0..8]);
        let action = BigEndian::read_u32(&datagram[8..12]);
        let transaction_id = BigEndian::read_u32(&datagram[12..16]);
        match action {
            ACTION_CONNECT if connection_id == PROTOCOL_ID => {
                Ok(Request::Connect(ConnectRequest { transaction_id }))
            }
            ACTION_CONNECT => Err(RequestError::BadProtocolId(connection_id)),
            ACTION_ANNOUNCE => {
                if len < ANNOUNCE_REQUEST_LEN {
                    return Err(RequestError::TooShort {
                        what: "announce",
                        len,
                        min: ANNOUNCE_REQUEST_LEN,
                    });
                }
                let d = datagram;
                let ip = Ipv4Addr::new(d[84], d[85], d[86], d[87]);
                Ok(Request::Announce(AnnounceRequest {
                    connection_id,
                    transaction_id,
                    info_hash: InfoHash(array20(&d[16..36])),
                    peer_id: PeerId(array20(&d[36..56])),
                    downloaded: BigEndian::read_i64(&d[56..64]),
                    left: BigEndian::read_i64(&d[64..72]),
                    uploaded: BigEndian::read_i64(&d[72..80]),
                    event: AnnounceEvent::from_udp_code(BigEndian::read_u32(&d[80..84])),
                    ip: (!ip.is_unspecified()).then_some(ip),
                    key: BigEndian::read_u32(&d[88..92]),
                    num_want: BigEndian::read_i32(&d[92..96]),
                    port: BigEndian::read_u16(&d[96..98]),
                    url_data: parse_url_data(&d[ANNOUNCE_REQUEST_LEN..]),
                }))
            }
            ACTION_SCRAPE => {
                let hashes = &datagram[SCRAPE_REQUEST_HEADER_LEN..];
                let whole = hashes.len() / 20 * 20;
                if whole == 0 {
                    return Err(RequestError::NoInfoHashes);
                }
                Ok(Request::Scrape(ScrapeRequest {
                    connection_id,
                    transaction_id,
                    info_hashes: InfoHashes(HashesRepr::Wire(&hashes[..whole])),
                }))
            }
            other => Err(RequestError::UnknownAction(other)),
        }
    }
}

fn array20(bytes: &[u8]) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.copy_from_slice(bytes);
    out
}
