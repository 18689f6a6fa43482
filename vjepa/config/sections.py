"""Typed sections shared by every config (pretraining, evaluation, fine-tuning, experiments, world models).

A name is chosen once here and used everywhere: ``num_frames`` (not ``frames_per_clip``), ``num_workers`` (not
``workers``), ``num_segments`` and ``num_views``. Each section comes with its check, which names the keys under
the section's place in the config (``prefix``): ``clip.num_frames = 0: must be >= 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vjepa.config.checks import at_least, choose, need

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16")


@dataclass
class ClipConfig:
    """How a clip is cut from a video: ``num_frames`` frames ``frame_step`` apart, cropped to ``crop_size``²."""

    num_frames: int = 16
    """Frames per clip (V-JEPA / VideoMAE: 16); images become clips of this many repeated frames."""
    frame_step: int = 4
    """Stride between the sampled frames (official ``sampling_rate`` 4)."""
    crop_size: int = 224
    """Side of the square crop, in pixels."""


@dataclass
class EvalClipConfig(ClipConfig):
    """A clip section with the multi-segment x multi-view test protocol (official K400 16 x 8 x 3, SSv2 16 x 2 x 3;
    the default 1 x 1 is a single centre clip)."""

    num_segments: int = 1
    """Temporal segments per validation video (images: always 1)."""
    num_views: int = 1
    """Spatial views per validation clip (training uses one)."""


@dataclass
class RuntimeConfig:
    """Where and how a run computes; none of these values changes what is computed beyond float rounding."""

    seed: int = 0
    device: str = "auto"
    """``auto`` (cuda if available, else cpu), ``cpu`` or ``cuda``."""
    dtype: str = "auto"
    """Autocast precision: ``auto`` (bf16 on GPU and on CPUs with bf16 support), ``bfloat16`` or ``float32``."""
    num_workers: int = 0
    """Data loader processes (0 = load in the main process)."""
    num_threads: int | None = None
    """CPU threads of torch for the run (None: torch's default, one per core). Tiny models run faster on one:
    their matmuls are too small to share, and two threads stall whenever another process takes a core."""


def check_clip(clip: ClipConfig, prefix: str = "clip.") -> None:
    """Every count of a clip section (``EvalClipConfig`` included) is >= 1."""
    counts = ("num_frames", "frame_step", "crop_size", "num_segments", "num_views")
    at_least(clip, 1, [n for n in counts if hasattr(clip, n)], prefix)


def check_runtime(runtime: RuntimeConfig, prefix: str = "runtime.") -> None:
    """``seed`` and ``num_workers`` >= 0; ``device`` and ``dtype`` among the known choices."""
    at_least(runtime, 0, ("seed", "num_workers"), prefix)
    need(runtime.num_threads is None or runtime.num_threads >= 1,
         f"{prefix}num_threads = {runtime.num_threads}: must be >= 1, or null for torch's default")
    choose(f"{prefix}device", runtime.device, DEVICES)
    choose(f"{prefix}dtype", runtime.dtype, DTYPES)


def check_clip_fits(clip: ClipConfig, tubelet_size: int, patch_size: int, prefix: str = "clip.") -> None:
    """The clip must tile into an encoder's tubelets (time) and patches (space)."""
    need(clip.num_frames % tubelet_size == 0,  # each check names only its own value
         f"{prefix}num_frames {clip.num_frames} must be a multiple of the encoder's tubelet size {tubelet_size}")
    need(clip.crop_size % patch_size == 0,
         f"{prefix}crop_size {clip.crop_size} must be a multiple of the encoder's patch size {patch_size}")
