#!/usr/bin/env bash
# Training throughput of RnnCluster against PyTorch on the same model, data and step.
#
# The model is word_language_model's medium default: 2x200 LSTM, ~10k-word vocabulary, 20 streams,
# bptt 35, dropout 0.2, SGD lr 20, clip 0.25. Both sides run the same number of steps; throughput
# is targets per second over each --log-every interval, the first interval being warm-up, and the
# figure is the mean of the later intervals (RnnCluster's own metrics.jsonl for ours). Evaluation
# and checkpoints are not timed. Both link the same Debian libtorch, so the ratio measures the
# trainer around the kernels: the C# loop, the bridge and its flat buffers, against PyTorch's autograd.
#
# Runs alternate (ours, pytorch, ours, pytorch, ...) so a noisy shared machine hits both alike;
# every run's figure is printed. Both get the same intra-op threads and OPENBLAS_NUM_THREADS=1
# (the bridge pins OpenBLAS to one thread, so PyTorch must too); one more PyTorch run with its
# default threading is a second reference row.
#
# Usage: bench/lm-benchmark.sh
# Environment:
#   BENCH_STEPS    training steps per run (default 300; >= 2 * BENCH_LOG_EVERY)
#   BENCH_THREADS  intra-op threads for both (default: nproc)
#   BENCH_REPEATS  alternating ours/pytorch pairs (default 2)
#   BENCH_LOG_EVERY  steps per timed interval (default 50)
#   RNN_BENCH_CLI  an existing rnncluster.dll to use instead of building a Release copy
#   BENCH_PYTHON   python with torch (default /usr/bin/python3)
# Output: the table on stdout; logs, runs and results.json under bench/out/lm/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lm="$root/bench/lm"
out="$root/bench/out/lm"
steps=${BENCH_STEPS:-300}
threads=${BENCH_THREADS:-$(nproc)}
repeats=${BENCH_REPEATS:-2}
log_every=${BENCH_LOG_EVERY:-50}
python=${BENCH_PYTHON:-/usr/bin/python3}

