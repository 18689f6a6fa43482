"""Frozen evaluation of the experiment's encoders: every evaluated checkpoint of every method, and random init.

Each encoder's clips are encoded **once** (:func:`~vjepa.eval.synthetic_probe.synthetic_task_features`); the same
tokens then train the full-label probe of every task and, for the final encoders, every low-shot probe (each
task × fraction × seeded split), so low-shot costs probe training only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vjepa.config import PretrainConfig
from vjepa.eval.checkpoints import load_frozen_encoder
from vjepa.eval.features import FeatureSet
from vjepa.eval.lowshot import lowshot_runs
from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe
from vjepa.eval.synthetic_probe import synthetic_task_features
from vjepa.experiment.config import PaperConfig
from vjepa.models.encoder import VideoEncoder
from vjepa.pretrain.build import build_models
from vjepa.pretrain.checkpoint import checkpoint_dir

RANDOM = "random_init"


@dataclass(frozen=True)
class EncoderPoint:
    """One encoder to evaluate: a checkpoint of a method's run, or the random initialisation (step 0)."""

    name: str
    """File-safe id: ``random_init`` or ``<method>_<step:07d>``."""
    method: str
    """``vjepa``, ``pixel`` or ``random_init``."""
    step: int
    path: Path | None
    final: bool
    """The last checkpoint of its run (or random init): these also get the low-shot runs."""

    @property
    def key(self) -> str:
        """The weights probed: the EMA target encoder for V-JEPA (as the official eval), the encoder for pixel."""
        return "target_encoder" if self.method == "vjepa" else "encoder"


def checkpoint_points(run_dir: Path, method: str, final_step: int) -> list[EncoderPoint]:
    """The kept checkpoints ``step_XXXXXXX.pt`` of a run, plus ``latest.pt`` when the last step was not kept."""
    folder = checkpoint_dir(run_dir)
    kept = {int(m.group(1)): p for p in folder.glob("step_*.pt") if (m := re.fullmatch(r"step_(\d+)\.pt", p.name))}
    kept = {s: p for s, p in kept.items() if s <= final_step}
    if final_step not in kept:
        kept[final_step] = folder / "latest.pt"
    return [EncoderPoint(f"{method}_{s:07d}", method, s, p, s == final_step) for s, p in sorted(kept.items())]


def random_point() -> EncoderPoint:
    return EncoderPoint(RANDOM, RANDOM, 0, None, True)


def load_point(point: EncoderPoint, base: PretrainConfig) -> VideoEncoder:
    """The frozen encoder of a point. Random init is the encoder every method starts from: ``pretrain`` seeds the
    global RNG with ``run.seed`` and builds the encoder first, so does this (without touching the caller's RNG)."""
    if point.path is not None:
        return load_frozen_encoder(point.path, key=point.key)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(base.run.seed)
        return build_models(base)[0].eval()


def _probe(train: FeatureSet, val: FeatureSet, n_classes: int, recipe: ProbeRecipe, device, dtype) -> dict:
    result = train_attentive_probe(train, val, n_classes, recipe, device=device, dtype=dtype, progress=False)
    return {**result.metrics, "train_acc": result.history[-1]["train_acc"], "num_train": train.num_samples}


def evaluate_point(encoder: VideoEncoder, cfg: PaperConfig, base: PretrainConfig, *, full: bool, lowshot: bool,
                   split_dir: Path, device: torch.device, dtype: torch.dtype, progress: bool = True,
                   ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Probe one frozen encoder on every task: with all the labels (``full``) and/or low-shot (``lowshot``).

    Returns:
        (full, lowshot): ``{task: {"top1", "top5", "mean_class_acc", "train_acc", "num_classes", "chance", ...}}``
        and ``{task: {str(fraction): {"top1_mean", "top1_std", "per_split", ...}}}``; None where not asked.
    """
    d, p = base.data, cfg.probe
    recipe = ProbeRecipe(epochs=p.epochs, batch_size=p.batch_size, val_every_epoch=False)
    tasks = synthetic_task_features(
        encoder, num_train=p.num_train, num_val=p.num_val, num_frames=d.num_frames, size=d.synthetic.size,
        crop_size=d.crop_size, num_classes=d.synthetic.num_classes, seed=d.synthetic.seed, batch_size=p.batch_size,
        device=device, dtype=dtype, progress=progress)
    full_rows: dict[str, Any] | None = {} if full else None
    low_rows: dict[str, Any] | None = {} if lowshot else None
    for task, (train, val, n_classes) in tasks.items():
        info = {"num_classes": n_classes, "chance": 100.0 / n_classes, "num_val": val.num_samples}
        if full_rows is not None:
            full_rows[task] = {**_probe(train, val, n_classes, recipe, device, dtype), **info}
        if low_rows is not None:
            low_rows[task] = {}
            for fraction in cfg.lowshot.fractions:
                def run(idx, train=train, val=val, n_classes=n_classes):  # noqa: ANN001 - one seeded split
                    row = _probe(train.subset(idx), val, n_classes, recipe, device, dtype)
                    return {"top1": row["top1"], "num_train": float(row["num_train"])}

                summary = lowshot_runs(train.labels, fraction, cfg.lowshot.num_splits, cfg.lowshot.seed, run,
                                       split_file=split_dir / f"{task}_{fraction:g}.json")
                low_rows[task][f"{fraction:g}"] = {**summary, **info}
    return full_rows, low_rows
