//! Everything one request says to a tracker, gathered from the machine's state when the request is
//! written out, so both transports read the same values.

use super::config::{Config, Progress, Torrent};
use super::event::RequestKind;
use crate::http::{AnnounceParams, announce_request, scrape_request, scrape_tracker_url};
use crate::{AnnounceEvent, InfoHash, PeerId, TrackerUrl};

/// What a torrent's caller changed after construction, applied to each request as it is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WireOpts {
    /// `numwant` for this torrent instead of [`Config::num_want`].
    pub(crate) num_want: Option<u32>,
    /// BEP 21: the torrent is a partial seed.
    pub(crate) partial_seed: bool,
}

/// The values of one announce or scrape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestParams<'a> {
    pub(crate) url: &'a TrackerUrl,
    pub(crate) kind: RequestKind,
    pub(crate) info_hash: InfoHash,
    pub(crate) peer_id: PeerId,
    pub(crate) port: u16,
    pub(crate) progress: Progress,
    pub(crate) key: u32,
    pub(crate) num_want: u32,
    pub(crate) tracker_id: Option<&'a [u8]>,
    pub(crate) no_peer_id: bool,
    pub(crate) supportcrypto: bool,
    pub(crate) requirecrypto: bool,
    pub(crate) ip: Option<std::net::IpAddr>,
}

impl<'a> RequestParams<'a> {
    /// The values for a request of `kind` to the tracker at `url` with its `tracker_id`.
    pub(crate) fn new(
        cfg: &Config,
        torrent: &Torrent,
        key: u32,
        url: &'a TrackerUrl,
        tracker_id: Option<&'a [u8]>,
        kind: RequestKind,
    ) -> Self {
        RequestParams {
            url,
            kind,
            info_hash: torrent.info_hash,
            peer_id: torrent.peer_id,
            port: torrent.port,
            progress: torrent.progress,
            key,
            num_want: cfg.num_want,
            tracker_id,
            no_peer_id: cfg.no_peer_id,
            supportcrypto: cfg.supportcrypto || cfg.requirecrypto,
            requirecrypto: cfg.requirecrypto,
            ip: cfg.announce_ip,
        }
    }

    /// The values with what the caller changed while the torrent runs: its own `numwant`, and
    /// BEP 21's `paused` in place of no event while it is a partial seed (UDP has no code for it
    /// and sends 0, PROTOCOL.md section 16).
    pub(crate) fn tuned(mut self, opts: &WireOpts) -> Self {
        if let Some(n) = opts.num_want {
            self.num_want = n;
        }
        if opts.partial_seed && self.kind == RequestKind::Announce(AnnounceEvent::Regular) {
            self.kind = RequestKind::Announce(AnnounceEvent::Paused);
        }
        self
    }

    /// The HTTP URL of this request; `None` for a scrape when the tracker has no scrape URL (and
    /// for an announce URL with a reserved parameter, which construction already refused).
    pub(crate) fn http_url(&self) -> Option<TrackerUrl> {
        match self.kind {
            RequestKind::Announce(event) => announce_request(
                self.url,
                &AnnounceParams {
                    info_hash: self.info_hash,
                    peer_id: self.peer_id,
                    port: self.port,
                    uploaded: self.progress.uploaded,
                    downloaded: self.progress.downloaded,
                    left: self.progress.left,
                    corrupt: self.progress.corrupt,
                    key: self.key,
                    event,
                    numwant: if event == AnnounceEvent::Stopped {
                        0
                    } else {
                        self.num_want
                    },
                    no_peer_id: self.no_peer_id,
                    supportcrypto: self.supportcrypto,
                    tracker_id: self.tracker_id,
                    requirecrypto: self.requirecrypto,
                    redundant: self.progress.redundant,
                    ip: self.ip,
                },
            )
            .ok(),
            RequestKind::Scrape => scrape_tracker_url(self.url)
                .map(|base| scrape_request(&base, std::slice::from_ref(&self.info_hash))),
        }
    }
}
