"""Import of official facebookresearch/jepa (V-JEPA 1) and facebookresearch/vjepa2 (V-JEPA 2, with a
``vjepa2_*`` arch) checkpoints into our modules, strictly.

Pretraining checkpoints hold ``encoder``, ``target_encoder`` and ``predictor`` state dicts whose keys start with
``module.backbone.`` (DDP around the multi-mask wrapper); probe checkpoints hold ``classifier`` (V-JEPA 1) or a list ``classifiers`` (V-JEPA 2) with ``module.``.
Every key must map onto our modules and every shape must agree; nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from vjepa.core.errors import CheckpointError
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.pos_embed import sincos_3d
from vjepa.models.predictor import Predictor
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.models.registry import encoder_config, predictor_config
from vjepa.weights.io import load_state_strict, safe_torch_load
from vjepa.weights.keys import strip_prefixes

log = logging.getLogger("vjepa")


def _read_dict(path: str | os.PathLike, keys: tuple[str, ...], ckpt: Any = None) -> dict[str, Any]:
    ckpt = safe_torch_load(path) if ckpt is None else ckpt
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: expected a checkpoint dict, found {type(ckpt).__name__}")
    absent = [k for k in keys if k not in ckpt]
    if absent:
        found = ", ".join(sorted(map(str, ckpt))) or "nothing"
        raise CheckpointError(f"{path}: not an official checkpoint of this kind: no {', '.join(absent)} (found {found})")
    return ckpt


def _depth(state: Mapping[str, torch.Tensor], prefix: str) -> int:
    found = {int(m.group(1)) for k in state if (m := re.match(rf"{prefix}\.(\d+)\.", k))}
    return max(found) + 1 if found else 0


def _detect_uniform_power(table: torch.Tensor, grid: tuple[int, int, int], default: bool) -> bool:
    """Which channel split produced a stored sin-cos table (the checkpoint does not say)."""
    for candidate in (default, not default):
        if torch.allclose(table.reshape(-1, table.shape[-1]), sincos_3d(table.shape[-1], grid, candidate), atol=1e-5):
            return candidate
    log.warning("the stored position table matches neither sin-cos channel split; it is loaded as stored and "
                "uniform_power=%s is assumed for resized inputs", default)
    return default


@dataclass
class OfficialPretrain:
    encoder: VideoEncoder
    target_encoder: VideoEncoder
    predictor: Predictor
    meta: dict[str, Any] = field(default_factory=dict)
    """Scalar entries of the checkpoint (epoch, loss, batch_size, world_size, lr)."""


def check_arch(state: Mapping[str, torch.Tensor], cfg: EncoderConfig, path: Any, arch: str) -> None:
    """One-line error when the checkpoint's encoder is not the size ``arch`` says."""
    weight = state.get("patch_embed.proj.weight")
    if weight is None:
        raise CheckpointError(f"{path}: no patch_embed.proj.weight in the encoder state dict")
    width, depth = weight.shape[0], _depth(state, "blocks")
    if (width, depth) != (cfg.embed_dim, cfg.depth):
        raise CheckpointError(
            f"{path}: the checkpoint holds a width-{width}, depth-{depth} encoder but arch={arch!r} is width "
            f"{cfg.embed_dim}, depth {cfg.depth}; pass the right arch, or arch='custom' with embed_dim={width}, "
            f"depth={depth}, num_heads=H"
        )
    if cfg.use_rope:  # RoPE models hold no position table; a stored one (V-JEPA 2 files carry it) is unused
        return
    if "pos_embed" not in state:
        raise CheckpointError(
            f"{path}: the encoder has no pos_embed, so it is not a sin-cos (V-JEPA 1) model but arch={arch!r} is one; "
            "for a V-JEPA 2 (RoPE) checkpoint pass arch='vjepa2_vit_large', 'vjepa2_vit_huge' or 'vjepa2_vit_giant'"
        )
    tokens = state["pos_embed"].shape[1]
    if tokens != cfg.num_tokens:
        raise CheckpointError(
            f"{path}: pos_embed has {tokens} tokens but {cfg.num_frames} frames at {cfg.img_size}px give "
            f"{cfg.num_tokens}; pass the pretraining num_frames and img_size"
        )


