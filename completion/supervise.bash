# supervise.bash - bash completion for supervise(1) and its subcommands.
#
# Nothing here names a subcommand, an option or a value list. They are read
# from the program's own help, once per shell for each binary and
# subcommand (the cache), so the completion never drifts from the program:
#   - subcommands: the words after "supervise" in the Usage lines of
#     `supervise --help` ("supervise ps|kill ..." gives ps and kill);
#   - options: the leading "-x, --long METAVAR" of each indented help line
#     that starts with "-" (a "-SIGNAL" there means "-KILL" etc. are options);
#   - an option's values from its METAVAR: SIG is a signal name, LADDER a
#     stop ladder, FILE a file, DIR and BUILD_DIR a directory, NAME|UID a user,
#     NAME a process name; any other METAVAR whose description ends in a list
#     ("tree containment: auto (default), cgroup, procwalk") completes to that
#     list;
#   - where the command starts: the uppercase words before COMMAND in the
#     Usage line ("supervise timeout [OPTION] DURATION COMMAND" : one word).
# Signal names are bash's own (`kill -l`), which are glibc's, which are the
# names supervise accepts. It needs bash 4.2 and nothing from
# bash-completion, but hands COMMAND's own arguments to bash-completion's
# _command_offset when that is loaded.

declare -gA _supervise_cache

# Sets _supervise_parsed to the parsed help of `$1 $2 --help` ($2 may be
# empty), read once and then kept in the cache (so no subshell may call
# this), one record per line: "sub NAME", "pos N" (words before COMMAND, -1: no COMMAND),
# "opt NAME METAVAR" (METAVAR "-" if none), "val NAME WORD...".
_supervise_parse() {
	local cmd=$1 sub=$2 key="$1|$2" help
	if [[ -z ${_supervise_cache[$key]+set} ]]; then
		# shellcheck disable=SC2086
		help=$(LC_ALL=C "$cmd" $sub --help 2>/dev/null) || help=""
		_supervise_cache[$key]=$(awk -v sub_="$sub" '
			function flush() {
				if (cur != "" && meta != "-" && meta !~ /^(SIG|LADDER|FILE|DIR|BUILD_DIR|NAME|NAME\|UID|N|K|PID|LIST|DUR|CMD|ERE)$/) {
					d = desc
					while (gsub(/\([^()]*\)/, "", d)) ;
					# A list is what follows the last colon, with commas.
					n = split(d, parts, ":")
					d = parts[n]
					if (n < 2 || d !~ /,/) { cur = ""; desc = ""; delete names; return }
					gsub(/[ ,.]+/, " ", d)
					k = split(d, w, " ")
					vals = ""; good = 0
					for (i = 1; i <= k; i++) if (w[i] ~ /^[a-z][a-z0-9-]*$/) { vals = vals " " w[i]; good++ }
					if (good >= 2)
						for (o in names) print "val " o vals
				}
				cur = ""; desc = ""; delete names
			}
			/^Usage:/ { usage = 1 }
			usage && !/^(Usage:)?[ \t]*supervise/ { usage = 0 }
			usage {
				i = ($1 == "Usage:") ? 2 : 1
				if ($(i + 1) ~ /^[a-z][a-z|-]*$/ && sub_ == "") {
					k = split($(i + 1), s, "|")
					for (j = 1; j <= k; j++) print "sub " s[j]
				}
				if (!pos_done) {
					i += (sub_ == "") ? 1 : 2
					n = 0; pos = -1
					for (; i <= NF; i++) {
						if ($i == "COMMAND") { pos = n; break }
						if ($i ~ /^[A-Z][A-Z_]*$/) n++
					}
					print "pos " pos
					pos_done = 1
				}
				next
			}
			/^[ \t]+-/ {
				flush()
				meta = "-"
				for (i = 1; i <= NF; i++) {
					w1 = $i
					sub(/,$/, "", w1)
					sub(/\[=.*$/, "", w1)
					if (w1 !~ /^--?[A-Za-z0-9][A-Za-z0-9-]*$/)
						break
					names[w1] = 1; cur = w1
				}
				if (cur != "" && i <= NF && $i ~ /^([A-Z]|N\[)/) { meta = $i; i++ }
				for (o in names) print "opt " o " " meta
				for (; i <= NF; i++) desc = desc " " $i
				next
			}
			/^[ \t]+[^ \t-]/ && cur != "" { desc = desc " " $0; next }
			{ flush() }
			END { flush() }
		' <<<"$help")
	fi
	_supervise_parsed=${_supervise_cache[$key]}
}

# Signal names as `kill -l` writes them, without SIG (or with, if $1 has it).
_supervise_signals() {
	local s out=()
	for s in $(compgen -A signal); do
		[[ $s == SIG* && $s != *'('* ]] || continue
		if [[ ${1^^} == SIG* ]]; then out+=("$s"); else out+=("${s#SIG}"); fi
	done
	printf '%s\n' "${out[@]}"
}

# Candidates for the value of an option whose METAVAR is $1, completing $2.
_supervise_values() {
	local meta=$1 cur=$2 opt=$3 rec
	case $meta in
	SIG) compgen -W "$(_supervise_signals "$cur")" -- "${cur^^}" ;;
	LADDER)
		# The last step, after the last comma: a signal, until ":" starts
		# its grace.
		local head="" step=$cur
		[[ $cur == *,* ]] && head=${cur%,*}, step=${cur##*,}
		[[ $step == *:* ]] && return
		compopt -o nospace 2>/dev/null
		compgen -P "$head" -W "$(_supervise_signals "$step")" -- "${step^^}"
		;;
	FILE) compgen -f -- "$cur" ;;
	DIR | BUILD_DIR) compgen -d -- "$cur" ;;
	'NAME|UID') compgen -u -- "$cur" ;;
	NAME) compgen -W "$(cat /proc/[0-9]*/comm 2>/dev/null | sort -u)" -- "$cur" ;;
	*)
		local kind name rest
		while read -r kind name rest; do
			if [[ $kind == val && $name == "$opt" ]]; then
				compgen -W "$rest" -- "$cur"
				return
			fi
		done <<<"$_supervise_parsed"
		;;
	esac
}

