//! What the examples print: one result per tracker, as a line of text or a JSON object.

use std::net::SocketAddr;

use bt_tracker::announce::{Announced, Scraped};
use serde_json::{Value, json};

/// The first outcome of one tracker's announce (and scrape, when asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackerReport {
    /// The tracker URL.
    pub tracker: String,
    /// The tracker answered with a peer list (possibly empty).
    pub ok: bool,
    /// The peers it gave.
    pub peers: Vec<SocketAddr>,
    /// Re-announce period in force, seconds.
    pub interval: Option<u64>,
    /// `min interval` in force, seconds.
    pub min_interval: Option<u64>,
    /// Seeders.
    pub seeders: Option<u32>,
    /// Leechers.
    pub leechers: Option<u32>,
    /// The tracker's warning.
    pub warning: Option<String>,
    /// Why the announce failed.
    pub error: Option<String>,
    /// The scrape's result, when one was made.
    pub scrape: Option<Result<Scraped, String>>,
}

impl TrackerReport {
    /// A tracker that has not answered yet.
    pub fn pending(tracker: &str) -> Self {
        TrackerReport {
            tracker: tracker.to_owned(),
            ..TrackerReport::default()
        }
    }

    /// Records a successful announce.
    pub fn announced(&mut self, a: &Announced) {
        self.ok = true;
        self.error = None;
        self.peers = a.peers.clone();
        self.interval = Some(a.interval.as_secs());
        self.min_interval = Some(a.min_interval.as_secs());
        self.seeders = a.seeders;
        self.leechers = a.leechers;
        self.warning = a.warning.clone();
    }

    /// The line printed on stderr.
    pub fn summary(&self) -> String {
        let mut line = format!("{}: ", self.tracker);
        match &self.error {
            Some(error) if !self.ok => line.push_str(&format!("FAILED: {error}")),
            _ => {
                line.push_str(&format!("{} peers", self.peers.len()));
                let show = |n: Option<u32>| n.map_or("?".to_owned(), |n| n.to_string());
                line.push_str(&format!(
                    ", {} seeders, {} leechers",
                    show(self.seeders),
                    show(self.leechers)
                ));
                if let (Some(i), Some(m)) = (self.interval, self.min_interval) {
                    line.push_str(&format!(", interval {i} s (min {m} s)"));
                }
            }
        }
        if let Some(w) = &self.warning {
            line.push_str(&format!(", warning: {w}"));
        }
        match &self.scrape {
            Some(Ok(s)) => {
                let show = |n: Option<u32>| n.map_or("unknown".to_owned(), |n| n.to_string());
                line.push_str(&format!(
                    "; scrape: {} seeders, {} completed, {} leechers",
                    show(s.seeders),
                    show(s.completed),
                    show(s.leechers)
                ));
            }
            Some(Err(e)) => line.push_str(&format!("; scrape failed: {e}")),
            None => {}
        }
        line
    }

    /// The JSON object printed with `--json`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "tracker": self.tracker,
            "ok": self.ok,
            "peers": self.peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "interval": self.interval,
            "min_interval": self.min_interval,
            "seeders": self.seeders,
            "leechers": self.leechers,
            "warning": self.warning,
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
