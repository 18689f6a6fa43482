"""Parity with Hugging Face transformers' own VJEPA2 code: a small random ``VJEPA2Model`` is built by transformers,
imported by us, and compared on full and masked inputs and on the predictor; then the round trip ours → HF export
→ transformers. Tolerance 1e-4 (the issue's); the measured errors are printed (``pytest -s``) and are 0 or ~1e-7.

Weights are re-drawn with std 0.2 (transformers initialises with std 0.02, at which attention is nearly uniform
and a wrong position encoding would go unnoticed); a control test shows the wrong RoPE layout is caught.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest
import torch

transformers = pytest.importorskip("transformers")

from vjepa.core.errors import ConfigError  # noqa: E402
from vjepa.masks.ops import gather_tokens  # noqa: E402
from vjepa.models.encoder import VideoEncoder  # noqa: E402
from vjepa.models.registry import create_encoder, create_predictor  # noqa: E402
from vjepa.weights.hf import export_hf, load_hf  # noqa: E402
from vjepa.weights.io import save_modules  # noqa: E402

ATOL = 1e-4
# hidden 64 / 2 heads: head width 32 = 3 x 10 rotated + 2 left alone; predictor 48 / 2 heads: 24 = 3 x 8.
# patch 8 at 32 px and 4 frames: a 2 x 4 x 4 grid of 32 tokens.
TINY = dict(crop_size=32, frames_per_clip=4, patch_size=8, tubelet_size=2, hidden_size=64, num_attention_heads=2,
            num_hidden_layers=2, mlp_ratio=3.0, pred_hidden_size=48, pred_num_attention_heads=2,
            pred_num_hidden_layers=2, pred_num_mask_tokens=3, pred_zero_init_mask_tokens=False)


def scramble_(module: torch.nn.Module, seed: int) -> None:
    """Weights large enough that attention is far from uniform (LayerNorm scales stay near 1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(1 + 0.1 * noise if "norm" in name and name.endswith("weight") else 0.2 * noise)


def max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = transformers.VJEPA2Model(transformers.VJEPA2Config(**TINY)).eval()
    scramble_(model, 1)
    folder = tmp_path_factory.mktemp("hf") / "vjepa2-tiny"
    model.save_pretrained(folder)
    return folder, model


@pytest.fixture(scope="module")
def pair(hf_dir):
    folder, hf = hf_dir
    return hf, load_hf(folder)


@pytest.fixture(scope="module")
def video():
    return torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(2))  # (B, C, T, H, W), ours


