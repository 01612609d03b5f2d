//! The examples' command lines: the announce example's options, the event-loop examples' (mio,
//! tokio, game loop), and the rule every example follows: an argument that starts with `-` is an option, and one the example does not know is
//! an error (never a torrent or a tracker URL).

use std::path::PathBuf;
use std::time::Duration;

use bt_tracker::{PeerId, TrackerUrl};

use super::target;

/// The announce example's usage text.
pub const ANNOUNCE_USAGE: &str = "\
usage: cargo run --example announce -- [TARGET [TRACKER_URL ...]] [options]

TARGET is a magnet link, a .torrent file, or a 40-hex info hash followed by tracker URLs
(udp://host:port, http://host/announce, https://host/announce).
Without TARGET, an embedded tracker on loopback is started and announced to (offline demo).

options:
  --port N          the TCP port announced to peers (default 6881)
  --numwant N       peers wanted per tracker (default 200)
  --event E         started (default) or completed (announce as a seeder that just finished)
  --scrape          also scrape each tracker
  --timeout S       bound on the whole run in seconds, stopped announces included (default 30)
  --json            one JSON object per tracker on stdout instead of peers and summaries
  --peer-id ID      20 characters (default: -BT0100- and 12 random characters)
  --ca-file PATH    also trust the CA certificates of this PEM file for https:// trackers
  -h, --help        this text";

/// The announce example's arguments.
#[derive(Debug)]
pub struct AnnounceArgs {
    /// The magnet link, `.torrent` file or info hash; `None` for the offline demo.
    pub target: Option<String>,
    /// Tracker URLs given after the target, each a tier of its own.
    pub extra_trackers: Vec<TrackerUrl>,
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
        extra_trackers: Vec::new(),
        port: 6881,
        numwant: 200,
        completed: false,
        scrape: false,
        timeout: Duration::from_secs(30),
        json: false,
        peer_id: None,
        ca_file: None,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name} takes a whole number, not {v:?}"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                let v = value("--port")?;
                out.port = v
                    .parse()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| format!("--port takes 1 to 65535, not {v:?}"))?;
            }
            "--numwant" => out.numwant = number("--numwant", value("--numwant")?)?.min(1000) as u32,
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
            "--timeout" => {
                let secs = number("--timeout", value("--timeout")?)?;
                if secs == 0 {
                    return Err("--timeout must be at least 1 second".to_owned());
                }
                out.timeout = Duration::from_secs(secs);
            }
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
                if out.target.is_none() {
                    out.target = Some(arg);
                } else {
                    out.extra_trackers.push(target::tracker_url(&arg)?);
                }
            }
        }
    }
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

TARGET is a magnet link or a .torrent file (one torrent each), or a 40-hex info hash followed by
its tracker URLs (or given the --tracker URLs). Without TARGET, N synthetic torrents (default 100)
announce to an embedded loopback tracker over UDP and HTTP, or to every --tracker URL given (each
in its own tier).
Runs --duration seconds (default 10) or until Ctrl-C, then sends stopped and exits.
--until-answered stops as soon as every torrent's started is answered by each of its trackers.
--json prints the summary as one JSON object (times in seconds from start; the start-up benchmark
in benches/startup reads it).
--status SECONDS prints the first torrents' tracker tables that often, from the client's
status snapshot.
--ca-file PATH trusts the CA certificates of a PEM file for https:// trackers, besides webpki's
roots (a private tracker, or a test's own CA)."
    )
}

/// The event-loop examples' arguments.
#[derive(Debug, Clone)]
pub struct LoopArgs {
    /// Magnet links and `.torrent` files, one torrent each.
    pub targets: Vec<String>,
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
    let mut it = args;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("{name} takes a whole number, not {v:?}"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--torrents" => {
                out.torrents =
                    number("--torrents", value("--torrents")?)?.clamp(1, 100_000) as usize;
            }
            "--duration" => {
                out.duration = Duration::from_secs(number("--duration", value("--duration")?)?);
            }
            "--status" => {
                let every = number("--status", value("--status")?)?.max(1);
                out.status = Some(Duration::from_secs(every));
            }
            "--port" => {
                out.port = u16::try_from(number("--port", value("--port")?)?)
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or("--port takes 1 to 65535")?;
            }
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
                out.targets.push(arg);
            }
        }
    }
    Ok(Some(out))
}
