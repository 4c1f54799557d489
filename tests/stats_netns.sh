#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# stats_netns.sh PORTWARDEN - "portwarden stats" over a real load: the
# datapath on one end of a veth pair in a namespace, real TCP and UDP
# packets from the other end, and every form of the stats output read back
# with exact packet counts.  Needs root; exits 77 otherwise.
#
# Counts are exact because nothing else crosses the link: IPv6 is off in
# both namespaces (no MLD or router solicitations) and the neighbours are
# static (no ARP).  A connection to a port nobody listens on is one SYN
# (the RST goes the other way, and XDP sees ingress only); a UDP datagram
# is one packet.
#
# The client has three addresses, one per role, and picks its source by
# destination: the server answers on three addresses, and a /32 route to
# each carries its own "src".
#
# Addresses: 198.18.0.0/24 only, in namespaces pwsn<pid>s and pwsn<pid>c.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init stats_netns "$@"
need_root "namespaces, XDP, bpffs"
need_tools ip python3

prefix=pwsn
srv=$prefix$$s
cli=$prefix$$c
srv_if=pwsns0
cli_if=pwsnc0
srv_mac=02:00:c6:12:00:01
cli_mac=02:00:c6:12:00:02
# server address reached from each client role, and the client's source
srv_from_app=198.18.0.1 app=198.18.0.2
srv_from_op=198.18.0.11 op=198.18.0.3
srv_from_unknown=198.18.0.21 unknown=198.18.0.4

cleanup() {
	"$pw" unload --netns "$srv" --iface "$srv_if" >/dev/null 2>&1
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
}
pw_on_exit cleanup

stats() {
	run 0 "$pw" stats --netns "$srv" --iface "$srv_if" "$@"
}

# expect_row ROLE PROTO/PORT VERDICT PACKETS RULE: one such row in $tmp/out
expect_row() {
	local got
	checked
	got=$(awk -v r="$1" -v p="$2" -v v="$3" \
		'$1 == "ingress" && $2 == r && $3 == p && $4 == v \
		 { print $5 " " $7 }' "$tmp/out")
	if [ "$got" != "$4 $5" ]; then
		fail "row $1 $2 $3: got '${got}', expected '$4 $5'"
		sed 's/^/    /' "$tmp/out" >&2
	fi
}

# ------------------------------------------------------------ traffic --

# tcp SRV PORT COUNT: COUNT connection attempts (one SYN each)
tcp() {
	local i
	for ((i = 0; i < $3; i++)); do
		ip netns exec "$cli" timeout 5 bash -c \
			"exec 3<>/dev/tcp/$1/$2" 2>/dev/null
	done
}

# udp SRV PORT COUNT: COUNT datagrams
udp() {
	local i
	for ((i = 0; i < $3; i++)); do
		ip netns exec "$cli" bash -c "printf x >/dev/udp/$1/$2" \
			2>/dev/null
	done
}

send_traffic() {
	tcp "$srv_from_unknown" 23 4      # no rule: audit, "no rule"
	tcp "$srv_from_app" 3306 3        # rule 1
	tcp "$srv_from_op" 22 2           # rule 2
	udp "$srv_from_app" 5001 2        # rule 3, a range
	tcp "$srv_from_unknown" 3306 1    # violation under rule 1
}

# ------------------------------------------------------------- set up --

setup_net() {
	add_netns_pair "$srv" "$cli" "${ipv6_off[@]}"
	add_veth "$srv" "$srv_if" "$srv_mac" "$cli" "$cli_if" "$cli_mac"
	for a in "$srv_from_app" "$srv_from_op" "$srv_from_unknown"; do
		ip -n "$srv" addr add "$a/32" dev "$srv_if"
		ip -n "$cli" neigh add "$a" lladdr "$srv_mac" dev "$cli_if" \
			nud permanent
	done
	for a in "$app" "$op" "$unknown"; do
		ip -n "$cli" addr add "$a/32" dev "$cli_if"
		ip -n "$srv" neigh add "$a" lladdr "$cli_mac" dev "$srv_if" \
			nud permanent
		ip -n "$srv" route add "$a/32" dev "$srv_if"
	done
	ip -n "$cli" route add "$srv_from_app/32" dev "$cli_if" src "$app"
	ip -n "$cli" route add "$srv_from_op/32" dev "$cli_if" src "$op"
	ip -n "$cli" route add "$srv_from_unknown/32" dev "$cli_if" \
		src "$unknown"
}

write_policy() {
	cat >"$tmp/stats.policy" <<EOF
policy statsnetns "stats over a real load"
role app "application"
role db "database"
role op "operator"
allow tcp 3306 from app to db note "mysql$1"
allow tcp 22 from op to db note "ssh"
allow udp 5000-5009 from app to db note "metrics"
allow tcp 8443 from op to db note "admin console"
$2
EOF
}

remove_stale_netns "$prefix" "$srv_if"
setup_net
write_policy "" ""
cat >"$tmp/stats.inventory" <<EOF
app $app
op $op
db $srv_from_app $srv_from_op $srv_from_unknown
EOF

