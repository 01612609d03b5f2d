//! A seeded resolver for the simulation: per name, answers that take a while, fail, never come,
//! carry several A and AAAA records, change over time, or turn internal. It checks the machine's
//! DNS invariants as queries come: at most one query per name in flight, no query for a name whose
//! answer or failure is still cached, and (in the client simulation) nothing sent to an internal
//! address a public name resolved to.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bt_tracker::announce::is_internal_address;
use bt_tracker::announce::{DnsAnswer, DnsConfig, DnsError, DnsQuery, DnsQueryId};

/// How one name resolves.
#[derive(Debug, Clone)]
pub struct NameModel {
    /// How long an answer takes.
    pub delay: Duration,
    /// The answers, each in force from this long after the epoch on (answers that change). Empty
    /// addresses: the resolver fails (`NotFound`).
    pub answers: Vec<(Duration, Vec<IpAddr>)>,
    /// The TTL given with each answer.
    pub ttl: Option<Duration>,
    /// The resolver never answers.
    pub silent: bool,
}

impl NameModel {
    /// Answers `addresses` after 50 ms, with no TTL.
    pub fn resolves(addresses: Vec<IpAddr>) -> Self {
        NameModel {
            delay: Duration::from_millis(50),
            answers: vec![(Duration::ZERO, addresses)],
            ttl: None,
            silent: false,
        }
    }

    /// Fails every query after 50 ms.
    pub fn dead() -> Self {
        Self::resolves(Vec::new())
    }

    fn answer_at(&self, since_epoch: Duration) -> &[IpAddr] {
        self.answers
            .iter()
            .rev()
            .find(|(from, _)| *from <= since_epoch)
            .map_or(&[][..], |(_, a)| a)
    }
}

/// The resolver and its bookkeeping.
#[derive(Debug, Default)]
pub struct DnsModel {
    pub names: HashMap<String, NameModel>,
    /// Answers on their way, by delivery time.
    queue: BTreeMap<(Instant, u64), (DnsQueryId, Result<DnsAnswer, DnsError>)>,
    seq: u64,
    /// The query in flight per name and its deadline.
    in_flight: HashMap<String, (DnsQueryId, Instant)>,
    /// Until when each name's answer (or failure) is cached at the least.
    cached_until: HashMap<String, Instant>,
    /// Every query: when, and for which name.
    pub asked: Vec<(Instant, String)>,
    /// Addresses a name answered with that a public name may not lead to.
    pub internal_answers: Vec<IpAddr>,
    /// Broken invariants.
    pub violations: Vec<String>,
}

impl DnsModel {
    /// The machine asks for a name: the invariants are checked and the answer scheduled.
    pub fn ask(&mut self, now: Instant, epoch: Instant, cfg: &DnsConfig, query: DnsQuery) {
        let host = query.host.clone();
        self.asked.push((now, host.clone()));
        if let Some(&(id, deadline)) = self.in_flight.get(&host)
            && deadline > now
        {
            self.violations.push(format!(
                "{host}: query {:?} while {id:?} is in flight",
                query.id
            ));
        }
        if let Some(&until) = self.cached_until.get(&host)
            && until > now
        {
            self.violations
                .push(format!("{host}: asked again while cached until {until:?}"));
        }
        self.in_flight
            .insert(host.clone(), (query.id, query.deadline));
        let Some(model) = self.names.get(&host) else {
            self.schedule(now, query.id, Err(DnsError::NotFound));
            return;
        };
        if model.silent {
            return;
        }
        let at = now + model.delay;
        let addresses = model.answer_at(at.duration_since(epoch)).to_vec();
        // What the cache must keep at the least, counted from the answer.
        let keep = if addresses.is_empty() {
            cfg.failure_ttl
        } else {
            model
                .ttl
                .unwrap_or(cfg.default_ttl)
                .clamp(cfg.min_ttl, cfg.max_ttl)
        };
        if at < query.deadline {
            self.cached_until.insert(host.clone(), at + keep);
        }
        let public = host != "localhost" && !cfg.allow_internal;
        if public {
            self.internal_answers
                .extend(addresses.iter().filter(|&&ip| is_internal_address(ip)));
        }
        let result = if addresses.is_empty() {
            Err(DnsError::NotFound)
        } else {
            Ok(DnsAnswer {
                addresses,
                ttl: model.ttl,
            })
        };
        self.schedule(at, query.id, result);
    }

    fn schedule(&mut self, at: Instant, id: DnsQueryId, result: Result<DnsAnswer, DnsError>) {
        self.seq += 1;
        self.queue.insert((at, self.seq), (id, result));
    }

    /// When the next answer arrives.
    pub fn next_answer(&self) -> Option<Instant> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    /// The next answer due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(DnsQueryId, Result<DnsAnswer, DnsError>)> {
        let (&(at, _), _) = self.queue.first_key_value()?;
        if at > now {
            return None;
        }
        let (_, (id, result)) = self.queue.pop_first()?;
        self.in_flight.retain(|_, (q, _)| *q != id);
        Some((id, result))
    }

    /// Queries made for `host`.
    pub fn queries_for(&self, host: &str) -> usize {
        self.asked.iter().filter(|(_, h)| h == host).count()
    }
}
