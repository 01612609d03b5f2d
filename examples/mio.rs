//! Many torrents on one event loop: one non-blocking UDP socket for every UDP tracker, a
//! non-blocking TCP connection per HTTP request, timers from `poll_timeout`, all on mio.
//!
//! ```text
//! cargo run --example mio                             # 100 torrents, embedded loopback tracker
//! cargo run --example mio -- --torrents 1000 --duration 5
//! cargo run --example mio -- 'magnet:?xt=urn:btih:...&tr=udp://...' file.torrent --duration 60
//! cargo run --release --example mio -- --torrents 5000 --tracker udp://127.0.0.1:3000 --until-answered --json
//! ```
//!
//! It runs for `--duration` seconds or until Ctrl-C, then stops every torrent (each sends
//! `stopped` to the trackers that were sent `started`) and exits when all are done. Plain `http://` only:
//! TLS on a non-blocking socket is out of scope here (the `announce` example does `https://`).
//!
//! One `Client` holds every torrent: it routes each datagram by its transaction id, shares one
//! connection id per tracker, paces the requests to each tracker (so `--torrents 10000` does not
//! send 10,000 packets at once) and gives the next deadline from a heap. It asks for each tracker
//! name once for all torrents; the lookups run on a resolver thread that wakes the poll with a
//! `mio::Waker`, so nothing on the loop thread ever blocks on DNS.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Cause, Config, DnsQueryId, Event, HttpRequest, Progress, RequestId, TierMode, Torrent,
    TorrentId, TrackerId, TransportError,
};
use bt_tracker::client::Client;
use bt_tracker::http::{DEFAULT_MAX_BODY_LEN, HttpResponse, ResponseReader, write_get_request};
use bt_tracker::{AnnounceEvent, InfoHash, Scheme, TrackerUrl};
use common::embedded::{EmbeddedTracker, sample_peers};
use common::http::{framing_kind, io_kind};
use common::resolver::{DnsResult, Resolver};
use common::{now, os_rng, random_peer_id, target};
use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};

const USAGE: &str = "\
usage: cargo run --example mio -- [TARGET ...] [--torrents N] [--duration SECONDS] [--port N]
       [--tracker URL ...] [--until-answered] [--json] [--status SECONDS]

TARGET is a magnet link or a .torrent file (one torrent each). Without TARGET, N synthetic
torrents (default 100) announce to an embedded loopback tracker over UDP and HTTP, or to every
--tracker URL given (each in its own tier).
Runs --duration seconds (default 10) or until Ctrl-C, then sends stopped and exits.
--until-answered stops as soon as every torrent's started is answered by each of its trackers.
--json prints the summary as one JSON object (times in seconds from start; the start-up benchmark
in benches/startup reads it).
--status SECONDS prints the first torrents' tracker tables that often, from the client's
status snapshot.";

const UDP: Token = Token(0);
const WAKER: Token = Token(1);

/// One torrent: its name and what it has learnt.
struct Swarm {
    name: String,
    peers: BTreeSet<SocketAddr>,
    /// Trackers that acknowledged `started`.
    started: HashSet<TrackerId>,
    /// Trackers it announces to: UDP, HTTP(S).
    trackers: [usize; 2],
}

/// 0 for a UDP tracker, 1 for HTTP(S): the summary's per-transport counts.
fn transport(url: &TrackerUrl) -> usize {
    usize::from(url.scheme() != Scheme::Udp)
}

/// One HTTP request on a non-blocking TCP connection.
struct Conn {
    request: RequestId,
    stream: TcpStream,
    out: Vec<u8>,
    written: usize,
    reader: ResponseReader,
    deadline: Instant,
}

