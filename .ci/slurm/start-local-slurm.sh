#!/usr/bin/env bash
# Start a single-node SLURM on this machine for the live tests (tests/slurm).
#
# Installs Debian's slurm-wlm pieces and munge when they are missing, writes
# /etc/slurm/slurm.conf with two partitions on the one node, starts munged,
# slurmctld and slurmd without systemd, and waits until the node is idle.
#
#   small  (default)  MaxMemPerNode=2048 MB  DefMemPerCPU=512  MaxTime=30 min
#   large             MaxMemPerNode=8192 MB  DefMemPerCPU=1024 MaxTime=unlimited
#
# Idempotent: when the daemons it started earlier are alive, answer, run the
# same configuration and the node is usable, it says so and exits 0. Otherwise it
# stops what it started before and starts afresh. Only processes whose pid file
# is under $RUN_DIR are ever stopped (see stop-local-slurm.sh).
#
# Knobs (environment):
#   SLURM_LOCAL_CPUS=4          CPUs the node advertises (more than the cores is fine for tests)
#   SLURM_LOCAL_TIMEOUT=60      seconds to wait for the node to become idle
#   SLURM_LOCAL_SKIP_INSTALL=1  never call apt-get; fail if something is missing
#
# Written for Debian 12 (Slurm 22.05) as root, with no systemd and no cgroups.
set -euo pipefail

CPUS=${SLURM_LOCAL_CPUS:-4}
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
SKIP_INSTALL=${SLURM_LOCAL_SKIP_INSTALL:-0}

# shellcheck source=pids.sh
. "$(dirname "$0")/pids.sh"
LOG_DIR=/var/log/acme-like-slurm
SPOOL_DIR=/var/spool/acme-like-slurm
CONF=/etc/slurm/slurm.conf
MARKER="# acme_like local test cluster (.ci/slurm/start-local-slurm.sh)"

say() { printf '[start-local-slurm] %s\n' "$*"; }
fail() { printf '[start-local-slurm] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run me as root (I install packages and start daemons)"
case "$CPUS" in ''|*[!0-9]*) fail "SLURM_LOCAL_CPUS must be a positive integer, got '$CPUS'";; esac
started_at=$(date +%s)

ours_running() { is_running "$(recorded_pid "$1")" "$1"; }
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1 || true; }

