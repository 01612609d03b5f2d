//! The examples' command lines: the announce example's options, the event-loop examples' (mio,
//! tokio, game loop), and the rule every example follows: an argument that starts with `-` is an option, and one the example does not know is
//! an error (never a torrent or a tracker URL).

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use bt_tracker::PeerId;
use bt_tracker::limits::{MAX_NUM_WANT, MAX_TORRENTS};

use super::target::{self, Target};

/// The longest time a flag takes, in seconds: 365 days, the library's bound on every duration of
/// its `Config` (and far from overflowing an `Instant`).
pub const MAX_SECONDS: u64 = 365 * 24 * 3600;

/// Reads `value` as the whole number `flag` takes, in `range`. Every numeric flag of every example
/// goes through here, before anything starts: out of range is an error that names the flag and
/// the range (`why` says where the bound comes from), never a value clamped in silence.
pub fn number_in(
    flag: &str,
    value: &str,
    range: RangeInclusive<u64>,
    why: &str,
) -> Result<u64, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "{flag} takes a whole number from {} to {}{why}, not {value:?}",
                range.start(),
                range.end()
            )
        })
}

/// `Err` when option `arg` was given before: a second value would silently replace the first.
/// `--tracker` is the one option meant to be repeated. `given` holds the options seen so far.
fn once(arg: &str, given: &mut Vec<String>) -> Result<(), String> {
    if arg.starts_with('-') && arg != "-" && arg != "--tracker" {
        if given.iter().any(|g| g == arg) {
            return Err(format!("{arg} is given twice; give it once"));
        }
        given.push(arg.to_owned());
    }
    Ok(())
}

/// A flag's value in whole seconds, 1 to [`MAX_SECONDS`].
fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    let why = " (seconds, at most 365 days)";
    number_in(flag, value, 1..=MAX_SECONDS, why).map(Duration::from_secs)
}

/// The TCP port announced to peers, 1 to 65535 (0 tells peers nothing they can connect to).
fn port(value: &str) -> Result<u16, String> {
    number_in("--port", value, 1..=65_535, "").map(|p| p as u16)
}

/// The announce example's usage text.
pub const ANNOUNCE_USAGE: &str = "\
usage: cargo run --example announce -- [TARGET [TRACKER_URL ...]] [options]

TARGET is a magnet link, a .torrent file or a 40-hex info hash; the TRACKER_URLs after it
(udp://host:port, http://host/announce, https://host/announce) are its trackers too, each a tier
of its own (an info hash needs at least one).
Without TARGET, an embedded tracker on loopback is started and announced to (offline demo).

options:
  --port N          the TCP port announced to peers, 1 to 65535 (default 6881)
  --numwant N       peers wanted per tracker, 1 to 3639 (default 200; 3639 is what one UDP reply
                    holds over IPv6)
  --event E         started (default) or completed (announce as a seeder that just finished)
  --scrape          also scrape each tracker
  --timeout S       bound on the whole run in seconds, stopped announces included, 1 to 31536000
                    (365 days; default 30)
  --json            one JSON object per tracker on stdout instead of peers and summaries
  --peer-id ID      20 characters (default: -BT0100- and 12 random characters)
  --ca-file PATH    also trust the CA certificates of this PEM file for https:// trackers
  -h, --help        this text";

/// The announce example's arguments.
#[derive(Debug)]
pub struct AnnounceArgs {
    /// The torrent (a magnet link, `.torrent` file or info hash, with the tracker URLs given
    /// after it as tiers of their own, read by [`target::parse_targets`]); `None` for the offline
    /// demo.
    pub target: Option<Target>,
    /// The TCP port announced to peers.
    pub port: u16,
    /// Peers wanted per tracker.
    pub numwant: u32,
    /// Announce `completed` (as a seeder that just finished) instead of `started`.
    pub completed: bool,
    /// Also scrape each tracker.
    pub scrape: bool,
    /// Bound on the whole run, `stopped` announces included.
    pub timeout: Duration,
    /// One JSON object per tracker instead of peers and summaries.
    pub json: bool,
    /// The peer id; `None` for a random one.
    pub peer_id: Option<PeerId>,
    /// A PEM file of CAs trusted besides webpki's roots for `https://` trackers.
    pub ca_file: Option<PathBuf>,
}

/// Parses the announce example's arguments (without the program name). `Ok(None)` for `--help`.
pub fn parse_announce(args: impl Iterator<Item = String>) -> Result<Option<AnnounceArgs>, String> {
    let mut out = AnnounceArgs {
        target: None,
        port: 6881,
        numwant: 200,
        completed: false,
        scrape: false,
        timeout: Duration::from_secs(30),
        json: false,
        peer_id: None,
        ca_file: None,
    };
    let mut positional = Vec::new();
    let mut given = Vec::new();
    let mut args = args;
    while let Some(arg) = args.next() {
        once(&arg, &mut given)?;
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => out.port = port(&value("--port")?)?,
            "--numwant" => {
                let why = " (0 asks for no peers; one UDP reply holds at most 3639 IPv6 peers)";
                let range = 1..=u64::from(MAX_NUM_WANT);
                out.numwant = number_in("--numwant", &value("--numwant")?, range, why)? as u32;
            }
            "--event" => match value("--event")?.as_str() {
                "started" => out.completed = false,
                "completed" => out.completed = true,
                other => {
                    return Err(format!(
                        "--event takes started or completed, not {other:?} (stopped is always sent at exit)"
                    ));
                }
            },
            "--scrape" => out.scrape = true,
            "--timeout" => out.timeout = seconds("--timeout", &value("--timeout")?)?,
            "--json" => out.json = true,
            "--ca-file" => out.ca_file = Some(value("--ca-file")?.into()),
            "--peer-id" => {
                let v = value("--peer-id")?;
                let bytes: [u8; 20] = v.as_bytes().try_into().map_err(|_| {
                    format!(
                        "--peer-id takes exactly 20 characters, {v:?} has {}",
                        v.len()
                    )
                })?;
                out.peer_id = Some(PeerId(bytes));
            }
            _ => {
                check_not_an_option(&arg)?;
                positional.push(arg);
            }
        }
    }
    let mut targets = target::parse_targets(&positional)?;
    if targets.len() > 1 {
        return Err(format!(
            "announce takes one torrent and {} were given; the mio, tokio and game_loop examples \
             announce many",
            targets.len()
        ));
    }
    out.target = targets.pop();
    Ok(Some(out))
}

