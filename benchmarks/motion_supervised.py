"""Is a label of the embedded dataset learnable end to end by the demo's architecture, with unlimited data?

A control for the motion investigation (docs/experiment.md): the demo encoder (from scratch, or from a checkpoint)
plus an attentive head is trained with labels on *fresh* clips every step (item indices never repeat, so there is
no over-fitting to a small training set), then scored on held-out clips (256 by default). ``--label direction`` (the initial
direction quadrant, readable from one tubelet) is the positive control; ``--label turn`` is the demo's relational
motion label. Recipe: AdamW (peak lr ``--lr``, 5e-4 by default; weight decay 0.05), 50 warmup steps then cosine, clipping at 1.0, bf16
autocast, batch 32.

    python benchmarks/motion_supervised.py --label turn [--steps 600] [--checkpoint none]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F
from motion_diagnostics import LABELS, render  # the sibling script (benchmarks/ is on sys.path)

from vjepa.core.errors import VjepaError
from vjepa.data.synthetic import VAL_OFFSET
from vjepa.eval.checkpoints import load_frozen_encoder
from vjepa.finetune.model import FinetuneModel, build_head

BATCH, WARMUP, LR = 32, 50, 5e-4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", choices=["turn", "direction"], default="turn")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--checkpoint", default="none", help="'none' (from scratch) or a checkpoint to start from")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--val", type=int, default=256, help="held-out clips")
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate")
    args = parser.parse_args(argv)
    try:  # 'none': the cpu_demo architecture, seeded
        encoder = load_frozen_encoder(args.checkpoint, arch="custom", embed_dim=192, depth=6, num_heads=3,
                                      num_frames=16, img_size=64)
    except VjepaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    model = FinetuneModel(encoder, build_head("attentive", encoder, LABELS[args.label]), drop_path=0.0).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    val_clips, val_labels = render(range(VAL_OFFSET, VAL_OFFSET + args.val), 64)
    val_x, val_y = torch.stack(val_clips), val_labels[args.label]
    start, running = time.perf_counter(), None
    for k in range(args.steps):
        lr = args.lr * min(1.0, (k + 1) / WARMUP) * 0.5 * (1.0 + math.cos(math.pi * k / args.steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        clips, labels = render(range(k * BATCH, (k + 1) * BATCH), 64)  # fresh items every step
        with torch.autocast("cpu", torch.bfloat16):
            logits = model(torch.stack(clips))
        loss = F.cross_entropy(logits.float(), labels[args.label])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = loss.item()
        running = value if running is None else 0.95 * running + 0.05 * value
        if (k + 1) % args.eval_every == 0 or k + 1 == args.steps:
            model.eval()
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
                acc = 100.0 * (model(val_x).argmax(dim=1) == val_y).float().mean().item()
            model.train()
            print(f"step {k + 1}: {(k + 1) * BATCH} clips seen, train loss (EMA) {running:.3f} "
                  f"(chance ln {LABELS[args.label]} = {math.log(LABELS[args.label]):.3f}), val top-1 {acc:.1f} %, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
