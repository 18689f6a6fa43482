"""Low-shot evaluation: probes trained on a stratified fraction (e.g. 5 / 10 / 50 %) of the training labels.

Splits are indices into the **training** set only, so they are disjoint from validation by construction; an
``exclude`` set (e.g. a held-out part carved from the same pool) is never drawn either. Class c with n_c usable
samples contributes ``k_c = min(n_c, max(1, floor(fraction · n_c + 0.5)))`` samples (round half up; at least one
per class so no class disappears). Within a class the order is a permutation seeded by (seed, c), and the split
takes its first k_c entries: for one seed the 5 % split is contained in the 10 % split, which is contained in the
50 % split, and adding or removing another class never changes a class's draw. Several splits use seeds
``seed, seed + 1, ...``; results are reported as mean ± sample standard deviation over the splits. The split files
(JSON or CSV of indices) make any result re-runnable.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vjepa.core import formats
from vjepa.core.errors import ConfigError, DataError
from vjepa.core.io import write_text_atomic

FORMAT = formats.LOWSHOT_SPLITS


def stratified_subset(labels: Sequence[int] | np.ndarray, fraction: float, seed: int,
                      exclude: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """A seeded, class-stratified subset of positions into ``labels``.

    Args:
        labels: ``(N,)`` non-negative integer class of every training sample.
        fraction: In (0, 1]: the share of each class to keep (rounded half up, at least 1).
        seed: Non-negative split seed.
        exclude: Positions never to draw (e.g. a validation hold-out from the same pool).

    Returns:
        Sorted int64 positions ``(K,)``.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"low-shot fraction {fraction} must be in (0, 1] (e.g. 0.05 for 5 %)")
    if seed < 0:
        raise ConfigError(f"low-shot seed {seed} must be >= 0")
    if labels.size and labels.min() < 0:
        raise DataError(f"labels must be non-negative class indices, got {labels.min()}")
    usable = np.ones(labels.size, dtype=bool)
    if exclude is not None:
        usable[np.asarray(exclude, dtype=np.int64)] = False
    chosen = []
    for c in np.unique(labels[usable]):
        members = np.flatnonzero(usable & (labels == c))  # ascending positions: the draw ignores input order
        k = min(members.size, max(1, math.floor(fraction * members.size + 0.5)))
        rng = np.random.default_rng(np.random.SeedSequence([seed, int(c)]))
        chosen.append(members[rng.permutation(members.size)[:k]])
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def make_splits(labels: Sequence[int] | np.ndarray, fraction: float, num_splits: int, seed: int = 0,
                exclude: Sequence[int] | np.ndarray | None = None) -> list[np.ndarray]:
    """``num_splits`` stratified subsets with seeds ``seed, seed + 1, ...`` (see :func:`stratified_subset`)."""
    if num_splits < 1:
        raise ConfigError(f"low-shot num_splits {num_splits} must be >= 1")
    return [stratified_subset(labels, fraction, seed + i, exclude) for i in range(num_splits)]


def write_splits(path: str | os.PathLike, splits: Sequence[np.ndarray], meta: dict[str, Any]) -> Path:
    """Write splits as JSON (``{"format", "meta", "splits": [[i, ...], ...]}``) or, for a ``.csv`` path, as rows
    ``split,index`` after one ``# {meta JSON}`` comment line."""
    path = Path(path)
    rows = [[int(i) for i in s] for s in splits]
    if path.suffix.lower() == ".csv":
        text = io.StringIO(newline="")
        text.write("# " + json.dumps({"format": FORMAT, **meta}) + "\n")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["split", "index"])
        writer.writerows([s, i] for s, row in enumerate(rows) for i in row)
        return write_text_atomic(path, text.getvalue())
    return write_text_atomic(path, json.dumps({"format": FORMAT, "meta": meta, "splits": rows}) + "\n")


def read_splits(path: str | os.PathLike) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Read a file of :func:`write_splits`: ``(splits, meta)``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such split file")
    try:
        if path.suffix.lower() == ".csv":
            lines, meta = path.read_text().splitlines(), {}
            if lines and lines[0].startswith("#"):
                meta, lines = json.loads(lines[0][1:]), lines[1:]
                meta.pop("format", None)
            rows = [r for r in csv.reader(lines) if r]
            if not rows or rows[0] != ["split", "index"]:
                raise ValueError("missing the 'split,index' header")
            splits = [[] for _ in range(max((int(s) for s, _ in rows[1:]), default=-1) + 1)]
            for s, i in rows[1:]:
                splits[int(s)].append(int(i))
        else:
            data = json.loads(path.read_text())
            if formats.canonical(data.get("format")) != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            meta, splits = data.get("meta", {}), data["splits"]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise DataError(f"{path}: not a low-shot split file ({e}); rewrite it with write_splits") from None
    return [np.asarray(s, dtype=np.int64) for s in splits], meta


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0.0 for a single value)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise DataError("mean_std of no values")
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else 0.0


def lowshot_runs(labels: Sequence[int] | np.ndarray, fraction: float, num_splits: int, seed: int,
                 run: Callable[[np.ndarray], dict[str, float]], split_file: str | os.PathLike | None = None,
                 ) -> dict[str, Any]:
    """Run ``run(train_positions) -> metrics`` on every split and summarise.

    Returns:
        ``{"fraction", "num_splits", "per_split": [metrics, ...], "<metric>_mean", "<metric>_std", ...}``; the
        splits are written to ``split_file`` first when given.
    """
    splits = make_splits(labels, fraction, num_splits, seed)
    if split_file is not None:
        write_splits(split_file, splits, {"fraction": fraction, "seed": seed, "num_train": len(labels)})
    per_split = [run(s) for s in splits]
    summary: dict[str, Any] = {"fraction": fraction, "num_splits": num_splits, "per_split": per_split}
    for key in per_split[0]:
        summary[f"{key}_mean"], summary[f"{key}_std"] = mean_std([m[key] for m in per_split])
    return summary
