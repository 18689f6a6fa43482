"""``vjepa demo``: pretrain a small V-JEPA on the embedded dataset, then probe it frozen against a random-init
encoder of the same architecture, and report."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from vjepa.config import load_config
from vjepa.core.io import write_json_atomic, write_text_atomic
from vjepa.core.runtime import resolve_device, resolve_dtype
from vjepa.models.encoder import VideoEncoder
from vjepa.pretrain.loop import pretrain
from vjepa.weights.export import load_exported_encoder

PROBE_TRAIN, PROBE_VAL, PROBE_EPOCHS = 1024, 256, 20
VOE_PER_PROPERTY, VOE_FRAMES = 100, 24  # n = 100: a 95 % interval of about +-10 points; ~2.5 min here
"""Violation of expectation: quadruplets per property, frames per movie (scored at frame step 1, the demo's
training rate, in windows of the pretraining length every 4 frames, context half a window)."""


def probe_rows(encoders: dict, cfg, device, dtype, progress: bool) -> list[dict]:
    """Attentive probe, linear probe and k-NN (pooled features) of every encoder on both synthetic tasks; the
    clips are encoded once per encoder."""
    from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe
    from vjepa.eval.quick import knn_probe, linear_probe
    from vjepa.eval.synthetic_probe import synthetic_task_features

    rows = []
    for name, encoder in encoders.items():
        tasks = synthetic_task_features(
            encoder, num_train=PROBE_TRAIN, num_val=PROBE_VAL, num_frames=cfg.data.num_frames,
            size=cfg.data.synthetic.size, crop_size=cfg.data.crop_size, num_classes=cfg.data.synthetic.num_classes,
            seed=cfg.data.synthetic.seed, device=device, dtype=dtype, progress=progress)
        for task, (train, val, classes) in tasks.items():
            attentive = train_attentive_probe(train, val, classes, ProbeRecipe(epochs=PROBE_EPOCHS), device=device,
                                              dtype=dtype, progress=progress).metrics
            results = {"attentive": attentive, "linear": linear_probe(train, val, classes)["metrics"],
                       "k-NN": knn_probe(train, val, classes)["metrics"]}
            for protocol, metrics in results.items():
                rows.append({"encoder": f"{name}, {protocol}", "task": task, "num_classes": classes,
                             "chance": 100.0 / classes, **metrics, "num_train": PROBE_TRAIN, "num_val": PROBE_VAL})
    return rows


def voe_table(cfg, out: Path, device, dtype, progress: bool) -> tuple[str, dict, float]:
    """Violation-of-expectation accuracy of the run's model (``checkpoints/latest.pt``) and of its initialisation
    on generated physics quadruplets; returns the tables, the JSON rows and the seconds taken."""
    import time

    from vjepa.pretrain.build import build_models
    from vjepa.surprise.compare import compare_models, physics_quadruplets
    from vjepa.weights.predictive import PredictiveModel, load_predictive

    started = time.perf_counter()
    torch.manual_seed(cfg.run.seed)  # the same initialisation the pretraining run started from
    models = {"random init": PredictiveModel(*(m.eval() for m in build_models(cfg)), kind="none"),
              "V-JEPA (this run)": load_predictive(out / "checkpoints" / "latest.pt")}
    quads = physics_quadruplets(VOE_PER_PROPERTY, cfg.run.seed, VOE_FRAMES, cfg.data.crop_size)
    tables, rows = compare_models(models, quads, cfg.data.num_frames, device, dtype, progress)
    return tables, rows, time.perf_counter() - started


def run_demo(out_dir: str | Path, overrides: Sequence[str] = (), *, probe: bool = True, progress: bool = True) -> str:
    """Pretrain with the ``cpu_demo`` preset into ``out_dir``, probe, and return the report (also written to
    ``OUT/report.md``)."""
    from vjepa.eval.synthetic_probe import format_table

    out = Path(out_dir)
    cfg = load_config("cpu_demo", overrides)
    summary = pretrain(cfg, out, progress=progress)
    lines = [f"V-JEPA demo: {summary['steps']} steps on {summary['device']} ({summary['dtype']}), "
             f"{summary['seconds']} s this run"]
    if summary["first_loss"] is not None:
        lines.append(f"loss {summary['first_loss']:.4f} -> {summary['final_loss']:.4f}")
    if probe:
        pretrained = load_exported_encoder(out / "export")
        torch.manual_seed(cfg.run.seed)  # the same initialisation the pretraining run started from
        random_init = VideoEncoder(pretrained.cfg).eval()
        device = resolve_device(cfg.run.device)
        dtype = resolve_dtype(cfg.run.dtype, device)
        rows = probe_rows({"random init": random_init, "V-JEPA (this run)": pretrained}, cfg, device, dtype,
                          progress)
        write_json_atomic(out / "probe_table.json", rows)
        lines += ["", f"Frozen probes ({PROBE_TRAIN} train / {PROBE_VAL} val clips): attentive ({PROBE_EPOCHS} "
                  "epochs), linear and k-NN on mean-pooled features (chosen on a training hold-out), top-1 %:", "",
                  format_table(rows)]
        tables, voe_rows, seconds = voe_table(cfg, out, device, dtype, progress)
        write_json_atomic(out / "voe_table.json", {"per_property": VOE_PER_PROPERTY, "seconds": seconds,
                                                   "models": voe_rows})
        lines += ["", f"Violation of expectation on generated physics quadruplets ({VOE_PER_PROPERTY} per property, "
                  f"{VOE_FRAMES} frames; accuracy %, 95 % Wilson intervals; chance 50; the max rule is biased on "
                  f"permanence, see docs/surprise.md; {seconds:.0f} s):", "", tables]
    lines += ["", f"outputs in {out}: report.md, metrics.jsonl, loss_curve.png, probe_table.json, voe_table.json, "
              "checkpoints/, export/ (the target encoder)"]
    report = "\n".join(lines)
    write_text_atomic(out / "report.md", report + "\n")
    return report
