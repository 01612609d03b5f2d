//! The simulated world: trackers on addresses, the network between them and the machine under
//! test, HTTP exchanges, and the virtual time of the next thing that happens.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::announce::{HttpRequest, RequestId, TransportError};
use crate::tracker::{HttpAnswer, Tracker};

use super::net::{Datagram, Link, MAX_IN_FLIGHT, Net, chance, upto};

/// Trackers a [`World`] hosts; [`World::add_tracker`] refuses more.
pub const MAX_TRACKERS: usize = 4096;

/// The peer a forged reply puts first: 66.66.66.66:666 (compact bytes).
const FORGED_PEER: [u8; 6] = [66, 66, 66, 66, 2, 154];

/// Something the world delivers to the machine under test, from [`World::poll_delivery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A datagram for an address that is not a tracker's: hand it to `handle_datagram`.
    Datagram(Datagram),
    /// The end of an HTTP exchange started with [`World::send_http`]: hand the answer to
    /// `handle_http_response` (as [`HttpAnswer::response`]) or the failure to
    /// `handle_transport_error`, with this request id.
    Http {
        /// The request's id.
        request: RequestId,
        /// The tracker's answer, or how the exchange failed.
        answer: Result<HttpAnswer, TransportError>,
    },
}

/// Simulated trackers ([`Tracker`]s, each on one address serving UDP and HTTP), the seeded
/// [`Net`] between them and the machine under test, and HTTP exchanges in flight. See the
/// [module docs](super) for the loop that drives it.
///
/// Everything random (loss, duplication, jitter, forgeries) is drawn from one generator seeded
/// with the seed given to [`World::new`], so a seed replays exactly; the caller's own draws can
/// come from it too ([`World::rng`]).
#[derive(Debug)]
pub struct World {
    net: Net,
    link: Link,
    spoof: f64,
    rng: ChaCha8Rng,
    trackers: Vec<(SocketAddr, Tracker)>,
    http: BTreeMap<(Instant, u64), (RequestId, Result<HttpAnswer, TransportError>)>,
    seq: u64,
    buf: Vec<u8>,
}

impl World {
    /// An empty world: no trackers, nothing in flight, `link` for both directions.
    pub fn new(seed: u64, link: Link) -> Self {
        World {
            net: Net::new(),
            link,
            spoof: 0.0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            trackers: Vec::new(),
            http: BTreeMap::new(),
            seq: 0,
            buf: Vec::new(),
        }
    }

    /// Puts `tracker` on `addr`: datagrams and HTTP requests to `addr` reach it (a tracker
    /// already there is replaced). Returns `false`, and drops it, when [`MAX_TRACKERS`] are
    /// hosted.
    pub fn add_tracker(&mut self, addr: SocketAddr, tracker: Tracker) -> bool {
        if let Some(slot) = self.tracker_mut(addr) {
            *slot = tracker;
            return true;
        }
        if self.trackers.len() >= MAX_TRACKERS {
            return false;
        }
        self.trackers.push((addr, tracker));
        true
    }

