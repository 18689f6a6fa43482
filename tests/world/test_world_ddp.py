"""World-model training on CPU (gloo): a 2-process torchrun run equals a 1-process run at the same global batch
(losses and final predictor), every rank resumes a checkpoint, a 2-process checkpoint resumes in 1 process, and a
batch not divisible by the world size is a one-line error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vjepa.data.action_world import ActionWorld
from vjepa.data.trajectories import write_world_episodes

ROOT = Path(__file__).resolve().parents[2]
TINY = ["encoder.embed_dim=32", "encoder.depth=1", "encoder.num_heads=2", "predictor.depth=1", "predictor.width=32",
        "predictor.num_heads=2", "optim.batch_size=4", "run.log_every=1", "run.checkpoint_every=1",
        "runtime.dtype=float32", "run.dist_timeout_s=60"]
STEPS = 4


@pytest.fixture(scope="module")
def episodes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("episodes")
    write_world_episodes(ActionWorld(), folder, 6, 10, seed=0)
    return folder


def env(**extra: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR",
                                                                "MASTER_PORT")}
    path = os.pathsep.join(p for p in (str(ROOT), clean.get("PYTHONPATH")) if p)
    return {**clean, "OMP_NUM_THREADS": "1", "PYTHONPATH": path, **extra}


def train(nproc: int, data: Path, out: Path, steps: int, **extra: str) -> subprocess.CompletedProcess:
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)] if nproc > 1 else []
    sets = [arg for value in [*TINY, f"run.max_steps={steps}"] for arg in ("--set", value)]
    cmd = [sys.executable, *launcher, "-m", "vjepa", "world", "train", "--checkpoint", "none", "--data", str(data),
           "--out", str(out), "--no-progress", *sets]
    return subprocess.run(cmd, env=env(**extra), capture_output=True, text=True, timeout=120)


def losses(out: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records if "loss" in r}


def predictor(out: Path) -> dict:
    return torch.load(out / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)["predictor"]


def test_two_processes_equal_one_and_resume_across_world_sizes(tmp_path, episodes):
    two, one, resumed = tmp_path / "two", tmp_path / "one", tmp_path / "resumed"
    done = train(2, episodes, two, 2)  # 2 processes to step 2 ...
    assert done.returncode == 0, done.stderr[-3000:]
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(two / "checkpoints" / "latest.pt", resumed / "checkpoints" / "latest.pt")
    done = train(2, episodes, two, STEPS)  # ... then every rank resumes it to the end
    assert done.returncode == 0, done.stderr[-3000:]
    summaries = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 1 and summaries[0]["world_size"] == 2 and summaries[0]["steps_this_run"] == 2
    done = train(1, episodes, one, STEPS)
    assert done.returncode == 0, done.stderr[-3000:]

    a, b = losses(two), losses(one)
    assert sorted(a) == sorted(b) == list(range(1, STEPS + 1))  # rank 0 alone logged: each step once
    assert max(abs(a[k] - b[k]) for k in a) <= 1e-5, (a, b)
    end_two, end_one = predictor(two), predictor(one)
    for key, value in end_one.items():
        torch.testing.assert_close(end_two[key], value, atol=1e-5, rtol=0)
    assert (two / "export").is_dir() and not list(two.glob("checkpoints/.*.tmp"))

    # The 2-process checkpoint of step 2 resumed in 1 process follows the same trajectory.
    done = train(1, episodes, resumed, STEPS)
    assert done.returncode == 0, done.stderr[-3000:]
    c = losses(resumed)
    assert sorted(c) == [3, 4] and max(abs(a[k] - c[k]) for k in c) <= 1e-5, (a, c)
    for key, value in end_one.items():
        torch.testing.assert_close(predictor(resumed)[key], value, atol=1e-5, rtol=0)


def test_batch_not_divisible_by_world_size_is_a_one_line_error(tmp_path, episodes):
    done = train(1, episodes, tmp_path / "r", STEPS, WORLD_SIZE="3", RANK="0", MASTER_ADDR="127.0.0.1",
                 MASTER_PORT="1")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == ["error: optim.batch_size 4 is not divisible by the world size 3; "
                                                "choose a multiple of the number of processes"]
    assert not (tmp_path / "r").exists()
