//! Admission per tracker endpoint: a window of exchanges in flight that clocks itself on answers.
//!
//! # Why a window, and why this one
//!
//! A fixed rate is the wrong control for a tracker client: too slow for a fast tracker (5,000
//! torrents at 200/s wait 25 s on a loopback tracker that answers 100,000/s), costly per request
//! (every paced request is its own timer wake-up), and blind to a slow or lossy tracker (it keeps
//! its rate whatever is dropped). What the field does:
//!
//! - libtorrent paces nothing per tracker for UDP: every torrent's connect and announce go out as
//!   soon as the torrent starts, and HTTP announces are bounded by a count of requests in flight
//!   (`max_concurrent_http_announces`, 50). Measured here: with the OS's default socket buffers it
//!   loses thousands of replies at 5,000 torrents and leaves torrents unanswered for minutes.
//! - Transmission releases a bounded number of announces per upkeep tick (a fixed rate again) and
//!   caps its HTTP connections per host.
//! - TCP (RFC 5681) and uTP/LEDBAT (RFC 6817) clock new data on acknowledgements: a window of
//!   packets in flight, grown while acknowledgements come back and cut on loss. LEDBAT also
//!   backs off on queueing delay, which needs a one-way delay signal a tracker reply does not
//!   carry, and a rate-limited tracker drops rather than queues, so delay would not show it.
//!
//! So: TCP's loss-based control, with a tracker answer as the acknowledgement. A new exchange is
//! admitted when one leaves (answered, failed or cancelled), so the sends follow the tracker's
//! own pace. The window starts at [`INITIAL_WINDOW`], grows by one per answer up to the slow-start
//! threshold and by one per window's worth of answers above it (additive increase), and is halved
//! once per round of sends when a datagram is lost (multiplicative decrease). Loss is seen two
//! ways: BEP 15's retransmission timeout (15 s: far too slow alone, a window would overrun a slow
//! tracker for 15 s before it noticed), and, as TCP's RACK does (RFC 8985), when a datagram sent
//! more than a quarter of the shortest round trip after an unanswered one was answered: the
//! earlier one is taken as lost and sent again (that repeat is not a BEP 15 attempt; up to six
//! per datagram, the first at once, later ones backed off 1, 3, 7, 15 and 31 probe timeouts, so
//! that they outlast a burst of loss at a rate-limited tracker, all spread at a window per round
//! trip, so that repeats declared lost together do not meet a rate limit together again), and, as
//! TCP's probe timeout does, when one stays unanswered for twice the round trip (at least 25 ms).
//! A round that loses more than an eighth of its datagrams cuts the window to what got through,
//! and sets a pacing rate at the rate answers came (BBR's delivery rate): on a fast path a window
//! alone cannot go below one datagram per round trip, which on loopback is thousands a second.
//! Where even the smallest window would send several times faster than that rate (loopback, a
//! LAN), the rate then probes up slowly while rounds come back clean and is brought back to what
//! got through when they do not, so a loopback tracker that drops what exceeds its rate drops
//! about 5 % of the datagrams, not 10 % (see `close_round`).
//! A timeout with nothing answered since the datagram went out cuts the window to
//! [`MIN_WINDOW`] (the tracker may be gone).
//!
//! The window never exceeds a cap ([`Config::tracker_window`]): a burst of replies must fit the
//! caller's socket receive buffer (see the `limits` module for the figures). Every exchange
//! admitted holds one place whatever it is doing: sending its connect, waiting for another
//! request's connect, sending its announce or scrape, or retransmitting, so datagrams in flight
//! never exceed the window.
//!
//! Waiting exchanges queue in order of arrival, `stopped`, `completed` and a user's announce ahead
//! of the rest; a place that comes free goes to the head of the queue at once, and everything the
//! window allows is admitted in the same drain (the woken torrents are driven together, so a
//! caller's loop wakes about once per round trip, not once per datagram).

