"""The typed config of world-model training (``vjepa world train``): a frozen encoder, an action-conditioned
predictor trained with the V-JEPA 2-AC objective on trajectories (see ``vjepa/world/train.py``).

Sections: ``runtime`` (the shared :class:`RuntimeConfig`), ``data`` (trajectory windows), ``encoder`` (which frozen
encoder, and its size when it is random-init or an official file), ``predictor``, ``optim``, ``run``. Loaded with
the one strict loader (``load_world_config``: unknown keys get a did-you-mean error), checked by
:func:`validate_world` with the shared helpers. Presets: ``world_droid`` (the official DROID recipe) and
``world_cpu`` (the CPU demo).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from vjepa.config.checks import at_least, choose, need
from vjepa.config.loader import load_typed
from vjepa.config.sections import RuntimeConfig, check_runtime

SCHEDULES = ("wsd", "cosine")
ENCODER_KEYS = ("target_encoder", "encoder")


@dataclass
class TrajectoryDataConfig:
    """Windows of ``num_frames`` frames, ``frame_step`` apart, cut from episodes (trajectories.py format)."""

    paths: list[str] = field(default_factory=list)
    """Folders or CSV files of episodes; their good episodes are pooled."""
    num_frames: int = 8
    """Frames per training window (official DROID: 8)."""
    frame_step: int = 1
    """Stride between the window's frames in the episode (video fps / frame_step = the window's fps; official:
    DROID's 15 fps videos resampled to 4 fps). Actions over a stride are summed."""
    window_stride: int | None = None
    """Frames between the starts of two windows of an episode; null: ``num_frames * frame_step`` (no overlap)."""
    crop_size: int = 256
    """Frames are centre-cropped to a square and resized to this side (official 256)."""
    cache_frames: bool = False
    """Decode each episode once and keep its frames in memory (small CPU datasets)."""


@dataclass
class WorldEncoderConfig:
    """The frozen encoder. ``arch`` names the size of an official file or of a random-init encoder (``custom``:
    give ``embed_dim``, ``depth``, ``num_heads``); our exports and checkpoints carry their size."""

    arch: str | None = None
    embed_dim: int | None = None
    depth: int | None = None
    num_heads: int | None = None
    patch_size: int | None = None
    key: str = "target_encoder"
    """Which stored encoder to use (official DROID: ``target_encoder``)."""


@dataclass
class WorldPredictorConfig:
    """The action-conditioned predictor and its objective (official ``model`` and ``loss`` sections)."""

    depth: int = 24
    width: int = 1024
    """The predictor's own width (official ``pred_embed_dim``)."""
    num_heads: int = 16
    action_dim: int = 7
    """Width of an action and of a state (DROID: 7, end-effector position, orientation, gripper)."""
    use_extrinsics: bool = False
    auto_steps: int = 2
    """Rollout length of the second loss (official 2)."""
    normalize_reps: bool = True
    loss_exp: float = 1.0
    grad_checkpointing: bool = False
    """Recompute block activations in the backward pass (official ``use_activation_checkpointing``)."""


@dataclass
class WorldOptimConfig:
    batch_size: int = 4
    epochs: int = 315
    steps_per_epoch: int = 300
    """Official ``ipe``: the length of an epoch in steps (the schedule's unit), not a pass over the data."""
    schedule: str = "wsd"
    """``wsd``: warmup, constant, linear anneal (official V-JEPA 2-AC); ``cosine``: warmup then cosine."""
    lr: float = 4.25e-4
    start_lr: float = 7.5e-5
    final_lr: float = 0.0
    warmup_epochs: float = 15
    anneal_epochs: float = 15
    """``wsd`` only: the last epochs, over which the lr falls linearly to ``final_lr``."""
    weight_decay: float = 0.04
    final_weight_decay: float = 0.04
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    grad_clip: float | None = None
    """Clip the gradients' global norm (null: no clipping, as official)."""


