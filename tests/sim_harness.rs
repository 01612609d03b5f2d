//! The simulation's own tests: each invariant check rejects a log doctored to show the broken
//! behaviour it exists to catch, so a green `tests/simulation.rs` means something.

mod sim;

use std::time::Duration;

use bt_tracker::AnnounceEvent;
use bt_tracker::announce::{Event, RequestKind};
use sim::trackers::{HttpBehaviour, UdpBehaviour};
use sim::{Log, Record, Scenario, Spec, checks, run};

/// One honest UDP tracker and one silent one, no loss, completed at 1000 s, stopped at 2 h.
fn scenario() -> Scenario {
    let mut s = Scenario::honest(3);
    s.tiers = vec![
        vec![Spec::Udp(UdpBehaviour::Honest)],
        vec![Spec::Udp(UdpBehaviour::Silent)],
    ];
    s.config.tier_mode = bt_tracker::announce::TierMode::AllTiers;
    s.config.udp_max_attempts = 3;
    s.interval = 1800;
    s.complete_at = Some(Duration::from_secs(1000));
    s.scrape_at = None;
    s.stop_at = Duration::from_secs(7200);
    s
}

fn good_log() -> Log {
    let log = run(&scenario());
    checks::time_sanity(&log).unwrap();
    checks::matching(&log).unwrap();
    checks::retransmission(&log).unwrap();
    checks::connection_ids(&log).unwrap();
    checks::cadence(&log).unwrap();
    checks::liveness(&log, true).unwrap();
    checks::bounds(&log).unwrap();
    checks::shutdown(&log).unwrap();
    log
}

fn position(log: &Log, pred: impl Fn(&Record) -> bool) -> usize {
    log.records
        .iter()
        .position(pred)
        .expect("the record the doctoring needs")
}

#[test]
fn different_seeds_give_different_traces() {
    let (mut a, mut b) = (scenario(), scenario());
    a.seed = 1;
    b.seed = 2;
    assert!(run(&a).records != run(&b).records);
}

#[test]
fn time_sanity_rejects_a_busy_loop_and_output_from_an_early_timeout() {
    let mut log = good_log();
    let i = position(&log, |r| {
        matches!(
            r,
            Record::Drained {
                after_timeout: true,
                timeout: Some(_),
                ..
            }
        )
    });
    if let Record::Drained { at, timeout, .. } = &mut log.records[i] {
        *timeout = Some(*at);
    }
    assert!(checks::time_sanity(&log).is_err());

    let mut log = good_log();
    let i = position(&log, |r| matches!(r, Record::EarlyTimeout { .. }));
    if let Record::EarlyTimeout { outputs, .. } = &mut log.records[i] {
        *outputs = 1;
    }
    assert!(checks::time_sanity(&log).is_err());
}

#[test]
fn matching_rejects_an_accepted_forgery_a_replay_and_foreign_peers() {
    let mut log = good_log();
    let i = position(&log, |r| {
        matches!(r, Record::Delivered { accepted: true, .. })
    });
    if let Record::Delivered { spoofed, .. } = &mut log.records[i] {
        *spoofed = true;
    }
    assert!(checks::matching(&log).unwrap_err().contains("spoofed"));

    let mut log = good_log();
    let replay = log.records[i].clone();
    log.records.push(replay);
    assert!(checks::matching(&log).unwrap_err().contains("twice"));

    let mut log = good_log();
    let i = position(&log, |r| {
        matches!(
            r,
            Record::Event {
                event: Event::Announced(_),
                ..
            }
        )
    });
    if let Record::Event {
        event: Event::Announced(a),
        ..
    } = &mut log.records[i]
    {
        a.peers.push("66.66.66.66:666".parse().unwrap());
    }
    assert!(checks::matching(&log).unwrap_err().contains("never sent"));
}

