//! Live edits of a torrent's tracker list (BEP 12 tiers): add a tracker, remove one, replace the
//! whole list (libtorrent's `replace_trackers`), at any time while the torrent runs.
//!
//! A tracker keeps its [`TrackerId`] and its state (event state, `min interval`, tracker id,
//! status) for as long as it stays listed. A removed tracker that was sent `started` gets its
//! `stopped`; its slot, and so its id, goes to a tracker added later once nothing of it is in
//! flight any more.

use crate::limits::Echo;
use std::time::Instant;

use super::Announce;
use super::config::{TierMode, check_tracker};
use super::ctx::Ctx;
use super::dns::Families;
use super::event::{Cause, RequestKind, TrackerId};
use super::session::Session;
use super::tracker::{Lane, LaneState, Members, SLOTS, Tracker, walk};
use crate::{AddressFamily, AnnounceEvent, TrackerUrl};

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
    /// Every one of the torrent's 65,536 tracker ids is held: by a tracker listed, or by a removed
    /// one with a request (its `stopped`) in flight or an event waiting to be drained.
    #[error(
        "no tracker id is free: all 65,536 are held by listed trackers or removed ones whose stopped is in flight or whose events wait; drain poll_event, then add the tracker again"
    )]
    NoFreeId,
    /// A tracker URL that cannot be announced to as given.
    #[error("cannot announce to {}: {why}", Echo(.url))]
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
    /// The torrent is stopping or stopped: after `stop` on its machine, or
    /// [`Client::remove`](crate::client::Client::remove) or
    /// [`Client::stop`](crate::client::Client::stop) while its `Stopped` is not drained yet.
    #[error(
        "the torrent is stopping or stopped; once its Event::Stopped is drained, add it again to announce it"
    )]
    Stopped,
    /// The [`Client`](crate::client::Client) holds no torrent with this id: never added, or
    /// removed and its `Stopped` drained.
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
    /// new last tier, numbered one past the last) and returns its id. A URL already listed is not added twice: its id is
    /// returned. The new tracker is contacted when its tier's walk reaches it (at once in
    /// [`TierMode::AllTrackers`], or as a new tier in [`TierMode::AllTiers`]), with `started`.
    ///
    /// BEP 7 dual-stack ([`Families::Both`]): a host-name URL becomes one tracker per family,
    /// each in tier `tier` of its family's tiers, with an id of its own (see
    /// [`TrackerStatus::family`](super::TrackerStatus::family)); the IPv4 one's id is returned. An
    /// IP-literal URL is one tracker, of its own family.
    ///
    /// BEP 27: a private torrent must announce only to its metainfo's trackers; adding others is
    /// the caller's decision.
    ///
    /// Fails when the URL cannot be announced to, when the torrent would list more than
    /// [`Config::max_trackers`](super::Config::max_trackers) URLs (a dual-stack URL counts once),
    /// when no tracker id is free, and once stopping.
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
    /// `false` for an unknown or already removed tracker, and once stopping.
    ///
    /// A tier the removal leaves empty goes away and the later tiers move up by one, keeping
    /// their trackers, order and schedule: tier numbers are always places in the list as it is
    /// now (the list [`replace_trackers`](Self::replace_trackers) would be given to rebuild it),
    /// so there are never more tiers (per family under dual-stack) than URLs listed and edits
    /// stay as cheap as the list is short.
    /// (libtorrent instead keeps the number each tracker was added with, gaps included; a tracker
    /// tab that shows tiers reads them again from [`trackers`](Self::trackers) after an edit.)
    ///
    /// BEP 7 dual-stack ([`Families::Both`]): the id of either family removes the URL, both
    /// families, each as above (each gets its own `stopped` if it was sent `started`; a family
    /// never contacted gets nothing).
    pub fn remove_tracker(&mut self, now: Instant, tracker: TrackerId) -> bool {
        self.with(|s, ctx| !s.remove_tracker(ctx, now, tracker).is_empty())
    }

    /// Replaces the whole tracker list (libtorrent's `replace_trackers`): a URL that stays keeps
    /// its id and state (moving to its new tier and place), a URL that goes is removed as by
    /// [`remove_tracker`](Self::remove_tracker), a new URL is added. The tiers take the order
    /// given (no shuffle: the caller chose it); empty tiers and repeated URLs are dropped. Then
    /// every tier announces now, as libtorrent does (`min interval` still holds). An empty
    /// list is allowed: the torrent then announces nowhere until trackers are added.
    ///
    /// BEP 7 dual-stack ([`Families::Both`]): a URL that stays keeps both families' ids and
    /// state (event state, schedule, connection ids, tracker id), a new host-name URL gets a
    /// tracker per family, and each family's tiers follow the list given.
    ///
    /// Fails, changing nothing, when a URL cannot be announced to, when there are more than
    /// [`Config::max_trackers`](super::Config::max_trackers) URLs (a dual-stack URL counts once),
    /// when no tracker id is free for the new ones, and once stopping.
    pub fn replace_trackers(
        &mut self,
        now: Instant,
        tiers: Vec<Vec<TrackerUrl>>,
    ) -> Result<(), EditError> {
        self.with(|s, ctx| s.replace_trackers(ctx, now, tiers).map(|_| ()))
    }
}

