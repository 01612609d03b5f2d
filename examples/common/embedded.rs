//! A small tracker on loopback (UDP and HTTP) so the examples run offline and the tests have a
//! well-behaved tracker to compare real ones against: sockets and threads around the crate's
//! sans-IO tracker, [`bt_tracker::tracker::Tracker`], which keeps the swarms, checks connection
//! ids and writes every reply.
//!
//! The examples' tracker lists a few sample peers in every swarm and the announcer itself (as
//! opentracker does); its limits, peer expiry and connection ids are the machine's (see
//! `bt_tracker::tracker`). [`EmbeddedTracker::start_with`] runs any configuration and
//! misbehaviour of the machine on real sockets.

use super::out::tell;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bt_tracker::tracker::{Behaviour, Tracker, TrackerConfig};

use super::{now, os_rng};

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

/// A running embedded tracker. Dropping it stops its threads.
#[derive(Debug)]
pub struct EmbeddedTracker {
    udp: SocketAddr,
    http: SocketAddr,
    machine: Arc<Mutex<Tracker>>,
    quit: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl EmbeddedTracker {
    /// Starts a tracker on `127.0.0.1` (free ports) whose swarms all hold `samples`.
    pub fn start(samples: Vec<SocketAddr>) -> io::Result<Self> {
        let mut config = TrackerConfig::default();
        config.interval = INTERVAL;
        config.min_interval = Some(INTERVAL / 2);
        config.extra_peers = samples;
        config.include_announcer = true;
        Self::start_with(config, Behaviour::honest())
    }

    /// Starts a tracker on `127.0.0.1` (free ports) with this configuration and behaviour.
    pub fn start_with(config: TrackerConfig, behaviour: Behaviour) -> io::Result<Self> {
        let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        let socket = UdpSocket::bind(loopback)?;
        let listener = TcpListener::bind(loopback)?;
        let (udp, http) = (socket.local_addr()?, listener.local_addr()?);
        // The threads wake up this often to notice that the tracker was dropped.
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        listener.set_nonblocking(true)?;
        let machine = Tracker::new(config, behaviour, &mut os_rng(), now());
        let machine = Arc::new(Mutex::new(machine));
        let quit = Arc::new(AtomicBool::new(false));
        let threads = vec![
            spawn_udp(socket, Arc::clone(&machine), Arc::clone(&quit)),
            spawn_http(listener, Arc::clone(&machine), Arc::clone(&quit)),
        ];
        Ok(EmbeddedTracker {
            udp,
            http,
            machine,
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

    /// Runs `f` on the tracker machine (to look at a swarm, or change the behaviour).
    pub fn with_machine<T>(&self, f: impl FnOnce(&mut Tracker) -> T) -> T {
        f(&mut lock(&self.machine))
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

fn lock(machine: &Mutex<Tracker>) -> std::sync::MutexGuard<'_, Tracker> {
    machine.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits until `at` (a slow tracker's answer is due in the future).
fn sleep_until(at: std::time::Instant) {
    let wait = at.saturating_duration_since(now());
    if !wait.is_zero() {
        std::thread::sleep(wait);
    }
}

fn spawn_udp(
    socket: UdpSocket,
    machine: Arc<Mutex<Tracker>>,
    quit: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        let mut out = Vec::new();
        while !quit.load(Ordering::Relaxed) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue; // read timeout: look at `quit` again
            };
            let mut machine = lock(&machine);
            machine.handle_datagram(now(), from, &buf[..n]);
            while let Some(t) = machine.poll_transmit(&mut out) {
                sleep_until(t.send_at);
                let _ = socket.send_to(&out[..t.len], t.to);
            }
        }
    })
}

fn spawn_http(
    listener: TcpListener,
    machine: Arc<Mutex<Tracker>>,
    quit: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        // Accepts as soon as a connection comes: a wait on readiness, not a sleep between
        // tries. (A 20 ms sleep after every empty `accept` made each wave of connections wait up
        // to 20 ms: 16 connections at a time took 5 s to announce 5,000 torrents.)
        let mut listener = mio::net::TcpListener::from_std(listener);
        let ready = mio::Poll::new().and_then(|poll| {
            poll.registry()
                .register(&mut listener, mio::Token(0), mio::Interest::READABLE)
                .map(|()| poll)
        });
        let mut poll = match ready {
            Ok(poll) => Some(poll),
            Err(e) => {
                tell(format_args!(
                    "embedded tracker: cannot wait on the HTTP listener ({e}); polling it"
                ));
                None
            }
        };
        let mut events = mio::Events::with_capacity(8);
        while !quit.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, from)) => {
                    let machine = Arc::clone(&machine);
                    // One thread per connection: a slow client does not hold up the others.
                    let stream = TcpStream::from(stream);
                    std::thread::spawn(move || serve_http(stream, from, &machine));
                }
                // Nothing to accept: wait for the next connection (or look at `quit` again).
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match poll.as_mut() {
                    Some(poll) => {
                        let _ = poll.poll(&mut events, Some(Duration::from_millis(100)));
                    }
                    None => std::thread::sleep(Duration::from_millis(1)),
                },
                // Out of descriptors or the like: give the other threads time to finish.
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

fn serve_http(mut stream: TcpStream, from: SocketAddr, machine: &Mutex<Tracker>) {
    if let Some(target) = read_request_target(&mut stream) {
        answer_http(&mut stream, from, &target, machine);
    }
}

/// Writes the machine's answer to a request target read from `stream` (at its due time), or holds
/// the connection until the client gives up when the machine does not answer.
pub fn answer_http(
    stream: &mut TcpStream,
    from: SocketAddr,
    target: &str,
    machine: &Mutex<Tracker>,
) {
    let answer = lock(machine).handle_http(now(), from, target.as_bytes());
    match answer {
        Some(answer) => {
            sleep_until(answer.send_at);
            let mut bytes = Vec::new();
            answer.write_to(&mut bytes);
            let _ = stream.write_all(&bytes);
        }
        None => {
            // Silence: keep the connection until the client closes it (or 5 s of read timeout).
            let _ = stream.read(&mut [0u8; 1]);
        }
    }
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
