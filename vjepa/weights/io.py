"""Reading and writing weights safely.

* ``torch.load`` always runs with ``weights_only=True``: a checkpoint can hold tensors and plain Python values,
  never code, so a malicious pickle cannot execute anything.
* Our own exports are safetensors plus a JSON config, written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from vjepa.core.errors import CheckpointError
from vjepa.core.io import atomic_write


def safe_torch_load(path: str | os.PathLike) -> Any:
    """``torch.load(path, weights_only=True)`` with one-line errors for missing, truncated or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"{path}: refused to unpickle (only tensors and plain values are loaded, weights_only=True): {first}"
        ) from None
    except Exception as e:  # noqa: BLE001 - arbitrary bytes raise anything from KeyError to RuntimeError
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (truncated or another format: {reason})") from None


def save_modules(out_dir: str | os.PathLike, modules: Mapping[str, nn.Module], config: Mapping[str, Any]) -> Path:
    """Write ``model.safetensors`` (keys ``<module name>.<parameter>``) and ``config.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    tensors = {
        f"{name}.{key}": value.detach().cpu().contiguous()
        for name, module in modules.items()
        for key, value in module.state_dict().items()
    }
    atomic_write(out_dir / "model.safetensors", lambda p: save_file(tensors, p, metadata={"format": "vjepa"}))
    atomic_write(out_dir / "config.json", lambda p: Path(p).write_text(json.dumps(config, indent=1) + "\n"))
    return out_dir


def load_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file, with a one-line error for unreadable files."""
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None


SHOWN = 4
"""Names listed per kind of problem in a :func:`load_state_strict` error."""


def _few(items: list[str], sep: str) -> str:
    """The first ``SHOWN`` items, then ``... and N more``: a message stays one readable line."""
    more = f"{sep}... and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return sep.join(items[:SHOWN]) + more


def load_state_strict(module: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """Load every entry of ``state`` into ``module``: every key must map, every shape must agree.

    Raises:
        CheckpointError listing the missing keys, the unexpected keys and the shape mismatches (at most
        ``SHOWN`` of each, then ``... and N more``).
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_few(missing, ', ')}")
    if unexpected:
        problems.append(f"unexpected keys: {_few(unexpected, ', ')}")
    if mismatched:
        problems.append(f"shape mismatches (checkpoint vs model): {_few(mismatched, '; ')}")
    if problems:
        raise CheckpointError(f"{what} does not fit the model: " + " | ".join(problems))
    module.load_state_dict(state, strict=True)


def read_json_object(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from ``path``, with one-line errors for missing, unreadable or non-object files."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable JSON config ({e})") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return value
