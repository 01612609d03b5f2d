//! Stateless UDP connection ids (PROTOCOL.md section 9, "Tracker-side connection IDs"): nothing is
//! stored per client, so a flood of connects costs no memory.
//!
//! An id is the issue time (whole seconds since the tracker was made, the time bucket) in its high
//! 32 bits and, in its low 32 bits, a hash keyed by the tracker's secret over that time and the
//! client's IP address, as aquatic does (`crates/udp/src/workers/socket/validator.rs`). It is
//! accepted from the same IP for the configured lifetime (120 s by default).
//!
//! The hash is SipHash-1-3 (std's `DefaultHasher`) over the 32-byte secret and the inputs: enough
//! that a client cannot guess another address's id in a test, not a vetted MAC for production.

use std::hash::Hasher;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::udp::PROTOCOL_ID;

use super::behaviour::ConnectionIds;

/// Issues and checks connection ids.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    secret: [u8; 32],
    epoch: Instant,
}

impl Ids {
    pub(crate) fn new(secret: [u8; 32], epoch: Instant) -> Self {
        Ids { secret, epoch }
    }

    fn seconds(&self, now: Instant) -> u32 {
        u32::try_from(now.saturating_duration_since(self.epoch).as_secs()).unwrap_or(u32::MAX)
    }

    fn tag(&self, issued: u32, ip: IpAddr) -> u32 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write(&self.secret);
        h.write_u32(issued);
        match crate::canonical_ip(ip) {
            IpAddr::V4(a) => h.write(&a.octets()),
            IpAddr::V6(a) => h.write(&a.octets()),
        }
        h.finish() as u32
    }

    /// The id for a client at `ip` connecting at `now`.
    pub(crate) fn issue(&self, mode: ConnectionIds, now: Instant, ip: IpAddr) -> u64 {
        if mode == ConnectionIds::ProtocolMagic {
            return PROTOCOL_ID;
        }
        let issued = self.seconds(now);
        (u64::from(issued) << 32) | u64::from(self.tag(issued, ip))
    }

    /// Whether `id` was issued to `ip` by this tracker no longer than `lifetime` before `now`, in
    /// whole seconds. A zero lifetime accepts no id: ids carry whole seconds, and "the second it
    /// was issued in" would accept an id for up to a second.
    pub(crate) fn check(
        &self,
        mode: ConnectionIds,
        now: Instant,
        ip: IpAddr,
        id: u64,
        lifetime: Duration,
    ) -> bool {
        if mode == ConnectionIds::ProtocolMagic {
            return id == PROTOCOL_ID;
        }
        if lifetime.is_zero() {
            return false;
        }
        let issued = (id >> 32) as u32;
        let age = u64::from(self.seconds(now).saturating_sub(issued));
        issued <= self.seconds(now)
            && age <= lifetime.as_secs()
            && self.tag(issued, ip) == id as u32
    }

    /// A new secret derived from the old one: every id issued so far stops being accepted.
    pub(crate) fn rotate(&mut self) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write(&self.secret);
        let next = h.finish().to_le_bytes();
        for (i, chunk) in self.secret.chunks_mut(8).enumerate() {
            for (slot, byte) in chunk.iter_mut().zip(next) {
                *slot ^= byte.rotate_left(i as u32 + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFE: Duration = Duration::from_secs(120);

    use crate::test_origin::test_origin as origin;

    fn ids(now: Instant) -> Ids {
        Ids::new([7; 32], now)
    }

    #[test]
    fn an_id_is_accepted_from_its_address_for_its_lifetime_only() {
        let t0 = origin();
        let ids = ids(t0);
        let (ip, other): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let id = ids.issue(ConnectionIds::Keyed, t0 + Duration::from_secs(5), ip);
        let at = |s| t0 + Duration::from_secs(s);
        assert!(ids.check(ConnectionIds::Keyed, at(5), ip, id, LIFE));
        assert!(ids.check(ConnectionIds::Keyed, at(125), ip, id, LIFE));
        assert!(
            !ids.check(ConnectionIds::Keyed, at(126), ip, id, LIFE),
            "expired"
        );
        assert!(
            !ids.check(ConnectionIds::Keyed, at(5), other, id, LIFE),
            "another address"
        );
        assert!(
            !ids.check(ConnectionIds::Keyed, at(5), ip, id ^ 1, LIFE),
            "forged"
        );
        // An id claiming to be issued in the future is refused.
        let future = ids.issue(ConnectionIds::Keyed, at(60), ip);
        assert!(!ids.check(ConnectionIds::Keyed, at(10), ip, future, LIFE));
    }

    #[test]
    fn a_zero_lifetime_accepts_no_id_even_in_the_second_it_was_issued() {
        let t0 = origin();
        let ids = ids(t0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let id = ids.issue(ConnectionIds::Keyed, t0, ip);
        assert!(!ids.check(ConnectionIds::Keyed, t0, ip, id, Duration::ZERO));
        assert!(ids.check(ConnectionIds::Keyed, t0, ip, id, Duration::from_secs(1)));
        // The protocol magic is no issued id: it is accepted whatever the lifetime.
        let magic = ids.issue(ConnectionIds::ProtocolMagic, t0, ip);
        assert!(ids.check(ConnectionIds::ProtocolMagic, t0, ip, magic, Duration::ZERO));
    }

    #[test]
    fn rotating_the_secret_invalidates_every_id_issued_before() {
        let t0 = origin();
        let mut ids = ids(t0);
        let ip: IpAddr = "::1".parse().unwrap();
        let id = ids.issue(ConnectionIds::Rotating, t0, ip);
        assert!(ids.check(ConnectionIds::Rotating, t0, ip, id, LIFE));
        ids.rotate();
        assert!(!ids.check(ConnectionIds::Rotating, t0, ip, id, LIFE));
        let fresh = ids.issue(ConnectionIds::Rotating, t0, ip);
        assert!(ids.check(ConnectionIds::Rotating, t0, ip, fresh, LIFE));
    }

    #[test]
    fn the_protocol_magic_mode_issues_and_accepts_only_the_magic() {
        let t0 = origin();
        let ids = ids(t0);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(ids.issue(ConnectionIds::ProtocolMagic, t0, ip), PROTOCOL_ID);
        assert!(ids.check(ConnectionIds::ProtocolMagic, t0, ip, PROTOCOL_ID, LIFE));
        let keyed = ids.issue(ConnectionIds::Keyed, t0, ip);
        assert!(!ids.check(ConnectionIds::ProtocolMagic, t0, ip, keyed, LIFE));
    }
}
