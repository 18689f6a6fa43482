"""Tiny labelled media for the evaluation and fine-tuning tests: videos + CSVs, image class folders, an export."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import torch

from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.weights.io import save_modules

TINY = EncoderConfig(embed_dim=48, depth=2, num_heads=2, num_frames=8, img_size=32)


def frames(label: int, seed: int, n: int = 16, size: int = 32) -> list[np.ndarray]:
    """A grey background with a moving square: bright for class 0, dark for class 1."""
    start = np.random.default_rng(seed).integers(0, size - 8, 2)
    out = []
    for t in range(n):
        a = np.full((size, size, 3), 128, np.uint8)
        y, x = start[0], (start[1] + t) % (size - 8)
        a[y:y + 8, x:x + 8] = 250 if label == 0 else 5
        out.append(a)
    return out


def write_media(path: Path, arrays: list[np.ndarray]) -> Path:
    """An H.264 video, or a PNG for a single frame, with PyAV."""
    image = path.suffix == ".png"
    with av.open(str(path), "w", **({"format": "image2"} if image else {})) as container:
        stream = container.add_stream("png" if image else "libx264", **({} if image else {"rate": 25}))
        stream.width, stream.height = arrays[0].shape[1], arrays[0].shape[0]
        stream.pix_fmt = "rgb24" if image else "yuv420p"
        if not image:
            stream.options = {"preset": "ultrafast"}
        for a in arrays:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")))
        container.mux(stream.encode())
    return path


def make_dataset(root: Path) -> dict[str, Path]:
    """Videos + CSVs (official format, relative paths), image class folders, and a tiny encoder export."""
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, per_class in (("train", 6), ("val", 3)):
        lines = []
        for i in range(2 * per_class):
            name = f"{split}_{i}.mp4"
            write_media(root / name, frames(i % 2, seed=hash((split, i)) % 1000))
            lines.append(f"{name} {i % 2}\n")
        out[f"{split}_csv"] = root / f"{split}.csv"
        out[f"{split}_csv"].write_text("".join(lines))
        for i in range(per_class * 2 // 3 * 2):  # train 8, val 4 images
            folder = root / f"{split}_images" / ("bright" if i % 2 == 0 else "dark")
            folder.mkdir(parents=True, exist_ok=True)
            write_media(folder / f"{i}.png", frames(i % 2, seed=i, n=1, size=40)[:1])
        out[f"{split}_dir"] = root / f"{split}_images"
    torch.manual_seed(0)
    enc = VideoEncoder(TINY)
    out["export"] = save_modules(root / "export", {"encoder": enc},
                                 {"format": "vjepa-export/1", "encoder": dataclasses.asdict(enc.cfg)})
    return out
