"""The preprocessing of transformers' ``VJEPA2VideoProcessor``, in tensor ops (transformers needs torchvision to
run it; this module does not).

Facts from its code (transformers ``models/vjepa2/video_processing_vjepa2.py`` and ``BaseVideoProcessor``): resize
the short side to ``int(crop · 256 / 224)`` (the long side ``int(short · long / short)``, floored), bilinear with
antialiasing on uint8 frames (so the result is rounded to integer levels), centre crop ``crop`` (offsets
``int(round((size - crop) / 2))``), rescale by 1/255, normalise with the ImageNet mean and std. Our
:class:`~vjepa.data.transforms.EvalVideoTransform` does the same except the antialiasing (the official V-JEPA eval
resizes with OpenCV, which does not antialias); docs/vjepa2.md says what that changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vjepa.data.transforms import IMAGENET_MEAN, IMAGENET_STD


def hf_resized_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(h, w) with the short side ``short_side`` and the long side floored, as transformers."""
    if width <= height:
        return int(short_side * height / width), short_side
    return short_side, int(short_side * width / height)


def hf_video_preprocess(frames: torch.Tensor, crop_size: int = 256) -> torch.Tensor:
    """uint8 frames (T, H, W, C) -> normalised (C, T, crop, crop) float32, as ``VJEPA2VideoProcessor``."""
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {tuple(frames.shape)} {frames.dtype}")
    x = frames.permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    h, w = hf_resized_size(x.shape[-2], x.shape[-1], int(crop_size * 256 / 224))
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    x = x.round_().clamp_(0, 255)  # torchvision returns uint8 for uint8 input
    top, left = int(round((h - crop_size) / 2.0)), int(round((w - crop_size) / 2.0))
    x = x[..., top:top + crop_size, left:left + crop_size] / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).permute(1, 0, 2, 3).contiguous()  # (3, T, crop, crop)
