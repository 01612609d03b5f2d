//! A blocking driver for one [`Announce`]: std UDP sockets, one thread per HTTP request, and a
//! channel that wakes the loop for a datagram, an HTTP answer or the machine's next deadline.
//!
//! The loop is the drain rule of the crate docs: ask the resolver every DNS query, send every
//! datagram, start every HTTP request, hand every event to the caller, then sleep until input or
//! `poll_timeout`. Lookups run on a resolver thread ([`Resolver`]): the loop never blocks on DNS,
//! and the machine gives every datagram and request its addresses.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Announce, DnsQueryId, Event, RequestId, TransportError};
use bt_tracker::http::HttpResponse;

use super::http::{self, TransportFailure};
use super::now;
use super::resolver::{DnsResult, Resolver};

/// The UDP sockets a driver sends from: one per address family, at least one.
#[derive(Debug)]
pub struct Sockets {
    /// The IPv4 socket.
    pub v4: Option<UdpSocket>,
    /// The IPv6 socket.
    pub v6: Option<UdpSocket>,
}

impl Sockets {
    /// Sockets on every interface (for trackers on the internet). Either family may be missing.
    pub fn any() -> io::Result<Self> {
        Self::bind(Ipv4Addr::UNSPECIFIED.into(), Ipv6Addr::UNSPECIFIED.into())
    }

    /// Sockets on `127.0.0.1` and `::1` only (for trackers on this machine, and tests).
    pub fn loopback() -> io::Result<Self> {
        Self::bind(Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into())
    }

    fn bind(v4: IpAddr, v6: IpAddr) -> io::Result<Self> {
        let v4 = UdpSocket::bind((v4, 0));
        let v6 = UdpSocket::bind((v6, 0));
        match (v4, v6) {
            (Err(e), Err(_)) => Err(e),
            (v4, v6) => Ok(Sockets {
                v4: v4.ok(),
                v6: v6.ok(),
            }),
        }
    }
}

/// What woke the loop.
enum Input {
    Datagram(SocketAddr, Vec<u8>),
    Http(RequestId, Result<HttpResponse<'static>, TransportFailure>),
    Dns(DnsQueryId, DnsResult),
    /// The user asked the program to end (Ctrl-C): see [`Interrupter`].
    Interrupt,
}

/// Ends a [`Driver::run`] from another thread (a Ctrl-C handler) with [`Ended::Interrupted`], so
/// the program can still send `stopped`. A [`Driver::stop`] under way is not cut short: it ends
/// by the machine's stop timeout anyway.
#[derive(Debug, Clone)]
pub struct Interrupter(Sender<Input>);

impl Interrupter {
    /// Wakes the driver's loop and ends its `run`.
    pub fn interrupt(&self) {
        let _ = self.0.send(Input::Interrupt);
    }
}

/// What the event handler wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep driving.
    Continue,
    /// Return from [`Driver::run`] (the machine keeps its state; call `run` again to go on).
    Break,
}

/// Why [`Driver::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The event handler asked to.
    Break,
    /// The machine emitted [`Event::Stopped`].
    Stopped,
    /// `until` passed.
    Deadline,
    /// An [`Interrupter`] asked to (outside [`Driver::stop`]).
    Interrupted,
}

/// One Announce on std sockets.
#[derive(Debug)]
pub struct Driver {
    /// The machine. Call its commands between runs; [`run`](Self::run) drains first.
    pub announce: Announce,
    sockets: Sockets,
    tx: Sender<Input>,
    rx: Receiver<Input>,
    quit: Arc<AtomicBool>,
    readers: Vec<JoinHandle<()>>,
    resolver: Resolver,
    details: HashMap<RequestId, String>,
    /// [`stop`](Self::stop) was called: an interrupt no longer ends a run.
    stopping: bool,
}