struct Args {
    targets: Vec<String>,
    torrents: usize,
    duration: Duration,
    port: u16,
    status: Option<Duration>,
    /// Trackers of the synthetic torrents instead of the embedded one.
    trackers: Vec<String>,
    until_answered: bool,
    json: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        targets: Vec::new(),
        torrents: 100,
        duration: Duration::from_secs(10),
        port: 6881,
        status: None,
        trackers: Vec::new(),
        until_answered: false,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
            v.parse()
                .map_err(|_| format!("{name} takes a whole number, not {v:?}"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--torrents" => args.torrents = number("--torrents")?.clamp(1, 100_000) as usize,
            "--duration" => args.duration = Duration::from_secs(number("--duration")?),
            "--status" => {
                let every = number("--status")?.max(1);
                args.status = Some(Duration::from_secs(every));
            }
            "--port" => {
                args.port = u16::try_from(number("--port")?)
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or("--port takes 1 to 65535")?;
            }
            "--tracker" => args
                .trackers
                .push(it.next().ok_or("--tracker needs a URL")?),
            "--until-answered" => args.until_answered = true,
            "--json" => args.json = true,
            _ => {
                common::cli::check_not_an_option(&arg)?;
                args.targets.push(arg);
            }
        }
    }
    if !args.targets.is_empty() && !args.trackers.is_empty() {
        return Err("--tracker is for the synthetic torrents: a magnet link or a .torrent file names its own trackers".into());
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    common::main_with(
        parse_args(),
        USAGE,
        "no torrent got an answer from any tracker",
        run,
    )
}

fn run(args: &Args) -> Result<bool, String> {
    let start = now();
    // The torrents: from the command line, or synthetic ones on an embedded tracker.
    let embedded;
    let specs = if args.targets.is_empty() {
        let tiers: Vec<Vec<String>> = if args.trackers.is_empty() {
            embedded = EmbeddedTracker::start(sample_peers()).map_err(|e| e.to_string())?;
            vec![vec![embedded.udp_url()], vec![embedded.http_url()]]
        } else {
            args.trackers.iter().map(|t| vec![t.clone()]).collect()
        };
        eprintln!("{} synthetic torrents on {tiers:?}", args.torrents);
        (0..args.torrents)
            .map(|k| {
                let mut hash = [0u8; 20];
                hash[..8].copy_from_slice(&(k as u64).to_be_bytes());
                (format!("synthetic #{k}"), InfoHash(hash), tiers.clone())
            })
            .collect()
    } else {
        let mut specs = Vec::new();
        for arg in &args.targets {
            let t = target::parse(arg)?;
            let name = t.name.clone().unwrap_or_else(|| t.info_hash.to_string());
            specs.push((name, t.info_hash, t.tiers));
        }
        specs
    };
    let (client, swarms) = swarms(specs, args.port)?;

    // One UDP socket: dual-stack [::] for trackers on the internet, 127.0.0.1 for the demo.
    let socket = if args.targets.is_empty() {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0).into())
    } else {
        UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0).into())
            .or_else(|_| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0).into()))
    }
    .map_err(|e| format!("cannot open the UDP socket: {e}"))?;
    let mut lp = EventLoop::new(socket, client, swarms).map_err(|e| e.to_string())?;
    let waker = Arc::new(Waker::new(lp.poll.registry(), WAKER).map_err(|e| e.to_string())?);
    lp.start_resolver(Arc::clone(&waker));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let (waker, interrupted) = (Arc::clone(&waker), Arc::clone(&interrupted));
        ctrlc::set_handler(move || {
            interrupted.store(true, Ordering::Relaxed);
            let _ = waker.wake();
        })
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    }

    let mut expected = [0; 2];
    for s in lp.swarms.values() {
        expected[0] += s.trackers[0];
        expected[1] += s.trackers[1];
    }
    let mut events = Events::with_capacity(1024);
    let mut stopping = false;
    let end = start + args.duration;
    let mut next_status = args.status.map(|every| start + every);
    loop {
        lp.drain();
        if lp.all_started.is_none() && lp.started_pairs == expected {
            lp.all_started = Some(now());
            if args.until_answered && !stopping {
                stopping = true;
                lp.client.stop(now());
                continue;
            }
        }
        if stopping && lp.client.is_empty() {
            break;
        }
        if let (Some(at), Some(every)) = (next_status, args.status)
            && now() >= at
        {
            lp.print_status(now());
            next_status = Some(at + every);
        }
        // Sleep until the earliest deadline: a torrent's timer, an HTTP deadline, the next status
        // table, or the end.
        let mut wake = lp.next_deadline();
        if !stopping {
            wake = Some(wake.map_or(end, |w| w.min(end)));
        }
        wake = wake.into_iter().chain(next_status).min();
        let timeout = wake.map(|w| w.saturating_duration_since(now()));
        if let Err(e) = lp.poll.poll(&mut events, timeout)
            && e.kind() != ErrorKind::Interrupted
        {
            return Err(format!("poll failed: {e}"));
        }
        for event in &events {
            match event.token() {
                UDP => lp.receive_datagrams(),
                WAKER => lp.receive_dns_answers(),
                token => lp.pump_connection(token),
            }
        }
        let now = now();
        lp.fire_timers(now);
        if !stopping && (now >= end || interrupted.load(Ordering::Relaxed)) {
            stopping = true;
            eprintln!("stopping: sending stopped to every tracker that got started");
            lp.client.stop(now);
        }
    }

    let with_peers = lp.swarms.values().filter(|s| !s.peers.is_empty()).count();
    let total: usize = lp.swarms.values().map(|s| s.peers.len()).sum();
    if args.json {
        let secs = |t: Instant| t.duration_since(start).as_secs_f64();
        let at = |t: Option<Instant>| t.map_or("null".into(), |t| format!("{:.6}", secs(t)));
        let by = |k: usize| at(lp.last_started[k].filter(|_| lp.started_pairs[k] == expected[k]));
        println!(
            "{{\"torrents\": {}, \"expected\": {}, \"started_acked\": {}, \"all_started_s\": {}, \"udp_started_s\": {}, \"http_started_s\": {}, \"failed\": {}, \"unanswered\": {}, \"stopped_acked\": {}, \"done_s\": {:.6}}}",
            lp.swarms.len(),
            expected[0] + expected[1],
            lp.started_pairs[0] + lp.started_pairs[1],
            at(lp.all_started),
            by(0),
            by(1),
            lp.failed,
            lp.unanswered,
            lp.stopped_acks,
            secs(now())
        );
        return Ok(lp.announced > 0);
    }
    println!(
        "{} torrents, {} announces answered, {} requests failed, {} unanswered when stopping, {with_peers} torrents with peers ({total} peers in all), {} stopped acknowledged ({} after a started unanswered at stop), in {:.2} s",
        lp.swarms.len(),
        lp.announced,
        lp.failed,
        lp.unanswered,
        lp.stopped_acks,
        lp.stopped_after_unanswered,
        now().duration_since(start).as_secs_f64()
    );
    Ok(lp.announced > 0)
}

