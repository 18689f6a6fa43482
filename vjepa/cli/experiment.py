"""The ``vjepa experiment`` sub-command: argument parsing only (the work is in :mod:`vjepa.experiment.paper`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vjepa.cli.motion import add_motion_parsers


def _cmd_paper(args: argparse.Namespace) -> int:
    from vjepa.core.errors import ConfigError
    from vjepa.experiment.config import load_paper_config
    from vjepa.experiment.paper import run_paper

    cfg = load_paper_config(args.config, args.set, args.base_set)
    try:
        results = run_paper(cfg, args.out, stop_after=args.stop_after, progress=not args.no_progress)
    except ConfigError as e:  # the library names the base_set item; on the command line it came from --base-set
        if any(str(e).startswith(f"base_set {item}:") for item in args.base_set):
            raise ConfigError(f"--{e}".replace("--base_set", "--base-set", 1)) from None
        raise
    if results is None:
        print(f"stopped after {args.stop_after}; run the same command without --stop-after to continue")
    else:
        print(Path(args.out, "report.md").read_text())
    return 0


def add_experiment_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``experiment`` on a ``parser.add_subparsers()`` object; returns the sub-parser."""
    from vjepa.experiment.config import STOP_AFTER

    p = subparsers.add_parser("experiment", help="reproducible experiments ('paper': V-JEPA vs pixel "
                                                 "reconstruction vs random init)")
    sub = p.add_subparsers(dest="experiment", required=True)
    e = sub.add_parser(
        "paper", help="the paper's central comparison in miniature: Tables 5 and 7, Figure 5",
        description="Pretrain V-JEPA and VideoMAE-style pixel reconstruction with equal compute, probe every "
                    "evaluated checkpoint and a random-init encoder frozen on the embedded dataset's tasks, run the "
                    "low-shot protocol, and write table5.md, table7.md, figure5.png, results.json and report.md. "
                    "Re-running the same command skips finished stages and resumes an interrupted pretraining "
                    "(docs/experiment.md).")
    e.add_argument("--config", default="experiment_paper",
                   help="experiment YAML file or packaged preset (default experiment_paper)")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override an experiment key, e.g. probe.epochs=10 or eval_every=100")
    e.add_argument("--base-set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the base pretraining config for every method, e.g. optim.epochs=20")
    e.add_argument("--out", default="runs/experiment_paper", help="output folder (default runs/experiment_paper)")
    e.add_argument("--stop-after", choices=STOP_AFTER, help="stop after this stage (run again to continue)")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.set_defaults(func=_cmd_paper)
    add_motion_parsers(sub)
    return p
