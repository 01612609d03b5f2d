//! Deterministic simulation testing with `bt_tracker::sim`: one `Announce` against two simulated
//! trackers over a lossy, reordering network, 1,000 seeds, each checked; a failing seed prints the
//! one command that replays it.
//!
//! ```text
//! cargo run --example simulate                     # 1,000 seeds: every property holds
//! cargo run --example simulate -- --seeds 20000    # more seeds
//! cargo run --example simulate -- --strict         # a stricter property: some seeds fail
//! cargo run --example simulate -- --strict --seed 3   # replay one seed, with its trace
//! ```
//!
//! Each seed draws a small scenario: a UDP tracker in the first tier (honest, silent, rotating its
//! connection ids, or expiring them after 10 s), an HTTP tracker in the second (honest, or failing
//! with `retry in`), 0 to 40 % loss with duplication and jitter, and a run of 10 minutes to 2
//! hours ending in `stop`. The properties checked on every seed:
//! - some tracker gives peers before the stop (a failing HTTP tracker is only drawn behind a UDP
//!   tracker that answers);
//! - every peer list is exactly the peers of the tracker it is reported from;
//! - `Stopped` comes within the machine's stop timeout of `stop`, and nothing is sent after it.
//!
//! `--strict` adds a property the machine does not promise, to show what a failure looks like:
//! peers within 20 s of the start (a lost datagram is resent after 15 s, a silent first tier
//! takes longer to give up on).
//!
//! The exit status is 1 when a seed fails.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Announce, Config, Event, Progress, TierMode, Torrent};
use bt_tracker::http::RetryIn;
use bt_tracker::sim::{Delivery, Link, World, chance, upto};
use bt_tracker::tracker::{Behaviour, ConnectionIds, Tracker, TrackerConfig};
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

const USAGE: &str = "usage: simulate [--seeds N | --seed N] [--strict]";

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Args {
    /// Seeds 0 to `seeds - 1`, or the one seed to replay.
    pub seeds: u64,
    pub one: Option<u64>,
    pub strict: bool,
}

/// Reads `--seeds N` (at least 1), `--seed N` and `--strict`; `Err` holding exactly [`USAGE`]
/// for `--help` (printed on stdout, exit 0), any other `Err` a bad argument (exit 2): a flag given
/// twice, or `--seeds` with `--seed`, is refused rather than one of them ignored.
pub fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        seeds: 1000,
        one: None,
        strict: false,
    };
    let mut given: Vec<String> = Vec::new();
    while let Some(arg) = args.next() {
        if given.contains(&arg) {
            return Err(format!("{arg} is given twice; give it once"));
        }
        let mut number = |name: &str| {
            let value = args.next().ok_or(format!("{name} needs a number"))?;
            value
                .parse::<u64>()
                .map_err(|_| format!("{name} takes a whole number, not {value:?}"))
        };
        match arg.as_str() {
            "--seeds" => {
                out.seeds = number("--seeds")?;
                if out.seeds == 0 {
                    return Err(format!(
                        "--seeds takes a whole number from 1 to {}, not \"0\" (0 seeds checks nothing)",
                        u64::MAX
                    ));
                }
            }
            "--seed" => out.one = Some(number("--seed")?),
            "--strict" => out.strict = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
        given.push(arg);
    }
    if given.iter().any(|a| a == "--seeds") && out.one.is_some() {
        return Err(format!(
            "--seeds runs many seeds and --seed replays one: give one of them; {USAGE}"
        ));
    }
    Ok(out)
}

/// The command that replays `seed` with the same checks.
pub fn replay_command(seed: u64, strict: bool) -> String {
    let strict = if strict { " --strict" } else { "" };
    format!("cargo run --example simulate --{strict} --seed {seed}")
}

/// A run's outcome: the trace (one line per event) and the first property it broke.
#[derive(Debug)]
pub struct Run {
    pub trace: Vec<String>,
    pub failure: Option<String>,
}

const ME: &str = "10.9.9.9:6881";
const UDP_TRACKER: &str = "10.0.0.1:6969";
const HTTP_TRACKER: &str = "10.0.0.2:80";

/// The peers tracker `k` hands out: its own, so a peer list says where it came from.
fn peers_of(k: u8) -> Vec<SocketAddr> {
    (1..=3)
        .map(|i| SocketAddr::from(([11, k, 0, i], 6881)))
        .collect()
}