# --- packages --------------------------------------------------------------------
missing=()
command -v slurmctld >/dev/null || missing+=(slurmctld)
command -v slurmd >/dev/null || missing+=(slurmd)
command -v sbatch >/dev/null || missing+=(slurm-client)
command -v munged >/dev/null || missing+=(munge)
if [ ${#missing[@]} -gt 0 ]; then
    [ "$SKIP_INSTALL" = 1 ] && fail "missing packages: ${missing[*]} (and SLURM_LOCAL_SKIP_INSTALL=1)"
    say "installing ${missing[*]}"
    # Package scripts must not try to start daemons (there is no init system to do it).
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
    fi
    installed=0
    for attempt in 1 2 3; do
        if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq update \
            && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq install -y \
                --no-install-recommends "${missing[@]}" >/dev/null; then
            installed=1
            break
        fi
        say "apt-get failed (attempt $attempt of 3); retrying in 5 s"
        sleep 5
    done
    [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$installed" = 1 ] || fail "could not install ${missing[*]}"
    say "installed in $(( $(date +%s) - started_at )) s"
fi

# --- configuration ------------------------------------------------------------------
NODE=$(hostname -s)
[ -n "$NODE" ] || fail "hostname -s is empty"
total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
node_mb=$(( total_mb - 2048 ))
[ "$node_mb" -ge 9216 ] || fail "need at least 11 GB of memory for the two partitions, have ${total_mb} MB"
real_cpus=$(nproc)
if [ "$CPUS" = "$real_cpus" ]; then
    node_cpus="CPUs=$CPUS"
    # Copy the real topology, or slurmd complains about socket/core boundaries.
    topology=$(slurmd -C 2>/dev/null | head -n1 | grep -o 'Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*' || true)
    [ -n "$topology" ] && node_cpus="$node_cpus $topology"
    overrides=""
else
    node_cpus="CPUs=$CPUS"
    overrides="SlurmdParameters=config_overrides"  # advertise more CPUs than there are cores
fi

wanted_conf=$(mktemp)
trap 'rm -f "$wanted_conf"' EXIT
cat >"$wanted_conf" <<EOF
$MARKER
ClusterName=acmelike
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$SPOOL_DIR/ctld
SlurmdSpoolDir=$SPOOL_DIR/d
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# pgid, not linuxproc: a worker whose batch shell died first must still be killed by scancel.
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# Start jobs within a fraction of a second (the defaults wait 2-3 s between passes).
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Reject at submission what a partition cannot run, instead of leaving it pending forever.
EnforcePartLimits=ALL
DefMemPerCPU=512
ReturnToService=2
KillWait=5
MinJobAge=60
InactiveLimit=0
$overrides
NodeName=$NODE NodeAddr=127.0.0.1 $node_cpus RealMemory=$node_mb State=UNKNOWN
# DefMemPerCPU is repeated per partition: scontrol show partition shows only these.
PartitionName=small Nodes=$NODE Default=YES MaxTime=30 DefMemPerCPU=512 MaxMemPerNode=2048 State=UP
PartitionName=large Nodes=$NODE Default=NO MaxTime=INFINITE DefMemPerCPU=1024 MaxMemPerNode=8192 State=UP
EOF

if [ -f "$CONF" ] && ! grep -qxF "$MARKER" "$CONF"; then
    if pgrep -x slurmctld >/dev/null 2>&1 && ! ours_running slurmctld; then
        fail "a SLURM not started by this script is running with $CONF; not touching it"
    fi
    [ -e "$CONF.before-acme-like" ] || cp -p "$CONF" "$CONF.before-acme-like"
fi

if ours_running slurmctld && ours_running slurmd && cmp -s "$wanted_conf" "$CONF" \
    && munge_works && scontrol ping 2>/dev/null | grep -q 'is UP'; then
    state=$(node_state)
    case "$state" in
        idle|mixed|allocated|completing)
            say "already running (node $NODE is $state); nothing to do"
            sinfo
            exit 0;;
    esac
    say "running, but node $NODE is '${state:-unknown}': restarting"
fi

# Whatever of ours is still up (other configuration, or unhealthy): stop it first.
bash "$(dirname "$0")/stop-local-slurm.sh" >/dev/null

mkdir -p "$RUN_DIR" "$LOG_DIR" /etc/slurm
install -m 644 "$wanted_conf" "$CONF"
rm -rf "$SPOOL_DIR"
mkdir -p "$SPOOL_DIR/ctld" "$SPOOL_DIR/d"

# --- munge ----------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    mungekey --create --force
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if munge_works; then
    say "reusing the munged that was already running"
else
    # Daemons get /dev/null for their standard streams, or a CI log pipe never closes.
    runuser -u munge -- /usr/sbin/munged --force </dev/null >/dev/null 2>&1 \
        || fail "munged did not start (see /var/log/munge/munged.log)"
    for _ in $(seq 50); do munge_works && break; sleep 0.1; done
    munge_works || fail "munge does not work after starting munged"
    tr -dc '0-9' </run/munge/munged.pid >"$RUN_DIR/munged.pid"
fi

# --- slurmctld, slurmd ------------------------------------------------------------------
daemons_at=$(date +%s.%N)
slurmctld </dev/null >/dev/null 2>&1 || { tail -n 20 "$LOG_DIR/slurmctld.log" >&2; fail "slurmctld did not start"; }
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.1; done
scontrol ping 2>/dev/null | grep -q 'is UP' || { tail -n 20 "$LOG_DIR/slurmctld.log" >&2; fail "slurmctld does not answer"; }
slurmd -N "$NODE" </dev/null >/dev/null 2>&1 || { tail -n 20 "$LOG_DIR/slurmd.log" >&2; fail "slurmd did not start"; }

deadline=$(( $(date +%s) + TIMEOUT ))
resumed=0
while :; do
    state=$(node_state)
    [ "$state" = idle ] && break
    case "$state" in
        *drain*|down*|*fail*)
            if [ "$resumed" = 0 ]; then
                scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
                resumed=1
            fi;;
    esac
    if [ "$(date +%s)" -ge "$deadline" ]; then
        sinfo -R >&2 || true
        tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
        fail "node $NODE is '${state:-unknown}', not idle, after ${TIMEOUT} s"
    fi
    sleep 0.2
done
ready_s=$(awk -v a="$daemons_at" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
say "SLURM is ready: node $NODE idle with $CPUS CPUs and ${node_mb} MB; partitions small (default) and large;" \
    "daemons up in ${ready_s} s, $(( $(date +%s) - started_at )) s in all"
sinfo
