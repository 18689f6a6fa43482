"""One V-JEPA optimisation step, as one readable function."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vjepa.config.schema import LossConfig, OptimConfig
from vjepa.core.errors import TrainingDiverged
from vjepa.core.runtime import autocast
from vjepa.models.encoder import VideoEncoder
from vjepa.models.predictor import Predictor
from vjepa.pretrain.distributed import grad_sync, mean_across_ranks
from vjepa.pretrain.ema import ema_update_
from vjepa.pretrain.loss import gather_targets, jepa_loss, target_features, variance_regularizer
from vjepa.pretrain.optim import set_hparams
from vjepa.pretrain.schedules import schedule_values


class ContextPredictor(nn.Module):
    """The trained half of V-JEPA as one module: the encoder on the context tokens, then the predictor.

    It is the unit that DDP (and ``torch.compile``) wraps, so that one ``forward`` covers every parameter that
    receives a gradient."""

    def __init__(self, encoder: VideoEncoder, predictor: Predictor) -> None:
        super().__init__()
        self.encoder, self.predictor = encoder, predictor

    def forward(self, video: torch.Tensor, ctx_idx: Sequence[torch.Tensor],
                tgt_idx: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """(B, C, T, H, W) clips and per-mask-configuration indices -> list of (B, M_i, D) predictions."""
        contexts = self.encoder.forward_masked(video, ctx_idx)
        return self.predictor.forward_masked(contexts, ctx_idx, tgt_idx, self.encoder.token_grid(video))


@dataclass
class TrainState:
    """Everything that changes during training. ``step`` counts completed optimizer steps."""

    encoder: VideoEncoder
    predictor: Predictor
    target_encoder: VideoEncoder
    optimizer: torch.optim.Optimizer
    step: int = 0
    online: nn.Module | None = None
    """Encoder + predictor as called by the step: a :class:`ContextPredictor` (the default), possibly wrapped by
    DDP or ``torch.compile``; it shares its parameters with ``encoder`` and ``predictor``."""

    def __post_init__(self) -> None:
        if self.online is None:
            self.online = ContextPredictor(self.encoder, self.predictor)


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

    Schedules are pure functions of the 1-based iteration ``state.step + 1``. In a multi-process run the
    gradients and the reported losses are averages over all ranks. Raises ``TrainingDiverged`` before any weight
    changes if the loss is NaN or infinite (on any rank), so the last checkpoint stays good.
    """
    k = state.step + 1
    sched = schedule_values(k, optim)
    set_hparams(state.optimizer, sched.lr, sched.weight_decay)
    device = micro_batches[0].video.device
    totals = torch.zeros(3, device=device)  # loss, jepa, reg, summed over micro-batches

    for i, batch in enumerate(micro_batches):
        # Under DDP the gradients are averaged over ranks once, in the backward pass of the last micro-batch.
        with grad_sync(state.online, enabled=i == len(micro_batches) - 1):
            with autocast(device, dtype):
                targets = gather_targets(target_features(state.target_encoder, batch.video), batch.tgt_idx)
                preds = state.online(batch.video, batch.ctx_idx, batch.tgt_idx)
                loss_jepa = jepa_loss(preds, targets, loss_cfg.loss_exp)
                loss_reg = variance_regularizer(preds)[0] if loss_cfg.reg_coeff else torch.zeros((), device=device)
                loss = loss_jepa + loss_cfg.reg_coeff * loss_reg
            (loss / len(micro_batches)).backward()
        totals += torch.stack([loss, loss_jepa, loss_reg]).detach().float()

    totals = mean_across_ranks(totals / len(micro_batches))  # the same value on every rank
    if not torch.isfinite(totals[0]):  # checked on all ranks alike, before any weight changes
        state.optimizer.zero_grad(set_to_none=True)
        raise TrainingDiverged(f"loss is {totals[0].item()} at step {k}; stopped before updating the weights")

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

    loss_v, jepa_v, reg_v = totals.tolist()
    return StepMetrics(loss_v, jepa_v, reg_v, sched.lr, sched.weight_decay, sched.momentum,
                       enc_norm, pred_norm, clip is not None)