use std::time::{Duration, Instant};

use super::config::Config;
use super::event::TorrentId;
use super::places::{Place, Places, Ticket};
use super::schedule::later;
use super::send_log::SendLog;

/// The window a UDP endpoint starts with (TCP's initial window is 10 segments, RFC 6928; a tracker
/// request is one datagram and answers are small, so a little more).
pub(crate) const INITIAL_WINDOW: u32 = 16;

/// The smallest window: after a timeout, two requests keep probing the tracker.
pub(crate) const MIN_WINDOW: u32 = 2;

/// The shortest probe timeout: a caller's loop may take this long to read a reply.
const MIN_PROBE: Duration = Duration::from_millis(25);

/// The most doublings of the probe timeout (1 << 6: 64 times the round trip, still well within BEP
/// 15's 15 s on any round trip under 100 ms).
const MAX_PROBE_BACKOFF: u32 = 6;

/// The burst a pacing rate allows.
const PACED_BURST: u32 = 4;

/// The most paced sends released together (see [`Window::pace`]): a batch of two halves the
/// caller's timer wake-ups (on loopback behind `startup_tracker proxy` at 500 a second: 5,500
/// wake-ups for 4,000 announces instead of 7,300). Larger batches meet a tracker's token bucket
/// together: with 3 or 4 the simulated tracker at 2,000 a second dropped the tail of the same
/// batches again and again, and three announces went out six times (tests/window.rs).
const PACED_BATCH: u32 = 2;

/// The fewest answers and losses a loss rate is judged on.
const JUDGED: u32 = 32;

/// A finely paced round (see [`Window::finely_paced`]) that loses more than 1/`HOLD_LOSS` of its
/// datagrams brings the rate to 1/`HOLD_LOSS` above what got through; one that loses less raises
/// it.
const HOLD_LOSS: u32 = 32;

/// A finely paced round with (almost) no loss raises the rate by 1/`RATE_PROBE` of itself and 1/8
/// per answer: 2.3 % a round of 32 at 500 a second.
const RATE_PROBE: u64 = 2048;

/// Below this many datagrams a round trip at the pacing rate, the rate is finely paced: the
/// smallest window ([`MIN_WINDOW`]) would send four times faster, so the rate alone holds the
/// sends back (a loopback or LAN tracker that drops what exceeds its rate).
const PACED_PER_RTT: f64 = 0.5;

/// The reorder allowance when no round trip was measured yet.
const DEFAULT_REORDER: Duration = Duration::from_millis(1);

/// `d` in nanoseconds (saturating: 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `nanos` nanoseconds in seconds, as `Duration::as_secs_f64` gives them.
fn secs(nanos: u64) -> f64 {
    Duration::from_nanos(nanos).as_secs_f64()
}

