"""The pixel-reconstruction objective at tiny scale: target layout and normalisation, masked loss, a few steps."""

from __future__ import annotations

import pytest
import torch

from vjepa.config import load_config
from vjepa.core.errors import CheckpointError
from vjepa.data.synthetic import SyntheticVideos
from vjepa.data.transforms import IMAGENET_MEAN, IMAGENET_STD, EvalVideoTransform
from vjepa.masks.tube import TubeMaskGenerator
from vjepa.models.encoder import PatchEmbed3D
from vjepa.pretrain.build import build_models
from vjepa.pretrain.loop import pretrain
from vjepa.pretrain.optim import build_optimizer
from vjepa.pretrain.pixel_loss import patchify, pixel_targets
from vjepa.pretrain.pixel_step import pixel_step
from vjepa.pretrain.step import Batch, TrainState

PIXEL = ["objective=pixel", "pixel.mask_ratio=0.75", "optim.micro_batch_size=null"]


def test_patchify_matches_a_hand_computed_unfold():
    video = torch.randn(2, 3, 4, 32, 48)
    patches = patchify(video, patch_size=16, tubelet_size=2)
    assert patches.shape == (2, 2 * 2 * 3, 2 * 16 * 16 * 3)
    for b in range(2):
        n = 0
        for t in range(2):  # token order t-major, then h, then w
            for h in range(2):
                for w in range(3):
                    tube = video[b, :, 2 * t:2 * t + 2, 16 * h:16 * h + 16, 16 * w:16 * w + 16]  # (C, ts, p, p)
                    assert torch.equal(patches[b, n], tube.permute(1, 2, 3, 0).reshape(-1))  # (t, h, w, c)
                    n += 1
    # The same with Tensor.unfold, one axis at a time.
    u = video.unfold(2, 2, 2).unfold(3, 16, 16).unfold(4, 16, 16)  # (B, C, t, h, w, ts, p, p)
    torch.testing.assert_close(patches, u.permute(0, 2, 3, 4, 5, 6, 7, 1).reshape(2, 12, -1), rtol=0, atol=0)


def test_token_order_and_values_match_the_patch_embedding():
    embed = PatchEmbed3D(3, 8, patch_size=16, tubelet_size=2)
    video = torch.randn(2, 3, 4, 32, 32)
    w = embed.proj.weight.permute(0, 2, 3, 4, 1).reshape(8, -1)  # conv weight (D, c, t, h, w) -> (D, t·h·w·c)
    expected = patchify(video, 16, 2) @ w.T + embed.proj.bias
    torch.testing.assert_close(embed(video), expected, rtol=1e-4, atol=1e-4)


def test_targets_are_normalised_per_patch():
    video = torch.randn(2, 3, 4, 32, 32) * 3 + 1
    targets = pixel_targets(video, 16, 2)
    assert targets.shape == (2, 8, 1536) and targets.dtype == torch.float32
    torch.testing.assert_close(targets.mean(-1), torch.zeros(2, 8), rtol=0, atol=1e-5)
    torch.testing.assert_close(targets.var(-1, unbiased=False), torch.ones(2, 8), rtol=0, atol=1e-4)
    # The ImageNet normalisation is undone first: normalising the [0, 1] pixels by hand gives the same targets.
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1, 1)
    raw = patchify(video * std + mean, 16, 2)
    by_hand = (raw - raw.mean(-1, keepdim=True)) / (raw.var(-1, unbiased=False, keepdim=True) + 1e-6).sqrt()
    torch.testing.assert_close(targets, by_hand)
    torch.testing.assert_close(pixel_targets(video, 16, 2, normalize=False), raw)


def setup(*overrides: str):
    cfg = load_config("cpu_tiny", [*PIXEL, *overrides])
    torch.manual_seed(0)
    encoder, decoder, target = build_models(cfg)
    state = TrainState(encoder, decoder, target, build_optimizer(encoder, decoder, cfg.optim))
    d = cfg.data
    clips = SyntheticVideos(4, num_frames=d.num_frames, size=d.synthetic.size)
    view = EvalVideoTransform(d.crop_size, num_views=1)
    video = torch.stack([view(clips[i]["video"])[0] for i in range(4)])  # (4, 3, T, H, W), normalised
    vis, msk = TubeMaskGenerator(encoder.cfg.grid, cfg.pixel.mask_ratio, seed=1)(4, step=0)
    return cfg, state, Batch(video, vis, msk)


