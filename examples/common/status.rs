//! A torrent's tracker table, drawn from the machine's status snapshot alone (no event
//! bookkeeping), the way a client's "Trackers" tab would.

use std::fmt::Write;
use std::time::Instant;

use bt_tracker::announce::{TrackerState, TrackerStatus};

/// The table's lines for one torrent's trackers, times relative to `now`.
pub fn table<'a>(trackers: impl Iterator<Item = TrackerStatus<'a>>, now: Instant) -> String {
    let mut out = String::new();
    for t in trackers {
        let state = match t.state {
            // Pause is the torrent's: the row says so over the tracker's own state.
            _ if t.paused => "paused",
            TrackerState::NotContacted => "not contacted",
            TrackerState::Updating => "updating",
            TrackerState::Working => "working",
            TrackerState::NotWorking => "not working",
            TrackerState::Disabled => "disabled",
            _ => "?",
        };
        let count = |c: Option<u32>| c.map_or("?".to_owned(), |n| n.to_string());
        let (seeders, leechers) = t.counts.map_or(("?".to_owned(), "?".to_owned()), |c| {
            (count(c.seeders), count(c.leechers))
        });
        let next = t.next_announce.map_or("-".to_owned(), |at| {
            format!("in {} s", at.saturating_duration_since(now).as_secs())
        });
        let _ = write!(
            out,
            "  tier {} {:<40} {state:<13} peers {:>4} seeders {seeders:>4} leechers {leechers:>4} next {next}",
            t.tier,
            // Display, not `as_str`: a password in the URL shows as `xxxxx`.
            t.url.to_string(),
            count(t.peers),
        );
        if t.failures > 0 {
            let plural = if t.failures == 1 { "" } else { "s" };
            let _ = write!(out, " ({} failure{plural}", t.failures);
            if let Some((cause, _)) = t.last_error {
                let _ = write!(out, ": {cause}");
            }
            out.push(')');
        }
        if let Some(message) = t.message {
            let _ = write!(out, " \"{message}\"");
        }
        out.push('\n');
    }
    out
}