#[test]
fn retransmission_rejects_an_early_resend_and_one_send_too_many() {
    // The silent tracker's connect goes out at 0, 15 and 45 s.
    let resends = |log: &Log| -> Vec<usize> {
        let first = log.records.iter().find_map(|r| match r {
            Record::Sent {
                request, tracker, ..
            } if tracker.0 == 1 => Some(*request),
            _ => None,
        });
        (0..log.records.len()).filter(|&i| matches!(&log.records[i], Record::Sent { request, .. } if Some(*request) == first)).collect()
    };
    let mut log = good_log();
    let sends = resends(&log);
    assert_eq!(sends.len(), 3);
    if let Record::Sent { at, .. } = &mut log.records[sends[1]] {
        *at -= Duration::from_secs(1);
    }
    assert!(checks::retransmission(&log).is_err());

    let mut log = good_log();
    let extra = log.records[sends[2]].clone();
    if let Record::Sent { at, .. } = &extra {
        let mut fourth = extra.clone();
        if let Record::Sent { at: t, .. } = &mut fourth {
            *t = *at + Duration::from_secs(60);
        }
        log.records.insert(sends[2] + 1, fourth);
    }
    assert!(checks::retransmission(&log).is_err());
}

#[test]
fn connection_id_check_rejects_a_stale_or_invented_id() {
    let mut log = good_log();
    let i = position(
        &log,
        |r| matches!(r, Record::Sent { bytes, .. } if bytes.len() >= 98),
    );
    if let Record::Sent { at, .. } = &mut log.records[i] {
        *at += Duration::from_secs(60);
    }
    assert!(
        checks::connection_ids(&log)
            .unwrap_err()
            .contains("after it was received")
    );

    let mut log = good_log();
    if let Record::Sent { bytes, .. } = &mut log.records[i] {
        bytes[0] ^= 0xff;
    }
    assert!(
        checks::connection_ids(&log)
            .unwrap_err()
            .contains("never received")
    );
}

#[test]
fn cadence_rejects_a_repeated_started_an_early_announce_and_a_stray_stopped() {
    let event_of = |code: u32| code.to_be_bytes();
    let regular = |log: &Log| {
        position(
            log,
            |r| matches!(r, Record::Sent { bytes, .. } if bytes.len() >= 98 && bytes[80..84] == [0, 0, 0, 0]),
        )
    };

    let mut log = good_log();
    let i = regular(&log);
    if let Record::Sent { bytes, .. } = &mut log.records[i] {
        bytes[80..84].copy_from_slice(&event_of(2));
    }
    assert!(
        checks::cadence(&log)
            .unwrap_err()
            .contains("started sent again")
    );

    let mut log = good_log();
    let i = regular(&log);
    if let Record::Sent { at, .. } = &mut log.records[i] {
        *at -= Duration::from_secs(600);
    }
    assert!(
        checks::cadence(&log)
            .unwrap_err()
            .contains("before its interval")
    );

    let mut log = good_log();
    let i = regular(&log);
    if let Record::Sent { bytes, .. } = &mut log.records[i] {
        bytes[80..84].copy_from_slice(&event_of(3));
    }
    assert!(checks::cadence(&log).unwrap_err().contains("stopped sent"));
}

#[test]
fn liveness_rejects_a_lost_or_doubled_outcome_and_no_peers() {
    let outcome = |log: &Log| {
        position(log, |r| {
            matches!(
                r,
                Record::Event {
                    event: Event::Failed(_),
                    ..
                }
            )
        })
    };
    let mut log = good_log();
    let i = outcome(&log);
    log.records.remove(i);
    assert!(
        checks::liveness(&log, false)
            .unwrap_err()
            .contains("never ended")
    );

    let mut log = good_log();
    let doubled = log.records[outcome(&log)].clone();
    log.records.push(doubled);
    assert!(
        checks::liveness(&log, false)
            .unwrap_err()
            .contains("second outcome")
    );

    let mut log = good_log();
    log.records.retain(|r| !matches!(r, Record::Event { event: Event::Announced(a), .. } if a.event != AnnounceEvent::Stopped));
    log.records.retain(|r| {
        !matches!(
            r,
            Record::Event {
                event: Event::Announced(_),
                ..
            }
        )
    });
    assert!(checks::liveness(&log, true).is_err());
}

#[test]
fn bounds_reject_an_oversized_queue_and_peer_list() {
    let mut log = good_log();
    log.undrained = 3 * log.true_peers.len() + 2;
    assert!(checks::bounds(&log).is_err());

    let mut log = good_log();
    log.config.max_peers_per_reply = 1;
    assert!(checks::bounds(&log).unwrap_err().contains("peers kept"));
}

