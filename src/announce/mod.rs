//! The Announce state machine: one torrent announcing to its trackers.
//!
//! See [`Announce`] for the method groups and the drain rule.

mod commands;
mod config;
pub(crate) mod ctx;
pub(crate) mod dns;
mod drive;
pub(crate) mod edit;
pub(crate) mod endpoint;
mod event;
pub(crate) mod events;
pub(crate) mod http_exchange;
mod hybrid;
pub(crate) mod outcome;
pub(crate) mod places;
pub(crate) mod policy;
pub(crate) mod schedule;
mod scrape_schedule;
mod send_log;
pub(crate) mod session;
mod status;
mod swarms;
pub(crate) mod tracker;
pub(crate) mod udp_exchange;
mod view;
pub(crate) mod window;
mod wire;

use std::net::SocketAddr;
use std::time::Instant;

use rand_chacha::ChaCha12Rng;
use rand_core::{CryptoRng, SeedableRng};

pub use config::{Config, ConfigError, MAX_NUM_WANT, Progress, TierMode, Torrent};
pub use dns::{
    DnsAnswer, DnsConfig, DnsError, DnsFailure, DnsQuery, DnsQueryId, Families, MAX_DNS_ADDRESSES,
};
pub use edit::EditError;
pub use event::{
    Announced, Cause, Event, Failed, HttpRequest, Origin, RequestId, RequestKind, Scraped,
    TorrentId, TrackerId, Transmit, TransportError,
};
pub use hybrid::HybridAnnounce;
pub use outcome::MAX_TRACKER_ID_LEN;
pub use policy::is_internal_address;
pub use status::{CountsSource, SwarmCounts, TrackerState, TrackerStatus};
pub use swarms::{HybridPeers, MergedPeers, Swarm, Swarms};

use self::ctx::Ctx;
pub(crate) use self::schedule::is_never;
use self::session::{Session, check_tiers};
use crate::TrackerUrl;
use crate::http::HttpResponse;
use crate::udp::MAX_REQUEST_LEN;

