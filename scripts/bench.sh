#!/usr/bin/env bash
# Benchmarks the chat server with chat-bench (see cmd/chat-bench and
# chat/README.md#chat-bench): our chat-server and the handout-style Python
# select() server (testdata/handout/), one after the other in the same run,
# each with CLIENTS clients in MODE. For each it prints the join ramp,
# deliveries/s, p50/p99/max latency, the server's RSS and its CPU time
# (utime+stime from /proc/PID/stat) per million deliveries, then the ratios
# ours/Python against the targets of issue 15. Each run gets a fresh server
# on a free loopback port; every server it starts is stopped on exit, Ctrl-C
# included.
#
# Environment: MODE (chatroom or p2p, default chatroom), CLIENTS (default
# 1000), DURATION (fan-out phase per run, default 5s), SENDERS (default 100)
# and RATE (messages/s per sender, default 4).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=bin
MODE="${MODE:-chatroom}"
CLIENTS="${CLIENTS:-1000}"
DURATION="${DURATION:-5s}"
SENDERS="${SENDERS:-100}"
RATE="${RATE:-4}"
case $MODE in
chatroom) PYSERVER=testdata/handout/chatroom_server.py ;;
p2p) PYSERVER=testdata/handout/chatroom_p2p_server.py ;;
*)
	echo "bench: MODE=$MODE: want chatroom or p2p" >&2
	exit 2
	;;
esac
# Bounds the join ramp and the drain of each run, so a stuck run cannot
# take the whole budget.
TIMEOUT=90s

servers=()
tmp=$(mktemp -d)
cleanup() {
	for pid in "${servers[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${servers[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Build the two binaries unless they are newer than every Go source they
# are made from.
need_build=0
for b in chat-server chat-bench; do
	if [[ ! -x $BIN/$b ]] ||
		[[ -n $(find chat "cmd/$b" go.mod go.sum -newer "$BIN/$b" \( -name '*.go' ! -name '*_test.go' -o -name 'go.*' \) -print -quit) ]]; then
		need_build=1
	fi
done
if ((need_build)); then
	echo "== building $BIN/chat-server and $BIN/chat-bench"
	mkdir -p "$BIN"
	CGO_ENABLED=0 go build -trimpath -o "$BIN/" ./cmd/chat-server ./cmd/chat-bench
fi

have_python=0
if command -v python3 >/dev/null; then
	have_python=1
fi

# free_port prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
	if ((have_python)); then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	else
		echo $((20000 + RANDOM % 40000))
	fi
}

# start_server PORT CMD... starts CMD in the background and waits until it
# accepts connections on 127.0.0.1:PORT. It sets server_pid, or returns 1
# when CMD exited first (the port was taken).
start_server() {
	local port=$1
	shift
	"$@" >/dev/null 2>"$tmp/server.log" &
	server_pid=$!
	servers+=("$server_pid")
	local deadline=$((SECONDS + 15))
	while ((SECONDS < deadline)); do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "bench: server did not listen on 127.0.0.1:$port within 15s: $*" >&2
	cat "$tmp/server.log" >&2
	exit 1
}

# stop_server stops the server of the last run.
stop_server() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
}

# run NAME CLIENTS DIALERS SERVER-ARGS... benchmarks a fresh server and
# keeps chat-bench's report in $tmp/NAME.
run() {
	local name=$1 clients=$2 dialers=$3
	shift 3
	local port attempt
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		local cmd=()
		for a in "$@"; do
			cmd+=("${a//@PORT@/$port}")
		done
		if start_server "$port" "${cmd[@]}"; then
			break
		fi
		if ((attempt == 5)); then
			echo "bench: could not start: ${cmd[*]}" >&2
			cat "$tmp/server.log" >&2
			exit 1
		fi
	done
	echo
	echo "== $name: $clients clients, $SENDERS senders x $RATE msg/s for $DURATION (server pid $server_pid)"
	"$BIN/chat-bench" --server "127.0.0.1:$port" --mode "$MODE" --clients "$clients" \
		--senders "$SENDERS" --rate "$RATE" --duration "$DURATION" --dialers "$dialers" \
		--timeout "$TIMEOUT" --server-pid "$server_pid" | tee "$tmp/$name"
	stop_server
}

# figure NAME FIELD prints one figure of a run's report.
figure() {
	case $2 in
	deliveries) awk '/^deliveries\/s:/ {print $2}' "$tmp/$1" ;;
	ramp) awk '/^join ramp:/ {sub(/s,$/, "", $3); print $3}' "$tmp/$1" ;;
	p99) awk '/^latency:/ {sub(/ms$/, "", $5); print $5}' "$tmp/$1" ;;
	cpu) awk '/^server CPU:/ {sub(/s$/, "", $3); print $3}' "$tmp/$1" ;;
	hwm) awk '/^server memory:/ {print $4}' "$tmp/$1" ;;
	complete) awk '/^fan-out:/ {split($(NF-1), d, "/"); print (d[1] == d[2] ? "yes" : "no")}' "$tmp/$1" ;;
	esac
}

echo "== machine: $(nproc) CPUs; uptime: $(uptime)"
run ours "$CLIENTS" 32 "$BIN/chat-server" --mode "$MODE" --listen 127.0.0.1:@PORT@ --quiet
if ((!have_python)); then
	echo
	echo "bench: python3 is not on PATH, so the handout server was not measured" >&2
	exit 1
fi
# The handout server reads each username with a blocking recv() and listens
# with a backlog of 10: clients must join one at a time.
run python "$CLIENTS" 1 python3 "$PYSERVER" 127.0.0.1 @PORT@

echo
echo "== ours vs python, $CLIENTS clients, $MODE mode"
awk -v oc="$(figure ours cpu)" -v pc="$(figure python cpu)" \
	-v op="$(figure ours p99)" -v pp="$(figure python p99)" \
	-v oj="$(figure ours ramp)" -v pj="$(figure python ramp)" \
	-v od="$(figure ours deliveries)" -v pd="$(figure python deliveries)" \
	-v oh="$(figure ours hwm)" 'BEGIN {
	printf "%-34s %10s %10s %8s  %s\n", "", "ours", "python", "ratio", "target"
	printf "%-34s %10.3f %10.3f %8.3f  <= 0.333 %s\n", "server CPU s per million deliveries", oc, pc, (pc > 0 ? oc / pc : 0), (pc > 0 && oc / pc <= 1 / 3 ? "met" : "NOT met")
	printf "%-34s %10.1f %10.1f %8.3f  <= 0.100 %s\n", "p99 latency ms", op, pp, (pp > 0 ? op / pp : 0), (pp > 0 && op / pp <= 0.1 ? "met" : "NOT met")
	printf "%-34s %10.2f %10.2f %8.3f  <= 1.000 %s\n", "join ramp s", oj, pj, (pj > 0 ? oj / pj : 0), (pj > 0 && oj / pj <= 1 ? "met" : "NOT met")
	printf "%-34s %10.0f %10.0f %8.3f\n", "deliveries/s", od, pd, (pd > 0 ? od / pd : 0)
	printf "%-34s %10.1f %10s %8s  <= 150 MB %s\n", "server peak RSS MB (VmHWM)", oh, "", "", (oh > 0 && oh <= 150 ? "met" : "NOT met")
}'
if [[ $(figure ours complete) == yes && $(figure python complete) == yes ]]; then
	echo "note: both servers delivered every message offered, so deliveries/s is the offered load; raise RATE or SENDERS to find where one falls behind"
fi
