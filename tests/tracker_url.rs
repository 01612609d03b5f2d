//! Tracker URL validation: what is accepted, and what each rejection says.

use bt_tracker::{InfoHash, Scheme, TrackerUrl, TrackerUrlError};

#[test]
fn udp_url_with_path_and_query_keeps_them_verbatim() {
    let url = TrackerUrl::parse("udp://tracker.example:6969/announce?passkey=A%2Fb#frag").unwrap();
    assert_eq!(url.scheme(), Scheme::Udp);
    assert_eq!(url.host(), "tracker.example");
    assert_eq!(url.port(), 6969);
    assert_eq!(url.path_and_query(), "/announce?passkey=A%2Fb");
    assert_eq!(
        url.as_str(),
        "udp://tracker.example:6969/announce?passkey=A%2Fb"
    );
    assert_eq!(url.origin(), "udp://tracker.example:6969");
    assert_eq!(url.socket_addr(), None);
}

#[test]
fn udp_url_without_path_has_empty_path_and_query_and_a_bare_query_gets_a_slash() {
    let url = TrackerUrl::parse("udp://[::1]:6969").unwrap();
    assert_eq!(url.host(), "::1");
    assert_eq!(url.path_and_query(), "");
    assert_eq!(url.socket_addr(), Some("[::1]:6969".parse().unwrap()));
    let q = TrackerUrl::parse("udp://127.0.0.1:80?x=1").unwrap();
    // BEP 41 URL data `/?x=1`, as libtorrent sends it.
    assert_eq!(q.path_and_query(), "/?x=1");
}

#[test]
fn ip_literal_hosts_give_a_socket_address_for_every_scheme() {
    // WHATWG parsing leaves IPv4 literals of non-special schemes (udp) as opaque names.
    for (url, addr) in [
        ("udp://10.0.0.1:6969/announce", "10.0.0.1:6969"),
        ("http://10.0.0.1/announce", "10.0.0.1:80"),
        ("https://[2001:db8::1]/announce", "[2001:db8::1]:443"),
    ] {
        let parsed = TrackerUrl::parse(url).unwrap();
        assert_eq!(parsed.socket_addr(), Some(addr.parse().unwrap()), "{url}");
    }
}

#[test]
fn http_and_https_get_default_ports() {
    assert_eq!(
        TrackerUrl::parse("http://t.example/announce")
            .unwrap()
            .port(),
        80
    );
    assert_eq!(
        TrackerUrl::parse("https://t.example/announce")
            .unwrap()
            .port(),
        443
    );
    assert_eq!(
        TrackerUrl::parse("HTTP://t.example:8080/a")
            .unwrap()
            .scheme(),
        Scheme::Http
    );
}

#[test]
fn udp_without_port_is_rejected_with_advice() {
    let err = TrackerUrl::parse("udp://tracker.example/announce").unwrap_err();
    assert_eq!(
        err,
        TrackerUrlError::MissingUdpPort("udp://tracker.example/announce".into())
    );
    assert!(err.to_string().contains("add one"), "{err}");
}

#[test]
fn unknown_scheme_is_rejected_naming_it() {
    let err = TrackerUrl::parse("wss://tracker.example/announce").unwrap_err();
    assert!(matches!(&err, TrackerUrlError::UnsupportedScheme { scheme, .. } if scheme == "wss"));
    assert!(
        err.to_string().contains("udp://, http:// or https://"),
        "{err}"
    );
}

#[test]
fn garbage_missing_host_port_zero_and_spaces_are_rejected() {
    assert!(matches!(
        TrackerUrl::parse("not a url"),
        Err(TrackerUrlError::InvalidCharacter { ch: ' ', .. })
    ));
    assert!(matches!(
        TrackerUrl::parse("announce"),
        Err(TrackerUrlError::Malformed { .. })
    ));
    assert!(matches!(
        TrackerUrl::parse("http:///announce"),
        Err(TrackerUrlError::MissingHost(_))
    ));
    assert!(matches!(
        TrackerUrl::parse("udp://t.example:0/"),
        Err(TrackerUrlError::PortZero(_))
    ));
    assert!(matches!(
        TrackerUrl::parse("http:/t.example/announce"),
        Err(TrackerUrlError::Malformed { .. })
    ));
    assert!(matches!(
        TrackerUrl::parse("http://t.example\\announce"),
        Err(TrackerUrlError::InvalidCharacter { ch: '\\', .. })
    ));
}

#[test]
fn info_hash_hex_round_trips_and_errors_say_where() {
    let h = InfoHash::from_hex("DA39a3ee5e6b4b0d3255bfef95601890afd80709").unwrap();
    assert_eq!(h.to_string(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(
        InfoHash::from_hex("abc").unwrap_err().to_string(),
        "an info hash is 40 hex characters, this one has 3; copy the whole btih value"
    );
    assert!(
        InfoHash::from_hex("zz39a3ee5e6b4b0d3255bfef95601890afd80709")
            .unwrap_err()
            .to_string()
            .contains("position 0")
    );
    let v2 = InfoHash::from_v2(&[7u8; 32]);
    assert_eq!(v2.0, [7u8; 20]);
}

#[test]
fn bare_host_and_port_is_reported_as_missing_scheme_with_a_udp_suggestion() {
    for (text, suggestion) in [
        ("tracker.example:6969", "udp://tracker.example:6969"),
        ("localhost:6969", "udp://localhost:6969"),
        ("127.0.0.1:6969", "udp://127.0.0.1:6969"),
        ("[::1]:6969", "udp://[::1]:6969"),
        (
            "tracker.example:6969/announce",
            "udp://tracker.example:6969/announce",
        ),
        ("tracker.example/announce", "udp://tracker.example/announce"),
    ] {
        let err = TrackerUrl::parse(text).unwrap_err();
        assert_eq!(
            err,
            TrackerUrlError::MissingScheme {
                url: text.into(),
                suggestion: suggestion.into()
            },
            "{text}"
        );
        let message = err.to_string();
        assert!(message.contains("has no scheme"), "{message}");
        assert!(message.contains(suggestion), "{message}");
    }
}

#[test]
fn real_schemes_other_than_ours_are_still_named() {
    for (text, scheme) in [
        (
            "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
            "magnet",
        ),
        ("wss://tracker.example/announce", "wss"),
        ("ftp://tracker.example:21/announce", "ftp"),
    ] {
        let err = TrackerUrl::parse(text).unwrap_err();
        assert!(
            matches!(&err, TrackerUrlError::UnsupportedScheme { scheme: s, .. } if s == scheme),
            "{text}: {err:?}"
        );
    }
}
