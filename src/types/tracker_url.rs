//! [`TrackerUrl`]: a validated `udp://`, `http://` or `https://` tracker URL in one canonical
//! ASCII form, so that two spellings of one tracker compare equal.

use crate::limits::Echo;
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The transport a tracker URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `udp://` (BEP 15).
    Udp,
    /// `http://`.
    Http,
    /// `https://`.
    Https,
}

impl Scheme {
    /// The port used when the URL names none: 80 for http, 443 for https, none for udp.
    pub fn default_port(self) -> Option<u16> {
        match self {
            Scheme::Udp => None,
            Scheme::Http => Some(80),
            Scheme::Https => Some(443),
        }
    }
}

/// Why a string is not a usable tracker URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerUrlError {
    /// The text is not a URL at all.
    #[error(
        "{:?} is not a valid URL ({reason}); a tracker URL looks like udp://host:port/announce or http://host/announce",
        Echo(.url)
    )]
    Malformed {
        /// The text as given.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// No scheme: a bare `host:port` or `host/path` (`tracker.example:6969`, `10.0.0.1:6969`,
    /// `localhost:6969`). The URL parser would read `tracker.example:` as a scheme; this says what
    /// is really missing.
    #[error(
        "{:?} has no scheme; write udp://, http:// or https:// before the host (for example {})",
        Echo(.url),
        Echo(.suggestion)
    )]
    MissingScheme {
        /// The text as given.
        url: String,
        /// The text with `udp://` in front (UDP trackers are named host:port; for an HTTP tracker
        /// write http:// and its path instead).
        suggestion: String,
    },
    /// A scheme other than udp, http and https.
    #[error(
        "{:?} uses the scheme {:?}; trackers are reached over udp://, http:// or https://",
        Echo(.url),
        Echo(.scheme)
    )]
    UnsupportedScheme {
        /// The text as given.
        url: String,
        /// The scheme found.
        scheme: String,
    },
    /// No host name or address.
    #[error(
        "{:?} has no host; write the tracker's host name or address after the scheme",
        Echo(.0)
    )]
    MissingHost(String),
    /// The host is neither a name DNS can look up nor an IP address: an internationalised name that
    /// IDNA (UTS 46) refuses (such as the invalid punycode `xn--a`), an empty label (`a..b`), a
    /// label over 63 bytes or a name over 253, a malformed IP literal, or an IPv6 zone id.
    #[error(
        "{:?} names a host that cannot be looked up ({}); correct the host name or write the tracker's IP address",
        Echo(.url),
        Echo(.reason)
    )]
    InvalidHost {
        /// The text as given.
        url: String,
        /// What is wrong with the host.
        reason: String,
    },
    /// The host is an IP address that names no single host (unspecified `0.0.0.0` or `[::]`,
    /// 0.0.0.0/8, the broadcast `255.255.255.255`, multicast `224.0.0.0/4` or `ff00::/8`): no
    /// tracker can be reached there, whatever the internal-address settings allow.
    #[error(
        "{:?} names {kind}, which is no single host and so never a tracker's address; use the tracker's own address or host name",
        Echo(.url)
    )]
    NotUnicast {
        /// The text as given.
        url: String,
        /// Which kind of address it is.
        kind: &'static str,
    },
    /// A `udp://` URL without a port: UDP has no default port.
    #[error(
        "{:?} has no port; UDP trackers have no default port, add one (for example udp://host:6969/announce)",
        Echo(.0)
    )]
    MissingUdpPort(String),
    /// Port 0 cannot be contacted.
    #[error("{:?} names port 0, which cannot be contacted; use the tracker's real port", Echo(.0))]
    PortZero(String),
    /// A `udp://` URL with a user name or password: BEP 15 has no field to send them in.
    #[error(
        "{:?} carries a user name or password, which a udp:// tracker cannot be sent (BEP 15 has no authentication); remove the part before '@', and put a passkey the tracker gave you in the path, as in udp://host:port/announce?passkey=... (sent as BEP 41 URL data)",
        Echo(.0)
    )]
    UdpUserinfo(String),
    /// Whitespace, a control byte or a backslash: the URL could not be sent verbatim.
    #[error(
        "{:?} contains the character {ch:?}, which cannot be sent in a request line; percent-encode it",
        Echo(.url)
    )]
    InvalidCharacter {
        /// The text as given.
        url: String,
        /// The offending character.
        ch: char,
    },
}

