//! HTTP announce replies: decoded leniently and in place by clients, encoded canonically by trackers
//! (PROTOCOL.md section 4).

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::bencode::{
    self, Dict, DictEntries, List, ListIter, Value, put_bytes, put_bytes_entry, put_int_entry,
};
use crate::canonical_ip;
use crate::compact::{CompactPeers, PeerFamilyError};
use crate::types::{AddressFamily, PeerId};

/// Why a body is not a tracker reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Not valid bencode.
    #[error(
        "the tracker's reply is not valid bencode (at byte {}: {}); the tracker is broken or this is not a tracker URL",
        .0.offset,
        .0.kind
    )]
    Bencode(#[from] bencode::DecodeError),
    /// Valid bencode, or something else, but not a dictionary.
    #[error("the tracker's reply is not a bencoded dictionary (it starts with {start:?}){hint}")]
    NotADictionary {
        /// The first bytes, as text.
        start: String,
        /// Extra advice, e.g. for HTML pages.
        hint: &'static str,
    },
}

pub(crate) fn top_dict(body: &[u8]) -> Result<Dict<'_>, BodyError> {
    if body.first() == Some(&b'd')
        && let Value::Dict(d) = bencode::decode(body)?
    {
        return Ok(d);
    }
    Err(not_a_dictionary(body))
}

/// The entries of the body's top-level dictionary, validated while they are read.
fn top_entries(body: &[u8]) -> Result<DictEntries<'_>, BodyError> {
    DictEntries::new(body).ok_or_else(|| not_a_dictionary(body))
}

fn not_a_dictionary(body: &[u8]) -> BodyError {
    let start = String::from_utf8_lossy(&body[..body.len().min(24)]).into_owned();
    let hint = if body.trim_ascii_start().starts_with(b"<") {
        "; it looks like an HTML page, so the URL probably points at a web server, not a tracker"
    } else {
        ""
    };
    BodyError::NotADictionary { start, hint }
}

/// BEP 31 `retry in`: when the tracker wants to hear from this client again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryIn {
    /// Retry after this many minutes (a positive integer or digit string).
    Minutes(u32),
    /// `never`: stop announcing to this tracker.
    Never,
}

impl RetryIn {
    fn read(value: Value<'_>) -> Option<Self> {
        let minutes = match value {
            Value::Bytes(b"never") => return Some(RetryIn::Never),
            Value::Int(n) => n,
            Value::Bytes(digits) => std::str::from_utf8(digits).ok()?.trim().parse().ok()?,
            _ => return None,
        };
        (minutes > 0).then(|| RetryIn::Minutes(u32::try_from(minutes).unwrap_or(u32::MAX)))
    }

    fn write(self, out: &mut Vec<u8>) {
        match self {
            RetryIn::Never => put_bytes_entry(out, b"retry in", b"never"),
            RetryIn::Minutes(m) => put_int_entry(out, b"retry in", i64::from(m)),
        }
    }
}

/// Text a tracker sent (failure reason, warning): raw bytes, shown as lossy UTF-8 cut to
/// [`MAX_TRACKER_TEXT_LEN`](crate::limits::MAX_TRACKER_TEXT_LEN).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    crate::limits::tracker_text(bytes)
}

/// A reply with `failure reason`: the announce failed, whatever else the reply holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    /// The tracker's text, verbatim.
    pub reason: &'a [u8],
    /// BEP 31 `retry in`.
    pub retry_in: Option<RetryIn>,
    /// `interval` sent along with the failure (some trackers use it to slow clients down).
    pub interval: Option<i64>,
    /// `min interval` sent along with the failure.
    pub min_interval: Option<i64>,
}

impl<'a> Failure<'a> {
    /// The reason as text: lossy UTF-8, cut to at most
    /// [`MAX_TRACKER_TEXT_LEN`](crate::limits::MAX_TRACKER_TEXT_LEN) bytes at a character
    /// boundary ([`reason`](Self::reason) has every byte).
    pub fn reason_text(&self) -> Cow<'a, str> {
        text(self.reason)
    }

    fn read(reason: &'a [u8], dict: &Dict<'a>) -> Self {
        let mut f = Failure {
            reason,
            retry_in: None,
            interval: None,
            min_interval: None,
        };
        for (key, value) in dict.iter() {
            match (key, value) {
                (b"retry in", v) if f.retry_in.is_none() => f.retry_in = RetryIn::read(v),
                (b"interval", Value::Int(n)) if f.interval.is_none() => f.interval = Some(n),
                (b"min interval", Value::Int(n)) if f.min_interval.is_none() => {
                    f.min_interval = Some(n)
                }
                _ => {}
            }
        }
        f
    }

    /// Appends the canonical failure reply (`failure reason`, then the optional keys, sorted).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(b'd');
        put_bytes_entry(out, b"failure reason", self.reason);
        if let Some(n) = self.interval {
            put_int_entry(out, b"interval", n);
        }
        if let Some(n) = self.min_interval {
            put_int_entry(out, b"min interval", n);
        }
        if let Some(r) = self.retry_in {
            r.write(out);
        }
        out.push(b'e');
    }
}

