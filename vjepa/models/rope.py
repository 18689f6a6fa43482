"""3-D rotary position embedding (RoPE) of V-JEPA 2, applied to queries and keys in every attention block.

Each head's channels are cut into three equal chunks of ``c = 2·⌊⌊head_dim/3⌋/2⌋`` channels that rotate with the
token's time, height and width coordinate; the ``head_dim − 3c`` channels left over are not rotated (64 → 3×20 + 4,
80 → 3×26 + 2). Within a chunk, adjacent channels (2i, 2i+1) form the rotation pairs, and frequencies are
``1 / 10000^(j / (c/2))`` for j = 0 … c/2 − 1.

The frequency *layout* is where the released checkpoints differ from textbook RoPE (anchors.md §2.1):

* ``tiled`` (V-JEPA 2 and its Hugging Face port): the c/2 frequencies are repeated as a block,
  ``[f0 … f_{c/2−1}, f0 … f_{c/2−1}]``, so channel j uses frequency ``j mod c/2`` although the pairs are adjacent
  channels: the two members of a pair turn by different angles. The released weights were trained this way and
  need it.
* ``interleaved`` (the textbook form, used by V-JEPA 2.1): ``[f0, f0, f1, f1, …]``, channel j uses ``⌊j/2⌋``.

Positions come from token indices (t-major, then h, then w: index = t·H'·W' + h·W' + w) and the token grid of
the actual input, so non-square and other-size inputs get their true coordinates.
"""

from __future__ import annotations

import torch

ROPE_LAYOUTS = ("tiled", "interleaved")
ROPE_BASE = 10000


def axis_channels(head_dim: int) -> int:
    """Channels per axis chunk, c = 2·⌊⌊head_dim/3⌋/2⌋ (even, so rotation pairs never straddle two chunks)."""
    return 2 * ((head_dim // 3) // 2)


def token_coords(idx: torch.Tensor, grid: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(t, h, w) integer coordinates of token indices ``idx`` (any shape) in a (T', H', W') grid."""
    plane = grid[1] * grid[2]
    t = idx // plane
    rest = idx - t * plane
    h = rest // grid[2]
    return t, h, rest - h * grid[2]


def rope_tables(idx: torch.Tensor, grid: tuple[int, int, int], head_dim: int, layout: str = "tiled"
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine and sine of the rotation angles of the tokens ``idx``.

    Args:
        idx: (N,) or (B, N) int64 token indices.
        grid: (T', H', W') token grid of the clip the indices refer to.
        head_dim: Channels per attention head.
        layout: ``tiled`` (released V-JEPA 2 weights) or ``interleaved``.

    Returns:
        cos, sin: float32 (1, 1, N, 3c) or (B, 1, N, 3c), broadcastable over (B, heads, N, ·).
    """
    if layout not in ROPE_LAYOUTS:
        raise ValueError(f"RoPE layout {layout!r}: use one of {', '.join(ROPE_LAYOUTS)}")
    c = axis_channels(head_dim)
    if c == 0:
        raise ValueError(f"head width {head_dim} is too small for 3-D RoPE (needs at least 6 channels)")
    # Same float32 operations, in the same order, as the reference implementations (bit-equal angles).
    omega = torch.arange(c // 2, dtype=torch.float32, device=idx.device)
    omega /= c / 2.0
    omega = 1.0 / ROPE_BASE**omega  # (c/2,)
    freqs = omega.repeat(2) if layout == "tiled" else omega.repeat_interleave(2)  # (c,)
    angles = torch.cat([coord.unsqueeze(-1) * freqs for coord in token_coords(idx, grid)], dim=-1)  # (..., N, 3c)
    angles = angles.unsqueeze(-3)  # (..., 1, N, 3c): one table for all heads
    if angles.dim() == 3:
        angles = angles.unsqueeze(0)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first 3c channels of every head by the tables of :func:`rope_tables`.

    Args:
        x: (B, heads, N, head_dim) queries or keys.
        cos, sin: (1 or B, 1, N, 3c).

    Returns:
        (B, heads, N, head_dim): channel pairs (2i, 2i+1) become (x₂ᵢ·cos − x₂ᵢ₊₁·sin, x₂ᵢ₊₁·cos + x₂ᵢ·sin) with
        each channel's own angle; the remaining channels are unchanged.
    """
    r = cos.shape[-1]
    rot = x[..., :r]
    even, odd = rot.unflatten(-1, (-1, 2)).unbind(-1)  # each (B, heads, N, 3c/2)
    turned = torch.stack((-odd, even), dim=-1).flatten(-2)  # (B, heads, N, 3c)
    out = rot * cos.to(x.dtype) + turned * sin.to(x.dtype)
    return out if r == x.shape[-1] else torch.cat([out, x[..., r:]], dim=-1)
