#!/usr/bin/env bash
# Build and run every benchmark, print the tables and keep them, with what
# was measured on what, in bench/results/<date>.md:
#
#   1. pw-bench: per-packet cost against floors and an LPM trie;
#   2. pw-bench --scaling: 10 .. 100,000 CIDRs and 10 .. 10,000 rules;
#   3. pw-flows: what the flow table costs on the XDP and tc hooks;
#   4. peers.sh: portwarden against xdp-filter (BPF_PROG_TEST_RUN) and, on
#      a veth pair fed by pw-gen, against nftables and iptables.
#
#   bench/run.sh [--quick]
#
# BUILD_DIR chooses the meson build directory (default: build).  Needs
# root; installs the peers' packages first (bench/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build}
quick=()
pw_args=()
if [ "${1:-}" = --quick ]; then
	quick=(--quick)
	pw_args=(--quick)
fi

bench/setup.sh
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build"
fi
ninja -C "$build" portwarden bench/pw-bench bench/pw-peers bench/pw-gen \
	bench/pw-flows

mkdir -p bench/results
out=bench/results/$(date +%Y-%m-%d).md
tmp=$out.tmp
trap 'rm -f "$tmp"' EXIT

dirty=""
git diff --quiet HEAD -- bpf include user bench meson.build 2>/dev/null ||
	dirty=" (with local changes)"
{
	echo "# Benchmarks $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty"
	echo "- kernel: $(uname -r)"
	echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) online"
	echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- command: bench/run.sh ${quick[*]}"
	echo
	echo "## pw-bench"
	echo
	echo '```text'
} >"$tmp"

# tables go to the terminal and to the file; progress lines to stderr
"$build/bench/pw-bench" "${pw_args[@]}" | tee -a "$tmp"
{
	echo '```'
	echo
	echo "## Scaling (pw-bench --scaling)"
	echo
} >>"$tmp"
"$build/bench/pw-bench" --scaling "${pw_args[@]}" | tee -a "$tmp"
{
	echo
	echo "## Flows (pw-flows)"
	echo
	echo '```text'
} >>"$tmp"
flows_args=()
[ ${#quick[@]} -gt 0 ] && flows_args=(--rounds 3 --repeat 200000)
"$build/bench/pw-flows" "${flows_args[@]}" | tee -a "$tmp"
echo '```' >>"$tmp"
echo >>"$tmp"
BUILD_DIR=$build bench/peers.sh "${quick[@]}" | tee -a "$tmp"
echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$tmp"

mv "$tmp" "$out"
trap - EXIT
echo "written: $out"
