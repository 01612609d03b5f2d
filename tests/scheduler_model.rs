//! A small reference model of the BEP 12 scheduler, written independently of the machine, agrees
//! with `Announce` after every generated step: which tracker is asked with which event, when the
//! next timer fires, which events come out, and the tier order.
//!
//! Setup: one tier of 1 to 4 HTTP trackers in the default one-tracker mode, jitter off so backoff is
//! exact. Steps: answer the request in flight (peers with some interval, failure, failure with
//! `retry in`, 410, transport error), let the next timer fire, call `completed`, announce to the
//! front tracker alone, add a tracker, remove one, pause, resume (`stopped` answered at once), or
//! end the run with `stop` (the `stopped` announces answered, or left to time out).

use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Cause, Config, Event, Progress, RequestKind, Torrent, TrackerId,
};
use bt_tracker::http::{AnnounceSuccess, Failure, HttpResponse, Peers, RetryIn};
use bt_tracker::{AnnounceEvent, CompactPeers, InfoHash, PeerId, TrackerUrl};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

#[derive(Debug, Clone, Copy)]
enum Step {
    Peers {
        interval: i64,
    },
    Fail,
    FailRetryIn {
        minutes: u32,
    },
    Gone,
    Transport,
    Wait,
    Completed,
    /// `stop()`; then the `stopped` announces are answered (`true`) or time out.
    Stop(bool),
    /// `announce_tracker` on the front tracker of the tier, when nothing is in flight and it may
    /// be announced to now.
    AnnounceFront,
    /// `add_tracker` at the end of the tier (at most 6 listed).
    Add,
    /// `remove_tracker` on the tracker at this place of the tier.
    Remove(u8),
    Pause,
    Resume,
}

impl Arbitrary for Step {
    fn arbitrary(g: &mut Gen) -> Self {
        // Stop ends the run, so it is rare: most runs see many steps first.
        if u8::arbitrary(g) % 24 == 0 {
            return Step::Stop(bool::arbitrary(g));
        }
        match *g
            .choose(&[0u8, 0, 0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11])
            .unwrap()
        {
            0 => Step::Peers {
                interval: *g.choose(&[-1i64, 0, 5, 300, 1800, 100_000]).unwrap(),
            },
            1 => Step::Fail,
            2 => Step::FailRetryIn {
                minutes: u32::arbitrary(g) % 90 + 1,
            },
            3 => Step::Gone,
            4 => Step::Transport,
            5 => Step::Wait,
            6 => Step::Completed,
            7 => Step::AnnounceFront,
            8 => Step::Add,
            9 => Step::Remove(u8::arbitrary(g)),
            10 => Step::Pause,
            _ => Step::Resume,
        }
    }
}

/// What the model expects to come out of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Announced(u16, AnnounceEvent),
    Failed(u16),
    Cancelled(u16),
    Disabled(u16),
    Stopped,
}

#[derive(Debug, Clone, Default)]
struct ModelTracker {
    started: bool,
    /// A `started` was handed out to it, answered or not.
    started_sent: bool,
    completed_pending: bool,
    disabled: bool,
    retry_after: Duration,
    min_next: Duration,
    removed: bool,
}

/// The reference model. Times are offsets from the start.
#[derive(Debug)]
struct Model {
    order: Vec<u16>,
    trackers: Vec<ModelTracker>,
    /// The request in flight: tracker, event, position in the walk (`None`: an announce to that
    /// tracker alone, not the tier's round), deadline.
    in_flight: Option<(u16, AnnounceEvent, Option<usize>, Duration)>,
    /// The next round (`None`: a round is in flight, or every tracker is disabled).
    due: Option<Duration>,
    failures: u32,
    completed: bool,
    paused: bool,
    /// The request in flight was the first `started` sent to its tracker.
    owes_from_here: bool,
    now: Duration,
    out: Vec<Out>,
}

const S: fn(u64) -> Duration = Duration::from_secs;

