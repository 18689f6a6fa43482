"""Real video datasets: official clip sampling, deterministic randomness, bad files that never stop a run.

Item ``i`` of epoch ``e`` is a pure function of (seed, e, i) and the files: attempt ``a`` draws everything (the
replacement sample, the clip window, the transform) from a ``torch.Generator`` keyed by (seed, e, i, a), so
results do not depend on the number of loader workers or on which worker runs the item.

Bad files (missing, empty, not a video, truncated, undecodable, too slow, too short when filtered, or any other
exception the decoder raises on them) never crash an epoch: the failing attempt is counted and recorded, and
attempt ``a + 1`` loads a randomly drawn other sample (at most ``max_retries`` times). Every item carries the
``failures`` that preceded it, so the caller can log them and print an end-of-epoch summary.
The run fails with :class:`DataError` only when ``max_retries + 1`` attempts in a row fail, or when more than
``max_bad_fraction`` of this process's attempts have failed (checked once it made ``min_attempts`` attempts;
each loader worker holds its own copy and counts).
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from vjepa.core.errors import ConfigError, DataError
from vjepa.core.rng import keyed_generator
from vjepa.data.decode import BACKENDS, BackendUnavailable, VideoInfo, decode_frames, load_image, probe_video
from vjepa.data.frame_cache import FrameCache
from vjepa.data.index import IndexEntry, MixedIndex, is_image
from vjepa.data.sampling import SHORT_VIDEO_MODES, ShortVideo, clip_indices, frame_step_for_duration

_ITEM_TAG = 0x71DE0  # keeps these streams apart from the other (seed, ...)-keyed generators of the project
_INFO_CACHE_SIZE = 50_000  # video headers kept per process (a few MB)


def item_generator(seed: int, epoch: int, index: int, attempt: int) -> torch.Generator:
    """The private random stream of one load attempt (SeedSequence-hashed: nearby keys are unrelated)."""
    return keyed_generator(_ITEM_TAG, seed, epoch, index, attempt)


class VideoDataset(Dataset):
    """Clips of the videos (and images) of an index, sampled as the official ``VideoDataset``.

    Args:
        entries: The samples; with ``mixing``, the concatenation of the mixed datasets' entries.
        frames_per_clip: Frames T per clip.
        frame_step: Nominal step between sampled frames.
        num_clips: Clips per video (one per equal temporal partition).
        random_clip_sampling: Random window within a partition (else its start).
        allow_clip_overlap: Official eval rule for short partitions (clips spread over the video).
        filter_short_videos: Treat videos shorter than ``frames_per_clip * frame_step`` as bad (official).
        duration: Clip duration in seconds; sets the frame step per video to ``int(duration * fps / T)``.
        short_video: Short partitions: ``"official"`` (pad with the last frame), ``"loop"`` or ``"skip"``.
        max_retries: Replacement samples tried after a failed load before the item fails.
        timeout_s: Time bound for probing and for decoding one file.
        max_bad_fraction: Largest tolerated fraction of failed loads in this process (1.0: never fail).
        seed: Seed of all random draws.
        transform: Called as ``transform(clip_uint8, generator)`` per clip, e.g. ``TrainVideoTransform``.
        mixing: Maps positions to entries (weighted datasets); its ``sizes`` must add up to ``len(entries)``.
        image_frames: Frames of a clip made from an image (default ``frames_per_clip``, so images and videos
            batch together; the official image eval also repeats an image over 16 frames, while V-JEPA 2 repeats
            it to the tubelet size, 2, which ``image_frames=2`` reproduces).
        backend: Decoding backend, a key of ``vjepa.data.decode.BACKENDS``.
        min_attempts: Attempts before ``max_bad_fraction`` is enforced (a few early failures are noise).
        frame_cache: A decoded-frame cache (:class:`~vjepa.data.frame_cache.FrameCache` or its folder) to read
            cached videos from instead of decoding them; the sampled frame indices are the same either way.
    """

    def __init__(self, entries: Sequence[IndexEntry], frames_per_clip: int = 16, frame_step: int = 4,
                 num_clips: int = 1, random_clip_sampling: bool = True, allow_clip_overlap: bool = False,
                 filter_short_videos: bool = False, duration: float | None = None, short_video: str = "official",
                 max_retries: int = 10, timeout_s: float = 30.0, max_bad_fraction: float = 0.5, seed: int = 0,
                 transform: Callable | None = None, mixing: MixedIndex | None = None,
                 image_frames: int | None = None, backend: str = "pyav", min_attempts: int = 20,
                 frame_cache: FrameCache | str | os.PathLike | None = None) -> None:
        self.entries = list(entries)
        if not self.entries:
            raise DataError("the dataset has no entries; check the index")
        if frames_per_clip < 1 or frame_step < 1 or num_clips < 1:
            raise ConfigError(f"frames_per_clip {frames_per_clip}, frame_step {frame_step} and num_clips "
                              f"{num_clips} must all be >= 1")
        if short_video not in SHORT_VIDEO_MODES:
            raise ConfigError(f"short_video {short_video!r} must be one of {SHORT_VIDEO_MODES}")
        if duration is not None and duration <= 0:
            raise ConfigError(f"clip duration {duration} must be > 0 seconds (or None to use frame_step)")
        if max_retries < 0 or not 0.0 <= max_bad_fraction <= 1.0 or timeout_s <= 0:
            raise ConfigError(f"max_retries {max_retries} must be >= 0, max_bad_fraction {max_bad_fraction} in "
                              f"[0, 1] and timeout_s {timeout_s} > 0")
        if backend not in BACKENDS:
            raise ConfigError(f"unknown decoding backend {backend!r}; use one of {sorted(BACKENDS)}")
        if mixing is not None and int(mixing.offsets[-1]) != len(self.entries):
            raise ConfigError(f"mixing sizes {mixing.sizes} do not add up to the {len(self.entries)} entries")
        self.frames_per_clip, self.frame_step, self.num_clips = frames_per_clip, frame_step, num_clips
        self.random_clip_sampling, self.allow_clip_overlap = random_clip_sampling, allow_clip_overlap
        self.filter_short_videos, self.duration, self.short_video = filter_short_videos, duration, short_video
        self.max_retries, self.timeout_s, self.max_bad_fraction = max_retries, timeout_s, max_bad_fraction
        self.seed, self.transform, self.mixing, self.backend = seed, transform, mixing, backend
        self.image_frames = image_frames or frames_per_clip
        self.min_attempts, self.epoch = min_attempts, 0
        self._attempts, self._failures, self._bad_files = 0, 0, {}
        self._infos: dict[str, VideoInfo] = {}
        self.frame_cache = FrameCache(frame_cache) if isinstance(frame_cache, (str, os.PathLike)) else frame_cache
        self._cache_hits, self._cache_misses = 0, 0

    @classmethod
    def mixed(cls, datasets: Sequence[Sequence[IndexEntry]], weights: Sequence[float] | None = None,
              **options) -> "VideoDataset":
        """Mix several datasets' entries: with ``weights``, sampled with replacement (see :class:`MixedIndex`).

        Args:
            datasets: One entry list per dataset.
            weights: Relative dataset weights, or None for natural proportions.
            **options: The other constructor arguments (``seed`` also seeds the mixing).
        """
        mixing = MixedIndex([len(d) for d in datasets], None if weights is None else list(weights),
                            seed=options.get("seed", 0))
        return cls([e for d in datasets for e in d], mixing=mixing, **options)

    def set_epoch(self, epoch: int) -> None:
        """Use the draws of ``epoch`` (or pass ``(epoch, index)`` keys, see ``ShardedSampler(with_epoch=True)``)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.mixing) if self.mixing is not None else len(self.entries)

    def stats(self) -> dict:
        """This process's load counts: ``attempts``, ``failures``, ``bad_fraction`` and ``bad_files``
        (path -> last failure reason); with a frame cache also ``cache_hits`` and ``cache_misses``."""
        stats = {"attempts": self._attempts, "failures": self._failures,
                 "bad_fraction": self._failures / self._attempts if self._attempts else 0.0,
                 "bad_files": dict(self._bad_files)}
        if self.frame_cache is not None:
            stats.update(cache_hits=self._cache_hits, cache_misses=self._cache_misses)
        return stats

    def _entry(self, position: int, epoch: int) -> IndexEntry:
        flat = self.mixing.flat(position, epoch) if self.mixing is not None else position
        return self.entries[flat]

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """Load item ``key`` (an index, or ``(epoch, index)``).

        Returns:
            dict with ``video`` (uint8 ``[T, H, W, 3]``, a list of ``num_clips`` of them, or the transform's
            output per clip), ``label`` int, ``path`` str, ``frame_indices`` (int64 ``[T]`` or a list per clip),
            ``failures`` list of ``"path: reason"`` for the loads that failed before this one succeeded.
        """
        epoch, index = (int(key[0]), int(key[1])) if isinstance(key, (tuple, list)) else (self.epoch, int(key))
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)}")
        failures: list[str] = []
        for attempt in range(self.max_retries + 1):
            gen = item_generator(self.seed, epoch, index, attempt)
            # Attempt 0 is the item itself; a retry draws its replacement first, from its own stream.
            position = index if attempt == 0 else int(torch.randint(len(self), (1,), generator=gen).item())
            entry = self._entry(position, epoch)
            self._attempts += 1
            try:
                clips, indices = self._load(entry, gen)
            except (BackendUnavailable, ConfigError):
                raise  # a setup problem, not a bad file
            except Exception as e:  # DataError, or a decoder surprise on an odd file: never stop the run for it
                text = " ".join(str(e).split())[:300]  # one line, however the exception formats itself
                reason = text if isinstance(e, DataError) else f"{type(e).__name__}: {text}"
                reason = reason if reason.startswith(entry.path) else f"{entry.path}: {reason}"
                failures.append(reason)
                self._failures += 1
                self._bad_files[entry.path] = reason
                self._check_bad_fraction()
                continue
            if self.transform is not None:
                clips = [self.transform(clip, gen) for clip in clips]
            one = self.num_clips == 1
            return {"video": clips[0] if one else clips, "label": entry.label, "path": entry.path,
                    "frame_indices": indices[0] if one else indices, "failures": failures}
        raise DataError(f"{len(failures)} loads in a row failed for item {index} (last: {failures[-1]}); "
                        "run `vjepa data check` on the index")

    def _check_bad_fraction(self) -> None:
        if self._attempts >= self.min_attempts and self._failures > self.max_bad_fraction * self._attempts:
            example = next(reversed(self._bad_files.values()))
            raise DataError(f"{self._failures} of {self._attempts} loads failed in this process, more than "
                            f"max_bad_fraction={self.max_bad_fraction:g} (e.g. {example}); run `vjepa data "
                            "check` on the index, then fix it or raise max_bad_fraction")

    def _load(self, entry: IndexEntry, gen: torch.Generator) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Decode one sample's clips: (uint8 ``[T, H, W, 3]`` per clip, int64 ``[T]`` frame indices per clip)."""
        if is_image(entry.path):
            image = load_image(entry.path, self.timeout_s)
            clip = image.unsqueeze(0).expand(self.image_frames, -1, -1, -1).contiguous()
            return [clip] * self.num_clips, [torch.zeros(self.image_frames, dtype=torch.int64)] * self.num_clips
        cached = self.frame_cache.lookup(entry.path) if self.frame_cache is not None else None
        if self.frame_cache is not None:
            self._cache_hits, self._cache_misses = self._cache_hits + bool(cached), self._cache_misses + (not cached)
        info = self.frame_cache.info(cached) if cached else self._infos.get(entry.path)
        if info is None:  # headers are cached per process: opening a file costs a keyframe decode (3-10 ms)
            info = probe_video(entry.path, self.timeout_s, read_frame=False)
            if len(self._infos) >= _INFO_CACHE_SIZE:
                self._infos.clear()
            self._infos[entry.path] = info
        step = self.frame_step
        if self.duration is not None:
            step = frame_step_for_duration(self.duration, info.fps, self.frames_per_clip)
        if self.filter_short_videos and info.num_frames < self.frames_per_clip * step:
            raise ShortVideo(f"{entry.path}: too short: {info.num_frames} frames, a clip spans "
                             f"{self.frames_per_clip * step} (filter_short_videos)")
        per_clip = clip_indices(info.num_frames, self.frames_per_clip, step, self.num_clips,
                                self.random_clip_sampling, self.allow_clip_overlap, gen, self.short_video)
        wanted = np.concatenate(per_clip)
        if cached:  # the same indices, read instead of decoded
            frames = self.frame_cache.frames(cached, wanted)
        else:
            frames = decode_frames(entry.path, wanted, backend=self.backend, timeout_s=self.timeout_s)
        clips = list(frames.split(self.frames_per_clip))
        return clips, [torch.from_numpy(i) for i in per_clip]


