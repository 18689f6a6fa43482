"""The ``vjepa data check``, ``vjepa data cache`` and ``vjepa data sample`` sub-commands: argument parsing only
(the work is in :mod:`vjepa.data.check`, :mod:`vjepa.data.frame_cache` and :mod:`vjepa.data.synthetic_files`)."""

from __future__ import annotations

import argparse
from typing import Any

from vjepa.core.errors import DataError
from vjepa.data.check import check_files, expand_inputs, print_report
from vjepa.data.frame_cache import build_cache
from vjepa.data.synthetic_files import write_sample_clips


def _cmd_check(args: argparse.Namespace) -> int:
    if args.frames_per_clip < 1 or args.frame_step < 1 or args.workers < 0 or args.timeout <= 0:
        raise DataError("--frames-per-clip and --frame-step must be >= 1, --workers >= 0, --timeout > 0")
    reports = check_files(expand_inputs(args.index), args.frames_per_clip, args.frame_step, args.workers,
                          progress=not args.no_progress, timeout_s=args.timeout)
    return print_report(reports)


def _cmd_cache(args: argparse.Namespace) -> int:
    if (args.short_side is not None and args.short_side < 1) or args.workers < 0 or args.timeout <= 0:
        raise DataError("--short-side must be >= 1, --workers >= 0 and --timeout > 0")
    result = build_cache(expand_inputs(args.index), args.out, args.short_side, args.workers, args.timeout,
                         progress=not args.no_progress)
    for path, reason in result["failed"].items():
        reason = reason if reason.startswith(path) else f"{path}: {reason}"
        print(f"not cached (decoded at load time instead): {reason}")
    print(f"{args.out}: {result['cached']} video(s) cached, {result['kept']} kept from before, "
          f"{len(result['failed'])} unreadable; {result['bytes'] / 1e9:.2f} GB. Use it with "
          f"--set data.frame_cache={args.out} (pretrain) or --frame-cache {args.out} (eval)")
    return 1 if result["failed"] else 0


def _cmd_sample(args: argparse.Namespace) -> int:
    if args.count < 2 or args.size < 16 or args.size % 2 or args.frames < 4 or args.seed < 0:
        raise DataError(f"--count {args.count} --size {args.size} --frames {args.frames} --seed {args.seed}: use "
                        "--count >= 2, an even --size >= 16, --frames >= 4 and --seed >= 0")
    result = write_sample_clips(args.out, count=args.count, size=args.size, frames=args.frames, seed=args.seed)
    print(f"{args.out}: {result['num_train']} training and {result['num_val']} validation clips ({args.size}x"
          f"{args.size}, {args.frames} frames at 25 fps, H.264 mp4) in videos/, listed in {result['train_csv']} "
          f"and {result['val_csv']}")
    print(f"labels: {result['num_classes']} classes, the moving object's look: " +
          ", ".join(f"{i} {name}" for i, name in enumerate(result["classes"])))
    print(f"next: vjepa data check {result['train_csv']} {result['val_csv']}")
    return 0


def add_data_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``data`` (with ``check`` and ``cache``) on a ``parser.add_subparsers()`` object; returns the
    ``data`` sub-parser. Each command's ``func(args)`` returns the exit code."""
    data = subparsers.add_parser("data", help="inspect and cache video datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser("check", help="check that every file of an index decodes; exit 1 naming bad files, 2 "
                            "for a missing or unreadable index")
    p.add_argument("index", nargs="+", metavar="INDEX", help="CSV index ('path label' lines), folder, or file")
    p.add_argument("--frames-per-clip", type=int, default=16, help="frames per clip (default 16)")
    p.add_argument("--frame-step", type=int, default=4, help="frame step (default 4)")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default 0: none)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per decode (default 30)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_check)

    p = data_sub.add_parser("cache", help="decode every frame of the videos once into a reusable cache")
    p.add_argument("index", nargs="+", metavar="INDEX", help="CSV index ('path label' lines), folder, or file")
    p.add_argument("--out", required=True, help="cache folder (reused: videos cached before are kept)")
    p.add_argument("--short-side", type=int, help="down-scale frames to this short side (smaller and faster, not "
                   "exact; default: full size, exact)")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default 0: none)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per decode call (default 300)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_cache)

    p = data_sub.add_parser("sample", help="write a few sample videos (mp4) with train.csv / val.csv to try commands",
                            description="Clips of the embedded synthetic dataset written as ordinary H.264 mp4 files, "
                            "with 'path label' lists (label: the object's look), so that `vjepa data check`, "
                            "`pretrain --data`, `eval` and `extract` can be tried without a download.")
    p.add_argument("--out", required=True, help="output folder (videos/, train.csv, val.csv)")
    p.add_argument("--count", type=int, default=16, help="clips in all, a quarter for validation (default 16)")
    p.add_argument("--size", type=int, default=64, help="frame side in pixels, even (default 64)")
    p.add_argument("--frames", type=int, default=64, help="frames per clip (default 64: one 16-frame clip at step 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the embedded dataset (default 0)")
    p.set_defaults(func=_cmd_sample)
    return data
