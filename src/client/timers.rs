//! The Client's deadlines: a binary heap of (deadline, torrent slot) with lazy invalidation. Each
//! torrent records the one deadline it has armed; a heap entry that no longer matches is stale and
//! skipped when it reaches the top. Pushing and popping cost O(log n); nothing scans the torrents.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// The heap. Stale entries are bounded: when they outnumber the live torrents the heap is rebuilt.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
}

impl Timers {
    pub(crate) fn push(&mut self, due: Instant, slot: u32) {
        self.heap.push(Reverse((due, slot)));
    }

    /// Drops stale entries from the top, so [`peek`](Self::peek) is a deadline some torrent armed.
    pub(crate) fn clean(&mut self, armed: impl Fn(u32) -> Option<Instant>) {
        while let Some(&Reverse((due, slot))) = self.heap.peek() {
            if armed(slot) == Some(due) {
                break;
            }
            self.heap.pop();
        }
    }

    pub(crate) fn peek(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((due, _))| *due)
    }

    /// The next entry due at `now`, stale or not (the caller checks).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, u32)> {
        match self.heap.peek() {
            Some(&Reverse((due, _))) if due <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Rebuilds the heap from the armed deadlines when stale entries dominate (amortised O(1) per
    /// push: a rebuild of n entries follows at least n stale pushes).
    pub(crate) fn compact(&mut self, live: usize, armed: impl Iterator<Item = (Instant, u32)>) {
        if self.heap.len() > 2 * live + 64 {
            self.heap = armed.map(Reverse).collect();
        }
    }
}
