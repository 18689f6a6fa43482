"""``vjepa world demo`` end to end at a tiny size: episodes in the trajectory format, a trained export, the table of
four planners, results.json and the GIF."""

from __future__ import annotations

import json

from PIL import Image

from vjepa.data.trajectories import scan_episodes
from vjepa.world.demo import run_world_demo


def test_tiny_demo_writes_its_report(tmp_path):
    report = run_world_demo(tmp_path, tasks=2, episodes=3, progress=False,
                            overrides=["run.max_steps=2", "optim.batch_size=2", "predictor.depth=1"])
    good, bad = scan_episodes(tmp_path / "episodes")
    assert len(good) == 3 and not bad
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["planners"]) == {"world model (trained AC predictor)", "world model (untrained AC predictor)",
                                        "random actions", "perfect simulator model"}
    assert results["training"]["steps"] == 2 and results["tasks"] == 2
    for name, row in results["planners"].items():
        assert 0 <= row["success_rate"] <= 1 and len(row["final_distances"]) == 2
        assert f"| {name} | 2 |" in report
    assert (tmp_path / "report.md").read_text() == report
    with Image.open(tmp_path / "episode.gif") as gif:
        assert gif.n_frames == 11  # start + 10 planned steps
