#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR] - the benchmark driver: one run, one table.
#
# Runs every comparison of bench/README.md in one go, interleaving the
# variants inside each round so that machine noise hits them alike, and
# prints one markdown table of medians and ratios (also written to
# bench/results.md, or to $RESULTS). BUILD_DIR defaults to ./build and must
# hold the bench programs (SV_BUILD_BENCH=ON, the default), the workers and
# the CLI.
#
# Knobs (environment): ROUNDS (5) rounds of the 2000-spawn throughput case,
# BIG_ROUNDS (3) of the 10,000-spawn case, TREE_ROUNDS (15), TIMEOUT_ROUNDS
# (20), RESULTS (file to write, default bench/results.md; "-" for none).
# The whole run takes about 4-5 minutes on a 2-core machine.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
ROUNDS=${ROUNDS:-5}
BIG_ROUNDS=${BIG_ROUNDS:-3}
TREE_ROUNDS=${TREE_ROUNDS:-15}
TIMEOUT_ROUNDS=${TIMEOUT_ROUNDS:-20}
RESULTS=${RESULTS:-$here/results.md}

B=$build/bench
W=$build/workers
CLI=$build/supervisor/supervise
for f in "$B/raw_spawn" "$B/sv_spawn_bench" "$B/wall" "$B/treekill_bench" "$B/escapee_tree" "$B/pidns_bench" \
         "$W/sv-sleep" "$W/sv-tree" "$CLI"; do
        if [[ ! -x $f ]]; then
                echo "run.sh: missing $f; build with: cmake -S . -B $build && cmake --build $build" >&2
                exit 2
        fi
done
for t in xargs timeout strace valgrind; do
        command -v "$t" >/dev/null || { echo "run.sh: '$t' is needed" >&2; exit 2; }
done
have_parallel=0
command -v parallel >/dev/null && have_parallel=1

tmp=$(mktemp -d /tmp/sv-bench.XXXXXX)

# Every process we start runs a program under $build, so a path match finds
# exactly ours, even while other builds' workers run on the same machine.
leftovers() {
        pgrep -f "^$build/(bench|workers|supervisor)/" || true
}
cleanup() {
        local pids
        pids=$(leftovers)
        if [[ -n $pids ]]; then
                # shellcheck disable=SC2086
                kill -KILL $pids 2>/dev/null || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }

# kv KEY LINE...: the value of KEY=value in the last line that has it.
kv() {
        local key=$1
        shift
        printf '%s\n' "$@" | sed -n "s/.*\\b$key=\\([^ ]*\\).*/\\1/p" | tail -n 1
}

