//! The optional scrape schedule ([`Config::scrape_interval`](super::Config::scrape_interval)):
//! each tracker is scraped on its own every interval (Transmission's 30 minutes), skipped when its
//! latest announce reply already carried the counts, never before BEP 48's
//! `flags.min_request_interval`, with due times rounded up to 10 s so that a `Client` sends the
//! scrapes of many torrents in one batch.

use std::time::{Duration, Instant};

use super::ctx::Ctx;
use super::event::{RequestKind, TrackerId};
use super::outcome::ScrapeCounts;
use super::schedule::later;
use super::session::Session;
use super::status::CountsSource;
use crate::Scheme;
use crate::http::scrape_tracker_url;

/// Scheduled scrapes fall on multiples of this since the machine started.
const ALIGN: Duration = Duration::from_secs(10);

/// `at` rounded up to the next multiple of [`ALIGN`] after `origin`.
pub(crate) fn align(origin: Instant, at: Instant) -> Instant {
    let since = at.saturating_duration_since(origin);
    let step = ALIGN.as_nanos();
    let rounded = since.as_nanos().div_ceil(step) * step;
    let extra = rounded - since.as_nanos();
    later(at, Duration::from_nanos(u64::try_from(extra).unwrap_or(0)))
}

impl Session {
    /// Puts every tracker on the schedule (when there is one).
    pub(crate) fn schedule_scrapes(&mut self, ctx: &Ctx, now: Instant) {
        for i in 0..self.trackers.len() {
            self.schedule_scrape(ctx, i, now);
        }
    }

    /// Tracker `i`'s next scheduled scrape: one interval after `from`, not before its
    /// `min_request_interval`, aligned. None without a schedule, or for an HTTP tracker without
    /// a scrape URL.
    pub(crate) fn schedule_scrape(&mut self, ctx: &Ctx, i: usize, from: Instant) {
        let t = &self.trackers[i];
        let due = ctx.cfg.scrape_interval.filter(|_| {
            let url = ctx.endpoints.url(t.url);
            !t.removed && (url.scheme() == Scheme::Udp || scrape_tracker_url(url).is_some())
        });
        let due = due.map(|interval| {
            let at = later(from, interval).max(t.scrape_not_before().unwrap_or(from));
            align(ctx.origin, at)
        });
        self.trackers[i].set_scrape_due(due);
    }

    /// Starts (or, in a `Client`, hands over for batching) the scheduled scrapes that are due.
    pub(crate) fn start_due_scrapes(&mut self, ctx: &mut Ctx, now: Instant) {
        let Some(interval) = ctx.cfg.scrape_interval else {
            return;
        };
        for i in 0..self.trackers.len() {
            let t = &self.trackers[i];
            if t.scrape_due().is_none_or(|due| due > now) {
                continue;
            }
            // The latest announce reply carried the counts less than an interval ago: nothing to
            // learn; the next scrape is an interval after that reply (as if it had been one).
            let fresh = t
                .record
                .counts()
                .filter(|c| c.source == CountsSource::Announce && later(c.at, interval) > now);
            let busy = t.disabled || t.removed || t.scrape.is_some();
            let held = t.scrape_not_before().is_some_and(|nb| nb > now);
            self.schedule_scrape(ctx, i, fresh.map_or(now, |c| c.at));
            if fresh.is_some() || busy || held {
                continue;
            }
            if ctx.batched_scrapes {
                let url = self.trackers[i].url;
                let wanted = (self.me, TrackerId(i as u16), url, self.torrent.info_hash);
                ctx.scrape_wanted.push(wanted);
            } else {
                self.start_or_fail(ctx, i, RequestKind::Scrape, now);
            }
        }
    }

    /// A scrape of tracker `i` was answered (on the schedule or not): the schedule restarts from
    /// now, and BEP 48's `min_request_interval` holds the next one back.
    pub(crate) fn scraped(&mut self, ctx: &Ctx, i: usize, now: Instant, row: ScrapeCounts) {
        if let Some(d) = row.min_request_interval {
            self.trackers[i].set_scrape_not_before(Some(later(now, d)));
        }
        if self.trackers[i].scrape_due().is_some() {
            self.schedule_scrape(ctx, i, now);
        }
    }
}
