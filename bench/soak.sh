#!/usr/bin/env bash
# Soak test: a coordinator (or a coordinator and a standby) and N workers on 127.0.0.1, trained for a
# given time while a seeded schedule of faults lands on them; then a verdict on what must survive.
#
# Usage:
#   bench/soak.sh [OPTION...]
#
# Every --fault-every seconds one worker, picked at random, is either killed (SIGKILL; started again
# --restart-delay seconds later, as a launcher or systemd would) or paused (SIGSTOP for
# --pause-seconds, longer than the failure detector's acceptable pause, then SIGCONT; the cluster
# downs it, it exits 3 and its runner starts it again). Every --coordinator-fault-every seconds the
# active coordinator is killed with SIGKILL; the launcher (deploy/local-cluster.sh with
# --coordinator-restarts) starts it again. With --coordinators 2 the standby takes the run over from
# the workers; with one coordinator the restarted one resumes from the newest checkpoint. Before each
# fault the script waits until the cluster has recovered from the previous one (every node running,
# the newest generation holding every worker, steps advancing): faults exercise recovery, not a pile-up.
#
# When the time is up the cluster is stopped with SIGTERM (the coordinator checkpoints at a step
# boundary and exits 130), an unfailed in-process run of the same number of steps and the same worker
# count is trained as the reference, and bench/soak/verdict.py checks and prints:
#   steps      every step applied once: the final lineage of metrics.jsonl is 1..N without a gap,
#              steps redone only after a coordinator kill (at most the checkpoint interval each),
#              and summary.json counts the tokens of exactly N steps (the reference's)
#   prefix     the steps before the first fault have the reference's losses, bit for bit
#   loss       the last validation loss within the tolerance of the reference's at the same step
#   memory     per process lineage, VmRSS and VmHWM of the last sample within the margin of the
#              sample after warm-up; fds and threads within a small slack (leak and queue proxies)
#   faults     every fault injected was survived: the node came back and the run went on
# Exit status: 0 when every check holds, 1 when one fails, 2 on bad usage.
#
# Options:
#   --minutes N                  how long faults are injected (default 60)
#   --fault-every S              seconds between worker faults (default 120)
#   --coordinator-fault-every S  seconds between coordinator kills (default 600; 0 = none)
#   --coordinators N             1, or 2 for a standby (default 1)
#   --workers N                  worker processes (default 3)
#   --seed N                     seeds the fault schedule (default 1)
#   --out DIR                    output directory (default runs/soak-<UTC time>); it gets run/ (the
#                                cluster's run directory and logs), faults.csv, faults.log,
#                                resources.csv, reference/ and verdict.txt
#   --pause-seconds S            how long a paused worker stays stopped (default 20)
#   --acceptable-pause S         cluster.acceptable-heartbeat-pause in seconds (default 8)
#   --restart-delay S            seconds before a killed worker is started again (default 5)
#   --sample-every S             seconds between resource samples (default 60)
#   --warmup S                   the memory baseline is a lineage's first sample this long after its
#                                start (default 300, or 60 for runs under 30 minutes)
#   --step-delay MS              the coordinator holds each step's window this long (the test-only
#                                transport delay): steps stay slow enough that the reference run,
#                                trained in one process without the delay, is quick (default 100)
#   --checkpoint-every N         checkpoint.every-steps (default 100)
#   --eval-every N               training.eval-every-steps (default 250)
#   --loss-tolerance F           relative tolerance of the final validation loss (default 0.03)
#   --memory-margin F            relative growth of VmRSS/VmHWM allowed (default 0.15)
#   --throughput-floor F         the last tenth's median tokens/s must be at least F x the first
#                                tenth's (default 0.7; the CI test, which runs beside the rest of the
#                                suite on a loaded machine, passes a lower one)
#   --settle-timeout S           how long a fault's recovery may take (default 240)
#   --no-build                   use the executables already in artifacts/bin
#   --coordinator-exe PATH, --worker-exe PATH
#                                run these instead of the built executables (implies --no-build; the
#                                reference run uses the coordinator's)
set -euo pipefail

