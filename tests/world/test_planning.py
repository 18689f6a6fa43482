"""CEM and the L1-ball projection on toy energies whose optimum is known."""

from __future__ import annotations

import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.world.planning import CEMSettings, cem, project_l1_ball


def test_projection_onto_the_l1_ball():
    x = torch.randn(500, 6, generator=torch.Generator().manual_seed(0)) * 2
    p = project_l1_ball(x, 1.0)
    assert (p.abs().sum(-1) <= 1.0 + 1e-6).all()
    inside = x.abs().sum(-1) <= 1.0
    assert torch.equal(p[inside], x[inside])
    torch.testing.assert_close(project_l1_ball(torch.tensor([3.0, 1.0, 0.0]), 1.0), torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(project_l1_ball(torch.tensor([1.0, -1.0]), 1.0), torch.tensor([0.5, -0.5]))
    # The projection is the nearest point: no random point of the ball is closer.
    y = torch.tensor([0.9, -0.7, 0.4])
    ball = project_l1_ball(torch.randn(2000, 3, generator=torch.Generator().manual_seed(1)), 1.0)
    assert (ball - y).norm(dim=-1).min() >= (project_l1_ball(y, 1.0) - y).norm() - 1e-6


def test_cem_converges_to_a_known_optimum():
    target = torch.tensor([[0.3, -0.2, 0.1], [0.0, 0.25, -0.25]])  # inside the ball of radius 1 at every step

    def energy(actions):  # (S, H, A) -> (S,)
        return (actions - target).abs().mean(dim=(1, 2))

    result = cem(energy, 3, CEMSettings(horizon=2, samples=100, iterations=20, top_k=10, radius=1.0, seed=3))
    assert result.actions.shape == (2, 3)
    assert (result.actions - target).abs().max() < 0.03
    assert result.history[-1] <= result.history[0]


def test_cem_optimum_outside_the_ball_lands_on_its_boundary():
    target = torch.tensor([[2.0, 0.0]])  # the nearest point of the radius-0.5 ball is (0.5, 0)
    result = cem(lambda a: ((a - target) ** 2).sum(dim=(1, 2)), 2,
                 CEMSettings(horizon=1, samples=64, iterations=15, top_k=8, radius=0.5, seed=0))
    assert (result.actions.abs().sum(-1) <= 0.5 + 1e-6).all()
    torch.testing.assert_close(result.actions, torch.tensor([[0.5, 0.0]]), atol=0.03, rtol=0)


def test_cem_is_deterministic_under_a_seed_and_leaves_the_global_rng_alone():
    settings = CEMSettings(horizon=3, samples=16, iterations=3, top_k=4, radius=1.0, seed=5)
    energy = lambda a: a.sum(dim=(1, 2))  # noqa: E731
    state = torch.get_rng_state()
    first, second = cem(energy, 2, settings), cem(energy, 2, settings)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first.actions, second.actions)
    other = cem(energy, 2, CEMSettings(horizon=3, samples=16, iterations=3, top_k=4, radius=1.0, seed=6))
    assert not torch.equal(first.actions, other.actions)


@pytest.mark.parametrize("field, value", [("init_std", 0.0), ("radius", float("inf")), ("samples", 0)])
def test_cem_settings_errors_are_one_line(field, value):
    kwargs = dict(horizon=1, samples=4, iterations=1, top_k=2, radius=1.0) | {field: value}
    with pytest.raises(ConfigError, match=f"^{field} = ") as info:
        cem(lambda a: a.sum(dim=(1, 2)), 2, CEMSettings(**kwargs))
    assert "\n" not in str(info.value)
