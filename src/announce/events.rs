//! The event queue: first in, first out, bounded by what the caller controls (torrents and their
//! trackers), never by a count one call can overflow.
//!
//! Every request ends in one outcome (`Announced`, `Scraped` or `Failed`). While an outcome waits to
//! be drained, a later outcome of the same torrent, tracker and request kind (announce or scrape)
//! takes its place in the queue: the newer peer list, interval or failure supersedes the older one,
//! and [`superseded`](EventQueue::superseded) counts it. `TrackerDisabled` comes at most once per
//! tracker and `Stopped` once per torrent, so a torrent never has more than `3 * ids + 1` events
//! waiting, where `ids` counts its tracker ids in use: the trackers listed, and removed ones until
//! nothing of theirs is in flight or waiting (their outcomes, their `stopped`'s included, are owed
//! to the caller, so an id is not given to another tracker before they are drained). Ids are
//! capped at 65,536 per torrent (`EditError::NoFreeId`). Nothing else is ever dropped.

use std::collections::{HashMap, VecDeque};

use super::ctx::OwnKeys;
use super::event::{Event, Failed, RequestKind, TorrentId, TrackerId};

/// What an outcome supersedes: the same torrent, tracker and kind (`true` for scrapes).
type Key = (TorrentId, TrackerId, bool);

/// The queue.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    queue: VecDeque<(TorrentId, Event)>,
    /// Events popped so far: the front of `queue` is event number `popped`.
    popped: u64,
    /// The number of the outcome waiting per key, kept while `indexed`.
    waiting: HashMap<Key, u64, OwnKeys>,
    /// The queue grew past [`SCANNED`] since it was last empty: outcomes are found through
    /// `waiting`. A short queue is scanned instead (a round trip's one event costs no hashing).
    indexed: bool,
    superseded: u64,
    /// Queue entries visited by edits' scans (tests count the cost of an edit with it).
    #[cfg(test)]
    scanned: std::cell::Cell<u64>,
}

/// The longest queue searched by a scan for the outcome a new one supersedes.
const SCANNED: usize = 8;

/// The key of an outcome; `None` for events that are never superseded.
fn key(torrent: TorrentId, event: &Event) -> Option<Key> {
    match event {
        Event::Announced(a) => Some((torrent, a.tracker, false)),
        Event::Scraped(s) => Some((torrent, s.tracker, true)),
        Event::Failed(Failed {
            tracker, request, ..
        }) => Some((torrent, *tracker, *request == RequestKind::Scrape)),
        _ => None,
    }
}

impl EventQueue {
    pub(crate) fn push(&mut self, torrent: TorrentId, event: Event) {
        if self.queue.capacity() == 0 {
            // Room for one: a torrent's round trip queues one event at a time, and an idle
            // `Announce` keeps this buffer (a first push would otherwise allocate four, 544 bytes).
            self.queue.reserve_exact(1);
        }
        let Some(key) = key(torrent, &event) else {
            self.queue.push_back((torrent, event));
            return;
        };
        if !self.indexed {
            if let Some(slot) = self
                .queue
                .iter_mut()
                .find(|(t, e)| self::key(*t, e) == Some(key))
            {
                *slot = (torrent, event);
                self.superseded += 1;
                return;
            }
            self.queue.push_back((torrent, event));
            if self.queue.len() > SCANNED {
                self.index();
            }
            return;
        }
        if let Some(&at) = self.waiting.get(&key)
            && let Some(slot) = self.queue.get_mut((at - self.popped) as usize)
        {
            *slot = (torrent, event);
            self.superseded += 1;
            return;
        }
        self.waiting
            .insert(key, self.popped + self.queue.len() as u64);
        self.queue.push_back((torrent, event));
    }

    pub(crate) fn pop(&mut self) -> Option<(TorrentId, Event)> {
        let (torrent, event) = self.queue.pop_front()?;
        if self.indexed {
            if let Some(key) = key(torrent, &event)
                && self.waiting.get(&key) == Some(&self.popped)
            {
                self.waiting.remove(&key);
            }
            if self.queue.is_empty() {
                self.waiting.clear();
                self.indexed = false;
            }
        }
        self.popped += 1;
        Some((torrent, event))
    }

    /// Starts finding outcomes through `waiting` (the queue holds at most one per key).
    fn index(&mut self) {
        self.waiting.clear();
        for (i, (t, e)) in self.queue.iter().enumerate() {
            if let Some(key) = key(*t, e) {
                self.waiting.insert(key, self.popped + i as u64);
            }
        }
        self.indexed = true;
    }