def load_official_pretrain(
    path: str | os.PathLike,
    arch: str,
    *,
    num_frames: int = 16,
    img_size: int = 224,
    tubelet_size: int = 2,
    uniform_power: bool = True,
    pred_num_heads: int | None = None,
    attention: str = "auto",
    ckpt: Any = None,
    **arch_overrides: Any,
) -> OfficialPretrain:
    """Build our encoder, target encoder and predictor from an official pretraining checkpoint.

    Args:
        path: ``jepa-latest.pth.tar`` or any file of that format.
        arch: registry name of the encoder size (or ``custom`` with ``embed_dim``/``depth``/``num_heads``).
        uniform_power: the channel split to assume; the stored table decides when it matches either split.
        pred_num_heads: predictor heads (official V-JEPA 1: the encoder's heads; V-JEPA 2: 12).
        ckpt: the file's contents when the caller has already read them (``path`` then names it in messages).
    """
    ckpt = _read_dict(path, ("encoder", "target_encoder", "predictor"), ckpt)
    enc_state = strip_prefixes(ckpt["encoder"])
    cfg = encoder_config(arch, num_frames=num_frames, img_size=img_size, tubelet_size=tubelet_size,
                         uniform_power=uniform_power, attention=attention, **arch_overrides)
    check_arch(enc_state, cfg, path, arch)
    if cfg.use_rope:  # V-JEPA 2 files still carry sin-cos tables that their RoPE models never use
        dropped = ("pos_embed", "predictor_pos_embed")
        states = {key: {k: v for k, v in strip_prefixes(ckpt[key]).items() if k not in dropped}
                  for key in ("encoder", "target_encoder", "predictor")}
    else:
        states = {key: strip_prefixes(ckpt[key]) for key in ("encoder", "target_encoder", "predictor")}
    if not cfg.use_rope and "pos_embed" in enc_state:
        detected = _detect_uniform_power(enc_state["pos_embed"], cfg.grid, uniform_power)
        cfg = encoder_config(arch, num_frames=num_frames, img_size=img_size, tubelet_size=tubelet_size,
                             uniform_power=detected, attention=attention, **arch_overrides)
    encoders = {}
    for key in ("encoder", "target_encoder"):
        encoders[key] = VideoEncoder(cfg)
        load_state_strict(encoders[key], states[key], f"{path} [{key}]")

    pred_state = states["predictor"]
    embed = pred_state.get("predictor_embed.weight")
    if embed is None:
        raise CheckpointError(f"{path} [predictor]: no predictor_embed.weight")
    num_tokens = sum(1 for k in pred_state if re.fullmatch(r"mask_tokens\.\d+", k))
    if num_tokens == 10 and not cfg.use_rope:  # the files cannot say which family they are; this is a strong hint
        log.warning("%s: 10 mask tokens, as in released V-JEPA 2 checkpoints; if this is one, load it with a "
                    "vjepa2_* arch (RoPE), not %s", path, arch)
    pred_cfg = predictor_config(cfg, depth=_depth(pred_state, "predictor_blocks"), embed_dim=embed.shape[0],
                                num_heads=pred_num_heads, num_mask_tokens=max(num_tokens, 1))
    predictor = Predictor(pred_cfg)
    load_state_strict(predictor, pred_state, f"{path} [predictor]")
    meta = {k: v for k, v in ckpt.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    return OfficialPretrain(encoders["encoder"], encoders["target_encoder"], predictor, meta)


def load_official_encoder(path: str | os.PathLike, arch: str, *, key: str = "target_encoder", **kwargs: Any
                          ) -> VideoEncoder:
    """The frozen backbone of official evaluation: ``target_encoder`` by default (the EMA weights)."""
    loaded = load_official_pretrain(path, arch, **kwargs)
    if key not in ("encoder", "target_encoder"):
        raise CheckpointError(f"checkpoint key must be 'encoder' or 'target_encoder', got '{key}'")
    return getattr(loaded, key)


def official_probe_state(path: Any, ckpt: Any, index: int = 0) -> tuple[dict[str, torch.Tensor], str]:
    """The probe state dict of an official probe file and its variant: V-JEPA 1 files hold one ``classifier``,
    V-JEPA 2 files (facebookresearch/vjepa2 evals) a list ``classifiers``, one per grid-searched lr / wd pair."""
    if not isinstance(ckpt, dict) or not ({"classifier", "classifiers"} & set(ckpt)):
        found = ", ".join(sorted(map(str, ckpt))) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: not an official probe checkpoint: no classifier or classifiers (found "
                              f"{found or 'nothing'})")
    if "classifier" in ckpt:
        return strip_prefixes(ckpt["classifier"]), "vjepa1"
    heads = ckpt["classifiers"]
    if not isinstance(heads, (list, tuple)) or not heads:
        raise CheckpointError(f"{path}: 'classifiers' is not a non-empty list of state dicts")
    if not 0 <= index < len(heads):
        raise CheckpointError(f"{path}: probe index {index} is out of range; the file holds {len(heads)} "
                              f"classifiers, use 0..{len(heads) - 1}")
    return strip_prefixes(heads[index]), "vjepa2"


def load_official_probe(path: str | os.PathLike, num_heads: int, attention: str = "auto", ckpt: Any = None,
                        *, index: int = 0, variant: str | None = None) -> AttentiveClassifier:
    """An official attentive-probe checkpoint, loaded strictly. Sizes are read from the weights; the number of
    heads cannot be, and is the encoder's in the official evals. ``ckpt``: the contents, when already read.

    Args:
        index: Which of a V-JEPA 2 file's ``classifiers`` (the grid-searched heads; 0 = the first).
        variant: ``vjepa1`` or ``vjepa2``; None: from the file (``classifier``: V-JEPA 1, ``classifiers``: V-JEPA 2).
    """
    ckpt = safe_torch_load(path) if ckpt is None else ckpt
    state, found = official_probe_state(path, ckpt, index)
    try:
        query = state["pooler.query_tokens"]
        linear = state["linear.weight"]
        hidden = state["pooler.cross_attention_block.mlp.fc1.weight"].shape[0]
    except KeyError as e:
        raise CheckpointError(f"{path} [classifier]: missing {e.args[0]}; not an attentive-probe checkpoint") from None
    dim = query.shape[-1]
    cfg = ProbeConfig(embed_dim=dim, num_heads=num_heads, num_classes=linear.shape[0],
                      depth=_depth(state, "pooler.blocks") + 1, mlp_ratio=hidden / dim,
                      num_queries=query.shape[1], attention=attention, variant=variant or found)
    probe = AttentiveClassifier(cfg)
    load_state_strict(probe, state, f"{path} [classifier]")
    return probe
