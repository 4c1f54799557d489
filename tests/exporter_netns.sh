#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# exporter_netns.sh PORTWARDEN - "portwarden exporter" scraped by a real
# Prometheus server (Debian's package).  portwarden is loaded with the
# db-host profile on one end of a veth pair in a namespace; real TCP and
# UDP packets come from the other end; the exporter serves them on
# 127.0.0.1; a Prometheus of our own (own port, own storage, 1 s scrapes,
# the alert rules of contrib/prometheus loaded) scrapes it; every counter
# key of `portwarden stats -j` is then queried back through Prometheus'
# HTTP API and must be equal.  A second interface loaded while the
# exporter runs must appear, and go when unloaded.  Also: promtool check
# metrics on the exposition, HTTP paths and methods, bad --listen values,
# a port in use, an IPv6 listener, SIGTERM.
#
# Needs root (namespaces, XDP, bpffs), prometheus, promtool and python3;
# exits 77 otherwise.  Waits for the servers by polling with a bound, never
# by sleeping a fixed time.  Addresses: 198.18.0.0/15 only, in namespaces
# pwmx<pid>s and pwmx<pid>c; counts are exact because IPv6 is off there and
# the neighbours are static (nothing but our packets crosses the link).
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init exporter_netns "$@"
need_root "namespaces, XDP, bpffs"
need_tools ip python3 prometheus promtool

prefix=pwmx
srv=$prefix$$s
cli=$prefix$$c
srv_if=pwmxs0 cli_if=pwmxc0   # db host, audit
srv_if2=pwmxs1 cli_if2=pwmxc1 # bastion, enforce (loaded later)
srv_mac=02:00:c6:12:01:01 cli_mac=02:00:c6:12:01:02
srv_mac2=02:00:c6:12:01:03 cli_mac2=02:00:c6:12:01:04
# replication-manager.inventory: db1, repman1, app1, bastion1, op1
db1=198.18.2.11 repman=198.18.1.10 app=198.18.4.11 bastion=198.18.5.10
stranger=198.18.200.4 # in no role: "unknown"

exporter_pid=
prom_pid=

# stop PID: SIGTERM, then wait for it (it is our child)
stop() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	stop "$exporter_pid"
	stop "$prom_pid"
	"$pw" unload --netns "$srv" --iface "$srv_if" >/dev/null 2>&1
	"$pw" unload --netns "$srv" --iface "$srv_if2" >/dev/null 2>&1
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
}
pw_on_exit cleanup

# http URL [METHOD]: "STATUS" on line 1, the body after, in $tmp/http
http() {
	python3 - "$1" "${2:-GET}" >"$tmp/http" <<'EOF'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], method=sys.argv[2])
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
print(status)
sys.stdout.write(body.decode())
EOF
}

# wait_for WHAT CMD...: run CMD until it succeeds, at most 300 times 0.2 s
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < 300; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	fail "gave up waiting for $what"
	return 1
}

# ------------------------------------------------------------ traffic --

# send SRC DST PROTO PORT COUNT: COUNT TCP connection attempts (one SYN
# each: nobody listens, the RST goes the other way) or UDP datagrams
send() {
	ip netns exec "$cli" python3 - "$@" <<'EOF' || fail "send $*"
import socket, sys
src, dst, proto, port, count = sys.argv[1:6]
for _ in range(int(count)):
    if proto == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind((src, 0))
        try:
            s.connect((dst, int(port)))
        except ConnectionRefusedError:
            pass
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.sendto(b"x", (dst, int(port)))
    s.close()
EOF
}

# ------------------------------------------------------------- set up --

# veth SRV_IF CLI_IF SRV_MAC CLI_MAC SRV_ADDR: a pair, static neighbours
veth() {
	add_veth "$srv" "$1" "$3" "$cli" "$2" "$4"
	ip -n "$srv" addr add "$5/32" dev "$1"
	ip -n "$cli" route add "$5/32" dev "$2"
	ip -n "$cli" neigh add "$5" lladdr "$3" dev "$2" nud permanent
}

