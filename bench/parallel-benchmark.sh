#!/usr/bin/env bash
# Data-parallel overhead in one process: the 2x200 LSTM LM of bench/lm-benchmark.sh (vocabulary ~10k,
# batch 20, bptt 35) trained with W = 0 (single-replica trainer), 1, 2 and 4 worker actors on the
# same global batch. Prints tokens/s and the per-step split the coordinator records in summary.json:
# broadcast (parameter snapshot + dispatch), compute (slowest worker), transfer (gradient copy-out +
# waiting beyond the slowest compute), averaging (ordered sum into the master), apply (clip, step).
# "messaging" = broadcast + transfer + averaging, as a share of the step.
#   BENCH_STEPS (default 200), BENCH_THREADS (default nproc), RNN_BENCH_CLI (skip the Release build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/bench/out/parallel"
steps=${BENCH_STEPS:-200}
threads=${BENCH_THREADS:-$(nproc)}
mkdir -p "$out"

cli=${RNN_BENCH_CLI:-}
if [[ -z $cli ]]; then
  echo "building Release into bench/out/bin ..." >&2
  dotnet build "$root/Coordinator/RnnCluster.Coordinator.csproj" -c Release -o "$root/bench/out/bin" -nologo -v quiet -clp:ErrorsOnly >&2
  cli="$root/bench/out/bin/rnncluster.dll"
fi

corpus=$(ls -d "$root"/bench/out/corpus/words10k-* 2>/dev/null | head -n 1 || true)
if [[ -z $corpus || ! -f $corpus/test.txt ]]; then
  corpus="$root/bench/out/corpus/words10k-parallel"
  python3 "$root/bench/lm/make_corpus.py" "$corpus" --vocab 10000 --train-tokens 400000 --valid-tokens 5000 --test-tokens 5000 --seed 1
fi

for w in 0 1 2 4; do
  dir="$out/w$w"
  rm -rf "$dir"
  echo "running W=$w ..." >&2
  OPENBLAS_NUM_THREADS=1 dotnet "$cli" train --data "$corpus" --run-dir "$dir" --plain --sample-length 0 --max-steps "$steps" \
    --set model.layers=2 --set model.embedding-size=200 --set model.hidden-size=200 \
    --set model.dropout.embedding=0.2 --set model.dropout.between-layers=0.2 --set model.dropout.output=0.2 \
    --set data.batch-size=20 --set data.bptt=35 --set training.learning-rate=20 --set training.clip-norm=0.25 \
    --set training.schedule=constant --set training.log-every-steps=50 --set training.eval-every-steps=0 \
    --set checkpoint.every-steps=0 --set runtime.threads="$threads" --set parallel.workers="$w" \
    > "$out/w$w.log" 2>&1 || { tail -n 20 "$out/w$w.log" >&2; exit 1; }
done

python3 - "$out" "$steps" "$threads" <<'PY'
import json, sys
out, steps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(f"2x200 LSTM LM, vocabulary ~10k, batch 20, bptt 35, {steps} steps, {threads} threads in all; ms per step")
print(f"{'W':>2} {'thr/replica':>11} {'tokens/s':>9} {'step':>7} {'compute':>8} {'transfer':>8} {'averaging':>9} {'broadcast':>9} {'apply':>6} {'messaging':>9}")
base = None
for w in (0, 1, 2, 4):
    lines = [json.loads(l) for l in open(f"{out}/w{w}/metrics.jsonl") if l.strip()]
    train = [l for l in lines if l["kind"] == "train"][1:]  # first interval = warm-up
    tps = sum(l["tokensPerSecond"] for l in train) / len(train)
    step_ms = 1000 * 700 / tps  # 20 streams x 35 targets per step
    summary = json.load(open(f"{out}/w{w}/summary.json"))
    split = summary.get("stepTimeSplit")
    per = max(1, threads // w) if w else threads
    if split is None:
        base = step_ms
        print(f"{w:>2} {per:>11} {tps:>9.0f} {step_ms:>7.1f} {'-':>8} {'-':>8} {'-':>9} {'-':>9} {'-':>6} {'-':>9}")
        continue
    messaging = split["broadcast"] + split["transfer"] + split["averaging"]
    total = sum(split.values())
    print(f"{w:>2} {per:>11} {tps:>9.0f} {step_ms:>7.1f} {split['compute']:>8.1f} {split['transfer']:>8.1f} {split['averaging']:>9.1f} {split['broadcast']:>9.1f} {split['apply']:>6.1f} {100 * messaging / total:>8.1f}%")
if base:
    w2 = [json.loads(l) for l in open(f"{out}/w2/metrics.jsonl") if l.strip()]
    t2 = [l for l in w2 if l["kind"] == "train"][1:]
    s2 = 1000 * 700 / (sum(l["tokensPerSecond"] for l in t2) / len(t2))
    print(f"W=2 step time vs the single-replica trainer: {100 * (s2 / base - 1):+.1f}%")
PY
