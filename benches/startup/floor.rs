//! The floor of the start-up benchmark (`benches/startup/run.py` runs it; not a test): the least
//! work a client can do to announce N torrents to one UDP and one HTTP tracker and then stop them.
//!
//! ```text
//! startup_floor --torrents 5000 --udp 127.0.0.1:3000 --http http://127.0.0.1:3001/announce
//! ```
//!
//! Every request is encoded before the clock starts (the crate's UDP codec and HTTP URL builder):
//! one connect, then the announces from one socket with at most `--window` in flight (256),
//! each released by an answer; a datagram unanswered after `--timeout-ms` (1000) is sent again, an
//! error reply makes it reconnect. HTTP: at most `--http-window` (50, libtorrent's default)
//! connections at once, one request each, a `200` status line counts as the answer. Replies are
//! matched on their action and transaction id only; nothing else is parsed. Once every torrent
//! is answered by every tracker, the same again with `stopped`. Prints one JSON line on stdout
//! with the same fields as `cargo run --example mio -- --json`.

#[path = "../../examples/common/mod.rs"]
mod common;

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bt_tracker::http::{AnnounceParams, announce_url, write_get_request};
use bt_tracker::limits::MAX_TORRENTS;
use bt_tracker::udp::{AnnounceRequest, ConnectRequest};
use bt_tracker::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};
use common::cli::{MAX_SECONDS, number_in};
use common::now;
use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

const USAGE: &str = "\
usage: startup_floor --torrents N [--udp ADDR] [--http URL] [--window 256] [--http-window 50]
                     [--timeout-ms 1000] [--limit-s 300]";

const UDP: Token = Token(0);
const CONNECT_TID: u32 = u32::MAX;
/// BEP 15: a connection id is good for one minute.
const CONNECTION_ID_LIFETIME: Duration = Duration::from_secs(60);
/// HTTP sends per request before it counts as failed for good.
const HTTP_ATTEMPTS: u32 = 3;