def masks(n: int, keep: int, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint sorted context / target index sets, (B, keep) and (B, n - keep)."""
    gen = torch.Generator().manual_seed(seed)
    ctx, tgt = [], []
    for _ in range(batch):
        perm = torch.randperm(n, generator=gen)
        ctx.append(perm[:keep].sort().values)
        tgt.append(perm[keep:].sort().values)
    return torch.stack(ctx), torch.stack(tgt)


def hf_masked_encoder(hf, video_btchw: torch.Tensor, keep_idx: torch.Tensor) -> torch.Tensor:
    """transformers' own encoder layers run on the context tokens only, with their positions (position_mask)."""
    x = gather_tokens(hf.encoder.embeddings(video_btchw), keep_idx)
    for layer in hf.encoder.layer:
        x = layer(x, keep_idx)[0]
    return hf.encoder.layernorm(x)


def test_hf_import_config(pair):
    _, ours = pair
    e, p = ours.encoder.cfg, ours.predictor.cfg
    assert (e.embed_dim, e.depth, e.num_heads, e.mlp_ratio, e.patch_size, e.img_size, e.num_frames) == \
        (64, 2, 2, 3.0, 8, 32, 4)
    assert e.use_rope and e.rope_layout == "tiled" and ours.encoder.pos_embed is None
    assert (p.predictor_embed_dim, p.depth, p.num_heads, p.num_mask_tokens) == (48, 2, 2, 3)


@torch.no_grad()
def test_hf_parity_encoder_full(pair, video):
    hf, ours = pair
    expected = hf(video.transpose(1, 2), skip_predictor=True).last_hidden_state
    err = max_err(ours.encoder(video), expected)
    print(f"\nencoder full: max abs error {err:.3g}")
    assert err <= ATOL


@torch.no_grad()
def test_hf_parity_encoder_masked(pair, video):
    hf, ours = pair
    ctx, _ = masks(32, 12, 2, seed=3)
    expected = hf_masked_encoder(hf, video.transpose(1, 2), ctx)
    err = max_err(ours.encoder(video, keep_idx=ctx), expected)
    # HF's own masked output (the full encoder output gathered at the context) against ours
    gathered = hf(video.transpose(1, 2), context_mask=[ctx], target_mask=[ctx]).masked_hidden_state
    err_gathered = max_err(gather_tokens(ours.encoder(video), ctx), gathered)
    print(f"\nencoder masked (12 of 32 tokens): max abs error {err:.3g}; gathered full output {err_gathered:.3g}")
    assert err <= ATOL and err_gathered <= ATOL


@torch.no_grad()
@pytest.mark.parametrize("keep", [12, 32])
def test_hf_parity_predictor(pair, video, keep):
    """keep=12: disjoint context/target; keep=32: transformers' default (every token is context and target)."""
    hf, ours = pair
    ctx, tgt = masks(32, keep, 2, seed=4)
    if keep == 32:
        tgt = ctx
    out = hf(video.transpose(1, 2), context_mask=[ctx], target_mask=[tgt]).predictor_output.last_hidden_state
    context = gather_tokens(ours.encoder(video), ctx)  # HF feeds the predictor the full encoder output, gathered
    pred = ours.predictor(context, ctx, tgt, mask_index=1)  # HF always uses mask token 1
    err = max_err(pred, out)
    print(f"\npredictor ({keep} context tokens): max abs error {err:.3g}")
    assert pred.shape == out.shape and err <= ATOL


@torch.no_grad()
def test_wrong_rope_layout_is_caught(pair, video):
    """Control: the interleaved layout (V-JEPA 2.1) on these weights is far from transformers' output."""
    hf, ours = pair
    wrong = VideoEncoder(replace(ours.encoder.cfg, rope_layout="interleaved"))
    wrong.load_state_dict(ours.encoder.state_dict())
    expected = hf(video.transpose(1, 2), skip_predictor=True).last_hidden_state
    assert max_err(wrong.eval()(video), expected) > 1e-2


@torch.no_grad()
def test_hf_round_trip_export(tmp_path, video):
    """Ours (a V-JEPA 2 model of our own) → export_hf → transformers' VJEPA2Model.from_pretrained."""
    torch.manual_seed(5)
    enc = create_encoder("custom", embed_dim=64, depth=2, num_heads=2, mlp_ratio=3.0, patch_size=8, num_frames=4,
                         img_size=32, use_rope=True).eval()
    pred = create_predictor(enc.cfg, depth=2, embed_dim=48, num_heads=2, num_mask_tokens=3).eval()
    scramble_(enc, 6)
    scramble_(pred, 7)
    export_hf(enc, pred, tmp_path / "hf")
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == ["config.json", "model.safetensors"]
    hf = transformers.VJEPA2Model.from_pretrained(tmp_path / "hf").eval()
    full = hf(video.transpose(1, 2), skip_predictor=True).last_hidden_state
    ctx, tgt = masks(32, 12, 2, seed=8)
    out = hf(video.transpose(1, 2), context_mask=[ctx], target_mask=[tgt]).predictor_output.last_hidden_state
    ours_full = enc(video)
    errs = {"encoder full": max_err(ours_full, full),
            "encoder masked": max_err(enc(video, keep_idx=ctx), hf_masked_encoder(hf, video.transpose(1, 2), ctx)),
            "predictor": max_err(pred(gather_tokens(ours_full, ctx), ctx, tgt, mask_index=1), out)}
    print("\nround trip:", ", ".join(f"{k} {v:.3g}" for k, v in errs.items()))
    assert max(errs.values()) <= ATOL
    back = load_hf(tmp_path / "hf")  # and back into ours: identical tensors
    for a, b in zip(back.encoder.state_dict().values(), enc.state_dict().values()):
        assert torch.equal(a, b)


def test_encoder_only_export_loads_in_transformers_and_back(tmp_path, video):
    """Issue #18 item 9: transformers loads it (its predictor missing, as it reports); vjepa loads the encoder."""
    enc = create_encoder("custom", embed_dim=64, depth=2, num_heads=2, mlp_ratio=3.0, patch_size=8, num_frames=4,
                         img_size=32, use_rope=True).eval()
    scramble_(enc, 9)
    export_hf(enc, None, tmp_path / "hf")
    hf, info = transformers.VJEPA2Model.from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert info["missing_keys"] and all(k.startswith("predictor.") for k in info["missing_keys"])
    assert not info["unexpected_keys"]
    full = hf.eval()(video.transpose(1, 2), skip_predictor=True).last_hidden_state
    assert max_err(enc(video), full) <= ATOL
    back = load_hf(tmp_path / "hf")
    assert back.predictor is None
    assert all(torch.equal(a, b) for a, b in zip(back.encoder.state_dict().values(), enc.state_dict().values()))


def test_export_refuses_sincos_model(tmp_path):
    enc = create_encoder("custom", embed_dim=64, depth=1, num_heads=2, patch_size=8, num_frames=4, img_size=32)
    with pytest.raises(ConfigError, match="RoPE") as e:
        export_hf(enc, None, tmp_path / "out")
    assert "\n" not in str(e.value) and not (tmp_path / "out").exists()


@pytest.mark.parametrize("key,value,match", [("hidden_size", 96, "hidden_size is 96"),
                                             ("num_hidden_layers", 3, "num_hidden_layers is 3"),
                                             ("pred_num_mask_tokens", 10, "pred_num_mask_tokens is 10"),
                                             ("model_type", "vit", "model_type")])
def test_mismatched_hf_config_is_one_line_error(hf_dir, tmp_path, key, value, match):
    folder, _ = hf_dir
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
    config = json.loads((folder / "config.json").read_text())
    config[key] = value
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=match) as e:
        load_hf(bad)
    assert "\n" not in str(e.value)


