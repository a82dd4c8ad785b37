#!/usr/bin/env bash
# Sequence tasks and a character LM on the fetched data sets: RnnCluster against the same model in
# PyTorch, trained with the same settings on the same machine (issue #5's results table).
#
#   spam-assassin  BiLSTM acceptor, pooling last / mean / max / attention: test accuracy, macro-F1
#   cmudict        encoder-decoder, characters -> phonemes: test phoneme error rate (greedy decoding)
#   moby-dick      character LSTM language model: test bits per character
#
# Both sides read the same files from the data directory (bench/tasks/pytorch_taskbench.py copies our
# tokenisation, vocabulary, truncation, bucketing, initialisation, loss and metric rules) and run one
# after the other with the same intra-op threads and OPENBLAS_NUM_THREADS=1. Budgets are small (a
# minute or two per run on 2 cores): a fair side-by-side, not state-of-the-art numbers.
#
# Usage: bench/tasks-benchmark.sh        (after 'rnncluster data fetch spam-assassin|cmudict|moby-dick')
# Environment:
#   BENCH_THREADS        intra-op threads for both (default: nproc)
#   BENCH_ONLY           comma-separated subset of spam-assassin,cmudict,moby-dick (default: all)
#   BENCH_POOLINGS       spam-assassin poolings (default last,mean,max,attention)
#   BENCH_SPAM_EPOCHS    spam-assassin epochs (default 1 = 146 steps of 32)
#   BENCH_SPAM_STEPS     spam-assassin step cap (default 146 = 1 epoch)
#   BENCH_CMUDICT_STEPS  cmudict training steps (default 600)
#   BENCH_MOBY_STEPS     moby-dick training steps (default 600)
#   RNNCLUSTER_DATA      data directory (default ~/.cache/rnncluster/datasets)
#   RNN_BENCH_CLI        an existing rnncluster.dll to use instead of building a Release copy
#   BENCH_PYTHON         python with torch (default /usr/bin/python3)
#   BENCH_REF_MALLOC     ours (default): PyTorch (and ours with it) runs with the glibc malloc settings ours sets
#                        for itself (bench/same-malloc.sh says why); default: glibc's own
# Output: the table on stdout; logs, runs and results.json under bench/out/tasks/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/bench/same-malloc.sh"  # ref_tunables: the glibc malloc settings the references run with
out="$root/bench/out/tasks"
python=${BENCH_PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-$(nproc)}
data_dir=${RNNCLUSTER_DATA:-$HOME/.cache/rnncluster/datasets}

die() { echo "tasks-benchmark: $*" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch (set BENCH_PYTHON)"
for name in spam-assassin cmudict moby-dick; do
    [[ ,${BENCH_ONLY:-spam-assassin,cmudict,moby-dick}, == *,$name,* ]] || continue
    [[ -f $data_dir/$name/manifest.json ]] || die "$data_dir/$name is missing: run 'rnncluster data fetch $name' first"
done
mkdir -p "$out/logs"

if [[ -n ${RNN_BENCH_CLI:-} ]]; then
    cli=$RNN_BENCH_CLI
    [[ -f $cli ]] || die "RNN_BENCH_CLI=$cli does not exist"
else
    echo "building Release into bench/out/bin ..." >&2
    dotnet build "$root/Coordinator" -c Release -o "$root/bench/out/bin" > "$out/logs/build.log" 2>&1 \
        || { tail -n 30 "$out/logs/build.log" >&2; die "Release build failed (log: $out/logs/build.log)"; }
    cli="$root/bench/out/bin/rnncluster.dll"
fi

echo "glibc malloc: $ref_malloc_text"
# Ours runs under the same GLIBC_TUNABLES here (the runner starts both): TorchRuntime defers to them, same values.
GLIBC_TUNABLES=$ref_tunables RNNCLUSTER_DATA=$data_dir "$python" "$root/bench/tasks/run_tasks_benchmark.py" --cli "$cli" --out "$out" \
    --data-dir "$data_dir" --threads "$threads" --only "${BENCH_ONLY:-spam-assassin,cmudict,moby-dick}" \
    --poolings "${BENCH_POOLINGS:-last,mean,max,attention}" --spam-epochs "${BENCH_SPAM_EPOCHS:-1}" --spam-steps "${BENCH_SPAM_STEPS:-146}" \
    --cmudict-steps "${BENCH_CMUDICT_STEPS:-600}" --moby-steps "${BENCH_MOBY_STEPS:-600}" | tee "$out/table.md"