struct Args {
    torrents: usize,
    udp: Option<SocketAddr>,
    http: Option<TrackerUrl>,
    window: usize,
    http_window: usize,
    timeout: Duration,
    limit: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        torrents: 1000,
        udp: None,
        http: None,
        window: 256,
        http_window: 50,
        timeout: Duration::from_millis(1000),
        limit: Duration::from_secs(300),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = || format!("{flag}: cannot read {value:?}\n{USAGE}");
        // The examples' rule: out of range is an error naming the flag and range, never clamped.
        let number =
            |range| number_in(&flag, &value, range, "").map_err(|e| format!("{e}\n{USAGE}"));
        match flag.as_str() {
            "--torrents" => a.torrents = number(1..=MAX_TORRENTS as u64)? as usize,
            "--udp" => a.udp = Some(value.parse().map_err(|_| bad())?),
            "--http" => a.http = Some(TrackerUrl::parse(&value).map_err(|_| bad())?),
            "--window" => a.window = number(1..=65_536)? as usize,
            "--http-window" => a.http_window = number(1..=65_536)? as usize,
            "--timeout-ms" => a.timeout = Duration::from_millis(number(1..=MAX_SECONDS * 1000)?),
            "--limit-s" => a.limit = Duration::from_secs(number(1..=MAX_SECONDS)?),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if a.udp.is_none() && a.http.is_none() {
        return Err(format!("give --udp, --http or both\n{USAGE}"));
    }
    Ok(a)
}

fn main() -> ExitCode {
    match parse_args().and_then(|a| run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn info_hash(k: usize) -> InfoHash {
    let mut hash = [0u8; 20];
    hash[..8].copy_from_slice(&(k as u64).to_be_bytes());
    InfoHash(hash)
}

const PEER_ID: PeerId = PeerId(*b"-FL0100-000000000000");

/// What one side (UDP or HTTP) has done, for the summary.
#[derive(Default)]
struct Tally {
    acked: [usize; 2],
    failed: usize,
    retransmits: usize,
    /// When this tracker had answered (or given up on) every `started`.
    started_done: Option<Instant>,
}

fn run(a: &Args) -> Result<(), String> {
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut udp = match a.udp {
        Some(to) => Some(UdpSide::new(a, to, &poll)?),
        None => None,
    };
    let mut http = match &a.http {
        Some(url) => Some(HttpSide::new(a, url)?),
        None => None,
    };
    // The clock starts once every request is encoded.
    let start = now();
    let mut events = Events::with_capacity(1024);
    let mut phase = 0;
    let mut all_started = None;
    let end = start + a.limit;
    loop {
        let now = now();
        let udp_done = udp.as_mut().is_none_or(|u| {
            let done = u.done(phase);
            if done && phase == 0 {
                u.tally.started_done.get_or_insert(now);
            }
            done
        });
        let http_done = http.as_mut().is_none_or(|h| {
            let done = h.done(phase);
            if done && phase == 0 {
                h.tally.started_done.get_or_insert(now);
            }
            done
        });
        if udp_done && http_done {
            if phase == 1 {
                break;
            }
            all_started = Some(now);
            phase = 1;
            udp.iter_mut().for_each(UdpSide::next_phase);
            http.iter_mut().for_each(HttpSide::next_phase);
            continue;
        }
        if now >= end {
            break;
        }
        let mut wake = end;
        if let Some(u) = udp.as_mut() {
            wake = wake.min(u.send(phase, now, a));
        }
        if let Some(h) = http.as_mut() {
            wake = wake.min(h.send(now, &poll, a));
        }
        let timeout = wake.saturating_duration_since(now);
        if let Err(e) = poll.poll(&mut events, Some(timeout))
            && e.kind() != ErrorKind::Interrupted
        {
            return Err(format!("poll failed: {e}"));
        }
        for event in &events {
            match (event.token(), udp.as_mut(), http.as_mut()) {
                (UDP, Some(u), _) => u.receive(phase),
                (UDP, None, _) => {}
                (token, _, Some(h)) => h.pump(token, phase, &mut poll),
                _ => {}
            }
        }
    }
    let tallies = [udp.map(|u| u.tally), http.map(|h| h.tally)];
    let sum = |f: &dyn Fn(&Tally) -> usize| tallies.iter().flatten().map(f).sum::<usize>();
    let trackers = tallies.iter().flatten().count();
    let secs = |t: Instant| t.duration_since(start).as_secs_f64();
    let at = |t: Option<Instant>| t.map_or("null".into(), |t| format!("{:.6}", secs(t)));
    let by = |k: usize| at(tallies[k].as_ref().and_then(|t| t.started_done));
    println!(
        "{{\"torrents\": {}, \"expected\": {}, \"started_acked\": {}, \"all_started_s\": {}, \"udp_started_s\": {}, \"http_started_s\": {}, \"failed\": {}, \"retransmits\": {}, \"stopped_acked\": {}, \"done_s\": {:.6}}}",
        a.torrents,
        a.torrents * trackers,
        sum(&|t| t.acked[0]),
        at(all_started),
        by(0),
        by(1),
        sum(&|t| t.failed),
        sum(&|t| t.retransmits),
        sum(&|t| t.acked[1]),
        secs(now())
    );
    Ok(())
}

/// Pre-encoded announces to one UDP tracker, a fixed window of them in flight.
struct UdpSide {
    socket: UdpSocket,
    tracker: SocketAddr,
    /// The announces of each phase (`started`, `stopped`), connection id patched in on connect.
    datagrams: [Vec<[u8; 98]>; 2],
    connection: Option<Instant>,
    connect_sent: Option<Instant>,
    next: usize,
    answered: Vec<bool>,
    /// When each torrent's announce was last sent; matches one `in_flight` entry.
    sent_at: Vec<Option<Instant>>,
    in_flight: VecDeque<(usize, Instant)>,
    outstanding: usize,
    resend: Vec<usize>,
    tally: Tally,
}

impl UdpSide {
    fn new(a: &Args, tracker: SocketAddr, poll: &Poll) -> Result<Self, String> {
        let mut socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0).into())
            .map_err(|e| format!("cannot open the UDP socket: {e}"))?;
        poll.registry()
            .register(&mut socket, UDP, Interest::READABLE)
            .map_err(|e| e.to_string())?;
        let encode = |phase: u32, event| -> Result<Vec<[u8; 98]>, String> {
            (0..a.torrents)
                .map(|k| {
                    let mut out = [0u8; 98];
                    AnnounceRequest {
                        connection_id: 0,
                        transaction_id: (phase << 24) | k as u32,
                        info_hash: info_hash(k),
                        peer_id: PEER_ID,
                        downloaded: 0,
                        left: 1 << 30,
                        uploaded: 0,
                        event,
                        ip: None,
                        key: 0x5EED,
                        num_want: if phase == 0 { 200 } else { 0 },
                        port: 6881,
                        url_data: None,
                    }
                    .encode(&mut out)
                    .map_err(|e| e.to_string())?;
                    Ok(out)
                })
                .collect()
        };
        Ok(UdpSide {
            socket,
            tracker,
            datagrams: [
                encode(0, AnnounceEvent::Started)?,
                encode(1, AnnounceEvent::Stopped)?,
            ],
            connection: None,
            connect_sent: None,
            next: 0,
            answered: vec![false; a.torrents],
            sent_at: vec![None; a.torrents],
            in_flight: VecDeque::new(),
            outstanding: 0,
            resend: Vec::new(),
            tally: Tally::default(),
        })
    }

    fn done(&self, phase: usize) -> bool {
        self.tally.acked[phase] == self.answered.len()
    }

    /// From `started` to `stopped`: every torrent again.
    fn next_phase(&mut self) {
        self.next = 0;
        self.answered.fill(false);
        self.sent_at.fill(None);
        self.in_flight.clear();
        self.outstanding = 0;
        self.resend.clear();
    }

    /// Connects if needed, retransmits what timed out, fills the window; returns when to wake.
    fn send(&mut self, phase: usize, now: Instant, a: &Args) -> Instant {
        while let Some(&(k, t)) = self.in_flight.front() {
            if self.answered[k] || self.sent_at[k] != Some(t) {
                self.in_flight.pop_front();
            } else if now >= t + a.timeout {
                self.in_flight.pop_front();
                self.sent_at[k] = None;
                self.outstanding -= 1;
                self.resend.push(k);
            } else {
                break;
            }
        }
        let fresh = self
            .connection
            .is_some_and(|t| now < t + CONNECTION_ID_LIFETIME);
        if !fresh {
            let due = self.connect_sent.is_none_or(|t| now >= t + a.timeout);
            if due {
                let mut out = [0u8; 16];
                let _ = ConnectRequest {
                    transaction_id: CONNECT_TID,
                }
                .encode(&mut out);
                let _ = self.socket.send_to(&out, self.tracker);
                self.connect_sent = Some(now);
            }
            let front = self.in_flight.front().map(|&(_, t)| t + a.timeout);
            let retry = self.connect_sent.map_or(now, |t| t + a.timeout);
            return front.map_or(retry, |f| f.min(retry));
        }
        while self.outstanding < a.window {
            let k = if let Some(k) = self.resend.pop() {
                self.tally.retransmits += 1;
                k
            } else if self.next < self.answered.len() {
                self.next += 1;
                self.next - 1
            } else {
                break;
            };
            match self.socket.send_to(&self.datagrams[phase][k], self.tracker) {
                Ok(_) => {
                    self.sent_at[k] = Some(now);
                    self.in_flight.push_back((k, now));
                    self.outstanding += 1;
                }
                Err(_) => {
                    // A full send buffer: try again on the next wake-up.
                    self.resend.push(k);
                    return now + Duration::from_millis(1);
                }
            }
        }
        let front = self.in_flight.front().map(|&(_, t)| t + a.timeout);
        let renew = self.connection.map_or(now, |t| t + CONNECTION_ID_LIFETIME);
        front.map_or(renew, |f| f.min(renew))
    }

    /// Reads every queued reply; only the action and transaction id are looked at.
    fn receive(&mut self, phase: usize) {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = self.socket.recv_from(&mut buf) {
            if n < 8 || from != self.tracker {
                continue;
            }
            let action = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
            let tid = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
            if tid == CONNECT_TID {
                if action == 0 && n >= 16 {
                    let id: [u8; 8] = buf[8..16].try_into().unwrap_or_default();
                    for datagram in self.datagrams.iter_mut().flatten() {
                        datagram[..8].copy_from_slice(&id);
                    }
                    self.connection = self.connect_sent;
                    self.connect_sent = None;
                }
                continue;
            }
            let k = (tid & 0xFF_FFFF) as usize;
            if (tid >> 24) as usize != phase || k >= self.answered.len() || self.answered[k] {
                continue;
            }
            if self.sent_at[k].take().is_none() {
                continue; // timed out already and queued again
            }
            self.outstanding -= 1;
            match action {
                1 => {
                    self.answered[k] = true;
                    self.tally.acked[phase] += 1;
                }
                _ => {
                    // An error reply (a stale connection id, most likely): reconnect, send again.
                    self.tally.failed += 1;
                    self.connection = None;
                    self.resend.push(k);
                }
            }
        }
    }
}

/// One HTTP announce on its own connection.
struct Conn {
    k: usize,
    stream: TcpStream,
    written: usize,
    head: Vec<u8>,
    deadline: Instant,
}

/// Pre-encoded GET requests to one HTTP tracker, at most `--http-window` connections at once.
struct HttpSide {
    addr: SocketAddr,
    requests: [Vec<Vec<u8>>; 2],
    conns: Vec<Option<Conn>>,
    next: usize,
    attempts: Vec<u32>,
    finished: usize,
    resend: Vec<usize>,
    tally: Tally,
}

impl HttpSide {
    fn new(a: &Args, url: &TrackerUrl) -> Result<Self, String> {
        let addr = common::http::resolve(url, true)
            .map_err(|e| e.detail)?
            .first()
            .copied()
            .ok_or("the HTTP tracker's host has no address")?;
        let encode = |event| -> Result<Vec<Vec<u8>>, String> {
            (0..a.torrents)
                .map(|k| {
                    let params = AnnounceParams {
                        info_hash: info_hash(k),
                        peer_id: PEER_ID,
                        port: 6881,
                        uploaded: 0,
                        downloaded: 0,
                        left: 1 << 30,
                        corrupt: None,
                        key: 0x5EED,
                        event,
                        numwant: if event == AnnounceEvent::Stopped {
                            0
                        } else {
                            200
                        },
                        no_peer_id: true,
                        supportcrypto: false,
                        tracker_id: None,
                        requirecrypto: false,
                        redundant: None,
                        ip: None,
                    };
                    let full = announce_url(url, &params).map_err(|e| e.to_string())?;
                    let full = TrackerUrl::parse(&full).map_err(|e| e.to_string())?;
                    let mut out = Vec::new();
                    write_get_request(&full, common::http::USER_AGENT, &mut out);
                    Ok(out)
                })
                .collect()
        };
        Ok(HttpSide {
            addr,
            requests: [
                encode(AnnounceEvent::Started)?,
                encode(AnnounceEvent::Stopped)?,
            ],
            conns: (0..a.http_window).map(|_| None).collect(),
            next: 0,
            attempts: vec![0; a.torrents],
            finished: 0,
            resend: Vec::new(),
            tally: Tally::default(),
        })
    }

