"""VideoDataset (official sampling, determinism, bad files), collate_items and ShardedSampler."""

import numpy as np
import pytest
import torch
from support.sharded_sampler import ShardedSampler
from torch.utils.data import DataLoader

from vjepa.core.errors import ConfigError, DataError
from vjepa.data.index import IndexEntry
from vjepa.data.sampling import clip_indices
from vjepa.data.transforms import EvalVideoTransform, TrainVideoTransform
from vjepa.data.video_dataset import VideoDataset, collate_items, item_generator


def _entries(media, *names, label=0):
    return [IndexEntry(media[n], label) for n in names]


def test_item_follows_the_official_sampling(sample_clips, reference):
    path = sample_clips["bikes"]
    ds = VideoDataset([IndexEntry(path, 3)], frames_per_clip=16, frame_step=4, seed=11)
    item = ds[0]
    expected = clip_indices(250, 16, 4, 1, True, False, item_generator(11, 0, 0, 0))[0]
    assert item["frame_indices"].tolist() == expected.tolist()
    assert item["video"].dtype == torch.uint8 and item["video"].shape == (16, 272, 640, 3)
    assert np.array_equal(item["video"].numpy(), reference(path)[expected])
    assert (item["label"], item["path"], item["failures"]) == (3, path, [])
    assert ds.stats() == {"attempts": 1, "failures": 0, "bad_fraction": 0.0, "bad_files": {}}


def test_deterministic_per_seed_epoch_and_index(media):
    entries = _entries(media, "long", "h264_mp4", "vp9_webm", "mpeg4_avi")
    ds = VideoDataset(entries, frames_per_clip=4, frame_step=2, seed=3)
    first = [ds[i]["frame_indices"].tolist() for i in range(4)]
    assert first == [ds[i]["frame_indices"].tolist() for i in range(4)]
    assert first != [VideoDataset(entries, frames_per_clip=4, frame_step=2, seed=4)[i]["frame_indices"].tolist()
                     for i in range(4)]
    ds.set_epoch(1)
    second = [ds[i]["frame_indices"].tolist() for i in range(4)]
    assert second != first
    ds.set_epoch(0)
    assert [ds[(1, i)]["frame_indices"].tolist() for i in range(4)] == second  # (epoch, index) keys


def test_same_items_with_any_number_of_workers(media):
    entries = _entries(media, "long", "h264_mp4", "missing", "mpeg4_avi", "empty", "hevc_mkv")
    ds = VideoDataset(entries, frames_per_clip=4, frame_step=2, seed=5,
                      transform=TrainVideoTransform(16, scale=(0.3, 1.0)))
    sampler = ShardedSampler(len(ds), seed=1, with_epoch=True)
    runs = []
    for workers in (0, 2):
        loader = DataLoader(ds, batch_size=2, sampler=sampler, num_workers=workers, collate_fn=collate_items)
        runs.append(list(loader))
    for a, b in zip(*runs):
        assert torch.equal(a["video"], b["video"]) and a["path"] == b["path"] and a["failures"] == b["failures"]
    assert sum(len(batch["failures"]) for batch in runs[0]) >= 2  # the two bad entries were replaced


