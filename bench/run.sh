#!/usr/bin/env bash
# Build and run the full pw-bench, print its table and keep a copy in
# bench/results/<date>.md with what was measured on what.
#
#   bench/run.sh [pw-bench options...]     e.g. --rounds 11
#
# BUILD_DIR chooses the meson build directory (default: build).  Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build"
fi
ninja -C "$build" bench/pw-bench

mkdir -p bench/results
out=bench/results/$(date +%Y-%m-%d).md
tmp=$out.tmp
trap 'rm -f "$tmp"' EXIT

{
	echo "# pw-bench $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
	echo "- kernel: $(uname -r)"
	echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) online"
	echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- command: pw-bench $*"
	echo
	echo '```text'
} >"$tmp"

# the table goes to the terminal and to the file; progress lines to stderr
"$build/bench/pw-bench" "$@" | tee -a "$tmp"
echo '```' >>"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "written: $out"
