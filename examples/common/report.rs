//! What the examples print: one result per tracker, as a line of text or a JSON object.
//!
//! Every request a run makes appears with its final outcome: answered, failed and why, or not
//! answered when the run ended. [`Reports::finish`] gives every request still open an outcome, so
//! none vanishes from the output.
//!
//! Where each part comes from:
//! - the tracker's own line (state, peers, seeders, leechers, interval, `min interval`, warning,
//!   why it failed) is drawn from the machine's status snapshot (`Announce::trackers`) with
//!   [`Reports::observe`], the way a client's "Trackers" tab is drawn, with no event bookkeeping;
//! - what the snapshot does not hold comes from the events: the peer lists themselves, and the
//!   outcome of each extra request the run made (`completed`, the scrape, `stopped`), which a
//!   tracker tab does not show.

use super::out::count;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bt_tracker::AnnounceEvent;
use bt_tracker::announce::{
    Cause, Event, RequestKind, Scraped, TrackerId, TrackerState, TrackerStatus,
};
use serde_json::{Value, json};

/// The outcome of one kind of request to one tracker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The run did not ask for it (or, for `stopped`, did not send it).
    #[default]
    NotAsked,
    /// Asked for and not answered yet. [`Reports::finish`] turns it into [`Outcome::Failed`].
    Pending,
    /// Answered.
    Done(T),
    /// Failed, or not answered when the run ended: why, for a person.
    Failed(String),
}

impl<T> Outcome<T> {
    /// `Pending` when `asked`, else `NotAsked`.
    pub fn asked(asked: bool) -> Self {
        if asked {
            Outcome::Pending
        } else {
            Outcome::NotAsked
        }
    }

    /// Asked for and not answered yet.
    pub fn is_pending(&self) -> bool {
        matches!(self, Outcome::Pending)
    }

    /// Records a failure; an answer that already came stays.
    fn fail(&mut self, why: String) {
        if !matches!(self, Outcome::Done(_)) {
            *self = Outcome::Failed(why);
        }
    }

    /// Ends a request still open with `why`.
    fn close(&mut self, why: &str) {
        if self.is_pending() {
            *self = Outcome::Failed(why.to_owned());
        }
    }

    /// `"; {what}: {answer}"`, `"; {what} FAILED: {why}"`, or nothing when not asked.
    fn summary(&self, what: &str, answer: impl FnOnce(&T) -> String) -> String {
        match self {
            Outcome::NotAsked => String::new(),
            Outcome::Pending => format!("; {what}: no answer yet"),
            Outcome::Done(t) => format!("; {what}: {}", answer(t)),
            Outcome::Failed(why) => format!("; {what} FAILED: {why}"),
        }
    }

    /// `{"ok": true, ..answer}` or `{"ok": false, "error": why}`; `None` when not asked.
    fn to_json(&self, answer: impl FnOnce(&T) -> Value) -> Option<Value> {
        let failed = |why: &str| json!({ "ok": false, "error": why });
        match self {
            Outcome::NotAsked => None,
            Outcome::Pending => Some(failed("no answer yet")),
            Outcome::Done(t) => {
                let mut v = json!({ "ok": true });
                if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), answer(t)) {
                    v.extend(extra);
                }
                Some(v)
            }
            Outcome::Failed(why) => Some(failed(why)),
        }
    }
}

/// One row of the machine's status snapshot ([`TrackerStatus`]), owned so that it outlives the
/// borrow of the machine. Times are relative to the tracker's last answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Where the tracker stands.
    pub state: TrackerState,
    /// Peers in its last announce reply.
    pub peers: Option<u32>,
    /// Seeders from its last announce or scrape reply.
    pub seeders: Option<u32>,
    /// Leechers from its last announce or scrape reply.
    pub leechers: Option<u32>,
    /// From its last answer to its next announce: the `interval` in force.
    pub interval: Option<Duration>,
    /// From its last answer to the earliest announce it allows: the `min interval` in force.
    pub min_interval: Option<Duration>,
    /// Its `warning message`, when it works.
    pub warning: Option<String>,
    /// Why its last announce failed, when it does not work.
    pub error: Option<Cause>,
}

