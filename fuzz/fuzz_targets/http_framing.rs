//! The HTTP/1.1 response reader, fed the fuzz bytes in pieces whose sizes the fuzzer picks, ends
//! with a response or an error and never holds a body over its cap.
#![no_main]

use bt_tracker::http::ResponseReader;
use libfuzzer_sys::fuzz_target;

const CAP: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the piece size (1 to 256 bytes); the rest is the byte stream.
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let piece = usize::from(split) + 1;
    let mut reader = ResponseReader::new(CAP);
    for chunk in stream.chunks(piece) {
        match reader.feed(chunk) {
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