/// Runs one seed and checks it.
pub fn run_seed(seed: u64, strict: bool, origin: Instant) -> Run {
    // The scenario, drawn from the seed.
    let mut draw = ChaCha8Rng::seed_from_u64(seed);
    let link = Link {
        loss: [0.0, 0.1, 0.2, 0.4][(draw.next_u32() % 4) as usize],
        duplicate: 0.05 * chance(&mut draw),
        delay: Duration::from_millis(5 + draw.next_u64() % 150),
        jitter: upto(&mut draw, Duration::from_millis(200)),
    };
    let run_for = Duration::from_secs(600 + draw.next_u64() % 6600);
    let mut udp = Behaviour::honest();
    let mut udp_config = TrackerConfig::default();
    match draw.next_u32() % 4 {
        0 => {}
        1 => udp.silent = true,
        2 => udp.connection_ids = ConnectionIds::Rotating,
        _ => udp_config.connection_id_lifetime = Duration::from_secs(10),
    }
    // A failing HTTP tracker only behind a UDP tracker that answers: one of them gives peers.
    let http = if draw.next_u32() % 3 == 0 && !udp.silent {
        Behaviour::failing(&b"torrent not registered"[..], Some(RetryIn::Minutes(5)))
    } else {
        Behaviour::honest()
    };

    // The world: two trackers on a lossy network, everything seeded.
    let mut world = World::new(seed, link);
    let udp_addr: SocketAddr = UDP_TRACKER.parse().unwrap_or(SocketAddr::from(([0; 4], 0)));
    let http_addr: SocketAddr = HTTP_TRACKER.parse().unwrap_or(udp_addr);
    let mut trackers = Vec::new();
    for (k, (addr, behaviour, mut config)) in [
        (udp_addr, udp, udp_config),
        (http_addr, http, TrackerConfig::default()),
    ]
    .into_iter()
    .enumerate()
    {
        config.extra_peers = peers_of(k as u8 + 1);
        trackers.push(config.extra_peers.clone());
        let tracker = Tracker::new(config, behaviour, world.rng(), origin);
        world.add_tracker(addr, tracker);
    }
    let me: SocketAddr = ME.parse().unwrap_or(udp_addr);
    let tiers = [
        format!("udp://{UDP_TRACKER}/announce"),
        format!("http://{HTTP_TRACKER}/announce"),
    ]
    .iter()
    .map(|u| TrackerUrl::parse(u).map(|u| vec![u]))
    .collect::<Result<Vec<_>, _>>();
    let torrent = Torrent {
        info_hash: InfoHash([0xab; 20]),
        peer_id: PeerId(*b"-XX0001-simulation00"),
        port: 6881,
        progress: Progress {
            left: 1 << 20,
            ..Progress::default()
        },
        key: None,
    };
    let mut config = Config::default();
    config.tier_mode = TierMode::OneTracker;
    let stop_timeout = config.stop_timeout;
    let announce = tiers.map_err(|e| e.to_string()).and_then(|tiers| {
        Announce::new(config, torrent, tiers, &mut draw, origin).map_err(|e| e.to_string())
    });
    let mut announce = match announce {
        Ok(a) => a,
        Err(e) => {
            return Run {
                trace: Vec::new(),
                failure: Some(format!("the scenario does not build: {e}")),
            };
        }
    };

    // The loop: drain, check, jump to the next thing that happens, deliver, fire the timer.
    let stop_at = origin + run_for;
    let (mut now, mut buf) = (origin, Vec::new());
    let mut run = Run {
        trace: vec![format!(
            "seed {seed}: {link:?}, UDP tracker {:?}, HTTP tracker {}, stop at {run_for:?}",
            udp_kind(world.tracker(udp_addr)),
            if world
                .tracker(http_addr)
                .is_some_and(|t| t.behaviour().failure.is_some())
            {
                "failing"
            } else {
                "honest"
            },
        )],
        failure: None,
    };
    let (mut first_peers, mut stopped, mut stop_called) = (None, None, None);
    let fail = |run: &mut Run, why: String| {
        if run.failure.is_none() {
            run.failure = Some(why);
        }
    };
    for _ in 0..1_000_000 {
        let at = now - origin;
        while let Some(t) = announce.poll_transmit(&mut buf) {
            if stopped.is_some() {
                fail(
                    &mut run,
                    format!("a datagram went out at {at:?}, after Stopped"),
                );
            }
            world.send_datagram(now, me, t.destination, &buf[..t.len]);
        }
        while let Some(request) = announce.poll_http_request() {
            world.send_http(now, me, &request);
        }
        while let Some(event) = announce.poll_event() {
            match &event {
                Event::Announced(a) => {
                    let k = usize::from(a.tracker.0);
                    let mut want = trackers.get(k).cloned().unwrap_or_default();
                    want.sort();
                    if a.peers != want && !a.peers.is_empty() {
                        fail(&mut run, format!("tracker {k} reported {:?}", a.peers));
                    }
                    if !a.peers.is_empty() && first_peers.is_none() {
                        first_peers = Some(at);
                    }
                    let n = a.peers.len();
                    let noun = if n == 1 { "peer" } else { "peers" };
                    run.trace
                        .push(format!("{at:>12.3?} {n} {noun} from tracker {k}"));
                }
                Event::Stopped => {
                    stopped = Some(at);
                    run.trace.push(format!("{at:>12.3?} Stopped"));
                }
                other => run.trace.push(format!("{at:>12.3?} {other:?}")),
            }
        }
        if stopped.is_some() && world.is_idle() {
            break;
        }
        if now >= stop_at && stop_called.is_none() {
            announce.stop(now);
            stop_called = Some(at);
            run.trace.push(format!("{at:>12.3?} stop()"));
            continue;
        }
        let stop = stop_called.is_none().then_some(stop_at);
        let next = [announce.poll_timeout(), world.next_time(), stop]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { break };
        now = now.max(next);
        // Timers before late inputs (see `Announce`): a deadline due now fires before what
        // arrives now, so a reply on its request's deadline is late on every seed.
        if announce.poll_timeout().is_some_and(|t| t <= now) {
            announce.handle_timeout(now);
        }
        while let Some(delivery) = world.poll_delivery(now) {
            match delivery {
                Delivery::Datagram(d) => {
                    announce.handle_datagram(now, d.from, &d.bytes);
                }
                Delivery::Http {
                    request,
                    answer: Ok(a),
                } => {
                    announce.handle_http_response(now, request, &a.response());
                }
                Delivery::Http {
                    request,
                    answer: Err(e),
                } => {
                    announce.handle_transport_error(now, request, e);
                }
            }
        }
    }

    // The properties.
    match (stop_called, stopped) {
        (Some(called), Some(done)) if done > called + stop_timeout => fail(
            &mut run,
            format!(
                "Stopped came {:?} after stop(), past the {stop_timeout:?} stop timeout",
                done - called
            ),
        ),
        (_, None) => fail(&mut run, "no Stopped event: the run did not end".into()),
        _ => {}
    }
    match first_peers {
        None => fail(&mut run, "no tracker gave peers before the stop".into()),
        Some(at) if strict && at > Duration::from_secs(20) => fail(
            &mut run,
            format!("--strict: the first peers came at {at:?}, not within 20 s"),
        ),
        _ => {}
    }
    run
}

