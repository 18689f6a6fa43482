"""The target encoder: an exponential moving average of the encoder, never trained by gradients."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def ema_update_(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """p_t ← m·p_t + (1 − m)·p_e for every parameter pair, in the official order of operations, batched with
    foreach kernels. Buffers (the fixed position tables) are identical in both models and are left alone."""
    tgt = [p for p in target.parameters()]
    src = [p.detach() for p in online.parameters()]
    if len(tgt) != len(src):
        raise ValueError("target and online models have different parameter lists")
    torch._foreach_mul_(tgt, momentum)
    torch._foreach_add_(tgt, torch._foreach_mul(src, 1.0 - momentum))
