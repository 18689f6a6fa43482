"""The V-JEPA 2-AC training objective (``app/vjepa_droid/train.py`` of facebookresearch/vjepa2).

* Targets: every frame encoded alone by the frozen encoder, the frame repeated to fill one tubelet, frames
  concatenated; layer norm (no affine) over the channels (``normalize_reps``).
* Teacher forcing: one predictor pass over frames 0 … T-2 with actions 0 … T-2 and states 0 … T-2; it predicts
  frames 1 … T-1.
* Rollout: from frame 0 and the teacher-forced prediction of frame 1, ``auto_steps - 1`` more passes, each over
  the frames so far (predicted ones fed back) with the true actions and states of those steps; the last frame of
  each pass is appended. ``z_ar`` are the predicted frames 1 … auto_steps.
* Losses: mean |z - h|^p / p against the target frames that each prediction stands for; total = their sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vjepa.core.errors import ConfigError
from vjepa.models.ac_predictor import ActionConditionedPredictor
from vjepa.models.encoder import VideoEncoder


def encode_frames(encoder: VideoEncoder, clips: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, T·H'W', D): each frame encoded alone, duplicated to fill a tubelet, so a frame's
    features never see the next frame (the predictor's causality relies on it)."""
    B, _, T = clips.shape[:3]
    frames = clips.permute(0, 2, 1, 3, 4).flatten(0, 1)  # (B·T, C, H, W)
    tubelets = frames.unsqueeze(2).repeat(1, 1, encoder.cfg.tubelet_size, 1, 1)  # (B·T, C, tubelet, H, W)
    h = encoder(tubelets)  # (B·T, H'W', D)
    return h.reshape(B, T * h.shape[1], h.shape[2])


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Layer norm over the channels, no affine parameters (official ``F.layer_norm(x, (D,))``)."""
    return F.layer_norm(x, (x.shape[-1],))


def predict_step(predictor: ActionConditionedPredictor, z: torch.Tensor, actions: torch.Tensor,
                 states: torch.Tensor, extrinsics: torch.Tensor | None, normalize_reps: bool = True
                 ) -> torch.Tensor:
    """One predictor pass, layer-normed when ``normalize_reps``: (B, T·H'W', D)."""
    z = predictor(z, actions, states, extrinsics)
    return normalize(z) if normalize_reps else z


def _first(x: torch.Tensor | None, n: int) -> torch.Tensor | None:
    return None if x is None else x[:, :n]


def teacher_forcing(predictor: ActionConditionedPredictor, h: torch.Tensor, actions: torch.Tensor,
                    states: torch.Tensor, extrinsics: torch.Tensor | None = None, normalize_reps: bool = True
                    ) -> torch.Tensor:
    """Predictions of frames 1 … T-1 from the true frames 0 … T-2.

    Args:
        h: (B, T·H'W', D) target features; actions: (B, T-1, A); states: (B, T, A); extrinsics: (B, T, A-1).

    Returns:
        z_tf: (B, (T-1)·H'W', D).
    """
    tpf = _tokens_per_frame(predictor)
    steps = h.shape[1] // tpf - 1
    return predict_step(predictor, h[:, :-tpf], actions[:, :steps], states[:, :steps], _first(extrinsics, steps),
                        normalize_reps)


def rollout(predictor: ActionConditionedPredictor, h: torch.Tensor, z_tf: torch.Tensor, actions: torch.Tensor,
            states: torch.Tensor, extrinsics: torch.Tensor | None = None, auto_steps: int = 2,
            normalize_reps: bool = True) -> torch.Tensor:
    """Auto-regressive predictions of frames 1 … auto_steps, starting from the true frame 0 and the teacher-forced
    frame 1; returns z_ar: (B, auto_steps·H'W', D)."""
    tpf = _tokens_per_frame(predictor)
    z = torch.cat([h[:, :tpf], z_tf[:, :tpf]], dim=1)  # (B, 2·H'W', D): frame 0 (true), frame 1 (predicted)
    for n in range(1, auto_steps):
        steps = n + 1
        nxt = predict_step(predictor, z, actions[:, :steps], states[:, :steps], _first(extrinsics, steps),
                           normalize_reps)
        z = torch.cat([z, nxt[:, -tpf:]], dim=1)  # append the prediction of frame n + 1
    return z[:, tpf:]


def prediction_loss(z: torch.Tensor, h: torch.Tensor, tokens_per_frame: int, loss_exp: float = 1.0) -> torch.Tensor:
    """mean |z - h'|^p / p where h' are the target frames 1 … that z predicts: scalar."""
    target = h[:, tokens_per_frame : tokens_per_frame + z.shape[1]]
    return (z - target).abs().pow(loss_exp).mean() / loss_exp


@dataclass
class ACObjective:
    teacher_forcing: torch.Tensor
    rollout: torch.Tensor
    total: torch.Tensor
    z_tf: torch.Tensor
    """(B, (T-1)·H'W', D) teacher-forced predictions."""
    z_ar: torch.Tensor
    """(B, auto_steps·H'W', D) rollout predictions."""
    h: torch.Tensor
    """(B, T·H'W', D) target features."""


def _tokens_per_frame(predictor: torch.nn.Module) -> int:
    """Tokens per frame of the predictor, or of the one inside a DDP wrapper."""
    return getattr(predictor, "module", predictor).cfg.tokens_per_frame


def ac_objective(encoder: VideoEncoder, predictor: ActionConditionedPredictor, clips: torch.Tensor,
                 actions: torch.Tensor, states: torch.Tensor, extrinsics: torch.Tensor | None = None,
                 auto_steps: int = 2, normalize_reps: bool = True, loss_exp: float = 1.0) -> ACObjective:
    """Both losses of one V-JEPA 2-AC batch; the encoder is frozen (no gradients through the targets).

    Args:
        clips: (B, C, T, H, W); actions: (B, T-1, A); states: (B, T, A); extrinsics: (B, T, A-1) or None.
    """
    T = clips.shape[2]
    if not 1 <= auto_steps <= T - 1:
        raise ConfigError(f"auto_steps = {auto_steps}: must be between 1 and frames - 1 = {T - 1}")
    with torch.no_grad():
        h = encode_frames(encoder, clips)
        h = normalize(h) if normalize_reps else h
    z_tf = teacher_forcing(predictor, h, actions, states, extrinsics, normalize_reps)
    z_ar = rollout(predictor, h, z_tf, actions, states, extrinsics, auto_steps, normalize_reps)
    tpf = _tokens_per_frame(predictor)
    loss_tf = prediction_loss(z_tf, h, tpf, loss_exp)
    loss_ar = prediction_loss(z_ar, h, tpf, loss_exp)
    return ACObjective(loss_tf, loss_ar, loss_tf + loss_ar, z_tf, z_ar, h)
