//! Many torrents behind one UDP socket: the [`Client`].
//!
//! See [`Client`] for the method groups and the drain rule.

mod commands;
mod drains;
mod getters;
mod hybrid;
mod inputs;
mod scrape;
mod timers;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use rand_chacha::ChaCha12Rng;
use rand_core::{CryptoRng, SeedableRng};

pub use self::hybrid::HybridIds;
pub use self::scrape::MAX_UDP_SCRAPE_BATCH;
use self::scrape::{BATCHES, Scrapes};
use self::timers::Timers;
#[cfg(doc)]
use crate::announce::Event;
use crate::announce::ctx::{Ctx, SLOT_MASK, owner_slot};
use crate::announce::session::{Session, check_tiers};
use crate::announce::{Config, ConfigError, RequestId, Torrent, TorrentId};
use crate::{InfoHash, TrackerUrl};

/// Many torrents announcing through one UDP socket and one HTTP client, as a sans-IO state
/// machine: the [`Announce`](crate::announce::Announce) machine for each torrent, plus what only
/// many torrents need.
///
/// - **One socket**: datagrams are routed by their transaction id (bytes 4..8) to the request that
///   owns it, and the source address is checked; the Client draws transaction ids so that no two
///   requests in flight share one.
/// - **One connection id per tracker endpoint** (transport, host, port): one connect serves every
///   torrent announcing there while the id is valid, and torrents that need one while a connect is
///   in flight join it. An error reply drops the id for all of them.
/// - **Batched scrapes**: up to [`MAX_UDP_SCRAPE_BATCH`] info hashes per UDP scrape and
///   [`Config::max_scrape_batch`] per HTTP multi-scrape (halved when a tracker answers 414);
///   scrapes asked for within [`Config::scrape_window`] share a batch.
/// - **Paced requests**: per tracker endpoint, a window of requests in flight that clocks itself
///   on answers (at most [`Config::tracker_window`]; HTTP at most [`Config::http_per_host`] per
///   host), so a restart with 10,000 torrents goes as fast as the tracker answers and never sends
///   more than a socket receive buffer holds of replies.
/// - **Deadlines in a heap**: [`poll_timeout`](Self::poll_timeout) and
///   [`handle_timeout`](Self::handle_timeout) cost O(log n) per torrent that is due, never a scan.
///
/// The contract is [`Announce`](crate::announce::Announce)'s: no clock, no I/O, randomness from
/// the RNG given to [`new`](Self::new), no panic on any input, bounded memory.
///
/// # Method groups
///
/// Every method that takes the time takes `now` first, after `self`, as on
/// [`Announce`](crate::announce::Announce) (`client.remove(now, id)`); only the constructor takes it
/// last.
///
/// - **Construct**: [`new`](Self::new); [`add`](Self::add) returns the new torrent's
///   [`TorrentId`] or a [`ConfigError`] ([`add_hybrid`](Self::add_hybrid) two, for a BEP 52
///   hybrid torrent's swarms), [`remove`](Self::remove) sends its `stopped` and frees it.
/// - **Inputs** (never fail, never panic): [`handle_dns_response`](Self::handle_dns_response),
///   [`handle_datagram`](Self::handle_datagram),
///   [`handle_http_response`](Self::handle_http_response),
///   [`handle_transport_error`](Self::handle_transport_error),
///   [`handle_timeout`](Self::handle_timeout).
/// - **Commands** (per torrent; an unknown or removed id does nothing and returns `false`):
///   [`set_progress`](Self::set_progress), [`completed`](Self::completed),
///   [`announce_now`](Self::announce_now), [`scrape`](Self::scrape), [`remove`](Self::remove),
///   and [`stop`](Self::stop) for every torrent at once; per tracker
///   [`announce_tracker`](Self::announce_tracker), [`scrape_tracker`](Self::scrape_tracker); live
///   changes [`set_port`](Self::set_port), [`set_num_want`](Self::set_num_want),
///   [`set_peer_id`](Self::set_peer_id), [`set_partial_seed`](Self::set_partial_seed),
///   [`pause`](Self::pause), [`resume`](Self::resume); tracker list edits
///   [`add_tracker`](Self::add_tracker), [`remove_tracker`](Self::remove_tracker),
///   [`replace_trackers`](Self::replace_trackers) (these return an
///   [`EditError`](crate::announce::EditError)).
/// - **Drains**: [`poll_dns_query`](Self::poll_dns_query), [`poll_transmit`](Self::poll_transmit),
///   [`poll_http_request`](Self::poll_http_request), [`poll_timeout`](Self::poll_timeout),
///   [`poll_event`](Self::poll_event) (events come tagged with their torrent).
/// - **Getters**: [`len`](Self::len), [`contains`](Self::contains),
///   [`torrents`](Self::torrents), [`trackers`](Self::trackers) (status snapshot),
///   [`tracker_url`](Self::tracker_url), [`tiers`](Self::tiers), [`request_url`](Self::request_url),
///   [`key`](Self::key), [`batch_members`](Self::batch_members),
///   [`events_superseded`](Self::events_superseded), [`dns_queries_made`](Self::dns_queries_made).
///
/// # The drain rule
///
/// As for [`Announce`](crate::announce::Announce#the-drain-rule): after every input or command
/// (or after all of one tick's), drain `poll_dns_query`, `poll_transmit`, `poll_http_request`,
/// `poll_timeout`, `poll_event`, in that order, until each returns `None`; call `handle_timeout`
/// first when its deadline passed before an input is handed in. Answer each DNS query without
/// blocking the loop (a resolver thread, an async task) and hand the answer in with
/// [`handle_dns_response`](Self::handle_dns_response): 100,000 torrents on one tracker name make
/// one query.
///
/// ```
/// use std::time::Instant;
/// use bt_tracker::announce::{Config, Progress, Torrent};
/// use bt_tracker::client::Client;
/// use bt_tracker::{InfoHash, PeerId, TrackerUrl};
///
/// let now = Instant::now();
/// let mut rng = rand_core::UnwrapErr(getrandom::SysRng); // the OS's CSPRNG
/// let mut client = Client::new(Config::default(), &mut rng, now).unwrap();
/// let tracker = TrackerUrl::parse("udp://127.0.0.1:6969/announce").unwrap();
/// for n in 0..3u8 {
///     let torrent = Torrent {
///         info_hash: InfoHash([n; 20]),
///         peer_id: PeerId(*b"-BT0001-123456789012"),
///         port: 6881,
///         progress: Progress { left: 1000, ..Progress::default() },
///         key: None,
///     };
///     client.add(now, torrent, vec![vec![tracker.clone()]]).unwrap();
/// }
/// // Three torrents, one tracker: one connect, shared.
/// let mut buf = Vec::new();
/// let connect = client.poll_transmit(&mut buf).unwrap();
/// assert_eq!(connect.len, 16);
/// assert!(client.poll_transmit(&mut buf).is_none());
/// ```
#[derive(Debug)]
pub struct Client {
    ctx: Ctx,
    slots: Vec<Slot>,
    /// Slots whose entry is `None`, for reuse.
    free: Vec<u32>,
    timers: Timers,
    /// Torrents that may have a datagram to send, each once.
    udp_ready: VecDeque<u32>,
    /// Torrents that may have an HTTP request to start, each once.
    http_ready: VecDeque<u32>,
    scrapes: Scrapes,
    /// The slot of the torrent announcing each info hash, until it is freed (a removed torrent
    /// holds its hash until its `Stopped` is drained): one swarm, one torrent, one `key`.
    hashes: HashMap<InfoHash, u32>,
}

