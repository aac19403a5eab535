"""Checking setup arguments, fitting them to a partition, and merging them with the jobqueue configuration."""

from __future__ import annotations

import pytest

from acme_like.errors import InputError, InputTypeError
from acme_like.batch.allocation import cluster_kwargs, expand_log_directory, fit_resources
from acme_like.batch.request import resolve_request
from acme_like.batch.partitions import Partition
from acme_like.batch.presets import PRESETS

GiB, MiB, MB = 2**30, 2**20, 10**6
SMALL = Partition("small", is_default=True, cpus_per_node=4, node_mem_bytes=22 * GiB, max_time_s=1800,
                  def_mem_per_cpu_bytes=512 * MiB, max_mem_per_node_bytes=2 * GiB)
LARGE = Partition("large", cpus_per_node=4, node_mem_bytes=22 * GiB, def_mem_per_cpu_bytes=GiB, max_mem_per_node_bytes=8 * GiB)
OPEN = Partition("open", cpus_per_node=8, node_mem_bytes=16 * GiB, def_mem_per_cpu_bytes=GiB)
BIG = Partition("big", cpus_per_node=8, node_mem_bytes=64 * GiB)
LOCAL = (SMALL, LARGE)


def fit(partitions=LOCAL, estimated_bytes=None, **arguments):
    return fit_resources(resolve_request(**arguments), partitions, estimated_bytes=estimated_bytes)


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"n_workers": 0}, InputError, r'n_workers must be "auto" or an integer >= 1 \(workers to start\), got 0\.'),
        ({"n_workers": 2.5}, InputError, r'n_workers must be "auto" or an integer >= 1 \(workers to start\), got 2\.5\.'),
        ({"n_workers": True}, InputTypeError, "n_workers must be .* got bool True"),
        ({"n_workers": 2, "n_workers_startup": 3}, InputError, "n_workers_startup=3 exceeds n_workers=2"),
        ({"timeout": -1}, InputError, "timeout must be a number of seconds >= 0, got -1"),
        ({"timeout": "60"}, InputTypeError, "timeout must be a number of seconds >= 0, got str '60'. Pass the number itself: timeout=60."),
        ({"interactive": "yes"}, InputTypeError, "interactive must be True or False, got str 'yes'"),
        ({"mem_per_worker": 2.5}, InputTypeError, 'mem_per_worker must be "auto" or a size like "2GB"'),
        ({"mem_per_worker": "lots"}, InputError, 'mem_per_worker must be "auto" or a size like "2GB"'),
        ({"mem_per_worker": "300"}, InputError, "300 bytes\\? Write '300MB'"),
        ({"scheduler": "torque"}, InputError, "scheduler must be one of 'slurm', 'pbs', 'sge', 'lsf', 'htcondor', got 'torque'"),
        ({"partition": 3}, InputTypeError, 'partition must be a partition name, "auto" or None, got int 3'),
        ({"cores_per_worker": 2, "n_cores": 4}, InputError, "n_cores=4 disagree; pass only one"),
        ({"job_extra": "--account=lab"}, InputTypeError, "Wrap a single option in a list"),
        ({"job_extra": ["account=lab"]}, InputError, "must start with - or --"),
        ({"job_extra": [3]}, InputTypeError, "every job_extra option must be a string, got int 3"),
        ({"job_extra": ["--output=/no/such/dir/slurm-%j.out"]}, InputError, r"Create /no/such/dir first"),
        ({"worker_extra_args": "--lifetime 5m"}, InputTypeError, "worker_extra_args must be a list of strings"),
        ({"scheduler_options": ["port", 0]}, InputTypeError, "scheduler_options must be a dict or None"),
        ({"container_image": "/no/such/image.sif"}, InputError, "container_image '/no/such/image.sif' does not exist"),
        ({"container_runtime": "docker"}, InputError, "container_runtime must be one of 'apptainer', 'singularity'"),
        ({"security": "yes"}, InputTypeError, "security must be True, False or a distributed.Security"),
        ({"walltime": 3600}, InputTypeError, 'walltime must be a string like "02:00:00"'),
    ],
)
def test_bad_arguments_say_what_was_expected_and_what_came(arguments, error, match):
    with pytest.raises(error, match=match):
        resolve_request(**arguments)


def test_acme_names_and_defaults():
    request = resolve_request(n_cores=3, mem_per_worker="auto", mem_cushion=500)
    assert request.cores_per_worker == 3
    assert request.mem_per_worker_bytes is None
    assert request.mem_cushion_bytes == 500 * MB  # ACME's int cushion is in MB
    assert (request.n_workers, request.n_workers_startup, request.timeout_s) == (1, 1, 60)


