"""The tiny V-JEPA 2 (RoPE) preset: pretrains, resumes bitwise after SIGKILL, exports to a transformers
``VJEPA2Model`` folder whose outputs equal our encoder's (<= 1e-4)."""

from __future__ import annotations

import subprocess

import pytest
import test_resume  # the V-JEPA 1 kill-and-resume test, run here with the RoPE preset
import torch
from test_resume import STEPS, env, final_state, pretrain_cmd

from vjepa.cli.main import main as vjepa_main
from vjepa.config import load_config
from vjepa.weights.load import load_encoder


def rope_cmd(out, *extra):
    return pretrain_cmd(out, "--config", "cpu_tiny_rope", *extra)  # the later --config wins


def test_cpu_tiny_rope_is_a_rope_model():
    cfg = load_config("cpu_tiny_rope")
    assert cfg.model.arch.startswith("vjepa2_") and cfg.model.embed_dim == 48


def test_rope_sigkill_then_resume_is_bitwise_identical(tmp_path, monkeypatch):
    monkeypatch.setattr(test_resume, "pretrain_cmd", rope_cmd)
    test_resume.test_sigkill_then_resume_is_bitwise_identical(tmp_path)
    assert final_state(tmp_path / "killed")["config"]["model"]["arch"] == "vjepa2_vit_large"


def test_rope_pretrain_export_loads_in_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    out = tmp_path / "run"
    done = subprocess.run(rope_cmd(out), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert final_state(out)["step"] == STEPS
    assert vjepa_main(["convert", "to-hf", str(out / "export"), str(tmp_path / "hf")]) == 0
    hf = transformers.VJEPA2Model.from_pretrained(tmp_path / "hf").eval()
    ours = load_encoder(out / "export")
    assert ours.cfg.use_rope
    video = torch.randn(2, 3, ours.cfg.num_frames, ours.cfg.img_size, ours.cfg.img_size,
                        generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        theirs = hf(pixel_values_videos=video.transpose(1, 2), skip_predictor=True).last_hidden_state
        err = (theirs - ours(video)).abs().max().item()
    print(f"\ncpu_tiny_rope export: max |transformers - ours| = {err:.2e}")
    assert err <= 1e-4
