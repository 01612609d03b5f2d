//! What every torrent of one machine shares per tracker: the URL (interned, so a tracker used by
//! 100,000 torrents is stored once) and, per endpoint (transport, host, port), the pacer that
//! bounds the request rate and, per address the host resolved to, the UDP connection id and the
//! connect in flight that other requests join.
//!
//! The pacer admits each exchange once: its first datagram or HTTP request waits for a slot, and
//! what follows (the request after a connect reply, retransmissions, redirects) runs on the
//! exchange's own clock, so an admitted exchange never queues behind exchanges not yet admitted.
//! Urgent exchanges (`stopped`, `completed`) are admitted on a clock of their own, ahead of a
//! start-up backlog, and push later regular slots back by as much. An exchange dropped before its
//! slot came (cancelled by `stop` or `remove`) gives the slot back.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::config::Config;
use super::dns::MAX_DNS_ADDRESSES;
use super::event::{RequestId, TorrentId};
use super::schedule::later;
use crate::{Scheme, TrackerUrl};

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
}

/// One tracker endpoint (transport, host, port): requests to it share a rate and, per address the
/// host resolved to, a connection id.
#[derive(Debug, Default)]
pub(crate) struct Endpoint {
    /// A connection id per resolved address (at most [`MAX_DNS_ADDRESSES`], the oldest dropped):
    /// BEP 15 ids belong to the host that gave them, and a multi-homed tracker's addresses may be
    /// different machines.
    conns: Vec<(SocketAddr, ConnectionId)>,
    /// A connect was sent to this address by this request of this torrent and is awaited until
    /// this time; other torrents' requests to the same address join it.
    connecting: Option<(Instant, RequestId, TorrentId, SocketAddr)>,
    /// The torrents with a request waiting for that connect (ordered, so they wake in the same
    /// order on every run of a seed).
    waiters: BTreeSet<TorrentId>,
    /// GCRA's theoretical arrival time of regular exchanges: the pacer is idle when it is in the
    /// past.
    tat: Option<Instant>,
    /// The same for urgent exchanges (`stopped`, `completed`).
    tat_urgent: Option<Instant>,
}

impl Endpoint {
    /// The valid connection id for `addr`, if any.
    pub(crate) fn conn(&self, now: Instant, addr: SocketAddr) -> Option<u64> {
        self.conns
            .iter()
            .find(|(a, _)| *a == addr)
            .and_then(|(_, c)| c.valid(now))
    }

