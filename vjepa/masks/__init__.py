"""Multi-block 3D masking (official ``src/masks/multiblock3d.py``) and token gathering."""

from vjepa.masks.collate import MaskCollator
from vjepa.masks.generator import MaskGenerator, grid_for
from vjepa.masks.multiblock3d import equalize, sample_block_size
from vjepa.masks.spec import VITL16_MASKS, MaskSpec

__all__ = ["MaskSpec", "VITL16_MASKS", "MaskCollator", "MaskGenerator", "grid_for", "sample_block_size", "equalize"]
