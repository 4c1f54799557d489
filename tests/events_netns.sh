#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# events_netns.sh PORTWARDEN - "portwarden watch" and "portwarden suggest"
# over a real load: the datapath on one end of a veth pair in a namespace
# (audit mode, from a host profile), real TCP and UDP flows from the other
# end, each violating flow reported once by watch -j with its addresses,
# ports, role and reason; then suggest's lines appended to the policy (and
# its placeholder inventory lines to the inventory), check, reload, the
# same flows again: now allowed, no new violation.  Needs root; exits 77
# otherwise.
#
# IPv6 is off in both namespaces and the neighbours are static, so that
# nothing but the test's flows crosses the link.  The client binds each
# flow to one of its addresses (one per role, two outside the inventory)
# and prints the 5-tuple it used; watch must report exactly those.
#
# Addresses: 198.18.0.0/24 only, in namespaces pwev<pid>s and pwev<pid>c.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init events_netns "$@"
need_root "namespaces, XDP, bpffs"
need_tools ip python3

prefix=pwev
srv=$prefix$$s
cli=$prefix$$c
srv_if=pwevs0
cli_if=pwevc0
srv_mac=02:00:c6:12:01:01
cli_mac=02:00:c6:12:01:02
db=198.18.0.1
app=198.18.0.2 op=198.18.0.3 stranger1=198.18.0.4 stranger2=198.18.0.5

server_pid=
watch_pid=

cleanup() {
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	"$pw" unload --netns "$srv" --iface "$srv_if" >/dev/null 2>&1
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
}
pw_on_exit cleanup

# py NAME: run the python check $tmp/NAME.py with the remaining arguments
py() {
	local name=$1
	shift
	checked
	python3 "$tmp/$name.py" "$@" >"$tmp/py.out" 2>&1 ||
		fail "$name: $(cat "$tmp/py.out")"
}

# ------------------------------------------------------------- set up --

setup_net() {
	add_netns_pair "$srv" "$cli" "${ipv6_off[@]}"
	add_veth "$srv" "$srv_if" "$srv_mac" "$cli" "$cli_if" "$cli_mac"
	ip -n "$srv" addr add "$db/24" dev "$srv_if"
	ip -n "$cli" neigh add "$db" lladdr "$srv_mac" dev "$cli_if" \
		nud permanent
	for a in "$app" "$op" "$stranger1" "$stranger2"; do
		ip -n "$cli" addr add "$a/24" dev "$cli_if"
		ip -n "$srv" neigh add "$a" lladdr "$cli_mac" dev "$srv_if" \
			nud permanent
	done
}

