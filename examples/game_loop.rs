//! Tracker announces inside a game's frame loop: a fixed 16 ms tick, non-blocking std sockets,
//! and a time budget for the client's share of each frame.
//!
//! ```text
//! cargo run --example game_loop                          # 100 torrents, embedded loopback tracker
//! cargo run --example game_loop -- --torrents 1000 --duration 5
//! cargo run --release --example game_loop -- 'magnet:?xt=urn:btih:...&tr=udp://...'
//! ```
//!
//! Each tick first fires the client's due timers (before any input: a reply that comes after its
//! request's deadline is late, see "Timers before late inputs" on `Announce`), then hands the
//! client all of the tick's input (every datagram the sockets hold, every HTTP connection's
//! progress, the answers to the client's DNS queries), adds torrents while the frame's budget
//! lasts, then drains it once (DNS queries asked, datagrams out, HTTP requests started, events
//! counted), then sleeps to the next tick.
//!
//! No call waits: the UDP and TCP sockets are non-blocking, and the client's DNS queries are
//! answered on a resolver thread (`common/resolver.rs`).
//!
//! Torrents are added across frames, not all in the first one: each frame adds them only until
//! half the client's share of the frame ([`BUDGET`]) is spent (at least one per frame; the other
//! half is for input and the drain), so that `--torrents 200000` never stalls a frame for
//! seconds (adding them all in one frame took 3.7 s in a debug build). The work per frame is
//! bounded, so the time until every torrent announces grows with their count: a debug build on a
//! busy 2-core machine added about 6 a frame, a release build adds many times more; a run that
//! stops first says how many were added. `--until-answered` waits for the last one.
//!
//! The summary adds the frame times: the worst over the run and how many frames went over the
//! client's budget of [`BUDGET`]. Same targets and flags as the mio example.

mod common;

use common::out::{count, tell};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use bt_tracker::announce::{DnsQueryId, HttpRequest, RequestId, TransportError};
use bt_tracker::client::Client;
use common::cli::{LoopArgs, loop_usage, parse_loop_args};
use common::fleet::{self, Fleet};
use common::http::TransportFailure;
use common::http_conn::{HttpConn, connect_nonblocking};
use common::now;
use common::resolver::{DnsResult, Resolver};
use common::tls::LazyTlsConfig;

/// The frame period.
const TICK: Duration = Duration::from_millis(16);
/// The tracker client's share of a frame: the rest is the game's.
const BUDGET: Duration = Duration::from_millis(1);

fn main() -> ExitCode {
    common::main_with(
        parse_loop_args(std::env::args().skip(1)),
        &loop_usage("game_loop"),
        "no torrent got an answer from any tracker",
        run,
    )
}

/// Frame times of the run.
#[derive(Debug, Default)]
struct Frames {
    count: u64,
    total: Duration,
    worst: Duration,
    over_budget: u64,
}

impl Frames {
    fn record(&mut self, took: Duration) {
        self.count += 1;
        self.total += took;
        self.worst = self.worst.max(took);
        self.over_budget += u64::from(took > BUDGET);
    }
}

fn run(args: &LoopArgs) -> Result<bool, String> {
    let tls = LazyTlsConfig::new(args.ca_file.as_deref())?;
    let (client, fleet, _embedded) = fleet::prepare(args)?;
    ctrlc::set_handler(common::interrupted)
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    let mut game = Game::new(client, fleet, tls, args.targets.is_empty())?;
    let mut frames = Frames::default();
    let end = game.fleet.start + args.duration;
    let mut next_status = args.status.map(|every| game.fleet.start + every);
    let mut stopping = false;
    let mut tick = now();
    loop {
        let frame = now();
        game.take_input(frame);
        if !stopping && (frame >= end || common::was_interrupted()) {
            stopping = true;
            tell(format_args!(
                "stopping: sending stopped to every tracker that got started"
            ));
            game.client.stop(frame);
        }
        if !stopping {
            // Bounded work: torrents are added only while the frame's budget lasts.
            game.fleet
                .add_pending(&mut game.client, Some(frame + BUDGET / 2));
        }
        game.drain();
        if game.fleet.just_all_started() && args.until_answered && !stopping {
            stopping = true;
            game.client.stop(now());
            game.drain();
        }
        frames.record(now().duration_since(frame));
        if stopping && game.client.is_empty() {
            break;
        }
        if let (Some(at), Some(every)) = (next_status, args.status)
            && now() >= at
        {
            game.fleet.print_status(&game.client, now());
            next_status = Some(at + every);
        }
        // The game renders here. Next tick on the 16 ms grid (a late frame skips, never bunches).
        tick += TICK;
        let now = now();
        if tick < now {
            tick = now;
        }
        std::thread::sleep(tick - now);
    }
    let answered = game.fleet.report(args.json);
    if !game.fleet.all_added() {
        tell(format_args!(
            "stopped before every torrent was added: {} of {} (each frame adds only what fits in its budget; a longer --duration or --release adds more)",
            game.fleet.swarms.len(),
            game.fleet.count
        ));
    }
    if !args.json {
        let mean = frames.total / u32::try_from(frames.count.max(1)).unwrap_or(u32::MAX);
        common::out::say(format_args!(
            "{} of {} ms: the client took {:.3} ms at worst, {:.3} ms on average; {} over its {} ms budget",
            count(frames.count, "frame"),
            TICK.as_millis(),
            frames.worst.as_secs_f64() * 1e3,
            mean.as_secs_f64() * 1e3,
            count(frames.over_budget, "frame"),
            BUDGET.as_millis()
        ));
    }
    Ok(answered)
}