/// A torrent's place in the table. The entry is boxed: the table grows by doubling, and its spare
/// capacity then costs a pointer per slot, not a whole session (about 300 bytes).
#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    entry: Option<Box<Entry>>,
}

#[derive(Debug)]
struct Entry {
    session: Session,
    /// The deadline this torrent has in the timer heap.
    armed: Option<Instant>,
    in_udp_ready: bool,
    in_http_ready: bool,
    /// `remove` was called: the slot is freed once the session stopped.
    removing: bool,
    /// The other swarm of a BEP 52 hybrid torrent.
    partner: Option<TorrentId>,
}

/// The most torrents one client holds: a request id names its torrent's slot in 24 bits, and the
/// last slot is the scrape batches'.
pub const MAX_TORRENTS: usize = SLOT_MASK as usize;

fn torrent_id(slot: u32, generation: u32) -> TorrentId {
    TorrentId(u64::from(generation) << 32 | u64::from(slot))
}

fn slot_of(id: TorrentId) -> (u32, u32) {
    ((id.0 & 0xffff_ffff) as u32, (id.0 >> 32) as u32)
}

impl Client {
    /// Creates an empty client. `config` applies to every torrent. `rng` seeds the client's
    /// generator (ChaCha12): the operating system's in production, as for
    /// [`Announce::new`](crate::announce::Announce::new).
    pub fn new<R: CryptoRng + ?Sized>(
        config: Config,
        rng: &mut R,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut ctx = Ctx::new(config, ChaCha12Rng::from_rng(rng), now);
        ctx.batched_scrapes = true;
        Ok(Client {
            ctx,
            slots: Vec::new(),
            free: Vec::new(),
            timers: Timers::default(),
            udp_ready: VecDeque::new(),
            http_ready: VecDeque::new(),
            scrapes: Scrapes::default(),
            hashes: HashMap::new(),
        })
    }

