"""The ``vjepa surprise`` sub-command: argument parsing only (the work is in :mod:`vjepa.surprise.run`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vjepa.core.errors import ConfigError


def context_lengths(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"--context-frames {text!r}: give comma-separated integers, e.g. 4,8") from None
    if not values:
        raise ConfigError(f"--context-frames {text!r}: give at least one context length, e.g. 4")
    return values


def _cmd_surprise(args: argparse.Namespace) -> int:
    from vjepa.surprise.run import surprise_quads, surprise_videos
    from vjepa.surprise.score import SurpriseSettings
    from vjepa.weights.predictive import load_predictive

    if bool(args.inputs) == bool(args.quads):
        raise ConfigError("give videos (files, folders or CSV lists) or --quads FILE.csv, not both and not neither")
    settings = SurpriseSettings(frame_step=args.frame_step, window=args.window, stride=args.stride,
                                context_frames=context_lengths(args.context_frames), batch_size=args.batch_size)
    model = load_predictive(args.checkpoint, arch=args.arch, num_frames=args.pretrain_frames,
                            img_size=args.pretrain_img_size, seed=args.seed, embed_dim=args.embed_dim,
                            depth=args.depth, num_heads=args.num_heads)
    describe = {"checkpoint": str(args.checkpoint), "arch": args.arch, "loaded_as": model.kind,
                "mask_index": model.mask_index}
    common = dict(device=args.device, dtype=args.dtype, progress=not args.no_progress, describe=describe)
    if args.quads:
        _, table = surprise_quads(args.quads, model, args.out, settings, label=Path(args.checkpoint).name, **common)
        print(table)
        print(f"outputs in {args.out}: metrics.json, voe.png")
        return 0
    summary = surprise_videos(args.inputs, model, args.out, settings, **common)
    for entry in summary["videos"]:
        means = ", ".join(f"context {c}: mean {s['mean']:.4f} max {s['max']:.4f}" for c, s in entry["series"].items())
        print(f"{entry['path']}: {means}")
    skipped = f", skipped.txt ({len(summary['skipped'])} skipped)" if summary["skipped"] else ""
    print(f"outputs in {args.out}: surprise.csv, surprise.json, plots/{skipped}")
    return 0


def add_surprise_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``surprise`` on a ``parser.add_subparsers()`` object; returns the sub-parser."""
    p = subparsers.add_parser(
        "surprise", help="how surprised a model is along videos, or violation-of-expectation accuracy",
        description="Surprise (Garrido et al. 2025): in windows sliding along each video, the encoder sees the "
                    "first frames and the predictor predicts the features of the rest; the surprise is the L1 error "
                    "against the target encoder's features. With --quads, accuracy on possible / impossible "
                    "movie quadruplets (docs/surprise.md).")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="video files, folders of videos or CSV lists")
    p.add_argument("--quads", metavar="FILE.csv", help="quadruplet CSV (property,possible_a,possible_b,"
                                                       "impossible_c,impossible_d,break_frame)")
    p.add_argument("--out", required=True, help="output folder")
    g = p.add_argument_group("model")
    g.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="training checkpoint (.pt), export folder with a predictor, official .pth.tar, Hugging Face "
                        "VJEPA2 folder, or 'none' (random init, with --arch)")
    g.add_argument("--arch", help="size of an official file or of 'none' (vit_large, ...; 'custom' with the sizes "
                                  "below)")
    g.add_argument("--embed-dim", type=int, help="width for --arch custom")
    g.add_argument("--depth", type=int, help="blocks for --arch custom")
    g.add_argument("--num-heads", type=int, help="heads for --arch custom")
    g.add_argument("--pretrain-frames", type=int, default=16, help="clip length of an official V-JEPA 1 file or "
                                                                   "of 'none' (default 16)")
    g.add_argument("--pretrain-img-size", type=int, default=224, help="resolution, likewise (default 224)")
    g.add_argument("--seed", type=int, default=0, help="initialisation seed of 'none' (default 0)")
    g = p.add_argument_group("windows (official recipe: frame step 2, stride 2)")
    g.add_argument("--frame-step", type=int, default=2, help="keep every N-th frame (default 2)")
    g.add_argument("--window", type=int, help="sampled frames per window (default: the encoder's frames)")
    g.add_argument("--stride", type=int, default=2, help="sampled frames between windows (default 2)")
    g.add_argument("--context-frames", metavar="C1,C2", help="context lengths in sampled frames, each a series "
                                                             "(default: half the window)")
    g.add_argument("--batch-size", type=int, default=32, help="windows per forward pass (default 32)")
    g = p.add_argument_group("run")
    g.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    g.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"))
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_surprise)
    return p
