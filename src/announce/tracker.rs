//! Per-tracker state (event state, cool-down, connection id, exchanges in flight) and the lanes
//! that walk the tiers.

use std::ops::Range;
use std::time::Instant;

use super::dns::Addrs;
use super::event::{RequestId, RequestKind, TransportError};
use super::http_exchange::HttpExchange;
use super::places::Ticket;
use super::status::Record;
use super::udp_exchange::{UdpExchange, UdpPhase};
use crate::{AddressFamily, AnnounceEvent};

/// One tracker of the torrent. The URL, connection id and window live in the shared endpoint table;
/// exchanges are boxed so an idle tracker holds no room for them, and so is what few trackers
/// ever hold ([`Rare`]). A `Client` holds one per tracker per torrent, so every byte here counts
/// (tests/client_footprint.rs).
#[derive(Debug)]
pub(crate) struct Tracker {
    /// Its URL's index in the endpoint table.
    pub(crate) url: u32,
    /// The tier it belongs to.
    pub(crate) tier: usize,
    /// It acknowledged `started` (and has not acknowledged `stopped` since).
    pub(crate) started: bool,
    /// A `started` left this client (the datagram was written or the HTTP request handed out) and
    /// no `stopped` was acknowledged since: the tracker may list this peer, answered or not.
    pub(crate) started_sent: bool,
    /// It owes a `completed`.
    pub(crate) completed_pending: bool,
    /// HTTP 410 or `retry in: never`: never contacted again.
    pub(crate) disabled: bool,
    /// No announce without an event before this time (`min interval`).
    pub(crate) min_next: Option<Instant>,
    /// The announce in flight (regular or `stopped`).
    pub(crate) announce: Option<Box<Exchange>>,
    /// The scrape in flight.
    pub(crate) scrape: Option<Box<Exchange>>,
    /// What its status shows.
    pub(crate) record: Record,
    /// What few trackers hold (none while all of it is unset).
    rare: Option<Box<Rare>>,
    /// It was removed from the torrent's list: it is in no tier, only its `stopped` may still be in
    /// flight, and its slot (and id) is reused by a tracker added once it holds no exchange.
    pub(crate) removed: bool,
    /// The one address family it is announced over (`None`: any; see `Config::families`).
    pub(crate) family: Option<AddressFamily>,
}

impl Tracker {
    pub(crate) fn new(url: u32, tier: usize) -> Self {
        Tracker {
            url,
            tier,
            started: false,
            started_sent: false,
            completed_pending: false,
            disabled: false,
            min_next: None,
            announce: None,
            scrape: None,
            record: Record::default(),
            rare: None,
            removed: false,
            family: None,
        }
    }

    /// The `tracker id` to echo.
    #[inline]
    pub(crate) fn tracker_id(&self) -> Option<&[u8]> {
        self.rare.as_ref()?.tracker_id.as_deref()
    }

    #[inline]
    pub(crate) fn set_tracker_id(&mut self, id: Box<[u8]>) {
        self.rare_mut(|r| r.tracker_id = Some(id));
    }

    /// Not contacted before this time (after a failure that said when).
    #[inline]
    pub(crate) fn retry_after(&self) -> Option<Instant> {
        self.rare.as_ref()?.retry_after
    }

    #[inline]
    pub(crate) fn set_retry_after(&mut self, at: Option<Instant>) {
        if at.is_some() || self.rare.is_some() {
            self.rare_mut(|r| r.retry_after = at);
        }
    }

    /// An announce to it alone was asked for ([`Announce::announce_tracker`]) and goes out at this
    /// time (its `min interval` or `retry in` held it back).
    ///
    /// [`Announce::announce_tracker`]: super::Announce::announce_tracker
    #[inline]
    pub(crate) fn forced(&self) -> Option<Instant> {
        self.rare.as_ref()?.forced
    }

    #[inline]
    pub(crate) fn set_forced(&mut self, at: Option<Instant>) {
        if at.is_some() || self.rare.is_some() {
            self.rare_mut(|r| r.forced = at);
        }
    }

    /// The next scrape of [`Config::scrape_interval`](super::Config::scrape_interval)'s schedule
    /// (off by default).
    #[inline]
    pub(crate) fn scrape_due(&self) -> Option<Instant> {
        self.rare.as_ref()?.scrape_due
    }

    #[inline]
    pub(crate) fn set_scrape_due(&mut self, at: Option<Instant>) {
        if at.is_some() || self.rare.is_some() {
            self.rare_mut(|r| r.scrape_due = at);
        }
    }

    /// No scrape before this time (BEP 48 `flags.min_request_interval`).
    #[inline]
    pub(crate) fn scrape_not_before(&self) -> Option<Instant> {
        self.rare.as_ref()?.scrape_not_before
    }

    #[inline]
    pub(crate) fn set_scrape_not_before(&mut self, at: Option<Instant>) {
        if at.is_some() || self.rare.is_some() {
            self.rare_mut(|r| r.scrape_not_before = at);
        }
    }

