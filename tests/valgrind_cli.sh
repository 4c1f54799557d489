#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# valgrind_cli.sh PORTWARDEN - the CLI runs valgrind-clean: no invalid
# read or write, no use of uninitialised memory, no definite or indirect
# leak, on the paths an operator takes.
#
#   - check, text and JSON, for every host profile in policies/profiles/,
#     and once with explicit --policy/--inventory/--role;
#   - check of a malformed policy: exit 1 as usual, and still clean;
#   - help, and help for one command;
#   - as root: load, status, stats -j, reload, unload on one end of a
#     veth pair in a namespace this script creates (198.18.254.0/24 only),
#     with a few datagrams and connection attempts across so that stats
#     has rows to print.
#
# Each command runs under valgrind with its own log per process; a run
# passes when the exit status is the expected one and every log says
# "ERROR SUMMARY: 0 errors".  tests/valgrind.supp holds the suppressions
# (each says why).  Without valgrind: exit 77.  Not root: the load part is
# skipped and the rest still runs.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init valgrind_cli "$@"
need_tools valgrind

ns=pwvg$$s
peer=pwvg$$c
ns_if=pwvg0
peer_if=pwvg1
loaded=false

cleanup() {
	if $loaded; then
		"$pw" unload --netns "$ns" --iface "$ns_if" >/dev/null 2>&1
	fi
	ip netns del "$ns" 2>/dev/null
	ip netns del "$peer" 2>/dev/null
}
pw_on_exit cleanup

vg_flags=(--error-exitcode=1 --leak-check=full
	--errors-for-leak-kinds=definite,indirect
	--suppressions="$src/tests/valgrind.supp")

# vg EXPECTED_STATUS ARGS... : portwarden ARGS under valgrind; stdout in
# $tmp/out.  Fails unless the status is EXPECTED_STATUS and no valgrind
# log reports an error (a status of 1 alone could be either).
vg() {
	local want=$1 got log bad=0
	shift
	checked
	rm -f "$tmp"/vg.*.log
	valgrind "${vg_flags[@]}" --log-file="$tmp/vg.%p.log" "$pw" "$@" \
		>"$tmp/out" 2>"$tmp/err"
	got=$?
	for log in "$tmp"/vg.*.log; do
		if ! grep -q "ERROR SUMMARY: 0 errors" "$log"; then
			bad=1
			fail "valgrind errors in: portwarden $*"
			grep -v '^==[0-9]*== *$' "$log" | sed 's/^/    /' |
				head -60 >&2
		fi
	done
	if [ "$got" != "$want" ]; then
		fail "exit $got, expected $want: portwarden $*"
		sed 's/^/    stderr: /' "$tmp/err" | head -10 >&2
		return 1
	fi
	return $bad
}

expect_in_out() {
	checked
	if ! grep -qF -- "$1" "$tmp/out"; then
		fail "'$1' not in the output of the last command"
		sed 's/^/    /' "$tmp/out" | head -20 >&2
	fi
}

# ------------------------------------------------------ without root --

for profile in "$src"/policies/profiles/*.profile; do
	vg 0 check --profile "$profile"
	vg 0 -j check --profile "$profile" && expect_in_out '"rules"'
done
vg 0 check --policy "$src/policies/replication-manager.policy" \
	--inventory "$src/policies/examples/replication-manager.inventory" \
	--role db,repman --tag galera

# A malformed policy: several kinds of error in one file.
cat >"$tmp/bad.policy" <<'EOF'
role db "database"
role db "again"
allow tcp 0,70000 from nobody to db note "bad ports, unknown peer"
allow tcp 80 from 198.18.2.1/24 to db note "host bits set"
include "missing.policy"
"unterminated
EOF
vg 1 check --policy "$tmp/bad.policy" \
	--inventory "$src/policies/examples/replication-manager.inventory" \
	--role db
vg 1 -j check --policy "$tmp/bad.policy" \
	--inventory "$src/policies/examples/replication-manager.inventory" \
	--role db

vg 0 help && expect_in_out "Commands:"
vg 0 help load && expect_in_out "--iface"

# --------------------------------------------------------- with root --

# Three UDP datagrams to port 53 and one TCP SYN to 3306 from the peer.
send_traffic() {
	local i
	for i in 1 2 3; do
		ip netns exec "$peer" bash -c \
			'printf x >/dev/udp/198.18.254.1/53' 2>/dev/null
	done
	ip netns exec "$peer" timeout 5 bash -c \
		'exec 3<>/dev/tcp/198.18.254.1/3306' 2>/dev/null
}

load_cycle() {
	local profile=$src/policies/profiles/db-host.profile
	local bastion=$src/policies/profiles/bastion.profile

	vg 0 load --netns "$ns" --iface "$ns_if" --profile "$profile" ||
		return
	loaded=true
	send_traffic
	vg 0 status --netns "$ns" --iface "$ns_if" && expect_in_out "audit"
	vg 0 -j stats --netns "$ns" --iface "$ns_if" &&
		expect_in_out '"udp"'
	vg 0 reload --netns "$ns" --iface "$ns_if" --profile "$bastion" \
		--mode audit
	vg 0 -j status --netns "$ns" --iface "$ns_if" &&
		expect_in_out '"bastion"'
	vg 0 unload --netns "$ns" --iface "$ns_if" && loaded=false
}

setup_net() {
	ip netns add "$ns" && ip netns add "$peer" || return 1
	ip link add "$ns_if" netns "$ns" type veth peer name "$peer_if" \
		netns "$peer" || return 1
	ip -n "$ns" addr add 198.18.254.1/24 dev "$ns_if"
	ip -n "$peer" addr add 198.18.254.2/24 dev "$peer_if"
	ip -n "$ns" link set "$ns_if" up
	ip -n "$peer" link set "$peer_if" up
}

if [ "$(id -u)" -ne 0 ]; then
	echo "valgrind_cli: not root: load, status, stats, reload, unload skipped"
elif ! command -v ip >/dev/null || ! setup_net; then
	fail "cannot set up namespaces $ns and $peer with a veth pair"
else
	load_cycle
fi

pw_test_done
