#!/usr/bin/env bash
# portwarden against its peers (bench/README.md, "Peers"): prints markdown.
#
#   bench/peers.sh [--quick]
#
# 1. BPF_PROG_TEST_RUN, same frames, same run: the empty XDP program,
#    portwarden (enforce) and xdp-filter loaded on a veth with the nearest
#    rules (pw-peers).
# 2. Live traffic on a veth pair between two namespaces: pw-gen transmits
#    the traffic mix with BPF_F_TEST_XDP_LIVE_FRAMES from one namespace;
#    the other one (lab host db1) runs no filter, portwarden enforce, the
#    same policy in nftables, in iptables-legacy and in iptables-nft.
#
# BUILD_DIR chooses the meson build directory (default: build); it must
# hold bench/pw-peers, bench/pw-gen and portwarden.  Needs root and the
# packages of bench/setup.sh.  Only 198.18.0.0/15 and 2001:db8::/32 are
# used, inside namespaces this script creates and always removes.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build}
profile=policies/profiles/db-host.profile
pw=$build/portwarden
peers=$build/bench/pw-peers
gen=$build/bench/pw-gen

quick=false
[ "${1:-}" = --quick ] && quick=true
if $quick; then
	tr_args=(--repeat 100000 --rounds 1)
	live_seconds=1
	live_rounds=1
else
	tr_args=(--repeat 1000000 --rounds 5)
	live_seconds=5
	live_rounds=3
fi
# offered loads of the live runs: a fixed rate every receiver sustains,
# then as fast as the generator goes (0)
read -r -a live_rates <<<"${PEERS_RATES:-100000 0}"

# namespaces and interfaces of this script only
ns_xf=pwb-xf ns_gen=pwb-gen ns_rx=pwb-rx
if_xf=pwbxf0 if_gen=pwbg0 if_rx=pwbr0
gen_cpu=0
rt_prio=10
rx_cpu=$(($(nproc) - 1))

