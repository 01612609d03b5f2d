//! HTTP/1.1 framing for callers with a raw TCP stream: request bytes out, an incremental response
//! reader in. Callers with an HTTP client (ureq, reqwest, curl) use the URL and skip this module.
//!
//! Content encoding: requests ask for `gzip` (some trackers, the Ubuntu one among them, send it), and
//! the reader inflates `gzip`, `x-gzip` and `deflate` bodies with the body cap applied to the
//! *decoded* size, so a small compressed bomb is stopped at the cap. Any other encoding is a clear
//! error. A tracker that sends gzip unasked is handled the same way.

use crate::limits::Echo;
use std::borrow::Cow;
use std::io::Read;

use crate::types::TrackerUrl;

/// Default cap on a reply body, before and after decompression: 1 MiB.
pub const DEFAULT_MAX_BODY_LEN: usize = 1 << 20;
/// Cap on the status line and headers.
pub const MAX_HEAD_LEN: usize = 16 * 1024;
/// Most headers read.
pub const MAX_HEADERS: usize = 64;
/// Cap on one chunk-size line or trailer line.
const MAX_LINE_LEN: usize = 4096;

/// Appends the GET request for `url` (HTTP/1.1, `Host` with the port when not the default,
/// `User-Agent`, `Accept-Encoding: gzip`, `Connection: close`), and `Authorization: Basic` (RFC
/// 7617) when the URL carries `user:password@` (percent-decoded, then base64-encoded, as
/// libtorrent and curl send it).
///
/// `url` is the machine's [`HttpRequest::url`](crate::announce::HttpRequest::url) as it is: the
/// announce or scrape URL, already parsed, so nothing is parsed again.
///
/// The request line and `Host` header are ASCII: the target is the URL's
/// [`path_and_query`](TrackerUrl::path_and_query) (non-ASCII percent-encoded) and the host its
/// [`host`](TrackerUrl::host) (IDNA `xn--` form for an international name). Only `user_agent` is
/// written as given, without its control characters.
pub fn write_get_request(url: &TrackerUrl, user_agent: &str, out: &mut Vec<u8>) {
    let target = match url.path_and_query() {
        "" => "/".to_owned(),
        t if t.starts_with('?') => format!("/{t}"),
        t => t.to_owned(),
    };
    let host = if url.host().contains(':') {
        format!("[{}]", url.host())
    } else {
        url.host().to_owned()
    };
    let port = if Some(url.port()) == url.scheme().default_port() {
        String::new()
    } else {
        format!(":{}", url.port())
    };
    // The user agent is the caller's text; control bytes would split the header.
    let agent: String = user_agent.chars().filter(|c| !c.is_control()).collect();
    out.extend_from_slice(
        format!(
            "GET {target} HTTP/1.1\r\nHost: {host}{port}\r\nUser-Agent: {agent}\r\n{}Accept-Encoding: gzip\r\nConnection: close\r\n\r\n",
            authorization(url)
        )
        .as_bytes(),
    );
}

/// The `Authorization: Basic` header line for a URL with a userinfo, or nothing. The userinfo is
/// `user[:password]` percent-encoded; the credentials are the decoded bytes joined with `:`.
fn authorization(url: &TrackerUrl) -> String {
    use base64::Engine as _;
    let origin = url.origin();
    let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return String::new();
    };
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |part: &str| {
        super::percent_decode(part.as_bytes()).unwrap_or_else(|_| part.as_bytes().to_vec())
    };
    let mut credentials = decode(user);
    credentials.push(b':');
    credentials.extend_from_slice(&decode(password));
    format!(
        "Authorization: Basic {}\r\n",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// A complete HTTP response, as the machines take it
/// ([`Announce::handle_http_response`](crate::Announce::handle_http_response),
/// [`Client::handle_http_response`](crate::Client::handle_http_response)).
///
/// The body and `Location` are borrowed or owned ([`Cow`]): a caller whose HTTP client hands the
/// body out in a buffer of its own (`bytes::Bytes` from hyper or reqwest, a `Vec`, a slice of a
/// read buffer) lends it with [`new`](Self::new), and nothing is copied. [`ResponseReader`] hands
/// out an owned `HttpResponse<'static>`, which can be stored or sent across threads.
///
/// ```
/// use bt_tracker::http::HttpResponse;
///
/// let body: &[u8] = b"d8:intervali1800e5:peers0:e"; // e.g. `&bytes[..]` for a `bytes::Bytes`
/// let response = HttpResponse::new(200, None, body);
/// assert_eq!(&response.body[..], body);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse<'a> {
    /// The status code.
    pub status: u16,
    /// The `Location` header, verbatim (for redirects).
    pub location: Option<Cow<'a, str>>,
    /// The body, de-chunked and decompressed (see [`decode_content`] for a client that does not
    /// decompress).
    pub body: Cow<'a, [u8]>,
}

