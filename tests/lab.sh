#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# lab.sh PORTWARDEN - "portwarden lab" end to end: the README's main job.
# Runs the default lab (replication-manager) as text and checks that it
# passes and that the stats tables show allowed rows and rows the bastion's
# enforce mode dropped; runs every product as JSON and checks every flow;
# then Ctrl-C in the middle, --keep and --clean, and bad arguments.  After
# each run nothing of the lab may be left: no namespace, pin or state file.
# Needs root, and the load and stats commands.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init lab "$@"
need_root "network namespaces, BPF"
for cmd in load unload stats; do
	if ! "$pw" help "$cmd" >/dev/null 2>&1; then
		echo "lab: 'portwarden $cmd' does not exist yet; skipped"
		exit 77
	fi
done

lab_clean() {
	"$pw" lab --clean >/dev/null 2>&1
}
pw_on_exit lab_clean

# Nothing of a lab may survive its run.
no_leftovers() {
	local what=$1 left
	left=$( { ls /run/netns 2>/dev/null; ls /sys/fs/bpf/portwarden 2>/dev/null
		  ls /run/portwarden 2>/dev/null; } | grep '^pwlab-')
	check '[ -z "$left" ]' "$what: leftovers: $(echo $left)"
}

# --- the main job, as text ---------------------------------------------
"$pw" lab >"$tmp/out" 2>"$tmp/err"
rc=$?
if ! check '[ $rc = 0 ]' "portwarden lab: exit $rc, expected 0"; then
	sed 's/^/    /' "$tmp/out" "$tmp/err" | tail -40 >&2
fi
check 'grep -q "^lab: PASSED$" "$tmp/out"' "no 'lab: PASSED' line"
# Stats rows: DIR ROLE PROTO/PORT VERDICT PACKETS ...
check 'grep -Eq "^ingress +operator +tcp/22 +allow +[1-9]" "$tmp/out"' \
	"the bastion's stats lack the allowed operator SSH row"
check 'grep -Eq "^ingress +[a-z-]+ +tcp/[0-9]+ +drop +[1-9]" "$tmp/out"' \
	"no stats row shows dropped TCP packets"
check 'grep -Eq "^ingress +[a-z-]+ +udp/[0-9]+ +drop +[1-9]" "$tmp/out"' \
	"no stats row shows dropped UDP packets"
check 'grep -Eq "^ingress +app +tcp/3306 +audit +[1-9]" "$tmp/out"' \
	"db1's stats lack the audited app -> 3306 row"
check 'grep -Eq "timed out +ok$" "$tmp/out"' \
	"no flow was dropped (timed out) as expected"
check '[ ! -s "$tmp/err" ]' "portwarden lab wrote to stderr: $(head -3 "$tmp/err")"
no_leftovers "portwarden lab"

# --- every product, as JSON ----------------------------------------------
products=$("$pw" lab --list)
check '[ "$(echo $products)" = "cloudbees-cd replication-manager thoughtspot" ]' \
	"lab --list: '$(echo $products)'"
