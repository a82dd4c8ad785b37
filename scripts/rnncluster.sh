#!/usr/bin/env bash
# Runs the rnncluster CLI: installs missing system packages, builds (Release) when sources changed,
# then passes every argument through, e.g.
#   bash scripts/rnncluster.sh train                 # the embedded default: LSTM LM on builtin:agreement
#   bash scripts/rnncluster.sh sample --checkpoint runs/<run>
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
out="$root/artifacts/bin/rnncluster"
dotnet build "$root/Coordinator/RnnCluster.Coordinator.csproj" -c Release -o "$out" -nologo -v quiet -clp:ErrorsOnly >&2
# Keeps the JIT's background thread alive, as deploy/rnncluster-node does (see there).
export DOTNET_TC_BackgroundWorkerTimeoutMs="${DOTNET_TC_BackgroundWorkerTimeoutMs:-7FFFFFFF}"
exec dotnet "$out/rnncluster.dll" "$@"
