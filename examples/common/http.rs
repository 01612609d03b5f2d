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

/// Makes the machine's request, giving up at its deadline. Its URL comes parsed (the request line
/// is written from it) and its addresses resolved: `http://` connects to them in order, `https://`
/// pins ureq's resolver to them, so no name is looked up again here (and a name that changes its
/// answer in between cannot lead anywhere the machine did not check).
pub fn get(request: &HttpRequest) -> Result<HttpResponse<'static>, TransportFailure> {
    match request.url.scheme() {
        Scheme::Https => get_tls(request.url.as_str(), request.deadline, &request.addresses),
        _ => get_plain(&request.url, &request.addresses, request.deadline),
    }
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
        Scheme::Https => get_tls(url.as_str(), deadline, &addrs),
        _ => get_plain(url, &addrs, deadline),
    }
}

/// A URL's addresses, looked up here (blocking) for [`fetch`], which the tests use outside any
/// machine; the machine's own requests come with their addresses. A request that may not reach
/// the local network keeps only public ones, and fails when none is left.
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

/// ureq's resolver, pinned to the addresses the machine resolved.
#[derive(Debug)]
struct Pinned(Vec<SocketAddr>);

impl ureq::unversioned::resolver::Resolver for Pinned {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        if self.0.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        let mut addrs = self.empty();
        for &addr in self.0.iter().take(16) {
            addrs.push(addr);
        }
        Ok(addrs)
    }
}

fn get_tls(
    url: &str,
    deadline: Instant,
    addrs: &[SocketAddr],
) -> Result<HttpResponse<'static>, TransportFailure> {
    let mut config = ureq::Agent::config_builder();
    if let Some(roots) = ROOTS.get() {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(roots.clone())
                .build(),
        );
    }
    let config = config
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(remaining(deadline)?))
        .user_agent(USER_AGENT)
        .build();
    let agent = ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::new(),
        Pinned(addrs.to_vec()),
    );
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
