"""Which frames make a clip: the official ``VideoDataset`` index arithmetic as pure functions (official §6.1).

A clip of ``frames_per_clip`` (fpc) frames at ``frame_step`` (fstp) spans ``clip_len = fpc * fstp`` frames. The
video is cut into ``num_clips`` equal partitions of ``partition_len = num_frames // num_clips`` frames and one clip
is taken from each:

* ``partition_len > clip_len``: a window ``[end - clip_len, end)`` with ``end`` uniform in
  ``[clip_len, partition_len)`` (``end = clip_len`` without random sampling); the indices are
  ``linspace(start, end, fpc)`` clipped to ``end - 1`` and floored (so the real step is ``clip_len / (fpc - 1)``,
  about 4.27 for 16 x 4, as official).
* otherwise the video is short for a clip, and ``short_video`` decides:
  ``"official"`` without overlap: ``linspace(0, partition_len, partition_len // fstp)`` padded with the last
  frame of the partition; with overlap: ``linspace(0, s, s // fstp)`` for ``s = min(clip_len, num_frames) - 1``
  padded, clipped to ``s - 1`` (the last frame repeats), clip ``i`` shifted by
  ``i * ((num_frames - clip_len) // (num_clips - 1))`` when ``num_frames > clip_len``.
  ``"loop"``: the true frame step, wrapping around to the start of the partition (video, with overlap).
  ``"skip"``: :class:`ShortVideo` is raised, and the dataset draws another sample.

All randomness comes from the generator argument (``torch.Generator`` or ``numpy.random.Generator``).
"""

from __future__ import annotations

import numpy as np
import torch

from vjepa.core.errors import ConfigError, DataError

SHORT_VIDEO_MODES = ("official", "loop", "skip")


class ShortVideo(DataError):
    """The video is shorter than a clip and ``short_video="skip"`` (or ``filter_short_videos``) is set."""


def frame_step_for_duration(duration_s: float, fps: float, frames_per_clip: int) -> int:
    """Frame step giving clips of ``duration_s`` seconds: official ``int(duration * fps / fpc)``, at least 1.

    Args:
        duration_s: Wanted clip duration in seconds (> 0).
        fps: The video's average frame rate.
        frames_per_clip: Frames per clip.

    Returns:
        The frame step (the official code would use 0 for very short durations and break; we use 1).
    """
    if duration_s <= 0 or frames_per_clip < 1:
        raise ConfigError(f"clip duration {duration_s} s and frames_per_clip {frames_per_clip} must be positive")
    return max(1, int(duration_s * fps / frames_per_clip))


def _randint(generator, low: int, high: int) -> int:
    """One integer in ``[low, high)`` from a torch or numpy generator."""
    if isinstance(generator, np.random.Generator):
        return int(generator.integers(low, high))
    if isinstance(generator, torch.Generator):
        return int(torch.randint(low, high, (1,), generator=generator).item())
    raise ValueError("random clip sampling needs a torch.Generator or numpy.random.Generator (no global RNG)")


def _check(num_frames: int, frames_per_clip: int, frame_step: int, num_clips: int, short_video: str) -> None:
    if frames_per_clip < 1 or frame_step < 1 or num_clips < 1:
        raise ConfigError(f"frames_per_clip {frames_per_clip}, frame_step {frame_step} and num_clips {num_clips} "
                          "must all be >= 1")
    if short_video not in SHORT_VIDEO_MODES:
        raise ConfigError(f"short_video {short_video!r} must be one of {SHORT_VIDEO_MODES}")
    if num_frames < num_clips:
        raise ShortVideo(f"video too short: {num_frames} frames for {num_clips} clips")


def _window(start: int, end: int, fpc: int) -> np.ndarray:
    """Official long-partition rule: ``linspace(start, end, fpc)`` clipped to ``end - 1``, floored."""
    return np.clip(np.linspace(start, end, num=fpc), start, end - 1).astype(np.int64)


def _padded(length: int, fpc: int, fstp: int) -> np.ndarray:
    """Official short rule: ``length // fstp`` points from 0 to ``length``, padded with ``length``, clipped."""
    n = length // fstp
    points = np.concatenate((np.linspace(0, length, num=n), np.full(fpc - n, float(length))))
    return np.clip(points, 0, length - 1).astype(np.int64)