#[test]
fn shutdown_rejects_a_late_stopped_and_traffic_after_it() {
    let mut log = good_log();
    log.stopped_at = log.stopped_at.map(|t| t + Duration::from_secs(10));
    assert!(checks::shutdown(&log).is_err());

    let mut log = good_log();
    let sent = log.records[position(&log, |r| matches!(r, Record::Sent { .. }))].clone();
    log.records.push(sent);
    assert!(
        checks::shutdown(&log)
            .unwrap_err()
            .contains("after Stopped")
    );

    let mut log = good_log();
    log.final_timeout = Some(sim::epoch());
    assert!(checks::shutdown(&log).is_err());
}

#[test]
fn a_silent_udp_tracker_is_sent_exactly_the_bep15_schedule() {
    let log = good_log();
    let sends: Vec<Duration> = log
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Sent { at, tracker, .. }
                if tracker.0 == 1 && *at < Duration::from_secs(100) =>
            {
                Some(*at)
            }
            _ => None,
        })
        .collect();
    assert_eq!(sends, [0, 15, 45].map(Duration::from_secs));
    let timeout = log.records.iter().find_map(|r| match r {
        Record::Event {
            at,
            event: Event::Failed(f),
        } if f.tracker.0 == 1 => Some((*at, f.request)),
        _ => None,
    });
    assert_eq!(
        timeout,
        Some((
            Duration::from_secs(105),
            RequestKind::Announce(AnnounceEvent::Started)
        ))
    );
}

#[test]
fn an_honest_tracker_is_announced_to_exactly_every_interval() {
    let log = good_log();
    let to_honest: Vec<(u64, AnnounceEvent)> = checks::announces(&log)
        .into_iter()
        .filter(|a| a.tracker.0 == 0)
        .map(|a| (a.at.as_millis() as u64, a.event))
        .collect();
    // 20 ms each way, and every announce needs a connect round trip first (ids live 60 s):
    // started at 40 ms; completed at 1000.04 s, answered at 1000.08 s; each regular announce
    // 1800 s after the previous answer plus the 40 ms connect; stopped at 7200.04 s.
    assert_eq!(
        to_honest,
        [
            (40, AnnounceEvent::Started),
            (1_000_040, AnnounceEvent::Completed),
            (2_800_120, AnnounceEvent::Regular),
            (4_600_200, AnnounceEvent::Regular),
            (6_400_280, AnnounceEvent::Regular),
            (7_200_040, AnnounceEvent::Stopped),
        ]
    );
    let http_honest = {
        let mut s = scenario();
        s.tiers = vec![vec![Spec::Http(HttpBehaviour::Honest)]];
        run(&s)
    };
    checks::liveness(&http_honest, true).unwrap();
}

#[test]
fn status_rejects_a_snapshot_that_disagrees_with_the_events() {
    let mut s = scenario();
    s.record_status = true;
    let log = run(&s);
    checks::status(&log).unwrap();

    // The silent tracker's failures, under-counted in one snapshot.
    let mut bad = log.clone();
    let ix = position(
        &bad,
        |r| matches!(r, Record::Status { rows, .. } if rows.iter().any(|row| row.failures > 0)),
    );
    if let Record::Status { rows, .. } = &mut bad.records[ix] {
        for row in rows.iter_mut().filter(|row| row.failures > 0) {
            row.failures -= 1;
        }
    }
    assert!(checks::status(&bad).unwrap_err().contains("failures"));

    // A next announce shown later than the regular announce that then went out.
    let mut bad = log.clone();
    let sent = checks::announces(&bad)
        .into_iter()
        .find(|a| a.event == AnnounceEvent::Regular)
        .expect("a regular announce");
    let ix = bad
        .records
        .iter()
        .rposition(|r| matches!(r, Record::Status { at, .. } if *at < sent.at))
        .expect("a snapshot before it");
    if let Record::Status { rows, .. } = &mut bad.records[ix] {
        for row in rows.iter_mut().filter(|row| row.id == sent.tracker) {
            row.next_announce = Some(sent.at + Duration::from_secs(1));
        }
    }
    assert!(
        checks::status(&bad)
            .unwrap_err()
            .contains("before the next announce")
    );

    // No snapshots at all.
    let mut bad = log;
    bad.records.retain(|r| !matches!(r, Record::Status { .. }));
    assert!(checks::status(&bad).is_err());
}