impl Row {
    /// Copies what the summary shows from one row of the snapshot.
    pub fn of(status: &TrackerStatus<'_>) -> Self {
        let since_answer = |at: Option<std::time::Instant>| {
            let (at, last) = (at?, status.last_announce?);
            Some(at.saturating_duration_since(last))
        };
        let error = status.last_error.map(|(cause, _)| cause.clone());
        Row {
            state: status.state,
            peers: status.peers,
            seeders: status.counts.and_then(|c| c.seeders),
            leechers: status.counts.and_then(|c| c.leechers),
            interval: since_answer(status.next_announce),
            min_interval: since_answer(status.min_announce),
            warning: status
                .message
                .filter(|_| error.is_none())
                .map(str::to_owned),
            error,
        }
    }
}

/// One tracker's results: its status line (and `completed`, scrape and `stopped`, when made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerReport {
    /// The tracker URL.
    pub tracker: String,
    /// The tracker's status when it answered (from the snapshot), or why it did not.
    pub announce: Outcome<Row>,
    /// The peers of its latest announce reply (from the event: the snapshot counts them only).
    pub peers: Vec<SocketAddr>,
    /// The OS's text for its latest failed announce, added to the cause.
    transport_detail: Option<String>,
    /// The `completed` announce (`--event completed`): acknowledged, or why not.
    pub completed: Outcome<()>,
    /// The scrape (`--scrape`): its counts, or why none came.
    pub scrape: Outcome<Scraped>,
    /// The `stopped` announce at exit: acknowledged, or why not. `NotAsked` when none was sent.
    pub stopped: Outcome<()>,
    /// The tracker was disabled for this torrent (HTTP 410, `retry in: never`): nothing more
    /// will be sent to it.
    pub disabled: bool,
}

/// A count, or `unknown` when the tracker did not say.
/// `count(n, noun)`, or "? nouns" when the tracker did not say.
fn counted(n: Option<u32>, noun: &str) -> String {
    n.map_or_else(|| format!("? {noun}s"), |n| count(n, noun))
}

fn shown(n: Option<u32>, unknown: &str) -> String {
    n.map_or(unknown.to_owned(), |n| n.to_string())
}

/// Whole seconds, or `?` when the snapshot has no such time.
fn secs(d: Option<Duration>) -> String {
    d.map_or("?".to_owned(), |d| d.as_secs().to_string())
}

impl TrackerReport {
    /// A tracker with its announce asked for and not answered yet, and nothing else asked.
    pub fn pending(tracker: &str) -> Self {
        TrackerReport {
            tracker: tracker.to_owned(),
            announce: Outcome::Pending,
            peers: Vec::new(),
            transport_detail: None,
            completed: Outcome::NotAsked,
            scrape: Outcome::NotAsked,
            stopped: Outcome::NotAsked,
            disabled: false,
        }
    }

    /// The tracker answered with a peer list.
    pub fn ok(&self) -> bool {
        matches!(self.announce, Outcome::Done(_))
    }

    /// Every request asked of this tracker ended, or none more can (the run may stop waiting).
    fn settled(&self) -> bool {
        let announced = match self.announce {
            Outcome::Done(_) => !self.completed.is_pending(),
            // `completed` goes out only after `started` was answered.
            Outcome::Failed(_) => true,
            Outcome::Pending | Outcome::NotAsked => false,
        };
        self.disabled || (announced && !self.scrape.is_pending())
    }

    /// The line printed on stderr.
    pub fn summary(&self) -> String {
        let mut line = format!("{}: ", self.tracker);
        match &self.announce {
            Outcome::Done(a) => {
                line.push_str(&format!(
                    "{}, {}, {}, interval {} s (min {} s)",
                    counted(a.peers, "peer"),
                    counted(a.seeders, "seeder"),
                    counted(a.leechers, "leecher"),
                    secs(a.interval),
                    secs(a.min_interval)
                ));
                if let Some(w) = &a.warning {
                    line.push_str(&format!(", warning: {w}"));
                }
            }
            Outcome::Failed(why) => line.push_str(&format!("FAILED: {why}")),
            Outcome::Pending | Outcome::NotAsked => line.push_str("no answer yet"),
        }
        line.push_str(
            &self
                .completed
                .summary("completed", |_| "acknowledged".into()),
        );
        line.push_str(&self.scrape.summary("scrape", |s| {
            format!(
                "{}, {} completed, {}",
                counted(s.seeders, "seeder"),
                shown(s.completed, "unknown"),
                counted(s.leechers, "leecher")
            )
        }));
        line.push_str(&self.stopped.summary("stopped", |_| "acknowledged".into()));
        line
    }