def _stack(values: list, key: str):
    """Stack same-shape tensors; recurse into lists (clips, views) position by position."""
    first = values[0]
    if isinstance(first, torch.Tensor):
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) > 1:
            raise DataError(f"batch {key!r} tensors have different shapes {sorted(shapes)[:3]}; give the dataset a "
                            "transform that crops every clip to one size")
        return torch.stack(values)
    if isinstance(first, (list, tuple)):
        return [_stack([v[k] for v in values], key) for k in range(len(first))]
    return list(values)


def collate_items(batch: list[dict]) -> dict:
    """Collate :class:`VideoDataset` items for a ``DataLoader``.

    Returns:
        dict with ``video`` stacked to ``[B, ...]`` (a list per clip/view when items hold lists), ``label``
        int64 ``[B]``, ``path`` list of str, ``frame_indices`` stacked like ``video`` (a list of per-item
        values when lengths differ), ``failures`` one flat list of ``"path: reason"`` strings.
    """
    try:
        indices = _stack([b["frame_indices"] for b in batch], "frame_indices")
    except DataError:  # image clips of another length than video clips: keep them per item
        indices = [b["frame_indices"] for b in batch]
    return {"video": _stack([b["video"] for b in batch], "video"),
            "label": torch.tensor([b["label"] for b in batch], dtype=torch.int64),
            "path": [b["path"] for b in batch], "frame_indices": indices,
            "failures": [f for b in batch for f in b["failures"]]}
