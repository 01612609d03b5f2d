//! One blocking HTTP GET for the machine: `http://` over a `TcpStream` with the crate's HTTP/1.1
//! framing, `https://` through ureq (rustls). Redirects are never followed here: the 3xx response
//! goes back to the machine, which decides (and refuses an https-to-http downgrade).

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bt_tracker::announce::{HttpRequest, TransportError, is_internal_address};
use bt_tracker::http::{
    DEFAULT_MAX_BODY_LEN, FramingError, HttpResponse, ResponseReader, write_get_request,
};
use bt_tracker::{Scheme, TrackerUrl};

use super::now;

/// The `User-Agent` the examples send.
pub const USER_AGENT: &str = concat!("bt-tracker-example/", env!("CARGO_PKG_VERSION"));

/// The roots ureq trusts when `--ca-file` was given: webpki's and the file's (see [`trust_ca_file`]).
static ROOTS: OnceLock<ureq::tls::RootCerts> = OnceLock::new();

/// Makes every later `https://` request of this process trust the CA certificates of the PEM file
/// at `path` besides webpki's roots (`--ca-file`). Once per process.
pub fn trust_ca_file(path: &Path) -> Result<(), String> {
    let certs: Vec<ureq::tls::Certificate<'static>> = super::tls::root_certs(Some(path))?
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
        .collect();
    ROOTS
        .set(ureq::tls::RootCerts::new_with_certs(&certs))
        .map_err(|_| "--ca-file is given once".to_owned())
}

/// A failed GET, lookup or send: the kind the machine needs, and the detail a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFailure {
    /// What to tell the machine.
    pub kind: TransportError,
    /// What happened, for the person running the program.
    pub detail: String,
}

impl TransportFailure {
    /// A failure of this kind, with what happened.
    pub fn new(kind: TransportError, detail: impl std::fmt::Display) -> Self {
        TransportFailure {
            kind,
            detail: detail.to_string(),
        }
    }
}

/// Makes the machine's request, giving up at its deadline. Its URL comes parsed: host, port and
/// scheme are read from it, and the request line is written from it.
pub fn get(request: &HttpRequest) -> Result<HttpResponse<'static>, TransportFailure> {
    get_url(&request.url, request.deadline, request.may_reach_internal)
}

/// GET the URL in `url` (any http(s) URL text), giving up at `deadline`; with
/// `may_reach_internal` false, only public addresses of the host are connected to.
pub fn fetch(
    url: &str,
    deadline: Instant,
    may_reach_internal: bool,
) -> Result<HttpResponse<'static>, TransportFailure> {
    let parsed = TrackerUrl::parse(url).map_err(|e| {
        TransportFailure::new(TransportError::Other, format!("bad request URL: {e}"))
    })?;
    get_url(&parsed, deadline, may_reach_internal)
}

fn get_url(
    url: &TrackerUrl,
    deadline: Instant,
    may_reach_internal: bool,
) -> Result<HttpResponse<'static>, TransportFailure> {
    let addrs = resolve(url, may_reach_internal)?;
    match url.scheme() {
        // ureq resolves the name again itself; the check above is what it can be without a
        // resolver hook (a name that changes its answer in between is not caught).
        Scheme::Https => get_tls(url.as_str(), deadline),
        _ => get_plain(url, &addrs, deadline),
    }
}

/// A tracker's addresses, looked up for UDP sends and HTTP requests alike. A request that may not
/// reach the local network (a redirect from a public tracker) keeps only public ones, and fails
/// when none is left.
pub fn resolve(
    url: &TrackerUrl,
    may_reach_internal: bool,
) -> Result<Vec<SocketAddr>, TransportFailure> {
    let addrs: Vec<SocketAddr> = (url.host(), url.port())
        .to_socket_addrs()
        .map_err(|e| TransportFailure::new(TransportError::Dns, format!("{}: {e}", url.host())))?
        .collect();
    if addrs.is_empty() {
        return Err(TransportFailure::new(
            TransportError::Dns,
            format!("{}: no address", url.host()),
        ));
    }
    let allowed: Vec<SocketAddr> = addrs
        .iter()
        .copied()
        .filter(|a| may_reach_internal || !is_internal_address(a.ip()))
        .collect();
    if allowed.is_empty() {
        return Err(TransportFailure::new(
            TransportError::InternalAddress,
            format!("{} resolves to {addrs:?} only", url.host()),
        ));
    }
    Ok(allowed)
}