/// The admission state of one endpoint.
#[derive(Debug)]
pub(crate) struct Window {
    /// The window (exchanges admitted at once). HTTP endpoints keep a fixed one.
    cwnd: u32,
    /// Slow-start threshold.
    ssthresh: u32,
    /// Answers counted towards the next additive step.
    grown: u32,
    /// Places handed over by cancelled announces to the `stopped` that replaces them.
    handed: u32,
    /// Exchanges admitted and not yet dropped, and those waiting (ordered: same seed, same
    /// order).
    places: Places,
    /// Datagrams sent and not yet answered or declared lost, by send number: when sent, and whose.
    sends: SendLog,
    next_send: u64,
    /// The round of sends being judged: answers and losses counted since it opened, and the
    /// first send number of the next round (an answer to it closes this one).
    round_answered: u32,
    round_lost: u32,
    round_end: u64,
    /// The shortest round trip measured, and the smoothed excess of round trips over it (how
    /// much answers may be reordered), in nanoseconds: every send and answer works with them,
    /// and `Duration`'s checked arithmetic costs more than the integers'.
    min_rtt: Option<u64>,
    rtt_excess: u64,
    /// When the last answer came.
    last_answer: Option<Instant>,
    /// The pacing clock (GCRA theoretical arrival time) of the optional rate ceiling and of the
    /// pacing rate set after heavy loss.
    tat: Option<Instant>,
    /// The open batch of paced sends (see [`Window::pace`]), for the next call only: it goes out
    /// this many nanoseconds before `tat`; 0 for none. A `u32` fits the struct's padding (the
    /// idle `Announce`'s footprint is counted); a batch further off than 4 s is not batched.
    batch_before_tat: u32,
    /// Answers a second the tracker was seen to take, while pacing at it (see `close_round`).
    rate: Option<u32>,
    /// When the round being judged opened.
    round_start: Option<Instant>,
    /// The next free slot for a repeat (see [`Window::repeat_at`]).
    repeat_tat: Option<Instant>,
    /// Datagrams declared lost and sent again early, and retransmission timeouts (for tests and
    /// diagnostics).
    pub(crate) lost: u64,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            cwnd: INITIAL_WINDOW,
            ssthresh: u32::MAX,
            grown: 0,
            handed: 0,
            places: Places::default(),
            sends: SendLog::default(),
            next_send: 0,
            round_answered: 0,
            round_lost: 0,
            round_end: 0,
            min_rtt: None,
            rtt_excess: 0,
            last_answer: None,
            tat: None,
            batch_before_tat: 0,
            rate: None,
            round_start: None,
            repeat_tat: None,
            lost: 0,
        }
    }
}

impl Window {
    /// The places the window has now: the congestion window within the cap for UDP, the fixed
    /// per-host cap for HTTP.
    fn limit(&self, cfg: &Config, udp: bool) -> u32 {
        if udp {
            self.cwnd.min(cfg.tracker_window).max(1)
        } else {
            cfg.http_per_host.max(1)
        }
    }

    /// An exchange asks for a place: admitted at once when the window has room and nobody waits
    /// ahead of it, queued otherwise.
    pub(crate) fn admit(
        &mut self,
        cfg: &Config,
        udp: bool,
        torrent: TorrentId,
        urgent: bool,
    ) -> Place {
        if urgent && self.handed > 0 {
            self.handed -= 1;
            return Place::Admitted;
        }
        let limit = self.limit(cfg, udp);
        self.places.admit(limit, torrent, urgent)
    }

    /// A waiting regular exchange becomes urgent (the user asked for it now): it moves ahead of
    /// every regular one. Returns its new ticket.
    pub(crate) fn promote(&mut self, ticket: Ticket) -> Ticket {
        self.places.promote(ticket)
    }

    /// The ticket was admitted by a drain (it left the queue).
    pub(crate) fn admitted(&self, ticket: Ticket) -> bool {
        self.places.admitted(ticket)
    }

    /// An exchange is dropped (finished, cancelled, or its owner removed): it leaves the queue, or
    /// gives its place back and what it had in flight stops counting; the next in line are
    /// admitted.
    ///
    /// `hand_over`: the place goes to the urgent exchange (a `stopped`) its owner starts next on
    /// this endpoint instead of to the queue, so a cancelled announce's `stopped` goes out at once.
    pub(crate) fn leave(
        &mut self,
        (cfg, udp): (&Config, bool),
        place: Place,
        send: Option<u64>,
        hand_over: bool,
        woken: &mut Vec<TorrentId>,
    ) {
        if self.places.dequeue(place) {
            return;
        }
        if let Some(s) = send {
            self.sends.remove(&s);
        }
        if hand_over {
            self.handed += 1;
            return;
        }
        self.places.release(1);
        self.drain(cfg, udp, woken);
    }

    /// Places handed over and not taken (the `stopped` could not start) are given back.
    pub(crate) fn settle(&mut self, cfg: &Config, udp: bool, woken: &mut Vec<TorrentId>) {
        if self.handed > 0 {
            self.places.release(std::mem::take(&mut self.handed));
            self.drain(cfg, udp, woken);
        }
    }

