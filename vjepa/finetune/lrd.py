"""Layer-wise learning-rate decay (BEiT; used by MAE and VideoMAE fine-tuning) as AdamW parameter groups.

Layer ids, for an encoder of depth L: the patch embedding (and position table) is layer 0, block i (0-based) is
layer i + 1, and everything after the blocks (final norm, head) is layer L + 1. A parameter of layer j trains
with ``lr · decay^(L + 1 − j)``: the head at the full lr, the last block at ``lr · decay``, block i at
``lr · decay^(L − i)``, the patch embedding at ``lr · decay^(L + 1)``.

The scale is stored in each group as ``lr_scale`` and applied by :func:`set_lr`, so the schedule stays one number.
Weight decay is off for biases, 1-D tensors (norm gains) and the probe's query token, as in VideoMAE/timm.
"""

from __future__ import annotations

import torch
from torch import nn


def layer_id(name: str, depth: int) -> int:
    """Layer id of an encoder parameter name (``patch_embed.*``, ``blocks.<i>.*``, ``norm.*``)."""
    if name.startswith(("patch_embed", "pos_embed")):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return depth + 1


def _decayed(name: str, param: torch.Tensor) -> bool:
    return param.ndim > 1 and not name.endswith(".bias") and "query_tokens" not in name


def lrd_param_groups(encoder: nn.Module, head: nn.Module, depth: int, weight_decay: float,
                     layer_decay: float) -> list[dict]:
    """AdamW groups keyed by (layer id, decayed): each has ``params``, ``weight_decay``, ``lr_scale``,
    ``layer_id``. The head's parameters are layer ``depth + 1``."""
    groups: dict[tuple[int, bool], dict] = {}
    named = [(n, p, layer_id(n, depth)) for n, p in encoder.named_parameters()]
    named += [(f"head.{n}", p, depth + 1) for n, p in head.named_parameters()]
    for name, param, layer in named:
        if not param.requires_grad:
            continue
        decayed = _decayed(name, param)
        group = groups.setdefault((layer, decayed), {
            "params": [], "names": [], "layer_id": layer, "weight_decay": weight_decay if decayed else 0.0,
            "lr_scale": layer_decay ** (depth + 1 - layer)})
        group["params"].append(param)
        group["names"].append(name)
    return [groups[k] for k in sorted(groups)]


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The scheduled lr times each group's ``lr_scale``."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
