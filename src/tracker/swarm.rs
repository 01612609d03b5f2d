//! Swarms: the peers announcing each info hash, with expiry and caps.

use std::collections::HashMap;
use std::hash::{BuildHasher, DefaultHasher, Hasher};
use std::net::SocketAddr;
use std::time::Instant;

use crate::canonical_addr;
use crate::types::{AddressFamily, AnnounceEvent, InfoHash, PeerId};

use super::config::TrackerConfig;

#[derive(Debug, Clone, Copy)]
struct Member {
    addr: SocketAddr,
    seeder: bool,
    seen: Instant,
}

/// One info hash's peers (ordered by peer id, so replies are deterministic) and its completions.
///
/// A sorted vector, not a map: most swarms of a test hold a few peers, and a map's smallest node
/// holds room for eleven (a simulation of 100,000 torrents keeps 200,000 swarms).
#[derive(Debug, Default)]
struct Swarm {
    members: Vec<(PeerId, Member)>,
    completed: u32,
}

impl Swarm {
    fn expire(&mut self, now: Instant, config: &TrackerConfig) {
        self.members
            .retain(|(_, m)| now.saturating_duration_since(m.seen) < config.peer_timeout);
    }

    fn stats(&self) -> SwarmStats {
        let seeders = self.members.iter().filter(|(_, m)| m.seeder).count();
        let leechers = self.members.len() - seeders;
        SwarmStats {
            seeders: u32::try_from(seeders).unwrap_or(u32::MAX),
            leechers: u32::try_from(leechers).unwrap_or(u32::MAX),
            completed: self.completed,
        }
    }

    fn remove(&mut self, id: &PeerId) {
        if let Ok(i) = self.members.binary_search_by(|(k, _)| k.cmp(id)) {
            self.members.remove(i);
        }
    }

    /// Adds or refreshes the peer `id`. A new peer in a full swarm replaces the one that
    /// announced least recently; with room for none, nothing is kept.
    fn join(&mut self, id: PeerId, member: Member, config: &TrackerConfig) {
        match self.members.binary_search_by(|(k, _)| k.cmp(&id)) {
            Ok(i) => self.members[i].1 = member,
            Err(_) if config.max_peers_per_swarm == 0 => {}
            Err(mut i) => {
                if self.members.len() >= config.max_peers_per_swarm {
                    let oldest = (0..self.members.len()).min_by_key(|&j| self.members[j].1.seen);
                    if let Some(j) = oldest {
                        self.members.remove(j);
                        if j < i {
                            i -= 1;
                        }
                    }
                }
                if self.members.len() == self.members.capacity() {
                    // Most swarms of a simulation hold a few peers: grow one at a time up to
                    // four (a `Vec`'s first allocation would hold four), then double.
                    let more = if self.members.len() < 4 {
                        1
                    } else {
                        self.members.len()
                    };
                    self.members.reserve_exact(more);
                }
                self.members.insert(i, (id, member));
            }
        }
    }
}

/// One swarm's counts, as a scrape reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwarmStats {
    /// Peers with nothing left to download (`complete`).
    pub seeders: u32,
    /// Peers still downloading (`incomplete`).
    pub leechers: u32,
    /// `completed` events seen (`downloaded`).
    pub completed: u32,
}

/// The configured [`TrackerConfig::extra_peers`] pre-written as compact entries per family
/// (canonical, in configured order): a UDP reply copies the bytes it lists instead of collecting
/// and re-encoding thousands of addresses per announce (a flooding tracker lists 5,000).
#[derive(Debug, Default)]
pub(crate) struct ExtraPeers {
    /// The IPv4 ones as 6-byte entries.
    v4: Vec<u8>,
    /// The IPv6 ones as 18-byte entries.
    v6: Vec<u8>,
}

impl ExtraPeers {
    pub(crate) fn new(peers: &[SocketAddr]) -> Self {
        let mut extra = ExtraPeers::default();
        for &p in peers {
            match canonical_addr(p) {
                SocketAddr::V4(a) => {
                    extra.v4.extend_from_slice(&a.ip().octets());
                    extra.v4.extend_from_slice(&a.port().to_be_bytes());
                }
                SocketAddr::V6(a) => {
                    extra.v6.extend_from_slice(&a.ip().octets());
                    extra.v6.extend_from_slice(&a.port().to_be_bytes());
                }
            }
        }
        extra
    }

    /// The extra peers of `family` as compact entries of that family, in configured order.
    pub(crate) fn compact(&self, family: AddressFamily) -> &[u8] {
        match family {
            AddressFamily::V4 => &self.v4,
            AddressFamily::V6 => &self.v6,
        }
    }
}

