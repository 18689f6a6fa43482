"""Our export format: a folder with ``model.safetensors`` and ``config.json`` (written by ``save_modules``)."""

from __future__ import annotations

import os

from vjepa.models.encoder import VideoEncoder
from vjepa.weights.load import load_encoder


def load_exported_encoder(folder: str | os.PathLike, key: str = "encoder") -> VideoEncoder:
    """The encoder stored under ``key`` (``encoder``, or ``target_encoder`` in converted official files)."""
    return load_encoder(folder, key=key)
