#!/usr/bin/env bash
# Issue #10's model of N nodes: predicted step time and scaling efficiency of the all-reduce cluster on a
# real network, from costs measured on this machine (bench/scaling-model, about a minute on 2 cores):
#   1. one worker's compute profile: forward + backward of its window of the benchmark LM (2x200 LSTM,
#      vocabulary 10k, untied; one intra-op thread), the scale-and-clip pass and SGD step every replica
#      runs, and when backward's gradient taps report each segment (what an all-reduce can overlap);
#   2. the data plane's per-bucket costs: lone all-reduces of single buckets of 1K-4M floats among W = 2
#      and 3 members on loopback, as CPU per message by message size (the median of 3 interleaved rounds; interpolated between sizes);
#   3. the model (bench/scaling-model/NodeModel.cs says what it includes): N = 2 ... 32 nodes on the given
#      link, with the embedding rows a step looks up counted in the benchmark's corpus (the one
#      bench/cluster-benchmark.sh trains on; made here if absent), and the 8-node figure for uniformly
#      random tokens beside it, the 8-node figure by bucket size and data-plane cores, and 2 nodes on loopback as a check
#      against bench/cluster-benchmark.sh's measured "all-reduce's own exposed time".
# Not a timed test: figures move with the machine's load; the prediction is as good as its inputs.
#
# Usage: bench/scaling-model.sh [ScalingModel options: --gbit 25 --latency-us 20 --nodes 2,4,8,16,32
#        --bucket-floats 1048576 --streams 10 --coordinator-ms 2.1 --dense --decoder-blocks 4 ...; --help lists them]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/bench/out/scaling-model"
mkdir -p "$bin"
if ! dotnet build "$root/bench/scaling-model" -c Release -o "$bin" -nologo -v quiet -clp:ErrorsOnly > "$bin/build.log" 2>&1; then
  cat "$bin/build.log" >&2
  echo "scaling-model.sh: the build failed (log above)" >&2
  exit 1
fi
# The same corpus as bench/cluster-benchmark.sh: any words10k corpus already made, else make one.
corpus=$(ls -d "$root"/bench/out/corpus/words10k-* 2>/dev/null | head -n 1 || true)
if [[ -z $corpus || ! -f $corpus/test.txt ]]; then  # test.txt is written last: it marks a complete corpus
  corpus="$root/bench/out/corpus/words10k-parallel"
  if ! python3 "$root/bench/lm/make_corpus.py" "$corpus" --vocab 10000 --train-tokens 400000 --valid-tokens 5000 --test-tokens 5000 --seed 1 \
      2> "$bin/corpus.log"; then
    cat "$bin/corpus.log" >&2
    echo "scaling-model.sh: making the benchmark corpus failed (log above)" >&2
    exit 1
  fi
fi
# libgomp reads it at start: spinning OpenMP threads would take the cores the data plane measures on.
export OMP_WAIT_POLICY=PASSIVE
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet "$bin/ScalingModel.dll" --corpus "$corpus" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
