"""``vjepa surprise``: the surprise series of videos, or violation-of-expectation accuracy on quadruplets.

* :func:`surprise_videos`: videos (files, folders, CSV lists, as :func:`vjepa.data.index.read_index` reads them)
  -> ``OUT/surprise.csv``, ``OUT/surprise.json``, ``OUT/plots/<name>.png``; unreadable or too-short videos are
  named on stderr and in ``OUT/skipped.txt``, and skipped.
* :func:`surprise_quads`: a quadruplet CSV (:mod:`vjepa.surprise.voe`) -> ``OUT/metrics.json``, ``OUT/voe.png``
  and the Markdown table; any bad movie stops the run with one line naming it, before anything is written.

Frames are resized (short side) to the encoder's ``img_size`` and centre-cropped to a square when they are not
that size already. Settings are checked against the encoder before any video is read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from vjepa.core import formats
from vjepa.core.errors import DataError
from vjepa.core.io import write_json_atomic, write_text_atomic
from vjepa.core.lock import output_lock
from vjepa.core.progress import progress_bar, write_line
from vjepa.core.runtime import resolve_device, resolve_dtype
from vjepa.data.decode import decode_frames, probe_video
from vjepa.data.index import read_index
from vjepa.surprise.report import (
    CSV_HEADER,
    csv_rows,
    json_entry,
    plot_surprise,
    plot_voe,
    report_json,
    unique_names,
    voe_table,
)
from vjepa.surprise.score import SurpriseResult, SurpriseSettings, resolve_settings, score_clip
from vjepa.surprise.voe import VoeReport, accuracy_rows, read_quads_csv, score_movies
from vjepa.weights.predictive import PredictiveModel


def fit_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> uint8 (T, size, size, 3): short side resized to ``size``, centre crop (as is when
    already that size)."""
    _, height, width, _ = frames.shape
    if (height, width) == (size, size):
        return frames
    scale = size / min(height, width)
    new = (max(size, round(height * scale)), max(size, round(width * scale)))
    clip = F.interpolate(frames.permute(0, 3, 1, 2).float(), size=new, mode="bilinear", align_corners=False,
                         antialias=True)  # (T, 3, H', W')
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    clip = clip[:, :, top : top + size, left : left + size]
    return clip.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def read_video(path: str | os.PathLike) -> torch.Tensor:
    """Every frame of a video file, uint8 (T, H, W, 3)."""
    info = probe_video(str(path))
    return torch.as_tensor(decode_frames(str(path), list(range(info.num_frames))))


def list_videos(inputs: Sequence[str | os.PathLike]) -> list[str]:
    """The video paths of every input (file, folder or CSV list), in order, each once."""
    paths: dict[str, None] = {}
    for item in inputs:
        for entry in read_index(os.fspath(item)):
            paths.setdefault(entry.path, None)
    return list(paths)


def prepare(model: PredictiveModel, settings: SurpriseSettings, device: str, dtype: str
            ) -> tuple[SurpriseSettings, torch.dtype]:
    """Checked settings (mask token of the model) and the precision; the model moves to ``device``."""
    settings = resolve_settings(SurpriseSettings(**{**vars(settings), "mask_index": model.mask_index}),
                                model.encoder)
    where = resolve_device(device)
    model.to(where)
    return settings, resolve_dtype(dtype, where)


def score_frames(frames: torch.Tensor, model: PredictiveModel, settings: SurpriseSettings,
                 dtype: torch.dtype = torch.float32) -> SurpriseResult:
    """The surprise of uint8 (T, H, W, 3) frames, resized to the encoder's input size."""
    clip = fit_frames(frames, model.encoder.cfg.img_size)
    return score_clip(clip, model.encoder, model.predictor, model.target_encoder, settings, dtype)


def check_length(num_frames: int, settings: SurpriseSettings) -> None:
    """A DataError when ``num_frames`` frames sampled every ``frame_step`` hold less than one window."""
    sampled = -(-num_frames // settings.frame_step)
    if sampled < settings.window:
        raise DataError(f"{num_frames} frames ({sampled} sampled every {settings.frame_step}) are shorter than one "
                        f"window of {settings.window} sampled frames")


def _settings_json(settings: SurpriseSettings) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(settings).items()}