RNN_PROG="soak"
# shellcheck source=SCRIPTDIR/../deploy/lib/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/lib/cluster-lib.sh"
root=$RNN_REPO_ROOT
launcher="$root/deploy/local-cluster.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
usage_error() {
  printf '%s: error: %s (see --help)\n' "$RNN_PROG" "$1" >&2
  exit 2
}

minutes=60
fault_every=120
coordinator_every=600
coordinators=1
workers=3
seed=1
out=""
pause_s=20
acceptable_pause=8
restart_delay=5
sample_every=60
warmup=""
step_delay=100
checkpoint_every=100
eval_every=250
loss_tolerance=0.03
memory_margin=0.15
throughput_floor=0.7
settle_timeout=240
build=1
coordinator_exe=""
worker_exe=""

need() { [ $# -ge 2 ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --minutes) need "$@"; minutes=$2; shift 2 ;;
    --fault-every) need "$@"; fault_every=$2; shift 2 ;;
    --coordinator-fault-every) need "$@"; coordinator_every=$2; shift 2 ;;
    --coordinators) need "$@"; coordinators=$2; shift 2 ;;
    --workers) need "$@"; workers=$2; shift 2 ;;
    --seed) need "$@"; seed=$2; shift 2 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    --pause-seconds) need "$@"; pause_s=$2; shift 2 ;;
    --acceptable-pause) need "$@"; acceptable_pause=$2; shift 2 ;;
    --restart-delay) need "$@"; restart_delay=$2; shift 2 ;;
    --sample-every) need "$@"; sample_every=$2; shift 2 ;;
    --warmup) need "$@"; warmup=$2; shift 2 ;;
    --step-delay) need "$@"; step_delay=$2; shift 2 ;;
    --checkpoint-every) need "$@"; checkpoint_every=$2; shift 2 ;;
    --eval-every) need "$@"; eval_every=$2; shift 2 ;;
    --loss-tolerance) need "$@"; loss_tolerance=$2; shift 2 ;;
    --memory-margin) need "$@"; memory_margin=$2; shift 2 ;;
    --throughput-floor) need "$@"; throughput_floor=$2; shift 2 ;;
    --settle-timeout) need "$@"; settle_timeout=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --coordinator-exe) need "$@"; coordinator_exe=$2; build=0; shift 2 ;;
    --worker-exe) need "$@"; worker_exe=$2; build=0; shift 2 ;;
    *) usage_error "unknown option $1" ;;
  esac
done

for pair in "minutes:$minutes" "fault-every:$fault_every" "coordinator-fault-every:$coordinator_every" \
  "coordinators:$coordinators" "workers:$workers" "seed:$seed" "pause-seconds:$pause_s" \
  "acceptable-pause:$acceptable_pause" "restart-delay:$restart_delay" "sample-every:$sample_every" \
  "step-delay:$step_delay" "checkpoint-every:$checkpoint_every" "eval-every:$eval_every" \
  "settle-timeout:$settle_timeout" "warmup:${warmup:-0}"; do
  rnn_is_uint "${pair#*:}" || usage_error "--${pair%%:*} must be a whole number, got '${pair#*:}'"
done
rnn_in_range "$coordinators" 1 2 || usage_error "--coordinators must be 1 or 2"
((workers >= 1)) || usage_error "--workers must be at least 1"
((minutes >= 1)) || usage_error "--minutes must be at least 1"
((fault_every >= 1)) || usage_error "--fault-every must be at least 1 second"
((sample_every >= 1)) || usage_error "--sample-every must be at least 1 second"
((pause_s > acceptable_pause)) || usage_error "--pause-seconds ($pause_s) must exceed --acceptable-pause ($acceptable_pause): a shorter pause is no fault"
[[ $loss_tolerance =~ ^[0-9]*\.?[0-9]+$ ]] || usage_error "--loss-tolerance must be a number, got '$loss_tolerance'"
[[ $memory_margin =~ ^[0-9]*\.?[0-9]+$ ]] || usage_error "--memory-margin must be a number, got '$memory_margin'"
[[ $throughput_floor =~ ^[0-9]*\.?[0-9]+$ ]] || usage_error "--throughput-floor must be a number, got '$throughput_floor'"
if [ -z "$warmup" ]; then
  if ((minutes >= 30)); then warmup=300; else warmup=60; fi
