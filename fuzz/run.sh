#!/usr/bin/env bash
# Build the fuzzers (fuzz/build.sh) and run each for a bounded time.
#
#   fuzz/run.sh [-t SECONDS] [-o OUTDIR] [NAME...]
#
# NAME is policy, inventory or classify (default: all three, run side by
# side).  Each run starts from the committed seeds (fuzz/corpus/NAME) and
# the shipped policies, inventories and profiles; what it learns goes to
# OUTDIR/corpus-NAME and is reused by the next run in the same OUTDIR.
# One line per fuzzer, "fuzz NAME: passed|failed ...", and a crash keeps
# its input as OUTDIR/artifacts/NAME-crash-* with the command that replays
# it.  Exits 1 when any fuzzer crashed, leaked, hit undefined behaviour,
# broke an invariant or timed out.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
out=build-fuzz
while getopts "t:o:" opt; do
	case $opt in
	t) seconds=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-o OUTDIR] [NAME...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(policy inventory classify)

fuzz/build.sh "$out" || exit 1
out=$(cd "$out" && pwd)
mkdir -p "$out/artifacts"

# Seed directories per fuzzer, besides fuzz/corpus/NAME.
seeds_policy=(policies)
seeds_inventory=(policies/examples)
seeds_classify=()

# UBSan aborts at the first report (the build uses -fno-sanitize-recover);
# libFuzzer itself turns on leak detection.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
	local name=$1
	local bin=$out/fuzz_$name sandbox=$out/sandbox-$name
	local -n extra=seeds_$name
	local dict=()

	[ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
	rm -rf "$sandbox"
	mkdir -p "$sandbox" "$out/corpus-$name"
	PW_FUZZ_WORKDIR=$sandbox PW_SOURCE_ROOT=$PWD "$bin" \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" \
		"${dict[@]}" "$out/corpus-$name" "fuzz/corpus/$name" \
		"${extra[@]}" >"$out/$name.log" 2>&1
}

# A summary line from libFuzzer's final statistics.
stats() {
	local log=$1 runs rate
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	echo "${runs:-?} runs, ${rate:-?}/s"
}

declare -A pid
for n in "${names[@]}"; do
	if [ ! -f "fuzz/fuzz_$n.c" ]; then
		echo "fuzz/run.sh: no fuzzer '$n'" >&2
		exit 2
	fi
	run_one "$n" &
	pid[$n]=$!
done

rc=0
for n in "${names[@]}"; do
	if wait "${pid[$n]}"; then
		echo "fuzz $n: passed ($(stats "$out/$n.log"), ${seconds}s)"
		continue
	fi
	rc=1
	echo "fuzz $n: failed; last lines of $out/$n.log:"
	grep -v '^#[0-9]' "$out/$n.log" | tail -n 40 | sed 's/^/    /'
	for a in $(grep -o "artifact_prefix='[^']*'; Test unit written to [^ ]*" \
		"$out/$n.log" | sed 's/.* //'); do
		echo "    replay: PW_SOURCE_ROOT=$PWD $out/fuzz_$n $a"
	done
done
exit $rc
