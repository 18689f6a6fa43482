"""The pretraining loop on the tiny CPU preset: outputs, progress of the loss, and divergence handling."""

from __future__ import annotations

import json

import pytest
import torch

import vjepa.pretrain.loop as loop
from vjepa.config import load_config
from vjepa.core.errors import TrainingDiverged
from vjepa.weights.io import load_tensors


def tiny(*overrides: str):
    return load_config("cpu_tiny", ["run.checkpoint_every=1", "run.log_every=1", "run.health_every=2", *overrides])


def test_pretrain_writes_every_output(tmp_path):
    summary = loop.pretrain(tiny("run.max_steps=4"), tmp_path, progress=False)
    assert summary["steps"] == 4
    for name in ("config.yaml", "metrics.jsonl", "loss_curve.png", "checkpoints/latest.pt",
                 "export/model.safetensors", "export/config.json"):
        assert (tmp_path / name).is_file(), name
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in records if "loss" in r]
    assert [r["step"] for r in losses] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in losses)
    assert {"lr", "weight_decay", "momentum", "clips_per_s", "world_size"} <= losses[0].keys()
    assert any("rankme" in r and "feature_std" in r for r in records)
    assert (tmp_path / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert any(k.startswith("encoder.blocks.0.") for k in load_tensors(tmp_path / "export/model.safetensors"))


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    real_build_loader = loop.build_loader

    def poisoned_loader(*args, **kwargs):
        for i, batch in enumerate(real_build_loader(*args, **kwargs)):
            if i == 2:  # the 3rd micro-batch (step 3) is NaN
                batch["video"].fill_(float("nan"))
            yield batch

    monkeypatch.setattr(loop, "build_loader", poisoned_loader)
    cfg = tiny("run.max_steps=6", "optim.micro_batch_size=null")
    with pytest.raises(TrainingDiverged, match=r"loss is nan at step 3.*last good checkpoint is .*latest\.pt"):
        loop.pretrain(cfg, tmp_path, progress=False)
    kept = torch.load(tmp_path / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)
    assert kept["step"] == 2
    assert all(torch.isfinite(t).all() for t in kept["encoder"].values())