def test_loss_is_the_mse_on_the_masked_tubelets_only():
    cfg, state, batch = setup()
    with torch.no_grad():
        latent = state.encoder(batch.video, keep_idx=batch.ctx_idx[0])
        preds = state.predictor(latent, batch.ctx_idx[0], batch.tgt_idx[0])
    targets = pixel_targets(batch.video, 16, 2)
    masked = torch.stack([targets[b, batch.tgt_idx[0][b]] for b in range(4)])
    metrics = pixel_step(state, [batch], cfg.optim, cfg.pixel)
    assert metrics.loss == pytest.approx(float(((preds - masked) ** 2).mean()), rel=1e-5)
    assert state.step == 1 and metrics.encoder_grad_norm > 0 and metrics.decoder_grad_norm > 0


def test_loss_decreases_over_a_few_steps():
    cfg, state, batch = setup("optim.warmup_epochs=0", "optim.start_lr=0.003", "optim.lr=0.003")
    losses = [pixel_step(state, [batch], cfg.optim, cfg.pixel).loss for _ in range(15)]
    assert losses[0] == pytest.approx(1.0, abs=0.1)  # normalised targets, near-zero predictions at init
    assert all(b < a for a, b in zip(losses, losses[1:]))  # one fixed batch: every step lowers the loss
    assert losses[-1] < 0.9 * losses[0]


def test_gradient_accumulation_equals_full_batch():
    cfg, full, batch = setup()
    _, accum, _ = setup()
    m_full = pixel_step(full, [batch], cfg.optim, cfg.pixel)
    halves = [Batch(batch.video[s], [batch.ctx_idx[0][s]], [batch.tgt_idx[0][s]]) for s in (slice(0, 2), slice(2, 4))]
    m_accum = pixel_step(accum, halves, cfg.optim, cfg.pixel)
    assert m_full.loss == pytest.approx(m_accum.loss, abs=1e-6)
    for a, b in zip(full.encoder.parameters(), accum.encoder.parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_pretrain_with_the_pixel_objective_exports_the_encoder_and_refuses_a_vjepa_resume(tmp_path):
    cfg = load_config("cpu_tiny", [*PIXEL, "run.max_steps=3", "run.checkpoint_every=1"])
    summary = pretrain(cfg, tmp_path, progress=False)
    assert summary["steps"] == 3 and summary["final_loss"] is not None
    ckpt = torch.load(tmp_path / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)
    assert ckpt["config"]["objective"] == "pixel" and "decoder_head.weight" in ckpt["predictor"]
    from vjepa.eval.checkpoints import load_frozen_encoder

    exported = load_frozen_encoder(tmp_path / "export")
    for name, tensor in exported.state_dict().items():
        assert torch.equal(tensor, ckpt["encoder"][name]), name
    with pytest.raises(CheckpointError, match="another objective"):
        pretrain(load_config("cpu_tiny", ["run.max_steps=4", "optim.micro_batch_size=null"]), tmp_path,
                 progress=False)


def test_an_interrupted_pixel_run_resumes_bitwise_identically(tmp_path, monkeypatch):
    import vjepa.pretrain.loop as loop

    cfg = load_config("cpu_tiny", [*PIXEL, "run.max_steps=5", "run.checkpoint_every=2"])
    pretrain(cfg, tmp_path / "straight", progress=False)
    real_step = loop.pixel_step

    def interrupted(state, *args, **kwargs):
        if state.step == 3:  # after the step-2 checkpoint; step 3 is lost
            raise KeyboardInterrupt
        return real_step(state, *args, **kwargs)

    monkeypatch.setattr(loop, "pixel_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg, tmp_path / "killed", progress=False)
    monkeypatch.setattr(loop, "pixel_step", real_step)
    assert pretrain(cfg, tmp_path / "killed", progress=False)["steps_this_run"] == 3
    a, b = (torch.load(tmp_path / run / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)
            for run in ("straight", "killed"))
    for key in ("encoder", "predictor"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name}"
    assert a["step"] == b["step"] == 5
