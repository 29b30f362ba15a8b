#!/bin/sh
# render-test.sh PAGE... - each built man page renders through `man -l` with
# groff's warnings on and none printed, and has a NAME and a SEE ALSO section.
set -eu
status=0
for page in "$@"; do
	if ! out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null); then
		echo "man.render: man -l $page failed: $out" >&2
		status=1
	elif [ -n "$out" ]; then
		echo "man.render: $page: $out" >&2
		status=1
	fi
	for section in NAME "SEE ALSO"; do
		if ! MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "^$section"; then
			echo "man.render: $page has no $section section" >&2
			status=1
		fi
	done
done
exit "$status"
