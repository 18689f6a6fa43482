"""The embedded default dataset: procedurally generated clips, so pretraining and the probe evals need no download.

Every clip shows one textured object moving over an independently moving (or static) textured background, on a
torus: the object leaves one edge and re-enters at the opposite one. Each item carries two labels.

* ``appearance`` (``num_classes`` classes): the object's shape (disc, square, triangle, cross, ring, diamond) and
  texture (horizontal stripes, vertical stripes, checker, concentric rings) are fixed by the class; its colours,
  size, texture period and phase and its position are random per video, so no single pixel gives the class away.
* ``motion`` (4 classes): the object moves at a constant speed (2-3.5 px/frame at 64 px) in a uniformly random
  direction, and at an integer frame ``t0`` drawn uniformly in the middle half of the clip it changes direction by
  a class-dependent angle: ``straight`` (0 deg), ``turn_left`` (+90 deg, counter-clockwise as seen on screen),
  ``turn_right`` (-90 deg) or ``reverse`` (180 deg).

Why this motion task: a randomly initialised ViT + attentive probe reads a *constant* direction off a single
2x16x16 tubelet (84-98 % measured), so that label says little about pretraining. Here the label is the turn
*relative* to the initial direction, which is uniform on the circle, so the direction seen in any one window of
frames is uniform and independent of the label. Because ``t0`` is an integer, every pair of consecutive frames
(in particular every 2-frame tubelet) shows a pure constant-velocity translation; because the motion wraps
around, the object's position is uniform at every frame for every class; and the speed is constant per video.
The joint law of (frame time, position, velocity, look) seen through two consecutive frames is therefore the
same for all four classes: the label can only be read by relating the motion before ``t0`` to the motion after
it, i.e. tubelets at least ``t0``-apart in time. Both segments last >= a quarter of the clip.

The labels are stratified by index (``appearance = i % A``, ``motion = (i // A) % 4``), so every block of
``4·A`` consecutive indices holds each (appearance, motion) pair once: the classes are exactly balanced and
independent. A horizontal flip swaps ``turn_left`` and ``turn_right`` (see :data:`MOTION_HFLIP`) and leaves the
appearance class unchanged (all shapes and textures are left-right symmetric).

Items are a pure function of (seed, index, num_frames, size, num_classes): each is drawn from its own
``torch.Generator`` seeded from (seed, index), so every process, worker and call gets the same bytes (on one
machine; vectorised float32 ``sin`` may differ in the last bit between CPU instruction sets). Generating one
16x64x64 clip takes about 1.2-1.5 ms on one CPU thread (up to ~4 ms on a busy shared CPU), no slower
than reading it back from disk, so there is no cache.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset

from vjepa.core.errors import ConfigError
from vjepa.core.rng import keyed_generator

SHAPES = ("disc", "square", "triangle", "cross", "ring", "diamond")
TEXTURES = ("horizontal_stripes", "vertical_stripes", "checker", "concentric")
MOTIONS = ("straight", "turn_left", "turn_right", "reverse")
MOTION_HFLIP = (0, 2, 1, 3)
"""``MOTION_HFLIP[m]`` is the motion label of a clip of label ``m`` after a horizontal flip."""
MAX_APPEARANCE_CLASSES = len(SHAPES) * len(TEXTURES)
# Held-out clips start here: train on indices [0, n), validate on [VAL_OFFSET, VAL_OFFSET + m), never overlapping.
VAL_OFFSET = 100_000
_TURN_DEGREES = (0.0, 90.0, -90.0, 180.0)
_STREAM_TAG = 0x5E7C1A  # keeps these streams apart from other (seed, index)-keyed generators of the project


def clip_generator(seed: int, index: int) -> torch.Generator:
    """The private random stream of item ``index`` of dataset ``seed`` (SeedSequence-hashed, so nearby keys
    give unrelated streams)."""
    return keyed_generator(_STREAM_TAG, seed, index)


def clip_labels(index: int, num_classes: int) -> tuple[int, int]:
    """``(appearance, motion)`` of item ``index``: stratified, so every ``4·num_classes`` block is balanced."""
    return index % num_classes, (index // num_classes) % len(MOTIONS)


def class_look(appearance: int) -> tuple[str, str]:
    """``(shape, texture)`` names of an appearance class; distinct for the first 24 classes."""
    shape = appearance % len(SHAPES)
    # The texture shifts by one each time the shapes wrap around, so (shape, texture) pairs never repeat.
    texture = (appearance + appearance // len(SHAPES)) % len(TEXTURES)
    return SHAPES[shape], TEXTURES[texture]


def _check(num_frames: int, size: int, num_classes: int, seed: int) -> None:
    if num_frames < 4:
        raise ConfigError(f"data.num_frames {num_frames} is too small for the synthetic dataset; use >= 4")
    if size < 16:
        raise ConfigError(f"data.synthetic.size {size} is too small; use >= 16")
    if not 1 <= num_classes <= MAX_APPEARANCE_CLASSES:
        raise ConfigError(f"data.synthetic.num_classes {num_classes} must be in 1..{MAX_APPEARANCE_CLASSES}")
    if seed < 0:
        raise ConfigError(f"data.synthetic.seed {seed} must be >= 0")


def render_clip(seed: int, index: int, num_frames: int = 16, size: int = 64, num_classes: int = 4) -> dict:
    """Render item ``index`` of the synthetic dataset ``seed`` (the pure function behind :class:`SyntheticVideos`).

    Args:
        seed: Dataset seed (>= 0).
        index: Item index (>= 0).
        num_frames: Frames T of the clip.
        size: Frame side S in pixels; lengths are specified at 64 px and scale with S.
        num_classes: Number of appearance classes A.

    Returns:
        dict with ``video`` uint8 ``[T, S, S, 3]``, ``appearance`` int in [0, A), ``motion`` int in [0, 4),
        ``trajectory`` float64 ``[T, 2]`` object centre (x, y) in pixels, wrapped to [0, S), and ``turn_frame``
        int, the frame at which the direction changes.
    """
    _check(num_frames, size, num_classes, seed)
    if index < 0:
        raise IndexError(f"synthetic clip index {index} must be >= 0")
    appearance, motion = clip_labels(index, num_classes)
    shape, texture = class_look(appearance)
    gen = clip_generator(seed, index)
    # All scalar parameters in one draw (one call is much cheaper than many small ones).
    u = iter(torch.rand(40, generator=gen, dtype=torch.float64).tolist())
    T, S, k = num_frames, size, size / 64.0

    # Trajectory: constant speed, direction a1 until turn_frame, then a1 + turn. Angles counter-clockwise on
    # screen, so y (pointing down) gets a minus sign.
    radius = k * (7.5 + 3.0 * next(u))
    speed = k * (2.0 + 1.5 * next(u))
    a1 = 2.0 * math.pi * next(u)
    a2 = a1 + math.radians(_TURN_DEGREES[motion])
    lo, hi = round(0.25 * (T - 1)), round(0.75 * (T - 1))
    turn_frame = lo + min(int(next(u) * (hi - lo + 1)), hi - lo)  # an integer: no tubelet straddles the turn
    t = torch.arange(T, dtype=torch.float64)
    before, after = t.clamp(max=turn_frame), (t - turn_frame).clamp(min=0)
    cx = S * next(u) + speed * (math.cos(a1) * before + math.cos(a2) * after)
    cy = S * next(u) - speed * (math.sin(a1) * before + math.sin(a2) * after)
    cx, cy = torch.remainder(cx, S), torch.remainder(cy, S)

    # Object-centred pixel offsets on the torus: du [T, 1, S], dv [T, S, 1] (broadcast to [T, S, S]).
    grid = torch.arange(S, dtype=torch.float32)
    half = S / 2.0
    du = (torch.remainder(grid[None, :] - cx[:, None].float() + half, S) - half)[:, None, :]
    dv = (torch.remainder(grid[None, :] - cy[:, None].float() + half, S) - half)[:, :, None]
    rho = torch.sqrt(du * du + dv * dv) if shape in ("disc", "ring") or texture == "concentric" else None
    au, av = du.abs(), dv.abs()
    r = radius
    if shape == "disc":
        sdf = rho - r
    elif shape == "square":
        sdf = torch.maximum(au, av) - 0.85 * r
    elif shape == "triangle":  # apex up; the max of the three edge half-planes, inradius 0.6 r
        sdf = torch.maximum(dv, 0.8660254 * au - 0.5 * dv) - 0.6 * r
    elif shape == "cross":
        w = 0.35 * r
        sdf = torch.minimum(torch.maximum(au - w, av - r), torch.maximum(av - w, au - r))
    elif shape == "ring":
        sdf = (rho - 0.65 * r).abs() - 0.35 * r
    else:  # diamond
        sdf = (au + av) * 0.70710678 - 0.75 * r
    alpha = (0.5 - sdf).clamp_(0.0, 1.0)  # one-pixel soft edge: sub-pixel motion stays visible

    # Texture in object coordinates (it travels with the object), random period and phase.
    omega = 2.0 * math.pi / (r * (0.55 + 0.25 * next(u)))
    p1, p2 = 2.0 * math.pi * next(u), 2.0 * math.pi * next(u)
    if texture == "horizontal_stripes":
        wave = torch.sin(omega * dv + p1)
    elif texture == "vertical_stripes":
        wave = torch.sin(omega * du + p1)
    elif texture == "checker":
        wave = torch.sin(omega * du + p1) * torch.sin(omega * dv + p2)
    else:
        wave = torch.sin(omega * rho + p1)
    pattern = (0.5 + 2.0 * wave).clamp_(0.0, 1.0).expand(T, S, S)

    # Colours: a saturated bright colour and a dark shade of it, so the texture always shows. Colour maths runs
    # channel-first ([3, T, S, S]): broadcasting over a trailing size-3 axis is several times slower.
    light = torch.tensor([next(u), next(u), next(u)], dtype=torch.float32) + 0.05
    light = light / light.max() * (0.8 + 0.2 * next(u))
    dark = light * (0.08 + 0.25 * next(u))
    # Colours are scaled to 0-255 with the +0.5 of round-to-nearest folded in (lerp keeps it): saves two passes.
    light, dark = light * 255.0 + 0.5, dark * 255.0 + 0.5
    obj = (light - dark)[:, None, None, None] * pattern + dark[:, None, None, None]  # [3, T, S, S]

    # Background: mean colour + two drifting colour gratings (static with probability 1/3) + static noise.
    base = 0.25 + 0.5 * torch.tensor([next(u), next(u), next(u)], dtype=torch.float32)
    moving = next(u) < 2.0 / 3.0
    vb, ab = k * (0.5 + 1.5 * next(u)) * moving, 2.0 * math.pi * next(u)
    vx, vy = vb * math.cos(ab), -vb * math.sin(ab)
    bg = (base * 255.0 + 0.5)[:, None, None, None] + 20.4 * (torch.rand(3, 1, S, S, generator=gen) - 0.5)
    frame_t = torch.arange(T, dtype=torch.float32)[:, None, None]
    for _ in range(2):
        theta, om = 2.0 * math.pi * next(u), 2.0 * math.pi / (k * (8.0 + 16.0 * next(u)))
        cu, su = om * math.cos(theta), om * math.sin(theta)
        spatial = cu * grid[None, :] + su * grid[:, None] + 2.0 * math.pi * next(u)  # [S, S]
        grating = torch.sin(spatial - (cu * vx + su * vy) * frame_t)  # [T, S, S]
        amp = torch.tensor([38.25 * (2.0 * next(u) - 1.0) for _ in range(3)], dtype=torch.float32)  # ±0.15
        bg = bg + amp[:, None, None, None] * grating  # [3, T, S, S]

    frames = torch.lerp(bg, obj, alpha)  # [3, T, S, S]
    video = frames.clamp_(0.0, 255.0).to(torch.uint8).permute(1, 2, 3, 0).contiguous()  # truncation rounds
    return {"video": video, "appearance": appearance, "motion": motion,
            "trajectory": torch.stack([cx, cy], dim=1), "turn_frame": turn_frame}


class GeneratedClips(Dataset):
    """A fixed number ``num_videos`` of procedurally generated clips, each a pure function of (seed, index)."""

    num_videos: int
    kind: str = "generated"

    def __len__(self) -> int:
        return self.num_videos

    def checked_index(self, index: int) -> int:
        """``index`` as an int, or IndexError when it is outside [0, num_videos)."""
        index = int(index)
        if not 0 <= index < self.num_videos:
            raise IndexError(f"index {index} out of range for {self.num_videos} {self.kind} videos")
        return index


class SyntheticVideos(GeneratedClips):
    """Deterministic procedurally generated clips (see the module docstring for the content and labels).

    Args:
        num_videos: Number of distinct items.
        num_frames: Frames T per clip (generated at the sampled frame rate: T frames are the clip).
        size: Frame side S in pixels.
        num_classes: Number of appearance classes A (1-24).
        seed: Dataset seed; different seeds give different videos with the same label layout.

    Each item is ``dict(video=uint8 [T, S, S, 3], appearance=int, motion=int, index=int)``.
    """

    num_motion_classes: int = len(MOTIONS)
    motion_names: tuple[str, ...] = MOTIONS
    kind = "synthetic"

    def __init__(self, num_videos: int, num_frames: int = 16, size: int = 64, num_classes: int = 4,
                 seed: int = 0) -> None:
        if num_videos < 1:
            raise ConfigError(f"data.synthetic.num_videos {num_videos} must be >= 1")
        _check(num_frames, size, num_classes, seed)
        self.num_videos, self.num_frames, self.size = num_videos, num_frames, size
        self.num_classes, self.seed = num_classes, seed

    @property
    def num_appearance_classes(self) -> int:
        """Number of appearance classes (= ``num_classes``)."""
        return self.num_classes

    def __getitem__(self, index: int) -> dict:
        index = self.checked_index(index)
        item = render_clip(self.seed, index, self.num_frames, self.size, self.num_classes)
        return {"video": item["video"], "appearance": item["appearance"], "motion": item["motion"],
                "index": index}

    def labels(self) -> dict[str, torch.Tensor]:
        """All labels without rendering: ``appearance`` and ``motion`` int64 ``[num_videos]``."""
        i = torch.arange(self.num_videos)
        return {"appearance": i % self.num_classes, "motion": (i // self.num_classes) % len(MOTIONS)}

    def __repr__(self) -> str:
        return (f"SyntheticVideos(num_videos={self.num_videos}, num_frames={self.num_frames}, size={self.size}, "
                f"num_classes={self.num_classes}, seed={self.seed})")
