"""The surprise series is the definition: hand computations from the encoder, predictor and target encoder."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from vjepa.core.errors import ConfigError, DataError
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.pixel_decoder import PixelDecoder, pixel_decoder_config
from vjepa.models.registry import create_predictor
from vjepa.pretrain.pixel_loss import pixel_targets
from vjepa.surprise.score import SurpriseSettings, normalise_clip, score_clip

ENC = EncoderConfig(embed_dim=16, depth=1, num_heads=2, patch_size=8, tubelet_size=2, num_frames=4, img_size=16)


def tiny_jepa(seed: int = 0):
    torch.manual_seed(seed)
    encoder = VideoEncoder(ENC).eval()
    predictor = create_predictor(ENC, depth=1, embed_dim=16, num_heads=2, zero_init_mask_tokens=False).eval()
    target = copy.deepcopy(encoder)
    with torch.no_grad():  # a target that differs from the context encoder, as after EMA updates
        for p in target.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return encoder, predictor, target


def random_clip(frames: int, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (frames, 16, 16, 3), generator=gen, dtype=torch.uint8)


def hand_surprise(encoder, predictor, target, window: torch.Tensor, context_frames: int) -> float:
    """One window (3, W, H, W') by hand: 4 tokens per tubelet time step at 16 px with patch 8."""
    video = window[None]
    n_ctx = context_frames // 2 * 4
    n_all = window.shape[1] // 2 * 4
    ctx_idx, tgt_idx = torch.arange(n_ctx)[None], torch.arange(n_ctx, n_all)[None]
    with torch.no_grad():
        h = target(video)
        h = F.layer_norm(h, (h.shape[-1],))[:, n_ctx:]
        z = encoder(video, keep_idx=ctx_idx)
        pred = predictor(z, ctx_idx, tgt_idx, 1, encoder.token_grid(video))  # mask token 1, the default  # positions of a longer window
    return float((pred - h).abs().mean())


def test_surprise_series_equals_hand_computation():
    encoder, predictor, target = tiny_jepa()
    clip = random_clip(12)
    settings = SurpriseSettings(frame_step=2, window=4, stride=1, context_frames=(2,), batch_size=2)
    result = score_clip(clip, encoder, predictor, target, settings)
    video = normalise_clip(clip)[:, ::2]  # 6 sampled frames -> windows starting at 0, 1, 2
    expected = [hand_surprise(encoder, predictor, target, video[:, s : s + 4], 2) for s in range(3)]
    torch.testing.assert_close(result.series[0].values, torch.tensor(expected), rtol=1e-5, atol=1e-6)
    assert result.frame_ranges == ((0, 6), (2, 8), (4, 10))
    assert result.mean[2] == pytest.approx(sum(expected) / 3, rel=1e-5)
    assert result.max[2] == pytest.approx(max(expected), rel=1e-5)
    assert result.objective == "latent"


def test_surprise_several_context_lengths_and_batches_agree():
    encoder, predictor, target = tiny_jepa()
    clip = random_clip(16)
    settings = SurpriseSettings(frame_step=1, window=8, stride=2, context_frames=(2, 4, 6), batch_size=1)
    one = score_clip(clip, encoder, predictor, target, settings)
    many = score_clip(clip, encoder, predictor, target, SurpriseSettings(1, 8, 2, (2, 4, 6), batch_size=16))
    assert [s.context_frames for s in one.series] == [2, 4, 6]
    for a, b in zip(one.series, many.series):
        torch.testing.assert_close(a.values, b.values, rtol=1e-5, atol=1e-6)
    video = normalise_clip(clip)
    for c in (2, 4, 6):
        expected = [hand_surprise(encoder, predictor, target, video[:, s : s + 8], c) for s in range(0, 9, 2)]
        torch.testing.assert_close(one.for_context(c).values, torch.tensor(expected), rtol=1e-5, atol=1e-6)


def test_surprise_context_holds_only_the_first_frames():
    encoder, predictor, target = tiny_jepa()
    seen = []
    predictor.register_forward_hook(lambda module, args, out: seen.append(args[0].clone()))
    settings = SurpriseSettings(frame_step=1, window=4, stride=1, context_frames=(2,))
    clip = random_clip(4)
    base = score_clip(clip, encoder, predictor, target, settings).series[0].values

    later = clip.clone()
    later[3] = 255 - later[3]  # a frame after the context
    moved = score_clip(later, encoder, predictor, target, settings).series[0].values
    torch.testing.assert_close(seen[1], seen[0], rtol=0, atol=0)  # the predictor's input did not move
    assert not torch.allclose(moved, base)  # but the targets did

    early = clip.clone()
    early[1] = 255 - early[1]  # a context frame
    score_clip(early, encoder, predictor, target, settings)
    assert (seen[2] - seen[0]).abs().max() > 1e-3


def test_pixel_model_surprise_is_its_real_pixel_error():
    torch.manual_seed(3)
    encoder = VideoEncoder(ENC).eval()
    decoder = PixelDecoder(pixel_decoder_config(ENC, depth=1, embed_dim=16, num_heads=2)).eval()
    clip = random_clip(6)
    settings = SurpriseSettings(frame_step=1, window=4, stride=2, context_frames=(2,))
    result = score_clip(clip, encoder, decoder, None, settings)
    assert result.objective == "pixel"
    video = normalise_clip(clip)
    expected = []
    for s in (0, 2):
        window = video[None, :, s : s + 4]
        ctx_idx, tgt_idx = torch.arange(4)[None], torch.arange(4, 8)[None]
        with torch.no_grad():
            preds = decoder(encoder(window, keep_idx=ctx_idx), ctx_idx, tgt_idx)
        assert preds.abs().mean() > 1e-3  # really predicted, not zeroed
        targets = pixel_targets(window, 8, 2)[:, 4:]
        expected.append(float((preds - targets).abs().mean()))
    torch.testing.assert_close(result.series[0].values, torch.tensor(expected), rtol=1e-5, atol=1e-6)
    assert result.mean[2] > 0


@pytest.mark.parametrize("settings, error, value", [
    (SurpriseSettings(frame_step=2, window=8, context_frames=(2,)), DataError, "8"),
    (SurpriseSettings(frame_step=1, window=4, context_frames=(4,)), ConfigError, "4"),
    (SurpriseSettings(frame_step=1, window=4, context_frames=(3,)), ConfigError, "3"),
    (SurpriseSettings(frame_step=0, window=4), ConfigError, "0"),
    (SurpriseSettings(frame_step=1, window=5), ConfigError, "5"),
])
def test_surprise_bad_settings_are_one_line_errors(settings, error, value):
    encoder, predictor, target = tiny_jepa()
    with pytest.raises(error) as info:
        score_clip(random_clip(12), encoder, predictor, target, settings)
    message = str(info.value)
    assert "\n" not in message and value in message


def test_surprise_bad_inputs_are_one_line_errors():
    encoder, predictor, target = tiny_jepa()
    with pytest.raises(DataError, match="12x16"):
        score_clip(torch.zeros(8, 12, 16, 3, dtype=torch.uint8), encoder, predictor, target)
    with pytest.raises(DataError, match="shape"):
        score_clip(torch.zeros(8, 16, 16, dtype=torch.uint8), encoder, predictor, target)
    with pytest.raises(ConfigError, match="target encoder"):
        score_clip(random_clip(8), encoder, predictor, None)
