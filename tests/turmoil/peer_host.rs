//! A turmoil client host running one `bt_tracker::Client` on real turmoil sockets, in the loop
//! shape of `examples/tokio.rs`: drain (DNS queries, datagrams, HTTP requests, events), then wait
//! for a datagram, an HTTP outcome or the machine's deadline; time is tokio's virtual clock.
//!
//! - DNS: each query is answered with turmoil's resolver (`turmoil::lookup`), which knows the
//!   simulation's host names.
//! - UDP: one `turmoil::net::UdpSocket`; a send that fails is left to the machine's
//!   retransmission, as a lost datagram.
//! - HTTP: each request in a local task on a `turmoil::net::TcpStream` to the address the machine
//!   resolved, written with `write_get_request` and read with `ResponseReader`; the task gives up
//!   at the request's deadline (the machine times it out itself then).
//!
//! Everything the host sees is recorded in a [`PeerRecord`] and written to the run's shared log,
//! with the host's virtual time since it started.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Config, DnsAnswer, Event, HttpRequest, Progress, RequestId, RequestKind, Torrent, TorrentId,
    TransportError,
};
use bt_tracker::http::{DEFAULT_MAX_BODY_LEN, HttpResponse, ResponseReader, write_get_request};
use bt_tracker::{Client, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::time::{Instant as TokioInstant, timeout_at};
use turmoil::net::{TcpStream, UdpSocket};

use super::tracker_host::{HTTP_PORT, UDP_PORT};

/// The loop's wait, shared with `examples/tokio.rs`.
#[path = "../../examples/common/wait.rs"]
mod wait;
use super::{Log, virtual_now};

/// Loop turns a host may take: far more than a run needs (a few per datagram), so only a
/// machine that never settles hits it, and the run then fails instead of spinning.
const MAX_TURNS: usize = 100_000;

/// What one host saw, per torrent in the order they were added.
#[derive(Debug, Default)]
pub struct PeerRecord {
    /// The host's address in the simulation.
    pub ip: Option<IpAddr>,
    /// Each torrent's listening port (the `port` it announces).
    pub ports: Vec<u16>,
    /// Each torrent's events with the host's virtual time since it started.
    pub events: Vec<Vec<(Duration, Event)>>,
    /// Every request the machine handed out (UDP exchanges by their first datagram, HTTP
    /// requests), with what it was for, in order.
    pub requests: Vec<(RequestId, usize, Option<RequestKind>)>,
    /// `Client::events_superseded` at the end.
    pub superseded: u64,
    /// The loop ended because every torrent was stopped (not on `MAX_TURNS`).
    pub finished: bool,
}

/// One host's part of a scenario.
pub struct Peer {
    /// The host's index (its name is `peer{index}`): seeds its RNG and its torrents' ports.
    pub index: usize,
    /// Torrents added, all of them on every host (torrent `k` has info hash `[k + 1; 20]`).
    pub torrents: usize,
    /// The run's seed.
    pub seed: u64,
    /// When (host time since start) the host calls `Client::stop`.
    pub stop_at: Duration,
}

/// The tracker URL of torrent `k`: even ones announce over UDP, odd ones over HTTP, to the
/// host name "tracker" (resolved through the machine's DNS queries).
pub fn tracker_url(k: usize) -> String {
    if k.is_multiple_of(2) {
        format!("udp://tracker:{UDP_PORT}/announce")
    } else {
        format!("http://tracker:{HTTP_PORT}/announce")
    }
}

/// The info hash of torrent `k`.
pub fn info_hash(k: usize) -> InfoHash {
    InfoHash([k as u8 + 1; 20])
}

/// The port torrent `k` of host `index` announces.
pub fn port(index: usize, k: usize) -> u16 {
    6881 + (index * 100 + k) as u16
}

/// What comes back to the loop from an HTTP task.
type HttpOutcome = (RequestId, Result<HttpResponse<'static>, TransportError>);

impl Peer {
    /// The host's software.
    pub async fn run(self, record: Rc<RefCell<PeerRecord>>, log: Log) -> turmoil::Result {
        let start = virtual_now();
        let since = |at: Instant| at.saturating_duration_since(start);
        let name = format!("peer{}", self.index);
        let mut config = Config::default();
        // turmoil's hosts have private addresses (192.168.0.0/16), as a LAN tracker does.
        config.dns.allow_internal = true;
        let mut rng = ChaCha12Rng::seed_from_u64(self.seed ^ ((self.index as u64 + 1) << 32));
        let mut client = Client::new(config, &mut rng, start)?;
        let socket = UdpSocket::bind((IpAddr::from(Ipv4Addr::UNSPECIFIED), 0)).await?;
        let mut ids: Vec<TorrentId> = Vec::new();
        {
            let mut r = record.borrow_mut();
            r.ip = Some(turmoil::lookup(name.as_str()));
            for k in 0..self.torrents {
                let torrent = Torrent {
                    info_hash: info_hash(k),
                    peer_id: PeerId(peer_id(self.index, k)),
                    port: port(self.index, k),
                    progress: Progress {
                        left: 1000,
                        ..Progress::default()
                    },
                    key: None,
                };
                let url = TrackerUrl::parse(&tracker_url(k))?;
                ids.push(client.add(start, torrent, vec![vec![url]])?);
                r.ports.push(port(self.index, k));
                r.events.push(Vec::new());
            }
        }
        let (tx, mut rx) = unbounded_channel::<HttpOutcome>();
        let (mut datagram, mut out) = (vec![0u8; 65_536], Vec::new());
        let mut stopping = false;
        let mut dns_answers = Vec::new();
        for _ in 0..MAX_TURNS {
            // The drain rule: DNS queries, datagrams, HTTP requests, events.
            let now = virtual_now();
            while let Some(query) = client.poll_dns_query() {
                let ip = turmoil::lookup(query.host.as_str());
                log.line(format!(
                    "{name} {:?} dns {} -> {ip}",
                    since(now),
                    query.host
                ));
                dns_answers.push((query.id, ip));
            }
            for (id, ip) in dns_answers.drain(..) {
                let answer = DnsAnswer {
                    addresses: vec![ip],
                    ttl: None,
                };
                client.handle_dns_response(now, id, Ok(answer));
            }
            while let Some(t) = client.poll_transmit(&mut out) {
                note_request(&record, &ids, t.request, t.origin.torrent(), None);
                let _ = socket.try_send_to(&out, t.destination);
            }
            while let Some(request) = client.poll_http_request() {
                note_request(
                    &record,
                    &ids,
                    request.id,
                    request.origin.torrent(),
                    Some(request.kind),
                );
                log.line(format!(
                    "{name} {:?} http {}",
                    since(now),
                    request.url.as_str()
                ));
                tokio::task::spawn_local(get(request, tx.clone()));
            }
            while let Some((torrent, event)) = client.poll_event() {
                let k = ids
                    .iter()
                    .position(|id| *id == torrent)
                    .unwrap_or(usize::MAX);
                log.line(format!("{name} {:?} torrent {k}: {event:?}", since(now)));
                if let Some(events) = record.borrow_mut().events.get_mut(k) {
                    events.push((since(now), event));
                }
            }
            if stopping && client.is_empty() {
                let mut r = record.borrow_mut();
                r.superseded = client.events_superseded();
                r.finished = true;
                return Ok(());
            }

            let stop_at = start + self.stop_at;
            let sleep =
                wait::until_earliest([client.poll_timeout(), (!stopping).then_some(stop_at)]);
            tokio::select! {
                biased;
                received = socket.recv_from(&mut datagram) => {
                    let (n, from) = received?;
                    let now = fire_due_timers(&mut client);
                    client.handle_datagram(now, from, &datagram[..n]);
                }
                Some((request, outcome)) = rx.recv() => {
                    let now = fire_due_timers(&mut client);
                    match outcome {
                        Ok(response) => {
                            client.handle_http_response(now, request, &response);
                        }
                        Err(e) => {
                            log.line(format!("{name} {:?} transport {e:?}", since(now)));
                            client.handle_transport_error(now, request, e);
                        }
                    }
                }
                () = sleep => {}
            }
            let now = virtual_now();
            if client.poll_timeout().is_some_and(|t| t <= now) {
                client.handle_timeout(now);
            }
            if !stopping && now >= stop_at {
                stopping = true;
                log.line(format!("{name} {:?} stop", since(now)));
                client.stop(now);
            }
        }
        record.borrow_mut().superseded = client.events_superseded();
        Ok(())
    }
}

/// Records a request the first time its id is handed out (a UDP exchange sends several
/// datagrams under one id). A datagram carries no kind; the kind of a UDP exchange is taken
/// from its outcome, so only HTTP requests come with one here.
/// Timers before late inputs (`Announce`'s rule): fires the client's timer when its deadline has
/// passed, before the input that woke the loop is handed in. Returns the virtual time it used.
fn fire_due_timers(client: &mut Client) -> Instant {
    let now = virtual_now();
    if client.poll_timeout().is_some_and(|t| t <= now) {
        client.handle_timeout(now);
    }
    now
}

fn note_request(
    record: &Rc<RefCell<PeerRecord>>,
    ids: &[TorrentId],
    id: RequestId,
    torrent: Option<TorrentId>,
    kind: Option<RequestKind>,
) {
    let mut r = record.borrow_mut();
    if r.requests.iter().any(|(seen, _, _)| *seen == id) {
        return;
    }
    let k = torrent
        .and_then(|t| ids.iter().position(|id| *id == t))
        .unwrap_or(usize::MAX);
    r.requests.push((id, k, kind));
}

/// A peer id unique per host and torrent.
fn peer_id(index: usize, k: usize) -> [u8; 20] {
    let mut id = *b"-BT0001-000000000000";
    id[16] = b'0' + (index % 10) as u8;
    id[18] = b'0' + (k % 10) as u8;
    id
}

/// One GET on its own turmoil TCP connection, given up at the request's deadline.
async fn get(request: HttpRequest, tx: UnboundedSender<HttpOutcome>) {
    let deadline = TokioInstant::from_std(request.deadline);
    let outcome = match timeout_at(deadline, exchange(&request)).await {
        Ok(outcome) => outcome,
        // The machine has timed the request out itself: nothing to report.
        Err(_) => return,
    };
    let _ = tx.send((request.id, outcome));
}

/// Connects to the first address the machine resolved, writes the request, reads the response
/// until it is complete or the server closes.
async fn exchange(request: &HttpRequest) -> Result<HttpResponse<'static>, TransportError> {
    let to: SocketAddr = *request.addresses.first().ok_or(TransportError::Dns)?;
    let mut stream = TcpStream::connect(to)
        .await
        .map_err(|_| TransportError::ConnectionRefused)?;
    let mut out = Vec::new();
    write_get_request(&request.url, "bt-tracker-turmoil", &mut out);
    stream
        .write_all(&out)
        .await
        .map_err(|_| TransportError::ConnectionReset)?;
    let mut reader = ResponseReader::new(DEFAULT_MAX_BODY_LEN);
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| TransportError::ConnectionReset)?;
        if n == 0 {
            return reader.finish().map_err(|_| TransportError::ConnectionReset);
        }
        match reader.feed(&chunk[..n]) {
            Ok(Some(response)) => return Ok(response),
            Ok(None) => {}
            Err(_) => return Err(TransportError::BadResponse),
        }
    }
}
