#!/usr/bin/env bash
# Build and run every test.  Exits non-zero if any test fails.
#
#   1. the meson suites of the normal (gcc) build in ./build;
#   2. the suites again, built with ASan and UBSan in ./build-asan (leaks
#      and undefined behaviour fail the test), but those in sanitize_skip;
#   3. each libFuzzer harness (fuzz/) for FUZZ_SECONDS (60) seconds,
#      built with clang in ./build-fuzz; a crash fails it.
#
# Arguments go to the first meson test (e.g. a suite name).  PW_SANITIZE=0
# or PW_FUZZ=0 leave out parts 2 or 3.  Ends with one summary line,
# "tests: N passed, N failed, N skipped", over all three parts: each meson
# test of either build counts once, and so does each fuzzer.
set -uo pipefail
cd "$(dirname "$0")/.."

# Every suite runs under the sanitizers but this one: valgrind cannot run
# an ASan binary.
sanitize_skip=(valgrind-cli)

passed=0
failed=0
skipped=0
rc=0

# Add the results of a meson test log (one JSON object per test).
count_meson() {
	local counts
	counts=$(python3 - "$1" <<'PY'
import json, sys
n = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    key = r if r in n else ("OK" if r == "EXPECTEDFAIL" else "FAIL")
    n[key] += 1
print(n["OK"], n["FAIL"], n["SKIP"])
PY
	) || return 1
	set -- $counts
	passed=$((passed + $1))
	failed=$((failed + $2))
	skipped=$((skipped + $3))
}

# A part that could not even start counts as one failed test.
part_failed() {
	echo "run-tests: $1" >&2
	failed=$((failed + 1))
	rc=1
}

# ------------------------------------------------------ 1. gcc build --
scripts/build.sh || exit 1
meson test -C build --print-errorlogs "$@" || rc=1
count_meson build/meson-logs/testlog.json || part_failed "no meson test log"

# ---------------------------------------------------- 2. ASan + UBSan --
run_sanitized() {
	local dir=build-asan have=() list s
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Db_sanitize=address,undefined \
			-Db_lundef=false >/dev/null ||
			{ part_failed "meson setup $dir failed"; return; }
	fi
	ninja -C "$dir" >"$dir/ninja.log" 2>&1 || {
		tail -n 30 "$dir/ninja.log"
		part_failed "sanitizer build failed"
		return
	}
	list=" ${sanitize_skip[*]} "
	for s in $(meson test -C "$dir" --no-rebuild --list 2>/dev/null); do
		[[ $list == *" $s "* ]] || have+=("$s")
	done
	if [ "${#have[@]}" -eq 0 ]; then
		part_failed "no suite to run under the sanitizers"
		return
	fi
	echo "run-tests: under ASan and UBSan: ${have[*]}"
	echo "run-tests: not under the sanitizers: ${sanitize_skip[*]}"
	# The sanitizers slow a suite down two to five times.
	ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C "$dir" --no-rebuild --print-errorlogs \
		--timeout-multiplier 3 "${have[@]}" || rc=1
	count_meson "$dir/meson-logs/testlog.json" ||
		part_failed "no sanitizer test log"
}

# ---------------------------------------------------------- 3. fuzzing --
run_fuzzers() {
	local log=build-fuzz/run.log status n
	mkdir -p build-fuzz
	fuzz/run.sh -t "${FUZZ_SECONDS:-60}" -o build-fuzz 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	n=$(grep -c '^fuzz [a-z]*: passed' "$log")
	passed=$((passed + n))
	n=$(grep -c '^fuzz [a-z]*: failed' "$log")
	failed=$((failed + n))
	if [ "$status" -ne 0 ]; then
		rc=1
		# a build failure leaves no line per fuzzer
		grep -q '^fuzz [a-z]*:' "$log" ||
			part_failed "the fuzzers did not build"
	fi
}

echo "run-tests: gcc build and suites: $SECONDS s"
start=$SECONDS
[ "${PW_SANITIZE:-1}" = 0 ] || run_sanitized
echo "run-tests: sanitizer build and suites: $((SECONDS - start)) s"
start=$SECONDS
[ "${PW_FUZZ:-1}" = 0 ] || run_fuzzers
echo "run-tests: fuzzers: $((SECONDS - start)) s"

echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || rc=1
exit $rc
