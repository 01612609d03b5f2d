//! What the caller decides: the torrent, its progress, the tuning knobs, and the errors that
//! [`Announce::new`](super::Announce::new) returns for bad parameters.

use crate::limits::Echo;
use std::time::Duration;

use super::dns::{DnsConfig, Families};
use super::schedule::udp_wait;
use crate::udp::{ANNOUNCE_RESPONSE_HEADER_LEN, announce_reply_len};
use crate::{AddressFamily, InfoHash, PeerId, TrackerUrl};

/// Transfer counters sent with every announce. Update them with
/// [`Announce::set_progress`](super::Announce::set_progress) whenever they change.
///
/// Any value is accepted. HTTP sends the counts as given; UDP (BEP 15) carries signed 64-bit
/// counts, so a count above `i64::MAX` (8 EiB) is sent as `i64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes uploaded this session.
    pub uploaded: u64,
    /// Bytes downloaded this session.
    pub downloaded: u64,
    /// Bytes still needed; 0 means seeding. For an unknown size (a magnet link without metadata)
    /// use a non-zero placeholder such as 16384.
    pub left: u64,
    /// Bytes that failed the hash check, sent as HTTP `corrupt` when `Some` (libtorrent always
    /// sends it, Transmission when non-zero; PROTOCOL.md section 3.2). `None` leaves it out. UDP
    /// (BEP 15) has no field for it.
    pub corrupt: Option<u64>,
    /// Bytes downloaded more than once, sent as HTTP `redundant` when `Some` (libtorrent's
    /// `report_redundant_bytes`). `None` leaves it out; UDP has no field for it.
    pub redundant: Option<u64>,
}

/// The torrent being announced.
///
/// [`Announce::new`](super::Announce::new) and [`Client::add`](crate::client::Client::add) refuse
/// port 0 with [`ConfigError::InvalidTorrent`]; every other value is sent as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torrent {
    /// The info hash (for BEP 52 v2 torrents, [`InfoHash::from_v2`]). Any 20 bytes: a tracker that
    /// does not track the hash says so in a failure, reported as an event.
    pub info_hash: InfoHash,
    /// This client's peer id. Any 20 bytes (BEP 3); BEP 20's `-XX0000-` prefix is a convention
    /// trackers do not enforce.
    pub peer_id: PeerId,
    /// The TCP port peers connect to, 1 to 65535. Port 0 is refused: trackers answer "invalid
    /// port" or list this client as `ip:0`, which no peer can connect to.
    pub port: u16,
    /// The counters at construction.
    pub progress: Progress,
    /// The per-torrent `key`. `None` draws one from the RNG given to `new`; pass a stored one to keep
    /// the same key across restarts (trackers use it to recognise the client when its IP changes).
    pub key: Option<u32>,
}

/// How BEP 12 tiers are walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TierMode {
    /// BEP 12: one announce at a time, walking the tiers in order and the trackers of a tier in
    /// order; the first tracker that answers is moved to the front of its tier and ends the walk.
    #[default]
    OneTracker,
    /// One tracker per tier, every tier in parallel (Transmission's behaviour, libtorrent's
    /// `announce_to_all_tiers`).
    AllTiers,
    /// Every tracker independently, each on its own schedule (libtorrent with both
    /// `announce_to_all_tiers` and `announce_to_all_trackers`).
    AllTrackers,
}

