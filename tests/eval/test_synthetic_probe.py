"""A tiny run of the demo's probe table on the embedded synthetic dataset."""

from __future__ import annotations

import pytest
import torch

import vjepa.eval.synthetic_probe as sp
from vjepa.core.errors import ConfigError
from vjepa.eval.probe_train import ProbeRecipe
from vjepa.models.encoder import EncoderConfig, VideoEncoder


def test_tiny_table(monkeypatch):
    torch.manual_seed(0)
    cfg = EncoderConfig(embed_dim=48, depth=2, num_heads=2, num_frames=8, img_size=32)
    encoders = {"random A": VideoEncoder(cfg), "random B": VideoEncoder(cfg)}
    seen = []
    real_extract = sp.extract_features

    def counting_extract(encoder, loader, **kwargs):
        seen.append(len(loader.dataset))
        return real_extract(encoder, loader, **kwargs)

    monkeypatch.setattr(sp, "extract_features", counting_extract)
    rows = sp.synthetic_probe_table(encoders, num_train=16, num_val=8, num_frames=8, size=32, crop_size=32,
                                    recipe=ProbeRecipe(epochs=1, batch_size=8), batch_size=8, progress=False)
    assert seen == [16, 8, 16, 8]  # encoded once per encoder and split, shared by both tasks
    assert [(r["encoder"], r["task"]) for r in rows] == [
        ("random A", "motion"), ("random A", "appearance"), ("random B", "motion"), ("random B", "appearance")]
    assert all(0.0 <= r["top1"] <= 100.0 and r["num_val"] == 8 and r["chance"] == 25.0 for r in rows)
    table = sp.format_table(rows)
    lines = table.splitlines()
    assert lines[0] == "| encoder | motion top-1 | appearance top-1 |" and len(lines) == 5
    assert lines[2].startswith("| random A | ") and lines[-1] == "| (chance) | 25.0 | 25.0 |"


def test_train_and_val_index_ranges_are_disjoint():
    labels = sp._task_labels(range(sp.VAL_OFFSET, sp.VAL_OFFSET + 8), 4)
    assert labels["appearance"].tolist() == [i % 4 for i in range(8)]  # balanced like the training range
    with pytest.raises(ConfigError, match="num_train"):
        sp.synthetic_probe_table({}, num_train=sp.VAL_OFFSET + 1, num_val=1)
