//! One check per invariant of `reference/sansio.md` section 2, each a function of a run's [`Log`]
//! that returns what it found wrong. `tests/sim_harness.rs` feeds each a doctored log to show it
//! can fail.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use bt_tracker::announce::{Cause, Event, RequestId, RequestKind, TrackerId, TrackerState};
use bt_tracker::http::AnnounceQuery;
use bt_tracker::udp::{MAX_REQUEST_LEN, Reply, Request, peek_transaction_id};
use bt_tracker::{AddressFamily, AnnounceEvent};

use super::{Log, Record};

type Check = Result<(), String>;

fn fail(at: Duration, what: String) -> Check {
    Err(format!("at {:.3} s: {what}", at.as_secs_f64()))
}

/// An announce the machine sent: when, to whom, which event, for which request.
#[derive(Debug, Clone)]
pub struct SentAnnounce {
    pub at: Duration,
    pub tracker: TrackerId,
    pub request: RequestId,
    pub event: AnnounceEvent,
}

/// Every announce request the log shows (UDP datagrams decoded, HTTP URLs parsed), resends included.
pub fn announces(log: &Log) -> Vec<SentAnnounce> {
    log.records
        .iter()
        .filter_map(|r| match r {
            Record::Sent {
                at,
                request,
                tracker,
                bytes,
                ..
            } => match Request::parse(bytes) {
                Ok(Request::Announce(a)) => Some(SentAnnounce {
                    at: *at,
                    tracker: *tracker,
                    request: *request,
                    event: a.event,
                }),
                _ => None,
            },
            Record::HttpSent { at, request } => {
                let RequestKind::Announce(_) = request.kind else {
                    return None;
                };
                let query = request.url.as_str().split_once('?')?.1;
                let q = AnnounceQuery::parse(query.as_bytes()).ok()?;
                Some(SentAnnounce {
                    at: *at,
                    tracker: request.origin.tracker()?,
                    request: request.id,
                    event: q.event,
                })
            }
            _ => None,
        })
        .collect()
}

