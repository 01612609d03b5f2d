//! Commands on one torrent while it runs: announce to one tracker, scrape one tracker, change the
//! announced port, `numwant` and peer id, pause and resume, and BEP 21 partial seeding.

use std::time::Instant;

use super::Announce;
use super::config::MAX_NUM_WANT;
use super::ctx::Ctx;
use super::edit::EditError;
use super::event::{Cause, RequestKind, TrackerId};
use super::schedule::later;
use super::session::{Phase, Session};
use super::tracker::{LaneState, walk};
use crate::{AnnounceEvent, PeerId};

const STOPPED: RequestKind = RequestKind::Announce(AnnounceEvent::Stopped);

impl Announce {
    /// Announces to one tracker now, whatever its tier and whichever tracker its tier would ask
    /// next (a client's "force reannounce" on one row of its tracker list). The announce carries
    /// the event the tracker is owed (`started`, `completed` or none). `min interval` and BEP 31
    /// `retry in` still hold: the announce then waits for them.
    ///
    /// Returns when it goes out: `now` (or its pacer slot) when sent or already in flight, later
    /// when `min interval` or `retry in` holds it back; `None` for an unknown or removed tracker, a
    /// disabled one, a paused torrent, or once [`stop`](Self::stop) was called.
    ///
    /// When the tracker is the one its tier asks next, its answer counts as that tier's round (the
    /// next announce is `interval` later); otherwise the tier's schedule is unchanged.
    pub fn announce_tracker(&mut self, now: Instant, tracker: TrackerId) -> Option<Instant> {
        self.with(|s, ctx| s.announce_tracker(ctx, now, tracker))
    }

    /// Scrapes this torrent on one tracker (BEP 48 over HTTP, BEP 15 over UDP). Returns `false`
    /// for an unknown, removed or disabled tracker, one already being scraped, and once stopping;
    /// an HTTP tracker without a scrape URL answers with a [`Cause::ScrapeUnsupported`] failure.
    ///
    /// BEP 7 dual-stack ([`Families::Both`](super::Families::Both)): scheduled scrapes of a
    /// host-name URL go over IPv4 only (the counts are the tracker's); naming its IPv6 tracker
    /// here scrapes over IPv6, the way to check that side answers.
    pub fn scrape_tracker(&mut self, now: Instant, tracker: TrackerId) -> bool {
        self.with(|s, ctx| s.scrape_tracker(ctx, now, tracker))
    }

    /// Changes the TCP port announced to trackers (after the listen port changed). The next
    /// announces carry it, and every tier re-announces now (`min interval` still holds), so the
    /// peers trackers hand out point at the new port.
    ///
    /// Fails with [`EditError::InvalidPort`] for port 0 and [`EditError::Stopped`] once stopping.
    pub fn set_port(&mut self, now: Instant, port: u16) -> Result<(), EditError> {
        self.with(|s, ctx| s.set_port(ctx, now, port))
    }

    /// Changes the peers asked for per announce (`numwant`) for this torrent, instead of
    /// [`Config::num_want`](super::Config::num_want); the next announces carry it (`stopped` still
    /// asks for 0). Fails with [`EditError::InvalidNumWant`] outside 1 to
    /// [`MAX_NUM_WANT`], and with [`EditError::Stopped`] once stopping.
    pub fn set_num_want(&mut self, num_want: u32) -> Result<(), EditError> {
        self.session.set_num_want(num_want)
    }

    /// Changes the peer id (BEP 3) the next announces carry. The `key` stays, so trackers still
    /// recognise this client.
    pub fn set_peer_id(&mut self, peer_id: PeerId) {
        self.session.torrent.peer_id = peer_id;
    }

    /// BEP 21: the torrent is a partial seed (it has every piece it wants, not every piece). While
    /// it is, every HTTP announce without an event carries `event=paused`; over UDP, which has no
    /// code for it, such announces go out with event 0 (PROTOCOL.md sections 1 and 16; aquatic
    /// drops libtorrent's non-standard 4). `started`, `completed` and `stopped` are sent as usual.
    /// Not to be confused with [`pause`](Self::pause).
    pub fn set_partial_seed(&mut self, partial_seed: bool) {
        self.session.opts.partial_seed = partial_seed;
    }

