//! The examples' command lines, read by one set of rules: every example takes its torrents and
//! tracker URLs through `target::parse_targets`, and every numeric flag is checked against the
//! library's limits before anything starts, the error naming the flag and its range.

mod net;

use std::time::Duration;

use bt_tracker::limits::{MAX_NUM_WANT, MAX_TORRENTS};
use net::glue::cli::{MAX_SECONDS, parse_announce, parse_loop_args};
use net::glue::fleet;
use net::glue::now;
use net::glue::target::parse_targets;

const HASH: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// A magnet link whose `tr=` holds a tracker URL as typed (unencoded) or percent-encoded.
fn magnet(tr: &str) -> String {
    format!("magnet:?xt=urn:btih:{HASH}&dn=demo&tr={tr}")
}

#[test]
fn a_magnet_link_with_an_unencoded_tracker_url_is_one_torrent_in_every_example() {
    for (tr, url) in [
        (
            "https://tracker.example/announce",
            "https://tracker.example/announce",
        ),
        ("udp://tracker.example:6969", "udp://tracker.example:6969"),
        (
            "http://tracker.example/announce",
            "http://tracker.example/announce",
        ),
        (
            "udp%3A%2F%2Ftracker.example%3A6969",
            "udp://tracker.example:6969",
        ),
    ] {
        let link = magnet(tr);
        let want = vec![vec![url.to_owned()]];
        let looped = parse_loop_args(strings(&[&link, "--duration", "1"]).into_iter())
            .unwrap_or_else(|e| panic!("{link}: {e}"))
            .unwrap();
        assert_eq!(looped.targets.len(), 1, "{link}");
        assert_eq!(looped.targets[0].info_hash.to_string(), HASH);
        assert_eq!(looped.targets[0].name.as_deref(), Some("demo"));
        assert_eq!(looped.targets[0].tiers, want, "{link}");
        let announce = parse_announce(strings(&[&link]).into_iter())
            .unwrap_or_else(|e| panic!("{link}: {e}"))
            .unwrap();
        assert_eq!(announce.target.as_ref(), Some(&looped.targets[0]), "{link}");
    }
}

#[test]
fn tracker_urls_after_a_torrent_are_its_tiers_whatever_kind_of_torrent_it_is() {
    let link = magnet("udp://a.example:1");
    let targets = parse_targets(&strings(&[
        HASH,
        "udp://b.example:2",
        "https://c.example/announce",
        &link,
        "http://d.example/announce",
    ]))
    .unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(
        targets[0].tiers,
        [["udp://b.example:2"], ["https://c.example/announce"]]
    );
    assert_eq!(
        targets[1].tiers,
        [["udp://a.example:1"], ["http://d.example/announce"]]
    );
    assert!(parse_targets(&[]).unwrap().is_empty());
}

#[test]
fn a_tracker_url_before_any_torrent_or_without_a_scheme_is_refused_with_the_fix() {
    assert_eq!(
        parse_targets(&strings(&["udp://t.example:1", HASH])).unwrap_err(),
        "\"udp://t.example:1\" is a tracker URL, not a torrent: give an info hash first, then \
         tracker URLs (or a magnet link or .torrent file)"
    );
    assert_eq!(
        parse_targets(&strings(&[HASH, "t.example:6969"])).unwrap_err(),
        "\"t.example:6969\" has no scheme; write udp://, http:// or https:// before the host (for \
         example udp://t.example:6969)"
    );
    // The same rule in both command lines.
    let looped = parse_loop_args(strings(&["udp://t.example:1"]).into_iter()).unwrap_err();
    let announce = parse_announce(strings(&["udp://t.example:1"]).into_iter()).unwrap_err();
    assert_eq!(looped, announce);
    assert!(
        looped.contains("is a tracker URL, not a torrent"),
        "{looped}"
    );
}