setup_net() {
	local a
	add_netns_pair "$srv" "$cli" "${ipv6_off[@]}"
	veth "$srv_if" "$cli_if" "$srv_mac" "$cli_mac" "$db1"
	veth "$srv_if2" "$cli_if2" "$srv_mac2" "$cli_mac2" "$bastion"
	# the client's addresses, one per role, all on the first pair
	for a in "$repman" "$app" "$stranger"; do
		ip -n "$cli" addr add "$a/32" dev "$cli_if"
		ip -n "$srv" route add "$a/32" dev "$srv_if"
		ip -n "$srv" neigh add "$a" lladdr "$cli_mac" dev "$srv_if" \
			nud permanent
	done
}

load() {
	"$pw" load --netns "$srv" --iface "$1" --xdp-mode generic --egress off \
		--profile "$src/policies/profiles/$2.profile" \
		>"$tmp/load.out" 2>&1 || die "load $1 $2: $(cat "$tmp/load.out")"
}

# ---------------------------------------------------- exporter alone --

# bad_listen VALUE TEXT: exit 1 and TEXT in the message
bad_listen() {
	checked
	"$pw" exporter --listen "$1" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ $rc != 1 ] || ! grep -qF -- "$2" "$tmp/err"; then
		fail "--listen '$1': exit $rc, '$(cat "$tmp/err")', expected 1 and '$2'"
	fi
}

bad_listen 127.0.0.1 "expected ADDRESS:PORT"
bad_listen 127.0.0.1:65536 "out of range"
bad_listen 127.0.0.1:http "the port must be a number"
bad_listen ::1:9610 "an IPv6 address goes in brackets"
bad_listen "[::1]" "expected [IPV6-ADDRESS]:PORT"
bad_listen localhost:9610 "not a numeric IPv4 address"
bad_listen "[198.18.0.1]:9610" "not a numeric IPv6 address"
bad_listen 198.18.255.254:9610 "no interface of this host has that address"

# start_exporter LISTEN: in the background; its address in $exporter_at
start_exporter() {
	"$pw" exporter --listen "$1" >"$tmp/exporter.out" 2>"$tmp/exporter.err" &
	exporter_pid=$!
	wait_for "the exporter to listen" grep -q "^listening on " "$tmp/exporter.out"
	exporter_at=$(awk '/^listening on /{ print $3 }' "$tmp/exporter.out")
}

# ----------------------------------------------------------- the load --

remove_stale_netns "$prefix" "$srv_if" "$srv_if2"
setup_net
load "$srv_if" db-host

send "$repman" "$db1" tcp 3306 3   # allowed: repman reaches MySQL
send "$repman" "$db1" tcp 22 1     # allowed: the terminal tag
send "$app" "$db1" tcp 3306 2      # violation on a named port
send "$stranger" "$db1" tcp 23 4   # violation, no rule names 23
send "$repman" "$db1" udp 4567 1   # violation: Galera is db to db

"$pw" -j stats --netns "$srv" --iface "$srv_if" >"$tmp/stats.json" ||
	die "stats -j failed"
checked
python3 - "$tmp/stats.json" <<'EOF' || fail "stats -j rows differ"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {(r["role"], r["proto"], r["port"], r["verdict"]): r["packets"]
        for r in doc["rows"]}
want = {("repman", "tcp", "3306", "allow"): 3,
        ("repman", "tcp", "22", "allow"): 1,
        ("app", "tcp", "3306", "audit"): 2,
        ("unknown", "tcp", "23", "audit"): 4,
        ("repman", "udp", "4567", "audit"): 1}
assert rows == want, rows
assert doc["reasons"]["classified"]["packets"] == 11, doc["reasons"]
EOF

# -------------------------------------------------------- the exporter --

