//! One BEP 15 exchange (connect, then announce or scrape) with its retransmission schedule. The
//! connection id, the connect other requests join and the window belong to the tracker's endpoint.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::config::Config;
use super::dns::Addrs;
use super::endpoint::Endpoint;
use super::event::{Cause, RequestId, RequestKind, TorrentId};
use super::outcome::{AnnounceReply, Outcome, ScrapeCounts, Step, usable_compact};
use super::places::Place;
use super::schedule::{later, udp_wait};
use super::wire::RequestParams;
use crate::udp::{AnnounceRequest, ConnectRequest, Reply, ReplyError, ScrapeRequest};
use crate::{AnnounceEvent, InfoHash, Scheme, canonical_addr};

/// Datagrams one exchange sends again early, when the window saw them lost (each paced, each
/// after evidence: a later datagram answered, or the probe timeout); then BEP 15's timer alone.
/// Backed off (see `Window::repeat_at`), six span about 120 probe timeouts (3 s on loopback): three
/// all fell in the loss burst of a window's first overshoot at a tracker answering 250 a second,
/// and the torrents waited 15 s for BEP 15's timer with their places in the window held, so
/// nothing else went out (measured in tests/window.rs).
pub(crate) const MAX_EARLY_RESENDS: u32 = 6;

/// What an exchange waits for. Queued exchanges keep the phase they asked with
/// ([`UdpExchange::first_phase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for a connect reply. `initial`: the exchange has not sent its request yet, so the
    /// request gets a fresh retransmission budget once connected.
    Connect { initial: bool },
    /// Waiting for the announce or scrape reply.
    Request { connection_id: u64 },
}

pub(crate) use Phase as UdpPhase;

/// The state of one UDP exchange.
#[derive(Debug)]
pub(crate) struct UdpExchange {
    /// The torrent it works for (woken when a connect it joined is answered).
    me: TorrentId,
    /// The request it is (names the connect it leads, for the requests that join it).
    request: RequestId,
    /// Its place in the endpoint's window (or its ticket in the queue for one).
    pub(crate) place: Place,
    /// The send number of its datagram in flight, while the window counts it.
    pub(crate) send: Option<u64>,
    /// Datagrams sent again because the window declared them lost (not BEP 15 attempts).
    early_resends: u32,
    /// Such a datagram waits for the endpoint's pacing until then.
    early_at: Option<Instant>,
    /// The datagram in flight is taken as lost if still unanswered then (the window's probe
    /// timeout).
    probe_at: Option<Instant>,
    /// The wait between sends when it is not BEP 15's `udp_rto * 2^n`: a `stopped` spreads its
    /// attempts over [`Config::stop_timeout`].
    rto: Option<Duration>,
    /// The transaction id in flight (kept across resends of the same request).
    pub(crate) txid: u32,
    /// A new request started and needs a fresh transaction id before it is written. The machine
    /// draws it, so that ignored datagrams never touch the RNG.
    pub(crate) needs_txid: bool,
    phase: Phase,
    /// Sends in the current retransmission run (a joined connect counts as one).
    sends: u32,
    /// When to send (while `held`), resend or give up.
    pub(crate) due: Instant,
    /// Admitted, the first send waits for the optional rate ceiling until `due`.
    pub(crate) held: bool,
    /// Waits for another torrent's connect to the same endpoint instead of sending its own (the
    /// wait counts as a send, so a dead tracker times every torrent out together).
    joined: bool,
    /// Before its first send, waits for a connect its own torrent's other request has in flight
    /// (an announce and a scrape to one tracker), until `due`. Not a send: its own sends start
    /// when that connect is answered, or when it gives up.
    waiting: bool,
    /// A datagram waits for `poll_transmit`.
    pub(crate) pending: bool,
    /// The connection id in use came from this exchange's own connect.
    fresh_id: bool,
    /// This exchange already reconnected after an error reply.
    reconnected: bool,
    /// The tracker's addresses (never empty): its IP literal, or what its name resolved to. A
    /// reply is accepted from any of them.
    addrs: Addrs,
    /// The one it sends to now: it moves on when one does not answer.
    at: usize,
    /// Announce or scrape datagrams written (connects not counted), and whether the last
    /// datagram written was one.
    requests_sent: u32,
    last_was_request: bool,
}

