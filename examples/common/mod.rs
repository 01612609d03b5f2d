//! Glue the examples share (and the interop tests reuse): what a program around the sans-IO
//! machine needs and the library leaves to its caller on purpose. Sockets, threads, DNS and the
//! clock live here; protocol logic stays in the library.
#![allow(dead_code)] // each example uses part of it

pub mod cli;
pub mod driver;
pub mod embedded;
pub mod fleet;
pub mod http;
pub mod http_conn;
pub mod out;
pub mod report;
pub mod resolver;
pub mod status;
pub mod target;
pub mod tls;
pub mod wait;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bt_tracker::PeerId;
use rand_chacha::ChaCha12Rng;
use rand_core::{Rng, SeedableRng};

/// The clock. The library never reads it; its callers do, in this one place.
#[allow(clippy::disallowed_methods)]
pub fn now() -> Instant {
    Instant::now()
}

/// A cryptographically secure generator seeded by the operating system: transaction ids and the
/// announce `key` must be unguessable, or an off-path attacker can forge tracker replies.
pub fn os_rng() -> ChaCha12Rng {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source is unavailable");
    ChaCha12Rng::from_seed(seed)
}

/// An Azureus-style peer id: `-BT0100-` and twelve random alphanumerics.
pub fn random_peer_id(rng: &mut impl Rng) -> PeerId {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut id = *b"-BT0100-000000000000";
    for byte in &mut id[8..] {
        *byte = ALPHABET[(rng.next_u32() % ALPHABET.len() as u32) as usize];
    }
    PeerId(id)
}

/// Ctrl-C ended the run early (see [`interrupted`]).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Records that Ctrl-C ended the run early; the examples' handlers call it. The run still sends
/// its `stopped` announces, then [`main_with`] exits with 130 (128 + SIGINT, the shell's
/// convention), so a script can tell an interrupted run from a finished one.
pub fn interrupted() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Ctrl-C came ([`interrupted`] was called): a loop polls it to start stopping.
pub fn was_interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// An example's `main`: `--help` prints `usage`, bad arguments exit 2 with the reason and the usage,
/// `run` returning `Ok(false)` exits 1 with `nothing_found`, an error exits 2, and a run that
/// Ctrl-C ended early exits 130 once it is done ([`interrupted`]).
pub fn main_with<A>(
    args: Result<Option<A>, String>,
    usage: &str,
    nothing_found: &str,
    run: impl FnOnce(&A) -> Result<bool, String>,
) -> ExitCode {
    let args = match args {
        Ok(Some(args)) => args,
        Ok(None) => {
            out::say(format_args!("{usage}"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            out::tell(format_args!("error: {e}\n\n{usage}"));
            return ExitCode::from(2);
        }
    };
    let result = run(&args);
    if result.is_ok() && was_interrupted() {
        return ExitCode::from(130);
    }
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            out::tell(format_args!("error: {nothing_found}"));
            ExitCode::FAILURE
        }
        Err(e) => {
            out::tell(format_args!("error: {e}"));
            ExitCode::from(2)
        }
    }
}
