//! What a client's "Trackers" tab shows, read from the machine without replaying its events:
//! [`TrackerStatus`] per tracker, kept up to date as each outcome is applied, so the snapshot and
//! the event stream always agree.

use std::time::Instant;

use super::event::{Cause, TrackerId};
use crate::{AnnounceEvent, TrackerUrl};

/// Where a tracker stands, as a tracker list shows it (libtorrent's `announce_entry`,
/// Transmission's `tr_tracker_view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrackerState {
    /// Nothing has been sent to it yet, or nothing has come back.
    NotContacted,
    /// An announce to it is in flight (or waiting for a place in its endpoint's window).
    Updating,
    /// Its last announce was answered. A paused torrent's trackers keep the state of their last
    /// announce: see [`TrackerStatus::paused`].
    Working,
    /// Its last announce failed (see [`TrackerStatus::last_error`] and
    /// [`TrackerStatus::failures`]); it will be tried again.
    NotWorking,
    /// It asked never to be contacted again (HTTP 410, BEP 31 `retry in: never`).
    Disabled,
}

/// Which reply the swarm counts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CountsSource {
    /// An announce reply (`complete`/`incomplete`, or UDP's seeders/leechers).
    Announce,
    /// A scrape reply (BEP 48, or a BEP 15 scrape).
    Scrape,
}

/// A swarm's size as one tracker last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SwarmCounts {
    /// Seeders (`complete`), when sent.
    pub seeders: Option<u32>,
    /// Leechers (`incomplete`), when sent.
    pub leechers: Option<u32>,
    /// Completed downloads ever (`downloaded`): scrapes only.
    pub completed: Option<u32>,
    /// Which reply they came from.
    pub source: CountsSource,
    /// When that reply came.
    pub at: Instant,
}

/// One tracker of one torrent, from [`Announce::trackers`](super::Announce::trackers) or
/// [`Client::trackers`](crate::client::Client::trackers): everything a tracker tab draws. Reading
/// it allocates nothing; the borrowed fields live as long as the machine is not changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerStatus<'a> {
    /// The tracker's id in events and outputs.
    pub id: TrackerId,
    /// Its URL.
    pub url: &'a TrackerUrl,
    /// Its BEP 12 tier (0 is the first): its place in the tier list as it is now. Under BEP 7
    /// dual-stack both families of a URL show the same tier. A tier that holds no tracker does
    /// not count, so later tiers move up by one when
    /// [`remove_tracker`](super::Announce::remove_tracker) empties a tier, and a list given with
    /// a tier whose trackers all repeat earlier ones (any spelling of the same tracker, see
    /// [`TrackerUrl`]) numbers the tiers after it one lower.
    pub tier: usize,
    /// Where it stands.
    pub state: TrackerState,
    /// Announces that failed in a row since the last one answered (0 when working).
    pub failures: u32,
    /// Why its last failed announce failed, and when.
    pub last_error: Option<(&'a Cause, Instant)>,
    /// The tracker's last words: its `warning message`, or the text of its last refusal, at most
    /// [`MAX_TRACKER_TEXT_LEN`](crate::limits::MAX_TRACKER_TEXT_LEN) bytes (a longer text is cut
    /// at a character boundary).
    pub message: Option<&'a str>,
    /// When its last announce was answered.
    pub last_announce: Option<Instant>,
    /// When its next announce is due: `None` while one is in flight, when another tracker of
    /// its tier is next, or once the torrent stops or the tracker is disabled.
    pub next_announce: Option<Instant>,
    /// The earliest announce without an event it allows (`min interval`).
    pub min_announce: Option<Instant>,
    /// Peers in its last announce reply other than a `stopped` one (after dropping unusable entries
    /// and this client). The reply to `stopped` (from [`stop`](super::Announce::stop), `pause` or
    /// a removal) lists no peers and, from many trackers, zero counts, which says nothing about the
    /// swarm: it is not shown here, so a stopped or paused torrent keeps what its tracker last said.
    pub peers: Option<u32>,
    /// The swarm's size from its last announce or scrape reply, whichever came later, leaving out
    /// the reply to `stopped` as [`peers`](Self::peers) does; see [`SwarmCounts::at`] for its age.
    pub counts: Option<SwarmCounts>,
    /// It sent a `tracker id`, which is echoed on every announce.
    pub has_tracker_id: bool,
    /// The one address family this tracker is announced over, with
    /// [`Families`](super::Families) other than `Any` (in dual-stack mode a tracker named by a host
    /// name appears once per family, each with its own id, state and schedule); `None`: any.
    pub family: Option<crate::AddressFamily>,
    /// The torrent is paused ([`Announce::pause`](super::Announce::pause),
    /// [`Client::pause`](crate::client::Client::pause)): nothing is announced to this tracker until
    /// it is resumed, so [`next_announce`](Self::next_announce) is `None`. [`state`](Self::state)
    /// keeps what the last announce said ([`Updating`](TrackerState::Updating) while the pause's
    /// `stopped` is in flight); a tracker tab shows "paused" over it.
    pub paused: bool,
}

