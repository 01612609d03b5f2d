//! Many torrents on tokio: one `Client` on a current-thread runtime, a UDP socket per address
//! family, `http://` and `https://` through reqwest, timers from `poll_timeout`.
//!
//! ```text
//! cargo run --example tokio                             # 100 torrents, embedded loopback tracker
//! cargo run --example tokio -- --torrents 1000 --duration 5
//! cargo run --example tokio -- 'magnet:?xt=urn:btih:...&tr=udp://...' file.torrent --duration 60
//! cargo run --example tokio -- --tracker https://localhost:8443/announce --ca-file ca.pem
//! ```
//!
//! The same targets, flags and summary as the mio example. The machine stays on the loop's task;
//! what may wait (the machine's DNS queries, answered with `tokio::net::lookup_host`; an HTTP
//! request) runs in a task of its own and comes back to the loop through a channel, so the loop
//! never blocks. HTTP connects only to the addresses the machine resolved and checked
//! (`HttpRequest::addresses`), through reqwest's resolver hook. reqwest is set up to be only a transport:
//! redirects off (the machine decides on a 3xx, and refuses an https-to-http downgrade), no
//! proxy, no decompression (the crate inflates gzip itself, `decode_content`), the body capped at
//! the machine's limit, failures mapped to `TransportError` by their type. Ctrl-C (or the end of
//! `--duration`) sends `stopped` to every tracker that got `started` and waits for each torrent's
//! `Stopped`.

mod common;

use common::out::tell;
use std::collections::HashMap;
use std::error::Error;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use bt_tracker::announce::{
    DnsAnswer, DnsError, DnsQuery, DnsQueryId, HttpRequest, RequestId, TransportError,
};
use bt_tracker::http::{DEFAULT_MAX_BODY_LEN, HttpResponse, decode_content};
use common::cli::{LoopArgs, loop_usage, parse_loop_args};
use common::fleet;
use common::http::{TransportFailure, USER_AGENT, framing_kind, io_kind};
use common::now;
use tokio::net::{UdpSocket, lookup_host};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

fn main() -> ExitCode {
    common::main_with(
        parse_loop_args(std::env::args().skip(1)),
        &loop_usage("tokio"),
        "no torrent got an answer from any tracker",
        |args| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
            runtime.block_on(run(args))
        },
    )
}

