#!/usr/bin/env bash
# bench/scale.sh [BUILD_DIR] - supervise at scale (issue 8): one table.
#
#   (a) supervise -n N -- sleep 5 (N = 10,000): every copy reported, exit 0,
#       and its fds: run under an RLIMIT_NOFILE of exactly N + 64 (so more
#       fds would fail the run), plus the peak seen by sampling /proc/PID/fd.
#   (b) memory per live worker: VmRSS of `supervise -n M -- sleep 60` with
#       all M copies alive, minus that of `-n 1`, over M - 1 (M = 3,000);
#       beside the raw posix_spawn loop holding the same M.
#   (c) CLI throughput: supervise -n 1000 -- /bin/true (cgroup mechanism)
#       against the raw posix_spawn + waitpid loop with the same 1,000 in
#       flight, paired per round.
#   (d) wait system calls per child with 5,000 alive at once (strace -c on
#       the supervising process only).
#
# Knobs: SCALE_N (10000), RSS_N (3000), ROUNDS (5) for (b) and (c),
# WAIT_N (5000). The machine is shared: quote the ratios, which are taken
# per round, not the absolute numbers. Takes 3-6 minutes on 2 cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
SCALE_N=${SCALE_N:-10000}
RSS_N=${RSS_N:-3000}
ROUNDS=${ROUNDS:-5}
WAIT_N=${WAIT_N:-5000}
B=$build/bench
W=$build/workers
CLI=$build/supervisor/supervise
for f in "$B/raw_spawn" "$B/wall" "$W/sv-sleep" "$CLI"; do
        [[ -x $f ]] || { echo "scale.sh: missing $f (build with -DSV_BUILD_BENCH=ON)" >&2; exit 2; }
done
for t in strace prlimit; do
        command -v "$t" >/dev/null || { echo "scale.sh: '$t' is needed" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/sv-scale.XXXXXX)