def _short_clip(i: int, num_frames: int, partition_len: int, fpc: int, fstp: int, num_clips: int,
                allow_clip_overlap: bool, short_video: str) -> np.ndarray:
    clip_len = fpc * fstp
    if short_video == "skip":
        raise ShortVideo(f"video too short: {partition_len} frames per clip partition, a clip spans {clip_len} "
                         f"(short_video='skip')")
    if not allow_clip_overlap:
        if short_video == "loop":
            return i * partition_len + (np.arange(fpc, dtype=np.int64) * fstp) % partition_len
        return i * partition_len + _padded(partition_len, fpc, fstp)
    shift = (num_frames - clip_len) // (num_clips - 1) if num_frames > clip_len else 0
    if short_video == "loop":
        return (i * shift + np.arange(fpc, dtype=np.int64) * fstp) % num_frames
    sample_len = min(clip_len, num_frames) - 1
    if sample_len < 1:  # a one-frame video: the official rule would clip to -1
        return np.zeros(fpc, dtype=np.int64)
    return i * shift + _padded(sample_len, fpc, fstp)


def clip_indices(num_frames: int, frames_per_clip: int, frame_step: int, num_clips: int = 1,
                 random_clip_sampling: bool = True, allow_clip_overlap: bool = False, generator=None,
                 short_video: str = "official") -> list[np.ndarray]:
    """Frame indices of each clip of a video, as the official ``VideoDataset`` (see the module docstring).

    Args:
        num_frames: Frames in the video.
        frames_per_clip: Frames per clip (fpc).
        frame_step: Nominal step between frames (fstp).
        num_clips: Clips per video, one per equal partition.
        random_clip_sampling: Random window position within a long partition (else its start).
        allow_clip_overlap: Official eval mode for short partitions (clips spread over the whole video).
        generator: torch or numpy generator; required when a random draw is made.
        short_video: ``"official"``, ``"loop"`` or ``"skip"``.

    Returns:
        ``num_clips`` int64 arrays of ``frames_per_clip`` indices in ``[0, num_frames)``; sorted except in
        ``"loop"`` mode.

    Raises:
        ShortVideo: fewer frames than clips, or a short video with ``short_video="skip"``.
    """
    _check(num_frames, frames_per_clip, frame_step, num_clips, short_video)
    clip_len = frames_per_clip * frame_step
    partition_len = num_frames // num_clips
    clips = []
    for i in range(num_clips):
        if partition_len > clip_len:
            end = _randint(generator, clip_len, partition_len) if random_clip_sampling else clip_len
            clips.append(i * partition_len + _window(end - clip_len, end, frames_per_clip))
        else:
            clips.append(_short_clip(i, num_frames, partition_len, frames_per_clip, frame_step, num_clips,
                                     allow_clip_overlap, short_video))
    return clips


def eval_segment_indices(num_frames: int, frames_per_clip: int, frame_step: int, num_segments: int,
                         generator=None, short_video: str = "official") -> list[np.ndarray]:
    """``num_segments`` clips spread uniformly over a video, for evaluation (official 16x8x3: 8 segments).

    With a generator this is exactly the official eval loader (``clip_indices`` with random sampling and
    ``allow_clip_overlap=True``). Without one (our deterministic choice) each long partition gives its
    centred window instead of a random one; short videos follow the official overlap rule either way.

    Args:
        num_frames: Frames in the video.
        frames_per_clip: Frames per clip.
        frame_step: Nominal step between frames.
        num_segments: Temporal segments (clips) per video.
        generator: torch or numpy generator, or None for centred windows.
        short_video: ``"official"``, ``"loop"`` or ``"skip"``.

    Returns:
        ``num_segments`` int64 arrays of ``frames_per_clip`` indices.
    """
    if generator is not None:
        return clip_indices(num_frames, frames_per_clip, frame_step, num_segments, True, True, generator,
                            short_video)
    _check(num_frames, frames_per_clip, frame_step, num_segments, short_video)
    clip_len = frames_per_clip * frame_step
    partition_len = num_frames // num_segments
    if partition_len <= clip_len:
        return clip_indices(num_frames, frames_per_clip, frame_step, num_segments, False, True, None, short_video)
    end = clip_len + (partition_len - clip_len) // 2  # centre of the official range [clip_len, partition_len)
    return [i * partition_len + _window(end - clip_len, end, frames_per_clip) for i in range(num_segments)]
