//! Issue 13 part 1: every address the crate reports or compares is in one canonical form, an
//! IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) being the IPv4 address `a.b.c.d`: the BEP 24
//! `external ip`, peers from every source, a tracker's source address, the self filter, the
//! internal-address (SSRF) checks and the tracker endpoints the `Client` shares.

mod common;

use common::start;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bt_tracker::announce::{
    Announce, Announced, Cause, Config, Event, HttpRequest, Progress, Torrent, Transmit,
};
use bt_tracker::client::Client;
use bt_tracker::http::{AnnounceResponse, HttpResponse, PeerAddr, Peers};
use bt_tracker::udp::Reply;
use bt_tracker::{AddressFamily, InfoHash, PeerId, TrackerUrl};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

/// The port every torrent of these tests announces.
const PORT: u16 = 6881;

fn torrent(n: u8) -> Torrent {
    Torrent {
        info_hash: InfoHash([n; 20]),
        peer_id: PeerId(*b"-BT0100-addresses-01"),
        port: PORT,
        progress: Progress {
            left: 1,
            ..Progress::default()
        },
        key: None,
    }
}

fn announce(url: &str, config: Config) -> (Announce, Instant) {
    let now = start();
    let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
    let a = Announce::new(
        config,
        torrent(7),
        tiers,
        &mut ChaCha12Rng::seed_from_u64(13),
        now,
    )
    .unwrap();
    let mut a = a;
    common::answer_dns(&mut a, now);
    (a, now)
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The next `Announced` event; panics on a failure.
fn announced(events: impl FnMut() -> Option<Event>) -> Announced {
    let mut events = events;
    loop {
        match events().expect("an announce result") {
            Event::Announced(a) => return a,
            Event::Failed(f) => panic!("the announce failed: {f:?}"),
            _ => continue,
        }
    }
}

/// Announces over HTTP to `url` and answers with `body`.
fn http_announce(url: &str, body: &[u8]) -> Announced {
    let (mut a, now) = announce(url, Config::default());
    let request = a.poll_http_request().expect("the started announce");
    let response = HttpResponse {
        status: 200,
        location: None,
        body: body.to_vec().into(),
    };
    assert!(a.handle_http_response(now, request.id, &response));
    announced(|| a.poll_event())
}

/// The issue's input: an `external ip` of 16 bytes holding `::ffff:192.0.2.7`, and compact peers
/// 192.0.2.7:6881 (this client) and 192.0.2.8:6881.
fn issue_body() -> Vec<u8> {
    let mut body = b"d8:intervali1800e11:external ip16:".to_vec();
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7]);
    body.extend_from_slice(b"5:peers12:");
    body.extend_from_slice(&[192, 0, 2, 7, 0x1a, 0xe1, 192, 0, 2, 8, 0x1a, 0xe1]);
    body.push(b'e');
    body
}

#[test]
fn a_mapped_external_ip_is_reported_as_ipv4_and_leaves_this_client_out() {
    let a = http_announce("http://tracker.example/announce", &issue_body());
    assert_eq!(a.external_ip, Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))));
    assert_eq!(a.peers, addrs(&["192.0.2.8:6881"]));

    // The same reply with the 4-byte form gives exactly the same.
    let body = b"d8:intervali1800e11:external ip4:\xc0\x00\x02\x075:peers12:\xc0\x00\x02\x07\x1a\xe1\xc0\x00\x02\x08\x1a\xe1e";
    let four = http_announce("http://tracker.example/announce", body);
    assert_eq!((four.external_ip, four.peers), (a.external_ip, a.peers));
}