/// The `peers` value: compact (BEP 23) or a list of dictionaries (BEP 3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Peers<'a> {
    /// 6-byte IPv4 entries, read in place. A missing `peers` key is an empty compact list.
    Compact(CompactPeers<'a>),
    /// The list form.
    Dicts(DictPeers<'a>),
}

/// A list-form peer's address: an IP, or a host name the caller may resolve (libtorrent does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerAddr<'a> {
    /// An IP literal, in canonical form ([`canonical_ip`]): `::ffff:1.2.3.4` is `1.2.3.4`.
    Ip(SocketAddr),
    /// A DNS name and port.
    Host {
        /// The name, as sent.
        name: &'a str,
        /// The port (1..=65535).
        port: u16,
    },
}

/// One list-form peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DictPeer<'a> {
    /// Where to reach it.
    pub addr: PeerAddr<'a>,
    /// Its `peer id`, when sent and 20 bytes long.
    pub peer_id: Option<PeerId>,
}

/// List-form peers, walked in place. Malformed entries (not a dictionary, no `ip` or `port`, a port
/// outside 1..=65535, an `ip` that is neither an address nor a host name) are skipped, never wrapped
/// or guessed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DictPeers<'a> {
    list: List<'a>,
}

impl<'a> DictPeers<'a> {
    /// The valid entries in order.
    pub fn iter(&self) -> impl Iterator<Item = DictPeer<'a>> + use<'a> {
        self.list.iter().filter_map(|v| match v {
            Value::Dict(d) => dict_peer(&d),
            _ => None,
        })
    }

    /// The encoded list, as received.
    pub fn raw(&self) -> &'a [u8] {
        self.list.raw
    }
}

impl fmt::Debug for DictPeers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn dict_peer<'a>(d: &Dict<'a>) -> Option<DictPeer<'a>> {
    let (mut ip, mut port, mut peer_id) = (None, None, None);
    for (key, value) in d.iter() {
        match (key, value) {
            (b"ip", Value::Bytes(b)) if ip.is_none() => ip = Some(b),
            (b"port", Value::Int(p)) if port.is_none() => port = Some(p),
            (b"peer id", Value::Bytes(b)) if peer_id.is_none() => peer_id = Some(b),
            _ => {}
        }
    }
    let port = u16::try_from(port?).ok().filter(|&p| p != 0)?;
    let ip = std::str::from_utf8(ip?).ok()?.trim();
    let addr = match ip.parse::<IpAddr>() {
        Ok(ip) => PeerAddr::Ip(SocketAddr::new(canonical_ip(ip), port)),
        Err(_) if is_host_name(ip) => PeerAddr::Host { name: ip, port },
        Err(_) => return None,
    };
    let peer_id = peer_id
        .and_then(|b| <[u8; 20]>::try_from(b).ok())
        .map(PeerId);
    Some(DictPeer { addr, peer_id })
}

/// A plausible DNS name: 1..=253 bytes of letters, digits, `-`, `.` and `_`.
fn is_host_name(s: &str) -> bool {
    (1..=253).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// A successful announce reply. Every field is as the tracker sent it, addresses in canonical form
/// ([`canonical_ip`]: IPv4-mapped IPv6 given as IPv4); clamping intervals and dropping unusable
/// peers is the caller's policy (the Announce machine does both).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnounceSuccess<'a> {
    /// `interval`, seconds.
    pub interval: Option<i64>,
    /// `min interval`, seconds.
    pub min_interval: Option<i64>,
    /// `warning message`, raw.
    pub warning: Option<&'a [u8]>,
    /// `tracker id`, raw: echo it back as `trackerid`.
    pub tracker_id: Option<&'a [u8]>,
    /// `complete`: seeders.
    pub complete: Option<i64>,
    /// `incomplete`: leechers.
    pub incomplete: Option<i64>,
    /// `downloaded`: completed downloads ever.
    pub downloaded: Option<i64>,
    /// `peers`.
    pub peers: Peers<'a>,
    /// `peers6`: compact IPv6 entries (empty when absent).
    pub peers6: CompactPeers<'a>,
    /// BEP 24 `external ip` (4 or 16 bytes; other lengths are ignored), in canonical form
    /// ([`canonical_ip`]): 16 bytes holding an IPv4-mapped address decode as IPv4, and an
    /// IPv4-mapped address is encoded as 4 bytes.
    pub external_ip: Option<IpAddr>,
    /// `crypto_flags`: one byte per compact peer, 1 = requires encryption.
    pub crypto_flags: Option<&'a [u8]>,
}

