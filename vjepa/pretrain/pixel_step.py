"""One optimisation step of the pixel-reconstruction baseline, as one readable function (cf. ``train_step``).

The same :class:`~vjepa.pretrain.step.TrainState` carries the run, so checkpoints, resume and export need no second
code path: its ``predictor`` slot holds the :class:`~vjepa.models.pixel_decoder.PixelDecoder`, and its
``target_encoder`` *is* the encoder (the same module; there is no EMA target). A checkpoint's ``target_encoder``
entry therefore shares the encoder's tensors (``torch.save`` writes them once) and the export holds the encoder.
Each micro-batch's ``ctx_idx[0]`` / ``tgt_idx[0]`` are the visible / masked tubes of
:class:`~vjepa.masks.tube.TubeMaskGenerator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vjepa.config.schema import OptimConfig, PixelConfig
from vjepa.core.errors import TrainingDiverged
from vjepa.core.runtime import autocast
from vjepa.masks.ops import gather_tokens
from vjepa.pretrain.optim import set_hparams
from vjepa.pretrain.pixel_loss import pixel_loss, pixel_targets
from vjepa.pretrain.schedules import schedule_values
from vjepa.pretrain.step import Batch, TrainState, _grad_norm


@dataclass
class PixelStepMetrics:
    loss: float
    """MSE on the (normalised) pixels of the masked tubelets."""
    lr: float
    weight_decay: float
    encoder_grad_norm: float
    decoder_grad_norm: float
    clipped: bool


def pixel_step(
    state: TrainState,
    micro_batches: Sequence[Batch],
    optim: OptimConfig,
    pixel: PixelConfig,
    dtype: torch.dtype = torch.float32,
) -> PixelStepMetrics:
    """One optimizer step over ``micro_batches`` (gradient accumulation); no EMA.

    Schedules, clipping and the divergence check are those of ``train_step``, so the two methods differ only in
    what they regress. Raises ``TrainingDiverged`` before any weight changes if the loss is NaN or infinite.
    """
    k = state.step + 1
    sched = schedule_values(k, optim)
    set_hparams(state.optimizer, sched.lr, sched.weight_decay)
    encoder, decoder = state.encoder, state.predictor
    patch, tubelet = encoder.cfg.patch_size, encoder.cfg.tubelet_size
    device = micro_batches[0].video.device
    total = torch.zeros((), device=device)

    for batch in micro_batches:
        vis_idx, mask_idx = batch.ctx_idx[0], batch.tgt_idx[0]  # (B, K), (B, M)
        targets = gather_tokens(pixel_targets(batch.video, patch, tubelet, pixel.norm_pix_loss), mask_idx)
        with autocast(device, dtype):
            latent = encoder(batch.video, keep_idx=vis_idx)  # (B, K, D): the encoder sees the visible tubes only
            preds = decoder(latent, vis_idx, mask_idx, encoder.token_grid(batch.video))  # (B, M, P)
        loss = pixel_loss(preds, targets)  # float32, outside autocast
        if not torch.isfinite(loss):
            state.optimizer.zero_grad(set_to_none=True)
            raise TrainingDiverged(f"loss is {loss.item()} at step {k}; stopped before updating the weights")
        (loss / len(micro_batches)).backward()
        total += loss.detach()

    # train_step's rule: clip encoder and decoder separately, and only after the warmup epochs (official).
    epoch = (k - 1) // optim.steps_per_epoch
    clip = optim.clip_grad if optim.clip_grad is not None and (
        optim.clip_grad_during_warmup or epoch > optim.warmup_epochs) else None
    enc_norm = _grad_norm(encoder, clip)
    dec_norm = _grad_norm(decoder, clip)
    state.optimizer.step()
    state.optimizer.zero_grad(set_to_none=True)
    state.step = k
    return PixelStepMetrics(float(total) / len(micro_batches), sched.lr, sched.weight_decay, enc_norm, dec_norm,
                            clip is not None)
