//! Live edits of a torrent's tracker list (BEP 12 tiers): add a tracker, remove one, replace the
//! whole list (libtorrent's `replace_trackers`), at any time while the torrent runs.
//!
//! A tracker keeps its [`TrackerId`] and its state (event state, `min interval`, tracker id,
//! status) for as long as it stays listed. A removed tracker that was sent `started` gets its
//! `stopped`; its slot, and so its id, goes to a tracker added later once nothing of it is in
//! flight any more.

use std::time::Instant;

use super::Announce;
use super::config::{TierMode, check_tracker};
use super::ctx::Ctx;
use super::event::{Cause, RequestKind, TrackerId};
use super::session::Session;
use super::tracker::{Lane, LaneState, Members, SLOTS, Tracker, walk};
use crate::{AnnounceEvent, TrackerUrl};

const STOPPED: RequestKind = RequestKind::Announce(AnnounceEvent::Stopped);

/// Why a live edit or command was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The edit would list more trackers than [`Config::max_trackers`](super::Config::max_trackers)
    /// (256 by default).
    #[error(
        "{count} trackers is more than the configured maximum of {max}; remove one first, or raise Config::max_trackers"
    )]
    TooManyTrackers {
        /// Trackers the torrent would list.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// Every tracker id is held by a tracker or by a removed one whose `stopped` is in flight.
    #[error(
        "no tracker id is free: removed trackers still wait for their stopped; add the tracker once those are answered or timed out"
    )]
    NoFreeId,
    /// A tracker URL that cannot be announced to as given.
    #[error("cannot announce to {url}: {why}")]
    BadTrackerUrl {
        /// The URL.
        url: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// Port 0 cannot be announced.
    #[error(
        "port 0 cannot be announced: trackers refuse it or list this client as ip:0; pass the TCP port this client accepts peers on (1 to 65535)"
    )]
    InvalidPort,
    /// `numwant` outside 1 to [`MAX_NUM_WANT`](super::MAX_NUM_WANT).
    #[error(
        "numwant {num_want} is out of range: pass 1 to 3639 (stopped asks for 0 by itself, and one UDP reply holds at most 3639 IPv6 peers)"
    )]
    InvalidNumWant {
        /// The value given.
        num_want: u32,
    },
    /// The torrent is stopping or stopped (after `stop` or `Client::remove`).
    #[error("the torrent is stopping or stopped; add it again to announce it")]
    Stopped,
    /// Tracker-list edits are not supported (yet) while
    /// [`Config::families`](super::Config::families) is [`Families::Both`](super::Families::Both):
    /// each tracker is announced to per family, in tiers and lanes of its own, and an edit would
    /// have to keep those in step.
    #[error(
        "tracker-list edits are not supported with Config::families = Both (BEP 7 dual-stack); remove the torrent and add it again with the new list"
    )]
    DualStack,
    /// The [`Client`](crate::client::Client) holds no such torrent (or it was removed).
    #[error("no such torrent in this client (removed, or never added); add it first")]
    UnknownTorrent,
}

impl From<super::ConfigError> for EditError {
    fn from(e: super::ConfigError) -> Self {
        match e {
            super::ConfigError::BadTrackerUrl { url, why } => EditError::BadTrackerUrl { url, why },
            super::ConfigError::TooManyTrackers { count, max } => {
                EditError::TooManyTrackers { count, max }
            }
            other => EditError::BadTrackerUrl {
                url: String::new(),
                why: other.to_string(),
            },
        }
    }
}

impl Announce {
    /// Adds a tracker at the end of tier `tier` (0 is the first; a tier past the last becomes a
    /// new last tier) and returns its id. A URL already listed is not added twice: its id is
    /// returned. The new tracker is contacted when its tier's walk reaches it (at once in
    /// [`TierMode::AllTrackers`], or as a new tier in [`TierMode::AllTiers`]), with `started`.
    ///
    /// BEP 27: a private torrent must announce only to its metainfo's trackers; adding others is
    /// the caller's decision.
    ///
    /// Fails when the URL cannot be announced to, when the torrent would list more than
    /// [`Config::max_trackers`](super::Config::max_trackers), once stopping, and with
    /// [`Families::Both`](super::Families::Both) ([`EditError::DualStack`]).
    pub fn add_tracker(
        &mut self,
        now: Instant,
        url: TrackerUrl,
        tier: usize,
    ) -> Result<TrackerId, EditError> {
        self.with(|s, ctx| s.add_tracker(ctx, now, url, tier))
    }

