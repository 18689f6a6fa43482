"""`vjepa launch slurm`: the job parameters (dry run), a real 2-task job through submitit's local executor (the
same code path as SLURM, on this machine, DDP over gloo), and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def vjepa(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT")}
    return subprocess.run([sys.executable, "-m", "vjepa", *args], capture_output=True, text=True, timeout=timeout,
                          env={**env, "OMP_NUM_THREADS": "1"})


def test_dry_run_prints_the_job():
    done = vjepa("launch", "slurm", "--nodes", "4", "--gpus-per-node", "8", "--partition", "gpu", "--time", "600",
                 "--dry-run", "--", "pretrain", "--config", "vitl16", "--out", "/shared/runs/vitl16")
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["world_size"] == 32 and job["command"][:2] == ["vjepa", "pretrain"]
    assert job["parameters"] == {"nodes": 4, "tasks_per_node": 8, "gpus_per_node": 8, "cpus_per_task": 10,
                                 "timeout_min": 600, "name": "vjepa", "slurm_partition": "gpu"}


def test_only_pretrain_is_launched():
    done = vjepa("launch", "slurm", "--dry-run", "--", "eval", "--checkpoint", "x")
    assert done.returncode == 2 and "runs `pretrain`" in done.stderr and "Traceback" not in done.stderr


def test_local_two_task_job_trains_under_ddp(tmp_path):
    pytest.importorskip("submitit")
    out = tmp_path / "run"
    done = vjepa("launch", "slurm", "--cluster", "local", "--nodes", "1", "--gpus-per-node", "0", "--tasks-per-node",
                 "2", "--logs", str(tmp_path / "logs"), "--wait", "--", "pretrain", "--config", "cpu_tiny", "--out",
                 str(out), "--no-progress", "--set", "run.max_steps=2")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in records if "loss" in r]
    assert [r["step"] for r in losses] == [1, 2] and all(r["world_size"] == 2 for r in losses)
    assert (out / "checkpoints" / "latest.pt").is_file()


def test_the_library_plans_the_job_and_names_parameters():
    import pickle

    from vjepa.cli.main import main
    from vjepa.core.errors import ConfigError
    from vjepa.tools.launch import PretrainTask, SlurmResources, plan_job

    plan = plan_job(["pretrain", "--config", "vitl16"], SlurmResources(nodes=2, gpus_per_node=4, partition="gpu"))
    assert plan["world_size"] == 8 and plan["parameters"]["slurm_partition"] == "gpu"
    assert plan["command"] == ["vjepa", "pretrain", "--config", "vitl16"]
    with pytest.raises(ConfigError, match="nodes=0"):
        plan_job(["pretrain"], SlurmResources(nodes=0))
    with pytest.raises(ConfigError, match="cluster='local' runs on this machine: use nodes=1, not 2"):
        plan_job(["pretrain"], SlurmResources(nodes=2), cluster="local")
    with pytest.raises(ConfigError, match="command=\\['eval'\\]"):
        plan_job(["eval"], SlurmResources())
    task = pickle.loads(pickle.dumps(PretrainTask(main, ["pretrain", "--config", "cpu_tiny"])))  # travels to tasks
    assert task.entry_point is main and task.argv == ["pretrain", "--config", "cpu_tiny"]


def test_the_pretraining_config_is_validated_for_the_world_size_before_submitting(tmp_path):
    logs = tmp_path / "logs"
    for extra in ([], ["--dry-run"]):  # cpu_tiny's batch of 4 over 1 node x 3 GPUs
        done = vjepa("launch", "slurm", "--gpus-per-node", "3", "--logs", str(logs), *extra, "--", "pretrain",
                     "--config", "cpu_tiny", "--set", "optim.batch_size=4", "--out", str(tmp_path / "run"))
        assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr, done.stderr
        assert done.stderr == ("error: the job's 3 process(es) (1 node(s) x 3) cannot run this pretraining config: "
                               "optim.batch_size 4 is not divisible by the world size 3; use a multiple of 3; nothing "
                               "submitted\n")
    assert not logs.exists() and not (tmp_path / "run").exists()
    done = vjepa("launch", "slurm", "--dry-run", "--", "pretrain", "--config", "cpu_tiny", "--set", "optim.nope=1")
    assert done.returncode == 2 and "optim.nope" in done.stderr and len(done.stderr.splitlines()) == 1
    done = vjepa("launch", "slurm", "--gpus-per-node", "2", "--dry-run", "--", "pretrain", "--config", "cpu_tiny",
                 "--set", "optim.batch_size=4")
    assert done.returncode == 0 and json.loads(done.stdout)["world_size"] == 2
