"""Reading partitions from sinfo/scontrol/sacctmgr text, SLURM memory values and times, and pick_partition."""

from __future__ import annotations

import pytest

from acme_like.errors import ClusterError, InputError
from acme_like.batch.partitions import (
    Partition,
    format_slurm_time,
    parse_qos_memory,
    parse_scontrol_partitions,
    parse_sinfo,
    parse_slurm_memory,
    parse_slurm_time,
    pick_partition,
    read_partitions,
    run_command,
    slurm_memory_request,
)
from acme_like.batch.setup import is_slurm_available

GiB, MiB = 2**30, 2**20

# Recorded on the CI machine's local SLURM (.ci/slurm/start-local-slurm.sh), Slurm 22.05.
LOCAL_SINFO = "small*|up|4|22055\nlarge|up|4|22055\n"
LOCAL_SCONTROL = (
    "PartitionName=small AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=YES QoS=N/A "
    "DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED "
    "MaxTime=00:30:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=vm PriorityJobFactor=1 PriorityTier=1 "
    "RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=4 "
    "TotalNodes=1 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerCPU=512 MaxMemPerNode=2048 "
    "TRES=cpu=4,mem=22055M,node=1,billing=4\n"
    "PartitionName=large AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=NO QoS=N/A "
    "DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED "
    "MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=vm PriorityJobFactor=1 PriorityTier=1 "
    "RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=4 "
    "TotalNodes=1 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerCPU=1024 MaxMemPerNode=8192 "
    "TRES=cpu=4,mem=22055M,node=1,billing=4\n"
)

# A made-up site whose memory limits come from QoS, with two node types and a partition that is down.
QOS_SINFO = "8GBS*|up|32|128000\n8GBS*|up|64|256000\n32GBL|up|32|128000\nPREPO|up|4|16000\nOLD|down|8|32000\n"
QOS_SCONTROL = (
    "PartitionName=8GBS Default=YES QoS=8GBS MaxTime=04:00:00 DefMemPerCPU=1000 MaxCPUsPerNode=UNLIMITED\n"
    "PartitionName=32GBL Default=NO QoS=32GBL MaxTime=7-00:00:00 DefMemPerCPU=4000 MaxCPUsPerNode=16\n"
    "PartitionName=PREPO Default=NO QoS=N/A MaxTime=UNLIMITED MaxMemPerCPU=2000\n"
    "PartitionName=OLD Default=NO QoS=N/A MaxTime=UNLIMITED\n"
)
QOS_SACCTMGR = {"8GBS": "cpu=32,mem=8G|\n", "32GBL": "mem=32768M|\n"}


def fake_site(sinfo, scontrol, qos=None, calls=None):
    """A command runner answering like a SLURM site; sacctmgr fails when ``qos`` is None."""

    def run(args):
        if calls is not None:
            calls.append(list(args))
        if args[0] == "sinfo":
            return sinfo
        if args[0] == "scontrol":
            return scontrol
        if args[0] == "sacctmgr" and qos is not None:
            return qos[args[5].removeprefix("name=")]
        raise ClusterError(f"`{' '.join(args)}` failed with exit code 1: You are not running a supported accounting_storage plugin")

    return run


@pytest.mark.parametrize(
    "text, seconds",
    [("30", 1800), ("30:15", 1815), ("01:00:00", 3600), ("2-00", 172800), ("1-02:03", 93780), ("1-00:00:01", 86401),
     ("UNLIMITED", None), ("infinite", None), ("NONE", None)],
)
def test_slurm_times(text, seconds):
    assert parse_slurm_time(text) == seconds


def test_slurm_times_format_back():
    assert format_slurm_time(1800) == "00:30:00"
    assert format_slurm_time(7 * 86400 + 61) == "7-00:01:01"


@pytest.mark.parametrize("text, expected", [("2048", 2048 * MiB), ("4G", 4 * GiB), ("500M", 500 * MiB), ("UNLIMITED", None), ("0", None)])
def test_slurm_memory_values_are_mebibytes_by_default(text, expected):
    assert parse_slurm_memory(text) == expected


def test_memory_requests_round_up_to_whole_mebibytes_never_to_gibibytes():
    assert slurm_memory_request(10**9) == "954M"
    assert slurm_memory_request(int(2.9 * GiB)) == "2970M"  # "3G" could exceed a 3000M limit


def test_sinfo_keeps_the_largest_node_and_the_default_mark():
    parsed = parse_sinfo(QOS_SINFO)
    assert list(parsed) == ["8GBS", "32GBL", "PREPO", "OLD"]
    assert parsed["8GBS"] == {"is_default": True, "available": True, "cpus": 64, "mem": 256000 * MiB}
    assert parsed["OLD"]["available"] is False


def test_scontrol_settings_per_partition():
    parsed = parse_scontrol_partitions(LOCAL_SCONTROL)
    assert parsed["small"]["MaxMemPerNode"] == "2048"
    assert parsed["large"]["MaxTime"] == "UNLIMITED"
    assert parsed["small"]["TRES"] == "cpu=4,mem=22055M,node=1,billing=4"


@pytest.mark.parametrize("text, expected", [("cpu=32,mem=8G|", 8 * GiB), ("mem=1500M", 1500 * MiB), ("cpu=4|", None), ("", None)])
def test_qos_memory(text, expected):
    assert parse_qos_memory(text) == expected