leftovers() { pgrep -f "^$build/(bench|workers|supervisor)/" || true; }
cleanup() {
        local pids
        pids=$(leftovers)
        # shellcheck disable=SC2086
        [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s\n' "$*" >&2; }
median() {
        printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
                else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" | tail -n 1; }
children() { cat /proc/"$1"/task/*/children 2>/dev/null | wc -w; }
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 |"); }

# ---- (a) N copies of sleep 5 ------------------------------------------------
log "(a) supervise -n $SCALE_N -- sleep 5 under RLIMIT_NOFILE $((SCALE_N + 64))"
t0=$(date +%s.%N)
prlimit --nofile=$((SCALE_N + 64)):$((SCALE_N + 64)) -- \
        "$CLI" -q --json "$tmp/a.json" -n "$SCALE_N" -- sleep 5 2>"$tmp/a.err" &
pid=$!
peak=0
while kill -0 "$pid" 2>/dev/null; do
        # The CLI itself, not prlimit (which execs it, keeping the pid).
        n=$(find /proc/"$pid"/fd -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        ((n > peak)) && peak=$n
        sleep 0.5
done
st=0
wait "$pid" || st=$?
t1=$(date +%s.%N)
# One exit record per copy (start records, where written, say "event").
lines=$(grep -vc '"event":"start"' "$tmp/a.json" || true)
zero=$(grep -v '"event":"start"' "$tmp/a.json" | grep -c '"code":0,' || true)
ok=$([[ $st == 0 && $lines == "$SCALE_N" && $zero == "$SCALE_N" ]] && echo met || echo "**NOT met**")
row "(a) -n $SCALE_N -- sleep 5" "exit $st; $lines exit records, $zero with code 0; wall $(calc %.1f "$t1 - $t0") s" \
    "peak fds sampled: $peak; ran under RLIMIT_NOFILE $((SCALE_N + 64))" "all reaped and reported, fds ≤ N + 64" "$ok"
[[ -s $tmp/a.err ]] && log "(a) stderr: $(head -c 500 "$tmp/a.err")"

# ---- (b) memory per live worker ---------------------------------------------
# rss KIND M: VmRSS (KiB) of KIND holding M sleeping children.
rss() {
        local kind=$1 m=$2 pid r i
        if [[ $kind == sv ]]; then
                "$CLI" -q -n "$m" -- sleep 120 &
        else
                "$B/raw_spawn" -n "$m" -j "$m" -- sleep 120 >/dev/null &
        fi
        pid=$!
        want=$m
        [[ $kind == sv ]] && want=$((m + 1)) # and the guardian
        for ((i = 0; i < 6000; i++)); do
                (($(children "$pid") >= want)) && break
                sleep 0.05
        done
        r=$(awk '/^VmRSS/ { print $2 }' /proc/"$pid"/status)
        if [[ $kind == raw ]]; then
                # shellcheck disable=SC2046
                kill -KILL $(cat /proc/"$pid"/task/*/children) "$pid" 2>/dev/null || true
        else
                kill -TERM "$pid"
        fi
        wait "$pid" 2>/dev/null || true
        echo "$r"
}
declare -a per_sv=() per_raw=() sv1=() svm=()
for ((r = 1; r <= ROUNDS; r++)); do
        log "(b) RSS with 1 and $RSS_N live workers: round $r/$ROUNDS"
        a=$(rss sv 1); b=$(rss sv "$RSS_N")
        c=$(rss raw 1); d=$(rss raw "$RSS_N")
        sv1+=("$a"); svm+=("$b")
        per_sv+=("$(calc %.0f "($b - $a) * 1024 / ($RSS_N - 1)")")
        per_raw+=("$(calc %.0f "($d - $c) * 1024 / ($RSS_N - 1)")")
done
m_sv=$(median "${per_sv[@]}")
row "(b) RSS per live worker, $RSS_N × sleep ($ROUNDS rounds)" "supervise: $m_sv B/worker ($(median "${sv1[@]}") KiB with 1, $(median "${svm[@]}") KiB with $RSS_N)" \
    "raw posix_spawn loop: $(median "${per_raw[@]}") B/worker" "≤ 1024 B/worker" \
    "$(awk "BEGIN { print ($m_sv <= 1024) ? \"met\" : \"**NOT met**\" }")"

# ---- (c) CLI throughput -----------------------------------------------------
wall_us() {
        local out
        out=$("$B/wall" -q -- "$@")
        [[ $(kv status <<<"$out") == 0 ]] || { log "scale.sh: '$*' failed: $out"; return 1; }
        kv wall_us <<<"$out"
}
declare -a ratio=() t_sv=() t_raw=()
for ((r = 1; r <= ROUNDS; r++)); do
        log "(c) throughput -n 1000 -- /bin/true: round $r/$ROUNDS"
        x=$(wall_us "$B/raw_spawn" -n 1000 -j 1000 -- /bin/true)
        y=$(wall_us "$CLI" -q -n 1000 -- /bin/true)
        t_raw+=("$x"); t_sv+=("$y")
        ratio+=("$(calc %.3f "$x / $y")")
done
m=$(calc %.2f "$(median "${ratio[@]}")")
row "(c) throughput, 1000 × /bin/true all at once ($ROUNDS rounds, paired)" \
    "supervise (cgroup): $(calc %.0f "1000 * 1e6 / $(median "${t_sv[@]}")") procs/s" \
    "raw posix_spawn loop: $(calc %.0f "1000 * 1e6 / $(median "${t_raw[@]}")") procs/s; ratio $m (per round: ${ratio[*]})" \
    "≥ 0.95× raw" "$(awk "BEGIN { print ($m >= 0.95) ? \"met\" : \"**NOT met**\" }")"

# ---- (d) wait calls per child -----------------------------------------------
log "(d) wait calls per child, $WAIT_N × sv-sleep 3000 at once (strace -c)"
strace -c -e trace=wait4,waitid -o "$tmp/d.strace" "$CLI" -q -n "$WAIT_N" -- "$W/sv-sleep" 3000
calls=$(awk '$NF == "total" { print $4 }' "$tmp/d.strace")
per=$(calc %.3f "${calls:-0} / $WAIT_N")
row "(d) wait calls per child, $WAIT_N alive at once" "supervise: $calls calls, $per per child" \
    "waitid + wait4 of the supervising process" "≤ 1.1" "$(awk "BEGIN { print ($per <= 1.1) ? \"met\" : \"**NOT met**\" }")"

echo "| benchmark | ours | reference / detail | target | met? |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs. Leftovers: $(leftovers | wc -l)."
