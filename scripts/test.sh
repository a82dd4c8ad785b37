#!/usr/bin/env bash
# Runs the whole test suite: installs missing system packages, builds everything, runs xunit, and
# ends with one plain line "N passed, N failed, N skipped" taken from the TRX results. Exit status: that of dotnet test.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" --tests || exit 1
results="$root/artifacts/test-results"
rm -rf "$results"
# The short soak starts with the process tests and runs beside them (Tests/Cluster/Processes/SoakTests.cs).
RNNCLUSTER_TEST_SOAK_EARLY=1 dotnet test "$root/RnnCluster.sln" -c Release --logger "trx;LogFileName=tests.trx" --results-directory "$results" "$@"
status=$?
trx="$results/tests.trx"
if [ -f "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  count() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9][0-9]*' || echo 0; }
  # Skipped tests: the TRX counters leave notExecuted at 0 for a skipped fact; total - executed counts them.
  echo "$(count passed) passed, $(count failed) failed, $(( $(count total) - $(count executed) )) skipped"
else
  echo "0 passed, 0 failed (no test results: the build or the test host failed)"
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
