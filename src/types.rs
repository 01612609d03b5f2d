//! Identifiers and values shared by both protocols: info hashes, peer ids, announce events, address
//! families and validated tracker URLs.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

mod tracker_url;

pub(crate) use tracker_url::redact;
pub use tracker_url::{Scheme, TrackerUrl, TrackerUrlError};

/// A torrent's 20-byte info hash, as trackers see it.
///
/// For a v1 torrent this is the SHA-1 of the bencoded `info` dictionary exactly as its bytes appear in
/// the `.torrent` file. For a v2 torrent (BEP 52) trackers get the first 20 bytes of the SHA-256; see
/// [`InfoHash::from_v2`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

/// A peer id: 20 opaque bytes, usually an ASCII client prefix such as `-TR4060-` and random bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub [u8; 20]);

/// Why a 40-character hex string could not be read as an [`InfoHash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// The string does not have exactly 40 characters.
    #[error("an info hash is 40 hex characters, this one has {0}; copy the whole btih value")]
    Length(usize),
    /// A character outside `0-9a-fA-F`.
    #[error("character {0:?} at position {1} is not a hex digit")]
    Digit(char, usize),
}

impl InfoHash {
    /// The info hash of a v2 torrent as trackers expect it: the first 20 bytes of its SHA-256.
    pub fn from_v2(sha256: &[u8; 32]) -> Self {
        let mut out = [0u8; 20];
        out.copy_from_slice(&sha256[..20]);
        InfoHash(out)
    }

    /// Parses 40 hex digits (either case).
    pub fn from_hex(hex: &str) -> Result<Self, HexError> {
        let bytes = hex.as_bytes();
        if bytes.len() != 40 {
            return Err(HexError::Length(hex.chars().count()));
        }
        let mut out = [0u8; 20];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_digit(pair[0]).ok_or(HexError::Digit(pair[0] as char, 2 * i))?;
            let lo = hex_digit(pair[1]).ok_or(HexError::Digit(pair[1] as char, 2 * i + 1))?;
            out[i] = hi << 4 | lo;
        }
        Ok(InfoHash(out))
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl FromStr for InfoHash {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, HexError> {
        InfoHash::from_hex(s)
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for InfoHash {
    /// Lowercase hex, as in magnet links.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({self})")
    }
}

impl PeerId {
    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Debug for PeerId {
    /// Printable ASCII as is, every other byte as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PeerId(\"")?;
        for &b in &self.0 {
            if b.is_ascii_graphic() && b != b'"' && b != b'\\' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("\")")
    }
}

/// The `event` of an announce. HTTP sends it as text, UDP as a number in a *different* order.
///
/// [`Display`](fmt::Display) writes its name: `started`, `completed`, `stopped` (BEP 3), `paused`
/// (BEP 21), and `regular` for the periodic announce without an event (BEP 3's "empty").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AnnounceEvent {
    /// A regular, periodic announce: no event (HTTP: the `event` parameter left out, which BEP 3
    /// also allows to be written as `empty`; UDP: 0, which BEP 15 calls "none"). Named so that it
    /// is not read as `Option::None`.
    #[doc(alias = "empty")]
    #[doc(alias = "none")]
    #[default]
    Regular,
    /// The download just finished (HTTP `completed`; UDP 1). Sent once.
    Completed,
    /// The first announce of the session to this tracker (HTTP `started`; UDP 2).
    Started,
    /// A graceful stop (HTTP `stopped`; UDP 3).
    Stopped,
    /// A partial seed (BEP 21, HTTP `paused`). UDP has no standard code: a client sends 0, and a tracker
    /// reads libtorrent's 4 as `Paused`.
    Paused,
}

impl AnnounceEvent {
    /// The UDP (BEP 15) code a client sends. `Paused` goes out as 0, because some trackers (aquatic)
    /// drop a packet with event 4.
    pub fn udp_code(self) -> u32 {
        match self {
            AnnounceEvent::Regular | AnnounceEvent::Paused => 0,
            AnnounceEvent::Completed => 1,
            AnnounceEvent::Started => 2,
            AnnounceEvent::Stopped => 3,
        }
    }

    /// How a tracker reads a UDP event code: 0..3 as BEP 15 says, 4 as `Paused` (libtorrent), any other
    /// value as `Regular` rather than dropping the announce.
    pub fn from_udp_code(code: u32) -> Self {
        match code {
            1 => AnnounceEvent::Completed,
            2 => AnnounceEvent::Started,
            3 => AnnounceEvent::Stopped,
            4 => AnnounceEvent::Paused,
            _ => AnnounceEvent::Regular,
        }
    }

    /// The HTTP `event=` value, or `None` for a regular announce (the parameter is left out).
    pub fn http_value(self) -> Option<&'static str> {
        match self {
            AnnounceEvent::Regular => None,
            AnnounceEvent::Completed => Some("completed"),
            AnnounceEvent::Started => Some("started"),
            AnnounceEvent::Stopped => Some("stopped"),
            AnnounceEvent::Paused => Some("paused"),
        }
    }

    /// Reads an HTTP `event=` value. An empty value or `empty` means a regular announce
    /// ([`Regular`](Self::Regular)); anything unknown gives `None` (the caller names the bad
    /// value).
    pub fn from_http_value(value: &[u8]) -> Option<Self> {
        Some(match value {
            b"" | b"empty" => AnnounceEvent::Regular,
            b"completed" => AnnounceEvent::Completed,
            b"started" => AnnounceEvent::Started,
            b"stopped" => AnnounceEvent::Stopped,
            b"paused" => AnnounceEvent::Paused,
            _ => return None,
        })
    }
}

/// The event's name (`regular` for [`Regular`](AnnounceEvent::Regular)), for logs and messages. It
/// is not always the wire text: a regular announce sends no `event` over HTTP.
impl fmt::Display for AnnounceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.http_value().unwrap_or("regular"))
    }
}

/// The address family of an exchange. Over UDP it decides the stride of compact peers (6 or 18
/// bytes); it is never guessed from the bytes themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4: compact peers are 4 address bytes and a port.
    V4,
    /// IPv6: compact peers are 16 address bytes and a port.
    V6,
}

impl AddressFamily {
    /// The family of a socket address in canonical form ([`canonical_ip`](crate::canonical_ip)): an
    /// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) counts as IPv4, as trackers treat it.
    pub fn of(addr: &SocketAddr) -> Self {
        match crate::canonical_ip(addr.ip()) {
            IpAddr::V4(_) => AddressFamily::V4,
            IpAddr::V6(_) => AddressFamily::V6,
        }
    }

    /// Bytes per compact peer entry: 6 or 18.
    pub fn compact_stride(self) -> usize {
        match self {
            AddressFamily::V4 => 6,
            AddressFamily::V6 => 18,
        }
    }
}
