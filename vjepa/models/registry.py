"""Named model sizes (the official ``vit_*`` factories) and constructors."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Any

from vjepa.core.errors import ConfigError
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.predictor import Predictor, PredictorConfig


@dataclass(frozen=True)
class ArchSpec:
    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float = 4.0
    patch_size: int = 16
    use_rope: bool = False
    """V-JEPA 2 sizes: 3-D RoPE in every attention block (encoder and predictor) instead of sin-cos tables."""


# Widths, depths and heads of the official factories (src/models/vision_transformer.py).
ARCHS: dict[str, ArchSpec] = {
    "vit_tiny": ArchSpec(192, 12, 3),
    "vit_small": ArchSpec(384, 12, 6),
    "vit_base": ArchSpec(768, 12, 12),
    "vit_large": ArchSpec(1024, 24, 16),
    "vit_huge": ArchSpec(1280, 32, 16),
    "vit_giant": ArchSpec(1408, 40, 16, mlp_ratio=48 / 11),
    # The official factory misspells its MLP-ratio keyword, so the default 4.0 applies (6656 hidden, not 8192).
    "vit_gigantic": ArchSpec(1664, 48, 16, mlp_ratio=4.0, patch_size=14),
    # V-JEPA 2 (facebookresearch/vjepa2): RoPE everywhere; its ViT-g has 22 heads of 64 (not the V-JEPA 1 16).
    "vjepa2_vit_large": ArchSpec(1024, 24, 16, use_rope=True),
    "vjepa2_vit_huge": ArchSpec(1280, 32, 16, use_rope=True),
    "vjepa2_vit_giant": ArchSpec(1408, 40, 22, mlp_ratio=48 / 11, use_rope=True),
}


def arch_spec(name: str, **overrides: Any) -> ArchSpec:
    """The spec of a named size, with optional overrides (``embed_dim``, ``depth``, ``num_heads``, ``mlp_ratio``,
    ``patch_size``; None values are ignored). ``custom`` needs embed_dim, depth and num_heads."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if name == "custom":
        missing = [k for k in ("embed_dim", "depth", "num_heads") if k not in overrides]
        if missing:
            raise ConfigError(f"model.arch 'custom' needs {', '.join('model.' + k for k in missing)}")
        return _checked(ArchSpec(**overrides), name)
    if name not in ARCHS:
        close = difflib.get_close_matches(name, ARCHS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; choose one of {', '.join(ARCHS)} or 'custom'"
        raise ConfigError(f"unknown model size '{name}'{hint}")
    return _checked(replace(ARCHS[name], **overrides), name)


def _checked(spec: ArchSpec, name: str) -> ArchSpec:
    if spec.embed_dim % spec.num_heads:
        raise ConfigError(f"{name}: width {spec.embed_dim} is not divisible by {spec.num_heads} heads; "
                          "choose a number of heads that divides the width")
    return spec


def encoder_config(arch: str, *, num_frames: int = 16, img_size: int = 224, tubelet_size: int = 2,
                   uniform_power: bool = True, attention: str = "auto", rope_layout: str = "tiled",
                   **overrides: Any) -> EncoderConfig:
    """The encoder config of a named size (``use_rope`` comes from the size, or from the overrides)."""
    spec = arch_spec(arch, **overrides)
    return EncoderConfig(
        embed_dim=spec.embed_dim, depth=spec.depth, num_heads=spec.num_heads, mlp_ratio=spec.mlp_ratio,
        patch_size=spec.patch_size, tubelet_size=tubelet_size, num_frames=num_frames, img_size=img_size,
        uniform_power=uniform_power, attention=attention, use_rope=spec.use_rope, rope_layout=rope_layout,
    )


def create_encoder(arch: str, **kwargs: Any) -> VideoEncoder:
    """A freshly initialised encoder of a named size; keyword arguments as for :func:`encoder_config`."""
    return VideoEncoder(encoder_config(arch, **kwargs))


def predictor_config(enc: EncoderConfig, *, depth: int = 12, embed_dim: int = 384, num_heads: int | None = None,
                     num_mask_tokens: int = 2, zero_init_mask_tokens: bool = True) -> PredictorConfig:
    """The predictor the official ``init_video_model`` builds for an encoder: heads = encoder heads for V-JEPA 1,
    12 for V-JEPA 2 (RoPE) encoders, whose predictor width 384 the encoder's heads do not always divide."""
    return PredictorConfig(
        embed_dim=enc.embed_dim, predictor_embed_dim=embed_dim, depth=depth,
        num_heads=num_heads or (12 if enc.use_rope else enc.num_heads), mlp_ratio=4.0,
        num_mask_tokens=num_mask_tokens, zero_init_mask_tokens=zero_init_mask_tokens, grid=enc.grid,
        uniform_power=enc.uniform_power, attention=enc.attention, use_rope=enc.use_rope,
        rope_layout=enc.rope_layout,
    )


def create_predictor(enc: EncoderConfig, **kwargs: Any) -> Predictor:
    return Predictor(predictor_config(enc, **kwargs))


def count_parameters(arch: str, **kwargs: Any) -> int:
    """Trainable parameters of a named encoder, computed from its shapes (nothing is allocated)."""
    spec = arch_spec(arch)
    d, h = spec.embed_dim, int(spec.embed_dim * spec.mlp_ratio)
    tubelet = kwargs.get("tubelet_size", 2)
    patch = 3 * tubelet * spec.patch_size**2 * d + d
    block = (d * 3 * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d) + 4 * d
    return patch + spec.depth * block + 2 * d
