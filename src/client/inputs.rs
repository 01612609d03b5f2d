//! The [`Client`]'s inputs: DNS answers, datagrams, HTTP responses, transport errors and
//! timeouts. They never fail and never panic; each drives only the torrent (or scrape batch) it is
//! for.

use std::net::SocketAddr;
use std::time::Instant;

use super::scrape::BATCHES;
use super::{Client, request_owner, running, slot_of};
use crate::announce::{DnsAnswer, DnsError, DnsQueryId, RequestId, TransportError};
use crate::http::HttpResponse;
use crate::udp::peek_transaction_id;

impl Client {
    /// The caller's answer to DNS query `id` from [`poll_dns_query`](Self::poll_dns_query), as
    /// [`Announce::handle_dns_response`](crate::Announce::handle_dns_response): cached, and every
    /// torrent (and scrape batch) that waited for the name goes on. Returns `true` when the answer
    /// was used; a late success is used, a late failure is not (the rule is on
    /// [`Announce::handle_dns_response`](crate::Announce::handle_dns_response)). The cache serves
    /// every torrent of the client, so an answer is used while any torrent runs (is neither
    /// removed nor stopped); once none does it still answers its query (a second answer to the
    /// same id is ignored, as always) and is cached for torrents added later, but returns `false`:
    /// nothing used it.
    pub fn handle_dns_response(
        &mut self,
        now: Instant,
        id: DnsQueryId,
        result: Result<DnsAnswer, DnsError>,
    ) -> bool {
        if !self.ctx.dns.knows(id) {
            return false;
        }
        let now = self.ctx.at(now);
        let ctx = &mut self.ctx;
        let used = ctx
            .dns
            .answer(&ctx.cfg.dns, now, id, result, &mut ctx.woken);
        if used {
            self.ctx.advance(now);
            self.wake(now);
        }
        // Checked only for a query the cache waited for: one scan per query handed out.
        used && self.any_running()
    }

    /// A datagram received on the client's socket. Returns `true` when it answered a request in
    /// flight; anything else is ignored and changes nothing. As for
    /// [`Announce::handle_datagram`](crate::Announce::handle_datagram), a short announce reply
    /// (action 1, 8 to 19 bytes) with a request's transaction id is the tracker's refusal
    /// ([`Cause::Refused`](crate::announce::Cause::Refused)), and an unknown action or an error
    /// reply a tracker error.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> bool {
        let Some(txid) = peek_transaction_id(datagram) else {
            return false;
        };
        let Some(&owner) = self.ctx.txids.get(&txid) else {
            return false;
        };
        let owner = (owner != BATCHES).then(|| slot_of(owner).0);
        self.dispatch(
            owner,
            now,
            |b, ctx, now, alive| b.handle_datagram(ctx, now, from, datagram, txid, alive),
            |s, ctx, now| s.handle_datagram(ctx, now, from, datagram),
        )
    }

    /// The caller's response to HTTP request `id`. Returns `true` when `id` was in flight; an
    /// unknown or stale id changes nothing. The body may be borrowed from the caller's buffer
    /// ([`HttpResponse::new`]); it is read in place, never copied.
    pub fn handle_http_response(
        &mut self,
        now: Instant,
        id: RequestId,
        response: &HttpResponse<'_>,
    ) -> bool {
        self.dispatch(
            request_owner(id),
            now,
            |b, ctx, now, alive| b.handle_http_response(ctx, now, id, response, alive),
            |s, ctx, now| s.handle_http_response(ctx, now, id, response),
        )
    }

    /// The caller could not carry out request `id`. Returns `true` when `id` was in flight; an
    /// unknown or stale id changes nothing.
    pub fn handle_transport_error(
        &mut self,
        now: Instant,
        id: RequestId,
        error: TransportError,
    ) -> bool {
        self.dispatch(
            request_owner(id),
            now,
            |b, ctx, now, alive| b.handle_transport_error(ctx, now, id, error, alive),
            |s, ctx, now| s.handle_transport_error(ctx, now, id, error),
        )
    }

    /// Fires the timers due at `now`: only the torrents whose deadline came are touched.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.ctx.advance(now);
        while let Some((due, slot)) = self.timers.pop_due(now) {
            let Some(entry) = self
                .slots
                .get_mut(slot as usize)
                .and_then(|s| s.entry.as_deref_mut())
            else {
                continue;
            };
            if entry.armed != Some(due) {
                continue; // stale: the torrent re-armed since
            }
            entry.armed = None;
            entry.session.drive(&mut self.ctx, now);
            self.sync(slot);
        }
        self.clean_timers();
        self.scrapes
            .handle_timeout(&mut self.ctx, now, &running(&self.slots));
        self.wake(now);
    }
}