def test_clips_transforms_and_images(media):
    ds = VideoDataset(_entries(media, "long"), frames_per_clip=8, frame_step=2, num_clips=3)
    item = ds[0]
    assert len(item["video"]) == 3 and all(v.shape == (8, 48, 64, 3) for v in item["video"])
    assert [int(i[0]) // 40 for i in item["frame_indices"]] == [0, 1, 2]  # one clip per partition of 40
    ds = VideoDataset(_entries(media, "long"), frames_per_clip=8, frame_step=2, transform=TrainVideoTransform(32))
    video = ds[0]["video"]
    assert video.dtype == torch.float32 and video.shape == (3, 8, 32, 32)
    ds = VideoDataset(_entries(media, "portrait"), frames_per_clip=8, num_clips=2, transform=EvalVideoTransform(32, 3))
    views = ds[0]["video"]
    assert len(views) == 2 and len(views[0]) == 3 and views[0][0].shape == (3, 8, 32, 32)
    ds = VideoDataset(_entries(media, "png", "jpg"), frames_per_clip=8)
    image = ds[0]["video"]
    assert image.shape == (8, 20, 30, 3) and bool((image == image[0]).all())
    assert VideoDataset(_entries(media, "jpg"), image_frames=2)[0]["video"].shape == (2, 20, 30, 3)


def test_duration_sets_the_frame_step(media):
    ds = VideoDataset(_entries(media, "long"), frames_per_clip=8, duration=1.28, random_clip_sampling=False)
    # fps 25: int(1.28 * 25 / 8) = 4 -> linspace(0, 32, 8) clipped to 31
    assert ds[0]["frame_indices"].tolist() == [0, 4, 9, 13, 18, 22, 27, 31]


def test_short_videos(media):
    item = VideoDataset(_entries(media, "short"), frames_per_clip=4, frame_step=2)[0]
    assert item["frame_indices"].tolist() == [0, 4, 4, 4]  # official: linspace(0, 5, 5 // 2) -> 0, 5 -> 4, padded
    item = VideoDataset(_entries(media, "short"), frames_per_clip=4, frame_step=2, short_video="loop")[0]
    assert item["frame_indices"].tolist() == [0, 2, 4, 1]
    for options in ({"filter_short_videos": True}, {"short_video": "skip"}):
        ds = VideoDataset(_entries(media, "short", "long"), frames_per_clip=4, frame_step=2, **options)
        item = ds[0]
        assert item["path"] == media["long"] and item["failures"][0].startswith(media["short"] + ": ")
        assert "too short" in item["failures"][0]


def test_bad_files_are_replaced_counted_and_listed(media):
    bad = ["missing", "empty", "text", "truncated", "random", "no_index"]
    entries = _entries(media, "h264_mp4", *bad)
    ds = VideoDataset(entries, frames_per_clip=16, frame_step=6, seed=0, max_bad_fraction=1.0, max_retries=60)
    items = [ds[i] for i in range(len(ds))]
    assert all(item["path"] == media["h264_mp4"] and item["video"].shape == (16, 48, 64, 3) for item in items)
    for name, item in zip(bad, items[1:]):
        assert item["failures"][0].startswith(media[name] + ": ")
    stats = ds.stats()
    assert stats["failures"] == sum(len(item["failures"]) for item in items)
    assert stats["attempts"] == stats["failures"] + len(items)
    assert set(stats["bad_files"]) == {media[n] for n in bad}
    assert "truncated" in stats["bad_files"][media["truncated"]]


def test_unexpected_decoder_errors_are_failures_not_crashes(media, monkeypatch):
    import vjepa.data.video_dataset as module

    real = module.decode_frames

    def flaky(path, indices, **kwargs):
        if path == media["odd"]:
            raise RuntimeError("decoder surprise")
        return real(path, indices, **kwargs)

    monkeypatch.setattr(module, "decode_frames", flaky)
    ds = VideoDataset(_entries(media, "odd", "h264_mp4"), frames_per_clip=4, max_retries=30)
    item = ds[0]
    assert item["path"] == media["h264_mp4"]
    assert item["failures"][0] == f"{media['odd']}: RuntimeError: decoder surprise"


def test_bad_fraction_and_retry_limits(media):
    entries = _entries(media, "h264_mp4", "missing", "empty", "text", "random")
    ds = VideoDataset(entries, frames_per_clip=4, max_bad_fraction=0.5, min_attempts=5, seed=0)
    with pytest.raises(DataError, match="max_bad_fraction=0.5"):
        for i in range(100):
            ds[i % len(ds)]
    all_bad = VideoDataset(_entries(media, "missing", "empty"), max_retries=3, max_bad_fraction=1.0)
    with pytest.raises(DataError, match="4 loads in a row failed"):
        all_bad[0]
    with pytest.raises(ConfigError):
        VideoDataset(entries, short_video="stretch")
    with pytest.raises(ConfigError, match="backend"):
        VideoDataset(entries, backend="nope")


def test_weighted_mixing(media):
    first = _entries(media, "h264_mp4", "mpeg4_avi")
    second = _entries(media, "png", "jpg", label=1)
    ds = VideoDataset.mixed([first, second], weights=[0.0, 1.0], frames_per_clip=4, seed=2)
    assert len(ds) == 4 and {ds[i]["label"] for i in range(4)} == {1}
    natural = VideoDataset.mixed([first, second], frames_per_clip=4)
    assert [natural[i]["path"] for i in range(4)] == [e.path for e in first + second]


def test_collate(media):
    ds = VideoDataset(_entries(media, "h264_mp4", "missing", "mpeg4_avi"), frames_per_clip=4, seed=1,
                      transform=TrainVideoTransform(16))
    batch = collate_items([ds[i] for i in range(3)])
    assert batch["video"].shape == (3, 3, 4, 16, 16) and batch["label"].tolist() == [0, 0, 0]
    assert batch["frame_indices"].shape == (3, 4) and len(batch["path"]) == 3
    assert len(batch["failures"]) >= 1 and all(isinstance(f, str) for f in batch["failures"])
    raw = VideoDataset(_entries(media, "h264_mp4", "portrait"), frames_per_clip=4)
    with pytest.raises(DataError, match="different shapes"):
        collate_items([raw[0], raw[1]])


def test_sharded_sampler():
    n, w = 10, 3
    samplers = [ShardedSampler(n, w, r, seed=4) for r in range(w)]
    shards = [list(s) for s in samplers]
    assert all(len(s) == 4 == len(sampler) for s, sampler in zip(shards, samplers))
    assert set(sum(shards, [])) == set(range(n))  # padded by wrapping: 12 slots cover all 10
    assert shards == [list(ShardedSampler(n, w, r, seed=4)) for r in range(w)]
    for s in samplers:
        s.set_epoch(1)
    assert [list(s) for s in samplers] != shards
    dropped = [list(ShardedSampler(n, w, r, seed=4, drop_last=True)) for r in range(w)]
    assert all(len(s) == 3 for s in dropped) and len(set(sum(dropped, []))) == 9
    assert list(ShardedSampler(5, shuffle=False)) == [0, 1, 2, 3, 4]
    assert list(ShardedSampler(2, 4, 3, shuffle=False)) == [1]
    sampler = ShardedSampler(4, with_epoch=True)
    sampler.set_epoch(7)
    assert all(e == 7 for e, _ in sampler)
    with pytest.raises(ConfigError):
        ShardedSampler(4, world_size=2, rank=2)