def test_local_partitions_tell_small_from_large():
    small, large = read_partitions(fake_site(LOCAL_SINFO, LOCAL_SCONTROL))
    assert (small.name, small.is_default, small.max_time_s) == ("small", True, 1800)
    assert (large.name, large.is_default, large.max_time_s) == ("large", False, None)
    assert small.job_mem_bytes() == 2 * GiB and large.job_mem_bytes() == 8 * GiB
    assert small.def_mem_per_cpu_bytes == 512 * MiB and large.def_mem_per_cpu_bytes == GiB
    assert small.cpus_per_node == 4 and small.node_mem_bytes == 22055 * MiB


def test_qos_limits_count_when_sacctmgr_answers():
    calls = []
    partitions = {p.name: p for p in read_partitions(fake_site(QOS_SINFO, QOS_SCONTROL, QOS_SACCTMGR, calls))}
    assert partitions["8GBS"].qos_mem_bytes == 8 * GiB
    assert partitions["8GBS"].job_mem_bytes(cores=4) == 8 * GiB
    assert partitions["32GBL"].job_mem_bytes() == 32 * GiB
    assert partitions["32GBL"].max_cores == 16
    assert partitions["PREPO"].job_mem_bytes(cores=3) == 3 * 2000 * MiB  # MaxMemPerCPU x cores
    assert partitions["OLD"].job_mem_bytes() == 32000 * MiB  # no rule: the node's memory
    assert sum(c[0] == "sacctmgr" for c in calls) == 2  # once per QoS, never for N/A


def test_qos_limits_are_ignored_when_sacctmgr_fails():
    partitions = {p.name: p for p in read_partitions(fake_site(QOS_SINFO, QOS_SCONTROL))}
    assert partitions["8GBS"].qos == "8GBS" and partitions["8GBS"].qos_mem_bytes is None
    assert partitions["8GBS"].job_mem_bytes() == 256000 * MiB


def test_without_sinfo_the_error_says_which_command_failed():
    def no_slurm(args):
        raise ClusterError(f"`{' '.join(args)}` failed: {args[0]} is not installed or not on PATH.")

    with pytest.raises(ClusterError, match="sinfo is not installed"):
        read_partitions(no_slurm)
    assert is_slurm_available(no_slurm) is False
    assert is_slurm_available(fake_site(LOCAL_SINFO, LOCAL_SCONTROL)) is True


def test_the_command_runner_reports_missing_and_failing_commands():
    with pytest.raises(ClusterError, match="no-such-command-xyz is not installed"):
        run_command(["no-such-command-xyz"])
    with pytest.raises(ClusterError, match="exit code 3: boom"):
        run_command(["sh", "-c", "echo boom >&2; exit 3"])
    assert run_command(["echo", "hi"]) == "hi\n"


def test_default_memory_is_the_limit_else_the_partition_default_else_a_share_of_the_node():
    assert Partition("a", node_mem_bytes=64 * GiB, max_mem_per_node_bytes=8 * GiB).default_mem_bytes(2) == 8 * GiB
    assert Partition("b", node_mem_bytes=64 * GiB, def_mem_per_cpu_bytes=GiB).default_mem_bytes(2) == 2 * GiB
    assert Partition("c", node_mem_bytes=64 * GiB, def_mem_per_node_bytes=3 * GiB).default_mem_bytes(2) == 3 * GiB
    assert Partition("d", node_mem_bytes=64 * GiB, cpus_per_node=16).default_mem_bytes(2) == 8 * GiB


SMALL = Partition("small", is_default=True, cpus_per_node=4, node_mem_bytes=22 * GiB, max_mem_per_node_bytes=2 * GiB)
LARGE = Partition("large", cpus_per_node=4, node_mem_bytes=22 * GiB, max_mem_per_node_bytes=8 * GiB)


@pytest.mark.parametrize(
    "estimate, expected",
    [(1 * 10**9, "small"), (2 * GiB, "small"), (2 * GiB + 1, "large"), (3 * 10**9, "large"), (8 * GiB, "large")],
)
def test_pick_partition_takes_the_smallest_that_fits(estimate, expected):
    assert pick_partition(estimate, [LARGE, SMALL]).name == expected


def test_pick_partition_never_takes_the_nearest_smaller_one():
    eight = Partition("8GBS", node_mem_bytes=128 * GiB, qos_mem_bytes=8 * GiB)
    sixteen = Partition("16GBS", node_mem_bytes=128 * GiB, qos_mem_bytes=16 * GiB)
    # ACME's nearest-GB rule picks 8GBS for 9 GB; that under-provisions every worker.
    assert pick_partition(9 * GiB, [sixteen, eight]).name == "16GBS"


def test_pick_partition_refuses_when_nothing_is_big_enough():
    with pytest.raises(InputError, match=r"no partition can hold a worker needing 10 GB: the largest, 'large', allows 8\.59 GB"):
        pick_partition(10 * 10**9, [SMALL, LARGE])


def test_pick_partition_skips_partitions_that_are_down_or_too_narrow():
    down = Partition("tiny", node_mem_bytes=22 * GiB, max_mem_per_node_bytes=GiB, available=False)
    assert pick_partition(10**6, [down, LARGE, SMALL]).name == "small"
    narrow = Partition("narrow", cpus_per_node=2, node_mem_bytes=4 * GiB)
    assert pick_partition(10**6, [narrow, LARGE], cores=4).name == "large"
    with pytest.raises(InputError, match="offers 8 CPUs"):
        pick_partition(10**6, [narrow, LARGE], cores=8)


def test_pick_partition_prefers_the_default_among_equals():
    twin = Partition("another", cpus_per_node=4, node_mem_bytes=22 * GiB, max_mem_per_node_bytes=2 * GiB)
    assert pick_partition(10**9, [twin, SMALL]).name == "small"
