"""The ``vjepa experiment motion-probes`` and ``motion-supervised`` sub-commands: argument parsing only (the work
is in :mod:`vjepa.experiment.motion`)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from vjepa.experiment.motion import LR, SUPERVISED_LABELS, motion_probes, motion_supervised, probe_table


def _cmd_probes(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    rows = motion_probes(args.checkpoint, key=args.key, train=args.train, val=args.val, size=args.size)
    print(probe_table(rows, args.train, args.val))
    print(f"{time.perf_counter() - start:.0f} s")
    return 0


def _cmd_supervised(args: argparse.Namespace) -> int:
    motion_supervised(args.label, steps=args.steps, checkpoint=args.checkpoint, eval_every=args.eval_every,
                      val=args.val, lr=args.lr, report=lambda line: print(line, flush=True))
    return 0


def add_motion_parsers(experiment_subparsers: Any) -> None:
    """Register ``motion-probes`` and ``motion-supervised`` on the ``experiment`` sub-commands."""
    p = experiment_subparsers.add_parser(
        "motion-probes", help="frozen probes of motion and appearance labels: an encoder against random init",
        description="Which labels of the embedded dataset can a frozen attentive probe read from an encoder, "
                    "against a random-init encoder of the same architecture? Labels: turn (relational motion), "
                    "direction (initial direction quadrant) and speed (single-tubelet motion), appearance. "
                    "Official probe recipe, 20 epochs; prints a Markdown table (docs/experiment.md).")
    p.add_argument("checkpoint", metavar="CKPT", help="export folder, training checkpoint (.pt) or official .pth.tar")
    p.add_argument("--key", default="target_encoder", help="target_encoder (default) or encoder (online)")
    p.add_argument("--train", type=int, default=1024, help="training clips (default 1024)")
    p.add_argument("--val", type=int, default=256, help="validation clips (default 256)")
    p.add_argument("--size", type=int, default=64, help="frame side of the rendered clips (default 64)")
    p.set_defaults(func=_cmd_probes)

    p = experiment_subparsers.add_parser(
        "motion-supervised", help="supervised control: the demo architecture trained on fresh labelled clips",
        description="Is a label of the embedded dataset learnable end to end by the demo's architecture with "
                    "unlimited data? The demo encoder (from scratch or a checkpoint) plus an attentive head is "
                    "trained on fresh clips every step and scored on held-out clips. AdamW (weight decay 0.05), 50 "
                    "warmup steps then cosine, clipping at 1.0, bf16 autocast, batch 32 (docs/experiment.md).")
    p.add_argument("--label", choices=SUPERVISED_LABELS, default="turn",
                   help="turn (relational, default) or direction (positive control, one tubelet shows it)")
    p.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
    p.add_argument("--checkpoint", default="none", help="'none' (from scratch) or a checkpoint to start from")
    p.add_argument("--eval-every", type=int, default=100, help="steps between evaluations (default 100)")
    p.add_argument("--val", type=int, default=256, help="held-out clips")
    p.add_argument("--lr", type=float, default=LR, help="peak learning rate")
    p.set_defaults(func=_cmd_supervised)
