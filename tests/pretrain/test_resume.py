"""Kill-and-resume: a run killed with SIGKILL and resumed ends bitwise identical to an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

STEPS = 12


def pretrain_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "vjepa", "pretrain", "--config", "cpu_tiny", "--out", str(out), "--no-progress",
            "--set", f"run.max_steps={STEPS}", "--set", "run.checkpoint_every=1", "--set", "run.keep_every=1",
            "--set", "run.log_every=1", *extra]


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def final_state(out: Path) -> dict:
    return torch.load(out / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)


def assert_bitwise_equal(a, b, path="") -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{path} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_bitwise_equal(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_bitwise_equal(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a} != {b}"


def test_sigkill_then_resume_is_bitwise_identical(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    done = subprocess.run(pretrain_cmd(straight), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    proc = subprocess.Popen(pretrain_cmd(killed), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marker = killed / "checkpoints" / "step_0000004.pt"
    deadline = time.monotonic() + 240
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted_at = final_state(killed)["step"]
    assert 4 <= interrupted_at < STEPS

    resumed = subprocess.run(pretrain_cmd(killed), env=env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    # Said without --verbose, so a re-run of a killed job never looks like a fresh start.
    assert f"resuming from {killed / 'checkpoints' / 'latest.pt'} at step {interrupted_at}" in resumed.stderr
    assert "resuming" not in done.stderr
    a, b = final_state(straight), final_state(killed)
    assert a["step"] == b["step"] == STEPS
    for key in ("encoder", "predictor", "target_encoder", "optimizer"):
        assert_bitwise_equal(a[key], b[key], key)
    # The metrics log holds each step once, as if the run had never been interrupted.
    records = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "loss" in r]
    assert steps == list(range(1, STEPS + 1))


def test_other_model_in_same_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    first = subprocess.run(pretrain_cmd(out, "--set", "run.max_steps=1"), env=env(), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    other = subprocess.run(pretrain_cmd(out, "--set", "model.pred_depth=3"), env=env(), capture_output=True, text=True)
    assert other.returncode == 2
    assert "different 'model' config" in other.stderr and "Traceback" not in other.stderr
