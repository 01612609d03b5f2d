//! What an idle torrent costs inside a `Client`: the heap bytes the client holds once 100,000
//! torrents have announced and wait for their next interval, counted exactly by a counting
//! allocator and divided by the number of torrents. Deterministic, so asserted as a bound (the
//! issue's target: at most 1 KiB per torrent); run with `--nocapture` to see the figures.

#[path = "../benches/common/client.rs"]
mod idle;

use std::time::Instant;

use bt_tracker::announce::Config;

fn bytes_per_torrent(n: u32) -> (f64, u64) {
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
    let start = Instant::now();
    let mut held = None;
    let info = allocation_counter::measure(|| {
        held = Some(idle::idle_client(n, Config::default(), start, 1800).0)
    });
    drop(held);
    (
        info.bytes_current as f64 / f64::from(n),
        info.count_current as u64,
    )
}
#[test]
fn an_idle_torrent_in_a_client_of_100k_holds_at_most_1_kib() {
    let (small, small_allocs) = bytes_per_torrent(1_000);
    let (large, large_allocs) = bytes_per_torrent(100_000);
    eprintln!(
        "idle torrent in a Client: {small:.0} heap bytes each with 1,000 torrents ({small_allocs} allocations held), {large:.0} bytes each with 100,000 ({large_allocs} allocations held)"
    );
    assert!(large <= 1024.0, "{large:.0} bytes per idle torrent");
}
