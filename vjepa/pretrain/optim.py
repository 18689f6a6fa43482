"""AdamW with the official V-JEPA parameter groups, and the per-step hyper-parameter update."""

from __future__ import annotations

import torch
from torch import nn

from vjepa.config.schema import OptimConfig
from vjepa.core.errors import ConfigError


def is_decayed(name: str, param: torch.Tensor) -> bool:
    """Official rule: weight decay for every parameter whose name lacks 'bias' and which is not 1-D.

    So LayerNorm gains and all biases are excluded, while the [1, 1, D] mask tokens are decayed (a quirk of the
    official recipe we keep for parity)."""
    return "bias" not in name and param.ndim != 1


def param_groups(encoder: nn.Module, predictor: nn.Module) -> list[dict]:
    """Four groups in the official order: encoder decayed, predictor decayed, encoder excluded, predictor excluded."""
    groups = []
    for decayed in (True, False):
        for module in (encoder, predictor):
            params = [p for n, p in module.named_parameters() if p.requires_grad and is_decayed(n, p) == decayed]
            group = {"params": params}
            if not decayed:
                group.update(weight_decay=0.0, WD_exclude=True)
            groups.append(group)
    return groups


def build_optimizer(encoder: nn.Module, predictor: nn.Module, optim: OptimConfig) -> torch.optim.AdamW:
    """AdamW over encoder and predictor, fused or foreach (``optim.fused``); lr and wd are set every step by
    :func:`set_hparams`."""
    kernel = {"fused": True} if optim.fused else {"foreach": True}
    try:
        return torch.optim.AdamW(param_groups(encoder, predictor), lr=optim.start_lr, weight_decay=optim.weight_decay,
                                 betas=tuple(optim.betas), eps=optim.eps, **kernel)
    except (RuntimeError, TypeError) as e:  # e.g. no fused kernel for this device in this torch version
        raise ConfigError(f"optim.fused: torch {torch.__version__} has no fused AdamW here ({e}); set "
                          "optim.fused=false") from None


def set_hparams(optimizer: torch.optim.Optimizer, lr: float, weight_decay: float) -> None:
    """Same lr for every group; the scheduled weight decay for the groups not flagged ``WD_exclude``."""
    for group in optimizer.param_groups:
        group["lr"] = lr
        if not group.get("WD_exclude", False):
            group["weight_decay"] = weight_decay