# Joins back what COMP_WORDBREAKS split ("--stop INT:5s" is one word to us),
# from the words and the spacing of COMP_LINE. Sets words and cword.
_supervise_words() {
	local line=$COMP_LINE pos=0 i w gap
	words=()
	cword=0
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		gap=0
		while [[ ${line:pos:1} == [[:space:]] ]]; do
			((pos++))
			gap=1
		done
		if ((i == 0 || gap)); then
			words+=("$w")
		else
			words[${#words[@]} - 1]+=$w
		fi
		((pos += ${#w}))
		((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
	done
}

_supervise() {
	local words cword cur cmd sub="" first=1 i w kind name rest role=""
	local _supervise_parsed
	local -A takes=()
	local opts=() subs=() pos=-1 npos=0 cmd_at=-1
	_supervise_words
	cur=${words[cword]}
	cmd=${words[0]}

	# A subcommand only as the very first word.
	_supervise_parse "$cmd" ""
	while read -r kind name rest; do
		[[ $kind == sub ]] && subs+=("$name")
	done <<<"$_supervise_parsed"
	if ((cword > 1)) && [[ " ${subs[*]} " == *" ${words[1]} "* ]]; then
		sub=${words[1]}
		first=2
		_supervise_parse "$cmd" "$sub"
	fi
	while read -r kind name rest; do
		case $kind in
		opt) opts+=("$name"); takes[$name]=$rest ;;
		pos) pos=$name ;;
		esac
	done <<<"$_supervise_parsed"

	# Walk the words up to the cursor: options and their values, then the
	# positional words before COMMAND, then COMMAND, whose arguments are its
	# own.
	for ((i = first; i <= cword; i++)); do
		w=${words[i]}
		if ((i == cword)); then
			if [[ $w == -* ]]; then
				role=option
			elif ((pos >= 0 && npos == pos)); then
				cmd_at=$i
			fi
			break
		fi
		if [[ $w == -- ]]; then
			cmd_at=$((i + 1))
			break
		elif [[ $w == -?* ]]; then
			if [[ $w != *=* && -n ${takes[$w]} && ${takes[$w]} != - ]]; then
				((i++))
				((i == cword)) && role=value && break
			fi
		elif ((pos >= 0 && npos == pos)); then
			cmd_at=$i
			break
		else
			((npos++))
		fi
	done

	COMPREPLY=()
	local opt="" val
	if ((cmd_at >= 0 && cword > cmd_at)); then
		# COMMAND's own arguments: its completion if bash-completion is there.
		if declare -F _command_offset >/dev/null; then
			_command_offset "$cmd_at"
			return
		fi
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
	elif ((cmd_at >= 0 && cword == cmd_at)); then
		if ((cword == 1)); then
			mapfile -t COMPREPLY < <(compgen -W "${subs[*]}" -- "$cur"; compgen -c -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -c -- "$cur")
		fi
		return
	elif [[ $role == value ]]; then
		opt=${words[cword - 1]}
		val=$cur
	elif [[ $role == option && $cur == --*=* ]]; then
		opt=${cur%%=*}
		val=${cur#*=}
	fi

	if [[ -n $opt ]]; then
		mapfile -t COMPREPLY < <(_supervise_values "${takes[$opt]}" "$val" "$opt")
		[[ $role == option ]] && COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
	elif [[ $role == option && $cur == -[A-Z]* && -n ${takes[-SIGNAL]+set} ]]; then
		# pkill's -KILL form.
		mapfile -t COMPREPLY < <(compgen -P - -W "$(_supervise_signals)" -- "${cur#-}")
	elif [[ $role == option ]]; then
		mapfile -t COMPREPLY < <(compgen -W "${opts[*]}" -- "$cur")
	fi

	# Bash replaces only the part of the word after its last break
	# character (":" and "=" by default); drop what precedes it.
	local brk=${COMP_WORDBREAKS//[^:=]/}
	if [[ -n $brk && $cur == *["$brk"]* ]]; then
		local lead=${cur%"${cur##*["$brk"]}"}
		COMPREPLY=("${COMPREPLY[@]#"$lead"}")
	fi
}

complete -F _supervise supervise
