//! Real trackers on loopback for the interop tests: start, wait until they answer, stop by process
//! id. The scenarios drive the machine through the test peers of `tests/net/`, over real sockets.
//!
//! A tracker that is not installed makes its tests say so and pass as skipped, unless `CI=true`,
//! where it is a failure (`.ci/run` installs both).
#![allow(dead_code)] // each test file uses part of it

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bt_tracker::InfoHash;
use bt_tracker::announce::Announced;

use crate::net::glue::{self, now};
use crate::net::{Peer, sorted};

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
        if let Ok(response) = glue::http::fetch(&url, now() + Duration::from_secs(2), true)
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
