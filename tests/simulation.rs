//! The invariants of `reference/sansio.md` section 2, each checked over thousands of seeded
//! simulation runs (`tests/sim/`): random tracker behaviours (silent, refusing, rotating or
//! expiring connection ids, interval 0 or huge, `retry in`, 410, redirects, slow answers), loss up
//! to 40 %, duplication, reordering, spoofed and replayed datagrams. A failure names the seed.

mod sim;

use sim::{Scenario, checks, for_seeds, run};

const SEEDS: u64 = 5_000;

#[test]
fn same_seed_gives_the_same_trace() {
    for seed in 0..SEEDS {
        let s = Scenario::random(seed);
        let (a, b) = (run(&s), run(&s));
        assert!(a.records == b.records, "seed {seed}: two runs differ");
        assert!(!a.records.is_empty());
    }
}

#[test]
fn timeouts_are_in_the_future_and_early_calls_do_nothing() {
    for_seeds(0..SEEDS, Scenario::random, checks::time_sanity);
}

#[test]
fn only_expected_replies_are_accepted_and_ignored_ones_change_nothing() {
    for_seeds(0..SEEDS, Scenario::random, checks::matching);
}

#[test]
fn udp_resends_follow_the_bep15_schedule() {
    for_seeds(0..SEEDS, Scenario::random, checks::retransmission);
}

#[test]
fn connection_ids_are_used_only_within_their_lifetime() {
    for_seeds(0..SEEDS, Scenario::random, checks::connection_ids);
}

#[test]
fn events_go_in_order_and_announces_respect_the_interval() {
    for_seeds(0..SEEDS, Scenario::random, checks::cadence);
}

#[test]
fn every_request_ends_in_exactly_one_outcome() {
    for_seeds(0..SEEDS, Scenario::random, |log| {
        checks::liveness(log, false)
    });
}

#[test]
fn honest_trackers_under_loss_below_100_percent_give_peers() {
    let lossy = |seed| {
        let mut s = Scenario::honest(seed);
        s.link.loss = [0.1, 0.3][(seed % 2) as usize];
        s.config.udp_max_attempts = 3;
        s.stop_at = std::time::Duration::from_secs(6 * 3600);
        s
    };
    for_seeds(0..SEEDS, lossy, |log| checks::liveness(log, true));
}

#[test]
fn queues_and_datagrams_stay_bounded() {
    let undrained = |seed| {
        let mut s = Scenario::random(seed);
        s.drain_events = seed % 2 == 0;
        s.config.max_peers_per_reply = 100;
        s
    };
    for_seeds(0..SEEDS, undrained, checks::bounds);
}

#[test]
fn stop_finishes_within_its_deadline_and_then_nothing_moves() {
    for_seeds(0..SEEDS, Scenario::random, checks::shutdown);
}

#[test]
fn the_tracker_status_snapshot_agrees_with_the_events_after_every_step() {
    let with_status = |seed| {
        let mut s = Scenario::random(seed);
        s.record_status = true;
        s
    };
    for_seeds(0..SEEDS / 5, with_status, checks::status);
}

#[test]
fn live_edits_and_per_tracker_commands_keep_every_invariant_and_the_snapshot_in_step() {
    let with_edits = |seed| {
        let mut s = Scenario::random(seed);
        s.record_status = true;
        s.edits_at = Some(std::time::Duration::from_secs(seed % 600));
        s.stop_at = s.stop_at.max(std::time::Duration::from_secs(1200));
        s
    };
    for_seeds(0..SEEDS, with_edits, |log| {
        checks::status(log)?;
        checks::cadence(log)?;
        checks::liveness(log, false)?;
        checks::shutdown(log)?;
        checks::time_sanity(log)?;
        checks::matching(log)
    });
}