/// Tuning knobs. Every default is documented and taken from PROTOCOL.md section 14; start from
/// [`Config::default`] and change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Peers asked for per announce (`numwant`), 1 to [`MAX_NUM_WANT`]; `stopped` always asks for
    /// 0. Default 200.
    pub num_want: u32,
    /// How tiers are walked. Default [`TierMode::OneTracker`] (BEP 12).
    pub tier_mode: TierMode,
    /// Re-announce period when the tracker sends no `interval` (or 0). Default 1800 s.
    pub default_interval: Duration,
    /// `min interval` when the tracker sends none (UDP never does). Default 60 s.
    pub default_min_interval: Duration,
    /// The lowest `min interval` honoured, whatever the tracker says; at most
    /// [`interval_ceiling`](Self::interval_ceiling). Default 60 s.
    pub min_interval_floor: Duration,
    /// The lowest re-announce period, whatever the tracker says. Default 120 s.
    pub interval_floor: Duration,
    /// The highest re-announce period (and `min interval`): a tracker cannot make this client go
    /// silent for longer. Default 2 h.
    pub interval_ceiling: Duration,
    /// BEP 15 retransmission base: the wait after the n-th send is `udp_rto * 2^(n-1)`; the wait
    /// after the last send, `udp_rto * 2^(udp_max_attempts - 1)`, must be at most 365 days.
    /// Default 15 s.
    pub udp_rto: Duration,
    /// UDP sends per request before it times out (1 to 9; BEP 15 allows 9). Default 3: sends at
    /// 0, 15 and 45 s, timeout at 105 s.
    pub udp_max_attempts: u32,
    /// How long a UDP connection id is reused after it was received. Default 60 s (BEP 15).
    pub connection_id_lifetime: Duration,
    /// Deadline of an HTTP announce or scrape, redirects included. Default 30 s.
    pub http_timeout: Duration,
    /// How long a `stopped` announce is given once its endpoint's window admits it: a UDP
    /// `stopped` spreads its [`udp_max_attempts`](Self::udp_max_attempts) sends over it, an HTTP
    /// one has it as its deadline. Shutdown ends with [`Event::Stopped`](super::Event::Stopped)
    /// at most this long after the last `stopped` was admitted (with many torrents on one
    /// tracker, the `stopped` announces go out as fast as the tracker answers them). Default 5 s.
    pub stop_timeout: Duration,
    /// HTTP redirects followed per request. Default 5.
    pub max_redirects: u8,
    /// Follow a redirect from `https://` to `http://`. Default `false`.
    pub allow_https_downgrade: bool,
    /// Follow a redirect from a tracker on a public address to a loopback, private or link-local
    /// one (see [`is_internal_address`](super::is_internal_address)). Default `false`: a magnet
    /// link's tracker must not be able to aim this client at its own network.
    pub allow_internal_redirects: bool,
    /// Jitter applied to failure backoff, in percent either way. Default 10.
    pub retry_jitter_percent: u8,
    /// The longest failure backoff (before `retry in`). Default 3600 s (libtorrent).
    pub max_backoff: Duration,
    /// The longest BEP 31 `retry in` honoured. Default 7 days.
    pub max_retry_in: Duration,
    /// Peers kept from one reply (after dropping unusable entries); at least 1. Default 1000.
    pub max_peers_per_reply: usize,
    /// Trackers accepted by `new` (after dropping duplicates). Default 256.
    pub max_trackers: usize,
    /// HTTP: send `no_peer_id=1`. Default `true`.
    pub no_peer_id: bool,
    /// HTTP: send `supportcrypto=1`; only if this client speaks MSE/PE. Default `false`.
    pub supportcrypto: bool,
    /// HTTP: send `requirecrypto=1` (with `supportcrypto=1`): this client accepts only MSE/PE
    /// encrypted peers, as Transmission's "required" mode says. Default `false`.
    pub requirecrypto: bool,
    /// HTTP: the `ip` parameter, the address to be listed under, for a client that knows its
    /// public address is not the one trackers see. Most trackers ignore it (opentracker honours it
    /// only when built with `WANT_IP_FROM_QUERY_STRING`). Over UDP the BEP 15 IP field stays 0
    /// ("use the source address"). An address that names no single host (unspecified, broadcast,
    /// multicast) is refused by `Announce::new` and `Client::new`. Default `None`.
    pub announce_ip: Option<std::net::IpAddr>,
    /// The most UDP exchanges in flight with one tracker endpoint (transport, host, port) at
    /// once: the cap of its self-clocking window, 1 to 65,536. The window starts at 16, admits a
    /// new exchange each time one is answered, grows while answers come back and is halved when
    /// a datagram is lost (see the [`limits`](crate::limits) module for the reasoning). Every
    /// exchange holds its place from its first datagram to its end, connects and retransmissions
    /// included, so datagrams in flight never exceed it. `stopped`, `completed` and
    /// [`announce_now`](super::Announce::announce_now) go ahead of a start-up backlog. Default
    /// 92: the replies to that many announces of 200 IPv4 peers (1,220 bytes, counted by Linux as
    /// 2,304 bytes each) fit a default 212,992-byte socket receive buffer, so a burst of answers
    /// is never dropped by the caller's socket.
    pub tracker_window: u32,
    /// The most HTTP requests in flight to one tracker host (and port) at once, 1 to 1,024.
    /// Default 16, as Transmission (libtorrent has no per-host cap below its 50 announces in
    /// flight): a tracker is one web server, and more connections to it add its connection
    /// set-up cost without answering sooner. Measured with the start-up bench (one loopback HTTP
    /// tracker, 5,000 and 20,000 torrents), 50 per host finished no sooner than 16 (see the
    /// [`limits`](crate::limits) module).
    pub http_per_host: u32,
    /// The most HTTP requests in flight across all tracker hosts at once, 1 to 65,536. Default
    /// 50, as libtorrent's `max_concurrent_http_announces`: each is a TCP connection (and maybe
    /// a TLS handshake) the caller holds open.
    pub http_max_in_flight: u32,
    /// An optional ceiling on the exchanges started per second with one tracker endpoint, on top
    /// of the window (`None`, the default: the window alone paces). With a ceiling, an admitted
    /// exchange's first datagram or HTTP request waits for its slot: at most
    /// [`tracker_burst`](Self::tracker_burst) at once, then this many per second (the generic
    /// cell rate algorithm, one clock for every exchange, so the ceiling is never exceeded).
    pub tracker_rate: Option<u32>,
    /// The burst the optional [`tracker_rate`](Self::tracker_rate) ceiling allows, 1 to
    /// 1,000,000. Default 50.
    pub tracker_burst: u32,
    /// Info hashes in one HTTP multi-scrape, 1 to 100 (a [`Client`](crate::client::Client) batches
    /// the scrapes of its torrents; a tracker that answers 414 or 400 gets half as many). Each hash
    /// adds up to 71 bytes to the URL, and servers need only take request lines of 8,000 bytes
    /// (RFC 9112); some close the connection instead of answering 414. UDP scrapes carry at most 70
    /// whatever this says. Default 70.
    pub max_scrape_batch: usize,
    /// A [`Client`](crate::client::Client) waits this long after the first scrape of a tracker URL
    /// so that the scrapes asked for meanwhile go in the same batch. Default 1 s.
    pub scrape_window: Duration,
    /// Scrape every tracker this often on its own (Transmission: 30 min), for swarm counts and
    /// the `downloaded` total while the tab is open, and for paused torrents, which do not
    /// announce. A tracker whose latest announce reply (younger than this) carried seeders and
    /// leechers is skipped that time; BEP 48 `flags.min_request_interval` is honoured; due times
    /// are rounded up to 10 s so a [`Client`](crate::client::Client) batches the scrapes of many
    /// torrents. HTTP trackers without a scrape URL are never scraped on this schedule. At least
    /// 60 s.
    ///
    /// Default `None` (off): every running torrent's announce replies already carry seeders and
    /// leechers, and a library must not add load on trackers its caller did not ask for; a client
    /// that shows counts for paused torrents turns it on with `Some(Duration::from_secs(1800))`.
    /// [`scrape`](super::Announce::scrape) works either way.
    pub scrape_interval: Option<Duration>,
    /// The DNS cache: lifetimes of answers and failures, the query deadline, the cap on names,
    /// and whether public names may resolve to internal addresses (see [`DnsConfig`]).
    pub dns: DnsConfig,
    /// The address families announced over: [`Families::Any`] (one announce per tracker, any
    /// family; default), one family only, or BEP 7 dual-stack ([`Families::Both`]).
    pub families: Families,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            num_want: 200,
            tier_mode: TierMode::OneTracker,
            default_interval: Duration::from_secs(1800),
            default_min_interval: Duration::from_secs(60),
            min_interval_floor: Duration::from_secs(60),
            interval_floor: Duration::from_secs(120),
            interval_ceiling: Duration::from_secs(2 * 3600),
            udp_rto: Duration::from_secs(15),
            udp_max_attempts: 3,
            connection_id_lifetime: Duration::from_secs(60),
            http_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(5),
            max_redirects: 5,
            allow_https_downgrade: false,
            allow_internal_redirects: false,
            retry_jitter_percent: 10,
            max_backoff: Duration::from_secs(3600),
            max_retry_in: Duration::from_secs(7 * 24 * 3600),
            max_peers_per_reply: 1000,
            max_trackers: 256,
            no_peer_id: true,
            supportcrypto: false,
            requirecrypto: false,
            announce_ip: None,
            tracker_window: 92,
            http_per_host: 16,
            http_max_in_flight: 50,
            tracker_rate: None,
            tracker_burst: 50,
            max_scrape_batch: 70,
            scrape_window: Duration::from_secs(1),
            scrape_interval: None,
            dns: DnsConfig::default(),
            families: Families::Any,
        }
    }
}

