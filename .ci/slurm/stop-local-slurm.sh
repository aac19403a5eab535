#!/usr/bin/env bash
# Stop the single-node SLURM that start-local-slurm.sh started, and nothing else.
#
# Jobs still queued on it are cancelled first, so that no dask worker outlives
# slurmd. Then each daemon whose pid file lies under $RUN_DIR is stopped by pid,
# after checking that the pid still belongs to a process of that name (SIGTERM,
# up to 20 s, then SIGKILL). A munged that ran before start-local-slurm.sh has
# no pid file there and is left alone. Safe to run when nothing is running.
set -uo pipefail

# shellcheck source=pids.sh
. "$(dirname "$0")/pids.sh"

say() { printf '[stop-local-slurm] %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { say "run me as root"; exit 1; }


stop_daemon() {  # stop_daemon NAME
    local name=$1 pid
    pid=$(recorded_pid "$name")
    [ -n "$pid" ] || return 0
    if is_running "$pid" "$name"; then
        say "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do is_running "$pid" "$name" || break; sleep 0.2; done
        if is_running "$pid" "$name"; then
            say "$name (pid $pid) still running 20 s after SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    fi
    rm -f "$RUN_DIR/$name.pid"
}

if is_running "$(recorded_pid slurmctld)" slurmctld; then
    jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs $jobs"
        # shellcheck disable=SC2086  # one argument per job id
        scancel $jobs 2>/dev/null || true
        for _ in $(seq 30); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
    fi
fi

for daemon in slurmd slurmctld munged; do stop_daemon "$daemon"; done
say "stopped"
exit 0
