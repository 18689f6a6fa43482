"""Measure planning in the action world: receding-horizon control towards goal images, for any planner.

Each task gives a start state, a goal state and the goal's image. An episode runs ``max_steps`` times: the planner
sees the current frame and state (and the task's goal image) and returns an action; the true simulator executes
it. Success: the agent ends within ``threshold`` (arena units) of the goal's agent. Three planners:

* :func:`world_model_planner`: the learned world model (``WorldModel.plan``: CEM over ``horizon`` steps on
  imagined embeddings, the first action executed, then replanning).
* :func:`random_planner`: an action drawn uniformly from the L1 ball of the same radius, every step.
* :func:`perfect_model_planner`: the same CEM and energy, but the imagined embedding of a candidate sequence is the
  frozen encoder's embedding of the frame the *true* simulator renders at its end: the best any world model on this
  encoder can do, so it measures whether the encoder's embedding distance tells positions apart.

Every CEM call and random draw is keyed by (seed, task index, step): results do not depend on call order.

Measured (one CPU thread, random-init frozen encoder: width 64, depth 2, 4 heads, RoPE, patch 16 on 64-px frames;
32 tasks of ``goal_tasks(seed=0)``, 10 steps, threshold 0.1; CEM horizon 2, 48 samples, 3 iterations, top 8,
radius = max_step 0.1): perfect model 84 % success, final distance 0.097 from 0.322 (19 s); random actions 0 %,
0.324. With the block (goals for the agent only, the block in the way): 62 %, 0.169 from 0.338 (30 s), against
0 %, 0.319. The L1 energy grows monotonically with the agent's distance up to about 0.28 (a bit over one agent
diameter) and is flat beyond, so the planner needs goals within a few steps' reach of its horizon. Patch 8 (16
tasks) lifts the perfect model from 88 % to 94 % at horizon 2 (69 % to 88 % at horizon 1), for four times the
tokens per frame in the predictor (18 vs 66 tokens a step): patch 16 is the default for CPU training.
Learnability: an AC predictor of width 96, depth 3 trained for 150 s on one thread with ``ac_objective`` (1 500
steps of 16 freshly rendered 4-frame exploration windows, AdamW 1e-3; L1 losses 0.127 -> 0.053) plans with 75 %
success (final distance 0.139) on the first 16 of those tasks, where the perfect model gets 88 % and random 0 %.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

import numpy as np
import torch

from vjepa.core.io import atomic_write
from vjepa.core.rng import keyed_generator
from vjepa.data.action_world import ActionWorld
from vjepa.data.trajectories import normalize_frames
from vjepa.models.encoder import VideoEncoder
from vjepa.world.model import WorldModel, goal_energy
from vjepa.world.objective import encode_frames, normalize
from vjepa.world.planning import CEMSettings, cem

PLAN_TAG = 0xE7A1  # keyed streams of the planners, apart from the world's
RANDOM_TAG = 0xE7A2


@dataclass(frozen=True)
class PlanningTask:
    index: int
    start: torch.Tensor
    """(A,) start state."""
    goal: torch.Tensor
    """(A,) goal state."""
    goal_frame: torch.Tensor
    """uint8 (S, S, 3) the goal's image."""


Planner = Callable[[torch.Tensor, torch.Tensor, PlanningTask, int], torch.Tensor]
"""(frame uint8 (S, S, 3), state (A,), task, step) -> action (A,)."""


def goal_tasks(world: ActionWorld, count: int, seed: int = 0, goal_steps: int = 6,
               min_goal_distance: float = 0.25) -> list[PlanningTask]:
    """``count`` reachable goal tasks of the world (see ``ActionWorld.goal_task``)."""
    tasks = [world.goal_task(seed, i, goal_steps, min_goal_distance) for i in range(count)]
    return [PlanningTask(i, t["start"], t["goal"], t["goal_frame"]) for i, t in enumerate(tasks)]


def step_seed(seed: int, task: PlanningTask, step: int) -> int:
    """A CEM seed that is a pure function of (seed, task, step)."""
    return keyed_generator(PLAN_TAG, seed, task.index, step).initial_seed()


@torch.no_grad()
def embed_frames(encoder: VideoEncoder, frames: torch.Tensor) -> torch.Tensor:
    """uint8 (N, S, S, 3) -> (N, H'W', D): each frame encoded alone and layer-normed, as ``WorldModel.encode``."""
    device = next(encoder.parameters()).device
    clips = normalize_frames(frames).unsqueeze(2).to(device)  # (N, 3, 1, S, S)
    return normalize(encode_frames(encoder, clips))


def world_model_planner(model: WorldModel, settings: CEMSettings) -> Planner:
    """Receding-horizon CEM on the learned world model's imagination."""
    def plan(frame: torch.Tensor, state: torch.Tensor, task: PlanningTask, step: int) -> torch.Tensor:
        first, _ = model.plan(normalize_frames(frame), state, normalize_frames(task.goal_frame), settings.horizon,
                              settings.samples, settings.iterations, settings.top_k, settings.radius,
                              step_seed(settings.seed, task, step), settings.init_std)
        return first.cpu()
    return plan