/// The transaction id of a request datagram (bytes 12..16; replies carry it at 4..8).
fn request_txid(bytes: &[u8]) -> u32 {
    bytes
        .get(12..16)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Time sanity: the next timeout is never in the past; after `handle_timeout(now)` and a drain it
/// is after `now` (no busy loop; a datagram arriving at the deadline's instant may leave it due,
/// since timers fire only in `handle_timeout`); `handle_timeout` before the deadline produces
/// nothing.
pub fn time_sanity(log: &Log) -> Check {
    for r in &log.records {
        match r {
            Record::Drained {
                at,
                timeout: Some(t),
                after_timeout,
            } if t < at || (t == at && *after_timeout) => {
                return fail(
                    *at,
                    format!("poll_timeout is {:.3} s, not after now", t.as_secs_f64()),
                );
            }
            Record::EarlyTimeout { at, outputs } if *outputs > 0 => {
                return fail(
                    *at,
                    format!("handle_timeout before the deadline produced {outputs} outputs"),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// Matching: datagrams that are not accepted (spoofed, stale, duplicate, unexpected) produce no
/// output; no spoofed datagram is accepted; no datagram is accepted twice; every peer reported
/// came from the tracker that answered.
pub fn matching(log: &Log) -> Check {
    let mut accepted: HashSet<&[u8]> = HashSet::new();
    for r in &log.records {
        match r {
            Record::Delivered {
                at,
                spoofed,
                accepted: ok,
                outputs,
                bytes,
                ..
            } => {
                if *spoofed && *ok {
                    return fail(*at, "a spoofed datagram was accepted".into());
                }
                if !*ok && *outputs > 0 {
                    return fail(
                        *at,
                        format!("an ignored datagram produced {outputs} outputs"),
                    );
                }
                if *ok && !accepted.insert(bytes) {
                    return fail(*at, "the same datagram was accepted twice".into());
                }
            }
            Record::HttpAnswered {
                at,
                accepted: false,
                outputs,
                ..
            } if *outputs > 0 => {
                return fail(
                    *at,
                    format!("an ignored HTTP answer produced {outputs} outputs"),
                );
            }
            Record::Event {
                at,
                event: Event::Announced(a),
            } => {
                let truth: HashSet<&SocketAddr> =
                    log.true_peers[usize::from(a.tracker.0)].iter().collect();
                if let Some(p) = a.peers.iter().find(|p| !truth.contains(p)) {
                    return fail(
                        *at,
                        format!("{} reported peer {p}, which it never sent", a.tracker),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Retransmission: the sends of one UDP request between two accepted replies are spaced
/// `rto * 2^n` with n going up by one each time; a run has at most `udp_max_attempts` sends; a
/// timeout comes one doubled wait after the last send. After `stop()`, a `stopped` spreads its
/// sends evenly over `stop_timeout`. Besides, the window may send a datagram again early when it
/// saw it lost: after a datagram sent later to the same tracker was answered, or after twice the
/// shortest round trip seen (and at least 25 ms) without an answer; at most 6 times per request
/// (`MAX_EARLY_RESENDS`), and outside the BEP 15 run.
pub fn retransmission(log: &Log) -> Check {
    let rto = log.config.udp_rto;
    let max = log.config.udp_max_attempts as usize;
    let stop_rto = log.config.stop_timeout / log.config.udp_max_attempts;
    // Per request: the current run of send times, reset by an accepted reply to it.
    let mut runs: HashMap<RequestId, Vec<Duration>> = HashMap::new();
    let mut txid_owner: HashMap<u32, RequestId> = HashMap::new();
    // Per request: its last send and destination, and early resends; per destination: the latest
    // send time of a datagram that was answered.
    let mut last_send: HashMap<RequestId, (Duration, Option<SocketAddr>)> = HashMap::new();
    let mut early: HashMap<RequestId, usize> = HashMap::new();
    let mut answered_sent: HashMap<Option<SocketAddr>, Duration> = HashMap::new();
    let mut min_rtt: Option<Duration> = None;
    let mut stop_at = None;
    let is_wait = |d: Duration| (0..9).any(|n| d == rto * (1 << n));
    for r in &log.records {
        match r {
            Record::Command { at, name: "stop" } => stop_at = Some(*at),
            Record::Sent {
                at,
                request,
                bytes,
                to,
                ..
            } => {
                txid_owner.insert(request_txid(bytes), *request);
                let previous = last_send.insert(*request, (*at, *to));
                let run = runs.entry(*request).or_default();
                let probe = min_rtt.map(|m| (m * 2).max(Duration::from_millis(25)));
                let seen_lost = previous.is_some_and(|(sent, dest)| {
                    answered_sent.get(&dest).is_some_and(|&later| later > sent)
                        || probe.is_some_and(|p| *at - sent >= p)
                });
                let on_schedule = match (stop_at, &run[..]) {
                    (Some(stop), [.., b]) if *b >= stop => *at - *b == stop_rto,
                    (_, [.., a, b]) => *at - *b == (*b - *a) * 2,
                    (_, [a]) => is_wait(*at - *a),
                    _ => true,
                };
                if !on_schedule && seen_lost {
                    let n = early.entry(*request).or_default();
                    *n += 1;
                    if *n > 6 {
                        return fail(*at, format!("{request:?} sent early {n} times"));
                    }
                    continue;
                }
                if let (Some(stop), [.., b]) = (stop_at, &run[..])
                    && *b >= stop
                {
                    if *at - *b != stop_rto {
                        return fail(
                            *at,
                            format!(
                                "{request:?} resent {:?} after the last send during shutdown, not stop_timeout / udp_max_attempts",
                                *at - *b
                            ),
                        );
                    }
                } else if let [.., a, b] = run[..] {
                    if *at - b != (b - a) * 2 {
                        return fail(
                            *at,
                            format!(
                                "{request:?} resent {:?} after the last send, the wait before was {:?}",
                                *at - b,
                                b - a
                            ),
                        );
                    }
                } else if let [a] = run[..]
                    && !is_wait(*at - a)
                {
                    return fail(
                        *at,
                        format!(
                            "{request:?} resent {:?} after the first send, not rto * 2^n",
                            *at - a
                        ),
                    );
                }
                run.push(*at);
                if run.len() > max {
                    return fail(
                        *at,
                        format!(
                            "{request:?} sent {} times without an answer, the limit is {max}",
                            run.len()
                        ),
                    );
                }
            }
            Record::Delivered {
                at,
                accepted: true,
                bytes,
                ..
            } => {
                if let Some(owner) = peek_transaction_id(bytes).and_then(|t| txid_owner.get(&t)) {
                    runs.remove(owner);
                    if let Some(&(sent, dest)) = last_send.get(owner) {
                        let rtt = *at - sent;
                        min_rtt = Some(min_rtt.map_or(rtt, |m| m.min(rtt)));
                        let latest = answered_sent.entry(dest).or_default();
                        *latest = (*latest).max(sent);
                    }
                }
            }
            Record::Event {
                at,
                event: Event::Failed(f),
            } if f.cause == Cause::Timeout && stop_at.is_none() => {
                let Some(run) = runs.get(&f.id) else { continue };
                let Some(&last) = run.last() else { continue };
                let wait = *at - last;
                let expected_ok = match run[..] {
                    [.., a, b] => wait == (b - a) * 2,
                    _ => is_wait(wait),
                };
                if !expected_ok {
                    return fail(
                        *at,
                        format!("{:?} timed out {wait:?} after its last send", f.id),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Connection ids: every announce or scrape uses an id the machine accepted from that tracker less
/// than `connection_id_lifetime` before.
pub fn connection_ids(log: &Log) -> Check {
    let lifetime = log.config.connection_id_lifetime;
    let mut received: HashMap<u64, Duration> = HashMap::new();
    for r in &log.records {
        match r {
            Record::Delivered {
                at,
                from,
                bytes,
                accepted: true,
                ..
            } => {
                if let Ok(Reply::Connect(c)) = Reply::parse(bytes, AddressFamily::of(from)) {
                    received.insert(c.connection_id, *at);
                }
            }
            Record::Sent { at, bytes, .. } => {
                let id = match Request::parse(bytes) {
                    Ok(Request::Announce(a)) => a.connection_id,
                    Ok(Request::Scrape(s)) => s.connection_id,
                    _ => continue,
                };
                match received.get(&id) {
                    None => return fail(*at, format!("connection id {id:#x} was never received")),
                    Some(&got) if *at - got >= lifetime => {
                        return fail(
                            *at,
                            format!(
                                "connection id {id:#x} used {:?} after it was received",
                                *at - got
                            ),
                        );
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Cadence and event order, per tracker: `started` until one is acknowledged; `completed` only
/// after `completed()`, acknowledged at most once; `stopped` only after `stop()`, only to a
/// tracker that was sent `started` (acknowledged or not), and nothing else after `stop()`; an
/// announce without an event never before the last acknowledgement plus its interval.
///
/// Live edits (scenarios with `edits_at`): `pause` and removing a tracker also send `stopped` (to
/// trackers sent `started`); after `pause` and after a tracker is added back, `started` goes out
/// again (the machine forgets the acknowledgements); after an edit or command, announces are due
/// again from then on (a removed tracker's tier asks the next one at once, which only `min
/// interval` holds back), so the interval rule restarts with the next acknowledgement.
pub fn cadence(log: &Log) -> Check {
    let mut completed_at = None;
    let mut stop_at = None;
    let mut edit_stopped = false;
    let last = TrackerId(log.true_peers.len() as u16 - 1);
    let mut started: HashSet<TrackerId> = HashSet::new();
    let mut started_sent: HashSet<TrackerId> = HashSet::new();
    let mut completed_acks: HashMap<TrackerId, usize> = HashMap::new();
    // Per tracker: the earliest time of the next announce without an event.
    let mut not_before: HashMap<TrackerId, Duration> = HashMap::new();
    let sent: HashMap<(Duration, RequestId), SentAnnounce> = announces(log)
        .into_iter()
        .map(|a| ((a.at, a.request), a))
        .collect();
    let mut first_send: HashSet<RequestId> = HashSet::new();
    for r in &log.records {
        let key = match r {
            Record::Sent { at, request, .. } => (*at, *request),
            Record::HttpSent { at, request } => (*at, request.id),
            Record::Command {
                at,
                name: "completed",
            } => {
                completed_at.get_or_insert(*at);
                continue;
            }
            Record::Command { at, name: "stop" } => {
                stop_at.get_or_insert(*at);
                continue;
            }
            Record::Command { name, .. } => {
                match *name {
                    "pause" => {
                        edit_stopped = true;
                        started.clear();
                    }
                    "remove_last" => edit_stopped = true,
                    "add_back" => {
                        started.remove(&last);
                        started_sent.remove(&last);
                    }
                    _ => {}
                }
                if matches!(
                    *name,
                    "announce_tracker" | "remove_last" | "add_back" | "resume"
                ) {
                    not_before.clear();
                }
                continue;
            }
            Record::Event {
                at,
                event: Event::Announced(a),
            } => {
                match a.event {
                    AnnounceEvent::Started => {
                        started.insert(a.tracker);
                    }
                    AnnounceEvent::Completed => {
                        let n = completed_acks.entry(a.tracker).or_default();
                        *n += 1;
                        if *n > 1 {
                            return fail(
                                *at,
                                format!("{} acknowledged completed twice", a.tracker),
                            );
                        }
                    }
                    AnnounceEvent::Stopped => {
                        started.remove(&a.tracker);
                        started_sent.remove(&a.tracker);
                    }
                    _ => {}
                }
                not_before.insert(a.tracker, *at + a.interval);
                continue;
            }
            _ => continue,
        };
        let Some(a) = sent.get(&key) else { continue };
        let first = first_send.insert(a.request);
        let who = a.tracker;
        match a.event {
            AnnounceEvent::Started if started.contains(&who) && first => {
                return fail(
                    a.at,
                    format!("started sent again to {who}, which acknowledged it"),
                );
            }
            AnnounceEvent::Completed if completed_at.is_none() => {
                return fail(
                    a.at,
                    format!("completed sent to {who} before completed() was called"),
                );
            }
            AnnounceEvent::Started => {
                started_sent.insert(who);
            }
            AnnounceEvent::Stopped
                if (stop_at.is_none() && !edit_stopped) || !started_sent.contains(&who) =>
            {
                return fail(
                    a.at,
                    format!("stopped sent to {who} without stop() or a started sent to it"),
                );
            }
            AnnounceEvent::Regular if !started.contains(&who) => {
                return fail(
                    a.at,
                    format!(
                        "an announce without event went to {who} before started was acknowledged"
                    ),
                );
            }
            AnnounceEvent::Regular if first && not_before.get(&who).is_some_and(|&t| a.at < t) => {
                return fail(
                    a.at,
                    format!(
                        "{who} announced at {:?}, before its interval ran out at {:?}",
                        a.at, not_before[&who]
                    ),
                );
            }
            e if e != AnnounceEvent::Stopped && first && stop_at.is_some() => {
                return fail(a.at, format!("{e:?} sent to {who} after stop()"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Liveness: every request ends in exactly one outcome event, and outcomes only name requests
/// that were made (an HTTP redirect hop belongs to the request it continues), except that a
/// cancelled one may never have been sent. With
/// `expect_peers`, at least one `Announced` came.
pub fn liveness(log: &Log, expect_peers: bool) -> Check {
    let mut made: HashSet<RequestId> = HashSet::new();
    let mut ended: HashSet<RequestId> = HashSet::new();
    // Redirect hops: hop id -> the request it continues; per (tracker, kind), a redirect in progress.
    let mut origin: HashMap<RequestId, (RequestId, TrackerId, RequestKind)> = HashMap::new();
    let mut redirected: HashMap<(TrackerId, RequestKind), RequestId> = HashMap::new();
    let mut peers = false;
    for r in &log.records {
        match r {
            Record::Sent { request, .. } => {
                made.insert(*request);
            }
            Record::HttpSent { request, .. } => {
                let Some(tracker) = request.origin.tracker() else {
                    return Err(format!("{:?} names no tracker", request.id));
                };
                let first = redirected
                    .remove(&(tracker, request.kind))
                    .unwrap_or(request.id);
                origin.insert(request.id, (first, tracker, request.kind));
                made.insert(first);
            }
            Record::HttpAnswered {
                request,
                status: Some(300..=399),
                accepted: true,
                ..
            } => {
                if let Some(&(first, tracker, kind)) = origin.get(request) {
                    redirected.insert((tracker, kind), first);
                }
            }
            Record::Event { at, event } => {
                let id = match event {
                    Event::Announced(a) => {
                        peers = true;
                        a.id
                    }
                    Event::Scraped(s) => s.id,
                    Event::Failed(f) if f.cause == Cause::ScrapeUnsupported => continue,
                    Event::Failed(f) => f.id,
                    _ => continue,
                };
                // An outcome names the hop in flight; it ends the request that hop continues.
                let id = origin.get(&id).map_or(id, |&(first, ..)| first);
                redirected.retain(|_, first| *first != id);
                // A request cancelled by stop() while it waited (for its torrent's connect, or
                // for the pacer) ends without having sent anything.
                if matches!(event, Event::Failed(f) if f.cause == Cause::Cancelled) {
                    made.insert(id);
                }
                if !made.contains(&id) {
                    return fail(*at, format!("an outcome for {id:?}, which was never sent"));
                }
                if !ended.insert(id) {
                    return fail(*at, format!("a second outcome for {id:?}"));
                }
            }
            _ => {}
        }
    }
    if let Some(id) = made.difference(&ended).next() {
        return Err(format!("{id:?} never ended"));
    }
    if expect_peers && !peers {
        return Err("no tracker ever answered with peers".into());
    }
    Ok(())
}

/// Bounds: datagrams fit `MAX_REQUEST_LEN`, peer lists fit the cap, and events never drained
/// number at most `3 * trackers + 1` (an announce and a scrape outcome and a `TrackerDisabled` per
/// tracker, one `Stopped`), however long the run.
pub fn bounds(log: &Log) -> Check {
    for r in &log.records {
        match r {
            Record::Sent { at, bytes, .. } if bytes.len() > MAX_REQUEST_LEN => {
                return fail(*at, format!("a {}-byte datagram", bytes.len()));
            }
            Record::Event {
                at,
                event: Event::Announced(a),
            } if a.peers.len() > log.config.max_peers_per_reply => {
                return fail(*at, format!("{} peers kept from one reply", a.peers.len()));
            }
            _ => {}
        }
    }
    let cap = 3 * log.true_peers.len() + 1;
    if log.undrained > cap {
        return Err(format!(
            "{} events queued, the bound is {cap}",
            log.undrained
        ));
    }
    Ok(())
}

/// Shutdown: `Stopped` comes within `stop_timeout` of `stop()`, every tracker that was sent
/// `started` is tried with `stopped` before it, it is the last event, nothing is sent after it,
/// and the final `poll_timeout` is `None`.
pub fn shutdown(log: &Log) -> Check {
    let stop_at = log.records.iter().find_map(|r| match r {
        Record::Command { at, name: "stop" } => Some(*at),
        _ => None,
    });
    let Some(stop_at) = stop_at else {
        return Err("stop() was never called".into());
    };
    let Some(stopped_at) = log.stopped_at else {
        return Err("no Stopped event".into());
    };
    if stopped_at > stop_at + log.config.stop_timeout {
        return fail(
            stopped_at,
            format!("Stopped came {:?} after stop()", stopped_at - stop_at),
        );
    }
    stopped_owed(log, stop_at, stopped_at)?;
    let mut after = false;
    for r in &log.records {
        match r {
            Record::Event {
                event: Event::Stopped,
                ..
            } => after = true,
            Record::Event { at, event } if after => {
                return fail(*at, format!("{event:?} after Stopped"));
            }
            Record::Sent { at, .. } | Record::HttpSent { at, .. } if after => {
                return fail(*at, "a request after Stopped".into());
            }
            Record::Delivered {
                at, accepted: true, ..
            } if after => {
                return fail(*at, "a datagram accepted after Stopped".into());
            }
            _ => {}
        }
    }
    if log.final_timeout.is_some() {
        return Err("poll_timeout is not None after Stopped".into());
    }
    Ok(())
}

/// Every tracker that was sent `started` before `stop()` (acknowledged or not) and not disabled is
/// sent its `stopped` between `stop()` and `Stopped`: the announce itself, or over UDP at least the
/// connect it needs first. One that was never sent `started` gets nothing.
fn stopped_owed(log: &Log, stop_at: Duration, stopped_at: Duration) -> Check {
    let mut owed: HashSet<TrackerId> = HashSet::new();
    let mut tried: HashSet<TrackerId> = HashSet::new();
    for a in announces(log) {
        match a.event {
            AnnounceEvent::Started if a.at < stop_at => {
                owed.insert(a.tracker);
            }
            // Sent by `pause` or a removal before `stop()`: it settled what was owed.
            AnnounceEvent::Stopped if a.at < stop_at => {
                owed.remove(&a.tracker);
            }
            AnnounceEvent::Stopped if a.at <= stopped_at => {
                tried.insert(a.tracker);
            }
            _ => {}
        }
    }
    for r in &log.records {
        match r {
            Record::Sent {
                at, tracker, bytes, ..
            } if *at >= stop_at && *at <= stopped_at => {
                if matches!(Request::parse(bytes), Ok(Request::Connect(_))) {
                    tried.insert(*tracker);
                }
            }
            Record::Event {
                event: Event::TrackerDisabled { tracker },
                ..
            } => {
                owed.remove(tracker);
            }
            _ => {}
        }
    }
    // Removing a tracker (`remove_last`) tried its `stopped` then; `stop()` owes it nothing for
    // the `started` it was sent before.
    let last = TrackerId(log.true_peers.len() as u16 - 1);
    let removed_at = log.records.iter().rev().find_map(|r| match r {
        Record::Command {
            at,
            name: "remove_last",
        } if *at < stop_at => Some(*at),
        _ => None,
    });
    if let Some(removed_at) = removed_at
        && !announces(log).iter().any(|a| {
            a.tracker == last
                && a.event == AnnounceEvent::Started
                && a.at >= removed_at
                && a.at < stop_at
        })
    {
        owed.remove(&last);
    }
    match owed.difference(&tried).next() {
        Some(t) => Err(format!(
            "{t} was sent started but not stopped between stop() and Stopped"
        )),
        None => Ok(()),
    }
}

/// Status: after every drain, each tracker's snapshot agrees with the events drained so far:
/// `Disabled` after `TrackerDisabled`; otherwise, unless an announce is in flight (`Updating`),
/// `NotWorking` exactly when its last announce outcome failed, `Working` when it was answered,
/// `NotContacted` before either; `failures` counts the failed announces since the last answer
/// (a cancellation is not a failure); `last_announce` is the last answer's time. A regular
/// announce never goes to a tracker before the `next_announce` its last snapshot showed.
pub fn status(log: &Log) -> Check {
    #[derive(Default, Clone, Copy)]
    struct Model {
        failures: u32,
        disabled: bool,
        last_announce: Option<Duration>,
        next: Option<Duration>,
    }
    let mut model: HashMap<TrackerId, Model> = HashMap::new();
    let sent: HashMap<(Duration, RequestId), SentAnnounce> = announces(log)
        .into_iter()
        .map(|a| ((a.at, a.request), a))
        .collect();
    let mut first_send: HashSet<RequestId> = HashSet::new();
    let mut snapshots = 0;
    let mut listed: HashSet<TrackerId> = HashSet::new();
    for r in &log.records {
        let key = match r {
            // A command may announce before the next announce a snapshot showed.
            Record::Command { .. } => {
                for m in model.values_mut() {
                    m.next = None;
                }
                continue;
            }
            Record::Event { at, event } => {
                match event {
                    Event::Announced(a) => {
                        let m = model.entry(a.tracker).or_default();
                        m.failures = 0;
                        m.last_announce = Some(*at);
                    }
                    Event::Failed(f)
                        if matches!(f.request, RequestKind::Announce(_))
                            && f.cause != Cause::Cancelled =>
                    {
                        model.entry(f.tracker).or_default().failures += 1;
                    }
                    Event::TrackerDisabled { tracker } => {
                        model.entry(*tracker).or_default().disabled = true;
                    }
                    _ => {}
                }
                continue;
            }
            Record::Status { at, rows } => {
                snapshots += 1;
                let before = std::mem::take(&mut listed);
                for row in rows {
                    listed.insert(row.id);
                    if snapshots > 1 && !before.contains(&row.id) {
                        // Added (back) since the last snapshot: a new tracker, nothing known yet.
                        model.insert(row.id, Model::default());
                    }
                    let m = model.entry(row.id).or_default();
                    m.next = row.next_announce;
                    let want = if m.disabled {
                        Some(TrackerState::Disabled)
                    } else if row.state == TrackerState::Updating {
                        None
                    } else if m.failures > 0 {
                        Some(TrackerState::NotWorking)
                    } else if m.last_announce.is_some() {
                        Some(TrackerState::Working)
                    } else {
                        Some(TrackerState::NotContacted)
                    };
                    if want.is_some_and(|w| w != row.state)
                        || row.failures != m.failures
                        || row.last_announce != m.last_announce
                    {
                        return fail(
                            *at,
                            format!(
                                "{}: snapshot {:?} with {} failures, last answer {:?}; events say {want:?}, {} failures, last answer {:?}",
                                row.id,
                                row.state,
                                row.failures,
                                row.last_announce,
                                m.failures,
                                m.last_announce
                            ),
                        );
                    }
                    if row.next_announce.is_some_and(|t| t < *at) {
                        return fail(*at, format!("{}: next announce in the past", row.id));
                    }
                }
                continue;
            }
            Record::Sent { at, request, .. } => (*at, *request),
            Record::HttpSent { at, request } => (*at, request.id),
            _ => continue,
        };
        let Some(a) = sent.get(&key) else { continue };
        if !first_send.insert(a.request) || a.event != AnnounceEvent::Regular {
            continue;
        }
        if let Some(next) = model.get(&a.tracker).and_then(|m| m.next)
            && a.at < next
        {
            return fail(
                a.at,
                format!(
                    "a regular announce to {} at {:?}, before the next announce its status showed ({next:?})",
                    a.tracker, a.at
                ),
            );
        }
    }
    if snapshots == 0 {
        return Err("no status snapshot was recorded".into());
    }
    Ok(())
}
