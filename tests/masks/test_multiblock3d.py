"""Block sizes, placement and batch equalisation of the multi-block 3D masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.masks import VITL16_MASKS, MaskSpec, equalize, sample_block_size
from vjepa.masks.multiblock3d import sample_masks, sample_sample_mask

REF = Path(__file__).parent.parent / "fixtures" / "official_vjepa_tiny" / "mask_collator_stats_vitl16_16x224x224.json"
GRID = (8, 14, 14)
N = 8 * 14 * 14


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("i", [0, 1])
def test_block_sizes_match_official_counter_seeds(i: int) -> None:
    expected = json.loads(REF.read_text())["block_sizes_tHW_for_counter_seeds_0_to_9"][i]
    got = [list(sample_block_size(VITL16_MASKS[i], GRID, gen(c))) for c in range(10)]
    assert got == expected


def test_block_size_clipped_to_grid_and_never_empty() -> None:
    big = MaskSpec(spatial_scale=(1.0, 1.0), aspect_ratio=(3.0, 3.0))
    tiny = MaskSpec(spatial_scale=(0.01, 0.01), temporal_scale=(0.01, 0.01))
    for c in range(5):
        # n = 16, ar = 3: h = round(√48) = 7 → clipped to 4, w = round(√(16/3)) = 2
        assert sample_block_size(big, (2, 4, 4), gen(c)) == (2, 4, 2)
        assert sample_block_size(tiny, (2, 4, 4), gen(c)) == (1, 1, 1)


@pytest.mark.parametrize(
    "spec", [*VITL16_MASKS, MaskSpec(temporal_scale=(0.3, 0.6), num_blocks=3, max_temporal_keep=0.6)]
)
def test_context_and_target_partition_the_tokens(spec: MaskSpec) -> None:
    g = gen(3)
    size = sample_block_size(spec, GRID, g)
    ctxs, tgts = sample_masks(spec, GRID, size, 16, g)
    assert len(ctxs) == len(tgts) == 16
    for ctx, tgt in zip(ctxs, tgts):
        assert ctx.dtype == tgt.dtype == torch.int64 and ctx.ndim == tgt.ndim == 1
        assert ctx.numel() > 0 and tgt.numel() > 0
        assert bool((ctx.diff() > 0).all()) and bool((tgt.diff() > 0).all())
        assert torch.equal(torch.cat([ctx, tgt]).sort().values, torch.arange(N))


def test_single_context_token_stays_1d() -> None:
    ctx, tgt = sample_sample_mask(MaskSpec(), (1, 1, 2), (1, 1, 1), gen(0))
    assert ctx.shape == (1,) and tgt.shape == (1,) and {ctx.item(), tgt.item()} == {0, 1}


def test_block_is_a_box_of_the_drawn_size() -> None:
    spec = MaskSpec(num_blocks=1)
    ctx, tgt = sample_sample_mask(spec, GRID, (3, 5, 4), gen(1))
    t, rest = tgt // 196, tgt % 196
    h, w = rest // 14, rest % 14
    assert tgt.numel() == 3 * 5 * 4
    assert (t.max() - t.min(), h.max() - h.min(), w.max() - w.min()) == (2, 4, 3)


def test_max_temporal_keep_sends_late_steps_to_target() -> None:
    spec = MaskSpec(spatial_scale=(0.1, 0.1), max_temporal_keep=0.4)  # keeps ⌊8·0.4⌋ = 3 time steps
    g = gen(5)
    ctxs, tgts = sample_masks(spec, GRID, sample_block_size(spec, GRID, g), 8, g)
    late = torch.arange(3 * 196, N)
    for ctx, tgt in zip(ctxs, tgts):
        assert int(ctx.max()) < 3 * 196
        assert bool(torch.isin(late, tgt).all())


def test_always_empty_context_raises_config_error() -> None:
    spec = MaskSpec(spatial_scale=(1.0, 1.0), aspect_ratio=(1.0, 1.0))
    with pytest.raises(ConfigError, match="no context token"):
        sample_sample_mask(spec, (2, 4, 4), sample_block_size(spec, (2, 4, 4), gen(0)), gen(0))


def ragged() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    ctx = [torch.tensor([0, 2, 4, 6, 8]), torch.tensor([1, 3, 5]), torch.tensor([2, 4, 6, 9])]
    tgt = [torch.tensor([1, 3, 5, 7, 9]), torch.tensor([0, 2, 4, 6, 7, 8, 9]), torch.tensor([0, 1, 3, 5, 7, 8])]
    return ctx, tgt


def test_truncate_keeps_lowest_indices() -> None:
    ctx, tgt = equalize(*ragged(), "truncate", gen(0))
    assert ctx.tolist() == [[0, 2, 4], [1, 3, 5], [2, 4, 6]]
    assert tgt.tolist() == [[1, 3, 5, 7, 9], [0, 2, 4, 6, 7], [0, 1, 3, 5, 7]]
    assert ctx.dtype == tgt.dtype == torch.int64


def test_random_subset_is_sorted_equal_length_subset() -> None:
    src_ctx, src_tgt = ragged()
    differs = False
    for seed in range(20):
        ctx, tgt = equalize(src_ctx, src_tgt, "random_subset", gen(seed))
        assert ctx.shape == (3, 3) and tgt.shape == (3, 5)
        for rows, src in ((ctx, src_ctx), (tgt, src_tgt)):
            for row, full in zip(rows, src):
                assert bool((row.diff() > 0).all()) and bool(torch.isin(row, full).all())
        differs |= ctx[0].tolist() != [0, 2, 4]
    assert differs  # not always the lowest entries
    assert torch.equal(equalize(src_ctx, src_tgt, "random_subset", gen(7))[0],
                       equalize(src_ctx, src_tgt, "random_subset", gen(7))[0])


def test_random_subset_has_no_positional_bias() -> None:
    full = torch.arange(100)
    ctx_list, tgt_list = [full] * 400 + [full[:50]], [full] * 401
    mean_trunc = equalize(ctx_list, tgt_list, "truncate", gen(0))[0].double().mean()
    mean_rand = equalize(ctx_list, tgt_list, "random_subset", gen(0))[0][:400].double().mean()
    assert mean_trunc < 25 and abs(mean_rand - 49.5) < 1.0


@pytest.mark.parametrize("mode", ["truncate", "random_subset"])
def test_max_keep_caps_context(mode: str) -> None:
    ctx, tgt = equalize(*ragged(), mode, gen(0), max_keep=2)
    assert ctx.shape == (3, 2) and tgt.shape == (3, 5)


def test_none_mode() -> None:
    ctx, tgt = ragged()
    out_ctx, out_tgt = equalize(ctx[:1], tgt[:1], "none", gen(0))
    assert out_ctx.tolist() == [[0, 2, 4, 6, 8]] and out_tgt.shape == (1, 5)
    same = [torch.tensor([0, 1]), torch.tensor([2, 3])]
    assert equalize(same, same, "none", gen(0))[0].shape == (2, 2)
    with pytest.raises(ConfigError, match="random_subset"):
        equalize(ctx, tgt, "none", gen(0))
    with pytest.raises(ConfigError, match="max_keep"):
        equalize(ctx[:1], tgt[:1], "none", gen(0), max_keep=2)


def test_unknown_mode_raises() -> None:
    with pytest.raises(ConfigError, match="'first'"):
        equalize(*ragged(), "first", gen(0))
