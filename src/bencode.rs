//! Lenient, zero-copy, allocation-free bencode decoding and the canonical encoding helpers.
//!
//! Why not `bendy` (which DESIGN.md names): measured with bendy 0.6.1, its decoder rejects unsorted
//! dictionary keys (`Keys were not sorted`, e.g. Ocelot's scrape rows `complete, incomplete,
//! downloaded`) and leading zeros, both of which PROTOCOL.md section 2 says a client MUST accept, and
//! every `Decoder::new` allocates a 147,456-byte state stack, which rules out allocation-free reply
//! parsing. bendy stays as the strict oracle in the tests: everything our encoders write must pass
//! its canonical-form checks.
//!
//! Why not `bt_bencode` (measured with 0.8.2, borrowed serde decoding, the fastest library in
//! `benches/http_codec.rs`): it meets most of section 2 (unsorted keys, leading zeros, overflow as an
//! error, no allocation on a valid reply, no panic on arbitrary bytes; bytes after the dictionary
//! only when the caller skips `from_slice`'s `end()`, duplicate keys only with a hand-written
//! visitor), but it has no depth cap and recurses once per nesting level, both when serde skips an
//! unknown key's value and when it reads `peers` as bytes: a reply with a megabyte of `l` under any
//! key overflows the stack and aborts the process. `tests/bencode_candidates.rs` checks every
//! requirement for both decoders. On the 200-peer compact reply the in-crate decoder is also the
//! faster of the two (README, Performance).
//!
//! Decoding rules (PROTOCOL.md section 2, lenient mode): unsorted and duplicate keys are accepted
//! (lookups see the first occurrence), integers may have leading zeros, bytes after the top-level
//! value are ignored. Structural damage is an error: a length past the end, a non-digit in a number,
//! a missing `e`, a non-string key, an integer outside i64, nesting deeper than [`MAX_DEPTH`].
//!
//! The scan is iterative (no recursion, so no stack overflow on a megabyte of `l`), linear in the
//! input and uses no heap: a value's extent is found once, then dictionaries and lists are walked in
//! place. Reply decoders walk the top-level dictionary with [`DictEntries`], which validates each
//! entry as it is read, so the top level is scanned once and each nested value once.

use std::fmt;

/// Deepest nesting accepted (libtorrent's default is 100). Tracker replies need 4.
pub const MAX_DEPTH: usize = 100;

/// Why a body is not valid bencode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid bencode at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Byte offset of the problem in the body.
    pub offset: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

/// The kinds of [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a value.
    UnexpectedEnd,
    /// A byte that cannot start or continue a value here.
    UnexpectedByte(u8),
    /// An integer outside the i64 range.
    IntegerOverflow,
    /// A string length that runs past the end of the input.
    LengthPastEnd,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A dictionary key that is not a string.
    KeyNotString,
    /// A dictionary key without a value.
    MissingValue,
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd => f.write_str("the body ends in the middle of a value"),
            Self::UnexpectedByte(b) => write!(f, "unexpected byte {:?}", char::from(*b)),
            Self::IntegerOverflow => f.write_str("an integer does not fit in 64 bits"),
            Self::LengthPastEnd => f.write_str("a string length runs past the end of the body"),
            Self::TooDeep => write!(f, "lists and dictionaries nest deeper than {MAX_DEPTH}"),
            Self::KeyNotString => f.write_str("a dictionary key is not a string"),
            Self::MissingValue => f.write_str("a dictionary key has no value"),
        }
    }
}

/// A decoded value borrowing the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(List<'a>),
    Dict(Dict<'a>),
}

/// A validated list: `raw` is the whole encoded list, `l` to `e`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct List<'a> {
    pub(crate) raw: &'a [u8],
}

/// A validated dictionary: `raw` is the whole encoded dictionary, `d` to `e`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dict<'a> {
    pub(crate) raw: &'a [u8],
}