    /// Admits waiting exchanges while the window has room; their torrents are woken to send.
    /// (Every answer and every exchange that ends calls it, and mostly nobody waits.)
    #[inline]
    fn drain(&mut self, cfg: &Config, udp: bool, woken: &mut Vec<TorrentId>) {
        if self.places.waiting() {
            self.places.drain(self.limit(cfg, udp), woken);
        }
    }

    /// When an admitted exchange may send: under the optional rate ceiling
    /// ([`Config::tracker_rate`]) and the rate the tracker was seen to take after heavy loss;
    /// `now` without either.
    ///
    /// A send the clock makes wait goes out with the next one ([`PACED_BATCH`] at a time), when
    /// the last of them may go: the caller's loop wakes once per batch, not once per datagram, and
    /// the rate is the same, since no send goes before its own slot.
    #[inline]
    pub(crate) fn pace(&mut self, now: Instant, cfg: &Config) -> Instant {
        if cfg.tracker_rate.is_none() && self.rate.is_none() {
            // No clock to wait for: no batch stays open (as `pace_slot` would leave it).
            self.batch_before_tat = 0;
            return now;
        }
        self.pace_slot(now, cfg, true)
    }

    /// [`Window::pace`], with the sends that wait released together (`batch`) or each at its own
    /// slot.
    fn pace_slot(&mut self, now: Instant, cfg: &Config, batch: bool) -> Instant {
        // The open batch, if the last call opened or joined it.
        let open = std::mem::take(&mut self.batch_before_tat);
        let release = self
            .tat
            .filter(|_| open > 0)
            .and_then(|tat| tat.checked_sub(Duration::from_nanos(u64::from(open))));
        let (rate, burst) = match (cfg.tracker_rate, self.rate) {
            (None, None) => return now,
            (Some(c), None) => (c, cfg.tracker_burst),
            (None, Some(r)) => (r, PACED_BURST),
            (Some(c), Some(r)) if c <= r => (c, cfg.tracker_burst),
            (Some(_), Some(r)) => (r, PACED_BURST),
        };
        let step = Duration::from_secs(1) / rate.max(1);
        let tolerance = step.saturating_mul(burst.saturating_sub(1));
        let t = self.tat.map_or(now, |t| t.max(now));
        let earliest = t
            .checked_sub(tolerance)
            .map_or(now, |earliest| earliest.max(now));
        let tat = later(t.max(earliest), step);
        self.tat = Some(tat);
        if earliest <= now || !batch {
            return earliest;
        }
        // Joins the open batch if its slot comes by then, else opens one that goes when the
        // last of `PACED_BATCH` consecutive slots comes.
        let r = match release {
            Some(r) if earliest <= r => r,
            _ => later(
                earliest,
                step.saturating_mul(burst.clamp(1, PACED_BATCH) - 1),
            ),
        };
        self.batch_before_tat = tat
            .checked_duration_since(r)
            .and_then(|d| u32::try_from(d.as_nanos()).ok())
            .unwrap_or(0);
        r
    }

    /// When an exchange may send again a datagram the window saw lost, its `repeats`-th such
    /// repeat (from 1): paced like a first send (see [`Window::pace`]: a tracker that drops what
    /// exceeds its rate would drop a burst of repeats too), and backed off as TCP backs off its
    /// retransmissions: the first at once, each later one (2^(n-1) - 1) probe timeouts later, so
    /// a torrent's repeats do not all meet the same burst of loss. A repeat takes its own slot,
    /// not a place in a batch of first sends (see [`Window::pace`]).
    pub(crate) fn repeat_at(&mut self, now: Instant, cfg: &Config, repeats: u32) -> Instant {
        let paced = self.pace_slot(now, cfg, false);
        let backoff = self.probe_timeout(0).map_or(Duration::ZERO, |p| {
            p.saturating_mul((1u32 << repeats.saturating_sub(1).min(MAX_PROBE_BACKOFF)) - 1)
        });
        // Repeats declared lost together would go out together, every time, and meet a rate
        // limit in the same order: the tail of each burst lost again. They are spread at the
        // window's own rate (a window per round trip).
        let at = paced.max(later(now, backoff));
        let spacing = self.min_rtt.map_or(Duration::ZERO, |m| {
            Duration::from_nanos(m) / self.cwnd.max(1)
        });
        let slot = self.repeat_tat.map_or(at, |t| t.max(at));
        self.repeat_tat = Some(later(slot, spacing));
        slot
    }

