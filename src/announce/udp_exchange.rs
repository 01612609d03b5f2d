//! One BEP 15 exchange (connect, then announce or scrape) with its retransmission schedule, and
//! the connection-id cache it shares with the tracker's other exchanges.

use std::borrow::Cow;
use std::time::Instant;

use super::config::Config;
use super::event::{Cause, RequestKind};
use super::outcome::{AnnounceReply, Outcome, Step, usable_peers};
use super::schedule::{later, udp_wait};
use super::wire::RequestParams;
use crate::udp::{
    AnnounceRequest, ConnectRequest, MAX_REQUEST_LEN, Reply, ReplyError, ScrapeRequest,
};
use crate::{AnnounceEvent, Scheme};

/// A tracker's UDP connection id and when it stops being used.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ConnectionId(Option<(u64, Instant)>);

impl ConnectionId {
    /// The id, if one was received less than the configured lifetime ago.
    pub(crate) fn valid(&self, now: Instant) -> Option<u64> {
        self.0
            .filter(|&(_, expires)| now < expires)
            .map(|(id, _)| id)
    }

    fn set(&mut self, id: u64, now: Instant, cfg: &Config) {
        self.0 = Some((id, later(now, cfg.connection_id_lifetime)));
    }

    fn clear(&mut self) {
        self.0 = None;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a connect reply. `initial`: the exchange has not sent its request yet, so the
    /// request gets a fresh retransmission budget once connected.
    Connect { initial: bool },
    /// Waiting for the announce or scrape reply.
    Request { connection_id: u64 },
}

/// The state of one UDP exchange.
#[derive(Debug)]
pub(crate) struct UdpExchange {
    /// The transaction id in flight (kept across resends of the same request).
    pub(crate) txid: u32,
    /// A new request started and needs a fresh transaction id before it is written. The machine
    /// draws it, so that ignored datagrams never touch the RNG.
    pub(crate) needs_txid: bool,
    phase: Phase,
    /// Sends in the current retransmission run.
    sends: u32,
    /// When to resend or give up.
    pub(crate) due: Instant,
    /// A datagram waits for `poll_transmit`.
    pub(crate) pending: bool,
    /// The connection id in use came from this exchange's own connect.
    fresh_id: bool,
    /// This exchange already reconnected after an error reply.
    reconnected: bool,
}

impl UdpExchange {
    /// Starts with the request when a connection id is valid, with a connect otherwise.
    pub(crate) fn start(now: Instant, cfg: &Config, conn: &ConnectionId, txid: u32) -> Self {
        let phase = match conn.valid(now) {
            Some(connection_id) => Phase::Request { connection_id },
            None => Phase::Connect { initial: true },
        };
        let mut exchange = UdpExchange {
            txid,
            needs_txid: false,
            phase,
            sends: 0,
            due: now,
            pending: false,
            fresh_id: false,
            reconnected: false,
        };
        exchange.send(now, cfg);
        exchange
    }

    fn send(&mut self, now: Instant, cfg: &Config) {
        self.sends += 1;
        self.pending = true;
        self.due = later(now, udp_wait(cfg, self.sends));
    }

    /// The retransmission timer: resend (as a connect when the id expired meanwhile), or time out
    /// once `udp_max_attempts` sends went unanswered.
    pub(crate) fn on_timer(
        &mut self,
        now: Instant,
        cfg: &Config,
        conn: &ConnectionId,
    ) -> Option<Outcome> {
        if now < self.due {
            return None;
        }
        if self.sends >= cfg.udp_max_attempts {
            return Some(Outcome::failed(Cause::Timeout));
        }
        if let Phase::Request { .. } = self.phase {
            match conn.valid(now) {
                Some(connection_id) => self.phase = Phase::Request { connection_id },
                None => {
                    // BEP 15: a resend after the id expired becomes a connect; the count goes on.
                    self.phase = Phase::Connect { initial: false };
                    self.needs_txid = true;
                }
            }
        }
        self.send(now, cfg);
        None
    }

