//! What to announce: a magnet link, a `.torrent` file or a bare info hash, turned into an info hash
//! and BEP 12 tiers of tracker URLs.

use super::out::tell;
use std::path::Path;

use bt_tracker::http::percent_decode;
use bt_tracker::{InfoHash, TrackerUrl};
use sha1::{Digest, Sha1};

/// The largest `.torrent` file read (the `info` dict of a huge torrent is a few MiB).
const MAX_TORRENT_FILE: u64 = 64 << 20;
/// Deepest bencode nesting accepted in a `.torrent` file.
const MAX_DEPTH: usize = 64;

/// A torrent to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its v1 info hash (or a v2 hash truncated to 20 bytes, BEP 52).
    pub info_hash: InfoHash,
    /// Its display name, when the link or file gives one.
    pub name: Option<String>,
    /// Tracker URLs by tier, as given (not yet validated).
    pub tiers: Vec<Vec<String>>,
}

/// Reads `arg` as a magnet link, a 40-hex (or 32-base32) info hash, or a `.torrent` file path.
/// When it is none of them, the error says which it looks like and what is wrong with it.
pub fn parse(arg: &str) -> Result<Target, String> {
    if arg.starts_with("magnet:") {
        return magnet(arg);
    }
    if let Some(info_hash) = btih(arg) {
        return Ok(Target {
            info_hash,
            name: None,
            tiers: Vec::new(),
        });
    }
    match std::fs::metadata(arg) {
        Ok(meta) if meta.is_file() => torrent_file(Path::new(arg)),
        Ok(_) => Err(format!("{arg:?} is a directory, not a .torrent file")),
        Err(e) => Err(not_a_target(arg, &e)),
    }
}

/// The torrents of a command line's positional arguments, in order: the one rule every example
/// reads them by. A magnet link, a `.torrent` file or an info hash starts a torrent (a magnet
/// link's `tr=` may hold `udp://` or `http://` unencoded: it is still a magnet link); an argument
/// after it that is none of them and has a scheme (`udp://`, `http://`, `https://`) is one of its
/// tracker URLs, a tier of its own after the link's or file's tiers. A tracker URL given here must
/// be usable (the error is the library's reason); the links' and files' own URLs are checked when
/// the torrent is added (an unusable one is skipped with a warning). An empty list gives no
/// torrent.
pub fn parse_targets(args: &[String]) -> Result<Vec<Target>, String> {
    let mut targets: Vec<Target> = Vec::new();
    for arg in args {
        match targets.last_mut() {
            Some(target) if is_tracker_url(arg) => {
                tracker_url(arg)?;
                target.tiers.push(vec![arg.clone()]);
            }
            _ => targets.push(parse(arg)?),
        }
    }
    Ok(targets)
}

/// Whether a command-line argument after a torrent is a tracker URL for it: not a magnet link, an
/// info hash or an existing file, and written with a scheme (or as `host:port`, which
/// [`tracker_url`] then refuses with the scheme to add).
fn is_tracker_url(arg: &str) -> bool {
    !arg.starts_with("magnet:")
        && btih(arg).is_none()
        && arg.contains(':')
        && !Path::new(arg).is_file()
}

/// Why `arg`, which is no magnet link, info hash or file, was refused: as the hash, file or URL it
/// looks like, or as none of them.
fn not_a_target(arg: &str, open_error: &std::io::Error) -> String {
    if arg.contains("://") {
        return format!(
            "{arg:?} is a tracker URL, not a torrent: give an info hash first, then tracker URLs \
             (or a magnet link or .torrent file)"
        );
    }
    if let (true, Err(e @ bt_tracker::TrackerUrlError::MissingScheme { .. })) =
        (arg.contains(':'), TrackerUrl::parse(arg))
    {
        return format!("{e}; a tracker URL goes after the info hash");
    }
    let path_like = arg.contains(['/', '.', '\\']);
    let hash_like = !path_like
        && (arg.len() >= 16 && arg.bytes().all(|b| b.is_ascii_hexdigit())
            || (arg.len() == 32 || arg.len() == 40)
                && arg.bytes().all(|b| b.is_ascii_alphanumeric()));
    if hash_like {
        return format!("{arg:?} is not an info hash: {}", hash_problem(arg));
    }
    if path_like {
        return format!("cannot read the .torrent file {arg:?}: {open_error}");
    }
    format!(
        "{arg:?} is not a magnet link, an info hash (40 hex digits or 32 base32 letters) or a \
         .torrent file ({open_error})"
    )
}