fn err(offset: usize, kind: DecodeErrorKind) -> DecodeError {
    DecodeError { offset, kind }
}

/// Decodes the value at the start of `input`, ignoring anything after it.
pub(crate) fn decode(input: &[u8]) -> Result<Value<'_>, DecodeError> {
    value_at(input, 0).map(|(v, _)| v)
}

/// The value starting at `pos` and the offset just after it. Containers are validated whole.
fn value_at(input: &[u8], pos: usize) -> Result<(Value<'_>, usize), DecodeError> {
    value_within(input, pos, MAX_DEPTH)
}

/// [`value_at`] for a value that may nest at most `max_depth` containers (itself included).
#[inline(always)]
fn value_within(
    input: &[u8],
    pos: usize,
    max_depth: usize,
) -> Result<(Value<'_>, usize), DecodeError> {
    match input.get(pos) {
        Some(b'i') => integer(input, pos).map(|(n, end)| (Value::Int(n), end)),
        Some(b'0'..=b'9') => string(input, pos).map(|(s, end)| (Value::Bytes(s), end)),
        _ => container_within(input, pos, max_depth),
    }
}

/// The list or dictionary at `pos`, validated whole; kept out of line so that the scalar values
/// which make up most of a reply are read inline.
#[inline(never)]
fn container_within(
    input: &[u8],
    pos: usize,
    max_depth: usize,
) -> Result<(Value<'_>, usize), DecodeError> {
    let is_dict = match input.get(pos) {
        Some(b'd') => true,
        Some(b'l') => false,
        Some(&b) => return Err(err(pos, DecodeErrorKind::UnexpectedByte(b))),
        None => return Err(err(pos, DecodeErrorKind::UnexpectedEnd)),
    };
    let end = container_end(input, pos, max_depth)?;
    let raw = &input[pos..end];
    let value = if is_dict {
        Value::Dict(Dict { raw })
    } else {
        Value::List(List { raw })
    };
    Ok((value, end))
}

/// Walks the dictionary at the start of a body entry by entry, validating as it reads: the top
/// level is scanned once, and each nested value is validated once, when its entry is read. This is
/// the reply decoders' path: they dispatch on each key as it comes instead of validating the whole
/// dictionary first and then looking keys up in it.
pub(crate) struct DictEntries<'a> {
    input: &'a [u8],
    /// Offset of the next key, or just after the closing `e` once [`Self::next_entry`] gave `None`.
    at: usize,
}

impl<'a> DictEntries<'a> {
    /// A walk over the dictionary opening at byte 0 of `input`; `None` when `input` does not start
    /// with `d`.
    pub(crate) fn new(input: &'a [u8]) -> Option<Self> {
        (input.first() == Some(&b'd')).then_some(DictEntries { input, at: 1 })
    }

    /// The next entry in wire order (duplicates included), `Ok(None)` after the closing `e`, or the
    /// first structural error, exactly as [`decode`] reports it for the whole dictionary. Do not call
    /// it again after `None` or an error.
    #[inline]
    pub(crate) fn next_entry(&mut self) -> Result<Option<(&'a [u8], Value<'a>)>, DecodeError> {
        let input = self.input;
        match input.get(self.at) {
            Some(b'0'..=b'9') => {}
            Some(b'e') => {
                self.at += 1;
                return Ok(None);
            }
            Some(_) => return Err(err(self.at, DecodeErrorKind::KeyNotString)),
            None => return Err(err(self.at, DecodeErrorKind::UnexpectedEnd)),
        }
        let (key, after_key) = string(input, self.at)?;
        let value = self.value_at(after_key)?;
        Ok(Some((key, value)))
    }

