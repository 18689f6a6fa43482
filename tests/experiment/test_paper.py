"""`vjepa experiment paper` at a tiny scale: every output, stage reuse, resume after an interruption, and the
experiment config's strict checks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

import vjepa.pretrain.loop as loop
from vjepa.cli.main import main
from vjepa.config import to_dict
from vjepa.core.errors import ConfigError
from vjepa.experiment.config import PRESET, assert_only_objective_differs, load_paper_config, method_configs
from vjepa.experiment.evaluate import load_point, random_point
from vjepa.experiment.paper import run_paper
from vjepa.pretrain.build import build_models

TINY = ["base=cpu_tiny", "eval_every=3", "probe.num_train=16", "probe.num_val=8", "probe.epochs=1",
        "probe.batch_size=8", "lowshot.num_splits=1", "voe.per_property=2", "voe.num_frames=8"]
TINY_BASE = ["run.max_steps=6", "run.checkpoint_every=3", "pixel.mask_ratio=0.75"]
OUTPUTS = ["table5.md", "table7.md", "figure5.png", "results.json", "report.md"]


def tiny(*overrides: str):
    return load_paper_config(PRESET, [*TINY, *overrides], TINY_BASE)


def events(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "stages.jsonl").read_text().splitlines()]


def last_run(out: Path) -> list[dict]:
    log = events(out)
    start = max(i for i, e in enumerate(log) if e["stage"] == "run")
    return log[start + 1:]


def test_tiny_experiment_end_to_end_with_an_interruption_and_reuse(tmp_path, monkeypatch):
    cfg, started = tiny(), time.perf_counter()
    # 1. Only the first stage.
    assert run_paper(cfg, tmp_path, stop_after="pretrain-vjepa", progress=False) is None
    assert (tmp_path / "stages" / "pretrain-vjepa.json").is_file() and not (tmp_path / "pretrain" / "pixel").exists()
    vjepa_ckpt = tmp_path / "pretrain" / "vjepa" / "checkpoints" / "latest.pt"
    vjepa_mtime = vjepa_ckpt.stat().st_mtime_ns

    # 2. The pixel pretraining is interrupted after its step-3 checkpoint.
    real_step = loop.pixel_step

    def interrupted(state, *args, **kwargs):
        if state.step == 4:
            raise KeyboardInterrupt
        return real_step(state, *args, **kwargs)

    monkeypatch.setattr(loop, "pixel_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_paper(cfg, tmp_path, progress=False)
    monkeypatch.setattr(loop, "pixel_step", real_step)
    pixel_ckpt = tmp_path / "pretrain" / "pixel" / "checkpoints" / "latest.pt"
    assert torch.load(pixel_ckpt, map_location="cpu", weights_only=True)["step"] == 3  # step 4 is lost
    assert not (tmp_path / "stages" / "pretrain-pixel.json").exists()

    # 3. The rest: V-JEPA is not pretrained again, the pixel run resumes from its checkpoint.
    results = run_paper(cfg, tmp_path, progress=False)
    for name in OUTPUTS:
        assert (tmp_path / name).is_file(), name
    assert vjepa_ckpt.stat().st_mtime_ns == vjepa_mtime
    assert [e["event"] for e in events(tmp_path) if e["stage"] == "pretrain-vjepa"] == ["start", "done", "skipped",
                                                                                        "skipped"]
    pixel = json.loads((tmp_path / "stages" / "pretrain-pixel.json").read_text())
    assert (pixel["steps"], pixel["resumed_at_step"], pixel["steps_timed"], pixel["samples_seen"]) == (6, 3, 6, 24)
    assert 0 < pixel["seconds_at"]["3"] < pixel["seconds_at"]["6"] == pixel["train_seconds"]

    # 4. A third run recomputes nothing and rewrites nothing.
    files = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and p.name != "stages.jsonl"}
    assert run_paper(cfg, tmp_path, progress=False) == results
    assert {p: p.stat().st_mtime_ns for p in files} == files
    assert {e["event"] for e in last_run(tmp_path)} == {"skipped"}
    assert time.perf_counter() - started < 60

    # The outputs hold what the issue asks for.
    table5 = (tmp_path / "table5.md").read_text().splitlines()
    assert table5[0] == "| method | samples seen | wall time | motion top-1 | appearance top-1 |"
    assert [line.split(" | ")[0] for line in table5[2:]] == [
        "| V-JEPA (feature prediction)", "| pixel reconstruction (VideoMAE-style)", "| random init (no pretraining)",
        "| (chance)"]
    assert table5[2].split(" | ")[1] == table5[3].split(" | ")[1] == "24"  # equal samples seen: 6 steps x 4 clips
    table7 = (tmp_path / "table7.md").read_text().splitlines()
    assert table7[0].startswith("| method | motion 5 % | motion 10 % | motion 50 % | motion 100 % | appearance 5 %")
    assert " ± " not in table7[2] and len(table7) == 5  # one split: no spread to show
    assert (tmp_path / "figure5.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [c["step"] for c in saved["encoders"]["vjepa"]["curve"]] == [0, 3, 6]
    assert saved["encoders"]["pixel"]["curve"][0]["top1"] == saved["encoders"]["random_init"]["top1"]
    assert set(saved["encoders"]["vjepa"]["lowshot"]["motion"]) == {"0.05", "0.1", "0.5"}
    report = (tmp_path / "report.md").read_text()
    assert "\n".join(table5) in report and "\n".join(table7) in report and "figure5.png" in report
    assert "claims" in report and "**" in report
    assert len(list((tmp_path / "lowshot_splits").glob("*.json"))) == 6  # 2 tasks x 3 fractions
    # The VoE stage scores random init and both final models, the pixel one by its real pixel prediction.
    voe = saved["voe"]
    assert set(voe["models"]) == {"random init (no pretraining)", "V-JEPA (feature prediction)",
                                  "pixel reconstruction (VideoMAE-style)"}
    rows = voe["models"]["pixel reconstruction (VideoMAE-style)"]
    assert {r["property"] for r in rows} == {"permanence", "continuity", "constancy", "dynamics"}
    assert all(r["n"] == 2 for r in rows) and "## Violation of expectation" in report and voe["tables"] in report


def test_methods_differ_only_in_objective_and_start_from_the_random_init():
    configs = method_configs(tiny())
    a, b = (to_dict(c) for c in configs.values())
    assert {k for k in a if a[k] != b[k]} == {"objective"}
    assert (configs["vjepa"].objective, configs["pixel"].objective) == ("vjepa", "pixel")
    assert configs["vjepa"].run.keep_every == 3 and configs["vjepa"].run.log_every == 1
    configs["pixel"].optim.lr *= 2
    with pytest.raises(AssertionError, match="beyond 'objective'"):
        assert_only_objective_differs(configs)
    random_init = load_point(random_point(), configs["vjepa"]).state_dict()
    for cfg in configs.values():  # what pretrain() builds first: torch.manual_seed(run.seed), then the encoder
        torch.manual_seed(cfg.run.seed)
        encoder = build_models(cfg)[0]
        assert all(torch.equal(t, random_init[k]) for k, t in encoder.state_dict().items())


def test_the_packaged_preset_is_valid():
    cfg = load_paper_config()
    assert cfg.base == "cpu_demo" and cfg.methods == ["vjepa", "pixel"] and cfg.lowshot.fractions == [0.05, 0.1, 0.5]
    configs = method_configs(cfg)
    assert configs["pixel"].pixel.mask_ratio == 0.9 and configs["vjepa"].optim.batch_size == 16


@pytest.mark.parametrize("overrides, message", [
    (["probe.epoch=2"], "unknown key 'probe.epoch'; did you mean 'probe.epochs'?"),
    (["evaluate_every=2"], "unknown key 'evaluate_every'; did you mean 'eval_every'?"),
    (["methods=[vjepa, mae]"], "methods[1] = 'mae': use one of pixel, vjepa"),
    (["methods=[vjepa, vjepa]"], "give each method once"),
    (["lowshot.fractions=[0.05, 1.5]"], "lowshot.fractions"),
    (["probe.num_val=0"], "probe.num_val = 0: must be >= 1"),
    (["eval_every=2"], "eval_every = 2 is not a multiple of the base config's run.checkpoint_every 3"),
    (["base=cpu_tinny"], "cpu_tinny: cannot read"),
])
def test_experiment_config_is_strictly_checked(overrides, message):
    with pytest.raises(ConfigError) as info:
        method_configs(tiny(*overrides))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_key_in_an_experiment_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("base: cpu_tiny\nprobe:\n  num_trian: 8\n")
    with pytest.raises(ConfigError, match=r"exp.yaml: unknown key 'probe.num_trian'; did you mean 'probe.num_train'"):
        load_paper_config(str(path))


def test_a_base_override_is_checked_like_a_pretraining_config():
    with pytest.raises(ConfigError, match=r"^base_set optim.lerning_rate=1: unknown key 'optim.lerning_rate'; did "
                                          r"you mean 'optim.lr'"):  # the library names base_set, not a flag
        method_configs(load_paper_config(PRESET, TINY, [*TINY_BASE, "optim.lerning_rate=1"]))
    with pytest.raises(ConfigError, match=r"^base_set optim\.lr: expected KEY=VALUE"):
        method_configs(load_paper_config(PRESET, TINY, [*TINY_BASE, "optim.lr"]))


def test_other_settings_in_the_same_folder_are_refused(tmp_path):
    run_paper(tiny(), tmp_path, stop_after="pretrain-vjepa", progress=False)
    with pytest.raises(ConfigError, match=r"other settings \(first difference: experiment.probe.epochs\)"):
        run_paper(tiny("probe.epochs=2"), tmp_path, stop_after="pretrain-vjepa", progress=False)


def test_cli_errors_are_one_line(capsys):
    assert main(["experiment", "paper", "--set", "probe.epoch=2", "--out", "unused"]) == 2
    assert "error: --set probe.epoch=2: unknown key 'probe.epoch'" in capsys.readouterr().err
    assert main(["experiment", "paper", "--base-set", "optim.epoch=10", "--out", "unused"]) == 2
    err = capsys.readouterr().err  # issue #18 item 6: the flag the user typed, not --set
    assert err == "error: --base-set optim.epoch=10: unknown key 'optim.epoch'; did you mean 'optim.epochs'?\n"
