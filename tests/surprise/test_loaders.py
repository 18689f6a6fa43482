"""Surprise from every source with a predictor (:func:`vjepa.weights.predictive.load_predictive`): the official
reference checkpoint, a transformers ``VJEPA2Model`` folder, our training checkpoints (latent and pixel), an export
folder with a predictor, and ``none``; each scored clip must equal the hand-wired modules' score."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.support.official_fixture import official_fixture
from vjepa.config import PretrainConfig, set_values, to_dict
from vjepa.core import formats
from vjepa.models.pixel_decoder import PixelDecoder
from vjepa.pretrain.build import build_models
from vjepa.surprise.score import SurpriseSettings, score_clip
from vjepa.weights.official import load_official_pretrain
from vjepa.weights.predictive import MASK_INDEX, load_predictive

SETTINGS = SurpriseSettings(frame_step=1, stride=2, batch_size=4)


def clip(frames: int, size: int, seed: int = 3) -> torch.Tensor:
    return torch.randint(0, 256, (frames, size, size, 3), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


def test_official_reference_checkpoint():
    ref = official_fixture()
    kwargs = ref.encoder_kwargs()
    model = load_predictive(ref.checkpoint, **kwargs)
    assert model.kind == "official-pretrain" and model.objective == "latent" and model.mask_index == 1
    official = load_official_pretrain(ref.checkpoint, **kwargs)
    video = clip(12, 64)
    got = score_clip(video, model.encoder, model.predictor, model.target_encoder, SETTINGS)
    want = score_clip(video, official.encoder, official.predictor, official.target_encoder, SETTINGS)
    torch.testing.assert_close(got.series[0].values, want.series[0].values)
    # context and target encoders are the file's two encoders, not one of them twice
    assert not torch.equal(model.encoder.patch_embed.proj.weight, model.target_encoder.patch_embed.proj.weight)


def test_hf_folder_uses_its_one_encoder_and_mask_token_1(tmp_path):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.VJEPA2Config(crop_size=32, frames_per_clip=4, patch_size=8, tubelet_size=2, hidden_size=64,
                                    num_attention_heads=2, num_hidden_layers=1, mlp_ratio=3.0, pred_hidden_size=48,
                                    pred_num_attention_heads=2, pred_num_hidden_layers=1, pred_num_mask_tokens=3,
                                    pred_zero_init_mask_tokens=False)
    torch.manual_seed(0)
    transformers.VJEPA2Model(cfg).save_pretrained(tmp_path / "hf")
    model = load_predictive(tmp_path / "hf")
    assert model.kind == "hf-vjepa2" and model.target_encoder is model.encoder and MASK_INDEX == 1
    settings = SurpriseSettings(frame_step=1, stride=2, mask_index=model.mask_index)
    series = score_clip(clip(8, 32), model.encoder, model.predictor, model.target_encoder, settings).series[0]
    other = score_clip(clip(8, 32), model.encoder, model.predictor, model.target_encoder,
                       SurpriseSettings(frame_step=1, stride=2, mask_index=0)).series[0]
    assert series.values.shape == (3,) and torch.isfinite(series.values).all()
    assert not torch.equal(series.values, other.values)  # the token matters: 1 is HF's


def tiny_config(objective: str) -> PretrainConfig:
    values = {"objective": objective, "model.arch": "custom", "model.embed_dim": 16, "model.depth": 1,
              "model.num_heads": 2, "model.pred_depth": 1, "model.pred_embed_dim": 16, "model.patch_size": 8,
              "data.num_frames": 4, "data.crop_size": 16, "pixel.decoder_depth": 1}
    return set_values(PretrainConfig(), values, "test")


@pytest.mark.parametrize("objective", ["latent", "pixel"])
def test_training_checkpoints(tmp_path, objective):
    cfg = tiny_config("pixel" if objective == "pixel" else "vjepa")
    torch.manual_seed(1)
    encoder, predictor, target = build_models(cfg)
    with torch.no_grad():  # distinct context and target encoders, random mask tokens
        for p in [*target.parameters(), *predictor.parameters()]:
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path / "latest.pt"
    torch.save({"format": formats.TRAIN_CHECKPOINT, "step": 1, "encoder": encoder.state_dict(),
                "predictor": predictor.state_dict(), "target_encoder": target.state_dict(),
                "config": to_dict(cfg)}, path)
    model = load_predictive(path)
    assert model.kind == "train-checkpoint" and model.objective == objective
    assert isinstance(model.predictor, PixelDecoder) == (objective == "pixel")
    assert (model.target_encoder is None) == (objective == "pixel")
    video = clip(8, 16)
    got = score_clip(video, model.encoder, model.predictor, model.target_encoder, SETTINGS)
    want = score_clip(video, encoder.eval(), predictor.eval(), None if objective == "pixel" else target.eval(),
                      SETTINGS)
    torch.testing.assert_close(got.series[0].values, want.series[0].values)


def test_export_with_predictor_and_none(tmp_path):
    from dataclasses import asdict

    from vjepa.weights.io import save_modules

    model = load_predictive("none", arch="custom", embed_dim=16, depth=1, num_heads=2, num_frames=4, img_size=16,
                            patch_size=8, pred_depth=1, pred_embed_dim=16, seed=2)
    assert model.kind == "none"
    assert torch.equal(model.target_encoder.patch_embed.proj.weight, model.encoder.patch_embed.proj.weight)
    again = load_predictive("none", arch="custom", embed_dim=16, depth=1, num_heads=2, num_frames=4, img_size=16,
                            patch_size=8, pred_depth=1, pred_embed_dim=16, seed=2)
    assert torch.equal(again.predictor.predictor_embed.weight, model.predictor.predictor_embed.weight)  # seeded
    target = copy.deepcopy(model.encoder)
    with torch.no_grad():
        for p in target.parameters():
            p.add_(0.05)
    save_modules(tmp_path / "export", {"encoder": model.encoder, "target_encoder": target,
                                       "predictor": model.predictor},
                 {"format": formats.EXPORT, "encoder": asdict(model.encoder.cfg),
                  "predictor": asdict(model.predictor.cfg)})
    loaded = load_predictive(tmp_path / "export")
    video = clip(8, 16)
    got = score_clip(video, loaded.encoder, loaded.predictor, loaded.target_encoder, SETTINGS)
    want = score_clip(video, model.encoder, model.predictor, target, SETTINGS)
    torch.testing.assert_close(got.series[0].values, want.series[0].values)


def test_model_surprise_method_matches_the_library():
    import vjepa

    ref = official_fixture()
    kwargs = ref.encoder_kwargs()
    model = vjepa.load(ref.checkpoint, **kwargs)
    video = clip(12, 64)
    result = model.surprise(video, frame_step=1, context_frames=(2, 4))
    official = load_official_pretrain(ref.checkpoint, **kwargs)
    want = score_clip(video, official.encoder, official.predictor, official.target_encoder,
                      SurpriseSettings(frame_step=1, context_frames=(2, 4)))
    assert [s.context_frames for s in result.series] == [2, 4]
    torch.testing.assert_close(result.series[1].values, want.series[1].values)
