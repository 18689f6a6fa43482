"""A DataLoader ``collate_fn`` that stacks the clips of a micro-batch and draws its masks in the loader worker."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vjepa.masks.generator import MaskGenerator


class MaskCollator:
    """Collates samples ``{"video": (C, T, H, W), "position": int, ...}`` into one micro-batch with its masks.

    The masks are keyed by the optimizer step and the micro-batch index, both derived from the global position of
    the micro-batch's first sample (position = step · batch_size + rank · per_rank + micro · micro_batch_size + i).
    They are therefore the same whichever worker collates the batch, and a resumed run draws the same masks.

    Args:
        masks: the mask generator (specs, grid, seed, equalisation mode).
        batch_size: global batch size (all ranks, all micro-batches of one optimizer step).
        micro_batch_size: samples per forward pass on one rank.
        world_size, rank: the process layout.
    """

    def __init__(self, masks: MaskGenerator, batch_size: int, micro_batch_size: int, world_size: int = 1,
                 rank: int = 0) -> None:
        self.masks, self.batch_size, self.micro = masks, batch_size, micro_batch_size
        self.per_rank, self.rank = batch_size // world_size, rank
        self.accum = self.per_rank // micro_batch_size

    def __call__(self, samples: Sequence[dict]) -> dict:
        first = int(samples[0]["position"])
        step, offset = divmod(first, self.batch_size)
        micro = (offset - self.rank * self.per_rank) // self.micro
        ctx, tgt = self.masks(len(samples), step=step * self.accum + micro, rank=self.rank)
        return {
            "video": torch.stack([s["video"] for s in samples]),  # (B, C, T, H, W)
            "ctx_idx": ctx,
            "tgt_idx": tgt,
            "step": step,
            "failures": [f for s in samples for f in s.get("failures", ())],
        }
