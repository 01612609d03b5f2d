//! Trackers that misbehave on purpose, on real loopback sockets, and a process-wide counting
//! allocator to bound the memory a misbehaving tracker can make the client use.
//!
//! Each test runs one scenario at a time ([`scenario`] holds a lock) so that the peak heap it
//! measures is its own: the client's threads and the hostile tracker's threads together.
#![allow(dead_code)] // each test file uses part of it

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Config, Failed};
use bt_tracker::tracker::{Behaviour, Tracker, TrackerConfig};
use bt_tracker::udp::{self, Request};
use bt_tracker::{AddressFamily, CompactPeers, InfoHash};

use crate::net::glue::embedded::{answer_http, read_request_target};
use crate::net::glue::{now, os_rng};

/// Counts live heap bytes and their peak, over every thread of the test process.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs one scenario alone and returns its result with the peak heap growth it caused, in bytes
/// (also printed, for `--nocapture`).
pub fn scenario<T>(name: &str, f: impl FnOnce() -> T) -> (T, usize) {
    let _alone: MutexGuard<'_, ()> = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = f();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    eprintln!("{name}: peak heap growth {} KiB", peak / 1024);
    (result, peak)
}

/// A configuration with short timers, so that a silent tracker costs well under a second (UDP:
/// sends at 0 and 200 ms, given up at 600 ms) or two seconds (HTTP).
pub fn quick_config() -> Config {
    let mut config = Config::default();
    config.udp_rto = Duration::from_millis(200);
    config.udp_max_attempts = 2;
    config.http_timeout = Duration::from_secs(2);
    config.num_want = 50;
    config
}

/// The time after which a request must have ended: its deadline plus scheduling slack.
pub const SLACK: Duration = Duration::from_secs(3);

/// Asserts that a failure came, and came no later than `bound` after `start`.
pub fn failed_within(
    result: Result<bt_tracker::announce::Announced, Failed>,
    start: Instant,
    bound: Duration,
) -> Failed {
    let elapsed = now().duration_since(start);
    let failed = result.expect_err("the request must fail");
    assert!(
        elapsed <= bound + SLACK,
        "the failure took {elapsed:?}, the deadline was {bound:?}"
    );
    failed
}

/// Stops a server thread when dropped.
pub struct Server {
    pub addr: SocketAddr,
    quit: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A UDP tracker on `127.0.0.1` that hands every datagram to `answer` (which may send anything,
/// from any socket, or nothing).
pub fn udp_tracker(
    mut answer: impl FnMut(&UdpSocket, SocketAddr, &[u8]) + Send + 'static,
) -> Server {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let quit = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&quit);
    let thread = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = socket.recv_from(&mut buf) {
                answer(&socket, from, &buf[..n]);
            }
        }
    });
    Server {
        addr,
        quit,
        thread: Some(thread),
    }
}

/// An HTTP tracker on `127.0.0.1`: every connection's request target (after its head was read)
/// and the stream go to `answer`, on a thread of their own.
pub fn http_tracker(answer: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let quit = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&quit);
    let answer = Arc::new(answer);
    let thread = std::thread::spawn(move || {
        let mut handlers = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let answer = Arc::clone(&answer);
            handlers.push(std::thread::spawn(move || {
                if let Some(target) = read_request_target(&mut stream) {
                    answer(&mut stream, &target);
                }
            }));
        }
        for h in handlers {
            let _ = h.join();
        }
    });
    Server {
        addr,
        quit,
        thread: Some(thread),
    }
}

/// What a [`machine_udp_tracker`] received: every datagram, and the connects among them.
#[derive(Debug, Default)]
pub struct Received {
    pub datagrams: AtomicU32,
    pub connects: AtomicU32,
}

/// The crate's tracker machine (`bt_tracker::tracker`) with this configuration and behaviour,
/// shared between a test and its server thread.
pub fn machine(config: TrackerConfig, behaviour: Behaviour) -> Arc<Mutex<Tracker>> {
    Arc::new(Mutex::new(Tracker::new(
        config,
        behaviour,
        &mut os_rng(),
        now(),
    )))
}

