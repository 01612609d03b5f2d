#!/usr/bin/env python3
"""libtorrent as a contender of the start-up benchmark (run.py starts it; not a test).

Adds N magnet-style torrents (info hash only, no metadata) announcing to every --tracker, each in
its own tier, with announce_to_all_trackers/tiers on, in upload mode, not auto-managed (so none is
queued), with DHT, LSD, UPnP and NAT-PMP off and an IP filter that blocks every peer address
outside loopback: the only traffic is the tracker exchanges. Waits until every (torrent, tracker)
pair has a tracker_reply_alert, then pauses every torrent (libtorrent sends `stopped` to each
tracker that got `started`) and waits for those replies, then prints one JSON line with the fields
of `cargo run --example mio -- --json`.

--buffer BYTES sets recv_socket_buffer_size and send_socket_buffer_size (0: the OS default).
"""

import argparse
import json
import resource
import sys
import time

import libtorrent as lt


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torrents", type=int, required=True)
    ap.add_argument("--tracker", action="append", required=True)
    ap.add_argument("--buffer", type=int, default=0)
    ap.add_argument("--limit-s", type=float, default=150.0)
    ap.add_argument("--save-path", default="/tmp")
    a = ap.parse_args()

    setup_cpu = cpu_seconds()
    start = time.monotonic()
    cat = lt.alert.category_t
    settings = {
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "alert_mask": cat.tracker_notification | cat.error_notification | cat.status_notification,
        "alert_queue_size": 8 * a.torrents + 10_000,
        "recv_socket_buffer_size": a.buffer,
        "send_socket_buffer_size": a.buffer,
        "user_agent": "bt-tracker-startup-bench",
    }
    ses = lt.session(settings)
    blocked = lt.ip_filter()
    blocked.add_rule("0.0.0.0", "255.255.255.255", 1)
    blocked.add_rule("127.0.0.0", "127.255.255.255", 0)
    blocked.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1)
    blocked.add_rule("::1", "::1", 0)
    ses.set_ip_filter(blocked)

    trackers = a.tracker
    for k in range(a.torrents):
        atp = lt.add_torrent_params()
        # k + 1: libtorrent refuses the all-zero info hash.
        atp.info_hashes = lt.info_hash_t(lt.sha1_hash((k + 1).to_bytes(8, "big") + bytes(12)))
        atp.trackers = trackers
        atp.tracker_tiers = list(range(len(trackers)))
        atp.save_path = a.save_path
        atp.flags = (
            lt.torrent_flags.upload_mode
            | lt.torrent_flags.disable_dht
            | lt.torrent_flags.disable_lsd
            | lt.torrent_flags.disable_pex
        )
        ses.async_add_torrent(atp)

    expected = a.torrents * len(trackers)
    transport = {t: (0 if t.startswith("udp:") else 1) for t in trackers}
    expected_by = [0, 0]
    for t in trackers:
        expected_by[transport[t]] += a.torrents
    handles = []
    replied = [set(), set()]  # (info hash, tracker) pairs: started, stopped
    last = [None, None]
    failed = 0
    phase = 0
    all_started = None
    end = start + a.limit_s
    while time.monotonic() < end:
        ses.wait_for_alert(100)
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.add_torrent_alert):
                if alert.error.value():
                    print(f"cannot add a torrent: {alert.error.message()}", file=sys.stderr)
                    failed += 1
                else:
                    handles.append(alert.handle)
            elif isinstance(alert, lt.tracker_reply_alert):
                pair = (str(alert.handle.info_hashes().v1), alert.tracker_url())
                if pair not in replied[phase]:
                    replied[phase].add(pair)
                    if phase == 0:
                        last[transport.get(alert.tracker_url(), 0)] = time.monotonic()
            elif isinstance(alert, (lt.tracker_error_alert, lt.udp_error_alert)):
                failed += 1
        if len(replied[phase]) >= expected:
            if phase == 1:
                break
            all_started = time.monotonic()
            phase = 1
            for h in handles:
                h.unset_flags(lt.torrent_flags.auto_managed)
                h.pause()
    done = time.monotonic()
    work_cpu = cpu_seconds() - setup_cpu
    del ses  # waits for the stopped announces still in flight (stop_tracker_timeout)

    def secs(t):
        return None if t is None else round(t - start, 6)

    by = [0, 0]
    for _, url in replied[0]:
        by[transport.get(url, 0)] += 1
    print(json.dumps({
        "torrents": a.torrents,
        "expected": expected,
        "started_acked": len(replied[0]),
        "all_started_s": secs(all_started),
        "udp_started_s": secs(last[0]) if expected_by[0] and by[0] == expected_by[0] else None,
        "http_started_s": secs(last[1]) if expected_by[1] and by[1] == expected_by[1] else None,
        "failed": failed,
        "stopped_acked": len(replied[1]),
        "done_s": secs(done),
        "setup_cpu_s": round(setup_cpu, 6),
        "work_cpu_s": round(work_cpu, 6),
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