/// One torrent's announces to its trackers (BEP 12 tiers; one URL is one tier of one), as a
/// sans-IO state machine.
///
/// The machine never reads a clock, never does I/O and never draws randomness of its own: time
/// comes in as `now` on every call that changes state, bytes come in through the `handle_*` methods
/// and go out through the `poll_*` drains, and randomness (transaction ids, the `key`, tier
/// shuffles, jitter) comes from the RNG given to [`new`](Self::new).
///
/// # Method groups
///
/// - **Construct**: [`new`](Self::new) is the only method that returns an error (bad parameters).
/// - **Inputs** (never fail, never panic; anything unexpected is ignored or becomes an event):
///   [`handle_dns_response`](Self::handle_dns_response),
///   [`handle_datagram`](Self::handle_datagram), [`handle_http_response`](Self::handle_http_response),
///   [`handle_transport_error`](Self::handle_transport_error), [`handle_timeout`](Self::handle_timeout)
///   (early or repeated calls do nothing).
/// - **Commands** (only queue work): [`set_progress`](Self::set_progress),
///   [`completed`](Self::completed), [`announce_now`](Self::announce_now),
///   [`scrape`](Self::scrape), [`stop`](Self::stop); per tracker
///   [`announce_tracker`](Self::announce_tracker), [`scrape_tracker`](Self::scrape_tracker); live
///   changes [`set_port`](Self::set_port), [`set_num_want`](Self::set_num_want),
///   [`set_peer_id`](Self::set_peer_id), [`set_partial_seed`](Self::set_partial_seed) (BEP 21),
///   [`pause`](Self::pause), [`resume`](Self::resume); tracker list edits
///   [`add_tracker`](Self::add_tracker), [`remove_tracker`](Self::remove_tracker),
///   [`replace_trackers`](Self::replace_trackers).
/// - **Drains** (pure; they neither read nor advance time): [`poll_dns_query`](Self::poll_dns_query),
///   [`poll_transmit`](Self::poll_transmit), [`poll_http_request`](Self::poll_http_request),
///   [`poll_timeout`](Self::poll_timeout), [`poll_event`](Self::poll_event).
/// - **Getters**: [`tracker_url`](Self::tracker_url), [`tiers`](Self::tiers), [`key`](Self::key),
///   [`trackers`](Self::trackers) (status snapshot), [`is_stopped`](Self::is_stopped), [`events_superseded`](Self::events_superseded),
///   [`dns_queries_made`](Self::dns_queries_made).
///
/// # The drain rule
///
/// After construction and after every input or command, drain in this order until each returns
/// `None`: `poll_dns_query` (start each lookup; answer later with `handle_dns_response`, which is
/// an input like any other), `poll_transmit` (send each datagram), `poll_http_request` (start each
/// request), `poll_timeout` (arm one timer; call `handle_timeout` when it fires), `poll_event`.
///
/// - **Names are the machine's.** A tracker URL with a host name makes the machine ask for it
///   (once per name for all its torrents and URLs, cached; see [`DnsConfig`]); the requests wait
///   for the answer, and then every [`Transmit`] carries an address and every [`HttpRequest`] its
///   addresses. Never resolve a tracker's name yourself. IP-literal URLs ask nothing.
///
/// - **Batching is allowed.** A loop may hand in every input of one tick (a game frame, one
///   `epoll_wait`) and drain once after the last: no output is lost or reordered by waiting,
///   because outputs are queued, never overwritten (see [`poll_event`](Self::poll_event) for the
///   one exception: a superseded outcome).
/// - **Timers before late inputs.** When the deadline from `poll_timeout` has passed by the time
///   an input is handed in, call `handle_timeout(now)` first: a reply that arrives after its
///   request's deadline is late whatever order the wake-ups came in, and firing the timer first
///   makes the machine see it that way on every run.
/// - **`now` never goes backwards** inside the machine: an older `now` is taken as the latest one
///   seen.
///
/// ```
/// use std::time::Instant;
/// use bt_tracker::announce::{Announce, Config, Progress, Torrent};
/// use bt_tracker::{InfoHash, PeerId, TrackerUrl};
///
/// let torrent = Torrent {
///     info_hash: InfoHash([1; 20]),
///     peer_id: PeerId(*b"-BT0001-123456789012"),
///     port: 6881,
///     progress: Progress { left: 1000, ..Progress::default() },
///     key: None,
/// };
/// let tiers = vec![vec![TrackerUrl::parse("udp://127.0.0.1:6969/announce").unwrap()]];
/// // The operating system's CSPRNG (getrandom 0.4 with its `sys_rng` feature, for rand_core
/// // 0.10); tests seed a `rand_chacha::ChaCha12Rng` instead to make runs reproducible.
/// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// let now = Instant::now();
/// let mut announce = Announce::new(Config::default(), torrent, tiers, &mut rng, now).unwrap();
///
/// let mut buf = Vec::new(); // reused for every datagram
/// let transmit = announce.poll_transmit(&mut buf).unwrap(); // the connect request
/// assert_eq!((transmit.len, buf.len()), (16, 16));
/// assert_eq!(transmit.destination, "127.0.0.1:6969".parse().unwrap());
/// assert!(announce.poll_transmit(&mut buf).is_none());
/// assert_eq!(announce.poll_timeout(), Some(now + std::time::Duration::from_secs(15)));
/// ```
#[derive(Debug)]
pub struct Announce {
    ctx: Ctx,
    session: Session,
}

impl Announce {
    /// Creates the machine and queues the first announce (`started`) per the tier mode.
    ///
    /// `tiers` is the BEP 12 announce list: empty tiers and repeated URLs are dropped, and each
    /// tier is shuffled once with the RNG. `rng` seeds the machine's own generator (ChaCha12): use
    /// the operating system's in production, since transaction ids and the `key` must be
    /// unguessable: `&mut rand_core::UnwrapErr(getrandom::SysRng)` with `getrandom` 0.4 and its
    /// `sys_rng` feature (any [`rand_core`] 0.10 `CryptoRng` fits). A seeded one makes runs
    /// reproducible.
    ///
    /// Fails when there is no tracker, too many, a tracker URL that cannot be announced to (an HTTP
    /// URL that pre-fills `info_hash` and the like; UDP URL data over 1024 bytes), a knob out of
    /// range, or port 0 in `torrent`.
    pub fn new<R: CryptoRng + ?Sized>(
        config: Config,
        torrent: Torrent,
        tiers: Vec<Vec<TrackerUrl>>,
        rng: &mut R,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        torrent.validate()?;
        let tiers = check_tiers(&config, tiers)?;
        let mut ctx = Ctx::new(config, ChaCha12Rng::from_rng(rng), now);
        let now = ctx.now;
        let session = Session::new(&mut ctx, TorrentId(0), torrent, tiers, now);
        ctx.woken.clear();
        Ok(Announce { ctx, session })
    }