    /// The bytes from the next key on, for a caller that recognises encoded keys itself.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.input.get(self.at..).unwrap_or_default()
    }

    /// The value of an entry whose key the caller recognised as the first `key_len` bytes of
    /// [`Self::rest`] (a whole `<length>:<key>`, as [`Self::next_entry`] would have read it).
    #[inline]
    pub(crate) fn value_after_key(&mut self, key_len: usize) -> Result<Value<'a>, DecodeError> {
        self.value_at(self.at + key_len)
    }

    #[inline(always)]
    fn value_at(&mut self, at: usize) -> Result<Value<'a>, DecodeError> {
        if self.input.get(at) == Some(&b'e') {
            return Err(err(at, DecodeErrorKind::MissingValue));
        }
        // This dictionary is one level: its values may nest one container less.
        let (value, end) = value_within(self.input, at, MAX_DEPTH - 1)?;
        self.at = end;
        Ok(value)
    }

    /// The whole dictionary, `d` to `e`, once [`Self::next_entry`] has returned `Ok(None)`.
    pub(crate) fn dict(&self) -> Dict<'a> {
        Dict {
            raw: &self.input[..self.at],
        }
    }
}

/// The run of decimal digits starting at `at`: its value, `None` when it has more than 19
/// significant digits (the most a `u64` holds for every value, so the sum below never overflows
/// where it is used), and the offset of the first byte after the run. Leading zeros are allowed.
///
/// A plain byte loop: each step only moves `end` on, so with the branch predicted the loads run
/// ahead and the end of a short run is known sooner than with word-at-a-time arithmetic.
#[inline(always)]
fn digits(input: &[u8], at: usize) -> (Option<u64>, usize) {
    let mut end = at;
    let mut value: u64 = 0;
    while let Some(&d @ b'0'..=b'9') = input.get(end) {
        value = value.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        end += 1;
    }
    if end - at <= 19 {
        return (Some(value), end);
    }
    // Leading zeros add nothing, so the sum is exact when the rest has at most 19 digits.
    let zeros = input[at..end].iter().take_while(|&&d| d == b'0').count();
    ((end - at - zeros <= 19).then_some(value), end)
}

/// `i<digits>e` at `pos`, leniently: leading zeros and `-0` are read, overflow is an error.
#[inline(always)]
fn integer(input: &[u8], pos: usize) -> Result<(i64, usize), DecodeError> {
    let negative = input.get(pos + 1) == Some(&b'-');
    let start = pos + 1 + usize::from(negative);
    let (magnitude, end) = digits(input, start);
    match input.get(end) {
        Some(b'e') if end > start => {}
        Some(&b) => return Err(err(end, DecodeErrorKind::UnexpectedByte(b))),
        None => return Err(err(end, DecodeErrorKind::UnexpectedEnd)),
    }
    let value = magnitude.and_then(|m| {
        if negative {
            0i64.checked_sub_unsigned(m)
        } else {
            i64::try_from(m).ok()
        }
    });
    value
        .map(|v| (v, end + 1))
        .ok_or(err(pos, DecodeErrorKind::IntegerOverflow))
}

/// `<len>:<bytes>` at `pos`.
#[inline(always)]
fn string(input: &[u8], pos: usize) -> Result<(&[u8], usize), DecodeError> {
    let (len, colon) = digits(input, pos);
    match input.get(colon) {
        Some(b':') if colon > pos => {}
        Some(&b) => return Err(err(colon, DecodeErrorKind::UnexpectedByte(b))),
        None => return Err(err(colon, DecodeErrorKind::UnexpectedEnd)),
    }
    let start = colon + 1;
    let end = len
        .and_then(|l| usize::try_from(l).ok())
        .and_then(|l| start.checked_add(l));
    match end {
        Some(end) if end <= input.len() => Ok((&input[start..end], end)),
        _ => Err(err(pos, DecodeErrorKind::LengthPastEnd)),
    }
}

