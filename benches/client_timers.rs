//! The Client's deadlines do not scan its torrents: `handle_timeout` + `poll_timeout` when nothing
//! is due, with 1,000 and with 100,000 idle torrents, in the same run. The ratio between the two
//! is the figure (flat means at most 2).
//!
//! `cargo bench --bench client_timers`.

#[path = "common/client.rs"]
mod client;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

fn timers(c: &mut Criterion) {
    let mut g = c.benchmark_group("handle_timeout + poll_timeout, nothing due");
    for n in [1_000, 100_000] {
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let (mut client, idle) = client::idle_client(n, client::round_config(), start, 3600);
        let now = idle + Duration::from_secs(60);
        g.bench_function(format!("{n} idle torrents"), |b| {
            b.iter(|| {
                client.handle_timeout(black_box(now));
                black_box(client.poll_timeout())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, timers);
criterion_main!(benches);
