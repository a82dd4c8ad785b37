#!/usr/bin/env bash
# A whole RnnCluster cluster on this machine: one coordinator (or several, for failover) and N
# worker processes on 127.0.0.1.
#
# Usage:
#   deploy/local-cluster.sh [start] [OPTION...] [-- TRAIN-OPTION...]
#   deploy/local-cluster.sh COMMAND [--run-dir DIR] [NODE]
#
# start (the default) builds both executables, starts the coordinator (`rnncluster train --cluster`),
# waits until it listens, starts the workers, and then watches the coordinator. It exits with the
# coordinator's exit status: 0 when training finished, 130 after SIGINT/SIGTERM (the coordinator
# writes a checkpoint first), 1 on errors. Ctrl-C (or SIGTERM) stops the cluster in order: the
# coordinator first, so it can finish its step with the workers still there and checkpoint, then
# the workers; each gets --stop-timeout before SIGKILL. A second Ctrl-C kills at once.
#
# With --coordinators N > 1, N coordinator-eligible processes share the run directory: the first
# forms the cluster, the others join it through the first (their cluster.seeds) and stand by; the
# coordinator singleton runs on the oldest, and when that one dies another takes the run over from
# the newest checkpoint. Workers list every coordinator as a seed. The exit status is then that of
# the coordinator that finished the run (0), or, when none did, of the last one to exit; a killed
# coordinator's own non-zero status is part of a failover, not the cluster's result.
#
# Options of start:
#   -w, --workers N          worker processes (default 2)
#       --coordinators N     coordinator-eligible processes (default 1): coordinator, coordinator-2,
#                            ... coordinator-N (coordinator-1 is another name for the first)
#   -r, --run-dir DIR        run directory: checkpoints/, metrics.jsonl, summary.json of the
#                            coordinator, plus logs/<node>.log and cluster/ (pids, secret)
#                            (default runs/local-<UTC time> in the checkout)
#   -c, --config FILE        settings file for every node (default: the checkout's cluster.hocon)
#       --set KEY=VALUE      override a setting on every node (repeatable)
#       --coordinator-set KEY=VALUE, --worker-set KEY=VALUE
#                            override a setting on the coordinator / on every worker only
#       --host ADDRESS       address every node binds (default 127.0.0.1)
#   -p, --base-port PORT     the first coordinator's port; coordinator k gets PORT+k-1, worker i the
#                            next ones (PORT+N-1+i with N coordinators; default 2552; 0 = free ports)
#       --secret FILE        cluster secret file (default: cluster/secret in the run directory,
#                            generated with mode 0600 when missing)
#       --faults SPEC        test-only transport faults on every node, e.g. 'delay=50ms;drop=0.01':
#                            sets RNNCLUSTER_FAULTS and --set cluster.test-faults=true
#       --coordinator-restarts N
#                            restart a coordinator that exits with an error up to N times; it resumes
#                            from the newest committed checkpoint (default 0; one budget for all). With
#                            several coordinators a restarted one joins those still running, or forms
#                            the cluster again when none runs (all of them crashed)
#       --stop-order coordinator-first|workers-first
#                            order of a requested stop (default coordinator-first; the standby
#                            coordinators before the active one, which checkpoints last)
#       --stop-timeout S     seconds each node gets to exit after SIGTERM (default 60)
#       --ready-timeout S    seconds a node gets to start listening (default 180)
#   -d, --detach             return once the cluster is up; the launcher keeps watching it in the
#                            background (see `wait`, `stop`)
#       --no-build           use the executables already in artifacts/bin
#       --coordinator-exe PATH, --worker-exe PATH
#                            run these instead of the built executables (implies --no-build)
#   -- TRAIN-OPTION...       passed to `rnncluster train`, e.g. -- --data builtin:parity --max-steps 50
#
# Commands on a running cluster (DIR defaults to the last cluster started from this checkout):
#   status                   each node's address, pid and state (the coordinator running the
#                            singleton marked "active"), and the cluster's exit status
#   stop                     the ordered stop described above; prints the exit status
#   wait [--timeout S]       wait until the run has finished; exits with the status described above
#   kill NODE [--signal SIG] send SIG (default KILL, a crash) to NODE
#   pause NODE, resume NODE  SIGSTOP / SIGCONT: a node that is alive but silent
#   start-worker N           start worker N again after it died (a new incarnation)
#   kill-worker N, pause-worker N, resume-worker N
#                            the same as kill/pause/resume with NODE = worker-N
#   kill-coordinator [--signal SIG]
#                            kill the coordinator that runs the singleton now (its current life logged
#                            "coordinator singleton started on this node"), else the first one alive
# NODE is coordinator, coordinator-K, worker-N or just N.
#
# Examples:
#   deploy/local-cluster.sh -w 3 -- --data builtin:parity --max-steps 200
#   deploy/local-cluster.sh --detach -w 2 -r runs/faults -- --max-steps 2000
#   deploy/local-cluster.sh pause-worker 1 -r runs/faults; deploy/local-cluster.sh resume-worker 1 -r runs/faults
#   deploy/local-cluster.sh wait -r runs/faults
set -euo pipefail

