"""The mask collator: masks keyed by step and the micro-batch's slot in the global batch, whichever process
collates, and the same at every world size for the same micro-batch size."""

from __future__ import annotations

import torch

from vjepa.masks import VITL16_MASKS, MaskCollator, MaskGenerator


def samples(first: int, n: int) -> list[dict]:
    return [{"video": torch.full((3, 4, 8, 8), float(first + i)), "position": first + i} for i in range(n)]


def same(a: dict, b: dict) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a["ctx_idx"] + a["tgt_idx"], b["ctx_idx"] + b["tgt_idx"]))


def test_collator_keys_masks_by_step_and_slot():
    gen = MaskGenerator(VITL16_MASKS, (8, 14, 14), seed=3)
    # global batch 8 over 2 ranks, micro-batches of 2 -> 4 slots per step; rank 1 owns slots 2 and 3
    collate = MaskCollator(gen, batch_size=8, micro_batch_size=2, world_size=2)
    out = collate(samples(8 * 5 + 4 + 2, 2))  # step 5, rank 1, its micro-batch 1 = slot 3
    assert out["step"] == 5 and out["video"].shape == (2, 3, 4, 8, 8)
    expected_ctx, expected_tgt = gen(2, step=5 * 4 + 3, rank=0)
    for a, b in zip(out["ctx_idx"] + out["tgt_idx"], expected_ctx + expected_tgt):
        assert torch.equal(a, b)
    assert torch.equal(out["video"][:, 0, 0, 0, 0], torch.tensor([46.0, 47.0]))
    assert same(out, collate(samples(46, 2)))  # a pure function of the positions
    assert not same(out, collate(samples(44, 2)))  # another slot of the same step draws other masks


def test_same_slot_same_masks_at_any_world_size():
    gen = MaskGenerator(VITL16_MASKS, (8, 14, 14), seed=3)
    one = MaskCollator(gen, batch_size=8, micro_batch_size=2, world_size=1)  # 4 accumulation steps
    four = MaskCollator(gen, batch_size=8, micro_batch_size=2, world_size=4)  # 1 per rank
    for first in range(16, 24, 2):
        assert same(one(samples(first, 2)), four(samples(first, 2)))
