"""Writing physics quadruplets to disk: one H.264 mp4 per movie and a CSV listing the quadruplets.

The movies are encoded losslessly (``libx264rgb``, qp 0: H.264 High 4:4:4 in RGB), so the decoded frames are the
rendered ones and the frame balance of the quadruplets holds for the files too. The CSV has the header
``property,possible_a,possible_b,impossible_c,impossible_d,break_frame``; paths are relative to its folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import torch

from vjepa.core.io import atomic_write, write_text_atomic
from vjepa.data.physics import Quadruplet

CSV_HEADER = ("property", "possible_a", "possible_b", "impossible_c", "impossible_d", "break_frame")
CSV_NAME = "quadruplets.csv"


def write_mp4(path: str | os.PathLike, video: torch.Tensor, fps: int = 25) -> Path:
    """Encode (T, H, W, 3) uint8 frames (H, W even) as a lossless H.264 mp4, atomically."""
    import av

    def encode(tmp: str) -> None:
        with av.open(tmp, "w", format="mp4") as container:
            stream = container.add_stream("libx264rgb", rate=fps)
            stream.width, stream.height, stream.pix_fmt = video.shape[2], video.shape[1], "rgb24"
            stream.options = {"qp": "0", "preset": "veryfast"}
            for frame in video.numpy():
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())

    atomic_write(path, encode)
    return Path(path)


def write_quadruplets(folder: str | os.PathLike, quads: Iterable[Quadruplet], fps: int = 25) -> Path:
    """Write every movie as ``PROPERTY/INDEX_{a,b,c,d}.mp4`` under ``folder`` and the CSV; returns the CSV path."""
    folder = Path(folder)
    lines = [",".join(CSV_HEADER)]
    for quad in quads:
        names = [f"{quad.property}/{quad.index:05d}_{tag}.mp4" for tag in "abcd"]
        for name, movie in zip(names, quad.movies):
            write_mp4(folder / name, movie.video, fps)
        lines.append(",".join([quad.property, *names, str(quad.break_frame)]))
    return write_text_atomic(folder / CSV_NAME, "\n".join(lines) + "\n")
