//! BEP 52 hybrid torrents: one torrent with a v1 and a v2 info hash forms two swarms, announced and
//! scraped separately with the same peer id and `key` (PROTOCOL.md section 12.3; libtorrent
//! announces once per `announce_infohash`).

use std::time::Instant;

use super::{Client, MAX_TORRENTS};
#[cfg(doc)]
use crate::announce::HybridPeers;
use crate::announce::{ConfigError, Swarm, Torrent, TorrentId};
use crate::{InfoHash, TrackerUrl};

/// The two swarms of a hybrid torrent in a [`Client`]: each has its own [`TorrentId`], events,
/// status snapshot and tracker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HybridIds {
    /// The swarm of the v1 (SHA-1) info hash.
    pub v1: TorrentId,
    /// The swarm of the v2 info hash (its SHA-256 truncated to 20 bytes).
    pub v2: TorrentId,
}

impl HybridIds {
    /// The swarm `torrent` is of this hybrid torrent (`None` for another torrent): to tag each
    /// [`Client::poll_event`] with its swarm, and [`HybridPeers::record`] each swarm's peers.
    pub fn swarm_of(&self, torrent: TorrentId) -> Option<Swarm> {
        if torrent == self.v1 {
            Some(Swarm::V1)
        } else if torrent == self.v2 {
            Some(Swarm::V2)
        } else {
            None
        }
    }

    /// The torrent of one swarm.
    pub fn torrent(&self, swarm: Swarm) -> TorrentId {
        match swarm {
            Swarm::V1 => self.v1,
            Swarm::V2 => self.v2,
        }
    }
}

impl Client {
    /// Adds a BEP 52 hybrid torrent: `torrent.info_hash` is its v1 hash, `v2` its v2 hash as
    /// trackers take it ([`InfoHash::from_v2`]). Each swarm is a torrent of its own (announced,
    /// scraped, paused, edited and removed by its own id), and both send the same peer id and the
    /// same `key` (drawn once when `torrent.key` is `None`), so a tracker sees one client in two
    /// swarms. One DNS query per tracker name and one UDP connect per endpoint serve both.
    ///
    /// Peers come per swarm in each id's [`Event::Announced`](crate::announce::Event). The client
    /// keeps no peers (its memory does not grow with what trackers send); for the merged view of
    /// both swarms (each address once, with the swarms that listed it), keep a [`HybridPeers`]
    /// per hybrid torrent and [`record`](HybridPeers::record) each swarm's `Announced` peers
    /// into it, the swarm given by [`HybridIds::swarm_of`].
    /// [`hybrid_partner`](Self::hybrid_partner) names the other swarm of an id.
    ///
    /// Fails as [`add`](Self::add) does (either hash announced by a torrent of this client:
    /// [`ConfigError::DuplicateInfoHash`]), when the two hashes are equal, and when the client
    /// cannot hold two more torrents (then nothing is added).
    pub fn add_hybrid(
        &mut self,
        now: Instant,
        torrent: Torrent,
        v2: InfoHash,
        tiers: Vec<Vec<TrackerUrl>>,
    ) -> Result<HybridIds, ConfigError> {
        if v2 == torrent.info_hash {
            return Err(ConfigError::InvalidTorrent {
                field: "info_hash",
                rule: "must differ from the v2 hash of a hybrid torrent; for a v1-only or v2-only torrent use Client::add",
            });
        }
        self.check_new_hash(torrent.info_hash)?;
        self.check_new_hash(v2)?;
        if self.free.len() + (MAX_TORRENTS - self.slots.len()) < 2 {
            return Err(ConfigError::TooManyTorrents { max: MAX_TORRENTS });
        }
        let key = torrent
            .key
            .unwrap_or_else(|| rand_core::Rng::next_u32(&mut self.ctx.rng));
        let v1_torrent = Torrent {
            key: Some(key),
            ..torrent.clone()
        };
        let v2_torrent = Torrent {
            info_hash: v2,
            key: Some(key),
            ..torrent
        };
        // Both checks pass or fail alike (same tiers, same port), so the second cannot fail
        // once the first did not.
        let v1 = self.add(now, v1_torrent, tiers.clone())?;
        let v2 = match self.add(now, v2_torrent, tiers) {
            Ok(id) => id,
            Err(e) => {
                self.remove(now, v1);
                return Err(e);
            }
        };
        self.pair(v1, v2);
        Ok(HybridIds { v1, v2 })
    }

    /// The other swarm of a hybrid torrent added with [`add_hybrid`](Self::add_hybrid); `None`
    /// for a torrent added with [`add`](Self::add), an unknown one, and once the other swarm is
    /// gone (removed, and its `Stopped` drained: each swarm is removed by its own id).
    pub fn hybrid_partner(&self, torrent: TorrentId) -> Option<TorrentId> {
        self.entry(torrent)?.partner.filter(|&p| self.contains(p))
    }

    fn pair(&mut self, a: TorrentId, b: TorrentId) {
        if let Some(e) = self.entry_of(a) {
            e.partner = Some(b);
        }
        if let Some(e) = self.entry_of(b) {
            e.partner = Some(a);
        }
    }
}

impl Client {
    /// Refuses an info hash some torrent of this client announces (removed ones too, until freed).
    pub(super) fn check_new_hash(&self, info_hash: InfoHash) -> Result<(), ConfigError> {
        let Some(&slot) = self.hashes.get(&info_hash) else {
            return Ok(());
        };
        let generation = self.slots.get(slot as usize).map_or(0, |s| s.generation);
        Err(ConfigError::DuplicateInfoHash {
            info_hash,
            existing: super::torrent_id(slot, generation),
        })
    }
}
