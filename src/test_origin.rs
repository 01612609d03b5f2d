//! The unit tests' origin of time (compiled only for `cargo test`, never into the library).
//!
//! The machines never read a clock: every call takes `now: Instant` (DESIGN.md section 1). Their
//! unit tests still need one `Instant` to build times from, and std has no way to make an
//! `Instant` other than `Instant::now()`. This is the one place under `src/` that reads the clock,
//! so the contract check has a single, test-only exception instead of one per test.

use std::time::Instant;

/// An arbitrary origin for a unit test's virtual times. Nothing measures a duration from it.
#[allow(clippy::disallowed_methods)] // the one clock read under src/, test-only
pub(crate) fn test_origin() -> Instant {
    Instant::now()
}
