//! UDP replies: parsed by clients (zero-copy views), encoded by trackers.

use std::borrow::Cow;
use std::fmt;

use byteorder::{BigEndian, ByteOrder};

use super::{
    ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_ERROR, ACTION_SCRAPE, ANNOUNCE_RESPONSE_HEADER_LEN,
    CONNECT_LEN, EncodeError, REPLY_HEADER_LEN, SCRAPE_ROW_LEN, output,
};
use crate::compact::CompactPeers;
use crate::types::AddressFamily;

/// A connect response (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectResponse {
    /// The request's transaction id.
    pub transaction_id: u32,
    /// The id to put in announces and scrapes for the next minute. Any value is valid, including
    /// the protocol id (webtorrent's tracker hands that out).
    pub connection_id: u64,
}

impl ConnectResponse {
    /// Writes the 16-byte response.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let out = output(buf, CONNECT_LEN)?;
        write_header(out, ACTION_CONNECT, self.transaction_id);
        BigEndian::write_u64(&mut out[8..16], self.connection_id);
        Ok(CONNECT_LEN)
    }
}

/// An announce response: counts and a compact peer list of the exchange's family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnounceResponse<'a> {
    /// The request's transaction id.
    pub transaction_id: u32,
    /// Seconds until the next regular announce, as the tracker sent it (the caller clamps it).
    pub interval: u32,
    /// Leechers. Note the order on the wire: leechers come before seeders.
    pub leechers: u32,
    /// Seeders.
    pub seeders: u32,
    /// The peers, decoded in place while iterating, in canonical form (an IPv4-mapped entry of an
    /// IPv6 reply is an IPv4 peer; see [`canonical_addr`](crate::canonical_addr)).
    pub peers: CompactPeers<'a>,
}

impl AnnounceResponse<'_> {
    /// Bytes [`encode`](Self::encode) writes in `family`.
    pub fn encoded_len(&self, family: AddressFamily) -> usize {
        ANNOUNCE_RESPONSE_HEADER_LEN + self.peers.encoded_len(family)
    }

    /// Writes the response with peers in `family`, which must be the family of the socket the request
    /// came in on (an IPv4-mapped source counts as IPv4).
    pub fn encode(&self, family: AddressFamily, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let len = self.encoded_len(family);
        let out = output(buf, len)?;
        write_header(out, ACTION_ANNOUNCE, self.transaction_id);
        BigEndian::write_u32(&mut out[8..12], self.interval);
        BigEndian::write_u32(&mut out[12..16], self.leechers);
        BigEndian::write_u32(&mut out[16..20], self.seeders);
        self.peers
            .write(family, &mut out[ANNOUNCE_RESPONSE_HEADER_LEN..])?;
        Ok(len)
    }
}

/// One scrape reply row. The wire order is seeders, completed, leechers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeStats {
    /// Seeders (`complete`).
    pub seeders: u32,
    /// Completed downloads ever (`downloaded`).
    pub completed: u32,
    /// Leechers (`incomplete`).
    pub leechers: u32,
}

/// Scrape rows: the caller's slice when encoding, the datagram's bytes when parsing.
#[derive(Clone, Copy)]
pub struct ScrapeRows<'a>(RowsRepr<'a>);

#[derive(Clone, Copy)]
enum RowsRepr<'a> {
    List(&'a [ScrapeStats]),
    Wire(&'a [u8]),
}

impl<'a> ScrapeRows<'a> {
    /// Number of whole rows.
    pub fn len(&self) -> usize {
        match self.0 {
            RowsRepr::List(l) => l.len(),
            RowsRepr::Wire(w) => w.len() / SCRAPE_ROW_LEN,
        }
    }

    /// True when there is no whole row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes after the last whole row (0 when well formed).
    pub fn trailing_bytes(&self) -> usize {
        match self.0 {
            RowsRepr::List(_) => 0,
            RowsRepr::Wire(w) => w.len() % SCRAPE_ROW_LEN,
        }
    }

    /// Row `i` (matching the request's `i`-th hash), if the tracker sent it.
    pub fn get(&self, i: usize) -> Option<ScrapeStats> {
        match self.0 {
            RowsRepr::List(l) => l.get(i).copied(),
            RowsRepr::Wire(w) => w.as_chunks().0.get(i).map(read_row),
        }
    }

    /// The rows in request order.
    pub fn iter(&self) -> impl Iterator<Item = ScrapeStats> + use<'a> {
        let (list, wire): (&'a [ScrapeStats], &'a [u8]) = match self.0 {
            RowsRepr::List(l) => (l, &[]),
            RowsRepr::Wire(w) => (&[], w),
        };
        // At most one of the two is non-empty.
        list.iter()
            .copied()
            .chain(wire.as_chunks().0.iter().map(read_row))
    }
}

