//! Lenient, zero-copy, allocation-free bencode decoding and the canonical encoding helpers.
//!
//! Why not `bendy` (which DESIGN.md names): measured with bendy 0.6.1, its decoder rejects unsorted
//! dictionary keys (`Keys were not sorted`, e.g. Ocelot's scrape rows `complete, incomplete,
//! downloaded`) and leading zeros, both of which PROTOCOL.md section 2 says a client MUST accept, and
//! every `Decoder::new` allocates a 147,456-byte state stack, which rules out allocation-free reply
//! parsing. bendy stays as the strict oracle in the tests: everything our encoders write must pass
//! its canonical-form checks.
//!
//! Decoding rules (PROTOCOL.md section 2, lenient mode): unsorted and duplicate keys are accepted
//! (lookups see the first occurrence), integers may have leading zeros, bytes after the top-level
//! value are ignored. Structural damage is an error: a length past the end, a non-digit in a number,
//! a missing `e`, a non-string key, an integer outside i64, nesting deeper than [`MAX_DEPTH`].
//!
//! The scan is iterative (no recursion, so no stack overflow on a megabyte of `l`), linear in the
//! input and uses no heap: a value's extent is found once, then dictionaries and lists are walked in
//! place.

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
    match input.get(pos) {
        None => Err(err(pos, DecodeErrorKind::UnexpectedEnd)),
        Some(b'i') => integer(input, pos).map(|(n, end)| (Value::Int(n), end)),
        Some(b'0'..=b'9') => string(input, pos).map(|(s, end)| (Value::Bytes(s), end)),
        Some(b'l') => {
            let end = container_end(input, pos)?;
            Ok((
                Value::List(List {
                    raw: &input[pos..end],
                }),
                end,
            ))
        }
        Some(b'd') => {
            let end = container_end(input, pos)?;
            Ok((
                Value::Dict(Dict {
                    raw: &input[pos..end],
                }),
                end,
            ))
        }
        Some(&b) => Err(err(pos, DecodeErrorKind::UnexpectedByte(b))),
    }
}

/// `i<digits>e` at `pos`, leniently: leading zeros and `-0` are read, overflow is an error.
fn integer(input: &[u8], pos: usize) -> Result<(i64, usize), DecodeError> {
    let mut at = pos + 1;
    let negative = input.get(at) == Some(&b'-');
    if negative {
        at += 1;
    }
    let start = at;
    let mut magnitude: u64 = 0;
    loop {
        match input.get(at) {
            None => return Err(err(at, DecodeErrorKind::UnexpectedEnd)),
            Some(b'e') if at > start => break,
            Some(&d @ b'0'..=b'9') => {
                magnitude = magnitude
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(u64::from(d - b'0')))
                    .ok_or(err(pos, DecodeErrorKind::IntegerOverflow))?;
            }
            Some(&b) => return Err(err(at, DecodeErrorKind::UnexpectedByte(b))),
        }
        at += 1;
    }
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    };
    value
        .map(|v| (v, at + 1))
        .ok_or(err(pos, DecodeErrorKind::IntegerOverflow))
}

/// `<len>:<bytes>` at `pos`.
fn string(input: &[u8], pos: usize) -> Result<(&[u8], usize), DecodeError> {
    let mut at = pos;
    let mut len: usize = 0;
    loop {
        match input.get(at) {
            None => return Err(err(at, DecodeErrorKind::UnexpectedEnd)),
            Some(b':') if at > pos => break,
            Some(&d @ b'0'..=b'9') => {
                len = len
                    .checked_mul(10)
                    .and_then(|l| l.checked_add(usize::from(d - b'0')))
                    .ok_or(err(pos, DecodeErrorKind::LengthPastEnd))?;
            }
            Some(&b) => return Err(err(at, DecodeErrorKind::UnexpectedByte(b))),
        }
        at += 1;
    }
    let start = at + 1;
    match start.checked_add(len) {
        Some(end) if end <= input.len() => Ok((&input[start..end], end)),
        _ => Err(err(pos, DecodeErrorKind::LengthPastEnd)),
    }
}

/// Validates the list or dictionary opening at `pos` and returns the offset after its `e`.
///
/// Iterative: per level it only needs "is this a dictionary" and "is a key expected next", kept as
/// bits of two `u128`s, which bounds the depth at 128 (and [`MAX_DEPTH`] is lower).
fn container_end(input: &[u8], pos: usize) -> Result<usize, DecodeError> {
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
                if depth == MAX_DEPTH {
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
