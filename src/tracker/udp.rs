//! The UDP side (BEP 15): connect, announce and scrape datagrams in, replies queued.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use byteorder::{BigEndian, ByteOrder};

use crate::canonical_addr;
use crate::compact::CompactPeers;
use crate::types::{AddressFamily, AnnounceEvent};
use crate::udp::{
    ANNOUNCE_RESPONSE_HEADER_LEN, AnnounceResponse, CONNECT_LEN, ConnectResponse, ErrorResponse,
    MAX_SCRAPE_HASHES, REPLY_HEADER_LEN, Reply, Request, ScrapeResponse, ScrapeStats,
};

use super::behaviour::{BadConnectionId, ConnectionIds};
use super::config::{MAX_COPIES, MAX_QUEUED_DATAGRAMS};
use super::swarm::Announcement;
use super::{Queued, Tracker};

/// Most peers one announce reply written in `family` carries, so that it fits the largest IPv4 UDP
/// payload (65,507 bytes): 10,914 IPv4 or 3,638 IPv6 peers.
fn max_reply_peers(family: AddressFamily) -> usize {
    (65_507 - ANNOUNCE_RESPONSE_HEADER_LEN) / family.compact_stride()
}

/// Bytes `reply` takes in `family`.
fn encoded_len(reply: &Reply<'_>, family: AddressFamily) -> usize {
    match reply {
        Reply::Connect(_) => CONNECT_LEN,
        Reply::Announce(r) => r.encoded_len(family),
        Reply::AnnounceRefused { .. } => REPLY_HEADER_LEN,
        Reply::Scrape(r) => r.encoded_len(),
        Reply::Error(r) => REPLY_HEADER_LEN + r.message.len(),
    }
}