/// A validated `udp://`, `http://` or `https://` tracker URL, held as ASCII text ready for the wire.
///
/// The text is the URL as given, written in one canonical form, so that every spelling of one
/// tracker gives the same text and the URLs compare (and hash) equal. The changes, and no others:
/// - a `#fragment` is removed;
/// - the scheme is lowercased;
/// - the host is written in the form a resolver looks up, the same for every scheme: a name goes
///   through IDNA (UTS 46, as WHATWG does for `http`), which lowercases it, so
///   `udp://трекер.example:6969`, `udp://ТРЕКЕР.example:6969` and
///   `udp://%D1%82%D1%80%D0%B5%D0%BA%D0%B5%D1%80.example:6969` all become
///   `udp://xn--e1aaowdh.example:6969`; a final root dot is dropped (`tracker.example.` is
///   `tracker.example`: TLS SNI and, as curl sends it, the `Host` header carry the name without
///   it); IP literals are written canonically (`[2001:db8::1]` for `[2001:DB8:0:0::1]`,
///   WHATWG's IPv4 forms such as `0x7f.1` as `127.0.0.1`, and an IPv4-mapped IPv6 address
///   `[::ffff:1.2.3.4]` as the IPv4 address `1.2.3.4` it names, as
///   [`socket_addr`](Self::socket_addr) does);
/// - an explicit port is written in decimal, and left out when it is the scheme's default (80 for
///   `http`, 443 for `https`; RFC 3986 section 6.2.3): `http://h:80/announce` is
///   `http://h/announce`;
/// - an empty path is `/` when something follows it: `http://h` is `http://h/` and `http://h?k=1`
///   is `http://h/?k=1` (the request target is `/` either way), `udp://h:6969?k=1` is
///   `udp://h:6969/?k=1` (BEP 41 URL data `/?k=1`, what libtorrent sends for it). A `udp://` URL
///   whose path and query are just `/` has an empty path instead: `udp://h:6969/` is
///   `udp://h:6969`, because neither sends BEP 41 URL data (PROTOCOL.md section 8);
/// - in the userinfo, path and query, every byte that may not appear raw in a URL (RFC 3986) is
///   percent-encoded as uppercase `%HH`: non-ASCII characters (as their UTF-8 bytes), `"`, `<`, `>`,
///   `[`, `]`, `^`, `` ` ``, `{`, `|`, `}`, and a `%` not followed by two hex digits (as `%25`);
///   existing escapes get uppercase hex digits (`%2f` is `%2F`; RFC 3986 section 6.2.2.1: the
///   same byte, so a tracker that decodes the query sees the same passkey);
/// - an empty userinfo or password is dropped (`http://@h/` is `http://h/`, `http://u:@h/` is
///   `http://u@h/`).
///
/// Everything else is kept byte for byte: which bytes are escaped (`%41` stays `%41`), `+`, `/`,
/// `;`, the case of the path and the order of the query. Nothing is decoded or re-escaped
/// otherwise, because private trackers compare passkeys byte for byte. So [`as_str`](Self::as_str),
/// [`host`](Self::host), [`path_and_query`](Self::path_and_query) and everything built from them
/// (announce and scrape URLs, request lines, `Host` headers, BEP 41 URL data) are ASCII.
///
/// **Credentials.** An `http://` or `https://` URL may carry `user:password@` (HTTP basic
/// authentication, as libtorrent and curl take it): [`as_str`](Self::as_str) keeps them, so an
/// HTTP client given the URL sends them (reqwest and curl do), and
/// [`write_get_request`](crate::http::write_get_request) sends them as an `Authorization: Basic`
/// header. They go only to this URL's host: a redirect to an absolute URL carries the
/// `Location`'s own userinfo, if any. [`Display`](fmt::Display), [`Debug`](fmt::Debug) and every
/// error of this crate show the password as `xxxxx` (Go's `URL.Redacted`), so logs do not leak it;
/// [`as_str`](Self::as_str) is the only way to the password. A `udp://` URL with a userinfo is
/// refused ([`TrackerUrlError::UdpUserinfo`]): BEP 15 has no way to send one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TrackerUrl {
    raw: String,
    scheme: Scheme,
    host: String,
    /// The host as an IP address when it is a literal (parsed once, not per datagram).
    ip: Option<IpAddr>,
    port: u16,
    path_start: usize,
}

