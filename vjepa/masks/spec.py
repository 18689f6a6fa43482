"""The parameters of one multi-block 3D mask configuration (one entry of the official ``mask:`` list)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MaskSpec:
    """One mask configuration of the multi-block 3D masking (official ``cfgs_mask`` entry).

    The target of a sample is the union of ``num_blocks`` blocks; the context is everything else.
    """

    spatial_scale: tuple[float, float] = (0.2, 0.8)
    """Fraction of the H'×W' token grid covered by one block, drawn uniformly in (min, max)."""
    temporal_scale: tuple[float, float] = (1.0, 1.0)
    """Fraction of the T' time steps covered by one block."""
    aspect_ratio: tuple[float, float] = (0.3, 3.0)
    """Block height/width ratio, drawn uniformly (not log-uniformly, as the official code does)."""
    num_blocks: int = 1
    """Number of blocks whose union is the target."""
    max_temporal_keep: float = 1.0
    """The context may only use the first floor(T'·x) time steps; later ones become target."""
    max_keep: int | None = None
    """Cap on the number of context tokens per sample (applied after batch equalisation)."""


# The two mask configurations of the official configs/pretrain/vitl16.yaml (also vith16, vith16_384).
VITL16_MASKS: tuple[MaskSpec, ...] = (
    MaskSpec(spatial_scale=(0.15, 0.15), temporal_scale=(1.0, 1.0), aspect_ratio=(0.75, 1.5), num_blocks=8),
    MaskSpec(spatial_scale=(0.7, 0.7), temporal_scale=(1.0, 1.0), aspect_ratio=(0.75, 1.5), num_blocks=2),
)