impl Driver {
    /// Starts a reader thread per socket.
    pub fn new(announce: Announce, sockets: Sockets) -> io::Result<Self> {
        let (tx, rx) = channel();
        let quit = Arc::new(AtomicBool::new(false));
        let mut readers = Vec::new();
        for socket in sockets.v4.iter().chain(&sockets.v6) {
            let socket = socket.try_clone()?;
            // The reader wakes up this often to notice that the driver was dropped.
            socket.set_read_timeout(Some(Duration::from_millis(100)))?;
            let (tx, quit) = (tx.clone(), Arc::clone(&quit));
            readers.push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !quit.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = socket.recv_from(&mut buf) {
                        let _ = tx.send(Input::Datagram(from, buf[..n].to_vec()));
                    }
                }
            }));
        }
        let answers = tx.clone();
        let resolver = Resolver::new(move |id, result| {
            let _ = answers.send(Input::Dns(id, result));
        });
        Ok(Driver {
            announce,
            sockets,
            tx,
            rx,
            quit,
            readers,
            resolver,
            details: HashMap::new(),
            stopping: false,
        })
    }

    /// A handle that ends the current or next [`run`](Self::run) from another thread.
    pub fn interrupter(&self) -> Interrupter {
        Interrupter(self.tx.clone())
    }

    /// The text of the transport failure reported for `request`, when there was one.
    pub fn transport_detail(&self, request: RequestId) -> Option<&str> {
        self.details.get(&request).map(String::as_str)
    }

    /// Drives the machine, handing each event to `on_event`, until it returns [`Flow::Break`], the
    /// machine stops, or `until` passes.
    pub fn run(&mut self, until: Instant, mut on_event: impl FnMut(&Self, Event) -> Flow) -> Ended {
        loop {
            while let Some(query) = self.announce.poll_dns_query() {
                self.resolver.ask(query);
            }
            self.send_datagrams();
            self.start_http_requests();
            while let Some(event) = self.announce.poll_event() {
                let stopped = matches!(event, Event::Stopped);
                if on_event(self, event) == Flow::Break {
                    return Ended::Break;
                }
                if stopped {
                    return Ended::Stopped;
                }
            }
            let wake = self.announce.poll_timeout().map_or(until, |t| t.min(until));
            let input = self.rx.recv_timeout(wake.saturating_duration_since(now()));
            // Timers that fell due while waiting go first: an answer that arrives after its
            // request's deadline is late, whatever order the wake-ups came in.
            if input.is_ok() && self.announce.poll_timeout().is_some_and(|t| t <= now()) {
                self.announce.handle_timeout(now());
            }
            match input {
                Ok(Input::Datagram(from, bytes)) => {
                    self.announce.handle_datagram(now(), from, &bytes);
                }
                Ok(Input::Http(id, Ok(response))) => {
                    self.announce.handle_http_response(now(), id, &response);
                }
                Ok(Input::Http(id, Err(e))) => self.transport_error(id, e),
                Ok(Input::Dns(id, result)) => {
                    self.announce.handle_dns_response(now(), id, result);
                }
                Ok(Input::Interrupt) if !self.stopping => return Ended::Interrupted,
                Ok(Input::Interrupt) => {}
                Err(RecvTimeoutError::Timeout) => {
                    if now() >= until {
                        return Ended::Deadline;
                    }
                    self.announce.handle_timeout(now());
                }
                Err(RecvTimeoutError::Disconnected) => return Ended::Deadline,
            }
        }
    }

    /// Stops the machine (one `stopped` to every tracker that got `started`) and drives it until
    /// it is done or `until` passes.
    pub fn stop(&mut self, until: Instant, on_event: impl FnMut(&Self, Event) -> Flow) -> Ended {
        self.stopping = true;
        self.announce.stop(now());
        self.run(until, on_event)
    }

    fn transport_error(&mut self, id: RequestId, e: TransportFailure) {
        self.details.insert(id, e.detail);
        self.announce.handle_transport_error(now(), id, e.kind);
    }

    fn send_datagrams(&mut self) {
        let mut buf = Vec::new();
        while let Some(t) = self.announce.poll_transmit(&mut buf) {
            let to = t.destination;
            let socket = match to {
                SocketAddr::V4(_) => self.sockets.v4.as_ref(),
                SocketAddr::V6(_) => self.sockets.v6.as_ref(),
            };
            // A failure on one address makes the machine try the tracker's next one.
            let sent = match socket {
                None => Err(TransportFailure::new(
                    TransportError::Other,
                    format!("no UDP socket of {to}'s address family"),
                )),
                Some(socket) => socket.send_to(&buf, to).map(drop).map_err(|e| {
                    TransportFailure::new(TransportError::Other, format!("send to {to}: {e}"))
                }),
            };
            if let Err(e) = sent {
                self.transport_error(t.request, e);
            }
        }
    }

    fn start_http_requests(&mut self) {
        while let Some(request) = self.announce.poll_http_request() {
            let tx = self.tx.clone();
            // The thread ends by the request's deadline; its answer is dropped if we are gone.
            std::thread::spawn(move || {
                let result = http::get(&request);
                let _ = tx.send(Input::Http(request.id, result));
            });
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Relaxed);
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}
