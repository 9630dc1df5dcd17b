#!/usr/bin/env bash
# Gives each network namespace made from now on (each lab host) small TCP
# and UDP socket tables of its own instead of the kernel's global ones.
# The grader's agent reads every host's socket tables dozens of times a
# second, and each read of a shared table walks all of it (262,144 buckets
# on a 24 GiB machine): on one full grade the agents took 27 of 58
# CPU-seconds with the shared tables, 6 of 42 with these (grading's
# SocketTableSysctls). Namespaces that exist already, and the host's own,
# keep theirs. Not persistent; undo with the same keys set to 0.
# Idempotent and quiet when already set; a hint, never a failure, where it
# cannot be set (no root, an older kernel).
set -uo pipefail

settings=(net.ipv4.tcp_child_ehash_entries=1024 net.ipv4.udp_child_hash_entries=256)
todo=()
for kv in "${settings[@]}"; do
	key=${kv%%=*}
	file=/proc/sys/${key//.//}
	[ -r "$file" ] || continue # kernel older than 6.1/6.2: nothing to tune
	[ "$(cat "$file")" = 0 ] && todo+=("$kv")
done
[ ${#todo[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! sudo -n true 2>/dev/null; then
		echo "host-tune: lab hosts share the kernel's socket tables (grading costs more CPU); to give them their own: sudo sysctl -w ${todo[*]}" >&2
		exit 0
	fi
	sudo="sudo -n"
fi
if $sudo sysctl -qw "${todo[@]}" 2>/dev/null; then
	echo "host-tune: lab hosts made from now on get socket tables of their own (${todo[*]}; not persistent)"
else
	echo "host-tune: could not set ${todo[*]} (a container without the right?): grading works, at more CPU" >&2
fi
exit 0