/// The longest duration any knob may take, so that no deadline can overflow an `Instant`.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The most peers [`Config::num_want`] may ask for: what one UDP announce reply carries over IPv6
/// (a 65,527-byte payload holds the 20-byte header and 3,639 peers of 18 bytes). With it,
/// [`udp::announce_reply_len`](crate::udp::announce_reply_len)`(num_want, family)` always fits a
/// 64 KiB receive buffer. Trackers give far fewer (opentracker at most 200, aquatic 30 to 50).
pub const MAX_NUM_WANT: u32 = ((65_527 - ANNOUNCE_RESPONSE_HEADER_LEN) / 18) as u32;

// The `num_want` rule below names the number; a UDP reply of that many IPv6 peers fits a datagram.
const _: () = assert!(MAX_NUM_WANT == 3639);
const _: () = assert!(announce_reply_len(MAX_NUM_WANT as usize, AddressFamily::V6) <= 65_527);

impl Torrent {
    /// Checks the fields trackers refuse; `Announce::new` and `Client::add` call this.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.port == 0 {
            return Err(ConfigError::InvalidTorrent {
                field: "port",
                rule: "must be 1 to 65535: trackers refuse port 0 or list this client as ip:0, which no peer can connect to; pass the TCP port this client accepts peers on",
            });
        }
        Ok(())
    }
}

