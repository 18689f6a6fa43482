"""Per-batch multi-block 3D masks for pretraining, as a pure function of (seed, rank, epoch, step).

Randomness. For mask spec i the generator of a batch is a fresh ``torch.Generator`` seeded with
``numpy.random.SeedSequence([TAG, seed, rank, epoch, step, i]).generate_state(1, uint64)`` (``TAG`` keeps
these streams apart from other users of the same numbers). The masks therefore never depend on the number of
DataLoader workers, on the global torch RNG or on what ran before, and a resumed run draws exactly the masks
it would have drawn. As in the official collator, the block size is drawn once per batch and spec (shared by
all samples), then positions per sample and per block. Unlike it, ranks draw different block sizes.

Why ``random_subset`` is the default. Samples of a batch have different context/target counts and must be
equalised to be stacked. The official code truncates each sorted index list to the batch minimum, keeping its
lowest indices, so the dropped tokens are always the latest time steps and bottom rows: the encoder sees late
frames less often and the loss ignores them more often. ``random_subset`` keeps the same number of tokens (so
the same compute and the same effective masking ratio) but chooses them uniformly. ``truncate`` reproduces the
official behaviour; ``none`` is for batches of one sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from vjepa.core.errors import ConfigError
from vjepa.masks.multiblock3d import EQUALIZE_MODES, Grid, equalize, sample_block_size, sample_masks
from vjepa.masks.spec import MaskSpec

TAG = 0x6D61736B  # "mask"


def grid_for(num_frames: int, crop_size: int, patch_size: int, tubelet_size: int) -> Grid:
    """Token grid (T', H', W') of a clip: (num_frames / tubelet_size, crop_size / patch_size, same).

    Raises:
        ConfigError: a size that is not a positive integer, or that does not divide.
    """
    sizes = {"num_frames": num_frames, "crop_size": crop_size, "patch_size": patch_size, "tubelet_size": tubelet_size}
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} = {value!r}: must be a positive integer")
    if num_frames % tubelet_size:
        raise ConfigError(f"num_frames = {num_frames} is not a multiple of tubelet_size = {tubelet_size}")
    if crop_size % patch_size:
        raise ConfigError(f"crop_size = {crop_size} is not a multiple of patch_size = {patch_size}")
    return num_frames // tubelet_size, crop_size // patch_size, crop_size // patch_size


def _check_range(i: int, name: str, value: object, upper: float | None) -> None:
    """(min, max) with 0 < min ≤ max (≤ upper when given), else a ConfigError naming the field."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ok = ok and 0 < value[0] <= value[1] and (upper is None or value[1] <= upper)
    if not ok:
        bound = f" <= {upper:g}" if upper is not None else ""
        raise ConfigError(f"masks.blocks[{i}].{name} = {value!r}: need a pair (min, max) with 0 < min <= max{bound}")


def check_spec(i: int, spec: MaskSpec) -> None:
    """Validate mask spec number ``i``; raises ConfigError with a one-line message naming field and value."""
    _check_range(i, "spatial_scale", spec.spatial_scale, 1.0)
    _check_range(i, "temporal_scale", spec.temporal_scale, 1.0)
    _check_range(i, "aspect_ratio", spec.aspect_ratio, None)
    nb = spec.num_blocks
    if isinstance(nb, bool) or not isinstance(nb, int) or nb < 1:
        raise ConfigError(f"masks.blocks[{i}].num_blocks = {nb!r}: must be an integer >= 1")
    x = spec.max_temporal_keep
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x <= 1:
        raise ConfigError(f"masks.blocks[{i}].max_temporal_keep = {x!r}: must be in (0, 1]")
    mk = spec.max_keep
    if mk is not None and (isinstance(mk, bool) or not isinstance(mk, int) or mk < 1):
        raise ConfigError(f"masks.blocks[{i}].max_keep = {mk!r}: must be null or an integer >= 1")


class MaskGenerator:
    """Draws the context/target token indices of a batch for each mask spec.

    Args:
        specs: the mask configurations (one mask token of the predictor each).
        grid: (T', H', W') token grid, e.g. from :func:`grid_for`.
        seed: run seed.
        equalize: ``"random_subset"`` (default), ``"truncate"`` (official) or ``"none"``; see the module doc.

    Raises:
        ConfigError: an invalid spec, grid or mode.
    """

    def __init__(
        self, specs: Sequence[MaskSpec], grid: Grid, seed: int = 0, equalize: str = "random_subset"
    ) -> None:
        if equalize not in EQUALIZE_MODES:
            raise ConfigError(f"masks.equalize = {equalize!r}: use one of {', '.join(EQUALIZE_MODES)}")
        if not specs:
            raise ConfigError("masks.blocks is empty: give at least one mask spec")
        for i, spec in enumerate(specs):
            check_spec(i, spec)
            if equalize == "none" and spec.max_keep is not None:
                raise ConfigError(
                    f"masks.blocks[{i}].max_keep = {spec.max_keep} needs masks.equalize 'random_subset' or 'truncate'"
                )
        if len(grid) != 3 or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in grid):
            raise ConfigError(f"mask grid = {grid!r}: need three positive integers (T', H', W')")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"run.seed = {seed!r}: must be an integer >= 0")
        self.specs = tuple(specs)
        self.grid: Grid = (grid[0], grid[1], grid[2])
        self.seed = seed
        self.mode = equalize

    def generator(self, i: int, *, step: int, epoch: int = 0, rank: int = 0) -> torch.Generator:
        """The fresh generator of spec ``i`` for one batch (a pure function of its arguments and the seed)."""
        for name, value in (("step", step), ("epoch", epoch), ("rank", rank)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} = {value!r}: must be an integer >= 0")
        state = np.random.SeedSequence([TAG, self.seed, rank, epoch, step, i]).generate_state(1, dtype=np.uint64)
        return torch.Generator().manual_seed(int(state[0]))

    def __call__(
        self, batch_size: int, *, step: int, epoch: int = 0, rank: int = 0
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Masks of one batch.

        Args:
            batch_size: number of samples B on this rank.
            step: global optimisation step (or micro-step) the batch belongs to.
            epoch: epoch of the batch.
            rank: process rank.

        Returns:
            (masks_enc, masks_pred): per spec i an int64 (B, K_i) context and (B, M_i) target index tensor,
            rows sorted ascending, indices in [0, T'·H'·W').
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size = {batch_size!r}: must be an integer >= 1")
        masks_enc, masks_pred = [], []
        for i, spec in enumerate(self.specs):
            g = self.generator(i, step=step, epoch=epoch, rank=rank)
            size = sample_block_size(spec, self.grid, g)  # once per batch, shared by its samples
            ctx, tgt = sample_masks(spec, self.grid, size, batch_size, g)
            enc, pred = equalize(ctx, tgt, self.mode, g, max_keep=spec.max_keep)
            masks_enc.append(enc)
            masks_pred.append(pred)
        return masks_enc, masks_pred
