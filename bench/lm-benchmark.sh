#!/usr/bin/env bash
# Training throughput of RnnCluster against a plain TorchSharp loop and PyTorch on the same LSTM
# word language model, data and step.
#
# Two models, both on one synthetic corpus (bench/lm/make_corpus.py, ~10k-word vocabulary), SGD lr 20,
# global-norm clip 0.25, no dropout, constant learning rate, state carried and detached between windows:
#   2x200:  emsize 200, hidden 200, 20 streams, bptt 35 (word_language_model's medium model without dropout)
#   2x1024: emsize 1024, hidden 1024, 64 streams, bptt 35 (GEMM-bound; compared with the machine's matmul peak)
# Implementations:
#   ours           `rnncluster train` (single replica, --workers 0; and 2 worker actors, 2x200 only)
#   plain loop     bench/lm/TorchSharpLoop: the loop a user writes from TorchSharp's examples, same
#                  TorchSharp and libtorch as ours, so ours / plain loop is the cost or gain of our trainer
#   pytorch        bench/lm/pytorch_lm.py on Debian's python3-torch 1.13 (OpenBLAS; 2x200 only)
# Throughput is targets per second over each --log-every interval, the first interval being warm-up, and
# a run's figure is the mean of the later intervals (RnnCluster's own metrics.jsonl for ours). Evaluation
# and checkpoints are not timed.
#
# Runs alternate (ours, ours 2 workers, plain loop, pytorch, ours, ...) so a noisy shared machine hits all
# alike; every run's figure is printed. All get the same intra-op threads (torch.set_num_threads) and
# OMP_WAIT_POLICY=PASSIVE (libgomp reads it at start, so it must be in the process environment; spinning
# OpenMP threads are catastrophic on shared cores). PyTorch's GEMMs run in OpenBLAS's own pthread pool,
# which torch.set_num_threads does not reach: it gets OPENBLAS_NUM_THREADS=threads so its GEMMs use the
# same number of cores as libtorch's MKL/oneDNN GEMMs do in ours and the plain loop.
#
# The 2x1024 section also runs the plain loop's --peak mode (best torch.mm GFLOP/s over square sizes, fp32
# and bf16, same threads) once per repeat and reports each run's achieved GFLOP/s as a share of the best
# peak seen. FLOPs are counted analytically (see flops_per_step below).
#
# bf16 rows (BENCH_BF16=1): the plain loop with model.to(bfloat16) (every weight and activation bf16, the
# naive way), and ours with --set runtime.precision=bf16 when our CLI accepts it; if its first run fails,
# the row says "not available" and the log says why.
#
# Usage: bench/lm-benchmark.sh
# Environment:
#   BENCH_STEPS          2x200 training steps per run (default 300; >= 2 * BENCH_LOG_EVERY)
#   BENCH_LOG_EVERY      2x200 steps per timed interval (default 50)
#   BENCH_BIG_STEPS      2x1024 training steps per run (default 12; >= 2 * BENCH_BIG_LOG_EVERY; ~1-2 s a step on 2 cores)
#   BENCH_BIG_LOG_EVERY  2x1024 steps per timed interval (default 4)
#   BENCH_SKIP_BIG       1: skip the 2x1024 section and the peak measurement (default 0)
#   BENCH_BF16           1: add the bf16 rows (default 1)
#   BENCH_SKIP_OURS      1: no rnncluster rows, no build of it (default 0; for when the CLI does not build)
#   BENCH_THREADS        intra-op threads for all (default: nproc)
#   BENCH_REPEATS        alternating rounds (default 2)
#   RNN_BENCH_CLI        an existing rnncluster.dll to use instead of building a Release copy
#   RNN_BENCH_LOOP       an existing TorchSharpLoop.dll to use instead of building one
#   BENCH_PYTHON         python with torch (default /usr/bin/python3)
#   BENCH_REF_MALLOC     ours (default): the plain loop and PyTorch run with the glibc malloc settings ours sets
#                        for itself (bench/same-malloc.sh says why); default: glibc's own for them
# Output: the tables on stdout; logs, runs, peak.json and results.jsonl under bench/out/lm/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/bench/same-malloc.sh"  # ref_tunables: the glibc malloc settings the references run with
lm="$root/bench/lm"
out="$root/bench/out/lm"
steps=${BENCH_STEPS:-300}
log_every=${BENCH_LOG_EVERY:-50}
big_steps=${BENCH_BIG_STEPS:-12}
big_log_every=${BENCH_BIG_LOG_EVERY:-4}
skip_big=${BENCH_SKIP_BIG:-0}
bf16=${BENCH_BF16:-1}
skip_ours=${BENCH_SKIP_OURS:-0}
threads=${BENCH_THREADS:-$(nproc)}
repeats=${BENCH_REPEATS:-2}
python=${BENCH_PYTHON:-/usr/bin/python3}