impl Model {
    fn event(&self, t: u16) -> AnnounceEvent {
        let m = &self.trackers[t as usize];
        if !m.started {
            AnnounceEvent::Started
        } else if m.completed_pending {
            AnnounceEvent::Completed
        } else {
            AnnounceEvent::Regular
        }
    }

    /// Starts or continues a round at walk position `from`.
    fn walk(&mut self, from: usize) {
        let now = self.now;
        let next = (from..self.order.len()).find(|&p| {
            let m = &self.trackers[self.order[p] as usize];
            !m.disabled && m.retry_after <= now
        });
        if let Some(pos) = next {
            let t = self.order[pos];
            // The tracker's own announce in flight becomes the round.
            if let Some((k, e, None, d)) = self.in_flight
                && k == t
            {
                self.in_flight = Some((k, e, Some(pos), d));
                self.due = None;
                return;
            }
            let event = self.event(t);
            let min_next = self.trackers[t as usize].min_next;
            if event == AnnounceEvent::Regular && min_next > now {
                self.due = Some(min_next);
                return;
            }
            self.in_flight = Some((t, event, Some(pos), now + S(30)));
            let m = &mut self.trackers[t as usize];
            // This request is the one that makes the tracker owe a `stopped`.
            self.owes_from_here = event == AnnounceEvent::Started && !m.started_sent;
            m.started_sent |= event == AnnounceEvent::Started;
            self.due = None;
            return;
        }
        let live: Vec<&ModelTracker> = self
            .trackers
            .iter()
            .filter(|m| !m.disabled && !m.removed)
            .collect();
        if live.is_empty() {
            self.due = None;
            return;
        }
        let first_free = live.iter().map(|m| m.retry_after.max(now)).min().unwrap();
        if from == 0 {
            // Nothing tried: every tracker is cooling down. Not a failed round.
            self.due = Some(first_free);
            return;
        }
        self.failures += 1;
        let f = u64::from(self.failures);
        let backoff = Duration::from_millis((5_000 + 12_500 * f * f).min(3_600_000));
        self.due = Some((now + backoff).max(first_free));
    }

    fn fail(&mut self, retry_after: Option<Duration>, disable: bool) {
        let (t, _, pos, _) = self.in_flight.take().unwrap();
        let m = &mut self.trackers[t as usize];
        if let Some(d) = retry_after {
            m.retry_after = self.now + d;
        }
        m.disabled |= disable;
        self.out.push(Out::Failed(t));
        if disable {
            self.out.push(Out::Disabled(t));
        }
        if let Some(pos) = pos {
            self.walk(pos + 1);
        }
    }

    fn succeed(&mut self, interval: i64) {
        let (t, event, pos, _) = self.in_flight.take().unwrap();
        let m = &mut self.trackers[t as usize];
        match event {
            AnnounceEvent::Started => m.started = true,
            AnnounceEvent::Completed => m.completed_pending = false,
            _ => {}
        }
        m.retry_after = Duration::ZERO;
        m.min_next = self.now + S(60);
        let period = if interval > 0 { interval as u64 } else { 1800 };
        let period = S(period.clamp(120, 7200));
        self.out.push(Out::Announced(t, event));
        let owes = self.event(t) != AnnounceEvent::Regular;
        if pos.is_none() {
            // Its own announce: the tier's next round was for it (it is the front tracker), so
            // this answer is that round.
            if self.due.is_some() && self.pick(self.due.unwrap()) == Some(t) {
                self.failures = 0;
                self.due = Some(if owes { self.now } else { self.now + period });
            }
            if owes && self.due == Some(self.now) {
                self.walk(0);
            }
            return;
        }
        let pos = self.order.iter().position(|&x| x == t).unwrap();
        self.order[..=pos].rotate_right(1);
        self.failures = 0;
        self.due = Some(if owes { self.now } else { self.now + period });
        if owes {
            self.walk(0);
        }
    }

