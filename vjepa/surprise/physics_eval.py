"""Violation of expectation of a V-JEPA model on the intuitive-physics world, in memory, beside a random init.

:func:`voe_of_checkpoint` generates the test quadruplets of :mod:`vjepa.data.physics` at the model's frame size,
scores every movie with :func:`~vjepa.surprise.score.score_clip` and reports three reductions of a movie's window
surprise series, all decided before any model was scored:

* ``mean`` and ``max``: the rules of :mod:`vjepa.surprise.voe` (``max`` is not balanced; read it against random
  init).
* ``break``: the mean over the windows that predict across the break, i.e. whose context lies before the break
  frame b and whose predicted frames contain it (start s with s + C <= b <= s + W - 1, in sampled frames). It is
  balanced like ``mean``: over such a window the four movies still hold the same frames. (``mean`` itself already
  depends on the windows spanning b only: every other window shows the same frames in C or D as in A or B, so
  its surprise cancels in S(A) + S(B) - S(C) - S(D).)

The random-init baseline (:func:`random_init_like`) has the same architecture, initialised as pretraining starts
(the target encoder a copy of the context encoder).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vjepa.core import formats
from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.core.progress import progress_bar
from vjepa.data.physics import PROPERTIES, make_quadruplets
from vjepa.models.encoder import VideoEncoder
from vjepa.models.predictor import Predictor
from vjepa.surprise.score import SurpriseSettings, resolve_settings, score_clip
from vjepa.surprise.voe import PropertyAccuracy, QuadScores, VoeReport, accuracy_rows, quad_outcome, wilson_interval
from vjepa.weights.detect import detect
from vjepa.weights.predictive import load_predictive

Modules = tuple[VideoEncoder, Predictor, VideoEncoder]


@dataclass(frozen=True)
class PhysicsVoe:
    report: VoeReport
    """Rows for the ``mean`` and ``max`` rules, and every quadruplet's scores."""
    break_rows: tuple[PropertyAccuracy, ...]
    """Rows for the ``break`` rule (windows predicting across the break), per property and context length."""
    settings: SurpriseSettings

    def accuracy(self, property: str, context_frames: int, reduction: str = "mean") -> float:
        if reduction == "break":
            for r in self.break_rows:
                if (r.property, r.context_frames) == (property, context_frames):
                    return r.accuracy
            raise KeyError(f"no break row for {property!r}, context {context_frames}")
        return self.report.row(property, context_frames, reduction).accuracy

    def table(self) -> list[dict]:
        """One dict per (context, reduction): accuracy per property, for reports."""
        rows = list(self.report.rows) + list(self.break_rows)
        out: dict[tuple[int, str], dict] = {}
        for r in rows:
            out.setdefault((r.context_frames, r.reduction), {"context": r.context_frames, "rule": r.reduction})
            out[(r.context_frames, r.reduction)][r.property] = round(r.accuracy, 3)
        return list(out.values())


def load_modules(checkpoint: str | os.PathLike) -> Modules:
    """Context encoder, predictor and target encoder of a pretraining checkpoint (``OUT/checkpoints/*.pt``; an
    export holds the target encoder only), eval mode, through the one loader (:mod:`vjepa.weights.predictive`)."""
    source = detect(checkpoint)
    if source.kind != "train-checkpoint":
        raise CheckpointError(f"{checkpoint}: not a vjepa training checkpoint (format {formats.TRAIN_CHECKPOINT})")
    model = load_predictive(source)
    if model.objective != "latent":
        raise ConfigError(f"{checkpoint}: objective 'pixel'; the physics VoE scores V-JEPA models")
    return model.encoder, model.predictor, model.target_encoder


def random_init_like(modules: Modules, seed: int = 0) -> Modules:
    """Fresh modules of the same architecture, as pretraining initialises them (target = copy of the encoder)."""
    encoder, predictor, _ = modules
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = VideoEncoder(encoder.cfg).eval()
        fresh_pred = Predictor(predictor.cfg).eval()
    return fresh, fresh_pred, copy.deepcopy(fresh)


def break_windows(starts: Sequence[int], break_sampled: float, context: int, window: int) -> list[int]:
    """Indices of the windows (by first sampled frame) whose context ends at or before the break and whose
    predicted frames contain it."""
    return [i for i, s in enumerate(starts) if s + context <= break_sampled <= s + window - 1]


def voe_of_checkpoint(checkpoint_or_modules: str | os.PathLike | Modules, per_property: int = 100, seed: int = 0,
                      context_frames: Sequence[int] = (2, 4, 6), *, num_frames: int = 32, frame_step: int = 1,
                      window: int | None = None, stride: int = 2, properties: Sequence[str] = PROPERTIES,
                      object_scale: float = 1.0, dtype: torch.dtype = torch.float32,
                      progress: bool = False) -> PhysicsVoe:
    """Score ``per_property`` quadruplets of each property (``num_frames`` frames at the encoder's image size,
    sampled every ``frame_step``; windows of ``window`` sampled frames, default the encoder's frames)."""
    modules = (load_modules(checkpoint_or_modules) if isinstance(checkpoint_or_modules, (str, os.PathLike))
               else checkpoint_or_modules)
    encoder, predictor, target = modules
    settings = resolve_settings(SurpriseSettings(frame_step=frame_step, window=window, stride=stride,
                                                 context_frames=tuple(context_frames)), encoder)
    if per_property < 1:
        raise ConfigError(f"per_property {per_property} must be >= 1")
    quads = make_quadruplets(per_property, seed, num_frames, encoder.cfg.img_size, tuple(properties), object_scale)
    scores, breaks = [], []
    for quad in progress_bar(quads, enabled=progress, desc="voe", unit="quad"):
        results = [score_clip(m.video, encoder, predictor, target, settings, dtype) for m in quad.movies]
        contexts = settings.context_frames
        starts = [first // frame_step for first, _ in results[0].frame_ranges]
        mean = torch.tensor([[r.mean[c] for c in contexts] for r in results])  # (4, num_contexts)
        peak = torch.tensor([[r.max[c] for c in contexts] for r in results])
        scores.append(QuadScores(quad.property, contexts, mean, peak))
        per_context = []
        for c in contexts:
            idx = break_windows(starts, quad.break_frame / frame_step, c, settings.window)
            per_context.append([float(r.for_context(c).values[idx].mean()) if idx else float("nan") for r in results])
        breaks.append((quad.property, per_context))
    report = VoeReport(accuracy_rows(scores), tuple(scores))
    return PhysicsVoe(report, _break_rows(breaks, settings.context_frames), settings)


def _break_rows(breaks: list, contexts: Sequence[int]) -> tuple[PropertyAccuracy, ...]:
    rows = []
    for prop in dict.fromkeys(p for p, _ in breaks):
        group = [vals for p, vals in breaks if p == prop]
        for k, c in enumerate(contexts):
            right, n = 0.0, 0
            for vals in group:
                a, b, cc, d = vals[k]
                if a == a:  # no window predicts across the break (NaN): the quadruplet is left out
                    right += quad_outcome(a + b, cc + d)
                    n += 1
            low, high = wilson_interval(right, n)
            rows.append(PropertyAccuracy(prop, c, "break", right / n if n else float("nan"), n, low, high))
    return tuple(rows)
