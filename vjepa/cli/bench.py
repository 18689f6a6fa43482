"""The ``vjepa bench`` sub-command: argument parsing only (the work is in :mod:`vjepa.tools.bench`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import torch

from vjepa.core.errors import ConfigError
from vjepa.core.io import write_json_atomic
from vjepa.tools.bench import DEFAULT, PRESETS, run_bench


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.steps < 1 or args.warmup < 0 or (args.threads is not None and args.threads < 1):
        raise ConfigError(f"--steps {args.steps} and --threads must be >= 1, --warmup {args.warmup} >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    doc = run_bench(args.configs, args.set, args.steps, args.warmup, data=not args.no_data, baseline=args.baseline)
    if args.json:
        write_json_atomic(args.json, doc)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``bench`` on a ``parser.add_subparsers()`` object; returns the sub-parser."""
    p = subparsers.add_parser("bench", help="measure step, feature-extraction and data-loading throughput and MFU")
    p.add_argument("configs", nargs="*", default=list(DEFAULT), metavar="CONFIG",
                   help=f"bench configurations: {', '.join(PRESETS)} (default: {' '.join(DEFAULT)})")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--steps", type=int, default=5, help="timed repetitions (median reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed repetitions first")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. run.dtype=float32, run.compile=true, model.attention=sdpa")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice, one per core)")
    p.add_argument("--no-data", action="store_true", help="skip the data-loading measurement")
    p.add_argument("--baseline", action="store_true",
                   help="also time each step as the official code computes it (fp32, SDPA, foreach AdamW)")
    p.set_defaults(func=_cmd_bench)
    return p