write_files() {
	cat >"$tmp/ev.policy" <<-EOF
	policy eventsnetns "watch and suggest over a real load"
	role app "application"
	role db "database"
	role op "operator"
	allow tcp 3306 from app to db note "mysql"
	allow tcp 22 from op to db note "ssh"
	EOF
	cat >"$tmp/ev.inventory" <<-EOF
	app $app
	op $op
	db $db
	EOF
	cat >"$tmp/db.profile" <<-EOF
	policy ev.policy
	inventory ev.inventory
	role db
	mode audit
	EOF

	# listens on every port the flows use; reads each connection to EOF
	cat >"$tmp/server.py" <<-'EOF'
	import select, socket, sys
	tcp_ports, udp_ports = [3306, 8080, 9000], [5353]
	socks = []
	for p in tcp_ports:
	    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	    s.bind(("0.0.0.0", p)); s.listen(64); socks.append(s)
	for p in udp_ports:
	    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	    s.bind(("0.0.0.0", p)); socks.append(s)
	open(sys.argv[1], "w").close()
	conns = []
	while True:
	    r, _, _ = select.select(socks + conns, [], [])
	    for s in r:
	        if s in conns:
	            if not s.recv(4096):
	                conns.remove(s); s.close()
	        elif s.type == socket.SOCK_STREAM:
	            c, _ = s.accept(); conns.append(c)
	        else:
	            s.recv(4096)
	EOF

	# each argument SRC:PROTO:PORT is one flow; prints what it used
	cat >"$tmp/client.py" <<-'EOF'
	import json, socket, sys, time
	dst = sys.argv[1]
	for spec in sys.argv[2:]:
	    src, proto, port = spec.split(":")
	    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
	    s = socket.socket(socket.AF_INET, kind)
	    s.bind((src, 0))
	    if proto == "tcp":
	        s.settimeout(5)
	        s.connect((dst, int(port)))
	        s.sendall(b"hello")
	        time.sleep(0.05)
	        s.sendall(b"again")
	        s.shutdown(socket.SHUT_WR)
	        s.recv(16)
	    else:
	        s.sendto(b"one", (dst, int(port)))
	        s.sendto(b"two", (dst, int(port)))
	    print(json.dumps({"src": src, "sport": s.getsockname()[1],
	                      "dst": dst, "dport": int(port), "proto": proto}))
	    s.close()
	EOF

	# events.json flows.json [allowed SRC:PROTO:PORT...]: every flow
	# not listed as allowed is reported exactly once, with its 5-tuple,
	# role, kind and verdict; nothing else is reported
	cat >"$tmp/check_events.py" <<-'EOF'
	import json, sys
	roles = {"198.18.0.2": "app", "198.18.0.3": "op"}
	lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	events = [e for e in lines if e["type"] == "event"]
	flows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
	allowed = set(sys.argv[3:])
	want = []
	for f in flows:
	    if "%s:%s:%d" % (f["src"], f["proto"], f["dport"]) in allowed:
	        continue
	    named = f["proto"] == "tcp" and f["dport"] == 3306
	    want.append({"src": f["src"], "sport": f["sport"], "dst": f["dst"],
	                 "dport": f["dport"], "proto": f["proto"],
	                 "role": roles.get(f["src"], "unknown"),
	                 "kind": "not-allowed" if named else "unnamed-port",
	                 "rule_id": 1 if named else None,
	                 "verdict": "audit", "dir": "ingress", "family": 4,
	                 "iface": "pwevs0"})
	got = [{k: e[k] for k in want[0]} for e in events] if want else events
	key = lambda e: (e["src"], e["sport"], e["proto"], e["dport"])
	assert sorted(got, key=key) == sorted(want, key=key), \
	    "events:\n%s\nexpected:\n%s" % (got, want)
	for e in events:
	    assert e["repeats"] == 0, e
	    if e["rule_id"] == 1:
	        assert e["rule_note"] == "mysql" and \
	            e["rule_line"] == "ev.policy:5", e
	EOF

	# suggest.json: the lines suggest must give
	cat >"$tmp/check_suggest.py" <<-'EOF'
	import json, sys
	doc = json.load(open(sys.argv[1]))
	note = ' note "observed traffic (portwarden suggest): ' \
	       'replace with the vendor\'s words"'
	lines = sorted(r["line"] for r in doc["rules"])
	want = sorted(l + note for l in [
	    "allow tcp 8080 from app to db",
	    "allow udp 5353 from app to db",
	    "allow tcp 3306 from op to db",
	    "allow tcp 3306,8080 from unknown-1 to db",
	    "allow tcp 8080,9000 from unknown-2 to db"])
	assert lines == want, lines
	ph = {p["role"]: p["addresses"] for p in doc["placeholders"]}
	assert ph == {"unknown-1": ["198.18.0.4"],
	              "unknown-2": ["198.18.0.5"]}, ph
	r = [r for r in doc["rules"] if r["peer"] == "app" and
	     r["proto"] == "tcp"][0]
	assert r["samples"] == ["198.18.0.2"] and r["audit_packets"] >= 8, r
	assert doc["skipped"] == [], doc["skipped"]
	EOF

	# stats.json role proto port...: allow rows with packets for each
	cat >"$tmp/check_allowed.py" <<-'EOF'
	import json, sys
	doc = json.load(open(sys.argv[1]))
	allow = {(r["role"], r["proto"], r["port"]) for r in doc["rows"]
	         if r["verdict"] == "allow" and r["packets"] > 0}
	for spec in sys.argv[2:]:
	    role, proto, port = spec.split(":")
	    assert (role, proto, port) in allow, (spec, sorted(allow))
	EOF

	# bpftool's pw_config on stdin, FIELD=VALUE...: the new value's bytes
	cat >"$tmp/config.py" <<-'EOF'
	import json, struct, sys
	doc = json.load(sys.stdin)
	raw = bytes(int(b, 16) for b in doc["value"])
	names = ["active_gen", "mode", "deadline", "unchecked_drop", "flags",
	         "tcp", "fin", "udp", "interval", "rate", "burst", "reserved"]
	fmt = "<IIQIIIIIIIIQ"
	vals = dict(zip(names, struct.unpack(fmt, raw)))
	for arg in sys.argv[1:]:
	    k, v = arg.split("=")
	    vals[k] = int(v)
	out = struct.pack(fmt, *(vals[n] for n in names))
	print(" ".join(str(b) for b in out))
	EOF

	# loss.json PACKETS: loss lines saying that most of the flood's
	# PACKETS were rate-limited (a few get tokens; the host's ICMP port
	# unreachables, egress violations, may add some)
	cat >"$tmp/check_loss.py" <<-'EOF'
	import json, sys
	lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	events = [l for l in lines if l["type"] == "event"]
	losses = [l for l in lines if l["type"] == "loss"]
	assert losses, lines
	limited = sum(l["rate_limited"] for l in losses)
	assert all(l["lost"] == 0 for l in losses), losses
	assert limited >= int(sys.argv[2]) - 10, (len(events), limited, losses)
	t = losses[-1]["total"]
	assert t["rate_limited"] >= limited and t["sent"] >= len(events), t
	for l in losses:
	    assert l["seconds"] >= 1 and l["iface"] == "pwevs0", l
	EOF

	# violations.json before.json: the audit rows did not move
	cat >"$tmp/check_same.py" <<-'EOF'
	import json, sys
	def audits(path):
	    doc = json.load(open(path))
	    return {(r["role"], r["proto"], r["port"]): r["packets"]
	            for r in doc["rows"] if r["verdict"] in ("audit", "drop")}
	a, b = audits(sys.argv[1]), audits(sys.argv[2])
	assert a == b, (a, b)
	EOF
}

