"""The embedded action world: a 2-D arena where an action-conditioned world model can be trained and its planning
measured on a CPU, shipped as code (no download).

* Arena: the unit square seen from above; positions are in arena units, (0, 0) the top-left corner, x to the
  right, y down. Rendered to ``size`` x ``size`` RGB frames on a plain dark background.
* Agent: a red disc of radius ``agent_radius`` (0.125: 8 px at 64 px, one 16-px patch wide). Its centre stays in
  ``[agent_radius, 1 - agent_radius]`` so it is always whole on screen.
* Block (``with_block``): a larger blue disc the agent pushes. Collisions are between the two discs: after the
  agent moves, an overlapping block is pushed along the centre line until the discs touch, then kept inside the
  arena; if the wall stops it the agent is pushed back instead. Good enough to be learnable, not a physics engine.
* State: ``(agent x, agent y[, block x, block y])`` zero-padded to ``state_dim`` (the model's action_dim).
* Action: a displacement ``(dx, dy)`` of the agent, zero-padded to ``state_dim`` (the padding is ignored); steps
  whose first two components have an L1 norm above ``max_step`` are scaled down onto the ball, so the true
  dynamics are ``agent += action`` away from the walls: what ``WorldModel``'s default ``state_update`` assumes.
  ``max_step`` 0.1 moves the agent up to 6.4 px per step at 64 px.
* Exploration: smoothed random actions (an AR(1) velocity on the L1 ball, reflected off the walls), for training
  episodes.
* Goal tasks: a random start and the state an exploration rollout of ``goal_steps`` steps reaches from it (so
  every goal is reachable), redrawn until the agent lies at least ``min_goal_distance`` away.

Everything is batched in torch (states ``(..., A)``) and deterministic: episodes and tasks are pure functions of
(seed, index), drawn from :func:`vjepa.core.rng.keyed_generator` streams.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vjepa.core.errors import ConfigError
from vjepa.core.rng import keyed_generator

EPISODE_TAG = 0xA3E1D  # keyed streams of training episodes
TASK_TAG = 0xA3E7A  # keyed streams of goal tasks, apart from the episodes
BACKGROUND = (36, 38, 46)
AGENT_COLOUR = (235, 64, 52)
BLOCK_COLOUR = (60, 120, 235)
MAX_GOAL_TRIES = 100


@dataclass(frozen=True)
class ActionWorld:
    size: int = 64
    """Frame side in pixels."""
    state_dim: int = 2
    """Width of states and actions (>= 2, >= 4 with the block); extra channels are zeros."""
    max_step: float = 0.1
    """Largest L1 norm of one step's (dx, dy), in arena units."""
    agent_radius: float = 0.125
    with_block: bool = False
    block_radius: float = 0.16
    momentum: float = 0.8
    """Of the exploration policy's velocity: higher gives straighter, longer strokes."""

    def check(self) -> None:
        """One-line ConfigError naming the first setting out of range."""
        if self.size < 16:
            raise ConfigError(f"size = {self.size}: frames need at least 16 px")
        need = 4 if self.with_block else 2
        if self.state_dim < need:
            raise ConfigError(f"state_dim = {self.state_dim}: the world's state needs at least {need} values")
        if not 0 < self.max_step <= 0.5:
            raise ConfigError(f"max_step = {self.max_step}: must be in (0, 0.5] arena units")
        if not 0 < self.agent_radius < 0.25 or not 0 < self.block_radius < 0.25:
            raise ConfigError("agent_radius and block_radius must be in (0, 0.25) arena units")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum = {self.momentum}: must be in [0, 1)")

    # --- dynamics -------------------------------------------------------------------------------------------

    def bound_action(self, action: torch.Tensor) -> torch.Tensor:
        """(..., A) -> (..., 2): the displacement, scaled onto the L1 ball of ``max_step`` when outside it."""
        move = action[..., :2]
        norm = move.abs().sum(-1, keepdim=True)
        return move * (self.max_step / norm.clamp(min=self.max_step))

    def step(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """The true simulator: (..., A) state and action -> (..., A) next state."""
        lo, hi = self.agent_radius, 1.0 - self.agent_radius
        agent = (state[..., :2] + self.bound_action(action)).clamp(lo, hi)
        nxt = state.clone()
        if self.with_block:
            block = state[..., 2:4]
            touch = self.agent_radius + self.block_radius
            offset = block - agent
            dist = offset.norm(dim=-1, keepdim=True)
            direction = offset / dist.clamp(min=1e-6)
            pushed = torch.where(dist < touch, agent + direction * touch, block)
            block = pushed.clamp(self.block_radius, 1.0 - self.block_radius)
            offset = agent - block  # the wall may have stopped the block: push the agent back to touching
            dist = offset.norm(dim=-1, keepdim=True)
            back = block + offset / dist.clamp(min=1e-6) * touch
            agent = torch.where(dist < touch - 1e-6, back, agent).clamp(lo, hi)
            nxt[..., 2:4] = block
        nxt[..., :2] = agent
        return nxt

    def rollout(self, state: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(..., A) state and (..., K, A) actions -> (..., K, A) the states after each action."""
        states = []
        for k in range(actions.shape[-2]):
            state = self.step(state, actions[..., k, :])
            states.append(state)
        return torch.stack(states, dim=-2)

    def agent_distance(self, state: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """(..., A), (..., A) -> (...): Euclidean distance between the agents, in arena units."""
        return (state[..., :2] - goal[..., :2]).norm(dim=-1)

    # --- rendering ------------------------------------------------------------------------------------------

    def render(self, state: torch.Tensor) -> torch.Tensor:
        """(..., A) states -> (..., size, size, 3) uint8 frames; discs with a one-pixel soft edge, so sub-pixel
        moves still change the image."""
        lead = state.shape[:-1]
        flat = state.reshape(-1, state.shape[-1]).float()  # (N, A)
        centres = (torch.arange(self.size, dtype=torch.float32) + 0.5) / self.size  # pixel centres (S,)
        image = torch.tensor(BACKGROUND, dtype=torch.float32)[:, None, None, None].expand(3, flat.shape[0],
                                                                                           self.size, self.size)
        discs = [(flat[:, 2:4], self.block_radius, BLOCK_COLOUR)] if self.with_block else []
        discs.append((flat[:, :2], self.agent_radius, AGENT_COLOUR))  # the agent on top
        for centre, radius, colour in discs:
            dx = centres[None, None, :] - centre[:, 0, None, None]  # (N, 1, S)
            dy = centres[None, :, None] - centre[:, 1, None, None]  # (N, S, 1)
            dist_px = (dx * dx + dy * dy).sqrt() * self.size  # (N, S, S)
            alpha = (radius * self.size - dist_px + 0.5).clamp(0.0, 1.0)
            image = torch.lerp(image, torch.tensor(colour, dtype=torch.float32)[:, None, None, None], alpha)
        frames = (image + 0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 3, 0)  # (N, S, S, 3)
        return frames.reshape(*lead, self.size, self.size, 3)

    # --- random states, exploration and goals ---------------------------------------------------------------

    def random_state(self, generator: torch.Generator) -> torch.Tensor:
        """(A,) a uniformly random state (the block, if any, not overlapping the agent)."""
        state = torch.zeros(self.state_dim)
        lo, hi = self.agent_radius, 1.0 - self.agent_radius
        state[:2] = lo + (hi - lo) * torch.rand(2, generator=generator)
        if self.with_block:
            touch = self.agent_radius + self.block_radius
            for _ in range(MAX_GOAL_TRIES):  # rejection sampling; the arena is mostly free space
                block = self.block_radius + (1 - 2 * self.block_radius) * torch.rand(2, generator=generator)
                if (block - state[:2]).norm() >= touch:
                    break
            state[2:4] = block
        return state

    def explore(self, state: torch.Tensor, steps: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Smoothed random actions from ``state`` (A,): returns states (steps + 1, A) and actions (steps, A)."""
        noise = torch.randn(steps, 2, generator=generator)
        velocity = torch.zeros(2)
        states, actions = [state], []
        lo, hi = self.agent_radius, 1.0 - self.agent_radius
        for t in range(steps):
            velocity = self.momentum * velocity + (1 - self.momentum) * noise[t] * (2.0 * self.max_step)
            # Reflect off the walls, so the agent does not stay pinned against one.
            ahead = states[-1][:2] + velocity
            velocity = torch.where((ahead < lo) | (ahead > hi), -velocity, velocity)
            action = torch.zeros(self.state_dim)
            action[:2] = self.bound_action(velocity)
            actions.append(action)
            states.append(self.step(states[-1], action))
        return torch.stack(states), torch.stack(actions).reshape(steps, self.state_dim)

    def episode(self, seed: int, index: int, num_frames: int) -> dict[str, torch.Tensor]:
        """Training episode ``index``: ``frames`` uint8 (T, S, S, 3), ``states`` (T, A), ``actions`` (T-1, A)."""
        self.check()
        if num_frames < 2:
            raise ConfigError(f"num_frames = {num_frames}: an episode needs at least 2 frames")
        generator = keyed_generator(EPISODE_TAG, seed, index)
        states, actions = self.explore(self.random_state(generator), num_frames - 1, generator)
        return {"frames": self.render(states), "states": states, "actions": actions}

    def goal_task(self, seed: int, index: int, goal_steps: int = 6, min_goal_distance: float = 0.25
                  ) -> dict[str, torch.Tensor]:
        """Goal task ``index``: ``start`` and ``goal`` states (A,) and ``goal_frame`` uint8 (S, S, 3). The goal is
        where ``goal_steps`` exploration steps lead, at least ``min_goal_distance`` from the start's agent."""
        self.check()
        if goal_steps < 1:
            raise ConfigError(f"goal_steps = {goal_steps}: a goal needs at least 1 step")
        if goal_steps * self.max_step < min_goal_distance:
            raise ConfigError(f"goal_steps = {goal_steps} steps of at most {self.max_step} cannot reach "
                              f"min_goal_distance = {min_goal_distance}")
        generator = keyed_generator(TASK_TAG, seed, index)
        best = None
        for _ in range(MAX_GOAL_TRIES):
            start = self.random_state(generator)
            goal = self.explore(start, goal_steps, generator)[0][-1]
            distance = float(self.agent_distance(start, goal))
            if best is None or distance > best[0]:
                best = (distance, start, goal)
            if distance >= min_goal_distance:
                break
        _, start, goal = best  # the farthest drawn if none reached the distance (a rare, short task)
        return {"start": start, "goal": goal, "goal_frame": self.render(goal)}
