#!/usr/bin/env bash
# bench/restart.sh [BUILD_DIR] - what a restart costs (issue 11, restart
# policies): one slot of `supervise --restart always --restart-delay 1ms
# --max-restarts K -- /bin/true`, K = 1 and K = RESTARTS (400), ROUNDS (5)
# rounds, both run back to back in each round. The cost of one restart is
# (wall(K) - wall(1)) / (K - 1) per round, median over rounds: the exit, its reap
# and report, the 1 ms backoff (0.75-1 ms with jitter: the floor of the
# number) and the next spawn, serial. Also the peak RSS of the K run, which
# must not grow with K (nothing is kept per restart).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
CLI=$build/supervisor/supervise
RESTARTS=${RESTARTS:-400}
ROUNDS=${ROUNDS:-5}

wall() { # prints "seconds maxrss_kib" of one run
	/usr/bin/time -f "%e %M" "$CLI" -q --restart always --restart-delay 1ms..1ms \
		--max-restarts "$1" -- /bin/true 2>&1 >/dev/null | tail -n 1
}

per=() rss=()
for ((r = 0; r < ROUNDS; r++)); do
	read -r t0 _ < <(wall 1)
	read -r tk mk < <(wall "$RESTARTS")
	per+=("$(awk -v a="$t0" -v b="$tk" -v k="$RESTARTS" 'BEGIN { printf "%.3f", (b - a) * 1000 / (k - 1) }')")
	rss+=("$mk")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "| row | median | rounds |"
echo "|---|---|---|"
echo "| ms per restart (exit, reap, 1 ms backoff, spawn), $RESTARTS restarts | $(median "${per[@]}") | ${per[*]} |"
echo "| peak RSS of the $RESTARTS-restart run, KiB | $(median "${rss[@]}") | ${rss[*]} |"