start_exporter 127.0.0.1:0
[ -n "$exporter_at" ] || die "no exporter: $(cat "$tmp/exporter.err")"

http "http://$exporter_at/metrics"
check '[ "$(head -1 "$tmp/http")" = 200 ]' "/metrics: status $(head -1 "$tmp/http")"
tail -n +2 "$tmp/http" >"$tmp/metrics"
checked
promtool check metrics <"$tmp/metrics" >"$tmp/promtool" 2>&1 ||
	fail "promtool check metrics: $(cat "$tmp/promtool")"
check 'grep -qF "portwarden_packets_total{iface=\"$srv_if\",netns=\"$srv\",dir=\"ingress\",role=\"unknown\",proto=\"tcp\",port=\"23\",verdict=\"audit\",rule=\"none\"} 4" "$tmp/metrics"' \
	"no tcp/23 sample in /metrics"
check 'grep -qF "portwarden_interface_up{iface=\"$srv_if\",netns=\"$srv\"} 1" "$tmp/metrics"' \
	"no interface_up sample"
check '[ "$(grep -c "^# TYPE portwarden_packets_total " "$tmp/metrics")" = 1 ]' \
	"TYPE of portwarden_packets_total not once"

http "http://$exporter_at/"
check '[ "$(head -1 "$tmp/http")" = 200 ] && grep -q "href=\"/metrics\"" "$tmp/http"' \
	"/ does not link to /metrics"
http "http://$exporter_at/nothing"
check '[ "$(head -1 "$tmp/http")" = 404 ]' "/nothing: status $(head -1 "$tmp/http"), expected 404"
http "http://$exporter_at/metrics" POST
check '[ "$(head -1 "$tmp/http")" = 405 ]' "POST: status $(head -1 "$tmp/http"), expected 405"
http "http://$exporter_at/metrics" HEAD
check '[ "$(head -1 "$tmp/http")" = 200 ]' "HEAD: status $(head -1 "$tmp/http")"

bad_listen "$exporter_at" "Address already in use"

# An IPv6 listener, where the host has IPv6 loopback.
if ip -6 addr show dev lo 2>/dev/null | grep -q "::1/128"; then
	"$pw" exporter --listen "[::1]:0" >"$tmp/v6.out" 2>"$tmp/v6.err" &
	v6_pid=$!
	wait_for "the IPv6 exporter" grep -q "^listening on \[::1\]:" "$tmp/v6.out"
	v6_at=$(awk '/^listening on /{ print $3 }' "$tmp/v6.out")
	http "http://$v6_at/metrics"
	check '[ "$(head -1 "$tmp/http")" = 200 ]' "[::1]: status $(head -1 "$tmp/http")"
	kill -TERM "$v6_pid"
	wait "$v6_pid"
	v6_rc=$?
	check '[ $v6_rc = 0 ]' "IPv6 exporter: exit $v6_rc after SIGTERM"
else
	echo "exporter_netns: no IPv6 loopback; IPv6 listener not checked"
fi

# --------------------------------------------------------- Prometheus --

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $src/contrib/prometheus/portwarden.rules.yml
scrape_configs:
  - job_name: portwarden
    static_configs:
      - targets: ['$exporter_at']
EOF

prom_ready() {
	http "http://127.0.0.1:$prom_port/-/ready" 2>/dev/null &&
		[ "$(head -1 "$tmp/http")" = 200 ]
}

# A port can be taken between free_port and the bind: try a few.
for attempt in 1 2 3; do
	prom_port=$(free_port)
	prometheus --config.file="$tmp/prometheus.yml" \
		--storage.tsdb.path="$tmp/tsdb" \
		--web.listen-address="127.0.0.1:$prom_port" \
		>"$tmp/prometheus.log" 2>&1 &
	prom_pid=$!
	for ((i = 0; i < 150; i++)); do
		prom_ready && break
		kill -0 "$prom_pid" 2>/dev/null || break
		sleep 0.2
	done
	prom_ready && break
	stop "$prom_pid"
	prom_pid=
