//! Answers the machine's DNS queries off the loop thread: `std::net::ToSocketAddrs` (the system's
//! getaddrinfo, which blocks) runs on a resolver thread, and each answer goes back through a
//! callback that hands it to the loop (a channel, plus a `mio::Waker` for a poll loop). The loop
//! never blocks on a lookup; one thread serves every query, and the machine asks for each name
//! once however many torrents use it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use bt_tracker::announce::{DnsAnswer, DnsError, DnsQuery, DnsQueryId};

/// What a lookup gives the machine.
pub type DnsResult = Result<DnsAnswer, DnsError>;

/// Looks `host` up with the system resolver (blocking). getaddrinfo gives no TTL, so the machine
/// keeps the answer for its default lifetime.
pub fn lookup(host: &str) -> DnsResult {
    answer((host, 0).to_socket_addrs())
}

/// What a system lookup's outcome (std's or tokio's `lookup_host`) tells the machine: the
/// addresses, or a failure.
pub fn answer(found: std::io::Result<impl Iterator<Item = SocketAddr>>) -> DnsResult {
    match found {
        Ok(addrs) => {
            let addresses: Vec<_> = addrs.map(|a| a.ip()).collect();
            if addresses.is_empty() {
                Err(DnsError::NotFound)
            } else {
                Ok(DnsAnswer {
                    addresses,
                    ttl: None,
                })
            }
        }
        // std does not say which failure it was: a name that does not exist and a network that
        // is down look alike here.
        Err(_) => Err(DnsError::Failed),
    }
}

/// A resolver thread: [`ask`](Self::ask) queues a query and returns at once; the answer comes
/// back through the callback given to [`new`](Self::new), on the resolver thread.
#[derive(Debug)]
pub struct Resolver {
    queries: Option<Sender<DnsQuery>>,
    thread: Option<JoinHandle<()>>,
}

impl Resolver {
    /// Starts the thread; `answer` is called there with each query's id and result.
    pub fn new(answer: impl Fn(DnsQueryId, DnsResult) + Send + 'static) -> Self {
        let (tx, rx) = channel::<DnsQuery>();
        let thread = std::thread::spawn(move || {
            while let Ok(query) = rx.recv() {
                answer(query.id, lookup(&query.host));
            }
        });
        Resolver {
            queries: Some(tx),
            thread: Some(thread),
        }
    }

    /// Queues `query` for the thread.
    pub fn ask(&self, query: DnsQuery) {
        if let Some(tx) = &self.queries {
            let _ = tx.send(query);
        }
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        // Closing the channel ends the thread after the lookup it is in (which the system
        // resolver bounds). It is not joined, so a stuck lookup cannot hang the program's exit.
        self.queries = None;
        drop(self.thread.take());
    }
}
