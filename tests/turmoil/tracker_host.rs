//! The turmoil host named "tracker": the crate's sans-IO [`Tracker`] on a `turmoil::net`
//! UDP socket (port 6969) and TCP listener (port 8080). The machine is created when the host
//! starts, with the host's virtual time and a seeded RNG, and shared with the test through `Rc`
//! (turmoil runs every host on one thread), so the test reads its swarms after the run.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;

use bt_tracker::tracker::{Behaviour, Tracker, TrackerConfig};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream, UdpSocket};

use super::virtual_now;

/// The tracker's UDP port.
pub const UDP_PORT: u16 = 6969;
/// The tracker's HTTP port.
pub const HTTP_PORT: u16 = 8080;
/// The re-announce interval the tracker gives, in seconds: the client's floor (120 s), so a
/// run sees a regular announce after the `started` one within a few simulated minutes.
pub const INTERVAL: u32 = 120;
/// The most bytes of an HTTP request head read (a request target of the client is far shorter).
const MAX_HEAD: usize = 8 * 1024;

/// The machine, once the host started.
pub type Shared = Rc<RefCell<Option<Tracker>>>;

/// The host's software: answers datagrams on the UDP socket and serves each accepted TCP
/// connection in a task of its own, both through the one machine.
pub async fn serve(seed: u64, shared: Shared) -> turmoil::Result {
    let mut config = TrackerConfig::default();
    config.interval = INTERVAL;
    config.min_interval = Some(INTERVAL);
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    let machine = Tracker::new(config, Behaviour::honest(), &mut rng, virtual_now());
    *shared.borrow_mut() = Some(machine);
    let any: IpAddr = Ipv4Addr::UNSPECIFIED.into();
    let socket = UdpSocket::bind((any, UDP_PORT)).await?;
    let listener = TcpListener::bind((any, HTTP_PORT)).await?;
    let (mut datagram, mut reply) = (vec![0u8; 65_536], Vec::new());
    loop {
        tokio::select! {
            biased;
            received = socket.recv_from(&mut datagram) => {
                let (n, from) = received?;
                let mut guard = shared.borrow_mut();
                let Some(tracker) = guard.as_mut() else { continue };
                tracker.handle_datagram(virtual_now(), from, &datagram[..n]);
                // An honest tracker answers at once: every reply is due now.
                while let Some(out) = tracker.poll_transmit(&mut reply) {
                    let _ = socket.try_send_to(&reply[..out.len], out.to);
                }
            }
            accepted = listener.accept() => {
                let (stream, from) = accepted?;
                tokio::task::spawn_local(answer_http(stream, from, Rc::clone(&shared)));
            }
        }
    }
}

/// Reads one request head, answers it through the machine, closes (`Connection: close`). A
/// connection that breaks midway is dropped, as a real server drops it.
async fn answer_http(mut stream: TcpStream, from: std::net::SocketAddr, shared: Shared) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) if head.len() + n > MAX_HEAD => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    // "GET <target> HTTP/1.1": the target is the second word of the request line.
    let Some(target) = head.split(|b| *b == b' ').nth(1).map(<[u8]>::to_vec) else {
        return;
    };
    let answer = {
        let mut guard = shared.borrow_mut();
        let Some(tracker) = guard.as_mut() else {
            return;
        };
        tracker.handle_http(virtual_now(), from, &target)
    };
    let Some(answer) = answer else { return };
    let mut out = Vec::new();
    answer.write_to(&mut out);
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
}
