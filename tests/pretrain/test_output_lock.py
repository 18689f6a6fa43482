"""One pretraining run per output folder: a second run beside a live one is refused with one line naming the
folder and the holder's pid; the folder of a SIGKILLed run is taken over and resumed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import torch

from vjepa.cli.main import main


def _cmd(out, steps: int) -> list[str]:
    return ["pretrain", "--config", "cpu_tiny", "--out", str(out), "--no-progress", "--set", f"run.max_steps={steps}",
            "--set", "run.checkpoint_every=1"]


def test_a_second_run_is_refused_and_a_killed_runs_folder_resumes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-m", "vjepa", *_cmd(out, 1000)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (out / "checkpoints" / "latest.pt").exists() and holder.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert holder.poll() is None, "the first run ended before the test could start a second one"
        assert main(_cmd(out, 1000)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
        assert f"{out} is in use by another pretraining run (pid {holder.pid} " in err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    step = torch.load(out / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)["step"]
    assert main(_cmd(out, step + 1)) == 0  # the OS dropped the dead holder's lock
    captured = capsys.readouterr()
    assert f"resuming from {out / 'checkpoints' / 'latest.pt'} at step {step}" in captured.err
    assert f'"steps": {step + 1}' in captured.out
