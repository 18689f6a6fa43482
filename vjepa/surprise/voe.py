"""Violation of expectation: is a model more surprised by the impossible movies of a quadruplet?

A quadruplet (possible A, possible B, impossible C, impossible D) is right when S(A) + S(B) < S(C) + S(D), with S
a movie's mean window surprise (``mean``) or its largest one (``max``); an exact tie counts one half, so a score
that cannot tell the sides apart gets 50 %. Per property, context length and reduction the report gives the
accuracy, the number of quadruplets n and the 95 % Wilson score interval.

Only the mean rule is balanced by the IntPhys construction: the four movies hold the same frames, so any score
that adds up per-frame (or per-window, up to the windows crossing the break) contributions ties. The max rule is
not: where the two halves of the possible movies differ in content (permanence: A shows the object in both halves,
B in none), max(C) + max(D) = 2 max(A, B) >= max(A) + max(B) for any surprise that grows with content, so even an
untrained model scores above chance there (measured: about 80 % on permanence). Read max accuracies against a
random-model baseline.

The quadruplets come from a CSV (``property,possible_a,possible_b,impossible_c,impossible_d,break_frame``, movie
paths relative to the CSV's folder; what :func:`vjepa.data.physics_files.write_quadruplets` writes) or from
memory (:func:`score_quadruplets`).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from vjepa.core.errors import DataError
from vjepa.core.progress import progress_bar
from vjepa.data.decode import decode_frames, probe_video
from vjepa.models.encoder import VideoEncoder
from vjepa.surprise.score import SurpriseSettings, score_clip

CSV_COLUMNS = ("property", "possible_a", "possible_b", "impossible_c", "impossible_d", "break_frame")
REDUCTIONS = ("mean", "max")
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class QuadEntry:
    property: str
    paths: tuple[Path, Path, Path, Path]
    """Possible A, possible B, impossible C, impossible D."""
    break_frame: int


@dataclass(frozen=True)
class QuadScores:
    property: str
    context_frames: tuple[int, ...]
    mean: torch.Tensor
    """(4, num_contexts) mean window surprise of A, B, C, D."""
    max: torch.Tensor
    """(4, num_contexts) largest window surprise of A, B, C, D."""


@dataclass(frozen=True)
class PropertyAccuracy:
    property: str
    context_frames: int
    reduction: str
    accuracy: float
    n: int
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class VoeReport:
    rows: tuple[PropertyAccuracy, ...]
    quads: tuple[QuadScores, ...]

    def row(self, property: str, context_frames: int, reduction: str = "mean") -> PropertyAccuracy:
        for r in self.rows:
            if (r.property, r.context_frames, r.reduction) == (property, context_frames, reduction):
                return r
        raise KeyError(f"no row for {property!r}, context {context_frames}, {reduction}")


def read_quads_csv(path: str | os.PathLike) -> list[QuadEntry]:
    """The quadruplets listed in a CSV; one-line DataErrors name the file and line of any problem."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: quadruplet CSV not found")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(c.strip() for c in rows[0]) != CSV_COLUMNS:
        raise DataError(f"{path}:1: the header must be {','.join(CSV_COLUMNS)}")
    entries = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue  # blank lines
        if len(row) != len(CSV_COLUMNS):
            raise DataError(f"{path}:{line}: {len(row)} columns, expected {len(CSV_COLUMNS)} ({','.join(CSV_COLUMNS)})")
        prop, *movies, brk = (c.strip() for c in row)
        try:
            break_frame = int(brk)
        except ValueError:
            raise DataError(f"{path}:{line}: break_frame {brk!r} is not an integer") from None
        paths = tuple(path.parent / m for m in movies)
        for p in paths:
            if not p.is_file():
                raise DataError(f"{path}:{line}: movie {p} not found")
        entries.append(QuadEntry(prop, paths, break_frame))
    return entries


def quad_outcome(possible: float, impossible: float) -> float:
    """1 when the possible pair is less surprising, 0.5 for a tie, 0 otherwise."""
    return 1.0 if possible < impossible else 0.5 if possible == impossible else 0.0


def wilson_interval(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (successes may be fractional: ties count one half)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def accuracy_rows(quads: Sequence[QuadScores]) -> tuple[PropertyAccuracy, ...]:
    """Accuracy per property (in first-seen order), context length and reduction."""
    rows = []
    for prop in dict.fromkeys(q.property for q in quads):
        group = [q for q in quads if q.property == prop]
        for k, context in enumerate(group[0].context_frames):
            for reduction in REDUCTIONS:
                right = 0.0
                for q in group:
                    s = getattr(q, reduction)[:, k].double()  # (4,) A, B, C, D
                    right += quad_outcome(float(s[0] + s[1]), float(s[2] + s[3]))
                low, high = wilson_interval(right, len(group))
                rows.append(PropertyAccuracy(prop, context, reduction, right / len(group), len(group), low, high))
    return tuple(rows)


def score_movies(prop: str, clips: Sequence, encoder: VideoEncoder, predictor: torch.nn.Module,
                 target_encoder: VideoEncoder | None, settings: SurpriseSettings, dtype: torch.dtype) -> QuadScores:
    """Surprise of the four clips (A, B, C, D) of one quadruplet."""
    results = [score_clip(clip, encoder, predictor, target_encoder, settings, dtype) for clip in clips]
    contexts = results[0].settings.context_frames
    mean = torch.tensor([[r.mean[c] for c in contexts] for r in results])  # (4, num_contexts)
    peak = torch.tensor([[r.max[c] for c in contexts] for r in results])  # (4, num_contexts)
    return QuadScores(prop, contexts, mean, peak)


def score_quadruplets(quads: Iterable[tuple[str, Sequence]], encoder: VideoEncoder, predictor: torch.nn.Module,
                      target_encoder: VideoEncoder | None = None, settings: SurpriseSettings = SurpriseSettings(),
                      dtype: torch.dtype = torch.float32, progress: bool = False) -> VoeReport:
    """Score in-memory quadruplets: ``(property, (clip_a, clip_b, clip_c, clip_d))`` pairs, clips as for
    :func:`~vjepa.surprise.score.score_clip`."""
    scores = [score_movies(prop, clips, encoder, predictor, target_encoder, settings, dtype)
              for prop, clips in progress_bar(quads, enabled=progress, desc="surprise", unit="quad")]
    if not scores:
        raise DataError("no quadruplets to score")
    return VoeReport(accuracy_rows(scores), tuple(scores))


def _load(path: Path) -> torch.Tensor:
    info = probe_video(str(path))
    return torch.as_tensor(decode_frames(str(path), list(range(info.num_frames))))  # (T, H, W, 3) uint8


def evaluate_quads_csv(csv_path: str | os.PathLike, encoder: VideoEncoder, predictor: torch.nn.Module,
                       target_encoder: VideoEncoder | None = None, settings: SurpriseSettings = SurpriseSettings(),
                       dtype: torch.dtype = torch.float32, progress: bool = False) -> VoeReport:
    """Decode and score every quadruplet of a CSV (frames as stored: resize them to a multiple of the patch
    size when writing)."""
    entries = read_quads_csv(csv_path)
    loaded = ((e.property, [_load(p) for p in e.paths]) for e in entries)
    return score_quadruplets(loaded, encoder, predictor, target_encoder, settings, dtype, progress)
