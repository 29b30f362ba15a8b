#!/bin/sh
# bench/escapees.sh SUPERVISE [MECHANISM] - the escapee scenario of issue 8
# (item 6) against any supervise binary, for the before/after table. Run as
# root: supervise runs as uid 65534 (setpriv), which has no writable cgroup,
# so `auto` shows what an ordinary user gets. The worker is
#   sh -c 'env -i setsid sleep N & sleep M'
# and for each ending (a 1 s timeout, TERM to supervise, KILL to supervise)
# it prints supervise's exit status and whether the `env -i setsid` escapee
# survived. A run that does not end is SIGKILLed after 15 s (timeout) or
# 10 s (TERM), and says so. Survivors are killed by pid at the end of each
# case; the sleeps carry a number unique to this run, so nothing else is hit.
set -u
SV=${1:?usage: escapees.sh SUPERVISE [MECHANISM]}
MECH=${2:-auto}
TAG=$$
alive() { st=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }
# Kills, by pid, the processes running exactly `sleep $1` (ours: unique tag).
kill_sleep() { for p in $(pgrep -x -f "sleep $1"); do kill -KILL "$p" 2>/dev/null; done; }
check() { # case-number label
	if pgrep -x -f "sleep 40${TAG}$1" >/dev/null; then
		echo "  $2: escapee SURVIVED"
	else
		echo "  $2: escapee dead"
	fi
	kill_sleep "40${TAG}$1"
	kill_sleep "50${TAG}$1"
}
json=$(mktemp /tmp/escapees.XXXXXX)
chmod 666 "$json"
echo "== $SV --mechanism $MECH (as uid 65534)"

start=$(date +%s%N)
timeout -s KILL 15 setpriv --reuid=65534 --regid=65534 --clear-groups "$SV" --mechanism "$MECH" \
	-t 1s --json "$json" -- sh -c "env -i setsid sleep 40${TAG}1 & sleep 50${TAG}1" 2>/dev/null
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
mech=$(grep -o '"mechanism":"[a-z]*"' "$json" | head -1)
echo "  timeout 1s: exit $rc after ${ms} ms; ${mech:-no exit record}"
check 1 "timeout 1s"

for s in TERM KILL; do
	n=2
	[ $s = KILL ] && n=3
	# setpriv execs supervise: $! is supervise's pid.
	setpriv --reuid=65534 --regid=65534 --clear-groups "$SV" --mechanism "$MECH" \
		-- sh -c "env -i setsid sleep 40${TAG}$n & sleep 50${TAG}$n" 2>/dev/null &
	sv=$!
	i=0
	while ! pgrep -x -f "sleep 40${TAG}$n" >/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -$s $sv
	i=0
	while alive $sv && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if alive $sv; then
		echo "  $s to supervise: still running after 10 s, SIGKILLed"
		kill -KILL $sv
	fi
	wait $sv
	echo "  $s to supervise: exit $?"
	# The kernel needs a moment to end a namespace whose init lost its parent.
	sleep 0.5
	check $n "$s to supervise"
done
rm -f "$json"
