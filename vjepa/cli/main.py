"""Command line: ``vjepa pretrain | demo | experiment | data | eval | finetune | extract | visualize | bench | launch | convert |
models``. Dispatch and argument parsing only."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from vjepa.cli.bench import add_bench_parser
from vjepa.cli.data import add_data_parser
from vjepa.cli.eval import add_eval_parser
from vjepa.cli.experiment import add_experiment_parser
from vjepa.cli.extract import add_extract_parser
from vjepa.cli.finetune import add_finetune_parser
from vjepa.cli.launch import add_launch_parser
from vjepa.cli.surprise import add_surprise_parser
from vjepa.cli.visualize import add_visualize_parser
from vjepa.cli.world import add_world_parser
from vjepa.core import formats
from vjepa.core.errors import VjepaError


def pretrain_config(args: argparse.Namespace):
    """The pretraining config of parsed ``vjepa pretrain`` arguments (``--config`` with ``--set``, ``--init``,
    ``--data``, ``--data-weights``), loaded strictly (also what ``vjepa launch slurm`` checks before submitting)."""
    from vjepa.config import load_config

    overrides = list(args.set)
    if args.init:
        overrides.append(f"run.init={json.dumps(args.init)}")
    if args.data:  # real videos instead of the embedded dataset
        overrides += ["data.dataset=videos", f"data.paths={json.dumps(args.data)}"]
    if args.data_weights:
        try:
            weights = [float(w) for w in args.data_weights.split(",")]
        except ValueError:
            raise VjepaError(f"--data-weights {args.data_weights!r}: give comma-separated numbers, e.g. 0.3,0.7") from None
        overrides.append(f"data.weights={json.dumps(weights)}")
    return load_config(args.config, overrides)


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from vjepa.pretrain.loop import pretrain

    cfg = pretrain_config(args)
    out = args.out or str(Path("runs") / Path(args.config).stem)
    summary = pretrain(cfg, out, progress=not args.no_progress)
    if summary.get("rank", 0) == 0:  # under torchrun, one summary for the job
        print(json.dumps(summary))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from vjepa.tools.demo import run_demo

    print("\n" + run_demo(args.out, args.set, probe=not args.no_probe, progress=not args.no_progress))
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from vjepa.models.registry import ARCHS, count_parameters

    print(f"{'name':<18}{'width':>7}{'depth':>7}{'heads':>7}{'mlp':>8}{'patch':>7}{'params':>12}")
    for name, spec in ARCHS.items():
        params = count_parameters(name)
        hidden = int(spec.embed_dim * spec.mlp_ratio)
        print(f"{name:<18}{spec.embed_dim:>7}{spec.depth:>7}{spec.num_heads:>7}{hidden:>8}"
              f"{spec.patch_size:>7}{params / 1e6:>11.1f}M" + ("  RoPE (V-JEPA 2)" if spec.use_rope else ""))
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from vjepa.weights.io import save_modules
    from vjepa.weights.official import load_official_pretrain, load_official_probe

    overrides = {k: getattr(args, k) for k in ("embed_dim", "depth", "num_heads", "mlp_ratio", "patch_size")}
    overrides["use_rope"] = True if args.use_rope else None
    loaded = load_official_pretrain(
        args.checkpoint, args.arch, num_frames=args.num_frames, img_size=args.img_size,
        tubelet_size=args.tubelet_size, uniform_power=args.uniform_power, pred_num_heads=args.pred_num_heads,
        **overrides,
    )
    modules = {"encoder": loaded.encoder, "target_encoder": loaded.target_encoder, "predictor": loaded.predictor}
    config = {"format": formats.EXPORT, "source": str(args.checkpoint), "arch": args.arch,
              "encoder": asdict(loaded.encoder.cfg), "predictor": asdict(loaded.predictor.cfg), "meta": loaded.meta}
    if args.probe:
        probe = load_official_probe(args.probe, num_heads=loaded.encoder.cfg.num_heads)
        modules["probe"] = probe
        config["probe"] = asdict(probe.cfg)
    out = save_modules(args.out_dir, modules, config)
    n_params = sum(p.numel() for p in loaded.encoder.parameters())
    print(f"converted {args.checkpoint} ({args.arch}, encoder {n_params / 1e6:.2f}M parameters, "
          f"uniform_power={loaded.encoder.cfg.uniform_power}) -> {out}/model.safetensors, {out}/config.json")
    return 0


def _cmd_convert_hf(args: argparse.Namespace) -> int:
    """Hugging Face VJEPA2 folder -> our export (encoder and predictor)."""
    from vjepa.weights.hf import load_hf
    from vjepa.weights.io import save_modules

    loaded = load_hf(args.hf_dir)
    config = {"format": formats.EXPORT, "source": str(args.hf_dir), "arch": "hf-vjepa2",
              "encoder": asdict(loaded.encoder.cfg)}
    modules = {"encoder": loaded.encoder}
    if loaded.predictor is not None:  # an encoder-only folder converts to an encoder-only export
        config["predictor"], modules["predictor"] = asdict(loaded.predictor.cfg), loaded.predictor
    out = save_modules(args.out_dir, modules, config)
    print(f"converted {args.hf_dir} -> {out}/model.safetensors, {out}/config.json")
    if loaded.heads:  # a VJEPA2ForVideoClassification folder: say what the backbone export leaves out
        print(f"note: the classifier ({len(loaded.heads)} pooler/classifier tensors) is not part of a backbone "
              f"export; use vjepa.load({str(args.hf_dir)!r}).classify(...) to run it", file=sys.stderr)
    return 0


def _cmd_convert_to_hf(args: argparse.Namespace) -> int:
    """Any checkpoint vjepa.load reads -> a Hugging Face VJEPA2 folder."""
    from vjepa.api import load
    from vjepa.weights.hf import export_hf

    model = load(args.checkpoint, arch=args.arch, key=args.key)
    out = export_hf(model.encoder, model.predictor, args.out_dir)
    print(f"exported {args.checkpoint} -> {out}/model.safetensors, {out}/config.json (transformers VJEPA2Model)")
    return 0


def _cmd_convert_to_hf_classifier(args: argparse.Namespace) -> int:
    """A vjepa eval / finetune output -> a transformers VJEPA2ForVideoClassification folder."""
    from vjepa.tools.export_classifier import export_classifier

    out = export_classifier(args.source_dir, args.out_dir, encoder=args.encoder, arch=args.arch)
    print(f"exported {args.source_dir} -> {out}/model.safetensors, {out}/config.json "
          "(transformers VJEPA2ForVideoClassification)")
    return 0


def one_line(message: str) -> str:
    """The user-facing line of an error message. Errors raised in DataLoader workers come back wrapped in a
    "Caught ... in DataLoader worker" header and the worker's traceback; keep only the original message."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    if len(lines) > 1 and "Original Traceback" in message:
        return lines[-1].split(": ", 1)[-1] if lines[-1].startswith("vjepa.core.errors.") else lines[-1]
    return " ".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vjepa", description="V-JEPA: pretrain, evaluate and use video models.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("pretrain", help="pretrain V-JEPA from a config (resumes when OUT holds a checkpoint)")
    p.add_argument("--config", required=True, help="YAML file, or a preset name (vitl16, cpu_demo, cpu_tiny, ...)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--out", help="output folder (default runs/<config name>)")
    p.add_argument("--data", action="append", default=[], metavar="PATH",
                   help="pretrain on videos: a CSV list ('path label' lines) or a folder; repeat to mix datasets")
    p.add_argument("--data-weights", metavar="W1,W2,...",
                   help="sampling weight of each --data entry (with replacement); default: natural proportions")
    p.add_argument("--init", metavar="CKPT", help="continued pretraining / cooldown: start from this checkpoint's "
                   "encoder, predictor and target encoder (ours or official) with a fresh optimizer and schedule")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser("demo", help="pretrain a small model on the embedded dataset, probe it frozen, report")
    p.add_argument("--out", default="runs/demo", help="output folder: the run (export/, metrics.jsonl, ...) and the "
                   "report (default runs/demo; resumes when it holds a checkpoint)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the demo's pretraining config (cpu_demo), e.g. run.max_steps=50")
    p.add_argument("--no-probe", action="store_true", help="skip the frozen-probe table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo)

    add_data_parser(sub)  # vjepa data check, vjepa data cache
    add_eval_parser(sub)
    add_finetune_parser(sub)
    add_experiment_parser(sub)
    add_extract_parser(sub)
    add_visualize_parser(sub)
    add_bench_parser(sub)
    add_launch_parser(sub)
    add_world_parser(sub)
    add_surprise_parser(sub)

    p = sub.add_parser("models", help="list the named model sizes and their parameter counts")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("convert", help="convert official checkpoints to safetensors + JSON config")
    conv = p.add_subparsers(dest="source", required=True)
    c = conv.add_parser("official", help="a facebookresearch/jepa or vjepa2 pretraining checkpoint (.pth.tar)")
    c.add_argument("checkpoint", help="the .pth.tar file")
    c.add_argument("out_dir", help="folder for model.safetensors and config.json")
    c.add_argument("--arch", required=True, help="encoder size, e.g. vit_large (V-JEPA 1) or vjepa2_vit_large "
                                                 "(V-JEPA 2), or 'custom' with the sizes below")
    c.add_argument("--embed-dim", type=int)
    c.add_argument("--depth", type=int)
    c.add_argument("--num-heads", type=int)
    c.add_argument("--mlp-ratio", type=float)
    c.add_argument("--patch-size", type=int)
    c.add_argument("--num-frames", type=int, default=16, help="pretraining clip length (default 16)")
    c.add_argument("--img-size", type=int, default=224, help="pretraining resolution (default 224)")
    c.add_argument("--tubelet-size", type=int, default=2)
    c.add_argument("--no-uniform-power", dest="uniform_power", action="store_false",
                   help="assume the class-default channel split (the stored table decides when it matches)")
    c.add_argument("--use-rope", action="store_true",
                   help="V-JEPA 2 model with --arch custom (the vjepa2_* sizes imply it)")
    c.add_argument("--pred-num-heads", type=int,
                   help="predictor heads (default: the encoder's for V-JEPA 1, 12 for V-JEPA 2, as official)")
    c.add_argument("--probe", help="also convert an official attentive-probe checkpoint")
    c.set_defaults(func=_cmd_convert)
    c = conv.add_parser("hf", help="a Hugging Face transformers VJEPA2Model folder -> our export")
    c.add_argument("hf_dir", help="folder with config.json (model_type vjepa2) and model.safetensors")
    c.add_argument("out_dir", help="folder for model.safetensors and config.json")
    c.set_defaults(func=_cmd_convert_hf)
    c = conv.add_parser("to-hf", help="a V-JEPA 2 (RoPE) model -> a transformers VJEPA2Model folder")
    c.add_argument("checkpoint", help="export folder, training checkpoint or official .pth.tar (with --arch)")
    c.add_argument("out_dir", help="folder for config.json and model.safetensors")
    c.add_argument("--arch", help="size of an official checkpoint (vjepa2_vit_large, ...)")
    c.add_argument("--key", default="target_encoder", choices=("target_encoder", "encoder"))
    c.set_defaults(func=_cmd_convert_to_hf)
    c = conv.add_parser("to-hf-classifier", help="a vjepa eval or finetune output -> a transformers "
                                                 "VJEPA2ForVideoClassification folder")
    c.add_argument("source_dir", help="vjepa eval --out folder (metrics.json + probe/) or vjepa finetune output")
    c.add_argument("out_dir", help="folder for config.json and model.safetensors")
    c.add_argument("--encoder", help="the encoder's weights (default: the checkpoint the evaluation recorded)")
    c.add_argument("--arch", help="size of an official encoder checkpoint (vjepa2_vit_large, ...)")
    c.set_defaults(func=_cmd_convert_to_hf_classifier)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except VjepaError as e:
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. an output path that is a file, a full disk, no permission
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
