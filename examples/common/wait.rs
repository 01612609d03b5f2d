//! The tokio loop's wait for a deadline, shared by `examples/tokio.rs` and the turmoil test's
//! client host (tests/turmoil/peer_host.rs), which runs the same loop on turmoil's sockets.

use std::time::Instant;

use tokio::time::{Instant as TokioInstant, sleep_until};

/// Sleeps until the earliest of `deadlines` (the machine's `poll_timeout`, the loop's own
/// deadlines; `None` is no deadline), or forever when there is none. It is the timer arm of the
/// loop's `tokio::select!`, beside the sockets and the channels; under turmoil, tokio's clock is
/// virtual and the same sleep is simulated time.
pub async fn until_earliest<const N: usize>(deadlines: [Option<Instant>; N]) {
    match deadlines.into_iter().flatten().min() {
        Some(at) => sleep_until(TokioInstant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