RNN_PROG="local-cluster"
# shellcheck source=SCRIPTDIR/lib/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/cluster-lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
usage_error() {
  printf '%s: error: %s (see --help)\n' "$RNN_PROG" "$1" >&2
  exit 2
}

last_file="$RNN_REPO_ROOT/runs/.local-cluster-last"

# ---------------------------------------------------------------------------------------------
# Command line

command=start
case "${1:-}" in
  start | status | stop | wait | kill | pause | resume | start-worker | kill-worker | pause-worker | \
    resume-worker | kill-coordinator | _supervise)
    command=$1
    shift
    ;;
esac

workers=2
coordinators=1
run_dir=""
config="$RNN_REPO_ROOT/cluster.hocon"
host=127.0.0.1
base_port=2552
secret=""
faults=""
restarts=0
stop_order=coordinator-first
stop_timeout=60
ready_timeout=180
detach=0
build=1
coordinator_exe=""
worker_exe=""
timeout_s=""
cli_stop_timeout=""
signal=KILL
sets=()
coordinator_sets=()
worker_sets=()
train_args=()
positional=()

need() { [ $# -ge 2 ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    -w | --workers) need "$@"; workers=$2; shift 2 ;;
    --coordinators) need "$@"; coordinators=$2; shift 2 ;;
    -r | --run-dir) need "$@"; run_dir=$2; shift 2 ;;
    -c | --config) need "$@"; config=$2; shift 2 ;;
    --set) need "$@"; sets+=(--set "$2"); shift 2 ;;
    --coordinator-set) need "$@"; coordinator_sets+=(--set "$2"); shift 2 ;;
    --worker-set) need "$@"; worker_sets+=(--set "$2"); shift 2 ;;
    --host) need "$@"; host=$2; shift 2 ;;
    -p | --base-port) need "$@"; base_port=$2; shift 2 ;;
    --secret) need "$@"; secret=$2; shift 2 ;;
    --faults) need "$@"; faults=$2; shift 2 ;;
    --coordinator-restarts) need "$@"; restarts=$2; shift 2 ;;
    --stop-order) need "$@"; stop_order=$2; shift 2 ;;
    --stop-timeout) need "$@"; stop_timeout=$2; cli_stop_timeout=$2; shift 2 ;;
    --ready-timeout) need "$@"; ready_timeout=$2; shift 2 ;;
    -d | --detach) detach=1; shift ;;
    --no-build) build=0; shift ;;
    --coordinator-exe) need "$@"; coordinator_exe=$2; build=0; shift 2 ;;
    --worker-exe) need "$@"; worker_exe=$2; build=0; shift 2 ;;
    --timeout) need "$@"; timeout_s=$2; shift 2 ;;
    --signal) need "$@"; signal=$2; shift 2 ;;
    --) shift; train_args=("$@"); break ;;
    -*) usage_error "unknown option $1" ;;
    *) positional+=("$1"); shift ;;
  esac
done

for pair in "workers:$workers" "coordinators:$coordinators" "base-port:$base_port" "coordinator-restarts:$restarts" \
  "stop-timeout:$stop_timeout" "ready-timeout:$ready_timeout"; do
  rnn_is_uint "${pair#*:}" || usage_error "--${pair%%:*} must be a whole number, got '${pair#*:}'"
