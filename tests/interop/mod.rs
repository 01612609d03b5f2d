//! Real trackers on loopback for the interop tests: start, wait until they answer, stop by process
//! id. The scenarios drive the machine through the test peers of `tests/net/`, over real sockets.
//!
//! A test whose tracker is not installed is reported as ignored, with the reason, by the tests'
//! own harness ([`harness`]), and fails under `CI=true` (`.ci/run` installs both trackers).
#![allow(dead_code)] // each test file uses part of it

pub mod harness;
pub mod sockets;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bt_tracker::InfoHash;
use bt_tracker::announce::Announced;

use crate::net::glue::{self, now};
use crate::net::{Peer, sorted};
use sockets::Proto;

/// What the opentracker tests miss: `None` when `opentracker` is installed.
pub fn opentracker_missing() -> Option<String> {
    harness::missing_program("opentracker", "apt-get install opentracker")
}

/// What the bittorrent-tracker tests miss: `None` when `node` and the pinned
/// `bittorrent-tracker` (in `tests/interop/webtorrent/node_modules`) are installed.
pub fn webtorrent_missing() -> Option<String> {
    harness::missing_program("node", "apt-get install nodejs npm").or_else(|| {
        let installed = webtorrent_dir().join("node_modules/bittorrent-tracker");
        (!installed.is_dir()).then(|| {
            "bittorrent-tracker is not installed: npm ci --ignore-scripts in tests/interop/webtorrent"
                .to_owned()
        })
    })
}

fn webtorrent_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/webtorrent")
}

/// A tracker process, killed by process id when dropped.
#[derive(Debug)]
pub struct Process {
    child: Child,
    dir: Option<PathBuf>,
}

