#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# flows_netns.sh PORTWARDEN - replies and egress over a real load: the XDP
# and tc programs on one end of a veth pair, real sockets on both ends.
# Needs root; exits 77 otherwise.
#
#   bastion   the replication-manager bastion profile (enforce both ways):
#             operators SSH in, the bastion SSHes to a DB host and calls
#             the repman API, every answer arrives; a crafted TCP ACK and
#             a UDP datagram from the DB host's port 22 to ports of the
#             bastion that no flow uses are dropped and counted; the
#             bastion's own connection to an undocumented port is dropped
#             on egress.
#   db        a DB host in audit: answers to repman's monitoring
#             connection leave as replies, not egress violations; the host
#             opening an undocumented port is an egress violation with its
#             own counter.
#   full      the flow table at 512 entries, flooded with three times as
#             many flows: evictions show in status, the oldest flow's
#             answer is a violation again, the newest one's a reply.
#
# Two namespaces: "h" (the host under test) and "w" (its peers, several
# addresses from the example inventory on one interface).  Addresses:
# 198.18.0.0/16 and 2001:db8::/32 only.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init flows_netns "$@"
need_root "namespaces, XDP, tc, bpffs"
need_tools ip python3

net="python3 $src/tests/nettool.py"
policy=$src/policies/replication-manager.policy
inventory=$src/policies/examples/replication-manager.inventory
prefix=pwfl
hns=$prefix$$h
wns=$prefix$$w
h_if=pwflh0
w_if=pwflw0

# peers in "w", from policies/examples/replication-manager.inventory
op4=198.18.10.5 op6=2001:db8:10::5
db4=198.18.2.11 db6=2001:db8:2::11
repman4=198.18.1.10 repman6=2001:db8:1::10
bastion4=198.18.5.10 bastion6=2001:db8:5::10

pids=()

teardown() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	pids=()
	"$pw" unload --netns "$hns" --iface "$h_if" >/dev/null 2>&1
	ip netns del "$hns" 2>/dev/null
	ip netns del "$wns" 2>/dev/null
}

pw_on_exit teardown

# ----------------------------------------------------------- topology --

# net_up HOST_ADDR4 HOST_ADDR6 PEER_ADDR...: the two namespaces, joined
setup_net() {
	local h4=$1 h6=$2 a
	shift 2
	add_netns_pair "$hns" "$wns"
	add_veth "$hns" "$h_if" "" "$wns" "$w_if" ""
	ip -n "$hns" addr add "$h4/16" dev "$h_if"
	ip -n "$hns" addr add "$h6/32" dev "$h_if" nodad
	for a in "$@"; do
		case $a in
		*:*) ip -n "$wns" addr add "$a/32" dev "$w_if" nodad ;;
		*) ip -n "$wns" addr add "$a/16" dev "$w_if" ;;
		esac
	done
}

# in_h / in_w CMD...: run in a namespace
in_h() { ip netns exec "$hns" "$@"; }
in_w() { ip netns exec "$wns" "$@"; }

# serve NS ADDR PORT [NETTOOL_COMMAND]: a server in the background
# (default serve-tcp)
serve() {
	ip netns exec "$1" $net "${4:-serve-tcp}" "$2" "$3" &
	pids+=($!)
}

# Servers take a moment to bind; connecting early would fail for nothing.
settle() {
	sleep 0.5
}

load_profile() {
	cat >"$tmp/host.profile"
	if ! "$pw" load --netns "$hns" --iface "$h_if" \
		--profile "$tmp/host.profile" >"$tmp/load.out" 2>&1; then
		sed 's/^/    /' "$tmp/load.out" >&2
		die "load failed"
	fi
}

stats_json() {
	"$pw" -j stats --netns "$hns" --iface "$h_if" >"$tmp/stats.json" ||
		die "stats -j failed"
}

# packets DIR ROLE PROTO PORT VERDICT: summed packets of the matching rows
# of $tmp/stats.json ("*" matches anything)
packets() {
	python3 - "$tmp/stats.json" "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
want = dict(zip(("direction", "role", "proto", "port", "verdict"),
                sys.argv[2:]))
print(sum(r["packets"] for r in doc["rows"]
          if all(v == "*" or r[k] == v for k, v in want.items())))
PY
}

