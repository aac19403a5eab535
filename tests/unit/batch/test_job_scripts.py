"""The job scripts slurm_cluster_setup would submit, per scheduler, compared with golden files.

Rendering starts no scheduler and submits nothing. The scheduler address and
the TLS directory are placeholders; the Python path is replaced by PYTHON.
Regenerate after an intended change with ``ACME_LIKE_UPDATE_GOLDEN=1 pytest``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dask
import pytest
import yaml

from acme_like.errors import ClusterError
from acme_like.batch.setup import import_dask_jobqueue, job_script, plan_cluster

DATA = Path(__file__).parents[2] / "data"

SINFO = "small*|up|4|22055\nlarge|up|4|22055\n"
SCONTROL = (
    "PartitionName=small Default=YES QoS=N/A MaxTime=00:30:00 MaxCPUsPerNode=UNLIMITED DefMemPerCPU=512 MaxMemPerNode=2048\n"
    "PartitionName=large Default=NO QoS=N/A MaxTime=UNLIMITED MaxCPUsPerNode=UNLIMITED DefMemPerCPU=1024 MaxMemPerNode=8192\n"
)


def local_site(args):
    if args[0] == "sinfo":
        return SINFO
    if args[0] == "scontrol":
        return SCONTROL
    raise ClusterError(f"`{' '.join(args)}` failed with exit code 1: You are not running a supported accounting_storage plugin")


def packaged_jobqueue_config():
    dask_jobqueue = import_dask_jobqueue()  # as the package does: the test session keeps its Ctrl-C handler
    return yaml.safe_load(Path(dask_jobqueue.__file__).with_name("jobqueue.yaml").read_text())


@pytest.fixture(autouse=True)
def _packaged_config_only(monkeypatch):
    """dask-jobqueue's own defaults, whatever the developer's ~/.config/dask holds."""
    monkeypatch.delenv("PBS_ACCOUNT", raising=False)
    config = packaged_jobqueue_config()
    config["jobqueue"]["lsf"]["lsf-units"] = "mb"  # else read from the LSF installation
    with dask.config.set({"jobqueue": config["jobqueue"], "acme_like": {}}):
        yield


CASES = {
    "slurm": dict(partition="small", n_workers=2, mem_per_worker="1GB", job_extra=["--account=lab"],
                  worker_extra_args=["--lifetime", "55m", "--lifetime-stagger", "5m"]),
    "slurm_plain_tcp_walltime": dict(partition="small", cores_per_worker=2, walltime="2:00:00", security=False),
    "slurm_apptainer": dict(partition="large", container_image="docker://ghcr.io/dask/dask:2026.8.0"),
    "pbs": dict(scheduler="pbs", partition="batch", cores_per_worker=2, mem_per_worker="2GB", walltime="01:00:00", job_extra=["-V"]),
    "sge": dict(scheduler="sge", partition="all.q", cores_per_worker=4, mem_per_worker="4GB", walltime="01:00:00",
                resource_spec="h_vmem=1G,mem_req=1G"),
    "lsf": dict(scheduler="lsf", partition="normal", cores_per_worker=2, mem_per_worker="2GB", walltime="01:00",
                job_extra=["-R select[mem>2000]"]),
    "htcondor": dict(scheduler="htcondor", cores_per_worker=1, mem_per_worker="2GB", disk="1GB",
                     job_extra=['+Experiment = "acme"']),
}


def render(arguments):
    arguments = dict(arguments)
    partition = arguments.pop("partition", None)
    extra = {key: arguments.pop(key) for key in ("resource_spec", "disk") if key in arguments}
    plan = plan_cluster(partition, run=local_site, cluster_kwargs=extra, **arguments)
    return job_script(plan).replace(sys.executable, "PYTHON")


@pytest.mark.parametrize("name", sorted(CASES))
def test_job_script_matches_golden_file(name):
    script = render(CASES[name])
    golden = DATA / f"{name}.golden"
    if os.environ.get("ACME_LIKE_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(script)
    assert golden.exists(), f"{golden} is missing; create it with ACME_LIKE_UPDATE_GOLDEN=1"
    assert script == golden.read_text()


def test_every_worker_speaks_tls_with_this_runs_certificates():
    script = render(CASES["slurm"])
    assert "tls://SCHEDULER:8786" in script
    assert "--protocol tls:// --tls-ca-file TLS_DIR/tls.pem --tls-cert TLS_DIR/tls.pem --tls-key TLS_DIR/tls.key" in script


def test_without_a_walltime_the_partition_default_applies():
    assert "#SBATCH -t" not in render(CASES["slurm"])
    assert "#SBATCH -t 00:30:00" in render(CASES["slurm_plain_tcp_walltime"])  # 2 h capped at MaxTime


def test_apptainer_wraps_the_worker_and_binds_the_certificates():
    script = render(CASES["slurm_apptainer"])
    assert "\napptainer exec --bind TLS_DIR docker://ghcr.io/dask/dask:2026.8.0 python -m distributed.cli.dask_worker" in script
    assert "PYTHON" not in script


def test_config_files_add_presets_and_the_users_jobqueue_settings_are_kept(tmp_path):
    (tmp_path / "jobqueue.yaml").write_text(
        "jobqueue:\n"
        "  slurm:\n"
        "    walltime: '00:20:00'\n"
        "    interface: lo\n"
        "    job-extra-directives: ['--account=lab']\n"
        "    worker-extra-args: ['--lifetime', '55m']\n"
        "    job-script-prologue: ['module load python']\n"
    )
    (tmp_path / "acme_like.yaml").write_text(
        "acme_like:\n"
        "  preset: mylab\n"
        "  presets:\n"
        "    mylab:\n"
        "      partition: large\n"
        "      n-workers: 4\n"
        "      mem-per-worker: 3GB\n"
        "      job-extra: ['--qos=short']\n"
    )
    files = dask.config.collect(paths=[str(tmp_path)], env={})
    with dask.config.set(dask.config.merge(dask.config.config, files)):
        plan = plan_cluster(run=local_site)
        script = job_script(plan)
    assert plan.request.n_workers == 4  # the number of jobs, which no job script shows
    # The preset's partition and its 3 GB per worker (2862 MiB), over the user's own directives:
    for line in ("#SBATCH -p large", "#SBATCH --mem=2862M", "#SBATCH -t 00:20:00", "#SBATCH --account=lab", "#SBATCH --qos=short"):
        assert line in script.splitlines()
    assert "--interface lo" in script and "--lifetime 55m" in script
    lines = script.splitlines()
    assert lines.index("module load python") < lines.index("export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False")


def test_tune_workers_false_leaves_dasks_worker_settings_alone():
    with dask.config.set({"acme_like.tune-workers": False}):
        script = render(CASES["slurm"])
    assert "export DASK_" not in script
    assert "export DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=200ms" in render(CASES["slurm"])
