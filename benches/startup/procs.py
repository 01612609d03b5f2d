"""Process plumbing for run.py: start and stop helpers by pid, run a contender to its end with its
rusage, and sample the UDP drop counters of a process's sockets while it runs."""

import json
import os
import select
import signal
import subprocess
import threading
import time
from pathlib import Path


class Helper:
    """A helper process (tracker, proxy) that prints one JSON line when ready and exits when its
    standard input closes; stopped by pid if it does not."""

    def __init__(self, argv, log: Path, ready_timeout=10.0):
        self.argv = argv
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log
        )
        self.info = json.loads(read_line(self.proc, ready_timeout, argv))

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        """Closes stdin and returns the helper's last JSON line ({} if none)."""
        last = {}
        try:
            self.proc.stdin.close()
            line = read_line(self.proc, 5.0, self.argv, fail=False)
            last = json.loads(line) if line else {}
        except (OSError, ValueError):
            pass
        stop_pid(self.proc)
        self.log.close()
        return last


class Daemon:
    """A helper without the stdin protocol (aquatic_udp): stopped with SIGTERM, then SIGKILL."""

    def __init__(self, argv, log: Path):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log
        )

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        stop_pid(self.proc)
        self.log.close()
        return {}


def read_line(proc, timeout, argv, fail=True):
    """One line of the process's stdout within `timeout` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode() if ready else ""
    if not line and fail:
        stop_pid(proc)
        raise RuntimeError(f"{argv[0]} printed nothing in {timeout} s: see its log")
    return line


def stop_pid(proc, grace=5.0):
    """Ends one process we started, by its pid: SIGTERM, then SIGKILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def udp_drops_by_inode():
    """The `drops` column of /proc/net/udp and udp6, by socket inode."""
    drops = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) >= 13:
                drops[f[9]] = int(f[12])
    return drops


def socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        pass
    return inodes


def memory_kib(pid):
    """The process's peak resident set (VmHWM) and its resident pages now, split into pages of
    files (RssFile: the executable's and libraries' code and read-only data, clean and shared
    with the page cache) and anonymous ones (RssAnon: heap, stacks, written data), in KiB; all 0
    once it is gone."""
    want = {"VmHWM:": 0, "RssFile:": 0, "RssAnon:": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(maxsplit=1)[0] if line else ""
            if key in want:
                want[key] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return want["VmHWM:"], want["RssFile:"], want["RssAnon:"]


def first_child(pid):
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(kids[0]) if kids else None
    except (OSError, ValueError):
        return None


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


class Sampler:
    """Polls, every `period` seconds, the drop counters of the UDP sockets of some pids (keeping
    the highest value seen per socket: a socket's counter goes when its process exits), their
    peak RSS, and the highest file-backed and anonymous parts of their RSS seen (sampled: the
    kernel keeps no peak of either). VmHWM is read here because wait4's ru_maxrss keeps the
    high-water mark of the process that forked before exec (this Python), not the contender's
    own."""

    def __init__(self, period=0.025):
        self.period = period
        self.pids = {}
        self.best = {}  # (label, inode) -> drops
        self.hwm = {}  # label -> KiB
        self.file = {}  # label -> KiB, highest RssFile sampled
        self.anon = {}  # label -> KiB, highest RssAnon sampled
        self.argv = {}  # label -> the command line to wait for
        self.parents = set()  # labels whose pid is a wrapper: sample its child
        self.quit = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def watch(self, label, pid, argv=None, via_parent=False):
        """Samples `pid` (or with `via_parent` its first child) under `label`; with `argv`, its
        RSS only once it runs that command line (between fork and exec it is a copy of its
        parent)."""
        self.pids[label] = pid
        if via_parent:
            self.parents.add(label)
        if argv is not None:
            self.argv[label] = "\0".join(argv) + "\0"

    def sample(self):
        table = udp_drops_by_inode()
        for label, pid in list(self.pids.items()):
            if label in self.parents:
                pid = first_child(pid)
                if pid is None:
                    continue
            want = self.argv.get(label)
            if want is None or cmdline(pid) == want:
                hwm, file, anon = memory_kib(pid)
                self.hwm[label] = max(self.hwm.get(label, 0), hwm)
                self.file[label] = max(self.file.get(label, 0), file)
                self.anon[label] = max(self.anon.get(label, 0), anon)
            for inode in socket_inodes(pid):
                if inode in table:
                    key = (label, inode)
                    self.best[key] = max(self.best.get(key, 0), table[inode])

    def _run(self):
        while not self.quit.wait(self.period):
            self.sample()

    def total(self, label):
        return sum(v for (l, _), v in self.best.items() if l == label)

    def close(self):
        self.quit.set()
        self.thread.join()


def snmp_rcvbuf_errors():
    """System-wide Udp RcvbufErrors (and Udp6), from /proc/net/snmp and snmp6."""
    total = 0
    try:
        lines = Path("/proc/net/snmp").read_text().splitlines()
        heads = [l.split() for l in lines if l.startswith("Udp:")]
        if len(heads) == 2:
            total += int(heads[1][heads[0].index("RcvbufErrors")])
        for line in Path("/proc/net/snmp6").read_text().splitlines():
            if line.startswith("Udp6RcvbufErrors"):
                total += int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return total


# GNU time forks the contender from a 1-2 MiB process and reports the child's own peak RSS.
TIME = "/usr/bin/time"


def run_contender(argv, log: Path, limit_s, sampler: Sampler, label="client"):
    """Runs a contender to its end; returns (its last stdout line as JSON or None, CPU seconds,
    peak RSS in KiB or None, exit status, wall seconds). Killed by pid after 2 * `limit_s` + 30 s.

    wait4's ru_maxrss would keep the high-water mark of this Python, which forked it; so the
    contender runs under GNU time (apt-get install time), whose %M is the contender's own, or,
    without it, its VmHWM is sampled (which misses a process shorter than the sampling period)."""
    rss_file = log.with_suffix(".rss")
    wrapped = os.access(TIME, os.X_OK)
    full = [TIME, "-f", "%M", "-o", str(rss_file), *argv] if wrapped else argv
    with open(log, "ab") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=err)
        sampler.watch(label, proc.pid, argv, via_parent=wrapped)
        # Stopping may take as long as starting did (the `stopped` announces go at the tracker's
        # pace): a contender that used `limit_s` to start gets as long again to stop.
        watchdog = threading.Timer(2 * limit_s + 30, lambda: stop_pid(proc, grace=2))
        watchdog.start()
        try:
            out = proc.stdout.read().decode()
            sampler.sample()
            # wait4 reaps it with its resource usage: every thread, user and system, and the
            # children it waited for (the contender, under GNU time).
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            except ChildProcessError:
                # The watchdog stopped and reaped it (it overran limit_s + 30 s): no rusage.
                status, usage = 0, None
        except BaseException:
            watchdog.cancel()
            stop_pid(proc, grace=2)
            raise
        proc.returncode = os.waitstatus_to_exitcode(status) if usage else proc.returncode
        watchdog.cancel()
        wall = time.monotonic() - t0
    rss = sampler.hwm.get(label) or None
    if wrapped:
        try:
            rss = int(rss_file.read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    summary = None
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            summary = json.loads(line)
            break
    cpu = usage.ru_utime + usage.ru_stime if usage else float("nan")
    return summary, cpu, rss, proc.returncode, wall