    /// Pauses the torrent without removing it: announces in flight are cancelled (each ends in a
    /// [`Cause::Cancelled`] failure), every tracker that was sent `started` gets `stopped` (as
    /// [`stop`](Self::stop) does), and no announce goes out until [`resume`](Self::resume).
    /// Scrapes still work. Returns `false` when already paused or stopping.
    pub fn pause(&mut self, now: Instant) -> bool {
        self.with(|s, ctx| s.pause(ctx, now))
    }

    /// Resumes a paused torrent: every tracker gets `started` again on its next announce, and the
    /// tiers announce now. A `stopped` of the pause still in flight is cancelled. Returns `false`
    /// when not paused or stopping.
    pub fn resume(&mut self, now: Instant) -> bool {
        self.with(|s, ctx| s.resume(ctx, now))
    }

    /// [`pause`](Self::pause) was called and [`resume`](Self::resume) not since.
    pub fn is_paused(&self) -> bool {
        self.session.paused
    }
}

impl Session {
    /// The index of a tracker still listed.
    pub(crate) fn live_index(&self, id: TrackerId) -> Option<usize> {
        let i = usize::from(id.0);
        self.trackers.get(i).filter(|t| !t.removed).map(|_| i)
    }

    /// Commands that change what is announced apply while the torrent runs or is paused.
    pub(crate) fn check_running(&self) -> Result<(), EditError> {
        match self.phase {
            Phase::Running => Ok(()),
            _ => Err(EditError::Stopped),
        }
    }

    pub(crate) fn announce_tracker(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        id: TrackerId,
    ) -> Option<Instant> {
        if self.phase != Phase::Running || self.paused {
            return None;
        }
        let now = ctx.advance(now);
        let i = self.live_index(id)?;
        let t = &mut self.trackers[i];
        if t.disabled {
            return None;
        }
        if t.announce.is_none() {
            let mut at = now.max(t.retry_after().unwrap_or(now));
            if t.next_event() == AnnounceEvent::Regular {
                at = at.max(t.min_next.unwrap_or(now));
            }
            t.set_forced(Some(at));
            self.drive(ctx, now);
        }
        let t = &self.trackers[i];
        match &t.announce {
            Some(ex) => Some(ex.paced_until().unwrap_or(now)),
            None => t.forced(),
        }
    }

    /// Starts the announces asked for by [`announce_tracker`](Self::announce_tracker) that are due.
    pub(crate) fn start_forced(&mut self, ctx: &mut Ctx, now: Instant) {
        if self.paused {
            return;
        }
        for i in 0..self.trackers.len() {
            let t = &mut self.trackers[i];
            if t.forced().is_none_or(|at| at > now) {
                continue;
            }
            t.set_forced(None);
            if t.removed || t.disabled || t.announce.is_some() {
                continue; // gone, or announcing already
            }
            if let Some(retry) = t.retry_after().filter(|&r| r > now) {
                t.set_forced(Some(retry));
                continue;
            }
            let event = t.next_event();
            if let Some(m) = t.min_next.filter(|&m| m > now)
                && event == AnnounceEvent::Regular
            {
                t.set_forced(Some(m));
                continue;
            }
            self.start_or_fail(ctx, i, RequestKind::Announce(event), now);
        }
    }

    /// A lane's walk reached tracker `i`, which has an announce of its own in flight (asked for
    /// with `announce_tracker`): the lane takes it as its round instead of skipping the tracker.
    pub(crate) fn adoptable(&self, i: usize, now: Instant) -> bool {
        let t = &self.trackers[i];
        t.may_contact(now)
            && t.announce
                .as_ref()
                .is_some_and(|ex| ex.lane.is_none() && ex.kind != STOPPED)
    }