run 0 "$pw" load --netns "$srv" --iface "$srv_if" \
	--policy "$tmp/stats.policy" --inventory "$tmp/stats.inventory" \
	--role db --mode audit --xdp-mode generic --egress off ||
	die "load failed: $(cat "$tmp/err")"

# --------------------------------------------------------------- table --

send_traffic
stats
expect_row unknown tcp/23 audit 4 -
expect_row app tcp/3306 allow 3 1
expect_row op tcp/22 allow 2 2
expect_row app udp/5000-5009 allow 2 3
expect_row unknown tcp/3306 audit 1 1
# sorted by packets: the 4-packet violation comes first
checked
first=$(awk '$1 == "ingress" { print $2 " " $3; exit }' "$tmp/out")
[ "$first" = "unknown tcp/23" ] || fail "first row is '$first'"
checked
rows=$(awk '$1 == "ingress"' "$tmp/out" | wc -l)
[ "$rows" = 5 ] || fail "$rows rows, expected 5"
expect_in "$tmp/out" "no rule"
expect_in "$tmp/out" "mysql"
expect_in "$tmp/out" "Judged by the policy: 12 packets"
expect_in "$tmp/out" "Not judged by a rule:
  none"
expect_in "$tmp/out" "Interface $srv_if (netns $srv): policy statsnetns"

stats --violations
checked
rows=$(awk '$1 == "ingress"' "$tmp/out" | wc -l)
[ "$rows" = 2 ] || fail "--violations: $rows rows, expected 2"
expect_row unknown tcp/23 audit 4 -
expect_not_in "$tmp/out" " allow "

stats --unused
expect_in "$tmp/out" "admin console"
expect_not_in "$tmp/out" "mysql"
expect_not_in "$tmp/out" "metrics"

# --------------------------------------------------------- JSON, Prom --

stats -j
checked
python3 - "$tmp/out" <<'EOF' || fail "JSON rows differ"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {(r["role"], r["proto"], r["port"], r["verdict"]):
        (r["packets"], r["rule_id"], r["note"]) for r in doc["rows"]}
want = {
    ("unknown", "tcp", "23", "audit"): (4, None, "no rule"),
    ("app", "tcp", "3306", "allow"): (3, 1, "mysql"),
    ("op", "tcp", "22", "allow"): (2, 2, "ssh"),
    ("app", "udp", "5000-5009", "allow"): (2, 3, "metrics"),
    ("unknown", "tcp", "3306", "audit"): (1, 1, "mysql"),
}
assert rows == want, rows
assert doc["policy"] == "statsnetns" and doc["stale"] is False, doc
assert doc["reasons"]["classified"]["packets"] == 12, doc["reasons"]
assert doc["reasons"]["arp"]["packets"] == 0, doc["reasons"]
EOF

stats --prometheus
expect_in "$tmp/out" "portwarden_packets_total{iface=\"$srv_if\",netns=\"$srv\",dir=\"ingress\",role=\"app\",proto=\"tcp\",port=\"3306\",verdict=\"allow\",rule=\"1\"} 3"
expect_in "$tmp/out" "portwarden_packets_total{iface=\"$srv_if\",netns=\"$srv\",dir=\"ingress\",role=\"unknown\",proto=\"tcp\",port=\"23\",verdict=\"audit\",rule=\"none\"} 4"
expect_in "$tmp/out" "portwarden_policy_info{iface=\"$srv_if\",netns=\"$srv\",policy=\"statsnetns\""
if command -v promtool >/dev/null; then
	checked
	promtool check metrics <"$tmp/out" >"$tmp/promtool" 2>&1 ||
		fail "promtool: $(cat "$tmp/promtool")"
else
	echo "stats_netns: promtool not installed; format check skipped"
fi

# the table the lab README shows, for the log
stats
sed 's/^/    /' "$tmp/out"

# ------------------------------------------- stale, reload, reset, gone --

# a note alone is not in the compiled tables (nor the digest); a new rule is
write_policy ", the main pool" 'allow tcp 9104 from op to db note "exporter"'
stats
expect_in "$tmp/err" "notes may be outdated"
expect_row app tcp/3306 allow 3 1

run 0 "$pw" reload --netns "$srv" --iface "$srv_if" \
	--policy "$tmp/stats.policy" --inventory "$tmp/stats.inventory" \
	--role db --mode audit
stats
expect_not_in "$tmp/err" "outdated"
expect_row app tcp/3306 allow 3 1
expect_in "$tmp/out" "mysql, the main pool"

tcp "$srv_from_app" 3306 1
stats --reset
expect_row app tcp/3306 allow 4 1
stats
checked
rows=$(awk '$1 == "ingress"' "$tmp/out" | wc -l)
[ "$rows" = 0 ] || fail "after --reset: $rows rows"
tcp "$srv_from_op" 22 1
stats
expect_row op tcp/22 allow 1 2

run 0 "$pw" unload --netns "$srv" --iface "$srv_if"
run 1 "$pw" stats --netns "$srv" --iface "$srv_if"
expect_in "$tmp/err" "not loaded"

pw_test_done
