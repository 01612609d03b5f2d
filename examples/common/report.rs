//! What the examples print: one result per tracker, as a line of text or a JSON object.

use bt_tracker::announce::{Announced, Scraped};
use serde_json::{Value, json};

/// The first outcome of one tracker's announce (and scrape, when asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackerReport {
    /// The tracker URL.
    pub tracker: String,
    /// The tracker's answer with a peer list (possibly empty), once it came.
    pub announced: Option<Announced>,
    /// Why the announce failed, when it did before any answer.
    pub error: Option<String>,
    /// The scrape's result, when one was made.
    pub scrape: Option<Result<Scraped, String>>,
}

/// A count, or `?` when the tracker did not say.
fn shown(n: Option<u32>, unknown: &str) -> String {
    n.map_or(unknown.to_owned(), |n| n.to_string())
}

impl TrackerReport {
    /// A tracker that has not answered yet.
    pub fn pending(tracker: &str) -> Self {
        TrackerReport {
            tracker: tracker.to_owned(),
            ..TrackerReport::default()
        }
    }

    /// The tracker answered with a peer list.
    pub fn ok(&self) -> bool {
        self.announced.is_some()
    }

    /// The line printed on stderr.
    pub fn summary(&self) -> String {
        let mut line = format!("{}: ", self.tracker);
        match (&self.announced, &self.error) {
            (Some(a), _) => {
                line.push_str(&format!(
                    "{} peers, {} seeders, {} leechers, interval {} s (min {} s)",
                    a.peers.len(),
                    shown(a.seeders, "?"),
                    shown(a.leechers, "?"),
                    a.interval.as_secs(),
                    a.min_interval.as_secs()
                ));
                if let Some(w) = &a.warning {
                    line.push_str(&format!(", warning: {w}"));
                }
            }
            (None, Some(error)) => line.push_str(&format!("FAILED: {error}")),
            (None, None) => line.push_str("0 peers, ? seeders, ? leechers"),
        }
        match &self.scrape {
            Some(Ok(s)) => line.push_str(&format!(
                "; scrape: {} seeders, {} completed, {} leechers",
                shown(s.seeders, "unknown"),
                shown(s.completed, "unknown"),
                shown(s.leechers, "unknown")
            )),
            Some(Err(e)) => line.push_str(&format!("; scrape failed: {e}")),
            None => {}
        }
        line
    }

    /// The JSON object printed with `--json`.
    pub fn to_json(&self) -> Value {
        let a = self.announced.as_ref();
        let mut v = json!({
            "tracker": self.tracker,
            "ok": self.ok(),
            "peers": a.map_or(Vec::new(), |a| a.peers.iter().map(ToString::to_string).collect()),
            "interval": a.map(|a| a.interval.as_secs()),
            "min_interval": a.map(|a| a.min_interval.as_secs()),
            "seeders": a.and_then(|a| a.seeders),
            "leechers": a.and_then(|a| a.leechers),
            "warning": a.and_then(|a| a.warning.as_deref()),
            "error": self.error,
        });
        match &self.scrape {
            Some(Ok(s)) => {
                v["scrape"] = json!({
                    "seeders": s.seeders,
                    "completed": s.completed,
                    "leechers": s.leechers,
                });
            }
            Some(Err(e)) => v["scrape"] = json!({ "error": e }),
            None => {}
        }
        v
    }
}
