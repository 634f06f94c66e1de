#!/usr/bin/env bash
# Stop the Request Tracker server that start-rt.sh started (and nothing else):
# the pid comes from the pid file in the state dir and must still be rt-server.
#
# Environment: RT_STATE as for start-rt.sh; RT_STOP_TRIES polls of 0.5 s to
# wait for a clean exit before SIGKILL (default 60).
set -euo pipefail

RT_STATE="${RT_STATE:-${TMPDIR:-/tmp}/handraise-rt}"
RT_STOP_TRIES="${RT_STOP_TRIES:-60}"
PID_FILE="$RT_STATE/rt-server.pid"

log() { printf 'stop-rt: %s\n' "$*" >&2; }

is_rt_server() {
    [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'rt-server'
}

if [[ ! -f "$PID_FILE" ]]; then
    log "no pid file in $RT_STATE: nothing to stop"
    exit 0
fi
pid="$(<"$PID_FILE")"
if [[ ! "$pid" =~ ^[0-9]+$ ]] || ! is_rt_server "$pid"; then
    log "pid ${pid:-?} is not a running rt-server: removing the stale pid file"
    rm -f "$PID_FILE"
    exit 0
fi

# Starlet's master passes TERM on to its workers and waits for them.
kill -TERM "$pid"
for ((try = 0; try < RT_STOP_TRIES; try++)); do
    is_rt_server "$pid" || break
    sleep 0.5
done
if is_rt_server "$pid"; then
    log "pid $pid ignored TERM: sending KILL to it and its workers"
    pkill -KILL -P "$pid" || true
    kill -KILL "$pid" || true
fi
rm -f "$PID_FILE"
log "stopped rt-server (pid $pid)"