    /// The JSON object printed with `--json`: the announce's fields at the top level, then
    /// `completed`, `scrape` and `stopped` objects (each `{"ok": bool, ..}` like the announce,
    /// with `error` when not ok), present when that request was asked for.
    pub fn to_json(&self) -> Value {
        let a = match &self.announce {
            Outcome::Done(a) => Some(a),
            _ => None,
        };
        let error = match &self.announce {
            Outcome::Failed(why) => Some(why.as_str()),
            Outcome::Pending => Some("no answer yet"),
            Outcome::Done(_) | Outcome::NotAsked => None,
        };
        let mut v = json!({
            "tracker": self.tracker,
            "ok": self.ok(),
            "peers": self.peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "interval": a.and_then(|a| a.interval).map(|d| d.as_secs()),
            "min_interval": a.and_then(|a| a.min_interval).map(|d| d.as_secs()),
            "seeders": a.and_then(|a| a.seeders),
            "leechers": a.and_then(|a| a.leechers),
            "warning": a.and_then(|a| a.warning.as_deref()),
            "error": error,
        });
        let acknowledged = |_: &()| json!({});
        let parts = [
            ("completed", self.completed.to_json(acknowledged)),
            (
                "scrape",
                self.scrape.to_json(|s| {
                    json!({ "seeders": s.seeders, "completed": s.completed, "leechers": s.leechers })
                }),
            ),
            ("stopped", self.stopped.to_json(acknowledged)),
        ];
        for (key, part) in parts {
            if let Some(part) = part {
                v[key] = part;
            }
        }
        v
    }
}

/// Records a failure, or, for a cancelled request, ends it only when it was still open.
fn fail<T>(outcome: &mut Outcome<T>, why: &str, cancelled: bool) {
    if cancelled {
        outcome.close(why);
    } else {
        outcome.fail(why.to_owned());
    }
}

/// What a run asks of every tracker besides the announce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// A `completed` announce after `started` (`--event completed`).
    pub completed: bool,
    /// A scrape (`--scrape`).
    pub scrape: bool,
}

/// The reports of one run, one per tracker: status lines from the machine's snapshot, peer lists
/// and extra requests' outcomes from its events.
#[derive(Debug, Clone)]
pub struct Reports {
    trackers: BTreeMap<TrackerId, TrackerReport>,
}

impl Reports {
    /// Every tracker of the run (id and URL) with what was asked of it pending.
    pub fn new(trackers: impl IntoIterator<Item = (TrackerId, String)>, asked: Asked) -> Self {
        let trackers = trackers
            .into_iter()
            .map(|(id, url)| {
                let mut r = TrackerReport::pending(&url);
                r.completed = Outcome::asked(asked.completed);
                r.scrape = Outcome::asked(asked.scrape);
                (id, r)
            })
            .collect();
        Reports { trackers }
    }