impl UdpExchange {
    /// Starts with the request when the endpoint has a valid connection id, with a connect (or by
    /// joining one in flight) otherwise; the first datagram waits for a place in the endpoint's
    /// window (`urgent`: ahead of regular exchanges), and every later one (the request after a
    /// connect reply, retransmissions) goes out under the same place.
    pub(crate) fn start(
        now: Instant,
        cfg: &Config,
        ep: &mut Endpoint,
        (me, request): (TorrentId, RequestId),
        (kind, urgent): (RequestKind, bool),
        txid: u32,
        addrs: Addrs,
    ) -> Self {
        let phase = Self::first_phase(now, ep, &addrs);
        let place = ep.window.admit(cfg, true, me, urgent);
        Self::with_place(
            now,
            (cfg, ep),
            (me, request),
            kind,
            (txid, phase, place),
            addrs,
        )
    }

    /// What a new exchange to `addrs` starts with: the request when the endpoint has a valid
    /// connection id, a connect (or joining one in flight) otherwise.
    pub(crate) fn first_phase(now: Instant, ep: &mut Endpoint, addrs: &Addrs) -> Phase {
        match addrs.first().and_then(|&a| ep.conn(now, a)) {
            Some(connection_id) => Phase::Request { connection_id },
            None => Phase::Connect { initial: true },
        }
    }

    /// An exchange that asked for its place in `phase` with `txid` and got `place`: when
    /// admitted, its first send goes out once the optional rate ceiling allows.
    pub(crate) fn with_place(
        now: Instant,
        (cfg, ep): (&Config, &mut Endpoint),
        (me, request): (TorrentId, RequestId),
        kind: RequestKind,
        (txid, phase, place): (u32, Phase, Place),
        addrs: Addrs,
    ) -> Self {
        let stopped = kind == RequestKind::Announce(AnnounceEvent::Stopped);
        let mut exchange = UdpExchange {
            me,
            request,
            place,
            send: None,
            early_resends: 0,
            early_at: None,
            probe_at: None,
            // At least a millisecond apart, whatever stop_timeout says.
            rto: stopped.then(|| {
                (cfg.stop_timeout / cfg.udp_max_attempts.max(1)).max(Duration::from_millis(1))
            }),
            txid,
            needs_txid: false,
            phase,
            sends: 0,
            due: now,
            held: false,
            joined: false,
            waiting: false,
            pending: false,
            fresh_id: false,
            reconnected: false,
            requests_sent: 0,
            last_was_request: false,
            addrs,
            at: 0,
        };
        exchange.sends = 1;
        if exchange.place == Place::Admitted {
            exchange.admitted(now, cfg, ep);
        }
        exchange
    }

    /// Waits in the endpoint's queue for a place in its window (no timer of its own).
    pub(crate) fn queued(&self) -> bool {
        matches!(self.place, Place::Queued(_))
    }

    /// When its timer fires; `None` while it waits for a place in the window.
    pub(crate) fn due(&self) -> Option<Instant> {
        if self.queued() {
            return None;
        }
        let mut due = self.due;
        if let Some(e) = self.early_at {
            due = due.min(e);
        }
        if let Some(p) = self.probe_at {
            due = due.min(p);
        }
        Some(due)
    }

    /// It got its place: the first send goes out once the optional rate ceiling allows.
    fn admitted(&mut self, now: Instant, cfg: &Config, ep: &mut Endpoint) {
        self.place = Place::Admitted;
        self.held = true;
        self.due = ep.window.pace(now, cfg);
        if self.due <= now {
            self.release(now, cfg, ep);
        }
    }

