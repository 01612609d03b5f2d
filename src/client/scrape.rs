//! Batched scrapes: the torrents waiting to be scraped on one tracker URL go out together, up to 70
//! info hashes per UDP packet and [`Config::max_scrape_batch`](crate::announce::Config) per HTTP
//! multi-scrape (halved each time a tracker answers 414, 413 or 400). Scrapes requested within
//! [`Config::scrape_window`](crate::announce::Config) of each other, or while a batch to the same
//! URL is in flight, share the next batch. One batch per URL is in flight at a time.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use crate::announce::ctx::Ctx;
use crate::announce::dns::Lookup;
use crate::announce::http_exchange::HttpExchange;
use crate::announce::outcome::{Outcome, Retry, Step};
use crate::announce::policy::is_internal_tracker;
use crate::announce::schedule::later;
use crate::announce::session::fails_over;
use crate::announce::session::scraped_event;
use crate::announce::tracker::Io;
use crate::announce::udp_exchange::UdpExchange;
use crate::announce::{
    Cause, Event, Failed, HttpRequest, Origin, RequestId, RequestKind, TorrentId, TrackerId,
    Transmit, TransportError,
};
use crate::http::{HttpResponse, scrape_request, scrape_tracker_url};
use crate::udp::Reply;
use crate::{AddressFamily, InfoHash, Scheme, TrackerUrl};

/// The tag of the batches' requests in the shared route tables.
pub(crate) const BATCHES: TorrentId = TorrentId(u64::MAX);

/// Most info hashes in one UDP scrape (BEP 15 allows 74 in a packet; 70 is aquatic's default).
pub const MAX_UDP_SCRAPE_BATCH: usize = 70;

/// One torrent waiting for, or in, a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub(crate) torrent: TorrentId,
    pub(crate) tracker: TrackerId,
    pub(crate) hash: InfoHash,
}

/// The scrapes of one tracker URL.
#[derive(Debug)]
struct Queue {
    waiting: VecDeque<Member>,
    queued: HashSet<TorrentId>,
    /// The next batch starts at this time (set by the first scrape of a window).
    flush_at: Option<Instant>,
    batch: Option<Batch>,
    /// Info hashes per HTTP batch, halved when the tracker refuses a long URL.
    http_limit: usize,
    /// The tracker's scrape URL (BEP 48) for an HTTP tracker; `None` for a UDP one.
    http_scrape: Option<TrackerUrl>,
}

#[derive(Debug)]
struct Batch {
    id: RequestId,
    members: Vec<Member>,
    hashes: Vec<InfoHash>,
    io: Io,
}

impl Batch {
    fn origin(&self) -> Origin {
        Origin::ScrapeBatch {
            members: u16::try_from(self.members.len()).unwrap_or(u16::MAX),
        }
    }
}

/// Every URL's scrapes. The number of entries is the number of tracker URLs being scraped, not the
/// number of torrents; ordered, so batches go out in the same order on every run of a seed.
#[derive(Debug, Default)]
pub(crate) struct Scrapes {
    queues: BTreeMap<u32, Queue>,
}

impl Scrapes {
    /// Queues a scrape of `member` on URL `url`. Returns `false` (and queues nothing) when the URL
    /// has no scrape counterpart (an HTTP announce URL whose last segment is not `announce`).
    pub(crate) fn request(
        &mut self,
        ctx: &mut Ctx,
        url: u32,
        member: Member,
        now: Instant,
    ) -> bool {
        let tracker = ctx.endpoints.url(url);
        let http_scrape = match tracker.scheme() {
            Scheme::Udp => None,
            Scheme::Http | Scheme::Https => match scrape_tracker_url(tracker) {
                Some(scrape) => Some(scrape),
                None => return false,
            },
        };
        let queue = self.queues.entry(url).or_insert_with(|| {
            ctx.endpoints.acquire(url);
            Queue {
                waiting: VecDeque::new(),
                queued: HashSet::new(),
                flush_at: None,
                batch: None,
                http_limit: ctx.cfg.max_scrape_batch,
                http_scrape,
            }
        });
        if queue.queued.insert(member.torrent) {
            queue.waiting.push_back(member);
        }
        if queue.batch.is_none() && queue.flush_at.is_none() {
            queue.flush_at = Some(later(now, ctx.cfg.scrape_window));
        }
        true
    }

