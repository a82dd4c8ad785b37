#!/usr/bin/env bash
# Remoting cost and failure recovery of a multi-process run (issue #4), on one machine over loopback:
#   - step time of the 2x200 LSTM LM of bench/parallel-benchmark.sh (vocabulary ~10k, batch 20, bptt 35,
#     dropout 0.2) trained with 2 worker actors in one process, against the same run as 1 coordinator +
#     2 rnncluster-worker processes on 127.0.0.1, once per gradient exchange of BENCH_EXCHANGES, all in
#     the same run: tokens/s, ms per step, the ratio to the in-process step and summary.json's
#     stepTimeSplit side by side, and how much remoting adds (goal for all-reduce: <= +10%); the all-reduce
#     rows' transfer split into waiting for the slower worker's backward (stepTimeSplit.peerWait) and the rest; plus the
#     CPU time per step of each process, which (unlike wall time) other load on a shared machine hardly
#     changes, and the part of it off the compute threads (data plane, Akka, coordinating, GC, JIT), which
#     the compute's own run-to-run swings do not move either;
#   - bytes per step per worker: the lo transmit counter of /proc/net/dev over the timed steps / steps /
#     2 workers (as bench/ddp/ddp_lm.py counts), against the expectation: 2(W-1)/W x the model for
#     all-reduce (half that with bf16), 2 x the model for coordinator (parameters in, gradients out);
#   - optionally (BENCH_BF16_LOSS_STEPS) bf16 gradient compression's effect on the validation loss: two
#     cluster all-reduce runs of that many steps, same seed, compression none and bf16;
#   - recovery: SIGKILL of one worker after ~30 steps, with the default failure detector; seconds from
#     the kill to the coordinator's data-plane link seeing the process gone, Akka marking the node
#     unreachable, the 1-worker generation and the first step without it, BENCH_RECOVERY_TRIALS times
#     and the median of each (goal: first step <= 5 s);
#   - coordinator failover: a standby coordinator on the same run directory; SIGKILL, then (a second run)
#     SIGTERM to the first coordinator after BENCH_KILL_AFTER steps; seconds to the singleton on the
#     standby and to its first step, where it resumed (the workers' copy or a checkpoint) and the steps
#     lost, BENCH_FAILOVER_TRIALS times per signal (goals: crash <= 20 s with 0 lost; SIGTERM <= 5 s).
# Threads: in one process runtime.threads = BENCH_THREADS (2 replicas x BENCH_THREADS/2); across
# processes each worker gets BENCH_THREADS/2 and the coordinator the rest (at least 1); OPENBLAS_NUM_THREADS=1.
#   BENCH_STEPS (default 350; metrics every 50 steps, or every BENCH_STEPS/3 below 150), BENCH_WARMUP_STEPS (steps before the timed
#   window, a multiple of the metrics interval; default 150 from 350 steps up, else one interval: the .NET runtimes' tiered JIT
#   still compiles for ~150 steps, three processes' worth in a cluster), BENCH_THREADS (default nproc), BENCH_REPEATS (alternating
#   rounds of in-process + one cluster run per exchange, default 1), BENCH_EXCHANGES (the cluster runs' cluster.gradient-exchange, in order:
#   any of all-reduce (payloads through shared memory, the default), all-reduce+socket (cluster.shared-memory=off: over the
#   loopback sockets), coordinator (the old parameter-server path) and all-reduce+bf16 (cluster.gradient-compression=bf16, over
#   the sockets); default "all-reduce all-reduce+socket coordinator all-reduce+bf16"), BENCH_BF16_LOSS_STEPS (default 0 = skip; e.g. 300: the bf16 validation-loss runs),
#   BENCH_BF16_LOSS_SEEDS (runtime.seed of each none/bf16 pair of those runs, default 1234; "1234 1235": two pairs, and the seeds' spread),
#   BENCH_RECOVERY_TRIALS (default 3; 0 skips recovery),
#   BENCH_FAILOVER_TRIALS (default 1 per signal; 0 skips failover), BENCH_KILL_AFTER (default 30),
#   RNN_BENCH_BIN (a folder holding rnncluster.dll and rnncluster-worker.dll: skip the Release build)
#   BENCH_DDP (default 1: after our runs, the PyTorch DDP reference, bench/ddp/ddp_lm.py, on the same model
#   and cores, printed beside ours with ratios; 0 skips it; only: the DDP reference alone, no build and
#   none of our runs), BENCH_DDP_STEPS (timed steps per DDP configuration, default 60: on glibc's default malloc its step times here are bimodal,
#   e.g. 152-160 and 220-420 ms within one 20-step row, and more steps steady the median), BENCH_REF_MALLOC
#   (ours, the default: the DDP reference runs with the glibc malloc settings our processes set for
#   themselves, which made its step times steady, bench/same-malloc.sh; default: glibc's own)
# Output: the tables on stdout; node logs, run directories, results.json and ddp.json under bench/out/cluster/.
# Duration: 1 + (number of exchanges) runs of BENCH_STEPS steps (~70 s each at 350 steps on the 2-core machine) and the
# recovery runs (BENCH_RECOVERY_TRIALS=0 for a quick step-time comparison: ~2.5 minutes for one all-reduce round); the DDP
# reference adds ~30 s.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/bench/out/cluster"
steps=${BENCH_STEPS:-350}
warmup=${BENCH_WARMUP_STEPS:-}
threads=${BENCH_THREADS:-$(nproc)}
repeats=${BENCH_REPEATS:-1}
exchanges=${BENCH_EXCHANGES:-all-reduce all-reduce+socket coordinator all-reduce+bf16}
loss_steps=${BENCH_BF16_LOSS_STEPS:-0}
loss_seeds=${BENCH_BF16_LOSS_SEEDS:-1234}
trials=${BENCH_RECOVERY_TRIALS:-3}
failovers=${BENCH_FAILOVER_TRIALS:-1}
kill_after=${BENCH_KILL_AFTER:-30}
ddp=${BENCH_DDP:-1}
ddp_steps=${BENCH_DDP_STEPS:-60}
# Debian's python3-torch; the python3 on PATH may be another one without torch.
ddp_python=/usr/bin/python3

