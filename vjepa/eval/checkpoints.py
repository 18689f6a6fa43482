"""The frozen backbone of ``vjepa eval``: one loader for every checkpoint form the project knows.

``load_frozen_encoder`` dispatches on what ``checkpoint`` is:

* ``"none"``: a freshly initialised encoder of ``arch`` (seeded), the random-init baseline.
* a folder (or its ``model.safetensors``): our export (``config.json`` + ``model.safetensors``).
* a ``torch.save`` file with ``format: vjepa-train-checkpoint/1``: our training checkpoint; the encoder is built
  from the resolved config stored in it, so ``arch`` and the sizes are not needed.
* any other ``torch.save`` dict with ``encoder`` / ``target_encoder`` / ``predictor``: an official
  facebookresearch/jepa ``.pth.tar``; it stores no architecture, so ``arch`` (and the pretraining
  ``num_frames`` / ``img_size`` that sized its position table) must be given.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from vjepa.core.errors import CheckpointError, ConfigError, VjepaError
from vjepa.models.encoder import VideoEncoder
from vjepa.models.registry import create_encoder, encoder_config
from vjepa.pretrain.checkpoint import FORMAT as TRAIN_FORMAT
from vjepa.weights.export import load_exported_encoder
from vjepa.weights.io import load_state_strict, safe_torch_load
from vjepa.weights.official import load_official_encoder

log = logging.getLogger("vjepa")
KEYS = ("target_encoder", "encoder")


def _peek(path: Path) -> Any:
    """The checkpoint object, memory-mapped when possible so that only the entries used are read from disk."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - legacy (non-zip) files cannot be mmapped; safe_torch_load explains the rest
        return safe_torch_load(path)


def _from_export(folder: Path, key: str) -> VideoEncoder:
    """Our export. Pretraining exports (``vjepa pretrain`` → ``OUT/export``) store only the target encoder, under
    the name ``encoder``; converted official files store both. So ``target_encoder`` falls back to ``encoder``
    exactly when the export holds no ``target_encoder`` but does hold ``encoder``."""
    weights = folder / "model.safetensors"
    if key == "target_encoder" and weights.is_file():
        try:
            with safe_open(str(weights), framework="pt") as f:
                prefixes = {k.split(".", 1)[0] for k in f.keys()}
        except Exception:  # noqa: BLE001 - unreadable: load_exported_encoder gives the one-line error
            prefixes = set()
        if "target_encoder" not in prefixes and "encoder" in prefixes:
            log.info("%s: no 'target_encoder' weights; using 'encoder' (a pretraining export stores the target "
                     "encoder under that name)", folder)
            key = "encoder"
    return load_exported_encoder(folder, key)


def _from_training(path: Path, ckpt: dict, key: str, arch: str | None) -> VideoEncoder:
    """Our training checkpoint: the encoder is rebuilt from the stored resolved config, then loaded strictly."""
    from vjepa.config import config_from_dict

    try:  # the loader's type checks, so a hand-edited config still fails with a one-line message
        cfg = config_from_dict(ckpt.get("config") or {}, f"{path} [config]")
    except ConfigError as e:
        raise CheckpointError(f"{e}; the checkpoint's stored config is not valid") from None
    m, d = cfg.model, cfg.data
    if arch is not None and arch != m.arch:
        raise ConfigError(f"--arch {arch} disagrees with {path}, a training checkpoint of model.arch {m.arch}; "
                          "drop --arch (training checkpoints store their architecture)")
    enc_cfg = encoder_config(  # the same arguments as vjepa.pretrain.build.build_models
        m.arch, num_frames=d.num_frames, img_size=d.crop_size, tubelet_size=m.tubelet_size,
        uniform_power=m.uniform_power, attention=m.attention, embed_dim=m.embed_dim, depth=m.depth,
        num_heads=m.num_heads, mlp_ratio=m.mlp_ratio, patch_size=m.patch_size)
    if not isinstance(ckpt.get(key), dict):
        raise CheckpointError(f"{path}: no '{key}' state dict in this training checkpoint")
    encoder = VideoEncoder(enc_cfg)
    load_state_strict(encoder, ckpt[key], f"{path} [{key}]")
    return encoder


def load_frozen_encoder(checkpoint: str | os.PathLike, *, key: str = "target_encoder", arch: str | None = None,
                        num_frames: int = 16, img_size: int = 224, seed: int = 0, **arch_overrides: Any,
                        ) -> VideoEncoder:
    """Load the encoder to evaluate, in eval mode on the CPU.

    Args:
        checkpoint: ``"none"``, an export folder, a training checkpoint (``.pt``) or an official ``.pth.tar``.
        key: ``target_encoder`` (the EMA encoder, official default) or ``encoder``. For our pretraining exports,
            which store only the target encoder under the name ``encoder``, ``target_encoder`` falls back to it.
        arch: Registry size (``vit_large``, ..., or ``custom`` with ``embed_dim``/``depth``/``num_heads`` in
            ``arch_overrides``); required for ``"none"`` and official files, ignored-if-equal for training
            checkpoints.
        num_frames, img_size: Clip size the position table was built for (official files and ``"none"``);
            other input sizes are handled by interpolating the table.
        seed: Initialisation seed of ``"none"``.
        **arch_overrides: ``embed_dim``, ``depth``, ``num_heads``, ``mlp_ratio``, ``patch_size`` (None = unset).

    Raises:
        ConfigError: unknown key, missing ``arch``; CheckpointError: missing or unreadable file, unknown format,
            weights that do not fit ``arch``.
    """
    if key not in KEYS:
        raise ConfigError(f"--key {key!r}: use target_encoder (the EMA encoder, official) or encoder")
    overrides = {k: v for k, v in arch_overrides.items() if v is not None}
    if str(checkpoint) == "none":
        if arch is None:
            raise ConfigError("--checkpoint none (random init) needs --arch, e.g. --arch vit_large")
        with torch.random.fork_rng(devices=[]):  # a seeded baseline that leaves the caller's RNG alone
            torch.manual_seed(seed)
            return create_encoder(arch, num_frames=num_frames, img_size=img_size, **overrides).eval()
    path = Path(checkpoint)
    if path.name == "model.safetensors" and (path.parent / "config.json").is_file():
        path = path.parent
    if path.is_dir():
        return _from_export(path, key).eval()
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint; give an export folder, a training checkpoint (.pt), "
                              "an official .pth.tar, or 'none'")
    ckpt = _peek(path)
    if isinstance(ckpt, dict) and ckpt.get("format") == TRAIN_FORMAT:
        return _from_training(path, ckpt, key, arch).eval()
    if not isinstance(ckpt, dict) or not {"encoder", "target_encoder"} & set(ckpt):
        found = ", ".join(sorted(map(str, ckpt)))[:200] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: unknown checkpoint format (found {found or 'nothing'}); give an export "
                              "folder, a vjepa training checkpoint, or an official V-JEPA .pth.tar")
    if arch is None:
        raise ConfigError(f"{path} is an official V-JEPA checkpoint, which does not record its size: pass --arch "
                          "(e.g. vit_large; `vjepa models` lists them) and, if not pretrained at 16x224, "
                          "--pretrain-frames / --pretrain-img-size")
    del ckpt  # load_official_encoder reads the file itself
    try:
        return load_official_encoder(path, arch, key=key, num_frames=num_frames, img_size=img_size,
                                     **overrides).eval()
    except VjepaError:
        raise
    except (TypeError, ValueError) as e:  # e.g. a width the heads do not divide
        raise ConfigError(f"{path}: cannot build --arch {arch} with {overrides}: {e}") from None
