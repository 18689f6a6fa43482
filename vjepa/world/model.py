"""A world model from a frozen V-JEPA 2 encoder and an action-conditioned predictor: encode observations, imagine
the embeddings an action sequence leads to, and plan actions towards a goal image (CEM, see planning.py).

Imagination feeds predictions back as the official rollout does (``app/vjepa_droid/train.py``): each step runs the
predictor over every frame so far (observed and imagined) with the actions and states of those steps, and keeps the
last frame's prediction. States after the observation come from ``state_update(state, action)``; the default adds
the action to the state, which is right for position and gripper deltas. The official DROID planner composes the
rotation part as rotation matrices instead: pass such a function for Euler-angle states.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from vjepa.core.errors import ConfigError
from vjepa.models.ac_predictor import ActionConditionedPredictor
from vjepa.models.encoder import VideoEncoder
from vjepa.world.objective import encode_frames, normalize
from vjepa.world.planning import CEMResult, CEMSettings, cem

StateUpdate = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(state (B, A), action (B, A)) -> next state (B, A)."""


def add_action(state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    return state + action


def goal_energy(predicted: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """Mean over tokens and channels of |z_pred - z_goal|: (S, N, D) and (1 or S, N, D) -> (S,)."""
    return (predicted - goal).abs().mean(dim=(1, 2))


class WorldModel(nn.Module):
    """Frozen encoder + action-conditioned predictor. Every method runs without gradients, in eval mode."""

    def __init__(self, encoder: VideoEncoder, predictor: ActionConditionedPredictor, normalize_reps: bool = True,
                 state_update: StateUpdate = add_action) -> None:
        super().__init__()
        if encoder.embed_dim != predictor.cfg.embed_dim:
            raise ConfigError(f"predictor embed_dim = {predictor.cfg.embed_dim}: must equal the encoder width "
                              f"{encoder.embed_dim}")
        self.encoder, self.predictor = encoder.eval(), predictor.eval()
        self.normalize_reps = normalize_reps
        self.state_update = state_update

    @property
    def tokens_per_frame(self) -> int:
        return self.predictor.cfg.tokens_per_frame

    @property
    def action_dim(self) -> int:
        return self.predictor.cfg.action_dim

    def _device(self) -> torch.device:
        return self.predictor.predictor_proj.weight.device

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) frames -> (B, T, H'W', D) per-frame embeddings (layer-normed when normalize_reps)."""
        if frames.dim() != 5:
            raise ConfigError(f"frames of shape {tuple(frames.shape)}: expected (B, C, T, H, W)")
        h = encode_frames(self.encoder, frames.to(self._device()))  # (B, T·H'W', D)
        h = normalize(h) if self.normalize_reps else h
        return h.unflatten(1, (frames.shape[2], self.tokens_per_frame))

    def _context_states(self, state: torch.Tensor, batch: int, frames: int) -> torch.Tensor:
        """(B, T0, A) states of the observed frames from (B, A) (one frame) or (B, T0, A)."""
        if state.dim() == 2 and frames == 1:
            state = state[:, None]
        if state.dim() != 3 or state.shape != (batch, frames, self.action_dim):
            raise ConfigError(f"state of shape {tuple(state.shape)}: expected ({batch}, {self.action_dim}) for one "
                              f"observed frame or ({batch}, {frames}, {self.action_dim})")
        return state

    @torch.no_grad()
    def rollout(self, context: torch.Tensor, states: torch.Tensor, actions: torch.Tensor,
                context_actions: torch.Tensor | None = None, extrinsics: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Imagine from embedded observations.

        Args:
            context: (B, T0, H'W', D) embeddings of the observed frames.
            states: (B, T0, A) states at the observed frames.
            actions: (B, K, A) actions from the last observed frame on.
            context_actions: (B, T0-1, A) actions between the observed frames (None when T0 = 1).
            extrinsics: (B, T0 + K - 1, A-1) camera extrinsics of every step, when the predictor uses them.

        Returns:
            (B, K, H'W', D): step k holds the predicted embedding of the frame after action k.
        """
        B, T0 = context.shape[:2]
        tpf = self.tokens_per_frame
        past = actions.new_zeros(B, 0, actions.shape[-1]) if context_actions is None else context_actions
        if past.shape[:2] != (B, T0 - 1):
            raise ConfigError(f"context_actions of shape {tuple(past.shape)}: {T0} observed frames need "
                              f"({B}, {T0 - 1}, {self.action_dim})")
        z = context.flatten(1, 2)  # (B, T0·H'W', D)
        predictions = []
        for k in range(actions.shape[1]):
            steps = T0 + k
            step_actions = torch.cat([past, actions[:, : k + 1]], dim=1)  # (B, steps, A)
            ext = None if extrinsics is None else extrinsics[:, :steps]
            nxt = self.predictor(z, step_actions, states, ext)[:, -tpf:]  # (B, H'W', D): the frame after action k
            nxt = normalize(nxt) if self.normalize_reps else nxt
            predictions.append(nxt)
            z = torch.cat([z, nxt], dim=1)
            states = torch.cat([states, self.state_update(states[:, -1], actions[:, k])[:, None]], dim=1)
        return torch.stack(predictions, dim=1)

    @torch.no_grad()
    def imagine(self, observation_frames: torch.Tensor, state: torch.Tensor, actions: torch.Tensor,
                context_actions: torch.Tensor | None = None, extrinsics: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Predicted embeddings of the rollout of ``actions`` from the observation.

        Args:
            observation_frames: (B, C, T0, H, W).
            state: (B, A) the state at the observed frame (T0 = 1), or (B, T0, A).
            actions: (B, K, A), K >= 1.

        Returns:
            (B, K, H'W', D).
        """
        B, _, T0 = observation_frames.shape[:3]
        if actions.dim() != 3 or actions.shape[0] != B or actions.shape[1] < 1 or actions.shape[2] != self.action_dim:
            raise ConfigError(f"actions of shape {tuple(actions.shape)}: expected ({B}, K >= 1, {self.action_dim})")
        device = self._device()
        states = self._context_states(state.to(device), B, T0)
        return self.rollout(self.encode(observation_frames), states, actions.to(device),
                            None if context_actions is None else context_actions.to(device),
                            None if extrinsics is None else extrinsics.to(device))

    @torch.no_grad()
    def plan(self, observation: torch.Tensor, state: torch.Tensor, goal_frame: torch.Tensor, horizon: int,
             samples: int = 300, iterations: int = 10, top_k: int = 30, radius: float = 0.075, seed: int = 0,
             init_std: float | None = None) -> tuple[torch.Tensor, CEMResult]:
        """Plan ``horizon`` actions that bring the imagined last frame's embedding closest (L1) to the goal's.

        Args:
            observation: (C, H, W) or (1, C, 1, H, W), the current frame.
            state: (A,) or (1, A), the current state.
            goal_frame: (C, H, W) or (1, C, 1, H, W).
            horizon, samples, iterations, top_k, radius, seed, init_std: CEM settings (see planning.py); every
                step's action lies in the L1 ball of ``radius``.

        Returns:
            (first action (A,), the CEM result with the planned sequence ``actions`` (horizon, A) and its energy).
        """
        settings = CEMSettings(horizon, samples, iterations, top_k, radius, init_std, seed)
        settings.check()
        observation = self._single_clip(observation, "observation")
        goal = self.encode(self._single_clip(goal_frame, "goal_frame"))[:, -1]  # (1, H'W', D)
        if observation.shape[2] > 1:
            raise ConfigError(f"observation with {observation.shape[2]} frames: plan() observes one frame")
        context = self.encode(observation)  # (1, 1, H'W', D)
        states = self._context_states(state.reshape(1, -1).to(self._device()), 1, 1)

        def energy(actions: torch.Tensor) -> torch.Tensor:  # (S, horizon, A) -> (S,)
            S = actions.shape[0]
            imagined = self.rollout(context.expand(S, -1, -1, -1), states.expand(S, -1, -1), actions)
            return goal_energy(imagined[:, -1], goal)

        result = cem(energy, self.action_dim, settings, device=self._device())
        return result.actions[0], result

    @staticmethod
    def _single_clip(x: torch.Tensor, name: str) -> torch.Tensor:
        """(C, H, W) or (1, C, T, H, W) -> (1, C, T, H, W)."""
        if x.dim() == 3:
            return x[None, :, None]
        if x.dim() != 5 or x.shape[0] != 1:
            raise ConfigError(f"{name} of shape {tuple(x.shape)}: expected (C, H, W) or (1, C, T, H, W)")
        return x
