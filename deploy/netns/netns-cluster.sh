#!/usr/bin/env bash
# An RnnCluster cluster on one Linux machine where every node has a network of its own: a network
# namespace joined to a shared bridge by a veth pair. Faults are injected the way real networks and
# machines fail: a node's link goes down (partition) and comes back (heal), a node's process is
# frozen (SIGSTOP, a long GC pause or a stuck VM) and thawed, or killed.
#
# Usage: deploy/netns/netns-cluster.sh COMMAND [ARG...]    (root only)
#
#   check                     exit 0 when this machine can build the network; otherwise exit 77
#                             (the automake "skip" status) with the reason, for tests to skip on
#   up N                      bridge PREFIX-br0 (SUBNET.254/24), namespaces PREFIX-coord and
#                             PREFIX-w1..N, one veth pair each; the coordinator gets SUBNET.10 and
#                             worker i SUBNET.(10+i). Checks that every worker reaches the coordinator.
#   start [OPTION...] [-- TRAIN-OPTION...]
#                             builds, then starts the coordinator in PREFIX-coord and the workers in
#                             their namespaces, each binding its namespace address, with a cluster
#                             secret (required off loopback); returns once all listen
#       -r, --run-dir DIR     checkpoints, metrics and logs/<node>.log (default runs/netns-<UTC time>)
#       -c, --config FILE     settings file (default: the checkout's cluster.hocon)
#       -w, --workers K       start workers 1..K only (default N); the rest can join later (start-node)
#       --set KEY=VALUE, --coordinator-set KEY=VALUE, --worker-set KEY=VALUE   (repeatable)
#       --port P              the port every node binds in its namespace (default 2552)
#       --faults SPEC         test-only transport faults for every node, e.g. 'delay=50ms;drop=0.01'
#       --node-faults NODE=SPEC   the same for one node (repeatable; wins over --faults)
#       --no-build, --coordinator-exe PATH, --worker-exe PATH, --ready-timeout S (default 180)
#   status                    every node: namespace, address, link, process state, log
#   partition NODE            take NODE's link down: it neither sends nor receives, and is not told
#   heal NODE                 bring the link back up (waits until the bridge forwards again)
#   pause NODE, resume NODE   SIGSTOP / SIGCONT the node's process
#   kill NODE [--signal SIG]  send SIG (default KILL) to the node's process
#   start-node NODE           start a node again with its first command line (a new incarnation; a
#                             coordinator resumes from its newest committed checkpoint)
#   probe FROM TO             exit 0 when FROM reaches TO over TCP (a refused connection counts:
#                             the packets got through), 1 when not
#   exec NODE COMMAND...      run COMMAND inside NODE's namespace
#   wait [--timeout S]        wait until the coordinator ends; exits with its status
#   stop [--timeout S]        heal every link, then SIGTERM the coordinator and the workers in that
#                             order, SIGKILL after S seconds (default 60); keeps the network
#   down [--timeout S]        stop (default 10 s), kill what is left in our namespaces, delete the
#                             namespaces, veths and bridge. Safe to repeat, and after any failure.
# NODE is coord (or coordinator), wN, worker-N or N.
#
# Delay and loss: this kernel has no netem/tbf queueing disciplines, so they are injected inside the
# transport by its test-only fault hook (--faults / --node-faults: RNNCLUSTER_FAULTS, honoured only
# with cluster.test-faults = true). Everything else here works without that hook.
#
# Environment: RNN_NETNS_PREFIX (default rnn; at most 5 characters, interface names are short) and
# RNN_NETNS_SUBNET (default 10.77.0; a /24) let two such clusters coexist on one machine.
set -euo pipefail

RNN_PROG="netns-cluster"
# shellcheck source=SCRIPTDIR/../lib/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster-lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
usage_error() {
  printf '%s: error: %s (see --help)\n' "$RNN_PROG" "$1" >&2
  exit 2
}

