#!/bin/sh
# build-matrix.sh [DIR] - compiles everything (library, CLI, workers, tests;
# not the benchmarks) in the four CMake build types with gcc and with clang,
# warnings as errors, into DIR/<compiler>-<type> (default build-matrix). Runs
# no test: what each build type's optimiser and each compiler's warnings
# reject is the point, and the suite runs elsewhere. Every combination is
# tried even after one fails, and the summary names each failure; the exit
# status is 1 if any failed.
#
# Environment: SV_MATRIX_CC (default "gcc clang"), SV_MATRIX_TYPES (default
# "Debug Release RelWithDebInfo MinSizeRel"), SV_MATRIX_JOBS (default 2),
# SV_MATRIX_WERROR (default ON; OFF lists every warning without stopping).
# From scratch it costs about 170 s of CPU (user + sys), so roughly 90 s of
# wall time on two idle cores; on the same DIR again, only what changed is
# rebuilt.
set -eu
cd "$(dirname "$0")/.."
top=${1:-build-matrix}
compilers=${SV_MATRIX_CC:-gcc clang}
types=${SV_MATRIX_TYPES:-Debug Release RelWithDebInfo MinSizeRel}
jobs=${SV_MATRIX_JOBS:-2}

# Ninja, when there, builds a little faster than make and stops at the first
# error in the same way; the generator is no part of what is checked.
gen="Unix Makefiles"
command -v ninja >/dev/null 2>&1 && gen="Ninja"

failed=""
start=$(date +%s)
for cc in $compilers; do
	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "build-matrix: compiler '$cc' not found" >&2
		failed="$failed $cc"
		continue
	fi
	for type in $types; do
		dir="$top/$cc-$type"
		t0=$(date +%s)
		log="$top/$cc-$type.log"
		mkdir -p "$top"
		# A build directory made by another generator cannot be reused.
		if [ -f "$dir/CMakeCache.txt" ] && ! grep -qx "CMAKE_GENERATOR:INTERNAL=$gen" "$dir/CMakeCache.txt"; then
			rm -rf "$dir"
		fi
		if cmake -S . -B "$dir" -G "$gen" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE="$type" \
			-DSV_WERROR="${SV_MATRIX_WERROR:-ON}" -DSV_BUILD_TESTS=ON -DSV_BUILD_BENCH=OFF >"$log" 2>&1 &&
			cmake --build "$dir" -j "$jobs" >>"$log" 2>&1; then
			echo "build-matrix: $cc $type: ok ($(($(date +%s) - t0)) s)"
		else
			echo "build-matrix: $cc $type: FAILED ($(($(date +%s) - t0)) s); from $log:" >&2
			grep -E 'error|warning' "$log" | head -20 >&2 || tail -20 "$log" >&2
			failed="$failed $cc-$type"
		fi
	done
done
echo "build-matrix: $(($(date +%s) - start)) s in all"
if [ -n "$failed" ]; then
	echo "build-matrix: failed:$failed" >&2
	exit 1
fi
