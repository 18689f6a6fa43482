"""Sample videos on disk (``vjepa data sample``): a few clips of the embedded dataset as ordinary mp4 files with
``train.csv`` / ``val.csv`` lists, so that every command that reads videos can be tried without a download.

Layout of ``out``::

    videos/train_00000.mp4 ...   training clips: items 0 .. n_train - 1 of the embedded dataset
    videos/val_00000.mp4 ...     validation clips: items VAL_OFFSET .. (never the training ones)
    train.csv, val.csv           'path label' lines (the official format, space-separated, no header); the paths
                                 are relative to the CSV's folder, as every vjepa index reads them

The label is the clip's appearance class (shape and texture of the moving object, :func:`class_look`), balanced
on both sides. The clips are H.264 (yuv420p, crf 12) at ``fps`` frames/s, readable by any player; every file is
written atomically, so an interrupted call leaves whole files only.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from vjepa.core.errors import ConfigError
from vjepa.core.io import atomic_write, write_text_atomic
from vjepa.data.synthetic import MAX_APPEARANCE_CLASSES, VAL_OFFSET, class_look, render_clip


def encode_mp4(path: str | os.PathLike, frames: np.ndarray, fps: int = 25) -> Path:
    """Encode uint8 ``(T, H, W, 3)`` RGB frames (H, W even) as an H.264 mp4 (yuv420p, crf 12), atomically."""
    import av

    def encode(tmp: str) -> None:
        with av.open(tmp, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps))
            stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
            stream.options = {"crf": "12", "preset": "veryfast"}
            for array in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
            container.mux(stream.encode())  # flush the encoder

    atomic_write(path, encode)
    return Path(path)


def split_sizes(count: int) -> tuple[int, int]:
    """``(n_train, n_val)`` of ``count`` clips: a quarter (at least 1) for validation, the rest for training."""
    n_val = max(1, count // 4)
    return count - n_val, n_val


def write_sample_clips(out: str | os.PathLike, count: int = 16, size: int = 64, frames: int = 64,
                       num_classes: int = 4, fps: int = 25, seed: int = 0) -> dict:
    """Write ``count`` clips of the embedded dataset and their lists under ``out`` (see the module docstring).

    Args:
        out: Output folder (created; files of an earlier call are replaced).
        count: Clips in all (>= 2): a quarter for ``val.csv``, the rest for ``train.csv``.
        size: Frame side in pixels (even, >= 16).
        frames: Frames per clip (>= 4).
        num_classes: Appearance classes, the labels (1 .. 24).
        fps: Frame rate of the files.
        seed: Seed of the embedded dataset.

    Returns:
        ``{"train_csv", "val_csv", "num_train", "num_val", "num_classes", "classes"}`` (``classes``: the
        ``shape texture`` name of each label).
    """
    if count < 2:
        raise ConfigError(f"count={count}: give at least 2 clips (one for training, one for validation)")
    if size < 16 or size % 2:
        raise ConfigError(f"size={size}: use an even frame side >= 16 (H.264 halves the colour resolution)")
    if frames < 4:
        raise ConfigError(f"frames={frames}: use at least 4 frames per clip")
    if not 1 <= num_classes <= MAX_APPEARANCE_CLASSES or fps < 1 or seed < 0:
        raise ConfigError(f"num_classes={num_classes}, fps={fps}, seed={seed}: use num_classes in "
                          f"1..{MAX_APPEARANCE_CLASSES}, fps >= 1 and seed >= 0")
    folder = Path(out)
    n_train, n_val = split_sizes(count)
    result: dict = {"num_train": n_train, "num_val": n_val, "num_classes": num_classes,
                    "classes": [" ".join(class_look(a)) for a in range(num_classes)]}
    for side, first, n in (("train", 0, n_train), ("val", VAL_OFFSET, n_val)):
        lines = []
        for i in range(n):
            clip = render_clip(seed, first + i, frames, size, num_classes)
            name = f"videos/{side}_{i:05d}.mp4"
            encode_mp4(folder / name, clip["video"].numpy(), fps)
            lines.append(f"{name} {clip['appearance']}\n")
        result[f"{side}_csv"] = str(write_text_atomic(folder / f"{side}.csv", "".join(lines)))
    return result
