"""World-model training: a tiny run on written episodes, its schedule, export and plan; bad episodes skipped and
named; a held output folder refused; SIGKILL then resume gives bitwise the same predictor, optimizer and losses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from vjepa.config.world import load_world_config
from vjepa.core.errors import ConfigError
from vjepa.core.lock import output_lock
from vjepa.data.action_world import ActionWorld
from vjepa.data.trajectories import write_world_episodes
from vjepa.world.export import load_world_model
from vjepa.world.train import schedule_values, train_world_model

TINY = ["encoder.embed_dim=32", "encoder.depth=1", "encoder.num_heads=2", "predictor.depth=1",
        "predictor.width=32", "predictor.num_heads=2", "optim.batch_size=4", "optim.epochs=4",
        "optim.steps_per_epoch=3", "optim.warmup_epochs=1", "optim.anneal_epochs=1", "run.log_every=1",
        "run.checkpoint_every=1"]


@pytest.fixture(scope="module")
def episodes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("episodes")
    write_world_episodes(ActionWorld(), folder, 6, 10, seed=0)
    return folder


def tiny(folder: Path, *extra: str):
    return load_world_config("world_cpu", [f"data.paths=[{str(folder)!r}]", *TINY, *extra])


def test_tiny_run_trains_exports_and_plans(tmp_path, episodes):
    summary = train_world_model(tiny(episodes), "none", tmp_path / "run", progress=False)
    assert summary.steps == 12 and summary.bad_episodes == 0
    assert np.isfinite(summary.final_loss) and summary.final_loss < summary.first_loss
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 13))
    model = load_world_model(tmp_path / "run")  # the OUT folder resolves to OUT/export
    frame = torch.zeros(3, 64, 64)
    first, result = model.plan(frame, torch.zeros(2), frame, horizon=2, samples=8, iterations=2, top_k=2, radius=0.1)
    assert first.shape == (2,) and result.actions.shape == (2, 2)
    assert float(first.abs().sum()) <= 0.1 + 1e-6


def test_wsd_schedule_warms_up_holds_and_anneals(episodes):
    cfg = tiny(episodes)  # 12 steps: warmup 3, constant 6, anneal 3
    lrs = [schedule_values(cfg, k)[0] for k in range(1, 13)]
    assert lrs[0] < lrs[1] < lrs[2] == cfg.optim.lr == lrs[8]
    assert lrs[9] > lrs[10] > lrs[11] == pytest.approx(cfg.optim.final_lr)


def test_bad_episode_is_skipped_and_named(tmp_path):
    folder = tmp_path / "episodes"
    write_world_episodes(ActionWorld(), folder, 3, 10, seed=1)
    states = np.load(folder / "episode_00001.states.npy")
    states[3, 0] = np.nan
    np.save(folder / "episode_00001.states.npy", states)
    summary = train_world_model(tiny(folder, "run.max_steps=2"), "none", tmp_path / "run", progress=False)
    assert summary.bad_episodes == 1
    listed = (tmp_path / "run" / "bad_episodes.txt").read_text()
    assert listed.startswith("episode_00001: NaN or inf in the states")


def test_held_output_folder_is_refused(tmp_path, episodes):
    with output_lock(tmp_path / "run", "world-model training"):
        with pytest.raises(ConfigError, match="in use by another world-model training") as info:
            train_world_model(tiny(episodes), "none", tmp_path / "run", progress=False)
    assert "\n" not in str(info.value)


def train_cmd(episodes: Path, out: Path) -> list[str]:
    sets = [a for s in [*TINY, "optim.epochs=8"] for a in ("--set", s)]
    return [sys.executable, "-m", "vjepa", "world", "train", "--checkpoint", "none", "--data", str(episodes),
            "--out", str(out), "--no-progress", *sets]


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def final(out: Path) -> dict:
    return torch.load(out / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)


def test_sigkill_then_resume_is_bitwise_identical(tmp_path, episodes):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    done = subprocess.run(train_cmd(episodes, straight), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    proc = subprocess.Popen(train_cmd(episodes, killed), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    latest, deadline = killed / "checkpoints" / "latest.pt", time.monotonic() + 240
    while not latest.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted = final(killed)["step"]
    assert 1 <= interrupted < 24
    resumed = subprocess.run(train_cmd(episodes, killed), env=env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {latest} at step {interrupted}" in resumed.stderr
    a, b = final(straight), final(killed)
    assert a["step"] == b["step"] == 24
    for name, tensor in a["predictor"].items():
        assert torch.equal(tensor, b["predictor"][name]), name
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    losses = [[json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
              for out in (straight, killed)]
    assert losses[0] == losses[1] and len(losses[0]) == 24
