"""``vjepa world demo``: the whole V-JEPA 2-AC loop on a CPU in minutes, in the embedded action world.

1. Collect exploration episodes and write them in the trajectory format (``OUT/episodes``).
2. Train an AC predictor (preset ``world_cpu``) on a frozen encoder: the one given, else a random-init small RoPE
   encoder (``OUT/train``, with its checkpoint, metrics and export).
3. Plan towards goal images with receding-horizon CEM and compare planners on the same tasks: the trained world
   model, the same world model with an untrained (random-init) predictor, random actions, and the perfect
   simulator model (the best any predictor on this encoder can do).
4. Write ``OUT/report.md``, ``OUT/results.json`` and ``OUT/episode.gif`` (a planned episode next to its goal).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from vjepa.config.loader import to_dict
from vjepa.config.world import load_world_config
from vjepa.core.io import write_json_atomic, write_text_atomic
from vjepa.core.progress import write_line
from vjepa.core.runtime import cpu_threads
from vjepa.data.action_world import ActionWorld
from vjepa.data.trajectories import write_world_episodes
from vjepa.world.evaluate import (
    PlanningReport,
    evaluate_planner,
    goal_tasks,
    perfect_model_planner,
    random_planner,
    world_model_planner,
    write_episode_gif,
)
from vjepa.world.export import RANDOM_INIT, load_world_model
from vjepa.world.model import WorldModel
from vjepa.world.planning import CEMSettings
from vjepa.world.train import build_predictor, train_world_model

EPISODES, EPISODE_FRAMES = 160, 20
TASKS, PLAN_STEPS, THRESHOLD = 32, 10, 0.1
CEM = dict(horizon=2, samples=48, iterations=3, top_k=8)


def run_world_demo(out_dir: str | Path, encoder: str | None = None, minutes_budget: float = 12.0,
                   overrides: Sequence[str] = (), tasks: int = TASKS, episodes: int = EPISODES,
                   progress: bool = True) -> str:
    """Run the demo into ``out_dir``; returns the Markdown report. Training gets what is left of
    ``minutes_budget`` after collecting data and before the planning evaluation (estimated at 40 %)."""
    out = Path(out_dir)
    cfg = load_world_config("world_cpu", [f"data.paths=[{str(out / 'episodes')!r}]", *overrides])
    with cpu_threads(cfg.runtime.num_threads):  # planning runs the same tiny models as training
        return _run(cfg, out, encoder, minutes_budget, tasks, episodes, progress)


def _run(cfg, out: Path, encoder: str | None, minutes_budget: float, tasks: int, episodes: int,
         progress: bool) -> str:
    began = time.perf_counter()
    world = ActionWorld()
    episodes_dir = out / "episodes"
    if progress:
        write_line(f"world demo: writing {episodes} exploration episodes of {EPISODE_FRAMES} frames to {episodes_dir}")
    write_world_episodes(world, episodes_dir, episodes, EPISODE_FRAMES, seed=0)
    source = encoder or RANDOM_INIT
    train_budget = max(30.0, minutes_budget * 60 * 0.6 - (time.perf_counter() - began))
    summary = train_world_model(cfg, source, out / "train", progress=progress, time_budget_s=train_budget)
    model = load_world_model(out / "train" / "export")
    untrained = WorldModel(model.encoder, build_predictor(cfg, model.encoder), model.normalize_reps)
    settings = CEMSettings(**CEM, radius=world.max_step, seed=cfg.runtime.seed)
    task_list = goal_tasks(world, tasks, seed=cfg.runtime.seed)
    planners = {"world model (trained AC predictor)": world_model_planner(model, settings),
                "world model (untrained AC predictor)": world_model_planner(untrained, settings),
                "random actions": random_planner(world, world.max_step, cfg.runtime.seed),
                "perfect simulator model": perfect_model_planner(world, model.encoder, settings)}
    reports: dict[str, PlanningReport] = {}
    for name, planner in planners.items():
        reports[name], planned = evaluate_planner(world, planner, task_list, PLAN_STEPS, THRESHOLD)
        if progress:
            write_line(reports[name].line(name))
        if name.startswith("world model (trained"):
            shown = next((e for e in planned if e.success), planned[0])
            write_episode_gif(out / "episode.gif", world, shown)
    total_s = time.perf_counter() - began
    report = _report(reports, summary, source, tasks, total_s, cfg.predictor)
    results = {"planners": {n: {"success_rate": r.success_rate, "mean_final_distance": r.mean_final_distance,
                                "mean_start_distance": r.mean_start_distance, "final_distances": r.final_distances,
                                "wall_s": round(r.wall_s, 1)} for n, r in reports.items()},
               "tasks": tasks, "plan_steps": PLAN_STEPS, "threshold": THRESHOLD, "cem": CEM,
               "radius": world.max_step, "encoder": source, "training": vars(summary), "config": to_dict(cfg),
               "episodes": episodes, "episode_frames": EPISODE_FRAMES, "total_s": round(total_s, 1)}
    write_json_atomic(out / "results.json", results)
    write_text_atomic(out / "report.md", report)
    return report


def _report(reports: dict[str, PlanningReport], summary, source: str, tasks: int, total_s: float, p) -> str:
    encoder = "random-init RoPE encoder (width 64, depth 2, patch 16)" if source == RANDOM_INIT else source
    lines = ["# vjepa world demo", "",
             f"Frozen encoder: {encoder}. AC predictor {p.depth} x {p.width} trained {summary.steps} steps "
             f"({summary.seconds:.0f} s; loss {summary.first_loss:.3f} -> {summary.final_loss:.3f})"
             + (", stopped by the time budget" if summary.stopped_by_budget else "") + ".",
             f"Planning: {tasks} goal tasks of the action world, {PLAN_STEPS} steps each, success = agent within "
             f"{THRESHOLD} of the goal; CEM horizon {CEM['horizon']}, {CEM['samples']} samples, "
             f"{CEM['iterations']} iterations, top {CEM['top_k']}, L1 radius 0.1.", "",
             "| planner | n | success | mean final distance | mean start distance | seconds |",
             "|---|---|---|---|---|---|"]
    for name, r in reports.items():
        lines.append(f"| {name} | {len(r.final_distances)} | {r.success_rate:.0%} | {r.mean_final_distance:.3f} | "
                     f"{r.mean_start_distance:.3f} | {r.wall_s:.0f} |")
    lines += ["", f"Total {total_s:.0f} s. Files: episodes/, train/ (checkpoint, metrics.jsonl, export/), "
                  "results.json, episode.gif.", ""]
    return "\n".join(lines)
