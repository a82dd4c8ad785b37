#!/usr/bin/env bash
# The run monitor's cost on training speed (issue #12; goal < 1%): the same short run of the 2x200 LSTM
# LM of bench/parallel-benchmark.sh (vocabulary ~10k, batch 20, bptt 35, single-replica trainer) with the
# monitor off (monitor.enabled = off) and on (--dashboard, any free port) with a client following
# /api/events for the whole run, as the dashboard does. The two alternate, BENCH_REPEATS times each;
# each run's ms per step is summary.json's training wall time over its steps (startup, the final
# validation and test are not in it). Prints both medians and their ratio as "dashboard overhead: +x.x%",
# and how many step events the follower received (each run must have streamed every step).
#   BENCH_STEPS (default 150), BENCH_REPEATS (default 5), BENCH_THREADS (default nproc),
#   RNN_BENCH_CLI (a built rnncluster.dll: skip the Release build)
# Output: the table on stdout; logs, run directories and the followers' event streams under bench/out/dashboard/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/bench/out/dashboard"
steps=${BENCH_STEPS:-150}
repeats=${BENCH_REPEATS:-5}
threads=${BENCH_THREADS:-$(nproc)}

die() { echo "dashboard-benchmark: $*" >&2; exit 1; }
for name in steps repeats threads; do
  [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "$name must be a positive integer, got '${!name}'"
done
command -v curl >/dev/null || die "curl is needed to follow /api/events (apt-get install curl)"
rm -rf "$out"
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

follower=""
cleanup() { if [[ -n $follower ]]; then kill "$follower" 2>/dev/null || true; fi; }
trap cleanup EXIT

# run NAME [ARGS...]: one training run into $out/NAME.
run() {
  local name=$1
  shift
  OPENBLAS_NUM_THREADS=1 dotnet "$cli" train --data "$corpus" --run-dir "$out/$name" --plain --sample-length 0 --max-steps "$steps" \
    --set model.layers=2 --set model.embedding-size=200 --set model.hidden-size=200 \
    --set model.dropout.embedding=0.2 --set model.dropout.between-layers=0.2 --set model.dropout.output=0.2 \
    --set data.batch-size=20 --set data.bptt=35 --set training.learning-rate=20 --set training.clip-norm=0.25 \
    --set training.schedule=constant --set training.log-every-steps=50 --set training.eval-every-steps=0 \
    --set checkpoint.every-steps=0 --set runtime.threads="$threads" --set parallel.workers=0 "$@"
}

# follow LOG EVENTS: once LOG names the dashboard, stream its /api/events into EVENTS until killed.
follow() {
  local log=$1 events=$2 url=""
  for _ in $(seq 1 600); do
    url=$(sed -n 's/^dashboard: \(http:[^ ]*\)$/\1/p' "$log" 2>/dev/null | head -n 1)
    [[ -n $url ]] && break
    sleep 0.1
  done
  [[ -n $url ]] || { echo "no dashboard line in $log" >&2; return 1; }
  exec curl -sN "${url}api/events" -o "$events"
}

for r in $(seq 1 "$repeats"); do
  echo "round $r/$repeats: monitor off ..." >&2
  run "off-$r" --set monitor.enabled=off >"$out/off-$r.log" 2>&1 || { tail -n 20 "$out/off-$r.log" >&2; exit 1; }
  echo "round $r/$repeats: monitor on, one follower ..." >&2
  : >"$out/on-$r.log"
  follow "$out/on-$r.log" "$out/on-$r.events" &
  follower=$!
  run "on-$r" --dashboard --set monitor.port=0 >"$out/on-$r.log" 2>&1 || { tail -n 20 "$out/on-$r.log" >&2; exit 1; }
  # The server ended with the run; so did the stream.
  wait "$follower" 2>/dev/null || true
  follower=""
done

python3 - "$out" "$steps" "$repeats" "$threads" <<'PY'
import json, statistics, sys
out, steps, repeats, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def ms_per_step(name):
    s = json.load(open(f"{out}/{name}/summary.json"))
    return 1000 * s["wallSeconds"] / s["steps"]
off = [ms_per_step(f"off-{r}") for r in range(1, repeats + 1)]
on = [ms_per_step(f"on-{r}") for r in range(1, repeats + 1)]
streamed = [sum(1 for line in open(f"{out}/on-{r}.events") if line.startswith("event: step")) for r in range(1, repeats + 1)]
print(f"2x200 LSTM LM, vocabulary ~10k, batch 20, bptt 35, single-replica trainer, {steps} steps, {threads} threads, {repeats} runs each")
print(f"{'':<26} {'median ms/step':>14}  runs (ms/step)")
print(f"{'monitor off':<26} {statistics.median(off):>14.2f}  {' '.join(f'{x:.1f}' for x in off)}")
print(f"{'monitor on + /api/events':<26} {statistics.median(on):>14.2f}  {' '.join(f'{x:.1f}' for x in on)}")
print(f"step events streamed per run: {' '.join(map(str, streamed))} (of {steps})")
print(f"dashboard overhead: {100 * (statistics.median(on) / statistics.median(off) - 1):+.1f}%")
PY
