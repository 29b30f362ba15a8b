#!/usr/bin/env bash
# bench/isolate.sh [BUILD_DIR] [N] [REPS] - what `supervise run --isolate`
# costs per job: N jobs of /bin/true at -j 1 for each mode (none, net, cwd,
# tmp, net,cwd,tmp), REPS times in turn, as root (namespaces made directly)
# and unprivileged (uid 65534 through setpriv: inside a user namespace, and
# the PID namespace mechanism). Prints the median time per job of each mode
# and its overhead against none, in ms.
#
# cwd's per-job directory goes in $TMPDIR (default /tmp): its cost is a
# mkdir and a recursive removal there, so it depends on that filesystem
# (3-5 ms a pair on this machine's ext4, ~0 on tmpfs). Knobs: CLI (the
# supervise binary), MODES (space-separated), TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
N=${2:-200}
REPS=${3:-5}
CLI=${CLI:-$build/supervisor/supervise}
MODES=${MODES:-none net cwd tmp net,cwd,tmp}
export TMPDIR=${TMPDIR:-/tmp}

tmp=$(mktemp -d /var/tmp/sv-isolate-bench.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < N; i++)); do
        echo /bin/true
done >"$tmp/jobs.txt"
chmod 644 "$tmp/jobs.txt"

users=(root)
[ "$(id -u)" = 0 ] || users=(user)
[ "$(id -u)" = 0 ] && users+=(nobody)

# one USER MODE: prints the wall time of one run in ms.
one() {
        local who=$1 mode=$2 t0 t1 pre=() args=()
        [ "$who" = nobody ] && pre=(setpriv --reuid=65534 --regid=65534 --clear-groups)
        [ "$mode" = none ] || args=(--isolate "$mode")
        t0=$(date +%s%N)
        (cd /tmp && "${pre[@]}" "$CLI" run -q -j 1 "${args[@]}" --from "$tmp/jobs.txt") ||
                { echo "supervise run failed ($who, $mode)" >&2; exit 1; }
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000))
}

for who in "${users[@]}"; do
        for ((r = 0; r < REPS; r++)); do
                for m in $MODES; do
                        echo "$who $m $(one "$who" "$m")"
                done
        done
done >"$tmp/times"

python3 - "$tmp/times" "$N" "$REPS" "$TMPDIR" <<'EOF'
import statistics, sys
path, n, reps, tmpdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t = {}
for line in open(path):
    who, mode, us = line.split()
    t.setdefault((who, mode), []).append(int(us) / 1000.0 / n)
print(f"{n} jobs of /bin/true at -j 1, median of {reps} runs; TMPDIR={tmpdir}")
print(f"{'as':7} {'mode':12} {'ms/job':>7} {'overhead ms':>12}")
for (who, mode), v in t.items():
    base = statistics.median(t[(who, "none")]) if (who, "none") in t else None
    med = statistics.median(v)
    over = "-" if mode == "none" or base is None else f"{med - base:+.2f}"
    print(f"{who:7} {mode:12} {med:7.2f} {over:>12}")
EOF
