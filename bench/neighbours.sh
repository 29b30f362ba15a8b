#!/bin/sh
# bench/neighbours.sh SUPERVISE WORKERS_DIR - the "neighbours, PID 1, dead
# guardian" scenarios of issue 8, run against any supervise binary (the
# before/after table in the closing note came from this with main's build
# and this branch's). Needs root (unshare --pid, cgroup v2). Prints one line
# per scenario. Signals only the processes it started, by pid; removes the
# cgroup directory scenario 3 finds left behind (older builds leave it).
set -u
S=${1:?usage: neighbours.sh SUPERVISE WORKERS_DIR}
W=${2:?usage: neighbours.sh SUPERVISE WORKERS_DIR}
T=$(mktemp -d /tmp/sv-neighbours.XXXXXX)
NS="unshare --pid --fork --mount-proc"

# 1. Two supervisors, both PID 1 of their namespaces: A times out while B's
#    worker sleeps 3 s.
$NS "$S" -q -- sleep 3 & b=$!
sleep 0.3
$NS "$S" -q -t 1s -- sleep 30; a=$?
wait $b; echo "two PID 1 supervisors: A exit $a, B exit $? (B should be 0)"

# 2. A long `run` (100 jobs, -j 8) while short PID 1 supervisors start beside
#    it, one after another, until it ends.
i=0; while [ $i -lt 100 ]; do echo "/bin/sleep 0.05"; i=$((i + 1)); done > "$T/jobs"
"$S" run -j 8 --from "$T/jobs" > "$T/run.out" 2>&1 & l=$!
n=0; while kill -0 $l 2>/dev/null; do $NS "$S" -q -- true; n=$((n + 1)); done
wait $l; r=$?
echo "long run beside $n short PID 1 neighbours: exit $r; $(grep 'jobs:' "$T/run.out")"

# 3. PID 1: orphan reaping latency, a guardian in the namespace, cgroup left.
echo "PID 1, 10 orphans: $($NS "$S" -q -- "$W/sv-orphans" 10 5000 2>&1)"
g=$($NS "$S" -q -- sh -c 'sleep 0.1; cat /proc/[0-9]*/stat 2>/dev/null' |
    awk '$2 != "(sh)" && $2 != "(cat)" && $1 != 1 { printf "%s%s %s", sep, $2, $3; sep = ", " }')
echo "PID 1, other processes in the namespace: ${g:-none}"
c=$($NS "$S" -q -- cat /proc/self/cgroup | sed -n 's|^0::\(.*\)/w[0-9]*$|\1|p')
m=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$c" ] && [ -d "$m$c" ]; then echo "PID 1, cgroup after exit: $m$c left"; else echo "PID 1, cgroup after exit: removed"; fi
[ -n "$c" ] && [ -d "$m$c" ] && { rmdir "$m$c"/w* "$m$c" 2>/dev/null; }

# 4. Kill the guardian, then SIGKILL supervise: how much of a 61-process
#    tree is still alive a second later (zombies not counted).
alive() { k=0; for p in "$@"; do
        s=$(awk '{ print $3 }' /proc/$p/stat 2>/dev/null)
        [ -n "$s" ] && [ "$s" != Z ] && k=$((k + 1)); done; echo $k; }
for mech in cgroup procwalk; do
        rm -f "$T/tree"
        "$S" -q --mechanism $mech -- "$W/sv-tree" 60 forever > "$T/tree" & p=$!
        while ! grep -q ready "$T/tree" 2>/dev/null; do sleep 0.05; done
        pids="$(sed 's/ready//' "$T/tree") $(pgrep -P $p sv-tree)"
        g1=$(pgrep -P $p sv-guardian); kill -9 $g1; sleep 0.3
        g2=$(pgrep -P $p -r S,R,D sv-guardian)
        kill -9 $p; wait $p 2>/dev/null; sleep 1
        echo "guardian killed ($mech): replaced by '${g2:-none}'; alive after SIGKILL of supervise: $(alive $pids) of $(echo $pids | wc -w)"
        for q in $pids; do kill -9 $q 2>/dev/null; done
done
rm -rf "$T"
