"""``vjepa experiment paper``: V-JEPA vs pixel reconstruction vs random init, end to end, and resumable.

Stages, in order: pretrain each method (``pretrain-vjepa``, ``pretrain-pixel``) -> probe every evaluated
checkpoint and the random-init encoder on every task (``probe-<encoder>``) -> low-shot probes of the final
encoders (``lowshot-<encoder>``) -> tables, figure and report (``report``). Every unit stores its result as a
done-marker (:class:`~vjepa.experiment.stages.StageLog`); a re-run skips finished units, and an interrupted
pretraining resumes from its last checkpoint (``pretrain`` does that by itself). ``OUT/experiment.json`` pins
the settings: a re-run with other settings is refused instead of mixing results.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from vjepa.config import PretrainConfig, to_dict
from vjepa.core import formats
from vjepa.core.errors import ConfigError
from vjepa.core.io import atomic_write
from vjepa.core.progress import write_line
from vjepa.core.runtime import resolve_device, resolve_dtype
from vjepa.experiment.config import LABELS, STOP_AFTER, PaperConfig, first_difference, method_configs
from vjepa.experiment.evaluate import RANDOM, EncoderPoint, checkpoint_points, evaluate_point, load_point, random_point
from vjepa.experiment.report import write_outputs
from vjepa.experiment.stages import StageLog
from vjepa.experiment.voe import voe_stage
from vjepa.pretrain.loop import pretrain


def _say(message: str) -> None:
    write_line(f"[experiment] {message}")


def _pin_settings(out: Path, cfg: PaperConfig, configs: dict[str, PretrainConfig]) -> None:
    """Write ``OUT/experiment.json`` on the first run; later runs must have the same settings."""
    record = {"experiment": to_dict(cfg), "pretrain": {m: to_dict(c) for m, c in configs.items()}}
    path = out / "experiment.json"
    if path.is_file():
        old = json.loads(path.read_text())
        where = first_difference(old, record)
        if where is not None:
            raise ConfigError(f"{out} holds an experiment with other settings (first difference: {where}); rerun "
                              "with the same config or use another out_dir")
        return
    text = json.dumps(record, indent=1) + "\n"
    atomic_write(path, lambda p: Path(p).write_text(text))


def step_seconds(metrics_path: Path, batch_size: int) -> tuple[dict[int, float], dict[int, float]]:
    """(cumulative pretraining time, loss) at each logged step of a run's ``metrics.jsonl``.

    The time at step k is the sum of the step times (data, forward, backward, update; not checkpoint writes) of
    steps 1 .. k. ``metrics.jsonl`` is cut back to the checkpoint on resume, so each step that produced the
    weights counts once, whatever the number of interruptions (work lost to a kill is not counted)."""
    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    steps = sorted((r["step"], batch_size / r["clips_per_s"], r["loss"]) for r in rows if r.get("clips_per_s"))
    total, cumulative = 0.0, {}
    for step, seconds, _ in steps:
        total += seconds
        cumulative[step] = total
    return cumulative, {step: loss for step, _, loss in steps}


def _pretrain_stage(method: str, cfg: PretrainConfig, out: Path, log: StageLog, progress: bool) -> dict[str, Any]:
    name = f"pretrain-{method}"
    if (done := log.result(name)) is not None:
        log.note(name, "skipped")
        return done
    run_dir = out / "pretrain" / method
    log.note(name, "start")
    _say(f"{name}: {LABELS[method]} -> {run_dir}")
    started = time.perf_counter()
    summary = pretrain(cfg, run_dir, progress=progress)
    steps, batch = summary["steps"], cfg.optim.batch_size
    cumulative, losses = step_seconds(run_dir / "metrics.jsonl", batch)
    points = checkpoint_points(run_dir, method, steps)
    result = {
        "method": method, "steps": steps, "batch_size": batch, "samples_seen": steps * batch,
        "train_seconds": cumulative.get(steps), "seconds_at": {str(p.step): cumulative.get(p.step) for p in points},
        "steps_timed": len(cumulative), "resumed_at_step": steps - summary["steps_this_run"],
        "first_loss": losses.get(1), "final_loss": losses.get(steps), "device": summary["device"],
        "dtype": summary["dtype"], "run_dir": str(run_dir),
    }
    _say(f"{name}: {steps} steps, {result['train_seconds']:.0f} s of training")
    return log.finish(name, result, time.perf_counter() - started)


def _evaluate(point: EncoderPoint, full: bool, low: bool, cfg: PaperConfig, base: PretrainConfig, out: Path,
              log: StageLog, progress: bool) -> None:
    names = [name for name, wanted in ((f"probe-{point.name}", full), (f"lowshot-{point.name}", low)) if wanted]
    for name in names:
        log.note(name, "start")
    device = resolve_device(base.run.device)
    started = time.perf_counter()
    encoder = load_point(point, base)
    full_rows, low_rows = evaluate_point(encoder, cfg, base, full=full, lowshot=low, split_dir=out / "lowshot_splits",
                                         device=device, dtype=resolve_dtype(base.run.dtype, device), progress=progress)
    seconds = time.perf_counter() - started  # features once, then every probe of this encoder
    meta = {"encoder": point.name, "method": point.method, "step": point.step, "evaluated_with": names}
    for name, rows in ((f"probe-{point.name}", full_rows), (f"lowshot-{point.name}", low_rows)):
        if rows is not None:
            log.finish(name, {**meta, "tasks": rows}, seconds)
    if full_rows is not None:
        top1 = ", ".join(f"{t} {r['top1']:.1f}" for t, r in full_rows.items())
        _say(f"probe {point.name}: top-1 {top1} ({seconds:.0f} s)")


def run_paper(cfg: PaperConfig, out_dir: str | Path, *, stop_after: str | None = None,
              progress: bool = True) -> dict[str, Any] | None:
    """Run (or resume) the experiment into ``out_dir``; returns the results, or None when stopped early."""
    if stop_after is not None and stop_after not in STOP_AFTER:
        raise ConfigError(f"stop_after={stop_after!r}: use one of {', '.join(STOP_AFTER)}")
    out = Path(out_dir)
    configs = method_configs(cfg)  # validated before any work
    base = next(iter(configs.values()))
    out.mkdir(parents=True, exist_ok=True)
    _pin_settings(out, cfg, configs)
    log = StageLog(out)
    log.note("run", "start")

    pretrained = {}
    for method in cfg.methods:
        pretrained[method] = _pretrain_stage(method, configs[method], out, log, progress)
        if stop_after == f"pretrain-{method}":
            return None
    if stop_after == "pretrain":
        return None

    points = [random_point()] + [p for m in cfg.methods
                                 for p in checkpoint_points(out / "pretrain" / m, m, pretrained[m]["steps"])]
    # Full-label probes of every encoder; a final encoder's low-shot runs go in the same pass (same features).
    low_now: set[str] = set()
    for point in points:
        if log.result(f"probe-{point.name}") is not None:
            log.note(f"probe-{point.name}", "skipped")
            continue
        low = point.final and stop_after != "probe" and log.result(f"lowshot-{point.name}") is None
        _evaluate(point, True, low, cfg, base, out, log, progress)
        low_now |= {point.name} if low else set()
    if stop_after == "probe":
        return None
    for point in (p for p in points if p.final and p.name not in low_now):
        if log.result(f"lowshot-{point.name}") is not None:
            log.note(f"lowshot-{point.name}", "skipped")
        else:
            _evaluate(point, False, True, cfg, base, out, log, progress)
    if stop_after == "lowshot":
        return None
    if log.result("voe") is not None:
        log.note("voe", "skipped")
    else:
        started = time.perf_counter()
        log.finish("voe", voe_stage(cfg, configs, out, progress), time.perf_counter() - started)

    results = collect_results(cfg, configs, log, points)
    outputs = ["table5.md", "table7.md", "figure5.png", "results.json", "report.md"]
    if log.result("report") is not None and all((out / f).is_file() for f in outputs):
        log.note("report", "skipped")
    else:
        started = time.perf_counter()
        write_outputs(out, results)
        log.finish("report", {"files": outputs}, time.perf_counter() - started)
        _say(f"report: {', '.join(str(out / f) for f in outputs)}")
    return results


def collect_results(cfg: PaperConfig, configs: dict[str, PretrainConfig], log: StageLog,
                    points: list[EncoderPoint]) -> dict[str, Any]:
    """Every stage's results in one JSON-able dict (the content of ``results.json``)."""
    probes = {p.name: log.result(f"probe-{p.name}")["tasks"] for p in points}
    lowshot = {p.name: log.result(f"lowshot-{p.name}")["tasks"] for p in points if p.final}
    random_top1 = {t: r["top1"] for t, r in probes[RANDOM].items()}
    encoders: dict[str, Any] = {RANDOM: {"label": LABELS[RANDOM], "samples_seen": 0, "train_seconds": 0.0,
                                         "top1": random_top1, "lowshot": lowshot[RANDOM]}}
    for method in cfg.methods:
        pre = log.result(f"pretrain-{method}")
        curve = [{"step": 0, "samples_seen": 0, "train_seconds": 0.0, "top1": random_top1}]  # the shared init
        curve += [{"step": p.step, "samples_seen": p.step * pre["batch_size"],
                   "train_seconds": pre["seconds_at"][str(p.step)],
                   "top1": {t: r["top1"] for t, r in probes[p.name].items()}} for p in points if p.method == method]
        final = next(p for p in points if p.method == method and p.final)
        encoders[method] = {"label": LABELS[method], **{k: pre[k] for k in (
            "steps", "batch_size", "samples_seen", "train_seconds", "first_loss", "final_loss", "device", "dtype")},
            "top1": curve[-1]["top1"], "curve": curve, "lowshot": lowshot[final.name]}
    tasks = {t: {k: r[k] for k in ("num_classes", "chance", "num_val")} for t, r in probes[RANDOM].items()}
    return {"format": formats.EXPERIMENT_PAPER, "tasks": tasks, "encoders": encoders, "voe": log.result("voe"),
            "probes": {p.name: probes[p.name] for p in points}, "settings": to_dict(cfg),
            "pretrain_config": {k: v for k, v in to_dict(next(iter(configs.values()))).items() if k != "objective"}}
