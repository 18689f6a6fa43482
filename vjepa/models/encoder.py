"""The video ViT encoder of V-JEPA: tubelet embedding, positions, pre-norm blocks, final norm.

Positions are either the fixed 3-D sin-cos table added to the tokens (V-JEPA 1, the default) or 3-D RoPE inside
every attention block (V-JEPA 2, ``use_rope``). Numerically equal to the official ``VisionTransformer`` of
facebookresearch/jepa and of facebookresearch/vjepa2, and loads their weights by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vjepa.core.errors import ConfigError
from vjepa.masks.ops import gather_tokens
from vjepa.models.layers import Block, Rope, init_weights_, run_block
from vjepa.models.pos_embed import interpolate_3d, sincos_3d
from vjepa.models.rope import ROPE_LAYOUTS, rope_tables


@dataclass(frozen=True)
class EncoderConfig:
    embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    mlp_ratio: float = 4.0
    patch_size: int = 16
    tubelet_size: int = 2
    num_frames: int = 16
    img_size: int = 224
    in_chans: int = 3
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    uniform_power: bool = True
    attention: str = "auto"
    use_rope: bool = False
    """V-JEPA 2: 3-D RoPE in every attention block instead of the sin-cos table (which is then absent)."""
    rope_layout: str = "tiled"
    """RoPE frequency layout: ``tiled`` for released V-JEPA 2 weights, ``interleaved`` (V-JEPA 2.1); see rope.py."""

    @property
    def grid(self) -> tuple[int, int, int]:
        """Token grid (T', H', W') at the configured input size."""
        side = self.img_size // self.patch_size
        return (self.num_frames // self.tubelet_size, side, side)

    @property
    def num_tokens(self) -> int:
        t, h, w = self.grid
        return t * h * w


class PatchEmbed3D(nn.Module):
    """Conv3d over tubelets: (B, C, T, H, W) -> (B, N, D), tokens in t-major, then h, then w order."""

    def __init__(self, in_chans: int, embed_dim: int, patch_size: int, tubelet_size: int) -> None:
        super().__init__()
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=kernel, stride=kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, D, T', H', W') -> (B, N, D)


class VideoEncoder(nn.Module):
    """Video ViT. ``pos_embed`` is a fixed table kept as a buffer (in the state dict, never trained); RoPE models
    have none."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        if cfg.rope_layout not in ROPE_LAYOUTS:
            raise ValueError(f"rope_layout {cfg.rope_layout!r}: use one of {', '.join(ROPE_LAYOUTS)}")
        self.cfg = cfg
        self.patch_embed = PatchEmbed3D(cfg.in_chans, cfg.embed_dim, cfg.patch_size, cfg.tubelet_size)
        pos = None if cfg.use_rope else sincos_3d(cfg.embed_dim, cfg.grid, cfg.uniform_power).unsqueeze(0)
        self.register_buffer("pos_embed", pos)
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps, cfg.attention)
            for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        self.grad_checkpointing = False
        """Recompute each block's activations in the backward pass instead of storing them (less memory, about
        a third more compute); set by ``run.activation_checkpointing``. Numerically the same."""
        init_weights_(self)

    @property
    def embed_dim(self) -> int:
        return self.cfg.embed_dim

    def token_grid(self, video: torch.Tensor) -> tuple[int, int, int]:
        """(T', H', W') for a (B, C, T, H, W) input."""
        _, _, T, H, W = video.shape
        c = self.cfg
        if T % c.tubelet_size or H % c.patch_size or W % c.patch_size:
            raise ValueError(
                f"input of {T}x{H}x{W} is not divisible into {c.tubelet_size}x{c.patch_size}x{c.patch_size} tubelets"
            )
        return (T // c.tubelet_size, H // c.patch_size, W // c.patch_size)

    def embed(self, video: torch.Tensor) -> torch.Tensor:
        """Tubelet embedding plus sin-cos positions (interpolated for other sizes; none with RoPE):
        (B, C, T, H, W) -> (B, N, D)."""
        grid = self.token_grid(video)
        if self.pos_embed is None:
            return self.patch_embed(video)
        pos = interpolate_3d(self.pos_embed[0], self.cfg.grid, grid)  # (N, D)
        return self.patch_embed(video) + pos

    def rope(self, grid: tuple[int, int, int], idx: torch.Tensor | None = None) -> Rope | None:
        """RoPE tables for the tokens ``idx`` ((B, K) int64; all tokens when None) of a clip with token grid
        ``grid``; None for sin-cos models."""
        if not self.cfg.use_rope:
            return None
        if idx is None:
            idx = torch.arange(grid[0] * grid[1] * grid[2], device=self.patch_embed.proj.weight.device)
        return rope_tables(idx, grid, self.cfg.embed_dim // self.cfg.num_heads, self.cfg.rope_layout)

    def run_blocks(self, x: torch.Tensor, rope: Rope | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = run_block(block, x, self.grad_checkpointing, rope)
        return self.norm(x)

    def forward(self, video: torch.Tensor, keep_idx: torch.Tensor | None = None) -> torch.Tensor:
        """Encode a clip, or only its context tokens.

        Args:
            video: (B, C, T, H, W).
            keep_idx: optional (B, K) int64 indices of the tokens to keep (the context); positions are added
                before the tokens are dropped, as in the official code.

        Returns:
            (B, N, D), or (B, K, D) with ``keep_idx``; layer-normed.
        """
        x = self.embed(video)
        rope = self.rope(self.token_grid(video), keep_idx)
        if keep_idx is not None:
            x = gather_tokens(x, keep_idx)
        return self.run_blocks(x, rope)

    def forward_masked(self, video: torch.Tensor, keep_idx: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """One output per mask configuration, embedding the clip once: list of (B, K_i, D)."""
        x, grid = self.embed(video), self.token_grid(video)
        return [self.run_blocks(gather_tokens(x, idx), self.rope(grid, idx)) for idx in keep_idx]

    def forward_intermediates(
        self, video: torch.Tensor, layers: Sequence[int], keep_idx: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """LayerNorm-ed outputs of the listed blocks (0-based; negative counts from the end): list of (B, N, D).

        Uses the final ``norm`` module on each, as the official ``out_layers`` option does.
        """
        depth = len(self.blocks)
        wanted = sorted({layer % depth for layer in layers})
        if any(not -depth <= layer < depth for layer in layers):
            raise ConfigError(f"layers={list(layers)} out of range for a {depth}-block encoder; use block indices "
                              f"{-depth}..{depth - 1} (negative count from the end)")
        x = self.embed(video)
        rope = self.rope(self.token_grid(video), keep_idx)
        if keep_idx is not None:
            x = gather_tokens(x, keep_idx)
        outputs = {}
        for i, block in enumerate(self.blocks[: wanted[-1] + 1]):
            x = block(x, rope)
            if i in wanted:
                outputs[i] = self.norm(x)
        return [outputs[layer % depth] for layer in layers]
