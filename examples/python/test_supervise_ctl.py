#!/usr/bin/env python3
"""test_supervise_ctl.py SUPERVISE WORKERS_DIR - supervise_ctl.py against a
live supervisor: `supervise -n 3 --control SOCK` runs three sleepers; the
client lists them, follows events, kills worker 1 alone, sees its exit in
the stream and in the list (the others still running), is refused for a
worker that does not exist, and shuts the supervisor down, whose socket is
then gone. Waits on output and events, never on time. Exit 0 = pass."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from supervise_ctl import Control, ControlError  # noqa: E402


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    supervise, workers = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="sv-pyctl-")
    sock = os.path.join(tmp, "ctl.sock")
    sv = subprocess.Popen([supervise, "-n", "3", "--control", sock, "--json", "-", "-q", "--",
                           os.path.join(workers, "sv-sleep"), "forever"], stdout=subprocess.PIPE)
    try:
        # The socket listens before the first copy starts: three start lines mean it is there.
        for _ in range(3):
            check(json.loads(sv.stdout.readline())["event"] == "start", "a start line")
        follower = Control(sock)
        stream = follower.events()
        with Control(sock) as ctl:
            ws = ctl.list()["workers"]
            check([w["state"] for w in ws] == ["running"] * 3, "three running: %r" % ws)
            pid1 = ws[1]["pid"]
            ctl.signal(1, "KILL")
            for ev in stream:
                if ev.get("event") == "exit" and ev.get("worker") == 1:
                    check(ev["exit"]["signal"] == "SIGKILL", "killed: %r" % ev)
                    break
            ws = ctl.list()["workers"]
            check(ws[1]["state"] == "exited" and ws[1]["last_exit"]["pid"] == pid1, "1 exited: %r" % ws[1])
            check(ws[0]["state"] == "running" and ws[2]["state"] == "running", "0, 2 running")
            try:
                ctl.stop(9)
                check(False, "stop 9 refused")
            except ControlError as e:
                check("worker 9" in str(e), "the reason names the worker: %s" % e)
            ctl.shutdown()
        follower.close()
        sv.stdout.read()
        status = sv.wait(timeout=60)
        check(status != 125, "supervise ended by itself: %d" % status)
        check(not os.path.exists(sock), "the socket is removed at exit")
    finally:
        if sv.poll() is None:
            sv.kill()
            sv.wait()
        if os.path.exists(sock):
            os.unlink(sock)
        os.rmdir(tmp)
    print("supervise_ctl.py: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