#[test]
fn the_codec_decodes_a_mapped_external_ip_as_ipv4_and_encodes_it_in_4_bytes() {
    let body = issue_body();
    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(&body) else {
        panic!("a success reply")
    };
    assert_eq!(s.external_ip, Some(ip("192.0.2.7")));

    let mut view = s;
    view.external_ip = Some(ip("::ffff:192.0.2.7"));
    let mut out = Vec::new();
    view.encode(&mut out).unwrap();
    let needle = b"11:external ip4:\xc0\x00\x02\x07";
    assert!(
        out.windows(needle.len()).any(|w| w == needle),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn mapped_peers6_entries_are_ipv4_peers_and_this_client_is_left_out() {
    // peers: 192.0.2.8:6881. peers6: ::ffff:192.0.2.8:6881 (the same peer), ::ffff:192.0.2.7:6881
    // (this client, whose external ip is sent IPv4), ::ffff:192.0.2.9:6882 and 2001:db8::1:6881.
    let mut body =
        b"d11:external ip4:\xc0\x00\x02\x078:intervali1800e5:peers6:\xc0\x00\x02\x08\x1a\xe1"
            .to_vec();
    body.extend_from_slice(b"6:peers672:");
    for (v4, port) in [
        ([192, 0, 2, 8], 6881u16),
        ([192, 0, 2, 7], 6881),
        ([192, 0, 2, 9], 6882),
    ] {
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
        body.extend_from_slice(&v4);
        body.extend_from_slice(&port.to_be_bytes());
    }
    body.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    body.extend_from_slice(&PORT.to_be_bytes());
    body.push(b'e');

    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(&body) else {
        panic!("a success reply")
    };
    assert_eq!(
        s.peers6.iter().collect::<Vec<_>>(),
        addrs(&[
            "192.0.2.8:6881",
            "192.0.2.7:6881",
            "192.0.2.9:6882",
            "[2001:db8::1]:6881"
        ])
    );

    let a = http_announce("http://tracker.example/announce", &body);
    assert_eq!(
        a.peers,
        addrs(&["192.0.2.8:6881", "192.0.2.9:6882", "[2001:db8::1]:6881"])
    );
}

#[test]
fn list_form_peers_with_mapped_ip_strings_are_ipv4_peers() {
    // This client (mapped) and a mapped peer, with a 16-byte mapped external ip.
    let mut body = b"d11:external ip16:".to_vec();
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7]);
    body.extend_from_slice(b"8:intervali1800e5:peersl");
    body.extend_from_slice(b"d2:ip16:::ffff:192.0.2.74:porti6881ee");
    body.extend_from_slice(b"d2:ip16:::FFFF:192.0.2.84:porti6881ee");
    body.extend_from_slice(b"d2:ip10:192.0.2.104:porti6881ee");
    body.extend_from_slice(b"ee");

    let Ok(AnnounceResponse::Success(s)) = AnnounceResponse::decode(&body) else {
        panic!("a success reply")
    };
    let Peers::Dicts(list) = s.peers else {
        panic!("list-form peers")
    };
    let decoded: Vec<PeerAddr<'_>> = list.iter().map(|p| p.addr).collect();
    assert_eq!(
        decoded,
        addrs(&["192.0.2.7:6881", "192.0.2.8:6881", "192.0.2.10:6881"])
            .into_iter()
            .map(PeerAddr::Ip)
            .collect::<Vec<_>>()
    );

    let a = http_announce("http://tracker.example/announce", &body);
    assert_eq!(a.external_ip, Some(ip("192.0.2.7")));
    assert_eq!(a.peers, addrs(&["192.0.2.8:6881", "192.0.2.10:6881"]));
}

#[test]
fn this_client_is_left_out_by_a_tracker_at_a_mapped_loopback_address() {
    let body = b"d8:intervali1800e5:peers12:\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x01\x1a\xe2e";
    let a = http_announce("http://[::ffff:127.0.0.1]:6969/announce", body);
    assert_eq!(a.peers, addrs(&["127.0.0.1:6882"]));
}

// ----- UDP -----

fn txid(request: &[u8]) -> u32 {
    u32::from_be_bytes(request[12..16].try_into().unwrap())
}

fn connect_reply(txid: u32) -> Vec<u8> {
    let mut v = 0u32.to_be_bytes().to_vec();
    v.extend_from_slice(&txid.to_be_bytes());
    v.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
    v
}

fn announce_reply(txid: u32, peers: &[u8]) -> Vec<u8> {
    let mut v = 1u32.to_be_bytes().to_vec();
    for n in [txid, 1800, 1, 2] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.extend_from_slice(peers);
    v
}

/// The next datagram the machine wants sent: where to, and its transaction id.
fn next_udp(a: &mut Announce) -> (Transmit, u32) {
    let mut buf = Vec::new();
    let t = a.poll_transmit(&mut buf).expect("a datagram to send");
    (t, txid(&buf[..t.len]))
}

/// An 18-byte entry for an IPv4-mapped address.
fn mapped_entry(v4: [u8; 4], port: u16) -> Vec<u8> {
    let mut e = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
    e.extend_from_slice(&v4);
    e.extend_from_slice(&port.to_be_bytes());
    e
}

