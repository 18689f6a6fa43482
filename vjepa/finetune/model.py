"""The fine-tuned network: a video encoder plus a classification head, trained end to end.

Heads: ``attentive`` (the attentive probe of frozen evaluation, :class:`vjepa.models.probe.AttentiveClassifier`,
with the encoder's heads) or ``linear`` (mean over tokens, then one linear layer; VideoMAE's head on top of our
encoder's final LayerNorm). Stochastic depth rises linearly over the blocks from 0 to ``drop_path`` (timm / VideoMAE).

:func:`load_start_encoder` loads the starting encoder from any checkpoint ``vjepa eval`` reads, or from a
``vjepa finetune`` checkpoint / export (then also its head, whose class count must match).
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.models.encoder import VideoEncoder
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.models.registry import arch_spec
from vjepa.weights.detect import detect
from vjepa.weights.load import load_encoder, load_parts


class MeanPoolHead(nn.Module):
    """(B, N, D) tokens -> mean over N -> linear -> (B, num_classes)."""

    def __init__(self, embed_dim: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.linear.weight, std=0.02, a=-2.0, b=2.0)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.mean(dim=1))


def build_head(kind: str, encoder: VideoEncoder, num_classes: int, seed: int = 0) -> nn.Module:
    """A freshly initialised head, seeded (the caller's RNG is left alone), so that runs are reproducible."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _new_head(kind, encoder, num_classes)


def _new_head(kind: str, encoder: VideoEncoder, num_classes: int) -> nn.Module:
    if kind == "attentive":
        return AttentiveClassifier(ProbeConfig(embed_dim=encoder.embed_dim, num_heads=encoder.cfg.num_heads,
                                               num_classes=num_classes, attention=encoder.cfg.attention))
    return MeanPoolHead(encoder.embed_dim, num_classes)


def head_classes(head_state: dict[str, torch.Tensor]) -> int:
    """Number of classes of a stored head (both head kinds end in ``linear``)."""
    return int(head_state["linear.weight"].shape[0])


class FinetuneModel(nn.Module):
    """Encoder + head: (B, C, T, H, W) -> (B, num_classes) logits."""

    def __init__(self, encoder: VideoEncoder, head: nn.Module, drop_path: float = 0.0) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head
        depth = len(encoder.blocks)
        for i, block in enumerate(encoder.blocks):  # linear rule: 0 at the first block, drop_path at the last
            block.drop_path = drop_path * i / max(1, depth - 1)
        for p in self.parameters():
            p.requires_grad_(True)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(video))


def check_arch(encoder: VideoEncoder, arch: str | None, source: Any) -> None:
    """A named ``arch`` must describe the loaded encoder (width, depth, heads): one-line error otherwise."""
    if arch is None or arch == "custom":
        return
    spec, c = arch_spec(arch), encoder.cfg
    found, expected = (c.embed_dim, c.depth, c.num_heads), (spec.embed_dim, spec.depth, spec.num_heads)
    if found != expected:
        raise ConfigError(f"{source} holds an encoder of width {found[0]}, {found[1]} blocks, {found[2]} heads, but "
                          f"arch {arch} expects width {expected[0]}, {expected[1]} blocks, {expected[2]} heads; "
                          "fix arch or the checkpoint")


def load_start_encoder(checkpoint: str | os.PathLike, *, arch: str | None, num_classes: int, head: str,
                       seed: int = 0, **load_kwargs: Any) -> tuple[VideoEncoder, dict | None]:
    """The encoder to fine-tune (train mode, CPU) and, for a finetune checkpoint or export, its head state.

    Raises one-line errors when ``arch`` does not describe the weights, or when a stored head has another class
    count than ``num_classes``.
    """
    from vjepa.eval.checkpoints import load_frozen_encoder

    if str(checkpoint) == "none":
        encoder = load_frozen_encoder(checkpoint, key=load_kwargs.pop("key", "target_encoder"), arch=arch,
                                      seed=seed, **load_kwargs)
        check_arch(encoder, arch, checkpoint)
        return encoder.train(), None
    source = detect(checkpoint)
    if source.kind not in ("finetune-checkpoint", "finetune-export"):
        encoder = load_encoder(source, key=load_kwargs.pop("key", "target_encoder"), arch=arch, **load_kwargs)
        check_arch(encoder, arch, checkpoint)
        return encoder.train(), None
    loaded = load_parts(source, ("encoder", "head"), key="encoder")
    encoder, head_state = loaded.encoder, loaded.head
    assert encoder is not None
    if head_state is None:
        raise CheckpointError(f"{checkpoint}: a fine-tuning {source.kind.split('-')[1]} without head weights")
    check_arch(encoder, arch, checkpoint)
    if head_classes(head_state) != num_classes:
        raise ConfigError(f"{checkpoint} has a {head_classes(head_state)}-class head but num_classes is "
                          f"{num_classes}; use num_classes={head_classes(head_state)} or start from the encoder "
                          "alone (an export or pretraining checkpoint)")
    check_head_kind(head_state, head, checkpoint)
    return encoder.train(), head_state


def check_head_kind(head_state: dict | None, kind: str, source: Any) -> None:
    if head_state is not None and ("pooler.query_tokens" in head_state) != (kind == "attentive"):
        raise CheckpointError(f"{source} holds a {'attentive' if kind == 'linear' else 'linear'} head but head is "
                              f"{kind!r}; set head to match (head={'attentive' if kind == 'linear' else 'linear'!r})")
