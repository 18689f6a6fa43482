"""What ``vjepa surprise`` writes: the per-video CSV rows, the surprise plot under a strip of frames, the
violation-of-expectation table and bar chart."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from vjepa.core.plots import new_figure, save_figure
from vjepa.surprise.score import SurpriseResult
from vjepa.surprise.voe import PropertyAccuracy, VoeReport

CSV_HEADER = ("path", "context_frames", "frame_step", "window", "stride", "num_windows", "mean", "max", "series")
THUMBNAILS = 8


def csv_rows(path: str, result: SurpriseResult) -> list[str]:
    """One CSV line per context length; ``series`` is the window surprises separated by spaces."""
    s = result.settings
    quoted = '"' + path.replace('"', '""') + '"' if any(c in path for c in ',"\n') else path
    return [",".join([quoted, str(series.context_frames), str(s.frame_step), str(s.window), str(s.stride),
                      str(len(series.values)), f"{series.mean:.6g}", f"{series.max:.6g}",
                      " ".join(f"{v:.6g}" for v in series.values.tolist())]) for series in result.series]


def json_entry(path: str, result: SurpriseResult, num_frames: int) -> dict:
    return {"path": path, "num_frames": num_frames, "objective": result.objective,
            "frame_ranges": [list(r) for r in result.frame_ranges],
            "series": {str(s.context_frames): {"mean": s.mean, "max": s.max, "values": s.values.tolist()}
                       for s in result.series}}


def thumbnail_strip(frames: torch.Tensor, count: int = THUMBNAILS) -> tuple[np.ndarray, list[int]]:
    """``count`` evenly spaced frames of a uint8 (T, H, W, 3) clip side by side, and their frame indices."""
    picks = sorted(set(np.linspace(0, frames.shape[0] - 1, min(count, frames.shape[0])).round().astype(int)))
    return np.concatenate([frames[i].numpy() for i in picks], axis=1), picks


def plot_surprise(path: str | os.PathLike, frames: torch.Tensor, result: SurpriseResult, title: str) -> Path:
    """Surprise over time (one line per context length, at each window's last frame) under the frame strip."""
    figure = new_figure(8.0, 4.2)
    strip, picks = thumbnail_strip(frames)
    last = max(frames.shape[0] - 1, 1)
    top = figure.add_axes((0.1, 0.62, 0.86, 0.3))
    top.imshow(strip, extent=(0, last, 0, 1), aspect="auto")  # the strip spans the same frame axis as the plot
    top.set_xticks([(k + 0.5) * last / len(picks) for k in range(len(picks))], [str(i) for i in picks], fontsize=7)
    top.set_yticks([])
    top.set_title(title, fontsize=9)
    bottom = figure.add_axes((0.1, 0.12, 0.86, 0.4))
    ends = [last for _, last in result.frame_ranges]
    for series in result.series:
        bottom.plot(ends, series.values.numpy(), marker=".", label=f"context {series.context_frames} frames")
    bottom.set_xlim(0, last)
    bottom.set_xlabel("frame (last frame of the window)")
    bottom.set_ylabel("surprise (L1)")
    bottom.legend(fontsize=7)
    return save_figure(figure, path)


def voe_table(report: VoeReport, title: str | None = None) -> str:
    """A Markdown table: property, context, n, then accuracy [95 % interval] for the mean and max rules."""
    lines = [title, ""] if title else []
    lines += ["| property | context | n | mean rule % [95 % CI] | max rule % [95 % CI] |", "|---|---:|---:|---|---|"]
    keys = dict.fromkeys((r.property, r.context_frames) for r in report.rows)
    for prop, context in keys:
        cells = [_cell(report.row(prop, context, reduction)) for reduction in ("mean", "max")]
        n = report.row(prop, context, "mean").n
        lines.append(f"| {prop} | {context} | {n} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _cell(row: PropertyAccuracy) -> str:
    return f"{100 * row.accuracy:.1f} [{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}]"


def plot_voe(path: str | os.PathLike, reports: dict[str, VoeReport], context_frames: int | None = None) -> Path:
    """Bar chart: accuracy per property (mean rule solid, max rule hatched), 95 % intervals, one colour per model;
    ``context_frames``: which context length (default: the first scored)."""
    figure = new_figure(8.0, 3.6)
    axes = figure.add_axes((0.08, 0.15, 0.9, 0.72))
    names = list(reports)
    first = next(iter(reports.values()))
    context = context_frames if context_frames is not None else first.rows[0].context_frames
    props = list(dict.fromkeys(r.property for r in first.rows))
    slots = [(name, reduction) for name in names for reduction in ("mean", "max")]
    width = 0.8 / len(slots)
    for k, (name, reduction) in enumerate(slots):
        rows = [reports[name].row(p, context, reduction) for p in props]
        acc = np.array([100 * r.accuracy for r in rows])
        err = np.array([[100 * (r.accuracy - r.ci_low) for r in rows], [100 * (r.ci_high - r.accuracy) for r in rows]])
        x = np.arange(len(props)) - 0.4 + (k + 0.5) * width
        axes.bar(x, acc, width, yerr=err, capsize=2, color=f"C{names.index(name)}",
                 hatch="//" if reduction == "max" else None, alpha=0.6 if reduction == "max" else 1.0,
                 label=f"{name} ({reduction} rule)")
    axes.axhline(50, color="grey", linestyle="--", linewidth=1)
    axes.set_xticks(np.arange(len(props)), props)
    axes.set_ylim(0, 100)
    axes.set_ylabel("accuracy % (95 % CI)")
    axes.set_title(f"violation of expectation, context {context} frames (chance 50 %)", fontsize=9)
    axes.legend(fontsize=7, ncol=2)
    return save_figure(figure, path)


def report_json(report: VoeReport) -> list[dict]:
    return [{"property": r.property, "context_frames": r.context_frames, "rule": r.reduction,
             "accuracy": r.accuracy, "n": r.n, "ci95": [r.ci_low, r.ci_high]} for r in report.rows]


def unique_names(paths: Sequence[str]) -> list[str]:
    """A file-name stem per path, made unique with ``-2``, ``-3`` ... suffixes."""
    seen: dict[str, int] = {}
    names = []
    for p in paths:
        stem = Path(p).stem or "video"
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names
