//! The UDP tracker protocol (BEP 15) with BEP 41 URL data, in both directions.
//!
//! | message | client side | tracker side |
//! |---|---|---|
//! | [`ConnectRequest`], [`AnnounceRequest`], [`ScrapeRequest`] | `encode` | [`Request::parse`] |
//! | [`ConnectResponse`], [`AnnounceResponse`], [`ScrapeResponse`], [`ErrorResponse`], refusal | [`Reply::parse`] | `encode` |
//!
//! Encoding writes into a caller buffer and returns the length; a buffer that is too small is an
//! [`EncodeError`], never a truncated datagram. [`MAX_REQUEST_LEN`] bytes always suffice for a request.
//!
//! Parsing borrows the datagram: an announce reply's peers and a scrape reply's rows are decoded in
//! place while iterating, with no allocation. The compact-peer stride follows the address family of
//! the exchange, which the caller passes in (see [`AddressFamily::of`]).
//!
//! ```
//! use bt_tracker::udp::{ConnectRequest, Reply};
//! use bt_tracker::AddressFamily;
//!
//! let mut buf = [0u8; bt_tracker::udp::MAX_REQUEST_LEN];
//! let n = ConnectRequest { transaction_id: 0x1234_5678 }.encode(&mut buf)?;
//! assert_eq!(&buf[..n], &[0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
//!
//! let reply = [0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0xc0, 0xff, 0xee, 0, 0x11, 0x22, 0x33, 0x44];
//! match Reply::parse(&reply, AddressFamily::V4)? {
//!     Reply::Connect(c) => assert_eq!(c.connection_id, 0xC0FF_EE00_1122_3344),
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod options;
mod reply;
mod request;

pub use options::encoded_url_data_len;
pub use reply::{
    ErrorResponse, Reply, ReplyError, ScrapeResponse, ScrapeRows, ScrapeStats, peek_transaction_id,
};
pub use request::{
    AnnounceRequest, ConnectRequest, InfoHashes, Request, RequestError, ScrapeRequest,
};

pub use crate::compact::{CompactPeers, PeerFamilyError};
pub use reply::{AnnounceResponse, ConnectResponse};

use crate::types::AddressFamily;

/// The protocol id a connect request starts with (`0x41727101980`).
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;

/// Action code of connect messages.
pub const ACTION_CONNECT: u32 = 0;
/// Action code of announce messages.
pub const ACTION_ANNOUNCE: u32 = 1;
/// Action code of scrape messages.
pub const ACTION_SCRAPE: u32 = 2;
/// Action code of error replies.
pub const ACTION_ERROR: u32 = 3;

/// Length of a connect request and of a connect response.
pub const CONNECT_LEN: usize = 16;
/// Length of an announce request without BEP 41 options. Trackers drop shorter announces.
pub const ANNOUNCE_REQUEST_LEN: usize = 98;
/// Length of an announce response header (before the peers).
pub const ANNOUNCE_RESPONSE_HEADER_LEN: usize = 20;
/// Length of a scrape request header (before the info hashes).
pub const SCRAPE_REQUEST_HEADER_LEN: usize = 16;
/// Length of a reply header: action and transaction id.
pub const REPLY_HEADER_LEN: usize = 8;
/// Bytes per scrape reply row.
pub const SCRAPE_ROW_LEN: usize = 12;

/// Most info hashes in one scrape request: BEP 15's "about 74" (16 + 74 * 20 = 1496 bytes). Trackers
/// accept up to this many and truncate the rest; a client should send fewer (this crate's client sends
/// at most 70, the aquatic default).
pub const MAX_SCRAPE_HASHES: usize = 74;

/// Most BEP 41 URL-data bytes (path and query) an announce may carry. Longer URLs are refused when
/// encoding, so that an announce always fits one unfragmented datagram.
pub const MAX_URL_DATA_LEN: usize = 1024;

/// Longest announce request this crate writes: 98 bytes plus the largest URL data option block.
pub const MAX_ANNOUNCE_REQUEST_LEN: usize =
    ANNOUNCE_REQUEST_LEN + encoded_url_data_len(MAX_URL_DATA_LEN);

/// Longest scrape request: 74 hashes.
pub const MAX_SCRAPE_REQUEST_LEN: usize = SCRAPE_REQUEST_HEADER_LEN + 20 * MAX_SCRAPE_HASHES;

/// A buffer of this size holds any request this crate encodes.
pub const MAX_REQUEST_LEN: usize = if MAX_ANNOUNCE_REQUEST_LEN > MAX_SCRAPE_REQUEST_LEN {
    MAX_ANNOUNCE_REQUEST_LEN
} else {
    MAX_SCRAPE_REQUEST_LEN
};

/// The receive buffer an announce reply with up to `num_want` peers needs over `family`. A smaller
/// buffer silently cuts large replies (libtorrent's 1500-byte buffer breaks IPv6 replies of more than
/// 82 peers).
///
/// For any `num_want` that [`Config`](crate::announce::Config) accepts it is at most 65,522 bytes
/// (saturating at `usize::MAX` for larger ones instead of overflowing).
pub const fn announce_reply_len(num_want: usize, family: AddressFamily) -> usize {
    let stride: usize = match family {
        AddressFamily::V4 => 6,
        AddressFamily::V6 => 18,
    };
    ANNOUNCE_RESPONSE_HEADER_LEN.saturating_add(stride.saturating_mul(num_want))
}

/// Why a message could not be encoded. Nothing was written that the caller should send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is smaller than the message.
    #[error(
        "the output buffer has {available} bytes but the message needs {needed}; pass a buffer of at least udp::MAX_REQUEST_LEN bytes"
    )]
    BufferTooSmall {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The BEP 41 URL data is longer than [`MAX_URL_DATA_LEN`].
    #[error(
        "the tracker URL's path and query are {len} bytes, more than the {max} that fit an announce datagram; shorten the URL"
    )]
    UrlDataTooLong {
        /// Bytes of URL data.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A scrape request with more than [`MAX_SCRAPE_HASHES`] hashes.
    #[error("a UDP scrape carries at most {max} info hashes, {count} were given; split the scrape")]
    TooManyInfoHashes {
        /// Hashes given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A scrape request with no hash at all (a full scrape, which UDP does not have).
    #[error("a UDP scrape needs at least one info hash")]
    NoInfoHashes,
    /// A peer that cannot be written in the reply's address family.
    #[error(transparent)]
    PeerFamily(#[from] PeerFamilyError),
}

/// Checks that `buf` holds `needed` bytes and returns exactly that prefix.
fn output(buf: &mut [u8], needed: usize) -> Result<&mut [u8], EncodeError> {
    let available = buf.len();
    buf.get_mut(..needed)
        .ok_or(EncodeError::BufferTooSmall { needed, available })
}
