# shellcheck shell=bash disable=SC2034 # the RNN_* results are read by the callers
# Node bookkeeping shared by deploy/local-cluster.sh and deploy/netns/netns-cluster.sh, so that both
# launch, watch, signal and stop nodes the same way, and a test driving either exercises one code
# path. Sourced, not run. Callers set RNN_PROG (their name, for messages) and use `set -euo pipefail`;
# every function here is written to be safe under it.
#
# State of one cluster lives in a directory STATE:
#   NAME.pid   "PID STARTTIME" written by node-runner.sh once the node runs
#   NAME.exit  the node's exit status, written by node-runner.sh when it ends
#   NAME.cmd   the node's command line (bash `declare -p`), so a node can be started again by name
# Logs are appended, never truncated: a restarted node's log keeps its earlier lives.
#
# No command substitution ($(...), `...`, <(...)) in the functions a launcher runs while it traps
# signals: bash 5.2 runs pending traps from inside the parser it re-enters to expand a substitution,
# and a signal landing there makes the trap's own text fail to parse ("trap: line 2: unexpected EOF
# while looking for matching `)'"): the launcher then dies, or hangs, instead of stopping the nodes.
# Seen here under load. So these functions return results in RNN_* variables and read files with
# `read`; the few that still substitute say so and run only before any trap is set.

RNN_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RNN_REPO_ROOT="$(cd "$RNN_LIB_DIR/../.." && pwd)"
: "${RNN_PROG:=rnncluster-deploy}"
# Raised by a caller's signal trap. 1 = stop requested: waits for readiness give up so the caller can
# shut down, but graceful stops still get their full timeout. 2 = stop now: graceful waits give up
# too and nodes are killed.
RNN_ABORT=0
# How often the wait loops poll. Short enough to notice a node within a blink, long enough to cost
# nothing on a 2-core machine.
RNN_POLL_S=0.2

rnn_say() { printf '%s: %s\n' "$RNN_PROG" "$*" >&2; }

rnn_die() {
  local code=$1
  shift
  printf '%s: error: %s\n' "$RNN_PROG" "$*" >&2
  exit "$code"
}

# rnn_is_uint VALUE: a plain decimal number (what options like --workers take).
rnn_is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# rnn_in_range VALUE MIN MAX: a whole number from MIN to MAX.
rnn_in_range() { rnn_is_uint "$1" && (($1 >= $2 && $1 <= $3)); }

