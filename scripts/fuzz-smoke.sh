#!/bin/sh
# fuzz-smoke.sh - builds the libFuzzer targets of tests/fuzz/ with clang into
# their own build directory and runs each one briefly from its seed corpus.
# Any crash, sanitizer report, leak or broken invariant fails the run; the
# input that did it is left in BUILD/artifacts/ (tests/fuzz/README.md says
# how to repeat it). The seeds are never written to: new inputs go to
# BUILD/corpus/<target>/, which later runs start from.
#
#   scripts/fuzz-smoke.sh [BUILD_DIR]      (default build-fuzz)
#
# Environment: FUZZ_SECONDS per target (default 20; seven targets, so about
# 2.5 minutes plus the build on 2 cores), FUZZ_TARGETS to run only some
# ("duration ladder"), CC (default clang).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-20}
targets=${FUZZ_TARGETS:-"duration signal ladder jobfile ctest procstat control"}

command -v "${CC:-clang}" >/dev/null || { echo "fuzz-smoke: ${CC:-clang} not found (scripts/deps.sh installs it)" >&2; exit 1; }
echo "== fuzz build ($build)"
mkdir -p "$build"
if ! { CC=${CC:-clang} cmake -S . -B "$build" -DSV_FUZZ=ON -DSV_BUILD_TESTS=OFF -DSV_BUILD_BENCH=OFF &&
	cmake --build "$build" --target fuzz -j "$(nproc)"; } >"$build/fuzz-build.log" 2>&1; then
	tail -n 40 "$build/fuzz-build.log" >&2
	echo "fuzz-smoke: the build failed (log: $build/fuzz-build.log)" >&2
	exit 1
fi

mkdir -p "$build/artifacts"
# A small ASan quarantine keeps six runs frugal on a shared machine; leaks
# are still reported at the end of each run.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=10}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
failed=""
for t in $targets; do
	mkdir -p "$build/corpus/$t"
	log="$build/fuzz_$t.log"
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
	echo "== fuzz_$t, ${secs}s"
	# shellcheck disable=SC2086
	if "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 $dict \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
		"$build/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		# "#N DONE cov: C ft: F corp: ... exec/s: E rss: R"
		grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 |
			sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+cov: ([0-9]+).*exec\/s: ([0-9]+).*/   runs \1, coverage \2 edges, \3 exec\/s/'
	else
		echo "fuzz-smoke: fuzz_$t FAILED; the end of $log:" >&2
		tail -n 30 "$log" >&2
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz-smoke: failed:$failed (inputs in $build/artifacts/)" >&2
	exit 1
fi
echo "== fuzz smoke passed"
