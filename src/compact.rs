//! Compact peer lists (BEP 23 / BEP 7 / BEP 15): 6-byte IPv4 or 18-byte IPv6 entries, read in place.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::canonical_addr;
use crate::types::AddressFamily;

/// A list of peers in compact form, either borrowed from the wire or from the caller's addresses.
///
/// Parsing never copies: iterating a wire list decodes each entry in place. Only whole entries are
/// yielded; a ragged tail is reported by [`trailing_bytes`](Self::trailing_bytes), never turned into
/// a peer. The stride comes from the [`AddressFamily`] of the exchange, never from the bytes.
/// Peers are given in canonical form ([`canonical_addr`]): an IPv4-mapped entry of an IPv6 list
/// (`::ffff:a.b.c.d`) is the IPv4 peer `a.b.c.d`.
///
/// Build one from addresses with [`CompactPeers::from_addrs`] to encode a reply on the tracker side.
#[derive(Clone, Copy)]
pub struct CompactPeers<'a> {
    repr: Repr<'a>,
}

#[derive(Clone, Copy)]
enum Repr<'a> {
    Wire {
        bytes: &'a [u8],
        family: AddressFamily,
    },
    Addrs(&'a [SocketAddr]),
}

/// A peer address that cannot be written in the requested compact family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "peer {peer} cannot be written as a compact {family:?} entry; send IPv6 peers only over IPv6"
)]
pub struct PeerFamilyError {
    /// The peer that does not fit.
    pub peer: SocketAddr,
    /// The family being written.
    pub family: AddressFamily,
}

impl<'a> CompactPeers<'a> {
    /// A view over compact bytes received in an exchange of the given family.
    pub fn new(bytes: &'a [u8], family: AddressFamily) -> Self {
        CompactPeers {
            repr: Repr::Wire { bytes, family },
        }
    }

    /// A list made of the caller's addresses, for encoding.
    pub fn from_addrs(addrs: &'a [SocketAddr]) -> Self {
        CompactPeers {
            repr: Repr::Addrs(addrs),
        }
    }

    /// An empty list.
    pub fn empty() -> Self {
        CompactPeers::from_addrs(&[])
    }

    /// Number of whole entries.
    pub fn len(&self) -> usize {
        match self.repr {
            Repr::Wire { bytes, family } => bytes.len() / family.compact_stride(),
            Repr::Addrs(a) => a.len(),
        }
    }
    /// The whole 6-byte entries of an IPv4 wire list (for the machine's fast path).
    pub(crate) fn v4_entries(&self) -> Option<&'a [[u8; 6]]> {
        match self.repr {
            Repr::Wire {
                bytes,
                family: AddressFamily::V4,
            } => Some(bytes.as_chunks().0),
            _ => None,
        }
    }

    /// True when there is no whole entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes after the last whole entry (0 for a well-formed list). Non-zero means the sender wrote a
    /// ragged list: the whole entries are still usable, the tail is not a peer.
    pub fn trailing_bytes(&self) -> usize {
        match self.repr {
            Repr::Wire { bytes, family } => bytes.len() % family.compact_stride(),
            Repr::Addrs(_) => 0,
        }
    }

    /// The family of a wire list; `None` for a list built from addresses (it can hold both).
    pub fn family(&self) -> Option<AddressFamily> {
        match self.repr {
            Repr::Wire { family, .. } => Some(family),
            Repr::Addrs(_) => None,
        }
    }

    /// Iterates the peers in order, in canonical form ([`canonical_addr`]).
    #[inline]
    pub fn iter(&self) -> Iter<'a> {
        let (v4, rest) = match self.repr {
            Repr::Wire {
                bytes,
                family: AddressFamily::V4,
            } => (bytes.as_chunks().0.iter(), Rest::None),
            Repr::Wire {
                bytes,
                family: AddressFamily::V6,
            } => ([].iter(), Rest::V6(bytes.as_chunks().0.iter())),
            Repr::Addrs(a) => ([].iter(), Rest::Addrs(a.iter())),
        };
        Iter { v4, rest }
    }

    /// Bytes needed to encode this list in `family`.
    pub fn encoded_len(&self, family: AddressFamily) -> usize {
        self.len() * family.compact_stride()
    }

    /// Writes the entries in `family` into `out`, returning the bytes written. An IPv4 peer in an IPv6
    /// list is written IPv4-mapped; an IPv6 peer (not IPv4-mapped) cannot go in an IPv4 list. `out`
    /// must hold [`encoded_len`](Self::encoded_len) bytes (checked by the callers in this crate).
    pub(crate) fn write(
        &self,
        family: AddressFamily,
        out: &mut [u8],
    ) -> Result<usize, PeerFamilyError> {
        let stride = family.compact_stride();
        for (peer, slot) in self.iter().zip(out.chunks_exact_mut(stride)) {
            write_entry(peer, family, slot)?;
        }
        Ok(self.len() * stride)
    }
}

