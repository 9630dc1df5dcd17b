#!/usr/bin/env bash
# Packs the results of lab grade --gradescope-dir into a Gradescope
# autograder zip that publishes them (publish/run_autograder):
#
#   make-autograder.sh RESULTS_DIR [ZIP]     (ZIP defaults to autograder.zip)
#
# RESULTS_DIR holds <submission>/results.json, one folder per submission of
# Gradescope's export (submission_<id>). Upload the zip as the assignment's
# autograder, then Regrade All Submissions.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: make-autograder.sh RESULTS_DIR [ZIP]" >&2; exit 2; }
results=$(cd "$1" && pwd)
zip=$(realpath -m "${2:-autograder.zip}")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
n=$(find "$results" -mindepth 2 -maxdepth 2 -name results.json | wc -l)
if [ "$n" -eq 0 ]; then
	echo "make-autograder: no <submission>/results.json in $results: run lab grade --gradescope-dir $1 first" >&2
	exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$here/publish/run_autograder" "$here/publish/setup.sh" "$stage/"
mkdir "$stage/results"
(cd "$results" && find . -mindepth 2 -maxdepth 2 -name results.json -exec cp --parents {} "$stage/results/" \;)
rm -f "$zip"
# The files at the root of the zip, as Gradescope wants them.
(cd "$stage" && python3 -m zipfile -c "$zip" run_autograder setup.sh results)
echo "$zip: $n submission(s); upload it as the autograder, then Regrade All Submissions"