impl TrackerUrl {
    /// Parses and validates a tracker URL and writes it in its ASCII form (see the type's docs).
    ///
    /// Fails when the text is not a URL, uses another scheme, names no host or one that cannot be
    /// looked up or an IP address that names no single host (broadcast, multicast, unspecified),
    /// has no port (`udp://`) or port 0, or contains whitespace, a control character or a
    /// backslash.
    pub fn parse(text: &str) -> Result<Self, TrackerUrlError> {
        let trimmed = text.trim();
        let raw = match trimmed.find('#') {
            Some(i) => &trimmed[..i],
            None => trimmed,
        };
        if let Some(ch) = raw
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == '\\')
        {
            return Err(TrackerUrlError::InvalidCharacter {
                url: shown(text),
                ch,
            });
        }
        let parsed = match url::Url::parse(raw) {
            Ok(parsed) if !looks_schemeless(raw, parsed.scheme()) => parsed,
            Err(url::ParseError::RelativeUrlWithoutBase) if !looks_like_host(raw) => {
                return Err(parse_error(text, url::ParseError::RelativeUrlWithoutBase));
            }
            Err(url::ParseError::RelativeUrlWithoutBase) | Ok(_) => {
                return Err(TrackerUrlError::MissingScheme {
                    url: shown(text),
                    suggestion: format!("udp://{raw}"),
                });
            }
            Err(e) => return Err(parse_error(text, e)),
        };
        let scheme = match parsed.scheme() {
            "udp" => Scheme::Udp,
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => {
                return Err(TrackerUrlError::UnsupportedScheme {
                    url: shown(text),
                    scheme: other.to_owned(),
                });
            }
        };
        let host = match (scheme, parsed.host()) {
            // WHATWG keeps the host of a non-special scheme (udp) opaque: percent-encoded, without
            // IDNA. Run it through the host parser http uses, so both name a host the same way.
            (Scheme::Udp, Some(url::Host::Domain(d))) => {
                url::Host::parse(d).map_err(|e| parse_error(text, e))?
            }
            (_, Some(h)) => h.to_owned(),
            (_, None) => return Err(TrackerUrlError::MissingHost(shown(text))),
        };
        let (host, ip) = match host {
            url::Host::Domain(d) if d.is_empty() => {
                return Err(TrackerUrlError::MissingHost(shown(text)));
            }
            url::Host::Domain(d) => {
                check_dns_name(&d).map_err(|reason| TrackerUrlError::InvalidHost {
                    url: shown(text),
                    reason,
                })?;
                // The root dot names the same host (and cannot go in TLS SNI, RFC 6066).
                let name = d.strip_suffix('.').unwrap_or(&d).to_owned();
                (name, None)
            }
            // `[::ffff:1.2.3.4]` is the IPv4 host 1.2.3.4: one spelling, as `socket_addr` gives.
            url::Host::Ipv4(a) => (a.to_string(), Some(IpAddr::V4(a))),
            url::Host::Ipv6(a) => {
                let ip = crate::canonical_ip(IpAddr::V6(a));
                (ip.to_string(), Some(ip))
            }
        };
        if let Some(kind) = ip.and_then(crate::addr::not_unicast) {
            return Err(TrackerUrlError::NotUnicast {
                url: shown(text),
                kind,
            });
        }
        let port = match parsed.port().or(scheme.default_port()) {
            Some(0) => return Err(TrackerUrlError::PortZero(shown(text))),
            Some(p) => p,
            None => return Err(TrackerUrlError::MissingUdpPort(shown(text))),
        };
        // The text itself must read `scheme://authority`: WHATWG parsing repairs `http:/h` and
        // `http:///h`, but requests are built from the text, so both must agree.
        let after_scheme = parsed.scheme().len() + 3;
        if raw.get(after_scheme - 3..after_scheme) != Some("://") {
            return Err(TrackerUrlError::Malformed {
                url: shown(text),
                reason: "expected two slashes after the scheme".to_owned(),
            });
        }
        let raw_path_start = raw[after_scheme..]
            .find(['/', '?'])
            .map_or(raw.len(), |i| after_scheme + i);
        if raw_path_start == after_scheme {
            return Err(TrackerUrlError::MissingHost(shown(text)));
        }
        // The authority is `[userinfo@]host[:port]`; WHATWG splits the userinfo at the last `@`.
        let authority = &raw[after_scheme..raw_path_start];
        let userinfo = authority.rfind('@').map_or("", |at| &authority[..at]);
        // An empty password or userinfo says nothing: `u:@h` is `u@h`, `:@h` and `@h` are `h`.
        // The password is all after the first `:` (RFC 3986 section 3.2.1), so `::@h` keeps its
        // password `:`; cutting one `:` off instead would leave `:@h`, which parses to `h`.
        let userinfo = match userinfo.split_once(':') {
            Some((user, "")) => user,
            _ => userinfo,
        };
        if scheme == Scheme::Udp && !userinfo.is_empty() {
            return Err(TrackerUrlError::UdpUserinfo(shown(text)));
        }
        let mut out = String::with_capacity(raw.len() + 16);
        out.push_str(parsed.scheme());
        out.push_str("://");
        if !userinfo.is_empty() {
            push_url_text(userinfo, true, &mut out);
            out.push('@');
        }
        if ip.is_some_and(|ip| ip.is_ipv6()) {
            out.push('[');
            out.push_str(&host);
            out.push(']');
        } else {
            out.push_str(&host);
        }
        if Some(port) != scheme.default_port() {
            out.push(':');
            out.push_str(&port.to_string());
        }
        let path_start = out.len();
        push_path_and_query(scheme, &raw[raw_path_start..], &mut out);
        Ok(TrackerUrl {
            raw: out,
            scheme,
            host,
            ip,
            port,
            path_start,
        })
    }

    /// The URL in its ASCII form (see the type's docs): what HTTP requests are built from. It holds
    /// the password of an `http://user:password@host` URL: log [`Display`](fmt::Display) instead.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Which transport the URL names.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host to resolve, in ASCII: a name (IDNA `xn--` labels for an internationalised one,
    /// lowercase, without a final root dot), or an IP literal (IPv6 without brackets; an
    /// IPv4-mapped IPv6 address as its IPv4 address).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port: explicit, or 80/443 for http/https.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The tracker's socket address when the host is an IP literal, so no lookup is needed. It is in
    /// canonical form ([`canonical_ip`](crate::canonical_ip)): `udp://[::ffff:127.0.0.1]:6969`
    /// gives `127.0.0.1:6969`.
    #[inline]
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.ip
            .map(|ip| SocketAddr::new(crate::canonical_ip(ip), self.port))
    }

    /// Everything after `host:port`: the path and query (`/announce?passkey=x`), ASCII and kept as
    /// given except for the changes the type's docs describe. It starts with `/`, except for a
    /// `udp://` URL without a path, where it is empty. This is what BEP 41 URL data carries over
    /// UDP (nothing when empty).
    pub fn path_and_query(&self) -> &str {
        &self.raw[self.path_start..]
    }

    /// `scheme://authority`, in ASCII (with the userinfo, password included).
    pub fn origin(&self) -> &str {
        &self.raw[..self.path_start]
    }

    /// The same tracker (scheme, userinfo, host, port) with the path and query `path_and_query`,
    /// without parsing again: for the announce and scrape URLs this crate builds, whose text is
    /// already in this type's form (ASCII, percent-encoded, no fragment). A path that does not
    /// start with `/` or `?` gets a `/`, so the text always names this URL's host.
    pub(crate) fn with_path_and_query(&self, path_and_query: &str) -> TrackerUrl {
        let mut raw = String::with_capacity(self.path_start + 1 + path_and_query.len());
        raw.push_str(self.origin());
        // The canonical form's path rules, on text that is already encoded.
        let udp_root = self.scheme == Scheme::Udp && matches!(path_and_query, "" | "/");
        if !udp_root {
            if !path_and_query.starts_with('/') {
                raw.push('/');
            }
            raw.push_str(path_and_query);
        }
        TrackerUrl {
            raw,
            scheme: self.scheme,
            host: self.host.clone(),
            ip: self.ip,
            port: self.port,
            path_start: self.path_start,
        }
    }
}

