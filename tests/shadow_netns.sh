#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# shadow_netns.sh PORTWARDEN - "portwarden shadow" over a real load: a
# running policy on one end of a veth pair in a namespace, a candidate
# shadowing it, real UDP datagrams and TCP connection attempts from the
# other end, and the differences read back with exact counts; then
# promote, drop, reload refused while a shadow is loaded, a candidate that
# does not compile, and unload.  Needs root; exits 77 otherwise.
#
# Exact counts: the neighbours are static (no ARP, no neighbour
# discovery), IPv6 control traffic (router solicitations, MLD, DAD) is
# never judged by a policy, a UDP datagram is one packet and a connection
# to a port nobody listens on is one SYN (the RST leaves the other way,
# which XDP does not see).
#
# Addresses: 198.18.7.0/24 and 2001:db8:7::/64, in namespaces
# pwsh<pid>s (portwarden) and pwsh<pid>c (the peers).
set -u

pw=${1:?usage: shadow_netns.sh PORTWARDEN}
if [ "$(id -u)" -ne 0 ]; then
	echo "shadow_netns: needs root (namespaces, XDP, bpffs); skipped"
	exit 77
fi
for tool in ip python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "shadow_netns: $tool not installed; skipped"
		exit 77
	fi
done

srv=pwsh$$s
cli=pwsh$$c
dev=pwshs0
peer_dev=pwshc0
dev_mac=02:00:c6:12:07:01
peer_mac=02:00:c6:12:07:02
db4=198.18.7.1 db6=2001:db8:7::1
app4=198.18.7.2 app6=2001:db8:7::2
op4=198.18.7.3
backup4=198.18.7.4
reporter4=198.18.7.5
shadow_file=/run/portwarden/$srv:$dev.shadow

work=$(mktemp -d /tmp/pw-shadow-netns-XXXXXX)
checks=0
failures=0

teardown() {
	"$pw" unload --netns "$srv" --iface "$dev" >/dev/null 2>&1
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$work"
}
trap teardown EXIT
trap 'exit 1' INT TERM HUP

# Namespaces left by runs that were killed before their trap ran.
sweep_leftovers() {
	local ns owner
	for ns in $(ip netns list | awk '{ print $1 }'); do
		[[ $ns =~ ^pwsh([0-9]+)[sc]$ ]] || continue
		owner=${BASH_REMATCH[1]}
		kill -0 "$owner" 2>/dev/null && continue
		"$pw" unload --netns "$ns" --iface "$dev" >/dev/null 2>&1
		ip netns del "$ns"
	done
}

bail() {
	echo "shadow_netns: $*" >&2
	exit 1
}

failed() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# expect STATUS CMD...: run, keep stdout in $work/out and stderr in $work/err
expect() {
	local want=$1 got
	shift
	checks=$((checks + 1))
	"$@" >"$work/out" 2>"$work/err"
	got=$?
	[ "$got" = "$want" ] && return 0
	failed "exit $got, expected $want: $*"
	sed 's/^/    err: /' "$work/err" | head -8 >&2
	return 1
}

pw_srv() {
	"$pw" "$@" --netns "$srv" --iface "$dev"
}

# contains FILE TEXT / lacks FILE TEXT
contains() {
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" && return 0
	failed "'$2' not in $(basename "$1")"
	sed 's/^/    /' "$1" | head -30 >&2
}

lacks() {
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" || return 0
	failed "'$2' unexpectedly in $(basename "$1")"
}

# json_check 'PYTHON' [ARGS...]: asserts over doc, the JSON in $work/out
json_check() {
	local code=$1
	shift
	checks=$((checks + 1))
	python3 - "$work/out" "$@" >"$work/py" 2>&1 <<EOF && return 0
import json, sys
doc = json.load(open(sys.argv[1]))
args = sys.argv[2:]
$code
EOF
	failed "JSON check: $(tail -3 "$work/py")"
	sed 's/^/    /' "$work/out" | head -60 >&2
}

# ------------------------------------------------------------ traffic --

# send SRC udp|tcp PORT COUNT: COUNT datagrams, or COUNT connection
# attempts (one SYN each), from SRC to the portwarden end
send() {
	ip netns exec "$cli" python3 - "$@" "$db4" "$db6" <<'EOF' ||
import socket, sys
src, proto, port, count, db4, db6 = sys.argv[1:7]
family = socket.AF_INET6 if ":" in src else socket.AF_INET
dst = db6 if family == socket.AF_INET6 else db4
kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
for _ in range(int(count)):
    with socket.socket(family, kind) as s:
        s.bind((src, 0))
        if proto == "udp":
            s.sendto(b"x", (dst, int(port)))
            continue
        s.settimeout(5)
        try:
            s.connect((dst, int(port)))
        except ConnectionRefusedError:
            pass
EOF
		bail "cannot send $*"
}

