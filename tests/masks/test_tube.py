"""Tube masking: exact ratio and shapes, the same spatial positions at every time step, keyed determinism."""

from __future__ import annotations

import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.masks import MaskCollator
from vjepa.masks.tube import TubeMaskGenerator, num_masked, tube_masks


@pytest.mark.parametrize("grid, ratio, masked", [((8, 4, 4), 0.9, 14), ((8, 14, 14), 0.9, 176), ((4, 2, 2), 0.75, 3),
                                                 ((2, 3, 3), 0.5, 4)])
def test_exact_ratio_and_shapes(grid, ratio, masked):
    T, H, W = grid
    S = H * W
    assert num_masked(grid, ratio) == masked == round(ratio * S)
    vis, msk = tube_masks(grid, ratio, 5, torch.Generator().manual_seed(0))
    assert vis.shape == (5, T * (S - masked)) and msk.shape == (5, T * masked)
    assert vis.dtype == msk.dtype == torch.int64
    for v, m in zip(vis, msk):
        assert torch.equal(torch.cat([v, m]).sort().values, torch.arange(T * S))  # a partition of the tokens
        assert torch.equal(v, v.sort().values) and torch.equal(m, m.sort().values)


def test_the_same_positions_are_masked_at_every_time_step():
    grid = (8, 4, 4)
    vis, msk = tube_masks(grid, 0.9, 16, torch.Generator().manual_seed(1))
    for idx in (vis, msk):
        per_t = idx.reshape(16, 8, -1)  # (B, T', k): t-major, so each time step is a contiguous block
        t = per_t // 16
        assert torch.equal(t, torch.arange(8)[None, :, None].expand_as(t))
        spatial = per_t % 16
        assert torch.equal(spatial, spatial[:, :1].expand_as(spatial))  # identical over time
    spatial_sets = {tuple(s.tolist()) for s in msk.reshape(16, 8, -1)[:, 0]}
    assert len(spatial_sets) > 1  # each clip draws its own positions


def test_positions_are_uniform():
    _, msk = tube_masks((1, 4, 4), 0.25, 4000, torch.Generator().manual_seed(2))
    counts = torch.bincount(msk.flatten(), minlength=16).float() / 4000
    assert torch.allclose(counts, torch.full((16,), 0.25), atol=0.03)


def test_generator_is_keyed_and_deterministic():
    gen = TubeMaskGenerator((8, 4, 4), 0.9, seed=3)
    a, b = gen(4, step=7), gen(4, step=7)
    assert torch.equal(a[0][0], b[0][0]) and torch.equal(a[1][0], b[1][0])
    assert not torch.equal(gen(4, step=8)[1][0], a[1][0])
    assert not torch.equal(TubeMaskGenerator((8, 4, 4), 0.9, seed=4)(4, step=7)[1][0], a[1][0])
    torch.manual_seed(0)
    x = gen(4, step=7)
    torch.manual_seed(1)  # the global RNG plays no part
    assert torch.equal(gen(4, step=7)[1][0], x[1][0])


def test_works_as_the_collators_mask_source():
    collate = MaskCollator(TubeMaskGenerator((4, 2, 2), 0.75, seed=0), batch_size=4, micro_batch_size=2)
    batch = collate([{"video": torch.zeros(3, 8, 32, 32), "position": p} for p in (2, 3)])
    (vis,), (msk,) = batch["ctx_idx"], batch["tgt_idx"]
    assert vis.shape == (2, 4) and msk.shape == (2, 12)


@pytest.mark.parametrize("ratio", [0.99, 0.01, 1.0])
def test_ratios_leaving_nothing_visible_or_masked_are_refused(ratio):
    with pytest.raises(ConfigError, match="pixel.mask_ratio"):
        TubeMaskGenerator((4, 2, 2), ratio)
