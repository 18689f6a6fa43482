"""The decoded-frame cache (`vjepa data cache`): the dataset samples exactly the same frame indices and, without
down-scaling, gets exactly the same frames as by decoding; a changed source is decoded again; bad files are listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import torch

from vjepa.data.frame_cache import FrameCache, build_cache, scaled_size
from vjepa.data.index import IndexEntry
from vjepa.data.transforms import TrainVideoTransform
from vjepa.data.video_dataset import VideoDataset

KEYS = [(epoch, index) for epoch in range(4) for index in range(4)]


def dataset(paths, **options) -> VideoDataset:
    return VideoDataset([IndexEntry(p, i) for i, p in enumerate(paths)], frames_per_clip=8, frame_step=3, seed=5,
                        **options)


def videos(media, sample_clips) -> list[str]:
    # long-GOP H.264 with B-frames, mkv (no stored frame count: estimated, as the sampler sees it), a long file
    # with keyframes every 30 frames, and a real camera clip
    return [media["h264_mp4"], media["hevc_mkv"] if "hevc_mkv" in media else media["h264_mkv"], media["long"],
            sample_clips["carphone_pristine"]]


def test_exact_cache_gives_the_decoded_clips(tmp_path, media, sample_clips):
    paths = videos(media, sample_clips)
    result = build_cache(paths, tmp_path / "cache", progress=False)
    assert result["cached"] == len(paths) and not result["failed"]
    decoded, cached = dataset(paths), dataset(paths, frame_cache=tmp_path / "cache")
    for key in KEYS:
        a, b = decoded[key], cached[key]
        assert torch.equal(a["frame_indices"], b["frame_indices"]), key
        assert torch.equal(a["video"], b["video"]), key
    assert cached.stats()["cache_hits"] == len(KEYS) and cached.stats()["cache_misses"] == 0


def test_downscaled_cache_keeps_the_sampling(tmp_path, media, sample_clips):
    paths = videos(media, sample_clips)
    build_cache(paths, tmp_path / "small", short_side=32, progress=False)
    transform = TrainVideoTransform(32)
    decoded = dataset(paths, transform=transform)
    cached = dataset(paths, transform=transform, frame_cache=FrameCache(tmp_path / "small"))
    raw = dataset(paths, frame_cache=tmp_path / "small")
    for key in KEYS:
        a, b = decoded[key], cached[key]
        assert torch.equal(a["frame_indices"], b["frame_indices"]), key
        assert a["video"].shape == b["video"].shape == (3, 8, 32, 32)
        assert min(raw[key]["video"].shape[1:3]) == 32
    assert scaled_size(144, 176, 32) == (32, 39) and scaled_size(48, 64, 128) == (48, 64)  # never up-scaled


def test_changed_source_is_decoded_again(tmp_path, media):
    source = tmp_path / "clip.mp4"
    source.write_bytes(open(media["long"], "rb").read())
    build_cache([str(source)], tmp_path / "cache", progress=False)
    st = os.stat(source)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    cached = dataset([str(source)], frame_cache=tmp_path / "cache")
    assert torch.equal(cached[(0, 0)]["video"], dataset([str(source)])[(0, 0)]["video"])
    assert cached.stats()["cache_misses"] == 1
    again = build_cache([str(source)], tmp_path / "cache", progress=False)  # a rebuild refreshes only that file
    assert again["cached"] == 1 and again["kept"] == 0


def test_cli_cache_lists_bad_files_and_pretrain_reads_it(tmp_path, media):
    index = tmp_path / "train.csv"
    index.write_text("".join(f"{media[n]} 0\n" for n in ("long", "h264_mp4", "truncated", "png")))
    cache = tmp_path / "cache"
    done = subprocess.run([sys.executable, "-m", "vjepa", "data", "cache", str(index), "--out", str(cache),
                           "--short-side", "32", "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # the truncated file is named, not cached
    assert media["truncated"] in done.stdout and "2 video(s) cached" in done.stdout
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["short_side"] == 32 and len(manifest["videos"]) == 2
    shapes = [np.load(cache / "frames" / v["file"], mmap_mode="r").shape for v in manifest["videos"].values()]
    assert all(min(s[1:3]) == 32 and s[0] == v["num_frames"] for s, v in zip(shapes, manifest["videos"].values()))
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "vjepa", "pretrain", "--config", "cpu_tiny", "--data", str(index), "--out", str(out),
           "--no-progress", "--set", "run.max_steps=2", "--set", "data.frame_step=2",
           "--set", f"data.frame_cache={cache}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["steps"] == 2
