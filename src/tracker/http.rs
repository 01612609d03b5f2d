//! The HTTP side (BEP 3, 7, 23, 24, 31, 48): request targets in, answers out.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use crate::bencode::{put_bytes, put_bytes_entry, put_int_entry};
use crate::compact::CompactPeers;
use crate::http::{
    AnnounceQuery, AnnounceSuccess, Failure, HttpResponse, Peers, RetryIn, ScrapeFile, ScrapeQuery,
    encode_scrape,
};
use crate::types::{AddressFamily, AnnounceEvent, InfoHash};
use crate::{canonical_addr, canonical_ip};

use super::Tracker;
use super::behaviour::{NOT_WHITELISTED, Redirect};
use super::config::MAX_HTTP_SCRAPE_HASHES;
use super::swarm::{Announcement, SwarmStats};

/// A tracker's answer to one HTTP request, from [`Tracker::handle_http`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code (200 for replies and failures, 302 for redirects, 404 for an unknown path,
    /// or the status a [`Behaviour::http_status`](super::Behaviour::http_status) or
    /// [`Behaviour::reply_status`](super::Behaviour::reply_status) sets).
    pub status: u16,
    /// The `Location` header of a redirect (relative, as real trackers send it).
    pub location: Option<String>,
    /// The body: a bencoded dictionary (an HTML page for an error status).
    pub body: Vec<u8>,
    /// When to send it: the request's time plus the behaviour's delay.
    pub send_at: Instant,
}

impl HttpAnswer {
    /// The answer as the client machine takes it
    /// ([`Announce::handle_http_response`](crate::Announce::handle_http_response)), borrowing the
    /// body.
    pub fn response(&self) -> HttpResponse<'_> {
        HttpResponse::new(self.status, self.location.as_deref(), &self.body)
    }

    /// Appends the whole HTTP/1.1 response to `out`: status line, `Content-Type: text/plain`, the
    /// `Location` of a redirect, `Content-Length`, `Connection: close`, then the body.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        head.push_str("Content-Type: text/plain\r\n");
        if let Some(location) = &self.location {
            let _ = write!(head, "Location: {location}\r\n");
        }
        let _ = write!(
            head,
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        );
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&self.body);
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// The path and query of a request target; an absolute-form target (`http://host/path?query`,
/// RFC 9112 section 3.2.2) loses its scheme and authority.
fn origin_form(target: &[u8]) -> &[u8] {
    for scheme in [&b"http://"[..], b"https://"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            return match rest.iter().position(|&b| b == b'/' || b == b'?') {
                Some(i) => &rest[i..],
                None => b"/",
            };
        }
    }
    target
}

fn failure_body(reason: &[u8], retry_in: Option<RetryIn>) -> Vec<u8> {
    let mut body = Vec::new();
    Failure {
        reason,
        retry_in,
        interval: None,
        min_interval: None,
    }
    .encode(&mut body);
    body
}

