"""The attentive-probe recipe: schedules, learning, determinism, the multi-view test rule, the written outputs."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from vjepa.core.errors import ConfigError, DataError
from vjepa.eval.features import FeatureSet, extract_features
from vjepa.eval.probe_train import ProbeRecipe, predict_probs, probe_hparams, train_attentive_probe
from vjepa.eval.report import write_eval_outputs
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.probe import AttentiveClassifier
from vjepa.weights.io import load_tensors


def _colour_clips(n: int, seed: int) -> list[dict]:
    """An easy task: class c has colour channel c bright and the others dark, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    clips = torch.randn(n, 3, 8, 32, 32, generator=g) * 0.5 - 1.0
    clips[torch.arange(n), labels] += 2.0
    return [{"clips": clips[i:i + 8], "label": labels[i:i + 8]} for i in range(0, n, 8)]


@pytest.fixture(scope="module")
def features() -> tuple[FeatureSet, FeatureSet]:
    torch.manual_seed(0)
    encoder = VideoEncoder(EncoderConfig(embed_dim=48, depth=2, num_heads=2, num_frames=8, img_size=32))
    return (extract_features(encoder, _colour_clips(48, 1), progress=False),
            extract_features(encoder, _colour_clips(24, 2), progress=False))


def test_defaults_are_the_official_recipe():
    r = ProbeRecipe()
    assert (r.epochs, r.lr, r.final_lr, r.weight_decay, r.final_weight_decay, r.clip_grad, r.depth) == (
        20, 1e-3, 0.0, 0.01, 1e-6, 1.0, 1)


def test_lr_and_weight_decay_schedules():
    r, total = ProbeRecipe(), 100
    lr1, wd1 = probe_hparams(r, 1, total)
    assert lr1 == pytest.approx(1e-3 * 0.5 * (1 + torch.cos(torch.tensor(torch.pi / 100)).item()))
    assert wd1 < 0.01 and wd1 == pytest.approx(1e-6 + (0.01 - 1e-6) * 0.5 * (1 + torch.cos(torch.tensor(
        torch.pi / 100)).item()))
    assert probe_hparams(r, 50, total) == pytest.approx((5e-4, (0.01 + 1e-6) / 2))
    assert probe_hparams(r, total, total) == pytest.approx((0.0, 1e-6))  # no warmup, ends at the final values
    lrs = [probe_hparams(r, k, total)[0] for k in range(1, total + 1)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_probe_learns_an_easy_task_and_logs_the_schedule(features):
    result = train_attentive_probe(*features, 3, ProbeRecipe(epochs=8, batch_size=8), progress=False)
    assert result.metrics["top1"] >= 80.0  # chance is 33 %
    assert result.history[-1]["train_acc"] >= 80.0
    assert result.history[0]["train_loss"] > result.history[-1]["train_loss"]
    assert [h["epoch"] for h in result.history] == list(range(1, 9)) and "val_top1" in result.history[0]
    assert result.history[-1]["lr"] == 0.0 and result.history[-1]["weight_decay"] == pytest.approx(1e-6)
    assert result.config.num_heads == 2 and result.config.depth == 1
    assert result.num_train == 48 and result.num_val == 24


def test_training_is_deterministic_and_leaves_the_global_rng_alone(features):
    recipe = ProbeRecipe(epochs=2, batch_size=8, seed=3)
    state = torch.get_rng_state()
    a = train_attentive_probe(*features, 3, recipe, progress=False)
    assert torch.equal(torch.get_rng_state(), state)
    b = train_attentive_probe(*features, 3, recipe, progress=False)
    assert a.history == b.history
    assert all(torch.equal(x, y) for x, y in zip(a.probe.state_dict().values(), b.probe.state_dict().values()))
    c = train_attentive_probe(*features, 3, ProbeRecipe(epochs=2, batch_size=8, seed=4), progress=False)
    assert not torch.equal(a.probe.linear.weight, c.probe.linear.weight)


def test_test_prediction_averages_softmax_over_views(features):
    train, val = features
    two_views = FeatureSet([val.views[0], val.views[0].flip(1) * 0.5], val.labels, dict(val.meta))
    result = train_attentive_probe(train, two_views, 3, ProbeRecipe(epochs=1, batch_size=8), progress=False)
    with torch.no_grad():
        expected = (F.softmax(result.probe(two_views.views[0]), 1) + F.softmax(result.probe(two_views.views[1]), 1)) / 2
    torch.testing.assert_close(result.val_probs, expected)
    torch.testing.assert_close(predict_probs(result.probe, two_views, batch_size=5), expected)


def test_bad_settings_are_user_errors(features):
    train, val = features
    with pytest.raises(ConfigError, match="probe.epochs"):
        ProbeRecipe(epochs=0)
    with pytest.raises(ConfigError, match="num_heads 5"):
        train_attentive_probe(train, val, 3, ProbeRecipe(num_heads=5), progress=False)
    with pytest.raises(DataError, match="num_classes"):
        train_attentive_probe(train, val, 2, ProbeRecipe(epochs=1), progress=False)
    with pytest.raises(ConfigError, match="num_heads is not set"):
        train_attentive_probe(FeatureSet(train.views, train.labels), val, 3, progress=False)


def test_eval_outputs(features, tmp_path):
    result = train_attentive_probe(*features, 3, ProbeRecipe(epochs=1, batch_size=8), progress=False)
    settings = {"num_frames": 16, "num_segments": 2, "num_views": 3, "checkpoint_key": "target_encoder"}
    line = write_eval_outputs(tmp_path, result, settings, class_names=["r", "g", "b"])
    m = result.metrics
    assert line == (f"top1 {m['top1']:.1f}  top5 {m['top5']:.1f}  mean-class {m['mean_class_acc']:.1f}  "
                    "(train 48, val 24, 16x2x3)")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert {"top1", "top5", "mean_class_acc", "num_train", "num_val", "settings", "history"} <= set(saved)
    assert saved["settings"] == settings and set(saved["per_class_acc"]) == {"r", "g", "b"}
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    config = json.loads((tmp_path / "probe" / "config.json").read_text())
    probe = AttentiveClassifier(result.config)
    tensors = load_tensors(tmp_path / "probe" / "model.safetensors")
    probe.load_state_dict({k.removeprefix("probe."): v for k, v in tensors.items()})
    assert config["probe"]["num_classes"] == 3 and config["recipe"]["epochs"] == 1
    with torch.no_grad():
        torch.testing.assert_close(probe(features[1].views[0]), result.probe(features[1].views[0]))