/// An HTTP announce reply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnnounceResponse<'a> {
    /// The tracker answered with peers.
    Success(AnnounceSuccess<'a>),
    /// The tracker sent `failure reason`, which wins over every other key.
    Failure(Failure<'a>),
}

impl<'a> AnnounceResponse<'a> {
    /// Decodes a reply body leniently (PROTOCOL.md sections 2 and 4), without copying or allocating.
    ///
    /// Unknown keys are ignored, values of an unexpected type are treated as absent, and for repeated
    /// keys the first wins. The work is linear in the body; cap the body before (the response reader
    /// does).
    pub fn decode(body: &'a [u8]) -> Result<Self, BodyError> {
        // One pass over the top level: each key is dispatched as it is read, and the failure
        // reason, which wins over every other key, is looked at once the whole body is validated.
        let mut entries = top_entries(body)?;
        let mut s = AnnounceSuccess {
            interval: None,
            min_interval: None,
            warning: None,
            tracker_id: None,
            complete: None,
            incomplete: None,
            downloaded: None,
            peers: Peers::Compact(CompactPeers::new(&[], AddressFamily::V4)),
            peers6: CompactPeers::new(&[], AddressFamily::V6),
            external_ip: None,
            crypto_flags: None,
        };
        let mut reason = None;
        let mut seen: u16 = 0;
        loop {
            // Keys as trackers write them are recognised with their length prefix; anything else
            // (unknown keys, lengths with leading zeros) is read the general way.
            let (key, value) = match Key::encoded_at(entries.rest()) {
                Some((key, len)) => (Some(key), entries.value_after_key(len)?),
                None => match entries.next_entry()? {
                    Some((key, value)) => (Key::of(key), value),
                    None => break,
                },
            };
            let Some(key) = key else {
                continue;
            };
            if seen & key.bit() != 0 {
                continue; // a duplicate: the first occurrence wins
            }
            seen |= key.bit();
            match (key, value) {
                (Key::FailureReason, Value::Bytes(b)) => reason = Some(b),
                (Key::Interval, Value::Int(n)) => s.interval = Some(n),
                (Key::MinInterval, Value::Int(n)) => s.min_interval = Some(n),
                (Key::WarningMessage, Value::Bytes(b)) => s.warning = Some(b),
                (Key::TrackerId, Value::Bytes(b)) => s.tracker_id = Some(b),
                (Key::Complete, Value::Int(n)) => s.complete = Some(n),
                (Key::Incomplete, Value::Int(n)) => s.incomplete = Some(n),
                (Key::Downloaded, Value::Int(n)) => s.downloaded = Some(n),
                (Key::Peers, Value::Bytes(b)) => {
                    s.peers = Peers::Compact(CompactPeers::new(b, AddressFamily::V4))
                }
                (Key::Peers, Value::List(list)) => s.peers = Peers::Dicts(DictPeers { list }),
                (Key::Peers6, Value::Bytes(b)) => {
                    s.peers6 = CompactPeers::new(b, AddressFamily::V6)
                }
                (Key::ExternalIp, Value::Bytes(b)) => s.external_ip = external_ip(b),
                (Key::CryptoFlags, Value::Bytes(b)) => s.crypto_flags = Some(b),
                _ => {} // a value of an unexpected type is treated as absent
            }
        }
        if let Some(reason) = reason {
            return Ok(AnnounceResponse::Failure(Failure::read(
                reason,
                &entries.dict(),
            )));
        }
        Ok(AnnounceResponse::Success(s))
    }
}

/// The keys of an announce reply the decoder reads.
#[derive(Clone, Copy)]
enum Key {
    FailureReason,
    Interval,
    MinInterval,
    WarningMessage,
    TrackerId,
    Complete,
    Incomplete,
    Downloaded,
    Peers,
    Peers6,
    ExternalIp,
    CryptoFlags,
}

impl Key {
    /// Dispatches on the length first, then compares whole words (a byte-string `match` would
    /// compare byte by byte).
    #[inline]
    fn of(key: &[u8]) -> Option<Key> {
        let is = |name: &[u8]| key == name;
        Some(match key.len() {
            5 if is(b"peers") => Key::Peers,
            6 if is(b"peers6") => Key::Peers6,
            8 if is(b"interval") => Key::Interval,
            8 if is(b"complete") => Key::Complete,
            10 if is(b"incomplete") => Key::Incomplete,
            10 if is(b"downloaded") => Key::Downloaded,
            10 if is(b"tracker id") => Key::TrackerId,
            11 if is(b"external ip") => Key::ExternalIp,
            12 if is(b"min interval") => Key::MinInterval,
            12 if is(b"crypto_flags") => Key::CryptoFlags,
            14 if is(b"failure reason") => Key::FailureReason,
            15 if is(b"warning message") => Key::WarningMessage,
            _ => return None,
        })
    }

    /// The key encoded at the start of `bytes` (`8:interval`) and its encoded length, for the keys a
    /// reply with peers nearly always has, written as every tracker writes them. `None` sends the
    /// entry the general way, which reads the same key from any valid spelling.
    #[inline]
    fn encoded_at(bytes: &[u8]) -> Option<(Key, usize)> {
        // Each test compares a fixed number of bytes, so it compiles to a few word comparisons.
        let is = |encoded: &[u8]| bytes.get(..encoded.len()) == Some(encoded);
        let key = match bytes.first()? {
            b'8' if is(b"8:interval") => (Key::Interval, 10),
            b'8' if is(b"8:complete") => (Key::Complete, 10),
            b'5' if is(b"5:peers") => (Key::Peers, 7),
            b'1' if is(b"10:incomplete") => (Key::Incomplete, 13),
            b'1' if is(b"12:min interval") => (Key::MinInterval, 15),
            b'1' if is(b"10:downloaded") => (Key::Downloaded, 13),
            b'6' if is(b"6:peers6") => (Key::Peers6, 8),
            _ => return None,
        };
        Some(key)
    }

    /// This key's bit in the set of keys already seen.
    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// BEP 24 `external ip`: 4 or 16 bytes, in canonical form (16 IPv4-mapped bytes are IPv4).
fn external_ip(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else {
        <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|v6| canonical_ip(IpAddr::V6(Ipv6Addr::from(v6))))
    }
}

/// The iterator behind [`AnnounceSuccess::peer_addrs`]: the compact lists walked as plain slices,
/// the list form only when the reply has one.
struct PeerAddrs<'a> {
    compact: crate::compact::Iter<'a>,
    dicts: Option<ListIter<'a>>,
    peers6: crate::compact::Iter<'a>,
}

