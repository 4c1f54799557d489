#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# export_netns.sh PORTWARDEN - the exported rulesets judge real traffic as
# portwarden does.  For three host profiles of the replication-manager
# example site (the bastion, a DB host, the repman host, all in enforce
# mode), a server namespace takes the host's addresses and a client
# namespace the addresses of peers in several roles (and one outside the
# inventory), joined by a veth pair.  Real TCP connections and UDP
# request/replies go from each client address to ports the server listens
# on, over IPv4 and IPv6, four times on fresh namespaces:
#
#   none        no filter: every flow must get through (the listeners
#               work, so a flow that fails later was stopped by the filter)
#   nft         `portwarden export --nft`, loaded twice with nft -f
#   iptables    `--iptables` and `--ip6tables`, through the -restore tools
#   portwarden  `portwarden load --netns NS --iface IF --profile P`
#
# (the four side by side, each in a pair of namespaces of its own) and
# each flow must succeed or be dropped as the policy says, the same in
# the three filtered runs.  A dropped flow is one that times out (no RST,
# no ICMP error; or, for the host's own packets, one that the kernel
# refuses to send).  Neighbour resolution (ARP, ND) is dynamic: the
# filters must let it through.  The bastion also opens flows itself: the
# allowed ones' replies must come back in, as portwarden's flow table and
# conntrack let them, and the others are dropped on egress (its profile
# enforces egress).  The repman host connects to its own
# loopback-only port over the loopback interface, which every filter
# leaves alone.
#
# Addresses: 198.18.0.0/15 and 2001:db8::/32 only, in namespaces
# pwex<pid>x<run>s and pwex<pid>x<run>c.  Needs root; exits 77 otherwise.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init export_netns "$@"
need_root "namespaces, netfilter, XDP"
need_tools ip python3 nft iptables-restore ip6tables-restore

profiles=$src/policies/profiles

prefix=pwex
runs=(none nft iptables portwarden)
srv_if=pwexs0
cli_if=pwexc0
timeout_s=2

server_pid=
peer_pid=

# The namespaces of run K (an index into runs): server and client.
ns_of() {
	echo "$prefix$$x$1$2"
}

teardown() {
	local pid
	for pid in $server_pid $peer_pid; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	server_pid= peer_pid=
	"$pw" unload --netns "$srv" --iface "$srv_if" >/dev/null 2>&1
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
}

# Stop the runs (their servers exit when their parent does), then remove
# every run's namespaces and portwarden.
cleanup() {
	local k
	kill $(jobs -p) 2>/dev/null
	wait
	for k in "${!runs[@]}"; do
		srv=$(ns_of "$k" s) cli=$(ns_of "$k" c)
		teardown
	done
}
pw_on_exit cleanup

# ------------------------------------------------------------ helpers --

# server.py READY TCP_PORTS UDP_PORTS ADDRS PARENT: listen on each address
# of ADDRS (so that a UDP echo leaves from the address it was sent to);
# accept and close TCP, echo UDP; exit when PARENT is gone.
cat >"$tmp/server.py" <<'EOF'
import os, select, socket, sys
ready, tcp, udp = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
parent = int(sys.argv[5])
socks = []
for addr in sys.argv[4].split(","):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for kind, ports in ((socket.SOCK_STREAM, tcp), (socket.SOCK_DGRAM, udp)):
        for port in filter(None, ports):
            s = socket.socket(fam, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, int(port)))
            if kind == socket.SOCK_STREAM:
                s.listen(64)
            socks.append(s)
open(ready, "w").close()
while os.getppid() == parent:
    for s in select.select(socks, [], [], 1)[0]:
        if s.type == socket.SOCK_STREAM:
            c, _ = s.accept()
            c.close()
        else:
            data, peer = s.recvfrom(512)
            s.sendto(data, peer)
EOF

# probe.py TIMEOUT < "LABEL SRC DST PROTO PORT" lines: every flow at once;
# prints "LABEL ok|dropped|refused|error:..." in input order.
cat >"$tmp/probe.py" <<'EOF'
import socket, sys, threading
timeout = float(sys.argv[1])
flows = [line.split() for line in sys.stdin if line.strip()]
results = [None] * len(flows)