impl Process {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err` with its exit status once the process has exited.
    pub fn check_running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("pid {} exited: {status}", self.pid())),
            Err(e) => Err(format!("cannot check on pid {}: {e}", self.pid())),
        }
    }

    /// Waits (bounded) until the process has bound a listening TCP socket and a UDP socket on
    /// `ip`, and returns their ports.
    fn wait_for_ports(&mut self, ip: IpAddr) -> Result<(u16, u16), String> {
        let until = now() + Duration::from_secs(10);
        loop {
            self.check_running()?;
            let port = |proto| {
                sockets::sockets_of(self.pid(), proto)
                    .ok()?
                    .iter()
                    .find(|b| b.addr.ip() == ip)
                    .map(|b| b.addr.port())
            };
            if let (Some(tcp), Some(udp)) = (port(Proto::Tcp), port(Proto::Udp)) {
                return Ok((tcp, udp));
            }
            if now() >= until {
                return Err(format!(
                    "pid {} bound no TCP and UDP sockets on {ip} within 10 s",
                    self.pid()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process is still running and is the only one bound to `sockets`: what answers there is
    /// this process.
    pub fn check_sole_owner(&mut self, sockets: &[(Proto, SocketAddr)]) -> Result<(), String> {
        self.check_running()?;
        sockets::check_sole_owner(self.pid(), sockets)
    }
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

/// Start-up attempts before a tracker that will not start cleanly fails the test.
const ATTEMPTS: usize = 3;

/// Runs `attempt` until it gives a tracker, at most [`ATTEMPTS`] times; returns it with the reasons
/// the earlier attempts failed. Each failed attempt has stopped its process (by dropping it).
fn start_with_retries<T>(
    what: &str,
    mut attempt: impl FnMut() -> Result<T, String>,
) -> (T, Vec<String>) {
    let mut failures = Vec::new();
    for n in 1..=ATTEMPTS {
        match attempt() {
            Ok(tracker) => {
                if !failures.is_empty() {
                    eprintln!("{what} started on attempt {n} ({})", failures.join("; "));
                }
                return (tracker, failures);
            }
            Err(why) => failures.push(format!("attempt {n}: {why}")),
        }
    }
    panic!(
        "{what} did not start as the only process on its ports in {ATTEMPTS} attempts: {}",
        failures.join("; ")
    );
}

/// A per-start info hash that only this start's opentracker has in its whitelist: an answer that
/// serves it comes from a tracker that read our whitelist.
fn probe_hash() -> InfoHash {
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    let mut hash = *b"bt-tracker probe....";
    hash[12..16].copy_from_slice(&std::process::id().to_be_bytes());
    let n = STARTS.fetch_add(1, Ordering::Relaxed) as u32;
    hash[16..].copy_from_slice(&n.to_be_bytes());
    InfoHash(hash)
}

/// opentracker from Debian on loopback, serving a whitelist only: HTTP on one port, UDP on another.
///
/// The ports are the kernel's: opentracker binds port 0 and the test reads what it got from
/// `/proc`, so no port is picked by one process and bound by another (two test runs at once once
/// picked the same "free" port, and as opentracker sets `SO_REUSEPORT` both trackers started on
/// it). The start is checked: the child answers for its own whitelist, is still running, and is the
/// only process bound to its ports; otherwise it is stopped and started again.
#[derive(Debug)]
pub struct Opentracker {
    /// The HTTP port on 127.0.0.1.
    pub http: u16,
    /// The UDP port on 127.0.0.1.
    pub udp: u16,
    /// Why earlier start-up attempts were given up.
    pub restarts: Vec<String>,
    process: Process,
}

impl Opentracker {
    /// Starts it (the harness has checked that it is installed), serving `whitelist`.
    pub fn start(whitelist: &[InfoHash]) -> Self {
        Self::start_checked(whitelist, |_| {})
    }

    /// [`start`](Self::start) with `before_check` run on each attempt once its tracker answers,
    /// before it is checked (a test starts an intruder there).
    pub fn start_checked(
        whitelist: &[InfoHash],
        mut before_check: impl FnMut(&Opentracker),
    ) -> Self {
        let (mut tracker, restarts) = start_with_retries("opentracker", || {
            let probe = probe_hash();
            let list: Vec<InfoHash> = whitelist.iter().copied().chain([probe]).collect();
            let (mut process, http, udp) = spawn_opentracker(&list, 0, 0)?;
            wait_for_whitelist(&mut process, http, &probe)?;
            let mut tracker = Opentracker {
                http,
                udp,
                restarts: Vec::new(),
                process,
            };
            before_check(&tracker);
            let [http, udp] = [http, udp].map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, p)));
            tracker
                .process
                .check_sole_owner(&[(Proto::Tcp, http), (Proto::Udp, udp)])?;
            Ok(tracker)
        });
        tracker.restarts = restarts;
        tracker
    }

    /// The tracker's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// Starts opentracker on 127.0.0.1 with `whitelist`, HTTP on `http` and UDP on `udp` (0: a port
/// of the kernel's choice), in a directory of its own. Waits until it has bound both, and returns
/// it with the HTTP and UDP ports it bound.
pub fn spawn_opentracker(
    whitelist: &[InfoHash],
    http: u16,
    udp: u16,
) -> Result<(Process, u16, u16), String> {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "bt-tracker-opentracker-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let list: String = whitelist.iter().map(|h| format!("{h}\n")).collect();
    std::fs::write(dir.join("whitelist.txt"), list)
        .map_err(|e| format!("write the whitelist in {}: {e}", dir.display()))?;
    // As root, opentracker chroots into the directory and drops to `nobody`.
    set_mode(&dir, 0o755);
    set_mode(&dir.join("whitelist.txt"), 0o644);
    let child = Command::new("opentracker")
        .args(["-i", "127.0.0.1", "-p", &http.to_string()])
        .args(["-P", &udp.to_string()])
        .arg("-d")
        .arg(&dir)
        .args(["-w", "whitelist.txt"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            let _ = std::fs::remove_dir_all(&dir);
            format!("cannot start opentracker: {e}")
        })?;
    let mut process = Process {
        child,
        dir: Some(dir),
    };
    let (http, udp) = process.wait_for_ports(Ipv4Addr::LOCALHOST.into())?;
    Ok((process, http, udp))
}

/// opentracker reads its whitelist on a thread of its own after it starts listening: wait (bounded)
/// until `hash` is served on `port`. A `stopped` from an unknown peer adds nothing to the swarm.
fn wait_for_whitelist(process: &mut Process, port: u16, hash: &InfoHash) -> Result<(), String> {
    let url = format!(
        "http://127.0.0.1:{port}/announce?info_hash={}&peer_id=-BT0100-whitelist-00&port=1&uploaded=0&downloaded=0&left=0&compact=1&event=stopped",
        bt_tracker::http::percent_encode(&hash.0)
    );
    let until = now() + Duration::from_secs(10);
    while now() < until {
        process.check_running()?;
        if let Ok(response) = glue::http::fetch(&url, now() + Duration::from_secs(2), true)
            && !response.body.windows(14).any(|w| w == b"failure reason")
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "HTTP port {port} did not serve the start's own whitelisted hash within 10 s"
    ))
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// webtorrent's `bittorrent-tracker` from npm (pinned in `tests/interop/webtorrent`), on `127.0.0.1`
/// and `::1`. Its script binds the IPv4 sockets to port 0 and the IPv6 ones to the same ports, and
/// prints them; the start is checked like opentracker's: still running, and the only process bound
/// to those ports.
#[derive(Debug)]
pub struct Webtorrent {
    /// The HTTP port on 127.0.0.1.
    pub http: u16,
    /// The HTTP port on ::1: the same as `http`, so `localhost` reaches it over both families.
    pub http6: u16,
    /// The UDP port on 127.0.0.1.
    pub udp: u16,
    /// The UDP port on ::1: the same as `udp`.
    pub udp6: u16,
    /// The HTTPS port on 127.0.0.1, when started with [`start_tls`](Self::start_tls).
    pub https: Option<u16>,
    _process: Process,
}

impl Webtorrent {
    /// Starts it (the harness has checked that it is installed).
    pub fn start() -> Self {
        let dir = webtorrent_dir();
        let (tracker, _) = start_with_retries("bittorrent-tracker", || Self::attempt(&dir, None));
        tracker
    }

    /// Starts it with HTTPS too (Node's `https`), serving the certificate chain and key of `cert`.
    pub fn start_tls(cert: &tls::ServerCert) -> Self {
        let dir = webtorrent_dir();
        let (tracker, _) =
            start_with_retries("bittorrent-tracker", || Self::attempt(&dir, Some(cert)));
        tracker
    }

    fn attempt(dir: &Path, tls: Option<&tls::ServerCert>) -> Result<Self, String> {
        let mut command = Command::new("node");
        command.arg("server.mjs");
        if let Some(cert) = tls {
            command.arg("--tls").arg(&cert.chain).arg(&cert.key);
        }
        let mut child = command
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start node: {e}"))?;
        // The script prints its ports as one JSON line once every socket listens.
        let stdout = child.stdout.take().expect("piped stdout");
        let mut process = Process { child, dir: None };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| "bittorrent-tracker did not report its ports within 20 s".to_owned())?;
        let ports: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("bittorrent-tracker printed {line:?}, not its ports: {e}"))?;
        let port = |name: &str| {
            ports[name]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| format!("bittorrent-tracker printed no {name} port in {line:?}"))
        };
        let (http, http6, udp, udp6) = (port("http")?, port("http6")?, port("udp")?, port("udp6")?);
        let https = tls.map(|_| port("https")).transpose()?;
        if (http6, udp6) != (http, udp) {
            return Err(format!(
                "the IPv6 ports differ from the IPv4 ones in {line:?}"
            ));
        }
        let v4 = |p| SocketAddr::from((Ipv4Addr::LOCALHOST, p));
        let v6 = |p| SocketAddr::from((Ipv6Addr::LOCALHOST, p));
        let mut owned = vec![
            (Proto::Tcp, v4(http)),
            (Proto::Tcp, v6(http6)),
            (Proto::Udp, v4(udp)),
            (Proto::Udp, v6(udp6)),
        ];
        owned.extend(https.map(|p| (Proto::Tcp, v4(p))));
        process.check_sole_owner(&owned)?;
        Ok(Webtorrent {
            http,
            http6,
            udp,
            udp6,
            https,
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