log() { echo "peers.sh: $*" >&2; }
die() { log "$*"; exit 1; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# pw-gen in the generator's namespace, at real-time priority
gen_rt() { chrt -f "$rt_prio" ip netns exec "$ns_gen" "$gen" "$@"; }

teardown() {
	"$pw" unload --netns "$ns_rx" --iface "$if_rx" >/dev/null 2>&1 || true
	for ns in "$ns_xf" "$ns_gen" "$ns_rx"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}
live_raw=$(mktemp)
trap 'teardown; rm -f "$live_raw"' EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root"
for tool in xdp-filter nft iptables-legacy-restore iptables-nft-restore \
	ethtool jq bpftool; do
	command -v "$tool" >/dev/null || die "$tool missing: run bench/setup.sh"
done
for f in "$pw" "$peers" "$gen"; do
	[ -x "$f" ] || die "$f missing: ninja -C $build"
done
teardown

# ------------------------------------------------- 1. BPF_PROG_TEST_RUN --

# xdp-filter pins its maps under bpffs: give it a private bpffs (the
# mount namespace of `ip netns exec`), so nothing of it outlives the run
# but the program attached to the veth, which goes with the namespace.
load_xdp_filter() {
	local rules
	rules=$("$peers" rules --profile "$profile" | sort -u)
	# shellcheck disable=SC2016
	in_ns "$ns_xf" sh -ec '
		mount -t bpf bpf /sys/fs/bpf
		xdp-filter load --mode native --policy deny \
			--features tcp,udp,ipv4,ipv6 "$1"
		echo "$2" | while read -r args; do
			[ -n "$args" ] && xdp-filter $args
		done
		xdp-filter status' sh "$if_xf" "$rules" >&2
}

testrun_section() {
	local id name
	ip netns add "$ns_xf"
	ip -n "$ns_xf" link add "$if_xf" type veth peer name "${if_xf}p"
	ip -n "$ns_xf" link set "$if_xf" up
	ip -n "$ns_xf" link set "${if_xf}p" up
	load_xdp_filter
	id=$(in_ns "$ns_xf" bpftool -j net show dev "$if_xf" | jq '.[0].xdp[0].id')
	if [ -z "$id" ] || [ "$id" = null ]; then
		die "xdp-filter is not attached"
	fi
	name=$(bpftool -j prog show id "$id" | jq -r .name)
	log "xdp-filter: program $name (id $id)"

	echo "## Against xdp-filter: BPF_PROG_TEST_RUN"
	echo
	echo "xdp-filter (xdp-tools $(dpkg-query -W -f='${Version}' xdp-tools)):" \
		"\`xdp-filter load --policy deny --features tcp,udp,ipv4,ipv6\`" \
		"(program \`$name\`), then one \`xdp-filter port\` per ingress port" \
		"and one \`xdp-filter ip --mode src\` per peer address of" \
		"\`$profile\` (\`pw-peers rules\`)."
	echo
	for tcp in syn ack; do
		"$peers" testrun --profile "$profile" --prog-id "$id" --tcp "$tcp" \
			"${tr_args[@]}"
		echo
	done
	ip netns del "$ns_xf"
}

# ------------------------------------------------------- 2. live frames --

setup_pair() {
	local gmac
	ip netns add "$ns_gen"
	ip netns add "$ns_rx"
	ip link add "$if_gen" netns "$ns_gen" type veth peer name "$if_rx" \
		netns "$ns_rx"
	ip -n "$ns_gen" link set "$if_gen" up
	ip -n "$ns_rx" link set lo up
	ip -n "$ns_rx" link set "$if_rx" up
	ip -n "$ns_gen" addr add 198.19.255.254/32 dev "$if_gen"
	ip -n "$ns_rx" addr add 198.18.2.11/32 dev "$if_rx"
	ip -n "$ns_rx" route add 198.19.255.254/32 dev "$if_rx"
	ip -n "$ns_rx" route add default via 198.19.255.254 dev "$if_rx"
	gmac=$(ip -n "$ns_gen" -j link show "$if_gen" | jq -r '.[0].address')
	ip -n "$ns_rx" neigh replace 198.19.255.254 lladdr "$gmac" \
		dev "$if_rx" nud permanent
	# frames redirected into a veth need NAPI on the peer: GRO gives it
	# one without an XDP program.  Threaded NAPI moves the receive work
	# into a kernel thread we can pin and clock.
	in_ns "$ns_rx" ethtool -K "$if_rx" gro on >/dev/null
	in_ns "$ns_rx" sh -c "echo 1 > /sys/class/net/$if_rx/threaded"
}

have_export() { "$pw" help export >/dev/null 2>&1; }

# The profile's policy, enforcing, as a netfilter ruleset: nft | iptables
# | ip6tables.  `portwarden export` when the build has it, else the
# hand-written stand-in (stateless) of bench/rules/.
ruleset() {
	if have_export; then
		"$pw" export "--$1" --profile "$profile" --mode enforce
	else
		cat "bench/rules/db-host.$1"
	fi
}

apply_filter() {
	case $1 in
	none) ;;
	portwarden)
		"$pw" load --netns "$ns_rx" --iface "$if_rx" --profile "$profile" \
			--mode enforce --xdp-mode native >/dev/null ;;
	nftables)
		ruleset nft | in_ns "$ns_rx" nft -f - ;;
	iptables-legacy | iptables-nft)
		ruleset iptables | in_ns "$ns_rx" "$1-restore"
		ruleset ip6tables | in_ns "$ns_rx" "ip6${1#ip}-restore" ;;
	esac
}

# The receiving veth's NAPI thread (re-created when XDP is attached).
napi_pid() {
	ps -eo pid=,comm= | awk -v dev="napi/$if_rx-" \
		'index($2, dev) == 1 { print $1 }' | tail -n 1
}

runtime_ns() { # pid: CPU time so far (sum_exec_runtime)
	cut -d' ' -f1 "/proc/$1/schedstat"
}

ethtool_stat() { # ns dev name
	in_ns "$1" ethtool -S "$2" | awk -v k="$3:" '$1 == k { print $2 }'
}

snmp() { # name: IPv4 counter of the receiving namespace
	in_ns "$ns_rx" nstat -asz "$1" | awk -v k="$1" '$1 == k { print $2 }'
}

# key=value lines of every counter a live run reads
snapshot() {
	local napi=$1 ksoft=$2
	echo "rx=$(ethtool_stat "$ns_rx" "$if_rx" rx_queue_0_xdp_packets)"
	echo "lost=$(ethtool_stat "$ns_gen" "$if_gen" tx_queue_0_xdp_xmit_errors)"
	echo "delivered=$(snmp IpInDelivers)"
	echo "napi_ns=$(runtime_ns "$napi")"
	echo "ksoft_ns=$(runtime_ns "$ksoft")"
}

