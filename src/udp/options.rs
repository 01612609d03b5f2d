//! BEP 41 announce options: URL data out (client side), tolerant option parsing in (tracker side).

use std::borrow::Cow;

const END_OF_OPTIONS: u8 = 0x00;
const NOP: u8 = 0x01;
const URL_DATA: u8 = 0x02;
const MAX_CHUNK: usize = 255;

/// Bytes that `len` bytes of URL data take as options: one `02 len` header per chunk of at most 255
/// bytes (one empty chunk for empty data) and the EndOfOptions byte.
pub const fn encoded_url_data_len(len: usize) -> usize {
    let chunks = if len == 0 { 1 } else { len.div_ceil(MAX_CHUNK) };
    2 * chunks + len + 1
}

/// Writes `data` as URLData options followed by EndOfOptions. `out` must be exactly
/// `encoded_url_data_len(data.len())` bytes long (the caller checked it).
pub(crate) fn write_url_data(data: &[u8], out: &mut [u8]) {
    let mut at = 0;
    let mut write_chunk = |chunk: &[u8], out: &mut [u8]| {
        out[at] = URL_DATA;
        out[at + 1] = chunk.len() as u8; // chunks are at most 255 bytes
        out[at + 2..at + 2 + chunk.len()].copy_from_slice(chunk);
        at += 2 + chunk.len();
    };
    if data.is_empty() {
        write_chunk(&[], out);
    }
    for chunk in data.chunks(MAX_CHUNK) {
        write_chunk(chunk, out);
    }
    out[at] = END_OF_OPTIONS;
}

/// Reads the URL data from the options after an announce request's fixed part.
///
/// Parsing stops at EndOfOptions or at the end of the datagram. NOPs are skipped, unknown options are
/// skipped by their length byte, and URLData payloads are joined in order (borrowed when there is
/// one chunk). Options whose length runs past the datagram are malformed and ignored as a whole: the
/// announce itself stays valid. `None` means the client sent no URL data.
pub(crate) fn parse_url_data(options: &[u8]) -> Option<Cow<'_, [u8]>> {
    let mut found: Option<Cow<'_, [u8]>> = None;
    let mut at = 0;
    while let Some(&kind) = options.get(at) {
        match kind {
            END_OF_OPTIONS => break,
            NOP => at += 1,
            _ => {
                let len = *options.get(at + 1)? as usize;
                let payload = options.get(at + 2..at + 2 + len)?;
                if kind == URL_DATA {
                    found = Some(match found {
                        None => Cow::Borrowed(payload),
                        Some(prev) => {
                            let mut joined = prev.into_owned();
                            joined.extend_from_slice(payload);
                            Cow::Owned(joined)
                        }
                    });
                }
                at += 2 + len;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_length_ignores_all_options() {
        assert_eq!(parse_url_data(&[2, 3, b'/', b'a', b'b', 2, 9, b'x']), None);
    }

    #[test]
    fn nop_and_unknown_options_are_skipped() {
        let opts = [1, 1, 7, 2, 0xAA, 0xBB, 2, 2, b'/', b'x', 0, 2, 1, b'y'];
        assert_eq!(parse_url_data(&opts).as_deref(), Some(&b"/x"[..]));
    }

    #[test]
    fn legacy_zero_extension_field_reads_as_end_of_options() {
        assert_eq!(parse_url_data(&[0, 0]), None);
    }

    #[test]
    fn chunks_are_joined_in_order() {
        let data: Vec<u8> = (0..600u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut out = vec![0u8; encoded_url_data_len(data.len())];
        write_url_data(&data, &mut out);
        assert_eq!(&out[..2], &[2, 255]);
        assert_eq!(&out[257..259], &[2, 255]);
        assert_eq!(&out[514..516], &[2, 90]);
        assert_eq!(out.last(), Some(&0));
        assert_eq!(parse_url_data(&out).as_deref(), Some(&data[..]));
    }

    #[test]
    fn empty_url_data_is_one_empty_chunk() {
        let mut out = [9u8; 3];
        write_url_data(&[], &mut out);
        assert_eq!(out, [2, 0, 0]);
        assert_eq!(parse_url_data(&out).as_deref(), Some(&b""[..]));
    }
}
