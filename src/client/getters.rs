//! The [`Client`]'s getters: its torrents, their trackers' status and URLs, keys, scrape batch
//! members and counters. They change nothing.

use super::{Client, request_owner, torrent_id};
use crate::TrackerUrl;
#[cfg(doc)]
use crate::announce::Origin;
use crate::announce::{RequestId, TorrentId, TrackerId, TrackerStatus};

impl Client {
    /// Torrents in the client (removed ones count until their `Stopped` is drained).
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// The client holds no torrent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The torrent is in the client (a removed one until its `Stopped` is drained).
    pub fn contains(&self, torrent: TorrentId) -> bool {
        self.entry(torrent).is_some()
    }

    /// The URL of one of a torrent's trackers. A removed torrent's answer until its `Stopped`
    /// is drained, so every event it emitted can be named.
    pub fn tracker_url(&self, torrent: TorrentId, tracker: TrackerId) -> Option<&TrackerUrl> {
        self.entry(torrent)?.session.tracker_url(&self.ctx, tracker)
    }

    /// A torrent's tiers in their current order (as [`Announce::tiers`](crate::Announce::tiers));
    /// nothing for an unknown torrent.
    pub fn tiers(&self, torrent: TorrentId) -> impl Iterator<Item = Vec<TrackerId>> + '_ {
        self.entry(torrent)
            .into_iter()
            .flat_map(|e| e.session.tiers())
    }

    /// The tracker URL a request in flight goes to.
    pub fn request_url(&self, request: RequestId) -> Option<&TrackerUrl> {
        let Some(slot) = request_owner(request) else {
            let url = self.scrapes.url_of(request)?;
            return Some(self.ctx.endpoints.url(url));
        };
        let entry = self.slots.get(slot as usize)?.entry.as_deref()?;
        let tracker = entry.session.tracker_of(request)?;
        entry.session.tracker_url(&self.ctx, tracker)
    }

    /// A torrent's trackers' status, in tier order (as
    /// [`Announce::trackers`](crate::Announce::trackers)); nothing for an unknown torrent.
    pub fn trackers(&self, torrent: TorrentId) -> impl Iterator<Item = TrackerStatus<'_>> + '_ {
        self.entry(torrent)
            .into_iter()
            .flat_map(|e| e.session.statuses(&self.ctx))
    }

    /// The torrents the client holds, in slot order (removed ones until their `Stopped` is
    /// drained).
    pub fn torrents(&self) -> impl Iterator<Item = TorrentId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.entry.is_some())
            .map(|(i, s)| torrent_id(i as u32, s.generation))
    }

    /// The `key` a torrent sends to its trackers.
    pub fn key(&self, torrent: TorrentId) -> Option<u32> {
        Some(self.entry(torrent)?.session.key())
    }

    /// The torrents and their trackers in a batched scrape in flight ([`Origin::ScrapeBatch`]);
    /// `None` for another request or one no longer in flight.
    pub fn batch_members(
        &self,
        request: RequestId,
    ) -> Option<impl Iterator<Item = (TorrentId, TrackerId)> + '_> {
        let members = self.scrapes.members_of(request)?;
        Some(members.iter().map(|m| (m.torrent, m.tracker)))
    }

    /// Outcomes replaced, before they were drained, by a later outcome of the same torrent,
    /// tracker and kind (see [`poll_event`](Self::poll_event)). No other event is ever dropped.
    pub fn events_superseded(&self) -> u64 {
        self.ctx.events.superseded()
    }

    /// DNS queries handed out so far: at most one per distinct host name per cache lifetime,
    /// whatever the number of torrents (see [`DnsConfig`](crate::announce::DnsConfig)).
    pub fn dns_queries_made(&self) -> u64 {
        self.ctx.dns.queries_made()
    }
}