impl Tracker {
    /// Answers one request target; `None` is no answer at all.
    pub(super) fn answer_http(
        &mut self,
        now: Instant,
        from: SocketAddr,
        target: &[u8],
    ) -> Option<HttpAnswer> {
        if self.behaviour.silent {
            return None;
        }
        let target = origin_form(target);
        let (path, query) = match target.iter().position(|&b| b == b'?') {
            Some(i) => (&target[..i], &target[i + 1..]),
            None => (target, &target[target.len()..]),
        };
        let send_at = self.due(now);
        let answer = |status, location, body| {
            Some(HttpAnswer {
                status,
                location,
                body,
                send_at,
            })
        };
        match &self.behaviour.redirect {
            Some(Redirect::Loop) => {
                let to = String::from_utf8_lossy(target).into_owned();
                return answer(302, Some(to), Vec::new());
            }
            Some(Redirect::To(to)) if !path.starts_with(to.as_bytes()) => {
                let mut to = to.clone();
                if !query.is_empty() {
                    to.push('?');
                    to.push_str(&String::from_utf8_lossy(query));
                }
                return answer(302, Some(to), Vec::new());
            }
            Some(Redirect::Under(prefix)) if !path.starts_with(prefix.as_bytes()) => {
                let mut to = prefix.trim_end_matches('/').to_owned();
                if !target.starts_with(b"/") {
                    to.push('/');
                }
                to.push_str(&String::from_utf8_lossy(target));
                return answer(302, Some(to), Vec::new());
            }
            _ => {}
        }
        if let Some(status) = self.behaviour.http_status {
            let page =
                format!("<html><head><title>{status}</title></head><body>{status}</body></html>");
            return answer(status, None, page.into_bytes());
        }
        let last = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        let scrape = last.starts_with(b"scrape");
        if !scrape && !last.starts_with(b"announce") {
            let why = b"unknown path: this tracker answers /announce and /scrape";
            return answer(404, None, failure_body(why, None));
        }
        let mut body = match self.behaviour.failure.clone() {
            Some((reason, retry_in)) => failure_body(&reason, retry_in),
            None if scrape => self.http_scrape(now, query),
            None => self.http_announce(now, from, query),
        };
        if self.behaviour.crlf_after_body {
            body.extend_from_slice(b"\r\n");
        }
        answer(self.behaviour.reply_status.unwrap_or(200), None, body)
    }

    fn http_announce(&mut self, now: Instant, from: SocketAddr, query: &[u8]) -> Vec<u8> {
        let q = match AnnounceQuery::parse(query) {
            Ok(q) => q,
            Err(e) => return failure_body(e.to_string().as_bytes(), None),
        };
        let listed = self
            .behaviour
            .whitelist
            .as_ref()
            .is_none_or(|w| w.contains(&q.info_hash));
        if !listed {
            return failure_body(NOT_WHITELISTED.as_bytes(), None);
        }
        if q.port == 0 {
            let why = b"port 0 is not a peer port; announce the TCP port you listen on";
            return failure_body(why, None);
        }
        let wanted = match q.numwant {
            _ if self.behaviour.ignore_numwant => self.config.max_numwant,
            Some(n) => n,
            None => self.config.default_numwant,
        };
        let numwant = wanted.min(self.config.max_numwant) as usize;
        let announcement = Announcement {
            info_hash: q.info_hash,
            peer_id: q.peer_id,
            addr: self.peer_addr(from.ip(), q.port),
            left: q.left,
            event: q.event,
        };
        // The extra peers first (none for `stopped`), then the swarm's, both families.
        let mut peers: Vec<SocketAddr> = Vec::new();
        if q.event != AnnounceEvent::Stopped {
            let extra = &self.config.extra_peers;
            peers.extend(extra.iter().take(numwant).map(|&p| canonical_addr(p)));
        }
        let room = numwant - peers.len();
        let families = [AddressFamily::V4, AddressFamily::V6];
        let stats = self.swarms.announce(
            now,
            &self.config,
            &announcement,
            &families,
            room,
            &mut peers,
        );
        let external_ip = self
            .config
            .send_external_ip
            .then(|| canonical_ip(from.ip()));
        let mut body = Vec::new();
        if q.compact == Some(false) {
            self.dict_reply(&peers, stats, external_ip, &mut body);
            return body;
        }
        let (v4, v6): (Vec<SocketAddr>, Vec<SocketAddr>) = peers.iter().partition(|p| p.is_ipv4());
        let reply = AnnounceSuccess {
            interval: Some(i64::from(self.config.interval)),
            min_interval: self.config.min_interval.map(i64::from),
            warning: None,
            tracker_id: self.config.tracker_id.as_deref(),
            complete: Some(i64::from(stats.seeders)),
            incomplete: Some(i64::from(stats.leechers)),
            downloaded: None,
            peers: Peers::Compact(CompactPeers::from_addrs(&v4)),
            peers6: CompactPeers::from_addrs(&v6),
            external_ip,
            crypto_flags: None,
        };
        // The peers are canonical and split by family, so encoding cannot fail.
        if reply.encode(&mut body).is_err() {
            return failure_body(b"internal error: a peer of the wrong family", None);
        }
        body
    }