/// Validates the list or dictionary opening at `pos`, nesting at most `max_depth` containers
/// (itself included), and returns the offset after its `e`.
///
/// Iterative: per level it only needs "is this a dictionary" and "is a key expected next", kept as
/// bits of two `u128`s, which bounds the depth at 128 (and [`MAX_DEPTH`] is lower).
fn container_end(input: &[u8], pos: usize, max_depth: usize) -> Result<usize, DecodeError> {
    const _: () = assert!(MAX_DEPTH <= 128);
    let mut depth = 0usize; // number of open containers
    let mut is_dict: u128 = 0;
    let mut want_key: u128 = 0;
    let mut at = pos;
    loop {
        let top = depth.wrapping_sub(1); // bit of the innermost open container
        let in_dict = depth > 0 && is_dict >> top & 1 == 1;
        let key_next = in_dict && want_key >> top & 1 == 1;
        let byte = *input
            .get(at)
            .ok_or(err(at, DecodeErrorKind::UnexpectedEnd))?;
        let end_of_value = match byte {
            b'e' if depth > 0 => {
                if in_dict && !key_next {
                    return Err(err(at, DecodeErrorKind::MissingValue));
                }
                depth -= 1;
                at += 1;
                true
            }
            _ if key_next => {
                if !byte.is_ascii_digit() {
                    return Err(err(at, DecodeErrorKind::KeyNotString));
                }
                at = string(input, at)?.1;
                want_key &= !(1 << top);
                false
            }
            b'l' | b'd' => {
                if depth >= max_depth {
                    return Err(err(at, DecodeErrorKind::TooDeep));
                }
                let bit = 1u128 << depth;
                if byte == b'd' {
                    is_dict |= bit;
                    want_key |= bit;
                } else {
                    is_dict &= !bit;
                }
                depth += 1;
                at += 1;
                false
            }
            b'i' => {
                at = integer(input, at)?.1;
                true
            }
            b'0'..=b'9' => {
                at = string(input, at)?.1;
                true
            }
            other => return Err(err(at, DecodeErrorKind::UnexpectedByte(other))),
        };
        if depth == 0 {
            return Ok(at);
        }
        if end_of_value {
            // The value just finished belongs to the container now on top; in a dict a key follows.
            let top = depth - 1;
            if is_dict >> top & 1 == 1 {
                want_key |= 1 << top;
            }
        }
    }
}

impl<'a> Dict<'a> {
    /// The entries in wire order (duplicates included).
    pub(crate) fn iter(&self) -> DictIter<'a> {
        DictIter {
            raw: self.raw,
            at: 1,
        }
    }

    /// The first value stored under `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Value<'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// Entries of a [`Dict`].
pub(crate) struct DictIter<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Iterator for DictIter<'a> {
    type Item = (&'a [u8], Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        // The dictionary was validated, so an error here cannot happen; it ends the walk if it did.
        let (key, after_key) = string(self.raw, self.at).ok()?;
        let (value, end) = value_at(self.raw, after_key).ok()?;
        self.at = end;
        Some((key, value))
    }
}

impl<'a> List<'a> {
    /// The items in order.
    pub(crate) fn iter(&self) -> ListIter<'a> {
        ListIter {
            raw: self.raw,
            at: 1,
        }
    }
}

/// Items of a [`List`].
pub(crate) struct ListIter<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Iterator for ListIter<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        if self.raw.get(self.at) == Some(&b'e') {
            return None;
        }
        let (value, end) = value_at(self.raw, self.at).ok()?;
        self.at = end;
        Some(value)
    }
}

/// Appends `<len>:<bytes>`.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Appends `i<n>e`.
pub(crate) fn put_int(out: &mut Vec<u8>, n: i64) {
    out.push(b'i');
    out.extend_from_slice(n.to_string().as_bytes());
    out.push(b'e');
}

/// Appends a key and an integer value.
pub(crate) fn put_int_entry(out: &mut Vec<u8>, key: &[u8], n: i64) {
    put_bytes(out, key);
    put_int(out, n);
}

