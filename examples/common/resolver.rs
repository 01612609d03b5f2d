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
        Err(e) => Err(error_of(&e)),
    }
}

/// The texts getaddrinfo gives (through `gai_strerror`) for "this name does not exist" and "this
/// name has no address", which std and tokio put in the `io::Error`'s message ("failed to lookup
/// address information: ..."): glibc's EAI_NONAME and EAI_NODATA, macOS's and the BSDs', musl's.
/// Lowercase.
const NOT_FOUND_TEXTS: [&str; 6] = [
    "name or service not known",                    // glibc EAI_NONAME
    "no address associated with hostname",          // glibc EAI_NODATA
    "nodename nor servname provided, or not known", // macOS, BSD EAI_NONAME
    "no address associated with nodename",          // macOS, BSD EAI_NODATA
    "name does not resolve",                        // musl EAI_NONAME
    "name has no usable address",                   // musl EAI_NODATA
];

/// Which failure a system lookup's error was. std's `ToSocketAddrs` (and tokio's `lookup_host`,
/// which runs it) gives no error kind for a getaddrinfo failure, only its text; Windows gives
/// the Winsock error code. Only an answer that says the name does not exist or has no address is
/// [`DnsError::NotFound`]; everything else (a temporary failure, no network, an unknown text) is
/// [`DnsError::Failed`], so a failed resolver is never reported as a missing name.
pub fn error_of(e: &std::io::Error) -> DnsError {
    // WSAHOST_NOT_FOUND and WSANO_DATA.
    if cfg!(windows) && matches!(e.raw_os_error(), Some(11001 | 11004)) {
        return DnsError::NotFound;
    }
    // An EAI_SYSTEM failure carries the OS error, whose text is strerror's, not gai_strerror's.
    if e.raw_os_error().is_some() {
        return DnsError::Failed;
    }
    let text = e.to_string().to_ascii_lowercase();
    if NOT_FOUND_TEXTS.iter().any(|t| text.contains(t)) {
        DnsError::NotFound
    } else {
        DnsError::Failed
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