/// What comes back to the loop from the tasks.
enum Input {
    /// The answer to one of the machine's DNS queries.
    Dns(DnsQueryId, Result<DnsAnswer, DnsError>),
    /// An HTTP request's outcome.
    Http(RequestId, Result<HttpResponse<'static>, TransportFailure>),
}

/// What woke the loop: a datagram (its sender, whether it came on the IPv6 socket, and its
/// length), an input from a task, or Ctrl-C.
enum Woke {
    Datagram(SocketAddr, bool, usize),
    Input(Input),
    CtrlC,
}

async fn run(args: &LoopArgs) -> Result<bool, String> {
    let tls = common::tls::client_config(args.ca_file.as_deref())?;
    let (mut client, mut fleet, _embedded) = fleet::start(args)?;
    let sockets = Sockets::bind(args.targets.is_empty())?;
    let http = Http::new(tls)?;
    let (tx, mut rx) = unbounded_channel();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut ctrl_c_seen = false;
    let (mut buf4, mut buf6) = (vec![0u8; 65_536], vec![0u8; 65_536]);
    let end = fleet.start + args.duration;
    let mut next_status = args.status.map(|every| fleet.start + every);
    let mut stopping = false;
    loop {
        // The drain rule: DNS queries, datagrams, HTTP requests, events.
        while let Some(query) = client.poll_dns_query() {
            resolve(query, &tx);
        }
        let mut out = Vec::new();
        while let Some(t) = client.poll_transmit(&mut out) {
            sockets.send(&out, t.destination);
        }
        while let Some(request) = client.poll_http_request() {
            http.start(request, &tx);
        }
        fleet.drain_events(&mut client);
        if fleet.just_all_started() && args.until_answered && !stopping {
            stopping = true;
            client.stop(now());
            continue;
        }
        if stopping && client.is_empty() {
            break;
        }
        if let (Some(at), Some(every)) = (next_status, args.status)
            && now() >= at
        {
            fleet.print_status(&client, now());
            next_status = Some(at + every);
        }

        // Sleep until input or the earliest deadline: a timer of the client, the next status
        // table, or the end of the run.
        let sleep = common::wait::until_earliest([
            client.poll_timeout(),
            next_status,
            (!stopping).then_some(end),
        ]);
        let woke = tokio::select! {
            r = recv(sockets.v4.as_ref(), &mut buf4) => {
                r.ok().map(|(n, from)| Woke::Datagram(from, false, n))
            }
            r = recv(sockets.v6.as_ref(), &mut buf6) => {
                r.ok().map(|(n, from)| {
                    Woke::Datagram(SocketAddr::new(from.ip().to_canonical(), from.port()), true, n)
                })
            }
            Some(input) = rx.recv() => Some(Woke::Input(input)),
            () = sleep => None,
            _ = &mut ctrl_c, if !ctrl_c_seen => Some(Woke::CtrlC),
        };
        // Timers before late inputs: a deadline that passed while the loop slept fires before
        // the input that woke it is handed in, so a reply after its deadline is late on every run.
        let now = now();
        if client.poll_timeout().is_some_and(|t| t <= now) {
            client.handle_timeout(now);
        }
        match woke {
            Some(Woke::Datagram(from, false, n)) => {
                client.handle_datagram(now, from, &buf4[..n]);
            }
            Some(Woke::Datagram(from, true, n)) => {
                client.handle_datagram(now, from, &buf6[..n]);
            }
            Some(Woke::Input(Input::Dns(id, result))) => {
                client.handle_dns_response(now, id, result);
            }
            Some(Woke::Input(Input::Http(request, Err(e)))) => {
                if fleet.verbose {
                    tell(format_args!("{}", e.detail));
                }
                client.handle_transport_error(now, request, e.kind);
            }
            Some(Woke::Input(Input::Http(request, Ok(response)))) => {
                client.handle_http_response(now, request, &response);
            }
            // Heard while stopping too (the run then exits 130 once its `stopped` are done); the
            // signal future is done after its first Ctrl-C.
            Some(Woke::CtrlC) => {
                ctrl_c_seen = true;
                common::interrupted();
                if !stopping {
                    stopping = true;
                    tell(format_args!(
                        "Ctrl-C: sending stopped to every tracker that got started"
                    ));
                    client.stop(now);
                }
            }
            None => {}
        }
        if !stopping && now >= end {
            stopping = true;
            tell(format_args!(
                "stopping: sending stopped to every tracker that got started"
            ));
            client.stop(now);
        }
    }
    Ok(fleet.report(args.json))
}

/// The one place names are looked up: the machine's query, answered in a task by tokio's resolver
/// (the system's, on a blocking-pool thread, so the loop never waits). The machine asks once per
/// name for every torrent, caches the answer and checks the addresses (no TTL from getaddrinfo:
/// it keeps them for its default lifetime).
fn resolve(query: DnsQuery, tx: &UnboundedSender<Input>) {
    let tx = tx.clone();
    tokio::spawn(async move {
        let result = common::resolver::answer(lookup_host((query.host.as_str(), 0)).await);
        let _ = tx.send(Input::Dns(query.id, result));
    });
}

/// A UDP socket per address family (at least one): tokio's for receiving, and a std handle of the
/// same socket for sending from the drain without waiting (tokio's `try_send_to` reports
/// `WouldBlock` until the reactor has seen the socket writable once).
struct Sockets {
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    send4: Option<std::net::UdpSocket>,
    send6: Option<std::net::UdpSocket>,
}

impl Sockets {
    /// On loopback for the demo, on every interface for trackers on the internet.
    fn bind(loopback: bool) -> Result<Self, String> {
        let (v4, v6): (IpAddr, IpAddr) = if loopback {
            (Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into())
        } else {
            (Ipv4Addr::UNSPECIFIED.into(), Ipv6Addr::UNSPECIFIED.into())
        };
        let open = |ip: IpAddr| -> io::Result<(UdpSocket, std::net::UdpSocket)> {
            let socket = std::net::UdpSocket::bind((ip, 0))?;
            socket.set_nonblocking(true)?;
            let sender = socket.try_clone()?;
            Ok((UdpSocket::from_std(socket)?, sender))
        };
        match (open(v4), open(v6)) {
            (Err(e), Err(_)) => Err(format!("cannot open a UDP socket: {e}")),
            (v4, v6) => {
                let (v4, send4) = v4.ok().unzip();
                let (v6, send6) = v6.ok().unzip();
                Ok(Sockets {
                    v4,
                    v6,
                    send4,
                    send6,
                })
            }
        }
    }

