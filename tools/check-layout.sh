#!/bin/sh
# check-layout.sh [ROOT] - the agent's include rule: a domain (agent/<domain>/) includes only its own
# headers, core/ and common/; core/ includes no domain header; common/ includes nothing of agent/.
# Only the composition root (agent/*.c, agent/*.h) may include every domain. Prints each breach as
# file:line: why, and exits 1 if there is any.
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
[ -d agent ] || { echo "check-layout: no agent/ under $root" >&2; exit 2; }

domains=$(for d in agent/*/; do d=${d%/}; d=${d#agent/}; [ "$d" = core ] || echo "$d"; done)

# Prints "line<TAB>header" for every quoted include of a file.
includes() {
	awk '/^[ \t]*#[ \t]*include[ \t]*"/ { split($0, q, "\""); print FNR "\t" q[2] }' "$1"
}

is_domain() {
	for d in $domains; do [ "$d" = "$1" ] && return 0; done
	return 1
}

for f in $(find agent common -name '*.[ch]' 2>/dev/null | sort); do
	case $f in
	agent/*/*) here=${f#agent/}; here=${here%%/*}; kind=folder ;;
	agent/*) continue ;; # the composition root
	common/*) here=common; kind=common ;;
	esac
	includes "$f" | while IFS='	' read -r line hdr; do
		top=${hdr%%/*}
		if [ "$top" = "$hdr" ]; then
			# bare name: the folder's own header, else something -Iagent finds at the root
			dir=$(dirname "$f")
			if [ ! -e "$dir/$hdr" ] && [ -e "agent/$hdr" ]; then
				echo "$f:$line: includes the composition root's \"$hdr\""
			fi
			continue
		fi
		if [ "$kind" = common ]; then
			if [ "$top" = core ] || is_domain "$top" || [ "$top" = agent ]; then
				echo "$f:$line: common/ includes the agent's \"$hdr\""
			fi
		elif [ "$here" = core ]; then
			if is_domain "$top"; then
				echo "$f:$line: core/ includes the domain header \"$hdr\""
			fi
		elif is_domain "$top" && [ "$top" != "$here" ]; then
			echo "$f:$line: the $here domain includes the $top domain's \"$hdr\""
		fi
	done
done >"${TMPDIR:-/tmp}/check-layout.$$"
status=0
if [ -s "${TMPDIR:-/tmp}/check-layout.$$" ]; then
	cat "${TMPDIR:-/tmp}/check-layout.$$"
	status=1
fi
rm -f "${TMPDIR:-/tmp}/check-layout.$$"
exit $status
