# Shared by start-local-slurm.sh and stop-local-slurm.sh (sourced): where our daemons
# record their pids, and how to tell that a recorded pid is still one of ours.
RUN_DIR=/run/acme-like-slurm

# A pid counts as ours only if the process runs (not a zombie: PID 1 may reap
# late here) and still carries the name we started.
is_running() {  # is_running PID NAME
    local pid=$1 name=$2 state
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    case "$state" in ''|Z|X) return 1;; esac
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}
recorded_pid() { [ -r "$RUN_DIR/$1.pid" ] && tr -dc '0-9' <"$RUN_DIR/$1.pid" || true; }
