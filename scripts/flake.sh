#!/usr/bin/env bash
# make flake: every correct fixture graded again and again; any failed
# check is a flake. With NOISY=1 the runs go beside a CPU hog that this
# script starts and always stops (Debian's stress-ng):
#   1. a hog on one of the cores, at the default flags, 10 runs: every
#      required check must pass every time;
#   2. a hog on every core, at --parallel 4, 3 runs: no check may FAIL. An
#      ERROR (no verdict: the machine was too busy to judge, no points
#      taken, grade again) is allowed, and counted.
# Each run prints a "flake:" line with its checks, failures, ERRORs and
# the time scenarios waited for the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
run() { # count, then env assignments
	local count=$1
	shift
	env "$@" "$GO" test -race -v -count="$count" -run '^TestGradeCorrectFixtures$' -timeout 180m ./grading/
}
if [ "${NOISY:-}" != 1 ]; then
	run "${COUNT:-10}"
	exit
fi
./scripts/host-deps.sh stress-ng
hog=
stop_hog() {
	if [ -n "$hog" ]; then
		kill "$hog" 2>/dev/null || true
		wait "$hog" 2>/dev/null || true
		hog=
	fi
}
trap stop_hog EXIT INT TERM
cpus=$(nproc)

echo "flake: phase 1: a hog on 1 of $cpus cores, default flags, ${COUNT:-10} runs" >&2
stress-ng --cpu 1 --timeout 0 --quiet &
hog=$!
run "${COUNT:-10}"
stop_hog

echo "flake: phase 2: a hog on all $cpus cores, --parallel 4, ${COUNT_ALL:-3} runs (ERROR allowed, FAIL not)" >&2
stress-ng --cpu "$cpus" --timeout 0 --quiet &
hog=$!
run "${COUNT_ALL:-3}" LAB3_PARALLEL=4 LAB3_ALLOW_ERROR=1
