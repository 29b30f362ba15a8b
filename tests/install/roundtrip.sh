#!/bin/sh
# roundtrip.sh CMAKE CC BUILD_DIR SOURCE_DIR WORK_DIR - installs BUILD_DIR
# into WORK_DIR/prefix, checks what is there (files, SONAME, exported
# symbols, jansson kept private), then builds examples/embed.c against that
# prefix alone, once with `cc -std=c11 $(pkg-config --cflags --libs
# supervise)` and once through find_package(supervise) (shared and static),
# and runs each: it must spawn its workers, see their exits as expected, exit
# 0 and print nothing on stderr. Every failure is one line naming what;
# exits 1 at the end if there was any.
set -eu
cmake=$1 cc=$2 build=$3 src=$4 work=$5

status=0
fail() {
	echo "install.roundtrip: $*" >&2
	status=1
}

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; fail "cmake --install failed"; exit 1; }

# GNUInstallDirs may pick lib, lib64 or lib/<multiarch>: find it by the .pc.
pc=$(find "$prefix" -name supervise.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || { fail "no supervise.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")

for f in bin/supervise include/supervise/sv.h include/supervise/sv_run.h include/supervise/sv_find.h include/supervise/sv_pool.h \
	share/bash-completion/completions/supervise; do
	[ -f "$prefix/$f" ] || fail "$f not installed"
done
for f in libsv.so.0.2.0 libsv.a cmake/supervise/superviseConfig.cmake \
	cmake/supervise/superviseConfigVersion.cmake cmake/supervise/superviseTargets.cmake; do
	[ -f "$libdir/$f" ] || fail "$libdir/$f not installed"
done
[ "$(readlink "$libdir/libsv.so.1")" = libsv.so.0.2.0 ] || fail "libsv.so.1 is not a link to libsv.so.0.2.0"
[ "$(readlink "$libdir/libsv.so")" = libsv.so.1 ] || fail "libsv.so is not a link to libsv.so.1"
readelf -d "$libdir/libsv.so.0.2.0" | grep -q 'SONAME.*\[libsv\.so\.1\]' || fail "libsv's SONAME is not libsv.so.1"
# Every page the build made is installed.
for page in "$build"/docs/man/*.[0-9]; do
	[ -f "$page" ] || continue
	n=$(basename "$page")
	[ -f "$prefix/share/man/man${n##*.}/$n" ] || fail "man page $n not installed"
done

# The shared library exports exactly the functions the public headers
# declare: no sv__ internal leaks out, and no declared function is missing.
nm -D --defined-only "$libdir/libsv.so.0.2.0" | awk '$2 ~ /^[TtWDdRrBb]$/ { print $3 }' | sort -u >"$work/exported"
sed 's/(\*sv_[a-z0-9_]*)//g' "$prefix"/include/supervise/*.h | grep -o 'sv_[a-z0-9_]*(' | tr -d '(' |
	grep -v '^sv__' | sort -u >"$work/declared"
for s in $(comm -23 "$work/exported" "$work/declared"); do fail "libsv.so exports $s, which no public header declares"; done
for s in $(comm -13 "$work/exported" "$work/declared"); do fail "a public header declares $s, which libsv.so does not export"; done

# pkg-config: a strict C11 consumer with nothing but the .pc's flags. The
# rpath is how a program finds a libsv outside the linker's path (the
# guardian re-executes the program, so the path must not depend on the
# environment).
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs supervise) || { fail "pkg-config supervise failed"; exit 1; }
case " $flags " in *" -ljansson "*) fail "pkg-config --libs names jansson, which must be private: $flags" ;; esac
printf '#include <supervise/sv.h>\n#include <supervise/sv_run.h>\n#include <supervise/sv_find.h>\n#include <supervise/sv_pool.h>\nint main(void) { return sv_signal_parse("TERM") > 0 ? 0 : 1; }\n' >"$work/headers.c"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror "$work/headers.c" $flags -Wl,-rpath,"$libdir" -o "$work/headers" ||
	fail "the public headers do not compile together with -std=c11 -pedantic"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror "$src/examples/embed.c" $flags -Wl,-rpath,"$libdir" -o "$work/embed-pc" ||
	fail "examples/embed.c does not build with pkg-config --cflags --libs supervise"

# Runs one built example; it must exit 0 (each worker ended as expected),
# print its three exits, and say nothing on stderr.
run_embed() {
	exe=$1 how=$2
	[ -x "$exe" ] || return 0
	if ! "$exe" >"$exe.out" 2>"$exe.err"; then
		fail "$how: embed exited $? (stdout, stderr follow)"
		cat "$exe.out" "$exe.err" >&2
		return 0
	fi
	[ -s "$exe.err" ] && { fail "$how: embed wrote on stderr:"; cat "$exe.err" >&2; }
	grep -q "'true' pid [0-9]*: exited 0 " "$exe.out" || fail "$how: no exit of 'true' in its output"
	grep -q "'sleep' pid [0-9]*: killed by SIGTERM (stopped" "$exe.out" || fail "$how: 'sleep' was not stopped"
	grep -qx "0 unexpected" "$exe.out" || fail "$how: not '0 unexpected'"
	cat "$exe.out"
}

# Which libsv an executable loads: the installed one, or none (static).
loads() {
	ldd "$1" | awk '$1 ~ /^libsv\.so/ { print $3 }'
}

run_embed "$work/embed-pc" pkg-config
[ -x "$work/embed-pc" ] && [ "$(loads "$work/embed-pc")" != "$libdir/libsv.so.1" ] &&
	fail "pkg-config: embed loads '$(loads "$work/embed-pc")', not $libdir/libsv.so.1"
[ -x "$work/embed-pc" ] && readelf -d "$work/embed-pc" | grep NEEDED | grep -q jansson &&
	fail "pkg-config: embed needs jansson itself; it must come only through libsv"

# find_package(supervise): supervise::sv (shared) and supervise::sv_static.
consumer=$work/consumer
if "$cmake" -S "$src/tests/install/consumer" -B "$consumer" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$prefix" -DSV_EXAMPLE="$src/examples/embed.c" -DSV_WANT_VERSION=0.2 \
	>"$work/consumer.log" 2>&1 && "$cmake" --build "$consumer" >>"$work/consumer.log" 2>&1; then
	run_embed "$consumer/embed" find_package
	[ "$(loads "$consumer/embed")" = "$libdir/libsv.so.1" ] ||
		fail "find_package: embed loads '$(loads "$consumer/embed")', not $libdir/libsv.so.1"
	run_embed "$consumer/embed_static" "find_package (static)"
	[ -z "$(loads "$consumer/embed_static")" ] || fail "find_package: embed_static loads a libsv.so"
else
	cat "$work/consumer.log" >&2
	fail "the find_package(supervise) consumer does not build"
fi
# The version file answers: 0.2.0 is not a 0.3.
if "$cmake" -S "$src/tests/install/consumer" -B "$consumer-v" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$prefix" -DSV_EXAMPLE="$src/examples/embed.c" -DSV_WANT_VERSION=0.3 \
	>"$work/consumer-v.log" 2>&1; then
	fail "find_package(supervise 0.3) accepted version 0.2.0"
fi

[ "$status" -eq 0 ] && echo "install.roundtrip: ok (prefix $prefix)"
exit "$status"
