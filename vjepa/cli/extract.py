"""The ``vjepa extract`` sub-command: argument parsing only (the work is in :mod:`vjepa.tools.extract`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vjepa.core.errors import ConfigError
from vjepa.tools.extract import STORAGE, run_extract


def parse_layers(text: str | None) -> list[int] | None:
    """``--layers 11,23`` -> [11, 23]; None when the flag is not given."""
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise ConfigError(f"--layers {text!r}: give comma-separated block indices, e.g. -1 or 11,23") from None


def _cmd_extract(args: argparse.Namespace) -> int:
    layers = parse_layers(args.layers)
    result = run_extract(
        args.inputs, args.checkpoint, args.out, arch=args.arch, key=args.key, probe=args.probe,
        pretrain_frames=args.pretrain_frames, pretrain_img_size=args.pretrain_img_size, storage=args.storage,
        progress=not args.no_progress, device=args.device, pool=args.pool, layers=layers, window=args.window,
        stride=args.stride, fps=args.fps, size=args.size, resize=args.resize, batch_size=args.batch_size,
        dtype=args.dtype)
    print(f"{result['extracted']} extracted, {result['already_done']} already in {result['out']}, "
          f"{len(result['failed'])} unreadable")
    for reason in result["failed"].values():
        print(f"  unreadable: {reason}", file=sys.stderr)
    return 1 if result["failed"] else 0


def add_extract_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``extract`` on a ``parser.add_subparsers()`` object; returns the sub-parser."""
    p = subparsers.add_parser(
        "extract", help="embed videos, images, folders or CSV lists into one safetensors file (resumable)",
        description="Embeddings of every input video with a frozen encoder, in sliding windows. Entries are named by "
                    "the file's path (relative to its folder or CSV); see docs/features.md.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video/image files, folders, or CSV lists")
    p.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="export folder, training checkpoint, official .pth.tar (with --arch) or Hugging Face folder")
    p.add_argument("--out", required=True, help="FILE.safetensors, or a folder for one .npy per video")
    p.add_argument("--arch", help="size of an official checkpoint (vit_large, vjepa2_vit_large, ...)")
    p.add_argument("--key", default="target_encoder", choices=("target_encoder", "encoder"))
    p.add_argument("--probe", help="attentive probe for --pool attentive (vjepa eval probe/ or official .pth.tar)")
    p.add_argument("--pretrain-frames", type=int, default=16, help="official V-JEPA 1 files: pretraining frames")
    p.add_argument("--pretrain-img-size", type=int, default=224, help="official V-JEPA 1 files: pretraining size")
    p.add_argument("--window", type=int, help="frames per window (default: the model's pretraining frames)")
    p.add_argument("--stride", type=int, help="frames between window starts (default: the window, no overlap)")
    p.add_argument("--pool", default="mean", choices=("mean", "attentive", "none"))
    p.add_argument("--layers", help="comma-separated block indices (default: the encoder output)")
    p.add_argument("--fps", type=float, help="resample videos to this frame rate first")
    p.add_argument("--size", type=int, help="pixel size (default: the model's)")
    p.add_argument("--resize", default="crop", choices=("crop", "full"),
                   help="crop: official centre crop; full: whole frame, non-square grid")
    p.add_argument("--batch-size", type=int, default=4, help="windows per forward pass")
    p.add_argument("--storage", default="float32", choices=sorted(STORAGE), help="stored precision")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"))
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_extract)
    return p