def probe(i, src, dst, proto, port):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        if proto == "tcp":
            s.connect((dst, int(port)))
        else:
            s.connect((dst, int(port)))
            s.send(b"portwarden")
            if s.recv(512) != b"portwarden":
                raise OSError("bad echo")
        results[i] = "ok"
    except socket.timeout:
        results[i] = "dropped"
    except ConnectionRefusedError:
        results[i] = "refused"
    except PermissionError:
        # the host's own packet stopped on its way out: a netfilter
        # output drop says so at once, where tc's drop stays silent
        results[i] = "dropped"
    except OSError as e:
        results[i] = "error:" + str(e).replace(" ", "_")
    finally:
        s.close()

threads = [threading.Thread(target=probe, args=(i, *f[1:]))
           for i, f in enumerate(flows)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for f, r in zip(flows, results):
    print(f[0], r)
EOF

# ------------------------------------------------------------ network --

# setup_net SERVER_V4 SERVER_V6 CLIENT_ADDRS...: fresh namespaces, the
# server's two addresses, the clients' addresses, host routes both ways.
setup_net() {
	local s4=$1 s6=$2 a
	shift 2
	# no duplicate address detection: addresses work at once
	add_netns_pair "$srv" "$cli" net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
	add_veth "$srv" "$srv_if" "" "$cli" "$cli_if" ""
	ip -n "$srv" addr add "$s4/32" dev "$srv_if"
	ip -n "$srv" addr add "$s6/128" dev "$srv_if" nodad
	ip -n "$cli" route add "$s4/32" dev "$cli_if"
	ip -n "$cli" route add "$s6/128" dev "$cli_if"
	for a in "$@"; do
		case $a in
		*:*) ip -n "$cli" addr add "$a/128" dev "$cli_if" nodad
		     ip -n "$srv" route add "$a/128" dev "$srv_if" ;;
		*) ip -n "$cli" addr add "$a/32" dev "$cli_if"
		   ip -n "$srv" route add "$a/32" dev "$srv_if" ;;
		esac
	done
}

# listen NS TCP_PORTS UDP_PORTS ADDRS...: a server in NS on each address;
# its pid in $listen_pid.
listen() {
	local ns=$1 tcp=$2 udp=$3 addrs ready=$tmp/ready.$1 me=$BASHPID
	shift 3
	addrs=$(IFS=,; echo "$*")
	rm -f "$ready"
	ip netns exec "$ns" python3 "$tmp/server.py" "$ready" "$tcp" \
		"$udp" "$addrs" "$me" &
	listen_pid=$!
	for _ in $(seq 100); do
		[ -e "$ready" ] && return 0
		kill -0 "$listen_pid" 2>/dev/null || break
		sleep 0.1
	done
	die "the server in $ns did not start"
}

# ------------------------------------------------------------ filters --

export_to() {
	local file=$1
	shift
	"$pw" export "$@" >"$file" 2>"$file.err" ||
		die "export $*: $(cat "$file.err")"
}

apply_none() {
	:
}

# The ruleset twice: the second load replaces the first, not adds to it.
apply_nft() {
	local n1 n2
	export_to "$tmp/ruleset.nft" --nft "${host[@]}"
	ip netns exec "$srv" nft -f "$tmp/ruleset.nft" ||
		die "nft -f refused the ruleset"
	n1=$(ip netns exec "$srv" nft list table inet portwarden | wc -l)
	ip netns exec "$srv" nft -f "$tmp/ruleset.nft" ||
		die "nft -f refused the ruleset the second time"
	n2=$(ip netns exec "$srv" nft list table inet portwarden | wc -l)
	checked
	[ "$n1" = "$n2" ] ||
		fail "$scenario: a second nft -f changed the table ($n1 -> $n2 lines)"
}

apply_iptables() {
	export_to "$tmp/ruleset.v4" --iptables "${host[@]}"
	export_to "$tmp/ruleset.v6" --ip6tables "${host[@]}"
	ip netns exec "$srv" iptables-restore <"$tmp/ruleset.v4" ||
		die "iptables-restore refused the ruleset"
	ip netns exec "$srv" ip6tables-restore <"$tmp/ruleset.v6" ||
		die "ip6tables-restore refused the ruleset"
}

# The profiles say what egress does (the bastion enforces it, the DB and
# repman hosts audit it); load and export both follow them.

apply_portwarden() {
	env -u SSH_CONNECTION "$pw" load --netns "$srv" --iface "$srv_if" \
		--xdp-mode generic "${host[@]}" \
		>"$tmp/load.out" 2>&1 ||
		die "load: $(cat "$tmp/load.out")"
}