    /// Notices what the window decided since the last call: a place given by a drain, or its
    /// datagram declared lost (sent again at once, at most `udp_max_attempts` times per exchange,
    /// not counted as a BEP 15 attempt and not moving the retransmission timer).
    pub(crate) fn check_window(&mut self, now: Instant, cfg: &Config, ep: &mut Endpoint) {
        if let Place::Queued(ticket) = self.place {
            if ep.window.admitted(ticket) {
                self.admitted(now, cfg, ep);
            }
            return;
        }
        // A `stopped` has its own quick schedule over stop_timeout: no probes (a datagram seen
        // lost behind a later answer still goes again).
        if let Some(s) = self.send
            && self.rto.is_none()
            && self.probe_at.is_some_and(|p| p <= now)
        {
            ep.window.probe_lost(now, s);
        }
        if self.probe_at.is_some_and(|p| p <= now) {
            self.probe_at = None;
        }
        if let Some(s) = self.send
            && !self.pending
            && !ep.window.outstanding(s)
        {
            // A request goes again only with the connection id it had, while it is valid (else
            // its retransmission timer reconnects, as BEP 15 says). Without a repeat, `send`
            // keeps naming the lost datagram, for the timeout to drop the id it used.
            if self.id_valid(now, ep)
                && self.early_resends < MAX_EARLY_RESENDS
                && self.early_at.is_none()
            {
                self.send = None;
                self.early_resends += 1;
                // Paced like a first send: a tracker that drops what exceeds its rate would drop
                // a burst of repeats too.
                self.early_at = Some(ep.window.repeat_at(now, cfg, self.early_resends));
            }
        }
        if self.early_at.is_some_and(|e| e <= now) {
            self.early_at = None;
            // The repeat waited (paced, backed off): the id it would use may have expired since.
            if !self.pending
                && self.send.is_none_or(|s| !ep.window.outstanding(s))
                && self.id_valid(now, ep)
            {
                self.pending = true;
                self.send = Some(ep.window.sent(now, self.me, None));
                self.probe_at = ep
                    .window
                    .probe_timeout(self.early_resends)
                    .map(|p| later(now, p));
            }
        }
    }

    /// The request's connection id is still the endpoint's, unexpired (a connect needs none).
    fn id_valid(&self, now: Instant, ep: &Endpoint) -> bool {
        match self.phase {
            Phase::Request { connection_id } => {
                ep.conn(now, self.destination()) == Some(connection_id)
            }
            Phase::Connect { .. } => true,
        }
    }

    /// Counts the datagram just made pending (or, when none is, stops counting the last one).
    fn track_send(&mut self, now: Instant, ep: &mut Endpoint) {
        if self.pending {
            self.send = Some(ep.window.sent(now, self.me, self.send));
            self.probe_at = ep
                .window
                .probe_timeout(self.early_resends)
                .map(|p| later(now, p));
        } else if let Some(s) = self.send.take() {
            self.probe_at = None;
            ep.window.forget_send(s);
        }
    }

    /// Counts a send and makes it now.
    fn schedule(&mut self, now: Instant, cfg: &Config, ep: &mut Endpoint) {
        self.sends += 1;
        self.release(now, cfg, ep);
    }

    /// The wait after the current send before resending or giving up.
    fn wait(&self, cfg: &Config) -> Duration {
        self.rto.unwrap_or_else(|| udp_wait(cfg, self.sends))
    }

