//! The HTTP/1.1 response reader, fed the fuzz bytes split at fuzz-chosen points, ends with a
//! response or an error and never holds a body over its cap.
#![no_main]

use bt_tracker::http::ResponseReader;
use libfuzzer_sys::fuzz_target;

const CAP: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    // The first byte says how many piece sizes follow (0 to 7); the sizes (1 to 256 bytes) are
    // used in turn to cut the rest of the input, the byte stream, into the pieces fed.
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 8).min(rest.len());
    let (sizes, mut stream) = rest.split_at(count);
    let mut reader = ResponseReader::new(CAP);
    let mut turn = 0;
    while !stream.is_empty() {
        let size = sizes
            .get(turn % sizes.len().max(1))
            .map_or(stream.len(), |&s| usize::from(s) + 1);
        turn += 1;
        let (piece, tail) = stream.split_at(size.min(stream.len()));
        stream = tail;
        match reader.feed(piece) {
            Ok(None) => continue,
            Ok(Some(response)) => {
                assert!(response.body.len() <= CAP);
                return;
            }
            Err(_) => return,
        }
    }
    if let Ok(response) = reader.finish() {
        assert!(response.body.len() <= CAP);
    }
});