# ------------------------------------------------------------- probing --

# run_phase K: run K (filter ${runs[K]}) in its own namespaces: network,
# listeners, the filter, every flow.  Results go to $tmp/result.FILTER
# ("LABEL RESULT" lines).  Runs in a subshell.
run_phase() {
	local filter=${runs[$1]}
	srv=$(ns_of "$1" s) cli=$(ns_of "$1" c)
	teardown # what a failed run of the previous scenario left
	setup_net "${server_addrs[@]}" "${client_addrs[@]}"
	listen "$srv" "$tcp_ports" "$udp_ports" "${server_addrs[@]}"
	server_pid=$listen_pid
	if [ -n "$peer_tcp_ports$peer_udp_ports" ]; then
		listen "$cli" "$peer_tcp_ports" "$peer_udp_ports" \
			"${client_addrs[@]}"
		peer_pid=$listen_pid
	fi
	"apply_$filter"
	printf '%s\n' "${flows[@]}" |
		ip netns exec "$cli" python3 "$tmp/probe.py" "$timeout_s" \
			>"$tmp/result.$filter"
	if [ ${#out_flows[@]} -gt 0 ]; then
		printf '%s\n' "${out_flows[@]}" |
			ip netns exec "$srv" python3 "$tmp/probe.py" \
				"$timeout_s" >>"$tmp/result.$filter"
	fi
	[ "$filter" = nft ] && ip netns exec "$srv" \
		nft list table inet portwarden >"$tmp/nft.list"
	teardown
}

# compare FILTER: every flow's result against the expected outcome
# (for the unfiltered run: every flow gets through).
compare() {
	local filter=$1 label want got
	while read -r label want; do
		[ "$filter" = none ] && want=ok
		got=$(awk -v l="$label" '$1 == l { print $2 }' \
			"$tmp/result.$filter" 2>/dev/null)
		checked
		if [ "$got" != "$want" ]; then
			fail "$scenario, $filter: $label: $got, expected $want"
		fi
	done <"$tmp/expected"
}

# flow LABEL SRC DST PROTO PORT EXPECTED: add one flow to the scenario,
# from the client namespace.
flow() {
	flows+=("$1 $2 $3 $4 $5")
	echo "$1 $6" >>"$tmp/expected"
}

# out_flow LABEL SRC DST PROTO PORT EXPECTED: a flow the server opens.
# (Expected lines: client flows first, then these, as results come.)
out_flow() {
	out_flows+=("$1 $2 $3 $4 $5")
	echo "$1 $6" >>"$tmp/expected.out"
}

# both NAME SRC4 SRC6 PROTO PORT EXPECTED: the flow over IPv4 and IPv6.
both() {
	flow "$1/v4" "$2" "${server_addrs[0]}" "$4" "$5" "$6"
	flow "$1/v6" "$3" "${server_addrs[1]}" "$4" "$5" "$6"
}

new_scenario() {
	scenario=$1
	flows=()
	out_flows=()
	peer_tcp_ports= peer_udp_ports=
	: >"$tmp/expected"
	: >"$tmp/expected.out"
}

run_scenario() {
	local k
	cat "$tmp/expected.out" >>"$tmp/expected"
	rm -f "$tmp"/result.*
	for k in "${!runs[@]}"; do
		(run_phase "$k") &
	done
	wait
	for k in "${!runs[@]}"; do
		compare "${runs[$k]}"
	done
	printf '%s:\n' "$scenario"
	paste "$tmp/expected" "$tmp/result.nft" "$tmp/result.iptables" \
		"$tmp/result.portwarden" |
		awk '{ printf "    %-24s expected %-8s nft %-8s iptables %-8s portwarden %s\n",
		       $1, $2, $4, $6, $8 }'
}

# The role addresses of policies/examples/replication-manager.inventory.
op4=198.18.10.11 op6=2001:db8:10::11
db4=198.18.2.11 db6=2001:db8:2::11
db24=198.18.2.12 db26=2001:db8:2::12
repman4=198.18.1.10 repman6=2001:db8:1::10
app4=198.18.4.11 app6=2001:db8:4::11
bastion4=198.18.5.10 bastion6=2001:db8:5::10
grafana4=198.18.6.10 grafana6=2001:db8:6::10
unknown4=198.18.8.8 unknown6=2001:db8:8::8

remove_stale_netns "$prefix" "$srv_if"

# ------------------------------------------------------------- bastion --
# Only operators reach 22/tcp; everything else is dropped.
new_scenario bastion
host=(--profile "$profiles/bastion.profile")
server_addrs=("$bastion4" "$bastion6")
client_addrs=("$op4" "$op6" "$db4" "$db6" "$unknown4" "$unknown6")
tcp_ports=22,8080 udp_ports=5353
both op-ssh "$op4" "$op6" tcp 22 ok
both db-ssh "$db4" "$db6" tcp 22 dropped
both unknown-ssh "$unknown4" "$unknown6" tcp 22 dropped
both op-8080 "$op4" "$op6" tcp 8080 dropped
both op-udp5353 "$op4" "$op6" udp 5353 dropped
# the bastion's own flows: to db over SSH (rule 30); its profile enforces
# egress, so anything else it opens is dropped on the way out
peer_tcp_ports=22,8080 peer_udp_ports=5353
out_flow out-db-ssh/v4 "$bastion4" "$db4" tcp 22 ok
out_flow out-db-ssh/v6 "$bastion6" "$db6" tcp 22 ok
out_flow out-op-8080/v4 "$bastion4" "$op4" tcp 8080 dropped
out_flow out-op-8080/v6 "$bastion6" "$op6" tcp 8080 dropped
out_flow out-unknown-udp/v4 "$bastion4" "$unknown4" udp 5353 dropped
out_flow out-unknown-udp/v6 "$bastion6" "$unknown6" udp 5353 dropped
run_scenario
checked
# the rules' own counters saw the traffic
grep -q 'counter packets [1-9][0-9]* bytes [0-9]* accept comment "rule 29: ' \
	"$tmp/nft.list" || fail "bastion: rule 29's nft counter is zero"
checked
grep -q 'counter packets [1-9][0-9]* bytes [0-9]* drop comment "rule 29 violation, drop: ' \
	"$tmp/nft.list" || fail "bastion: rule 29's violation counter is zero"

# ------------------------------------------------------------- db host --
# The DB host's profile (galera, extra-port, terminal) in enforce mode.
new_scenario db-host
host=(--profile "$profiles/db-host.profile" --mode enforce)
server_addrs=("$db4" "$db6")
client_addrs=("$db24" "$db26" "$repman4" "$repman6" "$app4" "$app6"
	"$bastion4" "$bastion6")
tcp_ports=22,3306,3307,4444,9999 udp_ports=4567,9999
both repman-3306 "$repman4" "$repman6" tcp 3306 ok
both db-3306 "$db24" "$db26" tcp 3306 ok
both app-3306 "$app4" "$app6" tcp 3306 dropped
both repman-3307 "$repman4" "$repman6" tcp 3307 ok
both db-3307 "$db24" "$db26" tcp 3307 dropped
both bastion-ssh "$bastion4" "$bastion6" tcp 22 ok
both app-ssh "$app4" "$app6" tcp 22 dropped
both db-4444 "$db24" "$db26" tcp 4444 ok
both db-udp4567 "$db24" "$db26" udp 4567 ok
both repman-udp4567 "$repman4" "$repman6" udp 4567 dropped
both db-9999 "$db24" "$db26" tcp 9999 dropped
both db-udp9999 "$db24" "$db26" udp 9999 dropped
run_scenario

# ---------------------------------------------------------- repman host --
# Carbon's ports are loopback-only: dropped from the wire, fine locally.
new_scenario repman-host
host=(--profile "$profiles/repman-host.profile" --mode enforce)
server_addrs=("$repman4" "$repman6")
client_addrs=("$op4" "$op6" "$db4" "$db6" "$grafana4" "$grafana6")
tcp_ports=2003,4000,10001,10005 udp_ports=2003
both op-api "$op4" "$op6" tcp 10005 ok
both grafana-api "$grafana4" "$grafana6" tcp 10005 ok
both db-api "$db4" "$db6" tcp 10005 dropped
both op-carbon "$op4" "$op6" tcp 2003 dropped
both db-udp-carbon "$db4" "$db6" udp 2003 dropped
both db-sst "$db4" "$db6" tcp 4000 ok
both op-sst "$op4" "$op6" tcp 4000 dropped
both op-http "$op4" "$op6" tcp 10001 dropped
out_flow local-carbon "$repman4" "$repman4" tcp 2003 ok
run_scenario

pw_test_done
