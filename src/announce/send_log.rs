//! The window's record of datagrams in flight, by send number: a sorted log with the one-entry
//! case inline.
//!
//! Send numbers only grow, so a new entry goes at the back, answers mostly take the front, and a
//! lookup is a binary search. An endpoint with one datagram in flight (every re-announce of a
//! torrent alone on its tracker) keeps it inline: a round trip allocates nothing, and an idle
//! endpoint holds no heap. A `BTreeMap` allocated and freed a node per round trip here.

use std::collections::VecDeque;
use std::time::Instant;

use super::event::TorrentId;

/// When a datagram was sent, and for which torrent.
pub(crate) type Sent = (Instant, TorrentId);

/// Datagrams in flight by send number (at most one per exchange admitted to the window).
#[derive(Debug, Default)]
pub(crate) struct SendLog {
    /// The only entry, while there is one.
    one: Option<(u64, Sent)>,
    /// Every entry, sorted, while there are more (`one` is then `None`).
    more: VecDeque<(u64, Sent)>,
}

impl SendLog {
    /// No datagram in flight.
    pub(crate) fn is_empty(&self) -> bool {
        self.one.is_none() && self.more.is_empty()
    }

    /// Records send `n` (replacing a record under the same number).
    #[inline]
    pub(crate) fn insert(&mut self, n: u64, sent: Sent) {
        if self.is_empty() {
            self.one = Some((n, sent));
        } else {
            self.insert_more(n, sent);
        }
    }

    fn insert_more(&mut self, n: u64, sent: Sent) {
        if let Some(one) = self.one.take() {
            self.more.push_back(one);
        }
        match self.more.back() {
            Some(&(last, _)) if last < n => self.more.push_back((n, sent)),
            _ => match self.more.binary_search_by_key(&n, |&(k, _)| k) {
                Ok(at) => self.more[at] = (n, sent),
                Err(at) => self.more.insert(at, (n, sent)),
            },
        }
    }

    /// Takes the record of send `n`.
    #[inline]
    pub(crate) fn remove(&mut self, n: &u64) -> Option<Sent> {
        match self.one {
            Some((k, sent)) if k == *n => {
                self.one = None;
                Some(sent)
            }
            _ => self.remove_more(n),
        }
    }

    fn remove_more(&mut self, n: &u64) -> Option<Sent> {
        let at = match self.more.front() {
            Some(&(k, _)) if k == *n => 0,
            _ => self.more.binary_search_by_key(n, |&(k, _)| k).ok()?,
        };
        let (_, sent) = self.more.remove(at)?;
        if self.more.is_empty() {
            // Back to none in flight: the burst's buffer goes (an idle endpoint holds no heap).
            self.more = VecDeque::new();
        }
        Some(sent)
    }

    /// Send `n` is recorded.
    pub(crate) fn contains_key(&self, n: &u64) -> bool {
        match self.one {
            Some((k, _)) => k == *n,
            None => self.more.binary_search_by_key(n, |&(k, _)| k).is_ok(),
        }
    }

    /// The oldest send recorded.
    pub(crate) fn first_key_value(&self) -> Option<(&u64, &Sent)> {
        self.one
            .as_ref()
            .or_else(|| self.more.front())
            .map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_origin::test_origin;
    use std::collections::BTreeMap;
    use std::time::Duration;

    #[test]
    fn the_log_agrees_with_an_ordered_map_on_every_operation() {
        let t0 = test_origin();
        let mut log = SendLog::default();
        let mut map = BTreeMap::new();
        // A deterministic mix of in-order sends, answers in and out of order, and repeats.
        let mut x: u64 = 0x9e37_79b9;
        let mut next = 0u64;
        for step in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = x >> 33;
            let sent = (t0 + Duration::from_millis(step), TorrentId(r % 7));
            match r % 5 {
                0 | 1 => {
                    log.insert(next, sent);
                    map.insert(next, sent);
                    next += 1;
                }
                2 => {
                    let n = next.saturating_sub(1 + r % 4);
                    log.insert(n, sent);
                    map.insert(n, sent);
                }
                3 => {
                    let n = map.keys().next().copied().unwrap_or(0);
                    assert_eq!(log.remove(&n), map.remove(&n));
                }
                _ => {
                    let n = next.saturating_sub(r % 6);
                    assert_eq!(log.remove(&n), map.remove(&n));
                }
            }
            let n = next.saturating_sub(r % 3);
            assert_eq!(log.contains_key(&n), map.contains_key(&n));
            assert_eq!(log.first_key_value(), map.first_key_value());
            assert_eq!(log.is_empty(), map.is_empty());
        }
    }

    #[test]
    fn one_datagram_in_flight_needs_no_heap_and_an_emptied_log_frees_its_buffer() {
        let t0 = test_origin();
        let mut log = SendLog::default();
        log.insert(1, (t0, TorrentId(1)));
        assert_eq!(log.more.capacity(), 0);
        log.insert(2, (t0, TorrentId(2)));
        assert!(log.more.capacity() >= 2);
        assert!(log.remove(&1).is_some() && log.remove(&2).is_some());
        assert_eq!(log.more.capacity(), 0);
        assert!(log.is_empty());
    }
}
