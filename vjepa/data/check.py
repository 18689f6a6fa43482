"""Which files of a dataset decode, what they hold, and how they would be sampled (``vjepa data check``,
:mod:`vjepa.cli.data`).

Each file is opened, its header read, and its first and last frames decoded (seeking, so long videos are cheap):
a missing, empty, non-video, unreadable or truncated file is unusable. For usable videos the report gives the
frame count, frame rate, duration, size, codec and container, and whether a clip of ``frames_per_clip`` frames
at ``frame_step`` fits (else the official sampler pads it, and ``filter_short_videos`` would skip it). The exit
code is 0 when every file is usable, 1 otherwise (2 for a bad argument, from the CLI).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TextIO

from vjepa.core.errors import DataError
from vjepa.core.progress import progress_bar
from vjepa.data.decode import decode_frames, load_image, probe_video
from vjepa.data.index import is_image, is_media, read_index

INDEX_SUFFIXES = (".csv", ".txt", ".tsv", ".lst")


@dataclass
class FileReport:
    """The check result of one file (``error`` is None exactly when ``ok``)."""

    path: str
    ok: bool
    error: str | None = None
    kind: str = "video"
    num_frames: int = 0
    fps: float = 0.0
    duration_s: float = 0.0
    width: int = 0
    height: int = 0
    codec: str = ""
    container: str = ""
    clip_span: int = 0
    frames_estimated: bool = False

    @property
    def short(self) -> bool:
        """The video is too short for one clip: padded by the official sampler, skipped when filtered."""
        return self.ok and self.kind == "video" and self.num_frames < self.clip_span

    @property
    def sampling(self) -> str:
        """How the sampler would treat the file."""
        if not self.ok:
            return "unusable"
        if self.kind == "image":
            return "image: repeated to a clip"
        if self.short:
            return (f"short: {self.num_frames} < {self.clip_span} frames, padded with the last frame "
                    "(skipped with filter_short_videos)")
        return "ok"


def check_file(path: str, frames_per_clip: int = 16, frame_step: int = 4, timeout_s: float = 30.0) -> FileReport:
    """Check one video or image file (never raises for a bad file; see :class:`FileReport`)."""
    span = frames_per_clip * frame_step
    try:
        if is_image(path):
            image = load_image(path, timeout_s)
            return FileReport(path, True, kind="image", num_frames=1, height=image.shape[0], width=image.shape[1],
                              clip_span=span)
        info = probe_video(path, timeout_s)
        decode_frames(path, [0], timeout_s=timeout_s)
        # The last frame the header promises: catches files cut off at the end, at the price of one seek.
        decode_frames(path, [info.num_frames - 1], timeout_s=timeout_s)
        return FileReport(path, True, num_frames=info.num_frames, fps=info.fps, duration_s=info.duration_s,
                          width=info.width, height=info.height, codec=info.codec, container=info.container,
                          clip_span=span, frames_estimated=info.frames_estimated)
    except DataError as e:
        message = str(e)
        return FileReport(path, False, message[len(path) + 2:] if message.startswith(path + ": ") else message)
    except Exception as e:  # a decoder bug must not stop a check of thousands of files
        return FileReport(path, False, f"unexpected {type(e).__name__}: {e}")


def check_files(paths: list[str], frames_per_clip: int = 16, frame_step: int = 4, workers: int = 0,
                progress: bool = True, timeout_s: float = 30.0) -> list[FileReport]:
    """Check many files, optionally in worker processes.

    Args:
        paths: Video or image files.
        frames_per_clip: Frames per clip, for the short-video verdict.
        frame_step: Frame step, for the short-video verdict.
        workers: Worker processes (0: check in this process).
        progress: Show a tqdm progress bar (on stderr).
        timeout_s: Time bound per decode call.

    Returns:
        One :class:`FileReport` per path, in the order given.
    """
    one = partial(check_file, frames_per_clip=frames_per_clip, frame_step=frame_step, timeout_s=timeout_s)
    bar = progress_bar(total=len(paths), desc="checking", unit="file", enabled=progress)
    reports: list[FileReport] = []
    with bar:
        if workers > 0 and len(paths) > 1:
            # fork: workers inherit the imports (spawn would re-import torch in each, seconds on a small CPU).
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            with multiprocessing.get_context(method).Pool(min(workers, len(paths))) as pool:
                for report in pool.imap(one, paths, chunksize=1):
                    reports.append(report)
                    bar.update()
        else:
            for path in paths:
                reports.append(one(path))
                bar.update()
    return reports


def _fmt(report: FileReport) -> str:
    if not report.ok:
        return f"FAIL  {report.path}: {report.error}"
    if report.kind == "image":
        return f"ok    {report.path}: image {report.width}x{report.height}"
    frames = f"~{report.num_frames}" if report.frames_estimated else str(report.num_frames)
    text = (f"ok    {report.path}: {frames} frames, {report.fps:.3g} fps, {report.duration_s:.2f} s, "
            f"{report.width}x{report.height}, {report.codec}/{report.container.split(',')[0]}")
    return text + (f"; {report.sampling}" if report.short else "")


def print_report(reports: list[FileReport], file: TextIO | None = None) -> int:
    """Print one line per file, a summary, and the unusable files by name.

    Returns:
        The exit code: 0 when every file is usable, 1 otherwise.
    """
    out = file or sys.stdout
    for report in reports:
        print(_fmt(report), file=out)
    bad = [r for r in reports if not r.ok]
    short = sum(r.short for r in reports)
    images = sum(r.ok and r.kind == "image" for r in reports)
    print(f"\nchecked {len(reports)} files: {len(reports) - len(bad)} usable, {len(bad)} unusable (usable: {images} "
          f"images, {short} videos shorter than one clip)", file=out)
    if bad:
        print("unusable files:", file=out)
        for report in bad:
            print(f"  {report.path}: {report.error}", file=out)
    return 1 if bad else 0


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files named by the INDEX arguments: folders and index files (``.csv``, ``.txt``, ``.tsv``, ``.lst``) are
    read, every other path is a file to check (a missing media file is reported by the check, not here).

    Raises:
        DataError: an argument that is neither an existing path nor a video/image file name (a missing index or
            folder), or an index that cannot be read -- one line, exit 2 from the CLI.
    """
    paths: list[str] = []
    for item in inputs:
        missing_index = not os.path.exists(item) and not is_media(item)
        if missing_index or os.path.isdir(item) or Path(item).suffix.lower() in INDEX_SUFFIXES:
            try:
                paths.extend(entry.path for entry in read_index(item))  # DataError for a missing or bad index
            except OSError as e:
                raise DataError(f"{item}: cannot read the index ({e.strerror or e}); check its permissions") from None
        else:
            paths.append(item)
    return paths