impl Tracker {
    /// Answers one datagram: the reply (or copies of it) goes to the queue, or nothing does.
    pub(super) fn answer_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if self.behaviour.silent {
            return;
        }
        // Malformed datagrams (short, unknown action, no protocol id) are dropped silently, as
        // opentracker and aquatic drop them.
        let Ok(request) = Request::parse(datagram) else {
            return;
        };
        let family = AddressFamily::of(&from);
        let mode = self.behaviour.connection_ids;
        let ip = from.ip();
        let (connection_id, txid) = match &request {
            Request::Connect(c) => {
                let reply = Reply::Connect(ConnectResponse {
                    transaction_id: c.transaction_id,
                    connection_id: self.ids.issue(mode, now, ip),
                });
                return self.queue_reply(now, from, &reply, family);
            }
            Request::Announce(a) => (a.connection_id, a.transaction_id),
            Request::Scrape(s) => (s.connection_id, s.transaction_id),
        };
        let lifetime = self.config.connection_id_lifetime;
        if !self.ids.check(mode, now, ip, connection_id, lifetime) {
            match self.behaviour.bad_connection_id.clone() {
                BadConnectionId::Silent => {}
                BadConnectionId::Error(text) => {
                    let reply = Reply::Error(ErrorResponse {
                        transaction_id: txid,
                        message: &text,
                    });
                    self.queue_reply(now, from, &reply, family);
                }
                BadConnectionId::HostOrderError(text) => {
                    let mut bytes = vec![0u8; REPLY_HEADER_LEN];
                    BigEndian::write_u32(&mut bytes[0..4], 3u32.swap_bytes());
                    BigEndian::write_u32(&mut bytes[4..8], txid);
                    bytes.extend_from_slice(&text);
                    self.queue(now, from, bytes);
                }
            }
            return;
        }
        if mode == ConnectionIds::Rotating {
            self.ids.rotate();
        }
        if let Some((reason, _)) = self.behaviour.failure.clone() {
            let reply = Reply::Error(ErrorResponse {
                transaction_id: txid,
                message: &reason,
            });
            return self.queue_reply(now, from, &reply, family);
        }
        match request {
            Request::Connect(_) => {}
            Request::Announce(a) => {
                let listed = self
                    .behaviour
                    .whitelist
                    .as_ref()
                    .is_none_or(|w| w.contains(&a.info_hash));
                if self.behaviour.refuse_announces || !listed {
                    let reply = Reply::AnnounceRefused {
                        transaction_id: txid,
                    };
                    return self.queue_reply(now, from, &reply, family);
                }
                if a.port == 0 {
                    let reply = Reply::Error(ErrorResponse {
                        transaction_id: txid,
                        message: b"port 0 is not a peer port; announce the TCP port you listen on",
                    });
                    return self.queue_reply(now, from, &reply, family);
                }
                let v4_only = family == AddressFamily::V6 && self.behaviour.ipv4_entries_over_ipv6;
                let (cap, write_as) = match family {
                    _ if v4_only => (self.config.max_numwant, AddressFamily::V4),
                    AddressFamily::V4 => (self.config.max_numwant, family),
                    AddressFamily::V6 => (self.config.max_numwant_v6, family),
                };
                let wanted = match u32::try_from(a.num_want) {
                    _ if self.behaviour.ignore_numwant => cap,
                    Ok(n) if n > 0 => n,
                    _ => self.config.default_numwant,
                };
                // A reply never exceeds the largest IPv4 UDP payload (65,507 bytes).
                let numwant = (wanted.min(cap) as usize).min(max_reply_peers(write_as));
                let announcement = Announcement {
                    info_hash: a.info_hash,
                    peer_id: a.peer_id,
                    addr: self.peer_addr(ip, a.port),
                    // A negative `left` is no promise of completion: a leecher.
                    left: u64::try_from(a.left).unwrap_or(u64::MAX),
                    event: a.event,
                };
                self.announce_reply(now, from, txid, &announcement, numwant, write_as);
            }
            Request::Scrape(s) => {
                let rows: Vec<ScrapeStats> = s
                    .info_hashes
                    .iter()
                    .take(MAX_SCRAPE_HASHES)
                    .map(|hash| {
                        let listed = self
                            .behaviour
                            .whitelist
                            .as_ref()
                            .is_none_or(|w| w.contains(&hash));
                        let stats = listed
                            .then(|| self.swarms.stats(now, &self.config, &hash))
                            .flatten()
                            .unwrap_or_default();
                        ScrapeStats {
                            seeders: stats.seeders,
                            completed: stats.completed,
                            leechers: stats.leechers,
                        }
                    })
                    .collect();
                let reply = Reply::Scrape(ScrapeResponse {
                    transaction_id: txid,
                    rows: rows.as_slice().into(),
                });
                self.queue_reply(now, from, &reply, family);
            }
        }
    }

    /// Registers an announce and queues its reply, written straight into a reply buffer: the
    /// header, then the pre-written extra peers (none for `stopped`), then up to the rest of
    /// `numwant` swarm peers, all of the family `write_as` the reply is written in.
    fn announce_reply(
        &mut self,
        now: Instant,
        from: SocketAddr,
        txid: u32,
        a: &Announcement,
        numwant: usize,
        write_as: AddressFamily,
    ) {
        let stride = write_as.compact_stride();
        let extra = if a.event == AnnounceEvent::Stopped {
            &[][..]
        } else {
            self.extra.compact(write_as)
        };
        let listed = (extra.len() / stride).min(numwant);
        let mut swarm_peers = std::mem::take(&mut self.scratch);
        swarm_peers.clear();
        let stats = self.swarms.announce(
            now,
            &self.config,
            a,
            &[write_as],
            numwant - listed,
            &mut swarm_peers,
        );
        let head = AnnounceResponse {
            transaction_id: txid,
            interval: self.config.interval,
            leechers: stats.leechers,
            seeders: stats.seeders,
            peers: CompactPeers::empty(),
        };
        let mut out = self.spare.pop().unwrap_or_default();
        out.clear();
        out.resize(ANNOUNCE_RESPONSE_HEADER_LEN, 0);
        let written = head.encode(write_as, &mut out).is_ok();
        out.extend_from_slice(&extra[..listed * stride]);
        let start = out.len();
        let peers = CompactPeers::from_addrs(&swarm_peers);
        out.resize(start + peers.encoded_len(write_as), 0);
        // The swarm peers are canonical and of `write_as`, so writing them cannot fail.
        let written = written && peers.write(write_as, &mut out[start..]).is_ok();
        self.scratch = swarm_peers;
        if written {
            self.queue(now, from, out);
        }
    }

    /// Where other peers reach an announcer at `ip`: its canonical address and announced port,
    /// rewritten when the tracker rewrites loopback announcers.
    pub(super) fn peer_addr(&self, ip: IpAddr, port: u16) -> SocketAddr {
        let addr = canonical_addr(SocketAddr::new(ip, port));
        match self.behaviour.rewrite_loopback {
            Some(to) if addr.ip().is_loopback() => canonical_addr(SocketAddr::new(to, port)),
            _ => addr,
        }
    }

    fn queue_reply(
        &mut self,
        now: Instant,
        to: SocketAddr,
        reply: &Reply<'_>,
        family: AddressFamily,
    ) {
        let mut out = self.spare.pop().unwrap_or_default();
        out.clear();
        out.resize(encoded_len(reply, family), 0);
        if let Ok(len) = reply.encode(family, &mut out) {
            out.truncate(len);
            self.queue(now, to, out);
        }
    }

    /// Queues `bytes` to `to`, [`Behaviour::copies`](super::Behaviour::copies) times, due after the
    /// behaviour's delay; beyond [`MAX_QUEUED_DATAGRAMS`] they are dropped.
    fn queue(&mut self, now: Instant, to: SocketAddr, mut bytes: Vec<u8>) {
        let copies = self.behaviour.copies.clamp(1, MAX_COPIES);
        let send_at = self.due(now);
        for copy in 1..=copies {
            if self.queue.len() >= MAX_QUEUED_DATAGRAMS {
                return;
            }
            let bytes = if copy == copies {
                std::mem::take(&mut bytes)
            } else {
                bytes.clone()
            };
            self.queue.push_back(Queued { to, send_at, bytes });
        }
    }
}