# One live run; prints a markdown row.
live_run() {
	local filter=$1 rate=$2 rmac napi ksoft out
	rmac=$(ip -n "$ns_rx" -j link show "$if_rx" | jq -r '.[0].address')
	napi=$(napi_pid)
	[ -n "$napi" ] || die "no NAPI thread for $if_rx"
	# real-time priority for the receive thread and the generator: the
	# machine may be busy, and a wake-up that waits for a time slice
	# overflows the veth ring (256 frames)
	taskset -pc "$rx_cpu" "$napi" >/dev/null
	chrt -f -p "$rt_prio" "$napi"
	ksoft=$(pgrep -x "ksoftirqd/$rx_cpu")
	# warm-up: caches, neighbour entries, page pool
	gen_rt --iface "$if_gen" --dst-mac "$rmac" \
		--seconds 0.3 --rate 50000 --cpu "$gen_cpu" >/dev/null
	local -A a b g
	while IFS='=' read -r k v; do a[$k]=$v; done < <(snapshot "$napi" "$ksoft")
	if [ "$rate" = 0 ]; then
		out=$(gen_rt --iface "$if_gen" --dst-mac "$rmac" \
			--seconds "$live_seconds" --cpu "$gen_cpu")
	else
		out=$(gen_rt --iface "$if_gen" --dst-mac "$rmac" \
			--seconds "$live_seconds" --rate "$rate" \
			--cpu "$gen_cpu")
	fi
	while IFS='=' read -r k v; do b[$k]=$v; done < <(snapshot "$napi" "$ksoft")
	while IFS='=' read -r k v; do g[$k]=$v; done <<<"$out"
	# filter rate seconds sent lost received delivered cpu_ns
	echo "$filter $rate ${g[seconds]} ${g[frames]} $((b[lost] - a[lost]))" \
		"$((b[rx] - a[rx])) $((b[delivered] - a[delivered]))" \
		"$((b[napi_ns] - a[napi_ns] + b[ksoft_ns] - a[ksoft_ns]))"
}

median() { # numbers on stdin
	sort -g | awk '{ v[NR] = $1 }
		END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The median over the rounds of each column, as a markdown row.
live_row() { # filter rate
	local per_run col
	local -a m
	per_run=$(awk -v f="$1" -v r="$2" '$1 == f && $2 == r {
		s = $3; rx = $6; dl = $7
		printf "%f %f %f %f %f %f %f %f\n", $4 / s, $5 / s, rx / s, dl / s,
			(rx - dl) / s, rx ? 100 * (rx - dl) / rx : 0, $8 / s / 1e7,
			rx ? $8 / rx : 0 }' "$live_raw")
	for col in 1 2 3 4 5 6 7 8; do
		m+=("$(awk -v c="$col" '{ print $c }' <<<"$per_run" | median)")
	done
	local lo hi
	lo=$(awk '{ print $8 }' <<<"$per_run" | sort -g | head -n 1)
	hi=$(awk '{ print $8 }' <<<"$per_run" | sort -g | tail -n 1)
	awk -v f="$1" -v r="$2" -v m="${m[*]}" -v lo="$lo" -v hi="$hi" 'BEGIN {
		split(m, v, " ")
		printf "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f%% | %.0f%% | %.0f (%.0f-%.0f) |\n",
			f, r == 0 ? "max" : sprintf("%.0fk", r / 1000),
			v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], lo, hi }'
}

live_section() {
	local filters=(none portwarden nftables iptables-legacy iptables-nft)
	local rules="hand-written, stateless (\`portwarden export\` missing)"
	have_export && rules="\`portwarden export --nft|--iptables|--ip6tables --mode enforce\`"

	echo "## Live traffic: veth pair, pw-gen (BPF_F_TEST_XDP_LIVE_FRAMES)"
	echo
	echo "Generator on CPU $gen_cpu in namespace $ns_gen; receiver (lab host" \
		"db1, 198.18.2.11) in $ns_rx, its veth NAPI thread pinned to CPU" \
		"$rx_cpu.  Traffic: the IPv4 flows of bench/bench_mix.c in turn" \
		"(half allowed, half violations)," \
		"source address and port varied per frame.  nftables and iptables" \
		"rules: $rules (bench/rules/ holds the hand-written ones)."
	echo "$live_seconds s per run, $live_rounds rounds (each filter in turn," \
		"a fresh pair each time); the medians, and the range of CPU ns/pkt."
	echo
	echo "| filter | offered | sent pps | lost at veth ring pps |" \
		"received pps | to L4 pps | dropped pps | dropped | receiver CPU |" \
		"CPU ns/pkt (min-max) |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for rate in "${live_rates[@]}"; do
		for round in $(seq "$live_rounds"); do
			for f in "${filters[@]}"; do
				log "live: $f at ${rate/#0/max} pps, round $round"
				setup_pair
				apply_filter "$f"
				live_run "$f" "$rate" >>"$live_raw"
				teardown
			done
		done
		for f in "${filters[@]}"; do
			live_row "$f" "$rate"
		done
	done
	echo
}

for section in ${PEERS_SECTIONS:-testrun live}; do
	"${section}_section"
done
