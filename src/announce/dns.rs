//! Host names as sans-IO queries, and the cache of their answers.
//!
//! The machine, not the caller, owns what a tracker's host name means (DESIGN.md section 5a). A
//! request to a tracker named by a host name asks the cache; the cache hands out at most one query
//! per name at a time (through `poll_dns_query`), whatever the number of torrents and URLs waiting
//! for it, and the caller answers with any resolver (`handle_dns_response`).
//!
//! - **Positive lifetime**: the answer's TTL clamped to [`DnsConfig::min_ttl`,
//!   `DnsConfig::max_ttl`]; without a TTL (getaddrinfo gives none), [`DnsConfig::default_ttl`],
//!   one hour like Transmission's and curl's caches.
//! - **Negative lifetime**: a failure is remembered for [`DnsConfig::failure_ttl`] (2.5 min, like
//!   libtorrent's failure cache), doubling on each further failure up to
//!   [`DnsConfig::max_failure_ttl`]; requests in that time fail at once, with no query.
//! - **Refresh without stalling**: once an answer expires, the next request uses the last good
//!   addresses at once and a refresh query goes out; a failed refresh keeps them (rqbit's
//!   keep-last-good) and is retried after the negative lifetime.
//! - **Deadline**: a query unanswered after [`DnsConfig::timeout`] counts as a failure; the
//!   requests waiting for it fail with [`DnsFailure::NoAnswer`]. A late success is still used
//!   (cached, waiters woken, the failure gone) when it answers the name's latest query; a late
//!   failure changes nothing.
//! - **Bounded**: at most [`DnsConfig::max_names`] names are kept (the entry expiring first is
//!   dropped for a new one; names with a query in flight are never dropped, and there are at most
//!   as many of those as distinct host names the machine's trackers use), and at most
//!   [`MAX_DNS_ADDRESSES`] addresses per name.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::event::TorrentId;
use super::policy::{is_internal_address, is_localhost_name};
use super::schedule::later;
use crate::{AddressFamily, TrackerUrl, canonical_ip};

/// The most addresses kept per host name: the first ones of an answer, in the resolver's order,
/// after dropping repeats. A UDP exchange tries them in that order (see
/// [`Transmit::destination`](super::Transmit::destination)).
pub const MAX_DNS_ADDRESSES: usize = 16;

/// Names one DNS query the machine handed out; pass it back with the answer. Never reused by one
/// machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnsQueryId(pub u64);

/// A host name to resolve, from [`poll_dns_query`](super::Announce::poll_dns_query): look it up
/// with any resolver (getaddrinfo on a thread, hickory, c-ares, tokio's `lookup_host`) and hand
/// the result to [`handle_dns_response`](super::Announce::handle_dns_response).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the query must be answered, or the requests waiting for it fail at its deadline"]
pub struct DnsQuery {
    /// Pass it back with the answer.
    pub id: DnsQueryId,
    /// The host name, ASCII (IDNA form) and lowercase, without a port. Never an IP literal.
    pub host: String,
    /// The machine stops waiting at this time ([`DnsConfig::timeout`] after the query was made):
    /// the requests waiting fail, so the caller may give up then. A success that comes later is
    /// still used while this is the name's latest query (see
    /// [`handle_dns_response`](super::Announce::handle_dns_response)).
    pub deadline: Instant,
}

/// A resolver's answer: any number of addresses of both families, in the order to try them (the
/// resolver's order; getaddrinfo sorts them by RFC 6724).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsAnswer {
    /// The addresses. Repeats and addresses that name no single host (unspecified, broadcast,
    /// multicast) are dropped, and at most [`MAX_DNS_ADDRESSES`] are kept; a list with none left
    /// counts as [`DnsError::NotFound`].
    pub addresses: Vec<IpAddr>,
    /// The answer's time to live, when the resolver tells it (getaddrinfo does not; hickory and
    /// c-ares do). Clamped to [`DnsConfig::min_ttl`, `DnsConfig::max_ttl`]; `None` means
    /// [`DnsConfig::default_ttl`].
    pub ttl: Option<Duration>,
}

/// A resolver's failure, handed in with
/// [`handle_dns_response`](super::Announce::handle_dns_response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DnsError {
    /// The name does not exist or has no address (NXDOMAIN, no A or AAAA record).
    NotFound,
    /// Any other failure (no network, the resolver's own timeout, SERVFAIL).
    Failed,
}

