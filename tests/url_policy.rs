//! URL safety: redirects into the local network, https-to-http downgrades and tracker URLs that
//! pre-fill announce parameters are refused, each with the reason.

use std::time::Instant;

mod common;

use bt_tracker::announce::{
    Announce, Cause, Config, ConfigError, DnsError, DnsFailure, Event, HttpRequest, Progress,
    Torrent,
};
use bt_tracker::http::HttpResponse;
use bt_tracker::{InfoHash, PeerId, TrackerUrl, TrackerUrlError};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

fn announce(url: &str, config: Config) -> Result<Announce, ConfigError> {
    let torrent = Torrent {
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId(*b"-BT0100-policy-00001"),
        port: 6881,
        progress: Progress::default(),
        key: None,
    };
    let tiers = vec![vec![TrackerUrl::parse(url).unwrap()]];
    #[allow(clippy::disallowed_methods)] // a test's clock; the machine never reads one
    let now = Instant::now();
    let mut a = Announce::new(
        config,
        torrent,
        tiers,
        &mut ChaCha12Rng::seed_from_u64(1),
        now,
    )?;
    common::answer_dns(&mut a, now);
    Ok(a)
}

/// Answers the first request with a redirect to `location`; returns the next request, or the
/// failure cause.
fn redirect(from: &str, location: &str, config: Config) -> Result<HttpRequest, Cause> {
    let mut a = announce(from, config).unwrap();
    let first = a.poll_http_request().expect("the first announce");
    let response = HttpResponse {
        status: 302,
        location: Some(location.to_owned().into()),
        body: Vec::new().into(),
    };
    let at = first.deadline - std::time::Duration::from_secs(1);
    assert!(a.handle_http_response(at, first.id, &response));
    common::answer_dns(&mut a, at);
    if let Some(next) = a.poll_http_request() {
        return Ok(next);
    }
    loop {
        match a
            .poll_event()
            .expect("a redirect either continues or fails")
        {
            Event::Failed(f) => return Err(f.cause),
            _ => continue,
        }
    }
}

#[test]
fn a_public_tracker_cannot_redirect_into_the_local_network() {
    for target in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/admin",
        "http://[::1]/x",
        "http://192.168.1.1/cgi-bin/reboot",
        "http://localhost/announce",
        "http://[::ffff:10.0.0.1]/x",
    ] {
        let cause = redirect("http://tracker.example/announce", target, Config::default())
            .expect_err("the redirect must be refused");
        let Cause::Redirect(why) = &cause else {
            panic!("{target}: {cause:?}")
        };
        assert!(why.contains("allow_internal_redirects"), "{why}");
    }
}

#[test]
fn a_tracker_in_the_local_network_may_redirect_within_it_and_the_policy_can_be_lifted() {
    let next = redirect(
        "http://192.168.1.5/announce",
        "http://192.168.1.6/announce?x=1",
        Config::default(),
    )
    .expect("a LAN tracker may redirect inside the LAN");
    assert!(
        next.url
            .as_str()
            .starts_with("http://192.168.1.6/announce?x=1"),
        "{}",
        next.url
    );
    let mut open = Config::default();
    open.allow_internal_redirects = true;
    let next = redirect("http://tracker.example/announce", "http://10.0.0.1/a", open)
        .expect("allowed by configuration");
    assert!(next.url.as_str().starts_with("http://10.0.0.1/a"));
    let next = redirect(
        "http://tracker.example/announce",
        "http://mirror.example/announce",
        Config::default(),
    )
    .expect("public to public is fine");
    assert!(
        next.url
            .as_str()
            .starts_with("http://mirror.example/announce")
    );
}

#[test]
fn a_redirect_hop_from_a_public_tracker_may_not_reach_internal_addresses_by_name() {
    // The machine resolves `mirror.example` (to a public address here, see tests/dns.rs for an
    // internal one); the request still says what a caller whose client resolves again must check.
    let public = Config::default();
    let first = announce("http://tracker.example/announce", public.clone())
        .unwrap()
        .poll_http_request()
        .unwrap();
    assert!(
        first.may_reach_internal,
        "the tracker itself may be anywhere"
    );
    let hop = redirect(
        "http://tracker.example/announce",
        "http://mirror.example/a",
        public.clone(),
    )
    .unwrap();
    assert!(
        !hop.may_reach_internal,
        "a hop from a public tracker stays public"
    );
    let lan = redirect("http://192.168.1.5/announce", "http://nas.lan/a", public).unwrap();
    assert!(
        lan.may_reach_internal,
        "a LAN tracker's hop may stay in the LAN"
    );
    let mut open = Config::default();
    open.allow_internal_redirects = true;
    let hop = redirect(
        "http://tracker.example/announce",
        "http://mirror.example/a",
        open,
    )
    .unwrap();
    assert!(hop.may_reach_internal, "allowed by configuration");
}

#[test]
fn an_https_tracker_cannot_redirect_to_plain_http() {
    let cause = redirect(
        "https://tracker.example/announce",
        "http://tracker.example/announce",
        Config::default(),
    )
    .expect_err("the downgrade must be refused");
    assert!(
        matches!(&cause, Cause::Redirect(why) if why.contains("downgrade")),
        "{cause:?}"
    );
    let mut open = Config::default();
    open.allow_https_downgrade = true;
    assert!(
        redirect(
            "https://tracker.example/announce",
            "http://tracker.example/announce",
            open
        )
        .is_ok()
    );
}

