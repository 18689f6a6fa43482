"""Metrics log: JSONL records, truncation on resume, optional TensorBoard."""

from __future__ import annotations

import json

import pytest

from vjepa.pretrain.metrics_log import MetricsLog, plot_loss_curve, read_metrics


def test_resume_drops_records_after_the_checkpoint(tmp_path):
    log = MetricsLog(tmp_path, tensorboard=False)
    for step in range(1, 6):
        log.write(step, {"loss": 1.0 / step, "lr": 1e-3})
    log.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 6, "loss"')  # a kill in the middle of a write
    MetricsLog(tmp_path, resume_step=3, tensorboard=False).close()
    assert [r["step"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2, 3]
    assert plot_loss_curve(tmp_path / "metrics.jsonl", tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_tensorboard_events_when_installed(tmp_path):
    pytest.importorskip("tensorboard")
    log = MetricsLog(tmp_path, tensorboard=True)
    log.write(1, {"loss": 0.5, "note": "text values are skipped"})
    log.close()
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert json.loads((tmp_path / "metrics.jsonl").read_text())["loss"] == 0.5
