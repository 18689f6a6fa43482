"""Pictures of what the model sees, from a real clip (``vjepa visualize``, :mod:`vjepa.cli.visualize`).

* ``masks``: the multi-block 3-D masks of pretraining over the frames of a clip: one row per mask
  configuration, target tubelets tinted (the predictor must fill them in), context tubelets as they are.
* ``pca``: the first three principal components of the encoder's patch tokens, as RGB, over the frames.

PNG: a grid with one column per tubelet (its first frame); row 1 is the clip, then one row per mask
configuration (``masks``) or the PCA map (``pca``); panels are ``size`` pixels with ``GAP``-pixel white gaps, so
the picture is ``cols·size + (cols−1)·GAP`` wide and ``rows·size + (rows−1)·GAP`` high. GIF: one picture per
frame, the same panels side by side (``rows`` panels wide, one panel high). Files are written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from vjepa.core.errors import ConfigError
from vjepa.core.io import atomic_write
from vjepa.data.decode import decode_frames, probe_video
from vjepa.data.transforms import EvalVideoTransform
from vjepa.masks.multiblock3d import sample_block_size, sample_sample_mask
from vjepa.masks.spec import VITL16_MASKS, MaskSpec

GAP = 4
TINTS = ((230, 60, 40), (40, 110, 230), (60, 180, 80), (200, 160, 30))  # one per mask configuration


def read_clip(path: str, frames: int, frame_step: int, size: int, start: int = 0) -> torch.Tensor:
    """``frames`` frames ``frame_step`` apart from ``start`` (clamped to the video), centre-cropped to ``size``:
    uint8 (T, size, size, 3)."""
    info = probe_video(path)
    idx = [min(start + i * frame_step, info.num_frames - 1) for i in range(frames)]
    video = decode_frames(path, idx)  # (T, H, W, 3)
    view = EvalVideoTransform(size)
    h, w = view.resized_size(video.shape[1], video.shape[2])
    clip = F.interpolate(video.permute(3, 0, 1, 2).float(), size=(h, w), mode="bilinear", align_corners=False)
    (top, left), = view.view_offsets(video.shape[1], video.shape[2])
    clip = clip[..., top:top + size, left:left + size].round().clamp(0, 255).to(torch.uint8)
    return clip.permute(1, 2, 3, 0).contiguous()  # (T, size, size, 3)


def mask_overlays(clip: torch.Tensor, specs: tuple[MaskSpec, ...], patch: int, tubelet: int, seed: int
                  ) -> list[torch.Tensor]:
    """One uint8 (T, S, S, 3) copy of ``clip`` per mask configuration, target tubelets tinted (60 % colour)."""
    T, S = clip.shape[0], clip.shape[1]
    grid = (T // tubelet, S // patch, S // patch)
    out = []
    for i, spec in enumerate(specs):
        gen = torch.Generator().manual_seed(seed * 1000 + i)
        _, tgt = sample_sample_mask(spec, grid, sample_block_size(spec, grid, gen), gen)
        target = torch.zeros(grid[0] * grid[1] * grid[2], dtype=torch.bool)
        target[tgt] = True
        cells = target.reshape(grid).repeat_interleave(tubelet, 0)  # (T, H', W')
        pixels = cells.repeat_interleave(patch, 1).repeat_interleave(patch, 2)[..., None]  # (T, S, S, 1)
        tint = torch.tensor(TINTS[i % len(TINTS)], dtype=torch.float32)
        blended = clip.float() * 0.4 + tint * 0.6
        out.append(torch.where(pixels, blended, clip.float()).round().to(torch.uint8))
    return out


def pca_maps(tokens: torch.Tensor, size: int) -> torch.Tensor:
    """First three principal components of (T', H', W', D) tokens as RGB, upsampled: uint8 (T', size, size, 3).

    Each component is scaled to [0, 255] between its 1st and 99th percentile over the clip.
    """
    grid, d = tokens.shape[:3], tokens.shape[-1]
    x = tokens.reshape(-1, d).double()
    x = x - x.mean(dim=0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    proj = x @ v[:3].T  # (N, 3)
    if proj.shape[1] < 3:
        proj = F.pad(proj, (0, 3 - proj.shape[1]))
    lo, hi = torch.quantile(proj, 0.01, dim=0), torch.quantile(proj, 0.99, dim=0)
    rgb = ((proj - lo) / (hi - lo).clamp_min(1e-12)).clamp(0, 1).float().reshape(*grid, 3)
    rgb = F.interpolate(rgb.permute(0, 3, 1, 2), size=(size, size), mode="nearest")  # (T', 3, S, S)
    return (rgb * 255).round().to(torch.uint8).permute(0, 2, 3, 1)


def save_rows(rows: list[torch.Tensor], out: str, tubelet: int, fps: float = 4.0) -> tuple[int, int]:
    """Write rows of uint8 (T, S, S, 3) panels as a PNG grid or a GIF (see the module docstring); returns the size
    (width, height) of the picture."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".png", ".gif"):
        raise ConfigError(f"out={out}: give a .png or .gif file")
    T, S = rows[0].shape[0], rows[0].shape[1]
    if suffix == ".png":
        cols = list(range(0, T, tubelet))
        canvas = torch.full((len(rows) * S + (len(rows) - 1) * GAP, len(cols) * S + (len(cols) - 1) * GAP, 3), 255,
                            dtype=torch.uint8)
        for r, row in enumerate(rows):
            for c, f in enumerate(cols):
                canvas[r * (S + GAP):r * (S + GAP) + S, c * (S + GAP):c * (S + GAP) + S] = row[f]
        image = Image.fromarray(canvas.numpy())
        atomic_write(out, lambda p: image.save(p, format="PNG"))
        return image.size
    pictures = []
    for f in range(T):
        canvas = torch.full((S, len(rows) * S + (len(rows) - 1) * GAP, 3), 255, dtype=torch.uint8)
        for r, row in enumerate(rows):
            canvas[:, r * (S + GAP):r * (S + GAP) + S] = row[f]
        pictures.append(Image.fromarray(canvas.numpy()))
    atomic_write(out, lambda p: pictures[0].save(p, format="GIF", save_all=True, append_images=pictures[1:],
                                                 duration=int(1000 / fps), loop=0))
    return pictures[0].size


