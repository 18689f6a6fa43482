"""Learning-rate, weight-decay and EMA-momentum schedules as pure functions of the iteration.

``k`` is 1-based: the k-th optimizer step. The official schedulers (src/utils/schedulers.py and the momentum
generator of app/vjepa/train.py) are stepped before the forward pass of iteration k, so iteration k trains with
the k-th value; the EMA update after step k uses momentum entry k - 1 of the official generator.

The float operations are written in the official order, so the values are bit-identical to the official ones
(checked against ``tests/fixtures/official_vjepa_tiny/schedules_vitl16.json``). Being pure, the schedules need no
state in a checkpoint: resuming at step k gives the same values as an uninterrupted run.
"""

from __future__ import annotations

import math


def learning_rate(k: int, *, start_lr: float, lr: float, final_lr: float, warmup_steps: int,
                  schedule_steps: int) -> float:
    """Official ``WarmupCosineSchedule``: linear from ``start_lr`` to ``lr`` over ``warmup_steps``, then a cosine
    from ``lr`` to ``final_lr`` ending at ``schedule_steps``, floored at ``final_lr``.

    Args:
        k: 1-based iteration.
        start_lr, lr, final_lr: warmup start, peak and final learning rates.
        warmup_steps: W = int(warmup_epochs · steps_per_epoch).
        schedule_steps: T = int(schedule_horizon · epochs · steps_per_epoch).
    """
    if k < warmup_steps:
        progress = float(k) / float(max(1, warmup_steps))
        return start_lr + progress * (lr - start_lr)
    # The official code stores T_max = T - W and divides by max(1, T_max).
    progress = float(k - warmup_steps) / float(max(1, schedule_steps - warmup_steps))
    return max(final_lr, final_lr + (lr - final_lr) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def constant_then_linear(k: int, *, start_lr: float, lr: float, final_lr: float, warmup_steps: int,
                         constant_steps: int, schedule_steps: int) -> float:
    """V-JEPA 2's warmup-constant-decay: linear from ``start_lr`` to ``lr`` over ``warmup_steps``, ``lr`` for
    ``constant_steps``, then linear from ``lr`` to ``final_lr`` reached at ``schedule_steps`` (and kept after).

    Args:
        k: 1-based iteration.
    """
    if k < warmup_steps:
        return start_lr + float(k) / float(max(1, warmup_steps)) * (lr - start_lr)
    decay_start = warmup_steps + constant_steps
    if k < decay_start:
        return lr
    progress = min(1.0, float(k - decay_start) / float(max(1, schedule_steps - decay_start)))
    return lr + progress * (final_lr - lr)


def weight_decay(k: int, *, weight_decay: float, final_weight_decay: float, schedule_steps: int) -> float:
    """Official ``CosineWDSchedule``: cosine from ``weight_decay`` (k = 0) to ``final_weight_decay`` (k = T), clamped
    towards the final value (so it never overshoots it, whether the schedule rises or falls).

    Args:
        k: 1-based iteration.
        weight_decay, final_weight_decay: start and end values (official vitl16: 0.04 -> 0.4, rising).
        schedule_steps: T = int(schedule_horizon · epochs · steps_per_epoch).
    """
    progress = k / schedule_steps
    wd = final_weight_decay + (weight_decay - final_weight_decay) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if final_weight_decay <= weight_decay:
        return max(final_weight_decay, wd)
    return min(final_weight_decay, wd)


def ema_momentum(k: int, *, ema: tuple[float, float], epochs: int, steps_per_epoch: int,
                 schedule_horizon: float) -> float:
    """Official momentum generator: m_j = ema0 + j·(ema1 − ema0)/(steps_per_epoch·epochs·schedule_horizon);
    iteration k uses j = k − 1 (the first update uses exactly ``ema[0]``).

    The official generator has ``int(steps_per_epoch·epochs·schedule_horizon) + 1`` entries; this function simply
    continues the line beyond it (never reached when ``schedule_horizon`` >= 1, which ``validate`` requires).

    Args:
        k: 1-based iteration.
        ema: (start, end) momentum.
        epochs, steps_per_epoch, schedule_horizon: the optimisation config values (official num_epochs, ipe,
            ipe_scale).
    """
    ema0, ema1 = ema
    return ema0 + (k - 1) * (ema1 - ema0) / (steps_per_epoch * epochs * schedule_horizon)