    /// The earliest batch timer (a window closing, a retransmission, a deadline).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.queues.is_empty() {
            return None;
        }
        self.queues
            .values()
            .filter_map(|q| match &q.batch {
                Some(b) => b.io.due(),
                None => q.flush_at,
            })
            .min()
    }

    /// Fires the batch timers due at `now`; `alive` says whether a torrent still wants results.
    pub(crate) fn handle_timeout(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        alive: &dyn Fn(TorrentId) -> bool,
    ) {
        if self.queues.is_empty() {
            return;
        }
        let urls: Vec<u32> = self.queues.keys().copied().collect();
        for url in urls {
            let Some(queue) = self.queues.get_mut(&url) else {
                continue;
            };
            let outcome = match &mut queue.batch {
                Some(batch) => match &mut batch.io {
                    Io::Resolving(_) => resolve_batch(ctx, url, batch, now),
                    // A batch is built at once: it waits in its exchange's own place.
                    Io::Queued(_) => None,
                    Io::Udp(udp) => {
                        let ep = ctx.endpoints.endpoint(url);
                        udp.check_window(now, &ctx.cfg, ep);
                        udp.poke(now, &ctx.cfg, ep);
                        udp.on_timer(now, &ctx.cfg, ep)
                    }
                    Io::Http(http) => http
                        .resolve_hop(&mut ctx.dns, &ctx.cfg.dns, (BATCHES, None), now)
                        .or_else(|| {
                            let ep = ctx.endpoints.endpoint(url);
                            http.on_timer(now, &ctx.cfg, ep, &mut ctx.http_all)
                        }),
                },
                None => None,
            };
            refresh_txid(ctx, queue);
            match outcome {
                Some(outcome) => self.finish(ctx, url, outcome, now, alive),
                None => self.start_if_due(ctx, url, now, alive),
            }
        }
    }

    /// A datagram whose transaction id belongs to a batch.
    pub(crate) fn handle_datagram(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        txid: u32,
        alive: &dyn Fn(TorrentId) -> bool,
    ) -> bool {
        let found = self.queues.iter().find_map(|(&url, q)| match &q.batch {
            Some(Batch { io: Io::Udp(u), .. })
                if u.txid == txid && !u.needs_txid && u.sent_from(from) =>
            {
                Some(url)
            }
            _ => None,
        });
        let Some(url) = found else { return false };
        let Some(queue) = self.queues.get_mut(&url) else {
            return false;
        };
        let Some(Batch {
            io: Io::Udp(udp), ..
        }) = &mut queue.batch
        else {
            return false;
        };
        let reply = Reply::parse(datagram, AddressFamily::of(&from));
        let ep = ctx.endpoints.endpoint(url);
        let step = udp.on_reply(
            now,
            &ctx.cfg,
            reply,
            RequestKind::Scrape,
            ep,
            &mut ctx.woken,
        );
        refresh_txid(ctx, queue);
        self.apply(ctx, url, step, now, alive)
    }

    /// The caller's response to a batch's HTTP request.
    pub(crate) fn handle_http_response(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        id: RequestId,
        response: &HttpResponse<'_>,
        alive: &dyn Fn(TorrentId) -> bool,
    ) -> bool {
        let Some(url) = self.find(|b| matches!(&b.io, Io::Http(h) if h.id == id)) else {
            return false;
        };
        let Some(Some(batch)) = self.queues.get_mut(&url).map(|q| &mut q.batch) else {
            return false;
        };
        let Io::Http(http) = &mut batch.io else {
            return false;
        };
        let mut step = http.on_response(&ctx.cfg, response, RequestKind::Scrape, &batch.hashes);
        if let Step::Continue = step {
            http.id = ctx.request_id(BATCHES);
            let hop = http.resolve_hop(&mut ctx.dns, &ctx.cfg.dns, (BATCHES, None), now);
            if let Some(outcome) = hop {
                step = Step::Done(outcome);
            }
        }
        self.apply(ctx, url, step, now, alive)
    }

    /// The caller could not carry out a batch's request.
    pub(crate) fn handle_transport_error(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        id: RequestId,
        error: TransportError,
        alive: &dyn Fn(TorrentId) -> bool,
    ) -> bool {
        let Some(url) = self.find(|b| b.io.current_id(b.id) == id) else {
            return false;
        };
        if fails_over(error)
            && let Some(Some(batch)) = self.queues.get_mut(&url).map(|q| &mut q.batch)
        {
            let moved = match &mut batch.io {
                Io::Udp(u) => {
                    let ep = ctx.endpoints.endpoint(url);
                    ep.abandon_connect(u.request(), &mut ctx.woken);
                    let moved = u.fail_over(now, &ctx.cfg, ep);
                    ctx.refresh_txid(u, BATCHES);
                    moved
                }
                Io::Http(h) => {
                    let moved = h.fail_over();
                    if moved {
                        h.id = ctx.request_id(BATCHES);
                    }
                    moved
                }
                Io::Resolving(_) | Io::Queued(_) => false,
            };
            if moved {
                return true;
            }
        }
        let outcome = Outcome::failed(Cause::Transport(error));
        self.apply(ctx, url, Step::Done(outcome), now, alive)
    }

    /// The next batch datagram.
    pub(crate) fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        if self.queues.is_empty() {
            return None;
        }
        for queue in self.queues.values_mut() {
            let Some(batch) = &mut queue.batch else {
                continue;
            };
            let origin = batch.origin();
            let Io::Udp(udp) = &mut batch.io else {
                continue;
            };
            if let Some(len) = udp.write_scrape(buf, &batch.hashes) {
                return Some(Transmit {
                    request: batch.id,
                    origin,
                    destination: udp.destination(),
                    len,
                });
            }
        }
        None
    }

    /// The next batch HTTP request.
    pub(crate) fn poll_http_request(&mut self) -> Option<HttpRequest> {
        if self.queues.is_empty() {
            return None;
        }
        self.queues.values_mut().find_map(|queue| {
            let batch = queue.batch.as_mut()?;
            let origin = batch.origin();
            match &mut batch.io {
                Io::Http(http) => http.request(origin, RequestKind::Scrape),
                Io::Udp(_) | Io::Resolving(_) | Io::Queued(_) => None,
            }
        })
    }

    /// The URL a batch request goes to.
    pub(crate) fn url_of(&self, id: RequestId) -> Option<u32> {
        self.find(|b| b.io.current_id(b.id) == id)
    }

    /// A torrent's tracker on URL `url` was removed from its list: its scrape waiting or in flight
    /// there ends in a [`Cause::Cancelled`] failure, and a reply no longer reaches it.
    pub(crate) fn drop_member(
        &mut self,
        ctx: &mut Ctx,
        url: u32,
        torrent: TorrentId,
        tracker: TrackerId,
    ) {
        let Some(queue) = self.queues.get_mut(&url) else {
            return;
        };
        let cancelled = |id| {
            Event::Failed(Failed {
                id,
                tracker,
                request: RequestKind::Scrape,
                cause: Cause::Cancelled,
            })
        };
        if queue.queued.remove(&torrent) {
            queue.waiting.retain(|m| m.torrent != torrent);
            let id = ctx.request_id(torrent);
            ctx.push_event(torrent, cancelled(id));
        }
        if let Some(batch) = &mut queue.batch {
            let id = batch.io.current_id(batch.id);
            for m in &mut batch.members {
                if m.torrent == torrent && m.tracker == tracker {
                    m.torrent = BATCHES; // never alive: its row is skipped
                    ctx.push_event(torrent, cancelled(id));
                }
            }
        }
    }

    /// Cancels the batches in flight none of whose members still wants the result (all were
    /// removed), giving back what they hold, so nothing but `stopped` goes out after `stop()`.
    pub(crate) fn drop_orphans(&mut self, ctx: &mut Ctx, alive: &dyn Fn(TorrentId) -> bool) {
        let orphans: Vec<u32> = self
            .queues
            .iter()
            .filter(|(_, q)| {
                q.batch
                    .as_ref()
                    .is_some_and(|b| !b.members.iter().any(|m| alive(m.torrent)))
            })
            .map(|(&url, _)| url)
            .collect();
        for url in orphans {
            let Some(queue) = self.queues.get_mut(&url) else {
                continue;
            };
            if let Some(batch) = queue.batch.take() {
                ctx.forget(url, &batch.io);
            }
            queue.waiting.retain(|m| alive(m.torrent));
            queue.queued.retain(|&t| alive(t));
            if queue.waiting.is_empty() {
                self.queues.remove(&url);
                ctx.endpoints.release(url);
            }
        }
    }

    /// The members of the batch request `id` is, while it is in flight.
    pub(crate) fn members_of(&self, id: RequestId) -> Option<&[Member]> {
        let url = self.url_of(id)?;
        Some(&self.queues.get(&url)?.batch.as_ref()?.members)
    }

    // ----- internals -----

    fn find(&self, pred: impl Fn(&Batch) -> bool) -> Option<u32> {
        self.queues
            .iter()
            .find_map(|(&url, q)| q.batch.as_ref().filter(|b| pred(b)).map(|_| url))
    }

    fn apply(
        &mut self,
        ctx: &mut Ctx,
        url: u32,
        step: Step,
        now: Instant,
        alive: &dyn Fn(TorrentId) -> bool,
    ) -> bool {
        match step {
            Step::Ignored => false,
            Step::Continue => true,
            Step::Done(outcome) => {
                self.finish(ctx, url, outcome, now, alive);
                true
            }
        }
    }

    /// Starts the next batch of URL `url` when its window closed and none is in flight.
    fn start_if_due(
        &mut self,
        ctx: &mut Ctx,
        url: u32,
        now: Instant,
        alive: &dyn Fn(TorrentId) -> bool,
    ) {
        let Some(queue) = self.queues.get_mut(&url) else {
            return;
        };
        if queue.batch.is_some() || queue.flush_at.is_none_or(|at| at > now) {
            return;
        }
        queue.flush_at = None;
        let udp = queue.http_scrape.is_none();
        let limit = if udp {
            MAX_UDP_SCRAPE_BATCH.min(ctx.cfg.max_scrape_batch)
        } else {
            queue.http_limit
        };
        let mut members = Vec::new();
        while members.len() < limit
            && let Some(m) = queue.waiting.pop_front()
        {
            queue.queued.remove(&m.torrent);
            if alive(m.torrent) {
                members.push(m);
            }
        }
        if members.is_empty() {
            if queue.waiting.is_empty() {
                self.queues.remove(&url);
                ctx.endpoints.release(url);
            }
            return;
        }
        let hashes: Vec<InfoHash> = members.iter().map(|m| m.hash).collect();
        let id = ctx.request_id(BATCHES);
        let mut batch = Batch {
            id,
            members,
            hashes,
            io: Io::Resolving(now),
        };
        let failed = resolve_batch(ctx, url, &mut batch, now);
        queue.batch = Some(batch);
        if let Some(outcome) = failed {
            self.finish(ctx, url, outcome, now, alive);
        }
    }

    /// Ends the batch in flight on URL `url`: one event per member, then the next batch.
    fn finish(
        &mut self,
        ctx: &mut Ctx,
        url: u32,
        outcome: Outcome,
        now: Instant,
        alive: &dyn Fn(TorrentId) -> bool,
    ) {
        let Some(queue) = self.queues.get_mut(&url) else {
            return;
        };
        let Some(batch) = queue.batch.take() else {
            return;
        };
        ctx.forget(url, &batch.io);
        // Events name the request the caller holds: the hop in flight after a redirect.
        let id = batch.io.current_id(batch.id);
        match outcome {
            Outcome::Scraped(rows) => {
                for (k, m) in batch.members.iter().enumerate() {
                    if alive(m.torrent) {
                        let row = rows.get(k).copied().unwrap_or_default();
                        ctx.batch_scraped.push((m.torrent, m.tracker, row));
                        ctx.push_event(m.torrent, scraped_event(id, m.tracker, row));
                    }
                }
            }
            Outcome::Failed {
                cause: Cause::HttpStatus(414 | 413 | 400),
                ..
            } if batch.members.len() > 1 && matches!(batch.io, Io::Http(_)) => {
                // The URL was too long for this tracker: try again with half as many.
                queue.http_limit = (batch.members.len() / 2).max(1);
                for m in batch.members.into_iter().rev() {
                    if queue.queued.insert(m.torrent) {
                        queue.waiting.push_front(m);
                    }
                }
            }
            Outcome::Failed { cause, retry } => {
                for m in &batch.members {
                    if alive(m.torrent) {
                        if retry == Retry::Never {
                            // HTTP 410 or `retry in: never`: the tracker is disabled for every
                            // member, as for a torrent's own scrape.
                            ctx.batch_disabled.push((m.torrent, m.tracker));
                        }
                        let event = Event::Failed(Failed {
                            id,
                            tracker: m.tracker,
                            request: RequestKind::Scrape,
                            cause: cause.clone(),
                        });
                        ctx.push_event(m.torrent, event);
                    }
                }
            }
            Outcome::Announced(_) => {}
        }
        queue.flush_at = Some(now);
        self.start_if_due(ctx, url, now, alive);
    }
}