    /// `stop()`: the request in flight is cancelled, and every tracker that was handed a `started`
    /// (answered or not) and is not disabled is owed a `stopped`, in tracker order.
    fn stop(&mut self) -> Vec<u16> {
        if let Some((t, ..)) = self.in_flight.take() {
            self.out.push(Out::Cancelled(t));
        }
        self.due = None;
        (0..self.trackers.len() as u16)
            .filter(|&t| {
                let m = &self.trackers[t as usize];
                (m.started || m.started_sent) && !m.disabled
            })
            .collect()
    }

    /// The tracker the tier's round at `at` would go to (nothing in flight to it).
    fn pick(&self, at: Duration) -> Option<u16> {
        self.order.iter().copied().find(|&t| {
            let m = &self.trackers[t as usize];
            !m.disabled && m.retry_after <= at && self.in_flight.is_none_or(|(k, ..)| k != t)
        })
    }

    fn next_timer(&self) -> Option<Duration> {
        self.in_flight
            .map(|f| f.3)
            .into_iter()
            .chain(self.due)
            .min()
    }

    fn fire(&mut self) {
        if let Some((_, _, _, deadline)) = self.in_flight
            && deadline <= self.now
        {
            self.fail(None, false);
        }
        if self.due.is_some_and(|d| d <= self.now) {
            self.walk(0);
        }
    }
}

/// The machine's only tier, as tracker indices (none once its last tracker is removed: an
/// emptied tier goes away).
fn tier_order(machine: &Announce) -> Vec<u16> {
    machine
        .tiers()
        .next()
        .unwrap_or_default()
        .iter()
        .map(|t| t.0)
        .collect()
}

