#!/usr/bin/env bash
# Runs a cluster worker: installs missing system packages, builds (Release) when sources changed,
# then passes every argument through, e.g.
#   bash scripts/rnncluster-worker.sh --seed 10.0.0.1:2552 --host 10.0.0.2 --set cluster.secret=file:/etc/rnncluster/secret
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
out="$root/artifacts/bin/rnncluster-worker"
dotnet build "$root/Worker/RnnCluster.Worker.csproj" -c Release -o "$out" -nologo -v quiet -clp:ErrorsOnly >&2
# Keeps the JIT's background thread alive, as deploy/rnncluster-node does (see there).
export DOTNET_TC_BackgroundWorkerTimeoutMs="${DOTNET_TC_BackgroundWorkerTimeoutMs:-7FFFFFFF}"
exec dotnet "$out/rnncluster-worker.dll" "$@"
