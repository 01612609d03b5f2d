//! [`HybridAnnounce`]: one BEP 52 hybrid v1+v2 torrent announcing both of its info hashes.
//!
//! Why one machine rather than two [`Announce`](super::Announce)s paired by the caller: the two
//! swarms then share what one torrent should share. One DNS query per tracker name, one UDP
//! connect per tracker endpoint, one window of requests in flight per endpoint, transaction and
//! request ids that never collide, one set of drains and one timer. Two machines would each ask
//! for the name, each connect, and hand out request ids the caller could not tell apart. The
//! `Client` gets the same sharing from [`Client::add_hybrid`](crate::Client::add_hybrid).

use std::net::SocketAddr;
use std::time::Instant;

use rand_chacha::ChaCha12Rng;
use rand_core::{CryptoRng, Rng, SeedableRng};

use super::ctx::{Ctx, owner_slot};
use super::session::{Session, check_tiers};
use super::swarms::{HybridPeers, MergedPeers, Swarm};
use super::{
    Config, ConfigError, DnsAnswer, DnsError, DnsQuery, DnsQueryId, EditError, Event, HttpRequest,
    Progress, RequestId, Torrent, TorrentId, TrackerId, TrackerStatus, Transmit, TransportError,
    fill_transmit,
};
use crate::http::HttpResponse;
use crate::udp::peek_transaction_id;
use crate::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};

/// One BEP 52 hybrid v1+v2 torrent announcing to its trackers: each tracker gets one announce
/// per info hash, with separate state (schedule, `min interval`, tracker id, failures) per swarm,
/// and the same peer id and `key` (PROTOCOL.md section 12.3, as libtorrent does with one
/// `announce_infohash` per protocol version). Scrapes cover both hashes the same way.
///
/// The verbs, the drain rule and the contract are [`Announce`](super::Announce)'s; what differs:
/// - [`poll_event`](Self::poll_event) names the [`Swarm`] of each event, and each swarm ends with
///   its own [`Event::Stopped`];
/// - [`Transmit::origin`] and [`HttpRequest::origin`] name the swarm's torrent:
///   [`torrent_id`](Self::torrent_id)`(Swarm::V1)` is [`TorrentId::ANNOUNCE`], `V2` is
///   `TorrentId(1)`; [`swarm_of`](Self::swarm_of) maps back;
/// - [`trackers`](Self::trackers) takes the swarm: each has its own status;
/// - peers: [`peers`](Self::peers) per swarm and [`merged_peers`](Self::merged_peers), each
///   address once with the swarms that listed it, from the latest `Announced` of each swarm
///   drained so far (see [`HybridPeers`]).
///
/// Commands apply to both swarms. Both swarms list the same trackers under the same
/// [`TrackerId`]s. Tracker-list edits are not offered here (each swarm's ids would have to stay
/// in step); a torrent whose list changes at run time goes into a [`Client`](crate::Client) with
/// [`add_hybrid`](crate::Client::add_hybrid), where each swarm is edited by its own id.
#[derive(Debug)]
pub struct HybridAnnounce {
    ctx: Ctx,
    v1: Session,
    v2: Session,
    peers: HybridPeers,
}

const V2_ID: TorrentId = TorrentId(1);

impl HybridAnnounce {
    /// Creates the machine and queues the first announce (`started`) of each swarm.
    /// `torrent.info_hash` is the v1 hash, `v2` the v2 hash as trackers take it
    /// ([`InfoHash::from_v2`]). When `torrent.key` is `None`, one `key` is drawn for both.
    ///
    /// Fails as [`Announce::new`](super::Announce::new) does, and when the two hashes are equal
    /// (a v1-only or v2-only torrent is an `Announce`).
    pub fn new<R: CryptoRng + ?Sized>(
        config: Config,
        torrent: Torrent,
        v2: InfoHash,
        tiers: Vec<Vec<TrackerUrl>>,
        rng: &mut R,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        torrent.validate()?;
        if v2 == torrent.info_hash {
            return Err(ConfigError::InvalidTorrent {
                field: "info_hash",
                rule: "must differ from the v2 hash of a hybrid torrent; for a v1-only or v2-only torrent use Announce::new",
            });
        }
        let tiers = check_tiers(&config, tiers)?;
        let max_peers = config.max_peers_per_reply;
        let mut ctx = Ctx::new(config, ChaCha12Rng::from_rng(rng), now);
        let now = ctx.now;
        let key = torrent.key.unwrap_or_else(|| ctx.rng.next_u32());
        let v2_torrent = Torrent {
            info_hash: v2,
            key: Some(key),
            ..torrent.clone()
        };
        let v1_torrent = Torrent {
            key: Some(key),
            ..torrent
        };
        let v1 = Session::new(
            &mut ctx,
            TorrentId::ANNOUNCE,
            v1_torrent,
            tiers.clone(),
            now,
        );
        let v2 = Session::new(&mut ctx, V2_ID, v2_torrent, tiers, now);
        let mut hybrid = HybridAnnounce {
            ctx,
            v1,
            v2,
            peers: HybridPeers::new(max_peers),
        };
        hybrid.wake(now);
        Ok(hybrid)
    }