    /// A datagram goes out for `torrent` (replacing `previous`, its last one, if still counted):
    /// its send number.
    pub(crate) fn sent(&mut self, now: Instant, torrent: TorrentId, previous: Option<u64>) -> u64 {
        if let Some(p) = previous {
            self.sends.remove(&p);
        }
        let n = self.next_send;
        self.next_send += 1;
        self.sends.insert(n, (now, torrent));
        n
    }

    /// How long after its send a datagram still unanswered is taken as lost (TCP's probe timeout,
    /// RFC 8985: twice the round trip and its spread, at least [`MIN_PROBE`]), doubled for each
    /// of the exchange's `repeats` already sent early (TCP's backoff: a datagram lost again and
    /// again met a loss burst, and repeats close together meet the same burst); `None` before any
    /// round trip was measured.
    pub(crate) fn probe_timeout(&self, repeats: u32) -> Option<Duration> {
        // In nanoseconds (saturating): Duration's checked arithmetic costs a division per call,
        // and this runs on every send.
        let m = self.min_rtt?;
        let probe = m
            .saturating_mul(2)
            .saturating_add(self.rtt_excess.saturating_mul(4));
        let base = Duration::from_nanos(probe).max(MIN_PROBE);
        Some(base.saturating_mul(1 << repeats.min(MAX_PROBE_BACKOFF)))
    }

    /// Datagram `send` stayed unanswered for the probe timeout: it is lost (one more loss of the
    /// round), and its exchange sends it again.
    pub(crate) fn probe_lost(&mut self, now: Instant, send: u64) {
        if self.sends.remove(&send).is_some() {
            self.lost += 1;
            self.round_lost += 1;
            let judged = self.round_answered + self.round_lost;
            if judged >= JUDGED.max(self.cwnd) {
                self.close_round(now);
            }
        }
    }

    /// The exchange's last datagram stops counting (it joined another request's connect).
    pub(crate) fn forget_send(&mut self, send: u64) {
        self.sends.remove(&send);
    }

    /// The datagram is still awaited (not answered, not declared lost).
    pub(crate) fn outstanding(&self, send: u64) -> bool {
        self.sends.contains_key(&send)
    }

