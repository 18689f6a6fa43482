"""Clip index arithmetic against hand-computed official examples (official spec §6.1)."""

import numpy as np
import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.data.sampling import ShortVideo, clip_indices, eval_segment_indices, frame_step_for_duration

# linspace(0, 63, 15) = 0, 4.5, 9, ..., 63 floored, 63 clipped to 62, padded with 62 (spec: 0,4,9,13,…,58,62,62).
OVERLAP_EXAMPLE = [0, 4, 9, 13, 18, 22, 27, 31, 36, 40, 45, 49, 54, 58, 62, 62]
# linspace(0, 64, 16): step 64/15 = 4.27, floored, 64 clipped to 63.
FIXED_WINDOW = [0, 4, 8, 12, 17, 21, 25, 29, 34, 38, 42, 46, 51, 55, 59, 63]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_official_overlap_example():
    (clip,) = clip_indices(64, 16, 4, 1, random_clip_sampling=True, allow_clip_overlap=True, generator=_gen())
    assert clip.tolist() == OVERLAP_EXAMPLE
    assert clip.dtype == np.int64


def test_fixed_window_uses_linspace_not_the_exact_step():
    (clip,) = clip_indices(300, 16, 4, 1, random_clip_sampling=False)
    assert clip.tolist() == FIXED_WINDOW


def test_random_window_range_and_shape():
    gen, firsts, lasts = _gen(1), set(), set()
    for _ in range(3000):
        (clip,) = clip_indices(100, 16, 4, 1, True, False, gen)
        start = clip[0]
        # end uniform in [64, 100) -> start in [0, 36), the window is the fixed one shifted
        assert clip.tolist() == [start + i for i in FIXED_WINDOW]
        firsts.add(int(start))
        lasts.add(int(clip[-1]))
    assert firsts == set(range(36))  # every end in [clip_len, partition_len) occurs, partition_len excluded
    assert max(lasts) == 98


def test_random_sampling_is_deterministic_per_generator_and_accepts_numpy():
    a = clip_indices(500, 16, 4, 3, True, False, _gen(5))
    b = clip_indices(500, 16, 4, 3, True, False, _gen(5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = clip_indices(500, 16, 4, 3, True, False, np.random.default_rng(5))
    assert len(c) == 3 and all(len(x) == 16 for x in c)
    with pytest.raises(ValueError, match="Generator"):
        clip_indices(500, 16, 4, 1, True, False, None)


def test_partitions_offset_each_clip():
    clips = clip_indices(300, 16, 4, 2, random_clip_sampling=False)
    assert clips[0].tolist() == FIXED_WINDOW
    assert clips[1].tolist() == [150 + i for i in FIXED_WINDOW]


def test_short_video_official_padding_without_overlap():
    # partition 30 <= 64: linspace(0, 30, 30 // 4 = 7) = 0,5,...,30 -> 30 clipped to 29, padded with 29
    (clip,) = clip_indices(30, 16, 4, 1, True, False, _gen())
    assert clip.tolist() == [0, 5, 10, 15, 20, 25, 29] + [29] * 9
    # two partitions of 15: linspace(0, 15, 3) = 0, 7.5, 15 -> 0, 7, 14, padded; the second shifted by 15
    clips = clip_indices(30, 16, 4, 2, True, False, _gen())
    assert clips[0].tolist() == [0, 7, 14] + [14] * 13
    assert clips[1].tolist() == [15, 22, 29] + [29] * 13


def test_short_partitions_with_overlap_spread_over_the_video():
    # partition 33 <= 64, video 100 > 64: shift = (100 - 64) // (3 - 1) = 18
    clips = clip_indices(100, 16, 4, 3, True, True, _gen())
    for i, clip in enumerate(clips):
        assert clip.tolist() == [x + 18 * i for x in OVERLAP_EXAMPLE]
    # a video shorter than a clip: s = 39, linspace(0, 39, 9) -> 0,4,9,14,19,24,29,34,(39->38), pad 38, no shift
    clips = clip_indices(40, 16, 4, 2, True, True, _gen())
    assert clips[0].tolist() == [0, 4, 9, 14, 19, 24, 29, 34, 38] + [38] * 7
    assert clips[1].tolist() == clips[0].tolist()


def test_short_video_loop_and_skip():
    (clip,) = clip_indices(30, 16, 4, 1, True, False, _gen(), short_video="loop")
    assert clip.tolist() == [(4 * i) % 30 for i in range(16)]
    with pytest.raises(ShortVideo, match="too short"):
        clip_indices(30, 16, 4, 1, True, False, _gen(), short_video="skip")
    # long partitions are not affected by the short_video choice
    (clip,) = clip_indices(300, 16, 4, 1, False, False, short_video="skip")
    assert clip.tolist() == FIXED_WINDOW


def test_tiny_and_invalid_inputs():
    (clip,) = clip_indices(1, 16, 4, 1, True, True, _gen())
    assert clip.tolist() == [0] * 16
    (clip,) = clip_indices(3, 16, 4, 1, True, False, _gen())  # 3 // 4 = 0 points: all padding
    assert clip.tolist() == [2] * 16
    with pytest.raises(ShortVideo):
        clip_indices(2, 16, 4, 3, True, False, _gen())
    with pytest.raises(ConfigError):
        clip_indices(100, 0, 4)
    with pytest.raises(ConfigError, match="short_video"):
        clip_indices(100, 16, 4, short_video="stretch")


def test_frame_step_for_duration():
    assert frame_step_for_duration(2.0, 30.0, 16) == 3  # int(60 / 16)
    assert frame_step_for_duration(2.56, 25.0, 16) == 4
    assert frame_step_for_duration(0.1, 25.0, 16) == 1  # official would give 0
    with pytest.raises(ConfigError):
        frame_step_for_duration(0.0, 25.0, 16)


def test_eval_segments():
    # deterministic: the centred window of each partition of 150 (end = 64 + (150 - 64) // 2 = 107)
    segments = eval_segment_indices(300, 16, 4, 2)
    assert segments[0].tolist() == [43 + i for i in FIXED_WINDOW]
    assert segments[1].tolist() == [150 + 43 + i for i in FIXED_WINDOW]
    # with a generator it is exactly the official eval loader
    ours = eval_segment_indices(1000, 16, 4, 8, generator=_gen(3))
    official = clip_indices(1000, 16, 4, 8, True, True, _gen(3))
    assert all(np.array_equal(a, b) for a, b in zip(ours, official))
    # short videos follow the official overlap rule
    segments = eval_segment_indices(100, 16, 4, 3)
    assert segments[2].tolist() == [x + 36 for x in OVERLAP_EXAMPLE]