    /// The send is due: the request goes out with the endpoint's connection id, or a connect goes
    /// out, or the exchange joins the connect another request has in flight.
    fn release(&mut self, now: Instant, cfg: &Config, ep: &mut Endpoint) {
        self.held = false;
        self.due = later(now, self.wait(cfg));
        let to = self.destination();
        match (self.phase, ep.conn(now, to)) {
            (Phase::Request { .. }, Some(connection_id)) => {
                self.phase = Phase::Request { connection_id };
            }
            (Phase::Connect { .. }, Some(connection_id)) => {
                // Another request got the endpoint an id meanwhile: use it. Nothing answered this
                // exchange, so its count goes on.
                self.phase = Phase::Request { connection_id };
                self.needs_txid = true;
            }
            (Phase::Request { .. }, None) => {
                // BEP 15: a resend after the id expired becomes a connect; the count goes on.
                self.phase = Phase::Connect { initial: false };
                self.needs_txid = true;
            }
            (Phase::Connect { .. }, None) => {}
        }
        let connect = matches!(self.phase, Phase::Connect { .. });
        // A `stopped` joins a connect in flight with its first send only: its few quick resends
        // are its own connects, not waits on another request's BEP 15 schedule.
        let may_join = self.rto.is_none() || self.sends <= 1;
        self.joined = connect && may_join && ep.join_connect(now, self.me, to);
        let first = self.phase == Phase::Connect { initial: true } && self.sends == 1;
        if connect && !self.joined {
            if first && let Some(until) = ep.own_connect(now, self.me, self.request, to) {
                // This torrent's other request is connecting: wait for it instead of sending.
                self.waiting = true;
                self.sends = self.sends.saturating_sub(1);
                self.due = until;
                self.pending = false;
                self.track_send(now, ep);
                return;
            }
            ep.connecting(now, self.due, self.request, self.me, to);
        }
        self.pending = !self.joined;
        self.track_send(now, ep);
    }

    /// The retransmission timer: send once the rate ceiling allows, resend, or time out once
    /// `udp_max_attempts` sends went unanswered. A request unanswered until its timeout drops the
    /// endpoint's connection id it used (a tracker may stay silent on a stale id), and the window
    /// shrinks.
    pub(crate) fn on_timer(
        &mut self,
        now: Instant,
        cfg: &Config,
        ep: &mut Endpoint,
    ) -> Option<Outcome> {
        if now < self.due {
            return None;
        }
        if self.waiting {
            // The connect it waited for was not answered in time: its own sends start.
            self.waiting = false;
            self.schedule(now, cfg, ep);
            return None;
        }
        if self.queued() {
            return None;
        }
        if self.held {
            self.release(now, cfg, ep);
            return None;
        }
        if let Some(s) = self.send.take() {
            ep.window.timed_out(s);
            // (A `stopped`'s quick resends over stop_timeout are no sign of a stale id, nor is a
            // slow answer to an id this exchange's own connect just got, nor silence while the
            // tracker answered other datagrams sent after this one: a tracker that drops what
            // exceeds its rate loses some requests, and dropping the id every request shares
            // would make them all wait for one connect.)
            let sent_at = self.due.checked_sub(self.wait(cfg)).unwrap_or(self.due);
            if let Phase::Request { connection_id } = self.phase
                && self.rto.is_none()
                && !self.fresh_id
                && !ep.window.answered_since(sent_at)
            {
                ep.drop_connection_if(self.destination(), connection_id);
            }
        }
        if self.sends >= self.budget(cfg) {
            if self.fail_over(now, cfg, ep) {
                return None;
            }
            return Some(Outcome::failed(Cause::Timeout));
        }
        self.schedule(now, cfg, ep);
        None
    }

    /// Sends to the current address before moving on: one for every address but the last (a
    /// dead first address costs one `udp_rto`), the whole BEP 15 schedule for the last.
    fn budget(&self, cfg: &Config) -> u32 {
        if self.at + 1 < self.addrs.len() {
            1
        } else {
            cfg.udp_max_attempts
        }
    }

    /// Moves on to the tracker's next address, if one is left, with a fresh transaction id and
    /// retransmission budget (and that address's own connection id). Returns whether it did.
    pub(crate) fn fail_over(&mut self, now: Instant, cfg: &Config, ep: &mut Endpoint) -> bool {
        if self.at + 1 >= self.addrs.len() {
            return false;
        }
        self.at += 1;
        // A datagram the window still counts (the address refused it) is no sign of congestion:
        // it leaves the window's count, and the next address's sends are tracked afresh.
        if let Some(s) = self.send.take() {
            ep.window.forget_send(s);
        }
        self.early_at = None;
        self.probe_at = None;
        self.phase = Phase::Connect { initial: true };
        self.needs_txid = true;
        self.joined = false;
        self.waiting = false;
        self.fresh_id = false;
        self.reconnected = false;
        self.sends = 0;
        self.schedule(now, cfg, ep);
        true
    }

