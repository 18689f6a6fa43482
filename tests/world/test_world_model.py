"""WorldModel on tiny random models: shapes, causality of imagination, planning inside the L1 ball, argument
errors."""

from __future__ import annotations

import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.models.ac_predictor import ACPredictorConfig, ActionConditionedPredictor
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.world.model import WorldModel, goal_energy

A, SIDE, PATCH, D = 4, 16, 8, 24  # action dim, image side, patch, encoder width: 2x2 tokens per frame


@pytest.fixture(scope="module")
def world() -> WorldModel:
    torch.manual_seed(0)
    encoder = VideoEncoder(EncoderConfig(embed_dim=D, depth=1, num_heads=2, patch_size=PATCH, tubelet_size=2,
                                         num_frames=2, img_size=SIDE, use_rope=True))
    predictor = ActionConditionedPredictor(ACPredictorConfig(embed_dim=D, predictor_embed_dim=36, depth=2,
                                                             num_heads=2, action_dim=A, grid=(2, 2)))
    return WorldModel(encoder, predictor)


def frames(batch: int, count: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 3, count, SIDE, SIDE, generator=torch.Generator().manual_seed(seed))


def test_encode_and_imagine_shapes(world):
    assert world.encode(frames(2, 3)).shape == (2, 3, 4, D)
    actions = torch.randn(2, 5, A)
    assert world.imagine(frames(2, 1), torch.zeros(2, A), actions).shape == (2, 5, 4, D)
    two = world.imagine(frames(2, 2), torch.zeros(2, 2, A), actions, context_actions=torch.zeros(2, 1, A))
    assert two.shape == (2, 5, 4, D)


def test_imagine_step_t_ignores_later_actions(world):
    """Causality: the prediction after action t is the same whatever actions follow it."""
    obs, state = frames(1, 1), torch.randn(1, A)
    actions = torch.randn(1, 4, A)
    changed = actions.clone()
    changed[:, 2:] += 5.0
    before, after = world.imagine(obs, state, actions), world.imagine(obs, state, changed)
    torch.testing.assert_close(before[:, :2], after[:, :2], atol=1e-6, rtol=0)
    assert (before[:, 2:] - after[:, 2:]).abs().max() > 1e-3  # the later steps do depend on them


def test_plan_stays_in_the_l1_ball_and_is_seeded(world):
    obs, goal, state = frames(1, 1, 1)[0, :, 0], frames(1, 1, 2)[0, :, 0], torch.zeros(A)
    kwargs = dict(horizon=2, samples=12, iterations=3, top_k=4, radius=0.5, seed=7)
    first, result = world.plan(obs, state, goal, **kwargs)
    assert first.shape == (A,) and result.actions.shape == (2, A)
    assert torch.equal(first, result.actions[0])
    assert (result.actions.abs().sum(-1) <= 0.5 + 1e-6).all()
    again, _ = world.plan(obs, state, goal, **kwargs)
    assert torch.equal(first, again)
    imagined = world.imagine(obs[None, :, None], state[None], result.actions[None])[:, -1]
    expected = goal_energy(imagined, world.encode(goal[None, :, None])[:, -1])[0]
    torch.testing.assert_close(result.energy, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name, value, message", [
    ("horizon", 0, "horizon = 0"),
    ("samples", 3, "top_k = 4: must be <= samples = 3"),
    ("top_k", 0, "top_k = 0"),
    ("iterations", -1, "iterations = -1"),
    ("radius", 0.0, "radius = 0.0"),
    ("radius", -1.0, "radius = -1.0"),
    ("seed", -2, "seed = -2"),
])
def test_plan_rejects_bad_arguments_in_one_line(world, name, value, message):
    kwargs = dict(horizon=2, samples=8, iterations=2, top_k=4, radius=0.5, seed=0) | {name: value}
    obs = frames(1, 1)[0, :, 0]
    with pytest.raises(ConfigError) as info:
        world.plan(obs, torch.zeros(A), obs, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_imagine_rejects_bad_shapes_in_one_line(world):
    with pytest.raises(ConfigError, match=r"actions of shape \(1, 3, 5\)"):
        world.imagine(frames(1, 1), torch.zeros(1, A), torch.zeros(1, 3, A + 1))
    with pytest.raises(ConfigError, match="state of shape"):
        world.imagine(frames(1, 2), torch.zeros(1, A), torch.zeros(1, 3, A))
