//! Name lookups off the caller's thread: a loop that must never wait (a game's tick, say) asks
//! [`LookupThread::lookup`] and collects answers with [`LookupThread::try_recv`] on a later tick.
//! One thread does the system's blocking lookups in order; it ends when the handle is dropped
//! (after the lookup in progress, which nobody waits for).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{Receiver, Sender, channel};

use bt_tracker::announce::TransportError;

use super::http::TransportFailure;

/// A name to look up: host and port.
pub type Name = (String, u16);

/// A lookup thread's two channels.
#[derive(Debug)]
pub struct LookupThread {
    ask: Sender<Name>,
    answers: Receiver<(Name, Result<Vec<SocketAddr>, TransportFailure>)>,
}

impl LookupThread {
    /// Starts the thread.
    pub fn start() -> Self {
        let (ask, questions) = channel::<Name>();
        let (tell, answers) = channel();
        std::thread::spawn(move || {
            for (host, port) in questions {
                let found = lookup(&host, port);
                if tell.send(((host, port), found)).is_err() {
                    return;
                }
            }
        });
        LookupThread { ask, answers }
    }

    /// Queues a lookup; its answer comes out of [`try_recv`](Self::try_recv) later.
    pub fn lookup(&self, host: &str, port: u16) {
        let _ = self.ask.send((host.to_owned(), port));
    }

    /// An answer, when one is ready; never waits.
    pub fn try_recv(&self) -> Option<(Name, Result<Vec<SocketAddr>, TransportFailure>)> {
        self.answers.try_recv().ok()
    }
}

/// The system's lookup (blocking), with an empty answer as an error.
fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, TransportFailure> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| TransportFailure::new(TransportError::Dns, format!("{host}: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(TransportFailure::new(
            TransportError::Dns,
            format!("{host}: no address"),
        ));
    }
    Ok(addrs)
}