fn remaining(deadline: Instant) -> Result<Duration, TransportFailure> {
    let left = deadline.saturating_duration_since(now());
    if left.is_zero() {
        return Err(TransportFailure::new(
            TransportError::Other,
            "deadline passed",
        ));
    }
    Ok(left)
}

/// The transport error a response the reader refused means to the machine: cut short by the peer
/// closing is a reset connection, anything else a bad response.
pub fn framing_kind(e: &FramingError) -> TransportError {
    match e {
        FramingError::Truncated(_) => TransportError::ConnectionReset,
        _ => TransportError::BadResponse,
    }
}

/// The transport error an I/O error means to the machine.
pub fn io_kind(e: &io::Error) -> TransportError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => TransportError::ConnectionRefused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => TransportError::ConnectionReset,
        _ => TransportError::Other,
    }
}

fn io_error(what: &str, e: io::Error) -> TransportFailure {
    TransportFailure::new(io_kind(&e), format!("{what}: {e}"))
}

fn get_plain(
    url: &TrackerUrl,
    addrs: &[SocketAddr],
    deadline: Instant,
) -> Result<HttpResponse<'static>, TransportFailure> {
    let mut last =
        TransportFailure::new(TransportError::Dns, format!("{}: no address", url.host()));
    let mut stream = None;
    for &addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining(deadline)?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = io_error(&format!("connect to {addr}"), e),
        }
    }
    let mut stream = stream.ok_or(last)?;
    let mut request = Vec::new();
    write_get_request(url, USER_AGENT, &mut request);
    stream
        .set_write_timeout(Some(remaining(deadline)?))
        .and_then(|()| stream.write_all(&request))
        .map_err(|e| io_error("send the request", e))?;
    let mut reader = ResponseReader::new(DEFAULT_MAX_BODY_LEN);
    let mut buf = [0u8; 16 * 1024];
    loop {
        stream
            .set_read_timeout(Some(remaining(deadline)?))
            .map_err(|e| io_error("set the read timeout", e))?;
        let framing = |e: FramingError| TransportFailure::new(framing_kind(&e), e);
        match stream.read(&mut buf) {
            Ok(0) => return reader.finish().map_err(framing),
            Ok(n) => {
                if let Some(response) = reader.feed(&buf[..n]).map_err(framing)? {
                    return Ok(response);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("read the response", e)),
        }
    }
}

fn get_tls(url: &str, deadline: Instant) -> Result<HttpResponse<'static>, TransportFailure> {
    let mut config = ureq::Agent::config_builder();
    if let Some(roots) = ROOTS.get() {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(roots.clone())
                .build(),
        );
    }
    let agent = config
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(remaining(deadline)?))
        .user_agent(USER_AGENT)
        .build()
        .new_agent();
    let mut response = agent.get(url).call().map_err(ureq_error)?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(DEFAULT_MAX_BODY_LEN as u64)
        .read_to_vec()
        .map_err(ureq_error)?;
    Ok(HttpResponse {
        status,
        location: location.map(Cow::Owned),
        body: Cow::Owned(body),
    })
}

fn ureq_error(e: ureq::Error) -> TransportFailure {
    let kind = match &e {
        ureq::Error::HostNotFound => TransportError::Dns,
        ureq::Error::ConnectionFailed => TransportError::ConnectionRefused,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => TransportError::Tls,
        // rustls reports handshake and certificate failures as InvalidData I/O errors.
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::InvalidData => TransportError::Tls,
        ureq::Error::Io(io) => io_kind(io),
        ureq::Error::BodyExceedsLimit(_) | ureq::Error::Protocol(_) => TransportError::BadResponse,
        _ => TransportError::Other,
    };
    TransportFailure::new(kind, e)
}