    /// Runs `f` on both swarms (v1 first), then lets requests that waited on the other swarm's
    /// connect or window place go on.
    fn both<T>(&mut self, now: Instant, mut f: impl FnMut(&mut Session, &mut Ctx) -> T) -> [T; 2] {
        let out = [
            f(&mut self.v1, &mut self.ctx),
            f(&mut self.v2, &mut self.ctx),
        ];
        self.wake(now);
        out
    }

    /// Drives the swarms woken by the other's progress (a connect answered, a window place
    /// freed), until none is.
    fn wake(&mut self, now: Instant) {
        let now = self.ctx.advance(now);
        while let Some(id) = self.ctx.woken.pop() {
            if let Some(swarm) = Self::swarm_of(id) {
                let ctx = &mut self.ctx;
                match swarm {
                    Swarm::V1 => self.v1.drive(ctx, now),
                    Swarm::V2 => self.v2.drive(ctx, now),
                }
            }
        }
    }

    /// Hands an input to the swarm that owns it, then wakes what it freed.
    fn dispatch(
        &mut self,
        owner: Option<Swarm>,
        now: Instant,
        f: impl FnOnce(&mut Session, &mut Ctx) -> bool,
    ) -> bool {
        let Some(swarm) = owner else {
            return false;
        };
        let used = match swarm {
            Swarm::V1 => f(&mut self.v1, &mut self.ctx),
            Swarm::V2 => f(&mut self.v2, &mut self.ctx),
        };
        if used {
            self.wake(now);
        }
        used
    }

    /// The torrent id a swarm's requests and [`TrackerStatus`]es carry.
    pub fn torrent_id(swarm: Swarm) -> TorrentId {
        match swarm {
            Swarm::V1 => TorrentId::ANNOUNCE,
            Swarm::V2 => V2_ID,
        }
    }

    /// The swarm of a request's [`Origin::torrent`](super::Origin::torrent) (`None` for another
    /// id).
    pub fn swarm_of(torrent: TorrentId) -> Option<Swarm> {
        match torrent {
            TorrentId::ANNOUNCE => Some(Swarm::V1),
            V2_ID => Some(Swarm::V2),
            _ => None,
        }
    }

    // ----- inputs -----

    /// As [`Announce::handle_dns_response`](super::Announce::handle_dns_response): one answer
    /// serves both swarms.
    pub fn handle_dns_response(
        &mut self,
        now: Instant,
        id: DnsQueryId,
        result: Result<DnsAnswer, DnsError>,
    ) -> bool {
        if self.is_stopped() {
            return false; // nothing would use it
        }
        let now = self.ctx.advance(now);
        let ctx = &mut self.ctx;
        let used = ctx
            .dns
            .answer(&ctx.cfg.dns, now, id, result, &mut ctx.woken);
        if used {
            self.both(now, |s, ctx| s.drive(ctx, now));
        }
        used
    }

