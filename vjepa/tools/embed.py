"""Embeddings of whole videos, clips and images with a frozen encoder: frame rate, windows, pooling, layers.

The pipeline of :func:`embed` (documented with figures in docs/features.md):

1. **Frames.** A video file is probed (frame count, fps) and decoded lazily, one batch of windows at a time, so
   hour-long videos never sit in memory. ``fps`` resamples: frame k of the new sequence is source frame
   ``⌊k · source_fps / fps⌋``, the frame on screen at time k / fps. An image is a sequence of one frame.
2. **Windows.** Windows of ``window`` frames start every ``stride`` frames (0, s, 2s, …) while they fit; when
   the last one stops short of the end, one more window is aligned to the end, so every frame is covered. A
   sequence shorter than a window gives one window padded with its last frame (an image: ``tubelet_size``
   copies by default, as in V-JEPA 2 and transformers).
3. **Pixels.** uint8 frames are resized and normalised: ``resize="crop"`` is the official eval view (short side
   to ``size·256/224``, centre crop ``size``); ``resize="full"`` keeps the whole frame, short side ``size`` and
   both sides rounded to multiples of the patch (non-square token grids; sin-cos tables are interpolated, RoPE
   uses the true grid). Float tensors are taken as already normalised model input.
4. **Encoder.** Windows run ``batch_size`` at a time under ``torch.no_grad`` and autocast; each window is
   independent, so the result equals running the windows one by one.
5. **Pooling** per window: ``mean`` over tokens, ``attentive`` (the model's attentive probe: its pooled query,
   before the classifier) or ``none`` (the token map).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vjepa.core.errors import ConfigError, DataError
from vjepa.core.runtime import autocast, resolve_dtype
from vjepa.data.decode import decode_frames, load_image, probe_video
from vjepa.data.index import is_image
from vjepa.data.transforms import IMAGENET_MEAN, IMAGENET_STD, EvalVideoTransform

POOLS = ("mean", "attentive", "none")
RESIZES = ("crop", "full")


@dataclass
class Embedding:
    """What :func:`embed` returns for one input.

    Attributes:
        features: float32 on the CPU. ``mean`` / ``attentive``: (W, D), or (W, L, D) when ``layers`` was given;
            ``none``: (W, T', H', W', D), or (W, L, T', H', W', D). W = number of windows, L = len(layers).
        frames: int64 (W, 2), first and last source frame index of each window (inclusive).
        fps: The source frame rate (None when unknown: images, tensors without ``video_fps``).
        grid: (T', H', W') token grid of one window.
        layers: The requested layers, or None for the encoder output.
        pool: The pooling used.
    """

    features: torch.Tensor
    frames: torch.Tensor
    fps: float | None
    grid: tuple[int, int, int]
    layers: list[int] | None
    pool: str

    @property
    def times(self) -> torch.Tensor | None:
        """(W, 2) start and end time in seconds of each window (frame index / fps), or None without an fps."""
        return None if self.fps is None else self.frames.double() / self.fps


class _Source:
    """Frames of an input by source index: ``read(indices)`` -> uint8 (n, H, W, 3) or float (3, n, H, W)."""

    def __init__(self, video: str | os.PathLike | torch.Tensor, video_fps: float | None) -> None:
        self.fps, self.is_image, self.is_float = video_fps, False, False
        if isinstance(video, (str, os.PathLike)):
            path = os.fspath(video)
            if not Path(path).exists():
                raise DataError(f"{path}: file not found")
            if is_image(path):
                image = load_image(path)
                self.num_frames, self.is_image, self.fps = 1, True, None
                self.read: Callable = lambda idx: image.unsqueeze(0).expand(len(idx), -1, -1, -1)
            else:
                info = probe_video(path)
                self.num_frames, self.fps = info.num_frames, info.fps
                self.read = lambda idx: decode_frames(path, idx)
            return
        if not isinstance(video, torch.Tensor):
            raise ConfigError(f"embed() takes a path or a tensor, not {type(video).__name__}")
        if video.is_floating_point():  # normalised model input (C, T, H, W) or an image (C, H, W)
            if video.dim() == 3:
                video, self.is_image = video.unsqueeze(1), True
            if video.dim() != 4:
                raise ConfigError(f"a float input must be (C, T, H, W) or (C, H, W), got {list(video.shape)}")
            self.num_frames, self.is_float = video.shape[1], True
            self.read = lambda idx: video[:, list(idx)]
            return
        if video.dim() == 3:
            video, self.is_image = video.unsqueeze(0), True
        if video.dim() != 4 or video.shape[-1] != 3:
            raise ConfigError(f"a uint8 input must be frames (T, H, W, 3) or an image (H, W, 3), "
                              f"got {list(video.shape)}")
        self.num_frames = video.shape[0]
        self.read = lambda idx: video[list(idx)]


def sample_indices(num_frames: int, source_fps: float | None, fps: float | None) -> list[int]:
    """Source frame indices at ``fps``: ``⌊k · source_fps / fps⌋`` (the frame on screen at time k / fps) for
    k = 0, 1, … while < num_frames."""
    if fps is None:
        return list(range(num_frames))
    if fps <= 0:
        raise ConfigError(f"fps {fps} must be positive")
    if source_fps is None:
        raise ConfigError("fps resampling needs the source frame rate: pass video_fps with a tensor input")
    step = source_fps / fps
    picked = (math.floor(k * step + 1e-9) for k in range(math.ceil(num_frames / step) + 1))  # 1e-9: float noise
    return [i for i in picked if i < num_frames]


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start positions of the windows over a sequence of ``length`` frames (see the module docstring)."""
    if window < 1 or stride < 1:
        raise ConfigError(f"window {window} and stride {stride} must be >= 1")
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:  # the tail: one more window, aligned to the end
        starts.append(length - window)
    return starts


def _normalise(clip: torch.Tensor) -> torch.Tensor:
    """(3, T, H, W) on the 0-255 scale -> ImageNet-normalised."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1, 1) * 255.0
    return (clip - mean) / std


def preprocess(frames: torch.Tensor, size: int, resize: str, patch: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> normalised float32 (3, T, H', W') (see ``resize`` in the module docstring)."""
    if resize == "crop":
        return EvalVideoTransform(size)(frames)[0]
    _, height, width, _ = frames.shape
    scale = size / min(height, width)
    new = (max(patch, round(height * scale / patch) * patch), max(patch, round(width * scale / patch) * patch))
    clip = frames.permute(3, 0, 1, 2).float()  # (3, T, H, W)
    if new != (height, width):
        clip = F.interpolate(clip, size=new, mode="bilinear", align_corners=False, antialias=True)
    return _normalise(clip)


def _pool(tokens: torch.Tensor, pool: str, probe: nn.Module | None, grid: tuple[int, int, int]) -> torch.Tensor:
    """(B, N, D) -> (B, D) or (B, T', H', W', D)."""
    if pool == "mean":
        return tokens.mean(dim=1)
    if pool == "attentive":
        return probe.pooler(tokens)[:, 0]
    return tokens.unflatten(1, grid)


@torch.no_grad()
def embed(encoder: nn.Module, video: str | os.PathLike | torch.Tensor, *, pool: str = "mean",
          layers: Sequence[int] | None = None, window: int | None = None, stride: int | None = None,
          fps: float | None = None, video_fps: float | None = None, size: int | None = None, resize: str = "crop",
          batch_size: int = 4, probe: nn.Module | None = None, dtype: str | torch.dtype = "auto") -> Embedding:
    """Embed one video, clip or image with a frozen :class:`~vjepa.models.encoder.VideoEncoder`.

    Args:
        encoder: The encoder; it runs where its parameters are (move the model first: ``model.to("cuda")``).
        video: A video or image path; uint8 frames (T, H, W, 3) or an image (H, W, 3); or normalised float model
            input (C, T, H, W) / (C, H, W).
        pool: ``mean``, ``attentive`` (needs ``probe``) or ``none``.
        layers: Block indices (0-based, negative from the end) whose normed outputs to return; None = the output.
        window: Frames per window (default: the encoder's pretraining ``num_frames``; images: ``tubelet_size``).
        stride: Frames between window starts (default: ``window``, no overlap).
        fps: Resample to this frame rate first (needs the source rate: files, or ``video_fps`` for tensors).
        video_fps: Frame rate of a tensor input.
        size: Pixel size (default: the encoder's ``img_size``); ``resize``: ``crop`` or ``full``.
        batch_size: Windows per forward pass (see :func:`vjepa.api.estimate_memory`).
        probe: An :class:`~vjepa.models.probe.AttentiveClassifier` for ``pool="attentive"``.
        dtype: Compute precision (``auto``: bf16 autocast on GPUs, fp32 on CPUs).

    Raises:
        ConfigError for bad arguments, DataError for unreadable inputs.
    """
    cfg = encoder.cfg
    if pool not in POOLS:
        raise ConfigError(f"pool {pool!r}: use one of {', '.join(POOLS)}")
    if pool == "attentive" and (probe is None or layers is not None):
        raise ConfigError("pool 'attentive' needs a model with an attentive probe (vjepa.load(..., probe=PATH)) and "
                          "works on the encoder output only (no layers)")
    if resize not in RESIZES:
        raise ConfigError(f"resize {resize!r}: use one of {', '.join(RESIZES)}")
    if batch_size < 1:
        raise ConfigError(f"batch_size {batch_size} must be >= 1")
    source = _Source(video, video_fps)
    window = window or (cfg.tubelet_size if source.is_image else cfg.num_frames)
    stride = stride or window
    if window % cfg.tubelet_size:
        raise ConfigError(f"window {window} is not a multiple of the tubelet size {cfg.tubelet_size}")
    picked = sample_indices(source.num_frames, source.fps, fps)
    wins = [[picked[min(s + i, len(picked) - 1)] for i in range(window)]  # short: pad with the last frame
            for s in window_starts(len(picked), window, stride)]
    device = next(encoder.parameters()).device
    dtype = resolve_dtype(dtype, device)
    size = size or cfg.img_size
    outputs, grid = [], None
    for b in range(0, len(wins), batch_size):
        group = wins[b:b + batch_size]
        wanted = sorted({i for w in group for i in w})
        frames = source.read(wanted)  # decoded once for the whole group, however much the windows overlap
        pos = {f: j for j, f in enumerate(wanted)}
        clips = []
        for w in group:
            sel = [pos[f] for f in w]
            clips.append(frames[:, sel] if source.is_float else preprocess(frames[sel], size, resize, cfg.patch_size))
        batch = torch.stack(clips).to(device)  # (B, C, T, H, W)
        grid = encoder.token_grid(batch)
        with autocast(device, dtype):
            feats = [encoder(batch)] if layers is None else encoder.forward_intermediates(batch, layers)
            pooled = [_pool(f, pool, probe, grid) for f in feats]
        out = pooled[0] if layers is None else torch.stack(pooled, dim=1)
        outputs.append(out.float().cpu())
    frames_range = torch.tensor([[w[0], w[-1]] for w in wins], dtype=torch.int64)
    return Embedding(torch.cat(outputs), frames_range, source.fps, grid, None if layers is None else list(layers), pool)