median() {
        printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
                END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
                      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() {
        printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
                END { printf "%s-%s", lo, hi }'
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
f0() { calc %.0f "$1"; }
f2() { calc %.2f "$1"; }

# wall_us ARGS...: runs ARGS once under bench/wall, prints its wall time in
# microseconds, and fails if the command did not exit 0 (or $WANT_STATUS).
wall_us() {
        local out st
        out=$("$B/wall" -q -- "$@")
        st=$(kv status "$out")
        if [[ $st != "${WANT_STATUS:-0}" ]]; then
                log "run.sh: '$*' exited $st"
                return 1
        fi
        kv wall_us "$out"
}

rows=()
row() { # benchmark variant median unit ratio target note
        rows+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 |")
}

start_s=$SECONDS
seq 1 2000 >"$tmp/args2000"
seq 1 10000 >"$tmp/args10000"

# ---- 1. Spawn-and-reap throughput ----------------------------------------
#
# procs/s = TOTAL / wall of the whole program (start-up included, for every
# variant alike). Ratios are paired: each round's variant over the same
# round's raw loop, then the median of those.

throughput() { # total inflight rounds
        local total=$1 j=$2 rounds=$3 r
        local -a raw=() sv=() xa=() r_sv=() r_xa=() r_svxa=()
        local t_raw t_sv t_xa
        for ((r = 1; r <= rounds; r++)); do
                log "throughput $total x /bin/true, $j in flight: round $r/$rounds"
                t_raw=$(wall_us "$B/raw_spawn" -n "$total" -j "$j" -- /bin/true)
                t_sv=$(wall_us "$B/sv_spawn_bench" -n "$total" -j "$j" -- /bin/true)
                t_xa=$(wall_us xargs -P "$j" -n 1 -a "$tmp/args$total" /bin/true)
                raw+=("$(calc %.1f "$total * 1e6 / $t_raw")")
                sv+=("$(calc %.1f "$total * 1e6 / $t_sv")")
                xa+=("$(calc %.1f "$total * 1e6 / $t_xa")")
                r_sv+=("$(calc %.3f "$t_raw / $t_sv")")
                r_xa+=("$(calc %.3f "$t_raw / $t_xa")")
                r_svxa+=("$(calc %.3f "$t_xa / $t_sv")")
        done
        local name="throughput $total × /bin/true, $j in flight (procs/s, $rounds round$( ((rounds > 1)) && echo s))"
        local rs rx rsx ok
        rs=$(f2 "$(median "${r_sv[@]}")")
        rx=$(f2 "$(median "${r_xa[@]}")")
        rsx=$(f2 "$(median "${r_svxa[@]}")")
        ok=$(awk "BEGIN { print ($rs >= 0.9 && $rsx >= 1.1) ? \"met\" : \"**NOT met**\" }")
        row "$name" "raw posix_spawn + waitpid(-1) loop" "$(f0 "$(median "${raw[@]}")")" procs/s 1.00 "" \
            "min-max $(minmax "${raw[@]}")"
        row "$name" "our core (sv_spawn, cgroup)" "$(f0 "$(median "${sv[@]}")")" procs/s "$rs" \
            "≥ 0.9× raw, ≥ 1.1× xargs: $ok" "min-max $(minmax "${sv[@]}"); ${rsx}× xargs"
        row "$name" "xargs -P $j -n 1" "$(f0 "$(median "${xa[@]}")")" procs/s "$rx" "" \
            "min-max $(minmax "${xa[@]}")"
}

throughput 2000 4 "$ROUNDS"
if ((have_parallel)); then
        # GNU parallel is ~10x slower; one round, paired with its own raw run.
        log "throughput 2000 x /bin/true: GNU parallel -j 4 (1 round)"
        t_raw=$(wall_us "$B/raw_spawn" -n 2000 -j 4 -- /bin/true)
        t_par=$(wall_us parallel --will-cite -j 4 -a "$tmp/args2000" /bin/true)
        row "throughput 2000 × /bin/true, 4 in flight (procs/s, 1 round)" "GNU parallel -j 4" \
            "$(calc %.0f "2000 * 1e6 / $t_par")" procs/s "$(calc %.2f "$t_raw / $t_par")" "" \
            "raw loop in the same round: $(calc %.0f "2000 * 1e6 / $t_raw") procs/s"
fi
# The /proc fallback is far slower per exit; a short single round shows it.
log "throughput 500 x /bin/true, 4 in flight: procwalk mechanism (1 round)"
t_raw=$(wall_us "$B/raw_spawn" -n 500 -j 4 -- /bin/true)
t_pw=$(wall_us "$B/sv_spawn_bench" -m procwalk -n 500 -j 4 -- /bin/true)
row "throughput 500 × /bin/true, 4 in flight (procs/s, 1 round)" "our core, procwalk mechanism" \
    "$(calc %.0f "500 * 1e6 / $t_pw")" procs/s "$(calc %.2f "$t_raw / $t_pw")" "(fallback; no target)" \
    "raw loop in the same round: $(calc %.0f "500 * 1e6 / $t_raw") procs/s"
throughput 10000 64 "$BIG_ROUNDS"
# A PID namespace per worker (the pidns mechanism, for when cgroups are not
# writable) against the plain spawn, rounds interleaved in one process.
log "spawn cost, pidns against plain: 300 copies of /bin/true one at a time (5 rounds)"
if pn=$("$B/pidns_bench" -n 300 -r 5 -- /bin/true); then
        pn_plain=$(grep '^mechanism=plain' <<<"$pn" | sed 's/.*wall_per_copy_us=//')
        pn_ns=$(grep '^mechanism=pidns' <<<"$pn" | sed 's/.*wall_per_copy_us=//')
        pn_in=$(grep '^ratio' <<<"$pn" | sed 's/.*in_sv_spawn=\([0-9.]*\)x.*/\1/')
        row "spawn to reap of /bin/true, one at a time (µs per copy, 5 rounds)" "our core, pidns mechanism" \
            "$pn_ns" µs "$(calc %.2f "$pn_ns / $pn_plain")" "(containment without cgroups; no target)" \
            "plain (procwalk) in the same rounds: $pn_plain µs; time inside sv_spawn: ${pn_in}×"
else
        log "run.sh: pidns_bench: no PID namespace here, row left out"
fi

# ---- 2. Wait system calls per exited child, 500 alive at once ------------
#
# strace without -f counts only the supervising process itself: the waits
# happen there, and the spawned children are not followed.

waits_per_child() { # label prog...
        local out
        strace -c -e trace=wait4,waitid -o "$tmp/strace" "$@" >/dev/null
        out=$(awk '$NF == "total" { print $4 }' "$tmp/strace")
        calc %.3f "${out:-0} / 2000"
}
log "wait calls per child: 2000 x sv-sleep 300, 500 in flight (under strace)"
w_sv=$(waits_per_child "$B/sv_spawn_bench" -n 2000 -j 500 -- "$W/sv-sleep" 300)
w_raw=$(waits_per_child "$B/raw_spawn" -n 2000 -j 500 -- "$W/sv-sleep" 300)
name="wait calls per exited child, 2000 × sv-sleep 300 with 500 in flight (strace -c, 1 round)"
row "$name" "raw posix_spawn + waitpid(-1) loop" "$w_raw" calls/child 1.00 "" "wait4"
row "$name" "our core (sv_spawn, cgroup)" "$w_sv" calls/child "$(calc %.2f "$w_sv / $w_raw")" \
    "≤ 1.1: $(awk "BEGIN { print ($w_sv <= 1.1) ? \"met\" : \"**NOT met**\" }")" "waitid"

# ---- 3. User-space instructions per spawn (callgrind) --------------------
#
# (I(500) - I(100)) / 400 removes start-up and teardown. valgrind turns
# CLONE_VM|CLONE_VFORK into a plain fork; --trace-children=no leaves the
# exec'd children native, so only the spawning process is counted (its own
# output file, chosen by pid).

instructions() { # total prog...
        local total=$1 out pid
        shift
        rm -f "$tmp"/cg.*
        out=$(valgrind --tool=callgrind --trace-children=no --callgrind-out-file="$tmp/cg.%p" \
                "$1" -n "$total" -j 4 "${@:2}" 2>/dev/null)
        pid=$(kv pid "$out")
        awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.$pid"
}
log "instructions per spawn: callgrind, 100 and 500 x /bin/true"
i_sv1=$(instructions 100 "$B/sv_spawn_bench" -- /bin/true)
i_sv5=$(instructions 500 "$B/sv_spawn_bench" -- /bin/true)
i_raw1=$(instructions 100 "$B/raw_spawn" -- /bin/true)
i_raw5=$(instructions 500 "$B/raw_spawn" -- /bin/true)
ips_sv=$(calc %.0f "($i_sv5 - $i_sv1) / 400")
ips_raw=$(calc %.0f "($i_raw5 - $i_raw1) / 400")
ratio=$(calc %.2f "$ips_sv / $ips_raw")
name="user-space instructions per spawn, (I(500) − I(100)) / 400 (callgrind)"
row "$name" "raw posix_spawn + waitpid(-1) loop" "$ips_raw" instr/spawn 1.00 "" \
    "I(100)=$i_raw1, I(500)=$i_raw5"
row "$name" "our core (sv_spawn, cgroup)" "$ips_sv" instr/spawn "$ratio" \
    "≤ 2×: $(awk "BEGIN { print ($ratio <= 2) ? \"met\" : \"**NOT met**\" }")" \
    "I(100)=$i_sv1, I(500)=$i_sv5"

# ---- 4. Tree kill latency --------------------------------------------------
#
# 201 processes: the worker and 200 descendants (sv-tree 200), or the same
# shape where 50 grandchildren called setsid (escapee_tree 200). From the
# decision to kill until the tree is gone; library vs raw killpg. Each
# invocation kills two trees in a row; the table shows the second kill.

declare -A tk tkcold tkmiss
tk_variants=(cgroup procwalk killpg)
for ((r = 1; r <= TREE_ROUNDS; r++)); do
        log "tree kill: round $r/$TREE_ROUNDS"
        for tree in plain escapees; do
                if [[ $tree == plain ]]; then cmd=("$W/sv-tree" 200); else cmd=("$B/escapee_tree" 200); fi
                for m in "${tk_variants[@]}"; do
                        # Two trees per supervisor: the first kill is a fresh
                        # supervisor's (cold), the second one's that has already
                        # killed a tree, as in a long run (warm, the table's).
                        out=$("$B/treekill_bench" -r 2 -m "$m" -- "${cmd[@]}") ||
                                log "run.sh: treekill_bench -m $m on $tree failed: $out"
                        tkcold[$tree.$m]+="$(kv ms "$(grep '^round=0 ' <<<"$out")") "
                        tk[$tree.$m]+="$(kv ms "$(grep '^round=1 ' <<<"$out")") "
                        tkmiss[$tree.$m]+="$(kv missed "$out") "
                done
        done
done
for tree in plain escapees; do
        if [[ $tree == plain ]]; then
                name="tree kill, 201 processes (sv-tree 200), ms from decision to all gone, second kill per supervisor ($TREE_ROUNDS rounds)"
        else
                name="tree kill, 201 processes, 50 of them setsid escapees (escapee_tree 200), ms ($TREE_ROUNDS rounds)"
        fi
        # shellcheck disable=SC2206
        kp=(${tk[$tree.killpg]})
        # shellcheck disable=SC2206
        kpm=(${tkmiss[$tree.killpg]})
        for m in "${tk_variants[@]}"; do
                # shellcheck disable=SC2206
                v=(${tk[$tree.$m]})
                # shellcheck disable=SC2206
                miss=(${tkmiss[$tree.$m]})
                ratios=()
                for ((i = 0; i < ${#v[@]}; i++)); do
                        ratios+=("$(calc %.3f "${v[i]} / ${kp[i]}")")
                done
                rm_=$(f2 "$(median "${ratios[@]}")")
                missed=$(median "${miss[@]}")
                if [[ $m == killpg ]]; then
                        label="raw killpg + subreaper reaping"
                        target=""
                else
                        label="our library, $m (sv_worker_stop, ladder KILL)"
                        target="≤ 1.0× killpg, catching all: $(awk "BEGIN { print ($rm_ <= 1.0 && $missed == 0) ? \"met\" : \"**NOT met**\" }")"
                fi
                # shellcheck disable=SC2206
                cold=(${tkcold[$tree.$m]})
                row "$name" "$label" "$(f2 "$(median "${v[@]}")")" ms "$rm_" "$target" \
                    "min-max $(minmax "${v[@]}"); first kill of a fresh supervisor: $(f2 "$(median "${cold[@]}")") ms; survivors per round: $missed"
        done
done

# ---- 5. Timeout overshoot at a 200 ms deadline ------------------------------
#
# Wall from starting the tool to its exit, minus 200 ms. The same program
# (sv-sleep 10000) under both tools; sv-sleep 200 alone shows what process
# start and exit cost by themselves.

declare -A to
for ((r = 1; r <= TIMEOUT_ROUNDS; r++)); do
        ((r % 5 == 1)) && log "timeout overshoot: round $r/$TIMEOUT_ROUNDS"
        to[plain]+="$(wall_us "$W/sv-sleep" 200) "
        to[gnu]+="$(WANT_STATUS=124 wall_us timeout 0.2 "$W/sv-sleep" 10000) "
        to[sv]+="$(WANT_STATUS=124 wall_us "$CLI" --timeout 200ms -- "$W/sv-sleep" 10000) "
        to[svpw]+="$(WANT_STATUS=124 SUPERVISE_MECHANISM=procwalk wall_us "$CLI" --timeout 200ms -- "$W/sv-sleep" 10000) "
done
over() { # variant -> overshoot values in ms
        local x
        for x in ${to[$1]}; do calc %.2f "$x / 1000 - 200"; echo; done
}
mapfile -t o_plain < <(over plain)
mapfile -t o_gnu < <(over gnu)
mapfile -t o_sv < <(over sv)
mapfile -t o_svpw < <(over svpw)
m_gnu=$(f2 "$(median "${o_gnu[@]}")")
name="timeout overshoot at 200 ms, ms past the deadline ($TIMEOUT_ROUNDS rounds)"
row "$name" "sv-sleep 200 alone (no tool; start + exit cost)" "$(f2 "$(median "${o_plain[@]}")")" ms "" "" \
    "min-max $(minmax "${o_plain[@]}")"
row "$name" "GNU timeout 0.2 sv-sleep 10000" "$m_gnu" ms "+0.00" "" "min-max $(minmax "${o_gnu[@]}")"
for v in sv svpw; do
        if [[ $v == sv ]]; then vals=("${o_sv[@]}"); label="supervise --timeout 200ms -- sv-sleep 10000 (cgroup)"
        else vals=("${o_svpw[@]}"); label="same, SUPERVISE_MECHANISM=procwalk"; fi
        m=$(f2 "$(median "${vals[@]}")")
        d=$(calc %+.2f "$m - $m_gnu")
        row "$name" "$label" "$m" ms "$d" \
            "≤ GNU + 1 ms: $(awk "BEGIN { print ($d <= 1.0) ? \"met\" : \"**NOT met**\" }")" \
            "min-max $(minmax "${vals[@]}")"
done

# ---- The table ---------------------------------------------------------------

left=$(leftovers)
elapsed=$((SECONDS - start_s))
{
        echo "| benchmark | variant | median | unit | ratio | target | notes |"
        echo "|---|---|---|---|---|---|---|"
        printf '%s\n' "${rows[@]}"
} >"$tmp/table"
cat "$tmp/table"
echo
echo "Ratios: throughput = variant procs/s ÷ raw loop's (higher is better); wait calls and"
echo "instructions = ours ÷ raw loop's (lower is better); tree kill = ms ÷ killpg's on the same tree,"
echo "paired per round (lower is better); timeout = our overshoot − GNU timeout's, in ms."
echo "Run took ${elapsed}s. Leftover processes: ${left:-none}."

if [[ $RESULTS != - ]]; then
        {
                echo "# Benchmark results (sample)"
                echo
                echo "Produced by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); see bench/README.md for"
                echo "what each row measures. Machine: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)),"
                echo "kernel $(uname -r), $(ldd --version 2>/dev/null | head -n 1 | sed 's/.* //' | sed 's/^/glibc /'),"
                echo "libuv $(pkg-config --modversion libuv 2>/dev/null || echo '?'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
                echo "Mechanism: $("$B/sv_spawn_bench" -n 1 -j 1 -- /bin/true | sed -n 's/.*mechanism=\([^ ]*\).*/\1/p') by default (running as $(id -un))."
                echo "The machine is shared and noisy; compare within a run, as ratios."
                echo
                cat "$tmp/table"
                echo
                echo "Ratios: throughput = variant procs/s ÷ raw loop's (higher is better); wait calls and"
                echo "instructions = ours ÷ raw loop's (lower is better); tree kill = ms ÷ killpg's on the same"
                echo "tree, paired per round (lower is better); timeout = our overshoot − GNU timeout's, in ms."
                echo "The run took ${elapsed} s. Leftover processes after it: ${left:-none}."
        } >"$RESULTS"
        log "written to $RESULTS"
fi
if [[ -n $left ]]; then
        log "run.sh: processes left behind: $left"
        exit 1
fi
