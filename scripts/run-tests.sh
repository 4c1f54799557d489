#!/usr/bin/env bash
# Build and run every test suite.  Exits non-zero if any test fails.
# Ends with one summary line, "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh || exit 1
meson test -C build --print-errorlogs "$@"
rc=$?
# meson (a python program) writes one JSON object per test; count them.
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
n = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    key = r if r in n else ("FAIL" if r not in ("EXPECTEDFAIL",) else "OK")
    n[key] += 1
print(f"tests: {n['OK']} passed, {n['FAIL']} failed, {n['SKIP']} skipped")
PY
exit $rc
