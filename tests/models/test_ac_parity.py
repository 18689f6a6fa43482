"""Number-for-number parity of the V-JEPA 2-AC predictor and objective with the official code (facebookresearch/
vjepa2@c2963a4), on reference vectors it produced.

Data-driven: models are built from the fixture's config.json, so ``VJEPA_AC_FIXTURE=/other/set pytest -k
ac_parity`` checks another set (other sizes, extrinsics, more rollout steps) with the same code.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from support.ac_fixture import ac_fixture

import vjepa.models.ac_predictor as ac_module
from vjepa.core.errors import CheckpointError
from vjepa.weights.official_ac import load_official_ac
from vjepa.world.objective import ac_objective, encode_frames, normalize, teacher_forcing

ATOL = 1e-5


def close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual.to(expected.dtype), expected, atol=ATOL, rtol=0)


@pytest.fixture(scope="module")
def ref():
    return ac_fixture()


@pytest.fixture(scope="module")
def models(ref):
    return load_official_ac(ref.weights, ref.encoder_config(), ref.predictor_config())


def inputs(ref) -> dict:
    v = ref.vectors
    return dict(actions=v["input/actions"], states=v["input/states"], extrinsics=ref.extrinsics())


@pytest.fixture(scope="module")
def outputs(ref, models):
    encoder, predictor = models
    v = ref.vectors
    with torch.no_grad():
        objective = ac_objective(encoder, predictor, v["input/clips"], **inputs(ref),
                                 auto_steps=ref.config["auto_steps"])
        raw = teacher_forcing(predictor, objective.h, **inputs(ref), normalize_reps=False)
        features = encode_frames(encoder, v["input/clips"])
    return dict(objective=objective, raw=raw, features=features)


def teacher_forcing_raw(ref, models) -> torch.Tensor:
    with torch.no_grad():
        return teacher_forcing(models[1], ref.vectors["target/features_layernormed"], **inputs(ref),
                               normalize_reps=False)


def test_ac_parity_target_features(ref, outputs):
    close(outputs["features"], ref.vectors["target/features"])
    close(normalize(outputs["features"]), ref.vectors["target/features_layernormed"])
    close(outputs["objective"].h, ref.vectors["target/features_layernormed"])


def test_ac_parity_teacher_forcing(ref, outputs):
    close(outputs["raw"], ref.vectors["predictor/teacher_forcing_raw"])
    close(outputs["objective"].z_tf, ref.vectors["predictor/teacher_forcing"])


def test_ac_parity_rollout(ref, outputs):
    z_ar = outputs["objective"].z_ar
    assert z_ar.shape[1] == ref.config["auto_steps"] * ref.tokens_per_frame
    close(z_ar, ref.vectors["predictor/rollout"])


def test_ac_parity_losses(ref, outputs):
    objective = outputs["objective"]
    close(objective.teacher_forcing.reshape(1), ref.vectors["loss/teacher_forcing"])
    close(objective.rollout.reshape(1), ref.vectors["loss/rollout"])
    close(objective.total.reshape(1), ref.vectors["loss/total"])


def test_ac_parity_attention_mask(ref):
    T = ref.vectors["input/clips"].shape[2]
    mask = ac_module.block_causal_mask(T, ref.cond_tokens + ref.tokens_per_frame)
    assert torch.equal(mask.to(torch.uint8), ref.vectors["attention/block_causal_mask"])


def test_ac_parity_broken_by_a_non_causal_mask(ref, models, monkeypatch):
    """The parity tests can fail: letting every step see the future changes the predictions."""
    monkeypatch.setattr(ac_module, "block_causal_mask", lambda n, k, device=None: torch.ones(n * k, n * k).bool())
    error = (teacher_forcing_raw(ref, models) - ref.vectors["predictor/teacher_forcing_raw"]).abs().max()
    assert error > 100 * ATOL


def test_ac_parity_broken_without_temporal_rope_on_conditioning(ref, models, monkeypatch):
    """Action and state tokens must turn with their step's time position; at time 0 the outputs differ."""
    original = ac_module.ac_rope_tables

    def without_time_on_conditioning(steps, grid, cond_tokens, head_dim, layout="tiled", device=None):
        cos, sin = original(steps, grid, cond_tokens, head_dim, layout, device)
        per_step = cond_tokens + grid[0] * grid[1]
        cond = (torch.arange(steps * per_step) % per_step) < cond_tokens
        return cos.masked_fill(cond[:, None], 1.0), sin.masked_fill(cond[:, None], 0.0)

    monkeypatch.setattr(ac_module, "ac_rope_tables", without_time_on_conditioning)
    error = (teacher_forcing_raw(ref, models) - ref.vectors["predictor/teacher_forcing_raw"]).abs().max()
    assert error > 100 * ATOL


def test_ac_parity_loads_a_nested_torch_checkpoint(ref, tmp_path):
    """The released layout: ``encoder`` / ``predictor`` dicts with DDP prefixes, read with weights_only."""
    flat = load_file(str(ref.weights))
    nested = {name: {f"module.backbone.{k[len(name) + 1:]}": v for k, v in flat.items() if k.startswith(name + ".")}
              for name in ("encoder", "predictor")}
    path = tmp_path / "vjepa2-ac.pt"
    torch.save(nested | {"epoch": 3}, path)
    _, predictor = load_official_ac(path, ref.encoder_config(), ref.predictor_config())
    with torch.no_grad():
        raw = teacher_forcing(predictor, ref.vectors["target/features_layernormed"], **inputs(ref),
                              normalize_reps=False)
    close(raw, ref.vectors["predictor/teacher_forcing_raw"])


@pytest.mark.parametrize("damage", ["missing", "misshaped"])
def test_ac_parity_load_refuses_a_bad_checkpoint(ref, tmp_path, damage):
    flat = load_file(str(ref.weights))
    key = "predictor.action_encoder.weight"
    if damage == "missing":
        del flat[key]
    else:
        flat[key] = torch.zeros(flat[key].shape[0], flat[key].shape[1] + 1)
    path = tmp_path / "bad.safetensors"
    save_file(flat, str(path))
    with pytest.raises(CheckpointError) as info:
        load_official_ac(path, ref.encoder_config(), ref.predictor_config())
    message = str(info.value)
    assert "\n" not in message and "action_encoder.weight" in message and str(path) in message
