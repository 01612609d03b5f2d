//! Lines to stdout that survive a reader going away. `println!` panics with "failed printing to
//! stdout: Broken pipe" under `| head`; a program that is sending `stopped` to its trackers must
//! not die of that, so a line that cannot be written is dropped and the run goes on.

use std::fmt::Arguments;
use std::io::Write;

/// Writes one line, as `println!` would (`say(format_args!("{x}"))`); a write error (a closed
/// pipe) drops the line.
pub fn say(line: Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}
