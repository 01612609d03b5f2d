#!/usr/bin/env python3
"""Start-up benchmark (issue 15): N torrents announced to one loopback UDP tracker and one
loopback HTTP tracker by several contenders, side by side in each run; not a test.

    python3 benches/startup/run.py --torrents 1000,5000 --runs 3

Contenders, each a process of its own, measured whole (wait4 rusage):
  floor              benches/startup/floor.rs: pre-encoded datagrams, one socket, at most 256
                     in flight; HTTP at most 50 connections at once
  bt-tracker         examples/mio.rs, one Client, Config::default()
  libtorrent-4MiB    lt_client.py, libtorrent's Python bindings, socket buffers 4 MiB
  libtorrent-default the same with the OS default socket buffers
Scenarios:
  healthy    UDP tracker (aquatic_udp if installed, else the embedded one) and the embedded
             HTTP tracker, both fresh for every contender run
  udp-only   the same UDP tracker alone
  slow-udp   the UDP tracker alone behind a proxy answering 500 requests/s and dropping the rest

Each contender: time until every (torrent, tracker) pair answered `started` (and per transport),
time until `stopped` was answered too, failed requests (and of them the `stopped` given up after
`Config::stop_timeout`: the torrent still ends with `Event::Stopped`), announces sent again
(datagrams sent less announces answered; the floor counts its retransmissions), receive-buffer
drops of its own sockets and of the tracker's (the `drops` column of /proc/net/udp, sampled every
50 ms), CPU (user+sys) whole and per announce, peak RSS. Against the slow tracker also the share
of requests it dropped and the announces it saw twice. Ratios come from pairs in the same run.
Markdown on stdout. A contender's process is stopped `2 * limit + 30` s after it starts: its
`stopped` may take as long as its start-up did.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MIB = 1 << 20


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torrents", default="1000,5000", help="comma-separated N values (default 1000,5000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--contenders", default="floor,bt-tracker,libtorrent-4MiB,libtorrent-default")
    ap.add_argument("--scenarios", default="healthy,udp-only,slow-udp")
    ap.add_argument("--rate", type=int, default=500, help="slow-udp: requests/s the tracker answers")
    ap.add_argument("--limit-s", type=int, default=120, help="longest a contender may take (s)")
    ap.add_argument("--udp-tracker", choices=["auto", "aquatic", "embedded"], default="auto")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--json-out", help="also write every raw measurement to this file")
    ap.add_argument("--from-json", help="print the tables of an earlier --json-out file; runs nothing")
    return ap.parse_args()


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def build():
    cmd = ["cargo", "build", "--release", "--example", "mio", "--example", "startup_floor",
           "--example", "startup_tracker"]
    print(f"building: {' '.join(cmd)}", file=sys.stderr)
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=sys.stderr)


def bin_path(name):
    return target_dir() / "release" / "examples" / name


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_udp_tracker(port, timeout=10.0):
    """Sends BEP 15 connects until the tracker answers one."""
    connect = (0x41727101980).to_bytes(8, "big") + (0).to_bytes(4, "big") + (7).to_bytes(4, "big")
    end = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < end:
            s.sendto(connect, ("127.0.0.1", port))
            try:
                if len(s.recv(64)) >= 16:
                    return
            except OSError:
                continue
    raise RuntimeError(f"the UDP tracker on port {port} did not answer a connect in {timeout} s")


class Trackers:
    """The trackers of one contender run, fresh each time (no state carried between contenders)."""

    def __init__(self, scenario, udp_kind, rate, tmp: Path):
        self.parts = []
        self.scenario = scenario
        embedded = procs.Helper([str(bin_path("startup_tracker")), "serve"], tmp / "tracker.log")
        self.parts.append(("tracker", embedded))
        udp_url = embedded.info["udp"]
        if udp_kind == "aquatic":
            port = free_udp_port()
            cfg = tmp / "aquatic.toml"
            text = subprocess.run(["aquatic_udp", "-p"], capture_output=True, text=True, check=True).stdout
            cfg.write_text(text.replace('address = "0.0.0.0:3000"', f'address = "127.0.0.1:{port}"'))
            aquatic = procs.Daemon(["aquatic_udp", "-c", str(cfg)], tmp / "aquatic.log")
            self.parts.append(("tracker", aquatic))
            wait_udp_tracker(port)
            udp_url = f"udp://127.0.0.1:{port}/announce"
        self.urls = [udp_url, embedded.info["http"]]
        if scenario == "udp-only":
            self.urls = [udp_url]
        if scenario == "slow-udp":
            to = udp_url[len("udp://"):].split("/")[0]
            proxy = procs.Helper([str(bin_path("startup_tracker")), "proxy", "--to", to, "--rate", str(rate)],
                                 tmp / "proxy.log")
            self.parts.append(("tracker", proxy))
            self.urls = [proxy.info["udp"]]

    def watch(self, sampler):
        for i, (label, p) in enumerate(self.parts):
            sampler.watch(f"{label}{i}", p.pid)

    def stop(self):
        counts = {}
        for _, p in reversed(self.parts):
            counts.update(p.stop())
        return counts


def contender_argv(name, n, urls, limit):
    udp = [u for u in urls if u.startswith("udp://")]
    http = [u for u in urls if u.startswith("http://")]
    if name == "floor":
        argv = [str(bin_path("startup_floor")), "--torrents", str(n), "--limit-s", str(limit)]
        if udp:
            argv += ["--udp", udp[0][len("udp://"):].split("/")[0]]
        if http:
            argv += ["--http", http[0]]
        return argv
    if name == "bt-tracker":
        argv = [str(bin_path("mio")), "--torrents", str(n), "--until-answered", "--json",
                "--duration", str(limit)]
        for u in urls:
            argv += ["--tracker", u]
        return argv
    if name.startswith("libtorrent"):
        buffer = 4 * MIB if name == "libtorrent-4MiB" else 0
        argv = [sys.executable, str(HERE / "lt_client.py"), "--torrents", str(n), "--buffer", str(buffer),
                "--limit-s", str(limit)]
        for u in urls:
            argv += ["--tracker", u]
        return argv
    raise SystemExit(f"unknown contender {name}: use floor, bt-tracker, libtorrent-4MiB, libtorrent-default")


def measure(name, n, scenario, args, udp_kind, tmp):
    """One contender run against fresh trackers: a dict of figures."""
    trackers = Trackers(scenario, udp_kind, args.rate, tmp)
    sampler = procs.Sampler()
    trackers.watch(sampler)
    snmp0 = procs.snmp_rcvbuf_errors()
    argv = contender_argv(name, n, trackers.urls, args.limit_s)
    try:
        summary, cpu, rss_kib, code, wall = procs.run_contender(argv, tmp / f"{name}.log", args.limit_s, sampler)
    finally:
        sampler.sample()
        sampler.close()
        counts = trackers.stop()
    s = summary or {}
    acked = (s.get("started_acked") or 0) + (s.get("stopped_acked") or 0)
    resent = s.get("retransmits")
    if resent is None and s.get("udp_announces_sent") is not None and scenario != "healthy":
        # Every announce datagram beyond one per answered announce (the UDP-only scenarios: the
        # contender counts UDP datagrams, the answers of both transports).
        resent = s["udp_announces_sent"] - acked
    row = {
        "contender": name, "torrents": n, "scenario": scenario, "exit": code, "wall_s": wall,
        "expected": s.get("expected"), "started_acked": s.get("started_acked"),
        "stopped_acked": s.get("stopped_acked"),
        "all_started_s": s.get("all_started_s"), "udp_started_s": s.get("udp_started_s"),
        "http_started_s": s.get("http_started_s"),
        "done_s": s.get("done_s"),
        "failed": s.get("failed"), "stopped_failed": s.get("stopped_failed"),
        "retransmits": s.get("retransmits"),
        "connects_sent": s.get("udp_connects_sent"), "announces_sent": s.get("udp_announces_sent"),
        "client_drops": sampler.total("client"),
        "tracker_drops": sum(sampler.total(f"tracker{i}") for i in range(len(trackers.parts))),
        "system_rcvbuf_errors": procs.snmp_rcvbuf_errors() - snmp0,
        "cpu_s": cpu,
        "cpu_us_per_announce": cpu / acked * 1e6 if acked else None,
        "rss_mib": rss_kib / 1024 if rss_kib else None,
        "rss_file_kib": sampler.file.get("client") or None,
        "rss_anon_kib": sampler.anon.get("client") or None,
        "work_cpu_s": s.get("work_cpu_s"),
        "proxy_forwarded": counts.get("forwarded"), "proxy_dropped": counts.get("dropped"),
        "resent": resent,
    }
    if summary is None:
        log = (tmp / f"{name}.log").read_text(errors="replace")[-2000:]
        print(f"warning: {name} printed no summary (exit {code}); its log ends:\n{log}", file=sys.stderr)
    return row


def finished(row):
    """The time until every `started` and every `stopped` was answered, or None."""
    expected = row["expected"]
    if row["all_started_s"] is None or not expected or row["stopped_acked"] != expected:
        return None
    return row["done_s"]


def spread(values, fmt):
    vals = [v for v in values if v is not None]
    missing = len(values) - len(vals)
    if not vals:
        return "n/a"
    if len(vals) == 1:
        text = fmt(vals[0])
    else:
        text = f"{fmt(statistics.median(vals))} ({fmt(min(vals))}-{fmt(max(vals))})"
    return text + (f", {missing} run(s) n/a" if missing else "")


def secs(v):
    return f"{v:.3f} s" if v < 10 else f"{v:.1f} s"


def num(v):
    return f"{v:,.0f}"


def ratio(v):
    return f"{v:.2f}x"


def table(rows, scenario, n, contenders, runs):
    """Markdown: one row per contender, median (min-max) over runs."""
    by = {c: [r for r in rows if r["contender"] == c and r["scenario"] == scenario and r["torrents"] == n]
          for c in contenders}
    out = [f"\n#### N = {n:,}, {scenario} ({runs} runs; median (min-max))\n",
           "| contender | all started | UDP started | HTTP started | started + stopped | answered (started + stopped) "
           "| failed (stopped given up) | resent | drops client / tracker | CPU | CPU per announce | peak RSS |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c, rs in by.items():
        if not rs:
            continue
        col = lambda k, f: spread([r.get(k) for r in rs], f)  # noqa: E731
        complete = all(r["expected"] and r["started_acked"] == r["stopped_acked"] == r["expected"] for r in rs)
        answered = f"all {rs[0]['expected']:,} + {rs[0]['expected']:,}" if complete else "; ".join(
            f"{r['started_acked'] or 0:,} + {r['stopped_acked'] or 0:,} of {(r['expected'] or 0):,}" for r in rs)
        drops = "; ".join(f"{r['client_drops']:,}/{r['tracker_drops']:,}" for r in rs)
        given_up = sum(r.get("stopped_failed") or 0 for r in rs)
        failed = col('failed', num) + (f" ({given_up:,} in all)" if given_up else "")
        out.append(
            f"| {c} | {col('all_started_s', secs)} | {col('udp_started_s', secs)} | {col('http_started_s', secs)} "
            f"| {col('done_s', secs)} | {answered} | {failed} | {col('resent', num)} | {drops} | {col('cpu_s', secs)} "
            f"| {col('cpu_us_per_announce', lambda v: f'{v:.1f} us')} | {col('rss_mib', lambda v: f'{v:.1f} MiB')} |")
    extras = [r for rs in by.values() for r in rs if r["proxy_forwarded"] is not None]
    if extras:
        out.append("\nProxy (the slow tracker): requests forwarded / dropped (share dropped) per run: " + "; ".join(
            f"{r['contender']} {r['proxy_forwarded']:,}/{r['proxy_dropped']:,} "
            f"({100 * r['proxy_dropped'] / max(1, r['proxy_forwarded'] + r['proxy_dropped']):.1f} %)" for r in extras))
        seen = [r for r in extras if r.get("connects_sent") is not None]
        if seen:
            # Forwarded to the tracker and neither a connect nor the announce answered: announces
            # the tracker got twice (a repeat whose first copy was not dropped after all).
            out.append("\nAnnounces the slow tracker got twice (forwarded less connects sent less answered) per run: "
                       + "; ".join(f"{r['contender']} {max(0, r['proxy_forwarded'] - r['connects_sent'] - (r['started_acked'] or 0) - (r['stopped_acked'] or 0)):,}"
                                   for r in seen))
    floor = {r["run"]: r for r in by.get("floor", [])}
    over = [(r["contender"], (r["rss_mib"] - floor[r["run"]]["rss_mib"]) * MIB / n)
            for c, rs in by.items() if c != "floor" for r in rs
            if r["rss_mib"] and r["run"] in floor and floor[r["run"]]["rss_mib"]]
    if over:
        out.append("\nPeak RSS above the floor's in the same run, per torrent (target: at most 1,024 B): " + "; ".join(
            f"{c} {b:,.0f} B" for c, b in over))
    # Where the difference lies: pages of the executable and libraries (a fixed cost of the code
    # linked and run, whatever N) and anonymous memory (what grows with the torrents).
    split = [(r["contender"], r["rss_file_kib"] - floor[r["run"]]["rss_file_kib"],
              (r["rss_anon_kib"] - floor[r["run"]]["rss_anon_kib"]) * 1024 / n)
             for c, rs in by.items() if c != "floor" for r in rs
             if r.get("rss_file_kib") and r.get("rss_anon_kib") and r["run"] in floor
             and floor[r["run"]].get("rss_file_kib") and floor[r["run"]].get("rss_anon_kib")]
    if split:
        out.append("\nOf that, highest RSS sampled every 25 ms, split: file-backed pages (RssFile: code and "
                   "read-only data of the executable and libraries) above the floor's, and anonymous memory "
                   "(RssAnon: heap, stacks) above the floor's per torrent: " + "; ".join(
                       f"{c} {f:+,} KiB files, {a:+,.0f} B anonymous" for c, f, a in split))
    lt = [r for rs in by.values() for r in rs if r["work_cpu_s"] is not None]
    if lt:
        out.append("\nlibtorrent CPU without Python start-up and session set-up (its own getrusage): " + "; ".join(
            f"{r['contender']} {r['work_cpu_s']:.2f} s" for r in lt))
    return out


def ratios(rows, scenario, n, contenders, runs):
    """Markdown: per contender, its figure over the floor's and libtorrent-4MiB's in the same run."""
    keys = [("all_started_s", "all started"), ("done_s", "started + stopped"), ("cpu_s", "CPU"),
            ("cpu_us_per_announce", "CPU per announce"), ("rss_mib", "peak RSS")]
    out = []
    for base in ("floor", "libtorrent-4MiB"):
        if base not in contenders:
            continue
        out += [f"\nRatios to {base} (pairs from the same run; median (min-max)):\n",
                "| contender | " + " | ".join(k[1] for k in keys) + " |", "|---|" + "---|" * len(keys)]
        for c in contenders:
            if c == base:
                continue
            cells = []
            for key, _ in keys:
                vals = []
                for run in range(runs):
                    pick = lambda who: [r for r in rows if r["contender"] == who and r["scenario"] == scenario  # noqa: E731
                                        and r["torrents"] == n and r["run"] == run]
                    a, b = pick(c), pick(base)
                    if a and b and a[0][key] is not None and b[0][key]:
                        vals.append(a[0][key] / b[0][key])
                    else:
                        vals.append(None)
                cells.append(spread(vals, ratio))
            out.append(f"| {c} | " + " | ".join(cells) + " |")
    return out


def commit():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def interrupted(signum, frame):
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop every process started


def main():
    signal.signal(signal.SIGTERM, interrupted)
    args = parse_args()
    ns = [int(x.replace("_", "")) for x in args.torrents.split(",") if x]
    contenders = [c for c in args.contenders.split(",") if c]
    scenarios = [s for s in args.scenarios.split(",") if s]
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        if isinstance(saved, list):  # rows only: take the rest from the command line
            saved = {"header": [f"Rows of {args.from_json}."], "torrents": ns, "scenarios": scenarios,
                     "contenders": contenders, "runs": args.runs, "rows": saved}
        print(render(saved["header"], saved["rows"], saved["torrents"], saved["scenarios"],
                     saved["contenders"], saved["runs"]))
        return
    for s in scenarios:
        if s not in ("healthy", "udp-only", "slow-udp"):
            raise SystemExit(f"unknown scenario {s}: use healthy, udp-only, slow-udp")
    udp_kind = args.udp_tracker
    if udp_kind == "auto":
        udp_kind = "aquatic" if shutil.which("aquatic_udp") else "embedded"
    if udp_kind == "aquatic" and not shutil.which("aquatic_udp"):
        raise SystemExit("aquatic_udp is not installed: cargo install aquatic_udp --locked "
                         "--no-default-features --features mimalloc (or --udp-tracker embedded)")
    lt_version = "not installed"
    if any(c.startswith("libtorrent") for c in contenders):
        try:
            import libtorrent
            lt_version = libtorrent.__version__
        except ImportError:
            raise SystemExit("libtorrent's Python bindings are missing: pip install libtorrent "
                             "(or --contenders floor,bt-tracker)")
    if not args.no_build:
        build()
    aq_version = "-"
    if udp_kind == "aquatic":
        aq_version = subprocess.run(["aquatic_udp", "--version"], capture_output=True, text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bt-startup-") as tmp:
        tmp = Path(tmp)
        for n in ns:
            for run in range(args.runs):
                for scenario in scenarios:
                    for c in contenders:
                        if scenario == "slow-udp" and c == "libtorrent-default":
                            continue  # the slow tracker's loss, not the client's buffer, is measured there
                        print(f"N={n} run {run + 1}/{args.runs} {scenario}: {c} ...", file=sys.stderr, flush=True)
                        row = measure(c, n, scenario, args, udp_kind, tmp)
                        row["run"] = run
                        rows.append(row)
                        print(f"  {json.dumps({k: row[k] for k in ('all_started_s', 'done_s', 'failed', 'client_drops', 'tracker_drops', 'cpu_s', 'rss_mib')})}",
                              file=sys.stderr, flush=True)
    udp_name = f"aquatic_udp {aq_version}" if udp_kind == "aquatic" else "the embedded tracker (examples/common/embedded.rs)"
    rss_how = ("GNU time's %M" if os.access(procs.TIME, os.X_OK)
               else "VmHWM sampled every 25 ms (apt-get install time for exact figures)")
    header = [f"Measured {datetime.date.today()} on commit {commit()}, {platform.system()} {platform.release()}, "
              f"{os.cpu_count()} CPUs; UDP tracker: {udp_name}; HTTP tracker: the embedded one; "
              f"libtorrent {lt_version}; slow-udp: at most {args.rate} requests/s; "
              f"limit {args.limit_s} s per contender.",
              "Times from each process's own start of work; CPU (user + sys) of the whole process (wait4); "
              f"per announce = CPU / (started + stopped answered); peak RSS = {rss_how}; "
              "drops = /proc/net/udp `drops` of the client's sockets / the tracker's (and proxy's) sockets, "
              "one figure per run."]
    if args.json_out:
        saved = {"header": header, "torrents": ns, "scenarios": scenarios, "contenders": contenders,
                 "runs": args.runs, "rows": rows}
        Path(args.json_out).write_text(json.dumps(saved, indent=1))
    print(render(header, rows, ns, scenarios, contenders, args.runs))


def render(header, rows, ns, scenarios, contenders, runs):
    for r in rows:
        r["done_s"] = finished(r)
    out = list(header)
    for n in ns:
        for scenario in scenarios:
            shown = [c for c in contenders if not (scenario == "slow-udp" and c == "libtorrent-default")]
            out += table(rows, scenario, n, shown, runs)
            out += ratios(rows, scenario, n, shown, runs)
    return "\n".join(out)


if __name__ == "__main__":
    main()
