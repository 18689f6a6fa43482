"""An intuitive-physics world, shipped as code: objects sliding over a static background behind a screen.

Every movie shows at most one object per test (several in training clips) moving horizontally at constant speed
over a static textured background; a full-height vertical screen (the occluder) stands in the middle and is drawn
in front of the objects. Lengths are given at 64 px and scale with the frame side.

Test quadruplets follow IntPhys: two possible movies A and B of one scene, and two impossible ones made by
swapping their second halves at the break frame b, C = A[:b] + B[b:] and D = B[:b] + A[b:]. The four movies
therefore hold exactly the same multiset of frames, so any score that only sums a per-frame statistic ties, and
a model can only tell C and D apart by relating what it saw before b to what it sees after. Per property (A and
B share background, screen, speed and direction unless said otherwise):

* ``permanence``: A has the object, B has none; at b the object of A is fully behind the screen. C: the object
  goes behind the screen and never comes out (vanishes); D: an object comes out that never went in (appears).
* ``continuity``: A and B move along two rows at least one object apart, same x(t); at b the object is in the
  open (visible at b - 1 and b). C and D: the object jumps from one row to the other while in view (teleports).
* ``constancy``: A and B carry objects of different shape and colour; at b the object is fully behind the screen.
  C and D: the object comes out with another shape and colour than it went in with.
* ``dynamics``: A and B pass the same point in the open at b, one 2.5-3.5x faster than the other. C and D: the
  object changes speed at b without any cause.

Items are pure functions of (seed, property, index, num_frames, size), each drawn from its own keyed generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vjepa.core.errors import ConfigError
from vjepa.core.rng import keyed_generator
from vjepa.data.synthetic import GeneratedClips

PROPERTIES = ("permanence", "continuity", "constancy", "dynamics")
SHAPES = ("disc", "square", "triangle", "diamond")
PALETTE = ((230, 40, 40), (40, 200, 60), (50, 90, 240), (240, 210, 30), (220, 60, 220), (30, 210, 220))
EXTENT = 1.1
"""Half-extent of every shape in units of its radius (the triangle's base is the widest: 1.04 r)."""
_QUAD_TAG, _TRAIN_TAG = 0x1A7F15, 0x1A7F7A  # keep these streams apart from the project's other keyed streams


@dataclass(frozen=True)
class Scene:
    """What the movies of one quadruplet share: background (3, S, S) float 0-255, the screen's centre column and
    half-width in pixels, its colour, and the object radius."""

    background: torch.Tensor
    screen_centre: float
    screen_half_width: float
    screen_colour: tuple[float, float, float]
    radius: float


@dataclass(frozen=True)
class Track:
    """One object: look (shape, palette index) and its centre per frame, x and y (T,) float64 pixels."""

    shape: int
    colour: int
    x: torch.Tensor
    y: torch.Tensor


@dataclass(frozen=True)
class Movie:
    video: torch.Tensor
    """(T, S, S, 3) uint8."""
    centre: torch.Tensor
    """(T, 2) float64 (x, y) of the test object; NaN in frames without one."""
    look: torch.Tensor
    """(T,) int64 look id ``shape * len(PALETTE) + colour``; -1 in frames without an object."""
    visible: torch.Tensor
    """(T,) float32 visible pixel mass of the object (0 when behind the screen or absent)."""


@dataclass(frozen=True)
class Quadruplet:
    property: str
    index: int
    break_frame: int
    movies: tuple[Movie, Movie, Movie, Movie]
    """Possible A, possible B, impossible C = A[:b] + B[b:], impossible D = B[:b] + A[b:]."""


def _check(num_frames: int, size: int) -> None:
    if num_frames < 8:
        raise ConfigError(f"physics num_frames {num_frames} is too small; use >= 8")
    if size < 32:
        raise ConfigError(f"physics size {size} is too small; use >= 32")


def _alpha(shape: int, du: torch.Tensor, dv: torch.Tensor, r: float) -> torch.Tensor:
    """Coverage in [0, 1] with a one-pixel soft edge, from object-centred offsets du (T, 1, S), dv (T, S, 1)."""
    au, av = du.abs(), dv.abs()
    if SHAPES[shape] == "disc":
        sdf = torch.sqrt(du * du + dv * dv) - r
    elif SHAPES[shape] == "square":
        sdf = torch.maximum(au, av) - 0.85 * r
    elif SHAPES[shape] == "triangle":
        sdf = torch.maximum(dv, 0.8660254 * au - 0.5 * dv) - 0.6 * r
    else:
        sdf = (au + av) * 0.70710678 - 0.75 * r
    return (0.5 - sdf).clamp(0.0, 1.0)  # (T, S, S)


def render(scene: Scene, tracks: list[Track], num_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames (T, S, S, 3) uint8 and each track's visible pixel mass (T, len(tracks)) float32."""
    S = scene.background.shape[-1]
    grid = torch.arange(S, dtype=torch.float32)
    screen = ((grid - scene.screen_centre).abs() <= scene.screen_half_width).float()  # (S,) columns
    frames = scene.background[:, None].expand(3, num_frames, S, S).clone()  # (3, T, S, S)
    visible = torch.zeros(num_frames, len(tracks))
    for k, track in enumerate(tracks):
        du = (grid[None, :] - track.x[:, None].float())[:, None, :]  # (T, 1, S)
        dv = (grid[None, :] - track.y[:, None].float())[:, :, None]  # (T, S, 1)
        alpha = _alpha(track.shape, du, dv, scene.radius)  # (T, S, S)
        colour = torch.tensor(PALETTE[track.colour], dtype=torch.float32)[:, None, None, None]
        frames = torch.lerp(frames, colour.expand_as(frames), alpha[None])
        visible[:, k] = (alpha * (1.0 - screen)).sum(dim=(1, 2))
    # The screen is in front of everything: a flat colour with faint vertical grooves.
    grooves = 1.0 - 0.12 * (torch.remainder(grid, 4.0) < 1.0).float()  # (S,)
    screen_rgb = torch.tensor(scene.screen_colour)[:, None, None, None] * grooves  # (3, 1, 1, S)
    frames = torch.lerp(frames, screen_rgb.expand_as(frames), screen)
    video = (frames + 0.5).clamp(0.0, 255.0).to(torch.uint8).permute(1, 2, 3, 0).contiguous()
    return video, visible


def movie(scene: Scene, track: Track | None, num_frames: int) -> Movie:
    """Render a test movie with one object (or none) and its per-frame record."""
    video, visible = render(scene, [track] if track else [], num_frames)
    if track is None:
        return Movie(video, torch.full((num_frames, 2), math.nan, dtype=torch.float64),
                     torch.full((num_frames,), -1, dtype=torch.int64), torch.zeros(num_frames))
    look = torch.full((num_frames,), track.shape * len(PALETTE) + track.colour, dtype=torch.int64)
    return Movie(video, torch.stack([track.x, track.y], dim=1), look, visible[:, 0])


def splice(first: Movie, second: Movie, at: int) -> Movie:
    """``first`` up to frame ``at`` (exclusive), then ``second`` from ``at`` on."""
    return Movie(*(torch.cat([getattr(first, f)[:at], getattr(second, f)[at:]])
                   for f in ("video", "centre", "look", "visible")))


def _scene(u, gen: torch.Generator, size: int, object_scale: float = 1.0) -> Scene:
    """Background (mean colour, a gentle gradient, static noise), a screen in the middle band, object radius."""
    k = size / 64.0
    radius = k * (4.5 + 1.5 * next(u)) * object_scale
    base = torch.tensor([60.0 + 100.0 * next(u) for _ in range(3)])[:, None, None]
    ramp = torch.linspace(-1.0, 1.0, size)
    angle = 2.0 * math.pi * next(u)
    gradient = 25.0 * (math.cos(angle) * ramp[None, :] + math.sin(angle) * ramp[:, None])  # (S, S)
    background = base + gradient + 16.0 * (torch.rand(3, size, size, generator=gen) - 0.5)
    half_width = EXTENT * radius + 1.0 + k * 2.0 * next(u)  # wide enough to hide any shape
    centre = size * (0.45 + 0.1 * next(u))
    grey = 40.0 + 60.0 * next(u)
    colour = (grey + 30.0 * next(u), grey + 15.0 * next(u), grey)
    return Scene(background.clamp(0.0, 255.0), centre, half_width, colour, radius)


def _open_point(scene: Scene, direction: float, size: int, lead: float) -> tuple[float, float]:
    """Range of x where an object approaching the screen is fully in view and fully clear of it, with ``lead`` px
    of room behind it (so it is also in view one frame earlier)."""
    margin = EXTENT * scene.radius + 0.5
    lo, hi = margin + lead, scene.screen_centre - scene.screen_half_width - margin
    hi = max(lo, hi)
    return (lo, hi) if direction > 0 else (size - 1 - hi, size - 1 - lo)


def make_quadruplet(property: str, seed: int, index: int, num_frames: int = 32, size: int = 64,
                    object_scale: float = 1.0) -> Quadruplet:
    """Quadruplet ``index`` of ``property`` (see the module docstring); ``object_scale`` multiplies the object
    radius (and so the screen width that hides it)."""
    _check(num_frames, size)
    if property not in PROPERTIES:
        raise ConfigError(f"physics property {property!r}: use one of {', '.join(PROPERTIES)}")
    gen = keyed_generator(_QUAD_TAG, seed, PROPERTIES.index(property), index)
    u = iter(torch.rand(40, generator=gen, dtype=torch.float64).tolist())
    scene = _scene(u, gen, size, object_scale)
    T, k, r = num_frames, size / 64.0, scene.radius
    direction = 1.0 if next(u) < 0.5 else -1.0
    b = round(T * (0.4 + 0.2 * next(u)))
    t = torch.arange(T, dtype=torch.float64) - b  # time from the break
    row = lambda v: torch.full((T,), v, dtype=torch.float64)  # noqa: E731
    y = EXTENT * r + 1.0 + (size - 2.0 * EXTENT * r - 2.0) * next(u)
    shape, colour = int(next(u) * len(SHAPES)), int(next(u) * len(PALETTE))
    # Fast enough to be fully in view at the first and the last frame when at the screen's centre at b.
    v = max(k * (1.5 + next(u)), (scene.screen_half_width + EXTENT * r + 1.5) / min(b, T - 1 - b))

    if property in ("permanence", "constancy"):
        x = scene.screen_centre + direction * v * t  # fully behind the screen at b
        a = Track(shape, colour, x, row(y))
        if property == "permanence":
            second = None
        else:  # another shape and another colour
            shape2 = (shape + 1 + int(next(u) * (len(SHAPES) - 1))) % len(SHAPES)
            colour2 = (colour + 1 + int(next(u) * (len(PALETTE) - 1))) % len(PALETTE)
            second = Track(shape2, colour2, x, row(y))
    elif property == "continuity":
        gap = 2.0 * EXTENT * r + 2.0  # rows one object apart: the jump cannot be read as one motion
        y1 = EXTENT * r + 1.0 + (size - 2.0 * EXTENT * r - 2.0 - gap) * next(u)
        lo, hi = _open_point(scene, direction, size, v)
        x = lo + (hi - lo) * next(u) + direction * v * t
        a, second = Track(shape, colour, x, row(y1)), Track(shape, colour, x, row(y1 + gap))
    else:  # dynamics: the same point in the open at b, two speeds
        lo, hi = _open_point(scene, direction, size, 0.0)
        xb, slow, ratio = lo + (hi - lo) * next(u), k * (0.8 + 0.5 * next(u)), 2.5 + next(u)
        a = Track(shape, colour, xb + direction * slow * t, row(y))
        second = Track(shape, colour, xb + direction * slow * ratio * t, row(y))
    if next(u) < 0.5 and second is not None:  # which of the two possible movies is A carries no information
        a, second = second, a
    movie_a, movie_b = movie(scene, a, T), movie(scene, second, T)
    movies = (movie_a, movie_b, splice(movie_a, movie_b, b), splice(movie_b, movie_a, b))
    return Quadruplet(property, index, b, movies)


def make_quadruplets(per_property: int, seed: int = 0, num_frames: int = 32, size: int = 64,
                     properties: tuple[str, ...] = PROPERTIES, object_scale: float = 1.0) -> list[Quadruplet]:
    """``per_property`` quadruplets of each property, in property order."""
    return [make_quadruplet(p, seed, i, num_frames, size, object_scale) for p in properties
            for i in range(per_property)]


def render_training_clip(seed: int, index: int, num_frames: int = 16, size: int = 64,
                         object_scale: float = 1.0) -> torch.Tensor:
    """A possible movie of the same world: 0-2 objects at constant speeds in their own rows, passing behind the
    screen; (T, S, S, 3) uint8."""
    _check(num_frames, size)
    gen = keyed_generator(_TRAIN_TAG, seed, index)
    u = iter(torch.rand(40, generator=gen, dtype=torch.float64).tolist())
    scene = _scene(u, gen, size, object_scale)
    k, r = size / 64.0, scene.radius
    t = torch.arange(num_frames, dtype=torch.float64)
    tracks = []
    for _ in range(min(2, int(next(u) * 3))):
        direction = 1.0 if next(u) < 0.5 else -1.0
        v = k * (0.8 + 2.5 * next(u))
        x0 = -EXTENT * r + (size + 2 * EXTENT * r) * next(u)  # anywhere, entering from off-screen included
        y = EXTENT * r + 1.0 + (size - 2.0 * EXTENT * r - 2.0) * next(u)
        tracks.append(Track(int(next(u) * len(SHAPES)), int(next(u) * len(PALETTE)), x0 + direction * v * t,
                            torch.full_like(t, y)))
    return render(scene, tracks, num_frames)[0]


class PhysicsVideos(GeneratedClips):
    """Pretraining clips of the physics world (all possible): ``dict(video=uint8 [T, S, S, 3], index=int)``."""

    kind = "physics"

    def __init__(self, num_videos: int, num_frames: int = 16, size: int = 64, seed: int = 0,
                 object_scale: float = 1.0) -> None:
        if num_videos < 1:
            raise ConfigError(f"physics num_videos {num_videos} must be >= 1")
        _check(num_frames, size)
        self.num_videos, self.num_frames, self.size, self.seed = num_videos, num_frames, size, seed
        self.object_scale = object_scale

    def __getitem__(self, index: int) -> dict:
        index = self.checked_index(index)
        return {"video": render_training_clip(self.seed, index, self.num_frames, self.size,
                                                      self.object_scale), "index": index}