    /// A connect reply from `addr` arrived: every request of every torrent to that address uses
    /// this id until it expires. Returns the torrents that were waiting for it.
    pub(crate) fn connected(
        &mut self,
        id: u64,
        addr: SocketAddr,
        now: Instant,
        cfg: &Config,
    ) -> impl Iterator<Item = TorrentId> + '_ {
        let conn = ConnectionId(Some((id, later(now, cfg.connection_id_lifetime))));
        self.conns
            .retain(|(a, c)| *a != addr && c.valid(now).is_some());
        if self.conns.len() >= MAX_DNS_ADDRESSES {
            self.conns.remove(0);
        }
        // Grown one at a time: most trackers have one address, and 100,000 torrents' endpoints
        // should not each hold room for four.
        self.conns.reserve_exact(1);
        self.conns.push((addr, conn));
        self.connecting = None;
        std::mem::take(&mut self.waiters).into_iter()
    }

    /// An error reply from `addr`: its id is dropped for every torrent (opentracker answers a
    /// stale id with "Connection ID missmatch").
    /// The requests that joined a connect wake up and connect themselves.
    pub(crate) fn drop_connection(&mut self, addr: SocketAddr, woken: &mut Vec<TorrentId>) {
        self.conns.retain(|(a, _)| *a != addr);
        self.connecting = None;
        woken.extend(std::mem::take(&mut self.waiters));
    }

    /// Another torrent's connect to `addr` is in flight: join it instead of sending one. (Within
    /// one torrent each request connects for itself, as BEP 15 describes; sharing pays off across
    /// torrents.)
    pub(crate) fn join_connect(
        &mut self,
        now: Instant,
        torrent: TorrentId,
        addr: SocketAddr,
    ) -> bool {
        let joined = self
            .connecting
            .is_some_and(|(until, _, leader, to)| until > now && leader != torrent && to == addr);
        if joined {
            self.waiters.insert(torrent);
        }
        joined
    }

    /// Until when a connect to `addr` sent by another request of `torrent` is awaited, if one is
    /// in flight.
    pub(crate) fn own_connect(
        &self,
        now: Instant,
        torrent: TorrentId,
        me: RequestId,
        addr: SocketAddr,
    ) -> Option<Instant> {
        self.connecting
            .filter(|&(until, leader, owner, to)| {
                until > now && owner == torrent && leader != me && to == addr
            })
            .map(|(until, ..)| until)
    }

    /// A connect goes out to `addr` for request `leader` and is awaited until `until`.
    /// (A connect already in flight keeps its leader: the requests that joined it wait for it.)
    pub(crate) fn connecting(
        &mut self,
        now: Instant,
        until: Instant,
        leader: RequestId,
        torrent: TorrentId,
        addr: SocketAddr,
    ) {
        if self.connecting.is_none_or(|(u, ..)| u <= now) {
            self.connecting = Some((until, leader, torrent, addr));
        }
    }

    /// Request `leader` is dropped (cancelled or finished): when it led the connect in flight, its
    /// reply will not be routed any more, so the requests that joined it wake up and connect
    /// themselves.
    pub(crate) fn abandon_connect(&mut self, leader: RequestId, woken: &mut Vec<TorrentId>) {
        if self.connecting.is_some_and(|(_, l, ..)| l == leader) {
            self.connecting = None;
            woken.extend(std::mem::take(&mut self.waiters));
        }
    }

    /// The torrent is gone: it waits for nothing.
    pub(crate) fn forget(&mut self, torrent: TorrentId) {
        self.waiters.remove(&torrent);
    }

    /// When the next exchange may start (`now` or later), reserving that slot: at most
    /// [`Config::tracker_burst`] at once, then [`Config::tracker_rate`] per second (the generic
    /// cell rate algorithm). An urgent exchange is admitted on its own clock, ahead of regular
    /// ones waiting for their slots, and moves the slots regular exchanges get from now on back
    /// by one step.
    pub(crate) fn reserve(&mut self, now: Instant, cfg: &Config, urgent: bool) -> Instant {
        let (step, tolerance) = pace(cfg);
        if urgent {
            let slot = gcra(&mut self.tat_urgent, now, step, tolerance);
            let regular = self.tat.map_or(now, |t| t.max(now));
            self.tat = Some(later(regular, step));
            slot
        } else {
            gcra(&mut self.tat, now, step, tolerance)
        }
    }

    /// An exchange reserved a slot with [`reserve`](Self::reserve) and was dropped before it came:
    /// the slot is given back, so cancelled work does not delay what is still to be sent.
    pub(crate) fn refund(&mut self, cfg: &Config, urgent: bool) {
        let (step, _) = pace(cfg);
        let back = |tat: &mut Option<Instant>| {
            if let Some(t) = tat {
                *t = t.checked_sub(step).unwrap_or(*t);
            }
        };
        back(&mut self.tat);
        if urgent {
            back(&mut self.tat_urgent);
        }
    }
}

/// The pacer's step (one request's share of a second) and burst tolerance.
fn pace(cfg: &Config) -> (Duration, Duration) {
    let step = Duration::from_secs(1) / cfg.tracker_rate.max(1);
    (
        step,
        step.saturating_mul(cfg.tracker_burst.saturating_sub(1)),
    )
}

/// One GCRA reservation on the clock `tat`: the slot, `now` or later.
fn gcra(tat: &mut Option<Instant>, now: Instant, step: Duration, tolerance: Duration) -> Instant {
    let t = tat.map_or(now, |t| t.max(now));
    let slot = t
        .checked_sub(tolerance)
        .map_or(now, |earliest| earliest.max(now));
    *tat = Some(later(t.max(slot), step));
    slot
}

/// A URL in the table, with the endpoint it belongs to.
#[derive(Debug)]
pub(crate) struct UrlEntry {
    pub(crate) url: TrackerUrl,
    pub(crate) endpoint: u32,
}

/// What requests to the same (transport, host, port) share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EndpointKey {
    udp: bool,
    host: Box<str>,
    port: u16,
}

