"""Tube masking for the pixel-reconstruction baseline (VideoMAE, Tong et al. 2022, ``TubeMaskingGenerator``).

A clip's token grid is (T', H', W'). Tube masking draws one random set of spatial positions per clip and masks it
at every time step, so a masked tubelet's neighbours in time are masked too and the decoder cannot copy a
tubelet from the frame before or after it. Exactly ``round(ratio · H'·W')`` positions are masked per clip (Python
``round``, half to even; VideoMAE truncates with ``int``, which agrees at its 14 x 14 grid and 0.9: 176).

Randomness is keyed like :class:`~vjepa.masks.generator.MaskGenerator`: the generator of a batch is a pure
function of (seed, rank, epoch, step), so masks never depend on the loader workers and a resumed run redraws the
masks it would have drawn. Token index of (t, h, w) is t·H'·W' + h·W' + w (t-major, as the encoder flattens).
"""

from __future__ import annotations

import torch

from vjepa.core.errors import ConfigError
from vjepa.core.rng import keyed_generator
from vjepa.masks.multiblock3d import Grid

TAG = 0x74756265  # "tube": keeps these streams apart from the other keyed generators


def num_masked(grid: Grid, ratio: float) -> int:
    """Spatial positions masked per clip: round(ratio · H'·W')."""
    return round(ratio * grid[1] * grid[2])


def tube_masks(grid: Grid, ratio: float, batch_size: int,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Visible and masked token indices of ``batch_size`` clips, each with its own spatial positions.

    Args:
        grid: (T', H', W') token grid.
        ratio: Fraction of the H'·W' spatial positions to mask.
        batch_size: Clips B.
        generator: Source of the draws (one ``rand`` of (B, H'·W')).

    Returns:
        (vis_idx, mask_idx): int64 (B, T'·(S − m)) and (B, T'·m), rows sorted ascending, with S = H'·W' and
        m = :func:`num_masked`; per clip the two partition [0, T'·S) and the same spatial positions are masked
        at every time step.
    """
    T, H, W = grid
    S, m = H * W, num_masked(grid, ratio)
    if not 0 < m < S:
        raise ConfigError(f"pixel.mask_ratio = {ratio} masks {m} of the {S} spatial positions per frame; need at "
                          "least one masked and one visible")
    order = torch.rand(batch_size, S, generator=generator).argsort(dim=1)  # a uniform permutation per clip
    masked, visible = order[:, :m].sort(dim=1).values, order[:, m:].sort(dim=1).values  # (B, m), (B, S - m)
    offsets = torch.arange(T).mul(S)[None, :, None]  # (1, T', 1): the first token of each time step

    def tubes(spatial: torch.Tensor) -> torch.Tensor:  # (B, k) spatial positions -> (B, T'·k) token indices
        return (offsets + spatial[:, None, :]).reshape(batch_size, -1)

    return tubes(visible), tubes(masked)


class TubeMaskGenerator:
    """Drop-in for :class:`~vjepa.masks.generator.MaskGenerator` in :class:`~vjepa.masks.collate.MaskCollator`:
    one mask configuration, whose context is the visible tubes and whose target is the masked ones.

    Args:
        grid: (T', H', W') token grid.
        ratio: ``pixel.mask_ratio``.
        seed: Run seed.
    """

    def __init__(self, grid: Grid, ratio: float, seed: int = 0) -> None:
        if len(grid) != 3 or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in grid):
            raise ConfigError(f"mask grid = {grid!r}: need three positive integers (T', H', W')")
        masked, spatial = num_masked(grid, ratio), grid[1] * grid[2]
        if not 0 < masked < spatial:
            raise ConfigError(f"pixel.mask_ratio = {ratio} masks {masked} of the {spatial} spatial positions per "
                              "frame; need at least one masked and one visible")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"run.seed = {seed!r}: must be an integer >= 0")
        self.grid: Grid = (grid[0], grid[1], grid[2])
        self.ratio, self.seed = ratio, seed

    def __call__(self, batch_size: int, *, step: int, epoch: int = 0, rank: int = 0,
                 ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """([vis_idx (B, K)], [mask_idx (B, M)]) of one batch: a pure function of (seed, rank, epoch, step)."""
        for name, value in (("batch_size", batch_size), ("step", step), ("epoch", epoch), ("rank", rank)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "batch_size" else 0):
                raise ValueError(f"{name} = {value!r}: must be an integer >= {1 if name == 'batch_size' else 0}")
        vis, masked = tube_masks(self.grid, self.ratio, batch_size, keyed_generator(TAG, self.seed, rank, epoch, step))
        return [vis], [masked]