/// `Err` for an argument that is an option (`-v`, `--verbose`) the example does not know; `Ok` for
/// a torrent, a tracker URL, or a lone `-`. A file whose name starts with `-` is given as
/// `./-name`.
pub fn check_not_an_option(arg: &str) -> Result<(), String> {
    if arg.starts_with('-') && arg != "-" {
        return Err(format!(
            "unknown option {arg:?} (see the options below; a file whose name starts with - is \
             given as ./{arg})"
        ));
    }
    Ok(())
}

/// The event-loop examples' usage text (`example` is the name given to `--example`).
pub fn loop_usage(example: &str) -> String {
    format!(
        "\
usage: cargo run --example {example} -- [TARGET ...] [--torrents N] [--duration SECONDS] [--port N]
       [--tracker URL ...] [--until-answered] [--json] [--status SECONDS] [--ca-file PATH]

TARGET is a magnet link or a .torrent file (one torrent each), or a 40-hex info hash; tracker URLs
after a TARGET are its trackers too, each a tier of its own (a bare info hash needs some, or the
--tracker URLs). Without TARGET, N synthetic torrents (default 100, 1 to {MAX_TORRENTS}, the
most one client holds) announce to an embedded loopback tracker over UDP and HTTP, or to every
--tracker URL given (each in its own tier).
Runs --duration seconds (default 10; 1 to 31536000, 365 days) or until Ctrl-C, then sends
stopped and exits. --port N (1 to 65535, default 6881) is the TCP port announced to peers.
--until-answered stops as soon as every torrent's started is answered by each of its trackers.
--json prints the summary as one JSON object (times in seconds from start; the start-up benchmark
in benches/startup reads it).
--status SECONDS prints the first torrents' tracker tables that often (1 to 31536000), from the
client's status snapshot.
--ca-file PATH trusts the CA certificates of a PEM file for https:// trackers, besides webpki's
roots (a private tracker, or a test's own CA)."
    )
}

/// The event-loop examples' arguments.
#[derive(Debug, Clone)]
pub struct LoopArgs {
    /// The torrents of the command line (magnet links, `.torrent` files, info hashes, each with
    /// the tracker URLs given after it), read by [`target::parse_targets`].
    pub targets: Vec<Target>,
    /// How many synthetic torrents without targets.
    pub torrents: usize,
    /// How long to run before stopping.
    pub duration: Duration,
    /// The TCP port announced to peers.
    pub port: u16,
    /// How often to print the first torrents' tracker tables.
    pub status: Option<Duration>,
    /// Trackers of the synthetic torrents instead of the embedded one.
    pub trackers: Vec<String>,
    /// Stop once every torrent's `started` is answered by each of its trackers.
    pub until_answered: bool,
    /// The summary as one JSON object.
    pub json: bool,
    /// A PEM file of CAs trusted besides webpki's roots.
    pub ca_file: Option<PathBuf>,
}

/// Parses an event-loop example's arguments (without the program name). `Ok(None)` for `--help`.
pub fn parse_loop_args(args: impl Iterator<Item = String>) -> Result<Option<LoopArgs>, String> {
    let mut out = LoopArgs {
        targets: Vec::new(),
        torrents: 100,
        duration: Duration::from_secs(10),
        port: 6881,
        status: None,
        trackers: Vec::new(),
        until_answered: false,
        json: false,
        ca_file: None,
    };
    let mut positional = Vec::new();
    let mut given = Vec::new();
    let mut it = args;
    while let Some(arg) = it.next() {
        once(&arg, &mut given)?;
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--torrents" => {
                let why = " (the most one client holds)";
                let range = 1..=MAX_TORRENTS as u64;
                out.torrents = number_in("--torrents", &value("--torrents")?, range, why)? as usize;
            }
            "--duration" => out.duration = seconds("--duration", &value("--duration")?)?,
            "--status" => out.status = Some(seconds("--status", &value("--status")?)?),
            "--port" => out.port = port(&value("--port")?)?,
            "--tracker" => {
                let url = value("--tracker")?;
                super::target::tracker_url(&url)?;
                out.trackers.push(url);
            }
            "--until-answered" => out.until_answered = true,
            "--json" => out.json = true,
            "--ca-file" => out.ca_file = Some(value("--ca-file")?.into()),
            _ => {
                check_not_an_option(&arg)?;
                positional.push(arg);
            }
        }
    }
    out.targets = target::parse_targets(&positional)?;
    if !out.targets.is_empty() && given.iter().any(|g| g == "--torrents") {
        return Err(format!(
            "--torrents makes N synthetic torrents, and the command line also gives {}: give one \
             or the other",
            super::out::count(out.targets.len() as u64, "torrent")
        ));
    }
    Ok(Some(out))
}
