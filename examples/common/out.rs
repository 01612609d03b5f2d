//! Lines to stdout and stderr that survive a reader going away. `println!` panics with "failed
//! printing to stdout: Broken pipe" under `| head` (and `eprintln!` under `2>&1 | head`); a
//! program that is sending `stopped` to its trackers must not die of that, so a line that cannot
//! be written is dropped and the run goes on.

use std::fmt::Arguments;
use std::io::Write;

/// Writes one line, as `println!` would (`say(format_args!("{x}"))`); a write error (a closed
/// pipe) drops the line.
pub fn say(line: Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Writes one line to stderr, as `eprintln!` would (`tell(format_args!("{x}"))`); a write error
/// drops the line.
pub fn tell(line: Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `n` and the noun, singular for one: `count(1, "peer")` is "1 peer", `count(2, "peer")` "2
/// peers" (the examples' nouns all take an s).
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
