"""``vjepa pretrain --init`` (run.init): strict loading, fresh optimizer, mask-token remapping, refused inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vjepa.cli.main import main
from vjepa.config import load_config
from vjepa.core.errors import CheckpointError
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.pretrain.build import build_models
from vjepa.pretrain.init import init_from_checkpoint, remap_mask_tokens
from vjepa.pretrain.loop import pretrain
from vjepa.weights.io import SHOWN, load_state_strict, save_modules

TINY = ["run.dtype=float32", "run.log_every=1", "run.health_every=0"]
THREE_MASKS = 'masks.blocks=[{"spatial_scale": [0.25, 0.25], "temporal_scale": [1.0, 1.0], "num_blocks": 1}, ' \
              '{"spatial_scale": [0.25, 0.25], "temporal_scale": [1.0, 1.0], "num_blocks": 1}, ' \
              '{"spatial_scale": [0.5, 0.5], "temporal_scale": [1.0, 1.0], "num_blocks": 1}]'


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A 2-step cpu_tiny pretraining checkpoint (its optimizer state has step 2)."""
    out = tmp_path_factory.mktemp("src")
    pretrain(load_config("cpu_tiny", [*TINY, "run.max_steps=2"]), out, progress=False)
    return out / "checkpoints" / "latest.pt"


def test_init_loads_every_module_and_resets_optimizer(source, tmp_path):
    src = torch.load(source, weights_only=True)
    cfg = load_config("cpu_tiny", [*TINY, f"run.init={source}", "run.max_steps=1", "optim.lr=1e-12",
                                   "optim.start_lr=0", "optim.weight_decay=0"])
    torch.manual_seed(0)
    models = build_models(cfg)
    init_from_checkpoint(source, *models)
    for name, module in zip(("encoder", "predictor", "target_encoder"), models):
        own = module.state_dict()
        assert all(torch.equal(own[k], src[name][k]) for k in src[name]), name
    pretrain(cfg, tmp_path / "run", progress=False)
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=True)
    assert ckpt["step"] == 1  # step 0 + one step: the schedule starts afresh
    assert {int(s["step"]) for s in ckpt["optimizer"]["state"].values()} == {1}  # fresh Adam moments
    assert src["optimizer"]["state"][0]["step"] == 2
    # lr 0 at step 1 of the fresh warmup: the target encoder moved only through the EMA towards an unchanged encoder
    assert all(torch.allclose(ckpt["encoder"][k], src["encoder"][k], atol=1e-6) for k in src["encoder"])


def test_a_missing_key_fails(source, tmp_path):
    src = torch.load(source, weights_only=True)
    del src["encoder"]["blocks.0.attn.qkv.weight"]
    broken = tmp_path / "broken.pt"
    torch.save(src, broken)
    models = build_models(load_config("cpu_tiny", TINY))
    with pytest.raises(CheckpointError, match=r"\[encoder\] does not fit the model: missing keys: blocks.0.attn.qkv"):
        init_from_checkpoint(broken, *models)


def test_official_file_with_ten_mask_tokens_loads_into_two(source, tmp_path):
    """The V-JEPA 2 case: released files hold 10 mask tokens, the recipe uses 2 mask configurations."""
    src = torch.load(source, weights_only=True)
    pred = dict(src["predictor"])
    for j in range(2, 10):
        pred[f"mask_tokens.{j}"] = torch.full_like(pred["mask_tokens.0"], float(j))
    official = {"encoder": {f"module.backbone.{k}": v for k, v in src["encoder"].items()},
                "predictor": {f"module.{k}": v for k, v in pred.items()},
                "target_encoder": {f"module.backbone.{k}": v for k, v in src["target_encoder"].items()},
                "epoch": 3}
    torch.save(official, tmp_path / "official.pth.tar")
    models = build_models(load_config("cpu_tiny", TINY))
    init_from_checkpoint(tmp_path / "official.pth.tar", *models)
    assert len(models[1].mask_tokens) == 2
    assert torch.equal(models[1].mask_tokens[1], src["predictor"]["mask_tokens.1"])


