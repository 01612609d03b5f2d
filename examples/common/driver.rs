//! A blocking driver for one [`Announce`]: std UDP sockets, one thread per HTTP request, and a
//! channel that wakes the loop for a datagram, an HTTP answer or the machine's next deadline.
//!
//! The loop is the drain rule of the crate docs: send every datagram, start every HTTP request,
//! hand every event to the caller, then sleep until input or `poll_timeout`.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Announce, Event, RequestId, TrackerId, TransportError};
use bt_tracker::http::HttpResponse;

use super::http::{self, TransportFailure};
use super::now;

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
    resolved: HashMap<TrackerId, Result<SocketAddr, TransportFailure>>,
    details: HashMap<RequestId, String>,
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
        Ok(Driver {
            announce,
            sockets,
            tx,
            rx,
            quit,
            readers,
            resolved: HashMap::new(),
            details: HashMap::new(),
        })
    }

    /// The text of the transport failure reported for `request`, when there was one.
    pub fn transport_detail(&self, request: RequestId) -> Option<&str> {
        self.details.get(&request).map(String::as_str)
    }

    /// Drives the machine, handing each event to `on_event`, until it returns [`Flow::Break`], the
    /// machine stops, or `until` passes.
    pub fn run(&mut self, until: Instant, mut on_event: impl FnMut(&Self, Event) -> Flow) -> Ended {
        loop {
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
            let sent = t
                .destination
                .map_or_else(|| self.resolve(t.origin.tracker()), Ok)
                .and_then(|to| {
                    let socket = match to {
                        SocketAddr::V4(_) => self.sockets.v4.as_ref(),
                        SocketAddr::V6(_) => self.sockets.v6.as_ref(),
                    };
                    let no_socket = || format!("no UDP socket of {to}'s address family");
                    let socket = socket
                        .ok_or_else(|| TransportFailure::new(TransportError::Other, no_socket()))?;
                    socket.send_to(&buf, to).map(drop).map_err(|e| {
                        TransportFailure::new(TransportError::Other, format!("send to {to}: {e}"))
                    })
                });
            if let Err(e) = sent {
                self.transport_error(t.request, e);
            }
        }
    }

    /// The tracker's first address of a family with a socket, looked up once.
    fn resolve(&mut self, tracker: Option<TrackerId>) -> Result<SocketAddr, TransportFailure> {
        let unknown = || TransportFailure::new(TransportError::Other, "no such tracker".to_owned());
        let tracker = tracker.ok_or_else(unknown)?;
        if let Some(found) = self.resolved.get(&tracker) {
            return found.clone();
        }
        let url = self.announce.tracker_url(tracker).ok_or_else(unknown)?;
        let usable = |a: &&SocketAddr| match a {
            SocketAddr::V4(_) => self.sockets.v4.is_some(),
            SocketAddr::V6(_) => self.sockets.v6.is_some(),
        };
        let found = http::resolve(url, true).and_then(|addrs| {
            addrs.iter().find(usable).copied().ok_or_else(|| {
                let why = format!("{} has no address of a family with a socket", url.host());
                TransportFailure::new(TransportError::Dns, why)
            })
        });
        self.resolved.insert(tracker, found.clone());
        found
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
