"""Video transforms in plain tensor ops: the pretraining augmentation (official §6.3) and the eval views (§7.2).

All randomness comes from an explicit ``torch.Generator``, so a clip's augmentation is a pure function of the
generator's seed whatever process or worker applies it. Clips arrive as uint8 ``[T, H, W, 3]`` (decoder layout)
and leave as float32 ``[3, T, crop, crop]`` normalised with the ImageNet statistics.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vjepa.core.errors import DataError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _uniform(generator: torch.Generator | None, low: float, high: float) -> float:
    """One float64 draw from U(low, high) (Python ``random.uniform`` semantics)."""
    return low + (high - low) * torch.rand(1, generator=generator, dtype=torch.float64).item()


def _randint(generator: torch.Generator | None, low: int, high: int) -> int:
    """One integer in [low, high], both ends included (Python ``random.randint`` semantics)."""
    return int(torch.randint(low, high + 1, (1,), generator=generator).item())


def random_resized_crop_params(height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float],
                               generator: torch.Generator | None = None) -> tuple[int, int, int, int]:
    """Sample an Inception-style crop box, as the official ``_get_param_spatial_crop``.

    Up to 10 tries: area fraction ~ U(scale), aspect ratio w/h = exp(U(log r0, log r1)), w = round(√(area·ar)),
    h = round(√(area/ar)); the first box with 0 < w <= width and 0 < h <= height is placed at a uniform corner.
    Otherwise the torchvision-style central crop: the whole frame with its aspect ratio clamped to ``ratio``.

    Args:
        height: Frame height H.
        width: Frame width W.
        scale: (min, max) fraction of the frame area.
        ratio: (min, max) aspect ratio w/h.
        generator: Source of all draws (None: torch's default generator).

    Returns:
        (top, left, h, w) of the box, with 0 <= top <= H - h and 0 <= left <= W - w.
    """
    if not (0 < scale[0] <= scale[1] and 0 < ratio[0] <= ratio[1]):
        raise DataError(f"crop scale {tuple(scale)} and ratio {tuple(ratio)} must be positive (min, max) pairs")
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = _uniform(generator, *scale) * area
        aspect = math.exp(_uniform(generator, *log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return _randint(generator, 0, height - h), _randint(generator, 0, width - w), h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w


def _as_clip(video: torch.Tensor) -> torch.Tensor:
    """Check a ``[T, H, W, 3]`` clip and return a float32 ``[3, T, H, W]`` copy (values unchanged, 0-255)."""
    if video.dim() != 4 or video.shape[-1] != 3:
        raise DataError(f"expected a video of shape [T, H, W, 3], got {list(video.shape)}")
    return video.permute(3, 0, 1, 2).float()


class TrainVideoTransform:
    """Pretraining augmentation: one random resized crop for the whole clip, horizontal flip, normalisation.

    Matches the official video transform (random_resize_scale, random_resize_aspect_ratio, flip p = 0.5, no
    random erasing / RandAugment), with the random draws taken from the generator passed to ``__call__`` in
    the order: crop box, then flip.

    Args:
        crop_size: Output side in pixels.
        scale: (min, max) crop area fraction.
        ratio: (min, max) crop aspect ratio w/h.
        hflip: Flip the whole clip left-right with probability 0.5.
        mean: Per-channel mean on the 0-1 scale.
        std: Per-channel std on the 0-1 scale.
    """

    def __init__(self, crop_size: int, scale: tuple[float, float] = (0.3, 1.0),
                 ratio: tuple[float, float] = (0.75, 1.35), hflip: bool = True,
                 mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD) -> None:
        self.crop_size, self.scale, self.ratio, self.hflip = int(crop_size), tuple(scale), tuple(ratio), hflip
        # (x - 255·mean) / (255·std) on 0-255 data, as the official code, as one multiply and one add.
        std255 = torch.tensor(std, dtype=torch.float32) * 255.0
        self._mul = (1.0 / std255).view(3, 1, 1, 1)
        self._add = (-torch.tensor(mean, dtype=torch.float32) * 255.0 / std255).view(3, 1, 1, 1)

    def __call__(self, video: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment one clip.

        Args:
            video: uint8 (or any real dtype on the 0-255 scale) ``[T, H, W, 3]``.
            generator: Source of the crop and flip draws.

        Returns:
            float32 ``[3, T, crop_size, crop_size]``.
        """
        if video.dim() != 4 or video.shape[-1] != 3:  # checked before the box is drawn from the shape
            raise DataError(f"expected a video of shape [T, H, W, 3], got {list(video.shape)}")
        _, height, width, _ = video.shape
        top, left, h, w = random_resized_crop_params(height, width, self.scale, self.ratio, generator)
        # Crop before the float conversion and resize: only the box is ever converted.
        clip = _as_clip(video[:, top:top + h, left:left + w]).contiguous()
        clip = F.interpolate(clip, size=(self.crop_size, self.crop_size), mode="bilinear", align_corners=False,
                             antialias=False)
        if self.hflip and torch.rand(1, generator=generator).item() < 0.5:
            clip = clip.flip(-1)
        return clip.mul_(self._mul).add_(self._add)  # in place on a fresh tensor (addcmul broadcasts slowly)


class EvalVideoTransform:
    """Deterministic eval views, as the official frozen-eval ``VideoTransform``/``EvalVideoTransform``.

    With 1 view: resize the short side to ⌊crop·256/224⌋ and take the centre crop. With ``num_views`` > 1:
    resize the short side to ``crop_size`` and take ``num_views`` crops evenly spaced along the long side
    (step = (long − crop) // (views − 1); left/centre/right for 3 views of a landscape clip). Resizing is
    bilinear without antialiasing, rounded to integer levels because the official code resizes uint8 frames
    with OpenCV, whose output is uint8.

    Args:
        crop_size: Output side in pixels.
        num_views: Number of spatial views.
        mean: Per-channel mean on the 0-1 scale.
        std: Per-channel std on the 0-1 scale.
    """

    def __init__(self, crop_size: int, num_views: int = 1, mean: tuple[float, ...] = IMAGENET_MEAN,
                 std: tuple[float, ...] = IMAGENET_STD) -> None:
        if num_views < 1:
            raise DataError(f"num_views {num_views} must be >= 1")
        self.crop_size, self.num_views = int(crop_size), int(num_views)
        self.short_side = int(self.crop_size * 256 / 224) if self.num_views == 1 else self.crop_size
        std255 = torch.tensor(std, dtype=torch.float32) * 255.0
        self._mul = (1.0 / std255).view(3, 1, 1, 1)
        self._add = (-torch.tensor(mean, dtype=torch.float32) * 255.0 / std255).view(3, 1, 1, 1)

    def view_offsets(self, height: int, width: int) -> list[tuple[int, int]]:
        """(top, left) of each view in the resized frame, for an input frame of ``height`` × ``width``."""
        h, w = self.resized_size(height, width)
        crop = self.crop_size
        if self.num_views == 1:  # official CenterCrop: int(round((size − crop) / 2))
            return [(int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0)))]
        step = (max(h, w) - crop) // (self.num_views - 1)
        return [(i * step, 0) if h > w else (0, i * step) for i in range(self.num_views)]

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) after the short-side resize (official ``get_resize_sizes``: the long side is floored)."""
        size = self.short_side
        if width < height:
            return int(size * height / width), size
        return size, int(size * width / height)

    def __call__(self, video: torch.Tensor, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Cut the eval views of one clip.

        Args:
            video: uint8 (or any real dtype on the 0-255 scale) ``[T, H, W, 3]``.
            generator: Unused (the views are deterministic); accepted for a common transform signature.

        Returns:
            ``num_views`` float32 tensors ``[3, T, crop_size, crop_size]``.
        """
        clip = _as_clip(video)
        height, width = clip.shape[-2:]
        size = self.resized_size(height, width)
        if size != (height, width):
            clip = F.interpolate(clip.contiguous(), size=size, mode="bilinear", align_corners=False,
                                 antialias=False)
            clip = clip.round_().clamp_(0.0, 255.0)
        crop = self.crop_size
        return [(clip[..., top:top + crop, left:left + crop] * self._mul).add_(self._add)
                for top, left in self.view_offsets(height, width)]
