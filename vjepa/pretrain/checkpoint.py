"""Step-granular, atomic training checkpoints.

A checkpoint is one ``torch.save`` file holding only tensors and plain Python values (loaded back with
``weights_only=True``): the three models, the optimizer, the step, the RNG states and the resolved config. Data
order, masks and augmentations are pure functions of (seed, step), so the step is the data position.

Files in ``OUT/checkpoints/``: ``latest.pt`` (rewritten every ``checkpoint_every`` steps) and ``step_XXXXXXX.pt``
(every ``keep_every`` steps). Each is written to a temporary file and renamed, so a kill at any moment leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from vjepa.core import formats
from vjepa.core.errors import CheckpointError
from vjepa.core.io import atomic_write
from vjepa.pretrain.step import TrainState
from vjepa.weights.io import load_state_strict, safe_torch_load

FORMAT = formats.TRAIN_CHECKPOINT
LATEST = "latest.pt"


def checkpoint_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1])}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    random.setstate((3, tuple(states["python"]), None))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(out_dir: str | Path, state: TrainState, config: dict, extra: dict | None = None,
                    keep: bool = False) -> Path:
    """Write ``latest.pt`` (and ``step_XXXXXXX.pt`` when ``keep``) atomically; returns the latest path."""
    payload = {
        "format": FORMAT,
        "step": state.step,
        "encoder": state.encoder.state_dict(),
        "predictor": state.predictor.state_dict(),
        "target_encoder": state.target_encoder.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scaler": None,  # bf16 autocast needs no loss scaling; kept for the official layout
        "data_position": {"step": state.step, "note": "data order, masks and augmentations are functions of step"},
        "rng": rng_states(),
        "config": config,
        "extra": extra or {},
    }
    folder = checkpoint_dir(out_dir)
    latest = folder / LATEST
    atomic_write(latest, lambda p: torch.save(payload, p))
    if keep:
        atomic_write(folder / f"step_{state.step:07d}.pt", lambda p: torch.save(payload, p))
    return latest


def find_latest(out_dir: str | Path) -> Path | None:
    path = checkpoint_dir(out_dir) / LATEST
    return path if path.is_file() else None


def read_checkpoint(path: str | Path) -> dict:
    ckpt = safe_torch_load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a vjepa training checkpoint (format {FORMAT})")
    return ckpt


def load_into(ckpt: dict, state: TrainState, path: str | Path) -> None:
    """Restore models, optimizer, step and RNG states from a checkpoint read by :func:`read_checkpoint`."""
    for name in ("encoder", "predictor", "target_encoder"):
        load_state_strict(getattr(state, name), ckpt[name], f"{path} [{name}]")
    try:
        state.optimizer.load_state_dict(ckpt["optimizer"])
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"{path}: optimizer state does not fit this model ({e})") from None
    state.step = int(ckpt["step"])
    restore_rng_states(ckpt["rng"])