    /// Adds a torrent and queues its first announce (`started`), paced per tracker endpoint by
    /// its window.
    /// `tiers` is its BEP 12 announce list; both are checked as by
    /// [`Announce::new`](crate::announce::Announce::new).
    ///
    /// Fails with [`ConfigError::DuplicateInfoHash`] when a torrent of this client (a removed one
    /// too, until its [`Event::Stopped`] is drained) announces the same info hash.
    pub fn add(
        &mut self,
        now: Instant,
        torrent: Torrent,
        tiers: Vec<Vec<TrackerUrl>>,
    ) -> Result<TorrentId, ConfigError> {
        torrent.validate()?;
        self.check_new_hash(torrent.info_hash)?;
        let tiers = check_tiers(&self.ctx.cfg, tiers)?;
        let now = self.ctx.advance(now);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None if self.slots.len() < MAX_TORRENTS => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
            None => {
                return Err(ConfigError::TooManyTorrents { max: MAX_TORRENTS });
            }
        };
        let id = torrent_id(slot, self.slots[slot as usize].generation);
        self.hashes.insert(torrent.info_hash, slot);
        let session = Session::new(&mut self.ctx, id, torrent, tiers, now);
        self.slots[slot as usize].entry = Some(Box::new(Entry {
            session,
            armed: None,
            in_udp_ready: false,
            in_http_ready: false,
            removing: false,
            partner: None,
        }));
        self.sync(slot);
        self.wake(now);
        Ok(id)
    }

    // ----- internals -----

    /// The torrent is held and not removed: commands apply to it.
    fn live(&self, id: TorrentId) -> bool {
        self.entry(id).is_some_and(|e| !e.removing)
    }

    fn entry(&self, id: TorrentId) -> Option<&Entry> {
        let (slot, generation) = slot_of(id);
        let s = self.slots.get(slot as usize)?;
        s.entry.as_deref().filter(|_| s.generation == generation)
    }

    fn entry_of(&mut self, id: TorrentId) -> Option<&mut Entry> {
        entry_in(&mut self.slots, id)
    }

    /// Runs `f` on a torrent's session and updates the indices that depend on it.
    fn on_session<T>(
        &mut self,
        id: TorrentId,
        f: impl FnOnce(&mut Session, &mut Ctx) -> T,
    ) -> Option<T> {
        entry_in(&mut self.slots, id)?;
        self.on_slot(slot_of(id).0, f)
    }

    /// Hands an input to its owner (`None`: the scrape batches; else a torrent's slot, whose session
    /// checks the input is its own); the clock moves and waiting requests wake only when it was used.
    fn dispatch(
        &mut self,
        owner: Option<u32>,
        now: Instant,
        batch: impl FnOnce(&mut Scrapes, &mut Ctx, Instant, &dyn Fn(TorrentId) -> bool) -> bool,
        session: impl FnOnce(&mut Session, &mut Ctx, Instant) -> bool,
    ) -> bool {
        let now = self.ctx.at(now);
        let used = match owner {
            None => batch(&mut self.scrapes, &mut self.ctx, now, &running(&self.slots)),
            Some(slot) => self
                .on_slot(slot, |s, ctx| session(s, ctx, now))
                .unwrap_or(false),
        };
        if used {
            self.ctx.advance(now);
            self.wake(now);
        }
        used
    }

    /// Runs `f` on the session in `slot`, whatever its generation: for inputs naming a request,
    /// which the session itself checks is its own.
    fn on_slot<T>(&mut self, slot: u32, f: impl FnOnce(&mut Session, &mut Ctx) -> T) -> Option<T> {
        let entry = self.slots.get_mut(slot as usize)?.entry.as_deref_mut()?;
        let out = f(&mut entry.session, &mut self.ctx);
        self.sync(slot);
        Some(out)
    }

    fn command(
        &mut self,
        id: TorrentId,
        now: Instant,
        f: impl FnOnce(&mut Session, &mut Ctx, Instant),
    ) -> bool {
        let now = self.ctx.advance(now);
        let done = self.on_session(id, |s, ctx| f(s, ctx, now)).is_some();
        self.wake(now);
        done
    }

    /// Re-arms the torrent's deadline, queues it for the drains, frees it once removed and stopped.
    fn sync(&mut self, slot: u32) {
        let Some(entry) = self.slots[slot as usize].entry.as_deref_mut() else {
            return;
        };
        let (due, udp, http) = entry.session.status();
        let rearmed = due != entry.armed;
        if rearmed {
            entry.armed = due;
            if let Some(due) = due {
                self.timers.push(due, slot);
            }
        }
        if udp && !entry.in_udp_ready {
            entry.in_udp_ready = true;
            self.udp_ready.push_back(slot);
        }
        if http && !entry.in_http_ready {
            entry.in_http_ready = true;
            self.http_ready.push_back(slot);
        }
        self.clean_timers();
        if rearmed {
            let live = self.len();
            let armed = self.slots.iter().enumerate().filter_map(|(i, s)| {
                let due = s.entry.as_deref()?.armed?;
                Some((due, i as u32))
            });
            self.timers.compact(live, armed);
        }
    }

    /// Frees a removed torrent once its `Stopped` was drained.
    fn free_if_removed(&mut self, torrent: TorrentId) {
        let Some(entry) = entry_in(&mut self.slots, torrent) else {
            return;
        };
        if !(entry.removing && entry.session.is_stopped()) {
            return;
        }
        entry.session.release(&mut self.ctx);
        let slot = slot_of(torrent).0;
        self.hashes.remove(&entry.session.torrent.info_hash);
        let s = &mut self.slots[slot as usize];
        s.entry = None;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
        self.clean_timers();
    }

    /// Drops stale entries from the top of the timer heap, so `poll_timeout` is a deadline some
    /// torrent has (or `None`).
    fn clean_timers(&mut self) {
        let slots = &self.slots;
        self.timers.clean(|slot| {
            slots
                .get(slot as usize)
                .and_then(|s| s.entry.as_deref())
                .and_then(|e| e.armed)
        });
    }

    /// Lets the requests that waited for a connect go on (their connect was just answered), and
    /// gives batched scrape results to their members' tracker status.
    fn wake(&mut self, now: Instant) {
        self.apply_batch_scrapes(now);
        while let Some(id) = self.ctx.woken.pop() {
            if id == BATCHES {
                self.scrapes
                    .handle_timeout(&mut self.ctx, now, &running(&self.slots));
            } else {
                self.on_session(id, |s, ctx| s.drive(ctx, now));
            }
        }
        self.apply_batch_scrapes(now);
        self.queue_scheduled_scrapes(now);
    }

    /// Records the rows of batched scrapes in their members' tracker status, and disables the
    /// trackers a batch found gone.
    fn apply_batch_scrapes(&mut self, now: Instant) {
        while let Some((torrent, tracker, row)) = self.ctx.batch_scraped.pop() {
            if let Some(entry) = entry_in(&mut self.slots, torrent) {
                entry.session.record_scrape(&self.ctx, tracker, now, row);
            }
        }
        let disabled = std::mem::take(&mut self.ctx.batch_disabled);
        for (torrent, tracker) in disabled {
            self.on_session(torrent, |s, ctx| s.disable(ctx, tracker));
        }
    }
}

/// The live entry `id` names.
fn entry_in(slots: &mut [Slot], id: TorrentId) -> Option<&mut Entry> {
    let (slot, generation) = slot_of(id);
    let s = slots.get_mut(slot as usize)?;
    s.entry
        .as_deref_mut()
        .filter(|_| s.generation == generation)
}

/// Whether a torrent exists and is not being removed: it still wants scrape results.
impl Client {
    /// Whether any torrent runs: not removed, not stopped.
    fn any_running(&self) -> bool {
        self.slots.iter().any(|s| {
            s.entry
                .as_deref()
                .is_some_and(|e| !e.removing && !e.session.is_stopped())
        })
    }
}

fn running(slots: &[Slot]) -> impl Fn(TorrentId) -> bool + '_ {
    move |id| {
        let (slot, generation) = slot_of(id);
        slots.get(slot as usize).is_some_and(|s| {
            s.generation == generation && s.entry.as_deref().is_some_and(|e| !e.removing)
        })
    }
}

/// The owner of request `id`: the scrape batches (`None`) or a torrent's slot.
fn request_owner(id: RequestId) -> Option<u32> {
    let slot = owner_slot(id);
    (slot != SLOT_MASK).then_some(slot)
}