def perfect_model_planner(world: ActionWorld, encoder: VideoEncoder, settings: CEMSettings) -> Planner:
    """Receding-horizon CEM whose imagined embeddings are the encoder's embeddings of the true future frames."""
    encoder = encoder.eval()

    def plan(frame: torch.Tensor, state: torch.Tensor, task: PlanningTask, step: int) -> torch.Tensor:
        goal = embed_frames(encoder, task.goal_frame[None])  # (1, H'W', D)

        def energy(actions: torch.Tensor) -> torch.Tensor:  # (K, horizon, A) -> (K,)
            final = world.rollout(state.expand(actions.shape[0], -1), actions.cpu())[:, -1]  # (K, A)
            return goal_energy(embed_frames(encoder, world.render(final)), goal)

        result = cem(energy, world.state_dim, replace(settings, seed=step_seed(settings.seed, task, step)))
        return result.actions[0].cpu()
    return plan


def random_planner(world: ActionWorld, radius: float, seed: int = 0) -> Planner:
    """An action uniform in the L1 ball of ``radius`` (all ``state_dim`` channels), independent of the goal."""
    def plan(frame: torch.Tensor, state: torch.Tensor, task: PlanningTask, step: int) -> torch.Tensor:
        generator = keyed_generator(RANDOM_TAG, seed, task.index, step)
        A = world.state_dim
        # Uniform in the simplex {u >= 0, sum u <= 1}: A of A + 1 normalised exponentials; then random signs.
        spacing = -torch.rand(A + 1, generator=generator).log()
        magnitude = (spacing / spacing.sum())[:A]
        signs = torch.randint(0, 2, (A,), generator=generator) * 2 - 1
        return radius * magnitude * signs
    return plan


@dataclass
class PlannedEpisode:
    task: PlanningTask
    states: torch.Tensor
    """(max_steps + 1, A) states visited, start first."""
    actions: torch.Tensor
    """(max_steps, A) actions executed."""
    final_distance: float
    success: bool


def run_episode(world: ActionWorld, planner: Planner, task: PlanningTask, max_steps: int,
                threshold: float) -> PlannedEpisode:
    """Receding-horizon control: plan, execute the first action in the true simulator, observe, replan."""
    state, states, actions = task.start, [task.start], []
    for step in range(max_steps):
        action = planner(world.render(state), state, task, step).reshape(world.state_dim).float()
        state = world.step(state, action)
        states.append(state)
        actions.append(action)
    distance = float(world.agent_distance(state, task.goal))
    return PlannedEpisode(task, torch.stack(states), torch.stack(actions), distance, distance < threshold)


@dataclass
class PlanningReport:
    success_rate: float
    mean_final_distance: float
    mean_start_distance: float
    final_distances: list[float]
    wall_s: float

    def line(self, name: str) -> str:
        return (f"{name}: success {self.success_rate:.0%}, final distance {self.mean_final_distance:.3f} "
                f"(start {self.mean_start_distance:.3f}), {self.wall_s:.1f} s")


def evaluate_planner(world: ActionWorld, planner: Planner, tasks: list[PlanningTask], max_steps: int,
                     threshold: float) -> tuple[PlanningReport, list[PlannedEpisode]]:
    """Run every task; the report and the episodes."""
    begin = time.perf_counter()
    episodes = [run_episode(world, planner, task, max_steps, threshold) for task in tasks]
    distances = [e.final_distance for e in episodes]
    start = [float(world.agent_distance(t.start, t.goal)) for t in tasks]
    report = PlanningReport(sum(e.success for e in episodes) / len(episodes), float(np.mean(distances)),
                            float(np.mean(start)), distances, time.perf_counter() - begin)
    return report, episodes


def evaluate_planners(world: ActionWorld, planners: dict[str, Planner], tasks: list[PlanningTask], max_steps: int,
                      threshold: float) -> dict[str, PlanningReport]:
    """One report per named planner, on the same tasks."""
    return {name: evaluate_planner(world, planner, tasks, max_steps, threshold)[0]
            for name, planner in planners.items()}


def write_episode_gif(path: str | os.PathLike, world: ActionWorld, episode: PlannedEpisode, scale: int = 3,
                      frame_ms: int = 250) -> Path:
    """A GIF of the planned episode (left) next to its goal image (right), written atomically."""
    from PIL import Image

    frames = world.render(episode.states)  # (T, S, S, 3)
    goal = episode.task.goal_frame.expand_as(frames)
    gap = torch.full((frames.shape[0], frames.shape[1], 2, 3), 255, dtype=torch.uint8)
    strip = torch.cat([frames, gap, goal], dim=2).numpy()  # (T, S, 2S + 2, 3)
    images = [Image.fromarray(a).resize((a.shape[1] * scale, a.shape[0] * scale), Image.NEAREST) for a in strip]
    buffer = BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(buffer.getvalue()))
    return Path(path)