/// What is wrong with `text` as an info hash (which [`btih`] refused).
fn hash_problem(text: &str) -> String {
    let n = text.chars().count();
    if text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return format!(
            "it has {n} hex digits, an info hash has 40 hex digits (or 32 base32 letters)"
        );
    }
    let first_not = |ok: fn(&char) -> bool| text.chars().find(|c| !ok(c)).unwrap_or('?');
    match n {
        40 => format!(
            "it has 40 characters but {:?} is not a hex digit (0-9, a-f)",
            first_not(char::is_ascii_hexdigit)
        ),
        32 => format!(
            "it has 32 characters but {:?} is not a base32 letter (A-Z, 2-7)",
            first_not(|c| c.is_ascii_alphabetic() || ('2'..='7').contains(c))
        ),
        _ => format!("it has {n} characters, an info hash is 40 hex digits or 32 base32 letters"),
    }
}

/// A tracker URL as given on the command line, in a magnet link or in a `.torrent` file, with the
/// library's reason when it is not one (a URL without a scheme, `tracker.example:6969`, gets the
/// fix: write `udp://` before it).
pub fn tracker_url(text: &str) -> Result<TrackerUrl, String> {
    TrackerUrl::parse(text).map_err(|e| e.to_string())
}

/// The BEP 12 tiers of a magnet link or `.torrent` file as tracker URLs: an unusable URL is
/// reported on stderr with the reason and skipped, and a tier left empty is dropped.
pub fn usable_tiers(tiers: &[Vec<String>]) -> Vec<Vec<TrackerUrl>> {
    tiers
        .iter()
        .map(|tier| {
            tier.iter()
                .filter_map(|u| {
                    tracker_url(u)
                        .map_err(|e| tell(format_args!("skipping a tracker of the torrent: {e}")))
                        .ok()
                })
                .collect::<Vec<_>>()
        })
        .filter(|tier| !tier.is_empty())
        .collect()
}

/// An info hash in hex (40 digits) or base32 (32 letters), as BEP 9 allows in `xt=urn:btih:`.
fn btih(text: &str) -> Option<InfoHash> {
    match text.len() {
        40 => InfoHash::from_hex(text).ok(),
        32 => base32(text).map(InfoHash),
        _ => None,
    }
}

/// RFC 4648 base32 without padding, 32 characters to 20 bytes.
fn base32(text: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    let (mut acc, mut bits, mut at) = (0u64, 0u32, 0usize);
    for c in text.bytes() {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(at)? = (acc >> bits) as u8;
            at += 1;
        }
    }
    (at == 20).then_some(out)
}

fn magnet(link: &str) -> Result<Target, String> {
    let query = link.split_once('?').map_or("", |(_, q)| q);
    let (mut info_hash, mut name, mut tiers) = (None, None, Vec::new());
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value.as_bytes())
            .map_err(|e| format!("the magnet link's {key:?} value is badly encoded: {e}"))?;
        let value = String::from_utf8_lossy(&value).into_owned();
        match key {
            "xt" => {
                if let Some(hash) = value.strip_prefix("urn:btih:") {
                    let hash = btih(hash).ok_or_else(|| {
                        format!(
                            "the magnet link's info hash {hash:?} is wrong: {}",
                            hash_problem(hash)
                        )
                    })?;
                    info_hash = Some(hash);
                } else if let Some(multihash) = value.strip_prefix("urn:btmh:1220") {
                    // BEP 52: a v2 swarm is announced with the SHA-256 hash truncated to 20 bytes.
                    let bytes: Vec<u8> = (0..multihash.len() / 2)
                        .filter_map(|i| {
                            u8::from_str_radix(multihash.get(2 * i..2 * i + 2)?, 16).ok()
                        })
                        .collect();
                    let sha256: [u8; 32] = bytes.try_into().map_err(|_| {
                        format!("the magnet link's v2 hash {multihash:?} is not 64 hex digits")
                    })?;
                    info_hash.get_or_insert(InfoHash::from_v2(&sha256));
                }
            }
            "dn" => name = Some(value),
            "tr" => tiers.push(vec![value]),
            _ => {}
        }
    }
    let info_hash =
        info_hash.ok_or("the magnet link has no xt=urn:btih: (or urn:btmh:) parameter")?;
    Ok(Target {
        info_hash,
        name,
        tiers,
    })
}