#[test]
fn tracker_urls_that_prefill_announce_arguments_are_refused_up_front() {
    let err = announce(
        "http://tracker.example/announce?info_hash=AAAAAAAAAAAAAAAAAAAA",
        Config::default(),
    )
    .expect_err("a pre-filled info_hash must be refused");
    assert!(matches!(err, ConfigError::BadTrackerUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("info_hash"), "{err}");
    assert!(
        announce(
            "http://tracker.example/announce?passkey=abc",
            Config::default()
        )
        .is_ok()
    );
}

/// IP literals that name no single host: unspecified, "this network", broadcast, multicast, in
/// both families and in the IPv4-mapped form.
const NO_SINGLE_HOST: [&str; 10] = [
    "0.0.0.0",
    "0.1.2.3",
    "255.255.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "[::]",
    "[ff02::1]",
    "[ff0e::6969]",
    "[::ffff:255.255.255.255]",
    "[::ffff:0.0.0.0]",
];

#[test]
fn tracker_urls_naming_no_single_host_are_refused_in_every_scheme() {
    for host in NO_SINGLE_HOST {
        for scheme in ["udp", "http", "https"] {
            let text = format!("{scheme}://{host}:6969/announce");
            let err = TrackerUrl::parse(&text).expect_err(&text);
            assert!(
                matches!(&err, TrackerUrlError::NotUnicast { url, .. } if *url == text),
                "{text}: {err:?}"
            );
            let why = err.to_string();
            assert!(why.contains("no single host"), "{why}");
            assert!(why.contains("host name"), "says what to do: {why}");
        }
    }
    // Loopback, private and the highest unicast addresses are a policy matter, not malformed.
    for host in [
        "127.0.0.1",
        "10.0.0.255",
        "223.255.255.255",
        "[::1]",
        "[fe80::1]",
    ] {
        let text = format!("udp://{host}:6969/announce");
        assert!(TrackerUrl::parse(&text).is_ok(), "{text}");
    }
}

#[test]
fn a_redirect_to_an_address_naming_no_single_host_is_refused_even_when_internal_ones_are_allowed() {
    for host in NO_SINGLE_HOST {
        let target = format!("http://{host}/announce");
        let mut open = Config::default();
        open.allow_internal_redirects = true;
        let cause = redirect("http://tracker.example/announce", &target, open)
            .expect_err("never a tracker's address");
        let Cause::Redirect(why) = &cause else {
            panic!("{target}: {cause:?}")
        };
        assert!(why.contains("no single host"), "{target}: {why}");
        assert!(
            !why.contains("allow_internal_redirects"),
            "no setting helps: {why}"
        );
    }
}

#[test]
fn dns_answers_naming_no_single_host_are_dropped_even_when_internal_ones_are_allowed() {
    let ips = |list: &[&str]| -> Vec<std::net::IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    };
    let mut open = Config::default();
    open.dns.allow_internal = true;
    #[allow(clippy::disallowed_methods)] // a test's clock; the machine never reads one
    let now = Instant::now();
    let torrent = Torrent {
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId(*b"-BT0100-policy-00001"),
        port: 6881,
        progress: Progress::default(),
        key: None,
    };
    let tiers = || {
        vec![vec![
            TrackerUrl::parse("http://tracker.example/announce").unwrap(),
        ]]
    };
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let mut a = Announce::new(open.clone(), torrent.clone(), tiers(), &mut rng, now).unwrap();
    let mixed = ips(&[
        "255.255.255.255",
        "224.0.0.1",
        "0.0.0.0",
        "::",
        "ff02::1",
        "::ffff:255.255.255.255",
        "10.0.0.7",
        "203.0.113.5",
    ]);
    common::answer_dns_with(&mut a, now, &mixed);
    let request = a
        .poll_http_request()
        .expect("the usable addresses are tried");
    let want: Vec<std::net::SocketAddr> = ["10.0.0.7:80", "203.0.113.5:80"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(request.addresses, want);

    let mut a = Announce::new(open, torrent, tiers(), &mut rng, now).unwrap();
    common::answer_dns_with(&mut a, now, &ips(&["255.255.255.255", "ff02::1", "::"]));
    assert!(a.poll_http_request().is_none());
    let failed = std::iter::from_fn(|| a.poll_event()).find_map(|e| match e {
        Event::Failed(f) => Some(f.cause),
        _ => None,
    });
    assert_eq!(
        failed,
        Some(Cause::Dns(DnsFailure::Resolver(DnsError::NotFound))),
        "no usable address: as if the name had none"
    );
}

#[test]
fn an_announce_ip_naming_no_single_host_is_refused_up_front() {
    for ip in ["255.255.255.255", "0.0.0.0", "224.0.0.1", "::", "ff02::1"] {
        let mut config = Config::default();
        config.announce_ip = Some(ip.parse().unwrap());
        let err = announce("udp://203.0.113.5:6969/announce", config.clone()).expect_err(ip);
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    field: "announce_ip",
                    ..
                }
            ),
            "{ip}: {err:?}"
        );
        assert!(err.to_string().contains("reached at"), "{err}");
        #[allow(clippy::disallowed_methods)] // a test's clock; the machine never reads one
        let now = Instant::now();
        let client =
            bt_tracker::client::Client::new(config, &mut ChaCha12Rng::seed_from_u64(2), now);
        assert!(client.is_err(), "{ip}: the Client checks it too");
    }
    let mut config = Config::default();
    config.announce_ip = Some("192.0.2.9".parse().unwrap());
    assert!(announce("udp://203.0.113.5:6969/announce", config).is_ok());
}
