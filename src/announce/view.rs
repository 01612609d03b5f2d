//! What a session shows without changing: when it next needs the caller (its timeout and the
//! datagrams and HTTP requests waiting), when the next announce goes out, and each tracker's
//! [`TrackerStatus`].

use std::time::Instant;

use super::ctx::Ctx;
use super::event::TrackerId;
use super::session::{Phase, STOPPED, Session};
use super::status::{TrackerState, TrackerStatus};
use super::tracker::{Exchange, Io, LaneState, walk};

impl Session {
    /// When the next announce goes out: at once for a lane whose announce is in flight or waits
    /// for a place in its endpoint's window (its rate-ceiling slot when it waits for one), the
    /// due time of a waiting lane; `None` when no lane will announce again.
    pub(super) fn next_announce(&self, now: Instant) -> Option<Instant> {
        if self.phase != Phase::Running {
            return None;
        }
        (0..self.lanes.len())
            .filter_map(|l| match self.lanes[l].state {
                LaneState::Idle { due } => Some(due),
                LaneState::Busy { .. } => Some(
                    self.trackers
                        .iter()
                        .filter_map(|t| t.announce.as_deref())
                        .find(|ex| ex.lane == Some(l))
                        .and_then(Exchange::paced_until)
                        .unwrap_or(now),
                ),
                LaneState::Dead => None,
            })
            .min()
    }

    /// In one pass: [`poll_timeout`](Self::poll_timeout), and whether a datagram and an HTTP
    /// request wait to be drained.
    pub(crate) fn status(&self) -> (Option<Instant>, bool, bool) {
        let (mut due, mut udp, mut http) = (None, false, false);
        let mut earliest = |at: Option<Instant>| {
            if let Some(at) = at {
                due = Some(due.map_or(at, |d: Instant| d.min(at)));
            }
        };
        let running = match self.phase {
            Phase::Stopped => return (None, false, false),
            // While a `stopped` waits for a place, the deadline waits too (it is moved when the
            // place comes).
            Phase::Stopping { deadline } => {
                if !self.stopped_queued() {
                    earliest(Some(deadline));
                }
                false
            }
            Phase::Running => {
                for lane in &self.lanes {
                    if let LaneState::Idle { due } = lane.state {
                        earliest(Some(due));
                    }
                }
                true
            }
        };
        // One pass over the trackers (every input of a `Client` asks for this).
        for t in &self.trackers {
            if running {
                earliest(t.forced());
                earliest(t.scrape_due());
            }
            for ex in [&t.announce, &t.scrape].into_iter().flatten() {
                earliest(ex.due());
                match &ex.io {
                    Io::Resolving(_) | Io::Queued(_) => {}
                    Io::Udp(u) => udp |= u.pending,
                    Io::Http(h) => http |= h.pending,
                }
            }
        }
        (due, udp, http)
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.status().0
    }

    /// Every tracker's status, in tier order.
    pub(crate) fn statuses<'a>(&'a self, ctx: &'a Ctx) -> impl Iterator<Item = TrackerStatus<'a>> {
        self.tiers
            .iter()
            .flatten()
            .map(move |&i| self.tracker_status(ctx, i))
    }

    fn tracker_status<'a>(&'a self, ctx: &'a Ctx, i: usize) -> TrackerStatus<'a> {
        let t = &self.trackers[i];
        let r = &t.record;
        let state = if t.disabled {
            TrackerState::Disabled
        } else if t.announce.is_some() && self.phase != Phase::Stopped {
            TrackerState::Updating
        } else if r.failures > 0 {
            TrackerState::NotWorking
        } else if r.last_announce.is_some() {
            TrackerState::Working
        } else {
            TrackerState::NotContacted
        };
        TrackerStatus {
            id: TrackerId(i as u16),
            url: ctx.endpoints.url(t.url),
            tier: self.list_tier(ctx, i),
            state,
            failures: r.failures,
            last_error: r.last_error(),
            message: r.message(),
            last_announce: r.last_announce,
            next_announce: self.next_announce_of(i),
            min_announce: t.min_next,
            peers: r.peers(),
            counts: r.counts(),
            has_tracker_id: t.tracker_id().is_some(),
            family: t.family,
            paused: self.paused,
        }
    }

    /// When tracker `i` is announced to next: its lane's due time, if the lane's walk will pick it
    /// then.
    fn next_announce_of(&self, i: usize) -> Option<Instant> {
        let t = &self.trackers[i];
        if self.phase != Phase::Running || t.disabled || t.announce.is_some() {
            return None;
        }
        let lane_due = self.lanes.iter().find_map(|lane| {
            let LaneState::Idle { due } = lane.state else {
                return None;
            };
            if !walk(&lane.members, &self.tiers).any(|j| j == i) {
                return None;
            }
            let first = walk(&lane.members, &self.tiers).find(|&j| self.trackers[j].available(due));
            (first == Some(i)).then_some(due)
        });
        lane_due.into_iter().chain(t.forced()).min()
    }

    /// A `stopped` still waits for a place in its endpoint's window.
    pub(super) fn stopped_queued(&self) -> bool {
        self.trackers
            .iter()
            .filter_map(|t| t.announce.as_deref())
            .any(|ex| ex.kind == STOPPED && ex.io.queued())
    }
}
