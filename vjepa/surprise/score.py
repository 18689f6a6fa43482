"""Surprise of a pretrained model along a clip: how far its prediction of the next frames is from what they are.

The recipe of Garrido et al. 2025 (facebookresearch/jepa-intuitive-physics): the clip is sampled every
``frame_step`` frames and cut into windows of ``window`` sampled frames every ``stride`` sampled frames. In each
window the context is every token of the first ``C`` frames (C a multiple of the tubelet size, C < window), run
through the context encoder; the predictor predicts every token of the remaining tubelets; the targets are the
target encoder's features of the whole window, layer-normed once more (the pretraining targets,
:func:`vjepa.pretrain.loss.target_features`), gathered at those positions. The surprise of a window is the mean
L1 error over its predicted tokens and channels.

Pixel-objective models (a :class:`~vjepa.models.pixel_decoder.PixelDecoder` in the predictor slot) predict the
normalised pixels of the same future tubelets from the same context; their surprise is the mean L1 error of that
prediction against :func:`vjepa.pretrain.pixel_loss.pixel_targets`. (The official script zeroes the MAE
predictions before the error; here they are the decoder's real outputs.)

Modules are used as given (call ``.eval()`` first; the V-JEPA blocks have no dropout, so it changes nothing today).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from vjepa.core.errors import ConfigError, DataError
from vjepa.core.runtime import autocast
from vjepa.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from vjepa.masks.ops import gather_tokens
from vjepa.models.encoder import VideoEncoder
from vjepa.models.pixel_decoder import PixelDecoder
from vjepa.pretrain.loss import target_features
from vjepa.pretrain.pixel_loss import pixel_targets


@dataclass(frozen=True)
class SurpriseSettings:
    frame_step: int = 2
    """Keep every ``frame_step``-th frame of the clip (official ``frame_steps``)."""
    window: int | None = None
    """Sampled frames per window; None: the encoder's ``num_frames``."""
    stride: int = 2
    """Sampled frames between the starts of two windows (official ``stride_sliding_window``)."""
    context_frames: tuple[int, ...] | None = None
    """Context lengths C in sampled frames, one series each; None: half the window (rounded to the tubelet).
    The official sweep is (2, 4, 6, 8, 10) with 16-frame windows."""
    batch_size: int = 32
    """Windows per forward pass."""
    norm_pix: bool = True
    """Pixel models only: per-tubelet normalised pixel targets (``pixel.norm_pix_loss``)."""
    mask_index: int = 1
    """The predictor's mask token: 1, the official predictors' default and Hugging Face's only choice
    (:data:`vjepa.weights.predictive.MASK_INDEX`)."""


@dataclass(frozen=True)
class SurpriseSeries:
    context_frames: int
    values: torch.Tensor
    """(num_windows,) float32 surprise of each window, on the CPU."""

    @property
    def mean(self) -> float:
        return float(self.values.mean())

    @property
    def max(self) -> float:
        return float(self.values.max())


@dataclass(frozen=True)
class SurpriseResult:
    frame_ranges: tuple[tuple[int, int], ...]
    """(first, last) frame of the input clip that each window spans (inclusive; sampled every frame_step)."""
    series: tuple[SurpriseSeries, ...]
    """One series per context length, in the order of ``settings.context_frames``."""
    settings: SurpriseSettings
    """The settings used, with ``window`` and ``context_frames`` resolved."""
    objective: str
    """``latent`` (V-JEPA) or ``pixel`` (pixel decoder)."""

    def for_context(self, context_frames: int) -> SurpriseSeries:
        for s in self.series:
            if s.context_frames == context_frames:
                return s
        raise ConfigError(f"context length {context_frames} was not scored; scored: "
                          f"{', '.join(str(s.context_frames) for s in self.series)}")

    @property
    def mean(self) -> dict[int, float]:
        """Mean surprise over the windows, by context length."""
        return {s.context_frames: s.mean for s in self.series}

    @property
    def max(self) -> dict[int, float]:
        """Largest window surprise, by context length."""
        return {s.context_frames: s.max for s in self.series}


