"""The world-model export folder (``OUT/export`` of ``vjepa world train``) and its loader (``vjepa world plan``).

``model.safetensors`` holds the predictor (``predictor.*``) and, when the frozen encoder was a random init (no file
to point at), the encoder too (``encoder.*``); ``config.json`` records the format tag, the encoder's source, key,
arch and size, the predictor's size, the objective's ``normalize_reps`` and the training step. An encoder that
came from a file is loaded again from that file (a ViT-g is 4 GB: it is not copied).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vjepa.core import formats
from vjepa.core.errors import CheckpointError
from vjepa.models.ac_predictor import ACPredictorConfig, ActionConditionedPredictor
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.weights.io import load_state_strict, load_tensors, read_json_object, save_modules
from vjepa.weights.keys import split_prefixes
from vjepa.weights.load import load_encoder
from vjepa.world.model import WorldModel

WORLD_EXPORT = formats.WORLD_MODEL
RANDOM_INIT = "none"
"""The encoder source of a random-init frozen encoder."""


def save_world_export(folder: str | os.PathLike, encoder: VideoEncoder, predictor: ActionConditionedPredictor,
                      encoder_source: str, encoder_key: str, encoder_arch: str | None, normalize_reps: bool,
                      step: int) -> Path:
    """Write the export folder atomically (file by file); returns it."""
    modules: dict[str, nn.Module] = {"predictor": predictor}
    if encoder_source == RANDOM_INIT:
        modules["encoder"] = encoder
    source = encoder_source if encoder_source == RANDOM_INIT else str(Path(encoder_source).resolve())
    config = {"format": WORLD_EXPORT, "encoder_source": source, "encoder_key": encoder_key,
              "encoder_arch": encoder_arch, "encoder": asdict(encoder.cfg), "predictor": asdict(predictor.cfg),
              "normalize_reps": normalize_reps, "step": step}
    return save_modules(folder, modules, config)


def _encoder_config(meta: dict[str, Any]) -> EncoderConfig:
    return EncoderConfig(**meta["encoder"])


def _predictor_config(meta: dict[str, Any]) -> ACPredictorConfig:
    values = dict(meta["predictor"])
    values["grid"] = tuple(values["grid"])
    return ACPredictorConfig(**values)


def load_world_model(folder: str | os.PathLike, device: str | torch.device = "cpu") -> WorldModel:
    """The world model of an export folder, eval mode, on ``device``.

    Raises:
        CheckpointError naming the folder when it is not a world-model export or its weights do not fit.
    """
    folder = Path(folder)
    if not (folder / "config.json").is_file() and (folder / "export" / "config.json").is_file():
        folder = folder / "export"  # the training output folder was given
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: not a world-model export (no config.json); give the OUT/export folder "
                              "of vjepa world train")
    meta = read_json_object(folder / "config.json")
    formats.check_format(meta.get("format"), WORLD_EXPORT, folder / "config.json")
    try:
        enc_cfg, pred_cfg = _encoder_config(meta), _predictor_config(meta)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{folder / 'config.json'}: malformed world-model config ({e})") from None
    states = split_prefixes(load_tensors(folder / "model.safetensors"))
    predictor = ActionConditionedPredictor(pred_cfg)
    load_state_strict(predictor, states.get("predictor", {}), f"{folder} [predictor]")
    if meta["encoder_source"] == RANDOM_INIT:
        encoder = VideoEncoder(enc_cfg)
        load_state_strict(encoder, states.get("encoder", {}), f"{folder} [encoder]")
    else:
        source = meta["encoder_source"]
        if not Path(source).exists():
            raise CheckpointError(f"{folder}: its frozen encoder {source} is gone; put it back at that path")
        overrides = {k: getattr(enc_cfg, k) for k in ("embed_dim", "depth", "num_heads", "patch_size")}
        arch = meta.get("encoder_arch")
        kwargs = {"arch": arch, "img_size": enc_cfg.img_size, **overrides} if arch else {}
        encoder = load_encoder(source, key=meta.get("encoder_key", "target_encoder"), **kwargs)
    return WorldModel(encoder.to(device), predictor.to(device), normalize_reps=bool(meta.get("normalize_reps", True)))
