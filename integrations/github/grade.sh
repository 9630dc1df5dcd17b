#!/usr/bin/env bash
# Grades a Lab 3 submission the way the GitHub workflow (classroom.yml)
# does; the workflow runs nothing else, and grade_script_e2e_test.go runs
# this very script on a copy of testdata/students/faithful.
#
#   grade.sh [SUBMISSION]       grade the folder (default: the current one)
#   grade.sh --check NAME [K]   exit 0 when check NAME passed in the last
#                               grade; with K, when it scored at least K points
#
# Grading installs what is missing (make deps), builds the binaries, builds
# the lab's images offline on this machine (debootstrap and docker import,
# no registry) and runs lab grade. It writes, under LAB3_OUT:
#   junit.xml   the JUnit report
#   summary.md  the Markdown summary, also appended to $GITHUB_STEP_SUMMARY
#   results/    transcripts and report.json of every check (lab grade --results)
# and exits with lab grade's status: 0 every required check passed, 1 a
# required check failed, 3 a check could not be run (grade again).
#
# Environment: LAB3_DIR, the toolkit (default: two folders up from here);
# LAB3_OUT (default: ~/.cache/lab3-grade; on GitHub it is also the step's
# output "out"); LAB3_LAB_PREFIX, names of the graded labs (default:
# grade-<random>).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lab3=${LAB3_DIR:-$(cd "$here/../.." && pwd)}
# Classroom's command grader runs --check with only PATH and HOME set, so
# the default is found from HOME alone.
out=${LAB3_OUT:-$HOME/.cache/lab3-grade}

# check NAME [K]: the verdict of one check in the last grade, from
# checks.tsv (name, status, points, max, requirement, expected, got), which
# needs nothing but bash and awk: the command grader runs this bare.
check() {
	local name=$1 at_least=${2:-} line status points max requirement expected got
	if [ ! -f "$out/checks.tsv" ]; then
		echo "$name: not graded: no $out/checks.tsv (did the grade step run?)"
		return 1
	fi
	line=$(awk -F '\t' -v n="$name" '$1 == n' "$out/checks.tsv")
	if [ -z "$line" ]; then
		echo "$name: not graded: no such check in the last grade"
		return 1
	fi
	IFS=$'\t' read -r _ status points max requirement expected got <<<"$line"
	echo "$name: $status, $points/$max points"
	if [ -n "$at_least" ] && [ "$points" -ge "$at_least" ]; then
		return 0
	fi
	if [ -z "$at_least" ] && [ "$status" = passed ]; then
		return 0
	fi
	if [ "$expected" != - ]; then
		echo "  requirement: $requirement"
		echo "  expected:    $expected"
		echo "  got:         $got"
		echo "  (the job summary and the lab3-grade artifact have the evidence)"
	fi
	return 1
}

if [ "${1:-}" = "--check" ]; then
	[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: grade.sh --check NAME [POINTS]" >&2; exit 2; }
	check "$2" "${3:-}"
	exit
fi
[ $# -le 1 ] || { echo "usage: grade.sh [SUBMISSION] | grade.sh --check NAME [POINTS]" >&2; exit 2; }
sub=$(cd "${1:-.}" && pwd)

rm -rf "$out"
mkdir -p "$out"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "out=$out" >>"$GITHUB_OUTPUT"
fi
make -C "$lab3" --no-print-directory deps
if ! grep -qs '^ID=debian' /etc/os-release; then
	# The images are Debian bookworm, also on an Ubuntu runner: debootstrap
	# needs Debian's keyring and a Debian mirror, not the host's.
	"$lab3/scripts/host-deps.sh" debian-archive-keyring
	export LAB_DEBIAN_MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
fi
make -C "$lab3" --no-print-directory build BIN="$out/bin"

# debootstrap needs root the first time the images are built; a runner has
# password-less sudo.
as_root=()
if [ "$(id -u)" -ne 0 ] && sudo -n true 2>/dev/null; then
	as_root=(sudo -E env "PATH=$PATH")
fi
args=(grade "$sub" --results "$out/results" --junit "$out/junit.xml" --summary "$out/summary.md")
if [ -n "${LAB3_LAB_PREFIX:-}" ]; then
	args+=(--lab-prefix "$LAB3_LAB_PREFIX")
fi
status=0
"${as_root[@]}" "$out/bin/lab" "${args[@]}" || status=$?

reports=("$out"/results/*/report.json)
if [ -f "${reports[0]}" ]; then
	python3 - "${reports[0]}" >"$out/checks.tsv" <<'EOF'
import json, sys

def field(s):
    return " ".join(str(s).split()) or "-"

with open(sys.argv[1]) as f:
    report = json.load(f)
for res in report.get("results") or []:
    failure = res.get("failure") or {}
    print("\t".join(field(x) for x in (res["scenario"], res["status"], res["points"], res["max_points"],
                                       res["requirement"], failure.get("expectation", ""), failure.get("got", ""))))
EOF
fi
if [ ! -s "$out/summary.md" ]; then
	printf '### Lab 3: %s\n\n**Not graded**: lab grade stopped with exit status %d before it could report; its log says why.\n' \
		"$(basename "$sub")" "$status" >"$out/summary.md"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi
if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
	case $status in
	0) ;;
	1) echo "::error title=Lab 3::a required check failed; the job summary shows the first failure and its evidence" ;;
	3) echo "::error title=Lab 3::a check could not be run (the lab failed, not your program); re-run the job" ;;
	*) echo "::error title=Lab 3::lab grade could not grade (exit status $status); see the log of this step" ;;
	esac
fi
exit "$status"
