"""Data-loading throughput: decode (+ pretraining transform) of 16-frame clips at frame step 4, per worker.

Generates 10 s, 30 fps H.264 test videos at 360p and 720p (libx264 veryfast, crf 23, default GOP of 250
frames, B-frames: a typical web video; plus 360p with a keyframe every 30 frames, to show what re-encoding
buys), then loads random clips the way the pretraining loader does, in this process with one thread (= one
loader worker):

* decode: ``VideoDataset`` item without transform (probe + seek + decode 16 frames + uint8 [16, H, W, 3]);
* decode + transform: the same with ``TrainVideoTransform(224)`` (random resized crop, flip, normalise);
* decord: decode of the same frame indices with decord, when ``import decord`` works.

Usage: ``python benchmarks/bench_data.py [--clips 40] [--seconds 10] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from vjepa.data.decode import decode_frames
from vjepa.data.index import IndexEntry
from vjepa.data.transforms import TrainVideoTransform
from vjepa.data.video_dataset import VideoDataset
from vjepa.tools.bench_video import make_video


def time_items(dataset: VideoDataset, clips: int, warmup: int = 3) -> list[float]:
    """Seconds per item for ``clips`` items (after ``warmup`` untimed ones), each a fresh random window."""
    times = []
    for i in range(warmup + clips):
        start = time.perf_counter()
        dataset[(i, 0)]  # epoch i: a new random window of the one video each time
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def time_decord(path: str, index_sets: list[np.ndarray]) -> list[float] | None:
    try:
        import decord  # noqa: F401
    except Exception:
        return None
    times = []
    for indices in index_sets:
        start = time.perf_counter()
        decode_frames(path, indices, backend="decord")
        times.append(time.perf_counter() - start)
    return times


def _row(name: str, times: list[float]) -> str:
    med = statistics.median(times)
    p90 = float(np.percentile(times, 90))
    return f"  {name:<22}{med * 1e3:>9.1f} ms{p90 * 1e3:>9.1f} ms{1.0 / med:>10.1f}{len(times) / sum(times):>10.1f}"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40, help="timed clips per configuration")
    parser.add_argument("--seconds", type=int, default=10, help="length of the generated videos")
    parser.add_argument("--out", help="folder for the generated videos (default: a temporary one)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one loader worker = one core
    import av

    folder = Path(args.out or tempfile.mkdtemp(prefix="bench_data_"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs; torch {torch.__version__} ({torch.get_num_threads()} "
          f"thread); PyAV {av.__version__}, libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print("clips: 16 frames, frame step 4, random window; transform: TrainVideoTransform(224)\n")
    print(f"  {'':<22}{'median':>12}{'p90':>12}{'clips/s':>10}{'mean c/s':>10}   (one worker, one thread)")
    sources = {"360p": (640, 360, None), "720p": (1280, 720, None), "360p GOP 30": (640, 360, 30)}
    for label, (width, height, gop) in sources.items():
        path = folder / f"h264_{height}p_gop{gop or 250}.mp4"
        if not path.exists():
            start = time.perf_counter()
            make_video(path, width, height, args.seconds, gop=gop)
            seconds = time.perf_counter() - start
            print(f"  (generated {path.name}: {path.stat().st_size / 1e6:.1f} MB in {seconds:.0f} s)")
        entries = [IndexEntry(str(path), 0)]
        raw = VideoDataset(entries, frames_per_clip=16, frame_step=4, seed=0)
        full = VideoDataset(entries, frames_per_clip=16, frame_step=4, seed=0, transform=TrainVideoTransform(224))
        print(f"H.264 {label} ({width}x{height}, {args.seconds} s at 30 fps, keyframe every {gop or 250} frames):")
        print(_row("decode", time_items(raw, args.clips)))
        print(_row("decode + transform", time_items(full, args.clips)))
        index_sets = [raw[(i, 0)]["frame_indices"].numpy() for i in range(args.clips)]
        decord_times = time_decord(str(path), index_sets)
        print(_row("decord decode", decord_times) if decord_times else "  decord: not installed")
        sys.stdout.flush()
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
