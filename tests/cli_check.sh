#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# cli_check.sh PORTWARDEN - "portwarden check" and the CLI frame, end to end.
# Run from the source root (meson does).  Every policy is checked for every
# role it declares, as text and as JSON, without and with all of its tags;
# every profile is checked; then the error paths: malformed input, unknown
# roles and options, JSON errors, exit statuses.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init cli_check "$@"

valid_json() {
	if ! python3 -m json.tool "$tmp/out" >/dev/null 2>"$tmp/jerr"; then
		fail "not valid JSON: $*"
		head -c 300 "$tmp/out" >&2
		echo >&2
		return 1
	fi
	return 0
}

# json_has EXPR...: each python expression over d (the parsed document) is
# true; also checks that stdout is valid JSON.  One python run for all.
json_has() {
	if ! python3 - "$tmp/out" "$@" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		bad = [e for e in sys.argv[2:] if not eval(e)]
		for e in bad:
		    print("JSON lacks: " + e, file=sys.stderr)
		sys.exit(1 if bad else 0)
	EOF
	then
		fail "JSON check failed (above)"
		return 1
	fi
	return 0
}

names() { # names KEYWORD FILE: the names a policy declares
	awk -v kw="$1" '$1 == kw { print $2 }' "$2"
}

# ------------------------------------------------------------ policies --

for policy in policies/*.policy; do
	product=$(basename "$policy" .policy)
	inventory=policies/examples/$product.inventory
	alltags=$(names tag "$policy" | paste -sd, -)
	roles=$(names role "$policy")
	[ -n "$roles" ] || fail "$policy declares no roles"
	for role in $roles; do
		for tags in "" "$alltags"; do
			args=(check --policy "$policy" --inventory "$inventory" --role "$role")
			[ -n "$tags" ] && args+=(--tag "$tags")

			run 0 "$pw" "${args[@]}" || continue
			grep -q '^DIR ' "$tmp/out" || fail "no rule table: ${args[*]}"
			grep -q 'digest' "$tmp/out" || fail "no summary: ${args[*]}"

			run 0 "$pw" -j "${args[@]}" || continue
			valid_json "${args[*]}" || continue
			json_has "isinstance(d['rules'], list) and isinstance(d['warnings'], list)" \
				"d['host']['roles'] == ['$role']" \
				"len(d['summary']['digest']) == 16" \
				"all(r['direction'] in ('ingress', 'egress') for r in d['rules'])"
		done
	done
done

for profile in policies/profiles/*.profile; do
	run 0 "$pw" check --profile "$profile" || continue
	run 0 "$pw" check --profile "$profile" --pretty && valid_json "$profile"
done

# --------------------------------------------- facts about one policy --

rm_args=(--policy policies/replication-manager.policy
	 --inventory policies/examples/replication-manager.inventory)
if run 0 "$pw" check "${rm_args[@]}" --role repman -j; then
	json_has "any(l['ports'] == ['2003'] and l['protocols'] == ['tcp', 'udp'] for l in d['loopback'])" \
		"any(r['direction'] == 'ingress' and r['ports'] == ['10005'] and 'operator' in r['peers'] for r in d['rules'])" \
		"[x['id'] for x in d['summary']['roles'] if x['name'] == 'unknown'] == [0]"
fi
# JSON after the command, and the same digest both ways
run 0 "$pw" check "${rm_args[@]}" --role db --tag galera -j && valid_json "-j last" &&
	json_has "any(r['ports'] == ['4567'] and r['protocols'] == ['tcp', 'udp'] and r['tags'] == ['galera'] for r in d['rules'])"
digest_json=$(python3 -c "import json; print(json.load(open('$tmp/out'))['summary']['digest'])")
run 0 "$pw" check "${rm_args[@]}" --role db --tag galera
grep -q "digest *$digest_json" "$tmp/out" || fail "text and JSON digests differ"
# an abbreviated command
run 0 "$pw" ch "${rm_args[@]}" --role db

# a note that needs every kind of escape comes back intact
printf 'role a "a"\nallow tcp 80 from a to a note "say \\"hi\\" \\\\ tab\there \303\274"\n' \
	>"$tmp/escape.policy"
run 0 "$pw" check --policy "$tmp/escape.policy" --role a -j && valid_json "escapes" &&
	json_has "d['rules'][0]['note'] == 'say \"hi\" \\\\ tab\\there \\u00fc'"

# --------------------------------------------------------------- errors --

printf 'role a "a"\n\nallow tcp 99999 from a to a note "x"\n' >"$tmp/bad.policy"
if run 1 "$pw" check --policy "$tmp/bad.policy" --role a; then
	grep -q "bad.policy:3:[0-9][0-9]*: error:" "$tmp/err" ||
		fail "no file:line:col for a malformed policy"
fi
if run 1 "$pw" check --policy "$tmp/bad.policy" --role a -j; then
	valid_json "malformed, -j" && json_has "'error' in d and d['errors'][0]['line'] == 3"
	grep -q "bad.policy:3:" "$tmp/err" || fail "-j: diagnostics not on stderr"
fi
printf 'nosuchrole 198.18.0.1\n' >"$tmp/bad.inventory"
run 1 "$pw" check "${rm_args[0]}" "${rm_args[1]}" --inventory "$tmp/bad.inventory" --role db &&
	{ grep -q "bad.inventory:1:" "$tmp/err" || fail "no location for a bad inventory"; }

run 1 "$pw" check "${rm_args[@]}" --role nosuch &&
	{ grep -q "unknown role 'nosuch'" "$tmp/err" || fail "unknown role not named"; }
run 1 "$pw" check "${rm_args[@]}" --role db --tag nosuch -j && valid_json "unknown tag" &&
	json_has "'unknown tag' in d['error']"
run 1 "$pw" check "${rm_args[@]}"                     # no --role
run 1 "$pw" check --role db                           # no --policy
run 1 "$pw" check --policy /nonexistent/x.policy --role db
run 1 "$pw" check "${rm_args[@]}" --role db --bogus
run 1 "$pw" check "${rm_args[@]}" --role db --bogus -j && valid_json "unknown option" &&
	json_has "'--bogus' in d['error']"
run 1 "$pw" check "${rm_args[@]}" --role db stray-argument
run 1 "$pw" check --policy                            # missing value
run 1 "$pw" --bogus
run 1 "$pw" -j --bogus && valid_json "unknown global option"
run 1 "$pw" nosuchcommand
run 1 "$pw" -j nosuchcommand && valid_json "unknown command" && json_has "'error' in d"
run 1 "$pw"
run 1 "$pw" help nosuchcommand

# ----------------------------------------------------------------- help --

run 0 "$pw" help && { grep -q "check" "$tmp/out" || fail "help lists no check"; }
run 0 "$pw" --help
run 0 "$pw" help check && { grep -q -- "--profile" "$tmp/out" || fail "help check: no options"; }
run 0 "$pw" check --help
run 0 "$pw" -j help && valid_json "help -j"
run 0 "$pw" --version && { grep -q "^portwarden " "$tmp/out" || fail "--version"; }

pw_test_done