    /// Changes the rare state, boxed on first use and freed once all of it is unset again.
    fn rare_mut(&mut self, change: impl FnOnce(&mut Rare)) {
        let rare = self.rare.get_or_insert_with(Box::default);
        change(rare);
        if **rare == Rare::default() {
            self.rare = None;
        }
    }

    /// The event the next announce carries: `started` until one was acknowledged, then a pending
    /// `completed`, then none.
    pub(crate) fn next_event(&self) -> AnnounceEvent {
        if !self.started {
            AnnounceEvent::Started
        } else if self.completed_pending {
            AnnounceEvent::Completed
        } else {
            AnnounceEvent::Regular
        }
    }

    /// Shutdown owes it a `stopped`: it was sent `started` (acknowledged or not) and is not
    /// disabled. A tracker that was never sent an announce gets nothing.
    pub(crate) fn owes_stopped(&self) -> bool {
        (self.started || self.started_sent) && !self.disabled
    }

    /// It may start a regular announce now.
    pub(crate) fn available(&self, now: Instant) -> bool {
        self.may_contact(now) && self.announce.is_none()
    }

    /// It may be contacted now: it is listed, not disabled, and not cooling down after a `retry in`.
    pub(crate) fn may_contact(&self, now: Instant) -> bool {
        !self.removed && !self.disabled && self.retry_after().is_none_or(|t| t <= now)
    }

    /// The exchange slot for a request kind.
    pub(crate) fn slot(&mut self, kind: RequestKind) -> &mut Option<Box<Exchange>> {
        match kind {
            RequestKind::Announce(_) => &mut self.announce,
            RequestKind::Scrape => &mut self.scrape,
        }
    }

    /// The exchanges in flight (announce first). Two options chained: cheaper to walk than an
    /// array of slots flattened, and every input and drain walks them.
    pub(crate) fn exchanges(&self) -> impl Iterator<Item = &Exchange> {
        let scrape = self.scrape.as_deref();
        self.announce.as_deref().into_iter().chain(scrape)
    }

    /// The exchanges in flight, mutably.
    pub(crate) fn exchanges_mut(&mut self) -> impl Iterator<Item = &mut Exchange> {
        let scrape = self.scrape.as_deref_mut();
        self.announce.as_deref_mut().into_iter().chain(scrape)
    }
}

/// What few trackers hold: a `tracker id` (some HTTP trackers), a `retry in` cool-down (after a
/// failure that said when), an announce held back for `announce_tracker`, and the scrape
/// schedule (`Config::scrape_interval`, off by default) with BEP 48's hold.
#[derive(Debug, Default, PartialEq, Eq)]
struct Rare {
    tracker_id: Option<Box<[u8]>>,
    retry_after: Option<Instant>,
    forced: Option<Instant>,
    scrape_due: Option<Instant>,
    scrape_not_before: Option<Instant>,
}

/// One request kind per exchange slot, to visit both slots by index.
pub(crate) const SLOTS: [RequestKind; 2] = [
    RequestKind::Announce(AnnounceEvent::Regular),
    RequestKind::Scrape,
];

/// A request in flight.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The id handed out with the first datagram or request.
    pub(crate) id: RequestId,
    pub(crate) kind: RequestKind,
    /// The lane whose walk started it (`None` for scrapes and `stopped`).
    pub(crate) lane: Option<usize>,
    pub(crate) io: Io,
    /// Its send made the tracker owe a `stopped` (it was the first `started` to go out).
    pub(crate) owes_from_here: bool,
}

/// The transport state of an exchange.
#[derive(Debug)]
pub(crate) enum Io {
    /// Waiting for the tracker's host name to resolve (one query per name is in flight for the
    /// whole machine); gives up at this time. Nothing was sent yet.
    Resolving(Instant),
    /// Waiting for a place in its endpoint's window. Nothing is built or sent until the window
    /// admits it: a start-up backlog of thousands (and every torrent's `stopped` at shutdown)
    /// holds this small record each, not a whole exchange with its request URL.
    Queued(Queued),
    /// Boxed, so that a queued or resolving exchange holds no room for them.
    Udp(Box<UdpExchange>),
    Http(Box<HttpExchange>),
}

/// An exchange waiting in its endpoint's queue: what it was given when it asked for its place,
/// for building it once admitted ([`Session::take_place`](super::session::Session)).
#[derive(Debug)]
pub(crate) struct Queued {
    /// Its ticket in the endpoint's queue.
    pub(crate) ticket: Ticket,
    /// It asked for its place ahead of regular exchanges.
    pub(crate) urgent: bool,
    /// UDP: the transaction id drawn for it (already routed to its torrent), and whether it starts
    /// with a connect or the request (decided when it asked, as a built exchange would have).
    pub(crate) udp: Option<(u32, UdpPhase)>,
    /// The tracker's addresses.
    pub(crate) addrs: Addrs,
}

impl Io {
    /// The id the caller knows the request in flight by: `first` for UDP, the hop's own id for HTTP
    /// (each redirect hop gets one).
    pub(crate) fn current_id(&self, first: RequestId) -> RequestId {
        match self {
            Io::Resolving(_) | Io::Queued(_) | Io::Udp(_) => first,
            Io::Http(h) => h.id,
        }
    }