prefix=${RNN_NETNS_PREFIX:-rnn}
subnet=${RNN_NETNS_SUBNET:-10.77.0}
[[ $prefix =~ ^[a-z][a-z0-9]{0,4}$ ]] || usage_error "RNN_NETNS_PREFIX must be 1-5 lower-case letters or digits, starting with a letter"
[[ $subnet =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || usage_error "RNN_NETNS_SUBNET must look like 10.77.0"
bridge="$prefix-br0"
state="/run/rnncluster-netns/$prefix"
lock="/run/rnncluster-netns/$prefix.lock"
coordinator_ip="$subnet.10"
bridge_ip="$subnet.254"
# Workers are SUBNET.(10+i), so at most 200 fit below the bridge's .254.
max_workers=200

# Per-node names: state name, namespace, host-side veth, address.
node_ns() { if [ "$1" = coordinator ]; then echo "$prefix-coord"; else echo "$prefix-w${1#worker-}"; fi; }
node_veth() { if [ "$1" = coordinator ]; then echo "${prefix}v-coord"; else echo "${prefix}v-w${1#worker-}"; fi; }
node_ip() { if [ "$1" = coordinator ]; then echo "$coordinator_ip"; else echo "$subnet.$((10 + ${1#worker-}))"; fi; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    printf '%s: skip: needs root (it creates network namespaces, veth pairs and a bridge)\n' "$RNN_PROG" >&2
    exit 77
  fi
  command -v ip >/dev/null || rnn_die 77 "skip: the 'ip' command (iproute2) is missing"
}

take_lock() {
  mkdir -p "$(dirname "$lock")"
  exec 9>"$lock"
  flock -w 60 9 || rnn_die 1 "another $RNN_PROG command holds $lock"
}

load_network() {
  [ -f "$state/network.env" ] || rnn_die 1 "no network is up for prefix '$prefix' (run: $0 up N)"
  # shellcheck source=/dev/null
  source "$state/network.env"
}

# resolve_node NODE: sets NODE_NAME (coordinator or worker-N) after checking it exists.
resolve_node() {
  local n
  case "$1" in
    coord | coordinator | c)
      NODE_NAME=coordinator
      return
      ;;
    worker-*) n=${1#worker-} ;;
    w*) n=${1#w} ;;
    *) n=$1 ;;
  esac
  if ! rnn_in_range "$n" 1 "$nodes"; then
    usage_error "no node '$1' (coord, or a worker from 1 to $nodes)"
  fi
  NODE_NAME="worker-$n"
}

all_nodes() {
  local i
  echo coordinator
  for ((i = 1; i <= nodes; i++)); do echo "worker-$i"; done
}

# ---------------------------------------------------------------------------------------------
# The network

cmd_check() {
  require_root
  local ns="$prefix-chk$$" br="${prefix}chk$$"
  br=${br:0:15}
  if ! ip netns add "$ns" 2>/dev/null; then
    rnn_die 77 "skip: cannot create a network namespace here (ip netns add failed: no CAP_SYS_ADMIN?)"
  fi
  if ! ip link add "$br" type bridge 2>/dev/null; then
    ip netns del "$ns" 2>/dev/null || true
    rnn_die 77 "skip: cannot create a bridge here (ip link add type bridge failed: no CAP_NET_ADMIN?)"
  fi
  ip link del "$br" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  command -v ss >/dev/null || rnn_die 77 "skip: the 'ss' command (iproute2) is missing"
  rnn_say "network namespaces, veth pairs and bridges work here"
}

# wait_link_up NODE: the link is up at both ends and the bridge forwards on it.
wait_link_up() {
  local name=$1 veth ns deadline
  veth=$(node_veth "$name")
  ns=$(node_ns "$name")
  rnn_now_ms
  deadline=$((RNN_NOW_MS + 10000))
  until [ "$(cat "/sys/class/net/$veth/operstate" 2>/dev/null)" = up ] &&
    ip -n "$ns" -o link show eth0 2>/dev/null | grep -q 'state UP' &&
    bridge -o link show dev "$veth" 2>/dev/null | grep -q 'state forwarding'; do
    rnn_now_ms
    ((RNN_NOW_MS < deadline)) || rnn_die 1 "link of $name ($veth) did not come up within 10 s"
    sleep "$RNN_POLL_S"
  done
}

