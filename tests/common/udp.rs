//! Driving a machine's UDP side by hand: the datagrams it hands out, and canned BEP 15 replies
//! to them.

use bt_tracker::announce::Transmit;
use bt_tracker::udp::{ConnectResponse, Request};

/// The datagrams waiting in a machine (`|b| machine.poll_transmit(b)`), with their bytes.
pub fn datagrams(
    mut poll: impl FnMut(&mut Vec<u8>) -> Option<Transmit>,
) -> Vec<(Transmit, Vec<u8>)> {
    let mut buf = Vec::new();
    std::iter::from_fn(|| poll(&mut buf).map(|t| (t, buf[..t.len].to_vec()))).collect()
}

/// Whether `bytes` is a connect request.
pub fn is_connect(bytes: &[u8]) -> bool {
    matches!(Request::parse(bytes), Ok(Request::Connect(_)))
}

/// The connect reply to connect `request`, giving connection id `connection_id`.
pub fn connect_reply_with(request: &[u8], connection_id: u64) -> Vec<u8> {
    let Ok(Request::Connect(c)) = Request::parse(request) else {
        panic!("not a connect: {request:?}")
    };
    let mut out = [0u8; 16];
    let n = ConnectResponse {
        transaction_id: c.transaction_id,
        connection_id,
    }
    .encode(&mut out)
    .expect("16 bytes");
    out[..n].to_vec()
}

/// The connect reply to connect `request`, giving connection id 0x1234.
pub fn connect_reply(request: &[u8]) -> Vec<u8> {
    connect_reply_with(request, 0x1234)
}

/// An announce reply without peers to announce `request`: interval 1800 s, 0 leechers, 1 seeder.
pub fn announce_reply(request: &[u8]) -> Vec<u8> {
    let Ok(Request::Announce(a)) = Request::parse(request) else {
        panic!("not an announce: {request:?}")
    };
    let mut r = 1u32.to_be_bytes().to_vec();
    r.extend_from_slice(&a.transaction_id.to_be_bytes());
    for n in [1800u32, 0, 1] {
        r.extend_from_slice(&n.to_be_bytes());
    }
    r
}
