#!/usr/bin/env bash
# bench/run_timeouts.sh [BUILD_DIR] [N] - `supervise run -j N` with N jobs that
# all time out together (issue 8: 2,000 took 36.7 s; the target is the
# ladder's time plus 2 s after the deadline).
#
# Runs N copies of `sv-sleep forever` with --timeout $TIMEOUT and the ladder
# TERM:$GRACE,KILL (sv-sleep dies at TERM), with an events file, and prints
# the phases read from it: when the last job started, how long the hang
# diagnostics of all N took, when the last one exited, and the wall time
# from the last deadline to the end against the target, and how late each
# job's stop signal and exit came after its own deadline. Set CLI=path to
# measure another binary (e.g. main's) with the same workers.
# Knobs: TIMEOUT (1s), GRACE (1s). Needs python3 and ulimit -n > 4 * N.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
N=${2:-2000}
TIMEOUT=${TIMEOUT:-1s}
GRACE=${GRACE:-1s}
CLI=${CLI:-$build/supervisor/supervise}
W=$build/workers

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < N; i++)); do
        echo "$W/sv-sleep forever"
done >"$tmp/jobs.txt"

start=$(date +%s.%N)
set +e
"$CLI" run -q -j "$N" --timeout "$TIMEOUT" --stop "TERM:$GRACE,KILL" \
        --from "$tmp/jobs.txt" --events "$tmp/events.jsonl" >/dev/null 2>"$tmp/err"
status=$?
set -e
end=$(date +%s.%N)

python3 - "$tmp/events.jsonl" "$N" "$status" "$start" "$end" "$TIMEOUT" "$GRACE" <<'EOF'
import json, sys
path, n, status, t0, t1, timeout, grace = sys.argv[1:]
def ms(d):
    d = d.strip()
    for suf, k in (("ms", 1), ("s", 1000), ("m", 60000)):
        if d.endswith(suf):
            return float(d[: -len(suf)]) * k
    return float(d) * 1000
ev = [json.loads(l) for l in open(path) if l.endswith("\n")]
def times(kind):
    return sorted(e["t_ms"] for e in ev if e["event"] == kind)
spawn, diag, exits = times("spawn"), times("diag"), times("exit")
timed_out = sum(1 for e in ev if e["event"] == "exit" and e.get("verdict") == "timeout")
last_deadline = spawn[-1] + ms(timeout) if spawn else 0
end_ms = times("end")[-1] if times("end") else exits[-1]
after = end_ms - last_deadline
target = ms(grace) + 2000
print(f"jobs {n}, exit status {status}, {timed_out} timed out, wall {float(t1) - float(t0):.1f} s")
print(f"  spawning:          last job started at {spawn[-1] / 1000:.2f} s")
if diag:
    print(f"  hang diagnostics:  {len(diag)} from {diag[0] / 1000:.2f} s to {diag[-1] / 1000:.2f} s "
          f"({(diag[-1] - diag[0]) / 1000:.2f} s)")
print(f"  exits:             {len(exits)}, last at {exits[-1] / 1000:.2f} s")
# Each job's own deadline (its spawn + the timeout) against its first stop
# signal and its exit: a burst spawned in one loop turn fires the first
# jobs' deadlines only after the last spawn, which the line below hides.
first = {}
for e in ev:
    if e["event"] in ("spawn", "signal", "exit"):
        first.setdefault((e["event"], e["job"]), e["t_ms"])
late_sig, late_exit = [], []
for (kind, job), t in first.items():
    if kind != "spawn":
        continue
    due = t + ms(timeout)
    if ("signal", job) in first:
        late_sig.append(first[("signal", job)] - due)
    if ("exit", job) in first:
        late_exit.append(first[("exit", job)] - due)
def med_max(v):
    v = sorted(v)
    return (v[len(v) // 2] / 1000, v[-1] / 1000) if v else (0, 0)
print("  each job's signal after its own deadline: median {:.2f} s, max {:.2f} s".format(*med_max(late_sig)))
print("  each job's exit after its own deadline:   median {:.2f} s, max {:.2f} s".format(*med_max(late_exit)))
print(f"  last deadline -> end of run: {after / 1000:.2f} s "
      f"(target: ladder {ms(grace) / 1000:.1f} s + 2 s = {target / 1000:.1f} s: "
      f"{'met' if after <= target else 'NOT met'})")
EOF
