"""The pixel decoder: shapes, VideoMAE-sized defaults, and positions coming from the indices."""

from __future__ import annotations

import torch

from vjepa.config import load_config
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.pixel_decoder import PixelDecoder, pixel_decoder_config
from vjepa.pretrain.build import build_models


def test_videomae_sizes_by_default():
    cfg = pixel_decoder_config(EncoderConfig(embed_dim=768, depth=12, num_heads=12))
    assert (cfg.decoder_embed_dim, cfg.depth, cfg.patch_dim, cfg.grid) == (384, 4, 1536, (8, 14, 14))
    cfg = pixel_decoder_config(EncoderConfig(embed_dim=192, num_heads=3, num_frames=16, img_size=64), depth=2,
                               embed_dim=64, num_heads=2)
    assert (cfg.decoder_embed_dim, cfg.depth, cfg.num_heads, cfg.grid) == (64, 2, 2, (8, 4, 4))


def test_cpu_demo_decoder_has_the_shape_of_its_predictor():
    encoder, decoder, target = build_models(load_config("cpu_demo", ["objective=pixel"]))
    _, predictor, _ = build_models(load_config("cpu_demo"))
    assert target is encoder  # no EMA target for the pixel objective
    assert isinstance(decoder, PixelDecoder)
    assert (decoder.cfg.decoder_embed_dim, decoder.cfg.depth, decoder.cfg.num_heads) == (
        predictor.cfg.predictor_embed_dim, predictor.cfg.depth, predictor.cfg.num_heads)


def test_both_objectives_start_from_the_same_encoder():
    torch.manual_seed(5)
    a = build_models(load_config("cpu_tiny"))[0]
    torch.manual_seed(5)
    b = build_models(load_config("cpu_tiny", ["objective=pixel", "pixel.mask_ratio=0.75"]))[0]
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_forward_shapes_and_positions():
    enc_cfg = EncoderConfig(embed_dim=48, depth=1, num_heads=2, num_frames=4, img_size=32)
    encoder = VideoEncoder(enc_cfg)
    decoder = PixelDecoder(pixel_decoder_config(enc_cfg, depth=1)).eval()
    video = torch.randn(2, 3, 4, 32, 32)
    vis_idx = torch.tensor([[0, 5], [1, 6]])
    mask_idx = torch.tensor([[1, 2, 3, 4, 6, 7], [0, 2, 3, 4, 5, 7]])
    out = decoder(encoder(video, keep_idx=vis_idx), vis_idx, mask_idx)
    assert out.shape == (2, 6, 2 * 16 * 16 * 3)
    # A mask token's prediction depends on its position: permuting the masked indices permutes the outputs.
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    out_perm = decoder(encoder(video, keep_idx=vis_idx), vis_idx, mask_idx[:, perm])
    torch.testing.assert_close(out_perm, out[:, perm], rtol=1e-5, atol=1e-5)