@dataclass
class WorldRunConfig:
    checkpoint_every: int = 100
    log_every: int = 10
    max_steps: int | None = None
    """Stop after this many steps (null: ``epochs * steps_per_epoch``)."""
    dist_timeout_s: float = 600.0
    """Under torchrun: the longest wait of any collective (the rendezvous included) before a one-line error."""


@dataclass
class WorldTrainConfig:
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    data: TrajectoryDataConfig = field(default_factory=TrajectoryDataConfig)
    encoder: WorldEncoderConfig = field(default_factory=WorldEncoderConfig)
    predictor: WorldPredictorConfig = field(default_factory=WorldPredictorConfig)
    optim: WorldOptimConfig = field(default_factory=WorldOptimConfig)
    run: WorldRunConfig = field(default_factory=WorldRunConfig)


def world_total_steps(cfg: WorldTrainConfig) -> int:
    """Steps of the run: ``epochs * steps_per_epoch``, capped by ``run.max_steps``."""
    total = cfg.optim.epochs * cfg.optim.steps_per_epoch
    return min(total, cfg.run.max_steps) if cfg.run.max_steps is not None else total


def load_world_config(path: str | os.PathLike | None, overrides: Sequence[str] = ()) -> WorldTrainConfig:
    """Defaults <- YAML file or preset (``world_cpu``, ``world_droid``) <- ``key=value`` overrides, validated."""
    cfg = load_typed(WorldTrainConfig, path, overrides)
    validate_world(cfg)
    return cfg


def validate_world(cfg: WorldTrainConfig) -> None:
    """The cross-field rules; a one-line ConfigError naming the key and value."""
    check_runtime(cfg.runtime)
    d, p, o = cfg.data, cfg.predictor, cfg.optim
    at_least(d, 1, ("frame_step", "window_stride", "crop_size"), "data.")
    at_least(d, 2, ("num_frames",), "data.")
    at_least(p, 1, ("depth", "width", "num_heads", "action_dim", "auto_steps"), "predictor.")
    need(p.width % p.num_heads == 0, f"predictor.width = {p.width}: must be divisible by predictor.num_heads = "
                                     f"{p.num_heads}")
    need(p.auto_steps <= d.num_frames - 1, f"predictor.auto_steps = {p.auto_steps}: must be <= data.num_frames - 1 "
                                           f"= {d.num_frames - 1}")
    need(not p.use_extrinsics or p.action_dim >= 2, "predictor.use_extrinsics needs predictor.action_dim >= 2")
    need(p.loss_exp > 0, f"predictor.loss_exp = {p.loss_exp}: must be > 0")
    choose("encoder.key", cfg.encoder.key, ENCODER_KEYS)
    at_least(cfg.encoder, 1, ("embed_dim", "depth", "num_heads", "patch_size"), "encoder.")
    at_least(o, 1, ("batch_size", "epochs", "steps_per_epoch"), "optim.")
    at_least(o, 0, ("lr", "start_lr", "final_lr", "warmup_epochs", "anneal_epochs", "weight_decay",
                    "final_weight_decay", "eps"), "optim.")
    choose("optim.schedule", o.schedule, SCHEDULES)
    need(o.warmup_epochs + (o.anneal_epochs if o.schedule == "wsd" else 0) <= o.epochs,
         f"optim.warmup_epochs {o.warmup_epochs} (+ anneal_epochs {o.anneal_epochs}) must fit in optim.epochs "
         f"{o.epochs}")
    need(all(0 <= b < 1 for b in o.betas), f"optim.betas = {list(o.betas)}: each must be in [0, 1)")
    need(o.grad_clip is None or o.grad_clip > 0, f"optim.grad_clip = {o.grad_clip}: must be > 0 or null")
    at_least(cfg.run, 1, ("checkpoint_every", "log_every", "max_steps"), "run.")
    need(0 < cfg.run.dist_timeout_s < float("inf"), f"run.dist_timeout_s = {cfg.run.dist_timeout_s}: must be > 0 "
                                                   "seconds")
