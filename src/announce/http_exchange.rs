//! One HTTP announce or scrape: the URL handed out, its deadline, redirects, and reading the reply
//! whatever its status.

use std::time::{Duration, Instant};

use super::config::Config;
use super::dns::{Addrs, Dns, DnsConfig, Lookup};
use super::endpoint::Endpoint;
use super::event::{Cause, HttpRequest, Origin, RequestId, RequestKind, TorrentId};
use super::outcome::{
    AnnounceReply, MAX_TRACKER_ID_LEN, Outcome, Retry, ScrapeCounts, Step, count, usable_peers,
};
use super::places::{Place, Slots};
use super::policy::is_internal_host;
use super::schedule::{intervals, later, retry_in};
use crate::http::{AnnounceResponse, Failure, HttpResponse, RetryIn, ScrapeResponse};
use crate::limits::elide_middle;
use crate::types::redact;
use crate::{AddressFamily, InfoHash, TrackerUrl};

/// The state of one HTTP exchange (all its redirect hops).
#[derive(Debug)]
pub(crate) struct HttpExchange {
    /// The id of the hop in flight; answers to earlier hops are stale.
    pub(crate) id: RequestId,
    url: TrackerUrl,
    /// The request waits for `poll_http_request`.
    pub(crate) pending: bool,
    /// The whole exchange gives up at this time (once admitted).
    deadline: Instant,
    /// How long it is given once admitted, redirects included.
    timeout: Duration,
    /// Admitted, the first hop waits for the optional rate ceiling until this time.
    pub(crate) hold: Option<Instant>,
    /// Its place in the endpoint's window (or its ticket in the queue for one).
    pub(crate) place: Place,
    /// Once its host admitted it: its place among the HTTP requests of every host.
    pub(crate) global: Option<Place>,
    /// Admitted ahead of regular exchanges.
    urgent: bool,
    /// The torrent it works for (woken when a place comes free).
    owner: TorrentId,
    redirects: u8,
    /// Redirects may lead to loopback, private or link-local addresses: the tracker itself is on
    /// one, or `Config::allow_internal_redirects` says so.
    pub(crate) internal_ok: bool,
    /// The current hop's addresses (empty while `resolving`), tried in order from `at`.
    addrs: Addrs,
    at: usize,
    /// A redirect led to another host name: the hop waits for its addresses.
    pub(crate) resolving: bool,
    /// The one family it goes over (dual-stack), for a redirect hop's addresses too.
    pub(crate) family: Option<AddressFamily>,
}

impl HttpExchange {
    /// Starts an exchange whose first hop waits for a place among the requests in flight to its
    /// host (`urgent`: ahead of regular exchanges); it is given `timeout` from then on.
    pub(crate) fn start(
        id: RequestId,
        url: TrackerUrl,
        (now, cfg, ep, all): (Instant, &Config, &mut Endpoint, &mut Slots),
        (urgent, owner): (bool, TorrentId),
        timeout: Duration,
        internal_ok: bool,
        addrs: Addrs,
    ) -> Self {
        let place = ep.window.admit(cfg, false, owner, urgent);
        let ctx = (now, cfg, ep, all);
        Self::with_place(
            id,
            url,
            ctx,
            (urgent, owner, place),
            timeout,
            internal_ok,
            addrs,
        )
    }

    /// An exchange that asked its host for a place and got `place`: once admitted there, it asks
    /// for a place among all hosts' requests.
    pub(crate) fn with_place(
        id: RequestId,
        url: TrackerUrl,
        (now, cfg, ep, all): (Instant, &Config, &mut Endpoint, &mut Slots),
        (urgent, owner, place): (bool, TorrentId, Place),
        timeout: Duration,
        internal_ok: bool,
        addrs: Addrs,
    ) -> Self {
        let mut exchange = HttpExchange {
            id,
            url,
            pending: false,
            deadline: now,
            timeout,
            hold: None,
            place,
            global: None,
            urgent,
            owner,
            redirects: 0,
            internal_ok,
            addrs,
            at: 0,
            resolving: false,
            family: None,
        };
        if place == Place::Admitted {
            exchange.admitted_here(now, cfg, ep, all);
        }
        exchange
    }

    /// Its host admitted it: it asks for a place among all hosts' requests.
    fn admitted_here(&mut self, now: Instant, cfg: &Config, ep: &mut Endpoint, all: &mut Slots) {
        self.place = Place::Admitted;
        let global = all.admit(cfg.http_max_in_flight, self.owner, self.urgent);
        self.global = Some(global);
        if global == Place::Admitted {
            self.admitted(now, cfg, ep);
        }
    }

    /// It got both places: the first hop goes out once the optional rate ceiling allows, and the
    /// deadline runs from then.
    fn admitted(&mut self, now: Instant, cfg: &Config, ep: &mut Endpoint) {
        let slot = ep.window.pace(now, cfg);
        self.deadline = later(slot, self.timeout);
        self.pending = slot <= now;
        self.hold = (slot > now).then_some(slot);
    }

