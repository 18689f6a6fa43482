"""Violation-of-expectation accuracy of several models on the same generated physics quadruplets: the table that
``vjepa demo`` (V-JEPA vs random init) and ``vjepa experiment paper`` (plus the pixel baseline) print."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from vjepa.data.physics import make_quadruplets
from vjepa.surprise.report import report_json, voe_table
from vjepa.surprise.score import SurpriseSettings
from vjepa.surprise.voe import score_quadruplets
from vjepa.weights.predictive import PredictiveModel

Quads = list[tuple[str, list[torch.Tensor]]]


def physics_quadruplets(per_property: int, seed: int, num_frames: int, size: int) -> Quads:
    """``per_property`` quadruplets of every property of the physics world, as (property, [A, B, C, D] frames)."""
    return [(q.property, [m.video for m in q.movies]) for q in make_quadruplets(per_property, seed=seed,
                                                                                num_frames=num_frames, size=size)]


def compare_models(models: Mapping[str, PredictiveModel], quads: Quads, window: int, device: torch.device,
                   dtype: torch.dtype, progress: bool = False) -> tuple[str, dict[str, list[dict]]]:
    """Score every model on ``quads`` (windows of ``window`` frames every 4, the first half as context, the
    mean-surprise and max-surprise rules); returns the Markdown tables and the JSON rows by model name."""
    tables, rows = [], {}
    for name, model in models.items():
        model.to(device)
        settings = SurpriseSettings(frame_step=1, window=window, stride=4, context_frames=(window // 2,),
                                    mask_index=model.mask_index)
        report = score_quadruplets(quads, model.encoder, model.predictor, model.target_encoder, settings, dtype,
                                   progress)
        tables.append(voe_table(report, f"{name}:"))
        rows[name] = report_json(report)
    return "\n\n".join(tables), rows