fn write_entry(
    peer: SocketAddr,
    family: AddressFamily,
    slot: &mut [u8],
) -> Result<(), PeerFamilyError> {
    let port = peer.port().to_be_bytes();
    match family {
        AddressFamily::V4 => {
            // `peer` is canonical (from `iter`): an IPv4-mapped address arrives as IPv4.
            let IpAddr::V4(v4) = peer.ip() else {
                return Err(PeerFamilyError { peer, family });
            };
            slot[..4].copy_from_slice(&v4.octets());
            slot[4..6].copy_from_slice(&port);
        }
        AddressFamily::V6 => {
            let v6 = match peer.ip() {
                IpAddr::V4(a) => a.to_ipv6_mapped(),
                IpAddr::V6(a) => a,
            };
            slot[..16].copy_from_slice(&v6.octets());
            slot[16..18].copy_from_slice(&port);
        }
    }
    Ok(())
}

/// Decodes one 6-byte IPv4 entry.
#[inline]
fn v4_entry(e: &[u8; 6]) -> SocketAddr {
    let ip = Ipv4Addr::new(e[0], e[1], e[2], e[3]);
    SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be_bytes([e[4], e[5]])))
}

/// Decodes one 18-byte IPv6 entry, in canonical form (an IPv4-mapped entry is an IPv4 peer).
#[inline]
fn v6_entry(e: &[u8; 18]) -> SocketAddr {
    let [octets @ .., p0, p1] = *e;
    let port = u16::from_be_bytes([p0, p1]);
    canonical_addr(SocketAddr::V6(SocketAddrV6::new(
        Ipv6Addr::from(octets),
        port,
        0,
        0,
    )))
}

/// Iterator over [`CompactPeers`].
///
/// The IPv4 wire case, the hot one, is a plain slice of 6-byte entries with nothing else to do per
/// peer: the other kinds sit in `rest`, whose variant `next` never changes, so when the list's kind
/// is known where the loop is (as after an inlined [`Reply::parse`](crate::udp::Reply::parse)) the
/// compiler drops them and the caller's `for` loop is a loop over that slice.
#[derive(Clone)]
pub struct Iter<'a> {
    v4: std::slice::Iter<'a, [u8; 6]>,
    rest: Rest<'a>,
}

/// The non-IPv4 kinds of [`Iter`].
#[derive(Clone)]
enum Rest<'a> {
    None,
    V6(std::slice::Iter<'a, [u8; 18]>),
    Addrs(std::slice::Iter<'a, SocketAddr>),
}

impl Iterator for Iter<'_> {
    type Item = SocketAddr;

    #[inline]
    fn next(&mut self) -> Option<SocketAddr> {
        if let Some(e) = self.v4.next() {
            return Some(v4_entry(e));
        }
        match &mut self.rest {
            Rest::None => None,
            Rest::V6(v6) => v6.next().map(v6_entry),
            Rest::Addrs(addrs) => addrs.next().copied().map(canonical_addr),
        }
    }

    /// One tight loop per part: `fold`, `for_each`, `sum`, `collect` and a [`Chain`](std::iter::Chain)
    /// of lists (as in `AnnounceSuccess::peer_addrs`) then run the caller's closure inline per
    /// peer instead of calling `next` and passing each address back through memory.
    #[inline]
    fn fold<B, F: FnMut(B, SocketAddr) -> B>(self, init: B, mut f: F) -> B {
        // Four entries per step, then the rest: less loop overhead per peer than the slice
        // iterator's fold.
        let (mut acc, mut v4) = (init, self.v4.as_slice());
        while let [a, b, c, d, rest @ ..] = v4 {
            acc = f(acc, v4_entry(a));
            acc = f(acc, v4_entry(b));
            acc = f(acc, v4_entry(c));
            acc = f(acc, v4_entry(d));
            v4 = rest;
        }
        for e in v4 {
            acc = f(acc, v4_entry(e));
        }
        match self.rest {
            Rest::None => acc,
            Rest::V6(v6) => v6.fold(acc, |acc, e| f(acc, v6_entry(e))),
            Rest::Addrs(addrs) => addrs.fold(acc, |acc, &a| f(acc, canonical_addr(a))),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.v4.len()
            + match &self.rest {
                Rest::None => 0,
                Rest::V6(v6) => v6.len(),
                Rest::Addrs(addrs) => addrs.len(),
            };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for CompactPeers<'a> {
    type Item = SocketAddr;
    type IntoIter = Iter<'a>;
    #[inline]
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &CompactPeers<'a> {
    type Item = SocketAddr;
    type IntoIter = Iter<'a>;
    #[inline]
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for CompactPeers<'_> {
    /// Same peers in the same order (a ragged tail is compared too).
    fn eq(&self, other: &Self) -> bool {
        self.trailing_bytes() == other.trailing_bytes() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for CompactPeers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        list.entries(self.iter());
        if self.trailing_bytes() > 0 {
            list.entry(&format_args!("<{} trailing bytes>", self.trailing_bytes()));
        }
        list.finish()
    }
}
