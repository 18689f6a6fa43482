"""A generated test video that is not trivially compressible, for data-loading benchmarks (no download needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_video(path: str | Path, width: int, height: int, seconds: float, fps: int = 30, gop: int | None = None,
               preset: str = "veryfast") -> Path:
    """Write an H.264 (libx264, crf 23, B-frames) mp4: a scrolling blurred-noise background, six bouncing textured
    blocks and per-frame noise, like a web video. ``gop`` = frames between keyframes (default x264's 250)."""
    import av

    path = Path(path)
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    bg = np.repeat(np.repeat(bg, 8, 0), 8, 1)  # blocky noise, scrolled below
    side = max(8, min(64, width // 4, height // 4))
    blocks = [(rng.integers(0, width - side), rng.integers(0, height - side), *rng.integers(-6, 7, 2),
               rng.integers(0, 256, (side, side, 3), dtype=np.uint8)) for _ in range(6)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": preset, "crf": "23", **({"g": str(gop)} if gop else {})}
        for i in range(int(seconds * fps)):
            frame = np.roll(bg, (i, 2 * i), axis=(0, 1))[:height, :width].copy()
            for x, y, dx, dy, tex in blocks:
                bx = int(abs((x + dx * i) % (2 * (width - side)) - (width - side)))
                by = int(abs((y + dy * i) % (2 * (height - side)) - (height - side)))
                frame[by:by + side, bx:bx + side] = tex
            frame = np.clip(frame.astype(np.int16) + rng.integers(-6, 7, frame.shape, dtype=np.int16), 0, 255)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