for product in $products; do
	"$pw" lab "$product" -j >"$tmp/json" 2>"$tmp/err"
	rc=$?
	check '[ $rc = 0 ]' "portwarden lab $product -j: exit $rc"
	checked
	if ! python3 - "$tmp/json" "$product" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		bad = []
		if not d["ok"] or d["failures"]:
		    bad.append("not ok: %s" % d["failures"])
		if not d["counters_checked"]:
		    bad.append("counters not checked")
		flows = d["flows"]
		if len(flows) < 8:
		    bad.append("only %d flows" % len(flows))
		for f in flows:
		    if not (f["ok"] and f["counted"]):
		        bad.append("flow %s" % f)
		    if f["expected"] == "pass" and f["result"] not in ("connected", "echoed"):
		        bad.append("passing flow %s" % f)
		    if f["expected"] == "drop" and f["result"] != "timed out":
		        bad.append("dropped flow %s" % f)
		kinds = {(f["verdict"], f["protocol"]) for f in flows}
		for need in [("allow", "tcp"), ("audit", "tcp"), ("audit", "udp")]:
		    if need not in kinds:
		        bad.append("no %s %s flow" % need)
		if {f["family"] for f in flows} != {4, 6}:
		    bad.append("not both IPv4 and IPv6")
		loaded = [h for h in d["hosts"] if h.get("profile")]
		if sorted(d["stats"]) != sorted(h["name"] for h in loaded):
		    bad.append("stats for %s" % sorted(d["stats"]))
		if sys.argv[2] == "replication-manager":
		    modes = {h["name"]: h["mode"] for h in loaded}
		    if modes != {"db1": "audit", "repman1": "audit", "bastion1": "enforce"}:
		        bad.append("loads: %s" % modes)
		    rows = d["stats"]["bastion1"]["rows"]
		    drops = [r for r in rows if r["verdict"] == "drop" and r["proto"] in ("tcp", "udp")]
		    if len(drops) < 3 or any(r["packets"] < 1 for r in drops):
		        bad.append("bastion1 drops: %s" % drops)
		    if not any(f["verdict"] == "drop" for f in flows):
		        bad.append("no flow the bastion drops")
		for b in bad:
		    print("lab JSON: " + b, file=sys.stderr)
		sys.exit(1 if bad else 0)
	EOF
	then
		fail "portwarden lab $product -j: JSON checks (above)"
	fi
	no_leftovers "portwarden lab $product -j"
done

# --- Ctrl-C while the lab runs ---------------------------------------------
for delay in 0.2 1; do
	"$pw" lab >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	sleep "$delay"
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	# It may have finished first on a fast machine; then it passed.
	if grep -q "interrupted by SIGINT" "$tmp/err"; then
		check '[ $rc = 1 ]' "SIGINT after ${delay}s: exit $rc, expected 1"
		check 'grep -q "^lab: FAILED" "$tmp/out"' "SIGINT: no FAILED line"
	else
		check '[ $rc = 0 ]' "finished before SIGINT: exit $rc"
	fi
	no_leftovers "SIGINT after ${delay}s"
done

# --- --keep leaves it running, --clean removes it ---------------------------
"$pw" lab --keep >"$tmp/out" 2>"$tmp/err"
rc=$?
check '[ $rc = 0 ]' "lab --keep: exit $rc"
check '[ -e /run/netns/pwlab-db1 ] && [ -e /run/netns/pwlab-sw ]' \
	"lab --keep: namespaces gone"
check '[ -d "/sys/fs/bpf/portwarden/pwlab-bastion1:eth0" ]' \
	"lab --keep: bastion1 not loaded"
"$pw" stats --iface eth0 --netns pwlab-bastion1 >"$tmp/out" 2>&1
check 'grep -Eq "^ingress +operator +tcp/22 +allow" "$tmp/out"' \
	"kept lab: stats of bastion1 lack the operator row"
# A new run starts by removing the kept one.
"$pw" lab -j >"$tmp/json" 2>"$tmp/err"
rc=$?
check '[ $rc = 0 ]' "lab over a kept lab: exit $rc"
no_leftovers "lab over a kept lab"
"$pw" lab --keep >/dev/null 2>&1
"$pw" lab --clean >"$tmp/out" 2>&1
check 'grep -q "^removed 14 namespaces" "$tmp/out"' \
	"lab --clean: $(head -1 "$tmp/out")"
no_leftovers "lab --clean"

# --- bad arguments ----------------------------------------------------------
"$pw" lab no-such-product >"$tmp/out" 2>"$tmp/err"
rc=$?
check '[ $rc = 1 ]' "unknown product: exit $rc"
check 'grep -q "no product .no-such-product." "$tmp/err"' \
	"unknown product: $(head -1 "$tmp/err")"
"$pw" lab --frobnicate >"$tmp/out" 2>"$tmp/err"
rc=$?
check '[ $rc = 1 ]' "unknown option: exit $rc"
"$pw" lab no-such-product -j >"$tmp/out" 2>"$tmp/err"
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if \"error\" in d else 1)" "$tmp/out"' \
	"unknown product -j: no JSON error document"
no_leftovers "bad arguments"

pw_test_done
