"""The experiment's violation-of-expectation stage: every final model (V-JEPA, and the pixel baseline, whose
surprise is the error of its real pixel prediction) and the shared random init, on the same generated physics
quadruplets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vjepa.config import PretrainConfig
from vjepa.core.runtime import resolve_device, resolve_dtype
from vjepa.experiment.config import LABELS, PaperConfig
from vjepa.experiment.evaluate import RANDOM
from vjepa.pretrain.build import build_models
from vjepa.surprise.compare import compare_models, physics_quadruplets
from vjepa.weights.predictive import PredictiveModel, load_predictive


def voe_stage(cfg: PaperConfig, configs: dict[str, PretrainConfig], out: Path, progress: bool) -> dict[str, Any]:
    """VoE tables and rows of random init and of each method's last checkpoint."""
    base = next(iter(configs.values()))
    device = resolve_device(base.run.device)
    dtype = resolve_dtype(base.run.dtype, device)
    vjepa_cfg = configs.get("vjepa", base)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(vjepa_cfg.run.seed)  # the initialisation every method starts from
        encoder, predictor, target = build_models(vjepa_cfg)
    models = {LABELS[RANDOM]: PredictiveModel(encoder.eval(), predictor.eval(), target.eval(), kind="none")}
    for method in cfg.methods:
        models[LABELS[method]] = load_predictive(out / "pretrain" / method / "checkpoints" / "latest.pt")
    quads = physics_quadruplets(cfg.voe.per_property, base.run.seed, cfg.voe.num_frames, base.data.crop_size)
    tables, rows = compare_models(models, quads, base.data.num_frames, device, dtype, progress)
    return {"tables": tables, "models": rows, "per_property": cfg.voe.per_property}