    /// Removes a tracker: what is in flight to it is cancelled (a [`Cause::Cancelled`] failure
    /// each), and if it was sent `started` it gets `stopped` (its last event). It leaves its tier
    /// and the status snapshot at once. When it was the tracker its tier would ask next, the next
    /// one is asked now (BEP 12 walk), since the swarm was just told this client left. Returns
    /// `false` for an unknown or already removed tracker, once stopping, and with
    /// [`Families::Both`](super::Families::Both) (see [`EditError::DualStack`]).
    pub fn remove_tracker(&mut self, now: Instant, tracker: TrackerId) -> bool {
        self.with(|s, ctx| s.remove_tracker(ctx, now, tracker).is_some())
    }

    /// Replaces the whole tracker list (libtorrent's `replace_trackers`): a URL that stays keeps
    /// its id and state (moving to its new tier and place), a URL that goes is removed as by
    /// [`remove_tracker`](Self::remove_tracker), a new URL is added. The tiers take the order
    /// given (no shuffle: the caller chose it); empty tiers and repeated URLs are dropped. Then
    /// every tier announces now, as libtorrent does (`min interval` still holds). An empty
    /// list is allowed: the torrent then announces nowhere until trackers are added.
    ///
    /// Fails, changing nothing, when a URL cannot be announced to or there are more than
    /// [`Config::max_trackers`](super::Config::max_trackers), once stopping, and with
    /// [`Families::Both`](super::Families::Both) ([`EditError::DualStack`]).
    pub fn replace_trackers(
        &mut self,
        now: Instant,
        tiers: Vec<Vec<TrackerUrl>>,
    ) -> Result<(), EditError> {
        self.with(|s, ctx| s.replace_trackers(ctx, now, tiers).map(|_| ()))
    }
}

impl Session {
    pub(crate) fn add_tracker(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        url: TrackerUrl,
        tier: usize,
    ) -> Result<TrackerId, EditError> {
        self.check_editable(ctx)?;
        check_tracker(&url)?;
        let now = ctx.advance(now);
        if let Some(i) = self.listed(ctx, &url) {
            return Ok(TrackerId(i as u16));
        }
        let live = self.trackers.iter().filter(|t| !t.removed).count();
        if live >= ctx.cfg.max_trackers {
            return Err(EditError::TooManyTrackers {
                count: live + 1,
                max: ctx.cfg.max_trackers,
            });
        }
        let tier = tier.min(self.tiers.len());
        let i = self.new_slot(ctx, url, tier)?;
        if tier == self.tiers.len() {
            self.tiers.push(Vec::new());
        }
        self.tiers[tier].push(i);
        self.schedule_scrape(ctx, i, now);
        self.relane(ctx.cfg.tier_mode, &[i], now);
        self.drive(ctx, now);
        Ok(TrackerId(i as u16))
    }

    /// Removes tracker `id`; returns its URL index when it was listed.
    pub(crate) fn remove_tracker(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        id: TrackerId,
    ) -> Option<u32> {
        self.check_editable(ctx).ok()?;
        let i = self.live_index(id)?;
        let now = ctx.advance(now);
        let orphaned = self.lanes_picking(&[i]);
        self.unlist(ctx, i, now);
        for tier in &mut self.tiers {
            tier.retain(|&j| j != i);
        }
        self.relane(ctx.cfg.tier_mode, &[], now);
        self.due_now(&orphaned, now);
        self.drive(ctx, now);
        Some(self.trackers[i].url)
    }