/// Gives the batch's UDP exchange a fresh transaction id when it started a new request.
fn refresh_txid(ctx: &mut Ctx, queue: &mut Queue) {
    if let Some(Batch { io: Io::Udp(u), .. }) = &mut queue.batch {
        ctx.refresh_txid(u, BATCHES);
    }
}

/// A batch waiting for its tracker's addresses: it starts once they are known (its pacer slot
/// reserved then), waits on, or ends with the failure.
fn resolve_batch(ctx: &mut Ctx, url: u32, batch: &mut Batch, now: Instant) -> Option<Outcome> {
    let tracker = ctx.endpoints.url(url);
    let addrs = match ctx
        .dns
        .addresses(&ctx.cfg.dns, tracker, BATCHES, now, false, None)
    {
        Lookup::Ready(addrs) => addrs,
        Lookup::Wait(deadline) => {
            batch.io = Io::Resolving(deadline);
            return None;
        }
        Lookup::Failed(f) => return Some(Outcome::failed(Cause::Dns(f))),
    };
    let internal_ok = ctx.cfg.allow_internal_redirects || is_internal_tracker(tracker);
    let http_scrape = match tracker.scheme() {
        Scheme::Udp => None,
        Scheme::Http | Scheme::Https => scrape_tracker_url(tracker),
    };
    batch.io = match http_scrape {
        None => {
            let txid = ctx.unique_txid();
            ctx.txids.insert(txid, BATCHES);
            let ep = ctx.endpoints.endpoint(url);
            Io::Udp(Box::new(UdpExchange::start(
                now,
                &ctx.cfg,
                ep,
                (BATCHES, batch.id),
                (RequestKind::Scrape, false),
                txid,
                addrs,
            )))
        }
        Some(scrape) => {
            let request_url = scrape_request(&scrape, &batch.hashes);
            let ep = ctx.endpoints.endpoint(url);
            Io::Http(Box::new(HttpExchange::start(
                batch.id,
                request_url,
                (now, &ctx.cfg, ep, &mut ctx.http_all),
                (false, BATCHES),
                ctx.cfg.http_timeout,
                internal_ok,
                addrs,
            )))
        }
    };
    None
}
