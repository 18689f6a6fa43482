"""The action-conditioned predictor of V-JEPA 2-AC: a frame-causal transformer over encoder features and robot
actions that predicts the features of the next frame of every step.

Input sequence, per time step t: ``[action_t, state_t, (extrinsics_t), frame tokens of step t]``, steps concatenated.
Frame tokens get 3-D RoPE (time, height, width); the conditioning tokens get only the time rotation (their height
and width channels stay unrotated, i.e. position 0). A block-causal mask lets every token of step t attend to every
token of steps ≤ t. Numerically equal to ``vit_ac_predictor`` of facebookresearch/vjepa2 and loads its weights by
name (``predictor_embed``, ``action_encoder``, ``state_encoder``, ``extrinsics_encoder``, ``predictor_blocks.*``,
``predictor_norm``, ``predictor_proj``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from vjepa.models.layers import Mlp, Rope, init_weights_
from vjepa.models.rope import ROPE_BASE, ROPE_LAYOUTS, apply_rope, axis_channels


@dataclass(frozen=True)
class ACPredictorConfig:
    embed_dim: int = 1408
    """Width of the encoder features it reads and predicts."""
    predictor_embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    mlp_ratio: float = 4.0
    action_dim: int = 7
    """Width of an action and of a state; extrinsics have ``action_dim - 1`` values (official layout)."""
    use_extrinsics: bool = False
    grid: tuple[int, int] = (16, 16)
    """Token grid (H', W') of one frame: image size // patch size."""
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    rope_layout: str = "tiled"

    @property
    def tokens_per_frame(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def cond_tokens(self) -> int:
        """Conditioning tokens per step: action, state (and extrinsics)."""
        return 3 if self.use_extrinsics else 2


def block_causal_mask(steps: int, tokens_per_step: int, device: torch.device | None = None) -> torch.Tensor:
    """(N, N) bool, N = steps · tokens_per_step: True where a query (row) of step i may attend to a key (column)
    of step j, i.e. j ≤ i."""
    step = torch.arange(steps * tokens_per_step, device=device) // tokens_per_step  # (N,)
    return step[:, None] >= step[None, :]


def ac_rope_tables(steps: int, grid: tuple[int, int], cond_tokens: int, head_dim: int, layout: str = "tiled",
                   device: torch.device | None = None) -> Rope:
    """Cosine and sine tables (1, 1, N, 3c) for the interleaved sequence of ``steps`` steps.

    Conditioning tokens sit at (t, 0, 0): only their time channels turn. Frame tokens sit at (t, h, w·H'/W'):
    the official attention rescales both spatial axes to a ``grid_size`` equal to H' (a no-op for square grids).
    """
    c = axis_channels(head_dim)
    if c == 0:
        raise ValueError(f"head width {head_dim} is too small for 3-D RoPE (needs at least 6 channels)")
    gh, gw = grid
    hh, ww = torch.meshgrid(torch.arange(gh, device=device), torch.arange(gw, device=device), indexing="ij")
    scale_h, scale_w = gh / gh, gh / gw  # official: positions times grid_size / H' and grid_size / W', grid_size = H'
    frame_hw = torch.stack([hh.flatten() * scale_h, ww.flatten() * scale_w], dim=-1).float()  # (H'W', 2)
    step_hw = torch.cat([torch.zeros(cond_tokens, 2, device=device), frame_hw])  # (K + H'W', 2)
    per_step = step_hw.shape[0]
    t = torch.arange(steps, device=device, dtype=torch.float32).repeat_interleave(per_step)  # (N,)
    coords = torch.cat([t[:, None], step_hw.repeat(steps, 1)], dim=-1)  # (N, 3)
    # Same float32 operations as vjepa.models.rope (and the official code): bit-equal angles.
    omega = torch.arange(c // 2, dtype=torch.float32, device=device)
    omega /= c / 2.0
    omega = 1.0 / ROPE_BASE**omega  # (c/2,)
    freqs = omega.repeat(2) if layout == "tiled" else omega.repeat_interleave(2)  # (c,)
    angles = (coords[..., None] * freqs).flatten(-2)  # (N, 3c)
    angles = angles[None, None]  # (1, 1, N, 3c): one table for the batch and all heads
    return angles.cos(), angles.sin()


class ACAttention(nn.Module):
    """Self-attention with RoPE and a boolean attention mask; ``qkv`` rows laid out [q | k | v] as official."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, rope: Rope, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, N, D); rope: tables (1, 1, N, 3c); mask: (N, N) bool, True = may attend -> (B, N, D)."""
        B, N, D = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, D // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)  # each (B, heads, N, hd)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(x.transpose(1, 2).reshape(B, N, D))


class ACBlock(nn.Module):
    """Pre-norm block: x + Attn(LN(x)), then x + MLP(LN(x)); names as the official ``ACBlock``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, norm_eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = ACAttention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, rope: Rope, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rope, mask)
        return x + self.mlp(self.norm2(x))


class ActionConditionedPredictor(nn.Module):
    """Predicts, for every step t, the encoder features of frame t + 1 from frames ≤ t and the conditioning
    (action, state, extrinsics) of steps ≤ t."""

    def __init__(self, cfg: ACPredictorConfig) -> None:
        super().__init__()
        if cfg.rope_layout not in ROPE_LAYOUTS:
            raise ValueError(f"rope_layout {cfg.rope_layout!r}: use one of {', '.join(ROPE_LAYOUTS)}")
        self.cfg = cfg
        width = cfg.predictor_embed_dim
        self.predictor_embed = nn.Linear(cfg.embed_dim, width)
        self.action_encoder = nn.Linear(cfg.action_dim, width)
        self.state_encoder = nn.Linear(cfg.action_dim, width)
        # Present even without extrinsics, as in the official module (so its checkpoints load strictly).
        self.extrinsics_encoder = nn.Linear(cfg.action_dim - 1, width)
        self.predictor_blocks = nn.ModuleList(
            ACBlock(width, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.predictor_norm = nn.LayerNorm(width, eps=cfg.norm_eps)
        self.predictor_proj = nn.Linear(width, cfg.embed_dim)
        self.grad_checkpointing = False
        """Recompute each block's activations in the backward pass (less memory, same numbers)."""
        init_weights_(self)
        # Official init: the residual output projections of block i (1-based) are divided by sqrt(2 i).
        with torch.no_grad():
            for i, block in enumerate(self.predictor_blocks, start=1):
                block.attn.proj.weight.div_(math.sqrt(2.0 * i))
                block.mlp.fc2.weight.div_(math.sqrt(2.0 * i))

    def conditioning(self, actions: torch.Tensor, states: torch.Tensor, extrinsics: torch.Tensor | None
                     ) -> torch.Tensor:
        """(B, T, K, D') embedded conditioning tokens in sequence order: action, state, (extrinsics)."""
        tokens = [self.action_encoder(actions), self.state_encoder(states)]
        if self.cfg.use_extrinsics:
            if extrinsics is None:
                raise ValueError("this predictor uses extrinsics (use_extrinsics=True) but none were given")
            tokens.append(self.extrinsics_encoder(extrinsics))
        return torch.stack(tokens, dim=2)

    def forward(self, features: torch.Tensor, actions: torch.Tensor, states: torch.Tensor,
                extrinsics: torch.Tensor | None = None) -> torch.Tensor:
        """Predict the next frame's features of every step.

        Args:
            features: (B, T·H'W', D) encoder features of frames 0 … T-1 (frame-major).
            actions: (B, T, A), states: (B, T, A), extrinsics: (B, T, A-1) or None (ignored unless
                ``use_extrinsics``).

        Returns:
            (B, T·H'W', D): at step t, the prediction of frame t + 1's features.
        """
        cfg = self.cfg
        B, N, _ = features.shape
        tpf, K = cfg.tokens_per_frame, cfg.cond_tokens
        if N % tpf:
            raise ValueError(f"{N} feature tokens are not whole frames of {tpf} tokens")
        T = N // tpf
        if actions.shape[:2] != (B, T) or states.shape[:2] != (B, T):
            raise ValueError(f"{T} frames need actions and states of shape ({B}, {T}, ·); got "
                             f"{tuple(actions.shape)} and {tuple(states.shape)}")
        x = self.predictor_embed(features).view(B, T, tpf, -1)  # (B, T, H'W', D')
        x = torch.cat([self.conditioning(actions, states, extrinsics), x], dim=2).flatten(1, 2)  # (B, T(K+H'W'), D')
        head_dim = cfg.predictor_embed_dim // cfg.num_heads
        rope = ac_rope_tables(T, cfg.grid, K, head_dim, cfg.rope_layout, x.device)
        mask = block_causal_mask(T, K + tpf, x.device)
        for block in self.predictor_blocks:
            if self.grad_checkpointing and torch.is_grad_enabled():
                x = checkpoint(block, x, rope, mask, use_reentrant=False)
            else:
                x = block(x, rope, mask)
        x = x.view(B, T, K + tpf, -1)[:, :, K:].flatten(1, 2)  # drop conditioning tokens: (B, T·H'W', D')
        return self.predictor_proj(self.predictor_norm(x))
