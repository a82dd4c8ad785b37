#!/usr/bin/env bash
# Tests the deploy scripts themselves, with deploy/tests/fake-node.py standing in for the trainer so
# they run in seconds and do not depend on the cluster mode being finished:
#   - local-cluster.sh: a run to the end, per-node logs, the secret's mode, pause/resume, a killed
#     worker started again, the ordered stop on SIGTERM (exit 130), a coordinator restarted after a
#     crash resuming its checkpoint, two coordinators (the active one killed and the standby taking
#     the run over; the ordered stop), a node that never comes up, a port already taken;
#   - netns/netns-cluster.sh (root, and only where `check` passes; skipped with the reason otherwise):
#     up, reachability, partition and heal, pause and resume, a run to the end, down leaving nothing;
#   - tests/check-manifests.py (needs python3-yaml; skipped without): deploy/k8s passes, and copies
#     broken on purpose, one invariant each, fail naming it.
# Usage: deploy/tests/selftest.sh [local|netns|manifests]...   (default: all three)
# SELFTEST_KEEP=1 keeps the logs of a failed run.
# Ends with "N passed, N failed, N skipped"; exit status 1 when anything failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
fake="$here/fake-node.py"
local_cluster="$deploy/local-cluster.sh"
netns_cluster="$deploy/netns/netns-cluster.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/rnncluster-deploy-selftest.XXXXXX")
# Our own netns prefix and subnet, so the test never touches a cluster someone brought up by hand.
export RNN_NETNS_PREFIX=rnnst RNN_NETNS_SUBNET=10.77.9
passed=0 failed=0 skipped=0

ok() {
  passed=$((passed + 1))
  echo "ok      $*"
}
not_ok() {
  failed=$((failed + 1))
  echo "FAILED  $*"
}
skip() {
  skipped=$((skipped + 1))
  echo "skipped $*"
}
# check DESCRIPTION COMMAND...: one assertion.
check() {
  local description=$1
  shift
  if "$@"; then ok "$description"; else not_ok "$description"; fi
}

# wait_for_line FILE PATTERN [TIMEOUT_S]: a log line matching PATTERN (grep -E) appears.
wait_for_line() {
  local file=$1 pattern=$2 timeout_s=${3:-20} i
  for ((i = 0; i < timeout_s * 10; i++)); do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "    no line /$pattern/ in $file after ${timeout_s}s" >&2
  return 1
}

status_of() { "$local_cluster" status -r "$1" 2>/dev/null | awk -v n="$2" '$1 == n {print $3}'; }
# The recorded exit status of node $2 of run $1 ("exited N" in status), or nothing while it runs.
exit_of() { "$local_cluster" status -r "$1" 2>/dev/null | awk -v n="$2" '$1 == n && $3 == "exited" {print $4}'; }
port_of() { "$local_cluster" status -r "$1" 2>/dev/null | awk -v n="$2" '$1 == n {sub(/.*:/, "", $2); print $2}'; }
# Node $2 of run $1 is the one status marks active (the coordinator running the singleton).
is_active() { "$local_cluster" status -r "$1" 2>/dev/null | awk -v n="$2" '$1 == n && $NF == "active" {found = 1} END {exit !found}'; }
# No fake node of run directory $1 (its path is on every node's command line) is alive.
no_fakes_left() { ! pgrep -f "python3? [^ ]*fake-node.py .*$1/" >/dev/null; }
equals() { [ "$1" = "$2" ] || {
  echo "    expected '$2', got '$1'" >&2
  return 1
}; }

# Defaults first, so a test's own options win; a test's `-- TRAIN-OPTION...` stays last.
lc_cmd=("$local_cluster" --coordinator-exe "$fake" --worker-exe "$fake" --base-port 0 --ready-timeout 30 --stop-timeout 10)
lc() { "${lc_cmd[@]}" "$@"; }