# set_config FIELD=VALUE...: rewrite pw_config fields in the pinned map
set_config() {
	local pin=/sys/fs/bpf/portwarden/$srv:$srv_if/pw_config value
	value=$(bpftool -j map lookup pinned "$pin" key 0 0 0 0 |
		python3 "$tmp/config.py" "$@") || die "cannot read pw_config"
	# shellcheck disable=SC2086 # one word per byte
	bpftool map update pinned "$pin" key 0 0 0 0 value $value ||
		die "cannot write pw_config"
}

start_server() {
	ip netns exec "$srv" python3 "$tmp/server.py" "$tmp/ready" &
	server_pid=$!
	for _ in $(seq 50); do
		[ -e "$tmp/ready" ] && return
		sleep 0.1
	done
	die "the server did not start"
}

# flows FILE SPEC...: the client's flows, their 5-tuples into FILE
flows() {
	local file=$1
	shift
	ip netns exec "$cli" python3 "$tmp/client.py" "$db" "$@" >"$file" ||
		die "client failed"
}

remove_stale_netns "$prefix" "$srv_if"
setup_net
write_files
start_server

run 0 "$pw" load --netns "$srv" --iface "$srv_if" --profile "$tmp/db.profile" \
	--xdp-mode generic || die "load failed: $(cat "$tmp/err")"

# ------------------------------------------------------------- watch --

flow_specs=("$app:tcp:8080" "$app:tcp:8080" "$stranger1:tcp:3306"
	"$stranger2:tcp:9000" "$app:udp:5353" "$op:tcp:3306" "$app:tcp:3306")
nviolations=6

"$pw" watch --netns "$srv" --iface "$srv_if" -j --count "$nviolations" \
	--timeout 30 >"$tmp/events.json" 2>"$tmp/watch.err" &
watch_pid=$!
flows "$tmp/flows.json" "${flow_specs[@]}"
checked
wait "$watch_pid" || fail "watch --count $nviolations: $(cat "$tmp/watch.err")"
watch_pid=
py check_events "$tmp/events.json" "$tmp/flows.json" "$app:tcp:3306"

# nothing more is waiting: each flow was reported once
run 0 "$pw" watch --netns "$srv" --iface "$srv_if" -j --timeout 2
checked
[ ! -s "$tmp/out" ] || fail "events after the first of each flow: $(cat "$tmp/out")"

# text form, of one more violating flow
"$pw" watch --netns "$srv" --iface "$srv_if" --count 1 --timeout 30 \
	>"$tmp/events.txt" 2>"$tmp/watch.err" &
watch_pid=$!
flows "$tmp/flow1.json" "$stranger1:tcp:8080"
checked
wait "$watch_pid" || fail "watch --count 1 (text): $(cat "$tmp/watch.err")"
watch_pid=
sport=$(python3 -c "import json; print(json.load(open('$tmp/flow1.json'))['sport'])")
checked
grep -qE "^[0-9T:.+-]{28} $srv_if ingress $stranger1:$sport -> $db:8080 tcp from unknown: audited, unnamed port\$" \
	"$tmp/events.txt" || fail "text event: $(cat "$tmp/events.txt")"