fn body(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

fn run(n_trackers: usize, seed: u64, steps: Vec<Step>) -> TestResult {
    let start = {
        #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
        Instant::now()
    };
    let urls: Vec<TrackerUrl> = (0..n_trackers)
        .map(|k| TrackerUrl::parse(&format!("http://10.0.0.{}/announce", k + 1)).unwrap())
        .collect();
    let mut config = Config::default();
    config.retry_jitter_percent = 0;
    let torrent = Torrent {
        info_hash: InfoHash([9; 20]),
        peer_id: PeerId([7; 20]),
        port: 1,
        progress: Progress {
            left: 10,
            ..Progress::default()
        },
        key: Some(1),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut machine = Announce::new(config, torrent, vec![urls], &mut rng, start).unwrap();
    let order = tier_order(&machine);
    let mut model = Model {
        order,
        trackers: vec![ModelTracker::default(); n_trackers],
        in_flight: None,
        due: Some(Duration::ZERO),
        failures: 0,
        completed: false,
        paused: false,
        owes_from_here: false,
        now: Duration::ZERO,
        out: Vec::new(),
    };
    let mut added = 0u8;
    let mut early = Vec::new();
    model.walk(0);
    let mut request = machine.poll_http_request();
    for (i, step) in steps.into_iter().enumerate() {
        let now = start + model.now;
        // A response only makes sense with a request in flight; otherwise the step waits.
        let step = match (step, &request) {
            (
                Step::Wait
                | Step::Completed
                | Step::Stop(_)
                | Step::AnnounceFront
                | Step::Add
                | Step::Remove(_)
                | Step::Pause
                | Step::Resume,
                _,
            ) => step,
            (_, None) => Step::Wait,
            _ => step,
        };
        let respond = |status, body: Vec<u8>| HttpResponse {
            status,
            location: None,
            body: body.into(),
        };
        let failure = |retry_in| {
            body(|out| {
                Failure {
                    reason: b"no",
                    retry_in,
                    interval: None,
                    min_interval: None,
                }
                .encode(out)
            })
        };
        match step {
            Step::Peers { interval } => {
                let peers = ["10.1.1.1:1".parse().unwrap()];
                let ok = body(|out| {
                    AnnounceSuccess {
                        interval: Some(interval),
                        min_interval: None,
                        warning: None,
                        tracker_id: None,
                        complete: None,
                        incomplete: None,
                        downloaded: None,
                        peers: Peers::Compact(CompactPeers::from_addrs(&peers)),
                        peers6: CompactPeers::empty(),
                        external_ip: None,
                        crypto_flags: None,
                    }
                    .encode(out)
                    .unwrap()
                });
                machine.handle_http_response(now, request.take().unwrap().id, &respond(200, ok));
                model.succeed(interval);
            }
            Step::Fail => {
                let r = respond(200, failure(None));
                machine.handle_http_response(now, request.take().unwrap().id, &r);
                model.fail(None, false);
            }
            Step::FailRetryIn { minutes } => {
                let r = respond(200, failure(Some(RetryIn::Minutes(minutes))));
                machine.handle_http_response(now, request.take().unwrap().id, &r);
                model.fail(Some(S(u64::from(minutes) * 60)), false);
            }
            Step::Gone => {
                machine.handle_http_response(
                    now,
                    request.take().unwrap().id,
                    &respond(410, vec![]),
                );
                model.fail(None, true);
            }
            Step::Transport => {
                let id = request.take().unwrap().id;
                machine.handle_transport_error(
                    now,
                    id,
                    bt_tracker::announce::TransportError::ConnectionRefused,
                );
                // Refused: that `started` never reached the tracker, which owes nothing for it.
                if let (Some((t, ..)), true) = (model.in_flight, model.owes_from_here) {
                    model.trackers[t as usize].started_sent = false;
                }
                model.fail(None, false);
            }
            Step::Wait => {
                let Some(t) = model.next_timer() else {
                    continue;
                };
                model.now = t;
                machine.handle_timeout(start + t);
                model.fire();
            }
            Step::Stop(answer) => {
                machine.stop(now);
                let owed = model.stop();
                return check_shutdown(&mut machine, &mut model, owed, answer, start);
            }
            Step::AnnounceFront => {
                let Some(k) = model.order.first().copied() else {
                    continue;
                };
                let m = &model.trackers[k as usize];
                let may = !m.disabled
                    && m.retry_after <= model.now
                    && (model.event(k) != AnnounceEvent::Regular || m.min_next <= model.now);
                if model.in_flight.is_some() || model.paused || !may {
                    continue;
                }
                let at = machine.announce_tracker(now, TrackerId(k));
                if at != Some(now) {
                    return TestResult::error(format!("step {i}: announce_tracker gave {at:?}"));
                }
                let event = model.event(k);
                let m = &mut model.trackers[k as usize];
                model.owes_from_here = event == AnnounceEvent::Started && !m.started_sent;
                m.started_sent |= event == AnnounceEvent::Started;
                model.in_flight = Some((k, event, None, model.now + S(30)));
            }
            Step::Add => {
                if model.order.len() >= 6 {
                    continue;
                }
                added += 1;
                let url = TrackerUrl::parse(&format!("http://10.0.1.{added}/announce")).unwrap();
                let got = machine.add_tracker(now, url, 0);
                let id = match model.trackers.iter().position(|m| m.removed) {
                    Some(id) => {
                        model.trackers[id] = ModelTracker::default();
                        id
                    }
                    None => {
                        model.trackers.push(ModelTracker::default());
                        model.trackers.len() - 1
                    }
                };
                if got != Ok(TrackerId(id as u16)) {
                    return TestResult::error(format!(
                        "step {i}: add_tracker gave {got:?}, model {id}"
                    ));
                }
                model.order.push(id as u16);
                if !model.paused && model.in_flight.is_none() && model.due.is_none() {
                    model.due = Some(model.now);
                    model.walk(0);
                }
            }
            Step::Remove(x) => {
                if model.order.is_empty() {
                    continue;
                }
                let k = model.order[usize::from(x) % model.order.len()];
                let idle = model.in_flight.is_none_or(|f| f.2.is_none());
                let orphan = idle && model.due.is_some_and(|d| model.pick(d) == Some(k));
                if let Some((t, _, pos, _)) = model.in_flight
                    && t == k
                {
                    model.in_flight = None;
                    model.out.push(Out::Failed(k));
                    if pos.is_some() {
                        model.due = Some(model.now);
                    }
                }
                let m = &mut model.trackers[k as usize];
                let owes = (m.started || m.started_sent) && !m.disabled;
                m.removed = true;
                m.started = false;
                m.started_sent = false;
                model.order.retain(|&t| t != k);
                // A round in flight continues from its tracker's new place.
                if let Some((t, e, Some(_), d)) = model.in_flight {
                    let pos = model.order.iter().position(|&x| x == t);
                    model.in_flight = Some((t, e, pos, d));
                }
                if orphan {
                    model.due = model.due.map(|d| d.min(model.now));
                }
                // Nothing left to announce to: the tier's schedule ends.
                let live = model
                    .order
                    .iter()
                    .any(|&t| !model.trackers[t as usize].disabled);
                if !live && model.in_flight.is_none_or(|f| f.2.is_none()) {
                    model.due = None;
                }
                if !machine.remove_tracker(now, TrackerId(k)) {
                    return TestResult::error(format!("step {i}: remove_tracker({k}) refused"));
                }
                let stopped = answer_stopped(&mut machine, &mut request, &mut early, now);
                if stopped != (if owes { vec![k] } else { vec![] }) {
                    return TestResult::error(format!("step {i}: stopped to {stopped:?}"));
                }
                if owes {
                    model.out.push(Out::Announced(k, AnnounceEvent::Stopped));
                }
                if model.due.is_some_and(|d| d <= model.now)
                    && model.in_flight.is_none_or(|f| f.2.is_none())
                {
                    model.walk(0);
                }
            }
            Step::Pause => {
                let paused = machine.pause(now);
                if paused == model.paused {
                    return TestResult::error(format!("step {i}: pause gave {paused}"));
                }
                if !paused {
                    continue;
                }
                if let Some((t, ..)) = model.in_flight.take() {
                    model.out.push(Out::Failed(t));
                }
                model.due = None;
                model.paused = true;
                let mut owed = Vec::new();
                for (t, m) in model.trackers.iter_mut().enumerate() {
                    if m.removed {
                        continue;
                    }
                    if (m.started || m.started_sent) && !m.disabled {
                        owed.push(t as u16);
                        // Its `stopped` is answered: like any answer, that ends a `retry in`
                        // and starts a `min interval`.
                        m.started_sent = false;
                        m.retry_after = Duration::ZERO;
                        m.min_next = model.now + S(60);
                    }
                    m.started = false;
                    m.completed_pending = false;
                }
                let stopped = answer_stopped(&mut machine, &mut request, &mut early, now);
                if stopped != owed {
                    return TestResult::error(format!(
                        "step {i}: stopped to {stopped:?}, owed {owed:?}"
                    ));
                }
                model.out.extend(
                    owed.iter()
                        .map(|&t| Out::Announced(t, AnnounceEvent::Stopped)),
                );
            }
            Step::Resume => {
                let resumed = machine.resume(now);
                if resumed != model.paused {
                    return TestResult::error(format!("step {i}: resume gave {resumed}"));
                }
                if resumed {
                    model.paused = false;
                    model.failures = 0;
                    model.due = Some(model.now);
                    model.walk(0);
                }
            }
            Step::Completed => {
                machine.completed(now);
                if !model.completed {
                    model.completed = true;
                    for (k, m) in model.trackers.iter_mut().enumerate() {
                        let starting = matches!(model.in_flight, Some((t, AnnounceEvent::Started, ..)) if t as usize == k);
                        m.completed_pending = m.started || starting;
                    }
                    if model.due.is_some() {
                        model.due = Some(model.now);
                        model.walk(0);
                    }
                }
            }
        }
        // Compare everything the machine shows with the model.
        if let Some(r) = machine.poll_http_request() {
            request = Some(r);
        }
        let later: Vec<Out> = std::iter::from_fn(|| machine.poll_event())
            .filter_map(|e| match e {
                Event::Announced(a) => Some(Out::Announced(a.tracker.0, a.event)),
                Event::Failed(f) => {
                    // A request that timed out is no longer in flight.
                    if request.as_ref().is_some_and(|r| r.id == f.id) {
                        request = None;
                    }
                    Some(Out::Failed(f.tracker.0))
                }
                Event::TrackerDisabled { tracker } => Some(Out::Disabled(tracker.0)),
                _ => None,
            })
            .collect();
        let got: Vec<Out> = std::mem::take(&mut early)
            .into_iter()
            .chain(later)
            .collect();
        let want = std::mem::take(&mut model.out);
        let expected_request = model.in_flight.map(|(t, e, ..)| (t, e));
        let actual_request = request.as_ref().map(|r| {
            let RequestKind::Announce(e) = r.kind else {
                panic!("scrape")
            };
            let tracker = r.origin.tracker().unwrap();
            assert!(
                r.url
                    .as_str()
                    .starts_with(machine.tracker_url(tracker).unwrap().as_str())
            );
            (tracker.0, e)
        });
        let order = tier_order(&machine);
        let timer = machine.poll_timeout().map(|t| t - start);
        if got != want
            || actual_request != expected_request
            || order != model.order
            || timer != model.next_timer()
        {
            return TestResult::error(format!(
                "step {i} ({step:?}) at {:?}: events {got:?} vs model {want:?}; request {actual_request:?} vs {expected_request:?}; order {order:?} vs {:?}; timer {timer:?} vs {:?}",
                model.now,
                model.order,
                model.next_timer()
            ));
        }
    }
    TestResult::passed()
}

/// Drains the events the command queued (so a cancellation is not superseded by the `stopped`
/// answer that follows), answers every `stopped` the machine hands out now (in its order) and keeps
/// any other request as the one in flight; returns the trackers that got `stopped`.
fn answer_stopped(
    machine: &mut Announce,
    request: &mut Option<bt_tracker::announce::HttpRequest>,
    early: &mut Vec<Out>,
    now: Instant,
) -> Vec<u16> {
    while let Some(e) = machine.poll_event() {
        match e {
            Event::Failed(f) => {
                if request.as_ref().is_some_and(|r| r.id == f.id) {
                    *request = None;
                }
                early.push(Out::Failed(f.tracker.0));
            }
            Event::Announced(a) => early.push(Out::Announced(a.tracker.0, a.event)),
            Event::TrackerDisabled { tracker } => early.push(Out::Disabled(tracker.0)),
            _ => {}
        }
    }
    let ok = body(|out| {
        AnnounceSuccess {
            interval: Some(1800),
            min_interval: None,
            warning: None,
            tracker_id: None,
            complete: None,
            incomplete: None,
            downloaded: None,
            peers: Peers::Compact(CompactPeers::empty()),
            peers6: CompactPeers::empty(),
            external_ip: None,
            crypto_flags: None,
        }
        .encode(out)
        .unwrap()
    });
    let mut stopped = Vec::new();
    let requests: Vec<_> = std::iter::from_fn(|| machine.poll_http_request()).collect();
    for r in requests {
        if r.kind == RequestKind::Announce(AnnounceEvent::Stopped) {
            stopped.push(r.origin.tracker().unwrap().0);
            let response = HttpResponse::new(200, None, &ok);
            machine.handle_http_response(now, r.id, &response);
        } else {
            *request = Some(r);
        }
    }
    stopped
}

/// The events waiting, as the model writes them.
fn events(machine: &mut Announce) -> Vec<Out> {
    std::iter::from_fn(|| machine.poll_event())
        .filter_map(|e| match e {
            Event::Announced(a) => Some(Out::Announced(a.tracker.0, a.event)),
            Event::Failed(f) if f.cause == Cause::Cancelled => Some(Out::Cancelled(f.tracker.0)),
            Event::Failed(f) => Some(Out::Failed(f.tracker.0)),
            Event::TrackerDisabled { tracker } => Some(Out::Disabled(tracker.0)),
            Event::Stopped => Some(Out::Stopped),
            _ => None,
        })
        .collect()
}

/// Everything after `stop()`: one `stopped` request to each owed tracker and no other, the cancelled
/// request's failure, then each `stopped` answered (or timed out after `stop_timeout`), then
/// `Stopped` and nothing more.
fn check_shutdown(
    machine: &mut Announce,
    model: &mut Model,
    owed: Vec<u16>,
    answer: bool,
    start: Instant,
) -> TestResult {
    let now = start + model.now;
    let requests: Vec<_> = std::iter::from_fn(|| machine.poll_http_request()).collect();
    let mut sent: Vec<u16> = Vec::new();
    for r in &requests {
        if r.kind != RequestKind::Announce(AnnounceEvent::Stopped)
            || !r.url.as_str().contains("numwant=0")
        {
            return TestResult::error(format!("after stop: {:?} to {}", r.kind, r.origin));
        }
        sent.push(r.origin.tracker().unwrap().0);
    }
    sent.sort_unstable();
    if sent != owed {
        return TestResult::error(format!("stopped sent to {sent:?}, owed to {owed:?}"));
    }
    let ok = body(|out| {
        AnnounceSuccess {
            interval: Some(1800),
            min_interval: None,
            warning: None,
            tracker_id: None,
            complete: None,
            incomplete: None,
            downloaded: None,
            peers: Peers::Compact(CompactPeers::empty()),
            peers6: CompactPeers::empty(),
            external_ip: None,
            crypto_flags: None,
        }
        .encode(out)
        .unwrap()
    });
    // The drain rule: events are drained after the command, before any answer.
    let mut cancelled = std::mem::take(&mut model.out);
    if owed.is_empty() {
        // Nobody is owed a stopped: shutdown is over at once.
        cancelled.push(Out::Stopped);
    }
    let got = events(machine);
    if got != cancelled {
        return TestResult::error(format!("after stop(): events {got:?}, model {cancelled:?}"));
    }
    if owed.is_empty() {
        let idle = machine.poll_timeout().is_none() && machine.poll_http_request().is_none();
        return if idle {
            TestResult::passed()
        } else {
            TestResult::error("the machine still has work after Stopped".to_owned())
        };
    }
    let mut want = Vec::new();
    if answer {
        for r in &requests {
            let response = HttpResponse {
                status: 200,
                location: None,
                body: ok.clone().into(),
            };
            machine.handle_http_response(now, r.id, &response);
            want.push(Out::Announced(
                r.origin.tracker().unwrap().0,
                AnnounceEvent::Stopped,
            ));
        }
    } else {
        let timeout = Config::default().stop_timeout;
        if !owed.is_empty() && machine.poll_timeout() != Some(now + timeout) {
            return TestResult::error(format!(
                "stop deadline {:?}, not stop_timeout after stop()",
                machine.poll_timeout().map(|t| t - start)
            ));
        }
        machine.handle_timeout(now + timeout);
        want.extend(sent.iter().map(|&t| Out::Failed(t)));
    }
    want.push(Out::Stopped);
    let got = events(machine);
    if got != want {
        return TestResult::error(format!("after stop: events {got:?}, model {want:?}"));
    }
    if machine.poll_timeout().is_some() || machine.poll_http_request().is_some() {
        return TestResult::error("the machine still has work after Stopped".to_owned());
    }
    TestResult::passed()
}

#[test]
fn reference_model_agrees_with_the_machine_after_every_step() {
    fn prop(n: u8, seed: u64, steps: Vec<Step>) -> TestResult {
        run(usize::from(n % 4) + 1, seed, steps)
    }
    QuickCheck::new()
        .tests(2_000)
        .quickcheck(prop as fn(u8, u64, Vec<Step>) -> TestResult);
}