/// `examples/simulate.rs`, written from the `bt_tracker::sim` docs alone, compiled in here so its
/// pass and fail paths are tested.
#[path = "../examples/simulate.rs"]
#[allow(dead_code)]
mod simulate_example;

#[test]
fn the_simulate_example_holds_on_a_thousand_seeds() {
    for seed in 0..1000 {
        let run = simulate_example::run_seed(seed, false, sim::epoch());
        assert!(
            run.failure.is_none(),
            "{:?}\n{}",
            run.failure,
            run.trace.join("\n")
        );
    }
}

#[test]
fn the_simulate_example_strict_check_fails_a_seed_and_its_replay_line_reproduces_it() {
    let (seed, why) = (0..1000)
        .find_map(|seed| {
            let run = simulate_example::run_seed(seed, true, sim::epoch());
            run.failure.map(|why| (seed, why))
        })
        .expect("--strict fails some seed of 1,000");
    assert!(
        why.starts_with("--strict: the first peers came at"),
        "{why}"
    );
    // The printed line replays it: same arguments, same failure.
    let line = simulate_example::replay_command(seed, true);
    assert_eq!(
        line,
        format!("cargo run --example simulate -- --strict --seed {seed}")
    );
    let args = line
        .split(" -- ")
        .nth(1)
        .unwrap()
        .split(' ')
        .map(String::from);
    let args = simulate_example::parse_args(args).unwrap();
    assert_eq!((args.one, args.strict), (Some(seed), true));
    let again = simulate_example::run_seed(seed, args.strict, sim::epoch());
    assert_eq!(again.failure.as_deref(), Some(why.as_str()));
    // Without --strict the same seed passes: the failure is the stricter property's.
    assert!(
        simulate_example::run_seed(seed, false, sim::epoch())
            .failure
            .is_none()
    );
}

#[test]
fn the_simulate_example_refuses_a_bad_argument_with_its_usage() {
    let bad = simulate_example::parse_args(["--seed".to_owned(), "x".to_owned()].into_iter());
    assert_eq!(bad.unwrap_err(), "--seed takes a whole number, not \"x\"");
    let unknown = simulate_example::parse_args(["--fast".to_owned()].into_iter());
    assert!(unknown.unwrap_err().contains("usage: simulate"));
}

#[test]
fn the_simulate_example_refuses_zero_seeds_which_would_check_nothing() {
    let zero = simulate_example::parse_args(["--seeds".to_owned(), "0".to_owned()].into_iter());
    assert_eq!(
        zero.unwrap_err(),
        format!(
            "--seeds takes a whole number from 1 to {}, not \"0\" (0 seeds checks nothing)",
            u64::MAX
        )
    );
    let one = simulate_example::parse_args(["--seeds".to_owned(), "1".to_owned()].into_iter());
    assert_eq!(one.unwrap().seeds, 1);
}

#[test]
fn the_simulate_example_refuses_a_flag_given_twice_or_seeds_with_seed() {
    let args = |a: &[&str]| simulate_example::parse_args(a.iter().map(|s| (*s).to_owned()));
    assert_eq!(
        args(&["--seeds", "3", "--seeds", "5"]).unwrap_err(),
        "--seeds is given twice; give it once"
    );
    assert_eq!(
        args(&["--strict", "--strict"]).unwrap_err(),
        "--strict is given twice; give it once"
    );
    for both in [
        ["--seed", "3", "--seeds", "5"],
        ["--seeds", "5", "--seed", "3"],
    ] {
        let e = args(&both).unwrap_err();
        assert!(
            e.starts_with("--seeds runs many seeds and --seed replays one: give one of them;"),
            "{e}"
        );
    }
    assert_eq!(args(&["--seed", "3", "--strict"]).unwrap().one, Some(3));
}