die() { echo "lm-benchmark: $*" >&2; exit 1; }
for name in steps threads repeats log_every; do
    [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "$name must be a positive integer, got '${!name}'"
done
(( steps >= 2 * log_every )) || die "BENCH_STEPS=$steps leaves no timed interval after the $log_every-step warm-up"
"$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch (set BENCH_PYTHON)"

mkdir -p "$out/logs" "$out/runs"

# --- the CLI: a Release build of our own unless one is given ---
if [[ -n ${RNN_BENCH_CLI:-} ]]; then
    cli=$RNN_BENCH_CLI
    [[ -f $cli ]] || die "RNN_BENCH_CLI=$cli does not exist"
    echo "using $cli (RNN_BENCH_CLI)" >&2
else
    echo "building Release into bench/out/bin ..." >&2
    dotnet build "$root/Coordinator" -c Release -o "$root/bench/out/bin" > "$out/logs/build.log" 2>&1 \
        || { tail -n 30 "$out/logs/build.log" >&2; die "Release build failed (log: $out/logs/build.log)"; }
    cli="$root/bench/out/bin/rnncluster.dll"
fi

# --- the corpus: enough training tokens that no run reaches an epoch end (ours would evaluate there) ---
tokens_per_step=$((20 * 35))
train_tokens=$(( (steps + 20) * tokens_per_step > 400000 ? (steps + 20) * tokens_per_step : 400000 ))
generator=$(sha256sum "$lm/make_corpus.py" | cut -c1-12)
corpus="$root/bench/out/corpus/words10k-${train_tokens}-${generator}"
if [[ ! -f $corpus/test.txt ]]; then  # test.txt is written last, so it marks a complete corpus
    "$python" "$lm/make_corpus.py" "$corpus" --vocab 10000 --train-tokens "$train_tokens" \
        --valid-tokens 5000 --test-tokens 5000 --seed 1 2> "$out/logs/corpus.log" \
        || { cat "$out/logs/corpus.log" >&2; die "corpus generation failed"; }
fi

# --- one run of each kind; each prints one JSON object (tokensPerSecond, threads, vocabulary, lastLoss) ---
run_ours() {  # $1 = run name, $2 = worker actors (0 = single-replica trainer)
    local dir="$out/runs/$1"
    rm -rf "$dir"
    OPENBLAS_NUM_THREADS=1 dotnet "$cli" train --data "$corpus" --run-dir "$dir" --plain --sample-length 0 \
        --max-steps "$steps" \
        --set model.cell=lstm --set model.layers=2 --set model.embedding-size=200 --set model.hidden-size=200 \
        --set model.tie-weights=false --set model.dropout.embedding=0.2 --set model.dropout.between-layers=0.2 \
        --set model.dropout.output=0.2 --set data.tokenizer=word --set data.min-count=1 --set data.batch-size=20 \
        --set data.bptt=35 --set data.random-bptt=false --set training.optimizer=sgd --set training.learning-rate=20 \
        --set training.momentum=0 --set training.clip-norm=0.25 --set training.schedule=constant \
        --set training.log-every-steps="$log_every" --set training.eval-every-steps=0 --set checkpoint.every-steps=0 \
        --set runtime.threads="$threads" --set runtime.seed=1234 --set parallel.workers="$2" \
        > "$out/logs/$1.log" 2>&1 || { tail -n 30 "$out/logs/$1.log" >&2; return 1; }
    "$python" - "$dir" "$threads" <<'EOF'
import glob, json, sys
run, threads = sys.argv[1], int(sys.argv[2])
lines = [json.loads(l) for l in open(f"{run}/metrics.jsonl") if l.strip()]
train = [l for l in lines if l.get("kind") == "train"]
if len(train) < 2:
    sys.exit(f"{run}/metrics.jsonl: {len(train)} train intervals, need 2 (warm-up + timed)")
timed = [l["tokensPerSecond"] for l in train[1:]]
vocab = sorted(glob.glob(f"{run}/checkpoints/step-*/vocab.json"))
print(json.dumps({
    "implementation": "rnncluster",
    "threads": threads,
    "vocabulary": len(json.load(open(vocab[-1]))["tokens"]) if vocab else None,
    "tokensPerSecond": sum(timed) / len(timed),
    "lastLoss": train[-1]["loss"],
}))
EOF
}

run_pytorch() {  # $1 = run name, $2 = threads (0 = PyTorch's default), $3 = pin OpenBLAS (1/0)
    local env_args=(env OPENBLAS_NUM_THREADS=1)
    [[ $3 == 1 ]] || env_args=(env -u OPENBLAS_NUM_THREADS)
    "${env_args[@]}" "$python" "$lm/pytorch_lm.py" --data "$corpus" --steps "$steps" --log-every "$log_every" \
        --threads "$2" 2> "$out/logs/$1.log" | tail -n 1 \
        || { tail -n 30 "$out/logs/$1.log" >&2; return 1; }
}

results="$out/results.jsonl"
: > "$results"
record() {  # $1 = row label, $2 = run name, then the command
    local label=$1 name=$2 line
    shift 2
    echo "running $name ..." >&2
    line=$("$@") || die "run $name failed (log: $out/logs/$name.log)"
    [[ $line == '{'* ]] || die "run $name printed no result (log: $out/logs/$name.log)"
    "$python" -c '
import json, sys
d = json.loads(sys.argv[3])
d["row"], d["run"] = sys.argv[1], sys.argv[2]
print("  %s: %.0f tokens/s, %d threads, last loss %.3f" % (d["run"], d["tokensPerSecond"], d["threads"], d["lastLoss"]), file=sys.stderr)
print(json.dumps(d))' "$label" "$name" "$line" >> "$results" || die "run $name: unreadable result: $line"
}

for ((i = 1; i <= repeats; i++)); do
    record ours "ours-$i" run_ours "ours-$i" 0
    record ours-w2 "ours-w2-$i" run_ours "ours-w2-$i" 2
    record pytorch "pytorch-$i" run_pytorch "pytorch-$i" "$threads" 1
done
record pytorch-default "pytorch-default" run_pytorch "pytorch-default" 0 0

"$python" - "$results" "$steps" "$log_every" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps, log_every = sys.argv[2], sys.argv[3]
labels = {"ours": "rnncluster (single replica)", "ours-w2": "rnncluster (2 worker actors)", "pytorch": "pytorch (OPENBLAS_NUM_THREADS=1)", "pytorch-default": "pytorch (default threading)"}
groups = {}
for r in rows:
    groups.setdefault(r["row"], []).append(r)
vocabularies = {r["vocabulary"] for r in rows if r.get("vocabulary") is not None}
if len(vocabularies) != 1:
    sys.exit(f"lm-benchmark: the implementations disagree on the vocabulary size: {sorted(vocabularies)}")
ours = sum(r["tokensPerSecond"] for r in groups["ours"]) / len(groups["ours"])
print(f"2x200 LSTM, vocabulary {vocabularies.pop()}, batch 20, bptt 35, {steps} steps, "
      f"tokens/s = mean of the {log_every}-step intervals after the first")
print(f"{'implementation':<34} {'threads':>7} {'tokens/s':>9} {'ratio':>6}  runs")
for key in ("ours", "ours-w2", "pytorch", "pytorch-default"):
    group = groups[key]
    mean = sum(r["tokensPerSecond"] for r in group) / len(group)
    ratio = "-" if key == "ours" else f"{ours / mean:.2f}"
    if key == "ours-w2":
        ratio = f"{mean / ours:.2f}x"  # against our single replica
    runs = ", ".join(f"{r['tokensPerSecond']:.0f}" for r in group)
    print(f"{labels[key]:<34} {group[0]['threads']:>7} {mean:>9.0f} {ratio:>6}  {runs}")
print("ratio = rnncluster single-replica tokens/s / that row's tokens/s (> 1: ours is faster); "
      "the 2-worker row shows its speed relative to our single replica")
EOF