    /// The transaction id routed to it: a UDP exchange's, built or queued.
    pub(crate) fn txid(&self) -> Option<u32> {
        match self {
            Io::Udp(u) => Some(u.txid),
            Io::Queued(q) => q.udp.map(|(txid, _)| txid),
            Io::Resolving(_) | Io::Http(_) => None,
        }
    }

    /// When its timer fires (UDP send or retransmission or timeout, HTTP rate ceiling or
    /// deadline); `None` while it waits for a place in its endpoint's window.
    pub(crate) fn due(&self) -> Option<Instant> {
        match self {
            Io::Resolving(deadline) => Some(*deadline),
            Io::Queued(_) => None,
            Io::Udp(u) => u.due(),
            Io::Http(h) => h.due(),
        }
    }

    /// It waits for a place in its endpoint's window.
    pub(crate) fn queued(&self) -> bool {
        match self {
            Io::Resolving(_) => false,
            Io::Queued(_) => true,
            Io::Udp(u) => u.queued(),
            Io::Http(h) => h.queued(),
        }
    }
}

impl Exchange {
    /// A transport error this early proves that nothing it sent reached the tracker: the caller
    /// could not resolve, connect or was refused on the only send (a UDP announce datagram sent
    /// once, or the first HTTP hop).
    pub(crate) fn never_delivered(&self, error: TransportError) -> bool {
        let undelivered = matches!(
            error,
            TransportError::Dns
                | TransportError::ConnectionRefused
                | TransportError::InternalAddress
        );
        undelivered
            && match &self.io {
                Io::Resolving(_) | Io::Queued(_) => true,
                Io::Udp(u) => u.sent_one_request_last(),
                Io::Http(h) => h.first_hop(),
            }
    }

    /// When its first datagram or HTTP request may go out under the rate ceiling, while it
    /// waits for that.
    pub(crate) fn paced_until(&self) -> Option<Instant> {
        match &self.io {
            Io::Resolving(_) | Io::Queued(_) => None,
            Io::Udp(u) => (u.held && !u.queued()).then_some(u.due),
            Io::Http(h) => h.hold,
        }
    }

    /// When its timer fires; `None` while it waits for a place in its endpoint's window.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.io.due()
    }

    /// The id the caller knows the request in flight by (an HTTP redirect hop has its own).
    pub(crate) fn current_id(&self) -> RequestId {
        self.io.current_id(self.id)
    }
}

/// A sequence of trackers announced to one at a time: all tiers (BEP 12), one tier, or one tracker,
/// depending on the tier mode.
#[derive(Debug)]
pub(crate) struct Lane {
    pub(crate) members: Members,
    pub(crate) state: LaneState,
    /// Consecutive rounds in which no tracker of the lane answered.
    pub(crate) failures: u32,
}

/// Who a lane walks.
#[derive(Debug, Clone)]
pub(crate) enum Members {
    /// These tiers in order, each in its current order.
    Tiers(Range<usize>),
    /// This tracker alone.
    One(usize),
}

/// Where a lane is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LaneState {
    /// The next round starts at `due`.
    Idle { due: Instant },
    /// A round is in flight at position `pos` of the walk.
    Busy { pos: usize },
    /// Every tracker of the lane is disabled, or the machine is stopping.
    Dead,
}

/// The trackers a lane walks, in order.
pub(crate) fn walk<'a>(
    members: &Members,
    tiers: &'a [Vec<usize>],
) -> impl Iterator<Item = usize> + 'a {
    let (range, one) = match members {
        Members::Tiers(r) => (r.clone(), None),
        Members::One(i) => (0..0, Some(*i)),
    };
    tiers
        .get(range)
        .unwrap_or_default()
        .iter()
        .flatten()
        .copied()
        .chain(one)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_origin::test_origin;
    use std::time::Duration;

    #[test]
    fn rare_state_is_boxed_only_while_some_of_it_is_set() {
        let now = test_origin();
        let mut t = Tracker::new(0, 0);
        t.set_forced(None);
        t.set_retry_after(None);
        assert!(
            t.rare.is_none(),
            "unsetting what is unset allocates nothing"
        );
        t.set_retry_after(Some(now));
        t.set_forced(Some(now + Duration::from_secs(1)));
        t.set_tracker_id(b"abc"[..].into());
        assert_eq!(t.retry_after(), Some(now));
        assert_eq!(t.forced(), Some(now + Duration::from_secs(1)));
        assert_eq!(t.tracker_id(), Some(&b"abc"[..]));
        t.set_retry_after(None);
        t.set_forced(None);
        assert!(t.rare.is_some(), "the tracker id is still held");
        t.set_scrape_due(Some(now));
        assert_eq!((t.scrape_due(), t.scrape_not_before()), (Some(now), None));
        let mut u = Tracker::new(0, 0);
        u.set_scrape_not_before(Some(now));
        u.set_scrape_not_before(None);
        assert!(u.rare.is_none(), "freed once all of it is unset");
    }
}