    fn done(&self, _phase: usize) -> bool {
        self.finished == self.attempts.len()
    }

    /// From `started` to `stopped`: every torrent again.
    fn next_phase(&mut self) {
        self.next = 0;
        self.finished = 0;
        self.attempts.fill(0);
        self.resend.clear();
    }

    /// Drops connections past their deadline and opens new ones; returns when to wake.
    fn send(&mut self, now: Instant, poll: &Poll, a: &Args) -> Instant {
        let mut wake = now + a.limit;
        for slot in 0..self.conns.len() {
            if let Some(conn) = &self.conns[slot]
                && now >= conn.deadline
            {
                let k = conn.k;
                self.conns[slot] = None;
                self.fail(k);
            }
            if self.conns[slot].is_none() {
                let k = if let Some(k) = self.resend.pop() {
                    self.tally.retransmits += 1;
                    k
                } else if self.next < self.attempts.len() {
                    self.next += 1;
                    self.next - 1
                } else {
                    continue;
                };
                self.attempts[k] += 1;
                match TcpStream::connect(self.addr) {
                    Ok(mut stream) => {
                        let token = Token(slot + 1);
                        let interest = Interest::READABLE | Interest::WRITABLE;
                        if poll
                            .registry()
                            .register(&mut stream, token, interest)
                            .is_err()
                        {
                            self.fail(k);
                            continue;
                        }
                        let deadline = now + Duration::from_secs(30);
                        let (written, head) = (0, Vec::new());
                        self.conns[slot] = Some(Conn {
                            k,
                            stream,
                            written,
                            head,
                            deadline,
                        });
                    }
                    Err(_) => self.fail(k),
                }
            }
            if let Some(conn) = &self.conns[slot] {
                wake = wake.min(conn.deadline);
            }
        }
        wake
    }

