//! A small tracker on loopback (UDP and HTTP), built on the crate's tracker-side codecs, so the
//! examples run offline and the tests have a well-behaved tracker to compare real ones against.
//!
//! It keeps one swarm per info hash, lists a few sample peers in every swarm, checks UDP
//! connection ids (keyed by the client address, like opentracker), answers scrapes and honours
//! `stopped`. It is an example, not a production tracker: no whitelist, no peer expiry, no limits
//! beyond a 64 KiB request.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bt_tracker::http::{self, AnnounceQuery, AnnounceSuccess, Failure, Peers, ScrapeFile};
use bt_tracker::udp::{self, Request};
use bt_tracker::{AddressFamily, AnnounceEvent, CompactPeers, InfoHash, PeerId};

/// The interval the embedded tracker asks for, in seconds.
pub const INTERVAL: u32 = 1800;

/// Peers every swarm starts with (documentation addresses, RFC 5737 and RFC 3849): they show up
/// in every reply, so a first run prints something.
pub fn sample_peers() -> Vec<SocketAddr> {
    [
        "192.0.2.10:6881",
        "198.51.100.20:51413",
        "203.0.113.30:6889",
    ]
    .iter()
    .map(|a| a.parse().expect("valid sample address"))
    .collect()
}

#[derive(Debug, Clone, Copy)]
struct Member {
    addr: SocketAddr,
    seeder: bool,
}

#[derive(Debug, Default)]
struct Swarm {
    members: BTreeMap<PeerId, Member>,
    completed: u32,
}

#[derive(Debug)]
struct State {
    swarms: HashMap<InfoHash, Swarm>,
    samples: Vec<SocketAddr>,
    keys: RandomState,
}

impl State {
    /// Registers the announce and returns the reply's (peers, seeders, leechers).
    fn announce(
        &mut self,
        hash: InfoHash,
        peer_id: PeerId,
        addr: SocketAddr,
        left: u64,
        event: AnnounceEvent,
    ) -> (Vec<SocketAddr>, u32, u32) {
        let swarm = self.swarms.entry(hash).or_default();
        match event {
            AnnounceEvent::Stopped => {
                swarm.members.remove(&peer_id);
            }
            _ => {
                if event == AnnounceEvent::Completed {
                    swarm.completed = swarm.completed.saturating_add(1);
                }
                let seeder = left == 0;
                swarm.members.insert(peer_id, Member { addr, seeder });
            }
        }
        let (seeders, leechers) = counts(swarm);
        let mut peers = self.samples.clone();
        if event != AnnounceEvent::Stopped {
            peers.extend(swarm.members.values().map(|m| m.addr));
        }
        (peers, seeders, leechers)
    }

    fn scrape(&self, hash: &InfoHash) -> ScrapeFile {
        let swarm = self.swarms.get(hash);
        let (complete, incomplete) = swarm.map_or((0, 0), counts);
        ScrapeFile {
            complete: i64::from(complete),
            incomplete: i64::from(incomplete),
            downloaded: swarm.map_or(0, |s| i64::from(s.completed)),
            downloaders: None,
        }
    }

    /// A connection id only this client address gets (opentracker derives its ids the same way).
    fn connection_id(&self, from: SocketAddr) -> u64 {
        self.keys.hash_one(from)
    }
}

fn counts(swarm: &Swarm) -> (u32, u32) {
    let seeders = swarm.members.values().filter(|m| m.seeder).count();
    let leechers = swarm.members.len() - seeders;
    (seeders as u32, leechers as u32)
}

/// A running embedded tracker. Dropping it stops its threads.
#[derive(Debug)]
pub struct EmbeddedTracker {
    udp: SocketAddr,
    http: SocketAddr,
    quit: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl EmbeddedTracker {
    /// Starts a tracker on `127.0.0.1` (free ports) whose swarms all hold `samples`.
    pub fn start(samples: Vec<SocketAddr>) -> io::Result<Self> {
        let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        let socket = UdpSocket::bind(loopback)?;
        let listener = TcpListener::bind(loopback)?;
        let (udp, http) = (socket.local_addr()?, listener.local_addr()?);
        // The threads wake up this often to notice that the tracker was dropped.
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        listener.set_nonblocking(true)?;
        let state = Arc::new(Mutex::new(State {
            swarms: HashMap::new(),
            samples,
            keys: RandomState::new(),
        }));
        let quit = Arc::new(AtomicBool::new(false));
        let threads = vec![
            spawn_udp(socket, Arc::clone(&state), Arc::clone(&quit)),
            spawn_http(listener, state, Arc::clone(&quit)),
        ];
        Ok(EmbeddedTracker {
            udp,
            http,
            quit,
            threads,
        })
    }

    /// `udp://127.0.0.1:PORT/announce`.
    pub fn udp_url(&self) -> String {
        format!("udp://{}/announce", self.udp)
    }

    /// `http://127.0.0.1:PORT/announce`.
    pub fn http_url(&self) -> String {
        format!("http://{}/announce", self.http)
    }
}

impl Drop for EmbeddedTracker {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn spawn_udp(socket: UdpSocket, state: Arc<Mutex<State>>, quit: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        let mut out = vec![0u8; 65_536];
        while !quit.load(Ordering::Relaxed) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue; // read timeout: look at `quit` again
            };
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(len) = answer_udp(&mut state, from, &buf[..n], &mut out) {
                let _ = socket.send_to(&out[..len], from);
            }
        }
    })
}