    /// Replaces the list; returns the trackers removed, with their URL indices.
    pub(crate) fn replace_trackers(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        tiers: Vec<Vec<TrackerUrl>>,
    ) -> Result<Vec<(TrackerId, u32)>, EditError> {
        self.check_editable(ctx)?;
        let mut seen: Vec<&str> = Vec::new();
        for url in tiers.iter().flatten() {
            if !seen.contains(&url.as_str()) {
                check_tracker(url)?;
                seen.push(url.as_str());
            }
        }
        if seen.len() > ctx.cfg.max_trackers {
            return Err(EditError::TooManyTrackers {
                count: seen.len(),
                max: ctx.cfg.max_trackers,
            });
        }
        // Ids: those that stay, plus one free slot per new URL (checked before changing anything).
        let staying: Vec<usize> = (0..self.trackers.len())
            .filter(|&i| {
                let t = &self.trackers[i];
                !t.removed && seen.contains(&ctx.endpoints.url(t.url).as_str())
            })
            .collect();
        let gone: Vec<usize> = (0..self.trackers.len())
            .filter(|&i| !self.trackers[i].removed && !staying.contains(&i))
            .collect();
        let new = seen.len() - staying.len();
        let quiet = |s: &Session, i: usize| {
            let t = &s.trackers[i];
            t.removed && t.announce.is_none() && t.scrape.is_none()
        };
        let free = (0..self.trackers.len()).filter(|&i| quiet(self, i)).count()
            + (usize::from(u16::MAX) + 1).saturating_sub(self.trackers.len());
        if new > free {
            return Err(EditError::NoFreeId);
        }
        let now = ctx.advance(now);
        let mut removed = Vec::new();
        for i in gone {
            self.unlist(ctx, i, now);
            removed.push((TrackerId(i as u16), self.trackers[i].url));
        }
        let mut lists: Vec<Vec<usize>> = Vec::new();
        let mut fresh = Vec::new();
        let mut placed: Vec<&str> = Vec::new();
        for tier in &tiers {
            let t = lists.len();
            let mut list = Vec::new();
            for url in tier {
                if placed.contains(&url.as_str()) {
                    continue;
                }
                placed.push(url.as_str());
                let i = match self.listed(ctx, url) {
                    Some(i) => i,
                    None => {
                        let i = self.new_slot(ctx, url.clone(), t)?;
                        self.schedule_scrape(ctx, i, now);
                        fresh.push(i);
                        i
                    }
                };
                self.trackers[i].tier = t;
                list.push(i);
            }
            if !list.is_empty() {
                lists.push(list);
            }
        }
        self.tiers = lists;
        self.relane(ctx.cfg.tier_mode, &fresh, now);
        // As libtorrent does after `replace_trackers`: announce now to the new list (`min
        // interval` still holds for trackers that stay and owe no event).
        let all: Vec<usize> = (0..self.lanes.len()).collect();
        self.due_now(&all, now);
        self.drive(ctx, now);
        Ok(removed)
    }

    /// The waiting lanes whose next round would go to one of `trackers`.
    fn lanes_picking(&self, trackers: &[usize]) -> Vec<usize> {
        (0..self.lanes.len())
            .filter(|&l| {
                let LaneState::Idle { due } = self.lanes[l].state else {
                    return false;
                };
                walk(&self.lanes[l].members, &self.tiers)
                    .find(|&j| self.trackers[j].available(due))
                    .is_some_and(|j| trackers.contains(&j))
            })
            .collect()
    }

    /// Lanes that lost the tracker their next round was for: the swarm was told `stopped` (or
    /// this client is listed nowhere else), so the next tracker is asked now.
    fn due_now(&mut self, lanes: &[usize], now: Instant) {
        for &l in lanes {
            if let Some(LaneState::Idle { due }) = self.lanes.get_mut(l).map(|l| &mut l.state) {
                *due = (*due).min(now);
            }
        }
    }

    /// The listed tracker with this URL.
    fn listed(&self, ctx: &Ctx, url: &TrackerUrl) -> Option<usize> {
        self.trackers
            .iter()
            .position(|t| !t.removed && ctx.endpoints.url(t.url).as_str() == url.as_str())
    }