/// The family groups of the tier list: IPv4 then IPv6 under BEP 7 dual-stack
/// ([`Families::Both`]), one group otherwise. Under `Both` each group holds one tier per tier of
/// the list as given, empty for a family none of its URLs is announced over (an IP literal of the
/// other family), so tier `k` of each group is tier `k` of the list.
fn groups(families: Families) -> &'static [Option<AddressFamily>] {
    match families {
        Families::Both => &[Some(AddressFamily::V4), Some(AddressFamily::V6)],
        other => other.split(None),
    }
}

/// The families a URL is announced over: both for a host name under `Both`, else one.
fn families_of(families: Families, url: &TrackerUrl) -> &'static [Option<AddressFamily>] {
    families.split(url.socket_addr().map(|a| AddressFamily::of(&a)))
}

impl Session {
    pub(crate) fn add_tracker(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        url: TrackerUrl,
        tier: usize,
    ) -> Result<TrackerId, EditError> {
        self.check_running()?;
        check_tracker(&url)?;
        let now = ctx.advance(now);
        if let Some(&i) = self.listed(ctx, &url).first() {
            return Ok(TrackerId(i as u16));
        }
        let live = self.listed_urls();
        if live >= ctx.cfg.max_trackers {
            return Err(EditError::TooManyTrackers {
                count: live + 1,
                max: ctx.cfg.max_trackers,
            });
        }
        let families = ctx.cfg.families;
        let fams = families_of(families, &url);
        let mut quiet = self.quiet_slots(ctx);
        if fams.len() > self.free_ids(&quiet) {
            return Err(EditError::NoFreeId);
        }
        let old_n = self.group_len(families);
        let tier = tier.min(old_n);
        if tier == old_n {
            // A new last tier, in each family's group.
            let g = groups(families).len();
            for k in (1..=g).rev() {
                self.tiers.insert(k * old_n, Vec::new());
            }
        }
        let n = self.group_len(families);
        let mut fresh = Vec::with_capacity(fams.len());
        for &family in fams {
            let t = group_of(families, family) * n + tier;
            let i = self.new_slot(ctx, &mut quiet, url.clone(), t, family)?;
            if let Some(list) = self.tiers.get_mut(t) {
                list.push(i);
            }
            self.schedule_scrape(ctx, i, now);
            fresh.push(i);
        }
        let origin = |j: usize| (j < old_n).then_some(j);
        self.relane(families, ctx.cfg.tier_mode, old_n, &origin, &fresh, now);
        self.drive(ctx, now);
        fresh
            .first()
            .map(|&i| TrackerId(i as u16))
            .ok_or(EditError::NoFreeId)
    }