done
[ -n "$prom_pid" ] || die "prometheus did not start: $(tail -5 "$tmp/prometheus.log")"
api="http://127.0.0.1:$prom_port/api/v1"

# query PROMQL: the result vector as JSON lines "labels value" in $tmp/q
query() {
	python3 - "$api" "$1" >"$tmp/q" <<'EOF'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
doc = json.load(urllib.request.urlopen(url, timeout=10))
assert doc["status"] == "success", doc
for r in doc["data"]["result"]:
    print(json.dumps(r["metric"], sort_keys=True), r["value"][1])
EOF
}

target_up() {
	python3 - "$api" <<'EOF'
import json, sys, urllib.request
doc = json.load(urllib.request.urlopen(sys.argv[1] + "/targets", timeout=10))
t = doc["data"]["activeTargets"]
sys.exit(0 if len(t) == 1 and t[0]["health"] == "up" else 1)
EOF
}
wait_for "Prometheus to scrape the exporter" target_up
query_has() { query "$1" && [ -s "$tmp/q" ]; }
wait_for "the counters in Prometheus" \
	query_has "portwarden_packets_total{netns=\"$srv\"}"

# Every row of stats -j, back from Prometheus: packets, bytes, rule.
checked
python3 - "$api" "$tmp/stats.json" "$srv_if" "$srv" <<'EOF' || fail "Prometheus and stats -j differ"
import json, sys, urllib.parse, urllib.request
api, stats, iface, netns = sys.argv[1:5]
def query(q):
    url = api + "/query?" + urllib.parse.urlencode({"query": q})
    doc = json.load(urllib.request.urlopen(url, timeout=10))
    assert doc["status"] == "success", doc
    return doc["data"]["result"]
doc = json.load(open(stats))
for r in doc["rows"]:
    sel = ('iface="%s",netns="%s",dir="%s",role="%s",proto="%s",port="%s",'
           'verdict="%s"' % (iface, netns, r["direction"], r["role"],
                             r["proto"], r["port"], r["verdict"]))
    for family, field in (("portwarden_packets_total", "packets"),
                          ("portwarden_bytes_total", "bytes")):
        res = query("%s{%s}" % (family, sel))
        assert len(res) == 1, (family, sel, res)
        got = int(float(res[0]["value"][1]))
        assert got == r[field], (family, sel, got, r[field])
        rule = res[0]["metric"]["rule"]
        want = str(r["rule_id"]) if r["rule_id"] else "none"
        assert rule == want, (sel, rule, want)
total = query('sum(portwarden_packets_total{iface="%s",netns="%s"})'
              % (iface, netns))
assert int(float(total[0]["value"][1])) == 11, total
classified = query('portwarden_reason_packets_total{iface="%s",netns="%s",'
                   'dir="ingress",reason="classified"}' % (iface, netns))
assert int(float(classified[0]["value"][1])) == \
    doc["reasons"]["classified"]["packets"], classified
audit = query('portwarden_verdict_packets_total{iface="%s",netns="%s",'
              'dir="ingress",verdict="audit"}' % (iface, netns))
assert int(float(audit[0]["value"][1])) == 7, audit
info = query('portwarden_policy_info{iface="%s",netns="%s"}' % (iface, netns))
assert len(info) == 1, info
m = info[0]["metric"]
assert m["policy"] == "replication-manager" and m["roles"] == "db", m
assert m["digest"] == doc["digest"] and m["xdp_mode"] == "generic", m
cap = query('portwarden_flow_table_capacity{iface="%s",netns="%s"}'
            % (iface, netns))
entries = query('portwarden_flow_table_entries{iface="%s",netns="%s"}'
                % (iface, netns))
