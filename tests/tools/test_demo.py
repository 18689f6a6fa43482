"""`vjepa demo` end to end, shrunk: pretraining, the frozen-probe table and the report."""

from __future__ import annotations

import json

import vjepa.tools.demo as demo


def test_demo_reports_loss_and_probe_table(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "PROBE_TRAIN", 16)
    monkeypatch.setattr(demo, "PROBE_VAL", 8)
    monkeypatch.setattr(demo, "PROBE_EPOCHS", 1)
    monkeypatch.setattr(demo, "VOE_PER_PROPERTY", 2)
    overrides = ["run.max_steps=2", "optim.batch_size=2", "model.depth=1", "model.pred_depth=1",
                 "data.num_frames=4", "data.crop_size=32", "data.synthetic.size=32", "run.dtype=float32"]
    report = demo.run_demo(tmp_path, overrides, progress=False)
    assert "V-JEPA demo: 2 steps" in report and "loss " in report
    for name in ("random init", "V-JEPA (this run)"):
        assert all(f"| {name}, {protocol} |" in report for protocol in ("attentive", "linear", "k-NN"))
    assert "motion top-1" in report
    assert "Violation of expectation" in report and report.count("| permanence | 2 | 2 |") == 2
    assert (tmp_path / "report.md").read_text().strip() == report.strip()
    rows = json.loads((tmp_path / "probe_table.json").read_text())
    assert {(r["encoder"], r["task"]) for r in rows} == {
        (f"{e}, {p}", t) for e in ("random init", "V-JEPA (this run)") for p in ("attentive", "linear", "k-NN")
        for t in ("motion", "appearance")}
    voe = json.loads((tmp_path / "voe_table.json").read_text())
    assert voe["per_property"] == 2 and set(voe["models"]) == {"random init", "V-JEPA (this run)"}
    assert all(r["n"] == 2 for rows in voe["models"].values() for r in rows)
