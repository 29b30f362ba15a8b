#!/bin/sh
# deps.sh - installs the Debian 12 packages supervise needs to build, test and
# benchmark, if any is missing (clang and libclang-rt-14-dev: libFuzzer, for
# scripts/fuzz-smoke.sh). Needs root (or sudo) only when something is.
set -eu

# clang and ninja-build: scripts/build-matrix.sh; scdoc and man-db: the man
# pages (docs/man) and their test; python3-jsonschema: the schema.exit_record
# test (docs/exit-record.schema.json).
pkgs="gcc clang libclang-rt-14-dev ninja-build scdoc man-db libc6-dev linux-libc-dev make cmake pkg-config libuv1-dev libcmocka-dev libjansson-dev valgrind python3 python3-jsonschema perl procps strace parallel"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
