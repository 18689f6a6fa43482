"""The planning harness on the action world: the three planners, determinism, the report, the GIF; and the sanity
check that a random-init frozen encoder's embedding distance is informative of position here (the perfect-model
planner reaches goals that random actions do not)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vjepa.data.action_world import ActionWorld
from vjepa.models.ac_predictor import ACPredictorConfig, ActionConditionedPredictor
from vjepa.models.registry import create_encoder
from vjepa.world.evaluate import (
    evaluate_planner,
    evaluate_planners,
    goal_tasks,
    perfect_model_planner,
    random_planner,
    run_episode,
    world_model_planner,
    write_episode_gif,
)
from vjepa.world.model import WorldModel
from vjepa.world.planning import CEMSettings

WORLD = ActionWorld()  # 64 px frames, state (x, y), max_step 0.1
D = 32


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)  # random init, frozen: never trained
    return create_encoder("custom", embed_dim=D, depth=1, num_heads=2, patch_size=16, num_frames=2, img_size=64,
                          use_rope=True).eval()


def settings(**overrides) -> CEMSettings:
    values = dict(horizon=2, samples=32, iterations=3, top_k=6, radius=WORLD.max_step, seed=0) | overrides
    return CEMSettings(**values)


def test_random_actions_are_uniform_in_the_l1_ball_and_keyed():
    planner = random_planner(WORLD, radius=0.1, seed=1)
    task = goal_tasks(WORLD, 1)[0]
    actions = torch.stack([planner(None, task.start, task, step) for step in range(2000)])  # (2000, 2)
    norms = actions.abs().sum(-1)
    assert (norms <= 0.1 + 1e-6).all()
    assert norms.mean().item() == pytest.approx(0.1 * 2 / 3, abs=0.005)  # E||a||_1 = r A / (A + 1), uniform
    assert (actions > 0).float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert torch.equal(planner(None, task.start, task, 7), actions[7])


def test_perfect_model_beats_random_actions_with_a_random_init_encoder(encoder):
    """Measured with 16 tasks, 10 steps, CEM 48 samples x 3 iterations, horizon 2, patch 16: perfect model 88 %
    success (final distance 0.087 from 0.305), random actions 0 % (0.309); here a smaller, faster set."""
    tasks = goal_tasks(WORLD, 4, seed=0)
    reports = evaluate_planners(WORLD, {"perfect": perfect_model_planner(WORLD, encoder, settings()),
                                        "random": random_planner(WORLD, WORLD.max_step)},
                                tasks, max_steps=8, threshold=0.1)
    perfect, rand = reports["perfect"], reports["random"]
    assert perfect.mean_start_distance == rand.mean_start_distance >= 0.25
    assert perfect.success_rate >= 0.75 and rand.success_rate == 0.0
    assert perfect.mean_final_distance < 0.5 * rand.mean_final_distance
    assert "perfect: success" in perfect.line("perfect")


def test_episodes_are_deterministic_and_follow_the_true_simulator(encoder):
    task = goal_tasks(WORLD, 2, seed=4)[1]
    planner = perfect_model_planner(WORLD, encoder, settings(samples=8, iterations=2, top_k=2))
    a, b = (run_episode(WORLD, planner, task, max_steps=3, threshold=0.1) for _ in range(2))
    assert torch.equal(a.states, b.states) and a.states.shape == (4, 2) and a.actions.shape == (3, 2)
    torch.testing.assert_close(WORLD.rollout(task.start, a.actions), a.states[1:])
    assert (a.actions.abs().sum(-1) <= WORLD.max_step + 1e-6).all()
    assert a.final_distance == pytest.approx(float(WORLD.agent_distance(a.states[-1], task.goal)))


def test_the_learned_world_model_plans_through_the_harness(encoder):
    predictor = ActionConditionedPredictor(ACPredictorConfig(embed_dim=D, predictor_embed_dim=24, depth=1,
                                                             num_heads=2, action_dim=2, grid=(4, 4)))
    planner = world_model_planner(WorldModel(encoder, predictor), settings(samples=8, iterations=2, top_k=2))
    tasks = goal_tasks(WORLD, 2, seed=1)
    report, episodes = evaluate_planner(WORLD, planner, tasks, max_steps=2, threshold=0.1)
    again, _ = evaluate_planner(WORLD, planner, tasks, max_steps=2, threshold=0.1)
    assert report.final_distances == again.final_distances and len(report.final_distances) == 2
    assert all((e.actions.abs().sum(-1) <= WORLD.max_step + 1e-5).all() for e in episodes)
    assert 0.0 <= report.success_rate <= 1.0 and report.wall_s > 0


def test_a_planned_episode_is_written_as_a_gif_next_to_its_goal(tmp_path):
    task = goal_tasks(WORLD, 1)[0]
    episode = run_episode(WORLD, random_planner(WORLD, WORLD.max_step), task, max_steps=4, threshold=0.1)
    path = write_episode_gif(tmp_path / "plans" / "task0.gif", WORLD, episode, scale=2)
    assert sorted(p.name for p in path.parent.iterdir()) == ["task0.gif"]
    with Image.open(path) as gif:
        assert gif.n_frames == 5 and gif.size == (2 * (2 * 64 + 2), 2 * 64)
        gif.seek(4)
        right = np.asarray(gif.convert("RGB"))[::2, 66 * 2 :: 2]  # (64, 64, 3): past the frame and the gap
    assert np.abs(right.astype(int) - task.goal_frame.numpy().astype(int)).max() <= 8  # the goal image (GIF palette rounding)