    /// The tracker on `addr`, to read its swarms.
    pub fn tracker(&self, addr: SocketAddr) -> Option<&Tracker> {
        self.trackers
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, t)| t)
    }

    /// The tracker on `addr`, to change its behaviour mid-run.
    pub fn tracker_mut(&mut self, addr: SocketAddr) -> Option<&mut Tracker> {
        self.trackers
            .iter_mut()
            .find(|(a, _)| *a == addr)
            .map(|(_, t)| t)
    }

    /// The link both directions use.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Changes the link from the next datagram on (a partition is `loss: 1.0`).
    pub fn set_link(&mut self, link: Link) {
        self.link = link;
    }

    /// The probability that a tracker's UDP reply is also forged: a copy from the tracker's IP and
    /// the next port, with the first peer of an announce reply replaced by 66.66.66.66:666,
    /// arriving before the real one ([`Datagram::spoofed`] is set on it). 0 by default.
    pub fn set_spoof(&mut self, probability: f64) {
        self.spoof = probability;
    }

    /// The world's seeded generator, for the caller's own random choices (all of a run's
    /// randomness then comes from one seed).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// The network, to inject datagrams ([`Net::inject`]) or look at what is in flight.
    pub fn net_mut(&mut self) -> &mut Net {
        &mut self.net
    }

    /// Sends a datagram at `now` from `from` (the machine's address) to `to` over the link.
    pub fn send_datagram(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        let d = Datagram {
            from,
            to,
            bytes: bytes.to_vec(),
            spoofed: false,
        };
        self.net.send(now, &self.link, &mut self.rng, d);
    }

    /// Starts an HTTP exchange at `now` from `from`: the request goes to the first of its
    /// `addresses`. A request the link loses ends in [`TransportError::ConnectionReset`] after
    /// one round trip half the time and in nothing the other half (the machine's deadline
    /// fires); an address with no tracker refuses the connection; a tracker that stays silent
    /// gives nothing. The answer arrives one round trip (twice the link delay, plus jitter) after
    /// the tracker's [`HttpAnswer::send_at`].
    pub fn send_http(&mut self, now: Instant, from: SocketAddr, request: &HttpRequest) {
        let rtt = (self.link.delay.saturating_mul(2))
            .saturating_add(upto(&mut self.rng, self.link.jitter));
        let lost = chance(&mut self.rng) < self.link.loss;
        let answer = match request.addresses.first().copied() {
            _ if lost => {
                if chance(&mut self.rng) >= 0.5 {
                    return;
                }
                Some((now, Err(TransportError::ConnectionReset)))
            }
            Some(to) => match self.tracker_mut(to) {
                None => Some((now, Err(TransportError::ConnectionRefused))),
                Some(tracker) => tracker
                    .handle_http(now, from, request.url.as_str().as_bytes())
                    .map(|a| (a.send_at.max(now), Ok(a))),
            },
            None => Some((now, Err(TransportError::ConnectionRefused))),
        };
        let Some((sent, answer)) = answer else {
            return;
        };
        if self.http.len() >= MAX_IN_FLIGHT {
            return;
        }
        if let Some(at) = sent.checked_add(rtt) {
            self.seq += 1;
            self.http.insert((at, self.seq), (request.id, answer));
        }
    }

    /// When the next datagram or HTTP answer arrives (at a tracker or at the machine); `None`
    /// when nothing is in flight. A driver sleeps until the earliest of this and the machine's
    /// `poll_timeout`.
    pub fn next_time(&self) -> Option<Instant> {
        let http = self.http.keys().next().map(|&(at, _)| at);
        match (self.net.next_delivery(), http) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing due at or before `now` for the machine under test: datagrams first, then
    /// HTTP answers, each in order of arrival. Datagrams due for a tracker are handed to it on
    /// the way, and its replies sent back over the link. `None` when nothing more is due.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Delivery> {
        while let Some(d) = self.net.pop_due(now) {
            if !self.serve_datagram(now, &d) {
                return Some(Delivery::Datagram(d));
            }
        }
        let (&key, _) = self.http.first_key_value()?;
        if key.0 > now {
            return None;
        }
        let (request, answer) = self.http.remove(&key)?;
        Some(Delivery::Http { request, answer })
    }

    /// Whether anything is in flight.
    pub fn is_idle(&self) -> bool {
        self.net.is_empty() && self.http.is_empty()
    }

    /// Hands `d` to the tracker on its destination, if there is one, and sends its replies (and
    /// forgeries). Returns whether a tracker took it.
    fn serve_datagram(&mut self, now: Instant, d: &Datagram) -> bool {
        let Some(i) = self.trackers.iter().position(|(a, _)| *a == d.to) else {
            return false;
        };
        let (addr, tracker) = &mut self.trackers[i];
        let addr = *addr;
        tracker.handle_datagram(now, d.from, &d.bytes);
        while let Some(t) = tracker.poll_transmit(&mut self.buf) {
            let at = t.send_at.max(now);
            if chance(&mut self.rng) < self.spoof {
                // The tracker wrote exactly the datagram into the cleared buffer.
                let mut forged = self.buf.clone();
                if let Some(first) = forged.get_mut(20..26) {
                    first.copy_from_slice(&FORGED_PEER);
                }
                let other = SocketAddr::new(addr.ip(), addr.port().wrapping_add(1));
                let forged = Datagram {
                    from: other,
                    to: t.to,
                    bytes: forged,
                    spoofed: true,
                };
                if let Some(when) = at.checked_add(self.link.delay / 2) {
                    self.net.inject(when, forged);
                }
            }
            let reply = Datagram {
                from: addr,
                to: t.to,
                bytes: self.buf.clone(),
                spoofed: false,
            };
            self.net.send(at, &self.link, &mut self.rng, reply);
        }
        true
    }
}
