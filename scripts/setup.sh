#!/usr/bin/env bash
# Install what portwarden needs to build and test on Debian 12, and mount
# bpffs.  Idempotent: a second run installs nothing and changes nothing.
set -euo pipefail

packages=(
	build-essential pkg-config meson ninja-build
	clang llvm bpftool
	libclang-rt-14-dev valgrind # fuzz/: libFuzzer and sanitizers; tests/valgrind_cli.sh
	libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
	libcmocka-dev
	libmicrohttpd-dev # portwarden exporter's HTTP server
	iproute2 util-linux
	prometheus # promtool: tests check the stats --prometheus output
	nftables iptables # export: nft -c / iptables-restore --test, netns tests
)

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: run as root (apt-get and mount need it)" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "setup.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# bpffs: the loader pins maps and links there.
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
	echo "setup.sh: mounted bpffs at /sys/fs/bpf"
fi