impl Config {
    /// Checks the knobs; `Announce::new` and `Client::new` call this.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self
            .announce_ip
            .is_some_and(|ip| crate::addr::not_unicast(ip).is_some())
        {
            return Err(ConfigError::Invalid {
                field: "announce_ip",
                rule: "names no single host (unspecified, broadcast or multicast), so no peer could reach this client there; pass the public address this client is reached at, or None",
            });
        }
        let durations = [
            ("default_interval", self.default_interval),
            ("default_min_interval", self.default_min_interval),
            ("min_interval_floor", self.min_interval_floor),
            ("interval_floor", self.interval_floor),
            ("interval_ceiling", self.interval_ceiling),
            ("udp_rto", self.udp_rto),
            ("connection_id_lifetime", self.connection_id_lifetime),
            ("http_timeout", self.http_timeout),
            ("stop_timeout", self.stop_timeout),
            ("max_backoff", self.max_backoff),
            ("max_retry_in", self.max_retry_in),
            ("scrape_window", self.scrape_window),
        ];
        for (field, value) in durations.into_iter().chain(self.dns.durations()) {
            if value.is_zero() || value > MAX_DURATION {
                return Err(ConfigError::Invalid {
                    field,
                    rule: "must be more than zero and at most 365 days",
                });
            }
        }
        let checks = [
            (
                "interval_ceiling",
                self.interval_floor <= self.interval_ceiling,
                "must not be below interval_floor",
            ),
            (
                "min_interval_floor",
                self.min_interval_floor <= self.interval_ceiling,
                "must not be above interval_ceiling",
            ),
            (
                "udp_max_attempts",
                (1..=9).contains(&self.udp_max_attempts),
                "must be 1 to 9 (BEP 15 retransmits at most 8 times)",
            ),
            (
                "udp_rto",
                udp_wait(self, self.udp_max_attempts) <= MAX_DURATION,
                "times 2^(udp_max_attempts - 1), the wait after the last send, must be at most 365 days; lower udp_rto or udp_max_attempts",
            ),
            (
                "num_want",
                (1..=MAX_NUM_WANT).contains(&self.num_want),
                "must be 1 to 3639: 0 asks every tracker for no peers at all (stopped asks for 0 by itself), and one UDP reply holds at most 3639 IPv6 peers",
            ),
            (
                "max_peers_per_reply",
                self.max_peers_per_reply >= 1,
                "must be at least 1: 0 drops every peer of every reply",
            ),
            (
                "retry_jitter_percent",
                self.retry_jitter_percent <= 50,
                "must be at most 50",
            ),
            (
                "tracker_window",
                (1..=65_536).contains(&self.tracker_window),
                "must be 1 to 65,536 exchanges in flight",
            ),
            (
                "http_per_host",
                (1..=1_024).contains(&self.http_per_host),
                "must be 1 to 1,024 requests in flight",
            ),
            (
                "http_max_in_flight",
                (1..=65_536).contains(&self.http_max_in_flight),
                "must be 1 to 65,536 requests in flight",
            ),
            (
                "tracker_rate",
                self.tracker_rate
                    .is_none_or(|r| (1..=1_000_000).contains(&r)),
                "must be None or 1 to 1,000,000 requests per second",
            ),
            (
                "tracker_burst",
                (1..=1_000_000).contains(&self.tracker_burst),
                "must be 1 to 1,000,000",
            ),
            (
                "max_scrape_batch",
                (1..=100).contains(&self.max_scrape_batch),
                "must be 1 to 100: each info hash adds up to 71 bytes to a scrape URL, and servers need only take request lines of 8,000 bytes (RFC 9112)",
            ),
            (
                "max_trackers",
                (1..=u16::MAX as usize).contains(&self.max_trackers),
                "must be 1 to 65535",
            ),
        ];
        if let Some(d) = self.scrape_interval
            && (d < Duration::from_secs(60) || d > MAX_DURATION)
        {
            return Err(ConfigError::Invalid {
                field: "scrape_interval",
                rule: "must be at least 60 s and at most 365 days (or None to scrape only when asked)",
            });
        }
        for (field, ok, rule) in checks.into_iter().chain(self.dns.checks()) {
            if !ok {
                return Err(ConfigError::Invalid { field, rule });
            }
        }
        Ok(())
    }
}

