"""The ``vjepa launch slurm`` sub-command: argument parsing only (the work is in :mod:`vjepa.tools.launch`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from vjepa.core.errors import VjepaError
from vjepa.tools.launch import SlurmResources, check_job_config, plan_job, submit_job


def resources_from_args(args: argparse.Namespace) -> SlurmResources:
    return SlurmResources(nodes=args.nodes, gpus_per_node=args.gpus_per_node, tasks_per_node=args.tasks_per_node,
                          cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb, time_min=args.time,
                          job_name=args.job_name, partition=args.partition, account=args.account, qos=args.qos,
                          constraint=args.constraint)


def _cmd_launch_slurm(args: argparse.Namespace) -> int:
    from vjepa.cli.main import build_parser, main, pretrain_config  # imported here: main imports this module

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command[:1] != ["pretrain"]:
        raise VjepaError("vjepa launch slurm runs `pretrain`: give it after the options, e.g. `vjepa launch slurm "
                         "--nodes 2 --gpus-per-node 8 -- pretrain --config vitl16 --out /shared/runs/vitl16`")
    if args.nodes < 1 or args.gpus_per_node < 0 or (args.tasks_per_node or 1) < 1 or args.time < 1:
        raise VjepaError("--nodes, --tasks-per-node and --time must be >= 1 and --gpus-per-node >= 0")
    if args.cluster == "local" and args.nodes != 1:
        raise VjepaError("--cluster local runs on this machine: use --nodes 1")
    plan = plan_job(command, resources_from_args(args), args.cluster, args.logs)
    check_job_config(pretrain_config(build_parser().parse_args(command)), plan)  # dry run or not
    if args.dry_run:
        print(json.dumps(plan, indent=1))
        return 0
    job = submit_job(plan, main, args.logs)
    params = plan["parameters"]
    print(f"submitted job {job.job_id}: {plan['world_size']} process(es) ({params['nodes']} node(s) x "
          f"{params['tasks_per_node']}); logs in {args.logs}", file=sys.stderr)
    if args.wait:
        job.results()  # raises, with the failing task's traceback, when a task failed
        print(f"job {job.job_id} finished", file=sys.stderr)
    return 0


def add_launch_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``launch`` (with ``slurm``) on a ``parser.add_subparsers()`` object; returns the sub-parser."""
    p = subparsers.add_parser("launch", help="start a multi-node pretraining job on a cluster")
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
    s.add_argument("--dry-run", action="store_true", help="check the pretraining config for the job's world "
                   "size, print the job parameters and command; submit nothing")
    s.add_argument("command", nargs=argparse.REMAINDER, help="-- pretrain --config ... --out ...")
    s.set_defaults(func=_cmd_launch_slurm)
    return p