fn udp_kind(tracker: Option<&Tracker>) -> &'static str {
    match tracker {
        Some(t) if t.behaviour().silent => "silent",
        Some(t) if t.behaviour().connection_ids == ConnectionIds::Rotating => "rotating ids",
        Some(t) if t.config().connection_id_lifetime < Duration::from_secs(120) => "expiring ids",
        _ => "honest",
    }
}

/// Failing seeds printed; the rest are counted.
const SHOWN: u64 = 10;

/// One line to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e == USAGE => {
            say(USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A closed stderr must not turn a usage error into a panic.
            let _ = writeln!(std::io::stderr().lock(), "error: {e}");
            return ExitCode::from(2);
        }
    };
    // Virtual time needs an origin; any instant will do, and nothing waits.
    #[allow(clippy::disallowed_methods)]
    let origin = Instant::now();
    if let Some(seed) = args.one {
        let run = run_seed(seed, args.strict, origin);
        for line in &run.trace {
            say(line);
        }
        return match run.failure {
            Some(why) => {
                say(&format!("seed {seed} FAILED: {why}"));
                ExitCode::FAILURE
            }
            None => {
                say(&format!("seed {seed} passed"));
                ExitCode::SUCCESS
            }
        };
    }
    let mut failed = 0u64;
    for seed in 0..args.seeds {
        if let Some(why) = run_seed(seed, args.strict, origin).failure {
            failed += 1;
            if failed <= SHOWN {
                let replay = replay_command(seed, args.strict);
                say(&format!("seed {seed} failed: {why}; replay: {replay}"));
            }
        }
    }
    let more = failed.saturating_sub(SHOWN);
    let more = if more > 0 {
        format!(" ({more} not shown)")
    } else {
        String::new()
    };
    say(&format!("{} seeds, {failed} failed{more}", args.seeds));
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