/// What the machine remembers of a tracker for its status; updated where outcomes are applied.
/// Packed (64 bytes, not the 88 of the public types' layout): a `Client` holds one per tracker
/// per torrent.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub(crate) last_announce: Option<Instant>,
    /// When the swarm counts came (`None`: no counts yet).
    counts_at: Option<Instant>,
    pub(crate) failures: u32,
    peers: u32,
    seeders: u32,
    leechers: u32,
    completed: u32,
    /// Which of `peers`, `seeders`, `leechers` and `completed` are set ([`HAS_PEERS`] ...), and
    /// whether the counts came from a scrape ([`FROM_SCRAPE`]).
    flags: u8,
    /// Rare, so boxed: an idle tracker that works holds none.
    pub(crate) detail: Option<Box<Detail>>,
}

const HAS_PEERS: u8 = 1;
const HAS_SEEDERS: u8 = 2;
const HAS_LEECHERS: u8 = 4;
const HAS_COMPLETED: u8 = 8;
const FROM_SCRAPE: u8 = 16;

/// The last error and message.
#[derive(Debug, Default)]
pub(crate) struct Detail {
    pub(crate) error: Option<(Cause, Instant)>,
    pub(crate) message: Option<Box<str>>,
}

impl Record {
    /// An announce with `event` was answered. The reply to `stopped` leaves the peers and counts
    /// alone: it describes this client leaving, not the swarm.
    pub(crate) fn announced(
        &mut self,
        now: Instant,
        event: AnnounceEvent,
        peers: usize,
        seeders: Option<u32>,
        leechers: Option<u32>,
        warning: Option<&str>,
    ) {
        self.last_announce = Some(now);
        self.failures = 0;
        if event != AnnounceEvent::Stopped {
            self.peers = u32::try_from(peers).unwrap_or(u32::MAX);
            self.flags |= HAS_PEERS;
        }
        if event != AnnounceEvent::Stopped && (seeders.is_some() || leechers.is_some()) {
            self.set_counts(now, seeders, leechers, None, CountsSource::Announce);
        }
        if let Some(warning) = warning {
            self.detail_mut().message = Some(warning.into());
        }
    }

    /// An announce failed (a cancellation by `stop` is not the tracker's failure).
    pub(crate) fn failed(&mut self, now: Instant, cause: &Cause) {
        if *cause == Cause::Cancelled {
            return;
        }
        self.failures = self.failures.saturating_add(1);
        let detail = self.detail_mut();
        if let Cause::Tracker { reason, .. } | Cause::RetryNever { reason } = cause {
            detail.message = Some(reason.as_str().into());
        }
        detail.error = Some((cause.clone(), now));
    }

