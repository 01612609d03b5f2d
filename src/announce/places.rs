//! Places and the queue for them: how many exchanges an endpoint (or every HTTP host together)
//! lets run at once, and who waits for a place, urgent ones first, then in order of arrival. A
//! UDP endpoint's [`Window`](super::window::Window) sizes its places; HTTP's are fixed
//! ([`Config::http_per_host`](super::config::Config::http_per_host) per host,
//! [`Config::http_max_in_flight`](super::config::Config::http_max_in_flight) across hosts).

use std::collections::BTreeMap;

use super::event::TorrentId;

/// Where an exchange stands with its endpoint's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Admitted: it holds one place in the window until it is dropped.
    Admitted,
    /// Waiting in the queue under this ticket.
    Queued(Ticket),
}

/// A place in an endpoint's queue: urgent tickets sort first, then by arrival. One word (the
/// top bit says regular, the rest is the arrival number): every waiting request holds one, and
/// its queue entry is one more (the start-up peak of tens of thousands of torrents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket(u64);

impl Ticket {
    const REGULAR: u64 = 1 << 63;

    /// The `seq`-th ticket handed out (fewer than 2^63: one a nanosecond would take 292 years).
    fn new(regular: bool, seq: u64) -> Self {
        Ticket(seq & !Self::REGULAR | if regular { Self::REGULAR } else { 0 })
    }

    fn regular(self) -> bool {
        self.0 & Self::REGULAR != 0
    }
}

/// The exchanges holding a place, and the queue of those waiting for one (ordered: same seed,
/// same order). An idle one holds no heap.
#[derive(Debug, Default)]
pub(crate) struct Places {
    in_flight: u32,
    queue: BTreeMap<Ticket, TorrentId>,
    next_ticket: u64,
}

/// The HTTP requests in flight across all hosts ([`Config::http_max_in_flight`]): an HTTP
/// exchange takes a place here once its host's window admitted it.
///
/// [`Config::http_max_in_flight`]: super::config::Config::http_max_in_flight
pub(crate) type Slots = Places;

impl Places {
    /// A place now when fewer than `limit` (at least one) are taken and nobody waits ahead,
    /// else a ticket. An urgent exchange waits only behind urgent ones; a regular one behind
    /// anybody.
    pub(crate) fn admit(&mut self, limit: u32, torrent: TorrentId, urgent: bool) -> Place {
        let ahead = self
            .queue
            .keys()
            .next()
            .is_some_and(|t| !t.regular() || !urgent);
        if self.in_flight < limit.max(1) && !ahead {
            self.in_flight += 1;
            return Place::Admitted;
        }
        let ticket = Ticket::new(!urgent, self.next_ticket);
        self.next_ticket += 1;
        self.queue.insert(ticket, torrent);
        Place::Queued(ticket)
    }

    /// A waiting regular exchange becomes urgent (the user asked for it now): it moves ahead of
    /// every regular one. Returns its new ticket.
    pub(crate) fn promote(&mut self, ticket: Ticket) -> Ticket {
        if !ticket.regular() {
            return ticket;
        }
        let Some(torrent) = self.queue.remove(&ticket) else {
            return ticket;
        };
        let urgent = Ticket::new(false, self.next_ticket);
        self.next_ticket += 1;
        self.queue.insert(urgent, torrent);
        urgent
    }

    /// The ticket was given a place (it left the queue).
    pub(crate) fn admitted(&self, ticket: Ticket) -> bool {
        !self.queue.contains_key(&ticket)
    }

    /// The holder of `place` leaves the queue if it waits there: `true`. `false` when it holds a
    /// place (admitted, or queued and admitted by a drain it never saw).
    pub(crate) fn dequeue(&mut self, place: Place) -> bool {
        let Place::Queued(ticket) = place else {
            return false;
        };
        let waited = self.queue.remove(&ticket).is_some();
        self.shrink();
        waited
    }

    /// `n` places come free (call [`drain`](Self::drain) to hand them on).
    pub(crate) fn release(&mut self, n: u32) {
        self.in_flight = self.in_flight.saturating_sub(n);
    }

    /// The holder of `place` is dropped: it leaves the queue, or its place goes to the next in
    /// line, whose torrent is woken.
    pub(crate) fn leave(&mut self, limit: u32, place: Place, woken: &mut Vec<TorrentId>) {
        if !self.dequeue(place) {
            self.release(1);
            self.drain(limit, woken);
        }
    }

    /// Somebody waits for a place.
    pub(crate) fn waiting(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Gives places to the head of the queue while fewer than `limit` (at least one) are taken;
    /// their torrents are woken to send.
    pub(crate) fn drain(&mut self, limit: u32, woken: &mut Vec<TorrentId>) {
        while self.in_flight < limit.max(1) {
            let Some((_, torrent)) = self.queue.pop_first() else {
                break;
            };
            self.in_flight += 1;
            woken.push(torrent);
        }
        self.shrink();
    }

    /// Places taken.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Frees the queue's nodes once it is empty (an idle endpoint holds no heap).
    fn shrink(&mut self) {
        if self.queue.is_empty() {
            self.queue = BTreeMap::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_place_goes_to_the_first_urgent_waiter_and_a_cancelled_waiter_takes_none() {
        let mut places = Places::default();
        let mut woken = Vec::new();
        assert_eq!(places.admit(1, TorrentId(1), false), Place::Admitted);
        let Place::Queued(regular) = places.admit(1, TorrentId(2), false) else {
            panic!("the only place is taken");
        };
        let Place::Queued(urgent) = places.admit(1, TorrentId(3), true) else {
            panic!("the only place is taken");
        };
        // A waiter that gives up leaves the queue and frees nothing.
        places.leave(1, Place::Queued(regular), &mut woken);
        assert!(woken.is_empty());
        assert_eq!(places.in_flight(), 1);
        // The holder leaves: its place goes to the urgent waiter at once.
        places.leave(1, Place::Admitted, &mut woken);
        assert_eq!(woken, [TorrentId(3)]);
        assert!(places.admitted(urgent));
        assert_eq!(places.in_flight(), 1);
        // Admitted by that drain, the ticket holds a place, which its holder gives back.
        places.leave(1, Place::Queued(urgent), &mut woken);
        assert_eq!(places.in_flight(), 0);
        assert!(!places.waiting());
    }

    #[test]
    fn a_promoted_waiter_moves_ahead_of_regular_ones_but_not_of_urgent_ones() {
        let mut places = Places::default();
        let mut woken = Vec::new();
        assert_eq!(places.admit(1, TorrentId(0), false), Place::Admitted);
        let _ = places.admit(1, TorrentId(1), false);
        let _ = places.admit(1, TorrentId(2), true);
        let Place::Queued(late) = places.admit(1, TorrentId(3), false) else {
            panic!("the only place is taken");
        };
        let promoted = places.promote(late);
        assert_ne!(promoted, late);
        assert_eq!(places.promote(promoted), promoted, "already urgent");
        for _ in 0..3 {
            places.release(1);
            places.drain(1, &mut woken);
        }
        assert_eq!(woken, [TorrentId(2), TorrentId(3), TorrentId(1)]);
    }
}
