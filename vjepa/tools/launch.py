"""Multi-node DDP pretraining through submitit (``vjepa launch slurm``, :mod:`vjepa.cli.launch`; optional extra:
``pip install vjepa[slurm]``).

One SLURM task per GPU. Each task reads its place in the job from submitit's job environment (global rank, local
rank, number of tasks, first host name), exports it as the variables torchrun would set (``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), and runs the same pretraining command line through the entry
point it was given (the CLI passes its own ``main``), which then trains under DDP exactly as under torchrun. The
pretraining config is checked for the job's world size first (:func:`check_job_config`), dry run or not. When
SLURM preempts or times the job out, submitit requeues it and the run resumes from its output folder's latest
checkpoint (pretrain always resumes). A torchrun-only alternative without submitit is in docs/scaling.md.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vjepa.config import PretrainConfig, validate
from vjepa.core.errors import ConfigError, VjepaError
from vjepa.models.registry import ARCHS

EntryPoint = Callable[[list[str]], int]
"""A command-line entry point: arguments (without the program name) -> exit status. Must be picklable (a
module-level function) to travel to the SLURM tasks."""


class PretrainTask:
    """The callable each SLURM task runs (picklable: it holds only the entry point and the command line)."""

    def __init__(self, entry_point: EntryPoint, argv: list[str]) -> None:
        self.entry_point, self.argv = entry_point, list(argv)

    def __call__(self) -> int:
        import submitit

        job = submitit.JobEnvironment()
        port = 20000 + zlib.crc32(str(job.job_id).encode()) % 20000  # the same on every task of the job
        os.environ.update(RANK=str(job.global_rank), LOCAL_RANK=str(job.local_rank), WORLD_SIZE=str(job.num_tasks),
                          MASTER_ADDR=job.hostnames[0], MASTER_PORT=str(port))
        code = self.entry_point(self.argv)
        if code:
            raise VjepaError(f"vjepa {' '.join(self.argv)} exited with status {code} on rank {job.global_rank}")
        return code

    def checkpoint(self):  # called by submitit on preemption or timeout: requeue; pretrain resumes by itself
        import submitit

        return submitit.helpers.DelayedSubmission(PretrainTask(self.entry_point, self.argv))


@dataclass(frozen=True)
class SlurmResources:
    """What the job asks of the cluster."""

    nodes: int = 1
    gpus_per_node: int = 8
    tasks_per_node: int | None = None
    """Processes per node (None: ``gpus_per_node``, 1 without GPUs)."""
    cpus_per_task: int = 10
    mem_gb: int | None = None
    time_min: int = 4320
    job_name: str = "vjepa"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None

    def check(self) -> None:
        if self.nodes < 1 or self.gpus_per_node < 0 or (self.tasks_per_node or 1) < 1 or self.time_min < 1:
            raise ConfigError(f"nodes={self.nodes}, tasks_per_node={self.tasks_per_node}, time_min={self.time_min},"
                              f" gpus_per_node={self.gpus_per_node}: nodes, tasks_per_node and time_min must be >= 1"
                              " and gpus_per_node >= 0")


def slurm_parameters(resources: SlurmResources) -> dict[str, Any]:
    """submitit's executor parameters for the job (``slurm_*`` names are passed to sbatch as they are)."""
    r = resources
    tasks = r.tasks_per_node or max(1, r.gpus_per_node)
    params: dict[str, Any] = {"nodes": r.nodes, "tasks_per_node": tasks, "gpus_per_node": r.gpus_per_node,
                              "cpus_per_task": r.cpus_per_task, "timeout_min": r.time_min, "name": r.job_name}
    if r.mem_gb:
        params["mem_gb"] = r.mem_gb
    for key in ("partition", "account", "qos", "constraint"):
        if getattr(r, key):
            params[f"slurm_{key}"] = getattr(r, key)
    return params


def plan_job(command: list[str], resources: SlurmResources, cluster: str = "slurm",
             logs: str = "runs/slurm_logs") -> dict[str, Any]:
    """The job as it would be submitted: cluster, world size, executor parameters, command and log folder."""
    if command[:1] != ["pretrain"]:
        raise ConfigError(f"command={command!r}: the launcher runs `pretrain`; give e.g. ['pretrain', '--config', "
                          "'vitl16', '--out', '/shared/runs/vitl16']")
    resources.check()
    if cluster not in ("slurm", "local"):
        raise ConfigError(f"cluster={cluster!r}: use 'slurm' or 'local'")
    if cluster == "local" and resources.nodes != 1:
        raise ConfigError(f"cluster='local' runs on this machine: use nodes=1, not {resources.nodes}")
    params = slurm_parameters(resources)
    return {"cluster": cluster, "world_size": params["nodes"] * params["tasks_per_node"], "parameters": params,
            "command": ["vjepa", *command], "logs": str(Path(logs).resolve())}


def check_job_config(cfg: PretrainConfig, plan: dict[str, Any]) -> None:
    """Check the pretraining config for the job's world size (``optim.batch_size`` divisible by it, ...) before
    anything is submitted: a job that would fail only after queuing is refused with one line."""
    params = plan["parameters"]
    try:
        validate(cfg, world_size=plan["world_size"], known_archs=[*ARCHS, "custom"])
    except ConfigError as e:
        raise ConfigError(f"the job's {plan['world_size']} process(es) ({params['nodes']} node(s) x "
                          f"{params['tasks_per_node']}) cannot run this pretraining config: {e}; nothing submitted"
                          ) from None


def submit_job(plan: dict[str, Any], entry_point: EntryPoint, logs: str) -> Any:
    """Submit a :func:`plan_job` plan (each task runs ``entry_point(command)``); returns submitit's job (``job_id``;
    ``results()`` waits for the end and raises, with the failing task's traceback, when a task failed)."""
    try:
        import submitit
    except ImportError:
        raise VjepaError("vjepa launch slurm needs submitit: pip install 'vjepa[slurm]' (or use torchrun directly, "
                         "docs/scaling.md)") from None
    cluster, params = plan["cluster"], plan["parameters"]
    executor = submitit.AutoExecutor(folder=logs, cluster=None if cluster == "slurm" else cluster)
    if cluster == "local":  # no partitions or accounts on this machine
        params = {k: v for k, v in params.items() if not k.startswith("slurm_") and k != "mem_gb"}
    executor.update_parameters(**params)
    return executor.submit(PretrainTask(entry_point, plan["command"][1:]))