/// The shared tables: URLs by text and endpoints by key, each entry counted by its users and freed
/// with the last one.
#[derive(Debug, Default)]
pub(crate) struct Endpoints {
    urls: Counted<Box<str>, UrlEntry>,
    endpoints: Counted<EndpointKey, Endpoint>,
}

impl Endpoints {
    /// The index of `url`, adding it (and its endpoint) on first use; every call must be paired
    /// with one [`release`](Self::release).
    pub(crate) fn intern(&mut self, url: TrackerUrl) -> u32 {
        if let Some(ix) = self.urls.acquire(url.as_str()) {
            return ix;
        }
        let key = EndpointKey {
            udp: url.scheme() == Scheme::Udp,
            // An IP literal in canonical form: `[::ffff:10.0.0.1]` and `10.0.0.1` are one endpoint.
            host: match url.socket_addr() {
                Some(a) => a.ip().to_string().into(),
                None => url.host().to_ascii_lowercase().into(),
            },
            port: url.port(),
        };
        let endpoint = match self.endpoints.acquire(&key) {
            Some(ix) => ix,
            None => self.endpoints.insert(key, Endpoint::default()),
        };
        self.urls
            .insert(url.as_str().into(), UrlEntry { url, endpoint })
    }

    /// Adds one use of URL `ix`, which must be in use.
    pub(crate) fn acquire(&mut self, ix: u32) {
        if let Some(Some((_, _, refs))) = self.urls.slots.get_mut(ix as usize) {
            *refs += 1;
        }
    }

    /// Drops one use of URL `ix`.
    pub(crate) fn release(&mut self, ix: u32) {
        if let Some(entry) = self.urls.release(ix) {
            self.endpoints.release(entry.endpoint);
        }
    }

    /// The URL at `ix` (every index a torrent holds is live).
    pub(crate) fn url(&self, ix: u32) -> &TrackerUrl {
        &self.urls.get(ix).url
    }

    /// The URL at `ix` and its endpoint, for an exchange that updates the endpoint.
    pub(crate) fn split(&mut self, ix: u32) -> (&TrackerUrl, &mut Endpoint) {
        let entry = self.urls.get(ix);
        (&entry.url, self.endpoints.get_mut(entry.endpoint))
    }

    /// The endpoint of URL `ix`.
    pub(crate) fn endpoint(&mut self, ix: u32) -> &mut Endpoint {
        self.split(ix).1
    }
}

/// A slab whose entries are found by key and counted by their users.
#[derive(Debug)]
struct Counted<K, V> {
    slots: Vec<Option<(K, V, u32)>>,
    free: Vec<u32>,
    by_key: HashMap<K, u32>,
}

impl<K, V> Default for Counted<K, V> {
    fn default() -> Self {
        Counted {
            slots: Vec::new(),
            free: Vec::new(),
            by_key: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> Counted<K, V> {
    fn acquire<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<u32>
    where
        K: std::borrow::Borrow<Q>,
    {
        let ix = *self.by_key.get(key)?;
        if let Some((_, _, refs)) = &mut self.slots[ix as usize] {
            *refs += 1;
        }
        Some(ix)
    }

    fn insert(&mut self, key: K, value: V) -> u32 {
        let entry = Some((key.clone(), value, 1));
        let ix = match self.free.pop() {
            Some(ix) => {
                self.slots[ix as usize] = entry;
                ix
            }
            None => {
                self.slots.push(entry);
                (self.slots.len() - 1) as u32
            }
        };
        self.by_key.insert(key, ix);
        ix
    }

    /// Drops one use; returns the value when that was the last.
    fn release(&mut self, ix: u32) -> Option<V> {
        let slot = self.slots.get_mut(ix as usize)?;
        let (_, _, refs) = slot.as_mut()?;
        *refs -= 1;
        if *refs > 0 {
            return None;
        }
        let (key, value, _) = slot.take()?;
        self.by_key.remove(&key);
        self.free.push(ix);
        Some(value)
    }

    fn get(&self, ix: u32) -> &V {
        match &self.slots[ix as usize] {
            Some((_, v, _)) => v,
            None => unreachable!("a released table entry was used"),
        }
    }

    fn get_mut(&mut self, ix: u32) -> &mut V {
        match &mut self.slots[ix as usize] {
            Some((_, v, _)) => v,
            None => unreachable!("a released table entry was used"),
        }
    }
}
