#!/usr/bin/env python3
"""bench_find.py - `supervise ps --count` and `supervise kill` against procps'
`pgrep -c` and `pkill`, on the same process table in the same run.

It starts FILLER extra sleeping processes (default 1000) so the table is
realistically big, then, in alternating order so drift hits both tools alike:

  count: `supervise ps --name T --count`  vs  `pgrep -c -x T`   (TARGETS alive)
  kill:  `supervise kill --name T`        vs  `pkill -x T`      (TARGETS fresh
         copies before every timed run; each run must end all of them)

and prints medians (min-max) in ms and the ratio supervise/procps (< 1.0:
supervise is faster). Only the tool's own run is timed (spawn to reap).
Every process it starts is its own child and is killed and reaped on exit,
also on Ctrl-C. No shell is involved.

Usage: bench/find/bench_find.py [--supervise PATH] [--sleeper PATH]
                                [--filler N] [--targets N] [--runs N]
"""
import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time


def spawn(argv, quiet=True):
    fa = []
    if quiet:
        fa = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
              (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)


def timed(argv):
    """Runs argv to completion; returns (seconds, exit status)."""
    t0 = time.perf_counter()
    pid = spawn(argv)
    _, status = os.waitpid(pid, 0)
    return time.perf_counter() - t0, os.waitstatus_to_exitcode(status)


class Table:
    """Our sleeping children, by pid; all of them are killed on close()."""

    def __init__(self):
        self.pids = set()

    def start(self, path, n):
        started = [spawn([path, "forever"]) for _ in range(n)]
        self.pids.update(started)
        return started

    def reap(self, pids, timeout=10.0):
        """Waits for pids (already signalled by the tool under test)."""
        deadline = time.monotonic() + timeout
        left = set(pids)
        while left and time.monotonic() < deadline:
            for pid in list(left):
                r, _ = os.waitpid(pid, os.WNOHANG)
                if r:
                    left.discard(pid)
                    self.pids.discard(pid)
            if left:
                time.sleep(0.002)
        return left

    def close(self):
        # Our own unreaped children: their pids cannot have been recycled.
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self.pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.pids.clear()


def wait_exec(pids, name):
    """Waits until every pid runs under `name` (exec done)."""
    deadline = time.monotonic() + 10
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().rstrip("\n") == name:
                        break
            except FileNotFoundError:
                break
            time.sleep(0.001)


def summary(xs):
    ms = [x * 1000 for x in xs]
    return statistics.median(ms), min(ms), max(ms)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--supervise", default=os.path.join(root, "build/supervisor/supervise"))
    ap.add_argument("--sleeper", default=os.path.join(root, "build/workers/sv-sleep"))
    ap.add_argument("--filler", type=int, default=1000)
    ap.add_argument("--targets", type=int, default=20)
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    for tool in ("pgrep", "pkill"):
        if not shutil.which(tool):
            sys.exit(f"bench_find: {tool} not found")
    pgrep, pkill = shutil.which("pgrep"), shutil.which("pkill")
    sv = os.path.abspath(args.supervise)
    for path in (sv, args.sleeper):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench_find: cannot run '{path}' (build first, or pass --supervise/--sleeper)")

    tmp = tempfile.mkdtemp(prefix="svbench.")
    tag = f"{os.getpid() % 100000}"
    filler_name, target_name = f"svfill{tag}", f"svtgt{tag}"
    filler = os.path.join(tmp, filler_name)
    target = os.path.join(tmp, target_name)
    os.symlink(os.path.abspath(args.sleeper), filler)
    os.symlink(os.path.abspath(args.sleeper), target)
    table = Table()
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        wait_exec(table.start(filler, args.filler), filler_name)
        nprocs = sum(1 for d in os.listdir("/proc") if d.isdigit())
        print(f"process table: {nprocs} processes ({args.filler} of them filler), plus "
              f"{args.targets} targets; {args.runs} runs each, alternating order")

        # Warm-up: page cache, dynamic loader.
        for argv in ([sv, "ps", "--name", "x", "--count"], [pgrep, "-c", "-x", "x"]):
            timed(argv)

        targets = table.start(target, args.targets)
        wait_exec(targets, target_name)
        count = {"supervise": [], "pgrep": []}
        for i in range(args.runs):
            order = [("supervise", [sv, "ps", "--name", target_name, "--count"]),
                     ("pgrep", [pgrep, "-c", "-x", target_name])]
            for name, argv in (order if i % 2 == 0 else order[::-1]):
                t, rc = timed(argv)
                if rc != 0:
                    sys.exit(f"bench_find: {name} count exited {rc}")
                count[name].append(t)
        for pid in targets:
            os.kill(pid, signal.SIGKILL)  # our unreaped children: safe
        table.reap(targets)

        kill = {"supervise": [], "pkill": []}
        for i in range(args.runs):
            order = [("supervise", [sv, "kill", "--name", target_name]),
                     ("pkill", [pkill, "-x", target_name])]
            for name, argv in (order if i % 2 == 0 else order[::-1]):
                fresh = table.start(target, args.targets)
                wait_exec(fresh, target_name)
                t, rc = timed(argv)
                if rc != 0:
                    sys.exit(f"bench_find: {name} kill exited {rc}")
                if table.reap(fresh):
                    sys.exit(f"bench_find: {name} left targets alive")
                kill[name].append(t)

        def row(label, mine, theirs, their_name):
            m, t = summary(mine), summary(theirs)
            print(f"{label:<28} supervise {m[0]:7.2f} ms ({m[1]:.2f}-{m[2]:.2f})   "
                  f"{their_name} {t[0]:7.2f} ms ({t[1]:.2f}-{t[2]:.2f})   ratio {m[0] / t[0]:.2f}x")

        row("scan+match+count", count["supervise"], count["pgrep"], "pgrep -c")
        row(f"scan+kill ({args.targets} targets)", kill["supervise"], kill["pkill"], "pkill   ")
    finally:
        table.close()
        signal.signal(signal.SIGINT, old)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
