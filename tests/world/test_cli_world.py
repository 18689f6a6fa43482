"""``vjepa world plan`` on a trained export: the plan printed and written as JSON; out-of-range settings and a
wrong state are one-line errors with exit status 2. ``vjepa world train`` refuses an unknown config key."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from vjepa.cli.main import main
from vjepa.config.world import load_world_config
from vjepa.data.action_world import ActionWorld
from vjepa.data.trajectories import write_world_episodes
from vjepa.world.train import train_world_model

TINY = ["encoder.embed_dim=32", "encoder.depth=1", "encoder.num_heads=2", "predictor.depth=1",
        "predictor.width=32", "predictor.num_heads=2", "optim.batch_size=2", "run.max_steps=2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    world = ActionWorld()
    write_world_episodes(world, root / "episodes", 2, 6, seed=0)
    cfg = load_world_config("world_cpu", [f"data.paths=[{str(root / 'episodes')!r}]", *TINY])
    train_world_model(cfg, "none", root / "run", progress=False)
    task = world.goal_task(0, 0)
    Image.fromarray(world.render(task["start"]).numpy()).save(root / "obs.png")
    Image.fromarray(task["goal_frame"].numpy()).save(root / "goal.png")
    return root


def plan_args(root, *extra):
    return ["world", "plan", "--model", str(root / "run" / "export"), "--observation", str(root / "obs.png"),
            "--goal", str(root / "goal.png"), "--samples", "8", "--iterations", "2", "--top-k", "2", *extra]


def test_plan_prints_and_writes_the_plan(trained, capsys):
    assert main(plan_args(trained, "--state", "0.5,0.5", "--out", str(trained / "plan.json"))) == 0
    assert "first action:" in capsys.readouterr().out
    plan = json.loads((trained / "plan.json").read_text())
    assert len(plan["first_action"]) == 2 and len(plan["actions"]) == 2


@pytest.mark.parametrize("extra, words", [
    (["--horizon", "0"], "horizon = 0"),
    (["--top-k", "9"], "top_k = 9"),
    (["--radius", "-1"], "radius = -1.0"),
    (["--state", "1,2,3"], "3 values"),
])
def test_bad_plan_arguments_are_one_line_errors(trained, capsys, extra, words):
    assert main(plan_args(trained, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1


def test_train_refuses_an_unknown_key(trained, capsys):
    code = main(["world", "train", "--checkpoint", "none", "--data", str(trained / "episodes"), "--out",
                 str(trained / "other"), "--set", "predictor.widht=8"])
    assert code == 2 and "did you mean 'predictor.width'" in capsys.readouterr().err
