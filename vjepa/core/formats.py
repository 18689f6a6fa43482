"""Every format tag the package writes or reads, in one place and one style: ``vjepa-<thing>/<version>``.

A tag goes in the ``format`` entry of a file's metadata (a ``config.json``, a ``torch.save`` dict, a manifest).
Readers compare with these constants (or call :func:`check_format`); bumping a version is a one-line change here.
"""

from __future__ import annotations

import os
from typing import Any

from vjepa.core.errors import CheckpointError


def tag(thing: str, version: int) -> str:
    """``vjepa-<thing>/<version>``."""
    return f"vjepa-{thing}/{version}"


EXPORT = tag("export", 1)
"""Our export folder: ``config.json`` + ``model.safetensors`` (``vjepa pretrain`` → ``OUT/export``, ``vjepa convert``)."""
TRAIN_CHECKPOINT = tag("train-checkpoint", 1)
"""A pretraining checkpoint (``OUT/checkpoints/*.pt``)."""
FINETUNE_CHECKPOINT = tag("finetune-checkpoint", 1)
"""A fine-tuning checkpoint (``vjepa finetune`` → ``OUT/checkpoints/*.pt``)."""
FINETUNE_EXPORT = tag("finetune-export", 1)
"""A fine-tuned model folder (``vjepa finetune`` → ``OUT/model``)."""
EVAL_PROBE = tag("eval-probe", 1)
"""The attentive probe folder ``vjepa eval`` writes (``OUT/probe``)."""
EXTRACT = tag("extract", 1)
"""Per-video features of ``vjepa extract``."""
FRAME_CACHE = tag("frame-cache", 1)
"""A decoded-frame cache folder's ``manifest.json``."""
EXPERIMENT_PAPER = tag("experiment-paper", 1)
"""The results table of ``vjepa experiment paper``."""
SURPRISE = tag("surprise", 1)
"""Per-video surprise series of ``vjepa surprise`` (``OUT/surprise.json``)."""
VOE = tag("voe", 1)
"""Violation-of-expectation accuracies of ``vjepa surprise --quads`` (``OUT/metrics.json``)."""
WORLD_MODEL = tag("world-model", 1)
"""A trained world model (``vjepa world train`` -> ``OUT/export``: AC predictor and encoder source)."""
WORLD_CHECKPOINT = tag("world-checkpoint", 1)
"""A world-model training checkpoint (``OUT/checkpoints/latest.pt``)."""
FEATURES = tag("features", 1)
"""A cached feature file of ``vjepa eval --cache-dir``."""
LOWSHOT_SPLITS = tag("lowshot-splits", 1)
"""The seeded low-shot splits ``vjepa eval --label-fraction`` writes (``OUT/splits.json``)."""

LEGACY = {"vjepa-features-v1": FEATURES, "vjepa-lowshot-splits-v1": LOWSHOT_SPLITS}
"""Tags written by earlier releases, read as the current tag they mean."""


def canonical(found: Any) -> Any:
    """The current tag for ``found`` (a legacy spelling maps to its current tag; anything else is unchanged)."""
    return LEGACY.get(found, found) if isinstance(found, str) else found


def check_format(found: Any, expected: str, where: str | os.PathLike) -> None:
    """Raise a one-line :class:`CheckpointError` naming ``where``, the tag found and the tag expected."""
    if canonical(found) != expected:
        shown = repr(found) if found is not None else "no format tag"
        raise CheckpointError(f"{where}: format is {shown}, expected {expected!r}")