/// One client for every torrent; each announces to all of its trackers.
fn swarms(
    specs: Vec<(String, InfoHash, Vec<Vec<String>>)>,
    port: u16,
) -> Result<(Client, HashMap<TorrentId, Swarm>), String> {
    let mut rng = os_rng();
    let mut config = Config::default();
    config.tier_mode = TierMode::AllTrackers;
    let peer_id = random_peer_id(&mut rng);
    let mut client = Client::new(config, &mut rng, now()).map_err(|e| e.to_string())?;
    let mut swarms = HashMap::new();
    for (name, info_hash, tiers) in specs {
        let tiers: Vec<Vec<TrackerUrl>> = tiers
            .iter()
            .map(|tier| {
                tier.iter()
                    .filter_map(|u| TrackerUrl::parse(u).ok())
                    .collect()
            })
            .collect();
        let torrent = Torrent {
            info_hash,
            peer_id,
            port,
            progress: Progress {
                left: 1 << 30,
                ..Progress::default()
            },
            key: None,
        };
        let mut trackers = [0; 2];
        tiers
            .iter()
            .flatten()
            .for_each(|u| trackers[transport(u)] += 1);
        match client.add(torrent, tiers, now()) {
            Ok(id) => {
                let swarm = Swarm {
                    name,
                    peers: BTreeSet::new(),
                    started: HashSet::new(),
                    trackers,
                };
                swarms.insert(id, swarm);
            }
            Err(e) => eprintln!("skipping {name}: {e}"),
        }
    }
    Ok((client, swarms))
}

/// The sockets, the machines and the connections of the loop.
struct EventLoop {
    poll: Poll,
    socket: UdpSocket,
    dual_stack: bool,
    client: Client,
    swarms: HashMap<TorrentId, Swarm>,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    /// Looks names up off the loop thread; its answers come back on `dns_answers`.
    resolver: Option<Resolver>,
    dns_answers: Option<Receiver<(DnsQueryId, DnsResult)>>,
    /// Per-request lines only for a handful of torrents; thousands would flood the terminal.
    verbose: bool,
    announced: usize,
    failed: usize,
    /// Requests still in flight when `stop` came (the client ends them as cancelled).
    unanswered: usize,
    stopped_acks: usize,
    /// `stopped` acknowledged by a tracker whose `started` was still unanswered at `stop` (it may
    /// have listed this client all the same, so it is sent `stopped` too).
    stopped_after_unanswered: usize,
    /// (torrent, tracker) pairs whose `started` was acknowledged per transport (UDP, HTTP), when
    /// the last one of each was, and when every pair was.
    started_pairs: [usize; 2],
    last_started: [Option<Instant>; 2],
    all_started: Option<Instant>,
}