/// A URL parser error as a [`TrackerUrlError`]: host errors say the host is the problem.
/// Whether `raw`, parsed with `scheme`, is really a bare `host:port` with no scheme: no `//` after
/// the colon, and a port number or nothing after it (`tracker.example:6969`, `localhost:6969`),
/// never a known scheme such as `magnet:?xt=...`.
fn looks_schemeless(raw: &str, scheme: &str) -> bool {
    let rest = &raw[scheme.len().min(raw.len())..];
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    !matches!(scheme, "udp" | "http" | "https")
        && !rest.starts_with("//")
        && rest.starts_with(|c: char| c.is_ascii_digit())
}

/// Whether the text before the first `/` of `raw` looks like a host (`tracker.example`,
/// `10.0.0.1:6969`, `[::1]:6969`, `localhost`) rather than a bare word such as `announce`.
fn looks_like_host(raw: &str) -> bool {
    let host = raw.split('/').next().unwrap_or(raw);
    host.contains(['.', ':', '[']) || host.eq_ignore_ascii_case("localhost")
}

fn parse_error(text: &str, e: url::ParseError) -> TrackerUrlError {
    use url::ParseError as E;
    match e {
        E::EmptyHost => TrackerUrlError::MissingHost(shown(text)),
        E::InvalidIpv6Address if text.contains('%') => TrackerUrlError::InvalidHost {
            url: shown(text),
            reason: "invalid IPv6 address; zone ids such as %25eth0 are not supported".to_owned(),
        },
        E::IdnaError
        | E::InvalidIpv4Address
        | E::InvalidIpv6Address
        | E::InvalidDomainCharacter => TrackerUrlError::InvalidHost {
            url: shown(text),
            reason: e.to_string(),
        },
        other => TrackerUrlError::Malformed {
            url: shown(text),
            reason: other.to_string(),
        },
    }
}