    /// Datagram `send` was answered: the window grows, and datagrams sent well before it that are
    /// still unanswered are declared lost (their torrents are woken to send them again).
    /// `sample`: the datagram was sent once, so its round trip is measured (Karn's rule).
    pub(crate) fn answered(
        &mut self,
        (now, cfg): (Instant, &Config),
        send: u64,
        sample: bool,
        woken: &mut Vec<TorrentId>,
    ) {
        let Some((sent_at, _)) = self.sends.remove(&send) else {
            return;
        };
        self.last_answer = Some(now);
        if sample {
            let rtt = nanos(now.saturating_duration_since(sent_at));
            let min = self.min_rtt.map_or(rtt, |m| m.min(rtt));
            self.min_rtt = Some(min);
            // rttvar-like smoothing (RFC 6298's 1/4) of how far round trips exceed the shortest.
            let excess = rtt - min;
            self.rtt_excess = self.rtt_excess.saturating_mul(3).saturating_add(excess) / 4;
        }
        // A pacing rate the window could express grows by 1/1024 per answer, at least 1 (60 %
        // a second at 500 answers a second); a finer one grows once a round (`close_round`).
        if let Some(r) = self.rate
            && !self.finely_paced(r)
        {
            self.rate = Some(r.saturating_add((r / 1024).max(1)));
        }
        // Additive increase: one per answer in slow start, one per window's worth above it.
        if self.cwnd < self.ssthresh {
            self.cwnd += 1;
        } else {
            self.grown += 1;
            if self.grown >= self.cwnd {
                self.grown = 0;
                self.cwnd += 1;
            }
        }
        self.cwnd = self.cwnd.min(cfg.tracker_window.max(MIN_WINDOW));
        self.round_answered += 1;
        // RACK: what was sent a reorder window before this one and is still awaited is lost. (The
        // window is worked out only when an earlier datagram is awaited: a torrent alone on its
        // tracker has none.)
        let mut reorder = None;
        while let Some((&n, &(at, torrent))) = self.sends.first_key_value() {
            if n >= send {
                break;
            }
            let reorder = *reorder.get_or_insert_with(|| {
                self.min_rtt.map_or(DEFAULT_REORDER, |m| {
                    Duration::from_nanos((m / 4).saturating_add(self.rtt_excess.saturating_mul(2)))
                })
            });
            if later(at, reorder) > sent_at {
                break;
            }
            self.sends.remove(&n);
            self.lost += 1;
            self.round_lost += 1;
            woken.push(torrent);
        }
        let judged = self.round_answered + self.round_lost;
        // In slow start a round is judged as soon as it ends: the window doubles per round trip,
        // so waiting would overrun the tracker twice over.
        let enough = if self.cwnd < self.ssthresh {
            judged >= 8
        } else {
            judged >= JUDGED.max(self.cwnd)
        };
        if send >= self.round_end && enough {
            self.close_round(now);
        }
        self.drain(cfg, true, woken);
    }

    /// A round trip passed since the round opened and at least [`JUDGED`] (or a window's worth
    /// of) datagrams were answered or lost: when more than an eighth of them were lost, the
    /// tracker is past its capacity and the window halves. A loss now and then, which any path
    /// has, does not shrink it: TCP's halving on every loss keeps the window at a few datagrams
    /// on a path that loses 5 % (measured in the simulation: 18 announces a second).
    ///
    /// A window cannot slow a tracker below one datagram per round trip, and on a fast path (a
    /// loopback tracker that answers 500 a second: 0.1 ms round trips) that is far too fast. So a
    /// cut also paces: the rate the round's answers came at becomes a pacing rate (BBR's
    /// delivery rate). It grows by 1/1024 per answer (at least 1), and is dropped once it is
    /// twice what the window allows anyway.
    ///
    /// Where the rate alone paces ([`Window::finely_paced`]: on loopback, 500 a second is a
    /// twentieth of a datagram per round trip), that growth overran a tracker that drops what
    /// exceeds its rate by up to an eighth before a round cut it: 10 % of the datagrams were
    /// dropped (measured in tests/window.rs). There a round that lost more than 1/[`HOLD_LOSS`]
    /// brings the rate to 1/[`HOLD_LOSS`] above what got through (at most an eighth down per
    /// round, since a round's delivery rate is noisy), and only a (nearly) clean round raises it
    /// (see [`RATE_PROBE`]): 5.4 % dropped. On a path with a longer round trip the window does the
    /// work and the rate grows as before: there a path that loses datagrams at random would be
    /// mistaken for a rate limit, and the rate would sink with every lossy round.
    fn close_round(&mut self, now: Instant) {
        let judged = self.round_answered + self.round_lost;
        let took = self
            .round_start
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
            .max(Duration::from_millis(1));
        self.round_start = Some(now);
        // An `as` cast saturates; at least 10 a second (a round that sat through a 15 s timeout
        // says little about the rate).
        let delivered = ((f64::from(self.round_answered) / took.as_secs_f64()) as u32).max(10);
        if self.round_lost > 0 && self.round_lost * 8 > judged {
            self.rate = Some(delivered);
            // What got through is what the tracker takes per round trip: the window goes there
            // (at least 15 % down, as CUBIC's 0.7 to Reno's 0.5 do less gently).
            let through = u64::from(self.cwnd) * u64::from(self.round_answered) / u64::from(judged);
            let through = u32::try_from(through).unwrap_or(u32::MAX);
            self.cwnd = through.min(self.cwnd * 85 / 100).max(MIN_WINDOW);
            self.ssthresh = self.cwnd;
            self.grown = 0;
        } else if let Some(r) = self.rate {
            let r = if self.finely_paced(r) {
                let a = u64::from(self.round_answered);
                if self.round_lost * HOLD_LOSS > judged {
                    // Some loss: the rate goes to 1/32 above what got through (at most an
                    // eighth down: a round's delivery rate is noisy).
                    r.min(delivered.saturating_add(delivered / HOLD_LOSS))
                        .max(r - r / 8)
                } else {
                    // A (nearly) clean round: the rate probes up by 1/2048 of itself and 1/8
                    // per answer (2.3 % a round of 32 at 500 a second).
                    let step = u64::from(r) * a / RATE_PROBE + a / 8;
                    r.saturating_add(u32::try_from(step).unwrap_or(u32::MAX))
                }
            } else {
                r
            };
            let window_rate = self.min_rtt.map_or(u32::MAX, |m| {
                (f64::from(self.cwnd) / secs(m).max(1e-6)) as u32
            });
            self.rate = (r < window_rate.saturating_mul(2)).then_some(r);
        }
        self.round_answered = 0;
        self.round_lost = 0;
        self.round_end = self.next_send;
    }