    /// Waits in its host's queue or the queue of all hosts for a place (no timer of its own).
    pub(crate) fn queued(&self) -> bool {
        self.global != Some(Place::Admitted)
    }

    /// A hop that waits for its host name asks the cache: it goes out once the addresses are
    /// known, or the exchange ends with the failure. The redirect's SSRF rule applies to the
    /// addresses.
    pub(crate) fn resolve_hop(
        &mut self,
        dns: &mut Dns,
        cfg: &DnsConfig,
        (waiter, family): (TorrentId, Option<AddressFamily>),
        now: Instant,
    ) -> Option<Outcome> {
        if !self.resolving {
            return None;
        }
        let family = family.or(self.family);
        match dns.addresses(cfg, &self.url, waiter, now, self.internal_ok, family) {
            Lookup::Ready(addrs) => {
                self.addrs = addrs;
                self.at = 0;
                self.resolving = false;
                self.pending = true;
                None
            }
            Lookup::Wait(_) => None,
            Lookup::Failed(f) => Some(Outcome::dns_failed(f, dns.hold(&self.url, f, now), now)),
        }
    }

    /// The hop's address refused the connection: the same request goes to the next address, if
    /// one is left (the caller gets it with a new id). Returns whether it did.
    pub(crate) fn fail_over(&mut self) -> bool {
        if self.resolving || self.at + 1 >= self.addrs.len() {
            return false;
        }
        self.at += 1;
        self.pending = self.hold.is_none();
        true
    }

    /// No redirect was followed: the hop in flight is the first.
    pub(crate) fn first_hop(&self) -> bool {
        self.redirects == 0
    }

    /// When its timer fires: the rate ceiling's slot, then the deadline; `None` while it waits
    /// for a place.
    pub(crate) fn due(&self) -> Option<Instant> {
        (!self.queued()).then(|| self.hold.map_or(self.deadline, |h| h.min(self.deadline)))
    }

    /// The timer: a place given by the window is taken, the held request is released, or the
    /// exchange timed out.
    pub(crate) fn on_timer(
        &mut self,
        now: Instant,
        cfg: &Config,
        ep: &mut Endpoint,
        all: &mut Slots,
    ) -> Option<Outcome> {
        if let Place::Queued(ticket) = self.place {
            if ep.window.admitted(ticket) {
                self.admitted_here(now, cfg, ep, all);
            }
            return None;
        }
        if let Some(Place::Queued(ticket)) = self.global {
            if all.admitted(ticket) {
                self.global = Some(Place::Admitted);
                self.admitted(now, cfg, ep);
            }
            return None;
        }
        if now >= self.deadline {
            return Some(Outcome::failed(Cause::Timeout));
        }
        if self.hold.is_some_and(|h| h <= now) {
            self.hold = None;
            self.pending = true;
        }
        None
    }

    /// Hands the pending request out once.
    pub(crate) fn request(&mut self, origin: Origin, kind: RequestKind) -> Option<HttpRequest> {
        if !std::mem::take(&mut self.pending) {
            return None;
        }
        Some(HttpRequest {
            id: self.id,
            origin,
            url: self.url.clone(),
            addresses: self.addrs.get(self.at..).unwrap_or_default().to_vec(),
            kind,
            deadline: self.deadline,
            may_reach_internal: self.redirects == 0 || self.internal_ok,
        })
    }