def surprise_videos(inputs: Sequence[str | os.PathLike], model: PredictiveModel, out_dir: str | os.PathLike,
                    settings: SurpriseSettings = SurpriseSettings(), *, device: str = "auto", dtype: str = "auto",
                    plots: bool = True, progress: bool = True, describe: dict | None = None) -> dict[str, Any]:
    """Score every video of ``inputs``; returns the content of ``surprise.json``.

    Raises:
        ConfigError: bad settings; DataError: a missing input, or no video that could be scored.
    """
    settings, torch_dtype = prepare(model, settings, device, dtype)
    paths = list_videos(inputs)
    out = Path(out_dir)
    with output_lock(out, "surprise run"):
        rows, entries, skipped = [",".join(CSV_HEADER)], [], []
        for path, name in progress_bar(list(zip(paths, unique_names(paths))), enabled=progress, desc="surprise",
                                       unit="video"):
            try:
                frames = fit_frames(read_video(path), model.encoder.cfg.img_size)
                result = score_clip(frames, model.encoder, model.predictor, model.target_encoder, settings,
                                    torch_dtype)
            except DataError as e:
                reason = str(e) if path in str(e) else f"{path}: {e}"
                skipped.append(reason)
                write_line(f"skipped {reason}")
                continue
            rows += csv_rows(path, result)
            entries.append(json_entry(path, result, frames.shape[0]))
            if plots:  # drawn now, so that no video's frames are kept
                plot_surprise(out / "plots" / f"{name}.png", frames, result, Path(path).name)
        if not entries:
            raise DataError(f"no video could be scored ({len(skipped)} skipped); first: {skipped[0]}" if skipped
                            else "no videos to score")
        summary = {"format": formats.SURPRISE, "objective": model.objective, "model": describe or {},
                   "settings": _settings_json(settings), "videos": entries, "skipped": skipped}
        write_text_atomic(out / "surprise.csv", "\n".join(rows) + "\n")
        if skipped:
            write_text_atomic(out / "skipped.txt", "\n".join(skipped) + "\n")
        elif (out / "skipped.txt").is_file():
            (out / "skipped.txt").unlink()  # from an earlier run into the same folder
        write_json_atomic(out / "surprise.json", summary)
    return summary


def score_quads_csv(csv_path: str | os.PathLike, model: PredictiveModel, settings: SurpriseSettings,
                    dtype: torch.dtype = torch.float32, progress: bool = False) -> VoeReport:
    """Decode and score every quadruplet of a CSV; a movie that cannot be read or scored stops with a one-line
    DataError naming it and the CSV line."""
    entries = read_quads_csv(csv_path)
    scores = []
    for line, entry in enumerate(progress_bar(entries, enabled=progress, desc="quadruplets", unit="quad"), start=2):
        clips = []
        for movie in entry.paths:
            try:
                clips.append(fit_frames(read_video(movie), model.encoder.cfg.img_size))
                check_length(clips[-1].shape[0], settings)
            except DataError as e:
                raise DataError(f"{csv_path}:{line}: movie {movie}: {e}") from None
        try:
            scores.append(score_movies(entry.property, clips, model.encoder, model.predictor, model.target_encoder,
                                       settings, dtype))
        except DataError as e:
            raise DataError(f"{csv_path}:{line}: {e}") from None
    if not scores:
        raise DataError(f"{csv_path}: no quadruplets listed")
    return VoeReport(accuracy_rows(scores), tuple(scores))


def surprise_quads(csv_path: str | os.PathLike, model: PredictiveModel, out_dir: str | os.PathLike,
                   settings: SurpriseSettings = SurpriseSettings(), *, device: str = "auto", dtype: str = "auto",
                   progress: bool = True, describe: dict | None = None, label: str = "model") -> tuple[VoeReport, str]:
    """Violation-of-expectation accuracy of ``model`` on the quadruplets of ``csv_path``; writes
    ``OUT/metrics.json`` and ``OUT/voe.png`` (only once every quadruplet is scored) and returns the report and
    its Markdown table."""
    settings, torch_dtype = prepare(model, settings, device, dtype)
    read_quads_csv(csv_path)  # every line checked before the lock and any decoding
    out = Path(out_dir)
    with output_lock(out, "surprise run"):
        report = score_quads_csv(csv_path, model, settings, torch_dtype, progress)
        table = voe_table(report, f"Violation of expectation ({label}), accuracy %:")
        plot_voe(out / "voe.png", {label: report})
        write_json_atomic(out / "metrics.json", {
            "format": formats.VOE, "quads": str(csv_path), "objective": model.objective, "model": describe or {},
            "settings": _settings_json(settings), "rows": report_json(report)})
    return report, table