    /// Which of `torrent`'s tracker ids have an event waiting to be drained, as flags indexed by
    /// id (`slots` long): such an id is not free for another tracker until then, or a later
    /// outcome of the new one would take the waiting one's place. One scan of the queue, so an
    /// edit that checks every slot costs O(slots + queue), not O(slots x queue).
    pub(crate) fn waiting_trackers(&self, torrent: TorrentId, slots: usize) -> Vec<bool> {
        let mut waiting = vec![false; slots];
        #[cfg(test)]
        self.scanned
            .set(self.scanned.get() + self.queue.len() as u64);
        for (t, e) in &self.queue {
            if *t != torrent {
                continue;
            }
            let tracker = match e {
                Event::Announced(a) => a.tracker,
                Event::Scraped(s) => s.tracker,
                Event::Failed(f) => f.tracker,
                Event::TrackerDisabled { tracker } => *tracker,
                _ => continue,
            };
            if let Some(w) = waiting.get_mut(usize::from(tracker.0)) {
                *w = true;
            }
        }
        waiting
    }

    /// Queue entries visited by [`waiting_trackers`](Self::waiting_trackers) so far (the cost of
    /// edits, counted by tests).
    #[cfg(test)]
    pub(crate) fn scanned(&self) -> u64 {
        self.scanned.get()
    }

    /// Events waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Outcomes replaced by a later outcome of the same torrent, tracker and kind before they were
    /// drained.
    pub(crate) fn superseded(&self) -> u64 {
        self.superseded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AnnounceEvent;
    use crate::announce::event::{Cause, RequestId};

    fn failed(tracker: u16, request: RequestKind, id: u64) -> Event {
        Event::Failed(Failed {
            id: RequestId(id),
            tracker: TrackerId(tracker),
            request,
            cause: Cause::Timeout,
        })
    }

    #[test]
    fn a_later_outcome_of_the_same_tracker_and_kind_takes_the_waiting_ones_place() {
        let announce = RequestKind::Announce(AnnounceEvent::Regular);
        let (a, b) = (TorrentId(1), TorrentId(2));
        let mut q = EventQueue::default();
        q.push(a, failed(0, announce, 1));
        q.push(a, failed(0, RequestKind::Scrape, 2));
        q.push(b, failed(0, announce, 3));
        q.push(
            a,
            Event::TrackerDisabled {
                tracker: TrackerId(0),
            },
        );
        q.push(a, failed(0, announce, 4));
        assert_eq!(q.len(), 4);
        assert_eq!(q.superseded(), 1);
        assert_eq!(q.pop(), Some((a, failed(0, announce, 4))));
        // Drained: the next outcome queues behind the rest.
        q.push(a, failed(0, announce, 5));
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            rest,
            vec![
                (a, failed(0, RequestKind::Scrape, 2)),
                (b, failed(0, announce, 3)),
                (
                    a,
                    Event::TrackerDisabled {
                        tracker: TrackerId(0)
                    }
                ),
                (a, failed(0, announce, 5)),
            ]
        );
        assert_eq!(q.superseded(), 1);
    }

    #[test]
    fn stopped_and_disabled_are_never_superseded() {
        let mut q = EventQueue::default();
        for _ in 0..3 {
            q.push(TorrentId(1), Event::Stopped);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.superseded(), 0);
    }

    #[test]
    fn short_scanned_and_long_indexed_queues_supersede_alike() {
        // A model that always scans, against the queue across the index threshold both ways:
        // long bursts of pushes (indexed), then drains to empty (scanned again).
        let mut q = EventQueue::default();
        let mut model: VecDeque<(TorrentId, Event)> = VecDeque::new();
        let mut x: u64 = 12345;
        let mut id = 0;
        for round in 0..200u64 {
            let burst = if round % 3 == 0 { 30 } else { 5 };
            for _ in 0..burst {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                id += 1;
                let kind = if x >> 40 & 1 == 0 {
                    RequestKind::Scrape
                } else {
                    RequestKind::Announce(crate::AnnounceEvent::Regular)
                };
                let torrent = TorrentId(x >> 50 & 7);
                let event = failed((x >> 45 & 3) as u16, kind, id);
                let k = key(torrent, &event);
                match model.iter_mut().find(|(t, e)| key(*t, e) == k) {
                    Some(slot) => *slot = (torrent, event.clone()),
                    None => model.push_back((torrent, event.clone())),
                }
                q.push(torrent, event);
            }
            let pops = if round % 2 == 0 { 40 } else { 3 };
            for _ in 0..pops {
                assert_eq!(q.pop(), model.pop_front());
            }
            assert_eq!(q.len(), model.len());
        }
    }
}