    /// Datagram `send` went unanswered until BEP 15's retransmission timeout. When nothing at all
    /// was answered since it went out, the tracker may be overloaded or gone: the window drops to
    /// its least. Otherwise it is one more loss of the round.
    pub(crate) fn timed_out(&mut self, send: u64) {
        let Some((sent_at, _)) = self.sends.remove(&send) else {
            return;
        };
        self.lost += 1;
        if self.last_answer.is_none_or(|a| a < sent_at) {
            self.ssthresh = (self.cwnd / 2).max(MIN_WINDOW);
            self.cwnd = MIN_WINDOW;
            self.grown = 0;
            self.round_answered = 0;
            self.round_lost = 0;
            self.round_end = self.next_send;
        } else {
            self.round_lost += 1;
        }
    }

    /// At `rate`, a round trip carries so few datagrams (less than [`PACED_PER_RTT`]) that even
    /// the smallest window would send several times faster: the rate alone paces (a loopback or
    /// LAN tracker that drops what exceeds its rate), and probes gently.
    fn finely_paced(&self, rate: u32) -> bool {
        self.min_rtt
            .is_some_and(|m| f64::from(rate) * secs(m) < PACED_PER_RTT)
    }

    /// The tracker answered a datagram after `t` (the window's send log saw it).
    pub(crate) fn answered_since(&self, t: Instant) -> bool {
        self.last_answer.is_some_and(|a| a > t)
    }

