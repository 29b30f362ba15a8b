#!/bin/sh
# windows.sh - the Windows pass of CI: cross-builds supervise for 64-bit
# Windows with mingw-w64 and runs its Windows test suite under wine, through
# ctest. Installs what is missing (Debian packages only; libuv, cmocka,
# jansson and pcre2 are built from Debian's own sources, `apt-get source`,
# since Debian packages none of them for mingw; PCRE2 stands in for the
# <regex.h> the Windows C runtime lacks). Everything lands under the build directory
# (default build-win/): the deps in _deps/ and the wine prefix in wine/, both
# kept between runs, so a second run only rebuilds supervise.
#   scripts/windows.sh [builddir]
#   SV_WIN_DEPS=/prefix scripts/windows.sh   use deps built elsewhere
# The steps, the ladder there and what wine cannot show: README.md, "Windows".
set -eu
cd "$(dirname "$0")/.."
root=$PWD
b=${1:-build-win}
mkdir -p "$b"
b=$(cd "$b" && pwd)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# Packages: the compiler, wine (Debian 12 has no wine64 on PATH: `wine`
# dispatches to the 64-bit loader), and dpkg-dev for apt-get source.
pkgs="gcc-mingw-w64-x86-64 wine64 wine ninja-build cmake dpkg-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "windows.sh: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

tc=$root/cmake/mingw-w64.cmake
# Static libraries only: supervise.exe and the tests then run without any
# DLL of ours beside them, from wherever ctest starts them.
cross="-G Ninja -DCMAKE_TOOLCHAIN_FILE=$tc -DCMAKE_BUILD_TYPE=Release"

# deb-src for the same mirrors and suites as deb, if none is configured.
enable_deb_src() {
	grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	[ -f /etc/apt/sources.list.d/debian.sources ] || {
		echo "windows.sh: no deb-src entry and no debian.sources to derive one from" >&2
		exit 1
	}
	sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
		$sudo tee /etc/apt/sources.list.d/debsrc.sources >/dev/null
	$sudo apt-get update -qq
}

# Fetches Debian's source of package $1 into the current directory. A
# mirror may list a (security) update whose files it does not carry yet:
# then the other versions its index names are tried, newest first.
fetch_source() {
	apt-get source -qq "$1" >/dev/null 2>&1 && return 0
	for v in $(apt-cache showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p' |
		sort -r -V); do
		find . -mindepth 1 -delete
		apt-get source -qq "$1=$v" >/dev/null 2>&1 && return 0
	done
	return 1
}

# Builds one source package into the prefix unless its stamp says it is
# there. $1: Debian source package, $2...: its CMake options.
build_dep() {
	pkg=$1
	shift
	[ -f "$deps/stamp.$pkg" ] && return 0
	echo "== windows: building $pkg for mingw" >&2
	mkdir -p "$deps/src"
	rm -rf "$deps/src/$pkg" "$deps/b-$pkg"
	mkdir "$deps/src/$pkg"
	(cd "$deps/src/$pkg" && fetch_source "$pkg") || {
		echo "windows.sh: apt-get source $pkg failed" >&2
		exit 1
	}
	src=$(find "$deps/src/$pkg" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	# shellcheck disable=SC2086
	cmake -S "$src" -B "$deps/b-$pkg" $cross -DCMAKE_INSTALL_PREFIX="$prefix" "$@" >"$deps/b-$pkg.log" 2>&1 &&
		cmake --build "$deps/b-$pkg" --target install -j "$(nproc)" >>"$deps/b-$pkg.log" 2>&1 || {
		tail -n 30 "$deps/b-$pkg.log" >&2
		echo "windows.sh: building $pkg failed (log: $deps/b-$pkg.log)" >&2
		exit 1
	}
	touch "$deps/stamp.$pkg"
}

if [ -n "${SV_WIN_DEPS:-}" ]; then
	prefix=$SV_WIN_DEPS
else
	deps=$b/_deps
	prefix=$deps/prefix
	for p in libuv1 cmocka jansson pcre2; do
		[ -f "$deps/stamp.$p" ] || {
			enable_deb_src
			break
		}
	done
	build_dep libuv1 -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
	build_dep cmocka -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
	build_dep jansson -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
		-DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_SHARED_LIBS=OFF
	# 8-bit code units only, static, no JIT (a yes/no match on a process
	# name or a test's output needs no speed), no pcre2grep/pcre2test.
	build_dep pcre2 -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
		-DPCRE2_BUILD_PCRE2_8=ON -DPCRE2_BUILD_PCRE2_16=OFF -DPCRE2_BUILD_PCRE2_32=OFF \
		-DPCRE2_SUPPORT_JIT=OFF -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF \
		-DPCRE2_SUPPORT_LIBBZ2=OFF -DPCRE2_SUPPORT_LIBZ=OFF \
		-DPCRE2_SUPPORT_LIBREADLINE=OFF -DPCRE2_SUPPORT_LIBEDIT=OFF
fi

# wine: headless, quiet, its own prefix under the build directory (about
# 0.7 GB, made once in ~10 s), no Mono/Gecko prompts.
export WINEPREFIX="$b/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY || true
# Whatever happens, no wine process outlives this script: wine keeps Windows
# processes alive under wineserver after the launcher is gone.
trap 'wineserver -k 2>/dev/null || true' EXIT INT TERM
if ! [ -f "$WINEPREFIX/system.reg" ]; then
	echo "== windows: creating the wine prefix" >&2
	wineboot -i >/dev/null 2>&1
	wineserver -w
fi
# No winedbg for a crashing test program: Windows ends it (the job has
# DIE_ON_UNHANDLED_EXCEPTION, which wine 8.0 ignores), where wine would start
# a debugger inside the worker's job and print a crash dump.
if ! [ -f "$WINEPREFIX/sv-no-debugger" ]; then
	wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' \
		/v Debugger /d '' /f >/dev/null 2>&1
	wineserver -w
	touch "$WINEPREFIX/sv-no-debugger"
fi

echo "== windows: configure and build (warnings are errors)" >&2
# shellcheck disable=SC2086
cmake -S . -B "$b" $cross -DSV_WERROR=ON -DCMAKE_FIND_ROOT_PATH="$prefix" \
	-DCMAKE_PREFIX_PATH="$prefix" >"$b/configure.log" 2>&1 || {
	cat "$b/configure.log" >&2
	exit 1
}
cmake --build "$b" -j "$(nproc)"
echo "== windows: tests under wine" >&2
ctest --test-dir "$b" --output-on-failure -j "$(nproc)"
echo "== windows: passed" >&2
