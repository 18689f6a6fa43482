"""Our export format: a folder with ``model.safetensors`` and ``config.json`` (written by ``save_modules``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vjepa.core.errors import CheckpointError
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.weights.io import load_state_strict, load_tensors


def load_exported_encoder(folder: str | os.PathLike, key: str = "encoder") -> VideoEncoder:
    """The encoder stored under ``key`` (``encoder``, or ``target_encoder`` in converted official files)."""
    folder = Path(folder)
    config_path, weights_path = folder / "config.json", folder / "model.safetensors"
    if not config_path.is_file() or not weights_path.is_file():
        raise CheckpointError(f"{folder}: not a vjepa export (needs config.json and model.safetensors)")
    try:
        config = json.loads(config_path.read_text())
        enc_cfg = EncoderConfig(**config["encoder"])
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{config_path}: no valid 'encoder' config ({e})") from None
    tensors = load_tensors(weights_path)
    prefix = f"{key}."
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    if not state:
        found = sorted({k.split(".")[0] for k in tensors})
        raise CheckpointError(f"{weights_path}: no '{key}' weights (found {', '.join(found)})")
    encoder = VideoEncoder(enc_cfg)
    load_state_strict(encoder, state, f"{weights_path} [{key}]")
    return encoder.eval()
