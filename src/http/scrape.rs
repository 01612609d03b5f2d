//! HTTP scrape replies (BEP 48 and the wiki-era `flags`): decoded in place, encoded canonically.

use crate::bencode::{Dict, Value, put_bytes, put_int_entry};
use crate::types::InfoHash;

use super::reply::{BodyError, Failure, top_dict};

/// One torrent's scrape counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeFile {
    /// Seeders.
    pub complete: i64,
    /// Leechers.
    pub incomplete: i64,
    /// Completed downloads ever.
    pub downloaded: i64,
    /// BEP 21 active downloaders (leechers that are not partial seeds), when sent.
    pub downloaders: Option<i64>,
}

/// The `files` dictionary, walked in place. A hash missing from it is *unknown*, not zero.
///
/// Keys are 20-byte info hashes. webtorrent's tracker sends them mangled: each byte read as a
/// Latin-1 character and written as UTF-8, so a hash with bytes of 0x80 and above arrives as 21 to
/// 40 bytes. Such keys are turned back into the hash; other keys that are not 20 bytes are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeFiles<'a> {
    dict: Option<Dict<'a>>,
}

impl<'a> ScrapeFiles<'a> {
    /// The entries in wire order (trackers often use request order, so this may be unsorted).
    pub fn iter(&self) -> impl Iterator<Item = (InfoHash, ScrapeFile)> + use<'a> {
        self.dict
            .into_iter()
            .flat_map(|d| d.iter())
            .filter_map(|(key, value)| {
                let hash = InfoHash(<[u8; 20]>::try_from(key).ok().or_else(|| unmangle(key))?);
                match value {
                    Value::Dict(d) => Some((hash, scrape_file(&d))),
                    _ => None,
                }
            })
    }

    /// The counts for `hash`, if the tracker knows it (the first entry wins).
    pub fn get(&self, hash: &InfoHash) -> Option<ScrapeFile> {
        self.iter().find(|(h, _)| h == hash).map(|(_, f)| f)
    }
}

/// A 20-byte hash written as Latin-1 characters in UTF-8 (webtorrent's scrape keys), decoded.
fn unmangle(key: &[u8]) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    let mut chars = std::str::from_utf8(key).ok()?.chars();
    for slot in &mut out {
        *slot = u8::try_from(u32::from(chars.next()?)).ok()?;
    }
    chars.next().is_none().then_some(out)
}

fn scrape_file(d: &Dict<'_>) -> ScrapeFile {
    let int = |key: &[u8]| match d.get(key) {
        Some(Value::Int(n)) => Some(n),
        _ => None,
    };
    ScrapeFile {
        complete: int(b"complete").unwrap_or(0),
        incomplete: int(b"incomplete").unwrap_or(0),
        downloaded: int(b"downloaded").unwrap_or(0),
        downloaders: int(b"downloaders"),
    }
}

/// A successful scrape reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeSuccess<'a> {
    /// Per-torrent counts.
    pub files: ScrapeFiles<'a>,
    /// `flags.min_request_interval`: seconds before scraping again.
    pub min_request_interval: Option<i64>,
}

/// An HTTP scrape reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeResponse<'a> {
    /// Counts.
    Success(ScrapeSuccess<'a>),
    /// `failure reason` (or BEP 48's early `failure_reason`).
    Failure(Failure<'a>),
}

impl<'a> ScrapeResponse<'a> {
    /// Decodes a scrape body leniently, in place.
    pub fn decode(body: &'a [u8]) -> Result<Self, BodyError> {
        let dict = top_dict(body)?;
        for key in [&b"failure reason"[..], b"failure_reason"] {
            if let Some(Value::Bytes(reason)) = dict.get(key) {
                return Ok(ScrapeResponse::Failure(Failure {
                    reason,
                    retry_in: None,
                    interval: None,
                    min_interval: None,
                }));
            }
        }
        let files = match dict.get(b"files") {
            Some(Value::Dict(d)) => Some(d),
            _ => None,
        };
        let min_request_interval = match dict.get(b"flags") {
            Some(Value::Dict(flags)) => match flags.get(b"min_request_interval") {
                Some(Value::Int(n)) => Some(n),
                _ => None,
            },
            _ => None,
        };
        Ok(ScrapeResponse::Success(ScrapeSuccess {
            files: ScrapeFiles { dict: files },
            min_request_interval,
        }))
    }
}

/// Appends a canonical scrape reply for `files` (sorted by hash; for a repeated hash the first
/// entry is kept) with an optional `flags.min_request_interval`.
pub fn encode_scrape(
    files: &[(InfoHash, ScrapeFile)],
    min_request_interval: Option<i64>,
    out: &mut Vec<u8>,
) {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| (files[i].0, i));
    order.dedup_by_key(|i| files[*i].0);
    out.extend_from_slice(b"d5:filesd");
    for i in order {
        let (hash, f) = &files[i];
        put_bytes(out, &hash.0);
        out.push(b'd');
        put_int_entry(out, b"complete", f.complete);
        put_int_entry(out, b"downloaded", f.downloaded);
        if let Some(n) = f.downloaders {
            put_int_entry(out, b"downloaders", n);
        }
        put_int_entry(out, b"incomplete", f.incomplete);
        out.push(b'e');
    }
    out.push(b'e');
    if let Some(n) = min_request_interval {
        out.extend_from_slice(b"5:flagsd");
        put_int_entry(out, b"min_request_interval", n);
        out.push(b'e');
    }
    out.push(b'e');
}
