"""Training windows for world-model training: ``num_frames`` frames ``frame_step`` apart from the good episodes of
one or more trajectory sources (``vjepa.data.trajectories`` format), square-cropped and resized, and the order
they are drawn in as a pure function of (seed, step).

An item: ``frames`` float32 (3, T, S, S) normalised, ``states`` (T, A) at the window's frames, ``actions``
(T-1, A) where action t is the sum of the episode's actions from frame t to frame t+1 of the window (the state
difference when the episode has no actions file).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Sampler

from vjepa.core.errors import DataError
from vjepa.core.rng import keyed_generator
from vjepa.data.decode import decode_frames
from vjepa.data.trajectories import BadEpisode, Episode, normalize_frames, scan_episodes

ORDER_TAG = 0x3D0DE  # keyed stream of the window order, apart from every other stream


def square_resize(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> uint8 (T, size, size, 3): centre square crop, then bilinear resize when needed."""
    T, H, W, _ = frames.shape
    side = min(H, W)
    top, left = (H - side) // 2, (W - side) // 2
    frames = frames[:, top:top + side, left:left + side]
    if side == size:
        return frames
    x = frames.permute(0, 3, 1, 2).float()  # (T, 3, side, side)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=side > size)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


class WorldWindows(Dataset):
    """Windows of every good episode of ``sources``; ``skipped`` names the bad episodes with their reasons."""

    def __init__(self, sources: Sequence[str], num_frames: int, frame_step: int = 1, window_stride: int | None = None,
                 crop_size: int = 256, action_dim: int | None = None, cache_frames: bool = False) -> None:
        if not sources:
            raise DataError("no trajectory source given: pass at least one folder or CSV of episodes")
        span = (num_frames - 1) * frame_step + 1  # frames of the episode one window covers
        self.num_frames, self.frame_step, self.crop_size = num_frames, frame_step, crop_size
        self.episodes: list[Episode] = []
        self.skipped: list[BadEpisode] = []
        for source in sources:
            try:
                good, bad = scan_episodes(source, min_frames=span)
            except DataError as e:
                if len(sources) == 1:
                    raise
                self.skipped.append(BadEpisode(str(source), str(e)))
                continue
            self.episodes += good
            self.skipped += bad
        if not self.episodes:
            raise DataError(f"no usable episode in {', '.join(map(str, sources))} ({len(self.skipped)} bad)")
        widths = {e.states.shape[1] for e in self.episodes}
        if action_dim is not None and widths != {action_dim}:
            raise DataError(f"episodes have states of width {sorted(widths)}, the predictor's action_dim is "
                            f"{action_dim}; set predictor.action_dim to the data's width")
        stride = window_stride or span
        self.windows = [(e, start) for e, ep in enumerate(self.episodes)
                        for start in range(0, ep.num_frames - span + 1, stride)]
        self._cache: dict[int, torch.Tensor] | None = {} if cache_frames else None

    def __len__(self) -> int:
        return len(self.windows)

    def _frames(self, e: int, indices: list[int]) -> torch.Tensor:
        episode = self.episodes[e]
        if self._cache is None:
            return square_resize(decode_frames(episode.video, indices), self.crop_size)
        if e not in self._cache:
            all_frames = decode_frames(episode.video, list(range(episode.num_frames)))
            self._cache[e] = square_resize(all_frames, self.crop_size)
        return self._cache[e][indices]

    def __getitem__(self, index: int) -> dict:
        e, start = self.windows[index]
        episode = self.episodes[e]
        indices = list(range(start, start + (self.num_frames - 1) * self.frame_step + 1, self.frame_step))
        actions = torch.from_numpy(episode.actions[start:indices[-1]])  # (span - 1, A)
        actions = actions.reshape(self.num_frames - 1, self.frame_step, -1).sum(1)  # (T-1, A)
        return {"frames": normalize_frames(self._frames(e, indices)).movedim(0, 1),  # (3, T, S, S)
                "states": torch.from_numpy(episode.states[indices]), "actions": actions}


def window_order(seed: int, position: int, count: int) -> int:
    """The window drawn at ``position`` (step x batch + slot): passes over the data in an order shuffled per
    pass, keyed by (seed, pass), so the order is a pure function of the position and resumes exactly."""
    data_pass, offset = divmod(position, count)
    return int(_permutation(seed, data_pass, count)[offset])


@functools.lru_cache(maxsize=4)  # a pass is drawn once, not once per window
def _permutation(seed: int, data_pass: int, count: int) -> torch.Tensor:
    return torch.randperm(count, generator=keyed_generator(ORDER_TAG, seed, data_pass))


class StepBatches(Sampler):
    """Batches of window indices of steps ``start`` … ``end - 1`` (for ``DataLoader(batch_sampler=...)``).

    With ``world_size`` processes, rank r takes its contiguous share of every global batch of ``batch_size``:
    positions ``step * batch_size + r * per_rank + i`` (``per_rank = batch_size / world_size``), so the global
    batch of a step is the same at any world size."""

    def __init__(self, seed: int, count: int, batch_size: int, start: int, end: int, rank: int = 0,
                 world_size: int = 1) -> None:
        self.seed, self.count, self.batch_size, self.start, self.end = seed, count, batch_size, start, end
        self.per_rank, self.rank = batch_size // world_size, rank

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.end):
            first = step * self.batch_size + self.rank * self.per_rank
            yield [window_order(self.seed, first + i, self.count) for i in range(self.per_rank)]
