"""Can the frozen attentive probe read the embedded dataset's *turn* label from ideal features?

A control for the motion task (docs/experiment.md): instead of an encoder's tokens, every token of a clip gets an
"oracle" feature -- a fixed random linear code of (the motion direction at its time step as cos/sin, a constant,
a one-hot of the time step) -- optionally plus Gaussian noise. The turn labels follow the dataset's law: uniform
initial direction, turn of 0 / +90 / -90 / 180 degrees at a uniformly drawn temporal token in the middle half of
the clip. If the official probe recipe reaches high accuracy here with the demo's number of clips, the probe is not
what keeps the encoders at chance on motion: their features are.

    python benchmarks/probe_oracle.py [--train 1024] [--val 256] [--noise 0.0 0.5 1.0]
"""

from __future__ import annotations

import argparse
import math

import torch

from vjepa.eval.features import FeatureSet
from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe

DIM, TIME_TOKENS, SPATIAL_TOKENS, HEADS = 192, 8, 16, 3  # the cpu_demo encoder's width, heads and token grid
TURNS = (0.0, math.pi / 2, -math.pi / 2, math.pi)  # straight, left, right, reverse


def oracle_features(num_clips: int, noise: float, code: torch.Tensor, seed: int) -> FeatureSet:
    """``num_clips`` clips of oracle tokens ``[num_clips, T·S, DIM]`` with balanced turn labels."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_clips) % len(TURNS)
    first = 2 * math.pi * torch.rand(num_clips, generator=g)
    turn_token = 2 + torch.randint(0, 4, (num_clips,), generator=g)  # tokens 2..5 of 8: the middle half
    t = torch.arange(TIME_TOKENS)[None, :]
    angle = first[:, None] + torch.tensor(TURNS)[labels][:, None] * (t >= turn_token[:, None])  # (n, T)
    motion = torch.stack([angle.cos(), angle.sin(), torch.ones_like(angle)], dim=-1)  # (n, T, 3)
    when = torch.eye(TIME_TOKENS).expand(num_clips, -1, -1)  # (n, T, T)
    tokens = torch.cat([motion, when], dim=-1) @ code  # (n, T, DIM)
    tokens = tokens[:, :, None, :].expand(-1, -1, SPATIAL_TOKENS, -1).reshape(num_clips, -1, DIM)
    tokens = tokens + noise * torch.randn(tokens.shape, generator=g)
    return FeatureSet([tokens.contiguous()], labels, {"num_heads": HEADS})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=1024)
    parser.add_argument("--val", type=int, default=256)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    args = parser.parse_args()
    code = torch.randn(3 + TIME_TOKENS, DIM, generator=torch.Generator().manual_seed(0)) / 2
    for noise in args.noise:
        train = oracle_features(args.train, noise, code, seed=1)
        val = oracle_features(args.val, noise, code, seed=2)
        result = train_attentive_probe(train, val, len(TURNS), ProbeRecipe(epochs=20), progress=False)
        print(f"oracle turn features, noise {noise:.2f}, {args.train} train clips: "
              f"val top-1 {result.metrics['top1']:.1f} %, train {result.history[-1]['train_acc']:.1f} %")


if __name__ == "__main__":
    main()