    /// A scrape was answered.
    pub(crate) fn scraped(
        &mut self,
        now: Instant,
        seeders: Option<u32>,
        leechers: Option<u32>,
        completed: Option<u32>,
    ) {
        self.set_counts(now, seeders, leechers, completed, CountsSource::Scrape);
    }

    fn set_counts(
        &mut self,
        at: Instant,
        seeders: Option<u32>,
        leechers: Option<u32>,
        completed: Option<u32>,
        source: CountsSource,
    ) {
        let mut flags = self.flags & HAS_PEERS;
        for (value, slot, bit) in [
            (seeders, &mut self.seeders, HAS_SEEDERS),
            (leechers, &mut self.leechers, HAS_LEECHERS),
            (completed, &mut self.completed, HAS_COMPLETED),
        ] {
            *slot = value.unwrap_or(0);
            flags |= if value.is_some() { bit } else { 0 };
        }
        if source == CountsSource::Scrape {
            flags |= FROM_SCRAPE;
        }
        self.flags = flags;
        self.counts_at = Some(at);
    }

    /// Peers in the last announce reply.
    pub(crate) fn peers(&self) -> Option<u32> {
        (self.flags & HAS_PEERS != 0).then_some(self.peers)
    }

    /// The swarm's size from the last announce or scrape reply that had it.
    pub(crate) fn counts(&self) -> Option<SwarmCounts> {
        let get = |value: u32, bit: u8| (self.flags & bit != 0).then_some(value);
        Some(SwarmCounts {
            seeders: get(self.seeders, HAS_SEEDERS),
            leechers: get(self.leechers, HAS_LEECHERS),
            completed: get(self.completed, HAS_COMPLETED),
            source: if self.flags & FROM_SCRAPE != 0 {
                CountsSource::Scrape
            } else {
                CountsSource::Announce
            },
            at: self.counts_at?,
        })
    }

    fn detail_mut(&mut self) -> &mut Detail {
        self.detail.get_or_insert_with(Box::default)
    }

    pub(crate) fn last_error(&self) -> Option<(&Cause, Instant)> {
        let (cause, at) = self.detail.as_ref()?.error.as_ref()?;
        Some((cause, *at))
    }

    pub(crate) fn message(&self) -> Option<&str> {
        self.detail.as_ref()?.message.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_origin::test_origin;
    use std::time::Duration;

    #[test]
    fn the_packed_record_gives_back_every_count_and_source_it_was_given() {
        let t0 = test_origin();
        let mut r = Record::default();
        assert_eq!((r.peers(), r.counts()), (None, None));
        r.announced(t0, AnnounceEvent::Started, 7, Some(u32::MAX), None, None);
        assert_eq!(r.peers(), Some(7));
        let counts = SwarmCounts {
            seeders: Some(u32::MAX),
            leechers: None,
            completed: None,
            source: CountsSource::Announce,
            at: t0,
        };
        assert_eq!(r.counts(), Some(counts));
        let t1 = t0 + Duration::from_secs(5);
        r.scraped(t1, None, Some(0), Some(3));
        let scraped = SwarmCounts {
            seeders: None,
            leechers: Some(0),
            completed: Some(3),
            source: CountsSource::Scrape,
            at: t1,
        };
        assert_eq!((r.peers(), r.counts()), (Some(7), Some(scraped)));
        // An announce without counts keeps the scrape's.
        r.announced(t1, AnnounceEvent::Regular, 4, None, None, None);
        assert_eq!((r.peers(), r.counts()), (Some(4), Some(scraped)));
        // The reply to `stopped` keeps both.
        let t2 = t1 + Duration::from_secs(5);
        r.announced(t2, AnnounceEvent::Stopped, 0, Some(0), Some(0), None);
        assert_eq!((r.peers(), r.counts()), (Some(4), Some(scraped)));
        assert_eq!(r.last_announce, Some(t2));
    }
}