/// Why a request could not get an address for its tracker (in [`Cause::Dns`](super::Cause::Dns)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DnsFailure {
    /// The caller's resolver reported this failure (now or within the negative lifetime).
    Resolver(DnsError),
    /// The resolver did not answer the machine's query before its deadline
    /// ([`DnsConfig::timeout`]).
    NoAnswer,
    /// The tracker has no address of the family this announce goes over (see [`Families`]): an
    /// IPv4-only tracker's IPv6 announce, for one. It is judged on the last good answer, which a
    /// failed refresh keeps. The tracker is tried again over that family once the cached answer
    /// has expired and the failure backoff has passed, whichever is later (its `next_announce`):
    /// the answer cannot gain an address before it expires, so it fails at most once per answer.
    NoAddressOfFamily(AddressFamily),
    /// A public host name resolved only to loopback, private or link-local addresses (see
    /// [`is_internal_address`]), which this request may not reach: DNS rebinding, or a LAN tracker
    /// that needs [`DnsConfig::allow_internal`].
    InternalOnly,
}

impl fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsFailure::Resolver(DnsError::NotFound) => f.write_str(
                "the tracker's host name does not exist or has no address; check the URL",
            ),
            DnsFailure::Resolver(DnsError::Failed) => f.write_str(
                "the tracker's host name could not be resolved; check the network and the resolver",
            ),
            DnsFailure::NoAddressOfFamily(family) => write!(
                f,
                "the tracker has no {} address; this announce goes over {0} only (Config::families)",
                match family {
                    AddressFamily::V4 => "IPv4",
                    AddressFamily::V6 => "IPv6",
                }
            ),
            DnsFailure::NoAnswer => f.write_str(
                "the resolver did not answer the query for the tracker's host name before its deadline (DnsConfig::timeout); check that poll_dns_query is drained and answered",
            ),
            DnsFailure::InternalOnly => f.write_str(
                "the tracker's public host name resolved only to loopback, private or link-local addresses, which it may not send this client to (set DnsConfig::allow_internal for a LAN tracker)",
            ),
        }
    }
}

/// The address families this client announces over: what its sockets can send (the `families`
/// field of [`Config`](super::Config)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Families {
    /// One announce per tracker, over whichever of its addresses answers first, both families in
    /// the resolver's order. Default.
    #[default]
    Any,
    /// Only IPv4 addresses are used (a client with an IPv4 socket only).
    V4,
    /// Only IPv6 addresses are used.
    V6,
    /// BEP 7 dual-stack: a tracker named by a host name is announced to over each family
    /// separately, with the same `key` and peer id, each family with its own connection ids, event
    /// state (`started`, `completed`, `stopped`), schedule and backoff, so one family's failure
    /// never undoes the other's success. Each family is a tracker of its own
    /// ([`TrackerStatus::family`](super::TrackerStatus::family) says which): the IPv4 ones in the
    /// tiers as given, then the IPv6 ones in tiers of their own, walked by lanes of their own (a
    /// family keeps a tier with none of its trackers, so both number their tiers as given). An
    /// IP-literal tracker is announced to over its own family only. Tracker-list edits name a URL
    /// and keep its families in step (see [`Announce::add_tracker`](super::Announce::add_tracker)). Scrapes go out once per
    /// URL, over IPv4 (the counts are the same); naming the IPv6 tracker in
    /// [`Announce::scrape_tracker`](super::Announce::scrape_tracker) scrapes over IPv6, while
    /// [`Client::scrape_tracker`](crate::client::Client::scrape_tracker) refuses it.
    Both,
}

impl Families {
    /// The families of the trackers made for one URL: `None` for "any".
    pub(crate) fn split(self, literal: Option<AddressFamily>) -> &'static [Option<AddressFamily>] {
        const ANY: &[Option<AddressFamily>] = &[None];
        const V4: &[Option<AddressFamily>] = &[Some(AddressFamily::V4)];
        const V6: &[Option<AddressFamily>] = &[Some(AddressFamily::V6)];
        const BOTH: &[Option<AddressFamily>] = &[Some(AddressFamily::V4), Some(AddressFamily::V6)];
        match (self, literal) {
            (Families::Any, _) => ANY,
            (Families::V4, _) | (Families::Both, Some(AddressFamily::V4)) => V4,
            (Families::V6, _) | (Families::Both, Some(AddressFamily::V6)) => V6,
            (Families::Both, None) => BOTH,
        }
    }
}

