"""What a path holds: the one detector of every weight file and folder the project reads.

Kinds (:data:`KINDS`):

* ``export``: our folder (``config.json`` + ``model.safetensors``, tensors ``<module>.<parameter>``), written by
  ``vjepa pretrain`` (``OUT/export``) and ``vjepa convert``;
* ``train-checkpoint``: ``torch.save`` dict tagged :data:`vjepa.core.formats.TRAIN_CHECKPOINT`;
* ``finetune-checkpoint`` / ``finetune-export``: what ``vjepa finetune`` writes (encoder + head);
* ``eval-probe``: the ``probe/`` folder ``vjepa eval`` writes (a folder whose only module is ``probe``);
* ``official-pretrain`` / ``official-probe``: a facebookresearch/jepa or vjepa2 ``.pth.tar`` (``encoder`` /
  ``target_encoder`` / ``predictor``, or ``classifier``); they record no architecture;
* ``hf-vjepa2``: a Hugging Face ``VJEPA2Model`` folder (``config.json`` with ``model_type: vjepa2``).

Files are read with ``torch.load(weights_only=True)`` (memory-mapped when possible), never executing code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from vjepa.core import formats
from vjepa.core.errors import CheckpointError
from vjepa.weights.hf import is_hf_folder
from vjepa.weights.io import read_json_object, safe_torch_load
from vjepa.weights.keys import prefixes

KINDS = ("export", "train-checkpoint", "finetune-checkpoint", "finetune-export", "eval-probe", "official-pretrain",
         "official-probe", "hf-vjepa2")
PARTS = ("encoder", "target_encoder", "predictor", "probe", "head")
_KNOWN = (formats.EXPORT, formats.TRAIN_CHECKPOINT, formats.FINETUNE_CHECKPOINT, formats.FINETUNE_EXPORT,
          formats.EVAL_PROBE)


@dataclass(frozen=True)
class Source:
    """A detected weight source.

    Attributes:
        path: The file or folder (a ``model.safetensors`` path is replaced by its folder).
        kind: One of :data:`KINDS`.
        parts: The parts it holds, among :data:`PARTS`.
        meta: Its metadata: the folder's ``config.json``, or the scalar entries (and ``config`` / ``meta``) of a
            ``torch.save`` dict.
        content: The checkpoint dict of a ``torch.save`` file (memory-mapped when possible), else None.
    """

    path: Path
    kind: str
    parts: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    content: Any = field(default=None, repr=False, compare=False)

    @property
    def weights(self) -> Path:
        """The ``model.safetensors`` of a folder."""
        return self.path / "model.safetensors"


def peek(path: Path) -> Any:
    """The checkpoint object, memory-mapped when possible so that only the entries used are read from disk."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - legacy (non-zip) files cannot be mmapped; safe_torch_load explains the rest
        return safe_torch_load(path)


def _ordered(found: Any) -> tuple[str, ...]:
    return tuple(p for p in PARTS if p in found)


def _folder(path: Path) -> Source:
    if is_hf_folder(path):
        meta = json.loads((path / "config.json").read_text())
        return Source(path, "hf-vjepa2", ("encoder", "predictor"), meta)
    config_path, weights = path / "config.json", path / "model.safetensors"
    if not config_path.is_file() or not weights.is_file():
        raise CheckpointError(f"{path}: not a vjepa export (needs config.json and model.safetensors)")
    meta = read_json_object(config_path)
    try:
        with safe_open(str(weights), framework="pt") as f:
            modules = prefixes(f.keys())
    except Exception as e:  # noqa: BLE001 - SafetensorError, OSError, ... all mean the same to the user
        raise CheckpointError(f"{weights}: not a readable safetensors file ({e})") from None
    tag = meta.get("format")
    if tag == formats.FINETUNE_EXPORT:
        kind = "finetune-export"
    elif tag == formats.EVAL_PROBE or modules == ["probe"]:
        kind = "eval-probe"
    else:
        kind = "export"
    return Source(path, kind, _ordered(modules), meta)


def _file(path: Path) -> Source:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint; path must name an export folder, a training checkpoint "
                              "(.pt), an official .pth.tar or a Hugging Face VJEPA2 folder")
    ckpt = peek(path)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: unknown checkpoint format (found {type(ckpt).__name__}); give an export "
                              "folder, a vjepa training checkpoint, or an official V-JEPA .pth.tar")
    scalars = {k: v for k, v in ckpt.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    dicts = {k for k, v in ckpt.items() if isinstance(v, dict)}
    tag = ckpt.get("format")
    if tag == formats.TRAIN_CHECKPOINT:
        return Source(path, "train-checkpoint", _ordered(dicts - {"probe", "head"}),
                      {**scalars, "config": ckpt.get("config")}, ckpt)
    if tag == formats.FINETUNE_CHECKPOINT:
        return Source(path, "finetune-checkpoint", ("encoder", "head"), {**scalars, **(ckpt.get("meta") or {})}, ckpt)
    if isinstance(tag, str) and tag.startswith("vjepa-"):
        raise CheckpointError(f"{path}: format {tag!r} is not one this version reads ({', '.join(_KNOWN)})")
    if "classifier" in ckpt or "classifiers" in ckpt:
        return Source(path, "official-probe", ("probe",), scalars, ckpt)
    if {"encoder", "target_encoder"} & dicts:
        return Source(path, "official-pretrain", _ordered(dicts), scalars, ckpt)
    found = ", ".join(sorted(map(str, ckpt)))[:200]
    raise CheckpointError(f"{path}: unknown checkpoint format (found {found or 'nothing'}); give an export "
                          "folder, a vjepa training checkpoint, or an official V-JEPA .pth.tar")


def detect(path: str | os.PathLike | Source) -> Source:
    """Describe what ``path`` holds (a :class:`Source` is returned as is).

    Raises:
        CheckpointError: a missing path, an unreadable file, or contents of no known kind (one line).
    """
    if isinstance(path, Source):
        return path
    path = Path(path)
    if path.name == "model.safetensors":
        path = path.parent
    return _folder(path) if path.is_dir() else _file(path)