#[inline]
fn read_row(row: &[u8; SCRAPE_ROW_LEN]) -> ScrapeStats {
    let [s0, s1, s2, s3, c0, c1, c2, c3, l0, l1, l2, l3] = *row;
    ScrapeStats {
        seeders: u32::from_be_bytes([s0, s1, s2, s3]),
        completed: u32::from_be_bytes([c0, c1, c2, c3]),
        leechers: u32::from_be_bytes([l0, l1, l2, l3]),
    }
}

impl<'a> From<&'a [ScrapeStats]> for ScrapeRows<'a> {
    fn from(list: &'a [ScrapeStats]) -> Self {
        ScrapeRows(RowsRepr::List(list))
    }
}

impl PartialEq for ScrapeRows<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.trailing_bytes() == other.trailing_bytes() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for ScrapeRows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A scrape response: one row per requested hash, in request order. Fewer rows than hashes means
/// the rest are unknown; extra rows are to be ignored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScrapeResponse<'a> {
    /// The request's transaction id.
    pub transaction_id: u32,
    /// The rows.
    pub rows: ScrapeRows<'a>,
}

impl ScrapeResponse<'_> {
    /// Bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        REPLY_HEADER_LEN + SCRAPE_ROW_LEN * self.rows.len()
    }

    /// Writes the response.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let len = self.encoded_len();
        let out = output(buf, len)?;
        write_header(out, ACTION_SCRAPE, self.transaction_id);
        for (row, slot) in self
            .rows
            .iter()
            .zip(out[REPLY_HEADER_LEN..].chunks_exact_mut(SCRAPE_ROW_LEN))
        {
            BigEndian::write_u32(&mut slot[0..4], row.seeders);
            BigEndian::write_u32(&mut slot[4..8], row.completed);
            BigEndian::write_u32(&mut slot[8..12], row.leechers);
        }
        Ok(len)
    }
}

/// An error reply (action 3): free text to the end of the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorResponse<'a> {
    /// The request's transaction id.
    pub transaction_id: u32,
    /// The raw message bytes, exactly as sent (opentracker appends a NUL).
    pub message: &'a [u8],
}

impl<'a> ErrorResponse<'a> {
    /// The message as text: lossy UTF-8 with trailing NULs removed, cut to at most
    /// [`MAX_TRACKER_TEXT_LEN`](crate::limits::MAX_TRACKER_TEXT_LEN) bytes at a character
    /// boundary ([`message`](Self::message) has every byte). Borrowed when already valid.
    pub fn message_text(&self) -> Cow<'a, str> {
        let end = self
            .message
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        crate::limits::tracker_text(&self.message[..end])
    }

    /// Writes the reply.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let len = REPLY_HEADER_LEN + self.message.len();
        let out = output(buf, len)?;
        write_header(out, ACTION_ERROR, self.transaction_id);
        out[REPLY_HEADER_LEN..].copy_from_slice(self.message);
        Ok(len)
    }
}

fn write_header(out: &mut [u8], action: u32, transaction_id: u32) {
    BigEndian::write_u32(&mut out[0..4], action);
    BigEndian::write_u32(&mut out[4..8], transaction_id);
}

/// A reply as a client receives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reply<'a> {
    /// Action 0.
    Connect(ConnectResponse),
    /// Action 1 with the full header.
    Announce(AnnounceResponse<'a>),
    /// Action 1 shorter than 20 bytes: the tracker refused the announce. opentracker answers an
    /// info hash that is not on its whitelist with just the 8-byte header.
    AnnounceRefused {
        /// The request's transaction id.
        transaction_id: u32,
    },
    /// Action 2.
    Scrape(ScrapeResponse<'a>),
    /// Action 3.
    Error(ErrorResponse<'a>),
}

/// A datagram that is not a well-formed reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// Fewer than 8 bytes: not even an action and a transaction id. Ignore it.
    #[error(
        "a {len}-byte datagram is too short to be a tracker reply (at least 8 bytes); ignoring it"
    )]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// A connect reply cut short.
    #[error(
        "the tracker's connect reply to transaction {transaction_id:#010x} has {len} bytes, needs 16: it is truncated"
    )]
    TruncatedConnect {
        /// Its transaction id.
        transaction_id: u32,
        /// Bytes received.
        len: usize,
    },
    /// An action outside 0..3. Old opentracker wrote the error action in host byte order
    /// (`03 00 00 00`), so a client treats this as a tracker error when the transaction id is its own.
    #[error(
        "the tracker's reply to transaction {transaction_id:#010x} has unknown action {action:#x}; treating it as a tracker error"
    )]
    UnknownAction {
        /// The action found.
        action: u32,
        /// Its transaction id.
        transaction_id: u32,
    },
}

