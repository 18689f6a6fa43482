"""Multi-block 3D masking: block sizes, per-sample block placement and batch equalisation.

Pure functions; every random draw takes an explicit ``torch.Generator`` (the global RNG is never used), so a
mask is a function of the generator's seed only. Token index of grid cell (t, h, w) is t·H'·W' + h·W' + w
(t-major, as the encoder flattens its tubelets).

Differences from the official ``src/masks/multiblock3d.py`` (see the spec, §4 and §10 items 12-14):

* block positions come from the given generator instead of the worker's global RNG;
* a block side is never smaller than 1 (the official code could draw an empty block for tiny scales);
* index lists are always 1-D (the official ``squeeze()`` made a single index a 0-d tensor);
* redrawing positions when the context is empty is bounded and ends in a :class:`ConfigError`;
* besides the official ``truncate`` equalisation there is an unbiased ``random_subset``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from vjepa.core.errors import ConfigError
from vjepa.masks.spec import MaskSpec

Grid = tuple[int, int, int]
EQUALIZE_MODES = ("random_subset", "truncate", "none")
MAX_TRIES = 20
"""Position draws per sample before an always-empty context is reported as a configuration error."""


def _uniform(bounds: Sequence[float], generator: torch.Generator) -> float:
    """min + u·(max − min) with one ``torch.rand(1)`` draw, computed in Python floats as the official code."""
    u = torch.rand(1, generator=generator).item()
    return bounds[0] + u * (bounds[1] - bounds[0])


def sample_block_size(spec: MaskSpec, grid: Grid, generator: torch.Generator) -> tuple[int, int, int]:
    """Draw the (t, h, w) size of the blocks of one batch, with the official draw order and arithmetic.

    Three uniform draws in the order temporal scale, spatial scale, aspect ratio; t = max(1, ⌊T'·s_t⌋),
    n = ⌊H'·W'·s_s⌋, h = round(√(n·ar)), w = round(√(n/ar)), each side clipped to the grid size.

    Args:
        spec: the mask configuration.
        grid: (T', H', W') token grid.
        generator: source of the three draws.

    Returns:
        (t, h, w) block size in tokens, 1 ≤ t ≤ T', 1 ≤ h ≤ H', 1 ≤ w ≤ W'.
    """
    T, H, W = grid
    s_t = _uniform(spec.temporal_scale, generator)
    s_s = _uniform(spec.spatial_scale, generator)
    ar = _uniform(spec.aspect_ratio, generator)
    t = min(max(1, int(T * s_t)), T)
    n = int(H * W * s_s)
    # Python's round (half to even) as in the official code; the lower bound 1 is ours (never an empty block).
    h = max(1, min(int(round(math.sqrt(n * ar))), H))
    w = max(1, min(int(round(math.sqrt(n / ar))), W))
    return t, h, w


def _keep_grid(
    grid: Grid, block_size: tuple[int, int, int], num_blocks: int, keep_t: int, n: int, generator: torch.Generator
) -> torch.Tensor:
    """(n, T'·H'·W') bool: True where no block of the sample covers the token and its time step < keep_t."""
    T, H, W = grid
    t, h, w = block_size
    # One draw per coordinate for all samples and blocks, in the order top, left, start.
    top = torch.randint(0, H - h + 1, (n, num_blocks, 1), generator=generator)
    left = torch.randint(0, W - w + 1, (n, num_blocks, 1), generator=generator)
    start = torch.randint(0, T - t + 1, (n, num_blocks, 1), generator=generator)
    ts, hs, ws = torch.arange(T), torch.arange(H), torch.arange(W)
    in_t = (ts >= start) & (ts < start + t)  # (n, blocks, T)
    in_h = (hs >= top) & (hs < top + h)  # (n, blocks, H)
    in_w = (ws >= left) & (ws < left + w)  # (n, blocks, W)
    # Number of blocks covering each cell (an outer product summed over blocks; exact small integers).
    covering = torch.einsum("nbt,nbh,nbw->nthw", in_t.float(), in_h.float(), in_w.float())
    keep = covering == 0  # (n, T, H, W)
    keep[:, keep_t:] = False  # late time steps are never context (no-op when keep_t == T)
    return keep.reshape(n, -1)


def sample_masks(
    spec: MaskSpec, grid: Grid, block_size: tuple[int, int, int], batch_size: int, generator: torch.Generator
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Place ``spec.num_blocks`` blocks of ``block_size`` independently in each of ``batch_size`` samples.

    Positions are uniform: top ∈ [0, H'−h], left ∈ [0, W'−w], start ∈ [0, T'−t]. When
    ``max_temporal_keep`` < 1, time steps ≥ max(1, ⌊T'·max_temporal_keep⌋) also go to the target. A sample
    whose context is empty gets new positions, at most :data:`MAX_TRIES` times. Draws are vectorised: all
    tops (B × blocks), then all lefts, then all starts (the official code used the worker's global RNG, so
    there is no official position stream to reproduce).

    Args:
        spec: the mask configuration.
        grid: (T', H', W') token grid.
        block_size: (t, h, w) from :func:`sample_block_size`.
        batch_size: number of samples B.
        generator: source of the position draws.

    Returns:
        (ctx_list, tgt_list): B sorted int64 1-D tensors each; per sample the context (kept tokens) and the
        target (its complement) partition [0, T'·H'·W').

    Raises:
        ConfigError: when some sample still has no context token after :data:`MAX_TRIES` draws.
    """
    T = grid[0]
    keep_t = T if spec.max_temporal_keep >= 1 else max(1, int(T * spec.max_temporal_keep))
    keep = _keep_grid(grid, block_size, spec.num_blocks, keep_t, batch_size, generator)
    for _ in range(MAX_TRIES - 1):
        empty = (~keep.any(dim=1)).nonzero().flatten()
        if empty.numel() == 0:
            break
        keep[empty] = _keep_grid(grid, block_size, spec.num_blocks, keep_t, empty.numel(), generator)
    if not keep.any(dim=1).all():
        raise ConfigError(
            f"mask spec {spec} leaves no context token on grid {tuple(grid)} with blocks of size {block_size} "
            f"after {MAX_TRIES} tries; lower spatial_scale, temporal_scale or num_blocks"
        )
    # Row-major nonzero lists each row's indices in ascending order; split them per sample.
    n_ctx = keep.count_nonzero(dim=1).tolist()  # (bool .sum is much slower on CPU)
    ctx = keep.nonzero(as_tuple=True)[1].split(n_ctx)
    tgt = (~keep).nonzero(as_tuple=True)[1].split([keep.shape[1] - k for k in n_ctx])
    return list(ctx), list(tgt)


def sample_sample_mask(
    spec: MaskSpec, grid: Grid, block_size: tuple[int, int, int], generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Context and target indices of one sample (:func:`sample_masks` with B = 1).

    Returns:
        (ctx_idx, tgt_idx): sorted int64 1-D tensors partitioning [0, T'·H'·W').
    """
    ctx, tgt = sample_masks(spec, grid, block_size, 1, generator)
    return ctx[0], tgt[0]


def _subset(idx: torch.Tensor, k: int, mode: str, generator: torch.Generator) -> torch.Tensor:
    """k entries of the sorted 1-D ``idx``: the first k (truncate) or a uniform random subset, kept sorted."""
    if idx.numel() == k:
        return idx
    if mode == "truncate":
        return idx[:k]
    chosen = torch.randperm(idx.numel(), generator=generator)[:k]
    return idx[chosen.sort().values]


def equalize(
    ctx_list: Sequence[torch.Tensor],
    tgt_list: Sequence[torch.Tensor],
    mode: str,
    generator: torch.Generator,
    max_keep: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Give all samples of a batch the same number of context (K) and target (M) tokens, and stack them.

    K = min context length (capped by ``max_keep``), M = min target length.

    Args:
        ctx_list: B sorted int64 1-D context index tensors.
        tgt_list: B sorted int64 1-D target index tensors.
        mode: ``"truncate"`` (official: keep the lowest indices, which biases against late frames and bottom
            rows), ``"random_subset"`` (keep a uniform random subset, sorted; no positional bias) or
            ``"none"`` (no equalisation; only when the lengths already agree or B == 1).
        generator: source of the ``random_subset`` draws.
        max_keep: optional cap on K.

    Returns:
        (ctx, tgt): int64 tensors of shape (B, K) and (B, M), rows sorted ascending.

    Raises:
        ConfigError: unknown mode, or ``"none"`` with unequal lengths or a binding ``max_keep``.
    """
    if mode not in EQUALIZE_MODES:
        raise ConfigError(f"masks.equalize = {mode!r}: use one of {', '.join(EQUALIZE_MODES)}")
    if len(ctx_list) != len(tgt_list) or not ctx_list:
        raise ValueError(f"need as many context as target lists (≥ 1), got {len(ctx_list)} and {len(tgt_list)}")
    k = min(c.numel() for c in ctx_list)
    m = min(t.numel() for t in tgt_list)
    if max_keep is not None:
        k = min(k, max_keep)
    if mode == "none":
        if max_keep is not None and any(c.numel() > max_keep for c in ctx_list):
            raise ConfigError(f"max_keep = {max_keep} needs masks.equalize 'random_subset' or 'truncate', not 'none'")
        ragged = any(c.numel() != k for c in ctx_list) or any(t.numel() != m for t in tgt_list)
        if ragged and len(ctx_list) > 1:
            raise ConfigError(
                f"masks.equalize = 'none' with a batch of {len(ctx_list)} samples whose token counts differ; "
                "use 'random_subset' or 'truncate' (or a batch size of 1)"
            )
        return torch.stack(list(ctx_list)), torch.stack(list(tgt_list))
    ctx = torch.stack([_subset(c, k, mode, generator) for c in ctx_list])
    tgt = torch.stack([_subset(t, m, mode, generator) for t in tgt_list])
    return ctx, tgt
