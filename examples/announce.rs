//! Announce one torrent to its trackers and print the peers: the blocking, std::net example.
//!
//! ```text
//! cargo run --example announce                       # offline: an embedded loopback tracker
//! cargo run --example announce -- 'magnet:?xt=urn:btih:...&tr=udp://...'
//! cargo run --example announce -- file.torrent --scrape --json
//! cargo run --example announce -- <40-hex info hash> udp://tracker.example:6969/announce
//! cargo run --example announce -- <40-hex info hash> https://localhost:8443/announce --ca-file ca.pem
//! ```
//!
//! Peers go to stdout (`ip:port`, IPv6 as `[addr]:port`), one tracker summary per line to stderr,
//! drawn from the machine's status snapshot (`Announce::trackers`) as a client's tracker tab is.
//! Every tracker is announced to in parallel. Each request made (the announce, `completed`, the
//! scrape, `stopped`) is reported with its outcome: the answer, the failure, or "no answer within
//! --timeout" when the run ended first. `stopped` is sent before exiting to every tracker that got
//! `started`, after Ctrl-C too.

mod common;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use bt_tracker::announce::{Announce, Config, Event, Progress, TierMode, Torrent};
use bt_tracker::{InfoHash, TrackerUrl};
use common::cli::{ANNOUNCE_USAGE, AnnounceArgs as Args, parse_announce};
use common::driver::{Driver, Ended, Flow, Sockets};
use common::embedded::{EmbeddedTracker, sample_peers};
use common::out::tell;
use common::report::{Asked, Reports, TrackerReport};
use common::target::{self, Target};
use common::{now, os_rng, random_peer_id};

fn main() -> ExitCode {
    common::main_with(
        parse_announce(std::env::args().skip(1)),
        ANNOUNCE_USAGE,
        "no tracker answered with a peer list (see the summaries above)",
        run,
    )
}

