"""The ``vjepa finetune`` sub-command: argument parsing and assembly (the work is in :mod:`vjepa.finetune.train`)."""

from __future__ import annotations

import argparse
from typing import Any

from vjepa.core.errors import ConfigError


def _cmd_finetune(args: argparse.Namespace) -> int:
    from vjepa.cli.eval import data_sources
    from vjepa.config import load_typed
    from vjepa.finetune.config import FinetuneConfig, validate_finetune
    from vjepa.finetune.data import file_data, synthetic_data
    from vjepa.finetune.model import FinetuneModel, build_head, load_start_encoder
    from vjepa.finetune.train import finetune

    overrides = list(args.set) + ([f"optim.epochs={args.epochs}"] if args.epochs is not None else [])
    cfg = load_typed(FinetuneConfig, args.config, overrides)
    validate_finetune(cfg)
    if args.synthetic:
        if args.train_csv or args.train_dir or args.val_csv or args.val_dir:
            raise ConfigError("--synthetic replaces --train-csv/--val-csv/--train-dir/--val-dir; give one or the other")
        data = synthetic_data(cfg, args.synthetic, args.synthetic_train, args.synthetic_val)
        if args.num_classes != data.describe["synthetic_classes"]:
            raise ConfigError(f"--synthetic {args.synthetic} has {data.describe['synthetic_classes']} classes but "
                              f"--num-classes is {args.num_classes}; set --num-classes "
                              f"{data.describe['synthetic_classes']}")
    else:
        data = file_data(cfg, args.num_classes, data_sources(args))  # checked before the checkpoint is read
    encoder, head_state = load_start_encoder(
        args.checkpoint, arch=args.arch, num_classes=args.num_classes, head=cfg.head, seed=cfg.runtime.seed,
        num_frames=args.pretrain_frames, img_size=args.pretrain_img_size, key=args.key, embed_dim=args.embed_dim,
        depth=args.depth, num_heads=args.num_heads)
    head = build_head(cfg.head, encoder, args.num_classes, cfg.runtime.seed)
    if head_state is not None:
        head.load_state_dict(head_state)
    model = FinetuneModel(encoder, head, cfg.regularization.drop_path)
    describe = {"checkpoint": str(args.checkpoint), "checkpoint_key": args.key, "arch": args.arch}
    result = finetune(model, data, cfg, args.num_classes, args.out, describe=describe,
                      progress=not args.no_progress)
    print(result["summary"])
    print(f"outputs in {args.out}: metrics.json, confusion.png, loss_curve.png, model/, checkpoints/latest.pt")
    return 0


def add_finetune_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``finetune`` on a ``parser.add_subparsers()`` object; returns the sub-parser."""
    p = subparsers.add_parser(
        "finetune", help="end-to-end fine-tuning of an encoder plus a classification head",
        description="Fine-tune an encoder and a head end to end (VideoMAE recipe: layer-wise lr decay, drop path, "
                    "label smoothing, mixup/cutmix, warmup + cosine, AdamW, bf16; docs/finetune.md). Resumes when "
                    "OUT holds a checkpoint.")
    g = p.add_argument_group("encoder")
    g.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="export folder, training checkpoint (.pt), official .pth.tar, a finetune checkpoint/model "
                        "folder, or 'none' (train from scratch, needs --arch)")
    g.add_argument("--arch", help="encoder size; required for official files and 'none', checked otherwise")
    g.add_argument("--key", default="target_encoder", choices=("target_encoder", "encoder"))
    g.add_argument("--embed-dim", type=int)
    g.add_argument("--depth", type=int)
    g.add_argument("--num-heads", type=int)
    g.add_argument("--pretrain-frames", type=int, default=16)
    g.add_argument("--pretrain-img-size", type=int, default=224)
    g = p.add_argument_group("data")
    g.add_argument("--train-csv")
    g.add_argument("--val-csv")
    g.add_argument("--train-dir", help="class sub-folders of videos or images")
    g.add_argument("--val-dir")
    g.add_argument("--synthetic", choices=("motion", "appearance"), help="the embedded dataset's task instead")
    g.add_argument("--synthetic-train", type=int, default=512, help="synthetic training clips (default 512)")
    g.add_argument("--synthetic-val", type=int, default=256, help="synthetic validation clips (default 256)")
    g.add_argument("--num-classes", type=int, required=True)
    g.add_argument("--out", required=True, help="output folder")
    g = p.add_argument_group("recipe")
    g.add_argument("--epochs", type=int, help="shorthand for --set optim.epochs=E")
    g.add_argument("--config", help="YAML file of FinetuneConfig values (vjepa/finetune/config.py)")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value by its dotted key, e.g. clip.num_frames=8 or optim.lr=5e-4")
    g.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_finetune)
    return p