/// Checks what IDNA leaves to DNS (RFC 1035): no empty label except a final root dot, labels of at
/// most 63 bytes, at most 253 bytes in all.
fn check_dns_name(name: &str) -> Result<(), String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.len() > 253 {
        return Err(format!("the name is {} bytes, DNS allows 253", name.len()));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("the name has an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Err(format!(
                "the label {label:?} is {} bytes, DNS allows 63",
                label.len()
            ));
        }
    }
    Ok(())
}

/// Appends `text` (a userinfo, or a path and query) with every byte that may not appear raw there
/// percent-encoded as uppercase `%HH`: non-ASCII bytes, ASCII outside RFC 3986's unreserved,
/// sub-delims, `:`, `@`, `/` and `?` (and `@` in a userinfo), and a `%` that does not start a
/// `%HH` escape. Existing escapes are kept, with uppercase hex digits.
fn push_url_text(text: &str, userinfo: bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = text.as_bytes();
    let mut escape_digits = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if escape_digits > 0 {
            escape_digits -= 1;
            out.push(char::from(b.to_ascii_uppercase()));
            continue;
        }
        let raw = match b {
            b'%' => bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
            b'@' => !userinfo,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => true,
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+'
            | b',' | b';' | b'=' | b':' | b'/' | b'?' => true,
            _ => false,
        };
        if raw {
            if b == b'%' {
                escape_digits = 2;
            }
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// Appends a path and query in the canonical form (see [`TrackerUrl`]): encoded by
/// [`push_url_text`], with `/` for an empty path before a query (and for an empty HTTP path), and
/// nothing for a UDP path and query of just `/`.
fn push_path_and_query(scheme: Scheme, text: &str, out: &mut String) {
    let udp = scheme == Scheme::Udp;
    if udp && matches!(text, "" | "/") {
        return;
    }
    if !text.starts_with('/') {
        out.push('/');
    }
    push_url_text(text, false, out);
}

/// `text` (a URL, or what was given as one) with the password of its userinfo written as `xxxxx`,
/// for display: `http://u:secret@h/a` shows as `http://u:xxxxx@h/a`. A text without a password
/// is returned as it is.
pub(crate) fn redact(text: &str) -> Cow<'_, str> {
    let start = text.find("://").map_or(0, |i| i + 3);
    let end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| start + i);
    let authority = &text[start..end];
    let Some(at) = authority.rfind('@') else {
        return Cow::Borrowed(text);
    };
    match authority[..at].find(':') {
        Some(colon) if colon + 1 < at => Cow::Owned(format!(
            "{}xxxxx{}",
            &text[..start + colon + 1],
            &text[start + at..]
        )),
        _ => Cow::Borrowed(text),
    }
}