impl EventLoop {
    fn new(
        mut socket: UdpSocket,
        client: Client,
        swarms: HashMap<TorrentId, Swarm>,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut socket, UDP, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            dual_stack: socket.local_addr()?.is_ipv6(),
            socket,
            verbose: swarms.len() <= 10,
            client,
            swarms,
            conns: HashMap::new(),
            next_token: 2,
            resolver: None,
            dns_answers: None,
            announced: 0,
            failed: 0,
            unanswered: 0,
            stopped_acks: 0,
            stopped_after_unanswered: 0,
            started_pairs: [0; 2],
            last_started: [None; 2],
            all_started: None,
        })
    }

    /// Starts the resolver thread: each answer is queued for the loop and wakes the poll.
    fn start_resolver(&mut self, waker: Arc<Waker>) {
        let (tx, rx) = channel();
        self.resolver = Some(Resolver::new(move |id, result| {
            let _ = tx.send((id, result));
            let _ = waker.wake();
        }));
        self.dns_answers = Some(rx);
    }

    /// Hands the resolver thread's answers to the client.
    fn receive_dns_answers(&mut self) {
        let Some(answers) = &self.dns_answers else {
            return;
        };
        while let Ok((id, result)) = answers.try_recv() {
            self.client.handle_dns_response(now(), id, result);
        }
    }

    /// The drain rule: DNS queries, datagrams, HTTP requests, events.
    fn drain(&mut self) {
        while let Some(query) = self.client.poll_dns_query() {
            if let Some(resolver) = &self.resolver {
                resolver.ask(query);
            }
        }
        let mut out = Vec::new();
        while let Some(t) = self.client.poll_transmit(&mut out) {
            // A full send buffer drops the datagram; the client's retransmission covers it. An
            // unreachable address is reported, so the client moves on to the tracker's next one.
            let to = on_socket(t.destination, self.dual_stack);
            if let Err(e) = self.socket.send_to(&out, to)
                && e.kind() != ErrorKind::WouldBlock
            {
                self.client
                    .handle_transport_error(now(), t.request, io_kind(&e));
            }
        }
        while let Some(request) = self.client.poll_http_request() {
            let token = Token(self.next_token);
            match connect(request, &self.poll, token) {
                Ok(conn) => {
                    self.conns.insert(token, conn);
                    self.next_token += 1;
                }
                Err((id, kind, why)) => {
                    eprintln!("{why}");
                    self.client.handle_transport_error(now(), id, kind);
                }
            }
        }
        while let Some((torrent, event)) = self.client.poll_event() {
            let Some(swarm) = self.swarms.get_mut(&torrent) else {
                continue;
            };
            // A torrent's tracker URLs read until its `Stopped` is drained: every event names one.
            let client = &self.client;
            let url = |t| client.tracker_url(torrent, t).map_or("?", |u| u.as_str());
            match event {
                Event::Announced(a) if a.event == AnnounceEvent::Stopped => {
                    self.stopped_acks += 1;
                    if !swarm.started.contains(&a.tracker) {
                        self.stopped_after_unanswered += 1;
                    }
                }
                Event::Announced(a) => {
                    self.announced += 1;
                    if a.event == AnnounceEvent::Started && swarm.started.insert(a.tracker) {
                        let kind = client.tracker_url(torrent, a.tracker).map_or(0, transport);
                        self.started_pairs[kind] += 1;
                        self.last_started[kind] = Some(now());
                    }
                    if self.verbose {
                        let n = a.peers.len();
                        eprintln!("{}: {n} peers from {}", swarm.name, url(a.tracker));
                    }
                    swarm.peers.extend(a.peers);
                }
                Event::Failed(f) => {
                    if f.cause == Cause::Cancelled {
                        self.unanswered += 1;
                    } else {
                        self.failed += 1;
                    }
                    if self.verbose {
                        eprintln!("{}: {}: {}", swarm.name, url(f.tracker), f.cause);
                    }
                }
                _ => {}
            }
        }
    }

    /// The tracker tables of the first torrents, from the client's status snapshot.
    fn print_status(&self, now: Instant) {
        for torrent in self.client.torrents().take(5) {
            let name = self.swarms.get(&torrent).map_or("?", |s| s.name.as_str());
            let rows = common::status::table(self.client.trackers(torrent), now);
            eprint!("{name} ({torrent}):\n{rows}");
        }
    }

    /// The client's next deadline or the earliest HTTP deadline.
    fn next_deadline(&self) -> Option<Instant> {
        let http = self.conns.values().map(|c| c.deadline);
        self.client.poll_timeout().into_iter().chain(http).min()
    }

    /// Reads every queued datagram into the client, which routes it by transaction id.
    fn receive_datagrams(&mut self) {
        let mut datagram = [0u8; 65_536];
        while let Ok((n, from)) = self.socket.recv_from(&mut datagram) {
            let from = SocketAddr::new(from.ip().to_canonical(), from.port());
            self.client.handle_datagram(now(), from, &datagram[..n]);
            self.drain();
        }
    }

    /// Moves an HTTP connection along; a finished one goes to its machine.
    fn pump_connection(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let Some(result) = pump(conn) else { return };
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        match result {
            Ok(response) => {
                self.client
                    .handle_http_response(now(), conn.request, &response);
            }
            Err(kind) => {
                self.client
                    .handle_transport_error(now(), conn.request, kind);
            }
        }
    }

    /// Fires the client's timers when due, and drops connections past their deadline (the client
    /// has timed those requests out itself).
    fn fire_timers(&mut self, now: Instant) {
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        self.conns.retain(|_, c| c.deadline > now);
    }
}

