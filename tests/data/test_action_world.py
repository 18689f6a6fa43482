"""The embedded action world: bounded actions, true dynamics, rendering, determinism, exploration and goals."""

from __future__ import annotations

import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.data.action_world import AGENT_COLOUR, BACKGROUND, BLOCK_COLOUR, ActionWorld


def test_step_adds_the_bounded_action_away_from_the_walls():
    world = ActionWorld(state_dim=3)
    state = torch.tensor([0.5, 0.5, 0.0])
    small = torch.tensor([0.03, -0.04, 7.0])  # the padding channel is ignored
    torch.testing.assert_close(world.step(state, small), torch.tensor([0.53, 0.46, 0.0]))
    big = torch.tensor([0.3, 0.1, 0.0])  # L1 0.4 > max_step 0.1: scaled onto the ball
    moved = world.step(state, big) - state
    torch.testing.assert_close(moved, torch.tensor([0.075, 0.025, 0.0]))


def test_walls_keep_the_agent_whole_on_screen():
    world = ActionWorld()
    state = torch.tensor([0.13, 0.86])
    for _ in range(5):
        state = world.step(state, torch.tensor([-0.1, 0.0]))
    assert state[0] == pytest.approx(world.agent_radius) and state[1] == pytest.approx(0.86)


def test_the_agent_pushes_the_block_and_the_wall_stops_both():
    world = ActionWorld(state_dim=4, with_block=True)
    touch = world.agent_radius + world.block_radius
    state = torch.tensor([0.3, 0.5, 0.3 + touch + 0.01, 0.5])
    after = world.step(state, torch.tensor([0.1, 0.0, 0.0, 0.0]))
    assert after[0] == pytest.approx(0.4) and after[2] == pytest.approx(0.4 + touch)  # pushed, touching
    for _ in range(10):
        after = world.step(after, torch.tensor([0.1, 0.0, 0.0, 0.0]))
    assert after[2] == pytest.approx(1 - world.block_radius)  # against the wall
    assert after[2] - after[0] == pytest.approx(touch, abs=1e-5)  # the agent stays outside the block


def test_render_draws_distinct_discs_on_a_plain_background():
    world = ActionWorld(state_dim=4, with_block=True)
    frame = world.render(torch.tensor([0.25, 0.25, 0.75, 0.75]))  # (64, 64, 3) uint8
    assert frame.shape == (64, 64, 3) and frame.dtype == torch.uint8
    assert frame[16, 16].tolist() == list(AGENT_COLOUR)  # the agent's centre pixel
    assert frame[48, 48].tolist() == list(BLOCK_COLOUR)
    assert frame[2, 60].tolist() == list(BACKGROUND)
    assert (frame == torch.tensor(AGENT_COLOUR, dtype=torch.uint8)).all(-1).sum() > 100  # r = 8 px: ~200 px
    batch = world.render(torch.rand(2, 3, 4))
    assert batch.shape == (2, 3, 64, 64, 3)


def test_a_sub_pixel_move_changes_the_frame():
    world = ActionWorld()
    a, b = world.render(torch.tensor([0.5, 0.5])), world.render(torch.tensor([0.505, 0.5]))
    assert (a != b).any()


def test_episodes_are_deterministic_bounded_and_consistent():
    world = ActionWorld(state_dim=4, with_block=True)
    ep = world.episode(seed=3, index=5, num_frames=12)
    assert ep["frames"].shape == (12, 64, 64, 3) and ep["states"].shape == (12, 4) and ep["actions"].shape == (11, 4)
    again = world.episode(seed=3, index=5, num_frames=12)
    assert all(torch.equal(ep[k], again[k]) for k in ep)
    assert not torch.equal(world.episode(3, 6, 12)["states"], ep["states"])
    assert (ep["actions"][:, :2].abs().sum(-1) <= world.max_step + 1e-6).all()
    torch.testing.assert_close(world.rollout(ep["states"][0], ep["actions"]), ep["states"][1:])
    torch.testing.assert_close(world.render(ep["states"]), ep["frames"])
    moved_px = (ep["states"][1:, :2] - ep["states"][:-1, :2]).norm(dim=-1) * world.size
    assert moved_px.mean() > 2.5  # several pixels a step: visible at patch 8 or 16


def test_goal_tasks_are_reachable_far_enough_and_seeded():
    world = ActionWorld()
    task = world.goal_task(seed=0, index=1, goal_steps=6, min_goal_distance=0.25)
    assert float(world.agent_distance(task["start"], task["goal"])) >= 0.25
    assert float(world.agent_distance(task["start"], task["goal"])) <= 6 * world.max_step + 1e-6
    torch.testing.assert_close(task["goal_frame"], world.render(task["goal"]))
    assert torch.equal(world.goal_task(0, 1)["goal"], task["goal"])


def test_settings_out_of_range_are_one_line_config_errors():
    for bad in (ActionWorld(state_dim=1), ActionWorld(with_block=True, state_dim=2), ActionWorld(size=8),
                ActionWorld(max_step=0.0), ActionWorld(momentum=1.0)):
        with pytest.raises(ConfigError) as info:
            bad.check()
        assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot reach"):
        ActionWorld().goal_task(0, 0, goal_steps=1, min_goal_distance=0.5)
    with pytest.raises(ConfigError, match="at least 1 step"):
        ActionWorld().goal_task(0, 0, goal_steps=0, min_goal_distance=0.0)