/// Why [`Announce::new`](super::Announce::new) refused its parameters. This is the only error the
/// machine returns; everything after construction is reported as an [`Event`](super::Event).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No tracker URL at all (or only empty tiers).
    #[error("no tracker to announce to: pass at least one tracker URL")]
    NoTrackers,
    /// More distinct trackers than [`Config::max_trackers`].
    #[error(
        "{count} trackers is more than the configured maximum of {max}; raise Config::max_trackers or drop some"
    )]
    TooManyTrackers {
        /// Distinct trackers given.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// A tracker URL that cannot be announced to as given.
    #[error("cannot announce to {}: {why}", Echo(.url))]
    BadTrackerUrl {
        /// The URL.
        url: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// A knob outside its range.
    #[error("Config::{field} {rule}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A [`Torrent`] field that trackers refuse (port 0).
    #[error("Torrent::{field} {rule}")]
    InvalidTorrent {
        /// The field.
        field: &'static str,
        /// The rule it breaks, and what to pass instead.
        rule: &'static str,
    },
    /// A [`Client`](crate::client::Client) already holds as many torrents as it can name.
    #[error(
        "the client already holds {max} torrents, the most it can hold; remove some or use a second Client"
    )]
    TooManyTorrents {
        /// The cap.
        max: usize,
    },
    /// A [`Client`](crate::client::Client) already holds a torrent announcing this info hash (as
    /// the v1 or the v2 hash of a hybrid torrent, or of a torrent being removed whose
    /// [`Event::Stopped`](super::Event::Stopped) was not drained yet). Two torrents in one swarm
    /// would announce with two `key`s, and trackers would count two clients (and the removed
    /// one's `stopped` could unlist the new one).
    #[error(
        "info hash {info_hash} is already announced by {existing} of this client; use that torrent (a removed one holds its hash until its Event::Stopped is drained, then add it again)"
    )]
    DuplicateInfoHash {
        /// The info hash given.
        info_hash: InfoHash,
        /// The torrent that announces it.
        existing: super::TorrentId,
    },
}

/// Checks that a tracker URL can be announced to: no pre-filled reserved parameter over HTTP, BEP 41
/// URL data that fits over UDP.
pub(crate) fn check_tracker(url: &TrackerUrl) -> Result<(), ConfigError> {
    let bad = |why: String| ConfigError::BadTrackerUrl {
        url: url.to_string(), // Display: without the password
        why,
    };
    match url.scheme() {
        crate::Scheme::Udp => {
            let len = url.path_and_query().len();
            if len > crate::udp::MAX_URL_DATA_LEN {
                return Err(bad(format!(
                    "its path and query are {len} bytes, more than the {} bytes BEP 41 URL data carries",
                    crate::udp::MAX_URL_DATA_LEN
                )));
            }
        }
        crate::Scheme::Http | crate::Scheme::Https => match crate::http::check_tracker_query(url) {
            // Said without the URL, which the error's message already names.
            Err(crate::http::UrlError::ReservedParameter { name, .. }) => {
                return Err(bad(format!(
                    "it already sets the announce parameter {:?}; remove it (a URL that pre-fills announce parameters could make this client announce on someone else's behalf)",
                    crate::limits::Echo(&name)
                )));
            }
            Err(e) => return Err(bad(e.to_string())),
            Ok(()) => {}
        },
    }
    Ok(())
}
