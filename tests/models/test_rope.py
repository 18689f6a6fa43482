"""3-D RoPE, the V-JEPA 2 sizes, non-square inputs, and import of official V-JEPA 2 (facebookresearch/vjepa2) files."""

from __future__ import annotations

import math

import pytest
import torch

from vjepa.core.errors import CheckpointError
from vjepa.models.registry import arch_spec, create_encoder, create_predictor, encoder_config
from vjepa.models.rope import apply_rope, axis_channels, rope_tables, token_coords
from vjepa.weights.official import load_official_pretrain


def test_axis_channels_match_the_official_split():
    assert [axis_channels(d) for d in (64, 80, 32, 24)] == [20, 26, 10, 8]  # 64 -> 3 x 20 + 4 left over


def test_token_coords_non_square():
    grid = (2, 3, 5)
    idx = torch.arange(30)
    t, h, w = token_coords(idx, grid)
    assert torch.equal(t * 15 + h * 5 + w, idx) and int(h.max()) == 2 and int(w.max()) == 4


def test_tiled_and_interleaved_frequency_layouts():
    """Tiled: channel j turns with frequency j mod c/2; interleaved: with floor(j / 2)."""
    idx = torch.tensor([7])  # t=0, h=1, w=3 in a (1, 2, 4) grid
    hd = 32
    c = axis_channels(hd)
    omega = 1.0 / 10000 ** (torch.arange(c // 2, dtype=torch.float32) / (c / 2))
    cos_t, _ = rope_tables(idx, (1, 2, 4), hd, "tiled")
    cos_i, _ = rope_tables(idx, (1, 2, 4), hd, "interleaved")
    assert cos_t.shape == (1, 1, 1, 3 * c)
    w_block = slice(2 * c, 3 * c)
    torch.testing.assert_close(cos_t[0, 0, 0, w_block], torch.cos(3 * omega.repeat(2)))
    torch.testing.assert_close(cos_i[0, 0, 0, w_block], torch.cos(3 * omega.repeat_interleave(2)))
    assert torch.all(cos_t[0, 0, 0, :c] == 1)  # t = 0: no rotation


def test_apply_rope_turns_pairs_and_leaves_the_rest():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 5, 32, generator=gen)
    cos, sin = rope_tables(torch.arange(5), (1, 1, 5), 32, "interleaved")
    out = apply_rope(x, cos, sin)
    assert torch.equal(out[..., 30:], x[..., 30:])  # 32 - 3 x 10 channels are not rotated
    # interleaved: each pair is a true 2-D rotation, so pair norms are kept
    pairs_in, pairs_out = x[..., :30].unflatten(-1, (-1, 2)), out[..., :30].unflatten(-1, (-1, 2))
    torch.testing.assert_close(pairs_out.norm(dim=-1), pairs_in.norm(dim=-1))
    # explicit formula for one pair: w chunk, first pair, angle = w * omega_0 = w
    w = 4
    a, b = x[0, 0, 4, 20], x[0, 0, 4, 21]
    expected = torch.stack([a * math.cos(w) - b * math.sin(w), b * math.cos(w) + a * math.sin(w)])
    torch.testing.assert_close(out[0, 0, 4, 20:22], expected)


def test_vjepa2_sizes():
    g = arch_spec("vjepa2_vit_giant")
    assert (g.embed_dim, g.depth, g.num_heads, int(g.embed_dim * g.mlp_ratio), g.use_rope) == (1408, 40, 22, 6144, True)
    assert g.embed_dim // g.num_heads == 64
    cfg = encoder_config("vjepa2_vit_large", num_frames=64, img_size=256)
    assert cfg.use_rope and cfg.rope_layout == "tiled" and cfg.grid == (32, 16, 16)


def tiny_rope(**kw):
    torch.manual_seed(0)
    enc = create_encoder("custom", embed_dim=64, depth=2, num_heads=2, patch_size=8, num_frames=4, img_size=32,
                         use_rope=True, **kw).eval()
    pred = create_predictor(enc.cfg, depth=2, embed_dim=48, num_heads=2, num_mask_tokens=10).eval()
    return enc, pred


@torch.no_grad()
def test_rope_encoder_handles_non_square_and_other_lengths():
    enc, pred = tiny_rope()
    assert enc.pos_embed is None and "pos_embed" not in enc.state_dict()
    assert "predictor_pos_embed" not in pred.state_dict()
    video = torch.randn(1, 3, 6, 24, 40)  # 6 frames, 24 x 40: grid (3, 3, 5)
    out = enc(video)
    assert out.shape == (1, 45, 64)
    ctx = torch.tensor([[0, 4, 9, 20, 44]])
    tgt = torch.tensor([[1, 2, 30]])
    assert enc(video, keep_idx=ctx).shape == (1, 5, 64)
    assert pred(out[:, ctx[0]], ctx, tgt, grid=(3, 3, 5)).shape == (1, 3, 64)
    layers = enc.forward_intermediates(video, [0, -1])
    torch.testing.assert_close(layers[-1], out)


@torch.no_grad()
def test_rope_predictor_is_order_free():
    """Predictions do not depend on the order the context tokens come in (tokens are sorted by position)."""
    enc, pred = tiny_rope()
    video = torch.randn(1, 3, 4, 32, 32)
    z = enc(video)
    ctx, tgt = torch.tensor([[3, 7, 11, 20]]), torch.tensor([[0, 5, 31]])
    perm = torch.tensor([2, 0, 3, 1])
    a = pred(z[:, ctx[0]], ctx, tgt)
    b = pred(z[:, ctx[0][perm]], ctx[:, perm], tgt)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def write_official_vjepa2(path, enc, pred):
    """An official-format V-JEPA 2 file: DDP/wrapper prefixes, and the unused sin-cos tables the releases carry."""
    def wrap(state, extra):
        return {f"module.backbone.{k}": v for k, v in {**state, **extra}.items()}

    enc_state = wrap(enc.state_dict(), {"pos_embed": torch.zeros(1, enc.cfg.num_tokens, 64)})
    pred_state = wrap(pred.state_dict(), {"predictor_pos_embed": torch.zeros(1, enc.cfg.num_tokens, 48)})
    torch.save({"encoder": enc_state, "target_encoder": enc_state, "predictor": pred_state, "epoch": 3}, path)


@torch.no_grad()
def test_official_vjepa2_import(tmp_path):
    enc, pred = tiny_rope()
    write_official_vjepa2(tmp_path / "vitl.pt", enc, pred)
    kw = dict(embed_dim=64, depth=2, num_heads=2, patch_size=8, num_frames=4, img_size=32)
    loaded = load_official_pretrain(tmp_path / "vitl.pt", "custom", use_rope=True, pred_num_heads=2, **kw)
    video = torch.randn(1, 3, 4, 32, 32)
    assert torch.equal(loaded.target_encoder.eval()(video), enc(video))
    assert len(loaded.predictor.mask_tokens) == 10 and loaded.predictor.cfg.use_rope
    assert loaded.meta["epoch"] == 3


def test_official_vjepa2_wrong_arch_is_one_line(tmp_path):
    enc, pred = tiny_rope()
    write_official_vjepa2(tmp_path / "vitl.pt", enc, pred)
    with pytest.raises(CheckpointError, match="width-64, depth-2") as e:
        load_official_pretrain(tmp_path / "vitl.pt", "vjepa2_vit_large")
    assert "\n" not in str(e.value)
    del_pos = torch.load(tmp_path / "vitl.pt", weights_only=True)
    for key in ("encoder", "target_encoder"):
        del_pos[key].pop("module.backbone.pos_embed", None)  # both keys hold the same dict
    torch.save(del_pos, tmp_path / "nopos.pt")
    with pytest.raises(CheckpointError, match="vjepa2_vit_large"):  # a sin-cos arch for a RoPE file: the hint
        load_official_pretrain(tmp_path / "nopos.pt", "custom", embed_dim=64, depth=2, num_heads=2, patch_size=8,
                               num_frames=4, img_size=32)


def test_rope_models_train_step_shapes_and_gradients():
    """The training path (one embed, several masks, per-mask predictor) works for V-JEPA 2 models."""
    enc, pred = tiny_rope()
    enc.train()
    pred.train()
    video = torch.randn(2, 3, 4, 32, 32)
    ctx = [torch.tensor([[0, 1, 2, 8, 9], [3, 4, 5, 6, 7]]), torch.arange(16).expand(2, -1)]
    tgt = [torch.tensor([[3, 4, 20], [0, 1, 30]]), torch.arange(16, 32).expand(2, -1)]
    contexts = enc.forward_masked(video, ctx)
    preds = pred.forward_masked(contexts, ctx, tgt, grid=(2, 4, 4))
    assert [tuple(p.shape) for p in preds] == [(2, 3, 64), (2, 16, 64)]
    sum(p.square().mean() for p in preds).backward()
    assert enc.blocks[0].attn.qkv.weight.grad.abs().sum() > 0 and pred.mask_tokens[1].grad is not None