# reachable NS IP: a TCP connection attempt from NS to IP gets an answer (accepted, or refused by the
# peer's kernel) within 3 s. Port 1 is almost surely closed, so a refusal is the usual answer.
reachable() {
  local out rc=0
  out=$(ip netns exec "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/1" 2>&1) || rc=$?
  ((rc == 0)) && return 0
  [[ $out == *"Connection refused"* ]]
}

cmd_up() {
  require_root
  if [ $# -ne 1 ] || ! rnn_in_range "$1" 1 "$max_workers"; then
    usage_error "up takes the number of workers, 1 to $max_workers"
  fi
  take_lock
  if [ -f "$state/network.env" ] || ip link show "$bridge" >/dev/null 2>&1; then
    rnn_die 1 "a network with prefix '$prefix' exists already; run '$0 down' first"
  fi
  nodes=$1
  # Whatever fails from here on (a command, or rnn_die), leave nothing half-built behind.
  trap 'if (($? != 0)); then rnn_say "up failed: removing what was created"; teardown 5; fi' EXIT
  mkdir -p "$state"
  declare -p nodes prefix subnet | sed 's/^declare /declare -g /' >"$state/network.env"

  ip link add "$bridge" type bridge
  ip addr add "$bridge_ip/24" dev "$bridge"
  ip link set "$bridge" up
  local name ns veth
  for name in $(all_nodes); do
    ns=$(node_ns "$name")
    veth=$(node_veth "$name")
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$bridge"
    ip link set "$veth" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(node_ip "$name")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  for name in $(all_nodes); do wait_link_up "$name"; done

  # Traffic between bridge ports can be filtered by the host's firewall when br_netfilter is loaded;
  # find out now rather than as a cluster that never forms.
  for name in $(all_nodes); do
    [ "$name" = coordinator ] && continue
    if ! reachable "$(node_ns "$name")" "$coordinator_ip"; then
      rnn_say "$name cannot reach the coordinator over $bridge."
      if [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]; then
        rnn_say "net.bridge.bridge-nf-call-iptables = 1: the host firewall filters bridged traffic; allow $bridge in its FORWARD chain"
      fi
      exit 1
    fi
  done
  trap - EXIT
  rnn_say "up: $bridge $bridge_ip/24; coordinator $(node_ns coordinator) $coordinator_ip; workers $prefix-w1..$nodes $subnet.11..$subnet.$((10 + nodes))"
}

# teardown TIMEOUT_S: everything `down` does; never fails.
teardown() {
  local timeout_s=$1 ns pid link name
  set +e
  if [ -f "$state/network.env" ]; then
    # shellcheck source=/dev/null
    source "$state/network.env"
    local -a names
    mapfile -t names < <(all_nodes)
    heal_all
    rnn_stop_nodes "$state" "$timeout_s" coordinator
    rnn_stop_nodes "$state" "$timeout_s" "${names[@]:1}"
  fi
  # Also what a crashed run left without state: everything named with our prefix.
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$prefix-(coord|w[0-9]+)\$"); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null && rnn_say "killed pid $pid left in $ns"
    done
    ip netns del "$ns" && rnn_say "deleted namespace $ns"
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^${prefix}v-(coord|w[0-9]+)\$"); do
    ip link del "$link" 2>/dev/null
  done
  if ip link show "$bridge" >/dev/null 2>&1; then
    ip link del "$bridge" && rnn_say "deleted bridge $bridge"
  fi
  rm -rf "$state"
  set -e
}

cmd_down() {
  require_root
  take_lock
  teardown "${timeout_s:-10}"
  rnn_say "down: nothing of prefix '$prefix' is left"
}

# ---------------------------------------------------------------------------------------------
# Faults

cmd_partition() {
  local name=$1
  ip link set "$(node_veth "$name")" down
  rnn_say "partitioned $name: link $(node_veth "$name") is down"
}

cmd_heal() {
  local name=$1
  ip link set "$(node_veth "$name")" up
  wait_link_up "$name"
  rnn_say "healed $name: link $(node_veth "$name") forwards again"
}

heal_all() {
  local name
  for name in $(all_nodes); do
    if [ "$(cat "/sys/class/net/$(node_veth "$name")/operstate" 2>/dev/null)" = down ]; then
      ip link set "$(node_veth "$name")" up 2>/dev/null || true
    fi
  done
}

cmd_signal() {
  if ! rnn_node_signal "$state" "$1" "$2"; then
    rnn_node_state "$state" "$1"
    rnn_die 1 "$1 is not running ($RNN_STATE)"
  fi
  rnn_say "sent SIG${2#SIG} to $1"
}

cmd_probe() {
  local from to
  resolve_node "$1"
  from=$NODE_NAME
  resolve_node "$2"
  to=$NODE_NAME
  if reachable "$(node_ns "$from")" "$(node_ip "$to")"; then
    echo "$from reaches $to ($(node_ip "$to"))"
  else
    echo "$from does not reach $to ($(node_ip "$to"))"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Nodes

cmd_start() {
  require_root
  take_lock
  load_network
  local run_dir="" config="$RNN_REPO_ROOT/cluster.hocon" port=2552 faults="" build=1 ready_timeout=180
  local coordinator_exe="" worker_exe="" workers=$nodes
  local -a sets=() coordinator_sets=() worker_sets=() train_args=() node_faults=()
  need() { [ $# -ge 2 ] || usage_error "$1 needs a value"; }
  while [ $# -gt 0 ]; do
    case "$1" in
      -r | --run-dir) need "$@"; run_dir=$2; shift 2 ;;
      -c | --config) need "$@"; config=$2; shift 2 ;;
      -w | --workers) need "$@"; workers=$2; shift 2 ;;
      --set) need "$@"; sets+=(--set "$2"); shift 2 ;;
      --coordinator-set) need "$@"; coordinator_sets+=(--set "$2"); shift 2 ;;
      --worker-set) need "$@"; worker_sets+=(--set "$2"); shift 2 ;;
      --port) need "$@"; port=$2; shift 2 ;;
      --faults) need "$@"; faults=$2; shift 2 ;;
      --node-faults) need "$@"; node_faults+=("$2"); shift 2 ;;
      --no-build) build=0; shift ;;
      --coordinator-exe) need "$@"; coordinator_exe=$2; build=0; shift 2 ;;
      --worker-exe) need "$@"; worker_exe=$2; build=0; shift 2 ;;
      --ready-timeout) need "$@"; ready_timeout=$2; shift 2 ;;
      --) shift; train_args=("$@"); break ;;
      *) usage_error "unknown start option $1" ;;
    esac
  done
  rnn_in_range "$port" 1 65535 || usage_error "--port must be 1..65535"
  rnn_is_uint "$ready_timeout" || usage_error "--ready-timeout must be a whole number"
  rnn_in_range "$workers" 1 "$nodes" || usage_error "--workers must be 1..$nodes"
  [ -f "$config" ] || usage_error "config file $config does not exist"
  config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")

  local name
  for name in $(all_nodes); do
    if rnn_node_pid "$state" "$name"; then
      rnn_die 1 "$name is still running; run '$0 stop' first"
    fi
  done
  rm -f "$state"/*.pid "$state"/*.exit "$state"/*.cmd

  run_dir=${run_dir:-$RNN_REPO_ROOT/runs/netns-$(date -u +%Y%m%d-%H%M%S)}
  mkdir -p "$run_dir/logs" "$run_dir/cluster"
  run_dir=$(cd "$run_dir" && pwd)
  local logs="$run_dir/logs"
  if ((build)); then rnn_build "$logs/build.log"; fi
  coordinator_exe=${coordinator_exe:-$RNN_REPO_ROOT/artifacts/bin/rnncluster/rnncluster.dll}
  worker_exe=${worker_exe:-$RNN_REPO_ROOT/artifacts/bin/rnncluster-worker/rnncluster-worker.dll}
  [ -e "$coordinator_exe" ] || rnn_die 1 "coordinator executable $coordinator_exe not found"
  [ -e "$worker_exe" ] || rnn_die 1 "worker executable $worker_exe not found"

  # Off loopback a node refuses to start without a secret.
  local secret="$run_dir/cluster/secret"
  [ -f "$secret" ] || rnn_make_secret "$secret"
  rnn_check_secret "$secret"

  # Faults per node: --node-faults wins over --faults.
  local -A spec=()
  for name in $(all_nodes); do spec[$name]=$faults; done
  local item
  for item in "${node_faults[@]}"; do
    [[ $item == *=* ]] || usage_error "--node-faults takes NODE=SPEC, got '$item'"
    resolve_node "${item%%=*}"
    spec[$NODE_NAME]=${item#*=}
  done

  local cores threads
  cores=$(nproc 2>/dev/null || echo 1)
  threads=$((cores / workers))
  ((threads >= 1)) || threads=1

  local -a env_node fault_sets
  rnn_hocon_string "$coordinator_ip"
  for name in $(all_nodes); do
    env_node=(env "RNNCLUSTER_SECRET_FILE=$secret" "RNNCLUSTER_CONFIG=$config")
    fault_sets=()
    if [ -n "${spec[$name]}" ]; then
      env_node+=("RNNCLUSTER_FAULTS=${spec[$name]}")
      fault_sets=(--set cluster.test-faults=true)
    fi
    if [ "$name" = coordinator ]; then
      rnn_node_save_cmd "$state" coordinator ip netns exec "$(node_ns coordinator)" "${env_node[@]}" \
        "RNNCLUSTER_COORDINATOR_EXE=$coordinator_exe" "RNNCLUSTER_RUN_DIR=$run_dir" \
        "$RNN_REPO_ROOT/deploy/rnncluster-node" coordinator \
        --set "cluster.host=$RNN_HOCON" --set "cluster.port=$port" \
        --set "cluster.min-workers=$workers" "${fault_sets[@]}" \
        "${sets[@]}" "${coordinator_sets[@]}" "${train_args[@]}"
    else
      rnn_node_save_cmd "$state" "$name" ip netns exec "$(node_ns "$name")" "${env_node[@]}" \
        "RNNCLUSTER_WORKER_EXE=$worker_exe" "RNNCLUSTER_SEEDS=$coordinator_ip:$port" \
        "$RNN_REPO_ROOT/deploy/rnncluster-node" worker \
        --host "$(node_ip "$name")" --port "$port" \
        --set "runtime.threads=$threads" "${fault_sets[@]}" "${sets[@]}" "${worker_sets[@]}"
    fi
  done
  declare -p nodes prefix subnet run_dir port ready_timeout | sed 's/^declare /declare -g /' >"$state/network.env"

  start_node coordinator
  local i
  for ((i = 1; i <= workers; i++)); do
    rnn_node_launch "$state" "worker-$i" "$logs/worker-$i.log"
  done
  for ((i = 1; i <= workers; i++)); do await_listening "worker-$i"; done
  rnn_say "started in $run_dir: coordinator $coordinator_ip:$port and workers 1..$workers"
}

# start_node NAME: launch with the saved command line and wait until it listens.
start_node() {
  rnn_node_launch "$state" "$1" "$run_dir/logs/$1.log"
  await_listening "$1"
}

await_listening() {
  local name=$1 rc=0
  rnn_wait_listening "$state" "$name" "$port" "$ready_timeout" "$(node_ns "$name")" || rc=$?
  if ((rc != 0)); then
    rnn_log_tail "$name" "$run_dir/logs/$name.log"
    # Leave no half-started cluster behind (the network stays up).
    local -a names
    mapfile -t names < <(all_nodes)
    rnn_stop_nodes "$state" 10 "${names[@]}"
    if ((rc == 1)); then
      rnn_die 1 "$name exited before it listened on $(node_ip "$name"):$port"
    fi
    rnn_die 1 "$name did not listen on $(node_ip "$name"):$port within ${ready_timeout}s"
  fi
}

cmd_status() {
  local name link status listen
  printf 'network %s: bridge %s %s/24, %s workers\n' "$prefix" "$bridge" "$bridge_ip" "$nodes"
  [ -z "${run_dir:-}" ] || printf 'run directory %s\n' "$run_dir"
  for name in $(all_nodes); do
    link=$(cat "/sys/class/net/$(node_veth "$name")/operstate" 2>/dev/null || echo missing)
    [ "$link" = down ] && link=partitioned
    rnn_node_state "$state" "$name"
    status=$RNN_STATE
    case "$status" in running | paused) status="$status (pid $RNN_PID)" ;; esac
    listen=""
    if [ -n "${port:-}" ] && rnn_listening "$port" "$(node_ns "$name")"; then listen="listening :$port"; fi
    printf '%-12s %-10s %-12s link %-12s %-24s %s\n' "$name" "$(node_ns "$name")" "$(node_ip "$name")" \
      "$link" "$status" "$listen"
  done
}

cmd_wait() {
  local deadline=""
  if [ -n "${timeout_s:-}" ]; then
    rnn_now_ms
    deadline=$((RNN_NOW_MS + timeout_s * 1000))
  fi
  [ -f "$state/coordinator.pid" ] || rnn_die 1 "the coordinator was never started"
  until [ -f "$state/coordinator.exit" ]; do
    if ! rnn_node_pid "$state" coordinator; then
      rnn_wait_recorded "$state" coordinator
      [ -f "$state/coordinator.exit" ] || rnn_die 1 "the coordinator is gone without a recorded status"
    fi
    rnn_now_ms
    if [ -n "$deadline" ] && ((RNN_NOW_MS > deadline)); then
      rnn_die 124 "the coordinator was still running after ${timeout_s}s"
    fi
    sleep "$RNN_POLL_S"
  done
  local rc
  rc=$(cat "$state/coordinator.exit")
  rnn_say "coordinator exit status $rc"
  return "$rc"
}

cmd_stop() {
  take_lock
  local -a names
  mapfile -t names < <(all_nodes)
  # A partitioned node could not say goodbye: give it its link back first.
  heal_all
  rnn_stop_nodes "$state" "${timeout_s:-60}" coordinator
  rnn_stop_nodes "$state" "${timeout_s:-60}" "${names[@]:1}"
  for name in "${names[@]}"; do
    rnn_node_state "$state" "$name"
    rnn_say "$name: $RNN_STATE"
  done
}

# ---------------------------------------------------------------------------------------------

[ $# -ge 1 ] || {
  usage >&2
  exit 2
}
command=$1
shift
# Options shared by several commands.
timeout_s=""
signal=KILL
args=()
while [ $# -gt 0 ]; do
  case "$command:$1" in
    start:* | exec:*)
      args+=("$@")
      break
      ;;
    *:--timeout)
      rnn_is_uint "${2:-}" || usage_error "--timeout takes a whole number of seconds"
      timeout_s=$2
      shift 2
      ;;
    *:--signal)
      [ $# -ge 2 ] || usage_error "--signal needs a value"
      signal=$2
      shift 2
      ;;
    *)
      args+=("$1")
      shift
      ;;
  esac
done
set -- "${args[@]}"

case "$command" in
  -h | --help | help) usage ;;
  check) cmd_check ;;
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  start) cmd_start "$@" ;;
  *)
    require_root
    load_network
    case "$command" in
      status) cmd_status ;;
      wait) cmd_wait ;;
      stop) cmd_stop ;;
      partition | heal | pause | resume | kill | start-node)
        [ $# -eq 1 ] || usage_error "$command takes one NODE"
        resolve_node "$1"
        case "$command" in
          partition) cmd_partition "$NODE_NAME" ;;
          heal) cmd_heal "$NODE_NAME" ;;
          pause) cmd_signal "$NODE_NAME" STOP ;;
          resume) cmd_signal "$NODE_NAME" CONT ;;
          kill) cmd_signal "$NODE_NAME" "$signal" ;;
          start-node)
            [ -n "${run_dir:-}" ] || rnn_die 1 "no cluster was started on this network"
            start_node "$NODE_NAME"
            rnn_node_pid "$state" "$NODE_NAME"
            rnn_say "$NODE_NAME started (pid $RNN_PID)"
            ;;
        esac
        ;;
      probe)
        [ $# -eq 2 ] || usage_error "probe takes FROM and TO"
        cmd_probe "$1" "$2"
        ;;
      exec)
        [ $# -ge 2 ] || usage_error "exec takes NODE and a command"
        resolve_node "$1"
        shift
        exec ip netns exec "$(node_ns "$NODE_NAME")" "$@"
        ;;
      *) usage_error "unknown command '$command'" ;;
    esac
    ;;
esac
