"""The demo's probe table: frozen encoders probed on the embedded synthetic dataset (no download).

For every encoder, the clips of two disjoint index ranges of :class:`~vjepa.data.synthetic.SyntheticVideos` --
train ``[0, num_train)``, val ``[VAL_OFFSET, VAL_OFFSET + num_val)`` -- are cut with the deterministic eval
transform (1 view, centre crop) and encoded **once**; the same cached tokens then train one attentive probe per
task: ``motion`` (4 turn classes, needs temporal reasoning) and ``appearance`` (shape × texture classes). Because
the transform is deterministic and augmentation is off, the cache equals the on-the-fly protocol (see
:mod:`vjepa.eval.features`). Both label sets are balanced, so chance is 100 / C.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from vjepa.core.errors import ConfigError
from vjepa.data.synthetic import MOTIONS, VAL_OFFSET, SyntheticVideos, clip_labels
from vjepa.data.transforms import EvalVideoTransform
from vjepa.eval.features import FeatureSet, extract_features
from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe
from vjepa.models.encoder import VideoEncoder

TASKS = ("motion", "appearance")


class _EvalClips(Dataset):
    """Synthetic items ``indices`` as ``{"clips": [[view]], "label": appearance}`` (1 segment × 1 view)."""

    def __init__(self, videos: SyntheticVideos, indices: range, transform: EvalVideoTransform) -> None:
        self.videos, self.indices, self.transform = videos, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.videos[self.indices[i]]
        return {"clips": [self.transform(item["video"])], "label": item["appearance"]}


def _task_labels(indices: range, num_classes: int) -> dict[str, torch.Tensor]:
    """Both labels of every index, from the pure label function (no rendering)."""
    pairs = torch.tensor([clip_labels(i, num_classes) for i in indices], dtype=torch.long).reshape(-1, 2)
    return {"appearance": pairs[:, 0], "motion": pairs[:, 1]}


def _check_sizes(num_train: int, num_val: int) -> None:
    if not 1 <= num_train <= VAL_OFFSET or num_val < 1:
        raise ConfigError(f"synthetic probe num_train {num_train} must be in 1..{VAL_OFFSET} and num_val "
                          f"{num_val} >= 1")


def synthetic_task_features(
    encoder: VideoEncoder, *, num_train: int = 512, num_val: int = 256, num_frames: int = 16, size: int = 64,
    crop_size: int = 64, num_classes: int = 4, seed: int = 0, batch_size: int = 16,
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, progress: bool = True,
) -> dict[str, tuple[FeatureSet, FeatureSet, int]]:
    """Encode the train and val clips **once** with the frozen ``encoder`` and label the tokens for every task.

    Arguments as for :func:`synthetic_probe_table`.

    Returns:
        Task (each of :data:`TASKS`) -> (train features, val features, number of classes); the FeatureSets of
        all tasks share the same tokens.
    """
    _check_sizes(num_train, num_val)
    videos = SyntheticVideos(VAL_OFFSET + num_val, num_frames=num_frames, size=size, num_classes=num_classes,
                             seed=seed)
    transform = EvalVideoTransform(crop_size, num_views=1)
    splits = {"train": range(num_train), "val": range(VAL_OFFSET, VAL_OFFSET + num_val)}
    labels = {name: _task_labels(idx, num_classes) for name, idx in splits.items()}
    classes = {"motion": len(MOTIONS), "appearance": num_classes}
    feats: dict[str, FeatureSet] = {}
    for split, idx in splits.items():
        loader = DataLoader(_EvalClips(videos, idx, transform), batch_size=batch_size, shuffle=False)
        feats[split] = extract_features(encoder, loader, device=device, dtype=dtype, progress=progress)
    return {task: (feats["train"].with_labels(labels["train"][task]), feats["val"].with_labels(labels["val"][task]),
                   classes[task]) for task in TASKS}


def synthetic_probe_table(
    encoders: Mapping[str, VideoEncoder], *, num_train: int = 512, num_val: int = 256, num_frames: int = 16,
    size: int = 64, crop_size: int = 64, num_classes: int = 4, seed: int = 0, recipe: ProbeRecipe | None = None,
    batch_size: int = 16, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Probe every encoder on both synthetic tasks.

    Args:
        encoders: Name -> frozen encoder (e.g. ``{"random init": ..., "pretrained": ...}``).
        num_train, num_val: Clips per split.
        num_frames, size: Clip length and frame side of the generated videos.
        crop_size: Side of the eval crop fed to the encoder (1 view: short side resized to ⌊crop·256/224⌋).
        num_classes: Appearance classes of the dataset.
        seed: Dataset seed.
        recipe: Probe optimisation (default: the official recipe, 20 epochs).
        batch_size: Clips per feature-extraction batch.
        device, dtype: Where and in which precision the encoders and probes run.
        progress: tqdm bars.

    Returns:
        One row per (encoder, task): ``encoder``, ``task``, ``num_classes``, ``chance``, ``top1``, ``top5``,
        ``mean_class_acc``, ``train_acc`` (last epoch), ``num_train``, ``num_val``.
    """
    _check_sizes(num_train, num_val)
    recipe = recipe or ProbeRecipe()
    rows = []
    for enc_name, encoder in encoders.items():
        tasks = synthetic_task_features(  # encoded once per encoder; both tasks reuse the tokens
            encoder, num_train=num_train, num_val=num_val, num_frames=num_frames, size=size, crop_size=crop_size,
            num_classes=num_classes, seed=seed, batch_size=batch_size, device=device, dtype=dtype, progress=progress)
        for task, (train, val, n_classes) in tasks.items():
            result = train_attentive_probe(train, val, n_classes, recipe, device=device, dtype=dtype,
                                           progress=progress)
            rows.append({"encoder": enc_name, "task": task, "num_classes": n_classes, "chance": 100.0 / n_classes,
                         **result.metrics, "train_acc": result.history[-1]["train_acc"], "num_train": num_train,
                         "num_val": num_val})
    return rows


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Markdown table of top-1 accuracies: one row per encoder, one column per task, then a chance row."""
    encoders = list(dict.fromkeys(r["encoder"] for r in rows))
    tasks = [t for t in TASKS if any(r["task"] == t for r in rows)]
    tasks += [t for t in dict.fromkeys(r["task"] for r in rows) if t not in tasks]
    cell = {(r["encoder"], r["task"]): r for r in rows}
    lines = ["| encoder | " + " | ".join(f"{t} top-1" for t in tasks) + " |",
             "|---|" + "---:|" * len(tasks)]
    for enc in encoders:
        values = [f"{cell[enc, t]['top1']:.1f}" if (enc, t) in cell else "" for t in tasks]
        lines.append(f"| {enc} | " + " | ".join(values) + " |")
    chance = [next((f"{r['chance']:.1f}" for r in rows if r["task"] == t and "chance" in r), "") for t in tasks]
    lines.append("| (chance) | " + " | ".join(chance) + " |")
    return "\n".join(lines)