# ------------------------------------------------------------- set up --

make_net() {
	local ns a
	ip netns add "$srv" && ip netns add "$cli" || bail "cannot add namespaces"
	for ns in "$srv" "$cli"; do
		ip -n "$ns" link set lo up
	done
	ip link add "$dev" address "$dev_mac" netns "$srv" type veth \
		peer name "$peer_dev" address "$peer_mac" netns "$cli" ||
		bail "cannot add the veth pair"
	ip -n "$srv" addr add "$db4/24" dev "$dev"
	ip -n "$srv" addr add "$db6/64" dev "$dev" nodad
	for a in "$app4" "$op4" "$backup4" "$reporter4"; do
		ip -n "$cli" addr add "$a/24" dev "$peer_dev"
		ip -n "$srv" neigh add "$a" lladdr "$peer_mac" dev "$dev" \
			nud permanent
	done
	ip -n "$cli" addr add "$app6/64" dev "$peer_dev" nodad
	ip -n "$srv" neigh add "$app6" lladdr "$peer_mac" dev "$dev" \
		nud permanent
	ip -n "$cli" neigh add "$db4" lladdr "$dev_mac" dev "$peer_dev" \
		nud permanent
	ip -n "$cli" neigh add "$db6" lladdr "$dev_mac" dev "$peer_dev" \
		nud permanent
	ip -n "$srv" link set "$dev" up
	ip -n "$cli" link set "$peer_dev" up
}

# The running policy, the candidate (one more port, one fewer, a new
# role), a third candidate with another new role, one that does not
# compile, and their inventories.
write_files() {
	cat >"$work/run.policy" <<'EOF'
policy shadowrun "the policy in force"
role app "application servers"
role db "database"
role op "operators"
allow udp 5001 from app to db note "metrics"
allow udp 5002 from app to db note "logs"
allow tcp 3306 from app to db note "mysql"
allow udp 6000 from op to db note "console"
EOF
	cat >"$work/run.inventory" <<EOF
app $app4 $app6
op $op4
db $db4 $db6
EOF
	cat >"$work/cand.policy" <<'EOF'
policy shadowcand "the candidate"
role app "application servers"
role db "database"
role op "operators"
role backup "backup agent"
allow udp 5001 from app to db note "metrics"
allow tcp 3306 from app to db note "mysql"
allow udp 6000 from op to db note "console"
allow udp 7000 from app to db note "new feed"
allow udp 7100 from backup to db note "backups"
EOF
	cat >"$work/cand.inventory" <<EOF
app $app4 $app6
op $op4
backup $backup4
db $db4 $db6
EOF
	sed -e 's/^policy shadowcand .*/policy shadowthird "the third"/' \
		-e '/udp 7000/d' "$work/cand.policy" >"$work/third.policy"
	cat >>"$work/third.policy" <<'EOF'
role reporter "reporting"
allow udp 8000 from reporter to db note "reports"
EOF
	{ cat "$work/cand.inventory"; echo "reporter $reporter4"; } \
		>"$work/third.inventory"
	printf 'role app "apps"\nallow udp 99999 from app to db\n' \
		>"$work/bad.policy"
}

sweep_leftovers
make_net
write_files

expect 0 pw_srv load --policy "$work/run.policy" \
	--inventory "$work/run.inventory" --role db --mode audit \
	--xdp-mode generic || bail "load failed: $(cat "$work/err")"
expect 0 pw_srv status -j
running_digest=$(python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["interfaces"][0]["policy"]["digest"])' \
	"$work/out")

# ------------------------------------------------ options, no shadow --

expect 0 pw_srv shadow
contains "$work/out" "no shadow policy is loaded"
expect 0 pw_srv shadow -j
json_check 'assert doc["loaded"] is False and doc["shadow"] is None, doc
assert doc["totals"]["packets"] == 0, doc'
expect 1 pw_srv shadow --promote
contains "$work/err" "no shadow policy is loaded"
expect 1 pw_srv shadow --drop
contains "$work/err" "no shadow policy is loaded"
expect 1 pw_srv shadow --promote --drop
contains "$work/err" "exclude each other"
expect 1 pw_srv shadow --policy "$work/cand.policy" --mode enforce
contains "$work/err" "--mode does not apply"
expect 1 pw_srv shadow --drop --policy "$work/cand.policy"
expect 1 pw_srv stats --shadow --violations
contains "$work/err" "combines with -j only"

