# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# lib.sh - what the shell tests share.  A test sources this file and
# names itself; its first argument is the portwarden binary:
#
#	. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#	pw_test_init some_test "$@"       # sets pw, src and tmp
#	need_root "namespaces, XDP"       # exit 77 with a message otherwise
#	need_tools ip python3             # likewise for each tool
#	pw_on_exit teardown               # run at exit, on success or not
#	...checks...
#	pw_test_done                      # summary; status 1 on any failure
#
# The counters live in files under $tmp, so that checks made in a
# subshell (a background run, a pipeline) count as well.

# pw_test_init NAME PORTWARDEN: NAME prefixes the test's own messages;
# $pw is the binary, $src the source tree, $tmp a fresh directory that
# goes at exit, after the hooks of pw_on_exit.
pw_test_init() {
	pw_test_name=$1
	pw=${2:?usage: $(basename "$0") PORTWARDEN}
	src=${PW_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	pw_exit_hooks=()
	tmp=$(mktemp -d "/tmp/pw-$pw_test_name-XXXXXX") ||
		{ echo "$pw_test_name: cannot make a temporary directory" >&2; exit 1; }
	: >"$tmp/.pw-checks"
	: >"$tmp/.pw-failures"
	trap pw_test_exit EXIT
	trap 'exit 1' INT TERM HUP
}

# pw_on_exit FUNCTION: call FUNCTION at exit (in the order given)
pw_on_exit() {
	pw_exit_hooks+=("$1")
}

pw_test_exit() {
	local hook
	for hook in "${pw_exit_hooks[@]}"; do
		"$hook"
	done
	rm -rf "$tmp"
}

# need_root WHAT: skip (exit 77) unless root; WHAT says what needs it
need_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	echo "$pw_test_name: needs root ($1); skipped"
	exit 77
}

# need_tools TOOL...: skip (exit 77) unless every TOOL is on PATH
need_tools() {
	local tool
	for tool; do
		command -v "$tool" >/dev/null && continue
		echo "$pw_test_name: $tool not installed (scripts/setup.sh installs it); skipped"
		exit 77
	done
}

# checked: count one check (fail counts the failures)
checked() {
	echo . >>"$tmp/.pw-checks"
}

fail() {
	echo "FAIL: $*" >&2
	echo "$*" >>"$tmp/.pw-failures"
}

# die MESSAGE: give up (on the test, or on the subshell it runs in), as
# a failure
die() {
	echo "$pw_test_name: $*" >&2
	echo "$*" >>"$tmp/.pw-failures"
	exit 1
}

# pw_test_done: the summary line; exit 0 only when nothing failed
pw_test_done() {
	local checks failures
	checks=$(wc -l <"$tmp/.pw-checks")
	failures=$(wc -l <"$tmp/.pw-failures")
	echo "$pw_test_name: $checks checks, $failures failures"
	[ "$failures" -eq 0 ]
	exit
}

# run EXPECTED_STATUS CMD...: stdout in $tmp/out, stderr in $tmp/err;
# status 1 (and a failure) when CMD exits otherwise
run() {
	local want=$1 got
	shift
	checked
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "exit $got, expected $want: $*"
		sed 's/^/    stderr: /' "$tmp/err" | head -5 >&2
		return 1
	fi
	return 0
}

# check CONDITION MESSAGE: CONDITION (shell code, evaluated here) holds
check() {
	checked
	if ! eval "$1"; then
		fail "$2"
		return 1
	fi
	return 0
}

# expect_in FILE TEXT / expect_not_in FILE TEXT: fixed TEXT is (not) in FILE
expect_in() {
	checked
	grep -qF -- "$2" "$1" && return 0
	fail "'$2' not in $(basename "$1")"
	sed 's/^/    /' "$1" | head -40 >&2
	return 1
}

expect_not_in() {
	checked
	grep -qF -- "$2" "$1" || return 0
	fail "'$2' unexpectedly in $(basename "$1")"
	return 1
}

# remove_stale_netns PREFIX IFACE...: the namespaces of earlier runs that
# were killed before their teardown: PREFIX, the run's pid (gone now),
# perhaps x<number>, one letter.  IFACE...: what to unload there first.
remove_stale_netns() {
	local prefix=$1 ns iface
	shift
	for ns in $(ip netns list | awk '{ print $1 }'); do
		[[ $ns =~ ^${prefix}([0-9]+)(x[0-9]+)?[a-z]$ ]] || continue
		kill -0 "${BASH_REMATCH[1]}" 2>/dev/null && continue
		for iface; do
			"$pw" unload --netns "$ns" --iface "$iface" >/dev/null 2>&1
		done
		ip netns del "$ns"
	done
}

# The sysctls that keep IPv6 off a namespace (no MLD, no router
# solicitations: nothing crosses a link but the test's packets).
ipv6_off=(net.ipv6.conf.all.disable_ipv6=1
	net.ipv6.conf.default.disable_ipv6=1)

# add_netns_pair NS_A NS_B [SYSCTL=VALUE...]: two new namespaces, the
# sysctls set in both, loopback up
add_netns_pair() {
	local a=$1 b=$2 ns
	shift 2
	ip netns add "$a" && ip netns add "$b" || die "cannot add namespaces"
	for ns in "$a" "$b"; do
		if [ $# -gt 0 ]; then
			ip netns exec "$ns" sysctl -qw "$@" >/dev/null ||
				die "cannot set $* in $ns"
		fi
		ip -n "$ns" link set lo up
	done
}

# add_veth NS_A IF_A MAC_A NS_B IF_B MAC_B: a veth pair between two
# namespaces, both ends up (an empty MAC: the kernel picks one)
add_veth() {
	# shellcheck disable=SC2086 # "address MAC" is two words, or none
	ip link add "$2" ${3:+address $3} netns "$1" type veth \
		peer name "$5" ${6:+address $6} netns "$4" ||
		die "cannot add the veth pair $2"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}