    /// Removes tracker `id` with every family of its URL; returns the trackers removed (IPv4
    /// first), with their URL index. Empty when `id` is not listed or the torrent is stopping.
    pub(crate) fn remove_tracker(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        id: TrackerId,
    ) -> Vec<(TrackerId, u32)> {
        if self.check_running().is_err() {
            return Vec::new();
        }
        let Some(i) = self.live_index(id) else {
            return Vec::new();
        };
        let now = ctx.advance(now);
        let url = self.trackers[i].url;
        let all: Vec<usize> = self.listed_url(url, ctx.cfg.families);
        let orphaned = self.lanes_picking(&all);
        for &j in &all {
            self.unlist(ctx, j, now);
        }
        for tier in &mut self.tiers {
            tier.retain(|j| !all.contains(j));
        }
        let n = self.group_len(ctx.cfg.families);
        let kept = self.close_empty_tiers(ctx.cfg.families);
        let origin = |j: usize| kept.get(j).copied();
        self.relane(ctx.cfg.families, ctx.cfg.tier_mode, n, &origin, &[], now);
        // In all-tiers mode a lane is a tier: its index moved up with it (or went with it).
        let orphaned: Vec<usize> = match ctx.cfg.tier_mode {
            TierMode::AllTiers => orphaned
                .into_iter()
                .filter_map(|l| {
                    let (k, j) = (l / n.max(1), l % n.max(1));
                    let p = kept.iter().position(|&o| o == j)?;
                    Some(k * kept.len() + p)
                })
                .collect(),
            _ => orphaned,
        };
        self.due_now(&orphaned, now);
        self.drive(ctx, now);
        all.iter().map(|&j| (TrackerId(j as u16), url)).collect()
    }

    /// Replaces the list; returns the trackers removed, with their URL indices.
    pub(crate) fn replace_trackers(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        tiers: Vec<Vec<TrackerUrl>>,
    ) -> Result<Vec<(TrackerId, u32)>, EditError> {
        self.check_running()?;
        // The list as given, without repeated URLs and empty tiers.
        let mut seen: Vec<&str> = Vec::new();
        let mut list: Vec<Vec<&TrackerUrl>> = Vec::new();
        for tier in &tiers {
            let mut urls = Vec::new();
            for url in tier {
                if !seen.contains(&url.as_str()) {
                    check_tracker(url)?;
                    seen.push(url.as_str());
                    urls.push(url);
                }
            }
            if !urls.is_empty() {
                list.push(urls);
            }
        }
        if seen.len() > ctx.cfg.max_trackers {
            return Err(EditError::TooManyTrackers {
                count: seen.len(),
                max: ctx.cfg.max_trackers,
            });
        }
        let families = ctx.cfg.families;
        // Ids: those that stay, plus one free slot per new URL and family (checked before
        // changing anything).
        let gone: Vec<usize> = (0..self.trackers.len())
            .filter(|&i| {
                let t = &self.trackers[i];
                !t.removed && !seen.contains(&ctx.endpoints.url(t.url).as_str())
            })
            .collect();
        let new: usize = list
            .iter()
            .flatten()
            .filter(|url| self.listed(ctx, url).is_empty())
            .map(|url| families_of(families, url).len())
            .sum();
        if new > self.free_ids(&self.quiet_slots(ctx)) {
            return Err(EditError::NoFreeId);
        }
        let now = ctx.advance(now);
        let old_n = self.group_len(families);
        let mut removed = Vec::new();
        for i in gone {
            self.unlist(ctx, i, now);
            removed.push((TrackerId(i as u16), self.trackers[i].url));
        }
        // Asked again: a tracker just taken off with nothing owed is free at once.
        let mut quiet = self.quiet_slots(ctx);
        let n = list.len();
        let mut lists: Vec<Vec<usize>> = Vec::with_capacity(groups(families).len() * n);
        let mut fresh = Vec::new();
        for &family in groups(families) {
            for tier in &list {
                let t = lists.len();
                let mut ids = Vec::with_capacity(tier.len());
                for &url in tier {
                    if !families_of(families, url).contains(&family) {
                        continue;
                    }
                    let listed = self.listed(ctx, url);
                    let i = match listed.iter().find(|&&i| self.trackers[i].family == family) {
                        Some(&i) => i,
                        None => {
                            let i = self.new_slot(ctx, &mut quiet, url.clone(), t, family)?;
                            self.schedule_scrape(ctx, i, now);
                            fresh.push(i);
                            i
                        }
                    };
                    ids.push(i);
                }
                lists.push(ids);
            }
        }
        self.tiers = lists;
        let origin = |j: usize| (j < old_n).then_some(j);
        self.relane(families, ctx.cfg.tier_mode, old_n, &origin, &fresh, now);
        // As libtorrent does after `replace_trackers`: announce now to the new list (`min
        // interval` still holds for trackers that stay and owe no event).
        let all: Vec<usize> = (0..self.lanes.len()).collect();
        self.due_now(&all, now);
        self.drive(ctx, now);
        Ok(removed)
    }