def test_mismatched_hf_config_through_the_cli_writes_nothing(hf_dir, tmp_path, capsys):
    from vjepa.cli.main import main

    folder, _ = hf_dir
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
    config = json.loads((folder / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**config, "pred_hidden_size": 96}))
    clip = tmp_path / "clip.png"
    clip.write_bytes(b"")  # never read: the model fails first
    for argv, out in ((["convert", "hf", str(bad), str(tmp_path / "ours")], tmp_path / "ours"),
                      (["extract", str(clip), "--checkpoint", str(bad), "--out", str(tmp_path / "f.safetensors")],
                       tmp_path / "f.safetensors")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "pred_hidden_size is 96" in err and len(err.strip().splitlines()) == 1
        assert not out.exists()


def test_transformers_brings_no_second_torch_nor_torchvision():
    """The VJEPA2 model and config import without torchvision; transformers uses the installed torch."""
    import subprocess
    import sys

    code = ("import sys, torch; from transformers import VJEPA2Config, VJEPA2Model; "
            "print(torch.__file__); print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == torch.__file__ and out[1] == "False"


@torch.no_grad()
def test_cli_convert_hf_and_back(hf_dir, tmp_path, video, capsys):
    """`vjepa convert hf` (HF -> our export) then `vjepa convert to-hf` (-> HF): transformers reads the result and
    computes what the original computes."""
    from vjepa.cli.main import main

    folder, hf = hf_dir
    assert main(["convert", "hf", str(folder), str(tmp_path / "ours")]) == 0
    assert main(["convert", "to-hf", str(tmp_path / "ours"), str(tmp_path / "back")]) == 0
    again = transformers.VJEPA2Model.from_pretrained(tmp_path / "back").eval()
    ctx, tgt = masks(32, 12, 2, seed=9)
    a = hf(video.transpose(1, 2), context_mask=[ctx], target_mask=[tgt])
    b = again(video.transpose(1, 2), context_mask=[ctx], target_mask=[tgt])
    assert max_err(a.last_hidden_state, b.last_hidden_state) == 0
    assert max_err(a.predictor_output.last_hidden_state, b.predictor_output.last_hidden_state) == 0
    capsys.readouterr()
    bad = tmp_path / "v1"  # a V-JEPA 1 (sin-cos) export cannot become VJEPA2: one line, nothing written
    enc = create_encoder("custom", embed_dim=64, depth=1, num_heads=2, patch_size=8, num_frames=4, img_size=32)
    save_modules(bad, {"encoder": enc}, {"format": "vjepa-export/1", "encoder": asdict(enc.cfg)})
    assert main(["convert", "to-hf", str(bad), str(tmp_path / "nope")]) == 2
    assert "RoPE" in capsys.readouterr().err and not (tmp_path / "nope").exists()