    /// Records what the snapshot does not hold from one event: the peer list of an announce
    /// reply, and the outcome of `completed`, the scrape and `stopped`. `transport_detail` is the
    /// caller's text for a transport failure (what the OS said), added to the cause.
    pub fn record(&mut self, event: &Event, transport_detail: Option<&str>) {
        match event {
            Event::Announced(a) => {
                let Some(r) = self.trackers.get_mut(&a.tracker) else {
                    return;
                };
                match a.event {
                    AnnounceEvent::Stopped => r.stopped = Outcome::Done(()),
                    event => {
                        if event == AnnounceEvent::Completed {
                            r.completed = Outcome::Done(());
                        }
                        r.peers.clone_from(&a.peers);
                    }
                }
            }
            Event::Scraped(s) => {
                if let Some(r) = self.trackers.get_mut(&s.tracker) {
                    r.scrape = Outcome::Done(*s);
                }
            }
            Event::Failed(f) => {
                let Some(r) = self.trackers.get_mut(&f.tracker) else {
                    return;
                };
                let why = match (&f.cause, transport_detail) {
                    (Cause::Transport(_), Some(detail)) => format!("{} ({detail})", f.cause),
                    (Cause::Timeout, _)
                        if f.request == RequestKind::Announce(AnnounceEvent::Stopped) =>
                    {
                        "no answer before the stop timeout (stopped is not retried)".to_owned()
                    }
                    _ => f.cause.to_string(),
                };
                // A request cancelled by `stop` keeps the outcome it was already given.
                let cancelled = f.cause == Cause::Cancelled;
                match f.request {
                    RequestKind::Scrape => fail(&mut r.scrape, &why, cancelled),
                    RequestKind::Announce(AnnounceEvent::Stopped) => {
                        fail(&mut r.stopped, &why, cancelled);
                    }
                    RequestKind::Announce(event) => {
                        if event == AnnounceEvent::Completed {
                            fail(&mut r.completed, &why, cancelled);
                        }
                        if !cancelled {
                            r.transport_detail = transport_detail.map(str::to_owned);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Takes each tracker's status line from the machine's snapshot (`Announce::trackers`): a
    /// working tracker's counts and intervals, a failing one's cause, a disabled one. Call it
    /// while announcing (a `stopped` reply changes the snapshot: the run's summary is the one
    /// before `stop`).
    pub fn observe<'a>(&mut self, snapshot: impl Iterator<Item = TrackerStatus<'a>>) {
        for status in snapshot {
            self.apply(status.id, Row::of(&status));
        }
    }

    /// Takes one tracker's status line (see [`observe`](Self::observe)). A tracker with an
    /// announce in flight keeps the line it had: its outcome is not known yet.
    pub fn apply(&mut self, tracker: TrackerId, row: Row) {
        let Some(r) = self.trackers.get_mut(&tracker) else {
            return;
        };
        match row.state {
            TrackerState::Working => r.announce = Outcome::Done(row),
            TrackerState::NotWorking | TrackerState::Disabled => {
                r.disabled |= row.state == TrackerState::Disabled;
                if let Some(cause) = &row.error {
                    let why = match (cause, &r.transport_detail) {
                        (Cause::Transport(_), Some(detail)) => format!("{cause} ({detail})"),
                        _ => cause.to_string(),
                    };
                    r.announce = Outcome::Failed(why);
                }
            }
            _ => {}
        }
    }

    /// Every request asked for ended, or cannot end any more: the run may stop waiting.
    pub fn settled(&self) -> bool {
        self.trackers.values().all(TrackerReport::settled)
    }

    /// Before `stop`: every tracker that acknowledged an announce and is not disabled is sent
    /// `stopped`, so its outcome is awaited.
    pub fn stopping(&mut self) {
        for r in self.trackers.values_mut() {
            if r.ok() && !r.disabled && r.stopped == Outcome::NotAsked {
                r.stopped = Outcome::Pending;
            }
        }
    }

    /// Gives every request still open an outcome: `why` (for example "no answer within --timeout
    /// 8 s"), or, on a disabled tracker, that it was disabled before it answered.
    pub fn finish(&mut self, why: &str) {
        for r in self.trackers.values_mut() {
            let why = if r.disabled {
                "the tracker was disabled for this torrent before it answered"
            } else {
                why
            };
            r.announce.close(why);
            r.completed.close(why);
            r.scrape.close(why);
            r.stopped.close(why);
        }
    }

    /// The reports, in tracker order.
    pub fn iter(&self) -> impl Iterator<Item = &TrackerReport> {
        self.trackers.values()
    }

    /// One tracker's report.
    pub fn get(&self, tracker: TrackerId) -> Option<&TrackerReport> {
        self.trackers.get(&tracker)
    }
}