/// Appends a key and a string value.
pub(crate) fn put_bytes_entry(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    put_bytes(out, key);
    put_bytes(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(input: &[u8]) -> DecodeErrorKind {
        decode(input).unwrap_err().kind
    }

    #[test]
    fn unsorted_and_duplicate_keys_are_read_first_wins() {
        let Ok(Value::Dict(d)) = decode(b"d1:bi2e1:ai1e1:bi3ee") else {
            panic!()
        };
        assert_eq!(d.get(b"b"), Some(Value::Int(2)));
        assert_eq!(d.get(b"a"), Some(Value::Int(1)));
        assert_eq!(d.iter().count(), 3);
    }

    #[test]
    fn integers_accept_leading_zeros_and_reject_overflow() {
        assert_eq!(decode(b"i007e"), Ok(Value::Int(7)));
        assert_eq!(decode(b"i-0e"), Ok(Value::Int(0)));
        assert_eq!(decode(b"i-9223372036854775808e"), Ok(Value::Int(i64::MIN)));
        assert_eq!(
            kind(b"i9223372036854775808e"),
            DecodeErrorKind::IntegerOverflow
        );
        assert_eq!(
            kind(b"i-9223372036854775809e"),
            DecodeErrorKind::IntegerOverflow
        );
        assert_eq!(
            kind(b"i99999999999999999999999e"),
            DecodeErrorKind::IntegerOverflow
        );
        assert_eq!(kind(b"ie"), DecodeErrorKind::UnexpectedByte(b'e'));
        assert_eq!(kind(b"i-e"), DecodeErrorKind::UnexpectedByte(b'e'));
        assert_eq!(kind(b"i+5e"), DecodeErrorKind::UnexpectedByte(b'+'));
        assert_eq!(kind(b"i12"), DecodeErrorKind::UnexpectedEnd);
    }

    #[test]
    fn structural_damage_is_an_error() {
        assert_eq!(kind(b"5:abc"), DecodeErrorKind::LengthPastEnd);
        assert_eq!(
            kind(b"99999999999999999999999:a"),
            DecodeErrorKind::LengthPastEnd
        );
        assert_eq!(kind(b"d1:a"), DecodeErrorKind::UnexpectedEnd);
        assert_eq!(kind(b"d1:ae"), DecodeErrorKind::MissingValue);
        assert_eq!(kind(b"di1ei2ee"), DecodeErrorKind::KeyNotString);
        assert_eq!(kind(b"l"), DecodeErrorKind::UnexpectedEnd);
        assert_eq!(kind(b"x"), DecodeErrorKind::UnexpectedByte(b'x'));
        assert_eq!(kind(b""), DecodeErrorKind::UnexpectedEnd);
        assert_eq!(kind(b"dl1:aee"), DecodeErrorKind::KeyNotString);
    }

    #[test]
    fn nesting_is_capped_without_recursion() {
        let ok = [vec![b'l'; MAX_DEPTH], vec![b'e'; MAX_DEPTH]].concat();
        assert!(matches!(decode(&ok), Ok(Value::List(_))));
        let deep = [vec![b'l'; MAX_DEPTH + 1], vec![b'e'; MAX_DEPTH + 1]].concat();
        assert_eq!(kind(&deep), DecodeErrorKind::TooDeep);
        let megabyte = vec![b'l'; 1 << 20];
        assert_eq!(kind(&megabyte), DecodeErrorKind::TooDeep);
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        assert_eq!(decode(b"i5egarbage"), Ok(Value::Int(5)));
        let Ok(Value::Dict(d)) = decode(b"d1:ai1ee<html>") else {
            panic!()
        };
        assert_eq!(d.raw, b"d1:ai1ee");
    }

    #[test]
    fn digit_runs_are_read_with_leading_zeros_and_capped_at_19_significant_digits() {
        assert_eq!(digits(b"1800e", 0), (Some(1800), 4));
        assert_eq!(digits(b"e", 0), (Some(0), 0));
        assert_eq!(digits(b"x12:", 1), (Some(12), 3));
        let long = [&[b'0'; 30][..], &[b'9'; 19], b"e"].concat();
        assert_eq!(digits(&long, 0), (Some(9_999_999_999_999_999_999), 49));
        assert_eq!(digits(&[b'1'; 20], 0), (None, 20));
        // 2^64 has 20 digits: a wrapping sum would read it as 0. Every i64 has at most 19.
        assert_eq!(digits(b"18446744073709551616:", 0), (None, 20));
        assert_eq!(digits(b"0018446744073709551615:", 0), (None, 22));
    }

    /// A dictionary's entries in wire order.
    type Entries<'a> = Vec<(&'a [u8], Value<'a>)>;

    /// Walks a body with [`DictEntries`] to the end: the entries, and the dictionary they make.
    fn walk(input: &[u8]) -> Result<(Entries<'_>, Dict<'_>), DecodeError> {
        let mut entries = DictEntries::new(input).expect("starts with d");
        let mut seen = Vec::new();
        while let Some(entry) = entries.next_entry()? {
            seen.push(entry);
        }
        Ok((seen, entries.dict()))
    }

    #[test]
    fn walking_entries_validates_exactly_like_decoding_the_whole_dictionary() {
        // Bencode-shaped noise after a `d`, and a valid dictionary with bytes changed or cut: the
        // walk the reply decoders use must accept, reject and report errors as `decode` does.
        const BYTES: &[u8] = b"dlie0123456789:-:eeddx";
        let valid = b"d8:completei170e5:peersld2:ip3:a.b4:porti1eee1:xli-1e0:d1:ai0eeee";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut accepted, mut rejected) = (0, 0);
        for round in 0..100_000 {
            let mut input = if round % 2 == 0 {
                let len = (next() % 40) as usize;
                let mut v = vec![b'd'];
                v.extend((0..len).map(|_| BYTES[(next() % BYTES.len() as u64) as usize]));
                v
            } else {
                valid.to_vec()
            };
            for _ in 0..=next() % 3 {
                let at = 1 + (next() as usize) % (input.len() - 1).max(1);
                match next() % 3 {
                    0 if at < input.len() => {
                        input[at] = BYTES[(next() % BYTES.len() as u64) as usize]
                    }
                    1 => input.truncate(at),
                    _ => {}
                }
            }
            match (decode(&input), walk(&input)) {
                (Ok(Value::Dict(whole)), Ok((entries, dict))) => {
                    assert_eq!(whole, dict, "{input:?}");
                    assert!(whole.iter().eq(entries.into_iter()), "{input:?}");
                    accepted += 1;
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a, b, "{:?}", String::from_utf8_lossy(&input));
                    rejected += 1;
                }
                (a, b) => panic!("{:?}: {a:?} vs {b:?}", String::from_utf8_lossy(&input)),
            }
        }
        assert!(
            accepted > 1_000 && rejected > 1_000,
            "{accepted} {rejected}"
        );
        // Depth: the walked dictionary is level 1, as in `decode`.
        for depth in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 5] {
            let input = [&b"d1:x"[..], &vec![b'l'; depth], &vec![b'e'; depth], b"e"].concat();
            assert_eq!(
                decode(&input).map(|_| ()),
                walk(&input).map(|_| ()),
                "{depth}"
            );
        }
    }

    #[test]
    fn nested_values_are_walked_in_place() {
        let Ok(Value::Dict(d)) = decode(b"d1:lld1:xi1eeli2eee1:z0:e") else {
            panic!()
        };
        let Some(Value::List(l)) = d.get(b"l") else {
            panic!()
        };
        let items: Vec<_> = l.iter().collect();
        assert_eq!(items.len(), 2);
        assert!(matches!(items[0], Value::Dict(inner) if inner.get(b"x") == Some(Value::Int(1))));
        assert_eq!(d.get(b"z"), Some(Value::Bytes(b"")));
    }
}
