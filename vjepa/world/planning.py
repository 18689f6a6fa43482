"""Action planning by the cross-entropy method (CEM) of the V-JEPA 2 paper (§ planning with V-JEPA 2-AC).

Action sequences of ``horizon`` steps are drawn from a diagonal Gaussian, each step's action is kept inside the L1
ball of radius ``radius`` (Euclidean projection onto the ball), the ``top_k`` sequences of lowest energy are kept,
and the Gaussian is refitted to them (mean and standard deviation per step and channel); repeat ``iterations``
times. The plan is the final mean, which stays inside the ball because the ball is convex.

Draws come from one keyed generator per call (``keyed_generator(CEM_TAG, seed)``), never the global RNG, so a
seed fixes the plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vjepa.core.errors import ConfigError
from vjepa.core.rng import keyed_generator

CEM_TAG = 0xAC  # first key of the planner's random stream, apart from other keyed streams
MIN_STD = 1e-6  # floor on the refitted std so a collapsed channel can still be sampled


@dataclass(frozen=True)
class CEMSettings:
    horizon: int
    samples: int
    iterations: int
    top_k: int
    radius: float
    """Each step's action a satisfies ||a||_1 <= radius."""
    init_std: float | None = None
    """Standard deviation of the first Gaussian; None: radius / sqrt(action dim)."""
    seed: int = 0

    def check(self) -> None:
        """One-line ConfigError naming the first argument out of range."""
        for name in ("horizon", "samples", "iterations", "top_k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} = {value!r}: must be an integer >= 1")
        if self.top_k > self.samples:
            raise ConfigError(f"top_k = {self.top_k}: must be <= samples = {self.samples}")
        if not (isinstance(self.radius, (int, float)) and math.isfinite(self.radius) and self.radius > 0):
            raise ConfigError(f"radius = {self.radius!r}: the L1 ball's radius must be a finite number > 0")
        std = self.init_std
        if std is not None and not (isinstance(std, (int, float)) and math.isfinite(std) and std > 0):
            raise ConfigError(f"init_std = {std!r}: must be a finite number > 0 (or None)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed = {self.seed!r}: must be an integer >= 0")


@dataclass
class CEMResult:
    actions: torch.Tensor
    """(horizon, A) the planned sequence (the final mean)."""
    energy: torch.Tensor
    """() the energy of the planned sequence."""
    history: list[float]
    """Lowest sampled energy of each iteration."""


def project_l1_ball(x: torch.Tensor, radius: float) -> torch.Tensor:
    """Euclidean projection of every vector x[..., :] onto {a : ||a||_1 <= radius} (sort-based soft threshold,
    Duchi et al. 2008). Vectors already inside are returned unchanged."""
    magnitude = x.abs()
    inside = magnitude.sum(-1, keepdim=True) <= radius  # (..., 1)
    sorted_mag = magnitude.sort(dim=-1, descending=True).values  # (..., A)
    cumulative = sorted_mag.cumsum(-1) - radius
    ranks = torch.arange(1, x.shape[-1] + 1, device=x.device, dtype=x.dtype)
    active = sorted_mag * ranks > cumulative  # (..., A): components that stay non-zero
    count = active.sum(-1, keepdim=True)  # (..., 1), >= 1 whenever the vector is outside
    threshold = cumulative.gather(-1, (count - 1).clamp(min=0)) / count.clamp(min=1).to(x.dtype)
    shrunk = x.sign() * (magnitude - threshold).clamp(min=0)
    return torch.where(inside, x, shrunk)


def cem(energy: Callable[[torch.Tensor], torch.Tensor], action_dim: int, settings: CEMSettings,
        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> CEMResult:
    """Minimise ``energy`` over action sequences in the L1 ball.

    Args:
        energy: maps (S, horizon, A) action sequences to (S,) energies (lower is better).
        action_dim: A.
        settings: horizon, samples, iterations, top_k, radius, init_std, seed (checked here).
    """
    settings.check()
    if isinstance(action_dim, bool) or not isinstance(action_dim, int) or action_dim < 1:
        raise ConfigError(f"action_dim = {action_dim!r}: must be an integer >= 1")
    shape = (settings.horizon, action_dim)
    init_std = settings.init_std if settings.init_std is not None else settings.radius / math.sqrt(action_dim)
    mean = torch.zeros(shape, dtype=dtype)  # (H, A)
    std = torch.full(shape, float(init_std), dtype=dtype)  # (H, A)
    generator = keyed_generator(CEM_TAG, settings.seed)
    history = []
    for _ in range(settings.iterations):
        noise = torch.randn((settings.samples, *shape), generator=generator, dtype=dtype)  # drawn on the CPU
        candidates = project_l1_ball(mean + std * noise, settings.radius)  # (S, H, A)
        energies = energy(candidates.to(device)).detach().float().cpu()  # (S,)
        if energies.shape != (settings.samples,):
            raise ValueError(f"energy returned shape {tuple(energies.shape)}, expected ({settings.samples},)")
        best = energies.topk(settings.top_k, largest=False).indices  # the elites
        elites = candidates[best]  # (k, H, A)
        mean = elites.mean(0)
        std = elites.std(0, unbiased=False).clamp(min=MIN_STD)
        history.append(float(energies[best[0]]))
    actions = project_l1_ball(mean, settings.radius)  # a no-op in exact arithmetic (mean of points in the ball)
    final = energy(actions[None].to(device)).detach().float().cpu()[0]
    return CEMResult(actions.to(device), final, history)