def resolve_settings(settings: SurpriseSettings, encoder: VideoEncoder) -> SurpriseSettings:
    """Fill the defaults from the encoder and check every value (one-line ConfigError naming it)."""
    ts = encoder.cfg.tubelet_size
    for name in ("frame_step", "stride", "batch_size"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"surprise {name} {getattr(settings, name)} must be >= 1")
    window = settings.window if settings.window is not None else encoder.cfg.num_frames
    if window < 2 * ts or window % ts:
        raise ConfigError(f"surprise window {window} must be a multiple of the tubelet size {ts} and >= {2 * ts}")
    contexts = settings.context_frames
    if contexts is None:
        contexts = (max(ts, window // 2 // ts * ts),)
    contexts = tuple(int(c) for c in contexts)
    if not contexts:
        raise ConfigError("surprise context_frames is empty; give at least one context length")
    for c in contexts:
        if c >= window or c < ts:
            raise ConfigError(f"surprise context length {c} must be in [{ts}, {window}) (window {window} frames)")
        if c % ts:
            raise ConfigError(f"surprise context length {c} is not a multiple of the tubelet size {ts}")
    return replace(settings, window=window, context_frames=contexts)


def normalise_clip(clip: torch.Tensor | np.ndarray) -> torch.Tensor:
    """A uint8 (T, H, W, 3) clip -> ImageNet-normalised float32 (3, T, H, W); a float (3, T, H, W) clip is taken
    as already normalised."""
    clip = torch.as_tensor(clip)
    if clip.dtype == torch.uint8:
        if clip.dim() != 4 or clip.shape[-1] != 3:
            raise DataError(f"expected a uint8 clip of shape (T, H, W, 3), got {tuple(clip.shape)}")
        mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(3, 1, 1, 1)
        return (clip.permute(3, 0, 1, 2).float() / 255.0 - mean) / std
    if not clip.is_floating_point() or clip.dim() != 4 or clip.shape[0] != 3:
        raise DataError(f"expected a uint8 (T, H, W, 3) or a normalised float (3, T, H, W) clip, got "
                        f"{clip.dtype} {tuple(clip.shape)}")
    return clip.float()


def window_starts(num_sampled: int, window: int, stride: int) -> list[int]:
    """First sampled frame of every window; a DataError when the clip is shorter than one window."""
    if window > num_sampled:
        raise DataError(f"surprise window {window} is longer than the clip's {num_sampled} sampled frames; "
                        f"use a shorter window or a smaller frame_step")
    return list(range(0, num_sampled - window + 1, stride))


def split_indices(num_tokens: int, context_tokens: int, batch: int, device: torch.device
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Context (B, K) and target (B, N - K) token indices: tokens are t-major, so the first K are the first frames."""
    ctx = torch.arange(context_tokens, device=device).expand(batch, -1)
    tgt = torch.arange(context_tokens, num_tokens, device=device).expand(batch, -1)
    return ctx, tgt


@torch.no_grad()
def window_surprise(encoder: VideoEncoder, predictor: torch.nn.Module, target_encoder: VideoEncoder | None,
                    windows: torch.Tensor, context_frames: Sequence[int], norm_pix: bool = True,
                    dtype: torch.dtype = torch.float32, mask_index: int = 1) -> torch.Tensor:
    """Surprise of a batch of windows (B, 3, W, H, W') for each context length: (len(context_frames), B) float32."""
    grid = encoder.token_grid(windows)  # (T', H', W')
    per_time = grid[1] * grid[2]
    num_tokens, batch = grid[0] * per_time, windows.shape[0]
    pixel = isinstance(predictor, PixelDecoder)
    with autocast(windows.device, dtype):
        if pixel:
            targets = pixel_targets(windows, encoder.cfg.patch_size, encoder.cfg.tubelet_size, norm_pix)  # (B, N, P)
        else:
            targets = target_features(target_encoder, windows)  # (B, N, D): one pass shared by all contexts
        out = []
        for c in context_frames:
            ctx_idx, tgt_idx = split_indices(num_tokens, c // encoder.cfg.tubelet_size * per_time, batch,
                                             windows.device)
            context = encoder(windows, keep_idx=ctx_idx)  # (B, K, D): the first C frames only
            if pixel:
                preds = predictor(context, ctx_idx, tgt_idx, grid)  # (B, M, P)
            else:
                preds = predictor(context, ctx_idx, tgt_idx, mask_index, grid)  # (B, M, D)
            errors = (preds.float() - gather_tokens(targets, tgt_idx).float()).abs()  # (B, M, D or P)
            out.append(errors.mean(dim=(1, 2)))
    return torch.stack(out)


def score_clip(clip: torch.Tensor | np.ndarray, encoder: VideoEncoder, predictor: torch.nn.Module,
               target_encoder: VideoEncoder | None = None, settings: SurpriseSettings = SurpriseSettings(),
               dtype: torch.dtype = torch.float32) -> SurpriseResult:
    """The surprise series of one clip (uint8 (T, H, W, 3) or normalised float (3, T, H, W)).

    ``predictor`` is a V-JEPA :class:`~vjepa.models.predictor.Predictor` (``target_encoder`` required) or a
    :class:`~vjepa.models.pixel_decoder.PixelDecoder` (``target_encoder`` unused). Runs on the encoder's device.
    """
    settings = resolve_settings(settings, encoder)
    pixel = isinstance(predictor, PixelDecoder)
    if not pixel and target_encoder is None:
        raise ConfigError("surprise of a V-JEPA model needs its target encoder (target_encoder is None)")
    device = next(encoder.parameters()).device
    video = normalise_clip(clip)[:, :: settings.frame_step].to(device)  # (3, T_s, H, W)
    _, _, height, width = video.shape
    patch = encoder.cfg.patch_size
    if height % patch or width % patch:
        raise DataError(f"clip frames of {height}x{width} are not divisible into {patch}x{patch} patches; "
                        f"resize or crop them first")
    starts = window_starts(video.shape[1], settings.window, settings.stride)
    values = []
    for i in range(0, len(starts), settings.batch_size):
        chunk = starts[i : i + settings.batch_size]
        windows = torch.stack([video[:, s : s + settings.window] for s in chunk])  # (B, 3, W, H, W')
        values.append(window_surprise(encoder, predictor, target_encoder, windows, settings.context_frames,
                                      settings.norm_pix, dtype, settings.mask_index).cpu())
    table = torch.cat(values, dim=1)  # (num_contexts, num_windows)
    step = settings.frame_step
    ranges = tuple((s * step, (s + settings.window - 1) * step) for s in starts)
    series = tuple(SurpriseSeries(c, table[k]) for k, c in enumerate(settings.context_frames))
    return SurpriseResult(ranges, series, settings, "pixel" if pixel else "latent")