    /// Makes tracker `i`'s own announce lane `l`'s round; `false` when it has none.
    pub(crate) fn adopt(&mut self, i: usize, l: usize) -> bool {
        match self.trackers[i].announce.as_deref_mut() {
            Some(ex) if ex.lane.is_none() && ex.kind != STOPPED => {
                ex.lane = Some(l);
                true
            }
            _ => false,
        }
    }

    /// Tracker `i` answered an announce of its own: a lane whose next round would go to it
    /// counts that as its round.
    pub(crate) fn answered_alone(
        &mut self,
        i: usize,
        owes_event: bool,
        interval: std::time::Duration,
        now: Instant,
    ) {
        for l in 0..self.lanes.len() {
            let LaneState::Idle { due } = self.lanes[l].state else {
                continue;
            };
            let pick = walk(&self.lanes[l].members, &self.tiers)
                .find(|&j| self.trackers[j].available(due));
            if pick == Some(i) {
                let due = if owes_event {
                    now
                } else {
                    later(now, interval)
                };
                self.lanes[l].state = LaneState::Idle { due };
                self.lanes[l].failures = 0;
            }
        }
    }

    pub(crate) fn scrape_tracker(&mut self, ctx: &mut Ctx, now: Instant, id: TrackerId) -> bool {
        if self.phase != Phase::Running {
            return false;
        }
        let now = ctx.advance(now);
        let Some(i) = self.live_index(id) else {
            return false;
        };
        let t = &self.trackers[i];
        if t.disabled || t.scrape.is_some() {
            return false;
        }
        self.start_or_fail(ctx, i, RequestKind::Scrape, now);
        self.drive(ctx, now);
        true
    }

    pub(crate) fn set_port(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        port: u16,
    ) -> Result<(), EditError> {
        if port == 0 {
            return Err(EditError::InvalidPort);
        }
        self.check_running()?;
        if self.torrent.port != port {
            self.torrent.port = port;
            self.announce_now(ctx, now);
        }
        Ok(())
    }

    pub(crate) fn set_num_want(&mut self, num_want: u32) -> Result<(), EditError> {
        if !(1..=MAX_NUM_WANT).contains(&num_want) {
            return Err(EditError::InvalidNumWant { num_want });
        }
        self.check_running()?;
        self.opts.num_want = Some(num_want);
        Ok(())
    }

    pub(crate) fn pause(&mut self, ctx: &mut Ctx, now: Instant) -> bool {
        if self.phase != Phase::Running || self.paused {
            return false;
        }
        let now = ctx.advance(now);
        self.paused = true;
        for lane in &mut self.lanes {
            lane.state = LaneState::Dead;
        }
        for i in 0..self.trackers.len() {
            self.trackers[i].set_forced(None);
            if self.trackers[i]
                .announce
                .as_ref()
                .is_some_and(|e| e.kind != STOPPED)
                && let Some(ex) = self.take(ctx, i, STOPPED)
            {
                self.fail_event(ctx, i, ex.current_id(), ex.kind, Cause::Cancelled);
            }
            let t = &mut self.trackers[i];
            if t.removed {
                continue;
            }
            let owes = t.owes_stopped() && t.announce.is_none();
            // The next announce after `resume` is a `started`, whatever this `stopped` becomes.
            t.started = false;
            t.completed_pending = false;
            if owes {
                self.start_or_fail(ctx, i, STOPPED, now);
            }
        }
        self.drive(ctx, now);
        true
    }

    pub(crate) fn resume(&mut self, ctx: &mut Ctx, now: Instant) -> bool {
        if self.phase != Phase::Running || !self.paused {
            return false;
        }
        let now = ctx.advance(now);
        self.paused = false;
        for i in 0..self.trackers.len() {
            let t = &self.trackers[i];
            if t.removed || t.announce.as_ref().is_none_or(|e| e.kind != STOPPED) {
                continue;
            }
            if let Some(ex) = self.take(ctx, i, STOPPED) {
                self.fail_event(ctx, i, ex.current_id(), ex.kind, Cause::Cancelled);
            }
        }
        for lane in &mut self.lanes {
            lane.state = LaneState::Idle { due: now };
            lane.failures = 0;
        }
        self.drive(ctx, now);
        true
    }
}
