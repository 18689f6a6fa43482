"""``vjepa world train | plan | demo``: argument parsing only (the work is in :mod:`vjepa.world`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vjepa.core.errors import ConfigError, DataError


def _cmd_train(args: argparse.Namespace) -> int:
    from vjepa.config.world import load_world_config
    from vjepa.world.train import train_world_model

    overrides = [f"data.paths={json.dumps(args.data)}", *args.set]
    if args.arch:
        overrides.append(f"encoder.arch={json.dumps(args.arch)}")
    cfg = load_world_config(args.config, overrides)
    summary = train_world_model(cfg, args.checkpoint, args.out, progress=not args.no_progress)
    if summary.rank == 0:  # under torchrun, one summary for the job
        print(json.dumps(vars(summary)))
    return 0


def _read_frame(path: str, size: int):
    """uint8 (size, size, 3): an image, or the last frame of a video, square-cropped and resized."""
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    from vjepa.data.decode import decode_frames, probe_video
    from vjepa.world.windows import square_resize

    if not Path(path).is_file():
        raise DataError(f"{path}: no such image or video")
    try:
        with Image.open(path) as image:
            frame = torch.from_numpy(np.asarray(image.convert("RGB")).copy())[None]
    except UnidentifiedImageError:
        frame = decode_frames(path, [probe_video(path, read_frame=False).num_frames - 1])
    return square_resize(frame, size)[0]


def _parse_state(text: str | None, dim: int):
    import torch

    if text is None:
        return torch.zeros(dim)
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"state {text!r}: give {dim} comma-separated numbers") from None
    if len(values) != dim:
        raise ConfigError(f"state {text!r}: {len(values)} values, the model's states have {dim}")
    return torch.tensor(values)


def _cmd_plan(args: argparse.Namespace) -> int:
    from vjepa.core.io import write_json_atomic
    from vjepa.data.trajectories import normalize_frames
    from vjepa.world.export import load_world_model

    model = load_world_model(args.model)
    size = model.encoder.cfg.img_size
    observation = normalize_frames(_read_frame(args.observation, size))
    goal = normalize_frames(_read_frame(args.goal, size))
    state = _parse_state(args.state, model.action_dim)
    first, result = model.plan(observation, state, goal, args.horizon, args.samples, args.iterations, args.top_k,
                               args.radius, args.seed)
    plan = {"first_action": first.tolist(), "actions": result.actions.tolist(), "energy": float(result.energy),
            "settings": {k: getattr(args, k) for k in ("horizon", "samples", "iterations", "top_k", "radius", "seed")}}
    print(f"first action: {[round(v, 4) for v in plan['first_action']]}")
    for k, action in enumerate(plan["actions"]):
        print(f"  step {k}: {[round(v, 4) for v in action]}")
    print(f"energy: {plan['energy']:.4f}")
    if args.out:
        write_json_atomic(args.out, plan)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from vjepa.world.demo import run_world_demo

    print("\n" + run_world_demo(args.out, encoder=args.encoder, minutes_budget=args.minutes_budget,
                                overrides=args.set, tasks=args.tasks, progress=not args.no_progress))
    return 0


def add_world_parser(subparsers: Any) -> None:
    """Register ``vjepa world`` and its sub-commands."""
    world = subparsers.add_parser("world", help="V-JEPA 2-AC world models: train, plan, demo")
    sub = world.add_subparsers(dest="world_command", required=True)

    p = sub.add_parser("train", help="train an action-conditioned predictor on a frozen encoder (resumes in OUT)")
    p.add_argument("--checkpoint", required=True, metavar="ENCODER",
                   help="frozen encoder: export folder, training checkpoint, official .pth.tar (with --arch), Hugging "
                        "Face folder, or 'none' for a random init of --arch / encoder.* sizes")
    p.add_argument("--arch", help="encoder size (official files, random init): vjepa2_vit_giant, custom, ...")
    p.add_argument("--data", required=True, action="append", metavar="TRAJECTORIES",
                   help="folder or CSV of episodes (NAME.mp4 + NAME.states.npy); repeat to pool sources")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--config", default="world_cpu", help="YAML file or preset (world_cpu, world_droid)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("plan", help="plan actions from an observation towards a goal image (CEM)")
    p.add_argument("--model", required=True, help="the export folder of vjepa world train (or its OUT folder)")
    p.add_argument("--observation", required=True, help="current frame: an image, or a video (its last frame)")
    p.add_argument("--goal", required=True, help="goal image")
    p.add_argument("--state", help="current state, comma-separated (default zeros)")
    p.add_argument("--horizon", type=int, default=2)
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--top-k", type=int, default=30)
    p.add_argument("--radius", type=float, default=0.075, help="L1 radius of each step's action")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the plan as JSON here")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("demo", help="collect episodes, train a world model and plan, on a CPU in minutes")
    p.add_argument("--out", default="runs/world_demo")
    p.add_argument("--encoder", help="frozen encoder weights (default: a random-init small RoPE encoder)")
    p.add_argument("--minutes-budget", type=float, default=12.0, help="whole-demo time budget (default 12)")
    p.add_argument("--tasks", type=int, default=32, help="goal tasks per planner (default 32)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override world_cpu values")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_demo)
