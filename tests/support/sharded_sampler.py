"""A distributed-ready sampler: one shuffled order per (seed, epoch), split across ranks.

The order depends only on (seed, epoch, num_samples, world_size, drop_last), never on the number of loader
workers or on global RNG state, so a run resumes and reproduces exactly. With ``with_epoch=True`` the sampler
yields ``(epoch, index)`` pairs that :class:`vjepa.data.video_dataset.VideoDataset` accepts, which carries the
epoch into persistent loader workers (whose dataset copies never see a later ``set_epoch``).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

from vjepa.core.errors import ConfigError

_ORDER_TAG = 0x5A4D  # keeps the order stream apart from the other (seed, ...)-keyed streams


class ShardedSampler(Sampler):
    """Shuffle ``range(num_samples)`` per epoch and give rank ``r`` the positions ``r, r + W, r + 2W, ...``.

    Like ``DistributedSampler``: without ``drop_last`` the order is padded by wrapping around so every rank
    gets ``ceil(N / W)`` samples; with it, truncated to ``floor(N / W)`` per rank.

    Args:
        num_samples: Dataset length N.
        world_size: Number of ranks W.
        rank: This rank, in ``[0, W)``.
        shuffle: Shuffle per epoch (else the natural order).
        seed: Seed of the order; must be the same on every rank.
        drop_last: Drop the tail instead of padding.
        with_epoch: Yield ``(epoch, index)`` instead of ``index``.
    """

    def __init__(self, num_samples: int, world_size: int = 1, rank: int = 0, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, with_epoch: bool = False) -> None:
        if num_samples < 1:
            raise ConfigError(f"the sampler needs at least one sample, got num_samples={num_samples}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(f"rank {rank} must be in [0, world_size={world_size})")
        if drop_last and num_samples < world_size:
            raise ConfigError(f"drop_last with {num_samples} samples and {world_size} ranks leaves nothing")
        self.num_samples, self.world_size, self.rank = int(num_samples), int(world_size), int(rank)
        self.shuffle, self.seed, self.drop_last, self.with_epoch = shuffle, int(seed), drop_last, with_epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the order of ``epoch`` (call before iterating, on every rank)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n, w = self.num_samples, self.world_size
        return n // w if self.drop_last else -(-n // w)

    def order(self) -> list[int]:
        """All ranks' positions for the current epoch, before the split (length ``len(self) * world_size``)."""
        if self.shuffle:
            state = np.random.SeedSequence([_ORDER_TAG, self.seed, self.epoch]).generate_state(1, np.uint64)[0]
            gen = torch.Generator().manual_seed(int(state >> np.uint64(1)))
            order = torch.randperm(self.num_samples, generator=gen).tolist()
        else:
            order = list(range(self.num_samples))
        total = len(self) * self.world_size
        while len(order) < total:  # pad by wrapping (possibly several times when N < W)
            order += order[:total - len(order)]
        return order[:total]

    def __iter__(self) -> Iterator:
        mine = self.order()[self.rank::self.world_size]
        if self.with_epoch:
            return iter([(self.epoch, i) for i in mine])
        return iter(mine)
