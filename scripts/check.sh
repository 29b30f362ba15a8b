#!/bin/sh
# check.sh - the whole test suite: installs what is missing, builds, runs the
# cmocka suite plain, under valgrind memcheck, and again in an ASan/UBSan
# build. Any failure fails the run.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

echo "== build (warnings are errors)"
scripts/build.sh build
echo "== tests"
ctest --test-dir build -LE valgrind --output-on-failure -j "$jobs"
echo "== tests under valgrind memcheck"
ctest --test-dir build -L valgrind --output-on-failure -j "$jobs"
echo "== ASan/UBSan build and tests"
scripts/build.sh build-asan -DSV_SANITIZE=ON
ctest --test-dir build-asan -LE valgrind --output-on-failure -j "$jobs"
echo "== all checks passed"