#[test]
fn udp_replies_over_ipv6_give_mapped_entries_as_ipv4_peers() {
    let tracker: SocketAddr = "[2001:db8::53]:6969".parse().unwrap();
    let mut peers = mapped_entry([192, 0, 2, 8], 6881);
    peers.extend(mapped_entry([192, 0, 2, 9], 6882));
    peers.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    peers.extend_from_slice(&6881u16.to_be_bytes());
    peers.extend(mapped_entry([192, 0, 2, 8], 6881)); // a duplicate in the other form

    let reply = announce_reply(9, &peers);
    let Ok(Reply::Announce(r)) = Reply::parse(&reply, AddressFamily::V6) else {
        panic!("an announce reply")
    };
    assert_eq!(
        r.peers.iter().collect::<Vec<_>>(),
        addrs(&[
            "192.0.2.8:6881",
            "192.0.2.9:6882",
            "[2001:db8::2]:6881",
            "192.0.2.8:6881"
        ])
    );

    let (mut a, now) = announce("udp://[2001:db8::53]:6969", Config::default());
    let (connect, t) = next_udp(&mut a);
    assert_eq!(connect.destination, tracker);
    assert!(a.handle_datagram(now, tracker, &connect_reply(t)));
    let (_, t) = next_udp(&mut a);
    assert!(a.handle_datagram(now, tracker, &announce_reply(t, &peers)));
    let got = announced(|| a.poll_event());
    assert_eq!(
        got.peers,
        addrs(&["192.0.2.8:6881", "192.0.2.9:6882", "[2001:db8::2]:6881"])
    );
}

#[test]
fn a_mapped_tracker_address_matches_replies_from_its_ipv4_form_and_back() {
    // The URL holds the mapped form; the reply comes from the IPv4 form.
    let (mut a, now) = announce("udp://[::ffff:127.0.0.1]:6969", Config::default());
    let (connect, t) = next_udp(&mut a);
    let v4: SocketAddr = "127.0.0.1:6969".parse().unwrap();
    assert_eq!(connect.destination, v4, "sent to the canonical form");
    assert!(!a.handle_datagram(now, "127.0.0.2:6969".parse().unwrap(), &connect_reply(t)));
    assert!(a.handle_datagram(now, v4, &connect_reply(t)));

    // The URL holds the IPv4 form; the reply comes through a dual-stack socket, mapped.
    let (mut a, now) = announce("udp://127.0.0.1:6969", Config::default());
    let (_, t) = next_udp(&mut a);
    let mapped: SocketAddr = "[::ffff:127.0.0.1]:6969".parse().unwrap();
    assert!(!a.handle_datagram(
        now,
        "[::ffff:127.0.0.2]:6969".parse().unwrap(),
        &connect_reply(t)
    ));
    assert!(a.handle_datagram(now, mapped, &connect_reply(t)));
    let (_, t) = next_udp(&mut a);
    let peers = [192, 0, 2, 8, 0x1a, 0xe1, 127, 0, 0, 1, 0x1a, 0xe1];
    assert!(a.handle_datagram(now, mapped, &announce_reply(t, &peers)));
    // Read as an IPv4 exchange (6-byte entries), and this client on loopback left out.
    assert_eq!(
        announced(|| a.poll_event()).peers,
        addrs(&["192.0.2.8:6881"])
    );
}

/// Drives a `Client` until `torrent`'s next event that is not a state change.
fn client_result(client: &mut Client) -> Event {
    loop {
        match client.poll_event().expect("a result").1 {
            e @ (Event::Announced(_) | Event::Scraped(_) | Event::Failed(_)) => return e,
            _ => continue,
        }
    }
}