/// The reply to one datagram, written into `out`; `None` drops it (as real trackers do).
fn answer_udp(
    state: &mut State,
    from: SocketAddr,
    datagram: &[u8],
    out: &mut [u8],
) -> Option<usize> {
    let family = AddressFamily::of(&from);
    let reply = match Request::parse(datagram).ok()? {
        Request::Connect(c) => udp::ConnectResponse {
            transaction_id: c.transaction_id,
            connection_id: state.connection_id(from),
        }
        .encode(out),
        Request::Announce(a) if a.connection_id != state.connection_id(from) => {
            udp::ErrorResponse {
                transaction_id: a.transaction_id,
                message: b"Connection ID mismatch",
            }
            .encode(out)
        }
        Request::Announce(a) => {
            let addr = SocketAddr::new(from.ip(), a.port);
            let left = u64::try_from(a.left).unwrap_or(0);
            let (mut peers, seeders, leechers) =
                state.announce(a.info_hash, a.peer_id, addr, left, a.event);
            peers.retain(|p| AddressFamily::of(p) == family);
            udp::AnnounceResponse {
                transaction_id: a.transaction_id,
                interval: INTERVAL,
                leechers,
                seeders,
                peers: CompactPeers::from_addrs(&peers),
            }
            .encode(family, out)
        }
        Request::Scrape(s) if s.connection_id != state.connection_id(from) => return None,
        Request::Scrape(s) => {
            let rows: Vec<udp::ScrapeStats> = s
                .info_hashes
                .iter()
                .take(udp::MAX_SCRAPE_HASHES)
                .map(|hash| {
                    let f = state.scrape(&hash);
                    udp::ScrapeStats {
                        seeders: f.complete as u32,
                        completed: f.downloaded as u32,
                        leechers: f.incomplete as u32,
                    }
                })
                .collect();
            udp::ScrapeResponse {
                transaction_id: s.transaction_id,
                rows: rows.as_slice().into(),
            }
            .encode(out)
        }
    };
    reply.ok()
}

fn spawn_http(
    listener: TcpListener,
    state: Arc<Mutex<State>>,
    quit: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !quit.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, from)) => {
                    let state = Arc::clone(&state);
                    // One thread per connection: a slow client does not hold up the others.
                    std::thread::spawn(move || serve_http(stream, from, &state));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

fn serve_http(mut stream: TcpStream, from: SocketAddr, state: &Mutex<State>) {
    let Some(target) = read_request_target(&mut stream) else {
        return;
    };
    let body = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        answer_http(&mut state, from, target.as_bytes())
    };
    write_response(&mut stream, "200 OK", "Content-Type: text/plain\r\n", &body);
}

/// Reads a request head (blocking, 5 s read timeout, at most 64 KiB) and returns its target
/// (`/announce?...`); `None` when the connection ends first.
pub fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let target = head.split(|&b| b == b' ').nth(1)?;
    Some(String::from_utf8_lossy(target).into_owned())
}

/// Writes a whole HTTP/1.1 response (`status` such as `200 OK`; `extra_headers` each ending in
/// CRLF) with `Content-Length` and `Connection: close`.
pub fn write_response(stream: &mut TcpStream, status: &str, extra_headers: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\n{extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// The bencoded body answering a request target (`/announce?...` or `/scrape?...`).
fn answer_http(state: &mut State, from: SocketAddr, target: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    if target.starts_with(b"/scrape") {
        match http::ScrapeQuery::parse(target) {
            Ok(q) => {
                let files: Vec<_> = q
                    .info_hashes
                    .iter()
                    .map(|h| (*h, state.scrape(h)))
                    .collect();
                http::encode_scrape(&files, None, &mut body);
            }
            Err(e) => failure(&e.to_string(), &mut body),
        }
        return body;
    }
    if !target.starts_with(b"/announce") {
        failure("unknown path: use /announce or /scrape", &mut body);
        return body;
    }
    let q = match AnnounceQuery::parse(target) {
        Ok(q) => q,
        Err(e) => {
            failure(&e.to_string(), &mut body);
            return body;
        }
    };
    let addr = SocketAddr::new(from.ip(), q.port);
    let (peers, seeders, leechers) = state.announce(q.info_hash, q.peer_id, addr, q.left, q.event);
    let (v4, v6): (Vec<SocketAddr>, Vec<SocketAddr>) = peers.iter().partition(|p| p.is_ipv4());
    let reply = AnnounceSuccess {
        interval: Some(i64::from(INTERVAL)),
        min_interval: Some(i64::from(INTERVAL / 2)),
        warning: None,
        tracker_id: None,
        complete: Some(i64::from(seeders)),
        incomplete: Some(i64::from(leechers)),
        downloaded: None,
        peers: Peers::Compact(CompactPeers::from_addrs(&v4)),
        peers6: CompactPeers::from_addrs(&v6),
        external_ip: Some(from.ip()),
        crypto_flags: None,
    };
    if reply.encode(&mut body).is_err() {
        body.clear();
        failure("internal error: a peer of the wrong family", &mut body);
    }
    body
}

fn failure(reason: &str, out: &mut Vec<u8>) {
    Failure {
        reason: reason.as_bytes(),
        retry_in: None,
        interval: None,
        min_interval: None,
    }
    .encode(out);
}
