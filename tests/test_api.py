"""vjepa.load (every format) and VJEPAModel.embed: windows, pooling, layers, fps, images, memory estimate."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict

import pytest
import torch
from support.official_fixture import official_fixture

import vjepa
from vjepa.api import VJEPAModel, estimate_memory
from vjepa.core.errors import CheckpointError, ConfigError
from vjepa.models.registry import create_encoder, create_predictor
from vjepa.tools.embed import preprocess, sample_indices, window_starts
from vjepa.weights.hf import export_hf
from vjepa.weights.io import save_modules


def tiny_encoder(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_encoder("custom", embed_dim=48, depth=2, num_heads=2, patch_size=8, num_frames=4, img_size=32,
                          **kw).eval()


@pytest.fixture(scope="module")
def model() -> VJEPAModel:
    return VJEPAModel(tiny_encoder()).eval()


@pytest.fixture(scope="module")
def long_video() -> torch.Tensor:
    return torch.randint(0, 256, (23, 40, 52, 3), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)


def test_window_starts_cover_every_frame():
    assert window_starts(16, 8, 4) == [0, 4, 8]
    assert window_starts(18, 8, 4) == [0, 4, 8, 10]  # the tail gets one more window, aligned to the end
    assert window_starts(5, 8, 4) == [0]
    assert window_starts(16, 8, 8) == [0, 8]


def test_fps_resampling_indices():
    assert sample_indices(20, 30.0, 7.5) == [0, 4, 8, 12, 16]
    assert sample_indices(5, 25.0, None) == [0, 1, 2, 3, 4]
    assert sample_indices(6, 10.0, 20.0) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # upsampling repeats frames
    assert sample_indices(12, 29.97, 7.5)[:4] == [0, 3, 7, 11]  # the frame on screen at k / 7.5 s
    with pytest.raises(ConfigError, match="video_fps"):
        sample_indices(10, None, 4.0)


@pytest.mark.parametrize("pool,layers", [("mean", None), ("none", [0, -1])])
def test_windowed_embedding_equals_windows_one_by_one(model, long_video, pool, layers):
    """23 frames, window 8, stride 4: windows at 0, 4, 8, 12 and 15 (tail), batched 3 at a time, against each window
    preprocessed and encoded on its own."""
    emb = model.embed(long_video, window=8, stride=4, pool=pool, layers=layers, batch_size=3, dtype="float32")
    starts = [0, 4, 8, 12, 15]
    assert emb.frames.tolist() == [[s, s + 7] for s in starts]
    worst = 0.0
    for i, s in enumerate(starts):
        clip = preprocess(long_video[s:s + 8], 32, "crop", 8).unsqueeze(0)  # (1, 3, 8, 32, 32)
        with torch.no_grad():
            if layers is None:
                expected = model.encoder(clip).mean(dim=1)[0]  # (D,)
            else:
                expected = torch.stack([t.unflatten(1, (4, 4, 4))[0]
                                        for t in model.encoder.forward_intermediates(clip, layers)])
        worst = max(worst, (emb.features[i] - expected).abs().max().item())
    print(f"\nwindowed vs one by one ({pool}): max abs error {worst:.3g}")
    assert worst <= 1e-5
    expected_shape = (5, 48) if layers is None else (5, 2, 4, 4, 4, 48)
    assert tuple(emb.features.shape) == expected_shape and emb.grid == (4, 4, 4)


def test_short_video_and_images(model, long_video):
    short = model.embed(long_video[:5], window=8)
    assert short.frames.tolist() == [[0, 4]] and short.features.shape == (1, 48)  # padded with frame 4
    image = model.embed(long_video[0])  # (H, W, 3): one window of tubelet_size copies
    two = model.embed(long_video[0].expand(2, -1, -1, -1), window=2)
    assert image.features.shape == (1, 48) and torch.equal(image.features, two.features)
    assert image.fps is None and image.times is None


def test_full_resize_gives_non_square_grid(model, long_video):
    emb = model.embed(long_video, window=8, pool="none", resize="full")  # 40 x 52 -> 32 x 40
    assert emb.grid == (4, 4, 5) and emb.features.shape[1:] == (4, 4, 5, 48)


def test_float_input_is_model_input(model):
    clip = torch.randn(3, 8, 32, 32)
    emb = model.embed(clip, window=8, dtype="float32")
    with torch.no_grad():
        torch.testing.assert_close(emb.features[0], model.encoder(clip[None]).mean(dim=1)[0])


def test_real_video_by_path_equals_decoded_frames(model, real_clips):
    from vjepa.data.decode import decode_frames

    path = real_clips["carphone_pristine"]  # 120 frames, 29.97 fps, 176 x 144
    emb = model.embed(path, window=8, stride=8, fps=7.5)  # ~every 4th frame: 31 frames, windows at 0, 8, 16, 23
    assert emb.frames.tolist() == [[0, 27], [31, 59], [63, 91], [91, 119]] and abs(emb.fps - 29.97) < 0.01
    frames = decode_frames(path, sample_indices(120, emb.fps, 7.5))
    by_tensor = model.embed(frames, window=8, stride=8)
    torch.testing.assert_close(emb.features, by_tensor.features, atol=0, rtol=0)
    torch.testing.assert_close(emb.times[1], torch.tensor([31, 59], dtype=torch.float64) / emb.fps)


def test_bad_arguments_are_one_line(model, long_video, tmp_path):
    for kwargs, match in [({"pool": "max"}, "pool"), ({"pool": "attentive"}, "attentive probe"),
                          ({"window": 7}, "tubelet"), ({"resize": "zoom"}, "resize"),
                          ({"layers": [11, -1]}, r"layers=\[11, -1\] out of range for a 2-block encoder")]:
        with pytest.raises(ConfigError, match=match) as e:
            model.embed(long_video, **kwargs)
        assert "\n" not in str(e.value)
    (tmp_path / "bad.mp4").write_text("not a video")
    with pytest.raises(vjepa.core.errors.DataError, match="bad.mp4"):
        model.embed(tmp_path / "bad.mp4")


def test_memory_estimate_formula(model):
    est = estimate_memory(model.encoder, batch_size=2, frames=8, size=32, dtype="float32")
    n, d = 4 * 4 * 4, 48
    assert est["tokens_per_window"] == n
    assert est["activations"] == 4 * 2 * n * d * (6 + 2 * 4.0)
    assert est["weights"] == 4 * sum(p.numel() for p in model.encoder.parameters())
    cpu_bf16 = estimate_memory(model.encoder, batch_size=2, frames=8, size=32, dtype="bfloat16")
    assert cpu_bf16["activations"] == 2 * 2 * n * (d * (6 + 2 * 4.0) + 2 * 2 * n)  # explicit scores on CPU


def test_load_export_with_predictor_and_probe(tmp_path):
    """An export that `vjepa convert official --probe` writes: encoder, predictor and probe come back."""
    from vjepa.weights.official import load_official_pretrain, load_official_probe

    ref = official_fixture()
    kw = ref.encoder_kwargs()
    loaded = load_official_pretrain(ref.checkpoint, **kw)
    probe = load_official_probe(ref.probe_checkpoint, num_heads=kw["num_heads"])
    save_modules(tmp_path / "exp", {"encoder": loaded.encoder, "target_encoder": loaded.target_encoder,
                                    "predictor": loaded.predictor, "probe": probe},
                 {"format": "vjepa-export/1", "encoder": asdict(loaded.encoder.cfg),
                  "predictor": asdict(loaded.predictor.cfg), "probe": asdict(probe.cfg)})
    model = vjepa.load(tmp_path / "exp")
    assert model.config["format"] == "vjepa-export/1" and model.predictor is not None and model.probe is not None
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    clip = torch.randint(0, 256, (8, 64, 64, 3), dtype=torch.uint8)
    emb = model.embed(clip, pool="attentive", dtype="float32")
    x = preprocess(clip, 64, "crop", 16)[None]
    with torch.no_grad():
        expected = probe.pooler(loaded.target_encoder.eval()(x))[:, 0]
    torch.testing.assert_close(emb.features, expected)


def test_load_official_needs_the_right_arch(tmp_path):
    ref = official_fixture()
    kw = ref.encoder_kwargs()
    arch, frames, size = kw.pop("arch"), kw.pop("num_frames"), kw.pop("img_size")
    model = vjepa.load(ref.checkpoint, arch=arch, num_frames=frames, img_size=size, probe=ref.probe_checkpoint, **kw)
    assert model.config["format"] == "official" and model.predictor is not None and model.probe is not None
    with pytest.raises(ConfigError, match="does not record its size"):
        vjepa.load(ref.checkpoint)
    with pytest.raises(CheckpointError, match="arch='vit_huge' is width 1280") as e:
        vjepa.load(ref.checkpoint, arch="vit_huge")
    assert "\n" not in str(e.value)


def test_load_hf_folder(tmp_path):
    enc = tiny_encoder(use_rope=True)
    pred = create_predictor(enc.cfg, depth=1, embed_dim=24, num_heads=2, num_mask_tokens=10)
    export_hf(enc, pred, tmp_path / "hf")
    model = vjepa.load(tmp_path / "hf")
    assert model.config["format"] == "hf-vjepa2" and model.encoder.cfg.use_rope
    clip = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(clip), enc(clip))
    with pytest.raises(ConfigError, match="drop arch"):
        vjepa.load(tmp_path / "hf", arch="vit_large")


def test_import_vjepa_is_light():
    code = "import sys, vjepa; print('vjepa.api' in sys.modules, 'transformers' in sys.modules, callable(vjepa.load))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]


def test_load_with_a_vjepa_eval_probe_folder(tmp_path):
    """`probe=` takes the probe/ folder `vjepa eval` writes (config.json {"probe": ProbeConfig, ...})."""
    from vjepa.models.probe import AttentiveClassifier, ProbeConfig

    enc = tiny_encoder()
    save_modules(tmp_path / "exp", {"encoder": enc}, {"format": "vjepa-export/1", "encoder": asdict(enc.cfg)})
    probe = AttentiveClassifier(ProbeConfig(embed_dim=48, num_heads=2, num_classes=3))
    save_modules(tmp_path / "probe", {"probe": probe}, {"probe": asdict(probe.cfg), "recipe": {}, "features": {}})
    model = vjepa.load(tmp_path / "exp", probe=tmp_path / "probe")
    clip = torch.randn(3, 4, 32, 32)
    with torch.no_grad():
        expected = probe.pooler(enc(clip[None]))[:, 0]
    torch.testing.assert_close(model.embed(clip, pool="attentive", dtype="float32").features, expected)
    with pytest.raises(ConfigError, match="wide"):
        bad = AttentiveClassifier(ProbeConfig(embed_dim=24, num_heads=2, num_classes=3))
        save_modules(tmp_path / "bad", {"probe": bad}, {"probe": asdict(bad.cfg)})
        vjepa.load(tmp_path / "exp", probe=tmp_path / "bad")


def test_an_encoder_only_hf_export_loads_back(tmp_path, capsys):
    """Issue #18 item 9: export_hf(encoder, None) writes a folder vjepa.load reads (no predictor)."""
    from vjepa.cli.main import main

    enc = tiny_encoder(use_rope=True)
    export_hf(enc, None, tmp_path / "hf")
    model = vjepa.load(tmp_path / "hf")
    assert model.predictor is None and model.config["format"] == "hf-vjepa2"
    clip = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(clip), enc(clip))
    assert main(["convert", "hf", str(tmp_path / "hf"), str(tmp_path / "ours")]) == 0  # -> an encoder-only export
    again = vjepa.load(tmp_path / "ours")
    assert again.predictor is None and torch.equal(again.encoder.norm.weight, enc.norm.weight)
