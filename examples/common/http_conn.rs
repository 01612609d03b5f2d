//! One HTTP(S) request of the machine on a non-blocking TCP stream (mio's or std's): the request
//! written as the socket takes it, the response fed to the crate's [`ResponseReader`], `https://`
//! through [`TlsSession`] (rustls's sans-IO connection). Nothing here blocks: [`HttpConn::pump`]
//! moves what the socket allows and says whether the request is done.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::http::{TransportFailure, USER_AGENT, framing_kind, io_kind};
use super::tls::{Pumped, TlsConfigSource, TlsSession};
use bt_tracker::Scheme;
use bt_tracker::announce::{HttpRequest, RequestId, TransportError};
use bt_tracker::http::{DEFAULT_MAX_BODY_LEN, HttpResponse, ResponseReader, write_get_request};

/// A non-blocking TCP stream: bytes, and the pending socket error (a failed connect).
pub trait Socket: Read + Write {
    /// The socket's pending error (`SO_ERROR`), cleared.
    fn take_error(&self) -> io::Result<Option<io::Error>>;
}

impl Socket for TcpStream {
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        TcpStream::take_error(self)
    }
}

impl Socket for mio::net::TcpStream {
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        mio::net::TcpStream::take_error(self)
    }
}

/// Plain bytes on the socket, or a TLS session over it.
#[derive(Debug)]
enum Wire {
    Plain { out: Vec<u8>, written: usize },
    Tls(Box<TlsSession>),
}

/// One request in flight on its own connection (`Connection: close`).
#[derive(Debug)]
pub struct HttpConn<S> {
    /// The machine's request id.
    pub request: RequestId,
    /// The request's deadline; the machine times the request out itself then.
    pub deadline: Instant,
    /// The connection (connecting, or connected).
    pub stream: S,
    wire: Wire,
    plaintext: Vec<u8>,
    reader: ResponseReader,
}

impl<S: Socket> HttpConn<S> {
    /// The request on `stream` (a connect in progress is fine): over TLS with the configuration
    /// of `tls` for an `https://` URL (asked for only then), in the clear for `http://`.
    pub fn new(
        request: &HttpRequest,
        stream: S,
        tls: &(impl TlsConfigSource + ?Sized),
    ) -> Result<Self, TransportFailure> {
        let mut out = Vec::new();
        write_get_request(&request.url, USER_AGENT, &mut out);
        let wire = match request.url.scheme() {
            Scheme::Https => Wire::Tls(Box::new(TlsSession::new(
                tls.tls_config()?,
                request.url.host(),
                &out,
            )?)),
            _ => Wire::Plain { out, written: 0 },
        };
        Ok(HttpConn {
            request: request.id,
            deadline: request.deadline,
            stream,
            wire,
            plaintext: Vec::new(),
            reader: ResponseReader::new(DEFAULT_MAX_BODY_LEN),
        })
    }

    /// Moves bytes on a readiness event (or a tick): `Some` once the response is complete or the
    /// request failed, `None` while it waits for the socket. Reads until the socket has nothing
    /// more (mio's readiness is edge-triggered), feeding the reader after every read, so its cap
    /// bounds what is held.
    pub fn pump(&mut self) -> Option<Result<HttpResponse<'static>, TransportFailure>> {
        match self.stream.take_error() {
            Ok(Some(e)) | Err(e) => return Some(Err(failure("connect", &e))),
            Ok(None) => {}
        }
        loop {
            let state = match &mut self.wire {
                Wire::Plain { out, written } => {
                    pump_plain(&mut self.stream, out, written, &mut self.plaintext)
                }
                Wire::Tls(tls) => tls.pump(&mut self.stream, &mut self.plaintext),
            };
            let state = match state {
                Ok(state) => state,
                Err(e) => return Some(Err(e)),
            };
            let fed = self.reader.feed(&self.plaintext);
            self.plaintext.clear();
            let framing = |e| TransportFailure::new(framing_kind(&e), e);
            match (fed, state) {
                (Ok(Some(response)), _) => return Some(Ok(response)),
                (Err(e), _) => return Some(Err(framing(e))),
                (Ok(None), Pumped::More) => {}
                (Ok(None), Pumped::Open) => return None,
                (Ok(None), Pumped::Closed) => return Some(self.reader.finish().map_err(framing)),
                (Ok(None), Pumped::Cut) => {
                    return Some(Err(TransportFailure::new(
                        TransportError::ConnectionReset,
                        "the server closed the TLS connection without close_notify before the \
                         response was complete",
                    )));
                }
            }
        }
    }
}

/// Writes what is left of the request, then reads once into `plaintext`. A plain connection's end
/// is a proper end ([`Pumped::Closed`]): HTTP/1.1 framing tells a short body.
fn pump_plain(
    stream: &mut impl Socket,
    out: &[u8],
    written: &mut usize,
    plaintext: &mut Vec<u8>,
) -> Result<Pumped, TransportFailure> {
    while *written < out.len() {
        match stream.write(&out[*written..]) {
            Ok(n) => *written += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if not_ready(&e) => return Ok(Pumped::Open),
            Err(e) => return Err(failure("send the request", &e)),
        }
    }
    let mut buf = [0u8; 16 * 1024];
    match stream.read(&mut buf) {
        Ok(0) => Ok(Pumped::Closed),
        Ok(n) => {
            plaintext.extend_from_slice(&buf[..n]);
            Ok(Pumped::More)
        }
        Err(e) if e.kind() == ErrorKind::Interrupted => Ok(Pumped::More),
        Err(e) if not_ready(&e) => Ok(Pumped::Open),
        Err(e) => Err(failure("read the response", &e)),
    }
}

/// Not ready yet: `WouldBlock`, or a connect still in progress.
fn not_ready(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected)
}

fn failure(what: &str, e: &io::Error) -> TransportFailure {
    TransportFailure::new(io_kind(e), format!("{what}: {e}"))
}

/// A TCP connection to `addr` started without waiting (a std socket in non-blocking mode): it
/// completes, or fails, while [`HttpConn::pump`] is called.
pub fn connect_nonblocking(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        // `EINPROGRESS`: the connection is under way (std has no stable `ErrorKind` for it).
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}
