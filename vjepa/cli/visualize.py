"""The ``vjepa visualize`` sub-command: argument parsing only (the work is in :mod:`vjepa.tools.visualize`)."""

from __future__ import annotations

import argparse
from typing import Any

from vjepa.tools.visualize import visualize_masks, visualize_pca


def _cmd_visualize(args: argparse.Namespace) -> int:
    if args.kind == "masks":
        size = visualize_masks(args.video, args.out, frames=args.frames or 16, frame_step=args.frame_step,
                               size=args.size or 224, patch_size=args.patch_size, tubelet_size=args.tubelet_size,
                               seed=args.seed, start=args.start)
    else:
        size = visualize_pca(args.video, args.out, args.checkpoint, frames=args.frames, frame_step=args.frame_step,
                             size=args.size, start=args.start, arch=args.arch, key=args.key,
                             num_frames=args.pretrain_frames, img_size=args.pretrain_img_size)
    print(f"wrote {args.out} ({size[0]}x{size[1]})")
    return 0


def add_visualize_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``visualize`` on a ``parser.add_subparsers()`` object; returns the sub-parser."""
    p = subparsers.add_parser("visualize", help="mask previews and PCA feature maps of a real clip (PNG or GIF)")
    kinds = p.add_subparsers(dest="kind", required=True)
    for kind, text in (("masks", "context vs target tubelets of the pretraining masks over the frames"),
                       ("pca", "first three principal components of the patch features, as colours")):
        k = kinds.add_parser(kind, help=text)
        k.add_argument("video", help="a video file")
        k.add_argument("--out", required=True, help="FILE.png (grid of tubelets) or FILE.gif (animation)")
        k.add_argument("--frames", type=int, help="clip length (default: 16; pca: the model's pretraining frames)")
        k.add_argument("--frame-step", type=int, default=4, help="frames between clip frames (default 4)")
        k.add_argument("--start", type=int, default=0, help="first frame of the clip")
        k.add_argument("--size", type=int, help="crop size in pixels (default: 224; pca: the model's)")
        if kind == "masks":
            k.add_argument("--patch-size", type=int, default=16)
            k.add_argument("--tubelet-size", type=int, default=2)
            k.add_argument("--seed", type=int, default=0, help="mask draw")
        else:
            k.add_argument("--checkpoint", required=True, metavar="CKPT", help="any format vjepa.load reads")
            k.add_argument("--arch", help="size of an official checkpoint")
            k.add_argument("--key", default="target_encoder", choices=("target_encoder", "encoder"))
            k.add_argument("--pretrain-frames", type=int, default=16)
            k.add_argument("--pretrain-img-size", type=int, default=224)
        k.set_defaults(func=_cmd_visualize)
    return p
