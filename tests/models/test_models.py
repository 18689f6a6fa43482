"""Unit tests of the model modules on tiny configs."""

from __future__ import annotations

import math

import pytest
import torch

from vjepa.core.errors import ConfigError
from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.layers import attention
from vjepa.models.pos_embed import interpolate_3d, sincos_1d, sincos_3d
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.models.registry import ARCHS, arch_spec, count_parameters, create_encoder, create_predictor

TINY = EncoderConfig(embed_dim=48, depth=3, num_heads=3, num_frames=4, img_size=32, uniform_power=True)


@pytest.mark.parametrize("name", list(ARCHS))
def test_every_named_size_builds_with_the_official_parameter_count(name):
    with torch.device("meta"):
        encoder = create_encoder(name)
    spec = ARCHS[name]
    assert encoder.cfg.embed_dim == spec.embed_dim and len(encoder.blocks) == spec.depth
    assert encoder.blocks[0].mlp.fc1.out_features == int(spec.embed_dim * spec.mlp_ratio)
    assert sum(p.numel() for p in encoder.parameters()) == count_parameters(name)


def test_official_sizes():
    assert round(count_parameters("vit_large") / 1e6) == 304
    assert round(count_parameters("vit_huge") / 1e6) == 632
    assert ARCHS["vit_gigantic"].mlp_ratio == 4.0  # official factory bug: 6656 hidden, not 8192
    with pytest.raises(ConfigError, match="did you mean 'vit_large'"):
        arch_spec("vit_lage")
    with pytest.raises(ConfigError, match="model.depth"):
        arch_spec("custom", embed_dim=64, num_heads=2)


def test_sincos_layout():
    table = sincos_1d(8, torch.arange(3).numpy())
    assert table.shape == (3, 8)
    assert (table[0, :4] == 0).all() and (table[0, 4:] == 1).all()  # sines first, then cosines


@pytest.mark.parametrize("dim,uniform,split", [(72, False, (36, 18, 18)), (1024, True, (342, 342, 340)),
                                                (192, True, (64, 64, 64)), (1280, True, (428, 428, 424))])
def test_sincos_3d_channel_split_and_truncation(dim, uniform, split):
    grid = (2, 3, 4)
    table = sincos_3d(dim, grid, uniform)
    assert table.shape == (24, dim)
    t_pos = torch.arange(2).repeat_interleave(12).numpy()
    t_block = torch.from_numpy(sincos_1d(split[0], t_pos)).float()
    torch.testing.assert_close(table[:, : split[0]], t_block)
    if uniform:  # the w block is cut to what is left of D
        w_pos = torch.arange(4).repeat(6).numpy()
        w_full = torch.from_numpy(sincos_1d(2 * math.ceil(dim / 6), w_pos)).float()
        torch.testing.assert_close(table[:, split[0] + split[1]:], w_full[:, : split[2]])


def test_interpolation_identity_and_shape():
    table = sincos_3d(48, (2, 2, 2))
    assert interpolate_3d(table, (2, 2, 2), (2, 2, 2)) is table
    assert interpolate_3d(table, (2, 2, 2), (4, 3, 3)).shape == (36, 48)


def test_encoder_shapes_masks_and_other_sizes():
    torch.manual_seed(0)
    enc = VideoEncoder(TINY).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    full = enc(x)
    assert full.shape == (2, 2 * 2 * 2, 48)
    idx = torch.tensor([[0, 3, 5], [1, 2, 7]])
    assert enc(x, idx).shape == (2, 3, 48)
    assert [o.shape[1] for o in enc.forward_masked(x, [idx, idx[:, :2]])] == [3, 2]
    # other clip length and resolution: positions are interpolated
    assert enc(torch.randn(1, 3, 8, 48, 48)).shape == (1, 4 * 3 * 3, 48)
    with pytest.raises(ValueError, match="tubelets"):
        enc(torch.randn(1, 3, 3, 32, 32))


def test_forward_intermediates():
    torch.manual_seed(0)
    enc = VideoEncoder(TINY).eval()
    x = torch.randn(1, 3, 4, 32, 32)
    first, last = enc.forward_intermediates(x, [0, -1])
    torch.testing.assert_close(last, enc(x))
    assert not torch.allclose(first, last)
    with pytest.raises(ConfigError, match=r"layers=\[3\] out of range for a 3-block encoder; use block indices -3..2"):
        enc.forward_intermediates(x, [3])


def test_attention_impls_agree():
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)
    torch.testing.assert_close(attention(q, k, v, "manual"), attention(q, k, v, "sdpa"), atol=1e-6, rtol=0)


def test_manual_attention_in_query_chunks_equals_sdpa_with_gradients():
    # 2 x 2 heads x 1200 keys x 4 bytes per query row: 8 MiB of scores hold 436 rows, so 3 chunks.
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 2, 1200, 16, requires_grad=True) for _ in range(3))
    out = attention(q, k, v, "manual")
    grads = torch.autograd.grad(out.square().sum(), (q, k, v))
    ref = attention(q, k, v, "sdpa")
    ref_grads = torch.autograd.grad(ref.square().sum(), (q, k, v))
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=0)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, atol=1e-5, rtol=1e-5)


def test_auto_attention_is_manual_under_cpu_bf16_autocast_only():
    q, k, v = torch.randn(3, 1, 2, 6, 8).unbind(0)
    with torch.autocast("cpu", torch.bfloat16):
        auto, manual, sdpa = (attention(q, k, v, impl) for impl in ("auto", "manual", "sdpa"))
    assert torch.equal(auto, manual) and not torch.equal(auto, sdpa)
    assert torch.equal(attention(q, k, v, "auto"), attention(q, k, v, "sdpa"))  # fp32: the fused kernel


def test_predictor_and_mask_tokens():
    torch.manual_seed(0)
    pred = create_predictor(TINY, depth=2, embed_dim=24, num_heads=3, num_mask_tokens=2)
    ctx, ctx_idx, tgt_idx = torch.randn(2, 3, 48), torch.tensor([[0, 1, 2]] * 2), torch.tensor([[4, 5, 6, 7]] * 2)
    out0 = pred(ctx, ctx_idx, tgt_idx, mask_index=0)
    assert out0.shape == (2, 4, 48)
    with torch.no_grad():
        pred.mask_tokens[1].add_(1.0)
    assert torch.equal(pred(ctx, ctx_idx, tgt_idx, mask_index=0), out0)  # token 1 unused by config 0
    assert not torch.allclose(pred(ctx, ctx_idx, tgt_idx, mask_index=1), out0)


def test_probe_ignores_dead_projection():
    torch.manual_seed(0)
    probe = AttentiveClassifier(ProbeConfig(embed_dim=48, num_heads=3, num_classes=5, depth=2)).eval()
    x = torch.randn(2, 7, 48)
    before = probe(x)
    assert before.shape == (2, 5)
    with torch.no_grad():
        probe.pooler.cross_attention_block.xattn.proj.weight.add_(1.0)
    torch.testing.assert_close(probe(x), before)
