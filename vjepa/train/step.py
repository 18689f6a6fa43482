"""One V-JEPA optimisation step, as one readable function."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vjepa.config.schema import LossConfig, OptimConfig
from vjepa.errors import TrainingDiverged
from vjepa.models.encoder import VideoEncoder
from vjepa.models.predictor import Predictor
from vjepa.train.ema import ema_update_
from vjepa.train.loss import gather_targets, jepa_loss, target_features, variance_regularizer
from vjepa.train.optim import set_hparams
from vjepa.train.schedules import schedule_values


@dataclass
class TrainState:
    """Everything that changes during training. ``step`` counts completed optimizer steps."""

    encoder: VideoEncoder
    predictor: Predictor
    target_encoder: VideoEncoder
    optimizer: torch.optim.Optimizer
    step: int = 0


@dataclass
class Batch:
    """One micro-batch: clips and, per mask configuration, context and target indices."""

    video: torch.Tensor
    """(B, C, T, H, W) normalised clips."""
    ctx_idx: list[torch.Tensor]
    """Per mask configuration, (B, K_i) int64 indices of the context tokens."""
    tgt_idx: list[torch.Tensor]
    """Per mask configuration, (B, M_i) int64 indices of the target tokens."""


@dataclass
class StepMetrics:
    loss: float
    loss_jepa: float
    loss_reg: float
    lr: float
    weight_decay: float
    momentum: float
    encoder_grad_norm: float
    predictor_grad_norm: float
    clipped: bool


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """bf16 autocast, or nothing for fp32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _grad_norm(module: nn.Module, max_norm: float | None) -> float:
    """Total L2 norm of the gradients; clips them to ``max_norm`` when given (official: per module)."""
    params = [p for p in module.parameters() if p.grad is not None]
    if not params:
        return 0.0
    return float(torch.nn.utils.clip_grad_norm_(params, math.inf if max_norm is None else max_norm, foreach=True))


def train_step(
    state: TrainState,
    micro_batches: Sequence[Batch],
    optim: OptimConfig,
    loss_cfg: LossConfig,
    dtype: torch.dtype = torch.float32,
) -> StepMetrics:
    """One optimizer step over ``micro_batches`` (gradient accumulation), then the EMA update.

    Schedules are pure functions of the 1-based iteration ``state.step + 1``. Raises ``TrainingDiverged`` before
    any weight changes if the loss is NaN or infinite, so the last checkpoint stays good.
    """
    k = state.step + 1
    sched = schedule_values(k, optim)
    set_hparams(state.optimizer, sched.lr, sched.weight_decay)
    device = micro_batches[0].video.device
    totals = torch.zeros(3, device=device)  # loss, jepa, reg, summed over micro-batches

    for batch in micro_batches:
        with autocast(device, dtype):
            targets = gather_targets(target_features(state.target_encoder, batch.video), batch.tgt_idx)
            contexts = state.encoder.forward_masked(batch.video, batch.ctx_idx)
            grid = state.encoder.token_grid(batch.video)
            preds = state.predictor.forward_masked(contexts, batch.ctx_idx, batch.tgt_idx, grid)
            loss_jepa = jepa_loss(preds, targets, loss_cfg.loss_exp)
            loss_reg = variance_regularizer(preds)[0] if loss_cfg.reg_coeff else torch.zeros((), device=device)
            loss = loss_jepa + loss_cfg.reg_coeff * loss_reg
        if not torch.isfinite(loss):
            state.optimizer.zero_grad(set_to_none=True)
            raise TrainingDiverged(f"loss is {loss.item()} at step {k}; stopped before updating the weights")
        (loss / len(micro_batches)).backward()
        totals += torch.stack([loss, loss_jepa, loss_reg]).detach().float()

    # Official: clip encoder and predictor separately, and only after the warmup epochs.
    epoch = (k - 1) // optim.steps_per_epoch
    clip = optim.clip_grad if optim.clip_grad is not None and (
        optim.clip_grad_during_warmup or epoch > optim.warmup_epochs) else None
    enc_norm = _grad_norm(state.encoder, clip)
    pred_norm = _grad_norm(state.predictor, clip)
    state.optimizer.step()
    state.optimizer.zero_grad(set_to_none=True)
    ema_update_(state.target_encoder, state.encoder, sched.momentum)
    state.step = k

    loss_v, jepa_v, reg_v = (totals / len(micro_batches)).tolist()
    return StepMetrics(loss_v, jepa_v, reg_v, sched.lr, sched.weight_decay, sched.momentum,
                       enc_norm, pred_norm, clip is not None)