    /// A failed request: sent again, or given up after [`HTTP_ATTEMPTS`].
    fn fail(&mut self, k: usize) {
        self.tally.failed += 1;
        if self.attempts[k] < HTTP_ATTEMPTS {
            self.resend.push(k);
        } else {
            self.finished += 1;
        }
    }

    /// Moves one connection along: writes the request, reads the reply to its end.
    fn pump(&mut self, token: Token, phase: usize, poll: &mut Poll) {
        let slot = token.0 - 1;
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let request = &self.requests[phase][conn.k];
        let mut outcome = None;
        while conn.written < request.len() {
            match conn.stream.write(&request[conn.written..]) {
                Ok(n) => conn.written += n,
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected =>
                {
                    return;
                }
                Err(_) => {
                    outcome = Some(false);
                    break;
                }
            }
        }
        let mut buf = [0u8; 4096];
        while outcome.is_none() {
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    outcome = Some(
                        conn.head.starts_with(b"HTTP/1.1 200")
                            || conn.head.starts_with(b"HTTP/1.0 200"),
                    )
                }
                Ok(n) => {
                    let room = 16usize.saturating_sub(conn.head.len()).min(n);
                    conn.head.extend_from_slice(&buf[..room]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => outcome = Some(false),
            }
        }
        let Some(mut conn) = self.conns[slot].take() else {
            return;
        };
        let _ = poll.registry().deregister(&mut conn.stream);
        if outcome == Some(true) {
            self.tally.acked[phase] += 1;
            self.finished += 1;
        } else {
            self.fail(conn.k);
        }
    }
}
