//! The [`Client`]'s drains: DNS queries, datagrams, HTTP requests, the next deadline and events,
//! in the order of the drain rule (see [`Client`]).

use std::time::Instant;

use super::Client;
use crate::announce::{DnsQuery, Event, HttpRequest, TorrentId, Transmit};
use crate::announce::{fill_transmit, is_never};

impl Client {
    /// The next host name to resolve, as
    /// [`Announce::poll_dns_query`](crate::Announce::poll_dns_query): one query per name at a time
    /// for every torrent and tracker URL of the client, and none for a name whose answer (or
    /// failure) is cached. Answer with [`handle_dns_response`](Self::handle_dns_response).
    #[must_use]
    pub fn poll_dns_query(&mut self) -> Option<DnsQuery> {
        self.ctx.dns.poll_query()
    }

    /// The next datagram to send: written into `buf`, which it replaces (`buf` holds exactly the
    /// datagram, `transmit.len` bytes; empty when there is none), and where it goes (always an
    /// address: the machine resolved the tracker's name) and whose it is.
    ///
    /// Reuse one `Vec`: it grows to [`MAX_REQUEST_LEN`](crate::udp::MAX_REQUEST_LEN) bytes once and then never allocates again
    /// (see [`Announce::poll_transmit`](crate::Announce::poll_transmit) for why a `Vec`).
    #[must_use]
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        fill_transmit(buf, |buf| self.next_transmit(buf))
    }

    /// Writes the next datagram into `buf` (at least `MAX_REQUEST_LEN` bytes).
    fn next_transmit(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        if let Some(transmit) = self.scrapes.poll_transmit(buf) {
            return Some(transmit);
        }
        while let Some(&slot) = self.udp_ready.front() {
            let ctx = &self.ctx;
            let Some(entry) = self.slots[slot as usize].entry.as_deref_mut() else {
                self.udp_ready.pop_front();
                continue;
            };
            if let Some(transmit) = entry.session.poll_transmit(ctx, buf) {
                return Some(transmit);
            }
            entry.in_udp_ready = false;
            self.udp_ready.pop_front();
        }
        None
    }

    /// The next HTTP request to make.
    #[must_use]
    pub fn poll_http_request(&mut self) -> Option<HttpRequest> {
        if let Some(request) = self.scrapes.poll_http_request() {
            return Some(request);
        }
        while let Some(&slot) = self.http_ready.front() {
            let Some(entry) = self.slots[slot as usize].entry.as_deref_mut() else {
                self.http_ready.pop_front();
                continue;
            };
            if let Some(request) = entry.session.poll_http_request() {
                return Some(request);
            }
            entry.in_http_ready = false;
            self.http_ready.pop_front();
        }
        None
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the earliest deadline of any
    /// torrent (the top of a heap) or scrape batch. An input drives only the torrent it is for, so
    /// this may be at or before the `now` of that input when other torrents fell due meanwhile:
    /// call `handle_timeout` then. After `handle_timeout(now)` and a full drain it is later than
    /// `now`, or `None` when no torrent has anything scheduled. A deadline past the end of
    /// `Instant`'s range never comes and is not reported (as
    /// [`Announce::poll_timeout`](crate::announce::Announce::poll_timeout)).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let torrents = self.timers.peek();
        let batches = self.scrapes.poll_timeout();
        // A deadline past the clock's range never comes (see `schedule::later`).
        torrents
            .into_iter()
            .chain(batches)
            .filter(|&t| !is_never(t))
            .min()
    }

    /// The next event and the torrent it belongs to, oldest first.
    ///
    /// Nothing is dropped to bound the queue, whatever one call emits (a [`stop`](Self::stop) of
    /// 100,000 torrents queues every `Cancelled` failure and every `Stopped`): the queue is
    /// bounded by the torrents and their trackers. An outcome (`Announced`, `Scraped`, `Failed`)
    /// still waiting when a later outcome of the same torrent, tracker and kind (announce or
    /// scrape) comes is replaced by it in place and counted in
    /// [`events_superseded`](Self::events_superseded); so a torrent has at most `3 * ids + 1`
    /// events waiting, where `ids` counts its tracker ids in use: the trackers listed, and each
    /// removed tracker until nothing of it is in flight and its events are drained (its id, up to
    /// the 65,536 a torrent has, is not reused before: see
    /// [`EditError::NoFreeId`](crate::announce::EditError::NoFreeId)). A removed torrent keeps
    /// its slot until its `Stopped` is drained.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<(TorrentId, Event)> {
        let (torrent, event) = self.ctx.pop_event()?;
        if event == Event::Stopped {
            self.free_if_removed(torrent);
        }
        Some((torrent, event))
    }
}
