"""``vjepa demo``: pretrain a small V-JEPA on the embedded dataset, then probe it frozen against a random-init
encoder of the same architecture, and report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch

from vjepa.config import load_config
from vjepa.core.runtime import resolve_device, resolve_dtype
from vjepa.models.encoder import VideoEncoder
from vjepa.pretrain.loop import pretrain
from vjepa.weights.export import load_exported_encoder

PROBE_TRAIN, PROBE_VAL, PROBE_EPOCHS = 1024, 256, 20


def run_demo(out_dir: str | Path, overrides: Sequence[str] = (), *, probe: bool = True, progress: bool = True) -> str:
    """Pretrain with the ``cpu_demo`` preset into ``out_dir``, probe, and return the report (also written to
    ``OUT/report.md``)."""
    from vjepa.eval.probe_train import ProbeRecipe
    from vjepa.eval.synthetic_probe import format_table, synthetic_probe_table

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
        rows = synthetic_probe_table(
            {"random init": random_init, "V-JEPA (this run)": pretrained}, num_train=PROBE_TRAIN,
            num_val=PROBE_VAL, num_frames=cfg.data.num_frames, size=cfg.data.synthetic.size,
            crop_size=cfg.data.crop_size, num_classes=cfg.data.synthetic.num_classes, seed=cfg.data.synthetic.seed,
            recipe=ProbeRecipe(epochs=PROBE_EPOCHS), device=device, dtype=resolve_dtype(cfg.run.dtype, device),
            progress=progress,
        )
        (out / "probe_table.json").write_text(json.dumps(rows, indent=1) + "\n")
        lines += ["", f"Frozen attentive probe ({PROBE_TRAIN} train / {PROBE_VAL} val clips, {PROBE_EPOCHS} epochs), "
                  "top-1 %:", "", format_table(rows)]
    lines += ["", f"outputs in {out}: report.md, metrics.jsonl, loss_curve.png, probe_table.json, checkpoints/, "
              "export/ (the target encoder)"]
    report = "\n".join(lines)
    (out / "report.md").write_text(report + "\n")
    return report
