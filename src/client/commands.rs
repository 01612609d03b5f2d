//! The [`Client`]'s per-torrent commands and live edits: the same as
//! [`Announce`](crate::announce::Announce)'s, naming the torrent. On an unknown or removed torrent
//! they do nothing and return `false` or `None`; those that return an [`EditError`] say
//! [`EditError::Stopped`] for a torrent being removed (after [`Client::remove`] or
//! [`Client::stop`], until its `Stopped` is drained) and [`EditError::UnknownTorrent`] for an id
//! the client does not hold (never added, or removed and drained).

use std::time::Instant;

use super::scrape::Member;
use super::{Client, running, torrent_id};
use crate::announce::ctx::Ctx;
use crate::announce::session::Session;
use crate::announce::{
    Cause, EditError, Event, Failed, Progress, RequestKind, TorrentId, TrackerId,
};
#[cfg(doc)]
use crate::announce::{Config, ConfigError};
use crate::{PeerId, TrackerUrl};

impl Client {
    /// Updates the counters a torrent sends with its next announces.
    pub fn set_progress(&mut self, torrent: TorrentId, progress: Progress) -> bool {
        if !self.live(torrent) {
            return false;
        }
        self.on_session(torrent, |s, _| s.set_progress(progress))
            .is_some()
    }

    /// The torrent finished downloading: its trackers get `completed` now.
    pub fn completed(&mut self, now: Instant, torrent: TorrentId) -> bool {
        if !self.live(torrent) {
            return false;
        }
        self.command(torrent, now, |s, ctx, now| s.completed(ctx, now))
    }

    /// Re-announces the torrent now, honouring each tracker's `min interval`. Returns when its next
    /// announce goes out, as [`Announce::announce_now`](crate::Announce::announce_now) does
    /// (`None` also for an unknown torrent).
    pub fn announce_now(&mut self, now: Instant, torrent: TorrentId) -> Option<Instant> {
        let now = self.ctx.advance(now);
        if !self.live(torrent) {
            return None;
        }
        let at = self.on_session(torrent, |s, ctx| s.announce_now(ctx, now));
        self.wake(now);
        at.flatten()
    }

    /// Scrapes the torrent on every tracker that is not disabled. Scrapes of many torrents on one
    /// tracker URL are batched (see the type's docs); each torrent gets its own
    /// [`Event::Scraped`] or [`Event::Failed`], whose `id` is the batch's request.
    pub fn scrape(&mut self, now: Instant, torrent: TorrentId) -> bool {
        let now = self.ctx.advance(now);
        self.queue_scrapes(torrent, |_| true, now).is_some()
    }

    /// Queues the torrent's scrape on each scrapable tracker `pick` accepts, batched per tracker
    /// URL (a tracker without a scrape URL gets its [`Cause::ScrapeUnsupported`] failure at
    /// once). Returns how many trackers were picked; `None` for an unknown or removed torrent.
    pub(crate) fn queue_scrapes(
        &mut self,
        torrent: TorrentId,
        pick: impl Fn(TrackerId) -> bool,
        now: Instant,
    ) -> Option<usize> {
        let entry = self.entry_of(torrent).filter(|e| !e.removing)?;
        let hash = entry.session.info_hash();
        let trackers: Vec<(TrackerId, u32)> = entry
            .session
            .scrapable()
            .filter(|&(t, _)| pick(t))
            .collect();
        for &(tracker, url) in &trackers {
            let member = Member {
                torrent,
                tracker,
                hash,
            };
            if !self.scrapes.request(&mut self.ctx, url, member, now) {
                let id = self.ctx.request_id(torrent);
                let event = Event::Failed(Failed {
                    id,
                    tracker,
                    request: RequestKind::Scrape,
                    cause: Cause::ScrapeUnsupported,
                });
                self.ctx.push_event(torrent, event);
            }
        }
        Some(trackers.len())
    }

