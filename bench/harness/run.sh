#!/bin/sh
# bench/harness/run.sh [BUILD_DIR] [JOBS] [ROUNDS] - throughput of
# `supervise run -j 4` on JOBS (default 2000) short jobs (/bin/true) against
# GNU `parallel -j 4` and `xargs -P 4`, each timed ROUNDS times (default 5),
# interleaved so that machine noise hits all three alike. Prints the median
# wall time and jobs/s of each, and supervise's throughput as a ratio of
# each peer's (> 1: supervise is faster).
#
# Each tool gets the same job list and sends all output to /dev/null;
# supervise runs with -q and writes no report files, but still captures each
# job's stdout and stderr through pipes, contains its tree (cgroup or /proc
# walk) and keeps the in-memory report, which xargs does not. GNU parallel
# runs each line through a shell, as it always does: that is part of its cost.
set -eu

build=${1:-build}
n=${2:-2000}
rounds=${3:-5}
sv=$build/supervisor/supervise
[ -x "$sv" ] || { echo "run.sh: no supervise binary at $sv" >&2; exit 125; }
command -v parallel >/dev/null || { echo "run.sh: GNU parallel not installed" >&2; exit 125; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-harness.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
i=0
while [ "$i" -lt "$n" ]; do
	echo /bin/true
	i=$((i + 1))
done >"$tmp/jobs"
seq "$n" >"$tmp/args"

# now_ns: a monotonic-enough clock with nanoseconds (GNU date).
now_ns() { date +%s%N; }

run_sv() { "$sv" run -q -j 4 --from "$tmp/jobs" >/dev/null 2>&1; }
# xargs hands each /bin/true one ignored argument: one process per line.
run_xargs() { xargs -P 4 -n 1 /bin/true <"$tmp/args" >/dev/null 2>&1; }
run_parallel() { parallel -j 4 <"$tmp/jobs" >/dev/null 2>&1; }

for tool in sv xargs parallel; do
	: >"$tmp/$tool.times"
done
r=0
while [ "$r" -lt "$rounds" ]; do
	for tool in sv xargs parallel; do
		t0=$(now_ns)
		"run_$tool" || { echo "run.sh: $tool failed" >&2; exit 1; }
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000)) >>"$tmp/$tool.times"
	done
	r=$((r + 1))
done

median() { sort -n "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
sv_us=$(median "$tmp/sv.times")
xargs_us=$(median "$tmp/xargs.times")
par_us=$(median "$tmp/parallel.times")

echo "$n x /bin/true, 4 at a time, median of $rounds rounds (nproc $(nproc), load $(cut -d' ' -f1 /proc/loadavg))"
printf '%-28s %10s %10s\n' tool "wall s" "jobs/s"
for row in "supervise run -j 4:$sv_us" "xargs -P 4:$xargs_us" "parallel -j 4:$par_us"; do
	name=${row%:*}
	us=${row##*:}
	awk -v name="$name" -v us="$us" -v n="$n" 'BEGIN { printf "%-28s %10.3f %10.0f\n", name, us / 1e6, n / (us / 1e6) }'
done
awk -v s="$sv_us" -v x="$xargs_us" -v p="$par_us" 'BEGIN {
	printf "supervise vs parallel: %.2fx throughput (target >= 5x)\n", p / s
	printf "supervise vs xargs -P: %.2fx throughput (target >= 1.0x)\n", x / s
}'
