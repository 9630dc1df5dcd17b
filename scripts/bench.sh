#!/usr/bin/env bash
# Benchmarks the chat server with chat-bench (see cmd/chat-bench and
# chat/README.md#chat-bench): our chat-server in p2p mode at 100 and at 1000
# clients, then the same 100-client run against the handout-style Python
# server (testdata/handout/chatroom_p2p_server.py), and a last line with the
# ratios ours/Python. Each run gets a fresh server on a free loopback port;
# every server it starts is stopped on exit, Ctrl-C included.
#
# Environment: DURATION (fan-out phase per run, default 10s), SENDERS
# (default 10) and RATE (messages/s per sender, default 25).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=bin
DURATION="${DURATION:-10s}"
SENDERS="${SENDERS:-10}"
RATE="${RATE:-25}"
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
	"$BIN/chat-bench" --server "127.0.0.1:$port" --mode p2p --clients "$clients" \
		--senders "$SENDERS" --rate "$RATE" --duration "$DURATION" --dialers "$dialers" \
		--timeout "$TIMEOUT" --server-pid "$server_pid" | tee "$tmp/$name"
	stop_server
}

# figure NAME FIELD prints deliveries/s, the join ramp in seconds, or
# "yes" when every message offered was delivered.
figure() {
	case $2 in
	deliveries) awk '/^deliveries\/s:/ {print $2}' "$tmp/$1" ;;
	ramp) awk '/^join ramp:/ {sub(/s,$/, "", $3); print $3}' "$tmp/$1" ;;
	complete) awk '/^fan-out:/ {split($(NF-1), d, "/"); print (d[1] == d[2] ? "yes" : "no")}' "$tmp/$1" ;;
	esac
}

echo "== machine: $(nproc) CPUs; uptime: $(uptime)"
run ours-100 100 32 "$BIN/chat-server" --mode p2p --listen 127.0.0.1:@PORT@ --quiet
run ours-1000 1000 32 "$BIN/chat-server" --mode p2p --listen 127.0.0.1:@PORT@ --quiet
if ((!have_python)); then
	echo
	echo "bench: python3 is not on PATH, so the handout server was not measured" >&2
	exit 1
fi
# The handout server reads each username with a blocking recv() and listens
# with a backlog of 10: clients must join one at a time.
run python-100 100 1 python3 testdata/handout/chatroom_p2p_server.py 127.0.0.1 @PORT@

echo
awk -v od="$(figure ours-100 deliveries)" -v pd="$(figure python-100 deliveries)" \
	-v oj="$(figure ours-100 ramp)" -v pj="$(figure python-100 ramp)" 'BEGIN {
	printf "ratio ours/python at 100 clients: deliveries/s %.2fx (%s vs %s), join ramp %.4fx (%ss vs %ss)\n",
		(pd > 0 ? od / pd : 0), od, pd, (pj > 0 ? oj / pj : 0), oj, pj
}'
if [[ $(figure ours-100 complete) == yes && $(figure python-100 complete) == yes ]]; then
	echo "note: both servers delivered every message offered, so deliveries/s is the offered load; raise RATE or SENDERS to find where one falls behind"
fi