    /// A datagram with this exchange's transaction id from its tracker. Only the reply the phase
    /// waits for (or an error) is accepted; anything else is ignored without side effects.
    pub(crate) fn on_reply(
        &mut self,
        now: Instant,
        cfg: &Config,
        reply: Result<Reply<'_>, ReplyError>,
        kind: RequestKind,
        conn: &mut ConnectionId,
    ) -> Step {
        let error = match (&reply, self.phase, kind) {
            (Ok(Reply::Connect(c)), Phase::Connect { initial }, _) => {
                conn.set(c.connection_id, now, cfg);
                self.phase = Phase::Request {
                    connection_id: c.connection_id,
                };
                self.needs_txid = true;
                self.fresh_id = true;
                if initial {
                    self.sends = 0;
                }
                self.send(now, cfg);
                return Step::Continue;
            }
            (Ok(Reply::Announce(a)), Phase::Request { .. }, RequestKind::Announce(_)) => {
                return Step::Done(Outcome::Announced(AnnounceReply {
                    interval: Some(i64::from(a.interval)),
                    seeders: Some(a.seeders),
                    leechers: Some(a.leechers),
                    peers: usable_peers(a.peers.iter(), cfg.max_peers_per_reply),
                    ..AnnounceReply::default()
                }));
            }
            (
                Ok(Reply::AnnounceRefused { .. }),
                Phase::Request { .. },
                RequestKind::Announce(_),
            ) => {
                return Step::Done(Outcome::failed(Cause::Refused));
            }
            (Ok(Reply::Scrape(s)), Phase::Request { .. }, RequestKind::Scrape) => {
                let row = s.rows.get(0);
                return Step::Done(Outcome::Scraped {
                    seeders: row.map(|r| r.seeders),
                    completed: row.map(|r| r.completed),
                    leechers: row.map(|r| r.leechers),
                });
            }
            (Ok(Reply::Error(e)), _, _) => Cause::Tracker {
                reason: e.message_text().into_owned(),
                retry_in: None,
            },
            (Err(e @ ReplyError::UnknownAction { .. }), _, _) => Cause::BadReply(e.to_string()),
            _ => return Step::Ignored,
        };
        // Any error drops the connection id (opentracker's "Connection ID missmatch" among them).
        // An id that came from the cache may simply be stale: reconnect once before failing.
        conn.clear();
        if matches!(self.phase, Phase::Request { .. }) && !self.fresh_id && !self.reconnected {
            self.reconnected = true;
            self.phase = Phase::Connect { initial: true };
            self.needs_txid = true;
            self.sends = 0;
            self.send(now, cfg);
            return Step::Continue;
        }
        Step::Done(Outcome::failed(error))
    }

    /// Writes the pending datagram. `None` when nothing is pending (or it cannot be encoded, which
    /// construction rules out: URL data is checked against the buffer size).
    pub(crate) fn write(
        &mut self,
        buf: &mut [u8; MAX_REQUEST_LEN],
        params: &RequestParams<'_>,
    ) -> Option<usize> {
        if !self.pending {
            return None;
        }
        self.pending = false;
        let connection_id = match self.phase {
            Phase::Connect { .. } => {
                return ConnectRequest {
                    transaction_id: self.txid,
                }
                .encode(buf)
                .ok();
            }
            Phase::Request { connection_id } => connection_id,
        };
        match params.kind {
            RequestKind::Announce(event) => {
                let path = params.url.path_and_query();
                debug_assert_eq!(params.url.scheme(), Scheme::Udp);
                let counter = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                AnnounceRequest {
                    connection_id,
                    transaction_id: self.txid,
                    info_hash: params.info_hash,
                    peer_id: params.peer_id,
                    downloaded: counter(params.progress.downloaded),
                    left: counter(params.progress.left),
                    uploaded: counter(params.progress.uploaded),
                    event,
                    ip: None,
                    key: params.key,
                    num_want: if event == AnnounceEvent::Stopped {
                        0
                    } else {
                        i32::try_from(params.num_want).unwrap_or(i32::MAX)
                    },
                    port: params.port,
                    url_data: (!path.is_empty() && path != "/")
                        .then_some(Cow::Borrowed(path.as_bytes())),
                }
                .encode(buf)
                .ok()
            }
            RequestKind::Scrape => ScrapeRequest {
                connection_id,
                transaction_id: self.txid,
                info_hashes: std::slice::from_ref(&params.info_hash).into(),
            }
            .encode(buf)
            .ok(),
        }
    }
}