assert 0 < int(cap[0]["value"][1]), cap
assert int(entries[0]["value"][1]) <= int(cap[0]["value"][1]), entries
mode = query('portwarden_mode{iface="%s",netns="%s"} == 1' % (iface, netns))
assert [x["metric"]["mode"] for x in mode] == ["audit"], mode
EOF

# The alert rules loaded and evaluated without error.
checked
rules_ok() {
	python3 - "$api" <<'EOF'
import json, sys, urllib.request
doc = json.load(urllib.request.urlopen(sys.argv[1] + "/rules", timeout=10))
rules = [r for g in doc["data"]["groups"] for r in g["rules"]]
if len(rules) != 7 or any(r["lastEvaluation"].startswith("0001") for r in rules):
    sys.exit(1)
bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
if bad:
    print(bad, file=sys.stderr)
    sys.exit(2)
EOF
}
wait_for "the alert rules to be evaluated" rules_ok

# Every query of the Grafana dashboard parses and runs, with its variables
# at "All"; those that do not need a rate above zero return data.
checked
python3 - "$api" "$src/contrib/grafana/portwarden.json" <<'EOF' || fail "dashboard queries"
import json, sys, urllib.error, urllib.parse, urllib.request
api, path = sys.argv[1:3]
# (no rate() or increase() panel here: those need two scrapes inside
# their window, which a loaded machine may not have made yet)
want_data = {"Interfaces", "Policy in force", "Unused allow rules"}
for p in json.load(open(path))["panels"]:
    for t in p.get("targets", []):
        q = t["expr"]
        for var, val in (("$__rate_interval", "1m"), ("$__range", "1h"),
                         ("$instance", ".*"), ("$iface", ".*"),
                         ("$role", ".*")):
            q = q.replace(var, val)
        url = api + "/query?" + urllib.parse.urlencode({"query": q})
        try:
            doc = json.load(urllib.request.urlopen(url, timeout=10))
        except urllib.error.HTTPError as e:
            sys.exit("%s: %s: %s" % (p["title"], q, e.read().decode()))
        assert doc["status"] == "success", (p["title"], q, doc)
        if p["title"] in want_data and t["refId"] == "A":
            assert doc["data"]["result"], (p["title"], q, "no data")
EOF

# ------------------------------------- an interface comes, then goes --

load "$srv_if2" bastion
wait_for "the bastion in Prometheus" query_has \
	"portwarden_mode{iface=\"$srv_if2\",netns=\"$srv\",mode=\"enforce\"} == 1"
http "http://$exporter_at/metrics"
check 'grep -qF "portwarden_policy_info{iface=\"$srv_if2\",netns=\"$srv\",policy=\"replication-manager\"" "$tmp/http"' \
	"no policy_info of $srv_if2"

"$pw" unload --netns "$srv" --iface "$srv_if2" >/dev/null 2>&1 ||
	fail "unload $srv_if2"
http "http://$exporter_at/metrics"
check '! grep -q "iface=\"$srv_if2\"" "$tmp/http"' "$srv_if2 still exported after unload"
check 'grep -qF "iface=\"$srv_if\"" "$tmp/http"' "$srv_if gone too"
query_gone() { query "$1" && [ ! -s "$tmp/q" ]; }
wait_for "the bastion to leave Prometheus" query_gone \
	"portwarden_mode{iface=\"$srv_if2\",netns=\"$srv\"}"

# ----------------------------------------------------------- shutdown --

kill -TERM "$exporter_pid"
wait "$exporter_pid"
rc=$?
exporter_pid=
check '[ $rc = 0 ]' "exporter: exit $rc after SIGTERM, expected 0"
check 'grep -q "stopped (SIGTERM)" "$tmp/exporter.err"' "exporter said nothing on SIGTERM"
# Interfaces other than ours (other tests, other builds) may be loaded
# meanwhile, and be logged; ours must not.
checked
if grep -F "$srv" "$tmp/exporter.err"; then
	fail "exporter stderr: $(cat "$tmp/exporter.err")"
fi

pw_test_done
