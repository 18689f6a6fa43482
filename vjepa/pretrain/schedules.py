"""The schedules of a pretraining run: lr, weight decay and EMA momentum of iteration k for its optimisation
config (the pure functions themselves are in :mod:`vjepa.core.schedules`)."""

from __future__ import annotations

from dataclasses import dataclass

from vjepa.config.derived import schedule_steps, warmup_steps
from vjepa.config.schema import OptimConfig
from vjepa.core.schedules import constant_then_linear, ema_momentum, learning_rate, weight_decay


@dataclass(frozen=True)
class ScheduleValues:
    """The three scheduled hyper-parameters of one iteration."""

    lr: float
    weight_decay: float
    momentum: float


def schedule_values(k: int, optim: OptimConfig) -> ScheduleValues:
    """lr, weight decay and EMA momentum of 1-based iteration ``k`` for the optimisation config ``optim``."""
    steps = schedule_steps(optim)
    if optim.lr_schedule == "constant_then_linear":
        lr = constant_then_linear(k, start_lr=optim.start_lr, lr=optim.lr, final_lr=optim.final_lr,
                                  warmup_steps=warmup_steps(optim),
                                  constant_steps=int(optim.constant_epochs * optim.steps_per_epoch),
                                  schedule_steps=steps)
    else:
        lr = learning_rate(k, start_lr=optim.start_lr, lr=optim.lr, final_lr=optim.final_lr,
                           warmup_steps=warmup_steps(optim), schedule_steps=steps)
    return ScheduleValues(
        lr=lr,
        weight_decay=weight_decay(k, weight_decay=optim.weight_decay, final_weight_decay=optim.final_weight_decay,
                                  schedule_steps=steps),
        momentum=ema_momentum(k, ema=optim.ema, epochs=optim.epochs, steps_per_epoch=optim.steps_per_epoch,
                              schedule_horizon=optim.schedule_horizon),
    )
