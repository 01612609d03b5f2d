//! The instruction-count probe behind the README's round-trip table (not a test, not timed): N
//! re-announce rounds of `benches/announce_round_trip.rs`, each kind in its own function that
//! callgrind can count alone, so the figure is deterministic where the bench's timings on a shared
//! machine are not.
//!
//! ```text
//! cargo build --release --example round_trip_probe
//! valgrind --tool=callgrind --toggle-collect='*run_rounds*' \
//!     target/release/examples/round_trip_probe client1000 2000
//! ```
//!
//! MODE is `announce` (an `Announce`) or `clientN` (a `Client`'s one active torrent among N idle
//! ones). 100 warm-up rounds run first, so callgrind's total divided by ROUNDS + 100 is the count
//! per round.

#[path = "../common/announce.rs"]
mod announce;
#[path = "../common/client.rs"]
mod client;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use announce::{INTERVAL, reply_template, round, warmed_up};
use bt_tracker::announce::Announce;
use bt_tracker::client::Client;

const USAGE: &str = "usage: round_trip_probe MODE ROUNDS  (MODE: announce or clientN, N idle torrents 0 to 1000000; ROUNDS 1 to 100000000)";
const WARM_UP: u64 = 100;

#[inline(never)]
fn run_rounds_announce(a: &mut Announce, mut now: Instant, n: u64, reply: &mut [u8]) -> usize {
    let mut buf = Vec::new();
    let mut peers = 0;
    for _ in 0..n {
        now += Duration::from_secs(u64::from(INTERVAL));
        peers += round(a, now, reply, &mut buf);
    }
    peers
}

#[inline(never)]
fn run_rounds_client(c: &mut Client, mut now: Instant, n: u64, reply: &mut [u8]) -> usize {
    let mut buf = Vec::new();
    let mut peers = 0;
    for _ in 0..n {
        now += Duration::from_secs(1);
        peers += black_box(client::round(c, now, reply, &mut buf));
    }
    peers
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [mode, rounds] => rounds
            .parse::<u64>()
            .ok()
            .filter(|r| (1..=100_000_000).contains(r))
            .map(|r| (mode.as_str(), r)),
        _ => None,
    };
    let Some((mode, rounds)) = parsed else {
        eprintln!("error: {USAGE}");
        return ExitCode::from(2);
    };
    // An origin for virtual time; nothing is timed.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let mut reply = reply_template();
    let peers = if mode == "announce" {
        let mut a = warmed_up(start);
        let warm = run_rounds_announce(&mut a, start, WARM_UP, &mut reply);
        let later = start + Duration::from_secs(u64::from(INTERVAL) * WARM_UP);
        warm + run_rounds_announce(&mut a, later, rounds, &mut reply)
    } else {
        let idle = mode
            .strip_prefix("client")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n <= 1_000_000);
        let Some(idle) = idle else {
            eprintln!("error: {mode:?} is not a mode; {USAGE}");
            return ExitCode::from(2);
        };
        let config = client::round_config();
        let (mut c, now) = client::idle_client(idle, config, start, 365 * 24 * 3600);
        reply[8..12].copy_from_slice(&1u32.to_be_bytes()); // interval 1 s
        client::add_active(&mut c, now, &mut reply);
        let warm = run_rounds_client(&mut c, now, WARM_UP, &mut reply);
        let later = now + Duration::from_secs(WARM_UP);
        warm + run_rounds_client(&mut c, later, rounds, &mut reply)
    };
    black_box(peers);
    ExitCode::SUCCESS
}