/// The DNS cache's knobs (the `dns` field of [`Config`](super::Config)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DnsConfig {
    /// The shortest time an answer is kept, whatever its TTL (a TTL of 0 would query per request).
    /// Default 60 s.
    pub min_ttl: Duration,
    /// The longest time an answer is kept, whatever its TTL. Default 1 day.
    pub max_ttl: Duration,
    /// How long an answer without a TTL is kept. Default 1 h (Transmission, curl).
    pub default_ttl: Duration,
    /// How long a failure is remembered the first time: requests meanwhile fail at once, without a
    /// query. Default 150 s (libtorrent's failure cache).
    pub failure_ttl: Duration,
    /// The failure lifetime doubles on each further failure up to this. Default 30 min.
    pub max_failure_ttl: Duration,
    /// How long a query may go unanswered before it counts as a failure
    /// ([`DnsFailure::NoAnswer`]). Default 30 s.
    pub timeout: Duration,
    /// The most host names cached. Default 4096.
    pub max_names: usize,
    /// A tracker named by a public host name may resolve to loopback, private or link-local
    /// addresses. Default `false`: such an answer is refused with [`DnsFailure::InternalOnly`]
    /// (internal addresses of a mixed answer are skipped). `localhost` names are always allowed.
    pub allow_internal: bool,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            default_ttl: Duration::from_secs(3600),
            failure_ttl: Duration::from_secs(150),
            max_failure_ttl: Duration::from_secs(1800),
            timeout: Duration::from_secs(30),
            max_names: 4096,
            allow_internal: false,
        }
    }
}

impl DnsConfig {
    /// The durations to check (name, value), and the rules between fields.
    pub(crate) fn durations(&self) -> [(&'static str, Duration); 6] {
        [
            ("dns.min_ttl", self.min_ttl),
            ("dns.max_ttl", self.max_ttl),
            ("dns.default_ttl", self.default_ttl),
            ("dns.failure_ttl", self.failure_ttl),
            ("dns.max_failure_ttl", self.max_failure_ttl),
            ("dns.timeout", self.timeout),
        ]
    }

    /// The rules between fields: (field, holds, rule).
    pub(crate) fn checks(&self) -> [(&'static str, bool, &'static str); 3] {
        [
            (
                "dns.max_ttl",
                self.min_ttl <= self.max_ttl,
                "must not be below dns.min_ttl",
            ),
            (
                "dns.max_failure_ttl",
                self.failure_ttl <= self.max_failure_ttl,
                "must not be below dns.failure_ttl",
            ),
            (
                "dns.max_names",
                (1..=1_000_000).contains(&self.max_names),
                "must be 1 to 1,000,000",
            ),
        ]
    }
}

/// A tracker's addresses, in the order to try them: one inline (an IP literal, or a name with one
/// address: a re-announce allocates nothing for it), more on the heap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Addrs {
    One(SocketAddr),
    Many(Box<[SocketAddr]>),
}

impl Addrs {
    /// The addresses of `list`, in its order.
    pub(crate) fn from_list(mut list: Vec<SocketAddr>) -> Self {
        match list.len() {
            1 => Addrs::One(list[0]),
            _ => {
                list.shrink_to_fit();
                Addrs::Many(list.into_boxed_slice())
            }
        }
    }
}

impl std::ops::Deref for Addrs {
    type Target = [SocketAddr];

    fn deref(&self) -> &[SocketAddr] {
        match self {
            Addrs::One(a) => std::slice::from_ref(a),
            Addrs::Many(list) => list,
        }
    }
}

/// What a request gets for its tracker's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Connect to these, in order (never empty).
    Ready(Addrs),
    /// A query is in flight; the waiter is woken when it is answered, or gives up at this time.
    Wait(Instant),
    /// No address.
    Failed(DnsFailure),
}