    /// The caller's response to the hop in flight. A redirect queues the next hop
    /// (`Step::Continue`); the machine gives it a new id.
    pub(crate) fn on_response(
        &mut self,
        cfg: &Config,
        response: &HttpResponse<'_>,
        kind: RequestKind,
        info_hashes: &[InfoHash],
    ) -> Step {
        let status = response.status;
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            return match self.redirect(cfg, response.location.as_deref()) {
                Ok(url) => {
                    let same_host = url.host().eq_ignore_ascii_case(self.url.host())
                        && url.port() == self.url.port();
                    match url.socket_addr() {
                        Some(addr) => self.addrs = Addrs::One(addr),
                        None if same_host => {}
                        // Another host name: the machine resolves it before the hop goes out.
                        None => self.resolving = true,
                    }
                    self.at = 0;
                    self.url = url;
                    self.pending = !self.resolving;
                    Step::Continue
                }
                Err(why) => Step::Done(Outcome::failed(Cause::Redirect(elide_middle(why)))),
            };
        }
        if status == 410 {
            return Step::Done(Outcome::Failed {
                cause: Cause::Gone,
                retry: Retry::Never,
            });
        }
        let ok = (200..300).contains(&status);
        let bad_body = |why: String| {
            Outcome::failed(if ok {
                Cause::BadReply(why)
            } else {
                Cause::HttpStatus(status)
            })
        };
        let body = &response.body[..];
        Step::Done(match kind {
            RequestKind::Announce(_) => match AnnounceResponse::decode(body) {
                Ok(AnnounceResponse::Failure(f)) => failure(cfg, &f),
                Ok(AnnounceResponse::Success(_)) if !ok => {
                    Outcome::failed(Cause::HttpStatus(status))
                }
                Ok(AnnounceResponse::Success(s)) => Outcome::Announced(AnnounceReply {
                    interval: s.interval,
                    min_interval: s.min_interval,
                    seeders: count(s.complete),
                    leechers: count(s.incomplete),
                    peers: usable_peers(s.peer_addrs(), cfg.max_peers_per_reply),
                    warning: s.warning_text().map(|w| w.into_owned()),
                    external_ip: s.external_ip,
                    tracker_id: s
                        .tracker_id
                        .filter(|id| id.len() <= MAX_TRACKER_ID_LEN)
                        .map(<[u8]>::to_vec),
                }),
                Err(e) => bad_body(e.to_string()),
            },
            RequestKind::Scrape => match ScrapeResponse::decode(body) {
                Ok(ScrapeResponse::Failure(f)) => failure(cfg, &f),
                Ok(ScrapeResponse::Success(_)) if !ok => Outcome::failed(Cause::HttpStatus(status)),
                Ok(ScrapeResponse::Success(s)) => Outcome::Scraped(
                    info_hashes
                        .iter()
                        .map(|hash| {
                            let file = s.files.get(hash);
                            ScrapeCounts {
                                seeders: count(file.map(|f| f.complete)),
                                completed: count(file.map(|f| f.downloaded)),
                                leechers: count(file.map(|f| f.incomplete)),
                                min_request_interval: s
                                    .min_request_interval
                                    .and_then(|n| u64::try_from(n).ok())
                                    .map(std::time::Duration::from_secs),
                            }
                        })
                        .collect(),
                ),
                Err(e) => bad_body(e.to_string()),
            },
        })
    }

    /// The next hop's URL, or why the redirect is refused.
    fn redirect(&mut self, cfg: &Config, location: Option<&str>) -> Result<TrackerUrl, String> {
        let location = location.ok_or("the tracker sent a redirect without a Location header")?;
        if self.redirects >= cfg.max_redirects {
            return Err(format!(
                "more than {} redirects (raise Config::max_redirects if this tracker needs more)",
                cfg.max_redirects
            ));
        }
        self.redirects += 1;
        let base =
            url::Url::parse(self.url.as_str()).map_err(|e| format!("bad request URL: {e}"))?;
        let next = base
            .join(location)
            .map_err(|e| format!("Location {:?} is not a URL: {e}", redact(location)))?;
        match (base.scheme(), next.scheme()) {
            ("https", "http") if !cfg.allow_https_downgrade => Err(format!(
                "refusing the downgrade from https to {} (set Config::allow_https_downgrade to allow it)",
                redact(next.as_str())
            )),
            // An address that names no single host is refused whatever the settings allow, with
            // its own reason (TrackerUrlError::NotUnicast).
            (_, "http" | "https") if names_no_host(&next) => request_url(next),
            (_, "http" | "https") if !self.internal_ok && is_internal_host(&next) => Err(format!(
                "refusing the redirect to {}: it leads from a public tracker to a loopback, private or link-local address (set Config::allow_internal_redirects to allow it)",
                redact(next.as_str())
            )),
            (_, "http" | "https") if next.host_str().is_some() => request_url(next),
            _ => Err(format!(
                "Location {:?} is not an http(s) URL",
                redact(location)
            )),
        }
    }
}

/// The host of a redirect's URL is an IP address that names no single host (broadcast,
/// multicast, unspecified).
fn names_no_host(url: &url::Url) -> bool {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        _ => return false,
    };
    crate::addr::not_unicast(ip).is_some()
}

/// The URL of the next hop as a [`TrackerUrl`]: ASCII, the host in IDNA form, the bytes that may
/// not appear raw in a URL percent-encoded, without a fragment (a request never sends one).
/// WHATWG's join already encodes non-ASCII text and spaces in a `Location`, but leaves a few ASCII
/// characters raw in the query (`\`, `|`, `{`, ...), which the [`TrackerUrl`] form encodes.
fn request_url(mut next: url::Url) -> Result<TrackerUrl, String> {
    next.set_fragment(None);
    let text = next.as_str().replace('\\', "%5C");
    TrackerUrl::parse(&text).map_err(|e| format!("refusing the redirect to {}: {e}", redact(&text)))
}

/// A `failure reason` reply, with what it says about retrying.
fn failure(cfg: &Config, f: &Failure<'_>) -> Outcome {
    let reason = f.reason_text().into_owned();
    match f.retry_in {
        Some(RetryIn::Never) => Outcome::Failed {
            cause: Cause::RetryNever { reason },
            retry: Retry::Never,
        },
        Some(RetryIn::Minutes(m)) => {
            let after = retry_in(cfg, m);
            Outcome::Failed {
                cause: Cause::Tracker {
                    reason,
                    retry_in: Some(after),
                },
                retry: Retry::After(after),
            }
        }
        None => Outcome::Failed {
            cause: Cause::Tracker {
                reason,
                retry_in: None,
            },
            // An interval sent along with a failure is the tracker asking to be left alone that
            // long (BiglyBT #162, libtorrent).
            retry: match f.interval {
                Some(_) => Retry::After(intervals(cfg, f.interval, f.min_interval).0),
                None => Retry::Backoff,
            },
        },
    }
}