/// A list-form entry's address when it is an IP literal.
fn dict_addr(value: Value<'_>) -> Option<SocketAddr> {
    match value {
        Value::Dict(d) => match dict_peer(&d)?.addr {
            PeerAddr::Ip(a) => Some(a),
            PeerAddr::Host { .. } => None,
        },
        _ => None,
    }
}

impl Iterator for PeerAddrs<'_> {
    type Item = SocketAddr;

    #[inline]
    fn next(&mut self) -> Option<SocketAddr> {
        if let Some(a) = self.compact.next() {
            return Some(a);
        }
        if let Some(a) = self.dicts.as_mut().and_then(|d| d.find_map(dict_addr)) {
            return Some(a);
        }
        self.peers6.next()
    }

    /// Each part in its own loop (see [`crate::compact::Iter`]'s `fold`).
    #[inline]
    fn fold<B, F: FnMut(B, SocketAddr) -> B>(self, init: B, mut f: F) -> B {
        let acc = self.compact.fold(init, &mut f);
        let acc = match self.dicts {
            Some(list) => list.filter_map(dict_addr).fold(acc, &mut f),
            None => acc,
        };
        self.peers6.fold(acc, f)
    }
}

impl<'a> AnnounceSuccess<'a> {
    /// The warning as text: lossy UTF-8, cut to at most
    /// [`MAX_TRACKER_TEXT_LEN`](crate::limits::MAX_TRACKER_TEXT_LEN) bytes at a character
    /// boundary ([`warning`](Self::warning) has every byte).
    pub fn warning_text(&self) -> Option<Cow<'a, str>> {
        self.warning.map(text)
    }

    /// Every peer with an IP address: compact `peers`, `peers6`, and list-form entries with an IP
    /// literal (host names are left to the caller, see [`DictPeers::iter`]).
    #[inline]
    pub fn peer_addrs(&self) -> impl Iterator<Item = SocketAddr> + use<'a> {
        let (compact, dicts) = match self.peers {
            Peers::Compact(c) => (c, None),
            Peers::Dicts(d) => (CompactPeers::empty(), Some(d.list.iter())),
        };
        PeerAddrs {
            compact: compact.iter(),
            dicts,
            peers6: self.peers6.iter(),
        }
    }

    /// Appends the canonical reply (sorted keys). Compact `peers` must hold IPv4 peers only (IPv6
    /// ones go in `peers6`); list-form peers are written back as received.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), PeerFamilyError> {
        out.push(b'd');
        if let Some(n) = self.complete {
            put_int_entry(out, b"complete", n);
        }
        if let Some(b) = self.crypto_flags {
            put_bytes_entry(out, b"crypto_flags", b);
        }
        if let Some(n) = self.downloaded {
            put_int_entry(out, b"downloaded", n);
        }
        match self.external_ip.map(canonical_ip) {
            Some(IpAddr::V4(a)) => put_bytes_entry(out, b"external ip", &a.octets()),
            Some(IpAddr::V6(a)) => put_bytes_entry(out, b"external ip", &a.octets()),
            None => {}
        }
        if let Some(n) = self.incomplete {
            put_int_entry(out, b"incomplete", n);
        }
        if let Some(n) = self.interval {
            put_int_entry(out, b"interval", n);
        }
        if let Some(n) = self.min_interval {
            put_int_entry(out, b"min interval", n);
        }
        match self.peers {
            Peers::Compact(c) => put_compact(out, b"peers", &c, AddressFamily::V4)?,
            Peers::Dicts(d) => {
                put_bytes(out, b"peers");
                out.extend_from_slice(d.raw());
            }
        }
        if !self.peers6.is_empty() {
            put_compact(out, b"peers6", &self.peers6, AddressFamily::V6)?;
        }
        if let Some(b) = self.tracker_id {
            put_bytes_entry(out, b"tracker id", b);
        }
        if let Some(b) = self.warning {
            put_bytes_entry(out, b"warning message", b);
        }
        out.push(b'e');
        Ok(())
    }
}