    /// The tier of tracker `i` as the caller numbers them: its place in the list as given (under
    /// BEP 7 dual-stack, the same for both families of a URL).
    pub(crate) fn list_tier(&self, ctx: &Ctx, i: usize) -> usize {
        let n = self.group_len(ctx.cfg.families).max(1);
        self.trackers.get(i).map_or(0, |t| t.tier % n)
    }

    /// Drops every tier of the list that no listed tracker is in any more (under BEP 7
    /// dual-stack, empty in every family's group), so later tiers move up and the tier count
    /// never exceeds the URLs listed. Returns, for each tier left, the tier it was before.
    fn close_empty_tiers(&mut self, families: Families) -> Vec<usize> {
        let g = groups(families).len().max(1);
        let n = self.group_len(families);
        let kept: Vec<usize> = (0..n)
            .filter(|&j| (0..g).any(|k| self.tiers.get(k * n + j).is_some_and(|t| !t.is_empty())))
            .collect();
        if kept.len() < n {
            let mut old = std::mem::take(&mut self.tiers);
            for k in 0..g {
                for &j in &kept {
                    self.tiers.push(std::mem::take(&mut old[k * n + j]));
                }
            }
        }
        kept
    }

    /// Tiers per family group.
    fn group_len(&self, families: Families) -> usize {
        self.tiers.len() / groups(families).len().max(1)
    }

    /// Distinct URLs listed (a dual-stack host name is one URL with two trackers).
    fn listed_urls(&self) -> usize {
        let mut urls: Vec<u32> = self
            .trackers
            .iter()
            .filter(|t| !t.removed)
            .map(|t| t.url)
            .collect();
        urls.sort_unstable();
        urls.dedup();
        urls.len()
    }

    /// The slots a new tracker can take, lowest first: removed ones with nothing in flight and
    /// no event waiting to be drained (a new tracker's outcome would otherwise take the place of
    /// the removed one's, say its `stopped`, under the same id). One scan of the slots and one of
    /// the event queue, however many slots there are.
    fn quiet_slots(&self, ctx: &Ctx) -> Vec<usize> {
        let waiting = ctx.events.waiting_trackers(self.me, self.trackers.len());
        (0..self.trackers.len())
            .filter(|&i| {
                let t = &self.trackers[i];
                t.removed && t.announce.is_none() && t.scrape.is_none() && !waiting[i]
            })
            .rev()
            .collect()
    }

    /// How many new trackers can get an id: `quiet` ones (see [`quiet_slots`](Self::quiet_slots)),
    /// and room for new slots up to the 65,536 ids.
    fn free_ids(&self, quiet: &[usize]) -> usize {
        quiet.len() + (usize::from(u16::MAX) + 1).saturating_sub(self.trackers.len())
    }