# a candidate that does not compile: nothing changes
expect 1 pw_srv shadow --policy "$work/bad.policy"
contains "$work/err" "bad.policy:2:"
contains "$work/err" "the running policy is untouched"
expect 0 pw_srv shadow -j
json_check 'assert doc["loaded"] is False, doc'
checks=$((checks + 1))
[ -e "$shadow_file" ] && failed "a failed shadow left $shadow_file"

# ------------------------------------------------------------- shadow --

expect 0 pw_srv shadow --policy "$work/cand.policy" \
	--inventory "$work/cand.inventory" ||
	bail "shadow failed: $(cat "$work/err")"
contains "$work/out" "shadow policy loaded"
contains "$work/out" "shadowcand"
expect 0 pw_srv shadow -j
json_check '
s = doc["shadow"]
assert doc["loaded"] is True, doc
assert s["name"] == "shadowcand" and s["roles"] == ["db"], s
assert s["path"].endswith("/cand.policy"), s
assert s["inventory"].endswith("/cand.inventory"), s
assert s["stale"] is False and s["profile"] is None, s
assert s["generation"] == 1 - doc["running"]["generation"], doc
assert doc["running"]["digest"] == args[0], doc
assert s["digest"] != args[0], s' "$running_digest"
read -r shadow_digest shadow_gen < <(python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))["shadow"]
print(s["digest"], s["generation"])' "$work/out")
checks=$((checks + 1))
[ -e "$shadow_file" ] || failed "no $shadow_file"

send "$app4" udp 5001 3      # allowed by both
send "$app4" udp 5002 4      # the candidate forbids it
send "$app6" udp 5002 2      # the same over IPv6
send "$app4" udp 7000 5      # only the candidate allows it
send "$backup4" udp 7100 2   # unknown now, a backup agent in the candidate
send "$app4" tcp 3306 2      # allowed by both
send "$op4" udp 5002 3       # a violation in both (named, then unnamed)
send "$op4" udp 6000 1       # allowed by both
send "$app4" tcp 23 2        # a violation in both
send "$backup4" udp 5001 1   # a violation in both, under two roles

expect 0 pw_srv stats --shadow -j
json_check '
rows = {(r["direction"], r["role"], r["shadow_role"], r["proto"], r["port"],
         r["verdict"], r["shadow_verdict"]): (r["packets"], r["bytes"])
        for r in doc["rows"]}
want = {
    ("ingress", "app", "app", "udp", "5002", "allow", "audit"): (6, 4 * 43 + 2 * 63),
    ("ingress", "app", "app", "udp", "7000", "audit", "allow"): (5, 5 * 43),
    ("ingress", "unknown", "backup", "udp", "7100", "audit", "allow"): (2, 2 * 43),
}
assert rows == want, rows
assert [r["packets"] for r in doc["rows"]] == [6, 5, 2], doc["rows"]
t = doc["totals"]
assert (t["packets"], t["keys"], t["not_counted"]) == (13, 3, 0), t
assert t["bytes"] == sum(b for _, b in want.values()), t
assert doc["loaded"] is True and doc["shadow"]["name"] == "shadowcand", doc'

expect 0 pw_srv stats --shadow
contains "$work/out" "ingress  app -> app"
contains "$work/out" "unknown -> backup"
contains "$work/out" "allow -> audit"
contains "$work/out" "differences 13 packets"
checks=$((checks + 1))
first=$(awk '$1 == "ingress" { print $2, $4, $5, $6, $8, $9; exit }' "$work/out")
[ "$first" = "app app udp/5002 allow audit 6" ] || failed "first row '$first'"

# the running policy judged all of it, and its recompile is not stale
expect 0 pw_srv status -j
json_check '
p = doc["interfaces"][0]["policy"]
assert p["name"] == "shadowrun" and p["stale"] is False, p
assert p["digest"] == args[0], p' "$running_digest"
expect 0 pw_srv stats -j
json_check '
rows = {(r["role"], r["proto"], r["port"], r["verdict"]): r["packets"]
        for r in doc["rows"]}
assert rows[("app", "udp", "5002", "allow")] == 6, rows
assert rows[("app", "udp", "7000", "audit")] == 5, rows
assert rows[("app", "udp", "5001", "allow")] == 3, rows
assert doc["stale"] is False, doc'
lacks "$work/err" "outdated"

# reload refuses while a shadow is loaded; the shadow keeps counting
expect 1 pw_srv reload
contains "$work/err" "reload refused: a shadow policy is loaded"
contains "$work/err" "--promote"

# a candidate that does not compile leaves the loaded shadow alone
expect 1 pw_srv shadow --policy "$work/bad.policy"
contains "$work/err" "the shadow loaded now"
send "$app4" udp 7000 1
expect 0 pw_srv stats --shadow -j
json_check '
assert doc["shadow"]["digest"] == args[0], doc["shadow"]
rows = {(r["port"], r["verdict"]): r["packets"] for r in doc["rows"]}
assert rows == {("5002", "allow"): 6, ("7000", "audit"): 6,
                ("7100", "audit"): 2}, rows' "$shadow_digest"

