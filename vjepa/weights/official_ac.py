"""Import of official V-JEPA 2-AC checkpoints (facebookresearch/vjepa2, ``vit_ac_predictor``) into our encoder and
action-conditioned predictor, strictly.

Accepted layouts:

* a ``.pt`` / ``.pth.tar`` dict holding ``encoder`` (or ``target_encoder``) and ``predictor`` state dicts whose
  keys may start with ``module.`` / ``backbone.`` (DDP and wrapper prefixes), read with
  ``torch.load(weights_only=True)``;
* a flat dict (or safetensors file) with ``encoder.*`` and ``predictor.*`` keys.

Our parameter names are the official ones, so the mapping only splits the two modules and removes prefixes; the
sin-cos ``pos_embed`` table some V-JEPA 2 files carry is unused by RoPE encoders and dropped. Every other key must
map and every shape must agree, else a one-line :class:`CheckpointError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from vjepa.core.errors import CheckpointError
from vjepa.models.ac_predictor import ACPredictorConfig, ActionConditionedPredictor
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.weights.io import load_state_strict, load_tensors, safe_torch_load

WRAPPER_PREFIXES = ("module.", "backbone.")
UNUSED_ENCODER_KEYS = ("pos_embed",)  # sin-cos table stored by V-JEPA 2 files; RoPE encoders never use it


def _strip(key: str) -> str:
    while key.startswith(WRAPPER_PREFIXES):
        key = key.split(".", 1)[1]
    return key


def map_official_ac_keys(ckpt: Mapping[str, Any], encoder_key: str = "encoder"
                         ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(encoder state, predictor state) in our names from an official 2-AC checkpoint dict.

    ``encoder_key`` picks ``encoder`` or ``target_encoder`` in nested checkpoints; flat ones hold ``encoder.*``.
    """
    if isinstance(ckpt.get(encoder_key), Mapping) and isinstance(ckpt.get("predictor"), Mapping):
        encoder = {_strip(k): v for k, v in ckpt[encoder_key].items()}
        predictor = {_strip(k): v for k, v in ckpt["predictor"].items()}
    else:
        encoder, predictor, stray = {}, {}, []
        for key, value in ckpt.items():
            module, _, rest = _strip(key).partition(".")
            if module == encoder_key and rest:
                encoder[_strip(rest)] = value
            elif module == "predictor" and rest:
                predictor[_strip(rest)] = value
            elif isinstance(value, torch.Tensor):
                stray.append(key)
        if stray:
            raise CheckpointError(f"keys outside {encoder_key}.* and predictor.*: {', '.join(sorted(stray)[:5])}")
        if not encoder or not predictor:
            found = ", ".join(sorted(map(str, ckpt))[:8]) or "nothing"
            raise CheckpointError(f"not a V-JEPA 2-AC checkpoint: no {encoder_key} and predictor weights "
                                  f"(found {found})")
    encoder = {k: v for k, v in encoder.items() if k not in UNUSED_ENCODER_KEYS}
    return encoder, predictor


def read_official_ac(path: str | os.PathLike) -> dict[str, Any]:
    """The raw dict of a ``.safetensors`` file or a ``torch.load(weights_only=True)`` checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    ckpt = load_tensors(path) if path.suffix == ".safetensors" else safe_torch_load(path)
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(f"{path}: expected a checkpoint dict, found {type(ckpt).__name__}")
    return dict(ckpt)


def load_official_ac(path: str | os.PathLike, encoder_cfg: EncoderConfig, predictor_cfg: ACPredictorConfig,
                     encoder_key: str = "encoder") -> tuple[VideoEncoder, ActionConditionedPredictor]:
    """Our encoder and action-conditioned predictor, built from the configs and loaded strictly from ``path``."""
    if not encoder_cfg.use_rope:
        raise CheckpointError("V-JEPA 2-AC encoders use RoPE: build the encoder config with use_rope=True")
    try:
        enc_state, pred_state = map_official_ac_keys(read_official_ac(path), encoder_key)
    except CheckpointError as e:
        if str(e).startswith(str(path)):
            raise
        raise CheckpointError(f"{path}: {e}") from None
    encoder, predictor = VideoEncoder(encoder_cfg), ActionConditionedPredictor(predictor_cfg)
    load_state_strict(encoder, enc_state, f"{path} [{encoder_key}]")
    load_state_strict(predictor, pred_state, f"{path} [predictor]")
    return encoder, predictor