def test_the_callers_job_extra_list_is_never_changed():
    options = ["--account=lab"]
    first = resolve_request(job_extra=options, preset=PRESETS["esi"])
    second = resolve_request(job_extra=options, preset=PRESETS["esi"])
    assert options == ["--account=lab"]
    assert first.job_extra == second.job_extra == ("--account=lab",)


def test_output_options_with_an_existing_directory_pass(tmp_path):
    request = resolve_request(job_extra=[f"--output={tmp_path}/slurm-%j.out", "-e %x.err"])
    assert len(request.job_extra) == 2


def test_a_request_within_the_partition_limit_is_kept():
    resources = fit(partition="small", mem_per_worker="1GB")
    assert (resources.partition, resources.memory_bytes, resources.warnings) == ("small", 10**9, ())


def test_a_request_above_the_partition_limit_is_capped_with_a_message():
    resources = fit(partition="small", mem_per_worker="3GB")
    assert resources.memory_bytes == 2 * GiB - 100 * MB
    assert resources.warnings == (
        "mem_per_worker=3 GB exceeds the limit of 2.15 GB per job of partition 'small'; capping memory at 2.04 GB.",
    )


def test_a_request_no_node_can_hold_is_an_error_that_names_a_partition_that_can():
    with pytest.raises(InputError, match=r"partition 'open' cannot satisfy mem_per_worker=20 GB: its largest node has 17\.2 GB\. "
                                         r"Ask for at most 17 GB, or use partition 'big'\.$"):
        fit(partitions=(OPEN, LARGE, BIG), partition="open", mem_per_worker="20GB")
    with pytest.raises(InputError, match=r"cannot satisfy mem_per_worker=64 GB.*Ask for at most 2\.04 GB\.$"):
        fit(partition="small", mem_per_worker="64GB")


def test_without_a_request_memory_is_the_limit_less_the_cushion():
    assert fit(partition="large").memory_bytes == 8 * GiB - 100 * MB
    assert fit(partitions=(OPEN,), partition="open", cores_per_worker=2).memory_bytes == 2 * GiB - 100 * MB
    assert fit(partition="large", mem_cushion="1GiB").memory_bytes == 7 * GiB


def test_partition_none_is_slurms_default_and_auto_picks_by_memory():
    assert fit().partition == "small"
    assert fit(partition="auto", estimated_bytes=1.5e9).partition == "small"
    picked = fit(partition="auto", estimated_bytes=3e9)
    assert picked.partition == "large"
    assert picked.notes == ("picked partition 'large', the smallest that holds 3 GB per worker",)
    assert fit(partition="auto", mem_per_worker="4GB").partition == "large"
    assert fit(partition="auto").partition == "small"


def test_unknown_partitions_and_too_many_cores_are_errors():
    with pytest.raises(InputError, match="partition 'gpu' does not exist on this SLURM cluster; available partitions: 'small', 'large'"):
        fit(partition="gpu")
    with pytest.raises(InputError, match=r"cores_per_worker=8 is more than partition 'small' offers on one node \(4 CPUs\)"):
        fit(partition="small", cores_per_worker=8)


def test_walltime_is_capped_at_the_partition_maxtime():
    resources = fit(partition="small", walltime="2:00:00")
    assert resources.walltime == "00:30:00"
    assert "walltime 2:00:00 exceeds the MaxTime of partition 'small'" in resources.warnings[0]
    assert fit(partition="large", walltime="2-00:00:00").walltime == "2-00:00:00"
    assert fit(partition="small").walltime is None
    with pytest.raises(InputError, match='walltime must be a SLURM time like "02:00:00"'):
        fit(partition="small", walltime="two hours")


def test_a_preset_reserves_partitions_and_narrows_auto():
    esi = (Partition("8GBS", node_mem_bytes=128 * GiB, qos_mem_bytes=8 * GiB, is_default=True),
           Partition("8GBL", node_mem_bytes=128 * GiB, qos_mem_bytes=8 * GiB),
           Partition("16GBS", node_mem_bytes=128 * GiB, qos_mem_bytes=16 * GiB),
           Partition("PREPO", node_mem_bytes=512 * GiB))
    assert fit(esi, preset=PRESETS["esi"], partition="auto", estimated_bytes=9e9).partition == "16GBS"
    with pytest.raises(InputError, match="partition 'PREPO' does not run workers at site 'esi'"):
        fit(esi, preset=PRESETS["esi"], partition="PREPO")


