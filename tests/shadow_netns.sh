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

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init shadow_netns "$@"
need_root "namespaces, XDP, bpffs"
need_tools ip python3

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

teardown() {
	"$pw" unload --netns "$srv" --iface "$dev" >/dev/null 2>&1
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
}
pw_on_exit teardown

pw_srv() {
	"$pw" "$@" --netns "$srv" --iface "$dev"
}

# json_check 'PYTHON' [ARGS...]: asserts over doc, the JSON in $tmp/out
json_check() {
	local code=$1
	shift
	checked
	python3 - "$tmp/out" "$@" >"$tmp/py" 2>&1 <<EOF && return 0
import json, sys
doc = json.load(open(sys.argv[1]))
args = sys.argv[2:]
$code
EOF
	fail "JSON check: $(tail -3 "$tmp/py")"
	sed 's/^/    /' "$tmp/out" | head -60 >&2
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
		die "cannot send $*"
}

# ------------------------------------------------------------- set up --

make_net() {
	local a
	add_netns_pair "$srv" "$cli"
	add_veth "$srv" "$dev" "$dev_mac" "$cli" "$peer_dev" "$peer_mac"
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
}

# The running policy, the candidate (one more port, one fewer, a new
# role), a third candidate with another new role, one that does not
# compile, and their inventories.
write_files() {
	cat >"$tmp/run.policy" <<'EOF'
policy shadowrun "the policy in force"
role app "application servers"
role db "database"
role op "operators"
allow udp 5001 from app to db note "metrics"
allow udp 5002 from app to db note "logs"
allow tcp 3306 from app to db note "mysql"
allow udp 6000 from op to db note "console"
EOF
	cat >"$tmp/run.inventory" <<EOF
app $app4 $app6
op $op4
db $db4 $db6
EOF
	cat >"$tmp/cand.policy" <<'EOF'
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
	cat >"$tmp/cand.inventory" <<EOF
app $app4 $app6
op $op4
backup $backup4
db $db4 $db6
EOF
	sed -e 's/^policy shadowcand .*/policy shadowthird "the third"/' \
		-e '/udp 7000/d' "$tmp/cand.policy" >"$tmp/third.policy"
	cat >>"$tmp/third.policy" <<'EOF'
role reporter "reporting"
allow udp 8000 from reporter to db note "reports"
EOF
	{ cat "$tmp/cand.inventory"; echo "reporter $reporter4"; } \
		>"$tmp/third.inventory"
	printf 'role app "apps"\nallow udp 99999 from app to db\n' \
		>"$tmp/bad.policy"
}

remove_stale_netns pwsh "$dev"
make_net
write_files

run 0 pw_srv load --policy "$tmp/run.policy" \
	--inventory "$tmp/run.inventory" --role db --mode audit \
	--xdp-mode generic || die "load failed: $(cat "$tmp/err")"
run 0 pw_srv status -j
running_digest=$(python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["interfaces"][0]["policy"]["digest"])' \
	"$tmp/out")

# ------------------------------------------------ options, no shadow --

run 0 pw_srv shadow
expect_in "$tmp/out" "no shadow policy is loaded"
run 0 pw_srv shadow -j
json_check 'assert doc["loaded"] is False and doc["shadow"] is None, doc
assert doc["totals"]["packets"] == 0, doc'
run 1 pw_srv shadow --promote
expect_in "$tmp/err" "no shadow policy is loaded"
run 1 pw_srv shadow --drop
expect_in "$tmp/err" "no shadow policy is loaded"
run 1 pw_srv shadow --promote --drop
expect_in "$tmp/err" "exclude each other"
run 1 pw_srv shadow --policy "$tmp/cand.policy" --mode enforce
expect_in "$tmp/err" "--mode does not apply"
run 1 pw_srv shadow --drop --policy "$tmp/cand.policy"
run 1 pw_srv stats --shadow --violations
expect_in "$tmp/err" "combines with -j only"

# a candidate that does not compile: nothing changes
run 1 pw_srv shadow --policy "$tmp/bad.policy"
expect_in "$tmp/err" "bad.policy:2:"
expect_in "$tmp/err" "the running policy is untouched"
run 0 pw_srv shadow -j
json_check 'assert doc["loaded"] is False, doc'
checked
[ -e "$shadow_file" ] && fail "a failed shadow left $shadow_file"

# ------------------------------------------------------------- shadow --

run 0 pw_srv shadow --policy "$tmp/cand.policy" \
	--inventory "$tmp/cand.inventory" ||
	die "shadow failed: $(cat "$tmp/err")"
expect_in "$tmp/out" "shadow policy loaded"
expect_in "$tmp/out" "shadowcand"
run 0 pw_srv shadow -j
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
print(s["digest"], s["generation"])' "$tmp/out")
checked
[ -e "$shadow_file" ] || fail "no $shadow_file"

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

run 0 pw_srv stats --shadow -j
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

run 0 pw_srv stats --shadow
expect_in "$tmp/out" "ingress  app -> app"
expect_in "$tmp/out" "unknown -> backup"
expect_in "$tmp/out" "allow -> audit"
expect_in "$tmp/out" "differences 13 packets"
checked
first=$(awk '$1 == "ingress" { print $2, $4, $5, $6, $8, $9; exit }' "$tmp/out")
[ "$first" = "app app udp/5002 allow audit 6" ] || fail "first row '$first'"