/// One cached name.
#[derive(Debug)]
struct Name {
    /// The last good answer (empty: none yet), canonical, at most [`MAX_DNS_ADDRESSES`].
    addrs: Box<[IpAddr]>,
    /// What the cache holds (answer or failure) is good until then; the next use after it queries.
    until: Instant,
    /// The last failure, served while there is no good answer.
    failure: Option<DnsFailure>,
    /// Failures in a row (the negative lifetime doubles with each).
    failures: u32,
    /// The query in flight and its deadline.
    query: Option<(DnsQueryId, Instant)>,
    /// The last query that went past its deadline unanswered, while no answer came since: a late
    /// success to it is still used (see [`Dns::answer`]).
    expired: Option<DnsQueryId>,
    /// Torrents waiting for the query (ordered: they wake in the same order on every run).
    waiters: BTreeSet<TorrentId>,
}

/// A host name as the cache keys it: without a trailing dot, in lower case.
fn name_key(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The cache and the queries in flight, shared by every torrent of a machine.
#[derive(Debug, Default)]
pub(crate) struct Dns {
    names: HashMap<Box<str>, Name>,
    /// Queries handed out (or to hand out) and not yet answered, by id.
    in_flight: HashMap<u64, Box<str>>,
    /// Each name's [`Name::expired`] query, by id: at most one per cached name.
    expired: HashMap<u64, Box<str>>,
    /// Queries waiting for `poll_dns_query`.
    queue: VecDeque<DnsQueryId>,
    next_id: u64,
    /// Queries made, for measurements.
    made: u64,
}

impl Dns {
    /// The addresses of `url`'s tracker: its IP literal, or what its host name resolves to. A
    /// public name's internal addresses are left out unless `internal_ok` (or
    /// [`DnsConfig::allow_internal`]); a localhost name may resolve to internal addresses.
    #[inline]
    pub(crate) fn addresses(
        &mut self,
        cfg: &DnsConfig,
        url: &TrackerUrl,
        waiter: TorrentId,
        now: Instant,
        internal_ok: bool,
        family: Option<AddressFamily>,
    ) -> Lookup {
        // An IP literal (every re-announce to one) needs nothing of the cache.
        match url.socket_addr() {
            Some(addr) => match family {
                Some(f) if AddressFamily::of(&addr) != f => {
                    Lookup::Failed(DnsFailure::NoAddressOfFamily(f))
                }
                _ => Lookup::Ready(Addrs::One(addr)),
            },
            None => self.resolved(cfg, url, waiter, now, internal_ok, family),
        }
    }

    /// When a tracker that failed with `failure` may be tried again, if not after the usual
    /// backoff: a host name whose cached answer holds no address of the family asked for (a
    /// dual-stack tracker without an IPv6 address) cannot get one before that answer expires, so
    /// it fails once per answer, not once per backoff step. `None` for every other failure, an
    /// IP literal, or an answer already due for refresh.
    pub(crate) fn hold(
        &self,
        url: &TrackerUrl,
        failure: DnsFailure,
        now: Instant,
    ) -> Option<Instant> {
        if !matches!(failure, DnsFailure::NoAddressOfFamily(_)) || url.socket_addr().is_some() {
            return None;
        }
        let name = self.names.get(name_key(url.host()).as_str())?;
        (!name.addrs.is_empty() && name.until > now).then_some(name.until)
    }

    /// [`addresses`](Self::addresses) of a host name.
    fn resolved(
        &mut self,
        cfg: &DnsConfig,
        url: &TrackerUrl,
        waiter: TorrentId,
        now: Instant,
        internal_ok: bool,
        family: Option<AddressFamily>,
    ) -> Lookup {
        let of_family = |addrs: Vec<SocketAddr>| match family {
            Some(f) if addrs.iter().all(|a| AddressFamily::of(a) != f) => {
                Lookup::Failed(DnsFailure::NoAddressOfFamily(f))
            }
            Some(f) => Lookup::Ready(Addrs::from_list(
                addrs
                    .into_iter()
                    .filter(|a| AddressFamily::of(a) == f)
                    .collect(),
            )),
            None => Lookup::Ready(Addrs::from_list(addrs)),
        };
        let host = url.host();
        let internal_ok = internal_ok || cfg.allow_internal || is_localhost_name(host);
        let found = match self.lookup(cfg, host, waiter, now) {
            Err(wait) => return wait,
            Ok(ips) => {
                let addrs: Vec<SocketAddr> = ips
                    .iter()
                    .filter(|&&ip| internal_ok || !is_internal_address(ip))
                    .map(|&ip| SocketAddr::new(ip, url.port()))
                    .collect();
                if addrs.is_empty() {
                    Lookup::Failed(DnsFailure::InternalOnly)
                } else {
                    of_family(addrs)
                }
            }
        };
        match found {
            // A stale answer with nothing usable says nothing of the refresh in flight: wait for
            // that instead (it may hold an address of the family, or a public one).
            Lookup::Failed(_) => self.await_refresh(host, waiter).unwrap_or(found),
            _ => found,
        }
    }

    /// Waits for the refresh of `host` in flight, if there is one.
    fn await_refresh(&mut self, host: &str, waiter: TorrentId) -> Option<Lookup> {
        let name = self.names.get_mut(name_key(host).as_str())?;
        let (_, deadline) = name.query?;
        name.waiters.insert(waiter);
        Some(Lookup::Wait(deadline))
    }

    /// The good addresses of `host` (possibly stale while a refresh is in flight), or what to do
    /// instead.
    fn lookup(
        &mut self,
        cfg: &DnsConfig,
        host: &str,
        waiter: TorrentId,
        now: Instant,
    ) -> Result<&[IpAddr], Lookup> {
        let key = name_key(host);
        if !self.names.contains_key(key.as_str()) {
            self.evict_for_one(cfg);
            let name = Name {
                addrs: Box::new([]),
                until: now,
                failure: None,
                failures: 0,
                query: None,
                expired: None,
                waiters: BTreeSet::new(),
            };
            self.names.insert(key.clone().into(), name);
        }
        let Some(name) = self.names.get_mut(key.as_str()) else {
            return Err(Lookup::Failed(DnsFailure::NoAnswer));
        };
        if let Some((id, deadline)) = name.query
            && deadline <= now
        {
            self.in_flight.remove(&id.0);
            name.query = None;
            name.waiters.clear();
            name.fail(cfg, now, DnsFailure::NoAnswer);
            // Its answer may still come: remembered (in place of an older one) to be used then.
            if let Some(older) = name.expired.replace(id) {
                self.expired.remove(&older.0);
            }
            self.expired.insert(id.0, key.clone().into());
        }
        if now >= name.until && name.query.is_none() {
            self.next_id += 1;
            self.made += 1;
            let id = DnsQueryId(self.next_id);
            name.query = Some((id, later(now, cfg.timeout)));
            self.in_flight.insert(id.0, key.clone().into());
            self.queue.push_back(id);
        }
        if !name.addrs.is_empty() {
            return Ok(&name.addrs);
        }
        match name.query {
            Some((_, deadline)) => {
                name.waiters.insert(waiter);
                Err(Lookup::Wait(deadline))
            }
            None => Err(Lookup::Failed(name.failure.unwrap_or(DnsFailure::NoAnswer))),
        }
    }

    /// Makes room for one more name: at the cap, the name whose entry expires first and that has
    /// no query in flight is dropped; among names expiring at the same instant (failures handled
    /// in one `handle_timeout`), the first in byte order, so the choice never depends on the hash
    /// map's per-process order (same inputs, same outputs).
    fn evict_for_one(&mut self, cfg: &DnsConfig) {
        if self.names.len() < cfg.max_names {
            return;
        }
        let victim = self
            .names
            .iter()
            .filter(|(_, n)| n.query.is_none())
            .min_by(|a, b| a.1.until.cmp(&b.1.until).then_with(|| a.0.cmp(b.0)))
            .map(|(k, _)| k.clone());
        if let Some(victim) = victim
            && let Some(name) = self.names.remove(&victim)
            && let Some(expired) = name.expired
        {
            self.expired.remove(&expired.0);
        }
    }

    /// The next query for the caller.
    pub(crate) fn poll_query(&mut self) -> Option<DnsQuery> {
        while let Some(id) = self.queue.pop_front() {
            let Some(host) = self.in_flight.get(&id.0) else {
                continue; // expired before it was drained
            };
            let Some((_, deadline)) = self.names.get(host).and_then(|n| n.query) else {
                continue;
            };
            return Some(DnsQuery {
                id,
                host: host.to_string(),
                deadline,
            });
        }
        None
    }

    /// The caller's answer to query `id`: cached, and the torrents that waited for it are woken.
    /// Returns whether it was used.
    ///
    /// The late-answer rule: an answer after the query's deadline is still information the caller
    /// paid for. A late success is used as an answer in time would be (cached, the waiters woken,
    /// the cached failure gone) as long as the query is the name's latest and no answer came
    /// since: the query in flight whose deadline passed, or the last one that expired. A late
    /// failure changes nothing beyond the deadline's own failure. An id from two queries ago, a
    /// repeated or an unknown id is ignored. Memory stays bounded: one expired id per cached name.
    pub(crate) fn answer(
        &mut self,
        cfg: &DnsConfig,
        now: Instant,
        id: DnsQueryId,
        result: Result<DnsAnswer, DnsError>,
        woken: &mut Vec<TorrentId>,
    ) -> bool {
        if let Some(host) = self.expired.remove(&id.0) {
            // The query expired: only a success is news.
            let late_success = result.as_ref().is_ok_and(|a| !a.addresses.is_empty());
            let Some(name) = self.names.get_mut(&host) else {
                return false;
            };
            if name.expired != Some(id) {
                return false;
            }
            // Answered now, whatever the answer: a second answer to this id is ignored.
            name.expired = None;
            if !late_success {
                return false;
            }
            return name.accept(cfg, now, result, woken);
        }
        let Some(host) = self.in_flight.remove(&id.0) else {
            return false;
        };
        let Some(name) = self.names.get_mut(&host) else {
            return false;
        };
        match name.query {
            Some((q, deadline)) if q == id && deadline > now => {}
            Some((q, _)) if q == id && result.as_ref().is_ok_and(|a| !a.addresses.is_empty()) => {
                // Past its deadline, but a success: used (the late-answer rule).
            }
            Some((q, _)) if q == id => {
                // A failure past its deadline: the requests that waited fail as the deadline
                // says, with the silence counted as a failure.
                name.query = None;
                name.waiters.clear();
                name.fail(cfg, now, DnsFailure::NoAnswer);
                return false;
            }
            _ => return false,
        }
        name.query = None;
        // An answer in time supersedes the one an expired query might still get.
        if let Some(older) = name.expired.take() {
            self.expired.remove(&older.0);
        }
        name.accept(cfg, now, result, woken)
    }

    /// Whether [`answer`](Self::answer) could use an answer to `id`: a query in flight, or an
    /// expired one a late success may still answer.
    pub(crate) fn knows(&self, id: DnsQueryId) -> bool {
        self.in_flight.contains_key(&id.0) || self.expired.contains_key(&id.0)
    }

    /// Queries handed out since the machine was made (for measurements and tests).
    pub(crate) fn queries_made(&self) -> u64 {
        self.made
    }
}

impl Name {
    /// Caches an answer to this name's query (a success replaces the addresses and clears the
    /// failure; a failure is remembered, the last good addresses kept) and wakes the waiters.
    fn accept(
        &mut self,
        cfg: &DnsConfig,
        now: Instant,
        result: Result<DnsAnswer, DnsError>,
        woken: &mut Vec<TorrentId>,
    ) -> bool {
        let mut addrs: Vec<IpAddr> = Vec::new();
        let (ttl, error) = match result {
            Ok(answer) => {
                for ip in answer.addresses {
                    let ip = canonical_ip(ip);
                    // An address naming no single host (broadcast, multicast, unspecified) is
                    // never a tracker's, whatever `allow_internal` says.
                    let usable = crate::addr::not_unicast(ip).is_none();
                    if usable && addrs.len() < MAX_DNS_ADDRESSES && !addrs.contains(&ip) {
                        addrs.push(ip);
                    }
                }
                (answer.ttl, addrs.is_empty().then_some(DnsError::NotFound))
            }
            Err(e) => (None, Some(e)),
        };
        match error {
            Some(error) => self.fail(cfg, now, DnsFailure::Resolver(error)),
            None => {
                self.addrs = addrs.into_boxed_slice();
                self.failure = None;
                self.failures = 0;
                let ttl = ttl
                    .unwrap_or(cfg.default_ttl)
                    .clamp(cfg.min_ttl, cfg.max_ttl);
                self.until = later(now, ttl);
            }
        }
        woken.extend(std::mem::take(&mut self.waiters));
        true
    }

    /// A failure: remembered for the negative lifetime (doubling with each failure in a row); the
    /// last good addresses are kept.
    fn fail(&mut self, cfg: &DnsConfig, now: Instant, failure: DnsFailure) {
        let shift = self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        let ttl = cfg
            .failure_ttl
            .saturating_mul(1 << shift)
            .min(cfg.max_failure_ttl);
        self.failure = Some(failure);
        self.until = later(now, ttl);
    }
}