# ------------------------------------------------------------ promote --

expect 0 pw_srv shadow --promote || bail "promote failed: $(cat "$work/err")"
contains "$work/out" "shadowcand"
expect 0 pw_srv status -j
json_check '
i = doc["interfaces"][0]
p = i["policy"]
assert p["name"] == "shadowcand" and p["stale"] is False, p
assert p["digest"] == args[0], (p, args)
assert p["path"].endswith("/cand.policy"), p
assert p["inventory"].endswith("/cand.inventory"), p
assert i["generation"] == int(args[1]) and i["mode"] == "audit", i
assert i["reloaded_at"] is not None, i' "$shadow_digest" "$shadow_gen"
expect 0 pw_srv shadow -j
json_check 'assert doc["loaded"] is False, doc'
checks=$((checks + 1))
[ -e "$shadow_file" ] && failed "promote left $shadow_file"

send "$app4" udp 7000 2      # allowed now
send "$app4" udp 5002 1      # no rule names it now
send "$app4" udp 5001 1      # allowed before and after
send "$backup4" udp 7100 1   # a backup agent now
expect 0 pw_srv stats -j
json_check '
rows = {(r["role"], r["proto"], r["port"], r["verdict"]): (r["packets"], r["note"])
        for r in doc["rows"]}
assert rows[("app", "udp", "7000", "allow")] == (2, "new feed"), rows
assert rows[("app", "udp", "5002", "audit")] == (1, "no rule"), rows
assert rows[("app", "udp", "5001", "allow")] == (4, "metrics"), rows
assert rows[("app", "tcp", "3306", "allow")] == (2, "mysql"), rows
assert rows[("backup", "udp", "7100", "allow")] == (1, "backups"), rows
assert doc["policy"] == "shadowcand" and doc["stale"] is False, doc'

# a bare reload rereads the promoted files
expect 0 pw_srv reload
expect 0 pw_srv status -j
json_check '
p = doc["interfaces"][0]["policy"]
assert p["name"] == "shadowcand" and p["digest"] == args[0], p
assert p["stale"] is False, p' "$shadow_digest"

# --------------------------------------------------------------- drop --

expect 0 pw_srv shadow --policy "$work/third.policy" \
	--inventory "$work/third.inventory" ||
	bail "second shadow failed: $(cat "$work/err")"
send "$app4" udp 7000 3      # the third candidate forbids it again
send "$reporter4" udp 8000 2 # unknown now, a reporter in the third
expect 0 pw_srv stats --shadow -j
json_check '
rows = {(r["role"], r["shadow_role"], r["port"], r["verdict"],
         r["shadow_verdict"]): r["packets"] for r in doc["rows"]}
assert rows == {("app", "app", "7000", "allow", "audit"): 3,
                ("unknown", "reporter", "8000", "audit", "allow"): 2}, rows'
expect 0 pw_srv status -j
json_check '
p = doc["interfaces"][0]["policy"]
assert p["name"] == "shadowcand" and p["stale"] is False, p'

expect 0 pw_srv shadow --drop
contains "$work/out" "shadow policy dropped"
expect 0 pw_srv shadow -j
json_check 'assert doc["loaded"] is False and doc["shadow"] is None, doc'
send "$app4" udp 7000 2
send "$reporter4" udp 8000 1
expect 0 pw_srv stats --shadow -j
json_check '
assert doc["rows"] == [] and doc["totals"]["packets"] == 0, doc'
expect 0 pw_srv stats -j
json_check '
rows = {(r["role"], r["port"], r["verdict"]): r["packets"] for r in doc["rows"]}
assert rows[("app", "7000", "allow")] == 7, rows
assert rows[("unknown", "8000", "audit")] == 3, rows
assert doc["policy"] == "shadowcand" and doc["stale"] is False, doc'
checks=$((checks + 1))
[ -e "$shadow_file" ] && failed "drop left $shadow_file"
expect 0 pw_srv reload
expect 1 pw_srv shadow --drop
contains "$work/err" "no shadow policy is loaded"

# ------------------------------------------------------------- unload --

expect 0 pw_srv shadow --policy "$work/run.policy" \
	--inventory "$work/run.inventory"
checks=$((checks + 1))
[ -e "$shadow_file" ] || failed "no $shadow_file before unload"
expect 0 pw_srv unload
checks=$((checks + 1))
[ -e "$shadow_file" ] && failed "unload left $shadow_file"

echo "shadow_netns: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
