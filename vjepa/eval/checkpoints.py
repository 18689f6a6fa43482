"""The frozen backbone of ``vjepa eval``: any weights :mod:`vjepa.weights.load` reads, or a random baseline.

``load_frozen_encoder`` takes:

* ``"none"``: a freshly initialised encoder of ``arch`` (seeded), the random-init baseline;
* anything :func:`vjepa.weights.detect.detect` recognises: our export folder (or its ``model.safetensors``), our
  training checkpoint (the encoder is rebuilt from its stored config, so ``arch`` is not needed), a fine-tuning
  checkpoint or export, an official facebookresearch/jepa or vjepa2 ``.pth.tar`` (which stores no architecture,
  so ``arch`` and the pretraining ``num_frames`` / ``img_size`` must be given), or a Hugging Face VJEPA2 folder.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from vjepa.core.errors import ConfigError
from vjepa.models.encoder import VideoEncoder
from vjepa.models.registry import create_encoder
from vjepa.weights.load import KEYS, load_encoder

__all__ = ["KEYS", "load_frozen_encoder"]


def load_frozen_encoder(checkpoint: str | os.PathLike, *, key: str = "target_encoder", arch: str | None = None,
                        num_frames: int = 16, img_size: int = 224, seed: int = 0, **arch_overrides: Any,
                        ) -> VideoEncoder:
    """Load the encoder to evaluate, in eval mode on the CPU.

    Args:
        checkpoint: ``"none"``, an export folder, a training checkpoint (``.pt``) or an official ``.pth.tar``.
        key: ``target_encoder`` (the EMA encoder, official default) or ``encoder``. For our pretraining exports,
            which store only the target encoder under the name ``encoder``, ``target_encoder`` falls back to it.
        arch: Registry name (``vit_large``, ``vjepa2_vit_large``, ... or ``custom`` with ``arch_overrides``);
            required for ``"none"`` and official files, ignored-if-equal for training checkpoints.
        num_frames, img_size: Clip size the position table was built for (official files and ``"none"``);
            other input sizes are handled by interpolating the table.
        seed: Initialisation seed of ``"none"``.
        **arch_overrides: ``embed_dim``, ``depth``, ``num_heads``, ``mlp_ratio``, ``patch_size`` (None = unset).

    Raises:
        ConfigError: unknown key, missing ``arch``; CheckpointError: missing or unreadable file, unknown format,
            weights that do not fit ``arch``.
    """
    if key not in KEYS:
        raise ConfigError(f"key {key!r}: use target_encoder (the EMA encoder, official) or encoder")
    if str(checkpoint) == "none":
        if arch is None:
            raise ConfigError("checkpoint 'none' (random init) needs an arch, e.g. arch='vit_large'")
        overrides = {k: v for k, v in arch_overrides.items() if v is not None}
        with torch.random.fork_rng(devices=[]):  # a seeded baseline that leaves the caller's RNG alone
            torch.manual_seed(seed)
            return create_encoder(arch, num_frames=num_frames, img_size=img_size, **overrides).eval()
    return load_encoder(checkpoint, key=key, arch=arch, num_frames=num_frames, img_size=img_size,
                        **arch_overrides).eval()
