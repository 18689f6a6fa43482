"""The ``vjepa eval`` sub-command: argument parsing only (the work is in :mod:`vjepa.eval.run`)."""

from __future__ import annotations

import argparse
from typing import Any

from vjepa.config import set_values
from vjepa.core.errors import ConfigError
from vjepa.eval.config import PROBE_KINDS, PROTOCOLS, EvalConfig, validate_eval

# Official clip layouts (frames per clip, frame step, temporal segments, spatial views), spec §7.2, as config keys.
PRESETS: dict[str, dict[str, int]] = {
    "k400": {"clip.num_frames": 16, "clip.frame_step": 4, "clip.num_segments": 8, "clip.num_views": 3},
    "ssv2": {"clip.num_frames": 16, "clip.frame_step": 4, "clip.num_segments": 2, "clip.num_views": 3},
}
# argparse destination -> EvalConfig key, for the options whose unset value (None) means "the default".
FLAG_KEYS = {"num_classes": "num_classes", "frames_per_clip": "clip.num_frames", "frame_step": "clip.frame_step",
             "segments": "clip.num_segments", "views": "clip.num_views", "crop_size": "clip.crop_size",
             "protocol": "probe.protocol", "probe": "probe.kind", "layer": "probe.layer", "epochs": "probe.epochs",
             "batch_size": "probe.batch_size", "lr": "probe.lr", "weight_decay": "probe.weight_decay",
             "label_fraction": "lowshot.label_fraction", "splits": "lowshot.num_splits", "seed": "runtime.seed",
             "device": "runtime.device", "dtype": "runtime.dtype", "workers": "runtime.num_workers",
             "cache_dir": "cache_dir", "frame_cache": "frame_cache"}


def settings_from_args(args: argparse.Namespace) -> EvalConfig:
    """The checked EvalConfig of parsed arguments: defaults <- ``--preset`` <- explicit flags."""
    values: dict[str, Any] = dict(PRESETS[args.preset]) if args.preset else {}
    values.update({key: getattr(args, dest) for dest, key in FLAG_KEYS.items() if getattr(args, dest) is not None})
    cfg = set_values(EvalConfig(), values, "vjepa eval")
    validate_eval(cfg)
    return cfg


def data_sources(args: argparse.Namespace) -> dict[str, str]:
    """The one pair of training / validation indexes (``run_eval`` keyword arguments)."""
    for side in ("train", "val"):
        if getattr(args, f"{side}_csv") and getattr(args, f"{side}_dir"):
            raise ConfigError(f"--{side}-csv and --{side}-dir are both given; use one pair: --train-csv/--val-csv "
                              "(CSV lists) or --train-dir/--val-dir (class folders)")
    for kind in ("csv", "dir"):
        given = {side: getattr(args, f"{side}_{kind}") for side in ("train", "val")}
        if all(given.values()):
            return {f"{side}_{kind}": path for side, path in given.items()}
    raise ConfigError("give the data as one pair: --train-csv and --val-csv ('path label' lists) or --train-dir "
                      "and --val-dir (one sub-folder per class)")