/// Announces and prints; `Ok(true)` when at least one tracker answered with a peer list.
fn run(args: &Args) -> Result<bool, String> {
    let started = now();
    if let Some(path) = &args.ca_file {
        common::http::trust_ca_file(path)?;
    }
    // Offline demo: a tracker of our own, on loopback, with a few sample peers in every swarm.
    let embedded;
    let target = match &args.target {
        Some(target) => target.clone(),
        None => {
            embedded = EmbeddedTracker::start(sample_peers())
                .map_err(|e| format!("cannot start the embedded tracker: {e}"))?;
            tell(format_args!(
                "No torrent given: announcing to an embedded tracker on loopback ({} and {}).",
                embedded.udp_url(),
                embedded.http_url()
            ));
            Target {
                info_hash: InfoHash(*b"bt-tracker demo hash"),
                name: Some("bt-tracker demo".to_owned()),
                tiers: vec![vec![embedded.udp_url()], vec![embedded.http_url()]],
            }
        }
    };
    let tiers = tracker_tiers(&target)?;
    if let Some(name) = &target.name {
        tell(format_args!("Torrent {:?} ({})", name, target.info_hash));
    }

    // Every tracker in parallel, each on its own schedule, so that each one gets reported.
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTrackers;
    config.num_want = args.numwant;
    config.stop_timeout = (args.timeout / 4).min(Duration::from_secs(5));
    config.http_timeout = args.timeout - config.stop_timeout;
    let mut rng = os_rng();
    let peer_id = args.peer_id.unwrap_or_else(|| random_peer_id(&mut rng));
    let left = if args.completed { 0 } else { 1 << 30 };
    let torrent = Torrent {
        info_hash: target.info_hash,
        peer_id,
        port: args.port,
        progress: Progress {
            left,
            ..Progress::default()
        },
        key: None,
    };
    let stop_timeout = config.stop_timeout;
    let announce = Announce::new(config, torrent, tiers, &mut rng, now())
        .map_err(|e| format!("cannot announce: {e}"))?;
    let sockets = Sockets::any().map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    let mut driver = Driver::new(announce, sockets).map_err(|e| e.to_string())?;
    // Ctrl-C ends the announcing early; `stopped` still goes out below.
    let interrupter = driver.interrupter();
    ctrlc::set_handler(move || {
        common::interrupted();
        interrupter.interrupt();
    })
    .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;

    let trackers: Vec<_> = driver
        .announce
        .tiers()
        .flatten()
        .map(|id| {
            // Display, not `as_str`: a password in the URL shows as `xxxxx`.
            let url = driver
                .announce
                .tracker_url(id)
                .map_or("?".to_owned(), |u| u.to_string());
            (id, url)
        })
        .collect();
    let asked = Asked {
        completed: args.completed,
        scrape: args.scrape,
    };
    let mut reports = Reports::new(trackers, asked);
    if args.completed {
        driver.announce.completed(now());
    }
    if args.scrape {
        driver.announce.scrape(now());
    }

    // Announce until every tracker has answered (or failed) once, within the time left for it.
    let announce_until = started + args.timeout - stop_timeout;
    let ended = driver.run(announce_until, |driver, event| {
        record(driver, event, &mut reports);
        // The tracker lines come from the status snapshot, as a client's tracker tab draws them.
        reports.observe(driver.announce.trackers());
        if reports.settled() {
            Flow::Break
        } else {
            Flow::Continue
        }
    });
    // Whatever is still unanswered is reported as such (`stop` would only cancel it). The status
    // lines stay as the snapshot had them before `stop` (a `stopped` reply lists no peers).
    reports.observe(driver.announce.trackers());
    let no_answer = match ended {
        Ended::Interrupted => "no answer before Ctrl-C".to_owned(),
        _ => format!("no answer within --timeout {} s", args.timeout.as_secs()),
    };
    if ended == Ended::Interrupted {
        tell(format_args!(
            "Interrupted: sending stopped (Ctrl-C again does not cut it short)."
        ));
    }
    reports.finish(&no_answer);

    // Leave the swarm: one `stopped` to every tracker that got `started`. The machine ends every
    // `stopped` (answered or timed out) by its stop timeout; the margin lets that last timer fire.
    reports.stopping();
    let stop_until = now() + stop_timeout + Duration::from_millis(250);
    driver.stop(stop_until, |driver, event| {
        record(driver, event, &mut reports);
        Flow::Continue
    });
    reports.finish(&no_answer);
    print(
        args,
        &reports.iter().cloned().collect::<Vec<_>>(),
        args.target.is_none(),
    )
}

/// Records what the snapshot does not hold of one event (peer lists, the outcomes of
/// `completed`, the scrape and `stopped`), with the transport failure's text when there is one.
fn record(driver: &Driver, event: Event, reports: &mut Reports) {
    let detail = match &event {
        Event::Failed(f) => driver.transport_detail(f.id),
        _ => None,
    };
    reports.record(&event, detail);
}

/// The BEP 12 tiers: the target's (the URLs given after it on the command line are tiers of their
/// own, last). Unusable URLs of the magnet link or `.torrent` file are reported and skipped.
fn tracker_tiers(target: &Target) -> Result<Vec<Vec<TrackerUrl>>, String> {
    let tiers = target::usable_tiers(&target.tiers);
    if tiers.is_empty() {
        return Err("no usable tracker URL: give udp://, http:// or https:// tracker URLs after the info hash, or a magnet link with tr= parameters".to_owned());
    }
    Ok(tiers)
}

fn print(args: &Args, reports: &[TrackerReport], demo: bool) -> Result<bool, String> {
    if args.json {
        for r in reports {
            common::out::say(format_args!("{}", r.to_json()));
        }
    } else {
        let peers: BTreeSet<_> = reports.iter().flat_map(|r| &r.peers).collect();
        for peer in peers {
            common::out::say(format_args!("{peer}"));
        }
        for r in reports {
            tell(format_args!("{}", r.summary()));
        }
    }
    if demo {
        tell(format_args!(
            "\nThat was the embedded tracker. Point the example at a real torrent:\n  cargo run --example announce -- 'magnet:?xt=urn:btih:<hash>&tr=<tracker URL>'\n  cargo run --example announce -- path/to/file.torrent --scrape"
        ));
    }
    Ok(reports.iter().any(TrackerReport::ok))
}