    /// Where the next datagram goes.
    pub(crate) fn destination(&self) -> SocketAddr {
        let fallback = SocketAddr::from(([0, 0, 0, 0], 0));
        let at = self.addrs.get(self.at).or(self.addrs.first());
        at.copied().unwrap_or(fallback)
    }

    /// A datagram from `from` may be this exchange's reply: `from` is one of the addresses the
    /// tracker's name resolved to (multi-homed trackers answer from a sibling address), compared
    /// in canonical form; never a stranger.
    pub(crate) fn sent_from(&self, from: SocketAddr) -> bool {
        if self.addrs.contains(&from) {
            return true;
        }
        let from = canonical_addr(from);
        self.addrs.iter().any(|&a| canonical_addr(a) == from)
    }

    /// An exchange that joined or waited for a connect goes on with the new connection id once it
    /// is answered.
    pub(crate) fn poke(&mut self, now: Instant, cfg: &Config, ep: &mut Endpoint) {
        // Without an id (the connect is in flight, or was abandoned), its own timer counts the
        // next send, on the BEP 15 schedule.
        if !(self.joined || self.waiting) || ep.conn(now, self.destination()).is_none() {
            return;
        }
        self.joined = false;
        self.waiting = false;
        if let Phase::Connect { initial: true } = self.phase {
            self.sends = 0;
        }
        self.phase = Phase::Request { connection_id: 0 };
        self.needs_txid = true;
        self.schedule(now, cfg, ep);
    }

    /// A datagram with this exchange's transaction id from its tracker. Only the reply the phase
    /// waits for (or an error) is accepted; anything else is ignored without side effects.
    pub(crate) fn on_reply(
        &mut self,
        now: Instant,
        cfg: &Config,
        reply: Result<Reply<'_>, ReplyError>,
        kind: RequestKind,
        ep: &mut Endpoint,
        woken: &mut Vec<TorrentId>,
    ) -> Step {
        let error = match (&reply, self.phase, kind) {
            (Ok(Reply::Connect(c)), Phase::Connect { initial }, _) => {
                self.answered(now, cfg, ep, woken);
                woken.extend(ep.connected(c.connection_id, self.destination(), now, cfg));
                self.phase = Phase::Request {
                    connection_id: c.connection_id,
                };
                self.needs_txid = true;
                self.fresh_id = true;
                self.joined = false;
                if initial {
                    self.sends = 0;
                }
                self.schedule(now, cfg, ep);
                return Step::Continue;
            }
            (Ok(Reply::Announce(a)), Phase::Request { .. }, RequestKind::Announce(_)) => {
                self.answered(now, cfg, ep, woken);
                return Step::Done(Outcome::Announced(AnnounceReply {
                    interval: Some(i64::from(a.interval)),
                    seeders: Some(a.seeders),
                    leechers: Some(a.leechers),
                    peers: usable_compact(&a.peers, cfg.max_peers_per_reply),
                    ..AnnounceReply::default()
                }));
            }
            (
                Ok(Reply::AnnounceRefused { .. }),
                Phase::Request { .. },
                RequestKind::Announce(_),
            ) => {
                self.answered(now, cfg, ep, woken);
                return Step::Done(Outcome::failed(Cause::Refused));
            }
            (Ok(Reply::Scrape(s)), Phase::Request { .. }, RequestKind::Scrape) => {
                self.answered(now, cfg, ep, woken);
                let rows = (0..s.rows.len()).filter_map(|k| s.rows.get(k));
                return Step::Done(Outcome::Scraped(
                    rows.map(|r| ScrapeCounts {
                        seeders: Some(r.seeders),
                        completed: Some(r.completed),
                        leechers: Some(r.leechers),
                        min_request_interval: None,
                    })
                    .collect(),
                ));
            }
            (Ok(Reply::Error(e)), _, _) => Cause::Tracker {
                reason: e.message_text().into_owned(),
                retry_in: None,
            },
            (Err(e @ ReplyError::UnknownAction { .. }), _, _) => Cause::BadReply(e.to_string()),
            _ => return Step::Ignored,
        };
        self.answered(now, cfg, ep, woken);
        // Any error drops the connection id (opentracker's "Connection ID missmatch" among them).
        // An id that came from the cache may simply be stale: reconnect once before failing.
        ep.drop_connection(self.destination(), woken);
        if matches!(self.phase, Phase::Request { .. }) && !self.fresh_id && !self.reconnected {
            self.reconnected = true;
            self.phase = Phase::Connect { initial: true };
            self.needs_txid = true;
            self.sends = 0;
            self.schedule(now, cfg, ep);
            return Step::Continue;
        }
        Step::Done(Outcome::failed(error))
    }

