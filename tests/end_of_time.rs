//! Inputs near the end of `Instant`'s range make progress: `handle_timeout` returns, and after it
//! and a full drain `poll_timeout` is `None` or later than `now`, so a driver that sleeps until
//! the deadline never spins. A deadline past the range saturates and never comes. (Before, every
//! `now + duration` that overflowed became `now` itself: `Client::handle_timeout` looped forever
//! within 15 s of the end, and `Announce::poll_timeout` returned `now`.)

mod common;

use common::start;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bt_tracker::announce::{Announce, Config, HybridAnnounce, Progress, Torrent};
use bt_tracker::client::Client;
use bt_tracker::{InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

/// The largest `Instant`, by bisection on `checked_add` from `from`.
fn end_of_time(from: Instant) -> Instant {
    let (mut lo, mut hi) = (0u64, u64::MAX);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if from.checked_add(Duration::from_secs(mid)).is_some() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let (mut nlo, mut nhi) = (0u32, 999_999_999u32);
    while nlo < nhi {
        let mid = nlo + (nhi - nlo).div_ceil(2);
        if from.checked_add(Duration::new(lo, mid)).is_some() {
            nlo = mid;
        } else {
            nhi = mid - 1;
        }
    }
    from + Duration::new(lo, nlo)
}

fn torrent() -> Torrent {
    Torrent {
        info_hash: InfoHash([3; 20]),
        peer_id: PeerId(*b"-BT0001-endoftime001"),
        port: 6881,
        progress: Progress::default(),
        key: Some(1),
    }
}

fn tiers() -> Vec<Vec<TrackerUrl>> {
    ["udp://10.0.0.1:6969", "http://10.0.0.2/announce"]
        .iter()
        .map(|u| vec![TrackerUrl::parse(u).unwrap()])
        .collect()
}

/// Seconds before the end of time the tests start at: inside the UDP retransmission timeout,
/// around it, and far enough for whole announce rounds.
const BEFORE_END: [u64; 9] = [0, 1, 5, 14, 15, 16, 105, 600, 7_200];

/// Runs `f` on a thread and fails when it does not finish within 20 s (a hang is a failure, not a
/// stuck test run).
fn finishes(what: String, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: did not return in 20 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// What the tests drive: the three machines, alike.
trait Driven {
    fn drain(&mut self);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_timeout(&self) -> Option<Instant>;
    fn stop(&mut self, now: Instant);
}

macro_rules! driven {
    ($t:ty) => {
        impl Driven for $t {
            fn drain(&mut self) {
                let mut buf = Vec::new();
                while self.poll_transmit(&mut buf).is_some() {}
                while self.poll_http_request().is_some() {}
                while self.poll_dns_query().is_some() {}
                while self.poll_event().is_some() {}
            }
            fn handle_timeout(&mut self, now: Instant) {
                <$t>::handle_timeout(self, now)
            }
            fn poll_timeout(&self) -> Option<Instant> {
                <$t>::poll_timeout(self)
            }
            fn stop(&mut self, now: Instant) {
                <$t>::stop(self, now);
            }
        }
    };
}
driven!(Announce);
driven!(Client);
driven!(HybridAnnounce);

/// A driver that sleeps until each deadline: every deadline after a drain is later than the
/// `now` it followed, and the run ends (no deadline left) within a bounded number of wake-ups,
/// before and after `stop`.
fn drive_to_the_end(m: &mut dyn Driven, mut now: Instant, what: &str) {
    m.handle_timeout(now);
    m.drain();
    for stopping in [false, true] {
        if stopping {
            m.stop(now);
            m.drain();
        }
        let mut steps = 0;
        while let Some(next) = m.poll_timeout() {
            assert!(
                next > now,
                "{what}: deadline {:?} not after now",
                now - next
            );
            steps += 1;
            assert!(
                steps < 1_000,
                "{what}: still waking after {steps} deadlines"
            );
            now = next;
            m.handle_timeout(now);
            m.drain();
        }
    }
}

fn machines(t0: Instant, at: Instant) -> Vec<(&'static str, Box<dyn Driven + Send>)> {
    let rng = || ChaCha12Rng::seed_from_u64(1);
    let announce = |now| Announce::new(Config::default(), torrent(), tiers(), &mut rng(), now);
    let client = |now| {
        let mut c = Client::new(Config::default(), &mut rng(), now).unwrap();
        c.add(now, torrent(), tiers()).unwrap();
        c
    };
    let hybrid = |now| {
        let v2 = InfoHash([4; 20]);
        HybridAnnounce::new(Config::default(), torrent(), v2, tiers(), &mut rng(), now).unwrap()
    };
    vec![
        ("Announce made long before", Box::new(announce(t0).unwrap())),
        ("Announce made at now", Box::new(announce(at).unwrap())),
        ("Client made long before", Box::new(client(t0))),
        ("Client made at now", Box::new(client(at))),
        ("HybridAnnounce made long before", Box::new(hybrid(t0))),
        ("HybridAnnounce made at now", Box::new(hybrid(at))),
    ]
}

#[test]
fn near_the_end_of_time_handle_timeout_returns_and_every_deadline_is_after_now() {
    let t0 = start();
    let end = end_of_time(t0);
    for back in BEFORE_END {
        let now = end - Duration::from_secs(back);
        for (name, mut m) in machines(t0, now) {
            let what = format!("{name}, now {back} s before the end of time");
            // Long before: its first requests went out and wait for their answers.
            m.drain();
            finishes(what.clone(), move || drive_to_the_end(&mut *m, now, &what));
        }
    }
}

#[test]
fn answers_at_the_very_end_of_time_leave_no_deadline_at_or_before_it() {
    let t0 = start();
    let end = end_of_time(t0);
    let tracker: SocketAddr = "10.0.0.1:6969".parse().unwrap();
    let mut c = Client::new(Config::default(), &mut ChaCha12Rng::seed_from_u64(1), t0).unwrap();
    c.add(t0, torrent(), tiers()).unwrap();
    let mut buf = Vec::new();
    let connect = c.poll_transmit(&mut buf).map(|_| buf.clone()).unwrap();
    // The connect is answered at the end of time: the announce that follows cannot be timed.
    let reply = [&[0, 0, 0, 0], &connect[12..16], &[7u8; 8][..]].concat();
    finishes("a connect reply at the end of time".into(), move || {
        assert!(c.handle_datagram(end, tracker, &reply));
        Driven::drain(&mut c);
        c.handle_timeout(end);
        Driven::drain(&mut c);
        assert_eq!(c.poll_timeout(), None);
    });
}