/// One announce as the tracker reads it, from either transport.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Announcement {
    pub(crate) info_hash: InfoHash,
    pub(crate) peer_id: PeerId,
    /// The peer's address: the source IP and the announced port.
    pub(crate) addr: SocketAddr,
    pub(crate) left: u64,
    pub(crate) event: AnnounceEvent,
}

/// Hashes info hashes for [`Swarms`]: SipHash keyed with part of the tracker's secret, so the map
/// neither depends on process randomness (a seeded run is the same every time) nor lets a client
/// that does not know the secret pick info hashes that collide.
#[derive(Debug, Clone, Copy)]
struct Keyed(u64);

impl BuildHasher for Keyed {
    type Hasher = DefaultHasher;

    fn build_hasher(&self) -> DefaultHasher {
        let mut h = DefaultHasher::new();
        h.write_u64(self.0);
        h
    }
}

/// Every swarm, within [`TrackerConfig::max_swarms`] and
/// [`TrackerConfig::max_peers_per_swarm`]. A hash map: a simulation's tracker holds 100,000
/// swarms and looks one up per announce. Nothing depends on its order.
#[derive(Debug)]
pub(crate) struct Swarms {
    swarms: HashMap<InfoHash, Swarm, Keyed>,
}

impl Swarms {
    /// No swarms; `key` keys the map's hash (see [`Keyed`]).
    pub(crate) fn new(key: u64) -> Self {
        Swarms {
            swarms: HashMap::with_hasher(Keyed(key)),
        }
    }

    /// Registers the announce (or removes the peer on `stopped`), appends up to `room` of the
    /// swarm's peers of `families` to `peers` (none on `stopped`), and returns the swarm's counts
    /// (zeros when the swarm cannot be stored). The caller lists the extra peers itself.
    pub(crate) fn announce(
        &mut self,
        now: Instant,
        config: &TrackerConfig,
        a: &Announcement,
        families: &[AddressFamily],
        room: usize,
        peers: &mut Vec<SocketAddr>,
    ) -> SwarmStats {
        let fits = |addr: &SocketAddr| families.contains(&AddressFamily::of(addr));
        let Some(swarm) = self.swarm_for(now, config, a.info_hash) else {
            return SwarmStats::default();
        };
        if a.event == AnnounceEvent::Stopped {
            swarm.remove(&a.peer_id);
            return swarm.stats();
        }
        if a.event == AnnounceEvent::Completed {
            swarm.completed = swarm.completed.saturating_add(1);
        }
        let member = Member {
            addr: a.addr,
            seeder: a.left == 0,
            seen: now,
        };
        swarm.join(a.peer_id, member, config);
        peers.extend(
            swarm
                .members
                .iter()
                .filter(|(id, m)| (config.include_announcer || *id != a.peer_id) && fits(&m.addr))
                .map(|(_, m)| m.addr)
                .take(room),
        );
        swarm.stats()
    }

    /// Puts a peer into the swarm of `hash` (created if there is room) as a regular announce
    /// from `addr` would, listing nothing. False when the swarm cannot be stored or holds no peer.
    pub(crate) fn add_peer(
        &mut self,
        now: Instant,
        config: &TrackerConfig,
        hash: InfoHash,
        peer_id: PeerId,
        addr: SocketAddr,
        seeder: bool,
    ) -> bool {
        let Some(swarm) = self.swarm_for(now, config, hash) else {
            return false;
        };
        let member = Member {
            addr,
            seeder,
            seen: now,
        };
        swarm.join(peer_id, member, config);
        config.max_peers_per_swarm > 0
    }

    /// The counts of `hash` after expiry; `None` for a hash no live peer announced.
    pub(crate) fn stats(
        &mut self,
        now: Instant,
        config: &TrackerConfig,
        hash: &InfoHash,
    ) -> Option<SwarmStats> {
        let swarm = self.swarms.get_mut(hash)?;
        swarm.expire(now, config);
        Some(swarm.stats())
    }

    /// The counts of `hash` as they stand (no expiry).
    pub(crate) fn peek(&self, hash: &InfoHash) -> Option<SwarmStats> {
        self.swarms.get(hash).map(Swarm::stats)
    }

    /// Swarms held.
    pub(crate) fn len(&self) -> usize {
        self.swarms.len()
    }

    /// The swarm of `hash` after expiry, created if there is room.
    fn swarm_for(
        &mut self,
        now: Instant,
        config: &TrackerConfig,
        hash: InfoHash,
    ) -> Option<&mut Swarm> {
        if self.swarms.len() >= config.max_swarms && !self.swarms.contains_key(&hash) {
            // Full: drop the swarms whose peers all expired, then look again.
            self.swarms.retain(|_, s| {
                s.expire(now, config);
                !s.members.is_empty()
            });
            if self.swarms.len() >= config.max_swarms {
                return None;
            }
        }
        let swarm = self.swarms.entry(hash).or_default();
        swarm.expire(now, config);
        Some(swarm)
    }
}
