#!/bin/sh
# demo.sh - installs what is missing, builds, and runs the main job on the
# bundled demo worker: four copies, one of which exits 3.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
echo "+ supervise -n 4 -- sv-demo" >&2
status=0
build/supervisor/supervise -n 4 --json build/demo.jsonl -- build/workers/sv-demo || status=$?
echo "supervise exited $status (the first failing copy's code; see the exit-code table in README.md)" >&2
echo "JSON records: build/demo.jsonl" >&2