# Whatever a failed test left running is stopped through the scripts' own pid files.
cleanup() {
  local dir
  for dir in "$work"/*/; do
    [ -f "$dir/cluster/cluster.env" ] && "$local_cluster" stop -r "$dir" >/dev/null 2>&1
  done
  "$netns_cluster" down >/dev/null 2>&1
  if ((failed > 0)) && [ -n "${SELFTEST_KEEP:-}" ]; then
    echo "kept $work for inspection"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

test_local() {
  local run rc

  echo "# local-cluster.sh: a run to the end"
  run="$work/local-finish"
  FAKE_TRAIN_SECONDS=1 lc -w 2 -r "$run" -- --data builtin:parity >"$work/finish.out" 2>&1
  rc=$?
  check "exit status is the coordinator's (0)" equals "$rc" 0
  check "one log per node" test -s "$run/logs/coordinator.log" -a -s "$run/logs/worker-1.log" -a -s "$run/logs/worker-2.log"
  check "the generated secret is readable by its owner only" equals "$(stat -c %a "$run/cluster/secret")" 600
  check "train options reach the coordinator" grep -q -- '--data builtin:parity' "$run/logs/coordinator.log"
  check "the workers left by themselves (exit 0)" equals "$(status_of "$run" worker-1) $(status_of "$run" worker-2)" "exited exited"
  check "status says the coordinator is not running (exit 3)" bash -c "'$local_cluster' status -r '$run' >/dev/null; [ \$? -eq 3 ]"

  echo "# local-cluster.sh: faults on a detached cluster"
  run="$work/local-faults"
  # Long enough to outlast the faults however slow the machine; the test ends the run itself.
  FAKE_TRAIN_SECONDS=1000 lc -w 2 -r "$run" --detach --faults 'delay=50ms' >"$work/faults.out" 2>&1
  check "detached start returns once the cluster is up" equals "$(status_of "$run" coordinator)" running
  check "--faults reaches every node" grep -q 'transport faults: delay=50ms' "$run/logs/worker-2.log"
  "$local_cluster" pause-worker 1 -r "$run" 2>/dev/null
  check "pause-worker stops the process" equals "$(status_of "$run" worker-1)" paused
  check "the coordinator notices the silent worker" wait_for_line "$run/logs/coordinator.log" 'waiting: 1 of 2'
  "$local_cluster" resume-worker 1 -r "$run" 2>/dev/null
  check "resume-worker continues it" equals "$(status_of "$run" worker-1)" running
  "$local_cluster" kill-worker 2 -r "$run" 2>/dev/null
  check "kill-worker kills it (SIGKILL)" wait_for_line "$run/logs/worker-2.log" 'exited with status 137' 5
  "$local_cluster" start-worker 2 -r "$run" 2>/dev/null
  check "start-worker brings it back" equals "$(status_of "$run" worker-2)" running
  touch "$run/fake-finish"
  "$local_cluster" wait -r "$run" --timeout 60 2>/dev/null
  check "wait returns the coordinator's exit status (0)" equals "$?" 0
  check "no node process is left" no_fakes_left "$run"

  echo "# local-cluster.sh: SIGTERM stops the cluster in order"
  run="$work/local-sigterm"
  # The script itself in the background (not through the lc function, whose subshell would take the
  # signal instead).
  FAKE_TRAIN_SECONDS=100 "${lc_cmd[@]}" -w 2 -r "$run" >"$work/sigterm.out" 2>&1 &
  local launcher=$!
  if wait_for_line "$run/logs/coordinator.log" 'training' 30; then
    kill -TERM "$launcher"
    wait "$launcher"
    rc=$?
    check "the launcher exits 130 like the coordinator" equals "$rc" 130
    check "the coordinator checkpointed before exiting" grep -q 'checkpoint: ' "$run/logs/coordinator.log"
    check "the coordinator was stopped before the workers" \
      bash -c "grep -n 'sent SIGTERM' '$work/sigterm.out' | head -n 1 | grep -q coordinator"
    check "no node process is left" no_fakes_left "$run"
  else
    not_ok "the cluster came up for the SIGTERM test"
    kill -KILL "$launcher" 2>/dev/null
  fi

  echo "# local-cluster.sh: stop on a detached cluster, workers first"
  run="$work/local-stop"
  FAKE_TRAIN_SECONDS=100 lc -w 2 -r "$run" --detach --stop-order workers-first >"$work/stop.out" 2>&1
  if wait_for_line "$run/logs/coordinator.log" 'training' 30; then
    "$local_cluster" stop -r "$run" >"$work/stop2.out" 2>&1
    check "stop records the coordinator's status (130)" grep -q 'exit status 130' "$work/stop2.out"
    check "--stop-order workers-first stops a worker first" \
      bash -c "grep 'sent SIGTERM' '$run/logs/launcher.log' | head -n 1 | grep -q worker"
    check "no node process is left" no_fakes_left "$run"
  else
    not_ok "the cluster came up for the stop test"
  fi

  echo "# local-cluster.sh: a crashed coordinator is restarted and resumes"
  run="$work/local-restart"
  # No singleton line here: kill-coordinator falls back to the first coordinator alive.
  FAKE_SINGLETON_LINE=0 FAKE_TRAIN_SECONDS=1000 lc -w 1 -r "$run" --detach --coordinator-restarts 1 >"$work/restart.out" 2>&1
  if wait_for_line "$run/logs/coordinator.log" 'training' 30; then
    # The fake checkpoints on SIGTERM only, so make one as the trainer would have by now.
    mkdir -p "$run/checkpoints/step-000000005" && touch "$run/checkpoints/step-000000005/COMMITTED"
    "$local_cluster" kill-coordinator -r "$run" >"$work/restart-kill.out" 2>&1
    check "kill-coordinator without a singleton line kills the first coordinator" grep -q 'sent SIGKILL to coordinator$' "$work/restart-kill.out"
    check "the new coordinator resumes the run directory" wait_for_line "$run/logs/coordinator.log" "resumed from $run" 30
    touch "$run/fake-finish"
    "$local_cluster" wait -r "$run" --timeout 60 2>/dev/null
    check "the restarted run finishes (exit 0)" equals "$?" 0
  else
    not_ok "the cluster came up for the restart test"
  fi
  "$local_cluster" stop -r "$run" >/dev/null 2>&1

  echo "# local-cluster.sh: two coordinators; the active one is killed and the standby takes over"
  run="$work/local-coordinators"
  FAKE_TRAIN_SECONDS=1000 lc -w 2 --coordinators 2 -r "$run" --detach >"$work/coordinators.out" 2>&1
  check "status lists both coordinators, running" equals "$(status_of "$run" coordinator) $(status_of "$run" coordinator-2)" "running running"
  check "they share the run directory" bash -c "grep -q 'RNNCLUSTER_RUN_DIR=$run ' '$run/logs/coordinator.log' && grep -q 'RNNCLUSTER_RUN_DIR=$run ' '$run/logs/coordinator-2.log'"
  check "the first coordinator runs the singleton" wait_for_line "$run/logs/coordinator.log" 'coordinator singleton started on this node' 10
  check "status marks it active" is_active "$run" coordinator
  check "the second joined through the first (its seed) and stands by" \
    grep -q "standing by: following 127.0.0.1:$(port_of "$run" coordinator)" "$run/logs/coordinator-2.log"
  check "it listens on its own --set cluster.port" equals "$(port_of "$run" coordinator-2)" "$(awk '/--set cluster.port=/ {sub(/.*cluster.port=/, ""); print $1; exit}' "$run/logs/coordinator-2.log")"
  check "workers list every coordinator as a seed" \
    grep -q "seeds: 127.0.0.1:$(port_of "$run" coordinator), 127.0.0.1:$(port_of "$run" coordinator-2)" "$run/logs/worker-1.log"
  if wait_for_line "$run/logs/coordinator.log" '^[0-9:]+ fake-coordinator: training' 30; then
    mkdir -p "$run/checkpoints/step-000000005" && touch "$run/checkpoints/step-000000005/COMMITTED"
    "$local_cluster" kill-coordinator -r "$run" >"$work/coordinators-kill.out" 2>&1
    check "kill-coordinator kills the active one" grep -q 'sent SIGKILL to coordinator$' "$work/coordinators-kill.out"
    check "the standby takes the run over" wait_for_line "$run/logs/coordinator-2.log" 'coordinator singleton started on this node' 10
    check "and resumes the shared run directory" grep -q "resumed from $run" "$run/logs/coordinator-2.log"
    check "the workers join it" wait_for_line "$run/logs/worker-2.log" "joined through 127.0.0.1:$(port_of "$run" coordinator-2)" 10
    check "status marks the new active coordinator" is_active "$run" coordinator-2
    touch "$run/fake-finish"
    "$local_cluster" wait -r "$run" --timeout 60 2>/dev/null
    check "wait returns the status of the coordinator that finished the run (0)" equals "$?" 0
    check "though the killed one exited 137" equals "$(exit_of "$run" coordinator) $(exit_of "$run" coordinator-2)" "137 0"
  else
    not_ok "the cluster with two coordinators started training"
  fi
  check "no node process is left" no_fakes_left "$run"

  echo "# local-cluster.sh: stop with two coordinators"
  run="$work/local-coordinators-stop"
  FAKE_TRAIN_SECONDS=100 lc -w 1 --coordinators 2 -r "$run" --detach >"$work/coordinators-stop.out" 2>&1
  if wait_for_line "$run/logs/coordinator.log" '^[0-9:]+ fake-coordinator: training' 30; then
    "$local_cluster" stop -r "$run" >"$work/coordinators-stop2.out" 2>&1
    check "stop reports the active coordinator's status (130)" grep -q 'exit status 130' "$work/coordinators-stop2.out"
    check "the standby is stopped before the active one, which checkpoints" \
      bash -c "grep 'sent SIGTERM' '$run/logs/launcher.log' | head -n 2 | tr '\n' ' ' | grep -q 'coordinator-2 .*to coordinator \$' && grep -q 'checkpoint: ' '$run/logs/coordinator.log'"
    check "no node process is left" no_fakes_left "$run"
  else
    not_ok "the cluster with two coordinators came up for the stop test"
  fi

  echo "# local-cluster.sh: failures to start"
  run="$work/local-broken"
  lc -w 1 -r "$run" --coordinator-exe /bin/false >"$work/broken.out" 2>&1
  check "a coordinator that exits at once fails the start (exit 1)" equals "$?" 1
  check "and the error says so" grep -q 'coordinator exited before it listened' "$work/broken.out"
  python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' >"$work/port" &
  local holder=$!
  until [ -s "$work/port" ]; do sleep 0.1; done
  "$local_cluster" -w 1 -r "$work/local-port" --coordinator-exe "$fake" --worker-exe "$fake" \
    --base-port "$(cat "$work/port")" >"$work/port.out" 2>&1
  check "a taken port is refused before anything starts" grep -q 'already in use' "$work/port.out"
  kill "$holder" 2>/dev/null
  wait "$holder" 2>/dev/null
}

test_netns() {
  echo "# netns-cluster.sh"
  local reason
  if ! reason=$("$netns_cluster" check 2>&1); then
    skip "network-namespace cluster: ${reason##*: }"
    return
  fi
  local n="$netns_cluster" run="$work/netns"
  "$n" down >/dev/null 2>&1
  check "up 2 builds the network" "$n" up 2
  check "the namespaces exist" bash -c "ip netns list | grep -q '^rnnst-coord' && ip netns list | grep -q '^rnnst-w2'"
  check "worker 1 reaches the coordinator" "$n" probe w1 coord
  "$n" partition w1 2>/dev/null
  check "partition cuts worker 1 off" bash -c "! '$n' probe w1 coord"
  check "and only worker 1" "$n" probe w2 coord
  "$n" heal w1 2>/dev/null
  check "heal brings worker 1 back" "$n" probe w1 coord
  FAKE_TRAIN_SECONDS=3 "$n" start -r "$run" --coordinator-exe "$fake" --worker-exe "$fake" \
    --ready-timeout 30 --node-faults w2='drop=0.01' >"$work/netns-start.out" 2>&1
  check "start runs every node in its namespace" grep -q 'listening on 10.77.9.12:2552' "$run/logs/worker-2.log"
  check "nodes get the secret off loopback" grep -q 'cluster secret from file:' "$run/logs/coordinator.log"
  check "--node-faults reaches that node only" bash -c "grep -q 'faults: drop=0.01' '$run/logs/worker-2.log' && ! grep -q 'faults:' '$run/logs/worker-1.log'"
  "$n" partition w2 2>/dev/null
  check "the coordinator notices the partitioned worker" wait_for_line "$run/logs/coordinator.log" 'waiting: 1 of 2'
  "$n" heal w2 2>/dev/null
  "$n" pause w1 2>/dev/null
  check "pause freezes the node" bash -c "'$n' status | grep worker-1 | grep -q paused"
  "$n" resume w1 2>/dev/null
  # A crashed coordinator started again resumes its run directory (the fake checkpoints only on
  # SIGTERM, so make the checkpoint the trainer would have written by now).
  mkdir -p "$run/checkpoints/step-000000005" && touch "$run/checkpoints/step-000000005/COMMITTED"
  "$n" kill coord 2>/dev/null
  check "start-node restarts a killed coordinator" "$n" start-node coord
  check "which resumes its run" grep -q "resumed from $run" "$run/logs/coordinator.log"
  check "exec runs a command in a node's namespace" \
    bash -c "'$n' exec w1 ip -o -4 addr show eth0 | grep -q 10.77.9.11/24"
  "$n" wait --timeout 60 2>/dev/null
  check "the run finishes after the faults (exit 0)" equals "$?" 0
  "$n" down >/dev/null 2>&1
  check "down leaves no namespace" bash -c "! ip netns list | grep -q '^rnnst-'"
  check "down leaves no bridge" bash -c "! ip link show rnnst-br0 >/dev/null 2>&1"
  check "down leaves no node process" no_fakes_left "$run"
  check "down again is harmless" "$n" down
}

test_manifests() {
  echo "# check-manifests.py"
  local checker="$here/check-manifests.py" k8s="$deploy/k8s"
  if ! python3 -c 'import yaml' 2>/dev/null; then
    skip "manifest checks: python3-yaml is not installed"
    return
  fi
  check "deploy/k8s passes" python3 "$checker" "$k8s"
  # broken DESCRIPTION EXPECTED FILE OLD NEW: a copy of deploy/k8s whose FILE has OLD replaced by NEW
  # must fail with a problem containing EXPECTED.
  broken() {
    local description=$1 expected=$2 file=$3 copy="$work/k8s-broken"
    rm -rf "$copy" && cp -r "$k8s" "$copy"
    if ! python3 -c 'import sys; p, old, new = sys.argv[1:]; s = open(p).read(); assert old in s; open(p, "w").write(s.replace(old, new))' \
      "$copy/$file" "$4" "$5"; then
      not_ok "$description (the test's text is not in $file)"
      return
    fi
    if python3 "$checker" "$copy" >"$work/broken.out" 2>&1; then
      not_ok "$description: the checker passed it"
    elif grep -qF -- "$expected" "$work/broken.out"; then
      ok "$description"
    else
      not_ok "$description: no problem mentioning '$expected' in: $(tr '\n' ' ' <"$work/broken.out")"
    fi
  }
  broken "one coordinator-eligible pod is refused" "failover needs at least 2" \
    coordinator.yaml 'replicas: 2' 'replicas: 1'
  broken "a RoleBinding subject without the namespace is refused" "subject rnncluster names namespace None" \
    rbac.yaml $'    namespace: rnncluster\nroleRef:' 'roleRef:'
  broken "a Role that cannot list pods is refused" "may get, list and watch pods" \
    rbac.yaml 'verbs: ["get", "list", "watch"]' 'verbs: ["get"]'
  broken "an object in another namespace is refused" "names namespace default" \
    service.yaml 'namespace: rnncluster' 'namespace: default'
  broken "a grace period shorter than a checkpoint plus the shutdown phases is refused" "terminationGracePeriodSeconds 120 is below" \
    coordinator.yaml 'terminationGracePeriodSeconds: 180' 'terminationGracePeriodSeconds: 120'
  broken "a readiness probe off the management endpoint is refused" "readinessProbe must GET /ready" \
    workers.yaml 'path: /ready' 'path: /alive'
  broken "a shell entrypoint is refused" "runs through a shell" \
    workers.yaml 'command: ["/usr/bin/tini", "--",' 'command: ["sh", "-c",'
  broken "a run directory on a ReadWriteOnce claim is refused" "is not ReadWriteMany" \
    run-volume.yaml 'ReadWriteMany"]' 'ReadWriteOnce"]'
  broken "seeds beside the bootstrap are refused" "RNNCLUSTER_SEEDS with cluster.discovery.method = kubernetes" \
    workers.yaml $'            - name: RNNCLUSTER_SET\n' $'            - name: RNNCLUSTER_SEEDS\n              value: rnncluster-coordinator-0.rnncluster:2552\n            - name: RNNCLUSTER_SET\n'
  broken "pods the discovery's label selector misses are refused" "are not found by cluster.discovery.pod-label-selector" \
    cluster.hocon 'pod-label-selector = "app.kubernetes.io/name={0}"' 'pod-label-selector = "app={0}"'
  broken "a management port the containers do not name is refused" "= cluster.management.port (8559)" \
    cluster.hocon 'port = 8558' 'port = 8559'
  broken "pods that do not advertise their IP are refused" "advertised-host to the pod's IP" \
    coordinator.yaml ';cluster.management.advertised-host="$(POD_IP)"' ''
  broken "one-by-one pod startup is refused" "podManagementPolicy must be Parallel" \
    workers.yaml 'podManagementPolicy: Parallel' 'podManagementPolicy: OrderedReady'
}

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(local netns manifests)
for suite in "${suites[@]}"; do
  case "$suite" in
    local) test_local ;;
    netns) test_netns ;;
    manifests) test_manifests ;;
    *)
      echo "unknown suite $suite (local, netns, manifests)" >&2
      exit 2
      ;;
  esac
done
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