fn torrent_file(path: &Path) -> Result<Target, String> {
    let unreadable = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let len = std::fs::metadata(path).map_err(unreadable)?.len();
    if len > MAX_TORRENT_FILE {
        return Err(format!(
            "{} is {len} bytes; a .torrent file is at most {MAX_TORRENT_FILE}",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    let not_torrent = |why: &str| format!("{} is not a valid .torrent file: {why}", path.display());
    let Value::Dict(top) = parse_value(&bytes, 0, 0).map_err(|e| not_torrent(&e))?.0 else {
        return Err(not_torrent("it is not a bencoded dictionary"));
    };
    let mut target = Target {
        info_hash: InfoHash([0; 20]),
        name: None,
        tiers: Vec::new(),
    };
    let mut announce = None;
    let mut info = None;
    for (key, value, span) in top {
        match (key, value) {
            (b"info", Value::Dict(fields)) => {
                // The info hash is the SHA-1 of the `info` value exactly as it is in the file.
                info = Some(InfoHash(Sha1::digest(&bytes[span]).into()));
                for (key, value, _) in fields {
                    if let (b"name", Value::Bytes(name)) = (key, value) {
                        target.name = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            (b"announce", Value::Bytes(url)) => announce = Some(text(url)),
            (b"announce-list", Value::List(tiers)) => {
                for tier in tiers {
                    let Value::List(urls) = tier else { continue };
                    let urls: Vec<String> = urls
                        .into_iter()
                        .filter_map(|u| {
                            if let Value::Bytes(u) = u {
                                Some(text(u))
                            } else {
                                None
                            }
                        })
                        .collect();
                    if !urls.is_empty() {
                        target.tiers.push(urls);
                    }
                }
            }
            _ => {}
        }
    }
    target.info_hash = info.ok_or_else(|| not_torrent("it has no info dictionary"))?;
    // BEP 12: `announce-list`, when present, replaces `announce`.
    if target.tiers.is_empty() {
        target.tiers.extend(announce.map(|url| vec![url]));
    }
    Ok(target)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A bencoded value, borrowing the file. Dict entries keep the byte range of their value.
enum Value<'a> {
    Int,
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    Dict(Vec<(&'a [u8], Value<'a>, std::ops::Range<usize>)>),
}

/// Parses the value at `at`; returns it and the offset just past it.
fn parse_value(b: &[u8], at: usize, depth: usize) -> Result<(Value<'_>, usize), String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    match b.get(at) {
        Some(b'i') => {
            let end = find(b, at, b'e')?;
            Ok((Value::Int, end + 1))
        }
        Some(b'l') => {
            let (mut items, mut at) = (Vec::new(), at + 1);
            while b.get(at) != Some(&b'e') {
                let (v, next) = parse_value(b, at, depth + 1)?;
                items.push(v);
                at = next;
            }
            Ok((Value::List(items), at + 1))
        }
        Some(b'd') => {
            let (mut entries, mut at) = (Vec::new(), at + 1);
            while b.get(at) != Some(&b'e') {
                let (Value::Bytes(key), next) = parse_value(b, at, depth + 1)? else {
                    return Err(format!("a dictionary key at byte {at} is not a string"));
                };
                let (value, end) = parse_value(b, next, depth + 1)?;
                entries.push((key, value, next..end));
                at = end;
            }
            Ok((Value::Dict(entries), at + 1))
        }
        Some(b'0'..=b'9') => {
            let colon = find(b, at, b':')?;
            let len: usize = std::str::from_utf8(&b[at..colon])
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("bad string length at byte {at}"))?;
            let end = colon
                .checked_add(1 + len)
                .filter(|&end| end <= b.len())
                .ok_or_else(|| format!("a string at byte {at} runs past the end of the file"))?;
            Ok((Value::Bytes(&b[colon + 1..end]), end))
        }
        Some(other) => Err(format!("unexpected byte {other:#04x} at {at}")),
        None => Err("the file ends in the middle of a value".to_owned()),
    }
}

fn find(b: &[u8], from: usize, byte: u8) -> Result<usize, String> {
    b[from..]
        .iter()
        .position(|&c| c == byte)
        .map(|i| from + i)
        .ok_or_else(|| format!("unterminated value at byte {from}"))
}
