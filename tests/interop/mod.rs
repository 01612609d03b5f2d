//! Real trackers on loopback for the interop tests: start, wait until they answer, stop by process
//! id. The machine is driven through the examples' blocking glue, over real sockets.
//!
//! A tracker that is not installed makes its tests say so and pass as skipped, unless `CI=true`,
//! where it is a failure (`.ci/run` installs both).
#![allow(dead_code)] // each test file uses part of it

#[path = "../../examples/common/mod.rs"]
pub mod glue;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bt_tracker::announce::{
    Announce, Announced, Cause, Config, Event, Failed, Progress, Scraped, TierMode, Torrent,
};
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

use glue::driver::{Driver, Ended, Flow, Sockets};
use glue::now;

/// How long any one step may take before the test fails.
const STEP: Duration = Duration::from_secs(20);

/// Returns `None` (skip) when `program` is missing, with a note; panics instead under `CI=true`.
pub fn installed(program: &str, how: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        skip_or_fail(&format!("{program} is not installed ({how})"));
    }
    found
}

/// Skips with a note, or fails when `CI=true`.
pub fn skip_or_fail(why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why}; CI=true requires every interop tracker");
    }
    eprintln!("SKIPPED: {why}");
}

/// A tracker process, killed by process id when dropped.
#[derive(Debug)]
pub struct Process {
    child: Child,
    dir: Option<PathBuf>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A loopback port free for both TCP and UDP right now.
fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a loopback TCP port");
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port is free for both TCP and UDP");
}