def _cmd_eval(args: argparse.Namespace) -> int:
    from vjepa.eval.checkpoints import load_frozen_encoder
    from vjepa.eval.run import run_eval

    settings = settings_from_args(args)
    sources = data_sources(args)  # both checked before the (possibly large) checkpoint is read
    encoder = load_frozen_encoder(args.checkpoint, key=args.key, arch=args.arch, num_frames=args.pretrain_frames,
                                  img_size=args.pretrain_img_size, seed=settings.runtime.seed,
                                  embed_dim=args.embed_dim, depth=args.depth, num_heads=args.num_heads)
    describe = {"checkpoint": str(args.checkpoint), "checkpoint_key": args.key, "arch": args.arch,
                "preset": args.preset}
    result = run_eval(encoder, settings, args.out, progress=not args.no_progress, describe=describe, **sources)
    print(result["summary"])
    probe_kept = settings.probe.protocol == "attentive" and settings.lowshot.label_fraction is None
    print(f"outputs in {args.out}: metrics.json" + (", probe/, confusion.png" if probe_kept else ""))
    return 0


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``eval`` on a ``parser.add_subparsers()`` object; returns the sub-parser."""
    p = subparsers.add_parser(
        "eval", help="frozen evaluation: train a probe on a frozen encoder's features and report accuracy",
        description="Frozen evaluation (attentive probe, linear or k-NN) of an encoder on videos or images. Video "
                    "K400-style: --preset k400 (16 frames x 8 segments x 3 views); explicit flags override.")
    g = p.add_argument_group("encoder")
    g.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="export folder, training checkpoint (.pt), official .pth.tar, or 'none' (random init)")
    g.add_argument("--arch", help="encoder size (vit_large, ...; 'custom' with the sizes below); required for "
                                  "official files and 'none'")
    g.add_argument("--key", default="target_encoder", choices=("target_encoder", "encoder"),
                   help="which encoder of the checkpoint (default target_encoder, the EMA encoder, as official)")
    g.add_argument("--embed-dim", type=int, help="width for --arch custom (or to override a named size)")
    g.add_argument("--depth", type=int, help="blocks for --arch custom")
    g.add_argument("--num-heads", type=int, help="heads for --arch custom")
    g.add_argument("--pretrain-frames", type=int, default=16,
                   help="clip length the official checkpoint was pretrained with (its position table; default 16)")
    g.add_argument("--pretrain-img-size", type=int, default=224, help="pretraining resolution (default 224)")
    g = p.add_argument_group("data")
    g.add_argument("--train-csv", help="training list: 'path label' lines (official CSV format)")
    g.add_argument("--val-csv", help="validation list, same format")
    g.add_argument("--train-dir", help="training folder with one sub-folder per class (videos or images)")
    g.add_argument("--val-dir", help="validation folder, same class sub-folders")
    g.add_argument("--num-classes", type=int, required=True, help="number of classes (labels 0 .. N-1)")
    g.add_argument("--out", required=True, help="output folder (metrics.json, probe/, confusion.png)")
    g = p.add_argument_group("clips (defaults: 16 frames, step 4, 1 segment, 1 view, 224 px)")
    g.add_argument("--preset", choices=sorted(PRESETS), help="k400: 16x8x3, ssv2: 16x2x3 (frames x segments x views)")
    g.add_argument("--frames-per-clip", type=int)
    g.add_argument("--frame-step", type=int)
    g.add_argument("--segments", type=int, help="temporal segments per video (images: always 1)")
    g.add_argument("--views", type=int, help="spatial views per validation clip (training uses 1)")
    g.add_argument("--crop-size", type=int)
    g = p.add_argument_group("probe (defaults: official recipe, 20 epochs, lr 1e-3, weight decay 0.01)")
    g.add_argument("--protocol", choices=PROTOCOLS, help="attentive probe (official, default), linear or k-NN")
    g.add_argument("--probe", choices=PROBE_KINDS, help="attentive probe: vjepa1 (1 block, default) or vjepa2 "
                                                        "(4 blocks, the V-JEPA 2 frozen evals)")
    g.add_argument("--layer", type=int, help="probe this block's output (0-based, -1 = last) instead of the output")
    g.add_argument("--epochs", type=int)
    g.add_argument("--batch-size", type=int, help="probe batch (and extraction batch); default 16")
    g.add_argument("--lr", type=float)
    g.add_argument("--weight-decay", type=float, help="official video 0.01, images 0.001")
    g.add_argument("--label-fraction", type=float, metavar="F", help="low-shot: keep this share of each class")
    g.add_argument("--splits", type=int, metavar="K", help="low-shot: number of seeded splits (mean ± std)")
    g.add_argument("--seed", type=int)
    g = p.add_argument_group("run")
    g.add_argument("--cache-dir", help="keep extracted features here and reuse them")
    g.add_argument("--frame-cache", metavar="DIR", help="read decoded frames from this `vjepa data cache` folder")
    g.add_argument("--device", help="auto (default), cpu or cuda")
    g.add_argument("--dtype", choices=("auto", "float32", "bfloat16"))
    g.add_argument("--workers", type=int, help="data loader processes (default 0)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_eval)
    return p