    /// The BEP 3 list form (`compact=0`): `peers` as a list of `ip`/`port` dictionaries, both
    /// families in one list.
    fn dict_reply(
        &self,
        peers: &[SocketAddr],
        stats: SwarmStats,
        external_ip: Option<IpAddr>,
        out: &mut Vec<u8>,
    ) {
        out.push(b'd');
        put_int_entry(out, b"complete", i64::from(stats.seeders));
        match external_ip {
            Some(IpAddr::V4(a)) => put_bytes_entry(out, b"external ip", &a.octets()),
            Some(IpAddr::V6(a)) => put_bytes_entry(out, b"external ip", &a.octets()),
            None => {}
        }
        put_int_entry(out, b"incomplete", i64::from(stats.leechers));
        put_int_entry(out, b"interval", i64::from(self.config.interval));
        if let Some(n) = self.config.min_interval {
            put_int_entry(out, b"min interval", i64::from(n));
        }
        put_bytes(out, b"peers");
        out.push(b'l');
        for peer in peers {
            out.push(b'd');
            put_bytes_entry(out, b"ip", peer.ip().to_string().as_bytes());
            put_int_entry(out, b"port", i64::from(peer.port()));
            out.push(b'e');
        }
        out.push(b'e');
        if let Some(id) = &self.config.tracker_id {
            put_bytes_entry(out, b"tracker id", id);
        }
        out.push(b'e');
    }

    fn http_scrape(&mut self, now: Instant, query: &[u8]) -> Vec<u8> {
        let q = match ScrapeQuery::parse(query) {
            Ok(q) => q,
            Err(e) => return failure_body(e.to_string().as_bytes(), None),
        };
        if q.info_hashes.is_empty() {
            let why =
                b"full scrapes are not allowed; name each torrent with an info_hash parameter";
            return failure_body(why, None);
        }
        let files: Vec<(InfoHash, ScrapeFile)> = q
            .info_hashes
            .iter()
            .take(MAX_HTTP_SCRAPE_HASHES)
            .filter(|h| {
                self.behaviour
                    .whitelist
                    .as_ref()
                    .is_none_or(|w| w.contains(h))
            })
            .map(|h| {
                let s = self.swarms.stats(now, &self.config, h).unwrap_or_default();
                let file = ScrapeFile {
                    complete: i64::from(s.seeders),
                    incomplete: i64::from(s.leechers),
                    downloaded: i64::from(s.completed),
                    downloaders: None,
                };
                (*h, file)
            })
            .collect();
        let mut body = Vec::new();
        let flags = self.behaviour.min_request_interval;
        if self.behaviour.mangle_scrape_keys {
            mangled_scrape(&files, flags, &mut body);
        } else {
            encode_scrape(&files, flags, &mut body);
        }
        body
    }
}

/// A scrape reply whose `files` keys are each hash's bytes read as Latin-1 and written as UTF-8
/// (webtorrent's tracker goes through a JavaScript string); keys sorted bytewise.
fn mangled_scrape(files: &[(InfoHash, ScrapeFile)], flags: Option<i64>, out: &mut Vec<u8>) {
    let mut entries: Vec<(String, ScrapeFile)> = files
        .iter()
        .map(|(h, f)| (h.0.iter().map(|&b| char::from(b)).collect(), *f))
        .collect();
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    entries.dedup_by(|a, b| a.0 == b.0);
    out.extend_from_slice(b"d5:filesd");
    for (key, f) in &entries {
        put_bytes(out, key.as_bytes());
        out.push(b'd');
        put_int_entry(out, b"complete", f.complete);
        put_int_entry(out, b"downloaded", f.downloaded);
        put_int_entry(out, b"incomplete", f.incomplete);
        out.push(b'e');
    }
    out.push(b'e');
    if let Some(n) = flags {
        out.extend_from_slice(b"5:flagsd");
        put_int_entry(out, b"min_request_interval", n);
        out.push(b'e');
    }
    out.push(b'e');
}