fi

out=${out:-$root/runs/soak-$(date -u +%Y%m%d-%H%M%S)}
[ ! -e "$out/run" ] || usage_error "$out already holds a soak run; choose another --out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
run="$out/run"
state="$run/cluster"
logs="$run/logs"
faults_csv="$out/faults.csv"
faults_log="$out/faults.log"
resources_csv="$out/resources.csv"

# The run: a tiny LSTM on builtin:agreement (a step takes milliseconds of compute), dropout off so the
# reference is comparable, a constant learning rate so no schedule decision amplifies float chaos, and
# no end of its own (max-steps 0, endless epochs): the soak ends it by time with SIGTERM. Every step is
# logged (the verdict reads the lineage of steps from metrics.jsonl).
run_sets=(
  "model.layers=1" "model.hidden-size=16" "model.embedding-size=16"
  "model.dropout.embedding=0" "model.dropout.between-layers=0" "model.dropout.output=0"
  "data.builtin.sentences=2000" "data.bptt=10" "data.batch-size=12" "runtime.threads=1"
  "training.optimizer=sgd" "training.learning-rate=1" "training.clip-norm=0.5" "training.schedule=constant"
  "training.epochs=1000000" "training.max-steps=0" "training.log-every-steps=1" "training.eval-every-steps=$eval_every"
  "checkpoint.every-steps=$checkpoint_every" "checkpoint.keep-last=3"
)

say() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $*"
  printf '%s\n' "$line" >>"$faults_log"
  printf '%s: %s\n' "$RNN_PROG" "$line" >&2
}

started_ms=0
# elapsed: ELAPSED = whole seconds since the cluster came up.
elapsed() {
  rnn_now_ms
  ELAPSED=$(((RNN_NOW_MS - started_ms) / 1000))
}

# --- resources -----------------------------------------------------------------------------------

coordinator_names=(coordinator)
((coordinators < 2)) || coordinator_names+=(coordinator-2)
worker_names=()
for ((i = 1; i <= workers; i++)); do worker_names+=("worker-$i"); done

# sample_once: one row per live node process: VmRSS, VmHWM (kB), threads, open fds.
sample_once() {
  local name key value rss hwm threads fds now
  elapsed
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for name in "${coordinator_names[@]}" "${worker_names[@]}"; do
    rnn_node_state "$state" "$name"
    case "$RNN_STATE" in running | paused) ;; *) continue ;; esac
    rss="" hwm="" threads=""
    while read -r key value _; do
      case "$key" in
        VmRSS:) rss=$value ;;
        VmHWM:) hwm=$value ;;
        Threads:) threads=$value ;;
      esac
    done <"/proc/$RNN_PID/status" 2>/dev/null || continue
    fds=$(find "/proc/$RNN_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    [ -n "$rss" ] || continue
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$now" "$ELAPSED" "$name" "$RNN_PID" "$RNN_STATE" "$rss" "$hwm" "$threads" "$fds" >>"$resources_csv"
  done
}

sampler() {
  while :; do
    sample_once
    sleep "$sample_every"
  done
}

# --- cluster health ------------------------------------------------------------------------------

train_lines() {
  TRAIN_LINES=0
  [ -f "$run/metrics.jsonl" ] && TRAIN_LINES=$(grep -c '"kind":"train"' "$run/metrics.jsonl" || true)
}

