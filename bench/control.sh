#!/bin/sh
# bench/control.sh [BUILD_DIR] - the control socket's targets (issue 11),
# against BUILD_DIR/supervisor/supervise (default: build):
#   1. `supervise ctl PATH list` on 1,000 workers: the median of 30 runs of
#      the ctl program (exec included), the median of 300 round trips on one
#      open connection (the server's own cost), and that per worker;
#   2. where supervisorctl is installed (apt-get install supervisor),
#      `supervisorctl status` on 100 programs, median of 30, and the ratio;
#   3. supervise's RSS before and after 100 idle clients connect: per client;
#   4. `strace -c -f -p` of an idle supervise with 100 workers and a control
#      socket, over 10 s: the syscalls it makes between events (want none).
# Prints one line per number. Leaves nothing running: each supervise is
# shut down through its socket, supervisord by its pid.
set -eu
build=${1:-build}
SV=$(cd "$build" && pwd)/supervisor/supervise
SLEEP=$(cd "$build" && pwd)/workers/sv-sleep
tmp=$(mktemp -d /tmp/sv-bench-ctl.XXXXXX)
svpid=""
cleanup() {
	[ -n "$svpid" ] && kill "$svpid" 2>/dev/null && wait "$svpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# start N: supervise -n N --control $tmp/ctl.sock, until N workers run.
start() {
	"$SV" -n "$1" -q --control "$tmp/ctl.sock" -- "$SLEEP" forever &
	svpid=$!
	python3 - "$tmp/ctl.sock" "$1" <<'PY'
import json, socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
while True:
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rb")
        s.sendall(b'{"cmd":"list"}\n')
        if sum(w["state"] == "running" for w in json.loads(f.readline())["workers"]) == n:
            break
        s.close()
    except OSError:
        pass
    time.sleep(0.1)
PY
}

stop() {
	"$SV" ctl "$tmp/ctl.sock" shutdown >/dev/null
	wait "$svpid" || true
	svpid=""
}

# median_ms CMD...: the median wall time of 30 runs of CMD, in ms.
median_ms() {
	python3 - "$@" <<'PY'
import statistics, subprocess, sys, time
t = []
for _ in range(30):
    a = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
    t.append((time.perf_counter() - a) * 1000)
print("%.2f" % statistics.median(t))
PY
}

echo "== 1. ctl list on 1,000 workers"
start 1000
ctl=$(median_ms "$SV" ctl "$tmp/ctl.sock" list --json)
rt=$(python3 - "$tmp/ctl.sock" <<'PY'
import socket, statistics, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rb")
t = []
for _ in range(300):
    a = time.perf_counter()
    s.sendall(b'{"cmd":"list"}\n'); line = f.readline()
    t.append((time.perf_counter() - a) * 1000)
print("%.2f %d" % (statistics.median(t), len(line)))
PY
)
echo "supervise ctl list (process, 1000 workers): median ${ctl} ms"
echo "list round trip on an open connection: median ${rt% *} ms for ${rt#* } bytes;" \
	"$(echo "${rt% *}" | awk '{printf "%.1f", $1 * 1000 / 1000}') us per worker"

echo "== 3. memory per connected client (100 idle clients)"
python3 - "$tmp/ctl.sock" "$svpid" <<'PY'
import socket, sys
path, pid = sys.argv[1], sys.argv[2]
def rss():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
def ask():
    s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rb")
    s.sendall(b'{"cmd":"list"}\n'); f.readline(); s.close()
ask()
before = rss()
clients = []
for _ in range(100):
    c = socket.socket(socket.AF_UNIX); c.connect(path); clients.append(c)
ask()  # answered after the 100 before it were accepted
after = rss()
print("RSS %d KiB -> %d KiB with 100 idle clients: %.2f KiB per client" % (before, after, (after - before) / 100))
PY
stop

echo "== 4. syscalls of an idle supervise (100 workers, control socket), 10 s"
start 100
timeout -s INT 10 strace -c -f -p "$svpid" -o "$tmp/strace.txt" 2>/dev/null || true
cat "$tmp/strace.txt"
calls=$(awk '$NF == "total" { print $(NF-2) }' "$tmp/strace.txt")
# strace -c prints no table at all when it saw no call.
echo "idle supervise: ${calls:-0} syscalls in 10 s${calls:+}$( [ -z "$calls" ] && echo ' (strace -c printed no row)')"
stop

echo "== 2. supervisorctl status on 100 programs"
if ! command -v supervisorctl >/dev/null || ! command -v supervisord >/dev/null; then
	echo "supervisorctl: not installed (apt-get install supervisor); no ratio"
	exit 0
fi
conf=$tmp/supervisord.conf
{
	printf '[unix_http_server]\nfile=%s/sd.sock\n\n' "$tmp"
	printf '[supervisord]\nlogfile=%s/sd.log\npidfile=%s/sd.pid\nchildlogdir=%s\n\n' "$tmp" "$tmp" "$tmp"
	printf '[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n'
	printf '[supervisorctl]\nserverurl=unix://%s/sd.sock\n\n' "$tmp"
	i=0
	while [ $i -lt 100 ]; do
		printf '[program:p%d]\ncommand=%s forever\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n\n' "$i" "$SLEEP"
		i=$((i + 1))
	done
} >"$conf"
supervisord -n -c "$conf" >"$tmp/sd.out" 2>&1 &
svpid=$!
until [ "$(supervisorctl -c "$conf" status 2>/dev/null | grep -c RUNNING)" = 100 ]; do sleep 0.2; done
sd=$(median_ms supervisorctl -c "$conf" status)
echo "supervisorctl status (100 programs): median ${sd} ms"
echo "ratio: ctl list on 1,000 / supervisorctl status on 100 = $(echo "$ctl $sd" | awk '{printf "%.2f", $1 / $2}')"
kill "$svpid"
wait "$svpid" 2>/dev/null || true
svpid=""