def visualize_masks(video: str, out: str, *, frames: int = 16, frame_step: int = 4, size: int = 224,
                    patch_size: int = 16, tubelet_size: int = 2, seed: int = 0, start: int = 0) -> tuple[int, int]:
    """Mask preview of the official two configurations (8 small blocks, 2 large blocks) over a real clip."""
    if frames % tubelet_size or size % patch_size:
        raise ConfigError(f"frames={frames} must be a multiple of tubelet_size={tubelet_size} and size={size} "
                          f"of patch_size={patch_size}; change one of them")
    clip = read_clip(video, frames, frame_step, size, start)
    return save_rows([clip, *mask_overlays(clip, VITL16_MASKS, patch_size, tubelet_size, seed)], out, tubelet_size)


def visualize_pca(video: str, out: str, checkpoint: str, *, frames: int | None = None, frame_step: int = 4,
                  size: int | None = None, start: int = 0, **load_kwargs: Any) -> tuple[int, int]:
    """PCA of the patch tokens of one window of the clip, next to the frames."""
    import vjepa

    if Path(out).suffix.lower() not in (".png", ".gif"):  # checked before the model is loaded
        raise ConfigError(f"out={out}: give a .png or .gif file")
    model = vjepa.load(checkpoint, **load_kwargs)
    cfg = model.encoder.cfg
    frames, size = frames or cfg.num_frames, size or cfg.img_size
    if frames % cfg.tubelet_size or size % cfg.patch_size:
        raise ConfigError(f"frames={frames} must be a multiple of the model's tubelet size {cfg.tubelet_size} and "
                          f"size={size} of its patch size {cfg.patch_size}; change frames or size")
    clip = read_clip(video, frames, frame_step, size, start)
    tokens = model.embed(clip, window=frames, pool="none", size=size, dtype="float32").features[0]  # (T', H', W', D)
    maps = pca_maps(tokens, size).repeat_interleave(cfg.tubelet_size, 0)  # (T, S, S, 3)
    return save_rows([clip, maps], out, cfg.tubelet_size)
