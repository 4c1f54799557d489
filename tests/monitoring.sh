#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# monitoring.sh PORTWARDEN - the files that monitor portwarden: the alert
# rules pass `promtool check rules` and their unit tests (`promtool test
# rules`, tests/prometheus_rules.test.yml); the Grafana dashboard is valid
# JSON with its variables; every metric the rules and the dashboard name is
# documented in docs/metrics.md, and docs/metrics.md lists exactly the
# families `portwarden exporter --once` writes.
#
# No root needed; exits 77 when promtool or python3 is missing.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init monitoring "$@"
need_tools promtool python3

rules=$src/contrib/prometheus/portwarden.rules.yml
dashboard=$src/contrib/grafana/portwarden.json
metrics_md=$src/docs/metrics.md

# passes DESCRIPTION CMD...: CMD must exit 0 (its output shown if not)
passes() {
	local what=$1
	shift
	checked
	if ! "$@" >"$tmp/out" 2>&1; then
		fail "$what"
		sed 's/^/    /' "$tmp/out" | head -40 >&2
	fi
}

passes "promtool check rules" promtool check rules "$rules"
# the test file names the rules relative to itself
passes "promtool test rules" \
	bash -c "cd '$src/tests' && promtool test rules prometheus_rules.test.yml"

passes "dashboard structure" python3 - "$dashboard" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
variables = {v["name"]: v for v in d["templating"]["list"]}
assert variables["datasource"]["type"] == "datasource", variables
assert variables["datasource"]["query"] == "prometheus", variables
for name in ("instance", "iface", "role"):
    assert variables[name]["type"] == "query", name
    assert variables[name]["datasource"]["uid"] == "${datasource}", name
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), ids
titles = {p["title"] for p in d["panels"]}
for want in ("Packets by verdict", "Violations by role and port", "Drops",
             "Top undocumented ports", "Unused allow rules",
             "Policy in force", "Flow table usage", "Violation events"):
    assert want in titles, want
for p in d["panels"]:
    assert "gridPos" in p, p["title"]
    for t in p.get("targets", []):
        assert t["datasource"]["uid"] == "${datasource}", p["title"]
        assert "portwarden_" in t["expr"], (p["title"], t["expr"])
EOF

# The families docs/metrics.md documents: the first column of its tables.
sed -n 's/^| `\(portwarden_[a-z_]*\)` |.*/\1/p' "$metrics_md" | sort -u \
	>"$tmp/documented"

# Every metric that a rule or a panel names is documented.
checked
grep -oh 'portwarden_[a-z_]*' "$rules" "$dashboard" | sort -u >"$tmp/used"
missing=$(comm -23 "$tmp/used" "$tmp/documented")
[ -z "$missing" ] || fail "used but not in docs/metrics.md: $missing"

# What the exporter writes is what docs/metrics.md lists.
if "$pw" exporter --once >"$tmp/once" 2>"$tmp/once.err"; then
	checked
	sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$tmp/once" | sort >"$tmp/written"
	undocumented=$(comm -23 "$tmp/written" "$tmp/documented")
	[ -z "$undocumented" ] || fail "written but not documented: $undocumented"
	checked
	unwritten=$(comm -13 "$tmp/written" "$tmp/documented")
	[ -z "$unwritten" ] || fail "documented but not written: $unwritten"
	passes "promtool check metrics (exporter --once)" \
		bash -c "promtool check metrics <'$tmp/once'"
else
	echo "monitoring: 'portwarden exporter --once' failed ($(cat "$tmp/once.err")); family list not compared"
fi

pw_test_done