/// What an error shows of the text given: all of it but a password.
fn shown(text: &str) -> String {
    redact(text).into_owned()
}

impl FromStr for TrackerUrl {
    type Err = TrackerUrlError;
    fn from_str(s: &str) -> Result<Self, TrackerUrlError> {
        TrackerUrl::parse(s)
    }
}

/// Writes the ASCII form, [`TrackerUrl::as_str`], with a password shown as `xxxxx`: an
/// international host shows as its `xn--` labels, which is also how a person can check what is
/// looked up and sent, and the text is safe to log.
impl fmt::Display for TrackerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

/// `TrackerUrl("...")` with the [`Display`](fmt::Display) text: a password shows as `xxxxx`.
impl fmt::Debug for TrackerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackerUrl({:?})", redact(&self.raw))
    }
}

#[cfg(test)]
mod tests {
    use super::TrackerUrl;

    #[test]
    fn a_new_path_and_query_keeps_the_host_and_reads_as_its_text_parses() {
        let tracker = TrackerUrl::parse("https://u@t.example:8443/announce?k=1").unwrap();
        for (path_and_query, text) in [
            ("/scrape?k=1", "https://u@t.example:8443/scrape?k=1"),
            ("?a=%41", "https://u@t.example:8443/?a=%41"),
            ("", "https://u@t.example:8443/"),
            ("evil.example/x", "https://u@t.example:8443/evil.example/x"),
        ] {
            let url = tracker.with_path_and_query(path_and_query);
            assert_eq!(url.as_str(), text);
            assert_eq!(url, TrackerUrl::parse(text).unwrap(), "{text}");
        }
        let udp = TrackerUrl::parse("udp://t.example:6969/announce").unwrap();
        for (path_and_query, text) in [
            ("/", "udp://t.example:6969"),
            ("", "udp://t.example:6969"),
            ("?k=1", "udp://t.example:6969/?k=1"),
        ] {
            let url = udp.with_path_and_query(path_and_query);
            assert_eq!(url.as_str(), text);
            assert_eq!(url, TrackerUrl::parse(text).unwrap(), "{text}");
        }
    }
}