#[test]
fn the_announce_example_refuses_a_second_torrent_and_names_the_examples_that_take_many() {
    let other = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        parse_announce(strings(&[HASH, "udp://t.example:1", other]).into_iter()).unwrap_err(),
        "announce takes one torrent and 2 were given; the mio, tokio and game_loop examples \
         announce many"
    );
}

#[test]
fn an_option_given_twice_is_refused_rather_than_one_value_dropped() {
    for (flag, value) in [("--port", "7000"), ("--numwant", "50"), ("--timeout", "5")] {
        let args = strings(&[flag, value, flag, value]).into_iter();
        assert_eq!(
            parse_announce(args).unwrap_err(),
            format!("{flag} is given twice; give it once")
        );
    }
    assert_eq!(
        parse_announce(strings(&["--json", "--json"]).into_iter()).unwrap_err(),
        "--json is given twice; give it once"
    );
    for (flag, value) in [("--torrents", "3"), ("--duration", "4"), ("--status", "2")] {
        let args = strings(&[flag, value, flag, "9"]).into_iter();
        assert_eq!(
            parse_loop_args(args).unwrap_err(),
            format!("{flag} is given twice; give it once")
        );
    }
    // --tracker is meant to be repeated: each is a tier of its own.
    let urls = ["udp://a.example:1", "udp://b.example:2"];
    let args = strings(&["--tracker", urls[0], "--tracker", urls[1]]).into_iter();
    assert_eq!(parse_loop_args(args).unwrap().unwrap().trackers, urls);
}

#[test]
fn synthetic_torrents_are_not_mixed_with_torrents_given_on_the_command_line() {
    for order in [
        [magnet("udp://t.example:1"), "--torrents".into(), "5".into()],
        ["--torrents".into(), "5".into(), magnet("udp://t.example:1")],
    ] {
        assert_eq!(
            parse_loop_args(order.into_iter()).unwrap_err(),
            "--torrents makes N synthetic torrents, and the command line also gives 1 torrent: \
             give one or the other"
        );
    }
    let two = [
        magnet("udp://t.example:1"),
        magnet("udp://u.example:1"),
        "--torrents".into(),
        "5".into(),
    ];
    assert!(
        parse_loop_args(two.into_iter())
            .unwrap_err()
            .contains("also gives 2 torrents:")
    );
}

/// The error for `flag value` in `example` ("announce" or a loop example).
fn refused(example: &str, flag: &str, value: &str) -> String {
    let args = strings(&[flag, value]).into_iter();
    match example {
        "announce" => parse_announce(args).map(|_| ()),
        _ => parse_loop_args(args).map(|_| ()),
    }
    .expect_err(&format!("{example} {flag} {value} is accepted"))
}

#[test]
fn every_numeric_flag_outside_the_librarys_range_is_refused_naming_the_flag_and_range() {
    let over_secs = (MAX_SECONDS + 1).to_string();
    let over_torrents = (MAX_TORRENTS + 1).to_string();
    let seconds = " (seconds, at most 365 days)";
    let numwant = " (0 asks for no peers; one UDP reply holds at most 3639 IPv6 peers)";
    let cases: [(&str, &str, &str, &str, &str); 16] = [
        ("announce", "--numwant", "0", "1 to 3639", numwant),
        ("announce", "--numwant", "3640", "1 to 3639", numwant),
        ("announce", "--numwant", "999999", "1 to 3639", numwant),
        ("announce", "--timeout", "0", "1 to 31536000", seconds),
        (
            "announce",
            "--timeout",
            &over_secs,
            "1 to 31536000",
            seconds,
        ),
        ("announce", "--port", "0", "1 to 65535", ""),
        ("announce", "--port", "65536", "1 to 65535", ""),
        (
            "loop",
            "--torrents",
            "0",
            "1 to 16777215",
            " (the most one client holds)",
        ),
        (
            "loop",
            "--torrents",
            &over_torrents,
            "1 to 16777215",
            " (the most one client holds)",
        ),
        (
            "loop",
            "--torrents",
            "200000x",
            "1 to 16777215",
            " (the most one client holds)",
        ),
        ("loop", "--duration", "0", "1 to 31536000", seconds),
        ("loop", "--duration", &over_secs, "1 to 31536000", seconds),
        ("loop", "--status", "0", "1 to 31536000", seconds),
        ("loop", "--status", "-1", "1 to 31536000", seconds),
        ("loop", "--port", "0", "1 to 65535", ""),
        ("loop", "--port", "70000", "1 to 65535", ""),
    ];
    for (example, flag, value, range, why) in cases {
        assert_eq!(
            refused(example, flag, value),
            format!("{flag} takes a whole number from {range}{why}, not {value:?}"),
            "{example} {flag} {value}"
        );
    }
    assert_eq!(MAX_NUM_WANT, 3639);
}

