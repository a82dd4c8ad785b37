#!/usr/bin/env bash
# Runs one cluster node and records what its launcher needs to watch and stop it:
#   node-runner.sh PIDFILE EXITFILE LOG [--restart-on STATUS] -- COMMAND [ARG...]
# With --restart-on, a node that exits with STATUS is started again (a new process, so a new
# incarnation): a worker exits 3 when the cluster downed it or it lost its coordinator, because a
# downed Akka.NET node can never rejoin; this is the local counterpart of systemd's Restart= and a
# Kubernetes restart.
# The launcher starts this script in a session of its own (setsid), so a Ctrl-C on the launcher's
# terminal reaches only the launcher, which then stops the nodes in a deliberate order.
#
# PIDFILE gets "PID STARTTIME" of the node (STARTTIME: field 22 of /proc/PID/stat). Signals are only
# ever sent after checking both, because once a node has exited its pid may belong to an unrelated
# process. EXITFILE gets the node's exit status when it ends (128+N when killed by signal N).
set -u
pidfile=$1 exitfile=$2 log=$3
shift 3
restart_on=""
if [ "${1:-}" = "--restart-on" ]; then
  restart_on=$2
  shift 2
fi
[ "${1:-}" = "--" ] && shift
# Our own complaints (bash reporting a killed child) belong with the node's story, not the launcher's.
exec 2>>"$log"

while true; do
  # A background command of a non-interactive shell starts with SIGINT and SIGQUIT ignored; give the
  # node the default dispositions back so it can be interrupted like a foreground program.
  env --default-signal=INT,QUIT "$@" </dev/null >>"$log" 2>&1 &
  pid=$!

  # The child is not reaped before 'wait' below, so /proc/PID/stat exists even if it already exited.
  start=unknown
  if stat=$(cat "/proc/$pid/stat" 2>/dev/null); then
    # Field 2 (the command name) may hold spaces or parentheses: count fields after the last ')'.
    read -r -a fields <<<"${stat##*) }"
    start=${fields[19]}
  fi
  printf '%s %s\n' "$pid" "$start" >"$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile"

  wait "$pid"
  status=$?
  if [ -n "$restart_on" ] && [ "$status" = "$restart_on" ]; then
    printf '=== node-runner: pid %s exited with status %s at %s: starting it again as a new incarnation\n' "$pid" "$status" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$log"
    continue
  fi
  break
done
printf '%s\n' "$status" >"$exitfile.tmp" && mv -f "$exitfile.tmp" "$exitfile"
printf '=== node-runner: pid %s exited with status %s at %s\n' "$pid" "$status" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$log"
exit "$status"
