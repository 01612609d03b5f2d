//! The tracker side of the start-up benchmark (`benches/startup/run.py` starts it; not a test).
//!
//! ```text
//! startup_tracker serve                                  # embedded UDP + HTTP tracker
//! startup_tracker proxy --to 127.0.0.1:3000 --rate 500   # a tracker answering 500 requests/s
//! ```
//!
//! `serve` starts the examples' embedded tracker (no sample peers, so a client gets no address to
//! dial) on free loopback ports. `proxy` forwards datagrams from one client to a UDP tracker and
//! back, passing at most `--rate` requests a second (a token bucket holding `--burst`, default a
//! tenth of the rate) and dropping the rest, as an overloaded tracker does. Either prints one JSON
//! line with its URLs, runs until its standard input closes, then prints one JSON line of counts
//! and exits.

#[path = "../../examples/common/mod.rs"]
mod common;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::cli::number_in;
use common::embedded::EmbeddedTracker;
use common::now;

const USAGE: &str = "\
usage: startup_tracker serve
       startup_tracker proxy --to ADDR [--rate PER_SECOND] [--burst N]
Runs until standard input closes.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(),
        Some("proxy") => proxy(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Blocks until standard input reaches its end (the benchmark closes it to stop us).
fn wait_for_stdin_eof() {
    let mut sink = [0u8; 256];
    let mut stdin = std::io::stdin();
    while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
}

fn serve() -> Result<(), String> {
    let tracker = EmbeddedTracker::start(Vec::new())
        .map_err(|e| format!("cannot start the embedded tracker: {e}"))?;
    println!(
        "{{\"udp\": \"{}\", \"http\": \"{}\"}}",
        tracker.udp_url(),
        tracker.http_url()
    );
    wait_for_stdin_eof();
    drop(tracker);
    println!("{{}}");
    Ok(())
}

/// Counters of the proxy, printed at exit.
#[derive(Default)]
struct Counts {
    forwarded: AtomicU64,
    dropped: AtomicU64,
    replies: AtomicU64,
}

fn proxy(args: &[String]) -> Result<(), String> {
    let mut to: Option<SocketAddr> = None;
    let mut rate = 500u32;
    let mut burst = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag}: cannot read {value:?}");
        match flag.as_str() {
            "--to" => to = Some(value.parse().map_err(|_| bad())?),
            "--rate" => {
                rate = number_in(flag, value, 1..=u64::from(u32::MAX), " per second")? as u32
            }
            "--burst" => burst = Some(number_in(flag, value, 1..=u64::from(u32::MAX), "")? as u32),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    let to = to.ok_or("proxy needs --to ADDR (the tracker's UDP address)")?;
    let burst = burst.unwrap_or(rate / 10).max(1);
    let bind = |what| {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| format!("cannot bind the {what}: {e}"))
    };
    let front = bind("client side")?;
    let back = bind("tracker side")?;
    back.connect(to)
        .map_err(|e| format!("cannot aim at the tracker {to}: {e}"))?;
    for socket in [&front, &back] {
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| e.to_string())?;
    }
    let addr = front.local_addr().map_err(|e| e.to_string())?;
    println!("{{\"udp\": \"udp://{addr}/announce\"}}");

    let quit = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    // The client's address, learnt from its first datagram (one client per run).
    let client = Arc::new(std::sync::Mutex::new(None::<SocketAddr>));
    let replies = {
        let (front, back) = (
            front.try_clone().map_err(|e| e.to_string())?,
            back.try_clone().map_err(|e| e.to_string())?,
        );
        let (quit, counts, client) = (Arc::clone(&quit), Arc::clone(&counts), Arc::clone(&client));
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !quit.load(Ordering::Relaxed) {
                let Ok(n) = back.recv(&mut buf) else { continue };
                let to = *client.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(to) = to {
                    counts.replies.fetch_add(1, Ordering::Relaxed);
                    let _ = front.send_to(&buf[..n], to);
                }
            }
        })
    };
    let requests = {
        let (quit, counts) = (Arc::clone(&quit), Arc::clone(&counts));
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            let mut bucket = Bucket::new(rate, burst, now());
            while !quit.load(Ordering::Relaxed) {
                let Ok((n, from)) = front.recv_from(&mut buf) else {
                    continue;
                };
                *client.lock().unwrap_or_else(|e| e.into_inner()) = Some(from);
                if bucket.take(now()) {
                    counts.forwarded.fetch_add(1, Ordering::Relaxed);
                    let _ = back.send(&buf[..n]);
                } else {
                    counts.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    wait_for_stdin_eof();
    quit.store(true, Ordering::Relaxed);
    let _ = requests.join();
    let _ = replies.join();
    println!(
        "{{\"forwarded\": {}, \"dropped\": {}, \"replies\": {}}}",
        counts.forwarded.load(Ordering::Relaxed),
        counts.dropped.load(Ordering::Relaxed),
        counts.replies.load(Ordering::Relaxed)
    );
    Ok(())
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Bucket {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Takes a token if one is there.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