/// The transaction id of a reply (bytes 4..8), read before anything else to route or drop it.
pub fn peek_transaction_id(datagram: &[u8]) -> Option<u32> {
    datagram.get(4..8).map(BigEndian::read_u32)
}

impl<'a> Reply<'a> {
    /// Parses a reply received over a socket of `family`.
    ///
    /// The caller still checks the transaction id and that the action is the one it waits for
    /// (PROTOCOL.md section 10); this only reads the bytes. Extra bytes after a fixed-size reply are
    /// ignored. Peers are decoded with the family's stride, with one exception: a reply over IPv6 whose
    /// peer section is a multiple of 6 but not of 18 is read as IPv4 entries, because webtorrent's
    /// tracker sends 6-byte entries over IPv6 (a section that is a multiple of 18 cannot be told apart
    /// and is read as IPv6, as BEP 15 says).
    #[inline]
    pub fn parse(datagram: &'a [u8], family: AddressFamily) -> Result<Self, ReplyError> {
        let len = datagram.len();
        if len < REPLY_HEADER_LEN {
            return Err(ReplyError::TooShort { len });
        }
        let action = BigEndian::read_u32(&datagram[0..4]);
        let transaction_id = BigEndian::read_u32(&datagram[4..8]);
        match action {
            ACTION_CONNECT if len < CONNECT_LEN => Err(ReplyError::TruncatedConnect {
                transaction_id,
                len,
            }),
            ACTION_CONNECT => Ok(Reply::Connect(ConnectResponse {
                transaction_id,
                connection_id: BigEndian::read_u64(&datagram[8..16]),
            })),
            ACTION_ANNOUNCE if len < ANNOUNCE_RESPONSE_HEADER_LEN => {
                Ok(Reply::AnnounceRefused { transaction_id })
            }
            ACTION_ANNOUNCE => {
                let peers = &datagram[ANNOUNCE_RESPONSE_HEADER_LEN..];
                let family = match family {
                    AddressFamily::V6
                        if !peers.len().is_multiple_of(18) && peers.len().is_multiple_of(6) =>
                    {
                        AddressFamily::V4
                    }
                    f => f,
                };
                Ok(Reply::Announce(AnnounceResponse {
                    transaction_id,
                    interval: BigEndian::read_u32(&datagram[8..12]),
                    leechers: BigEndian::read_u32(&datagram[12..16]),
                    seeders: BigEndian::read_u32(&datagram[16..20]),
                    peers: CompactPeers::new(peers, family),
                }))
            }
            ACTION_SCRAPE => Ok(Reply::Scrape(ScrapeResponse {
                transaction_id,
                rows: ScrapeRows(RowsRepr::Wire(&datagram[REPLY_HEADER_LEN..])),
            })),
            ACTION_ERROR => Ok(Reply::Error(ErrorResponse {
                transaction_id,
                message: &datagram[REPLY_HEADER_LEN..],
            })),
            action => Err(ReplyError::UnknownAction {
                action,
                transaction_id,
            }),
        }
    }

    /// The transaction id the reply answers.
    pub fn transaction_id(&self) -> u32 {
        match self {
            Reply::Connect(r) => r.transaction_id,
            Reply::Announce(r) => r.transaction_id,
            Reply::AnnounceRefused { transaction_id } => *transaction_id,
            Reply::Scrape(r) => r.transaction_id,
            Reply::Error(r) => r.transaction_id,
        }
    }

    /// Writes the reply as a tracker sends it; `family` matters only for announce peers.
    pub fn encode(&self, family: AddressFamily, buf: &mut [u8]) -> Result<usize, EncodeError> {
        match self {
            Reply::Connect(r) => r.encode(buf),
            Reply::Announce(r) => r.encode(family, buf),
            Reply::AnnounceRefused { transaction_id } => {
                let out = output(buf, REPLY_HEADER_LEN)?;
                write_header(out, ACTION_ANNOUNCE, *transaction_id);
                Ok(REPLY_HEADER_LEN)
            }
            Reply::Scrape(r) => r.encode(buf),
            Reply::Error(r) => r.encode(buf),
        }
    }
}