/// Waits (bounded) until a TCP connect to `addr` succeeds.
fn wait_for_tcp(addr: SocketAddr, child: &mut Child) {
    let until = now() + Duration::from_secs(10);
    while now() < until {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the tracker exited before listening on {addr}: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the tracker did not listen on {addr} within 10 s");
}

/// opentracker from Debian, on one loopback port for HTTP and UDP, serving `whitelist` only.
#[derive(Debug)]
pub struct Opentracker {
    pub port: u16,
    _process: Process,
}

impl Opentracker {
    pub fn start(whitelist: &[InfoHash]) -> Option<Self> {
        if !installed("opentracker", "apt-get install opentracker") {
            return None;
        }
        static RUN: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bt-tracker-opentracker-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the tracker's directory");
        let list: String = whitelist.iter().map(|h| format!("{h}\n")).collect();
        std::fs::write(dir.join("whitelist.txt"), list).expect("write the whitelist");
        // As root, opentracker chroots into the directory and drops to `nobody`.
        set_mode(&dir, 0o755);
        set_mode(&dir.join("whitelist.txt"), 0o644);
        let port = free_port();
        let mut child = Command::new("opentracker")
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-P",
                &port.to_string(),
            ])
            .arg("-d")
            .arg(&dir)
            .args(["-w", "whitelist.txt"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start opentracker");
        wait_for_tcp(SocketAddr::from(([127, 0, 0, 1], port)), &mut child);
        if let Some(hash) = whitelist.first() {
            wait_for_whitelist(port, hash);
        }
        Some(Opentracker {
            port,
            _process: Process {
                child,
                dir: Some(dir),
            },
        })
    }
}

/// opentracker reads its whitelist on a thread of its own after it starts listening: wait (bounded)
/// until `hash` is served. A `stopped` from an unknown peer adds nothing to the swarm.
fn wait_for_whitelist(port: u16, hash: &InfoHash) {
    let url = format!(
        "http://127.0.0.1:{port}/announce?info_hash={}&peer_id=-BT0100-whitelist-00&port=1&uploaded=0&downloaded=0&left=0&compact=1&event=stopped",
        bt_tracker::http::percent_encode(&hash.0)
    );
    let until = now() + Duration::from_secs(10);
    while now() < until {
        if let Ok(response) = glue::http::get(&url, now() + Duration::from_secs(2))
            && !response.body.windows(14).any(|w| w == b"failure reason")
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("opentracker did not serve its whitelist within 10 s");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// webtorrent's `bittorrent-tracker` from npm (pinned in `tests/interop/webtorrent`), on `127.0.0.1`
/// and `::1`.
#[derive(Debug)]
pub struct Webtorrent {
    pub http: u16,
    pub http6: u16,
    pub udp: u16,
    pub udp6: u16,
    _process: Process,
}

impl Webtorrent {
    pub fn start() -> Option<Self> {
        if !installed("node", "apt-get install nodejs") {
            return None;
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/webtorrent");
        if !dir.join("node_modules/bittorrent-tracker").is_dir() {
            skip_or_fail(&format!(
                "bittorrent-tracker is not installed (run `npm ci --ignore-scripts` in {})",
                dir.display()
            ));
            return None;
        }
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node");
        // The script prints its ports as one JSON line once every socket listens.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let process = Process { child, dir: None };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("bittorrent-tracker did not report its ports within 20 s");
        let ports: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bittorrent-tracker printed {line:?}, not its ports: {e}"));
        let port = |name: &str| {
            ports[name]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap()
        };
        Some(Webtorrent {
            http: port("http"),
            http6: port("http6"),
            udp: port("udp"),
            udp6: port("udp6"),
            _process: process,
        })
    }
}

/// A distinct info hash per test, so that swarms of different tests never mix.
pub fn info_hash(tag: &str) -> InfoHash {
    let mut hash = [b'.'; 20];
    for (slot, byte) in hash.iter_mut().zip(tag.bytes()) {
        *slot = byte;
    }
    InfoHash(hash)
}

/// One peer of the tests: a machine for one tracker URL, on loopback sockets.
pub struct Peer {
    pub port: u16,
    pub driver: Driver,
}

impl Peer {
    /// A peer with this number (peer id and port derive from it); `left == 0` makes a seeder.
    pub fn new(url: &str, hash: InfoHash, n: u16, left: u64) -> Self {
        let mut config = Config::default();
        config.tier_mode = TierMode::AllTrackers;
        config.num_want = 50;
        let mut peer_id = *b"-BT0100-interop-0000";
        peer_id[16..].copy_from_slice(format!("{n:04}").as_bytes());
        let port = 40_000 + n;
        let torrent = Torrent {
            info_hash: hash,
            peer_id: PeerId(peer_id),
            port,
            progress: Progress {
                left,
                ..Progress::default()
            },
            key: None,
        };
        let url = TrackerUrl::parse(url).expect("a valid tracker URL");
        // A seeded generator: the runs are reproducible (production code uses an OS-seeded one).
        let mut rng = ChaCha12Rng::seed_from_u64(u64::from(n));
        let announce = Announce::new(config, torrent, vec![vec![url]], &mut rng, now())
            .expect("a valid announce");
        let driver = Driver::new(announce, Sockets::loopback().expect("loopback sockets"))
            .expect("start the driver");
        Peer { port, driver }
    }

    /// The peer as other peers see it.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Drives until the next announce ends, and returns how.
    pub fn next_announce(&mut self) -> Result<Announced, Failed> {
        let mut outcome = None;
        let ended = self.driver.run(now() + STEP, |_, event| match event {
            Event::Announced(a) => {
                outcome = Some(Ok(a));
                Flow::Break
            }
            Event::Failed(f) if f.request != bt_tracker::announce::RequestKind::Scrape => {
                outcome = Some(Err(f));
                Flow::Break
            }
            _ => Flow::Continue,
        });
        outcome.unwrap_or_else(|| panic!("no announce outcome within {STEP:?} ({ended:?})"))
    }

    /// Drives until the first announce succeeds; panics with the cause otherwise.
    pub fn announced(&mut self) -> Announced {
        self.next_announce()
            .unwrap_or_else(|f| panic!("the announce failed: {}", f.cause))
    }

    /// Scrapes and drives until the scrape ends.
    pub fn scrape(&mut self) -> Result<Scraped, Cause> {
        self.driver.announce.scrape(now());
        let mut outcome = None;
        self.driver.run(now() + STEP, |_, event| match event {
            Event::Scraped(s) => {
                outcome = Some(Ok(s));
                Flow::Break
            }
            Event::Failed(f) if f.request == bt_tracker::announce::RequestKind::Scrape => {
                outcome = Some(Err(f.cause));
                Flow::Break
            }
            _ => Flow::Continue,
        });
        outcome.expect("no scrape outcome within the step bound")
    }

    /// Sends `stopped` and drives until the machine is done; true when the tracker acknowledged.
    pub fn stop(&mut self) -> bool {
        let mut acknowledged = false;
        let ended = self.driver.stop(now() + STEP, |_, event| {
            if let Event::Announced(a) = &event {
                acknowledged |= a.event == bt_tracker::AnnounceEvent::Stopped;
            }
            Flow::Continue
        });
        assert_eq!(ended, Ended::Stopped, "stop() must end with Event::Stopped");
        acknowledged
    }
}

/// Sorted addresses.
pub fn sorted(mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addrs.sort();
    addrs
}

/// The scenario both trackers go through on one announce URL: three peers (one seeder) join,
/// a fourth sees exactly them, a scrape counts them, one leaves with `stopped` and a fifth no
/// longer sees it. Returns the observer's announce for tracker-specific checks.
pub fn swarm_scenario(url: &str, hash: InfoHash) -> Announced {
    let mut seeded: Vec<Peer> = (1..=3)
        .map(|n| Peer::new(url, hash, n, if n == 1 { 0 } else { 1000 }))
        .collect();
    for peer in &mut seeded {
        peer.announced();
    }
    let mut observer = Peer::new(url, hash, 10, 1000);
    let seen = observer.announced();
    let want = sorted(seeded.iter().map(Peer::addr).collect());
    assert_eq!(
        seen.peers, want,
        "{url}: the observer must get exactly the seeded peers, itself left out"
    );
    assert_eq!(seen.seeders, Some(1), "{url}: one seeder");
    assert_eq!(
        seen.leechers,
        Some(3),
        "{url}: three leechers with the observer"
    );

    let scraped = observer
        .scrape()
        .unwrap_or_else(|c| panic!("{url}: scrape failed: {c}"));
    assert_eq!(
        (scraped.seeders, scraped.leechers),
        (Some(1), Some(3)),
        "{url}: scrape counts"
    );

    assert!(
        seeded[1].stop(),
        "{url}: the tracker must acknowledge stopped"
    );
    let gone = seeded[1].addr();
    let mut late = Peer::new(url, hash, 11, 1000);
    let seen_late = late.announced();
    let mut want_late: Vec<SocketAddr> = seeded
        .iter()
        .map(Peer::addr)
        .filter(|a| *a != gone)
        .collect();
    want_late.push(observer.addr());
    assert_eq!(
        seen_late.peers,
        sorted(want_late),
        "{url}: a peer that sent stopped must be gone"
    );

    for peer in seeded.iter_mut().chain([&mut observer, &mut late]) {
        if !peer.driver.announce.is_stopped() {
            peer.stop();
        }
    }
    seen
}

/// BEP 41: a UDP announce URL with a path and query (sent as URL data) is accepted, and the swarm
/// behind it is the torrent's.
pub fn bep41_scenario(url: &str, hash: InfoHash) {
    let mut seeder = Peer::new(url, hash, 1, 0);
    seeder.announced();
    let mut peer = Peer::new(url, hash, 2, 1000);
    assert_eq!(peer.announced().peers, vec![seeder.addr()], "{url}");
    assert!(peer.stop() && seeder.stop());
}