# rnn_now_ms: RNN_NOW_MS = wall-clock milliseconds (bash's own clock, no `date` process).
rnn_now_ms() {
  local us=${EPOCHREALTIME//[!0-9]/}
  RNN_NOW_MS=$((10#$us / 1000))
}

# rnn_proc_stat PID: RNN_STAT_STATE (R, S, D, T = stopped, Z = zombie...) and RNN_STAT_START
# (start time in clock ticks since boot, field 22) of /proc/PID/stat; fails when PID is gone.
rnn_proc_stat() {
  local stat fields
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  # Field 2 (the command name) may hold spaces or parentheses: count fields after the last ')'.
  read -r -a fields <<<"${stat##*) }"
  RNN_STAT_STATE=${fields[0]}
  RNN_STAT_START=${fields[19]}
}

# rnn_node_pid STATE NAME: RNN_PID = the node's pid, when that very process is still alive (a zombie
# or a reused pid does not count); fails otherwise.
rnn_node_pid() {
  local file="$1/$2.pid" pid start
  RNN_PID=""
  { read -r pid start <"$file"; } 2>/dev/null || return 1
  rnn_is_uint "$pid" || return 1
  rnn_proc_stat "$pid" || return 1
  [ "$start" = unknown ] || [ "$RNN_STAT_START" = "$start" ] || return 1
  [ "$RNN_STAT_STATE" != Z ] || return 1
  RNN_PID=$pid
}

# rnn_node_state STATE NAME: RNN_STATE = running | paused | exited N | exited ? | not started, with
# RNN_PID set for the first two.
rnn_node_state() {
  local rc
  if rnn_node_pid "$1" "$2"; then
    case "$RNN_STAT_STATE" in
      T | t) RNN_STATE=paused ;;
      *) RNN_STATE=running ;;
    esac
  elif { read -r rc <"$1/$2.exit"; } 2>/dev/null; then
    RNN_STATE="exited $rc"
  elif [ -f "$1/$2.pid" ]; then
    # The runner was killed before it could record the status.
    RNN_STATE="exited ?"
  else
    RNN_STATE="not started"
  fi
}

# rnn_node_signal STATE NAME SIGNAL: sends SIGNAL when the node is alive; fails when it is not.
rnn_node_signal() {
  rnn_node_pid "$1" "$2" || return 1
  kill -s "$3" "$RNN_PID" 2>/dev/null
}

# rnn_node_save_cmd STATE NAME CMD...: remembers how NAME is started.
rnn_node_save_cmd() {
  local state=$1 name=$2
  shift 2
  local -a cmd=("$@")
  declare -p cmd >"$state/$name.cmd"
}

# rnn_node_load_cmd STATE NAME: RNN_CMD = NAME's saved command line.
rnn_node_load_cmd() {
  local file="$1/$2.cmd"
  [ -f "$file" ] || return 1
  local -a cmd=()
  # shellcheck source=/dev/null
  source "$file"
  RNN_CMD=("${cmd[@]}")
}

# rnn_node_launch STATE NAME LOG: starts NAME's saved command through node-runner.sh and waits until
# the runner has recorded its pid. RNN_RUNNER_PID = the runner, a child of the calling shell (so the
# caller may `wait` for it).
rnn_node_launch() {
  local state=$1 name=$2 log=$3 deadline
  rnn_node_load_cmd "$state" "$name" || rnn_die 1 "no saved command for node $name in $state"
  if rnn_node_pid "$state" "$name"; then
    rnn_die 1 "node $name is already running (pid $RNN_PID)"
  fi
  rm -f "$state/$name.pid" "$state/$name.exit"
  {
    TZ=UTC0 printf '=== %s: starting %s at %(%Y-%m-%dT%H:%M:%SZ)T\n=== command:' "$RNN_PROG" "$name" -1
    printf ' %q' "${RNN_CMD[@]}"
    printf '\n'
  } >>"$log"
  # The runner runs setsid directly (no fork: a background child of a non-interactive shell is not a
  # process-group leader), so $! is the runner itself. File descriptor 9 is where callers hold their
  # flock; a node that inherited it would hold the caller's lock for as long as it runs. Likewise
  # the runner gets none of the caller's standard streams: a caller that reads our output to its end
  # (a test, $(...), a pipe) would otherwise wait until every node has exited.
  # Workers exit 3 when the cluster downed them or they lost their coordinator: start them again.
  local restart=()
  [[ $name == worker-* ]] && restart=(--restart-on 3)
  setsid "$RNN_LIB_DIR/node-runner.sh" "$state/$name.pid" "$state/$name.exit" "$log" "${restart[@]}" -- "${RNN_CMD[@]}" 9>&- </dev/null >/dev/null 2>>"$log" &
  RNN_RUNNER_PID=$!
  rnn_now_ms
  deadline=$((RNN_NOW_MS + 10000))
  until [ -f "$state/$name.pid" ]; do
    rnn_now_ms
    ((RNN_NOW_MS < deadline)) || rnn_die 1 "node $name: its runner recorded no pid within 10 s"
    sleep "$RNN_POLL_S"
  done
}

# rnn_listening PORT [NETNS] [PID]: succeeds when a TCP socket listens on PORT (in network namespace
# NETNS when given; owned by PID when given and ss can tell owners). Without owner information (ss
# not allowed to read other processes) a listener on the port is taken as ours: the launchers check
# that fixed ports are free before starting a node.
rnn_listening() {
  local port=$1 netns=${2:-} pid=${3:-}
  local -a ss=(ss -Hltn)
  [ -z "$pid" ] || ss+=(-p)
  [ -z "$netns" ] || ss=(ip netns exec "$netns" "${ss[@]}")
  "${ss[@]}" "sport = :$port" 2>/dev/null | awk -v pid="$pid" '
    NF { any = 1 }
    /users:/ { owners = 1 }
    pid != "" && index($0, "pid=" pid ",") { mine = 1 }
    END { exit !(any && (pid == "" || !owners || mine)) }'
}

# rnn_wait_listening STATE NAME PORT TIMEOUT_S [NETNS]: waits until node NAME listens on PORT.
# Returns 0 when it does, 1 when the node exited first, 2 on timeout, 3 when RNN_ABORT was set.
rnn_wait_listening() {
  local state=$1 name=$2 port=$3 timeout_s=$4 netns=${5:-} deadline
  rnn_now_ms
  deadline=$((RNN_NOW_MS + timeout_s * 1000))
  while :; do
    ((RNN_ABORT == 0)) || return 3
    rnn_node_pid "$state" "$name" || return 1
    rnn_listening "$port" "$netns" "$RNN_PID" && return 0
    rnn_now_ms
    ((RNN_NOW_MS < deadline)) || return 2
    sleep "$RNN_POLL_S"
  done
}

# rnn_wait_exit TIMEOUT_S STATE NAME...: waits until none of the nodes is alive. Fails on timeout
# or when RNN_ABORT reaches 2 (the nodes still alive are then left to the caller).
rnn_wait_exit() {
  local timeout_s=$1 state=$2 deadline name alive
  shift 2
  rnn_now_ms
  deadline=$((RNN_NOW_MS + timeout_s * 1000))
  while :; do
    alive=0
    for name in "$@"; do
      if rnn_node_pid "$state" "$name"; then alive=1; fi
    done
    ((alive)) || return 0
    ((RNN_ABORT < 2)) || return 1
    rnn_now_ms
    ((RNN_NOW_MS < deadline)) || return 1
    sleep "$RNN_POLL_S"
  done
}

# rnn_stop_nodes STATE TIMEOUT_S NAME...: SIGTERM, then SIGKILL after TIMEOUT_S. Paused nodes are
# continued after the SIGTERM (a stopped process acts on nothing but SIGKILL and SIGCONT), so the
# pending SIGTERM is the first thing they see.
rnn_stop_nodes() {
  local state=$1 timeout_s=$2 name
  shift 2
  for name in "$@"; do
    if rnn_node_signal "$state" "$name" TERM; then
      rnn_node_signal "$state" "$name" CONT || true
      rnn_say "sent SIGTERM to $name"
    fi
  done
  if rnn_wait_exit "$timeout_s" "$state" "$@"; then
    rnn_wait_recorded "$state" "$@"
    return 0
  fi
  for name in "$@"; do
    if rnn_node_signal "$state" "$name" KILL; then
      rnn_say "$name did not stop within ${timeout_s}s: sent SIGKILL"
    fi
  done
  RNN_ABORT=0 rnn_wait_exit 10 "$state" "$@" || rnn_say "warning: some nodes survived SIGKILL: $*"
  rnn_wait_recorded "$state" "$@"
}

# rnn_wait_recorded STATE NAME...: a node's runner writes its exit status a moment after the node
# ends; wait for that (2 s at most) so what is reported next is the real status.
rnn_wait_recorded() {
  local state=$1 name deadline
  shift
  rnn_now_ms
  deadline=$((RNN_NOW_MS + 2000))
  for name in "$@"; do
    while [ -f "$state/$name.pid" ] && [ ! -f "$state/$name.exit" ]; do
      rnn_now_ms
      ((RNN_NOW_MS < deadline)) || break
      sleep 0.05
    done
  done
}

# rnn_free_port [NETNS] [EXCLUDED...]: RNN_PORT = a TCP port nobody listens on now and not among
# EXCLUDED (a later bind may still race; the node's failure to bind is then reported).
rnn_free_port() {
  local netns=${1:-} tries=0
  shift || true
  while ((tries++ < 200)); do
    RNN_PORT=$((20000 + RANDOM % 30000))
    [[ " $* " == *" $RNN_PORT "* ]] && continue
    rnn_listening "$RNN_PORT" "$netns" || return 0
  done
  return 1
}

# rnn_make_secret FILE: writes 32 random bytes as 64 hex characters, readable by the owner only.
# Hex, so that the same secret can also travel in an environment variable (env:NAME) unchanged.
rnn_make_secret() {
  local file=$1
  (
    umask 077
    { od -An -tx1 -N32 /dev/urandom | tr -d ' \n' && echo; } >"$file.tmp"
  )
  mv -f "$file.tmp" "$file"
}

# rnn_check_secret FILE: the node refuses secrets under 16 bytes; say so before starting anything.
# (Uses command substitution: call it before setting traps.)
rnn_check_secret() {
  local file=$1 bytes
  [ -r "$file" ] || rnn_die 2 "secret file $file is not readable"
  bytes=$(tr -d '\r\n' <"$file" | wc -c)
  ((bytes >= 16)) || rnn_die 2 "secret file $file holds $bytes bytes; a cluster secret needs at least 16"
}

# rnn_hocon_string VALUE: RNN_HOCON = VALUE as a quoted HOCON string, for --set key=VALUE (paths with
# spaces, and values with ':' which unquoted HOCON does not allow).
rnn_hocon_string() {
  local v=$1
  v=${v//\\/\\\\}
  v=${v//\"/\\\"}
  RNN_HOCON="\"$v\""
}

# rnn_build LOG: builds both executables (Release) into artifacts/bin as scripts/rnncluster.sh does
# for the coordinator, installing missing Debian packages first through scripts/setup.sh.
rnn_build() {
  local log=$1
  rnn_say "building coordinator and worker (log: $log)"
  if ! {
    bash "$RNN_REPO_ROOT/scripts/setup.sh" &&
      dotnet build "$RNN_REPO_ROOT/Coordinator/RnnCluster.Coordinator.csproj" -c Release \
        -o "$RNN_REPO_ROOT/artifacts/bin/rnncluster" -nologo -v quiet -clp:ErrorsOnly &&
      dotnet build "$RNN_REPO_ROOT/Worker/RnnCluster.Worker.csproj" -c Release \
        -o "$RNN_REPO_ROOT/artifacts/bin/rnncluster-worker" -nologo -v quiet -clp:ErrorsOnly
  } >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rnn_die 1 "build failed (full log: $log)"
  fi
}

# rnn_log_tail NAME LOG: the end of a node's log, for error messages.
rnn_log_tail() {
  rnn_say "last lines of $1's log ($2):"
  tail -n 20 "$2" 2>/dev/null | sed 's/^/    /' >&2 || true
}