die() { echo "cluster-benchmark: $*" >&2; exit 1; }
[[ -z $warmup || $warmup =~ ^[1-9][0-9]*$ ]] || die "BENCH_WARMUP_STEPS must be a positive integer, got '$warmup'"
for name in steps threads repeats kill_after ddp_steps; do
  [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "$name must be a positive integer, got '${!name}'"
done
# 0 recovery trials: step time and bytes only (quick experiments with settings or runtime knobs).
[[ $trials =~ ^[0-9]+$ ]] || die "BENCH_RECOVERY_TRIALS must be a whole number, got '$trials'"
[[ $failovers =~ ^[0-9]+$ ]] || die "BENCH_FAILOVER_TRIALS must be a whole number, got '$failovers'"
[[ $loss_steps =~ ^[0-9]+$ ]] || die "BENCH_BF16_LOSS_STEPS must be a whole number, got '$loss_steps'"
for exchange in $exchanges; do
  case $exchange in all-reduce|all-reduce+socket|coordinator|all-reduce+bf16) ;; *) die "BENCH_EXCHANGES: unknown exchange '$exchange' (all-reduce, all-reduce+socket, coordinator, all-reduce+bf16)" ;; esac
done
[[ -n ${exchanges// /} ]] || die "BENCH_EXCHANGES is empty: name at least one of all-reduce, all-reduce+socket, coordinator, all-reduce+bf16"
grep -q '^ *lo:' /proc/net/dev 2>/dev/null || die "no lo line in /proc/net/dev: bytes per step need Linux loopback counters"
[[ $ddp == 0 || $ddp == 1 || $ddp == only ]] || die "BENCH_DDP must be 0, 1 or only, got '$ddp'"
source "$root/bench/same-malloc.sh"  # ref_tunables: the glibc malloc settings the DDP reference runs with
[[ $ddp == 0 || -x $ddp_python ]] || die "$ddp_python does not exist: the DDP reference needs Debian's python3 (BENCH_DDP=0 skips it)"
mkdir -p "$out/logs"

# The command as a reader would retype it: the benchmark's variables that are set, and whatever else
# changes the figures — RNNCLUSTER_SET (settings every node applies) and the .NET runtime's knobs
# (DOTNET_*, leaving out the SDK's own CLI and first-run variables).
command="bash bench/cluster-benchmark.sh"
for name in $(compgen -e | sort -r); do
  case $name in
    BENCH_STEPS|BENCH_WARMUP_STEPS|BENCH_THREADS|BENCH_REPEATS|BENCH_EXCHANGES|BENCH_BF16_LOSS_STEPS|BENCH_BF16_LOSS_SEEDS|BENCH_RECOVERY_TRIALS|BENCH_FAILOVER_TRIALS|BENCH_KILL_AFTER|BENCH_DDP|BENCH_DDP_STEPS|BENCH_REF_MALLOC|RNNCLUSTER_SET) ;;
    DOTNET_CLI_*|DOTNET_NOLOGO|DOTNET_ROOT*|DOTNET_GENERATE_ASPNET_CERTIFICATE|DOTNET_SKIP_FIRST_TIME_EXPERIENCE) continue ;;
    DOTNET_*) ;;
    *) continue ;;
  esac
  command="$name=$(printf '%q' "${!name}") $command"
