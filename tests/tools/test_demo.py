"""`vjepa demo` end to end, shrunk: pretraining, the frozen-probe table and the report."""

from __future__ import annotations

import json

import vjepa.tools.demo as demo


def test_demo_reports_loss_and_probe_table(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "PROBE_TRAIN", 16)
    monkeypatch.setattr(demo, "PROBE_VAL", 8)
    monkeypatch.setattr(demo, "PROBE_EPOCHS", 1)
    overrides = ["run.max_steps=2", "optim.batch_size=2", "model.depth=1", "model.pred_depth=1",
                 "data.num_frames=4", "data.crop_size=32", "data.synthetic.size=32", "run.dtype=float32"]
    report = demo.run_demo(tmp_path, overrides, progress=False)
    assert "V-JEPA demo: 2 steps" in report and "loss " in report
    assert "| random init |" in report and "| V-JEPA (this run) |" in report and "motion top-1" in report
    assert (tmp_path / "report.md").read_text().strip() == report.strip()
    rows = json.loads((tmp_path / "probe_table.json").read_text())
    assert {(r["encoder"], r["task"]) for r in rows} == {
        (e, t) for e in ("random init", "V-JEPA (this run)") for t in ("motion", "appearance")}
