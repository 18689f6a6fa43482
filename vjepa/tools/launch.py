"""``vjepa launch slurm``: submit ``vjepa pretrain`` as a multi-node DDP job through submitit (optional extra:
``pip install vjepa[slurm]``).

One SLURM task per GPU. Each task reads its place in the job from submitit's job environment (global rank, local
rank, number of tasks, first host name), exports it as the variables torchrun would set (``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), and runs the same ``vjepa pretrain`` command, which then trains
under DDP exactly as under torchrun. When SLURM preempts or times the job out, submitit requeues it and the run
resumes from its output folder's latest checkpoint (pretrain always resumes). A torchrun-only alternative without
submitit is in docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from pathlib import Path

from vjepa.core.errors import VjepaError


class PretrainTask:
    """The callable each SLURM task runs (picklable: it holds only the command line)."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = list(argv)

    def __call__(self) -> int:
        import submitit

        from vjepa.cli.main import main

        job = submitit.JobEnvironment()
        port = 20000 + zlib.crc32(str(job.job_id).encode()) % 20000  # the same on every task of the job
        os.environ.update(RANK=str(job.global_rank), LOCAL_RANK=str(job.local_rank), WORLD_SIZE=str(job.num_tasks),
                          MASTER_ADDR=job.hostnames[0], MASTER_PORT=str(port))
        code = main(self.argv)
        if code:
            raise VjepaError(f"vjepa {' '.join(self.argv)} exited with status {code} on rank {job.global_rank}")
        return code

    def checkpoint(self):  # called by submitit on preemption or timeout: requeue; pretrain resumes by itself
        import submitit

        return submitit.helpers.DelayedSubmission(PretrainTask(self.argv))


def slurm_parameters(args: argparse.Namespace) -> dict:
    """submitit's executor parameters for the job (``slurm_*`` names are passed to sbatch as they are)."""
    tasks = args.tasks_per_node or max(1, args.gpus_per_node)
    params = {"nodes": args.nodes, "tasks_per_node": tasks, "gpus_per_node": args.gpus_per_node,
              "cpus_per_task": args.cpus_per_task, "timeout_min": args.time, "name": args.job_name}
    if args.mem_gb:
        params["mem_gb"] = args.mem_gb
    for key in ("partition", "account", "qos", "constraint"):
        if getattr(args, key):
            params[f"slurm_{key}"] = getattr(args, key)
    return params


def _cmd_launch_slurm(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command[:1] != ["pretrain"]:
        raise VjepaError("vjepa launch slurm runs `pretrain`: give it after the options, e.g. `vjepa launch slurm "
                         "--nodes 2 --gpus-per-node 8 -- pretrain --config vitl16 --out /shared/runs/vitl16`")
    if args.nodes < 1 or args.gpus_per_node < 0 or (args.tasks_per_node or 1) < 1 or args.time < 1:
        raise VjepaError("--nodes, --tasks-per-node and --time must be >= 1 and --gpus-per-node >= 0")
    if args.cluster == "local" and args.nodes != 1:
        raise VjepaError("--cluster local runs on this machine: use --nodes 1")
    params = slurm_parameters(args)
    world = params["nodes"] * params["tasks_per_node"]
    summary = {"cluster": args.cluster, "world_size": world, "parameters": params, "command": ["vjepa", *command],
               "logs": str(Path(args.logs).resolve())}
    if args.dry_run:
        print(json.dumps(summary, indent=1))
        return 0
    try:
        import submitit
    except ImportError:
        raise VjepaError("vjepa launch slurm needs submitit: pip install 'vjepa[slurm]' (or use torchrun directly, "
                         "docs/scaling.md)") from None
    executor = submitit.AutoExecutor(folder=args.logs, cluster=None if args.cluster == "slurm" else args.cluster)
    if args.cluster == "local":  # no partitions or accounts on this machine
        params = {k: v for k, v in params.items() if not k.startswith("slurm_") and k != "mem_gb"}
    executor.update_parameters(**params)
    job = executor.submit(PretrainTask(command))
    print(f"submitted job {job.job_id}: {world} process(es) ({params['nodes']} node(s) x {params['tasks_per_node']});"
          f" logs in {args.logs}", file=sys.stderr)
    if args.wait:
        job.results()  # raises, with the failing task's traceback, when a task failed
        print(f"job {job.job_id} finished", file=sys.stderr)
    return 0


def add_launch_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("launch", help="start a multi-node pretraining job on a cluster")
    launchers = p.add_subparsers(dest="launcher", required=True)
    s = launchers.add_parser("slurm", help="submit `vjepa pretrain` to SLURM through submitit (vjepa[slurm])",
                             description="Example: vjepa launch slurm --nodes 2 --gpus-per-node 8 --partition gpu "
                             "-- pretrain --config vitl16 --out /shared/runs/vitl16")
    s.add_argument("--nodes", type=int, default=1)
    s.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per node, one process each (default 8)")
    s.add_argument("--tasks-per-node", type=int, help="processes per node (default: --gpus-per-node, 1 for CPU)")
    s.add_argument("--cpus-per-task", type=int, default=10, help="CPU cores per process, for loader workers")
    s.add_argument("--mem-gb", type=int, help="memory per node")
    s.add_argument("--time", type=int, default=4320, help="minutes per allocation (requeued after; default 72 h)")
    s.add_argument("--partition")
    s.add_argument("--account")
    s.add_argument("--qos")
    s.add_argument("--constraint")
    s.add_argument("--job-name", default="vjepa")
    s.add_argument("--logs", default="runs/slurm_logs", help="folder for submitit's logs and job files")
    s.add_argument("--cluster", choices=("slurm", "local"), default="slurm",
                   help="local: run the tasks as processes on this machine (a test of the job without SLURM)")
    s.add_argument("--wait", action="store_true", help="wait until the job ends")
    s.add_argument("--dry-run", action="store_true", help="print the job parameters and command; submit nothing")
    s.add_argument("command", nargs=argparse.REMAINDER, help="-- pretrain --config ... --out ...")
    s.set_defaults(func=_cmd_launch_slurm)