    /// Runs `f` on the session and forgets the connect wake-ups: with one torrent, every input
    /// already drives the torrent that waited.
    fn with<T>(&mut self, f: impl FnOnce(&mut Session, &mut Ctx) -> T) -> T {
        let out = f(&mut self.session, &mut self.ctx);
        self.ctx.woken.clear();
        out
    }

    // ----- inputs -----

    /// The caller's answer to DNS query `id` from [`poll_dns_query`](Self::poll_dns_query): the
    /// addresses (any number, both families, with the TTL when the resolver gives one) or the
    /// failure. The answer is cached (see [`DnsConfig`]) and the requests that waited for it go
    /// on (or fail with [`Cause::Dns`]). Returns `true` when the answer was used.
    ///
    /// A late answer (after [`DnsQuery::deadline`], when the requests that waited have failed
    /// with [`DnsFailure::NoAnswer`]) is still used when it is a success and `id` is the name's
    /// latest query with no answer since: the addresses are cached, the cached failure goes, and
    /// the requests now waiting for the name go on (the others use the addresses on their next
    /// try). A late failure changes nothing. An answer to an older query (two queries ago), a
    /// repeated or an unknown id is ignored and returns `false`, and so is every answer once the
    /// torrent is stopped ([`is_stopped`](Self::is_stopped)): nothing would use it.
    pub fn handle_dns_response(
        &mut self,
        now: Instant,
        id: DnsQueryId,
        result: Result<DnsAnswer, DnsError>,
    ) -> bool {
        if self.session.is_stopped() {
            return false;
        }
        let now = self.ctx.advance(now);
        let ctx = &mut self.ctx;
        let used = ctx
            .dns
            .answer(&ctx.cfg.dns, now, id, result, &mut ctx.woken);
        if used {
            self.with(|s, ctx| s.drive(ctx, now));
        }
        used
    }