    /// Sends without waiting: a full send buffer drops the datagram, and the client's
    /// retransmission covers it, as for any lost datagram.
    fn send(&self, datagram: &[u8], to: SocketAddr) {
        let socket = if to.is_ipv4() {
            &self.send4
        } else {
            &self.send6
        };
        if let Some(socket) = socket {
            let _ = socket.send_to(datagram, to);
        }
    }
}

/// The next datagram on `socket`; never, without one.
async fn recv(socket: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match socket {
        Some(socket) => socket.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// HTTP(S) through reqwest, as a transport only. Its resolver hook answers with the addresses the
/// machine resolved and checked for the request ([`HttpRequest::addresses`]), so reqwest never
/// looks a name up again and never reaches an address the machine's policy refused.
struct Http {
    client: reqwest::Client,
    pins: Pins,
}

/// Host name to the addresses of the latest request to it.
type Pins = Arc<Mutex<HashMap<String, Vec<SocketAddr>>>>;

impl Http {
    fn new(tls: rustls::ClientConfig) -> Result<Self, String> {
        let pins = Pins::default();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(USER_AGENT)
            .dns_resolver(Pinned(Arc::clone(&pins)))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http { client, pins })
    }

    /// Starts the request in a task; its outcome comes back through `tx`.
    fn start(&self, request: HttpRequest, tx: &UnboundedSender<Input>) {
        if let Ok(mut pins) = self.pins.lock() {
            pins.insert(request.url.host().to_owned(), request.addresses.clone());
        }
        let (client, tx) = (self.client.clone(), tx.clone());
        tokio::spawn(async move {
            let result = get(&client, &request).await;
            let _ = tx.send(Input::Http(request.id, result));
        });
    }
}

/// One GET, given up at the request's deadline, the body read up to the machine's cap and
/// decoded by the crate.
async fn get(
    client: &reqwest::Client,
    request: &HttpRequest,
) -> Result<HttpResponse<'static>, TransportFailure> {
    let left = request.deadline.saturating_duration_since(now());
    let mut response = client
        .get(request.url.as_str())
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .timeout(left)
        .send()
        .await
        .map_err(|e| failure(&e))?;
    let header = |name| {
        let value = response.headers().get(name)?;
        value.to_str().ok().map(str::to_owned)
    };
    let (location, encoding) = (
        header(reqwest::header::LOCATION),
        header(reqwest::header::CONTENT_ENCODING),
    );
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failure(&e))? {
        if body.len() + chunk.len() > DEFAULT_MAX_BODY_LEN {
            return Err(TransportFailure::new(
                TransportError::BadResponse,
                format!("the response body is larger than {DEFAULT_MAX_BODY_LEN} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let body = decode_content(encoding.as_deref(), body, DEFAULT_MAX_BODY_LEN)
        .map_err(|e| TransportFailure::new(framing_kind(&e), e))?;
    Ok(HttpResponse {
        status,
        location: location.map(Into::into),
        body: body.into(),
    })
}

/// The transport error a reqwest error means to the machine, found by the types in its chain of
/// causes (never by its text): the resolver's own failure, then a TLS failure (rustls's error,
/// wrapped in I/O errors by the connector), then an I/O error's kind, then reqwest's own classes.
fn failure(e: &reqwest::Error) -> TransportFailure {
    let causes = causes(e);
    let resolve = causes.iter().find_map(|c| c.downcast_ref::<ResolveError>());
    let tls = causes.iter().any(|c| c.is::<rustls::Error>());
    let io = causes
        .iter()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .map(io_kind)
        .find(|k| *k != TransportError::Other);
    let kind = if let Some(resolve) = resolve {
        resolve.0.kind
    } else if tls {
        TransportError::Tls
    } else if let Some(kind) = io {
        kind
    } else if e.is_connect() {
        TransportError::ConnectionRefused
    } else if e.is_body() || e.is_decode() {
        TransportError::ConnectionReset
    } else {
        // Timeouts among them: the machine times the request out itself at its deadline.
        TransportError::Other
    };
    // What a person reads: the causes, without reqwest's first line (the whole announce URL).
    let mut detail: Vec<String> = Vec::new();
    for cause in causes.iter().skip(1).map(ToString::to_string) {
        if detail.last() != Some(&cause) && !detail.last().is_some_and(|d| d.ends_with(&cause)) {
            detail.push(cause);
        }
    }
    let origin = e.url().map_or_else(String::new, |u| {
        format!("{}: ", u.origin().ascii_serialization())
    });
    TransportFailure::new(kind, format!("{origin}{}", detail.join(": ")))
}

/// `e` and its causes, looking inside I/O errors (whose `source` skips the error they wrap), at
/// most 16.
fn causes<'a>(e: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next.filter(|_| out.len() < 16) {
        out.push(err);
        next = match err.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn Error + 'static)),
            None => err.source(),
        };
    }
    out
}

/// A name the machine gave no addresses for.
#[derive(Debug)]
struct ResolveError(TransportFailure);

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.detail)
    }
}

impl Error for ResolveError {}

/// reqwest's resolver: the addresses the machine handed out with the request.
struct Pinned(Pins);

impl reqwest::dns::Resolve for Pinned {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let pinned = self
            .0
            .lock()
            .ok()
            .and_then(|p| p.get(name.as_str()).cloned());
        Box::pin(async move {
            // reqwest puts the URL's port on the addresses.
            match pinned.filter(|a| !a.is_empty()) {
                Some(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                None => {
                    let why = format!("{}: no address from the client", name.as_str());
                    let e = TransportFailure::new(TransportError::Dns, why);
                    Err(Box::new(ResolveError(e)) as Box<dyn Error + Send + Sync>)
                }
            }
        })
    }
}
