#!/usr/bin/env bash
# bench/ctest_fidelity.sh [BUILD_DIR] - a real third-party CMake suite run
# by plain `ctest` and by `supervise run --ctest`: do the verdicts agree,
# test by test? (issue 10: cmocka's own suite, 46 tests that ctest all
# passes, 14 of which `run --ctest` used to fail because it ignored
# PASS_REGULAR_EXPRESSION.)
#
# Takes cmocka's source with `apt-get source cmocka` (Debian 12: 1.1.5; its
# tests use PASS_REGULAR_EXPRESSION and WILL_FAIL), or from SRC=dir, builds
# it with -DUNIT_TESTING=ON, then runs `ctest -j J` and
# `supervise run --ctest -j J` on the same build, and prints one line per
# test that differs and the totals. CLI=path measures another binary (e.g.
# main's: CLI=/work/main/build/supervisor/supervise) on the same build, so
# a before/after is two runs. Knobs: J (2), WORK (a temporary directory,
# removed; set it to keep the build), SUITE (an already built CMake build
# directory to compare instead of cmocka's, e.g. this project's own build)
# and ARGS (more arguments for both runners, e.g. ARGS="-L unit").
# Exit status: 0 when every verdict agrees, 1 when one differs, 2 when it
# could not run. Needs apt-get (with deb-src) or SRC, cmake, a C compiler
# and python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
CLI=${CLI:-$build/supervisor/supervise}
J=${J:-2}
keep_work=${WORK:+1}
WORK=${WORK:-$(mktemp -d)}
[ -n "$keep_work" ] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"

ARGS=${ARGS:-}
if [ -n "${SUITE:-}" ]; then
        SRC=$SUITE
        B=$(cd "$SUITE" && pwd)
elif [ -z "${SRC:-}" ]; then
        SRC=$(find "$WORK" -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
        if [ -z "$SRC" ]; then
                (cd "$WORK" && apt-get source cmocka >"$WORK/apt.log" 2>&1) || {
                        echo "ctest_fidelity: 'apt-get source cmocka' failed (deb-src missing?); set SRC" >&2
                        tail -n 3 "$WORK/apt.log" >&2
                        exit 2
                }
                SRC=$(find "$WORK" -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
        fi
fi
B=${B:-$WORK/build}
if [ ! -f "$B/CTestTestfile.cmake" ]; then
        cmake -S "$SRC" -B "$B" -DUNIT_TESTING=ON >"$WORK/cmake.log" 2>&1 ||
                { tail -n 20 "$WORK/cmake.log" >&2; exit 2; }
        cmake --build "$B" -j "$J" >"$WORK/build.log" 2>&1 ||
                { tail -n 20 "$WORK/build.log" >&2; exit 2; }
fi

set +e
t0=$(date +%s.%N)
# shellcheck disable=SC2086
ctest --test-dir "$B" -j "$J" $ARGS >"$WORK/ctest.out" 2>&1
t1=$(date +%s.%N)
# shellcheck disable=SC2086
"$CLI" run -q -j "$J" --ctest "$B" $ARGS --events "$WORK/events.jsonl" >"$WORK/sv.out" 2>"$WORK/sv.err"
sv_status=$?
t2=$(date +%s.%N)
set -e

echo "$(basename "$SRC"): ctest -j $J $ARGS vs $(basename "$CLI") run --ctest -j $J $ARGS (exit $sv_status)"
sed 's/^/  /' "$WORK/sv.err"
python3 - "$WORK/ctest.out" "$WORK/events.jsonl" "$t0" "$t1" "$t2" <<'EOF'
import json, re, sys

def ctest_verdicts(path):
    out = {}
    for line in open(path, errors="replace"):
        m = re.search(r"Test +#\d+: (\S+) [ .]*(\S.*)$", line)
        if not m:
            continue
        s = m.group(2)
        out[m.group(1)] = ("pass" if s.startswith("Passed") else
                           "disabled" if "Disabled" in s else
                           "skip" if s.startswith("***Skipped") else
                           "notrun" if s.startswith("***Not Run") else "fail")
    return out

def sv_verdicts(path):
    out = {}
    for line in open(path, errors="replace"):
        e = json.loads(line)
        if e["event"] == "exit":
            v = e["verdict"]
            out[e["name"]] = {"timeout": "fail", "crash": "fail", "error": "notrun"}.get(v, v)
        elif e["event"] == "skip":
            out[e["name"]] = "disabled" if e.get("reason") == "disabled" else "skip"
    return out

a, b = ctest_verdicts(sys.argv[1]), sv_verdicts(sys.argv[2])
t0, t1, t2 = map(float, sys.argv[3:6])
differ = [n for n in a if a[n] != b.get(n)]
for n in differ:
    print(f"  differs: {n}: ctest {a[n]}, supervise {b.get(n, 'nothing')}")
count = lambda d, v: sum(1 for x in d.values() if x == v)
print(f"  ctest:     {len(a)} tests, {count(a, 'pass')} passed, {len(a) - count(a, 'pass')} not, {t1 - t0:.2f} s")
print(f"  supervise: {len(b)} tests, {count(b, 'pass')} passed, {len(b) - count(b, 'pass')} not, {t2 - t1:.2f} s")
print(f"  agree: {len(a) - len(differ)} of {len(a)}; differ: {len(differ)}")
sys.exit(1 if differ or not a else 0)
EOF