done
[ -z "$timeout_s" ] || rnn_is_uint "$timeout_s" || usage_error "--timeout must be a whole number of seconds"
case "$stop_order" in coordinator-first | workers-first) ;; *) usage_error "--stop-order must be coordinator-first or workers-first" ;; esac
if [ "$command" = start ] && [ ${#positional[@]} -gt 0 ]; then
  usage_error "unexpected argument '${positional[0]}' (train options go after --)"
fi

# ---------------------------------------------------------------------------------------------
# State shared by every command of one cluster
#
# Everything from supervise() down runs while signals are trapped, so it uses no command
# substitution (see deploy/lib/cluster-lib.sh): results come back in variables.

resolve_run_dir() {
  if [ -z "$run_dir" ]; then
    [ -f "$last_file" ] || usage_error "no --run-dir given and no cluster was started from this checkout"
    read -r run_dir <"$last_file"
    rnn_say "run directory: $run_dir"
  fi
  [ -d "$run_dir" ] || usage_error "run directory $run_dir does not exist"
  run_dir=$(cd "$run_dir" && pwd)
  state="$run_dir/cluster"
  logs="$run_dir/logs"
  [ -f "$state/cluster.env" ] || usage_error "$run_dir holds no cluster started by this script"
  # shellcheck source=/dev/null
  source "$state/cluster.env"
  # A cluster started before --coordinators existed had one coordinator and no port list.
  ((${#coordinator_ports[@]} > 0)) || coordinator_ports=("$coordinator_port")
  coordinators=${#coordinator_ports[@]}
  # A --stop-timeout given to this command wins over the one the cluster was started with.
  stop_timeout=${cli_stop_timeout:-$stop_timeout}
  set_node_names
}

# worker_names = (worker-1 ... worker-N); coordinator_names = (coordinator coordinator-2 ...
# coordinator-N). The first coordinator keeps its plain name, so logs/coordinator.log, `kill
# coordinator` and everything written for one coordinator mean what they always meant.
set_node_names() {
  local i
  worker_names=()
  for ((i = 1; i <= workers; i++)); do worker_names+=("worker-$i"); done
  coordinator_names=(coordinator)
  for ((i = 2; i <= coordinators; i++)); do coordinator_names+=("coordinator-$i"); done
}

# resolve_node NODE: sets NODE_NAME from coordinator | coordinator-K | worker-N | wN | N.
resolve_node() {
  local n
  case "$1" in
    coordinator | coord | c | coordinator-1)
      NODE_NAME=coordinator
      return
      ;;
    coordinator-*)
      n=${1#coordinator-}
      rnn_in_range "$n" 1 "$coordinators" || usage_error "no node '$1' (coordinators are coordinator-1 to coordinator-$coordinators)"
      NODE_NAME=$1
      return
      ;;
    worker-*) n=${1#worker-} ;;
    w*) n=${1#w} ;;
    *) n=$1 ;;
  esac
  if ! rnn_in_range "$n" 1 "$workers"; then
    usage_error "no node '$1' (coordinator, coordinator-K, or a worker from 1 to $workers)"
  fi
  NODE_NAME="worker-$n"
}

# node_port NAME: NODE_PORT = the port NAME binds.
node_port() {
  case "$1" in
    coordinator) NODE_PORT=${coordinator_ports[0]} ;;
    coordinator-*) NODE_PORT=${coordinator_ports[${1#coordinator-} - 1]} ;;
    worker-*) NODE_PORT=${worker_ports[${1#worker-} - 1]} ;;
  esac
}

# The line the trainer logs on the node where the coordinator singleton starts.
SINGLETON_LINE="coordinator singleton started on this node"

# runs_singleton NAME: NAME's current life (its log after the last "starting NAME" header) logged
# SINGLETON_LINE. A coordinator restarted since does not count for what its earlier life logged.
runs_singleton() {
  awk -v header="=== $RNN_PROG: starting $1 at " -v line="$SINGLETON_LINE" '
    index($0, header) == 1 { found = 0 }
    index($0, line) { found = 1 }
    END { exit !found }' "$logs/$1.log" 2>/dev/null
}

# active_coordinator: ACTIVE_NAME = the live coordinator that runs the singleton now, else the
# first live one, else the first. Should two live ones claim it (the old one paused, say, while
# the singleton moved on), a running one beats a paused one, and the later one in the list wins:
# the first coordinator is the oldest, so the singleton starts there and moves on from it.
active_coordinator() {
  local name first="" claimed_running=0
  ACTIVE_NAME=""
  for name in "${coordinator_names[@]}"; do
    rnn_node_state "$state" "$name"
    case "$RNN_STATE" in running | paused) ;; *) continue ;; esac
    [ -n "$first" ] || first=$name
    runs_singleton "$name" || continue
    if [ "$RNN_STATE" = running ]; then
      ACTIVE_NAME=$name
      claimed_running=1
    elif ((claimed_running == 0)); then
      ACTIVE_NAME=$name
    fi
  done
  [ -n "$ACTIVE_NAME" ] || ACTIVE_NAME=${first:-coordinator}
}

supervisor_alive() { rnn_node_pid "$state" supervisor; }

# ---------------------------------------------------------------------------------------------
# start: prepare everything, then supervise (here or in the background)

prepare() {
  ((workers >= 1)) || usage_error "--workers must be at least 1"
  ((coordinators >= 1)) || usage_error "--coordinators must be at least 1"
  set_node_names
  [ -f "$config" ] || usage_error "config file $config does not exist"
  config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
  if [ -z "$run_dir" ]; then
    run_dir="$RNN_REPO_ROOT/runs/local-$(date -u +%Y%m%d-%H%M%S)"
  fi
  mkdir -p "$run_dir"
  run_dir=$(cd "$run_dir" && pwd)
  state="$run_dir/cluster"
  logs="$run_dir/logs"
  mkdir -p "$state" "$logs"
  local name
  for name in supervisor "${coordinator_names[@]}" "${worker_names[@]}"; do
    if rnn_node_pid "$state" "$name"; then
      rnn_die 2 "a cluster is still running in $run_dir ($name); stop it first: $0 stop -r $run_dir"
    fi
  done
  rm -f "$state"/*.pid "$state"/*.exit "$state/ready" "$state/exit"
  mkdir -p "$(dirname "$last_file")"
  echo "$run_dir" >"$last_file"

  if ((build)); then rnn_build "$logs/build.log"; fi
  coordinator_exe=${coordinator_exe:-$RNN_REPO_ROOT/artifacts/bin/rnncluster/rnncluster.dll}
  worker_exe=${worker_exe:-$RNN_REPO_ROOT/artifacts/bin/rnncluster-worker/rnncluster-worker.dll}
  [ -e "$coordinator_exe" ] || rnn_die 1 "coordinator executable $coordinator_exe not found (build it, or drop --no-build)"
  [ -e "$worker_exe" ] || rnn_die 1 "worker executable $worker_exe not found (build it, or drop --no-build)"

  if [ -z "$secret" ]; then
    secret="$state/secret"
    [ -f "$secret" ] || rnn_make_secret "$secret"
  fi
  secret=$(cd "$(dirname "$secret")" && pwd)/$(basename "$secret")
  rnn_check_secret "$secret"

  # Ports: fixed ones are checked now, so a clash is reported by name instead of as a node that
  # "did not start listening".
  local i port
  worker_ports=()
  coordinator_ports=()
  if ((base_port == 0)); then
    for ((i = 1; i <= coordinators + workers; i++)); do
      rnn_free_port "" "${coordinator_ports[@]}" "${worker_ports[@]}" || rnn_die 1 "found no free port"
      if ((i <= coordinators)); then coordinator_ports+=("$RNN_PORT"); else worker_ports+=("$RNN_PORT"); fi
    done
  else
    ((base_port + coordinators - 1 + workers <= 65535)) ||
      usage_error "--base-port $base_port + $coordinators coordinators + $workers workers passes 65535"
    for ((i = 0; i < coordinators; i++)); do coordinator_ports+=($((base_port + i))); done
    for ((i = 1; i <= workers; i++)); do worker_ports+=($((base_port + coordinators - 1 + i))); done
    for port in "${coordinator_ports[@]}" "${worker_ports[@]}"; do
      if rnn_listening "$port"; then
        rnn_die 1 "port $port is already in use; choose another --base-port (or 0 for free ports)"
      fi
    done
  fi

  # On 2 cores, N workers that each take every core (runtime.threads = 0) would fight over them;
  # give each an equal share unless the user says otherwise (a later --set wins).
  local cores threads
  cores=$(nproc 2>/dev/null || echo 1)
  threads=$((cores / workers))
  ((threads >= 1)) || threads=1

  local -a env_common=(env "RNNCLUSTER_SECRET_FILE=$secret" "RNNCLUSTER_CONFIG=$config")
  local -a fault_sets=()
  if [ -n "$faults" ]; then
    env_common+=("RNNCLUSTER_FAULTS=$faults")
    fault_sets=(--set cluster.test-faults=true)
  fi

  # Every coordinator shares the run directory: whichever runs the singleton trains and checkpoints
  # there, and one that takes over resumes from it.
  local k seed seeds_all="" every
  for ((k = 1; k <= coordinators; k++)); do
    seeds_all+="${seeds_all:+ }$host:${coordinator_ports[k - 1]}"
  done
  rnn_hocon_string "$host"
  local host_hocon=$RNN_HOCON
  for ((k = 1; k <= coordinators; k++)); do
    # The first forms the cluster (no seeds: it joins itself); the others join through it.
    local -a seed_sets=()
    if ((k > 1)); then
      rnn_hocon_string "$host:${coordinator_ports[0]}"
      seed_sets=(--set "cluster.seeds=[$RNN_HOCON]")
    fi
    save_coordinator_cmd "${coordinator_names[k - 1]}" "${coordinator_ports[k - 1]}" "${seed_sets[@]}"
    if ((coordinators > 1)); then
      # Started again after a crash, any of them (the first too) must join the cluster the others
      # still hold: on its own it would form a second cluster training the same run directory. Every
      # coordinator gets the same seeds, all of them, the first coordinator first: Akka lets only the
      # first seed form a cluster, and only when no other seed answers that it holds one. So when the
      # others are alive the restarted node joins them, and when the node it was started beside turns
      # out to be dying too (both killed at once), the first coordinator forms the cluster again and
      # the rest join it: a choice made here from who runs now could go stale and leave each waiting
      # for the other.
      every=""
      for ((i = 1; i <= coordinators; i++)); do
        rnn_hocon_string "$host:${coordinator_ports[i - 1]}"
        every+="${every:+, }$RNN_HOCON"
      done
      save_coordinator_cmd "${coordinator_names[k - 1]}.rejoin" "${coordinator_ports[k - 1]}" --set "cluster.seeds=[$every]"
      # Started again when no other coordinator runs (all of them crashed): nobody is left to join
      # through, so it forms the cluster itself, as the first one did at the start.
      save_coordinator_cmd "${coordinator_names[k - 1]}.alone" "${coordinator_ports[k - 1]}" --set "cluster.seeds=[]"
    fi
  done
  for ((i = 1; i <= workers; i++)); do
    rnn_node_save_cmd "$state" "worker-$i" "${env_common[@]}" \
      "RNNCLUSTER_WORKER_EXE=$worker_exe" "RNNCLUSTER_SEEDS=$seeds_all" \
      "$RNN_REPO_ROOT/deploy/rnncluster-node" worker \
      --host "$host" --port "${worker_ports[i - 1]}" \
      --set "runtime.threads=$threads" "${fault_sets[@]}" "${sets[@]}" "${worker_sets[@]}"
  done

  # -g: the file is sourced inside a function, where a plain declare would make locals.
  coordinator_port=${coordinator_ports[0]}
  declare -p workers host coordinator_port coordinator_ports worker_ports stop_timeout ready_timeout \
    restarts stop_order secret | sed 's/^declare /declare -g /' >"$state/cluster.env"
}

# save_coordinator_cmd NAME PORT [--set cluster.seeds=...]: remembers how coordinator NAME starts.
# (Called from prepare, whose locals it reads.)
save_coordinator_cmd() {
  local name=$1 port=$2
  shift 2
  rnn_node_save_cmd "$state" "$name" "${env_common[@]}" \
    "RNNCLUSTER_COORDINATOR_EXE=$coordinator_exe" "RNNCLUSTER_RUN_DIR=$run_dir" \
    "$RNN_REPO_ROOT/deploy/rnncluster-node" coordinator \
    --set "cluster.host=$host_hocon" --set "cluster.port=$port" "$@" \
    --set "cluster.min-workers=$workers" "${fault_sets[@]}" \
    "${sets[@]}" "${coordinator_sets[@]}" "${train_args[@]}"
}

# Printed once the cluster is up: where things are and how to poke at them.
print_cluster() {
  local name pid
  rnn_say "cluster is up in $run_dir"
  for name in "${coordinator_names[@]}" "${worker_names[@]}"; do
    node_port "$name"
    pid=-
    if rnn_node_pid "$state" "$name"; then pid=$RNN_PID; fi
    printf '  %-14s %s:%-5s pid %-7s log %s\n' "$name" "$host" "$NODE_PORT" "$pid" "$logs/$name.log" >&2
  done
  rnn_say "faults: $0 {kill|pause|resume} NODE -r $run_dir; stop: Ctrl-C or $0 stop -r $run_dir"
}

on_signal() {
  if ((RNN_ABORT >= 1)); then
    RNN_ABORT=2
    rnn_say "second signal: killing every node now"
  else
    RNN_ABORT=1
    rnn_say "signal received: stopping the cluster ($stop_order; again to kill at once)"
  fi
}

write_exit() {
  printf '%s\n' "$1" >"$state/exit.tmp" && mv -f "$state/exit.tmp" "$state/exit"
}

# coordinator_status [NAME]: COORDINATOR_RC = coordinator NAME's (default: the first's) recorded exit
# status; 137 (SIGKILL) when its runner was killed before it could record one.
coordinator_status() {
  local rc=""
  # A read interrupted by a trapped signal fails: try again rather than report a wrong status.
  for _ in 1 2 3; do
    { read -r rc <"$state/${1:-coordinator}.exit"; } 2>/dev/null && break
  done
  rnn_is_uint "$rc" || rc=137
  COORDINATOR_RC=$rc
}

# stop_coordinators: the standby coordinators first (leaving, they take nothing with them), then
# the one running the singleton, whose SIGTERM path checkpoints. STOPPED_ACTIVE = that one, whose
# status is the cluster's.
stop_coordinators() {
  local name
  local -a standby=()
  active_coordinator
  STOPPED_ACTIVE=$ACTIVE_NAME
  for name in "${coordinator_names[@]}"; do
    [ "$name" = "$ACTIVE_NAME" ] || standby+=("$name")
  done
  ((${#standby[@]} == 0)) || rnn_stop_nodes "$state" "$stop_timeout" "${standby[@]}"
  rnn_stop_nodes "$state" "$stop_timeout" "$ACTIVE_NAME"
}

stop_in_order() {
  if [ "$stop_order" = coordinator-first ]; then
    stop_coordinators
    rnn_stop_nodes "$state" "$stop_timeout" "${worker_names[@]}"
  else
    rnn_stop_nodes "$state" "$stop_timeout" "${worker_names[@]}"
    stop_coordinators
  fi
}

report_workers() {
  local name
  for name in "${worker_names[@]}"; do
    rnn_node_state "$state" "$name"
    rnn_say "$name: $RNN_STATE"
  done
}

# finish STATUS: record the cluster's exit status and leave with it.
finish() {
  write_exit "$1"
  report_workers
  exit "$1"
}

# launch_coordinator NAME [again]: starts coordinator NAME; "again" (a restart) with more than one
# coordinator switches it to the common seeds (all coordinators, the first first) when another one
# runs, and to forming the cluster on its own when none does.
launch_coordinator() {
  local other
  if [ "${2:-}" = again ] && [ -f "$state/$1.rejoin.cmd" ]; then
    cp -f "$state/$1.alone.cmd" "$state/$1.cmd"
    for other in "${coordinator_names[@]}"; do
      if [ "$other" != "$1" ] && rnn_node_pid "$state" "$other"; then
        cp -f "$state/$1.rejoin.cmd" "$state/$1.cmd"
        break
      fi
    done
  fi
  rnn_node_launch "$state" "$1" "$logs/$1.log"
  COORDINATOR_RUNNER=$RNN_RUNNER_PID
}

# await_listening NAME...: waits until every node listens (the waits overlap); one that exits or
# stays silent stops the cluster (exit 1).
await_listening() {
  local name rc
  for name in "$@"; do
    node_port "$name"
    rc=0
    rnn_wait_listening "$state" "$name" "$NODE_PORT" "$ready_timeout" || rc=$?
    if ((rc == 1)); then
      rnn_say "$name exited before it listened on $host:$NODE_PORT"
    elif ((rc == 2)); then
      rnn_say "$name did not listen on $host:$NODE_PORT within ${ready_timeout}s"
    fi
    if ((rc == 1 || rc == 2)); then
      rnn_log_tail "$name" "$logs/$name.log"
      stop_in_order
      finish 1
    fi
  done
}

# The coordinators' lifetime, with the workers around them. Runs in the foreground, or detached.
supervise() {
  trap on_signal INT TERM HUP
  rnn_proc_stat $$
  printf '%s %s\n' "$$" "$RNN_STAT_START" >"$state/supervisor.pid"
  rm -f "$state/ready" "$state/exit"
  local name rc runner restarts_left=$restarts finished="" last_rc=0 alive
  # Coordinators whose exit has been dealt with (not restarted): the run goes on without them.
  local -A gone=()

  # The first coordinator forms the cluster; the others join through it, so they start once it listens.
  launch_coordinator coordinator
  runner=$COORDINATOR_RUNNER
  await_listening coordinator
  if ((RNN_ABORT == 0 && coordinators > 1)); then
    for name in "${coordinator_names[@]:1}"; do launch_coordinator "$name"; done
    await_listening "${coordinator_names[@]:1}"
  fi
  if ((RNN_ABORT == 0)); then
    for name in "${worker_names[@]}"; do
      rnn_node_launch "$state" "$name" "$logs/$name.log"
    done
    await_listening "${worker_names[@]}"
  fi
  if ((RNN_ABORT == 0)); then
    touch "$state/ready"
    print_cluster
  fi

  while ((RNN_ABORT == 0)); do
    if ((coordinators == 1)); then
      # `wait` returns early when a trapped signal arrives; the loop condition then sees it.
      wait "$runner" 2>/dev/null || true
    else
      # Any of several runners may end; the loop looks at them all every poll.
      sleep "$RNN_POLL_S"
    fi
    ((RNN_ABORT == 0)) || break
    alive=0
    for name in "${coordinator_names[@]}"; do
      if rnn_node_pid "$state" "$name"; then
        alive=1
        continue
      fi
      [ -z "${gone[$name]:-}" ] || continue
      # The runner records the status right after the node ends.
      rnn_wait_recorded "$state" "$name"
      coordinator_status "$name"
      rc=$COORDINATOR_RC
      if ((rc == 0)); then
        finished=$name
        break
      fi
      if ((rc != 130 && restarts_left > 0)); then
        restarts_left=$((restarts_left - 1))
        rnn_say "$name exited with status $rc: restarting it ($restarts_left restarts left)"
        launch_coordinator "$name" again
        [ "$name" != coordinator ] || runner=$COORDINATOR_RUNNER
        alive=1
        continue
      fi
      gone[$name]=1
      last_rc=$rc
      if ((coordinators > 1)); then rnn_say "$name exited with status $rc"; fi
    done
    if [ -n "$finished" ]; then
      rnn_say "$finished exited with status 0: the run is finished"
      # The standby coordinators have nothing left to take over; the workers leave on their own,
      # given the stop timeout to do so.
      local -a others=()
      for name in "${coordinator_names[@]}"; do [ "$name" = "$finished" ] || others+=("$name"); done
      ((${#others[@]} == 0)) || rnn_stop_nodes "$state" "$stop_timeout" "${others[@]}"
      rnn_wait_exit "$stop_timeout" "$state" "${worker_names[@]}" || true
      rnn_stop_nodes "$state" "$stop_timeout" "${worker_names[@]}"
      finish 0
    fi
    ((alive)) && continue
    # No coordinator left and none finished the run: the last one's status is the cluster's.
    rnn_say "coordinator exited with status $last_rc"
    rnn_stop_nodes "$state" "$stop_timeout" "${worker_names[@]}"
    finish "$last_rc"
  done

  stop_in_order
  coordinator_status "$STOPPED_ACTIVE"
  rnn_say "cluster stopped; coordinator exit status $COORDINATOR_RC"
  finish "$COORDINATOR_RC"
}

cmd_start() {
  prepare
  if ((detach == 0)); then
    supervise
  fi
  # Detached: the same supervisor, in a session of its own so the caller's terminal cannot reach it.
  setsid "$BASH" "$(realpath "${BASH_SOURCE[0]}")" _supervise --run-dir "$run_dir" </dev/null >>"$logs/launcher.log" 2>&1 &
  local deadline rc
  rnn_now_ms
  deadline=$((RNN_NOW_MS + (ready_timeout * 2 + 30) * 1000))
  until [ -f "$state/ready" ] || [ -f "$state/exit" ]; do
    rnn_now_ms
    ((RNN_NOW_MS < deadline)) || rnn_die 1 "the cluster did not come up; see $logs/launcher.log"
    sleep "$RNN_POLL_S"
  done
  if [ -f "$state/exit" ]; then
    tail -n 30 "$logs/launcher.log" >&2
    read -r rc <"$state/exit"
    exit "$rc"
  fi
  print_cluster
  echo "$run_dir"
}

# ---------------------------------------------------------------------------------------------
# Commands on a running cluster

# print_monitor_status: the /status of each running coordinator's run monitor (monitor.enabled = cluster, the
# default, serves one; docs/monitoring.md), found at the last "dashboard: URL" line of its log. A coordinator
# whose port was taken (several on one host share monitor.port) logged a warning and serves none.
print_monitor_status() {
  local name url body
  command -v curl >/dev/null 2>&1 || return 0
  for name in "${coordinator_names[@]}"; do
    rnn_node_state "$state" "$name"
    [[ $RNN_STATE == running ]] || continue
    url=$(sed -n 's/^dashboard: \(http:[^ ]*\)$/\1/p' "$logs/$name.log" 2>/dev/null | tail -n 1)
    [ -n "$url" ] || continue
    if body=$(curl -fsS --max-time 2 "${url}status" 2>/dev/null); then
      printf '%-14s %s\n%s\n' "$name" "${url}" "$body"
    fi
  done
}

cmd_status() {
  local name rc active any=3 note
  printf 'run directory %s\n' "$run_dir"
  active_coordinator
  active=$ACTIVE_NAME
  for name in "${coordinator_names[@]}" "${worker_names[@]}"; do
    rnn_node_state "$state" "$name"
    note=""
    case "$RNN_STATE" in
      running | paused)
        RNN_STATE="$RNN_STATE (pid $RNN_PID)"
        # Which coordinator trains: only worth saying when there is a choice.
        if ((coordinators > 1)) && [ "$name" = "$active" ]; then
          if runs_singleton "$name"; then note="  active"; else note="  active?"; fi
        fi
        [[ $name == coordinator* ]] && any=0
        ;;
    esac
    node_port "$name"
    printf '%-14s %s:%-5s %-24s %s%s\n' "$name" "$host" "$NODE_PORT" "$RNN_STATE" "$logs/$name.log" "$note"
  done
  if supervisor_alive; then
    printf 'launcher       running (pid %s)\n' "$RNN_PID"
  else
    printf 'launcher       not running\n'
  fi
  if { read -r rc <"$state/exit"; } 2>/dev/null; then printf 'cluster exit status %s\n' "$rc"; fi
  print_monitor_status
  # LSB convention: 0 while a coordinator runs, 3 when none does.
  return "$any"
}

cmd_stop() {
  local deadline rc
  if supervisor_alive; then
    kill -s TERM "$RNN_PID"
    rnn_now_ms
    deadline=$((RNN_NOW_MS + (stop_timeout * 2 + 30) * 1000))
    while supervisor_alive; do
      rnn_now_ms
      ((RNN_NOW_MS < deadline)) || rnn_die 1 "the launcher did not stop; see $logs/launcher.log"
      sleep "$RNN_POLL_S"
    done
  else
    stop_in_order
    if [ ! -f "$state/exit" ]; then
      coordinator_status "$STOPPED_ACTIVE"
      write_exit "$COORDINATOR_RC"
    fi
  fi
  read -r rc <"$state/exit"
  rnn_say "cluster stopped; coordinator exit status $rc"
}

cmd_wait() {
  local deadline="" rc
  if [ -n "$timeout_s" ]; then
    rnn_now_ms
    deadline=$((RNN_NOW_MS + timeout_s * 1000))
  fi
  until [ -f "$state/exit" ]; do
    if ! supervisor_alive && [ ! -f "$state/exit" ]; then
      rnn_die 1 "the launcher is gone without recording an exit status; see $logs/launcher.log"
    fi
    rnn_now_ms
    if [ -n "$deadline" ] && ((RNN_NOW_MS > deadline)); then
      rnn_die 124 "the coordinator was still running after ${timeout_s}s"
    fi
    sleep "$RNN_POLL_S"
  done
  # The launcher records the status, then reports on the workers; let it finish.
  rnn_wait_exit 5 "$state" supervisor || true
  read -r rc <"$state/exit"
  rnn_say "coordinator exit status $rc"
  exit "$rc"
}

# node_arg [worker]: the command's one NODE argument -> NODE_NAME; "worker" refuses a coordinator.
node_arg() {
  [ ${#positional[@]} -eq 1 ] || usage_error "$command takes one NODE (coordinator, coordinator-K, worker-N or N)"
  resolve_node "${positional[0]}"
  if [ "${1:-}" = worker ] && [[ $NODE_NAME == coordinator* ]]; then
    usage_error "$command takes a worker number"
  fi
}

cmd_signal() {
  local name=$1 sig=$2
  if ! rnn_node_signal "$state" "$name" "$sig"; then
    rnn_node_state "$state" "$name"
    rnn_die 1 "$name is not running ($RNN_STATE)"
  fi
  rnn_say "sent SIG${sig#SIG} to $name"
}

cmd_start_worker() {
  local name=$1 rc=0
  node_port "$name"
  rnn_node_launch "$state" "$name" "$logs/$name.log"
  rnn_wait_listening "$state" "$name" "$NODE_PORT" "$ready_timeout" || rc=$?
  if ((rc != 0)); then
    rnn_log_tail "$name" "$logs/$name.log"
    rnn_die 1 "$name did not come up"
  fi
  rnn_say "$name started again (pid $RNN_PID)"
}

case "$command" in
  start) cmd_start ;;
  _supervise)
    resolve_run_dir
    supervise
    ;;
  *)
    resolve_run_dir
    case "$command" in
      status) cmd_status ;;
      stop) cmd_stop ;;
      wait) cmd_wait ;;
      kill) node_arg && cmd_signal "$NODE_NAME" "$signal" ;;
      pause) node_arg && cmd_signal "$NODE_NAME" STOP ;;
      resume) node_arg && cmd_signal "$NODE_NAME" CONT ;;
      kill-worker) node_arg worker && cmd_signal "$NODE_NAME" "$signal" ;;
      pause-worker) node_arg worker && cmd_signal "$NODE_NAME" STOP ;;
      resume-worker) node_arg worker && cmd_signal "$NODE_NAME" CONT ;;
      kill-coordinator)
        [ ${#positional[@]} -eq 0 ] || usage_error "kill-coordinator takes no NODE (it picks the active coordinator; use kill NODE for another)"
        active_coordinator
        cmd_signal "$ACTIVE_NAME" "$signal"
        ;;
      start-worker) node_arg worker && cmd_start_worker "$NODE_NAME" ;;
    esac
    ;;
esac