    /// As [`Announce::handle_datagram`](super::Announce::handle_datagram): routed to its swarm by
    /// its transaction id.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> bool {
        let owner = peek_transaction_id(datagram)
            .and_then(|txid| self.ctx.txids.get(&txid).copied())
            .and_then(Self::swarm_of);
        self.dispatch(owner, now, |s, ctx| {
            s.handle_datagram(ctx, now, from, datagram)
        })
    }

    /// As [`Announce::handle_http_response`](super::Announce::handle_http_response).
    pub fn handle_http_response(
        &mut self,
        now: Instant,
        id: RequestId,
        response: &HttpResponse<'_>,
    ) -> bool {
        self.dispatch(request_swarm(id), now, |s, ctx| {
            s.handle_http_response(ctx, now, id, response)
        })
    }

    /// As [`Announce::handle_transport_error`](super::Announce::handle_transport_error).
    pub fn handle_transport_error(
        &mut self,
        now: Instant,
        id: RequestId,
        error: TransportError,
    ) -> bool {
        self.dispatch(request_swarm(id), now, |s, ctx| {
            s.handle_transport_error(ctx, now, id, error)
        })
    }

    /// As [`Announce::handle_timeout`](super::Announce::handle_timeout), for both swarms.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.both(now, |s, ctx| s.drive(ctx, now));
    }

    // ----- commands (both swarms) -----

    /// Updates the counters both swarms send with their next announces.
    pub fn set_progress(&mut self, progress: Progress) {
        self.v1.set_progress(progress);
        self.v2.set_progress(progress);
    }

    /// The download finished: `completed` to every tracker of both swarms that got `started`.
    pub fn completed(&mut self, now: Instant) {
        self.both(now, |s, ctx| s.completed(ctx, now));
    }

    /// As [`Announce::announce_now`](super::Announce::announce_now), in both swarms: returns
    /// the earlier of the two swarms' next announces.
    pub fn announce_now(&mut self, now: Instant) -> Option<Instant> {
        let [a, b] = self.both(now, |s, ctx| s.announce_now(ctx, now));
        a.into_iter().chain(b).min()
    }

    /// Scrapes both info hashes on every tracker that is not disabled; each swarm gets its own
    /// [`Event::Scraped`] or [`Event::Failed`].
    pub fn scrape(&mut self, now: Instant) {
        self.both(now, |s, ctx| s.scrape(ctx, now));
    }

    /// As [`Announce::stop`](super::Announce::stop), for both swarms: every tracker that was sent
    /// `started` for a hash gets `stopped` for that hash, and each swarm ends with its own
    /// [`Event::Stopped`].
    pub fn stop(&mut self, now: Instant) {
        self.both(now, |s, ctx| s.stop(ctx, now));
    }

    /// As [`Announce::announce_tracker`](super::Announce::announce_tracker), for both hashes:
    /// returns the earlier of the two.
    pub fn announce_tracker(&mut self, now: Instant, tracker: TrackerId) -> Option<Instant> {
        let [a, b] = self.both(now, |s, ctx| s.announce_tracker(ctx, now, tracker));
        a.into_iter().chain(b).min()
    }

    /// As [`Announce::scrape_tracker`](super::Announce::scrape_tracker), for both hashes: `true`
    /// when either swarm's scrape started.
    pub fn scrape_tracker(&mut self, now: Instant, tracker: TrackerId) -> bool {
        let [a, b] = self.both(now, |s, ctx| s.scrape_tracker(ctx, now, tracker));
        a || b
    }

    /// As [`Announce::set_port`](super::Announce::set_port), for both swarms.
    pub fn set_port(&mut self, now: Instant, port: u16) -> Result<(), EditError> {
        let [a, b] = self.both(now, |s, ctx| s.set_port(ctx, now, port));
        a.and(b)
    }

    /// As [`Announce::set_num_want`](super::Announce::set_num_want), for both swarms.
    pub fn set_num_want(&mut self, num_want: u32) -> Result<(), EditError> {
        self.v1.set_num_want(num_want)?;
        self.v2.set_num_want(num_want)
    }

    /// As [`Announce::set_peer_id`](super::Announce::set_peer_id): both swarms send the new one.
    pub fn set_peer_id(&mut self, peer_id: PeerId) {
        self.v1.torrent.peer_id = peer_id;
        self.v2.torrent.peer_id = peer_id;
    }

    /// As [`Announce::set_partial_seed`](super::Announce::set_partial_seed) (BEP 21), for both.
    pub fn set_partial_seed(&mut self, partial_seed: bool) {
        self.v1.opts.partial_seed = partial_seed;
        self.v2.opts.partial_seed = partial_seed;
    }

    /// As [`Announce::pause`](super::Announce::pause), for both swarms.
    pub fn pause(&mut self, now: Instant) -> bool {
        let [a, b] = self.both(now, |s, ctx| s.pause(ctx, now));
        a || b
    }

    /// As [`Announce::resume`](super::Announce::resume), for both swarms.
    pub fn resume(&mut self, now: Instant) -> bool {
        let [a, b] = self.both(now, |s, ctx| s.resume(ctx, now));
        a || b
    }

    /// [`pause`](Self::pause) was called and [`resume`](Self::resume) not since.
    pub fn is_paused(&self) -> bool {
        self.v1.paused && self.v2.paused
    }

    // ----- drains -----

    /// As [`Announce::poll_dns_query`](super::Announce::poll_dns_query): one query per name for
    /// both swarms.
    #[must_use]
    pub fn poll_dns_query(&mut self) -> Option<DnsQuery> {
        self.ctx.dns.poll_query()
    }

    /// As [`Announce::poll_transmit`](super::Announce::poll_transmit); `origin` names the swarm's
    /// torrent (see [`swarm_of`](Self::swarm_of)).
    #[must_use]
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        let (ctx, v1, v2) = (&self.ctx, &mut self.v1, &mut self.v2);
        fill_transmit(buf, |buf| {
            v1.poll_transmit(ctx, buf)
                .or_else(|| v2.poll_transmit(ctx, buf))
        })
    }

    /// The next HTTP request to make; `origin` names the swarm's torrent.
    #[must_use]
    pub fn poll_http_request(&mut self) -> Option<HttpRequest> {
        self.v1
            .poll_http_request()
            .or_else(|| self.v2.poll_http_request())
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the earlier swarm's deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.v1
            .poll_timeout()
            .into_iter()
            .chain(self.v2.poll_timeout())
            .filter(|&t| !super::is_never(t))
            .min()
    }

    /// The next event and its swarm, oldest first (superseding as in
    /// [`Announce::poll_event`](super::Announce::poll_event), per swarm). An
    /// [`Event::Announced`] other than `stopped` also becomes its swarm's
    /// [`peers`](Self::peers).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<(Swarm, Event)> {
        let (torrent, event) = self.ctx.pop_event()?;
        let swarm = Self::swarm_of(torrent).unwrap_or(Swarm::V1);
        if let Event::Announced(a) = &event
            && a.event != AnnounceEvent::Stopped
        {
            self.peers.record(swarm, &a.peers);
        }
        Some((swarm, event))
    }

    // ----- getters -----

    /// The info hash a swarm announces.
    pub fn info_hash(&self, swarm: Swarm) -> InfoHash {
        match swarm {
            Swarm::V1 => self.v1.info_hash(),
            Swarm::V2 => self.v2.info_hash(),
        }
    }

    /// The URL of a tracker (the same in both swarms).
    pub fn tracker_url(&self, tracker: TrackerId) -> Option<&TrackerUrl> {
        self.v1.tracker_url(&self.ctx, tracker)
    }

    /// One swarm's tracker status, in tier order (as
    /// [`Announce::trackers`](super::Announce::trackers)).
    pub fn trackers(&self, swarm: Swarm) -> impl Iterator<Item = TrackerStatus<'_>> + '_ {
        let session = match swarm {
            Swarm::V1 => &self.v1,
            Swarm::V2 => &self.v2,
        };
        session.statuses(&self.ctx)
    }

    /// The latest peers of one swarm (from its latest `Announced` drained, `stopped` aside),
    /// sorted.
    pub fn peers(&self, swarm: Swarm) -> &[SocketAddr] {
        self.peers.peers(swarm)
    }

    /// Both swarms' latest peers merged: each address once, with the swarms that listed it.
    pub fn merged_peers(&self) -> MergedPeers<'_> {
        self.peers.merged()
    }

    /// The `key` both swarms send.
    pub fn key(&self) -> u32 {
        self.v1.key()
    }

    /// Both swarms' shutdown is over: each one's [`Event::Stopped`] is queued or drained.
    pub fn is_stopped(&self) -> bool {
        self.v1.is_stopped() && self.v2.is_stopped()
    }

    /// Outcomes replaced before they were drained (see
    /// [`Announce::events_superseded`](super::Announce::events_superseded)).
    pub fn events_superseded(&self) -> u64 {
        self.ctx.events.superseded()
    }

    /// DNS queries handed out so far (one per name for both swarms).
    pub fn dns_queries_made(&self) -> u64 {
        self.ctx.dns.queries_made()
    }
}

/// The swarm whose request `id` is (its owner slot: 0 for v1, 1 for v2).
fn request_swarm(id: RequestId) -> Option<Swarm> {
    HybridAnnounce::swarm_of(TorrentId(u64::from(owner_slot(id))))
}
