"""Which labels of the embedded dataset can a frozen attentive probe read from an encoder, against random init?

A diagnostic for the motion investigation (docs/experiment.md). Besides the dataset's two tasks (``turn``: the
relational motion label of the demo table; ``appearance``), it probes labels a *single* tubelet reveals, to tell
"the features carry no motion" from "the probe cannot relate time steps":

* ``direction``: quadrant of the object's initial direction (4 classes), from its first displacement;
* ``speed``: object speed above the median of its range (2 classes).

The official probe recipe (20 epochs) on cached features of ``--train`` / ``--val`` clips, as the demo table. A
random-init encoder of the same architecture (seed 0, as the demo) is always probed alongside.

    python benchmarks/motion_diagnostics.py runs/cpu_demo/checkpoints/latest.pt [--key encoder] \
        [--train 1024] [--val 256]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset

from vjepa.core.errors import VjepaError
from vjepa.data.synthetic import VAL_OFFSET, render_clip
from vjepa.data.transforms import EvalVideoTransform
from vjepa.eval.checkpoints import load_frozen_encoder
from vjepa.eval.features import extract_features
from vjepa.eval.probe_train import ProbeRecipe, train_attentive_probe
from vjepa.models.encoder import VideoEncoder

LABELS = {"turn": 4, "direction": 4, "speed": 2, "appearance": 4}
MEDIAN_SPEED = 2.75  # px / frame at 64 px: the renderer draws speeds uniformly in [2, 3.5]


class _Clips(Dataset):
    def __init__(self, clips: list[torch.Tensor]) -> None:
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        return {"clips": [[self.clips[i]]], "label": 0}  # 1 segment x 1 view


def render(indices: range, size: int) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """Eval-transformed clips and every label of items ``indices`` of the shipped dataset (seed 0, 4 classes)."""
    transform = EvalVideoTransform(size, num_views=1)
    clips, labels = [], {name: [] for name in LABELS}
    for i in indices:
        item = render_clip(0, i, num_frames=16, size=size, num_classes=4)
        clips.append(transform(item["video"])[0])
        step = torch.remainder(item["trajectory"][1] - item["trajectory"][0] + size / 2, size) - size / 2  # (2,)
        angle = math.atan2(-float(step[1]), float(step[0])) % (2 * math.pi)  # counter-clockwise on screen
        labels["turn"].append(item["motion"])
        labels["direction"].append(int(angle // (math.pi / 2)))
        labels["speed"].append(int(float(step.norm()) > MEDIAN_SPEED * size / 64))
        labels["appearance"].append(item["appearance"])
    return clips, {name: torch.tensor(v) for name, v in labels.items()}


def probe_all(encoder: VideoEncoder, train: tuple, val: tuple) -> dict[str, tuple[float, float]]:
    """Label -> (val top-1, last-epoch train accuracy), from one feature extraction per split."""
    feats = [extract_features(encoder, DataLoader(_Clips(clips), batch_size=16), progress=False)
             for clips, _ in (train, val)]
    out = {}
    for name, classes in LABELS.items():
        result = train_attentive_probe(feats[0].with_labels(train[1][name]), feats[1].with_labels(val[1][name]),
                                       classes, ProbeRecipe(epochs=20), progress=False)
        out[name] = (result.metrics["top1"], result.history[-1]["train_acc"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="export folder, training checkpoint (.pt) or official .pth.tar")
    parser.add_argument("--key", default="target_encoder", help="target_encoder (default) or encoder (online)")
    parser.add_argument("--train", type=int, default=1024)
    parser.add_argument("--val", type=int, default=256)
    parser.add_argument("--size", type=int, default=64, help="frame side of the rendered clips")
    args = parser.parse_args(argv)
    try:
        pretrained = load_frozen_encoder(args.checkpoint, key=args.key).eval()
    except VjepaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        random_init = VideoEncoder(pretrained.cfg).eval()
    start = time.perf_counter()
    train, val = render(range(args.train), args.size), render(range(VAL_OFFSET, VAL_OFFSET + args.val), args.size)
    rows = {"random init": probe_all(random_init, train, val), f"{args.checkpoint} ({args.key})":
            probe_all(pretrained, train, val)}
    print(f"frozen attentive probe, {args.train} train / {args.val} val clips, val top-1 % (train %)")
    print("| encoder | " + " | ".join(LABELS) + " |\n|---|" + "---:|" * len(LABELS))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.1f} ({t:.0f})" for v, t in cells.values()) + " |")
    chance = [100.0 / c for c in LABELS.values()]
    print("| (chance) | " + " | ".join(f"{c:.1f}" for c in chance) + " |")
    print(f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