    /// Exchanges admitted and not yet dropped.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u32 {
        self.places.in_flight()
    }

    /// The current window.
    #[cfg(test)]
    pub(crate) fn cwnd(&self) -> u32 {
        self.cwnd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_origin::test_origin;

    fn cfg() -> Config {
        Config::default()
    }

    #[test]
    fn places_come_free_to_urgent_waiters_first_then_in_arrival_order() {
        let cfg = Config {
            tracker_window: 2,
            ..cfg()
        };
        let mut w = Window::default();
        let t = |n| TorrentId(n);
        assert_eq!(w.admit(&cfg, true, t(1), false), Place::Admitted);
        assert_eq!(w.admit(&cfg, true, t(2), false), Place::Admitted);
        let Place::Queued(a) = w.admit(&cfg, true, t(3), false) else {
            panic!()
        };
        let Place::Queued(b) = w.admit(&cfg, true, t(4), true) else {
            panic!()
        };
        let Place::Queued(c) = w.admit(&cfg, true, t(5), false) else {
            panic!()
        };
        let mut woken = Vec::new();
        w.leave((&cfg, true), Place::Admitted, None, false, &mut woken);
        assert_eq!(woken, [t(4)]);
        assert!(w.admitted(b) && !w.admitted(a));
        // A cancelled waiter just leaves the queue: nobody gets a second place.
        w.leave((&cfg, true), Place::Queued(a), None, false, &mut woken);
        assert_eq!(w.in_flight(), 2);
        w.leave((&cfg, true), Place::Admitted, None, false, &mut woken);
        assert_eq!(woken, [t(4), t(5)]);
        assert!(w.admitted(c));
        assert_eq!(w.in_flight(), 2);
    }

    #[test]
    fn paced_sends_that_wait_go_out_two_at_a_time_never_before_their_slot() {
        let ms = Duration::from_millis;
        let cfg = Config {
            tracker_rate: Some(1000),
            tracker_burst: 4,
            ..cfg()
        };
        let now = test_origin();
        let mut w = Window::default();
        let slots: Vec<Duration> = (0..8).map(|_| w.pace(now, &cfg) - now).collect();
        // The burst at once; then each send's own slot would be 1, 2, 3, 4 ms: two go together
        // at the later slot of the two, so the loop wakes every 2 ms, not every 1 ms.
        let z = Duration::ZERO;
        assert_eq!(slots, [z, z, z, z, ms(2), ms(2), ms(4), ms(4)]);
        // The rate is the same: 1,000 more sends end where unbatched ones would (1 s on).
        let last = (0..1000).map(|_| w.pace(now, &cfg)).last().unwrap();
        assert_eq!(last - now, ms(1004));
        // A burst of one allows no batch: every send at its own slot.
        let strict = Config {
            tracker_burst: 1,
            ..cfg
        };
        let mut w = Window::default();
        let slots: Vec<Duration> = (0..4).map(|_| w.pace(now, &strict) - now).collect();
        assert_eq!(slots, [z, ms(1), ms(2), ms(3)]);
    }

    #[test]
    fn heavy_loss_is_seen_before_the_timeout_and_cuts_the_window() {
        let cfg = cfg();
        let now = test_origin();
        let rtt = Duration::from_millis(40);
        let mut w = Window::default();
        let mut woken = Vec::new();
        // 32 sends, all answered one round trip later: slow start grows the window by 32.
        let sends: Vec<u64> = (0..32).map(|_| w.sent(now, TorrentId(0), None)).collect();
        for &s in &sends {
            w.answered((now + rtt, &cfg), s, true, &mut woken);
        }
        assert_eq!(w.cwnd(), INITIAL_WINDOW + 32);
        // Next round: 48 sent, the first 24 never answered (the tracker drops half); what is
        // sent one round trip later is answered, which shows the 24 lost.
        let at = now + rtt;
        let sends: Vec<u64> = (0..48).map(|_| w.sent(at, TorrentId(0), None)).collect();
        for &s in &sends[24..] {
            w.answered((at + rtt, &cfg), s, true, &mut woken);
        }
        assert_eq!(w.lost, 0);
        let next = w.sent(at + rtt, TorrentId(1), None);
        w.answered((at + rtt * 2, &cfg), next, true, &mut woken);
        assert_eq!(w.lost, 24);
        assert_eq!(
            woken.len(),
            24,
            "the lost datagrams' torrents are woken to send again"
        );
        // Half got through: the window goes to about what the tracker took.
        assert!(w.cwnd() <= 40, "{}", w.cwnd());
    }
}
