#!/usr/bin/env bash
# Install what the peer benchmarks need on Debian 12 (bench/peers.sh):
# they are not CI's dependencies, so scripts/setup.sh does not list them.
# Idempotent: a second run installs nothing.
set -euo pipefail

packages=(
	xdp-tools # xdp-filter: the peer XDP filter
	nftables  # nft: the nftables peer
	iptables  # iptables-legacy and iptables-nft: the iptables peers
	ethtool   # veth queue counters, GRO
	jq        # reading `ip -j` and `bpftool -j`
	iproute2 procps util-linux
)

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/setup.sh: run as root (apt-get needs it)" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "bench/setup.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
