"""The mask collator: masks keyed by step and micro-batch, whichever process collates."""

from __future__ import annotations

import torch

from vjepa.masks import VITL16_MASKS, MaskCollator, MaskGenerator


def samples(first: int, n: int) -> list[dict]:
    return [{"video": torch.full((3, 4, 8, 8), float(first + i)), "position": first + i} for i in range(n)]


def test_collator_keys_masks_by_step_and_micro_batch():
    gen = MaskGenerator(VITL16_MASKS, (8, 14, 14), seed=3)
    # global batch 8 over 2 ranks, micro-batches of 2 -> 2 micro-batches per rank and step
    collate = MaskCollator(gen, batch_size=8, micro_batch_size=2, world_size=2, rank=1)
    out = collate(samples(8 * 5 + 4 + 2, 2))  # step 5, rank 1, micro-batch 1
    assert out["step"] == 5 and out["video"].shape == (2, 3, 4, 8, 8)
    expected_ctx, expected_tgt = gen(2, step=5 * 2 + 1, rank=1)
    for a, b in zip(out["ctx_idx"] + out["tgt_idx"], expected_ctx + expected_tgt):
        assert torch.equal(a, b)
    assert torch.equal(out["video"][:, 0, 0, 0, 0], torch.tensor([46.0, 47.0]))
    again = collate(samples(46, 2))  # a pure function of the positions
    assert all(torch.equal(a, b) for a, b in zip(out["ctx_idx"], again["ctx_idx"]))
    other = collate(samples(44, 2))  # micro-batch 0 of the same step draws other masks
    assert not all(torch.equal(a, b) for a, b in zip(out["ctx_idx"], other["ctx_idx"]))