done

# Runs a Python driver in the background and waits for it, passing INT, TERM and HUP on as SIGTERM: the
# drivers then stop what they started, as they did when this script exec'd the cluster driver.
run_child() {
  "$@" &
  local child=$! status=0
  trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM HUP
  wait "$child" || status=$?
  while kill -0 "$child" 2>/dev/null; do  # a trap ended the wait, not the driver: wait for its exit status
    status=0
    wait "$child" || status=$?
  done
  trap - INT TERM HUP
  return "$status"
}

# PyTorch DDP on the same model (bench/ddp/ddp_lm.py installs python3-torch with apt-get if it is missing):
# one process vs 2 DDP processes on 127.0.0.1, and DDP without its all-reduce; with our results.json of
# this run it prints our figures beside DDP's (step-time overhead, extra CPU, loopback bytes per worker).
run_ddp() {
  local ours=()
  [[ $# -gt 0 ]] && ours=(--ours "$1")
  echo "running the PyTorch DDP reference (BENCH_DDP=0 skips it) ..." >&2
  run_child env GLIBC_TUNABLES="$ref_tunables" "$ddp_python" "$root/bench/ddp/ddp_lm.py" --steps "$ddp_steps" --threads "$threads" "${ours[@]}" \
    --json "$out/ddp.json" --command "$command" || die "the PyTorch DDP reference failed (BENCH_DDP=0 skips it)"
}
if [[ $ddp == only ]]; then
  run_ddp
  exit 0
fi

bin=${RNN_BENCH_BIN:-}
if [[ -z $bin ]]; then
  echo "building Release coordinator and worker into bench/out/bin ..." >&2
  bin="$root/bench/out/bin"
  for project in Coordinator/RnnCluster.Coordinator.csproj Worker/RnnCluster.Worker.csproj; do
    dotnet build "$root/$project" -c Release -o "$bin" -nologo -v quiet -clp:ErrorsOnly > "$out/logs/build.log" 2>&1 \
      || { tail -n 30 "$out/logs/build.log" >&2; die "Release build of $project failed (log: $out/logs/build.log)"; }
  done
fi
for dll in rnncluster.dll rnncluster-worker.dll; do
  [[ -f $bin/$dll ]] || die "$bin/$dll does not exist"
done

# The same corpus as bench/parallel-benchmark.sh: any words10k corpus already made, else make one.
corpus=$(ls -d "$root"/bench/out/corpus/words10k-* 2>/dev/null | head -n 1 || true)
if [[ -z $corpus || ! -f $corpus/test.txt ]]; then  # test.txt is written last: it marks a complete corpus
  corpus="$root/bench/out/corpus/words10k-parallel"
  python3 "$root/bench/lm/make_corpus.py" "$corpus" --vocab 10000 --train-tokens 400000 --valid-tokens 5000 --test-tokens 5000 --seed 1 \
    2> "$out/logs/corpus.log" || { cat "$out/logs/corpus.log" >&2; die "corpus generation failed"; }
fi

rm -f "$out/results.json" "$out/ddp.json"  # figures of an earlier run must not pass for this one's
run_child python3 "$root/bench/cluster/cluster_bench.py" --bin "$bin" --corpus "$corpus" --out "$out" --root "$root" \
  --steps "$steps" ${warmup:+--warmup "$warmup"} --threads "$threads" --repeats "$repeats" --exchanges "$exchanges" --bf16-loss-steps "$loss_steps" --bf16-loss-seeds "$loss_seeds" --recovery-trials "$trials" --failover-trials "$failovers" --kill-after "$kill_after" \
  --command "$command" || exit $?
if [[ $ddp == 1 ]]; then
  [[ -f $out/results.json ]] || die "$out/results.json was not written: no figures of ours to put beside DDP's"
  run_ddp "$out/results.json"
fi
