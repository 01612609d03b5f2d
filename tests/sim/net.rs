//! A seeded in-memory datagram network: per-link loss, duplication, delay with jitter (which
//! reorders), and a queue ordered by delivery time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// How one direction of traffic behaves.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// Probability a datagram is lost.
    pub loss: f64,
    /// Probability a delivered datagram is delivered twice.
    pub duplicate: f64,
    /// One-way delay.
    pub delay: Duration,
    /// Extra random delay up to this much (reorders datagrams).
    pub jitter: Duration,
}

impl Link {
    /// No loss, no duplication, 20 ms.
    pub fn perfect() -> Self {
        Link {
            loss: 0.0,
            duplicate: 0.0,
            delay: Duration::from_millis(20),
            jitter: Duration::ZERO,
        }
    }
}

/// A datagram in flight.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
    /// Forged by the network (not visible to the receiver; the checks use it).
    pub spoofed: bool,
}

/// A uniform draw in [0, 1).
pub fn chance(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform duration in [0, max].
pub fn upto(rng: &mut ChaCha8Rng, max: Duration) -> Duration {
    let ms = max.as_millis() as u64;
    Duration::from_millis(if ms == 0 {
        0
    } else {
        rng.next_u64() % (ms + 1)
    })
}

/// The network.
#[derive(Debug, Default)]
pub struct Net {
    queue: BTreeMap<(Instant, u64), Datagram>,
    seq: u64,
}

impl Net {
    /// Sends a datagram over `link`: it may be lost, delayed, duplicated.
    pub fn send(&mut self, now: Instant, link: &Link, rng: &mut ChaCha8Rng, d: Datagram) {
        if chance(rng) < link.loss {
            return;
        }
        let copies = if chance(rng) < link.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            let at = now + link.delay + upto(rng, link.jitter);
            self.inject(at, d.clone());
        }
    }

    /// Queues a datagram for delivery at `at`, bypassing the link.
    pub fn inject(&mut self, at: Instant, d: Datagram) {
        self.seq += 1;
        self.queue.insert((at, self.seq), d);
    }

    /// When the next datagram arrives.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    /// The next datagram due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Datagram> {
        let (&(at, _), _) = self.queue.first_key_value()?;
        if at > now {
            return None;
        }
        self.queue.pop_first().map(|(_, d)| d)
    }
}