/// A UDP tracker on `127.0.0.1` run by `machine` (its misbehaviours instead of a hand-written
/// answer), counting what it receives.
pub fn machine_udp_tracker(machine: Arc<Mutex<Tracker>>) -> (Server, Arc<Received>) {
    let received = Arc::new(Received::default());
    let seen = Arc::clone(&received);
    let mut out = Vec::new();
    let server = udp_tracker(move |s, from, req| {
        seen.datagrams.fetch_add(1, Ordering::Relaxed);
        if let Ok(Request::Connect(_)) = Request::parse(req) {
            seen.connects.fetch_add(1, Ordering::Relaxed);
        }
        let mut machine = machine.lock().unwrap_or_else(|e| e.into_inner());
        machine.handle_datagram(now(), from, req);
        while let Some(t) = machine.poll_transmit(&mut out) {
            let _ = s.send_to(&out[..t.len], t.to);
        }
    });
    (server, received)
}

/// An HTTP tracker on `127.0.0.1` run by `machine` (a silent one holds the connection until the
/// client gives up).
pub fn machine_http_tracker(machine: Arc<Mutex<Tracker>>) -> Server {
    http_tracker(move |s, target| {
        let from = s
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        answer_http(s, from, target, &machine);
    })
}

/// `n` seeders join the swarm of `hash` in `machine` (so a scrape reports `n` seeders).
pub fn seed_swarm(machine: &Mutex<Tracker>, hash: InfoHash, n: u8) {
    let mut machine = machine.lock().unwrap_or_else(|e| e.into_inner());
    for i in 0..n {
        let mut id = *b"-XX0001-seeder-00000";
        id[19] = i;
        let from = SocketAddr::from(([198, 18, 255, i], 6881));
        machine.add_peer(now(), hash, bt_tracker::PeerId(id), from, true);
    }
    let seeders = machine.swarm(&hash).map(|s| s.seeders);
    assert_eq!(seeders, Some(u32::from(n)), "the seeders were taken");
}

/// The transaction id of a request datagram.
pub fn txid(request: &[u8]) -> u32 {
    match Request::parse(request) {
        Ok(Request::Connect(c)) => c.transaction_id,
        Ok(Request::Announce(a)) => a.transaction_id,
        Ok(Request::Scrape(s)) => s.transaction_id,
        Err(_) => 0,
    }
}

/// A connect reply.
pub fn connect_reply(txid: u32, connection_id: u64) -> Vec<u8> {
    let mut out = [0u8; 16];
    udp::ConnectResponse {
        transaction_id: txid,
        connection_id,
    }
    .encode(&mut out)
    .unwrap();
    out.to_vec()
}

/// An error reply (action 3) with this text.
pub fn error_reply(txid: u32, message: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; udp::REPLY_HEADER_LEN + message.len()];
    udp::ErrorResponse {
        transaction_id: txid,
        message,
    }
    .encode(&mut out)
    .unwrap();
    out
}

/// An IPv4 announce reply.
pub fn announce_reply(txid: u32, interval: u32, peers: &[SocketAddr]) -> Vec<u8> {
    let reply = udp::AnnounceResponse {
        transaction_id: txid,
        interval,
        leechers: 1,
        seeders: 2,
        peers: CompactPeers::from_addrs(peers),
    };
    let mut out = vec![0u8; reply.encoded_len(AddressFamily::V4)];
    reply.encode(AddressFamily::V4, &mut out).unwrap();
    out
}

/// An honest answer: connect with `connection_id`, announce with `peers`, scrape with one row.
pub fn honest(request: &[u8], connection_id: u64, peers: &[SocketAddr]) -> Option<Vec<u8>> {
    match Request::parse(request).ok()? {
        Request::Connect(c) => Some(connect_reply(c.transaction_id, connection_id)),
        Request::Announce(a) => Some(announce_reply(a.transaction_id, 1800, peers)),
        Request::Scrape(s) => {
            let rows = [udp::ScrapeStats {
                seeders: 2,
                completed: 3,
                leechers: 1,
            }];
            let reply = udp::ScrapeResponse {
                transaction_id: s.transaction_id,
                rows: rows.as_slice().into(),
            };
            let mut out = vec![0u8; reply.encoded_len()];
            reply.encode(&mut out).ok()?;
            Some(out)
        }
    }
}

/// `n` distinct documentation peers (198.18.0.0/15, benchmarking space), sorted.
pub fn peers(n: usize) -> Vec<SocketAddr> {
    (0..n)
        .map(|i| SocketAddr::from(([198, 18, (i / 250) as u8, (i % 250) as u8 + 1], 6881)))
        .collect()
}