impl<'a> HttpResponse<'a> {
    /// A response that borrows its `Location` header and body from the caller's buffers.
    pub fn new(status: u16, location: Option<&'a str>, body: &'a [u8]) -> Self {
        HttpResponse {
            status,
            location: location.map(Cow::Borrowed),
            body: Cow::Borrowed(body),
        }
    }

    /// The same response owning its data (copied if borrowed), to keep it past the buffers it
    /// borrowed from.
    pub fn into_owned(self) -> HttpResponse<'static> {
        HttpResponse {
            status: self.status,
            location: self.location.map(|l| Cow::Owned(l.into_owned())),
            body: Cow::Owned(self.body.into_owned()),
        }
    }
}

/// Why a response could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The status line or headers are malformed.
    #[error("the tracker sent a malformed HTTP response head ({})", Echo(.0))]
    BadHead(String),
    /// The head is longer than [`MAX_HEAD_LEN`] or has more than [`MAX_HEADERS`] headers.
    #[error("the tracker's response headers exceed {MAX_HEAD_LEN} bytes or {MAX_HEADERS} headers")]
    HeadTooLarge,
    /// The body (raw or decoded) is larger than the cap.
    #[error(
        "the tracker's reply body exceeds the {limit}-byte cap; a tracker reply is a few KiB, raise the cap only for full scrapes"
    )]
    BodyTooLarge {
        /// The cap.
        limit: usize,
    },
    /// A malformed chunked body.
    #[error("the tracker sent a malformed chunked body ({0})")]
    BadChunk(&'static str),
    /// The connection closed before the response was complete.
    #[error("the connection closed before the whole response arrived ({0})")]
    Truncated(&'static str),
    /// A `Content-Encoding` this reader does not decode.
    #[error("the tracker sent the body in the unsupported content encoding {:?}", Echo(.0))]
    UnsupportedEncoding(String),
    /// A gzip or deflate body that does not inflate.
    #[error("the tracker's compressed body is corrupt ({})", Echo(.0))]
    BadCompression(String),
    /// `feed` or `finish` after the response was complete or failed.
    #[error("the response was already complete or failed; create a new reader per request")]
    Finished,
}

#[derive(Debug)]
enum Body {
    Length(usize),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Debug, Clone, Copy)]
enum Chunk {
    Size,
    Data(usize),
    DataEnd,
    Trailers,
}

enum ChunkStep {
    More,
    Next(Chunk),
    End,
}

#[derive(Debug)]
enum State {
    Head,
    Body(Body),
    Done,
}

/// Reads one HTTP/1.x response from bytes fed in any split.
///
/// Bounded: the head is capped at [`MAX_HEAD_LEN`], the body at the cap given to [`new`](Self::new),
/// checked against `Content-Length` as soon as it is read and against the bytes received; nothing is
/// pre-allocated from an advertised length.
#[derive(Debug)]
pub struct ResponseReader {
    max_body_len: usize,
    state: State,
    pending: Vec<u8>,
    status: u16,
    location: Option<String>,
    encoding: Option<String>,
    body: Vec<u8>,
}

impl ResponseReader {
    /// A reader whose body cap is `max_body_len` bytes (raw and decoded).
    pub fn new(max_body_len: usize) -> Self {
        ResponseReader {
            max_body_len,
            state: State::Head,
            pending: Vec::new(),
            status: 0,
            location: None,
            encoding: None,
            body: Vec::new(),
        }
    }

