#!/bin/sh
# sync-test.sh SUPERVISE PAGE.scd... - the man pages and --help list the same
# options. For supervise.1.scd the help is `supervise --help`; for
# supervise-X.1.scd it is `supervise X --help`; other pages (libsv.3) are
# not about options and are passed over. An option is a word in an option's
# definition: in --help, the leading "-n, --copies" of an indented line; in a
# page, the leading "*-n*, *--copies*" of a line. Every option on one side
# must be on the other. Prints each difference; exits 1 if there is any.
set -eu
sv=$1
shift

# Reads definition lines on stdin (markup already removed), prints the
# leading option words, one per line, sorted: "-n, --copies N  text" gives
# -n and --copies; "-SIGNAL" counts as an option word too.
options() {
	awk '{
		for (i = 1; i <= NF; i++) {
			w = $i
			sub(/,$/, "", w)
			sub(/\[?=.*$/, "", w)
			if (w !~ /^--?[A-Za-z0-9][A-Za-z0-9-]*$/)
				break
			print w
		}
	}' | sort -u
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
checked=0
for page in "$@"; do
	base=$(basename "$page" .scd)
	case $base in
	supervise.1) sub="" ;;
	supervise-*.1) sub=${base#supervise-}; sub=${sub%.1} ;;
	*) continue ;;
	esac
	# shellcheck disable=SC2086
	if ! "$sv" $sub --help >"$tmp/help" 2>&1; then
		echo "man.sync: 'supervise${sub:+ $sub} --help' failed" >&2
		status=1
		continue
	fi
	grep -E '^[[:space:]]+-' "$tmp/help" | options >"$tmp/from-help"
	grep -E '^\*-' "$page" | sed 's/[*_]//g' | options >"$tmp/from-page"
	if [ ! -s "$tmp/from-help" ]; then
		echo "man.sync: no option found in 'supervise${sub:+ $sub} --help'" >&2
		status=1
	fi
	for o in $(comm -23 "$tmp/from-help" "$tmp/from-page"); do
		echo "man.sync: $base.scd lacks $o (in 'supervise${sub:+ $sub} --help')" >&2
		status=1
	done
	for o in $(comm -13 "$tmp/from-help" "$tmp/from-page"); do
		echo "man.sync: $base.scd has $o, which 'supervise${sub:+ $sub} --help' does not" >&2
		status=1
	done
	checked=$((checked + 1))
done
if [ "$checked" -eq 0 ]; then
	echo "man.sync: no supervise page given" >&2
	exit 1
fi
[ "$status" -eq 0 ] && echo "man.sync: $checked pages agree with --help"
exit "$status"