/// The client, its sockets and connections, and what waits for the lookup thread.
struct Game {
    client: Client,
    fleet: Fleet,
    tls: LazyTlsConfig,
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    conns: Vec<HttpConn<TcpStream>>,
    /// Answers the machine's DNS queries on a thread of its own; the answers come back on
    /// `dns_answers` and are handed in on the next tick.
    resolver: Resolver,
    dns_answers: Receiver<(DnsQueryId, DnsResult)>,
    datagram: Vec<u8>,
}

impl Game {
    fn new(
        client: Client,
        fleet: Fleet,
        tls: LazyTlsConfig,
        loopback: bool,
    ) -> Result<Self, String> {
        let (v4, v6): (IpAddr, IpAddr) = if loopback {
            (Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into())
        } else {
            (Ipv4Addr::UNSPECIFIED.into(), Ipv6Addr::UNSPECIFIED.into())
        };
        let open = |ip: IpAddr| {
            let socket = UdpSocket::bind((ip, 0))?;
            socket.set_nonblocking(true)?;
            Ok::<_, std::io::Error>(socket)
        };
        let (v4, v6) = match (open(v4), open(v6)) {
            (Err(e), Err(_)) => return Err(format!("cannot open a UDP socket: {e}")),
            (v4, v6) => (v4.ok(), v6.ok()),
        };
        let (tx, dns_answers) = channel();
        let resolver = Resolver::new(move |id, result| {
            let _ = tx.send((id, result));
        });
        Ok(Game {
            client,
            fleet,
            tls,
            v4,
            v6,
            conns: Vec::new(),
            resolver,
            dns_answers,
            datagram: vec![0; 65_536],
        })
    }

    /// The client's due timers fire first (timers before late inputs), then everything that
    /// arrived since the last tick goes to the client.
    fn take_input(&mut self, now: Instant) {
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        for socket in [&self.v4, &self.v6].into_iter().flatten() {
            loop {
                match socket.recv_from(&mut self.datagram) {
                    Ok((n, from)) => {
                        let from = SocketAddr::new(from.ip().to_canonical(), from.port());
                        self.client.handle_datagram(now, from, &self.datagram[..n]);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    // An ICMP error queued on the socket, say: the next datagram may be fine.
                    Err(_) => break,
                }
            }
        }
        let mut done = Vec::new();
        self.conns.retain_mut(|conn| {
            if conn.deadline <= now {
                return false; // the client times the request out itself
            }
            match conn.pump() {
                Some(result) => {
                    done.push((conn.request, result));
                    false
                }
                None => true,
            }
        });
        for (request, result) in done {
            match result {
                Ok(response) => {
                    self.client.handle_http_response(now, request, &response);
                }
                Err(e) => self.fail(now, request, e),
            }
        }
        while let Ok((id, result)) = self.dns_answers.try_recv() {
            self.client.handle_dns_response(now, id, result);
        }
    }

    /// The one drain of the tick: DNS queries, datagrams, HTTP requests, events.
    fn drain(&mut self) {
        let now = now();
        while let Some(query) = self.client.poll_dns_query() {
            self.resolver.ask(query);
        }
        let mut out = Vec::new();
        while let Some(t) = self.client.poll_transmit(&mut out) {
            self.send(now, t.request, &out, &[t.destination]);
        }
        while let Some(request) = self.client.poll_http_request() {
            // The machine resolved the name and checked the addresses.
            let addrs = request.addresses.clone();
            self.connect(now, request, &addrs);
        }
        self.fleet.drain_events(&mut self.client);
    }

    /// Sends a datagram from the socket of the first address's family that has one.
    fn send(&mut self, now: Instant, request: RequestId, datagram: &[u8], addrs: &[SocketAddr]) {
        let with_socket = addrs.iter().find_map(|&to| {
            let socket = if to.is_ipv4() { &self.v4 } else { &self.v6 };
            socket.as_ref().map(|s| (s, to))
        });
        let Some((socket, to)) = with_socket else {
            let why = format!("no UDP socket for the family of {addrs:?}");
            return self.fail(
                now,
                request,
                TransportFailure::new(TransportError::Other, why),
            );
        };
        // A full send buffer drops the datagram; the client's retransmission covers it.
        let _ = socket.send_to(datagram, to);
    }

    /// Starts an HTTP(S) request on a non-blocking connection to the first address (a refusal is
    /// reported, and the machine hands the request out again for the next one).
    fn connect(&mut self, now: Instant, request: HttpRequest, addrs: &[SocketAddr]) {
        let Some(&addr) = addrs.first() else {
            let why = format!("{}: no address", request.url.host());
            let e = TransportFailure::new(TransportError::Other, why);
            return self.fail(now, request.id, e);
        };
        let started = connect_nonblocking(addr)
            .map_err(|e| TransportFailure::new(TransportError::ConnectionRefused, e))
            .and_then(|stream| HttpConn::new(&request, stream, &self.tls));
        match started {
            Ok(conn) => self.conns.push(conn),
            Err(e) => self.fail(now, request.id, e),
        }
    }

    fn fail(&mut self, now: Instant, request: RequestId, e: TransportFailure) {
        if self.fleet.verbose {
            tell(format_args!("{}", e.detail));
        }
        self.client.handle_transport_error(now, request, e.kind);
    }
}
