#!/bin/bash
# completion-test.sh SUPERVISE_BASH SUPERVISE MAN_DIR - sources the bash
# completion and checks COMPREPLY for typed lines, as bash would fill it:
# options, subcommands (every supervise-X.1.scd page in MAN_DIR must be
# completed as X), option values read from --help (--mechanism, --leaks),
# signal names (each one accepted by supervise's parser), stop ladders,
# directories, the COMMAND position, and that each --help is read once per
# shell. Prints each failed case; exits 1 if any failed.
set -u
completion=$(realpath "$1") real=$(realpath "$2") mandir=$(realpath "$3")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A supervise that logs each call, first in PATH, so the cache can be seen.
mkdir "$work/bin" "$work/cwd" "$work/cwd/bdir"
: >"$work/cwd/afile"
printf '#!/bin/sh\necho "$*" >>"%s"\nexec "%s" "$@"\n' "$work/calls" "$real" >"$work/bin/supervise"
chmod +x "$work/bin/supervise"
PATH="$work/bin:$PATH"
cd "$work/cwd" || exit 1

# shellcheck source=supervise.bash
source "$completion"

# Fills COMP_* for LINE (cursor at its end) the way bash does, splitting at
# blanks and at COMP_WORDBREAKS's ":" and "=", and runs the completion.
complete_line() {
	local line=$1 w
	local -a ws
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMP_WORDS=()
	read -r -a ws <<<"$line"
	[[ $line == *" " ]] && ws+=("")
	for w in "${ws[@]}"; do
		while [[ $w =~ ^([^:=]*)([:=]+)(.*)$ ]]; do
			[[ -n ${BASH_REMATCH[1]} ]] && COMP_WORDS+=("${BASH_REMATCH[1]}")
			COMP_WORDS+=("${BASH_REMATCH[2]}")
			w=${BASH_REMATCH[3]}
		done
		COMP_WORDS+=("$w")
	done
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_supervise
}

status=0
fail() {
	echo "completion.bash: '$line': $*" >&2
	status=1
}
# has LINE WORD...: every WORD is offered.
has() {
	line=$1
	shift
	complete_line "$line"
	local w
	for w in "$@"; do
		[[ " ${COMPREPLY[*]} " == *" $w "* ]] || fail "'$w' not offered (got: ${COMPREPLY[*]:0:20})"
	done
}
# lacks LINE WORD...: no WORD is offered.
lacks() {
	line=$1
	shift
	complete_line "$line"
	local w
	for w in "$@"; do
		[[ " ${COMPREPLY[*]} " != *" $w "* ]] || fail "'$w' offered"
	done
}
# exactly LINE WORD...: the candidates are these words, in any order.
exactly() {
	line=$1
	shift
	complete_line "$line"
	local got want
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	[[ $got == "$want" ]] || fail "offered '$got', want '$want'"
}

has "supervise --mech" --mechanism
exactly "supervise --mech" --mechanism
has "supervise --" --copies --timeout --stop --json --help --version
has "supervise run --" --ctest --from --jobs --junit --timeline --color
lacks "supervise run --" --copies --mechanism
has "supervise -s " TERM KILL INT HUP RTMIN+1
lacks "supervise -s " SIGTERM EXIT DEBUG
has "supervise -s SIGT" SIGTERM
has "supervise kill -s K" KILL
has "supervise kill --signal " TERM
exactly "supervise --mechanism " auto cgroup procwalk $(
	# pidns, or any later value, as long as --help lists it.
	"$real" --help | grep -q 'pidns' && echo pidns)
exactly "supervise --mechanism c" cgroup
exactly "supervise --mechanism=c" cgroup
exactly "supervise --leaks " kill report fail ignore
exactly "supervise run --leaks " kill report fail ignore
exactly "supervise --stop INT:5s,TE" 5s,TERM
has "supervise run --ctest " bdir
lacks "supervise run --ctest " afile
has "supervise --json " afile bdir
has "supervise r" run
has "supervise -n 2 sle" sleep
lacks "supervise -n 2 sleep --" --copies --mechanism
lacks "supervise -- sleep --" --copies
has "supervise -q sle" sleep
lacks "supervise -t 5 -- sle" --copies

# Every subcommand that has a page is completed, and so are its options.
for page in "$mandir"/supervise-*.1.scd; do
	sub=$(basename "$page" .1.scd)
	sub=${sub#supervise-}
	has "supervise " "$sub"
	has "supervise $sub --" --help
done

# Every signal name offered is one the parser accepts: -s is checked as it
# is parsed, before --help ends the run (a made-up name shows it is).
complete_line "supervise -s "
if "$real" -s NOSUCHSIG --help >/dev/null 2>&1; then
	line="supervise -s NOSUCHSIG --help"
	fail "accepted, so it cannot tell a good signal name from a bad one"
fi
for sig in "${COMPREPLY[@]}"; do
	"$real" -s "$sig" --help >/dev/null 2>&1 || { line="supervise -s $sig"; fail "supervise does not accept the signal '$sig'"; }
done
[[ ${#COMPREPLY[@]} -ge 30 ]] || { line="supervise -s "; fail "only ${#COMPREPLY[@]} signal names"; }

# The help of each command was read once, whatever the number of TABs.
dups=$(sort "$work/calls" | uniq -d)
[[ -z $dups ]] || { line="(all)"; fail "help read more than once: $dups"; }
grep -qx -- "--help" "$work/calls" || { line="(all)"; fail "'supervise --help' was never read"; }

[[ $status -eq 0 ]] && echo "completion.bash: all cases pass"
exit "$status"
