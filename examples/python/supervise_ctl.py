#!/usr/bin/env python3
"""supervise_ctl.py - talk to a running `supervise --control PATH` from
Python, with the standard library only (socket, json).

The protocol (docs/control.md) is one JSON object per line each way: a
request {"id": ..., "cmd": ...}, then one answer {"id": ..., "ok": ...};
after "events", the answer is followed by one line per lifecycle event.

As a library:

    from supervise_ctl import Control
    with Control("/run/build.sock") as ctl:
        for w in ctl.list()["workers"]:
            print(w["worker"], w["pid"], w["state"])
        ctl.signal(3, "KILL", tree=True)     # a hung worker, with its children

As a program (exit 0 ok, 1 refused, 125 usage or connection error):

    python3 supervise_ctl.py PATH list
    python3 supervise_ctl.py PATH signal 3 TERM [--tree]
    python3 supervise_ctl.py PATH events
"""
import json
import socket
import sys


class ControlError(Exception):
    """The supervisor answered {"ok": false, "error": ...}."""

    def __init__(self, answer):
        super().__init__(answer.get("error", "refused"))
        self.answer = answer


class Control:
    """One connection to a control socket. Requests are answered in order."""

    def __init__(self, path, timeout=30.0):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(path)
        self._file = self._sock.makefile("rb")
        self._next_id = 1

    def close(self):
        self._file.close()
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self):
        line = self._file.readline()
        if not line:
            raise ConnectionError("the supervisor closed the connection")
        return json.loads(line)

    def request(self, cmd, **args):
        """Sends one request and returns its answer (a dict); raises
        ControlError when the answer is not ok."""
        req = dict(args, id=self._next_id, cmd=cmd)
        self._next_id += 1
        self._sock.sendall(json.dumps(req).encode() + b"\n")
        answer = self._read()
        if answer.get("id") != req["id"]:
            # No id: refused before our request was read (another uid).
            raise ControlError(answer)
        if not answer.get("ok"):
            raise ControlError(answer)
        return answer

    def list(self):
        return self.request("list")

    def tree(self, worker="all"):
        return self.request("tree", worker=worker)

    def signal(self, worker, sig, tree=False):
        return self.request("signal", worker=worker, signal=sig, tree=tree)

    def stop(self, worker):
        return self.request("stop", worker=worker)

    def restart(self, worker):
        return self.request("restart", worker=worker)

    def pause(self, worker):
        return self.request("pause", worker=worker)

    def resume(self, worker):
        return self.request("resume", worker=worker)

    def scale(self, n):
        return self.request("scale", n=n)

    def shutdown(self):
        return self.request("shutdown")

    def events(self):
        """Follows the lifecycle events: asks for them now, then returns an
        iterator over each event (a dict) until the supervisor ends. The
        connection is for events only after this."""
        self.request("events")
        self._sock.settimeout(None)
        return self._stream()

    def _stream(self):
        while True:
            line = self._file.readline()
            if not line:
                return
            yield json.loads(line)


def _worker(s):
    return s if s == "all" else int(s)


def main(argv):
    args = [a for a in argv[1:] if a != "--tree"]
    tree = len(args) != len(argv) - 1
    if len(args) < 2:
        print("usage: supervise_ctl.py PATH COMMAND [ARG]... (see docs/control.md)", file=sys.stderr)
        return 125
    path, cmd, rest = args[0], args[1], args[2:]
    try:
        with Control(path) as ctl:
            if cmd == "events":
                for ev in ctl.events():
                    print(json.dumps(ev), flush=True)
                return 0
            if cmd == "signal":
                answer = ctl.signal(_worker(rest[0]), rest[1], tree=tree)
            elif cmd in ("stop", "restart", "pause", "resume", "tree"):
                answer = ctl.request(cmd, worker=_worker(rest[0]) if rest else "all")
            elif cmd == "scale":
                answer = ctl.scale(int(rest[0]))
            else:
                answer = ctl.request(cmd)
            print(json.dumps(answer))
            return 0
    except ControlError as e:
        print("supervise_ctl.py: %s: %s" % (cmd, e), file=sys.stderr)
        return 1
    except (IndexError, ValueError):
        print("supervise_ctl.py: bad arguments for %r" % cmd, file=sys.stderr)
        return 125
    except OSError as e:
        print("supervise_ctl.py: %s: %s" % (path, e), file=sys.stderr)
        return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv))
