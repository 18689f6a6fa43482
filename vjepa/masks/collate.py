"""A DataLoader ``collate_fn`` that stacks the clips of a micro-batch and draws its masks in the loader worker."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vjepa.masks.generator import MaskGenerator


class MaskCollator:
    """Collates samples ``{"video": (C, T, H, W), "position": int, ...}`` into one micro-batch with its masks.

    The masks are keyed by the optimizer step and the micro-batch's *slot* in the global batch, both derived from
    the global position of its first sample (position = step · batch_size + slot · micro_batch_size + i, where rank
    r of W owns the consecutive slots r·A … r·A + A − 1, A being its accumulation steps). The generator key is
    (step · slots_per_step + slot) with rank 0: every rank draws from streams no other rank uses, the masks are the
    same whichever worker collates the batch, a resumed run draws the same masks, and a run with the same
    micro-batch size draws the same masks at any world size (what makes a 2-process run equal a 1-process one).

    Args:
        masks: the mask generator (specs, grid, seed, equalisation mode).
        batch_size: global batch size (all ranks, all micro-batches of one optimizer step).
        micro_batch_size: samples per forward pass on one rank.
        world_size: number of processes (the slot, hence the rank, follows from the sample positions).
    """

    def __init__(self, masks: MaskGenerator, batch_size: int, micro_batch_size: int, world_size: int = 1) -> None:
        if batch_size % (world_size * micro_batch_size):
            raise ValueError(f"batch size {batch_size} is not a multiple of {world_size} ranks x micro-batch "
                             f"{micro_batch_size}")
        self.masks, self.batch_size, self.micro = masks, batch_size, micro_batch_size
        self.slots = batch_size // micro_batch_size  # micro-batches per optimizer step, all ranks together

    def __call__(self, samples: Sequence[dict]) -> dict:
        first = int(samples[0]["position"])
        step, offset = divmod(first, self.batch_size)
        slot = offset // self.micro
        ctx, tgt = self.masks(len(samples), step=step * self.slots + slot, rank=0)
        return {
            "video": torch.stack([s["video"] for s in samples]),  # (B, C, T, H, W)
            "ctx_idx": ctx,
            "tgt_idx": tgt,
            "step": step,
            "failures": [f for s in samples for f in s.get("failures", ())],
        }