    /// Removes a torrent: requests in flight are cancelled, every tracker that was sent `started`
    /// (answered or not) gets `stopped`, ahead of other torrents' announces still waiting for a
    /// place in the endpoint's window, and the torrent's last event is [`Event::Stopped`] (within
    /// [`Config::stop_timeout`] of its last `stopped` being admitted). Its record stays, so
    /// [`tracker_url`](Self::tracker_url) answers for its events, until that `Stopped` is drained
    /// from [`poll_event`](Self::poll_event); then its memory is freed, and its id never names
    /// another torrent. Its info hash stays held until then: adding it again earlier fails with
    /// [`ConfigError::DuplicateInfoHash`], so its `stopped` cannot unlist the new torrent.
    pub fn remove(&mut self, now: Instant, torrent: TorrentId) -> bool {
        let Some(entry) = self.entry_of(torrent).filter(|e| !e.removing) else {
            return false;
        };
        entry.removing = true;
        let done = self.command(torrent, now, |s, ctx, now| s.stop(ctx, now));
        self.scrapes
            .drop_orphans(&mut self.ctx, &running(&self.slots));
        done
    }

    /// Removes every torrent (shutdown): what is in flight or waiting is cancelled and gives its
    /// place back, and the `stopped` announces go out through each endpoint's window; each
    /// torrent ends with its [`Event::Stopped`] as for [`remove`](Self::remove).
    pub fn stop(&mut self, now: Instant) {
        let ids: Vec<TorrentId> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.entry.as_deref().is_some_and(|e| !e.removing))
            .map(|(i, s)| torrent_id(i as u32, s.generation))
            .collect();
        for id in ids {
            self.remove(now, id);
        }
    }

    /// Announces a torrent to one of its trackers now (see
    /// [`Announce::announce_tracker`](crate::Announce::announce_tracker)). Returns when it goes
    /// out; `None` for an unknown torrent or tracker, a disabled tracker or a paused torrent.
    pub fn announce_tracker(
        &mut self,
        now: Instant,
        torrent: TorrentId,
        tracker: TrackerId,
    ) -> Option<Instant> {
        self.edit(torrent, now, |s, ctx, now| {
            Ok(s.announce_tracker(ctx, now, tracker))
        })
        .ok()
        .flatten()
    }

    /// Scrapes a torrent on one of its trackers, batched with the other scrapes of that tracker
    /// URL (see [`scrape`](Self::scrape)). Returns `false` for an unknown or removed torrent, an
    /// unknown, removed or disabled tracker, and under BEP 7 dual-stack
    /// ([`Families::Both`](crate::announce::Families::Both)) the IPv6 tracker of a host-name URL:
    /// a batch scrapes a URL once, through its IPv4 tracker (the counts are the tracker's,
    /// whatever the family), so name that one. An HTTP tracker without a scrape URL gets a
    /// [`Cause::ScrapeUnsupported`] failure.
    pub fn scrape_tracker(&mut self, now: Instant, torrent: TorrentId, tracker: TrackerId) -> bool {
        let now = self.ctx.advance(now);
        self.queue_scrapes(torrent, |t| t == tracker, now)
            .is_some_and(|n| n > 0)
    }

    /// Changes the TCP port a torrent announces, and re-announces it (see
    /// [`Announce::set_port`](crate::Announce::set_port)).
    pub fn set_port(
        &mut self,
        now: Instant,
        torrent: TorrentId,
        port: u16,
    ) -> Result<(), EditError> {
        self.edit(torrent, now, |s, ctx, now| s.set_port(ctx, now, port))
    }

    /// Changes a torrent's `numwant` (see
    /// [`Announce::set_num_want`](crate::Announce::set_num_want)).
    pub fn set_num_want(&mut self, torrent: TorrentId, num_want: u32) -> Result<(), EditError> {
        let now = self.ctx.now;
        self.edit(torrent, now, |s, _, _| s.set_num_want(num_want))
    }

    /// Changes the peer id a torrent's next announces carry.
    pub fn set_peer_id(&mut self, torrent: TorrentId, peer_id: PeerId) -> bool {
        let now = self.ctx.now;
        self.edit(torrent, now, |s, _, _| {
            s.torrent.peer_id = peer_id;
            Ok(())
        })
        .is_ok()
    }

    /// BEP 21: the torrent is a partial seed, or no longer (see
    /// [`Announce::set_partial_seed`](crate::Announce::set_partial_seed)).
    pub fn set_partial_seed(&mut self, torrent: TorrentId, partial_seed: bool) -> bool {
        let now = self.ctx.now;
        self.edit(torrent, now, |s, _, _| {
            s.opts.partial_seed = partial_seed;
            Ok(())
        })
        .is_ok()
    }

    /// Pauses a torrent without removing it: its trackers get `stopped` (see
    /// [`Announce::pause`](crate::Announce::pause)). `false` when unknown or already paused.
    pub fn pause(&mut self, now: Instant, torrent: TorrentId) -> bool {
        self.edit(torrent, now, |s, ctx, now| Ok(s.pause(ctx, now)))
            .unwrap_or(false)
    }

    /// Resumes a paused torrent: its trackers get `started` again. `false` when unknown or not
    /// paused.
    pub fn resume(&mut self, now: Instant, torrent: TorrentId) -> bool {
        self.edit(torrent, now, |s, ctx, now| Ok(s.resume(ctx, now)))
            .unwrap_or(false)
    }

    /// The torrent is paused.
    pub fn is_paused(&self, torrent: TorrentId) -> bool {
        self.entry(torrent).is_some_and(|e| e.session.paused)
    }

    /// Adds a tracker to a torrent's tier (see
    /// [`Announce::add_tracker`](crate::Announce::add_tracker), dual-stack included).
    pub fn add_tracker(
        &mut self,
        now: Instant,
        torrent: TorrentId,
        url: TrackerUrl,
        tier: usize,
    ) -> Result<TrackerId, EditError> {
        self.edit(torrent, now, |s, ctx, now| {
            s.add_tracker(ctx, now, url, tier)
        })
    }

    /// Removes one of a torrent's trackers; it gets `stopped` if it was sent `started`, and a
    /// batched scrape of it waiting or in flight is cancelled (see
    /// [`Announce::remove_tracker`](crate::Announce::remove_tracker); under BEP 7 dual-stack the
    /// id of either family removes the URL with both families).
    pub fn remove_tracker(&mut self, now: Instant, torrent: TorrentId, tracker: TrackerId) -> bool {
        let removed = self.edit(torrent, now, |s, ctx, now| {
            Ok(s.remove_tracker(ctx, now, tracker))
        });
        let removed = removed.unwrap_or_default();
        for &(tracker, url) in &removed {
            self.scrapes
                .drop_member(&mut self.ctx, url, torrent, tracker);
        }
        !removed.is_empty()
    }

    /// Replaces a torrent's whole tracker list, keeping the state of the URLs that stay, both
    /// families' under dual-stack (see
    /// [`Announce::replace_trackers`](crate::Announce::replace_trackers)).
    pub fn replace_trackers(
        &mut self,
        now: Instant,
        torrent: TorrentId,
        tiers: Vec<Vec<TrackerUrl>>,
    ) -> Result<(), EditError> {
        let removed = self.edit(torrent, now, |s, ctx, now| {
            s.replace_trackers(ctx, now, tiers)
        })?;
        for (tracker, url) in removed {
            self.scrapes
                .drop_member(&mut self.ctx, url, torrent, tracker);
        }
        Ok(())
    }

    /// Queues the scrapes the torrents' schedules made due
    /// ([`Config::scrape_interval`](crate::announce::Config::scrape_interval)) in the batches of
    /// their tracker URLs.
    pub(super) fn queue_scheduled_scrapes(&mut self, now: Instant) {
        let wanted = std::mem::take(&mut self.ctx.scrape_wanted);
        for (torrent, tracker, url, hash) in wanted {
            if self.live(torrent) {
                let member = Member {
                    torrent,
                    tracker,
                    hash,
                };
                self.scrapes.request(&mut self.ctx, url, member, now);
            }
        }
    }

    /// Runs an edit or command on a live torrent's session, then re-arms it and wakes what waits.
    /// Fails with [`EditError::Stopped`] for a torrent being removed (its `Stopped` not drained
    /// yet: [`contains`](Self::contains) still says it is there), and with
    /// [`EditError::UnknownTorrent`] for an id the client does not hold.
    fn edit<T>(
        &mut self,
        torrent: TorrentId,
        now: Instant,
        f: impl FnOnce(&mut Session, &mut Ctx, Instant) -> Result<T, EditError>,
    ) -> Result<T, EditError> {
        let now = self.ctx.advance(now);
        match self.entry(torrent) {
            None => return Err(EditError::UnknownTorrent),
            Some(e) if e.removing => return Err(EditError::Stopped),
            Some(_) => {}
        }
        let out = self
            .on_session(torrent, |s, ctx| f(s, ctx, now))
            .ok_or(EditError::UnknownTorrent)?;
        self.wake(now);
        out
    }
}