die() { echo "lm-benchmark: $*" >&2; exit 1; }
for name in steps log_every big_steps big_log_every threads repeats; do
    [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "$name must be a positive integer, got '${!name}'"
done
for name in skip_big bf16 skip_ours; do
    [[ ${!name} == [01] ]] || die "$name must be 0 or 1, got '${!name}'"
done
(( steps >= 2 * log_every )) || die "BENCH_STEPS=$steps leaves no timed interval after the $log_every-step warm-up"
(( skip_big || big_steps >= 2 * big_log_every )) \
    || die "BENCH_BIG_STEPS=$big_steps leaves no timed interval after the $big_log_every-step warm-up"
"$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch (set BENCH_PYTHON)"

mkdir -p "$out/logs" "$out/runs"
export OMP_WAIT_POLICY=PASSIVE

# --- the programs: Release builds of our CLI and of the plain loop unless given ---
if (( skip_ours )); then
    cli=
    echo "BENCH_SKIP_OURS=1: no rnncluster rows" >&2
elif [[ -n ${RNN_BENCH_CLI:-} ]]; then
    cli=$RNN_BENCH_CLI
    [[ -f $cli ]] || die "RNN_BENCH_CLI=$cli does not exist"
    echo "using $cli (RNN_BENCH_CLI)" >&2
else
    echo "building Release into bench/out/bin ..." >&2
    dotnet build "$root/Coordinator" -c Release -o "$root/bench/out/bin" > "$out/logs/build.log" 2>&1 \
        || { tail -n 30 "$out/logs/build.log" >&2; die "Release build failed (log: $out/logs/build.log; BENCH_SKIP_OURS=1 runs the rest)"; }
    cli="$root/bench/out/bin/rnncluster.dll"
fi
if [[ -n ${RNN_BENCH_LOOP:-} ]]; then
    loop=$RNN_BENCH_LOOP
    [[ -f $loop ]] || die "RNN_BENCH_LOOP=$loop does not exist"
else
    echo "building the plain TorchSharp loop into bench/out/torchsharp-loop ..." >&2
    dotnet build "$lm/TorchSharpLoop" -c Release -o "$root/bench/out/torchsharp-loop" > "$out/logs/build-loop.log" 2>&1 \
        || { tail -n 30 "$out/logs/build-loop.log" >&2; die "TorchSharpLoop build failed (log: $out/logs/build-loop.log)"; }
    loop="$root/bench/out/torchsharp-loop/TorchSharpLoop.dll"
fi

# --- the corpus: enough training tokens that no run reaches an epoch end (ours would evaluate there) ---
small_tokens=$(( (steps + 20) * 20 * 35 ))
big_tokens=$(( skip_big ? 0 : (big_steps + 20) * 64 * 35 ))
train_tokens=$(( small_tokens > big_tokens ? small_tokens : big_tokens ))
(( train_tokens >= 400000 )) || train_tokens=400000
generator=$(sha256sum "$lm/make_corpus.py" | cut -c1-12)
corpus="$root/bench/out/corpus/words10k-${train_tokens}-${generator}"
if [[ ! -f $corpus/test.txt ]]; then  # test.txt is written last, so it marks a complete corpus
    "$python" "$lm/make_corpus.py" "$corpus" --vocab 10000 --train-tokens "$train_tokens" \
        --valid-tokens 5000 --test-tokens 5000 --seed 1 2> "$out/logs/corpus.log" \
        || { cat "$out/logs/corpus.log" >&2; die "corpus generation failed"; }
fi

# --- one run of each kind; each prints one JSON object (tokensPerSecond, threads, vocabulary, lastLoss) ---
# Model arguments: $1 = size (small | big). Sets layers, emsize, hidden, batch, bptt, n (steps), every.
model_args() {
    layers=2 bptt=35
    if [[ $1 == small ]]; then emsize=200 hidden=200 batch=20 n=$steps every=$log_every
    else emsize=1024 hidden=1024 batch=64 n=$big_steps every=$big_log_every; fi
}

run_ours() {  # $1 = run name, $2 = size, $3 = worker actors (0 = single-replica trainer), $4 = fp32 | bf16
    local dir="$out/runs/$1" precision=()
    model_args "$2"
    [[ $4 == bf16 ]] && precision=(--set runtime.precision=bf16)
    rm -rf "$dir"
    dotnet "$cli" train --data "$corpus" --run-dir "$dir" --plain --sample-length 0 \
        --max-steps "$n" \
        --set model.cell=lstm --set model.layers="$layers" --set model.embedding-size="$emsize" \
        --set model.hidden-size="$hidden" --set model.tie-weights=false --set model.dropout.embedding=0 \
        --set model.dropout.between-layers=0 --set model.dropout.output=0 --set data.tokenizer=word \
        --set data.min-count=1 --set data.batch-size="$batch" --set data.bptt="$bptt" --set data.random-bptt=false \
        --set training.optimizer=sgd --set training.learning-rate=20 --set training.momentum=0 \
        --set training.clip-norm=0.25 --set training.schedule=constant --set training.log-every-steps="$every" \
        --set training.eval-every-steps=0 --set checkpoint.every-steps=0 --set runtime.threads="$threads" \
        --set runtime.seed=1234 --set parallel.workers="$3" "${precision[@]}" \
        > "$out/logs/$1.log" 2>&1 || return 1
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

run_loop() {  # $1 = run name, $2 = size, $3 = fp32 | bf16
    model_args "$2"
    GLIBC_TUNABLES=$ref_tunables dotnet "$loop" --data "$corpus" --layers "$layers" --emsize "$emsize" --hidden "$hidden" --batch "$batch" \
        --bptt "$bptt" --steps "$n" --log-every "$every" --threads "$threads" --precision "$3" \
        2> "$out/logs/$1.log" | tail -n 1
}

run_pytorch() {  # $1 = run name, $2 = size
    model_args "$2"
    GLIBC_TUNABLES=$ref_tunables OPENBLAS_NUM_THREADS=$threads "$python" "$lm/pytorch_lm.py" --data "$corpus" --steps "$n" --log-every "$every" \
        --threads "$threads" --layers "$layers" --embedding-size "$emsize" --hidden-size "$hidden" \
        --batch-size "$batch" --bptt "$bptt" --dropout 0 2> "$out/logs/$1.log" | tail -n 1
}

results="$out/results.jsonl"
: > "$results"
# $1 = section, $2 = row, $3 = run name, then the command. Dies when the run fails, unless the row is
# optional (OPTIONAL=1): then it records the row as not available and returns 1.
record() {
    local section=$1 row=$2 name=$3 line
    shift 3
    echo "running $name ..." >&2
    if ! line=$(set -o pipefail; "$@") || [[ $line != '{'* ]]; then
        tail -n 20 "$out/logs/$name.log" >&2 || true
        if [[ ${OPTIONAL:-0} == 1 ]]; then
            echo "  $name failed: row '$row' not available (log: $out/logs/$name.log)" >&2
            printf '{"section": "%s", "row": "%s", "run": "%s", "unavailable": true}\n' "$section" "$row" "$name" >> "$results"
            return 1
        fi
        die "run $name failed (log: $out/logs/$name.log)"
    fi
    "$python" -c '
import json, sys
d = json.loads(sys.argv[4])
d["section"], d["row"], d["run"] = sys.argv[1], sys.argv[2], sys.argv[3]
d.setdefault("tokensPerSecond", d.get("tokens_per_s"))
d.pop("intervals", None)
print("  %s: %.0f tokens/s, %d threads, last loss %.3f" % (d["run"], d["tokensPerSecond"], d["threads"], d["lastLoss"]), file=sys.stderr)
print(json.dumps(d))' "$section" "$row" "$name" "$line" >> "$results" || die "run $name: unreadable result: $line"
}

peak() {  # $1 = run name: the plain loop's matmul peak, appended to results as a "peak" section row
    echo "running $1 (matmul peak) ..." >&2
    local line
    line=$(set -o pipefail; dotnet "$loop" --peak --threads "$threads" 2> "$out/logs/$1.log" | tail -n 1) \
        || { tail -n 20 "$out/logs/$1.log" >&2; die "peak run $1 failed (log: $out/logs/$1.log)"; }
    echo "  $1: fp32 $("$python" -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["fp32_gflops"], "GFLOP/s, bf16", d["bf16_gflops"], "GFLOP/s")' "$line")" >&2
    "$python" -c 'import json,sys; d=json.loads(sys.argv[2]); d["section"], d["run"] = "peak", sys.argv[1]; print(json.dumps(d))' "$1" "$line" >> "$results"
}

ours_bf16_ok=1  # cleared when our CLI refuses (or fails on) runtime.precision = bf16
for ((i = 1; i <= repeats; i++)); do
    if [[ -n $cli ]]; then
        record small ours "ours-$i" run_ours "ours-$i" small 0 fp32
        record small ours-w2 "ours-w2-$i" run_ours "ours-w2-$i" small 2 fp32
    fi
    record small loop "loop-$i" run_loop "loop-$i" small fp32
    record small pytorch "pytorch-$i" run_pytorch "pytorch-$i" small
    if (( bf16 )); then
        if [[ -n $cli ]] && (( ours_bf16_ok )); then
            OPTIONAL=1 record small ours-bf16 "ours-bf16-$i" run_ours "ours-bf16-$i" small 0 bf16 || ours_bf16_ok=0
        fi
        record small loop-bf16 "loop-bf16-$i" run_loop "loop-bf16-$i" small bf16
    fi
done
if (( ! skip_big )); then
    for ((i = 1; i <= repeats; i++)); do
        [[ -z $cli ]] || record big ours "big-ours-$i" run_ours "big-ours-$i" big 0 fp32
        record big loop "big-loop-$i" run_loop "big-loop-$i" big fp32
        if (( bf16 )); then
            if [[ -n $cli ]] && (( ours_bf16_ok )); then
                OPTIONAL=1 record big ours-bf16 "big-ours-bf16-$i" run_ours "big-ours-bf16-$i" big 0 bf16 || ours_bf16_ok=0
            fi
            record big loop-bf16 "big-loop-bf16-$i" run_loop "big-loop-bf16-$i" big bf16
        fi
        peak "peak-$i"
    done
fi

echo "glibc malloc: $ref_malloc_text"
"$python" - "$results" "$steps" "$log_every" "$big_steps" "$big_log_every" "$threads" "$skip_ours" "$bf16" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps, log_every, big_steps, big_log_every, threads = sys.argv[2:7]
skip_ours, bf16 = sys.argv[7] == "1", sys.argv[8] == "1"

vocabularies = {r["vocabulary"] for r in rows if r.get("vocabulary") is not None}
if len(vocabularies) != 1:
    sys.exit(f"lm-benchmark: the implementations disagree on the vocabulary size: {sorted(vocabularies)}")
V = vocabularies.pop()

def flops_per_step(layers, emsize, hidden, batch, bptt):
    """Analytic FLOPs of one training step: batch * bptt tokens, each costing
         forward  = sum over layers l of 2 * 4H * (In_l + H)   (the 4 gates' input and recurrent GEMMs;
                                                                 In_0 = emsize, In_l = H above)
                  + 2 * V * H                                  (decoder)
         backward ~ 2 x forward (gradients for both the activations and the weights),
       so FLOPs/step = 3 * batch * bptt * forward. Elementwise work (gate nonlinearities, softmax,
       cross-entropy, clipping, SGD) and the embedding lookup are not counted."""
    forward = sum(2 * 4 * hidden * ((emsize if l == 0 else hidden) + hidden) for l in range(layers)) + 2 * V * hidden
    return 3 * batch * bptt * forward

peaks = [r for r in rows if r["section"] == "peak"]
peak = {p: max(r[f"{p}_gflops"] for r in peaks) for p in ("fp32", "bf16")} if peaks else None

labels = {
    "ours": "rnncluster single replica (--workers 0)",
    "ours-w2": "rnncluster 2 worker actors (--workers 2)",
    "loop": "plain TorchSharp loop",
    "pytorch": "PyTorch 1.13",
    "ours-bf16": "rnncluster single replica, bf16",
    "loop-bf16": "plain TorchSharp loop, bf16 (model.to)",
}

def table(section, title, keys, shape):
    group = {}
    for r in rows:
        if r["section"] == section:
            group.setdefault(r["row"], []).append(r)
    mean = {k: sum(r["tokensPerSecond"] for r in g) / len(g) for k, g in group.items() if not any(r.get("unavailable") for r in g)}
    per_step = flops_per_step(*shape)
    tokens_per_step = shape[3] * shape[4]
    print(title)
    header = f"{'implementation':<42} {'tokens/s':>9} {'/loop':>6} {'/torch':>6} {'GFLOP/s':>8}"
    if peak:
        header += f" {'%fp32pk':>8} {'%bf16pk':>8}"
    print(header + "  runs")
    for key in keys:
        if key not in group:
            continue
        if key not in mean:
            print(f"{labels[key]:<42} {'not available':>9}  (log: bench/out/lm/logs/{group[key][0]['run']}.log)")
            continue
        m = mean[key]
        gflops = m / tokens_per_step * per_step / 1e9
        line = f"{labels[key]:<42} {m:>9.0f} {m / mean['loop'] if 'loop' in mean else float('nan'):>6.2f} "
        line += f"{m / mean['pytorch']:>6.2f}" if "pytorch" in mean else f"{'-':>6}"
        line += f" {gflops:>8.1f}"
        if peak:
            line += f" {100 * gflops / peak['fp32']:>7.1f}% {100 * gflops / peak['bf16']:>7.1f}%"
        print(line + "  " + ", ".join(f"{r['tokensPerSecond']:.0f}" for r in group[key]))
    print(f"  {per_step / 1e9:.2f} GFLOP per step of {tokens_per_step} tokens (analytic: 3 x forward GEMMs)")

keys = ["ours", "ours-w2", "loop", "pytorch", "ours-bf16", "loop-bf16"]
table("small", f"2x200 LSTM, vocabulary {V}, batch 20, bptt 35, no dropout, {threads} threads, {steps} steps; "
      f"tokens/s = mean of the {log_every}-step intervals after the first", keys, (2, 200, 200, 20, 35))
if any(r["section"] == "big" for r in rows):
    print()
    table("big", f"2x1024 LSTM, vocabulary {V}, emsize 1024, batch 64, bptt 35, {threads} threads, {big_steps} steps; "
          f"tokens/s = mean of the {big_log_every}-step intervals after the first", keys, (2, 1024, 1024, 64, 35))
if peak:
    print(f"matmul peak (plain loop --peak, torch.mm, best over sizes and {len(peaks)} runs, {threads} threads): "
          f"fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s; per run: "
          + "; ".join(f"{r['fp32_gflops']:.0f}/{r['bf16_gflops']:.0f}" for r in peaks))
print("/loop, /torch = that row's tokens/s over the fp32 plain loop's and PyTorch's (> 1: the row is faster)"
      + ("; rnncluster rows skipped (BENCH_SKIP_OURS=1)" if skip_ours else ""))
EOF