    /// Feeds received bytes. Returns the response once complete; bytes after it are ignored.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<HttpResponse<'static>>, FramingError> {
        if matches!(self.state, State::Done) {
            return Err(FramingError::Finished);
        }
        self.pending.extend_from_slice(bytes);
        let result = self.advance();
        if !matches!(result, Ok(None)) {
            self.state = State::Done;
            self.pending = Vec::new();
        }
        result
    }

    /// Reports that the connection closed. Completes a body delimited by the close; anything else
    /// still incomplete is [`FramingError::Truncated`].
    pub fn finish(&mut self) -> Result<HttpResponse<'static>, FramingError> {
        let result = match &self.state {
            State::Done => Err(FramingError::Finished),
            State::Head => Err(FramingError::Truncated("in the status line or headers")),
            State::Body(Body::UntilClose) => self.complete(),
            State::Body(Body::Length(_)) => {
                Err(FramingError::Truncated("before Content-Length bytes"))
            }
            State::Body(Body::Chunked(_)) => Err(FramingError::Truncated("inside a chunked body")),
        };
        self.state = State::Done;
        result
    }

    fn advance(&mut self) -> Result<Option<HttpResponse<'static>>, FramingError> {
        loop {
            match &mut self.state {
                State::Head => {
                    if !self.read_head()? {
                        return Ok(None);
                    }
                }
                State::Body(Body::UntilClose) => {
                    self.take_into_body(self.pending.len())?;
                    return Ok(None);
                }
                State::Body(Body::Length(remaining)) => {
                    let take = (*remaining).min(self.pending.len());
                    *remaining -= take;
                    let done = *remaining == 0;
                    self.take_into_body(take)?;
                    return if done {
                        self.complete().map(Some)
                    } else {
                        Ok(None)
                    };
                }
                State::Body(Body::Chunked(chunk)) => {
                    let chunk = *chunk;
                    match self.read_chunked(chunk)? {
                        ChunkStep::More => return Ok(None),
                        ChunkStep::Next(next) => self.state = State::Body(Body::Chunked(next)),
                        ChunkStep::End => return self.complete().map(Some),
                    }
                }
                State::Done => return Err(FramingError::Finished),
            }
        }
    }

    /// Moves the first `n` pending bytes into the body, enforcing the body cap.
    fn take_into_body(&mut self, n: usize) -> Result<(), FramingError> {
        if self.body.len() + n > self.max_body_len {
            return Err(FramingError::BodyTooLarge {
                limit: self.max_body_len,
            });
        }
        self.body.extend_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(())
    }

    /// Parses the head once it is complete; `false` while more bytes are needed.
    fn read_head(&mut self) -> Result<bool, FramingError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&self.pending) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if self.pending.len() > MAX_HEAD_LEN => {
                return Err(FramingError::HeadTooLarge);
            }
            Ok(httparse::Status::Partial) => return Ok(false),
            Err(httparse::Error::TooManyHeaders) => return Err(FramingError::HeadTooLarge),
            Err(e) => return Err(FramingError::BadHead(e.to_string())),
        };
        let status = response.code.unwrap_or(0);
        let (mut length, mut chunked) = (None::<usize>, false);
        let (mut location, mut encoding) = (None, None);
        for h in response.headers.iter() {
            let value = String::from_utf8_lossy(h.value).trim().to_owned();
            if h.name.eq_ignore_ascii_case("content-length") {
                let n = value
                    .parse()
                    .map_err(|_| FramingError::BadHead(format!("Content-Length {value:?}")))?;
                if length.is_some_and(|l| l != n) {
                    return Err(FramingError::BadHead(
                        "conflicting Content-Length headers".into(),
                    ));
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
            } else if h.name.eq_ignore_ascii_case("location") && location.is_none() {
                location = Some(value);
            } else if h.name.eq_ignore_ascii_case("content-encoding") {
                encoding = Some(value.to_ascii_lowercase());
            }
        }
        self.pending.drain(..head_len);
        if (100..200).contains(&status) {
            return Ok(true); // an interim response (100 Continue); the real head follows
        }
        self.status = status;
        self.location = location;
        self.encoding = encoding;
        self.state = if status == 204 || status == 304 {
            State::Body(Body::Length(0))
        } else if chunked {
            State::Body(Body::Chunked(Chunk::Size))
        } else if let Some(n) = length {
            if n > self.max_body_len {
                return Err(FramingError::BodyTooLarge {
                    limit: self.max_body_len,
                });
            }
            State::Body(Body::Length(n))
        } else {
            State::Body(Body::UntilClose)
        };
        Ok(true)
    }

    /// One step of the chunked decoder.
    fn read_chunked(&mut self, chunk: Chunk) -> Result<ChunkStep, FramingError> {
        match chunk {
            Chunk::Size => {
                let Some(line) = self.take_line()? else {
                    return Ok(ChunkStep::More);
                };
                let digits = line
                    .split(|&b| b == b';')
                    .next()
                    .unwrap_or(&[])
                    .trim_ascii();
                let size = std::str::from_utf8(digits)
                    .ok()
                    .filter(|d| !d.is_empty() && d.len() <= 16)
                    .and_then(|d| usize::from_str_radix(d, 16).ok())
                    .ok_or(FramingError::BadChunk("chunk size is not hex"))?;
                if self.body.len().saturating_add(size) > self.max_body_len {
                    return Err(FramingError::BodyTooLarge {
                        limit: self.max_body_len,
                    });
                }
                Ok(ChunkStep::Next(if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                }))
            }
            Chunk::Data(remaining) => {
                if self.pending.is_empty() {
                    return Ok(ChunkStep::More);
                }
                let take = remaining.min(self.pending.len());
                self.take_into_body(take)?;
                Ok(ChunkStep::Next(if take == remaining {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(remaining - take)
                }))
            }
            Chunk::DataEnd => {
                let Some(line) = self.take_line()? else {
                    return Ok(ChunkStep::More);
                };
                if !line.is_empty() {
                    return Err(FramingError::BadChunk("chunk data not followed by CRLF"));
                }
                Ok(ChunkStep::Next(Chunk::Size))
            }
            Chunk::Trailers => {
                let Some(line) = self.take_line()? else {
                    return Ok(ChunkStep::More);
                };
                Ok(if line.is_empty() {
                    ChunkStep::End
                } else {
                    ChunkStep::Next(Chunk::Trailers)
                })
            }
        }
    }

    /// Removes one line (without its CRLF or LF) from the pending bytes.
    fn take_line(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        match self.pending.iter().position(|&b| b == b'\n') {
            Some(i) if i <= MAX_LINE_LEN => {
                let mut line: Vec<u8> = self.pending.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Ok(Some(line))
            }
            Some(_) => Err(FramingError::BadChunk("line too long")),
            None if self.pending.len() > MAX_LINE_LEN => {
                Err(FramingError::BadChunk("line too long"))
            }
            None => Ok(None),
        }
    }

    fn complete(&mut self) -> Result<HttpResponse<'static>, FramingError> {
        let raw = std::mem::take(&mut self.body);
        let body = decode_content(self.encoding.as_deref(), raw, self.max_body_len)?;
        Ok(HttpResponse {
            status: self.status,
            location: self.location.take().map(Cow::Owned),
            body: Cow::Owned(body),
        })
    }
}

/// Decodes a body sent with `Content-Encoding: encoding`, with the cap applied to the decoded size.
/// Callers whose HTTP client does not decompress can use this on the body they received.
pub fn decode_content(
    encoding: Option<&str>,
    body: Vec<u8>,
    max_len: usize,
) -> Result<Vec<u8>, FramingError> {
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => inflate(flate2::read::GzDecoder::new(&body[..]), max_len),
        Some("deflate") => inflate(flate2::read::ZlibDecoder::new(&body[..]), max_len)
            .or_else(|_| inflate(flate2::read::DeflateDecoder::new(&body[..]), max_len)),
        Some(other) => Err(FramingError::UnsupportedEncoding(other.to_owned())),
    }
}

fn inflate(decoder: impl Read, max_len: usize) -> Result<Vec<u8>, FramingError> {
    let mut out = Vec::new();
    decoder
        .take(max_len as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| FramingError::BadCompression(e.to_string()))?;
    if out.len() > max_len {
        return Err(FramingError::BodyTooLarge { limit: max_len });
    }
    Ok(out)
}
