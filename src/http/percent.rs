//! Percent-encoding of binary query values (PROTOCOL.md section 3.3).

/// RFC 3986 unreserved bytes, the only ones left raw.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `bytes` percent-encoded: unreserved bytes raw, every other byte as `%HH` (uppercase), as
/// Transmission does. Safe for opentracker's strict scanner and for trackers that read `+` as space.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// `bytes` percent-encoded: unreserved bytes raw, every other byte as `%HH` (uppercase).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    encode_into(bytes, &mut out);
    out
}

/// Why a query value could not be percent-decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("'%' at byte {offset} is not followed by two hex digits")]
pub struct PercentError {
    /// Offset of the bad `%` in the value.
    pub offset: usize,
}

/// Decodes a query value as a tracker must for binary parameters: `%HH` in either case, `+` is the
/// literal byte 0x2B (never a space), a `%` without two hex digits is an error.
pub fn decode(value: &[u8]) -> Result<Vec<u8>, PercentError> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if b == b'%' {
            let hi = value.get(i + 1).and_then(|&h| char::from(h).to_digit(16));
            let lo = value.get(i + 2).and_then(|&l| char::from(l).to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(PercentError { offset: i }),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}
