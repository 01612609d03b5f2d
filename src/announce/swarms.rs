//! BEP 52 hybrid torrents' two swarms, and the peers of both merged into one view.
//!
//! A hybrid v1+v2 torrent is announced once per info hash (PROTOCOL.md section 12.3), so trackers
//! answer with two peer lists, one per swarm. Both lists name peers of the same content, and a
//! peer that speaks both protocols is in both. [`HybridPeers`] keeps the latest list of each
//! swarm and merges them: each address once, with the swarms it came from, the way libtorrent
//! feeds both `announce_infohash` replies into one torrent's peer list.

use std::cmp::Ordering;
use std::net::SocketAddr;

/// One swarm of a BEP 52 hybrid torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Swarm {
    /// The v1 swarm: the SHA-1 info hash.
    V1,
    /// The v2 swarm: the SHA-256 info hash truncated to 20 bytes
    /// ([`InfoHash::from_v2`](crate::InfoHash::from_v2)).
    V2,
}

/// The swarms a merged peer was listed in (at least one is `true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Swarms {
    /// The v1 swarm's latest reply listed it.
    pub v1: bool,
    /// The v2 swarm's latest reply listed it.
    pub v2: bool,
}

impl Swarms {
    /// Listed by the v1 swarm only.
    pub const V1: Swarms = Swarms {
        v1: true,
        v2: false,
    };
    /// Listed by the v2 swarm only.
    pub const V2: Swarms = Swarms {
        v1: false,
        v2: true,
    };
    /// Listed by both swarms: the peer speaks both protocols.
    pub const BOTH: Swarms = Swarms { v1: true, v2: true };

    /// Whether `swarm` listed the peer.
    pub fn contains(self, swarm: Swarm) -> bool {
        match swarm {
            Swarm::V1 => self.v1,
            Swarm::V2 => self.v2,
        }
    }
}

/// The peers of a hybrid torrent's two swarms: the latest peer list of each (from its latest
/// [`Announced`](super::Announced) that was not a `stopped`), and both merged.
///
/// [`HybridAnnounce`](super::HybridAnnounce) keeps one and updates it as its events are drained.
/// With a [`Client`](crate::Client), which keeps no peers, keep one per hybrid torrent whose
/// merged view you want and [`record`](Self::record) each swarm's `Announced` into it
/// ([`HybridIds::swarm_of`](crate::client::HybridIds::swarm_of) names the swarm).
///
/// Bounded: each swarm keeps at most the `max_per_swarm` given to [`new`](Self::new) (the first
/// ones of a longer list). Reading allocates nothing, and recording allocates only until the
/// lists reached their largest size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HybridPeers {
    v1: Vec<SocketAddr>,
    v2: Vec<SocketAddr>,
    max_per_swarm: usize,
}

impl HybridPeers {
    /// Empty, keeping at most `max_per_swarm` peers per swarm (use
    /// [`Config::max_peers_per_reply`](super::Config::max_peers_per_reply) to keep whole replies).
    pub fn new(max_per_swarm: usize) -> Self {
        HybridPeers {
            v1: Vec::new(),
            v2: Vec::new(),
            max_per_swarm,
        }
    }

    /// Replaces `swarm`'s list with `peers` (an [`Announced::peers`](super::Announced::peers)):
    /// the first `max_per_swarm` of them, sorted and without repeats. Record the peers of each
    /// announce but a `stopped` one, whose reply lists no peers worth keeping.
    pub fn record(&mut self, swarm: Swarm, peers: &[SocketAddr]) {
        let max = self.max_per_swarm;
        let list = self.list_mut(swarm);
        list.clear();
        list.extend_from_slice(&peers[..peers.len().min(max)]);
        list.sort_unstable();
        list.dedup();
    }

    /// Forgets both swarms' lists (a torrent that was paused or stopped).
    pub fn clear(&mut self) {
        self.v1.clear();
        self.v2.clear();
    }

    /// The latest peers of one swarm, sorted.
    pub fn peers(&self, swarm: Swarm) -> &[SocketAddr] {
        match swarm {
            Swarm::V1 => &self.v1,
            Swarm::V2 => &self.v2,
        }
    }

    /// Both swarms' peers merged, sorted by address: each address once, with the swarms that
    /// listed it. A peer in both swarms is one peer ([`Swarms::BOTH`]): connect to it once.
    pub fn merged(&self) -> MergedPeers<'_> {
        MergedPeers {
            v1: &self.v1,
            v2: &self.v2,
        }
    }

    fn list_mut(&mut self, swarm: Swarm) -> &mut Vec<SocketAddr> {
        match swarm {
            Swarm::V1 => &mut self.v1,
            Swarm::V2 => &mut self.v2,
        }
    }
}

/// The merged peers of [`HybridPeers::merged`]: a walk over both sorted lists at once, borrowing
/// them (no allocation).
#[derive(Debug, Clone)]
pub struct MergedPeers<'a> {
    v1: &'a [SocketAddr],
    v2: &'a [SocketAddr],
}

impl Iterator for MergedPeers<'_> {
    type Item = (SocketAddr, Swarms);

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.v1.first(), self.v2.first()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        };
        let (peer, swarms) = match order {
            Ordering::Less => (self.v1[0], Swarms::V1),
            Ordering::Greater => (self.v2[0], Swarms::V2),
            Ordering::Equal => (self.v1[0], Swarms::BOTH),
        };
        if swarms.v1 {
            self.v1 = &self.v1[1..];
        }
        if swarms.v2 {
            self.v2 = &self.v2[1..];
        }
        Some((peer, swarms))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (a, b) = (self.v1.len(), self.v2.len());
        (a.max(b), Some(a + b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn a_peer_in_both_swarms_is_merged_once_and_marked_both() {
        let mut peers = HybridPeers::new(10);
        peers.record(
            Swarm::V1,
            &addrs(&["10.0.0.2:1", "10.0.0.1:1", "10.0.0.2:1"]),
        );
        peers.record(Swarm::V2, &addrs(&["10.0.0.3:1", "10.0.0.2:1"]));
        let merged: Vec<_> = peers.merged().collect();
        let want = addrs(&["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"]);
        assert_eq!(
            merged,
            vec![
                (want[0], Swarms::V1),
                (want[1], Swarms::BOTH),
                (want[2], Swarms::V2)
            ]
        );
        assert_eq!(peers.peers(Swarm::V1), &want[..2]);
    }

    #[test]
    fn a_swarm_keeps_at_most_its_cap_and_a_new_reply_replaces_the_old() {
        let mut peers = HybridPeers::new(2);
        peers.record(
            Swarm::V2,
            &addrs(&["10.0.0.9:1", "10.0.0.8:1", "10.0.0.7:1"]),
        );
        assert_eq!(
            peers.peers(Swarm::V2),
            &addrs(&["10.0.0.8:1", "10.0.0.9:1"])[..]
        );
        peers.record(Swarm::V2, &addrs(&["10.0.0.5:1"]));
        assert_eq!(peers.merged().count(), 1);
        peers.clear();
        assert_eq!(peers.merged().next(), None);
    }
}