fn put_compact(
    out: &mut Vec<u8>,
    key: &[u8],
    peers: &CompactPeers<'_>,
    family: AddressFamily,
) -> Result<(), PeerFamilyError> {
    put_bytes(out, key);
    let len = peers.encoded_len(family);
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b':');
    let start = out.len();
    out.resize(start + len, 0);
    peers.write(family, &mut out[start..]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_recognised_encoded_are_the_keys_read_the_general_way() {
        let names: [&[u8]; 7] = [
            b"interval",
            b"complete",
            b"peers",
            b"incomplete",
            b"min interval",
            b"downloaded",
            b"peers6",
        ];
        for name in names {
            let encoded = [format!("{}:", name.len()).as_bytes(), name, b"i7e"].concat();
            let (key, len) = Key::encoded_at(&encoded).expect("recognised");
            assert_eq!(len, encoded.len() - 3, "{name:?}");
            assert_eq!(Some(key.bit()), Key::of(name).map(Key::bit), "{name:?}");
            // A prefix or a longer key is not the key.
            assert!(Key::encoded_at(&encoded[..len - 1]).is_none());
        }
        assert!(Key::encoded_at(b"9:intervals").is_none());
        assert!(Key::encoded_at(b"08:interval").is_none());
    }

    #[test]
    fn the_encoded_key_path_and_the_general_path_decode_alike() {
        let entries: [(&[u8], &[u8]); 8] = [
            (b"complete", b"i1e"),
            (b"downloaded", b"i2e"),
            (b"incomplete", b"i3e"),
            (b"interval", b"i4e"),
            (b"min interval", b"i5e"),
            (b"peers", b"6:\x01\x02\x03\x04\x00\x05"),
            (b"peers6", b"18:\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x00\x06"),
            (b"interval", b"i9e"), // a duplicate: the first wins on both paths
        ];
        // A leading zero in each key's length sends it the general way; the reply must not change.
        let body = |zero: &str| {
            let mut b = b"d".to_vec();
            for (key, value) in entries {
                b.extend_from_slice(format!("{zero}{}:", key.len()).as_bytes());
                b.extend_from_slice(key);
                b.extend_from_slice(value);
            }
            b.push(b'e');
            b
        };
        let (canonical, general) = (body(""), body("0"));
        let fast = AnnounceResponse::decode(&canonical).unwrap();
        assert_eq!(fast, AnnounceResponse::decode(&general).unwrap());
        let AnnounceResponse::Success(s) = fast else {
            panic!("{fast:?}")
        };
        assert_eq!(
            (
                s.complete,
                s.downloaded,
                s.incomplete,
                s.interval,
                s.min_interval
            ),
            (Some(1), Some(2), Some(3), Some(4), Some(5))
        );
        assert_eq!(s.peer_addrs().count(), 2);
    }
}
