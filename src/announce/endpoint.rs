//! What every torrent of one machine shares per tracker: the URL (interned, so a tracker used by
//! 100,000 torrents is stored once) and, per endpoint (transport, host, port), the window that
//! admits exchanges (see [`Window`]) and, per address the host resolved to, the UDP connection id
//! and the connect in flight that other requests join.
//!
//! The window admits each exchange once and counts it until it is dropped: its connect, the
//! request after the connect reply, retransmissions and redirects all go out under the one place
//! it holds, so an admitted exchange never queues behind exchanges not yet admitted.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::net::SocketAddr;
use std::time::Instant;

use super::config::Config;
use super::dns::MAX_DNS_ADDRESSES;
use super::event::{RequestId, TorrentId};
use super::schedule::later;
use super::window::Window;
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

/// One tracker endpoint (transport, host, port): requests to it share a window and, per address
/// the host resolved to, a connection id.
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
    /// Admission: the window of exchanges in flight and the queue waiting for it (boxed: the
    /// endpoint table keeps spare slots, which need not carry a window each).
    pub(crate) window: Box<Window>,
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

    /// A request sent to `addr` with connection id `id` went unanswered until its retransmission
    /// timeout: the id is dropped when it is still the one in use for that address, so the next
    /// send there connects again (aquatic answers nothing at all to a stale id, so silence may
    /// mean the id is stale).
    pub(crate) fn drop_connection_if(&mut self, addr: SocketAddr, id: u64) {
        self.conns
            .retain(|(a, c)| !(*a == addr && c.0.is_some_and(|(c, _)| c == id)));
    }
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
