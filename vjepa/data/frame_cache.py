"""Decoded-frame cache (``vjepa data cache``): every frame of every video decoded once, optionally down-scaled, and
stored as uint8, so that later epochs and probe runs read frames instead of decoding them again.

Decoding costs as much CPU as a tiny training step on a 2-core machine (PyAV: ~22 clips/s per core from long-GOP
256² H.264); reading a cached clip costs ~0.1-0.3 ms.

**Clip sampling is unchanged.** A cached video records the frame count and rate that ``probe_video`` reads from
the file's header (what the sampler uses) and holds frame ``i`` = what ``decode_frames(path, [i])`` returns, for
every ``i`` below that count. :class:`~vjepa.data.video_dataset.VideoDataset` with a cache therefore draws exactly
the same frame indices from the same random streams and gets exactly the same frames when nothing is down-scaled.
**Down-scaling** (``short_side``) is the speed-versus-exactness switch: frames are resized once (bilinear,
antialiased, on uint8) so that their short side is ``short_side``; the random resized crop then draws the same
relative box from the same random numbers, but its pixel rounding and the interpolated values differ slightly from
cropping the full-size frame. Without ``short_side`` the cache is exact (and larger).

Layout of a cache folder: ``manifest.json`` (format, settings, and per video: the ``.npy`` file, frame count, fps,
stored size, and the source file's size and mtime) and ``frames/<sha1 of the absolute path>.npy`` (uint8
``[num_frames, H, W, 3]``, read with a memory map). A source file whose size or mtime changed since caching is
decoded again (counted as a miss), never read stale. Storage: ``frames · H · W · 3`` bytes per video, e.g. 10 s at
30 fps with a 128-pixel short side (128 x 170): 20 MB.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vjepa.core import formats
from vjepa.core.errors import DataError
from vjepa.core.io import atomic_write
from vjepa.core.progress import progress_bar
from vjepa.data.decode import VideoInfo, decode_frames, probe_video
from vjepa.data.index import is_image

FORMAT = formats.FRAME_CACHE
_CHUNK_BYTES = 256 << 20  # decoded frames held at once while building (before down-scaling)


@dataclass(frozen=True)
class CachedVideo:
    file: str
    """``.npy`` file name inside ``frames/``."""
    num_frames: int
    fps: float
    duration_s: float
    height: int
    width: int
    source_size: int
    source_mtime_ns: int


def cache_key(path: str) -> str:
    return hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:20]


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def scaled_size(height: int, width: int, short_side: int | None) -> tuple[int, int]:
    """(h, w) with the short side at ``short_side`` (never up-scaled; None: unchanged)."""
    short = min(height, width)
    if not short_side or short <= short_side:
        return height, width
    return (short_side, round(width * short_side / height)) if height <= width else \
        (round(height * short_side / width), short_side)


def _downscale(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """uint8 ``[N, H, W, 3]`` -> uint8 ``[N, h, w, 3]`` (bilinear, antialiased)."""
    if tuple(frames.shape[1:3]) == size:
        return frames
    out = F.interpolate(frames.permute(0, 3, 1, 2), size=size, mode="bilinear", antialias=True, align_corners=False)
    return out.permute(0, 2, 3, 1).contiguous()


def cache_video(path: str, root: Path, short_side: int | None, timeout_s: float = 30.0) -> tuple[str, dict | str]:
    """Decode all frames of one video into ``root/frames``: (absolute path, manifest entry or failure reason)."""
    key = os.path.abspath(path)
    try:
        size, mtime = _stamp(path)
        info = probe_video(path, timeout_s, read_frame=False)  # the header the sampler reads, exactly
        file = f"{cache_key(path)}.npy"
        target = root / "frames" / file
        chunk = max(16, _CHUNK_BYTES // max(1, info.width * info.height * 3))
        first = decode_frames(path, range(min(chunk, info.num_frames)), timeout_s=timeout_s)
        h, w = scaled_size(first.shape[1], first.shape[2], short_side)

        def write(tmp: str) -> None:
            array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(info.num_frames, h, w, 3))
            array[: len(first)] = _downscale(first, (h, w)).numpy()
            for start in range(len(first), info.num_frames, chunk):
                stop = min(start + chunk, info.num_frames)
                array[start:stop] = _downscale(decode_frames(path, range(start, stop), timeout_s=timeout_s),
                                               (h, w)).numpy()
            array.flush()
            del array

        atomic_write(target, write)
    except (DataError, OSError) as e:
        return key, " ".join(str(e).split())
    entry = CachedVideo(file, info.num_frames, info.fps, info.duration_s, h, w, size, mtime)
    return key, asdict(entry)


def build_cache(paths: list[str], root: str | os.PathLike, short_side: int | None = None, workers: int = 0,
                timeout_s: float = 30.0, progress: bool = True) -> dict:
    """Cache the videos among ``paths`` (images are cheap to read and are skipped) into ``root``.

    Videos already cached with the same settings and an unchanged source are kept. Returns ``{"cached": n,
    "kept": n, "failed": {path: reason}, "bytes": total}``; unreadable videos are listed, not cached (training
    then decodes them and treats them as bad files, as without a cache).
    """
    root = Path(root)
    (root / "frames").mkdir(parents=True, exist_ok=True)
    old = _read_manifest(root) if (root / "manifest.json").exists() else {"short_side": short_side, "videos": {}}
    if old["short_side"] != short_side:
        raise DataError(f"{root} was built with short_side {old['short_side']}, not {short_side}; use another folder")
    videos = dict(old["videos"])
    todo = []
    for path in dict.fromkeys(p for p in paths if not is_image(p)):
        entry = videos.get(os.path.abspath(path))
        fresh = entry and os.path.exists(path) and _stamp(path) == (entry["source_size"], entry["source_mtime_ns"])
        if not (fresh and (root / "frames" / entry["file"]).is_file()):
            todo.append(path)
    one = partial(cache_video, root=root, short_side=short_side, timeout_s=timeout_s)
    failed: dict[str, str] = {}
    with progress_bar(total=len(todo), desc="caching", unit="video", enabled=progress) as bar:
        if workers > 0 and len(todo) > 1:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            with multiprocessing.get_context(method).Pool(min(workers, len(todo))) as pool:
                results = list(_counted(pool.imap(one, todo, chunksize=1), bar))
        else:
            results = list(_counted(map(one, todo), bar))
    for key, result in results:
        if isinstance(result, dict):
            videos[key] = result
        else:
            videos.pop(key, None)
            failed[key] = result
    manifest = {"format": FORMAT, "short_side": short_side, "videos": videos}
    text = json.dumps(manifest, indent=1) + "\n"
    atomic_write(root / "manifest.json", lambda p: Path(p).write_text(text))
    total = sum((root / "frames" / v["file"]).stat().st_size for v in videos.values())
    return {"cached": sum(isinstance(r, dict) for _, r in results), "kept": len(videos) - sum(
        isinstance(r, dict) for _, r in results), "failed": failed, "bytes": total}


def _counted(items, bar):
    """``items``, advancing ``bar`` by one per item."""
    for item in items:
        bar.update()
        yield item


def _read_manifest(root: Path) -> dict:
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{root}: not a frame cache ({' '.join(str(e).split())}); build one with `vjepa data cache`"
                        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{root}: not a frame cache of format {FORMAT}; rebuild it with `vjepa data cache`")
    return manifest


class FrameCache:
    """Read access to a cache folder built by :func:`build_cache` (opened lazily in each loader worker)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        manifest = _read_manifest(self.root)
        self.short_side = manifest["short_side"]
        self.videos = {k: CachedVideo(**v) for k, v in manifest["videos"].items()}
        self._stamps: dict[str, bool] = {}

    def lookup(self, path: str) -> CachedVideo | None:
        """The cached video of ``path``, or None when it is not cached or its source changed since."""
        entry = self.videos.get(os.path.abspath(path))
        if entry is None:
            return None
        fresh = self._stamps.get(path)
        if fresh is None:  # checked once per process
            try:
                fresh = _stamp(path) == (entry.source_size, entry.source_mtime_ns)
            except OSError:
                fresh = False
            self._stamps[path] = fresh
        return entry if fresh else None

    @staticmethod
    def info(entry: CachedVideo) -> VideoInfo:
        """The header the sampler saw when the video was cached."""
        return VideoInfo(num_frames=entry.num_frames, fps=entry.fps, duration_s=entry.duration_s,
                         width=entry.width, height=entry.height, codec="cached", container="npy")

    def frames(self, entry: CachedVideo, indices: np.ndarray) -> torch.Tensor:
        """uint8 ``[len(indices), h, w, 3]``: the cached frames at ``indices`` (in that order)."""
        array = np.load(self.root / "frames" / entry.file, mmap_mode="r")
        return torch.from_numpy(np.ascontiguousarray(array[np.asarray(indices, dtype=np.int64)]))