    /// A datagram received from `from`. Returns `true` when it answered a request in flight and was
    /// used; anything else (another source, an unknown or stale transaction id, a reply of another
    /// kind than the one awaited, a duplicate, fewer than 8 bytes, a truncated connect reply) is
    /// ignored and changes nothing.
    ///
    /// Three replies with the transaction id of a request in flight are answers though not
    /// well-formed ones, as real trackers send them (PROTOCOL.md section 10): an announce reply
    /// (action 1) of 8 to 19 bytes is the tracker's refusal ([`Cause::Refused`], opentracker's
    /// answer for an info hash it does not track); an unknown action is taken as a tracker error
    /// (old opentracker wrote action 3 in host byte order: [`Cause::BadReply`]); and an error
    /// reply (action 3) ends the request with [`Cause::Tracker`].
    ///
    /// Give the whole datagram: receive into a buffer of at least
    /// [`udp::announce_reply_len`](crate::udp::announce_reply_len)`(num_want, family)` bytes, or a
    /// large reply is cut short.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> bool {
        self.with(|s, ctx| s.handle_datagram(ctx, now, from, datagram))
    }

    /// The caller's response to HTTP request `id` (any status; redirects included, unfollowed).
    /// Returns `true` when `id` was in flight; a response to a stale, timed-out or unknown id is
    /// ignored.
    ///
    /// The response may borrow the body from the caller's buffer
    /// ([`HttpResponse::new`]`(status, location, &bytes)`): it is read in place, never copied.
    pub fn handle_http_response(
        &mut self,
        now: Instant,
        id: RequestId,
        response: &HttpResponse<'_>,
    ) -> bool {
        self.with(|s, ctx| s.handle_http_response(ctx, now, id, response))
    }

    /// The caller could not carry out request `id` (DNS failure, connection refused or reset, TLS
    /// error, unreadable response). The request fails now and the machine fails over. Returns
    /// `true` when `id` was in flight.
    pub fn handle_transport_error(
        &mut self,
        now: Instant,
        id: RequestId,
        error: TransportError,
    ) -> bool {
        self.with(|s, ctx| s.handle_transport_error(ctx, now, id, error))
    }

    /// Fires the timers due at `now`: retransmissions, request deadlines, scheduled announces,
    /// the shutdown deadline. Calls before the deadline from [`poll_timeout`](Self::poll_timeout)
    /// do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.with(|s, ctx| s.drive(ctx, now));
    }

    // ----- commands -----

    /// Updates the counters sent with the next announces.
    pub fn set_progress(&mut self, progress: Progress) {
        self.session.set_progress(progress);
    }

    /// The download finished: every tracker that got `started` gets `completed` now (once, even if
    /// this is called again), without waiting for `min interval`.
    pub fn completed(&mut self, now: Instant) {
        self.with(|s, ctx| s.completed(ctx, now));
    }

    /// Re-announces now on every lane that is waiting, still honouring each tracker's
    /// `min interval` for announces without an event. Returns when the next announce goes out:
    /// `now` when one was handed out (or is in flight or waits for a place in its endpoint's
    /// window), later when `min interval` or the optional rate ceiling holds it back, `None` when none will (stopped, or every tracker disabled).
    pub fn announce_now(&mut self, now: Instant) -> Option<Instant> {
        self.with(|s, ctx| s.announce_now(ctx, now))
    }

    /// Scrapes this torrent on every tracker that is not disabled and not already scraping. HTTP
    /// trackers without a scrape URL answer with a [`Cause::ScrapeUnsupported`] failure.
    pub fn scrape(&mut self, now: Instant) {
        self.with(|s, ctx| s.scrape(ctx, now));
    }

    /// Shuts down: requests in flight are cancelled (each ends in a [`Cause::Cancelled`] failure),
    /// every tracker that was sent `started`, answered or not, gets one `stopped` (num_want 0), and
    /// within [`Config::stop_timeout`] of the last `stopped` being admitted by its window the machine
    /// emits [`Event::Stopped`], even when every tracker is dead. A tracker that was never sent an
    /// announce (a UDP connect at most) gets nothing. After `Stopped`, nothing is sent and
    /// `poll_timeout` is `None`.
    pub fn stop(&mut self, now: Instant) {
        self.with(|s, ctx| s.stop(ctx, now));
    }

    // ----- drains -----

    /// The next host name to resolve: look it up with any resolver, without blocking the loop (a
    /// thread, an async task), and hand the answer to
    /// [`handle_dns_response`](Self::handle_dns_response). One query per name is in flight at a
    /// time; a query not answered by its [`deadline`](DnsQuery::deadline) fails the requests that
    /// waited for it with [`DnsFailure::NoAnswer`].
    #[must_use]
    pub fn poll_dns_query(&mut self) -> Option<DnsQuery> {
        self.ctx.dns.poll_query()
    }

    /// The next datagram to send: written into `buf`, which it replaces (`buf` holds exactly the
    /// datagram, `transmit.len` bytes; it is left empty when there is none), and where it goes.
    ///
    /// Reuse one `Vec` for every call: it grows to [`MAX_REQUEST_LEN`] bytes once and then never
    /// allocates again. Taking a `Vec`, as quinn-proto's `poll_transmit` does, means there is no
    /// buffer too small for a datagram: nothing is ever cut short, lost or left waiting.
    #[must_use]
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        fill_transmit(buf, |buf| self.session.poll_transmit(&self.ctx, buf))
    }

    /// The next HTTP request to make.
    #[must_use]
    pub fn poll_http_request(&mut self) -> Option<HttpRequest> {
        self.session.poll_http_request()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next. After a full drain it is `None`
    /// or later than the last `now` given; `None` once stopped (or when every tracker is disabled
    /// and nothing is in flight).
    ///
    /// Near the end of `Instant`'s range a deadline that would fall past it saturates and never
    /// comes: it is not reported, so this is `None` rather than the largest `Instant`, and a
    /// retransmission, backoff or `stop` timeout that far out does not happen.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout().filter(|&t| !is_never(t))
    }

    /// The next event, oldest first.
    ///
    /// Nothing is dropped to bound the queue: an outcome (`Announced`, `Scraped`, `Failed`) still
    /// waiting when a later outcome of the same tracker and kind (announce or scrape) comes is
    /// replaced by it in place, and counted in [`events_superseded`](Self::events_superseded).
    /// At most `3 * ids + 1` events ever wait, where `ids` counts the tracker ids in use: the
    /// trackers listed, and each removed one until nothing of it is in flight and its events
    /// (its last outcome, its `stopped`'s) are drained; only then does its id go to a tracker
    /// added later. So a caller that edits the list without draining keeps every removed
    /// tracker's id (and event) until it drains, up to the 65,536 ids a torrent has
    /// ([`EditError::NoFreeId`]).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.ctx.pop_event().map(|(_, event)| event)
    }

    // ----- getters -----

    /// The URL of a tracker (`None` for an id this machine does not have).
    pub fn tracker_url(&self, tracker: TrackerId) -> Option<&TrackerUrl> {
        self.session.tracker_url(&self.ctx, tracker)
    }

    /// The tiers in their current order (shuffled once at construction, then the tracker that
    /// answered moved to the front of its tier; edits change them at once). A tier emptied by
    /// [`remove_tracker`](Self::remove_tracker) goes away and the later tiers move up, so there
    /// are never more tiers (per family under dual-stack) than URLs listed. Under BEP 7
    /// dual-stack ([`Families::Both`]) the IPv4 trackers' tiers come first, then as many tiers of
    /// IPv6 trackers, tier `k` of each being tier `k` of the list: a family keeps a tier none of
    /// whose URLs it announces over (an IP literal of the other family) as an empty one, so it
    /// may list more tiers than trackers. `[[udp://tracker.example], [udp://203.0.113.9]]` gives
    /// `[[0], [1], [2], []]`: the host name's IPv4 tracker, the literal, the host name's IPv6
    /// tracker, and an empty IPv6 tier.
    pub fn tiers(&self) -> impl Iterator<Item = Vec<TrackerId>> + '_ {
        self.session.tiers()
    }

    /// Every tracker's status, in tier order (each tier in its current order): what a client's
    /// tracker list draws, without replaying events. It agrees with the events drained so far
    /// and those still queued.
    pub fn trackers(&self) -> impl Iterator<Item = TrackerStatus<'_>> + '_ {
        self.session.statuses(&self.ctx)
    }

    /// The `key` sent to every tracker (store it to reuse across restarts).
    pub fn key(&self) -> u32 {
        self.session.key()
    }

    /// Shutdown is over: [`Event::Stopped`] is queued (or drained), nothing more is sent.
    pub fn is_stopped(&self) -> bool {
        self.session.is_stopped()
    }

    /// Outcomes replaced, before they were drained, by a later outcome of the same tracker and kind
    /// (see [`poll_event`](Self::poll_event)). No other event is ever dropped.
    pub fn events_superseded(&self) -> u64 {
        self.ctx.events.superseded()
    }

    /// DNS queries handed out so far (each name at most once per cache lifetime).
    pub fn dns_queries_made(&self) -> u64 {
        self.ctx.dns.queries_made()
    }
}

/// Runs a drain that writes at most one datagram into a buffer of [`MAX_REQUEST_LEN`] bytes, and
/// leaves `buf` holding exactly that datagram (empty when there is none).
pub(crate) fn fill_transmit(
    buf: &mut Vec<u8>,
    write: impl FnOnce(&mut [u8]) -> Option<Transmit>,
) -> Option<Transmit> {
    buf.clear();
    buf.resize(MAX_REQUEST_LEN, 0);
    let transmit = write(buf);
    buf.truncate(transmit.map_or(0, |t| t.len));
    transmit
}
