#!/bin/sh
# check.sh - the whole test suite: installs what is missing, builds, compiles
# the build matrix (four build types x gcc, clang), runs the cmocka suite plain,
# under valgrind memcheck, and again in an ASan/UBSan build, then a short fuzz
# smoke. Any failure fails the run.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

echo "== build (warnings are errors)"
scripts/build.sh build
echo "== build matrix: Debug, Release, RelWithDebInfo, MinSizeRel with gcc and clang, warnings as errors"
scripts/build-matrix.sh build-matrix
echo "== tests"
ctest --test-dir build -LE valgrind --output-on-failure -j "$jobs"
echo "== tests under valgrind memcheck"
ctest --test-dir build -L valgrind --output-on-failure -j "$jobs"
echo "== ASan/UBSan build, its tests run by supervise run --ctest"
scripts/build.sh build-asan -DSV_SANITIZE=ON
# Our own harness runs the sanitizer pass: each test with its ctest command,
# cwd, environment and TIMEOUT, tree-killed if it hangs, with JUnit and an
# events log for CI to keep. Its exit status is the verdict.
build/supervisor/supervise run --ctest build-asan -j "$jobs" \
	--junit build-asan/junit.xml --events build-asan/events.jsonl --logs build-asan/test-logs \
	> build-asan/test-output.txt || { cat build-asan/test-output.txt; exit 1; }
echo "== fuzz smoke: each libFuzzer target briefly from its seeds"
scripts/fuzz-smoke.sh build-fuzz
echo "== all checks passed"
