#!/bin/sh
# layering.sh - the dependency rule of STYLE.md §1, checked: only
# supervisor/platform/ spawns, waits, opens pidfds or reads /proc; and
# core/reap.c, a leaf, names no worker.c function (it delivers through
# sv->hooks). Run by ctest as lint.layering; prints each offending line.
#
#   tests/layering.sh [SOURCE_DIR]
#
# Comment lines are skipped (worker.c, ctest.c and signal.c name these calls
# in comments). A file that still breaks the rule on purpose is listed in
# KNOWN with its NEEDSWORK; it is named but does not fail the check, and a
# listed file that has become clean is named too, to be taken off the list.
set -u
cd "${1:-$(dirname "$0")/..}" || exit 2

# Empty since the hang snapshot moved to run/diag.c on sv__proc_detail_read.
KNOWN=""

pattern='#include <sys/wait.h>|(^|[^_a-z])waitpid\(|posix_spawn[a-z_]*\(|(^|[^_a-z])pidfd_[a-z_]+\(|"/proc'
hits=$(grep -rnE "$pattern" supervisor --include='*.c' --include='*.h' |
	grep -v '^supervisor/platform/' |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*)')
fail=0
for f in $(printf '%s\n' "$hits" | cut -d: -f1 | sort -u); do
	case " $KNOWN " in
	*" $f "*) printf 'layering: known (NEEDSWORK): %s\n' "$f" ;;
	*)
		printf '%s\n' "$hits" | grep "^$f:" | sed 's/^/layering: OS call outside platform\/: /'
		fail=1
		;;
	esac
done
for f in $KNOWN; do
	if [ -f "$f" ] && ! printf '%s\n' "$hits" | grep -q "^$f:"; then
		echo "layering: $f is clean now: take it off KNOWN in tests/layering.sh"
	fi
done
if grep -n 'sv__worker_' supervisor/core/reap.c; then
	echo "layering: core/reap.c names worker.c functions; deliver through sv->hooks"
	fail=1
fi
[ "$fail" = 0 ] && echo "layering: ok"
exit "$fail"