def test_other_schedulers_take_the_queue_as_given():
    resources = fit_resources(resolve_request(scheduler="pbs", partition="batch", cores_per_worker=2), None)
    assert (resources.partition, resources.memory_bytes) == ("batch", 2 * 10**9)
    with pytest.raises(InputError, match='partition="auto" needs SLURM'):
        fit_resources(resolve_request(scheduler="sge", partition="auto"), None)


def test_the_users_jobqueue_settings_are_extended_not_replaced():
    request = resolve_request(partition="small", job_extra=["--qos=short"], worker_extra_args=["--lifetime", "55m"],
                              scheduler_options={"port": 8786})
    config = {
        "job-extra-directives": ["--account=lab"],
        "worker-extra-args": ["--resources", "GPU=1"],
        "scheduler-options": {"dashboard_address": ":8799", "idle_timeout": "1h"},
        "job-directives-skip": ["--cpus-per-task"],
    }
    kwargs = cluster_kwargs(request, fit_resources(request, LOCAL), config)
    assert kwargs["job_extra_directives"] == ["--account=lab", "--qos=short"]
    assert kwargs["worker_extra_args"] == ["--resources", "GPU=1", "--lifetime", "55m"]
    assert kwargs["scheduler_options"] == {"dashboard_address": ":8799", "idle_timeout": "1h", "port": 8786}
    assert kwargs["job_directives_skip"] == ["--cpus-per-task", "#SBATCH -t "]
    assert (kwargs["queue"], kwargs["job_mem"], kwargs["memory"]) == ("small", "1953M", 2 * GiB - 100 * MB)


def test_the_dashboard_binds_to_localhost_unless_someone_says_otherwise():
    request = resolve_request(partition="small")
    assert cluster_kwargs(request, fit_resources(request, LOCAL), {})["scheduler_options"] == {"dashboard_address": "127.0.0.1:0"}


def test_preset_ports_interface_and_log_directory():
    request = resolve_request(preset=PRESETS["cobic"], scheduler="pbs", partition="batch")
    resources = fit_resources(request, None)
    kwargs = cluster_kwargs(request, resources, {}, interface="ib0", scheduler_port=60123, log_directory="/logs/me")
    assert kwargs["worker_extra_args"] == ["--worker-port", "60001:63000", "--nanny-port", "60001:63000"]
    assert kwargs["scheduler_options"]["port"] == 60123
    assert kwargs["interface"] == "ib0" and kwargs["log_directory"] == "/logs/me"
    mine = cluster_kwargs(request, resources, {"interface": "eth1", "log-directory": "/mine"}, interface="ib0", log_directory="/logs/me")
    assert "interface" not in mine and "log_directory" not in mine  # the user's jobqueue settings win
    assert expand_log_directory(PRESETS["esi"].log_directory, "ana", "20261122-101500") == "/cs/slurm/ana/ana_20261122-101500"


def test_htcondor_directives_become_a_mapping():
    request = resolve_request(scheduler="htcondor", job_extra=["+Experiment = test", "requirements = (Arch == \"X86_64\")"])
    kwargs = cluster_kwargs(request, fit_resources(request, None), {"job-extra-directives": {"universe": "vanilla"}})
    assert kwargs["job_extra_directives"] == {"universe": "vanilla", "+Experiment": "test", "requirements": '(Arch == "X86_64")'}
    with pytest.raises(InputError, match='must look like "Key = Value"'):
        resolve_request(scheduler="htcondor", job_extra=["getenv"])


def test_container_workers_run_python_inside_the_image():
    request = resolve_request(partition="small", container_image="docker://ghcr.io/dask/dask:latest", container_runtime="singularity")
    kwargs = cluster_kwargs(request, fit_resources(request, LOCAL), {}, tls_dir="/work/.tls")
    assert kwargs["python"] == "singularity exec --bind /work/.tls docker://ghcr.io/dask/dask:latest python"



def test_auto_partition_holds_the_larger_of_estimate_and_mem_per_worker():
    # A call measured at 1 GB, but 6 GB asked for per worker: only "large" holds that.
    assert fit(estimated_bytes=10**9, partition="auto", mem_per_worker="6GB").partition == "large"
    assert fit(estimated_bytes=5 * 10**9, partition="auto", mem_per_worker="1GB").partition == "large"
    assert fit(estimated_bytes=10**8, partition="auto", mem_per_worker="500MB").partition == "small"