    /// The listed trackers of URL index `url`, in family-group order (IPv4 first).
    fn listed_url(&self, url: u32, families: Families) -> Vec<usize> {
        let mut all: Vec<usize> = (0..self.trackers.len())
            .filter(|&i| !self.trackers[i].removed && self.trackers[i].url == url)
            .collect();
        all.sort_by_key(|&i| group_of(families, self.trackers[i].family));
        all
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

    /// The listed trackers with this URL (one per family under dual-stack), IPv4 first.
    fn listed(&self, ctx: &Ctx, url: &TrackerUrl) -> Vec<usize> {
        let found = self
            .trackers
            .iter()
            .find(|t| !t.removed && ctx.endpoints.url(t.url).as_str() == url.as_str());
        match found {
            Some(t) => self.listed_url(t.url, ctx.cfg.families),
            None => Vec::new(),
        }
    }

    /// A slot for a new tracker in tier `tier` over `family`: the lowest of `quiet` (taken from
    /// it; see [`quiet_slots`](Self::quiet_slots)), else a new one.
    fn new_slot(
        &mut self,
        ctx: &mut Ctx,
        quiet: &mut Vec<usize>,
        url: TrackerUrl,
        tier: usize,
        family: Option<AddressFamily>,
    ) -> Result<usize, EditError> {
        let mut tracker = Tracker::new(ctx.endpoints.intern(url), tier);
        tracker.family = family;
        match quiet.pop() {
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
    /// `old_n` is the number of tiers per family group before the change, and `origin` gives for
    /// a tier of a group now the tier it was before (`None` for a new one): a lane takes over the
    /// state of the lane that walked the same group, tier of the group or tracker.
    pub(crate) fn relane(
        &mut self,
        families: Families,
        mode: TierMode,
        old_n: usize,
        origin: &dyn Fn(usize) -> Option<usize>,
        fresh: &[usize],
        now: Instant,
    ) {
        let g = groups(families).len();
        let n = self.group_len(families);
        for (t, list) in self.tiers.iter().enumerate() {
            for &i in list {
                self.trackers[i].tier = t;
            }
        }
        let (members, from): (Vec<Members>, Vec<Option<usize>>) = match mode {
            TierMode::OneTracker => (0..g)
                .map(|k| (Members::Tiers(k * n..(k + 1) * n), Some(k)))
                .unzip(),
            TierMode::AllTiers => (0..self.tiers.len())
                .map(|t| {
                    let (k, j) = (t / n.max(1), t % n.max(1));
                    (
                        Members::Tiers(t..t + 1),
                        origin(j).filter(|&o| o < old_n).map(|o| k * old_n + o),
                    )
                })
                .unzip(),
            TierMode::AllTrackers => (0..self.trackers.len())
                .map(|i| (Members::One(i), Some(i)))
                .unzip(),
        };
        // A round in flight follows its tracker to its lane (in all-trackers mode a tracker's
        // lane is its own slot, which never changes).
        for t in &mut self.trackers {
            if t.removed {
                // Off the list, so in no lane's walk: its last exchange (a `stopped`) ends alone.
                if let Some(ex) = t.announce.as_deref_mut() {
                    ex.lane = None;
                }
                continue;
            }
            let lane = match mode {
                TierMode::OneTracker => group_of(families, t.family),
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
            let (mut state, mut failures) =
                match from.get(l).copied().flatten().and_then(|o| old.get(o)) {
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

/// The group of a family in the tier list (see [`groups`]).
fn group_of(families: Families, family: Option<AddressFamily>) -> usize {
    groups(families)
        .iter()
        .position(|&f| f == family)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::announce::{Config, Progress, Torrent};
    use crate::test_origin::test_origin;
    use crate::{InfoHash, PeerId};
    use rand_chacha::ChaCha12Rng;
    use rand_core::SeedableRng;

    fn url(n: u32) -> TrackerUrl {
        let spelled = format!("udp://10.{}.{}.{}:6969", n >> 16, (n >> 8) & 255, n & 255);
        TrackerUrl::parse(&spelled).unwrap()
    }

    #[test]
    fn an_edit_scans_the_event_queue_once_however_many_removed_trackers_wait() {
        // The fresh-user churn: add a tracker, send its datagram, remove it, never drain. Each
        // removed tracker's outcome waits, so its id stays taken and the slots grow with the
        // queue; an edit that asked the queue about each slot cost slots x queue.
        let t0 = test_origin();
        let config = Config {
            tier_mode: TierMode::AllTrackers,
            ..Config::default()
        };
        let torrent = Torrent {
            info_hash: InfoHash([3; 20]),
            peer_id: PeerId(*b"-BT0001-editcost0001"),
            port: 6881,
            progress: Progress::default(),
            key: None,
        };
        let mut rng = ChaCha12Rng::seed_from_u64(1);
        let mut a = Announce::new(config, torrent, vec![vec![url(0)]], &mut rng, t0).unwrap();
        let mut buf = Vec::new();
        let steps = 300;
        for n in 1..=steps {
            let (before, queued) = (a.ctx.events.scanned(), a.ctx.events.len() as u64);
            let id = a.add_tracker(t0, url(n), 0).unwrap();
            assert!(a.ctx.events.scanned() - before <= queued, "step {n}");
            while a.poll_transmit(&mut buf).is_some() {}
            assert!(a.remove_tracker(t0, id));
        }
        assert!(a.ctx.events.len() >= steps as usize);
        assert!(a.session.trackers.len() > steps as usize);
        // A replace asks once to check the ids, once more after taking trackers off.
        let (before, queued) = (a.ctx.events.scanned(), a.ctx.events.len() as u64);
        a.replace_trackers(t0, vec![vec![url(steps + 1), url(steps + 2)]])
            .unwrap();
        assert!(a.ctx.events.scanned() - before <= 2 * queued + 2);
        // Drained, every removed tracker's id is free again (the replaced first one's too): the
        // next one takes the lowest.
        while a.poll_event().is_some() {}
        let id = a.add_tracker(t0, url(steps + 3), 0).unwrap();
        assert_eq!(id, TrackerId(0));
    }
}