    /// The tracker answered the datagram in flight: the window grows and may admit more.
    fn answered(
        &mut self,
        now: Instant,
        cfg: &Config,
        ep: &mut Endpoint,
        woken: &mut Vec<TorrentId>,
    ) {
        self.early_at = None;
        self.probe_at = None;
        if let Some(s) = self.send.take() {
            let sample = self.early_resends == 0;
            ep.window.answered((now, cfg), s, sample, woken);
        }
    }

    /// The pending datagram is the request itself (not a connect).
    pub(crate) fn request_pending(&self) -> bool {
        self.pending && matches!(self.phase, Phase::Request { .. })
    }

    /// The request it is, for [`Endpoint::abandon_connect`].
    pub(crate) fn request(&self) -> RequestId {
        self.request
    }

    /// Writes the pending datagram into `buf`, which holds `MAX_REQUEST_LEN` bytes (the public
    /// drains size it). `None` when nothing is pending (or it cannot be encoded, which
    /// construction rules out: URL data is checked against the buffer size).
    pub(crate) fn write(&mut self, buf: &mut [u8], params: &RequestParams<'_>) -> Option<usize> {
        let connection_id = match self.take_pending()? {
            Some(connection_id) => connection_id,
            None => return self.write_connect(buf),
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
            RequestKind::Scrape => self.write_scrape_request(
                buf,
                connection_id,
                std::slice::from_ref(&params.info_hash),
            ),
        }
    }

    /// Writes the pending datagram of a scrape of `info_hashes` (at most 74).
    pub(crate) fn write_scrape(
        &mut self,
        buf: &mut [u8],
        info_hashes: &[InfoHash],
    ) -> Option<usize> {
        match self.take_pending()? {
            Some(connection_id) => self.write_scrape_request(buf, connection_id, info_hashes),
            None => self.write_connect(buf),
        }
    }

    /// The pending datagram, taken: `Some(None)` for a connect, `Some(Some(id))` for the request
    /// with connection id `id`.
    fn take_pending(&mut self) -> Option<Option<u64>> {
        if !std::mem::take(&mut self.pending) {
            return None;
        }
        let request = match self.phase {
            Phase::Connect { .. } => None,
            Phase::Request { connection_id } => Some(connection_id),
        };
        self.last_was_request = request.is_some();
        self.requests_sent += u32::from(request.is_some());
        Some(request)
    }

    /// One announce or scrape datagram went out, and it was the last datagram written.
    pub(crate) fn sent_one_request_last(&self) -> bool {
        self.requests_sent == 1 && self.last_was_request
    }

    fn write_connect(&self, buf: &mut [u8]) -> Option<usize> {
        ConnectRequest {
            transaction_id: self.txid,
        }
        .encode(buf)
        .ok()
    }

    fn write_scrape_request(
        &self,
        buf: &mut [u8],
        connection_id: u64,
        info_hashes: &[InfoHash],
    ) -> Option<usize> {
        ScrapeRequest {
            connection_id,
            transaction_id: self.txid,
            info_hashes: info_hashes.into(),
        }
        .encode(buf)
        .ok()
    }
}
