"""Fixed sin-cos position tables, exactly as the official V-JEPA code builds them.

All tables are computed in float64 and returned as float32 ``(N, D)`` tensors whose rows follow the token
order t-major, then h, then w (index = t·H'·W' + h·W' + w).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def sincos_1d(dim: int, positions: np.ndarray) -> np.ndarray:
    """Sin-cos embedding of 1-D positions.

    Args:
        dim: even number of output channels.
        positions: any shape, flattened to (M,).

    Returns:
        (M, dim) float64: all the sines first, then all the cosines (not interleaved), with frequencies
        1 / 10000^(i / (dim/2)).
    """
    if dim % 2:
        raise ValueError(f"sin-cos embedding needs an even number of channels, got {dim}")
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega  # (dim/2,)
    angles = np.einsum("m,d->md", positions.reshape(-1).astype(np.float64), omega)  # (M, dim/2)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def sincos_3d(dim: int, grid: tuple[int, int, int], uniform_power: bool = False) -> torch.Tensor:
    """3-D table for a (T', H', W') token grid.

    Channel split: ``uniform_power=False`` gives t D/2, h D/4, w D/4; ``uniform_power=True`` gives every axis
    2·ceil(D/6). The blocks are concatenated [t | h | w] and truncated to the first D channels (so with uniform
    power and 6 ∤ D the tail of the w block is dropped, as in the official code).

    Returns:
        (T'·H'·W', dim) float32.
    """
    t_size, h_size, w_size = grid
    if uniform_power:
        dim_t = dim_h = dim_w = 2 * math.ceil(dim / 6)
    else:
        dim_t, dim_h, dim_w = dim // 2, dim // 4, dim // 4
    t, h, w = np.meshgrid(
        np.arange(t_size, dtype=np.float64),
        np.arange(h_size, dtype=np.float64),
        np.arange(w_size, dtype=np.float64),
        indexing="ij",
    )  # each (T', H', W')
    table = np.concatenate([sincos_1d(dim_t, t), sincos_1d(dim_h, h), sincos_1d(dim_w, w)], axis=1)
    return torch.from_numpy(table[:, :dim]).float()


def sincos_2d(dim: int, grid: tuple[int, int]) -> torch.Tensor:
    """2-D table for images: h gets D/2 channels, w gets D/2, order [h | w]. Returns (H'·W', dim) float32."""
    h, w = np.meshgrid(np.arange(grid[0], dtype=np.float64), np.arange(grid[1], dtype=np.float64), indexing="ij")
    table = np.concatenate([sincos_1d(dim // 2, h), sincos_1d(dim // 2, w)], axis=1)
    return torch.from_numpy(table).float()


def interpolate_3d(table: torch.Tensor, grid: tuple[int, int, int], new_grid: tuple[int, int, int]) -> torch.Tensor:
    """Resize a (N, D) table from ``grid`` to ``new_grid`` with trilinear interpolation (official behaviour).

    Returns:
        (T''·H''·W'', D), the input unchanged when the grids agree.
    """
    if tuple(grid) == tuple(new_grid):
        return table
    dim = table.shape[-1]
    volume = table.reshape(1, *grid, dim).permute(0, 4, 1, 2, 3)  # (1, D, T', H', W')
    scale = tuple(n / o for n, o in zip(new_grid, grid))
    volume = F.interpolate(volume, scale_factor=scale, mode="trilinear", align_corners=False)
    volume = volume[:, :, : new_grid[0], : new_grid[1], : new_grid[2]]
    if tuple(volume.shape[2:]) != tuple(new_grid):  # scale factors rounded down: resize to the exact size
        volume = F.interpolate(volume, size=new_grid, mode="trilinear", align_corners=False)
    return volume.permute(0, 2, 3, 4, 1).reshape(-1, dim)