# SIGTERM stops it cleanly; an event read says it is up and reading
"$pw" watch --netns "$srv" --iface "$srv_if" >"$tmp/events2.txt" \
	2>"$tmp/watch.err" &
watch_pid=$!
flows "$tmp/flow2.json" "$stranger2:tcp:8080"
for _ in $(seq 100); do
	[ -s "$tmp/events2.txt" ] && break
	sleep 0.1
done
kill -TERM "$watch_pid"
checked
wait "$watch_pid" || fail "watch after SIGTERM: $(cat "$tmp/watch.err")"
watch_pid=

# a timeout before the count is an error for scripts
run 1 "$pw" watch --netns "$srv" --iface "$srv_if" --count 1 --timeout 1

# ----------------------------------------------------------- suggest --

run 0 "$pw" suggest --netns "$srv" --iface "$srv_if" -j
cp "$tmp/out" "$tmp/suggest.json"
# the text form's extra flows (the strangers to 8080) are in it too
py check_suggest "$tmp/suggest.json"

run 0 "$pw" suggest --netns "$srv" --iface "$srv_if"
cp "$tmp/out" "$tmp/suggest.txt"
sed 's/^/    /' "$tmp/suggest.txt"
cat "$tmp/ev.policy" "$tmp/suggest.txt" >"$tmp/new.policy"
cp "$tmp/ev.inventory" "$tmp/new.inventory"
sed -n 's/^#   inventory: //p' "$tmp/suggest.txt" >>"$tmp/new.inventory"
run 0 "$pw" check --policy "$tmp/new.policy" --inventory "$tmp/new.inventory" \
	--role db
checked
[ ! -s "$tmp/err" ] || fail "check warned: $(cat "$tmp/err")"

run 0 "$pw" stats --netns "$srv" --iface "$srv_if" -j
cp "$tmp/out" "$tmp/before.json"
run 0 "$pw" reload --netns "$srv" --iface "$srv_if" \
	--policy "$tmp/new.policy" --inventory "$tmp/new.inventory" --role db \
	--mode audit

# the same flows again: allowed now, no event, no new violation
flows "$tmp/flows2.json" "${flow_specs[@]}" "$stranger1:tcp:8080" \
	"$stranger2:tcp:8080"
run 0 "$pw" watch --netns "$srv" --iface "$srv_if" -j --timeout 2
checked
[ ! -s "$tmp/out" ] || fail "events after the reload: $(cat "$tmp/out")"
run 0 "$pw" stats --netns "$srv" --iface "$srv_if" -j
cp "$tmp/out" "$tmp/after.json"
py check_same "$tmp/before.json" "$tmp/after.json"
py check_allowed "$tmp/after.json" app:tcp:8080 app:udp:5353 op:tcp:3306 \
	unknown-1:tcp:3306 unknown-1:tcp:8080 unknown-2:tcp:8080 \
	unknown-2:tcp:9000 app:tcp:3306

# and suggest has nothing left to add
run 0 "$pw" suggest --netns "$srv" --iface "$srv_if" -j
checked
python3 -c "
import json, sys
doc = json.load(open('$tmp/out'))
assert doc['rules'] == [], doc['rules']
assert all(s['why'].startswith('allowed by the policy in force')
           for s in doc['skipped']), doc['skipped']
" 2>"$tmp/py.out" || fail "suggest after the reload: $(cat "$tmp/py.out")"

# ------------------------------------------------------------ losses --

# one event a second, a bucket of one: a flood of new flows is mostly
# rate-limited, and watch says so at exit, as a "loss" line
set_config rate=1 burst=1
"$pw" watch --netns "$srv" --iface "$srv_if" -j --timeout 4 \
	--loss-interval 1 >"$tmp/loss.json" 2>"$tmp/watch.err" &
watch_pid=$!
# the first event read means watch has its baseline of the counters
flows "$tmp/probe.json" "$app:udp:7000"
for _ in $(seq 100); do
	[ -s "$tmp/loss.json" ] && break
	sleep 0.1
done
flood=()
for i in $(seq 30); do flood+=("$app:udp:7001"); done
flows "$tmp/flood.json" "${flood[@]}"
checked
wait "$watch_pid" || fail "watch --timeout 4: $(cat "$tmp/watch.err")"
watch_pid=
py check_loss "$tmp/loss.json" 60

run 0 "$pw" unload --netns "$srv" --iface "$srv_if"
run 1 "$pw" watch --netns "$srv" --iface "$srv_if" --timeout 1
grep -q "not loaded" "$tmp/err" || fail "watch after unload: $(cat "$tmp/err")"

pw_test_done
