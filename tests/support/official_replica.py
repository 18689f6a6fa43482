"""A replica of the official collator's random streams, to check our masking against official numbers.

The official ``MaskCollator`` seeds each batch's block-size draws with a shared counter (0, 1, 2, ...) and draws
block positions from the worker's global torch RNG, one ``randint`` per coordinate, sample by sample and block by
block. Training never uses this (its masks depend on the number of workers); tests use it to reproduce the
official collator's token counts exactly, which a statistical comparison cannot do: the reference's own sampling
noise (e.g. 3.6 % standard error for the long-range context count at batch 24) exceeds a 2 % tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vjepa.masks.multiblock3d import Grid, equalize, sample_block_size
from vjepa.masks.spec import MaskSpec


class OfficialMaskStream:
    """Calls of the official collator on one process: ``positions`` plays the global RNG after
    ``torch.manual_seed(seed)``, and the counter starts at 0 as the official one (−1, incremented first) does."""

    def __init__(self, specs: Sequence[MaskSpec], grid: Grid, seed: int = 0) -> None:
        self.specs, self.grid = list(specs), grid
        self.positions = torch.Generator().manual_seed(seed)
        self.counter = 0

    def _sample(self, spec: MaskSpec, size: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        T, H, W = self.grid
        t, h, w = size
        keep_t = T if spec.max_temporal_keep >= 1 else max(1, int(T * spec.max_temporal_keep))
        while True:  # the official loop redraws positions until the context is not empty
            keep = torch.ones(T, H, W, dtype=torch.bool)
            for _ in range(spec.num_blocks):
                top = int(torch.randint(0, H - h + 1, (1,), generator=self.positions))
                left = int(torch.randint(0, W - w + 1, (1,), generator=self.positions))
                start = int(torch.randint(0, T - t + 1, (1,), generator=self.positions))
                keep[start : start + t, top : top + h, left : left + w] = False
                keep[keep_t:] = False
            keep = keep.flatten()
            if keep.any():
                return keep.nonzero().flatten(), (~keep).nonzero().flatten()

    def __call__(self, batch_size: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(masks_enc, masks_pred) of one batch in the official ``truncate`` mode: per spec (B, K_i), (B, M_i)."""
        enc, pred = [], []
        for spec in self.specs:
            # Each spec's generator has its own counter in the official code; they advance in lock-step.
            size = sample_block_size(spec, self.grid, torch.Generator().manual_seed(self.counter))
            samples = [self._sample(spec, size) for _ in range(batch_size)]
            ctx, tgt = equalize([c for c, _ in samples], [t for _, t in samples], "truncate", self.positions,
                                spec.max_keep)
            enc.append(ctx)
            pred.append(tgt)
        self.counter += 1
        return enc, pred