def test_mask_token_remap_rules():
    ten = {f"mask_tokens.{j}": torch.full((1, 1, 4), float(j)) for j in range(10)} | {"x": torch.zeros(1)}
    two = remap_mask_tokens(ten, 2)
    assert sorted(k for k in two if k.startswith("mask")) == ["mask_tokens.0", "mask_tokens.1"]
    assert two["mask_tokens.1"][0, 0, 0] == 1.0 and "x" in two
    three = remap_mask_tokens({k: ten[k] for k in ("mask_tokens.0", "mask_tokens.1")}, 3)
    assert [float(three[f"mask_tokens.{j}"][0, 0, 0]) for j in range(3)] == [0.0, 1.0, 0.0]  # cycled


def test_two_tokens_into_three_mask_configurations(source):
    models = build_models(load_config("cpu_tiny", [*TINY, THREE_MASKS]))
    init_from_checkpoint(source, *models)
    src = torch.load(source, weights_only=True)["predictor"]
    assert torch.equal(models[1].mask_tokens[2], src["mask_tokens.0"])


def test_probe_checkpoints_are_refused_in_one_line(tmp_path, capsys):
    probe = AttentiveClassifier(ProbeConfig(embed_dim=48, num_heads=2, num_classes=3))
    folder = save_modules(tmp_path / "probe", {"probe": probe}, {"format": "probe"})
    torch.save({"classifier": probe.state_dict(), "epoch": 1}, tmp_path / "probe.pth.tar")
    for path in (folder, tmp_path / "probe.pth.tar"):
        code = main(["pretrain", "--config", "cpu_tiny", "--init", str(path), "--out", str(tmp_path / "o"),
                     "--no-progress", "--set", "run.max_steps=1"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "is a probe or fine-tuning checkpoint" in err, err


def test_out_holding_another_run_is_refused(source, tmp_path, capsys):
    args = ["pretrain", "--config", "cpu_tiny", "--out", str(tmp_path / "o"), "--no-progress", "--set",
            "run.max_steps=1", "--set", "run.dtype=float32"]
    assert main(args) == 0  # a run from scratch
    capsys.readouterr()
    assert main([*args, "--init", str(source)]) == 2
    assert "run.init=None, not" in capsys.readouterr().err


def test_cli_init_runs_from_step_zero(source, tmp_path):
    assert main(["pretrain", "--config", "cpu_tiny", "--init", str(source), "--out", str(tmp_path / "o"),
                 "--no-progress", "--set", "run.max_steps=1", "--set", "run.dtype=float32"]) == 0
    ckpt = torch.load(tmp_path / "o" / "checkpoints" / "latest.pt", weights_only=True)
    assert ckpt["step"] == 1 and ckpt["config"]["run"]["init"] == str(source)


@pytest.mark.parametrize("size, theirs", [
    (["model.embed_dim=64", "model.num_heads=4"], "width 64, depth 2, 4 heads"),
    (["model.num_heads=4"], "width 48, depth 2, 4 heads"),  # same tensors, other heads: still not the same model
])
def test_another_models_checkpoint_is_one_short_line(source, tmp_path, capsys, size, theirs):
    """Issue #18 item 10: both sizes, not every tensor (the strict loader's lists stop after a few)."""
    code = main(["pretrain", "--config", "cpu_tiny", "--init", str(source), "--out", str(tmp_path / "o"),
                 "--no-progress", *[a for s in [*size, "run.max_steps=1"] for a in ("--set", s)]])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and len(err) < 400, err
    assert f"holds an encoder of width 48, depth 2, 2 heads, but this run's model is {theirs}" in err, err
    assert not (tmp_path / "o" / "checkpoints").exists()


def test_strict_loading_lists_a_few_tensors_then_counts_the_rest(source):
    state = torch.load(source, weights_only=True)["predictor"]
    models = build_models(load_config("cpu_tiny", [*TINY, "model.pred_embed_dim=64"]))
    with pytest.raises(CheckpointError) as e:
        load_state_strict(models[1], state, "ckpt [predictor]")
    message = str(e.value)
    mismatched = sum(tuple(v.shape) != tuple(models[1].state_dict()[k].shape) for k, v in state.items())
    assert mismatched > SHOWN and message.count(") vs (") == SHOWN and f"... and {mismatched - SHOWN} more" in message