/// The address to send to on our socket: IPv4 destinations become IPv4-mapped on a dual-stack
/// IPv6 socket.
fn on_socket(to: SocketAddr, dual_stack: bool) -> SocketAddr {
    match (to.ip(), dual_stack) {
        (IpAddr::V4(v4), true) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), to.port()),
        _ => to,
    }
}

type ConnectError = (RequestId, TransportError, String);

/// Opens a non-blocking connection for an HTTP request.
fn connect(request: HttpRequest, poll: &Poll, token: Token) -> Result<Conn, ConnectError> {
    let fail = |kind, why: String| (request.id, kind, why);
    let url = &request.url;
    if url.scheme() != Scheme::Http {
        return Err(fail(
            TransportError::Other,
            format!(
                "{}: this example speaks plain http only; the announce example does https",
                url.origin()
            ),
        ));
    }
    // The client resolved the name (and checked the addresses): connect to the first. When it
    // refuses, the report makes the client hand out the request again for the next address.
    let Some(&addr) = request.addresses.first() else {
        return Err(fail(TransportError::Other, "no address".to_owned()));
    };
    let mut stream = TcpStream::connect(addr).map_err(|e| {
        fail(
            TransportError::ConnectionRefused,
            format!("connect to {addr}: {e}"),
        )
    })?;
    poll.registry()
        .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
        .map_err(|e| fail(TransportError::Other, e.to_string()))?;
    let mut out = Vec::new();
    write_get_request(url, common::http::USER_AGENT, &mut out);
    Ok(Conn {
        request: request.id,
        stream,
        out,
        written: 0,
        reader: ResponseReader::new(DEFAULT_MAX_BODY_LEN),
        deadline: request.deadline,
    })
}

/// Moves bytes on a readiness event: `Some` once the response is complete or the connection failed.
fn pump(conn: &mut Conn) -> Option<Result<HttpResponse<'static>, TransportError>> {
    match conn.stream.take_error() {
        Ok(Some(e)) | Err(e) => return Some(Err(io_kind(&e))),
        Ok(None) => {}
    }
    while conn.written < conn.out.len() {
        match conn.stream.write(&conn.out[conn.written..]) {
            Ok(n) => conn.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected => {
                return None;
            }
            Err(e) => return Some(Err(io_kind(&e))),
        }
    }
    let mut buf = [0u8; 16 * 1024];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => {
                return Some(conn.reader.finish().map_err(|e| framing_kind(&e)));
            }
            Ok(n) => match conn.reader.feed(&buf[..n]) {
                Ok(Some(response)) => return Some(Ok(response)),
                Ok(None) => {}
                Err(e) => return Some(Err(framing_kind(&e))),
            },
            Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
            Err(e) => return Some(Err(io_kind(&e))),
        }
    }
}
