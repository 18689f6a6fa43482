"""The target encoder: an exponential moving average of the encoder, never trained by gradients."""

from __future__ import annotations

import torch
from torch import nn


def _ema_tensors(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Parameters, then floating-point buffers (the fixed position table)."""
    params = [(n, p) for n, p in module.named_parameters()]
    buffers = [(n, b) for n, b in module.named_buffers() if b.is_floating_point()]
    return params + buffers


@torch.no_grad()
def ema_update_(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """p_t ← m·p_t + (1 − m)·p_e, batched with foreach kernels, in the official order of operations.

    The official code keeps the position table as a (gradient-free) parameter, so the EMA also runs over it and
    moves it by float rounding only (~1e-6). We keep the table as a buffer and include it here, so that our
    numbers stay bit-compatible with the official ones.
    """
    tgt, src = _ema_tensors(target), _ema_tensors(online)
    if [n for n, _ in tgt] != [n for n, _ in src]:
        raise ValueError("target and online models have different parameters")
    tgt_t = [t for _, t in tgt]
    torch._foreach_mul_(tgt_t, momentum)
    torch._foreach_add_(tgt_t, torch._foreach_mul([s.detach() for _, s in src], 1.0 - momentum))
