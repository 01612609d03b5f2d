//! What the machine fuzz targets share: the fuzz bytes read as a stream of small decisions, and a
//! reply to a recent transaction with a well-formed header and a fuzz-chosen body, from the tracker
//! or a spoofed port.

use std::net::SocketAddr;

/// The fuzz bytes as a stream of small decisions; exhausted means zeros.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn u8(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    pub fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A UDP reply to transaction `txid`: action connect, announce (twice as likely), scrape or error,
/// then up to 255 fuzz bytes.
pub fn reply(b: &mut Bytes<'_>, txid: [u8; 4]) -> Vec<u8> {
    let action: u32 = match b.u8() % 5 {
        0 => 0,
        1 | 2 => 1,
        3 => 2,
        _ => 3,
    };
    let mut out = action.to_be_bytes().to_vec();
    out.extend_from_slice(&txid);
    let len = usize::from(b.u8());
    out.extend_from_slice(b.take(len));
    out
}

/// Where a reply to a datagram sent to `to` comes from: the tracker, or one time in eight a spoofed
/// port on its host.
pub fn source(b: &mut Bytes<'_>, to: SocketAddr) -> SocketAddr {
    if b.u8() % 8 == 0 {
        SocketAddr::new(to.ip(), to.port() ^ 1)
    } else {
        to
    }
}
