#!/bin/sh
# valgrind-run.sh EXE [ARGS...] - runs one test under valgrind memcheck and
# fails it on any memory error, any leak, or any file descriptor left open at
# exit that was not inherited. valgrind 3.19's --track-fds=yes reports leaked
# fds but does not change the exit status, so we count them from its log.
#
# Exit status: the test's own status if it failed, 99 for valgrind errors or
# leaks, 98 for leaked file descriptors, 125 if this script itself failed.
set -u

log=$(mktemp "${TMPDIR:-/tmp}/valgrind-run.XXXXXX") || exit 125
trap 'rm -f "$log"' EXIT

valgrind \
	--leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible \
	--track-fds=yes \
	--child-silent-after-fork=yes \
	--error-exitcode=99 \
	--log-file="$log" \
	"$@"
rc=$?
cat "$log"

# Each "Open file descriptor N: ..." entry is followed by either a stack (we
# opened it) or "<inherited from parent>" (ctest or the shell did). Count the
# first kind, for the main process only (lines prefixed with its ==pid==).
leaked=$(awk '
	NR == 1 { pid = $1 }
	$1 != pid { next }
	pending { if ($0 !~ /<inherited from parent>/) n++; pending = 0; next }
	/FILE DESCRIPTORS: [0-9]+ open/ { seen = 1 }
	/Open file descriptor [0-9]+:/ { pending = 1 }
	END { if (!seen) print -1; else print n + 0 }
' "$log")

if [ "$rc" -ne 0 ]; then
	exit "$rc"
fi
if [ "$leaked" -lt 0 ]; then
	echo "valgrind-run: no file descriptor summary in the valgrind log" >&2
	exit 125
fi
if [ "$leaked" -gt 0 ]; then
	echo "valgrind-run: $leaked file descriptor(s) left open at exit (see above)" >&2
	exit 98
fi
exit 0
