"""Multi-process training on CPU (gloo): a 2-process torchrun run equals a 1-process run at the same global batch,
its checkpoint resumes in 1 process, and bad launches or a dying rank end with a clear error instead of a hang."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vjepa.config import load_config
from vjepa.core.errors import ConfigError
from vjepa.pretrain.distributed import DistInfo, dist_from_env, is_collective_failure
from vjepa.pretrain.loop import _keep_micro_batch

STEPS = 6
WORKER = Path(__file__).with_name("ddp_worker.py")
# cpu_tiny: global batch 4, micro-batch 2 -> 1 process accumulates 2 micro-batches, 2 processes take one each.
ARGS = ["pretrain", "--config", "cpu_tiny", "--no-progress", "--set", "run.dtype=float32",
        "--set", "run.checkpoint_every=3", "--set", "run.keep_every=3", "--set", "run.log_every=1",
        "--set", "run.dist_timeout_s=60"]


def env(**extra: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR",
                                                                "MASTER_PORT")}
    return {**clean, "OMP_NUM_THREADS": "1", **extra}


def run(cmd: list[str], timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env(**extra), capture_output=True, text=True, timeout=timeout)


def torchrun(nproc: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *args]


def losses(out: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records if "loss" in r}


def weights(out: Path) -> dict:
    return torch.load(out / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one_and_resume_in_one(tmp_path):
    two, one, resumed = tmp_path / "two", tmp_path / "one", tmp_path / "resumed"
    done = run(torchrun(2, "-m", "vjepa", *ARGS, "--out", str(two), "--set", f"run.max_steps={STEPS}"))
    assert done.returncode == 0, done.stderr[-3000:]
    summaries = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 1 and summaries[0]["world_size"] == 2 and summaries[0]["accumulation"] == 1
    done = run([sys.executable, "-m", "vjepa", *ARGS, "--out", str(one), "--set", f"run.max_steps={STEPS}"])
    assert done.returncode == 0, done.stderr[-3000:]

    a, b = losses(two), losses(one)
    assert sorted(a) == sorted(b) == list(range(1, STEPS + 1))  # rank 0 alone logged: each step once
    assert max(abs(a[k] - b[k]) for k in a) <= 1e-5, (a, b)
    records = [json.loads(line) for line in (two / "metrics.jsonl").read_text().splitlines()]
    assert all(r["world_size"] == 2 for r in records if "loss" in r)

    # Resume the 2-process checkpoint of step 3 in 1 process: steps 4-6 follow the same trajectory.
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(two / "checkpoints" / "step_0000003.pt", resumed / "checkpoints" / "latest.pt")
    done = run([sys.executable, "-m", "vjepa", *ARGS, "--out", str(resumed), "--set", f"run.max_steps={STEPS}"])
    assert done.returncode == 0, done.stderr[-3000:]
    c = losses(resumed)
    assert sorted(c) == [4, 5, 6] and max(abs(a[k] - c[k]) for k in c) <= 1e-5, (a, c)
    assert json.loads(done.stdout.splitlines()[-1])["accumulation"] == 2
    end_two, end_resumed = weights(two), weights(resumed)
    for name in ("encoder", "predictor", "target_encoder"):
        for key, value in end_two[name].items():
            torch.testing.assert_close(end_resumed[name][key], value, atol=1e-5, rtol=0)


@pytest.mark.parametrize("extra,needle", [
    ({"WORLD_SIZE": "3", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"},
     "optim.batch_size 4 is not divisible by the world size 3"),
    ({"WORLD_SIZE": "2", "RANK": "0"}, "no rendezvous: MASTER_ADDR and MASTER_PORT not set"),
])
def test_bad_launch_is_a_one_line_error_before_any_work(tmp_path, extra, needle):
    done = run([sys.executable, "-m", "vjepa", *ARGS, "--out", str(tmp_path / "r")], **extra)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {done.stderr.strip()[7:]}"] and needle in done.stderr
    assert not (tmp_path / "r").exists()


def test_unreachable_rendezvous_times_out(tmp_path):
    started = time.monotonic()
    done = run([sys.executable, "-m", "vjepa", *ARGS, "--out", str(tmp_path / "r"), "--set", "run.dist_timeout_s=2"],
               WORLD_SIZE="2", RANK="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    assert done.returncode == 2 and time.monotonic() - started < 60
    last = done.stderr.strip().splitlines()[-1]  # c10d logs its retries above our line
    assert last.startswith("error: rank 1: could not join the gloo process group") and "dist_timeout_s=2" in last


def test_a_dying_rank_fails_the_others_instead_of_hanging(tmp_path):
    port = free_port()
    cmd = [sys.executable, str(WORKER), "1", "3", *ARGS, "--out", str(tmp_path / "r"),
           "--set", f"run.max_steps={STEPS}"]
    procs = [subprocess.Popen(cmd, env=env(WORLD_SIZE="2", RANK=str(r), LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1",
                                            MASTER_PORT=str(port)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for r in (0, 1)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert procs[1].returncode == 17
    assert procs[0].returncode == 2, outs[0][1][-2000:]
    last = outs[0][1].strip().splitlines()[-1]
    assert last.startswith("error: rank 0 of 2: a collective operation failed") and "Traceback" not in outs[0][1]
    assert not (tmp_path / "r" / "checkpoints" / "latest.pt").exists()  # died before the first checkpoint (step 3)


def test_torchrun_stops_the_job_when_a_rank_dies(tmp_path):
    done = run(torchrun(2, str(WORKER), "1", "2", *ARGS, "--out", str(tmp_path / "r"),
                        "--set", f"run.max_steps={STEPS}"))
    assert done.returncode != 0
    assert "exitcode  : 17" in done.stderr or "exit code 17" in done.stderr.lower(), done.stderr[-2000:]


# ---------------------------------------------------------------------------------------------- in-process units
def test_dist_from_env():
    assert dist_from_env({}) == DistInfo()
    assert dist_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1"}
                         ) == DistInfo(rank=3, world_size=4, local_rank=1)
    with pytest.raises(ConfigError, match="RANK=4.*WORLD_SIZE=4"):
        dist_from_env({"WORLD_SIZE": "4", "RANK": "4", "MASTER_ADDR": "h", "MASTER_PORT": "1"})
    with pytest.raises(ConfigError, match="RANK is not set"):
        dist_from_env({"WORLD_SIZE": "2", "MASTER_ADDR": "h", "MASTER_PORT": "1"})
    with pytest.raises(ConfigError, match="WORLD_SIZE='two'"):
        dist_from_env({"WORLD_SIZE": "two"})


def test_resume_on_fewer_processes_keeps_the_micro_batch():
    ckpt = {"extra": {"layout": {"world_size": 4, "micro_batch_size": 2, "accumulation": 1}}}
    cfg = load_config("cpu_tiny", ["optim.batch_size=8", "optim.micro_batch_size=null"])
    assert _keep_micro_batch(cfg, ckpt, DistInfo(world_size=1)) and cfg.optim.micro_batch_size == 2
    cfg = load_config("cpu_tiny", ["optim.batch_size=8", "optim.micro_batch_size=null"])
    ckpt["extra"]["layout"]["micro_batch_size"] = 8  # does not divide the per-process batch of 4 ranks
    assert not _keep_micro_batch(cfg, ckpt, DistInfo(world_size=4)) and cfg.optim.micro_batch_size is None


def test_collective_failures_are_recognised():
    assert is_collective_failure(RuntimeError("[gloo/transport/tcp/pair.cc:553] Connection closed by peer"))
    assert not is_collective_failure(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


def test_speed_switch_is_restored_and_timeouts_are_checked():
    from vjepa.config import validate
    from vjepa.pretrain.build import speed_switches

    before = torch.backends.mkldnn.matmul.fp32_precision
    with speed_switches(load_config("cpu_tiny", ["run.onednn_fp32=true"]).run):
        assert torch.backends.mkldnn.matmul.fp32_precision == "bf16"
    assert torch.backends.mkldnn.matmul.fp32_precision == before
    with pytest.raises(ConfigError, match="run.dist_timeout_s"):
        validate(load_config("cpu_tiny", ["run.dist_timeout_s=0"]))