    /// A slot for a new tracker: the first removed one with nothing in flight, else a new one.
    fn new_slot(
        &mut self,
        ctx: &mut Ctx,
        url: TrackerUrl,
        tier: usize,
    ) -> Result<usize, EditError> {
        let quiet = self
            .trackers
            .iter()
            .position(|t| t.removed && t.announce.is_none() && t.scrape.is_none());
        let tracker = Tracker::new(ctx.endpoints.intern(url), tier);
        match quiet {
            Some(i) => {
                let old = std::mem::replace(&mut self.trackers[i], tracker);
                ctx.endpoints.release(old.url);
                Ok(i)
            }
            None if self.trackers.len() <= usize::from(u16::MAX) => {
                self.trackers.push(tracker);
                Ok(self.trackers.len() - 1)
            }
            None => {
                ctx.endpoints.release(tracker.url);
                Err(EditError::NoFreeId)
            }
        }
    }

    /// Takes tracker `i` off the list (not out of its tier): cancels what is in flight and sends
    /// `stopped` when it is owed.
    fn unlist(&mut self, ctx: &mut Ctx, i: usize, now: Instant) {
        for kind in SLOTS {
            let keep = kind != RequestKind::Scrape
                && self.trackers[i]
                    .announce
                    .as_ref()
                    .is_some_and(|e| e.kind == STOPPED);
            if keep {
                continue;
            }
            if let Some(ex) = self.take(ctx, i, kind) {
                self.fail_event(ctx, i, ex.current_id(), ex.kind, Cause::Cancelled);
            }
        }
        let t = &mut self.trackers[i];
        t.removed = true;
        t.set_forced(None);
        t.set_scrape_due(None);
        if t.owes_stopped() && t.announce.is_none() {
            self.start_or_fail(ctx, i, STOPPED, now);
        }
    }

    /// Rebuilds the lanes after the tiers changed, for the tier mode: a lane keeps its state (a
    /// round in flight stays in flight at its tracker's new place), a lane whose round was cut
    /// short by a removal starts a new one now, a new lane (a new tier, or a tracker added in
    /// [`TierMode::AllTrackers`]) is due now, and a dead lane that gained a tracker comes back.
    pub(crate) fn relane(&mut self, mode: TierMode, fresh: &[usize], now: Instant) {
        let members: Vec<Members> = match mode {
            TierMode::OneTracker => vec![Members::Tiers(0..self.tiers.len())],
            TierMode::AllTiers => (0..self.tiers.len())
                .map(|t| Members::Tiers(t..t + 1))
                .collect(),
            TierMode::AllTrackers => (0..self.trackers.len()).map(Members::One).collect(),
        };
        // A round in flight follows its tracker to its lane (in all-trackers mode a tracker's
        // lane is its own slot, which never changes).
        for t in &mut self.trackers {
            let lane = match mode {
                TierMode::OneTracker => 0,
                TierMode::AllTiers => t.tier,
                TierMode::AllTrackers => continue,
            };
            if let Some(ex) = t.announce.as_deref_mut()
                && ex.lane.is_some()
            {
                ex.lane = Some(lane);
            }
        }
        let old = std::mem::take(&mut self.lanes);
        for (l, members) in members.into_iter().enumerate() {
            let busy = walk(&members, &self.tiers).position(|j| {
                self.trackers[j]
                    .announce
                    .as_ref()
                    .is_some_and(|ex| ex.lane == Some(l))
            });
            let (mut state, mut failures) = match old.get(l) {
                Some(o) => (o.state, o.failures),
                None => (LaneState::Idle { due: now }, 0),
            };
            if matches!(state, LaneState::Busy { .. }) {
                state = LaneState::Idle { due: now };
            }
            if mode == TierMode::AllTrackers && fresh.contains(&l) {
                (state, failures) = (LaneState::Idle { due: now }, 0);
            }
            let live = walk(&members, &self.tiers).any(|j| {
                let t = &self.trackers[j];
                !t.removed && !t.disabled
            });
            if state == LaneState::Dead && live {
                state = LaneState::Idle { due: now };
            }
            if !live {
                state = LaneState::Dead; // nothing left to announce to (a removed tracker's lane)
            }
            if let Some(pos) = busy {
                state = LaneState::Busy { pos };
            } else if self.paused {
                state = LaneState::Dead;
            }
            self.lanes.push(Lane {
                members,
                state,
                failures,
            });
        }
    }
}
