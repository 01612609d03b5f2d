//! The tests' origin of time (compiled only for `cargo test`, never into the library).
//!
//! The machines never read a clock: every call takes `now: Instant` (DESIGN.md section 1). Their
//! tests still need one `Instant` to build times from, and std has no way to make an `Instant`
//! other than `Instant::now()`. This file is that one read, shared by the crate's unit tests
//! (`#[cfg(test)] #[path]` in src/lib.rs) and the integration tests (`common::start`), and it lives
//! with the test support, so src/ itself reads no clock.

use std::time::Instant;

/// An arbitrary origin for a test's virtual times. Nothing measures a duration from it.
#[allow(clippy::disallowed_methods)] // the unit tests' one clock read, test-only
pub(crate) fn test_origin() -> Instant {
    Instant::now()
}