# the running policy judged all of it, and its recompile is not stale
run 0 pw_srv status -j
json_check '
p = doc["interfaces"][0]["policy"]
assert p["name"] == "shadowrun" and p["stale"] is False, p
assert p["digest"] == args[0], p' "$running_digest"
run 0 pw_srv stats -j
json_check '
rows = {(r["role"], r["proto"], r["port"], r["verdict"]): r["packets"]
        for r in doc["rows"]}
assert rows[("app", "udp", "5002", "allow")] == 6, rows
assert rows[("app", "udp", "7000", "audit")] == 5, rows
assert rows[("app", "udp", "5001", "allow")] == 3, rows
assert doc["stale"] is False, doc'
expect_not_in "$tmp/err" "outdated"

# reload refuses while a shadow is loaded; the shadow keeps counting
run 1 pw_srv reload
expect_in "$tmp/err" "reload refused: a shadow policy is loaded"
expect_in "$tmp/err" "--promote"

# a candidate that does not compile leaves the loaded shadow alone
run 1 pw_srv shadow --policy "$tmp/bad.policy"
expect_in "$tmp/err" "the shadow loaded now"
send "$app4" udp 7000 1
run 0 pw_srv stats --shadow -j
json_check '
assert doc["shadow"]["digest"] == args[0], doc["shadow"]
rows = {(r["port"], r["verdict"]): r["packets"] for r in doc["rows"]}
assert rows == {("5002", "allow"): 6, ("7000", "audit"): 6,
                ("7100", "audit"): 2}, rows' "$shadow_digest"

# ------------------------------------------------------------ promote --

run 0 pw_srv shadow --promote || die "promote failed: $(cat "$tmp/err")"
expect_in "$tmp/out" "shadowcand"
run 0 pw_srv status -j
json_check '
i = doc["interfaces"][0]
p = i["policy"]
assert p["name"] == "shadowcand" and p["stale"] is False, p
assert p["digest"] == args[0], (p, args)
assert p["path"].endswith("/cand.policy"), p
assert p["inventory"].endswith("/cand.inventory"), p
assert i["generation"] == int(args[1]) and i["mode"] == "audit", i
assert i["reloaded_at"] is not None, i' "$shadow_digest" "$shadow_gen"
run 0 pw_srv shadow -j
json_check 'assert doc["loaded"] is False, doc'
checked
[ -e "$shadow_file" ] && fail "promote left $shadow_file"

send "$app4" udp 7000 2      # allowed now
send "$app4" udp 5002 1      # no rule names it now
send "$app4" udp 5001 1      # allowed before and after
send "$backup4" udp 7100 1   # a backup agent now
run 0 pw_srv stats -j
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
run 0 pw_srv reload
run 0 pw_srv status -j
json_check '
p = doc["interfaces"][0]["policy"]
assert p["name"] == "shadowcand" and p["digest"] == args[0], p
assert p["stale"] is False, p' "$shadow_digest"

# --------------------------------------------------------------- drop --

run 0 pw_srv shadow --policy "$tmp/third.policy" \
	--inventory "$tmp/third.inventory" ||
	die "second shadow failed: $(cat "$tmp/err")"
send "$app4" udp 7000 3      # the third candidate forbids it again
send "$reporter4" udp 8000 2 # unknown now, a reporter in the third
run 0 pw_srv stats --shadow -j
json_check '
rows = {(r["role"], r["shadow_role"], r["port"], r["verdict"],
         r["shadow_verdict"]): r["packets"] for r in doc["rows"]}
assert rows == {("app", "app", "7000", "allow", "audit"): 3,
                ("unknown", "reporter", "8000", "audit", "allow"): 2}, rows'
run 0 pw_srv status -j
json_check '
p = doc["interfaces"][0]["policy"]
assert p["name"] == "shadowcand" and p["stale"] is False, p'

run 0 pw_srv shadow --drop
expect_in "$tmp/out" "shadow policy dropped"
run 0 pw_srv shadow -j
json_check 'assert doc["loaded"] is False and doc["shadow"] is None, doc'
send "$app4" udp 7000 2
send "$reporter4" udp 8000 1
run 0 pw_srv stats --shadow -j
json_check '
assert doc["rows"] == [] and doc["totals"]["packets"] == 0, doc'
run 0 pw_srv stats -j
json_check '
rows = {(r["role"], r["port"], r["verdict"]): r["packets"] for r in doc["rows"]}
assert rows[("app", "7000", "allow")] == 7, rows
assert rows[("unknown", "8000", "audit")] == 3, rows
assert doc["policy"] == "shadowcand" and doc["stale"] is False, doc'
checked
[ -e "$shadow_file" ] && fail "drop left $shadow_file"
run 0 pw_srv reload
run 1 pw_srv shadow --drop
expect_in "$tmp/err" "no shadow policy is loaded"

# ------------------------------------------------------------- unload --

run 0 pw_srv shadow --policy "$tmp/run.policy" \
	--inventory "$tmp/run.inventory"
checked
[ -e "$shadow_file" ] || fail "no $shadow_file before unload"
run 0 pw_srv unload
checked
[ -e "$shadow_file" ] && fail "unload left $shadow_file"

pw_test_done
