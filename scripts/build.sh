#!/bin/sh
# build.sh [BUILD_DIR [CMAKE_ARGS...]] - configures and builds everything
# (library, CLI, workers, tests, benchmarks) into BUILD_DIR (default build),
# with warnings as errors (the project's default is off, for packagers).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSV_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