#[test]
fn client_scrapes_match_a_mapped_tracker_address_and_share_its_ipv4_endpoint() {
    let now = start();
    let mut client =
        Client::new(Config::default(), &mut ChaCha12Rng::seed_from_u64(13), now).unwrap();
    let mapped = vec![vec![
        TrackerUrl::parse("udp://[::ffff:127.0.0.1]:6969/announce").unwrap(),
    ]];
    let plain = vec![vec![
        TrackerUrl::parse("udp://127.0.0.1:6969/announce").unwrap(),
    ]];
    let one = client.add(now, torrent(1), mapped).unwrap();
    let two = client.add(now, torrent(2), plain).unwrap();

    // Both URLs name one endpoint: one connect, which the second torrent joins.
    let v4: SocketAddr = "127.0.0.1:6969".parse().unwrap();
    let mut buf = Vec::new();
    let connect = client.poll_transmit(&mut buf).expect("a connect");
    assert_eq!(connect.destination, v4);
    let connect_txid = txid(&buf[..connect.len]);
    assert!(
        client.poll_transmit(&mut buf).is_none(),
        "the second torrent waits for the same connect"
    );
    assert!(client.handle_datagram(now, v4, &connect_reply(connect_txid)));

    // Both announces answered from the mapped form.
    let from: SocketAddr = "[::ffff:127.0.0.1]:6969".parse().unwrap();
    for _ in 0..2 {
        let t = client.poll_transmit(&mut buf).expect("an announce");
        assert_eq!(t.destination, v4);
        let reply = announce_reply(txid(&buf[..t.len]), &[192, 0, 2, 8, 0x1a, 0xe1]);
        assert!(client.handle_datagram(now, from, &reply));
        assert!(matches!(client_result(&mut client), Event::Announced(_)));
    }

    // A scrape of the mapped URL's torrent goes to, and is answered from, the IPv4 form.
    assert!(client.scrape(now, one));
    let now = client.poll_timeout().expect("the scrape window closes");
    client.handle_timeout(now);
    let t = client.poll_transmit(&mut buf).expect("a scrape");
    assert_eq!(t.destination, v4);
    let mut reply = 2u32.to_be_bytes().to_vec();
    reply.extend_from_slice(&txid(&buf[..t.len]).to_be_bytes());
    for n in [5u32, 6, 7] {
        reply.extend_from_slice(&n.to_be_bytes());
    }
    assert!(!client.handle_datagram(now, "127.0.0.2:6969".parse().unwrap(), &reply));
    assert!(client.handle_datagram(now, v4, &reply));
    let Event::Scraped(s) = client_result(&mut client) else {
        panic!("a scrape result")
    };
    assert_eq!(
        (s.seeders, s.completed, s.leechers),
        (Some(5), Some(6), Some(7))
    );
    let _ = two;
}

// ----- SSRF -----

/// Answers the first request with a redirect to `location`; returns the next request, or the
/// failure cause.
fn redirect(from: &str, location: &str) -> Result<HttpRequest, Cause> {
    let (mut a, now) = announce(from, Config::default());
    let first = a.poll_http_request().expect("the first announce");
    let response = HttpResponse {
        status: 302,
        location: Some(location.to_owned().into()),
        body: Vec::new().into(),
    };
    assert!(a.handle_http_response(now + Duration::from_millis(1), first.id, &response));
    common::answer_dns(&mut a, now + Duration::from_millis(1));
    if let Some(next) = a.poll_http_request() {
        return Ok(next);
    }
    loop {
        match a.poll_event().expect("a redirect continues or fails") {
            Event::Failed(f) => return Err(f.cause),
            _ => continue,
        }
    }
}

#[test]
fn mapped_redirect_targets_and_trackers_are_judged_as_their_ipv4_address() {
    for internal in [
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:127.0.0.1]:8080/admin",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[::ffff:0.0.0.0]/",
    ] {
        let cause = redirect("http://tracker.example/announce", internal)
            .expect_err("a public tracker may not redirect into the local network");
        assert!(matches!(cause, Cause::Redirect(_)), "{internal}: {cause:?}");
    }
    // A public address in mapped form is public.
    let next = redirect(
        "http://tracker.example/announce",
        "http://[::ffff:192.0.2.1]/a",
    )
    .expect("a public target");
    assert!(!next.may_reach_internal);
    // A tracker at a mapped LAN address is a LAN tracker: it may redirect within the LAN.
    let next = redirect(
        "http://[::ffff:192.168.1.5]/announce",
        "http://192.168.1.6/a",
    )
    .expect("a LAN tracker may redirect inside the LAN");
    assert!(next.may_reach_internal);
    assert!(bt_tracker::announce::is_internal_address(ip(
        "::ffff:10.0.0.1"
    )));
    assert!(!bt_tracker::announce::is_internal_address(ip(
        "::ffff:192.0.2.1"
    )));
}

#[test]
fn the_address_family_of_a_mapped_address_is_ipv4() {
    assert_eq!(
        AddressFamily::of(&"[::ffff:192.0.2.7]:1".parse().unwrap()),
        AddressFamily::V4
    );
    assert_eq!(
        AddressFamily::of(&"[2001:db8::1]:1".parse().unwrap()),
        AddressFamily::V6
    );
    assert_eq!(
        AddressFamily::of(&"192.0.2.7:1".parse().unwrap()),
        AddressFamily::V4
    );
}
