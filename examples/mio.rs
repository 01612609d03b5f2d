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
//! `stopped` to the trackers that were sent `started`) and exits when all are done. `https://`
//! goes through rustls's sans-IO connection on the same non-blocking stream (`common/tls.rs`),
//! trusting webpki's roots and the CAs of `--ca-file`.
//!
//! One `Client` holds every torrent: it routes each datagram by its transaction id, shares one
//! connection id per tracker, paces the requests to each tracker (so `--torrents 10000` does not
//! send 10,000 packets at once) and gives the next deadline from a heap. It asks for each tracker
//! name once for all torrents; the lookups run on a resolver thread that wakes the poll with a
//! `mio::Waker`, so nothing on the loop thread ever blocks on DNS.

mod common;

use common::out::tell;
use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

use bt_tracker::announce::{DnsQueryId, HttpRequest, RequestId, TransportError};
use bt_tracker::client::Client;
use common::cli::{LoopArgs, loop_usage, parse_loop_args};
use common::fleet::{self, Fleet};
use common::http::io_kind;
use common::http_conn::HttpConn;
use common::now;
use common::resolver::{DnsResult, Resolver};
use common::tls::LazyTlsConfig;
use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};

const UDP: Token = Token(0);
const WAKER: Token = Token(1);

/// One HTTP(S) request on a non-blocking TCP connection.
type Conn = HttpConn<TcpStream>;

fn main() -> ExitCode {
    common::main_with(
        parse_loop_args(std::env::args().skip(1)),
        &loop_usage("mio"),
        "no torrent got an answer from any tracker",
        run,
    )
}

fn run(args: &LoopArgs) -> Result<bool, String> {
    // The TLS configuration (webpki's roots parsed) is built for the first `https://` request.
    let tls = LazyTlsConfig::new(args.ca_file.as_deref())?;
    // The torrents: from the command line, or synthetic ones on the embedded tracker.
    let (client, fleet, _embedded) = fleet::start(args)?;
    let start = fleet.start;

    // One UDP socket: dual-stack [::] for trackers on the internet, 127.0.0.1 for the demo.
    let socket = if args.targets.is_empty() {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0).into())
    } else {
        UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0).into())
            .or_else(|_| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0).into()))
    }
    .map_err(|e| format!("cannot open the UDP socket: {e}"))?;
    let mut lp = EventLoop::new(socket, client, fleet, tls).map_err(|e| e.to_string())?;
    let waker = Arc::new(Waker::new(lp.poll.registry(), WAKER).map_err(|e| e.to_string())?);
    lp.start_resolver(Arc::clone(&waker));
    {
        let waker = Arc::clone(&waker);
        ctrlc::set_handler(move || {
            common::interrupted();
            let _ = waker.wake();
        })
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    }

    let mut events = Events::with_capacity(1024);
    let mut stopping = false;
    let end = start + args.duration;
    let mut next_status = args.status.map(|every| start + every);
    loop {
        lp.drain();
        if lp.fleet.just_all_started() && args.until_answered && !stopping {
            stopping = true;
            lp.client.stop(now());
            continue;
        }
        if stopping && lp.client.is_empty() {
            break;
        }
        if let (Some(at), Some(every)) = (next_status, args.status)
            && now() >= at
        {
            lp.fleet.print_status(&lp.client, now());
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
        // Timers before late inputs (`Announce`'s rule): a deadline that passed while waiting
        // fires first, so a reply that came after it is late on every run.
        let now = now();
        lp.fire_timers(now);
        for event in &events {
            match event.token() {
                UDP => lp.receive_datagrams(),
                WAKER => lp.receive_dns_answers(),
                token => lp.pump_connection(token),
            }
        }
        if !stopping && (now >= end || common::was_interrupted()) {
            stopping = true;
            tell(format_args!(
                "stopping: sending stopped to every tracker that got started"
            ));
            lp.client.stop(now);
        }
    }
    Ok(lp.fleet.report(args.json))
}

/// The sockets, the machines and the connections of the loop.
struct EventLoop {
    poll: Poll,
    socket: UdpSocket,
    dual_stack: bool,
    client: Client,
    fleet: Fleet,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    tls: LazyTlsConfig,
    /// Looks names up off the loop thread; its answers come back on `dns_answers`.
    resolver: Option<Resolver>,
    dns_answers: Option<Receiver<(DnsQueryId, DnsResult)>>,
    /// The receive buffer, as large as a UDP datagram can be. On the heap: a 64 KiB array on
    /// the stack is touched whole by the stack probes on every call, and stays resident.
    datagram: Box<[u8]>,
    verbose: bool,
}

impl EventLoop {
    fn new(
        mut socket: UdpSocket,
        client: Client,
        fleet: Fleet,
        tls: LazyTlsConfig,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut socket, UDP, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            dual_stack: socket.local_addr()?.is_ipv6(),
            socket,
            verbose: fleet.verbose,
            client,
            fleet,
            conns: HashMap::new(),
            next_token: 2,
            tls,
            resolver: None,
            dns_answers: None,
            datagram: vec![0; 65_536].into_boxed_slice(),
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
            // Counted for the summary: a connect is 16 bytes, an announce at least 98.
            let sent = self.fleet.udp_sent.get_or_insert([0; 2]);
            match t.len {
                16 => sent[0] += 1,
                98.. => sent[1] += 1,
                _ => {}
            }
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
            match connect(request, &self.poll, token, &self.tls) {
                Ok(conn) => {
                    self.conns.insert(token, conn);
                    self.next_token += 1;
                }
                Err((id, kind, why)) => {
                    tell(format_args!("{why}"));
                    self.client.handle_transport_error(now(), id, kind);
                }
            }
        }
        self.fleet.drain_events(&mut self.client);
    }

    /// The client's next deadline or the earliest HTTP deadline.
    fn next_deadline(&self) -> Option<Instant> {
        let http = self.conns.values().map(|c| c.deadline);
        self.client.poll_timeout().into_iter().chain(http).min()
    }

    /// Reads every queued datagram into the client, which routes it by transaction id.
    fn receive_datagrams(&mut self) {
        while let Ok((n, from)) = self.socket.recv_from(&mut self.datagram) {
            let from = SocketAddr::new(from.ip().to_canonical(), from.port());
            self.client
                .handle_datagram(now(), from, &self.datagram[..n]);
            self.drain();
        }
    }

    /// Moves an HTTP connection along; a finished one goes to its machine.
    fn pump_connection(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let Some(result) = conn.pump() else { return };
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        match result {
            Ok(response) => {
                self.client
                    .handle_http_response(now(), conn.request, &response);
            }
            Err(failure) => {
                if self.verbose {
                    tell(format_args!("{}", failure.detail));
                }
                self.client
                    .handle_transport_error(now(), conn.request, failure.kind);
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

/// Opens a non-blocking connection for an HTTP(S) request.
fn connect(
    request: HttpRequest,
    poll: &Poll,
    token: Token,
    tls: &LazyTlsConfig,
) -> Result<Conn, ConnectError> {
    let fail = |kind, why: String| (request.id, kind, why);
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
    HttpConn::new(&request, stream, tls).map_err(|e| fail(e.kind, e.detail))
}