#[test]
fn every_numeric_flag_takes_its_whole_range_unchanged() {
    let max_secs = MAX_SECONDS.to_string();
    let max_torrents = MAX_TORRENTS.to_string();
    let top = parse_announce(
        strings(&[
            "--numwant",
            "3639",
            "--timeout",
            &max_secs,
            "--port",
            "65535",
        ])
        .into_iter(),
    )
    .unwrap()
    .unwrap();
    assert_eq!((top.numwant, top.port), (MAX_NUM_WANT, 65535));
    assert_eq!(top.timeout, Duration::from_secs(MAX_SECONDS));
    let low = parse_announce(strings(&["--numwant", "1", "--timeout", "1"]).into_iter())
        .unwrap()
        .unwrap();
    assert_eq!((low.numwant, low.timeout), (1, Duration::from_secs(1)));
    let args = [
        "--torrents",
        max_torrents.as_str(),
        "--duration",
        max_secs.as_str(),
        "--status",
        "1",
        "--port",
        "1",
    ];
    let top = parse_loop_args(strings(&args).into_iter())
        .unwrap()
        .unwrap();
    assert_eq!(top.torrents, MAX_TORRENTS);
    assert_eq!(top.duration, Duration::from_secs(MAX_SECONDS));
    assert_eq!((top.status, top.port), (Some(Duration::from_secs(1)), 1));
    let one = parse_loop_args(strings(&["--torrents", "1", "--duration", "1"]).into_iter())
        .unwrap()
        .unwrap();
    assert_eq!((one.torrents, one.duration), (1, Duration::from_secs(1)));
}

#[test]
fn a_frame_adds_torrents_only_within_its_budget_and_the_rest_wait_for_later_frames() {
    let count = 20_000;
    let args = strings(&["--torrents", "20000", "--tracker", "udp://127.0.0.1:9"]);
    let args = parse_loop_args(args.into_iter()).unwrap().unwrap();
    // Preparing the run adds nothing: the first frame is not spent on 20,000 torrents.
    let (mut client, mut fleet, embedded) = fleet::prepare(&args).unwrap();
    assert!(embedded.is_none());
    assert_eq!((client.torrents().count(), fleet.all_added()), (0, false));
    // A budget already spent still adds one torrent, so that every frame makes progress.
    assert_eq!(fleet.add_pending(&mut client, Some(now())), 1);
    assert_eq!(client.torrents().count(), 1);
    // A one-millisecond budget adds some, far from all.
    let added = fleet.add_pending(&mut client, Some(now() + Duration::from_millis(1)));
    assert!((1..count - 1).contains(&added), "{added} added in 1 ms");
    assert_eq!(client.torrents().count(), 1 + added);
    // Nothing counts as all answered while torrents wait to be added.
    assert!(!fleet.just_all_started());
    // Without a budget, the rest.
    assert_eq!(fleet.add_pending(&mut client, None), count - 1 - added);
    assert!(fleet.all_added());
    assert_eq!(
        (client.torrents().count(), fleet.swarms.len()),
        (count, count)
    );
    assert_eq!(fleet.expected, [count, 0]);
    assert_eq!(fleet.add_pending(&mut client, None), 0);
}
