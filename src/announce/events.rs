//! The event queue: first in, first out, bounded by what the caller controls (torrents and their
//! trackers), never by a count one call can overflow.
//!
//! Every request ends in one outcome (`Announced`, `Scraped` or `Failed`). While an outcome waits to
//! be drained, a later outcome of the same torrent, tracker and request kind (announce or scrape)
//! takes its place in the queue: the newer peer list, interval or failure supersedes the older one,
//! and [`superseded`](EventQueue::superseded) counts it. `TrackerDisabled` comes at most once per
//! tracker and `Stopped` once per torrent, so a torrent never has more than `3 * trackers + 1`
//! events waiting, and nothing else is ever dropped.

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
    /// The number of the outcome waiting per key.
    waiting: HashMap<Key, u64, OwnKeys>,
    superseded: u64,
}

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
        let Some(key) = key(torrent, &event) else {
            self.queue.push_back((torrent, event));
            return;
        };
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
        if let Some(key) = key(torrent, &event)
            && self.waiting.get(&key) == Some(&self.popped)
        {
            self.waiting.remove(&key);
        }
        self.popped += 1;
        Some((torrent, event))
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
}
