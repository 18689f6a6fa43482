"""Tables, figure and the claim verdicts of the experiment report, on hand-made results."""

from __future__ import annotations

from vjepa.experiment.report import claims, plot_figure5, table5, table7

TASKS = ("motion", "appearance")


def encoder(label, top1, low, samples=0, seconds=0.0, curve=None):
    lowshot = {t: {f: {"top1_mean": m, "top1_std": 1.0, "num_splits": 3} for f, m in low[t].items()} for t in TASKS}
    e = {"label": label, "samples_seen": samples, "train_seconds": seconds, "top1": top1, "lowshot": lowshot}
    return {**e, "curve": curve} if curve is not None else e


def results(v_motion=60.0, p_motion=40.0, v_low=70.0, p_low=30.0):
    rand = {"motion": 25.0, "appearance": 50.0}
    v_top1, p_top1 = {"motion": v_motion, "appearance": 80.0}, {"motion": p_motion, "appearance": 79.0}
    v_curve = [{"step": 0, "samples_seen": 0, "train_seconds": 0.0, "top1": rand},
               {"step": 100, "samples_seen": 1600, "train_seconds": 30.0, "top1": {"motion": 45.0, "appearance": 70}},
               {"step": 200, "samples_seen": 3200, "train_seconds": 60.0, "top1": v_top1}]
    p_curve = [{"step": 0, "samples_seen": 0, "train_seconds": 0.0, "top1": rand},
               {"step": 200, "samples_seen": 3200, "train_seconds": 40.0, "top1": p_top1}]
    low = {"0.05": 0, "0.5": 0}
    return {"tasks": {t: {"num_classes": 4, "chance": 25.0, "num_val": 1000} for t in TASKS}, "encoders": {
        "vjepa": encoder("V-JEPA", v_top1, {"motion": {"0.05": v_low, "0.5": 65.0},
                                            "appearance": {"0.05": 60.0, "0.5": 75.0}}, 3200, 60.0, v_curve),
        "pixel": encoder("pixel", p_top1, {"motion": {"0.05": p_low, "0.5": 38.0},
                                           "appearance": {"0.05": 60.0, "0.5": 74.0}}, 3200, 40.0, p_curve),
        "random_init": encoder("random", rand, {t: dict.fromkeys(low, 30.0) for t in TASKS})}}


def test_tables_have_the_paper_shapes():
    t5 = table5(results()).splitlines()
    assert t5[0] == "| method | samples seen | wall time | motion top-1 | appearance top-1 |"
    assert t5[2] == "| V-JEPA | 3,200 | 60 s | 60.0 | 80.0 |" and t5[4] == "| random | 0 | – | 25.0 | 50.0 |"
    assert t5[5] == "| (chance) | | | 25.0 | 25.0 |"
    t7 = table7(results()).splitlines()
    assert t7[0] == ("| method | motion 5 % | motion 50 % | motion 100 % | appearance 5 % | appearance 50 % | "
                     "appearance 100 % |")
    assert t7[2] == "| V-JEPA | 70.0 ± 1.0 | 65.0 ± 1.0 | 60.0 | 60.0 ± 1.0 | 75.0 ± 1.0 | 80.0 |"


def test_claims_follow_the_numbers():
    text = "\n".join(claims(results()))
    assert "motion: V-JEPA 60.0 vs pixel 40.0 (+20.0 points" in text and "**supported**" in text
    assert "appearance: V-JEPA 80.0 vs pixel 79.0 (+1.0 points" in text and "**inconclusive**" in text
    assert "after 3,200 samples and 60 s of pretraining: **not supported** on samples seen" in text  # appearance
    assert "the largest difference is on motion (+20.0); as in the paper." in text
    assert "motion: V-JEPA reaches pixel reconstruction's final top-1 (40.0" in text
    assert "after 1,600 samples and 30 s of pretraining: **supported** on samples seen" in text
    assert "motion: V-JEPA − pixel at 5 % +40.0, 50 % +27.0, 100 % +20.0 points" in text
    flipped = "\n".join(claims(results(v_motion=30.0, p_motion=60.0, v_low=30.0, p_low=70.0)))
    assert "motion: V-JEPA 30.0 vs pixel 60.0 (-30.0 points" in flipped and "**not supported**" in flipped
    only_one = dict(results(), encoders={k: v for k, v in results()["encoders"].items() if k != "pixel"})
    assert "did not pretrain both" in claims(only_one)[0]


def test_figure_is_a_png(tmp_path):
    path = plot_figure5(results(), tmp_path / "f.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
