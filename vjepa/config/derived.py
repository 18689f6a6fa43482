"""Values derived from the configuration: pure functions, never stored as dataclass fields.

The integer conversions follow the official ``init_opt`` (app/vjepa/utils.py) so that the step counts, and hence
the schedules, are exactly the official ones (vitl16: 12 000 warmup steps, 112 500 schedule steps, 90 000 trained).
"""

from __future__ import annotations

from vjepa.config.schema import OptimConfig
from vjepa.core.errors import ConfigError


def total_steps(optim: OptimConfig) -> int:
    """Optimizer steps of the whole run: ``epochs · steps_per_epoch`` (vitl16: 300 · 300 = 90 000)."""
    return optim.epochs * optim.steps_per_epoch


def warmup_steps(optim: OptimConfig) -> int:
    """Linear-warmup length in steps, official ``int(warmup · ipe)`` (vitl16: 40 · 300 = 12 000)."""
    return int(optim.warmup_epochs * optim.steps_per_epoch)


def schedule_steps(optim: OptimConfig) -> int:
    """Length T of the lr / wd schedules in steps, official ``int(ipe_scale · epochs · ipe)`` (vitl16: 112 500).

    The multiplication order is the official one, so the result is the same integer in every case."""
    return int(optim.schedule_horizon * optim.epochs * optim.steps_per_epoch)


def per_process_batch(optim: OptimConfig, world_size: int = 1) -> int:
    """Clips per optimizer step and process: ``batch_size / world_size`` (must divide exactly)."""
    if world_size < 1 or optim.batch_size % world_size:
        raise ConfigError(
            f"optim.batch_size {optim.batch_size} is not divisible by the world size {world_size}; "
            f"use a multiple of {world_size}"
        )
    return optim.batch_size // world_size


def micro_batch_size(optim: OptimConfig, world_size: int = 1) -> int:
    """Clips per forward pass and process: ``optim.micro_batch_size``, or the whole per-process batch if null."""
    per_process = per_process_batch(optim, world_size)
    return per_process if optim.micro_batch_size is None else optim.micro_batch_size


def grad_accum_steps(optim: OptimConfig, world_size: int = 1) -> int:
    """Forward/backward passes per optimizer step and process (1 unless ``micro_batch_size`` is smaller)."""
    per_process, micro = per_process_batch(optim, world_size), micro_batch_size(optim, world_size)
    if micro < 1 or per_process % micro:
        raise ConfigError(
            f"optim.micro_batch_size {micro} does not divide the per-process batch {per_process} "
            f"(optim.batch_size {optim.batch_size} / world size {world_size}); use a divisor of {per_process}"
        )
    return per_process // micro
