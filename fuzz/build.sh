#!/usr/bin/env bash
# Build the libFuzzer harnesses (fuzz/fuzz_*.c) with clang, ASan and UBSan
# into OUTDIR (default: build-fuzz), apart from the meson build: the
# parser, compiler and classifier sources are compiled here again with
# coverage instrumentation, so the normal gcc build is never touched.
#
#   fuzz/build.sh [OUTDIR]     ->  OUTDIR/fuzz_policy, fuzz_inventory, fuzz_classify
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-build-fuzz}
mkdir -p "$out/obj"

cc=${FUZZ_CC:-clang}
# The user-space sources the harnesses reach; nothing that needs libbpf.
lib_sources=(addr diag lexer policy inventory profile compile classify)
harnesses=(fuzz_policy fuzz_inventory fuzz_classify)

# UBSan stops at the first report (-fno-sanitize-recover), so that
# libFuzzer keeps the input like any crash.
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all)
cflags=(-std=gnu11 -g -O1 -fno-omit-frame-pointer
	-Wall -Wextra -Wno-unused-parameter -Werror
	-D_GNU_SOURCE "-DPW_VERSION=\"fuzz\"" "-DPW_SOURCE_ROOT=\"$root\""
	-Iinclude -Iuser -Ifuzz)

# Compile one source to an object when the object is older than the
# source or any header it could include.
compile() {
	local src=$1 obj=$2 mode=$3
	local newest
	newest=$(ls -t "$src" include/*.h user/*.h fuzz/*.h "$0" | head -n1)
	if [ -f "$obj" ] && [ "$obj" -nt "$newest" ]; then
		return 0
	fi
	"$cc" "${cflags[@]}" "${sanitize[@]}" "$mode" -c "$src" -o "$obj"
}

pids=()
for s in "${lib_sources[@]}"; do
	compile "user/$s.c" "$out/obj/$s.o" -fsanitize=fuzzer-no-link &
	pids+=($!)
done
for h in fuzz_common "${harnesses[@]}"; do
	compile "fuzz/$h.c" "$out/obj/$h.o" -fsanitize=fuzzer-no-link &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do
	wait "$p" || rc=1
done
[ "$rc" -eq 0 ] || { echo "fuzz/build.sh: compile failed" >&2; exit 1; }

objs=("$out/obj/fuzz_common.o")
for s in "${lib_sources[@]}"; do
	objs+=("$out/obj/$s.o")
done
for h in "${harnesses[@]}"; do
	"$cc" "${sanitize[@]}" -fsanitize=fuzzer "$out/obj/$h.o" "${objs[@]}" \
		-o "$out/$h"
done
echo "fuzz/build.sh: built ${harnesses[*]} in $out"