# expect_packets OP N DIR ROLE PROTO PORT VERDICT (OP: eq, ge)
expect_packets() {
	local op=$1 want=$2 got
	shift 2
	checked
	got=$(packets "$@")
	if ! [ "$got" -"$op" "$want" ]; then
		fail "$* packets: got $got, expected -$op $want"
	fi
}

ok() {
	checked
	"$@" || fail "expected success: $*"
}

refused() {
	checked
	! "$@" || fail "expected failure: $*"
}

# ------------------------------------------------------------ bastion --

scenario_bastion() {
	echo "flows_netns: bastion, enforce both ways"
	setup_net "$bastion4" "$bastion6" "$op4" "$op6" "$db4" "$db6" \
		"$repman4" "$repman6"
	serve "$hns" 0.0.0.0 22
	serve "$hns" :: 22
	serve "$wns" "$db4" 22
	serve "$wns" "$db6" 22
	serve "$wns" "$repman4" 10005
	serve "$wns" "$repman6" 10005
	serve "$wns" "$db4" 3306
	settle
	load_profile <<EOF
policy    $policy
inventory $inventory
role      bastion
mode      enforce
egress    enforce
EOF

	# operators SSH in: allowed in, the bastion's answers are replies
	ok in_w $net tcp "$op4" "$bastion4" 22
	ok in_w $net tcp "$op6" "$bastion6" 22
	# the bastion SSHes out and calls the API: the answers are replies
	ok in_h $net tcp - "$db4" 22
	ok in_h $net tcp - "$db6" 22
	ok in_h $net tcp - "$repman4" 10005
	ok in_h $net tcp - "$repman6" 10005
	# an undocumented port: dropped on egress
	refused in_h $net tcp - "$db4" 3306 1
	# "replies" with no flow behind them
	in_w $net tcp-ack "$db4" 22 "$bastion4" 40000
	in_w $net udp "$db4" 22 "$bastion4" 40001
	in_w $net udp "$db6" 22 "$bastion6" 40002
	sleep 0.2

	stats_json
	expect_packets ge 2 ingress operator tcp 22 allow
	expect_packets ge 2 ingress operator tcp 22 reply
	expect_packets ge 2 egress db tcp 22 allow
	expect_packets ge 2 egress db tcp 22 reply
	expect_packets ge 2 egress repman tcp 10005 allow
	expect_packets ge 2 egress repman tcp 10005 reply
	expect_packets ge 1 egress db tcp 3306 drop
	expect_packets eq 1 ingress db tcp 40000 drop
	expect_packets eq 1 ingress db udp 40001 drop
	expect_packets eq 1 ingress db udp 40002 drop
	checked
	[ "$(packets ingress "*" "*" "*" audit)" = 0 ] &&
		[ "$(packets egress "*" "*" "*" audit)" = 0 ] ||
		fail "bastion: audited rows in enforce mode"
	# nothing but the crafted packets was dropped on ingress
	checked
	[ "$(packets ingress "*" "*" "*" drop)" = 3 ] ||
		fail "bastion: $(packets ingress "*" "*" "*" drop) ingress drops, expected 3"
	teardown
}

# ----------------------------------------------------------------- db --

scenario_db() {
	echo "flows_netns: DB host, audit"
	setup_net "$db4" "$db6" "$repman4" "$repman6"
	serve "$hns" 0.0.0.0 3306
	serve "$hns" :: 3306
	serve "$wns" "$repman4" 5555
	settle
	load_profile <<EOF
policy    $policy
inventory $inventory
role      db
mode      audit
egress    audit
EOF

	# repman's monitoring connection: allowed in, answers are replies
	ok in_w $net tcp "$repman4" "$db4" 3306
	ok in_w $net tcp "$repman6" "$db6" 3306
	# the DB host opens an undocumented port: an egress violation
	ok in_h $net tcp - "$repman4" 5555
	sleep 0.2

	stats_json
	expect_packets ge 2 ingress repman tcp 3306 allow
	expect_packets ge 2 ingress repman tcp 3306 reply
	expect_packets ge 1 egress repman tcp 5555 audit
	expect_packets ge 1 egress repman tcp 5555 reply
	# the answers to repman were replies, never egress violations
	checked
	local audited
	audited=$(packets egress "*" "*" "*" audit)
	[ "$audited" = "$(packets egress repman tcp 5555 audit)" ] ||
		fail "db: $audited audited egress packets, only 5555 expected"
	checked
	[ "$(packets ingress "*" "*" "*" audit)" = 0 ] ||
		fail "db: audited ingress packets (the 5555 answers are replies)"
	teardown
}