last_step() {
  LAST_STEP=0
  local line
  [ -f "$run/metrics.jsonl" ] || return 0
  line=$(grep '"kind":"train"' "$run/metrics.jsonl" | tail -n 1 || true)
  [[ $line =~ \"step\":([0-9]+) ]] && LAST_STEP=${BASH_REMATCH[1]}
  return 0
}

# full_generation: the newest generation announced by the coordinator that runs the singleton now
# holds every worker. A coordinator's log spans its lives; only the current life (after the launcher's
# last "starting NAME" header) counts, and only if the singleton started in it.
full_generation() {
  local name
  for name in "${coordinator_names[@]}"; do
    [ -f "$logs/$name.log" ] || continue
    awk -v header="=== local-cluster: starting $name at " -v want="$workers" '
      index($0, header) == 1 { active = 0; n = -1 }
      index($0, "coordinator singleton started on this node") { active = 1 }
      match($0, /Generation [0-9]+: [0-9]+ workers/) { split(substr($0, RSTART, RLENGTH), f, " "); n = f[3] }
      END { exit !(active && n == want) }' "$logs/$name.log" && return 0
  done
  return 1
}

all_running() {
  local name
  for name in "${coordinator_names[@]}" "${worker_names[@]}"; do
    rnn_node_state "$state" "$name"
    [ "$RNN_STATE" = running ] || return 1
  done
}

# wait_healthy WHAT: until every node runs, the newest generation holds every worker and 5 more
# steps were logged after that; fails after --settle-timeout seconds. HEALTHY_S = how long it took.
wait_healthy() {
  local t0 base
  rnn_now_ms
  t0=$RNN_NOW_MS
  train_lines
  base=$TRAIN_LINES
  while :; do
    if all_running && full_generation; then
      train_lines
      if ((TRAIN_LINES >= base + 5)); then
        rnn_now_ms
        HEALTHY_S=$(((RNN_NOW_MS - t0) / 1000))
        return 0
      fi
    else
      train_lines
      base=$TRAIN_LINES
    fi
    rnn_now_ms
    if ((RNN_NOW_MS - t0 > settle_timeout * 1000)); then
      HEALTHY_S=$(((RNN_NOW_MS - t0) / 1000))
      say "the cluster did not recover within ${settle_timeout}s ($1)"
      "$launcher" status -r "$run" >>"$faults_log" 2>&1 || true
      return 1
    fi
    sleep 1
  done
}

# --- faults --------------------------------------------------------------------------------------

# record KIND TARGET PID STEP RECOVERED_S OUTCOME
record() {
  elapsed
  printf '%s,%s,%s,%s,%s,%s,%s,%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ELAPSED" "$1" "$2" "$3" "$4" "$5" "$6" >>"$faults_csv"
}

kill_worker() {
  local name=$1 pid step
  rnn_node_pid "$state" "$name" || return 1
  pid=$RNN_PID
  last_step
  step=$LAST_STEP
  say "fault: SIGKILL $name (pid $pid) after step $step"
  "$launcher" kill "$name" -r "$run" 2>>"$faults_log"
  rnn_wait_exit 30 "$state" "$name" || true
  rnn_wait_recorded "$state" "$name"
  sleep "$restart_delay"
  if ! "$launcher" start-worker "${name#worker-}" -r "$run" 2>>"$faults_log"; then
    say "$name did not start again"
    record worker-kill "$name" "$pid" "$step" "" "not-restarted"
    return 0
  fi
  if wait_healthy "after killing $name"; then
    say "recovered from killing $name in ${HEALTHY_S}s (after the restart)"
    record worker-kill "$name" "$pid" "$step" "$HEALTHY_S" survived
  else
    record worker-kill "$name" "$pid" "$step" "$HEALTHY_S" not-recovered
  fi
}

pause_worker() {
  local name=$1 pid step outcome
  rnn_node_pid "$state" "$name" || return 1
  pid=$RNN_PID
  last_step
  step=$LAST_STEP
  say "fault: SIGSTOP $name (pid $pid) for ${pause_s}s after step $step"
  "$launcher" pause "$name" -r "$run" 2>>"$faults_log"
  sleep "$pause_s"
  "$launcher" resume "$name" -r "$run" 2>>"$faults_log" || true
  say "SIGCONT $name"
  # Downed while stopped, it exits 3 once continued and its runner starts a new incarnation.
  outcome=survived
  if wait_healthy "after pausing $name"; then
    rnn_node_pid "$state" "$name" || true
    if [ "$RNN_PID" = "$pid" ]; then
      say "recovered from pausing $name in ${HEALTHY_S}s (the same process: it was not downed)"
      outcome=survived-not-downed
    else
      say "recovered from pausing $name in ${HEALTHY_S}s (downed, restarted as pid $RNN_PID)"
    fi
    record worker-pause "$name" "$pid" "$step" "$HEALTHY_S" "$outcome"
  else
    record worker-pause "$name" "$pid" "$step" "$HEALTHY_S" not-recovered
  fi
}

kill_coordinator() {
  local out_line name pid="" step c
  local -A pids=()
  for c in "${coordinator_names[@]}"; do
    if rnn_node_pid "$state" "$c"; then pids[$c]=$RNN_PID; fi
  done
  last_step
  step=$LAST_STEP
  out_line=$("$launcher" kill-coordinator -r "$run" 2>&1 | tail -n 1)
  name=coordinator
  [[ $out_line =~ SIGKILL\ to\ ([a-z0-9-]+) ]] && name=${BASH_REMATCH[1]}
  pid=${pids[$name]:-}
  say "fault: SIGKILL the active coordinator $name after step $step ($out_line)"
  # The launcher restarts it (--coordinator-restarts); the standby, if any, takes the run over.
  if wait_healthy "after killing $name"; then
    say "recovered from killing $name in ${HEALTHY_S}s"
    record coordinator-kill "$name" "$pid" "$step" "$HEALTHY_S" survived
  else
    record coordinator-kill "$name" "$pid" "$step" "$HEALTHY_S" not-recovered
  fi
}

# The soak itself is one function, read whole before it runs: editing this file during a soak of an
# hour cannot change what the running shell reads next.
main() {
  # --- the soak ------------------------------------------------------------------------------------

  cluster_args=(-w "$workers" --coordinators "$coordinators" -r "$run" -p 0 --coordinator-restarts 100000
    --stop-timeout 30 --ready-timeout 300 --detach)
  for s in "${run_sets[@]}" "cluster.acceptable-heartbeat-pause=${acceptable_pause}s"; do cluster_args+=(--set "$s"); done
  # Only the coordinators turn the test-only delay on; the workers ignore RNNCLUSTER_FAULTS.
  cluster_args+=(--coordinator-set cluster.test-faults=true)
  # Each coordinator's monitor on a port of its own (its log says which): two would contend for the
  # default one, and a soak beside other runs (the CI test beside the suite) must not take it from them.
  cluster_args+=(--coordinator-set monitor.port=0)
  ((build)) || cluster_args+=(--no-build)
  [ -z "$coordinator_exe" ] || cluster_args+=(--coordinator-exe "$coordinator_exe")
  [ -z "$worker_exe" ] || cluster_args+=(--worker-exe "$worker_exe")
  coordinator_exe=${coordinator_exe:-$root/artifacts/bin/rnncluster/rnncluster.dll}

  printf 'time,elapsed_s,kind,target,pid,after_step,recovered_s,outcome\n' >"$faults_csv"
  printf 'time,elapsed_s,node,pid,state,vm_rss_kb,vm_hwm_kb,threads,fds\n' >"$resources_csv"
  : >"$faults_log"
  {
    printf 'minutes=%s fault_every=%s coordinator_fault_every=%s coordinators=%s workers=%s seed=%s\n' \
      "$minutes" "$fault_every" "$coordinator_every" "$coordinators" "$workers" "$seed"
    printf 'pause_seconds=%s acceptable_pause=%s restart_delay=%s sample_every=%s warmup=%s step_delay_ms=%s\n' \
      "$pause_s" "$acceptable_pause" "$restart_delay" "$sample_every" "$warmup" "$step_delay"
    printf 'checkpoint_every=%s eval_every=%s loss_tolerance=%s memory_margin=%s throughput_floor=%s\n' \
      "$checkpoint_every" "$eval_every" "$loss_tolerance" "$memory_margin" "$throughput_floor"
    printf 'settings=%s\n' "${run_sets[*]}"
  } >"$out/soak.env"

  sampler_pid=""
  cleanup() {
    if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; fi
    if [ -f "$state/supervisor.pid" ] && rnn_node_pid "$state" supervisor; then
      say "stopping the cluster"
      "$launcher" stop -r "$run" >/dev/null 2>&1 || true
    fi
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  say "starting ${workers} workers and ${coordinators} coordinator(s) in $run"
  RNNCLUSTER_FAULTS="delay=${step_delay}ms" "$launcher" start "${cluster_args[@]}" >/dev/null 2>>"$faults_log" ||
    rnn_die 1 "the cluster did not start; see $faults_log and $logs"
  rnn_now_ms
  started_ms=$RNN_NOW_MS
  sampler &
  sampler_pid=$!

  wait_healthy "at the start" || rnn_die 1 "the cluster never trained with every worker; see $logs"
  say "the cluster trains with every worker"

  RANDOM=$seed
  total=$((minutes * 60))
  next_worker=$fault_every
  next_coordinator=0
  ((coordinator_every == 0)) || next_coordinator=$coordinator_every
  while :; do
    next=$next_worker
    if ((next_coordinator > 0 && next_coordinator <= next)); then next=$next_coordinator; fi
    elapsed
    ((next < total)) || break
    ((ELAPSED >= next)) || sleep $((next - ELAPSED))
    elapsed
    ((ELAPSED < total)) || break
    if ((next_coordinator > 0 && next_coordinator <= next_worker)); then
      kill_coordinator
      next_coordinator=$((next_coordinator + coordinator_every))
      continue
    fi
    # Two draws per fault, always in this order, so a seed names one schedule of targets and kinds.
    target=${worker_names[RANDOM % workers]}
    kind=$((RANDOM % 2))
    if ((kind == 0)); then
      kill_worker "$target" || say "skipped: $target was not running"
    else
      pause_worker "$target" || say "skipped: $target was not running"
    fi
    next_worker=$((next_worker + fault_every))
  done

  elapsed
  sleep $((total > ELAPSED ? total - ELAPSED : 0))
  wait_healthy "at the end" || true
  sample_once
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  last_step
  say "time is up after step $LAST_STEP: stopping the cluster with SIGTERM (the coordinator checkpoints)"
  "$launcher" stop -r "$run" >/dev/null 2>>"$faults_log" || true
  cluster_rc=""
  { read -r cluster_rc <"$state/exit"; } 2>/dev/null || true
  say "cluster exit status ${cluster_rc:-unknown}"
  printf 'cluster_exit=%s\n' "${cluster_rc:-unknown}" >>"$out/soak.env"

  # --- the reference: the same steps in one process, nothing failing -----------------------------
  steps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"])' "$run/summary.json" 2>/dev/null || echo "")
  if rnn_is_uint "${steps:-x}" && ((steps > 0)); then
    say "training the unfailed reference: $steps steps, $workers in-process workers"
    ref_args=(train --plain --sample-length 0 --config "$root/cluster.hocon" --run-dir "$out/reference")
    for s in "${run_sets[@]}" "parallel.workers=$workers" "training.max-steps=$steps"; do ref_args+=(--set "$s"); done
    dotnet "$coordinator_exe" "${ref_args[@]}" >"$out/reference.log" 2>&1 ||
      say "the reference run failed; see $out/reference.log"
  else
    say "no summary.json with a step count in $run: no reference run"
  fi

  trap - EXIT
  set +e
  python3 "$root/bench/soak/verdict.py" "$out"
  rc=$?
  say "verdict: $([ $rc = 0 ] && echo PASS || echo FAIL) (table in $out/verdict.txt)"
  exit "$rc"
}

main "$@"; exit $?
