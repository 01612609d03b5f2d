//! A seeded in-memory datagram network: per-link loss, duplication, delay with jitter (which
//! reorders), and a queue ordered by delivery time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_core::Rng;

/// Datagrams a [`Net`] holds in flight. A datagram sent beyond it is dropped and counted in
/// [`Net::overflowed`], as a full router queue drops it. A simulation of 100,000 torrents behind
/// one client keeps a few thousand in flight.
pub const MAX_IN_FLIGHT: usize = 1 << 18;

/// How one direction of traffic behaves (turmoil calls these the fail rate and the message
/// latency). A probability of 0 or below never happens, 1 or above always does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Probability that a datagram (or an HTTP request) is lost.
    pub loss: f64,
    /// Probability that a datagram that is not lost is delivered twice.
    pub duplicate: f64,
    /// One-way delay.
    pub delay: Duration,
    /// Extra random delay, uniform in `[0, jitter]` whole milliseconds, drawn per datagram (so
    /// datagrams overtake each other).
    pub jitter: Duration,
}

impl Link {
    /// No loss, no duplication, 20 ms one way, no jitter.
    pub fn perfect() -> Self {
        Link {
            loss: 0.0,
            duplicate: 0.0,
            delay: Duration::from_millis(20),
            jitter: Duration::ZERO,
        }
    }
}

impl Default for Link {
    /// [`Link::perfect`].
    fn default() -> Self {
        Link::perfect()
    }
}

/// A datagram in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The source address the receiver sees.
    pub from: SocketAddr,
    /// The destination.
    pub to: SocketAddr,
    /// The payload.
    pub bytes: Vec<u8>,
    /// Forged by the network ([`World::set_spoof`](super::World::set_spoof)); the receiver is not
    /// told, a test's checks may look.
    pub spoofed: bool,
}

/// A uniform draw in `[0, 1)` from `rng` (53 random bits).
pub fn chance<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform duration in `[0, max]`, in whole milliseconds, from `rng`.
pub fn upto<R: Rng + ?Sized>(rng: &mut R, max: Duration) -> Duration {
    let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(match ms.checked_add(1) {
        _ if ms == 0 => 0,
        Some(span) => rng.next_u64() % span,
        None => rng.next_u64(),
    })
}

/// Datagrams in flight, delivered in the order of their delivery time (then of sending). It holds
/// no clock: [`send`](Self::send) takes the sending time, [`pop_due`](Self::pop_due) the time now.
#[derive(Debug, Default)]
pub struct Net {
    queue: BTreeMap<(Instant, u64), Datagram>,
    seq: u64,
    overflowed: u64,
}

impl Net {
    /// An empty network.
    pub fn new() -> Self {
        Net::default()
    }

    /// Sends `d` at `now` over `link`, drawing from `rng`: it may be lost, duplicated, delayed by
    /// the link's delay and jitter.
    pub fn send<R: Rng + ?Sized>(&mut self, now: Instant, link: &Link, rng: &mut R, d: Datagram) {
        if chance(rng) < link.loss {
            return;
        }
        let copies = if chance(rng) < link.duplicate { 2 } else { 1 };
        for copy in 1..=copies {
            let at = now
                .checked_add(link.delay)
                .and_then(|t| t.checked_add(upto(rng, link.jitter)));
            if let Some(at) = at {
                if copy == copies {
                    return self.inject(at, d);
                }
                self.inject(at, d.clone());
            }
        }
    }

    /// Queues `d` for delivery at `at`, bypassing any link (a replay, a forgery).
    pub fn inject(&mut self, at: Instant, d: Datagram) {
        if self.queue.len() >= MAX_IN_FLIGHT {
            self.overflowed += 1;
            return;
        }
        self.seq += 1;
        self.queue.insert((at, self.seq), d);
    }

    /// When the next datagram arrives; `None` when nothing is in flight.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    /// The next datagram due at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<Datagram> {
        let (&(at, _), _) = self.queue.first_key_value()?;
        if at > now {
            return None;
        }
        self.queue.pop_first().map(|(_, d)| d)
    }

    /// Datagrams in flight.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Datagrams dropped because [`MAX_IN_FLIGHT`] were already in flight.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }
}