# --------------------------------------------------------------- full --

scenario_full() {
	local cap=512 n=1536 oldest=20000 newest
	newest=$((oldest + n))
	echo "flows_netns: flow table full ($cap entries, $((n + 1)) flows)"
	setup_net "$db4" "$db6" "$repman4" "$repman6"
	# a listener that answers nothing: no port-unreachable errors, which
	# would count as replies of the flows they quote (and keep them
	# fresh in the LRU)
	serve "$wns" "$repman4" 7777 sink-udp
	settle
	load_profile <<EOF
policy     $policy
inventory  $inventory
role       db
mode       audit
egress     audit
flow-table $cap
EOF
	# every datagram opens its own flow (undocumented port, audited).  One
	# process on one CPU: the LRU map keeps a free list per CPU, and an
	# entry added on a CPU that then goes quiet may outlive newer ones.
	in_h taskset -c 0 $net udp-flows "$db4" "$oldest" $((n + 1)) \
		"$repman4" 7777
	# answers to the oldest flow (evicted) and to the newest (kept)
	in_w $net udp "$repman4" 7777 "$db4" "$oldest"
	in_w $net udp "$repman4" 7777 "$db4" "$newest"
	sleep 0.2

	stats_json
	expect_packets eq $((n + 1)) egress repman udp 7777 audit
	# the answer to the newest flow, and the host's port-unreachable
	# about it (nothing listens there any more): an ICMP error quoting a
	# packet of a recorded flow is a reply of that flow
	expect_packets eq 2 egress repman udp 7777 reply
	expect_packets eq 1 ingress repman udp "$oldest" audit
	expect_packets eq 0 ingress repman udp "$newest" audit

	"$pw" -j status --netns "$hns" --iface "$h_if" >"$tmp/status.json" ||
		die "status -j failed"
	checked
	python3 - "$tmp/status.json" "$cap" "$((n + 1))" <<'PY' ||
import json, sys
doc = json.load(open(sys.argv[1]))
if isinstance(doc, list):
    doc = doc[0]
cap, opened = int(sys.argv[2]), int(sys.argv[3])

def find(d):
    """The object that describes the flow table, wherever status puts it."""
    if isinstance(d, dict):
        if "evicted" in d and "capacity" in d:
            return d
        for v in d.values():
            f = find(v)
            if f:
                return f
    if isinstance(d, list):
        for v in d:
            f = find(v)
            if f:
                return f
    return None

f = find(doc)
if not f:
    sys.exit("no flow table usage in status -j")
errors = []
if f["capacity"] != cap:
    errors.append("capacity %s, expected %d" % (f["capacity"], cap))
if not 0 < f["entries"] <= cap:
    errors.append("entries %s, expected 1..%d" % (f["entries"], cap))
if f["evicted"] <= 0:
    errors.append("no evictions after %d flows" % opened)
if f["inserted"] < opened:
    errors.append("inserted %s < %d" % (f["inserted"], opened))
gone = f["closed"] + f["expired"] + f["entries"] + f["evicted"]
if gone != f["inserted"]:
    errors.append("inserted %s != closed+expired+entries+evicted %s"
                  % (f["inserted"], gone))
if errors:
    sys.exit("; ".join(errors))
PY
		fail "full: status -j flow table usage"
	[ -n "${PW_KEEP:-}" ] && sed 's/^/    /' "$tmp/status.json" >&2
	teardown
}

[ -z "${PW_ONLY:-}" ] && scenario_bastion
[ -z "${PW_ONLY:-}" ] && scenario_db
scenario_full

pw_test_done
